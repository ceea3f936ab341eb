//! Naming the profiles that likely read a file: each built-in profile converts the file's
//! first rows, and those that convert them all (or most) are named with why.

use crate::convert::{convert, ConvertError, ConvertOptions};
use crate::profile::Profile;
use reckon_import::BadRowPolicy;
use std::path::Path;

/// How many data rows detection converts.
const DETECT_ROWS_MAX: u64 = 50;

/// A profile that reads the file, and why it is thought to.
#[derive(Debug)]
pub struct Detection {
    pub profile: String,
    pub description: String,
    /// Rows of the file's first ones that converted, were left out by the profile's filters,
    /// and did not convert.
    pub rows_converted: u64,
    pub rows_filtered: u64,
    pub rows_bad: u64,
    /// Why: the header, the field count, the line pattern, the rows converted.
    pub reasons: Vec<String>,
}

/// The profiles among `profiles` that read the first rows of `input`, best first: the most
/// rows converted, then the fewest bad.
pub fn detect(input: &Path, profiles: &[Profile]) -> Vec<Detection> {
    let mut detections = Vec::new();
    for profile in profiles {
        let options = ConvertOptions {
            policy: BadRowPolicy::Quarantine,
            rows_max: Some(DETECT_ROWS_MAX),
            placeholder_options: true,
            overrides: crate::Overrides { time_zone: None, ..Default::default() },
            ..ConvertOptions::default()
        };
        // Local times need a zone to convert; any zone tells whether the rows read.
        let mut options = options;
        if profile.spec.time.zone.is_none() {
            options.overrides.time_zone = Some("UTC".to_owned());
        }
        let conversion = match convert(profile, input, std::io::sink(), &options) {
            Ok(conversion) => conversion,
            Err(ConvertError::Profile(_) | ConvertError::Import(_) | ConvertError::Write(_)) => continue,
        };
        if conversion.rows_written == 0 {
            continue;
        }
        let rows_bad = conversion.rejected.len() as u64;
        let mut reasons = Vec::new();
        let source = &profile.spec.source;
        if source.header {
            reasons.push("the header names every column the profile reads".to_owned());
        } else if source.line_pattern.is_some() {
            reasons.push("lines match the profile's line pattern".to_owned());
        } else if !source.layouts.is_empty() {
            let counts: Vec<String> = source.layouts.iter().map(|layout| layout.columns.len().to_string()).collect();
            reasons.push(format!("no header; rows have a field count the profile knows ({})", counts.join(", ")));
        }
        reasons.push(format!(
            "of the first rows, {} converted, {} left out by its filters, {rows_bad} did not convert",
            conversion.rows_written, conversion.rows_filtered
        ));
        detections.push(Detection {
            profile: profile.name().to_owned(),
            description: profile.description().to_owned(),
            rows_converted: conversion.rows_written,
            rows_filtered: conversion.rows_filtered,
            rows_bad,
            reasons,
        });
    }
    detections.sort_by(|a, b| {
        let share = |detection: &Detection| (detection.rows_bad, std::cmp::Reverse(detection.rows_converted));
        share(a).cmp(&share(b))
    });
    detections
}
