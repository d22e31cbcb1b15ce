//! One event as NXLog (`im_msvistalog`) forwards it through Logstash: the flattened JSON
//! object of the OTRF Security-Datasets exports. Identity and NXLog metadata first, then the
//! event data at the top level under its Windows names.

use serde_json::{Map, Value};

use crate::time::{iso_z, local_plain, Ms};

/// The logs collected on each host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Channel {
    Security,
    System,
    Sysmon,
}

impl Channel {
    pub fn name(self) -> &'static str {
        match self {
            Channel::Security => "Security",
            Channel::System => "System",
            Channel::Sysmon => "Microsoft-Windows-Sysmon/Operational",
        }
    }

    fn provider(self) -> &'static str {
        match self {
            Channel::Security => "Microsoft-Windows-Security-Auditing",
            Channel::System => "Service Control Manager",
            Channel::Sysmon => "Microsoft-Windows-Sysmon",
        }
    }

    fn provider_guid(self) -> &'static str {
        match self {
            Channel::Security => "{54849625-5478-4994-A5BA-3E3B0328C30D}",
            Channel::System => "{555908D1-A6D7-4695-8E1E-26931D2012F4}",
            Channel::Sysmon => "{5770385F-C22A-43E0-BF4C-06F5698FFBD9}",
        }
    }

    /// Keywords as NXLog writes them: the 64-bit mask as a signed integer.
    fn keywords(self) -> i64 {
        match self {
            // Audit Success (0x8020000000000000).
            Channel::Security => -9_214_364_837_600_034_816,
            // Classic (0x8080000000000000).
            Channel::System => -9_187_343_239_835_811_840,
            // 0x8000000000000000.
            Channel::Sysmon => i64::MIN,
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// The account NXLog resolves from `System/Security/@UserID` (`AccountName`, `Domain`,
/// `UserID`, `AccountType`); present on Sysmon and some System events, never on Security.
#[derive(Debug, Clone)]
pub struct Identity {
    pub name: String,
    pub domain: String,
    pub sid: String,
}

/// One event before rendering.
#[derive(Debug, Clone)]
pub struct Event {
    pub time: Ms,
    pub channel: Channel,
    pub id: u32,
    /// Event data in the order Windows writes it.
    pub data: Vec<(&'static str, String)>,
    pub identity: Option<Identity>,
    /// The process that logged it (lsass, System, services.exe, Sysmon).
    pub exec_pid: u32,
    pub thread: u32,
}

/// Task, category, version of an event id (what `wevtutil gp` reports for the provider).
struct Meta {
    task: u32,
    category: Option<&'static str>,
    version: u32,
}

fn meta(channel: Channel, id: u32) -> Meta {
    let m = |task, category, version| Meta {
        task,
        category,
        version,
    };
    match channel {
        Channel::Security => match id {
            4624 => m(12544, Some("Logon"), 2),
            4648 => m(12544, Some("Logon"), 0),
            4634 | 4647 => m(12545, Some("Logoff"), 0),
            4672 => m(12548, Some("Special Logon"), 0),
            4688 => m(13312, Some("Process Creation"), 2),
            4697 => m(12289, Some("Security System Extension"), 0),
            4698 => m(12804, Some("Other Object Access Events"), 1),
            5140 => m(12808, Some("File Share"), 1),
            5145 => m(12811, Some("Detailed File Share"), 0),
            _ => m(0, None, 0),
        },
        Channel::System => m(0, None, 0),
        Channel::Sysmon => match id {
            1 => m(1, Some("Process Create (rule: ProcessCreate)"), 5),
            3 => m(
                3,
                Some("Network connection detected (rule: NetworkConnect)"),
                5,
            ),
            5 => m(5, Some("Process terminated (rule: ProcessTerminate)"), 3),
            11 => m(11, Some("File created (rule: FileCreate)"), 2),
            13 => m(13, Some("Registry value set (rule: RegistryEvent)"), 2),
            17 => m(17, Some("Pipe Created (rule: PipeEvent)"), 1),
            18 => m(18, Some("Pipe Connected (rule: PipeEvent)"), 1),
            22 => m(22, Some("Dns query (rule: DnsQuery)"), 5),
            _ => m(id, None, 0),
        },
    }
}

/// Render a host's events as JSON lines: sorted by time (stable, so events logged in the same
/// millisecond keep the order they were produced in), `RecordNumber` counting up per channel
/// from `first_record[channel]`.
pub fn render(host: &str, tz_minutes: i32, events: &mut [Event], first_record: [u64; 3]) -> String {
    let mut next = first_record;
    render_counting(host, tz_minutes, events, &mut next)
}

/// [`render`], with the next `RecordNumber` of each channel kept in `next` between calls (a
/// host rendered day by day).
pub fn render_counting(
    host: &str,
    tz_minutes: i32,
    events: &mut [Event],
    next: &mut [u64; 3],
) -> String {
    events.sort_by_key(|e| e.time);
    let mut out = String::new();
    for e in events.iter() {
        let rec = next[e.channel.index()];
        next[e.channel.index()] += 1;
        out.push_str(&Value::Object(object(host, tz_minutes, e, rec)).to_string());
        out.push('\n');
    }
    out
}

fn object(host: &str, tz_minutes: i32, e: &Event, record: u64) -> Map<String, Value> {
    let meta = meta(e.channel, e.id);
    let mut o = Map::new();
    let mut put = |k: &str, v: Value| {
        o.insert(k.to_string(), v);
    };
    put("@timestamp", iso_z(e.time).into());
    put("EventTime", local_plain(e.time, tz_minutes).into());
    put("Hostname", host.into());
    put("Keywords", e.channel.keywords().into());
    // Events with an `EventType` of their own (Sysmon 13, 17, 18) keep theirs, as in the
    // Security-Datasets exports.
    let own_event_type = e.data.iter().any(|(k, _)| *k == "EventType");
    if !own_event_type {
        let t = if e.channel == Channel::Security {
            "AUDIT_SUCCESS"
        } else {
            "INFO"
        };
        put("EventType", t.into());
    }
    put("SeverityValue", 2.into());
    put("Severity", "INFO".into());
    put("EventID", e.id.into());
    put("SourceName", e.channel.provider().into());
    put("ProviderGuid", e.channel.provider_guid().into());
    put("Version", meta.version.into());
    put("Task", meta.task.into());
    put("OpcodeValue", 0.into());
    put("RecordNumber", record.into());
    put("ExecutionProcessID", e.exec_pid.into());
    put("ThreadID", e.thread.into());
    put("Channel", e.channel.name().into());
    if let Some(id) = &e.identity {
        put("Domain", id.domain.as_str().into());
        put("AccountName", id.name.as_str().into());
        put("UserID", id.sid.as_str().into());
        put("AccountType", "User".into());
    }
    if let Some(c) = meta.category {
        put("Category", c.into());
    }
    if e.channel != Channel::System {
        put("Opcode", "Info".into());
    }
    for (k, v) in &e.data {
        // NXLog writes its identity fields over same-named event data (7045 `AccountName`).
        if e.identity.is_some() && matches!(*k, "AccountName" | "Domain" | "UserID") {
            continue;
        }
        put(k, v.as_str().into());
    }
    o
}
