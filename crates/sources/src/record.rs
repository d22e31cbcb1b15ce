//! The intermediate form of a Windows event, common to every Windows reader (EVTX, the JSON
//! exports, XML) before it is mapped to UDM by [`crate::mapping`].

/// A Windows event as logged: System fields and the event's data, by name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WinRecord {
    /// Provider name (`Microsoft-Windows-Security-Auditing`, `Service Control Manager`, ...).
    pub provider: Option<String>,
    /// Channel as logged (exports may lower-case it: `security`).
    pub channel: Option<String>,
    pub event_id: Option<u32>,
    /// `System/Computer`: the host that wrote the event.
    pub computer: Option<String>,
    /// Event time, microseconds since the Unix epoch, UTC.
    pub time_micros: Option<i64>,
    /// `EventRecordID`.
    pub record_id: Option<u64>,
    /// `System/Security/@UserID`.
    pub user_sid: Option<String>,
    /// `System/Execution/@ProcessID` (the logging process).
    pub process_id: Option<u32>,
    pub thread_id: Option<u32>,
    /// Level, task, opcode, keywords as text when present.
    pub level: Option<String>,
    pub task: Option<String>,
    pub opcode: Option<String>,
    pub keywords: Option<String>,
    /// `EventData` / `UserData` values by name, in document order. Unnamed `<Data>` elements
    /// are named `Data`, `Data2`, `Data3`, ...; nested `UserData` elements use their element
    /// name (the innermost one).
    pub data: Vec<(String, String)>,
    /// Export metadata that is not event data (`Message`, NXLog identity fields, `host`, ...).
    pub extra: Vec<(String, String)>,
}

impl WinRecord {
    /// Event data value by name (exact first, then ASCII case-insensitive).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.data
            .iter()
            .find(|(k, _)| k == name)
            .or_else(|| self.data.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)))
            .map(|(_, v)| v.as_str())
    }

    /// Event data value by name, ignoring empty values and the `-` placeholder.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.get(name)
            .map(str::trim)
            .filter(|v| !v.is_empty() && *v != "-")
    }

    /// Add a data value; an unnamed value gets the next free `Data`, `Data2`, ... name.
    pub fn push_data(&mut self, name: Option<&str>, value: impl Into<String>) {
        let name = match name {
            Some(n) if !n.is_empty() => n.to_string(),
            _ => {
                let unnamed = self
                    .data
                    .iter()
                    .filter(|(k, _)| k.starts_with("Data"))
                    .count();
                if unnamed == 0 {
                    "Data".to_string()
                } else {
                    format!("Data{}", unnamed + 1)
                }
            }
        };
        self.data.push((name, value.into()));
    }

    /// Canonical channel name: known channels get their canonical spelling
    /// (`security` -> `Security`), others are returned as logged.
    pub fn canonical_channel(&self) -> Option<String> {
        self.channel.as_deref().map(canonical_channel)
    }
}

/// Canonical spelling of a channel name (exports sometimes lower-case it).
pub fn canonical_channel(raw: &str) -> String {
    const KNOWN: &[&str] = &[
        "Security",
        "System",
        "Application",
        "Microsoft-Windows-Sysmon/Operational",
        "Microsoft-Windows-WMI-Activity/Operational",
        "Microsoft-Windows-PowerShell/Operational",
        "Windows PowerShell",
        "Microsoft-Windows-WinRM/Operational",
        "Microsoft-Windows-TerminalServices-LocalSessionManager/Operational",
        "Microsoft-Windows-TerminalServices-RemoteConnectionManager/Operational",
        "Microsoft-Windows-RemoteDesktopServices-RdpCoreTS/Operational",
        "Microsoft-Windows-TaskScheduler/Operational",
        "Microsoft-Windows-SMBServer/Security",
        "Microsoft-Windows-SMBClient/Security",
        "Microsoft-Windows-Windows Defender/Operational",
    ];
    let t = raw.trim();
    KNOWN
        .iter()
        .find(|k| k.eq_ignore_ascii_case(t))
        .map(|k| k.to_string())
        .unwrap_or_else(|| t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unnamed_data_gets_numbered() {
        let mut r = WinRecord::default();
        r.push_data(None, "a");
        r.push_data(None, "b");
        r.push_data(Some("Named"), "-");
        assert_eq!(r.get("Data"), Some("a"));
        assert_eq!(r.get("Data2"), Some("b"));
        assert_eq!(r.value("named"), None);
        assert_eq!(canonical_channel("security"), "Security");
    }
}
