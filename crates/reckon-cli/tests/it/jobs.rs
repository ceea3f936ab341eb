//! Issue 15, "Jobs": reconciliation runs as jobs across replicas.
//!
//! Goal: 20 carrier-periods queued (`POST /v1/jobs`) on 3 replicas of `reckon serve` on one
//! PostgreSQL ledger; one replica is killed with SIGKILL while it runs a job, and restarted.
//! Every job ends done, every run is recorded once, and the runs equal those of one process
//! doing them all (`reckon reconcile --all-carriers` on a second ledger of the same inputs, with
//! no server running): the same run ids (content hashes of inputs and settings) and the same
//! discrepancies, row for row.
//!
//! Method: 5 carriers over 4 months, a few thousand records each (so a job takes long enough to
//! be killed in), billed by reference with wrong amounts on some lines; the replicas' job lease
//! is 2 s, so the dead replica's job passes to another within seconds. The kill waits until the
//! ledger shows replica r0 holding a running job.

use crate::ledger::{block_on, fresh_postgres, run_ok};
use crate::replicas::{terminate, try_http};
use crate::serve::{json, start_server_with};
use std::fmt::Write as _;

const CARRIERS: usize = 5;
const MONTHS: [&str; 4] = ["2026-03", "2026-04", "2026-05", "2026-06"];
const RECORDS_PER_JOB: usize = 3_000;

/// usage.csv, rates.csv and one invoice per carrier-month.
fn write_inputs(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut usage =
        String::from("record_id,service,carrier,carrier_ref,customer,started_at,origin,destination,quantity\n");
    let mut rates = String::from(
        "carrier,service,prefix,destination_name,rate,currency,rate_unit,increments,connect_fee,min_charge,effective_from,effective_to\n",
    );
    let mut invoices = Vec::new();
    for carrier in 0..CARRIERS {
        writeln!(rates, "c{carrier},voice,44,dest 44,0.0120,USD,60,60/6,0.0010,0,2026-01-01T00:00:00Z,").unwrap();
        for month in MONTHS {
            let mut invoice = String::from(
                "carrier,invoice_id,line_id,carrier_ref,service,started_at,destination,quantity,rate,amount,currency\n",
            );
            for index in 0..RECORDS_PER_JOB {
                let id = format!("c{carrier}-{month}-{index}");
                let at = format!("{month}-{:02}T{:02}:{:02}:00Z", 1 + index % 28, index % 24, index / 672 % 60);
                let seconds = 1 + index * 7 % 300;
                writeln!(usage, "{id},voice,c{carrier},{id},c1,{at},,+442071234567,{seconds}").unwrap();
                // Every other record billed; one in five billed lines at a wrong amount.
                if index % 2 == 0 {
                    let amount = if index % 10 == 0 { "0.05" } else { "0.01" };
                    writeln!(invoice, "c{carrier},C{carrier}-{month},{index},{id},voice,{at},442071234567,{seconds},0.0120,{amount},USD").unwrap();
                }
            }
            let path = dir.join(format!("invoice-c{carrier}-{month}.csv"));
            std::fs::write(&path, invoice).unwrap();
            invoices.push(path);
        }
    }
    std::fs::write(dir.join("usage.csv"), usage).unwrap();
    std::fs::write(dir.join("rates.csv"), rates).unwrap();
    invoices
}

fn import(url: &str, dir: &std::path::Path, invoices: &[std::path::PathBuf]) {
    for (kind, file) in [("usage", dir.join("usage.csv")), ("rates", dir.join("rates.csv"))] {
        run_ok(&["import", kind, &file.display().to_string(), "--database-url", url]);
    }
    for invoice in invoices {
        run_ok(&["import", "invoice", &invoice.display().to_string(), "--database-url", url]);
    }
}

/// Runs per carrier and period, with their discrepancy rows, from a ledger: each run once.
fn recorded_runs(url: &str) -> Vec<(String, String, String, Vec<String>)> {
    block_on(async {
        use sqlx::{Connection, Row};
        let mut connection = sqlx::PgConnection::connect(url).await.unwrap();
        let runs = sqlx::query("SELECT run_id, carrier, period FROM runs ORDER BY carrier, period, run_id")
            .fetch_all(&mut connection)
            .await
            .unwrap();
        let mut found = Vec::new();
        for run in runs {
            let run_id: String = run.get("run_id");
            let rows = sqlx::query(
                "SELECT kind || ',' || COALESCE(line_id, '') || ',' || COALESCE(record_id, '') || ',' || \
                 COALESCE(CAST(difference AS TEXT), '') AS row FROM run_discrepancies WHERE run_id = $1 ORDER BY seq",
            )
            .bind(&run_id)
            .fetch_all(&mut connection)
            .await
            .unwrap();
            found.push((
                run.get("carrier"),
                run.get("period"),
                run_id,
                rows.iter().map(|row| row.get("row")).collect(),
            ));
        }
        found
    })
}

/// Whether replica `name` holds a running job in the ledger.
fn runs_a_job(url: &str, name: &str) -> bool {
    block_on(async {
        use sqlx::Connection;
        let mut connection = sqlx::PgConnection::connect(url).await.unwrap();
        let held: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM run_jobs WHERE state = 'running' AND holder LIKE $1")
            .bind(format!("{name}/%"))
            .fetch_one(&mut connection)
            .await
            .unwrap();
        held > 0
    })
}

#[test]
fn issue15_jobs_on_three_replicas_through_a_kill_equal_one_process() {
    let dir = tempfile::tempdir().unwrap();
    let invoices = write_inputs(dir.path());
    let (shared, single) = (fresh_postgres(), fresh_postgres());
    import(&shared, dir.path(), &invoices);
    import(&single, dir.path(), &invoices);
    let token = run_ok(&["apikey", "create", "--scope", "admin", "--database-url", &shared]).trim().to_owned();
    let start = |replica: usize| {
        let name = format!("r{replica}");
        start_server_with(&shared, &["--lease-ttl-ms", "2000", "--replica-id", &name])
    };
    let (mut servers, mut addresses): (Vec<_>, Vec<String>) = (0..3).map(start).unzip();

    let scopes: Vec<String> = (0..CARRIERS)
        .flat_map(|carrier| MONTHS.map(|month| format!(r#"{{"carrier":"c{carrier}","period":"{month}"}}"#)))
        .collect();
    assert_eq!(scopes.len(), 20);
    let body = format!(r#"{{"runs":[{}]}}"#, scopes.join(","));
    let (status, answer) = try_http(&addresses[1], "POST", "/v1/jobs", &token, &body).expect("replica r1 answers");
    assert_eq!(status, 202, "{answer}");
    let batch_id = json(&answer)["batch_id"].as_str().unwrap().to_owned();

    // SIGKILL r0 while it runs a job, then restart it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !runs_a_job(&shared, "r0") {
        assert!(std::time::Instant::now() < deadline, "r0 never took a job");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    servers[0].kill().unwrap();
    servers[0].wait().unwrap();
    let (server, address) = start(0);
    (servers[0], addresses[0]) = (server, address);

    let path = format!("/v1/jobs/{batch_id}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(180);
    let jobs = loop {
        let (status, answer) = try_http(&addresses[2], "GET", &path, &token, "").expect("replica r2 answers");
        assert_eq!(status, 200, "{answer}");
        let jobs = json(&answer)["jobs"].as_array().unwrap().clone();
        if jobs.iter().all(|job| job["state"] == "done" || job["state"] == "failed") {
            break jobs;
        }
        assert!(std::time::Instant::now() < deadline, "jobs not done: {answer}");
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    for server in &mut servers {
        terminate(server);
    }
    assert_eq!(jobs.len(), 20);
    assert!(jobs.iter().all(|job| job["state"] == "done"), "{jobs:?}");
    assert!(jobs.iter().any(|job| job["attempts"].as_i64().unwrap() > 1), "the killed replica's job was taken again");

    // One process, no server: the CLI queues the period's carriers and works them itself.
    for month in MONTHS {
        let report = run_ok(&["reconcile", "--all-carriers", "--period", month, "--database-url", &single]);
        assert_eq!(report.lines().count(), CARRIERS, "{report}");
    }
    let replicated = recorded_runs(&shared);
    assert_eq!(replicated.len(), 20, "every carrier-period recorded once");
    let mut scopes_recorded: Vec<(String, String)> =
        replicated.iter().map(|(carrier, period, ..)| (carrier.clone(), period.clone())).collect();
    scopes_recorded.dedup();
    assert_eq!(scopes_recorded.len(), 20, "one run per carrier-period");
    assert!(replicated.iter().all(|(.., rows)| !rows.is_empty()), "every run found its planted discrepancies");
    assert_eq!(replicated, recorded_runs(&single), "the replicas' runs equal one process's");
}
