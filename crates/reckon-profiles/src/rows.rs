//! A profile's `[rows]` table: what is done to a source row before its fields are read. Rate
//! decks and carrier exports need it: a code marked `Closed` becomes a closing entry; an
//! export's billed amount may be a sum or a product of its columns, or its billed quantity the
//! measured one rounded up to whole minutes; and a row whose terms the canonical files cannot
//! express (grace seconds, a minimum billed time) is refused with an error naming the column,
//! never converted into a guess.
//!
//! Computed columns are appended to the row under their own names, so that fields, `keep` and
//! `skip` read them like any column.

use crate::profile::{ColumnNames, RowPlan, Source};
use crate::schema::ColumnRef;
use reckon_import::{ImportError, ImportErrorDetail, ImportErrorKind};
use regex::Regex;
use rust_decimal::Decimal;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// The `[rows]` table.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RowsSpec {
    /// The source is a tariff plan folder of several files, joined into one table: `cgrates`.
    #[serde(default)]
    pub tariff_plan: Option<String>,
    /// The rate field's column may say `Closed` or `Removed` instead of a rate, as may the
    /// change field's: the row is then a closing entry (change `closed`, rate `0`).
    #[serde(default)]
    pub closed: bool,
    /// Columns computed from others, appended to the row under these names.
    #[serde(default)]
    pub computed: BTreeMap<String, ComputedSpec>,
    /// Rows that cannot be expressed canonically: each is an error naming the column.
    #[serde(default)]
    pub refuse: Vec<RefusalSpec>,
}

/// One computed column: exactly one of `sum`, `product`, `round_up`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComputedSpec {
    /// The sum of these columns' numbers (an empty cell counts 0).
    #[serde(default)]
    pub sum: Option<Vec<ColumnRef>>,
    /// The product of these columns' numbers (empty when any is empty).
    #[serde(default)]
    pub product: Option<Vec<ColumnRef>>,
    /// This column's number rounded up to a whole multiple of `to` (`0` stays `0`).
    #[serde(default)]
    pub round_up: Option<ColumnRef>,
    #[serde(default)]
    pub to: Option<String>,
}

/// A row the canonical files cannot express.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefusalSpec {
    pub column: ColumnRef,
    /// Refused when the value is a number other than 0.
    #[serde(default)]
    pub nonzero: bool,
    /// Refused when the value matches this regular expression.
    #[serde(default)]
    pub matches: Option<String>,
    /// What a value must be, and why (the error's "expected").
    pub expected: String,
}

/// Checks the table's settings that do not depend on a file.
pub(crate) fn check(spec: &RowsSpec) -> Result<(), String> {
    if let Some(plan) = spec.tariff_plan.as_deref().filter(|plan| *plan != "cgrates") {
        return Err(format!("[rows] tariff_plan {plan:?} is not a known tariff plan layout (cgrates)"));
    }
    for (name, computed) in &spec.computed {
        let sources = usize::from(computed.sum.is_some())
            + usize::from(computed.product.is_some())
            + usize::from(computed.round_up.is_some());
        if sources != 1 {
            return Err(format!("[rows.computed] {name:?} needs exactly one of sum, product, round_up"));
        }
        match (&computed.round_up, &computed.to) {
            (Some(_), None) => {
                return Err(format!("[rows.computed] {name:?}: round_up needs `to` (a step like \"60\")"))
            }
            (None, Some(_)) => return Err(format!("[rows.computed] {name:?}: `to` goes with round_up")),
            (Some(_), Some(step)) => {
                if reckon_import::parse_decimal(step).is_none_or(|step| step <= Decimal::ZERO) {
                    return Err(format!("[rows.computed] {name:?}: to {step:?} is not a number above 0"));
                }
            }
            (None, None) => {}
        }
    }
    for refusal in &spec.refuse {
        if refusal.nonzero == refusal.matches.is_some() {
            return Err(format!("[[rows.refuse]] on {} needs exactly one of nonzero = true, matches", refusal.column));
        }
        if let Some(pattern) = &refusal.matches {
            Regex::new(pattern)
                .map_err(|error| format!("[[rows.refuse]] matches {pattern:?} is not a regular expression: {error}"))?;
        }
    }
    Ok(())
}

/// The names of the computed columns, appended to a file's column names.
pub(crate) fn extend_names(spec: Option<&RowsSpec>, names: &mut ColumnNames) {
    if let Some(spec) = spec {
        names.names.extend(spec.computed.keys().cloned());
    }
}

/// A source column resolved against a file's names.
#[derive(Clone, Debug)]
struct Column {
    index: usize,
    name: String,
}

#[derive(Clone, Debug)]
enum Computation {
    Sum(Vec<Column>),
    Product(Vec<Column>),
    RoundUp(Column, Decimal),
}

#[derive(Clone, Debug)]
struct Refusal {
    column: Column,
    test: RefusalTest,
    expected: String,
}

#[derive(Clone, Debug)]
enum RefusalTest {
    Nonzero,
    Matches(Regex),
}

/// The `[rows]` table resolved for one file's columns.
#[derive(Clone, Debug, Default)]
pub(crate) struct RowsPlan {
    closed_rate: Option<Column>,
    change: Option<Column>,
    computed: Vec<Computation>,
    refuse: Vec<Refusal>,
}

impl RowsPlan {
    /// Resolves the table against a file's column names (its own, before computed columns) and
    /// the profile's plan for them (whose fields name the rate and change
    /// columns).
    pub(crate) fn new(spec: Option<&RowsSpec>, names: &ColumnNames, plan: &RowPlan) -> Result<RowsPlan, String> {
        let Some(spec) = spec else { return Ok(RowsPlan::default()) };
        let resolve = |column: &ColumnRef, key: &str| -> Result<Column, String> {
            let index = match column {
                ColumnRef::Number(number) => number.checked_sub(1),
                ColumnRef::Name(name) => names.names.iter().position(|candidate| {
                    candidate == name || (names.ignore_case && candidate.eq_ignore_ascii_case(name))
                }),
            };
            let name = match column {
                ColumnRef::Number(number) => {
                    names.names.get(number.wrapping_sub(1)).cloned().unwrap_or(number.to_string())
                }
                ColumnRef::Name(name) => name.clone(),
            };
            index.map(|index| Column { index, name }).ok_or_else(|| {
                format!(
                    "[rows] {key} reads {column}, which the file does not have (its columns: {})",
                    names.names.join(",")
                )
            })
        };
        // The column a field reads, when it reads one the file has.
        let field_column = |field: &str| -> Option<Column> {
            plan.fields.iter().find(|(column, _)| column.name == field).and_then(|(_, field)| match &field.source {
                Source::Column(slot) => slot.index.map(|index| Column { index, name: slot.name.clone() }),
                _ => None,
            })
        };
        let mut computed = Vec::new();
        for (name, spec) in &spec.computed {
            let key = format!("computed.{name}");
            let all = |columns: &[ColumnRef]| {
                columns.iter().map(|column| resolve(column, &key)).collect::<Result<Vec<_>, _>>()
            };
            computed.push(match (&spec.sum, &spec.product, &spec.round_up) {
                (Some(columns), _, _) => Computation::Sum(all(columns)?),
                (_, Some(columns), _) => Computation::Product(all(columns)?),
                (_, _, Some(column)) => {
                    let step = spec.to.as_deref().and_then(reckon_import::parse_decimal).expect("checked");
                    Computation::RoundUp(resolve(column, &key)?, step)
                }
                _ => unreachable!("checked: one source"),
            });
        }
        let mut refuse = Vec::new();
        for refusal in &spec.refuse {
            refuse.push(Refusal {
                column: resolve(&refusal.column, "refuse")?,
                test: match &refusal.matches {
                    Some(pattern) => RefusalTest::Matches(Regex::new(pattern).expect("checked")),
                    None => RefusalTest::Nonzero,
                },
                expected: refusal.expected.clone(),
            });
        }
        Ok(RowsPlan {
            closed_rate: if spec.closed { field_column("rate") } else { None },
            change: if spec.closed { field_column("change") } else { None },
            computed,
            refuse,
        })
    }

    /// Whether the plan changes nothing (no `[rows]` table).
    pub(crate) fn is_empty(&self) -> bool {
        self.closed_rate.is_none() && self.change.is_none() && self.computed.is_empty() && self.refuse.is_empty()
    }

    /// An error when a kept row states a term the canonical files cannot express.
    ///
    /// # Errors
    /// The refused value, positioned at the source line and column, with why.
    pub(crate) fn refuse(&self, record: &csv::StringRecord, path: &Path, line_number: u64) -> Result<(), ImportError> {
        for refusal in &self.refuse {
            let value = record.get(refusal.column.index).map_or("", str::trim);
            let refused = match &refusal.test {
                RefusalTest::Matches(regex) => regex.is_match(value),
                RefusalTest::Nonzero => match value {
                    "" => false,
                    _ => reckon_import::parse_decimal(value).is_none_or(|number| !number.is_zero()),
                },
            };
            if refused {
                return Err(cell_error(path, line_number, &refusal.column, value, refusal.expected.clone()));
            }
        }
        Ok(())
    }

    /// The row with its computed columns appended and its cells rewritten.
    ///
    /// # Errors
    /// A number of a computed column that does not parse, a closed code the profile cannot
    /// write: positioned at the source line and column.
    pub(crate) fn prepare(
        &self,
        record: &csv::StringRecord,
        path: &Path,
        line_number: u64,
    ) -> Result<csv::StringRecord, ImportError> {
        let cell = |column: &Column| record.get(column.index).map_or("", str::trim);
        let error =
            |column: &Column, value: &str, expected: String| cell_error(path, line_number, column, value, expected);
        let mut cells: Vec<String> = record.iter().map(str::to_owned).collect();
        for computation in &self.computed {
            let number = |column: &Column| -> Result<Option<Decimal>, ImportError> {
                let value = cell(column);
                if value.is_empty() {
                    return Ok(None);
                }
                reckon_import::parse_decimal(value)
                    .map(Some)
                    .ok_or_else(|| error(column, value, "a decimal number like 12.5 (`.` as separator)".to_owned()))
            };
            let overflow =
                |column: &Column| error(column, cell(column), "a number within the bounds of amounts".to_owned());
            let value = match computation {
                Computation::Sum(columns) => {
                    let mut total = Decimal::ZERO;
                    for column in columns {
                        total =
                            total.checked_add(number(column)?.unwrap_or_default()).ok_or_else(|| overflow(column))?;
                    }
                    Some(total)
                }
                Computation::Product(columns) => {
                    let mut product = Some(Decimal::ONE);
                    for column in columns {
                        product = match (product, number(column)?) {
                            (Some(product), Some(factor)) => {
                                Some(product.checked_mul(factor).ok_or_else(|| overflow(column))?)
                            }
                            _ => None,
                        };
                    }
                    product
                }
                Computation::RoundUp(column, step) => match number(column)? {
                    Some(value) => {
                        let blocks = value.checked_div(*step).ok_or_else(|| overflow(column))?.ceil();
                        Some(blocks.checked_mul(*step).ok_or_else(|| overflow(column))?)
                    }
                    None => None,
                },
            };
            cells.push(value.map(|value| value.normalize().to_string()).unwrap_or_default());
        }
        let rate_closed = self.closed_rate.as_ref().is_some_and(|rate| is_closed_marker(cell(rate)));
        let change_closed = self.change.as_ref().is_some_and(|change| is_closed_marker(cell(change)));
        if rate_closed || change_closed {
            let Some(change) = &self.change else {
                let rate = self.closed_rate.as_ref().expect("the rate says closed");
                return Err(error(
                    rate,
                    cell(rate),
                    "a rate (a closed code is a deck-update entry: the profile needs a change field)".to_owned(),
                ));
            };
            let change_value = cell(change);
            if !change_value.is_empty() && !is_closed_marker(change_value) {
                return Err(error(change, change_value, "Closed: the row's rate says Closed".to_owned()));
            }
            cells[change.index] = "closed".to_owned();
            // A closing entry ends the code's row in force: its rate is not a price.
            if let Some(rate) = &self.closed_rate {
                cells[rate.index] = "0".to_owned();
            }
        }
        Ok(csv::StringRecord::from(cells))
    }
}

fn cell_error(path: &Path, line_number: u64, column: &Column, value: &str, expected: String) -> ImportError {
    ImportErrorDetail {
        path: path.to_owned(),
        line_number: Some(line_number),
        column: Some((column.index + 1, column.name.clone())),
        kind: ImportErrorKind::Invalid { value: value.to_owned(), expected },
    }
    .into()
}

fn is_closed_marker(text: &str) -> bool {
    matches!(text.trim().to_ascii_lowercase().as_str(), "closed" | "removed")
}
