//! Acceptance tests for `lateral hunt` against the shared attack data: each test hunts one
//! ground-truth file (`lateral hunt FILE --all-time --format json`) and checks the findings
//! against what `GROUND_TRUTH.md` (sections 3.1 and 4) says a correct tool must report: the
//! kind of finding (host-to-host movement, local execution, privilege escalation), the source,
//! the target, the account, the technique and the tool, each only where the ground truth states
//! it. The negatives check that files without remote execution produce no movement finding with
//! a PsExec/service/WMI technique.

mod common;
use common::*;

use std::path::{Path, PathBuf};

use serde_json::Value;

const MOVEMENT: &[&str] = &["lateral-movement"];
/// Movement whose source the evidence does not name.
const MOVEMENT_ANY_SOURCE: &[&str] = &["lateral-movement", "suspected-movement"];
const MOVEMENT_KINDS: &[&str] = &[
    "lateral-movement",
    "source-side-movement",
    "suspected-movement",
    "fan-out",
];
/// Remote service creation / execution (PsExec and friends).
const SERVICE: &[&str] = &["T1569.002", "T1543.003", "T1021.002"];
const WMI: &[&str] = &["T1047"];
const DCOM: &[&str] = &["T1021.003"];
const SCHEDULED_TASK: &[&str] = &["T1053"];

// ---------------------------------------------------------------------------------------------
// Helpers

fn evtx(data: &Path, tactic: &str, file: &str) -> PathBuf {
    let p = data
        .join("evtx/EVTX-ATTACK-SAMPLES")
        .join(tactic)
        .join(file);
    assert!(p.is_file(), "missing shared data file {}", p.display());
    p
}

fn lm_file(data: &Path, file: &str) -> PathBuf {
    evtx(data, "Lateral Movement", file)
}

/// A Security-Datasets host export (`…/host/NAME.zip`) anywhere under `json/`.
fn dataset(data: &Path, name: &str) -> PathBuf {
    fn walk(dir: &Path, name: &str) -> Option<PathBuf> {
        let mut entries: Vec<_> = std::fs::read_dir(dir).ok()?.flatten().collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let p = e.path();
            if p.is_dir() {
                if let Some(found) = walk(&p, name) {
                    return Some(found);
                }
            } else if p.file_name().is_some_and(|f| f == name)
                && p.parent()
                    .and_then(Path::file_name)
                    .is_some_and(|d| d == "host")
            {
                return Some(p);
            }
        }
        None
    }
    walk(&data.join("json"), name)
        .unwrap_or_else(|| panic!("missing shared data file json/**/host/{name}"))
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
    assert_eq!(
        out.code, 0,
        "lateral {argv:?} failed ({}): {}",
        out.code, out.stderr
    );
    out.json()
}

fn findings(doc: &Value) -> &[Value] {
    doc["findings"].as_array().map(Vec::as_slice).unwrap_or(&[])
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or("")
}

fn is_ip(s: &str) -> bool {
    s.parse::<std::net::IpAddr>().is_ok()
}

/// Host names compare case-insensitively on their first label (short name or FQDN); addresses
/// compare whole.
fn same_host(a: &str, b: &str) -> bool {
    let (a, b) = (a.trim().to_ascii_lowercase(), b.trim().to_ascii_lowercase());
    if a.is_empty() || b.is_empty() {
        return false;
    }
    if is_ip(&a) || is_ip(&b) {
        return a == b;
    }
    a == b || a.split('.').next() == b.split('.').next()
}

/// Does the endpoint (`{host, ips}`) match any of the names/addresses?
fn endpoint_matches(ep: &Value, any_of: &[&str]) -> bool {
    let host = str_of(ep, "host");
    let ips: Vec<&str> = ep["ips"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    any_of
        .iter()
        .any(|want| same_host(host, want) || ips.iter().any(|ip| same_host(ip, want)))
}

/// The user part of `DOMAIN\user` or `user@domain`, lower case.
fn user_part(account: &str) -> String {
    let a = account.rsplit('\\').next().unwrap_or(account);
    let a = a.split('@').next().unwrap_or(a);
    a.trim().to_ascii_lowercase()
}

fn techniques(f: &Value) -> Vec<&str> {
    f["techniques"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// A finding technique matches a wanted one exactly or as its sub-technique (`T1053` ⊇
/// `T1053.005`).
fn has_technique(f: &Value, any_of: &[&str]) -> bool {
    techniques(f).iter().any(|t| {
        any_of
            .iter()
            .any(|w| t.eq_ignore_ascii_case(w) || t.starts_with(&format!("{w}.")))
    })
}

fn endpoint_text(ep: &Value) -> String {
    if ep.is_null() {
        return "-".into();
    }
    let ips: Vec<&str> = ep["ips"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if ips.is_empty() {
        str_of(ep, "host").to_string()
    } else {
        format!("{} [{}]", str_of(ep, "host"), ips.join(", "))
    }
}

fn describe(f: &Value) -> String {
    format!(
        "{} | {} | {} -> {} | account {:?} | tool {:?} | {:?}",
        str_of(f, "kind"),
        str_of(f, "title"),
        endpoint_text(&f["source"]),
        endpoint_text(&f["target"]),
        str_of(f, "account"),
        str_of(f, "tool"),
        techniques(f),
    )
}

fn all_findings_text(doc: &Value) -> String {
    let fs = findings(doc);
    if fs.is_empty() {
        return "  (no findings)".into();
    }
    fs.iter()
        .map(|f| format!("  - {}", describe(f)))
        .collect::<Vec<_>>()
        .join("\n")
}

/// What one finding must show; `None` = the ground truth does not say.
#[derive(Default, Debug)]
struct Expect {
    kinds: &'static [&'static str],
    source: Option<&'static [&'static str]>,
    target: Option<&'static [&'static str]>,
    account: Option<&'static str>,
    /// Case-insensitive substrings of `tool`, any of them (the names the ground truth uses).
    tool: Option<&'static [&'static str]>,
    techniques: Option<&'static [&'static str]>,
}

impl Expect {
    /// The criteria this finding misses.
    fn misses(&self, f: &Value) -> Vec<String> {
        let mut out = Vec::new();
        let kind = str_of(f, "kind");
        if !self.kinds.contains(&kind) {
            out.push(format!("kind: want one of {:?}, got {kind:?}", self.kinds));
        }
        if let Some(want) = self.source {
            if !endpoint_matches(&f["source"], want) {
                out.push(format!(
                    "source: want one of {want:?}, got {}",
                    endpoint_text(&f["source"])
                ));
            }
        }
        if let Some(want) = self.target {
            if !endpoint_matches(&f["target"], want) {
                out.push(format!(
                    "target: want one of {want:?}, got {}",
                    endpoint_text(&f["target"])
                ));
            }
        }
        if let Some(want) = self.account {
            let got = str_of(f, "account");
            if user_part(got) != want.to_ascii_lowercase() {
                out.push(format!("account: want user {want:?}, got {got:?}"));
            }
        }
        if let Some(want) = self.tool {
            let got = str_of(f, "tool");
            let lower = got.to_ascii_lowercase();
            if !want.iter().any(|w| lower.contains(&w.to_ascii_lowercase())) {
                out.push(format!("tool: want one of {want:?} in it, got {got:?}"));
            }
        }
        if let Some(want) = self.techniques {
            if !has_technique(f, want) {
                out.push(format!(
                    "techniques: want one of {want:?}, got {:?}",
                    techniques(f)
                ));
            }
        }
        out
    }
}

/// The first finding meeting every criterion; otherwise a panic naming the closest finding,
/// what it misses, and every finding of the report.
fn find_finding<'a>(doc: &'a Value, file: &str, want: &Expect) -> &'a Value {
    let fs = findings(doc);
    if let Some(f) = fs.iter().find(|f| want.misses(f).is_empty()) {
        return f;
    }
    let closest = fs
        .iter()
        .map(|f| (want.misses(f), f))
        .min_by_key(|(m, _)| m.len());
    let closest = match closest {
        Some((misses, f)) => format!(
            "closest finding: {}\n  misses:\n    {}",
            describe(f),
            misses.join("\n    ")
        ),
        None => "no findings at all".into(),
    };
    panic!(
        "{file}: no finding matches {want:?}\n{closest}\nall findings:\n{}\nconclusion: {}",
        all_findings_text(doc),
        doc["conclusion"]
    );
}

/// No host-to-host movement finding at all (the activity is local).
fn assert_no_movement(doc: &Value, file: &str) {
    let bad: Vec<String> = findings(doc)
        .iter()
        .filter(|f| MOVEMENT_KINDS.contains(&str_of(f, "kind")))
        .map(describe)
        .collect();
    assert!(
        bad.is_empty(),
        "{file}: the ground truth says this is not cross-host, but the hunt reports movement:\n  {}\nall findings:\n{}",
        bad.join("\n  "),
        all_findings_text(doc)
    );
}

/// Negatives: no (suspected) lateral movement by PsExec, WMI or a remote service.
fn assert_no_exec_movement(doc: &Value, file: &str) {
    let bad: Vec<String> = findings(doc)
        .iter()
        .filter(|f| {
            matches!(str_of(f, "kind"), "lateral-movement" | "suspected-movement")
                && has_technique(f, &["T1021.002", "T1047", "T1569.002"])
        })
        .map(describe)
        .collect();
    assert!(
        bad.is_empty(),
        "{file}: negative sample, but the hunt reports PsExec/WMI/service movement:\n  {}\nall findings:\n{}",
        bad.join("\n  "),
        all_findings_text(doc)
    );
}

// ---------------------------------------------------------------------------------------------
// GROUND_TRUTH 3.1 — EVTX-ATTACK-SAMPLES, Lateral Movement ★

#[test]
fn renamed_psexec_5145_is_psexec_from_10_0_2_16_to_iewin7() {
    let Some(data) = shared_data() else { return };
    let doc = hunt_json(&[&lm_file(&data, "LM_renamed_psexecsvc_5145.evtx")]);
    find_finding(
        &doc,
        "LM_renamed_psexecsvc_5145",
        &Expect {
            kinds: MOVEMENT,
            source: Some(&["10.0.2.16", "NLLT108334"]),
            target: Some(&["IEWIN7"]),
            account: Some("IEUser"),
            tool: Some(&["psexec"]),
            techniques: Some(SERVICE),
        },
    );
}

#[test]
fn remcom_5145_is_remcom_from_10_0_2_16_to_pc01() {
    let Some(data) = shared_data() else { return };
    let doc = hunt_json(&[&lm_file(&data, "LM_REMCOM_5145_TargetHost.evtx")]);
    find_finding(
        &doc,
        "LM_REMCOM_5145_TargetHost",
        &Expect {
            kinds: MOVEMENT,
            source: Some(&["10.0.2.16"]),
            target: Some(&["PC01"]),
            account: Some("IEUser"),
            tool: Some(&["remcom"]),
            techniques: Some(SERVICE),
        },
    );
}

#[test]
fn remcom_5145_local_c_share_access_from_loopback_is_not_movement() {
    // 18:19:18 records: IpAddress ::1, C$ Windows\System32\RemComSvc.exe = local access.
    let Some(data) = shared_data() else { return };
    let doc = hunt_json(&[&lm_file(&data, "LM_REMCOM_5145_TargetHost.evtx")]);
    let bad: Vec<String> = findings(&doc)
        .iter()
        .filter(|f| MOVEMENT_KINDS.contains(&str_of(f, "kind")))
        .filter(|f| {
            endpoint_matches(&f["source"], &["::1", "127.0.0.1"])
                || (!f["source"].is_null()
                    && same_host(str_of(&f["source"], "host"), str_of(&f["target"], "host")))
        })
        .map(describe)
        .collect();
    assert!(
        bad.is_empty(),
        "loopback / self access reported as movement:\n  {}\nall findings:\n{}",
        bad.join("\n  "),
        all_findings_text(&doc)
    );
}

#[test]
fn remote_service_5145_svcctl_plus_7045_is_remote_service_from_10_0_2_17() {
    // GT pairs the two files: svcctl opened by EXAMPLE\Administrator from 10.0.2.17, 47 ms
    // before 7045 `remotesvc` (calc.exe) on WIN-77LTAPHIQ1R.
    let Some(data) = shared_data() else { return };
    let doc = hunt_json(&[
        &lm_file(&data, "LM_Remote_Service01_5145_svcctl.evtx"),
        &lm_file(&data, "LM_Remote_Service02_7045.evtx"),
    ]);
    find_finding(
        &doc,
        "LM_Remote_Service01_5145_svcctl + LM_Remote_Service02_7045",
        &Expect {
            kinds: MOVEMENT,
            source: Some(&["10.0.2.17"]),
            target: Some(&["WIN-77LTAPHIQ1R"]),
            account: Some("Administrator"),
            techniques: Some(SERVICE),
            ..Default::default()
        },
    );
}

#[test]
fn scheduled_task_atsvc_is_impacket_atexec_from_10_0_2_17() {
    let Some(data) = shared_data() else { return };
    let doc = hunt_json(&[&lm_file(&data, "LM_ScheduledTask_ATSVC_target_host.evtx")]);
    find_finding(
        &doc,
        "LM_ScheduledTask_ATSVC_target_host",
        &Expect {
            kinds: MOVEMENT,
            source: Some(&["10.0.2.17"]),
            target: Some(&["WIN-77LTAPHIQ1R"]),
            account: Some("Administrator"),
            tool: Some(&["atexec"]),
            techniques: Some(SCHEDULED_TASK),
        },
    );
}

#[test]
fn wmi_4624_4688_target_is_wmi_from_pc01_to_win_77ltaphiq1r() {
    let Some(data) = shared_data() else { return };
    let doc = hunt_json(&[&lm_file(&data, "LM_WMI_4624_4688_TargetHost.evtx")]);
    find_finding(
        &doc,
        "LM_WMI_4624_4688_TargetHost",
        &Expect {
            kinds: MOVEMENT,
            source: Some(&["PC01", "10.0.2.17"]),
            target: Some(&["WIN-77LTAPHIQ1R"]),
            account: Some("Administrator"),
            techniques: Some(WMI),
            ..Default::default()
        },
    );
}

#[test]
fn wmic_4648_rpcss_is_source_side_wmi_from_pc01_to_win_77ltaphiq1r() {
    let Some(data) = shared_data() else { return };
    let doc = hunt_json(&[&lm_file(&data, "LM_WMIC_4648_rpcss.evtx")]);
    find_finding(
        &doc,
        "LM_WMIC_4648_rpcss",
        &Expect {
            kinds: &["source-side-movement"],
            source: Some(&["PC01"]),
            target: Some(&["WIN-77LTAPHIQ1R"]),
            account: Some("administrator"),
            tool: Some(&["wmic"]),
            techniques: Some(WMI),
        },
    );
}

#[test]
fn wmiexec_sysmon_is_impacket_wmiexec_from_10_0_2_19() {
    // The output goes to \\127.0.0.1\ADMIN$: that must not make it local (gotcha 9).
    let Some(data) = shared_data() else { return };
    let doc = hunt_json(&[&lm_file(&data, "LM_wmiexec_impacket_sysmon_whoami.evtx")]);
    find_finding(
        &doc,
        "LM_wmiexec_impacket_sysmon_whoami",
        &Expect {
            kinds: MOVEMENT,
            source: Some(&["10.0.2.19"]),
            target: Some(&["IEWIN7"]),
            account: Some("IEUser"),
            tool: Some(&["wmiexec"]),
            techniques: Some(WMI),
        },
    );
}

#[test]
fn dcomexec_mmc_sysmon_is_impacket_dcomexec_from_10_0_2_19() {
    let Some(data) = shared_data() else { return };
    let doc = hunt_json(&[&lm_file(&data, "LM_impacket_docmexec_mmc_sysmon_01.evtx")]);
    find_finding(
        &doc,
        "LM_impacket_docmexec_mmc_sysmon_01",
        &Expect {
            kinds: MOVEMENT,
            source: Some(&["10.0.2.19"]),
            target: Some(&["IEWIN7"]),
            account: Some("IEUser"),
            tool: Some(&["dcomexec"]),
            techniques: Some(DCOM),
        },
    );
}

#[test]
fn psexec_smb_meterpreter_is_metasploit_psexec_from_10_0_2_19() {
    let Some(data) = shared_data() else { return };
    let doc = hunt_json(&[&lm_file(&data, "LM_sysmon_psexec_smb_meterpreter.evtx")]);
    find_finding(
        &doc,
        "LM_sysmon_psexec_smb_meterpreter",
        &Expect {
            kinds: MOVEMENT,
            source: Some(&["10.0.2.19"]),
            target: Some(&["IEWIN7"]),
            tool: Some(&["metasploit"]),
            techniques: Some(SERVICE),
            ..Default::default()
        },
    );
}

#[test]
fn psexesvc_written_over_smb_is_psexec_target_04246w_win10() {
    // GT names no source for this file: only the target side (System writes PSEXESVC.exe,
    // services.exe starts it).
    let Some(data) = shared_data() else { return };
    let doc = hunt_json(&[&lm_file(
        &data,
        "remote_file_copy_system_proc_file_write_sysmon_11.evtx",
    )]);
    find_finding(
        &doc,
        "remote_file_copy_system_proc_file_write_sysmon_11",
        &Expect {
            kinds: MOVEMENT_ANY_SOURCE,
            target: Some(&["04246w-win10"]),
            tool: Some(&["psexec"]),
            techniques: Some(SERVICE),
            ..Default::default()
        },
    );
}

#[test]
fn smbmap_upload_exec_is_wmi_from_laptop_ju4m3i0e_to_msedgewin10() {
    let Some(data) = shared_data() else { return };
    let doc = hunt_json(&[&lm_file(&data, "smbmap_upload_exec_sysmon.evtx")]);
    find_finding(
        &doc,
        "smbmap_upload_exec_sysmon",
        &Expect {
            kinds: MOVEMENT,
            source: Some(&["10.0.2.15", "LAPTOP-JU4M3I0E"]),
            target: Some(&["MSEDGEWIN10"]),
            account: Some("Administrator"),
            tool: Some(&["smbmap"]),
            techniques: Some(WMI),
        },
    );
}

// ---------------------------------------------------------------------------------------------
// GROUND_TRUTH 3.1 — related files from other tactic folders

#[test]
fn renamed_psexec_service_pipes_are_local_psexec_on_msedgewin10() {
    // Client host in the pipe name = MSEDGEWIN10 = the target: PsExec run locally.
    let Some(data) = shared_data() else { return };
    let file = "DE_renamed_psexec_service_sysmon_17_18";
    let doc = hunt_json(&[&evtx(&data, "Defense Evasion", &format!("{file}.evtx"))]);
    find_finding(
        &doc,
        file,
        &Expect {
            kinds: &["local-execution"],
            target: Some(&["MSEDGEWIN10"]),
            tool: Some(&["psexec"]),
            ..Default::default()
        },
    );
    assert_no_movement(&doc, file);
}

#[test]
fn system_7045_namedpipe_is_local_privilege_escalation_not_movement() {
    let Some(data) = shared_data() else { return };
    let file = "System_7045_namedpipe_privesc";
    let doc = hunt_json(&[&evtx(
        &data,
        "Privilege Escalation",
        &format!("{file}.evtx"),
    )]);
    find_finding(
        &doc,
        file,
        &Expect {
            kinds: &["privilege-escalation"],
            target: Some(&["IEWIN7"]),
            ..Default::default()
        },
    );
    assert_no_movement(&doc, file);
}

#[test]
fn psexec_dwell_privesc_still_shows_the_remote_psexec_from_10_0_2_17() {
    let Some(data) = shared_data() else { return };
    let file = "sysmon_privesc_psexec_dwell";
    let doc = hunt_json(&[&evtx(
        &data,
        "Privilege Escalation",
        &format!("{file}.evtx"),
    )]);
    find_finding(
        &doc,
        file,
        &Expect {
            kinds: MOVEMENT,
            source: Some(&["10.0.2.17"]),
            target: Some(&["MSEDGEWIN10"]),
            tool: Some(&["psexec"]),
            ..Default::default()
        },
    );
}

// ---------------------------------------------------------------------------------------------
// GROUND_TRUTH 4 — Security-Datasets ★ (THESHIRE: WORKSTATION5 172.18.39.5 → WORKSTATION6)

#[test]
fn empire_psexec_dcerpc_tcp_is_service_from_workstation5_to_workstation6() {
    let Some(data) = shared_data() else { return };
    let doc = hunt_json(&[&dataset(&data, "empire_psexec_dcerpc_tcp_svcctl.zip")]);
    find_finding(
        &doc,
        "empire_psexec_dcerpc_tcp_svcctl",
        &Expect {
            kinds: MOVEMENT,
            source: Some(&["172.18.39.5", "WORKSTATION5"]),
            target: Some(&["WORKSTATION6"]),
            account: Some("pgustavo"),
            tool: Some(&["empire"]),
            techniques: Some(SERVICE),
        },
    );
}

#[test]
fn empire_smbexec_is_service_from_workstation5_to_workstation6() {
    let Some(data) = shared_data() else { return };
    let doc = hunt_json(&[&dataset(&data, "empire_smbexec_dcerpc_smb_svcctl.zip")]);
    find_finding(
        &doc,
        "empire_smbexec_dcerpc_smb_svcctl",
        &Expect {
            kinds: MOVEMENT,
            source: Some(&["172.18.39.5", "WORKSTATION5"]),
            target: Some(&["WORKSTATION6"]),
            account: Some("pgustavo"),
            tool: Some(&["empire", "smbexec"]),
            techniques: Some(SERVICE),
        },
    );
}

#[test]
fn empire_wmi_is_wmi_from_workstation5_to_workstation6() {
    let Some(data) = shared_data() else { return };
    let doc = hunt_json(&[&dataset(
        &data,
        "empire_wmi_dcerpc_wmi_IWbemServices_ExecMethod.zip",
    )]);
    find_finding(
        &doc,
        "empire_wmi_dcerpc_wmi_IWbemServices_ExecMethod",
        &Expect {
            kinds: MOVEMENT,
            source: Some(&["172.18.39.5", "WORKSTATION5"]),
            target: Some(&["WORKSTATION6"]),
            account: Some("pgustavo"),
            tool: Some(&["empire"]),
            techniques: Some(WMI),
        },
    );
}

#[test]
fn cmd_psexec_lsa_secrets_dump_is_local_psexec_on_workstation5() {
    // Real Sysinternals PsExec to itself over its own fe80:: address: source == target.
    let Some(data) = shared_data() else { return };
    let file = "cmd_psexec_lsa_secrets_dump";
    let doc = hunt_json(&[&dataset(&data, &format!("{file}.zip"))]);
    let f = find_finding(
        &doc,
        file,
        &Expect {
            kinds: &["local-execution"],
            target: Some(&["WORKSTATION5"]),
            account: Some("wardog"),
            tool: Some(&["psexec"]),
            ..Default::default()
        },
    );
    if !f["source"].is_null() {
        assert!(
            endpoint_matches(&f["source"], &["WORKSTATION5", "fe80::90e:17af:263c:5209"]),
            "{file}: the local PsExec's source must be WORKSTATION5 itself: {}",
            describe(f)
        );
    }
    assert_no_movement(&doc, file);
}

// ---------------------------------------------------------------------------------------------
// Negatives: no PsExec / WMI / remote-service movement

fn negative(path: PathBuf) {
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let doc = hunt_json(&[&path]);
    assert_no_exec_movement(&doc, &name);
}

#[test]
fn negative_xp_cmdshell_mssql_events() {
    let Some(data) = shared_data() else { return };
    negative(lm_file(&data, "LM_xp_cmdshell_MSSQL_Events.evtx"));
}

#[test]
fn negative_sysmon_exec_via_sql_xpcmdshell() {
    let Some(data) = shared_data() else { return };
    negative(lm_file(&data, "sysmon_1_exec_via_sql_xpcmdshell.evtx"));
}

#[test]
fn negative_rdp_client_timezone() {
    let Some(data) = shared_data() else { return };
    negative(lm_file(
        &data,
        "DFIR_RDP_Client_TimeZone_RdpCoreTs_104_example.evtx",
    ));
}

#[test]
fn negative_sharprdp() {
    let Some(data) = shared_data() else { return };
    negative(lm_file(&data, "LM_sysmon_3_12_13_1_SharpRDP.evtx"));
}

#[test]
fn negative_iis_webshell() {
    let Some(data) = shared_data() else { return };
    negative(lm_file(
        &data,
        "LM_typical_IIS_webshell_sysmon_1_10_traces.evtx",
    ));
}

#[test]
fn negative_remote_named_pipe_enumeration() {
    let Some(data) = shared_data() else { return };
    negative(evtx(
        &data,
        "Discovery",
        "Discovery_Remote_System_NamedPipes_Sysmon_18.evtx",
    ));
}

#[test]
fn negative_netsvc_session_token_via_local_smb() {
    let Some(data) = shared_data() else { return };
    negative(evtx(
        &data,
        "Privilege Escalation",
        "PrivEsc_NetSvc_SessionToken_Retrival_via_localSMB_Auth_5145.evtx",
    ));
}

#[test]
fn negative_covenant_sharpsc_query() {
    let Some(data) = shared_data() else { return };
    negative(dataset(
        &data,
        "covenant_sharpsc_query_dcerpc_smb_svcctl.zip",
    ));
}

#[test]
fn negative_covenant_sc_query() {
    let Some(data) = shared_data() else { return };
    negative(dataset(&data, "covenant_sc_query_dcerpc_smb_svcctl.zip"));
}

#[test]
fn negative_empire_find_localadmin() {
    let Some(data) = shared_data() else { return };
    negative(dataset(
        &data,
        "empire_find_localadmin_smb_svcctl_OpenSCManager.zip",
    ));
}

// GROUND_TRUTH 3.1 "Other negatives", RDP and WinRM rows (negatives for SMB/WMI detectors).

#[test]
fn negative_mssql_xp_cmdshell_failed_attempt() {
    let Some(data) = shared_data() else { return };
    negative(lm_file(
        &data,
        "MSSQL_15281_xp_cmdshell_exec_failed_attempt.evtx",
    ));
}

#[test]
fn negative_powercat_reverse_shell() {
    let Some(data) = shared_data() else { return };
    negative(lm_file(&data, "powercat_revShell_sysmon_1_3.evtx"));
}

#[test]
fn wmi_poison_handler_is_never_attributed_movement() {
    // GROUND_TRUTH: WmiPrvSE rewrites the ms-browser handler and launches notepad; no network
    // data in the file. PoisonHandler is driven over WMI (StdRegProv, then Win32_Process) and
    // every call runs in a new logon session, so the hunt may call it suspected WMI execution
    // with no attributable source, but never movement between two named hosts.
    let Some(data) = shared_data() else { return };
    let doc = hunt_json(&[&lm_file(
        &data,
        "LM_wmi_PoisonHandler_Mr-Un1k0d3r_sysmon_1_13.evtx",
    )]);
    for f in doc["findings"].as_array().cloned().unwrap_or_default() {
        let kind = f["kind"].as_str().unwrap_or_default();
        assert!(
            kind != "lateral-movement" && kind != "source-side-movement",
            "unexpected {kind}: {}",
            f["title"]
        );
        if kind == "suspected-movement" {
            assert!(f["source"].is_null(), "{}", f["title"]);
        }
    }
}

#[test]
fn negative_tunna_loopback_smb_tunnel() {
    let Some(data) = shared_data() else { return };
    negative(evtx(
        &data,
        "Command and Control",
        "tunna_iis_rdp_smb_tunneling_sysmon_3.evtx",
    ));
}

#[test]
fn negative_rdp_and_winrm_samples() {
    let Some(data) = shared_data() else { return };
    for file in [
        "dfir_rdpsharp_target_RdpCoreTs_168_68_131.evtx",
        "LM_sysmon_1_12_13_3_tsclient_SharpRdp.evtx",
        "sharprdp_sysmon_7_mstscax.dll.evtx",
        "LM_tsclient_startup_folder.evtx",
        "LM_PowershellRemoting_sysmon_1_wsmprovhost.evtx",
        "LM_winrm_exec_sysmon_1_winrshost.evtx",
        "LM_winrm_target_wrmlogs_91_wsmanShellStarted_poorLog.evtx",
        "RemotePowerShell_MS_Windows-Remote_Management_EventID_169.evtx",
    ] {
        negative(lm_file(&data, file));
    }
}

#[test]
fn local_pass_the_hash_impersonation_is_not_movement() {
    // 4624 type 3 from 127.0.0.1 (workstation MSEDGEWIN10) → local PtH, not cross-host.
    let Some(data) = shared_data() else { return };
    let file = "ImpersonateUser-via local Pass The Hash Sysmon and Security.evtx";
    let doc = hunt_json(&[&lm_file(&data, file)]);
    assert_no_movement(&doc, file);
}

#[test]
fn remote_registry_run_key_from_msedgewin10clon() {
    // GROUND_TRUTH: RemoteRegistry svchost sets a Run key on MSEDGEWIN10; inbound SMB from
    // 10.0.2.17 (MSEDGEWIN10CLON).
    let Some(data) = shared_data() else { return };
    let file = "lm_remote_registry_sysmon_1_13_3.evtx";
    let doc = hunt_json(&[&lm_file(&data, file)]);
    find_finding(
        &doc,
        file,
        &Expect {
            kinds: MOVEMENT,
            source: Some(&["10.0.2.17", "MSEDGEWIN10CLON"]),
            target: Some(&["MSEDGEWIN10"]),
            account: None,
            tool: Some(&["registry"]),
            techniques: Some(&["T1112"]),
        },
    );
}

#[test]
fn wmi_stdregprov_run_key_from_msedgewin10clon() {
    // GROUND_TRUTH: inbound 10.0.2.17 (MSEDGEWIN10CLON) to :135; WmiPrvSE sets a Run key.
    let Some(data) = shared_data() else { return };
    let file = "wmi_remote_registry_sysmon.evtx";
    let doc = hunt_json(&[&lm_file(&data, file)]);
    find_finding(
        &doc,
        file,
        &Expect {
            kinds: MOVEMENT,
            source: Some(&["10.0.2.17", "MSEDGEWIN10CLON"]),
            target: Some(&["MSEDGEWIN10"]),
            account: None,
            tool: Some(&["StdRegProv"]),
            techniques: Some(&["T1112", "T1047"]),
        },
    );
}

#[test]
fn remote_task_source_side_from_powershell_taskschd() {
    // GROUND_TRUTH: powershell (IEUser) loads taskschd.dll and connects 10.0.2.15 → 10.0.2.17
    // (MSEDGEWIN10CLONE) :135 and :49666 → remote scheduled task, source side.
    let Some(data) = shared_data() else { return };
    let file = "LM_sysmon_remote_task_src_powershell.evtx";
    let doc = hunt_json(&[&lm_file(&data, file)]);
    find_finding(
        &doc,
        file,
        &Expect {
            kinds: &["source-side-movement"],
            source: Some(&["MSEDGEWIN10", "10.0.2.15"]),
            target: Some(&["MSEDGEWIN10CLONE", "10.0.2.17"]),
            account: Some("IEUser"),
            tool: Some(&["scheduled task"]),
            techniques: Some(SCHEDULED_TASK),
        },
    );
}

#[test]
fn remote_shell_over_named_pipe_from_nllt106876() {
    // GROUND_TRUTH: pipe \46a676ab… (System) + inbound SMB from 10.0.2.17 (NLLT106876);
    // powershell -s -NoLogo -NoProfile → whoami /all (IEUser): remote shell over a named pipe.
    let Some(data) = shared_data() else { return };
    let file = "lm_sysmon_18_remshell_over_namedpipe.evtx";
    let doc = hunt_json(&[&lm_file(&data, file)]);
    find_finding(
        &doc,
        file,
        &Expect {
            kinds: MOVEMENT,
            source: Some(&["10.0.2.17", "NLLT106876"]),
            target: Some(&["IEWIN7"]),
            account: Some("IEUser"),
            tool: Some(&["named pipe"]),
            techniques: Some(&["T1021.002"]),
        },
    );
}
