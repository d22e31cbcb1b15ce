//! `serhatg`: one host, three days. Every day at 15:27:53 UTC the scheduled PowerShell job of
//! `AD\docker` (always PID 19300, started by the Task Scheduler under a batch logon) runs
//! `cmd.exe /c "wmic /user:DOMAIN\Administrator /password:P@ssw0rd1 /node:"127.0.0.1" process
//! call create notepad.exe"`. WMI refuses credentials on a local connection, so nothing is
//! created. Around it: an ordinary administrator's workstation.

use super::{CMD, POWERSHELL};
use crate::background::{self, Dc, Profile};
use crate::events::{Auth, Launch, LogonEvent};
use crate::host::{Account, Host, HostSpec};
use crate::time::{utc, SEC};

pub const DOMAIN_SID: &str = "S-1-5-21-2884653127-3402768816-1148723910";
pub const DAYS: [(i32, u32, u32); 3] = [(2025, 6, 10), (2025, 6, 11), (2025, 6, 12)];
pub const JOB_PID: u32 = 19_300;
pub const CMD_LINE: &str = r#"cmd.exe /c "wmic /user:DOMAIN\Administrator /password:P@ssw0rd1 /node:"127.0.0.1" process call create notepad.exe""#;
pub const WMIC_LINE: &str = r#"wmic  /user:DOMAIN\Administrator /password:P@ssw0rd1 /node:"127.0.0.1" process call create notepad.exe"#;
const JOB_LINE: &str = r#""C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe" -NoProfile -NonInteractive -ExecutionPolicy Bypass -File "C:\ProgramData\docker\scripts\node-check.ps1""#;

pub fn build() -> Vec<Host> {
    let mut h = Host::new(HostSpec {
        short: "SERHATG",
        fqdn: "serhatg.local",
        ip: "192.168.56.21",
        domain: "AD",
        tz_minutes: 180,
        boot: utc(2025, 6, 9, 6, 2, 11, 0),
        first_record: [2_418_305, 48_112, 1_902_448],
    });
    h.reserve_pid(JOB_PID);
    let serhat = Account::domain_user("AD", DOMAIN_SID, "serhatg", 1104);
    let docker = Account::domain_user("AD", DOMAIN_SID, "docker", 1109);
    let profile = Profile {
        sysmon_network: true,
        wmi_hosts: false,
        admin_chores: true,
        dc: Dc {
            ip: "192.168.56.10",
            fqdn: "dc01.local",
        },
        share_users: Vec::new(),
    };
    let mut session = None;
    for (i, &(y, m, d)) in DAYS.iter().enumerate() {
        let day0 = h.local_midnight(y, m, d);
        if i == 0 {
            let t = day0 + 8 * crate::time::HOUR + h.rng.between(0, 20 * crate::time::MIN);
            session = Some(background::sign_in(&mut h, t, &serhat, true));
        }
        background::day(&mut h, &profile, day0, session.as_ref(), i == 0);
        daily_job(&mut h, &docker, (y, m, d));
    }
    vec![h]
}

/// The scheduled job's run on one day.
fn daily_job(h: &mut Host, docker: &Account, (y, m, d): (i32, u32, u32)) {
    let start = utc(y, m, d, 15, 27, 50, 0) + h.rng.between(150, 400);
    let schedule = h.core.schedule.clone();
    let sys = h.system_logon.clone();
    let logon = h.new_logon(start, docker, false, 0);
    h.logon_4624(
        start,
        &LogonEvent {
            logon: &logon,
            logon_type: 4,
            subject: Some(&sys),
            process: Some(&schedule),
            logon_process: "Advapi  ",
            auth: Auth::Negotiate,
            workstation: "-",
            ip: "-",
            port: "-",
            linked: 0,
        },
    );
    let ps = h.launch(
        start + 410,
        &schedule,
        Launch::new(POWERSHELL, JOB_LINE)
            .as_logon(&logon)
            .pid(JOB_PID)
            .cwd(r"C:\Windows\system32\"),
    );
    let con = h.conhost(start + 430, &ps);
    let t = utc(y, m, d, 15, 27, 53, 0) + h.rng.between(90, 300);
    let cmd = h.spawn(t, &ps, CMD, CMD_LINE);
    let wmic = h.spawn(
        t + 48,
        &cmd,
        r"C:\Windows\System32\wbem\WMIC.exe",
        WMIC_LINE,
    );
    // "User credentials cannot be used for local connections": WMIC gives up at once.
    h.exit(t + 520, &wmic);
    h.exit(t + 560, &cmd);
    let end = utc(y, m, d, 15, 27, 55, 0) + h.rng.between(600, 900);
    h.exit(end, &ps);
    h.exit(end + 12, &con);
    h.logoff_4634(end + 2 * SEC, &logon, 4);
}
