//! Issued refresh tokens (opaque, like Okta's), kept hashed and bounded in number.

use std::collections::HashMap;
use std::time::Instant;

use sha2::{Digest, Sha256};

use crate::config::AuthServerId;

/// At most this many refresh tokens are remembered; when full, expired ones are purged
/// and then the one expiring soonest is forgotten (its holder gets `invalid_grant`).
pub(crate) const MAX_REFRESH_TOKENS: usize = 10_000;

/// What a refresh token stands for.
#[derive(Debug, Clone)]
pub(crate) struct RefreshRecord {
    pub(crate) server: AuthServerId,
    pub(crate) client_id: String,
    pub(crate) login: String,
    pub(crate) scopes: Vec<String>,
    pub(crate) auth_time: i64,
    pub(crate) expires_at: Instant,
    /// Set once the token was rotated away: it stops working at this instant.
    pub(crate) retired_until: Option<Instant>,
    /// The RFC 8707 resource (access token `aud`) of the original grant, if any.
    pub(crate) audience: Option<String>,
    /// The authorization code grant this token descends from (revoked together on code reuse).
    pub(crate) grant_id: Option<String>,
}

impl RefreshRecord {
    fn usable(&self, now: Instant) -> bool {
        self.expires_at > now && self.retired_until.is_none_or(|until| until > now)
    }
}

/// Refresh tokens by SHA-256 of their value (the store never holds usable secrets).
#[derive(Debug)]
pub(crate) struct RefreshStore {
    tokens: HashMap<[u8; 32], RefreshRecord>,
    capacity: usize,
}

impl Default for RefreshStore {
    fn default() -> Self {
        Self::with_capacity(MAX_REFRESH_TOKENS)
    }
}

impl RefreshStore {
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Self {
            tokens: HashMap::new(),
            capacity: capacity.max(1),
        }
    }

    pub(crate) fn insert(&mut self, token: &str, record: RefreshRecord, now: Instant) {
        if self.tokens.len() >= self.capacity {
            self.tokens.retain(|_, r| r.usable(now));
        }
        while self.tokens.len() >= self.capacity {
            let soonest = self
                .tokens
                .iter()
                .min_by_key(|(_, r)| r.expires_at)
                .map(|(k, _)| *k);
            match soonest {
                Some(key) => {
                    self.tokens.remove(&key);
                }
                None => break,
            }
        }
        self.tokens.insert(hash(token), record);
    }

    /// The record of a token that is still usable now.
    pub(crate) fn get(&self, token: &str, now: Instant) -> Option<&RefreshRecord> {
        self.tokens.get(&hash(token)).filter(|r| r.usable(now))
    }

    /// Marks a token as rotated away: usable until `until`, then gone.
    pub(crate) fn retire(&mut self, token: &str, until: Instant) {
        if let Some(record) = self.tokens.get_mut(&hash(token)) {
            let until = record.retired_until.map_or(until, |old| old.min(until));
            record.retired_until = Some(until);
        }
    }

    /// Forgets every token descending from one authorization code (the code was replayed).
    pub(crate) fn revoke_grant(&mut self, grant_id: &str) {
        self.tokens
            .retain(|_, r| r.grant_id.as_deref() != Some(grant_id));
    }

    /// Forgets every token of a user (used when a user is deactivated).
    pub(crate) fn revoke_user(&mut self, login: &str) {
        self.tokens.retain(|_, r| r.login != login);
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.tokens.len()
    }
}

fn hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::{RefreshRecord, RefreshStore};
    use crate::config::AuthServerId;

    fn record(expires_at: Instant) -> RefreshRecord {
        RefreshRecord {
            server: AuthServerId::from("default"),
            client_id: "c".into(),
            login: "alice".into(),
            scopes: vec!["offline_access".into()],
            auth_time: 0,
            expires_at,
            retired_until: None,
            audience: None,
            grant_id: None,
        }
    }

    #[test]
    fn expired_and_retired_tokens_are_unusable() {
        let now = Instant::now();
        let mut store = RefreshStore::default();
        store.insert("a", record(now + Duration::from_secs(10)), now);
        assert!(store.get("a", now).is_some());
        assert!(store.get("a", now + Duration::from_secs(11)).is_none());
        store.retire("a", now + Duration::from_secs(2));
        assert!(store.get("a", now + Duration::from_secs(1)).is_some());
        assert!(store.get("a", now + Duration::from_secs(3)).is_none());
        assert!(store.get("b", now).is_none());
    }

    #[test]
    fn capacity_is_bounded_and_evicts_soonest_expiring() {
        let now = Instant::now();
        let mut store = RefreshStore::with_capacity(3);
        for (i, secs) in [(0, 30), (1, 10), (2, 20), (3, 40)] {
            store.insert(
                &format!("t{i}"),
                record(now + Duration::from_secs(secs)),
                now,
            );
        }
        assert_eq!(store.len(), 3);
        assert!(
            store.get("t1", now).is_none(),
            "soonest-expiring token evicted"
        );
        assert!(store.get("t3", now).is_some());
    }
}
