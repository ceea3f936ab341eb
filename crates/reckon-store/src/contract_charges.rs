//! Contract charges in the ledger (issue 17): the charge lines of invoices (kept with their
//! invoice version) and the carriers' contract terms, effective-dated and versioned, which a
//! ledger run checks them against exactly as a file run does ([`reckon_core::charges`]).

use crate::dialect::{decimal, instant, nanoseconds};
use crate::imports::{audit, record_batch, CURRENT_VERSION};
use crate::{content_hash, ImportOutcome, Ledger, StoreError};
use reckon_core::charges::{ChargeLine, ChargeType};
use reckon_core::contract_terms::{ChargeTerm, TermPeriod, TermRule};
use reckon_core::network::NetworkMap;
use reckon_core::period::Month;
use reckon_core::rating::{rate_all, Party};
use reckon_core::{CompactString, Currency, RateDeck, ReconcileConfig, Service, Timestamp};
use sqlx::{Any, Row, Transaction};
use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;

/// A charge line's content hash, a part of its invoice's.
pub(crate) fn charge_line_hash(line: &ChargeLine) -> String {
    content_hash([
        "charge",
        line.line_id.as_str(),
        &line.invoice_date.map(|date| date.to_string()).unwrap_or_default(),
        line.service.as_str(),
        &nanoseconds(line.started_at).to_string(),
        &line.amount.normalize().to_string(),
        line.currency.as_str(),
        line.charge_type.as_str(),
        line.charge_code.as_deref().unwrap_or(""),
    ])
}

/// Stores an invoice version's charge lines, numbered from `first_index` (after its usage
/// lines).
pub(crate) async fn insert_charge_lines(
    transaction: &mut Transaction<'static, Any>,
    dialect: crate::Dialect,
    lines: &[&ChargeLine],
    version: i64,
    first_index: usize,
) -> Result<(), StoreError> {
    let insert = dialect.sql(
        "INSERT INTO invoice_charge_lines (carrier, invoice_id, version, line_index, line_id, invoice_date, service, \
         started_at_ns, amount, currency, charge_type, charge_code) \
         VALUES ({1}, {2}, {3}, {4}, {5}, {6}, {7}, {8}, {9:d}, {10}, {11}, {12})",
    );
    for (offset, line) in lines.iter().enumerate() {
        sqlx::query(&insert)
            .bind(line.carrier.to_string())
            .bind(line.invoice_id.to_string())
            .bind(version)
            .bind((first_index + offset) as i64)
            .bind(line.line_id.to_string())
            .bind(line.invoice_date.map(|date| date.to_string()))
            .bind(line.service.as_str())
            .bind(nanoseconds(line.started_at))
            .bind(line.amount.normalize().to_string())
            .bind(line.currency.to_string())
            .bind(line.charge_type.as_str())
            .bind(line.charge_code.as_ref().map(ToString::to_string))
            .execute(&mut **transaction)
            .await?;
    }
    Ok(())
}

fn corrupt(column: &'static str, value: &str, reason: &str) -> StoreError {
    StoreError::Corrupt { column, value: value.to_owned(), reason: reason.to_owned() }
}

/// What identifies a term: carrier, kind, code and start. Another figure under the same key is
/// a new version of the term.
fn term_key(term: &ChargeTerm) -> String {
    content_hash([&*term.carrier, term.charge_type().as_str(), term.code.as_str(), &term.effective_from.to_string()])
}

impl Ledger {
    /// The charge lines of the invoices of a carrier's period (current versions), by invoice id
    /// then line order.
    ///
    /// # Errors
    /// A database error or a stored value that does not read back.
    pub async fn charge_lines_of_period(&self, carrier: &str, period: Month) -> Result<Vec<ChargeLine>, StoreError> {
        let select = self.dialect.sql(&format!(
            "SELECT l.carrier, l.invoice_id, l.line_id, l.invoice_date, l.service, l.started_at_ns, \
             CAST(l.amount AS TEXT) AS amount, l.currency, l.charge_type, l.charge_code \
             FROM invoice_charge_lines l JOIN invoices i ON l.carrier = i.carrier AND l.invoice_id = i.invoice_id \
             AND l.version = i.version WHERE i.carrier = {{1}} AND i.period = {{2}} AND {CURRENT_VERSION} \
             ORDER BY l.invoice_id, l.line_index"
        ));
        let rows = sqlx::query(&select).bind(carrier.to_owned()).bind(period.to_string()).fetch_all(&self.pool).await?;
        let mut names: HashMap<String, Arc<str>> = HashMap::new();
        let mut intern = |name: String| names.entry(name).or_insert_with_key(|name| Arc::from(name.as_str())).clone();
        rows.iter()
            .map(|row| {
                let service: String = row.try_get("service")?;
                let currency: String = row.try_get("currency")?;
                let charge_type: String = row.try_get("charge_type")?;
                let invoice_date: Option<String> = row.try_get("invoice_date")?;
                Ok(ChargeLine {
                    carrier: intern(row.try_get("carrier")?),
                    invoice_id: intern(row.try_get("invoice_id")?),
                    invoice_date: invoice_date
                        .map(|date| {
                            jiff::civil::Date::from_str(&date)
                                .map_err(|error| corrupt("invoice_date", &date, &error.to_string()))
                        })
                        .transpose()?,
                    line_id: CompactString::from(row.try_get::<String, _>("line_id")?),
                    charge_type: ChargeType::parse(&charge_type)
                        .ok_or_else(|| corrupt("charge_type", &charge_type, ChargeType::EXPECTED))?,
                    charge_code: row.try_get::<Option<String>, _>("charge_code")?.map(CompactString::from),
                    service: Service::parse(&service).ok_or_else(|| corrupt("service", &service, "unknown service"))?,
                    started_at: instant(row, "started_at_ns")?,
                    amount: decimal(row, "amount")?,
                    currency: Currency::parse(&currency)
                        .ok_or_else(|| corrupt("currency", &currency, "not a currency code"))?,
                })
            })
            .collect()
    }

    /// Stores contract terms (`contract_terms.csv`, rows in file order) in one transaction. A
    /// term is identified by its carrier, kind, code and `effective_from`: stored again with the
    /// same content it is a no-op; with other figures it is refused unless `replace`, which
    /// stores a new version of it and appends an audit entry with the old and the new row.
    /// The carrier's current terms must still be one per code and day.
    ///
    /// # Errors
    /// A changed term without `replace`, terms that overlap those stored, or a database error.
    pub async fn import_contract_terms(
        &self,
        terms: &[ChargeTerm],
        source: &str,
        actor: &str,
        replace: bool,
        now: Timestamp,
    ) -> Result<ImportOutcome, StoreError> {
        let rows: Vec<(String, String, String)> = terms
            .iter()
            .map(|term| {
                let row = reckon_import::contract_terms::term_row(term);
                let hash = content_hash([row.as_str()]);
                (term_key(term), row, hash)
            })
            .collect();
        let batch_id = content_hash(
            std::iter::once("contract_terms").chain(rows.iter().map(|(_, _, hash)| hash.as_str())).chain([source]),
        );
        let mut transaction = self.begin_write().await?;
        if self.dialect == crate::Dialect::Postgres {
            // Two imports at once would each check overlaps against the terms stored before
            // either: one writer at a time (readers go on). SQLite's write transaction is one
            // writer already.
            sqlx::query("LOCK TABLE contract_terms IN SHARE ROW EXCLUSIVE MODE").execute(&mut *transaction).await?;
        }
        let mut outcome = ImportOutcome::default();
        let mut conflicts = Vec::new();
        let latest = self.dialect.sql(
            "SELECT version, row_csv, content_sha256, first_position FROM contract_terms WHERE term_key = {1} \
             ORDER BY version DESC LIMIT 1",
        );
        let insert = self.dialect.sql(
            "INSERT INTO contract_terms (term_key, version, carrier, row_csv, content_sha256, batch_id, \
             imported_at_ns, first_position) VALUES ({1}, {2}, {3}, {4}, {5}, {6}, {7}, {8})",
        );
        // A new term's place among the carrier's: after every term stored, in file order.
        let next_position: i64 = sqlx::query_scalar::<_, Option<i64>>("SELECT MAX(first_position) FROM contract_terms")
            .fetch_one(&mut *transaction)
            .await?
            .map_or(0, |position| position + 1);
        for (index, ((key, row, hash), term)) in rows.iter().zip(terms).enumerate() {
            let stored: Option<(i64, String, String, i64)> =
                sqlx::query_as(&latest).bind(key.clone()).fetch_optional(&mut *transaction).await?;
            let (version, position) = match stored {
                Some((_, _, stored_hash, _)) if stored_hash == *hash => {
                    outcome.unchanged += 1;
                    continue;
                }
                Some((version, old_row, _, position)) if replace => {
                    let subject = format!("{}/{}/{}", term.carrier, term.code, term.effective_from);
                    let detail =
                        format!("version {} supersedes version {version}\nold: {old_row}\nnew: {row}", version + 1);
                    audit(&mut transaction, self.dialect, now, actor, "replace_contract_term", &subject, &detail)
                        .await?;
                    outcome.replaced += 1;
                    (version + 1, position)
                }
                Some(_) => {
                    conflicts.push(format!("{} {} from {}", term.carrier, term.code, term.effective_from));
                    continue;
                }
                None => {
                    outcome.inserted += 1;
                    (1, next_position + index as i64)
                }
            };
            sqlx::query(&insert)
                .bind(key.clone())
                .bind(version)
                .bind(term.carrier.to_string())
                .bind(row.clone())
                .bind(hash.clone())
                .bind(batch_id.clone())
                .bind(nanoseconds(now))
                .bind(position)
                .execute(&mut *transaction)
                .await?;
        }
        if !conflicts.is_empty() {
            return Err(StoreError::Conflict(format!(
                "{} contract terms are stored with other figures (first: {}); import with --replace to supersede them",
                conflicts.len(),
                conflicts[0]
            )));
        }
        // The carriers' terms as now stored must read back: one term per code and day.
        let mut carriers: Vec<&str> = terms.iter().map(|term| &*term.carrier).collect();
        carriers.sort_unstable();
        carriers.dedup();
        for carrier in carriers {
            let text = terms_text(&mut transaction, self.dialect, carrier).await?;
            read_terms(carrier, text)?;
        }
        record_batch(&mut transaction, self.dialect, &batch_id, "contract_terms", source, terms.len(), now).await?;
        transaction.commit().await?;
        Ok(outcome)
    }

    /// A carrier's current contract terms as `contract_terms.csv` text (the header, then one
    /// row per term in the order first stored): a part of a run's id.
    ///
    /// # Errors
    /// A database error.
    pub async fn contract_terms_csv(&self, carrier: &str) -> Result<String, StoreError> {
        let mut transaction = self.pool.begin().await?;
        let text = terms_text(&mut transaction, self.dialect, carrier).await?;
        transaction.commit().await?;
        Ok(text)
    }

    /// A carrier's current contract terms.
    ///
    /// # Errors
    /// A database error or stored terms that do not read back.
    pub async fn contract_terms_of(&self, carrier: &str) -> Result<Vec<ChargeTerm>, StoreError> {
        read_terms(carrier, self.contract_terms_csv(carrier).await?)
    }

    /// Adds to a ledger run's charge context the usage of the earlier months of the quarter that
    /// `period` ends (from the quarter's first instant up to `from`, the start of the run's
    /// window), rated with the run's deck, when a quarterly term of the carrier applies to it:
    /// a quarterly commitment or rebate is checked on the quarter's last month with the three
    /// months' usage.
    ///
    /// # Errors
    /// A database error or a stored record that does not read back.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn add_earlier_quarter_usage(
        &self,
        carrier: &str,
        period: Month,
        from: Timestamp,
        deck: &RateDeck,
        networks: &NetworkMap,
        config: &ReconcileConfig,
        context: &mut reckon_core::charges::ChargeContext,
    ) -> Result<(), StoreError> {
        let quarterly = config.charge_terms.iter().any(|term| {
            *term.carrier == *carrier
                && term.applies_to(period)
                && matches!(
                    term.rule,
                    TermRule::Commitment { period: TermPeriod::Quarter, .. }
                        | TermRule::Rebate { period: TermPeriod::Quarter, .. }
                )
        });
        if !quarterly || period.month % 3 != 0 {
            return Ok(());
        }
        let first = Month { year: period.year, month: period.month - 2 };
        let Some((quarter_start, _)) = first.bounds() else { return Ok(()) };
        if quarter_start >= from {
            return Ok(());
        }
        let usage = self.usage_between(carrier, quarter_start, from).await?;
        let ratings = rate_all(deck, &usage, Party::Carrier, networks);
        for (record, rating) in usage.iter().zip(&ratings) {
            if let Some(rating) = rating {
                context.add_record(&config.charge_terms, record, rating);
            }
        }
        Ok(())
    }
}

/// A carrier's current terms as text, in the order first stored.
async fn terms_text(
    transaction: &mut Transaction<'static, Any>,
    dialect: crate::Dialect,
    carrier: &str,
) -> Result<String, StoreError> {
    let select = dialect.sql(
        "SELECT t.row_csv FROM contract_terms t WHERE t.carrier = {1} \
         AND t.version = (SELECT MAX(u.version) FROM contract_terms u WHERE u.term_key = t.term_key) \
         ORDER BY t.first_position",
    );
    let rows: Vec<String> = sqlx::query_scalar(&select).bind(carrier.to_owned()).fetch_all(&mut **transaction).await?;
    let mut text = format!("{}\n", reckon_import::contract_terms::HEADER);
    for row in rows {
        text.push_str(&row);
        text.push('\n');
    }
    Ok(text)
}

fn read_terms(carrier: &str, text: String) -> Result<Vec<ChargeTerm>, StoreError> {
    let name = std::path::PathBuf::from(format!("stored contract terms of {carrier}"));
    Ok(reckon_import::contract_terms::read_contract_terms(&name, text)?)
}

/// A commitment of a carrier and its forecast on a day ([`Ledger::commitment_forecasts`]).
#[derive(Clone, Debug, PartialEq)]
pub struct CommitmentStatus {
    pub term: ChargeTerm,
    /// `Err`: why the accruals cannot measure it.
    pub forecast: Result<reckon_core::contract_terms::CommitmentForecast, String>,
}

impl Ledger {
    /// The forecast on `day` of each commitment of a carrier that its period holding `day` is
    /// checked for ([`ChargeTerm::forecast_applies`]), from the
    /// real-time accruals: the spend so far in the commitment's period (its first day to `day`
    /// included), projected at the run rate ([`ChargeTerm::forecast`]).
    ///
    /// # Errors
    /// A database error, or stored terms or sums that do not read back.
    pub async fn commitment_forecasts(
        &self,
        carrier: &str,
        day: jiff::civil::Date,
    ) -> Result<Vec<CommitmentStatus>, StoreError> {
        let mut statuses = Vec::new();
        let deck_epoch = self.deck_epoch().await?;
        for term in self.contract_terms_of(carrier).await? {
            let Some((first_day, _)) = term.commitment_period(day) else { continue };
            if !term.forecast_applies(day) {
                continue;
            }
            let forecast = match term.measured_by_accruals() {
                Err(reason) => Err(reason.to_owned()),
                Ok(()) => 'measured: {
                    // A month whose sums are stale (usage imported outside the service, or
                    // rated before the last deck import, not yet made again) would read as
                    // other spend: said, never shown as a figure.
                    let month_of = |date: jiff::civil::Date| Month { year: date.year(), month: date.month() };
                    let (first, last) = (month_of(first_day), month_of(day));
                    let stale: Vec<String> = self
                        .accrual_months(first, last)
                        .await?
                        .into_iter()
                        .filter(|(_, rated_with)| {
                            rated_with.as_deref().and_then(reckon_core::accrual::RatedWith::deck_epoch_of)
                                != Some(deck_epoch)
                        })
                        .map(|(month, _)| month.to_string())
                        .collect();
                    if !stale.is_empty() {
                        break 'measured Err(format!(
                            "the accruals of {} are not made yet (the service makes them on GET /v1/accruals or /v1/commitments)",
                            stale.join(", ")
                        ));
                    }
                    let next_day = day.tomorrow().map_err(|error| StoreError::Invalid(error.to_string()))?;
                    let sums = self.accrual_sums(first_day, next_day, Some(carrier), None).await?;
                    let mut so_far = reckon_core::Decimal::ZERO;
                    for (key, sums) in &sums {
                        if term.counts_accrued(key.service, key.currency) {
                            so_far = so_far.checked_add(sums.cost).ok_or_else(|| {
                                StoreError::Invalid(format!("the spend of {carrier} past the largest amount"))
                            })?;
                        }
                    }
                    term.forecast(day, so_far)
                        .ok_or_else(|| format!("the projection of {} is past the largest amount", term.code))
                }
            };
            statuses.push(CommitmentStatus { term, forecast });
        }
        Ok(statuses)
    }
}
