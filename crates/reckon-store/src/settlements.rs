//! Settlement statements: computed from the ledger by `reckon-core`, stored once and never
//! changed; a correction is a new statement that supersedes the last one.

use crate::dialect::{decimal, instant, nanoseconds};
use crate::{content_hash, Ledger, StoreError};
use jiff::civil::Date;
use reckon_core::charges::ChargeType;
use reckon_core::dispute::dispute_share;
use reckon_core::fx::FxTable;
use reckon_core::period::Month;
use reckon_core::settlement::{
    journal, settle, settle_in_currency, Conversion, IssuedStatement, JournalEntry, SettlementError, SettlementInputs,
    Statement,
};
use reckon_core::{Currency, Decimal, Discrepancy, Timestamp};
use sqlx::any::AnyRow;
use sqlx::Row;
use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;

/// A stored statement.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredStatement {
    pub statement_id: String,
    pub carrier: String,
    pub period: String,
    pub statement: Statement,
    pub supersedes: Option<String>,
    pub created_at: Timestamp,
    /// Whether this call stored it.
    pub created: bool,
}

/// How `settle_period_with` settles a carrier billed in several currencies.
#[derive(Clone, Copy, Debug, Default)]
pub struct SettleOptions<'a> {
    /// Issue a correction where the figures changed since the statement in force.
    pub correct: bool,
    /// Settle only this currency (one statement per currency otherwise).
    pub currency: Option<Currency>,
    /// The contract's settlement currency and the rates into it: one statement in that currency,
    /// every other currency converted at the rates of the period's last day.
    pub settlement_currency: Option<(Currency, &'a FxTable)>,
}

impl Ledger {
    /// Settles a carrier's period billed in one currency (see `settle_period_with`).
    ///
    /// # Errors
    /// As `settle_period_with`, and figures in several currencies.
    pub async fn settle_period(
        &self,
        carrier: &str,
        period: Month,
        correct: bool,
        now: Timestamp,
    ) -> Result<StoredStatement, StoreError> {
        let options = SettleOptions { correct, ..SettleOptions::default() };
        let mut statements = self.settle_period_with(carrier, period, &options, now).await?;
        match statements.len() {
            1 => Ok(statements.remove(0)),
            _ => Err(several_currencies(
                carrier,
                period,
                statements.iter().map(|stored| stored.statement.inputs.currency),
            )),
        }
    }

    /// Settles a carrier's period: invoiced (current invoice versions with lines in the period),
    /// minus credits accepted in its disputes, minus the claims still pending, minus our
    /// receivables, rounded to the currency's minor unit; one statement per currency, or one in
    /// the settlement currency. Settling again with the same figures returns the stored
    /// statement; changed figures need `correct`, which stores a new statement superseding the
    /// last of its currency.
    ///
    /// # Errors
    /// Nothing to settle, changed figures without `correct`, a missing rate, or a database error.
    pub async fn settle_period_with(
        &self,
        carrier: &str,
        period: Month,
        options: &SettleOptions<'_>,
        now: Timestamp,
    ) -> Result<Vec<StoredStatement>, StoreError> {
        let per_currency = self.settlement_figures(carrier, period).await?;
        let invalid = |error: SettlementError| StoreError::Invalid(format!("settling {carrier} {period}: {error}"));
        let statements = match options.settlement_currency {
            Some((currency, fx)) => {
                if options.currency.is_some_and(|only| only != currency) {
                    return Err(StoreError::Invalid(format!(
                        "{carrier} settles in {currency} by contract: --currency can only be {currency}"
                    )));
                }
                let date = Date::new(period.year, period.month, 1)
                    .map_err(|error| StoreError::Invalid(error.to_string()))?
                    .last_of_month();
                vec![settle_in_currency(&per_currency, currency, date, fx).map_err(invalid)?]
            }
            None => {
                let mut statements = Vec::new();
                for figures in per_currency {
                    if options.currency.is_none_or(|only| only == figures.currency) {
                        statements.push(settle(figures).map_err(invalid)?);
                    }
                }
                if statements.is_empty() {
                    let only = options.currency.map(|currency| format!(" in {currency}")).unwrap_or_default();
                    return Err(StoreError::NotFound(format!("invoices of {carrier} for {period}{only}")));
                }
                statements
            }
        };
        let mut stored = Vec::new();
        for statement in statements {
            stored.push(self.issue_statement(carrier, period, statement, options.correct, now).await?);
        }
        Ok(stored)
    }

    /// Stores a statement unless the one in force for its currency has the same figures.
    async fn issue_statement(
        &self,
        carrier: &str,
        period: Month,
        statement: Statement,
        correct: bool,
        now: Timestamp,
    ) -> Result<StoredStatement, StoreError> {
        let currency = statement.inputs.currency;
        let latest = self.latest_statement_in(carrier, &period.to_string(), currency).await?;
        let Some(latest) = latest else {
            return self.store_statement(carrier, period, statement, None, now).await;
        };
        if latest.statement == statement {
            return Ok(latest);
        }
        if !correct {
            return Err(StoreError::Conflict(format!(
                "statement {} for {carrier} {period} says {} {currency}, the ledger now gives {} {currency}: settle with --correct to issue a correction",
                latest.statement_id, latest.statement.net, statement.net
            )));
        }
        self.store_statement(carrier, period, statement, Some(latest.statement_id), now).await
    }

    /// A carrier's period's figures, per currency (sorted): invoices, disputes and receivables
    /// each count in their own currency.
    async fn settlement_figures(&self, carrier: &str, period: Month) -> Result<Vec<SettlementInputs>, StoreError> {
        let mut figures: BTreeMap<Currency, SettlementInputs> = BTreeMap::new();
        let overflow = |currency: Currency| {
            StoreError::Invalid(format!("settling {carrier} {period}: {}", SettlementError::Overflow { currency }))
        };
        let mut add = |currency: Currency, pick: &dyn Fn(&mut SettlementInputs) -> &mut Decimal, amount: Decimal| {
            let entry = figures.entry(currency).or_insert_with(|| SettlementInputs::zero(currency));
            let sum = pick(entry);
            *sum = sum.checked_add(amount).ok_or_else(|| overflow(currency))?;
            Ok::<(), StoreError>(())
        };
        // The period's invoices, each counted once, in full, whatever months its lines fall in.
        for line in self.invoice_lines_of_period(carrier, period).await? {
            add(line.currency, &|figures| &mut figures.invoiced, line.amount)?;
        }
        // Their contract charge lines count in full too, and each type is shown on its own.
        let charge_lines = self.charge_lines_of_period(carrier, period).await?;
        let terms = self.contract_terms_of(carrier).await?;
        for line in &charge_lines {
            add(line.currency, &|figures| &mut figures.invoiced, line.amount)?;
            let charge_type = line.booked_as(&terms);
            add(line.currency, &move |figures| figures.charges.entry(charge_type).or_default(), line.amount)?;
        }
        // Rebates the contract grants that no invoice credits (the `rebate_missing` of the
        // period's run of what the ledger holds now) are due to us: receivables, netted like our
        // own invoices.
        for (currency, due) in
            reckon_core::settlement::rebates_due(&self.rebates_missing_of(carrier, period, &terms).await?)
        {
            add(currency, &|figures| &mut figures.receivable, due)?;
            add(currency, &|figures| &mut figures.rebates_due, due)?;
        }
        // A rebate of an earlier period credited on this period's invoices was netted by that
        // period already when its run found it missing: added back, taken once.
        let late = late_rebate_credits(&charge_lines, &terms, period);
        if let Some(first_due) = late.keys().map(|(_, due_month, _)| *due_month).min() {
            // What the invoices of the months between credited late before (each month's
            // lines read once).
            let mut credited_between: BTreeMap<(Vec<usize>, Month, Currency), Decimal> = BTreeMap::new();
            let mut between = first_due.next();
            while between < period {
                let lines = self.charge_lines_of_period(carrier, between).await?;
                for (key, credited) in late_rebate_credits(&lines, &terms, between) {
                    let currency = key.2;
                    let sum = credited_between.entry(key).or_default();
                    *sum = sum.checked_add(credited).ok_or_else(|| overflow(currency))?;
                }
                between = between.next();
            }
            // Per rebate month and currency, this period's credits and those of the months
            // between, each with the terms it pays.
            let mut late_now: BTreeMap<(Month, Currency), Vec<reckon_core::settlement::LateCredit>> = BTreeMap::new();
            for ((term_indexes, due_month, currency), credited) in late {
                late_now.entry((due_month, currency)).or_default().push((term_indexes, credited));
            }
            let mut missing_by_month: HashMap<Month, Vec<Discrepancy>> = HashMap::new();
            for ((due_month, currency), credited_now) in late_now {
                if let std::collections::hash_map::Entry::Vacant(entry) = missing_by_month.entry(due_month) {
                    entry.insert(self.rebates_missing_of(carrier, due_month, &terms).await?);
                }
                let missing = &missing_by_month[&due_month];
                let due_of = |term_indexes: &[usize]| {
                    let codes: Vec<&str> = term_indexes.iter().map(|index| terms[*index].code.as_str()).collect();
                    let rows: Vec<Discrepancy> = missing
                        .iter()
                        .filter(|row| row.currency == currency && codes.contains(&row.destination.as_str()))
                        .cloned()
                        .collect();
                    reckon_core::settlement::rebates_due(&rows).get(&currency).copied().unwrap_or_default()
                };
                let credited_before: Vec<reckon_core::settlement::LateCredit> = credited_between
                    .iter()
                    .filter(|((_, month, between_currency), _)| *month == due_month && *between_currency == currency)
                    .map(|((term_indexes, ..), credited)| (term_indexes.clone(), *credited))
                    .collect();
                let netted =
                    reckon_core::settlement::late_rebates_to_add_back(&credited_now, &credited_before, &due_of);
                add(currency, &|figures| &mut figures.rebates_netted_before, netted)?;
            }
        }
        // Summary invoices count in full too: each group's amount.
        for line in self.summary_lines_of_period(carrier, period).await? {
            add(line.currency, &|figures| &mut figures.invoiced, line.amount)?;
        }
        let charge_types: HashMap<(&str, &str), ChargeType> = charge_lines
            .iter()
            .map(|line| ((&*line.invoice_id, line.line_id.as_str()), line.booked_as(&terms)))
            .collect();
        // A dispute belongs to an invoice version: only those of the versions settled count.
        let current_versions: HashMap<String, i64> = self
            .invoice_versions(carrier)
            .await?
            .into_iter()
            .map(|(invoice_id, version, ..)| (invoice_id, version))
            .collect();
        for dispute in self.disputes_of(carrier, &period.to_string()).await? {
            if current_versions.get(&dispute.invoice_id) != Some(&dispute.invoice_version) {
                continue;
            }
            let currency = parse_currency("disputes.currency", &dispute.currency)?;
            let share = dispute_share(dispute.state, dispute.claimed_total, dispute.credited_total());
            add(currency, &|figures| &mut figures.withheld, share.withheld)?;
            add(currency, &|figures| &mut figures.accepted_credits, share.accepted_credits)?;
            // A credit granted on a charge line goes back to its charge type's account.
            for (line, credited) in &dispute.lines {
                let Some(charge_type) = charge_types.get(&(dispute.invoice_id.as_str(), line.line_id.as_str())) else {
                    continue;
                };
                let credit = dispute_share(dispute.state, line.claimed, *credited).accepted_credits;
                if credit.is_zero() {
                    // No part of zero: a statement read back has none, and must compare equal.
                    continue;
                }
                let charge_type = *charge_type;
                add(currency, &move |figures| figures.credited_charges.entry(charge_type).or_default(), credit)?;
            }
        }
        let select = self.dialect.sql(
            "SELECT CAST(amount AS TEXT) AS amount, currency FROM receivables WHERE carrier = {1} AND period = {2}",
        );
        for row in sqlx::query(&select).bind(carrier.to_owned()).bind(period.to_string()).fetch_all(&self.pool).await? {
            let currency: String = row.try_get("currency")?;
            add(
                parse_currency("receivables.currency", &currency)?,
                &|figures| &mut figures.receivable,
                decimal(&row, "amount")?,
            )?;
        }
        if figures.is_empty() {
            return Err(StoreError::NotFound(format!("invoices of {carrier} for {period}")));
        }
        Ok(figures.into_values().collect())
    }

    /// The `rebate_missing` rows of a carrier's period, from its newest run of what the ledger
    /// holds now: none when no rebate term of the carrier is checked on the period, or when the
    /// period has no invoice of the carrier (a rebate is reported missing on one).
    ///
    /// # Errors
    /// A period with invoices and a rebate checked on it but no run, or only runs that
    /// [`reckon_core::settlement::run_staleness`] finds out of date (the latest's reason is
    /// given), or a database error.
    async fn rebates_missing_of(
        &self,
        carrier: &str,
        period: Month,
        terms: &[reckon_core::contract_terms::ChargeTerm],
    ) -> Result<Vec<Discrepancy>, StoreError> {
        if crate::runs::rebate_checked_on(terms, period).is_none() {
            return Ok(Vec::new());
        }
        let period_text = period.to_string();
        let current: BTreeMap<String, i64> = self
            .invoice_versions(carrier)
            .await?
            .into_iter()
            .filter(|(.., invoice_period)| invoice_period.as_deref() == Some(period_text.as_str()))
            .map(|(invoice_id, version, ..)| (invoice_id, version))
            .collect();
        if current.is_empty() {
            return Ok(Vec::new());
        }
        let reconcile = format!("run `reckon reconcile --carrier {carrier} --period {period}` before settling");
        let runs = self.runs_of(carrier, period).await?;
        if runs.is_empty() {
            return Err(StoreError::Conflict(format!(
                "{carrier} has rebates checked on {period} and {period} was never reconciled, so the rebates due are not known: {reconcile}"
            )));
        }
        let basis = self.rebate_basis(carrier, period, terms).await?;
        let mut latest_reason = None;
        for run_id in &runs {
            let (reconciled, run_basis) = self.run_rebate_inputs(run_id).await?;
            match reckon_core::settlement::run_staleness(&reconciled, &current, run_basis == basis) {
                None => return self.run_rebates_missing(run_id).await,
                Some(reason) => {
                    latest_reason.get_or_insert(reason);
                }
            }
        }
        Err(StoreError::Conflict(format!(
            "the rebates due of {carrier} {period} come from a run of it, and its latest is out of date ({}): {reconcile}",
            latest_reason.unwrap_or_default()
        )))
    }

    async fn store_statement(
        &self,
        carrier: &str,
        period: Month,
        statement: Statement,
        supersedes: Option<String>,
        now: Timestamp,
    ) -> Result<StoredStatement, StoreError> {
        let figures = |inputs: &SettlementInputs| {
            [inputs.invoiced, inputs.accepted_credits, inputs.withheld, inputs.receivable]
                .map(|value| value.normalize().to_string())
        };
        let mut hashed: Vec<String> =
            vec![carrier.to_owned(), period.to_string(), supersedes.clone().unwrap_or_default()];
        hashed.extend(figures(&statement.inputs));
        hashed.push(statement.net.normalize().to_string());
        // Conversions are hashed after the figures, so a statement without any keeps its id.
        for conversion in &statement.conversions {
            hashed.push(conversion.from.currency.to_string());
            hashed.extend(figures(&conversion.from));
            hashed.push(conversion.rate.normalize().to_string());
            hashed.push(conversion.date.to_string());
        }
        // The parts (issue 17) after those, so a statement without any keeps its id too.
        let parts = statement_parts(&statement.inputs);
        for (part, amount) in &parts {
            hashed.push(format!("{part}={amount}"));
        }
        let statement_id = content_hash(hashed.iter().map(String::as_str))[..16].to_owned();
        let mut transaction = self.begin_write().await?;
        let insert = self.dialect.sql(
            "INSERT INTO statements (statement_id, carrier, period, currency, invoiced, accepted_credits, withheld, receivable, net_exact, net, supersedes, created_at_ns) \
             VALUES ({1}, {2}, {3}, {4}, {5:d}, {6:d}, {7:d}, {8:d}, {9:d}, {10:d}, {11}, {12})",
        );
        sqlx::query(&insert)
            .bind(statement_id.clone())
            .bind(carrier.to_owned())
            .bind(period.to_string())
            .bind(statement.inputs.currency.to_string())
            .bind(statement.inputs.invoiced.normalize().to_string())
            .bind(statement.inputs.accepted_credits.normalize().to_string())
            .bind(statement.inputs.withheld.normalize().to_string())
            .bind(statement.inputs.receivable.normalize().to_string())
            .bind(statement.net_exact.normalize().to_string())
            .bind(statement.net.normalize().to_string())
            .bind(supersedes.clone())
            .bind(nanoseconds(now))
            .execute(&mut *transaction)
            .await?;
        let insert = self.dialect.sql(
            "INSERT INTO statement_conversions (statement_id, from_currency, invoiced, accepted_credits, withheld, receivable, rate, rate_date) \
             VALUES ({1}, {2}, {3:d}, {4:d}, {5:d}, {6:d}, {7}, {8})",
        );
        for conversion in &statement.conversions {
            let [invoiced, accepted_credits, withheld, receivable] = figures(&conversion.from);
            sqlx::query(&insert)
                .bind(statement_id.clone())
                .bind(conversion.from.currency.to_string())
                .bind(invoiced)
                .bind(accepted_credits)
                .bind(withheld)
                .bind(receivable)
                .bind(conversion.rate.normalize().to_string())
                .bind(conversion.date.to_string())
                .execute(&mut *transaction)
                .await?;
        }
        let insert =
            self.dialect.sql("INSERT INTO statement_parts (statement_id, part, amount) VALUES ({1}, {2}, {3:d})");
        for (part, amount) in parts {
            sqlx::query(&insert).bind(statement_id.clone()).bind(part).bind(amount).execute(&mut *transaction).await?;
        }
        transaction.commit().await?;
        Ok(StoredStatement {
            statement_id,
            carrier: carrier.to_owned(),
            period: period.to_string(),
            statement,
            supersedes,
            created_at: now,
            created: true,
        })
    }

    /// The statement in force for a carrier's period: the one no other supersedes, when the
    /// period was settled in one currency.
    ///
    /// # Errors
    /// Statements in force in several currencies (name one: `latest_statement_in`), or a
    /// database error.
    pub async fn latest_statement(&self, carrier: &str, period: &str) -> Result<Option<StoredStatement>, StoreError> {
        let mut in_force: Vec<StoredStatement> =
            self.statement_chains(carrier, period).await?.into_iter().filter_map(|mut chain| chain.pop()).collect();
        match in_force.len() {
            0 | 1 => Ok(in_force.pop()),
            _ => Err(StoreError::Conflict(format!(
                "{carrier} {period} is settled in several currencies ({}): name one",
                in_force.iter().map(|stored| stored.statement.inputs.currency.as_str()).collect::<Vec<_>>().join(", ")
            ))),
        }
    }

    /// The statement in force for a carrier's period in one currency.
    ///
    /// # Errors
    /// A database error.
    pub async fn latest_statement_in(
        &self,
        carrier: &str,
        period: &str,
        currency: Currency,
    ) -> Result<Option<StoredStatement>, StoreError> {
        let chains = self.statement_chains(carrier, period).await?;
        Ok(chains
            .into_iter()
            .filter_map(|mut chain| chain.pop())
            .find(|stored| stored.statement.inputs.currency == currency))
    }

    /// Every statement of a carrier's period, chain by chain (one per currency), each chain in
    /// issue order: the first, then each correction after the statement it supersedes.
    ///
    /// # Errors
    /// A database error.
    pub async fn statement_chains(&self, carrier: &str, period: &str) -> Result<Vec<Vec<StoredStatement>>, StoreError> {
        let select = self.dialect.sql(&format!(
            "SELECT {STATEMENT_COLUMNS} FROM statements WHERE carrier = {{1}} AND period = {{2}} \
             ORDER BY currency, created_at_ns, statement_id"
        ));
        let rows = sqlx::query(&select).bind(carrier.to_owned()).bind(period.to_owned()).fetch_all(&self.pool).await?;
        let mut statements: Vec<StoredStatement> =
            rows.iter().map(|row| statement_from_row(row, carrier, period)).collect::<Result<_, _>>()?;
        let select = self.dialect.sql(
            "SELECT c.statement_id, c.from_currency, CAST(c.invoiced AS TEXT) AS invoiced, \
             CAST(c.accepted_credits AS TEXT) AS accepted_credits, CAST(c.withheld AS TEXT) AS withheld, \
             CAST(c.receivable AS TEXT) AS receivable, c.rate, c.rate_date \
             FROM statement_conversions c JOIN statements s ON s.statement_id = c.statement_id \
             WHERE s.carrier = {1} AND s.period = {2} ORDER BY c.statement_id, c.from_currency",
        );
        let rows = sqlx::query(&select).bind(carrier.to_owned()).bind(period.to_owned()).fetch_all(&self.pool).await?;
        for row in &rows {
            let statement_id: String = row.try_get("statement_id")?;
            let conversion = conversion_from_row(row)?;
            if let Some(stored) = statements.iter_mut().find(|stored| stored.statement_id == statement_id) {
                stored.statement.conversions.push(conversion);
            }
        }
        let select = self.dialect.sql(
            "SELECT p.statement_id, p.part, CAST(p.amount AS TEXT) AS amount \
             FROM statement_parts p JOIN statements s ON s.statement_id = p.statement_id \
             WHERE s.carrier = {1} AND s.period = {2} ORDER BY p.statement_id, p.part",
        );
        let rows = sqlx::query(&select).bind(carrier.to_owned()).bind(period.to_owned()).fetch_all(&self.pool).await?;
        for row in &rows {
            let statement_id: String = row.try_get("statement_id")?;
            let part: String = row.try_get("part")?;
            let amount = decimal(row, "amount")?;
            let Some(stored) = statements.iter_mut().find(|stored| stored.statement_id == statement_id) else {
                continue;
            };
            let inputs = &mut stored.statement.inputs;
            let credited = part.strip_prefix(CREDITED).and_then(ChargeType::parse);
            match ChargeType::parse(&part) {
                _ if part == REBATES_DUE => inputs.rebates_due = amount,
                _ if part == REBATES_NETTED_BEFORE => inputs.rebates_netted_before = amount,
                _ if credited.is_some() => {
                    inputs.credited_charges.extend(credited.map(|charge_type| (charge_type, amount)));
                }
                Some(charge_type) => {
                    inputs.charges.insert(charge_type, amount);
                }
                None => {
                    return Err(StoreError::Corrupt {
                        column: "statement_parts.part",
                        value: part,
                        reason: "not a charge type, rebates_due, rebates_netted_before or credited:<type>".into(),
                    })
                }
            }
        }
        let successor: HashMap<&str, &StoredStatement> = statements
            .iter()
            .filter_map(|statement| statement.supersedes.as_deref().map(|old| (old, statement)))
            .collect();
        let mut chains = Vec::new();
        for root in statements.iter().filter(|statement| statement.supersedes.is_none()) {
            let mut chain = vec![root.clone()];
            while let Some(next) = successor.get(chain[chain.len() - 1].statement_id.as_str()) {
                chain.push((*next).clone());
            }
            chains.push(chain);
        }
        Ok(chains)
    }

    /// The journal of a carrier's period: per currency, every statement's entries in issue
    /// order, each superseded statement reversed before the statement that corrects it.
    ///
    /// # Errors
    /// No statement for the period, a figure that cannot be booked, or a database error.
    pub async fn journal(&self, carrier: &str, period: &str) -> Result<Vec<JournalEntry>, StoreError> {
        let chains = self.statement_chains(carrier, period).await?;
        if chains.is_empty() {
            return Err(StoreError::NotFound(format!("a statement of {carrier} for {period}")));
        }
        let mut entries = Vec::new();
        for chain in &chains {
            let issued: Vec<IssuedStatement<'_>> = chain
                .iter()
                .map(|stored| IssuedStatement {
                    statement_id: &stored.statement_id,
                    date: stored.created_at.to_zoned(jiff::tz::TimeZone::UTC).date(),
                    statement: &stored.statement,
                })
                .collect();
            entries.extend(journal(&issued, carrier, period).map_err(|error| StoreError::Invalid(error.to_string()))?);
        }
        Ok(entries)
    }
}

/// The part of a statement's receivable that is rebates due to us (`statement_parts.part`).
const REBATES_DUE: &str = "rebates_due";
/// Rebates credited late that an earlier period netted already (`statement_parts.part`).
const REBATES_NETTED_BEFORE: &str = "rebates_netted_before";
/// The prefix of the part of the accepted credits granted on a charge type's lines.
const CREDITED: &str = "credited:";

/// A statement's parts as stored: each charge type's amount (zero too), then the rebates due,
/// the rebates netted before and each charge type's accepted credits, those only when not zero
/// (so that statements without them keep their ids).
fn statement_parts(inputs: &SettlementInputs) -> Vec<(String, String)> {
    let mut parts: Vec<(String, String)> = inputs
        .charges
        .iter()
        .map(|(charge_type, amount)| (charge_type.as_str().to_owned(), amount.normalize().to_string()))
        .collect();
    if !inputs.rebates_due.is_zero() {
        parts.push((REBATES_DUE.to_owned(), inputs.rebates_due.normalize().to_string()));
    }
    if !inputs.rebates_netted_before.is_zero() {
        parts.push((REBATES_NETTED_BEFORE.to_owned(), inputs.rebates_netted_before.normalize().to_string()));
    }
    for (charge_type, amount) in &inputs.credited_charges {
        if !amount.is_zero() {
            parts.push((format!("{CREDITED}{}", charge_type.as_str()), amount.normalize().to_string()));
        }
    }
    parts
}

/// The rebates of earlier periods that lines of `period`'s invoices credit late
/// ([`reckon_core::charges::late_rebate`]), as positive amounts per rebate (its terms), month
/// checked on and currency.
fn late_rebate_credits(
    lines: &[reckon_core::charges::ChargeLine],
    terms: &[reckon_core::contract_terms::ChargeTerm],
    period: Month,
) -> BTreeMap<(Vec<usize>, Month, Currency), Decimal> {
    let mut credits: BTreeMap<(Vec<usize>, Month, Currency), Decimal> = BTreeMap::new();
    for line in lines {
        if let Some(late) = reckon_core::charges::late_rebate(line, terms, period) {
            let credit = credits.entry((late.term_indexes, late.due_month, line.currency)).or_default();
            // Past the largest decimal the amounts were refused at import (FORMATS.md bounds).
            *credit = credit.checked_sub(line.amount).unwrap_or(Decimal::MAX);
        }
    }
    credits
}

const STATEMENT_COLUMNS: &str = "statement_id, currency, CAST(invoiced AS TEXT) AS invoiced, \
     CAST(accepted_credits AS TEXT) AS accepted_credits, CAST(withheld AS TEXT) AS withheld, \
     CAST(receivable AS TEXT) AS receivable, CAST(net_exact AS TEXT) AS net_exact, CAST(net AS TEXT) AS net, \
     supersedes, created_at_ns";

fn parse_currency(column: &'static str, text: &str) -> Result<Currency, StoreError> {
    Currency::parse(text).ok_or_else(|| StoreError::Corrupt {
        column,
        value: text.to_owned(),
        reason: "not a code".into(),
    })
}

fn several_currencies(carrier: &str, period: Month, currencies: impl Iterator<Item = Currency>) -> StoreError {
    let codes: Vec<String> = currencies.map(|currency| currency.to_string()).collect();
    StoreError::Invalid(format!(
        "{carrier} billed {period} in several currencies ({}): settle each with --currency, or all at once, \
         or give the carrier a settlement_currency in contracts.csv",
        codes.join(", ")
    ))
}

fn conversion_from_row(row: &AnyRow) -> Result<Conversion, StoreError> {
    let currency: String = row.try_get("from_currency")?;
    let rate: String = row.try_get("rate")?;
    let rate_date: String = row.try_get("rate_date")?;
    Ok(Conversion {
        from: SettlementInputs {
            invoiced: decimal(row, "invoiced")?,
            accepted_credits: decimal(row, "accepted_credits")?,
            withheld: decimal(row, "withheld")?,
            receivable: decimal(row, "receivable")?,
            ..SettlementInputs::zero(parse_currency("statement_conversions.from_currency", &currency)?)
        },
        rate: Decimal::from_str(&rate).map_err(|error| StoreError::Corrupt {
            column: "statement_conversions.rate",
            value: rate.clone(),
            reason: error.to_string(),
        })?,
        date: rate_date.parse().map_err(|error: jiff::Error| StoreError::Corrupt {
            column: "statement_conversions.rate_date",
            value: rate_date.clone(),
            reason: error.to_string(),
        })?,
    })
}

fn statement_from_row(row: &AnyRow, carrier: &str, period: &str) -> Result<StoredStatement, StoreError> {
    let currency: String = row.try_get("currency")?;
    let currency = parse_currency("statements.currency", &currency)?;
    Ok(StoredStatement {
        statement_id: row.try_get("statement_id")?,
        carrier: carrier.to_owned(),
        period: period.to_owned(),
        statement: Statement {
            inputs: SettlementInputs {
                invoiced: decimal(row, "invoiced")?,
                accepted_credits: decimal(row, "accepted_credits")?,
                withheld: decimal(row, "withheld")?,
                receivable: decimal(row, "receivable")?,
                ..SettlementInputs::zero(currency)
            },
            net_exact: decimal(row, "net_exact")?,
            net: decimal(row, "net")?,
            conversions: Vec::new(),
        },
        supersedes: row.try_get("supersedes")?,
        created_at: instant(row, "created_at_ns")?,
        created: false,
    })
}
