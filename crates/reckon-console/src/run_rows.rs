//! A run's discrepancies held in memory for its pages: filtered, sorted and paged exactly
//! (decimals compared as decimals, which SQLite's TEXT columns cannot do), with the totals per
//! kind from `reckon-core`'s summary.
//!
//! A recorded run never changes (its id hashes its inputs and its discrepancies are written
//! once), so a run read once serves every later page of it, on every replica. The cache holds
//! at most [`CACHED_DISCREPANCIES_MAX`] discrepancies, dropping the least recently used runs.

use crate::Refusal;
use reckon_core::summary::{GroupKey, ReportConversion, Summary};
use reckon_core::{Currency, Decimal, Discrepancy, DiscrepancyKind, FxTable, Service};
use reckon_store::Ledger;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// Discrepancies the cache holds at most, over all its runs (about 250 bytes each).
pub const CACHED_DISCREPANCIES_MAX: usize = 2_000_000;

/// Rows of a run page.
pub const PAGE_ROWS: usize = 50;

/// A run of at most this many discrepancies is read whole at its first page (a few
/// milliseconds); a larger one is first served page by page from the ledger while it is read
/// in the background.
pub const READ_AT_ONCE_MAX: u64 = 10_000;

/// A run's discrepancies in report order, with its totals per kind.
pub struct RunRows {
    pub discrepancies: Vec<Discrepancy>,
    /// Per kind (precedence order) with any: the count and, per currency, what
    /// `reckon-core`'s summary makes of them (overbilled, underbilled).
    pub kinds: Vec<KindTotals>,
    /// Per currency over every kind: overbilled and underbilled (`None`: past Decimal's range).
    pub totals: BTreeMap<Currency, Option<(Decimal, Decimal)>>,
    /// The rows' positions in each order asked for so far, sorted once per run: a page then
    /// costs one pass of the filter, not a sort.
    orders: Mutex<Vec<(RunOrder, Arc<Vec<u32>>)>>,
}

pub struct KindTotals {
    pub kind: DiscrepancyKind,
    pub count: u64,
    /// Per currency: overbilled and underbilled; `None` when a sum passed Decimal's range.
    pub impact: BTreeMap<Currency, Option<(Decimal, Decimal)>>,
}

impl RunRows {
    fn of(discrepancies: Vec<Discrepancy>) -> RunRows {
        let fx = FxTable::default();
        let report = ReportConversion { currency: None, fx: &fx };
        let mut per_kind: BTreeMap<usize, (DiscrepancyKind, u64, Summary)> = BTreeMap::new();
        let mut whole = Summary::default();
        for discrepancy in &discrepancies {
            whole.add_discrepancy(GroupKey::unbilled(&discrepancy.carrier, discrepancy.currency), discrepancy, &report);
            let (_, count, summary) = per_kind
                .entry(discrepancy.kind.precedence())
                .or_insert_with(|| (discrepancy.kind, 0, Summary::default()));
            *count += 1;
            summary.add_discrepancy(
                GroupKey::unbilled(&discrepancy.carrier, discrepancy.currency),
                discrepancy,
                &report,
            );
        }
        let kinds = per_kind
            .into_values()
            .map(|(kind, count, summary)| KindTotals { kind, count, impact: impact(&summary) })
            .collect();
        RunRows { totals: impact(&whole), discrepancies, kinds, orders: Mutex::default() }
    }

    /// The rows' positions in an order other than the report's (stable: equal values stay in
    /// report order).
    fn positions(&self, order: RunOrder) -> Arc<Vec<u32>> {
        let mut orders = self.orders.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((_, positions)) = orders.iter().find(|(kept, _)| *kept == order) {
            return positions.clone();
        }
        let rows = &self.discrepancies;
        let mut positions: Vec<u32> = (0..rows.len()).filter_map(|index| u32::try_from(index).ok()).collect();
        let row = |position: &u32| &rows[*position as usize];
        let directed =
            |ordering: std::cmp::Ordering, descending: bool| if descending { ordering.reverse() } else { ordering };
        match order {
            RunOrder::Report => {}
            RunOrder::Difference { descending } => {
                positions.sort_by(|a, b| directed(row(a).difference.cmp(&row(b).difference), descending))
            }
            RunOrder::Billed { descending } => {
                positions.sort_by(|a, b| directed(row(a).billed_amount.cmp(&row(b).billed_amount), descending))
            }
            RunOrder::Destination => positions.sort_by(|a, b| row(a).destination.cmp(&row(b).destination)),
        }
        let positions = Arc::new(positions);
        orders.push((order, positions.clone()));
        positions
    }

    /// The discrepancy stored at `seq` in the run.
    pub fn at_seq(&self, seq: usize) -> Option<&Discrepancy> {
        let index = self.discrepancies.binary_search_by_key(&Some(seq), |discrepancy| discrepancy.line_index).ok()?;
        self.discrepancies.get(index)
    }
}

/// Overbilled and underbilled per currency of a summary whose groups are per carrier and
/// currency (one carrier per run).
fn impact(summary: &Summary) -> BTreeMap<Currency, Option<(Decimal, Decimal)>> {
    let checked = summary.checked().is_ok();
    summary
        .groups
        .iter()
        .map(|(key, totals)| (key.currency, checked.then_some((totals.overbilled, totals.underbilled))))
        .collect()
}

/// The runs read so far, most recently used last.
#[derive(Default)]
pub struct RunCache {
    runs: Mutex<Vec<(String, Arc<RunRows>)>>,
    /// Runs being read, each read once however many requests wait for it.
    reading: Mutex<std::collections::HashMap<String, Arc<tokio::sync::OnceCell<Arc<RunRows>>>>>,
}

impl RunCache {
    /// A run's rows, read from the ledger (`Ledger::run_discrepancies`, as the API's) the first
    /// time; requests that come while it is being read wait for that one read.
    pub async fn rows(&self, ledger: &Ledger, run_id: &str) -> Result<Arc<RunRows>, Refusal> {
        if let Some(rows) = self.take(run_id) {
            return Ok(rows);
        }
        let reading = self
            .reading
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(run_id.to_owned())
            .or_default()
            .clone();
        let read = reading
            .get_or_try_init(|| async { Ok::<_, Refusal>(Arc::new(RunRows::of(read_run(ledger, run_id).await?))) })
            .await
            .cloned();
        if let Ok(rows) = &read {
            self.keep(run_id, rows.clone());
        }
        self.reading.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(run_id);
        read
    }

    /// A run's rows when they are already held.
    pub fn held(&self, run_id: &str) -> Option<Arc<RunRows>> {
        self.take(run_id)
    }

    /// Starts reading a run into the cache unless it is held or being read: call it once the
    /// page's own queries are done (an SQLite ledger has one connection).
    pub fn read_later(self: &Arc<Self>, ledger: &Arc<Ledger>, run_id: &str) {
        if !self.runs.lock().unwrap_or_else(std::sync::PoisonError::into_inner).iter().any(|(id, _)| id == run_id) {
            self.read_in_background(ledger, run_id);
        }
    }

    /// A run's rows when held or small enough to read now ([`READ_AT_ONCE_MAX`]); otherwise
    /// `None` says to serve from the ledger (and [`RunCache::read_later`]).
    pub async fn rows_or_read_later(
        self: &Arc<Self>,
        ledger: &Arc<Ledger>,
        run_id: &str,
        discrepancies: u64,
    ) -> Result<Option<Arc<RunRows>>, Refusal> {
        if let Some(rows) = self.take(run_id) {
            return Ok(Some(rows));
        }
        if discrepancies <= READ_AT_ONCE_MAX {
            return self.rows(ledger, run_id).await.map(Some);
        }
        Ok(None)
    }

    /// Starts reading a run into the cache, unless it is being read already.
    fn read_in_background(self: &Arc<Self>, ledger: &Arc<Ledger>, run_id: &str) {
        if self.reading.lock().unwrap_or_else(std::sync::PoisonError::into_inner).contains_key(run_id) {
            return;
        }
        let (cache, ledger, run_id) = (self.clone(), ledger.clone(), run_id.to_owned());
        tokio::spawn(async move {
            if let Err(refusal) = cache.rows(&ledger, &run_id).await {
                crate::log(&format!("console: reading run {run_id}: {refusal:?}"));
            }
        });
    }

    fn take(&self, run_id: &str) -> Option<Arc<RunRows>> {
        let mut runs = self.runs.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let index = runs.iter().position(|(id, _)| id == run_id)?;
        let entry = runs.remove(index);
        let rows = entry.1.clone();
        runs.push(entry);
        Some(rows)
    }

    fn keep(&self, run_id: &str, rows: Arc<RunRows>) {
        let mut runs = self.runs.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if runs.iter().any(|(id, _)| id == run_id) {
            return;
        }
        runs.push((run_id.to_owned(), rows));
        let mut held: usize = runs.iter().map(|(_, rows)| rows.discrepancies.len()).sum();
        // The newest run stays even when it alone passes the bound.
        while held > CACHED_DISCREPANCIES_MAX && runs.len() > 1 {
            held -= runs.remove(0).1.discrepancies.len();
        }
    }
}

/// Discrepancies read from the ledger per query when a run is read whole: an SQLite ledger has
/// one connection, and other requests get it between two chunks.
const READ_CHUNK: usize = 10_000;

/// A run's discrepancies in report order, read in chunks of the `(run_id, seq)` key (the same
/// rows as `Ledger::run_discrepancies`, the API's).
async fn read_run(ledger: &Ledger, run_id: &str) -> Result<Vec<Discrepancy>, Refusal> {
    let mut discrepancies = Vec::new();
    loop {
        let offset = u64::try_from(discrepancies.len()).unwrap_or(u64::MAX);
        let (_, chunk) = ledger
            .run_discrepancy_page(run_id, reckon_store::RunPageFilter::default(), offset, READ_CHUNK as u64)
            .await?
            .ok_or_else(|| Refusal::NotFound(format!("run {run_id} not found")))?;
        let last = chunk.len() < READ_CHUNK;
        discrepancies.extend(chunk);
        if last {
            return Ok(discrepancies);
        }
    }
}

/// What the run page shows: filters, order and page, as read from its query.
#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct RunQuery {
    pub kind: Option<String>,
    pub service: Option<String>,
    /// Destinations starting with these digits.
    pub destination: Option<String>,
    /// Differences from this amount (inclusive).
    pub min: Option<String>,
    /// Differences up to this amount (inclusive).
    pub max: Option<String>,
    /// report (default), difference, -difference, billed, -billed, destination.
    pub sort: Option<String>,
    /// 1-based.
    pub page: Option<String>,
}

/// A [`RunQuery`] checked: every field parsed, or a refusal naming the field.
pub struct RunFilter {
    pub kind: Option<DiscrepancyKind>,
    pub service: Option<Service>,
    pub destination: String,
    pub min: Option<Decimal>,
    pub max: Option<Decimal>,
    pub sort: RunOrder,
    pub page: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunOrder {
    Report,
    Difference { descending: bool },
    Billed { descending: bool },
    Destination,
}

impl RunOrder {
    pub const ALL: [(&'static str, &'static str); 6] = [
        ("report", "Report order"),
        ("-difference", "Largest difference first"),
        ("difference", "Smallest difference first"),
        ("-billed", "Largest billed first"),
        ("billed", "Smallest billed first"),
        ("destination", "Destination"),
    ];

    fn parse(text: &str) -> Option<RunOrder> {
        Some(match text {
            "" | "report" => RunOrder::Report,
            "difference" => RunOrder::Difference { descending: false },
            "-difference" => RunOrder::Difference { descending: true },
            "billed" => RunOrder::Billed { descending: false },
            "-billed" => RunOrder::Billed { descending: true },
            "destination" => RunOrder::Destination,
            _ => return None,
        })
    }
}

fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|text| !text.is_empty())
}

fn bound(name: &str, value: &Option<String>) -> Result<Option<Decimal>, Refusal> {
    non_empty(value)
        .map(|text| {
            text.parse::<Decimal>()
                .map_err(|_| Refusal::BadRequest(format!("{name}: {text:?} is not a decimal amount")))
        })
        .transpose()
}

impl RunQuery {
    /// The filter this query asks for.
    ///
    /// # Errors
    /// A refusal naming the field that does not read.
    pub fn filter(&self) -> Result<RunFilter, Refusal> {
        let kind = non_empty(&self.kind)
            .map(|text| {
                DiscrepancyKind::parse(text)
                    .ok_or_else(|| Refusal::BadRequest(format!("kind: {text:?} is not a discrepancy kind")))
            })
            .transpose()?;
        let service = non_empty(&self.service)
            .map(|text| {
                Service::parse(text).ok_or_else(|| Refusal::BadRequest(format!("service: {text:?} is unknown")))
            })
            .transpose()?;
        let destination = non_empty(&self.destination).unwrap_or("").to_owned();
        if !destination.bytes().all(|byte| byte.is_ascii_digit()) {
            return Err(Refusal::BadRequest(format!("destination: {destination:?} is not a prefix of digits")));
        }
        let sort = non_empty(&self.sort).unwrap_or("");
        let sort =
            RunOrder::parse(sort).ok_or_else(|| Refusal::BadRequest(format!("sort: {sort:?} is not an order")))?;
        let page = match non_empty(&self.page) {
            None => 1,
            Some(text) => text
                .parse::<usize>()
                .ok()
                .filter(|page| *page >= 1)
                .ok_or_else(|| Refusal::BadRequest(format!("page: {text:?} is not a page number")))?,
        };
        Ok(RunFilter {
            kind,
            service,
            destination,
            min: bound("min", &self.min)?,
            max: bound("max", &self.max)?,
            sort,
            page,
        })
    }

    /// The query as URL parameters, with another page.
    pub fn with_page(&self, page: usize) -> String {
        let mut parameters = Vec::new();
        for (name, value) in [
            ("kind", &self.kind),
            ("service", &self.service),
            ("destination", &self.destination),
            ("min", &self.min),
            ("max", &self.max),
            ("sort", &self.sort),
        ] {
            if let Some(value) = non_empty(value) {
                parameters.push(format!("{name}={}", crate::html::url_component(value)));
            }
        }
        parameters.push(format!("page={page}"));
        parameters.join("&")
    }
}

impl RunFilter {
    /// The part of the filter the ledger applies exactly, when that is all of it and the order
    /// is the report's: such a page can be read from the ledger directly.
    pub fn in_ledger(&self) -> Option<reckon_store::RunPageFilter<'_>> {
        (self.sort == RunOrder::Report && self.min.is_none() && self.max.is_none()).then_some(
            reckon_store::RunPageFilter {
                kind: self.kind,
                service: self.service,
                destination_prefix: &self.destination,
            },
        )
    }

    fn keeps(&self, discrepancy: &Discrepancy) -> bool {
        if self.kind.is_some_and(|kind| kind != discrepancy.kind)
            || self.service.is_some_and(|service| service != discrepancy.service)
            || !discrepancy.destination.starts_with(&self.destination)
        {
            return false;
        }
        if self.min.is_none() && self.max.is_none() {
            return true;
        }
        // A range asks for a difference: rows without one (an unmatched line) are left out.
        discrepancy.difference.is_some_and(|difference| {
            self.min.is_none_or(|min| difference >= min) && self.max.is_none_or(|max| difference <= max)
        })
    }

    /// The rows kept, in the order asked for.
    pub fn apply<'a>(&self, rows: &'a RunRows) -> Vec<&'a Discrepancy> {
        if self.sort == RunOrder::Report {
            return rows.discrepancies.iter().filter(|row| self.keeps(row)).collect();
        }
        let positions = rows.positions(self.sort);
        positions.iter().map(|position| &rows.discrepancies[*position as usize]).filter(|row| self.keeps(row)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn discrepancy(seq: usize, kind: DiscrepancyKind, destination: &str, difference: Option<&str>) -> Discrepancy {
        Discrepancy {
            carrier: Arc::from("acme"),
            invoice_id: Some(Arc::from("INV-1")),
            line_id: Some(seq.to_string().into()),
            record_id: None,
            kind,
            service: Service::parse("voice").unwrap(),
            destination: destination.to_owned(),
            started_at: reckon_core::Timestamp::from_second(1_772_323_200).unwrap(),
            billed_quantity: Decimal::ONE,
            expected_quantity: None,
            billed_amount: Decimal::from_str("1").unwrap(),
            expected_amount: None,
            difference: difference.map(|text| Decimal::from_str(text).unwrap()),
            currency: Currency::parse("EUR").unwrap(),
            line_index: Some(seq),
            record_index: None,
        }
    }

    #[test]
    fn filters_sort_exactly_and_totals_come_from_the_summary() {
        let rows = RunRows::of(vec![
            discrepancy(1, DiscrepancyKind::RateMismatch, "4420", Some("0.030000000000000001")),
            discrepancy(2, DiscrepancyKind::RateMismatch, "4930", Some("0.03")),
            discrepancy(3, DiscrepancyKind::RateMismatch, "4421", Some("-0.5")),
            discrepancy(4, DiscrepancyKind::UnmatchedCharge, "4420", None),
        ]);
        let query = RunQuery {
            kind: Some("rate_mismatch".into()),
            min: Some("0.03".into()),
            sort: Some("-difference".into()),
            ..RunQuery::default()
        };
        let kept = query.filter().unwrap().apply(&rows);
        // 0.030000000000000001 > 0.03: a float would see them equal and keep report order.
        assert_eq!(kept.iter().map(|row| row.line_index).collect::<Vec<_>>(), [Some(1), Some(2)]);
        let by_prefix = RunQuery { destination: Some("442".into()), ..RunQuery::default() }.filter().unwrap();
        assert_eq!(by_prefix.apply(&rows).len(), 3);
        // rate_mismatch: over 0.030000000000000001 + 0.03, under 0.5.
        let rate = rows.kinds.iter().find(|group| group.kind == DiscrepancyKind::RateMismatch).unwrap();
        assert_eq!((rate.kind, rate.count), (DiscrepancyKind::RateMismatch, 3));
        let eur = Currency::parse("EUR").unwrap();
        assert_eq!(
            rate.impact[&eur],
            Some((Decimal::from_str("0.060000000000000001").unwrap(), Decimal::from_str("0.5").unwrap()))
        );
        assert_eq!(rows.at_seq(3).map(|row| row.destination.as_str()), Some("4421"));
        assert!(RunQuery { min: Some("1,5".into()), ..RunQuery::default() }.filter().is_err());
    }
}
