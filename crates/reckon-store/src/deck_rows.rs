//! Rate rows and price plan rows as typed columns, one database row per tier line.
//!
//! Each `rates.csv` column has its own database column, named here once: a row is written by
//! column name and read back under a header made of the same names, then parsed by the deck
//! reader (`service::deck_of`). A new `rates.csv` column without a database column is an error
//! at import, never a silently misaligned deck.

use crate::dialect::{decimal, instant, nanoseconds};
use crate::{content_hash, Dialect, StoreError};
use reckon_core::{RateRow, Timestamp};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};
use std::collections::HashMap;

/// How a column is stored.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    /// An exact decimal: TEXT in SQLite, NUMERIC in PostgreSQL.
    Decimal,
    /// An instant, stored as nanoseconds in `<name>_ns`.
    Instant,
}

/// The columns after the party (`carrier` or `plan`), in `rates.csv` order, the pricing rules
/// (migrations 0007 and 0008) last as `reckon_export::rates::RULE_COLUMNS` writes them.
const COLUMNS: [(&str, Kind); 27] = [
    ("service", Kind::Text),
    ("prefix", Kind::Text),
    ("destination_name", Kind::Text),
    ("rate", Kind::Decimal),
    ("currency", Kind::Text),
    ("rate_unit", Kind::Decimal),
    ("increments", Kind::Text),
    ("connect_fee", Kind::Decimal),
    ("min_charge", Kind::Decimal),
    ("per_record_fee", Kind::Decimal),
    ("time_zone", Kind::Text),
    ("days", Kind::Text),
    ("time_from", Kind::Text),
    ("time_to", Kind::Text),
    ("origin_prefix", Kind::Text),
    ("mcc", Kind::Text),
    ("mnc", Kind::Text),
    ("tier_from", Kind::Decimal),
    ("tier_mode", Kind::Text),
    ("effective_from", Kind::Instant),
    ("effective_to", Kind::Instant),
    // From here on: the pricing rules, `RULE_COLUMNS_START` onwards.
    ("first_rate", Kind::Decimal),
    ("max_cost", Kind::Decimal),
    // Kept as the file writes it (a count of places, 0 to 12): the deck reader checks it.
    ("rounding_decimals", Kind::Text),
    ("rounding_mode", Kind::Text),
    ("blocked", Kind::Text),
    ("billed_on", Kind::Text),
];

/// Where the pricing-rule columns start in [`COLUMNS`].
const RULE_COLUMNS_START: usize = 21;

/// Where deck rows of each kind are stored.
#[derive(Clone, Copy)]
pub(crate) enum DeckTable {
    CarrierRates,
    CustomerPrices,
}

impl DeckTable {
    pub(crate) fn table(self) -> &'static str {
        match self {
            DeckTable::CarrierRates => "rate_row_lines",
            DeckTable::CustomerPrices => "price_row_lines",
        }
    }

    /// The party's database column.
    pub(crate) fn party_column(self) -> &'static str {
        match self {
            DeckTable::CarrierRates => "carrier",
            DeckTable::CustomerPrices => "plan",
        }
    }

    /// The party's column in the file (`rates.csv`, `prices.csv`).
    fn party_header(self) -> &'static str {
        match self {
            DeckTable::CarrierRates => "carrier",
            DeckTable::CustomerPrices => "customer",
        }
    }

    /// The batch kind of an import.
    pub(crate) fn kind(self) -> &'static str {
        match self {
            DeckTable::CarrierRates => "rates",
            DeckTable::CustomerPrices => "prices",
        }
    }

    pub(crate) fn replace_action(self) -> &'static str {
        match self {
            DeckTable::CarrierRates => "replace_rate_row",
            DeckTable::CustomerPrices => "replace_price_row",
        }
    }

    /// The legacy table of rows kept as CSV text (before migration 0005).
    fn legacy_table(self) -> &'static str {
        match self {
            DeckTable::CarrierRates => "rate_rows",
            DeckTable::CustomerPrices => "price_rows",
        }
    }
}

/// A deck row as its tier lines, each a map from `rates.csv` column to value (empty left out).
pub(crate) struct EncodedRow {
    pub lines: Vec<HashMap<&'static str, String>>,
    /// Hash of the non-empty `(column, value)` pairs of every line: an added empty column
    /// changes no stored hash.
    pub hash: String,
}

/// Encodes a row by column name.
///
/// # Errors
/// A `rates.csv` column the ledger has no column for.
pub(crate) fn encode(row: &RateRow) -> Result<EncodedRow, StoreError> {
    let mut buffer = Vec::new();
    reckon_export::rates::write_rates(&mut buffer, "carrier", std::slice::from_ref(row))
        .map_err(|error| StoreError::Invalid(format!("writing a deck row: {error}")))?;
    let text = String::from_utf8(buffer).map_err(|error| StoreError::Invalid(error.to_string()))?;
    let mut reader = csv_lines(&text).into_iter();
    let header = reader.next().unwrap_or_default();
    let mut lines = Vec::new();
    let mut hashed: Vec<String> = Vec::new();
    for fields in reader {
        let mut line = HashMap::new();
        for (name, value) in header.iter().zip(fields) {
            if name == "carrier" {
                continue;
            }
            let Some((column, _)) = COLUMNS.iter().find(|(column, _)| column == name) else {
                return Err(StoreError::Invalid(format!(
                    "rates.csv column {name:?} has no column in the ledger: add it to deck_rows.rs and a migration"
                )));
            };
            if !value.is_empty() {
                hashed.push(format!("{column}={value}"));
                line.insert(*column, value);
            }
        }
        hashed.push(String::new());
        lines.push(line);
    }
    let hash = content_hash(std::iter::once(row.carrier.as_str()).chain(hashed.iter().map(String::as_str)));
    Ok(EncodedRow { lines, hash })
}

/// Inserts a row's tier lines.
pub(crate) async fn insert(
    transaction: &mut Transaction<'static, Any>,
    dialect: Dialect,
    table: DeckTable,
    row_key: &str,
    party: &str,
    encoded: &EncodedRow,
    batch_id: &str,
) -> Result<(), StoreError> {
    let mut names = vec!["row_key".to_owned(), "tier_index".to_owned(), table.party_column().to_owned()];
    let mut placeholders = vec![dialect.param(1), dialect.param(2), dialect.param(3)];
    for (index, (name, kind)) in COLUMNS.iter().enumerate() {
        let n = index + 4;
        names.push(if *kind == Kind::Instant { format!("{name}_ns") } else { (*name).to_owned() });
        placeholders.push(if *kind == Kind::Decimal { dialect.decimal_param(n) } else { dialect.param(n) });
    }
    names.extend(["content_sha256".to_owned(), "batch_id".to_owned()]);
    placeholders.extend([dialect.param(COLUMNS.len() + 4), dialect.param(COLUMNS.len() + 5)]);
    let insert = format!("INSERT INTO {} ({}) VALUES ({})", table.table(), names.join(", "), placeholders.join(", "));
    for (tier_index, line) in encoded.lines.iter().enumerate() {
        let mut query = sqlx::query(&insert).bind(row_key.to_owned()).bind(tier_index as i64).bind(party.to_owned());
        for (name, kind) in COLUMNS {
            let value = line.get(name).cloned();
            query = match kind {
                Kind::Instant => query.bind(
                    value
                        .map(|text| {
                            text.parse::<Timestamp>()
                                .map(nanoseconds)
                                .map_err(|error| StoreError::Invalid(format!("deck column {name}: {text:?}: {error}")))
                        })
                        .transpose()?,
                ),
                Kind::Text | Kind::Decimal => query.bind(value),
            };
        }
        query.bind(encoded.hash.clone()).bind(batch_id.to_owned()).execute(&mut **transaction).await?;
    }
    Ok(())
}

/// The SELECT list reading a table's rows back: party, then every column (decimals as text).
fn select_list(table: DeckTable) -> String {
    let mut names = vec![format!("{} AS party", table.party_column())];
    for (name, kind) in COLUMNS {
        names.push(match kind {
            Kind::Text => name.to_owned(),
            Kind::Decimal => format!("CAST({name} AS TEXT) AS {name}"),
            Kind::Instant => format!("{name}_ns"),
        });
    }
    names.join(", ")
}

/// Rows read back as the file's text (header included), in `row_key` then tier order, for the
/// deck reader. `filter` is a `WHERE` clause on the table (with its binds), or empty.
pub(crate) async fn deck_text<'e, E>(
    executor: E,
    dialect: Dialect,
    table: DeckTable,
    filter: &str,
    binds: &[&str],
) -> Result<String, StoreError>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    let select = dialect.sql(&format!(
        "SELECT {} FROM {} {filter} ORDER BY row_key, tier_index",
        select_list(table),
        table.table()
    ));
    let mut query = sqlx::query(&select);
    for bind in binds {
        query = query.bind((*bind).to_owned());
    }
    let rows = query.fetch_all(executor).await?;
    // The rule columns are read back only when some row sets one, as `write_rates` writes
    // them: a deck without rules reads back as the same text as before migration 0007, so the
    // ids of runs (which hash this text) do not change with the schema.
    let mut with_rules = false;
    for row in &rows {
        for (name, _) in &COLUMNS[RULE_COLUMNS_START..] {
            with_rules |= row.try_get::<Option<String>, _>(*name)?.is_some();
        }
    }
    let columns = if with_rules { &COLUMNS[..] } else { &COLUMNS[..RULE_COLUMNS_START] };
    let mut text = header(table, columns);
    for row in &rows {
        text.push_str(&line(row, columns)?);
    }
    Ok(text)
}

fn header(table: DeckTable, columns: &[(&str, Kind)]) -> String {
    let names: Vec<&str> = std::iter::once(table.party_header()).chain(columns.iter().map(|(name, _)| *name)).collect();
    format!("{}\n", names.join(","))
}

/// One stored tier line as a CSV line.
fn line(row: &AnyRow, columns: &[(&'static str, Kind)]) -> Result<String, StoreError> {
    let mut fields = vec![row.try_get::<String, _>("party")?];
    for &(name, kind) in columns {
        fields.push(match kind {
            Kind::Text => row.try_get::<Option<String>, _>(name)?.unwrap_or_default(),
            Kind::Decimal => match row.try_get::<Option<String>, _>(name)? {
                Some(_) => decimal(row, name)?.to_string(),
                None => String::new(),
            },
            Kind::Instant => {
                let column = match name {
                    "effective_from" => "effective_from_ns",
                    _ => "effective_to_ns",
                };
                match row.try_get::<Option<i64>, _>(column)? {
                    Some(_) => instant(row, column)?.to_string(),
                    None => String::new(),
                }
            }
        });
    }
    let quoted: Vec<String> = fields.iter().map(|field| quote(field)).collect();
    Ok(format!("{}\n", quoted.join(",")))
}

/// A CSV field, quoted when it must be.
fn quote(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_owned()
    }
}

/// Splits CSV text into lines of fields (quoted fields may hold commas, quotes and newlines).
fn csv_lines(text: &str) -> Vec<Vec<String>> {
    let mut lines = Vec::new();
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut characters = text.chars().peekable();
    while let Some(character) = characters.next() {
        match (quoted, character) {
            (true, '"') if characters.peek() == Some(&'"') => {
                characters.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, other) => field.push(other),
            (false, '"') => quoted = true,
            (false, ',') => fields.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                fields.push(std::mem::take(&mut field));
                lines.push(std::mem::take(&mut fields));
            }
            (false, other) => field.push(other),
        }
    }
    if !field.is_empty() || !fields.is_empty() {
        fields.push(field);
        lines.push(fields);
    }
    lines
}

/// The stored content of one row, as the file's lines under their header, for the audit log.
pub(crate) async fn stored_row_text(
    transaction: &mut Transaction<'static, Any>,
    dialect: Dialect,
    table: DeckTable,
    row_key: &str,
) -> Result<String, StoreError> {
    deck_text(&mut **transaction, dialect, table, &format!("WHERE row_key = {}", dialect.param(1)), &[row_key]).await
}

/// Moves rows stored as CSV text before migration 0005 into the typed columns, in one
/// transaction; a no-op once done. Their text was written under today's header, so the deck
/// reader reads it as it was written.
pub(crate) async fn convert_legacy_rows(ledger: &crate::Ledger) -> Result<(), StoreError> {
    for table in [DeckTable::CarrierRates, DeckTable::CustomerPrices] {
        let select = format!("SELECT COUNT(*) FROM {}", table.legacy_table());
        let count: i64 = sqlx::query_scalar(&select).fetch_one(&ledger.pool).await?;
        if count == 0 {
            continue;
        }
        let mut transaction = ledger.begin_write().await?;
        let select = format!(
            "SELECT row_key, {} AS party, row_csv, batch_id FROM {} ORDER BY row_key",
            table.party_column(),
            table.legacy_table()
        );
        let rows: Vec<(String, String, String, String)> = sqlx::query_as(&select).fetch_all(&mut *transaction).await?;
        for (row_key, party, row_csv, batch_id) in rows {
            let columns = reckon_export::rates::columns(table.party_header()).join(",");
            let kind = match table {
                DeckTable::CarrierRates => reckon_import::rates::DeckKind::CarrierRates,
                DeckTable::CustomerPrices => reckon_import::rates::DeckKind::CustomerPrices,
            };
            let deck = crate::service::deck_of(format!("{columns}\n{row_csv}"), kind, "a stored deck row")?;
            for row in deck.rows() {
                let encoded = encode(row)?;
                insert(&mut transaction, ledger.dialect, table, &row_key, &party, &encoded, &batch_id).await?;
            }
        }
        sqlx::query(&format!("DELETE FROM {}", table.legacy_table())).execute(&mut *transaction).await?;
        transaction.commit().await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rule_columns_are_the_ones_the_deck_writer_adds() {
        let names: Vec<&str> = COLUMNS[RULE_COLUMNS_START..].iter().map(|(name, _)| *name).collect();
        assert_eq!(names, reckon_export::rates::RULE_COLUMNS);
        let base: Vec<&str> = COLUMNS[..RULE_COLUMNS_START].iter().map(|(name, _)| *name).collect();
        assert_eq!(base, reckon_export::rates::columns("carrier")[1..]);
    }

    #[test]
    fn csv_lines_keep_quoted_commas_and_quotes() {
        assert_eq!(
            csv_lines("a,b\n\"x, y\",\"say \"\"hi\"\"\"\n"),
            [vec!["a".to_owned(), "b".to_owned()], vec!["x, y".to_owned(), "say \"hi\"".to_owned()]]
        );
        assert_eq!(quote("x, y"), "\"x, y\"");
    }
}
