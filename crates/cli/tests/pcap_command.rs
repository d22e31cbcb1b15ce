//! `lateral pcap FILE --format json` on the shared captures: the investigation summary answers
//! the analyst's questions (attacker IP, first pivot, account, service executable, service
//! created, shares and their use) as `GROUND_TRUTH.md` section 2 states them.

mod common;
use common::*;

use serde_json::Value;

fn summary(rel: &str) -> Option<Value> {
    let p = lateral_testdata::shared(rel)?;
    let out = lateral(&["pcap", &p.display().to_string(), "--format", "json"]);
    assert_eq!(out.code, 0, "lateral pcap {rel}: {}", out.stderr);
    Some(out.json()["summary"].clone())
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or("")
}

fn share<'a>(sum: &'a Value, suffix: &str) -> &'a Value {
    sum["shares"]
        .as_array()
        .and_then(|a| {
            a.iter()
                .find(|x| s(x, "share").to_ascii_uppercase().ends_with(suffix))
        })
        .unwrap_or_else(|| panic!("no share {suffix} in {:#}", sum["shares"]))
}

fn used_for(share: &Value) -> Vec<&str> {
    share["used_for"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

#[test]
fn psexec_add_user_summary() {
    let Some(sum) = summary("pcap/401trg/20171220_smb_psexec_add_user.pcap") else {
        return;
    };
    assert_eq!(s(&sum, "attacker_ip"), "192.168.10.31");
    assert_eq!(s(&sum["attacker_name"], "name"), "VICTIM-PC");
    assert_eq!(s(&sum["first_pivot"], "ip"), "192.168.10.10");
    assert!(s(&sum["first_pivot"], "name")
        .to_ascii_lowercase()
        .starts_with("dc1"));
    // Kerberos only: no account on the wire.
    assert!(sum["account"].is_null(), "{}", sum["account"]);
    let exe = &sum["service_executable"];
    assert_eq!(s(exe, "path"), "\\\\dc1\\ADMIN$\\PSEXESVC.exe");
    assert_eq!(exe["bytes"], 145_568);
    assert_eq!(exe["pe_header"], true);
    assert_eq!(exe["frame"], 21);
    let svc = &sum["services"][0];
    assert_eq!(s(svc, "name"), "PSEXESVC");
    assert_eq!(s(svc, "binary_path"), "%SystemRoot%\\PSEXESVC.exe");
    assert_eq!(s(svc, "operation"), "RCreateServiceWOW64W");
    assert_eq!(svc["frame"], 160);
    assert_eq!(s(svc, "outcome"), "success");
    let admin = share(&sum, "\\ADMIN$");
    assert!(used_for(admin)
        .iter()
        .any(|u| u.starts_with("write PSEXESVC.exe (145568 bytes")));
    let ipc = share(&sum, "\\IPC$");
    let ipc_use = used_for(ipc);
    assert!(ipc_use.iter().any(|u| u.contains("svcctl")), "{ipc_use:?}");
    assert!(
        ipc_use
            .iter()
            .any(|u| u.contains("PSEXESVC-VICTIM-PC-2412-stdin")),
        "{ipc_use:?}"
    );
}

#[test]
fn ticket_dump_summary_names_the_kerberos_account() {
    let Some(sum) = summary("pcap/401trg/20171220_smb_psexec_mimikatz_ticket_dump.pcap") else {
        return;
    };
    assert_eq!(s(&sum, "attacker_ip"), "192.168.10.31");
    assert_eq!(s(&sum["first_pivot"], "ip"), "192.168.10.30");
    assert!(s(&sum, "account").ends_with("RonHD"), "{}", sum["account"]);
    assert_eq!(
        s(&sum["service_executable"], "path"),
        "\\\\admin-pc\\ADMIN$\\PSEXESVC.exe"
    );
}

#[test]
fn metasploit_psexec_summary() {
    let Some(sum) =
        summary("pcap/401trg/20171220_smb_metasploit_psexec_pth_download_meterpreter.pcap")
    else {
        return;
    };
    assert_eq!(s(&sum, "attacker_ip"), "192.168.10.50");
    assert_eq!(s(&sum["first_pivot"], "ip"), "192.168.10.31");
    assert_eq!(s(&sum["first_pivot"], "name"), "VICTIM-PC");
    assert_eq!(s(&sum["first_pivot"], "name_source"), "NTLM target info");
    assert_eq!(s(&sum, "account"), "contoso.local\\JeffV");
    // No executable dropped: the service runs %COMSPEC% with PowerShell.
    assert!(sum["service_executable"].is_null());
    let svc = &sum["services"][0];
    assert_eq!(s(svc, "name"), "PLYteGjx");
    assert_eq!(s(svc, "display_name"), "PjWdDLoqmAogKpSE");
    assert!(s(svc, "binary_path").starts_with("%COMSPEC% /b /c start /b /min powershell.exe"));
    assert_eq!(svc["frame"], 64);
    assert!(used_for(share(&sum, "\\IPC$"))
        .iter()
        .any(|u| u.contains("svcctl")));
    assert!(used_for(share(&sum, "\\ADMIN$"))
        .iter()
        .any(|u| u.contains("powershell.exe")));
}
