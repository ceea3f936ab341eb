//! The carriers' decks and the customers' price plans, read from the ledger once and again only
//! when an import changed them (the ledger's deck epoch moved), so rating on arrival costs one
//! small query instead of reading every rate row per request.

use crate::ServiceSettings;
use reckon_core::accrual::{AccrualTable, RatedWith};
use reckon_core::margin::{record_margin, RecordMargin};
use reckon_core::money::TotalOverflow;
use reckon_core::network::NetworkMap;
use reckon_core::rating::{rate_all, Party, Rating};
use reckon_core::{FxTable, RateDeck, UsageRecord};
use reckon_store::{Ledger, StoreError};
use std::sync::Arc;

/// Every carrier's deck in one (a record is rated against its carrier's rows) and every plan.
#[derive(Debug, Default)]
pub struct Decks {
    pub carriers: RateDeck,
    pub prices: RateDeck,
    /// The ledger's deck epoch these decks were read at.
    pub epoch: i64,
}

impl Decks {
    /// Whether a record's figures can depend on the other records of its month (tiers).
    pub fn tiered(&self) -> bool {
        self.carriers.has_tiers() || self.prices.has_tiers()
    }
}

#[derive(Debug, Default)]
pub struct DeckCache {
    current: tokio::sync::Mutex<Option<(i64, Arc<Decks>)>>,
    /// The fingerprint of the service's reference data, made once (the settings are fixed for
    /// the service's life).
    reference: std::sync::OnceLock<String>,
}

impl DeckCache {
    /// The decks as the ledger holds them now, with the contracts' rounding and the holidays of
    /// the service's settings applied as every command applies them
    /// ([`reckon_core::RateDeck::apply_reference`]). The settings are fixed for the service's
    /// life, so the ledger's deck epoch alone decides when to read again.
    ///
    /// # Errors
    /// A database error or a stored deck that does not read back.
    pub async fn get(&self, ledger: &Ledger, settings: &ServiceSettings) -> Result<Arc<Decks>, StoreError> {
        let epoch = ledger.deck_epoch().await?;
        let mut current = self.current.lock().await;
        if let Some((cached_epoch, decks)) = current.as_ref() {
            if *cached_epoch == epoch {
                return Ok(decks.clone());
            }
        }
        let (contracts, holidays) = (&settings.reconcile.contracts, &settings.holidays);
        let mut carriers = ledger.all_rate_decks().await?;
        carriers.apply_reference(Party::Carrier, contracts, holidays);
        let mut prices = ledger.price_deck().await?;
        prices.apply_reference(Party::Customer, contracts, holidays);
        let decks = Arc::new(Decks { carriers, prices, epoch });
        *current = Some((epoch, decks.clone()));
        Ok(decks)
    }
}

impl DeckCache {
    /// What accruals rated with `decks` are rated with: their deck epoch and the fingerprint of
    /// the reference data rating and margins read besides the decks (FX rates, the network
    /// table; contracts and holidays shape the decks). A replica started with other reference
    /// data makes the months it queries again, rather than mixing figures of both.
    pub fn rated_with(&self, decks: &Decks, settings: &ServiceSettings) -> RatedWith {
        let reference = self.reference.get_or_init(|| reference_fingerprint(settings));
        RatedWith { deck_epoch: decks.epoch, reference: reference.clone() }
    }
}

/// A fingerprint of the reference data that does not depend on the order of its hash maps:
/// the lines of its pretty debug text, sorted, hashed.
fn reference_fingerprint(settings: &ServiceSettings) -> String {
    let holidays: std::collections::BTreeMap<_, _> = settings.holidays.iter().collect();
    let contracts: std::collections::BTreeMap<_, _> = settings.reconcile.contracts.iter().collect();
    let text = format!("{:#?}", (&settings.fx, &settings.networks, contracts, holidays));
    let mut lines: Vec<&str> = text.lines().collect();
    lines.sort_unstable();
    reckon_store::reference_fingerprint(&lines.join("\n"))
}

/// Rates records into accrual sums, as the ingest of each of them added them.
///
/// # Errors
/// A sum past what it holds.
pub fn accrual_table(
    decks: &Decks,
    records: &[UsageRecord],
    networks: &NetworkMap,
    fx: &FxTable,
) -> Result<AccrualTable, TotalOverflow> {
    let rated = rate_records(decks, records, networks, fx);
    reckon_core::accrual::table_of(records, &rated.costs, &rated.prices, &rated.margins, &decks.carriers)
}

/// Records rated on both sides, with their margins: what `reckon rate` writes per record.
pub struct RatedRecords {
    pub costs: Vec<Option<Rating>>,
    pub prices: Vec<Option<Rating>>,
    pub margins: Vec<RecordMargin>,
}

/// Rates records against the carriers' decks and the price plans, as `reckon rate` does.
pub fn rate_records(decks: &Decks, records: &[UsageRecord], networks: &NetworkMap, fx: &FxTable) -> RatedRecords {
    let costs = rate_all(&decks.carriers, records, Party::Carrier, networks);
    let prices = rate_all(&decks.prices, records, Party::Customer, networks);
    let margins = records
        .iter()
        .zip(costs.iter().zip(&prices))
        .map(|(record, (cost, price))| record_margin(record, cost.as_ref(), price.as_ref(), fx))
        .collect();
    RatedRecords { costs, prices, margins }
}
