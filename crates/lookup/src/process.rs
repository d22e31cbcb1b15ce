//! The process tree of one process on one host around a time, from PROCESS_LAUNCH events:
//! the launch of the process itself, its ancestry (parent, grandparent, ... as far as the
//! launches are in the evidence) and its descendants. This is the "trace the parent process"
//! step of the case-timeline runbook done in one call.
//!
//! Process ids are reused, so every link is chosen in time: the process is the launch of `pid`
//! closest before `around` (else the first after it); a parent is the latest launch of the
//! parent pid at or before its child's launch; children are launches naming the pid as parent
//! after the process started and before the pid was launched again. Sysmon event 1 and
//! Security 4688 of the same launch (same pid, image and second) count once. Command lines
//! have their credentials masked, as in hunt findings.

use std::collections::BTreeMap;

use lateral_engine::rows::{to_json_rows, Style};
use lateral_engine::{Engine, SearchRequest, WindowSpec};
use lateral_model::{f, Field};
use lateral_query::ast::Node;
use serde::Serialize;
use serde_json::Value as Json;

use crate::{cmp, compile, udm_text, LookupError};

/// How far up the tree is followed.
pub const MAX_ANCESTRY: usize = 16;
/// How deep descendants are followed.
pub const MAX_DEPTH: usize = 6;
/// Most descendants listed.
pub const MAX_DESCENDANTS: usize = 500;

/// One process launch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProcessNode {
    pub pid: i64,
    pub parent_pid: Option<i64>,
    pub image: Option<String>,
    pub command_line: Option<String>,
    pub user: Option<String>,
    /// When the launch was logged; `None` for a parent known only from its child's event.
    pub launched: Option<String>,
    /// The parent's image as the launch event names it.
    pub parent_image: Option<String>,
    /// Evidence: file and record of the launch event.
    pub evidence: Option<String>,
    /// Event id of the launch (`1` Sysmon, `4688` Security).
    pub event: Option<String>,
    /// Launched processes, oldest first (filled for the process and its descendants).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<ProcessNode>,
}

impl ProcessNode {
    /// A process known only as the parent named by a child's launch event: its PID and
    /// image, nothing logged about its own launch.
    fn unseen(pid: i64, image: Option<String>) -> Self {
        ProcessNode {
            pid,
            parent_pid: None,
            image,
            command_line: None,
            user: None,
            launched: None,
            parent_image: None,
            evidence: None,
            event: None,
            children: Vec::new(),
        }
    }
}

/// What [`process_tree`] found.
#[derive(Debug, Clone, Serialize)]
pub struct ProcessTree {
    pub host: String,
    pub pid: i64,
    pub around_time: String,
    pub window: crate::WindowOut,
    /// The query that selected the launches.
    pub udm_query: String,
    /// Launch events read in the window on the host.
    pub launches_considered: usize,
    /// The process with its descendants; `None` when its launch is not in the evidence.
    pub process: Option<ProcessNode>,
    /// Parent first, then grandparent, ...; the last may be known only from its child's event.
    pub ancestry: Vec<ProcessNode>,
    /// When the launch is missing: processes that name `pid` as their parent.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub orphans: Vec<ProcessNode>,
    /// True when MAX_DESCENDANTS cut the children short.
    pub truncated: bool,
    /// The tree as indented text, root first.
    pub text: String,
}

#[derive(Debug, Clone)]
struct Launch {
    ts: i64,
    node: ProcessNode,
}

fn s(row: &Json, field: Field) -> Option<String> {
    row.get(field.name())
        .and_then(Json::as_str)
        .map(str::trim)
        .filter(|v| !v.is_empty() && *v != "-")
        .map(str::to_string)
}

fn i(row: &Json, field: Field) -> Option<i64> {
    row.get(field.name()).and_then(Json::as_i64)
}

fn file_name(p: &str) -> String {
    p.rsplit(['\\', '/'])
        .next()
        .unwrap_or(p)
        .to_ascii_lowercase()
}

fn launch(row: &Json, ts: i64) -> Option<Launch> {
    let pid = i(row, f::TARGET_PID)?;
    let user = match (s(row, f::TARGET_DOMAIN), s(row, f::TARGET_USERID)) {
        (_, None) => match (s(row, f::PRINCIPAL_DOMAIN), s(row, f::PRINCIPAL_USERID)) {
            (Some(d), Some(u)) => Some(format!("{d}\\{u}")),
            (None, u) => u,
            (Some(_), None) => None,
        },
        (Some(d), Some(u)) => Some(format!("{d}\\{u}")),
        (None, u) => u,
    };
    let evidence = match (s(row, f::SOURCE_FILE), i(row, f::RECORD_NUMBER)) {
        (Some(file), Some(r)) => Some(format!("{file}#{r}")),
        (Some(file), None) => Some(file),
        _ => None,
    };
    Some(Launch {
        ts,
        node: ProcessNode {
            pid,
            parent_pid: i(row, f::PRINCIPAL_PID),
            image: s(row, f::TARGET_PATH),
            command_line: s(row, f::TARGET_CMD)
                .map(|c| lateral_analysis::mask_credentials(&c).text),
            user,
            launched: Some(lateral_engine::format_micros(ts)),
            parent_image: s(row, f::PRINCIPAL_PATH),
            evidence,
            event: s(row, f::PRODUCT_EVENT_TYPE),
            children: Vec::new(),
        },
    })
}

/// Merge what one record of a launch lacks from another record of the same launch.
fn merge(into: &mut ProcessNode, other: ProcessNode) {
    fn fill<T>(a: &mut Option<T>, b: Option<T>) {
        if a.is_none() {
            *a = b;
        }
    }
    fill(&mut into.parent_pid, other.parent_pid);
    fill(&mut into.image, other.image);
    fill(&mut into.command_line, other.command_line);
    fill(&mut into.user, other.user);
    fill(&mut into.parent_image, other.parent_image);
}

/// The process tree of `pid` on `host` around `around` (microseconds), reading launches
/// within `span_hours` on either side.
pub async fn process_tree(
    engine: &Engine,
    host: &str,
    pid: i64,
    around: i64,
    span_hours: f64,
) -> Result<ProcessTree, LookupError> {
    let host = host.trim();
    if host.is_empty() {
        return Err(LookupError::Empty);
    }
    let span = (span_hours.max(0.0) * 3_600_000_000.0) as i64;
    let window = WindowSpec {
        hours_back: span_hours.max(0.0) * 2.0,
        start: Some(around.saturating_sub(span)),
        end: Some(around.saturating_add(span)),
        now: false,
        all: false,
    };
    let node = Node::And(vec![
        cmp(f::EVENT_TYPE, "PROCESS_LAUNCH"),
        Node::Or(vec![
            cmp(f::PRINCIPAL_HOSTNAME, host),
            cmp(f::OBSERVER_HOSTNAME, host),
        ]),
    ]);
    let req = SearchRequest {
        filter: compile(&node)?,
        window,
        limit: None,
        columns: vec![
            f::EVENT_TIMESTAMP,
            f::PRODUCT_EVENT_TYPE,
            f::PRINCIPAL_PID,
            f::PRINCIPAL_PATH,
            f::PRINCIPAL_DOMAIN,
            f::PRINCIPAL_USERID,
            f::TARGET_PID,
            f::TARGET_PATH,
            f::TARGET_CMD,
            f::TARGET_DOMAIN,
            f::TARGET_USERID,
            f::SOURCE_FILE,
            f::RECORD_NUMBER,
        ],
    };
    let found = engine.search(&req).await?;
    let rows = to_json_rows(&found.batches, Style::Flat);
    let ts_col = found
        .batches
        .first()
        .and_then(|b| b.schema().index_of(f::EVENT_TIMESTAMP.name()).ok());
    let mut times = Vec::new();
    for b in &found.batches {
        let Some(c) = ts_col else { break };
        let col = b.column(c);
        let arr = col
            .as_any()
            .downcast_ref::<datafusion::arrow::array::TimestampMicrosecondArray>();
        for r in 0..b.num_rows() {
            times.push(arr.map(|a| a.value(r)).unwrap_or(0));
        }
    }
    // One entry per launch: (pid, image name, second).
    let mut by_key: BTreeMap<(i64, i64, String), Launch> = BTreeMap::new();
    for (row, ts) in rows.iter().zip(times) {
        let Some(l) = launch(row, ts) else { continue };
        let key = (
            ts.div_euclid(1_000_000),
            l.node.pid,
            l.node.image.as_deref().map(file_name).unwrap_or_default(),
        );
        match by_key.get_mut(&key) {
            Some(existing) => merge(&mut existing.node, l.node),
            None => {
                by_key.insert(key, l);
            }
        }
    }
    let mut launches: Vec<Launch> = by_key.into_values().collect();
    launches.sort_by(|a, b| {
        a.ts.cmp(&b.ts)
            .then(a.node.pid.cmp(&b.node.pid))
            .then(a.node.evidence.cmp(&b.node.evidence))
    });
    let considered = launches.len();

    // The process: the launch of pid closest before `around`, else the first after.
    let of_pid: Vec<usize> = (0..launches.len())
        .filter(|&k| launches[k].node.pid == pid)
        .collect();
    let focus = of_pid
        .iter()
        .copied()
        .filter(|&k| launches[k].ts <= around)
        .max_by_key(|&k| launches[k].ts)
        .or_else(|| {
            of_pid
                .iter()
                .copied()
                .filter(|&k| launches[k].ts > around)
                .min_by_key(|&k| launches[k].ts)
        });

    let mut truncated = false;
    let mut count = 0usize;
    let mut tree = ProcessTree {
        host: host.to_string(),
        pid,
        around_time: lateral_engine::format_micros(around),
        window: crate::WindowOut {
            start: found.window.start.map(lateral_engine::format_micros),
            end: found.window.end.map(lateral_engine::format_micros),
            description: found.window.describe(),
        },
        udm_query: udm_text(&node),
        launches_considered: considered,
        process: None,
        ancestry: Vec::new(),
        orphans: Vec::new(),
        truncated: false,
        text: String::new(),
    };
    match focus {
        Some(k) => {
            let mut root = launches[k].node.clone();
            root.children = descendants(&launches, k, 1, &mut count, &mut truncated);
            tree.ancestry = ancestry(&launches, k);
            tree.process = Some(root);
        }
        None => {
            // No launch of pid: still show what it started near the time.
            tree.orphans = launches
                .iter()
                .filter(|l| l.node.parent_pid == Some(pid))
                .map(|l| l.node.clone())
                .collect();
            if let Some(first) = tree.orphans.first() {
                tree.ancestry = vec![ProcessNode::unseen(pid, first.parent_image.clone())];
            }
        }
    }
    tree.truncated = truncated;
    tree.text = render(&tree);
    Ok(tree)
}

/// Parent first. Stops at a cycle, a missing launch (the parent is then listed from its
/// child's event) or MAX_ANCESTRY.
fn ancestry(launches: &[Launch], from: usize) -> Vec<ProcessNode> {
    let mut out = Vec::new();
    let mut cur = from;
    let mut seen = vec![from];
    for _ in 0..MAX_ANCESTRY {
        let child = &launches[cur];
        let Some(ppid) = child.node.parent_pid else {
            break;
        };
        let parent_name = child.node.parent_image.as_deref().map(file_name);
        let found = (0..launches.len())
            .filter(|&k| {
                let l = &launches[k];
                l.node.pid == ppid
                    && l.ts <= child.ts
                    && match (&parent_name, &l.node.image) {
                        (Some(want), Some(img)) => file_name(img) == *want,
                        _ => true,
                    }
            })
            .max_by_key(|&k| launches[k].ts);
        match found {
            Some(k) if !seen.contains(&k) => {
                seen.push(k);
                out.push(launches[k].node.clone());
                cur = k;
            }
            _ => {
                out.push(ProcessNode::unseen(ppid, child.node.parent_image.clone()));
                break;
            }
        }
    }
    out
}

/// Launches whose parent is launch `k`: after it started, before its pid was launched again.
fn descendants(
    launches: &[Launch],
    k: usize,
    depth: usize,
    count: &mut usize,
    truncated: &mut bool,
) -> Vec<ProcessNode> {
    if depth > MAX_DEPTH {
        return Vec::new();
    }
    let me = &launches[k];
    let name = me.node.image.as_deref().map(file_name);
    let until = launches
        .iter()
        .filter(|l| l.node.pid == me.node.pid && l.ts > me.ts)
        .map(|l| l.ts)
        .min()
        .unwrap_or(i64::MAX);
    let mut out = Vec::new();
    for c in 0..launches.len() {
        let l = &launches[c];
        if c == k || l.node.parent_pid != Some(me.node.pid) || l.ts < me.ts || l.ts >= until {
            continue;
        }
        if let (Some(want), Some(pimg)) = (&name, &l.node.parent_image) {
            if file_name(pimg) != *want {
                continue;
            }
        }
        if *count >= MAX_DESCENDANTS {
            *truncated = true;
            break;
        }
        *count += 1;
        let mut node = l.node.clone();
        node.children = descendants(launches, c, depth + 1, count, truncated);
        out.push(node);
    }
    out
}

fn line(n: &ProcessNode) -> String {
    let mut s = format!(
        "{} (pid {})",
        n.image.as_deref().unwrap_or("<unknown image>"),
        n.pid
    );
    if let Some(t) = &n.launched {
        s.push_str(&format!(" at {t}"));
    } else {
        s.push_str(" (launch not in the evidence)");
    }
    if let Some(u) = &n.user {
        s.push_str(&format!(" as {u}"));
    }
    if let Some(c) = &n.command_line {
        s.push_str(&format!(": {c}"));
    }
    s
}

fn render_children(n: &ProcessNode, depth: usize, out: &mut String) {
    for c in &n.children {
        out.push_str(&format!("{}└─ {}\n", "   ".repeat(depth), line(c)));
        render_children(c, depth + 1, out);
    }
}

/// The tree as indented text, the oldest known ancestor first.
fn render(t: &ProcessTree) -> String {
    let mut out = String::new();
    let mut depth = 0;
    for a in t.ancestry.iter().rev() {
        out.push_str(&format!(
            "{}{}\n",
            if depth == 0 {
                String::new()
            } else {
                format!("{}└─ ", "   ".repeat(depth - 1))
            },
            line(a)
        ));
        depth += 1;
    }
    let prefix = |d: usize| {
        if d == 0 {
            String::new()
        } else {
            format!("{}└─ ", "   ".repeat(d - 1))
        }
    };
    match &t.process {
        Some(p) => {
            out.push_str(&format!(
                "{}{}  <== pid {}\n",
                prefix(depth),
                line(p),
                t.pid
            ));
            render_children(p, depth, &mut out);
        }
        None => {
            out.push_str(&format!(
                "No launch of pid {} on {} in {}.\n",
                t.pid, t.host, t.window.description
            ));
            for o in &t.orphans {
                out.push_str(&format!("   child: {}\n", line(o)));
            }
        }
    }
    out
}
