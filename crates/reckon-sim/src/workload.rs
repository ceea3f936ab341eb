//! The workload: carriers with rate decks, a month of usage, and each carrier's invoice for it,
//! with discrepancies planted at a chosen rate.

use crate::model;
use crate::random::SplitMix64;
use jiff::civil::Date;
use jiff::SignedDuration;
use reckon_core::contract::ContractTerms;
use reckon_core::{
    CompactString, Currency, Decimal, Destination, DiscrepancyKind, Increments, InvoiceLine, RateRow, Service,
    Timestamp, UsageRecord,
};
use std::collections::HashMap;
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
    /// The kinds of discrepancy to plant, drawn evenly.
    pub planted_kinds: Vec<DiscrepancyKind>,
}

impl Default for SimConfig {
    fn default() -> SimConfig {
        SimConfig {
            seed: 7,
            records: 2_000,
            discrepancies_per_mille: 40,
            unanswered_per_mille: 50,
            without_reference_per_mille: 200,
            planted_kinds: DiscrepancyKind::ALL.to_vec(),
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

/// Receives what the generator produces, in order.
pub trait Sink {
    fn fx_rate(&mut self, date: Date, currency: Currency, per_eur: Decimal);
    fn price_row(&mut self, row: &RateRow);
    fn rate_row(&mut self, row: &RateRow);
    fn usage(&mut self, record: &UsageRecord);
    fn line(&mut self, line: &InvoiceLine);
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

struct CarrierPlan {
    name: &'static str,
    invoice_id: &'static str,
    /// The deck's currency.
    currency: &'static str,
    /// The currency the carrier invoices in (another than the deck's for one carrier).
    invoice_currency: &'static str,
    /// The contract allows billing only in the deck's currency (contracts.csv
    /// `deck_currency_only`): a line in another currency is a `currency_mismatch`, though every
    /// currency of the workload has exchange rates.
    deck_currency_only: bool,
    /// `(service, prefix, rate, rate_unit, increments, connect_fee, min_charge)`
    rows: &'static [(Service, &'static str, &'static str, &'static str, &'static str, &'static str, &'static str)],
}

const CARRIERS: [CarrierPlan; 3] = [
    CarrierPlan {
        name: "acme",
        invoice_id: "ACME-2026-03",
        currency: "USD",
        invoice_currency: "USD",
        deck_currency_only: true,
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
    CarrierPlan {
        name: "borealis",
        invoice_id: "BOR-2603",
        currency: "EUR",
        invoice_currency: "EUR",
        deck_currency_only: true,
        rows: &[
            (Service::Voice, "33", "0.0150", "60", "1/1", "0", "0"),
            (Service::Voice, "336", "0.0600", "60", "30/30", "0", "0"),
            (Service::Voice, "49", "0.0110", "60", "60/1", "0.0020", "0"),
            (Service::Voice, "4915", "0.0700", "60", "60/60", "0", "0"),
            (Service::Sms, "33", "0.0550", "1", "1/1", "0", "0"),
            (Service::Sms, "49", "0.0710", "1", "1/1", "0", "0"),
        ],
    },
    CarrierPlan {
        name: "cobalt",
        invoice_id: "COB-03-2026",
        currency: "GBP",
        // Cobalt's deck is in pounds but it invoices in euros, converted at each call's date.
        invoice_currency: "EUR",
        deck_currency_only: false,
        rows: &[
            (Service::Voice, "34", "0.0090", "60", "60/60", "0", "0.0050"),
            (Service::Voice, "346", "0.0300", "60", "1/1", "0.0005", "0"),
            (Service::Voice, "39", "0.0100", "60", "30/6", "0", "0"),
            (Service::Voice, "393", "0.0400", "60", "30/6", "0", "0"),
            (Service::Sms, "34", "0.0400", "1", "1/1", "0", "0"),
            (Service::Sms, "39", "0.0450", "1", "1/1", "0", "0"),
        ],
    },
];

/// Destination prefix that no deck prices (for planted `no_rate`).
const UNRATED_PREFIX: &str = "8613";
/// A currency the contracts of acme and borealis refuse (for planted `currency_mismatch`). It has
/// exchange rates like every currency of the workload, so that reports in another currency show
/// every group.
const REFUSED_CURRENCY: &str = "JPY";

/// The contract terms of the workload's carriers (written as `contracts.csv`): acme and borealis
/// allow billing only in their deck's currency; cobalt's contract has the default terms.
pub fn contracts() -> HashMap<String, ContractTerms> {
    CARRIERS
        .iter()
        .filter(|carrier| carrier.deck_currency_only)
        .map(|carrier| {
            (carrier.name.to_owned(), ContractTerms { deck_currency_only: true, ..ContractTerms::default() })
        })
        .collect()
}

/// Generates the workload into a sink and returns what was planted, sorted.
pub fn generate(config: &SimConfig, sink: &mut dyn Sink) -> Vec<Planted> {
    let mut random = SplitMix64::new(config.seed);
    let deck = deck_rows();
    for row in &deck {
        sink.rate_row(row);
    }
    for row in price_rows() {
        sink.price_row(&row);
    }
    let fx = fx_rates();
    for (date, currency, per_eur) in &fx {
        sink.fx_rate(*date, *currency, *per_eur);
    }
    let month_start: Timestamp = "2026-03-01T00:00:00Z".parse().expect("valid");
    // Keep records an hour inside the month, so a time jitter never leaves it.
    let month_seconds = 31 * 86_400 - 2 * 3_600;
    let mut planted = Vec::new();
    let mut line_numbers = [0_u64; CARRIERS.len()];
    for index in 0..config.records {
        let carrier_index = random.below(CARRIERS.len() as u64) as usize;
        let carrier = &CARRIERS[carrier_index];
        let started_at = month_start + SignedDuration::from_secs(3_600 + random.below(month_seconds) as i64);
        let mut plan = RecordPlan::new(&mut random, config, index, carrier, started_at);
        let plant = !config.planted_kinds.is_empty() && random.chance(config.discrepancies_per_mille);
        let mut kind = if plan.record.quantity > Decimal::ZERO && plant {
            Some(*random.pick(&config.planted_kinds))
        } else {
            None
        };
        if kind == Some(DiscrepancyKind::RateMismatch) && carrier.invoice_currency != carrier.currency {
            // Across currencies the rate is not compared; a wrong rate shows in the amount.
            kind = Some(DiscrepancyKind::AmountMismatch);
        }
        if kind == Some(DiscrepancyKind::CurrencyMismatch) && !carrier.deck_currency_only {
            // Its contract converts any currency with a rate: a foreign line is just wrong.
            kind = Some(DiscrepancyKind::AmountMismatch);
        }
        if kind == Some(DiscrepancyKind::NoRate) {
            plan.record.destination =
                Destination::parse(&format!("{UNRATED_PREFIX}{:07}", random.below(10_000_000))).expect("digits");
        }
        sink.usage(&plan.record);
        let priced =
            model::find_row(&deck, carrier.name, plan.record.service, plan.record.destination.digits(), started_at)
                .map(|row| {
                    let (billed, cost) = model::cost(row, plan.record.quantity);
                    (
                        row.rate,
                        (billed, model::convert(&fx, cost, carrier.currency, carrier.invoice_currency, started_at)),
                    )
                });
        let emitted = plan.emit_lines(&mut random, kind, priced, &mut line_numbers[carrier_index], sink);
        if let Some(kind) = kind {
            if emitted.planted || kind == DiscrepancyKind::UnbilledUsage {
                planted.push(Planted {
                    carrier: carrier.name.into(),
                    line_id: emitted.line_id,
                    record_id: (kind != DiscrepancyKind::UnmatchedCharge).then(|| plan.record.record_id.clone()),
                    kind,
                });
            }
        }
    }
    // Usage of a carrier with no invoice line in the run is not reported (FORMATS.md).
    planted.retain(|planted| {
        let carrier_index =
            CARRIERS.iter().position(|carrier| *carrier.name == *planted.carrier).expect("known carrier");
        line_numbers[carrier_index] > 0
    });
    planted.sort();
    planted
}

/// Exchange rates for March 2026 (and the week before) on business days only (as the ECB publishes them), so that
/// weekend records fall back to Friday's rate.
fn fx_rates() -> Vec<(Date, Currency, Decimal)> {
    let mut rates = Vec::new();
    // March 1st 2026 is a Sunday: start the week before, as the ECB file would.
    let first = jiff::civil::date(2026, 2, 23);
    for day in 0..37_i32 {
        let date = first.checked_add(jiff::Span::new().days(day)).expect("valid date");
        if matches!(date.weekday(), jiff::civil::Weekday::Saturday | jiff::civil::Weekday::Sunday) {
            continue;
        }
        let step = Decimal::from(day);
        rates.push((date, Currency::parse("USD").expect("valid"), Decimal::new(10800, 4) + step * Decimal::new(1, 4)));
        rates.push((date, Currency::parse("GBP").expect("valid"), Decimal::new(8500, 4) - step * Decimal::new(1, 4)));
        rates.push((
            date,
            Currency::parse(REFUSED_CURRENCY).expect("valid"),
            Decimal::new(16200, 2) + step / Decimal::TEN,
        ));
    }
    rates
}

/// Customer price plans in EUR: a default plan (`*`) with a markup on the dearest carrier's
/// rate per prefix, but no rows for premium ranges (priced by their shorter prefix, often below
/// cost) nor for SMS to Italy (no price at all), and `cust0`'s discount on UK calls.
fn price_rows() -> Vec<RateRow> {
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
        effective_from: "2026-01-01T00:00:00Z".parse().expect("valid"),
        effective_to: None,
    };
    let mut rows: Vec<RateRow> = plan.iter().map(|(service, prefix, rate)| row("*", *service, prefix, rate)).collect();
    rows.push(row("cust0", Service::Voice, "44", "0.0090"));
    rows
}

fn deck_rows() -> Vec<RateRow> {
    let mut rows = Vec::new();
    for carrier in &CARRIERS {
        for &(service, prefix, rate, rate_unit, increments, connect_fee, min_charge) in carrier.rows {
            rows.push(RateRow {
                carrier: carrier.name.to_owned(),
                service,
                prefix: prefix.to_owned(),
                destination_name: Some(format!("{} {prefix}", service.as_str())),
                rate: rate.parse().expect("valid"),
                currency: Currency::parse(carrier.currency).expect("valid"),
                rate_unit: rate_unit.parse().expect("valid"),
                increments: Increments::parse(increments).expect("valid"),
                connect_fee: connect_fee.parse().expect("valid"),
                min_charge: min_charge.parse().expect("valid"),
                per_record_fee: Decimal::ZERO,
                conditions: Default::default(),
                rules: Default::default(),
                tiers: None,
                effective_from: "2026-01-01T00:00:00Z".parse().expect("valid"),
                effective_to: None,
            });
        }
    }
    rows
}

/// One usage record and the invoice lines planned for it.
struct RecordPlan<'c> {
    carrier: &'c CarrierPlan,
    record: UsageRecord,
}

struct Emitted {
    /// The line that carries the planted discrepancy.
    line_id: Option<CompactString>,
    /// Whether the planted kind was really produced (some need a rate to exist).
    planted: bool,
}

impl<'c> RecordPlan<'c> {
    fn new(
        random: &mut SplitMix64,
        config: &SimConfig,
        index: usize,
        carrier: &'c CarrierPlan,
        started_at: Timestamp,
    ) -> RecordPlan<'c> {
        let service = if random.chance(300) { Service::Sms } else { Service::Voice };
        let rows: Vec<_> = carrier.rows.iter().filter(|row| row.0 == service).collect();
        let prefix = random.pick(&rows).1;
        let destination = format!("{prefix}{}", random.below(10_u64.pow(11 - prefix.len() as u32)));
        let quantity = match service {
            _ if random.chance(config.unanswered_per_mille) => Decimal::ZERO,
            Service::Sms => Decimal::from(1 + random.below(3)),
            // Calls of 1 s to 20 min, a third of them with tenths of a second.
            _ if random.chance(333) => Decimal::new(10 + random.below(12_000) as i64, 1),
            _ => Decimal::from(1 + random.below(1_200)),
        };
        let carrier_ref = (!random.chance(config.without_reference_per_mille))
            .then(|| format!("{}{index:08}", &carrier.name[..3].to_uppercase()));
        RecordPlan {
            carrier,
            record: UsageRecord {
                record_id: format!("u{index:08}").into(),
                service,
                carrier: carrier.name.into(),
                carrier_ref: carrier_ref.map(Into::into),
                customer: Some(format!("cust{}", random.below(12)).into()),
                started_at,
                origin: None,
                destination: Destination::parse(&destination).expect("digits"),
                quantity,
                network: None,
            },
        }
    }

    fn line(&self, line_number: &mut u64, started_at: Timestamp) -> InvoiceLine {
        *line_number += 1;
        InvoiceLine {
            carrier: self.carrier.name.into(),
            invoice_id: self.carrier.invoice_id.into(),
            invoice_date: None,
            line_id: line_number.to_string().into(),
            carrier_ref: self.record.carrier_ref.clone(),
            service: self.record.service,
            started_at,
            destination: self.record.destination.clone(),
            quantity: Decimal::ZERO,
            rate: None,
            amount: Decimal::ZERO,
            currency: Currency::parse(self.carrier.invoice_currency).expect("valid"),
        }
    }

    /// Emits the lines for the record with the planted kind, if any.
    fn emit_lines(
        &self,
        random: &mut SplitMix64,
        kind: Option<DiscrepancyKind>,
        priced: Option<(Decimal, (Decimal, Decimal))>,
        line_number: &mut u64,
        sink: &mut dyn Sink,
    ) -> Emitted {
        // Lines without a reference were recorded by the carrier a few seconds off ours.
        let jitter = if self.record.carrier_ref.is_none() { random.below(41) as i64 - 20 } else { 0 };
        let started_at = self.record.started_at + SignedDuration::from_secs(jitter);
        let nothing = Emitted { line_id: None, planted: false };
        match (kind, priced) {
            (Some(DiscrepancyKind::UnbilledUsage), _) => return nothing,
            (Some(DiscrepancyKind::NoRate), _) => {
                let mut line = self.line(line_number, started_at);
                line.quantity = self.record.quantity.ceil();
                line.amount = Decimal::new(3, 2);
                let line_id = line.line_id.clone();
                sink.line(&line);
                return Emitted { line_id: Some(line_id), planted: true };
            }
            (_, None) => return nothing,
            (_, Some(_)) if self.record.quantity == Decimal::ZERO => return nothing,
            _ => {}
        }
        let (rate, (billed, cost)) = priced.expect("matched above");
        let mut line = self.line(line_number, started_at);
        let same_currency = self.carrier.currency == self.carrier.invoice_currency;
        line.quantity = billed;
        line.rate = same_currency.then_some(rate);
        line.amount = cost;
        let mut planted_line = None;
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
            Some(DiscrepancyKind::CurrencyMismatch) => {
                line.currency = Currency::parse(REFUSED_CURRENCY).expect("valid");
                line.rate = None;
                line.amount = (cost * Decimal::from(160))
                    .round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
                planted_line = Some(line.line_id.clone());
            }
            _ => {}
        }
        sink.line(&line);
        if kind == Some(DiscrepancyKind::UnmatchedCharge) {
            // Beside the real line, a phantom call to a number we never dialled.
            let mut phantom = self.line(line_number, started_at + SignedDuration::from_secs(7));
            phantom.carrier_ref = phantom.carrier_ref.map(|reference| format!("PH{reference}").into());
            phantom.destination = Destination::parse(&format!("{}0000000", self.carrier.rows[0].1)).expect("digits");
            phantom.quantity = Decimal::from(120);
            phantom.amount = Decimal::new(25, 3);
            planted_line = Some(phantom.line_id.clone());
            sink.line(&phantom);
        }
        if kind == Some(DiscrepancyKind::DuplicateCharge) {
            let mut repeat = line.clone();
            *line_number += 1;
            repeat.line_id = line_number.to_string().into();
            planted_line = Some(repeat.line_id.clone());
            sink.line(&repeat);
        }
        Emitted { planted: planted_line.is_some(), line_id: planted_line }
    }
}
