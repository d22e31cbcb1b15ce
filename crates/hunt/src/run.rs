//! Running a hunt: one scan of the evidence feeds every query and correlation.
//!
//! 1. The *feed* filter is the OR of every pack query and of the events correlation needs
//!    (network logons, process launches, share access). One scan of the evidence collects the
//!    matching events (all time: first-seen pairs look before the window) into an in-memory
//!    DataFusion table with a row id.
//! 2. Each pack query runs over that table, narrowed by the scope and the window; its hit
//!    count is recorded, zero included.
//! 3. The sequences run as DataFusion joins over the same table.
//! 4. Findings, host identities, the graph, entity enrichment and coverage are derived from
//!    the rows, and everything is gathered into a [`HuntReport`].

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Instant;

use datafusion::arrow::array::{Array, BooleanArray, Int64Array, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Field as ArrowField, Schema};
use datafusion::datasource::{MemTable, TableProvider};
use datafusion::logical_expr::{col, lit, Expr};
use futures::StreamExt;
use lateral_engine::{and_window, column, Engine, WindowSpec, TABLE};
use lateral_model::f;
use serde::Serialize;

use crate::bound::Bound;
use crate::evidence::{events_from_batches, Ev, ROW_ID};
use crate::findings::{self, Finding, FindingKind, Recurring};
use crate::graph::{self, Graph};
use crate::hosts::HostKey;
use crate::pack::{Pack, Role, Severity};
use crate::time::iso;
use crate::HuntError;

/// What the analyst asked for.
#[derive(Debug, Clone)]
pub struct HuntRequest {
    pub window: WindowSpec,
    /// A UDM fragment that narrows every query.
    pub scope: Option<String>,
    pub hypothesis: Option<String>,
    pub case_id: Option<String>,
    /// Expected administration sources (host → role).
    pub inventory: Option<crate::inventory::Inventory>,
}

/// One query's result.
#[derive(Debug, Clone, Serialize)]
pub struct QueryResult {
    pub id: String,
    pub name: String,
    pub udm: String,
    pub family: String,
    pub role: Role,
    pub severity: Severity,
    pub techniques: Vec<String>,
    pub hits: usize,
    /// `hits`, `no hits`, or `not evaluable: ...` when the data it needs is absent.
    pub status: String,
    /// Hosts the hits were logged on (sorted).
    pub hosts: Vec<String>,
    pub origin: String,
}

/// One sequence's result.
#[derive(Debug, Clone, Serialize)]
pub struct CorrelationResult {
    pub id: String,
    pub description: String,
    pub matches: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Technique {
    pub id: String,
    pub name: String,
    pub tactics: String,
}

/// A step of the workflow as executed.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub step: String,
    pub result: String,
}

/// Enrichment of one host.
#[derive(Debug, Clone, Serialize)]
pub struct HostEntity {
    pub name: String,
    pub names: Vec<String>,
    pub ips: Vec<String>,
    pub logs_collected: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_seen: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<String>,
    pub events_by_type: BTreeMap<String, u64>,
    pub accounts: Vec<String>,
    pub findings: Vec<String>,
}

/// Enrichment of one account.
#[derive(Debug, Clone, Serialize)]
pub struct AccountEntity {
    pub account: String,
    pub first_seen: String,
    pub last_seen: String,
    pub events_by_type: BTreeMap<String, u64>,
    pub hosts: Vec<String>,
    pub logon_sources: Vec<String>,
    pub findings: Vec<String>,
}

/// Data held per host and channel.
#[derive(Debug, Clone, Serialize)]
pub struct CoverageRow {
    pub host: String,
    pub channel: String,
    pub event_ids: Vec<(i64, u64)>,
    pub first: String,
    pub last: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Execution {
    pub version: String,
    pub started: String,
    pub duration_ms: u128,
    pub sources: usize,
    pub records_read: u64,
    pub candidate_events: usize,
    /// Candidates are held from this time on (the window and a day of context before it);
    /// older network logons only as first-seen groups. `None`: all time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub candidates_from: Option<String>,
    pub queries_run: usize,
    pub sequences_run: usize,
    pub issues: Vec<IssueLine>,
    pub files_skipped: usize,
    pub records_skipped: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct IssueLine {
    pub file: String,
    pub position: String,
    pub message: String,
    pub whole_file: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Conclusion {
    pub movement_found: bool,
    /// `escalate` or `close`.
    pub verdict: String,
    pub summary: String,
    /// Host-to-host movements, `A → B (technique, account)`.
    pub movements: Vec<String>,
    pub local_activity: Vec<String>,
}

/// The whole hunt, ready to render.
#[derive(Debug, Clone, Serialize)]
pub struct HuntReport {
    pub title: String,
    pub runbook: String,
    pub generated: String,
    pub scope: Option<String>,
    pub scope_label: String,
    pub case_id: Option<String>,
    pub objective: String,
    pub hypothesis: String,
    pub window: WindowInfo,
    pub evidence_hosts: Vec<String>,
    pub techniques: Vec<Technique>,
    pub workflow: Vec<Step>,
    pub queries: Vec<QueryResult>,
    pub correlations: Vec<CorrelationResult>,
    pub findings: Vec<Finding>,
    pub recurring_jobs: Vec<Recurring>,
    pub graph: Graph,
    pub hosts: Vec<HostEntity>,
    pub accounts: Vec<AccountEntity>,
    pub coverage: Vec<CoverageRow>,
    pub gaps: Vec<String>,
    pub inventory_note: String,
    pub conclusion: Conclusion,
    pub recommendations: Vec<String>,
    pub follow_ups: Vec<String>,
    pub execution: Execution,
}

#[derive(Debug, Clone, Serialize)]
pub struct WindowInfo {
    pub start: Option<String>,
    pub end: Option<String>,
    pub hours_back: f64,
    pub description: String,
}

/// Events the correlations need beyond the pack's own hits.
fn feed_extras() -> Vec<Expr> {
    let sec = |id: i64| {
        column(f::CHANNEL)
            .eq(lit("Security"))
            .and(column(f::EVENT_ID).eq(lit(id)))
    };
    vec![
        column(f::EVENT_TYPE).eq(lit("PROCESS_LAUNCH")),
        sec(4624),
        sec(4625),
        sec(4648),
    ]
}

/// Name of the column marking rows that some non-context query hit.
const HUNTED: &str = "lateral_hunted";

/// `batches` (whose schema is `base`) with one more column, `field`, made per batch by `make`.
fn append_column(
    batches: &[RecordBatch],
    base: &Schema,
    field: ArrowField,
    mut make: impl FnMut(&RecordBatch) -> Arc<dyn Array>,
) -> Result<(Vec<RecordBatch>, Arc<Schema>), HuntError> {
    let mut fields: Vec<Arc<ArrowField>> = base.fields().iter().cloned().collect();
    fields.push(Arc::new(field));
    let schema = Arc::new(Schema::new(fields));
    let mut out = Vec::with_capacity(batches.len());
    for b in batches {
        let mut cols: Vec<Arc<dyn Array>> = b.columns().to_vec();
        cols.push(make(b));
        out.push(RecordBatch::try_new(schema.clone(), cols)?);
    }
    Ok((out, schema))
}

/// `batches` with one more boolean column, `name`, read from `marks` by row id.
fn with_mark(
    batches: &[RecordBatch],
    base: &Schema,
    name: &str,
    marks: &[bool],
) -> Result<(Vec<RecordBatch>, Arc<Schema>), HuntError> {
    append_column(
        batches,
        base,
        ArrowField::new(name, DataType::Boolean, false),
        |b| {
            let rows = b
                .column_by_name(ROW_ID)
                .and_then(|c| c.as_any().downcast_ref::<Int64Array>());
            let column: BooleanArray = (0..b.num_rows())
                .map(|r| {
                    rows.and_then(|ids| usize::try_from(ids.value(r)).ok())
                        .and_then(|i| marks.get(i).copied())
                        .unwrap_or(false)
                })
                .map(Some)
                .collect();
            Arc::new(column)
        },
    )
}

/// The candidate-table column holding feed `i`'s flag (pack entry `i`, then the extras).
fn flag_name(i: usize) -> String {
    format!("lateral_feed_{i}")
}

fn is_true(a: &BooleanArray, row: usize) -> bool {
    a.is_valid(row) && a.value(row)
}

/// Rows of `batch` where any flag column (from `first` on) is true; null counts as false.
fn any_flag(batch: &RecordBatch, first: usize) -> BooleanArray {
    let mut keep = vec![false; batch.num_rows()];
    for c in batch.columns().iter().skip(first) {
        if let Some(flags) = c.as_any().downcast_ref::<BooleanArray>() {
            for (r, k) in keep.iter_mut().enumerate() {
                *k = *k || is_true(flags, r);
            }
        }
    }
    BooleanArray::from(keep)
}

/// `a OR b OR ...` as a balanced tree: planning walks a left-deep chain of forty branches
/// once per level, a balanced one in logarithmic depth.
fn or_all(mut exprs: Vec<Expr>) -> Expr {
    if exprs.is_empty() {
        return lit(false);
    }
    while exprs.len() > 1 {
        let mut next = Vec::with_capacity(exprs.len().div_ceil(2));
        let mut it = exprs.into_iter();
        while let Some(a) = it.next() {
            next.push(match it.next() {
                Some(b) => a.or(b),
                None => a,
            });
        }
        exprs = next;
    }
    exprs.pop().unwrap_or_else(|| lit(false))
}

/// The column of `field` in `batch`, typed (a clone of the array handle: cheap, and free of
/// the batch's borrow), `None` when absent or of another type.
fn typed<T: Array + Clone + 'static>(
    batch: &RecordBatch,
    field: lateral_model::Field,
) -> Option<T> {
    let i = batch.schema().index_of(field.name()).ok()?;
    batch.column(i).as_any().downcast_ref::<T>().cloned()
}

/// How many candidate rows the scan adds between two drops of what the bound allows.
const DROP_EVERY_ROWS: usize = 1 << 18;

/// `batches` without the rows older than `threshold` (rows without a time are kept); the
/// network logons among the dropped rows (flag column `prior`) are folded into `fold`.
fn drop_before(
    batches: Vec<RecordBatch>,
    threshold: i64,
    prior: usize,
    fold: &mut crate::correlate::PriorFold,
) -> Result<Vec<RecordBatch>, HuntError> {
    use datafusion::arrow::array::{StringArray, TimestampMicrosecondArray};
    let mut out = Vec::with_capacity(batches.len());
    for b in batches {
        let Some(times) = typed::<TimestampMicrosecondArray>(&b, f::EVENT_TIMESTAMP) else {
            out.push(b);
            continue;
        };
        let keep: BooleanArray = (0..b.num_rows())
            .map(|r| Some(times.is_null(r) || times.value(r) >= threshold))
            .collect();
        if keep.true_count() == b.num_rows() {
            out.push(b);
            continue;
        }
        let (src, ip, observer, principal) = (
            typed::<StringArray>(&b, f::SRC_HOSTNAME),
            typed::<StringArray>(&b, f::PRINCIPAL_IP),
            typed::<StringArray>(&b, f::OBSERVER_HOSTNAME),
            typed::<StringArray>(&b, f::PRINCIPAL_HOSTNAME),
        );
        let text = |a: &Option<StringArray>, r: usize| -> Option<String> {
            let a = a.as_ref()?;
            a.is_valid(r).then(|| a.value(r).to_string())
        };
        if let Some(flags) = b.column(prior).as_any().downcast_ref::<BooleanArray>() {
            for r in 0..b.num_rows() {
                if keep.value(r) || !is_true(flags, r) {
                    continue;
                }
                let host = text(&observer, r)
                    .or_else(|| text(&principal, r))
                    .unwrap_or_default();
                fold.add(
                    text(&src, r).as_deref(),
                    text(&ip, r).as_deref(),
                    &host,
                    times.value(r),
                );
            }
        }
        let kept = datafusion::arrow::compute::filter_record_batch(&b, &keep)?;
        if kept.num_rows() > 0 {
            out.push(kept);
        }
    }
    Ok(out)
}

/// Put the candidates in a fixed order (time, file, record, byte offset), whatever order the
/// scan's partitions delivered them in, so row ids, host identities and reports are
/// deterministic. Only the sort keys are concatenated; the rows are gathered batch by batch
/// from the inputs, so the candidates are held twice at most, never three times.
fn in_stable_order(batches: Vec<RecordBatch>) -> Result<Vec<RecordBatch>, HuntError> {
    use datafusion::arrow::compute::{
        concat, interleave_record_batch, lexsort_to_indices, SortColumn, SortOptions,
    };
    let Some(schema) = batches.first().map(RecordBatch::schema) else {
        return Ok(batches);
    };
    let mut keys = Vec::new();
    for field in [
        f::EVENT_TIMESTAMP,
        f::SOURCE_FILE,
        f::RECORD_NUMBER,
        f::BYTE_OFFSET,
    ] {
        if let Ok(i) = schema.index_of(field.name()) {
            let parts: Vec<&dyn Array> = batches.iter().map(|b| b.column(i).as_ref()).collect();
            keys.push(SortColumn {
                values: concat(&parts)?,
                options: Some(SortOptions {
                    descending: false,
                    nulls_first: false,
                }),
            });
        }
    }
    let indices = lexsort_to_indices(&keys, None)?;
    drop(keys);
    // Row n of the concatenation is row `n - start` of the batch that starts at `start`.
    let mut located: Vec<(usize, usize)> = Vec::with_capacity(indices.len());
    for (bi, b) in batches.iter().enumerate() {
        located.extend((0..b.num_rows()).map(|r| (bi, r)));
    }
    let inputs: Vec<&RecordBatch> = batches.iter().collect();
    // Batches of a moderate size for the engine.
    let mut out = Vec::with_capacity(indices.len().div_ceil(8192));
    for chunk in indices.values().chunks(8192) {
        let picks: Vec<(usize, usize)> = chunk
            .iter()
            .filter_map(|&n| located.get(n as usize).copied())
            .collect();
        out.push(interleave_record_batch(&inputs, &picks)?);
    }
    Ok(out)
}

/// Add the row-id column to collected batches (whose schema is `scanned`).
fn with_row_ids(
    batches: &[RecordBatch],
    scanned: &Schema,
) -> Result<(Vec<RecordBatch>, Arc<Schema>), HuntError> {
    let mut next = 0i64;
    append_column(
        batches,
        scanned,
        ArrowField::new(ROW_ID, DataType::Int64, false),
        |b| {
            let n = b.num_rows() as i64;
            let ids = Int64Array::from_iter_values(next..next + n);
            next += n;
            Arc::new(ids)
        },
    )
}

/// Security 4688 on older Windows names the creator only by process id. Fill
/// `principal.process.file.full_path` from the launch of that process id on the same host
/// (the latest one before), so parent-based queries (`WmiPrvSE.exe` children) see it.
fn fill_parent_images(batches: Vec<RecordBatch>) -> Result<Vec<RecordBatch>, HuntError> {
    use datafusion::arrow::array::{StringArray, TimestampMicrosecondArray};
    use std::collections::HashMap;
    // (host, pid) → [(time, image)]
    let mut launches: HashMap<(String, i64), Vec<(i64, String)>> = HashMap::new();
    for b in &batches {
        let (Some(et), Some(host), Some(pid), Some(path), Some(ts)) = (
            typed::<StringArray>(b, f::EVENT_TYPE),
            typed::<StringArray>(b, f::OBSERVER_HOSTNAME),
            typed::<Int64Array>(b, f::TARGET_PID),
            typed::<StringArray>(b, f::TARGET_PATH),
            typed::<TimestampMicrosecondArray>(b, f::EVENT_TIMESTAMP),
        ) else {
            continue;
        };
        for r in 0..b.num_rows() {
            if et.is_null(r)
                || et.value(r) != "PROCESS_LAUNCH"
                || pid.is_null(r)
                || path.is_null(r)
                || host.is_null(r)
            {
                continue;
            }
            launches
                .entry((host.value(r).to_ascii_lowercase(), pid.value(r)))
                .or_default()
                .push((ts.value(r), path.value(r).to_string()));
        }
    }
    if launches.is_empty() {
        return Ok(batches);
    }
    let mut out = Vec::with_capacity(batches.len());
    for b in batches {
        let pi = b.schema().index_of(f::PRINCIPAL_PATH.name()).ok();
        let (Some(et), Some(host), Some(ppid), Some(ppath), Some(ts), Some(pi)) = (
            typed::<StringArray>(&b, f::EVENT_TYPE),
            typed::<StringArray>(&b, f::OBSERVER_HOSTNAME),
            typed::<Int64Array>(&b, f::PRINCIPAL_PID),
            typed::<StringArray>(&b, f::PRINCIPAL_PATH),
            typed::<TimestampMicrosecondArray>(&b, f::EVENT_TIMESTAMP),
            pi,
        ) else {
            out.push(b);
            continue;
        };
        let mut changed = false;
        let filled: StringArray = (0..b.num_rows())
            .map(|r| {
                let current = (!ppath.is_null(r) && !ppath.value(r).is_empty())
                    .then(|| ppath.value(r).to_string());
                if current.is_some()
                    || et.is_null(r)
                    || et.value(r) != "PROCESS_LAUNCH"
                    || ppid.is_null(r)
                    || host.is_null(r)
                {
                    return current;
                }
                let key = (host.value(r).to_ascii_lowercase(), ppid.value(r));
                let found = launches.get(&key).and_then(|v| {
                    v.iter()
                        .filter(|(t, _)| *t <= ts.value(r))
                        .max_by_key(|(t, _)| *t)
                        .map(|(_, p)| p.clone())
                });
                if found.is_some() {
                    changed = true;
                }
                found
            })
            .collect();
        if !changed {
            out.push(b);
            continue;
        }
        let mut cols = b.columns().to_vec();
        cols[pi] = Arc::new(filled);
        out.push(RecordBatch::try_new(b.schema(), cols)?);
    }
    Ok(out)
}

/// `LATERAL_PROFILE=1` prints, on stderr, the milliseconds from its start to each mark: the
/// phases of the hunt and the steps around it, for benchmarking.
pub struct Profile {
    started: Instant,
    on: bool,
    label: &'static str,
}

impl Profile {
    /// Marks printed as `[profile] {label}{name}: N ms`.
    pub fn new(label: &'static str) -> Profile {
        Profile {
            started: Instant::now(),
            on: std::env::var_os("LATERAL_PROFILE").is_some(),
            label,
        }
    }

    pub fn mark(&self, name: &str) {
        if self.on {
            eprintln!(
                "[profile] {}{name}: {} ms{}",
                self.label,
                self.started.elapsed().as_millis(),
                memory()
            );
        }
    }
}

/// `, rss N MB, peak N MB, thread cpu N ms` from `/proc` (Linux; empty elsewhere): the
/// calling thread's CPU time tells a phase's own work from waiting on other threads.
fn memory() -> String {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return String::new();
    };
    let kb = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
    };
    // CPU time of the calling thread (ns), to tell a phase's own work from waiting.
    let cpu = std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|t| t.split_whitespace().next()?.parse::<u64>().ok())
        .map(|ns| format!(", thread cpu {} ms", ns / 1_000_000))
        .unwrap_or_default();
    match (kb("VmRSS:"), kb("VmHWM:")) {
        (Some(rss), Some(peak)) => {
            format!(", rss {} MB, peak {} MB{cpu}", rss / 1024, peak / 1024)
        }
        _ => String::new(),
    }
}

/// Run the hunt over an opened engine.
pub async fn run(engine: &Engine, pack: &Pack, req: &HuntRequest) -> Result<HuntReport, HuntError> {
    let started = Instant::now();
    let profile = Profile::new("");
    let phase = |name: &str| profile.mark(name);
    let started_wall = chrono::Utc::now();
    let scope_query = match &req.scope {
        Some(s) if !s.trim().is_empty() => {
            let q = lateral_query::parse(s).map_err(|e| HuntError::Scope(e.to_string()))?;
            let e = lateral_query::compile(&q, &pack.lists)
                .map_err(|e| HuntError::Scope(e.to_string()))?;
            Some((q.to_udm(), e))
        }
        _ => None,
    };

    // 1. One scan. Every pack query and every feed the correlations need is evaluated once
    // per event, as a boolean column computed while the scan streams; an event is kept (a
    // candidate) when any of them holds. The filter DataFusion sees is only the identity
    // condition they imply (channel, provider, event id, type), which the scan applies before
    // it maps a record.
    let mut feed: Vec<Expr> = pack.entries.iter().map(|e| e.filter.clone()).collect();
    feed.extend(feed_extras());
    let identity = lateral_engine::scan::identity_condition(&or_all(feed.clone()))
        .unwrap_or_else(|| lit(true));
    let mut select: Vec<Expr> = lateral_model::fields::all_fields()
        .filter(|c| *c != f::RAW)
        .map(column)
        .collect();
    let first_flag = select.len();
    for (i, e) in feed.into_iter().enumerate() {
        select.push(e.alias(flag_name(i)));
    }
    // Network logons, for the first-seen groups of those dropped before the bound (a subset
    // of the feed: it adds no candidate). Projected away once the scan is over.
    let prior_flag = select.len();
    select.push(crate::correlate::network_logon().alias("lateral_prior_logon"));
    let stats = engine.stats();
    let latest = || stats.time_range().map(|(_, hi)| hi);
    let bound = Bound::new(&req.window, engine.time_range_known(), latest());
    let mut filter = identity;
    if let Bound::Pushed(from) = bound {
        let t = column(f::EVENT_TIMESTAMP);
        filter = filter.and(t.clone().is_null().or(t.gt_eq(lateral_engine::ts(from))));
    }
    let state = engine.context().state();
    let physical = if engine.store().is_none() {
        // Evidence files read by this process: the physical plan is built directly, without
        // the logical optimizer (see `direct`).
        let provider = engine.context().table_provider(TABLE).await?;
        crate::direct::select(&state, provider, Some(filter), select).await?
    } else {
        // A store: planned as `DataFrame::execute_stream` does (the session's own query
        // planner, so on a cluster the plan still goes to the scheduler), but with one
        // optimizer pass instead of three: the filter and projection reach the scan in the
        // first pass, and the further passes over these ~120 expressions cost ~25 ms of a
        // 0.2 s hunt on small evidence (measured; the reports are identical).
        let df = engine
            .context()
            .table(TABLE)
            .await?
            .filter(filter)?
            .select(select)?;
        phase("scan-logical");
        let (mut state, plan) = df.into_parts();
        state.config_mut().options_mut().optimizer.max_passes = 1;
        let optimized = state.optimize(&plan)?;
        phase("scan-optimized");
        state
            .query_planner()
            .create_physical_plan(&optimized, &state)
            .await?
    };
    phase("scan-physical");
    let mut stream = datafusion::physical_plan::execute_stream(physical, state.task_ctx())?;
    phase("scan-planned");
    let streamed = stream.schema();
    let mut fold = crate::correlate::PriorFold::default();
    let mut batches = Vec::new();
    let mut since_drop = 0usize;
    while let Some(batch) = stream.next().await {
        let batch = batch?;
        let keep = any_flag(&batch, first_flag);
        let kept = datafusion::arrow::compute::filter_record_batch(&batch, &keep)?;
        if kept.num_rows() == 0 {
            continue;
        }
        since_drop += kept.num_rows();
        batches.push(kept);
        // Drop what the bound allows now and then (the bound of a trailing window rises as
        // later events are read), so what is held follows the window.
        if since_drop >= DROP_EVERY_ROWS {
            since_drop = 0;
            if let Some(t) = bound.threshold(latest()) {
                batches = drop_before(batches, t, prior_flag, &mut fold)?;
            }
        }
    }
    drop(stream);
    phase("scan-stream");
    let window = req.window.resolve(latest());
    let held_from = Bound::final_threshold(window.start);
    if let Some(t) = held_from {
        batches = drop_before(batches, t, prior_flag, &mut fold)?;
    }
    let keep_cols: Vec<usize> = (0..prior_flag).collect();
    let scanned = Arc::new(streamed.project(&keep_cols)?);
    let batches = batches
        .iter()
        .map(|b| b.project(&keep_cols))
        .collect::<Result<Vec<_>, _>>()?;
    let batches = in_stable_order(batches)?;
    phase("stable-order");
    let batches = fill_parent_images(batches)?;
    phase("parents");
    let (batches, schema) = with_row_ids(&batches, &scanned)?;
    let candidates = batches.iter().map(RecordBatch::num_rows).sum::<usize>();
    let mem = Arc::new(MemTable::try_new(schema, vec![batches.clone()])?);
    // The candidate table is small and in memory: one partition avoids the repartitioning
    // and per-partition start-up that dominate joins over a few thousand rows.
    let local = lateral_engine::session_context(1);
    // These plans are small and already simple: one optimizer pass is enough here (measured:
    // the same reports, about half the time of the queries and sequence joins).
    local
        .state_ref()
        .write()
        .config_mut()
        .options_mut()
        .optimizer
        .max_passes = 1;
    let ctx = &local;

    phase("scan");
    // 2. What needs no query result starts now, beside the queries (each its own small plan
    // or a pass over the candidates): the sequences, the thresholds, the network logons
    // before the window and the event view.
    let sequences = crate::correlate::builtin();
    let thresholds = crate::correlate::thresholds();
    let narrow = {
        let used = crate::correlate::columns_used(&sequences, &thresholds);
        let keep = crate::direct::field_indices(&mem.schema(), &used);
        let projected = batches
            .iter()
            .map(|b| b.project(&keep))
            .collect::<Result<Vec<_>, _>>()?;
        let schema = Arc::new(mem.schema().project(&keep)?);
        Arc::new(MemTable::try_new(schema, vec![projected])?)
    };
    let mut running_seqs = Vec::new();
    for seq in &sequences {
        let (ctx, table, seq) = (ctx.clone(), narrow.clone(), seq.clone());
        running_seqs.push(tokio::spawn(async move {
            crate::correlate::run_sequence(&ctx, table, &seq).await
        }));
    }
    let mut running_ths = Vec::new();
    for th in thresholds {
        let (ctx, table) = (ctx.clone(), narrow.clone());
        let (id, description) = (th.id, th.description);
        running_ths.push((
            id,
            description,
            tokio::spawn(async move { crate::correlate::run_threshold(&ctx, table, &th).await }),
        ));
    }
    // With each, whether the groups folded from rows dropped during the scan join its result.
    let running_prior = match (window.start, bound) {
        // Nothing before the bound was read: the aggregate runs over the whole evidence (the
        // store: a few columns, pruned to the network logons' row groups).
        (Some(start), Bound::Pushed(_)) => {
            let all = engine.context().table(TABLE).await?;
            let running = tokio::spawn(crate::correlate::run_prior_logons(all, start));
            Some((running, false))
        }
        (Some(start), _) => {
            let held = ctx.read_table(mem.clone())?;
            let running = tokio::spawn(crate::correlate::run_prior_logons(held, start));
            Some((running, true))
        }
        (None, _) => None,
    };
    let running_evs = {
        let batches = batches.clone();
        tokio::task::spawn_blocking(move || events_from_batches(&batches))
    };
    let joined =
        |what: &str, e: tokio::task::JoinError| HuntError::Internal(format!("{what}: {e}"));

    // 3. Every query: its flag from the scan, within the window and scope. A query that reads
    // the parent image is evaluated again here, because 4688 parents are filled in after the
    // scan (`fill_parent_images`).
    let coverage = stats.coverage();
    let present: BTreeSet<(String, i64)> = coverage
        .keys()
        .map(|(_, ch, id)| (ch.to_ascii_lowercase(), *id))
        .collect();
    let channels: BTreeSet<String> = present.iter().map(|(c, _)| c.clone()).collect();
    let mut base = and_window(lit(true), &window);
    if let Some((_, s)) = &scope_query {
        base = base.and(s.clone());
    }
    let parent = f::PRINCIPAL_PATH.name();
    let mut select = vec![col(format!("\"{ROW_ID}\"")), base.alias("in_scope")];
    for (i, e) in pack.entries.iter().enumerate() {
        let reads_parent = e.filter.column_refs().iter().any(|c| c.name() == parent);
        if reads_parent {
            select.push(e.filter.clone().alias(format!("q{i}")));
        } else {
            select.push(col(format!("\"{}\"", flag_name(i))).alias(format!("q{i}")));
        }
    }
    let flags = {
        let state = ctx.state();
        let plan = crate::direct::select(&state, mem.clone(), None, select).await?;
        datafusion::physical_plan::collect(plan, state.task_ctx()).await?
    };
    let mut per_entry: Vec<Vec<u32>> = vec![Vec::new(); pack.entries.len()];
    for b in &flags {
        let rows = b.column(0).as_any().downcast_ref::<Int64Array>();
        let in_scope = b.column(1).as_any().downcast_ref::<BooleanArray>();
        let (Some(rows), Some(in_scope)) = (rows, in_scope) else {
            continue;
        };
        for (i, list) in per_entry.iter_mut().enumerate() {
            let Some(hit) = b.column(i + 2).as_any().downcast_ref::<BooleanArray>() else {
                continue;
            };
            for r in 0..b.num_rows() {
                if is_true(hit, r) && is_true(in_scope, r) {
                    list.push(rows.value(r) as u32);
                }
            }
        }
    }
    let mut hits: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    for (e, mut rows) in pack.entries.iter().zip(per_entry) {
        rows.sort_unstable();
        hits.insert(e.entry.id.clone(), rows);
    }
    phase("queries");

    // 4. Recurring launches: a DataFusion aggregate over the hunted launches, the hits of the
    // non-context queries (already within the window and scope), marked in a column rather
    // than re-evaluating every query's expression.
    let mut hunted = vec![false; candidates];
    for e in pack
        .entries
        .iter()
        .filter(|e| e.entry.role != Role::Context)
    {
        for &r in hits.get(&e.entry.id).map(Vec::as_slice).unwrap_or_default() {
            if let Some(h) = hunted.get_mut(r as usize) {
                *h = true;
            }
        }
    }
    let (marked_batches, marked_schema) = with_mark(&batches, &mem.schema(), HUNTED, &hunted)?;
    let marked = Arc::new(MemTable::try_new(marked_schema, vec![marked_batches])?);
    let launches = column(f::EVENT_TYPE)
        .eq(lit("PROCESS_LAUNCH"))
        .and(col(format!("\"{HUNTED}\"")));
    let recurrences =
        crate::correlate::run_recurrence(ctx, marked, launches, 3, 15 * crate::time::MINUTE)
            .await?;
    phase("recurrence");

    // 5. Collect what ran beside: the correlations in a fixed order (sequences, thresholds,
    // recurrence, prior logons).
    let mut links: BTreeMap<String, Vec<(u32, u32)>> = BTreeMap::new();
    let mut correlations = Vec::new();
    for (seq, handle) in sequences.iter().zip(running_seqs) {
        let l = handle
            .await
            .map_err(|e| joined(&format!("sequence {}", seq.id), e))??;
        correlations.push(CorrelationResult {
            id: seq.id.to_string(),
            description: seq.description.to_string(),
            matches: l.pairs.len(),
        });
        links.insert(seq.id.to_string(), l.pairs);
    }
    let mut bursts = Vec::new();
    for (id, description, handle) in running_ths {
        let found = handle
            .await
            .map_err(|e| joined(&format!("threshold {id}"), e))??;
        correlations.push(CorrelationResult {
            id: id.to_string(),
            description: description.to_string(),
            matches: found.len(),
        });
        bursts.extend(found);
    }
    correlations.push(CorrelationResult {
        id: "recurring-launches".into(),
        description: "the same command line by the same user on the same host, first launched within 15 minutes of the same time of day on 3 or more days".into(),
        matches: recurrences.len(),
    });
    let prior_logons = match running_prior {
        Some((handle, with_folded)) => {
            let rows = handle
                .await
                .map_err(|e| joined("prior network logons", e))??;
            if with_folded {
                fold.merge(rows)
            } else {
                rows
            }
        }
        None => Vec::new(),
    };
    if window.start.is_some() {
        correlations.push(CorrelationResult {
            id: "prior-network-logons".into(),
            description: "distinct source and target of the network logons before the hunt window (first-seen pairs are those absent here)".into(),
            matches: prior_logons.len(),
        });
    }
    drop(mem);
    let evs = running_evs.await.map_err(|e| joined("event view", e))?;
    drop(batches);

    phase("correlations");
    // 6. Findings.
    let built = findings::build(&findings::Inputs {
        evs: &evs,
        pack,
        hits: &hits,
        links: &links,
        bursts: &bursts,
        window_start: window.start,
        recurrences: &recurrences,
        prior_logons: &prior_logons,
    });
    let mut resolver = built.resolver;
    let mut findings = built.findings;
    if let Some(inv) = &req.inventory {
        crate::inventory::apply(inv, &mut findings);
    } else {
        crate::inventory::heuristic(&mut findings);
    }
    phase("findings");
    let graph = graph::build(&findings);

    // Query table.
    let mut queries = Vec::new();
    for e in &pack.entries {
        let rows = hits.get(&e.entry.id).cloned().unwrap_or_default();
        let hosts: BTreeSet<String> = rows
            .iter()
            .map(|&r| evs[r as usize].host().to_string())
            .collect();
        let evaluable = e.requires.iter().any(|(ch, id)| {
            present.contains(&(ch.to_ascii_lowercase(), *id))
                || (!always_logged(ch, *id) && channels.contains(&ch.to_ascii_lowercase()))
        });
        let status = if !rows.is_empty() {
            format!("{} hit(s)", rows.len())
        } else if evaluable {
            "no hits (negative result)".to_string()
        } else {
            format!(
                "no hits; not evaluable: the evidence holds none of {} (not collected or not audited)",
                e.entry.requires.join(", ")
            )
        };
        queries.push(QueryResult {
            id: e.entry.id.clone(),
            name: e.entry.name.clone(),
            udm: e.udm.clone(),
            family: e.entry.family.clone(),
            role: e.entry.role,
            severity: e.entry.severity,
            techniques: e.entry.techniques.clone(),
            hits: rows.len(),
            status,
            hosts: hosts.into_iter().collect(),
            origin: e.origin.clone(),
        });
    }

    // Techniques investigated.
    let mut tech_ids: BTreeSet<String> = BTreeSet::new();
    for e in &pack.entries {
        tech_ids.extend(e.entry.techniques.iter().cloned());
    }
    let techniques = tech_ids
        .into_iter()
        .map(|id| {
            let (name, tactics) =
                crate::attack::lookup(&id).unwrap_or(("(not in the built-in ATT&CK table)", ""));
            Technique {
                id,
                name: name.into(),
                tactics: tactics.into(),
            }
        })
        .collect();

    // Coverage and gaps.
    let mut cov_rows: BTreeMap<(String, String), CoverageRow> = BTreeMap::new();
    for ((host, ch, id), c) in &coverage {
        let row = cov_rows
            .entry((host.clone(), ch.clone()))
            .or_insert_with(|| CoverageRow {
                host: host.clone(),
                channel: ch.clone(),
                event_ids: Vec::new(),
                first: String::new(),
                last: String::new(),
            });
        row.event_ids.push((*id, c.events));
        if c.first != i64::MAX {
            if row.first.is_empty() || iso(c.first) < row.first {
                row.first = iso(c.first);
            }
            if iso(c.last) > row.last {
                row.last = iso(c.last);
            }
        }
    }
    let coverage_rows: Vec<CoverageRow> = cov_rows.into_values().collect();
    let evidence_hosts: Vec<String> = coverage_rows
        .iter()
        .map(|r| r.host.clone())
        .filter(|h| !h.is_empty())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let gaps = gaps(&present, &evidence_hosts, &coverage);

    phase("report tables");
    // Entities.
    let (hosts, accounts) = entities(&evs, &findings, &mut resolver, req.inventory.as_ref());

    // Conclusion and follow-ups.
    phase("entities");
    let conclusion = conclude(&findings, &graph);
    let mut follow_ups: Vec<String> = Vec::new();
    for fnd in &findings {
        for fu in &fnd.follow_ups {
            if !follow_ups.contains(fu) {
                follow_ups.push(fu.clone());
            }
        }
    }
    let recommendations = recommendations(&findings, &gaps);

    let scope_label = scope_label(req.scope.as_deref());
    let mut workflow = vec![Step {
        step: format!(
            "Research techniques ({} ATT&CK ids)",
            queries
                .iter()
                .flat_map(|q| q.techniques.iter())
                .collect::<BTreeSet<_>>()
                .len()
        ),
        result: "built-in technique table".into(),
    }];
    workflow.push(Step {
        step: format!("Scan evidence once ({} source(s))", engine.source_count()),
        result: format!(
            "{} records read, {} candidate events{}",
            stats.records.load(std::sync::atomic::Ordering::Relaxed),
            candidates,
            match held_from {
                Some(t) => format!(
                    " (held from {}, {} h before the window; older network logons kept as first-seen pairs)",
                    iso(t),
                    crate::bound::CONTEXT_BEFORE_WINDOW / crate::time::HOUR
                ),
                None => String::new(),
            }
        ),
    });
    for q in &queries {
        workflow.push(Step {
            step: format!("Query {}", q.id),
            result: if q.hits == 0 {
                "0 events".into()
            } else {
                format!("{} events", q.hits)
            },
        });
    }
    for c in &correlations {
        workflow.push(Step {
            step: format!("Correlate {}", c.id),
            result: format!("{} match(es)", c.matches),
        });
    }
    workflow.push(Step {
        step: "Analyse, resolve host identities, build findings and graph".into(),
        result: format!(
            "{} finding(s), {} movement edge(s), {} chain(s)",
            findings.len(),
            graph.edges.iter().filter(|e| e.kind == "movement").count(),
            graph.chains.len()
        ),
    });
    workflow.push(Step {
        step: format!(
            "Enrich {} host(s) and {} account(s)",
            hosts.len(),
            accounts.len()
        ),
        result: "done".into(),
    });
    workflow.push(Step {
        step: "Conclude".into(),
        result: conclusion.verdict.clone(),
    });

    let issues: Vec<IssueLine> = engine
        .issues()
        .into_iter()
        .map(|i| IssueLine {
            file: i.file,
            position: i.position,
            message: i.message,
            whole_file: i.whole_file,
        })
        .collect();
    let files_skipped = issues
        .iter()
        .filter(|i| i.whole_file)
        .map(|i| &i.file)
        .collect::<BTreeSet<_>>()
        .len();
    let records_skipped = issues.iter().filter(|i| !i.whole_file).count();
    let inventory_note = if req.inventory.is_some() {
        "Expected administration sources come from the inventory file.".to_string()
    } else {
        "No inventory given: a heuristic decides which sources are unexpected (a workstation-like name or an unknown address administering another host, or a source whose own logs are not in the evidence). Give --inventory to state which hosts are admin servers.".to_string()
    };
    let window_info = WindowInfo {
        start: window.start.map(iso),
        end: window.end.map(iso),
        hours_back: req.window.hours_back,
        description: window.describe(),
    };
    let title = format!("Lateral movement hunt: {}", scope_label.replace('_', " "));
    let hypothesis = req.hypothesis.clone().unwrap_or_else(|| {
        "An adversary with valid credentials moved between Windows hosts using remote execution over SMB admin shares and the service control manager (PsExec and clones), WMI, DCOM, remote scheduled tasks or WinRM.".to_string()
    });
    let sequences_run = correlations.len();
    Ok(HuntReport {
        title,
        runbook: format!("lateral-movement hunt pack ({})", pack.sources.join(" + ")),
        generated: iso(started_wall.timestamp_micros()),
        scope: scope_query.map(|(u, _)| u),
        scope_label,
        case_id: req.case_id.clone(),
        objective: "Find evidence of lateral movement (T1021.002, T1047, T1570, T1569.002 and related techniques) in the hunt window, attribute each movement to a source, target, account and tool, and state the negative results.".into(),
        hypothesis,
        window: window_info,
        evidence_hosts,
        techniques,
        workflow,
        queries,
        correlations,
        findings,
        recurring_jobs: built.recurring,
        graph,
        hosts,
        accounts,
        coverage: coverage_rows,
        gaps,
        inventory_note,
        conclusion,
        recommendations,
        follow_ups,
        execution: Execution {
            version: env!("CARGO_PKG_VERSION").to_string(),
            started: iso(started_wall.timestamp_micros()),
            duration_ms: started.elapsed().as_millis(),
            sources: engine.source_count(),
            records_read: stats.records.load(std::sync::atomic::Ordering::Relaxed),
            candidate_events: candidates,
            candidates_from: held_from.map(iso),
            queries_run: pack.entries.len(),
            sequences_run,
            issues,
            files_skipped,
            records_skipped,
        },
    })
}

/// `serhatg.local`-style label of the scope for titles and file names.
pub fn scope_label(scope: Option<&str>) -> String {
    let Some(s) = scope.filter(|s| !s.trim().is_empty()) else {
        return "all_hosts".into();
    };
    // The first quoted value is the most telling part of a scope fragment.
    let value = s.split('"').nth(1).unwrap_or(s);
    let clean: String = value
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let clean = clean.trim_matches('_').to_string();
    if clean.is_empty() {
        "scoped".into()
    } else {
        clean.chars().take(60).collect()
    }
}

/// Events that, when their audit policy or Sysmon rule is on, appear in any real log of a
/// few hours; their absence means they are not collected. Other events (7045, 4697, 4698,
/// 10016, ...) only appear when the activity happens, so the channel being collected is
/// enough for a query on them to be meaningful.
fn always_logged(channel: &str, id: i64) -> bool {
    let sysmon = "microsoft-windows-sysmon/operational";
    match channel.to_ascii_lowercase().as_str() {
        "security" => matches!(id, 4624 | 4634 | 4688 | 4672 | 5140 | 5145 | 5156),
        c if c == sysmon => matches!(id, 1 | 3 | 5 | 7 | 10 | 11 | 12 | 13 | 17 | 18 | 22),
        _ => false,
    }
}

fn gaps(
    present: &BTreeSet<(String, i64)>,
    hosts: &[String],
    coverage: &BTreeMap<lateral_engine::CoverageKey, lateral_engine::CoverageCount>,
) -> Vec<String> {
    let has = |ch: &str, id: i64| present.contains(&(ch.to_ascii_lowercase(), id));
    let sysmon = "Microsoft-Windows-Sysmon/Operational";
    let mut out = Vec::new();
    let (cap_ch, cap_id) = crate::pack::CAPTURE_REQUIREMENT;
    let captures = has(cap_ch, cap_id);
    if hosts.is_empty() {
        if captures {
            out.push("Network captures only, no host logs: what the targets ran is seen only as far as the wire shows it (encrypted RPC stubs and SMB3 encryption hide names and commands; processes started by a service, task or WMI call are not visible). Add the targets' Security, System and Sysmon logs to confirm execution.".into());
        } else {
            out.push("No Windows events were read: nothing could be evaluated.".into());
        }
        return out;
    }
    if !has(sysmon, 3) && !has("Security", 5156) {
        out.push("No Sysmon event 3 (or Security 5156) network connections: network correlation of processes with SMB/RPC connections is not possible; sources rest on logons and share access.".into());
    }
    if !has(sysmon, 1) && !has("Security", 4688) {
        out.push("No process creation events (Sysmon 1 or Security 4688): what ran through WMI, DCOM or services cannot be seen.".into());
    } else if !has(sysmon, 1) {
        out.push("No Sysmon event 1: process creation comes from 4688 only (no parent command lines, hashes or logon ids on older systems).".into());
    }
    if !has("Security", 4624) {
        out.push(
            "No Security 4624 logons: sources and accounts cannot be tied to logon sessions."
                .into(),
        );
    }
    if !has("Security", 5145) {
        out.push("No Security 5145 (detailed file share auditing): admin-share file drops and svcctl/atsvc pipe access are invisible.".into());
    }
    let channel = |c: &str| present.iter().any(|(ch, _)| ch.eq_ignore_ascii_case(c));
    if !channel("System") && !has("Security", 4697) {
        out.push("No System log (7045) and no Security 4697: service installations are invisible; remote service creation can only be inferred from processes.".into());
    }
    if !has(sysmon, 17) && !has(sysmon, 18) && !has("Security", 5145) {
        out.push("No named-pipe events (Sysmon 17/18 or 5145): PsExec pipes naming the client host are invisible.".into());
    }
    // Hosts with only some channels.
    let mut by_host: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (h, ch, _) in coverage.keys() {
        by_host.entry(h.as_str()).or_default().insert(ch.as_str());
    }
    for (h, chans) in by_host {
        if h.is_empty() {
            continue;
        }
        let missing: Vec<&str> = ["Security", "System", sysmon]
            .into_iter()
            .filter(|c| !chans.iter().any(|x| x.eq_ignore_ascii_case(c)))
            .collect();
        if !missing.is_empty() && missing.len() < 3 {
            out.push(format!(
                "{h}: no {} events in the evidence.",
                missing.join(", ")
            ));
        }
    }
    out
}

fn entities(
    evs: &[Ev],
    findings: &[Finding],
    resolver: &mut crate::hosts::Resolver,
    inventory: Option<&crate::inventory::Inventory>,
) -> (Vec<HostEntity>, Vec<AccountEntity>) {
    let mut host_keys: BTreeSet<HostKey> = BTreeSet::new();
    let mut account_names: BTreeSet<String> = BTreeSet::new();
    for fnd in findings {
        host_keys.extend(fnd.source_key);
        host_keys.extend(fnd.target_key);
        if let Some(a) = &fnd.account {
            account_names.insert(a.to_ascii_lowercase());
        }
    }
    #[derive(Default)]
    struct Acc {
        first: i64,
        last: i64,
        types: BTreeMap<String, u64>,
        others: BTreeSet<String>,
        sources: BTreeSet<String>,
        display: String,
    }
    let mut hacc: BTreeMap<HostKey, Acc> = BTreeMap::new();
    let mut aacc: BTreeMap<String, Acc> = BTreeMap::new();
    for ev in evs {
        let acct = [
            (ev.s(f::TARGET_DOMAIN), ev.s(f::TARGET_USERID)),
            (ev.s(f::PRINCIPAL_DOMAIN), ev.s(f::PRINCIPAL_USERID)),
        ]
        .into_iter()
        .filter_map(|(d, u)| crate::describe::account_of(d, u))
        .collect::<Vec<_>>();
        let host = resolver.resolve(Some(ev.host()), None);
        let remote = resolver.resolve_at(
            ev.opt(f::SRC_HOSTNAME),
            ev.opt(f::PRINCIPAL_IP),
            Some(ev.ts),
        );
        let etype = ev.s(f::EVENT_TYPE).to_string();
        for k in [host, remote].into_iter().flatten() {
            if !host_keys.contains(&k) {
                continue;
            }
            let a = hacc.entry(k).or_insert_with(|| Acc {
                first: i64::MAX,
                last: i64::MIN,
                ..Default::default()
            });
            a.first = a.first.min(ev.ts);
            a.last = a.last.max(ev.ts);
            *a.types.entry(etype.clone()).or_default() += 1;
            for u in &acct {
                a.others.insert(u.clone());
            }
        }
        for u in &acct {
            let key = u.to_ascii_lowercase();
            if !account_names.contains(&key) {
                continue;
            }
            let a = aacc.entry(key).or_insert_with(|| Acc {
                first: i64::MAX,
                last: i64::MIN,
                display: u.clone(),
                ..Default::default()
            });
            a.first = a.first.min(ev.ts);
            a.last = a.last.max(ev.ts);
            *a.types.entry(etype.clone()).or_default() += 1;
            a.others.insert(ev.host().to_string());
            if ev.is_security(4624) {
                if let Some(src) = ev.opt(f::PRINCIPAL_IP).or_else(|| ev.opt(f::SRC_HOSTNAME)) {
                    a.sources.insert(src.to_string());
                }
            }
        }
    }
    let mut hosts = Vec::new();
    for k in host_keys {
        let info = resolver.info(k);
        let acc = hacc.remove(&k).unwrap_or_default();
        let related: Vec<String> = findings
            .iter()
            .filter(|f| f.source_key == Some(k) || f.target_key == Some(k))
            .map(|f| f.id.clone())
            .collect();
        let role = inventory.and_then(|inv| inv.role_of(&info.name, &info.names, &info.ips));
        hosts.push(HostEntity {
            first_seen: (acc.first != i64::MAX && acc.first != 0).then(|| iso(acc.first)),
            last_seen: (acc.last != i64::MIN && acc.last != 0).then(|| iso(acc.last)),
            events_by_type: acc.types,
            accounts: acc
                .others
                .into_iter()
                .filter(|a| !is_noise_account(a))
                .take(20)
                .collect(),
            findings: related,
            name: info.name,
            names: info.names,
            ips: info.ips,
            logs_collected: info.logs_collected,
            role,
        });
    }
    hosts.sort_by(|a, b| a.name.cmp(&b.name));
    let mut accounts = Vec::new();
    for name in account_names {
        let acc = aacc.remove(&name).unwrap_or_default();
        let related: Vec<String> = findings
            .iter()
            .filter(|f| f.account.as_deref().map(str::to_ascii_lowercase) == Some(name.clone()))
            .map(|f| f.id.clone())
            .collect();
        accounts.push(AccountEntity {
            account: if acc.display.is_empty() {
                name.clone()
            } else {
                acc.display.clone()
            },
            first_seen: if acc.first == i64::MAX {
                String::new()
            } else {
                iso(acc.first)
            },
            last_seen: if acc.last == i64::MIN {
                String::new()
            } else {
                iso(acc.last)
            },
            events_by_type: acc.types,
            hosts: acc.others.into_iter().collect(),
            logon_sources: acc.sources.into_iter().collect(),
            findings: related,
        });
    }
    (hosts, accounts)
}

fn is_noise_account(a: &str) -> bool {
    let u = a.rsplit('\\').next().unwrap_or(a).to_ascii_uppercase();
    matches!(
        u.as_str(),
        "SYSTEM" | "LOCAL SERVICE" | "NETWORK SERVICE" | "-"
    )
}

fn conclude(findings: &[Finding], graph: &Graph) -> Conclusion {
    let mut movements = Vec::new();
    let mut local = Vec::new();
    for fnd in findings {
        let src = fnd.source.as_ref().map(|s| s.host.as_str()).unwrap_or("?");
        let dst = fnd.target.as_ref().map(|s| s.host.as_str()).unwrap_or("?");
        let how = format!(
            "{}{}",
            fnd.tool.as_deref().unwrap_or("remote execution"),
            fnd.account
                .as_deref()
                .map(|a| format!(", account {a}"))
                .unwrap_or_default()
        );
        match fnd.kind {
            FindingKind::LateralMovement => {
                movements.push(format!("{src} → {dst} ({how}) [{}]", fnd.id))
            }
            FindingKind::SuspectedMovement => movements.push(format!(
                "? → {dst} ({how}; source not attributable) [{}]",
                fnd.id
            )),
            FindingKind::SourceSideMovement => movements.push(format!(
                "{src} → {dst} ({how}; source-side evidence only) [{}]",
                fnd.id
            )),
            FindingKind::LocalExecution | FindingKind::PrivilegeEscalation => {
                local.push(format!("{}: {} [{}]", dst, fnd.title, fnd.id))
            }
            _ => {}
        }
    }
    let confirmed = findings
        .iter()
        .any(|f| f.kind == FindingKind::LateralMovement);
    let attempted = findings.iter().any(|f| {
        matches!(
            f.kind,
            FindingKind::SourceSideMovement | FindingKind::FailedAttempt
        )
    });
    let mut summary = if confirmed {
        format!(
            "Lateral movement between hosts was found: {}.",
            movements
                .iter()
                .map(|m| m.split(" [").next().unwrap_or(m).to_string())
                .collect::<Vec<_>>()
                .join("; ")
        )
    } else if attempted {
        "No confirmed host-to-host movement, but the evidence shows attempts or source-side activity aimed at other hosts (see findings).".to_string()
    } else {
        "No lateral movement between hosts was found in the window: every movement query returned no host-to-host result (see the query table for the explicit negative results).".to_string()
    };
    for c in &graph.chains {
        summary.push_str(&format!(" Multi-hop chain: {}.", c.join(" → ")));
    }
    if !local.is_empty() {
        summary.push_str(&format!(
            " {} local activity finding(s) (remote-execution tooling aimed at the host itself, or local privilege escalation) are not movement.",
            local.len()
        ));
    }
    let exposures = findings
        .iter()
        .filter(|f| f.kind == FindingKind::CredentialExposure)
        .count();
    if exposures > 0 {
        summary.push_str(&format!(" {exposures} credential-exposure finding(s): passwords typed on command lines (masked in this report)."));
    }
    Conclusion {
        movement_found: confirmed,
        verdict: if confirmed || attempted || findings.iter().any(|f| f.severity >= Severity::High)
        {
            "escalate".into()
        } else {
            "close".into()
        },
        summary,
        movements,
        local_activity: local,
    }
}

fn recommendations(findings: &[Finding], gaps: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let kinds: BTreeSet<FindingKind> = findings.iter().map(|f| f.kind).collect();
    if kinds.contains(&FindingKind::LateralMovement)
        || kinds.contains(&FindingKind::SourceSideMovement)
    {
        out.push("Isolate the source and target hosts of every movement finding and preserve memory and disk before remediation.".into());
        out.push("Reset the credentials of every account used for movement; check for reuse of the same local administrator password across hosts (LAPS).".into());
        out.push("Restrict remote service creation and admin-share access to dedicated admin hosts (Windows Firewall rules for SMB/RPC from workstations, tiered administration).".into());
    }
    if kinds.contains(&FindingKind::CredentialExposure) {
        out.push("Remove clear-text credentials from scripts and scheduled tasks; use gMSA or a vault, and rotate the exposed passwords.".into());
    }
    if kinds.contains(&FindingKind::PrivilegeEscalation) {
        out.push(
            "Investigate how the local privilege escalation started and which account ran it."
                .into(),
        );
    }
    if !gaps.is_empty() {
        out.push("Close the visibility gaps listed under data coverage (Sysmon with network, process and pipe events; detailed file share auditing 5145; process creation with command lines).".into());
    }
    if out.is_empty() {
        out.push("No action needed for lateral movement; keep the hunt pack scheduled and re-run it when new evidence arrives.".into());
    }
    out
}
