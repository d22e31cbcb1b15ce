//! Hunt packs: the hunt's content as data.
//!
//! A pack is YAML (see `packs/lateral-movement.yaml`, embedded in the binary): reference lists
//! and query entries, each with its ATT&CK techniques, severity, rationale, the data it needs
//! and the role its hits play in a movement. User packs are merged over the built-in one: an
//! entry with an existing id replaces it, a list with an existing name replaces it.
//!
//! This module parses and compiles packs; it does not run them.

use std::collections::BTreeMap;
use std::path::Path;

use datafusion::logical_expr::Expr;
use lateral_query::{Lists, Query};
use serde::{Deserialize, Serialize};

/// The built-in pack, embedded at build time.
pub const BUILTIN_PACK: &str = include_str!("../packs/lateral-movement.yaml");

/// Pack errors: where and what.
#[derive(Debug, thiserror::Error)]
pub enum PackError {
    #[error("{source_name}: {source}")]
    Yaml {
        source_name: String,
        #[source]
        source: serde_norway::Error,
    },
    #[error("{source_name}: cannot read: {source}")]
    Io {
        source_name: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{source_name}: entry `{id}`: {message}")]
    Entry {
        source_name: String,
        id: String,
        message: String,
    },
}

/// Severity of a query's hits or a finding, ordered from least to most severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

/// Where a query's hits are logged relative to a movement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// On the host moved to.
    Target,
    /// On the host moved from.
    Source,
    /// On one host only (local execution, privilege escalation, exposed secrets).
    Local,
    /// Correlation and enrichment input; not suspicious by itself.
    Context,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Target => "target",
            Role::Source => "source",
            Role::Local => "local",
            Role::Context => "context",
        }
    }
}

/// One hunt query.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub id: String,
    pub name: String,
    pub family: String,
    pub role: Role,
    #[serde(default)]
    pub techniques: Vec<String>,
    pub severity: Severity,
    /// Data sources as `Channel:EventID` or `network capture`; any one present makes the query
    /// evaluable.
    #[serde(default)]
    pub requires: Vec<String>,
    #[serde(default)]
    pub rationale: String,
    pub query: String,
}

/// A pack as written.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackFile {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub version: u32,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub lists: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub queries: Vec<Entry>,
}

/// A query ready to run.
#[derive(Debug, Clone)]
pub struct CompiledEntry {
    pub entry: Entry,
    /// Which pack it came from (`built-in` or the file name).
    pub origin: String,
    pub query: Query,
    /// The query as real UDM search text.
    pub udm: String,
    pub filter: Expr,
    /// `requires` parsed into (channel, event id).
    pub requires: Vec<(String, i64)>,
}

/// The merged, compiled pack.
#[derive(Debug, Clone)]
pub struct Pack {
    pub entries: Vec<CompiledEntry>,
    pub lists: Lists,
    /// Names of the packs merged, in order.
    pub sources: Vec<String>,
}

/// Parse pack text.
pub fn parse_pack(text: &str, source_name: &str) -> Result<PackFile, PackError> {
    serde_norway::from_str(text).map_err(|source| PackError::Yaml {
        source_name: source_name.to_string(),
        source,
    })
}

/// Read a pack file.
pub fn read_pack(path: &Path) -> Result<PackFile, PackError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| PackError::Io {
        source_name: name.clone(),
        source,
    })?;
    parse_pack(&text, &name)
}

/// How the scan counts packet captures (log type `PCAP`, no event id) in its coverage.
pub const CAPTURE_REQUIREMENT: (&str, i64) = ("PCAP", -1);

/// Parse `Channel:EventID`, or `network capture` (any packet capture).
fn parse_requirement(s: &str) -> Option<(String, i64)> {
    if s.trim().eq_ignore_ascii_case("network capture") {
        return Some((CAPTURE_REQUIREMENT.0.to_string(), CAPTURE_REQUIREMENT.1));
    }
    let (channel, id) = s.rsplit_once(':')?;
    let id: i64 = id.trim().parse().ok()?;
    let channel = channel.trim();
    if channel.is_empty() {
        return None;
    }
    Some((channel.to_string(), id))
}

impl Pack {
    /// Every entry as the knowledge base lists it under the techniques it covers.
    pub fn query_refs(&self) -> Vec<lateral_intel::HuntQueryRef> {
        self.entries
            .iter()
            .map(|e| lateral_intel::HuntQueryRef {
                id: e.entry.id.clone(),
                name: e.entry.name.clone(),
                techniques: e.entry.techniques.clone(),
            })
            .collect()
    }

    /// The built-in pack merged with `user` packs (in order), compiled.
    pub fn load(user: &[(String, PackFile)]) -> Result<Pack, PackError> {
        let builtin = parse_pack(BUILTIN_PACK, "built-in pack")?;
        let mut all = vec![("built-in".to_string(), builtin)];
        all.extend(user.iter().cloned());
        Self::merge(all)
    }

    /// Merge packs in order (later ids and list names win) and compile every query.
    pub fn merge(packs: Vec<(String, PackFile)>) -> Result<Pack, PackError> {
        let mut lists: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut entries: Vec<(String, Entry)> = Vec::new();
        let mut sources = Vec::new();
        for (origin, pack) in packs {
            sources.push(origin.clone());
            lists.extend(pack.lists);
            for e in pack.queries {
                if let Some(slot) = entries.iter_mut().find(|(_, x)| x.id == e.id) {
                    *slot = (origin.clone(), e);
                } else {
                    entries.push((origin.clone(), e));
                }
            }
        }
        let mut ql = Lists::new();
        for (name, values) in &lists {
            ql.insert(name, values.clone());
        }
        let mut compiled = Vec::with_capacity(entries.len());
        for (origin, entry) in entries {
            let err = |message: String| PackError::Entry {
                source_name: origin.clone(),
                id: entry.id.clone(),
                message,
            };
            if entry.id.trim().is_empty() {
                return Err(err("empty id".into()));
            }
            let query = lateral_query::parse(&entry.query)
                .map_err(|e| err(format!("query does not parse:\n{e}")))?;
            if query.fields().contains(&lateral_model::f::RAW) {
                return Err(err(
                    "the hunt does not keep the original record (lateral.raw); filter on the UDM fields or additional.fields instead".into(),
                ));
            }
            for l in query.list_names() {
                if ql.get(&l).is_none() {
                    return Err(err(format!("query uses list %{l}, which no pack defines")));
                }
            }
            let filter = lateral_query::compile(&query, &ql)
                .map_err(|e| err(format!("query does not compile: {e}")))?;
            let mut requires = Vec::new();
            for r in &entry.requires {
                requires.push(parse_requirement(r).ok_or_else(|| {
                    err(format!(
                        "requires `{r}` is neither `Channel:EventID` nor `network capture`"
                    ))
                })?);
            }
            compiled.push(CompiledEntry {
                udm: query.to_udm(),
                query,
                filter,
                requires,
                origin,
                entry,
            });
        }
        Ok(Pack {
            entries: compiled,
            lists: ql,
            sources,
        })
    }

    pub fn entry(&self, id: &str) -> Option<&CompiledEntry> {
        self.entries.iter().find(|e| e.entry.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_pack_compiles_and_has_the_runbook_queries() {
        let pack = Pack::load(&[]).expect("built-in pack");
        for id in [
            "psexec-service-install",
            "psexec-pipes",
            "services-unusual-children",
            "wmiprvse-shells",
            "wmic-remote-process-create",
            "powershell-wmi-cim",
            "wmi-event-subscription",
            "admin-share-executable",
            "svcctl-ipc-access",
            "atsvc-ipc-access",
            "system-writes-executable",
            "impacket-output-redirect",
            "dcom-embedding-children",
            "scheduled-task-created",
            "winrm-remote-shell",
            "explicit-credentials-remote",
            "pth-new-credentials-logon",
            "pth-ntlm-network-logon",
        ] {
            assert!(pack.entry(id).is_some(), "missing {id}");
        }
        let mut ids: Vec<_> = pack.entries.iter().map(|e| e.entry.id.as_str()).collect();
        ids.sort();
        let n = ids.len();
        ids.dedup();
        assert_eq!(n, ids.len(), "duplicate ids");
        for e in &pack.entries {
            assert!(
                !e.entry.techniques.is_empty(),
                "{} has no technique",
                e.entry.id
            );
            assert!(!e.requires.is_empty(), "{} has no data source", e.entry.id);
        }
        // Capture entries need a capture, which the scan counts as log type PCAP.
        let svc = pack
            .entry("capture-service-created")
            .expect("capture entry");
        assert_eq!(svc.requires, vec![("PCAP".to_string(), -1)]);
        assert_eq!(
            parse_requirement("Security:5145"),
            Some(("Security".into(), 5145))
        );
        assert_eq!(parse_requirement("network"), None);
    }

    #[test]
    fn user_pack_replaces_entries_and_lists_and_reports_bad_queries() {
        let user = parse_pack(
            "lists:\n  lolbins: [cmd.exe]\nqueries:\n  - id: wmiprvse-shells\n    name: x\n    family: wmi\n    role: target\n    techniques: [T1047]\n    severity: low\n    requires: ['Security:4688']\n    query: 'metadata.event_type = \"PROCESS_LAUNCH\"'\n",
            "mine.yaml",
        )
        .expect("parses");
        let pack = Pack::load(&[("mine.yaml".into(), user)]).expect("merges");
        let e = pack.entry("wmiprvse-shells").expect("kept");
        assert_eq!(e.entry.severity, Severity::Low);
        assert_eq!(e.origin, "mine.yaml");
        assert_eq!(pack.lists.get("lolbins").map(|l| l.len()), Some(1));

        let bad = parse_pack(
            "queries:\n  - id: broken\n    name: x\n    family: wmi\n    role: target\n    severity: low\n    query: 'target.hostname = '\n",
            "bad.yaml",
        )
        .expect("yaml is fine");
        let err = Pack::load(&[("bad.yaml".into(), bad)]).expect_err("query is not");
        let text = err.to_string();
        assert!(
            text.contains("bad.yaml") && text.contains("broken"),
            "{text}"
        );

        let unknown = parse_pack("queries:\n  - id: x\n    nme: y\n", "typo.yaml");
        assert!(unknown.is_err());
    }
}
