//! Mobile networks (MCC-MNC) and the table that maps destination numbers to them, for messaging
//! rates priced per network rather than per prefix.

use crate::Destination;
use compact_str::CompactString;
use std::collections::HashMap;

/// A mobile network: MCC and MNC digits joined (`234` + `10` = `23410`). MNCs keep their leading
/// zeros (`234010` is not `23410`), so this is text, never a number.
pub type NetworkId = CompactString;

/// Builds the id of a network.
pub fn network_id(mcc: &str, mnc: &str) -> NetworkId {
    let mut id = CompactString::from(mcc);
    id.push_str(mnc);
    id
}

/// Number prefix to network, longest prefix wins (numbers ported between networks get their own
/// full-number entries).
#[derive(Clone, Debug, Default)]
pub struct NetworkMap {
    by_prefix: HashMap<CompactString, NetworkId>,
    prefix_length_max: usize,
}

impl NetworkMap {
    pub fn new() -> NetworkMap {
        NetworkMap::default()
    }

    /// Maps numbers starting with `prefix` to `network`. A later entry for the same prefix
    /// replaces the earlier one and returns it.
    pub fn insert(&mut self, prefix: &str, network: NetworkId) -> Option<NetworkId> {
        self.prefix_length_max = self.prefix_length_max.max(prefix.len());
        self.by_prefix.insert(prefix.into(), network)
    }

    /// The network of a destination, by its longest mapped prefix.
    pub fn network_of(&self, destination: &Destination) -> Option<&NetworkId> {
        let digits = destination.digits();
        (1..=digits.len().min(self.prefix_length_max)).rev().find_map(|length| self.by_prefix.get(&digits[..length]))
    }

    pub fn is_empty(&self) -> bool {
        self.by_prefix.is_empty()
    }

    /// The whole map as `prefix,network` lines sorted by prefix: two maps that place numbers
    /// alike give the same text (it names the map in the id of a run that used it).
    pub fn canonical_text(&self) -> String {
        let mut entries: Vec<(&CompactString, &NetworkId)> = self.by_prefix.iter().collect();
        entries.sort();
        entries.into_iter().map(|(prefix, network)| format!("{prefix},{network}\n")).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_prefix_wins_and_leading_zeros_are_kept() {
        let mut map = NetworkMap::new();
        map.insert("447", network_id("234", "10"));
        map.insert("4477009", network_id("234", "010"));
        let number = |digits: &str| Destination::parse(digits).unwrap();
        assert_eq!(map.network_of(&number("447700123456")).map(|id| id.as_str()), Some("23410"));
        assert_eq!(map.network_of(&number("447700912345")).map(|id| id.as_str()), Some("234010"));
        assert_eq!(map.network_of(&number("33612345678")), None);
    }
}
