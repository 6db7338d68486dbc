//! Test switches: outage, added latency and per-path request counters.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use crate::state::lock;

/// At most this many distinct paths are counted; requests to further new paths are
/// counted under [`OTHER_PATHS`] so that random paths cannot grow memory without bound.
const MAX_COUNTED_PATHS: usize = 1024;

/// The counter key for requests to paths beyond [`MAX_COUNTED_PATHS`].
pub(crate) const OTHER_PATHS: &str = "<other>";

/// Runtime switches shared by the middleware and the control API.
#[derive(Debug, Default)]
pub(crate) struct Controls {
    outage: AtomicBool,
    latency_micros: AtomicU64,
    counters: Mutex<HashMap<String, u64>>,
}

impl Controls {
    pub(crate) fn set_outage(&self, on: bool) {
        self.outage.store(on, Ordering::SeqCst);
    }

    pub(crate) fn outage(&self) -> bool {
        self.outage.load(Ordering::SeqCst)
    }

    pub(crate) fn set_latency(&self, latency: Duration) {
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.latency_micros.store(micros, Ordering::SeqCst);
    }

    pub(crate) fn latency(&self) -> Duration {
        Duration::from_micros(self.latency_micros.load(Ordering::SeqCst))
    }

    pub(crate) fn count(&self, path: &str) {
        let mut counters = lock(&self.counters);
        if let Some(count) = counters.get_mut(path) {
            *count = count.saturating_add(1);
            return;
        }
        let key = if counters.len() < MAX_COUNTED_PATHS {
            path
        } else {
            OTHER_PATHS
        };
        let count = counters.entry(key.to_owned()).or_insert(0);
        *count = count.saturating_add(1);
    }

    pub(crate) fn request_count(&self, path: &str) -> u64 {
        lock(&self.counters).get(path).copied().unwrap_or(0)
    }

    pub(crate) fn request_counts(&self) -> HashMap<String, u64> {
        lock(&self.counters).clone()
    }

    pub(crate) fn reset_counters(&self) {
        lock(&self.counters).clear();
    }
}

#[cfg(test)]
mod tests {
    use super::{Controls, MAX_COUNTED_PATHS, OTHER_PATHS};

    #[test]
    fn counters_are_bounded() {
        let controls = Controls::default();
        for i in 0..(MAX_COUNTED_PATHS + 10) {
            controls.count(&format!("/p/{i}"));
        }
        controls.count("/p/0");
        assert_eq!(controls.request_count("/p/0"), 2);
        assert_eq!(controls.request_count(OTHER_PATHS), 10);
        assert_eq!(controls.request_counts().len(), MAX_COUNTED_PATHS + 1);
        controls.reset_counters();
        assert_eq!(controls.request_count("/p/0"), 0);
    }
}
