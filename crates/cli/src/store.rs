//! `lateral ingest` and `lateral store stats|compact|expire|push`: argument handling, progress and
//! output for the Parquet event store (`lateral-store`).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use lateral_store::IngestCounters;

pub const INGEST_EXAMPLES: &str = "Examples:
  lateral ingest ./evidence --store ./store
  lateral ingest triage-2025-07-08.zip captures/ --store /cases/acme/store
  lateral search --store ./store --hours-back 72 --query 'target.port = 445'

Reads every format the other commands read (EVTX, JSON, XML, captures; .zip and .gz opened)
and adds the events to the store as Parquet files partitioned by day (and hour for dense
days), sorted by time. Each source is tracked by a hash of its content: ingesting the same
evidence again adds nothing and says so. The store is published atomically: a run that is
interrupted (even by kill -9) leaves the store as it was before the round in progress, and the
next run cleans up and reads those sources again. See docs/store.md.";

pub const STORE_EXAMPLES: &str = "Examples:
  lateral store stats --store ./store
  lateral store stats --store ./store --format json
  lateral store compact --store ./store
  lateral store expire --before 2025-06-01 --store ./store
  AWS_ENDPOINT_URL=http://minio:9000 lateral store push --store ./store s3://hunts/acme
  lateral store stats --store s3://hunts/acme

stats reads only the manifest; compact merges the small files of each partition; expire drops
every day before the date. Both publish through the manifest, then delete the files they
replaced. push mirrors a local store to an S3-compatible bucket (data files first, the
manifest last, then the objects it no longer lists are deleted), so every command's --store
(and a cluster's executors) can read it there. Bucket access comes from the usual AWS_*
environment variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION,
AWS_ENDPOINT_URL); see docs/store.md.";

#[derive(Args, Debug)]
pub struct IngestArgs {
    /// Evidence files or folders (EVTX, JSON, XML, captures; .zip and .gz are opened).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// The store folder (created when missing).
    #[arg(long, value_name = "DIR")]
    store: PathBuf,
    /// Reader threads (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
    /// Publish after about this many MiB of input: an interrupted run loses at most one round.
    #[arg(long, value_name = "MIB", default_value_t = 512)]
    round_mib: u64,
}

#[derive(Args, Debug)]
pub struct StoreArgs {
    #[command(subcommand)]
    action: StoreAction,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum StatsFormat {
    Table,
    Json,
}

#[derive(Subcommand, Debug)]
enum StoreAction {
    /// Events by day, host and source; files and size on disk (from the manifest).
    #[command(after_help = STORE_EXAMPLES)]
    Stats {
        /// The store: a folder or s3://BUCKET/PREFIX.
        #[arg(long, value_name = "DIR|URL")]
        store: String,
        #[arg(long, value_enum, default_value_t = StatsFormat::Table)]
        format: StatsFormat,
    },
    /// Merge the small files of each partition into one sorted file.
    #[command(after_help = STORE_EXAMPLES)]
    Compact {
        #[arg(long, value_name = "DIR")]
        store: PathBuf,
    },
    /// Drop every day before DATE (YYYY-MM-DD, UTC).
    #[command(after_help = STORE_EXAMPLES)]
    Expire {
        #[arg(long, value_name = "DATE")]
        before: String,
        #[arg(long, value_name = "DIR")]
        store: PathBuf,
    },
    /// Copy a local store to an S3-compatible bucket (or bring a copy there up to date).
    #[command(after_help = STORE_EXAMPLES)]
    Push {
        /// The local store folder.
        #[arg(long, value_name = "DIR")]
        store: PathBuf,
        /// Where to: s3://BUCKET/PREFIX.
        #[arg(value_name = "URL")]
        dest: String,
    },
}

/// Writing commands work on a folder: say so plainly when given a URL.
/// `store` as written when it is a URL (`s3://...`) rather than a local folder.
fn url_given(store: &std::path::Path) -> Option<&str> {
    store.to_str().filter(|s| s.contains("://"))
}

fn local_only(store: &std::path::Path, what: &str) -> Result<()> {
    if let Some(s) = url_given(store) {
        anyhow::bail!(
            "{s}: {what} writes a store in a local folder; run it on the local store, then `lateral store push --store DIR {s}`"
        );
    }
    Ok(())
}

fn on_wait(msg: &str) {
    eprintln!("{msg}");
}

pub fn ingest(a: IngestArgs) -> Result<ExitCode> {
    local_only(&a.store, "ingest")?;
    let mut opts = lateral_store::IngestOptions {
        round_bytes: a.round_mib.max(1) * 1024 * 1024,
        ..Default::default()
    };
    if let Some(t) = a.threads {
        opts.threads = t.max(1);
    }
    let counters = Arc::new(IngestCounters::default());
    let progress = Progress::start(counters.clone());
    let started = std::time::Instant::now();
    let result = lateral_store::ingest(&a.store, &a.paths, &opts, &counters, &mut |m| on_wait(m));
    progress.finish();
    let s = result.with_context(|| format!("cannot ingest into {}", a.store.display()))?;
    let secs = started.elapsed().as_secs_f64();
    let c = s.cleanup;
    if !c.is_empty() {
        println!(
            "cleaned up after an interrupted writer: {} staged file(s), {} temporary manifest(s), {} unpublished data file(s)",
            c.staged_files, c.temp_manifests, c.unlisted_files
        );
    }
    println!(
        "{} source(s) found: {} added, {} already in the store, {} unreadable",
        s.sources_found,
        s.sources_added,
        s.already_held.len(),
        s.unreadable.len()
    );
    for d in &s.already_held {
        println!("  already in the store: {d}");
    }
    println!(
        "{} event(s) added in {} file(s) ({:.1} s, {:.0} events/s); store generation {}",
        s.events,
        s.files,
        secs,
        s.events as f64 / secs.max(1e-9),
        s.generation
    );
    if s.sources_added == 0 && s.events == 0 && !s.already_held.is_empty() {
        println!("nothing new: every source is already in the store");
    }
    crate::output::print_issues(
        &s.issues
            .iter()
            .map(|i| lateral_engine::ReportedIssue {
                file: i.file.clone(),
                position: i.position.to_string(),
                message: i.message.clone(),
                whole_file: i.fatal_for_file,
            })
            .collect::<Vec<_>>(),
    );
    let nothing = s.sources_added == 0 && s.already_held.is_empty();
    Ok(if nothing {
        eprintln!("error: no readable evidence under the given paths");
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

pub async fn store(a: StoreArgs) -> Result<ExitCode> {
    match a.action {
        StoreAction::Stats { store, format } => {
            let snapshot = lateral_engine::open_snapshot(&store).await?;
            let s = lateral_store::stats_of(snapshot.manifest());
            if format == StatsFormat::Json {
                println!("{}", serde_json::to_string_pretty(&s)?);
                return Ok(ExitCode::SUCCESS);
            }
            println!(
                "{}: {} events in {} file(s), {} on disk, {} source(s), generation {}",
                snapshot.location(),
                s.events,
                s.files,
                human_bytes(s.bytes),
                s.sources,
                s.generation
            );
            println!(
                "time range: {} .. {}",
                s.first.as_deref().unwrap_or("-"),
                s.last.as_deref().unwrap_or("-")
            );
            println!("\nBy day:");
            for (d, v) in &s.by_day {
                println!(
                    "  {d:<12} {:>10} events {:>4} file(s) {:>10}",
                    v.events,
                    v.files,
                    human_bytes(v.bytes)
                );
            }
            println!("\nBy host (the computer that logged the events):");
            for (h, n) in &s.by_host {
                println!("  {h:<40} {n:>10}");
            }
            println!("\nBy source:");
            for (src, n) in &s.by_source {
                println!("  {src:<60} {n:>10}");
            }
            Ok(ExitCode::SUCCESS)
        }
        StoreAction::Compact { store } => {
            local_only(&store, "compact")?;
            let s = lateral_store::compact(&store, &mut |m| on_wait(m))?;
            println!(
                "compacted {} partition(s): {} file(s) into {} ({} events); generation {}",
                s.partitions, s.files_before, s.files_after, s.rows, s.generation
            );
            Ok(ExitCode::SUCCESS)
        }
        StoreAction::Expire { before, store } => {
            local_only(&store, "expire")?;
            let date = chrono::NaiveDate::parse_from_str(before.trim(), "%Y-%m-%d")
                .with_context(|| format!("--before {before:?}: expected a date YYYY-MM-DD"))?;
            let s = lateral_store::expire(&store, date, &mut |m| on_wait(m))?;
            println!(
                "expired {} day(s) before {date}: {} file(s), {} events; generation {}",
                s.days.len(),
                s.files,
                s.rows,
                s.generation
            );
            for d in &s.days {
                println!("  {d}");
            }
            Ok(ExitCode::SUCCESS)
        }
        StoreAction::Push { store, dest } => {
            if let Some(s) = url_given(&store) {
                anyhow::bail!(
                    "--store {s}: push copies a store in a local folder (--store DIR) to a bucket (s3://BUCKET/PREFIX)"
                );
            }
            let lateral_store::Location::Object(root) = lateral_store::Location::parse(&dest)?
            else {
                anyhow::bail!("{dest}: push copies a store to a bucket: give s3://BUCKET/PREFIX");
            };
            let verbose = std::io::stderr().is_terminal();
            let s = lateral_store::push(&store, &root, &mut |m| {
                if verbose {
                    eprintln!("{m}");
                }
            })
            .await
            .with_context(|| format!("cannot push {} to {dest}", store.display()))?;
            println!(
                "pushed {} to {}: {} file(s) uploaded ({}), {} already there, {} object(s) no longer listed deleted; generation {} (was {})",
                store.display(),
                root.url(),
                s.files_uploaded,
                human_bytes(s.bytes_uploaded),
                s.files_present,
                s.objects_deleted,
                s.generation,
                s.previous_generation
                    .map(|g| g.to_string())
                    .unwrap_or_else(|| "none".into())
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn human_bytes(b: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// Progress of an ingest on stderr, only when stderr is a terminal.
struct Progress {
    done: Arc<std::sync::atomic::AtomicBool>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl Progress {
    fn start(c: Arc<IngestCounters>) -> Progress {
        let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        if !std::io::stderr().is_terminal() {
            return Progress { done, handle: None };
        }
        let flag = done.clone();
        let handle = std::thread::spawn(move || {
            let bar = indicatif::ProgressBar::new(1);
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:30} {bytes}/{total_bytes} {msg}",
            ) {
                bar.set_style(style);
            }
            while !flag.load(Ordering::Relaxed) {
                bar.set_length(c.bytes_total.load(Ordering::Relaxed).max(1));
                bar.set_position(c.bytes_done.load(Ordering::Relaxed));
                bar.set_message(format!(
                    "{} events, {} sources, {} commits",
                    c.events.load(Ordering::Relaxed),
                    c.sources_done.load(Ordering::Relaxed),
                    c.commits.load(Ordering::Relaxed)
                ));
                std::thread::sleep(Duration::from_millis(120));
            }
            bar.finish_and_clear();
        });
        Progress {
            done,
            handle: Some(handle),
        }
    }

    fn finish(mut self) {
        self.done.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}
