//! Bulk usage import: a file's records streamed in batches into a staging table of the import's
//! own transaction (binary `COPY` in PostgreSQL, multi-row `INSERT`s in SQLite), then checked and
//! stored by a few set-based statements. Memory holds one batch, whatever the size of the file.
//!
//! The guarantees are those of [`Ledger::import_usage`]: one transaction (a kill leaves nothing),
//! idempotent (a record stored with the same content is a no-op), a record stored with other
//! content refused unless `replace` (then superseded, with an audit entry keeping the old
//! content), the same content hashes and batch id, and a `record_id` that repeats within the
//! file refused with the loader's message (`usage.csv:3: record_id "u1" repeats line 2 of ...`).

use crate::dialect::nanoseconds;
use crate::imports::{stored_usage_text, usage_hash, ImportOutcome, AUDIT_INSERT, BATCH_INSERT};
use crate::{Dialect, Ledger, StoreError};
use reckon_core::usage::DeliveryStatus;
use reckon_core::{Timestamp, UsageRecord};
use reckon_import::{ImportError, ImportErrorDetail, ImportErrorKind, Loaded};
use sqlx::any::AnyRow;
use sqlx::postgres::PgRow;
use sqlx::{Any, Connection as _, PgConnection, Postgres, Transaction};
use std::fmt::Write as _;

/// How many records a caller should read per batch: large enough that per-batch costs vanish,
/// small enough that a batch is a few tens of MiB whatever the file.
pub const USAGE_BATCH_ROWS: usize = 50_000;

/// Records per staging `INSERT` in SQLite: 13 parameters each, under SQLite's limit of 32,766
/// variables per statement (the bundled SQLite is 3.46).
const SQLITE_ROWS_PER_STATEMENT: usize = 2_000;

/// The columns of the staging table, in `COPY` and `VALUES` order: the file's line, the
/// stored columns of a usage record, and its content hash (the batch id is known only at the
/// end, once every record has been hashed).
const STAGING_COLUMNS: &str = "line, record_id, service, carrier, carrier_ref, customer, started_at_ns, origin, \
     destination, quantity, network, status, content_sha256";
const STAGING_COLUMN_COUNT: i16 = 13;

/// The staging table. The quantity is its canonical text, cast to NUMERIC as it is stored
/// (PostgreSQL), exactly as the row-by-row path binds it.
const STAGING_TABLE: &str = "usage_import (line BIGINT NOT NULL, record_id TEXT NOT NULL, service TEXT NOT NULL, \
     carrier TEXT NOT NULL, carrier_ref TEXT, customer TEXT, started_at_ns BIGINT NOT NULL, origin TEXT, \
     destination TEXT NOT NULL, quantity TEXT NOT NULL, network TEXT, status TEXT, content_sha256 TEXT NOT NULL)";

/// What staging left: how many records, and the batch id their hashes give.
struct Staged {
    rows: u64,
    batch_id: String,
}

impl Ledger {
    /// Stores the usage records `next_batch` yields (file order; it appends records to the
    /// empty batch it is given and says whether more may follow, as
    /// `reckon_import::usage::UsageReader::read_batch` does) in one transaction, holding one batch in memory at a time.
    /// The outcome and the stored rows are those [`Ledger::import_usage`] gives for all the
    /// records at once. `source` names the file: a `record_id` that repeats within it is
    /// refused as the loader refuses it, naming both lines (the batches' positions).
    ///
    /// # Errors
    /// The first error of `next_batch`, a repeated `record_id`, a record whose id is stored
    /// with other content (unless `replace`), or a database error. Nothing is stored then.
    pub async fn import_usage_batches(
        &self,
        mut next_batch: impl FnMut(&mut Loaded<UsageRecord>) -> Result<bool, ImportError>,
        source: &str,
        actor: &str,
        replace: bool,
        now: Timestamp,
    ) -> Result<ImportOutcome, StoreError> {
        let batch = Batch { source, actor, replace, now };
        match self.dialect {
            Dialect::Sqlite => self.import_batches_sqlite(&mut next_batch, &batch).await,
            Dialect::Postgres => self.import_batches_postgres(&mut next_batch, &batch).await,
        }
    }

    async fn import_batches_sqlite(
        &self,
        next_batch: &mut dyn FnMut(&mut Loaded<UsageRecord>) -> Result<bool, ImportError>,
        batch: &Batch<'_>,
    ) -> Result<ImportOutcome, StoreError> {
        // A large page cache for the import only: the index of `usage_records` is written at
        // random places, and a cache that holds it saves rereading pages. Put back afterwards,
        // since the pool's one connection serves the whole process.
        let cache: i64 = sqlx::query_scalar("PRAGMA cache_size").fetch_one(&self.pool).await?;
        sqlx::query(&format!("PRAGMA cache_size = {SQLITE_IMPORT_CACHE_KIB}")).execute(&self.pool).await?;
        let result: Result<ImportOutcome, StoreError> = async {
            let mut transaction = self.begin_write().await?;
            let staged = stage_sqlite(&mut transaction, next_batch).await?;
            let outcome = store_staged(&mut Staging::Any(&mut transaction), Dialect::Sqlite, &staged, batch).await?;
            // SQLite has no ON COMMIT DROP; the drop is part of the transaction like the create.
            sqlx::query("DROP TABLE temp.usage_import").execute(&mut *transaction).await?;
            transaction.commit().await?;
            Ok(outcome)
        }
        .await;
        sqlx::query(&format!("PRAGMA cache_size = {cache}")).execute(&self.pool).await?;
        result
    }

    async fn import_batches_postgres(
        &self,
        next_batch: &mut dyn FnMut(&mut Loaded<UsageRecord>) -> Result<bool, ImportError>,
        batch: &Batch<'_>,
    ) -> Result<ImportOutcome, StoreError> {
        let url = &self.url.0;
        let mut connection = PgConnection::connect(url).await.map_err(|error| StoreError::Open {
            url: crate::redact_url(url),
            cause: crate::redact_secret(&error.to_string(), url),
        })?;
        let mut transaction = connection.begin().await?;
        let staged = stage_postgres(&mut transaction, next_batch).await?;
        let outcome = store_staged(&mut Staging::Postgres(&mut transaction), Dialect::Postgres, &staged, batch).await?;
        transaction.commit().await?;
        connection.close().await?;
        Ok(outcome)
    }
}

/// The page cache of an SQLite import, in KiB (negative in the pragma).
const SQLITE_IMPORT_CACHE_KIB: i64 = -262_144;

/// The import's settings, passed together.
struct Batch<'a> {
    source: &'a str,
    actor: &'a str,
    replace: bool,
    now: Timestamp,
}

/// The batch id of an import: [`crate::content_hash`] of `usage` and every record's content
/// hash, computed as the records stream by.
struct BatchHasher(sha2::Sha256);

impl BatchHasher {
    fn new() -> BatchHasher {
        let mut hasher = BatchHasher(<sha2::Sha256 as sha2::Digest>::new());
        hasher.part("usage");
        hasher
    }

    fn part(&mut self, text: &str) {
        use sha2::Digest;
        self.0.update(text.as_bytes());
        self.0.update([0x1f]);
    }

    fn finish(self) -> String {
        use sha2::Digest;
        let mut text = String::with_capacity(64);
        for byte in self.0.finalize() {
            let _ = write!(text, "{byte:02x}");
        }
        text
    }
}

/// Reads every batch into the staging table with multi-row `INSERT`s.
async fn stage_sqlite(
    transaction: &mut Transaction<'static, Any>,
    next_batch: &mut dyn FnMut(&mut Loaded<UsageRecord>) -> Result<bool, ImportError>,
) -> Result<Staged, StoreError> {
    sqlx::query("DROP TABLE IF EXISTS temp.usage_import").execute(&mut **transaction).await?;
    sqlx::query(&format!("CREATE TEMP TABLE {STAGING_TABLE}")).execute(&mut **transaction).await?;
    let full_insert = staging_insert(SQLITE_ROWS_PER_STATEMENT);
    let mut loaded = Loaded::default();
    let mut hasher = BatchHasher::new();
    let mut rows = 0;
    let mut hashes = Vec::new();
    let mut quantities = Vec::new();
    let mut more = true;
    while more {
        more = read_batch(next_batch, &mut loaded)?;
        hashes.clear();
        hashes.extend(loaded.items.iter().map(usage_hash));
        quantities.clear();
        quantities.extend(loaded.items.iter().map(|record| record.quantity.normalize().to_string()));
        let mut start = 0;
        while start < loaded.items.len() {
            let end = (start + SQLITE_ROWS_PER_STATEMENT).min(loaded.items.len());
            let partial;
            let insert = if end - start == SQLITE_ROWS_PER_STATEMENT {
                &full_insert
            } else {
                partial = staging_insert(end - start);
                &partial
            };
            let mut query = sqlx::query(insert);
            for index in start..end {
                let record = &loaded.items[index];
                query = query
                    .bind(line(&loaded, index))
                    .bind(record.record_id.as_str())
                    .bind(record.service.as_str())
                    .bind(&*record.carrier)
                    .bind(record.carrier_ref.as_deref())
                    .bind(record.customer.as_deref())
                    .bind(nanoseconds(record.started_at))
                    .bind(record.origin.as_ref().map(|origin| origin.digits()))
                    .bind(record.destination.digits())
                    .bind(quantities[index].as_str())
                    .bind(record.network.as_deref())
                    .bind(record.status.map(DeliveryStatus::as_str))
                    .bind(hashes[index].as_str());
            }
            start = end;
            query.execute(&mut **transaction).await?;
        }
        for hash in &hashes {
            hasher.part(hash);
        }
        rows += loaded.items.len() as u64;
    }
    Ok(Staged { rows, batch_id: hasher.finish() })
}

/// The staging `INSERT` of `rows` records. Its placeholders are anonymous (`?`): sqlx looks up
/// the name of every numbered one (`?N`), which SQLite finds by a linear walk, so binding the
/// parameters of one statement would take quadratic time (97% of an import, measured).
fn staging_insert(rows: usize) -> String {
    let row = format!("({})", vec!["?"; usize::from(STAGING_COLUMN_COUNT.unsigned_abs())].join(", "));
    format!("INSERT INTO temp.usage_import ({STAGING_COLUMNS}) VALUES {}", vec![row; rows].join(", "))
}

/// Reads every batch into the staging table through one binary `COPY`.
async fn stage_postgres(
    connection: &mut PgConnection,
    next_batch: &mut dyn FnMut(&mut Loaded<UsageRecord>) -> Result<bool, ImportError>,
) -> Result<Staged, StoreError> {
    // Temporary tables are the session's own and skip the write-ahead log; the table goes with
    // the transaction, whatever its end.
    sqlx::query(&format!("CREATE TEMP TABLE {STAGING_TABLE} ON COMMIT DROP")).execute(&mut *connection).await?;
    let mut copy = connection
        .copy_in_raw(&format!("COPY usage_import ({STAGING_COLUMNS}) FROM STDIN WITH (FORMAT binary)"))
        .await?;
    let mut loaded = Loaded::default();
    let mut hasher = BatchHasher::new();
    let mut rows = 0;
    let mut buffer = Vec::with_capacity(1 << 20);
    let mut quantity = String::new();
    copy_header(&mut buffer);
    let mut more = true;
    while more {
        more = match read_batch(next_batch, &mut loaded) {
            Ok(more) => more,
            Err(error) => {
                copy.abort("the usage file has a bad row").await?;
                return Err(error);
            }
        };
        for (index, record) in loaded.items.iter().enumerate() {
            let hash = usage_hash(record);
            quantity.clear();
            let _ = write!(quantity, "{}", record.quantity.normalize());
            buffer.extend_from_slice(&STAGING_COLUMN_COUNT.to_be_bytes());
            copy_int(&mut buffer, line(&loaded, index));
            copy_text(&mut buffer, Some(record.record_id.as_str()));
            copy_text(&mut buffer, Some(record.service.as_str()));
            copy_text(&mut buffer, Some(&record.carrier));
            copy_text(&mut buffer, record.carrier_ref.as_deref());
            copy_text(&mut buffer, record.customer.as_deref());
            copy_int(&mut buffer, nanoseconds(record.started_at));
            copy_text(&mut buffer, record.origin.as_ref().map(|origin| origin.digits()));
            copy_text(&mut buffer, Some(record.destination.digits()));
            copy_text(&mut buffer, Some(&quantity));
            copy_text(&mut buffer, record.network.as_deref());
            copy_text(&mut buffer, record.status.map(DeliveryStatus::as_str));
            copy_text(&mut buffer, Some(&hash));
            hasher.part(&hash);
        }
        rows += loaded.items.len() as u64;
        copy.send(buffer.as_slice()).await?;
        buffer.clear();
    }
    copy_trailer(&mut buffer);
    copy.send(buffer.as_slice()).await?;
    let copied = copy.finish().await?;
    assert_eq!(copied, rows, "COPY stores every row it is sent");
    // Temporary tables are never analyzed by autovacuum: without statistics the planner would
    // guess the joins below on a table it believes small.
    sqlx::query("ANALYZE usage_import").execute(&mut *connection).await?;
    Ok(Staged { rows, batch_id: hasher.finish() })
}

/// The columns of `usage_records` a binary `COPY` of new records fills, in
/// [`copy_usage_records`]' order.
pub(crate) const USAGE_COPY_COLUMNS: &str = "record_id, service, carrier, carrier_ref, customer, started_at_ns, \
     origin, destination, quantity, network, status, content_sha256, batch_id";

/// A whole binary `COPY` stream of usage records (each with its content hash) under one batch
/// id, into `usage_records` ([`USAGE_COPY_COLUMNS`]): what the service's ingest sends in one
/// piece. The quantity goes as a binary NUMERIC, which PostgreSQL fits to the column's scale as
/// it fits the text the row-by-row path binds.
pub(crate) fn copy_usage_records<'a>(
    buffer: &mut Vec<u8>,
    records: impl Iterator<Item = (&'a UsageRecord, &'a str)>,
    batch_id: &str,
) {
    const COLUMNS: i16 = 13;
    copy_header(buffer);
    for (record, hash) in records {
        buffer.extend_from_slice(&COLUMNS.to_be_bytes());
        copy_text(buffer, Some(record.record_id.as_str()));
        copy_text(buffer, Some(record.service.as_str()));
        copy_text(buffer, Some(&record.carrier));
        copy_text(buffer, record.carrier_ref.as_deref());
        copy_text(buffer, record.customer.as_deref());
        copy_int(buffer, nanoseconds(record.started_at));
        copy_text(buffer, record.origin.as_ref().map(|origin| origin.digits()));
        copy_text(buffer, Some(record.destination.digits()));
        copy_numeric(buffer, record.quantity);
        copy_text(buffer, record.network.as_deref());
        copy_text(buffer, record.status.map(DeliveryStatus::as_str));
        copy_text(buffer, Some(hash));
        copy_text(buffer, Some(batch_id));
    }
    copy_trailer(buffer);
}

/// The binary COPY header: signature, flags, header extension length.
fn copy_header(buffer: &mut Vec<u8>) {
    buffer.extend_from_slice(b"PGCOPY\n\xff\r\n\0");
    buffer.extend_from_slice(&0_i32.to_be_bytes());
    buffer.extend_from_slice(&0_i32.to_be_bytes());
}

/// The binary COPY trailer: a tuple of -1 fields.
fn copy_trailer(buffer: &mut Vec<u8>) {
    buffer.extend_from_slice(&(-1_i16).to_be_bytes());
}

/// A NUMERIC field of a binary COPY row, in PostgreSQL's `numeric_send` layout: the count of
/// base-10,000 digits, the weight of the first, the sign, the display scale, then the digits,
/// most significant first. The value is normalized (no trailing zeros), as the text the
/// row-by-row path binds (`quantity.normalize()`).
fn copy_numeric(buffer: &mut Vec<u8>, value: reckon_core::Decimal) {
    const POSITIVE: u16 = 0x0000;
    const NEGATIVE: u16 = 0x4000;
    let value = value.normalize();
    let scale = value.scale();
    // Padded to whole base-10,000 digits after the point: at most 28 + 3 decimal digits, far
    // inside a u128 (a Decimal's mantissa has 96 bits).
    let padding = (4 - scale % 4) % 4;
    let mut mantissa = value.mantissa().unsigned_abs() * 10_u128.pow(padding);
    let fraction_digits = i16::try_from((scale + padding) / 4).expect("a Decimal has at most 28 decimals");
    // Least significant first.
    let mut digits: Vec<i16> = Vec::with_capacity(10);
    while mantissa > 0 {
        digits.push(i16::try_from(mantissa % 10_000).expect("a base-10,000 digit"));
        mantissa /= 10_000;
    }
    // Trailing zero digits are left out; they do not move the first digit's weight.
    let zeros = digits.iter().take_while(|digit| **digit == 0).count();
    let count = digits.len();
    let weight = if count == 0 { 0 } else { i16::try_from(count).expect("at most 10 digits") - 1 - fraction_digits };
    let digits = &digits[zeros..];
    let length = i32::try_from(8 + 2 * digits.len()).expect("at most 10 digits");
    let sign = if value.is_sign_negative() && !digits.is_empty() { NEGATIVE } else { POSITIVE };
    buffer.extend_from_slice(&length.to_be_bytes());
    buffer.extend_from_slice(&i16::try_from(digits.len()).expect("at most 10 digits").to_be_bytes());
    buffer.extend_from_slice(&weight.to_be_bytes());
    buffer.extend_from_slice(&sign.to_be_bytes());
    buffer.extend_from_slice(&u16::try_from(scale).expect("a Decimal has at most 28 decimals").to_be_bytes());
    for digit in digits.iter().rev() {
        buffer.extend_from_slice(&digit.to_be_bytes());
    }
}

/// A text field of a binary COPY row: its length and UTF-8 bytes, or -1 for NULL.
fn copy_text(buffer: &mut Vec<u8>, text: Option<&str>) {
    match text {
        Some(text) => {
            let length = i32::try_from(text.len()).expect("a field of a usage row is far under 2 GiB");
            buffer.extend_from_slice(&length.to_be_bytes());
            buffer.extend_from_slice(text.as_bytes());
        }
        None => buffer.extend_from_slice(&(-1_i32).to_be_bytes()),
    }
}

/// A BIGINT field of a binary COPY row: length 8, then big-endian.
fn copy_int(buffer: &mut Vec<u8>, value: i64) {
    buffer.extend_from_slice(&8_i32.to_be_bytes());
    buffer.extend_from_slice(&value.to_be_bytes());
}

/// The file line of a batch's record.
fn line(loaded: &Loaded<UsageRecord>, index: usize) -> i64 {
    i64::try_from(loaded.positions[index].line_number).unwrap_or(i64::MAX)
}

/// Empties the batch and has the source fill it: whether more may follow. The last batch may
/// hold records too (a reader knows the end only once it reaches it).
fn read_batch(
    next_batch: &mut dyn FnMut(&mut Loaded<UsageRecord>) -> Result<bool, ImportError>,
    loaded: &mut Loaded<UsageRecord>,
) -> Result<bool, StoreError> {
    loaded.items.clear();
    loaded.positions.clear();
    let more = next_batch(loaded)?;
    assert_eq!(loaded.items.len(), loaded.positions.len(), "a batch has a position for each record");
    Ok(more)
}

/// The connection holding the staging table, in its transaction.
enum Staging<'a> {
    Any(&'a mut Transaction<'static, Any>),
    Postgres(&'a mut PgConnection),
}

/// A parameter of a set-based statement.
#[derive(Clone, Copy)]
enum Param<'a> {
    Text(&'a str),
    Int(i64),
}

impl Staging<'_> {
    async fn execute(&mut self, sql: &str, params: &[Param<'_>]) -> Result<u64, StoreError> {
        Ok(match self {
            Staging::Any(transaction) => {
                let mut query = sqlx::query(sql);
                for param in params {
                    query = match *param {
                        Param::Text(text) => query.bind(text),
                        Param::Int(value) => query.bind(value),
                    };
                }
                query.execute(&mut ***transaction).await?.rows_affected()
            }
            Staging::Postgres(connection) => {
                let mut query = sqlx::query(sql);
                for param in params {
                    query = match *param {
                        Param::Text(text) => query.bind(text),
                        Param::Int(value) => query.bind(value),
                    };
                }
                query.execute(&mut **connection).await?.rows_affected()
            }
        })
    }

    async fn fetch_all<T>(&mut self, sql: &str, params: &[Param<'_>]) -> Result<Vec<T>, StoreError>
    where
        T: for<'r> sqlx::FromRow<'r, AnyRow> + for<'r> sqlx::FromRow<'r, PgRow> + Send + Unpin,
    {
        Ok(match self {
            Staging::Any(transaction) => {
                let mut query = sqlx::query_as::<Any, T>(sql);
                for param in params {
                    query = match *param {
                        Param::Text(text) => query.bind(text),
                        Param::Int(value) => query.bind(value),
                    };
                }
                query.fetch_all(&mut ***transaction).await?
            }
            Staging::Postgres(connection) => {
                let mut query = sqlx::query_as::<Postgres, T>(sql);
                for param in params {
                    query = match *param {
                        Param::Text(text) => query.bind(text),
                        Param::Int(value) => query.bind(value),
                    };
                }
                query.fetch_all(&mut **connection).await?
            }
        })
    }
}

/// Stores what is staged: checks it against the ledger, inserts what is new in one statement,
/// supersedes what `replace` allows, and records the batch.
async fn store_staged(
    staging: &mut Staging<'_>,
    dialect: Dialect,
    staged: &Staged,
    batch: &Batch<'_>,
) -> Result<ImportOutcome, StoreError> {
    if dialect == Dialect::Postgres {
        // Imports of usage take turns from here (the lock is the transaction's): the counts below
        // then see every record another import stored, and a record that another import
        // inserts meanwhile cannot pass for a repeat within this file. SQLite's writers take
        // turns from `BEGIN IMMEDIATE` already. The mode lets readers through.
        staging.execute("LOCK TABLE usage_records IN SHARE ROW EXCLUSIVE MODE", &[]).await?;
        // The join of a large re-import hashes the staged side in memory rather than in batches
        // on disk.
        staging.execute("SET LOCAL work_mem = '256MB'", &[]).await?;
    }
    // Counted before the insert: the staged rows whose id is stored, their distinct ids, and
    // those with the same content.
    let [(joined, joined_ids, same)]: [(i64, i64, i64); 1] = staging
        .fetch_all(
            "SELECT COUNT(*), COUNT(DISTINCT i.record_id), \
             COALESCE(SUM(CASE WHEN u.content_sha256 = i.content_sha256 THEN 1 ELSE 0 END), 0) \
             FROM usage_import i JOIN usage_records u ON u.record_id = i.record_id",
            &[],
        )
        .await?
        .try_into()
        .map_err(|_| StoreError::Invalid("a count gave other than one row".to_owned()))?;
    let insert = insert_staged(dialect);
    let inserted = staging.execute(&insert, &[Param::Text(&staged.batch_id)]).await?;
    // Each distinct id is now either stored before or inserted once: more staged rows than
    // that means an id repeats within the file.
    let distinct = inserted + count(joined_ids);
    if staged.rows > distinct || joined > joined_ids {
        return Err(repeated_id(staging, batch.source).await?);
    }
    let conflicts = count(joined) - count(same);
    let mut outcome = ImportOutcome { inserted, unchanged: count(same), replaced: 0 };
    if conflicts > 0 {
        let limit = if batch.replace { i64::MAX } else { 5 };
        let stored_otherwise: Vec<(String, String)> = staging
            .fetch_all(
                &dialect.sql(
                    "SELECT i.record_id, i.content_sha256 FROM usage_import i JOIN usage_records u \
                     ON u.record_id = i.record_id WHERE u.content_sha256 <> i.content_sha256 ORDER BY i.line LIMIT {1}",
                ),
                &[Param::Int(limit)],
            )
            .await?;
        if !batch.replace {
            let ids: Vec<&str> = stored_otherwise.iter().map(|(id, _)| id.as_str()).collect();
            return Err(StoreError::Conflict(format!(
                "{conflicts} usage records are stored with other content (first: {}); import with --replace to supersede them",
                ids.join(", ")
            )));
        }
        // The superseded content leaves its month's accrual sums: the month is made again.
        let old_months = crate::accruals::stale_months_sql(
            dialect,
            "FROM usage_records u JOIN usage_import i ON u.record_id = i.record_id WHERE u.content_sha256 <> i.content_sha256",
            "u.started_at_ns",
        );
        staging.execute(&old_months, &[]).await?;
        supersede(staging, dialect, &stored_otherwise, batch).await?;
        // The superseded ids are free now: the same statement stores their new content.
        outcome.replaced = staging.execute(&insert, &[Param::Text(&staged.batch_id)]).await?;
        assert_eq!(outcome.replaced, conflicts, "every superseded record is stored anew");
    }
    // Records stored outside the service were not rated: their months' accrual sums are made
    // again on the next query.
    staging
        .execute(&crate::accruals::stale_months_sql(dialect, "FROM usage_import WHERE true", "started_at_ns"), &[])
        .await?;
    let rows = i64::try_from(staged.rows).unwrap_or(i64::MAX);
    staging
        .execute(
            &dialect.sql(BATCH_INSERT),
            &[
                Param::Text(&staged.batch_id),
                Param::Text("usage"),
                Param::Text(batch.source),
                Param::Int(rows),
                Param::Int(nanoseconds(batch.now)),
            ],
        )
        .await?;
    Ok(outcome)
}

fn count(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

/// `INSERT ... SELECT` of the staged records whose id is not stored, under the batch id.
fn insert_staged(dialect: Dialect) -> String {
    let quantity = match dialect {
        // SQLite keeps exact decimals as TEXT: a numeric cast would make a float.
        Dialect::Sqlite => "quantity",
        Dialect::Postgres => "CAST(quantity AS NUMERIC)",
    };
    // `WHERE true`: SQLite reads an ON CONFLICT after a bare FROM as a join constraint.
    dialect.sql(&format!(
        "INSERT INTO usage_records (record_id, service, carrier, carrier_ref, customer, started_at_ns, origin, \
         destination, quantity, network, status, content_sha256, batch_id) \
         SELECT record_id, service, carrier, carrier_ref, customer, started_at_ns, origin, destination, {quantity}, \
         network, status, content_sha256, {{1}} FROM usage_import WHERE true ON CONFLICT (record_id) DO NOTHING"
    ))
}

/// Deletes stored records to be replaced, each with an audit entry keeping its old content.
async fn supersede(
    staging: &mut Staging<'_>,
    dialect: Dialect,
    records: &[(String, String)],
    batch: &Batch<'_>,
) -> Result<(), StoreError> {
    let select = dialect.sql(
        "SELECT record_id, service, carrier, carrier_ref, customer, started_at_ns, origin, destination, \
         CAST(quantity AS TEXT) AS quantity, network, status FROM usage_records WHERE record_id = {1}",
    );
    let delete = dialect.sql("DELETE FROM usage_records WHERE record_id = {1}");
    let audit = dialect.sql(AUDIT_INSERT);
    for (record_id, hash) in records {
        let [stored] = <[_; 1]>::try_from(staging.fetch_all(&select, &[Param::Text(record_id)]).await?)
            .map_err(|_| StoreError::NotFound(format!("usage record {record_id}")))?;
        let old = stored_usage_text(stored)?;
        staging.execute(&delete, &[Param::Text(record_id)]).await?;
        let detail = format!("old: {old}\nnew content sha256: {hash}");
        staging
            .execute(
                &audit,
                &[
                    Param::Int(nanoseconds(batch.now)),
                    Param::Text(batch.actor),
                    Param::Text("replace_usage"),
                    Param::Text(record_id),
                    Param::Text(&detail),
                ],
            )
            .await?;
    }
    Ok(())
}

/// The loader's error for the first row whose `record_id` repeats an earlier row's.
async fn repeated_id(staging: &mut Staging<'_>, source: &str) -> Result<StoreError, StoreError> {
    let first: Vec<(String, i64, i64)> = staging
        .fetch_all(
            "SELECT record_id, line, first_line FROM (SELECT record_id, line, \
             MIN(line) OVER (PARTITION BY record_id) AS first_line FROM usage_import) AS lines \
             WHERE line > first_line ORDER BY line LIMIT 1",
            &[],
        )
        .await?;
    let Some((record_id, line, first_line)) = first.into_iter().next() else {
        return Ok(StoreError::Invalid(
            "the staged usage does not add up to the rows stored, yet no record_id repeats".to_owned(),
        ));
    };
    let error: ImportError = ImportErrorDetail {
        path: source.into(),
        line_number: Some(count(line)),
        column: None,
        kind: ImportErrorKind::Repeated {
            what: format!("record_id {record_id:?}"),
            first_path: source.to_owned(),
            first_line: count(first_line),
        },
    }
    .into();
    Ok(StoreError::Import(error))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_streamed_batch_id_is_the_content_hash_of_all_records() {
        let hashes = ["a1", "b2", "c3"];
        let mut hasher = super::BatchHasher::new();
        for hash in hashes {
            hasher.part(hash);
        }
        assert_eq!(hasher.finish(), crate::content_hash(std::iter::once("usage").chain(hashes)));
    }
}
