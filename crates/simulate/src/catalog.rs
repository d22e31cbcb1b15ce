//! What Sysmon reports about an image file (version resource and hashes), by file name.
//! Hashes are stable stand-ins derived from the image name, in Sysmon's format; they are not
//! the hashes of the real binaries.

use crate::rng::Rng;

/// The version resource fields Sysmon 1 copies.
#[derive(Debug, Clone, Copy)]
pub struct PeInfo {
    pub file_version: &'static str,
    pub description: &'static str,
    pub product: &'static str,
    pub company: &'static str,
    pub original: &'static str,
}

const WIN_VER: &str = "10.0.19041.1 (WinBuild.160101.0800)";
const WIN_PRODUCT: &str = "Microsoft\u{ae} Windows\u{ae} Operating System";
const MS: &str = "Microsoft Corporation";
const OFFICE: &str = "Microsoft Office";
const OFFICE_VER: &str = "16.0.17628.20144";

/// (lower-case file name, description, original file name) of Windows binaries.
const WINDOWS: &[(&str, &str, &str)] = &[
    ("cmd.exe", "Windows Command Processor", "Cmd.Exe"),
    ("powershell.exe", "Windows PowerShell", "PowerShell.EXE"),
    ("conhost.exe", "Console Window Host", "CONHOST.EXE"),
    ("wmic.exe", "WMI Commandline Utility", "wmic.exe"),
    (
        "whoami.exe",
        "whoami - displays logged on user information",
        "whoami.exe",
    ),
    ("ipconfig.exe", "IP Configuration Utility", "ipconfig.exe"),
    ("net.exe", "Net Command", "net.exe"),
    ("net1.exe", "Net Command", "net1.exe"),
    ("hostname.exe", "Hostname APP", "hostname.exe"),
    (
        "svchost.exe",
        "Host Process for Windows Services",
        "svchost.exe",
    ),
    (
        "taskhostw.exe",
        "Host Process for Windows Tasks",
        "taskhostw.exe",
    ),
    ("wmiprvse.exe", "WMI Provider Host", "Wmiprvse.exe"),
    ("runtimebroker.exe", "Runtime Broker", "RuntimeBroker.exe"),
    ("dllhost.exe", "COM Surrogate", "dllhost.exe"),
    (
        "backgroundtaskhost.exe",
        "Background Task Host",
        "backgroundTaskHost.exe",
    ),
    ("userinit.exe", "Userinit Logon Application", "USERINIT.EXE"),
    ("explorer.exe", "Windows Explorer", "EXPLORER.EXE"),
    (
        "gpupdate.exe",
        "Microsoft\u{ae} Windows Group Policy Update Utility",
        "GPUpdate.exe",
    ),
    (
        "tiworker.exe",
        "Windows Modules Installer Worker",
        "TiWorker.exe",
    ),
    (
        "trustedinstaller.exe",
        "Windows Modules Installer",
        "TrustedInstaller.exe",
    ),
    (
        "mousocoreworker.exe",
        "MoUSO Core Worker Process",
        "MoUsoCoreWorker.exe",
    ),
    ("usoclient.exe", "UsoClient", "UsoClient"),
    (
        "sppsvc.exe",
        "Microsoft Software Protection Platform Service",
        "sppsvc.exe",
    ),
    ("defrag.exe", "Disk Defragmenter Module", "Defrag.EXE"),
    (
        "compattelrunner.exe",
        "Microsoft Compatibility Telemetry",
        "CompatTelRunner.exe",
    ),
    (
        "smartscreen.exe",
        "Windows Defender SmartScreen",
        "smartscreen.exe",
    ),
    ("sihclient.exe", "SIH Client", "sihclient.exe"),
    ("wermgr.exe", "Windows Problem Reporting", "WerMgr"),
    ("dsregcmd.exe", "DSREG commandline tool", "dsregcmd.exe"),
    (
        "cleanmgr.exe",
        "Disk Space Cleanup Manager for Windows",
        "CLEANMGR.EXE",
    ),
    ("mmc.exe", "Microsoft Management Console", "MMC.EXE"),
    ("notepad.exe", "Notepad", "NOTEPAD.EXE"),
    (
        "consent.exe",
        "Consent UI for administrative applications",
        "consent.exe",
    ),
    (
        "searchprotocolhost.exe",
        "Microsoft Windows Search Protocol Host",
        "SearchProtocolHost.exe",
    ),
    (
        "searchfilterhost.exe",
        "Microsoft Windows Search Filter Host",
        "SearchFilterHost.exe",
    ),
    (
        "rundll32.exe",
        "Windows host process (Rundll32)",
        "RUNDLL32.EXE",
    ),
    (
        "sc.exe",
        "Service Control Manager Configuration Tool",
        "sc.exe",
    ),
    (
        "mpsigstub.exe",
        "Microsoft Malware Protection Signature Update Stub",
        "MpSigStub.exe",
    ),
];

/// Third-party and versioned binaries: (lower-case file name, info).
const OTHERS: &[(&str, PeInfo)] = &[
    (
        "psexec.exe",
        PeInfo {
            file_version: "2.43",
            description: "Execute processes remotely",
            product: "Sysinternals PsExec",
            company: "Sysinternals - www.sysinternals.com",
            original: "psexec.c",
        },
    ),
    (
        "psexesvc.exe",
        PeInfo {
            file_version: "2.43",
            description: "PsExec Service",
            product: "Sysinternals PsExec",
            company: "Sysinternals - www.sysinternals.com",
            original: "psexesvc.exe",
        },
    ),
    (
        "mpcmdrun.exe",
        PeInfo {
            file_version: "4.18.25050.5 (WinBuild.160101.0800)",
            description: "Microsoft Malware Protection Command Line Utility",
            product: WIN_PRODUCT,
            company: MS,
            original: "MpCmdRun.exe",
        },
    ),
    (
        "chrome.exe",
        PeInfo {
            file_version: "137.0.7151.69",
            description: "Google Chrome",
            product: "Google Chrome",
            company: "Google LLC",
            original: "chrome.exe",
        },
    ),
    (
        "outlook.exe",
        PeInfo {
            file_version: OFFICE_VER,
            description: "Microsoft Outlook",
            product: OFFICE,
            company: MS,
            original: "Outlook.exe",
        },
    ),
    (
        "winword.exe",
        PeInfo {
            file_version: OFFICE_VER,
            description: "Microsoft Word",
            product: OFFICE,
            company: MS,
            original: "WinWord.exe",
        },
    ),
    (
        "excel.exe",
        PeInfo {
            file_version: OFFICE_VER,
            description: "Microsoft Excel",
            product: OFFICE,
            company: MS,
            original: "Excel.exe",
        },
    ),
    (
        "microsoftedgeupdate.exe",
        PeInfo {
            file_version: "1.3.195.61",
            description: "Microsoft Edge Update",
            product: "Microsoft Edge Update",
            company: MS,
            original: "MicrosoftEdgeUpdate.exe",
        },
    ),
    (
        "googleupdate.exe",
        PeInfo {
            file_version: "1.3.36.372",
            description: "Google Installer",
            product: "Google Update",
            company: "Google LLC",
            original: "GoogleUpdate.exe",
        },
    ),
    (
        "onedrivestandaloneupdater.exe",
        PeInfo {
            file_version: "25.090.0511.0001",
            description: "Standalone Updater",
            product: "Microsoft OneDrive",
            company: MS,
            original: "OneDriveStandaloneUpdater.exe",
        },
    ),
    (
        "onedrive.exe",
        PeInfo {
            file_version: "25.090.0511.0001",
            description: "Microsoft OneDrive",
            product: "Microsoft OneDrive",
            company: MS,
            original: "OneDrive.exe",
        },
    ),
    // A prefix (ends with `_`): the file name carries the signature version.
    (
        "am_delta_patch_",
        PeInfo {
            file_version: "1.431.0.0",
            description: "Microsoft Antimalware WU Stub",
            product: "Microsoft Malware Protection",
            company: MS,
            original: "AM_Delta_Patch.exe",
        },
    ),
];

fn file_name(image: &str) -> String {
    image
        .rsplit('\\')
        .next()
        .unwrap_or(image)
        .to_ascii_lowercase()
}

/// Version information for `image` (a full path).
pub fn pe_info(image: &str) -> PeInfo {
    let name = file_name(image);
    if let Some((_, info)) = OTHERS
        .iter()
        .find(|(n, _)| *n == name || (n.ends_with('_') && name.starts_with(n)))
    {
        return *info;
    }
    match WINDOWS.iter().find(|(n, _, _)| *n == name) {
        Some((_, description, original)) => PeInfo {
            file_version: WIN_VER,
            description,
            product: WIN_PRODUCT,
            company: MS,
            original,
        },
        None => PeInfo {
            file_version: "-",
            description: "-",
            product: "-",
            company: "-",
            original: "-",
        },
    }
}

/// `SHA1=…,MD5=…,SHA256=…,IMPHASH=…` for `image`, stable per file name and version.
pub fn hashes(image: &str) -> String {
    let name = file_name(image);
    let mut r = Rng::from_label(&format!("{name}|{}", pe_info(image).file_version));
    format!(
        "SHA1={},MD5={},SHA256={},IMPHASH={}",
        r.hex(40).to_ascii_uppercase(),
        r.hex(32).to_ascii_uppercase(),
        r.hex(64).to_ascii_uppercase(),
        r.hex(32).to_ascii_uppercase()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_is_by_file_name() {
        assert_eq!(pe_info(r"C:\Windows\System32\cmd.exe").original, "Cmd.Exe");
        assert_eq!(
            pe_info(r"C:\Windows\PSEXESVC.exe").product,
            "Sysinternals PsExec"
        );
        assert_eq!(
            hashes(r"C:\x\cmd.exe"),
            hashes(r"C:\Windows\System32\CMD.EXE")
        );
    }
}
