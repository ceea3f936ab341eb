//! What the real-time service needs of the ledger: ingesting events one by one with a status
//! each, and API keys.

use crate::dialect::nanoseconds;
use crate::imports::usage_hash;
use crate::{content_hash, Ledger, StoreError};
use reckon_core::{Timestamp, UsageRecord};
use reckon_import::rates::DeckKind;
use std::collections::HashMap;

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
    /// before the commit. `source` names where they came from (`http`, `nats`).
    ///
    /// # Errors
    /// A database error (then nothing of the batch is stored).
    pub async fn ingest_usage(
        &self,
        records: &[UsageRecord],
        source: &str,
        now: Timestamp,
    ) -> Result<Vec<IngestStatus>, StoreError> {
        let mut transaction = self.begin_write().await?;
        let hashes: Vec<String> = records.iter().map(usage_hash).collect();
        let batch_id = content_hash(std::iter::once("ingest").chain(hashes.iter().map(String::as_str)));
        let mut statuses = Vec::with_capacity(records.len());
        for (chunk, chunk_hashes) in records
            .chunks(crate::imports::USAGE_ROWS_PER_STATEMENT)
            .zip(hashes.chunks(crate::imports::USAGE_ROWS_PER_STATEMENT))
        {
            // Two events of one batch with the same id: the first decides.
            let mut first_in_batch: HashMap<&str, &String> = HashMap::new();
            let rows: Vec<(&UsageRecord, &String)> = chunk
                .iter()
                .zip(chunk_hashes)
                .filter(|(record, hash)| first_in_batch.insert(record.record_id.as_str(), hash).is_none())
                .collect();
            let inserted = crate::imports::insert_usage(&mut transaction, self.dialect, &rows, &batch_id).await?;
            let ids = chunk.iter().map(|record| record.record_id.as_str()).filter(|id| !inserted.contains(*id));
            let stored =
                crate::imports::stored_hashes(&mut transaction, self.dialect, "usage_records", "record_id", ids)
                    .await?;
            let mut seen_now = std::collections::HashSet::new();
            for (record, hash) in chunk.iter().zip(chunk_hashes) {
                let id = record.record_id.as_str();
                let status = if inserted.contains(id) && seen_now.insert(id) {
                    IngestStatus::Accepted
                } else if stored.get(id).or_else(|| first_in_batch.get(id).copied().filter(|_| inserted.contains(id)))
                    == Some(hash)
                {
                    IngestStatus::Duplicate
                } else {
                    IngestStatus::Conflict
                };
                statuses.push(status);
            }
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
        transaction.commit().await?;
        Ok(statuses)
    }

    /// Creates an API key with scopes; returns the bearer token, shown once (only its hash is
    /// kept).
    ///
    /// # Errors
    /// A database error.
    pub async fn create_api_key(
        &self,
        scopes: &[&str],
        secret_entropy: &str,
        now: Timestamp,
    ) -> Result<String, StoreError> {
        let key_id = content_hash([secret_entropy, "id"])[..12].to_owned();
        let secret = content_hash([secret_entropy, "secret"]);
        let insert = self
            .dialect
            .sql("INSERT INTO api_keys (key_id, secret_sha256, scopes, created_at_ns) VALUES ({1}, {2}, {3}, {4})");
        sqlx::query(&insert)
            .bind(key_id.clone())
            .bind(content_hash([secret.as_str()]))
            .bind(scopes.join(","))
            .bind(nanoseconds(now))
            .execute(&self.pool)
            .await?;
        Ok(format!("rk_{key_id}_{secret}"))
    }

    /// The scopes of a bearer token; `None` for an unknown or malformed one.
    ///
    /// # Errors
    /// A database error.
    pub async fn api_key_scopes(&self, token: &str) -> Result<Option<Vec<String>>, StoreError> {
        let Some((key_id, secret)) = token.strip_prefix("rk_").and_then(|rest| rest.split_once('_')) else {
            return Ok(None);
        };
        let select = self.dialect.sql("SELECT secret_sha256, scopes FROM api_keys WHERE key_id = {1}");
        let found: Option<(String, String)> =
            sqlx::query_as(&select).bind(key_id.to_owned()).fetch_optional(&self.pool).await?;
        Ok(found
            .filter(|(hash, _)| *hash == content_hash([secret]))
            .map(|(_, scopes)| scopes.split(',').map(str::to_owned).collect()))
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
