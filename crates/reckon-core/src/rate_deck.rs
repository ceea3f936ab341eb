//! Rate decks: contracted prices, indexed for longest-prefix lookup.
//!
//! A deck is keyed by *party*: the carrier for a carrier's rate deck, the customer for a price
//! plan. Each party and service has a digit trie over the deck's prefixes, and a map of network
//! rows (MCC-MNC). A lookup walks the destination's digits once (at most one step per digit,
//! whatever the deck's size); at each node it picks the best row that applies, and the deepest
//! such node wins. A network row that applies beats every prefix row.

use crate::network::NetworkId;
use crate::time_band::TimeBand;
use crate::{Currency, Increments, Service};
use compact_str::CompactString;
use jiff::Timestamp;
use rust_decimal::Decimal;
use std::collections::HashMap;

/// One price: a row of `rates.csv` (or `prices.csv`), with its tiers merged in.
#[derive(Clone, Debug, PartialEq)]
pub struct RateRow {
    /// The carrier (rate deck) or customer (price plan; `*` is the default plan).
    pub carrier: String,
    pub service: Service,
    /// Dial-code prefix of the destination, digits only (empty for a network row).
    pub prefix: String,
    pub destination_name: Option<String>,
    /// Price per `rate_unit` base units (the first tier's, for a tiered row).
    pub rate: Decimal,
    pub currency: Currency,
    /// Base units the rate is priced per (`> 0`).
    pub rate_unit: Decimal,
    pub increments: Increments,
    /// Added to every billed record (quantity > 0).
    pub connect_fee: Decimal,
    /// Minimum amount of a billed record, connect fee included.
    pub min_charge: Decimal,
    /// Added to every billed record after the minimum (a fixed per-record surcharge).
    pub per_record_fee: Decimal,
    /// When the row applies beyond its prefix and dates.
    pub conditions: RateConditions,
    /// Volume tiers; `None` is one price for every unit.
    pub tiers: Option<Tiers>,
    /// First instant the row applies (inclusive).
    pub effective_from: Timestamp,
    /// Instant it stops applying (exclusive); `None` is open-ended.
    pub effective_to: Option<Timestamp>,
}

/// Conditions that narrow where a row applies. Each one that is set makes the row more specific.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RateConditions {
    /// Weekdays and local times the row applies in (rated by the band in force at the start).
    pub band: Option<TimeBand>,
    /// The row applies only to records whose origin number starts with these digits.
    pub origin_prefix: Option<CompactString>,
    /// The row prices a mobile network rather than a prefix.
    pub network: Option<NetworkId>,
}

/// How tiered prices apply to the cumulative quantity of a party and service in a month.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TierMode {
    /// Each unit at the price of the tier it falls in.
    Graduated,
    /// Every unit at the price of the tier the month's total reaches.
    Volume,
}

/// Volume tiers: the price from each threshold of cumulative billed quantity on.
#[derive(Clone, Debug, PartialEq)]
pub struct Tiers {
    pub mode: TierMode,
    /// `(from, rate)`: units beyond `from` (exclusive) of the month's cumulative billed quantity
    /// cost `rate` per `rate_unit`. Sorted by `from`; the first starts at 0.
    pub steps: Vec<(Decimal, Decimal)>,
}

impl RateRow {
    /// Whether the row applies at instant `at`: `effective_from <= at < effective_to`.
    pub fn in_force_at(&self, at: Timestamp) -> bool {
        self.effective_from <= at && self.effective_to.is_none_or(|to| at < to)
    }

    /// Whether the row's dates and conditions admit a record.
    fn applies_to(&self, query: &RateQuery<'_>) -> bool {
        self.in_force_at(query.at)
            && self.conditions.band.as_ref().is_none_or(|band| band.contains(query.at))
            && self
                .conditions
                .origin_prefix
                .as_deref()
                .is_none_or(|prefix| query.origin.is_some_and(|origin| origin.starts_with(prefix)))
    }

    /// Between two rows that both apply: the newer deck first, then the more specific row.
    fn preference(&self) -> (Timestamp, usize, bool) {
        (
            self.effective_from,
            self.conditions.origin_prefix.as_ref().map_or(0, |prefix| prefix.len() + 1),
            self.conditions.band.is_some(),
        )
    }

    /// What makes two rows the same price point (tiers apart).
    fn same_key(&self, other: &RateRow) -> bool {
        self.carrier == other.carrier
            && self.service == other.service
            && self.prefix == other.prefix
            && self.conditions == other.conditions
            && self.effective_from == other.effective_from
    }
}

/// What a lookup needs to know of a record.
#[derive(Clone, Copy, Debug)]
pub struct RateQuery<'a> {
    /// Carrier (rate deck) or customer (price plan).
    pub party: &'a str,
    pub service: Service,
    pub digits: &'a str,
    pub origin: Option<&'a str>,
    pub network: Option<&'a str>,
    pub at: Timestamp,
}

/// Index of a row in its [`RateDeck`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RateRowIndex(pub u32);

/// Why a row cannot join a deck.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RateDeckError {
    #[error("prefix {0:?} must be digits only")]
    PrefixNotDigits(String),
    #[error("rate_unit must be greater than 0")]
    RateUnitNotPositive,
    #[error("effective_to must be after effective_from")]
    EmptyInterval,
    #[error(
        "a row with the same carrier, service, prefix, conditions and effective_from exists already (row {})",
        existing.0 + 1
    )]
    DuplicateRow { existing: RateRowIndex },
    #[error("tier rows of one price disagree on their tier mode or repeat a tier_from")]
    TierConflict { existing: RateRowIndex },
}

/// A tiered row whose tiers do not start at 0, found by [`RateDeck::check_tiers`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("tiered row {} has no tier starting at 0", row.0 + 1)]
pub struct TierGap {
    pub row: RateRowIndex,
}

/// All rate rows of a run, with one prefix trie per party and service.
#[derive(Debug, Default)]
pub struct RateDeck {
    rows: Vec<RateRow>,
    parties: HashMap<String, PartyDeck>,
}

#[derive(Debug, Default)]
struct PartyDeck {
    by_service: [ServiceDeck; Service::ALL.len()],
}

#[derive(Debug, Default)]
struct ServiceDeck {
    trie: PrefixTrie,
    by_network: HashMap<NetworkId, Vec<RateRowIndex>>,
}

/// A digit trie; node 0 is the root (the empty prefix).
#[derive(Debug)]
struct PrefixTrie {
    nodes: Vec<TrieNode>,
}

#[derive(Debug, Default)]
struct TrieNode {
    /// Child per digit; 0 means none (the root is never a child).
    children: [u32; 10],
    /// Rows with exactly this prefix.
    rows: Vec<RateRowIndex>,
}

impl Default for PrefixTrie {
    fn default() -> PrefixTrie {
        PrefixTrie { nodes: vec![TrieNode::default()] }
    }
}

impl PrefixTrie {
    fn node_for_insert(&mut self, prefix: &str) -> usize {
        let mut node = 0;
        for digit in prefix.bytes() {
            let slot = usize::from(digit - b'0');
            let child = self.nodes[node].children[slot];
            node = if child == 0 {
                let new_index = self.nodes.len();
                self.nodes.push(TrieNode::default());
                self.nodes[node].children[slot] = u32::try_from(new_index).expect("fewer than 2^32 trie nodes");
                new_index
            } else {
                child as usize
            };
        }
        node
    }
}

impl RateDeck {
    /// An empty deck.
    pub fn new() -> RateDeck {
        RateDeck::default()
    }

    /// Adds a row. A tiered row with the key of an existing tiered row adds its tiers to it.
    ///
    /// # Errors
    /// When the prefix is not all digits, the rate unit is not positive, the interval is empty,
    /// a row with the same key exists already, or tiers of one price conflict.
    pub fn insert(&mut self, row: RateRow) -> Result<RateRowIndex, RateDeckError> {
        if !row.prefix.bytes().all(|byte| byte.is_ascii_digit()) {
            return Err(RateDeckError::PrefixNotDigits(row.prefix));
        }
        if row.rate_unit <= Decimal::ZERO {
            return Err(RateDeckError::RateUnitNotPositive);
        }
        if row.effective_to.is_some_and(|to| to <= row.effective_from) {
            return Err(RateDeckError::EmptyInterval);
        }
        let index = RateRowIndex(u32::try_from(self.rows.len()).expect("fewer than 2^32 rows"));
        let service_deck = &mut self.parties.entry(row.carrier.clone()).or_default().by_service[row.service.index()];
        let slot = match &row.conditions.network {
            Some(network) => service_deck.by_network.entry(network.clone()).or_default(),
            None => {
                let node = service_deck.trie.node_for_insert(&row.prefix);
                &mut service_deck.trie.nodes[node].rows
            }
        };
        if let Some(&existing) = slot.iter().find(|existing| self.rows[existing.0 as usize].same_key(&row)) {
            merge_tiers(&mut self.rows[existing.0 as usize], row, existing)?;
            return Ok(existing);
        }
        slot.push(index);
        self.rows.push(row);
        Ok(index)
    }

    /// Every tiered row must price the first unit: its tiers must start at 0.
    ///
    /// # Errors
    /// The first tiered row whose lowest tier starts above 0.
    pub fn check_tiers(&self) -> Result<(), TierGap> {
        for (index, row) in self.rows.iter().enumerate() {
            if let Some(tiers) = &row.tiers {
                if tiers.steps.first().is_none_or(|(from, _)| !from.is_zero()) {
                    return Err(TierGap { row: RateRowIndex(index as u32) });
                }
            }
        }
        Ok(())
    }

    /// The row that prices a record: a network row that applies, else among prefix rows that
    /// apply, the one with the longest prefix of the digits; at one prefix, the newest
    /// `effective_from`, then the most specific conditions. `None` when no row applies.
    pub fn lookup(&self, query: &RateQuery<'_>) -> Option<RateRowIndex> {
        let service_deck = &self.parties.get(query.party)?.by_service[query.service.index()];
        if let Some(network) = query.network {
            if let Some(found) = service_deck.by_network.get(network).and_then(|rows| self.best_of(rows, query)) {
                return Some(found);
            }
        }
        let trie = &service_deck.trie;
        let mut node = &trie.nodes[0];
        let mut best = self.best_of(&node.rows, query);
        for digit in query.digits.bytes() {
            if !digit.is_ascii_digit() {
                break;
            }
            let child = node.children[usize::from(digit - b'0')];
            if child == 0 {
                break;
            }
            node = &trie.nodes[child as usize];
            if let Some(found) = self.best_of(&node.rows, query) {
                best = Some(found);
            }
        }
        best
    }

    fn best_of(&self, rows: &[RateRowIndex], query: &RateQuery<'_>) -> Option<RateRowIndex> {
        rows.iter()
            .copied()
            .filter(|index| self.row(*index).applies_to(query))
            .max_by_key(|index| self.row(*index).preference())
    }

    /// The row at an index this deck returned.
    pub fn row(&self, index: RateRowIndex) -> &RateRow {
        &self.rows[index.0 as usize]
    }

    /// All rows, in insertion order.
    pub fn rows(&self) -> &[RateRow] {
        &self.rows
    }

    /// Number of rows (tiers of one price count once).
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether the deck has no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Whether any row is tiered (rating then needs a second pass over the month).
    pub fn has_tiers(&self) -> bool {
        self.rows.iter().any(|row| row.tiers.is_some())
    }

    /// Whether the deck has rows for this party.
    pub fn has_party(&self, party: &str) -> bool {
        self.parties.contains_key(party)
    }
}

fn merge_tiers(existing_row: &mut RateRow, row: RateRow, existing: RateRowIndex) -> Result<(), RateDeckError> {
    let (Some(existing_tiers), Some(new_tiers)) = (&mut existing_row.tiers, row.tiers) else {
        return Err(RateDeckError::DuplicateRow { existing });
    };
    if existing_tiers.mode != new_tiers.mode {
        return Err(RateDeckError::TierConflict { existing });
    }
    for step in new_tiers.steps {
        match existing_tiers.steps.binary_search_by(|(from, _)| from.cmp(&step.0)) {
            Ok(_) => return Err(RateDeckError::TierConflict { existing }),
            Err(position) => existing_tiers.steps.insert(position, step),
        }
    }
    // The row's own rate is its first tier's.
    existing_row.rate = existing_tiers.steps[0].1;
    Ok(())
}
