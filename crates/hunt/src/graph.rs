//! The movement graph: hosts and accounts as nodes, movements as directed edges, and the
//! multi-hop chains (A → B → C) they form.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::findings::{Finding, FindingKind};
use crate::time::iso;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Node {
    pub id: String,
    pub label: String,
    /// `host` or `account`.
    pub kind: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ips: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Edge {
    pub from: String,
    pub to: String,
    /// `movement`, `attempt` (source-side only or denied) or `uses` (account used on a move).
    pub kind: String,
    pub techniques: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub accounts: Vec<String>,
    pub first_seen: String,
    pub last_seen: String,
    pub findings: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Graph {
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
    /// Host paths of two or more hops, in time order.
    pub chains: Vec<Vec<String>>,
}

fn node_id(prefix: &str, name: &str) -> String {
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("{prefix}_{clean}")
}

/// Build the graph from movement findings (local activity never makes an edge).
pub fn build(findings: &[Finding]) -> Graph {
    let mut nodes: BTreeMap<String, Node> = BTreeMap::new();
    type EdgeKey = (String, String, String);
    let mut edges: BTreeMap<EdgeKey, (Edge, i64, i64)> = BTreeMap::new();
    for fnd in findings {
        let kind = match fnd.kind {
            FindingKind::LateralMovement => "movement",
            FindingKind::SourceSideMovement | FindingKind::FailedAttempt => "attempt",
            _ => continue,
        };
        let (Some(src), Some(dst)) = (&fnd.source, &fnd.target) else {
            continue;
        };
        let from = node_id("host", &src.host);
        let to = node_id("host", &dst.host);
        if from == to {
            continue;
        }
        for (id, ep) in [(&from, src), (&to, dst)] {
            let n = nodes.entry(id.clone()).or_insert_with(|| Node {
                id: id.clone(),
                label: ep.host.clone(),
                kind: "host".into(),
                ips: Vec::new(),
            });
            for ip in &ep.ips {
                if !n.ips.contains(ip) {
                    n.ips.push(ip.clone());
                }
            }
            n.ips.sort();
        }
        let slot = edges
            .entry((from.clone(), to.clone(), kind.to_string()))
            .or_insert_with(|| {
                (
                    Edge {
                        from: from.clone(),
                        to: to.clone(),
                        kind: kind.into(),
                        techniques: Vec::new(),
                        tools: Vec::new(),
                        accounts: Vec::new(),
                        first_seen: String::new(),
                        last_seen: String::new(),
                        findings: Vec::new(),
                    },
                    fnd.first_ts,
                    fnd.last_ts,
                )
            });
        slot.1 = slot.1.min(fnd.first_ts);
        slot.2 = slot.2.max(fnd.last_ts);
        let e = &mut slot.0;
        e.techniques.extend(fnd.techniques.iter().cloned());
        e.tools.extend(fnd.tool.iter().cloned());
        e.accounts.extend(fnd.account.iter().cloned());
        e.findings.push(fnd.id.clone());
        if let Some(a) = &fnd.account {
            let aid = node_id("account", a);
            nodes.entry(aid.clone()).or_insert_with(|| Node {
                id: aid.clone(),
                label: a.clone(),
                kind: "account".into(),
                ips: Vec::new(),
            });
        }
    }
    let mut out: Vec<Edge> = Vec::new();
    let mut times: BTreeMap<(String, String), (i64, i64)> = BTreeMap::new();
    for ((from, to, kind), (mut e, lo, hi)) in edges {
        for v in [
            &mut e.techniques,
            &mut e.tools,
            &mut e.accounts,
            &mut e.findings,
        ] {
            let set: BTreeSet<String> = v.drain(..).collect();
            v.extend(set);
        }
        e.first_seen = iso(lo);
        e.last_seen = iso(hi);
        if kind == "movement" {
            times.insert((from.clone(), to.clone()), (lo, hi));
        }
        out.push(e);
    }
    // Account edges: account → the source host it moved from.
    let mut account_edges = Vec::new();
    for e in &out {
        for a in &e.accounts {
            account_edges.push(Edge {
                from: node_id("account", a),
                to: e.from.clone(),
                kind: "uses".into(),
                techniques: Vec::new(),
                tools: Vec::new(),
                accounts: Vec::new(),
                first_seen: e.first_seen.clone(),
                last_seen: e.last_seen.clone(),
                findings: e.findings.clone(),
            });
        }
    }
    account_edges.sort();
    account_edges.dedup_by(|a, b| a.from == b.from && a.to == b.to);
    out.extend(account_edges);

    // Chains: paths over movement edges where each hop starts no earlier than the previous began.
    let mut chains = Vec::new();
    let adj: BTreeMap<&String, Vec<(&String, i64, i64)>> =
        times
            .iter()
            .fold(BTreeMap::new(), |mut m, ((a, b), (lo, hi))| {
                m.entry(a).or_default().push((b, *lo, *hi));
                m
            });
    let label = |id: &str| {
        nodes
            .get(id)
            .map(|n| n.label.clone())
            .unwrap_or_else(|| id.to_string())
    };
    fn walk<'a>(
        at: &'a String,
        since: i64,
        path: &mut Vec<&'a String>,
        adj: &BTreeMap<&'a String, Vec<(&'a String, i64, i64)>>,
        out: &mut Vec<Vec<String>>,
    ) {
        let mut extended = false;
        if let Some(next) = adj.get(at) {
            for (to, lo, hi) in next {
                if path.contains(to) || *hi < since {
                    continue;
                }
                extended = true;
                path.push(to);
                walk(to, *lo, path, adj, out);
                path.pop();
            }
        }
        if !extended && path.len() >= 3 {
            out.push(path.iter().map(|s| s.to_string()).collect());
        }
    }
    let targets: BTreeSet<&String> = times.keys().map(|(_, b)| b).collect();
    for start in adj.keys() {
        if targets.contains(start) {
            continue;
        }
        let mut path = vec![*start];
        walk(start, i64::MIN, &mut path, &adj, &mut chains);
    }
    let chains = chains
        .into_iter()
        .map(|c| c.iter().map(|id| label(id)).collect())
        .collect();
    Graph {
        nodes: nodes.into_values().collect(),
        edges: out,
        chains,
    }
}
