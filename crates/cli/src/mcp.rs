//! `lateral mcp`: the MCP server (stdio, or streamable HTTP with --http).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Args;

pub const MCP_EXAMPLES: &str = "Examples:
  lateral mcp --evidence ./evidence
  lateral mcp --evidence ./evidence --evidence triage.zip --db cases.db
  lateral mcp --evidence ./evidence --http 127.0.0.1:8765
  lateral mcp --store /cases/acme/store --db cases.db
  lateral mcp --store /shared/store --engine df://scheduler:50050
  LATERAL_MCP_TOKEN=s3cret lateral mcp --evidence ./evidence --http 0.0.0.0:8765
  lateral mcp --evidence ./evidence --ioc iocs.csv --ioc feed.csv

Serves the tools of Google's secops-mcp and secops-soar servers (search_security_events,
search_udm, lookup_entity, get_threat_intel, get_security_alerts, list_security_rules,
list_cases, get_case_full_details, post_case_comment, change_case_priority, create_case,
list_alerts_by_case, list_events_by_alert, get_ioc_matches, export_udm_search_csv,
find_udm_field_values) plus run_lateral_movement_hunt, analyze_pcap and process_tree, over the
evidence read once at start-up. IOC lists are CSV files of value,type,description,source (type:
ip, cidr, domain, url, hash, file, account, other, or empty to infer it); bad lines are
reported with file and line and skipped. Paths given to tools must lie inside --evidence. stdio by default; with --http, streamable HTTP at http://ADDR/mcp.
A non-loopback address needs a bearer token, which is then checked on every request.
See docs/mcp.md for registering it with Claude Desktop and Cline.";

#[derive(Args, Debug)]
pub struct McpArgs {
    /// Evidence file or folder to load (repeatable); read once when the server starts.
    #[arg(long, value_name = "PATH")]
    evidence: Vec<PathBuf>,
    /// Event store written by `lateral ingest`, read with (or instead of) --evidence.
    /// A folder, or an S3-compatible bucket as s3://BUCKET/PREFIX (credentials and endpoint
    /// from the AWS_* environment variables; see docs/store.md).
    #[arg(long, value_name = "DIR|URL")]
    store: Option<String>,
    /// Run every tool's queries on a Ballista cluster (`lateral cluster`) over --store (a
    /// path or bucket every executor can read) instead of holding the events in this process.
    #[arg(long, value_name = "df://HOST:PORT", requires = "store")]
    engine: Option<String>,
    /// Case database; default: $LATERAL_DB, else ~/.local/share/lateral/cases.db.
    #[arg(long, value_name = "PATH")]
    db: Option<PathBuf>,
    /// Serve streamable HTTP on this address (e.g. 127.0.0.1:8765) instead of stdio.
    #[arg(long, value_name = "ADDR")]
    http: Option<SocketAddr>,
    /// Local IOC list (CSV: value,type,description,source) for get_ioc_matches (repeatable).
    #[arg(long, value_name = "FILE")]
    ioc: Vec<PathBuf>,
    /// Do not hold the original records (lateral.raw) in memory: less memory, but no
    /// include_raw and no queries on lateral.raw.
    #[arg(long)]
    no_raw: bool,
    /// Bearer token HTTP clients must send (default: $LATERAL_MCP_TOKEN).
    #[arg(long, env = "LATERAL_MCP_TOKEN", hide_env_values = true)]
    token: Option<String>,
}

pub async fn mcp(a: McpArgs) -> Result<ExitCode> {
    if let Some(addr) = &a.http {
        lateral_mcp::check_bind(addr, a.token.as_deref())?;
    }
    let db = lateral_cases::resolve_db_path(a.db.clone())?;
    let config = lateral_mcp::Config {
        evidence: a.evidence.clone(),
        store: a.store.clone(),
        db,
        iocs: a.ioc.clone(),
        no_raw: a.no_raw,
    };
    let remote = match &a.engine {
        Some(url) => match crate::open_engine(&a.evidence, a.store.as_deref(), Some(url)).await? {
            Ok(engine) => Some(engine),
            Err(code) => return Ok(code),
        },
        None => None,
    };
    let state = lateral_mcp::State::load_on(&config, remote)
        .await
        .context("cannot start the MCP server")?;
    let held = state.held();
    if let Some(url) = &a.engine {
        eprintln!(
            "lateral mcp: queries run on the cluster at {url} over the store {}; cases in {}",
            a.store.as_deref().unwrap_or_default(),
            config.db.display()
        );
    } else {
        eprintln!(
        "lateral mcp: {} event(s) from {} source(s) held in memory ({:.1} MiB, of which original records {:.1} MiB); cases in {}",
        state.events(),
        state.sources(),
        held.bytes as f64 / 1048576.0,
        held.raw_bytes as f64 / 1048576.0,
        config.db.display()
    );
    }
    for p in state.ioc_problems() {
        eprintln!("warning: skipped IOC list line: {p}");
    }
    if !a.ioc.is_empty() {
        eprintln!("lateral mcp: {} IOC list entries loaded", state.iocs());
    }
    let state = Arc::new(state);
    // The hunt over all the evidence, whose findings lookup_entity lists, runs while the
    // server starts answering; the first lookup waits only for what is left of it.
    let warm = state.warm_up();
    let started = std::time::Instant::now();
    tokio::spawn(async move {
        match warm.await {
            Ok(Ok(n)) => eprintln!(
                "lateral mcp: detection hunt over all the evidence done in {:.1} s: {n} finding(s)",
                started.elapsed().as_secs_f64()
            ),
            Ok(Err(e)) => eprintln!("warning: the detection hunt failed: {e}"),
            Err(e) => eprintln!("warning: the detection hunt stopped: {e}"),
        }
    });
    match a.http {
        None => lateral_mcp::serve_stdio(state).await?,
        Some(addr) => {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen on {addr}"))?;
            let bound = listener.local_addr()?;
            eprintln!("lateral mcp: listening on http://{bound}/mcp");
            lateral_mcp::serve_http(state, listener, a.token).await?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
