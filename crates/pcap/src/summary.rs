//! The investigation summary an analyst writes from a capture: who attacked, which host they
//! pivoted to first and under which name, with which account, what service executable was
//! dropped and which service created, which shares were used for what, which hosts came next,
//! then per-session detail with frame numbers and times.
//!
//! Built from the UDM events alone (so it works the same on events from several captures).
//! Rendering as table, JSON or Markdown is the CLI's job; [`render_text`] is a plain helper.

use std::collections::{BTreeMap, BTreeSet};

use lateral_model::{f, vocab::event_type as et, UdmEvent};
use serde::Serialize;

/// A host as named by the capture.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Host {
    pub ip: String,
    pub name: Option<String>,
    /// Where the name comes from: `NTLM target info`, `Kerberos service name`, `tree path`,
    /// `NTLM workstation`, `PsExec pipe name`.
    pub name_source: Option<String>,
}

/// An executable or file written over SMB.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DroppedFile {
    pub path: String,
    pub bytes: u64,
    pub pe_header: bool,
    pub frame: u64,
    pub time: String,
    pub source_ip: String,
    pub target_ip: String,
}

/// A service created (or attempted) remotely.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ServiceSummary {
    pub name: Option<String>,
    pub display_name: Option<String>,
    pub binary_path: Option<String>,
    pub start_type: Option<String>,
    pub operation: String,
    pub source_ip: String,
    pub target_ip: String,
    pub account: Option<String>,
    pub frame: u64,
    pub time: String,
    /// `success`, a failure status, or `unknown`.
    pub outcome: String,
    pub started: bool,
    pub deleted: bool,
    pub stub_encrypted: bool,
}

/// Another remote action (task, DCOM, WMI).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RemoteAction {
    pub kind: String,
    pub text: String,
    pub source_ip: String,
    pub target_ip: String,
    pub account: Option<String>,
    pub frame: u64,
    pub time: String,
    pub outcome: String,
}

/// One share and what it was used for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ShareUse {
    pub share: String,
    pub target_ip: String,
    pub first_frame: u64,
    pub used_for: Vec<String>,
}

/// One line of session detail.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DetailLine {
    pub frame: u64,
    pub time: String,
    pub text: String,
}

/// One connection with what happened in it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SessionDetail {
    pub protocol: String,
    pub client: String,
    pub server: String,
    pub server_name: Option<String>,
    pub account: Option<String>,
    pub auth: Option<String>,
    pub start: String,
    pub first_frame: u64,
    pub lines: Vec<DetailLine>,
}

/// The summary.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct InvestigationSummary {
    pub captures: Vec<String>,
    pub attacker_ip: Option<String>,
    pub attacker_name: Option<Host>,
    pub first_pivot: Option<Host>,
    pub account: Option<String>,
    pub account_source: Option<String>,
    pub service_executable: Option<DroppedFile>,
    pub services: Vec<ServiceSummary>,
    pub remote_actions: Vec<RemoteAction>,
    pub files_written: Vec<DroppedFile>,
    pub shares: Vec<ShareUse>,
    pub next_targets: Vec<Host>,
    pub sessions: Vec<SessionDetail>,
    pub visibility_gaps: Vec<String>,
}

pub fn time_text(us: i64) -> String {
    chrono::DateTime::from_timestamp_micros(us)
        .map(|d| d.format("%Y-%m-%d %H:%M:%S%.6f").to_string())
        .unwrap_or_default()
}

fn s(e: &UdmEvent, fl: lateral_model::Field) -> String {
    e.str(fl).unwrap_or_default().to_string()
}
fn add<'a>(e: &'a UdmEvent, k: &str) -> Option<&'a str> {
    e.additional.get(k).map(String::as_str)
}
fn frame(e: &UdmEvent) -> u64 {
    e.int(f::RECORD_NUMBER).unwrap_or(0) as u64
}
fn time(e: &UdmEvent) -> String {
    time_text(e.timestamp_micros().unwrap_or(0))
}
fn account(e: &UdmEvent) -> Option<String> {
    let u = e.str(f::PRINCIPAL_USERID)?;
    Some(match e.str(f::PRINCIPAL_DOMAIN) {
        Some(d) => format!("{d}\\{u}"),
        None => u.to_string(),
    })
}
fn failed(e: &UdmEvent) -> bool {
    matches!(e.str(f::ACTION), Some("FAIL" | "BLOCK"))
}
fn is_ip(s: &str) -> bool {
    s.parse::<std::net::IpAddr>().is_ok()
}
fn is_admin_share(share: &str) -> bool {
    let last = share
        .rsplit('\\')
        .next()
        .unwrap_or_default()
        .to_ascii_uppercase();
    last == "ADMIN$" || (last.len() == 2 && last.ends_with('$'))
}

/// Names of hosts by IP, best source first.
fn host_names(events: &[UdmEvent]) -> BTreeMap<String, (String, &'static str, u8)> {
    let mut names: BTreeMap<String, (String, &'static str, u8)> = BTreeMap::new();
    let mut put = |ip: String, name: String, src: &'static str, rank: u8| {
        if name.is_empty() || is_ip(&name) || ip.is_empty() {
            return;
        }
        match names.get(&ip) {
            Some((_, _, r)) if *r <= rank => {}
            _ => {
                names.insert(ip, (name, src, rank));
            }
        }
    };
    for e in events {
        let pet = e.str(f::PRODUCT_EVENT_TYPE).unwrap_or_default();
        let tip = s(e, f::TARGET_IP);
        let pip = s(e, f::PRINCIPAL_IP);
        match pet {
            "NTLMSSP_AUTH" => {
                if let Some(h) = e.str(f::TARGET_HOSTNAME) {
                    put(tip.clone(), h.to_string(), "NTLM target info", 0);
                }
                if let Some(w) = e.str(f::SRC_HOSTNAME) {
                    put(pip.clone(), w.to_string(), "NTLM workstation", 3);
                }
            }
            "KRB_AP_REQ" => {
                if let Some(h) = e.str(f::TARGET_URL).and_then(|u| u.split('/').nth(1)) {
                    put(tip.clone(), h.to_string(), "Kerberos service name", 1);
                }
            }
            "SMB_TREE_CONNECT" => {
                if let Some(h) = e
                    .str(f::TARGET_RESOURCE)
                    .and_then(|p| p.trim_start_matches('\\').split('\\').next())
                {
                    put(tip.clone(), h.to_string(), "tree path", 2);
                }
            }
            "SMB_PIPE_OPEN" => {
                // PsExec pipes: PSEXESVC-<CLIENT>-<PID>-stdin
                if let Some(p) = add(e, "named_pipe") {
                    let parts: Vec<&str> = p.split('-').collect();
                    if parts.len() >= 4
                        && matches!(parts.last(), Some(&("stdin" | "stdout" | "stderr")))
                    {
                        let host = parts[1..parts.len() - 2].join("-");
                        put(pip.clone(), host, "PsExec pipe name", 2);
                    }
                }
            }
            _ => {}
        }
    }
    names
}

fn host(ip: &str, names: &BTreeMap<String, (String, &'static str, u8)>) -> Host {
    let n = names.get(ip);
    Host {
        ip: ip.to_string(),
        name: n.map(|(n, _, _)| n.clone()),
        name_source: n.map(|(_, s, _)| s.to_string()),
    }
}

/// The fields [`summarize`] reads. Events kept only for a summary are cut down to these
/// ([`slim`]): captures of many sessions then hold a fraction of each event.
const FIELDS_READ: &[lateral_model::Field] = &[
    f::EVENT_TIMESTAMP,
    f::ACTION,
    f::APP_PROTOCOL,
    f::AUTH_DETAILS,
    f::DESCRIPTION,
    f::EVENT_TYPE,
    f::PRINCIPAL_DOMAIN,
    f::PRINCIPAL_IP,
    f::PRINCIPAL_PORT,
    f::PRINCIPAL_USERID,
    f::PRODUCT_EVENT_TYPE,
    f::RECORD_NUMBER,
    f::SECURITY_SUMMARY,
    f::SOURCE_FILE,
    f::SRC_HOSTNAME,
    f::TARGET_APPLICATION,
    f::TARGET_CMD,
    f::TARGET_DOMAIN,
    f::TARGET_FILE_PATH,
    f::TARGET_HOSTNAME,
    f::TARGET_IP,
    f::TARGET_PORT,
    f::TARGET_RESOURCE,
    f::TARGET_URL,
    f::TARGET_USERID,
];

/// The `additional.fields` keys [`summarize`] reads.
const ADDITIONAL_READ: &[&str] = &[
    "bytes_read",
    "bytes_written",
    "gap_bytes",
    "mid_stream",
    "named_pipe",
    "pe_header_seen",
    "rpc_interfaces",
    "rpc_operation",
    "service_display_name",
    "service_host",
    "service_start_type",
    "smb3_encrypted_messages",
    "stub_encrypted",
    "user_hidden",
];

/// Cut an event down to what [`summarize`] reads: the summary of slimmed events is the
/// summary of the full ones (tested on every shared capture).
pub fn slim(e: &mut UdmEvent) {
    e.retain_fields(|fl| FIELDS_READ.contains(&fl));
    e.additional.retain(|k| ADDITIONAL_READ.contains(&k));
}

/// Build the summary from the events of one or more captures.
pub fn summarize(events: &[UdmEvent]) -> InvestigationSummary {
    let mut out = InvestigationSummary::default();
    let names = host_names(events);
    let mut captures = BTreeSet::new();
    for e in events {
        if let Some(file) = e.str(f::SOURCE_FILE) {
            captures.insert(file.to_string());
        }
    }
    out.captures = captures.into_iter().collect();

    // Services, with start / delete seen later by name.
    let started: BTreeSet<(String, String)> = events
        .iter()
        .filter(|e| e.str(f::EVENT_TYPE) == Some(et::SERVICE_START) && !failed(e))
        .filter_map(|e| {
            Some((
                s(e, f::TARGET_IP),
                e.str(f::TARGET_APPLICATION)?.to_ascii_lowercase(),
            ))
        })
        .collect();
    let deleted: BTreeSet<(String, String)> = events
        .iter()
        .filter(|e| {
            e.str(f::PRODUCT_EVENT_TYPE)
                .is_some_and(|p| p.ends_with("RDeleteService"))
        })
        .filter_map(|e| {
            Some((
                s(e, f::TARGET_IP),
                e.str(f::TARGET_APPLICATION)?.to_ascii_lowercase(),
            ))
        })
        .collect();
    // (time, frame, source, target) of each lateral action.
    let mut lateral: Vec<(i64, u64, String, String, Option<String>)> = Vec::new();
    for e in events {
        let et_ = e.str(f::EVENT_TYPE).unwrap_or_default();
        let pet = e.str(f::PRODUCT_EVENT_TYPE).unwrap_or_default();
        let is_create = pet.contains("RCreateService") || pet.ends_with("RCreateWowService");
        if is_create {
            let name = e.str(f::TARGET_APPLICATION).map(str::to_string);
            let key = (
                s(e, f::TARGET_IP),
                name.clone().unwrap_or_default().to_ascii_lowercase(),
            );
            out.services.push(ServiceSummary {
                name,
                display_name: add(e, "service_display_name").map(str::to_string),
                binary_path: e.str(f::TARGET_CMD).map(str::to_string),
                start_type: add(e, "service_start_type").map(str::to_string),
                operation: add(e, "rpc_operation").unwrap_or_default().to_string(),
                source_ip: s(e, f::PRINCIPAL_IP),
                target_ip: s(e, f::TARGET_IP),
                account: account(e),
                frame: frame(e),
                time: time(e),
                outcome: e.str(f::SECURITY_SUMMARY).unwrap_or("unknown").to_string(),
                started: started.contains(&key),
                deleted: deleted.contains(&key),
                stub_encrypted: add(e, "stub_encrypted").is_some(),
            });
        }
        let remote = matches!(et_, et::SCHEDULED_TASK_CREATION | et::PROCESS_LAUNCH)
            || (et_ == et::GENERIC_EVENT
                && (pet.contains("Activat")
                    || pet.contains("RemoteCreateInstance")
                    || pet.contains("RemoteGetClassObject")
                    || pet.contains("SchRpcRun")));
        let is_task_fail = pet == "atsvc.NetrJobAdd" || pet.ends_with("SchRpcRegisterTask");
        if remote || (is_task_fail && failed(e)) {
            out.remote_actions.push(RemoteAction {
                kind: pet.to_string(),
                text: e.str(f::DESCRIPTION).unwrap_or_default().to_string(),
                source_ip: s(e, f::PRINCIPAL_IP),
                target_ip: s(e, f::TARGET_IP),
                account: account(e),
                frame: frame(e),
                time: time(e),
                outcome: e.str(f::SECURITY_SUMMARY).unwrap_or("unknown").to_string(),
            });
        }
        let written = add(e, "bytes_written")
            .and_then(|b| b.parse::<u64>().ok())
            .unwrap_or(0);
        if et_ == et::FILE_CREATION && written > 0 {
            out.files_written.push(DroppedFile {
                path: s(e, f::TARGET_FILE_PATH),
                bytes: written,
                pe_header: add(e, "pe_header_seen") == Some("true"),
                frame: frame(e),
                time: time(e),
                source_ip: s(e, f::PRINCIPAL_IP),
                target_ip: s(e, f::TARGET_IP),
            });
        }
        let counts = ((is_create || remote) && !failed(e))
            || (et_ == et::FILE_CREATION
                && written > 0
                && is_admin_share(e.str(f::TARGET_RESOURCE).unwrap_or_default()));
        if counts {
            lateral.push((
                e.timestamp_micros().unwrap_or(0),
                frame(e),
                s(e, f::PRINCIPAL_IP),
                s(e, f::TARGET_IP),
                account(e),
            ));
        }
    }
    lateral.sort();

    // Attacker and first pivot.
    let first = lateral.first().cloned();
    if let Some((_, _, src, dst, acct)) = &first {
        out.attacker_ip = Some(src.clone());
        let h = host(src, &names);
        if h.name.is_some() {
            out.attacker_name = Some(h);
        }
        out.first_pivot = Some(host(dst, &names));
        if let Some(a) = acct {
            out.account = Some(a.clone());
            out.account_source = Some("session authentication (NTLM)".into());
        }
    } else if let Some(e) = events.iter().find(|e| {
        e.str(f::EVENT_TYPE) == Some(et::USER_LOGIN)
            && !failed(e)
            && e.str(f::TARGET_USERID)
                .is_some_and(|u| u != "ANONYMOUS LOGON")
    }) {
        out.attacker_ip = Some(s(e, f::PRINCIPAL_IP));
        out.first_pivot = Some(host(&s(e, f::TARGET_IP), &names));
    }
    if let (None, Some(attacker), Some(pivot)) = (&out.account, &out.attacker_ip, &out.first_pivot)
    {
        // NTLM logon of the attacker to the pivot, else a Kerberos client name from the KDC.
        let ntlm = events.iter().find(|e| {
            e.str(f::EVENT_TYPE) == Some(et::USER_LOGIN)
                && e.str(f::PRINCIPAL_IP) == Some(attacker)
                && e.str(f::TARGET_IP) == Some(pivot.ip.as_str())
                && !failed(e)
                && e.str(f::TARGET_USERID).is_some()
        });
        if let Some(e) = ntlm {
            let u = s(e, f::TARGET_USERID);
            out.account = Some(match e.str(f::TARGET_DOMAIN) {
                Some(d) if e.str(f::PRODUCT_EVENT_TYPE) == Some("NTLMSSP_AUTH") => {
                    format!("{d}\\{u}")
                }
                _ => u,
            });
            out.account_source = Some("session authentication".into());
        } else {
            let pivot_name = pivot.name.clone().unwrap_or_default().to_ascii_lowercase();
            let short = pivot_name.split('.').next().unwrap_or_default().to_string();
            let mut best: Option<(bool, &UdmEvent)> = None;
            for e in events {
                let pet = e.str(f::PRODUCT_EVENT_TYPE).unwrap_or_default();
                if !matches!(pet, "KRB_TGS_REP" | "KRB_AS_REP" | "KRB_AS_REQ")
                    || e.str(f::PRINCIPAL_IP) != Some(attacker)
                {
                    continue;
                }
                let Some(c) = e.str(f::TARGET_USERID) else {
                    continue;
                };
                if c.ends_with('$') {
                    continue;
                }
                let host_match = !short.is_empty()
                    && add(e, "service_host").is_some_and(|h| {
                        h.to_ascii_lowercase().split('.').next() == Some(short.as_str())
                    });
                if best.is_none_or(|(m, _)| !m && host_match) {
                    best = Some((host_match, e));
                }
            }
            if let Some((_, e)) = best {
                let u = s(e, f::TARGET_USERID);
                out.account = Some(match e.str(f::TARGET_DOMAIN) {
                    Some(d) => format!("{d}\\{u}"),
                    None => u,
                });
                out.account_source = Some(format!(
                    "Kerberos {} client name (frame {})",
                    s(e, f::PRODUCT_EVENT_TYPE).trim_start_matches("KRB_"),
                    frame(e)
                ));
            }
        }
    }

    // The service executable: a written file a created service runs, else the first PE dropped.
    let binaries: Vec<String> = out
        .services
        .iter()
        .filter_map(|s| s.binary_path.as_deref())
        .map(|b| {
            crate::emit::executable_of(b)
                .rsplit('\\')
                .next()
                .unwrap_or_default()
                .to_ascii_lowercase()
        })
        .collect();
    out.service_executable = out
        .files_written
        .iter()
        .find(|f| {
            binaries.contains(
                &f.path
                    .rsplit('\\')
                    .next()
                    .unwrap_or_default()
                    .to_ascii_lowercase(),
            )
        })
        .or_else(|| out.files_written.iter().find(|f| f.pe_header))
        .cloned();

    // Shares and their uses.
    let mut shares: BTreeMap<(String, String), ShareUse> = BTreeMap::new();
    for e in events {
        let pet = e.str(f::PRODUCT_EVENT_TYPE).unwrap_or_default();
        let Some(share) = e.str(f::TARGET_RESOURCE) else {
            continue;
        };
        if !pet.starts_with("SMB_") {
            continue;
        }
        let key = (s(e, f::TARGET_IP), share.to_string());
        let entry = shares.entry(key.clone()).or_insert_with(|| ShareUse {
            share: share.to_string(),
            target_ip: key.0.clone(),
            first_frame: frame(e),
            used_for: Vec::new(),
        });
        let name = e.str(f::TARGET_FILE_PATH).map(|p| {
            p.strip_prefix(share)
                .unwrap_or(p)
                .trim_start_matches('\\')
                .to_string()
        });
        let use_ = match (pet, e.str(f::EVENT_TYPE).unwrap_or_default()) {
            ("SMB_TREE_CONNECT", _) if failed(e) => {
                Some(format!("connect refused ({})", s(e, f::SECURITY_SUMMARY)))
            }
            ("SMB_PIPE_OPEN", _) => name.map(|n| match add(e, "rpc_interfaces") {
                Some(i) => format!("named pipe {n} (DCE/RPC {i})"),
                None => format!("named pipe {n}"),
            }),
            ("SMB_CREATE", _) => {
                name.map(|n| format!("open of {n} refused ({})", s(e, f::SECURITY_SUMMARY)))
            }
            ("SMB_FILE", et::FILE_CREATION) => name.map(|n| match add(e, "bytes_written") {
                Some(b) => format!(
                    "write {n} ({b} bytes{})",
                    if add(e, "pe_header_seen") == Some("true") {
                        ", PE"
                    } else {
                        ""
                    }
                ),
                None => format!("create {n}"),
            }),
            ("SMB_FILE", _) => name.map(|n| match add(e, "bytes_read") {
                Some(b) => format!("read {n} ({b} bytes)"),
                None => format!("open {n}"),
            }),
            ("SMB_DELETE", _) => name.map(|n| format!("delete {n}")),
            _ => None,
        };
        if let Some(u) = use_ {
            if !entry.used_for.contains(&u) && entry.used_for.len() < 50 {
                entry.used_for.push(u);
            }
        }
    }
    let mut shares: Vec<ShareUse> = shares.into_values().collect();
    shares.sort_by_key(|s| s.first_frame);
    out.shares = shares;

    // Next targets: later lateral targets, then admin-share connects to other hosts.
    let pivot_ip = out.first_pivot.as_ref().map(|h| h.ip.clone());
    let mut seen: BTreeSet<String> = pivot_ip.iter().cloned().collect();
    if let Some(a) = &out.attacker_ip {
        seen.insert(a.clone());
    }
    for (_, _, src, dst, _) in lateral.iter().skip(1) {
        let from_known = Some(src) == out.attacker_ip.as_ref() || Some(src) == pivot_ip.as_ref();
        if from_known && seen.insert(dst.clone()) {
            out.next_targets.push(host(dst, &names));
        }
    }
    for e in events {
        if e.str(f::PRODUCT_EVENT_TYPE) == Some("SMB_TREE_CONNECT")
            && !failed(e)
            && is_admin_share(e.str(f::TARGET_RESOURCE).unwrap_or_default())
            && (e.str(f::PRINCIPAL_IP) == out.attacker_ip.as_deref()
                || e.str(f::PRINCIPAL_IP) == pivot_ip.as_deref())
        {
            let t = s(e, f::TARGET_IP);
            if seen.insert(t.clone()) {
                out.next_targets.push(host(&t, &names));
            }
        }
    }

    // Sessions: one per connection that carried more than the connection record.
    let mut sessions: BTreeMap<(String, i64, String, i64), SessionDetail> = BTreeMap::new();
    for e in events {
        let app = e.str(f::APP_PROTOCOL).unwrap_or_default();
        if !matches!(app, "SMB" | "DCERPC") {
            continue;
        }
        let key = (
            s(e, f::PRINCIPAL_IP),
            e.int(f::PRINCIPAL_PORT).unwrap_or(0),
            s(e, f::TARGET_IP),
            e.int(f::TARGET_PORT).unwrap_or(0),
        );
        let entry = sessions
            .entry(key.clone())
            .or_insert_with(|| SessionDetail {
                protocol: app.to_string(),
                client: format!("{}:{}", key.0, key.1),
                server: format!("{}:{}", key.2, key.3),
                server_name: host(&key.2, &names).name,
                start: time(e),
                first_frame: frame(e),
                ..Default::default()
            });
        if e.str(f::EVENT_TYPE) == Some(et::NETWORK_CONNECTION) {
            continue;
        }
        if entry.account.is_none() {
            entry.account = account(e).or_else(|| {
                (e.str(f::EVENT_TYPE) == Some(et::USER_LOGIN))
                    .then(|| e.str(f::TARGET_USERID).map(str::to_string))
                    .flatten()
            });
        }
        if entry.auth.is_none() {
            entry.auth = e.str(f::AUTH_DETAILS).map(str::to_string);
        }
        if entry.lines.len() < 500 {
            let mut text = e.str(f::DESCRIPTION).unwrap_or_default().to_string();
            if let Some(c) = e.str(f::TARGET_CMD) {
                if !text.contains(c) {
                    text.push_str(&format!(" [{c}]"));
                }
            }
            if failed(e) {
                text.push_str(&format!(" -> {}", s(e, f::SECURITY_SUMMARY)));
            }
            entry.lines.push(DetailLine {
                frame: frame(e),
                time: time(e),
                text,
            });
        }
    }
    let mut sessions: Vec<SessionDetail> = sessions
        .into_values()
        .filter(|s| !s.lines.is_empty())
        .collect();
    sessions.sort_by_key(|s| s.first_frame);
    out.sessions = sessions;

    // Visibility gaps.
    let enc = events
        .iter()
        .filter(|e| add(e, "stub_encrypted").is_some())
        .count();
    if enc > 0 {
        out.visibility_gaps.push(format!("{enc} DCE/RPC calls with encrypted stubs (packet privacy): operation known, arguments not"));
    }
    let smb3: u64 = events
        .iter()
        .filter_map(|e| add(e, "smb3_encrypted_messages")?.parse::<u64>().ok())
        .sum();
    if smb3 > 0 {
        out.visibility_gaps
            .push(format!("{smb3} SMB3 encrypted messages: not visible"));
    }
    if events.iter().any(|e| add(e, "user_hidden").is_some()) {
        out.visibility_gaps.push("Kerberos SMB sessions: the account is only in the encrypted authenticator (taken from KDC traffic when captured)".into());
    }
    let mid = events
        .iter()
        .filter(|e| add(e, "mid_stream") == Some("true") && e.str(f::APP_PROTOCOL).is_some())
        .count();
    if mid > 0 {
        out.visibility_gaps.push(format!("{mid} SMB/RPC connections start before the capture (session setup and tree connect not seen)"));
    }
    let gaps: u64 = events
        .iter()
        .filter_map(|e| add(e, "gap_bytes")?.parse::<u64>().ok())
        .sum();
    if gaps > 0 {
        out.visibility_gaps
            .push(format!("{gaps} TCP bytes missing from the capture"));
    }
    out
}

/// A plain-text rendering (the CLI has the richer formats).
pub fn render_text(s: &InvestigationSummary) -> String {
    let mut o = String::new();
    let host_text = |h: &Host| match (&h.name, &h.name_source) {
        (Some(n), Some(src)) => format!("{n} ({}, name from {src})", h.ip),
        _ => h.ip.clone(),
    };
    o.push_str(&format!("Captures:            {}\n", s.captures.join(", ")));
    o.push_str(&format!(
        "Attacker IP:         {}\n",
        match (&s.attacker_ip, &s.attacker_name) {
            (Some(ip), Some(h)) => format!("{ip} ({})", host_text(h)),
            (Some(ip), None) => ip.clone(),
            _ => "not determined".into(),
        }
    ));
    o.push_str(&format!(
        "First pivot:         {}\n",
        s.first_pivot
            .as_ref()
            .map(host_text)
            .unwrap_or_else(|| "not determined".into())
    ));
    o.push_str(&format!(
        "Account:             {}\n",
        match (&s.account, &s.account_source) {
            (Some(a), Some(src)) => format!("{a} (from {src})"),
            (Some(a), None) => a.clone(),
            _ => "not visible".into(),
        }
    ));
    o.push_str(&format!(
        "Service executable:  {}\n",
        s.service_executable
            .as_ref()
            .map(|f| format!(
                "{} ({} bytes{}, frame {})",
                f.path,
                f.bytes,
                if f.pe_header { ", PE" } else { "" },
                f.frame
            ))
            .unwrap_or_else(|| "none seen".into())
    ));
    if s.services.is_empty() {
        o.push_str("Services created:    none\n");
    }
    for sv in &s.services {
        o.push_str(&format!(
            "Service:             {} -> {} [{}] {} on {} frame {} {} ({}{})\n",
            sv.name.as_deref().unwrap_or("(name not visible)"),
            sv.binary_path.as_deref().unwrap_or("(binary not visible)"),
            sv.operation,
            sv.source_ip,
            sv.target_ip,
            sv.frame,
            sv.time,
            sv.outcome,
            if sv.started { ", started" } else { "" }
        ));
    }
    for a in &s.remote_actions {
        o.push_str(&format!(
            "Remote action:       {} {} -> {} frame {} ({})\n",
            a.text, a.source_ip, a.target_ip, a.frame, a.outcome
        ));
    }
    for sh in &s.shares {
        o.push_str(&format!(
            "Share:               {} ({}): {}\n",
            sh.share,
            sh.target_ip,
            sh.used_for.join("; ")
        ));
    }
    o.push_str(&format!(
        "Next targets:        {}\n",
        if s.next_targets.is_empty() {
            "none seen".to_string()
        } else {
            s.next_targets
                .iter()
                .map(host_text)
                .collect::<Vec<_>>()
                .join(", ")
        }
    ));
    for g in &s.visibility_gaps {
        o.push_str(&format!("Visibility gap:      {g}\n"));
    }
    for se in &s.sessions {
        o.push_str(&format!(
            "\n{} session {} -> {}{} account {} ({})\n",
            se.protocol,
            se.client,
            se.server,
            se.server_name
                .as_deref()
                .map(|n| format!(" ({n})"))
                .unwrap_or_default(),
            se.account.as_deref().unwrap_or("?"),
            se.auth.as_deref().unwrap_or("?")
        ));
        for l in &se.lines {
            o.push_str(&format!("  frame {:>6}  {}  {}\n", l.frame, l.time, l.text));
        }
    }
    o
}
