//! Benign background activity: what a Windows host logs on an ordinary day. Service churn
//! (7036, with the SYSTEM service logons and processes behind it), scheduled maintenance
//! (Defender, defrag, updaters, telemetry), COM/WMI hosts, Windows Update with a Defender
//! signature patch, an interactive user with Office and Chrome, DNS and outbound traffic,
//! prefetch and registry writes, and, on servers, users opening file shares.

use crate::events::{Auth, Conn, Launch, LogonEvent, SmbClient};
use crate::host::{Account, Host, Logon, Proc, TOKEN_ELEVATED};
use crate::time::{Ms, HOUR, MIN, SEC};

/// The domain controller every member host talks to (no logs are collected from it).
#[derive(Debug, Clone, Copy)]
pub struct Dc {
    pub ip: &'static str,
    pub fqdn: &'static str,
}

/// A user who opens a file share on a server.
#[derive(Debug, Clone)]
pub struct ShareUser {
    pub account: Account,
    pub ip: &'static str,
    pub share: &'static str,
    pub local_path: &'static str,
}

/// What kind of day a host has.
#[derive(Debug, Clone)]
pub struct Profile {
    /// Sysmon network connections (event 3) are collected.
    pub sysmon_network: bool,
    /// WmiPrvSE is started now and then by ordinary management queries.
    pub wmi_hosts: bool,
    /// The administrator runs gpupdate on the first day (admin users only).
    pub admin_chores: bool,
    pub dc: Dc,
    /// Users reaching this host's shares (servers).
    pub share_users: Vec<ShareUser>,
}

/// The interactive session of the workstation's user.
#[derive(Debug, Clone)]
pub struct Session {
    /// The token the desktop runs with (limited for administrators).
    pub desktop: Logon,
    /// The elevated twin of an administrator's logon (same as `desktop` otherwise).
    pub elevated: Logon,
    pub explorer: Proc,
}

/// Interactive sign-in at the console: 4648 (winlogon to localhost), 4624 type 2 (a linked
/// elevated/limited pair for administrators), 4672, userinit and explorer.
pub fn sign_in(h: &mut Host, t: Ms, account: &Account, admin: bool) -> Session {
    let winlogon = h.core.winlogon.clone();
    let sys = h.system_logon.clone();
    h.explicit_4648(
        t,
        &sys,
        &winlogon,
        &crate::events::Explicit {
            target: account,
            server: "localhost",
            info: "localhost",
            ip: "127.0.0.1",
            port: "0",
        },
    );
    let mut desktop = h.new_logon(t, account, false, 1);
    let mut elevated = desktop.clone();
    if admin {
        elevated = h.new_logon(t, account, true, 1);
        elevated.elevation = TOKEN_ELEVATED;
        desktop.elevation = crate::host::TOKEN_LIMITED;
    }
    let short = h.spec.short;
    let logon_event = |h: &mut Host, l: &Logon, linked: u64| {
        h.logon_4624(
            t + 20,
            &LogonEvent {
                logon: l,
                logon_type: 2,
                subject: Some(&sys),
                process: Some(&winlogon),
                logon_process: "User32 ",
                auth: Auth::Negotiate,
                workstation: short,
                ip: "127.0.0.1",
                port: "0",
                linked,
            },
        );
    };
    if admin {
        logon_event(h, &elevated, desktop.id);
        h.special_4672(t + 21, &elevated);
        logon_event(h, &desktop, elevated.id);
    } else {
        logon_event(h, &desktop, 0);
    }
    let home = format!(r"C:\Users\{}\", account.name);
    let userinit = h.launch(
        t + 900,
        &winlogon,
        Launch::new(
            r"C:\Windows\System32\userinit.exe",
            r"C:\Windows\system32\userinit.exe",
        )
        .as_logon(&desktop),
    );
    let explorer = h.launch(
        t + 1_400,
        &userinit,
        Launch::new(r"C:\Windows\explorer.exe", r"C:\Windows\Explorer.EXE").cwd(&home),
    );
    h.exit(t + 31 * SEC, &userinit);
    Session {
        desktop,
        elevated,
        explorer,
    }
}

/// Unlocking the workstation: a short-lived type 7 logon.
fn unlock(h: &mut Host, t: Ms, s: &Session) {
    let admin = s.elevated.id != s.desktop.id;
    let account = s.desktop.account.clone();
    let l = h.new_logon(t, &account, admin, 1);
    let sys = h.system_logon.clone();
    let winlogon = h.core.winlogon.clone();
    let short = h.spec.short;
    h.logon_4624(
        t,
        &LogonEvent {
            logon: &l,
            logon_type: 7,
            subject: Some(&sys),
            process: Some(&winlogon),
            logon_process: "User32 ",
            auth: Auth::Negotiate,
            workstation: short,
            ip: "127.0.0.1",
            port: "0",
            linked: 0,
        },
    );
    if admin {
        h.special_4672(t, &l);
    }
    h.logoff_4634(t + 2 * SEC + 140, &l, 7);
}

struct Service {
    key: &'static str,
    display: &'static str,
    /// Image and command line when the service gets a process of its own.
    process: Option<(&'static str, &'static str)>,
    minutes: (i64, i64),
}

const SVCHOST: &str = r"C:\Windows\System32\svchost.exe";

const SERVICES: &[Service] = &[
    Service {
        key: "TrustedInstaller",
        display: "Windows Modules Installer",
        process: Some((
            r"C:\Windows\servicing\TrustedInstaller.exe",
            r"C:\Windows\servicing\TrustedInstaller.exe",
        )),
        minutes: (6, 25),
    },
    Service {
        key: "sppsvc",
        display: "Software Protection",
        process: Some((
            r"C:\Windows\System32\sppsvc.exe",
            r"C:\Windows\system32\sppsvc.exe",
        )),
        minutes: (1, 3),
    },
    Service {
        key: "BITS",
        display: "Background Intelligent Transfer Service",
        process: Some((
            SVCHOST,
            r"C:\Windows\System32\svchost.exe -k netsvcs -p -s BITS",
        )),
        minutes: (4, 30),
    },
    Service {
        key: "WinHttpAutoProxySvc",
        display: "WinHTTP Web Proxy Auto-Discovery Service",
        process: None,
        minutes: (10, 60),
    },
    Service {
        key: "DsmSvc",
        display: "Device Setup Manager",
        process: Some((
            SVCHOST,
            r"C:\Windows\system32\svchost.exe -k netsvcs -p -s DsmSvc",
        )),
        minutes: (2, 6),
    },
    Service {
        key: "WerSvc",
        display: "Windows Error Reporting Service",
        process: Some((SVCHOST, r"C:\Windows\System32\svchost.exe -k WerSvcGroup")),
        minutes: (1, 4),
    },
    Service {
        key: "ClipSVC",
        display: "Client License Service (ClipSVC)",
        process: Some((
            SVCHOST,
            r"C:\Windows\System32\svchost.exe -k wsappx -p -s ClipSVC",
        )),
        minutes: (2, 10),
    },
    Service {
        key: "lfsvc",
        display: "Geolocation Service",
        process: None,
        minutes: (3, 12),
    },
    Service {
        key: "NetSetupSvc",
        display: "Network Setup Service",
        process: None,
        minutes: (1, 5),
    },
    Service {
        key: "InstallService",
        display: "Microsoft Store Install Service",
        process: Some((
            SVCHOST,
            r"C:\Windows\System32\svchost.exe -k netsvcs -p -s InstallService",
        )),
        minutes: (3, 20),
    },
    Service {
        key: "StorSvc",
        display: "Storage Service",
        process: Some((
            SVCHOST,
            r"C:\Windows\System32\svchost.exe -k LocalSystemNetworkRestricted -p -s StorSvc",
        )),
        minutes: (2, 15),
    },
    Service {
        key: "camsvc",
        display: "Capability Access Manager Service",
        process: None,
        minutes: (1, 8),
    },
];

/// A scheduled maintenance task's action.
struct Task {
    image: &'static str,
    cmd: &'static str,
    console: bool,
    /// Runs as the signed-in user rather than SYSTEM (workstations only).
    as_user: bool,
    seconds: (i64, i64),
}

const MPCMDRUN: &str =
    r"C:\ProgramData\Microsoft\Windows Defender\Platform\4.18.25050.5-0\MpCmdRun.exe";

const TASKS: &[Task] = &[
    Task {
        image: r"C:\Windows\System32\taskhostw.exe",
        cmd: "taskhostw.exe SYSTEM",
        console: false,
        as_user: false,
        seconds: (20, 300),
    },
    Task {
        image: r"C:\Windows\System32\taskhostw.exe",
        cmd: "taskhostw.exe KEYROAMING",
        console: false,
        as_user: true,
        seconds: (5, 60),
    },
    Task {
        image: r"C:\Windows\System32\taskhostw.exe",
        cmd: "taskhostw.exe Install $(Arg0)",
        console: false,
        as_user: false,
        seconds: (10, 120),
    },
    Task {
        image: MPCMDRUN,
        cmd: r#""C:\ProgramData\Microsoft\Windows Defender\Platform\4.18.25050.5-0\MpCmdRun.exe" -IdleTask -TaskName WdCacheMaintenance"#,
        console: true,
        as_user: false,
        seconds: (4, 40),
    },
    Task {
        image: MPCMDRUN,
        cmd: r#""C:\ProgramData\Microsoft\Windows Defender\Platform\4.18.25050.5-0\MpCmdRun.exe" -IdleTask -TaskName WdCleanup"#,
        console: true,
        as_user: false,
        seconds: (3, 30),
    },
    Task {
        image: MPCMDRUN,
        cmd: r#""C:\ProgramData\Microsoft\Windows Defender\Platform\4.18.25050.5-0\MpCmdRun.exe" -IdleTask -TaskName WdVerification"#,
        console: true,
        as_user: false,
        seconds: (5, 50),
    },
    Task {
        image: r"C:\Windows\System32\defrag.exe",
        cmd: r"C:\Windows\system32\defrag.exe -c -h -o -$",
        console: true,
        as_user: false,
        seconds: (60, 600),
    },
    Task {
        image: r"C:\Program Files (x86)\Microsoft\EdgeUpdate\MicrosoftEdgeUpdate.exe",
        cmd: r#""C:\Program Files (x86)\Microsoft\EdgeUpdate\MicrosoftEdgeUpdate.exe" /ua /installsource scheduler"#,
        console: false,
        as_user: false,
        seconds: (5, 40),
    },
    Task {
        image: r"C:\Windows\System32\CompatTelRunner.exe",
        cmd: r"C:\Windows\system32\compattelrunner.exe",
        console: false,
        as_user: false,
        seconds: (60, 900),
    },
    Task {
        image: r"C:\Windows\System32\wermgr.exe",
        cmd: r"C:\Windows\system32\wermgr.exe -upload",
        console: false,
        as_user: false,
        seconds: (2, 20),
    },
    Task {
        image: r"C:\Windows\System32\sc.exe",
        cmd: r"C:\Windows\system32\sc.exe start pushtoinstall registration",
        console: true,
        as_user: false,
        seconds: (1, 3),
    },
    Task {
        image: r"C:\Windows\System32\rundll32.exe",
        cmd: r"C:\Windows\system32\rundll32.exe Startupscan.dll,SusRunTask",
        console: false,
        as_user: true,
        seconds: (2, 15),
    },
    Task {
        image: r"C:\Windows\System32\cleanmgr.exe",
        cmd: r"C:\Windows\system32\cleanmgr.exe /autoclean /d C:",
        console: false,
        as_user: true,
        seconds: (30, 240),
    },
];

/// (image, command line) of COM servers DcomLaunch starts in the user's session.
const COM_SERVERS: &[(&str, &str)] = &[
    (
        r"C:\Windows\System32\RuntimeBroker.exe",
        r"C:\Windows\System32\RuntimeBroker.exe -Embedding",
    ),
    (
        r"C:\Windows\System32\dllhost.exe",
        r"C:\Windows\system32\DllHost.exe /Processid:{973D20D7-562D-44B9-B70B-5A0F49CCDF3F}",
    ),
    (
        r"C:\Windows\System32\dllhost.exe",
        r"C:\Windows\system32\DllHost.exe /Processid:{AB8902B4-09CA-4BB6-B78D-A8F59079A8D5}",
    ),
    (
        r"C:\Windows\System32\backgroundTaskHost.exe",
        r#""C:\Windows\system32\backgroundTaskHost.exe" -ServerName:BackgroundTaskHost.WebAccountProvider"#,
    ),
    (
        r"C:\Windows\System32\smartscreen.exe",
        r"C:\Windows\System32\smartscreen.exe -Embedding",
    ),
];

/// (query, answer) pairs asked by Windows components.
const WINDOWS_NAMES: &[(&str, &str)] = &[
    ("settings-win.data.microsoft.com", "type:  5 atm-settingsfe-prod-geo2.trafficmanager.net;type:  5 settings-prod-neu-2.northeurope.cloudapp.azure.com;::ffff:20.54.24.148;"),
    ("v10.events.data.microsoft.com", "type:  5 global.asimov.events.data.trafficmanager.net;type:  5 onedscolprdneu06.northeurope.cloudapp.azure.com;::ffff:20.50.201.195;"),
    ("ctldl.windowsupdate.com", "type:  5 ctldl.windowsupdate.com.delivery.microsoft.com;type:  5 wu-b-net.trafficmanager.net;::ffff:199.232.214.172;"),
    ("login.live.com", "type:  5 login.msa.msidentity.com;type:  5 lgincdnvzeuno.azureedge.net;::ffff:20.190.159.0;"),
    ("wdcp.microsoft.com", "type:  5 wdcp.microsoft.akadns.net;::ffff:20.86.249.62;"),
    ("go.microsoft.com", "type:  5 go.microsoft.com.edgekey.net;type:  5 e11290.dspg.akamaiedge.net;::ffff:23.55.201.185;"),
];

const BROWSER_NAMES: &[(&str, &str)] = &[
    ("www.google.com", "::ffff:142.250.185.100;"),
    ("clients2.google.com", "type:  5 clients.l.google.com;::ffff:142.250.186.46;"),
    ("accounts.google.com", "::ffff:142.251.36.45;"),
    ("docs.google.com", "::ffff:142.250.185.78;"),
    ("www.linkedin.com", "type:  5 www-linkedin-com.l-0005.l-msedge.net;type:  5 l-0005.l-msedge.net;::ffff:13.107.42.14;"),
];

fn ephemeral(h: &mut Host) -> u16 {
    h.rng.between(49_700, 64_900) as u16
}

/// One ordinary day (local midnight `day0`, UTC). `session` is the workstation user's
/// session when there is one; `first` marks the first day of the evidence (the user signs in
/// rather than unlocks).
pub fn day(h: &mut Host, p: &Profile, day0: Ms, session: Option<&Session>, first: bool) {
    services(h, day0);
    maintenance(h, day0, session);
    windows_update(h, p, day0);
    com_servers(h, p, day0, session);
    system_traffic(h, p, day0);
    if let Some(s) = session {
        if !first {
            let t = day0 + 7 * HOUR + 50 * MIN + h.rng.between(0, 25 * MIN);
            unlock(h, t, s);
        }
        desk_work(h, p, day0, s);
        if first && p.admin_chores && s.elevated.id != s.desktop.id {
            admin_chores(h, day0, s);
        }
        if first {
            onedrive_task(h, day0, s);
        }
    }
    shares(h, p, day0);
}

fn services(h: &mut Host, day0: Ms) {
    let runs = h.rng.between(8, 11);
    for _ in 0..runs {
        let i = h.rng.between(0, SERVICES.len() as i64 - 1) as usize;
        let svc = &SERVICES[i];
        let t = day0 + h.rng.between(10 * MIN, 23 * HOUR + 40 * MIN);
        let stop = t + MIN * h.rng.between(svc.minutes.0, svc.minutes.1) + h.rng.between(0, 59_999);
        let mut proc = None;
        if let Some((image, cmd)) = svc.process {
            h.service_logon(t);
            let services = h.core.services.clone();
            let sys = h.system_logon.clone();
            proc = Some(h.launch(t + 35, &services, Launch::new(image, cmd).as_logon(&sys)));
        }
        h.service_7036(t + 260, svc.display, true);
        if svc.key == "TrustedInstaller" {
            let dcom = h.core.dcom_launch.clone();
            let worker = h.spawn(
                t + 2 * SEC + 300,
                &dcom,
                r"C:\Windows\WinSxS\amd64_microsoft-windows-servicingstack_31bf3856ad364e35_10.0.19041.5794_none_7e7c9cb3b1a86e4a\TiWorker.exe",
                r"C:\Windows\winsxs\amd64_microsoft-windows-servicingstack_31bf3856ad364e35_10.0.19041.5794_none_7e7c9cb3b1a86e4a\TiWorker.exe -Embedding",
            );
            h.exit(stop - 4 * SEC, &worker);
        }
        h.service_7036(stop, svc.display, false);
        if let Some(p) = proc {
            h.exit(stop + 15, &p);
        }
    }
}

fn maintenance(h: &mut Host, day0: Ms, session: Option<&Session>) {
    let runs = h.rng.between(11, 14);
    for _ in 0..runs {
        let task = h.rng.pick(TASKS);
        if task.as_user && session.is_none() {
            continue;
        }
        let t = day0 + h.rng.between(5 * MIN, 23 * HOUR + 50 * MIN);
        let schedule = h.core.schedule.clone();
        let p = match (task.as_user, session) {
            (true, Some(s)) => {
                let home = format!(r"C:\Users\{}\", s.desktop.account.name);
                h.launch(
                    t,
                    &schedule,
                    Launch::new(task.image, task.cmd)
                        .as_logon(&s.desktop)
                        .cwd(&home),
                )
            }
            _ => h.spawn(t, &schedule, task.image, task.cmd),
        };
        let end = t + SEC * h.rng.between(task.seconds.0, task.seconds.1) + h.rng.between(0, 999);
        if task.console {
            let c = h.conhost(t + 12, &p);
            h.exit(end + 8, &c);
        }
        h.exit(end, &p);
        prefetch(h, t + 10 * SEC, task.image);
    }
}

/// SysMain writes the prefetch file of an image it has seen start.
fn prefetch(h: &mut Host, t: Ms, image: &str) {
    if !h.rng.chance(40) {
        return;
    }
    let name = image
        .rsplit('\\')
        .next()
        .unwrap_or(image)
        .to_ascii_uppercase();
    let tag = format!("{:08X}", crate::rng::fnv64(image) as u32);
    let sysmain = h.core.sysmain.clone();
    h.file_11(
        t,
        &sysmain,
        &format!(r"C:\Windows\Prefetch\{name}-{tag}.pf"),
    );
}

/// The nightly update scan and a Defender signature patch through Windows Update.
fn windows_update(h: &mut Host, p: &Profile, day0: Ms) {
    let t = day0 + 3 * HOUR + h.rng.between(0, 50 * MIN);
    let schedule = h.core.schedule.clone();
    let dcom = h.core.dcom_launch.clone();
    let uso = h.spawn(
        t,
        &schedule,
        r"C:\Windows\System32\usoclient.exe",
        r"C:\Windows\system32\usoclient.exe StartScan",
    );
    h.exit(t + 1_200, &uso);
    let worker = h.spawn(
        t + 1_500,
        &dcom,
        r"C:\Windows\System32\MoUsoCoreWorker.exe",
        r"C:\Windows\System32\mousocoreworker.exe -Embedding",
    );
    h.service_logon(t + 2_100);
    let services = h.core.services.clone();
    let sys = h.system_logon.clone();
    let wu = h.launch(
        t + 2_140,
        &services,
        Launch::new(
            SVCHOST,
            r"C:\Windows\system32\svchost.exe -k netsvcs -p -s wuauserv",
        )
        .as_logon(&sys),
    );
    h.service_7036(t + 2_400, "Windows Update", true);
    h.dns_22(
        t + 3_100,
        &wu,
        "fe3cr.delivery.mp.microsoft.com",
        "type:  5 fe3.delivery.dsp.mp.microsoft.com.nsatc.net;::ffff:20.12.23.50;",
    );
    h.dns_22(
        t + 9_800,
        &wu,
        "slscr.update.microsoft.com",
        "type:  5 slscr.update.microsoft.com.nsatc.net;::ffff:20.72.235.82;",
    );
    if p.sysmon_network {
        let (ip, host) = (h.spec.ip, h.spec.fqdn);
        let port = ephemeral(h);
        h.net_3(
            t + 3_300,
            &wu,
            &Conn {
                udp: false,
                initiated: true,
                src_ip: ip,
                src_host: host,
                src_port: port,
                dst_ip: "20.12.23.50",
                dst_host: "-",
                dst_port: 443,
            },
        );
    }
    // Defender security intelligence delivered as a Windows Update package.
    let minor = 254 + 43 * ((day0 / crate::time::DAY) % 5);
    let patch = format!("AM_Delta_Patch_1.431.{minor}.0.exe");
    let path = format!(r"C:\Windows\SoftwareDistribution\Download\Install\{patch}");
    let t2 = t + 2 * MIN + h.rng.between(0, 60 * SEC);
    h.file_11(t2, &wu, &path);
    let cmd = format!(r#""{path}" WD /q"#);
    let stub_dir = h.rng.guid().to_ascii_uppercase();
    let delta = h.spawn(t2 + 900, &wu, &path, &cmd);
    let stub_cmd = format!(
        r#""C:\Windows\TEMP\{stub_dir}\MpSigStub.exe" /stub 1.1.24050.3 /payload 1.431.{minor}.0 /program C:\Windows\SoftwareDistribution\Download\Install\{patch} WD /q"#
    );
    let stub = h.launch(
        t2 + 1_700,
        &delta,
        Launch::new(
            &format!(r"C:\Windows\Temp\{stub_dir}\MpSigStub.exe"),
            &stub_cmd,
        )
        .cwd(r"C:\Windows\TEMP\"),
    );
    h.exit(t2 + 14 * SEC, &stub);
    h.exit(t2 + 14 * SEC + 40, &delta);
    let end = t + 11 * MIN + h.rng.between(0, 9 * MIN);
    h.exit(end - 30 * SEC, &worker);
    h.service_7036(end, "Windows Update", false);
    h.exit(end + 20, &wu);
}

fn com_servers(h: &mut Host, p: &Profile, day0: Ms, session: Option<&Session>) {
    let dcom = h.core.dcom_launch.clone();
    if let Some(s) = session {
        for _ in 0..h.rng.between(5, 8) {
            let t = day0 + 8 * HOUR + h.rng.between(0, 9 * HOUR);
            let (image, cmd) = *h.rng.pick(COM_SERVERS);
            let c = h.launch(t, &dcom, Launch::new(image, cmd).as_logon(&s.desktop));
            let end = t + h.rng.between(3 * SEC, 40 * MIN);
            h.exit(end, &c);
        }
    }
    if p.wmi_hosts {
        let ns = h.network_service_logon.clone();
        for _ in 0..2 {
            let t = day0 + h.rng.between(HOUR, 22 * HOUR);
            let w = h.launch(
                t,
                &dcom,
                Launch::new(
                    r"C:\Windows\System32\wbem\WmiPrvSE.exe",
                    r"C:\Windows\system32\wbem\wmiprvse.exe -secured -Embedding",
                )
                .as_logon(&ns),
            );
            let end = t + h.rng.between(2 * MIN, 6 * MIN);
            h.exit(end, &w);
        }
    }
}

/// DNS and connections Windows makes on its own: Kerberos and LDAP to the DC, telemetry,
/// Defender cloud lookups.
fn system_traffic(h: &mut Host, p: &Profile, day0: Ms) {
    let (ip, host) = (h.spec.ip, h.spec.fqdn);
    let netsvcs = h.core.netsvcs.clone();
    let defender = h.core.defender.clone();
    let lsass = h.core.lsass.clone();
    let dnscache = h.core.dnscache.clone();
    for _ in 0..h.rng.between(7, 10) {
        let t = day0 + h.rng.between(0, 23 * HOUR + 59 * MIN);
        let (name, answer) = *h.rng.pick(WINDOWS_NAMES);
        let who = if name.starts_with("wdcp") || name.starts_with("go.") {
            &defender
        } else {
            &netsvcs
        };
        h.dns_22(t, who, name, answer);
        if p.sysmon_network {
            let dst = answer
                .rsplit("::ffff:")
                .next()
                .unwrap_or("")
                .trim_end_matches(';')
                .to_string();
            let port = ephemeral(h);
            h.net_3(
                t + 40,
                who,
                &Conn {
                    udp: false,
                    initiated: true,
                    src_ip: ip,
                    src_host: host,
                    src_port: port,
                    dst_ip: &dst,
                    dst_host: "-",
                    dst_port: 443,
                },
            );
        }
    }
    let dc_answer = format!("::ffff:{};", p.dc.ip);
    for _ in 0..h.rng.between(4, 6) {
        let t = day0 + h.rng.between(0, 23 * HOUR + 59 * MIN);
        h.dns_22(t, &netsvcs, p.dc.fqdn, &dc_answer);
        if p.sysmon_network {
            let port = ephemeral(h);
            h.net_3(
                t + 30,
                &dnscache,
                &Conn {
                    udp: true,
                    initiated: true,
                    src_ip: ip,
                    src_host: host,
                    src_port: port,
                    dst_ip: p.dc.ip,
                    dst_host: p.dc.fqdn,
                    dst_port: 53,
                },
            );
            let port = ephemeral(h);
            h.net_3(
                t + 80,
                &lsass,
                &Conn {
                    udp: false,
                    initiated: true,
                    src_ip: ip,
                    src_host: host,
                    src_port: port,
                    dst_ip: p.dc.ip,
                    dst_host: p.dc.fqdn,
                    dst_port: 88,
                },
            );
            let port = ephemeral(h);
            h.net_3(
                t + 160,
                &netsvcs,
                &Conn {
                    udp: false,
                    initiated: true,
                    src_ip: ip,
                    src_host: host,
                    src_port: port,
                    dst_ip: p.dc.ip,
                    dst_host: p.dc.fqdn,
                    dst_port: 389,
                },
            );
        }
    }
    for _ in 0..h.rng.between(2, 4) {
        let t = day0 + h.rng.between(0, 23 * HOUR);
        let key =
            r"HKLM\SOFTWARE\Microsoft\Windows Defender\Signature Updates\SignaturesLastUpdated";
        h.reg_13(t, &defender, key, "Binary Data");
    }
}

/// The user's working day: Outlook, Chrome, an Office document, DNS and HTTPS.
fn desk_work(h: &mut Host, p: &Profile, day0: Ms, s: &Session) {
    let explorer = s.explorer.clone();
    let user = s.desktop.account.name.clone();
    let home = format!(r"C:\Users\{user}\");
    let (ip, host) = (h.spec.ip, h.spec.fqdn);
    let start = day0 + 8 * HOUR + h.rng.between(5 * MIN, 30 * MIN);
    let end = day0 + 17 * HOUR + h.rng.between(0, 50 * MIN);

    let outlook = h.launch(
        start,
        &explorer,
        Launch::new(
            r"C:\Program Files\Microsoft Office\root\Office16\OUTLOOK.EXE",
            r#""C:\Program Files\Microsoft Office\root\Office16\OUTLOOK.EXE" "#,
        )
        .cwd(&home),
    );
    h.dns_22(
        start + 2 * SEC,
        &outlook,
        "outlook.office365.com",
        "type:  5 outlook.ha.office365.com;type:  5 outlook.ms-acdc.office.com;::ffff:52.98.207.2;",
    );
    if p.sysmon_network {
        let port = ephemeral(h);
        h.net_3(
            start + 2 * SEC + 90,
            &outlook,
            &Conn {
                udp: false,
                initiated: true,
                src_ip: ip,
                src_host: host,
                src_port: port,
                dst_ip: "52.98.207.2",
                dst_host: "-",
                dst_port: 443,
            },
        );
    }
    h.exit(end, &outlook);

    let t = start + h.rng.between(2 * MIN, 20 * MIN);
    let chrome_image = r"C:\Program Files\Google\Chrome\Application\chrome.exe";
    let chrome = h.launch(
        t,
        &explorer,
        Launch::new(
            chrome_image,
            r#""C:\Program Files\Google\Chrome\Application\chrome.exe" "#,
        )
        .cwd(r"C:\Program Files\Google\Chrome\Application\137.0.7151.69\"),
    );
    for (i, kind) in [
        "--type=gpu-process",
        "--type=utility --utility-sub-type=network.mojom.NetworkService",
        "--type=renderer",
    ]
    .iter()
    .enumerate()
    {
        let cmd = format!(
            r#""C:\Program Files\Google\Chrome\Application\chrome.exe" {kind} --lang=en-US --service-sandbox-type=none --field-trial-handle=1956,i,{},{},262144 /prefetch:{}"#,
            h.rng.between(1_000_000_000, 9_999_999_999),
            h.rng.between(1_000_000_000, 9_999_999_999),
            2 + 2 * i
        );
        let c = h.spawn(t + 400 + 150 * i as i64, &chrome, chrome_image, &cmd);
        h.exit(end + 3 * SEC + i as i64, &c);
    }
    for _ in 0..h.rng.between(3, 5) {
        let tq = t + h.rng.between(MIN, 8 * HOUR);
        let (name, answer) = *h.rng.pick(BROWSER_NAMES);
        h.dns_22(tq, &chrome, name, answer);
        if p.sysmon_network {
            let dst = answer
                .rsplit("::ffff:")
                .next()
                .unwrap_or("")
                .trim_end_matches(';')
                .to_string();
            let port = ephemeral(h);
            h.net_3(
                tq + 60,
                &chrome,
                &Conn {
                    udp: false,
                    initiated: true,
                    src_ip: ip,
                    src_host: host,
                    src_port: port,
                    dst_ip: &dst,
                    dst_host: "-",
                    dst_port: 443,
                },
            );
        }
    }
    let dl = day0 + 11 * HOUR + h.rng.between(0, 3 * HOUR);
    let file = *h.rng.pick(&[
        "Q2-pipeline.pdf",
        "invoice-10442.pdf",
        "team-offsite-agenda.pdf",
        "price-list-2025.xlsx",
    ]);
    h.file_11(dl, &chrome, &format!(r"{home}Downloads\{file}"));
    h.exit(end + 2 * SEC, &chrome);

    let (image, doc) = *h.rng.pick(&[
        (
            r"C:\Program Files\Microsoft Office\root\Office16\WINWORD.EXE",
            "Documents\\Quarterly report.docx",
        ),
        (
            r"C:\Program Files\Microsoft Office\root\Office16\EXCEL.EXE",
            "Documents\\Forecast 2025.xlsx",
        ),
        (
            r"C:\Program Files\Microsoft Office\root\Office16\WINWORD.EXE",
            "Documents\\Meeting notes.docx",
        ),
    ]);
    let t = day0 + 10 * HOUR + h.rng.between(0, 4 * HOUR);
    let cmd = if image.ends_with("WINWORD.EXE") {
        format!(r#""{image}" /n "{home}{doc}" /o """#)
    } else {
        format!(r#""{image}" "{home}{doc}""#)
    };
    let office = h.launch(
        t,
        &explorer,
        Launch::new(image, &cmd).cwd(&format!(r"{home}Documents\")),
    );
    let owner = doc.replace("Documents\\", "Documents\\~$");
    h.file_11(t + 3 * SEC, &office, &format!("{home}{owner}"));
    h.reg_13(
        t + 5 * SEC,
        &explorer,
        &format!(
            r"HKU\{}\Software\Microsoft\Windows\CurrentVersion\Explorer\RecentDocs\MRUListEx",
            s.desktop.account.sid
        ),
        "Binary Data",
    );
    let closed = t + h.rng.between(20 * MIN, 2 * HOUR);
    h.exit(closed, &office);
    prefetch(h, t + 10 * SEC, image);
}

/// The administrator refreshes group policy from an elevated prompt.
fn admin_chores(h: &mut Host, day0: Ms, s: &Session) {
    let t = day0 + 9 * HOUR + h.rng.between(0, 40 * MIN);
    let appinfo = h.core.appinfo.clone();
    let consent = h.spawn(
        t - 2 * SEC,
        &appinfo,
        r"C:\Windows\System32\consent.exe",
        &format!("consent.exe {} 274 000001D3A8F0C1E0", appinfo.pid),
    );
    h.exit(t - 400, &consent);
    let cmd = h.launch(
        t,
        &s.explorer,
        Launch::new(
            r"C:\Windows\System32\cmd.exe",
            r#""C:\Windows\system32\cmd.exe" "#,
        )
        .as_logon(&s.elevated)
        .cwd(r"C:\Windows\system32\"),
    );
    let con = h.conhost(t + 10, &cmd);
    let gp = h.spawn(
        t + 14 * SEC,
        &cmd,
        r"C:\Windows\System32\gpupdate.exe",
        "gpupdate  /force",
    );
    h.exit(t + 31 * SEC, &gp);
    let ipc = h.spawn(
        t + 52 * SEC,
        &cmd,
        r"C:\Windows\System32\ipconfig.exe",
        "ipconfig  /all",
    );
    h.exit(t + 52 * SEC + 180, &ipc);
    let end = t + 3 * MIN + h.rng.between(0, 60 * SEC);
    h.exit(end, &con);
    h.exit(end + 5, &cmd);
}

/// OneDrive registers its per-user reporting task the first time the user signs in.
fn onedrive_task(h: &mut Host, day0: Ms, s: &Session) {
    let t = day0 + 8 * HOUR + 4 * MIN + h.rng.between(0, 20 * MIN);
    let user = &s.desktop.account;
    let exe = format!(
        r"C:\Users\{}\AppData\Local\Microsoft\OneDrive\OneDrive.exe",
        user.name
    );
    let onedrive = h.launch(
        t - 30 * SEC,
        &s.explorer,
        Launch::new(&exe, &format!(r#""{exe}" /background"#)),
    );
    let name = format!(r"\OneDrive Reporting Task-{}", user.sid);
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-16\"?>\r\n<Task version=\"1.2\" xmlns=\"http://schemas.microsoft.com/windows/2004/02/mit/task\">\r\n  <RegistrationInfo>\r\n    <Author>{domain}\\{name}</Author>\r\n    <URI>{uri}</URI>\r\n  </RegistrationInfo>\r\n  <Triggers>\r\n    <TimeTrigger>\r\n      <Repetition>\r\n        <Interval>P1D</Interval>\r\n        <StopAtDurationEnd>false</StopAtDurationEnd>\r\n      </Repetition>\r\n      <StartBoundary>2025-01-01T10:00:00</StartBoundary>\r\n      <Enabled>true</Enabled>\r\n    </TimeTrigger>\r\n  </Triggers>\r\n  <Principals>\r\n    <Principal id=\"Author\">\r\n      <UserId>{sid}</UserId>\r\n      <LogonType>InteractiveToken</LogonType>\r\n    </Principal>\r\n  </Principals>\r\n  <Actions Context=\"Author\">\r\n    <Exec>\r\n      <Command>%localappdata%\\Microsoft\\OneDrive\\OneDriveStandaloneUpdater.exe</Command>\r\n      <Arguments>/reporting</Arguments>\r\n    </Exec>\r\n  </Actions>\r\n</Task>",
        domain = user.domain,
        name = user.name,
        uri = name,
        sid = user.sid
    );
    h.task_4698(t, &s.desktop, &onedrive, &name, &xml);
}

/// Users opening a server's shares: network logon, 5140, logoff.
fn shares(h: &mut Host, p: &Profile, day0: Ms) {
    for u in &p.share_users {
        for _ in 0..h.rng.between(1, 3) {
            let t = day0 + 8 * HOUR + h.rng.between(0, 9 * HOUR);
            let logon = h.new_logon(t, &u.account, false, 0);
            let port = ephemeral(h);
            h.network_logon(t, &logon, Auth::Kerberos, u.ip, port, "-");
            let c = SmbClient {
                logon: &logon,
                ip: u.ip,
                port,
            };
            h.share_5140(t + 12, &c, r"\\*\IPC$", "");
            h.share_5140(t + 60, &c, u.share, u.local_path);
            let end = t + h.rng.between(2 * MIN, 50 * MIN);
            h.logoff_4634(end, &logon, 3);
        }
    }
}
