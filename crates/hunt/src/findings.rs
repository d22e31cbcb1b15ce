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

use std::collections::{BTreeMap, BTreeSet, HashMap};

use lateral_analysis as la;
use lateral_model::f;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::evidence::{Ev, EvidenceRef};
use crate::hosts::{HostKey, Resolver};
use crate::pack::{Pack, Role, Severity};
use crate::time::{iso, short, DAY, MINUTE, SECOND};

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

fn account_of(domain: &str, user: &str) -> Option<String> {
    if user.is_empty() || user == "-" {
        return None;
    }
    Some(if domain.is_empty() || domain == "-" {
        user.to_string()
    } else {
        format!("{domain}\\{user}")
    })
}

fn principal_account(ev: &Ev) -> Option<String> {
    account_of(ev.s(f::PRINCIPAL_DOMAIN), ev.s(f::PRINCIPAL_USERID))
}

fn target_account(ev: &Ev) -> Option<String> {
    account_of(ev.s(f::TARGET_DOMAIN), ev.s(f::TARGET_USERID))
}

fn file_name(path: &str) -> &str {
    path.rsplit(['\\', '/']).next().unwrap_or(path)
}

fn lower_name(path: &str) -> String {
    file_name(path).to_ascii_lowercase()
}

/// A command line fit for output: secrets masked.
pub fn safe_command(cmd: &str) -> String {
    la::mask_credentials(cmd).text
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
}

fn host_lc(ev: &Ev) -> String {
    lateral_model::vocab::short_hostname(ev.host()).to_ascii_lowercase()
}

impl<'a> Builder<'a> {
    fn ev(&self, row: u32) -> &'a Ev {
        &self.inp.evs[row as usize]
    }

    fn entry(&self, i: usize) -> &'a crate::pack::CompiledEntry {
        &self.inp.pack.entries[i]
    }

    fn has(&self, row: u32, id: &str) -> bool {
        self.entry_of
            .get(id)
            .is_some_and(|i| self.row_entries.get(&row).is_some_and(|v| v.contains(i)))
    }

    fn new(inp: &'a Inputs<'a>) -> Builder<'a> {
        let mut r = Resolver::default();
        for ev in inp.evs {
            r.learn(ev);
        }
        r.finish();
        let entry_of = inp
            .pack
            .entries
            .iter()
            .enumerate()
            .map(|(i, e)| (e.entry.id.as_str(), i))
            .collect::<HashMap<_, _>>();
        let mut row_entries: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
        for (id, rows) in inp.hits {
            if let Some(&i) = entry_of.get(id.as_str()) {
                for &row in rows {
                    row_entries.entry(row).or_default().push(i);
                }
            }
        }
        let mut b = Builder {
            inp,
            r,
            entry_of,
            row_entries,
            logon_for: HashMap::new(),
            near: HashMap::new(),
            inbound: HashMap::new(),
            procs: HashMap::new(),
            children: HashMap::new(),
            session_procs: HashMap::new(),
        };
        // Session links: keep the latest logon before the activity.
        for seq in [
            "session-processes",
            "session-processes-4688",
            "session-activity",
            "logon-then-service",
        ] {
            for &(l, act) in inp.links.get(seq).map(Vec::as_slice).unwrap_or(&[]) {
                let better = match b.logon_for.get(&act) {
                    Some(&old) => inp.evs[l as usize].ts > inp.evs[old as usize].ts,
                    None => true,
                };
                if better {
                    b.logon_for.insert(act, l);
                }
            }
        }
        for (seq, how) in [
            ("svcctl-then-service", "svcctl opened over IPC$ just before"),
            (
                "share-write-then-service",
                "its binary was written over SMB just before",
            ),
            (
                "share-write-then-launch",
                "its image was written over SMB just before",
            ),
            (
                "rpc-then-wmiprvse-child",
                "inbound RPC connection just before",
            ),
            (
                "logon-then-service-7045",
                "network logon on the host just before",
            ),
        ] {
            for &(l, act) in inp.links.get(seq).map(Vec::as_slice).unwrap_or(&[]) {
                let better = match b.near.get(&act) {
                    Some(&(old, _)) => inp.evs[l as usize].ts > inp.evs[old as usize].ts,
                    None => true,
                };
                if better {
                    b.near.insert(act, (l, how));
                }
            }
        }
        for ev in inp.evs {
            let inbound_logon = ev.is_security(4624)
                && ev.s(f::AUTH_MECHANISM) == "NETWORK"
                && !ev.flag(f::LOOPBACK)
                && ev.opt(f::PRINCIPAL_IP).is_some();
            let inbound_conn = ev.s(f::EVENT_TYPE) == "NETWORK_CONNECTION"
                && ev.s(f::DIRECTION) == "INBOUND"
                && !ev.flag(f::LOOPBACK)
                && matches!(ev.int(f::TARGET_PORT), Some(445 | 139 | 135 | 5985 | 5986));
            if inbound_logon || inbound_conn {
                if let Some(k) = b.r.resolve(Some(ev.host()), None) {
                    b.inbound.entry(k).or_default().push((ev.ts, ev.row));
                }
            }
            if ev.s(f::EVENT_TYPE) == "PROCESS_LAUNCH" {
                if let Some(pid) = ev.int(f::TARGET_PID) {
                    b.procs.entry((host_lc(ev), pid)).or_default().push(ev.row);
                }
                if let Some(ppid) = ev.int(f::PRINCIPAL_PID) {
                    b.children
                        .entry((host_lc(ev), ppid))
                        .or_default()
                        .push(ev.row);
                }
                if let Some(&l) = b.logon_for.get(&ev.row) {
                    b.session_procs.entry(l).or_default().push(ev.row);
                }
            }
        }
        for v in b.inbound.values_mut() {
            v.sort_unstable();
        }
        b
    }

    /// The source a remote-actor event names itself.
    fn direct_source(&mut self, ev: &Ev) -> Option<Source> {
        let remote_named = match ev.event_id() {
            4624 | 4625 | 5140 | 5145 => ev.is_security(ev.event_id()),
            10016 => ev.is_system(10016),
            3 => ev.is_sysmon(3) && ev.s(f::DIRECTION) == "INBOUND",
            _ => false,
        };
        if !remote_named {
            return None;
        }
        let ip = ev.opt(f::PRINCIPAL_IP).map(str::to_string);
        let name = ev
            .opt(f::SRC_HOSTNAME)
            .or_else(|| {
                if ev.event_id() == 3 || ev.event_id() == 4624 || ev.event_id() == 4625 {
                    ev.opt(f::PRINCIPAL_HOSTNAME)
                } else {
                    None
                }
            })
            .map(str::to_string);
        let name = name.filter(|n| crate::hosts::name_key(n).is_some());
        if ip.is_none() && name.is_none() {
            return None;
        }
        let local = ev.flag(f::LOOPBACK);
        let key = if local {
            self.r.resolve(Some(ev.host()), None)
        } else {
            self.r.resolve(name.as_deref(), ip.as_deref())
        };
        let account = if ev.event_id() == 4624 || ev.event_id() == 4625 {
            target_account(ev)
        } else {
            principal_account(ev).or_else(|| target_account(ev))
        }
        .filter(|a| !is_service_account(a));
        Some(Source {
            key,
            name,
            ip,
            how: "named in the event",
            strength: 4,
            local,
            account,
        })
    }

    fn logon_source(&mut self, logon_row: u32, how: &'static str, strength: u8) -> Option<Source> {
        let lev = self.ev(logon_row);
        let mut s = self.direct_source(lev)?;
        s.how = how;
        s.strength = strength;
        Some(s)
    }

    fn pipe_source(&mut self, ev: &Ev) -> Option<Source> {
        let p = la::parse_exec_pipe(ev.s(f::TARGET_FILE_PATH))?;
        let key = self.r.resolve(Some(&p.client_host), None);
        Some(Source {
            key,
            name: Some(p.client_host),
            ip: None,
            how: "client host named in the PsExec pipe",
            strength: 3,
            local: false,
            account: None,
        })
    }

    fn attribute(&mut self, row: u32) -> Option<Source> {
        let ev = self.ev(row);
        if let Some(s) = self.direct_source(ev) {
            return Some(s);
        }
        if let Some(&l) = self.logon_for.get(&row) {
            if let Some(s) = self.logon_source(l, "network logon session with the same logon id", 4)
            {
                return Some(s);
            }
        }
        if let Some(s) = self.pipe_source(ev) {
            return Some(s);
        }
        if let Some(&(n, how)) = self.near.get(&row) {
            let nev = self.ev(n);
            if let Some(mut s) = self.direct_source(nev) {
                s.how = how;
                s.strength = 2;
                return Some(s);
            }
            if let Some(&l) = self.logon_for.get(&n) {
                if let Some(s) = self.logon_source(l, how, 2) {
                    return Some(s);
                }
            }
        }
        // The nearest inbound SMB/RPC connection or network logon within two minutes (Sysmon
        // logs a connection when it sees it, which can be after the process it caused).
        let host = self.r.resolve(Some(ev.host()), None)?;
        let cands = self.inbound.get(&host)?;
        // Prefer the last one before the execution; only then the first one after.
        let before = cands
            .iter()
            .filter(|(t, _)| *t <= ev.ts && ev.ts - *t <= 2 * MINUTE)
            .max_by_key(|(t, r)| (*t, std::cmp::Reverse(*r)))
            .copied();
        let after = || {
            cands
                .iter()
                .filter(|(t, _)| *t > ev.ts && *t - ev.ts <= 2 * MINUTE)
                .min_by_key(|(t, r)| (*t, *r))
                .copied()
        };
        let nearest = before.or_else(after);
        if let Some((_, r)) = nearest {
            let mut s = self.direct_source(self.ev(r))?;
            s.how = "inbound SMB/RPC connection or network logon on the host within two minutes";
            s.strength = 1;
            return Some(s);
        }
        None
    }

    fn account(&self, row: u32) -> Option<String> {
        let ev = self.ev(row);
        let logon = self.logon_for.get(&row).map(|&l| self.ev(l));
        let candidates = [
            logon.and_then(target_account),
            if ev.is_security(4624) {
                target_account(ev)
            } else {
                None
            },
            principal_account(ev),
            target_account(ev),
        ];
        let mut fallback = None;
        for c in candidates.into_iter().flatten() {
            if is_service_account(&c) {
                continue;
            }
            if c.ends_with('$') {
                fallback.get_or_insert(c);
                continue;
            }
            return Some(c);
        }
        fallback
    }

    fn ancestry(&self, ev: &Ev) -> Vec<String> {
        let mut chain = vec![file_name(ev.s(f::TARGET_PATH)).to_string()];
        let mut cur = ev;
        let host = host_lc(ev);
        for _ in 0..8 {
            let parent_name = file_name(cur.s(f::PRINCIPAL_PATH)).to_string();
            if parent_name.is_empty() {
                break;
            }
            chain.push(parent_name.clone());
            let stop = [
                "services.exe",
                "wmiprvse.exe",
                "explorer.exe",
                "svchost.exe",
                "wsmprovhost.exe",
                "winrshost.exe",
                "mmc.exe",
            ];
            if stop.contains(&parent_name.to_ascii_lowercase().as_str()) {
                break;
            }
            let Some(ppid) = cur.int(f::PRINCIPAL_PID) else {
                break;
            };
            let found = self.procs.get(&(host.clone(), ppid)).and_then(|rows| {
                rows.iter()
                    .map(|&r| self.ev(r))
                    .filter(|p| {
                        p.ts <= cur.ts
                            && lower_name(p.s(f::TARGET_PATH)) == parent_name.to_ascii_lowercase()
                    })
                    .max_by_key(|p| p.ts)
            });
            match found {
                Some(p) => cur = p,
                None => break,
            }
        }
        if let Some(&l) = self.logon_for.get(&ev.row) {
            let lev = self.ev(l);
            chain.push(format!(
                "logon session {} ({})",
                lev.s(f::TARGET_LOGON_ID),
                lev.s(f::AUTH_MECHANISM).to_lowercase()
            ));
        }
        chain.reverse();
        chain
    }

    fn command(&self, ev: &Ev) -> Option<CommandInfo> {
        let (cmd, user, pid, parent, ppid) = match ev.s(f::EVENT_TYPE) {
            "PROCESS_LAUNCH" => (
                ev.opt(f::TARGET_CMD).or_else(|| ev.opt(f::TARGET_PATH))?,
                principal_account(ev).or_else(|| target_account(ev)),
                ev.int(f::TARGET_PID),
                ev.opt(f::PRINCIPAL_PATH).map(str::to_string),
                ev.int(f::PRINCIPAL_PID),
            ),
            "SERVICE_CREATION" | "SCHEDULED_TASK_CREATION" | "SCHEDULED_TASK_MODIFICATION" => (
                ev.opt(f::TARGET_CMD)?,
                principal_account(ev),
                None,
                None,
                None,
            ),
            _ => return None,
        };
        let decoded = la::decode_powershell(cmd).map(|d| {
            let mut text = safe_command(&d.decoded);
            for n in d.nested {
                text.push_str("\n--- nested payload ---\n");
                text.push_str(&safe_command(&n));
            }
            text
        });
        Some(CommandInfo {
            time: iso(ev.ts),
            host: ev.host().to_string(),
            user,
            pid,
            parent,
            parent_pid: ppid,
            command_line: safe_command(cmd),
            decoded,
            ancestry: if ev.s(f::EVENT_TYPE) == "PROCESS_LAUNCH" {
                self.ancestry(ev)
            } else {
                Vec::new()
            },
        })
    }
}

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
        // A scheduled task only counts when it was registered remotely.
        if target_entries
            .iter()
            .all(|&i| b.entry(i).entry.family == "task")
            && ev.s(f::EVENT_TYPE).starts_with("SCHEDULED_TASK")
            && !b.logon_for.contains_key(row)
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

/// Which entries can make a finding on their own (others only support one).
fn primary(id: &str) -> bool {
    !matches!(
        id,
        "svcctl-ipc-access"
            | "atsvc-ipc-access"
            | "winreg-ipc-access"
            | "pth-ntlm-network-logon"
            | "dcom-inbound-connection"
    )
}

fn target_finding(b: &mut Builder<'_>, members: &[&Obs]) -> Option<Finding> {
    let has_primary = members
        .iter()
        .any(|o| o.entries.iter().any(|&i| primary(&b.entry(i).entry.id)));
    // Inbound DCOM connections make a finding only with a launched process, or when nothing
    // else explains them.
    if !has_primary {
        let dcom_only = members.iter().all(|o| {
            o.entries
                .iter()
                .all(|&i| b.entry(i).entry.id == "dcom-inbound-connection")
        });
        if !dcom_only {
            return None;
        }
    }
    let first = members.iter().map(|o| o.ts).min()?;
    let last = members.iter().map(|o| o.ts).max()?;
    let host = members[0].host;
    let source = members
        .iter()
        .filter_map(|o| o.source.clone())
        .max_by_key(|s| s.strength);
    // Registry writes by svchost or WmiPrvSE are only remote when something names a remote
    // writer; unattributed, they are ordinary local configuration.
    let families_here: BTreeSet<&str> = members
        .iter()
        .flat_map(|o| o.entries.iter().map(|&i| b.entry(i).entry.family.as_str()))
        .collect();
    if source.is_none() && families_here.iter().all(|f| *f == "remote-registry") {
        return None;
    }
    let target_info = host.map(|k| b.r.info(k));
    let source_info = source.as_ref().and_then(|s| s.key).map(|k| b.r.info(k));
    let local = source
        .as_ref()
        .is_some_and(|s| s.local || (s.key.is_some() && s.key == host));

    let mut fnd = new_finding(FindingKind::LateralMovement, String::new(), first);
    fnd.last_ts = last;
    fnd.target_key = host;
    fnd.source_key = source.as_ref().and_then(|s| s.key);
    fnd.target = target_info.clone().map(|i| Endpoint {
        host: i.name,
        ips: i.ips,
    });
    fnd.source = match (&source_info, &source) {
        (Some(i), _) => Some(Endpoint {
            host: i.name.clone(),
            ips: i.ips.clone(),
        }),
        (None, Some(s)) => s.name.clone().or(s.ip.clone()).map(|h| Endpoint {
            host: h,
            ips: s.ip.clone().into_iter().collect(),
        }),
        _ => None,
    };
    fnd.attribution = source.as_ref().map(|s| s.how.to_string());
    let mut accounts: BTreeMap<String, usize> = BTreeMap::new();
    for o in members {
        if let Some(a) = &o.account {
            *accounts.entry(a.clone()).or_default() += if a.ends_with('$') { 1 } else { 10 };
        }
    }
    fnd.account = accounts
        .into_iter()
        .max_by_key(|(a, n)| (*n, std::cmp::Reverse(a.clone())))
        .map(|(a, _)| a);

    let mut families = BTreeSet::new();
    let mut tool: Option<la::Tool> = None;
    let mut tool_rank = 0u8;
    let set_tool = |t: la::Tool, rank: u8, tool: &mut Option<la::Tool>, tool_rank: &mut u8| {
        if rank > *tool_rank {
            *tool = Some(t);
            *tool_rank = rank;
        }
    };
    let mut severity = Severity::Info;
    let mut techniques = BTreeSet::new();
    let mut sessions = BTreeSet::new();
    for o in members {
        let ev = b.ev(o.row);
        for &i in &o.entries {
            let e = &b.entry(i).entry;
            families.insert(e.family.clone());
            severity = severity.max(e.severity);
            techniques.extend(e.techniques.iter().cloned());
            fnd.queries.push(e.id.clone());
        }
        if let Some(&l) = b.logon_for.get(&o.row) {
            sessions.insert(b.ev(l).s(f::TARGET_LOGON_ID).to_string());
            fnd.evidence.push(b.ev(l).evidence_ref());
        }
        if let Some(&(nrow, _)) = b.near.get(&o.row) {
            fnd.evidence.push(b.ev(nrow).evidence_ref());
        }
        fnd.evidence.push(ev.evidence_ref());
        let etype = ev.s(f::EVENT_TYPE);
        if ev.is_sysmon(13) {
            let key = ev.s(f::TARGET_REG_KEY);
            let name = key.rsplit('\\').nth(1).unwrap_or_default().to_string();
            let image = ev.s(f::TARGET_REG_VALUE_DATA);
            let class = la::classify_service(&name, None, image);
            fnd.details
                .entry("service".into())
                .or_default()
                .push(name.clone());
            fnd.details
                .entry("service binary".into())
                .or_default()
                .push(safe_command(image));
            for t in &class.traits {
                fnd.analysis
                    .push(format!("Service `{name}`: {}", t.describe()));
            }
            if let Some(t) = class.tool {
                set_tool(t, 5, &mut tool, &mut tool_rank);
            }
        }
        if etype == "SERVICE_CREATION" {
            let name = ev.s(f::TARGET_APPLICATION);
            let image = ev.s(f::TARGET_CMD);
            let class = la::classify_service(name, ev.additional("ServiceDisplayName"), image);
            fnd.details
                .entry("service".into())
                .or_default()
                .push(name.to_string());
            fnd.details
                .entry("service binary".into())
                .or_default()
                .push(safe_command(image));
            for t in &class.traits {
                fnd.analysis
                    .push(format!("Service `{name}`: {}", t.describe()));
            }
            if let Some(t) = class.tool {
                set_tool(t, 5, &mut tool, &mut tool_rank);
            }
            if let Some(d) = la::decode_powershell(image) {
                fnd.analysis.push(format!(
                    "Decoded service command: {}",
                    safe_command(&d.decoded)
                ));
            }
            if let Some(c) = b.command(ev) {
                fnd.commands.push(c);
            }
        }
        if etype == "PROCESS_LAUNCH" {
            let cmd = ev.s(f::TARGET_CMD);
            let parent = ev.s(f::PRINCIPAL_PATH);
            if let Some(out) = la::impacket_output(cmd) {
                let t = la::impacket_exec_tool_for_parent(parent)
                    .filter(|_| matches!(out.tool, la::Tool::ImpacketWmiexec))
                    .unwrap_or(out.tool.clone());
                set_tool(t, 6, &mut tool, &mut tool_rank);
                fnd.details
                    .entry("output file".into())
                    .or_default()
                    .push(format!("\\\\{}\\{}", out.share, out.file).replace("\\\\\\", "\\\\"));
            }
            let pname = lower_name(parent);
            let cname = lower_name(ev.s(f::TARGET_PATH));
            // Empire's PowerShell launcher: `powershell -noP -sta -w 1 -enc ...`.
            let lc = cmd.to_ascii_lowercase();
            if lc.contains("-nop -sta -w 1 -enc") {
                let t = match pname.as_str() {
                    "wmiprvse.exe" => "Empire Invoke-WMI (PowerShell stager)",
                    "wsmprovhost.exe" => "Empire Invoke-PSRemoting (PowerShell stager)",
                    _ => "Empire PowerShell stager",
                };
                set_tool(la::Tool::Other(t.into()), 4, &mut tool, &mut tool_rank);
            }
            match pname.as_str() {
                "wmiprvse.exe" => set_tool(
                    la::Tool::Other("WMI (Win32_Process.Create)".into()),
                    2,
                    &mut tool,
                    &mut tool_rank,
                ),
                "mmc.exe" => set_tool(la::Tool::Mmc20, 3, &mut tool, &mut tool_rank),
                "wsmprovhost.exe" => {
                    set_tool(la::Tool::PowerShellRemoting, 3, &mut tool, &mut tool_rank)
                }
                "winrshost.exe" => set_tool(la::Tool::Winrs, 3, &mut tool, &mut tool_rank),
                _ => {}
            }
            if cname == "mshta.exe" && cmd.to_ascii_lowercase().contains("-embedding") {
                set_tool(
                    la::Tool::Other("DCOM htafile (LethalHTA)".into()),
                    3,
                    &mut tool,
                    &mut tool_rank,
                );
            }
            if cname == "mmc.exe" && cmd.to_ascii_lowercase().contains("-embedding") {
                set_tool(la::Tool::Mmc20, 3, &mut tool, &mut tool_rank);
            }
            if cname == "psexesvc.exe" {
                set_tool(la::Tool::PsExec, 4, &mut tool, &mut tool_rank);
            }
            if let Some(c) = b.command(ev) {
                fnd.commands.push(c);
            }
        }
        if etype == "NETWORK_CONNECTION" && b.has(o.row, "dcom-inbound-connection") {
            let p = lower_name(ev.s(f::TARGET_PATH));
            let t = match p.as_str() {
                "explorer.exe" => la::Tool::ShellWindows,
                "mmc.exe" => la::Tool::Mmc20,
                "mshta.exe" => la::Tool::Other("DCOM htafile (LethalHTA)".into()),
                "excel.exe" => la::Tool::Other("DCOM Excel.Application".into()),
                _ => la::Tool::Other("DCOM".into()),
            };
            set_tool(t, 2, &mut tool, &mut tool_rank);
            fnd.details
                .entry("DCOM server process".into())
                .or_default()
                .push(ev.s(f::TARGET_PATH).to_string());
        }
        if ev.is_security(5145) || ev.is_sysmon(17) || ev.is_sysmon(18) || ev.is_sysmon(11) {
            let path = ev.s(f::TARGET_FILE_PATH);
            if let Some(t) = la::tool_for_pipe(path) {
                set_tool(t, 4, &mut tool, &mut tool_rank);
            }
            if let Some(p) = la::parse_exec_pipe(path) {
                fnd.details.entry("pipes".into()).or_default().push(format!(
                    "{}-{}-{}-*",
                    p.service, p.client_host, p.client_pid
                ));
                if !p.service.eq_ignore_ascii_case("PSEXESVC") {
                    fnd.analysis.push(format!("PsExec ran under the renamed service `{}` (`-r {}`); client host {} PID {} (from the pipe name).", p.service, p.service, p.client_host, p.client_pid));
                }
            } else if ev.is_security(5145) {
                let share = ev.s(f::TARGET_RESOURCE);
                let written = write_access(ev);
                let file = path.to_string();
                if b.has(o.row, "admin-share-executable") {
                    let what = if written { "written" } else { "opened" };
                    fnd.details
                        .entry(format!("files {what} over SMB"))
                        .or_default()
                        .push(format!("{share}\\{file}"));
                    if lower_name(&file) == "remcomsvc.exe" {
                        set_tool(la::Tool::RemCom, 4, &mut tool, &mut tool_rank);
                    }
                    if lower_name(&file) == "psexesvc.exe" {
                        set_tool(la::Tool::PsExec, 4, &mut tool, &mut tool_rank);
                    }
                } else {
                    fnd.details
                        .entry("pipes and shares".into())
                        .or_default()
                        .push(format!("{share}\\{file}"));
                }
            } else if ev.is_sysmon(11) {
                fnd.details
                    .entry("files written by the SMB server".into())
                    .or_default()
                    .push(path.to_string());
                if lower_name(path) == "psexesvc.exe" {
                    set_tool(la::Tool::PsExec, 4, &mut tool, &mut tool_rank);
                }
            } else {
                fnd.details
                    .entry("pipes".into())
                    .or_default()
                    .push(path.to_string());
            }
        }
        if ev.is_security(5140) {
            fnd.details
                .entry("shares".into())
                .or_default()
                .push(ev.s(f::TARGET_RESOURCE).to_string());
        }
        if etype.starts_with("SCHEDULED_TASK") {
            fnd.details
                .entry("task".into())
                .or_default()
                .push(ev.s(f::TARGET_RESOURCE).to_string());
            if let Some(out) = la::impacket_output(ev.s(f::TARGET_CMD)) {
                set_tool(out.tool, 5, &mut tool, &mut tool_rank);
            } else {
                set_tool(
                    la::Tool::Other("remote scheduled task".into()),
                    1,
                    &mut tool,
                    &mut tool_rank,
                );
            }
            if let Some(c) = b.command(ev) {
                fnd.commands.push(c);
            }
        }
        if ev.is_system(10016) {
            fnd.details
                .entry("DCOM class".into())
                .or_default()
                .push(ev.s(f::TARGET_RESOURCE).to_string());
        }
        if b.has(o.row, "pth-ntlm-network-logon") {
            fnd.analysis.push(
                "The session's NTLM logon has key length 0, the pattern of pass-the-hash tools."
                    .into(),
            );
            techniques.insert("T1550.002".into());
        }
    }
    if !sessions.is_empty() {
        fnd.details
            .insert("logon sessions".into(), sessions.into_iter().collect());
    }
    // What ran: every process of the sessions involved (the "network logon followed by process
    // creations" view) and the children of the processes the movement started.
    let mut extra_rows: BTreeSet<u32> = BTreeSet::new();
    let member_rows: BTreeSet<u32> = members.iter().map(|o| o.row).collect();
    for o in members {
        if let Some(l) = b.logon_for.get(&o.row) {
            for &r in b.session_procs.get(l).map(Vec::as_slice).unwrap_or(&[]) {
                extra_rows.insert(r);
            }
        }
        let ev = b.ev(o.row);
        if ev.s(f::EVENT_TYPE) == "PROCESS_LAUNCH" {
            if let Some(pid) = ev.int(f::TARGET_PID) {
                let image = lower_name(ev.s(f::TARGET_PATH));
                for &r in b
                    .children
                    .get(&(host_lc(ev), pid))
                    .map(Vec::as_slice)
                    .unwrap_or(&[])
                {
                    let c = b.ev(r);
                    if c.ts >= ev.ts
                        && c.ts - ev.ts <= 15 * MINUTE
                        && lower_name(c.s(f::PRINCIPAL_PATH)) == image
                    {
                        extra_rows.insert(r);
                    }
                }
            }
        }
    }
    for r in extra_rows.difference(&member_rows) {
        let ev = b.ev(*r);
        if let Some(c) = b.command(ev) {
            fnd.commands.push(c);
        }
        fnd.evidence.push(ev.evidence_ref());
        fnd.last_ts = fnd.last_ts.max(ev.ts);
    }
    fnd.event_count = fnd.evidence.len();

    // The same encoded PowerShell on the source host: the operator's own launch of the payload.
    if let Some(src_key) = source
        .as_ref()
        .and_then(|s| s.key)
        .filter(|k| Some(*k) != host)
    {
        let encoded: BTreeSet<String> = members
            .iter()
            .filter_map(|o| la::decode_powershell(b.ev(o.row).s(f::TARGET_CMD)))
            .map(|d| d.encoded)
            .collect();
        if !encoded.is_empty() {
            let evs = b.inp.evs;
            for ev in evs {
                if ev.s(f::EVENT_TYPE) != "PROCESS_LAUNCH" {
                    continue;
                }
                let Some(d) = la::decode_powershell(ev.s(f::TARGET_CMD)) else {
                    continue;
                };
                if !encoded.contains(&d.encoded)
                    || b.r.resolve(Some(ev.host()), None) != Some(src_key)
                {
                    continue;
                }
                fnd.analysis.push(format!(
                    "The same encoded command ran on the source {} at {} (launched by {}): source-side evidence of the payload.",
                    ev.host(),
                    short(ev.ts),
                    file_name(ev.s(f::PRINCIPAL_PATH))
                ));
                fnd.evidence.push(ev.evidence_ref());
            }
        }
    }
    fnd.event_count = fnd.evidence.len();
    for o in members {
        let ev = b.ev(o.row);
        if b.has(o.row, "remote-registry-write") {
            fnd.details
                .entry("registry".into())
                .or_default()
                .push(format!(
                    "{} = {}",
                    ev.s(f::TARGET_REG_KEY),
                    safe_command(ev.s(f::TARGET_REG_VALUE_DATA))
                ));
            let t = if lower_name(ev.s(f::PRINCIPAL_PATH)) == "wmiprvse.exe" {
                "WMI StdRegProv (remote registry)"
            } else {
                "Remote Registry (winreg)"
            };
            set_tool(la::Tool::Other(t.into()), 2, &mut tool, &mut tool_rank);
        }
        if ev.is("Microsoft-Windows-WinRM/Operational", 169)
            || ev.is("Microsoft-Windows-WinRM/Operational", 91)
        {
            set_tool(la::Tool::PowerShellRemoting, 1, &mut tool, &mut tool_rank);
            if let Some(a) = target_account(ev).or_else(|| principal_account(ev)) {
                fnd.details.entry("WinRM user".into()).or_default().push(a);
            }
        }
    }
    // The tool says which techniques were used more precisely than the queries that hit.
    let by_tool: &[&str] = match tool.as_ref().map(|t| t.name()) {
        Some(n) if n.contains("StdRegProv") => &["T1112", "T1047"],
        Some(n) if n.contains("winreg") => &["T1112", "T1021.002"],
        _ => tool.as_ref().map(tool_techniques).unwrap_or(&[]),
    };
    if !by_tool.is_empty() {
        let mut t: BTreeSet<String> = by_tool.iter().map(|x| x.to_string()).collect();
        for extra in ["T1570", "T1550.002", "T1021.002"] {
            let wrote =
                extra == "T1570" && fnd.details.keys().any(|k| k.starts_with("files written"));
            let pth = extra == "T1550.002" && techniques.contains(extra);
            let smb = extra == "T1021.002"
                && (fnd.details.contains_key("files written over SMB")
                    || fnd.details.contains_key("shares"));
            if wrote || pth || smb {
                t.insert(extra.to_string());
            }
        }
        techniques = t;
    }
    fnd.techniques = techniques.into_iter().collect();
    let tool_name = tool.as_ref().map(|t| t.name().to_string());
    fnd.tool = tool_name.clone();

    let mechanism = if families.contains("psexec") || families.contains("pipe") {
        "PsExec-style remote service execution"
    } else if families.contains("impacket") {
        "impacket remote execution"
    } else if families.contains("remote-service") {
        "remote service execution"
    } else if families.contains("wmi") {
        "WMI remote process creation"
    } else if families.contains("dcom") {
        "DCOM remote execution"
    } else if families.contains("task") {
        "remote scheduled task"
    } else if families.contains("winrm") {
        "WinRM remote execution"
    } else if families.contains("remote-registry") {
        "remote registry modification"
    } else if families.contains("admin-share") {
        "file transfer to an administrative share"
    } else {
        "remote execution"
    };
    let dst = fnd
        .target
        .as_ref()
        .map(|t| t.host.clone())
        .unwrap_or_else(|| "?".into());
    let with_tool = tool_name.map(|t| format!(" ({t})")).unwrap_or_default();
    if local {
        fnd.kind = FindingKind::LocalExecution;
        fnd.title = format!("Local {mechanism}{with_tool} on {dst}: the source is the host itself (not lateral movement)");
        fnd.severity = severity.min(Severity::Medium);
        fnd.confidence = Confidence::High;
        fnd.analysis.push("Source and target are the same host (loopback address, the host's own address, or a PsExec pipe naming the host itself): remote-execution tooling used locally, not movement between hosts.".into());
        fnd.follow_ups.push(format!(
            "Review who ran the tool on {dst} and why (local privilege use or testing)."
        ));
    } else if families.contains("dcom") && members.iter().all(|o| b.ev(o.row).is_system(10016)) {
        fnd.kind = FindingKind::FailedAttempt;
        let src = fnd
            .source
            .as_ref()
            .map(|s| s.host.clone())
            .unwrap_or_else(|| "an unknown source".into());
        fnd.title = format!(
            "Failed DCOM lateral movement attempt from {src} to {dst} (remote launch denied)"
        );
        fnd.severity = Severity::Medium;
        fnd.confidence = Confidence::High;
        fnd.analysis.push("System 10016 shows the remote activation of a lateral-movement COM class was denied: an attempt that did not execute.".into());
        fnd.follow_ups.push(format!(
            "Look for a successful retry from {src} with another technique."
        ));
    } else {
        let src = fnd
            .source
            .as_ref()
            .map(|s| s.host.clone())
            .unwrap_or_else(|| "an unknown source".into());
        fnd.title = format!("{}{with_tool} from {src} to {dst}", capitalise(mechanism));
        if source.is_none() {
            fnd.kind = FindingKind::SuspectedMovement;
            fnd.title = format!(
                "{}{with_tool} on {dst}: remote-execution traces, source not attributable",
                capitalise(mechanism)
            );
        }
        fnd.severity = severity.max(Severity::High);
        fnd.confidence = match source.as_ref().map(|s| s.strength) {
            Some(3..) => Confidence::High,
            Some(_) => Confidence::Medium,
            None => Confidence::Low,
        };
        if source.is_none() {
            fnd.analysis.push(format!("No source could be attributed from the evidence on {dst}: no network logon, share access or inbound connection ties the execution to another host."));
        }
        fnd.follow_ups.push(format!(
            "Process-tree analysis on {dst} for the processes listed, from {} to {}.",
            short(first),
            short(last)
        ));
        if let Some(a) = &fnd.account {
            fnd.follow_ups.push(format!("Compromised-account response for {a}: where else it logged on, reset its credentials."));
        }
        if let Some(s) = &fnd.source {
            fnd.follow_ups.push(format!(
                "Collect and hunt the source host {} for how the attacker got there.",
                s.host
            ));
        }
    }
    Some(fnd)
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// Whether a 5145's access mask or list includes writing data.
fn write_access(ev: &Ev) -> bool {
    if let Some(mask) = ev.additional("AccessMask") {
        let m = mask
            .trim()
            .trim_start_matches("0x")
            .trim_start_matches("0X");
        if let Ok(v) = u64::from_str_radix(m, 16) {
            // WriteData/AddFile 0x2, AppendData 0x4.
            return v & 0x6 != 0;
        }
    }
    ev.additional("AccessList")
        .is_some_and(|l| l.contains("%%4417") || l.contains("%%4418") || l.contains("WriteData"))
}

/// (source host, target host, target as written).
type GroupKey = (Option<HostKey>, Option<HostKey>, String);
/// (row, target as written, tool, aimed at the host itself).
type SourceItem = (u32, String, la::Tool, bool);
/// Rows with one masked command line, and what they exposed.
type ExposureRows = (Vec<u32>, Vec<la::CredentialExposure>);
/// A masked command line, its rows and what it exposed.
type CommandExposure = (String, Vec<u32>, Vec<la::CredentialExposure>);

fn source_side(b: &mut Builder<'_>, findings: &mut Vec<Finding>, used: &mut BTreeSet<u32>) {
    let ids = [
        "wmic-remote-process-create",
        "remote-exec-command-lines",
        "powershell-wmi-cim",
        "explicit-credentials-remote",
    ];
    // (source host, target host) → rows
    let mut groups: BTreeMap<GroupKey, Vec<SourceItem>> = BTreeMap::new();
    let rows: BTreeSet<u32> = ids
        .iter()
        .filter_map(|id| b.inp.hits.get(*id))
        .flatten()
        .copied()
        .collect();
    for row in rows {
        let ev = b.ev(row);
        let src = b.r.resolve(Some(ev.host()), None);
        let mut targets: Vec<(String, la::Tool, bool)> = Vec::new();
        if ev.is_security(4648) {
            let proc_name = lower_name(ev.s(f::PRINCIPAL_PATH));
            let tool = match proc_name.as_str() {
                "wmic.exe" => la::Tool::Wmic,
                "psexec.exe" | "psexec64.exe" => la::Tool::PsExec,
                "paexec.exe" => la::Tool::PAExec,
                "powershell.exe" | "pwsh.exe" => la::Tool::Other("PowerShell".into()),
                _ => la::Tool::Other(format!(
                    "explicit credentials ({})",
                    if proc_name.is_empty() {
                        "unknown process"
                    } else {
                        proc_name.as_str()
                    }
                )),
            };
            targets.push((
                ev.s(f::TARGET_HOSTNAME).to_string(),
                tool,
                ev.flag(f::LOOPBACK),
            ));
        } else {
            let cmd = ev
                .opt(f::TARGET_CMD)
                .or_else(|| ev.opt(f::DESCRIPTION))
                .unwrap_or("");
            let found = la::remote_targets(cmd);
            // `psexec \\B cmd /c "wmic /node:C ..."`: what follows a remote launcher runs on B,
            // so only the launcher's own target is this host's.
            let nested_after_launcher = found.first().is_some_and(|t| {
                matches!(
                    t.tool,
                    la::Tool::PsExec
                        | la::Tool::PAExec
                        | la::Tool::CsExec
                        | la::Tool::Winrs
                        | la::Tool::PowerShellRemoting
                )
            });
            for (i, t) in found.into_iter().enumerate() {
                if nested_after_launcher && i > 0 {
                    break;
                }
                targets.push((t.host, t.tool, t.loopback));
            }
        }
        for (host, tool, loopback) in targets {
            let dst = if loopback {
                src
            } else {
                b.r.resolve(Some(&host), Some(&host))
            };
            let local = loopback || (dst.is_some() && dst == src);
            let dst_name = if local {
                ev.host().to_string()
            } else {
                host.clone()
            };
            groups
                .entry((src, dst, dst_name))
                .or_default()
                .push((row, host, tool, local));
        }
    }
    for ((src, dst, dst_name), items) in groups {
        let first = items.iter().map(|(r, ..)| b.ev(*r).ts).min().unwrap_or(0);
        let last = items.iter().map(|(r, ..)| b.ev(*r).ts).max().unwrap_or(0);
        let local = items.iter().all(|(.., l)| *l);
        // Only 4648 from a non-tool process: support, never a finding alone.
        let only_weak = items.iter().all(|(r, _, tool, _)| {
            b.ev(*r).is_security(4648) && matches!(tool, la::Tool::Other(_))
        });
        // The cross-host join: findings on the target within 10 minutes.
        let matched: Vec<usize> = findings
            .iter()
            .enumerate()
            .filter(|(_, fnd)| {
                fnd.kind == FindingKind::LateralMovement
                    && dst.is_some()
                    && fnd.target_key == dst
                    && fnd.first_ts - 10 * MINUTE <= last
                    && first <= fnd.last_ts + 10 * MINUTE
                    && (fnd.source_key.is_none() || fnd.source_key == src)
            })
            .map(|(i, _)| i)
            .collect();
        if !matched.is_empty() && !local {
            for i in matched {
                let src_info = src.map(|k| b.r.info(k));
                let fnd = &mut findings[i];
                if fnd.source_key.is_none() {
                    fnd.source_key = src;
                    fnd.source = src_info.map(|i| Endpoint {
                        host: i.name,
                        ips: i.ips,
                    });
                    fnd.attribution = Some(
                        "source host's own logs name the target (cross-host correlation)".into(),
                    );
                    fnd.title = fnd.title.replace(
                        "an unknown source",
                        fnd.source.as_ref().map(|s| s.host.as_str()).unwrap_or("?"),
                    );
                }
                fnd.confidence = Confidence::High;
                fnd.analysis.push(format!(
                    "Cross-host correlation: the source's own logs show the move ({}).",
                    items
                        .iter()
                        .map(|(_, _, t, _)| t.name().to_string())
                        .collect::<BTreeSet<_>>()
                        .into_iter()
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
                for (r, _, tool, _) in &items {
                    let ev = b.ev(*r);
                    fnd.evidence.push(ev.evidence_ref());
                    if let Some(c) = b.command(ev) {
                        fnd.commands.push(c);
                    }
                    if (fnd.tool.is_none()
                        || fnd.tool.as_deref() == Some("WMI (Win32_Process.Create)"))
                        && !matches!(tool, la::Tool::Other(_))
                    {
                        fnd.tool = Some(tool.name().to_string());
                    }
                    used.insert(*r);
                }
                fnd.event_count = fnd.evidence.len();
                fnd.queries
                    .extend(items.iter().flat_map(|(r, ..)| entries_of(b, *r)));
            }
            continue;
        }
        if only_weak && !local {
            continue;
        }
        let src_info = src.map(|k| b.r.info(k));
        let dst_info = dst.map(|k| b.r.info(k));
        let tool = items
            .iter()
            .map(|(_, _, t, _)| t.clone())
            .find(|t| !matches!(t, la::Tool::Other(_)))
            .unwrap_or_else(|| items[0].2.clone());
        let kind = if local {
            FindingKind::LocalExecution
        } else {
            FindingKind::SourceSideMovement
        };
        let src_name = src_info
            .as_ref()
            .map(|i| i.name.clone())
            .unwrap_or_else(|| "?".into());
        let dst_display = dst_info
            .as_ref()
            .map(|i| i.name.clone())
            .unwrap_or(dst_name.clone());
        let title = if local {
            format!("{} aimed at the local host on {src_name} ({}): local activity, not lateral movement", tool.name(), items[0].1)
        } else {
            format!(
                "{} from {src_name} to {dst_display} (source-side evidence only)",
                tool.name()
            )
        };
        let mut fnd = new_finding(kind, title, first);
        fnd.last_ts = last;
        fnd.source_key = src;
        fnd.target_key = if local { src } else { dst };
        fnd.source = src_info.clone().map(|i| Endpoint {
            host: i.name,
            ips: i.ips,
        });
        fnd.target = if local {
            fnd.source.clone()
        } else {
            Some(Endpoint {
                host: dst_display.clone(),
                ips: dst_info.map(|i| i.ips).unwrap_or_default(),
            })
        };
        fnd.tool = Some(tool.name().to_string());
        let mut severity = Severity::Info;
        let mut techniques = BTreeSet::new();
        for (r, ..) in &items {
            let ev = b.ev(*r);
            for i in b.row_entries.get(r).cloned().unwrap_or_default() {
                let e = &b.entry(i).entry;
                if ids.contains(&e.id.as_str()) {
                    severity = severity.max(e.severity);
                    techniques.extend(e.techniques.iter().cloned());
                    fnd.queries.push(e.id.clone());
                }
            }
            fnd.evidence.push(ev.evidence_ref());
            if let Some(c) = b.command(ev) {
                fnd.commands.push(c);
            }
            if fnd.account.is_none() {
                fnd.account = if ev.is_security(4648) {
                    target_account(ev)
                } else {
                    principal_account(ev)
                }
                .filter(|a| !is_service_account(a));
            }
            used.insert(*r);
        }
        let by_tool = tool_techniques(&tool);
        fnd.techniques = if by_tool.is_empty() {
            techniques.into_iter().collect()
        } else {
            by_tool.iter().map(|t| t.to_string()).collect()
        };
        fnd.event_count = fnd.evidence.len();
        if local {
            fnd.severity = Severity::Low;
            fnd.confidence = Confidence::High;
            fnd.analysis.push(format!("The remote host named on the command line is the host itself ({}): this is local activity, never host-to-host movement.", items[0].1));
        } else {
            fnd.severity = severity.max(Severity::Medium);
            let target_logged = fnd
                .target_key
                .map(|k| b.r.info(k).logs_collected)
                .unwrap_or(false);
            fnd.confidence = if target_logged {
                Confidence::Low
            } else {
                Confidence::Medium
            };
            fnd.analysis.push(if target_logged {
                format!("{dst_display}'s logs are in the evidence but show no matching execution within 10 minutes: the attempt may have failed, or the target's auditing missed it.")
            } else {
                format!("{dst_display}'s logs are not in the evidence: collect them to confirm execution.")
            });
            fnd.follow_ups.push(format!(
                "Collect Security, System and Sysmon logs from {dst_display} around {}.",
                short(first)
            ));
        }
        findings.push(fnd);
    }
}

/// The techniques a source-side tool stands for.
fn tool_techniques(tool: &la::Tool) -> &'static [&'static str] {
    use la::Tool as T;
    match tool {
        T::Wmic | T::PowerShellWmi | T::ImpacketWmiexec => &["T1047"],
        T::PsExec
        | T::PAExec
        | T::CsExec
        | T::RemCom
        | T::ImpacketPsexec
        | T::ImpacketSmbexec
        | T::MetasploitPsexec
        | T::EmpireInvokePsExec
        | T::InvokeSmbExec => &["T1021.002", "T1569.002"],
        T::Sc => &["T1569.002", "T1543.003"],
        T::Schtasks | T::ImpacketAtexec => &["T1053.005"],
        T::At => &["T1053.002"],
        T::Winrs | T::PowerShellRemoting => &["T1021.006"],
        T::Mmc20 | T::ShellWindows | T::ImpacketDcomexec => &["T1021.003"],
        _ => &[],
    }
}

fn entries_of(b: &Builder<'_>, row: u32) -> Vec<String> {
    b.row_entries
        .get(&row)
        .map(|v| v.iter().map(|&i| b.entry(i).entry.id.clone()).collect())
        .unwrap_or_default()
}

fn singles(b: &mut Builder<'_>, findings: &mut Vec<Finding>, used: &mut BTreeSet<u32>) {
    // Over-pass-the-hash on the source.
    for &row in b
        .inp
        .hits
        .get("pth-new-credentials-logon")
        .map(Vec::as_slice)
        .unwrap_or(&[])
    {
        let ev = b.ev(row);
        let key = b.r.resolve(Some(ev.host()), None);
        let info = key.map(|k| b.r.info(k));
        let user = principal_account(ev).or_else(|| target_account(ev));
        let host = info.as_ref().map(|i| i.name.clone()).unwrap_or_default();
        let mut fnd = new_finding(
            FindingKind::CredentialUse,
            format!("Pass-the-hash (new-credentials logon with seclogo) on {host}"),
            ev.ts,
        );
        fnd.source_key = key;
        fnd.source = info.map(|i| Endpoint {
            host: i.name,
            ips: i.ips,
        });
        fnd.account = user;
        fnd.techniques = vec!["T1550.002".into()];
        fnd.severity = Severity::High;
        fnd.confidence = Confidence::Medium;
        fnd.details.entry("logon process".into()).or_default().push(
            ev.additional("LogonProcessName")
                .unwrap_or("seclogo")
                .trim()
                .to_string(),
        );
        fnd.details
            .entry("process".into())
            .or_default()
            .push(ev.s(f::PRINCIPAL_PATH).to_string());
        fnd.analysis.push("Logon type 9 (NewCredentials) through seclogo is how mimikatz sekurlsa::pth and runas /netonly start a process with other credentials; network access from that process uses the injected hash. This is the source side of pass-the-hash.".into());
        fnd.follow_ups.push(format!(
            "Find the network logons made with the injected credentials from {host} after {}.",
            short(ev.ts)
        ));
        fnd.queries.push("pth-new-credentials-logon".into());
        fnd.evidence.push(ev.evidence_ref());
        fnd.event_count = 1;
        used.insert(row);
        findings.push(fnd);
    }
    // WMI event subscriptions.
    let rows = b
        .inp
        .hits
        .get("wmi-event-subscription")
        .cloned()
        .unwrap_or_default();
    let mut by_host: BTreeMap<Option<HostKey>, Vec<u32>> = BTreeMap::new();
    for row in rows {
        let k = b.r.resolve(Some(b.ev(row).host()), None);
        by_host.entry(k).or_default().push(row);
    }
    for (key, rows) in by_host {
        let info = key.map(|k| b.r.info(k));
        let first = rows.iter().map(|&r| b.ev(r).ts).min().unwrap_or(0);
        let last = rows.iter().map(|&r| b.ev(r).ts).max().unwrap_or(0);
        let host = info.as_ref().map(|i| i.name.clone()).unwrap_or_default();
        let mut fnd = new_finding(
            FindingKind::Persistence,
            format!("WMI event subscription activity on {host}"),
            first,
        );
        fnd.last_ts = last;
        fnd.target_key = key;
        fnd.target = info.map(|i| Endpoint {
            host: i.name,
            ips: i.ips,
        });
        fnd.techniques = vec!["T1546.003".into(), "T1047".into()];
        fnd.severity = Severity::Medium;
        for &r in &rows {
            let ev = b.ev(r);
            fnd.evidence.push(ev.evidence_ref());
            if let Some(n) = ev.opt(f::TARGET_RESOURCE) {
                fnd.details
                    .entry("WMI objects".into())
                    .or_default()
                    .push(n.to_string());
            }
            if fnd.account.is_none() {
                fnd.account = principal_account(ev).filter(|a| !is_service_account(a));
            }
            used.insert(r);
        }
        fnd.event_count = fnd.evidence.len();
        fnd.queries.push("wmi-event-subscription".into());
        fnd.follow_ups.push(format!("List the WMI filters, consumers and bindings on {host} (Get-WmiObject -Namespace root\\subscription)."));
        findings.push(fnd);
    }
}

fn credentials_and_recurrence(
    b: &mut Builder<'_>,
    findings: &mut Vec<Finding>,
    used: &mut BTreeSet<u32>,
) -> Vec<Recurring> {
    // Every command line among the hits, plus every process launch for recurrence.
    let hit_rows: BTreeSet<u32> = b
        .row_entries
        .iter()
        .filter(|(_, v)| v.iter().any(|&i| b.entry(i).entry.role != Role::Context))
        .map(|(r, _)| *r)
        .collect();
    // (host, user, masked command) → rows
    let mut exposures: BTreeMap<(String, String, String), ExposureRows> = BTreeMap::new();
    for &row in &hit_rows {
        let ev = b.ev(row);
        if ev.s(f::EVENT_TYPE) != "PROCESS_LAUNCH" {
            continue;
        }
        let cmd = ev.s(f::TARGET_CMD);
        let m = la::mask_credentials(cmd);
        if m.exposures.is_empty() {
            continue;
        }
        let user = principal_account(ev).unwrap_or_default();
        let slot = exposures
            .entry((host_lc(ev), user, m.text.clone()))
            .or_default();
        slot.0.push(row);
        if slot.1.is_empty() {
            slot.1 = m.exposures;
        }
    }
    // Recurrence over all launches in the candidate set.
    let mut launches: BTreeMap<(String, String, String), Vec<u32>> = BTreeMap::new();
    for ev in b.inp.evs {
        if ev.s(f::EVENT_TYPE) != "PROCESS_LAUNCH" || !hit_rows.contains(&ev.row) {
            continue;
        }
        let cmd = ev.s(f::TARGET_CMD);
        if cmd.is_empty() {
            continue;
        }
        launches
            .entry((
                host_lc(ev),
                principal_account(ev)
                    .unwrap_or_default()
                    .to_ascii_lowercase(),
                safe_command(cmd),
            ))
            .or_default()
            .push(ev.row);
    }
    let mut recurring = Vec::new();
    for ((_, _, cmd), rows) in &launches {
        if let Some(rec) = recurrence(b, rows, cmd) {
            recurring.push(rec);
        }
    }
    recurring.sort_by(|a, b| (&a.host, &a.command_line).cmp(&(&b.host, &b.command_line)));
    recurring.dedup();

    // Group exposures by host and user: one finding per (host, user).
    let mut per_user: BTreeMap<(String, String), Vec<CommandExposure>> = BTreeMap::new();
    for ((host, user, cmd), (rows, exps)) in exposures {
        per_user
            .entry((host, user))
            .or_default()
            .push((cmd, rows, exps));
    }
    for ((_, user), items) in per_user {
        let all_rows: Vec<u32> = items
            .iter()
            .flat_map(|(_, r, _)| r.iter().copied())
            .collect();
        let first = all_rows.iter().map(|&r| b.ev(r).ts).min().unwrap_or(0);
        let last = all_rows.iter().map(|&r| b.ev(r).ts).max().unwrap_or(0);
        let ev0 = b.ev(all_rows[0]);
        let key = b.r.resolve(Some(ev0.host()), None);
        let info = key.map(|k| b.r.info(k));
        let host = info.as_ref().map(|i| i.name.clone()).unwrap_or_default();
        let exposed: BTreeSet<String> = items
            .iter()
            .flat_map(|(_, _, e)| e.iter().filter_map(|x| x.user.clone()))
            .collect();
        let mut fnd = new_finding(
            FindingKind::CredentialExposure,
            format!(
                "Credentials in a command line on {host}{}",
                if exposed.is_empty() {
                    String::new()
                } else {
                    format!(
                        " (for {})",
                        exposed.iter().cloned().collect::<Vec<_>>().join(", ")
                    )
                }
            ),
            first,
        );
        fnd.last_ts = last;
        fnd.target_key = key;
        fnd.target = info.map(|i| Endpoint {
            host: i.name,
            ips: i.ips,
        });
        fnd.account = (!user.is_empty()).then_some(user.clone());
        fnd.techniques = vec!["T1552".into(), "T1078".into()];
        fnd.severity = Severity::Medium;
        fnd.confidence = Confidence::High;
        for (cmd, rows, exps) in &items {
            for e in exps {
                fnd.details
                    .entry("exposed".into())
                    .or_default()
                    .push(format!(
                        "{} ({}{})",
                        e.pattern,
                        e.user
                            .as_deref()
                            .map(|u| format!("account {u}, "))
                            .unwrap_or_default(),
                        if e.secret_len > 0 {
                            "password in clear, masked here"
                        } else {
                            "account name only"
                        }
                    ));
            }
            let days: BTreeSet<String> = rows
                .iter()
                .map(|&r| short(b.ev(r).ts)[..10].to_string())
                .collect();
            // Sysmon 1 and 4688 log the same launch: count launches by second.
            let launches: BTreeSet<i64> = rows.iter().map(|&r| b.ev(r).ts / SECOND).collect();
            fnd.analysis.push(format!(
                "`{}` ran {} time(s) on {} day(s).",
                clip(cmd, 300),
                launches.len(),
                days.len()
            ));
            for &r in rows {
                let ev = b.ev(r);
                fnd.evidence.push(ev.evidence_ref());
                if let Some(c) = b.command(ev) {
                    fnd.commands.push(c);
                }
                used.insert(r);
            }
        }
        for rec in &recurring {
            if lateral_model::vocab::short_hostname(&rec.host).eq_ignore_ascii_case(&host)
                && items.iter().any(|(c, ..)| c == &rec.command_line)
            {
                fnd.analysis.push(format!(
                    "Recurring job: the same command by {} at about {} UTC on {} days ({}), launched by {} — a scheduled task, so the secret is stored in the task too.",
                    rec.user,
                    rec.time_of_day,
                    rec.days.len(),
                    rec.days.join(", "),
                    rec.parent
                ));
            }
        }
        fnd.event_count = fnd.evidence.len();
        fnd.queries.push("credentials-in-command-line".into());
        fnd.follow_ups.push("Rotate the exposed password(s) and remove them from the script or scheduled task that carries them.".into());
        if let Some(a) = &fnd.account {
            fnd.follow_ups.push(format!(
                "Compromised-account review for {a} and for the exposed account(s)."
            ));
        }
        findings.push(fnd);
    }
    recurring
}

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        s.chars().take(n).collect::<String>() + "…"
    }
}

/// Same command by the same user on the same host at about the same time of day on 3+ days.
fn recurrence(b: &Builder<'_>, rows: &[u32], cmd: &str) -> Option<Recurring> {
    let mut by_day: BTreeMap<i64, i64> = BTreeMap::new();
    for &r in rows {
        let ts = b.ev(r).ts;
        by_day
            .entry(ts.div_euclid(DAY))
            .or_insert(ts.rem_euclid(DAY));
    }
    if by_day.len() < 3 {
        return None;
    }
    let tods: Vec<i64> = by_day.values().copied().collect();
    let lo = *tods.iter().min()?;
    let hi = *tods.iter().max()?;
    if hi - lo > 15 * MINUTE {
        return None;
    }
    let ev = b.ev(rows[0]);
    let mid = (lo + hi) / 2;
    let secs = mid / SECOND;
    Some(Recurring {
        host: ev.host().to_string(),
        user: principal_account(ev).unwrap_or_default(),
        command_line: cmd.to_string(),
        days: by_day
            .keys()
            .map(|d| short(d * DAY)[..10].to_string())
            .collect(),
        time_of_day: format!(
            "{:02}:{:02}:{:02}",
            secs / 3600,
            (secs / 60) % 60,
            secs % 60
        ),
        parent: file_name(ev.s(f::PRINCIPAL_PATH)).to_string(),
    })
}

fn fan_out(b: &mut Builder<'_>, findings: &mut Vec<Finding>) {
    const N: usize = 3;
    const T: i64 = 10 * MINUTE;
    // First-seen pairs: a network logon from the source to the target before the window.
    if let Some(start) = b.inp.window_start {
        let mut seen_before: BTreeSet<(HostKey, HostKey)> = BTreeSet::new();
        for ev in b.inp.evs {
            if ev.ts >= start || !ev.is_security(4624) || ev.s(f::AUTH_MECHANISM) != "NETWORK" {
                continue;
            }
            let src =
                b.r.resolve(ev.opt(f::SRC_HOSTNAME), ev.opt(f::PRINCIPAL_IP));
            let dst = b.r.resolve(Some(ev.host()), None);
            if let (Some(s), Some(d)) = (src, dst) {
                seen_before.insert((s, d));
            }
        }
        for fnd in findings.iter_mut() {
            if fnd.kind != FindingKind::LateralMovement {
                continue;
            }
            if let (Some(s), Some(d)) = (fnd.source_key, fnd.target_key) {
                if seen_before.contains(&(s, d)) {
                    fnd.analysis.push("This source had already logged on to the target over the network before the hunt window.".into());
                } else {
                    fnd.analysis.push("First-seen pair: no network logon from this source to the target before the hunt window in the evidence.".into());
                    fnd.severity = fnd.severity.max(Severity::High);
                }
            }
        }
    }
    let mut by_source: BTreeMap<HostKey, Vec<(i64, HostKey, usize)>> = BTreeMap::new();
    for (i, fnd) in findings.iter().enumerate() {
        if !matches!(
            fnd.kind,
            FindingKind::LateralMovement | FindingKind::SourceSideMovement
        ) {
            continue;
        }
        if let (Some(s), Some(d)) = (fnd.source_key, fnd.target_key) {
            by_source.entry(s).or_default().push((fnd.first_ts, d, i));
        }
    }
    let mut new = Vec::new();
    for (src, mut v) in by_source {
        v.sort();
        let mut best: Option<(usize, usize)> = None;
        for a in 0..v.len() {
            let targets: BTreeSet<HostKey> = v[a..]
                .iter()
                .take_while(|x| x.0 - v[a].0 <= T)
                .map(|x| x.1)
                .collect();
            if targets.len() >= N && best.is_none_or(|(_, n)| targets.len() > n) {
                best = Some((a, targets.len()));
            }
        }
        let Some((a, count)) = best else { continue };
        let members: Vec<&(i64, HostKey, usize)> =
            v[a..].iter().take_while(|x| x.0 - v[a].0 <= T).collect();
        let info = b.r.info(src);
        let mut fnd = new_finding(
            FindingKind::FanOut,
            format!(
                "{} reached {count} hosts within {} minutes",
                info.name,
                T / MINUTE
            ),
            members[0].0,
        );
        fnd.last_ts = members.last().map(|m| m.0).unwrap_or(members[0].0);
        fnd.source_key = Some(src);
        fnd.source = Some(Endpoint {
            host: info.name.clone(),
            ips: info.ips.clone(),
        });
        fnd.severity = Severity::Critical;
        fnd.confidence = Confidence::High;
        fnd.techniques = vec!["T1021".into()];
        let mut targets = BTreeSet::new();
        for m in &members {
            let t = &findings[m.2];
            if let Some(d) = &t.target {
                targets.insert(d.host.clone());
            }
            fnd.evidence.extend(t.evidence.iter().cloned());
            fnd.queries.extend(t.queries.iter().cloned());
        }
        fnd.details
            .insert("targets".into(), targets.into_iter().collect());
        fnd.event_count = fnd.evidence.len();
        fnd.analysis.push(format!("One source moving to {N} or more distinct hosts within {} minutes is automated or hands-on-keyboard spreading.", T / MINUTE));
        fnd.follow_ups.push(format!(
            "Contain {} and every target listed; hunt each target for further hops.",
            info.name
        ));
        new.push(fnd);
    }
    // Network-logon bursts (the DataFusion threshold join) for sources not already reported.
    let mut best: BTreeMap<String, &crate::correlate::Burst> = BTreeMap::new();
    for burst in b.inp.bursts {
        let ts = b.ev(burst.first_row).ts;
        if b.inp.window_start.is_some_and(|s| ts < s) {
            continue;
        }
        let slot = best.entry(burst.actor.clone()).or_insert(burst);
        if burst.targets > slot.targets {
            *slot = burst;
        }
    }
    for (actor, burst) in best {
        let first = b.ev(burst.first_row).ts;
        let src = b.r.resolve(None, Some(&actor));
        if src.is_some() && new.iter().any(|f: &Finding| f.source_key == src) {
            continue;
        }
        let mut targets = BTreeSet::new();
        let mut evidence = Vec::new();
        let mut last = first;
        let mut accounts = BTreeSet::new();
        for ev in b.inp.evs {
            if ev.ts < first
                || ev.ts - first > T
                || !ev.is_security(4624)
                || ev.s(f::AUTH_MECHANISM) != "NETWORK"
                || ev.s(f::PRINCIPAL_IP) != actor
            {
                continue;
            }
            targets.insert(ev.host().to_string());
            evidence.push(ev.evidence_ref());
            last = last.max(ev.ts);
            if let Some(a) = target_account(ev).filter(|a| !is_service_account(a)) {
                accounts.insert(a);
            }
        }
        let info = src.map(|k| b.r.info(k));
        let name = info
            .as_ref()
            .map(|i| i.name.clone())
            .unwrap_or(actor.clone());
        let mut fnd = new_finding(
            FindingKind::FanOut,
            format!(
                "{name} logged on to {} hosts over the network within {} minutes",
                burst.targets,
                T / MINUTE
            ),
            first,
        );
        fnd.last_ts = last;
        fnd.source_key = src;
        fnd.source = Some(Endpoint {
            host: name.clone(),
            ips: info.map(|i| i.ips).unwrap_or_else(|| vec![actor.clone()]),
        });
        fnd.severity = Severity::High;
        fnd.confidence = Confidence::Medium;
        fnd.techniques = vec!["T1021".into(), "T1078".into()];
        fnd.account = accounts.iter().next().cloned();
        fnd.details
            .insert("targets".into(), targets.into_iter().collect());
        if accounts.len() > 1 {
            fnd.details
                .insert("accounts".into(), accounts.into_iter().collect());
        }
        fnd.evidence = evidence;
        fnd.event_count = fnd.evidence.len();
        fnd.queries.push("network-logon-fan-out".into());
        fnd.analysis.push(format!(
            "One address authenticating to {N} or more hosts within {} minutes is the footprint of spreading or of scanning with valid credentials; no remote execution was seen with it.",
            T / MINUTE
        ));
        fnd.follow_ups.push(format!(
            "Identify the host behind {actor} and what ran on each target after the logons."
        ));
        new.push(fnd);
    }
    findings.extend(new);
}
