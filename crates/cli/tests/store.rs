//! The event store end to end through the binary: `ingest`, then `search`, `sql`, `stats`,
//! `hunt` and `lookup` over `--store` must answer exactly as over the raw evidence; re-ingest
//! adds nothing; store and paths together; and `ingest` killed (SIGKILL) at several points
//! leaves a readable store without partial data or duplicates.

mod common;
use common::*;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

fn s(p: &Path) -> String {
    p.display().to_string()
}

fn args(parts: &[&str], paths: &[&Path], store: Option<&Path>) -> Vec<String> {
    let mut v: Vec<String> = parts.iter().map(|p| p.to_string()).collect();
    v.extend(paths.iter().map(|p| s(p)));
    if let Some(st) = store {
        v.push("--store".into());
        v.push(s(st));
    }
    v
}

fn simulate(name: &str, dir: &Path) -> PathBuf {
    let out = dir.join(name);
    run_ok(&[
        "simulate".into(),
        "--scenario".into(),
        name.into(),
        "--out".into(),
        s(&out),
    ]);
    out
}

fn ingest(paths: &[&Path], store: &Path) -> Output {
    run_ok(&args(&["ingest"], paths, Some(store)))
}

/// Search events as JSON (the read summary dropped: it differs by design).
fn search(paths: &[&Path], store: Option<&Path>, query: &str, window: &[&str]) -> Value {
    let mut a = args(&["search"], paths, store);
    a.extend(["--format", "json", "--query", query].map(String::from));
    a.extend(window.iter().map(|w| w.to_string()));
    let mut doc = run_ok(&a).json();
    doc.as_object_mut().map(|o| o.remove("read"));
    doc
}

fn sql(paths: &[&Path], store: Option<&Path>, statement: &str) -> Value {
    let mut a = args(&["sql"], paths, store);
    a.extend([statement, "--format", "json"].map(String::from));
    run_ok(&a).json()["rows"].clone()
}

fn stats(paths: &[&Path], store: Option<&Path>) -> Value {
    let mut a = args(&["stats"], paths, store);
    a.extend(["--format", "json"].map(String::from));
    run_ok(&a).json()["inventory"].clone()
}

/// The hunt report without what legitimately differs between runs (timings, generation time,
/// output paths).
fn hunt(paths: &[&Path], store: Option<&Path>, out: &Path) -> Value {
    hunt_in(paths, store, out, &["--all-time"])
}

fn hunt_in(paths: &[&Path], store: Option<&Path>, out: &Path, window: &[&str]) -> Value {
    let mut a = args(&["hunt"], paths, store);
    a.extend(window.iter().map(|w| w.to_string()));
    a.extend(["--format", "json", "--out"].map(String::from));
    a.push(s(out));
    let doc = run_ok(&a).json();
    scrub_timings(doc, &[])
}

const QUERIES: &[&str] = &[
    "metadata.event_type = \"NETWORK_CONNECTION\"",
    "target.process.file.full_path CONTAINS \"PSEXESVC\"",
    "principal.ip = \"10.0.0.130\" OR target.port = 445",
    "metadata.product_event_type = \"4624\"",
];

#[test]
fn store_answers_like_the_raw_evidence_and_reingest_adds_nothing() {
    let Some(data) = shared_data() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let psexec = simulate("psexec-chain", dir.path());
    let lm = data.join("evtx/EVTX-ATTACK-SAMPLES/Lateral Movement");
    let pcap = data.join("pcap/401trg/20171220_smb_psexec_add_user.pcap");
    assert!(lm.is_dir() && pcap.is_file(), "shared data layout changed");
    let store = dir.path().join("store");
    let raw: Vec<&Path> = vec![&psexec, &lm, &pcap];
    let first = ingest(&raw, &store);
    assert!(
        first.stdout.contains(" added, 0 already in the store"),
        "{}",
        first.stdout
    );

    for q in QUERIES {
        let a = search(&raw, None, q, &["--all-time"]);
        let b = search(&[], Some(&store), q, &["--all-time"]);
        assert!(
            a["total_events"].as_u64().unwrap_or(0) > 0 || q.contains("4624"),
            "{q}: no hits"
        );
        assert_eq!(a, b, "search {q} (all time) differs over the store");
        // A window anchored at the latest event: the store knows it before the scan.
        let a = search(&raw, None, q, &["--hours-back", "24"]);
        let b = search(&[], Some(&store), q, &["--hours-back", "24"]);
        assert_eq!(a, b, "search {q} (24 h) differs over the store");
    }
    let statement = "SELECT \"lateral.source_format\" AS f, \"metadata.event_type\" AS t, count(*) AS n, min(\"metadata.event_timestamp\") AS lo FROM events GROUP BY 1, 2 ORDER BY 1, 2";
    let rows = sql(&raw, None, statement);
    assert!(rows.as_array().is_some_and(|r| r.len() > 5), "{rows}");
    assert_eq!(rows, sql(&[], Some(&store), statement));
    assert_eq!(stats(&raw, None), stats(&[], Some(&store)));

    let ha = hunt(&raw, None, &dir.path().join("r1"));
    let hb = hunt(&[], Some(&store), &dir.path().join("r2"));
    assert!(ha["findings"].as_array().is_some_and(|f| !f.is_empty()));
    assert_eq!(
        ha["findings"], hb["findings"],
        "findings differ over the store"
    );
    assert_eq!(
        ha["queries"], hb["queries"],
        "query hit counts differ over the store"
    );
    assert!(
        ha["execution"]["candidates_from"].is_null(),
        "all time holds all"
    );
    // A 24-hour window: the store pushes the bound (a day before the window) into its scan and
    // aggregates the older network logons over the whole store; the files are read whole and
    // the older candidates dropped after folding their network logons. Same report.
    let wa = hunt_in(&raw, None, &dir.path().join("r3"), &["--hours-back", "24"]);
    let wb = hunt_in(
        &[],
        Some(&store),
        &dir.path().join("r4"),
        &["--hours-back", "24"],
    );
    let held = |r: &Value| r["execution"]["candidate_events"].as_u64().unwrap_or(0);
    assert!(
        held(&wa) > 0 && held(&wa) < held(&ha),
        "{} of {}",
        held(&wa),
        held(&ha)
    );
    assert_eq!(held(&wa), held(&wb));
    assert!(wa["execution"]["candidates_from"].is_string());
    assert_eq!(
        wa["execution"]["candidates_from"],
        wb["execution"]["candidates_from"]
    );
    let prior = |r: &Value| {
        r["correlations"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["id"] == "prior-network-logons"))
            .and_then(|c| c["matches"].as_u64())
            .unwrap_or(0)
    };
    assert!(
        prior(&wa) > 0,
        "the older network logons are kept as groups"
    );
    for key in [
        "findings",
        "queries",
        "correlations",
        "graph",
        "hosts",
        "accounts",
        "conclusion",
    ] {
        assert_eq!(
            wa[key], wb[key],
            "{key} differs over the store (24 h window)"
        );
    }
    for key in [
        "graph",
        "coverage",
        "gaps",
        "window",
        "hosts",
        "accounts",
        "correlations",
        "conclusion",
        "evidence_hosts",
    ] {
        assert!(!ha[key].is_null(), "report has no {key}");
        assert_eq!(ha[key], hb[key], "{key} differs over the store");
    }

    let again = ingest(&raw, &store);
    assert!(
        again.stdout.contains("0 event(s) added"),
        "{}",
        again.stdout
    );
    assert!(again.stdout.contains("nothing new"), "{}", again.stdout);
    let store_stats = run_ok(&[
        "store".into(),
        "stats".into(),
        "--store".into(),
        s(&store),
        "--format".into(),
        "json".into(),
    ])
    .json();
    let total = sql(&raw, None, "SELECT count(*) AS n FROM events")[0]["n"].clone();
    assert_eq!(store_stats["events"], total);
}

#[test]
fn store_and_paths_together_are_one_table() {
    let dir = tempfile::tempdir().expect("tempdir");
    let psexec = simulate("psexec-chain", dir.path());
    let wmi = simulate("wmi-spread", dir.path());
    let store = dir.path().join("store");
    ingest(&[&psexec], &store);
    for q in QUERIES {
        let a = search(&[&psexec, &wmi], None, q, &["--all-time"]);
        let b = search(&[&wmi], Some(&store), q, &["--all-time"]);
        assert_eq!(a, b, "search {q} over store + paths");
    }
    let statement =
        "SELECT \"observer.hostname\" AS h, count(*) AS n FROM events GROUP BY 1 ORDER BY 1";
    assert_eq!(
        sql(&[&psexec, &wmi], None, statement),
        sql(&[&wmi], Some(&store), statement)
    );
    let ha = hunt(&[&psexec, &wmi], None, &dir.path().join("r1"));
    let hb = hunt(&[&wmi], Some(&store), &dir.path().join("r2"));
    assert_eq!(ha["findings"], hb["findings"]);
    // The lookup reads the same union.
    let la = run_ok(&args(&["lookup", "10.0.0.130"], &[&psexec, &wmi], None)).stdout;
    let lb = run_ok(&args(&["lookup", "10.0.0.130"], &[&wmi], Some(&store))).stdout;
    assert_eq!(la, lb);
}

#[test]
fn simulate_events_is_exact_and_deterministic() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = dir.path().join("a");
    let b = dir.path().join("b");
    for out in [&a, &b] {
        let o = run_ok(&[
            "simulate".into(),
            "--events".into(),
            "40000".into(),
            "--out".into(),
            s(out),
        ]);
        assert!(o.stdout.starts_with("40000 events"), "{}", o.stdout);
    }
    let files = |d: &Path| {
        let mut v: Vec<(String, Vec<u8>)> = walk(d)
            .into_iter()
            .map(|p| {
                (
                    p.strip_prefix(d).map(s).unwrap_or_default(),
                    std::fs::read(&p).expect("read"),
                )
            })
            .collect();
        v.sort();
        v
    };
    let fa = files(&a);
    assert_eq!(fa, files(&b), "same N, different bytes");
    let lines: usize = fa
        .iter()
        .map(|(_, b)| b.iter().filter(|c| **c == b'\n').count())
        .sum();
    assert_eq!(lines, 40_000);
    assert!(fa.iter().any(|(n, _)| n.starts_with("fleet/")));
    assert!(fa.iter().any(|(n, _)| n.starts_with("psexec-chain/")));
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Rows, and distinct (file, record, time) identities, as the store answers them.
fn counts(store: &Path) -> (u64, u64) {
    let rows = sql(
        &[],
        Some(store),
        "SELECT count(*) AS n, count(DISTINCT concat(\"lateral.source_file\", '#', CAST(\"lateral.record_number\" AS VARCHAR), '#', CAST(\"metadata.event_timestamp\" AS VARCHAR))) AS d FROM events",
    );
    (
        rows[0]["n"].as_u64().unwrap_or(0),
        rows[0]["d"].as_u64().unwrap_or(0),
    )
}

fn manifest(store: &Path) -> Value {
    match std::fs::read_to_string(store.join("MANIFEST.json")) {
        Ok(t) => serde_json::from_str(&t).expect("the manifest is always complete JSON"),
        Err(_) => serde_json::json!({"files": [], "generation": 0}),
    }
}

#[test]
fn ingest_killed_at_any_point_leaves_a_consistent_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    let corpus = dir.path().join("corpus");
    run_ok(&[
        "simulate".into(),
        "--events".into(),
        "60000".into(),
        "--out".into(),
        s(&corpus),
    ]);
    let clean = dir.path().join("clean");
    let ingest_args = |store: &Path| -> Vec<String> {
        vec![
            "ingest".into(),
            s(&corpus),
            "--store".into(),
            s(store),
            "--round-mib".into(),
            "4".into(),
        ]
    };
    run_ok(&ingest_args(&clean));
    let (clean_rows, clean_distinct) = counts(&clean);
    assert_eq!(clean_rows, 60_000);
    assert_eq!(clean_distinct, clean_rows);

    let store = dir.path().join("store");
    let mut published_before = 0u64;
    for ms in [150u64, 600, 1200, 2000, 3500] {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_lateral"))
            .args(ingest_args(&store))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn ingest");
        std::thread::sleep(Duration::from_millis(ms));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        // Only listed files are read; each is complete (the count reads every row group).
        let m = manifest(&store);
        let listed: u64 = m["files"]
            .as_array()
            .map(|f| f.iter().map(|x| x["rows"].as_u64().unwrap_or(0)).sum())
            .unwrap_or(0);
        for f in m["files"].as_array().into_iter().flatten() {
            let p = store.join(f["path"].as_str().unwrap_or_default());
            assert!(
                p.is_file(),
                "listed file missing after kill at {ms} ms: {}",
                p.display()
            );
        }
        if store.is_dir() {
            let (rows, distinct) = counts(&store);
            assert_eq!(
                rows, listed,
                "kill at {ms} ms: rows read differ from the manifest"
            );
            assert_eq!(distinct, rows, "kill at {ms} ms: duplicate rows");
            assert!(rows >= published_before, "published rows never go away");
            published_before = rows;
        }
    }
    // A full run completes the store: exactly the clean ingest, no duplicates.
    let done = run_ok(&ingest_args(&store));
    let (rows, distinct) = counts(&store);
    assert_eq!(
        (rows, distinct),
        (clean_rows, clean_distinct),
        "{}",
        done.stdout
    );
    let again = run_ok(&ingest_args(&store));
    assert!(
        again.stdout.contains("0 event(s) added"),
        "{}",
        again.stdout
    );
}

/// The hunt holds its window and a day before it; a network logon weeks older is dropped as
/// a candidate but still decides that the pair is not first-seen, over files (dropped while
/// streaming) and over the store (never read: aggregated apart).
#[test]
fn an_old_network_logon_outside_the_held_days_still_makes_a_known_pair() {
    let dir = tempfile::tempdir().expect("tempdir");
    let psexec = simulate("psexec-chain", dir.path());
    let attack_logon = walk(&psexec)
        .iter()
        .flat_map(|p| {
            std::fs::read_to_string(p)
                .unwrap_or_default()
                .lines()
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .find(|l| l.contains("\"EventID\":4624") && l.contains("\"IpAddress\":\"10.0.0.130\""))
        .expect("the scenario's network logon from the attacker");
    let mut old: Value = serde_json::from_str(&attack_logon).expect("json line");
    let ts = old["@timestamp"].as_str().expect("time").to_string();
    let old_ts = format!("2025-06-01{}", &ts[10..]);
    assert!(old_ts < ts, "{old_ts} is weeks before {ts}");
    old["@timestamp"] = Value::from(old_ts.clone());
    old["EventTime"] = Value::from(old_ts.replace('T', " ")[..19].to_string());
    old["RecordNumber"] = Value::from(1);
    let earlier = dir.path().join("earlier");
    std::fs::create_dir_all(&earlier).expect("mkdir");
    std::fs::write(earlier.join("sales-pc-june.jsonl"), format!("{old}\n")).expect("write");

    let analysis = |r: &Value| -> String {
        let f = r["findings"]
            .as_array()
            .and_then(|f| {
                f.iter().find(|f| {
                    f["source"]["host"]
                        .as_str()
                        .is_some_and(|s| s.contains("KALI"))
                })
            })
            .cloned()
            .unwrap_or(Value::Null);
        f["analysis"].to_string()
    };
    let alone = hunt_in(&[&psexec], None, &dir.path().join("r0"), &[]);
    assert!(
        analysis(&alone).contains("First-seen pair"),
        "{}",
        analysis(&alone)
    );

    let store = dir.path().join("store");
    ingest(&[&psexec, &earlier], &store);
    let files = hunt_in(&[&psexec, &earlier], None, &dir.path().join("r1"), &[]);
    let stored = hunt_in(&[], Some(&store), &dir.path().join("r2"), &[]);
    for r in [&files, &stored] {
        assert!(
            analysis(r).contains(
                "already logged on to the target over the network before the hunt window"
            ),
            "{}",
            analysis(r)
        );
        assert_eq!(
            r["execution"]["candidate_events"], alone["execution"]["candidate_events"],
            "the June logon is not held"
        );
        assert!(r["execution"]["candidates_from"]
            .as_str()
            .is_some_and(|t| t > old_ts.as_str()));
    }
    assert_eq!(files["findings"], stored["findings"]);
    assert_eq!(files["correlations"], stored["correlations"]);
}
