//! Matching invoice lines to usage records (FORMATS.md, "Matching and discrepancy kinds").
//!
//! A record is a candidate for a line when both are for the same carrier and either both carry
//! a `carrier_ref` and the two are equal (by reference), or at least one side has none and
//! service, destination digits and start (within the time tolerance) agree (by time). Lines are
//! taken in order; each takes its best untaken candidate: by reference before by time; among
//! references, usage order; among times, the nearest, then usage order.

use crate::{InvoiceLine, Service, UsageRecord};
use jiff::{SignedDuration, Timestamp};
use std::collections::HashMap;

/// What matching decided for one invoice line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineMatch {
    /// The line bills this record (index into the usage).
    Matched(usize),
    /// Every candidate was taken by an earlier line; this is the best of them.
    Duplicate(usize),
    /// No record is a candidate.
    Unmatched,
}

/// `(carrier, service, destination digits)`: the records a line could match by time.
type DestinationKey<'a> = (&'a str, Service, &'a str);

/// Indexes over the usage records for both kinds of candidate.
pub struct Matcher<'a> {
    usage: &'a [UsageRecord],
    /// `(carrier, carrier_ref)` to record indexes, in usage order.
    by_reference: HashMap<(&'a str, &'a str), Vec<u32>>,
    /// `(carrier, service, digits)` to `(started_at, record index)`, sorted.
    by_destination: HashMap<DestinationKey<'a>, Vec<(Timestamp, u32)>>,
    taken: Vec<bool>,
    time_tolerance: SignedDuration,
}

impl<'a> Matcher<'a> {
    /// Indexes the usage. `time_tolerance` is the largest start difference of a match by time.
    pub fn new(usage: &'a [UsageRecord], time_tolerance: SignedDuration) -> Matcher<'a> {
        assert!(
            u32::try_from(usage.len()).is_ok(),
            "fewer than 2^32 records"
        );
        let mut by_reference: HashMap<(&str, &str), Vec<u32>> = HashMap::new();
        let mut by_destination: HashMap<DestinationKey<'_>, Vec<(Timestamp, u32)>> =
            HashMap::with_capacity(usage.len());
        for (index, record) in usage.iter().enumerate() {
            let index = index as u32;
            if let Some(reference) = &record.carrier_ref {
                by_reference
                    .entry((&record.carrier, reference))
                    .or_default()
                    .push(index);
            }
            by_destination
                .entry((&record.carrier, record.service, record.destination.digits()))
                .or_default()
                .push((record.started_at, index));
        }
        for records in by_destination.values_mut() {
            records.sort_unstable();
        }
        Matcher {
            usage,
            by_reference,
            by_destination,
            taken: vec![false; usage.len()],
            time_tolerance: time_tolerance.abs(),
        }
    }

    /// Matches one line, marking its record taken. Call in line order.
    pub fn match_line(&mut self, line: &InvoiceLine) -> LineMatch {
        let by_reference: &[u32] = match &line.carrier_ref {
            Some(reference) => self
                .by_reference
                .get(&(line.carrier.as_str(), reference.as_str()))
                .map_or(&[], Vec::as_slice),
            None => &[],
        };
        if let Some(&index) = by_reference
            .iter()
            .find(|&&index| !self.taken[index as usize])
        {
            return self.take(index);
        }
        if let Some(index) = self.nearest_by_time(line, true) {
            return self.take(index);
        }
        let best = by_reference
            .first()
            .copied()
            .or_else(|| self.nearest_by_time(line, false));
        match best {
            Some(index) => LineMatch::Duplicate(index as usize),
            None => LineMatch::Unmatched,
        }
    }

    /// Whether a record has been taken by some line.
    pub fn is_taken(&self, record_index: usize) -> bool {
        self.taken[record_index]
    }

    fn take(&mut self, index: u32) -> LineMatch {
        self.taken[index as usize] = true;
        LineMatch::Matched(index as usize)
    }

    /// The nearest candidate by time (ties: usage order), optionally only among untaken ones.
    fn nearest_by_time(&self, line: &InvoiceLine, untaken_only: bool) -> Option<u32> {
        let records = self.by_destination.get(&(
            line.carrier.as_str(),
            line.service,
            line.destination.digits(),
        ))?;
        let earliest = line.started_at.checked_sub(self.time_tolerance).ok()?;
        let latest = line.started_at.checked_add(self.time_tolerance).ok()?;
        let first = records.partition_point(|(started_at, _)| *started_at < earliest);
        let mut best: Option<(SignedDuration, u32)> = None;
        for &(started_at, index) in &records[first..] {
            if started_at > latest {
                break;
            }
            // Two different references never match; the same reference is a match by reference.
            if line.carrier_ref.is_some() && self.usage[index as usize].carrier_ref.is_some() {
                continue;
            }
            if untaken_only && self.taken[index as usize] {
                continue;
            }
            let distance = started_at.duration_since(line.started_at).abs();
            if best.is_none_or(|best| (distance, index) < best) {
                best = Some((distance, index));
            }
        }
        best.map(|(_, index)| index)
    }
}

#[cfg(test)]
mod tests;
