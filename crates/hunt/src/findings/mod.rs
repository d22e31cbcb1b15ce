//! From query hits and sequence links to findings.
//!
//! Every hit of a non-context query is an *observation* on a host. Target-side observations
//! (what ran on the host moved to) are attributed to a source, in this order of strength:
//!
//! 1. the event names its remote actor itself (5140/5145/4624 source address, inbound
//!    connection, DCOM denial);
//! 2. the logon session it ran in (`session-*` and `logon-then-service` sequences: the 4624
//!    with the same logon id gives address, workstation and account);
//! 3. the client host in a PsExec pipe name;
//! 4. a neighbouring event on the same host (`svcctl-then-service`, `logon-then-service-7045`,
//!    `rpc-then-wmiprvse-child`, the last inbound SMB/RPC connection or network logon in the
//!    two minutes before);
//! 5. the other observations of the same burst on that host (a services.exe child inherits the
//!    source of the service installation a few seconds earlier).
//!
//! Observations on one target host from one source, less than 15 minutes apart, form one
//! finding. Source-side observations (`wmic /node:B`, `psexec \\B`, 4648 to B) are joined to
//! the findings on B within 10 minutes (the cross-host correlation); unmatched ones become
//! source-side findings of their own. A source that resolves to the target itself, a loopback
//! address or a PsExec pipe naming the host itself makes the finding *local*, never movement.
//!
//! Layout: [`attribution`] (who acted: sources, accounts, ancestry), [`target`] (target-side
//! clusters to findings), [`source_side`] (the cross-host join), [`other`] (privilege
//! escalation aside: pass-the-hash, WMI persistence, credential exposure, recurrence, fan-out).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use lateral_analysis as la;
use lateral_model::f;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::describe::{account_of, clip, file_name};
use crate::evidence::{Ev, EvidenceRef};
use crate::hosts::{HostKey, Resolver};
use crate::pack::{Pack, Role, Severity};
use crate::time::{iso, MINUTE};

/// What a finding says happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FindingKind {
    /// Execution on one host driven from another.
    LateralMovement,
    /// The source-side view only: a host aimed remote execution at another host whose logs
    /// show nothing (or are not in the evidence).
    SourceSideMovement,
    /// Remote-execution traces on a host (a service, WMI or DCOM child, a file dropped over
    /// SMB) whose source the evidence does not name.
    SuspectedMovement,
    /// A denied or failed remote execution attempt.
    FailedAttempt,
    /// Remote-execution tooling used against the host itself (loopback, PsExec to itself).
    LocalExecution,
    /// Local privilege escalation that looks like a remote service (named-pipe getsystem).
    PrivilegeEscalation,
    /// Secrets typed on a command line.
    CredentialExposure,
    /// Credential material used to move (pass-the-hash, over-pass-the-hash).
    CredentialUse,
    /// One source reaching many hosts quickly.
    FanOut,
    /// Persistence through WMI subscriptions.
    Persistence,
}

impl FindingKind {
    /// The name used in JSON and Markdown (`lateral-movement`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::LateralMovement => "lateral-movement",
            FindingKind::SourceSideMovement => "source-side-movement",
            FindingKind::SuspectedMovement => "suspected-movement",
            FindingKind::FailedAttempt => "failed-attempt",
            FindingKind::LocalExecution => "local-execution",
            FindingKind::PrivilegeEscalation => "privilege-escalation",
            FindingKind::CredentialExposure => "credential-exposure",
            FindingKind::CredentialUse => "credential-use",
            FindingKind::FanOut => "fan-out",
            FindingKind::Persistence => "persistence",
        }
    }

    pub fn is_movement(self) -> bool {
        matches!(
            self,
            FindingKind::LateralMovement
                | FindingKind::SourceSideMovement
                | FindingKind::SuspectedMovement
                | FindingKind::FanOut
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    Low,
    Medium,
    High,
}

impl Confidence {
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::Low => "low",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        }
    }
}

/// A host as a finding names it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Endpoint {
    pub host: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ips: Vec<String>,
}

/// A command that ran, as evidence shows it (secrets masked).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct CommandInfo {
    pub time: String,
    pub host: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_pid: Option<i64>,
    pub command_line: String,
    /// The decoded `-EncodedCommand` payload, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decoded: Option<String>,
    /// Parent chain up to services.exe, WmiPrvSE.exe, explorer.exe or the logon session.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ancestry: Vec<String>,
}

/// One finding.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub id: String,
    pub kind: FindingKind,
    pub title: String,
    pub techniques: Vec<String>,
    pub severity: Severity,
    pub confidence: Confidence,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<Endpoint>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<Endpoint>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    pub first_seen: String,
    pub last_seen: String,
    pub event_count: usize,
    /// How the source was attributed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attribution: Option<String>,
    /// Key facts: service name, binary, shares, files dropped, pipes.
    pub details: BTreeMap<String, Vec<String>>,
    pub commands: Vec<CommandInfo>,
    pub analysis: Vec<String>,
    pub follow_ups: Vec<String>,
    /// Queries and sequences whose results make up the finding.
    pub queries: Vec<String>,
    pub evidence: Vec<EvidenceRef>,
    #[serde(skip)]
    pub(crate) first_ts: i64,
    #[serde(skip)]
    pub(crate) last_ts: i64,
    #[serde(skip)]
    pub(crate) source_key: Option<HostKey>,
    #[serde(skip)]
    pub(crate) target_key: Option<HostKey>,
}

/// Everything the builder needs.
pub struct Inputs<'a> {
    pub evs: &'a [Ev],
    pub pack: &'a Pack,
    /// Hits per entry id (rows in window and scope).
    pub hits: &'a BTreeMap<String, Vec<u32>>,
    /// Sequence id → (first row, then row).
    pub links: &'a BTreeMap<String, Vec<(u32, u32)>>,
    /// Network-logon bursts (one source, many hosts) from the threshold joins.
    pub bursts: &'a [crate::correlate::Burst],
    /// Start of the hunt window (for first-seen pairs), µs.
    pub window_start: Option<i64>,
    /// Recurring launches among the hits (DataFusion aggregate).
    pub recurrences: &'a [crate::correlate::Recurrence],
    /// Network logons before the window, by (workstation, address, host) (DataFusion aggregate).
    pub prior_logons: &'a [crate::correlate::PriorLogon],
}

/// Findings and what was learnt on the way.
pub struct Built {
    pub findings: Vec<Finding>,
    pub resolver: Resolver,
    /// Rows that are part of some finding.
    pub used_rows: BTreeSet<u32>,
    /// Recurring jobs noticed among the hit command lines.
    pub recurring: Vec<Recurring>,
}

/// A command that runs repeatedly at about the same time of day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Recurring {
    pub host: String,
    pub user: String,
    pub command_line: String,
    pub days: Vec<String>,
    pub time_of_day: String,
    pub parent: String,
}

#[derive(Debug, Clone)]
struct Source {
    key: Option<HostKey>,
    name: Option<String>,
    ip: Option<String>,
    how: &'static str,
    strength: u8,
    local: bool,
    /// The account the naming event (logon, share access) was made with.
    account: Option<String>,
}

#[derive(Debug, Clone)]
struct Obs {
    row: u32,
    entries: Vec<usize>,
    host: Option<HostKey>,
    ts: i64,
    source: Option<Source>,
    account: Option<String>,
}

fn is_service_account(user: &str) -> bool {
    let u = user
        .rsplit('\\')
        .next()
        .unwrap_or(user)
        .to_ascii_uppercase();
    matches!(
        u.as_str(),
        "SYSTEM" | "LOCAL SERVICE" | "NETWORK SERVICE" | "LOCALSYSTEM" | "ANONYMOUS LOGON" | "-"
    ) || u.starts_with("DWM-")
        || u.starts_with("UMFD-")
}

/// Whether a captured operation was refused or returned an error.
fn capture_failed(ev: &Ev) -> bool {
    matches!(ev.s(f::ACTION), "BLOCK" | "FAIL")
}

fn principal_account(ev: &Ev) -> Option<String> {
    account_of(ev.s(f::PRINCIPAL_DOMAIN), ev.s(f::PRINCIPAL_USERID))
}

fn target_account(ev: &Ev) -> Option<String> {
    account_of(ev.s(f::TARGET_DOMAIN), ev.s(f::TARGET_USERID))
}

fn lower_name(path: &str) -> String {
    file_name(path).to_ascii_lowercase()
}

/// A command line fit for output: secrets masked.
pub fn safe_command(cmd: &str) -> String {
    // The same command line is quoted by many findings and repeats across hosts and copies
    // of the evidence: remember the masked text (bounded, per thread).
    thread_local! {
        static MASKED: std::cell::RefCell<HashMap<String, String>> =
            std::cell::RefCell::new(HashMap::new());
    }
    MASKED.with(|m| {
        let mut m = m.borrow_mut();
        if let Some(t) = m.get(cmd) {
            return t.clone();
        }
        let text = la::mask_credentials(cmd).text;
        if m.len() >= 4096 {
            m.clear();
        }
        m.insert(cmd.to_string(), text.clone());
        text
    })
}

fn stable_id(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0u8]);
    }
    let d = h.finalize();
    format!(
        "LM-{}",
        d.iter()
            .take(4)
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    )
}

struct Builder<'a> {
    inp: &'a Inputs<'a>,
    r: Resolver,
    entry_of: HashMap<&'a str, usize>,
    /// row → entries that hit it.
    row_entries: BTreeMap<u32, Vec<usize>>,
    /// activity row → its network-logon row.
    logon_for: HashMap<u32, u32>,
    /// row → a neighbouring row that tells its source.
    near: HashMap<u32, (u32, &'static str)>,
    /// Per host: inbound network logons and connections (ts, row), sorted.
    inbound: HashMap<HostKey, Vec<(i64, u32)>>,
    /// Process launches by (host, pid) for ancestry.
    procs: HashMap<(String, i64), Vec<u32>>,
    /// Process launches by (host, parent pid), for what an executed process started.
    children: HashMap<(String, i64), Vec<u32>>,
    /// Network-logon row → the process launches of that session.
    session_procs: HashMap<u32, Vec<u32>>,
    /// Captured Kerberos exchanges that name a client account (AS/TGS), by row.
    kdc_clients: Vec<u32>,
}

fn host_lc(ev: &Ev) -> String {
    lateral_model::vocab::short_hostname(ev.host()).to_ascii_lowercase()
}

mod attribution;
mod other;
mod source_side;
mod target;

use other::{credentials_and_recurrence, fan_out, singles};
use source_side::source_side;
use target::target_finding;

/// Build findings.
pub fn build(inp: &Inputs<'_>) -> Built {
    let mut b = Builder::new(inp);
    let mut findings: Vec<Finding> = Vec::new();
    let mut used: BTreeSet<u32> = BTreeSet::new();

    // --- Target-side observations -------------------------------------------------------
    let privesc_rows: BTreeSet<u32> = inp
        .hits
        .get("named-pipe-privesc-service")
        .map(|v| v.iter().copied().collect())
        .unwrap_or_default();
    let mut obs: Vec<Obs> = Vec::new();
    let rows: Vec<(u32, Vec<usize>)> = b.row_entries.iter().map(|(r, v)| (*r, v.clone())).collect();
    for (row, entries) in &rows {
        let target_entries: Vec<usize> = entries
            .iter()
            .copied()
            .filter(|&i| b.entry(i).entry.role == Role::Target)
            .collect();
        let mut target_entries = target_entries;
        if target_entries.is_empty() {
            // A service installation is evidence of movement when something ties it to a
            // remote actor (session, svcctl access, a file dropped over SMB) or its name is
            // generated.
            if let Some(&i) = b.entry_of.get("service-install-any") {
                let ev = b.ev(*row);
                if entries.contains(&i)
                    && (b.near.contains_key(row)
                        || b.logon_for.contains_key(row)
                        || la::is_random_name(ev.s(f::TARGET_APPLICATION)))
                {
                    target_entries.push(i);
                }
            }
        }
        if target_entries.is_empty() || privesc_rows.contains(row) {
            continue;
        }
        let ev = b.ev(*row);
        // A captured operation the server refused (access denied, an error return) is a
        // failed attempt: it supports no other finding.
        if ev.is_capture() {
            let failed = capture_failed(ev);
            target_entries.retain(|&i| (b.entry(i).entry.family == "failed") == failed);
            if target_entries.is_empty() {
                continue;
            }
        }
        // A scheduled task only counts when it was registered remotely (a captured one was).
        if target_entries
            .iter()
            .all(|&i| b.entry(i).entry.family == "task")
            && ev.s(f::EVENT_TYPE).starts_with("SCHEDULED_TASK")
            && !b.logon_for.contains_key(row)
            && !ev.is_capture()
        {
            continue;
        }
        // Network logons with key length 0 support a finding; they do not make one.
        let host = b.r.resolve(Some(ev.host()), None);
        let source = b.attribute(*row);
        let mut account = b.account(*row);
        if account.as_deref().is_none_or(|a| a.ends_with('$')) {
            if let Some(a) = source.as_ref().and_then(|s| s.account.clone()) {
                if !a.ends_with('$') || account.is_none() {
                    account = Some(a);
                }
            }
        }
        obs.push(Obs {
            row: *row,
            entries: target_entries,
            host,
            ts: ev.ts,
            source,
            account,
        });
    }
    obs.sort_by_key(|o| (o.host, o.ts, o.row));

    // Propagate sources inside bursts on one host (15 minutes): an unattributed observation
    // takes the strongest source of its neighbours when they agree on one.
    let n = obs.len();
    for i in 0..n {
        if obs[i].source.is_some() {
            continue;
        }
        let mut best: Option<Source> = None;
        let mut conflict = false;
        // `obs` is sorted by (host, time): only neighbours within 15 minutes on the same host.
        let lo = obs[..i]
            .iter()
            .rposition(|o| o.host != obs[i].host || obs[i].ts - o.ts > 15 * MINUTE)
            .map_or(0, |p| p + 1);
        let hi = obs[i + 1..]
            .iter()
            .position(|o| o.host != obs[i].host || o.ts - obs[i].ts > 15 * MINUTE)
            .map_or(n, |p| i + 1 + p);
        for (j, other) in obs.iter().enumerate().take(hi).skip(lo) {
            if i == j {
                continue;
            }
            if let Some(s) = &other.source {
                match &best {
                    None => best = Some(s.clone()),
                    Some(bs) if bs.key != s.key => conflict = true,
                    Some(bs) if s.strength > bs.strength => best = Some(s.clone()),
                    _ => {}
                }
            }
        }
        if !conflict {
            if let Some(mut s) = best {
                s.how = "same burst of activity on the host as an attributed event";
                s.strength = 1;
                obs[i].source = Some(s);
            }
        }
    }

    // Cluster: same target host and source, gaps under 15 minutes.
    let mut clusters: Vec<Vec<usize>> = Vec::new();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| {
        (
            obs[i].host,
            obs[i].source.as_ref().and_then(|s| s.key),
            obs[i].ts,
            obs[i].row,
        )
    });
    for i in order {
        let joined = clusters.last_mut().filter(|c| {
            let last = &obs[*c.last().unwrap_or(&i)];
            last.host == obs[i].host
                && last.source.as_ref().and_then(|s| s.key)
                    == obs[i].source.as_ref().and_then(|s| s.key)
                && obs[i].ts - last.ts <= 15 * MINUTE
        });
        match joined {
            Some(c) => c.push(i),
            None => clusters.push(vec![i]),
        }
    }
    for c in clusters {
        let members: Vec<&Obs> = c.iter().map(|&i| &obs[i]).collect();
        if let Some(fnd) = target_finding(&mut b, &members) {
            for o in &members {
                used.insert(o.row);
            }
            findings.push(fnd);
        }
    }

    // --- Privilege escalation services --------------------------------------------------
    for &row in &privesc_rows {
        let ev = b.ev(row);
        let key = b.r.resolve(Some(ev.host()), None);
        let info = key.map(|k| b.r.info(k));
        let name = ev.s(f::TARGET_APPLICATION).to_string();
        let mut fnd = new_finding(
            FindingKind::PrivilegeEscalation,
            format!("Local privilege escalation through a named-pipe service `{name}` (not lateral movement)"),
            ev.ts,
        );
        fnd.target = info.map(|i| Endpoint {
            host: i.name,
            ips: i.ips,
        });
        fnd.target_key = key;
        fnd.techniques = vec!["T1134.001".into(), "T1543.003".into()];
        fnd.severity = Severity::High;
        fnd.confidence = Confidence::High;
        fnd.account = principal_account(ev).filter(|a| !is_service_account(a));
        fnd.details
            .entry("service".into())
            .or_default()
            .push(name.clone());
        fnd.details
            .entry("binary path".into())
            .or_default()
            .push(safe_command(ev.s(f::TARGET_CMD)));
        fnd.analysis.push("The service writes into a named pipe of the host itself (`echo … > \\\\.\\pipe\\…`): a local process impersonates the SYSTEM client of that pipe (Metasploit getsystem, WinPwnage). The account was already on the host; this is not movement between hosts.".into());
        fnd.follow_ups.push(format!(
            "Find the process that created pipe and service on {} and how it got there.",
            fnd.target
                .as_ref()
                .map(|t| t.host.as_str())
                .unwrap_or("the host")
        ));
        if let Some(c) = b.command(ev) {
            fnd.commands.push(c);
        }
        fnd.queries.push("named-pipe-privesc-service".into());
        fnd.evidence.push(ev.evidence_ref());
        fnd.event_count = 1;
        used.insert(row);
        findings.push(fnd);
    }

    // --- Source-side observations and the cross-host join --------------------------------
    source_side(&mut b, &mut findings, &mut used);

    // --- DCOM denials, pass-the-hash on the source, persistence -------------------------
    singles(&mut b, &mut findings, &mut used);

    // --- Credential exposure and recurring jobs -----------------------------------------
    let recurring = credentials_and_recurrence(&mut b, &mut findings, &mut used);

    // --- Fan-out and first-seen pairs -----------------------------------------------------
    fan_out(&mut b, &mut findings);

    for fnd in &mut findings {
        fnd.evidence.sort();
        fnd.evidence.dedup();
        // Sysmon 1 and 4688 log the same launch: keep one per (host, command, second), the
        // one that knows most about its parents.
        fnd.commands.sort_by(|a, b| {
            (&a.host, &a.command_line, a.time.get(..19))
                .cmp(&(&b.host, &b.command_line, b.time.get(..19)))
                .then(b.ancestry.len().cmp(&a.ancestry.len()))
                .then(b.parent.is_some().cmp(&a.parent.is_some()))
        });
        fnd.commands.dedup_by(|later, kept| {
            later.host == kept.host
                && later.command_line == kept.command_line
                && later.time.get(..19) == kept.time.get(..19)
        });
        fnd.commands.sort();
        fnd.queries.sort();
        fnd.queries.dedup();
        fnd.techniques.sort();
        fnd.techniques.dedup();
        let mut seen_lines = BTreeSet::new();
        fnd.analysis.retain(|x| seen_lines.insert(x.clone()));
        for v in fnd.details.values_mut() {
            let mut seen = BTreeSet::new();
            v.retain(|x| seen.insert(x.clone()));
        }
        fnd.first_seen = iso(fnd.first_ts);
        fnd.last_seen = iso(fnd.last_ts);
        let src = fnd.source.as_ref().map(|s| s.host.as_str()).unwrap_or("?");
        let dst = fnd.target.as_ref().map(|s| s.host.as_str()).unwrap_or("?");
        fnd.id = stable_id(&[
            &format!("{:?}", fnd.kind),
            src,
            dst,
            fnd.account.as_deref().unwrap_or(""),
            &fnd.first_seen,
            fnd.tool.as_deref().unwrap_or(""),
        ]);
    }
    findings.sort_by(|a, b| (a.first_ts, &a.id).cmp(&(b.first_ts, &b.id)));
    Built {
        findings,
        resolver: b.r,
        used_rows: used,
        recurring,
    }
}

fn new_finding(kind: FindingKind, title: String, ts: i64) -> Finding {
    Finding {
        id: String::new(),
        kind,
        title,
        techniques: Vec::new(),
        severity: Severity::Medium,
        confidence: Confidence::Medium,
        source: None,
        target: None,
        account: None,
        tool: None,
        first_seen: String::new(),
        last_seen: String::new(),
        event_count: 0,
        attribution: None,
        details: BTreeMap::new(),
        commands: Vec::new(),
        analysis: Vec::new(),
        follow_ups: Vec::new(),
        queries: Vec::new(),
        evidence: Vec::new(),
        first_ts: ts,
        last_ts: ts,
        source_key: None,
        target_key: None,
    }
}
