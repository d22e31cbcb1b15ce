//! UDM vocabulary: event types, logon-type mechanisms, and value normalisers shared by
//! readers (host names, IP addresses, logon ids).

/// UDM `metadata.event_type` values lateral emits.
pub mod event_type {
    pub const PROCESS_LAUNCH: &str = "PROCESS_LAUNCH";
    pub const PROCESS_TERMINATION: &str = "PROCESS_TERMINATION";
    pub const PROCESS_OPEN: &str = "PROCESS_OPEN";
    pub const PROCESS_MODULE_LOAD: &str = "PROCESS_MODULE_LOAD";
    pub const NETWORK_CONNECTION: &str = "NETWORK_CONNECTION";
    pub const NETWORK_DNS: &str = "NETWORK_DNS";
    pub const USER_LOGIN: &str = "USER_LOGIN";
    pub const USER_LOGOUT: &str = "USER_LOGOUT";
    pub const USER_RESOURCE_ACCESS: &str = "USER_RESOURCE_ACCESS";
    pub const USER_UNCATEGORIZED: &str = "USER_UNCATEGORIZED";
    pub const SERVICE_CREATION: &str = "SERVICE_CREATION";
    pub const SERVICE_MODIFICATION: &str = "SERVICE_MODIFICATION";
    pub const SERVICE_START: &str = "SERVICE_START";
    pub const SERVICE_STOP: &str = "SERVICE_STOP";
    pub const SERVICE_UNSPECIFIED: &str = "SERVICE_UNSPECIFIED";
    pub const SCHEDULED_TASK_CREATION: &str = "SCHEDULED_TASK_CREATION";
    pub const SCHEDULED_TASK_DELETION: &str = "SCHEDULED_TASK_DELETION";
    pub const SCHEDULED_TASK_MODIFICATION: &str = "SCHEDULED_TASK_MODIFICATION";
    pub const FILE_CREATION: &str = "FILE_CREATION";
    pub const FILE_OPEN: &str = "FILE_OPEN";
    pub const REGISTRY_CREATION: &str = "REGISTRY_CREATION";
    pub const REGISTRY_MODIFICATION: &str = "REGISTRY_MODIFICATION";
    pub const REGISTRY_DELETION: &str = "REGISTRY_DELETION";
    pub const STATUS_UPDATE: &str = "STATUS_UPDATE";
    pub const SYSTEM_AUDIT_LOG_WIPE: &str = "SYSTEM_AUDIT_LOG_WIPE";
    pub const GENERIC_EVENT: &str = "GENERIC_EVENT";
}

/// Windows logon type (4624/4625/4634 `LogonType`) as UDM `extensions.auth.mechanism`.
pub fn logon_type_mechanism(logon_type: &str) -> Option<&'static str> {
    Some(match logon_type.trim() {
        "0" => "LOCAL",
        "2" => "INTERACTIVE",
        "3" => "NETWORK",
        "4" => "BATCH",
        "5" => "SERVICE",
        "7" => "UNLOCK",
        "8" => "NETWORK_CLEAR_TEXT",
        "9" => "NEW_CREDENTIALS",
        "10" => "REMOTE_INTERACTIVE",
        "11" => "CACHED_INTERACTIVE",
        "12" => "CACHED_REMOTE_INTERACTIVE",
        "13" => "CACHED_UNLOCK",
        _ => return None,
    })
}

/// Normalise an IP address as logged by Windows: strip `::ffff:` mapping and IPv6 zone, lower-case.
/// Returns `None` for placeholders (`-`, empty).
pub fn normalize_ip(raw: &str) -> Option<String> {
    let s = raw.trim().trim_matches(|c| c == '[' || c == ']');
    if s.is_empty() || s == "-" {
        return None;
    }
    let s = s.strip_prefix("::ffff:").unwrap_or(s);
    let s = s.split('%').next().unwrap_or(s);
    match s.parse::<std::net::IpAddr>() {
        Ok(ip) => Some(ip.to_string()),
        Err(_) => Some(s.to_ascii_lowercase()),
    }
}

/// True for 127.0.0.0/8, `::1` and the unspecified addresses.
pub fn is_loopback_ip(ip: &str) -> bool {
    match ip.parse::<std::net::IpAddr>() {
        Ok(addr) => addr.is_loopback() || addr.is_unspecified(),
        Err(_) => false,
    }
}

/// Normalise a logon id to lower-case hex (`0x2990D17` -> `0x2990d17`); decimal becomes hex.
pub fn normalize_logon_id(raw: &str) -> Option<String> {
    let s = raw.trim();
    if s.is_empty() || s == "-" {
        return None;
    }
    crate::event::parse_int(s)
        .map(|v| format!("{:#x}", v as u64))
        .or_else(|| Some(s.to_ascii_lowercase()))
}

/// The short (NetBIOS-like) form of a host name: `WORKSTATION6.theshire.local` -> `workstation6`.
/// IP addresses are returned unchanged.
pub fn short_hostname(host: &str) -> String {
    let h = host.trim().trim_start_matches('\\').to_ascii_lowercase();
    if h.parse::<std::net::IpAddr>().is_ok() {
        return h;
    }
    h.split('.').next().unwrap_or(&h).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ips_normalise() {
        assert_eq!(
            normalize_ip("::ffff:10.0.2.17").as_deref(),
            Some("10.0.2.17")
        );
        assert_eq!(
            normalize_ip("fe80::90e:17af:263c:5209%12").as_deref(),
            Some("fe80::90e:17af:263c:5209")
        );
        assert_eq!(normalize_ip("-"), None);
        assert!(is_loopback_ip("127.0.0.1"));
        assert!(is_loopback_ip("::1"));
        assert!(!is_loopback_ip("10.0.2.17"));
    }

    #[test]
    fn logon_ids_and_hosts() {
        assert_eq!(
            normalize_logon_id("0x2990D17").as_deref(),
            Some("0x2990d17")
        );
        assert_eq!(normalize_logon_id("999").as_deref(), Some("0x3e7"));
        assert_eq!(
            short_hostname("WORKSTATION6.theshire.local"),
            "workstation6"
        );
        assert_eq!(short_hostname("10.0.2.17"), "10.0.2.17");
        assert_eq!(logon_type_mechanism("3"), Some("NETWORK"));
    }
}
