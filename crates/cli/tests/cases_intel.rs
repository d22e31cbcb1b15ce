//! End to end: `lateral case ...`, `lateral intel ...` and `lateral hunt --case/--escalate`,
//! each against a database in a temporary folder (never the user's).

mod common;
use common::*;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn db_arg(dir: &Path) -> String {
    dir.join("cases.db").display().to_string()
}

/// `lateral ARGS... --db DIR/cases.db`.
fn with_db(dir: &Path, args: &[&str]) -> Output {
    let db = db_arg(dir);
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--db", db.as_str()]);
    lateral(&all)
}

fn ok(out: Output, what: &str) -> Output {
    assert_eq!(
        out.code, 0,
        "{what} failed:\n{}\n{}",
        out.stdout, out.stderr
    );
    out
}

fn create(dir: &Path, name: &str, extra: &[&str]) -> i64 {
    let mut args = vec!["case", "create", "--name", name, "--format", "json"];
    args.extend_from_slice(extra);
    let out = ok(with_db(dir, &args), "case create");
    out.json()["id"].as_i64().expect("case id")
}

fn show(dir: &Path, id: i64) -> Value {
    let id = id.to_string();
    ok(
        with_db(dir, &["case", "show", &id, "--format", "json"]),
        "case show",
    )
    .json()
}

#[test]
fn case_create_comment_list_show_priority_close() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    let a = create(
        dir,
        "PsExec from SALES-PC",
        &[
            "--priority",
            "high",
            "--description",
            "hunt follow-up",
            "--tags",
            "psexec,lm",
        ],
    );
    let b = create(dir, "Second case", &[]);
    assert_eq!((a, b), (1, 2));

    let c = ok(
        with_db(
            dir,
            &[
                "case",
                "comment",
                "1",
                "SALES-PC isolated",
                "--author",
                "ana",
            ],
        ),
        "comment",
    );
    assert!(
        c.stdout.contains("comment #1 posted on case #1"),
        "{}",
        c.stdout
    );
    ok(
        with_db(dir, &["case", "comment", "#1", "second note"]),
        "comment 2",
    );

    let list = ok(with_db(dir, &["case", "list"]), "list");
    let lines: Vec<&str> = list.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", list.stdout);
    assert!(
        lines[1].contains("Second case"),
        "newest first: {}",
        list.stdout
    );
    assert!(lines[2].contains("PriorityHigh") && lines[2].contains("PsExec from SALES-PC"));

    let json = ok(
        with_db(dir, &["case", "list", "--format", "json"]),
        "list json",
    )
    .json();
    let cases = json["cases"].as_array().expect("cases");
    assert_eq!(cases.len(), 2);
    assert_eq!(cases[1]["displayName"], "PsExec from SALES-PC");
    assert_eq!(cases[1]["priority"], "PriorityHigh");
    assert_eq!(cases[1]["status"], "Opened");
    assert_eq!(cases[1]["commentCount"], 2);
    assert_eq!(cases[1]["tags"], serde_json::json!(["psexec", "lm"]));

    let details = show(dir, 1);
    let comments = details["comments"].as_array().expect("comments");
    assert_eq!(comments.len(), 2);
    assert_eq!(comments[0]["author"], "ana");
    assert_eq!(comments[0]["comment"], "SALES-PC isolated");
    assert_eq!(comments[1]["author"], "lateral");

    let p = ok(
        with_db(dir, &["case", "priority", "1", "critical"]),
        "priority",
    );
    assert!(p.stdout.contains("PriorityCritical"), "{}", p.stdout);
    assert_eq!(show(dir, 1)["case"]["priority"], "PriorityCritical");

    ok(
        with_db(
            dir,
            &["case", "close", "1", "--reason", "Malicious: contained"],
        ),
        "close",
    );
    let d = show(dir, 1);
    assert_eq!(d["case"]["status"], "Closed");
    assert_eq!(d["case"]["closeReason"], "Malicious: contained");
    let last = d["comments"]
        .as_array()
        .and_then(|c| c.last())
        .expect("close note");
    assert!(last["comment"]
        .as_str()
        .unwrap_or("")
        .contains("Malicious: contained"));

    let open = ok(with_db(dir, &["case", "list", "--format", "json"]), "open").json();
    let ids: Vec<i64> = open["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .filter_map(|c| c["id"].as_i64())
        .collect();
    assert_eq!(ids, [2], "closed cases leave the default (opened) list");
    let closed = ok(
        with_db(
            dir,
            &["case", "list", "--status", "closed", "--format", "json"],
        ),
        "closed",
    )
    .json();
    assert_eq!(closed["cases"][0]["id"], 1);

    let text = ok(with_db(dir, &["case", "show", "1"]), "show text");
    for part in [
        "Case #1: PsExec from SALES-PC",
        "status Closed",
        "Comments (3):",
        "    SALES-PC isolated",
    ] {
        assert!(
            text.stdout.contains(part),
            "missing {part:?}:\n{}",
            text.stdout
        );
    }
}

#[test]
fn case_update_changes_the_fields_given_and_notes_them() {
    let dir = tempfile::tempdir().expect("temp dir");
    let dir = dir.path();
    let id = create(
        dir,
        "PsExec from SALES-PC",
        &["--assignee", "ana", "--tags", "psexec"],
    );
    let out = ok(
        with_db(
            dir,
            &[
                "case",
                "update",
                &id.to_string(),
                "--stage",
                "Investigation",
                "--tags",
                "psexec,lm,sales-pc",
                "--description",
                "two hops",
                "--author",
                "bo",
            ],
        ),
        "case update",
    );
    assert!(out.stdout.contains("updated"), "{}", out.stdout);
    let d = show(dir, id);
    assert_eq!(d["case"]["stage"], "Investigation");
    assert_eq!(
        d["case"]["tags"],
        serde_json::json!(["psexec", "lm", "sales-pc"])
    );
    assert_eq!(d["case"]["description"], "two hops");
    assert_eq!(d["case"]["assignee"], "ana", "untouched");
    assert_eq!(d["case"]["status"], "Opened", "untouched");
    let last = d["comments"]
        .as_array()
        .and_then(|c| c.last())
        .cloned()
        .unwrap_or_default();
    assert_eq!(last["author"], "bo");
    assert!(
        last["comment"]
            .as_str()
            .unwrap_or_default()
            .starts_with("Case updated: stage Investigation"),
        "{last}"
    );
    let out = ok(
        with_db(
            dir,
            &[
                "case",
                "update",
                &id.to_string(),
                "--status",
                "closed",
                "--assignee",
                "",
                "--priority",
                "high",
                "--format",
                "json",
            ],
        ),
        "case update json",
    );
    let c = out.json();
    assert_eq!(c["status"], "Closed");
    assert_eq!(c["priority"], "PriorityHigh");
    assert!(c["assignee"].is_null(), "{c}");
    // Nothing to change, a bad status, an unknown case: errors.
    assert_ne!(with_db(dir, &["case", "update", &id.to_string()]).code, 0);
    assert_ne!(
        with_db(
            dir,
            &["case", "update", &id.to_string(), "--status", "maybe"]
        )
        .code,
        0
    );
    let missing = with_db(dir, &["case", "update", "99", "--stage", "x"]);
    assert_ne!(missing.code, 0);
    assert!(missing.stderr.contains("99"), "{}", missing.stderr);
    let help = lateral(&["case", "update", "--help"]);
    assert!(help.stdout.contains("Examples:"), "{}", help.stdout);
}

#[test]
fn case_errors_name_the_case_and_the_database() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    let out = with_db(dir, &["case", "comment", "99", "hello"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("no case 99") && out.stderr.contains("cases.db"),
        "{}",
        out.stderr
    );
    create(dir, "x", &[]);
    let bad = with_db(dir, &["case", "priority", "1", "urgent"]);
    assert_eq!(bad.code, 1);
    assert!(bad.stderr.contains("unknown priority"), "{}", bad.stderr);
    let bad_id = with_db(dir, &["case", "show", "abc"]);
    assert_eq!(bad_id.code, 1);
    assert!(bad_id.stderr.contains("not a case id"), "{}", bad_id.stderr);
    let not_report = dir.join("x.json");
    std::fs::write(&not_report, "{\"events\": []}").expect("write");
    let att = with_db(
        dir,
        &[
            "case",
            "attach",
            "1",
            "--report",
            not_report.to_str().unwrap_or(""),
        ],
    );
    assert_eq!(att.code, 1);
    assert!(
        att.stderr.contains("not a lateral hunt report"),
        "{}",
        att.stderr
    );
}

#[test]
fn parallel_processes_posting_comments_lose_none() {
    const PROCS: usize = 24;
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    create(dir, "busy case", &[]);
    let db = db_arg(dir);
    // All processes start before any is waited for.
    let spawned: Vec<_> = (0..PROCS)
        .map(|i| {
            Command::new(env!("CARGO_BIN_EXE_lateral"))
                .args(["case", "comment", "1", &format!("note {i}"), "--db", &db])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("spawn")
        })
        .collect();
    for c in spawned {
        let out = c.wait_with_output().expect("wait");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let got: BTreeSet<String> = show(dir, 1)["comments"]
        .as_array()
        .expect("comments")
        .iter()
        .filter_map(|c| c["comment"].as_str().map(String::from))
        .collect();
    let expected: BTreeSet<String> = (0..PROCS).map(|i| format!("note {i}")).collect();
    assert_eq!(got, expected);
}

/// Query ids of the built-in pack whose `techniques` list names `technique`.
fn pack_queries_naming(technique: &str) -> Vec<String> {
    let text = std::fs::read_to_string(repo_root().join("crates/hunt/packs/lateral-movement.yaml"))
        .expect("pack");
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        let t = line.trim();
        if let Some(id) = t.strip_prefix("- id:") {
            current = Some(id.trim().to_string());
        } else if let Some(list) = t.strip_prefix("techniques:") {
            let names: Vec<&str> = list
                .trim()
                .trim_matches(['[', ']'])
                .split(',')
                .map(str::trim)
                .collect();
            if names.contains(&technique) {
                if let Some(id) = current.clone() {
                    out.push(id);
                }
            }
        }
    }
    out
}

#[test]
fn intel_by_id_name_and_free_text() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    let text = ok(with_db(dir, &["intel", "t1021.002"]), "intel id");
    assert!(
        text.stdout
            .starts_with("T1021.002 Remote Services: SMB/Windows Admin Shares"),
        "{}",
        text.stdout
    );
    for part in [
        "Tactics: Lateral Movement",
        "Lateral movement:",
        "Security 5145",
        "Hunt queries covering it",
        "Related:",
    ] {
        assert!(
            text.stdout.contains(part),
            "missing {part:?}:\n{}",
            text.stdout
        );
    }
    // Coverage is the pack's own technique lists.
    let json = ok(
        with_db(dir, &["intel", "T1021.002", "--format", "json"]),
        "intel json",
    )
    .json();
    let first = &json["results"][0];
    assert_eq!(first["id"], "T1021.002");
    let direct: Vec<String> = first["hunt_queries"]
        .as_array()
        .expect("hunt_queries")
        .iter()
        .filter(|q| q.get("via").is_none())
        .filter_map(|q| q["id"].as_str().map(String::from))
        .collect();
    let expected = pack_queries_naming("T1021.002");
    assert!(!expected.is_empty());
    assert_eq!(direct, expected);

    let by_name = ok(
        with_db(dir, &["intel", "pass", "the", "hash"]),
        "intel name",
    );
    assert!(
        by_name.stdout.starts_with("T1550.002 "),
        "{}",
        by_name.stdout
    );
    let free = ok(
        with_db(dir, &["intel", "MITRE T1047 WMI", "--format", "json"]),
        "free",
    )
    .json();
    assert_eq!(free["results"][0]["id"], "T1047");
    assert_eq!(free["results"][0]["matched"], "id");
    let ids: Vec<&str> = free["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter_map(|r| r["id"].as_str())
        .collect();
    assert!(ids.contains(&"T1546.003"), "{ids:?}");
    let unknown = ok(with_db(dir, &["intel", "T1003.001"]), "unknown");
    assert!(
        unknown.stdout.contains("T1003.001: not in the built-in"),
        "{}",
        unknown.stdout
    );
}

#[test]
fn intel_import_of_the_shared_compact_lookup() {
    let Some(data) = shared_data() else { return };
    let file = data.join("attack/attack-patterns-lookup-v18.1.json");
    assert!(file.is_file(), "missing {}", file.display());
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    let before = ok(with_db(dir, &["intel", "T1003.001"]), "before import");
    assert!(
        before.stdout.contains("not in the built-in"),
        "{}",
        before.stdout
    );
    let imp = ok(
        with_db(dir, &["intel", "import", file.to_str().unwrap_or("")]),
        "import",
    );
    assert!(imp.stdout.starts_with("imported "), "{}", imp.stdout);
    assert!(imp.stdout.contains("compact-lookup"), "{}", imp.stdout);
    assert!(dir.join("attack-techniques.json").is_file());
    let n: usize = imp
        .stdout
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .expect("count");
    assert!(n > 600, "{}", imp.stdout);
    let after = ok(with_db(dir, &["intel", "T1003.001"]), "after import");
    assert!(
        after
            .stdout
            .starts_with("T1003.001 OS Credential Dumping: LSASS Memory"),
        "{}",
        after.stdout
    );
    assert!(
        after.stdout.contains("imported ATT&CK data"),
        "{}",
        after.stdout
    );
    // Built-in text still answers for the lateral-movement techniques.
    let ours = ok(with_db(dir, &["intel", "T1021.002"]), "builtin");
    assert!(
        ours.stdout.contains("lateral built-in knowledge base"),
        "{}",
        ours.stdout
    );
}

#[test]
fn hunt_case_posts_the_summary_attaches_findings_and_escalates() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    let evidence = dir.join("evidence");
    ok(
        lateral(&[
            "simulate",
            "--scenario",
            "psexec-chain",
            "--out",
            evidence.to_str().unwrap_or(""),
        ]),
        "simulate",
    );
    // A typo in the case id fails before the scan.
    let missing = with_db(
        dir,
        &["hunt", evidence.to_str().unwrap_or(""), "--case", "7"],
    );
    assert_eq!(missing.code, 1);
    assert!(missing.stderr.contains("no case 7"), "{}", missing.stderr);

    let case = create(dir, "psexec-chain hunt", &[]);
    let out_dir = dir.join("reports");
    let case_s = case.to_string();
    let run = ok(
        with_db(
            dir,
            &[
                "hunt",
                evidence.to_str().unwrap_or(""),
                "--all-time",
                "--case",
                &case_s,
                "--escalate",
                "--format",
                "json",
                "--out",
                out_dir.to_str().unwrap_or(""),
            ],
        ),
        "hunt --case",
    );
    let report = run.json();
    assert!(
        run.stderr
            .contains(&format!("case #{case}: hunt summary posted")),
        "{}",
        run.stderr
    );

    let details = show(dir, case);
    let comments = details["comments"].as_array().expect("comments");
    let summary = comments
        .iter()
        .filter_map(|c| c["comment"].as_str())
        .find(|c| c.starts_with("Lateral Movement Hunt (PsExec/WMI) Summary"))
        .expect("summary comment");
    // Every query with its count; the zero-hit ones under the negative results.
    let queries = report["queries"].as_array().expect("queries");
    let negatives = summary
        .split("Negative results (0 hits):")
        .nth(1)
        .expect("negative section");
    let mut zero = 0;
    for q in queries {
        let id = q["id"].as_str().expect("query id");
        let hits = q["hits"].as_u64().expect("hits");
        let needle = format!("[{id}]: {hits} hit");
        assert!(
            summary.contains(&needle),
            "missing {needle:?} in\n{summary}"
        );
        if hits == 0 {
            zero += 1;
            assert!(negatives.contains(&format!("[{id}]: 0 hits")), "{id}");
        }
    }
    assert!(
        zero > 0,
        "psexec-chain should leave some queries without hits"
    );
    // Findings attached as alerts, one per finding, same ids.
    let findings: Vec<&str> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f["id"].as_str())
        .collect();
    assert!(!findings.is_empty());
    let alerts: Vec<&str> = details["alerts"]
        .as_array()
        .expect("alerts")
        .iter()
        .filter_map(|a| a["identifier"].as_str())
        .collect();
    assert_eq!(alerts, findings);
    for f in &findings {
        assert!(summary.contains(f), "finding {f} not in the summary");
    }
    let entities: Vec<&str> = details["entities"]
        .as_array()
        .expect("entities")
        .iter()
        .filter_map(|e| e["identifier"].as_str())
        .collect();
    assert!(
        entities.iter().any(|e| e.eq_ignore_ascii_case("SALES-PC")),
        "{entities:?}"
    );
    assert!(
        entities
            .iter()
            .any(|e| e.eq_ignore_ascii_case("MARKETING-PC")),
        "{entities:?}"
    );

    // --escalate opened an incident whose priority follows the worst finding.
    assert_eq!(report["conclusion"]["movement_found"], true);
    let order = ["info", "low", "medium", "high", "critical"];
    let worst = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f["severity"].as_str())
        .filter_map(|s| order.iter().position(|o| *o == s))
        .max()
        .expect("severities");
    let expected_priority = [
        "PriorityInfo",
        "PriorityLow",
        "PriorityMedium",
        "PriorityHigh",
        "PriorityCritical",
    ][worst];
    let incident = show(dir, case + 1);
    assert_eq!(incident["case"]["incident"], true);
    assert_eq!(incident["case"]["priority"], expected_priority);
    assert!(incident["case"]["displayName"]
        .as_str()
        .unwrap_or("")
        .contains("SALES-PC"));
    assert_eq!(
        incident["alerts"].as_array().map(Vec::len),
        Some(findings.len())
    );
    assert!(details["comments"]
        .as_array()
        .expect("comments")
        .iter()
        .any(|c| c["comment"]
            .as_str()
            .unwrap_or("")
            .starts_with("Escalated: incident case")));

    // A later hunt on another case finds both earlier cases as related (shared hosts).
    let later = create(dir, "second look", &[]);
    let later_s = later.to_string();
    ok(
        with_db(
            dir,
            &[
                "hunt",
                evidence.to_str().unwrap_or(""),
                "--all-time",
                "--case",
                &later_s,
                "--format",
                "json",
                "--out",
                out_dir.to_str().unwrap_or(""),
            ],
        ),
        "second hunt",
    );
    let second = show(dir, later);
    let text = second["comments"][0]["comment"].as_str().unwrap_or("");
    let related = text
        .split("Related cases:")
        .nth(1)
        .expect("related section");
    assert!(
        related.contains(&format!("#{case} \"psexec-chain hunt\"")),
        "{text}"
    );
    assert!(
        related.contains(&format!("#{} \"Lateral movement", case + 1)),
        "{text}"
    );
}

#[test]
fn escalate_without_confirmed_movement_opens_nothing() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    // An empty-of-movement hunt: the psexec-chain evidence scoped to a host with no activity.
    let evidence = dir.join("evidence");
    ok(
        lateral(&[
            "simulate",
            "--scenario",
            "psexec-chain",
            "--out",
            evidence.to_str().unwrap_or(""),
        ]),
        "simulate",
    );
    let out_dir = dir.join("reports");
    let run = ok(
        with_db(
            dir,
            &[
                "hunt",
                evidence.to_str().unwrap_or(""),
                "--all-time",
                "--scope",
                "principal.hostname = \"NO-SUCH-HOST\"",
                "--escalate",
                "--format",
                "json",
                "--out",
                out_dir.to_str().unwrap_or(""),
            ],
        ),
        "hunt --escalate",
    );
    assert_eq!(run.json()["conclusion"]["movement_found"], false);
    assert!(
        run.stderr.contains("no incident case opened"),
        "{}",
        run.stderr
    );
    let list = ok(
        with_db(
            dir,
            &["case", "list", "--status", "all", "--format", "json"],
        ),
        "list",
    )
    .json();
    assert_eq!(list["cases"].as_array().map(Vec::len), Some(0));
}
