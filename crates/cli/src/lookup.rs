//! `lateral lookup`: everything the evidence says about one entity (IP, host, account, hash,
//! process path), with the hunt findings that name it.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Result};
use clap::{Args, ValueEnum};
use lateral_engine::WindowSpec;

pub const LOOKUP_EXAMPLES: &str = "Examples:
  lateral lookup serhatg.local ./evidence
  lateral lookup 10.0.0.130 ./evidence --hours-back 72 --format json
  lateral lookup 'AD\\docker' ./evidence --all-time
  lateral lookup 'C:\\Windows\\PSEXESVC.exe' ./evidence
  lateral lookup 10.0.0.130 --store ./store --all-time
  lateral lookup SALES-PC --store /shared/store --engine df://scheduler:50050

The kind is detected from the value: an IP address, a host name or FQDN, an account
(DOMAIN\\user or user@domain), a file hash (MD5, SHA-1, SHA-256) or a process path; a bare word
that no host carries is looked up as an account. The hunt runs over the same window so the
findings naming the entity are listed. The window ends at the latest event in the evidence.";

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum LookupFormat {
    Text,
    Json,
}

#[derive(Args, Debug)]
pub struct LookupArgs {
    /// The entity: IP, host name or FQDN, DOMAIN\user or user@domain, hash, or process path.
    value: String,
    /// Evidence files or folders (EVTX, JSON, XML, captures; .zip and .gz are opened).
    #[arg(required_unless_present = "store")]
    paths: Vec<PathBuf>,
    /// Event store written by `lateral ingest`, read with (or instead of) the paths.
    /// A folder, or an S3-compatible bucket as s3://BUCKET/PREFIX (credentials and endpoint
    /// from the AWS_* environment variables; see docs/store.md).
    #[arg(long, value_name = "DIR|URL")]
    store: Option<String>,
    /// Run the lookup's queries (and its hunt's scan) on a Ballista cluster (`lateral
    /// cluster`) instead of in this process; needs --store at a path (or bucket) every executor can read.
    #[arg(long, value_name = "df://HOST:PORT", requires = "store")]
    engine: Option<String>,
    /// Hours of evidence to look at, ending at the latest event.
    #[arg(long, default_value_t = 168.0)]
    hours_back: f64,
    /// Look at all events, whatever their time.
    #[arg(long)]
    all_time: bool,
    #[arg(long, value_enum, default_value_t = LookupFormat::Text)]
    format: LookupFormat,
}

pub async fn lookup(a: LookupArgs) -> Result<ExitCode> {
    if !(a.hours_back.is_finite() && a.hours_back > 0.0) {
        bail!("--hours-back must be a positive number of hours");
    }
    if lateral_lookup::detect(&a.value).is_none() {
        bail!("nothing to look up: the value is empty");
    }
    let window = WindowSpec {
        hours_back: a.hours_back,
        start: None,
        end: None,
        now: false,
        all: a.all_time,
    };
    let mut engine =
        match crate::open_engine(&a.paths, a.store.as_deref(), a.engine.as_deref()).await? {
            Ok(e) => e,
            Err(code) => return Ok(code),
        };
    // The lookup runs a hunt and several queries over the same events: read them once. On a
    // cluster the queries run where the store is instead.
    if a.engine.is_none() {
        let progress = crate::progress::Progress::start(&engine);
        let loaded = engine.load_into_memory().await;
        progress.finish();
        loaded?;
    }
    crate::output::print_issues(&engine.issues());
    let pack = lateral_hunt::Pack::load(&[])?;
    let req = lateral_hunt::HuntRequest {
        window: window.clone(),
        scope: None,
        hypothesis: None,
        case_id: None,
        inventory: None,
    };
    let report = lateral_hunt::run(&engine, &pack, &req).await?;
    let findings: Vec<serde_json::Value> = report
        .findings
        .iter()
        .filter_map(|f| serde_json::to_value(f).ok())
        .collect();
    let summary = lateral_lookup::lookup(&engine, &a.value, window, &findings).await?;
    match a.format {
        LookupFormat::Text => print!("{}", lateral_lookup::render_text(&summary)),
        LookupFormat::Json => println!("{}", serde_json::to_string_pretty(&summary)?),
    }
    Ok(crate::exit_code(&engine))
}
