//! A ledger run in bounded memory: the month streamed from the database into partitions on disk
//! gives the run of the month read whole (same id, same discrepancies), on SQLite and
//! PostgreSQL; and a split run killed with kill -9 leaves a spill folder that the next run
//! removes.

use crate::ledger::{ledger_urls, reckon_on, run_ok};
use crate::{read_csv, reckon};
use std::process::{Command, Stdio};

/// Runs `reckon` on a ledger and expects success: stdout.
fn ok_on(url: &str, arguments: &[&str]) -> String {
    let (code, stdout, stderr) = reckon_on(url, arguments);
    assert_eq!(code, Some(0), "reckon {arguments:?} on {url}\nstderr: {stderr}");
    stdout
}

/// The run id a `reckon reconcile --carrier` report names.
fn run_id(report: &str) -> String {
    let line = report.lines().find(|line| line.starts_with("run ")).unwrap_or_else(|| panic!("no run in {report}"));
    line.split_whitespace().nth(1).unwrap().to_owned()
}

#[test]
fn a_ledger_run_streamed_into_partitions_equals_the_run_read_whole() {
    let dir = tempfile::tempdir().unwrap();
    let month = dir.path().join("month");
    let month_text = month.display().to_string();
    run_ok(&[
        "generate",
        "--records",
        "20000",
        "--carriers",
        "2",
        "--prefixes-per-carrier",
        "300",
        "--out",
        &month_text,
    ]);
    // An invoice of February billing three of March's acme records (by reference and time):
    // a line of another period's invoice only takes its record, in both ways of running.
    let usage = read_csv(&month.join("usage.csv"));
    let acme: Vec<&Vec<String>> = usage[1..].iter().filter(|row| row[2] == "acme").take(3).collect();
    let mut february = String::from(
        "carrier,invoice_id,line_id,carrier_ref,service,started_at,destination,quantity,rate,amount,currency\n",
    );
    for (index, row) in acme.iter().enumerate() {
        february.push_str(&format!(
            "acme,ACME-2026-02,{},{},{},{},{},{},0.01,0.01,USD\n",
            index + 1,
            row[3],
            row[1],
            row[5],
            row[7].trim_start_matches('+'),
            row[8]
        ));
    }
    let february_path = dir.path().join("invoice-february.csv");
    std::fs::write(&february_path, february).unwrap();

    for (backend, _) in ledger_urls(dir.path()) {
        // Two ledgers of the same month: each way of running computes and records its run.
        let ledgers: Vec<String> = (0..2)
            .map(|index| match backend {
                "sqlite" => format!("sqlite://{}", dir.path().join(format!("ledger-{index}.db")).display()),
                _ => ledger_urls(&dir.path().join(format!("pg-{index}")))[1].1.clone(),
            })
            .collect();
        for url in &ledgers {
            ok_on(url, &["import", "usage", &month.join("usage.csv").display().to_string()]);
            ok_on(url, &["import", "rates", &month.join("rates.csv").display().to_string()]);
            for entry in std::fs::read_dir(&month).unwrap() {
                let path = entry.unwrap().path();
                if path.file_name().unwrap().to_str().unwrap().starts_with("invoice-") {
                    ok_on(url, &["import", "invoice", &path.display().to_string()]);
                }
            }
            ok_on(url, &["import", "invoice", &february_path.display().to_string(), "--period", "2026-02"]);
        }
        for carrier in ["acme", "borealis"] {
            let outs = [
                dir.path().join(format!("whole-{backend}-{carrier}")),
                dir.path().join(format!("split-{backend}-{carrier}")),
            ];
            let spill = dir.path().join("spill");
            let (fx, contracts) = (month.join("fx.csv"), month.join("contracts.csv"));
            let reconcile = |url: &str, out: &std::path::Path, partitions: &str| {
                let mut arguments = vec!["reconcile", "--carrier", carrier, "--period", "2026-03"];
                arguments.extend(["--fx", fx.to_str().unwrap(), "--contracts", contracts.to_str().unwrap()]);
                arguments.extend(["--partitions", partitions, "--spill-dir", spill.to_str().unwrap()]);
                arguments.extend(["--out", out.to_str().unwrap()]);
                ok_on(url, &arguments)
            };
            let whole = reconcile(&ledgers[0], &outs[0], "0");
            // Small partitions forced: 7 parts of a few thousand records each, and the crossing one.
            let split = reconcile(&ledgers[1], &outs[1], "7");
            assert_eq!(run_id(&whole), run_id(&split), "{backend} {carrier}: the same run\n{whole}\n{split}");
            assert!(!whole.contains("reconciled before") && !split.contains("reconciled before"), "{backend}");
            let [whole_rows, split_rows] = outs.each_ref().map(|out| read_csv(&out.join("discrepancies.csv")));
            // ~1% of 10,000 records planted with a discrepancy, of every kind.
            assert!(whole_rows.len() > 50, "{backend} {carrier}: {} rows", whole_rows.len());
            assert_eq!(whole_rows, split_rows, "{backend} {carrier}: the same discrepancies in the same order");
            assert_eq!(
                whole.lines().filter(|line| !line.starts_with("run ")).collect::<Vec<_>>(),
                split.lines().filter(|line| !line.starts_with("run ")).collect::<Vec<_>>(),
                "{backend} {carrier}: the same summary"
            );
            // The split run found what the run read whole recorded: again, nothing new.
            let again = reconcile(&ledgers[1], &outs[1], "0");
            assert!(again.contains("reconciled before"), "{backend} {carrier}: {again}");
            assert_eq!(run_id(&again), run_id(&split), "{backend} {carrier}");
            let spilled: Vec<_> = std::fs::read_dir(&spill).unwrap().collect();
            assert!(spilled.is_empty(), "{backend}: the spill folder is removed after the run");
        }
    }
}

/// The `.reckon-spill-*` folders in `dir`.
fn spill_folders(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    entries
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.file_name().unwrap().to_str().unwrap().starts_with(".reckon-spill-"))
        .collect()
}

#[test]
fn a_split_run_killed_mid_run_leaves_its_spill_folder_and_the_next_run_removes_it() {
    let dir = tempfile::tempdir().unwrap();
    let month = dir.path().join("month");
    let month_text = month.display().to_string();
    run_ok(&[
        "generate",
        "--records",
        "400000",
        "--carriers",
        "1",
        "--prefixes-per-carrier",
        "300",
        "--out",
        &month_text,
    ]);
    let spill = dir.path().join("spill");
    let arguments = |out: &str| -> Vec<String> {
        let mut arguments: Vec<String> = ["reconcile", "--usage"].map(str::to_owned).to_vec();
        arguments.push(month.join("usage.csv").display().to_string());
        arguments.extend(["--rates".to_owned(), month.join("rates.csv").display().to_string()]);
        arguments.extend(["--invoice".to_owned(), month.join("invoice-acme.csv").display().to_string()]);
        arguments.extend(["--fx".to_owned(), month.join("fx.csv").display().to_string()]);
        arguments.extend(["--partitions".to_owned(), "8".to_owned()]);
        arguments.extend(["--spill-dir".to_owned(), spill.display().to_string()]);
        arguments.extend(["--out".to_owned(), dir.path().join(out).display().to_string()]);
        arguments
    };
    let mut child = Command::new(env!("CARGO_BIN_EXE_reckon"))
        .args(arguments("killed"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill it once its spill folder holds partitions (the owner file is written right after the
    // folder is made).
    let started = std::time::Instant::now();
    let killed_folder = loop {
        let spilling = spill_folders(&spill)
            .into_iter()
            .find(|folder| folder.join("owner").exists() && folder.join("usage-00000.bin").exists());
        if let Some(folder) = spilling {
            break folder;
        }
        assert!(child.try_wait().unwrap().is_none(), "the run ended before it was killed; make the month larger");
        assert!(started.elapsed() < std::time::Duration::from_secs(120), "no spill folder appeared");
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert_eq!(spill_folders(&spill), std::slice::from_ref(&killed_folder), "kill -9 leaves the folder behind");

    let output = reckon(&arguments("after").iter().map(String::as_str).collect::<Vec<_>>());
    assert!(output.status.code().is_some_and(|code| code <= 1), "{}", crate::text(&output.stderr));
    assert!(!killed_folder.exists(), "the next run removed the dead run's folder");
    assert_eq!(spill_folders(&spill), Vec::<std::path::PathBuf>::new(), "and its own");
    assert!(dir.path().join("after/discrepancies.csv").exists());
}
