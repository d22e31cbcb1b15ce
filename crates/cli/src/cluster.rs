//! `lateral cluster scheduler|executor`: start a Ballista scheduler or executor from this
//! binary (lateral-cluster does the work), and `--engine df://HOST:PORT`: open the store on a
//! session whose plans run on that cluster.

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use lateral_engine::Engine;

pub const CLUSTER_EXAMPLES: &str = "Examples:
  lateral cluster scheduler --bind 127.0.0.1:50050
  lateral cluster executor --scheduler 127.0.0.1:50050 --flight-port 50051 --grpc-port 50052 --work-dir /var/tmp/lateral-exec1
  lateral cluster executor --scheduler 127.0.0.1:50050 --flight-port 50061 --grpc-port 50062 --work-dir /var/tmp/lateral-exec2
  lateral hunt --store /shared/store --engine df://127.0.0.1:50050

Ballista has no authentication and no TLS: addresses other than loopback are refused unless
--allow-remote is given (see docs/cluster.md). Queries through --engine need --store DIR, at a
path every executor can read. Log level: RUST_LOG (default info).";

#[derive(Args, Debug)]
pub struct ClusterArgs {
    #[command(subcommand)]
    command: ClusterCommand,
}

#[derive(Subcommand, Debug)]
enum ClusterCommand {
    /// Start a Ballista scheduler (runs until killed).
    #[command(after_help = CLUSTER_EXAMPLES)]
    Scheduler(SchedulerArgs),
    /// Start a Ballista executor registered with a scheduler (stops on SIGTERM or Ctrl-C).
    #[command(after_help = CLUSTER_EXAMPLES)]
    Executor(ExecutorArgs),
}

#[derive(Args, Debug)]
struct SchedulerArgs {
    /// Address to listen on (HOST:PORT or HOST; port 50050 by default).
    #[arg(long, default_value = "127.0.0.1:50050", value_name = "ADDR")]
    bind: String,
    /// Allow a non-loopback address (no authentication, no TLS: see docs/cluster.md).
    #[arg(long)]
    allow_remote: bool,
}

#[derive(Args, Debug)]
struct ExecutorArgs {
    /// The scheduler's address (HOST:PORT).
    #[arg(long, value_name = "ADDR")]
    scheduler: String,
    /// Address to listen on and advertise to clients (an IP address).
    #[arg(long, default_value = "127.0.0.1", value_name = "ADDR")]
    bind: String,
    /// Host name or address clients and other executors use to reach this executor
    /// (default: --bind; needed when binding 0.0.0.0).
    #[arg(long, value_name = "HOST")]
    external_host: Option<String>,
    /// Arrow Flight port (shuffle data and results).
    #[arg(long, default_value_t = 50051, value_name = "P")]
    flight_port: u16,
    /// gRPC port (task launch).
    #[arg(long, default_value_t = 50052, value_name = "P")]
    grpc_port: u16,
    /// Folder for shuffle files (default: a folder named after the ports under the system
    /// temporary folder).
    #[arg(long, value_name = "DIR")]
    work_dir: Option<PathBuf>,
    /// Tasks run at once (default: the number of cores).
    #[arg(long)]
    concurrent_tasks: Option<usize>,
    /// Allow non-loopback addresses (no authentication, no TLS: see docs/cluster.md).
    #[arg(long)]
    allow_remote: bool,
}

fn init_logger() {
    let env = env_logger::Env::default().default_filter_or("info");
    // A second initialisation (never in this binary) would only keep the first logger.
    let _ = env_logger::Builder::from_env(env).try_init();
}

pub async fn cluster(a: ClusterArgs) -> Result<ExitCode> {
    init_logger();
    match a.command {
        ClusterCommand::Scheduler(s) => {
            let bind = lateral_cluster::resolve(&s.bind, 50050, s.allow_remote)?;
            eprintln!("lateral cluster scheduler listening on {bind} (no authentication, no TLS)");
            lateral_cluster::run_scheduler(bind)
                .await
                .context("the scheduler stopped")?;
        }
        ClusterCommand::Executor(e) => {
            let scheduler = lateral_cluster::resolve(&e.scheduler, 50050, e.allow_remote)?;
            let bind: IpAddr = e
                .bind
                .parse()
                .with_context(|| format!("--bind {:?}: expected an IP address", e.bind))?;
            lateral_cluster::ensure_allowed(bind, &e.bind, e.allow_remote)?;
            if e.flight_port == e.grpc_port {
                bail!("--flight-port and --grpc-port must differ");
            }
            let work_dir = e.work_dir.unwrap_or_else(|| {
                std::env::temp_dir().join(format!(
                    "lateral-executor-{}-{}",
                    e.flight_port, e.grpc_port
                ))
            });
            let vcores = e.concurrent_tasks.unwrap_or_else(|| {
                std::thread::available_parallelism()
                    .map(|n| n.get())
                    .unwrap_or(2)
            });
            eprintln!(
                "lateral cluster executor on {bind} (flight {}, grpc {}), scheduler {scheduler}, work dir {}",
                e.flight_port,
                e.grpc_port,
                work_dir.display()
            );
            lateral_cluster::run_executor(lateral_cluster::ExecutorOptions {
                scheduler,
                bind,
                external_host: e.external_host.unwrap_or_else(|| bind.to_string()),
                flight_port: e.flight_port,
                grpc_port: e.grpc_port,
                work_dir,
                vcores,
            })
            .await
            .context("the executor stopped")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The engine over `store` with its plans running on the cluster at `url`.
pub async fn open_remote(url: &str, paths: &[PathBuf], store: Option<&str>) -> Result<Engine> {
    let Some(store) = store else {
        bail!("--engine {url} runs queries over an event store: give --store DIR or --store s3://BUCKET/PREFIX (a store every executor can read at the same path or URL; `lateral ingest PATH... --store DIR` writes one, `lateral store push --store DIR s3://...` copies it to a bucket)");
    };
    if !paths.is_empty() {
        bail!(
            "--engine {url} reads only the store: evidence paths ({}) are read by this process and cannot run on the cluster; ingest them first (`lateral ingest PATH... --store DIR`)",
            paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        );
    }
    let snapshot = lateral_engine::open_snapshot(store).await?;
    let ctx = lateral_cluster::remote_context(url, lateral_cluster::DEFAULT_PARTITIONS).await?;
    Ok(Engine::open_store_on(snapshot, ctx)?)
}
