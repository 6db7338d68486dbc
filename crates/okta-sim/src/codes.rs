//! Authorization codes: issued at `/v1/authorize`, redeemed once at `/v1/token`.
//!
//! Codes are kept by SHA-256 of their value (the store never holds a usable code), expire
//! after the configured lifetime (default 60 s) and are single-use: a redeemed code is
//! remembered as used for a while so that a second redemption can be told apart from an
//! unknown code and the tokens issued from the first one revoked (RFC 6749 §4.1.2).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::config::AuthServerId;

/// At most this many codes (unredeemed or remembered as used) are kept.
pub(crate) const MAX_CODES: usize = 10_000;

/// How long a used code is remembered after redemption, to detect replays.
const USED_MEMORY: Duration = Duration::from_secs(600);

/// Default lifetime of an authorization code.
pub(crate) const DEFAULT_CODE_TTL: Duration = Duration::from_secs(60);

/// What an authorization code stands for.
#[derive(Debug, Clone)]
pub(crate) struct CodeGrant {
    pub(crate) server: AuthServerId,
    pub(crate) client_id: String,
    pub(crate) redirect_uri: String,
    /// The S256 `code_challenge`.
    pub(crate) challenge: String,
    pub(crate) login: String,
    pub(crate) scopes: Vec<String>,
    pub(crate) nonce: Option<String>,
    /// The RFC 8707 resource, which becomes the access token's `aud`.
    pub(crate) resource: Option<String>,
    pub(crate) auth_time: i64,
    /// Links the refresh tokens issued from this code (revoked on code reuse).
    pub(crate) grant_id: String,
}

#[derive(Debug)]
enum Entry {
    Unused {
        grant: CodeGrant,
        expires_at: Instant,
    },
    Used {
        grant_id: String,
        forget_at: Instant,
    },
}

/// The outcome of redeeming a code.
#[derive(Debug)]
pub(crate) enum Redeemed {
    /// First redemption of a live code (it is now used).
    Fresh(CodeGrant),
    /// The code was redeemed before: replay. Holds the grant id to revoke.
    Reused(String),
    /// Unknown or expired.
    Invalid,
}

/// Issued codes, bounded in number.
#[derive(Debug)]
pub(crate) struct CodeStore {
    entries: HashMap<[u8; 32], Entry>,
    capacity: usize,
    ttl: Duration,
}

impl CodeStore {
    pub(crate) fn new(ttl: Duration) -> Self {
        Self::with_capacity(ttl, MAX_CODES)
    }

    pub(crate) fn with_capacity(ttl: Duration, capacity: usize) -> Self {
        Self {
            entries: HashMap::new(),
            capacity: capacity.max(1),
            ttl,
        }
    }

    /// Stores a new code; `false` when the store is full even after purging stale entries.
    pub(crate) fn insert(&mut self, code: &str, grant: CodeGrant, now: Instant) -> bool {
        if self.entries.len() >= self.capacity {
            self.entries.retain(|_, entry| match entry {
                Entry::Unused { expires_at, .. } => *expires_at > now,
                Entry::Used { forget_at, .. } => *forget_at > now,
            });
        }
        if self.entries.len() >= self.capacity {
            return false;
        }
        let expires_at = now.checked_add(self.ttl).unwrap_or(now);
        self.entries
            .insert(hash(code), Entry::Unused { grant, expires_at });
        true
    }

    /// Redeems a code: the first call for a live code returns it and marks it used.
    pub(crate) fn redeem(&mut self, code: &str, now: Instant) -> Redeemed {
        let key = hash(code);
        let Some(entry) = self.entries.remove(&key) else {
            return Redeemed::Invalid;
        };
        let forget_at = now.checked_add(USED_MEMORY).unwrap_or(now);
        match entry {
            Entry::Unused { grant, expires_at } => {
                self.entries.insert(
                    key,
                    Entry::Used {
                        grant_id: grant.grant_id.clone(),
                        forget_at,
                    },
                );
                if expires_at > now {
                    Redeemed::Fresh(grant)
                } else {
                    Redeemed::Invalid
                }
            }
            Entry::Used {
                grant_id,
                forget_at,
            } => {
                if forget_at > now {
                    self.entries.insert(
                        key,
                        Entry::Used {
                            grant_id: grant_id.clone(),
                            forget_at,
                        },
                    );
                    Redeemed::Reused(grant_id)
                } else {
                    Redeemed::Invalid
                }
            }
        }
    }
}

fn hash(code: &str) -> [u8; 32] {
    Sha256::digest(code.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::{CodeGrant, CodeStore, Redeemed};
    use crate::config::AuthServerId;

    fn grant(id: &str) -> CodeGrant {
        CodeGrant {
            server: AuthServerId::from("default"),
            client_id: "c".into(),
            redirect_uri: "http://127.0.0.1/cb".into(),
            challenge: "x".into(),
            login: "alice".into(),
            scopes: vec!["openid".into()],
            nonce: None,
            resource: None,
            auth_time: 0,
            grant_id: id.into(),
        }
    }

    #[test]
    fn codes_are_single_use_and_expire() {
        let now = Instant::now();
        let mut store = CodeStore::new(Duration::from_secs(60));
        assert!(store.insert("a", grant("g1"), now));
        assert!(matches!(store.redeem("a", now), Redeemed::Fresh(g) if g.grant_id == "g1"));
        assert!(matches!(store.redeem("a", now), Redeemed::Reused(id) if id == "g1"));
        assert!(matches!(store.redeem("b", now), Redeemed::Invalid));
        assert!(store.insert("c", grant("g2"), now));
        assert!(matches!(
            store.redeem("c", now + Duration::from_secs(61)),
            Redeemed::Invalid
        ));
    }

    #[test]
    fn store_is_bounded() {
        let now = Instant::now();
        let mut store = CodeStore::with_capacity(Duration::from_secs(1), 2);
        assert!(store.insert("a", grant("1"), now));
        assert!(store.insert("b", grant("2"), now));
        assert!(!store.insert("c", grant("3"), now), "full of live codes");
        assert!(
            store.insert("d", grant("4"), now + Duration::from_secs(2)),
            "expired codes are purged"
        );
    }
}
