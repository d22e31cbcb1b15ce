//! The remote-execution tooling this crate can name.

use serde::Serialize;
use std::fmt;

/// A remote-execution tool (or technique carrier) recognised from its traces.
///
/// The variants name tools precisely enough for an analyst to look up their behaviour; anything
/// else recognised by a caller goes into [`Tool::Other`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub enum Tool {
    /// Sysinternals PsExec (also when run with `-r` under another service name).
    PsExec,
    /// RemCom, the open-source PsExec clone (`RemComSvc`).
    RemCom,
    /// PAExec, the open-source PsExec clone by Power Admin.
    PAExec,
    /// CsExec, a C# PsExec clone (`csexecsvc`).
    CsExec,
    /// impacket `psexec.py` (RemCom service under a random name).
    ImpacketPsexec,
    /// impacket `smbexec.py` (a service per command, output through a share).
    ImpacketSmbexec,
    /// impacket `wmiexec.py` (Win32_Process.Create, output to `ADMIN$\__<epoch>`).
    ImpacketWmiexec,
    /// impacket `dcomexec.py` (MMC20 / ShellWindows / ShellBrowserWindow).
    ImpacketDcomexec,
    /// impacket `atexec.py` (a scheduled task per command).
    ImpacketAtexec,
    /// Metasploit `exploit/windows/smb/psexec` and relatives.
    MetasploitPsexec,
    /// PowerShell Empire `Invoke-PsExec`.
    EmpireInvokePsExec,
    /// `Invoke-SMBExec` (Invoke-TheHash, also used by Empire): random 20-upper-letter service
    /// whose command nests `%COMSPEC%`.
    InvokeSmbExec,
    /// smbmap's command execution (`-x`), output to a random 10-letter file on `C$`.
    Smbmap,
    /// `wmic /node:`.
    Wmic,
    /// PowerShell WMI/CIM: `Invoke-WmiMethod`, `Invoke-CimMethod`, `Win32_Process` `Create`.
    PowerShellWmi,
    /// PowerShell remoting over WinRM (`Invoke-Command`, `Enter-PSSession`).
    PowerShellRemoting,
    /// `winrs -r:`.
    Winrs,
    /// `sc.exe \\host create|config|start`.
    Sc,
    /// `schtasks /s host`.
    Schtasks,
    /// `at \\host`.
    At,
    /// DCOM `MMC20.Application` (`ExecuteShellCommand`).
    Mmc20,
    /// DCOM `ShellWindows` / `ShellBrowserWindow`.
    ShellWindows,
    /// Anything else, by the name a caller or this crate gives it (e.g. `"net use"`).
    Other(String),
}

impl Tool {
    /// Display name, as an analyst would write it ("PsExec", "impacket-wmiexec").
    pub fn name(&self) -> &str {
        match self {
            Tool::PsExec => "PsExec",
            Tool::RemCom => "RemCom",
            Tool::PAExec => "PAExec",
            Tool::CsExec => "CsExec",
            Tool::ImpacketPsexec => "impacket-psexec",
            Tool::ImpacketSmbexec => "impacket-smbexec",
            Tool::ImpacketWmiexec => "impacket-wmiexec",
            Tool::ImpacketDcomexec => "impacket-dcomexec",
            Tool::ImpacketAtexec => "impacket-atexec",
            Tool::MetasploitPsexec => "Metasploit psexec",
            Tool::EmpireInvokePsExec => "Empire Invoke-PsExec",
            Tool::InvokeSmbExec => "Invoke-SMBExec",
            Tool::Smbmap => "smbmap",
            Tool::Wmic => "wmic",
            Tool::PowerShellWmi => "PowerShell WMI",
            Tool::PowerShellRemoting => "PowerShell remoting",
            Tool::Winrs => "winrs",
            Tool::Sc => "sc.exe",
            Tool::Schtasks => "schtasks",
            Tool::At => "at.exe",
            Tool::Mmc20 => "DCOM MMC20.Application",
            Tool::ShellWindows => "DCOM ShellWindows",
            Tool::Other(name) => name,
        }
    }
}

impl fmt::Display for Tool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names() {
        assert_eq!(Tool::PsExec.to_string(), "PsExec");
        assert_eq!(Tool::ImpacketWmiexec.name(), "impacket-wmiexec");
        assert_eq!(Tool::MetasploitPsexec.name(), "Metasploit psexec");
        assert_eq!(Tool::EmpireInvokePsExec.name(), "Empire Invoke-PsExec");
        assert_eq!(Tool::InvokeSmbExec.name(), "Invoke-SMBExec");
        assert_eq!(Tool::Other("net use".into()).to_string(), "net use");
    }
}
