//! Building UDM events: every protocol module reports what it saw through an [`Emitter`],
//! which fills the common fields (time, addresses, provenance) the same way each time.

use std::collections::BTreeMap;

use lateral_model::{f, Provenance, UdmEvent};

/// Product name on every event from captures.
pub const PRODUCT: &str = "lateral pcap";
/// `metadata.log_type` of events from captures.
pub const LOG_TYPE: &str = "PCAP";
/// `lateral.source_format` of events from captures.
pub const FORMAT: &str = "PCAP";

/// The frame an observation was completed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FrameRef {
    pub number: u64,
    pub ts_us: i64,
    pub offset: u64,
}

/// The two ends of a connection, client first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnInfo {
    pub client_ip: String,
    pub client_port: u16,
    pub server_ip: String,
    pub server_port: u16,
    pub transport: &'static str,
}

impl ConnInfo {
    pub fn label(&self) -> String {
        format!(
            "{}:{} -> {}:{}",
            self.client_ip, self.client_port, self.server_ip, self.server_port
        )
    }
}

/// The order events leave a capture in: time, frame, then the order they were completed.
type Key = (i64, u64, u64);

/// Collects events as the protocol modules complete them and hands them on in a deterministic
/// order (time, frame, completion). Events wait in a reorder buffer until no live connection
/// can still complete an earlier one (see [`Emitter::release`]), so what is held follows the
/// connections open at once, not the length of the capture.
#[derive(Debug, Default)]
pub struct Emitter {
    pub file: String,
    held: BTreeMap<Key, UdmEvent>,
    seq: u64,
}

impl Emitter {
    pub fn new(file: &str) -> Self {
        Emitter {
            file: file.to_string(),
            held: BTreeMap::new(),
            seq: 0,
        }
    }

    /// A new event of `event_type` about `conn`, at `frame`, with application protocol `app`.
    pub fn event(&self, event_type: &str, app: &str, conn: &ConnInfo, frame: FrameRef) -> UdmEvent {
        let mut e = UdmEvent::new();
        e.set_timestamp_micros(frame.ts_us);
        e.set_str(f::EVENT_TYPE, event_type);
        e.set_str(f::PRODUCT_NAME, PRODUCT);
        e.set_str(f::VENDOR_NAME, "lateral");
        e.set_str(f::LOG_TYPE, LOG_TYPE);
        e.set_str(f::PRINCIPAL_IP, conn.client_ip.clone());
        e.set_int(f::PRINCIPAL_PORT, conn.client_port as i64);
        e.set_str(f::TARGET_IP, conn.server_ip.clone());
        e.set_int(f::TARGET_PORT, conn.server_port as i64);
        e.set_str(f::IP_PROTOCOL, conn.transport);
        if !app.is_empty() {
            e.set_str(f::APP_PROTOCOL, app);
        }
        e.set_str(f::DIRECTION, "OUTBOUND");
        if lateral_model::vocab::is_loopback_ip(&conn.client_ip) {
            e.set_bool(f::LOOPBACK, true);
        }
        e.set_provenance(&Provenance {
            file: self.file.clone(),
            format: FORMAT,
            record: Some(frame.number as i64),
            offset: Some(frame.offset as i64),
        });
        e.additional
            .insert("frame".into(), frame.number.to_string());
        e
    }

    pub fn push(&mut self, frame: FrameRef, e: UdmEvent) {
        self.seq += 1;
        self.held.insert((frame.ts_us, frame.number, self.seq), e);
    }

    /// Events waiting for earlier ones that may still come.
    pub fn held(&self) -> usize {
        self.held.len()
    }

    /// Hand on, in order, the held events at a time and frame before `before` (every held event
    /// when `None`). The caller passes the earliest frame any live connection may still
    /// complete an event at; `out` returns false to stop handing on (the rest stays held).
    pub fn release(&mut self, before: Option<(i64, u64)>, out: &mut dyn FnMut(UdmEvent) -> bool) {
        while let Some(entry) = self.held.first_entry() {
            let (ts, number, _) = *entry.key();
            if before.is_some_and(|b| (ts, number) >= b) {
                break;
            }
            if !out(entry.remove()) {
                break;
            }
        }
    }

    /// Hand on the earliest held event whatever may still come: keeps the buffer bounded when
    /// a long connection holds the release point back (the order then follows completion).
    pub fn release_first(&mut self, out: &mut dyn FnMut(UdmEvent) -> bool) -> bool {
        match self.held.pop_first() {
            Some((_, e)) => out(e),
            None => true,
        }
    }
}

/// The executable part of a command line or service binary path.
pub fn executable_of(cmd: &str) -> String {
    let t = cmd.trim();
    if let Some(rest) = t.strip_prefix('"') {
        return rest.split('"').next().unwrap_or(rest).to_string();
    }
    let first = t.split_whitespace().next().unwrap_or(t);
    // A path that may hold spaces (C:\Program Files\x.exe): up to the first executable extension.
    let pathlike = first.contains('\\') || first.get(1..2) == Some(":");
    if pathlike {
        let lower = t.to_ascii_lowercase();
        for ext in [".exe", ".com", ".bat", ".cmd", ".dll", ".ps1"] {
            if let Some(i) = lower.find(ext) {
                let end = i + ext.len();
                if lower.as_bytes().get(end).is_none_or(|c| *c == b' ') {
                    return t.get(..end).unwrap_or(t).to_string();
                }
            }
        }
    }
    first.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn executables() {
        assert_eq!(
            executable_of("%SystemRoot%\\PSEXESVC.exe"),
            "%SystemRoot%\\PSEXESVC.exe"
        );
        assert_eq!(executable_of("\"C:\\a b\\x.exe\" -k"), "C:\\a b\\x.exe");
        assert_eq!(executable_of("%COMSPEC% /b /c start"), "%COMSPEC%");
        assert_eq!(
            executable_of("%COMSPEC% /b /c start powershell.exe -nop"),
            "%COMSPEC%"
        );
        assert_eq!(executable_of("powershell.exe -c Reset"), "powershell.exe");
        assert_eq!(
            executable_of("C:\\Program Files\\x.exe arg"),
            "C:\\Program Files\\x.exe"
        );
    }
}

/// Who acts on a connection, as far as the capture tells: the account from the session's
/// authentication, the client's own name and the server's name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Who {
    pub user: Option<String>,
    pub domain: Option<String>,
    pub workstation: Option<String>,
    pub server_name: Option<String>,
    /// `NTLMv2`, `Kerberos`, ...
    pub auth: Option<String>,
    /// SMB session id (hex) when on SMB.
    pub session: Option<String>,
}

impl Who {
    /// The account as `DOMAIN\user` (or `user`).
    pub fn account(&self) -> Option<String> {
        let user = self.user.as_deref().filter(|u| !u.is_empty())?;
        Some(match self.domain.as_deref().filter(|d| !d.is_empty()) {
            Some(d) => format!("{d}\\{user}"),
            None => user.to_string(),
        })
    }

    /// Fill the acting side of an action event (service created, file written, ...).
    pub fn apply_actor(&self, e: &mut UdmEvent) {
        if let Some(u) = &self.user {
            e.set_str(f::PRINCIPAL_USERID, u.clone());
        }
        if let Some(d) = &self.domain {
            e.set_str(f::PRINCIPAL_DOMAIN, d.clone());
        }
        self.apply_hosts(e);
    }

    pub fn apply_hosts(&self, e: &mut UdmEvent) {
        if let Some(w) = &self.workstation {
            e.set_str(f::PRINCIPAL_HOSTNAME, w.clone());
        }
        if let Some(s) = &self.server_name {
            e.set_str(f::TARGET_HOSTNAME, s.clone());
        }
        if let Some(a) = &self.auth {
            e.set_str(f::AUTH_DETAILS, a.clone());
        }
        if let Some(s) = &self.session {
            e.additional.insert("smb_session".into(), s.clone());
        }
    }
}
