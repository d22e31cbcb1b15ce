//! The intel crate against real inputs: the shared compact ATT&CK lookup (skipped with a
//! message when `../shared/data` is absent, a failure when `LATERAL_REQUIRE_SHARED=1`) and the
//! built-in hunt pack, whose `techniques` lists the coverage is computed from.

use std::path::{Path, PathBuf};

use lateral_intel::{builtin, import_file, HuntQueryRef, KnowledgeBase};
use serde::Deserialize;

fn shared_data() -> Option<PathBuf> {
    let path = std::env::var_os("LATERAL_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    if path.join("attack").is_dir() {
        return Some(path);
    }
    if std::env::var("LATERAL_REQUIRE_SHARED").as_deref() == Ok("1") {
        panic!(
            "shared data required (LATERAL_REQUIRE_SHARED=1) but not found at {}",
            path.display()
        );
    }
    eprintln!("skipping: shared data not found at {}", path.display());
    None
}

#[derive(Deserialize)]
struct PackQueries {
    queries: Vec<PackEntry>,
}

#[derive(Deserialize)]
struct PackEntry {
    id: String,
    name: String,
    #[serde(default)]
    techniques: Vec<String>,
}

/// The pack's entries as the CLI hands them over (id, name, techniques), read from the YAML.
fn pack_queries() -> Vec<HuntQueryRef> {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../hunt/packs/lateral-movement.yaml"),
    )
    .expect("built-in pack");
    let pack: PackQueries = serde_norway::from_str(&text).expect("pack yaml");
    pack.queries
        .into_iter()
        .map(|e| HuntQueryRef {
            id: e.id,
            name: e.name,
            techniques: e.techniques,
        })
        .collect()
}

#[test]
fn coverage_follows_the_pack_technique_lists() {
    let queries = pack_queries();
    let kb = KnowledgeBase::new(builtin().expect("kb"), None).with_queries(queries.clone());
    for t in builtin().expect("kb") {
        let cov = kb.coverage(&t.id);
        // Every query listed as direct coverage names the technique in the pack, and every
        // query naming it is listed.
        let naming: Vec<&str> = queries
            .iter()
            .filter(|q| q.techniques.iter().any(|x| x.eq_ignore_ascii_case(&t.id)))
            .map(|q| q.id.as_str())
            .collect();
        let direct: Vec<&str> = cov
            .iter()
            .filter(|c| c.via.is_none())
            .map(|c| c.id.as_str())
            .collect();
        assert_eq!(direct, naming, "{}", t.id);
    }
    // The pack covers the core lateral-movement techniques.
    for id in [
        "T1021.002",
        "T1047",
        "T1569.002",
        "T1021.003",
        "T1053.005",
        "T1570",
    ] {
        assert!(!kb.coverage(id).is_empty(), "{id} has no hunt query");
    }
    // T1021 itself is covered through its sub-techniques as well.
    assert!(kb.coverage("T1021").iter().any(|c| c.via.is_some()));
}

#[test]
fn shared_compact_lookup_imports_and_answers_any_technique() {
    let Some(data) = shared_data() else { return };
    let file = data.join("attack/attack-patterns-lookup-v18.1.json");
    let set = import_file(&file, "2026-12-06T00:00:00Z").expect("import");
    assert_eq!(set.format, "compact-lookup");
    let raw: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&file).expect("read")).expect("json");
    let all = raw["attack_patterns"].as_array().expect("list");
    let live = all
        .iter()
        .filter(|o| o["revoked"] != true && o["deprecated"] != true)
        .count();
    assert_eq!(set.techniques.len(), live);
    assert_eq!(
        set.techniques.len() + set.skipped_revoked + set.skipped_deprecated + set.skipped_no_id,
        all.len()
    );
    let smb = set
        .techniques
        .iter()
        .find(|t| t.id == "T1021.002")
        .expect("T1021.002");
    assert_eq!(smb.name, "Remote Services: SMB/Windows Admin Shares");
    assert_eq!(smb.tactics, ["Lateral Movement"]);
    let kb = KnowledgeBase::new(builtin().expect("kb"), Some(&set));
    assert!(kb.len() >= live);
    // A technique outside the built-in base is answered from the import...
    let a = kb.lookup("T1003.001", 1);
    assert_eq!(a.results[0].technique.id, "T1003.001");
    assert!(!a.results[0].technique.is_builtin());
    assert!(a.results[0]
        .technique
        .name
        .starts_with("OS Credential Dumping: "));
    // ...while the built-in text still answers for ours.
    let b = kb.lookup("t1021.002", 1);
    assert!(b.results[0].technique.is_builtin());
    assert!(b.results[0].technique.lateral_movement.is_some());
}
