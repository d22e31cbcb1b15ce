//! `lateral intel QUERY` and `lateral intel import FILE`: the offline ATT&CK knowledge base,
//! joined here with the hunt pack (which queries cover which technique).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Result};
use clap::{Args, Subcommand};
use lateral_hunt::pack::{read_pack, Pack};
use lateral_intel::{ImportedSet, KnowledgeBase};

use crate::cases::{DbArg, OutFormat};

pub const INTEL_EXAMPLES: &str = "Examples:
  lateral intel T1021.002
  lateral intel 'MITRE T1047 WMI'
  lateral intel pass the hash --format json
  lateral intel import enterprise-attack.json
  lateral intel import ../shared/data/attack/attack-patterns-lookup-v18.1.json

Answers come from the built-in lateral-movement knowledge base and, once imported, the full
ATT&CK (kept in attack-techniques.json next to the case database). The hunt queries listed
for a technique are those of the hunt pack (and --pack files) that name it.";

#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct IntelArgs {
    #[command(subcommand)]
    action: Option<IntelAction>,
    #[command(flatten)]
    db: DbArg,
    /// The question: a technique id, a name, or free text.
    #[arg(value_name = "QUERY")]
    query: Vec<String>,
    /// Techniques to show besides the best match.
    #[arg(long, default_value_t = 5)]
    limit: usize,
    /// Extra hunt pack (YAML) whose queries count as coverage. Repeatable.
    #[arg(long)]
    pack: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = OutFormat::Text)]
    format: OutFormat,
}

#[derive(Subcommand, Debug)]
enum IntelAction {
    /// Import the full ATT&CK: MITRE's STIX 2.1 bundle or the compact attack-pattern lookup.
    #[command(
        after_help = "Examples:\n  lateral intel import enterprise-attack.json\n  lateral intel import attack-patterns-lookup-v18.1.json --db cases.db"
    )]
    Import { file: PathBuf },
}

/// Where imported ATT&CK data is kept ([`ImportedSet::beside`] the case database).
pub fn store_path(db: Option<&Path>) -> Result<PathBuf> {
    let db = lateral_cases::resolve_db_path(db.map(Path::to_path_buf))?;
    Ok(ImportedSet::beside(&db))
}

pub fn intel(a: IntelArgs) -> Result<ExitCode> {
    if let Some(IntelAction::Import { file }) = a.action {
        let path = store_path(a.db.db.as_deref())?;
        let stamp = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let set = lateral_intel::import_file(&file, &stamp)?;
        set.save(&path)?;
        println!(
            "imported {} techniques from {} ({}); skipped {} revoked, {} deprecated, {} without an ATT&CK id; saved to {}",
            set.techniques.len(),
            file.display(),
            set.format,
            set.skipped_revoked,
            set.skipped_deprecated,
            set.skipped_no_id,
            path.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let query = a.query.join(" ");
    if query.trim().is_empty() {
        bail!("give a technique id, name or question, e.g. `lateral intel T1021.002`");
    }
    let imported = ImportedSet::load(&store_path(a.db.db.as_deref())?)?;
    let mut user_packs = Vec::new();
    for p in &a.pack {
        user_packs.push((p.display().to_string(), read_pack(p)?));
    }
    let pack = Pack::load(&user_packs)?;
    let kb = KnowledgeBase::new(lateral_intel::builtin()?, imported.as_ref())
        .with_queries(pack.query_refs());
    let answer = kb.lookup(&query, a.limit.saturating_add(1));
    if a.format == OutFormat::Json {
        println!("{}", serde_json::to_string_pretty(&answer)?);
    } else {
        println!("{}", lateral_intel::render_text(&answer));
    }
    Ok(ExitCode::SUCCESS)
}
