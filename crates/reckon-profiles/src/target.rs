//! The canonical files a profile can produce, their columns, and the type of each column.

use crate::schema::TargetName;

/// A canonical file (docs/FORMATS.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// `usage.csv`
    Usage,
    /// `invoice.csv`
    Invoice,
    /// `rates.csv` (with Reckon's optional columns, and `change` for deck updates)
    Rates,
}

/// What a canonical column holds, which decides how a source value is read and checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Free text, required or not (ids, names, band days).
    Text,
    Service,
    Currency,
    /// A phone number: any digit string after punctuation and a leading `+`/`00`.
    Number,
    /// Digits only (a deck prefix).
    Prefix,
    /// An instant written in RFC 3339 UTC; `usage` also bounds it to 1970..2200.
    Instant {
        usage: bool,
    },
    /// A calendar date, written `YYYY-MM-DD`.
    Date,
    /// A measured quantity in base units (`unit` converts); `non_negative` for usage.
    Quantity {
        non_negative: bool,
    },
    Amount,
    Rate,
    RateUnit,
    /// `A/B` billing increments.
    Increments,
    /// A delivery status (`delivered`, `failed`, `expired`, `rejected`, `unknown`).
    Status,
    /// MCC and MNC digits, 5 or 6.
    Network,
}

/// One column of a canonical file.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CanonicalColumn {
    pub name: &'static str,
    pub required: bool,
    pub kind: Kind,
}

const fn column(name: &'static str, required: bool, kind: Kind) -> CanonicalColumn {
    CanonicalColumn { name, required, kind }
}

const USAGE: &[CanonicalColumn] = &[
    column("record_id", true, Kind::Text),
    column("service", true, Kind::Service),
    column("carrier", true, Kind::Text),
    column("carrier_ref", false, Kind::Text),
    column("customer", false, Kind::Text),
    column("started_at", true, Kind::Instant { usage: true }),
    column("origin", false, Kind::Number),
    column("destination", true, Kind::Number),
    column("quantity", true, Kind::Quantity { non_negative: true }),
    column("network", false, Kind::Network),
    column("status", false, Kind::Status),
];

const INVOICE: &[CanonicalColumn] = &[
    column("carrier", true, Kind::Text),
    column("invoice_id", true, Kind::Text),
    column("invoice_date", false, Kind::Date),
    column("line_id", true, Kind::Text),
    column("carrier_ref", false, Kind::Text),
    column("service", true, Kind::Service),
    column("started_at", true, Kind::Instant { usage: false }),
    column("destination", true, Kind::Number),
    column("quantity", true, Kind::Quantity { non_negative: false }),
    column("rate", false, Kind::Rate),
    column("amount", true, Kind::Amount),
    column("currency", true, Kind::Currency),
];

const RATES: &[CanonicalColumn] = &[
    column("carrier", true, Kind::Text),
    column("service", true, Kind::Service),
    column("prefix", false, Kind::Prefix),
    column("destination_name", false, Kind::Text),
    column("rate", true, Kind::Rate),
    column("currency", true, Kind::Currency),
    column("rate_unit", false, Kind::RateUnit),
    column("increments", false, Kind::Increments),
    column("connect_fee", false, Kind::Amount),
    column("min_charge", false, Kind::Amount),
    column("effective_from", true, Kind::Instant { usage: false }),
    column("effective_to", false, Kind::Instant { usage: false }),
    column("per_record_fee", false, Kind::Amount),
    column("time_zone", false, Kind::Text),
    column("days", false, Kind::Text),
    column("time_from", false, Kind::Text),
    column("time_to", false, Kind::Text),
    column("origin_prefix", false, Kind::Prefix),
    column("mcc", false, Kind::Text),
    column("mnc", false, Kind::Text),
    column("tier_from", false, Kind::Quantity { non_negative: true }),
    column("tier_mode", false, Kind::Text),
    column("first_rate", false, Kind::Rate),
    column("max_cost", false, Kind::Amount),
    column("rounding_decimals", false, Kind::Text),
    column("rounding_mode", false, Kind::Text),
    column("blocked", false, Kind::Text),
    column("billed_on", false, Kind::Text),
    column("change", false, Kind::Text),
];

impl Target {
    pub(crate) fn from_name(name: TargetName) -> Target {
        match name {
            TargetName::Usage => Target::Usage,
            TargetName::Invoice => Target::Invoice,
            TargetName::Rates => Target::Rates,
        }
    }

    /// `usage`, `invoice` or `rates`.
    pub fn as_str(self) -> &'static str {
        match self {
            Target::Usage => "usage",
            Target::Invoice => "invoice",
            Target::Rates => "rates",
        }
    }

    /// The canonical file name (`usage.csv`).
    pub fn file_name(self) -> &'static str {
        match self {
            Target::Usage => "usage.csv",
            Target::Invoice => "invoice.csv",
            Target::Rates => "rates.csv",
        }
    }

    /// Whether the canonical file has a column of this name.
    pub fn has_column(self, name: &str) -> bool {
        self.columns().iter().any(|column| column.name == name)
    }

    /// Every column the target knows, in canonical order.
    pub(crate) fn columns(self) -> &'static [CanonicalColumn] {
        match self {
            Target::Usage => USAGE,
            Target::Invoice => INVOICE,
            Target::Rates => RATES,
        }
    }

    /// The column names, for messages.
    pub(crate) fn column_names(self) -> String {
        self.columns().iter().map(|column| column.name).collect::<Vec<_>>().join(", ")
    }
}
