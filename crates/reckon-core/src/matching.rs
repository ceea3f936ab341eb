//! Matching invoice lines to usage records (FORMATS.md, "Matching and discrepancy kinds").
//!
//! A record is a candidate for a line when both are for the same carrier and either both carry
//! a `carrier_ref` and the two are equal (by reference), or at least one side has none and
//! service, destination digits and start (within the time tolerance) agree (by time). Lines are
//! taken in order; each takes its best untaken candidate: by reference before by time; among
//! references, usage order; among times, the nearest, then usage order.

use crate::{InvoiceLine, Service, UsageRecord};
use jiff::{SignedDuration, Timestamp};
use rustc_hash::{FxHashMap, FxHasher};
use std::hash::{Hash, Hasher};

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

/// Indexes over the usage records for both kinds of candidate.
pub struct Matcher<'a> {
    usage: &'a [UsageRecord],
    /// `(carrier, carrier_ref)` to record indexes, in usage order.
    by_reference: CandidateIndex,
    /// `(carrier, service, digits)` to record indexes, sorted by start, then usage order.
    by_destination: CandidateIndex,
    taken: Vec<bool>,
    time_tolerance: SignedDuration,
}

/// Record indexes grouped by the 64-bit hash of a key, in one flat array (a few bytes per
/// record, no allocation per key). Two keys may share a hash: callers check the real key.
struct CandidateIndex {
    groups: FxHashMap<u64, (u32, u32)>,
    slots: Vec<u32>,
    /// The start of each slot's record (by destination only), for the time window search.
    started_at: Vec<Timestamp>,
}

impl CandidateIndex {
    /// Builds from `(hash, start, record index)` entries; within a group, slots come in
    /// `(start, index)` order.
    fn build(mut entries: Vec<(u64, Timestamp, u32)>, keep_times: bool) -> CandidateIndex {
        entries.sort_unstable();
        let mut groups = FxHashMap::with_capacity_and_hasher(entries.len(), Default::default());
        let mut group_start = 0;
        for index in 0..entries.len() {
            let last_of_group = entries.get(index + 1).is_none_or(|next| next.0 != entries[index].0);
            if last_of_group {
                let length = index + 1 - group_start;
                groups.insert(entries[index].0, (group_start as u32, length as u32));
                group_start = index + 1;
            }
        }
        CandidateIndex {
            groups,
            started_at: if keep_times { entries.iter().map(|entry| entry.1).collect() } else { Vec::new() },
            slots: entries.into_iter().map(|entry| entry.2).collect(),
        }
    }

    /// The slot range of a hash.
    fn range(&self, hash: u64) -> std::ops::Range<usize> {
        self.groups.get(&hash).map_or(0..0, |&(start, length)| start as usize..(start + length) as usize)
    }
}

fn reference_hash(carrier: &str, reference: &str) -> u64 {
    let mut hasher = FxHasher::default();
    (carrier, reference).hash(&mut hasher);
    hasher.finish()
}

fn destination_hash(carrier: &str, service: Service, digits: &str) -> u64 {
    let mut hasher = FxHasher::default();
    (carrier, service, digits).hash(&mut hasher);
    hasher.finish()
}

impl<'a> Matcher<'a> {
    /// Indexes the usage. `time_tolerance` is the largest start difference of a match by time.
    pub fn new(usage: &'a [UsageRecord], time_tolerance: SignedDuration) -> Matcher<'a> {
        assert!(u32::try_from(usage.len()).is_ok(), "fewer than 2^32 records");
        let mut by_reference = Vec::with_capacity(usage.len());
        let mut by_destination = Vec::with_capacity(usage.len());
        for (index, record) in usage.iter().enumerate() {
            let index = index as u32;
            if let Some(reference) = &record.carrier_ref {
                // Usage order within a reference: the time is irrelevant, so every entry gets
                // the same one.
                by_reference.push((reference_hash(&record.carrier, reference), Timestamp::UNIX_EPOCH, index));
            }
            let hash = destination_hash(&record.carrier, record.service, record.destination.digits());
            by_destination.push((hash, record.started_at, index));
        }
        Matcher {
            usage,
            by_reference: CandidateIndex::build(by_reference, false),
            by_destination: CandidateIndex::build(by_destination, true),
            taken: vec![false; usage.len()],
            time_tolerance: time_tolerance.abs(),
        }
    }

    /// Matches one line, marking its record taken. Call in line order.
    pub fn match_line(&mut self, line: &InvoiceLine) -> LineMatch {
        let mut best_by_reference = None;
        if let Some(reference) = &line.carrier_ref {
            let range = self.by_reference.range(reference_hash(&line.carrier, reference));
            for &index in &self.by_reference.slots[range] {
                let record = &self.usage[index as usize];
                if record.carrier != line.carrier || record.carrier_ref.as_deref() != Some(reference) {
                    continue; // another key with the same hash
                }
                if !self.taken[index as usize] {
                    return self.take(index);
                }
                best_by_reference.get_or_insert(index);
            }
        }
        if let Some(index) = self.nearest_by_time(line, true) {
            return self.take(index);
        }
        match best_by_reference.or_else(|| self.nearest_by_time(line, false)) {
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
        let range = self.by_destination.range(destination_hash(&line.carrier, line.service, line.destination.digits()));
        let earliest = line.started_at.checked_sub(self.time_tolerance).ok()?;
        let latest = line.started_at.checked_add(self.time_tolerance).ok()?;
        let times = &self.by_destination.started_at[range.clone()];
        let first = times.partition_point(|started_at| *started_at < earliest);
        let mut best: Option<(SignedDuration, u32)> = None;
        for (&started_at, &index) in
            times[first..].iter().zip(&self.by_destination.slots[range.start + first..range.end])
        {
            if started_at > latest {
                break;
            }
            let record = &self.usage[index as usize];
            if record.carrier != line.carrier
                || record.service != line.service
                || record.destination != line.destination
            {
                continue; // another key with the same hash
            }
            // Two different references never match; the same reference is a match by reference.
            if line.carrier_ref.is_some() && record.carrier_ref.is_some() {
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
