//! Security channel rows: logons, explicit credentials, privileges, process creation, service
//! and scheduled-task creation, Kerberos/NTLM validation, share access, WFP connections, log
//! clearing.

use lateral_model::f;
use lateral_model::vocab::{event_type as et, logon_type_mechanism};

use super::text::{
    app_protocol_for_port, ip_protocol_for_number, kerberos_status_text, ntstatus_text,
    service_executable, split_upn, xml_element_text,
};
use super::Ctx;

pub(super) fn map(cx: &mut Ctx, id: u32) -> bool {
    match id {
        1102 => log_cleared(cx),
        4624 => logon(cx, false),
        4625 => logon(cx, true),
        4634 | 4647 => logoff(cx, id),
        4648 => explicit_credentials(cx),
        4672 => special_privileges(cx),
        4688 => process_creation(cx),
        4689 => process_exit(cx),
        4697 => service_install(cx),
        4698..=4702 => scheduled_task(cx, id),
        4768 | 4769 | 4771 => kerberos(cx, id),
        4776 => ntlm_validation(cx),
        5140 => share_access(cx, false),
        5145 => share_access(cx, true),
        5142 | 5144 => share_change(cx, id),
        5156 | 5157 => filtering_platform(cx, id),
        _ => return false,
    }
    true
}

fn log_cleared(cx: &mut Ctx) {
    cx.event_type(et::SYSTEM_AUDIT_LOG_WIPE);
    cx.describe("The audit log was cleared");
    cx.computer_to(f::PRINCIPAL_HOSTNAME);
    cx.subject_to_principal();
}

/// `LogonType` → `extensions.auth.mechanism` (the field is kept in `additional.fields`).
fn logon_type(cx: &mut Ctx) {
    if let Some(m) = cx.get("LogonType").and_then(logon_type_mechanism) {
        cx.set(f::AUTH_MECHANISM, m);
    }
}

/// `LmPackageName` (`NTLM V1`/`NTLM V2`) when present, else `AuthenticationPackageName`.
fn auth_package(cx: &mut Ctx) {
    if cx.place(f::AUTH_DETAILS, "LmPackageName").is_none() {
        cx.place(f::AUTH_DETAILS, "AuthenticationPackageName");
    }
}

/// The remote client of an inbound logon or share access: `IpAddress`/`IpPort` →
/// `principal.ip`/`port`, `WorkstationName` → `principal.hostname` and `src.hostname`; the
/// logging computer → `target.hostname`. Local logons (a loopback address, or a local logon
/// type with neither address nor workstation) get the computer as `principal.hostname` too; a
/// network logon without address stays without principal host.
fn inbound_client(cx: &mut Ctx) {
    cx.address(f::PRINCIPAL_IP, f::PRINCIPAL_PORT, "IpAddress", "IpPort");
    if let Some(ws) = cx.place_host(&[f::PRINCIPAL_HOSTNAME, f::SRC_HOSTNAME], "WorkstationName") {
        cx.loopback_if_self_host(ws);
    }
    cx.computer_to(f::TARGET_HOSTNAME);
    if cx.is_set(f::PRINCIPAL_HOSTNAME) {
        return;
    }
    let local = match cx.out.str(f::PRINCIPAL_IP) {
        Some(ip) => lateral_model::vocab::is_loopback_ip(ip),
        None => cx
            .get("LogonType")
            .is_some_and(|t| matches!(t, "0" | "2" | "4" | "5" | "7" | "9" | "11" | "13")),
    };
    if local {
        cx.computer_to(f::PRINCIPAL_HOSTNAME);
    }
}

fn logon(cx: &mut Ctx, failed: bool) {
    cx.event_type(et::USER_LOGIN);
    if failed {
        cx.describe("An account failed to log on");
        cx.set(f::ACTION, "BLOCK");
        failure_summary(cx, ntstatus_text);
    } else {
        cx.describe("An account was successfully logged on");
        cx.set(f::ACTION, "ALLOW");
    }
    cx.subject_to_principal();
    cx.target_account();
    logon_type(cx);
    auth_package(cx);
    inbound_client(cx);
    cx.place(f::PRINCIPAL_PATH, "ProcessName");
    cx.place_pid(f::PRINCIPAL_PID, "ProcessId");
}

/// `security_result.summary` from `SubStatus` (when it says more) or `Status`, with the
/// code's meaning. Both fields stay in `additional.fields`.
fn failure_summary(cx: &mut Ctx, meaning: fn(&str) -> Option<&'static str>) {
    let status = cx.get("Status").or_else(|| cx.get("FailureCode"));
    let sub = cx
        .get("SubStatus")
        .filter(|s| lateral_model::event::parse_int(s).is_some_and(|n| n != 0));
    if let Some(code) = sub.or(status) {
        let text = match meaning(code) {
            Some(m) => format!("{code}: {m}"),
            None => code.to_string(),
        };
        cx.set(f::SECURITY_SUMMARY, &text);
    }
}

fn logoff(cx: &mut Ctx, id: u32) {
    cx.event_type(et::USER_LOGOUT);
    cx.describe(if id == 4647 {
        "User initiated logoff"
    } else {
        "An account was logged off"
    });
    cx.target_account();
    logon_type(cx);
    cx.computer_to(f::TARGET_HOSTNAME);
}

fn explicit_credentials(cx: &mut Ctx) {
    cx.event_type(et::USER_LOGIN);
    cx.describe("A logon was attempted using explicit credentials");
    // The local host and subject act; the target server is where the credentials are used.
    cx.computer_to(f::PRINCIPAL_HOSTNAME);
    cx.subject_to_principal();
    cx.place(f::PRINCIPAL_PATH, "ProcessName");
    cx.place_pid(f::PRINCIPAL_PID, "ProcessId");
    cx.target_account();
    if let Some(server) = cx.place_host(&[f::TARGET_HOSTNAME], "TargetServerName") {
        cx.loopback_if_self_host(server);
    }
    cx.place(f::TARGET_RESOURCE, "TargetInfo");
    cx.address(f::TARGET_IP, f::TARGET_PORT, "IpAddress", "IpPort");
}

fn special_privileges(cx: &mut Ctx) {
    cx.event_type(et::USER_UNCATEGORIZED);
    cx.describe("Special privileges assigned to new logon");
    cx.computer_to(f::PRINCIPAL_HOSTNAME);
    cx.subject_to_principal();
}

fn process_creation(cx: &mut Ctx) {
    cx.event_type(et::PROCESS_LAUNCH);
    cx.describe("A new process has been created");
    cx.computer_to(f::PRINCIPAL_HOSTNAME);
    cx.subject_to_principal();
    cx.place_pid(f::PRINCIPAL_PID, "ProcessId");
    cx.place(f::PRINCIPAL_PATH, "ParentProcessName");
    cx.place(f::TARGET_PATH, "NewProcessName");
    cx.place_pid(f::TARGET_PID, "NewProcessId");
    cx.place(f::TARGET_CMD, "CommandLine");
    cx.target_account();
}

fn process_exit(cx: &mut Ctx) {
    cx.event_type(et::PROCESS_TERMINATION);
    cx.describe("A process has exited");
    cx.computer_to(f::PRINCIPAL_HOSTNAME);
    cx.subject_to_principal();
    cx.place(f::TARGET_PATH, "ProcessName");
    cx.place_pid(f::TARGET_PID, "ProcessId");
}

/// Service image path → `target.process.command_line` (whole) and
/// `target.process.file.full_path` (its executable).
pub(super) fn service_binary(cx: &mut Ctx, name: &str) {
    if let Some(cmd) = cx.place(f::TARGET_CMD, name) {
        if let Some(exe) = service_executable(cmd) {
            cx.set(f::TARGET_PATH, exe);
        }
    }
}

fn service_install(cx: &mut Ctx) {
    cx.event_type(et::SERVICE_CREATION);
    cx.describe("A service was installed in the system");
    cx.computer_to(f::PRINCIPAL_HOSTNAME);
    cx.subject_to_principal();
    if let Some(name) = cx.place(f::TARGET_APPLICATION, "ServiceName") {
        cx.note("ServiceKeyName", name);
    }
    service_binary(cx, "ServiceFileName");
    // The account the service runs as; kept in additional.fields too.
    if let Some(account) = cx.get("ServiceAccount") {
        cx.set(f::TARGET_USERID, account);
    }
}

fn scheduled_task(cx: &mut Ctx, id: u32) {
    let (t, d) = match id {
        4698 => (et::SCHEDULED_TASK_CREATION, "A scheduled task was created"),
        4699 => (et::SCHEDULED_TASK_DELETION, "A scheduled task was deleted"),
        4700 => ("SCHEDULED_TASK_ENABLE", "A scheduled task was enabled"),
        4701 => ("SCHEDULED_TASK_DISABLE", "A scheduled task was disabled"),
        _ => (
            et::SCHEDULED_TASK_MODIFICATION,
            "A scheduled task was updated",
        ),
    };
    cx.event_type(t);
    cx.describe(d);
    cx.computer_to(f::PRINCIPAL_HOSTNAME);
    cx.subject_to_principal();
    cx.place_pid(f::PRINCIPAL_PID, "ClientProcessId");
    cx.place_all(&[f::TARGET_RESOURCE, f::TARGET_APPLICATION], "TaskName");
    let content = cx.get("TaskContentNew").or_else(|| cx.get("TaskContent"));
    if let Some(xml) = content {
        task_definition(cx, xml);
    }
}

/// What a task definition runs: `<Command>` → `target.process.file.full_path` (quotes
/// removed), command + `<Arguments>` → `target.process.command_line`, the run-as `<UserId>` →
/// `target.user`, `<Author>` → `additional.fields["Author"]`.
pub(super) fn task_definition(cx: &mut Ctx, xml: &str) {
    if let Some(cmd) = xml_element_text(xml, "Command").filter(|c| !c.is_empty()) {
        let exe = cmd.trim().trim_matches('"').trim();
        cx.set(f::TARGET_PATH, exe);
        let line = match xml_element_text(xml, "Arguments").filter(|a| !a.is_empty()) {
            Some(args) => format!("{cmd} {args}"),
            None => cmd.clone(),
        };
        cx.set(f::TARGET_CMD, &line);
    }
    if let Some(author) = xml_element_text(xml, "Author") {
        cx.note("Author", &author);
    }
    if let Some(user) = xml_element_text(xml, "UserId").filter(|u| !u.is_empty()) {
        if user.to_ascii_uppercase().starts_with("S-1-") {
            cx.set(f::TARGET_SID, &user);
        } else {
            let (domain, name) = super::text::split_down_level(&user);
            cx.set(f::TARGET_USERID, name);
            if let Some(d) = domain {
                cx.set(f::TARGET_DOMAIN, d);
            }
        }
    }
}

/// `Status` → `security_result.action` (`0x0` ALLOW, anything else BLOCK) and summary.
fn status_action(cx: &mut Ctx, meaning: fn(&str) -> Option<&'static str>) {
    let status = cx.get("Status").or_else(|| cx.get("FailureCode"));
    if let Some(code) = status {
        let ok = lateral_model::event::parse_int(code) == Some(0);
        cx.set(f::ACTION, if ok { "ALLOW" } else { "BLOCK" });
        failure_summary(cx, meaning);
    }
}

fn kerberos(cx: &mut Ctx, id: u32) {
    cx.event_type(et::USER_LOGIN);
    cx.describe(match id {
        4768 => "A Kerberos authentication ticket (TGT) was requested",
        4769 => "A Kerberos service ticket was requested",
        _ => "Kerberos pre-authentication failed",
    });
    cx.set(f::AUTH_DETAILS, "Kerberos");
    // The KDC (logging computer) is the target; the requesting client is the principal.
    cx.computer_to(f::TARGET_HOSTNAME);
    cx.address(f::PRINCIPAL_IP, f::PRINCIPAL_PORT, "IpAddress", "IpPort");
    if let Some(user) = cx.get("TargetUserName") {
        let (name, realm) = split_upn(user);
        cx.set(f::TARGET_USERID, name);
        match realm {
            // `user@REALM`: the original stays in additional.fields.
            Some(r) => {
                if cx.get("TargetDomainName").is_none() {
                    cx.set(f::TARGET_DOMAIN, r);
                }
            }
            None => cx.consume("TargetUserName"),
        }
    }
    cx.place(f::TARGET_DOMAIN, "TargetDomainName");
    if cx.place_sid(f::TARGET_SID, "TargetSid").is_none() {
        cx.place_sid(f::TARGET_SID, "TargetUserSid");
    }
    cx.place(f::TARGET_APPLICATION, "ServiceName");
    status_action(cx, kerberos_status_text);
}

fn ntlm_validation(cx: &mut Ctx) {
    cx.event_type(et::USER_LOGIN);
    cx.describe("The computer attempted to validate the credentials for an account");
    // PackageName is MICROSOFT_AUTHENTICATION_PACKAGE_V1_0 (MSV1_0, i.e. NTLM); kept as is.
    cx.set(f::AUTH_DETAILS, "NTLM");
    cx.place(f::TARGET_USERID, "TargetUserName");
    if let Some(ws) = cx.place_host(&[f::PRINCIPAL_HOSTNAME, f::SRC_HOSTNAME], "Workstation") {
        cx.loopback_if_self_host(ws);
    }
    cx.computer_to(f::TARGET_HOSTNAME);
    status_action(cx, ntstatus_text);
}

fn share_access(cx: &mut Ctx, detailed: bool) {
    if detailed {
        cx.event_type(et::FILE_OPEN);
        cx.describe("A network share object was checked to see whether client can be granted desired access");
        cx.place(f::TARGET_FILE_PATH, "RelativeTargetName");
    } else {
        cx.event_type(et::USER_RESOURCE_ACCESS);
        cx.describe("A network share object was accessed");
    }
    cx.set(f::APP_PROTOCOL, "SMB");
    cx.subject_to_principal();
    inbound_client(cx);
    cx.place(f::TARGET_RESOURCE, "ShareName");
    // Audit failure keyword (0x0010000000000000): access denied.
    if let Some(kw) = cx
        .rec
        .keywords
        .as_deref()
        .and_then(lateral_model::event::parse_int)
    {
        let kw = kw as u64;
        if kw & 0x0010_0000_0000_0000 != 0 {
            cx.set(f::ACTION, "BLOCK");
        } else if kw & 0x0020_0000_0000_0000 != 0 {
            cx.set(f::ACTION, "ALLOW");
        }
    }
}

fn share_change(cx: &mut Ctx, id: u32) {
    if id == 5142 {
        cx.event_type("USER_RESOURCE_CREATION");
        cx.describe("A network share object was added");
    } else {
        cx.event_type("USER_RESOURCE_DELETION");
        cx.describe("A network share object was deleted");
    }
    cx.computer_to(f::PRINCIPAL_HOSTNAME);
    cx.subject_to_principal();
    cx.place(f::TARGET_RESOURCE, "ShareName");
    cx.place(f::TARGET_FILE_PATH, "ShareLocalPath");
}

fn filtering_platform(cx: &mut Ctx, id: u32) {
    cx.event_type(et::NETWORK_CONNECTION);
    if id == 5157 {
        cx.describe("The Windows Filtering Platform has blocked a connection");
        cx.set(f::ACTION, "BLOCK");
    } else {
        cx.describe("The Windows Filtering Platform has permitted a connection");
        cx.set(f::ACTION, "ALLOW");
    }
    let inbound = match cx.get("Direction") {
        Some(d) if d == "%%14592" || d.eq_ignore_ascii_case("inbound") => Some(true),
        Some(d) if d == "%%14593" || d.eq_ignore_ascii_case("outbound") => Some(false),
        _ => None,
    };
    if let Some(inb) = inbound {
        cx.consume("Direction");
        cx.set(f::DIRECTION, if inb { "INBOUND" } else { "OUTBOUND" });
    }
    // WFP logs the initiator as Source in both directions; the application is local.
    let (host, proc_path, proc_pid) = if inbound == Some(true) {
        (f::TARGET_HOSTNAME, f::TARGET_PATH, f::TARGET_PID)
    } else {
        (f::PRINCIPAL_HOSTNAME, f::PRINCIPAL_PATH, f::PRINCIPAL_PID)
    };
    cx.computer_to(host);
    cx.place(proc_path, "Application");
    if cx.place_pid(proc_pid, "ProcessID").is_none() {
        cx.place_pid(proc_pid, "ProcessId");
    }
    let src = cx.place_ip(f::PRINCIPAL_IP, "SourceAddress");
    let src_port = cx.place_port(f::PRINCIPAL_PORT, "SourcePort");
    let dst = cx.place_ip(f::TARGET_IP, "DestAddress");
    let dst_port = cx.place_port(f::TARGET_PORT, "DestPort");
    // The remote side decides loopback.
    let remote = if inbound == Some(true) { src } else { dst };
    if let Some(ip) = remote {
        cx.loopback_if_ip(&ip);
    }
    if let Some(p) = cx.get("Protocol").and_then(ip_protocol_for_number) {
        cx.set(f::IP_PROTOCOL, p);
        cx.consume("Protocol");
    }
    if let Some(app) = dst_port
        .and_then(app_protocol_for_port)
        .or_else(|| src_port.and_then(app_protocol_for_port))
    {
        cx.set(f::APP_PROTOCOL, app);
    }
}
