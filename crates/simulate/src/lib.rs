//! # lateral-simulate
//!
//! Owns generating synthetic, deterministic Windows evidence for demos and tests: three
//! lateral-movement stories ([`SCENARIOS`]) set in several days of ordinary background
//! activity (interactive and service logons, services starting and stopping, scheduled
//! maintenance, Windows Update and Defender, Office and Chrome, DNS, outbound traffic).
//!
//! Output is one JSON-lines file per host, `<host>-windows.jsonl`, in the flattened
//! NXLog/Logstash shape of the OTRF Security-Datasets exports (and of
//! `demo/ws01-security-sysmon.jsonl`): `@timestamp` (UTC, milliseconds, `Z`), `EventTime`
//! (the host's local time), `Hostname` (FQDN), `Channel`, `SourceName`, integer `EventID`,
//! `RecordNumber` counting up per channel, NXLog's own metadata, and the event data at the top
//! level under the Windows field names in Windows formats (`LogonType` `"3"`, logon ids
//! `0x…`, SIDs, Sysmon `UtcTime`, `ProcessGuid`, `Hashes`, ...). Each file is in time order.
//!
//! Everything is fixed: dates are constants, randomness comes from a small seeded generator,
//! and nothing reads the clock, so the same call always writes byte-identical files. Image
//! hashes are stable stand-ins, not the hashes of the real binaries.
//!
//! It must not do detection: it knows the stories (what happened, as reported) and nothing of
//! what a hunt looks for. EVTX output is out of scope.

mod background;
mod catalog;
mod corpus;
mod encode;
mod events;
mod host;
mod nxlog;
mod rng;
mod scenarios;
mod time;

use std::path::{Path, PathBuf};

pub use corpus::generate_corpus;

/// One scenario: its name, what happens in it, and what a hunt over it should conclude.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScenarioInfo {
    pub name: &'static str,
    pub summary: &'static str,
    pub expected: &'static str,
}

/// The scenarios [`generate`] knows.
pub const SCENARIOS: &[ScenarioInfo] = &[
    ScenarioInfo {
        name: "serhatg",
        summary: "One host, serhatg.local (domain AD), 10-12 June 2025. Every day at 15:27:53 UTC \
            the scheduled PowerShell job of AD\\docker (powershell.exe PID 19300, started by the \
            Task Scheduler service under a batch logon) runs cmd.exe /c \"wmic \
            /user:DOMAIN\\Administrator /password:P@ssw0rd1 /node:\"127.0.0.1\" process call create \
            notepad.exe\". WMI refuses credentials on a local connection, so nothing is created. \
            Around it, three days of an administrator's ordinary workstation activity.",
        expected: "No host-to-host movement: the WMIC target is the host itself (127.0.0.1) and no \
            network logon from another host carries administrative activity. A credential-exposure \
            finding for the clear-text password on the WMIC command line (to be shown masked), \
            recurring daily at the same time from the same scheduled job. PsExec and \
            WmiPrvSE-spawned-process queries have no hits.",
    },
    ScenarioInfo {
        name: "wmi-spread",
        summary: "Domain CORP, 17 June 2025. CORP\\btun-adm tries two encoded PowerShell commands \
            from an elevated prompt on his workstation wrk-btun (10.20.30.41), then runs the same \
            commands through WMI on the server venus (10.20.30.12, Kerberos, from 10:06 UTC) and \
            four minutes later on wrk-klagerf (10.20.30.57, NTLM from WRK-BTUN): network logon \
            from 10.20.30.41 with 4672, WmiPrvSE.exe starting powershell.exe -nop -w hidden -enc \
            under that logon, and the commands' children (whoami, ipconfig, net). Security, System \
            and Sysmon are collected on all three hosts, but no Sysmon network event (3) anywhere.",
        expected: "Lateral movement by WMI (T1047) with CORP\\btun-adm from wrk-btun to venus and \
            from wrk-btun to wrk-klagerf, the encoded commands decoded (a process listing written \
            to C:\\Windows\\Temp\\p.txt with whoami /all, and a download cradle from \
            http://10.20.30.41:8080/s.ps1), the same commands seen first on wrk-btun itself, and \
            a visibility gap: no Sysmon 3 network connections were collected.",
    },
    ScenarioInfo {
        name: "psexec-chain",
        summary: "Domain CORP, 8 July 2025. From 10.0.0.130 (an attacker box calling itself \
            KALI-ATTACK, no logs collected) CORP\\ssales is used with PsExec against SALES-PC \
            (10.0.0.133) at 14:21 UTC: NTLM network logon, ADMIN$ write of PSEXESVC.exe, svcctl, \
            PSEXESVC installed (4697, 7045) and started by services.exe, its pipes, and cmd.exe. \
            Ten minutes later that shell runs PsExec.exe \\\\MARKETING-PC -accepteula cmd.exe \
            (4648, outbound SMB) and MARKETING-PC (10.0.0.131) logs the same target-side set from \
            10.0.0.133 / SALES-PC, plus the inbound connection.",
        expected: "A PsExec chain 10.0.0.130 (KALI-ATTACK) -> SALES-PC -> MARKETING-PC with the \
            account CORP\\ssales: remote service creation (PSEXESVC) on both targets, the second \
            hop launched from the shell the first hop created.",
    },
];

/// What [`generate`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generated {
    /// One file per host, in the scenario's host order.
    pub files: Vec<PathBuf>,
    /// Events written, all files together.
    pub events: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum SimulateError {
    #[error("unknown scenario {name:?} (known: {})", known.join(", "))]
    UnknownScenario { name: String, known: Vec<String> },
    #[error("cannot write {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Write scenario `name` into `out_dir` (created when missing), one `<host>-windows.jsonl`
/// per host. Files of the same name are overwritten.
pub fn generate(name: &str, out_dir: &Path) -> Result<Generated, SimulateError> {
    let hosts = scenarios::build(name).ok_or_else(|| SimulateError::UnknownScenario {
        name: name.to_string(),
        known: SCENARIOS.iter().map(|s| s.name.to_string()).collect(),
    })?;
    std::fs::create_dir_all(out_dir).map_err(|source| SimulateError::Io {
        path: out_dir.to_path_buf(),
        source,
    })?;
    let mut out = Generated {
        files: Vec::new(),
        events: 0,
    };
    for mut host in hosts {
        let path = out_dir.join(format!(
            "{}-windows.jsonl",
            host.spec.short.to_ascii_lowercase()
        ));
        out.events += host.events.len();
        let text = host.render();
        std::fs::write(&path, text).map_err(|source| SimulateError::Io {
            path: path.clone(),
            source,
        })?;
        out.files.push(path);
    }
    Ok(out)
}
