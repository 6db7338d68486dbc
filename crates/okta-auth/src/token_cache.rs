//! A bounded cache of verified tokens, keyed by the SHA-256 of the token.
//!
//! The token itself is never stored. Entries carry the instant (Unix seconds)
//! after which they must not be used: the token's `exp` plus leeway, capped by
//! a maximum entry lifetime so key revocation takes effect within that time.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use sha2::{Digest, Sha256};

use crate::claims::OktaClaims;

const SHARDS: usize = 16;

/// SHA-256 of a token.
pub(crate) type TokenHash = [u8; 32];

pub(crate) fn hash_token(token: &str) -> TokenHash {
    Sha256::digest(token.as_bytes()).into()
}

struct Entry {
    claims: Arc<OktaClaims>,
    usable_until: u64,
}

/// Sharded map from token hash to verified claims, at most `capacity` entries.
pub(crate) struct TokenCache {
    shards: Vec<RwLock<HashMap<TokenHash, Entry>>>,
    per_shard: usize,
}

impl TokenCache {
    pub(crate) fn new(capacity: usize) -> Self {
        let per_shard = capacity.div_ceil(SHARDS).max(1);
        Self {
            shards: (0..SHARDS).map(|_| RwLock::new(HashMap::new())).collect(),
            per_shard,
        }
    }

    fn shard(&self, hash: &TokenHash) -> &RwLock<HashMap<TokenHash, Entry>> {
        // The hash is uniformly distributed; its first byte picks the shard.
        &self.shards[usize::from(hash[0]) % SHARDS]
    }

    /// The cached claims if present and still usable at `now` (Unix seconds).
    pub(crate) fn get(&self, hash: &TokenHash, now: u64) -> Option<Arc<OktaClaims>> {
        let shard = self.shard(hash);
        {
            let map = shard.read().unwrap_or_else(PoisonError::into_inner);
            match map.get(hash) {
                None => return None,
                Some(entry) if now < entry.usable_until => return Some(Arc::clone(&entry.claims)),
                Some(_) => {}
            }
        }
        // Expired: drop it so the slot is free and the caller re-verifies.
        shard
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(hash);
        None
    }

    pub(crate) fn insert(
        &self,
        hash: TokenHash,
        claims: Arc<OktaClaims>,
        usable_until: u64,
        now: u64,
    ) {
        let mut map = self
            .shard(&hash)
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if map.len() >= self.per_shard && !map.contains_key(&hash) {
            map.retain(|_, e| now < e.usable_until);
            if map.len() >= self.per_shard {
                // Still full of live entries: drop about an eighth, in the
                // map's (randomised) order, rather than refusing to cache.
                let drop_count = (self.per_shard / 8).max(1);
                let victims: Vec<TokenHash> = map.keys().take(drop_count).copied().collect();
                for victim in victims {
                    map.remove(&victim);
                }
            }
        }
        map.insert(
            hash,
            Entry {
                claims,
                usable_until,
            },
        );
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.read().unwrap_or_else(PoisonError::into_inner).len())
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::{TokenCache, hash_token};
    use crate::claims::OktaClaims;
    use std::sync::Arc;

    fn claims() -> Arc<OktaClaims> {
        Arc::new(OktaClaims::from_json(serde_json::json!({"iss": "i", "exp": 100})).unwrap())
    }

    #[test]
    fn entries_expire_and_are_removed() {
        let cache = TokenCache::new(16);
        let h = hash_token("t");
        cache.insert(h, claims(), 100, 50);
        assert!(cache.get(&h, 99).is_some());
        assert!(cache.get(&h, 100).is_none());
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn bounded() {
        let cache = TokenCache::new(64);
        for i in 0..10_000 {
            cache.insert(hash_token(&i.to_string()), claims(), 1000, 0);
        }
        assert!(cache.len() <= 64 + 16, "len {}", cache.len());
    }
}
