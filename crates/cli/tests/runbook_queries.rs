//! The runbook's seed queries must parse and run verbatim and return exactly the expected
//! events from the shared attack data (facts from GROUND_TRUTH.md).

mod common;
use common::*;

#[test]
fn psexec_service_install_returns_exactly_the_two_psexesvc_installs() {
    let Some(data) = shared_data() else { return };
    let ev = search_events(
        &[&data],
        r#"metadata.product_event_type = "ServiceInstalled" AND target.process.file.full_path CONTAINS "PSEXESVC.exe""#,
    );
    // Only the loopback PsExec of cmd_psexec_lsa_secrets_dump installs PSEXESVC (4697 + 7045).
    let mut ids: Vec<&str> = ev
        .iter()
        .map(|e| s(e, "metadata.product_event_type"))
        .collect();
    ids.sort();
    assert_eq!(ids, ["4697", "7045"], "{ev:#?}");
    for e in &ev {
        assert_eq!(s(e, "target.application"), "PSEXESVC");
        assert_eq!(
            s(e, "target.process.command_line"),
            r"%SystemRoot%\PSEXESVC.exe"
        );
        assert!(s(e, "lateral.source_file").contains("cmd_psexec_lsa_secrets_dump"));
        assert_eq!(
            s(e, "observer.hostname").to_ascii_lowercase(),
            "workstation5"
        );
    }
}

#[test]
fn services_exe_children_are_all_services_children() {
    let Some(data) = shared_data() else { return };
    let ev = search_events(
        &[&data],
        r#"metadata.event_type = "PROCESS_LAUNCH" AND principal.process.file.full_path = "C:\Windows\System32\services.exe" AND target.process.file.full_path NOT IN ("standard_service_process1.exe", "standard_service_process2.exe")"#,
    );
    assert!(!ev.is_empty());
    for e in &ev {
        assert_eq!(s(e, "metadata.event_type"), "PROCESS_LAUNCH");
        assert!(
            s(e, "principal.process.file.full_path")
                .to_ascii_lowercase()
                .ends_with(r"\system32\services.exe"),
            "{e:#}"
        );
    }
    let cmds: Vec<String> = ev
        .iter()
        .map(|e| s(e, "target.process.command_line").to_string())
        .collect();
    // PsExec's service started by services.exe (remote_file_copy_system_proc_file_write_sysmon_11).
    assert!(
        cmds.iter().any(|c| c == r"C:\WINDOWS\PSEXESVC.exe"),
        "{cmds:#?}"
    );
    // Empire Invoke-PsExec and Invoke-SMBExec: services.exe -> cmd.exe ... powershell -enc.
    assert!(cmds
        .iter()
        .any(|c| c.contains("SQBmACgAJABQAFMAVgBFAHIAUwBpAE8AbgBUAGEAYgBsAEUA")));
    assert!(cmds
        .iter()
        .any(|c| c.contains("SQBGACgAJABQAFMAVgBFAFIAcwBpAG8ATgBU")));
    // Metasploit psexec (service `hello`): services.exe -> cmd.exe /b /c start /b /min powershell.
    assert!(cmds
        .iter()
        .any(|c| c.contains("/b /c start /b /min powershell.exe")));
}

#[test]
fn wmiprvse_spawning_shells() {
    let Some(data) = shared_data() else { return };
    let ev = search_events(
        &[&data],
        r#"metadata.event_type = "PROCESS_LAUNCH" AND principal.process.file.full_path = "C:\\Windows\\System32\\wbem\\WmiPrvSE.exe" AND target.process.file.full_path IN ("cmd.exe", "powershell.exe")"#,
    );
    for e in &ev {
        let child = s(e, "target.process.file.full_path").to_ascii_lowercase();
        assert!(
            child.ends_with(r"\cmd.exe") || child.ends_with(r"\powershell.exe"),
            "{child}"
        );
        assert!(s(e, "principal.process.file.full_path")
            .to_ascii_lowercase()
            .ends_with(r"\wbem\wmiprvse.exe"));
    }
    let cmds: Vec<&str> = ev
        .iter()
        .map(|e| s(e, "target.process.command_line"))
        .collect();
    assert!(cmds.contains(&r"cmd.exe /Q /c whoami /all 1> \\127.0.0.1\ADMIN$\__1556656369.7 2>&1"));
    assert!(cmds.contains(
        &r"cmd.exe /Q /c c:\windows\system32\rundll32.exe c:\programdata\7okjer,#1 1> \\127.0.0.1\C$\WqEVwJZYOe 2>&1"
    ));
    assert!(cmds
        .iter()
        .any(|c| c.contains("-enc  SQBGACgAJABQAFMAVgBlAHIAcwBJAG8ATgBUAEEAQgBsAGUA")));
    // wmiexec (3 cmd.exe), smbmap (3), Empire WMI (Sysmon 1 + 4688), PoisonHandler (1).
    assert_eq!(ev.len(), 9, "{cmds:#?}");
}

#[test]
fn wmic_node_process_call_create() {
    let q = r#"metadata.event_type = "PROCESS_LAUNCH" AND principal.process.command_line CONTAINS "wmic" AND principal.process.command_line CONTAINS "/node:" AND principal.process.command_line CONTAINS "process call create""#;
    // The demo pivot host runs `cmd.exe /c "wmic /node:DC01 process call create ..."`; its child
    // is WMIC.exe, whose parent command line carries the wmic call.
    let demo = repo_root().join("demo");
    let ev = search_events(&[&demo], q);
    assert_eq!(ev.len(), 1, "{ev:#?}");
    assert!(s(&ev[0], "target.process.file.full_path").ends_with(r"\WMIC.exe"));
    let Some(data) = shared_data() else { return };
    // No public sample logs a wmic command line (LM_WMIC_4648_rpcss has 4688 without command lines).
    assert!(search_events(&[&data], q).is_empty());
}

#[test]
fn powershell_wmi_methods() {
    let Some(data) = shared_data() else { return };
    let q = r#"metadata.event_type = "PROCESS_LAUNCH" AND target.process.file.full_path CONTAINS "powershell.exe" AND (target.process.command_line CONTAINS "Invoke-WmiMethod" OR target.process.command_line CONTAINS "Invoke-CimMethod")"#;
    // Empire's WMI stager hides its call in -enc; no sample spells Invoke-WmiMethod in clear.
    assert!(search_events(&[&data], q).is_empty());
    let broad = r#"metadata.event_type = "PROCESS_LAUNCH" AND target.process.file.full_path CONTAINS "powershell.exe""#;
    assert!(
        !search_events(&[&data], broad).is_empty(),
        "the same query without the method finds powershell"
    );
}

#[test]
fn smb_connections_to_10_0_2_18() {
    let Some(data) = shared_data() else { return };
    let ev = search_events(
        &[&data],
        r#"metadata.event_type = "NETWORK_CONNECTION" AND target.port = 445 AND target.ip = "10.0.2.18""#,
    );
    let mut sources: Vec<&str> = ev.iter().map(|e| s(e, "principal.ip")).collect();
    sources.sort();
    // remshell over named pipe (10.0.2.17), meterpreter psexec, wmiexec and dcomexec (10.0.2.19),
    // smbmap upload + exec (10.0.2.15, five connections).
    assert_eq!(
        sources,
        [
            "10.0.2.15",
            "10.0.2.15",
            "10.0.2.15",
            "10.0.2.15",
            "10.0.2.15",
            "10.0.2.17",
            "10.0.2.19",
            "10.0.2.19",
            "10.0.2.19"
        ]
    );
    for e in &ev {
        assert_eq!(get(e, "target.port").as_i64(), Some(445));
    }
}
