//! Clients registered at run time through dynamic client registration (RFC 7591).
//!
//! The registry has a fixed number of slots (set with
//! [`crate::OktaSimBuilder::max_registered_clients`]); each slot is written once, so lookups
//! hand out plain references that live as long as the simulator, like configured clients.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use crate::state::{ClientRecord, lock};

/// Default number of clients that may register.
pub(crate) const DEFAULT_MAX_REGISTERED: usize = 1000;

/// Upper bound on [`crate::OktaSimBuilder::max_registered_clients`].
pub(crate) const MAX_REGISTERED_LIMIT: usize = 100_000;

/// Registered clients by id.
#[derive(Debug)]
pub(crate) struct ClientRegistry {
    slots: Box<[OnceLock<ClientRecord>]>,
    index: Mutex<HashMap<String, usize>>,
}

impl ClientRegistry {
    pub(crate) fn new(capacity: usize) -> Self {
        let capacity = capacity.min(MAX_REGISTERED_LIMIT);
        Self {
            slots: (0..capacity).map(|_| OnceLock::new()).collect(),
            index: Mutex::new(HashMap::new()),
        }
    }

    /// The registered client with this id.
    pub(crate) fn get(&self, client_id: &str) -> Option<&ClientRecord> {
        let slot = *lock(&self.index).get(client_id)?;
        self.slots.get(slot)?.get()
    }

    /// Registers a client; `false` when every slot is taken or the id is already registered.
    pub(crate) fn insert(&self, record: ClientRecord) -> bool {
        let mut index = lock(&self.index);
        let next = index.len();
        if index.contains_key(&record.config.id) {
            return false;
        }
        let Some(slot) = self.slots.get(next) else {
            return false;
        };
        let id = record.config.id.clone();
        if slot.set(record).is_err() {
            return false;
        }
        index.insert(id, next);
        true
    }

    /// How many clients registered.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        lock(&self.index).len()
    }
}

#[cfg(test)]
mod tests {
    use super::ClientRegistry;
    use crate::SimClient;
    use crate::state::ClientRecord;

    fn record(id: &str) -> ClientRecord {
        ClientRecord {
            config: SimClient::public(id),
            keys: None,
        }
    }

    #[test]
    fn registry_is_bounded_and_ids_unique() {
        let registry = ClientRegistry::new(2);
        assert!(registry.insert(record("a")));
        assert!(!registry.insert(record("a")), "duplicate id");
        assert!(registry.insert(record("b")));
        assert!(!registry.insert(record("c")), "full");
        assert_eq!(registry.len(), 2);
        assert_eq!(registry.get("b").unwrap().config.id, "b");
        assert!(registry.get("c").is_none());
    }
}
