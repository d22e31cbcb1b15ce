//! The investigation summary an analyst writes from a capture: who attacked, which host they
//! pivoted to first and under which name, with which account, what service executable was
//! dropped and which service created, which shares were used for what, which hosts came next,
//! then per-session detail with frame numbers and times.
//!
//! Built from the UDM events alone (so it works the same on events from several captures), one
//! event at a time ([`Summarizer`]): it keeps what it lists, within stated limits whose
//! overflow it counts ([`NotListed`]), never the events. Rendering as table, JSON or Markdown
//! is the CLI's job; [`render_text`] is a plain helper.

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
    /// What the summary's size limits left out (all zero on ordinary captures).
    pub not_listed: NotListed,
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

/// Host names by IP: (name, where it comes from, rank; lower is better).
type Names = BTreeMap<String, (String, &'static str, u8)>;

/// Learn host names from one event, keeping the best source for each IP.
fn note_names(names: &mut Names, e: &UdmEvent) {
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
    let pet = e.str(f::PRODUCT_EVENT_TYPE).unwrap_or_default();
    let tip = || s(e, f::TARGET_IP);
    let pip = || s(e, f::PRINCIPAL_IP);
    match pet {
        "NTLMSSP_AUTH" => {
            if let Some(h) = e.str(f::TARGET_HOSTNAME) {
                put(tip(), h.to_string(), "NTLM target info", 0);
            }
            if let Some(w) = e.str(f::SRC_HOSTNAME) {
                put(pip(), w.to_string(), "NTLM workstation", 3);
            }
        }
        "KRB_AP_REQ" => {
            if let Some(h) = e.str(f::TARGET_URL).and_then(|u| u.split('/').nth(1)) {
                put(tip(), h.to_string(), "Kerberos service name", 1);
            }
        }
        "SMB_TREE_CONNECT" => {
            if let Some(h) = e
                .str(f::TARGET_RESOURCE)
                .and_then(|p| p.trim_start_matches('\\').split('\\').next())
            {
                put(tip(), h.to_string(), "tree path", 2);
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
                    put(pip(), host, "PsExec pipe name", 2);
                }
            }
        }
        _ => {}
    }
}

fn host(ip: &str, names: &Names) -> Host {
    let n = names.get(ip);
    Host {
        ip: ip.to_string(),
        name: n.map(|(n, _, _)| n.clone()),
        name_source: n.map(|(_, s, _)| s.to_string()),
    }
}

/// Most entries in each list of the summary (services, remote actions, files written, shares).
pub const MAX_LISTED: usize = 10_000;
/// Most connections with session detail, and most detail lines in all and per connection.
pub const MAX_SESSIONS: usize = 5_000;
pub const MAX_DETAIL_LINES: usize = 50_000;
pub const MAX_LINES_PER_SESSION: usize = 500;

/// What the summary's limits left out, counted so that nothing goes unmentioned.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct NotListed {
    pub services: u64,
    pub remote_actions: u64,
    pub files_written: u64,
    /// Share uses on shares past the first [`MAX_LISTED`].
    pub share_uses: u64,
    /// SMB/RPC events of connections past the first [`MAX_SESSIONS`].
    pub session_events: u64,
    pub detail_lines: u64,
}

impl NotListed {
    pub fn is_empty(&self) -> bool {
        *self == NotListed::default()
    }

    /// One line per limit reached, for the renderings.
    pub fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut say = |n: u64, what: String| {
            if n > 0 {
                out.push(format!("{n} {what}"));
            }
        };
        say(
            self.services,
            format!("services past the first {MAX_LISTED}"),
        );
        say(
            self.remote_actions,
            format!("remote actions past the first {MAX_LISTED}"),
        );
        say(
            self.files_written,
            format!("files written past the first {MAX_LISTED}"),
        );
        say(
            self.share_uses,
            format!("uses of shares past the first {MAX_LISTED}"),
        );
        say(
            self.session_events,
            format!(
                "SMB/RPC events of connections past the first {MAX_SESSIONS} in the session detail"
            ),
        );
        say(
            self.detail_lines,
            format!("session detail lines past {MAX_LINES_PER_SESSION} per connection or {MAX_DETAIL_LINES} in all"),
        );
        out
    }
}

/// A Kerberos client name seen from a host: (user, realm, message kind, frame).
type KrbClient = (String, Option<String>, String, u64);

/// The Kerberos client names one host asked for or was given.
#[derive(Debug, Default)]
struct KrbClients {
    first: Option<KrbClient>,
    /// The first per service host (short name, lower case).
    by_host: BTreeMap<String, KrbClient>,
}

/// (time, frame, source, target, account) of one lateral action.
type Lateral = (i64, u64, String, String, Option<String>);

/// The summary built one event at a time, in the order [`crate::stream_capture`] hands them on
/// (several captures one after the other): it keeps what the summary lists (within the
/// [`MAX_LISTED`] and session limits) and a little per host, pair of hosts and connection,
/// never the events themselves, so its size does not follow the captures'.
#[derive(Debug, Default)]
pub struct Summarizer {
    captures: BTreeSet<String>,
    names: Names,
    started: BTreeSet<(String, String)>,
    deleted: BTreeSet<(String, String)>,
    services: Vec<ServiceSummary>,
    remote_actions: Vec<RemoteAction>,
    files_written: Vec<DroppedFile>,
    lateral: Vec<Lateral>,
    /// Source and target of the first successful logon by a named account.
    first_login: Option<(String, String)>,
    /// The first successful logon with a user name per (source, target): user and, for NTLM,
    /// its domain.
    logins: BTreeMap<(String, String), (String, Option<String>)>,
    kerberos: BTreeMap<String, KrbClients>,
    shares: BTreeMap<(String, String), ShareUse>,
    /// Successful admin-share tree connects: (source, target) in first-seen order.
    admin_connects: Vec<(Option<String>, String)>,
    admin_connect_seen: BTreeSet<(Option<String>, String)>,
    sessions: BTreeMap<(String, i64, String, i64), SessionDetail>,
    detail_lines: usize,
    not_listed: NotListed,
    encrypted_stubs: usize,
    smb3_encrypted: u64,
    user_hidden: bool,
    mid_stream: usize,
    gap_bytes: u64,
}

/// Push onto a summary list within [`MAX_LISTED`], counting what does not fit.
fn listed<T>(list: &mut Vec<T>, omitted: &mut u64, item: impl FnOnce() -> T) {
    if list.len() < MAX_LISTED {
        list.push(item());
    } else {
        *omitted += 1;
    }
}

/// The entry for `key`, made by `make` while the map holds fewer than `limit` entries; past
/// it, `None` and the event counted in `omitted`.
fn capped_entry<'m, K: Ord, V>(
    map: &'m mut BTreeMap<K, V>,
    key: K,
    limit: usize,
    omitted: &mut u64,
    make: impl FnOnce(&K) -> V,
) -> Option<&'m mut V> {
    if map.len() >= limit && !map.contains_key(&key) {
        *omitted += 1;
        return None;
    }
    Some(map.entry(key).or_insert_with_key(make))
}

impl Summarizer {
    /// Take one event into the summary.
    pub fn push(&mut self, e: &UdmEvent) {
        if let Some(file) = e.str(f::SOURCE_FILE) {
            if !self.captures.contains(file) {
                self.captures.insert(file.to_string());
            }
        }
        note_names(&mut self.names, e);
        let et_ = e.str(f::EVENT_TYPE).unwrap_or_default();
        let pet = e.str(f::PRODUCT_EVENT_TYPE).unwrap_or_default();
        self.services_and_actions(e, et_, pet);
        self.logons(e, et_, pet);
        self.share_use(e, pet);
        self.session_line(e, et_);
        if add(e, "stub_encrypted").is_some() {
            self.encrypted_stubs += 1;
        }
        if let Some(n) = add(e, "smb3_encrypted_messages").and_then(|n| n.parse::<u64>().ok()) {
            self.smb3_encrypted += n;
        }
        self.user_hidden |= add(e, "user_hidden").is_some();
        if add(e, "mid_stream") == Some("true") && e.str(f::APP_PROTOCOL).is_some() {
            self.mid_stream += 1;
        }
        if let Some(n) = add(e, "gap_bytes").and_then(|n| n.parse::<u64>().ok()) {
            self.gap_bytes += n;
        }
    }

    fn services_and_actions(&mut self, e: &UdmEvent, et_: &str, pet: &str) {
        let service_key = || {
            e.str(f::TARGET_APPLICATION)
                .map(|n| (s(e, f::TARGET_IP), n.to_ascii_lowercase()))
        };
        if et_ == et::SERVICE_START && !failed(e) {
            if let Some(k) = service_key() {
                self.started.insert(k);
            }
        }
        if pet.ends_with("RDeleteService") {
            if let Some(k) = service_key() {
                self.deleted.insert(k);
            }
        }
        let is_create = pet.contains("RCreateService") || pet.ends_with("RCreateWowService");
        if is_create {
            listed(&mut self.services, &mut self.not_listed.services, || {
                ServiceSummary {
                    name: e.str(f::TARGET_APPLICATION).map(str::to_string),
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
                    started: false,
                    deleted: false,
                    stub_encrypted: add(e, "stub_encrypted").is_some(),
                }
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
            listed(
                &mut self.remote_actions,
                &mut self.not_listed.remote_actions,
                || RemoteAction {
                    kind: pet.to_string(),
                    text: e.str(f::DESCRIPTION).unwrap_or_default().to_string(),
                    source_ip: s(e, f::PRINCIPAL_IP),
                    target_ip: s(e, f::TARGET_IP),
                    account: account(e),
                    frame: frame(e),
                    time: time(e),
                    outcome: e.str(f::SECURITY_SUMMARY).unwrap_or("unknown").to_string(),
                },
            );
        }
        let written = add(e, "bytes_written")
            .and_then(|b| b.parse::<u64>().ok())
            .unwrap_or(0);
        if et_ == et::FILE_CREATION && written > 0 {
            listed(
                &mut self.files_written,
                &mut self.not_listed.files_written,
                || DroppedFile {
                    path: s(e, f::TARGET_FILE_PATH),
                    bytes: written,
                    pe_header: add(e, "pe_header_seen") == Some("true"),
                    frame: frame(e),
                    time: time(e),
                    source_ip: s(e, f::PRINCIPAL_IP),
                    target_ip: s(e, f::TARGET_IP),
                },
            );
        }
        let counts = ((is_create || remote) && !failed(e))
            || (et_ == et::FILE_CREATION
                && written > 0
                && is_admin_share(e.str(f::TARGET_RESOURCE).unwrap_or_default()));
        if counts {
            self.lateral.push((
                e.timestamp_micros().unwrap_or(0),
                frame(e),
                s(e, f::PRINCIPAL_IP),
                s(e, f::TARGET_IP),
                account(e),
            ));
        }
    }

    /// What the account answer needs when no lateral action names one: logons and Kerberos
    /// client names per host.
    fn logons(&mut self, e: &UdmEvent, et_: &str, pet: &str) {
        if et_ == et::USER_LOGIN && !failed(e) {
            if let Some(u) = e.str(f::TARGET_USERID) {
                let pair = (s(e, f::PRINCIPAL_IP), s(e, f::TARGET_IP));
                if self.first_login.is_none() && u != "ANONYMOUS LOGON" {
                    self.first_login = Some(pair.clone());
                }
                self.logins.entry(pair).or_insert_with(|| {
                    let domain = e
                        .str(f::TARGET_DOMAIN)
                        .filter(|_| pet == "NTLMSSP_AUTH")
                        .map(str::to_string);
                    (u.to_string(), domain)
                });
            }
        }
        if matches!(pet, "KRB_TGS_REP" | "KRB_AS_REP" | "KRB_AS_REQ") {
            let Some(c) = e.str(f::TARGET_USERID).filter(|c| !c.ends_with('$')) else {
                return;
            };
            let client = || {
                (
                    c.to_string(),
                    e.str(f::TARGET_DOMAIN).map(str::to_string),
                    pet.to_string(),
                    frame(e),
                )
            };
            let clients = self.kerberos.entry(s(e, f::PRINCIPAL_IP)).or_default();
            if clients.first.is_none() {
                clients.first = Some(client());
            }
            if let Some(h) = add(e, "service_host") {
                let short = h
                    .to_ascii_lowercase()
                    .split('.')
                    .next()
                    .unwrap_or_default()
                    .to_string();
                clients.by_host.entry(short).or_insert_with(client);
            }
        }
    }

    fn share_use(&mut self, e: &UdmEvent, pet: &str) {
        let Some(share) = e.str(f::TARGET_RESOURCE) else {
            return;
        };
        if !pet.starts_with("SMB_") {
            return;
        }
        if pet == "SMB_TREE_CONNECT" && !failed(e) && is_admin_share(share) {
            let pair = (
                e.str(f::PRINCIPAL_IP).map(str::to_string),
                s(e, f::TARGET_IP),
            );
            if self.admin_connect_seen.insert(pair.clone()) {
                self.admin_connects.push(pair);
            }
        }
        let Some(entry) = capped_entry(
            &mut self.shares,
            (s(e, f::TARGET_IP), share.to_string()),
            MAX_LISTED,
            &mut self.not_listed.share_uses,
            |(target_ip, share)| ShareUse {
                share: share.clone(),
                target_ip: target_ip.clone(),
                first_frame: frame(e),
                used_for: Vec::new(),
            },
        ) else {
            return;
        };
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

    /// Sessions: one per connection that carried more than the connection record.
    fn session_line(&mut self, e: &UdmEvent, et_: &str) {
        let app = e.str(f::APP_PROTOCOL).unwrap_or_default();
        if !matches!(app, "SMB" | "DCERPC") {
            return;
        }
        let key = (
            s(e, f::PRINCIPAL_IP),
            e.int(f::PRINCIPAL_PORT).unwrap_or(0),
            s(e, f::TARGET_IP),
            e.int(f::TARGET_PORT).unwrap_or(0),
        );
        let Some(entry) = capped_entry(
            &mut self.sessions,
            key,
            MAX_SESSIONS,
            &mut self.not_listed.session_events,
            |key| SessionDetail {
                protocol: app.to_string(),
                client: format!("{}:{}", key.0, key.1),
                server: format!("{}:{}", key.2, key.3),
                start: time(e),
                first_frame: frame(e),
                ..Default::default()
            },
        ) else {
            return;
        };
        if et_ == et::NETWORK_CONNECTION {
            return;
        }
        if entry.account.is_none() {
            entry.account = account(e).or_else(|| {
                (et_ == et::USER_LOGIN)
                    .then(|| e.str(f::TARGET_USERID).map(str::to_string))
                    .flatten()
            });
        }
        if entry.auth.is_none() {
            entry.auth = e.str(f::AUTH_DETAILS).map(str::to_string);
        }
        if entry.lines.len() < MAX_LINES_PER_SESSION && self.detail_lines < MAX_DETAIL_LINES {
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
            self.detail_lines += 1;
        } else {
            self.not_listed.detail_lines += 1;
        }
    }

    /// The summary of every event pushed.
    pub fn finish(mut self) -> InvestigationSummary {
        let names = std::mem::take(&mut self.names);
        let mut out = InvestigationSummary {
            captures: std::mem::take(&mut self.captures).into_iter().collect(),
            ..Default::default()
        };
        out.services = std::mem::take(&mut self.services);
        for sv in &mut out.services {
            let key = (
                sv.target_ip.clone(),
                sv.name.clone().unwrap_or_default().to_ascii_lowercase(),
            );
            sv.started = self.started.contains(&key);
            sv.deleted = self.deleted.contains(&key);
        }
        out.remote_actions = std::mem::take(&mut self.remote_actions);
        out.files_written = std::mem::take(&mut self.files_written);
        let mut lateral = std::mem::take(&mut self.lateral);
        lateral.sort();

        // Attacker and first pivot.
        if let Some((_, _, src, dst, acct)) = lateral.first() {
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
        } else if let Some((src, dst)) = &self.first_login {
            out.attacker_ip = Some(src.clone());
            out.first_pivot = Some(host(dst, &names));
        }
        if let (None, Some(attacker), Some(pivot)) =
            (&out.account, &out.attacker_ip, &out.first_pivot)
        {
            // NTLM logon of the attacker to the pivot, else a Kerberos client name from the KDC.
            if let Some((u, domain)) = self.logins.get(&(attacker.clone(), pivot.ip.clone())) {
                out.account = Some(match domain {
                    Some(d) => format!("{d}\\{u}"),
                    None => u.clone(),
                });
                out.account_source = Some("session authentication".into());
            } else if let Some(clients) = self.kerberos.get(attacker) {
                let pivot_name = pivot.name.clone().unwrap_or_default().to_ascii_lowercase();
                let short = pivot_name.split('.').next().unwrap_or_default();
                let best = (!short.is_empty())
                    .then(|| clients.by_host.get(short))
                    .flatten()
                    .or(clients.first.as_ref());
                if let Some((u, realm, kind, fr)) = best {
                    out.account = Some(match realm {
                        Some(d) => format!("{d}\\{u}"),
                        None => u.clone(),
                    });
                    out.account_source = Some(format!(
                        "Kerberos {} client name (frame {fr})",
                        kind.trim_start_matches("KRB_"),
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

        let mut shares: Vec<ShareUse> = std::mem::take(&mut self.shares).into_values().collect();
        shares.sort_by_key(|s| s.first_frame);
        out.shares = shares;

        // Next targets: later lateral targets, then admin-share connects to other hosts.
        let pivot_ip = out.first_pivot.as_ref().map(|h| h.ip.clone());
        let mut seen: BTreeSet<String> = pivot_ip.iter().cloned().collect();
        if let Some(a) = &out.attacker_ip {
            seen.insert(a.clone());
        }
        for (_, _, src, dst, _) in lateral.iter().skip(1) {
            let from_known =
                Some(src) == out.attacker_ip.as_ref() || Some(src) == pivot_ip.as_ref();
            if from_known && seen.insert(dst.clone()) {
                out.next_targets.push(host(dst, &names));
            }
        }
        for (src, dst) in &self.admin_connects {
            if (src == &out.attacker_ip || src == &pivot_ip) && seen.insert(dst.clone()) {
                out.next_targets.push(host(dst, &names));
            }
        }

        let mut sessions: Vec<SessionDetail> = std::mem::take(&mut self.sessions)
            .into_iter()
            .filter(|(_, s)| !s.lines.is_empty())
            .map(|(key, mut s)| {
                s.server_name = host(&key.2, &names).name;
                s
            })
            .collect();
        sessions.sort_by_key(|s| s.first_frame);
        out.sessions = sessions;

        // Visibility gaps.
        if self.encrypted_stubs > 0 {
            out.visibility_gaps.push(format!("{} DCE/RPC calls with encrypted stubs (packet privacy): operation known, arguments not", self.encrypted_stubs));
        }
        if self.smb3_encrypted > 0 {
            out.visibility_gaps.push(format!(
                "{} SMB3 encrypted messages: not visible",
                self.smb3_encrypted
            ));
        }
        if self.user_hidden {
            out.visibility_gaps.push("Kerberos SMB sessions: the account is only in the encrypted authenticator (taken from KDC traffic when captured)".into());
        }
        if self.mid_stream > 0 {
            out.visibility_gaps.push(format!("{} SMB/RPC connections start before the capture (session setup and tree connect not seen)", self.mid_stream));
        }
        if self.gap_bytes > 0 {
            out.visibility_gaps.push(format!(
                "{} TCP bytes missing from the capture",
                self.gap_bytes
            ));
        }
        out.not_listed = self.not_listed;
        out
    }
}

/// Build the summary from the events of one or more captures.
pub fn summarize(events: &[UdmEvent]) -> InvestigationSummary {
    let mut s = Summarizer::default();
    for e in events {
        s.push(e);
    }
    s.finish()
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
    for l in s.not_listed.lines() {
        o.push_str(&format!("Not listed:          {l}\n"));
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
