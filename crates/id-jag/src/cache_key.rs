//! The key of [`crate::IdJagFlow`]'s cache: the exact ID token and the normalized scope set,
//! looked up without allocating or hashing the whole token.
//!
//! Equality compares the whole ID token byte for byte (a forged token that merely shares a
//! `sub`, or a suffix, never matches). The hash covers the token's length and last
//! [`HASHED_SUFFIX`] bytes — for a JWS, signature bytes — plus the scopes: equal keys have
//! equal hashes, and only tokens the IdP accepted are ever cached, so their signature bytes
//! spread entries evenly. Hashing the suffix instead of 1 KiB of token keeps a cache hit well
//! under a microsecond.

use std::borrow::Borrow;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// How many trailing bytes of the ID token are hashed.
const HASHED_SUFFIX: usize = 64;

/// An owned cache key.
#[derive(Clone, Debug)]
pub(crate) struct Key {
    token: Arc<str>,
    scopes: Arc<[Box<str>]>,
}

impl Key {
    pub(crate) fn new(token: &str, scopes: &[&str]) -> Self {
        Self {
            token: Arc::from(token),
            scopes: scopes.iter().map(|s| Box::from(*s)).collect(),
        }
    }

    /// The scopes, sorted and without duplicates.
    pub(crate) fn scopes(&self) -> Vec<String> {
        self.scopes.iter().map(|s| s.to_string()).collect()
    }
}

/// A borrowed key: the caller's ID token and its sorted, deduplicated scopes.
pub(crate) struct KeyRef<'a> {
    pub(crate) token: &'a str,
    pub(crate) scopes: &'a [&'a str],
}

/// What owned and borrowed keys have in common, so a `HashMap<Key, _>` can be queried with a
/// [`KeyRef`] (the `Borrow<dyn Trait>` idiom).
pub(crate) trait KeyView {
    fn token(&self) -> &str;
    fn scope_count(&self) -> usize;
    fn scope(&self, index: usize) -> &str;
}

impl KeyView for Key {
    fn token(&self) -> &str {
        &self.token
    }
    fn scope_count(&self) -> usize {
        self.scopes.len()
    }
    fn scope(&self, index: usize) -> &str {
        self.scopes.get(index).map_or("", |s| s)
    }
}

impl KeyView for KeyRef<'_> {
    fn token(&self) -> &str {
        self.token
    }
    fn scope_count(&self) -> usize {
        self.scopes.len()
    }
    fn scope(&self, index: usize) -> &str {
        self.scopes.get(index).copied().unwrap_or("")
    }
}

impl Hash for dyn KeyView + '_ {
    fn hash<H: Hasher>(&self, state: &mut H) {
        let token = self.token().as_bytes();
        state.write_usize(token.len());
        state.write(&token[token.len().saturating_sub(HASHED_SUFFIX)..]);
        state.write_usize(self.scope_count());
        for i in 0..self.scope_count() {
            state.write(self.scope(i).as_bytes());
            state.write_u8(0xff);
        }
    }
}

impl PartialEq for dyn KeyView + '_ {
    fn eq(&self, other: &Self) -> bool {
        self.scope_count() == other.scope_count()
            && (0..self.scope_count()).all(|i| self.scope(i) == other.scope(i))
            && self.token() == other.token()
    }
}

impl Eq for dyn KeyView + '_ {}

impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (self as &dyn KeyView).hash(state);
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        (self as &dyn KeyView) == (other as &dyn KeyView)
    }
}

impl Eq for Key {}

impl<'a> Borrow<dyn KeyView + 'a> for Key {
    fn borrow(&self) -> &(dyn KeyView + 'a) {
        self
    }
}

/// Splits, sorts and deduplicates scopes (`["b a", "a"]` → `["a", "b"]`).
pub(crate) fn normalize<S: AsRef<str>>(scopes: &[S]) -> Vec<&str> {
    let mut list: Vec<&str> = scopes
        .iter()
        .flat_map(|s| s.as_ref().split_ascii_whitespace())
        .collect();
    list.sort_unstable();
    list.dedup();
    list
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn borrowed_and_owned_keys_agree() {
        let token = format!("{}.{}", "x".repeat(500), "sig".repeat(40));
        let scopes = normalize(&["b a", "a"]);
        assert_eq!(scopes, ["a", "b"]);
        let mut map = HashMap::new();
        map.insert(Key::new(&token, &scopes), 1);
        let lookup = |token: &str, scopes: &[&str]| {
            map.get(&KeyRef { token, scopes } as &dyn KeyView).copied()
        };
        assert_eq!(lookup(&token, &scopes), Some(1));
        // Same suffix, different prefix: a different key.
        let forged = format!("{}.{}", "y".repeat(500), "sig".repeat(40));
        assert_eq!(lookup(&forged, &scopes), None);
        // Other scopes: a different key.
        assert_eq!(lookup(&token, &["a"]), None);
        // Scope boundaries matter: ["ab"] is not ["a", "b"].
        assert_eq!(lookup(&token, &["ab"]), None);
    }
}
