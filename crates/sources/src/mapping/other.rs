//! Rows of the smaller operational logs: WMI-Activity, PowerShell (operational and classic),
//! WinRM, Terminal Services (LocalSessionManager, RemoteConnectionManager), RdpCoreTS and
//! TaskScheduler.

use lateral_model::f;
use lateral_model::vocab::event_type as et;

use super::text::{
    block_value, mof_property, split_down_level, split_ip_port, utf16le_hex_strings,
};
use super::{valid_ip, Ctx};

/// PowerShell activity has no closer UDM type than this.
const PROCESS_UNCATEGORIZED: &str = "PROCESS_UNCATEGORIZED";

// ----- WMI-Activity ---------------------------------------------------------------------------

pub(super) fn wmi(cx: &mut Ctx, id: u32) -> bool {
    match id {
        5857 => wmi_provider_started(cx),
        5858 => wmi_client_failure(cx),
        5860 => wmi_temporary_subscription(cx),
        5861 => wmi_permanent_binding(cx),
        _ => return false,
    }
    true
}

fn wmi_provider_started(cx: &mut Ctx) {
    cx.event_type(et::PROCESS_MODULE_LOAD);
    cx.computer_to(f::PRINCIPAL_HOSTNAME);
    cx.place(f::PRINCIPAL_PATH, "HostProcess");
    cx.place_pid(f::PRINCIPAL_PID, "ProcessID");
    let provider = cx.place(f::TARGET_RESOURCE, "ProviderName");
    cx.place(f::TARGET_FILE_PATH, "ProviderPath");
    let text = match provider {
        Some(p) => format!("WMI provider {p} started"),
        None => "A WMI provider started".to_string(),
    };
    cx.describe(&text);
}

/// `ClientMachine` is the machine the WMI operation came from.
fn wmi_client_failure(cx: &mut Ctx) {
    cx.event_type(et::GENERIC_EVENT);
    cx.set(f::ACTION, "FAIL");
    cx.computer_to(f::TARGET_HOSTNAME);
    if let Some(m) = cx.place_host(&[f::PRINCIPAL_HOSTNAME], "ClientMachine") {
        cx.loopback_if_self_host(m);
    }
    cx.place_account(f::PRINCIPAL_USERID, f::PRINCIPAL_DOMAIN, "User");
    cx.place_pid(f::PRINCIPAL_PID, "ClientProcessId");
    cx.place(f::SECURITY_SUMMARY, "ResultCode");
    if cx.place(f::DESCRIPTION, "Operation").is_none() {
        cx.describe("A WMI operation failed");
    }
}

fn wmi_temporary_subscription(cx: &mut Ctx) {
    cx.event_type(et::GENERIC_EVENT);
    cx.computer_to(f::TARGET_HOSTNAME);
    if cx.place(f::TARGET_RESOURCE, "NamespaceName").is_none() {
        cx.place(f::TARGET_RESOURCE, "Namespace");
    }
    cx.place_account(f::PRINCIPAL_USERID, f::PRINCIPAL_DOMAIN, "User");
    cx.place_pid(f::PRINCIPAL_PID, "Processid");
    match cx.place_host(&[f::PRINCIPAL_HOSTNAME], "MachineName") {
        Some(m) => cx.loopback_if_self_host(m),
        None => cx.computer_to(f::PRINCIPAL_HOSTNAME),
    }
    if cx.place(f::DESCRIPTION, "Query").is_none() {
        cx.describe("A temporary WMI event subscription was registered");
    }
}

/// 5861: `PossibleCause` holds the filter and consumer instances; the consumer's
/// `CommandLineTemplate`/`ExecutablePath` are lifted into `target.process`.
fn wmi_permanent_binding(cx: &mut Ctx) {
    cx.event_type(et::GENERIC_EVENT);
    cx.computer_to(f::PRINCIPAL_HOSTNAME);
    cx.system_user_to_principal();
    cx.place(f::TARGET_RESOURCE, "CONSUMER");
    match cx.place(f::DESCRIPTION, "PossibleCause") {
        Some(cause) => {
            if let Some(cmd) = mof_property(cause, "CommandLineTemplate") {
                cx.set(f::TARGET_CMD, &cmd);
            }
            if let Some(exe) = mof_property(cause, "ExecutablePath") {
                cx.set(f::TARGET_PATH, &exe);
            }
        }
        None => cx.describe("A WMI event filter was bound to a permanent consumer"),
    }
}

// ----- PowerShell -----------------------------------------------------------------------------

pub(super) fn powershell(cx: &mut Ctx, id: u32) -> bool {
    match id {
        4103 => module_logging(cx),
        4104 => script_block(cx),
        _ => return false,
    }
    true
}

/// 4103: `Payload` → description; from `ContextInfo` (kept): `Host Application` →
/// `principal.process.command_line`, `User` → `principal.user`, `Connected User` (remoting
/// client account) → `src.user`, `Script Name` → `target.file.full_path`.
fn module_logging(cx: &mut Ctx) {
    cx.event_type(PROCESS_UNCATEGORIZED);
    cx.computer_to(f::PRINCIPAL_HOSTNAME);
    if cx.place(f::DESCRIPTION, "Payload").is_none() {
        cx.describe("PowerShell module logging: pipeline execution details");
    }
    if let Some(ctx) = cx.get("ContextInfo") {
        if let Some(host) = block_value(ctx, "Host Application") {
            cx.set(f::PRINCIPAL_CMD, host);
        }
        if let Some(user) = block_value(ctx, "User") {
            set_account(cx, f::PRINCIPAL_USERID, f::PRINCIPAL_DOMAIN, user);
        }
        if let Some(user) = block_value(ctx, "Connected User") {
            set_account(cx, f::SRC_USERID, f::SRC_DOMAIN, user);
        }
        if let Some(script) = block_value(ctx, "Script Name") {
            cx.set(f::TARGET_FILE_PATH, script);
        }
    }
    cx.system_user_to_principal();
}

fn set_account(cx: &mut Ctx, user: lateral_model::Field, domain: lateral_model::Field, v: &str) {
    let (d, u) = split_down_level(v);
    cx.set(user, u);
    if let Some(d) = d {
        cx.set(domain, d);
    }
}

/// 4104: `ScriptBlockText` → description, `Path` → `target.file.full_path`.
fn script_block(cx: &mut Ctx) {
    cx.event_type(PROCESS_UNCATEGORIZED);
    cx.computer_to(f::PRINCIPAL_HOSTNAME);
    cx.system_user_to_principal();
    if cx.place(f::DESCRIPTION, "ScriptBlockText").is_none() {
        cx.describe("PowerShell script block logged");
    }
    cx.place(f::TARGET_FILE_PATH, "Path");
}

/// Classic "Windows PowerShell" log: the details are an unnamed `Key=Value` block (the raw
/// `Data` fields are kept). 400/403/600: `HostApplication` → `target.process.command_line`
/// (the host being started/stopped); 800: `HostApplication` → `principal.process.command_line`,
/// `UserId` → `principal.user`, the pipeline `CommandLine` → description.
pub(super) fn windows_powershell(cx: &mut Ctx, id: u32) -> bool {
    let (describe, host_field) = match id {
        400 => (
            "PowerShell engine state changed to Available",
            f::TARGET_CMD,
        ),
        403 => ("PowerShell engine state changed to Stopped", f::TARGET_CMD),
        600 => ("PowerShell provider started", f::TARGET_CMD),
        800 => ("PowerShell pipeline execution details", f::PRINCIPAL_CMD),
        _ => return false,
    };
    cx.event_type(PROCESS_UNCATEGORIZED);
    cx.computer_to(f::PRINCIPAL_HOSTNAME);
    cx.system_user_to_principal();
    cx.describe(describe);
    // Flattened exports (NXLog) may have dropped the unnamed data; the rendered message
    // holds the same block.
    let block = cx
        .find_value(|v| v.contains("HostApplication="))
        .or_else(|| cx.message().filter(|m| m.contains("HostApplication=")));
    if let Some(block) = block {
        if let Some(host) = block_value(block, "HostApplication") {
            cx.set(host_field, host);
        }
        if id == 800 {
            if let Some(user) = block_value(block, "UserId") {
                set_account(cx, f::PRINCIPAL_USERID, f::PRINCIPAL_DOMAIN, user);
            }
            if let Some(cmd) = block_value(block, "CommandLine") {
                cx.describe(cmd);
            }
        }
    }
    true
}

// ----- WinRM ----------------------------------------------------------------------------------

pub(super) fn winrm(cx: &mut Ctx, id: u32) -> bool {
    match id {
        6 => winrm_session(cx),
        91 => winrm_shell(cx),
        169 => winrm_authenticated(cx),
        _ => return false,
    }
    true
}

/// 6 (client side): `connection` (`host/wsman?PSVersion=5.1`, sometimes with a scheme and
/// port) → `target.url` as logged, its host → `target.hostname` or `target.ip`.
fn winrm_session(cx: &mut Ctx) {
    cx.event_type(et::NETWORK_CONNECTION);
    cx.describe("Creating WSMan session");
    cx.set(f::DIRECTION, "OUTBOUND");
    cx.computer_to(f::PRINCIPAL_HOSTNAME);
    cx.system_user_to_principal();
    if let Some(conn) = cx.place(f::TARGET_URL, "connection") {
        let host = url_host(conn);
        if let Some(ip) = valid_ip(host) {
            cx.set(f::TARGET_IP, &ip);
            cx.loopback_if_ip(&ip);
        } else {
            cx.set(f::TARGET_HOSTNAME, host);
            cx.loopback_if_self_host(host);
        }
    }
}

/// Host part of `http://host:5985/wsman`, `host:port` or a bare host.
fn url_host(s: &str) -> &str {
    let s = s.trim();
    let rest = s.split_once("://").map_or(s, |(_, r)| r);
    let hostport = rest.split(['/', '?']).next().unwrap_or(rest);
    let hostport = hostport.rsplit_once('@').map_or(hostport, |(_, h)| h);
    split_ip_port(hostport).0
}

/// 91 (server side): a shell is created for a remote client. `resourceUri` → `target.url`;
/// when the reader only kept the undecoded `EventPayload`, its first string is the URI.
fn winrm_shell(cx: &mut Ctx) {
    cx.event_type(et::USER_RESOURCE_ACCESS);
    cx.describe("Creating WSMan shell on server");
    cx.computer_to(f::TARGET_HOSTNAME);
    cx.system_user_to_principal();
    if cx.place(f::TARGET_URL, "resourceUri").is_none() {
        let decoded = cx
            .get("EventPayload")
            .map(utf16le_hex_strings)
            .and_then(|s| s.into_iter().next());
        if let Some(uri) = decoded {
            cx.set(f::TARGET_URL, &uri);
        }
    }
}

fn winrm_authenticated(cx: &mut Ctx) {
    cx.event_type(et::USER_LOGIN);
    cx.describe("WinRM user authenticated successfully");
    cx.set(f::ACTION, "ALLOW");
    cx.computer_to(f::TARGET_HOSTNAME);
    cx.place_account(f::TARGET_USERID, f::TARGET_DOMAIN, "username");
    cx.place(f::AUTH_DETAILS, "authenticationMechanism");
}

// ----- Terminal Services / RDP ----------------------------------------------------------------

/// `Address`: a client IP → `principal.ip` (an RDP session), `LOCAL` → the console (loopback).
fn session_address(cx: &mut Ctx, name: &str, remote_mechanism: Option<&str>) {
    let Some(addr) = cx.get(name) else { return };
    let (host, port) = split_ip_port(addr);
    if let Some(ip) = valid_ip(host) {
        cx.set(f::PRINCIPAL_IP, &ip);
        if let Some(p) = port.and_then(|p| p.parse::<i64>().ok()) {
            cx.out.set_int(f::PRINCIPAL_PORT, p);
        }
        cx.consume(name);
        if lateral_model::vocab::is_loopback_ip(&ip) {
            cx.mark_loopback();
        } else {
            cx.set(f::APP_PROTOCOL, "RDP");
            if let Some(m) = remote_mechanism {
                cx.set(f::AUTH_MECHANISM, m);
            }
        }
    } else if addr.eq_ignore_ascii_case("LOCAL") {
        cx.computer_to(f::PRINCIPAL_HOSTNAME);
        cx.mark_loopback();
    }
}

pub(super) fn ts_local_session(cx: &mut Ctx, id: u32) -> bool {
    let (t, d, mechanism) = match id {
        21 => (
            et::USER_LOGIN,
            "Remote Desktop Services: Session logon succeeded",
            Some("REMOTE_INTERACTIVE"),
        ),
        23 => (
            et::USER_LOGOUT,
            "Remote Desktop Services: Session logoff succeeded",
            None,
        ),
        24 => (
            et::USER_LOGOUT,
            "Remote Desktop Services: Session has been disconnected",
            None,
        ),
        25 => (
            et::USER_LOGIN,
            "Remote Desktop Services: Session reconnection succeeded",
            Some("REMOTE_INTERACTIVE"),
        ),
        _ => return false,
    };
    cx.event_type(t);
    cx.describe(d);
    cx.computer_to(f::TARGET_HOSTNAME);
    cx.place_account(f::TARGET_USERID, f::TARGET_DOMAIN, "User");
    session_address(cx, "Address", mechanism);
    true
}

pub(super) fn ts_remote_connection(cx: &mut Ctx, id: u32) -> bool {
    if id != 1149 {
        return false;
    }
    cx.event_type(et::USER_LOGIN);
    cx.describe("Remote Desktop Services: User authentication succeeded");
    cx.set(f::ACTION, "ALLOW");
    cx.computer_to(f::TARGET_HOSTNAME);
    cx.place(f::TARGET_USERID, "Param1");
    cx.place(f::TARGET_DOMAIN, "Param2");
    session_address(cx, "Param3", None);
    true
}

pub(super) fn rdp_core(cx: &mut Ctx, id: u32) -> bool {
    match id {
        131 => {
            cx.event_type(et::NETWORK_CONNECTION);
            cx.describe("The server accepted a new connection from a client");
            cx.set(f::DIRECTION, "INBOUND");
            cx.set(f::APP_PROTOCOL, "RDP");
            cx.computer_to(f::TARGET_HOSTNAME);
            session_address(cx, "ClientIP", None);
            if let Some(t) = cx.take("ConnType") {
                cx.set(f::IP_PROTOCOL, &t.to_ascii_uppercase());
            }
        }
        140 => {
            cx.event_type(et::USER_LOGIN);
            cx.describe("A connection from a client failed: user name or password not correct");
            cx.set(f::ACTION, "BLOCK");
            cx.set(f::APP_PROTOCOL, "RDP");
            cx.computer_to(f::TARGET_HOSTNAME);
            session_address(cx, "IPString", None);
        }
        _ => return false,
    }
    true
}

// ----- TaskScheduler --------------------------------------------------------------------------

pub(super) fn task_scheduler(cx: &mut Ctx, id: u32) -> bool {
    let (t, d) = match id {
        106 => (et::SCHEDULED_TASK_CREATION, "Task registered"),
        140 => (et::SCHEDULED_TASK_MODIFICATION, "Task registration updated"),
        141 => (et::SCHEDULED_TASK_DELETION, "Task registration deleted"),
        129 => (et::PROCESS_LAUNCH, "Task Scheduler launched a task process"),
        200 => (et::PROCESS_LAUNCH, "Task Scheduler launched an action"),
        _ => return false,
    };
    cx.event_type(t);
    cx.describe(d);
    cx.computer_to(f::PRINCIPAL_HOSTNAME);
    cx.place_all(&[f::TARGET_RESOURCE, f::TARGET_APPLICATION], "TaskName");
    match id {
        129 => {
            cx.place(f::TARGET_PATH, "Path");
            cx.place_pid(f::TARGET_PID, "ProcessID");
        }
        200 => {
            cx.place(f::TARGET_PATH, "ActionName");
        }
        _ => {
            let account = cx.get("UserContext").map(|v| ("UserContext", v));
            let account = account.or_else(|| cx.get("UserName").map(|v| ("UserName", v)));
            if let Some((name, v)) = account {
                if v.to_ascii_uppercase().starts_with("S-1-") {
                    cx.place_sid(f::PRINCIPAL_SID, name);
                } else {
                    cx.place_account(f::PRINCIPAL_USERID, f::PRINCIPAL_DOMAIN, name);
                }
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_hosts() {
        assert_eq!(url_host("http://dc1.corp:5985/wsman"), "dc1.corp");
        assert_eq!(url_host("dc1"), "dc1");
        assert_eq!(url_host("https://[fe80::1]:5986/wsman?x"), "fe80::1");
        assert_eq!(url_host("http://u@h/"), "h");
        assert_eq!(url_host("192.168.1.1/wsman?PSVersion=2.0"), "192.168.1.1");
        assert_eq!(url_host("dc1:5985/wsman"), "dc1");
        assert_eq!(url_host(""), "");
    }
}
