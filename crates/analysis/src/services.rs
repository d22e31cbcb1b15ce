//! Classifying installed services (7045 / 4697 / the `Services\<name>\ImagePath` key) by the
//! tool that created them.

use crate::commands::is_loopback_host;
use crate::impacket::{impacket_output, looks_generated};
use crate::names::random_name_reason;
use crate::powershell::{decode_powershell, has_encoded_switch};
use crate::text::{basename, cap, program_name, MAX_INPUT};
use crate::tool::Tool;
use regex::Regex;
use serde::Serialize;
use std::sync::LazyLock;

/// What a service definition betrays.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceClass {
    /// The tool that installs services looking like this one, when one is recognised.
    pub tool: Option<Tool>,
    /// Every suspicious trait found, in a fixed order.
    pub traits: Vec<ServiceTrait>,
    /// The service is a local privilege escalation (named-pipe impersonation, "getsystem"),
    /// not lateral movement: the account that installed it was already on the host.
    pub local_privesc: bool,
}

/// A suspicious trait of a service definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum ServiceTrait {
    /// Named `PSEXESVC` or running `PSEXESVC.exe`.
    PsExecService,
    /// The "binary" is `%COMSPEC%` / `cmd.exe`: the service runs a command line.
    ComspecLauncher,
    /// Runs PowerShell with an encoded command.
    EncodedPowerShell,
    /// Runs PowerShell with a hidden window.
    HiddenPowerShell,
    /// Writes to or runs from an administrative share of the host itself (`\\127.0.0.1\C$`).
    LoopbackAdminShare,
    /// The service (or display) name looks generated; the text says why.
    RandomName(String),
    /// Writes a batch file, runs it and deletes it.
    BatchAndDelete,
    /// Echoes into a named pipe (`echo x > \\.\pipe\x`).
    NamedPipeEcho,
    /// The binary is on a UNC path.
    UncImagePath,
    /// Runs from a temporary or world-writable folder.
    TempOrPublicPath,
    /// Runs `rundll32`.
    Rundll32,
}

impl ServiceTrait {
    /// One line explaining the trait to an analyst.
    pub fn describe(&self) -> String {
        match self {
            ServiceTrait::PsExecService => {
                "PsExec's service (PSEXESVC): a remote PsExec client ran a command here".into()
            }
            ServiceTrait::ComspecLauncher => {
                "the service binary is cmd.exe (%COMSPEC%): it runs a command line, as remote-execution tools do"
                    .into()
            }
            ServiceTrait::EncodedPowerShell => {
                "runs PowerShell with an encoded command (-enc), hiding the script".into()
            }
            ServiceTrait::HiddenPowerShell => "runs PowerShell in a hidden window".into(),
            ServiceTrait::LoopbackAdminShare => {
                "sends output through an administrative share of the host itself (\\\\127.0.0.1\\C$), as impacket does"
                    .into()
            }
            ServiceTrait::RandomName(reason) => format!("generated name: {reason}"),
            ServiceTrait::BatchAndDelete => {
                "writes a batch file, runs it and deletes it (impacket smbexec style)".into()
            }
            ServiceTrait::NamedPipeEcho => {
                "echoes into a named pipe: named-pipe impersonation for SYSTEM (local privilege escalation, e.g. Metasploit getsystem)"
                    .into()
            }
            ServiceTrait::UncImagePath => "the service binary is on a network share".into(),
            ServiceTrait::TempOrPublicPath => {
                "runs from a temporary or public folder".into()
            }
            ServiceTrait::Rundll32 => "runs a DLL through rundll32".into(),
        }
    }
}

static HIDDEN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)(?:^|\s)[-/]w(?:i(?:n(?:d(?:o(?:w(?:s(?:t(?:y(?:l(?:e)?)?)?)?)?)?)?)?)?)?\s+['"]?(?:h(?:i(?:d(?:d(?:e(?:n)?)?)?)?)?|1)(?:$|[\s'"])"#,
    )
    .expect("static regex")
});

static UNC_SHARE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"\\\\([^\\\s"]+)\\([A-Za-z]\$|(?i:admin)\$)"#).expect("static regex")
});

static PIPE_ECHO: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"(?i)\becho\b[^&|]*>\s*\\\\\.\\pipe\\"#).expect("static regex"));

static TEMP_PUBLIC: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)%te?mp%|\\te?mp\\|\\users\\public\\|\\appdata\\|\\perflogs\\|\$recycle\.bin|\\programdata\\[^\\"\s]+\.(?:exe|dll|bat|cmd|ps1|vbs)\b"#,
    )
    .expect("static regex")
});

static BAT: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?i)\.bat\b").expect("static regex"));
static DEL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)(?:^|[\s&])del\s").expect("static regex"));

/// `%COMSPEC% /C "%COMSPEC% /C …` (Invoke-SMBExec).
static NESTED_COMSPEC: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)^\s*%{1,2}COMSPEC%{1,2}\s+/C\s+"\s*%{1,2}COMSPEC%{1,2}\s+/C\s"#)
        .expect("static regex")
});

/// `%COMSPEC% /C start /b …powershell -noP -sta -w 1 -enc` (Empire launcher).
static EMPIRE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)%{1,2}COMSPEC%{1,2}\s+/C\s+start\s+/b\s+\S*powershell(?:\.exe)?\s.*-sta\b.*\s-w\s+1\s"#,
    )
    .expect("static regex")
});

/// `%COMSPEC% /b /c start /b /min powershell.exe -nop -w hidden` (Metasploit psexec, PowerShell).
static METASPLOIT_PS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)%{1,2}COMSPEC%{1,2}\s+/b\s+/c\s+start\s+/b\s+/min\s+powershell"#)
        .expect("static regex")
});

/// `%systemroot%\<8 letters>.exe`, the whole image path (impacket psexec, Metasploit exe).
static ROOT_EXE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)^"?(?:%systemroot%|[a-z]:\\windows)\\([A-Za-z]{8})\.exe"?$"#)
        .expect("static regex")
});

/// The first token of an image path (a quoted path is taken whole).
fn image_binary(image_path: &str) -> &str {
    let p = image_path.trim_start();
    if let Some(rest) = p.strip_prefix('"') {
        return rest.split('"').next().unwrap_or(rest);
    }
    p.split(char::is_whitespace).next().unwrap_or(p)
}

/// Classifies a service by its name, display name and image path (binary path with
/// arguments, as in 7045 `ImagePath` or 4697 `ServiceFileName`).
///
/// Tools, first match wins:
///
/// 1. `echo … > \\.\pipe\…` → no tool, `local_privesc` (Metasploit getsystem, WinPwnage);
/// 2. `PSEXESVC` / `PSEXESVC.exe` → PsExec; `RemComSvc` → RemCom; `PAExec…` → PAExec;
///    `csexecsvc` → CsExec;
/// 3. `BTOBTO` or the smbexec `echo … ^> \\127.0.0.1\C$\__output … .bat … del` shape →
///    impacket-smbexec;
/// 4. `%COMSPEC% /C "%COMSPEC% /C …` → Invoke-SMBExec (usually with a 20-upper-letter name);
/// 5. `%COMSPEC% /C start /b …powershell -noP -sta -w 1 -enc` → Empire Invoke-PsExec;
/// 6. `%COMSPEC% /b /c start /b /min powershell.exe -nop -w hidden` → Metasploit psexec;
/// 7. image path exactly `%systemroot%\<8 random letters>.exe`: with a 4-letter service name →
///    impacket-psexec, with a generated service or display name → Metasploit psexec.
pub fn classify_service(name: &str, display_name: Option<&str>, image_path: &str) -> ServiceClass {
    let name = cap(name.trim(), MAX_INPUT);
    let display = display_name.map(|d| cap(d.trim(), MAX_INPUT));
    let ip = cap(image_path.trim(), MAX_INPUT);
    let binary = image_binary(ip);
    let bin_base = basename(binary);
    let prog = program_name(binary);
    let lower_ip = ip.to_ascii_lowercase();
    let has_powershell = lower_ip.contains("powershell") || lower_ip.contains("pwsh");

    let mut traits = Vec::new();
    let psexec =
        name.eq_ignore_ascii_case("PSEXESVC") || bin_base.eq_ignore_ascii_case("PSEXESVC.exe");
    if psexec {
        traits.push(ServiceTrait::PsExecService);
    }
    if matches!(prog.as_str(), "%comspec%" | "%%comspec%%" | "cmd") {
        traits.push(ServiceTrait::ComspecLauncher);
    }
    if has_powershell && (has_encoded_switch(ip) || decode_powershell(ip).is_some()) {
        traits.push(ServiceTrait::EncodedPowerShell);
    }
    if has_powershell && HIDDEN.is_match(ip) {
        traits.push(ServiceTrait::HiddenPowerShell);
    }
    let loopback_share = UNC_SHARE.captures_iter(ip).any(|c| {
        c.get(1).is_some_and(|h| {
            is_loopback_host(h.as_str()) || h.as_str().eq_ignore_ascii_case("%COMPUTERNAME%")
        })
    });
    if loopback_share {
        traits.push(ServiceTrait::LoopbackAdminShare);
    }
    if let Some(reason) = random_name_reason(name) {
        traits.push(ServiceTrait::RandomName(format!(
            "service name {name}: {reason}"
        )));
    }
    if let Some(d) = display.filter(|d| !d.eq_ignore_ascii_case(name)) {
        if let Some(reason) = random_name_reason(d) {
            traits.push(ServiceTrait::RandomName(format!(
                "display name {d}: {reason}"
            )));
        }
    }
    if BAT.is_match(ip) && DEL.is_match(ip) {
        traits.push(ServiceTrait::BatchAndDelete);
    }
    let pipe_echo = PIPE_ECHO.is_match(ip);
    if pipe_echo {
        traits.push(ServiceTrait::NamedPipeEcho);
    }
    let unc_binary = unc_binary(binary);
    if unc_binary {
        traits.push(ServiceTrait::UncImagePath);
    }
    if TEMP_PUBLIC.is_match(ip) {
        traits.push(ServiceTrait::TempOrPublicPath);
    }
    if lower_ip.contains("rundll32") {
        traits.push(ServiceTrait::Rundll32);
    }

    if pipe_echo {
        return ServiceClass {
            tool: None,
            traits,
            local_privesc: true,
        };
    }
    let tool = recognise_tool(name, display, ip, bin_base, psexec);
    ServiceClass {
        tool,
        traits,
        local_privesc: false,
    }
}

fn unc_binary(binary: &str) -> bool {
    let b = binary.trim_start_matches('"');
    b.starts_with("\\\\") && !b.starts_with("\\\\?\\") && !b.starts_with("\\\\.\\")
}

fn recognise_tool(
    name: &str,
    display: Option<&str>,
    ip: &str,
    bin_base: &str,
    psexec: bool,
) -> Option<Tool> {
    let starts = |s: &str, prefix: &str| {
        s.get(..prefix.len())
            .is_some_and(|h| h.eq_ignore_ascii_case(prefix))
    };
    if psexec {
        return Some(Tool::PsExec);
    }
    if name.eq_ignore_ascii_case("RemComSvc") || bin_base.eq_ignore_ascii_case("RemComSvc.exe") {
        return Some(Tool::RemCom);
    }
    if starts(name, "PAExec") || starts(bin_base, "PAExec") {
        return Some(Tool::PAExec);
    }
    if name.eq_ignore_ascii_case("csexecsvc") || bin_base.eq_ignore_ascii_case("csexecsvc.exe") {
        return Some(Tool::CsExec);
    }
    if name.eq_ignore_ascii_case("BTOBTO")
        || impacket_output(ip).is_some_and(|o| o.tool == Tool::ImpacketSmbexec)
    {
        return Some(Tool::ImpacketSmbexec);
    }
    if NESTED_COMSPEC.is_match(ip) {
        return Some(Tool::InvokeSmbExec);
    }
    if EMPIRE.is_match(ip) {
        return Some(Tool::EmpireInvokePsExec);
    }
    if METASPLOIT_PS.is_match(ip) {
        return Some(Tool::MetasploitPsexec);
    }
    if let Some(stem) = ROOT_EXE.captures(ip).and_then(|c| c.get(1)) {
        if looks_generated(stem.as_str()) {
            if name.len() == 4 && name.bytes().all(|b| b.is_ascii_alphabetic()) {
                return Some(Tool::ImpacketPsexec);
            }
            let random_display = display.is_some_and(|d| random_name_reason(d).is_some());
            if random_name_reason(name).is_some() || random_display {
                return Some(Tool::MetasploitPsexec);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn psexec_family() {
        let c = classify_service("PSEXESVC", Some("PSEXESVC"), r"%SystemRoot%\PSEXESVC.exe");
        assert_eq!(c.tool, Some(Tool::PsExec));
        assert_eq!(c.traits, vec![ServiceTrait::PsExecService]);
        assert!(!c.local_privesc);
        // Renamed service, binary name still PSEXESVC? No: -r renames both; the name alone is
        // then ordinary and only the pipes tell.
        let c = classify_service("RemComSvc", None, r"%SystemRoot%\System32\RemComSvc.exe");
        assert_eq!(c.tool, Some(Tool::RemCom));
        let c = classify_service(
            "PAExec-4242-ADMIN-PC",
            None,
            r"%SystemRoot%\PAExec-4242-ADMIN-PC.exe",
        );
        assert_eq!(c.tool, Some(Tool::PAExec));
        let c = classify_service("csexecsvc", None, r"C:\Windows\csexecsvc.exe");
        assert_eq!(c.tool, Some(Tool::CsExec));
    }

    #[test]
    fn metasploit_powershell_psexec() {
        let ip = "%COMSPEC% /b /c start /b /min powershell.exe -nop -w hidden -c if([IntPtr]::Size -eq 4){$b='powershell.exe'}else{$b=$env:windir+'\\syswow64\\WindowsPowerShell\\v1.0\\powershell.exe'};$s=New-Object System.Diagnostics.ProcessStartInfo";
        let c = classify_service("PLYteGjx", Some("PjWdDLoqmAogKpSE"), ip);
        assert_eq!(c.tool, Some(Tool::MetasploitPsexec));
        assert!(c.traits.contains(&ServiceTrait::ComspecLauncher));
        assert!(c.traits.contains(&ServiceTrait::HiddenPowerShell));
        let randoms = c
            .traits
            .iter()
            .filter(|t| matches!(t, ServiceTrait::RandomName(_)))
            .count();
        assert_eq!(randoms, 2);
        // Sysmon 13 shows the registry value with doubled percent signs; user-chosen name.
        let ip2 = "%%COMSPEC%% /b /c start /b /min powershell.exe -nop -w hidden -noni -c \"if([IntPtr]::Size -eq 4){$b='powershell.exe'}";
        let c = classify_service("hello", None, ip2);
        assert_eq!(c.tool, Some(Tool::MetasploitPsexec));
        assert!(!c
            .traits
            .iter()
            .any(|t| matches!(t, ServiceTrait::RandomName(_))));
    }

    #[test]
    fn empire_and_invoke_smbexec() {
        let e = r"%COMSPEC% /C start /b C:\Windows\System32\WindowsPowershell\v1.0\powershell -noP -sta -w 1 -enc  SQBmACgAJABQAFMAVgBFAHIAUwBpAE8AbgBUAGEAYgBsAEUA";
        let c = classify_service("Updater", None, e);
        assert_eq!(c.tool, Some(Tool::EmpireInvokePsExec));
        for t in [
            ServiceTrait::ComspecLauncher,
            ServiceTrait::EncodedPowerShell,
            ServiceTrait::HiddenPowerShell,
        ] {
            assert!(c.traits.contains(&t), "{t:?}");
        }
        let s = r#"%COMSPEC% /C "%COMSPEC% /C start /b C:\Windows\System32\WindowsPowershell\v1.0\powershell -noP -sta -w 1 -enc  SQBGACgAJABQAFMAVgBFAFIAcwBpAG8ATgBUAEEAQgBMAEUA""#;
        let c = classify_service("PGUJLOAKFQFVOMHGFQPX", None, s);
        assert_eq!(c.tool, Some(Tool::InvokeSmbExec));
        assert!(c
            .traits
            .iter()
            .any(|t| matches!(t, ServiceTrait::RandomName(_))));
        assert!(c.traits.contains(&ServiceTrait::EncodedPowerShell));
    }

    #[test]
    fn impacket_smbexec_and_psexec() {
        let ip = r"%COMSPEC% /Q /c echo cd ^> \\127.0.0.1\C$\__output 2^>^&1 > %TEMP%\execute.bat & %COMSPEC% /Q /c %TEMP%\execute.bat & del %TEMP%\execute.bat";
        let c = classify_service("BTOBTO", None, ip);
        assert_eq!(c.tool, Some(Tool::ImpacketSmbexec));
        for t in [
            ServiceTrait::ComspecLauncher,
            ServiceTrait::LoopbackAdminShare,
            ServiceTrait::BatchAndDelete,
            ServiceTrait::TempOrPublicPath,
        ] {
            assert!(c.traits.contains(&t), "{t:?}");
        }
        let c = classify_service("rMbd", Some("rMbd"), r"%systemroot%\uvfSgPzk.exe");
        assert_eq!(c.tool, Some(Tool::ImpacketPsexec));
        let c = classify_service(
            "PLYteGjx",
            Some("PjWdDLoqmAogKpSE"),
            r"%SYSTEMROOT%\wHqoXbTz.exe",
        );
        assert_eq!(c.tool, Some(Tool::MetasploitPsexec));
        // 8 letters in the Windows folder but a real name.
        let c = classify_service("Updater", None, r"%systemroot%\updater.exe");
        assert_eq!(c.tool, None);
    }

    #[test]
    fn named_pipe_privesc_is_not_lateral() {
        let c = classify_service(
            "WinPwnage",
            None,
            r"%COMSPEC% /c ping -n 1 127.0.0.1 >nul && echo 'WinPwnage' > \\.\pipe\WinPwnagePipe",
        );
        assert!(c.local_privesc);
        assert_eq!(c.tool, None);
        assert!(c.traits.contains(&ServiceTrait::NamedPipeEcho));
        let c = classify_service("abcdef", None, r"cmd.exe /c echo abcdef > \\.\pipe\abcdef");
        assert!(c.local_privesc);
    }

    #[test]
    fn ordinary_and_odd_services() {
        let c = classify_service("remotesvc", None, "calc.exe");
        assert_eq!(
            c,
            ServiceClass {
                tool: None,
                traits: vec![],
                local_privesc: false
            }
        );
        let c = classify_service("spoolfool", None, "cmd.exe");
        assert_eq!(c.traits, vec![ServiceTrait::ComspecLauncher]);
        assert_eq!(c.tool, None);
        let c = classify_service(
            "MNHHCLPEEJKJIICCIEFH",
            Some("MNHHCLPEEJKJIICCIEFH"),
            "powershell.exe -c Reset-ComputerMachinePassword",
        );
        assert_eq!(c.tool, None);
        assert_eq!(c.traits.len(), 1);
        let c = classify_service(
            "12zcytvobte007cok1akhmrr_jud32303366jbc3p9x9my1rl9gwtlqfjqx20osk",
            None,
            r"C:\WINDOWS\12zcytvobte007cok1akhmrr_jud32303366jbc3p9x9my1rl9gwtlqfjqx20osk.exe C:\WINDOWS\hbik424zgeokk9qen4582wxohkmu02ijclid3fyg42lpfgdhn1mwc_yty5bdcf3g.exe",
        );
        assert!(matches!(c.traits.as_slice(), [ServiceTrait::RandomName(_)]));
        for (name, ip) in [
            (
                "wuauserv",
                r"%systemroot%\system32\svchost.exe -k netsvcs -p",
            ),
            ("Sysmon64", r"C:\Windows\Sysmon64.exe"),
            (
                "MpKslDrv",
                r"\??\C:\ProgramData\Microsoft\Windows Defender\Scans\MpKslDrv.sys",
            ),
            (
                "edgeupdate",
                r#""C:\Program Files (x86)\Microsoft\EdgeUpdate\MicrosoftEdgeUpdate.exe" /svc"#,
            ),
            (
                "TrustedInstaller",
                r"C:\Windows\servicing\TrustedInstaller.exe",
            ),
        ] {
            let c = classify_service(name, None, ip);
            assert_eq!(
                c,
                ServiceClass {
                    tool: None,
                    traits: vec![],
                    local_privesc: false
                },
                "{name}"
            );
        }
        let c = classify_service("x", None, r#""\\fileserver\deploy\agent.exe" -run"#);
        assert_eq!(c.traits, vec![ServiceTrait::UncImagePath]);
        let c = classify_service("x", None, r"C:\Users\Public\svc.exe");
        assert_eq!(c.traits, vec![ServiceTrait::TempOrPublicPath]);
        let c = classify_service("x", None, r"rundll32.exe C:\ProgramData\7okjer.dll,#1");
        assert_eq!(
            c.traits,
            vec![ServiceTrait::TempOrPublicPath, ServiceTrait::Rundll32]
        );
    }

    #[test]
    fn descriptions_are_one_line() {
        for t in [
            ServiceTrait::PsExecService,
            ServiceTrait::ComspecLauncher,
            ServiceTrait::EncodedPowerShell,
            ServiceTrait::HiddenPowerShell,
            ServiceTrait::LoopbackAdminShare,
            ServiceTrait::RandomName("x".into()),
            ServiceTrait::BatchAndDelete,
            ServiceTrait::NamedPipeEcho,
            ServiceTrait::UncImagePath,
            ServiceTrait::TempOrPublicPath,
            ServiceTrait::Rundll32,
        ] {
            let d = t.describe();
            assert!(!d.is_empty() && !d.contains('\n'), "{d}");
        }
    }
}
