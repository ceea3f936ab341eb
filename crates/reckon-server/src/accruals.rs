//! `GET /v1/accruals`: the running expected carrier cost, customer revenue and margin of the
//! stored events over a time range, grouped by day, destination, service, customer or carrier.
//!
//! The figures are `reckon rate`'s: the same rating over the same events. A range of whole UTC
//! days reads the sums the ledger keeps per day and group (added to by every ingest in its own
//! transaction), after rating again the months whose sums are stale: a tiered month (tiers
//! settle per UTC month over the whole month's records), a month with events stored outside
//! the service, or sums made with other decks or reference data (`reckon_core::accrual`). Its
//! cost is then the groups it returns: rollups per grouping and day or month, of every carrier
//! and customer, of each carrier and of each customer, answer all queries but one filtered by
//! both a carrier and a customer, which reads the pair's sums per day. Another range rates its whole months' events per request
//! and cuts them to `[from, to)`.

use crate::decks::Decks;
use crate::{auth, ApiError, AppState};
use axum::extract::{Query, State};
use axum::Json;
use reckon_core::accrual::{
    contribution, fold, fold_rollups, month_is_fresh, rollup_periods, AccrualGrouping, RatedWith,
};
use reckon_core::period::Month;
use reckon_core::{Decimal, Timestamp};
use reckon_store::RebuildScope;
use serde::{Deserialize, Serialize};
use std::str::FromStr;
use std::sync::Arc;
use utoipa::{IntoParams, ToSchema};

/// What to add up.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AccrualQuery {
    /// Only this carrier's events.
    carrier: Option<String>,
    /// Only this customer's events.
    customer: Option<String>,
    /// Start of the range, inclusive (RFC 3339).
    #[param(format = DateTime, example = "2026-03-01T00:00:00Z")]
    from: String,
    /// End of the range, exclusive (RFC 3339).
    #[param(format = DateTime, example = "2026-04-01T00:00:00Z")]
    to: String,
    /// day (UTC), destination (the carrier row's name, else its prefix), service, customer or
    /// carrier; default day.
    #[param(pattern = r"^(day|destination|service|customer|carrier)$")]
    group_by: Option<String>,
}

/// One group's figures. Cost is in the carrier deck's `currency`; revenue and margin in
/// `price_currency` (margin: price minus the cost converted at the record's date).
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct AccrualGroup {
    pub key: String,
    /// The carrier deck's currency (absent: records without a rate).
    pub currency: Option<String>,
    pub records: u64,
    pub cost: String,
    /// The price plan's currency (absent: records without a price).
    pub price_currency: Option<String>,
    pub revenue: String,
    /// Sum of the margins of records with both a price and a convertible cost.
    pub margin: String,
    /// Records without a carrier rate.
    pub unrated_records: u64,
    /// Records without a customer price.
    pub unpriced_records: u64,
    /// Records priced below their cost.
    pub below_cost_records: u64,
    /// Records whose cost no FX rate converts into the price's currency (none, or older than
    /// the FX staleness limit): their margin is unknown and not in `margin`.
    pub unconvertible_records: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Accruals {
    pub carrier: Option<String>,
    pub customer: Option<String>,
    pub from: String,
    pub to: String,
    pub group_by: String,
    pub groups: Vec<AccrualGroup>,
    /// Records in range without a carrier rate.
    pub unrated_records: u64,
}

const GROUPINGS: [&str; 5] = ["day", "destination", "service", "customer", "carrier"];

/// Running accruals of the stored events.
#[utoipa::path(
    get,
    path = "/v1/accruals",
    tag = "accruals",
    params(AccrualQuery),
    responses(
        (status = 200, description = "Figures per group and currency", body = Accruals),
        (status = 400, description = "A bad parameter, named", body = crate::error::ErrorBody),
        (status = 401, description = "No or unknown API key", body = crate::error::ErrorBody),
        (status = 403, description = "The key lacks the read scope", body = crate::error::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn get_accruals(
    State(state): State<AppState>,
    _caller: auth::Caller<auth::Read>,
    query: Result<Query<AccrualQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Accruals>, ApiError> {
    let Query(query) = query.map_err(|rejection| ApiError::BadRequest(rejection.body_text()))?;
    let instant = |name: &str, text: &str| {
        Timestamp::from_str(text)
            .map_err(|_| ApiError::BadRequest(format!("{name}: {text:?} is not an RFC 3339 timestamp with an offset")))
    };
    let (from, to) = (instant("from", &query.from)?, instant("to", &query.to)?);
    if to < from {
        return Err(ApiError::BadRequest("to: the range ends before it starts".into()));
    }
    let group_by = query.group_by.clone().unwrap_or_else(|| "day".to_owned());
    if !GROUPINGS.contains(&group_by.as_str()) {
        return Err(ApiError::BadRequest(format!("group_by: {group_by:?} is not one of {}", GROUPINGS.join(", "))));
    }
    let groups = if is_utc_midnight(from) && is_utc_midnight(to) {
        kept_groups(&state, &query, from, to, grouping_of(&group_by)).await?
    } else {
        rated_groups(&state, &query, from, to, &group_by).await?
    };
    let unrated = groups.values().fold(0_i64, |total, sums| total.saturating_add(sums.unrated));
    let text = |amount: Decimal| amount.normalize().to_string();
    let count = |count: i64| u64::try_from(count).unwrap_or(0);
    let groups = groups
        .into_iter()
        .map(|((key, currency, price_currency), sums)| AccrualGroup {
            key,
            currency: currency.map(|currency| currency.to_string()),
            records: count(sums.records),
            cost: text(sums.cost),
            price_currency: price_currency.map(|currency| currency.to_string()),
            revenue: text(sums.revenue),
            margin: text(sums.margin),
            unrated_records: count(sums.unrated),
            unpriced_records: count(sums.unpriced),
            below_cost_records: count(sums.below_cost),
            unconvertible_records: count(sums.unconvertible),
        })
        .collect();
    Ok(Json(Accruals {
        carrier: query.carrier,
        customer: query.customer,
        from: query.from,
        to: query.to,
        group_by,
        groups,
        unrated_records: count(unrated),
    }))
}

type Groups = reckon_core::accrual::AccrualGroups;

/// The groups per UTC day of `[from, to)` (whole UTC days) of every carrier and customer:
/// exactly what `GET /v1/accruals?group_by=day` answers for that range (the same code), for
/// the console's chart.
pub(crate) async fn daily_groups(state: &AppState, from: Timestamp, to: Timestamp) -> Result<Groups, ApiError> {
    let query =
        AccrualQuery { carrier: None, customer: None, from: from.to_string(), to: to.to_string(), group_by: None };
    kept_groups(state, &query, from, to, AccrualGrouping::Day).await
}

/// The groups of a range of whole UTC days, from the sums the ledger keeps: the months of the
/// range whose sums are stale (or were made with other decks or reference data) are rated again
/// first, then the query reads as many rows as the range has groups per day.
async fn kept_groups(
    state: &AppState,
    query: &AccrualQuery,
    from: Timestamp,
    to: Timestamp,
    grouping: AccrualGrouping,
) -> Result<Groups, ApiError> {
    if to <= from {
        return Ok(Groups::new());
    }
    let decks = state.decks.get(&state.ledger, &state.settings).await?;
    let rated_with = state.decks.rated_with(&decks, &state.settings);
    let last = to.checked_sub(jiff::SignedDuration::from_nanos(1)).unwrap_or(to);
    for (month, stored) in state.ledger.accrual_months(Month::of(from), Month::of(last)).await? {
        if !month_is_fresh(stored.as_deref(), &rated_with) {
            rebuild_month(state, &decks, month, &rated_with).await?;
        }
    }
    let (from_day, to_day) = (reckon_core::period::utc_date(from), reckon_core::period::utc_date(to));
    let (carrier, customer) = (query.carrier.as_deref(), query.customer.as_deref());
    let groups = if carrier.is_none() || customer.is_none() {
        // Every carrier and customer, one carrier or one customer: the rollups, a row per
        // group and period.
        let periods = rollup_periods(from_day, to_day);
        fold_rollups(state.ledger.accrual_rollups(grouping, carrier, customer, &periods).await?)
    } else {
        // A carrier's customer: the sums per day of the pair.
        fold(state.ledger.accrual_sums(from_day, to_day, carrier, customer).await?, grouping)
    };
    groups.map_err(|_| ApiError::BadRequest("the range's totals are past what a decimal holds".into()))
}

/// Rates a month's events again and replaces its sums. Untiered, the month streams through in
/// chunks; tiered, it is rated whole, as `reckon rate` settles it.
///
/// The rebuild runs on a task of its own: a request that times out leaves it to finish and
/// commit, so a month longer to rate than the request time limit is still made once; a request
/// that comes meanwhile waits for it in this process, holding no database connection.
pub(crate) async fn rebuild_month(
    state: &AppState,
    decks: &Arc<Decks>,
    month: Month,
    rated_with: &RatedWith,
) -> Result<(), ApiError> {
    let (state, decks, rated_with) = (state.clone(), decks.clone(), rated_with.clone());
    let rebuild = tokio::spawn(async move {
        // A request asked again while the month is being made waits here, not on a database
        // connection of its own, then finds the month made.
        let _turn = REBUILDS.lock().await;
        let scope = if decks.tiered() { RebuildScope::WholeMonth } else { RebuildScope::ByChunk };
        let rate = |records: &[reckon_core::UsageRecord]| {
            crate::decks::accrual_table(&decks, records, &state.settings.networks, &state.settings.fx)
        };
        state.ledger.rebuild_accrual_month(month, &rated_with, scope, rate).await
    });
    match rebuild.await {
        Ok(outcome) => outcome.map(|_| ()).map_err(ApiError::from),
        Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
        Err(error) => Err(ApiError::Internal(format!("the rebuild of {month}'s accruals: {error}"))),
    }
}

/// One rebuild at a time in this process (replicas take turns on the month's row).
static REBUILDS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Whether an instant is a UTC midnight: the kept sums are per UTC day.
fn is_utc_midnight(instant: Timestamp) -> bool {
    const DAY_NS: i128 = 86_400_000_000_000;
    instant.as_nanosecond().rem_euclid(DAY_NS) == 0
}

fn grouping_of(group_by: &str) -> AccrualGrouping {
    match group_by {
        "destination" => AccrualGrouping::Destination,
        "service" => AccrualGrouping::Service,
        "customer" => AccrualGrouping::Customer,
        "carrier" => AccrualGrouping::Carrier,
        _ => AccrualGrouping::Day,
    }
}

/// The groups of a range that does not fall on UTC midnights: its whole months' events rated
/// now (tiers settle over the whole month), then cut to `[from, to)`.
async fn rated_groups(
    state: &AppState,
    query: &AccrualQuery,
    from: Timestamp,
    to: Timestamp,
    group_by: &str,
) -> Result<Groups, ApiError> {
    let decks = state.decks.get(&state.ledger, &state.settings).await?;
    let (month_start, month_end) = whole_months(from, to)?;
    // A customer's graduated price counts all its carriers' records: read them all then.
    let carrier_filter = query.carrier.as_deref().filter(|_| !decks.prices.has_tiers());
    let usage = state.ledger.usage_of(carrier_filter, month_start, month_end).await?;
    let rated = crate::decks::rate_records(&decks, &usage, &state.settings.networks, &state.settings.fx);
    let wanted = |filter: &Option<String>, value: Option<&str>| filter.as_deref().is_none_or(|f| Some(f) == value);
    let rows = usage.iter().enumerate().filter_map(|(index, record)| {
        let in_range = record.started_at >= from && record.started_at < to;
        let chosen = in_range
            && wanted(&query.carrier, Some(&record.carrier))
            && wanted(&query.customer, record.customer.as_deref());
        let (cost, price) = (rated.costs[index].as_ref(), rated.prices[index].as_ref());
        chosen.then(|| contribution(record, cost, price, &rated.margins[index], &decks.carriers))
    });
    fold(rows, grouping_of(group_by))
        .map_err(|_| ApiError::BadRequest("the range's totals are past what a decimal holds".into()))
}

/// `[from, to)` widened to whole UTC months.
pub(crate) fn whole_months(from: Timestamp, to: Timestamp) -> Result<(Timestamp, Timestamp), ApiError> {
    let last = to.checked_sub(jiff::SignedDuration::from_nanos(1)).unwrap_or(to).max(from);
    let (start, _) =
        Month::of(from).bounds().ok_or_else(|| ApiError::BadRequest("from: past the last month".into()))?;
    let (_, end) = Month::of(last).bounds().ok_or_else(|| ApiError::BadRequest("to: past the last month".into()))?;
    Ok((start, end))
}
