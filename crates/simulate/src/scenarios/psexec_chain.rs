//! `psexec-chain`: from 10.0.0.130 (an attacker box calling itself KALI-ATTACK; nothing is
//! collected from it) `CORP\ssales` is used with PsExec against SALES-PC; about ten minutes
//! later, from the cmd.exe that PSEXESVC started there, `PsExec.exe \\MARKETING-PC -accepteula
//! cmd.exe` repeats the pattern against MARKETING-PC. Both targets log the full PsExec
//! footprint: network logon, ADMIN$ write of PSEXESVC.exe, svcctl, service install (4697,
//! 7045), PSEXESVC started by services.exe, its pipes, and the shell it runs.

use super::CMD;
use crate::background::{self, Dc, Profile, Session};
use crate::events::{Access, Auth, Conn, Explicit, Launch, SmbClient};
use crate::host::{Account, Host, HostSpec, Logon, Proc};
use crate::time::{utc, Ms, HOUR, MIN, SEC};

pub const DOMAIN_SID: &str = "S-1-5-21-3623811015-3361044348-30300820";
pub const DAY: (i32, u32, u32) = (2025, 7, 8);
pub const ATTACKER_IP: &str = "10.0.0.130";
pub const ATTACKER_NAME: &str = "KALI-ATTACK";
/// Process id of PsExec on the attacker box (it names the pipes on SALES-PC).
pub const ATTACKER_PSEXEC_PID: u32 = 2876;
pub const PSEXEC_LINE: &str = r"PsExec.exe \\MARKETING-PC -accepteula cmd.exe";
const PSEXEC_IMAGE: &str = r"C:\Users\Public\PsExec.exe";

const DC: Dc = Dc {
    ip: "10.0.0.10",
    fqdn: "dc01.corp.local",
};

/// Who connects to a target and how.
struct Visit<'a> {
    account: &'a Account,
    ip: &'a str,
    /// NetBIOS name the client gives (NTLM workstation, pipe names).
    name: &'a str,
    /// What Sysmon resolves the client's address to.
    resolved: &'a str,
    port: u16,
    client_pid: u32,
}

/// What PsExec leaves running on a target.
struct Landing {
    logon: Logon,
    service: Proc,
    shell: Proc,
    console: Proc,
}

fn spec(
    short: &'static str,
    fqdn: &'static str,
    ip: &'static str,
    boot: Ms,
    first: [u64; 3],
) -> HostSpec {
    HostSpec {
        short,
        fqdn,
        ip,
        domain: "CORP",
        tz_minutes: -240,
        boot,
        first_record: first,
    }
}

pub fn build() -> Vec<Host> {
    let (y, m, d) = DAY;
    let ssales = Account::domain_user("CORP", DOMAIN_SID, "ssales", 1105);
    let mreyes = Account::domain_user("CORP", DOMAIN_SID, "mreyes", 1118);
    let mut sales = Host::new(spec(
        "SALES-PC",
        "sales-pc.corp.local",
        "10.0.0.133",
        utc(2025, 7, 7, 11, 58, 40, 0),
        [402_117, 9_870, 688_215],
    ));
    let mut marketing = Host::new(spec(
        "MARKETING-PC",
        "marketing-pc.corp.local",
        "10.0.0.131",
        utc(2025, 7, 3, 12, 20, 5, 0),
        [515_903, 12_344, 902_760],
    ));

    let profile = Profile {
        sysmon_network: true,
        wmi_hosts: false,
        admin_chores: false,
        dc: DC,
        share_users: Vec::new(),
    };
    let day0 = sales.local_midnight(y, m, d);
    let t = day0 + 7 * HOUR + 56 * MIN + sales.rng.between(0, 10 * MIN);
    let s = background::sign_in(&mut sales, t, &ssales, true);
    background::day(&mut sales, &profile, day0, Some(&s), true);
    let day0 = marketing.local_midnight(y, m, d);
    let t = day0 + 8 * HOUR + 2 * MIN + marketing.rng.between(0, 10 * MIN);
    let s2: Session = background::sign_in(&mut marketing, t, &mreyes, false);
    background::day(&mut marketing, &profile, day0, Some(&s2), true);

    // Hop 1: the attacker box to SALES-PC.
    let first = psexec_target(
        &mut sales,
        utc(y, m, d, 14, 21, 7, 412),
        &Visit {
            account: &ssales,
            ip: ATTACKER_IP,
            name: ATTACKER_NAME,
            resolved: "-",
            port: 45_872,
            client_pid: ATTACKER_PSEXEC_PID,
        },
    );
    let shell = first.shell.clone();
    for (at, image, cmd) in [
        (
            utc(y, m, d, 14, 22, 31, 80),
            r"C:\Windows\System32\whoami.exe",
            "whoami",
        ),
        (
            utc(y, m, d, 14, 23, 40, 615),
            r"C:\Windows\System32\ipconfig.exe",
            "ipconfig  /all",
        ),
        (
            utc(y, m, d, 14, 25, 12, 338),
            r"C:\Windows\System32\net.exe",
            "net  view",
        ),
    ] {
        let p = sales.spawn(at, &shell, image, cmd);
        sales.exit(at + 700, &p);
    }

    // Hop 2: SALES-PC to MARKETING-PC with PsExec.
    let t = utc(y, m, d, 14, 31, 42, 130);
    let psexec = sales.launch(
        t,
        &shell,
        Launch::new(PSEXEC_IMAGE, PSEXEC_LINE).cwd(r"C:\Users\Public\"),
    );
    sales.reg_13(
        t + 95,
        &psexec,
        &format!(
            r"HKU\{}\Software\Sysinternals\PsExec\EulaAccepted",
            ssales.sid
        ),
        "DWORD (0x00000001)",
    );
    sales.dns_22(
        t + 160,
        &psexec,
        "marketing-pc.corp.local",
        "::ffff:10.0.0.131;",
    );
    sales.explicit_4648(
        t + 230,
        &first.logon,
        &psexec,
        &Explicit {
            target: &ssales,
            server: "MARKETING-PC",
            info: "MARKETING-PC",
            ip: "10.0.0.131",
            port: "445",
        },
    );
    let port = 50_316;
    sales.net_3(
        t + 240,
        &psexec,
        &Conn {
            udp: false,
            initiated: true,
            src_ip: "10.0.0.133",
            src_host: "sales-pc.corp.local",
            src_port: port,
            dst_ip: "10.0.0.131",
            dst_host: "marketing-pc.corp.local",
            dst_port: 445,
        },
    );
    let second = psexec_target(
        &mut marketing,
        t + 262,
        &Visit {
            account: &ssales,
            ip: "10.0.0.133",
            name: "SALES-PC",
            resolved: "sales-pc.corp.local",
            port,
            client_pid: psexec.pid,
        },
    );
    let shell2 = second.shell.clone();
    for (at, image, cmd) in [
        (
            utc(y, m, d, 14, 32, 20, 904),
            r"C:\Windows\System32\whoami.exe",
            "whoami  /groups",
        ),
        (
            utc(y, m, d, 14, 33, 5, 17),
            r"C:\Windows\System32\hostname.exe",
            "hostname",
        ),
        (
            utc(y, m, d, 14, 34, 48, 442),
            r"C:\Windows\System32\ipconfig.exe",
            "ipconfig  /all",
        ),
    ] {
        let p = marketing.spawn(at, &shell2, image, cmd);
        marketing.exit(at + 650, &p);
    }
    leave(&mut marketing, utc(y, m, d, 14, 38, 5, 6), &second);
    sales.exit(utc(y, m, d, 14, 38, 5, 402), &psexec);
    leave(&mut sales, utc(y, m, d, 14, 40, 10, 250), &first);
    vec![sales, marketing]
}

/// Everything PsExec makes a target log, from the SMB connection to the remote shell.
fn psexec_target(h: &mut Host, t: Ms, v: &Visit) -> Landing {
    let system = h.core.system.clone();
    let (ip, fqdn) = (h.spec.ip, h.spec.fqdn);
    h.net_3(
        t,
        &system,
        &Conn {
            udp: false,
            initiated: false,
            src_ip: v.ip,
            src_host: v.resolved,
            src_port: v.port,
            dst_ip: ip,
            dst_host: fqdn,
            dst_port: 445,
        },
    );
    let logon = h.new_logon(t + 30, v.account, true, 0);
    h.network_logon(t + 30, &logon, Auth::Ntlm, v.ip, v.port, v.name);
    let client = SmbClient {
        logon: &logon,
        ip: v.ip,
        port: v.port,
    };
    h.share_5140(t + 58, &client, r"\\*\ADMIN$", r"\??\C:\Windows");
    h.share_5145(
        t + 71,
        &client,
        r"\\*\ADMIN$",
        r"\??\C:\Windows",
        "PSEXESVC.exe",
        Access::WriteData,
    );
    h.file_11(t + 86, &system, r"C:\Windows\PSEXESVC.exe");
    h.share_5140(t + 251, &client, r"\\*\IPC$", "");
    h.share_5145(
        t + 263,
        &client,
        r"\\*\IPC$",
        "",
        "svcctl",
        Access::PipeReadWrite,
    );
    h.service_4697(t + 301, &logon, "PSEXESVC", r"%SystemRoot%\PSEXESVC.exe");
    h.service_7045(t + 303, v.account, "PSEXESVC", r"%SystemRoot%\PSEXESVC.exe");
    h.service_logon(t + 338);
    let services = h.core.services.clone();
    let sys = h.system_logon.clone();
    let service = h.launch(
        t + 352,
        &services,
        Launch::new(r"C:\Windows\PSEXESVC.exe", r"C:\Windows\PSEXESVC.exe").as_logon(&sys),
    );
    h.service_7036(t + 420, "PSEXESVC", true);
    h.pipe_17(t + 431, &service, r"\PSEXESVC");
    h.share_5145(
        t + 478,
        &client,
        r"\\*\IPC$",
        "",
        "PSEXESVC",
        Access::PipeReadWrite,
    );
    h.pipe_18(t + 480, &system, r"\PSEXESVC");
    let mut at = t + 560;
    for stream in ["stdin", "stdout", "stderr"] {
        let name = format!("PSEXESVC-{}-{}-{stream}", v.name, v.client_pid);
        h.pipe_17(at, &service, &format!(r"\{name}"));
        h.share_5145(
            at + 14,
            &client,
            r"\\*\IPC$",
            "",
            &name,
            Access::PipeReadWrite,
        );
        h.pipe_18(at + 16, &system, &format!(r"\{name}"));
        at += 23;
    }
    let shell = h.launch(
        at + 40,
        &service,
        Launch::new(CMD, "cmd.exe")
            .as_logon(&logon)
            .cwd(r"C:\Windows\system32\"),
    );
    let console = h.conhost(at + 52, &shell);
    Landing {
        logon,
        service,
        shell,
        console,
    }
}

/// The remote shell is closed: it exits, PSEXESVC stops, the network session logs off.
fn leave(h: &mut Host, t: Ms, l: &Landing) {
    h.exit(t, &l.shell);
    h.exit(t + 6, &l.console);
    h.service_7036(t + 1_180, "PSEXESVC", false);
    h.exit(t + 1_195, &l.service);
    h.logoff_4634(t + 3 * SEC + 310, &l.logon, 3);
}
