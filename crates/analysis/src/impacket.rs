//! impacket's (and smbmap's) output redirections.
//!
//! impacket's semi-interactive shells run each command through `cmd.exe` and send its output to
//! a file the attacker then reads over SMB:
//!
//! * wmiexec / dcomexec: `cmd.exe /Q /c <cmd> 1> \\127.0.0.1\ADMIN$\__<epoch>[.<frac>] 2>&1`;
//! * smbmap: `cmd.exe /Q /c <cmd> 1> \\127.0.0.1\C$\<10 random letters> 2>&1`;
//! * smbexec: `%COMSPEC% /Q /c echo <cmd> ^> \\127.0.0.1\C$\__output 2^>^&1 > %TEMP%\execute.bat
//!   & %COMSPEC% /Q /c %TEMP%\execute.bat & del %TEMP%\execute.bat` (a service per command);
//! * atexec: a task running `cmd.exe /C <cmd> > %windir%\Temp\<8 letters>.tmp 2>&1`.

use crate::commands::is_loopback_host;
use crate::text::{basename, cap, MAX_INPUT};
use crate::tool::Tool;
use regex::Regex;
use serde::Serialize;
use std::sync::LazyLock;

/// Where an impacket-style command sends its output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImpacketOutput {
    /// The tool the redirection's shape points to. wmiexec and dcomexec write the same
    /// redirection: refine with [`impacket_exec_tool_for_parent`].
    pub tool: Tool,
    /// The share the output goes to (`ADMIN$`, `C$`); `ADMIN$` for atexec, whose
    /// `%windir%\Temp` file is read back through it.
    pub share: String,
    /// The output file as written after the share (`__1556656369.7`, `__output`,
    /// `Temp\CYAlyNSS.tmp` for atexec).
    pub file: String,
    /// The host in the UNC path as written (`127.0.0.1`); `None` for atexec's local path.
    pub host: Option<String>,
    /// Whether the output lands on the executing host itself: a loopback UNC host
    /// (127.0.0.0/8, `::1`, `localhost`, `.`, `%COMPUTERNAME%`) or atexec's local path. Such a
    /// host is not a second party to the movement.
    pub loopback: bool,
}

/// `/Q /c … 1> \\host\share\file 2>&1` (wmiexec, dcomexec, smbmap).
static REDIRECT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)/Q\s+/c\s.*?\s1>\s*\\\\([^\\\s"]+)\\([^\\\s"]+)\\([^\s"]+)\s+2>&1"#)
        .expect("static regex")
});

/// `echo … ^> \\host\share\file 2^>^&1 > <bat>` (smbexec).
static SMBEXEC: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)\becho\s.*?\^>\s*\\\\([^\\\s"]+)\\([^\\\s"]+)\\([^\s"]+)\s+2\^>\^&1\s*>\s*"?([^\s"&]+\.bat)"#,
    )
    .expect("static regex")
});

/// `> %windir%\Temp\<8 letters>.tmp 2>&1` (atexec).
static ATEXEC: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)>\s*%windir%\\(Temp\\[A-Za-z]{8}\.tmp)\s+2>&1"#).expect("static regex")
});

static WMIEXEC_FILE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^__[0-9]{9,11}(?:\.[0-9]{1,9})?$").expect("static regex"));

/// Letters drawn from `string.ascii_letters`: mixed case, and not a capitalised word
/// (`Settings`) — an all-lower or all-upper draw is rare enough to let go.
pub(crate) fn looks_generated(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b.iter().all(u8::is_ascii_alphabetic)
        && b.iter().any(u8::is_ascii_lowercase)
        && b[1..].iter().any(u8::is_ascii_uppercase)
}

fn unc_loopback(host: &str) -> bool {
    is_loopback_host(host) || host.eq_ignore_ascii_case("%COMPUTERNAME%")
}

/// Recognises impacket's (and smbmap's) output redirection in a command line; see the module
/// documentation for the shapes. `None` for anything else.
pub fn impacket_output(command_line: &str) -> Option<ImpacketOutput> {
    let s = cap(command_line, MAX_INPUT);
    if let Some(c) = SMBEXEC.captures(s) {
        let (host, share, file) = (c.get(1)?.as_str(), c.get(2)?.as_str(), c.get(3)?.as_str());
        return Some(ImpacketOutput {
            tool: Tool::ImpacketSmbexec,
            share: share.to_string(),
            file: file.to_string(),
            host: Some(host.to_string()),
            loopback: unc_loopback(host),
        });
    }
    for c in REDIRECT.captures_iter(s) {
        let (Some(host), Some(share), Some(file)) = (c.get(1), c.get(2), c.get(3)) else {
            continue;
        };
        let (host, share, file) = (host.as_str(), share.as_str(), file.as_str());
        let tool = if WMIEXEC_FILE.is_match(file) {
            Tool::ImpacketWmiexec
        } else if file.len() == 10 && looks_generated(file) {
            Tool::Smbmap
        } else {
            continue;
        };
        return Some(ImpacketOutput {
            tool,
            share: share.to_string(),
            file: file.to_string(),
            host: Some(host.to_string()),
            loopback: unc_loopback(host),
        });
    }
    if let Some(c) = ATEXEC.captures(s) {
        let file = c.get(1)?.as_str();
        let stem = file.get(5..13).unwrap_or("");
        if !looks_generated(stem) {
            return None;
        }
        return Some(ImpacketOutput {
            tool: Tool::ImpacketAtexec,
            share: "ADMIN$".to_string(),
            file: file.to_string(),
            host: None,
            loopback: true,
        });
    }
    None
}

/// The impacket tool a wmiexec/dcomexec-style command points to, from the image of its parent
/// process: `WmiPrvSE.exe` → wmiexec; `mmc.exe` (MMC20), `explorer.exe` (ShellWindows,
/// ShellBrowserWindow), `excel.exe` → dcomexec.
pub fn impacket_exec_tool_for_parent(parent_image: &str) -> Option<Tool> {
    let base = basename(cap(parent_image, MAX_INPUT)).to_ascii_lowercase();
    match base.as_str() {
        "wmiprvse.exe" | "wmiprvse" => Some(Tool::ImpacketWmiexec),
        "mmc.exe" | "mmc" | "explorer.exe" | "explorer" | "excel.exe" | "excel" => {
            Some(Tool::ImpacketDcomexec)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(tool: Tool, share: &str, file: &str, host: Option<&str>, lb: bool) -> ImpacketOutput {
        ImpacketOutput {
            tool,
            share: share.into(),
            file: file.into(),
            host: host.map(Into::into),
            loopback: lb,
        }
    }

    #[test]
    fn wmiexec_and_dcomexec() {
        let w = r"cmd.exe /Q /c whoami /all 1> \\127.0.0.1\ADMIN$\__1556656369.7 2>&1";
        assert_eq!(
            impacket_output(w),
            Some(out(
                Tool::ImpacketWmiexec,
                "ADMIN$",
                "__1556656369.7",
                Some("127.0.0.1"),
                true
            ))
        );
        let cd = r"cmd.exe /Q /c cd \ 1> \\127.0.0.1\ADMIN$\__1556656369.7 2>&1";
        assert_eq!(impacket_output(cd).unwrap().file, "__1556656369.7");
        let d = r#""C:\Windows\System32\cmd.exe" /Q /c cd \ 1> \\127.0.0.1\ADMIN$\__1556656511.61 2>&1"#;
        let o = impacket_output(d).unwrap();
        assert_eq!(o.file, "__1556656511.61");
        assert_eq!(o.tool, Tool::ImpacketWmiexec);
        // Another host in the UNC path.
        let r = r"cmd.exe /Q /c dir 1> \\FS01\ADMIN$\__1600000000.123456 2>&1";
        let o = impacket_output(r).unwrap();
        assert_eq!((o.host.as_deref(), o.loopback), (Some("FS01"), false));
        assert_eq!(
            impacket_exec_tool_for_parent(r"C:\Windows\System32\wbem\WmiPrvSE.exe"),
            Some(Tool::ImpacketWmiexec)
        );
        assert_eq!(
            impacket_exec_tool_for_parent(r"C:\Windows\System32\mmc.exe"),
            Some(Tool::ImpacketDcomexec)
        );
        assert_eq!(
            impacket_exec_tool_for_parent("C:\\Windows\\explorer.exe"),
            Some(Tool::ImpacketDcomexec)
        );
        assert_eq!(
            impacket_exec_tool_for_parent(r"C:\Windows\System32\services.exe"),
            None
        );
    }

    #[test]
    fn smbmap() {
        let c = r"cmd.exe /Q /c c:\windows\system32\rundll32.exe c:\programdata\7okjer,#1 1> \\127.0.0.1\C$\WqEVwJZYOe 2>&1";
        assert_eq!(
            impacket_output(c),
            Some(out(
                Tool::Smbmap,
                "C$",
                "WqEVwJZYOe",
                Some("127.0.0.1"),
                true
            ))
        );
        assert_eq!(
            impacket_output(r"cmd.exe /Q /c cd \ 1> \\127.0.0.1\C$\WqEVwJZYOe 2>&1")
                .unwrap()
                .tool,
            Tool::Smbmap
        );
    }

    #[test]
    fn smbexec() {
        let c = r"%COMSPEC% /Q /c echo cd ^> \\127.0.0.1\C$\__output 2^>^&1 > %TEMP%\execute.bat & %COMSPEC% /Q /c %TEMP%\execute.bat & del %TEMP%\execute.bat";
        assert_eq!(
            impacket_output(c),
            Some(out(
                Tool::ImpacketSmbexec,
                "C$",
                "__output",
                Some("127.0.0.1"),
                true
            ))
        );
        let v = r"%COMSPEC% /Q /c echo whoami ^> \\%COMPUTERNAME%\C$\__output 2^>^&1 > %SYSTEMROOT%\RBhtqFMo.bat & %COMSPEC% /Q /c %SYSTEMROOT%\RBhtqFMo.bat & del %SYSTEMROOT%\RBhtqFMo.bat";
        let o = impacket_output(v).unwrap();
        assert_eq!((o.tool, o.loopback), (Tool::ImpacketSmbexec, true));
        let t = r"%COMSPEC% /Q /c echo ipconfig ^> \\127.0.0.1\ADMIN$\__1700000000.5 2^>^&1 > C:\Windows\TEMP\execute.bat & %COMSPEC% /Q /c C:\Windows\TEMP\execute.bat & del C:\Windows\TEMP\execute.bat";
        let o = impacket_output(t).unwrap();
        assert_eq!(
            (o.tool, o.share.as_str()),
            (Tool::ImpacketSmbexec, "ADMIN$")
        );
    }

    #[test]
    fn atexec() {
        let c = r"cmd.exe /C tasklist > %windir%\Temp\CYAlyNSS.tmp 2>&1";
        assert_eq!(
            impacket_output(c),
            Some(out(
                Tool::ImpacketAtexec,
                "ADMIN$",
                r"Temp\CYAlyNSS.tmp",
                None,
                true
            ))
        );
        // Task arguments alone (4698 Arguments).
        let a = r"/C tasklist > %windir%\Temp\CYAlyNSS.tmp 2>&1";
        assert_eq!(impacket_output(a).unwrap().tool, Tool::ImpacketAtexec);
    }

    #[test]
    fn benign_redirections() {
        for c in [
            r"cmd.exe /c dir > C:\temp\out.txt 2>&1",
            r"cmd.exe /Q /c backup.cmd 1> \\fileserver\logs$\backup.log 2>&1",
            r"cmd /c echo hello > \\.\pipe\x",
            r"cmd.exe /c set > c:\users\public\netstat.txt",
            r"cmd.exe /C tasklist > %windir%\Temp\report.tmp 2>&1",
            r"cmd.exe /C tasklist > %windir%\Temp\Settings.tmp 2>&1",
            r"cmd.exe /Q /c dir 1> \\127.0.0.1\C$\Backuplogs 2>&1",
            r"cmd.exe /Q /c dir 1> \\127.0.0.1\C$\output.txt 2>&1",
            "",
        ] {
            assert_eq!(impacket_output(c), None, "{c}");
        }
    }
}
