//! Acceptance tests for `lateral hunt` on packet captures alone and together with host logs:
//! each test hunts shared captures (`lateral hunt FILE --all-time --format json`) and checks the
//! findings against `GROUND_TRUTH.md` section 2 (technique, source, target, account, tool,
//! evidence frames), the movement graph, and the negatives (discovery only, a file copy without
//! execution, refused or failed attempts) that must not give a remote-execution finding.

mod common;
use common::*;

use std::path::{Path, PathBuf};

use serde_json::Value;

/// A shared capture (`pcap/…` or `json/Security-Datasets/…/network/NAME.zip`), or `None` (with
/// the skip-or-fail rule of `lateral-testdata`).
fn capture(rel: &str) -> Option<PathBuf> {
    lateral_testdata::shared(rel)
}

fn security_datasets(kind: &str, name: &str) -> Option<PathBuf> {
    let data = shared_data()?;
    let p = data
        .join("json/Security-Datasets")
        .join(kind)
        .join(format!("{name}.zip"));
    if p.is_file() {
        return Some(p);
    }
    lateral_testdata::shared(&format!("json/Security-Datasets/{kind}/{name}.zip"))
}

/// `lateral hunt PATH... --all-time --format json --out TMP`, parsed.
fn hunt_json(paths: &[&Path]) -> Value {
    let out_dir = tempfile::tempdir().expect("tempdir");
    let mut args: Vec<String> = vec!["hunt".into()];
    args.extend(paths.iter().map(|p| p.display().to_string()));
    args.extend(["--all-time", "--format", "json", "--out"].map(String::from));
    args.push(out_dir.path().display().to_string());
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = lateral(&argv);
    assert_eq!(out.code, 0, "lateral {argv:?} failed: {}", out.stderr);
    out.json()
}

fn findings(doc: &Value) -> Vec<&Value> {
    doc["findings"]
        .as_array()
        .map(|a| a.iter().collect())
        .unwrap_or_default()
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or("")
}

fn strs(v: &Value) -> Vec<&str> {
    v.as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// Whether an endpoint (`{host, ips}`) is this host: short name (case-insensitive) or address.
fn is_host(ep: &Value, name: Option<&str>, ip: &str) -> bool {
    let host = s(ep, "host").to_ascii_lowercase();
    let name_ok = name.is_none_or(|n| {
        host.split('.').next() == Some(n.to_ascii_lowercase().split('.').next().unwrap_or(""))
    });
    name_ok && strs(&ep["ips"]).contains(&ip)
}

fn user_part(account: &str) -> String {
    account
        .rsplit('\\')
        .next()
        .unwrap_or(account)
        .to_ascii_lowercase()
}

fn is_remote_exec(f: &Value) -> bool {
    let t = strs(&f["techniques"]);
    [
        "T1569.002",
        "T1543.003",
        "T1047",
        "T1021.003",
        "T1053.002",
        "T1053.005",
    ]
    .iter()
    .any(|x| t.contains(x))
}

fn movement(doc: &Value) -> Vec<&Value> {
    findings(doc)
        .into_iter()
        .filter(|f| s(f, "kind") == "lateral-movement")
        .collect()
}

/// The one lateral-movement finding, with its shape checked against the ground truth.
struct Want<'a> {
    src: (Option<&'a str>, &'a str),
    dst: (Option<&'a str>, &'a str),
    account: Option<&'a str>,
    tool: Option<&'a str>,
    techniques: &'a [&'a str],
    frames: &'a [i64],
}

fn check_one<'a>(doc: &'a Value, file_name: &str, want: &Want<'_>) -> &'a Value {
    let mv = movement(doc);
    assert_eq!(
        mv.len(),
        1,
        "{file_name}: expected one movement finding, got {:#?}",
        findings(doc)
    );
    let f = mv[0];
    assert!(
        is_host(&f["source"], want.src.0, want.src.1),
        "{file_name}: source {:?} is not {:?}",
        f["source"],
        want.src
    );
    assert!(
        is_host(&f["target"], want.dst.0, want.dst.1),
        "{file_name}: target {:?} is not {:?}",
        f["target"],
        want.dst
    );
    match want.account {
        Some(a) => assert_eq!(
            user_part(s(f, "account")),
            a.to_ascii_lowercase(),
            "{file_name}"
        ),
        None => assert!(
            f["account"].is_null(),
            "{file_name}: account {:?}",
            f["account"]
        ),
    }
    if let Some(t) = want.tool {
        assert!(
            s(f, "tool").contains(t),
            "{file_name}: tool {:?}, wanted {t}",
            f["tool"]
        );
    }
    let techs = strs(&f["techniques"]);
    for t in want.techniques {
        assert!(
            techs.contains(t),
            "{file_name}: techniques {techs:?} lack {t}"
        );
    }
    let cited: Vec<i64> = f["evidence"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|e| s(e, "file").ends_with(file_name))
                .filter_map(|e| e["record"].as_i64())
                .collect()
        })
        .unwrap_or_default();
    for fr in want.frames {
        assert!(
            cited.contains(fr),
            "{file_name}: evidence frames {cited:?} lack frame {fr}"
        );
    }
    assert!(
        f["evidence"]
            .as_array()
            .is_some_and(|a| a.iter().all(|e| s(e, "channel") == "network capture")),
        "{file_name}: capture evidence must say so"
    );
    f
}

/// The graph has an edge between the two hosts of the finding.
fn assert_edge(doc: &Value, from: &str, to: &str) {
    let edges = doc["graph"]["edges"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let nodes = doc["graph"]["nodes"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let label = |id: &str| {
        nodes
            .iter()
            .find(|n| s(n, "id") == id)
            .map(|n| s(n, "label").to_ascii_lowercase())
            .unwrap_or_default()
    };
    assert!(
        edges.iter().any(|e| s(e, "kind") == "movement"
            && label(s(e, "from")).starts_with(&from.to_ascii_lowercase())
            && label(s(e, "to")).starts_with(&to.to_ascii_lowercase())),
        "no movement edge {from} → {to} in {edges:#?} (nodes {nodes:#?})"
    );
}

const TRG: &str = "pcap/401trg";
const SV: &str = "pcap/suricata-verify/tests";

#[test]
fn psexec_add_user_victim_pc_to_dc1() {
    let Some(p) = capture(&format!("{TRG}/20171220_smb_psexec_add_user.pcap")) else {
        return;
    };
    let doc = hunt_json(&[&p]);
    let f = check_one(
        &doc,
        "20171220_smb_psexec_add_user.pcap",
        &Want {
            src: (Some("VICTIM-PC"), "192.168.10.31"),
            dst: (Some("dc1"), "192.168.10.10"),
            // Kerberos only: the account is not in the capture.
            account: None,
            tool: Some("PsExec"),
            techniques: &["T1021.002", "T1569.002", "T1570"],
            frames: &[21, 160, 201],
        },
    );
    assert_eq!(strs(&f["details"]["service"]), ["PSEXESVC"]);
    assert_eq!(
        strs(&f["details"]["service binary"]),
        ["%SystemRoot%\\PSEXESVC.exe"]
    );
    assert!(strs(&f["details"]["files written over SMB"])
        .iter()
        .any(|x| x.contains("ADMIN$\\PSEXESVC.exe") && x.contains("145568 bytes")));
    assert!(strs(&f["details"]["pipes"]).contains(&"PSEXESVC-VICTIM-PC-2412-*"));
    assert_eq!(s(f, "severity"), "high");
    assert_edge(&doc, "VICTIM-PC", "dc1");
}

#[test]
fn psexec_ticket_dump_victim_pc_to_admin_pc_as_ronhd_with_encrypted_svcctl() {
    let Some(p) = capture(&format!(
        "{TRG}/20171220_smb_psexec_mimikatz_ticket_dump.pcap"
    )) else {
        return;
    };
    let doc = hunt_json(&[&p]);
    let f = check_one(
        &doc,
        "20171220_smb_psexec_mimikatz_ticket_dump.pcap",
        &Want {
            src: (Some("VICTIM-PC"), "192.168.10.31"),
            dst: (Some("admin-pc"), "192.168.10.30"),
            // From the client's TGS exchange with the KDC.
            account: Some("RonHD"),
            tool: Some("PsExec"),
            techniques: &["T1021.002", "T1569.002"],
            frames: &[22, 78, 118],
        },
    );
    assert!(
        strs(&f["analysis"]).iter().any(|a| a.contains("encrypted")),
        "{f:#}"
    );
    assert_edge(&doc, "VICTIM-PC", "admin-pc");
}

#[test]
fn metasploit_psexec_pass_the_hash_as_jeffv() {
    let Some(p) = capture(&format!(
        "{TRG}/20171220_smb_metasploit_psexec_pth_download_meterpreter.pcap"
    )) else {
        return;
    };
    let doc = hunt_json(&[&p]);
    let f = check_one(
        &doc,
        "20171220_smb_metasploit_psexec_pth_download_meterpreter.pcap",
        &Want {
            // The random NTLM workstation name names no host: the source is the address.
            src: (None, "192.168.10.50"),
            dst: (Some("VICTIM-PC"), "192.168.10.31"),
            account: Some("JeffV"),
            tool: Some("Metasploit psexec"),
            techniques: &["T1021.002", "T1569.002"],
            frames: &[64],
        },
    );
    assert_eq!(s(&f["source"], "host"), "192.168.10.50");
    assert_eq!(strs(&f["details"]["service"]), ["PLYteGjx"]);
    assert!(strs(&f["details"]["service binary"])[0]
        .starts_with("%COMSPEC% /b /c start /b /min powershell.exe"));
}

#[test]
fn at_job_over_atsvc_to_admin_pc() {
    let Some(p) = capture(&format!("{TRG}/20171220_smb_at_schedule.pcap")) else {
        return;
    };
    let doc = hunt_json(&[&p]);
    let f = check_one(
        &doc,
        "20171220_smb_at_schedule.pcap",
        &Want {
            src: (None, "192.168.10.31"),
            // Named from the JobAdd server argument (`\\admin-pc`): the capture starts mid-stream.
            dst: (Some("admin-pc"), "192.168.10.30"),
            account: None,
            tool: Some("at"),
            techniques: &["T1053.002"],
            frames: &[9],
        },
    );
    assert!(strs(&f["details"]["task"])
        .iter()
        .any(|t| t.contains("c:\\mimikatz.exe")));
}

#[test]
fn bug_5162_two_generated_services_on_dc_as_administrator() {
    let Some(p) = capture(&format!("{SV}/bug-5162/input.pcap")) else {
        return;
    };
    let doc = hunt_json(&[&p]);
    let f = check_one(
        &doc,
        "input.pcap",
        &Want {
            src: (Some("WIN10"), "192.168.56.104"),
            dst: (Some("DC"), "192.168.56.102"),
            account: Some("Administrator"),
            tool: Some("impacket"),
            techniques: &["T1021.002", "T1569.002"],
            frames: &[2941, 2981],
        },
    );
    assert_eq!(
        strs(&f["details"]["service"]),
        ["MNHHCLPEEJKJIICCIEFH", "CFJHMBFNJJBCDPCCHNOA"]
    );
    assert_eq!(
        strs(&f["details"]["service binary"]),
        [
            "powershell.exe -c Reset-ComputerMachinePassword",
            "\"-Ctaskkill /f /im explorer.exe\""
        ]
    );
    assert_edge(&doc, "WIN10", "DC");
}

#[test]
fn smb_filename_anonymous_c_share_drop_and_service() {
    let Some(p) = capture(&format!("{SV}/smb-filename/input.pcap")) else {
        return;
    };
    let doc = hunt_json(&[&p]);
    let f = check_one(
        &doc,
        "input.pcap",
        &Want {
            src: (None, "10.4.30.101"),
            dst: (Some("PODTRONICS-DC"), "10.4.30.5"),
            // Anonymous sessions: no account.
            account: None,
            tool: None,
            techniques: &["T1021.002", "T1569.002", "T1570"],
            frames: &[612, 920, 1084],
        },
    );
    let files = strs(&f["details"]["files written over SMB"]);
    assert_eq!(files.len(), 2, "{files:?}");
    assert!(files.iter().all(|x| x.contains("\\C$\\WINDOWS\\")));
    assert!(strs(&f["details"]["service binary"])[0].starts_with(
        "C:\\WINDOWS\\12zcytvobte007cok1akhmrr_jud32303366jbc3p9x9my1rl9gwtlqfjqx20osk.exe"
    ));
}

#[test]
fn dcerpc_ctxids_mmc20_from_gurdil_pc1_to_dc1() {
    let Some(p) = capture(&format!("{SV}/dcerpc/dcerpc-ctxids/input.pcap")) else {
        return;
    };
    let doc = hunt_json(&[&p]);
    let f = check_one(
        &doc,
        "input.pcap",
        &Want {
            src: (Some("GURDIL-PC1"), "192.168.56.102"),
            dst: (Some("DC1"), "192.168.56.101"),
            account: Some("Administrator"),
            tool: Some("MMC20"),
            techniques: &["T1021.003"],
            frames: &[14, 516],
        },
    );
    assert!(
        f["commands"]
            .as_array()
            .is_some_and(|c| c.iter().any(|c| s(c, "command_line") == "cmd /c hostname")),
        "{f:#}"
    );
}

#[test]
fn failed_at_job_is_a_failed_attempt_not_movement() {
    let Some(p) = capture(&format!("{SV}/dcerpc/dcerpc-smb-ctxid/input.pcap")) else {
        return;
    };
    let doc = hunt_json(&[&p]);
    assert!(movement(&doc).is_empty(), "{:#?}", findings(&doc));
    let failed: Vec<&Value> = findings(&doc)
        .into_iter()
        .filter(|f| s(f, "kind") == "failed-attempt")
        .collect();
    assert_eq!(failed.len(), 1, "{:#?}", findings(&doc));
    assert!(is_host(
        &failed[0]["source"],
        Some("GURDIL-PC1"),
        "192.168.56.102"
    ));
    assert!(is_host(&failed[0]["target"], Some("DC1"), "192.168.56.101"));
    assert_eq!(
        doc["conclusion"]["movement_found"],
        Value::Bool(false),
        "{:#}",
        doc["conclusion"]
    );
}

#[test]
fn negatives_give_no_remote_execution_finding() {
    for rel in [
        format!("{TRG}/20171220_smb_net_user.pcap"),
        format!("{TRG}/20171220_smb_mimikatz_copy_to_host.pcap"),
        format!("{SV}/dcerpc/zerologon/input.pcap"),
    ] {
        let Some(p) = capture(&rel) else { return };
        let doc = hunt_json(&[&p]);
        let bad: Vec<&Value> = findings(&doc)
            .into_iter()
            .filter(|f| is_remote_exec(f) || s(f, "kind") == "lateral-movement")
            .collect();
        assert!(bad.is_empty(), "{rel}: {bad:#?}");
    }
    for name in [
        "covenant_sc_query_dcerpc_smb_svcctl",
        "covenant_sharpsc_query_dcerpc_smb_svcctl",
    ] {
        let Some(p) = security_datasets("network", name) else {
            return;
        };
        let doc = hunt_json(&[&p]);
        assert!(findings(&doc).is_empty(), "{name}: {:#?}", findings(&doc));
    }
}

#[test]
fn file_copy_to_c_share_is_a_tool_transfer_only() {
    let Some(p) = capture(&format!("{TRG}/20171220_smb_mimikatz_copy.pcap")) else {
        return;
    };
    let doc = hunt_json(&[&p]);
    let all = findings(&doc);
    assert!(all.iter().all(|f| !is_remote_exec(f)), "{all:#?}");
    let f = check_one(
        &doc,
        "20171220_smb_mimikatz_copy.pcap",
        &Want {
            src: (None, "192.168.10.31"),
            dst: (Some("admin-pc"), "192.168.10.30"),
            account: None,
            tool: None,
            techniques: &["T1570"],
            frames: &[57],
        },
    );
    assert_eq!(s(f, "severity"), "medium");
    assert!(s(f, "title").contains("no execution"), "{}", s(f, "title"));
}

#[test]
fn security_datasets_network_zips() {
    // Invoke-SMBExec: CreateServiceW in three fragments, cleartext, NTLM theshire\pgustavo.
    if let Some(p) = security_datasets("network", "empire_smbexec_dcerpc_smb_svcctl") {
        let doc = hunt_json(&[&p]);
        let mv = movement(&doc);
        assert_eq!(mv.len(), 1, "{:#?}", findings(&doc));
        let f = mv[0];
        assert!(is_host(&f["source"], Some("WORKSTATION5"), "172.18.39.5"));
        assert!(is_host(&f["target"], Some("WORKSTATION6"), "172.18.39.6"));
        assert_eq!(user_part(s(f, "account")), "pgustavo");
        assert_eq!(s(f, "tool"), "Invoke-SMBExec");
        assert_eq!(
            strs(&f["details"]["service"]),
            ["PGUJLOAKFQFVOMHGFQPX"],
            "{f:#}"
        );
    }
    // Empire Invoke-PsExec over TCP: CreateServiceA (opnum 24), encrypted, Kerberos pgustavo.
    if let Some(p) = security_datasets("network", "empire_psexec_dcerpc_tcp_svcctl") {
        let doc = hunt_json(&[&p]);
        let mv = movement(&doc);
        assert_eq!(mv.len(), 1, "{:#?}", findings(&doc));
        assert!(is_host(&mv[0]["source"], None, "172.18.39.5"));
        assert!(is_host(&mv[0]["target"], None, "172.18.39.6"));
        assert_eq!(user_part(s(mv[0], "account")), "pgustavo");
        assert!(strs(&mv[0]["techniques"]).contains(&"T1569.002"));
    }
    // Empire Invoke-WMI: WbemLevel1Login activation, ExecMethod (encrypted).
    if let Some(p) = security_datasets("network", "empire_wmi_dcerpc_wmi_IWbemServices_ExecMethod")
    {
        let doc = hunt_json(&[&p]);
        let mv = movement(&doc);
        assert_eq!(mv.len(), 1, "{:#?}", findings(&doc));
        assert!(is_host(&mv[0]["source"], None, "172.18.39.5"));
        // Named from the WMI namespace the client logged in to.
        assert!(is_host(
            &mv[0]["target"],
            Some("WORKSTATION6"),
            "172.18.39.6"
        ));
        assert_eq!(user_part(s(mv[0], "account")), "pgustavo");
        assert_eq!(strs(&mv[0]["techniques"]), ["T1047"]);
    }
    // Remote task registration (pcapng, encrypted SchRpcRegisterTask).
    if let Some(p) = security_datasets("network", "schtask_create") {
        let doc = hunt_json(&[&p]);
        let mv = movement(&doc);
        assert_eq!(mv.len(), 1, "{:#?}", findings(&doc));
        assert!(is_host(&mv[0]["target"], None, "172.18.39.6"));
        assert!(strs(&mv[0]["techniques"]).contains(&"T1053.005"));
    }
}

#[test]
fn capture_and_host_logs_of_the_same_movement_join_into_one_finding() {
    let name = "empire_psexec_dcerpc_tcp_svcctl";
    let (Some(host), Some(net)) = (
        security_datasets("host", name),
        security_datasets("network", name),
    ) else {
        return;
    };
    let doc = hunt_json(&[&host, &net]);
    let mv = movement(&doc);
    assert_eq!(mv.len(), 1, "{:#?}", findings(&doc));
    let f = mv[0];
    assert!(is_host(&f["source"], Some("WORKSTATION5"), "172.18.39.5"));
    assert!(is_host(&f["target"], Some("WORKSTATION6"), "172.18.39.6"));
    assert_eq!(user_part(s(f, "account")), "pgustavo");
    assert_eq!(s(f, "tool"), "Empire Invoke-PsExec");
    let channels: Vec<&str> = f["evidence"]
        .as_array()
        .map(|a| a.iter().map(|e| s(e, "channel")).collect())
        .unwrap_or_default();
    assert!(channels.contains(&"network capture"), "{channels:?}");
    assert!(
        channels.iter().any(|c| *c != "network capture"),
        "{channels:?}"
    );
    assert_edge(&doc, "WORKSTATION5", "WORKSTATION6");
}

/// The capture writer of `lateral-pcap`'s own tests (std only).
#[path = "../../pcap/tests/support/mod.rs"]
mod pcap_support;

#[test]
fn synthetic_psexec_chain_capture_hunts_to_a_two_hop_chain() {
    let p = pcap_support::psexec_chain();
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("psexec-chain.pcap");
    std::fs::write(&file, &p.bytes).expect("write capture");
    let doc = hunt_json(&[&file]);
    let mv = movement(&doc);
    assert_eq!(mv.len(), 2, "{:#?}", findings(&doc));
    let hop = |src: (Option<&str>, &str), dst: (Option<&str>, &str)| {
        mv.iter().any(|f| {
            is_host(&f["source"], src.0, src.1)
                && is_host(&f["target"], dst.0, dst.1)
                && user_part(s(f, "account")) == "ssales"
                && s(f, "tool") == "PsExec"
        })
    };
    assert!(
        hop(
            (Some("KALI-ATTACK"), "10.0.0.130"),
            (Some("SALES-PC"), "10.0.0.133")
        ),
        "{mv:#?}"
    );
    assert!(
        hop(
            (Some("SALES-PC"), "10.0.0.133"),
            (Some("MARKETING-PC"), "10.0.0.131")
        ),
        "{mv:#?}"
    );
    let chains = doc["graph"]["chains"].to_string().to_ascii_lowercase();
    for h in ["kali-attack", "sales-pc", "marketing-pc"] {
        assert!(chains.contains(h), "chain lacks {h}: {chains}");
    }
}
