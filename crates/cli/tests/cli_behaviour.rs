//! End-to-end behaviour of the commands on the bundled demo evidence and on broken input.

mod common;
use common::*;
use std::io::Write;

fn demo() -> std::path::PathBuf {
    repo_root().join("demo")
}

#[test]
fn window_is_anchored_at_the_latest_event_and_reported() {
    let d = demo();
    let out = lateral(&[
        "search",
        d.to_str().unwrap_or_default(),
        "--hours-back",
        "0.0002",
        "--format",
        "json",
        "--query",
        r#"metadata.event_type = "PROCESS_LAUNCH""#,
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let doc = out.json();
    assert_eq!(doc["window"]["end"], "2024-03-12T09:14:03.640000Z");
    assert_eq!(doc["window"]["start"], "2024-03-12T09:14:02.920000Z");
    // cmd.exe (03.010), WMIC.exe (03.090), powershell (03.640); not PsExec64 nor PSEXESVC.
    let times: Vec<&str> = doc["events"]
        .as_array()
        .map(|a| a.iter().map(|e| s(e, "metadata.event_timestamp")).collect())
        .unwrap_or_default();
    assert_eq!(
        times,
        [
            "2024-03-12T09:14:03.010000Z",
            "2024-03-12T09:14:03.090000Z",
            "2024-03-12T09:14:03.640000Z"
        ]
    );
    assert_eq!(doc["total_events"], 3);
}

#[test]
fn explicit_window_limit_and_table_output() {
    let d = demo();
    let d = d.to_str().unwrap_or_default();
    let out = lateral(&[
        "search",
        d,
        "--start",
        "2024-03-12T09:14:02.300Z",
        "--end",
        "2024-03-12T09:14:02.500Z",
        "--limit",
        "2",
        "--format",
        "json",
        "--query",
        r#"observer.hostname = "srv02""#,
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let doc = out.json();
    // 4624, 5140, 5145 ADMIN$, 5145 IPC$, 4697, 7045 fall in the window on SRV02: 6, two shown.
    assert_eq!(doc["total_events"], 6);
    assert_eq!(doc["returned_events"], 2);
    assert_eq!(doc["more_data_available"], true);
    let out = lateral(&["search", d, "--all-time", "--query", r#"target.port = 445"#]);
    assert_eq!(out.code, 0);
    assert!(out.stdout.contains("10.10.1.32"), "{}", out.stdout);
    assert!(
        out.stderr.contains("window: - .. - (all time)"),
        "{}",
        out.stderr
    );
}

#[test]
fn csv_and_jsonl_outputs() {
    let d = demo();
    let d = d.to_str().unwrap_or_default();
    let q = r#"metadata.product_event_type = "ServiceInstalled""#;
    let out = lateral(&[
        "search",
        d,
        "--all-time",
        "--format",
        "csv",
        "--fields",
        "metadata.product_event_type,target.application",
        "--query",
        q,
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[0], "metadata.product_event_type,target.application,metadata.event_timestamp,lateral.source_file,lateral.record_number");
    assert_eq!(lines.len(), 3, "{}", out.stdout);
    let out = lateral(&["search", d, "--all-time", "--format", "jsonl", "--query", q]);
    let rows: Vec<serde_json::Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(rows.len(), 2);
}

#[test]
fn sql_and_stats() {
    let d = demo();
    let d = d.to_str().unwrap_or_default();
    let out = lateral(&[
        "sql",
        d,
        r#"SELECT "observer.hostname" AS host, count(*) AS n FROM events GROUP BY 1 ORDER BY 1"#,
        "--format",
        "json",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let doc = out.json();
    assert_eq!(
        doc["rows"],
        serde_json::json!([
            {"host": "DC01.corp.example", "n": 3},
            {"host": "SRV02.corp.example", "n": 10},
            {"host": "WS01.corp.example", "n": 3}
        ])
    );
    let out = lateral(&["sql", d, "DROP TABLE events"]);
    assert_ne!(out.code, 0, "DDL must be refused");

    let out = lateral(&["stats", d, "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let inv = &out.json()["inventory"];
    assert_eq!(inv["total"]["events"], 16);
    assert_eq!(inv["by_event_id"]["System/7045"], 1);
    assert_eq!(inv["by_host"]["srv02.corp.example"]["events"], 10);
    let gaps: Vec<&str> = inv["coverage"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|c| !c["gap"].is_null())
                .map(|c| c["source"].as_str().unwrap_or(""))
                .collect()
        })
        .unwrap_or_default();
    assert!(gaps.iter().any(|g| g.contains("4688")), "{gaps:?}");
    assert!(
        !gaps.iter().any(|g| g.contains("share auditing")),
        "{gaps:?}"
    );
}

#[test]
fn a_malformed_query_names_the_position() {
    let d = demo();
    let out = lateral(&[
        "search",
        d.to_str().unwrap_or_default(),
        "--query",
        r#"target.prot = 445"#,
    ]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("target.port"), "{}", out.stderr);
    assert!(out.stderr.contains('^'), "{}", out.stderr);
}

fn write(dir: &std::path::Path, name: &str, bytes: &[u8]) {
    let mut f = std::fs::File::create(dir.join(name)).expect("create");
    f.write_all(bytes).expect("write");
}

#[test]
fn bad_input_is_reported_counted_and_skipped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path();
    // Good data alongside the bad.
    std::fs::copy(demo().join("dc01-winlogbeat.ndjson"), p.join("good.ndjson")).expect("copy");
    // Random bytes.
    let noise: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    write(p, "noise.bin", &noise);
    // A JSON-lines export broken in the middle of a line.
    write(
        p,
        "broken.jsonl",
        concat!(
            "{\"EventID\": 4624, \"Channel\": \"Security\", \"Hostname\": \"H1\", \"@timestamp\": \"2024-03-12T09:00:00Z\", \"LogonType\": \"3\"}\n",
            "{\"EventID\": 4624, \"Channel\": \"Secu\n",
            "{\"EventID\": 4625, \"Channel\": \"Security\", \"Hostname\": \"H1\", \"@timestamp\": \"2024-03-12T09:00:01Z\"}\n"
        )
        .as_bytes(),
    );
    // An XML dialect that is not Windows event XML.
    write(
        p,
        "other.xml",
        b"<?xml version=\"1.0\"?>\n<catalog><book id=\"1\"/></catalog>\n",
    );
    let mut paths = vec![p.to_path_buf()];
    // A truncated EVTX (cut in the middle of its second chunk), when the shared data is there.
    if let Some(data) = shared_data() {
        let src = lm(&data, "LM_5145_Remote_FileCopy.evtx");
        let bytes = std::fs::read(&src).expect("read evtx");
        assert!(bytes.len() > 4096 + 65536 + 1000);
        write(p, "truncated.evtx", &bytes[..4096 + 65536 + 30000]);
        paths.push(src);
    }
    let mut args: Vec<String> = vec!["search".into()];
    args.extend(paths.iter().map(|x| x.display().to_string()));
    args.extend(
        [
            "--all-time",
            "--format",
            "json",
            "--query",
            "metadata.event_type != \"\"",
        ]
        .map(String::from),
    );
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = lateral(&argv);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let doc = out.json();
    let issues = doc["issues"]["items"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let find = |needle: &str| {
        issues
            .iter()
            .find(|i| i["file"].as_str().unwrap_or("").ends_with(needle))
            .cloned()
            .unwrap_or_else(|| panic!("no issue for {needle}: {issues:#?}"))
    };
    assert_eq!(find("noise.bin")["position"], "file");
    assert_eq!(find("broken.jsonl")["position"], "line 2");
    assert!(find("other.xml")["message"]
        .as_str()
        .unwrap_or("")
        .contains("catalog"));
    // Good events: 3 Winlogbeat + 2 from the broken export (+ the EVTX files).
    let events = doc["events"].as_array().cloned().unwrap_or_default();
    let from = |needle: &str| {
        events
            .iter()
            .filter(|e| s(e, "lateral.source_file").ends_with(needle))
            .count()
    };
    assert_eq!(from("good.ndjson"), 3);
    assert_eq!(from("broken.jsonl"), 2);
    if shared_data().is_some() {
        let t = find("truncated.evtx");
        assert!(
            t["message"]
                .as_str()
                .unwrap_or("")
                .to_lowercase()
                .contains("chunk"),
            "{t:#}"
        );
        // The first, complete chunk is still read.
        assert!(from("truncated.evtx") > 0);
        assert!(from("truncated.evtx") < from("LM_5145_Remote_FileCopy.evtx"));
    }
}

#[test]
fn nothing_readable_exits_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "noise.bin",
        &[0x13, 0x37, 0, 1, 2, 3, 0xff, 0xfe],
    );
    let out = lateral(&[
        "search",
        dir.path().to_str().unwrap_or_default(),
        "--query",
        "target.port = 445",
    ]);
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("noise.bin"));
}
