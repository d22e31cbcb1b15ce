//! The facts of GROUND_TRUTH.md §2 on the shared captures. The data is looked up at
//! `../shared/data` from the repository root (or `LATERAL_SHARED_DATA`); the tests print a note
//! and pass when it is absent, unless `LATERAL_REQUIRE_SHARED=1`.

use std::path::PathBuf;

use lateral_model::{f, vocab::event_type as et, UdmEvent};
use lateral_pcap::{read_capture_file, summarize, CaptureReport};

/// The shared captures folder (skip or fail by `lateral-testdata`'s rule when absent).
fn shared() -> Option<PathBuf> {
    lateral_testdata::shared("pcap")
}

fn read(rel: &str) -> Option<CaptureReport> {
    let root = shared()?;
    let r = read_capture_file(&root.join(rel)).expect("capture reads");
    Some(r)
}

fn frame(e: &UdmEvent) -> i64 {
    e.int(f::RECORD_NUMBER).unwrap_or(-1)
}

fn of_type<'a>(r: &'a CaptureReport, t: &str) -> Vec<&'a UdmEvent> {
    r.events
        .iter()
        .filter(|e| e.str(f::EVENT_TYPE) == Some(t))
        .collect()
}

fn by_pet<'a>(r: &'a CaptureReport, pet: &str) -> Vec<&'a UdmEvent> {
    r.events
        .iter()
        .filter(|e| e.str(f::PRODUCT_EVENT_TYPE) == Some(pet))
        .collect()
}

fn add<'a>(e: &'a UdmEvent, k: &str) -> Option<&'a str> {
    e.additional.get(k).map(String::as_str)
}

fn micros(s: &str) -> i64 {
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f")
        .expect("time")
        .and_utc()
        .timestamp_micros()
}

#[test]
fn psexec_add_user_over_smb_pipe() {
    let Some(r) = read("401trg/20171220_smb_psexec_add_user.pcap") else {
        return;
    };
    assert_eq!(r.stats.frames, 400);
    assert!(r.issues.is_empty(), "unexpected issues: {:?}", r.issues);
    // Kerberos AP-REQ cifs/dc1.contoso.local at frames 16 and 146.
    let krb: Vec<i64> = by_pet(&r, "KRB_AP_REQ")
        .iter()
        .filter(|e| e.str(f::TARGET_URL) == Some("cifs/dc1.contoso.local"))
        .map(|e| frame(e))
        .collect();
    assert_eq!(krb, vec![16, 146]);
    // Tree \\dc1\ADMIN$ at frame 19 (and again for the cleanup at 296).
    let admin: Vec<i64> = by_pet(&r, "SMB_TREE_CONNECT")
        .iter()
        .filter(|e| e.str(f::TARGET_RESOURCE) == Some("\\\\dc1\\ADMIN$"))
        .map(|e| frame(e))
        .collect();
    assert_eq!(admin, vec![19, 296]);
    // PSEXESVC.exe: 145 568 bytes starting MZ, created at frame 21.
    let drop = of_type(&r, et::FILE_CREATION);
    let exe = drop
        .iter()
        .find(|e| e.str(f::TARGET_FILE_PATH) == Some("\\\\dc1\\ADMIN$\\PSEXESVC.exe"))
        .expect("PSEXESVC.exe written");
    assert_eq!(frame(exe), 21);
    assert_eq!(add(exe, "bytes_written"), Some("145568"));
    assert_eq!(add(exe, "pe_header_seen"), Some("true"));
    assert_eq!(exe.str(f::PRINCIPAL_IP), Some("192.168.10.31"));
    assert_eq!(exe.str(f::TARGET_IP), Some("192.168.10.10"));
    // Opnum 45 RCreateServiceWOW64W at frame 160.
    let svc = of_type(&r, et::SERVICE_CREATION);
    assert_eq!(svc.len(), 1);
    let s = svc[0];
    assert_eq!(frame(s), 160);
    assert_eq!(
        s.timestamp_micros(),
        Some(micros("2017-10-09 16:45:00.282353"))
    );
    assert_eq!(
        s.str(f::PRODUCT_EVENT_TYPE),
        Some("svcctl.RCreateServiceWOW64W")
    );
    assert_eq!(add(s, "rpc_opnum"), Some("45"));
    assert_eq!(s.str(f::TARGET_APPLICATION), Some("PSEXESVC"));
    assert_eq!(add(s, "service_display_name"), Some("PSEXESVC"));
    assert_eq!(s.str(f::TARGET_CMD), Some("%SystemRoot%\\PSEXESVC.exe"));
    assert_eq!(add(s, "service_start_type"), Some("demand start (3)"));
    assert_eq!(add(s, "service_type"), Some("0x10"));
    assert_eq!(s.str(f::ACTION), Some("ALLOW"));
    assert_eq!(s.str(f::APP_PROTOCOL), Some("DCERPC"));
    assert_eq!(s.str(f::SOURCE_FORMAT), Some("PCAP"));
    assert_eq!(s.str(f::LOG_TYPE), Some("PCAP"));
    // Start, stop (ControlService 1), delete, and the file deleted at frame 300.
    assert!(of_type(&r, et::SERVICE_START)
        .iter()
        .any(|e| frame(e) == 166 && e.str(f::TARGET_APPLICATION) == Some("PSEXESVC")));
    assert!(of_type(&r, et::SERVICE_STOP)
        .iter()
        .any(|e| frame(e) == 280 && add(e, "service_control") == Some("1")));
    assert!(by_pet(&r, "svcctl.RDeleteService")
        .iter()
        .any(|e| frame(e) == 288));
    assert!(of_type(&r, "FILE_DELETION").iter().any(|e| frame(e) == 300));
    // Pipes.
    let pipes: Vec<&str> = by_pet(&r, "SMB_PIPE_OPEN")
        .iter()
        .filter_map(|e| add(e, "named_pipe"))
        .collect();
    for p in [
        "svcctl",
        "PSEXESVC",
        "PSEXESVC-VICTIM-PC-2412-stdin",
        "PSEXESVC-VICTIM-PC-2412-stdout",
        "PSEXESVC-VICTIM-PC-2412-stderr",
    ] {
        assert!(pipes.contains(&p), "pipe {p} missing from {pipes:?}");
    }
    // Events are ordered by time then frame.
    let keys: Vec<(i64, i64)> = r
        .events
        .iter()
        .map(|e| (e.timestamp_micros().unwrap_or(0), frame(e)))
        .collect();
    assert!(keys.windows(2).all(|w| w[0] <= w[1]));

    let sum = summarize(&r.events);
    assert_eq!(sum.attacker_ip.as_deref(), Some("192.168.10.31"));
    assert_eq!(
        sum.attacker_name.as_ref().and_then(|h| h.name.as_deref()),
        Some("VICTIM-PC")
    );
    let pivot = sum.first_pivot.as_ref().expect("pivot");
    assert_eq!(pivot.ip, "192.168.10.10");
    assert_eq!(pivot.name.as_deref(), Some("dc1.contoso.local"));
    let exe = sum.service_executable.as_ref().expect("service exe");
    assert_eq!(
        (exe.path.as_str(), exe.bytes, exe.pe_header),
        ("\\\\dc1\\ADMIN$\\PSEXESVC.exe", 145_568, true)
    );
    assert_eq!(sum.services.len(), 1);
    assert!(sum.services[0].started && sum.services[0].deleted);
    assert_eq!(
        sum.account, None,
        "Kerberos without KDC traffic hides the account"
    );
    let admin = sum
        .shares
        .iter()
        .find(|s| s.share == "\\\\dc1\\ADMIN$")
        .expect("ADMIN$ use");
    assert!(admin
        .used_for
        .iter()
        .any(|u| u.starts_with("write PSEXESVC.exe (145568 bytes, PE")));
    let ipc = sum
        .shares
        .iter()
        .find(|s| s.share == "\\\\dc1\\IPC$")
        .expect("IPC$ use");
    assert!(ipc.used_for.iter().any(|u| u.contains("svcctl")));
}

#[test]
fn psexec_mimikatz_ticket_dump_svcctl_over_tcp_encrypted() {
    let Some(r) = read("401trg/20171220_smb_psexec_mimikatz_ticket_dump.pcap") else {
        return;
    };
    assert_eq!(r.stats.frames, 5305);
    let svc = of_type(&r, et::SERVICE_CREATION);
    assert_eq!(svc.len(), 1);
    let s = svc[0];
    assert_eq!(frame(s), 78);
    assert_eq!(add(s, "rpc_opnum"), Some("45"));
    assert_eq!(add(s, "stub_encrypted"), Some("true"));
    // The dynamic port learned from the endpoint mapper.
    assert_eq!(s.int(f::TARGET_PORT), Some(49155));
    assert_eq!(add(s, "rpc_via"), Some("ncacn_ip_tcp"));
    assert!(by_pet(&r, "KRB_TGS_REP")
        .iter()
        .any(|e| frame(e) == 66 && e.str(f::TARGET_USERID) == Some("RonHD")));
    let sum = summarize(&r.events);
    assert_eq!(
        sum.first_pivot.as_ref().map(|h| h.ip.as_str()),
        Some("192.168.10.30")
    );
    assert_eq!(sum.account.as_deref(), Some("CONTOSO.LOCAL\\RonHD"));
    assert_eq!(
        sum.service_executable.as_ref().map(|f| f.path.as_str()),
        Some("\\\\admin-pc\\ADMIN$\\PSEXESVC.exe")
    );
    let pipes: Vec<&str> = by_pet(&r, "SMB_PIPE_OPEN")
        .iter()
        .filter_map(|e| add(e, "named_pipe"))
        .collect();
    assert!(pipes.contains(&"PSEXESVC-VICTIM-PC-1212-stdin"));
    assert!(sum
        .visibility_gaps
        .iter()
        .any(|g| g.contains("encrypted stubs")));
}

#[test]
fn metasploit_psexec_smb1_pass_the_hash() {
    let Some(r) = read("401trg/20171220_smb_metasploit_psexec_pth_download_meterpreter.pcap")
    else {
        return;
    };
    let login = by_pet(&r, "NTLMSSP_AUTH")
        .into_iter()
        .find(|e| e.str(f::APP_PROTOCOL) == Some("SMB"))
        .expect("NTLM logon");
    assert_eq!(frame(login), 11);
    assert_eq!(login.str(f::TARGET_USERID), Some("JeffV"));
    assert_eq!(login.str(f::TARGET_DOMAIN), Some("contoso.local"));
    assert_eq!(login.str(f::PRINCIPAL_HOSTNAME), Some("ybaARon55QykXrgu"));
    assert_eq!(login.str(f::AUTH_DETAILS), Some("NTLM NTLMv2"));
    assert_eq!(login.str(f::TARGET_HOSTNAME), Some("VICTIM-PC"));
    assert_eq!(
        add(login, "server_dns_name"),
        Some("Victim-PC.contoso.local")
    );
    let conn = of_type(&r, et::NETWORK_CONNECTION)
        .into_iter()
        .find(|e| e.int(f::TARGET_PORT) == Some(445))
        .expect("SMB connection");
    assert_eq!(add(conn, "smb_dialect"), Some("SMB1"));
    let bind = by_pet(&r, "DCERPC_BIND")
        .into_iter()
        .find(|e| e.str(f::TARGET_APPLICATION) == Some("svcctl"))
        .expect("svcctl bind");
    assert_eq!(add(bind, "rpc_context_items"), Some("12"));
    assert_eq!(add(bind, "rpc_context_id"), Some("11"));
    let svc = of_type(&r, et::SERVICE_CREATION);
    assert_eq!(svc.len(), 1);
    let s = svc[0];
    assert_eq!(frame(s), 64, "the request completes in the last WriteAndX");
    assert_eq!(
        add(s, "first_frame"),
        Some("46"),
        "the request starts in the first WriteAndX"
    );
    assert_eq!(add(s, "rpc_opnum"), Some("12"));
    assert_eq!(s.str(f::TARGET_APPLICATION), Some("PLYteGjx"));
    assert_eq!(add(s, "service_display_name"), Some("PjWdDLoqmAogKpSE"));
    let cmd = s.str(f::TARGET_CMD).expect("binary path");
    assert!(cmd.starts_with("%COMSPEC% /b /c start /b /min powershell.exe -nop -w hidden -c if([IntPtr]::Size -eq 4){$b='powershell.exe'}"), "{cmd}");
    assert!(cmd.contains("FromBase64String"));
    assert_eq!(s.str(f::TARGET_PATH), Some("%COMSPEC%"));
    assert_eq!(s.str(f::PRINCIPAL_USERID), Some("JeffV"));
    assert_eq!(s.str(f::PRINCIPAL_IP), Some("192.168.10.50"));
    let sum = summarize(&r.events);
    assert_eq!(sum.attacker_ip.as_deref(), Some("192.168.10.50"));
    assert_eq!(sum.account.as_deref(), Some("contoso.local\\JeffV"));
    let pivot = sum.first_pivot.expect("pivot");
    assert_eq!(
        (pivot.ip.as_str(), pivot.name.as_deref()),
        ("192.168.10.31", Some("VICTIM-PC"))
    );
    assert_eq!(pivot.name_source.as_deref(), Some("NTLM target info"));
}

#[test]
fn at_schedule_mid_stream_job_add() {
    let Some(r) = read("401trg/20171220_smb_at_schedule.pcap") else {
        return;
    };
    let jobs = of_type(&r, et::SCHEDULED_TASK_CREATION);
    assert_eq!(jobs.len(), 1);
    let j = jobs[0];
    assert_eq!(frame(j), 9);
    assert_eq!(j.str(f::TARGET_CMD), Some("c:\\mimikatz.exe"));
    assert_eq!(add(j, "at_server"), Some("\\\\admin-pc"));
    assert_eq!(j.str(f::ACTION), Some("ALLOW"));
    let conn = of_type(&r, et::NETWORK_CONNECTION)
        .into_iter()
        .next()
        .expect("flow");
    assert_eq!(add(conn, "mid_stream"), Some("true"));
    let pipe = by_pet(&r, "SMB_PIPE_OPEN")
        .into_iter()
        .next()
        .expect("atsvc pipe");
    assert_eq!(add(pipe, "named_pipe"), Some("atsvc"));
    assert_eq!(add(pipe, "tree_inferred"), Some("true"));
}

#[test]
fn dcerpc_smb_ctxid_job_add_failed() {
    let Some(r) = read("suricata-verify/tests/dcerpc/dcerpc-smb-ctxid/input.pcap") else {
        return;
    };
    assert!(
        of_type(&r, et::SCHEDULED_TASK_CREATION).is_empty(),
        "a failed JobAdd creates nothing"
    );
    let j = by_pet(&r, "atsvc.NetrJobAdd")
        .into_iter()
        .next()
        .expect("JobAdd");
    assert_eq!(frame(j), 25);
    assert_eq!(
        j.str(f::TARGET_CMD),
        Some("\"cmd /c whoami.exe > c:\\windows\\temp\\at.txt\"")
    );
    assert_eq!(add(j, "rpc_status"), Some("0x32"));
    assert_eq!(j.str(f::ACTION), Some("FAIL"));
    assert_eq!(j.str(f::PRINCIPAL_USERID), Some("Administrator"));
    assert_eq!(j.str(f::PRINCIPAL_HOSTNAME), Some("GURDIL-PC1"));
    let bind = by_pet(&r, "DCERPC_BIND").into_iter().next().expect("bind");
    assert_eq!(
        (add(bind, "rpc_context_id"), add(bind, "rpc_context_items")),
        (Some("1"), Some("3"))
    );
}

#[test]
fn bug_5162_two_cleartext_services() {
    let Some(r) = read("suricata-verify/tests/bug-5162/input.pcap") else {
        return;
    };
    let svc = of_type(&r, et::SERVICE_CREATION);
    let got: Vec<(i64, &str, &str)> = svc
        .iter()
        .map(|e| {
            (
                frame(e),
                e.str(f::TARGET_APPLICATION).unwrap_or(""),
                e.str(f::TARGET_CMD).unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (
                2941,
                "MNHHCLPEEJKJIICCIEFH",
                "powershell.exe -c Reset-ComputerMachinePassword"
            ),
            (
                2981,
                "CFJHMBFNJJBCDPCCHNOA",
                "\"-Ctaskkill /f /im explorer.exe\""
            ),
        ]
    );
    for s in &svc {
        assert_eq!(s.str(f::PRINCIPAL_USERID), Some("Administrator"));
        assert_eq!(s.str(f::PRINCIPAL_HOSTNAME), Some("WIN10"));
        assert_eq!(s.str(f::PRINCIPAL_IP), Some("192.168.56.104"));
        assert_eq!(s.str(f::TARGET_IP), Some("192.168.56.102"));
        assert_eq!(add(s, "service_start_type"), Some("demand start (3)"));
    }
    assert!(by_pet(&r, "NTLMSSP_AUTH")
        .iter()
        .any(|e| frame(e) == 2904 && e.str(f::TARGET_USERID) == Some("DC$")));
    let sum = summarize(&r.events);
    assert_eq!(sum.attacker_ip.as_deref(), Some("192.168.56.104"));
    assert_eq!(
        sum.first_pivot.as_ref().and_then(|h| h.name.as_deref()),
        Some("DC")
    );
    assert_eq!(sum.services.len(), 2);
}

#[test]
fn dcom_mmc20_execute_shell_command() {
    let Some(r) = read("suricata-verify/tests/dcerpc/dcerpc-ctxids/input.pcap") else {
        return;
    };
    let act = by_pet(&r, "ISystemActivator.RemoteGetClassObject")
        .into_iter()
        .next()
        .expect("activation");
    assert_eq!(frame(act), 14);
    assert_eq!(act.str(f::TARGET_APPLICATION), Some("MMC20.Application"));
    assert_eq!(
        add(act, "dcom_clsid"),
        Some("49b2791a-b1ae-4c90-9b8e-e860ba07f889")
    );
    let exec = of_type(&r, et::PROCESS_LAUNCH);
    assert_eq!(exec.len(), 1);
    assert_eq!(frame(exec[0]), 516);
    assert_eq!(exec[0].str(f::TARGET_CMD), Some("cmd /c hostname"));
    assert!(by_pet(&r, "NTLMSSP_AUTH").iter().any(|e| frame(e) == 13
        && e.str(f::TARGET_USERID) == Some("Administrator")
        && e.str(f::TARGET_DOMAIN) == Some("PURP")
        && e.str(f::PRINCIPAL_HOSTNAME) == Some("GURDIL-PC1")));
    let sum = summarize(&r.events);
    assert_eq!(sum.attacker_ip.as_deref(), Some("192.168.56.102"));
    assert!(sum
        .remote_actions
        .iter()
        .any(|a| a.text.contains("cmd /c hostname")));
}

#[test]
fn zerologon_svcctl_denied_no_service() {
    let Some(r) = read("suricata-verify/tests/dcerpc/zerologon/input.pcap") else {
        return;
    };
    assert!(of_type(&r, et::SERVICE_CREATION).is_empty());
    let denied: Vec<&UdmEvent> = by_pet(&r, "SMB_CREATE")
        .into_iter()
        .filter(|e| add(e, "named_pipe") == Some("svcctl") && e.str(f::ACTION) == Some("BLOCK"))
        .collect();
    assert!(!denied.is_empty());
    assert!(denied
        .iter()
        .all(|e| e.str(f::SECURITY_SUMMARY) == Some("STATUS_ACCESS_DENIED (0xc0000022)")));
    assert!(by_pet(&r, "NTLMSSP_AUTH").iter().any(|e| frame(e) == 861
        && e.str(f::TARGET_USERID) == Some("administrator")
        && e.str(f::ACTION) == Some("FAIL")));
    let sum = summarize(&r.events);
    assert!(sum.services.is_empty() && sum.remote_actions.is_empty());
}

#[test]
fn net_user_discovery_is_not_execution() {
    let Some(r) = read("401trg/20171220_smb_net_user.pcap") else {
        return;
    };
    for t in [
        et::SERVICE_CREATION,
        et::SCHEDULED_TASK_CREATION,
        et::PROCESS_LAUNCH,
    ] {
        assert!(of_type(&r, t).is_empty(), "{t}");
    }
    let pipes: Vec<&str> = by_pet(&r, "SMB_PIPE_OPEN")
        .iter()
        .filter_map(|e| add(e, "named_pipe"))
        .collect();
    assert_eq!(pipes.iter().filter(|p| **p == "samr").count(), 4);
    assert_eq!(pipes.iter().filter(|p| **p == "lsarpc").count(), 1);
    let conn = of_type(&r, et::NETWORK_CONNECTION)
        .into_iter()
        .next()
        .expect("flow");
    let ops = add(conn, "rpc_ops").expect("rpc ops");
    assert!(
        ops.contains("samr.SamrConnect5") && ops.contains("lsarpc."),
        "{ops}"
    );
    assert!(summarize(&r.events).services.is_empty());
}

#[test]
fn smb_filename_anonymous_c_drop_and_service() {
    let Some(r) = read("suricata-verify/tests/smb-filename/input.pcap") else {
        return;
    };
    let svc = of_type(&r, et::SERVICE_CREATION);
    assert_eq!(svc.len(), 1);
    let s = svc[0];
    assert_eq!(frame(s), 1084);
    assert_eq!(
        s.str(f::TARGET_APPLICATION),
        Some("12zcytvobte007cok1akhmrr_jud32303366jbc3p9x9my1rl9gwtlqfjqx20osk")
    );
    assert_eq!(
        s.str(f::TARGET_CMD),
        Some("C:\\WINDOWS\\12zcytvobte007cok1akhmrr_jud32303366jbc3p9x9my1rl9gwtlqfjqx20osk.exe C:\\WINDOWS\\hbik424zgeokk9qen4582wxohkmu02ijclid3fyg42lpfgdhn1mwc_yty5bdcf3g.exe")
    );
    assert_eq!(add(s, "service_start_type"), Some("auto start (2)"));
    let writes: Vec<(i64, &str)> = of_type(&r, et::FILE_CREATION)
        .iter()
        .filter(|e| e.str(f::TARGET_RESOURCE) == Some("\\\\10.4.30.5\\C$"))
        .map(|e| (frame(e), add(e, "bytes_written").unwrap_or("")))
        .collect();
    assert_eq!(writes, vec![(612, "245760"), (920, "115712")]);
    let sum = summarize(&r.events);
    assert_eq!(sum.attacker_ip.as_deref(), Some("10.4.30.101"));
    assert_eq!(
        sum.first_pivot.as_ref().and_then(|h| h.name.as_deref()),
        Some("PODTRONICS-DC")
    );
    assert!(sum.service_executable.as_ref().is_some_and(|f| f
        .path
        .ends_with("12zcytvobte007cok1akhmrr_jud32303366jbc3p9x9my1rl9gwtlqfjqx20osk.exe")));
}

#[test]
fn mimikatz_copies_are_transfers_not_execution() {
    let Some(r) = read("401trg/20171220_smb_mimikatz_copy.pcap") else {
        return;
    };
    let w = of_type(&r, et::FILE_CREATION)
        .into_iter()
        .find(|e| e.str(f::TARGET_FILE_PATH) == Some("\\\\admin-pc\\c$\\temp\\mimikatz.exe"))
        .expect("upload");
    assert_eq!(frame(w), 57);
    assert_eq!(add(w, "bytes_written"), Some("804352"));
    assert!(of_type(&r, et::SERVICE_CREATION).is_empty());
    let Some(r) = read("401trg/20171220_smb_mimikatz_copy_to_host.pcap") else {
        return;
    };
    let read: Vec<u64> = r
        .events
        .iter()
        .filter(|e| e.str(f::TARGET_FILE_PATH) == Some("\\\\admin-pc\\c$\\temp\\mimikatz.exe"))
        .filter_map(|e| add(e, "bytes_read")?.parse().ok())
        .collect();
    // The whole file (804 352 bytes) comes back from the target: a download, not a drop.
    assert_eq!(read, vec![4096, 804_352]);
    assert!(of_type(&r, et::FILE_CREATION)
        .iter()
        .all(|e| add(e, "bytes_written").is_none()));
}
