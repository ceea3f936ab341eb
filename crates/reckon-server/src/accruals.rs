//! `GET /v1/accruals`: the running expected carrier cost, customer revenue and margin of the
//! stored events over a time range, grouped by day, destination, service, customer or carrier.
//!
//! The figures are `reckon rate`'s: the same rating over the same events. Tiered prices are
//! settled per UTC month over the whole month's records, so the range is rated within its whole
//! months and then cut to `[from, to)`.

use crate::{auth, ApiError, AppState};
use axum::extract::{Query, State};
use axum::Json;
use reckon_core::{Currency, Decimal, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::str::FromStr;
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
    let decks = state.decks.get(&state.ledger, &state.settings).await?;
    let (month_start, month_end) = whole_months(from, to)?;
    // A customer's graduated price counts all its carriers' records: read them all then.
    let carrier_filter = query.carrier.as_deref().filter(|_| !decks.prices.has_tiers());
    let usage = state.ledger.usage_of(carrier_filter, month_start, month_end).await?;
    let rated = crate::decks::rate_records(&decks, &usage, &state.settings.networks, &state.settings.fx);
    let mut groups: BTreeMap<(String, Option<Currency>, Option<Currency>), Sums> = BTreeMap::new();
    let mut unrated = 0_u64;
    for (index, record) in usage.iter().enumerate() {
        let in_range = record.started_at >= from && record.started_at < to;
        let wanted = |filter: &Option<String>, value: Option<&str>| filter.as_deref().is_none_or(|f| Some(f) == value);
        if !in_range
            || !wanted(&query.carrier, Some(&record.carrier))
            || !wanted(&query.customer, record.customer.as_deref())
        {
            continue;
        }
        let (cost, price, margin) = (&rated.costs[index], &rated.prices[index], &rated.margins[index]);
        let key = match group_by.as_str() {
            "day" => record.started_at.to_zoned(jiff::tz::TimeZone::UTC).date().to_string(),
            "service" => record.service.to_string(),
            "customer" => record.customer.as_deref().unwrap_or("(none)").to_owned(),
            "carrier" => record.carrier.to_string(),
            _ => cost.as_ref().map_or_else(
                || "(no rate)".to_owned(),
                |rating| {
                    let row = decks.carriers.row(rating.row);
                    row.destination_name.clone().unwrap_or_else(|| format!("+{}", row.prefix))
                },
            ),
        };
        let sums = groups
            .entry((key, cost.as_ref().map(|rating| rating.currency), price.as_ref().map(|rating| rating.currency)))
            .or_default();
        sums.records += 1;
        match cost {
            Some(rating) => sums.cost += rating.cost,
            None => {
                sums.unrated += 1;
                unrated += 1;
            }
        }
        match price {
            Some(rating) => sums.revenue += rating.cost,
            None => sums.unpriced += 1,
        }
        if let Some(value) = margin.margin {
            sums.margin += value;
        }
        match margin.leakage {
            Some(reckon_core::margin::Leakage::BelowCost) => sums.below_cost += 1,
            Some(reckon_core::margin::Leakage::Unconvertible) => sums.unconvertible += 1,
            _ => {}
        }
    }
    let text = |amount: Decimal| amount.normalize().to_string();
    let groups = groups
        .into_iter()
        .map(|((key, currency, price_currency), sums)| AccrualGroup {
            key,
            currency: currency.map(|currency| currency.to_string()),
            records: sums.records,
            cost: text(sums.cost),
            price_currency: price_currency.map(|currency| currency.to_string()),
            revenue: text(sums.revenue),
            margin: text(sums.margin),
            unrated_records: sums.unrated,
            unpriced_records: sums.unpriced,
            below_cost_records: sums.below_cost,
            unconvertible_records: sums.unconvertible,
        })
        .collect();
    Ok(Json(Accruals {
        carrier: query.carrier,
        customer: query.customer,
        from: query.from,
        to: query.to,
        group_by,
        groups,
        unrated_records: unrated,
    }))
}

#[derive(Default)]
struct Sums {
    records: u64,
    cost: Decimal,
    revenue: Decimal,
    margin: Decimal,
    unrated: u64,
    unpriced: u64,
    below_cost: u64,
    unconvertible: u64,
}

/// `[from, to)` widened to whole UTC months.
pub(crate) fn whole_months(from: Timestamp, to: Timestamp) -> Result<(Timestamp, Timestamp), ApiError> {
    use reckon_core::period::Month;
    let last = to.checked_sub(jiff::SignedDuration::from_nanos(1)).unwrap_or(to).max(from);
    let (start, _) =
        Month::of(from).bounds().ok_or_else(|| ApiError::BadRequest("from: past the last month".into()))?;
    let (_, end) = Month::of(last).bounds().ok_or_else(|| ApiError::BadRequest("to: past the last month".into()))?;
    Ok((start, end))
}
