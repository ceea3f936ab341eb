//! Rate decks: a carrier's contracted prices, indexed for longest-prefix lookup.
//!
//! Each carrier and service has a digit trie over the deck's prefixes. A lookup walks the
//! destination's digits once (at most one step per digit, whatever the deck's size), and at
//! each node with rows picks the newest row in force; the deepest such node wins.

use crate::{Currency, Increments, Service};
use jiff::Timestamp;
use rust_decimal::Decimal;
use std::collections::HashMap;

/// One row of `rates.csv`: a price for a prefix over an effective-dated interval.
#[derive(Clone, Debug, PartialEq)]
pub struct RateRow {
    pub carrier: String,
    pub service: Service,
    /// Dial-code prefix of the destination, digits only.
    pub prefix: String,
    pub destination_name: Option<String>,
    /// Price per `rate_unit` base units.
    pub rate: Decimal,
    pub currency: Currency,
    /// Base units the rate is priced per (`> 0`).
    pub rate_unit: Decimal,
    pub increments: Increments,
    /// Added to every billed record (quantity > 0).
    pub connect_fee: Decimal,
    /// Minimum amount of a billed record, connect fee included.
    pub min_charge: Decimal,
    /// First instant the row applies (inclusive).
    pub effective_from: Timestamp,
    /// Instant it stops applying (exclusive); `None` is open-ended.
    pub effective_to: Option<Timestamp>,
}

impl RateRow {
    /// Whether the row applies at instant `at`: `effective_from <= at < effective_to`.
    pub fn in_force_at(&self, at: Timestamp) -> bool {
        self.effective_from <= at && self.effective_to.is_none_or(|to| at < to)
    }
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
        "a row with the same carrier, service, prefix and effective_from exists already (row {})",
        existing.0 + 1
    )]
    DuplicateRow { existing: RateRowIndex },
}

/// All rate rows of a run, with one prefix trie per carrier and service.
#[derive(Debug, Default)]
pub struct RateDeck {
    rows: Vec<RateRow>,
    carriers: HashMap<String, CarrierDeck>,
}

#[derive(Debug, Default)]
struct CarrierDeck {
    by_service: [PrefixTrie; Service::ALL.len()],
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
    /// Rows with exactly this prefix, newest `effective_from` first.
    rows: Vec<RateRowIndex>,
}

impl Default for PrefixTrie {
    fn default() -> PrefixTrie {
        PrefixTrie {
            nodes: vec![TrieNode::default()],
        }
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
                self.nodes[node].children[slot] =
                    u32::try_from(new_index).expect("fewer than 2^32 trie nodes");
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

    /// Adds a row.
    ///
    /// # Errors
    /// When the prefix is not all digits, the rate unit is not positive, the interval is empty,
    /// or a row with the same carrier, service, prefix and `effective_from` exists already.
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
        let trie = &mut self
            .carriers
            .entry(row.carrier.clone())
            .or_default()
            .by_service[row.service.index()];
        let node = trie.node_for_insert(&row.prefix);
        let rows = &mut trie.nodes[node].rows;
        if let Some(existing) = rows
            .iter()
            .find(|existing| self.rows[existing.0 as usize].effective_from == row.effective_from)
        {
            return Err(RateDeckError::DuplicateRow {
                existing: *existing,
            });
        }
        // Keep newest first, so the first row in force is the one a newer deck set.
        let position = rows
            .iter()
            .position(|existing| self.rows[existing.0 as usize].effective_from < row.effective_from)
            .unwrap_or(rows.len());
        rows.insert(position, index);
        self.rows.push(row);
        Ok(index)
    }

    /// The row that prices a destination at an instant: among rows of the carrier and service
    /// in force at `at`, the one with the longest prefix of `digits`; between rows of one
    /// prefix, the later `effective_from`. `None` when no row applies.
    pub fn lookup(
        &self,
        carrier: &str,
        service: Service,
        digits: &str,
        at: Timestamp,
    ) -> Option<RateRowIndex> {
        let trie = &self.carriers.get(carrier)?.by_service[service.index()];
        let in_force = |node: &TrieNode| {
            node.rows
                .iter()
                .copied()
                .find(|index| self.rows[index.0 as usize].in_force_at(at))
        };
        let mut node = &trie.nodes[0];
        let mut best = in_force(node);
        for digit in digits.bytes() {
            if !digit.is_ascii_digit() {
                break;
            }
            let child = node.children[usize::from(digit - b'0')];
            if child == 0 {
                break;
            }
            node = &trie.nodes[child as usize];
            if let Some(found) = in_force(node) {
                best = Some(found);
            }
        }
        best
    }

    /// The row at an index this deck returned.
    pub fn row(&self, index: RateRowIndex) -> &RateRow {
        &self.rows[index.0 as usize]
    }

    /// All rows, in insertion order.
    pub fn rows(&self) -> &[RateRow] {
        &self.rows
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether the deck has no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}
