//! Contract terms per carrier beyond the rate deck: how amounts billed in another currency than
//! the deck's are converted, and whether that is allowed at all.

use crate::Currency;
use rust_decimal::Decimal;

/// Which exchange rate converts the contract's prices into an invoice's currency.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum FxPolicy {
    /// The rate of each record's own date (UTC), the default of the data contract.
    #[default]
    RecordDate,
    /// The rate of the invoice's date (its `invoice_date`, else the date of its latest line).
    InvoiceDate,
    /// A rate fixed by the contract: one unit of the deck's currency is `rate` units of
    /// `currency`. Lines in any other currency cannot be converted.
    Fixed { currency: Currency, rate: Decimal },
}

/// What a carrier's contract says about currencies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct ContractTerms {
    pub fx_policy: FxPolicy,
    /// The contract forbids billing in another currency than the deck's: such a line is a
    /// `currency_mismatch` even when a rate would convert it.
    pub deck_currency_only: bool,
    /// Days of notice a price increase or currency change of the deck needs (`deck update`);
    /// `None`: the command's default.
    pub notice_days: Option<u32>,
    /// The currency the carrier is paid in: a period billed in several currencies settles as one
    /// statement in it. `None`: one statement per currency billed.
    pub settlement_currency: Option<Currency>,
    /// How the carrier rounds a record's cost, for every row of its deck that does not say so
    /// itself (see [`crate::rate_deck::RateDeck::set_default_rounding`]).
    pub rounding: Option<crate::rate_deck::CostRounding>,
    /// When the carrier bills messages, for every message row of its deck that does not say so
    /// itself (see [`crate::rate_deck::RateDeck::set_default_billed_on`]).
    pub billed_on: Option<crate::rate_deck::BilledOn>,
}
