//! End-to-end checks of the public API on strings taken from the shared test data's ground
//! truth (service definitions, pipes, process command lines), one hunt question at a time.

use lateral_analysis::*;

#[test]
fn psexec_to_dc_over_smb_pipes() {
    // 401trg add_user: service, binary, pipes.
    let c = classify_service("PSEXESVC", Some("PSEXESVC"), r"%SystemRoot%\PSEXESVC.exe");
    assert_eq!(c.tool, Some(Tool::PsExec));
    for (pipe, host, pid) in [
        (r"\PSEXESVC-VICTIM-PC-2412-stdin", "VICTIM-PC", 2412),
        (r"\PSEXESVC-VICTIM-PC-1212-stdout", "VICTIM-PC", 1212),
        (
            r"\PSEXESVC-02694W-WIN10-13272-stderr",
            "02694W-WIN10",
            13272,
        ),
        (r"\PSEXESVC-WEC01-956-stdin", "WEC01", 956),
        (r"\PSEXESVC-WORKSTATION5-7256-stdin", "WORKSTATION5", 7256),
        (r"\PSEXESVC-FS03VULN-2124-stdout", "FS03VULN", 2124),
    ] {
        let p = parse_exec_pipe(pipe).unwrap();
        assert_eq!(
            (p.service.as_str(), p.client_host.as_str(), p.client_pid),
            ("PSEXESVC", host, pid)
        );
        assert_eq!(tool_for_pipe(pipe), Some(Tool::PsExec));
    }
    assert_eq!(tool_for_pipe(r"\PSEXESVC"), Some(Tool::PsExec));
}

#[test]
fn renamed_psexec_service_keeps_its_pipe_shape() {
    for (pipe, service, host) in [
        (r"\svchost-MSEDGEWIN10-8116-stdin", "svchost", "MSEDGEWIN10"),
        ("blabla-NLLT108334-37048-stdout", "blabla", "NLLT108334"),
    ] {
        let p = parse_exec_pipe(pipe).unwrap();
        assert_eq!(
            (p.service.as_str(), p.client_host.as_str()),
            (service, host)
        );
        assert_eq!(tool_for_pipe(pipe), Some(Tool::PsExec));
    }
    assert_eq!(tool_for_pipe(r"\svchost"), None);
    assert_eq!(tool_for_pipe(r"\blabla"), None);
}

#[test]
fn local_psexec_lsa_dump_is_not_remote() {
    let cl = r"C:\Users\wardog\Downloads\PSTools\PsExec.exe  -accepteula -s reg save HKLM\security\policy\secrets C:\Users\wardog\AppData\Local\Temp\secrets";
    assert!(remote_targets(cl).is_empty());
    assert!(mask_credentials(cl).exposures.is_empty());
}

#[test]
fn metasploit_psexec_services() {
    let ip = "%COMSPEC% /b /c start /b /min powershell.exe -nop -w hidden -c if([IntPtr]::Size -eq 4){$b='powershell.exe'}else{$b=$env:windir+'\\syswow64\\WindowsPowerShell\\v1.0\\powershell.exe'};$s=New-Object System.Diagnostics.ProcessStartInfo;$s.FileName=$b;$s.Arguments='-nop -w hidden -c &([scriptblock]::create((New-Object System.IO.StreamReader(New-Object System.IO.Compression.GzipStream((New-Object System.IO.MemoryStream(,[System.Convert]::FromBase64String(''H4sIAIfj8FkCA71W''))),[System.IO.Compression.CompressionMode]::Decompress))).ReadToEnd()))'";
    let c = classify_service("PLYteGjx", Some("PjWdDLoqmAogKpSE"), ip);
    assert_eq!(c.tool, Some(Tool::MetasploitPsexec));
    assert!(!c.local_privesc);
    // The notes' truncated gzip payload yields nothing printable, and nothing panics.
    assert!(decode_base64_payloads(ip).is_empty());

    let hello = "%%COMSPEC%% /b /c start /b /min powershell.exe -nop -w hidden -noni -c \"if([IntPtr]::Size -eq 4){$b='powershell.exe'}else{$b=$env:windir+'\\syswow64\\WindowsPowerShell\\v1.0\\powershell.exe'}";
    assert_eq!(
        classify_service("hello", None, hello).tool,
        Some(Tool::MetasploitPsexec)
    );
}

#[test]
fn empire_invoke_psexec_and_smbexec() {
    let updater = r"%COMSPEC% /C start /b C:\Windows\System32\WindowsPowershell\v1.0\powershell -noP -sta -w 1 -enc  SQBmACgAJABQAFMAVgBFAHIAUwBpAE8AbgBUAGEAYgBsAEUA";
    let c = classify_service("Updater", None, updater);
    assert_eq!(c.tool, Some(Tool::EmpireInvokePsExec));
    assert!(c.traits.contains(&ServiceTrait::EncodedPowerShell));
    assert!(!c
        .traits
        .iter()
        .any(|t| matches!(t, ServiceTrait::RandomName(_))));
    let d = decode_powershell(updater).unwrap();
    assert_eq!(d.decoded, "If($PSVErSiOnTablE");

    let smbexec = r#"%COMSPEC% /C "%COMSPEC% /C start /b C:\Windows\System32\WindowsPowershell\v1.0\powershell -noP -sta -w 1 -enc  SQBGACgAJABQAFMAVgBFAFIAcwBpAG8ATgBUAEEAQgBMAEUA"#;
    let c = classify_service(
        "PGUJLOAKFQFVOMHGFQPX",
        Some("PGUJLOAKFQFVOMHGFQPX"),
        smbexec,
    );
    assert_eq!(c.tool, Some(Tool::InvokeSmbExec));
    assert_eq!(
        decode_powershell(smbexec).unwrap().decoded,
        "IF($PSVERsioNTABLE"
    );

    // Empire Invoke-WMI: the WmiPrvSE child.
    let wmi = r"C:\Windows\System32\WindowsPowershell\v1.0\powershell -noP -sta -w 1 -enc  SQBGACgAJABQAFMAVgBlAHIAcwBJAG8ATgBUAEEAQgBsAGUA";
    assert_eq!(
        decode_powershell(wmi).unwrap().decoded,
        "IF($PSVersIoNTABle"
    );
}

#[test]
fn zerologon_follow_up_services_have_random_names_but_no_known_tool() {
    for (name, ip) in [
        (
            "MNHHCLPEEJKJIICCIEFH",
            "powershell.exe -c Reset-ComputerMachinePassword",
        ),
        (
            "CFJHMBFNJJBCDPCCHNOA",
            r#""-Ctaskkill /f /im explorer.exe""#,
        ),
    ] {
        let c = classify_service(name, Some(name), ip);
        assert_eq!(c.tool, None);
        assert!(
            matches!(c.traits.as_slice(), [ServiceTrait::RandomName(_)]),
            "{c:?}"
        );
    }
}

#[test]
fn impacket_shells_on_the_target() {
    let wmi = r"cmd.exe /Q /c whoami /all 1> \\127.0.0.1\ADMIN$\__1556656369.7 2>&1";
    let o = impacket_output(wmi).unwrap();
    assert_eq!(o.tool, Tool::ImpacketWmiexec);
    assert!(o.loopback);
    assert_eq!(
        impacket_exec_tool_for_parent(r"C:\Windows\System32\wbem\WmiPrvSE.exe"),
        Some(Tool::ImpacketWmiexec)
    );
    let dcom =
        r#""C:\Windows\System32\cmd.exe" /Q /c cd \ 1> \\127.0.0.1\ADMIN$\__1556656511.61 2>&1"#;
    assert_eq!(impacket_output(dcom).unwrap().file, "__1556656511.61");
    assert_eq!(
        impacket_exec_tool_for_parent(r"C:\Windows\system32\mmc.exe"),
        Some(Tool::ImpacketDcomexec)
    );
    // The loopback host in the output path is not a lateral-movement peer.
    assert!(remote_targets(wmi).is_empty());

    let smbmap = r"cmd.exe /Q /c c:\windows\system32\rundll32.exe c:\programdata\7okjer,#1 1> \\127.0.0.1\C$\WqEVwJZYOe 2>&1";
    assert_eq!(impacket_output(smbmap).unwrap().tool, Tool::Smbmap);
    assert!(is_random_name("WqEVwJZYOe"));

    let at = r"/C tasklist > %windir%\Temp\CYAlyNSS.tmp 2>&1";
    assert_eq!(impacket_output(at).unwrap().tool, Tool::ImpacketAtexec);
    assert!(is_random_name("CYAlyNSS"));
}

#[test]
fn benign_services_and_tasks() {
    for (name, ip) in [
        ("remotesvc", "calc.exe"),
        ("spoolsv", "cmd.exe"),
        (
            "EventCacheManager",
            r"C:\Windows\system32\cmd.exe /C C:\Windows\System32\notepad.exe",
        ),
    ] {
        let c = classify_service(name, None, ip);
        assert_eq!(c.tool, None, "{name}");
        assert!(!c.local_privesc);
        assert!(!c
            .traits
            .iter()
            .any(|t| matches!(t, ServiceTrait::RandomName(_))));
    }
    assert!(!is_random_name("LMST"));
    assert!(!is_random_name("OTR"));
    assert!(!is_random_name("Cyb3rWard0g"));
}

#[test]
fn winpwnage_is_local_privilege_escalation() {
    let c = classify_service(
        "WinPwnage",
        None,
        r"%COMSPEC% /c ping -n 1 127.0.0.1 >nul && echo 'WinPwnage' > \\.\pipe\WinPwnagePipe",
    );
    assert!(c.local_privesc);
    assert_eq!(c.tool, None);
}

#[test]
fn dcom_mmc20_from_powershell() {
    let cl = r#"powershell -c "$a=[activator]::CreateInstance([type]::GetTypeFromProgID('MMC20.Application','192.168.56.101'));$a.Document.ActiveView.ExecuteShellCommand('cmd',$null,'/c hostname','7')""#;
    let t = remote_targets(cl);
    assert_eq!(t.len(), 1);
    assert_eq!(
        (t[0].host.as_str(), &t[0].tool),
        ("192.168.56.101", &Tool::Mmc20)
    );
}

#[test]
fn serialised_forms() {
    let c = classify_service(
        "BTOBTO",
        None,
        r"%COMSPEC% /Q /c echo cd ^> \\127.0.0.1\C$\__output 2^>^&1 > %TEMP%\execute.bat & %COMSPEC% /Q /c %TEMP%\execute.bat & del %TEMP%\execute.bat",
    );
    let json = serde_json::to_value(&c).unwrap();
    assert_eq!(json["tool"], "ImpacketSmbexec");
    assert!(json["traits"]
        .as_array()
        .unwrap()
        .contains(&"BatchAndDelete".into()));
    let r = serde_json::to_value(ServiceTrait::RandomName("why".into())).unwrap();
    assert_eq!(r["RandomName"], "why");
    let t = serde_json::to_value(Tool::Other("net use".into())).unwrap();
    assert_eq!(t["Other"], "net use");
    let p =
        serde_json::to_value(parse_exec_pipe("PSEXESVC-VICTIM-PC-2412-stdin").unwrap()).unwrap();
    assert_eq!(p["client_pid"], 2412);
}
