//! System channel rows: Service Control Manager (7000, 7009, 7036, 7040, 7045), DistributedCOM
//! 10016, and the System log being cleared (104).

use lateral_model::f;
use lateral_model::vocab::event_type as et;

use super::text::{com_class_name, utf16le_hex_strings};
use super::{valid_ip, Ctx};

pub(super) fn map(cx: &mut Ctx, id: u32) -> bool {
    let provider = cx
        .rec
        .provider
        .as_deref()
        .unwrap_or_default()
        .to_ascii_lowercase();
    // Event ids are per provider; when the provider is known it must match.
    let scm = provider.is_empty() || provider.contains("service control manager");
    let dcom = provider.is_empty() || provider.contains("distributedcom") || provider == "dcom";
    let eventlog = provider.is_empty() || provider.contains("eventlog");
    match id {
        7045 if scm => service_installed(cx),
        7036 if scm => service_state(cx),
        7040 if scm => service_start_type(cx),
        7000 | 7009 if scm => service_failed(cx, id),
        10016 if dcom => dcom_denied(cx),
        104 if eventlog => log_cleared(cx),
        _ => return false,
    }
    true
}

fn log_cleared(cx: &mut Ctx) {
    cx.event_type(et::SYSTEM_AUDIT_LOG_WIPE);
    cx.describe("An event log was cleared");
    cx.computer_to(f::PRINCIPAL_HOSTNAME);
    cx.place(f::PRINCIPAL_USERID, "SubjectUserName");
    cx.place(f::PRINCIPAL_DOMAIN, "SubjectDomainName");
    cx.system_user_to_principal();
}

fn service_installed(cx: &mut Ctx) {
    cx.event_type(et::SERVICE_CREATION);
    cx.describe("A service was installed in the system");
    cx.computer_to(f::PRINCIPAL_HOSTNAME);
    cx.system_user_to_principal();
    // 7045's ServiceName is the display name.
    if let Some(name) = cx.place(f::TARGET_APPLICATION, "ServiceName") {
        cx.note("ServiceDisplayName", name);
    }
    super::security::service_binary(cx, "ImagePath");
    if let Some(account) = cx.get("AccountName") {
        cx.set(f::TARGET_USERID, account);
    }
}

/// The service key name and state code in 7036's `Binary` (UTF-16LE `name/state`).
fn binary_key_and_state(cx: &Ctx) -> Option<(String, Option<u32>)> {
    let strings = utf16le_hex_strings(cx.get("Binary")?);
    let first = strings.into_iter().next()?;
    Some(match first.rsplit_once('/') {
        Some((name, state)) => (name.to_string(), state.trim().parse().ok()),
        None => (first, None),
    })
}

fn service_state(cx: &mut Ctx) {
    cx.computer_to(f::PRINCIPAL_HOSTNAME);
    cx.system_user_to_principal();
    let name = cx.place(f::TARGET_APPLICATION, "param1");
    if let Some(n) = name {
        cx.note("ServiceDisplayName", n);
    }
    // param2 is the state as localised text: kept in additional.fields.
    let state = cx.get("param2");
    let binary = binary_key_and_state(cx);
    if let Some((key, _)) = &binary {
        cx.note("ServiceKeyName", key);
    }
    let code = binary.and_then(|(_, c)| c);
    let t = match (state.map(str::to_ascii_lowercase).as_deref(), code) {
        (Some("running"), _) | (_, Some(4)) => et::SERVICE_START,
        (Some("stopped"), _) | (_, Some(1)) => et::SERVICE_STOP,
        _ => et::SERVICE_UNSPECIFIED,
    };
    cx.event_type(t);
    let text = match (name, state) {
        (Some(n), Some(s)) => format!("The {n} service entered the {s} state"),
        _ => "A service changed state".to_string(),
    };
    cx.describe(&text);
}

fn service_start_type(cx: &mut Ctx) {
    cx.event_type(et::SERVICE_MODIFICATION);
    cx.describe("The start type of a service was changed");
    cx.computer_to(f::PRINCIPAL_HOSTNAME);
    cx.system_user_to_principal();
    if let Some(n) = cx.place(f::TARGET_APPLICATION, "param1") {
        cx.note("ServiceDisplayName", n);
    }
    if let Some(key) = cx.get("param4") {
        cx.note("ServiceKeyName", key);
    }
}

fn service_failed(cx: &mut Ctx, id: u32) {
    cx.event_type(et::SERVICE_START);
    cx.set(f::ACTION, "FAIL");
    cx.computer_to(f::PRINCIPAL_HOSTNAME);
    cx.system_user_to_principal();
    if id == 7000 {
        cx.describe("A service failed to start");
        if let Some(n) = cx.place(f::TARGET_APPLICATION, "param1") {
            cx.note("ServiceDisplayName", n);
        }
        cx.place(f::SECURITY_SUMMARY, "param2");
    } else {
        cx.describe("A timeout was reached while waiting for a service to connect");
        if let Some(n) = cx.place(f::TARGET_APPLICATION, "param2") {
            cx.note("ServiceDisplayName", n);
        }
    }
}

/// DistributedCOM 10016: a COM server's launch/activation permission denied an account.
/// param1 scope, param2 Local/Remote, param3 Launch/Activation, param4 CLSID, param5 APPID,
/// param6 domain, param7 user, param8 SID, param9 address (newer builds).
fn dcom_denied(cx: &mut Ctx) {
    cx.event_type(et::GENERIC_EVENT);
    cx.set(f::ACTION, "BLOCK");
    // The COM server (on this computer) is the target; the requesting account/address acts.
    cx.computer_to(f::TARGET_HOSTNAME);
    let clsid = cx.place(f::TARGET_RESOURCE, "param4");
    let appid = cx
        .get("param5")
        .filter(|a| !a.eq_ignore_ascii_case("Unavailable"));
    if appid.is_some() {
        cx.place(f::TARGET_APPLICATION, "param5");
    }
    cx.place(f::PRINCIPAL_DOMAIN, "param6");
    cx.place(f::PRINCIPAL_USERID, "param7");
    if cx
        .get("param8")
        .is_some_and(|s| s.to_ascii_uppercase().starts_with("S-1-"))
    {
        cx.place_sid(f::PRINCIPAL_SID, "param8");
    }
    cx.system_user_to_principal();
    let address = cx.get("param9");
    let mut from = None;
    if let Some(a) = address {
        if let Some(ip) = valid_ip(a) {
            cx.set(f::PRINCIPAL_IP, &ip);
            cx.consume("param9");
            cx.loopback_if_ip(&ip);
            from = Some(ip);
        } else if a.to_ascii_lowercase().starts_with("localhost") {
            // "LocalHost (Using LRPC)": a local caller; kept in additional.fields.
            cx.computer_to(f::PRINCIPAL_HOSTNAME);
            cx.mark_loopback();
            from = Some(a.to_string());
        }
    }
    let scope = cx.get("param2").unwrap_or("");
    let action = cx.get("param3").unwrap_or("");
    let mut text = format!("DCOM {scope} {action} permission denied").replace("  ", " ");
    if let Some(c) = clsid {
        text.push_str(&format!(" for CLSID {c}"));
        if let Some(n) = com_class_name(c) {
            text.push_str(&format!(" ({n})"));
        }
    }
    let user = cx.out.str(f::PRINCIPAL_USERID).map(str::to_string);
    if let Some(u) = user {
        match cx.out.str(f::PRINCIPAL_DOMAIN).map(str::to_string) {
            Some(d) => text.push_str(&format!(" to {d}\\{u}")),
            None => text.push_str(&format!(" to {u}")),
        }
    }
    if let Some(addr) = from {
        text.push_str(&format!(" from {addr}"));
    }
    cx.describe(&text);
}
