//! Importing ATT&CK: MITRE's STIX 2.1 bundle (`enterprise-attack.json`) or the compact
//! attack-pattern lookup (`attack-patterns-lookup-v*.json`), into an [`ImportedSet`] that is
//! saved as one JSON file and loaded by later lookups.
//!
//! From a STIX bundle only `attack-pattern` objects are read: the id is the `external_id` of
//! the `mitre-attack` external reference, tactics are the `mitre-attack` kill-chain phases,
//! platforms `x_mitre_platforms`; revoked and deprecated (`x_mitre_deprecated`) objects are
//! skipped. Sub-technique names get their parent's name in front, as ATT&CK displays them.
//! Descriptions are cut to their first paragraph with citations and link targets removed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::IntelError;
use crate::kb::{attack_url, normalise_id, Technique};

/// Imported techniques and where they came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportedSet {
    /// File name imported.
    pub source: String,
    /// `stix-2.1-bundle` or `compact-lookup`.
    pub format: String,
    pub imported_at: String,
    /// Objects skipped: revoked, deprecated, or without an ATT&CK id.
    pub skipped_revoked: usize,
    pub skipped_deprecated: usize,
    pub skipped_no_id: usize,
    /// Sorted by id.
    pub techniques: Vec<Technique>,
}

impl ImportedSet {
    /// Where an imported set is kept: `attack-techniques.json` beside the case database.
    pub fn beside(db: &Path) -> std::path::PathBuf {
        db.with_file_name("attack-techniques.json")
    }

    /// Load a saved set; `Ok(None)` when the file does not exist.
    pub fn load(path: &Path) -> Result<Option<ImportedSet>, IntelError> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(IntelError::Io {
                    path: path.to_path_buf(),
                    source,
                })
            }
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|source| IntelError::Json {
                path: path.to_path_buf(),
                source,
            })
    }

    /// Save atomically (write a temporary file beside it, then rename).
    pub fn save(&self, path: &Path) -> Result<(), IntelError> {
        let io = |source| IntelError::Io {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let text = serde_json::to_vec(self).map_err(|source| IntelError::Json {
            path: path.to_path_buf(),
            source,
        })?;
        let mut tmp = PathBuf::from(path);
        tmp.set_extension(format!("tmp-{}", std::process::id()));
        std::fs::write(&tmp, text).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }
}

/// Read and import a file (format detected by content).
pub fn import_file(path: &Path, imported_at: &str) -> Result<ImportedSet, IntelError> {
    let bytes = std::fs::read(path).map_err(|source| IntelError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let value: Value = serde_json::from_slice(&bytes).map_err(|source| IntelError::Json {
        path: path.to_path_buf(),
        source,
    })?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    import_value(&value, &name, imported_at).map_err(|message| IntelError::Format {
        path: path.to_path_buf(),
        message,
    })
}

fn s<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn strs(v: &Value, key: &str) -> Vec<String> {
    v.get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

fn flag(v: &Value, key: &str) -> bool {
    v.get(key).and_then(Value::as_bool).unwrap_or(false)
}

/// `lateral-movement` → `Lateral Movement`, `command-and-control` → `Command and Control`.
pub fn tactic_name(phase: &str) -> String {
    phase
        .split(['-', '_', ' '])
        .filter(|w| !w.is_empty())
        .enumerate()
        .map(|(i, w)| {
            if i > 0 && matches!(w, "and" | "or" | "of") {
                w.to_string()
            } else {
                let mut c = w.chars();
                match c.next() {
                    Some(f) => f.to_uppercase().chain(c).collect(),
                    None => String::new(),
                }
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The first paragraph of an ATT&CK description, without `(Citation: ...)` markers and with
/// Markdown links reduced to their text.
pub fn clean_description(text: &str) -> String {
    let first = text.split("\n\n").next().unwrap_or("").trim();
    let mut out = String::with_capacity(first.len());
    let mut rest = first;
    while let Some(i) = rest.find("(Citation:") {
        out.push_str(&rest[..i]);
        match rest[i..].find(')') {
            Some(j) => rest = &rest[i + j + 1..],
            None => {
                rest = "";
            }
        }
    }
    out.push_str(rest);
    // [text](url) → text
    let mut res = String::with_capacity(out.len());
    let mut r = out.as_str();
    while let Some(open) = r.find('[') {
        let Some(close_rel) = r[open..].find("](") else {
            break;
        };
        let close = open + close_rel;
        let Some(end_rel) = r[close..].find(')') else {
            break;
        };
        res.push_str(&r[..open]);
        res.push_str(&r[open + 1..close]);
        r = &r[close + end_rel + 1..];
    }
    res.push_str(r);
    res.split_whitespace().collect::<Vec<_>>().join(" ")
}

struct Counts {
    revoked: usize,
    deprecated: usize,
    no_id: usize,
}

/// Import an already-parsed document. `Err` is a message about the document's shape.
pub fn import_value(doc: &Value, source: &str, imported_at: &str) -> Result<ImportedSet, String> {
    let mut counts = Counts {
        revoked: 0,
        deprecated: 0,
        no_id: 0,
    };
    let (format, mut techniques) = if s(doc, "type") == Some("bundle") {
        let objects = doc
            .get("objects")
            .and_then(Value::as_array)
            .ok_or("a STIX bundle without an `objects` list")?;
        ("stix-2.1-bundle", from_stix(objects, &mut counts))
    } else if let Some(list) = doc.get("attack_patterns").and_then(Value::as_array) {
        ("compact-lookup", from_compact(list, &mut counts))
    } else {
        return Err(
            "neither a STIX 2.1 bundle (type \"bundle\" with objects) nor a compact ATT&CK lookup (attack_patterns)"
                .into(),
        );
    };
    if techniques.is_empty() {
        return Err("no ATT&CK technique (attack-pattern with a mitre-attack id) found".into());
    }
    // One entry per id (a later duplicate replaces an earlier one), parent names in front.
    let mut by_id: BTreeMap<String, Technique> = BTreeMap::new();
    for t in techniques.drain(..) {
        by_id.insert(t.id.clone(), t);
    }
    let parents: BTreeMap<String, String> = by_id
        .values()
        .filter(|t| !t.id.contains('.'))
        .map(|t| (t.id.clone(), t.name.clone()))
        .collect();
    for t in by_id.values_mut() {
        if let Some(pname) = t.parent_id().and_then(|p| parents.get(p)) {
            if !t.name.starts_with(&format!("{pname}: ")) {
                t.name = format!("{pname}: {}", t.name);
            }
        }
    }
    Ok(ImportedSet {
        source: source.to_string(),
        format: format.to_string(),
        imported_at: imported_at.to_string(),
        skipped_revoked: counts.revoked,
        skipped_deprecated: counts.deprecated,
        skipped_no_id: counts.no_id,
        techniques: by_id.into_values().collect(),
    })
}

/// Fields read from one imported object.
struct Fields<'a> {
    name: &'a str,
    tactics: Vec<String>,
    platforms: Vec<String>,
    description: &'a str,
    data_sources: Vec<String>,
    url: Option<&'a str>,
}

fn technique(id: String, f: Fields) -> Technique {
    let Fields {
        name,
        tactics,
        platforms,
        description,
        data_sources,
        url,
    } = f;
    Technique {
        url: url.map(String::from).unwrap_or_else(|| attack_url(&id)),
        id,
        name: name.trim().to_string(),
        tactics,
        platforms,
        keywords: Vec::new(),
        summary: clean_description(description),
        lateral_movement: None,
        events: Vec::new(),
        data_sources,
        network: None,
        related: Vec::new(),
        origin: String::new(),
    }
}

fn from_stix(objects: &[Value], counts: &mut Counts) -> Vec<Technique> {
    let mut out = Vec::new();
    for o in objects
        .iter()
        .filter(|o| s(o, "type") == Some("attack-pattern"))
    {
        if flag(o, "revoked") {
            counts.revoked += 1;
            continue;
        }
        if flag(o, "x_mitre_deprecated") {
            counts.deprecated += 1;
            continue;
        }
        let refs = o
            .get("external_references")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let mitre = refs
            .iter()
            .find(|r| s(r, "source_name") == Some("mitre-attack"));
        let Some(id) = mitre
            .and_then(|r| s(r, "external_id"))
            .and_then(normalise_id)
        else {
            counts.no_id += 1;
            continue;
        };
        let tactics = o
            .get("kill_chain_phases")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter(|p| s(p, "kill_chain_name") == Some("mitre-attack"))
                    .filter_map(|p| s(p, "phase_name"))
                    .map(tactic_name)
                    .collect()
            })
            .unwrap_or_default();
        out.push(technique(
            id,
            Fields {
                name: s(o, "name").unwrap_or(""),
                tactics,
                platforms: strs(o, "x_mitre_platforms"),
                description: s(o, "description").unwrap_or(""),
                data_sources: strs(o, "x_mitre_data_sources"),
                url: mitre.and_then(|r| s(r, "url")),
            },
        ));
    }
    out
}

fn from_compact(list: &[Value], counts: &mut Counts) -> Vec<Technique> {
    let mut out = Vec::new();
    for o in list {
        if flag(o, "revoked") {
            counts.revoked += 1;
            continue;
        }
        if flag(o, "deprecated") {
            counts.deprecated += 1;
            continue;
        }
        let Some(id) = s(o, "external_id").and_then(normalise_id) else {
            counts.no_id += 1;
            continue;
        };
        let tactics = strs(o, "tactics").iter().map(|t| tactic_name(t)).collect();
        out.push(technique(
            id,
            Fields {
                name: s(o, "name").unwrap_or(""),
                tactics,
                platforms: strs(o, "platforms"),
                description: s(o, "description").unwrap_or(""),
                data_sources: Vec::new(),
                url: s(o, "url"),
            },
        ));
    }
    out
}

/// Set the origin of every technique of a set (the file it came from).
pub(crate) fn with_origin(set: &ImportedSet) -> Vec<Technique> {
    set.techniques
        .iter()
        .cloned()
        .map(|mut t| {
            t.origin = set.source.clone();
            t
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tactic_names_and_descriptions() {
        assert_eq!(tactic_name("lateral-movement"), "Lateral Movement");
        assert_eq!(tactic_name("command-and-control"), "Command and Control");
        assert_eq!(
            clean_description(
                "Uses [Valid Accounts](https://attack.mitre.org/techniques/T1078) to log on.(Citation: X Y)\n\nSecond."
            ),
            "Uses Valid Accounts to log on."
        );
    }

    #[test]
    fn stix_bundle_keeps_live_attack_patterns_only() {
        let bundle = json!({
            "type": "bundle", "id": "bundle--1", "objects": [
                {"type": "x-mitre-tactic", "name": "Lateral Movement"},
                {"type": "attack-pattern", "name": "Remote Services",
                 "external_references": [{"source_name": "mitre-attack", "external_id": "T1021", "url": "https://attack.mitre.org/techniques/T1021"}],
                 "kill_chain_phases": [{"kill_chain_name": "mitre-attack", "phase_name": "lateral-movement"}],
                 "x_mitre_platforms": ["Windows", "Linux"], "description": "Remote logons."},
                {"type": "attack-pattern", "name": "SMB/Windows Admin Shares",
                 "external_references": [{"source_name": "capec", "external_id": "CAPEC-561"},
                                         {"source_name": "mitre-attack", "external_id": "T1021.002"}],
                 "kill_chain_phases": [{"kill_chain_name": "mitre-attack", "phase_name": "lateral-movement"},
                                       {"kill_chain_name": "other", "phase_name": "x"}],
                 "x_mitre_is_subtechnique": true},
                {"type": "attack-pattern", "name": "Old", "revoked": true,
                 "external_references": [{"source_name": "mitre-attack", "external_id": "T1999"}]},
                {"type": "attack-pattern", "name": "Gone", "x_mitre_deprecated": true,
                 "external_references": [{"source_name": "mitre-attack", "external_id": "T1998"}]},
                {"type": "attack-pattern", "name": "No id", "external_references": []},
                {"type": "relationship", "relationship_type": "uses"}
            ]
        });
        let set = import_value(&bundle, "enterprise-attack.json", "now").expect("import");
        assert_eq!(set.format, "stix-2.1-bundle");
        let ids: Vec<_> = set.techniques.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(ids, ["T1021", "T1021.002"]);
        assert_eq!(
            (
                set.skipped_revoked,
                set.skipped_deprecated,
                set.skipped_no_id
            ),
            (1, 1, 1)
        );
        let smb = &set.techniques[1];
        assert_eq!(smb.name, "Remote Services: SMB/Windows Admin Shares");
        assert_eq!(smb.tactics, ["Lateral Movement"]);
        assert_eq!(smb.url, "https://attack.mitre.org/techniques/T1021/002/");
        assert_eq!(set.techniques[0].platforms, ["Windows", "Linux"]);
    }

    #[test]
    fn other_documents_are_refused() {
        assert!(import_value(&json!({"type": "bundle"}), "x", "now").is_err());
        assert!(import_value(&json!({"foo": 1}), "x", "now").is_err());
        assert!(import_value(&json!({"attack_patterns": []}), "x", "now").is_err());
    }

    #[test]
    fn save_and_load_round_trip() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("a/attack.json");
        assert_eq!(ImportedSet::load(&path).expect("missing is fine"), None);
        let doc = json!({"attack_patterns": [
            {"external_id": "T1001", "name": "Data Obfuscation", "tactics": ["command-and-control"], "revoked": false, "deprecated": false},
            {"external_id": "T1001.001", "name": "Junk Data", "tactics": ["command-and-control"]},
            {"external_id": "T1002", "name": "Old", "revoked": true}
        ]});
        let set = import_value(&doc, "lookup.json", "t").expect("import");
        assert_eq!(set.techniques[1].name, "Data Obfuscation: Junk Data");
        set.save(&path).expect("save");
        assert_eq!(ImportedSet::load(&path).expect("load"), Some(set));
        std::fs::write(&path, "{").expect("corrupt");
        assert!(ImportedSet::load(&path).is_err());
    }
}
