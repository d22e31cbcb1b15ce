//! # lateral-cluster
//!
//! Owns lateral's scale-out on Apache DataFusion Ballista, and is the only crate that depends
//! on Ballista: it starts a Ballista scheduler ([`run_scheduler`]) and executor
//! ([`run_executor`]) inside the `lateral` binary with lateral's UDM query functions
//! (`lateral_query::udfs()`) registered on both, and builds the client session
//! ([`remote_context`]) that sends the engine's logical plans to a scheduler given as
//! `df://HOST:PORT`. The scheduler and executors reach stores held in S3-compatible buckets
//! through `lateral_store::ObjectStores`, configured from their own `AWS_*` environment.
//!
//! It must not build queries, register tables or decide what a query means: the engine
//! (`lateral-engine`) plans over whatever `SessionContext` it is given, and the same logical
//! plans run embedded or here. It must not add cluster code of its own (scheduling, shuffles,
//! retries are Ballista's), and it must not accept a non-loopback address unless the caller
//! says so explicitly: Ballista has no authentication and its traffic is not encrypted.

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::Arc;

use ballista::prelude::{SessionConfigExt, SessionContextExt};
use ballista_core::registry::BallistaFunctionRegistry;
use ballista_executor::executor_process::{start_executor_process, ExecutorProcessConfig};
use ballista_scheduler::cluster::{BallistaCluster, ClusterStateEvent};
use ballista_scheduler::config::SchedulerConfig;
use ballista_scheduler::scheduler_process::{create_scheduler, start_grpc_service};
use ballista_scheduler::scheduler_server::SchedulerServer;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::execution::FunctionRegistry;
use datafusion::prelude::{SessionConfig, SessionContext};
use datafusion_proto::protobuf::{LogicalPlanNode, PhysicalPlanNode};
use futures::StreamExt;

/// Default partitions a cluster query is planned with (Ballista's own default is 16, tuned
/// for large clusters; two small executors do better with fewer, larger tasks).
pub const DEFAULT_PARTITIONS: usize = 4;

/// Seconds between an executor's heartbeats (Ballista: 60).
pub const HEARTBEAT_SECONDS: u64 = 5;
/// Seconds without a heartbeat before the scheduler drops an executor and runs its tasks
/// again elsewhere (Ballista: 180). With executors killed rather than stopped, this bounds how
/// long a query waits for the work a dead executor held.
pub const EXECUTOR_TIMEOUT_SECONDS: u64 = 20;
/// Seconds without a heartbeat after which lateral's scheduler cancels the running queries:
/// two missed heartbeats, well before Ballista drops the executor and starts redoing its work
/// ([`EXECUTOR_TIMEOUT_SECONDS`], checked every [`HEARTBEAT_SECONDS`]).
pub const SILENT_EXECUTOR_SECONDS: u64 = 12;

/// Cluster errors.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("{0}")]
    Address(String),
    #[error("{addr} is not a loopback address: Ballista has no authentication and no TLS, so anyone who can reach the port can run queries over every file the executors can read; pass --allow-remote to bind it anyway (see docs/cluster.md)")]
    NotLoopback { addr: String },
    #[error("{0:?} is not a cluster URL: expected df://HOST:PORT")]
    Url(String),
    #[error("cannot create the work folder {path}: {source}")]
    WorkDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("ballista: {0}")]
    Ballista(#[from] ballista_core::error::BallistaError),
    #[error("query engine: {0}")]
    DataFusion(#[from] datafusion::error::DataFusionError),
}

/// Resolve `addr` (`HOST:PORT`, or `HOST` with `default_port`) to one socket address and
/// check it is loopback unless `allow_remote`.
pub fn resolve(
    addr: &str,
    default_port: u16,
    allow_remote: bool,
) -> Result<SocketAddr, ClusterError> {
    let with_port = if addr
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
        && !addr.ends_with(']')
    {
        addr.to_string()
    } else {
        format!("{addr}:{default_port}")
    };
    let resolved = with_port
        .to_socket_addrs()
        .map_err(|e| ClusterError::Address(format!("cannot resolve {addr:?}: {e}")))?
        .next()
        .ok_or_else(|| ClusterError::Address(format!("{addr:?} resolves to no address")))?;
    ensure_allowed(resolved.ip(), addr, allow_remote)?;
    Ok(resolved)
}

/// `Err(NotLoopback)` when `ip` is not a loopback address and `allow_remote` is false; `shown`
/// is the address as the operator wrote it.
pub fn ensure_allowed(ip: IpAddr, shown: &str, allow_remote: bool) -> Result<(), ClusterError> {
    if !allow_remote && !is_loopback(ip) {
        return Err(ClusterError::NotLoopback {
            addr: shown.to_string(),
        });
    }
    Ok(())
}

fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v| v.is_loopback()),
    }
}

/// `df://HOST:PORT` → (`HOST`, `PORT`); the port defaults to 50050.
pub fn parse_url(url: &str) -> Result<(String, u16), ClusterError> {
    let rest = url
        .strip_prefix("df://")
        .ok_or_else(|| ClusterError::Url(url.to_string()))?;
    let rest = rest.trim_end_matches('/');
    if rest.is_empty() || rest.contains('/') {
        return Err(ClusterError::Url(url.to_string()));
    }
    match rest.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() => {
            let port = port
                .parse::<u16>()
                .map_err(|_| ClusterError::Url(url.to_string()))?;
            Ok((host.to_string(), port))
        }
        Some(_) => Err(ClusterError::Url(url.to_string())),
        None => Ok((rest.to_string(), 50050)),
    }
}

/// A client session whose queries run on the Ballista scheduler at `url` (`df://HOST:PORT`),
/// with lateral's query functions registered and `partitions` target partitions. The session
/// connects lazily: an unreachable scheduler is reported by the first query.
pub async fn remote_context(url: &str, partitions: usize) -> Result<SessionContext, ClusterError> {
    let (host, port) = parse_url(url)?;
    let config = SessionConfig::new_with_ballista()
        .with_ballista_adaptive_query_planner(false)
        .with_target_partitions(partitions.max(1))
        .with_information_schema(true);
    let mut state = SessionStateBuilder::new()
        .with_default_features()
        .with_config(config)
        .build();
    register_udfs(&mut state)?;
    let ctx = SessionContext::remote_with_state(&format!("df://{host}:{port}"), state).await?;
    Ok(ctx)
}

fn register_udfs(registry: &mut dyn FunctionRegistry) -> Result<(), ClusterError> {
    for udf in lateral_query::udfs() {
        registry.register_udf(Arc::new(udf))?;
    }
    Ok(())
}

/// Start a scheduler listening on `bind`; runs until the process ends.
pub async fn run_scheduler(bind: SocketAddr) -> Result<(), ClusterError> {
    let host = bind.ip().to_string();
    let object_stores = Arc::new(lateral_store::ObjectStores::new());
    let mut config = SchedulerConfig::default()
        .with_hostname(host.clone())
        .with_port(bind.port())
        .with_enable_embedded_flight_proxy(false)
        .with_override_session_builder(Arc::new(move |cfg: SessionConfig| {
            let state = ballista_core::utils::default_session_builder(cfg)?;
            // Planning lists and reads the footers of the store's files: the scheduler must
            // reach the buckets too.
            let runtime = RuntimeEnvBuilder::new()
                .with_object_store_registry(object_stores.clone())
                .build()?;
            let mut state = SessionStateBuilder::new_from_existing(state)
                .with_runtime_env(Arc::new(runtime))
                .build();
            for udf in lateral_query::udfs() {
                state.register_udf(Arc::new(udf))?;
            }
            Ok(state)
        }));
    config.bind_host = host;
    config.executor_timeout_seconds = EXECUTOR_TIMEOUT_SECONDS;
    config.no_executors_grace_period_seconds = EXECUTOR_TIMEOUT_SECONDS;
    config.expire_dead_executor_interval_seconds = HEARTBEAT_SECONDS;
    config.validate()?;
    let cluster = BallistaCluster::new_from_config(&config).await?;
    let scheduler =
        create_scheduler::<LogicalPlanNode, PhysicalPlanNode>(cluster, Arc::new(config)).await?;
    let events = scheduler.cluster_state_events().await?;
    tokio::spawn(cancel_on_removed_executor(scheduler.clone(), events));
    tokio::spawn(cancel_on_silent_executor(scheduler.clone()));
    start_grpc_service(bind, scheduler).await?;
    Ok(())
}

/// What a client is told when its query was stopped because an executor left the cluster.
pub const EXECUTOR_LOST: &str =
    "an executor left the cluster or stopped answering while the query ran";

/// A hint for an error a cluster query ended with, when lateral knows why it happened: a job
/// cancelled by the scheduler (lateral's scheduler cancels running jobs when an executor
/// stops answering or leaves; lateral itself never cancels a job otherwise).
pub fn explain(error: &str) -> Option<String> {
    error.contains("failed: Cancelled").then(|| {
        format!("the scheduler cancelled the query because {EXECUTOR_LOST} (its log names the executor); Ballista 55 cannot be trusted to redo a lost executor's work, so lateral fails the query rather than risk wrong counts: run the command again (docs/cluster.md)")
    })
}

/// Lateral's scheduler cancels every running job when an executor stops answering or leaves
/// the cluster, so the client gets an error instead of an answer Ballista 55 may get wrong.
///
/// Ballista redoes a lost executor's work itself once it drops the executor, but in version
/// 55 that recovery is not safe: with the adaptive planner a rerun stage's output is refused
/// ("Can't find active stage to update stage outputs") and the job never ends; with the
/// static planner, when a running stage is rolled back, the outputs its tasks on surviving
/// executors had already handed to the next stage are kept and the rerun adds them again, so
/// rows are counted twice (seen here: 3 of 6 recovered `GROUP BY` queries returned duplicated
/// groups). A hunt must not report inflated counts, so the query fails and is run again
/// (docs/cluster.md). The cancellation must reach the job before the recovery can finish, so
/// it is made when an executor has been silent for [`SILENT_EXECUTOR_SECONDS`], before
/// Ballista drops it; cancelling when Ballista announces the removal (an executor that
/// stopped and deregistered) races with the recovery and can lose.
async fn cancel_running_jobs(
    scheduler: &SchedulerServer<LogicalPlanNode, PhysicalPlanNode>,
    executor_id: &str,
    why: &str,
) {
    let running = scheduler.state.task_manager.get_running_job_cache();
    for job_id in running.keys() {
        log::warn!(
            "cancelling job {job_id}: {EXECUTOR_LOST} (executor {executor_id} {why}); Ballista 55 cannot be trusted to redo its work correctly"
        );
        if let Err(e) = scheduler.cancel_job(job_id.clone()).await {
            log::error!("cannot cancel job {job_id} after executor {executor_id} {why}: {e}");
        }
    }
}

/// Every second: an executor whose last heartbeat is [`SILENT_EXECUTOR_SECONDS`] old gets
/// the running jobs cancelled, once per silence.
async fn cancel_on_silent_executor(scheduler: SchedulerServer<LogicalPlanNode, PhysicalPlanNode>) {
    let mut silent = std::collections::BTreeSet::new();
    loop {
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let Ok(executors) = scheduler.state.executor_manager.get_executors_state().await else {
            continue;
        };
        for (meta, last, _) in executors {
            let quiet =
                last.is_some_and(|t| now.saturating_sub(t.as_secs()) >= SILENT_EXECUTOR_SECONDS);
            if !quiet {
                silent.remove(&meta.id);
            } else if silent.insert(meta.id.clone()) {
                cancel_running_jobs(&scheduler, &meta.id, "stopped sending heartbeats").await;
            }
        }
    }
}

/// When Ballista removes an executor (it stopped and deregistered, or timed out), cancel the
/// jobs still running.
async fn cancel_on_removed_executor(
    scheduler: SchedulerServer<LogicalPlanNode, PhysicalPlanNode>,
    mut events: ballista_scheduler::cluster::ClusterStateEventStream,
) {
    while let Some(event) = events.next().await {
        if let ClusterStateEvent::RemovedExecutor { executor_id } = event {
            cancel_running_jobs(&scheduler, &executor_id, "left the cluster").await;
        }
    }
}

/// How to start an executor.
#[derive(Debug, Clone)]
pub struct ExecutorOptions {
    /// The scheduler to register with.
    pub scheduler: SocketAddr,
    /// Address the executor listens on.
    pub bind: IpAddr,
    /// Host name or address advertised to clients and other executors (they fetch results
    /// and shuffle data from it).
    pub external_host: String,
    /// Arrow Flight port (shuffle data and results).
    pub flight_port: u16,
    /// gRPC port (task launch).
    pub grpc_port: u16,
    /// Folder for shuffle files; created when missing.
    pub work_dir: PathBuf,
    /// Tasks run at once.
    pub vcores: usize,
}

/// Start an executor registered with a scheduler; returns after SIGTERM or Ctrl-C.
pub async fn run_executor(opts: ExecutorOptions) -> Result<(), ClusterError> {
    std::fs::create_dir_all(&opts.work_dir).map_err(|source| ClusterError::WorkDir {
        path: opts.work_dir.clone(),
        source,
    })?;
    let work_dir =
        std::fs::canonicalize(&opts.work_dir).map_err(|source| ClusterError::WorkDir {
            path: opts.work_dir.clone(),
            source,
        })?;
    let mut registry = BallistaFunctionRegistry::default();
    for udf in lateral_query::udfs() {
        registry
            .scalar_functions
            .insert(udf.name().to_string(), Arc::new(udf));
    }
    // Tasks read the store's files: from a shared folder, or from S3-compatible buckets
    // through one registry (a client per bucket, from this process's AWS_* environment).
    let object_stores = Arc::new(lateral_store::ObjectStores::new());
    let spill_dir = work_dir.clone();
    let runtime: ballista_core::RuntimeProducer = Arc::new(move |_cfg: &SessionConfig| {
        let runtime = RuntimeEnvBuilder::new()
            .with_temp_file_path(spill_dir.clone())
            .with_object_store_registry(object_stores.clone())
            .build()?;
        Ok(Arc::new(runtime))
    });
    let c = ExecutorProcessConfig {
        bind_host: opts.bind.to_string(),
        external_host: Some(opts.external_host.clone()),
        port: opts.flight_port,
        grpc_port: opts.grpc_port,
        scheduler_host: opts.scheduler.ip().to_string(),
        scheduler_port: opts.scheduler.port(),
        work_dir: Some(work_dir.to_string_lossy().into_owned()),
        vcores: opts.vcores.max(1),
        job_data_clean_up_interval_seconds: 60,
        executor_heartbeat_interval_seconds: HEARTBEAT_SECONDS,
        override_function_registry: Some(Arc::new(registry)),
        override_runtime_producer: Some(runtime),
        ..ExecutorProcessConfig::default()
    };
    start_executor_process(Arc::new(c)).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cancelled_jobs_are_explained() {
        let e = "query engine: Execution error: Job 038JATAHB0000 failed: Cancelled";
        assert!(explain(e).is_some_and(|h| h.contains("executor left the cluster")));
        assert!(explain("Job 1 failed: Task failed: out of memory").is_none());
    }

    #[test]
    fn urls() {
        assert_eq!(
            parse_url("df://127.0.0.1:5000").ok(),
            Some(("127.0.0.1".to_string(), 5000))
        );
        assert_eq!(
            parse_url("df://localhost").ok(),
            Some(("localhost".to_string(), 50050))
        );
        assert!(parse_url("http://127.0.0.1:5000").is_err());
        assert!(parse_url("df://:5000").is_err());
        assert!(parse_url("df://h:notaport").is_err());
    }

    #[test]
    fn loopback_only_unless_allowed() {
        assert!(resolve("127.0.0.1:50050", 1, false).is_ok());
        assert_eq!(
            resolve("127.0.0.1", 50050, false).ok().map(|a| a.port()),
            Some(50050)
        );
        assert!(matches!(
            resolve("10.1.2.3:50050", 1, false),
            Err(ClusterError::NotLoopback { .. })
        ));
        assert!(resolve("10.1.2.3:50050", 1, true).is_ok());
        assert!(matches!(
            resolve("0.0.0.0:50050", 1, false),
            Err(ClusterError::NotLoopback { .. })
        ));
    }
}
