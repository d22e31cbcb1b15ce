//! `lateral`: the command-line front end. It wires the crates together (evidence discovery,
//! the engine, the query language) and formats their results; it holds no logic of its own
//! beyond argument handling, progress display and exit codes.

mod cases;
#[cfg(feature = "cluster")]
mod cluster;
mod hunt;
mod intel;
mod lookup;
mod mcp;
mod output;
mod pcap;
mod progress;
mod store;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use lateral_engine::{Engine, SearchRequest, WindowSpec};
use lateral_model::Field;

/// Readers allocate many small strings per record; mimalloc handles that far better than the
/// system allocator (measured in BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Hunt for lateral movement in Windows evidence (EVTX, JSON/XML event exports).
#[derive(Parser, Debug)]
#[command(
    name = "lateral",
    version,
    about,
    long_about = None,
    after_help = "Examples:\n  lateral hunt ./evidence\n  lateral stats ./evidence\n  lateral search ./evidence --all-time --query 'metadata.product_event_type = \"ServiceInstalled\"'\n  lateral sql ./evidence 'SELECT \"metadata.event_type\", count(*) FROM events GROUP BY 1'\n  lateral case list\n  lateral intel T1021.002"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the lateral-movement hunt and write the report (Markdown, JSON, graph).
    #[command(after_help = hunt::HUNT_EXAMPLES)]
    Hunt(hunt::HuntArgs),
    /// Generate synthetic evidence for a lateral-movement story (serhatg, wmi-spread, psexec-chain).
    #[command(after_help = SIMULATE_EXAMPLES)]
    Simulate(SimulateArgs),
    /// Normalise evidence into the persistent Parquet event store (idempotent).
    #[command(after_help = store::INGEST_EXAMPLES)]
    Ingest(store::IngestArgs),
    /// What the event store holds, merging its small files, retention, copying it to a bucket.
    #[command(after_help = store::STORE_EXAMPLES)]
    Store(store::StoreArgs),
    /// Search evidence with a UDM query (Google SecOps syntax or the runbook dialect).
    #[command(after_help = SEARCH_EXAMPLES)]
    Search(SearchArgs),
    /// Run SQL over the evidence, exposed as table `events` with UDM column names.
    #[command(after_help = SQL_EXAMPLES)]
    Sql(SqlArgs),
    /// Show what data the evidence holds and the coverage gaps that matter for a hunt.
    #[command(after_help = STATS_EXAMPLES)]
    Stats(StatsArgs),
    /// Manage cases: list, show, create, comment, priority, close, attach hunt findings.
    #[command(after_help = cases::CASE_EXAMPLES)]
    Case(cases::CaseArgs),
    /// Answer ATT&CK technique questions offline (id, name or free text); import full ATT&CK.
    #[command(after_help = intel::INTEL_EXAMPLES)]
    Intel(intel::IntelArgs),
    /// Everything the evidence says about one entity: IP, host, account, hash or process path.
    #[command(after_help = lookup::LOOKUP_EXAMPLES)]
    Lookup(lookup::LookupArgs),
    /// Serve SecOps- and SOAR-compatible MCP tools over the evidence (stdio or HTTP).
    #[command(after_help = mcp::MCP_EXAMPLES)]
    Mcp(mcp::McpArgs),
    /// Start a Ballista scheduler or executor: run searches, SQL, stats and hunts over a store
    /// on a cluster (`--engine df://HOST:PORT`).
    #[cfg(feature = "cluster")]
    #[command(after_help = cluster::CLUSTER_EXAMPLES)]
    Cluster(cluster::ClusterArgs),
    /// List the event fields (UDM paths) with their types and meaning.
    #[command(
        after_help = "Example:\n  lateral fields\n  lateral fields --format md > docs/schema.md"
    )]
    Fields(FieldsArgs),
    /// Summarise lateral movement in packet captures: attacker, first pivot, account, service
    /// executable, shares, next targets, per-session detail.
    #[command(after_help = pcap::PCAP_EXAMPLES)]
    Pcap(pcap::PcapArgs),
}

const SEARCH_EXAMPLES: &str = "Examples:
  lateral search ./evidence --query 'metadata.event_type = \"PROCESS_LAUNCH\" AND principal.process.file.full_path = \"C:\\Windows\\System32\\wbem\\WmiPrvSE.exe\"'
  lateral search logs/ --all-time --query 'metadata.product_event_type = \"ServiceInstalled\" AND target.process.file.full_path CONTAINS \"PSEXESVC.exe\"' --format json
  lateral search logs/ --hours-back 72 --query 'target.port = 445' --fields metadata.event_timestamp,principal.ip,target.ip
  lateral search --store ./store --hours-back 72 --query 'principal.ip = \"10.0.0.130\"'
  lateral search --store ./store new-logs/ --all-time --query 'target.port = 445'
  lateral search --store /shared/store --engine df://127.0.0.1:50050 --all-time --query 'target.port = 445'
  lateral search --store s3://hunts/acme --hours-back 72 --query 'target.port = 445'

The window ends at the latest event in the evidence unless --now, --end or --all-time is given;
the window used is always printed.";

const SIMULATE_EXAMPLES: &str = "Examples:
  lateral simulate --scenario psexec-chain --out demo-psexec && lateral hunt demo-psexec --all-time
  lateral simulate --list
  lateral simulate --events 1000000 --out corpus-1m && lateral ingest corpus-1m --store store

Writes one NXLog-style JSON-lines file per host, with benign background activity; the same
scenario always produces the same bytes. With --events N: the three stories plus a fleet of
workstations' ordinary activity, N events in all, streamed to disk (memory stays flat); the
same N always produces the same bytes.";

#[derive(Args, Debug)]
struct SimulateArgs {
    /// Scenario to generate.
    #[arg(long, required_unless_present_any = ["list", "events"], conflicts_with = "events")]
    scenario: Option<String>,
    /// Generate a benchmark corpus of N events: the three stories plus background noise.
    #[arg(long, value_name = "N")]
    events: Option<u64>,
    /// Output folder (created when missing).
    #[arg(long, required_unless_present = "list")]
    out: Option<PathBuf>,
    /// List the scenarios and what a hunt should conclude on each.
    #[arg(long)]
    list: bool,
}

fn simulate(a: SimulateArgs) -> Result<ExitCode> {
    if a.list {
        for s in lateral_simulate::SCENARIOS {
            println!("{}\n  {}\n  expected: {}\n", s.name, s.summary, s.expected);
        }
        return Ok(ExitCode::SUCCESS);
    }
    if let (Some(n), Some(out)) = (a.events, a.out.as_ref()) {
        let generated = lateral_simulate::generate_corpus(n, out)?;
        println!(
            "{} events in {} file(s) under {}",
            generated.events,
            generated.files.len(),
            out.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let (Some(name), Some(out)) = (a.scenario, a.out) else {
        bail!("--scenario and --out are required");
    };
    let generated = lateral_simulate::generate(&name, &out)?;
    for f in &generated.files {
        println!("wrote {}", f.display());
    }
    println!(
        "{} events in {} file(s)",
        generated.events,
        generated.files.len()
    );
    Ok(ExitCode::SUCCESS)
}

const SQL_EXAMPLES: &str = "Examples:
  lateral sql ./evidence 'SELECT \"metadata.event_type\", count(*) AS n FROM events GROUP BY 1 ORDER BY n DESC'
  lateral sql --store ./store 'SELECT \"principal.hostname\", count(*) FROM events GROUP BY 1'
  lateral sql --store /shared/store --engine df://127.0.0.1:50050 'SELECT count(*) FROM events'
  lateral sql logs/ 'SELECT \"target.application\", \"target.process.command_line\" FROM events WHERE \"metadata.event_type\" = '\\''SERVICE_CREATION'\\''' --format json

Column names contain dots: quote them with double quotes. With --store, the paths may be left
out: the statement is then the only argument.";

const STATS_EXAMPLES: &str = "Examples:
  lateral stats ./evidence
  lateral stats triage.zip --format json
  lateral stats --store ./store
  lateral stats --store /shared/store --engine df://127.0.0.1:50050";

#[derive(Args, Debug, Clone)]
struct WindowArgs {
    /// Hours of evidence to search, ending at the latest event (or now with --now).
    #[arg(long, default_value_t = 24.0)]
    hours_back: f64,
    /// Window start (RFC 3339, e.g. 2019-03-18T22:00:00Z); overrides --hours-back.
    #[arg(long)]
    start: Option<String>,
    /// Window end (RFC 3339); default: the latest event in the evidence.
    #[arg(long)]
    end: Option<String>,
    /// Anchor the window at the current time instead of the latest event.
    #[arg(long)]
    now: bool,
    /// Search all events, whatever their time.
    #[arg(long, conflicts_with_all = ["start", "end", "now"])]
    all_time: bool,
}

impl WindowArgs {
    fn spec(&self) -> Result<WindowSpec> {
        let parse = |s: &Option<String>| -> Result<Option<i64>> {
            s.as_deref()
                .map(lateral_engine::parse_time)
                .transpose()
                .map_err(anyhow::Error::msg)
        };
        if !(self.hours_back.is_finite() && self.hours_back > 0.0) {
            bail!("--hours-back must be a positive number of hours");
        }
        Ok(WindowSpec {
            hours_back: self.hours_back,
            start: parse(&self.start)?,
            end: parse(&self.end)?,
            now: self.now,
            all: self.all_time,
        })
    }
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum Format {
    Table,
    Json,
    Jsonl,
    Csv,
}

#[derive(Args, Debug)]
struct SearchArgs {
    /// Evidence files or folders (EVTX, JSON, XML; .zip and .gz are opened).
    #[arg(required_unless_present = "store")]
    paths: Vec<PathBuf>,
    /// Event store written by `lateral ingest`, searched with (or instead of) the paths.
    /// A folder, or an S3-compatible bucket as s3://BUCKET/PREFIX (credentials and endpoint
    /// from the AWS_* environment variables; see docs/store.md).
    #[arg(long, value_name = "DIR|URL")]
    store: Option<String>,
    /// Run the query on a Ballista cluster (`lateral cluster`) instead of in this process;
    /// needs --store at a path (or bucket) every executor can read.
    #[arg(long, value_name = "df://HOST:PORT", requires = "store")]
    engine: Option<String>,
    /// The UDM query.
    #[arg(short, long)]
    query: String,
    #[command(flatten)]
    window: WindowArgs,
    /// Return at most N events (the total is still counted).
    #[arg(long)]
    limit: Option<usize>,
    /// Comma-separated fields to show (UDM paths); default: a compact set for tables, all for JSON.
    #[arg(long, value_delimiter = ',')]
    fields: Vec<String>,
    /// Reference list for `in %NAME` / `IN @NAME`: NAME=FILE (one value per line).
    #[arg(long = "list", value_name = "NAME=FILE")]
    lists: Vec<String>,
    /// Include the original record (`lateral.raw`) in the output.
    #[arg(long)]
    raw: bool,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

#[derive(Args, Debug)]
struct SqlArgs {
    /// Evidence paths followed by the SQL statement (the last argument).
    #[arg(required = true, num_args = 1.., value_name = "PATH... SQL")]
    args: Vec<String>,
    /// Event store written by `lateral ingest`, queried with (or instead of) the paths.
    /// A folder, or an S3-compatible bucket as s3://BUCKET/PREFIX (credentials and endpoint
    /// from the AWS_* environment variables; see docs/store.md).
    #[arg(long, value_name = "DIR|URL")]
    store: Option<String>,
    /// Run the query on a Ballista cluster (`lateral cluster`) instead of in this process;
    /// needs --store at a path (or bucket) every executor can read.
    #[arg(long, value_name = "df://HOST:PORT", requires = "store")]
    engine: Option<String>,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum StatsFormat {
    Table,
    Json,
}

#[derive(Args, Debug)]
struct StatsArgs {
    #[arg(required_unless_present = "store")]
    paths: Vec<PathBuf>,
    /// Event store written by `lateral ingest`, described with (or instead of) the paths.
    /// A folder, or an S3-compatible bucket as s3://BUCKET/PREFIX (credentials and endpoint
    /// from the AWS_* environment variables; see docs/store.md).
    #[arg(long, value_name = "DIR|URL")]
    store: Option<String>,
    /// Run the query on a Ballista cluster (`lateral cluster`) instead of in this process;
    /// needs --store at a path (or bucket) every executor can read.
    #[arg(long, value_name = "df://HOST:PORT", requires = "store")]
    engine: Option<String>,
    #[arg(long, value_enum, default_value_t = StatsFormat::Table)]
    format: StatsFormat,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum FieldsFormat {
    Table,
    Md,
    Json,
}

#[derive(Args, Debug)]
struct FieldsArgs {
    #[arg(long, value_enum, default_value_t = FieldsFormat::Table)]
    format: FieldsFormat,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            let text = format!("{e:#}");
            eprintln!("error: {text}");
            #[cfg(feature = "cluster")]
            if let Some(hint) = lateral_cluster::explain(&text) {
                eprintln!("hint: {hint}");
            }
            ExitCode::from(1)
        }
    }
}

async fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Hunt(a) => hunt::hunt(a).await,
        Command::Simulate(a) => simulate(a),
        Command::Ingest(a) => store::ingest(a),
        Command::Store(a) => store::store(a).await,
        Command::Search(a) => search(a).await,
        Command::Sql(a) => sql(a).await,
        Command::Stats(a) => stats(a).await,
        Command::Pcap(a) => pcap::pcap(a),
        Command::Case(a) => cases::case(a),
        Command::Intel(a) => intel::intel(a),
        Command::Lookup(a) => lookup::lookup(a).await,
        Command::Mcp(a) => mcp::mcp(a).await,
        #[cfg(feature = "cluster")]
        Command::Cluster(a) => cluster::cluster(a).await,
        Command::Fields(a) => {
            output::print_fields(a.format == FieldsFormat::Md, a.format == FieldsFormat::Json)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn parse_fields(names: &[String]) -> Result<Vec<Field>> {
    names
        .iter()
        .map(|n| n.trim())
        .filter(|n| !n.is_empty())
        .map(|n| {
            Field::by_name(n).with_context(|| match lateral_model::fields::suggest(n) {
                Some(s) => format!("unknown field {n:?} in --fields (did you mean {s}?)"),
                None => format!("unknown field {n:?} in --fields (see `lateral fields`)"),
            })
        })
        .collect()
}

/// Open the evidence and the store, or with `cluster` (`df://HOST:PORT`) the store on a
/// session whose plans run on that Ballista cluster; `Err(code)` when there is nothing
/// readable at all (exit status 2).
async fn open_engine(
    paths: &[PathBuf],
    store: Option<&str>,
    cluster: Option<&str>,
) -> Result<std::result::Result<Engine, ExitCode>> {
    if let Some(url) = cluster {
        return open_remote(url, paths, store).await.map(Ok);
    }
    if paths.is_empty() && store.is_none() {
        bail!("give evidence paths, --store DIR, or both");
    }
    let engine = Engine::open_with_store(paths, store)
        .await
        .context("cannot open the evidence")?;
    if engine.sources().is_empty() && engine.store().is_none() {
        output::print_issues(&engine.issues());
        eprintln!("error: no readable evidence under the given paths");
        return Ok(Err(ExitCode::from(2)));
    }
    Ok(Ok(engine))
}

#[cfg(feature = "cluster")]
async fn open_remote(url: &str, paths: &[PathBuf], store: Option<&str>) -> Result<Engine> {
    cluster::open_remote(url, paths, store).await
}

#[cfg(not(feature = "cluster"))]
async fn open_remote(url: &str, _paths: &[PathBuf], _store: Option<&str>) -> Result<Engine> {
    bail!("--engine {url}: this lateral was built without the `cluster` feature (cargo build --features cluster)")
}

/// 2 when nothing could be read at all, else 0.
fn exit_code(engine: &Engine) -> ExitCode {
    let stats = engine.stats();
    if engine.store().is_none()
        && stats.records.load(std::sync::atomic::Ordering::Relaxed) == 0
        && !engine.issues().is_empty()
    {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    }
}

async fn search(a: SearchArgs) -> Result<ExitCode> {
    let query = lateral_query::parse(&a.query).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut lists = lateral_query::Lists::default();
    for spec in &a.lists {
        let (name, file) = spec
            .split_once('=')
            .with_context(|| format!("--list {spec:?}: expected NAME=FILE"))?;
        lists
            .load_file(name.trim().trim_start_matches(['%', '@']), file.as_ref())
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let filter = lateral_query::compile(&query, &lists).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut columns = parse_fields(&a.fields)?;
    if columns.is_empty() && a.format != Format::Json && a.format != Format::Jsonl {
        columns = output::default_table_fields();
    }
    if a.raw && !columns.is_empty() && !columns.contains(&lateral_model::f::RAW) {
        columns.push(lateral_model::f::RAW);
    }
    if a.raw && columns.is_empty() {
        columns = lateral_model::fields::all_fields().collect();
    }
    let engine = match open_engine(&a.paths, a.store.as_deref(), a.engine.as_deref()).await? {
        Ok(e) => e,
        Err(code) => return Ok(code),
    };
    let progress = progress::Progress::start(&engine);
    let req = SearchRequest {
        filter,
        window: a.window.spec()?,
        limit: a.limit,
        columns,
    };
    let result = engine.search(&req).await;
    progress.finish();
    let result = result?;
    output::print_search(&a.query, &query.to_udm(), &engine, &result, a.format)?;
    Ok(exit_code(&engine))
}

async fn sql(a: SqlArgs) -> Result<ExitCode> {
    let Some((sql, paths)) = a.args.split_last() else {
        bail!("expected evidence paths followed by a SQL statement");
    };
    if paths.is_empty() && a.store.is_none() {
        bail!("expected evidence paths (or --store DIR) followed by a SQL statement");
    }
    let paths: Vec<PathBuf> = paths.iter().map(PathBuf::from).collect();
    let engine = match open_engine(&paths, a.store.as_deref(), a.engine.as_deref()).await? {
        Ok(e) => e,
        Err(code) => return Ok(code),
    };
    let progress = progress::Progress::start(&engine);
    let result = engine.sql(sql).await;
    progress.finish();
    let batches = result?;
    output::print_batches(&batches, a.format, &engine)?;
    Ok(exit_code(&engine))
}

async fn stats(a: StatsArgs) -> Result<ExitCode> {
    let engine = match open_engine(&a.paths, a.store.as_deref(), a.engine.as_deref()).await? {
        Ok(e) => e,
        Err(code) => return Ok(code),
    };
    let progress = progress::Progress::start(&engine);
    let inv = lateral_engine::inventory(&engine).await;
    progress.finish();
    let inv = inv?;
    output::print_inventory(&inv, &engine, a.format == StatsFormat::Json)?;
    Ok(exit_code(&engine))
}
