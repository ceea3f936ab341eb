//! Interning of names that repeat across rows (carriers, customers, invoice ids): each distinct
//! name is allocated once and shared, which keeps millions of records compact.

use rustc_hash::FxHashSet;
use std::sync::Arc;

/// A set of shared names.
#[derive(Debug, Default)]
pub(crate) struct Names {
    names: FxHashSet<Arc<str>>,
}

impl Names {
    /// The shared copy of `name`.
    pub fn intern(&mut self, name: &str) -> Arc<str> {
        if let Some(existing) = self.names.get(name) {
            return existing.clone();
        }
        let shared: Arc<str> = Arc::from(name);
        self.names.insert(shared.clone());
        shared
    }
}
