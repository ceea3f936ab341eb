//! `rates.csv`: a carrier's contracted rate deck.

use crate::csv_table::{ColumnSpec, CsvTable, Row};
use crate::error::{ImportError, ImportErrorKind};
use crate::{BadRowPolicy, Progress, Rejection};
use reckon_core::deck_update::{ChangeKind, DeckEntry};
use reckon_core::money::RoundMode;
use reckon_core::network::{network_id, NetworkId};
use reckon_core::rate_deck::{
    BilledOn, CostRounding, PriceRules, RateConditions, RateDeckError, TierMode, Tiers, ROUNDING_DECIMALS_MAX,
};
use reckon_core::time_band::{TimeBand, TimeBandError};
use reckon_core::{bounds, Increments, RateDeck, RateRow};
use rust_decimal::Decimal;
use std::path::{Path, PathBuf};

/// A deck loaded from one or more files.
#[derive(Debug, Default)]
pub struct LoadedDeck {
    pub deck: RateDeck,
    /// Where each row of the deck came from: `(file index, line)`, parallel to its rows.
    pub positions: Vec<(usize, u64)>,
    pub rejected: Vec<Rejection>,
}

/// Whose deck a file holds: the column that names the party.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeckKind {
    /// `rates.csv`: a carrier's rate deck, keyed by `carrier`.
    CarrierRates,
    /// `prices.csv`: customer price plans, keyed by `customer` (`*` is the default plan).
    CustomerPrices,
}

impl DeckKind {
    fn party_column(self) -> &'static str {
        match self {
            DeckKind::CarrierRates => "carrier",
            DeckKind::CustomerPrices => "customer",
        }
    }
}

/// Loads rate decks (or price plans) into one [`RateDeck`].
///
/// # Errors
/// A file-level error, or under [`BadRowPolicy::Fail`] the first bad row: a value that does not
/// parse, a prefix that is not all digits, a row with the key of an earlier one, or tiers of
/// one price that conflict or do not start at 0.
pub fn load_rates(
    paths: &[PathBuf],
    policy: BadRowPolicy,
    progress: &mut dyn Progress,
) -> Result<LoadedDeck, ImportError> {
    load_deck(paths, DeckKind::CarrierRates, policy, progress)
}

/// Loads decks of either kind.
///
/// # Errors
/// As [`load_rates`].
pub fn load_deck(
    paths: &[PathBuf],
    kind: DeckKind,
    policy: BadRowPolicy,
    progress: &mut dyn Progress,
) -> Result<LoadedDeck, ImportError> {
    let mut loaded = LoadedDeck::default();
    for file_index in 0..paths.len() {
        load_file(&mut loaded, paths, file_index, kind, policy, progress)?;
    }
    if let Err(gap) = loaded.deck.check_tiers() {
        let (file_index, line_number) = loaded.positions[gap.row.0 as usize];
        return Err(ImportError::at_line(&paths[file_index], line_number, ImportErrorKind::Rule(gap.to_string())));
    }
    Ok(loaded)
}

/// The columns of a deck file, in [`COLUMN_COUNT`] slots.
const COLUMN_COUNT: usize = 29;

fn column_specs(kind: DeckKind) -> [ColumnSpec; COLUMN_COUNT] {
    let optional = |name| ColumnSpec { name, required: false };
    let required = |name| ColumnSpec { name, required: true };
    [
        required(kind.party_column()),
        required("service"),
        optional("prefix"),
        optional("destination_name"),
        required("rate"),
        required("currency"),
        optional("rate_unit"),
        optional("increments"),
        optional("connect_fee"),
        optional("min_charge"),
        required("effective_from"),
        optional("effective_to"),
        optional("per_record_fee"),
        optional("time_zone"),
        optional("days"),
        optional("time_from"),
        optional("time_to"),
        optional("origin_prefix"),
        optional("mcc"),
        optional("mnc"),
        optional("tier_from"),
        optional("tier_mode"),
        optional("first_rate"),
        optional("max_cost"),
        optional("rounding_decimals"),
        optional("rounding_mode"),
        optional("blocked"),
        optional("billed_on"),
        optional("change"),
    ]
}

/// Loads a deck from CSV text held in memory (a store keeps decks in their canonical format);
/// `name` stands for the file in messages. Bad rows fail the load.
///
/// # Errors
/// As [`load_rates`].
pub fn load_deck_from_text(name: &Path, text: String, kind: DeckKind) -> Result<LoadedDeck, ImportError> {
    let mut loaded = LoadedDeck::default();
    let table = CsvTable::from_reader(name, Box::new(std::io::Cursor::new(text)))?;
    load_table(&mut loaded, table, &[name.to_owned()], 0, kind, BadRowPolicy::Fail, &mut crate::NoProgress)?;
    Ok(loaded)
}

fn load_file(
    loaded: &mut LoadedDeck,
    paths: &[PathBuf],
    file_index: usize,
    kind: DeckKind,
    policy: BadRowPolicy,
    progress: &mut dyn Progress,
) -> Result<(), ImportError> {
    let table = CsvTable::open(&paths[file_index])?;
    load_table(loaded, table, paths, file_index, kind, policy, progress)
}

fn load_table(
    loaded: &mut LoadedDeck,
    mut table: CsvTable,
    paths: &[PathBuf],
    file_index: usize,
    kind: DeckKind,
    policy: BadRowPolicy,
    progress: &mut dyn Progress,
) -> Result<(), ImportError> {
    let columns = table.resolve(column_specs(kind))?;
    let change = columns[COLUMN_COUNT - 1];
    while let Some(row) = table.next_row(progress)? {
        // A closing entry of a deck update (`change` = closed) ends a code; it prices nothing.
        if row.as_ref().is_ok_and(|row| row.get(change).and_then(ChangeKind::parse) == Some(ChangeKind::Closed)) {
            continue;
        }
        let outcome = row.and_then(|row| {
            let rate_row = parse_row(&row, &columns)?;
            let line_number = row.line_number;
            let rows_before = loaded.deck.len();
            match loaded.deck.insert(rate_row) {
                Ok(_) => {
                    // A tier merged into an existing row adds no row.
                    if loaded.deck.len() > rows_before {
                        loaded.positions.push((file_index, line_number));
                    }
                    Ok(())
                }
                Err(error) => Err(deck_error(&row, &columns, error, paths, &loaded.positions)),
            }
        });
        if let Err(error) = outcome {
            match policy {
                BadRowPolicy::Fail => return Err(error),
                BadRowPolicy::Quarantine => loaded.rejected.push(error.to_rejection()),
            }
        }
    }
    Ok(())
}

fn parse_row(row: &Row<'_>, columns: &[Option<usize>; COLUMN_COUNT]) -> Result<RateRow, ImportError> {
    let [party, service, prefix, destination_name, rate, currency, rate_unit, increments, connect_fee, min_charge, effective_from, effective_to, per_record_fee, time_zone, days, time_from, time_to, origin_prefix, mcc, mnc, tier_from, tier_mode, first_rate, max_cost, rounding_decimals, rounding_mode, blocked, billed_on, _change] =
        *columns;
    let service_value = row.service(service)?;
    let network = parse_network(row, mcc, mnc)?;
    let prefix_value = if network.is_some() { row.get(prefix).unwrap_or("") } else { row.required(prefix)? };
    let prefix_digits = prefix_value.strip_prefix('+').unwrap_or(prefix_value);
    if !prefix_digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(row.invalid(prefix, prefix_value, "a dial-code prefix of digits only, like 447"));
    }
    let rate_value = non_negative(row, rate)?;
    let rate_unit_value =
        row.optional_bounded_decimal(rate_unit, bounds::check_rate_unit)?.unwrap_or(service_value.default_rate_unit());
    let effective_from_value = row.timestamp(effective_from)?;
    let effective_to_value = row.optional_timestamp(effective_to)?;
    if effective_to_value.is_some_and(|to| to <= effective_from_value) {
        return Err(row.invalid(effective_to, row.required(effective_to)?, "an instant after effective_from"));
    }
    let origin = row.get(origin_prefix).map(|text| text.strip_prefix('+').unwrap_or(text));
    if let Some(origin) = origin {
        if !origin.bytes().all(|byte| byte.is_ascii_digit()) || origin.is_empty() {
            return Err(row.invalid(origin_prefix, origin, "an origin prefix of digits only, like 44"));
        }
    }
    Ok(RateRow {
        carrier: row.text(party)?,
        service: service_value,
        prefix: prefix_digits.to_owned(),
        destination_name: row.optional_text(destination_name),
        rate: rate_value,
        currency: row.currency(currency)?,
        rate_unit: rate_unit_value,
        increments: row.optional_increments(increments)?.unwrap_or(Increments::PER_UNIT),
        connect_fee: row.optional_bounded_decimal(connect_fee, bounds::check_amount)?.unwrap_or_default(),
        min_charge: row.optional_bounded_decimal(min_charge, bounds::check_amount)?.unwrap_or_default(),
        per_record_fee: row.optional_bounded_decimal(per_record_fee, bounds::check_amount)?.unwrap_or_default(),
        conditions: RateConditions {
            band: parse_band(row, [time_zone, days, time_from, time_to])?,
            origin_prefix: origin.map(Into::into),
            network,
        },
        tiers: parse_tiers(row, tier_from, tier_mode, rate_value)?,
        rules: PriceRules {
            first_rate: match row.get(first_rate) {
                Some(_) => Some(non_negative(row, first_rate)?),
                None => None,
            },
            max_cost: match row.get(max_cost) {
                Some(_) => Some(non_negative_amount(row, max_cost)?),
                None => None,
            },
            rounding: parse_rounding(row, rounding_decimals, rounding_mode)?,
            blocked: parse_flag(row, blocked)?,
            billed_on: parse_billed_on(row, billed_on)?,
        },
        effective_from: effective_from_value,
        effective_to: effective_to_value,
    })
}

/// An amount: `>= 0` and within [`bounds::check_amount`].
fn non_negative_amount(row: &Row<'_>, column: Option<usize>) -> Result<Decimal, ImportError> {
    let value = row.bounded_decimal(column, bounds::check_amount)?;
    if value.is_sign_negative() && !value.is_zero() {
        return Err(row.invalid(column, row.required(column)?, "an amount >= 0"));
    }
    Ok(value)
}

/// `rounding_decimals` (0 to 12) and `rounding_mode` (default `half_up`); a mode alone is an
/// error, since it says nothing without the places.
pub(crate) fn parse_rounding(
    row: &Row<'_>,
    decimals: Option<usize>,
    mode: Option<usize>,
) -> Result<Option<CostRounding>, ImportError> {
    let mode_value = match row.get(mode) {
        Some(text) => Some(
            RoundMode::parse(text)
                .ok_or_else(|| row.invalid(mode, text, "a rounding mode: half_up, half_even, up or down"))?,
        ),
        None => None,
    };
    let Some(text) = row.get(decimals) else {
        return match mode_value {
            Some(_) => Err(row.error(
                mode,
                ImportErrorKind::Rule("a rounding mode needs rounding_decimals, the places to round to".into()),
            )),
            None => Ok(None),
        };
    };
    let decimal_places = text
        .parse::<u32>()
        .ok()
        .filter(|places| *places <= ROUNDING_DECIMALS_MAX)
        .ok_or_else(|| row.invalid(decimals, text, "a whole number of decimal places from 0 to 12"))?;
    Ok(Some(CostRounding { decimal_places, mode: mode_value.unwrap_or(RoundMode::HalfAwayFromZero) }))
}

/// `billed_on`: `submitted` or `delivered` (empty: not said).
pub(crate) fn parse_billed_on(row: &Row<'_>, column: Option<usize>) -> Result<Option<BilledOn>, ImportError> {
    match row.get(column) {
        None => Ok(None),
        Some(text) => BilledOn::parse(text)
            .map(Some)
            .ok_or_else(|| row.invalid(column, text, "when messages are billed: submitted or delivered")),
    }
}

/// `true`/`yes` or `false`/`no` (empty: false).
fn parse_flag(row: &Row<'_>, column: Option<usize>) -> Result<bool, ImportError> {
    match row.get(column).map(str::to_ascii_lowercase).as_deref() {
        None | Some("false") | Some("no") => Ok(false),
        Some("true") | Some("yes") => Ok(true),
        Some(_) => Err(row.invalid(column, row.required(column)?, "true or false")),
    }
}

/// A rate: `>= 0` and within [`bounds::check_rate`].
fn non_negative(row: &Row<'_>, column: Option<usize>) -> Result<Decimal, ImportError> {
    let value = row.bounded_decimal(column, bounds::check_rate)?;
    if value.is_sign_negative() && !value.is_zero() {
        return Err(row.invalid(column, row.required(column)?, "a value >= 0"));
    }
    Ok(value)
}

fn parse_network(row: &Row<'_>, mcc: Option<usize>, mnc: Option<usize>) -> Result<Option<NetworkId>, ImportError> {
    let digits = |column: Option<usize>,
                  length: std::ops::RangeInclusive<usize>,
                  what: &str|
     -> Result<Option<&str>, ImportError> {
        match row.get(column) {
            Some(text) if length.contains(&text.len()) && text.bytes().all(|byte| byte.is_ascii_digit()) => {
                Ok(Some(text))
            }
            Some(text) => Err(row.invalid(column, text, what)),
            None => Ok(None),
        }
    };
    let mcc_value = digits(mcc, 3..=3, "a mobile country code of 3 digits")?;
    let mnc_value = digits(mnc, 2..=3, "a mobile network code of 2 or 3 digits (leading zeros kept)")?;
    match (mcc_value, mnc_value) {
        (Some(mcc_value), Some(mnc_value)) => Ok(Some(network_id(mcc_value, mnc_value))),
        (None, None) => Ok(None),
        (Some(_), None) => Err(row.error(mnc, ImportErrorKind::MissingValue)),
        (None, Some(_)) => Err(row.error(mcc, ImportErrorKind::MissingValue)),
    }
}

fn parse_band(row: &Row<'_>, columns: [Option<usize>; 4]) -> Result<Option<TimeBand>, ImportError> {
    let [time_zone, days, time_from, time_to] = columns;
    if [days, time_from, time_to].iter().all(|column| row.get(*column).is_none()) {
        return Ok(None);
    }
    let zone = row.get(time_zone).unwrap_or("UTC");
    TimeBand::parse(
        zone,
        row.get(days).unwrap_or("all"),
        row.get(time_from).unwrap_or("00:00"),
        row.get(time_to).unwrap_or("24:00"),
    )
    .map(Some)
    .map_err(|error| {
        let column = match error {
            TimeBandError::UnknownZone(_) => time_zone,
            TimeBandError::Weekdays => days,
            TimeBandError::TimeFrom => time_from,
            TimeBandError::TimeTo => time_to,
        };
        row.error(column, ImportErrorKind::Rule(error.to_string()))
    })
}

fn parse_tiers(
    row: &Row<'_>,
    tier_from: Option<usize>,
    tier_mode: Option<usize>,
    rate: Decimal,
) -> Result<Option<Tiers>, ImportError> {
    let mode = match row.get(tier_mode) {
        None => None,
        Some(text) if text.eq_ignore_ascii_case("graduated") => Some(TierMode::Graduated),
        Some(text) if text.eq_ignore_ascii_case("volume") => Some(TierMode::Volume),
        Some(text) => return Err(row.invalid(tier_mode, text, "a tier mode: graduated or volume")),
    };
    let from = row.optional_decimal(tier_from)?;
    if from.is_some_and(|from| from.is_sign_negative() && !from.is_zero()) {
        return Err(row.invalid(tier_from, row.required(tier_from)?, "a cumulative quantity >= 0"));
    }
    Ok(match (from, mode) {
        (None, None) => None,
        (from, mode) => {
            Some(Tiers { mode: mode.unwrap_or(TierMode::Graduated), steps: vec![(from.unwrap_or_default(), rate)] })
        }
    })
}

fn deck_error(
    row: &Row<'_>,
    columns: &[Option<usize>; COLUMN_COUNT],
    error: RateDeckError,
    paths: &[PathBuf],
    positions: &[(usize, u64)],
) -> ImportError {
    match error {
        RateDeckError::DuplicateRow { existing } => {
            let (file_index, first_line) = positions[existing.0 as usize];
            row.error(
                None,
                ImportErrorKind::Repeated {
                    what: "a rate row with the same carrier, service, prefix and effective_from".into(),
                    first_path: paths[file_index].display().to_string(),
                    first_line,
                },
            )
        }
        RateDeckError::OverlappingBands { existing } => {
            let (file_index, first_line) = positions[existing.0 as usize];
            row.error(
                None,
                ImportErrorKind::Rule(format!(
                    "the time band of this row overlaps the band of line {first_line} of {} (same carrier, \
                     service, prefix, origin and effective_from): which rate applies would depend on the \
                     order of the rows",
                    paths[file_index].display()
                )),
            )
        }
        RateDeckError::FirstRateWithTiers => row.error(columns[22], ImportErrorKind::Rule(error.to_string())),
        RateDeckError::MaxCostBelowMinimum => row.error(columns[23], ImportErrorKind::Rule(error.to_string())),
        RateDeckError::BilledOnDeliveredNotMessage => row.error(columns[27], ImportErrorKind::Rule(error.to_string())),
        other => row.error(columns[2], ImportErrorKind::Rule(other.to_string())),
    }
}

/// Loads a carrier's new A-Z deck: the columns of `rates.csv` plus `change` (`new`,
/// `increase`, `decrease`, `unchanged`, `closed`). Bad rows always fail: a deck update is
/// applied whole or not at all.
///
/// # Errors
/// A file-level error or the first bad row.
pub fn load_deck_entries(path: &Path) -> Result<Vec<DeckEntry>, ImportError> {
    let mut table = CsvTable::open(path)?;
    let mut specs = column_specs(DeckKind::CarrierRates);
    specs[COLUMN_COUNT - 1].required = true;
    let columns = table.resolve(specs)?;
    let change = columns[COLUMN_COUNT - 1];
    let mut entries = Vec::new();
    while let Some(row) = table.next_row(&mut crate::NoProgress)? {
        let row = row?;
        let indicator = row.required(change)?;
        let change_kind = ChangeKind::parse(indicator)
            .ok_or_else(|| row.invalid(change, indicator, "a change: new, increase, decrease, unchanged or closed"))?;
        entries.push(DeckEntry { row: parse_row(&row, &columns)?, change: change_kind });
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<LoadedDeck, ImportError> {
        load_deck_from_text(Path::new("rates.csv"), text.to_owned(), DeckKind::CarrierRates)
    }

    /// Issue 14: a row whose `change` is closed is a deck-update entry that ends a code: read as
    /// a deck it prices nothing (its rate 0 is no price), so the code falls to its shorter
    /// prefix; the other rows, whatever their change, are rows of the deck.
    #[test]
    fn issue14_a_closing_entry_prices_nothing_in_a_deck() {
        let loaded = load(
            "carrier,service,prefix,rate,currency,effective_from,change\n\
             acme,voice,355,0.15,USD,2026-03-01T00:00:00Z,unchanged\n\
             acme,voice,35567,0,USD,2026-03-01T00:00:00Z,closed\n\
             acme,voice,447,0.012,USD,2026-03-01T00:00:00Z,\n",
        )
        .unwrap();
        let prefixes: Vec<String> = loaded.deck.rows().iter().map(|row| row.prefix.to_string()).collect();
        assert_eq!(prefixes, ["355", "447"]);
    }

    /// Issue 13: `billed_on` is read per row (blank: not said); a value other than submitted
    /// or delivered, and `delivered` on a service without deliveries, are errors naming file,
    /// line and column.
    #[test]
    fn issue13_billed_on_is_read_and_refused_where_it_means_nothing() {
        let header = "carrier,service,prefix,rate,currency,effective_from,billed_on\n";
        let loaded = load(&format!(
            "{header}acme,sms,44,0.03,USD,2026-01-01T00:00:00Z,delivered\n\
             acme,mms,44,0.2,USD,2026-01-01T00:00:00Z,Submitted\n\
             acme,sms,33,0.03,USD,2026-01-01T00:00:00Z,\n\
             acme,voice,44,0.01,USD,2026-01-01T00:00:00Z,submitted\n"
        ))
        .unwrap();
        let billed_on: Vec<_> = loaded.deck.rows().iter().map(|row| row.rules.billed_on).collect();
        assert_eq!(billed_on, [Some(BilledOn::Delivered), Some(BilledOn::Submitted), None, Some(BilledOn::Submitted)]);
        let error =
            load(&format!("{header}acme,sms,44,0.03,USD,2026-01-01T00:00:00Z,on_receipt\n")).unwrap_err().to_string();
        assert!(
            error.contains(
                "rates.csv:2:7: column \"billed_on\": \"on_receipt\" is not when messages are billed: submitted or \
                 delivered"
            ),
            "{error}"
        );
        let error =
            load(&format!("{header}acme,voice,44,0.01,USD,2026-01-01T00:00:00Z,delivered\n")).unwrap_err().to_string();
        assert!(
            error.contains(
                "rates.csv:2:7: column \"billed_on\": billed_on delivered applies to messages (sms, mms) only"
            ),
            "{error}"
        );
    }
}
