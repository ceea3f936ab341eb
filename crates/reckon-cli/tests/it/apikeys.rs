//! Issue 11, item 15: API keys are drawn from the OS's cryptographic generator, listed without
//! their secret, revoked, and optionally expire; a revoked or expired key gets 401.

use crate::ledger::{ledger_urls, run_ok};
use crate::serve::{http, start_server_with};
use std::process::Command;

#[test]
fn issue11_api_keys_are_listed_revoked_and_expire() {
    let dir = tempfile::tempdir().unwrap();
    for (backend, url) in ledger_urls(dir.path()) {
        let create = |extra: &[&str]| {
            let mut arguments = vec!["apikey", "create", "--scope", "read", "--database-url", url.as_str()];
            arguments.extend_from_slice(extra);
            run_ok(&arguments).trim().to_owned()
        };
        let (kept, revoked) = (create(&[]), create(&["--expires-in-days", "30"]));
        // Expires in 2 s: valid now, refused after.
        let soon = (jiff::Timestamp::now() + jiff::SignedDuration::from_secs(2)).to_string();
        let expiring = create(&["--expires", &soon]);
        // rk_<12 hex id>_<64 hex secret>: 256 bits of secret, each key its own.
        for token in [&kept, &revoked, &expiring] {
            let parts: Vec<&str> = token.split('_').collect();
            assert_eq!((parts.len(), parts[1].len(), parts[2].len()), (3, 12, 64), "{backend}: {token}");
        }
        assert_ne!(kept.split('_').nth(2), revoked.split('_').nth(2), "{backend}");
        let id = |token: &str| token.split('_').nth(1).unwrap().to_owned();

        let (mut server, address) = start_server_with(&url, &[]);
        for token in [&kept, &revoked, &expiring] {
            assert_eq!(http(&address, "GET", "/v1/alerts", Some(token), "").0, 200, "{backend}");
        }
        run_ok(&["apikey", "revoke", &id(&revoked), "--database-url", &url]);
        assert_eq!(http(&address, "GET", "/v1/alerts", Some(&revoked), "").0, 401, "{backend}: revoked");
        std::thread::sleep(std::time::Duration::from_millis(2_500));
        assert_eq!(http(&address, "GET", "/v1/alerts", Some(&expiring), "").0, 401, "{backend}: expired");
        assert_eq!(http(&address, "GET", "/v1/alerts", Some(&kept), "").0, 200, "{backend}");

        // The list: every key with its facts, never a secret.
        let list = run_ok(&["apikey", "list", "--database-url", &url]);
        assert!(list.starts_with("key_id\tscopes\tcreated\tlast_used\texpires\trevoked\n"), "{backend}: {list}");
        assert_eq!(list.lines().count(), 4, "{backend}: {list}");
        let line = |token: &str| list.lines().find(|line| line.starts_with(&id(token))).unwrap().to_owned();
        let fields = |token: &str| line(token).split('\t').map(str::to_owned).collect::<Vec<_>>();
        assert_eq!(
            (fields(&kept)[1].as_str(), fields(&kept)[4].as_str(), fields(&kept)[5].as_str()),
            ("read", "-", "-")
        );
        assert_ne!(fields(&kept)[3], "-", "{backend}: last used is noted");
        assert_ne!(fields(&revoked)[5], "-", "{backend}: revoked is shown");
        assert_eq!(fields(&expiring)[4], soon.trim_end_matches('Z').to_owned() + "Z", "{backend}");
        for token in [&kept, &revoked, &expiring] {
            assert!(!list.contains(token.split('_').nth(2).unwrap()), "{backend}: a secret is listed");
        }
        let output = crate::reckon(&["apikey", "revoke", "nope", "--database-url", &url]);
        assert!(!output.status.success() && crate::text(&output.stderr).contains("no API key \"nope\""), "{backend}");
        let output = crate::reckon(&[
            "apikey",
            "create",
            "--scope",
            "read",
            "--expires",
            "2020-01-01T00:00:00Z",
            "--database-url",
            &url,
        ]);
        assert!(crate::text(&output.stderr).contains("has passed"), "{backend}");
        let _ = Command::new("kill").args(["-TERM", &server.id().to_string()]).status();
        assert!(server.wait().unwrap().success(), "{backend}");
    }
}
