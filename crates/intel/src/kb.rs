//! Techniques and the built-in knowledge base (`kb/lateral-movement.yaml`, embedded).

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::error::IntelError;

const BUILTIN_YAML: &str = include_str!("../kb/lateral-movement.yaml");

/// Where a log shows a technique.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventHint {
    /// Log and event id (`Security 4624`, `Sysmon 1`, `System 7045`).
    pub source: String,
    /// What the event shows for this technique.
    pub what: String,
}

/// One ATT&CK technique as lateral knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Technique {
    /// `T1021.002`.
    pub id: String,
    /// Full name; a sub-technique's name starts with its parent's (`Remote Services: SMB/...`).
    pub name: String,
    #[serde(default)]
    pub tactics: Vec<String>,
    #[serde(default)]
    pub platforms: Vec<String>,
    /// What hunters type for it: tool names, protocols, abbreviations (lower case).
    #[serde(default)]
    pub keywords: Vec<String>,
    #[serde(default)]
    pub summary: String,
    /// How it is used to move between hosts (built-in entries only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lateral_movement: Option<String>,
    #[serde(default)]
    pub events: Vec<EventHint>,
    #[serde(default)]
    pub data_sources: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
    #[serde(default)]
    pub related: Vec<String>,
    #[serde(default)]
    pub url: String,
    /// `built-in`, or the file the entry was imported from.
    #[serde(default)]
    pub origin: String,
}

impl Technique {
    /// The parent id of a sub-technique (`T1021` for `T1021.002`).
    pub fn parent_id(&self) -> Option<&str> {
        self.id.split_once('.').map(|(p, _)| p)
    }

    /// The sub-technique's own name (after the parent's), or the whole name.
    pub fn short_name(&self) -> &str {
        match self.name.split_once(": ") {
            Some((_, s)) if self.id.contains('.') => s,
            _ => &self.name,
        }
    }

    pub fn is_builtin(&self) -> bool {
        self.origin == BUILTIN
    }
}

/// The origin of built-in entries.
pub const BUILTIN: &str = "built-in";

/// The ATT&CK page of a technique id.
pub fn attack_url(id: &str) -> String {
    format!(
        "https://attack.mitre.org/techniques/{}/",
        id.replace('.', "/")
    )
}

/// Normalise a technique id (`t1021.002` → `T1021.002`); `None` when it is not one.
pub fn normalise_id(text: &str) -> Option<String> {
    let t = text.trim().to_ascii_uppercase();
    let rest = t.strip_prefix('T')?;
    let (main, sub) = match rest.split_once('.') {
        Some((m, s)) => (m, Some(s)),
        None => (rest, None),
    };
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(main, 4) || sub.is_some_and(|s| !digits(s, 3)) {
        return None;
    }
    Some(t)
}

fn parse_builtin() -> Result<Vec<Technique>, IntelError> {
    let mut list: Vec<Technique> =
        serde_norway::from_str(BUILTIN_YAML).map_err(|e| IntelError::Builtin(e.to_string()))?;
    for t in &mut list {
        t.id = normalise_id(&t.id)
            .ok_or_else(|| IntelError::Builtin(format!("bad technique id {:?}", t.id)))?;
        t.origin = BUILTIN.to_string();
        if t.url.is_empty() {
            t.url = attack_url(&t.id);
        }
        for k in &mut t.keywords {
            *k = k.to_lowercase();
        }
        t.network = t.network.take().filter(|n| !n.trim().is_empty());
    }
    list.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(list)
}

/// The built-in knowledge base, sorted by id. The YAML is part of the binary and checked by
/// the tests, so a parse failure here is a build defect; it is still returned, not panicked.
pub fn builtin() -> Result<&'static [Technique], IntelError> {
    static KB: OnceLock<Result<Vec<Technique>, String>> = OnceLock::new();
    match KB.get_or_init(|| parse_builtin().map_err(|e| e.to_string())) {
        Ok(v) => Ok(v),
        Err(e) => Err(IntelError::Builtin(e.clone())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REQUIRED: &[&str] = &[
        "T1021",
        "T1021.002",
        "T1021.003",
        "T1021.006",
        "T1047",
        "T1053.005",
        "T1569.002",
        "T1570",
        "T1543.003",
        "T1550.002",
        "T1036",
        "T1546.003",
        "T1059.001",
        "T1132",
    ];

    #[test]
    fn builtin_covers_the_required_techniques_fully() {
        let kb = builtin().expect("kb parses");
        for id in REQUIRED {
            let t = kb
                .iter()
                .find(|t| t.id == *id)
                .unwrap_or_else(|| panic!("{id} missing"));
            assert!(!t.name.is_empty() && !t.tactics.is_empty(), "{id}");
            assert!(t.summary.len() > 40, "{id} summary");
            assert!(
                t.lateral_movement.as_deref().is_some_and(|l| l.len() > 80),
                "{id} lateral-movement text"
            );
            assert!(t.events.len() >= 2, "{id} events");
            assert!(!t.related.is_empty(), "{id} related");
            assert!(t.url.starts_with("https://attack.mitre.org/techniques/T"));
            if let Some(p) = t.parent_id() {
                let parent = kb.iter().find(|x| x.id == p);
                if let Some(parent) = parent {
                    assert!(t.name.starts_with(&format!("{}: ", parent.name)), "{id}");
                }
            }
        }
        // Unique, sorted ids; related ids well formed.
        let ids: Vec<_> = kb.iter().map(|t| t.id.as_str()).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(ids, sorted);
        for t in kb {
            for r in &t.related {
                assert_eq!(normalise_id(r).as_deref(), Some(r.as_str()), "{}", t.id);
            }
        }
    }

    #[test]
    fn ids_normalise() {
        assert_eq!(normalise_id("t1021.002").as_deref(), Some("T1021.002"));
        assert_eq!(normalise_id(" T1047 ").as_deref(), Some("T1047"));
        assert_eq!(normalise_id("T104"), None);
        assert_eq!(normalise_id("T1021.2"), None);
        assert_eq!(normalise_id("X1021"), None);
        assert_eq!(
            attack_url("T1021.002"),
            "https://attack.mitre.org/techniques/T1021/002/"
        );
    }
}
