//! Billing increments `A/B`: the first billed block of A base units, then blocks of B.

use rust_decimal::Decimal;
use std::fmt;

/// Billing increments in base units (decimals allowed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Increments {
    /// The first block, billed whole however short the record.
    pub first: Decimal,
    /// Every later block, billed whole.
    pub next: Decimal,
}

/// Why an increments value could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IncrementsError {
    #[error("expected `A/B` with two decimals, like `60/6`")]
    Shape,
    #[error("the first block must be >= 0 and later blocks > 0")]
    Range,
}

impl Increments {
    /// Per-unit billing, the default: `1/1`.
    pub const PER_UNIT: Increments = Increments { first: Decimal::ONE, next: Decimal::ONE };

    /// Parses `A/B`.
    ///
    /// # Errors
    /// When the text is not two decimals around a `/`, when `A < 0` or when `B <= 0`.
    pub fn parse(text: &str) -> Result<Increments, IncrementsError> {
        let (first, next) = text.split_once('/').ok_or(IncrementsError::Shape)?;
        let first: Decimal = first.trim().parse().map_err(|_| IncrementsError::Shape)?;
        let next: Decimal = next.trim().parse().map_err(|_| IncrementsError::Shape)?;
        if first.is_sign_negative() || next <= Decimal::ZERO {
            return Err(IncrementsError::Range);
        }
        Ok(Increments { first, next })
    }

    /// The quantity billed for a measured quantity `q > 0`: `A` if `q <= A`, else
    /// `A + ceil((q - A) / B) * B`. A measured 0 is never billed (see [`crate::rating`]), but
    /// this function maps it to `A` like any `q <= A`.
    ///
    /// # Properties
    /// - never less than the measured quantity, and never less than `A`;
    /// - never decreases as the measured quantity grows;
    /// - exceeds the measured quantity by less than one block (`max(A, B)`).
    pub fn billed_quantity(self, measured: Decimal) -> Decimal {
        if measured <= self.first {
            return self.first;
        }
        // Carriers bill every started block whole, so the remainder rounds up.
        let blocks = ((measured - self.first) / self.next).ceil();
        self.first + blocks * self.next
    }
}

impl fmt::Display for Increments {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.first.normalize(), self.next.normalize())
    }
}

#[cfg(test)]
mod tests;
