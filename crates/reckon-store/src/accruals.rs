//! Accruals kept as running sums in the ledger: per UTC month, what its sums were made with
//! (`accrual_months`), and the sums per day and group (`accrual_sums`). Ingest adds to them in
//! the events' own transaction; a stale month is made again from its events in one transaction.
//! Whether a month may be added to is `reckon_core::accrual`'s rule; this module carries it out.
//!
//! In PostgreSQL an ingest appends its sums to `accrual_sum_deltas` under a shared lock of the
//! month's row instead (see [`add_ingested_postgres`]); readers add those rows and a fold moves
//! them into the kept sums. Every other writer of a month's sums first locks the month's row (an
//! upsert, which in PostgreSQL also waits for a concurrent transaction inserting that row), in
//! month order, and only then reads what it adds to: two replicas' ingests of one month, or an ingest and a rebuild, take
//! turns instead of losing each other's figures. A rebuild reads the month's events after
//! taking the lock, so every event committed before sees its sums, and an event committed
//! after finds the month made and adds to it.

use crate::dialect::{decimal, nanoseconds};
use crate::{Dialect, Ledger, StoreError};
use futures_util::TryStreamExt;
use reckon_core::accrual::{
    month_update, rollups, AccrualGrouping, AccrualKey, AccrualSums, AccrualTable, MonthUpdate, RatedWith, RollupKey,
};
use reckon_core::money::TotalOverflow;
use reckon_core::period::Month;
use reckon_core::{Currency, Service, UsageRecord};
use sqlx::any::AnyRow;
use sqlx::{Any, Connection as _, PgConnection, Row, Transaction};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::str::FromStr;
use std::sync::Arc;

/// The figure columns as selected (a macro, so that `concat!` can join them into the selects).
macro_rules! figure_columns {
    () => {
        "records, CAST(cost AS TEXT) AS cost, CAST(revenue AS TEXT) AS revenue, \
         CAST(margin AS TEXT) AS margin, unrated, unpriced, below_cost, unconvertible"
    };
}

/// How many events a rebuild of a month with untiered decks rates at a time: its memory is
/// this many records, not the month.
pub const REBUILD_RECORDS_PER_CHUNK: usize = 65_536;

/// The accrual figures of the events an ingest stores: each event's contribution, in the
/// events' order, and what they were rated with.
#[derive(Clone, Copy)]
pub struct AccrualUpdate<'a> {
    pub contributions: &'a [(AccrualKey, AccrualSums)],
    pub rated_with: &'a RatedWith,
    /// Whether the decks have tiered rows (a new record then changes its whole month).
    pub tiered: bool,
    /// Rates records as `contributions` were rated: a correction takes the contribution of
    /// the content it supersedes away. `None`: superseded content marks its month stale.
    pub rate_superseded: Option<&'a RateRecords<'a>>,
}

/// Rates records into accrual sums (a closure of the service, which holds the decks).
pub type RateRecords<'a> = dyn Fn(&[UsageRecord]) -> Result<AccrualTable, TotalOverflow> + Send + Sync + 'a;

/// How a stale month is rated again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RebuildScope {
    /// Every record on its own: the month streams through in chunks.
    ByChunk,
    /// Tiers settle over the whole month: the month is rated at once.
    WholeMonth,
}

impl Ledger {
    /// Each month in `[first, last]` with usage, and what its sums were made with (`None`:
    /// stale).
    ///
    /// # Errors
    /// A database error, or a stored month that does not read back.
    pub async fn accrual_months(&self, first: Month, last: Month) -> Result<Vec<(Month, Option<String>)>, StoreError> {
        let select = self
            .dialect
            .sql("SELECT month, rated_with FROM accrual_months WHERE month >= {1} AND month <= {2} ORDER BY month");
        let rows: Vec<(String, Option<String>)> =
            sqlx::query_as(&select).bind(first.to_string()).bind(last.to_string()).fetch_all(&self.pool).await?;
        rows.into_iter()
            .map(|(month, rated_with)| {
                let parsed = Month::parse(&month).map_err(|_| StoreError::Corrupt {
                    column: "month",
                    value: month,
                    reason: "not YYYY-MM".into(),
                })?;
                Ok((parsed, rated_with))
            })
            .collect()
    }

    /// Makes a month's sums again from its events, rated by `rate` (a chunk of records at a
    /// time, or the whole month), and marks them made with `rated_with`; all in one
    /// transaction. Does nothing when another process made them with `rated_with` meanwhile.
    /// Returns whether it rebuilt.
    ///
    /// # Errors
    /// A database error, a stored event that does not read back, or a sum past what it holds.
    pub async fn rebuild_accrual_month(
        &self,
        month: Month,
        rated_with: &RatedWith,
        scope: RebuildScope,
        mut rate: impl FnMut(&[UsageRecord]) -> Result<AccrualTable, TotalOverflow>,
    ) -> Result<bool, StoreError> {
        if self.dialect == Dialect::Postgres {
            return self.rebuild_accrual_month_postgres(month, rated_with, scope, rate).await;
        }
        let (start, end) = month.bounds().ok_or_else(|| StoreError::Invalid(format!("month {month} out of range")))?;
        let tag = rated_with.tag();
        let mut transaction = self.begin_write().await?;
        if lock_month(&mut transaction, self.dialect, month).await?.as_deref() == Some(tag.as_str()) {
            transaction.commit().await?;
            return Ok(false);
        }
        // Tiers settle in the records' canonical order; untiered records need none.
        let order = if scope == RebuildScope::WholeMonth { " ORDER BY started_at_ns, record_id" } else { "" };
        let select = self.dialect.sql(&format!(
            "SELECT {} FROM usage_records WHERE started_at_ns >= {{1}} AND started_at_ns < {{2}}{order}",
            crate::imports::USAGE_COLUMNS
        ));
        let mut sums = AccrualTable::default();
        {
            let mut rows =
                sqlx::query(&select).bind(nanoseconds(start)).bind(nanoseconds(end)).fetch(&mut *transaction);
            let mut names: HashMap<String, Arc<str>> = HashMap::new();
            let mut chunk = Vec::new();
            while let Some(row) = rows.try_next().await? {
                chunk.push(crate::imports::usage_from_row(&row, &mut names)?);
                if scope == RebuildScope::ByChunk && chunk.len() == REBUILD_RECORDS_PER_CHUNK {
                    sums.merge(&rate(&chunk).map_err(overflow)?).map_err(overflow)?;
                    chunk.clear();
                }
            }
            if !chunk.is_empty() {
                sums.merge(&rate(&chunk).map_err(overflow)?).map_err(overflow)?;
            }
        }
        for table in ["accrual_sums", "accrual_rollups", DELTAS_TABLE] {
            let delete = self.dialect.sql(&format!("DELETE FROM {table} WHERE month = {{1}}"));
            sqlx::query(&delete).bind(month.to_string()).execute(&mut *transaction).await?;
        }
        write_sums(&mut transaction, self.dialect, &sums).await?;
        write_rollups(&mut transaction, self.dialect, &rollups(&sums).map_err(overflow)?).await?;
        let update = self.dialect.sql("UPDATE accrual_months SET rated_with = {1} WHERE month = {2}");
        sqlx::query(&update).bind(tag).bind(month.to_string()).execute(&mut *transaction).await?;
        transaction.commit().await?;
        Ok(true)
    }

    /// [`Ledger::rebuild_accrual_month`] in PostgreSQL, on a connection of its own: the events
    /// come through a cursor in time order, and each UTC day's sums and day rollups are written
    /// by a `COPY` once the day is complete (the month's rollups at the end), so memory holds a
    /// day's groups and the month's rollups, not the month's groups.
    async fn rebuild_accrual_month_postgres(
        &self,
        month: Month,
        rated_with: &RatedWith,
        scope: RebuildScope,
        mut rate: impl FnMut(&[UsageRecord]) -> Result<AccrualTable, TotalOverflow>,
    ) -> Result<bool, StoreError> {
        let (start, end) = month.bounds().ok_or_else(|| StoreError::Invalid(format!("month {month} out of range")))?;
        let tag = rated_with.tag();
        let url = &self.url.0;
        let mut connection = PgConnection::connect(url).await.map_err(|error| StoreError::Open {
            url: crate::redact_url(url),
            cause: crate::redact_secret(&error.to_string(), url),
        })?;
        let mut transaction = connection.begin().await?;
        let lock = "INSERT INTO accrual_months (month, rated_with) VALUES ($1, NULL) \
                    ON CONFLICT (month) DO UPDATE SET month = excluded.month RETURNING rated_with";
        let stored: Option<String> =
            sqlx::query_scalar(lock).bind(month.to_string()).fetch_one(&mut *transaction).await?;
        if stored.as_deref() == Some(tag.as_str()) {
            transaction.commit().await?;
            return Ok(false);
        }
        for table in [AccrualKey::TABLE, RollupKey::TABLE, DELTAS_TABLE] {
            let delete = format!("DELETE FROM {table} WHERE month = $1");
            sqlx::query(&delete).bind(month.to_string()).execute(&mut *transaction).await?;
        }
        // Tiers settle in the records' canonical order; untiered records in time order, so
        // that the days before a chunk's last are complete.
        let order = match scope {
            RebuildScope::WholeMonth => "started_at_ns, record_id",
            RebuildScope::ByChunk => "started_at_ns",
        };
        let declare = format!(
            "DECLARE accrual_rebuild NO SCROLL CURSOR FOR SELECT {} FROM usage_records \
             WHERE started_at_ns >= $1 AND started_at_ns < $2 ORDER BY {order}",
            crate::imports::USAGE_COLUMNS
        );
        sqlx::query(&declare).bind(nanoseconds(start)).bind(nanoseconds(end)).execute(&mut *transaction).await?;
        let fetch = format!("FETCH {REBUILD_RECORDS_PER_CHUNK} FROM accrual_rebuild");
        let mut names: HashMap<String, Arc<str>> = HashMap::new();
        let mut chunk: Vec<UsageRecord> = Vec::new();
        let mut pending = AccrualTable::default();
        let mut month_rollups: BTreeMap<RollupKey, AccrualSums> = BTreeMap::new();
        loop {
            let rows = sqlx::query(&fetch).fetch_all(&mut *transaction).await?;
            let done = rows.len() < REBUILD_RECORDS_PER_CHUNK;
            for row in &rows {
                chunk.push(crate::imports::usage_from_row(&AnyRow::try_from(row)?, &mut names)?);
            }
            if scope == RebuildScope::WholeMonth && !done {
                continue;
            }
            let last_day = chunk.last().map(|record| reckon_core::period::utc_date(record.started_at));
            if !chunk.is_empty() {
                pending.merge(&rate(&chunk).map_err(overflow)?).map_err(overflow)?;
                chunk.clear();
            }
            // Complete: every day when done, else the days before the chunk's last.
            let complete = match (done, last_day) {
                (false, Some(last_day)) => {
                    let first_open = pending.groups.keys().find(|key| key.day >= last_day).cloned();
                    let open = first_open.map(|key| pending.groups.split_off(&key)).unwrap_or_default();
                    std::mem::replace(&mut pending, AccrualTable { groups: open })
                }
                _ => std::mem::take(&mut pending),
            };
            if !complete.groups.is_empty() {
                copy_kept(&mut transaction, complete.groups.iter()).await?;
                let rolled = rollups(&complete).map_err(overflow)?;
                let (days, months): (Vec<_>, Vec<_>) = rolled.into_iter().partition(|(key, _)| key.period.len() > 7);
                copy_kept(&mut transaction, days.iter().map(|(key, sums)| (key, sums))).await?;
                for (key, sums) in months {
                    month_rollups.entry(key).or_default().add(&sums).map_err(overflow)?;
                }
            }
            if done {
                break;
            }
        }
        sqlx::query("CLOSE accrual_rebuild").execute(&mut *transaction).await?;
        copy_kept(&mut transaction, month_rollups.iter()).await?;
        sqlx::query("UPDATE accrual_months SET rated_with = $1 WHERE month = $2")
            .bind(tag)
            .bind(month.to_string())
            .execute(&mut *transaction)
            .await?;
        transaction.commit().await?;
        connection.close().await?;
        Ok(true)
    }

    /// The kept sums of the days in `[from_day, to_day)`, of one carrier and one customer when
    /// given.
    ///
    /// # Errors
    /// A database error, or a stored sum that does not read back.
    pub async fn accrual_sums(
        &self,
        from_day: jiff::civil::Date,
        to_day: jiff::civil::Date,
        carrier: Option<&str>,
        customer: Option<&str>,
    ) -> Result<Vec<(AccrualKey, AccrualSums)>, StoreError> {
        // A customer is never empty: the empty text stands for "no customer" in the key.
        if customer == Some("") || carrier == Some("") {
            return Ok(Vec::new());
        }
        let mut filter = String::new();
        let mut binds = vec![from_day.to_string(), to_day.to_string()];
        for (column, value) in [("carrier", carrier), ("customer", customer)] {
            if let Some(value) = value {
                binds.push(value.to_owned());
                filter.push_str(&format!(" AND {column} = {}", self.dialect.param(binds.len())));
            }
        }
        let keys = AccrualKey::KEY_COLUMNS.join(", ");
        let select = match self.dialect {
            Dialect::Sqlite => format!(
                "SELECT {keys}, {} FROM accrual_sums WHERE day >= {} AND day < {}{filter}",
                figure_columns!(),
                self.dialect.param(1),
                self.dialect.param(2)
            ),
            // The kept sums and the ingests' sums not folded yet, in one statement (one
            // snapshot: a fold moving rows from one to the other is seen whole or not at all).
            Dialect::Postgres => format!(
                "SELECT {keys}, {SUMMED_FIGURES} FROM (SELECT {keys}, {FIGURE_NAMES} FROM accrual_sums UNION ALL \
                 SELECT {keys}, {FIGURE_NAMES} FROM {unfolded}) AS kept \
                 WHERE day >= $1 AND day < $2{filter} GROUP BY {keys} HAVING SUM(records) <> 0",
                unfolded = unfolded_groups(DELTAS_TABLE, "")
            ),
        };
        let mut query = sqlx::query(&select);
        for bind in binds {
            query = query.bind(bind);
        }
        query.fetch_all(&self.pool).await?.iter().map(AccrualKey::of_row).collect()
    }
}

impl Ledger {
    /// The kept rollups of one grouping over some periods (`YYYY-MM` months, `YYYY-MM-DD` days;
    /// see `reckon_core::accrual::rollup_periods`): of every carrier and customer, of one
    /// carrier, or of one customer (not both: a query of a carrier's customer reads
    /// [`Ledger::accrual_sums`]).
    ///
    /// # Errors
    /// A database error, or a stored sum that does not read back.
    pub async fn accrual_rollups(
        &self,
        grouping: AccrualGrouping,
        carrier: Option<&str>,
        customer: Option<&str>,
        periods: &[String],
    ) -> Result<Vec<(RollupKey, AccrualSums)>, StoreError> {
        // '' stands for "every carrier" or "every customer" in the key: no filter has it.
        if customer == Some("") || carrier == Some("") {
            return Ok(Vec::new());
        }
        if carrier.is_some() && customer.is_some() {
            return Err(StoreError::Invalid("rollups are kept per carrier or per customer, not both".into()));
        }
        // PostgreSQL: the rollups and the ingests' sums not folded yet, read in one snapshot.
        let mut transaction = self.pool.begin().await?;
        if self.dialect == Dialect::Postgres {
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .execute(&mut *transaction)
                .await?;
        }
        let mut rolled = Vec::new();
        for chunk in periods.chunks(400) {
            let placeholders: Vec<String> = (4..chunk.len() + 4).map(|n| self.dialect.param(n)).collect();
            let select = format!(
                "SELECT {}, {} FROM accrual_rollups WHERE grouping = {} AND carrier = {} AND customer = {} AND period IN ({})",
                RollupKey::KEY_COLUMNS.join(", "),
                figure_columns!(),
                self.dialect.param(1),
                self.dialect.param(2),
                self.dialect.param(3),
                placeholders.join(", ")
            );
            let mut query = sqlx::query(&select)
                .bind(grouping.as_str())
                .bind(carrier.unwrap_or_default().to_owned())
                .bind(customer.unwrap_or_default().to_owned());
            for period in chunk {
                query = query.bind(period.as_str());
            }
            for row in query.fetch_all(&mut *transaction).await? {
                rolled.push(RollupKey::of_row(&row)?);
            }
        }
        if self.dialect == Dialect::Postgres {
            rolled.extend(unfolded_rollups(&mut transaction, grouping, carrier, customer, periods).await?);
        }
        transaction.commit().await?;
        Ok(rolled)
    }

    /// Folds the accrual sums ingests appended (PostgreSQL, see [`add_ingested_postgres`]) into
    /// the kept sums and rollups, a month per transaction under the month's shared lock: the
    /// rows are deleted and their figures added by one upsert per table, so a fold running
    /// twice at once moves each row once. Returns how many groups' sums it folded (an ingest
    /// appends one per group of its batch).
    ///
    /// # Errors
    /// A database error (the month's rows stay to be folded next time), a stored sum that does
    /// not read back, or a sum past what it holds.
    pub async fn fold_accrual_deltas(&self) -> Result<u64, StoreError> {
        let Some(pool) = &self.pg else { return Ok(0) };
        let months: Vec<String> =
            sqlx::query_scalar(&format!("SELECT DISTINCT month FROM {DELTAS_TABLE} ORDER BY month"))
                .fetch_all(pool)
                .await?;
        let mut folded = 0;
        for month in months {
            let mut transaction = pool.begin().await?;
            lock_months_postgres(&mut transaction, std::slice::from_ref(&month), false).await?;
            // Summed per group by the database: a fold moves a couple of seconds of ingest,
            // tens of thousands of groups' sums, which read one by one cost more than the rest.
            let keys = AccrualKey::KEY_COLUMNS.join(", ");
            let delete = format!(
                "WITH moved AS (DELETE FROM {DELTAS_TABLE} WHERE month = $1 RETURNING *) \
                 SELECT {keys}, {SUMMED_FIGURES}, COUNT(*) AS appended FROM {} GROUP BY {keys}",
                unfolded_groups("moved", "")
            );
            let rows = sqlx::query(&delete).bind(&month).fetch_all(&mut *transaction).await?;
            let mut table = AccrualTable::default();
            let mut appended: i64 = 0;
            for row in &rows {
                appended += row.try_get::<i64, _>("appended")?;
                let (key, sums) = AccrualKey::of_row(&AnyRow::try_from(row)?)?;
                table.add(&key, &sums).map_err(overflow)?;
            }
            if !table.groups.is_empty() {
                upsert_added(&mut transaction, AccrualKey::TABLE, &table.groups).await?;
                upsert_added(&mut transaction, RollupKey::TABLE, &rollups(&table).map_err(overflow)?).await?;
            }
            transaction.commit().await?;
            folded += u64::try_from(appended).unwrap_or_default();
        }
        Ok(folded)
    }
}

/// Hex SHA-256 of a text: the fingerprint of the reference data accruals were rated with.
pub fn reference_fingerprint(text: &str) -> String {
    crate::content_hash([text])
}

/// How often at most a process folds the sums ingests appended: often enough that readers
/// add few rows (a fold moves a couple of seconds of ingest), rarely enough that folds cost
/// little beside the ingests. A fold's cost is mostly its upsert of every group's sums and
/// rollups (about 30 rollups a group), the same whether it moves half a second of ingest or
/// two: at 0.5 s, folds took about a tenth of PostgreSQL's time under a full load of batches.
const FOLD_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

/// When this process last started a fold, and whether one is running.
#[derive(Debug)]
pub(crate) struct FoldTimer {
    last: std::sync::Mutex<std::time::Instant>,
    running: std::sync::atomic::AtomicBool,
}

impl Default for FoldTimer {
    fn default() -> FoldTimer {
        FoldTimer { last: std::sync::Mutex::new(std::time::Instant::now()), running: Default::default() }
    }
}

impl Ledger {
    /// Starts a fold of the appended accrual sums on a task of its own when none ran for
    /// [`FOLD_EVERY`] in this process and none is running (an ingest calls it after its commit).
    /// A fold that fails leaves its rows to the next one; readers add them meanwhile.
    pub(crate) fn fold_now_and_then(&self) {
        use std::sync::atomic::Ordering;
        let due = match self.folds.last.lock() {
            Ok(mut last) if last.elapsed() >= FOLD_EVERY => {
                *last = std::time::Instant::now();
                true
            }
            _ => false,
        };
        if !due || self.folds.running.swap(true, Ordering::AcqRel) {
            return;
        }
        let ledger = self.clone();
        tokio::spawn(async move {
            let _ = ledger.fold_accrual_deltas().await;
            ledger.folds.running.store(false, Ordering::Release);
        });
    }
}

/// The table ingests append their sums to (PostgreSQL), until a fold moves them into the kept
/// sums and rollups: a row per ingest and month, its groups' key columns and figures as arrays
/// of one element per group (in SQLite the table has a row per group and stays empty).
const DELTAS_TABLE: &str = "accrual_sum_deltas";

/// The appended sums of `source` (the deltas table, or rows a statement took from it) as rows
/// of one group each, with the columns of the kept sums: a `FROM` item named `unfolded`.
/// `filter` (`WHERE ...` on `appended`, the source's rows, or empty) chooses the rows.
fn unfolded_groups(source: &str, filter: &str) -> String {
    let columns: Vec<&str> = AccrualKey::KEY_COLUMNS.iter().copied().chain(FIGURE_NAMES.split(", ")).collect();
    let arrays: Vec<String> = columns.iter().map(|column| format!("appended.{column}")).collect();
    format!(
        "(SELECT unnested.* FROM {source} AS appended, UNNEST({}) AS unnested ({}){filter}) AS unfolded",
        arrays.join(", "),
        columns.join(", ")
    )
}

/// The rollups of the sums not folded yet of one grouping, scope and periods: the rows of the
/// periods' months (of the carrier or customer when given), rolled up as a fold would.
async fn unfolded_rollups(
    transaction: &mut Transaction<'static, Any>,
    grouping: AccrualGrouping,
    carrier: Option<&str>,
    customer: Option<&str>,
    periods: &[String],
) -> Result<Vec<(RollupKey, AccrualSums)>, StoreError> {
    let months: BTreeSet<&str> = periods.iter().filter_map(|period| period.get(..7)).collect();
    let (Some(first), Some(last)) = (months.first(), months.last()) else {
        return Ok(Vec::new());
    };
    // The months' range (a query over centuries has more months than a statement has binds);
    // the rollups are cut to the periods below.
    let mut binds: Vec<String> = vec![(*first).to_owned(), (*last).to_owned()];
    let keys = AccrualKey::KEY_COLUMNS.join(", ");
    let mut select = format!(
        "SELECT {keys}, {SUMMED_FIGURES} FROM {} WHERE TRUE",
        unfolded_groups(DELTAS_TABLE, " WHERE appended.month >= $1 AND appended.month <= $2"),
    );
    for (column, value) in [("carrier", carrier), ("customer", customer)] {
        if let Some(value) = value {
            binds.push(value.to_owned());
            let _ = write!(select, " AND {column} = ${}", binds.len());
        }
    }
    // Summed per group by the database (the rows of a couple of seconds of ingest).
    let _ = write!(select, " GROUP BY {keys}");
    let mut query = sqlx::query(&select);
    for bind in binds {
        query = query.bind(bind);
    }
    let mut table = AccrualTable::default();
    for row in query.fetch_all(&mut **transaction).await? {
        let (key, sums) = AccrualKey::of_row(&row)?;
        table.add(&key, &sums).map_err(overflow)?;
    }
    if table.groups.is_empty() {
        return Ok(Vec::new());
    }
    let periods: std::collections::HashSet<&str> = periods.iter().map(String::as_str).collect();
    Ok(rollups(&table)
        .map_err(overflow)?
        .into_iter()
        .filter(|(key, _)| {
            key.grouping == grouping
                && key.carrier.as_deref() == carrier
                && key.customer.as_deref() == customer
                && periods.contains(key.period.as_str())
        })
        .collect())
}

/// Adds an ingest's accepted events (`accepted`: their indexes in the batch) to their months'
/// sums, or marks the months stale where the sums cannot take them
/// (`reckon_core::accrual::month_update`). Without an update (a path that does not rate), every
/// month of the accepted events is marked stale.
pub(crate) async fn add_ingested(
    transaction: &mut Transaction<'static, Any>,
    dialect: Dialect,
    records: &[UsageRecord],
    accepted: &[usize],
    update: Option<&AccrualUpdate<'_>>,
) -> Result<(), StoreError> {
    let Some(update) = update else {
        let months = accepted.iter().map(|&index| Month::of(records[index].started_at));
        return mark_stale(transaction, dialect, months).await;
    };
    assert_eq!(update.contributions.len(), records.len(), "one contribution per event");
    let mut table = AccrualTable::default();
    for &index in accepted {
        let (key, sums) = &update.contributions[index];
        table.add(key, sums).map_err(overflow)?;
    }
    apply(transaction, dialect, &table, update.rated_with, update.tiered).await
}

/// [`add_ingested`] in PostgreSQL, on a concrete connection, for many concurrent ingests at
/// once. Each month's row is locked `FOR SHARE`: ingests of one month go side by side, and a
/// rebuild or a fold (which take the row exclusively, or share it and delete what they fold)
/// waits for them or they for it, as with [`lock_month`]. Ingests neither read nor update the
/// kept sums, which every ingest of the month shares: each appends its batch's sums per group
/// (summed in Rust) to `accrual_sum_deltas` by one insert; readers add those rows and
/// [`Ledger::fold_accrual_deltas`] moves them into the kept sums and rollups now and then. A
/// month whose sums can no longer be added to is marked stale, which needs the row exclusively:
/// then nothing is written and [`Added::NeedsExclusive`] asks for the ingest again with
/// `exclusive` locks from the start.
pub(crate) async fn add_ingested_postgres(
    connection: &mut PgConnection,
    records: &[UsageRecord],
    accepted: &[usize],
    update: Option<&AccrualUpdate<'_>>,
    exclusive: bool,
) -> Result<Added, StoreError> {
    // Months as values first, as text once each (text per event was a measurable share of
    // the replica's CPU).
    let month_values: BTreeSet<Month> = accepted.iter().map(|&index| Month::of(records[index].started_at)).collect();
    if month_values.is_empty() {
        return Ok(Added::Done);
    }
    let month_of_text: BTreeMap<String, Month> =
        month_values.into_iter().map(|month| (month.to_string(), month)).collect();
    let months: Vec<String> = month_of_text.keys().cloned().collect();
    let Some(update) = update else {
        mark_stale_postgres(connection, &months).await?;
        return Ok(Added::Done);
    };
    assert_eq!(update.contributions.len(), records.len(), "one contribution per event");
    let stored = lock_months_postgres(connection, &months, exclusive).await?;
    if !exclusive
        && stored.iter().any(|(_, rated_with)| {
            month_update(rated_with.as_deref(), update.rated_with, update.tiered) == MonthUpdate::MarkStale
        })
    {
        // Marking a month stale takes its row exclusively: upgrading the shared lock while
        // other ingests hold it too would deadlock them, so the ingest starts again with the
        // months locked exclusively from the start (rare: a month made with other decks or
        // reference data, or tiered decks, once per rebuild).
        return Ok(Added::NeedsExclusive);
    }
    let mut add = AccrualTable::default();
    let mut stale = Vec::new();
    for (month, rated_with) in &stored {
        match month_update(rated_with.as_deref(), update.rated_with, update.tiered) {
            MonthUpdate::Add => {
                let month = month_of_text.get(month).copied();
                for &index in accepted {
                    let (key, sums) = &update.contributions[index];
                    if Some(key.month()) == month {
                        add.add(key, sums).map_err(overflow)?;
                    }
                }
            }
            MonthUpdate::MarkStale => stale.push(month.clone()),
            MonthUpdate::Nothing => {}
        }
    }
    if !stale.is_empty() {
        mark_stale_postgres(connection, &stale).await?;
    }
    if !add.groups.is_empty() {
        append_added(connection, &add.groups).await?;
    }
    Ok(Added::Done)
}

/// What [`add_ingested_postgres`] did.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Added {
    Done,
    /// Nothing: a month must be marked stale, which needs the months locked exclusively.
    NeedsExclusive,
}

/// Locks the months' rows (in month order; creating missing ones stale), `FOR SHARE`, or
/// `FOR UPDATE` when `exclusive`, and returns what each month's sums were made with.
async fn lock_months_postgres(
    connection: &mut PgConnection,
    months: &[String],
    exclusive: bool,
) -> Result<Vec<(String, Option<String>)>, StoreError> {
    let select = format!(
        "SELECT month, rated_with FROM accrual_months WHERE month = ANY($1) ORDER BY month {}",
        if exclusive { "FOR UPDATE" } else { "FOR SHARE" }
    );
    let mut stored: Vec<(String, Option<String>)> =
        sqlx::query_as(&select).bind(months).fetch_all(&mut *connection).await?;
    if stored.len() < months.len() {
        // New months: created stale (another transaction creating one too makes this wait for
        // its commit), then locked like the others.
        sqlx::query(
            "INSERT INTO accrual_months (month, rated_with) SELECT month, NULL FROM UNNEST($1::text[]) AS months (month) \
             ORDER BY month ON CONFLICT (month) DO NOTHING",
        )
        .bind(months)
        .execute(&mut *connection)
        .await?;
        stored = sqlx::query_as(&select).bind(months).fetch_all(&mut *connection).await?;
    }
    Ok(stored)
}

/// [`mark_stale`] in PostgreSQL: all the months in one statement, in month order.
async fn mark_stale_postgres(connection: &mut PgConnection, months: &[String]) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO accrual_months (month, rated_with) SELECT month, NULL FROM UNNEST($1::text[]) AS months (month) \
         ORDER BY month ON CONFLICT (month) DO UPDATE SET rated_with = NULL",
    )
    .bind(months)
    .execute(&mut *connection)
    .await?;
    Ok(())
}

/// Appends a batch's sums to the rows not folded yet: a row per month, its groups as arrays,
/// by one statement of binary array binds per month.
async fn append_added(
    connection: &mut PgConnection,
    added: &BTreeMap<AccrualKey, AccrualSums>,
) -> Result<(), StoreError> {
    let key_count = AccrualKey::KEY_COLUMNS.len();
    // Keys are ordered by day first: a month's groups are next to each other.
    let groups: Vec<(&AccrualKey, &AccrualSums)> = added.iter().collect();
    for month_groups in groups.chunk_by(|(left, _), (right, _)| left.month() == right.month()) {
        let Some((first, _)) = month_groups.first() else { continue };
        let mut keys: Vec<Vec<String>> = vec![Vec::with_capacity(month_groups.len()); key_count];
        let mut figures = FigureArrays::default();
        for (key, sums) in month_groups {
            for (column, value) in keys.iter_mut().zip(key.key_values()) {
                column.push(value);
            }
            figures.push(sums);
        }
        let key_arrays: Vec<String> = (2..=key_count + 1).map(|n| format!("${n}::text[]")).collect();
        let n = key_count + 2;
        let insert = format!(
            "INSERT INTO {DELTAS_TABLE} (month, {}, {FIGURE_NAMES}) VALUES ($1, {}, ${n}::int8[], \
             CAST(${}::text[] AS NUMERIC[]), CAST(${}::text[] AS NUMERIC[]), CAST(${}::text[] AS NUMERIC[]), \
             ${}::int8[], ${}::int8[], ${}::int8[], ${}::int8[])",
            AccrualKey::KEY_COLUMNS.join(", "),
            key_arrays.join(", "),
            n + 1,
            n + 2,
            n + 3,
            n + 4,
            n + 5,
            n + 6,
            n + 7,
        );
        let mut query = sqlx::query(&insert).bind(first.month_text());
        for column in keys {
            query = query.bind(column);
        }
        figures.bind(query).execute(&mut *connection).await?;
    }
    Ok(())
}

/// Groups' figures as one array per figure, in [`FIGURE_NAMES`] order, for binary array binds:
/// counts as `int8[]`, amounts as exact decimal text (cast to `NUMERIC` in the statement).
#[derive(Default)]
struct FigureArrays {
    records: Vec<i64>,
    cost: Vec<String>,
    revenue: Vec<String>,
    margin: Vec<String>,
    unrated: Vec<i64>,
    unpriced: Vec<i64>,
    below_cost: Vec<i64>,
    unconvertible: Vec<i64>,
}

impl FigureArrays {
    fn push(&mut self, sums: &AccrualSums) {
        self.records.push(sums.records);
        self.cost.push(sums.cost.normalize().to_string());
        self.revenue.push(sums.revenue.normalize().to_string());
        self.margin.push(sums.margin.normalize().to_string());
        self.unrated.push(sums.unrated);
        self.unpriced.push(sums.unpriced);
        self.below_cost.push(sums.below_cost);
        self.unconvertible.push(sums.unconvertible);
    }

    /// Binds the arrays after the query's earlier parameters, in [`FIGURE_NAMES`] order.
    fn bind<'q>(
        self,
        query: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    ) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
        query
            .bind(self.records)
            .bind(self.cost)
            .bind(self.revenue)
            .bind(self.margin)
            .bind(self.unrated)
            .bind(self.unpriced)
            .bind(self.below_cost)
            .bind(self.unconvertible)
    }
}

/// Adds figures to what is stored under their keys (in key order) by one upsert of binary
/// array binds: the database adds them to the committed figures under the row lock, so
/// concurrent ingests never lose each other's.
async fn upsert_added<K: KeptKey>(
    connection: &mut PgConnection,
    table: &str,
    added: &BTreeMap<K, AccrualSums>,
) -> Result<(), StoreError> {
    let key_count = K::KEY_COLUMNS.len();
    let mut keys: Vec<Vec<String>> = vec![Vec::with_capacity(added.len()); key_count];
    let mut months = Vec::with_capacity(added.len());
    let mut figures = FigureArrays::default();
    for (key, sums) in added {
        for (column, value) in keys.iter_mut().zip(key.key_values()) {
            column.push(value);
        }
        months.push(key.month_text());
        figures.push(sums);
    }
    let key_columns = K::KEY_COLUMNS.join(", ");
    let arrays: Vec<String> = (1..=key_count + 1)
        .map(|n| format!("${n}::text[]"))
        .chain((0..8).map(|offset| {
            let n = key_count + 2 + offset;
            // records, cost, revenue, margin, then the four counts
            if (1..=3).contains(&offset) {
                format!("${n}::text[]")
            } else {
                format!("${n}::int8[]")
            }
        }))
        .collect();
    let on_conflict = format!(
        " ON CONFLICT ({key_columns}) DO UPDATE SET records = {table}.records + excluded.records, \
         cost = {table}.cost + excluded.cost, revenue = {table}.revenue + excluded.revenue, \
         margin = {table}.margin + excluded.margin, unrated = {table}.unrated + excluded.unrated, \
         unpriced = {table}.unpriced + excluded.unpriced, below_cost = {table}.below_cost + excluded.below_cost, \
         unconvertible = {table}.unconvertible + excluded.unconvertible"
    );
    let upsert = format!(
        "INSERT INTO {table} ({key_columns}, month, {FIGURE_NAMES}) \
         SELECT {key_columns}, month, records, CAST(cost AS NUMERIC), CAST(revenue AS NUMERIC), \
         CAST(margin AS NUMERIC), unrated, unpriced, below_cost, unconvertible \
         FROM UNNEST({arrays}) AS added ({key_columns}, month, {FIGURE_NAMES}){on_conflict}",
        arrays = arrays.join(", "),
    );
    let mut query = sqlx::query(&upsert);
    for column in keys {
        query = query.bind(column);
    }
    figures.bind(query.bind(months)).execute(&mut *connection).await?;
    Ok(())
}

/// Moves the sums with an import through [`Ledger::import_usage_rated`]: the records at
/// `new_content` add their contributions, the `superseded` contents take theirs away.
pub(crate) async fn add_imported(
    transaction: &mut Transaction<'static, Any>,
    dialect: Dialect,
    records: &[UsageRecord],
    new_content: &[usize],
    superseded: &[UsageRecord],
    update: Option<&AccrualUpdate<'_>>,
) -> Result<(), StoreError> {
    let rate_superseded = update.and_then(|update| update.rate_superseded);
    let (Some(update), Some(rate_superseded)) = (update, rate_superseded) else {
        let new_months = new_content.iter().map(|&index| Month::of(records[index].started_at));
        let old_months = superseded.iter().map(|record| Month::of(record.started_at));
        return mark_stale(transaction, dialect, new_months.chain(old_months)).await;
    };
    assert_eq!(update.contributions.len(), records.len(), "one contribution per record");
    let mut table = AccrualTable::default();
    for &index in new_content {
        let (key, sums) = &update.contributions[index];
        table.add(key, sums).map_err(overflow)?;
    }
    if !superseded.is_empty() {
        table.merge(&rate_superseded(superseded).map_err(overflow)?.negated()).map_err(overflow)?;
    }
    apply(transaction, dialect, &table, update.rated_with, update.tiered).await
}

/// Adds a table of contributions (new records, or a correction's old content negated and new
/// content) to its months' sums where `month_update` allows, else marks the months stale.
pub(crate) async fn apply(
    transaction: &mut Transaction<'static, Any>,
    dialect: Dialect,
    table: &AccrualTable,
    rated_with: &RatedWith,
    tiered: bool,
) -> Result<(), StoreError> {
    for month in table.months() {
        let stored = lock_month(transaction, dialect, month).await?;
        match month_update(stored.as_deref(), rated_with, tiered) {
            MonthUpdate::Add => add_to_sums(transaction, dialect, &table.of_month(month)).await?,
            MonthUpdate::MarkStale => mark_stale(transaction, dialect, std::iter::once(month)).await?,
            MonthUpdate::Nothing => {}
        }
    }
    Ok(())
}

/// Marks months stale (creating their rows), in month order: their sums are made again on the
/// next query.
pub(crate) async fn mark_stale(
    transaction: &mut Transaction<'static, Any>,
    dialect: Dialect,
    months: impl Iterator<Item = Month>,
) -> Result<(), StoreError> {
    let months: std::collections::BTreeSet<Month> = months.collect();
    let upsert = dialect.sql(
        "INSERT INTO accrual_months (month, rated_with) VALUES ({1}, NULL) \
         ON CONFLICT (month) DO UPDATE SET rated_with = NULL",
    );
    for month in months {
        sqlx::query(&upsert).bind(month.to_string()).execute(&mut **transaction).await?;
    }
    Ok(())
}

/// A statement marking stale the months of the instants (`instant_column`, nanoseconds) of
/// the rows `from` selects (`FROM ... WHERE ...`; SQLite needs the `WHERE` to read an upsert
/// after a `SELECT`): set-based, for bulk imports.
pub(crate) fn stale_months_sql(dialect: Dialect, from: &str, instant_column: &str) -> String {
    let month = match dialect {
        Dialect::Sqlite => format!("strftime('%Y-%m', {instant_column} / 1000000000, 'unixepoch')"),
        Dialect::Postgres => {
            format!("to_char(to_timestamp({instant_column} / 1000000000) AT TIME ZONE 'UTC', 'YYYY-MM')")
        }
    };
    format!(
        "INSERT INTO accrual_months (month, rated_with) SELECT DISTINCT {month}, NULL {from} \
         ON CONFLICT (month) DO UPDATE SET rated_with = NULL"
    )
}

/// Locks a month's row (creating it stale when missing) and returns what its sums were made
/// with.
async fn lock_month(
    transaction: &mut Transaction<'static, Any>,
    dialect: Dialect,
    month: Month,
) -> Result<Option<String>, StoreError> {
    let upsert = dialect.sql(
        "INSERT INTO accrual_months (month, rated_with) VALUES ({1}, NULL) \
         ON CONFLICT (month) DO UPDATE SET month = excluded.month RETURNING rated_with",
    );
    Ok(sqlx::query_scalar(&upsert).bind(month.to_string()).fetch_one(&mut **transaction).await?)
}

/// Adds a table to the stored sums of its keys and to the rollups (the month's row is locked).
async fn add_to_sums(
    transaction: &mut Transaction<'static, Any>,
    dialect: Dialect,
    table: &AccrualTable,
) -> Result<(), StoreError> {
    let merged = add_to_kept(transaction, dialect, &table.groups).await?;
    add_to_kept(transaction, dialect, &rollups(table).map_err(overflow)?).await?;
    // A correction can take a group's last record away.
    let months: std::collections::BTreeSet<String> = merged.keys().map(|key| key.month().to_string()).collect();
    for table_name in [AccrualKey::TABLE, RollupKey::TABLE] {
        let delete = dialect.sql(&format!("DELETE FROM {table_name} WHERE month = {{1}} AND records = 0"));
        for month in &months {
            sqlx::query(&delete).bind(month.clone()).execute(&mut **transaction).await?;
        }
    }
    Ok(())
}

/// A key of a table of kept figures (`accrual_sums`, `accrual_rollups`): its table, its stored
/// columns, and how a row reads back. The one select-merge-upsert of both tables goes through it.
trait KeptKey: Ord + Clone + Sized {
    const TABLE: &'static str;
    /// The key's columns, the table's primary key, in order.
    const KEY_COLUMNS: &'static [&'static str];
    /// How many rows one statement reads or writes (the binds stay under SQLite's limit).
    const ROWS_PER_STATEMENT: usize;
    /// The key's column values, in `KEY_COLUMNS` order.
    fn key_values(&self) -> Vec<String>;
    /// Its UTC month, `YYYY-MM`.
    fn month_text(&self) -> String;
    fn of_row(row: &AnyRow) -> Result<(Self, AccrualSums), StoreError>;
}

/// Adds figures to what is stored under their keys (select, merge, upsert) and returns the
/// merged figures as written.
async fn add_to_kept<K: KeptKey>(
    transaction: &mut Transaction<'static, Any>,
    dialect: Dialect,
    added: &BTreeMap<K, AccrualSums>,
) -> Result<BTreeMap<K, AccrualSums>, StoreError> {
    let keys: Vec<&K> = added.keys().collect();
    let mut merged = added.clone();
    let key_count = K::KEY_COLUMNS.len();
    for chunk in keys.chunks(K::ROWS_PER_STATEMENT) {
        let select = format!(
            "SELECT {}, {} FROM {} WHERE ({}) IN (VALUES {})",
            K::KEY_COLUMNS.join(", "),
            figure_columns!(),
            K::TABLE,
            K::KEY_COLUMNS.join(", "),
            dialect.values_rows(chunk.len(), key_count, &[])
        );
        let mut query = sqlx::query(&select);
        for key in chunk {
            for value in key.key_values() {
                query = query.bind(value);
            }
        }
        for row in query.fetch_all(&mut **transaction).await? {
            let (key, sums) = K::of_row(&row)?;
            merged.entry(key).or_default().add(&sums).map_err(overflow)?;
        }
    }
    write_kept(transaction, dialect, &merged).await?;
    Ok(merged)
}

/// Writes figures over what is stored under their keys.
async fn write_kept<K: KeptKey>(
    transaction: &mut Transaction<'static, Any>,
    dialect: Dialect,
    rows: &BTreeMap<K, AccrualSums>,
) -> Result<(), StoreError> {
    let rows: Vec<(&K, &AccrualSums)> = rows.iter().collect();
    let key_count = K::KEY_COLUMNS.len();
    // After the key: month, records, then cost, revenue and margin, exact decimals.
    let decimals = [key_count + 3, key_count + 4, key_count + 5];
    for chunk in rows.chunks(K::ROWS_PER_STATEMENT) {
        let insert = format!(
            "INSERT INTO {} ({}, month, {FIGURE_NAMES}) VALUES {} ON CONFLICT ({}) DO UPDATE SET {FIGURES_UPDATE}",
            K::TABLE,
            K::KEY_COLUMNS.join(", "),
            dialect.values_rows(chunk.len(), key_count + 9, &decimals),
            K::KEY_COLUMNS.join(", "),
        );
        let mut query = sqlx::query(&insert);
        for (key, sums) in chunk {
            for value in key.key_values() {
                query = query.bind(value);
            }
            query = bind_figures(query.bind(key.month_text()), sums);
        }
        query.execute(&mut **transaction).await?;
    }
    Ok(())
}

/// Writes sums over what is stored under their keys.
async fn write_sums(
    transaction: &mut Transaction<'static, Any>,
    dialect: Dialect,
    table: &AccrualTable,
) -> Result<(), StoreError> {
    write_kept(transaction, dialect, &table.groups).await
}

/// Writes rollups over what is stored under their keys.
async fn write_rollups(
    transaction: &mut Transaction<'static, Any>,
    dialect: Dialect,
    rolled: &BTreeMap<RollupKey, AccrualSums>,
) -> Result<(), StoreError> {
    write_kept(transaction, dialect, rolled).await
}

/// Writes figures under keys not stored yet (a rebuilt month's, its old rows deleted) by one
/// `COPY` in text format.
async fn copy_kept<'k, K: KeptKey + 'k>(
    connection: &mut PgConnection,
    rows: impl Iterator<Item = (&'k K, &'k AccrualSums)>,
) -> Result<(), StoreError> {
    const COPY_BUFFER_BYTES: usize = 1 << 20;
    let mut copy = connection
        .copy_in_raw(&format!(
            "COPY {} ({}, month, {FIGURE_NAMES}) FROM STDIN WITH (FORMAT text)",
            K::TABLE,
            K::KEY_COLUMNS.join(", ")
        ))
        .await?;
    let mut buffer = String::with_capacity(COPY_BUFFER_BYTES + 4096);
    for (key, sums) in rows {
        for value in key.key_values() {
            copy_field(&mut buffer, &value);
            buffer.push('\t');
        }
        copy_field(&mut buffer, &key.month_text());
        let _ = writeln!(
            buffer,
            "\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
            sums.records,
            sums.cost.normalize(),
            sums.revenue.normalize(),
            sums.margin.normalize(),
            sums.unrated,
            sums.unpriced,
            sums.below_cost,
            sums.unconvertible
        );
        if buffer.len() >= COPY_BUFFER_BYTES {
            copy.send(buffer.as_bytes()).await?;
            buffer.clear();
        }
    }
    if !buffer.is_empty() {
        copy.send(buffer.as_bytes()).await?;
    }
    copy.finish().await?;
    Ok(())
}

/// A text field of a text-format `COPY` row, its backslashes, tabs and line ends escaped.
fn copy_field(buffer: &mut String, text: &str) {
    for character in text.chars() {
        match character {
            '\\' => buffer.push_str("\\\\"),
            '\t' => buffer.push_str("\\t"),
            '\n' => buffer.push_str("\\n"),
            '\r' => buffer.push_str("\\r"),
            other => buffer.push(other),
        }
    }
}

const FIGURE_NAMES: &str = "records, cost, revenue, margin, unrated, unpriced, below_cost, unconvertible";

/// The figure columns summed over a `GROUP BY` (PostgreSQL), as [`figure_columns`] selects them.
const SUMMED_FIGURES: &str = "CAST(SUM(records) AS BIGINT) AS records, CAST(SUM(cost) AS TEXT) AS cost, \
     CAST(SUM(revenue) AS TEXT) AS revenue, CAST(SUM(margin) AS TEXT) AS margin, \
     CAST(SUM(unrated) AS BIGINT) AS unrated, CAST(SUM(unpriced) AS BIGINT) AS unpriced, \
     CAST(SUM(below_cost) AS BIGINT) AS below_cost, CAST(SUM(unconvertible) AS BIGINT) AS unconvertible";

const FIGURES_UPDATE: &str = "records = excluded.records, cost = excluded.cost, revenue = excluded.revenue, \
     margin = excluded.margin, unrated = excluded.unrated, unpriced = excluded.unpriced, \
     below_cost = excluded.below_cost, unconvertible = excluded.unconvertible";

type AnyQuery<'q> = sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>;

/// Binds a group's eight figures, in the order of the tables' columns.
fn bind_figures<'q>(query: AnyQuery<'q>, sums: &AccrualSums) -> AnyQuery<'q> {
    query
        .bind(sums.records)
        .bind(sums.cost.normalize().to_string())
        .bind(sums.revenue.normalize().to_string())
        .bind(sums.margin.normalize().to_string())
        .bind(sums.unrated)
        .bind(sums.unpriced)
        .bind(sums.below_cost)
        .bind(sums.unconvertible)
}

fn figures_of_row(row: &AnyRow) -> Result<AccrualSums, StoreError> {
    Ok(AccrualSums {
        records: row.try_get("records")?,
        cost: decimal(row, "cost")?,
        revenue: decimal(row, "revenue")?,
        margin: decimal(row, "margin")?,
        unrated: row.try_get("unrated")?,
        unpriced: row.try_get("unpriced")?,
        below_cost: row.try_get("below_cost")?,
        unconvertible: row.try_get("unconvertible")?,
    })
}

impl KeptKey for RollupKey {
    const TABLE: &'static str = "accrual_rollups";
    const KEY_COLUMNS: &'static [&'static str] =
        &["grouping", "carrier", "customer", "period", "group_key", "currency", "price_currency"];
    const ROWS_PER_STATEMENT: usize = 250;

    /// '' for every carrier or customer, or for an absent currency.
    fn key_values(&self) -> Vec<String> {
        vec![
            self.grouping.as_str().to_owned(),
            self.carrier.clone().unwrap_or_default(),
            self.customer.clone().unwrap_or_default(),
            self.period.clone(),
            self.group.clone(),
            currency_text(self.currency),
            currency_text(self.price_currency),
        ]
    }

    fn month_text(&self) -> String {
        self.month().to_owned()
    }

    fn of_row(row: &AnyRow) -> Result<(RollupKey, AccrualSums), StoreError> {
        let grouping: String = row.try_get("grouping")?;
        let scope = |column: &str| -> Result<Option<String>, StoreError> {
            let value: String = row.try_get(column)?;
            Ok((!value.is_empty()).then_some(value))
        };
        let key = RollupKey {
            grouping: AccrualGrouping::parse(&grouping).ok_or_else(|| StoreError::Corrupt {
                column: "grouping",
                value: grouping.clone(),
                reason: "not a grouping".into(),
            })?,
            carrier: scope("carrier")?,
            customer: scope("customer")?,
            period: row.try_get("period")?,
            group: row.try_get("group_key")?,
            currency: currency_of_row(row, "currency")?,
            price_currency: currency_of_row(row, "price_currency")?,
        };
        Ok((key, figures_of_row(row)?))
    }
}

fn currency_text(currency: Option<Currency>) -> String {
    currency.map(|currency| currency.to_string()).unwrap_or_default()
}

fn currency_of_row(row: &AnyRow, column: &'static str) -> Result<Option<Currency>, StoreError> {
    let code: String = row.try_get(column)?;
    if code.is_empty() {
        return Ok(None);
    }
    Currency::parse(&code).map(Some).ok_or_else(|| StoreError::Corrupt {
        column,
        value: code,
        reason: "not a currency code".into(),
    })
}

impl KeptKey for AccrualKey {
    const TABLE: &'static str = "accrual_sums";
    const KEY_COLUMNS: &'static [&'static str] =
        &["day", "carrier", "customer", "destination", "service", "currency", "price_currency"];
    const ROWS_PER_STATEMENT: usize = 200;

    /// '' for an absent customer or currency.
    fn key_values(&self) -> Vec<String> {
        vec![
            self.day.to_string(),
            self.carrier.clone(),
            self.customer.clone().unwrap_or_default(),
            self.destination.clone(),
            self.service.as_str().to_owned(),
            currency_text(self.currency),
            currency_text(self.price_currency),
        ]
    }

    fn month_text(&self) -> String {
        self.month().to_string()
    }

    fn of_row(row: &AnyRow) -> Result<(AccrualKey, AccrualSums), StoreError> {
        let corrupt = |column: &'static str, value: &str, reason: &str| StoreError::Corrupt {
            column,
            value: value.to_owned(),
            reason: reason.to_owned(),
        };
        let day: String = row.try_get("day")?;
        let service: String = row.try_get("service")?;
        let customer: String = row.try_get("customer")?;
        let key = AccrualKey {
            day: jiff::civil::Date::from_str(&day).map_err(|error| corrupt("day", &day, &error.to_string()))?,
            carrier: row.try_get("carrier")?,
            customer: (!customer.is_empty()).then_some(customer),
            destination: row.try_get("destination")?,
            service: Service::parse(&service).ok_or_else(|| corrupt("service", &service, "unknown service"))?,
            currency: currency_of_row(row, "currency")?,
            price_currency: currency_of_row(row, "price_currency")?,
        };
        Ok((key, figures_of_row(row)?))
    }
}

fn overflow(_: TotalOverflow) -> StoreError {
    StoreError::Invalid("an accrual sum is past what a decimal holds".into())
}
