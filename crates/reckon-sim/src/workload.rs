//! The workload: carriers with rate decks, a month of usage, and each carrier's invoices for it,
//! with discrepancies planted at a chosen rate.
//!
//! Generation streams: records and lines go to a [`Sink`] as they are made, and nothing grows
//! with the number of records (the demo's 3,000 records and a benchmark's 100 million use the
//! same code and the same memory). Usage comes in time order, as a platform exports it, and each
//! carrier's lines follow its usage, so its invoices are in time order too.

use crate::random::SplitMix64;
use compact_str::{format_compact, CompactString};
use jiff::civil::Date;
use jiff::SignedDuration;
use reckon_core::contract::ContractTerms;
use reckon_core::rate_deck::{BilledOn, PriceRules};
use reckon_core::usage::DeliveryStatus;
use reckon_core::{
    Currency, Decimal, Destination, DiscrepancyKind, Increments, InvoiceLine, RateRow, Service, Timestamp, UsageRecord,
};
use rust_decimal::RoundingStrategy;
use rustc_hash::FxHashMap;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// What to generate.
#[derive(Clone, Debug)]
pub struct SimConfig {
    pub seed: u64,
    /// Usage records to generate.
    pub records: usize,
    /// Share of billable records that get a planted discrepancy, per mille.
    pub discrepancies_per_mille: u64,
    /// Share of unanswered records (quantity 0), per mille.
    pub unanswered_per_mille: u64,
    /// Share of records and lines that carry no carrier reference (matched by time), per mille.
    pub without_reference_per_mille: u64,
    /// Share of records, per mille, that contend for matching without any discrepancy: a
    /// repeat call to the same number within a minute (half of them), or a line whose
    /// reference names a record of another destination (the carrier wrote the number
    /// differently).
    pub contention_per_mille: u64,
    /// The kinds of discrepancy to plant, drawn evenly. A kind a record cannot carry becomes an
    /// `amount_mismatch` (an `undelivered_charge` needs a message of a carrier that bills on
    /// delivery; a `rate_mismatch` a rate on the line, in the deck's currency).
    pub planted_kinds: Vec<DiscrepancyKind>,
    /// Carriers, 1 to [`CARRIERS_MAX`]: acme, borealis, cobalt, dynamo, then again with a number
    /// (acme2, ...).
    pub carriers: usize,
    /// Rows per carrier and deck beyond the hand-written ones (country codes and their mobile
    /// and fixed ranges, voice, SMS and data; some re-priced mid-month); 0: the hand-written
    /// decks only.
    pub prefixes_per_carrier: usize,
    /// The first day of the month of the usage.
    pub month: Date,
}

/// Most carriers a workload has.
pub const CARRIERS_MAX: usize = 64;

impl Default for SimConfig {
    fn default() -> SimConfig {
        SimConfig {
            seed: 7,
            records: 2_000,
            discrepancies_per_mille: 40,
            unanswered_per_mille: 50,
            without_reference_per_mille: 200,
            contention_per_mille: 20,
            planted_kinds: DiscrepancyKind::ALL.to_vec(),
            carriers: 3,
            prefixes_per_carrier: 0,
            month: jiff::civil::date(2026, 3, 1),
        }
    }
}

/// A discrepancy planted on purpose: the engine must find exactly these.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Planted {
    pub carrier: Arc<str>,
    /// `None` for unbilled usage.
    pub line_id: Option<CompactString>,
    pub record_id: Option<CompactString>,
    pub kind: DiscrepancyKind,
}

/// The columns of a carrier's invoice files, in order: carriers lay their invoices out
/// differently, and the reader must not care.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InvoiceLayout {
    /// The contract's columns in the contract's order, without `invoice_date`.
    Canonical,
    /// Another order, with `invoice_date`; one invoice per half month.
    WithInvoiceDate,
    /// Another order, without the optional `rate` (rate mismatches cannot be seen).
    WithoutRate,
    /// Every column, in yet another order.
    Reordered,
}

/// A column of an invoice file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InvoiceColumn {
    Carrier,
    InvoiceId,
    InvoiceDate,
    LineId,
    CarrierRef,
    Service,
    StartedAt,
    Destination,
    Quantity,
    Rate,
    Amount,
    Currency,
}

impl InvoiceColumn {
    /// The header of the column.
    pub fn name(self) -> &'static str {
        match self {
            InvoiceColumn::Carrier => "carrier",
            InvoiceColumn::InvoiceId => "invoice_id",
            InvoiceColumn::InvoiceDate => "invoice_date",
            InvoiceColumn::LineId => "line_id",
            InvoiceColumn::CarrierRef => "carrier_ref",
            InvoiceColumn::Service => "service",
            InvoiceColumn::StartedAt => "started_at",
            InvoiceColumn::Destination => "destination",
            InvoiceColumn::Quantity => "quantity",
            InvoiceColumn::Rate => "rate",
            InvoiceColumn::Amount => "amount",
            InvoiceColumn::Currency => "currency",
        }
    }
}

impl InvoiceLayout {
    /// The columns, in file order.
    pub fn columns(self) -> &'static [InvoiceColumn] {
        use InvoiceColumn::*;
        match self {
            InvoiceLayout::Canonical => &[
                Carrier,
                InvoiceId,
                LineId,
                CarrierRef,
                Service,
                StartedAt,
                Destination,
                Quantity,
                Rate,
                Amount,
                Currency,
            ],
            InvoiceLayout::WithInvoiceDate => &[
                LineId,
                InvoiceId,
                InvoiceDate,
                Carrier,
                StartedAt,
                Service,
                Destination,
                CarrierRef,
                Currency,
                Quantity,
                Rate,
                Amount,
            ],
            InvoiceLayout::WithoutRate => {
                &[InvoiceId, LineId, StartedAt, Carrier, Service, Destination, CarrierRef, Quantity, Currency, Amount]
            }
            InvoiceLayout::Reordered => &[
                Carrier,
                CarrierRef,
                InvoiceId,
                LineId,
                Destination,
                StartedAt,
                Service,
                Amount,
                Currency,
                Rate,
                Quantity,
            ],
        }
    }

    /// Whether lines give the rate the carrier applied.
    pub fn has_rate(self) -> bool {
        self.columns().contains(&InvoiceColumn::Rate)
    }
}

/// Receives what the generator produces, in order.
pub trait Sink {
    fn fx_rate(&mut self, date: Date, currency: Currency, per_eur: Decimal);
    fn price_row(&mut self, row: &RateRow);
    fn rate_row(&mut self, row: &RateRow);
    fn usage(&mut self, record: &UsageRecord);
    fn line(&mut self, line: &InvoiceLine);
    /// How a carrier lays out its invoice files, before its first line.
    fn invoice_layout(&mut self, _carrier: &str, _layout: InvoiceLayout) {}
    /// A discrepancy planted, as soon as it is decided.
    fn planted(&mut self, _planted: &Planted) {}
}

/// A [`Sink`] that keeps everything in memory.
#[derive(Debug, Default)]
pub struct VecSink {
    pub fx_rates: Vec<(Date, Currency, Decimal)>,
    pub price_rows: Vec<RateRow>,
    pub rate_rows: Vec<RateRow>,
    pub usage: Vec<UsageRecord>,
    pub lines: Vec<InvoiceLine>,
}

impl Sink for VecSink {
    fn fx_rate(&mut self, date: Date, currency: Currency, per_eur: Decimal) {
        self.fx_rates.push((date, currency, per_eur));
    }
    fn price_row(&mut self, row: &RateRow) {
        self.price_rows.push(row.clone());
    }
    fn rate_row(&mut self, row: &RateRow) {
        self.rate_rows.push(row.clone());
    }
    fn usage(&mut self, record: &UsageRecord) {
        self.usage.push(record.clone());
    }
    fn line(&mut self, line: &InvoiceLine) {
        self.lines.push(line.clone());
    }
}

/// What a streamed generation produced.
#[derive(Clone, Debug, Default)]
pub struct Generated {
    pub records: u64,
    pub lines: u64,
    pub rate_rows: u64,
    /// Planted discrepancies per kind, in [`DiscrepancyKind::ALL`] order.
    pub planted_counts: [u64; DiscrepancyKind::ALL.len()],
    /// Carriers that got no invoice line: their planted unbilled usage is not reported
    /// (FORMATS.md: usage of a carrier with no invoice in the run is not reported).
    pub carriers_without_lines: Vec<Arc<str>>,
}

/// `(service, prefix, rate, rate_unit, increments, connect_fee, min_charge)`
type HandRow = (Service, &'static str, &'static str, &'static str, &'static str, &'static str, &'static str);

struct CarrierTemplate {
    name: &'static str,
    invoice_id: &'static str,
    /// The deck's currency.
    currency: &'static str,
    /// The currency the carrier invoices in (another than the deck's for cobalt).
    invoice_currency: &'static str,
    /// The contract allows billing only in the deck's currency (contracts.csv
    /// `deck_currency_only`): a line in another currency is a `currency_mismatch`, though every
    /// currency of the workload has exchange rates.
    deck_currency_only: bool,
    /// A currency without exchange rates, for a planted `currency_mismatch` on a contract that
    /// converts; `None`: such a plant becomes an amount mismatch.
    unconvertible_currency: Option<&'static str>,
    /// Its message rows say `billed_on = delivered`: a message whose receipt says it failed,
    /// expired or was rejected is not billed (or, planted, billed anyway: `undelivered_charge`).
    bills_messages_on_delivery: bool,
    layout: InvoiceLayout,
    rows: &'static [HandRow],
}

const TEMPLATES: [CarrierTemplate; 4] = [
    CarrierTemplate {
        name: "acme",
        invoice_id: "ACME-2026-03",
        currency: "USD",
        invoice_currency: "USD",
        deck_currency_only: true,
        unconvertible_currency: None,
        bills_messages_on_delivery: false,
        layout: InvoiceLayout::Canonical,
        rows: &[
            (Service::Voice, "1", "0.0040", "60", "60/60", "0", "0"),
            (Service::Voice, "1212", "0.0055", "60", "6/6", "0", "0"),
            (Service::Voice, "44", "0.0120", "60", "60/6", "0.0010", "0"),
            (Service::Voice, "447", "0.0450", "60", "30/6", "0", "0"),
            (Service::Voice, "4479", "0.0520", "60", "1/1", "0", "0.0100"),
            (Service::Sms, "1", "0.0049", "1", "1/1", "0", "0"),
            (Service::Sms, "44", "0.0310", "1", "1/1", "0", "0"),
        ],
    },
    CarrierTemplate {
        name: "borealis",
        invoice_id: "BOR-2603",
        currency: "EUR",
        invoice_currency: "EUR",
        deck_currency_only: true,
        unconvertible_currency: None,
        bills_messages_on_delivery: true,
        layout: InvoiceLayout::WithInvoiceDate,
        rows: &[
            (Service::Voice, "33", "0.0150", "60", "1/1", "0", "0"),
            (Service::Voice, "336", "0.0600", "60", "30/30", "0", "0"),
            (Service::Voice, "49", "0.0110", "60", "60/1", "0.0020", "0"),
            (Service::Voice, "4915", "0.0700", "60", "60/60", "0", "0"),
            (Service::Sms, "33", "0.0550", "1", "1/1", "0", "0"),
            (Service::Sms, "49", "0.0710", "1", "1/1", "0", "0"),
        ],
    },
    CarrierTemplate {
        name: "cobalt",
        invoice_id: "COB-03-2026",
        currency: "GBP",
        // Cobalt's deck is in pounds but it invoices in euros, converted at each call's date.
        invoice_currency: "EUR",
        deck_currency_only: false,
        unconvertible_currency: None,
        bills_messages_on_delivery: true,
        layout: InvoiceLayout::WithoutRate,
        rows: &[
            (Service::Voice, "34", "0.0090", "60", "60/60", "0", "0.0050"),
            (Service::Voice, "346", "0.0300", "60", "1/1", "0.0005", "0"),
            (Service::Voice, "39", "0.0100", "60", "30/6", "0", "0"),
            (Service::Voice, "393", "0.0400", "60", "30/6", "0", "0"),
            (Service::Sms, "34", "0.0400", "1", "1/1", "0", "0"),
            (Service::Sms, "39", "0.0450", "1", "1/1", "0", "0"),
        ],
    },
    CarrierTemplate {
        name: "dynamo",
        invoice_id: "DYN/26/03",
        currency: "GBP",
        invoice_currency: "GBP",
        deck_currency_only: false,
        // Its contract converts any currency with a rate; a line in francs has none.
        unconvertible_currency: Some("CHF"),
        bills_messages_on_delivery: true,
        layout: InvoiceLayout::Reordered,
        rows: &[
            (Service::Voice, "1", "0.0035", "60", "60/60", "0", "0"),
            (Service::Voice, "44", "0.0095", "60", "1/1", "0", "0.0020"),
            (Service::Voice, "447", "0.0380", "60", "30/6", "0.0008", "0"),
            (Service::Sms, "44", "0.0290", "1", "1/1", "0", "0"),
            (Service::Data, "44", "0.0150", "1048576", "1024/1024", "0", "0"),
            (Service::Data, "1", "0.0120", "1048576", "1/1", "0", "0.0001"),
        ],
    },
];

/// Destination prefix that no deck prices (for planted `no_rate`).
const UNRATED_PREFIX: &str = "8613";
/// A currency the contracts of acme and borealis refuse (for planted `currency_mismatch`). It has
/// exchange rates like every currency of the workload, so that reports in another currency show
/// every group.
const REFUSED_CURRENCY: &str = "JPY";
/// Digits of a generated destination number (the phantom lines of planted unmatched charges use
/// longer numbers, so that no record can ever be their candidate).
const NUMBER_DIGITS: usize = 12;

/// The contract terms of the workload's first carriers (written as `contracts.csv`): acme and
/// borealis allow billing only in their deck's currency; cobalt's and dynamo's contracts have
/// the default terms.
pub fn contracts() -> HashMap<String, ContractTerms> {
    contracts_of(CARRIERS_MAX)
}

/// The contract terms of a workload of `carrier_count` carriers.
pub fn contracts_of(carrier_count: usize) -> HashMap<String, ContractTerms> {
    (0..carrier_count.min(CARRIERS_MAX))
        .filter(|index| TEMPLATES[index % TEMPLATES.len()].deck_currency_only)
        .map(|index| (carrier_name(index), ContractTerms { deck_currency_only: true, ..ContractTerms::default() }))
        .collect()
}

fn carrier_name(index: usize) -> String {
    let template = &TEMPLATES[index % TEMPLATES.len()];
    match index / TEMPLATES.len() {
        0 => template.name.to_owned(),
        round => format!("{}{}", template.name, round + 1),
    }
}

/// A carrier of the run.
struct Carrier {
    index: usize,
    name: Arc<str>,
    /// Upper-case name: the start of its references.
    reference_prefix: CompactString,
    /// Its invoice, or with [`InvoiceLayout::WithInvoiceDate`] the invoices of the first and
    /// second half of the month.
    invoice_ids: [Arc<str>; 2],
    invoice_date: Option<Date>,
    currency: Currency,
    invoice_currency: Currency,
    deck_currency_only: bool,
    unconvertible_currency: Option<Currency>,
    bills_messages_on_delivery: bool,
    layout: InvoiceLayout,
    /// The prefix of its phantom lines' numbers (its first row's).
    phantom_prefix: &'static str,
    /// Deck rows to draw destinations from, per service.
    destinations: Vec<(Service, Vec<u32>)>,
}

fn currency(code: &str) -> Currency {
    Currency::parse(code).expect("a valid currency code")
}

/// The month's bounds.
struct Month {
    start: Timestamp,
    /// When rows re-priced mid-month change.
    middle: Timestamp,
    seconds: i64,
    first_day: Date,
    day_count: i32,
}

impl Month {
    fn new(first_day: Date) -> Month {
        let first_day = first_day.first_of_month();
        let start = first_day.to_zoned(jiff::tz::TimeZone::UTC).expect("a valid month").timestamp();
        let day_count = i32::from(first_day.days_in_month());
        Month {
            start,
            middle: start + SignedDuration::from_hours(24 * 15),
            seconds: i64::from(day_count) * 86_400,
            first_day,
            day_count,
        }
    }

    /// Deck rows take effect two months before the month.
    fn deck_start(&self) -> Timestamp {
        let day = self.first_day.checked_sub(jiff::Span::new().months(2)).expect("a valid date");
        day.to_zoned(jiff::tz::TimeZone::UTC).expect("a valid date").timestamp()
    }
}

/// Generates the workload into a sink and returns what was planted, sorted (for tests and the
/// demo; the list grows with the records, so large runs use [`generate_streaming`]).
pub fn generate(config: &SimConfig, sink: &mut dyn Sink) -> Vec<Planted> {
    struct Collect<'s> {
        inner: &'s mut dyn Sink,
        planted: Vec<Planted>,
    }
    impl Sink for Collect<'_> {
        fn fx_rate(&mut self, date: Date, currency: Currency, per_eur: Decimal) {
            self.inner.fx_rate(date, currency, per_eur);
        }
        fn price_row(&mut self, row: &RateRow) {
            self.inner.price_row(row);
        }
        fn rate_row(&mut self, row: &RateRow) {
            self.inner.rate_row(row);
        }
        fn usage(&mut self, record: &UsageRecord) {
            self.inner.usage(record);
        }
        fn line(&mut self, line: &InvoiceLine) {
            self.inner.line(line);
        }
        fn invoice_layout(&mut self, carrier: &str, layout: InvoiceLayout) {
            self.inner.invoice_layout(carrier, layout);
        }
        fn planted(&mut self, planted: &Planted) {
            self.planted.push(planted.clone());
            self.inner.planted(planted);
        }
    }
    let mut collect = Collect { inner: sink, planted: Vec::new() };
    let generated = generate_streaming(config, &mut collect);
    let mut planted = collect.planted;
    // Usage of a carrier with no invoice line in the run is not reported (FORMATS.md).
    planted.retain(|planted| !generated.carriers_without_lines.contains(&planted.carrier));
    planted.sort();
    planted
}

/// Generates the workload into a sink, streaming: planted discrepancies go to
/// [`Sink::planted`] as they are decided, and memory does not grow with the records.
///
/// # Panics
/// When `config.carriers` is not within 1 to [`CARRIERS_MAX`].
pub fn generate_streaming(config: &SimConfig, sink: &mut dyn Sink) -> Generated {
    assert!((1..=CARRIERS_MAX).contains(&config.carriers), "1 to {CARRIERS_MAX} carriers");
    let mut random = SplitMix64::new(config.seed);
    let month = Month::new(config.month);
    // The decks draw from their own stream, so the usage of a seed does not depend on their size.
    let (deck, carriers) = build_deck(config, &month, &mut SplitMix64::new(config.seed ^ 0xDEC0_DEC0));
    let mut generated = Generated { rate_rows: deck.rows.len() as u64, ..Generated::default() };
    for row in &deck.rows {
        sink.rate_row(row);
    }
    for row in price_rows(&month) {
        sink.price_row(&row);
    }
    let fx = FxDays::new(&month);
    for (date, currency, per_eur) in &fx.rates {
        sink.fx_rate(*date, *currency, *per_eur);
    }
    for carrier in &carriers {
        sink.invoice_layout(&carrier.name, carrier.layout);
    }
    let customers: Vec<Arc<str>> = (0..12).map(|index| Arc::from(format!("cust{index}"))).collect();
    // Keep records an hour inside the month, so a time jitter never leaves it.
    let spread_seconds = month.seconds - 2 * 3_600;
    let mut line_numbers = vec![0_u64; carriers.len()];
    let mut generator = Generator { config, deck: &deck, fx: &fx, random: &mut random, sink, month: &month };
    let mut index = 0;
    while index < config.records {
        let carrier = &carriers[generator.random.below(carriers.len() as u64) as usize];
        // Records in time order, spread evenly over the month.
        let offset_seconds = 3_600 + (index as i128 * i128::from(spread_seconds) / config.records as i128) as i64;
        let started_at = month.start + SignedDuration::from_secs(offset_seconds);
        let customer = customers[generator.random.below(customers.len() as u64) as usize].clone();
        let records_made =
            generator.record(index, carrier, customer, started_at, &mut line_numbers[carrier.index], &mut generated);
        index += records_made;
        generated.records += records_made as u64;
    }
    for carrier in &carriers {
        if line_numbers[carrier.index] == 0 {
            generated.carriers_without_lines.push(carrier.name.clone());
        }
    }
    generated
}

/// The decks and the index the generator prices records with.
struct Deck {
    rows: Vec<RateRow>,
    /// `(carrier, service, prefix)` packed (see [`prefix_key`]) to row indexes.
    by_prefix: FxHashMap<u64, Vec<u32>>,
    prefix_length_max: usize,
}

fn prefix_key(carrier_index: usize, service: Service, prefix_digits: &[u8]) -> u64 {
    let mut value: u64 = 0;
    for digit in prefix_digits {
        value = value * 10 + u64::from(digit - b'0');
    }
    // Digits (< 10^15 < 2^50), length (4 bits), service (3 bits), carrier (6 bits).
    debug_assert!(prefix_digits.len() <= 15);
    value | ((prefix_digits.len() as u64) << 50) | ((service as u64) << 54) | ((carrier_index as u64) << 57)
}

impl Deck {
    /// The row that prices a record: the longest prefix with a row in force, then the latest
    /// `effective_from` (FORMATS.md, "Rating one record"), found by hashing each prefix of the
    /// digits rather than by the engine's trie.
    fn find(&self, carrier_index: usize, service: Service, digits: &str, at: Timestamp) -> Option<&RateRow> {
        let digits = digits.as_bytes();
        for length in (1..=digits.len().min(self.prefix_length_max)).rev() {
            let Some(indexes) = self.by_prefix.get(&prefix_key(carrier_index, service, &digits[..length])) else {
                continue;
            };
            let best = indexes
                .iter()
                .map(|&index| &self.rows[index as usize])
                .filter(|row| row.effective_from <= at && row.effective_to.is_none_or(|to| at < to))
                .max_by_key(|row| row.effective_from);
            if best.is_some() {
                return best;
            }
        }
        None
    }
}

/// Country codes the generated decks extend (not 86: its `8613` is the unrated prefix).
const COUNTRY_CODES: [&str; 72] = [
    "1", "7", "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45", "46", "47", "48",
    "49", "51", "52", "54", "55", "56", "57", "58", "60", "61", "62", "63", "64", "65", "66", "81", "82", "84", "90",
    "91", "92", "94", "212", "213", "216", "234", "254", "255", "256", "351", "352", "353", "354", "356", "357", "358",
    "359", "370", "371", "372", "380", "381", "385", "386", "420", "421", "852", "886", "966", "971", "972", "974",
    "995",
];

const VOICE_INCREMENTS: [&str; 5] = ["60/60", "1/1", "30/6", "60/1", "6/6"];

fn build_deck(config: &SimConfig, month: &Month, random: &mut SplitMix64) -> (Deck, Vec<Carrier>) {
    let deck_start = month.deck_start();
    let mut rows = Vec::new();
    let mut carriers = Vec::new();
    let invoice_date =
        month.first_day.checked_add(jiff::Span::new().days(i64::from(month.day_count) + 2)).expect("a valid date");
    for index in 0..config.carriers {
        let template = &TEMPLATES[index % TEMPLATES.len()];
        let name = carrier_name(index);
        let deck_currency = currency(template.currency);
        let row = |service: Service, prefix: String, rate: Decimal, unit: Decimal, increments: &str| RateRow {
            carrier: name.clone(),
            service,
            destination_name: Some(format!("{} {prefix}", service.as_str())),
            prefix,
            rate,
            currency: deck_currency,
            rate_unit: unit,
            increments: Increments::parse(increments).expect("valid"),
            connect_fee: Decimal::ZERO,
            min_charge: Decimal::ZERO,
            per_record_fee: Decimal::ZERO,
            conditions: Default::default(),
            rules: PriceRules {
                billed_on: (template.bills_messages_on_delivery && BilledOn::applies_to(service))
                    .then_some(BilledOn::Delivered),
                ..PriceRules::default()
            },
            tiers: None,
            effective_from: deck_start,
            effective_to: None,
        };
        let first_row = rows.len();
        let mut taken = HashSet::new();
        for &(service, prefix, rate, rate_unit, increments, connect_fee, min_charge) in template.rows {
            let mut hand_row = row(
                service,
                prefix.to_owned(),
                rate.parse().expect("valid"),
                rate_unit.parse().expect("valid"),
                increments,
            );
            hand_row.connect_fee = connect_fee.parse().expect("valid");
            hand_row.min_charge = min_charge.parse().expect("valid");
            taken.insert((service, prefix.to_owned()));
            rows.push(hand_row);
        }
        // Country codes, then their ranges (`44`, `447`, `4479`, `44790`, ...), visited round
        // robin so every country gets some; voice mostly, then SMS, then data.
        let mut generated_count = 0;
        let mut extension_length = 0_u32;
        'deck: while generated_count < config.prefixes_per_carrier {
            for country in COUNTRY_CODES {
                for extension in 0..10_u64.pow(extension_length) {
                    if generated_count >= config.prefixes_per_carrier {
                        break 'deck;
                    }
                    // Not every range exists in every country.
                    if extension_length >= 2 && random.chance(400) {
                        continue;
                    }
                    let prefix = if extension_length == 0 {
                        country.to_owned()
                    } else {
                        format!("{country}{extension:0width$}", width = extension_length as usize)
                    };
                    let service = match random.below(10) {
                        0..=6 => Service::Voice,
                        7 | 8 => Service::Sms,
                        _ => Service::Data,
                    };
                    if !taken.insert((service, prefix.clone())) {
                        continue;
                    }
                    let mut new_row = match service {
                        Service::Sms => {
                            row(service, prefix, Decimal::new(40 + random.below(800) as i64, 4), Decimal::ONE, "1/1")
                        }
                        Service::Data => row(
                            service,
                            prefix,
                            Decimal::new(10 + random.below(490) as i64, 4),
                            Decimal::from(1_048_576),
                            if random.chance(500) { "1024/1024" } else { "1/1" },
                        ),
                        _ => row(
                            service,
                            prefix,
                            Decimal::new(50 + random.below(2_450) as i64, 4),
                            Decimal::from(60),
                            random.pick::<&str>(&VOICE_INCREMENTS),
                        ),
                    };
                    if service == Service::Voice && random.chance(100) {
                        new_row.connect_fee = Decimal::new(5 + random.below(20) as i64, 4);
                    }
                    if random.chance(100) {
                        new_row.min_charge = Decimal::new(10 + random.below(90) as i64, 4);
                    }
                    // A few ranges are re-priced mid-month: the old row ends where the new starts.
                    if random.chance(30) {
                        let mut repriced = new_row.clone();
                        repriced.rate = (new_row.rate * Decimal::new(11, 1))
                            .round_dp_with_strategy(4, RoundingStrategy::MidpointAwayFromZero);
                        repriced.effective_from = month.middle;
                        new_row.effective_to = Some(month.middle);
                        rows.push(new_row);
                        rows.push(repriced);
                    } else {
                        rows.push(new_row);
                    }
                    generated_count += 1;
                }
            }
            extension_length += 1;
        }
        let mut destinations: Vec<(Service, Vec<u32>)> = Vec::new();
        for (offset, candidate) in rows[first_row..].iter().enumerate() {
            // One entry per prefix (a re-priced prefix has two rows).
            if candidate.effective_from != deck_start {
                continue;
            }
            let row_index = (first_row + offset) as u32;
            match destinations.iter_mut().find(|(service, _)| *service == candidate.service) {
                Some((_, indexes)) => indexes.push(row_index),
                None => destinations.push((candidate.service, vec![row_index])),
            }
        }
        let reference_prefix = CompactString::from(name.to_uppercase());
        let invoice_ids = if template.layout == InvoiceLayout::WithInvoiceDate {
            [format!("{}-A", template.invoice_id).into(), format!("{}-B", template.invoice_id).into()]
        } else {
            let id: Arc<str> = template.invoice_id.into();
            [id.clone(), id]
        };
        let invoice_ids = if index < TEMPLATES.len() {
            invoice_ids
        } else {
            invoice_ids.map(|id| Arc::from(format!("{id}-{}", index / TEMPLATES.len() + 1)))
        };
        carriers.push(Carrier {
            index,
            name: name.as_str().into(),
            reference_prefix,
            invoice_ids,
            invoice_date: (template.layout == InvoiceLayout::WithInvoiceDate).then_some(invoice_date),
            currency: deck_currency,
            invoice_currency: currency(template.invoice_currency),
            deck_currency_only: template.deck_currency_only,
            bills_messages_on_delivery: template.bills_messages_on_delivery,
            unconvertible_currency: template.unconvertible_currency.map(currency),
            layout: template.layout,
            phantom_prefix: template.rows[0].1,
            destinations,
        });
    }
    let mut by_prefix: FxHashMap<u64, Vec<u32>> = FxHashMap::default();
    let mut prefix_length_max = 0;
    let carrier_indexes: HashMap<&str, usize> =
        carriers.iter().map(|carrier| (&*carrier.name, carrier.index)).collect();
    for (index, row) in rows.iter().enumerate() {
        prefix_length_max = prefix_length_max.max(row.prefix.len());
        by_prefix
            .entry(prefix_key(carrier_indexes[row.carrier.as_str()], row.service, row.prefix.as_bytes()))
            .or_default()
            .push(index as u32);
    }
    (Deck { rows, by_prefix, prefix_length_max }, carriers)
}

/// Exchange rates for the month (and the week before) on business days only (as the ECB
/// publishes them), so that weekend records fall back to Friday's rate, with each day's rate
/// in force looked up in advance.
struct FxDays {
    rates: Vec<(Date, Currency, Decimal)>,
    /// Per day of the month (index 0: the first), the units per EUR of each currency in force.
    per_eur_by_day: Vec<Vec<(Currency, Decimal)>>,
}

impl FxDays {
    fn new(month: &Month) -> FxDays {
        let mut rates = Vec::new();
        // Start the week before, as the ECB file would (the month may start on a weekend).
        let first = month.first_day.checked_sub(jiff::Span::new().days(6)).expect("valid date");
        for day in 0..month.day_count + 6 {
            let date = first.checked_add(jiff::Span::new().days(day)).expect("valid date");
            if matches!(date.weekday(), jiff::civil::Weekday::Saturday | jiff::civil::Weekday::Sunday) {
                continue;
            }
            let step = Decimal::from(day);
            rates.push((date, currency("USD"), Decimal::new(10800, 4) + step * Decimal::new(1, 4)));
            rates.push((date, currency("GBP"), Decimal::new(8500, 4) - step * Decimal::new(1, 4)));
            rates.push((date, currency(REFUSED_CURRENCY), Decimal::new(16200, 2) + step / Decimal::TEN));
        }
        let per_eur_by_day = (0..month.day_count)
            .map(|day| {
                let date = month.first_day.checked_add(jiff::Span::new().days(day)).expect("valid date");
                let mut in_force: Vec<(Currency, Decimal)> = Vec::new();
                for (rate_date, code, per_eur) in &rates {
                    if *rate_date > date {
                        continue;
                    }
                    match in_force.iter_mut().find(|(known, _)| known == code) {
                        Some(entry) => entry.1 = *per_eur, // rates are in date order
                        None => in_force.push((*code, *per_eur)),
                    }
                }
                in_force
            })
            .collect();
        FxDays { rates, per_eur_by_day }
    }

    /// Converts a cost at the rates of the instant's UTC date through EUR, rounded like a cost.
    fn convert(&self, month: &Month, amount: Decimal, from: Currency, to: Currency, at: Timestamp) -> Decimal {
        if from == to {
            return amount;
        }
        let day = (at.duration_since(month.start).as_secs() / 86_400) as usize;
        let per_eur = |code: Currency| -> Decimal {
            if code == Currency::EUR {
                return Decimal::ONE;
            }
            self.per_eur_by_day[day].iter().find(|(known, _)| *known == code).expect("a rate every day").1
        };
        (amount * per_eur(to) / per_eur(from)).round_dp_with_strategy(6, RoundingStrategy::MidpointAwayFromZero)
    }
}

/// Customer price plans in EUR: a default plan (`*`) with a markup on the dearest carrier's
/// rate per prefix, but no rows for premium ranges (priced by their shorter prefix, often below
/// cost) nor for SMS to Italy (no price at all), and `cust0`'s discount on UK calls.
fn price_rows(month: &Month) -> Vec<RateRow> {
    let plan = [
        (Service::Voice, "1", "0.0060"),
        (Service::Voice, "44", "0.0180"),
        (Service::Voice, "447", "0.0600"),
        (Service::Voice, "33", "0.0200"),
        (Service::Voice, "336", "0.0750"),
        (Service::Voice, "49", "0.0150"),
        (Service::Voice, "34", "0.0150"),
        (Service::Voice, "39", "0.0150"),
        (Service::Sms, "1", "0.0070"),
        (Service::Sms, "44", "0.0400"),
        (Service::Sms, "33", "0.0700"),
        (Service::Sms, "49", "0.0900"),
        (Service::Sms, "34", "0.0550"),
    ];
    let row = |customer: &str, service: Service, prefix: &str, rate: &str| RateRow {
        carrier: customer.to_owned(),
        service,
        prefix: prefix.to_owned(),
        destination_name: None,
        rate: rate.parse().expect("valid"),
        currency: Currency::EUR,
        rate_unit: service.default_rate_unit(),
        increments: if service == Service::Voice {
            Increments::parse("60/60").expect("valid")
        } else {
            Increments::PER_UNIT
        },
        connect_fee: Decimal::ZERO,
        min_charge: Decimal::ZERO,
        per_record_fee: Decimal::ZERO,
        conditions: Default::default(),
        rules: Default::default(),
        tiers: None,
        effective_from: month.deck_start(),
        effective_to: None,
    };
    let mut rows: Vec<RateRow> = plan.iter().map(|(service, prefix, rate)| row("*", *service, prefix, rate)).collect();
    rows.push(row("cust0", Service::Voice, "44", "0.0090"));
    rows
}

/// `(billed quantity, cost)` of a measured quantity under a row (FORMATS.md, "Rating one
/// record"): the closed form of [`crate::model::cost`]'s loop, which would take a million steps
/// for a megabyte billed per byte.
fn price(row: &RateRow, quantity: Decimal) -> (Decimal, Decimal) {
    if quantity == Decimal::ZERO {
        return (Decimal::ZERO, Decimal::ZERO);
    }
    let Increments { first, next } = row.increments;
    let billed = if quantity <= first { first } else { first + ((quantity - first) / next).ceil() * next };
    let amount = (row.connect_fee + row.rate * billed / row.rate_unit).max(row.min_charge);
    (billed, amount.round_dp_with_strategy(6, RoundingStrategy::MidpointAwayFromZero))
}

struct Generator<'g> {
    config: &'g SimConfig,
    deck: &'g Deck,
    fx: &'g FxDays,
    random: &'g mut SplitMix64,
    sink: &'g mut dyn Sink,
    month: &'g Month,
}

/// How the carrier bills a record it carried: its price under our deck, in the invoice's
/// currency.
#[derive(Clone, Copy, PartialEq)]
struct Priced {
    rate: Decimal,
    billed: Decimal,
    /// In the invoice's currency.
    amount: Decimal,
}

impl Generator<'_> {
    /// Generates one record (two for a repeat call) with its lines; returns the records made.
    fn record(
        &mut self,
        index: usize,
        carrier: &Carrier,
        customer: Arc<str>,
        started_at: Timestamp,
        line_number: &mut u64,
        generated: &mut Generated,
    ) -> usize {
        let config = self.config;
        let random = &mut *self.random;
        let plant = !config.planted_kinds.is_empty() && random.chance(config.discrepancies_per_mille);
        let planted_kind = plant.then(|| *random.pick(&config.planted_kinds));
        // Calls mostly, then messages, a few data sessions where the deck prices them; a
        // charge for an undelivered message needs a message.
        let wanted = match random.below(100) {
            _ if planted_kind == Some(DiscrepancyKind::UndeliveredCharge) && carrier.bills_messages_on_delivery => {
                Service::Sms
            }
            0..=64 => Service::Voice,
            65..=94 => Service::Sms,
            _ => Service::Data,
        };
        let (service, rows) =
            carrier.destinations.iter().find(|(service, _)| *service == wanted).unwrap_or(&carrier.destinations[0]);
        let prefix = &self.deck.rows[*random.pick(rows) as usize].prefix;
        let quantity = match service {
            _ if random.chance(config.unanswered_per_mille) => Decimal::ZERO,
            Service::Sms => Decimal::from(1 + random.below(3)),
            Service::Data => Decimal::from(1 + random.below(20_000_000)),
            // Calls of 1 s to 20 min, a third of them with tenths of a second.
            _ if random.chance(333) => Decimal::new(10 + random.below(12_000) as i64, 1),
            _ => Decimal::from(1 + random.below(1_200)),
        };
        let has_reference = !random.chance(config.without_reference_per_mille);
        let subscriber_digits = NUMBER_DIGITS.saturating_sub(prefix.len()).max(1);
        let subscriber = random.below(10_u64.pow(subscriber_digits as u32));
        let mut record = UsageRecord {
            record_id: format_compact!("u{index:08}"),
            service: *service,
            carrier: carrier.name.clone(),
            carrier_ref: has_reference.then(|| format_compact!("{}{index:08}", carrier.reference_prefix)),
            customer: Some(customer),
            started_at,
            origin: None,
            destination: Destination::parse(&format_compact!("{prefix}{subscriber:0subscriber_digits$}"))
                .expect("digits"),
            quantity,
            network: None,
            status: None,
        };
        let mut kind = if record.quantity > Decimal::ZERO { planted_kind } else { None };
        let same_currency = carrier.currency == carrier.invoice_currency;
        if kind == Some(DiscrepancyKind::RateMismatch) && (!same_currency || !carrier.layout.has_rate()) {
            // Across currencies the rate is not compared, and some invoices give none: a wrong
            // rate shows in the amount.
            kind = Some(DiscrepancyKind::AmountMismatch);
        }
        if kind == Some(DiscrepancyKind::CurrencyMismatch)
            && !carrier.deck_currency_only
            && carrier.unconvertible_currency.is_none()
        {
            // Its contract converts any currency with a rate: a foreign line is just wrong.
            kind = Some(DiscrepancyKind::AmountMismatch);
        }
        let on_delivery = carrier.bills_messages_on_delivery
            && BilledOn::applies_to(record.service)
            && record.quantity > Decimal::ZERO;
        if kind == Some(DiscrepancyKind::UndeliveredCharge) && !on_delivery {
            kind = Some(DiscrepancyKind::AmountMismatch);
        }
        if on_delivery {
            record.status = match kind {
                // Billed although its receipt says it failed.
                Some(DiscrepancyKind::UndeliveredCharge) => Some(DeliveryStatus::Failed),
                Some(_) => Some(DeliveryStatus::Delivered),
                // Mostly delivered; some without a receipt or an inconclusive one (billed all the
                // same); a few undelivered, which the carrier rightly does not bill.
                None => match random.below(100) {
                    0..=79 => Some(DeliveryStatus::Delivered),
                    80..=87 => None,
                    88..=91 => Some(DeliveryStatus::Unknown),
                    92..=95 => Some(DeliveryStatus::Failed),
                    96 | 97 => Some(DeliveryStatus::Expired),
                    _ => Some(DeliveryStatus::Rejected),
                },
            };
        }
        if kind == Some(DiscrepancyKind::NoRate) {
            record.destination =
                Destination::parse(&format_compact!("{UNRATED_PREFIX}{:07}", random.below(10_000_000)))
                    .expect("digits");
        }
        // Contention without a discrepancy: a line whose reference names our record but whose
        // number the carrier wrote differently, or (below) a repeat call.
        let contention = kind.is_none() && random.chance(config.contention_per_mille);
        let other_number = contention && record.carrier_ref.is_some() && random.chance(500);
        let line_destination = other_number.then(|| {
            let mut digits = CompactString::from(record.destination.digits());
            let last = digits.pop().expect("digits") as u8 - b'0';
            digits.push(char::from(b'0' + (last + 1) % 10));
            Destination::parse(&digits).expect("digits")
        });
        self.sink.usage(&record);
        let priced = self.priced(carrier, &record);
        let emitted = self.emit_lines(carrier, &record, kind, priced, line_number, line_destination);
        generated.lines += emitted.line_count;
        if let Some(kind) = kind {
            if emitted.planted || kind == DiscrepancyKind::UnbilledUsage {
                generated.planted_counts[kind.precedence()] += 1;
                self.sink.planted(&Planted {
                    carrier: carrier.name.clone(),
                    line_id: emitted.line_id,
                    record_id: (kind != DiscrepancyKind::UnmatchedCharge).then(|| record.record_id.clone()),
                    kind,
                });
            }
            return 1;
        }
        match priced {
            // A repeat call to the same number within a minute, billed alike: its line and the
            // first's may take each other's record by time, with no discrepancy either way.
            Some(priced) if contention && !other_number && priced.amount > Decimal::ZERO => {
                1 + self.twin(index, carrier, &record, priced, line_number, generated)
            }
            _ => 1,
        }
    }

    /// A second record to the same number a few seconds after `first`, the same quantity and
    /// price, with its line. Returns 1, or 0 when the record count is reached or the twin would
    /// be priced differently.
    fn twin(
        &mut self,
        index: usize,
        carrier: &Carrier,
        first: &UsageRecord,
        first_priced: Priced,
        line_number: &mut u64,
        generated: &mut Generated,
    ) -> usize {
        let twin_index = index + 1;
        if twin_index >= self.config.records {
            return 0;
        }
        let mut twin = first.clone();
        twin.record_id = format_compact!("u{twin_index:08}");
        twin.carrier_ref =
            first.carrier_ref.as_ref().map(|_| format_compact!("{}{twin_index:08}", carrier.reference_prefix));
        twin.started_at = first.started_at + SignedDuration::from_secs(5 + self.random.below(36) as i64);
        let priced = self.priced(carrier, &twin);
        if priced != Some(first_priced) {
            return 0; // across a re-pricing or an exchange-rate change: not a harmless twin
        }
        self.sink.usage(&twin);
        let emitted = self.emit_lines(carrier, &twin, None, priced, line_number, None);
        generated.lines += emitted.line_count;
        1
    }

    fn priced(&self, carrier: &Carrier, record: &UsageRecord) -> Option<Priced> {
        let row = self.deck.find(carrier.index, record.service, record.destination.digits(), record.started_at)?;
        let (billed, cost) = price(row, record.quantity);
        let amount = self.fx.convert(self.month, cost, carrier.currency, carrier.invoice_currency, record.started_at);
        Some(Priced { rate: row.rate, billed, amount })
    }

    fn line(
        &self,
        carrier: &Carrier,
        record: &UsageRecord,
        line_number: &mut u64,
        started_at: Timestamp,
    ) -> InvoiceLine {
        *line_number += 1;
        let half = usize::from(started_at >= self.month.middle);
        InvoiceLine {
            carrier: carrier.name.clone(),
            invoice_id: carrier.invoice_ids[half].clone(),
            invoice_date: carrier.invoice_date,
            line_id: format_compact!("{line_number}"),
            carrier_ref: record.carrier_ref.clone(),
            service: record.service,
            started_at,
            destination: record.destination.clone(),
            quantity: Decimal::ZERO,
            rate: None,
            amount: Decimal::ZERO,
            currency: carrier.invoice_currency,
        }
    }

    /// Emits the lines for the record with the planted kind, if any.
    fn emit_lines(
        &mut self,
        carrier: &Carrier,
        record: &UsageRecord,
        kind: Option<DiscrepancyKind>,
        priced: Option<Priced>,
        line_number: &mut u64,
        line_destination: Option<Destination>,
    ) -> Emitted {
        // Lines without a reference were recorded by the carrier a few seconds off ours.
        let jitter = if record.carrier_ref.is_none() { self.random.below(41) as i64 - 20 } else { 0 };
        let started_at = record.started_at + SignedDuration::from_secs(jitter);
        let nothing = Emitted { line_id: None, planted: false, line_count: 0 };
        match (kind, priced) {
            (Some(DiscrepancyKind::UnbilledUsage), _) => return nothing,
            (Some(DiscrepancyKind::NoRate), _) => {
                let mut line = self.line(carrier, record, line_number, started_at);
                line.quantity = record.quantity.ceil();
                line.amount = Decimal::new(3, 2);
                let line_id = line.line_id.clone();
                self.sink.line(&line);
                return Emitted { line_id: Some(line_id), planted: true, line_count: 1 };
            }
            (_, None) => return nothing,
            (_, Some(_)) if record.quantity == Decimal::ZERO => return nothing,
            // A message its receipt proves undelivered, on a deck that bills on delivery: not
            // billed, unless planted.
            (kind, Some(_))
                if carrier.bills_messages_on_delivery
                    && record.status.is_some_and(DeliveryStatus::is_undelivered)
                    && kind != Some(DiscrepancyKind::UndeliveredCharge) =>
            {
                return nothing
            }
            _ => {}
        }
        let Priced { rate, billed, amount: cost } = priced.expect("matched above");
        let mut line = self.line(carrier, record, line_number, started_at);
        if let Some(destination) = line_destination {
            line.destination = destination;
        }
        let same_currency = carrier.currency == carrier.invoice_currency;
        line.quantity = billed;
        line.rate = (same_currency && carrier.layout.has_rate()).then_some(rate);
        line.amount = cost;
        let mut planted_line = None;
        let mut line_count = 1;
        match kind {
            Some(DiscrepancyKind::QuantityMismatch) => {
                // Billed a block too many, priced consistently for it.
                line.quantity = billed + Decimal::from(60);
                line.amount = cost + rate;
                planted_line = Some(line.line_id.clone());
            }
            Some(DiscrepancyKind::RateMismatch) => {
                let wrong_rate = rate + Decimal::new(1, 3);
                line.rate = Some(wrong_rate);
                line.amount = cost + Decimal::new(1, 3);
                planted_line = Some(line.line_id.clone());
            }
            Some(DiscrepancyKind::AmountMismatch) => {
                line.amount = cost + Decimal::new(1, 2);
                planted_line = Some(line.line_id.clone());
            }
            // Billed as if delivered.
            Some(DiscrepancyKind::UndeliveredCharge) => planted_line = Some(line.line_id.clone()),
            Some(DiscrepancyKind::CurrencyMismatch) => {
                line.rate = None;
                if carrier.deck_currency_only {
                    line.currency = currency(REFUSED_CURRENCY);
                    line.amount =
                        (cost * Decimal::from(160)).round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
                } else {
                    line.currency = carrier.unconvertible_currency.expect("checked when planting");
                    line.amount = cost;
                }
                planted_line = Some(line.line_id.clone());
            }
            _ => {}
        }
        self.sink.line(&line);
        if kind == Some(DiscrepancyKind::UnmatchedCharge) {
            // Beside the real line, a phantom call to a number we never dialled.
            let mut phantom = self.line(carrier, record, line_number, started_at + SignedDuration::from_secs(7));
            phantom.carrier_ref = phantom.carrier_ref.map(|reference| format_compact!("PH{reference}"));
            phantom.destination = Destination::parse(&format_compact!(
                "{}{:0width$}",
                carrier.phantom_prefix,
                0,
                width = NUMBER_DIGITS + 2 - carrier.phantom_prefix.len()
            ))
            .expect("digits");
            phantom.quantity = Decimal::from(120);
            phantom.amount = Decimal::new(25, 3);
            planted_line = Some(phantom.line_id.clone());
            self.sink.line(&phantom);
            line_count += 1;
        }
        if kind == Some(DiscrepancyKind::DuplicateCharge) {
            let mut repeat = line.clone();
            *line_number += 1;
            repeat.line_id = format_compact!("{line_number}");
            planted_line = Some(repeat.line_id.clone());
            self.sink.line(&repeat);
            line_count += 1;
        }
        Emitted { planted: planted_line.is_some(), line_id: planted_line, line_count }
    }
}

struct Emitted {
    /// The line that carries the planted discrepancy.
    line_id: Option<CompactString>,
    /// Whether the planted kind was really produced (some need a rate to exist).
    planted: bool,
    line_count: u64,
}
