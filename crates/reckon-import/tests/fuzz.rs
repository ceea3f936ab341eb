//! Fuzzing the readers with proptest: arbitrary bytes and mangled rows never panic, every
//! failure is an error that names the file and (for a row) its line, and every row of a file
//! either loads or is rejected with a reason: none vanishes.
//!
//! Method: write generated content to a temporary file and load it with each reader, under both
//! bad-row policies.

use proptest::prelude::*;
use reckon_import::{BadRowPolicy, NoProgress};
use std::path::PathBuf;

const USAGE_HEADER: &str = "record_id,service,carrier,carrier_ref,customer,started_at,origin,destination,quantity\n";

fn temp_file(content: &[u8]) -> (tempfile_dir::Dir, PathBuf) {
    let dir = tempfile_dir::Dir::new();
    let path = dir.path().join("input.csv");
    std::fs::write(&path, content).unwrap();
    (dir, path)
}

/// A tiny temporary directory (the crate has no tempfile dependency).
mod tempfile_dir {
    pub struct Dir(std::path::PathBuf);
    impl Dir {
        pub fn new() -> Dir {
            static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
            let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let path = std::env::temp_dir().join(format!("reckon-fuzz-{}-{n}", std::process::id()));
            std::fs::create_dir_all(&path).unwrap();
            Dir(path)
        }
        pub fn path(&self) -> &std::path::Path {
            &self.0
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// Fields that are sometimes right and often subtly wrong.
fn field() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("voice".to_owned()),
        Just("SMS".to_owned()),
        Just("2026-03-01T12:00:05Z".to_owned()),
        Just("2026-03-01 12:00:05".to_owned()),
        Just("+44 (20) 7123-4567".to_owned()),
        Just("0,5".to_owned()),
        Just("-1".to_owned()),
        Just("1e5".to_owned()),
        Just("\"quoted, with comma\"".to_owned()),
        "[0-9]{1,6}(\\.[0-9]{1,4})?",
        "[a-zA-Z0-9 +()-]{0,12}",
        any::<String>().prop_map(|text| text
            .chars()
            .filter(|c| *c != '\n' && *c != '\r' && *c != '"' && *c != ',')
            .take(12)
            .collect()),
    ]
}

fn row(fields: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(field(), fields..=fields).prop_map(|fields| fields.join(","))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let (_dir, path) = temp_file(&bytes);
        for policy in [BadRowPolicy::Fail, BadRowPolicy::Quarantine] {
            if let Err(error) = reckon_import::usage::load_usage(&path, policy, &mut NoProgress) {
                prop_assert!(error.to_string().contains("input.csv"), "{error}");
            }
            if let Err(error) = reckon_import::rates::load_rates(std::slice::from_ref(&path), policy, &mut NoProgress) {
                prop_assert!(error.to_string().contains("input.csv"), "{error}");
            }
            if let Err(error) = reckon_import::invoice::load_invoices(std::slice::from_ref(&path), policy, &mut NoProgress) {
                prop_assert!(error.to_string().contains("input.csv"), "{error}");
            }
        }
        let _ = reckon_import::fx::load_ecb_history(&path, &mut reckon_core::FxTable::new());
    }

    #[test]
    fn every_usage_row_loads_or_is_rejected_with_its_line(rows in proptest::collection::vec(row(9), 0..30)) {
        let content = format!("{USAGE_HEADER}{}\n", rows.join("\n"));
        let (_dir, path) = temp_file(content.as_bytes());
        let data_lines = content.lines().count() as u64 - 1;
        match reckon_import::usage::load_usage(&path, BadRowPolicy::Quarantine, &mut NoProgress) {
            Ok(loaded) => {
                let accounted = loaded.items.len() as u64 + loaded.rejected.len() as u64;
                // Blank lines are not rows; every other line is accounted for.
                let blank = content.lines().skip(1).filter(|line| line.is_empty()).count() as u64;
                prop_assert_eq!(accounted, data_lines - blank);
                for rejection in &loaded.rejected {
                    prop_assert!(rejection.line_number >= 2 && rejection.line_number <= data_lines + 1);
                    prop_assert!(!rejection.reason.is_empty());
                }
            }
            Err(error) => prop_assert!(error.to_string().contains("input.csv"), "{error}"),
        }
        // Without quarantine: the first bad row stops the load, naming its line.
        if let Err(error) = reckon_import::usage::load_usage(&path, BadRowPolicy::Fail, &mut NoProgress) {
            prop_assert!(error.line_number.is_some() || error.to_string().contains("input.csv"));
        }
    }

    #[test]
    fn field_parsers_never_panic(text in ".{0,40}") {
        let _ = reckon_core::Destination::parse(&text);
        let _ = reckon_core::Increments::parse(&text);
        let _ = reckon_core::period::Month::parse(&text);
        let _ = reckon_core::Currency::parse(&text);
        let _ = reckon_core::deck_update::ChangeKind::parse(&text);
        let _ = reckon_core::time_band::TimeBand::parse("UTC", &text, &text, &text);
        let _ = reckon_core::time_band::TimeBand::parse(&text, "all", "00:00", "24:00");
    }
}
