//! `contract_terms.csv`: each carrier's contract terms beyond the deck (recurring charges,
//! commitments, rebates, taxes), one effective-dated term per row:
//! `carrier,term,code,effective_from,effective_to,currency,amount,prorate,period,metric,service,
//! prefixes,minimum,threshold,percent,rate,base` (see docs/FORMATS.md, "Contract terms").

use crate::csv_table::{ColumnSpec, CsvTable, Row};
use crate::error::ImportError;
use crate::NoProgress;
use reckon_core::charges::ChargeType;
use reckon_core::contract_terms::{ChargeTerm, Metric, Reward, TermPeriod, TermRule, UsageScope};
use reckon_core::{bounds, CompactString, Decimal};
use std::path::Path;

const COLUMNS: [ColumnSpec; 17] = [
    ColumnSpec { name: "carrier", required: true },
    ColumnSpec { name: "term", required: true },
    ColumnSpec { name: "code", required: true },
    ColumnSpec { name: "effective_from", required: true },
    ColumnSpec { name: "effective_to", required: false },
    ColumnSpec { name: "currency", required: true },
    ColumnSpec { name: "amount", required: false },
    ColumnSpec { name: "prorate", required: false },
    ColumnSpec { name: "period", required: false },
    ColumnSpec { name: "metric", required: false },
    ColumnSpec { name: "service", required: false },
    ColumnSpec { name: "prefixes", required: false },
    ColumnSpec { name: "minimum", required: false },
    ColumnSpec { name: "threshold", required: false },
    ColumnSpec { name: "percent", required: false },
    ColumnSpec { name: "rate", required: false },
    ColumnSpec { name: "base", required: false },
];

/// Loads the terms, in file order. Bad rows always fail: terms decide amounts.
///
/// # Errors
/// A file-level error, a value that does not parse (file, line, column, what was expected), a
/// value a term of its kind needs missing, or two terms of one carrier and code in force on
/// the same day.
pub fn load_contract_terms(path: &Path) -> Result<Vec<ChargeTerm>, ImportError> {
    read_terms(CsvTable::open(path)?)
}

/// Reads contract terms from text already in hand (the ledger's stored rows); `name` names it
/// in errors.
///
/// # Errors
/// As [`load_contract_terms`].
pub fn read_contract_terms(name: &Path, text: String) -> Result<Vec<ChargeTerm>, ImportError> {
    read_terms(CsvTable::from_reader(name, Box::new(std::io::Cursor::new(text.into_bytes())))?)
}

/// The header of `contract_terms.csv`, every column, as [`term_row`] writes a term.
pub const HEADER: &str = "carrier,term,code,effective_from,effective_to,currency,amount,prorate,period,metric,service,prefixes,minimum,threshold,percent,rate,base";

/// A term as one row of `contract_terms.csv` (every column of [`HEADER`], numbers normalized,
/// no line end): the canonical text the ledger stores and hashes. Reading it back gives the
/// term.
pub fn term_row(term: &ChargeTerm) -> String {
    fn number(value: Decimal) -> String {
        value.normalize().to_string()
    }
    fn period_text(period: TermPeriod) -> String {
        match period {
            TermPeriod::Month => "month",
            TermPeriod::Quarter => "quarter",
        }
        .to_owned()
    }
    fn metric_text(metric: Metric) -> String {
        match metric {
            Metric::Spend => "spend",
            Metric::Volume => "volume",
        }
        .to_owned()
    }
    fn scope_cells(scope: &UsageScope) -> (String, String) {
        let prefixes: Vec<&str> = scope.prefixes.iter().map(CompactString::as_str).collect();
        (scope.service.map(|service| service.as_str().to_owned()).unwrap_or_default(), prefixes.join(";"))
    }
    // carrier,term,code,effective_from,effective_to,currency, then the eleven rule columns.
    let mut rule = [(); 11].map(|()| String::new());
    let [amount, prorate, period, metric, service, prefixes, minimum, threshold, percent, rate, base] = &mut rule;
    let kind = match &term.rule {
        TermRule::Recurring { amount: value, prorate: by_days } => {
            *amount = number(*value);
            *prorate = if *by_days { "days" } else { "none" }.to_owned();
            "recurring"
        }
        TermRule::Commitment { period: of, metric: measured, scope, minimum: least, shortfall_rate } => {
            *period = period_text(*of);
            *metric = metric_text(*measured);
            (*service, *prefixes) = scope_cells(scope);
            *minimum = number(*least);
            *rate = shortfall_rate.map(number).unwrap_or_default();
            "commitment"
        }
        TermRule::Rebate { period: of, metric: measured, scope, threshold: from, reward } => {
            *period = period_text(*of);
            *metric = metric_text(*measured);
            (*service, *prefixes) = scope_cells(scope);
            *threshold = number(*from);
            match reward {
                Reward::Percent(value) => *percent = number(*value),
                Reward::Amount(value) => *amount = number(*value),
                Reward::PerUnit(value) => *rate = number(*value),
            }
            "rebate"
        }
        TermRule::Tax { percent: value, base: types } => {
            *percent = number(*value);
            *base = types.iter().map(|charge_type| charge_type.as_str()).collect::<Vec<_>>().join(";");
            "tax"
        }
    };
    let cells = [
        quoted(&term.carrier),
        kind.to_owned(),
        quoted(&term.code),
        term.effective_from.to_string(),
        term.effective_to.map(|to| to.to_string()).unwrap_or_default(),
        term.currency.to_string(),
    ];
    cells.into_iter().chain(rule).collect::<Vec<_>>().join(",")
}

/// A cell quoted when it needs to be.
fn quoted(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

fn read_terms(mut table: CsvTable) -> Result<Vec<ChargeTerm>, ImportError> {
    let columns = table.resolve(COLUMNS)?;
    let mut terms: Vec<ChargeTerm> = Vec::new();
    while let Some(row) = table.next_row(&mut NoProgress)? {
        let row = row?;
        let term = parse_term(&row, &columns)?;
        let overlaps = |other: &ChargeTerm| {
            other.carrier == term.carrier
                && other.code == term.code
                && other.effective_to.is_none_or(|to| to > term.effective_from)
                && term.effective_to.is_none_or(|to| to > other.effective_from)
        };
        if terms.iter().any(overlaps) {
            let code = row.required(columns[2])?;
            return Err(row.invalid(
                columns[2],
                code,
                "a code not in force in another term of the carrier on the same days",
            ));
        }
        terms.push(term);
    }
    Ok(terms)
}

fn parse_term(row: &Row<'_>, columns: &[Option<usize>; 17]) -> Result<ChargeTerm, ImportError> {
    let [carrier, term, code, effective_from, effective_to, currency, amount, prorate, period, metric, service, prefixes, minimum, threshold, percent, rate, base] =
        *columns;
    let effective_from_date = row
        .optional_date(effective_from)?
        .ok_or_else(|| row.error(effective_from, crate::error::ImportErrorKind::MissingValue))?;
    let effective_to_date = row.optional_date(effective_to)?;
    if let Some(to) = effective_to_date {
        if to <= effective_from_date {
            return Err(row.invalid(effective_to, row.required(effective_to)?, "a date after effective_from"));
        }
    }
    let amount_of = |column| row.bounded_decimal(column, bounds::check_amount);
    let non_negative = |column| -> Result<Decimal, ImportError> {
        let value = amount_of(column)?;
        if value.is_sign_negative() && !value.is_zero() {
            return Err(row.invalid(column, row.required(column)?, "a number >= 0"));
        }
        Ok(value)
    };
    let optional_non_negative = |column| row.get(column).map(|_| non_negative(column)).transpose();
    let term_text = row.required(term)?;
    let rule = match term_text.to_ascii_lowercase().as_str() {
        "recurring" => TermRule::Recurring {
            amount: non_negative(amount)?,
            prorate: match row.get(prorate).map(str::to_ascii_lowercase).as_deref() {
                None | Some("none") => false,
                Some("days") => true,
                Some(_) => return Err(row.invalid(prorate, row.required(prorate)?, "a pro-rating: none or days")),
            },
        },
        "commitment" => {
            let metric = parse_metric(row, metric)?;
            let shortfall_rate = optional_non_negative(rate)?;
            if metric == Metric::Volume && shortfall_rate.is_none() {
                return Err(row.error(rate, crate::error::ImportErrorKind::MissingValue));
            }
            TermRule::Commitment {
                period: parse_period(row, period)?,
                metric,
                scope: parse_scope(row, service, prefixes)?,
                minimum: non_negative(minimum)?,
                shortfall_rate,
            }
        }
        "rebate" => {
            let rewards = [
                optional_non_negative(percent)?.map(Reward::Percent),
                optional_non_negative(amount)?.map(Reward::Amount),
                optional_non_negative(rate)?.map(Reward::PerUnit),
            ];
            let mut given = rewards.into_iter().flatten();
            let (Some(reward), None) = (given.next(), given.next()) else {
                return Err(row.invalid(
                    percent,
                    row.get(percent).unwrap_or(""),
                    "exactly one of percent, amount or rate",
                ));
            };
            TermRule::Rebate {
                period: parse_period(row, period)?,
                metric: parse_metric(row, metric)?,
                scope: parse_scope(row, service, prefixes)?,
                threshold: non_negative(threshold)?,
                reward,
            }
        }
        "tax" => TermRule::Tax {
            percent: non_negative(percent)?,
            base: match row.get(base) {
                None => vec![ChargeType::Usage],
                Some(text) => text
                    .split([';', ' '])
                    .filter(|part| !part.is_empty())
                    .map(|part| ChargeType::parse(part).ok_or_else(|| row.invalid(base, text, ChargeType::EXPECTED)))
                    .collect::<Result<_, _>>()?,
            },
        },
        _ => return Err(row.invalid(term, term_text, "a term: recurring, commitment, rebate or tax")),
    };
    Ok(ChargeTerm {
        carrier: row.required(carrier)?.into(),
        code: row.id(code)?,
        currency: row.currency(currency)?,
        effective_from: effective_from_date,
        effective_to: effective_to_date,
        rule,
    })
}

fn parse_period(row: &Row<'_>, column: Option<usize>) -> Result<TermPeriod, ImportError> {
    match row.get(column).map(str::to_ascii_lowercase).as_deref() {
        None | Some("month") => Ok(TermPeriod::Month),
        Some("quarter") => Ok(TermPeriod::Quarter),
        Some(_) => Err(row.invalid(column, row.required(column)?, "a period: month or quarter")),
    }
}

fn parse_metric(row: &Row<'_>, column: Option<usize>) -> Result<Metric, ImportError> {
    let text = row.required(column)?;
    match text.to_ascii_lowercase().as_str() {
        "spend" => Ok(Metric::Spend),
        "volume" => Ok(Metric::Volume),
        _ => Err(row.invalid(column, text, "a metric: spend or volume")),
    }
}

fn parse_scope(row: &Row<'_>, service: Option<usize>, prefixes: Option<usize>) -> Result<UsageScope, ImportError> {
    let service = row.get(service).map(|_| row.service(service)).transpose()?;
    let prefixes = match row.get(prefixes) {
        None => Vec::new(),
        Some(text) => text
            .split([';', ' '])
            .filter(|part| !part.is_empty())
            .map(|part| {
                if part.bytes().all(|byte| byte.is_ascii_digit()) {
                    Ok(CompactString::from(part))
                } else {
                    Err(row.invalid(prefixes, text, "dial-code prefixes, digits separated by ';'"))
                }
            })
            .collect::<Result<_, _>>()?,
    };
    Ok(UsageScope { service, prefixes })
}

#[cfg(test)]
mod tests {
    use super::*;
    use reckon_core::Service;

    fn load(text: &str) -> Result<Vec<ChargeTerm>, String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("contract_terms.csv");
        std::fs::write(&path, text).unwrap();
        load_contract_terms(&path).map_err(|error| error.to_string().replace(&path.display().to_string(), "T"))
    }

    const HEADER: &str =
        "carrier,term,code,effective_from,effective_to,currency,amount,prorate,period,metric,service,prefixes,minimum,threshold,percent,rate,base\n";

    #[test]
    fn every_term_type_reads() {
        let terms = load(&format!(
            "{HEADER}acme,recurring,TRUNK,2026-03-11,,EUR,310.00,days,,,,,,,,,\n\
             acme,commitment,Q-VOL,2026-01-01,,EUR,,,quarter,volume,voice,44;33,1000000,,,0.0003,\n\
             acme,rebate,REB,2026-01-01,,EUR,,,month,spend,,,,50.00,5,,\n\
             acme,tax,VAT,2026-01-01,,EUR,,,,,,,,,7.5,,usage;recurring\n"
        ))
        .unwrap();
        assert_eq!(terms.len(), 4);
        assert_eq!(terms[0].rule, TermRule::Recurring { amount: Decimal::new(31000, 2), prorate: true });
        assert_eq!(
            terms[1].rule,
            TermRule::Commitment {
                period: TermPeriod::Quarter,
                metric: Metric::Volume,
                scope: UsageScope { service: Some(Service::Voice), prefixes: vec!["44".into(), "33".into()] },
                minimum: Decimal::from(1_000_000),
                shortfall_rate: Some(Decimal::new(3, 4)),
            }
        );
        assert_eq!(
            terms[3].rule,
            TermRule::Tax { percent: Decimal::new(75, 1), base: vec![ChargeType::Usage, ChargeType::Recurring] }
        );
    }

    #[test]
    fn bad_values_are_named_by_line_and_column() {
        let error = load(&format!("{HEADER}acme,fee,X,2026-01-01,,EUR,,,,,,,,,,,\n")).unwrap_err();
        assert!(
            error.contains(":2") && error.contains("term") && error.contains("recurring, commitment, rebate or tax"),
            "{error}"
        );
        let error =
            load(&format!("{HEADER}acme,commitment,MIN,2026-01-01,,EUR,,,month,volume,,,100,,,,\n")).unwrap_err();
        assert!(error.contains(":2") && error.contains("rate"), "{error}");
        let error = load(&format!("{HEADER}acme,tax,VAT,2026-01-01,,EUR,,,,,,,,,7.5,,usage;fees\n")).unwrap_err();
        assert!(error.contains("base") && error.contains("one_time"), "{error}");
        let overlapping = format!(
            "{HEADER}acme,recurring,TRUNK,2026-01-01,2026-06-01,EUR,10,,,,,,,,,,\nacme,recurring,TRUNK,2026-05-01,,EUR,12,,,,,,,,,,\n"
        );
        let error = load(&overlapping).unwrap_err();
        assert!(error.contains(":3") && error.contains("code"), "{error}");
    }

    #[test]
    fn a_term_written_as_its_row_reads_back_the_same() {
        let text = format!(
            "{HEADER}\n\
             acme,recurring,NUM-RENT,2026-01-01,,USD,25.00,days,,,,,,,,,\n\
             acme,commitment,Q-VOL,2026-01-01,2027-01-01,EUR,,,quarter,volume,voice,44;33,1000000,,,0.0003,\n\
             acme,rebate,REB,2026-01-01,,EUR,,,month,spend,,,,50.00,5,,\n\
             acme,tax,VAT,2026-01-01,,EUR,,,,,,,,,7.5,,usage;recurring\n"
        );
        let terms = load(&text).unwrap();
        let rows: Vec<String> = terms.iter().map(term_row).collect();
        let written = format!("{HEADER}\n{}\n", rows.join("\n"));
        assert_eq!(load(&written).unwrap(), terms);
        assert_eq!(rows[0], "acme,recurring,NUM-RENT,2026-01-01,,USD,25,days,,,,,,,,,");
    }
}
