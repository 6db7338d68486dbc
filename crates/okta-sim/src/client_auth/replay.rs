//! The `jti` replay store for client assertions (RFC 7523 §3 item 7).

use std::collections::HashMap;

/// At most this many assertion ids are remembered at once.
pub(crate) const MAX_REMEMBERED_ASSERTIONS: usize = 100_000;

/// Why an assertion id was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReplayError {
    /// The same `(client, jti)` was already used and has not expired.
    Replayed,
    /// The store is full of unexpired ids; refusing is safer than forgetting one.
    Full,
}

/// Seen `(client_id, jti)` pairs until their `exp` (+ leeway) passes.
#[derive(Debug)]
pub(crate) struct ReplayStore {
    seen: HashMap<(String, String), i64>,
    capacity: usize,
}

impl Default for ReplayStore {
    fn default() -> Self {
        Self::with_capacity(MAX_REMEMBERED_ASSERTIONS)
    }
}

impl ReplayStore {
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Self {
            seen: HashMap::new(),
            capacity: capacity.max(1),
        }
    }

    /// Records the id if it is new; `forget_after` is the Unix time after which it may be
    /// dropped (the assertion's `exp` plus the accepted clock skew).
    pub(crate) fn check_and_remember(
        &mut self,
        client_id: &str,
        jti: &str,
        forget_after: i64,
        now: i64,
    ) -> Result<(), ReplayError> {
        let key = (client_id.to_owned(), jti.to_owned());
        if let Some(until) = self.seen.get(&key)
            && *until >= now
        {
            return Err(ReplayError::Replayed);
        }
        if self.seen.len() >= self.capacity {
            self.seen.retain(|_, until| *until >= now);
            if self.seen.len() >= self.capacity {
                return Err(ReplayError::Full);
            }
        }
        self.seen.insert(key, forget_after);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{ReplayError, ReplayStore};

    #[test]
    fn replay_is_refused_until_expiry() {
        let mut store = ReplayStore::default();
        assert_eq!(store.check_and_remember("c", "j1", 100, 50), Ok(()));
        assert_eq!(
            store.check_and_remember("c", "j1", 100, 60),
            Err(ReplayError::Replayed)
        );
        assert_eq!(store.check_and_remember("other", "j1", 100, 60), Ok(()));
        assert_eq!(
            store.check_and_remember("c", "j1", 200, 101),
            Ok(()),
            "forgotten after exp"
        );
    }

    #[test]
    fn full_store_purges_expired_then_refuses() {
        let mut store = ReplayStore::with_capacity(2);
        store.check_and_remember("c", "a", 10, 0).unwrap();
        store.check_and_remember("c", "b", 100, 0).unwrap();
        assert_eq!(
            store.check_and_remember("c", "c", 100, 5),
            Err(ReplayError::Full)
        );
        assert_eq!(
            store.check_and_remember("c", "c", 100, 11),
            Ok(()),
            "a purged"
        );
    }
}
