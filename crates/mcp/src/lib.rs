//! # lateral-mcp
//!
//! Owns the MCP server behind `lateral mcp`: the tools of Google's `secops-mcp` and
//! `secops-soar` servers (same names, parameters and response shapes, our own descriptions)
//! answered from local evidence held in memory, the lateral-movement hunt, the ATT&CK
//! knowledge base and the case store; the stdio and streamable-HTTP transports (loopback
//! only unless a bearer token is configured; the token is checked on every request); and the
//! plain-English translator of `search_security_events` ([`translate`]); the local IOC lists
//! given with `--ioc`; and the confinement of every path a tool receives to the evidence
//! roots ([`Server::confined`]).
//!
//! Wire behaviour follows the Python servers: unknown arguments are ignored, numbers may come
//! as strings, backend errors are tool content (not protocol errors), and dict results are
//! sent as indented JSON text plus `structuredContent: {"result": ...}`.
//!
//! It must not parse evidence formats, compile queries to SQL text, decide what is suspicious
//! (the hunt does), analyse processes, IOC sightings or captures (lateral-lookup and
//! lateral-pcap do) or store cases itself (lateral-cases does); it holds no logic those
//! crates own, only the mapping from tool calls to them.

pub mod args;
pub mod translate;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use lateral_cases::{Priority, Store};
use lateral_engine::rows::{to_json_rows, Style};
use lateral_engine::{Engine, SearchRequest, WindowSpec};
use lateral_hunt::{HuntReport, HuntRequest, Pack};
use lateral_intel::{IocSet, KnowledgeBase};
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, ContentBlock, Implementation, ServerCapabilities, ServerConfig};
use rmcp::{tool, tool_handler, tool_router, ServerHandler, ServiceExt};
use serde_json::{json, Value};

use crate::args::*;

/// Server errors (start-up and transport; tool failures are tool content).
#[derive(Debug, thiserror::Error)]
pub enum McpError {
    #[error("engine: {0}")]
    Engine(#[from] lateral_engine::EngineError),
    #[error("cases: {0}")]
    Cases(#[from] lateral_cases::CaseError),
    #[error("hunt pack: {0}")]
    Pack(#[from] lateral_hunt::pack::PackError),
    #[error("intel: {0}")]
    Intel(#[from] lateral_intel::IntelError),
    #[error("{0}")]
    Config(String),
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
}

/// What the server is started with.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// Evidence files or folders, read once at start-up; tools taking paths are confined to
    /// them.
    pub evidence: Vec<PathBuf>,
    /// A Parquet event store (`lateral ingest`) read with the evidence, if any: a folder or
    /// an `s3://BUCKET/PREFIX` URL.
    pub store: Option<String>,
    /// The case database.
    pub db: PathBuf,
    /// Local IOC lists (CSV) behind `get_ioc_matches`.
    pub iocs: Vec<PathBuf>,
    /// Leave the original records (`lateral.raw`) out of memory (`--no-raw`).
    pub no_raw: bool,
}

/// Everything the tools share.
pub struct State {
    engine: Engine,
    roots: Vec<PathBuf>,
    store: Store,
    pack: Pack,
    kb: KnowledgeBase,
    iocs: IocSet,
    ioc_problems: Vec<String>,
    /// Hunt reports by everything that changes them (hours, scope, hypothesis), so alerts,
    /// lookups and repeated hunts do not re-run the hunt.
    hunts: tokio::sync::Mutex<BTreeMap<HuntKey, Arc<HuntReport>>>,
    /// The hunt over everything held, run once (in the background from [`State::warm_up`],
    /// or by the first tool that needs it): the alerts `lookup_entity` lists, filtered to its
    /// window, as a SIEM's detections are computed ahead of the analyst's lookups.
    detections: tokio::sync::OnceCell<Result<Arc<HuntReport>, String>>,
    hints: translate::Hints,
    held: lateral_engine::Held,
}

/// What a hunt report depends on; the case id only decides where it is posted.
type HuntKey = (i64, Option<String>, Option<String>);

impl State {
    /// Read the evidence into memory and open the case store.
    pub async fn load(config: &Config) -> Result<State, McpError> {
        Self::load_on(config, None).await
    }

    /// [`State::load`], or with `remote` (an engine over the store whose plans run on a
    /// cluster, made by the caller) nothing held in memory: every tool's query runs on the
    /// cluster. `config.evidence` must then be empty (the evidence scan cannot run there).
    pub async fn load_on(config: &Config, remote: Option<Engine>) -> Result<State, McpError> {
        let mut iocs = IocSet::default();
        let mut ioc_problems = Vec::new();
        for path in &config.iocs {
            let (set, problems) = IocSet::load_lenient(path)?;
            iocs.extend(set);
            ioc_problems.extend(problems.iter().map(ToString::to_string));
        }
        let (engine, held) = match remote {
            Some(engine) => (engine, lateral_engine::Held::default()),
            None => {
                let mut engine =
                    Engine::open_with_store(&config.evidence, config.store.as_deref()).await?;
                // The original records stay available (queries on lateral.raw, CSV export,
                // include_raw) unless --no-raw; BENCHMARKS.md says what they cost.
                let held = engine.hold_in_memory(!config.no_raw).await?;
                (engine, held)
            }
        };
        let store = Store::open(&config.db)?;
        let pack = Pack::load(&[])?;
        let imported =
            lateral_intel::ImportedSet::load(&lateral_intel::ImportedSet::beside(&config.db))?;
        let kb = KnowledgeBase::new(lateral_intel::builtin()?, imported.as_ref())
            .with_queries(pack.query_refs());
        let sysmon = engine.stats().coverage().keys().any(|(_, ch, id)| {
            ch.eq_ignore_ascii_case("Microsoft-Windows-Sysmon/Operational") && *id == 1
        });
        let roots = config
            .evidence
            .iter()
            .map(|p| std::fs::canonicalize(p).unwrap_or_else(|_| p.clone()))
            .collect();
        Ok(State {
            engine,
            roots,
            store,
            pack,
            kb,
            iocs,
            ioc_problems,
            hunts: tokio::sync::Mutex::new(BTreeMap::new()),
            detections: tokio::sync::OnceCell::new(),
            hints: translate::Hints {
                sysmon_process_creation: sysmon,
            },
            held,
        })
    }

    /// The hunt over all the evidence held (every query and correlation, no window), run
    /// once; later calls share its report.
    pub async fn detections(&self) -> Result<Arc<HuntReport>, String> {
        self.detections
            .get_or_init(|| async {
                let req = HuntRequest {
                    window: WindowSpec {
                        hours_back: 0.0,
                        start: None,
                        end: None,
                        now: false,
                        all: true,
                    },
                    scope: None,
                    hypothesis: None,
                    case_id: None,
                    inventory: None,
                };
                lateral_hunt::run(&self.engine, &self.pack, &req)
                    .await
                    .map(Arc::new)
                    .map_err(|e| e.to_string())
            })
            .await
            .clone()
    }

    /// Start [`State::detections`] in the background, so the first `lookup_entity` does not
    /// wait for a whole hunt. Returns the task; its output is the number of findings.
    pub fn warm_up(self: &Arc<Self>) -> tokio::task::JoinHandle<Result<usize, String>> {
        let state = self.clone();
        tokio::spawn(async move { state.detections().await.map(|r| r.findings.len()) })
    }

    /// Events held in memory.
    pub fn events(&self) -> usize {
        self.held.events
    }

    /// What the in-memory table holds (events, bytes, of which original records).
    pub fn held(&self) -> lateral_engine::Held {
        self.held
    }

    /// IOC list entries loaded.
    pub fn iocs(&self) -> usize {
        self.iocs.len()
    }

    /// Bad IOC list lines skipped, each naming its file and line.
    pub fn ioc_problems(&self) -> &[String] {
        &self.ioc_problems
    }

    /// Evidence sources read.
    pub fn sources(&self) -> usize {
        self.engine.source_count()
    }
}

/// The MCP server.
#[derive(Clone)]
pub struct Server {
    state: Arc<State>,
    tool_router: ToolRouter<Self>,
}

type ToolResult = Result<CallToolResult, rmcp::ErrorData>;

/// A dict result: indented JSON text plus `structuredContent: {"result": ...}`.
fn dict(v: Value) -> ToolResult {
    let text =
        serde_json::to_string_pretty(&v).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    let mut r = CallToolResult::success(vec![ContentBlock::text(text)]);
    r.structured_content = Some(json!({ "result": v }));
    Ok(r)
}

/// A string result.
fn text(s: String) -> ToolResult {
    let mut r = CallToolResult::success(vec![ContentBlock::text(s.clone())]);
    r.structured_content = Some(json!({ "result": s }));
    Ok(r)
}

fn window(hours_back: i64, start: Option<&str>, end: Option<&str>) -> Result<WindowSpec, String> {
    if hours_back <= 0 {
        return Err(format!("hours_back must be positive, got {hours_back}"));
    }
    let parse = |s: Option<&str>| -> Result<Option<i64>, String> {
        match s.map(str::trim).filter(|s| !s.is_empty()) {
            None => Ok(None),
            Some(s) => lateral_engine::parse_time(s).map(Some),
        }
    };
    Ok(WindowSpec {
        hours_back: hours_back as f64,
        start: parse(start)?,
        end: parse(end)?,
        now: false,
        all: false,
    })
}

/// `text` with regular-expression metacharacters escaped.
fn regex_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn case_id(text: &str) -> Result<i64, String> {
    lateral_cases::store::parse_case_id(text.trim()).map_err(|e| e.to_string())
}

fn to_value<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

fn parse_priority(s: &str) -> Result<Priority, String> {
    let t = s.trim();
    t.parse::<Priority>()
        .or_else(|_| format!("Priority{}", capitalise(t)).parse::<Priority>())
        .map_err(|_| {
            format!(
                "unknown priority {s:?}: use one of {}",
                Priority::ALL.map(Priority::as_str).join(", ")
            )
        })
}

fn capitalise(s: &str) -> String {
    let lower = s.to_ascii_lowercase();
    let mut c = lower.chars();
    match c.next() {
        Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
        None => String::new(),
    }
}

impl Server {
    pub fn new(state: Arc<State>) -> Server {
        Server {
            state,
            tool_router: Self::tool_router(),
        }
    }

    /// Run a compiled search; the SecOps `events` object.
    async fn search(
        &self,
        filter: datafusion::logical_expr::Expr,
        window: WindowSpec,
        max: Option<i64>,
        include_raw: bool,
    ) -> Result<Value, String> {
        let limit = max.map(|m| m.clamp(0, 100_000) as usize);
        let columns = if include_raw {
            lateral_model::fields::all_fields().collect()
        } else {
            Vec::new()
        };
        let req = SearchRequest {
            filter,
            window,
            limit,
            columns,
        };
        let found = self
            .state
            .engine
            .search(&req)
            .await
            .map_err(|e| e.to_string())?;
        let rows = to_json_rows(&found.batches, Style::NestedCamel);
        let flat = to_json_rows(&found.batches, Style::Flat);
        let events: Vec<Value> = rows
            .into_iter()
            .zip(flat)
            .map(|(mut udm, flat)| {
                let file = flat["lateral.source_file"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                let record = flat["lateral.record_number"].as_i64().unwrap_or_default();
                if !include_raw {
                    return json!({ "name": format!("{file}#{record}"), "udm": udm });
                }
                if let Some(Value::Object(l)) = udm.get_mut("lateral") {
                    l.remove("raw");
                }
                json!({
                    "name": format!("{file}#{record}"),
                    "udm": udm,
                    "raw": flat.get("lateral.raw").cloned().unwrap_or(Value::Null),
                })
            })
            .collect();
        let returned = events.len();
        Ok(json!({
            "events": events,
            "total_events": found.total,
            "more_data_available": returned < found.total,
        }))
    }

    /// A parsed UDM query as a DataFusion filter, with the pack's reference lists.
    fn compile(&self, q: &lateral_query::Query) -> Result<datafusion::logical_expr::Expr, String> {
        lateral_query::compile(q, &self.state.pack.lists).map_err(|e| e.to_string())
    }

    /// A UDM query (no translation) and its time window, as a filter and window spec: what
    /// `search_udm` and `export_udm_search_csv` both take.
    fn udm_request(
        &self,
        query: &str,
        hours_back: i64,
        start: Option<&str>,
        end: Option<&str>,
    ) -> Result<(datafusion::logical_expr::Expr, WindowSpec), String> {
        let q = lateral_query::parse(query).map_err(|e| e.to_string())?;
        let filter = self.compile(&q)?;
        let w = window(hours_back, start, end)?;
        Ok((filter, w))
    }

    /// UDM text → (echo, filter), or the translation of plain English.
    fn understand(
        &self,
        text: &str,
    ) -> Result<(String, datafusion::logical_expr::Expr, Option<f64>), String> {
        if let Ok(q) = lateral_query::parse(text) {
            let filter = self.compile(&q)?;
            return Ok((q.to_udm(), filter, None));
        }
        let t = translate::translate(text, self.state.hints).ok_or_else(|| {
            format!(
                "could not translate {text:?} into a UDM query: name an activity (PsExec service install, WmiPrvSE launching cmd, wmic process call create, network connections, logins, ...) and an entity (on HOST, IP, user NAME), or give a UDM query"
            )
        })?;
        let filter = lateral_lookup::compile(&t.node).map_err(|e| e.to_string())?;
        Ok((lateral_lookup::udm_text(&t.node), filter, t.hours_back))
    }

    /// The hunt over the last `hours`, unscoped (cached).
    async fn hunt(&self, hours: i64) -> Result<Arc<HuntReport>, String> {
        self.hunt_with(hours, None, None).await
    }

    /// The hunt over the last `hours` with a scope and hypothesis, cached by all three.
    async fn hunt_with(
        &self,
        hours: i64,
        scope: Option<String>,
        hypothesis: Option<String>,
    ) -> Result<Arc<HuntReport>, String> {
        let key: HuntKey = (hours, scope.clone(), hypothesis.clone());
        let mut cache = self.state.hunts.lock().await;
        if let Some(r) = cache.get(&key) {
            return Ok(r.clone());
        }
        let req = HuntRequest {
            window: window(hours, None, None)?,
            scope,
            hypothesis,
            case_id: None,
            inventory: None,
        };
        let report = lateral_hunt::run(&self.state.engine, &self.state.pack, &req)
            .await
            .map_err(|e| e.to_string())?;
        let report = Arc::new(report);
        cache.insert(key, report.clone());
        Ok(report)
    }

    /// How many hunts have been run (for tests of the cache).
    pub async fn hunts_cached(&self) -> usize {
        self.state.hunts.lock().await.len()
    }

    fn findings_json(report: &HuntReport) -> Vec<Value> {
        report.findings.iter().map(to_value).collect()
    }

    /// A path a tool was given, confined to the evidence roots: absolute, or relative to
    /// the working directory or to an evidence folder.
    fn resolve_evidence_path(&self, given: &str) -> Result<PathBuf, String> {
        let given = given.trim();
        if given.is_empty() {
            return Err("no path given".into());
        }
        let p = Path::new(given);
        if p.is_relative() && !p.exists() {
            for root in &self.state.roots {
                let candidate = root.join(p);
                if root.is_dir() && candidate.exists() {
                    return self.confined(&candidate);
                }
            }
        }
        self.confined(p)
    }

    /// Whether `path` lies under one of the evidence roots.
    pub fn confined(&self, path: &Path) -> Result<PathBuf, String> {
        let real = std::fs::canonicalize(path)
            .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        if self.state.roots.iter().any(|r| real.starts_with(r)) {
            Ok(real)
        } else {
            Err(format!(
                "{} is outside the evidence roots given with --evidence",
                path.display()
            ))
        }
    }
}

/// A CSV field, quoted when it holds a comma, quote or line break.
fn csv_cell(v: &str) -> String {
    if v.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v.to_string()
    }
}

/// The text of `get_ioc_matches`, in the layout of SecOps' answer, with what we know besides.
fn render_ioc_matches(r: &lateral_lookup::IocReport, max: usize, problems: &[String]) -> String {
    let mut out = if r.matches.is_empty() {
        format!(
            "No IoC matches found for the specified time range ({}; {} indicator(s) compared with {} distinct value(s)).\n",
            r.window.description, r.indicators, r.values_compared
        )
    } else {
        format!(
            "Found {} IoC matches ({}; {} indicator(s) loaded):\n",
            r.matches.len(),
            r.window.description,
            r.indicators
        )
    };
    for (i, m) in r.matches.iter().take(max).enumerate() {
        out.push_str(&format!(
            "\nIoC {}:\nType: {}\nValue: {}\nSources: {}\n",
            i + 1,
            m.ioc.kind.as_str(),
            m.ioc.value,
            m.ioc.source
        ));
        if !m.ioc.description.is_empty() {
            out.push_str(&format!("Description: {}\n", m.ioc.description));
        }
        out.push_str(&format!(
            "Observed: {}\nFields: {}\nFirst Seen: {}\nLast Seen: {}\nEvents: {}\nList: {}\n",
            m.observed.join(", "),
            m.fields.join(", "),
            m.first_seen,
            m.last_seen,
            m.event_count,
            m.ioc.origin
        ));
    }
    if r.matches.len() > max {
        out.push_str(&format!(
            "\n({} more not shown; raise max_matches)\n",
            r.matches.len() - max
        ));
    }
    if !problems.is_empty() {
        out.push_str(&format!("\nSkipped IoC list lines ({}):\n", problems.len()));
        for p in problems {
            out.push_str(&format!("- {p}\n"));
        }
    }
    out
}

fn or_error<T>(r: Result<T, String>, what: &str) -> Result<T, Box<ToolResult>> {
    r.map_err(|e| Box::new(text(format!("Error {what}: {e}"))))
}

#[tool_router]
impl Server {
    /// Search the loaded evidence for events described in plain English ("wmic process call
    /// create on serhatg.local", "network connections involving IP 10.0.0.5 in the last 6
    /// hours", "logins for user admin") or given as a UDM query. Returns the UDM query that was
    /// run and the matching events in UDM form (camelCase), oldest first. The window ends at
    /// the latest event in the evidence unless end_time is given. If the query found nothing,
    /// read udm_query, widen hours_back, or give the UDM query yourself.
    #[tool]
    async fn search_security_events(
        &self,
        Parameters(a): Parameters<SearchSecurityEventsArgs>,
    ) -> ToolResult {
        let fail = |udm: Option<String>, e: String| {
            dict(json!({
                "udm_query": udm,
                "events": {"error": e, "events": [], "total_events": 0, "more_data_available": false}
            }))
        };
        let (udm, filter, hours) = match self.understand(&a.text) {
            Ok(x) => x,
            Err(e) => return fail(None, e),
        };
        let hours_back = match hours {
            Some(h) if a.start_time.is_none() => h.ceil().max(1.0) as i64,
            _ => a.hours_back,
        };
        let mut w = match window(hours_back, a.start_time.as_deref(), a.end_time.as_deref()) {
            Ok(w) => w,
            Err(e) => return fail(Some(udm), e),
        };
        if let Some(h) = hours {
            w.hours_back = h;
        }
        match self.search(filter, w, Some(a.max_events), false).await {
            Ok(events) => dict(json!({ "udm_query": udm, "events": events })),
            Err(e) => fail(Some(udm), e),
        }
    }

    /// Run a UDM search query (SecOps syntax or the runbook dialect) over the loaded evidence,
    /// without translation. Returns events in UDM form (camelCase), their total and whether
    /// more were found than returned; with include_raw, each event also carries the original
    /// record (XML or JSON text) as read.
    #[tool]
    async fn search_udm(&self, Parameters(a): Parameters<SearchUdmArgs>) -> ToolResult {
        let fail = |e: String| dict(json!({"error": e, "events": []}));
        if a.include_raw && self.state.held.raw_bytes == 0 && self.state.held.events > 0 {
            return fail(
                "the original records are not held: the server was started with --no-raw".into(),
            );
        }
        let (filter, w) = match self.udm_request(
            &a.query,
            a.hours_back,
            a.start_time.as_deref(),
            a.end_time.as_deref(),
        ) {
            Ok(r) => r,
            Err(e) => return fail(e),
        };
        match self
            .search(filter, w, a.max_events.or(Some(10_000)), a.include_raw)
            .await
        {
            Ok(v) => dict(v),
            Err(e) => fail(e),
        }
    }

    /// Summarise what the evidence says about one entity: an IP address, host name or FQDN,
    /// account (DOMAIN\user or user@domain), file hash or process path. Gives first and last
    /// seen, events by type, related entities with counts, the hunt findings (alerts) naming
    /// it, and a day-by-day timeline.
    #[tool]
    async fn lookup_entity(&self, Parameters(a): Parameters<LookupEntityArgs>) -> ToolResult {
        let w = match or_error(window(a.hours_back, None, None), "looking up the entity") {
            Ok(w) => w,
            Err(r) => return *r,
        };
        // The findings over all the evidence; the lookup keeps those overlapping its window.
        let findings = match self.state.detections().await {
            Ok(r) => Self::findings_json(&r),
            Err(_) => Vec::new(),
        };
        match lateral_lookup::lookup(&self.state.engine, &a.entity_value, w, &findings).await {
            Ok(s) => text(lateral_lookup::render_text(&s)),
            Err(e) => text(format!("Error looking up entity {}: {e}", a.entity_value)),
        }
    }

    /// Answer an ATT&CK technique question offline: by id ("T1021.002"), name ("pass the
    /// hash") or free text ("MITRE T1047 WMI"). Gives the name, tactics, how the technique
    /// serves lateral movement, the events that show it and the hunt queries that cover it.
    #[tool]
    async fn get_threat_intel(&self, Parameters(a): Parameters<ThreatIntelArgs>) -> ToolResult {
        let answer = self.state.kb.lookup(&a.query, 4);
        text(lateral_intel::render_text(&answer))
    }

    /// List the findings of the lateral-movement hunt over the window as alerts: title,
    /// severity, techniques, source and target hosts, account, first and last seen.
    #[tool]
    async fn get_security_alerts(
        &self,
        Parameters(a): Parameters<SecurityAlertsArgs>,
    ) -> ToolResult {
        let report = match self.hunt(a.hours_back).await {
            Ok(r) => r,
            Err(e) => return text(format!("Error retrieving security alerts: {e}")),
        };
        let max = a.max_alerts.max(0) as usize;
        let mut out = format!(
            "Found {} security alert(s) (lateral-movement hunt findings) in {}:\n",
            report.findings.len(),
            report.window.description
        );
        for (i, f) in report.findings.iter().take(max).enumerate() {
            out.push_str(&format!(
                "\nAlert {}:\n  Id: {}\n  Rule: {}\n  Severity: {}\n  Techniques: {}\n",
                i + 1,
                f.id,
                f.title,
                f.severity.as_str(),
                f.techniques.join(", ")
            ));
            if let Some(s) = &f.source {
                out.push_str(&format!("  Source: {}\n", s.host));
            }
            if let Some(t) = &f.target {
                out.push_str(&format!("  Target: {}\n", t.host));
            }
            if let Some(acc) = &f.account {
                out.push_str(&format!("  Account: {acc}\n"));
            }
            out.push_str(&format!(
                "  First Seen: {}\n  Last Seen: {}\n  Events: {}\n",
                f.first_seen, f.last_seen, f.event_count
            ));
        }
        if report.findings.len() > max {
            out.push_str(&format!(
                "\n({} more not shown; raise max_alerts)\n",
                report.findings.len() - max
            ));
        }
        text(out)
    }

    /// Report which entries of the local IOC lists (CSV files given with --ioc: IP addresses
    /// and networks, host names and domains, hashes, file names and paths, accounts, URLs)
    /// appear in the evidence over the window, with the matching values, the fields they were
    /// seen in, first and last seen and the number of events.
    #[tool]
    async fn get_ioc_matches(&self, Parameters(a): Parameters<IocMatchesArgs>) -> ToolResult {
        let w = match or_error(window(a.hours_back, None, None), "retrieving IoC matches") {
            Ok(w) => w,
            Err(r) => return *r,
        };
        if self.state.iocs.is_empty() {
            return text(
                "No IoC lists are loaded: start lateral mcp with --ioc FILE (CSV: value,type,description,source) to match local indicators against the evidence."
                    .into(),
            );
        }
        let report =
            match lateral_lookup::ioc_sightings(&self.state.engine, &self.state.iocs, &w).await {
                Ok(r) => r,
                Err(e) => return text(format!("Error retrieving IoC matches: {e}")),
            };
        text(render_ioc_matches(
            &report,
            a.max_matches.max(1) as usize,
            &self.state.ioc_problems,
        ))
    }

    /// Run a UDM search and return the chosen fields of the matching events as CSV text (a
    /// header row, then one row per event, oldest first; at most 100000 rows), or "No results
    /// found".
    #[tool]
    async fn export_udm_search_csv(&self, Parameters(a): Parameters<ExportCsvArgs>) -> ToolResult {
        let fail = |e: String| text(format!("Error exporting search results: {e}"));
        let mut columns = Vec::new();
        for name in &a.fields {
            let name = name.trim();
            let field = lateral_model::Field::by_name(name).or_else(|| {
                lateral_model::Field::by_name(&lateral_model::fields::camel_to_snake_path(name))
            });
            match field {
                Some(f) => columns.push(f),
                None => {
                    let hint = lateral_model::fields::suggest(name)
                        .map(|s| format!(" (did you mean {s}?)"))
                        .unwrap_or_default();
                    return fail(format!(
                        "unknown field {name:?}{hint}; `lateral fields` lists them"
                    ));
                }
            }
        }
        if columns.is_empty() {
            return fail("give at least one field".into());
        }
        let (filter, w) = match self.udm_request(
            &a.query,
            a.hours_back,
            a.start_time.as_deref(),
            a.end_time.as_deref(),
        ) {
            Ok(r) => r,
            Err(e) => return fail(e),
        };
        let req = SearchRequest {
            filter,
            window: w,
            limit: Some(100_000),
            columns: columns.clone(),
        };
        let found = match self.state.engine.search(&req).await {
            Ok(f) => f,
            Err(e) => return fail(e.to_string()),
        };
        if found.returned() == 0 {
            return text("No results found".into());
        }
        let mut lines = vec![columns
            .iter()
            .map(|c| csv_cell(c.name()))
            .collect::<Vec<_>>()
            .join(",")];
        for b in &found.batches {
            let idx: Vec<Option<usize>> = columns
                .iter()
                .map(|c| b.schema().index_of(c.name()).ok())
                .collect();
            for r in 0..b.num_rows() {
                lines.push(
                    idx.iter()
                        .map(|i| {
                            i.map(|i| {
                                csv_cell(&lateral_engine::rows::cell_text(b.column(i).as_ref(), r))
                            })
                            .unwrap_or_default()
                        })
                        .collect::<Vec<_>>()
                        .join(","),
                );
            }
        }
        text(lines.join("\n"))
    }

    /// Find which fields hold values containing the given text (case-insensitive), over the
    /// whole evidence: host names, addresses, accounts, paths, service, task and share names,
    /// URLs and hashes, most frequent first, with first and last seen. Use it to learn how a
    /// host or user is spelled in the evidence before searching.
    #[tool]
    async fn find_udm_field_values(
        &self,
        Parameters(a): Parameters<FieldValuesArgs>,
    ) -> ToolResult {
        let limit = a.page_size.unwrap_or(100).clamp(1, 10_000) as usize;
        match lateral_lookup::field_values(&self.state.engine, &a.query, limit).await {
            Ok((values, total)) => {
                // The Chronicle response's keys (v1alpha findUdmFieldValues): the fields the
                // matches were found in, a regex for the query, and a non-empty page token
                // when more matches exist than were returned.
                let fields: std::collections::BTreeSet<&str> =
                    values.iter().map(|v| v.field_path.as_str()).collect();
                let more = total > values.len();
                dict(json!({
                    "valueMatches": values,
                    "fieldMatches": fields.iter().map(|f| json!({"fieldPath": f})).collect::<Vec<_>>(),
                    "fieldMatchRegex": format!("(?i){}", regex_escape(a.query.trim())),
                    "nextPageToken": if more { format!("more:{}", values.len()) } else { String::new() },
                    "totalMatches": total,
                }))
            }
            Err(e) => dict(json!({"error": e.to_string(), "valueMatches": []})),
        }
    }

    /// Summarise packet captures the way an analyst writes it up: the attacker address, the
    /// first pivot host, the account used, the service executable, admin shares and how they
    /// were used, next targets and per-session detail (the JSON of `lateral pcap`). The path
    /// must lie inside the evidence given to the server.
    #[tool]
    async fn analyze_pcap(&self, Parameters(a): Parameters<AnalyzePcapArgs>) -> ToolResult {
        let path = match self.resolve_evidence_path(&a.path) {
            Ok(p) => p,
            Err(e) => return text(format!("Error analysing the capture: {e}")),
        };
        let analysis =
            match tokio::task::spawn_blocking(move || lateral_pcap::analyze_paths(&[path])).await {
                Ok(a) => a,
                Err(e) => return text(format!("Error analysing the capture: {e}")),
            };
        if analysis.captures.is_empty() && !analysis.issues.is_empty() {
            return text(format!(
                "Error analysing the capture: {}",
                analysis.issues.join("; ")
            ));
        }
        dict(to_value(&analysis))
    }

    /// The process tree of one process on a host around a time, from process-launch events:
    /// its launch (image, command line, user), its ancestry up to the oldest launch in the
    /// evidence, and what it started, recursively. Process ids are reused, so each link is
    /// the closest launch in time. Also returned as indented text.
    #[tool]
    async fn process_tree(&self, Parameters(a): Parameters<ProcessTreeArgs>) -> ToolResult {
        let fail = |e: String| text(format!("Error building the process tree: {e}"));
        let around = match a
            .around_time
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
        {
            Some(t) => match lateral_engine::parse_time(t) {
                Ok(t) => t,
                Err(e) => return fail(e),
            },
            None => match self.state.engine.stats().time_range() {
                Some((_, hi)) => hi,
                None => return fail("the evidence holds no events".into()),
            },
        };
        if a.hours_around <= 0 {
            return fail(format!(
                "hours_around must be positive, got {}",
                a.hours_around
            ));
        }
        match lateral_lookup::process_tree(
            &self.state.engine,
            &a.host,
            a.pid,
            around,
            a.hours_around as f64,
        )
        .await
        {
            Ok(t) => dict(to_value(&t)),
            Err(e) => fail(e.to_string()),
        }
    }

    /// List the detection rules: the hunt pack's queries, with their UDM text, techniques,
    /// severity and rationale.
    #[tool]
    async fn list_security_rules(&self, Parameters(a): Parameters<ListRulesArgs>) -> ToolResult {
        let start = a
            .page_token
            .as_deref()
            .and_then(|t| t.trim().parse::<usize>().ok())
            .unwrap_or(0);
        let size = a.page_size.clamp(1, 1000) as usize;
        let entries = &self.state.pack.entries;
        let rules: Vec<Value> = entries
            .iter()
            .skip(start)
            .take(size)
            .map(|e| {
                json!({
                    "ruleId": e.entry.id,
                    "displayName": e.entry.name,
                    "text": e.udm,
                    "severity": e.entry.severity,
                    "techniques": e.entry.techniques,
                    "family": e.entry.family,
                    "rationale": e.entry.rationale,
                    "origin": e.origin,
                })
            })
            .collect();
        let next = if start + size < entries.len() {
            (start + size).to_string()
        } else {
            String::new()
        };
        dict(json!({ "rules": rules, "nextPageToken": next }))
    }

    /// List cases from the local case store, newest first (optional filter text, status and
    /// limit).
    #[tool]
    async fn list_cases(&self, Parameters(a): Parameters<ListCasesArgs>) -> ToolResult {
        let offset = a
            .next_page_token
            .as_deref()
            .and_then(|t| t.trim().parse::<usize>().ok())
            .unwrap_or(0);
        let limit = a.limit.map(|l| l.clamp(1, 1000) as usize).unwrap_or(100);
        let status = match a.status.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(s) => match s.parse() {
                Ok(s) => Some(s),
                Err(e) => return text(format!("Error listing cases: {e}")),
            },
        };
        let filter = lateral_cases::CaseFilter {
            status,
            text: a.filter.filter(|t| !t.trim().is_empty()),
            min_priority: None,
            limit: Some(limit + 1),
            offset,
        };
        match self.state.store.list_cases(&filter) {
            Ok(mut cases) => {
                let more = cases.len() > limit;
                cases.truncate(limit);
                let next = if more {
                    (offset + limit).to_string()
                } else {
                    String::new()
                };
                dict(json!({ "cases": cases, "nextPageToken": next }))
            }
            Err(e) => text(format!("Error listing cases: {e}")),
        }
    }

    /// A case with its alerts and comments.
    #[tool]
    async fn get_case_full_details(&self, Parameters(a): Parameters<CaseIdArgs>) -> ToolResult {
        let id = match or_error(case_id(&a.case_id), "getting case details") {
            Ok(i) => i,
            Err(r) => return *r,
        };
        match self.state.store.details(id) {
            Ok(d) => dict(json!({
                "case_details": d.case,
                "case_alerts": d.alerts,
                "case_comments": d.comments,
                "case_entities": d.entities,
            })),
            Err(e) => text(format!("Error getting case details: {e}")),
        }
    }

    /// Post a comment on a case (for example the hunt summary).
    #[tool]
    async fn post_case_comment(&self, Parameters(a): Parameters<PostCommentArgs>) -> ToolResult {
        let id = match or_error(case_id(&a.case_id), "posting the comment") {
            Ok(i) => i,
            Err(r) => return *r,
        };
        match self
            .state
            .store
            .add_comment(id, Some("lateral mcp"), &a.comment)
        {
            Ok(c) => dict(to_value(&c)),
            Err(e) => text(format!("Error posting the comment: {e}")),
        }
    }

    /// Change a case's priority.
    #[tool]
    async fn change_case_priority(
        &self,
        Parameters(a): Parameters<ChangePriorityArgs>,
    ) -> ToolResult {
        let id = match or_error(case_id(&a.case_id), "changing the priority") {
            Ok(i) => i,
            Err(r) => return *r,
        };
        let p = match or_error(parse_priority(&a.case_priority), "changing the priority") {
            Ok(p) => p,
            Err(r) => return *r,
        };
        match self.state.store.set_priority(id, p) {
            Ok(c) => dict(to_value(&c)),
            Err(e) => text(format!("Error changing the priority: {e}")),
        }
    }

    /// Open a case in the local case store.
    #[tool]
    async fn create_case(&self, Parameters(a): Parameters<CreateCaseArgs>) -> ToolResult {
        let priority = match a
            .priority
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            None => None,
            Some(p) => match or_error(parse_priority(p), "creating the case") {
                Ok(p) => Some(p),
                Err(r) => return *r,
            },
        };
        let new = lateral_cases::NewCase {
            display_name: a.display_name,
            priority,
            stage: a.stage,
            assignee: a.assignee,
            description: a.description,
            tags: a.tags,
            incident: false,
        };
        match self.state.store.create_case(&new) {
            Ok(c) => dict(to_value(&c)),
            Err(e) => text(format!("Error creating the case: {e}")),
        }
    }

    /// The alerts (attached hunt findings) of a case.
    #[tool]
    async fn list_alerts_by_case(&self, Parameters(a): Parameters<CaseIdArgs>) -> ToolResult {
        let id = match or_error(case_id(&a.case_id), "listing alerts") {
            Ok(i) => i,
            Err(r) => return *r,
        };
        match self.state.store.alerts(id) {
            Ok(alerts) => dict(json!({ "alerts": alerts, "nextPageToken": "" })),
            Err(e) => text(format!("Error listing alerts: {e}")),
        }
    }

    /// The evidence records behind one alert of a case.
    #[tool]
    async fn list_events_by_alert(
        &self,
        Parameters(a): Parameters<EventsByAlertArgs>,
    ) -> ToolResult {
        let id = match or_error(case_id(&a.case_id), "listing events") {
            Ok(i) => i,
            Err(r) => return *r,
        };
        match self.state.store.alert(id, a.alert_id.trim()) {
            Ok(alert) => dict(json!({ "events": alert.evidence, "nextPageToken": "" })),
            Err(e) => text(format!("Error listing events: {e}")),
        }
    }

    /// Run the lateral-movement hunt over the loaded evidence and return its JSON report:
    /// every query with its hit count (zero included), correlations, findings, the movement
    /// graph and the conclusion. With case_id the summary is posted on the case and the
    /// findings attached to it as alerts.
    #[tool]
    async fn run_lateral_movement_hunt(&self, Parameters(a): Parameters<HuntArgs>) -> ToolResult {
        let fail = |e: String| text(format!("Error running the hunt: {e}"));
        if let Err(e) = window(a.hours_back, None, None) {
            return fail(e);
        }
        let case = match a.case_id.as_deref().map(case_id).transpose() {
            Ok(c) => c,
            Err(e) => return fail(e),
        };
        let scope = a.scope.filter(|s| !s.trim().is_empty());
        let hypothesis = a.hypothesis.filter(|h| !h.trim().is_empty());
        let report = match self.hunt_with(a.hours_back, scope, hypothesis).await {
            Ok(r) => r,
            Err(e) => return fail(e),
        };
        let mut doc = to_value(&*report);
        if let (Some(id), Value::Object(m)) = (case, &mut doc) {
            // The report names the case it was run for, as `lateral hunt --case` does.
            m.insert("case_id".into(), Value::String(id.to_string()));
        }
        if let Some(id) = case {
            match self.attach_hunt(id, &doc) {
                Ok(note) => {
                    if let Value::Object(m) = &mut doc {
                        m.insert("case_update".into(), Value::String(note));
                    }
                }
                Err(e) => return fail(e),
            }
        }
        dict(doc)
    }
}

impl Server {
    fn attach_hunt(&self, case: i64, report: &Value) -> Result<String, String> {
        use lateral_cases::hunt as h;
        let store = &self.state.store;
        let alerts = h::alerts_from_report(report).map_err(|e| e.to_string())?;
        let entities = h::finding_entities(&alerts);
        let related = store
            .related_cases(&entities, Some(case), None)
            .map_err(|e| e.to_string())?;
        let comment = h::summary_comment(report, &related);
        let posted = store
            .add_comment(case, Some("lateral hunt"), &comment)
            .map_err(|e| e.to_string())?;
        let attached = store
            .attach_alerts(case, &alerts)
            .map_err(|e| e.to_string())?;
        Ok(format!(
            "case #{case}: hunt summary posted (comment #{}), {} finding(s) attached as alerts",
            posted.id,
            attached.alert_ids.len()
        ))
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for Server {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("lateral", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "SecOps- and SOAR-compatible tools over local Windows evidence (EVTX, JSON/XML exports, packet captures) \
                 read by lateral: search events, look up entities, the lateral-movement hunt as alerts, ATT&CK intel, \
                 and a local case store. Time windows end at the latest event in the evidence.",
            )
    }
}

/// Serve over stdin/stdout until the client closes.
pub async fn serve_stdio(state: Arc<State>) -> Result<(), McpError> {
    let service = Server::new(state)
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|e| McpError::Config(format!("cannot start the stdio transport: {e}")))?;
    service
        .waiting()
        .await
        .map_err(|e| McpError::Config(format!("stdio transport: {e}")))?;
    Ok(())
}

/// Whether an HTTP bind address may be used with this token configuration.
pub fn check_bind(addr: &SocketAddr, token: Option<&str>) -> Result<(), McpError> {
    if !addr.ip().is_loopback() && token.is_none_or(|t| t.is_empty()) {
        return Err(McpError::Config(format!(
            "refusing to listen on {addr}: a non-loopback address needs a bearer token (--token or LATERAL_MCP_TOKEN)"
        )));
    }
    Ok(())
}

fn same_secret(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Serve streamable HTTP at `/mcp` on `listener`. With a token, every request must carry
/// `Authorization: Bearer TOKEN` (401 otherwise). `ready` is told the bound address.
pub async fn serve_http(
    state: Arc<State>,
    listener: tokio::net::TcpListener,
    token: Option<String>,
) -> Result<(), McpError> {
    use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
    use rmcp::transport::streamable_http_server::{
        StreamableHttpServerConfig, StreamableHttpService,
    };
    let addr = listener.local_addr()?;
    let token = token.filter(|t| !t.is_empty());
    check_bind(&addr, token.as_deref())?;
    let mut config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .with_sse_keep_alive(None);
    if !addr.ip().is_loopback() {
        // Host checks guard loopback servers against DNS rebinding; a remote server is
        // guarded by its token instead.
        config = config.disable_allowed_hosts();
    }
    let service = StreamableHttpService::new(
        move || Ok(Server::new(state.clone())),
        Arc::new(LocalSessionManager::default()),
        config,
    );
    let token = Arc::new(token);
    let router =
        axum::Router::new()
            .nest_service("/mcp", service)
            .layer(axum::middleware::from_fn(
                move |req: axum::extract::Request, next: axum::middleware::Next| {
                    let token = token.clone();
                    async move {
                        if let Some(t) = token.as_ref() {
                            let given = req
                                .headers()
                                .get(axum::http::header::AUTHORIZATION)
                                .and_then(|v| v.to_str().ok())
                                .and_then(|v| v.strip_prefix("Bearer "))
                                .unwrap_or_default();
                            if !same_secret(given.trim().as_bytes(), t.as_bytes()) {
                                return axum::response::Response::builder()
                                    .status(axum::http::StatusCode::UNAUTHORIZED)
                                    .header("WWW-Authenticate", "Bearer")
                                    .body(axum::body::Body::from("missing or wrong bearer token"))
                                    .unwrap_or_default();
                            }
                        }
                        next.run(req).await
                    }
                },
            ));
    axum::serve(listener, router).await?;
    Ok(())
}
