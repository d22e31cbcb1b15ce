//! `lateral hunt`: argument handling and file output for the lateral-movement hunt.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use lateral_engine::WindowSpec;
use lateral_hunt::pack::{read_pack, Pack};
use lateral_hunt::{HuntReport, HuntRequest};

pub const HUNT_EXAMPLES: &str = "Examples:
  lateral hunt ./evidence
  lateral hunt ./evidence --hours-back 168 --hypothesis 'PsExec from the jump host' --case 42
  lateral hunt ./evidence --scope 'principal.hostname = \"serhatg.local\"' --format json > hunt.json
  lateral hunt ./evidence --pack my-pack.yaml --inventory hosts.csv --graph dot movement.dot
  lateral hunt ./evidence --case 3 --escalate --db cases.db
  lateral hunt --store ./store --hours-back 72
  lateral hunt --store ./store ./new-triage.zip
  lateral hunt --store /shared/store --engine df://127.0.0.1:50050
  lateral hunt --store s3://hunts/acme --engine df://127.0.0.1:50050

Writes lateral_movement_hunt_<scope>_<YYYYMMDD_HHMM>.md and .json into --out (./reports) and
prints a summary. With --case ID the hunt summary (scope, every query with its hit count,
findings, related cases, follow-ups) is posted on that case and the findings are attached to
it as alerts; with --escalate, confirmed host-to-host movement opens an incident case whose
priority follows the most severe finding. The window ends at the latest event in the evidence unless --start/--end or
--all-time is given.";

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum ReportFormat {
    Md,
    Json,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum GraphFormat {
    Dot,
    Json,
}

#[derive(Args, Debug)]
pub struct HuntArgs {
    /// Evidence files or folders (EVTX, JSON, XML; .zip and .gz are opened).
    #[arg(required_unless_present = "store")]
    paths: Vec<PathBuf>,
    /// Event store written by `lateral ingest`, hunted with (or instead of) the paths.
    /// A folder, or an S3-compatible bucket as s3://BUCKET/PREFIX (credentials and endpoint
    /// from the AWS_* environment variables; see docs/store.md).
    #[arg(long, value_name = "DIR|URL")]
    store: Option<String>,
    /// Run the hunt's scan on a Ballista cluster (`lateral cluster`) (the rest of the hunt runs here);
    /// needs --store at a path (or bucket) every executor can read.
    #[arg(long, value_name = "df://HOST:PORT", requires = "store")]
    engine: Option<String>,
    /// Hours of evidence to hunt, ending at the latest event.
    #[arg(long, default_value_t = 72.0)]
    hours_back: f64,
    /// Window start (RFC 3339); overrides --hours-back.
    #[arg(long)]
    start: Option<String>,
    /// Window end (RFC 3339); default: the latest event in the evidence.
    #[arg(long)]
    end: Option<String>,
    /// Hunt all events, whatever their time.
    #[arg(long, conflicts_with_all = ["start", "end"])]
    all_time: bool,
    /// A UDM query fragment that narrows every hunt query, e.g. 'principal.hostname = "ws01"'.
    #[arg(long)]
    scope: Option<String>,
    /// The hypothesis under test, written into the report.
    #[arg(long)]
    hypothesis: Option<String>,
    /// Case the hunt belongs to: written into the report; the summary is posted on the case
    /// and the findings attached to it as alerts.
    #[arg(long)]
    case: Option<String>,
    /// With confirmed host-to-host movement, open an incident case (priority of the most
    /// severe finding) holding the summary and the findings.
    #[arg(long)]
    escalate: bool,
    /// Case database for --case and --escalate; default: $LATERAL_DB, else
    /// ~/.local/share/lateral/cases.db.
    #[arg(long, value_name = "PATH")]
    db: Option<PathBuf>,
    /// Host roles (CSV host,role or YAML): which hosts are expected to administer others.
    #[arg(long)]
    inventory: Option<PathBuf>,
    /// Extra hunt pack (YAML); entries with an existing id replace the built-in one. Repeatable.
    #[arg(long)]
    pack: Vec<PathBuf>,
    /// Folder for the report files.
    #[arg(long, default_value = "reports")]
    out: PathBuf,
    /// Report files to write (md, json); with `json` alone the JSON report also goes to stdout.
    #[arg(long, value_delimiter = ',', default_value = "md,json")]
    format: Vec<ReportFormat>,
    /// Also write the movement graph: `--graph dot FILE` or `--graph json FILE`.
    #[arg(long, num_args = 2, value_names = ["FORMAT", "FILE"])]
    graph: Vec<String>,
}

pub async fn hunt(a: HuntArgs) -> Result<ExitCode> {
    // The steps around the hunt itself (its own phases are marked by `lateral_hunt::run`).
    let profile = lateral_hunt::Profile::new("cli ");
    let step = |name: &str| profile.mark(name);
    if !(a.hours_back.is_finite() && a.hours_back > 0.0) {
        bail!("--hours-back must be a positive number of hours");
    }
    let parse = |s: &Option<String>| -> Result<Option<i64>> {
        s.as_deref()
            .map(lateral_engine::parse_time)
            .transpose()
            .map_err(anyhow::Error::msg)
    };
    let window = WindowSpec {
        hours_back: a.hours_back,
        start: parse(&a.start)?,
        end: parse(&a.end)?,
        now: false,
        all: a.all_time,
    };
    let graph_out = match a.graph.as_slice() {
        [] => None,
        [fmt, file] => {
            let f = match fmt.to_ascii_lowercase().as_str() {
                "dot" => GraphFormat::Dot,
                "json" => GraphFormat::Json,
                other => bail!("--graph {other:?}: use dot or json"),
            };
            Some((f, PathBuf::from(file)))
        }
        _ => bail!("--graph takes a format (dot or json) and a file"),
    };
    let mut user_packs = Vec::new();
    for p in &a.pack {
        user_packs.push((p.display().to_string(), read_pack(p)?));
    }
    let pack = Pack::load(&user_packs)?;
    step("pack loaded");
    let inventory = a
        .inventory
        .as_deref()
        .map(lateral_hunt::inventory::Inventory::load)
        .transpose()?;
    let case_opts = crate::cases::HuntCaseOptions {
        db: a.db.clone(),
        case_id: a
            .case
            .as_deref()
            .map(lateral_cases::store::parse_case_id)
            .transpose()?,
        escalate: a.escalate,
    };
    crate::cases::check_hunt_case(&case_opts)?;
    let engine = match crate::open_engine(&a.paths, a.store.as_deref(), a.engine.as_deref()).await?
    {
        Ok(e) => e,
        Err(code) => return Ok(code),
    };
    let req = HuntRequest {
        window,
        scope: a.scope.clone(),
        hypothesis: a.hypothesis.clone(),
        case_id: a.case.clone(),
        inventory,
    };
    step("engine opened");
    let progress = crate::progress::Progress::start(&engine);
    let report = lateral_hunt::run(&engine, &pack, &req).await;
    progress.finish();
    let report = report?;
    step("hunt run");
    crate::output::print_issues(&engine.issues());

    std::fs::create_dir_all(&a.out)
        .with_context(|| format!("cannot create the report folder {}", a.out.display()))?;
    let stamp = chrono::Utc::now().format("%Y%m%d_%H%M");
    let base = format!("lateral_movement_hunt_{}_{stamp}", report.scope_label);
    let mut written = Vec::new();
    // Both renderings of a large report take a while: one on each core.
    let want_md = a.format.contains(&ReportFormat::Md);
    let (json, markdown) = std::thread::scope(|s| {
        let md = s.spawn(|| want_md.then(|| lateral_report::markdown(&report)));
        let json = lateral_report::json(&report);
        (json, md.join())
    });
    let markdown = markdown.map_err(|_| anyhow::anyhow!("rendering the Markdown report failed"))?;
    if let Some(md) = markdown {
        let path = a.out.join(format!("{base}.md"));
        std::fs::write(&path, md).with_context(|| format!("cannot write {}", path.display()))?;
        written.push(path);
    }
    if a.format.contains(&ReportFormat::Json) {
        let path = a.out.join(format!("{base}.json"));
        std::fs::write(&path, &json).with_context(|| format!("cannot write {}", path.display()))?;
        written.push(path);
    }
    if let Some((fmt, path)) = graph_out {
        let text = match fmt {
            GraphFormat::Dot => lateral_report::graph_dot(&report.graph),
            GraphFormat::Json => lateral_report::graph_json(&report.graph),
        };
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
        written.push(path);
    }
    step("reports written");
    let json_only = a.format == [ReportFormat::Json];
    if json_only {
        println!("{json}");
        for p in &written {
            eprintln!("wrote {}", p.display());
        }
    } else {
        print_summary(&report, &written);
    }
    crate::cases::after_hunt(&case_opts, &json, &mut |line| {
        if json_only {
            eprintln!("{line}");
        } else {
            println!("{line}");
        }
    })?;
    Ok(crate::exit_code(&engine))
}

fn print_summary(r: &HuntReport, written: &[PathBuf]) {
    println!("{}", r.title);
    println!("window: {}", r.window.description);
    let hits = r.queries.iter().filter(|q| q.hits > 0).count();
    println!(
        "queries: {} run, {} with hits, {} with no hits",
        r.queries.len(),
        hits,
        r.queries.len() - hits
    );
    println!("findings: {}", r.findings.len());
    for f in &r.findings {
        println!(
            "  {} [{}] {} ({})",
            f.id,
            f.severity.as_str(),
            f.title,
            f.techniques.join(", ")
        );
    }
    for c in &r.graph.chains {
        println!("chain: {}", c.join(" -> "));
    }
    for g in &r.gaps {
        println!("gap: {g}");
    }
    println!(
        "conclusion ({}): {}",
        r.conclusion.verdict, r.conclusion.summary
    );
    for p in written {
        println!("wrote {}", p.display());
    }
}
