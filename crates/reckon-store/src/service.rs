//! What the real-time service needs of the ledger: ingesting events one by one with a status
//! each, and API keys.

use crate::dialect::nanoseconds;
use crate::imports::usage_hash;
use crate::{content_hash, AccrualUpdate, Ledger, StoreError};
use reckon_core::period::Month;
use reckon_core::usage::DeliveryStatus;
use reckon_core::{Timestamp, UsageRecord};
use reckon_import::rates::DeckKind;
use std::collections::{BTreeSet, HashMap, HashSet};

/// How many times an ingest transaction is tried when the database reports a deadlock or a
/// serialization failure (transient: the same transaction succeeds when tried again).
const INGEST_ATTEMPTS_MAX: u32 = 5;

/// An event the service could not store, as received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RejectedEvent {
    /// Where it came from: `nats`.
    pub source: String,
    /// The NATS subject it was published on.
    pub subject: String,
    /// The event (or the whole message when it was not JSON).
    pub payload: String,
    pub reason: String,
}

/// A rejected event as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredRejectedEvent {
    pub rejected_id: String,
    pub event: RejectedEvent,
    pub rejected_at: Timestamp,
    /// When a replay stored it.
    pub replayed_at: Option<Timestamp>,
}

/// An API key as listed: never its secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiKeyInfo {
    pub key_id: String,
    pub scopes: Vec<String>,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
    pub last_used_at: Option<Timestamp>,
}

/// What became of one ingested event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IngestStatus {
    /// Stored now.
    Accepted,
    /// Stored before with the same content: nothing changed.
    Duplicate,
    /// Stored before with other content: refused (corrections go through a dedicated path).
    Conflict,
}

impl Ledger {
    /// Stores events in one transaction and says, per event, whether it was accepted, a harmless
    /// duplicate, or a conflict with a stored event of the same id. Nothing is acknowledged
    /// before the commit. `source` names where they came from (`http`, `nats`). With
    /// `queue_alert_months`, the months of the accepted events are queued for an alert check in
    /// the same transaction (see [`Ledger::pending_alert_months`]). The accepted events' accrual
    /// contributions (`accruals`, one per event) are added to their months' sums in the same
    /// transaction too, or the months marked stale where the sums cannot take them (without
    /// `accruals`, always).
    ///
    /// Replicas of the service may store the same ids at once: the ledger's key on `record_id`
    /// decides (PostgreSQL makes the second writer wait for the first's commit), so each id is
    /// accepted once across them. In PostgreSQL the batch goes first by binary `COPY`s of its
    /// distinct ids, which a stored id fails whole; the batch is then done again by a probe
    /// and `INSERT ... ON CONFLICT DO NOTHING`, which reads what the other writer stored.
    /// Rows are written in `record_id` order so that two such batches take their row locks in
    /// one order and cannot deadlock; a deadlock or serialization failure the database reports
    /// anyway is retried.
    ///
    /// # Errors
    /// A database error (then nothing of the batch is stored).
    pub async fn ingest_usage(
        &self,
        records: &[UsageRecord],
        accruals: Option<&AccrualUpdate<'_>>,
        source: &str,
        queue_alert_months: bool,
        now: Timestamp,
    ) -> Result<Vec<IngestStatus>, StoreError> {
        let mut attempt = 1;
        loop {
            match self.ingest_usage_once(records, accruals, source, queue_alert_months, now).await {
                Err(error) if error.is_transient() && attempt < INGEST_ATTEMPTS_MAX => attempt += 1,
                outcome => return outcome,
            }
        }
    }

    async fn ingest_usage_once(
        &self,
        records: &[UsageRecord],
        accruals: Option<&AccrualUpdate<'_>>,
        source: &str,
        queue_alert_months: bool,
        now: Timestamp,
    ) -> Result<Vec<IngestStatus>, StoreError> {
        match &self.pg {
            Some(pool) => {
                let batch = IngestBatch::new(records);
                let ingest = PgIngest { pool, batch: &batch, accruals, source, queue_alert_months, now };
                let (mut new_rows, mut exclusive) = (NewRows::Copy, false);
                loop {
                    match ingest.attempt(new_rows, exclusive).await {
                        Ok(Some(statuses)) => {
                            self.fold_now_and_then();
                            return Ok(statuses);
                        }
                        Ok(None) if !exclusive => exclusive = true,
                        // Another replica stored one of the ids after the probe: the careful
                        // path lets the key decide row by row.
                        Err(error) if is_unique_violation(&error) && new_rows == NewRows::Copy => {
                            new_rows = NewRows::InsertOnConflict;
                        }
                        Ok(None) => {
                            return Err(StoreError::Invalid(
                                "the accrual months were locked exclusively, yet the ingest asked for it again"
                                    .to_owned(),
                            ))
                        }
                        Err(error) => return Err(error),
                    }
                }
            }
            None => self.ingest_usage_any(records, accruals, source, queue_alert_months, now).await,
        }
    }

    /// [`Ledger::ingest_usage`]'s one attempt through the `Any` pool (SQLite).
    async fn ingest_usage_any(
        &self,
        records: &[UsageRecord],
        accruals: Option<&AccrualUpdate<'_>>,
        source: &str,
        queue_alert_months: bool,
        now: Timestamp,
    ) -> Result<Vec<IngestStatus>, StoreError> {
        let mut transaction = self.begin_write().await?;
        let hashes: Vec<String> = records.iter().map(usage_hash).collect();
        let batch_id = content_hash(std::iter::once("ingest").chain(hashes.iter().map(String::as_str)));
        // By id, stable: a repeated id keeps its first occurrence first.
        let mut order: Vec<usize> = (0..records.len()).collect();
        order.sort_by(|&left, &right| records[left].record_id.as_str().cmp(records[right].record_id.as_str()));
        let sorted: Vec<(&UsageRecord, &String)> =
            order.iter().map(|&index| (&records[index], &hashes[index])).collect();
        let mut sorted_statuses = Vec::with_capacity(records.len());
        for chunk in sorted.chunks(crate::imports::USAGE_ROWS_PER_STATEMENT) {
            // Two events of one batch with the same id: the first is stored, a repeat is a
            // duplicate or a conflict against it (`insert` would let the last one win).
            let mut first_in_batch: HashMap<&str, &String> = HashMap::new();
            let rows: Vec<(&UsageRecord, &String)> = chunk
                .iter()
                .filter(|(record, hash)| match first_in_batch.entry(record.record_id.as_str()) {
                    std::collections::hash_map::Entry::Occupied(_) => false,
                    std::collections::hash_map::Entry::Vacant(entry) => {
                        entry.insert(hash);
                        true
                    }
                })
                .copied()
                .collect();
            let inserted = crate::imports::insert_usage(&mut transaction, self.dialect, &rows, &batch_id).await?;
            let ids = chunk.iter().map(|(record, _)| record.record_id.as_str()).filter(|id| !inserted.contains(*id));
            let stored =
                crate::imports::stored_hashes(&mut transaction, self.dialect, "usage_records", "record_id", ids)
                    .await?;
            let mut seen_now = std::collections::HashSet::new();
            for (record, hash) in chunk {
                let id = record.record_id.as_str();
                let status = if inserted.contains(id) && seen_now.insert(id) {
                    IngestStatus::Accepted
                } else if stored.get(id).or_else(|| first_in_batch.get(id).copied().filter(|_| inserted.contains(id)))
                    == Some(*hash)
                {
                    IngestStatus::Duplicate
                } else {
                    IngestStatus::Conflict
                };
                sorted_statuses.push(status);
            }
        }
        // Back to the request's order.
        let mut statuses = vec![IngestStatus::Conflict; records.len()];
        for (&index, status) in order.iter().zip(sorted_statuses) {
            statuses[index] = status;
        }
        let insert = self.dialect.sql(
            "INSERT INTO import_batches (batch_id, kind, source, rows_count, imported_at_ns) VALUES ({1}, {2}, {3}, {4}, {5}) ON CONFLICT (batch_id) DO NOTHING",
        );
        sqlx::query(&insert)
            .bind(batch_id)
            .bind("ingest")
            .bind(source.to_owned())
            .bind(records.len() as i64)
            .bind(nanoseconds(now))
            .execute(&mut *transaction)
            .await?;
        let accepted: Vec<usize> =
            (0..records.len()).filter(|&index| statuses[index] == IngestStatus::Accepted).collect();
        crate::accruals::add_ingested(&mut transaction, self.dialect, records, &accepted, accruals).await?;
        if queue_alert_months {
            let months = records
                .iter()
                .zip(&statuses)
                .filter(|(_, status)| **status == IngestStatus::Accepted)
                .map(|(record, _)| Month::of(record.started_at));
            crate::alerts::queue_months(&mut transaction, self.dialect, months).await?;
        }
        transaction.commit().await?;
        Ok(statuses)
    }
}

/// A batch as ingest stores it: each event's content hash, the batch id, and the first event
/// of each distinct id (request order), sorted by id so that concurrent batches take their row
/// locks in one order.
struct IngestBatch<'r> {
    records: &'r [UsageRecord],
    hashes: Vec<String>,
    batch_id: String,
    /// Indexes of each id's first event, by id.
    firsts: Vec<usize>,
}

impl<'r> IngestBatch<'r> {
    fn new(records: &'r [UsageRecord]) -> IngestBatch<'r> {
        let hashes: Vec<String> = records.iter().map(usage_hash).collect();
        let batch_id = content_hash(std::iter::once("ingest").chain(hashes.iter().map(String::as_str)));
        // By id, stable: a repeated id keeps its first occurrence first.
        let mut order: Vec<usize> = (0..records.len()).collect();
        order.sort_by(|&left, &right| records[left].record_id.as_str().cmp(records[right].record_id.as_str()));
        order.dedup_by(|later, first| records[*later].record_id == records[*first].record_id);
        IngestBatch { records, hashes, batch_id, firsts: order }
    }

    fn id(&self, index: usize) -> &'r str {
        self.records[index].record_id.as_str()
    }

    /// Each event's status, in request order, given the ids this transaction inserted and the
    /// content hashes stored before under the others: an id's first event is accepted when
    /// inserted; any other event is a duplicate when its content is what is stored under its id
    /// (before, or by its first event now), else a conflict.
    fn statuses(&self, inserted: &HashSet<&str>, stored: &HashMap<String, String>) -> Vec<IngestStatus> {
        let first_of: HashMap<&str, usize> = self.firsts.iter().map(|&index| (self.id(index), index)).collect();
        (0..self.records.len())
            .map(|index| {
                let id = self.id(index);
                let first = first_of[id];
                let now_stored = inserted.contains(id);
                let reference = match stored.get(id) {
                    Some(hash) => Some(hash),
                    None if now_stored => Some(&self.hashes[first]),
                    None => None,
                };
                if now_stored && index == first {
                    IngestStatus::Accepted
                } else if reference == Some(&self.hashes[index]) {
                    IngestStatus::Duplicate
                } else {
                    IngestStatus::Conflict
                }
            })
            .collect()
    }
}

/// Rows per `COPY` statement of an ingest's new rows. A binary `COPY` buffers up to 1,000 rows
/// before it writes them (its byte limit counts text lines only), each in a tuple slot of its
/// own, and PostgreSQL 15 tracks every slot's pin of the table's descriptor in a resource array
/// where equal entries collide: making and dropping n slots costs about n * n / 2 probes. In
/// one statement of 1,000 rows that was 12-17% of the backend's CPU (perf, 2026-12-02); in
/// statements of 250 about 4%, for 3 more statements' set-up (about 1% each).
const COPY_ROWS_PER_STATEMENT: usize = 250;

/// How the new rows of a PostgreSQL ingest are written.
#[derive(Clone, Copy, PartialEq, Eq)]
enum NewRows {
    /// Every distinct id, by binary `COPY`s of [`COPY_ROWS_PER_STATEMENT`] rows, without a
    /// probe: fails whole (unique violation) when one of them is stored, before or by another
    /// transaction meanwhile.
    Copy,
    /// `INSERT ... SELECT FROM UNNEST(...) ON CONFLICT DO NOTHING`: the key decides each row.
    InsertOnConflict,
}

/// One ingest into PostgreSQL, on a concrete connection: binary array binds and `COPY`, and the
/// accrual sums added by one upsert per table.
struct PgIngest<'a> {
    pool: &'a sqlx::PgPool,
    batch: &'a IngestBatch<'a>,
    accruals: Option<&'a AccrualUpdate<'a>>,
    source: &'a str,
    queue_alert_months: bool,
    now: Timestamp,
}

impl PgIngest<'_> {
    /// One transaction; `None` when it must be done again with the accrual months locked
    /// exclusively (`exclusive`; see [`crate::accruals::add_ingested_postgres`]).
    async fn attempt(&self, new_rows: NewRows, exclusive: bool) -> Result<Option<Vec<IngestStatus>>, StoreError> {
        let batch = self.batch;
        let mut transaction = self.pool.begin().await?;
        let ids: Vec<&str> = batch.firsts.iter().map(|&index| batch.id(index)).collect();
        // The COPY path does not probe: any id stored (or being stored) fails it whole.
        let mut stored = match new_rows {
            NewRows::Copy => HashMap::new(),
            NewRows::InsertOnConflict => stored_hashes_postgres(&mut transaction, &ids).await?,
        };
        let new: Vec<usize> =
            batch.firsts.iter().copied().filter(|&index| !stored.contains_key(batch.id(index))).collect();
        let inserted: HashSet<&str> = match new_rows {
            NewRows::Copy => {
                for chunk in new.chunks(COPY_ROWS_PER_STATEMENT) {
                    let mut buffer = Vec::with_capacity(chunk.len() * 256);
                    crate::usage_bulk::copy_usage_records(
                        &mut buffer,
                        chunk.iter().map(|&index| (&batch.records[index], batch.hashes[index].as_str())),
                        &batch.batch_id,
                    );
                    let mut copy = transaction
                        .copy_in_raw(&format!(
                            "COPY usage_records ({}) FROM STDIN WITH (FORMAT binary)",
                            crate::usage_bulk::USAGE_COPY_COLUMNS
                        ))
                        .await?;
                    copy.send(buffer).await?;
                    copy.finish().await?;
                }
                new.iter().map(|&index| batch.id(index)).collect()
            }
            NewRows::InsertOnConflict => {
                let inserted = insert_usage_postgres(&mut transaction, batch, &new).await?;
                // Stored by another transaction since the probe: read what it stored.
                let taken: Vec<&str> =
                    new.iter().map(|&index| batch.id(index)).filter(|id| !inserted.contains(*id)).collect();
                if !taken.is_empty() {
                    stored.extend(stored_hashes_postgres(&mut transaction, &taken).await?);
                }
                inserted
            }
        };
        let statuses = batch.statuses(&inserted, &stored);
        sqlx::query(
            "INSERT INTO import_batches (batch_id, kind, source, rows_count, imported_at_ns) \
             VALUES ($1, 'ingest', $2, $3, $4) ON CONFLICT (batch_id) DO NOTHING",
        )
        .bind(&batch.batch_id)
        .bind(self.source)
        .bind(batch.records.len() as i64)
        .bind(nanoseconds(self.now))
        .execute(&mut *transaction)
        .await?;
        let accepted: Vec<usize> =
            (0..statuses.len()).filter(|&index| statuses[index] == IngestStatus::Accepted).collect();
        // The rows every concurrent ingest of a month shares (its accrual sums, its alert
        // queue entry) last, so that they are locked for as short a time as can be.
        let added = crate::accruals::add_ingested_postgres(
            &mut transaction,
            batch.records,
            &accepted,
            self.accruals,
            exclusive,
        )
        .await?;
        if added == crate::accruals::Added::NeedsExclusive {
            return Ok(None);
        }
        if self.queue_alert_months {
            let months: BTreeSet<Month> =
                accepted.iter().map(|&index| Month::of(batch.records[index].started_at)).collect();
            let months: Vec<String> = months.into_iter().map(|month| month.to_string()).collect();
            if !months.is_empty() {
                // As `alerts::queue_months`, for all the months in one statement, in month order.
                sqlx::query(
                    "INSERT INTO alert_pending_months (month, generation) \
                     SELECT month, 1 FROM UNNEST($1::text[]) AS months (month) ORDER BY month \
                     ON CONFLICT (month) DO UPDATE SET generation = alert_pending_months.generation + 1",
                )
                .bind(months)
                .execute(&mut *transaction)
                .await?;
            }
        }
        transaction.commit().await?;
        Ok(Some(statuses))
    }
}

/// The content hashes stored under some record ids, in one query (a binary array bind).
async fn stored_hashes_postgres(
    connection: &mut sqlx::PgConnection,
    ids: &[&str],
) -> Result<HashMap<String, String>, StoreError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT record_id, content_sha256 FROM usage_records WHERE record_id = ANY($1)")
            .bind(ids)
            .fetch_all(&mut *connection)
            .await?;
    Ok(rows.into_iter().collect())
}

/// Inserts the batch's events at `new` (first events of distinct ids, by id) where their id is
/// not stored, in one statement of binary array binds; returns the ids it inserted.
async fn insert_usage_postgres<'r>(
    connection: &mut sqlx::PgConnection,
    batch: &IngestBatch<'r>,
    new: &[usize],
) -> Result<HashSet<&'r str>, StoreError> {
    if new.is_empty() {
        return Ok(HashSet::new());
    }
    let records = || new.iter().map(|&index| &batch.records[index]);
    let quantities: Vec<String> = records().map(|record| record.quantity.normalize().to_string()).collect();
    let inserted: Vec<String> = sqlx::query_scalar(
        "INSERT INTO usage_records (record_id, service, carrier, carrier_ref, customer, started_at_ns, origin, \
         destination, quantity, network, status, content_sha256, batch_id) \
         SELECT record_id, service, carrier, carrier_ref, customer, started_at_ns, origin, destination, \
         CAST(quantity AS NUMERIC), network, status, content_sha256, $13 \
         FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int8[], $7::text[], \
         $8::text[], $9::text[], $10::text[], $11::text[], $12::text[]) AS rows (record_id, service, carrier, \
         carrier_ref, customer, started_at_ns, origin, destination, quantity, network, status, content_sha256) \
         ON CONFLICT (record_id) DO NOTHING RETURNING record_id",
    )
    .bind(records().map(|record| record.record_id.as_str()).collect::<Vec<&str>>())
    .bind(records().map(|record| record.service.as_str()).collect::<Vec<&str>>())
    .bind(records().map(|record| &*record.carrier).collect::<Vec<&str>>())
    .bind(records().map(|record| record.carrier_ref.as_deref()).collect::<Vec<Option<&str>>>())
    .bind(records().map(|record| record.customer.as_deref()).collect::<Vec<Option<&str>>>())
    .bind(records().map(|record| nanoseconds(record.started_at)).collect::<Vec<i64>>())
    .bind(records().map(|record| record.origin.as_ref().map(|origin| origin.digits())).collect::<Vec<Option<&str>>>())
    .bind(records().map(|record| record.destination.digits()).collect::<Vec<&str>>())
    .bind(quantities.iter().map(String::as_str).collect::<Vec<&str>>())
    .bind(records().map(|record| record.network.as_deref()).collect::<Vec<Option<&str>>>())
    .bind(records().map(|record| record.status.map(DeliveryStatus::as_str)).collect::<Vec<Option<&str>>>())
    .bind(new.iter().map(|&index| batch.hashes[index].as_str()).collect::<Vec<&str>>())
    .bind(&batch.batch_id)
    .fetch_all(&mut *connection)
    .await?;
    let inserted: HashSet<String> = inserted.into_iter().collect();
    Ok(new.iter().map(|&index| batch.id(index)).filter(|id| inserted.contains(*id)).collect())
}

/// Whether an error is PostgreSQL's unique violation (23505).
fn is_unique_violation(error: &StoreError) -> bool {
    matches!(error, StoreError::Database(sqlx::Error::Database(error)) if error.code().as_deref() == Some("23505"))
}

impl Ledger {
    /// Keeps events the service rejected, once each (the same event rejected again for the same
    /// reason, like a redelivered message, is stored once). Returns their ids.
    ///
    /// # Errors
    /// A database error.
    pub async fn store_rejected_events(
        &self,
        events: &[RejectedEvent],
        now: Timestamp,
    ) -> Result<Vec<String>, StoreError> {
        let mut transaction = self.begin_write().await?;
        let insert = self.dialect.sql(
            "INSERT INTO rejected_events (rejected_id, source, subject, payload, reason, rejected_at_ns) \
             VALUES ({1}, {2}, {3}, {4}, {5}, {6}) ON CONFLICT (rejected_id) DO NOTHING",
        );
        let mut ids = Vec::with_capacity(events.len());
        for event in events {
            let rejected_id = content_hash([
                event.source.as_str(),
                event.subject.as_str(),
                event.payload.as_str(),
                event.reason.as_str(),
            ])[..16]
                .to_owned();
            sqlx::query(&insert)
                .bind(rejected_id.clone())
                .bind(event.source.clone())
                .bind(event.subject.clone())
                .bind(event.payload.clone())
                .bind(event.reason.clone())
                .bind(nanoseconds(now))
                .execute(&mut *transaction)
                .await?;
            ids.push(rejected_id);
        }
        transaction.commit().await?;
        Ok(ids)
    }

    /// The rejected events, oldest first; with `pending_only`, those not replayed yet.
    ///
    /// # Errors
    /// A database error.
    pub async fn rejected_events(&self, pending_only: bool) -> Result<Vec<StoredRejectedEvent>, StoreError> {
        let filter = if pending_only { "WHERE replayed_at_ns IS NULL " } else { "" };
        let select = format!(
            "SELECT rejected_id, source, subject, payload, reason, rejected_at_ns, replayed_at_ns \
             FROM rejected_events {filter}ORDER BY rejected_at_ns, rejected_id"
        );
        let rows = sqlx::query(&select).fetch_all(&self.pool).await?;
        rows.iter().map(rejected_of).collect()
    }

    /// One rejected event.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown id, or a database error.
    pub async fn rejected_event(&self, rejected_id: &str) -> Result<StoredRejectedEvent, StoreError> {
        let select = self.dialect.sql(
            "SELECT rejected_id, source, subject, payload, reason, rejected_at_ns, replayed_at_ns \
             FROM rejected_events WHERE rejected_id = {1}",
        );
        let row = sqlx::query(&select).bind(rejected_id.to_owned()).fetch_optional(&self.pool).await?;
        row.as_ref()
            .map(rejected_of)
            .transpose()?
            .ok_or_else(|| StoreError::NotFound(format!("no rejected event {rejected_id:?}")))
    }

    /// Notes that a replay stored a rejected event.
    ///
    /// # Errors
    /// A database error.
    pub async fn mark_rejected_replayed(&self, rejected_id: &str, now: Timestamp) -> Result<(), StoreError> {
        let update = self
            .dialect
            .sql("UPDATE rejected_events SET replayed_at_ns = {1} WHERE rejected_id = {2} AND replayed_at_ns IS NULL");
        sqlx::query(&update).bind(nanoseconds(now)).bind(rejected_id.to_owned()).execute(&self.pool).await?;
        Ok(())
    }

    /// Creates an API key with scopes, valid until `expires_at` when given; returns the bearer
    /// token `rk_<id>_<secret>`, shown once (only the secret's hash is kept). Id and secret come
    /// from the operating system's cryptographic generator (48 and 256 bits).
    ///
    /// # Errors
    /// The generator is unavailable, or a database error.
    pub async fn create_api_key(
        &self,
        scopes: &[&str],
        expires_at: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<String, StoreError> {
        let mut random = [0u8; 38];
        getrandom::fill(&mut random)
            .map_err(|error| StoreError::Invalid(format!("the system's random generator: {error}")))?;
        let hex = |bytes: &[u8]| bytes.iter().map(|byte| format!("{byte:02x}")).collect::<String>();
        let (key_id, secret) = (hex(&random[..6]), hex(&random[6..]));
        let insert = self.dialect.sql(
            "INSERT INTO api_keys (key_id, secret_sha256, scopes, created_at_ns, expires_at_ns) VALUES ({1}, {2}, {3}, {4}, {5})",
        );
        sqlx::query(&insert)
            .bind(key_id.clone())
            .bind(content_hash([secret.as_str()]))
            .bind(scopes.join(","))
            .bind(nanoseconds(now))
            .bind(expires_at.map(nanoseconds))
            .execute(&self.pool)
            .await?;
        Ok(format!("rk_{key_id}_{secret}"))
    }

    /// The scopes of a bearer token at `now`; `None` for an unknown, malformed, revoked or
    /// expired one. Notes the key's use (at most once a minute, to spare a write per request).
    ///
    /// # Errors
    /// A database error.
    pub async fn api_key_scopes(&self, token: &str, now: Timestamp) -> Result<Option<Vec<String>>, StoreError> {
        let Some((key_id, secret)) = token.strip_prefix("rk_").and_then(|rest| rest.split_once('_')) else {
            return Ok(None);
        };
        let select = self.dialect.sql(
            "SELECT secret_sha256, scopes, expires_at_ns, revoked_at_ns, last_used_at_ns FROM api_keys WHERE key_id = {1}",
        );
        // secret hash, scopes, expires, revoked, last used
        type KeyRow = (String, String, Option<i64>, Option<i64>, Option<i64>);
        let found: Option<KeyRow> = sqlx::query_as(&select).bind(key_id.to_owned()).fetch_optional(&self.pool).await?;
        let now_ns = nanoseconds(now);
        let Some((hash, scopes, expires_at, revoked_at, last_used_at)) = found else { return Ok(None) };
        if hash != content_hash([secret]) || revoked_at.is_some() || expires_at.is_some_and(|at| at <= now_ns) {
            return Ok(None);
        }
        const MINUTE_NS: i64 = 60_000_000_000;
        if last_used_at.is_none_or(|at| now_ns.saturating_sub(at) >= MINUTE_NS) {
            let update = self.dialect.sql("UPDATE api_keys SET last_used_at_ns = {1} WHERE key_id = {2}");
            sqlx::query(&update).bind(now_ns).bind(key_id.to_owned()).execute(&self.pool).await?;
        }
        Ok(Some(scopes.split(',').map(str::to_owned).collect()))
    }

    /// Every API key (never its secret), oldest first.
    ///
    /// # Errors
    /// A database error, or a stored instant out of range.
    pub async fn api_keys(&self) -> Result<Vec<ApiKeyInfo>, StoreError> {
        use sqlx::Row;
        let rows = sqlx::query(
            "SELECT key_id, scopes, created_at_ns, expires_at_ns, revoked_at_ns, last_used_at_ns FROM api_keys \
             ORDER BY created_at_ns, key_id",
        )
        .fetch_all(&self.pool)
        .await?;
        let optional = |row: &sqlx::any::AnyRow, column: &'static str| -> Result<Option<Timestamp>, StoreError> {
            match row.try_get::<Option<i64>, _>(column)? {
                Some(_) => crate::dialect::instant(row, column).map(Some),
                None => Ok(None),
            }
        };
        rows.iter()
            .map(|row| {
                Ok(ApiKeyInfo {
                    key_id: row.try_get("key_id")?,
                    scopes: row.try_get::<String, _>("scopes")?.split(',').map(str::to_owned).collect(),
                    created_at: crate::dialect::instant(row, "created_at_ns")?,
                    expires_at: optional(row, "expires_at_ns")?,
                    revoked_at: optional(row, "revoked_at_ns")?,
                    last_used_at: optional(row, "last_used_at_ns")?,
                })
            })
            .collect()
    }

    /// Revokes an API key: from now on it gets 401.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown id, or a database error.
    pub async fn revoke_api_key(&self, key_id: &str, now: Timestamp) -> Result<(), StoreError> {
        let update =
            self.dialect.sql("UPDATE api_keys SET revoked_at_ns = COALESCE(revoked_at_ns, {1}) WHERE key_id = {2}");
        let updated = sqlx::query(&update)
            .bind(nanoseconds(now))
            .bind(key_id.to_owned())
            .execute(&self.pool)
            .await?
            .rows_affected();
        if updated == 0 {
            return Err(StoreError::NotFound(format!("no API key {key_id:?} (reckon apikey list shows them)")));
        }
        Ok(())
    }

    /// Every carrier's rate deck in one, read back from the ledger (a record is rated against
    /// its own carrier's rows).
    ///
    /// # Errors
    /// A stored deck that does not read back, or a database error.
    pub async fn all_rate_decks(&self) -> Result<reckon_core::RateDeck, StoreError> {
        deck_of(self.all_rates_csv().await?, DeckKind::CarrierRates, "stored rates")
    }

    /// Every customer price plan, read back from the ledger (empty when none was imported).
    ///
    /// # Errors
    /// A stored plan that does not read back, or a database error.
    pub async fn price_deck(&self) -> Result<reckon_core::RateDeck, StoreError> {
        deck_of(self.prices_csv().await?, DeckKind::CustomerPrices, "stored price plans")
    }
}

/// Reads stored deck rows back with the file parser (what they were checked with on import).
pub(crate) fn deck_of(text: String, kind: DeckKind, what: &str) -> Result<reckon_core::RateDeck, StoreError> {
    Ok(reckon_import::rates::load_deck_from_text(std::path::Path::new(what), text, kind)
        .map_err(|error| StoreError::Invalid(format!("{what}: {error}")))?
        .deck)
}

fn rejected_of(row: &sqlx::any::AnyRow) -> Result<StoredRejectedEvent, StoreError> {
    use sqlx::Row;
    let replayed_at = match row.try_get::<Option<i64>, _>("replayed_at_ns")? {
        Some(_) => Some(crate::dialect::instant(row, "replayed_at_ns")?),
        None => None,
    };
    Ok(StoredRejectedEvent {
        rejected_id: row.try_get("rejected_id")?,
        event: RejectedEvent {
            source: row.try_get("source")?,
            subject: row.try_get("subject")?,
            payload: row.try_get("payload")?,
            reason: row.try_get("reason")?,
        },
        rejected_at: crate::dialect::instant(row, "rejected_at_ns")?,
        replayed_at,
    })
}
