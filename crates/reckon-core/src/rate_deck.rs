//! Rate decks: contracted prices, indexed for longest-prefix lookup.
//!
//! A deck is keyed by *party*: the carrier for a carrier's rate deck, the customer for a price
//! plan. Each party and service has a digit trie over the deck's prefixes, and a map of network
//! rows (MCC-MNC). A lookup walks the destination's digits once (at most one step per digit,
//! whatever the deck's size); at each node it picks the best row that applies, and the deepest
//! such node wins. A network row that applies beats every prefix row.

use crate::network::NetworkId;
use crate::time_band::{HolidayCalendar, TimeBand};
use crate::{Currency, Increments, Service};
use compact_str::CompactString;
use jiff::Timestamp;
use rust_decimal::Decimal;
use rustc_hash::FxHashMap;
use std::collections::HashMap;
use std::sync::OnceLock;

/// One price: a row of `rates.csv` (or `prices.csv`), with its tiers merged in.
///
/// `repr(C)` keeps the declared order: the terms that pricing reads come first, together in
/// two cache lines, which matters when a large deck's rows are read at random.
#[derive(Clone, Debug, PartialEq)]
#[repr(C)]
pub struct RateRow {
    /// Price per `rate_unit` base units (the first tier's, for a tiered row).
    pub rate: Decimal,
    /// Base units the rate is priced per (`> 0`).
    pub rate_unit: Decimal,
    /// Added to every billed record (quantity > 0).
    pub connect_fee: Decimal,
    /// Minimum amount of a billed record, connect fee included.
    pub min_charge: Decimal,
    /// Added to every billed record after the minimum (a fixed per-record surcharge).
    pub per_record_fee: Decimal,
    pub increments: Increments,
    /// Volume tiers; `None` is one price for every unit.
    pub tiers: Option<Tiers>,
    pub currency: Currency,
    pub service: Service,
    /// First instant the row applies (inclusive).
    pub effective_from: Timestamp,
    /// Instant it stops applying (exclusive); `None` is open-ended.
    pub effective_to: Option<Timestamp>,
    /// The carrier (rate deck) or customer (price plan; `*` is the default plan).
    pub carrier: String,
    /// Dial-code prefix of the destination, digits only (empty for a network row).
    pub prefix: String,
    pub destination_name: Option<String>,
    /// When the row applies beyond its prefix and dates.
    pub conditions: RateConditions,
    /// Pricing rules beyond the contract's terms: a first-interval rate, a cap, the carrier's
    /// rounding, a blocked destination.
    pub rules: PriceRules,
}

/// Pricing rules a row may add to the contract's terms (FORMATS.md, "rates.csv: optional
/// columns"). The default adds none: the row prices as the contract says.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PriceRules {
    /// Price per `rate_unit` of the first increment (`A` of `A/B`); the rest at `rate`.
    pub first_rate: Option<Decimal>,
    /// Most a billed record costs, everything included (applied before rounding).
    pub max_cost: Option<Decimal>,
    /// The carrier's rounding of a record's cost; `None`: 6 places, half away from zero.
    pub rounding: Option<CostRounding>,
    /// Traffic to the row's destinations must not be billed at all: expected quantity and
    /// cost 0.
    pub blocked: bool,
    /// Whether messages are billed when submitted or only once delivered; `None`: the
    /// contract's default, else [`BilledOn::Submitted`].
    pub billed_on: Option<BilledOn>,
}

/// When a carrier bills a message (`billed_on`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BilledOn {
    /// Every message handed to the carrier is billed, delivered or not (the data contract).
    #[default]
    Submitted,
    /// Only delivered messages are billed: one whose receipt proves it undelivered costs 0.
    Delivered,
}

impl BilledOn {
    /// Parses `submitted` or `delivered`, case-insensitively.
    pub fn parse(name: &str) -> Option<BilledOn> {
        [BilledOn::Submitted, BilledOn::Delivered]
            .into_iter()
            .find(|billed_on| billed_on.as_str().eq_ignore_ascii_case(name))
    }

    /// The canonical, lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            BilledOn::Submitted => "submitted",
            BilledOn::Delivered => "delivered",
        }
    }

    /// Whether a service has deliveries to bill on: messages (sms, mms), whose receipts say
    /// whether they arrived. A call or a session is billed for what was measured of it.
    pub fn applies_to(service: Service) -> bool {
        matches!(service, Service::Sms | Service::Mms)
    }

    /// Whether a record with this delivery status is billed: under `delivered`, not when its
    /// receipt proves it undelivered (failed, expired, rejected). A missing or `unknown`
    /// receipt is no proof of non-delivery, so such a record is billed as usual.
    pub fn bills(self, status: Option<crate::usage::DeliveryStatus>) -> bool {
        match self {
            BilledOn::Submitted => true,
            BilledOn::Delivered => !status.is_some_and(crate::usage::DeliveryStatus::is_undelivered),
        }
    }
}

/// How a carrier rounds a record's cost: `decimal_places` (0 to 12) in `mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CostRounding {
    pub decimal_places: u32,
    pub mode: crate::money::RoundMode,
}

/// The most decimal places a carrier's rounding takes (the bound on every number read).
pub const ROUNDING_DECIMALS_MAX: u32 = 12;

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

    /// Whether the row's dates and conditions admit a record (a band seeing the party's
    /// holidays as the weekdays they are rated as).
    fn applies_to(&self, query: &RateQuery<'_>, holidays: Option<&HolidayCalendar>) -> bool {
        self.in_force_at(query.at)
            && self.conditions.band.as_ref().is_none_or(|band| band.contains_with(query.at, holidays))
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

    /// Whether two rows would tie for one record: the same carrier, service, prefix, origin,
    /// network and `effective_from`, and time bands in one zone that share an instant. Neither
    /// is more specific, so the file's order would decide.
    fn band_overlaps(&self, other: &RateRow) -> bool {
        let (Some(band), Some(other_band)) = (&self.conditions.band, &other.conditions.band) else {
            return false;
        };
        self.effective_from == other.effective_from
            && self.carrier == other.carrier
            && self.service == other.service
            && self.prefix == other.prefix
            && self.conditions.origin_prefix == other.conditions.origin_prefix
            && self.conditions.network == other.conditions.network
            && band.overlaps(other_band)
    }

    /// What makes two rows the same price point (tiers apart).
    fn same_key(&self, other: &RateRow) -> bool {
        // The start differs most often between rows of one prefix, and is the cheapest to
        // compare: inserting the many dated rows of one prefix stays fast.
        self.effective_from == other.effective_from
            && self.carrier == other.carrier
            && self.service == other.service
            && self.prefix == other.prefix
            && self.conditions == other.conditions
    }
}

/// The terms that price a record under a row, copied out of it (see [`RateDeck::lookup_terms`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PriceTerms {
    pub rate: Decimal,
    pub rate_unit: Decimal,
    pub connect_fee: Decimal,
    pub min_charge: Decimal,
    pub per_record_fee: Decimal,
    pub increments: Increments,
    pub currency: Currency,
    pub rules: PriceRules,
}

impl PriceTerms {
    pub fn of(row: &RateRow) -> PriceTerms {
        PriceTerms {
            rate: row.rate,
            rate_unit: row.rate_unit,
            connect_fee: row.connect_fee,
            min_charge: row.min_charge,
            per_record_fee: row.per_record_fee,
            increments: row.increments,
            currency: row.currency,
            rules: row.rules,
        }
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

/// The longest prefix a deck takes (E.164 numbers have at most 15 digits).
pub const PREFIX_DIGITS_MAX: usize = 24;

/// The most rows one prefix (or one network) of a party and service takes: the packed trie
/// counts a node's rows in 16 bits.
pub const ROWS_PER_PREFIX_MAX: usize = u16::MAX as usize;

/// The most rows a deck takes: rows are indexed by 32 bits.
pub const ROWS_MAX: usize = u32::MAX as usize;

/// Index of a row in its [`RateDeck`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RateRowIndex(pub u32);

/// Why a row cannot join a deck.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RateDeckError {
    #[error("prefix {0:?} must be digits only")]
    PrefixNotDigits(String),
    #[error("prefix {0:?} is longer than {PREFIX_DIGITS_MAX} digits")]
    PrefixTooLong(String),
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
    #[error(
        "more than {ROWS_PER_PREFIX_MAX} rows for one prefix of one carrier and service \
         (dates, bands and origins together): split the deck or drop superseded rows"
    )]
    TooManyRowsForPrefix,
    #[error("more than {ROWS_MAX} rows in one deck")]
    TooManyRows,
    #[error(
        "its time band overlaps the band of row {} (same carrier, service, prefix, origin and \
         effective_from): which rate applies would depend on the order of the rows",
        existing.0 + 1
    )]
    OverlappingBands { existing: RateRowIndex },
    #[error("first_rate cannot be combined with tiers (tiers price every unit)")]
    FirstRateWithTiers,
    #[error("max_cost must be at least min_charge")]
    MaxCostBelowMinimum,
    #[error("billed_on delivered applies to messages (sms, mms) only: calls and sessions are billed as measured")]
    BilledOnDeliveredNotMessage,
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
    /// (FxHash, like every map the rating of a record reads.)
    parties: FxHashMap<String, PartyDeck>,
    /// Holidays per party, read only when a banded row is checked.
    holidays: FxHashMap<String, HolidayCalendar>,
}

#[derive(Debug, Default)]
struct PartyDeck {
    by_service: [ServiceDeck; Service::ALL.len()],
}

#[derive(Debug, Default)]
struct ServiceDeck {
    trie: PrefixTrie,
    by_network: FxHashMap<NetworkId, Vec<RateRowIndex>>,
    /// The trie packed for lookups, built at the first lookup after a change.
    packed: OnceLock<PackedTrie>,
}

/// The prefix trie packed for lookups: 8-byte nodes in breadth-first order, each node's
/// children side by side, and each node's rows with their dates copied next to each other.
/// A 50,000-prefix deck packs into under 2 MB that stays in the processor's cache, where the
/// building trie (64-byte nodes, rows behind pointers) would miss it at every digit.
#[derive(Debug)]
struct PackedTrie {
    nodes: Vec<PackedNode>,
    /// Per node, the index of its first entry (read only for nodes that have entries).
    first_entries: Vec<u32>,
    entries: Vec<PackedEntry>,
}

#[derive(Clone, Copy, Debug)]
struct PackedNode {
    /// Bit `d` set: the node has a child for digit `d`.
    child_mask: u16,
    entry_count: u16,
    /// Index of the child of the lowest digit; the others follow in digit order.
    first_child: u32,
}

#[derive(Clone, Copy, Debug)]
struct PackedEntry {
    /// A copy of the row's price terms, so that rating an ordinary record never reads the row.
    terms: PriceTerms,
    row: RateRowIndex,
    effective_from: Timestamp,
    effective_to: Option<Timestamp>,
    /// Whether the row has conditions (band, origin) that need the row itself to check.
    conditional: bool,
}

impl PackedTrie {
    fn build(trie: &PrefixTrie, rows: &[RateRow]) -> PackedTrie {
        let mut nodes = Vec::with_capacity(trie.nodes.len());
        let mut first_entries = Vec::with_capacity(trie.nodes.len());
        let mut entries = Vec::new();
        // Breadth-first: a node's children are enqueued together, so they are packed together.
        let mut queue = std::collections::VecDeque::from([0_usize]);
        let mut next_index = 1_u32;
        while let Some(old) = queue.pop_front() {
            let node = &trie.nodes[old];
            let mut child_mask = 0_u16;
            for (digit, child) in node.children.iter().enumerate() {
                if *child != 0 {
                    child_mask |= 1 << digit;
                    queue.push_back(*child as usize);
                }
            }
            first_entries.push(u32::try_from(entries.len()).expect("fewer than 2^32 rows"));
            entries.extend(node.rows.iter().map(|index| {
                let row = &rows[index.0 as usize];
                PackedEntry {
                    terms: PriceTerms::of(row),
                    row: *index,
                    effective_from: row.effective_from,
                    effective_to: row.effective_to,
                    conditional: row.conditions.band.is_some() || row.conditions.origin_prefix.is_some(),
                }
            }));
            nodes.push(PackedNode {
                child_mask,
                // `RateDeck::insert` refuses a row past ROWS_PER_PREFIX_MAX.
                entry_count: u16::try_from(node.rows.len()).expect("insert keeps ROWS_PER_PREFIX_MAX"),
                first_child: next_index,
            });
            next_index += child_mask.count_ones();
        }
        PackedTrie { nodes, first_entries, entries }
    }
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
    fn node_for_insert(&mut self, prefix: &str) -> Result<usize, RateDeckError> {
        let mut node = 0;
        for digit in prefix.bytes() {
            let slot = usize::from(digit - b'0');
            let child = self.nodes[node].children[slot];
            node = if child == 0 {
                let new_index = self.nodes.len();
                let child = u32::try_from(new_index).map_err(|_| RateDeckError::TooManyRows)?;
                self.nodes.push(TrieNode::default());
                self.nodes[node].children[slot] = child;
                new_index
            } else {
                child as usize
            };
        }
        Ok(node)
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
    /// a row with the same key exists already, tiers of one price conflict, or the prefix (or
    /// the deck) already holds the most rows it can.
    pub fn insert(&mut self, row: RateRow) -> Result<RateRowIndex, RateDeckError> {
        if !row.prefix.bytes().all(|byte| byte.is_ascii_digit()) {
            return Err(RateDeckError::PrefixNotDigits(row.prefix));
        }
        if row.prefix.len() > PREFIX_DIGITS_MAX {
            return Err(RateDeckError::PrefixTooLong(row.prefix));
        }
        if row.rate_unit <= Decimal::ZERO {
            return Err(RateDeckError::RateUnitNotPositive);
        }
        if row.effective_to.is_some_and(|to| to <= row.effective_from) {
            return Err(RateDeckError::EmptyInterval);
        }
        if row.rules.first_rate.is_some() && row.tiers.is_some() {
            return Err(RateDeckError::FirstRateWithTiers);
        }
        if row.rules.max_cost.is_some_and(|max_cost| max_cost < row.min_charge) {
            return Err(RateDeckError::MaxCostBelowMinimum);
        }
        if row.rules.billed_on == Some(BilledOn::Delivered) && !BilledOn::applies_to(row.service) {
            return Err(RateDeckError::BilledOnDeliveredNotMessage);
        }
        let index = RateRowIndex(u32::try_from(self.rows.len()).map_err(|_| RateDeckError::TooManyRows)?);
        let service_deck = &mut self.parties.entry(row.carrier.clone()).or_default().by_service[row.service.index()];
        service_deck.packed = OnceLock::new();
        let slot = match &row.conditions.network {
            Some(network) => service_deck.by_network.entry(network.clone()).or_default(),
            None => {
                let node = service_deck.trie.node_for_insert(&row.prefix)?;
                &mut service_deck.trie.nodes[node].rows
            }
        };
        if let Some(&existing) = slot.iter().find(|existing| self.rows[existing.0 as usize].same_key(&row)) {
            merge_tiers(&mut self.rows[existing.0 as usize], row, existing)?;
            return Ok(existing);
        }
        if let Some(&existing) = slot.iter().find(|existing| self.rows[existing.0 as usize].band_overlaps(&row)) {
            return Err(RateDeckError::OverlappingBands { existing });
        }
        if slot.len() >= ROWS_PER_PREFIX_MAX {
            return Err(RateDeckError::TooManyRowsForPrefix);
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
        self.lookup_terms(query).map(|(index, _)| index)
    }

    /// [`RateDeck::lookup`] with the row's price terms, read from the packed trie's copy for an
    /// ordinary row (rating's hot path, which then never reads the row itself).
    pub fn lookup_terms(&self, query: &RateQuery<'_>) -> Option<(RateRowIndex, PriceTerms)> {
        let service_deck = &self.parties.get(query.party)?.by_service[query.service.index()];
        if let Some(network) = query.network {
            if let Some(found) =
                service_deck.by_network.get(network).and_then(|rows| self.best_of(rows.iter().copied(), query))
            {
                return Some((found, PriceTerms::of(self.row(found))));
            }
        }
        let trie = service_deck.packed.get_or_init(|| PackedTrie::build(&service_deck.trie, &self.rows));
        // Walk down first, noting the nodes that hold rows; then look at rows from the deepest
        // node up, so that most lookups read the rows of one node only.
        let mut with_rows = [0_u32; PREFIX_DIGITS_MAX + 1];
        let mut with_rows_count = usize::from(trie.nodes[0].entry_count > 0);
        let mut node = trie.nodes[0];
        for digit in query.digits.bytes() {
            if !digit.is_ascii_digit() {
                break;
            }
            let bit = 1_u16 << (digit - b'0');
            if node.child_mask & bit == 0 {
                break;
            }
            let index = node.first_child + (node.child_mask & (bit - 1)).count_ones();
            node = trie.nodes[index as usize];
            if node.entry_count > 0 {
                with_rows[with_rows_count] = index;
                with_rows_count += 1;
            }
        }
        with_rows[..with_rows_count].iter().rev().find_map(|index| self.best_of_packed(trie, *index, query))
    }

    /// [`RateDeck::best_of`] over a packed node: dates are checked on the packed copy, and the
    /// row itself is read only for conditions or to choose between several.
    fn best_of_packed(
        &self,
        trie: &PackedTrie,
        node_index: u32,
        query: &RateQuery<'_>,
    ) -> Option<(RateRowIndex, PriceTerms)> {
        let node = trie.nodes[node_index as usize];
        let first_entry = trie.first_entries[node_index as usize] as usize;
        let entries = &trie.entries[first_entry..][..usize::from(node.entry_count)];
        match entries {
            [] => None,
            [entry] if !entry.conditional => {
                let in_force = entry.effective_from <= query.at && entry.effective_to.is_none_or(|to| query.at < to);
                in_force.then_some((entry.row, entry.terms))
            }
            _ => self
                .best_of(entries.iter().map(|entry| entry.row), query)
                .map(|index| (index, PriceTerms::of(self.row(index)))),
        }
    }

    fn best_of(&self, rows: impl Iterator<Item = RateRowIndex>, query: &RateQuery<'_>) -> Option<RateRowIndex> {
        let holidays = self.holidays.get(query.party);
        rows.filter(|index| self.row(*index).applies_to(query, holidays))
            .max_by_key(|index| self.row(*index).preference())
    }

    /// Makes a loaded deck rate the way every command rates it: a carrier deck takes each
    /// contract's rounding and `billed_on` for the rows that set none
    /// ([`RateDeck::apply_contract_defaults`]),
    /// and every deck its parties' holiday calendars ([`RateDeck::set_holidays`]; a price plan's
    /// calendar is named by its customer or `*`). The file commands, the ledger's runs and the
    /// service all build their decks through this one step, so they cannot rate apart.
    pub fn apply_reference(
        &mut self,
        party: crate::rating::Party,
        contracts: &HashMap<String, crate::contract::ContractTerms>,
        holidays: &HashMap<String, HolidayCalendar>,
    ) {
        // Contracts are carriers' terms: a customer's price plan is never changed by them.
        if party == crate::rating::Party::Carrier {
            self.apply_contract_defaults(contracts);
        }
        for (name, calendar) in holidays {
            self.set_holidays(name, calendar.clone());
        }
    }

    /// Sets a party's holidays (a carrier's, or a price plan's): its banded rows rate each
    /// holiday as the weekday the calendar gives it.
    pub fn set_holidays(&mut self, party: &str, calendar: HolidayCalendar) {
        self.holidays.insert(party.to_owned(), calendar);
    }

    /// Applies each contract's defaults to its carrier's rows: its rounding
    /// ([`RateDeck::set_default_rounding`]) and when it bills messages
    /// ([`RateDeck::set_default_billed_on`]). What every command that rates a carrier deck calls
    /// once contracts are loaded.
    pub fn apply_contract_defaults(&mut self, contracts: &HashMap<String, crate::contract::ContractTerms>) {
        for (carrier, terms) in contracts {
            if let Some(rounding) = terms.rounding {
                self.set_default_rounding(carrier, rounding);
            }
            if let Some(billed_on) = terms.billed_on {
                self.set_default_billed_on(carrier, billed_on);
            }
        }
    }

    /// Sets the rounding of every row of a party that has none of its own (a contract's
    /// rounding, which a deck row's own columns override).
    pub fn set_default_rounding(&mut self, party: &str, rounding: CostRounding) {
        for row in self.party_rows_for_change(party).filter(|row| row.rules.rounding.is_none()) {
            row.rules.rounding = Some(rounding);
        }
    }

    /// Sets when the carrier bills messages on every message row (sms, mms) of a party that
    /// does not say so itself (a contract's `billed_on`, which a deck row's own column
    /// overrides). Rows of other services are left as they are: they have no deliveries.
    pub fn set_default_billed_on(&mut self, party: &str, billed_on: BilledOn) {
        for row in self
            .party_rows_for_change(party)
            .filter(|row| row.rules.billed_on.is_none() && BilledOn::applies_to(row.service))
        {
            row.rules.billed_on = Some(billed_on);
        }
    }

    /// A party's rows, to change their terms: the packed tries, which hold copies of the
    /// terms, are dropped first.
    fn party_rows_for_change<'a>(&'a mut self, party: &'a str) -> impl Iterator<Item = &'a mut RateRow> {
        if let Some(party_deck) = self.parties.get_mut(party) {
            for service_deck in &mut party_deck.by_service {
                service_deck.packed = OnceLock::new();
            }
        }
        self.rows.iter_mut().filter(move |row| row.carrier == party)
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
