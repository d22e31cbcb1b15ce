//! The mapping over real evidence: the shared test data (EVTX-ATTACK-SAMPLES and
//! Security-Datasets exports) read with `lateral_sources::collect` and mapped, with facts
//! established independently of this code asserted on the UDM fields.
//!
//! Data root: `$LATERAL_SHARED_DATA`, else `<crate>/../../../shared/data`. When it is absent the
//! tests print a note and pass, unless `LATERAL_REQUIRE_SHARED=1`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::OnceLock;

use lateral_model::{f, Field, UdmEvent, Value};
use lateral_sources::mapping::{map_record, ROWS};

struct Mapped {
    file: String,
    channel: String,
    event_id: u32,
    event: UdmEvent,
}

fn data_root() -> PathBuf {
    match std::env::var_os("LATERAL_SHARED_DATA") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
    }
}

/// Every record of the shared data, mapped; `None` when the data is not there.
fn all() -> Option<&'static [Mapped]> {
    static DATA: OnceLock<Option<Vec<Mapped>>> = OnceLock::new();
    DATA.get_or_init(|| {
        let root = data_root();
        if !root.is_dir() {
            if std::env::var("LATERAL_REQUIRE_SHARED").as_deref() == Ok("1") {
                panic!("shared data not found at {}", root.display());
            }
            eprintln!("skipping: shared data not found at {}", root.display());
            return None;
        }
        let sink = lateral_sources::collect(&root);
        let mapped = sink
            .records
            .iter()
            .map(|(rec, prov, _)| {
                let mut event = UdmEvent::new();
                map_record(rec, &mut event);
                Mapped {
                    file: prov.file.replace('\\', "/"),
                    channel: rec.canonical_channel().unwrap_or_default(),
                    event_id: rec.event_id.unwrap_or(0),
                    event,
                }
            })
            .collect();
        Some(mapped)
    })
    .as_deref()
}

/// Mapped events of the evidence file whose path ends with `name`, with this event id.
fn events(name: &str, id: u32) -> Vec<&'static UdmEvent> {
    let Some(all) = all() else { return Vec::new() };
    let found: Vec<&UdmEvent> = all
        .iter()
        .filter(|m| m.file.ends_with(name) && m.event_id == id)
        .map(|m| &m.event)
        .collect();
    assert!(!found.is_empty(), "no event {id} in {name}");
    found
}

fn s(e: &UdmEvent, field: Field) -> Option<&str> {
    e.str(field)
}

fn add<'e>(e: &'e UdmEvent, key: &str) -> Option<&'e str> {
    e.additional.get(key).map(String::as_str)
}

fn loopback(e: &UdmEvent) -> bool {
    e.get(f::LOOPBACK) == Some(&Value::Bool(true))
}

/// The single event satisfying `pred`.
fn one<'a>(evs: &[&'a UdmEvent], what: &str, pred: impl Fn(&UdmEvent) -> bool) -> &'a UdmEvent {
    let hits: Vec<&&UdmEvent> = evs.iter().filter(|e| pred(e)).collect();
    assert_eq!(hits.len(), 1, "expected exactly one event: {what}");
    hits[0]
}

const LM: &str = "Lateral Movement/";
const SD: &str = ".json";

// ----- whole-corpus properties ------------------------------------------------------------------

#[test]
fn every_record_maps_with_identity_and_type() {
    let Some(all) = all() else { return };
    assert!(all.len() > 20_000, "read {} records", all.len());
    for m in all {
        let e = &m.event;
        let t = s(e, f::EVENT_TYPE).unwrap_or_default();
        assert!(!t.is_empty(), "{} {}", m.file, m.event_id);
        assert_eq!(e.int(f::EVENT_ID), Some(i64::from(m.event_id)));
        assert_eq!(
            s(e, f::PRODUCT_EVENT_TYPE),
            Some(m.event_id.to_string().as_str())
        );
        if !m.channel.is_empty() {
            assert_eq!(s(e, f::CHANNEL), Some(m.channel.as_str()));
        }
        assert_eq!(s(e, f::VENDOR_NAME), Some("Microsoft"));
        assert!(e.timestamp_micros().is_some(), "{} {}", m.file, m.event_id);
        assert!(e.get(f::LOOPBACK).is_some());
        let row = ROWS
            .iter()
            .find(|r| r.channel == m.channel && r.event_id == m.event_id);
        if let Some(row) = row {
            assert!(
                row.event_types.split(" / ").any(|x| x == t),
                "{} {} in {} gave {t}",
                m.channel,
                m.event_id,
                m.file
            );
        }
    }
}

#[test]
fn rows_seen_in_real_data() {
    let Some(all) = all() else { return };
    let mut seen: BTreeMap<(&str, u32), usize> = BTreeMap::new();
    for m in all {
        if let Some(r) = ROWS
            .iter()
            .find(|r| r.channel == m.channel && r.event_id == m.event_id)
        {
            *seen.entry((r.channel, r.event_id)).or_default() += 1;
        }
    }
    let missing: Vec<String> = ROWS
        .iter()
        .filter(|r| !seen.contains_key(&(r.channel, r.event_id)))
        .map(|r| format!("{} {}", r.channel, r.event_id))
        .collect();
    eprintln!(
        "{} of {} mapping rows occur in the shared data; without real samples: {}",
        seen.len(),
        ROWS.len(),
        missing.join(", ")
    );
    // The lateral-movement core must all be exercised by real data.
    for (channel, id) in [
        ("Security", 4624),
        ("Security", 4648),
        ("Security", 4688),
        ("Security", 4697),
        ("Security", 4698),
        ("Security", 4702),
        ("Security", 5140),
        ("Security", 5145),
        ("System", 7045),
        ("System", 10016),
        ("Microsoft-Windows-Sysmon/Operational", 1),
        ("Microsoft-Windows-Sysmon/Operational", 3),
        ("Microsoft-Windows-Sysmon/Operational", 17),
        ("Microsoft-Windows-Sysmon/Operational", 18),
    ] {
        assert!(
            seen.contains_key(&(channel, id)),
            "{channel} {id} not in data"
        );
    }
}

// ----- Security ---------------------------------------------------------------------------------

#[test]
fn wmi_target_host_logons_and_process_creation() {
    let file = format!("{LM}LM_WMI_4624_4688_TargetHost.evtx");
    let logons = events(&file, 4624);
    if logons.is_empty() {
        return;
    }
    assert_eq!(logons.len(), 6);
    // Four from the attacker (three Administrator, one user01); two of the machine account
    // from the host's own addresses.
    let from_attacker: Vec<_> = logons
        .iter()
        .filter(|e| s(e, f::PRINCIPAL_IP) == Some("10.0.2.17"))
        .collect();
    assert_eq!(from_attacker.len(), 4);
    let admin = from_attacker
        .iter()
        .filter(|e| s(e, f::TARGET_USERID) == Some("Administrator"))
        .count();
    assert_eq!(admin, 3);
    let own = logons
        .iter()
        .filter(|e| s(e, f::TARGET_USERID) == Some("WIN-77LTAPHIQ1R$"))
        .collect::<Vec<_>>();
    assert_eq!(own.len(), 2);
    assert!(own
        .iter()
        .any(|e| loopback(e) && s(e, f::PRINCIPAL_IP) == Some("::1")));
    for e in from_attacker {
        assert_eq!(s(e, f::AUTH_MECHANISM), Some("NETWORK"));
        assert_eq!(
            s(e, f::TARGET_HOSTNAME),
            Some("WIN-77LTAPHIQ1R.example.corp")
        );
        assert_eq!(s(e, f::ACTION), Some("ALLOW"));
        assert!(!loopback(e));
    }
    let ntlm: Vec<_> = logons
        .iter()
        .filter(|e| s(e, f::AUTH_DETAILS) == Some("NTLM V2"))
        .collect();
    assert!(!ntlm.is_empty());
    for e in ntlm {
        assert_eq!(s(e, f::PRINCIPAL_HOSTNAME), Some("PC01"));
        assert_eq!(s(e, f::SRC_HOSTNAME), Some("PC01"));
    }
    assert!(logons
        .iter()
        .any(|e| s(e, f::AUTH_DETAILS) == Some("Kerberos")));

    let procs = events(&file, 4688);
    let wmiprvse = one(&procs, "WmiPrvSE launch", |e| {
        s(e, f::TARGET_PATH) == Some("C:\\Windows\\System32\\wbem\\WmiPrvSE.exe")
    });
    assert_eq!(wmiprvse.int(f::TARGET_PID), Some(0xae8));
    assert_eq!(wmiprvse.int(f::PRINCIPAL_PID), Some(0x248));
    let calc = one(&procs, "calc launch", |e| {
        s(e, f::TARGET_PATH) == Some("C:\\Windows\\System32\\calc.exe")
    });
    assert_eq!(
        calc.int(f::PRINCIPAL_PID),
        Some(0xae8),
        "parent is WmiPrvSE"
    );
    assert_eq!(s(calc, f::EVENT_TYPE), Some("PROCESS_LAUNCH"));
    assert_eq!(
        s(calc, f::PRINCIPAL_HOSTNAME),
        Some("WIN-77LTAPHIQ1R.example.corp")
    );
    assert_eq!(
        s(calc, f::TARGET_CMD),
        None,
        "command line auditing was off"
    );
}

#[test]
fn remote_service_svcctl_then_7045() {
    let shares = events(&format!("{LM}LM_Remote_Service01_5145_svcctl.evtx"), 5145);
    if shares.is_empty() {
        return;
    }
    let e = shares[0];
    assert_eq!(s(e, f::EVENT_TYPE), Some("FILE_OPEN"));
    assert_eq!(s(e, f::TARGET_FILE_PATH), Some("svcctl"));
    assert_eq!(s(e, f::TARGET_RESOURCE), Some("\\\\*\\IPC$"));
    assert_eq!(s(e, f::PRINCIPAL_USERID), Some("Administrator"));
    assert_eq!(s(e, f::PRINCIPAL_DOMAIN), Some("EXAMPLE"));
    assert!(s(e, f::PRINCIPAL_SID).is_some_and(|sid| sid.ends_with("-500")));
    assert_eq!(s(e, f::PRINCIPAL_LOGON_ID), Some("0x197dfa"));
    assert_eq!(s(e, f::PRINCIPAL_IP), Some("10.0.2.17"));
    assert_eq!(e.int(f::PRINCIPAL_PORT), Some(49230));
    assert_eq!(
        s(e, f::TARGET_HOSTNAME),
        Some("WIN-77LTAPHIQ1R.example.corp")
    );
    assert_eq!(add(e, "AccessMask"), Some("0x12019f"));

    let services = events(&format!("{LM}LM_Remote_Service02_7045.evtx"), 7045);
    assert_eq!(services.len(), 3);
    let remotesvc = one(&services, "remotesvc", |e| {
        s(e, f::TARGET_APPLICATION) == Some("remotesvc")
    });
    assert_eq!(s(remotesvc, f::EVENT_TYPE), Some("SERVICE_CREATION"));
    assert_eq!(s(remotesvc, f::TARGET_PATH), Some("calc.exe"));
    assert_eq!(s(remotesvc, f::TARGET_CMD), Some("calc.exe"));
    assert_eq!(s(remotesvc, f::TARGET_USERID), Some("LocalSystem"));
    assert_eq!(add(remotesvc, "ServiceDisplayName"), Some("remotesvc"));
    assert_eq!(add(remotesvc, "StartType"), Some("auto start"));
    assert_eq!(
        s(remotesvc, f::PRINCIPAL_HOSTNAME),
        Some("WIN-77LTAPHIQ1R.example.corp")
    );
    // 47 ms after the svcctl access.
    let gap = remotesvc.timestamp_micros().unwrap_or(0) - e.timestamp_micros().unwrap_or(0);
    assert!((0..1_000_000).contains(&gap), "gap {gap} µs");
}

#[test]
fn atexec_target_host() {
    let file = format!("{LM}LM_ScheduledTask_ATSVC_target_host.evtx");
    let created = events(&file, 4698);
    if created.is_empty() {
        return;
    }
    let e = created[0];
    assert_eq!(s(e, f::EVENT_TYPE), Some("SCHEDULED_TASK_CREATION"));
    assert_eq!(s(e, f::TARGET_RESOURCE), Some("\\CYAlyNSS"));
    assert_eq!(s(e, f::TARGET_APPLICATION), Some("\\CYAlyNSS"));
    assert_eq!(s(e, f::TARGET_PATH), Some("cmd.exe"));
    assert_eq!(
        s(e, f::TARGET_CMD),
        Some("cmd.exe /C tasklist > %windir%\\Temp\\CYAlyNSS.tmp 2>&1")
    );
    assert_eq!(s(e, f::TARGET_SID), Some("S-1-5-18"));
    assert_eq!(s(e, f::PRINCIPAL_USERID), Some("Administrator"));
    assert_eq!(s(e, f::PRINCIPAL_LOGON_ID), Some("0x17e2d2"));
    assert!(add(e, "TaskContent").is_some_and(|c| c.contains("<Command>cmd.exe</Command>")));
    let task_logon = s(e, f::PRINCIPAL_LOGON_ID);

    let deleted = events(&file, 4699);
    assert_eq!(
        s(deleted[0], f::EVENT_TYPE),
        Some("SCHEDULED_TASK_DELETION")
    );
    assert_eq!(s(deleted[0], f::TARGET_RESOURCE), Some("\\CYAlyNSS"));

    // The logon that created the task is an NTLM V2 network logon whose 4624 carries no
    // address (IpAddress "-"): no principal host may be invented for it.
    let logons = events(&file, 4624);
    let creator = one(&logons, "task creator logon", |l| {
        s(l, f::TARGET_LOGON_ID) == task_logon
    });
    assert_eq!(s(creator, f::PRINCIPAL_IP), None);
    assert_eq!(s(creator, f::PRINCIPAL_HOSTNAME), None);
    assert_eq!(s(creator, f::TARGET_USERID), Some("Administrator"));
    assert_eq!(s(creator, f::AUTH_DETAILS), Some("NTLM V2"));
    assert_eq!(s(creator, f::AUTH_MECHANISM), Some("NETWORK"));
    // The other logons of that second came from 10.0.2.17.
    let from_attacker = logons
        .iter()
        .filter(|l| s(l, f::PRINCIPAL_IP) == Some("10.0.2.17"))
        .count();
    assert_eq!(from_attacker, 3);
    assert!(logons
        .iter()
        .any(|l| s(l, f::AUTH_DETAILS) == Some("NTLM V1")
            && s(l, f::TARGET_USERID) == Some("ANONYMOUS LOGON")));

    let pipes = events(&file, 5145);
    assert!(pipes
        .iter()
        .any(|p| s(p, f::TARGET_FILE_PATH) == Some("atsvc")
            && s(p, f::TARGET_RESOURCE) == Some("\\\\*\\IPC$")));
    assert!(pipes
        .iter()
        .any(|p| s(p, f::TARGET_FILE_PATH) == Some("Temp\\CYAlyNSS.tmp")));
    let shares = events(&file, 5140);
    assert!(shares
        .iter()
        .all(|p| s(p, f::EVENT_TYPE) == Some("USER_RESOURCE_ACCESS")));
    assert!(shares
        .iter()
        .any(|p| s(p, f::TARGET_RESOURCE) == Some("\\\\*\\IPC$")));

    let ntlm = events(&file, 4776);
    assert_eq!(ntlm.len(), 4);
    assert!(ntlm.iter().all(|n| s(n, f::AUTH_DETAILS) == Some("NTLM")));
    let wiped = events(&file, 1102);
    assert_eq!(s(wiped[0], f::EVENT_TYPE), Some("SYSTEM_AUDIT_LOG_WIPE"));
    let privileges = events(&file, 4672);
    assert!(privileges
        .iter()
        .all(|p| s(p, f::EVENT_TYPE) == Some("USER_UNCATEGORIZED")
            && add(p, "PrivilegeList").is_some()));
}

#[test]
fn wmic_source_explicit_credentials() {
    let evs = events(&format!("{LM}LM_WMIC_4648_rpcss.evtx"), 4648);
    if evs.is_empty() {
        return;
    }
    assert_eq!(evs.len(), 3);
    for e in &evs {
        assert_eq!(s(e, f::EVENT_TYPE), Some("USER_LOGIN"));
        assert_eq!(
            s(e, f::TARGET_HOSTNAME),
            Some("WIN-77LTAPHIQ1R.example.corp")
        );
        assert_eq!(s(e, f::TARGET_USERID), Some("administrator"));
        // The third event spells the domain `example`.
        assert!(s(e, f::TARGET_DOMAIN).is_some_and(
            |d| d.eq_ignore_ascii_case("EXAMPLE.CORP") || d.eq_ignore_ascii_case("example")
        ));
        assert_eq!(s(e, f::PRINCIPAL_USERID), Some("user01"));
        assert_eq!(s(e, f::PRINCIPAL_HOSTNAME), Some("PC01.example.corp"));
        assert!(!loopback(e));
    }
    assert!(evs.iter().any(|e| s(e, f::TARGET_RESOURCE)
        == Some("RPCSS/WIN-77LTAPHIQ1R.example.corp")
        && s(e, f::PRINCIPAL_PATH) == Some("C:\\Windows\\System32\\svchost.exe")));
    assert!(evs
        .iter()
        .any(|e| s(e, f::PRINCIPAL_PATH) == Some("C:\\Windows\\System32\\wbem\\WMIC.exe")));
    let wmic = events(&format!("{LM}LM_WMIC_4648_rpcss.evtx"), 4688);
    assert_eq!(
        s(wmic[0], f::TARGET_PATH),
        Some("C:\\Windows\\System32\\wbem\\WMIC.exe")
    );
}

#[test]
fn remcom_writes_and_local_access() {
    let evs = events(&format!("{LM}LM_REMCOM_5145_TargetHost.evtx"), 5145);
    if evs.is_empty() {
        return;
    }
    let writes: Vec<_> = evs
        .iter()
        .filter(|e| {
            s(e, f::TARGET_FILE_PATH) == Some("System32\\RemComSvc.exe")
                && s(e, f::TARGET_RESOURCE) == Some("\\\\*\\ADMIN$")
        })
        .collect();
    // Each write is audited twice.
    assert_eq!(writes.len(), 6, "three RemCom runs");
    for w in &writes {
        assert_eq!(s(w, f::PRINCIPAL_IP), Some("10.0.2.16"));
        assert_eq!(s(w, f::PRINCIPAL_USERID), Some("IEUser"));
        assert_eq!(add(w, "AccessMask"), Some("0x120196"));
        assert!(!loopback(w));
    }
    let mut logons: Vec<_> = writes
        .iter()
        .filter_map(|w| s(w, f::PRINCIPAL_LOGON_ID))
        .collect();
    logons.dedup();
    assert_eq!(logons, vec!["0x95c2e", "0x311293", "0x7accb8"]);
    let local: Vec<_> = evs
        .iter()
        .filter(|e| s(e, f::PRINCIPAL_IP) == Some("::1"))
        .collect();
    assert!(!local.is_empty());
    assert!(local.iter().all(|e| loopback(e)));
    assert!(evs
        .iter()
        .any(|e| s(e, f::TARGET_FILE_PATH) == Some("svcctl")));
}

#[test]
fn renamed_psexec_service_over_shares() {
    let evs = events(&format!("{LM}LM_renamed_psexecsvc_5145.evtx"), 5145);
    if evs.is_empty() {
        return;
    }
    assert_eq!(evs.len(), 22);
    let writes: Vec<_> = evs
        .iter()
        .filter(|e| s(e, f::TARGET_FILE_PATH) == Some("blabla.exe"))
        .collect();
    assert_eq!(writes.len(), 2, "the write is audited twice");
    let exe = writes[0];
    assert_eq!(s(exe, f::TARGET_RESOURCE), Some("\\\\*\\ADMIN$"));
    assert_eq!(add(exe, "AccessMask"), Some("0x120196"));
    assert_eq!(s(exe, f::PRINCIPAL_LOGON_ID), Some("0x162630"));
    for pipe in [
        "blabla-NLLT108334-37048-stdin",
        "blabla-NLLT108334-37048-stdout",
    ] {
        let p = one(&evs, pipe, |e| s(e, f::TARGET_FILE_PATH) == Some(pipe));
        assert_eq!(s(p, f::PRINCIPAL_IP), Some("10.0.2.16"));
        assert_eq!(e_port(p), Some(54765));
        assert_eq!(s(p, f::PRINCIPAL_USERID), Some("IEUser"));
        assert_eq!(s(p, f::PRINCIPAL_DOMAIN), Some("IEWIN7"));
    }
}

fn e_port(e: &UdmEvent) -> Option<i64> {
    e.int(f::PRINCIPAL_PORT)
}

#[test]
fn remote_task_update_joins_the_logon_by_logon_id() {
    let file = format!("{LM}remote task update 4624 4702 same logonid.evtx");
    let updates = events(&file, 4702);
    if updates.is_empty() {
        return;
    }
    let u = updates[0];
    assert_eq!(s(u, f::EVENT_TYPE), Some("SCHEDULED_TASK_MODIFICATION"));
    assert_eq!(s(u, f::TARGET_RESOURCE), Some("\\LMST"));
    assert_eq!(s(u, f::PRINCIPAL_USERID), Some("a-jbrown"));
    assert_eq!(s(u, f::PRINCIPAL_LOGON_ID), Some("0x21a8c68"));
    assert_eq!(add(u, "Author"), Some("a-jbrown"));
    assert!(s(u, f::TARGET_CMD).is_some());
    let logons = events(&file, 4624);
    let l = one(&logons, "4624 with the task's logon id", |l| {
        s(l, f::TARGET_LOGON_ID) == s(u, f::PRINCIPAL_LOGON_ID)
    });
    assert_eq!(s(l, f::TARGET_USERID), Some("a-jbrown"));
    assert_eq!(s(l, f::TARGET_DOMAIN), Some("3B"));
    assert_eq!(s(l, f::PRINCIPAL_IP), Some("172.16.66.142"));
    assert_eq!(s(l, f::PRINCIPAL_HOSTNAME), Some("04246W-WIN10"));
    assert_eq!(s(l, f::AUTH_DETAILS), Some("NTLM V2"));
    assert_eq!(s(l, f::AUTH_MECHANISM), Some("NETWORK"));
}

#[test]
fn new_credentials_logon_on_the_source_host() {
    let evs = events(
        &format!("{LM}LM_4624_mimikatz_sekurlsa_pth_source_machine.evtx"),
        4624,
    );
    if evs.is_empty() {
        return;
    }
    let e = evs[0];
    assert_eq!(s(e, f::AUTH_MECHANISM), Some("NEW_CREDENTIALS"));
    assert_eq!(add(e, "LogonType"), Some("9"));
    assert_eq!(add(e, "LogonProcessName"), Some("seclogo"));
    assert_eq!(s(e, f::AUTH_DETAILS), Some("Negotiate"));
    assert_eq!(s(e, f::TARGET_USERID), Some("user01"));
    assert_eq!(s(e, f::TARGET_DOMAIN), Some("EXAMPLE"));
    assert_eq!(s(e, f::PRINCIPAL_IP), Some("::1"));
    assert_eq!(
        s(e, f::PRINCIPAL_PATH),
        Some("C:\\Windows\\System32\\svchost.exe")
    );
    assert!(loopback(e));
}

#[test]
fn local_pass_the_hash_is_loopback() {
    let file = format!("{LM}ImpersonateUser-via local Pass The Hash Sysmon and Security.evtx");
    let logons = events(&file, 4624);
    if logons.is_empty() {
        return;
    }
    let l = logons[0];
    assert_eq!(s(l, f::TARGET_USERID), Some("user03"));
    assert_eq!(s(l, f::PRINCIPAL_IP), Some("127.0.0.1"));
    assert_eq!(e_port(l), Some(49925));
    assert!(loopback(l));
    let pipe = events(&file, 5145);
    assert_eq!(s(pipe[0], f::TARGET_FILE_PATH), Some("samir"));
    assert!(loopback(pipe[0]));
    let local = events(
        "Privilege Escalation/PrivEsc_NetSvc_SessionToken_Retrival_via_localSMB_Auth_5145.evtx",
        5145,
    );
    assert!(local
        .iter()
        .any(|e| s(e, f::TARGET_FILE_PATH) == Some("pipey") && loopback(e)));
}

#[test]
fn share_added() {
    let evs = events(&format!("{LM}net_share_drive_5142.evtx"), 5142);
    if evs.is_empty() {
        return;
    }
    let e = evs[0];
    assert_eq!(s(e, f::EVENT_TYPE), Some("USER_RESOURCE_CREATION"));
    assert_eq!(s(e, f::TARGET_RESOURCE), Some("\\\\*\\PRINT"));
    assert_eq!(s(e, f::TARGET_FILE_PATH), Some("c:\\windows\\system32"));
    assert_eq!(s(e, f::PRINCIPAL_USERID), Some("IEUser"));
    assert_eq!(s(e, f::PRINCIPAL_DOMAIN), Some("PC04"));
}

#[test]
fn relayed_wmi_process_creation_names_the_target_user() {
    let evs = events(
        "Privilege Escalation/NTLM2SelfRelay-med0x2e-security_4624_4688.evtx",
        4688,
    );
    if evs.is_empty() {
        return;
    }
    let e = one(&evs, "notepad", |e| {
        s(e, f::TARGET_PATH).is_some_and(|p| p.to_ascii_lowercase().ends_with("notepad.exe"))
    });
    assert!(s(e, f::PRINCIPAL_PATH).is_some_and(|p| p.ends_with("WmiPrvSE.exe")));
    assert_eq!(s(e, f::TARGET_USERID), Some("Administrator"));
    let logons = events(
        "Privilege Escalation/NTLM2SelfRelay-med0x2e-security_4624_4688.evtx",
        4624,
    );
    assert!(logons
        .iter()
        .all(|l| s(l, f::PRINCIPAL_IP) == Some("192.168.1.219")
            && s(l, f::AUTH_DETAILS) == Some("Kerberos")));
    let logoffs = events(
        "Privilege Escalation/NTLM2SelfRelay-med0x2e-security_4624_4688.evtx",
        4634,
    );
    assert!(logoffs
        .iter()
        .all(|l| s(l, f::EVENT_TYPE) == Some("USER_LOGOUT")
            && s(l, f::TARGET_USERID) == Some("Administrator")));
}

// ----- System -----------------------------------------------------------------------------------

#[test]
fn failed_dcom_launches() {
    let evs = events(
        &format!("{LM}LM_dcom_shwnd_shbrwnd_mmc20_failed_traces_system_10016.evtx"),
        10016,
    );
    if evs.is_empty() {
        return;
    }
    assert_eq!(evs.len(), 4);
    let mmc = one(&evs, "MMC20", |e| {
        s(e, f::TARGET_RESOURCE) == Some("{49B2791A-B1AE-4C90-9B8E-E860BA07F889}")
    });
    assert_eq!(s(mmc, f::PRINCIPAL_IP), Some("10.0.2.17"));
    assert_eq!(
        s(mmc, f::TARGET_APPLICATION),
        Some("{7E0423CD-1119-0928-900C-E6D4A52A0715}")
    );
    assert_eq!(s(mmc, f::ACTION), Some("BLOCK"));
    assert_eq!(s(mmc, f::PRINCIPAL_USERID), Some("IEUser"));
    assert_eq!(s(mmc, f::PRINCIPAL_DOMAIN), Some("MSEDGEWIN10"));
    assert_eq!(s(mmc, f::TARGET_HOSTNAME), Some("MSEDGEWIN10"));
    assert_eq!(add(mmc, "param2"), Some("Remote"));
    assert!(s(mmc, f::DESCRIPTION).is_some_and(|d| d.contains("MMC20.Application")));
    let shbw = one(&evs, "ShellBrowserWindow", |e| {
        s(e, f::TARGET_RESOURCE) == Some("{C08AFD90-F2A1-11D1-8455-00A0C91F3880}")
    });
    assert_eq!(s(shbw, f::PRINCIPAL_IP), Some("10.0.2.17"));
    let remote: Vec<_> = evs.iter().filter(|e| !loopback(e)).collect();
    assert_eq!(remote.len(), 2, "the two other 10016 are local noise");
}

#[test]
fn service_install_shapes() {
    let evs = events(
        "Privilege Escalation/System_7045_namedpipe_privesc.evtx",
        7045,
    );
    if evs.is_empty() {
        return;
    }
    let e = evs[0];
    assert_eq!(s(e, f::TARGET_APPLICATION), Some("WinPwnage"));
    assert_eq!(s(e, f::TARGET_PATH), Some("%COMSPEC%"));
    assert!(s(e, f::TARGET_CMD).is_some_and(|c| c.contains("\\\\.\\pipe\\WinPwnagePipe")));
    assert_eq!(add(e, "StartType"), Some("demand start"));
    assert_eq!(s(e, f::TARGET_USERID), Some("LocalSystem"));
}

// ----- Sysmon -----------------------------------------------------------------------------------

#[test]
fn wmiexec_target_sysmon() {
    let file = format!("{LM}LM_wmiexec_impacket_sysmon_whoami.evtx");
    let procs = events(&file, 1);
    if procs.is_empty() {
        return;
    }
    let cmd = "cmd.exe /Q /c whoami /all 1> \\\\127.0.0.1\\ADMIN$\\__1556656369.7 2>&1";
    let e = one(&procs, "whoami via WMI", |e| {
        s(e, f::TARGET_CMD) == Some(cmd)
    });
    assert!(s(e, f::PRINCIPAL_PATH)
        .is_some_and(|p| p.eq_ignore_ascii_case("C:\\Windows\\System32\\wbem\\WmiPrvSE.exe")));
    assert!(s(e, f::PRINCIPAL_CMD).is_some_and(|c| c.contains("-secured -Embedding")));
    assert_eq!(s(e, f::TARGET_PATH), Some("C:\\Windows\\System32\\cmd.exe"));
    assert_eq!(s(e, f::PRINCIPAL_USERID), Some("IEUser"));
    assert_eq!(s(e, f::PRINCIPAL_DOMAIN), Some("IEWIN7"));
    assert_eq!(s(e, f::PRINCIPAL_LOGON_ID), Some("0x1d313d"));
    assert_eq!(s(e, f::PRINCIPAL_HOSTNAME), Some("IEWIN7"));
    assert!(s(e, f::TARGET_SHA256).is_some_and(|h| h.len() == 64));

    // Older Sysmon logs this inbound connection with the local side as Source.
    let conns = events(&file, 3);
    let smb = one(&conns, "inbound SMB from the attacker", |c| {
        s(c, f::PRINCIPAL_IP) == Some("10.0.2.19")
    });
    assert_eq!(e_port(smb), Some(45616));
    assert_eq!(s(smb, f::TARGET_IP), Some("10.0.2.18"));
    assert_eq!(smb.int(f::TARGET_PORT), Some(445));
    assert_eq!(s(smb, f::TARGET_HOSTNAME), Some("IEWIN7"));
    assert_eq!(s(smb, f::DIRECTION), Some("INBOUND"));
    assert_eq!(s(smb, f::APP_PROTOCOL), Some("SMB"));
    assert_eq!(s(smb, f::TARGET_PATH), Some("System"));
    assert!(!loopback(smb));
    assert!(conns
        .iter()
        .filter(|c| s(c, f::PRINCIPAL_IP) == Some("127.0.0.1"))
        .all(|c| loopback(c)));
}

#[test]
fn smbmap_upload_then_wmi_exec() {
    let file = format!("{LM}smbmap_upload_exec_sysmon.evtx");
    let conns = events(&file, 3);
    if conns.is_empty() {
        return;
    }
    let inbound: Vec<_> = conns
        .iter()
        .filter(|c| s(c, f::PRINCIPAL_IP) == Some("10.0.2.15"))
        .collect();
    assert_eq!(inbound.len(), 5);
    for c in inbound {
        assert_eq!(s(c, f::PRINCIPAL_HOSTNAME), Some("LAPTOP-JU4M3I0E"));
        assert_eq!(c.int(f::TARGET_PORT), Some(445));
        assert_eq!(s(c, f::TARGET_HOSTNAME), Some("MSEDGEWIN10"));
        assert_eq!(s(c, f::DIRECTION), Some("INBOUND"));
    }
    let files = events(&file, 11);
    assert!(files.iter().any(
        |e| s(e, f::TARGET_FILE_PATH) == Some("C:\\ProgramData\\7okjer.dll")
            && s(e, f::PRINCIPAL_PATH) == Some("System")
    ));
    let procs = events(&file, 1);
    let run = one(&procs, "rundll32 via WMI", |e| {
        s(e, f::TARGET_CMD).is_some_and(|c| c.contains("rundll32.exe c:\\programdata\\7okjer,#1"))
    });
    assert_eq!(s(run, f::PRINCIPAL_USERID), Some("Administrator"));
    assert_eq!(s(run, f::PRINCIPAL_LOGON_ID), Some("0x33a8a8"));
}

#[test]
fn renamed_psexec_pipes() {
    let file = "Defense Evasion/DE_renamed_psexec_service_sysmon_17_18.evtx";
    let created = events(file, 17);
    if created.is_empty() {
        return;
    }
    assert_eq!(created.len(), 4);
    for e in &created {
        assert_eq!(s(e, f::EVENT_TYPE), Some("FILE_CREATION"));
        assert_eq!(s(e, f::PRINCIPAL_PATH), Some("C:\\Windows\\svchost.exe"));
        assert_eq!(e.int(f::PRINCIPAL_PID), Some(1120));
    }
    let names: Vec<_> = created
        .iter()
        .filter_map(|e| s(e, f::TARGET_FILE_PATH))
        .collect();
    for pipe in [
        "\\svchost",
        "\\svchost-MSEDGEWIN10-8116-stdin",
        "\\svchost-MSEDGEWIN10-8116-stdout",
        "\\svchost-MSEDGEWIN10-8116-stderr",
    ] {
        assert!(names.contains(&pipe), "{pipe} in {names:?}");
    }
    let connected = events(file, 18);
    assert_eq!(connected.len(), 7);
    assert!(connected
        .iter()
        .all(|e| s(e, f::EVENT_TYPE) == Some("FILE_OPEN")));
    assert!(connected.iter().any(|e| {
        s(e, f::PRINCIPAL_PATH) == Some("C:\\Windows\\system32\\PsExec.exe")
            && e.int(f::PRINCIPAL_PID) == Some(8116)
            && s(e, f::TARGET_FILE_PATH) == Some("\\svchost-MSEDGEWIN10-8116-stdin")
    }));
}

#[test]
fn psexec_service_binary_written_by_system() {
    let evs = events(
        &format!("{LM}remote_file_copy_system_proc_file_write_sysmon_11.evtx"),
        11,
    );
    if evs.is_empty() {
        return;
    }
    let e = one(&evs, "PSEXESVC.exe write", |e| {
        s(e, f::TARGET_FILE_PATH) == Some("C:\\Windows\\PSEXESVC.exe")
    });
    assert_eq!(s(e, f::PRINCIPAL_PATH), Some("System"));
    assert_eq!(e.int(f::PRINCIPAL_PID), Some(4));
    let procs = events(
        &format!("{LM}remote_file_copy_system_proc_file_write_sysmon_11.evtx"),
        1,
    );
    assert!(procs.iter().any(
        |p| s(p, f::TARGET_PATH) == Some("C:\\Windows\\PSEXESVC.exe")
            && s(p, f::PRINCIPAL_PATH).is_some_and(|pp| pp.ends_with("services.exe"))
    ));
}

#[test]
fn metasploit_psexec_sysmon() {
    let file = format!("{LM}LM_sysmon_psexec_smb_meterpreter.evtx");
    let reg = events(&file, 13);
    if reg.is_empty() {
        return;
    }
    let image_path = one(&reg, "service ImagePath", |e| {
        s(e, f::TARGET_REG_KEY).is_some_and(|k| k.ends_with("\\services\\hello\\ImagePath"))
    });
    assert_eq!(s(image_path, f::TARGET_REG_VALUE_NAME), Some("ImagePath"));
    assert!(s(image_path, f::TARGET_REG_VALUE_DATA)
        .is_some_and(|d| d.contains("powershell.exe -nop -w hidden")));
    assert!(s(image_path, f::PRINCIPAL_PATH).is_some_and(|p| p.ends_with("services.exe")));
    let conns = events(&file, 3);
    let c2 = one(&conns, "meterpreter callback", |c| {
        c.int(f::TARGET_PORT) == Some(4444)
    });
    assert_eq!(s(c2, f::TARGET_IP), Some("10.0.2.19"));
    assert_eq!(s(c2, f::DIRECTION), Some("OUTBOUND"));
    assert!(s(c2, f::PRINCIPAL_PATH).is_some_and(|p| p.ends_with("powershell.exe")));
    assert_eq!(s(c2, f::PRINCIPAL_USERID), Some("SYSTEM"));
    let smb = one(&conns, "inbound SMB", |c| {
        s(c, f::PRINCIPAL_IP) == Some("10.0.2.19")
    });
    assert_eq!(e_port(smb), Some(33801));
    assert_eq!(smb.int(f::TARGET_PORT), Some(445));
    let pipes = events(&file, 18);
    assert_eq!(s(pipes[0], f::TARGET_FILE_PATH), Some("\\ntsvcs"));
    let access = events(&file, 10);
    assert!(access
        .iter()
        .all(|a| s(a, f::EVENT_TYPE) == Some("PROCESS_OPEN") && add(a, "GrantedAccess").is_some()));
}

#[test]
fn dcom_inbound_to_explorer() {
    let evs = events(
        &format!("{LM}LM_sysmon_3_DCOM_ShellBrowserWindow_ShellWindows.evtx"),
        3,
    );
    if evs.is_empty() {
        return;
    }
    assert_eq!(evs.len(), 3);
    let mut ports: Vec<i64> = Vec::new();
    for e in &evs {
        assert_eq!(s(e, f::PRINCIPAL_IP), Some("10.0.2.17"));
        assert_eq!(s(e, f::TARGET_PATH), Some("C:\\Windows\\explorer.exe"));
        assert_eq!(s(e, f::TARGET_USERID), Some("IEUser"));
        assert_eq!(e.int(f::TARGET_PORT), Some(49158));
        assert_eq!(s(e, f::DIRECTION), Some("INBOUND"));
        ports.extend(e.int(f::PRINCIPAL_PORT));
    }
    ports.sort_unstable();
    assert_eq!(ports, vec![55099, 55101, 58172]);
}

#[test]
fn remote_task_source_side_and_module_load() {
    let file = format!("{LM}LM_sysmon_remote_task_src_powershell.evtx");
    let conns = events(&file, 3);
    if conns.is_empty() {
        return;
    }
    let epm = one(&conns, "RPC endpoint mapper", |c| {
        c.int(f::TARGET_PORT) == Some(135)
    });
    assert_eq!(s(epm, f::PRINCIPAL_IP), Some("10.0.2.15"));
    assert_eq!(s(epm, f::TARGET_IP), Some("10.0.2.17"));
    assert_eq!(s(epm, f::TARGET_HOSTNAME), Some("MSEDGEWIN10CLONE"));
    assert_eq!(s(epm, f::PRINCIPAL_HOSTNAME), Some("MSEDGEWIN10"));
    assert_eq!(s(epm, f::APP_PROTOCOL), Some("DCERPC"));
    assert_eq!(s(epm, f::DIRECTION), Some("OUTBOUND"));
    let loads = events(&file, 7);
    assert!(loads.iter().any(|l| s(l, f::TARGET_FILE_PATH)
        .is_some_and(|p| p.to_ascii_lowercase().ends_with("taskschd.dll"))));
}

#[test]
fn network_share_image_load() {
    let evs = events(&format!("{LM}LM_ImageLoad_NFSH_Sysmon_7.evtx"), 7);
    if evs.is_empty() {
        return;
    }
    assert_eq!(evs.len(), 2);
    for e in evs {
        assert_eq!(s(e, f::EVENT_TYPE), Some("PROCESS_MODULE_LOAD"));
        assert_eq!(
            s(e, f::PRINCIPAL_PATH),
            Some("C:\\Windows\\System32\\lsass.exe")
        );
        assert_eq!(
            s(e, f::TARGET_FILE_PATH),
            Some("\\\\172.16.66.254\\shared\\lsadb.dll")
        );
    }
}

#[test]
fn remote_registry_run_key() {
    let evs = events(&format!("{LM}lm_remote_registry_sysmon_1_13_3.evtx"), 13);
    if evs.is_empty() {
        return;
    }
    let run = one(&evs, "Run key", |e| {
        s(e, f::TARGET_REG_VALUE_NAME) == Some("SUpdate")
    });
    assert!(s(run, f::TARGET_REG_KEY).is_some_and(|k| k.contains("\\CurrentVersion\\Run\\SUpdate")));
    assert_eq!(
        s(run, f::TARGET_REG_VALUE_DATA),
        Some("C:\\Windows\\System32\\Rundll32.exe smssvc.dll,Start")
    );
    let conns = events(&format!("{LM}lm_remote_registry_sysmon_1_13_3.evtx"), 3);
    assert!(conns
        .iter()
        .any(|c| s(c, f::PRINCIPAL_IP) == Some("10.0.2.17")
            && s(c, f::PRINCIPAL_HOSTNAME) == Some("MSEDGEWIN10CLON")));
}

#[test]
fn tunnelled_loopback_connections() {
    let evs = events(
        "Command and Control/tunna_iis_rdp_smb_tunneling_sysmon_3.evtx",
        3,
    );
    if evs.is_empty() {
        return;
    }
    let local: Vec<_> = evs
        .iter()
        .filter(|e| s(e, f::TARGET_IP) == Some("127.0.0.1"))
        .collect();
    assert_eq!(local.len(), 8);
    assert!(local.iter().all(|e| loopback(e)));
    // Both records of one tunnelled connection agree on who opened it.
    for e in &local {
        assert!(e.int(f::TARGET_PORT).is_some_and(|p| p == 3389 || p == 445));
        assert!(e.int(f::PRINCIPAL_PORT).is_some_and(|p| p > 49000));
    }
}

// ----- Other channels ---------------------------------------------------------------------------

#[test]
fn rdp_connection_accepted() {
    let evs = events(
        &format!("{LM}dfir_rdpsharp_target_RdpCoreTs_168_68_131.evtx"),
        131,
    );
    if evs.is_empty() {
        return;
    }
    assert!(evs
        .iter()
        .all(|e| s(e, f::PRINCIPAL_IP) == Some("10.0.2.16")
            && s(e, f::APP_PROTOCOL) == Some("RDP")
            && s(e, f::DIRECTION) == Some("INBOUND")));
    assert!(evs.iter().any(|e| s(e, f::IP_PROTOCOL) == Some("UDP")));
}

#[test]
fn winrm_authentication_and_shell() {
    let auth = events(
        &format!("{LM}RemotePowerShell_MS_Windows-Remote_Management_EventID_169.evtx"),
        169,
    );
    if auth.is_empty() {
        return;
    }
    assert_eq!(auth.len(), 3);
    for e in auth {
        assert_eq!(s(e, f::EVENT_TYPE), Some("USER_LOGIN"));
        assert_eq!(s(e, f::TARGET_USERID), Some("ieuser"));
        assert_eq!(s(e, f::TARGET_DOMAIN), Some("iewin7"));
        assert_eq!(s(e, f::AUTH_DETAILS), Some("NTLM"));
    }
    let shell = events(
        &format!("{LM}LM_winrm_target_wrmlogs_91_wsmanShellStarted_poorLog.evtx"),
        91,
    );
    let e = shell[0];
    assert_eq!(s(e, f::EVENT_TYPE), Some("USER_RESOURCE_ACCESS"));
    assert_eq!(s(e, f::TARGET_HOSTNAME), Some("DC1.insecurebank.local"));
    assert!(s(e, f::PRINCIPAL_SID).is_some_and(|sid| sid.ends_with("-500")));
    // The resource URI only survives in ProcessingErrorData's payload in this file.
    if add(e, "EventPayload").is_some() {
        assert_eq!(
            s(e, f::TARGET_URL),
            Some("http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd")
        );
    }
}

// ----- Security-Datasets JSON exports -----------------------------------------------------------

#[test]
fn empire_psexec_service_joins_its_logon() {
    let file = format!("empire_psexec_dcerpc_tcp_svcctl_2020-09-20121608{SD}");
    let installs = events(&file, 4697);
    if installs.is_empty() {
        return;
    }
    let svc = one(&installs, "Updater", |e| {
        s(e, f::TARGET_APPLICATION) == Some("Updater")
    });
    assert_eq!(s(svc, f::PRINCIPAL_LOGON_ID), Some("0x2990d17"));
    assert_eq!(s(svc, f::PRINCIPAL_USERID), Some("pgustavo"));
    assert_eq!(s(svc, f::TARGET_PATH), Some("%COMSPEC%"));
    assert!(s(svc, f::TARGET_CMD).is_some_and(|c| c.contains("powershell -noP -sta -w 1 -enc")));
    assert_eq!(add(svc, "ServiceKeyName"), Some("Updater"));
    assert_eq!(add(svc, "ServiceStartType"), Some("3"));
    assert_eq!(
        s(svc, f::CHANNEL),
        Some("Security"),
        "lower-case channel canonicalised"
    );

    let logons = events(&file, 4624);
    let l = one(&logons, "the installing logon", |l| {
        s(l, f::TARGET_LOGON_ID) == Some("0x2990d17")
    });
    assert_eq!(s(l, f::PRINCIPAL_IP), Some("172.18.39.5"));
    assert_eq!(e_port(l), Some(56608));
    assert_eq!(s(l, f::TARGET_USERID), Some("pgustavo"));
    assert_eq!(s(l, f::AUTH_DETAILS), Some("Kerberos"));
    assert!(s(l, f::TARGET_HOSTNAME)
        .is_some_and(|h| h.to_ascii_uppercase().starts_with("WORKSTATION6")));

    let scm = events(&file, 7045);
    let u = one(&scm, "7045 Updater", |e| {
        s(e, f::TARGET_APPLICATION) == Some("Updater")
    });
    assert_eq!(s(u, f::TARGET_PATH), Some("%COMSPEC%"));
    assert_eq!(add(u, "ServiceDisplayName"), Some("Updater"));
    assert_eq!(add(u, "StartType"), Some("demand start"));

    let reg = events(&file, 13);
    assert!(reg.iter().any(|e| s(e, f::TARGET_REG_KEY)
        == Some("HKLM\\System\\CurrentControlSet\\Services\\Updater\\ImagePath")
        && s(e, f::TARGET_REG_VALUE_NAME) == Some("ImagePath")));
    let failed = events(&file, 7000);
    assert_eq!(s(failed[0], f::ACTION), Some("FAIL"));
    assert_eq!(s(failed[0], f::TARGET_APPLICATION), Some("Updater"));
    let blocks = events(&file, 4104);
    assert!(blocks
        .iter()
        .all(|b| s(b, f::EVENT_TYPE) == Some("PROCESS_UNCATEGORIZED")
            && s(b, f::LOG_TYPE) == Some("POWERSHELL")
            && s(b, f::DESCRIPTION).is_some()));
}

#[test]
fn empire_smbexec_ntlm_logon_pipe_and_service() {
    let file = format!("empire_smbexec_dcerpc_smb_svcctl_2020-09-20025716{SD}");
    let logons = events(&file, 4624);
    if logons.is_empty() {
        return;
    }
    let l = one(&logons, "NTLM logon 0x2074186", |l| {
        s(l, f::TARGET_LOGON_ID) == Some("0x2074186")
    });
    assert_eq!(s(l, f::PRINCIPAL_HOSTNAME), Some("WORKSTATION5"));
    assert_eq!(s(l, f::SRC_HOSTNAME), Some("WORKSTATION5"));
    assert_eq!(s(l, f::PRINCIPAL_IP), Some("172.18.39.5"));
    assert_eq!(e_port(l), Some(50504));
    assert!(s(l, f::AUTH_DETAILS).is_some_and(|d| d.starts_with("NTLM")));
    assert!(!loopback(l));
    let pipes = events(&file, 5145);
    let p = one(&pipes, "svcctl", |p| {
        s(p, f::TARGET_FILE_PATH) == Some("svcctl")
    });
    assert_eq!(s(p, f::PRINCIPAL_LOGON_ID), Some("0x2074186"));
    assert_eq!(add(p, "AccessMask"), Some("0x3"));
    let installs = events(&file, 4697);
    let svc = one(&installs, "random service", |e| {
        s(e, f::TARGET_APPLICATION) == Some("PGUJLOAKFQFVOMHGFQPX")
    });
    assert_eq!(s(svc, f::TARGET_PATH), Some("%COMSPEC%"));
    assert_eq!(s(svc, f::PRINCIPAL_LOGON_ID), Some("0x2074186"));
    let ntlm = events(&file, 4776);
    assert!(ntlm
        .iter()
        .any(|n| s(n, f::PRINCIPAL_HOSTNAME) == Some("WORKSTATION5")
            && s(n, f::TARGET_USERID) == Some("pgustavo")));
}

#[test]
fn psexec_to_itself_json() {
    let file = format!("cmd_psexec_lsa_secrets_dump_2020-10-1903305471{SD}");
    let installs = events(&file, 4697);
    if installs.is_empty() {
        return;
    }
    let svc = installs[0];
    assert_eq!(s(svc, f::TARGET_APPLICATION), Some("PSEXESVC"));
    assert_eq!(s(svc, f::TARGET_PATH), Some("%SystemRoot%\\PSEXESVC.exe"));
    assert_eq!(s(svc, f::TARGET_USERID), Some("LocalSystem"));
    let scm = events(&file, 7045);
    assert_eq!(
        s(scm[0], f::TARGET_PATH),
        Some("%SystemRoot%\\PSEXESVC.exe")
    );
    let pipes = events(&file, 17);
    let names: Vec<_> = pipes
        .iter()
        .filter_map(|e| s(e, f::TARGET_FILE_PATH))
        .collect();
    assert!(
        names.contains(&"\\PSEXESVC-WORKSTATION5-7256-stdin"),
        "{names:?}"
    );
    let shares = events(&file, 5145);
    assert!(shares
        .iter()
        .any(|e| s(e, f::TARGET_FILE_PATH) == Some("PSEXESVC")
            && s(e, f::PRINCIPAL_IP) == Some("fe80::90e:17af:263c:5209")));
    let procs = events(&file, 1);
    assert!(procs.iter().any(|p| s(p, f::TARGET_PATH)
        == Some("C:\\Users\\wardog\\Downloads\\PSTools\\PsExec.exe")
        && s(p, f::PRINCIPAL_USERID) == Some("wardog")));
    let files = events(&file, 11);
    assert!(files
        .iter()
        .any(|e| s(e, f::TARGET_FILE_PATH) == Some("C:\\Windows\\PSEXESVC.exe")));
    // WFP saw the loopback SMB connection over the host's own link-local address.
    let wfp = events(&file, 5156);
    assert!(wfp.iter().any(|w| w.int(f::TARGET_PORT) == Some(445)
        && s(w, f::TARGET_IP) == Some("fe80::90e:17af:263c:5209")
        && s(w, f::APP_PROTOCOL) == Some("SMB")));
}

#[test]
fn empire_wmi_process_as_remote_user() {
    let file = format!("empire_wmi_dcerpc_wmi_IWbemServices_ExecMethod_2020-09-21001437{SD}");
    let procs = events(&file, 1);
    if procs.is_empty() {
        return;
    }
    let ps = procs
        .iter()
        .find(|p| {
            s(p, f::PRINCIPAL_PATH)
                .is_some_and(|pp| pp.to_ascii_lowercase().ends_with("wmiprvse.exe"))
                && s(p, f::TARGET_CMD).is_some_and(|c| c.contains("powershell -noP -sta -w 1 -enc"))
        })
        .copied();
    let ps = ps.expect("WmiPrvSE → powershell");
    assert_eq!(s(ps, f::PRINCIPAL_USERID), Some("pgustavo"));
    assert_eq!(s(ps, f::PRINCIPAL_DOMAIN), Some("THESHIRE"));
}

#[test]
fn scheduled_task_created_remotely_json() {
    let file = format!("schtask_create_2020-12-1907003032{SD}");
    let created = events(&file, 4698);
    if created.is_empty() {
        return;
    }
    let t = created[0];
    assert_eq!(
        s(t, f::TARGET_RESOURCE),
        Some("\\Microsoft\\Windows\\SoftwareProtectionPlatform\\EventCacheManager")
    );
    assert_eq!(s(t, f::TARGET_PATH), Some("C:\\Windows\\system32\\cmd.exe"));
    assert_eq!(
        s(t, f::TARGET_CMD),
        Some("C:\\Windows\\system32\\cmd.exe /C C:\\Windows\\System32\\notepad.exe")
    );
    assert_eq!(s(t, f::PRINCIPAL_USERID), Some("pgustavo"));
    assert_eq!(add(t, "Author"), Some("THESHIRE\\pgustavo"));
    let registered = events(&file, 106);
    assert_eq!(
        s(registered[0], f::TARGET_RESOURCE),
        Some("\\Microsoft\\Windows\\SoftwareProtectionPlatform\\EventCacheManager")
    );
}

#[test]
fn classic_powershell_from_rendered_message() {
    let file = format!("empire_find_localadmin_smb_svcctl_OpenSCManager_2020-09-22021559{SD}");
    let started = events(&file, 400);
    if started.is_empty() {
        return;
    }
    assert!(started
        .iter()
        .any(|e| s(e, f::TARGET_CMD)
            .is_some_and(|c| c.contains("powershell.exe -noP -sta -w 1 -enc"))));
    let pipeline = events(&file, 800);
    assert!(pipeline
        .iter()
        .any(|e| s(e, f::PRINCIPAL_USERID) == Some("pgustavo")));
    let modules = events(&file, 4103);
    assert!(modules
        .iter()
        .all(|m| s(m, f::LOG_TYPE) == Some("POWERSHELL")));
    assert!(
        modules
            .iter()
            .any(|m| s(m, f::PRINCIPAL_USERID) == Some("pgustavo")
                && s(m, f::PRINCIPAL_CMD).is_some())
    );
}
