//! Answering technique questions: by id (`T1021.002`, any case), by name (`Pass the Hash`),
//! or free text (`MITRE T1047 WMI`, `psexec service`).
//!
//! Ranking is deterministic. Each technique gets a score: an id named in the question ranks
//! first (in the order named); then a question equal to a technique's name or short name, then
//! one equal to a keyword; then word matches, weighted name (10) > keyword (8) > tactic (3) > text (1).
//! Ties go to built-in entries, then to the lower id.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde::Serialize;

use crate::import::{with_origin, ImportedSet};
use crate::kb::{normalise_id, Technique};

/// A hunt query as the pack defines it: its id, name and technique list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HuntQueryRef {
    pub id: String,
    pub name: String,
    pub techniques: Vec<String>,
}

/// A hunt query that covers a technique.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueryCoverage {
    pub id: String,
    pub name: String,
    /// `None` when the query names the technique itself; the sub-technique it names otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
}

/// One technique in an answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TechniqueAnswer {
    #[serde(flatten)]
    pub technique: Technique,
    pub score: u32,
    /// Why it matched: `id`, `name`, `keyword`, `text`, `parent of T….…`.
    pub matched: String,
    pub hunt_queries: Vec<QueryCoverage>,
    /// Names of the related techniques, where known.
    pub related_names: BTreeMap<String, String>,
}

/// The answer to a question.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Answer {
    pub query: String,
    pub results: Vec<TechniqueAnswer>,
    /// Ids named in the question that neither the built-in nor the imported data know.
    pub unknown_ids: Vec<String>,
    /// How many techniques the lookup searched, and how many of them were imported.
    pub known_techniques: usize,
    pub imported_techniques: usize,
}

/// Built-in knowledge, imported ATT&CK and hunt-pack coverage, merged.
#[derive(Debug, Clone, Default)]
pub struct KnowledgeBase {
    /// By id; built-in entries win over imported ones.
    techniques: BTreeMap<String, Technique>,
    imported: usize,
    queries: Vec<HuntQueryRef>,
}

const STOP: &[&str] = &[
    "mitre",
    "att",
    "ck",
    "attack",
    "technique",
    "techniques",
    "the",
    "a",
    "an",
    "of",
    "for",
    "and",
    "or",
    "to",
    "in",
    "on",
    "how",
    "what",
    "is",
    "are",
    "via",
    "using",
    "with",
    "by",
    "about",
    "tell",
    "me",
    "show",
    "explain",
    "does",
    "do",
    "id",
];

/// Lower-case words; dots inside a word are kept (`t1021.002`, `mmc20.application`).
fn tokens(text: &str) -> Vec<String> {
    text.to_lowercase()
        .split(|c: char| !(c.is_alphanumeric() || matches!(c, '$' | '_' | ':' | '.')))
        .map(|w| w.trim_matches([':', '.']))
        .filter(|w| !w.is_empty())
        .map(String::from)
        .collect()
}

/// A word and, for a dotted word, its parts (`psexesvc.exe` → also `psexesvc`, `exe`).
fn expand(word: &str) -> Vec<String> {
    let mut out = vec![word.to_string()];
    if word.contains(['.', ':']) {
        out.extend(
            word.split(['.', ':'])
                .filter(|p| !p.is_empty())
                .map(String::from),
        );
    }
    out
}

fn word_set(text: &str) -> BTreeSet<String> {
    tokens(text).iter().flat_map(|w| expand(w)).collect()
}

impl KnowledgeBase {
    /// Built-in entries plus an imported set (if any): built-in text wins for the ids it has;
    /// the imported data fills every other id, and the platforms of built-in entries it
    /// lacks.
    pub fn new(builtin: &[Technique], imported: Option<&ImportedSet>) -> KnowledgeBase {
        let mut techniques: BTreeMap<String, Technique> = BTreeMap::new();
        let mut imported_count = 0;
        if let Some(set) = imported {
            for t in with_origin(set) {
                techniques.insert(t.id.clone(), t);
                imported_count += 1;
            }
        }
        for b in builtin {
            let mut t = b.clone();
            if let Some(i) = techniques.get(&t.id) {
                imported_count -= 1;
                if t.platforms.is_empty() {
                    t.platforms = i.platforms.clone();
                }
            }
            techniques.insert(t.id.clone(), t);
        }
        KnowledgeBase {
            techniques,
            imported: imported_count,
            queries: Vec::new(),
        }
    }

    /// Attach the hunt pack's queries, from which coverage is computed.
    pub fn with_queries(mut self, queries: Vec<HuntQueryRef>) -> KnowledgeBase {
        self.queries = queries;
        self
    }

    pub fn len(&self) -> usize {
        self.techniques.len()
    }

    pub fn is_empty(&self) -> bool {
        self.techniques.is_empty()
    }

    /// How many techniques come from imported data only.
    pub fn imported_len(&self) -> usize {
        self.imported
    }

    /// A technique by id (any case).
    pub fn get(&self, id: &str) -> Option<&Technique> {
        normalise_id(id).and_then(|id| self.techniques.get(&id))
    }

    /// The hunt queries that cover a technique: those naming it, then (for a technique with
    /// sub-techniques) those naming one of its sub-techniques. Pack order within each group.
    pub fn coverage(&self, id: &str) -> Vec<QueryCoverage> {
        let Some(id) = normalise_id(id) else {
            return Vec::new();
        };
        let prefix = format!("{id}.");
        let mut direct = Vec::new();
        let mut via = Vec::new();
        for q in &self.queries {
            let ids: Vec<String> = q
                .techniques
                .iter()
                .filter_map(|t| normalise_id(t))
                .collect();
            if ids.contains(&id) {
                direct.push(QueryCoverage {
                    id: q.id.clone(),
                    name: q.name.clone(),
                    via: None,
                });
            } else if let Some(sub) = ids.iter().find(|t| t.starts_with(&prefix)) {
                via.push(QueryCoverage {
                    id: q.id.clone(),
                    name: q.name.clone(),
                    via: Some(sub.clone()),
                });
            }
        }
        direct.extend(via);
        direct
    }

    fn score_text(&self, t: &Technique, words: &[String]) -> u32 {
        if words.is_empty() {
            return 0;
        }
        let name = word_set(&t.name);
        let keywords: BTreeSet<String> = t.keywords.iter().flat_map(|k| word_set(k)).collect();
        let tactics = word_set(&t.tactics.join(" "));
        let body = word_set(&format!(
            "{} {}",
            t.summary,
            t.lateral_movement.as_deref().unwrap_or("")
        ));
        words
            .iter()
            .map(|w| {
                if name.contains(w) {
                    10
                } else if keywords.contains(w) {
                    8
                } else if tactics.contains(w) {
                    3
                } else if body.contains(w) {
                    1
                } else {
                    0
                }
            })
            .sum()
    }

    fn answer_for(&self, t: &Technique, score: u32, matched: String) -> TechniqueAnswer {
        let related_names = t
            .related
            .iter()
            .filter_map(|r| self.techniques.get(r).map(|x| (r.clone(), x.name.clone())))
            .collect();
        TechniqueAnswer {
            technique: t.clone(),
            score,
            matched,
            hunt_queries: self.coverage(&t.id),
            related_names,
        }
    }

    /// Answer a question; at most `limit` techniques (the ids named always included).
    pub fn lookup(&self, query: &str, limit: usize) -> Answer {
        let mut scored: BTreeMap<String, (u32, String)> = BTreeMap::new();
        let mut unknown_ids = Vec::new();
        let mut rest_words = Vec::new();
        let mut named = 0u32;
        for raw in tokens(query) {
            if let Some(id) = normalise_id(&raw) {
                if self.techniques.contains_key(&id) {
                    scored
                        .entry(id)
                        .or_insert((10_000 - named.min(999), "id".into()));
                    named += 1;
                } else {
                    // An unknown sub-technique: its parent, if known.
                    if let Some((parent, _)) = id.split_once('.') {
                        if self.techniques.contains_key(parent) {
                            scored
                                .entry(parent.to_string())
                                .or_insert((5_000, format!("parent of {id}")));
                        }
                    }
                    unknown_ids.push(id);
                }
            } else if !STOP.contains(&raw.as_str()) {
                for w in expand(&raw) {
                    if !STOP.contains(&w.as_str()) && !rest_words.contains(&w) {
                        rest_words.push(w);
                    }
                }
            }
        }
        let phrase = rest_words.join(" ");
        for t in self.techniques.values() {
            let exact = !phrase.is_empty()
                && (tokens(&t.name).join(" ") == phrase
                    || tokens(t.short_name()).join(" ") == phrase
                    || t.keywords.iter().any(|k| tokens(k).join(" ") == phrase));
            let text_score = self.score_text(t, &rest_words);
            let entry = scored.entry(t.id.clone()).or_insert((0, String::new()));
            if exact && entry.0 < 8_000 {
                // A name outranks a keyword: several techniques may share a keyword.
                let (base, how) = if t.keywords.iter().any(|k| tokens(k).join(" ") == phrase) {
                    (8_000, "keyword")
                } else {
                    (9_000, "name")
                };
                *entry = (base + text_score, how.into());
            } else if entry.0 == 0 && text_score >= 2 {
                *entry = (text_score, "text".into());
            } else if entry.0 > 0 {
                entry.0 += text_score;
            }
        }
        let mut ranked: Vec<(&Technique, u32, String)> = scored
            .into_iter()
            .filter(|(_, (s, _))| *s > 0)
            .filter_map(|(id, (s, why))| self.techniques.get(&id).map(|t| (t, s, why)))
            .collect();
        ranked.sort_by(|a, b| {
            b.1.cmp(&a.1)
                .then(b.0.is_builtin().cmp(&a.0.is_builtin()))
                .then(a.0.id.cmp(&b.0.id))
        });
        let keep = limit.max(named as usize);
        let results = ranked
            .into_iter()
            .take(keep)
            .map(|(t, s, why)| self.answer_for(t, s, why))
            .collect();
        unknown_ids.sort();
        unknown_ids.dedup();
        Answer {
            query: query.to_string(),
            results,
            unknown_ids,
            known_techniques: self.techniques.len(),
            imported_techniques: self.imported,
        }
    }
}

/// The answer as text: the first technique in full, the others as "see also" lines.
pub fn render_text(answer: &Answer) -> String {
    let mut s = String::new();
    for id in &answer.unknown_ids {
        let _ = writeln!(
            s,
            "{id}: not in the built-in knowledge base nor in imported ATT&CK data (load it with `lateral intel import enterprise-attack.json`)."
        );
    }
    let Some((first, others)) = answer.results.split_first() else {
        if answer.unknown_ids.is_empty() {
            let _ = writeln!(
                s,
                "No technique matches {:?} ({} known; import the full ATT&CK with `lateral intel import FILE` to widen the search).",
                answer.query, answer.known_techniques
            );
        }
        return s.trim_end().to_string();
    };
    let t = &first.technique;
    let _ = writeln!(s, "{} {}", t.id, t.name);
    if !t.tactics.is_empty() {
        let _ = writeln!(s, "Tactics: {}", t.tactics.join(", "));
    }
    if !t.platforms.is_empty() {
        let _ = writeln!(s, "Platforms: {}", t.platforms.join(", "));
    }
    let _ = writeln!(
        s,
        "Source: {}{}",
        if t.is_builtin() {
            "lateral built-in knowledge base"
        } else {
            "imported ATT&CK data"
        },
        if t.is_builtin() {
            String::new()
        } else {
            format!(" ({})", t.origin)
        }
    );
    let _ = writeln!(s, "ATT&CK: {}", t.url);
    if !t.summary.is_empty() {
        let _ = writeln!(s, "\n{}", t.summary);
    }
    if let Some(l) = &t.lateral_movement {
        let _ = writeln!(s, "\nLateral movement:\n{l}");
    }
    if !t.events.is_empty() {
        let _ = writeln!(s, "\nWhere it shows:");
        for e in &t.events {
            let _ = writeln!(s, "- {}: {}", e.source, e.what);
        }
    }
    if !t.data_sources.is_empty() {
        let _ = writeln!(s, "Data sources: {}", t.data_sources.join(", "));
    }
    if let Some(n) = &t.network {
        let _ = writeln!(s, "Network: {n}");
    }
    let _ = writeln!(
        s,
        "\nHunt queries covering it ({}):",
        first.hunt_queries.len()
    );
    if first.hunt_queries.is_empty() {
        let _ = writeln!(s, "- none in the hunt pack");
    }
    for q in &first.hunt_queries {
        match &q.via {
            Some(v) => {
                let _ = writeln!(s, "- {} ({}, via {v})", q.id, q.name);
            }
            None => {
                let _ = writeln!(s, "- {} ({})", q.id, q.name);
            }
        }
    }
    if !t.related.is_empty() {
        let _ = writeln!(s, "\nRelated:");
        for r in &t.related {
            match first.related_names.get(r) {
                Some(n) => {
                    let _ = writeln!(s, "- {r} {n}");
                }
                None => {
                    let _ = writeln!(s, "- {r}");
                }
            }
        }
    }
    if !others.is_empty() {
        let _ = writeln!(s, "\nSee also:");
        for o in others {
            let _ = writeln!(
                s,
                "- {} {} ({} hunt quer{})",
                o.technique.id,
                o.technique.name,
                o.hunt_queries.len(),
                if o.hunt_queries.len() == 1 {
                    "y"
                } else {
                    "ies"
                }
            );
        }
    }
    s.trim_end().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kb::builtin;

    fn kb() -> KnowledgeBase {
        KnowledgeBase::new(builtin().expect("kb"), None).with_queries(vec![
            HuntQueryRef {
                id: "psexec-service".into(),
                name: "PsExec service".into(),
                techniques: vec!["T1569.002".into(), "t1021.002".into()],
            },
            HuntQueryRef {
                id: "wmi-child".into(),
                name: "WmiPrvSE child".into(),
                techniques: vec!["T1047".into()],
            },
        ])
    }

    fn ids(a: &Answer) -> Vec<&str> {
        a.results.iter().map(|r| r.technique.id.as_str()).collect()
    }

    #[test]
    fn by_id_any_case() {
        let kb = kb();
        for q in ["T1021.002", "t1021.002", "MITRE T1021.002"] {
            let a = kb.lookup(q, 5);
            assert_eq!(ids(&a).first(), Some(&"T1021.002"), "{q}");
            assert_eq!(a.results[0].matched, "id");
        }
        let a = kb.lookup("T1021.002", 1);
        assert_eq!(a.results.len(), 1);
        let cov: Vec<_> = a.results[0]
            .hunt_queries
            .iter()
            .map(|q| q.id.as_str())
            .collect();
        assert_eq!(cov, ["psexec-service"]);
    }

    #[test]
    fn parent_coverage_goes_through_sub_techniques() {
        let kb = kb();
        let cov = kb.coverage("T1021");
        assert_eq!(cov.len(), 1);
        assert_eq!(cov[0].via.as_deref(), Some("T1021.002"));
        assert!(kb.coverage("T1132").is_empty());
    }

    #[test]
    fn free_text_puts_named_id_first_then_related_by_words() {
        let kb = kb();
        let a = kb.lookup("MITRE T1047 WMI", 5);
        assert_eq!(ids(&a)[0], "T1047");
        // WMI subscriptions mention WMI as a keyword.
        assert!(ids(&a).contains(&"T1546.003"), "{:?}", ids(&a));
        // Same question, same answer.
        assert_eq!(kb.lookup("MITRE T1047 WMI", 5), a);
    }

    #[test]
    fn by_name_and_keyword() {
        let kb = kb();
        assert_eq!(ids(&kb.lookup("Pass the Hash", 3))[0], "T1550.002");
        assert_eq!(
            ids(&kb.lookup("windows management instrumentation", 3))[0],
            "T1047"
        );
        assert_eq!(ids(&kb.lookup("winrm", 3))[0], "T1021.006");
        assert_eq!(ids(&kb.lookup("dcom", 3))[0], "T1021.003");
        let psexec = kb.lookup("psexec", 10);
        assert!(psexec.results.len() >= 3);
        assert!(ids(&psexec).contains(&"T1569.002") && ids(&psexec).contains(&"T1021.002"));
    }

    #[test]
    fn unknown_ids_are_reported_and_parents_offered() {
        let kb = kb();
        let a = kb.lookup("T1021.099", 5);
        assert_eq!(a.unknown_ids, ["T1021.099"]);
        assert_eq!(ids(&a)[0], "T1021");
        assert!(a.results[0].matched.contains("parent"));
        let none = kb.lookup("T9999", 5);
        assert!(none.results.is_empty());
        assert!(render_text(&none).contains("T9999: not in the built-in"));
        assert!(kb.lookup("zzzz qqqq", 5).results.is_empty());
    }

    #[test]
    fn imported_fills_gaps_and_builtin_wins() {
        let set = ImportedSet {
            source: "lookup.json".into(),
            format: "compact-lookup".into(),
            imported_at: "t".into(),
            skipped_revoked: 0,
            skipped_deprecated: 0,
            skipped_no_id: 0,
            techniques: vec![
                Technique {
                    id: "T1003.001".into(),
                    name: "OS Credential Dumping: LSASS Memory".into(),
                    tactics: vec!["Credential Access".into()],
                    platforms: vec!["Windows".into()],
                    keywords: vec![],
                    summary: "Dumping lsass.".into(),
                    lateral_movement: None,
                    events: vec![],
                    data_sources: vec![],
                    network: None,
                    related: vec![],
                    url: "u".into(),
                    origin: String::new(),
                },
                Technique {
                    id: "T1047".into(),
                    name: "Imported WMI name".into(),
                    tactics: vec![],
                    platforms: vec!["Windows".into()],
                    keywords: vec![],
                    summary: "imported text".into(),
                    lateral_movement: None,
                    events: vec![],
                    data_sources: vec![],
                    network: None,
                    related: vec![],
                    url: "u".into(),
                    origin: String::new(),
                },
            ],
        };
        let kb = KnowledgeBase::new(builtin().expect("kb"), Some(&set));
        assert_eq!(kb.imported_len(), 1);
        assert_eq!(
            kb.get("t1003.001").map(|t| t.origin.as_str()),
            Some("lookup.json")
        );
        let wmi = kb.get("T1047").expect("wmi");
        assert_eq!(wmi.name, "Windows Management Instrumentation");
        assert!(wmi.is_builtin());
        let a = kb.lookup("lsass memory", 3);
        assert_eq!(ids(&a)[0], "T1003.001");
        // Related names come from either source.
        let pth = kb.lookup("T1550.002", 1);
        assert_eq!(
            pth.results[0]
                .related_names
                .get("T1003.001")
                .map(String::as_str),
            Some("OS Credential Dumping: LSASS Memory")
        );
    }

    #[test]
    fn text_rendering_has_every_section() {
        let kb = kb();
        let text = render_text(&kb.lookup("T1021.002", 3));
        for part in [
            "T1021.002 Remote Services: SMB/Windows Admin Shares",
            "Tactics: Lateral Movement",
            "Lateral movement:",
            "Where it shows:",
            "Security 5145",
            "Hunt queries covering it (1):",
            "- psexec-service (PsExec service)",
            "Related:",
            "T1570 Lateral Tool Transfer",
        ] {
            assert!(text.contains(part), "missing {part:?} in\n{text}");
        }
    }
}
