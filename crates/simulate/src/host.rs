//! The simulated world of one host: accounts, logon sessions, processes, and the allocation
//! of the identifiers Windows and Sysmon would give them (process ids, Sysmon process and
//! logon GUIDs, logon ids). Every event a host logs is pushed onto its [`Host::events`].

use std::collections::BTreeSet;

use crate::nxlog::{Channel, Event, Identity};
use crate::rng::Rng;
use crate::time::{Ms, SEC};

/// A Windows account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub name: String,
    pub domain: String,
    pub sid: String,
}

pub const SYSTEM_SID: &str = "S-1-5-18";
pub const NETWORK_SERVICE_SID: &str = "S-1-5-20";

impl Account {
    pub fn new(domain: &str, name: &str, sid: &str) -> Self {
        Account {
            name: name.into(),
            domain: domain.into(),
            sid: sid.into(),
        }
    }

    /// A domain account: `domain_sid` is `S-1-5-21-x-y-z`.
    pub fn domain_user(domain: &str, domain_sid: &str, name: &str, rid: u32) -> Self {
        Account::new(domain, name, &format!("{domain_sid}-{rid}"))
    }

    pub fn system() -> Self {
        Account::new("NT AUTHORITY", "SYSTEM", SYSTEM_SID)
    }

    pub fn network_service() -> Self {
        Account::new("NT AUTHORITY", "NETWORK SERVICE", NETWORK_SERVICE_SID)
    }

    /// `DOMAIN\name`, as Sysmon writes `User`.
    pub fn qualified(&self) -> String {
        format!("{}\\{}", self.domain, self.name)
    }

    pub fn identity(&self) -> Identity {
        Identity {
            name: self.name.clone(),
            domain: self.domain.clone(),
            sid: self.sid.clone(),
        }
    }
}

/// Mandatory integrity level of a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Integrity {
    Medium,
    High,
    System,
}

impl Integrity {
    /// Sysmon `IntegrityLevel`.
    pub fn sysmon(self) -> &'static str {
        match self {
            Integrity::Medium => "Medium",
            Integrity::High => "High",
            Integrity::System => "System",
        }
    }

    /// 4688 `MandatoryLabel`.
    pub fn label(self) -> &'static str {
        match self {
            Integrity::Medium => "S-1-16-8192",
            Integrity::High => "S-1-16-12288",
            Integrity::System => "S-1-16-16384",
        }
    }
}

/// 4688 `TokenElevationType`: full token (UAC not applied), elevated, limited.
pub const TOKEN_FULL: &str = "%%1936";
pub const TOKEN_ELEVATED: &str = "%%1937";
pub const TOKEN_LIMITED: &str = "%%1938";

/// A logon session.
#[derive(Debug, Clone)]
pub struct Logon {
    pub id: u64,
    pub account: Account,
    /// Sysmon `LogonGuid` (machine part, logon time, logon id).
    pub guid: String,
    pub session: u32,
    pub integrity: Integrity,
    pub elevation: &'static str,
    /// Holds administrative privileges (4672 is logged for it).
    pub admin: bool,
}

/// A running process.
#[derive(Debug, Clone)]
pub struct Proc {
    pub pid: u32,
    pub guid: String,
    pub image: String,
    pub cmd: String,
    pub cwd: String,
    pub logon: Logon,
}

impl Proc {
    pub fn user(&self) -> &Account {
        &self.logon.account
    }
}

/// The fixed facts about a host.
#[derive(Debug, Clone)]
pub struct HostSpec {
    /// NetBIOS name, upper case (`SALES-PC`).
    pub short: &'static str,
    /// What NXLog writes as `Hostname`.
    pub fqdn: &'static str,
    pub ip: &'static str,
    /// NetBIOS domain (`CORP`).
    pub domain: &'static str,
    /// UTC offset of the host's clock, minutes (for `EventTime`).
    pub tz_minutes: i32,
    /// When the host last booted (long-running processes date from then).
    pub boot: Ms,
    /// First `RecordNumber` of Security, System and Sysmon.
    pub first_record: [u64; 3],
}

/// The long-running processes every Windows host has.
#[derive(Debug, Clone)]
pub struct Core {
    pub system: Proc,
    pub services: Proc,
    pub lsass: Proc,
    pub winlogon: Proc,
    pub dcom_launch: Proc,
    pub schedule: Proc,
    pub appinfo: Proc,
    pub sysmain: Proc,
    pub dnscache: Proc,
    pub netsvcs: Proc,
    pub defender: Proc,
    pub sysmon: Proc,
}

/// Allocation of the identifiers Windows and Sysmon hand out on one host.
struct Ids {
    rng: Rng,
    boot: Ms,
    machine_guid: String,
    guid_tail: String,
    guids: BTreeSet<u32>,
    logon_base: u64,
    logons: BTreeSet<u64>,
    live: BTreeSet<u32>,
    pid_cursor: u32,
}

impl Ids {
    fn new(label: &str, boot: Ms) -> Self {
        let mut rng = Rng::from_label(&format!("ids|{label}"));
        let machine_guid = rng.hex(8);
        let guid_tail = format!("{:02x}00", rng.between(3, 9));
        let logon_base = rng.between(0x0004_0000, 0x0009_ffff) as u64;
        let pid_cursor = 1_800 + 4 * rng.between(0, 200) as u32;
        Ids {
            rng,
            boot,
            machine_guid,
            guid_tail,
            guids: BTreeSet::new(),
            logon_base,
            logons: BTreeSet::new(),
            live: BTreeSet::new(),
            pid_cursor,
        }
    }

    /// Sysmon process GUID: machine part, creation time (seconds, low then high half), a
    /// per-boot counter (little endian; it grows with time since boot), and a per-boot
    /// constant.
    fn process_guid(&mut self, t: Ms) -> String {
        let mut counter = 1 + ((t - self.boot).max(0) / 1000 / 20) as u32;
        while !self.guids.insert(counter) {
            counter += 1;
        }
        let secs = (t / 1000) as u32;
        let c = counter.to_le_bytes();
        format!(
            "{{{}-{:04x}-{:04x}-{:02x}{:02x}-{:02x}{:02x}0000{}}}",
            self.machine_guid,
            secs & 0xffff,
            secs >> 16,
            c[0],
            c[1],
            c[2],
            c[3],
            self.guid_tail
        )
    }

    /// Sysmon logon GUID: machine part, logon time, the logon id (little endian).
    fn logon_guid(&self, id: u64, t: Ms) -> String {
        let secs = (t / 1000) as u32;
        let b = id.to_le_bytes();
        format!(
            "{{{}-{:04x}-{:04x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}}}",
            self.machine_guid,
            secs & 0xffff,
            secs >> 16,
            b[0],
            b[1],
            b[2],
            b[3],
            b[4],
            b[5],
            b[6],
            b[7]
        )
    }

    fn well_known(&self, id: u64, account: Account, t: Ms) -> Logon {
        Logon {
            id,
            guid: self.logon_guid(id, t),
            account,
            session: 0,
            integrity: Integrity::System,
            elevation: TOKEN_FULL,
            admin: true,
        }
    }

    /// A process that started at boot, `after_s` seconds in, with a pid near `around`.
    fn boot_proc(
        &mut self,
        boot: Ms,
        after_s: i64,
        around: u32,
        image: &str,
        cmd: &str,
        logon: &Logon,
    ) -> Proc {
        let mut pid = around + 4 * self.rng.between(0, 40) as u32;
        while !self.live.insert(pid) {
            pid += 4;
        }
        Proc {
            pid,
            guid: self.process_guid(boot + after_s * SEC),
            image: image.into(),
            cmd: cmd.into(),
            cwd: r"C:\Windows\system32\".into(),
            logon: logon.clone(),
        }
    }
}

pub struct Host {
    pub spec: HostSpec,
    /// Jitter for the stories and the background (separate from identifier allocation).
    pub rng: Rng,
    pub events: Vec<Event>,
    /// `HOST$`: how 4688/4624 name SYSTEM and NETWORK SERVICE as subjects.
    pub machine: Account,
    pub system_logon: Logon,
    pub network_service_logon: Logon,
    pub core: Core,
    ids: Ids,
}

impl Host {
    pub fn new(spec: HostSpec) -> Self {
        let mut ids = Ids::new(spec.fqdn, spec.boot);
        let b = spec.boot;
        let sys = ids.well_known(0x3e7, Account::system(), b);
        let ns = ids.well_known(0x3e4, Account::network_service(), b);
        let svchost = r"C:\Windows\System32\svchost.exe";
        ids.live.insert(4);
        let system = Proc {
            pid: 4,
            guid: ids.process_guid(b),
            image: "System".into(),
            cmd: String::new(),
            cwd: String::new(),
            logon: sys.clone(),
        };
        let core = Core {
            system,
            winlogon: ids.boot_proc(b, 5, 560, r"C:\Windows\System32\winlogon.exe", "winlogon.exe", &sys),
            services: ids.boot_proc(b, 6, 640, r"C:\Windows\System32\services.exe", r"C:\Windows\system32\services.exe", &sys),
            lsass: ids.boot_proc(b, 6, 700, r"C:\Windows\System32\lsass.exe", r"C:\Windows\system32\lsass.exe", &sys),
            dcom_launch: ids.boot_proc(b, 7, 880, svchost, r"C:\Windows\system32\svchost.exe -k DcomLaunch -p", &sys),
            netsvcs: ids.boot_proc(b, 9, 1240, svchost, r"C:\Windows\system32\svchost.exe -k netsvcs -p", &sys),
            schedule: ids.boot_proc(b, 9, 1400, svchost, r"C:\Windows\system32\svchost.exe -k netsvcs -p -s Schedule", &sys),
            dnscache: ids.boot_proc(b, 10, 1620, svchost, r"C:\Windows\system32\svchost.exe -k NetworkService -p -s Dnscache", &ns),
            sysmain: ids.boot_proc(b, 11, 2000, svchost, r"C:\Windows\system32\svchost.exe -k LocalSystemNetworkRestricted -p -s SysMain", &sys),
            appinfo: ids.boot_proc(b, 12, 2240, svchost, r"C:\Windows\system32\svchost.exe -k netsvcs -p -s Appinfo", &sys),
            sysmon: ids.boot_proc(b, 14, 2800, r"C:\Windows\Sysmon64.exe", r"C:\Windows\Sysmon64.exe", &sys),
            defender: ids.boot_proc(
                b,
                15,
                3300,
                r"C:\ProgramData\Microsoft\Windows Defender\Platform\4.18.25050.5-0\MsMpEng.exe",
                r#""C:\ProgramData\Microsoft\Windows Defender\Platform\4.18.25050.5-0\MsMpEng.exe""#,
                &sys,
            ),
        };
        Host {
            machine: Account::new(spec.domain, &format!("{}$", spec.short), SYSTEM_SID),
            rng: Rng::from_label(&format!("jitter|{}", spec.fqdn)),
            events: Vec::new(),
            system_logon: sys,
            network_service_logon: ns,
            core,
            ids,
            spec,
        }
    }

    /// A new logon session for `account`. Logon ids grow with time since boot, as LSA's
    /// counter does.
    pub fn new_logon(&mut self, t: Ms, account: &Account, admin: bool, session: u32) -> Logon {
        let ids = &mut self.ids;
        let since_boot = (t - ids.boot).max(0) as u64 / 1000;
        let mut id = ids.logon_base + since_boot * 61 + ids.rng.between(0, 60) as u64;
        while !ids.logons.insert(id) {
            id += 1;
        }
        Logon {
            id,
            guid: ids.logon_guid(id, t),
            account: account.clone(),
            session,
            integrity: if admin {
                Integrity::High
            } else {
                Integrity::Medium
            },
            // Only administrators get a split token; this is the full (network) one.
            elevation: TOKEN_FULL,
            admin,
        }
    }

    /// A fresh process id (multiple of 4, not in use).
    pub fn new_pid(&mut self) -> u32 {
        let ids = &mut self.ids;
        loop {
            ids.pid_cursor += 4 * ids.rng.between(1, 120) as u32;
            if ids.pid_cursor > 30_000 {
                ids.pid_cursor = 1_200 + 4 * ids.rng.between(0, 100) as u32;
            }
            if ids.live.insert(ids.pid_cursor) {
                return ids.pid_cursor;
            }
        }
    }

    /// Reserve a specific process id (a story that fixes one) so it is never handed out
    /// otherwise. Ids are not reused within one generated scenario.
    pub fn reserve_pid(&mut self, pid: u32) -> u32 {
        self.ids.live.insert(pid);
        pid
    }

    /// A process record (no event): used by the builders that log a launch.
    pub fn new_proc(
        &mut self,
        t: Ms,
        pid: u32,
        image: &str,
        cmd: &str,
        cwd: &str,
        logon: &Logon,
    ) -> Proc {
        Proc {
            pid,
            guid: self.ids.process_guid(t),
            image: image.into(),
            cmd: cmd.into(),
            cwd: cwd.into(),
            logon: logon.clone(),
        }
    }

    /// Who a logon is when it is the *subject* of a Security event: SYSTEM and NETWORK
    /// SERVICE appear as the computer account.
    pub fn subject_of(&self, logon: &Logon) -> Account {
        match logon.account.sid.as_str() {
            SYSTEM_SID => self.machine.clone(),
            NETWORK_SERVICE_SID => Account::new(
                &self.machine.domain,
                &self.machine.name,
                NETWORK_SERVICE_SID,
            ),
            _ => logon.account.clone(),
        }
    }

    /// Queue an event.
    pub fn push(&mut self, t: Ms, channel: Channel, id: u32, data: Vec<(&'static str, String)>) {
        self.push_as(t, channel, id, data, None)
    }

    /// Queue an event carrying NXLog's identity fields.
    pub fn push_as(
        &mut self,
        t: Ms,
        channel: Channel,
        id: u32,
        data: Vec<(&'static str, String)>,
        identity: Option<Identity>,
    ) {
        let exec_pid = match channel {
            Channel::Security if matches!(id, 4688 | 5140 | 5145) => 4,
            Channel::Security => self.core.lsass.pid,
            Channel::System => self.core.services.pid,
            Channel::Sysmon => self.core.sysmon.pid,
        };
        let identity = match channel {
            Channel::Sysmon => Some(Account::system().identity()),
            _ => identity,
        };
        let thread = 4 * self.ids.rng.between(100, 3000) as u32;
        self.events.push(Event {
            time: t,
            channel,
            id,
            data,
            identity,
            exec_pid,
            thread,
        });
    }

    /// The rendered JSON lines of everything logged so far.
    pub fn render(&mut self) -> String {
        crate::nxlog::render(
            self.spec.fqdn,
            self.spec.tz_minutes,
            &mut self.events,
            self.spec.first_record,
        )
    }

    /// Local midnight of a calendar day, as UTC.
    pub fn local_midnight(&self, y: i32, m: u32, d: u32) -> Ms {
        crate::time::utc(y, m, d, 0, 0, 0, 0) - Ms::from(self.spec.tz_minutes) * crate::time::MIN
    }
}
