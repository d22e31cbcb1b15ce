//! Sysmon rows (Microsoft-Windows-Sysmon/Operational): process, network, image load, remote
//! thread, process access, file, registry, named pipe, WMI, DNS and delete events.

use lateral_model::vocab::event_type as et;
use lateral_model::{f, Field};

use super::text::{app_protocol_for_port, parse_hashes};
use super::{host_is_self, Ctx};

pub(super) fn map(cx: &mut Ctx, id: u32) -> bool {
    match id {
        1 => process_create(cx),
        3 => network_connection(cx),
        5 => process_terminated(cx),
        7 => image_loaded(cx),
        8 => remote_thread(cx),
        10 => process_access(cx),
        11 => file_created(cx),
        12..=14 => registry(cx, id),
        17 | 18 => pipe(cx, id),
        19..=21 => wmi(cx, id),
        22 => dns_query(cx),
        23 | 26 => file_deleted(cx, id),
        _ => return false,
    }
    true
}

/// The process that acts: `Image`, `ProcessId`, `ProcessGuid` → `principal.process.*`,
/// `User` → `principal.user`; the logging computer → `principal.hostname`.
fn actor_process(cx: &mut Ctx) {
    cx.computer_to(f::PRINCIPAL_HOSTNAME);
    cx.place(f::PRINCIPAL_PATH, "Image");
    cx.place_pid(f::PRINCIPAL_PID, "ProcessId");
    cx.place(f::PRINCIPAL_GUID, "ProcessGuid");
    cx.place_account(f::PRINCIPAL_USERID, f::PRINCIPAL_DOMAIN, "User");
}

/// `Hashes` → `target.process.file.sha256/md5/sha1` (the field stays in additional for
/// IMPHASH and the original form).
fn target_hashes(cx: &mut Ctx) {
    let Some(h) = cx.get("Hashes") else { return };
    for (alg, value) in parse_hashes(h) {
        let field = match alg.as_str() {
            "SHA256" => f::TARGET_SHA256,
            "MD5" => f::TARGET_MD5,
            "SHA1" => f::TARGET_SHA1,
            _ => continue,
        };
        cx.set(field, &value);
    }
}

fn process_create(cx: &mut Ctx) {
    cx.event_type(et::PROCESS_LAUNCH);
    cx.describe("Process creation");
    cx.computer_to(f::PRINCIPAL_HOSTNAME);
    cx.place(f::TARGET_PATH, "Image");
    cx.place(f::TARGET_CMD, "CommandLine");
    cx.place_pid(f::TARGET_PID, "ProcessId");
    cx.place(f::TARGET_GUID, "ProcessGuid");
    target_hashes(cx);
    cx.place(f::PRINCIPAL_PATH, "ParentImage");
    cx.place(f::PRINCIPAL_CMD, "ParentCommandLine");
    cx.place_pid(f::PRINCIPAL_PID, "ParentProcessId");
    cx.place(f::PRINCIPAL_GUID, "ParentProcessGuid");
    // User and LogonId are the new process's; SecOps places them on the principal.
    cx.place_account(f::PRINCIPAL_USERID, f::PRINCIPAL_DOMAIN, "User");
    cx.place_logon_id(f::PRINCIPAL_LOGON_ID, "LogonId");
}

fn process_terminated(cx: &mut Ctx) {
    cx.event_type(et::PROCESS_TERMINATION);
    cx.describe("Process terminated");
    cx.computer_to(f::PRINCIPAL_HOSTNAME);
    cx.place(f::TARGET_PATH, "Image");
    cx.place_pid(f::TARGET_PID, "ProcessId");
    cx.place(f::TARGET_GUID, "ProcessGuid");
    cx.place_account(f::PRINCIPAL_USERID, f::PRINCIPAL_DOMAIN, "User");
}

/// One end of a Sysmon network connection, by its field names.
#[derive(Clone, Copy)]
struct End {
    ip: &'static str,
    port: &'static str,
    host: &'static str,
}

const SOURCE: End = End {
    ip: "SourceIp",
    port: "SourcePort",
    host: "SourceHostname",
};
const DESTINATION: End = End {
    ip: "DestinationIp",
    port: "DestinationPort",
    host: "DestinationHostname",
};

/// Sysmon 3. `principal` is always the side that opened the connection and `target` the side
/// that accepted it. Outbound (`Initiated` true) events log the local side as Source. Inbound
/// events are not consistent across Sysmon versions (some log the remote client as Source,
/// others the local listener), so the local side is recognised by its host name (the logging
/// computer) or, failing that, by the lower (listening) port.
fn network_connection(cx: &mut Ctx) {
    cx.event_type(et::NETWORK_CONNECTION);
    let initiated = match cx.get("Initiated").map(str::to_ascii_lowercase).as_deref() {
        Some("true") | Some("1") => Some(true),
        Some("false") | Some("0") => Some(false),
        _ => None,
    };
    if initiated.is_some() {
        cx.consume("Initiated");
    }
    let (opener, acceptor) = match initiated {
        Some(false) => {
            let local_is_source = local_end_is_source(cx);
            if local_is_source {
                (DESTINATION, SOURCE)
            } else {
                (SOURCE, DESTINATION)
            }
        }
        _ => (SOURCE, DESTINATION),
    };
    let outbound = initiated != Some(false);
    match initiated {
        Some(true) => {
            cx.set(f::DIRECTION, "OUTBOUND");
            cx.describe("Network connection detected (outbound)");
        }
        Some(false) => {
            cx.set(f::DIRECTION, "INBOUND");
            cx.describe("Network connection detected (inbound)");
        }
        None => cx.describe("Network connection detected"),
    }

    let opener_ip = cx.place_ip(f::PRINCIPAL_IP, opener.ip);
    let opener_port = cx.place_port(f::PRINCIPAL_PORT, opener.port);
    let acceptor_ip = cx.place_ip(f::TARGET_IP, acceptor.ip);
    let acceptor_port = cx.place_port(f::TARGET_PORT, acceptor.port);

    // The local side's host name is the logging computer (its logged name stays in
    // additional.fields); the remote side's is placed as logged.
    let (local_host, remote_end, remote_host_field, remote_ip) = if outbound {
        (
            f::PRINCIPAL_HOSTNAME,
            acceptor,
            f::TARGET_HOSTNAME,
            acceptor_ip,
        )
    } else {
        (f::TARGET_HOSTNAME, opener, f::PRINCIPAL_HOSTNAME, opener_ip)
    };
    cx.computer_to(local_host);
    if let Some(h) = cx.place_host(&[remote_host_field], remote_end.host) {
        cx.loopback_if_self_host(h);
    }
    if let Some(ip) = remote_ip {
        cx.loopback_if_ip(&ip);
    }

    // The logged process is local: the opener when outbound, the acceptor when inbound.
    let (path, pid, guid, user, domain): (Field, Field, Field, Field, Field) = if outbound {
        (
            f::PRINCIPAL_PATH,
            f::PRINCIPAL_PID,
            f::PRINCIPAL_GUID,
            f::PRINCIPAL_USERID,
            f::PRINCIPAL_DOMAIN,
        )
    } else {
        (
            f::TARGET_PATH,
            f::TARGET_PID,
            f::TARGET_GUID,
            f::TARGET_USERID,
            f::TARGET_DOMAIN,
        )
    };
    cx.place(path, "Image");
    cx.place_pid(pid, "ProcessId");
    cx.place(guid, "ProcessGuid");
    cx.place_account(user, domain, "User");

    if let Some(p) = cx.get("Protocol") {
        let upper = p.to_ascii_uppercase();
        cx.set(f::IP_PROTOCOL, &upper);
        cx.consume("Protocol");
    }
    if let Some(app) = acceptor_port
        .and_then(app_protocol_for_port)
        .or_else(|| opener_port.and_then(app_protocol_for_port))
    {
        cx.set(f::APP_PROTOCOL, app);
    }
}

/// For an inbound Sysmon 3: is the logged Source the local (accepting) side?
fn local_end_is_source(cx: &Ctx) -> bool {
    let computer = cx.computer();
    let is_local = |end: End| cx.get(end.host).is_some_and(|h| host_is_self(h, computer));
    match (is_local(SOURCE), is_local(DESTINATION)) {
        (true, false) => true,
        (false, true) => false,
        _ => {
            let port = |end: End| cx.get(end.port).and_then(|p| p.parse::<u32>().ok());
            match (port(SOURCE), port(DESTINATION)) {
                (Some(s), Some(d)) => s < d,
                _ => false,
            }
        }
    }
}

fn image_loaded(cx: &mut Ctx) {
    cx.event_type(et::PROCESS_MODULE_LOAD);
    cx.describe("Image loaded");
    actor_process(cx);
    // Hashes here are the loaded module's; they stay in additional.fields.
    cx.place(f::TARGET_FILE_PATH, "ImageLoaded");
}

/// Sysmon 8 and 10: `Source*` → principal.process, `Target*` → target.process.
fn source_and_target_process(cx: &mut Ctx) {
    cx.computer_to(f::PRINCIPAL_HOSTNAME);
    cx.place(f::PRINCIPAL_PATH, "SourceImage");
    cx.place_pid(f::PRINCIPAL_PID, "SourceProcessId");
    cx.place(f::PRINCIPAL_GUID, "SourceProcessGuid");
    cx.place_account(f::PRINCIPAL_USERID, f::PRINCIPAL_DOMAIN, "SourceUser");
    cx.place(f::TARGET_PATH, "TargetImage");
    cx.place_pid(f::TARGET_PID, "TargetProcessId");
    cx.place(f::TARGET_GUID, "TargetProcessGuid");
    cx.place_account(f::TARGET_USERID, f::TARGET_DOMAIN, "TargetUser");
}

fn remote_thread(cx: &mut Ctx) {
    cx.event_type("PROCESS_INJECTION");
    cx.describe("CreateRemoteThread detected");
    source_and_target_process(cx);
}

fn process_access(cx: &mut Ctx) {
    cx.event_type(et::PROCESS_OPEN);
    cx.describe("Process accessed");
    source_and_target_process(cx);
}

fn file_created(cx: &mut Ctx) {
    cx.event_type(et::FILE_CREATION);
    cx.describe("File created");
    actor_process(cx);
    cx.place(f::TARGET_FILE_PATH, "TargetFilename");
}

fn file_deleted(cx: &mut Ctx, id: u32) {
    cx.event_type("FILE_DELETION");
    cx.describe(if id == 23 {
        "File deleted (archived)"
    } else {
        "File delete logged"
    });
    actor_process(cx);
    cx.place(f::TARGET_FILE_PATH, "TargetFilename");
}

fn registry(cx: &mut Ctx, id: u32) {
    let op = cx.get("EventType").unwrap_or("").to_ascii_lowercase();
    let (t, d) = match id {
        12 if op.starts_with("delete") => (et::REGISTRY_DELETION, "Registry object deleted"),
        12 => (et::REGISTRY_CREATION, "Registry object added"),
        13 => (et::REGISTRY_MODIFICATION, "Registry value set"),
        _ => (et::REGISTRY_MODIFICATION, "Registry object renamed"),
    };
    cx.event_type(t);
    cx.describe(d);
    actor_process(cx);
    if let Some(key) = cx.place(f::TARGET_REG_KEY, "TargetObject") {
        if id == 13 {
            if let Some((_, value)) = key.rsplit_once('\\') {
                cx.set(f::TARGET_REG_VALUE_NAME, value);
            }
        }
    }
    if id == 13 {
        cx.place(f::TARGET_REG_VALUE_DATA, "Details");
    }
}

fn pipe(cx: &mut Ctx, id: u32) {
    if id == 17 {
        cx.event_type(et::FILE_CREATION);
        cx.describe("Pipe created");
    } else {
        cx.event_type(et::FILE_OPEN);
        cx.describe("Pipe connected");
    }
    actor_process(cx);
    cx.place(f::TARGET_FILE_PATH, "PipeName");
}

/// Sysmon 19 (filter), 20 (consumer), 21 (binding): the WMI object → `target.resource.name`,
/// the filter query / consumer destination → `metadata.description` (and, for a consumer,
/// `target.process.command_line`).
fn wmi(cx: &mut Ctx, id: u32) {
    cx.event_type(et::GENERIC_EVENT);
    cx.computer_to(f::PRINCIPAL_HOSTNAME);
    cx.place_account(f::PRINCIPAL_USERID, f::PRINCIPAL_DOMAIN, "User");
    match id {
        19 => {
            cx.place(f::TARGET_RESOURCE, "Name");
            if cx.place(f::DESCRIPTION, "Query").is_none() {
                cx.describe("WmiEventFilter activity detected");
            }
        }
        20 => {
            cx.place(f::TARGET_RESOURCE, "Name");
            if cx
                .place_all(&[f::TARGET_CMD, f::DESCRIPTION], "Destination")
                .is_none()
            {
                cx.describe("WmiEventConsumer activity detected");
            }
        }
        _ => {
            cx.place(f::TARGET_RESOURCE, "Consumer");
            let text = match (cx.get("Filter"), cx.out.str(f::TARGET_RESOURCE)) {
                (Some(filter), Some(consumer)) => {
                    format!("WMI filter {filter} bound to consumer {consumer}")
                }
                _ => "WmiEventConsumerToFilter activity detected".to_string(),
            };
            cx.describe(&text);
        }
    }
}

fn dns_query(cx: &mut Ctx) {
    cx.event_type(et::NETWORK_DNS);
    cx.describe("DNS query");
    cx.set(f::APP_PROTOCOL, "DNS");
    actor_process(cx);
    cx.place_all(&[f::TARGET_HOSTNAME, f::TARGET_URL], "QueryName");
}
