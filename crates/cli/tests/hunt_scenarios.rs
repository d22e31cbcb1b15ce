//! The three user stories (`lateral simulate`) hunted end to end: each must give exactly the
//! conclusion the story calls for. The assertions read the JSON report.

mod common;
use common::*;
use serde_json::Value;

struct Hunt {
    report: Value,
    /// Every report file written, concatenated (Markdown and JSON).
    files: String,
}

fn simulate(name: &str, dir: &std::path::Path) -> std::path::PathBuf {
    let evidence = dir.join("evidence");
    let sim = lateral(&[
        "simulate",
        "--scenario",
        name,
        "--out",
        evidence.to_str().unwrap_or_default(),
    ]);
    assert_eq!(sim.code, 0, "simulate {name}: {}", sim.stderr);
    evidence
}

fn hunt_dir(evidence: &std::path::Path, out: &std::path::Path) -> Hunt {
    let run = lateral(&[
        "hunt",
        evidence.to_str().unwrap_or_default(),
        "--format",
        "json",
        "--out",
        out.to_str().unwrap_or_default(),
    ]);
    assert_eq!(run.code, 0, "hunt: {}", run.stderr);
    // The JSON report also goes to a file; write the Markdown too, to check masking there.
    let md = lateral(&[
        "hunt",
        evidence.to_str().unwrap_or_default(),
        "--format",
        "md",
        "--out",
        out.to_str().unwrap_or_default(),
    ]);
    assert_eq!(md.code, 0, "hunt (md): {}", md.stderr);
    let mut files = String::new();
    for entry in std::fs::read_dir(out).expect("report folder") {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        assert!(
            name.starts_with("lateral_movement_hunt_all_hosts_"),
            "{name}"
        );
        files.push_str(&std::fs::read_to_string(&path).expect("report file"));
    }
    Hunt {
        report: run.json(),
        files,
    }
}

fn hunt_scenario(name: &str) -> Hunt {
    let dir = tempfile::tempdir().expect("temp dir");
    let evidence = simulate(name, dir.path());
    hunt_dir(&evidence, &dir.path().join("reports"))
}

fn findings<'a>(r: &'a Value, kind: &str) -> Vec<&'a Value> {
    r["findings"]
        .as_array()
        .map(|a| a.iter().filter(|f| f["kind"] == kind).collect())
        .unwrap_or_default()
}

fn titles(r: &Value) -> String {
    r["findings"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|f| format!("{} {}", f["kind"], f["title"]))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}

fn hits(r: &Value, id: &str) -> u64 {
    r["queries"]
        .as_array()
        .and_then(|a| a.iter().find(|q| q["id"] == id))
        .and_then(|q| q["hits"].as_u64())
        .unwrap_or_else(|| panic!("query {id} not in the report"))
}

fn movement<'a>(r: &'a Value, src: &str, dst: &str) -> &'a Value {
    findings(r, "lateral-movement")
        .into_iter()
        .find(|f| {
            let s = &f["source"];
            let src_ok = s["host"]
                .as_str()
                .is_some_and(|h| h.eq_ignore_ascii_case(src))
                || s["ips"]
                    .as_array()
                    .is_some_and(|ips| ips.iter().any(|i| i == src));
            let dst_ok = f["target"]["host"]
                .as_str()
                .is_some_and(|h| h.eq_ignore_ascii_case(dst));
            src_ok && dst_ok
        })
        .unwrap_or_else(|| panic!("no movement {src} -> {dst} among:\n{}", titles(r)))
}

#[test]
fn serhatg_is_local_credential_exposure_and_a_recurring_job_not_movement() {
    let h = hunt_scenario("serhatg");
    let r = &h.report;
    for kind in [
        "lateral-movement",
        "source-side-movement",
        "suspected-movement",
        "fan-out",
    ] {
        assert!(findings(r, kind).is_empty(), "{kind}:\n{}", titles(r));
    }
    assert_eq!(r["conclusion"]["movement_found"], false);
    assert!(r["graph"]["edges"].as_array().is_some_and(Vec::is_empty));
    // The wmic call aimed at 127.0.0.1 is labelled local.
    let local = findings(r, "local-execution");
    assert_eq!(local.len(), 1, "{}", titles(r));
    // Credential exposure with the password masked everywhere.
    let cred = findings(r, "credential-exposure");
    assert_eq!(cred.len(), 1, "{}", titles(r));
    assert!(cred[0]["title"]
        .as_str()
        .unwrap_or_default()
        .contains("DOMAIN\\Administrator"));
    assert!(
        !h.files.contains("P@ssw0rd1"),
        "the password leaked into a report file"
    );
    assert!(!r.to_string().contains("P@ssw0rd1"));
    assert!(h.files.contains("/password:********"));
    // The recurring daily job.
    let jobs = r["recurring_jobs"].as_array().cloned().unwrap_or_default();
    assert!(
        jobs.iter().any(|j| j["time_of_day"] == "15:27:53"
            && j["days"].as_array().map(Vec::len) == Some(3)
            && j["user"] == "AD\\docker"),
        "{jobs:?}"
    );
    assert!(cred[0]["analysis"].to_string().contains("Recurring job"));
    // The PsExec and WmiPrvSE queries ran and found nothing.
    for q in [
        "psexec-service-install",
        "psexec-pipes",
        "wmiprvse-shells",
        "wmiprvse-unusual-children",
    ] {
        assert_eq!(hits(r, q), 0, "{q}");
    }
    assert_eq!(r["conclusion"]["verdict"], "close");
}

#[test]
fn wmi_spread_moves_from_wrk_btun_to_venus_and_wrk_klagerf_with_decoded_commands() {
    let h = hunt_scenario("wmi-spread");
    let r = &h.report;
    let moves = findings(r, "lateral-movement");
    assert_eq!(moves.len(), 2, "{}", titles(r));
    for dst in ["venus", "wrk-klagerf"] {
        let m = movement(r, "WRK-BTUN", dst);
        assert!(m["techniques"]
            .as_array()
            .is_some_and(|t| t.iter().any(|x| x == "T1047")));
        assert_eq!(m["account"], "CORP\\btun-adm");
        let decoded = m["commands"].to_string();
        assert!(
            decoded.contains("DownloadString('http://10.20.30.41:8080/s.ps1')"),
            "{decoded}"
        );
        assert!(decoded.contains("Get-Process | Out-File"), "{decoded}");
        assert!(m["analysis"]
            .to_string()
            .contains("same encoded command ran on the source"));
    }
    assert!(
        r["gaps"].to_string().contains("No Sysmon event 3"),
        "{}",
        r["gaps"]
    );
    assert_eq!(r["conclusion"]["movement_found"], true);
    assert_eq!(r["conclusion"]["verdict"], "escalate");
}

#[test]
fn psexec_chain_goes_from_the_attacker_through_sales_to_marketing_as_ssales() {
    let h = hunt_scenario("psexec-chain");
    let r = &h.report;
    let first = movement(r, "10.0.0.130", "SALES-PC");
    let second = movement(r, "SALES-PC", "MARKETING-PC");
    for m in [first, second] {
        assert_eq!(m["tool"], "PsExec", "{}", m["title"]);
        assert_eq!(m["account"], "CORP\\ssales");
        let t = m["techniques"].to_string();
        assert!(t.contains("T1021.002") && t.contains("T1569.002"), "{t}");
        assert!(m["details"]["service"].to_string().contains("PSEXESVC"));
    }
    assert!(second["source"]["ips"].to_string().contains("10.0.0.133"));
    let chains = r["graph"]["chains"].as_array().cloned().unwrap_or_default();
    assert_eq!(chains.len(), 1, "{chains:?}");
    let chain: Vec<&str> = chains[0]
        .as_array()
        .map(|c| c.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    assert_eq!(chain.len(), 3, "{chain:?}");
    assert!(
        chain[1].eq_ignore_ascii_case("SALES-PC") && chain[2].eq_ignore_ascii_case("MARKETING-PC")
    );
    assert!(
        r["graph"]["nodes"].to_string().contains("10.0.0.130"),
        "the first hop's node carries the attacker address"
    );
    assert!(h.files.contains("```mermaid"));
}

#[test]
fn reports_are_deterministic_apart_from_run_metadata() {
    let strip = |mut v: Value| {
        v["generated"] = Value::Null;
        v["execution"]["started"] = Value::Null;
        v["execution"]["duration_ms"] = Value::Null;
        v
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let evidence = simulate("psexec-chain", dir.path());
    let a = strip(hunt_dir(&evidence, &dir.path().join("a")).report);
    let b = strip(hunt_dir(&evidence, &dir.path().join("b")).report);
    if a != b {
        let (a, b) = (a.to_string(), b.to_string());
        let at = a
            .bytes()
            .zip(b.bytes())
            .position(|(x, y)| x != y)
            .unwrap_or(0);
        let from = at.saturating_sub(200);
        panic!(
            "reports differ at byte {at}:\n{}\n---\n{}",
            a.get(from..at + 200).unwrap_or_default(),
            b.get(from..at + 200).unwrap_or_default()
        );
    }
}

#[test]
fn scope_graph_pack_and_inventory_options_work_end_to_end() {
    let dir = tempfile::tempdir().expect("temp dir");
    let evidence = simulate("psexec-chain", dir.path());
    let out = dir.path().join("reports");
    let dot = dir.path().join("movement.dot");
    let pack = dir.path().join("pack.yaml");
    std::fs::write(
        &pack,
        "queries:\n  - id: psexec-service-install\n    name: never\n    family: psexec\n    role: target\n    techniques: [T1569.002]\n    severity: high\n    requires: ['System:7045']\n    query: 'target.application = \"no-such-service\"'\n",
    )
    .expect("pack");
    let inventory = dir.path().join("hosts.csv");
    std::fs::write(
        &inventory,
        "host,role\nSALES-PC,admin-server\nMARKETING-PC,workstation\n",
    )
    .expect("inventory");
    let run = lateral(&[
        "hunt",
        evidence.to_str().unwrap_or_default(),
        "--scope",
        r#"observer.hostname = "marketing-pc""#,
        "--pack",
        pack.to_str().unwrap_or_default(),
        "--inventory",
        inventory.to_str().unwrap_or_default(),
        "--graph",
        "dot",
        dot.to_str().unwrap_or_default(),
        "--format",
        "json",
        "--out",
        out.to_str().unwrap_or_default(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let r = run.json();
    // Scope: only MARKETING-PC's evidence is hunted.
    let moves = findings(&r, "lateral-movement");
    assert_eq!(moves.len(), 1, "{}", titles(&r));
    assert_eq!(moves[0]["target"]["host"], "MARKETING-PC");
    assert_eq!(r["scope_label"], "marketing-pc");
    let names: Vec<String> = std::fs::read_dir(&out)
        .expect("out")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names
            .iter()
            .all(|n| n.starts_with("lateral_movement_hunt_marketing-pc_")),
        "{names:?}"
    );
    // The user pack replaced the built-in query.
    let q = r["queries"]
        .as_array()
        .and_then(|a| a.iter().find(|q| q["id"] == "psexec-service-install"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(q["hits"], 0);
    assert!(q["origin"]
        .as_str()
        .unwrap_or_default()
        .ends_with("pack.yaml"));
    // The inventory says SALES-PC administers others.
    assert!(
        moves[0]["analysis"].to_string().contains("Expected source"),
        "{}",
        moves[0]["analysis"]
    );
    // The graph file.
    let dot = std::fs::read_to_string(&dot).expect("dot file");
    assert!(dot.starts_with("digraph lateral_movement"));
    assert!(dot.contains("host_sales_pc -> host_marketing_pc"), "{dot}");
}

#[test]
fn a_malformed_scope_or_pack_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let evidence = simulate("serhatg", dir.path());
    let out = dir.path().join("reports");
    let bad = lateral(&[
        "hunt",
        evidence.to_str().unwrap_or_default(),
        "--scope",
        "principal.hostname = ",
        "--out",
        out.to_str().unwrap_or_default(),
    ]);
    assert_ne!(bad.code, 0);
    assert!(bad.stderr.contains("--scope"), "{}", bad.stderr);
    let pack = dir.path().join("bad.yaml");
    std::fs::write(&pack, "queries:\n  - id: x\n    nme: typo\n").expect("pack");
    let bad = lateral(&[
        "hunt",
        evidence.to_str().unwrap_or_default(),
        "--pack",
        pack.to_str().unwrap_or_default(),
        "--out",
        out.to_str().unwrap_or_default(),
    ]);
    assert_ne!(bad.code, 0);
    assert!(bad.stderr.contains("bad.yaml"), "{}", bad.stderr);
}
