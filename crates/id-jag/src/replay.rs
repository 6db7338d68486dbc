//! A bounded store of used `jti`s, each kept until its token can no longer be accepted.

use std::collections::HashMap;

/// Remembers `(issuer, jti)` pairs until their expiry (seconds since the epoch).
#[derive(Debug)]
pub(crate) struct ReplayStore {
    seen: HashMap<(String, String), u64>,
    capacity: usize,
}

/// What [`ReplayStore::check_and_remember`] found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ReplayCheck {
    /// First use: remembered.
    Fresh,
    /// Seen before and not yet forgotten.
    Replayed,
    /// Full of unexpired entries: refused (fail closed).
    Full,
}

impl ReplayStore {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            seen: HashMap::new(),
            capacity,
        }
    }

    /// Records `jti` of `issuer`, usable until `forget_after`, unless it was seen already.
    pub(crate) fn check_and_remember(
        &mut self,
        issuer: &str,
        jti: &str,
        forget_after: u64,
        now: u64,
    ) -> ReplayCheck {
        let key = (issuer.to_owned(), jti.to_owned());
        if let Some(until) = self.seen.get(&key)
            && *until >= now
        {
            return ReplayCheck::Replayed;
        }
        if self.seen.len() >= self.capacity {
            self.seen.retain(|_, until| *until >= now);
            if self.seen.len() >= self.capacity {
                return ReplayCheck::Full;
            }
        }
        self.seen.insert(key, forget_after);
        ReplayCheck::Fresh
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_until_expiry_and_fails_closed_when_full() {
        let mut store = ReplayStore::new(2);
        assert_eq!(
            store.check_and_remember("i", "a", 100, 10),
            ReplayCheck::Fresh
        );
        assert_eq!(
            store.check_and_remember("i", "a", 100, 50),
            ReplayCheck::Replayed
        );
        // Same jti from another issuer is another token.
        assert_eq!(
            store.check_and_remember("j", "a", 100, 50),
            ReplayCheck::Fresh
        );
        assert_eq!(
            store.check_and_remember("i", "b", 100, 50),
            ReplayCheck::Full
        );
        // Once entries expire they make room.
        assert_eq!(
            store.check_and_remember("i", "b", 300, 200),
            ReplayCheck::Fresh
        );
        assert_eq!(
            store.check_and_remember("i", "a", 300, 200),
            ReplayCheck::Fresh
        );
    }
}
