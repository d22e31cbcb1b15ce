//! Windows event → UDM mapping.
//!
//! Owns turning one [`WinRecord`] (whatever reader produced it) into the UDM columns of a
//! [`UdmEvent`]: which UDM field each Windows event-data field lands in, the event type, the
//! `lateral.*` extension columns, and `additional.fields` for everything not placed. The rules
//! are documented row by row in `docs/mapping.md`; [`ROWS`] lists the rows this code knows.
//!
//! It must not read files, know about formats, queries, hunts or output, and it must never
//! panic or fail: values may be garbage, and a record it does not know still becomes a
//! `GENERIC_EVENT` with all its data kept.
//!
//! Contract with the engine: the identity columns (`metadata.product_event_type`,
//! `lateral.event_id`, `lateral.channel`, `metadata.product_name`) are derived from the record's
//! identity only (EventID, [`WinRecord::canonical_channel`], provider), exactly as the scan's
//! pre-filter derives them before mapping.
//!
//! Placement principles (details in `docs/mapping.md`):
//! * `principal` is the actor, `target` what was acted on, `src` a distinct original source.
//! * The logging computer is `principal.hostname` when the local host acts (process launch,
//!   service install, outbound connection) and `target.hostname` when a remote client acts on
//!   it (inbound logon, share access, inbound connection).
//! * A data field copied into a UDM field (possibly normalised: IPs, logon ids, hex numbers,
//!   `DOMAIN\user` split) is *consumed*; every other non-empty field goes to
//!   `additional.fields` under its original name. A few fields whose UDM form loses
//!   information are placed *and* kept (see [`KEPT_FIELDS`]).

mod other;
mod security;
mod sysmon;
mod system;
mod text;

use lateral_model::vocab::{
    event_type, is_loopback_ip, normalize_ip, normalize_logon_id, short_hostname,
};
use lateral_model::{f, Field, UdmEvent};

use crate::record::WinRecord;

pub use text::service_executable;

/// Event-data fields that are placed in a UDM field *and* kept in `additional.fields`,
/// because the UDM form loses something hunters filter on.
pub const KEPT_FIELDS: &[&str] = &[
    "LogonType",
    "Status",
    "SubStatus",
    "Hashes",
    "TaskContent",
    "TaskContentNew",
    "ServiceAccount",
    "AccountName",
    "ContextInfo",
    "param2",
];

/// One row of the mapping table: a (channel, event id) pair with a dedicated mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MappedRow {
    /// Canonical channel name.
    pub channel: &'static str,
    pub event_id: u32,
    /// The event type(s) the row produces (`A / B` when it depends on the data).
    pub event_types: &'static str,
}

const fn row(channel: &'static str, event_id: u32, event_types: &'static str) -> MappedRow {
    MappedRow {
        channel,
        event_id,
        event_types,
    }
}

const SECURITY: &str = "Security";
const SYSTEM: &str = "System";
const SYSMON: &str = "Microsoft-Windows-Sysmon/Operational";
const WMI: &str = "Microsoft-Windows-WMI-Activity/Operational";
const PS: &str = "Microsoft-Windows-PowerShell/Operational";
const WINPS: &str = "Windows PowerShell";
const WINRM: &str = "Microsoft-Windows-WinRM/Operational";
const LSM: &str = "Microsoft-Windows-TerminalServices-LocalSessionManager/Operational";
const RCM: &str = "Microsoft-Windows-TerminalServices-RemoteConnectionManager/Operational";
const RDPCORE: &str = "Microsoft-Windows-RemoteDesktopServices-RdpCoreTS/Operational";
const TASKS: &str = "Microsoft-Windows-TaskScheduler/Operational";

/// Every (channel, event id) with a dedicated mapping. Anything else is a `GENERIC_EVENT`.
pub const ROWS: &[MappedRow] = &[
    row(SECURITY, 1102, "SYSTEM_AUDIT_LOG_WIPE"),
    row(SECURITY, 4624, "USER_LOGIN"),
    row(SECURITY, 4625, "USER_LOGIN"),
    row(SECURITY, 4634, "USER_LOGOUT"),
    row(SECURITY, 4647, "USER_LOGOUT"),
    row(SECURITY, 4648, "USER_LOGIN"),
    row(SECURITY, 4672, "USER_UNCATEGORIZED"),
    row(SECURITY, 4688, "PROCESS_LAUNCH"),
    row(SECURITY, 4689, "PROCESS_TERMINATION"),
    row(SECURITY, 4697, "SERVICE_CREATION"),
    row(SECURITY, 4698, "SCHEDULED_TASK_CREATION"),
    row(SECURITY, 4699, "SCHEDULED_TASK_DELETION"),
    row(SECURITY, 4700, "SCHEDULED_TASK_ENABLE"),
    row(SECURITY, 4701, "SCHEDULED_TASK_DISABLE"),
    row(SECURITY, 4702, "SCHEDULED_TASK_MODIFICATION"),
    row(SECURITY, 4768, "USER_LOGIN"),
    row(SECURITY, 4769, "USER_LOGIN"),
    row(SECURITY, 4771, "USER_LOGIN"),
    row(SECURITY, 4776, "USER_LOGIN"),
    row(SECURITY, 5140, "USER_RESOURCE_ACCESS"),
    row(SECURITY, 5142, "USER_RESOURCE_CREATION"),
    row(SECURITY, 5144, "USER_RESOURCE_DELETION"),
    row(SECURITY, 5145, "FILE_OPEN"),
    row(SECURITY, 5156, "NETWORK_CONNECTION"),
    row(SECURITY, 5157, "NETWORK_CONNECTION"),
    row(SYSTEM, 104, "SYSTEM_AUDIT_LOG_WIPE"),
    row(SYSTEM, 7000, "SERVICE_START"),
    row(SYSTEM, 7009, "SERVICE_START"),
    row(
        SYSTEM,
        7036,
        "SERVICE_UNSPECIFIED / SERVICE_START / SERVICE_STOP",
    ),
    row(SYSTEM, 7040, "SERVICE_MODIFICATION"),
    row(SYSTEM, 7045, "SERVICE_CREATION"),
    row(SYSTEM, 10016, "GENERIC_EVENT"),
    row(SYSMON, 1, "PROCESS_LAUNCH"),
    row(SYSMON, 3, "NETWORK_CONNECTION"),
    row(SYSMON, 5, "PROCESS_TERMINATION"),
    row(SYSMON, 7, "PROCESS_MODULE_LOAD"),
    row(SYSMON, 8, "PROCESS_INJECTION"),
    row(SYSMON, 10, "PROCESS_OPEN"),
    row(SYSMON, 11, "FILE_CREATION"),
    row(SYSMON, 12, "REGISTRY_CREATION / REGISTRY_DELETION"),
    row(SYSMON, 13, "REGISTRY_MODIFICATION"),
    row(SYSMON, 14, "REGISTRY_MODIFICATION"),
    row(SYSMON, 17, "FILE_CREATION"),
    row(SYSMON, 18, "FILE_OPEN"),
    row(SYSMON, 19, "GENERIC_EVENT"),
    row(SYSMON, 20, "GENERIC_EVENT"),
    row(SYSMON, 21, "GENERIC_EVENT"),
    row(SYSMON, 22, "NETWORK_DNS"),
    row(SYSMON, 23, "FILE_DELETION"),
    row(SYSMON, 26, "FILE_DELETION"),
    row(WMI, 5857, "PROCESS_MODULE_LOAD"),
    row(WMI, 5858, "GENERIC_EVENT"),
    row(WMI, 5860, "GENERIC_EVENT"),
    row(WMI, 5861, "GENERIC_EVENT"),
    row(PS, 4103, "PROCESS_UNCATEGORIZED"),
    row(PS, 4104, "PROCESS_UNCATEGORIZED"),
    row(WINPS, 400, "PROCESS_UNCATEGORIZED"),
    row(WINPS, 403, "PROCESS_UNCATEGORIZED"),
    row(WINPS, 600, "PROCESS_UNCATEGORIZED"),
    row(WINPS, 800, "PROCESS_UNCATEGORIZED"),
    row(WINRM, 6, "NETWORK_CONNECTION"),
    row(WINRM, 91, "USER_RESOURCE_ACCESS"),
    row(WINRM, 169, "USER_LOGIN"),
    row(LSM, 21, "USER_LOGIN"),
    row(LSM, 23, "USER_LOGOUT"),
    row(LSM, 24, "USER_LOGOUT"),
    row(LSM, 25, "USER_LOGIN"),
    row(RCM, 1149, "USER_LOGIN"),
    row(RDPCORE, 131, "NETWORK_CONNECTION"),
    row(RDPCORE, 140, "USER_LOGIN"),
    row(TASKS, 106, "SCHEDULED_TASK_CREATION"),
    row(TASKS, 129, "PROCESS_LAUNCH"),
    row(TASKS, 140, "SCHEDULED_TASK_MODIFICATION"),
    row(TASKS, 141, "SCHEDULED_TASK_DELETION"),
    row(TASKS, 200, "PROCESS_LAUNCH"),
];

/// Map one Windows record onto a UDM event.
///
/// Sets the metadata and `lateral.*` columns for every record, then the row's own placements;
/// records without a row become `GENERIC_EVENT`s. Never panics.
pub fn map_record(rec: &WinRecord, out: &mut UdmEvent) {
    let mut cx = Ctx::new(rec, out);
    let family = family(rec);
    cx.metadata(family);
    let handled = match rec.event_id {
        Some(id) => match family {
            Family::Security => security::map(&mut cx, id),
            Family::System => system::map(&mut cx, id),
            Family::Sysmon => sysmon::map(&mut cx, id),
            Family::WmiActivity => other::wmi(&mut cx, id),
            Family::PowerShell => other::powershell(&mut cx, id),
            Family::WindowsPowerShell => other::windows_powershell(&mut cx, id),
            Family::WinRm => other::winrm(&mut cx, id),
            Family::TsLocalSession => other::ts_local_session(&mut cx, id),
            Family::TsRemoteConnection => other::ts_remote_connection(&mut cx, id),
            Family::RdpCoreTs => other::rdp_core(&mut cx, id),
            Family::TaskScheduler => other::task_scheduler(&mut cx, id),
            Family::Application | Family::Defender | Family::Other => false,
        },
        None => false,
    };
    if !handled {
        cx.generic();
    }
    cx.finish();
}

/// Every event type [`map_record`] can give a record of this channel, provider and event id,
/// whatever its data. The engine uses it to skip records before mapping them when a query
/// constrains `metadata.event_type`.
pub fn possible_event_types(rec: &WinRecord) -> Vec<&'static str> {
    let channel = match family(rec) {
        Family::Security => SECURITY,
        Family::System => SYSTEM,
        Family::Sysmon => SYSMON,
        Family::WmiActivity => WMI,
        Family::PowerShell => PS,
        Family::WindowsPowerShell => WINPS,
        Family::WinRm => WINRM,
        Family::TsLocalSession => LSM,
        Family::TsRemoteConnection => RCM,
        Family::RdpCoreTs => RDPCORE,
        Family::TaskScheduler => TASKS,
        Family::Application | Family::Defender | Family::Other => {
            return vec![lateral_model::vocab::event_type::GENERIC_EVENT]
        }
    };
    match rec.event_id.and_then(|id| {
        ROWS.iter()
            .find(|r| r.channel == channel && r.event_id == id)
    }) {
        Some(r) => r.event_types.split('/').map(str::trim).collect(),
        None => vec![lateral_model::vocab::event_type::GENERIC_EVENT],
    }
}

/// The log a record belongs to, from its channel or, for unknown or forwarded channels, its
/// provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    Security,
    System,
    Application,
    Sysmon,
    WmiActivity,
    PowerShell,
    WindowsPowerShell,
    WinRm,
    TsLocalSession,
    TsRemoteConnection,
    RdpCoreTs,
    TaskScheduler,
    Defender,
    Other,
}

fn family(rec: &WinRecord) -> Family {
    let channel = rec.canonical_channel().unwrap_or_default();
    let by_channel = match channel.as_str() {
        "Security" => Family::Security,
        "System" => Family::System,
        "Application" => Family::Application,
        SYSMON => Family::Sysmon,
        WMI => Family::WmiActivity,
        PS => Family::PowerShell,
        WINPS => Family::WindowsPowerShell,
        WINRM => Family::WinRm,
        LSM => Family::TsLocalSession,
        RCM => Family::TsRemoteConnection,
        RDPCORE => Family::RdpCoreTs,
        TASKS => Family::TaskScheduler,
        "Microsoft-Windows-Windows Defender/Operational" => Family::Defender,
        _ => Family::Other,
    };
    if by_channel != Family::Other {
        return by_channel;
    }
    // ForwardedEvents, a missing channel, or an unusual export: go by provider.
    let provider = rec.provider.as_deref().unwrap_or_default().trim();
    let p = provider.to_ascii_lowercase();
    match p.as_str() {
        "microsoft-windows-security-auditing" => Family::Security,
        "microsoft-windows-eventlog" => {
            if rec.event_id == Some(1102) {
                Family::Security
            } else {
                Family::System
            }
        }
        "service control manager" | "microsoft-windows-distributedcom" | "dcom" => Family::System,
        "microsoft-windows-sysmon" => Family::Sysmon,
        "microsoft-windows-wmi-activity" => Family::WmiActivity,
        "microsoft-windows-powershell" => Family::PowerShell,
        "powershell" => Family::WindowsPowerShell,
        "microsoft-windows-winrm" => Family::WinRm,
        "microsoft-windows-terminalservices-localsessionmanager" => Family::TsLocalSession,
        "microsoft-windows-terminalservices-remoteconnectionmanager" => Family::TsRemoteConnection,
        "microsoft-windows-remotedesktopservices-rdpcorets" => Family::RdpCoreTs,
        "microsoft-windows-taskscheduler" => Family::TaskScheduler,
        "microsoft-windows-windows defender" => Family::Defender,
        _ => Family::Other,
    }
}

fn log_type(family: Family) -> &'static str {
    match family {
        Family::Sysmon => "WINDOWS_SYSMON",
        Family::PowerShell | Family::WindowsPowerShell => "POWERSHELL",
        Family::Defender => "WINDOWS_DEFENDER_AV",
        _ => "WINEVTLOG",
    }
}

/// Trimmed value, `None` for empty and the `-` placeholder.
fn clean(v: &str) -> Option<&str> {
    let t = v.trim();
    (!t.is_empty() && t != "-").then_some(t)
}

/// True when `host` names the logging computer itself (short-name comparison), `localhost`,
/// or a loopback address.
pub(crate) fn host_is_self(host: &str, computer: Option<&str>) -> bool {
    let h = short_hostname(host);
    if h.is_empty() || h == "-" {
        return false;
    }
    if h == "localhost" || is_loopback_ip(&h) {
        return true;
    }
    computer.is_some_and(|c| {
        let c = short_hostname(c);
        !c.is_empty() && c == h
    })
}

/// The working state of one mapping: the record, the event being filled, and which data
/// fields have been consumed.
pub(crate) struct Ctx<'a, 'b> {
    pub rec: &'a WinRecord,
    pub out: &'b mut UdmEvent,
    used: Vec<bool>,
    /// Values derived by the mapping, added to `additional.fields` (data fields win on clash).
    notes: Vec<(String, String)>,
    loopback: bool,
}

impl<'a, 'b> Ctx<'a, 'b> {
    fn new(rec: &'a WinRecord, out: &'b mut UdmEvent) -> Self {
        Ctx {
            rec,
            out,
            used: vec![false; rec.data.len()],
            notes: Vec::new(),
            loopback: false,
        }
    }

    fn metadata(&mut self, family: Family) {
        let rec = self.rec;
        if let Some(t) = rec.time_micros {
            self.out.set_timestamp_micros(t);
        } else if let Some(t) = self.get("UtcTime").and_then(text::parse_utc_time) {
            // Sysmon's own time, when the reader found no System time.
            self.out.set_timestamp_micros(t);
        }
        if let Some(id) = rec.event_id {
            self.out.set_str(f::PRODUCT_EVENT_TYPE, id.to_string());
            self.out.set_int(f::EVENT_ID, i64::from(id));
        }
        if let Some(p) = &rec.provider {
            self.out.set_str(f::PRODUCT_NAME, p.clone());
        }
        if let Some(c) = rec.canonical_channel() {
            self.out.set_str(f::CHANNEL, c);
        }
        self.out.set_str(f::VENDOR_NAME, "Microsoft");
        self.out.set_str(f::LOG_TYPE, log_type(family));
        if let Some(id) = rec.record_id {
            self.out.set_str(f::PRODUCT_LOG_ID, id.to_string());
        }
    }

    /// `GENERIC_EVENT`: the logging computer as principal, the System user SID, and (through
    /// [`Ctx::finish`]) every data field in `additional.fields`.
    fn generic(&mut self) {
        self.event_type(event_type::GENERIC_EVENT);
        self.computer_to(f::PRINCIPAL_HOSTNAME);
        self.system_user_to_principal();
        let first_line = self
            .message()
            .and_then(|m| m.lines().map(str::trim).find(|l| !l.is_empty()));
        if let Some(line) = first_line {
            self.out.set_str(f::DESCRIPTION, line);
        }
    }

    /// Copy every unconsumed data field and the notes into `additional.fields`; set
    /// `lateral.loopback`.
    fn finish(mut self) {
        for (i, (name, value)) in self.rec.data.iter().enumerate() {
            if self.used.get(i).copied().unwrap_or(false) {
                continue;
            }
            let Some(v) = clean(value) else { continue };
            let key = free_key(&self.out.additional, name);
            self.out.additional.insert(key, v.to_string());
        }
        for (k, v) in std::mem::take(&mut self.notes) {
            self.out.additional.insert_if_absent(k, v);
        }
        self.out.set_bool(f::LOOPBACK, self.loopback);
    }

    // ----- lookups ------------------------------------------------------------------------

    fn index(&self, name: &str) -> Option<usize> {
        let d = &self.rec.data;
        d.iter()
            .position(|(k, _)| k == name)
            .or_else(|| d.iter().position(|(k, _)| k.eq_ignore_ascii_case(name)))
    }

    /// A data value (trimmed, placeholders as `None`) without consuming it.
    pub fn get(&self, name: &str) -> Option<&'a str> {
        let rec: &'a WinRecord = self.rec;
        let i = self.index(name)?;
        rec.data.get(i).and_then(|(_, v)| clean(v))
    }

    /// Mark a data field as placed.
    pub fn consume(&mut self, name: &str) {
        if let Some(i) = self.index(name) {
            if let Some(u) = self.used.get_mut(i) {
                *u = true;
            }
        }
    }

    /// A data value, consumed.
    pub fn take(&mut self, name: &str) -> Option<&'a str> {
        let v = self.get(name)?;
        self.consume(name);
        Some(v)
    }

    /// The first data value whose text satisfies `pred` (not consumed).
    pub fn find_value(&self, pred: impl Fn(&str) -> bool) -> Option<&'a str> {
        let rec: &'a WinRecord = self.rec;
        rec.data
            .iter()
            .filter_map(|(_, v)| clean(v))
            .find(|v| pred(v))
    }

    /// An export's rendered message (`extra["Message"]`), when the reader kept one.
    pub fn message(&self) -> Option<&'a str> {
        let rec: &'a WinRecord = self.rec;
        rec.extra
            .iter()
            .find(|(k, _)| k == "Message")
            .and_then(|(_, m)| clean(m))
    }

    pub fn computer(&self) -> Option<&'a str> {
        let rec: &'a WinRecord = self.rec;
        rec.computer.as_deref().and_then(clean)
    }

    // ----- setters ------------------------------------------------------------------------

    pub fn event_type(&mut self, t: &str) {
        self.out.set_str(f::EVENT_TYPE, t);
    }

    pub fn describe(&mut self, d: &str) {
        self.out.set_str(f::DESCRIPTION, d);
    }

    pub fn set(&mut self, field: Field, value: &str) {
        self.out.set_str(field, value);
    }

    pub fn is_set(&self, field: Field) -> bool {
        self.out.get(field).is_some()
    }

    /// Add a derived value to `additional.fields` (a data field of the same name wins).
    pub fn note(&mut self, key: &str, value: &str) {
        if let Some(v) = clean(value) {
            self.notes.push((key.to_string(), v.to_string()));
        }
    }

    pub fn mark_loopback(&mut self) {
        self.loopback = true;
    }

    /// Mark loopback when `host` is the logging computer itself.
    pub fn loopback_if_self_host(&mut self, host: &str) {
        if host_is_self(host, self.computer()) {
            self.loopback = true;
        }
    }

    /// Mark loopback when `ip` is a loopback or unspecified address.
    pub fn loopback_if_ip(&mut self, ip: &str) {
        if is_loopback_ip(ip) {
            self.loopback = true;
        }
    }

    pub fn computer_to(&mut self, field: Field) {
        if let Some(c) = self.computer() {
            self.out.set_str(field, c);
        }
    }

    /// System/Security/@UserID as the actor's SID, unless the row set one already.
    pub fn system_user_to_principal(&mut self) {
        if let Some(sid) = self.rec.user_sid.as_deref().and_then(clean) {
            self.out.set_str_if_absent(f::PRINCIPAL_SID, sid);
        }
    }

    // ----- placements (consume on success) ------------------------------------------------

    /// Copy a text field verbatim.
    pub fn place(&mut self, field: Field, name: &str) -> Option<&'a str> {
        let v = self.get(name)?;
        self.out.set_str(field, v);
        self.consume(name);
        Some(v)
    }

    /// Copy a text field into several UDM fields.
    pub fn place_all(&mut self, fields: &[Field], name: &str) -> Option<&'a str> {
        let v = self.get(name)?;
        for field in fields {
            self.out.set_str(*field, v);
        }
        self.consume(name);
        Some(v)
    }

    /// A process id; 0 is a placeholder and is not placed.
    pub fn place_pid(&mut self, field: Field, name: &str) -> Option<i64> {
        let v = self.get(name)?;
        let n = lateral_model::event::parse_int(v).filter(|n| *n > 0)?;
        self.out.set_int(field, n);
        self.consume(name);
        Some(n)
    }

    /// A TCP/UDP port (1..=65535); 0 is a placeholder and is not placed.
    pub fn place_port(&mut self, field: Field, name: &str) -> Option<i64> {
        let v = self.get(name)?;
        let n = v.parse::<i64>().ok().filter(|n| (1..=65535).contains(n))?;
        self.out.set_int(field, n);
        self.consume(name);
        Some(n)
    }

    /// An IP address, normalised; anything that is not an address is left in
    /// `additional.fields`. Returns the normalised address.
    pub fn place_ip(&mut self, field: Field, name: &str) -> Option<String> {
        let v = self.get(name)?;
        let ip = valid_ip(v)?;
        self.out.set_str(field, ip.clone());
        self.consume(name);
        Some(ip)
    }

    /// A logon id, normalised to lower-case hex; `0x0` is a placeholder and is not placed.
    pub fn place_logon_id(&mut self, field: Field, name: &str) -> Option<String> {
        let v = self.get(name)?;
        let id = normalize_logon_id(v).filter(|id| id != "0x0")?;
        self.out.set_str(field, id.clone());
        self.consume(name);
        Some(id)
    }

    /// A SID; the NULL SID `S-1-0-0` is a placeholder and is not placed.
    pub fn place_sid(&mut self, field: Field, name: &str) -> Option<&'a str> {
        let v = self.get(name)?;
        if v.eq_ignore_ascii_case("S-1-0-0") {
            return None;
        }
        self.out.set_str(field, v);
        self.consume(name);
        Some(v)
    }

    /// A host name (leading `\\` removed).
    pub fn place_host(&mut self, fields: &[Field], name: &str) -> Option<&'a str> {
        let v = self.get(name)?;
        let h = v.trim_start_matches('\\').trim();
        if h.is_empty() || h == "-" {
            return None;
        }
        for field in fields {
            self.out.set_str(*field, h);
        }
        self.consume(name);
        Some(h)
    }

    /// A `DOMAIN\user` account split into user and domain fields.
    pub fn place_account(&mut self, user: Field, domain: Field, name: &str) -> Option<&'a str> {
        let v = self.get(name)?;
        let (d, u) = text::split_down_level(v);
        if let Some(u) = clean(u) {
            self.out.set_str(user, u);
        }
        if let Some(d) = d.and_then(clean) {
            self.out.set_str(domain, d);
        }
        self.consume(name);
        Some(v)
    }

    // ----- groups used by many rows -------------------------------------------------------

    /// `Subject*` fields → `principal.user.*`, `principal.administrative_domain`,
    /// `principal.logon_id`.
    pub fn subject_to_principal(&mut self) {
        self.place_sid(f::PRINCIPAL_SID, "SubjectUserSid");
        self.place(f::PRINCIPAL_USERID, "SubjectUserName");
        self.place(f::PRINCIPAL_DOMAIN, "SubjectDomainName");
        self.place_logon_id(f::PRINCIPAL_LOGON_ID, "SubjectLogonId");
    }

    /// `Target*` account fields → `target.user.*`, `target.administrative_domain`,
    /// `target.logon_id`.
    pub fn target_account(&mut self) {
        if self.place_sid(f::TARGET_SID, "TargetUserSid").is_none() {
            self.place_sid(f::TARGET_SID, "TargetSid");
        }
        self.place(f::TARGET_USERID, "TargetUserName");
        self.place(f::TARGET_DOMAIN, "TargetDomainName");
        self.place_logon_id(f::TARGET_LOGON_ID, "TargetLogonId");
    }

    /// `IpAddress`/`IpPort` → the given fields; loopback when the address is loopback.
    pub fn address(&mut self, ip_field: Field, port_field: Field, ip: &str, port: &str) {
        if let Some(addr) = self.place_ip(ip_field, ip) {
            self.loopback_if_ip(&addr);
        }
        self.place_port(port_field, port);
    }
}

/// A normalised IP address, or `None` when the text is not an address.
pub(crate) fn valid_ip(raw: &str) -> Option<String> {
    let ip = normalize_ip(raw)?;
    ip.parse::<std::net::IpAddr>().is_ok().then_some(ip)
}

/// `name`, or `name_2`, `name_3`, ... when taken.
fn free_key(map: &lateral_model::Additional, name: &str) -> String {
    if !map.contains_key(name) {
        return name.to_string();
    }
    (2..)
        .map(|n| format!("{name}_{n}"))
        .find(|k| !map.contains_key(k))
        .unwrap_or_else(|| name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(channel: &str, id: u32, data: &[(&str, &str)]) -> WinRecord {
        WinRecord {
            channel: Some(channel.into()),
            event_id: Some(id),
            computer: Some("HOST1.corp.local".into()),
            data: data
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..WinRecord::default()
        }
    }

    #[test]
    fn rows_are_unique() {
        let mut keys: Vec<_> = ROWS.iter().map(|r| (r.channel, r.event_id)).collect();
        keys.sort();
        let n = keys.len();
        keys.dedup();
        assert_eq!(keys.len(), n);
    }

    #[test]
    fn family_falls_back_to_provider() {
        let mut r = rec("ForwardedEvents", 4624, &[]);
        r.provider = Some("Microsoft-Windows-Security-Auditing".into());
        assert_eq!(family(&r), Family::Security);
        r.channel = None;
        r.provider = Some("Microsoft-Windows-Sysmon".into());
        assert_eq!(family(&r), Family::Sysmon);
        r.provider = Some("Microsoft-Windows-Eventlog".into());
        r.event_id = Some(1102);
        assert_eq!(family(&r), Family::Security);
        r.event_id = Some(104);
        assert_eq!(family(&r), Family::System);
        r.provider = None;
        assert_eq!(family(&r), Family::Other);
    }

    #[test]
    fn self_hosts() {
        assert!(host_is_self(
            "WORKSTATION5",
            Some("workstation5.theshire.local")
        ));
        assert!(host_is_self("\\\\workstation5", Some("WORKSTATION5")));
        assert!(host_is_self("localhost", None));
        assert!(host_is_self("127.0.0.1", Some("x")));
        assert!(!host_is_self("WORKSTATION6", Some("WORKSTATION5")));
        assert!(!host_is_self("", Some("")));
        assert!(!host_is_self("-", Some("-")));
    }

    #[test]
    fn unconsumed_duplicates_get_numbered_keys() {
        let r = rec(
            "Application",
            1,
            &[("A", "1"), ("A", "2"), ("B", " "), ("C", "-")],
        );
        let mut e = UdmEvent::new();
        map_record(&r, &mut e);
        assert_eq!(e.additional.get("A").map(String::as_str), Some("1"));
        assert_eq!(e.additional.get("A_2").map(String::as_str), Some("2"));
        assert!(!e.additional.contains_key("B"));
        assert!(!e.additional.contains_key("C"));
    }
}
