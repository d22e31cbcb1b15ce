//! `lateral mcp` end to end: the binary is started as a subprocess and spoken to the way Cline
//! does (JSON-RPC lines over stdio, or streamable HTTP), replaying the lateral-movement runbook
//! against the `serhatg` and `psexec-chain` stories; and `lateral lookup`, which shares the
//! entity lookup with `lookup_entity`.

mod common;
use common::*;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::{json, Value};

fn simulate(name: &str, dir: &Path) -> PathBuf {
    let out = dir.join(name);
    let sim = lateral(&[
        "simulate",
        "--scenario",
        name,
        "--out",
        out.to_str().unwrap_or_default(),
    ]);
    assert_eq!(sim.code, 0, "simulate {name}: {}", sim.stderr);
    out
}

/// `lateral mcp` over stdio (the client lives in `tests/common`).
type Stdio_ = McpStdio;

impl McpStdio {
    fn start(evidence: &Path, db: &Path) -> McpStdio {
        Self::start_with("--evidence", evidence, db)
    }

    /// `lateral mcp <flag> <path> --db <db>` (`--evidence` or `--store`).
    fn start_with(flag: &str, evidence: &Path, db: &Path) -> McpStdio {
        McpStdio::spawn(&[
            flag,
            evidence.to_str().unwrap_or_default(),
            "--db",
            db.to_str().unwrap_or_default(),
        ])
    }
}

fn content_text(result: &Value) -> String {
    result["content"][0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// The dict a tool returned, checking text and structuredContent agree.
fn dict(result: &Value) -> Value {
    assert_ne!(result["isError"], json!(true), "{result}");
    let text: Value = serde_json::from_str(&content_text(result))
        .unwrap_or_else(|e| panic!("tool text is not JSON ({e}): {result}"));
    assert_eq!(text, result["structuredContent"]["result"]);
    text
}

fn total(result: &Value) -> u64 {
    let d = dict(result);
    assert!(d["udm_query"].is_string(), "{d}");
    d["events"]["total_events"]
        .as_u64()
        .unwrap_or_else(|| panic!("no total_events: {d}"))
}

const SEARCHES: [(&str, u64); 3] = [
    ("PSEXESVC install on serhatg.local", 0),
    ("WmiPrvSE launching cmd/psh on serhatg.local", 0),
    ("wmic process call create on serhatg.local", 3),
];

#[test]
fn cline_over_stdio_replays_the_runbook_on_serhatg() {
    let dir = tempfile::tempdir().expect("temp dir");
    let evidence = simulate("serhatg", dir.path());
    let db = dir.path().join("cases.db");
    let mut s = Stdio_::start(&evidence, &db);
    let init = s.initialize("2024-11-05");
    assert_eq!(init["result"]["protocolVersion"], "2024-11-05", "{init}");
    let tools = s.request("tools/list", json!({}));
    let names: Vec<&str> = tools["result"]["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    for want in [
        "search_security_events",
        "search_udm",
        "lookup_entity",
        "get_threat_intel",
        "get_security_alerts",
        "list_security_rules",
        "list_cases",
        "get_case_full_details",
        "post_case_comment",
        "change_case_priority",
        "create_case",
        "list_alerts_by_case",
        "list_events_by_alert",
        "run_lateral_movement_hunt",
        "get_ioc_matches",
        "export_udm_search_csv",
        "find_udm_field_values",
        "analyze_pcap",
        "process_tree",
    ] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }

    let intel = s.call("get_threat_intel", json!({"query": "MITRE T1021.002"}));
    assert!(content_text(&intel).contains("T1021.002"), "{intel}");

    for (text, expected) in SEARCHES {
        let r = s.call(
            "search_security_events",
            json!({"text": text, "hours_back": 168, "project_id": "ignored", "bogus": 1}),
        );
        assert_eq!(total(&r), expected, "{text}: {r}");
    }
    // Numbers as strings are accepted; the runbook's UDM is run as given.
    let r = s.call(
        "search_security_events",
        json!({"text": "metadata.product_event_type = \"ServiceInstalled\" AND target.process.file.full_path CONTAINS \"PSEXESVC.exe\"", "hours_back": "168"}),
    );
    assert_eq!(total(&r), 0, "{r}");
    let r = s.call(
        "search_udm",
        json!({"query": "target.process.file.full_path = \"WMIC.exe\" AND metadata.event_type = \"PROCESS_LAUNCH\"", "hours_back": 168, "max_events": "2"}),
    );
    let d = dict(&r);
    assert_eq!(d["total_events"], 6, "{d}");
    assert_eq!(d["events"].as_array().map(Vec::len), Some(2));
    assert_eq!(d["more_data_available"], true);
    let first = &d["events"][0];
    assert!(first["name"].is_string());
    assert_eq!(
        first["udm"]["target"]["process"]["commandLine"]
            .as_str()
            .map(|c| c.contains("process call create")),
        Some(true),
        "{first}"
    );

    let lookup = s.call(
        "lookup_entity",
        json!({"entity_value": "serhatg.local", "hours_back": 168}),
    );
    let text = content_text(&lookup);
    for section in [
        "Entity Summary",
        "Primary Entity",
        "First Seen",
        "Last Seen",
        "Related Entities",
        "Associated Alerts",
        "Timeline Summary",
    ] {
        assert!(text.contains(section), "{section}: {text}");
    }
    assert!(text.contains("Credentials in a command line"), "{text}");
    let lookup = s.call(
        "lookup_entity",
        json!({"entity_value": "AD\\docker", "hours_back": "168"}),
    );
    assert!(content_text(&lookup).contains("Type: USER"), "{lookup}");

    let cases = dict(&s.call("list_cases", json!({"filter": "x", "limit": 5})));
    assert_eq!(cases["cases"], json!([]), "{cases}");
    let case = dict(&s.call(
        "create_case",
        json!({"display_name": "serhatg wmic job", "priority": "high"}),
    ));
    let id = case["id"].as_i64().expect("case id");
    let posted = s.call(
        "post_case_comment",
        json!({"case_id": id.to_string(), "comment": "Hunt: wmic /node:127.0.0.1 is local, not movement."}),
    );
    dict(&posted);
    let details = dict(&s.call("get_case_full_details", json!({"case_id": id})));
    let comments = details["case_comments"].as_array().expect("comments");
    assert!(
        comments
            .iter()
            .any(|c| c["comment"] == "Hunt: wmic /node:127.0.0.1 is local, not movement."),
        "{details}"
    );
    let changed = dict(&s.call(
        "change_case_priority",
        json!({"case_id": id, "case_priority": "PriorityCritical"}),
    ));
    assert_eq!(changed["priority"], "PriorityCritical");
    // A backend error is content, not a protocol error.
    let missing = s.call(
        "post_case_comment",
        json!({"case_id": "9999", "comment": "x"}),
    );
    assert_ne!(missing["isError"], json!(true), "{missing}");
    assert!(content_text(&missing).starts_with("Error"), "{missing}");
}

#[test]
fn cline_over_stdio_replays_the_runbook_on_psexec_chain() {
    let dir = tempfile::tempdir().expect("temp dir");
    let evidence = simulate("psexec-chain", dir.path());
    let db = dir.path().join("cases.db");
    let mut s = Stdio_::start(&evidence, &db);
    let init = s.initialize("2025-06-18");
    assert_eq!(init["result"]["protocolVersion"], "2025-06-18", "{init}");
    let r = s.call(
        "search_security_events",
        json!({"text": "PSEXESVC install on sales-pc", "hours_back": 168}),
    );
    assert!(total(&r) >= 1, "{r}");
    let alerts = s.call("get_security_alerts", json!({"hours_back": 168}));
    assert!(content_text(&alerts).contains("SALES-PC"), "{alerts}");
    let lookup = s.call(
        "lookup_entity",
        json!({"entity_value": "10.0.0.130", "hours_back": 168}),
    );
    let text = content_text(&lookup);
    assert!(text.contains("Type: IP_ADDRESS"), "{text}");
    assert!(text.contains("PsExec"), "{text}");
    let case = dict(&s.call("create_case", json!({"title": "psexec chain"})));
    let id = case["id"].as_i64().expect("case id");
    let hunt = dict(&s.call(
        "run_lateral_movement_hunt",
        json!({"hours_back": "168", "case_id": id}),
    ));
    assert!(
        hunt["findings"].as_array().map(Vec::len).unwrap_or(0) > 0,
        "{hunt}"
    );
    let alerts = dict(&s.call("list_alerts_by_case", json!({"case_id": id})));
    let first = alerts["alerts"][0]["identifier"]
        .as_str()
        .expect("alert")
        .to_string();
    let events = dict(&s.call(
        "list_events_by_alert",
        json!({"case_id": id, "alert_id": first}),
    ));
    assert!(events["events"].is_array(), "{events}");
    let details = dict(&s.call("get_case_full_details", json!({"case_id": id})));
    assert!(
        details["case_comments"][0]["comment"]
            .as_str()
            .unwrap_or_default()
            .contains("T1021.002")
            || !details["case_comments"]
                .as_array()
                .expect("comments")
                .is_empty(),
        "{details}"
    );
    let rules = dict(&s.call("list_security_rules", json!({"page_size": "5"})));
    assert_eq!(rules["rules"].as_array().map(Vec::len), Some(5));
    assert_eq!(rules["nextPageToken"], "5");
}

/// One HTTP/1.1 POST to /mcp; (status, JSON-RPC message if any).
fn post(port: u16, token: Option<&str>, body: &Value) -> (u16, Option<Value>) {
    let body = serde_json::to_string(body).expect("json");
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let req = format!(
        "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nMCP-Protocol-Version: 2025-06-18\r\n{auth}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(req.as_bytes()).expect("send");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("receive");
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let (head, rest) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(rest)
    } else {
        rest.to_string()
    };
    let msg = serde_json::from_str::<Value>(body.trim()).ok().or_else(|| {
        body.lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .filter_map(|d| serde_json::from_str::<Value>(d.trim()).ok())
            .find(|m| m.get("id").is_some())
    });
    (status, msg)
}

fn dechunk(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some((size, after)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || after.len() < n {
            break;
        }
        out.push_str(&after[..n]);
        rest = after[n..].trim_start_matches("\r\n");
    }
    out
}

#[test]
fn cline_over_http_with_a_token() {
    let dir = tempfile::tempdir().expect("temp dir");
    let evidence = simulate("serhatg", dir.path());
    let db = dir.path().join("cases.db");
    let (mut child, port) = spawn_http(&evidence, &db, "t0ken", &[], 20);
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "Cline", "version": "3.17"}}});
    let (status, _) = post(port, None, &init);
    assert_eq!(status, 401, "a request without the token must be refused");
    let (status, _) = post(port, Some("wrong"), &init);
    assert_eq!(status, 401);
    let (status, msg) = post(port, Some("t0ken"), &init);
    assert_eq!(status, 200);
    assert_eq!(
        msg.expect("initialize result")["result"]["protocolVersion"],
        "2025-06-18"
    );
    let (status, _) = post(
        port,
        Some("t0ken"),
        &json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
    );
    assert!(status == 202 || status == 200, "{status}");
    let (_, list) = post(
        port,
        Some("t0ken"),
        &json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
    );
    assert!(
        list.expect("tools")["result"]["tools"]
            .as_array()
            .map(Vec::len)
            .unwrap_or(0)
            >= 14
    );
    for (i, (text, expected)) in SEARCHES.iter().enumerate() {
        let (_, msg) = post(
            port,
            Some("t0ken"),
            &json!({"jsonrpc": "2.0", "id": 10 + i, "method": "tools/call", "params": {"name": "search_security_events", "arguments": {"text": text, "hours_back": 168}}}),
        );
        let msg = msg.expect("tools/call result");
        assert_eq!(total(&msg["result"]), *expected, "{text}: {msg}");
    }
    let (_, msg) = post(
        port,
        Some("t0ken"),
        &json!({"jsonrpc": "2.0", "id": 20, "method": "tools/call", "params": {"name": "get_threat_intel", "arguments": {"query": "MITRE T1021.002"}}}),
    );
    assert!(content_text(&msg.expect("intel")["result"]).contains("T1021.002"));
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn a_non_loopback_bind_without_a_token_is_refused() {
    let out = Command::new(env!("CARGO_BIN_EXE_lateral"))
        .args(["mcp", "--http", "0.0.0.0:0"])
        .env_remove("LATERAL_MCP_TOKEN")
        .output()
        .expect("run");
    assert_ne!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("needs a bearer token"), "{err}");
}

#[test]
fn lookup_reports_an_entity_as_text_and_json() {
    let dir = tempfile::tempdir().expect("temp dir");
    let evidence = simulate("psexec-chain", dir.path());
    let ev = evidence.to_str().unwrap_or_default();
    let out = lateral(&["lookup", "10.0.0.130", ev]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    for section in [
        "Entity Summary for 10.0.0.130",
        "Type: IP_ADDRESS",
        "Related Entities",
        "Associated Alerts",
        "Timeline Summary",
    ] {
        assert!(out.stdout.contains(section), "{section}: {}", out.stdout);
    }
    let out = lateral(&["lookup", "CORP\\ssales", ev, "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let doc = out.json();
    assert_eq!(doc["type"], "USER");
    assert!(doc["total_events"].as_u64().unwrap_or(0) > 0, "{doc}");
    assert!(doc["first_seen"].is_string());
    let hosts: Vec<&str> = doc["related"]
        .as_array()
        .expect("related")
        .iter()
        .filter(|r| r["type"] == "HOSTNAME")
        .filter_map(|r| r["value"].as_str())
        .collect();
    assert!(hosts.iter().any(|h| h.starts_with("sales-pc")), "{hosts:?}");
    assert!(
        !doc["findings"].as_array().expect("findings").is_empty(),
        "{doc}"
    );
    // The same lookup twice gives the same bytes.
    let again = lateral(&["lookup", "CORP\\ssales", ev, "--format", "json"]);
    assert_eq!(again.stdout, out.stdout);
    let help = lateral(&["lookup", "--help"]);
    assert!(help.stdout.contains("Examples:"));
    let help = lateral(&["mcp", "--help"]);
    assert!(help.stdout.contains("Examples:"));
}

#[test]
fn the_store_serves_the_same_answers_as_the_evidence() {
    let dir = tempfile::tempdir().expect("temp dir");
    let evidence = simulate("serhatg", dir.path());
    let store = dir.path().join("store");
    let out = Command::new(env!("CARGO_BIN_EXE_lateral"))
        .args([
            "ingest",
            evidence.to_str().unwrap_or_default(),
            "--store",
            store.to_str().unwrap_or_default(),
        ])
        .output()
        .expect("ingest");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut raw = Stdio_::start(&evidence, &dir.path().join("a.db"));
    let mut stored = Stdio_::start_with("--store", &store, &dir.path().join("b.db"));
    raw.initialize("2024-11-05");
    stored.initialize("2024-11-05");
    for (text, expected) in SEARCHES {
        let args = json!({"text": text, "hours_back": 168});
        let a = raw.call("search_security_events", args.clone());
        let b = stored.call("search_security_events", args);
        assert_eq!(total(&a), expected, "{text}");
        assert_eq!(dict(&a)["events"], dict(&b)["events"], "{text}");
    }
    let udm = json!({"query": "target.process.file.full_path = \"WMIC.exe\"", "hours_back": 168, "max_events": 50});
    assert_eq!(
        dict(&raw.call("search_udm", udm.clone())),
        dict(&stored.call("search_udm", udm))
    );
}

/// A way to call tools: stdio or HTTP.
trait Mcp {
    fn tool(&mut self, tool: &str, args: Value) -> Value;
}

impl Mcp for Stdio_ {
    fn tool(&mut self, tool: &str, args: Value) -> Value {
        self.call(tool, args)
    }
}

/// `lateral mcp --http 127.0.0.1:0` with a token, initialised.
/// `lateral mcp --evidence EVIDENCE --db DB --http 127.0.0.1:0 EXTRA...` with `token` in
/// its environment; the port is read from its "listening" line among the first `max_lines`
/// lines of stderr, which is drained afterwards so the server never blocks on a full pipe.
fn spawn_http(
    evidence: &Path,
    db: &Path,
    token: &str,
    extra: &[&str],
    max_lines: usize,
) -> (Child, u16) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_lateral"))
        .args([
            "mcp",
            "--evidence",
            evidence.to_str().unwrap_or_default(),
            "--db",
            db.to_str().unwrap_or_default(),
            "--http",
            "127.0.0.1:0",
        ])
        .args(extra)
        .env("LATERAL_MCP_TOKEN", token)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("start lateral mcp --http");
    let mut err = BufReader::new(child.stderr.take().expect("stderr"));
    let mut port = 0u16;
    for _ in 0..max_lines {
        let mut line = String::new();
        if err.read_line(&mut line).unwrap_or(0) == 0 {
            break;
        }
        if let Some(rest) = line
            .trim()
            .strip_prefix("lateral mcp: listening on http://127.0.0.1:")
        {
            port = rest.trim_end_matches("/mcp").parse().unwrap_or(0);
            break;
        }
    }
    assert_ne!(port, 0, "no listening line from lateral mcp --http");
    std::thread::spawn(move || {
        let mut sink = String::new();
        let _ = err.read_to_string(&mut sink);
    });
    (child, port)
}

struct Http {
    child: Child,
    port: u16,
    token: String,
    next_id: i64,
}

impl Http {
    fn start(evidence: &Path, db: &Path, token: &str, extra: &[&str]) -> Http {
        let (child, port) = spawn_http(evidence, db, token, extra, 50);
        let mut h = Http {
            child,
            port,
            token: token.to_string(),
            next_id: 100,
        };
        let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "Cline", "version": "3.17"}}});
        let (status, _) = post(port, None, &init);
        assert_eq!(status, 401, "a request without the token must be refused");
        let (status, msg) = post(port, Some(&h.token), &init);
        assert_eq!(status, 200);
        assert_eq!(
            msg.expect("initialize result")["result"]["protocolVersion"],
            "2025-06-18"
        );
        let (status, _) = post(
            port,
            Some(&h.token),
            &json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        );
        assert!(status == 202 || status == 200, "{status}");
        h.next_id += 1;
        h
    }
}

impl Mcp for Http {
    fn tool(&mut self, tool: &str, args: Value) -> Value {
        self.next_id += 1;
        let (status, msg) = post(
            self.port,
            Some(&self.token),
            &json!({"jsonrpc": "2.0", "id": self.next_id, "method": "tools/call", "params": {"name": tool, "arguments": args}}),
        );
        assert_eq!(status, 200, "{tool}: HTTP {status}");
        let msg = msg.unwrap_or_else(|| panic!("{tool}: no JSON-RPC answer"));
        assert!(msg.get("error").is_none(), "{tool}: protocol error {msg}");
        msg["result"].clone()
    }
}

impl Drop for Http {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the runbook replay must find in one story.
struct Story {
    name: &'static str,
    /// Hits of each of RUNBOOK_QUERIES, in order.
    runbook_hits: [u64; 8],
    /// (target ip, source ip, hits) of the SMB correlation query.
    smb: &'static [(&'static str, &'static str, u64)],
    /// Plain-English searches and their hits.
    plain: &'static [(&'static str, u64)],
    /// Entities the hunt's findings must name (case-insensitive; an account may carry a domain).
    suspicious: &'static [&'static str],
}

const SERHATG: Story = Story {
    name: "serhatg",
    runbook_hits: [0, 46, 0, 0, 3, 0, 0, 0],
    smb: &[],
    plain: &SEARCHES,
    suspicious: &["serhatg", "AD\\docker"],
};

const PSEXEC_CHAIN: Story = Story {
    name: "psexec-chain",
    runbook_hits: [4, 36, 0, 0, 0, 0, 0, 0],
    smb: &[
        ("10.0.0.133", "10.0.0.130", 1),
        ("10.0.0.131", "10.0.0.133", 2),
    ],
    plain: &[("PSEXESVC install on sales-pc", 2)],
    suspicious: &["10.0.0.130", "SALES-PC", "MARKETING-PC", "ssales"],
};

fn same_entity(found: &str, want: &str) -> bool {
    let f = found.to_ascii_lowercase();
    let w = want.to_ascii_lowercase();
    f == w || f.ends_with(&format!("\\{w}")) || f.split('.').next() == Some(w.as_str())
}

/// The hunt's suspicious entities: source and target hosts and addresses, and accounts.
fn suspicious_entities(hunt: &Value) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut add = |v: &Value| {
        if let Some(s) = v.as_str().filter(|s| !s.is_empty()) {
            if !out.iter().any(|o| o.eq_ignore_ascii_case(s)) {
                out.push(s.to_string());
            }
        }
    };
    for f in hunt["findings"].as_array().expect("findings") {
        for side in ["source", "target"] {
            add(&f[side]["host"]);
            for ip in f[side]["ips"].as_array().into_iter().flatten() {
                add(ip);
            }
        }
        add(&f["account"]);
    }
    out
}

/// The lateral-movement runbook, step by step, as Cline runs it against one story.
fn replay_runbook(c: &mut dyn Mcp, story: &Story) {
    let who = story.name;
    // Research.
    for t in ["T1021.002", "T1047"] {
        let r = c.tool("get_threat_intel", json!({"query": format!("MITRE {t}")}));
        assert!(content_text(&r).contains(t), "{who}: intel {t}: {r}");
    }
    // Every runbook query, negative ones included.
    let mut summary = String::from("Lateral Movement Hunt (PsExec/WMI) Summary\nQueries:\n");
    for ((what, q), want) in RUNBOOK_QUERIES.iter().zip(story.runbook_hits) {
        let r = c.tool(
            "search_security_events",
            json!({"text": q, "hours_back": 168}),
        );
        let got = total(&r);
        assert_eq!(got, want, "{who}: runbook query {what}: {r}");
        summary.push_str(&format!("- {what}: {got} hit(s)\n"));
    }
    for (target, source, want) in story.smb {
        let r = c.tool(
            "search_security_events",
            json!({"text": runbook_smb_query(target, source), "hours_back": "168"}),
        );
        assert_eq!(total(&r), *want, "{who}: SMB {source} -> {target}: {r}");
    }
    for (text, want) in story.plain {
        let r = c.tool(
            "search_security_events",
            json!({"text": text, "hours_back": 168}),
        );
        assert_eq!(total(&r), *want, "{who}: {text}: {r}");
    }
    // Findings and the suspicious entities they name.
    let hunt = dict(&c.tool("run_lateral_movement_hunt", json!({"hours_back": 168})));
    let entities = suspicious_entities(&hunt);
    for want in story.suspicious {
        assert!(
            entities.iter().any(|e| same_entity(e, want)),
            "{who}: the hunt does not name {want}: {entities:?}"
        );
    }
    // Enrich each one.
    for e in &entities {
        let r = c.tool(
            "lookup_entity",
            json!({"entity_value": e, "hours_back": 168}),
        );
        let text = content_text(&r);
        assert!(
            text.starts_with("Entity Summary for "),
            "{who}: lookup_entity {e}: {text}"
        );
        for section in [
            "Primary Entity",
            "First Seen",
            "Last Seen",
            "Timeline Summary",
        ] {
            assert!(
                text.contains(section),
                "{who}: lookup_entity {e}: {section}: {text}"
            );
        }
    }
    // Follow-up process analysis of the first finding's first process.
    let cmd = hunt["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|f| f["commands"].as_array().cloned().unwrap_or_default())
        .find(|c| c["pid"].is_i64())
        .expect("a finding command with a pid");
    let tree = dict(&c.tool(
        "process_tree",
        json!({"host": cmd["host"], "pid": cmd["pid"], "around_time": cmd["time"]}),
    ));
    assert_eq!(tree["process"]["pid"], cmd["pid"], "{who}: {tree}");
    assert_eq!(
        tree["process"]["command_line"], cmd["command_line"],
        "{who}: {tree}"
    );
    // Related cases, then document.
    let first = entities.first().cloned().unwrap_or_default();
    let cases = dict(&c.tool(
        "list_cases",
        json!({"filter": first, "status": "Opened", "limit": 10}),
    ));
    assert!(cases["cases"].is_array(), "{who}: {cases}");
    let case = dict(&c.tool(
        "create_case",
        json!({"display_name": format!("LM hunt {who}"), "priority": "PriorityHigh"}),
    ));
    let id = case["id"].as_i64().expect("case id");
    summary.push_str(&format!("Suspicious entities: {}\n", entities.join(", ")));
    dict(&c.tool(
        "post_case_comment",
        json!({"case_id": id.to_string(), "comment": summary}),
    ));
    let details = dict(&c.tool("get_case_full_details", json!({"case_id": id})));
    assert!(
        details["case_comments"]
            .as_array()
            .expect("comments")
            .iter()
            .any(|c| c["comment"] == json!(summary)),
        "{who}: {details}"
    );
}

fn story_dir(story: &Story) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let evidence = simulate(story.name, dir.path());
    let db = dir.path().join("cases.db");
    (dir, evidence, db)
}

#[test]
fn runbook_replay_over_stdio_on_serhatg() {
    let (_d, evidence, db) = story_dir(&SERHATG);
    let mut s = Stdio_::start(&evidence, &db);
    s.initialize("2024-11-05");
    replay_runbook(&mut s, &SERHATG);
}

#[test]
fn runbook_replay_over_stdio_on_psexec_chain() {
    let (_d, evidence, db) = story_dir(&PSEXEC_CHAIN);
    let mut s = Stdio_::start(&evidence, &db);
    s.initialize("2025-06-18");
    replay_runbook(&mut s, &PSEXEC_CHAIN);
}

#[test]
fn runbook_replay_over_http_on_both_stories() {
    for story in [&SERHATG, &PSEXEC_CHAIN] {
        let (_d, evidence, db) = story_dir(story);
        let mut h = Http::start(&evidence, &db, "t0ken-2", &[]);
        replay_runbook(&mut h, story);
        // Still refused without the token after the replay.
        let (status, _) = post(
            h.port,
            None,
            &json!({"jsonrpc": "2.0", "id": 9, "method": "tools/list"}),
        );
        assert_eq!(status, 401, "{}", story.name);
    }
}

#[test]
fn ioc_matches_csv_export_field_values_and_raw_records() {
    let (dir, evidence, db) = story_dir(&PSEXEC_CHAIN);
    let iocs = dir.path().join("iocs.csv");
    std::fs::write(
        &iocs,
        "value,type,description,source\n\
         10.0.0.130,ip,Kali box,red team\n\
         MARKETING-PC,hostname,second hop,\n\
         ssales,account,compromised user,\n\
         PSEXESVC.exe,file,PsExec service,\n\
         not-an-ip,ip,typo,\n\
         203.0.113.9,ip,never seen,\n",
    )
    .expect("write iocs");
    let mut h = Http::start(
        &evidence,
        &db,
        "t0ken-3",
        &["--ioc", iocs.to_str().unwrap_or_default()],
    );

    let r = h.tool(
        "get_ioc_matches",
        json!({"hours_back": "168", "max_matches": 10}),
    );
    assert_ne!(r["isError"], json!(true), "{r}");
    let text = content_text(&r);
    assert!(text.starts_with("Found 4 IoC matches"), "{text}");
    for (value, observed) in [
        ("10.0.0.130", "10.0.0.130"),
        ("MARKETING-PC", "marketing-pc.corp.local"),
        ("ssales", "CORP\\ssales"),
        ("PSEXESVC.exe", "C:\\Windows\\PSEXESVC.exe"),
    ] {
        let block = text
            .split("\nIoC ")
            .find(|b| b.contains(&format!("\nValue: {value}\n")))
            .unwrap_or_else(|| panic!("no match for {value}: {text}"));
        assert!(block.contains(observed), "{value}: {block}");
        for line in ["First Seen: 2025-", "Last Seen: 2025-", "Events: "] {
            assert!(block.contains(line), "{value}: {line}: {block}");
        }
    }
    assert!(!text.contains("203.0.113.9"), "{text}");
    assert!(
        text.contains("iocs.csv: line 6:") && text.contains("not-an-ip"),
        "the bad line is named: {text}"
    );
    let one = content_text(&h.tool(
        "get_ioc_matches",
        json!({"hours_back": 168, "max_matches": 1}),
    ));
    assert!(one.contains("IoC 1:") && !one.contains("IoC 2:"), "{one}");
    assert!(one.contains("3 more not shown"), "{one}");
    // The last hour holds ordinary activity only: the attack's indicators are not in it.
    let late = content_text(&h.tool("get_ioc_matches", json!({"hours_back": 1})));
    assert!(late.contains("Value: MARKETING-PC"), "{late}");
    for gone in ["Value: 10.0.0.130", "Value: PSEXESVC.exe"] {
        assert!(!late.contains(gone), "{gone}: {late}");
    }

    let csv = h.tool(
        "export_udm_search_csv",
        json!({"query": "metadata.event_type = \"PROCESS_LAUNCH\" AND principal.process.file.full_path = \"PSEXESVC.exe\"",
               "fields": ["metadata.event_timestamp", "principal.hostname", "target.process.pid", "target.process.commandLine"],
               "hours_back": 168}),
    );
    let csv = content_text(&csv);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "metadata.event_timestamp,principal.hostname,target.process.pid,target.process.command_line"
    );
    assert_eq!(lines.len(), 5, "{csv}");
    assert!(
        lines[1].starts_with("2025-07-08T14:21:08.081000Z,sales-pc.corp.local,14008,cmd.exe"),
        "{csv}"
    );
    let empty = h.tool(
        "export_udm_search_csv",
        json!({"query": "principal.hostname = \"nowhere\"", "fields": "principal.hostname", "hours_back": 168}),
    );
    assert_eq!(content_text(&empty), "No results found");
    let bad = h.tool(
        "export_udm_search_csv",
        json!({"query": "principal.hostname = \"x\"", "fields": ["principal.hostnam"]}),
    );
    assert_ne!(bad["isError"], json!(true));
    assert!(
        content_text(&bad).contains("did you mean principal.hostname"),
        "{bad}"
    );

    let values = dict(&h.tool(
        "find_udm_field_values",
        json!({"query": "MARKETING", "page_size": "50"}),
    ));
    let matches = values["valueMatches"].as_array().expect("valueMatches");
    assert!(
        matches.iter().any(|m| m["fieldPath"] == "target.hostname"
            && m["value"] == "marketing-pc.corp.local"
            && m["eventCount"].as_u64().unwrap_or(0) > 0),
        "{values}"
    );
    assert!(matches.iter().all(|m| m["value"]
        .as_str()
        .unwrap_or_default()
        .to_ascii_lowercase()
        .contains("marketing")));
    // The rest of Chronicle's response: the fields matched, a regex, the page token.
    assert!(
        values["fieldMatches"]
            .as_array()
            .is_some_and(|f| f.iter().any(|f| f["fieldPath"] == "target.hostname")),
        "{values}"
    );
    assert_eq!(values["fieldMatchRegex"], "(?i)MARKETING");
    let more = values["totalMatches"].as_u64().unwrap_or(0) > matches.len() as u64;
    assert_eq!(values["nextPageToken"] != "", more, "{values}");

    // The original records are held: shown on request, and searchable.
    let raw = dict(&h.tool(
        "search_udm",
        json!({"query": "metadata.product_event_type = \"7045\"", "hours_back": 168, "max_events": 1, "include_raw": true}),
    ));
    let rec = raw["events"][0]["raw"].as_str().unwrap_or_default();
    assert!(rec.contains("7045") && rec.contains("PSEXESVC"), "{raw}");
    assert!(raw["events"][0]["udm"]["lateral"].get("raw").is_none());
    let plain = dict(&h.tool(
        "search_udm",
        json!({"query": "metadata.product_event_type = \"7045\"", "hours_back": 168, "max_events": 1}),
    ));
    assert!(plain["events"][0].get("raw").is_none(), "{plain}");
    let by_raw = dict(&h.tool(
        "search_udm",
        json!({"query": "lateral.raw = /PSEXESVC-KALI-ATTACK/", "hours_back": 168}),
    ));
    assert!(by_raw["total_events"].as_u64().unwrap_or(0) > 0, "{by_raw}");
}

#[test]
fn without_ioc_lists_get_ioc_matches_says_how_to_load_them() {
    let (_d, evidence, db) = story_dir(&SERHATG);
    let mut s = Stdio_::start(&evidence, &db);
    s.initialize("2025-06-18");
    let r = s.call("get_ioc_matches", json!({}));
    assert!(content_text(&r).contains("--ioc FILE"), "{r}");
}

#[test]
fn the_hunt_cache_keeps_scopes_and_hypotheses_apart() {
    let (_d, evidence, db) = story_dir(&PSEXEC_CHAIN);
    let mut s = Stdio_::start(&evidence, &db);
    s.initialize("2025-06-18");
    let hunt = |s: &mut Stdio_, args: Value| dict(&s.call("run_lateral_movement_hunt", args));
    let all = hunt(&mut s, json!({"hours_back": 168}));
    let scoped = hunt(
        &mut s,
        json!({"hours_back": 168, "scope": "principal.hostname = \"marketing-pc\""}),
    );
    let findings = |v: &Value| v["findings"].as_array().map(Vec::len).unwrap_or(0);
    assert_eq!(all["scope"], Value::Null);
    assert_eq!(
        scoped["scope"],
        "principal.hostname = \"marketing-pc\" nocase"
    );
    assert!(
        findings(&scoped) < findings(&all),
        "{} vs {}",
        findings(&scoped),
        findings(&all)
    );
    let with_h = hunt(
        &mut s,
        json!({"hours_back": 168, "hypothesis": "ssales was phished"}),
    );
    assert_eq!(with_h["hypothesis"], "ssales was phished");
    assert_ne!(all["hypothesis"], "ssales was phished");
    // Alerts after a scoped hunt are still those of the whole evidence.
    let alerts = content_text(&s.call("get_security_alerts", json!({"hours_back": 168})));
    assert!(alerts.contains("KALI-ATTACK"), "{alerts}");
    // The same arguments give the cached report; the case only decides where it is posted.
    let again = hunt(
        &mut s,
        json!({"hours_back": "168", "scope": "principal.hostname = \"marketing-pc\""}),
    );
    assert_eq!(again["generated"], scoped["generated"]);
    assert_eq!(again["findings"], scoped["findings"]);
}

#[test]
fn analyze_pcap_reads_captures_inside_the_evidence_only() {
    let Some(capture) = lateral_testdata::shared("pcap/401trg/20171220_smb_psexec_add_user.pcap")
    else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let evidence = dir.path().join("evidence");
    std::fs::create_dir_all(evidence.join("captures")).expect("mkdir");
    std::fs::copy(&capture, evidence.join("captures/psexec.pcap")).expect("copy");
    std::fs::write(dir.path().join("outside.pcap"), b"not a capture").expect("write");
    let mut s = Stdio_::start(&evidence, &dir.path().join("cases.db"));
    s.initialize("2025-06-18");
    for path in [
        "captures/psexec.pcap".to_string(),
        evidence.join("captures").display().to_string(),
    ] {
        let doc = dict(&s.call("analyze_pcap", json!({"path": path})));
        assert_eq!(
            doc["summary"]["attacker_ip"], "192.168.10.31",
            "{path}: {doc}"
        );
        assert_eq!(doc["captures"].as_array().map(Vec::len), Some(1), "{doc}");
    }
    for outside in [
        capture.display().to_string(),
        dir.path().join("outside.pcap").display().to_string(),
        "../outside.pcap".into(),
        "/etc/passwd".into(),
    ] {
        let r = s.call("analyze_pcap", json!({"path": outside}));
        assert_ne!(r["isError"], json!(true), "refusal is content: {r}");
        let text = content_text(&r);
        assert!(
            text.starts_with("Error analysing the capture:")
                && text.contains("outside the evidence roots"),
            "{outside}: {text}"
        );
    }
    let missing = content_text(&s.call("analyze_pcap", json!({"path": "captures/nope.pcap"})));
    assert!(
        missing.starts_with("Error analysing the capture: cannot open"),
        "{missing}"
    );
}

#[test]
fn no_raw_leaves_the_original_records_out() {
    let (_d, evidence, db) = story_dir(&SERHATG);
    let mut h = Http::start(&evidence, &db, "t0ken-4", &["--no-raw"]);
    let r = dict(&h.tool(
        "search_udm",
        json!({"query": "metadata.event_type = \"PROCESS_LAUNCH\"", "hours_back": 168, "include_raw": true}),
    ));
    assert!(
        r["error"].as_str().unwrap_or_default().contains("--no-raw"),
        "{r}"
    );
    // Everything else still answers.
    let r = h.tool(
        "search_security_events",
        json!({"text": "wmic process call create on serhatg.local", "hours_back": 168}),
    );
    assert_eq!(total(&r), 3);
}
