//! The differences between the two SQL dialects, in one place.

use crate::StoreError;
use reckon_core::{Decimal, Timestamp};
use sqlx::any::AnyRow;
use sqlx::Row;
use std::str::FromStr;

/// Which database a ledger is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    pub(crate) fn of_url(url: &str) -> Result<Dialect, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Dialect::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Ok(Dialect::Postgres)
        } else {
            Err(StoreError::UnsupportedUrl(url.to_owned()))
        }
    }

    /// The `n`th (1-based) parameter placeholder.
    pub(crate) fn param(self, n: usize) -> String {
        match self {
            Dialect::Sqlite => format!("?{n}"),
            Dialect::Postgres => format!("${n}"),
        }
    }

    /// The `n`th parameter as an exact decimal: bound as text, stored as TEXT (SQLite) or cast
    /// to NUMERIC (PostgreSQL). SQLite must never see a numeric cast: it would make a float.
    pub(crate) fn decimal_param(self, n: usize) -> String {
        match self {
            Dialect::Sqlite => format!("?{n}"),
            Dialect::Postgres => format!("CAST(${n} AS NUMERIC)"),
        }
    }

    /// The `VALUES` rows of a multi-row insert: `rows` groups of `columns` placeholders,
    /// numbered on, with the 1-based `decimal_columns` as exact decimals.
    pub(crate) fn values_rows(self, rows: usize, columns: usize, decimal_columns: &[usize]) -> String {
        let row = |row: usize| {
            let placeholders: Vec<String> = (1..=columns)
                .map(|column| {
                    let n = row * columns + column;
                    if decimal_columns.contains(&column) {
                        self.decimal_param(n)
                    } else {
                        self.param(n)
                    }
                })
                .collect();
            format!("({})", placeholders.join(", "))
        };
        (0..rows).map(row).collect::<Vec<_>>().join(", ")
    }

    /// Replaces `{n}` with the `n`th placeholder and `{n:d}` with a decimal one, so that one SQL
    /// text serves both dialects.
    pub(crate) fn sql(self, template: &str) -> String {
        let mut sql = String::with_capacity(template.len() + 16);
        let mut rest = template;
        while let Some(start) = rest.find('{') {
            sql.push_str(&rest[..start]);
            let end = rest[start..].find('}').map(|offset| start + offset).expect("placeholders are closed");
            let inner = &rest[start + 1..end];
            let (number, decimal) = match inner.strip_suffix(":d") {
                Some(number) => (number, true),
                None => (inner, false),
            };
            let n: usize = number.parse().expect("placeholders are numbers");
            sql.push_str(&if decimal { self.decimal_param(n) } else { self.param(n) });
            rest = &rest[end + 1..];
        }
        sql.push_str(rest);
        sql
    }
}

/// Reads a decimal column selected as `CAST(col AS TEXT)`.
pub(crate) fn decimal(row: &AnyRow, column: &'static str) -> Result<Decimal, StoreError> {
    let text: String = row.try_get(column)?;
    Decimal::from_str(&text).map(|value| value.normalize()).map_err(|error| StoreError::Corrupt {
        column,
        value: text,
        reason: error.to_string(),
    })
}

pub(crate) fn optional_decimal(row: &AnyRow, column: &'static str) -> Result<Option<Decimal>, StoreError> {
    let text: Option<String> = row.try_get(column)?;
    text.map(|text| {
        Decimal::from_str(&text).map(|value| value.normalize()).map_err(|error| StoreError::Corrupt {
            column,
            value: text,
            reason: error.to_string(),
        })
    })
    .transpose()
}

pub(crate) fn instant(row: &AnyRow, column: &'static str) -> Result<Timestamp, StoreError> {
    let nanoseconds: i64 = row.try_get(column)?;
    Timestamp::from_nanosecond(i128::from(nanoseconds)).map_err(|error| StoreError::Corrupt {
        column,
        value: nanoseconds.to_string(),
        reason: error.to_string(),
    })
}

/// An instant as stored: nanoseconds since the epoch. Stored instants are checked at import
/// (1970 to 2200); a query bound beyond the 64-bit range (1677 to 2262) is clamped to it, which
/// selects the same rows.
pub(crate) fn nanoseconds(instant: Timestamp) -> i64 {
    let nanoseconds = instant.as_nanosecond();
    i64::try_from(nanoseconds).unwrap_or(if nanoseconds < 0 { i64::MIN } else { i64::MAX })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_sql_text_for_both_dialects() {
        let template = "INSERT INTO t (a, b) VALUES ({1}, {2:d})";
        assert_eq!(Dialect::Sqlite.sql(template), "INSERT INTO t (a, b) VALUES (?1, ?2)");
        assert_eq!(Dialect::Postgres.sql(template), "INSERT INTO t (a, b) VALUES ($1, CAST($2 AS NUMERIC))");
        assert_eq!(Dialect::Sqlite.values_rows(2, 2, &[2]), "(?1, ?2), (?3, ?4)");
        assert_eq!(Dialect::Postgres.values_rows(2, 2, &[2]), "($1, CAST($2 AS NUMERIC)), ($3, CAST($4 AS NUMERIC))");
    }
}
