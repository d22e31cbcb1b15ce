//! The evidence table: a DataFusion [`TableProvider`] over evidence paths.
//!
//! Each scan partition reads a group of files on its own thread and streams record batches
//! through a bounded channel, so memory stays flat whatever the file size. Only projected
//! columns are built (the raw record is not even kept unless asked for). Filters on a record's
//! identity (event id, channel, provider) are pushed down and checked *before* a record is
//! normalised: records that cannot match are never mapped.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::catalog::Session;
use datafusion::common::{DFSchema, Result as DfResult};
use datafusion::datasource::{TableProvider, TableType};
use datafusion::execution::TaskContext;
use datafusion::logical_expr::utils::split_conjunction;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::{PartitionStream, StreamingTableExec};
use datafusion::physical_plan::{ExecutionPlan, SendableRecordBatchStream};
use lateral_model::{f, BatchBuilder, Field, Provenance, UdmEvent};
use lateral_sources::{read_source, to_event, Flow, ReadIssue, ReadOptions, RecordSink, Source};

/// Rows per emitted batch.
const BATCH_ROWS: usize = 8192;

/// Counters shared by every partition of every scan of one table; the CLI reads them for
/// progress and summaries.
#[derive(Debug)]
pub struct ScanStats {
    /// Records read from evidence (before any pre-filter).
    pub records: AtomicU64,
    /// Records skipped by the pre-filter before normalisation.
    pub prefiltered: AtomicU64,
    /// Events handed to the engine.
    pub events: AtomicU64,
    /// Sources (files, members) finished.
    pub sources_done: AtomicU64,
    /// Bytes of finished sources.
    pub bytes_done: AtomicU64,
    min_ts: AtomicI64,
    max_ts: AtomicI64,
    issues: Mutex<BTreeSet<IssueKey>>,
    coverage: Mutex<BTreeMap<CoverageKey, CoverageCount>>,
}

/// (logging host, canonical channel, event id); empty strings when unknown.
pub use lateral_sources::CoverageKey;

/// How many records of one kind a host logged, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CoverageCount {
    pub events: u64,
    /// Earliest and latest event time (µs UTC); `i64::MAX`/`i64::MIN` when none had a time.
    pub first: i64,
    pub last: i64,
}

impl Default for CoverageCount {
    fn default() -> Self {
        CoverageCount {
            events: 0,
            first: i64::MAX,
            last: i64::MIN,
        }
    }
}

impl CoverageCount {
    fn add(&mut self, time: Option<i64>) {
        self.events += 1;
        if let Some(t) = time {
            self.first = self.first.min(t);
            self.last = self.last.max(t);
        }
    }

    fn merge(&mut self, other: &CoverageCount) {
        self.events += other.events;
        self.first = self.first.min(other.first);
        self.last = self.last.max(other.last);
    }
}

type IssueKey = (String, String, String, bool);

impl Default for ScanStats {
    fn default() -> Self {
        ScanStats {
            records: AtomicU64::new(0),
            prefiltered: AtomicU64::new(0),
            events: AtomicU64::new(0),
            sources_done: AtomicU64::new(0),
            bytes_done: AtomicU64::new(0),
            min_ts: AtomicI64::new(i64::MAX),
            max_ts: AtomicI64::new(i64::MIN),
            issues: Mutex::new(BTreeSet::new()),
            coverage: Mutex::new(BTreeMap::new()),
        }
    }
}

impl ScanStats {
    /// Count what a table read without this scan holds (the Parquet store, whose manifest
    /// keeps the time range and coverage of every file), as if it had been scanned once.
    pub fn seed(
        &self,
        time_range: Option<(i64, i64)>,
        coverage: &BTreeMap<CoverageKey, CoverageCount>,
    ) {
        if let Some((lo, hi)) = time_range {
            self.see_time(lo);
            self.see_time(hi);
        }
        if let Ok(mut m) = self.coverage.lock() {
            for (k, v) in coverage {
                m.entry(k.clone()).or_default().merge(v);
            }
        }
    }

    fn see_time(&self, micros: i64) {
        self.min_ts.fetch_min(micros, Ordering::Relaxed);
        self.max_ts.fetch_max(micros, Ordering::Relaxed);
    }

    /// Earliest and latest event time seen by any scan so far.
    pub fn time_range(&self) -> Option<(i64, i64)> {
        let (lo, hi) = (
            self.min_ts.load(Ordering::Relaxed),
            self.max_ts.load(Ordering::Relaxed),
        );
        (lo <= hi).then_some((lo, hi))
    }

    pub fn add_issue(&self, issue: &ReadIssue) {
        if let Ok(mut set) = self.issues.lock() {
            set.insert((
                issue.file.clone(),
                issue.position.to_string(),
                issue.message.clone(),
                issue.fatal_for_file,
            ));
        }
    }

    /// Records read per (host, channel, event id), counted before any pre-filter, so one
    /// filtered scan still tells what data the evidence holds. Summed over every scan of the
    /// table (the hunt scans once).
    pub fn coverage(&self) -> BTreeMap<CoverageKey, CoverageCount> {
        self.coverage.lock().map(|m| m.clone()).unwrap_or_default()
    }

    fn merge_coverage(&self, local: &mut HashMap<CoverageKey, CoverageCount>) {
        if local.is_empty() {
            return;
        }
        if let Ok(mut m) = self.coverage.lock() {
            for (k, v) in local.drain() {
                m.entry(k).or_default().merge(&v);
            }
        }
    }

    /// Every distinct problem met so far, sorted by file and position.
    pub fn issues(&self) -> Vec<ReportedIssue> {
        self.issues
            .lock()
            .map(|set| {
                set.iter()
                    .map(|(file, position, message, fatal)| ReportedIssue {
                        file: file.clone(),
                        position: position.clone(),
                        message: message.clone(),
                        whole_file: *fatal,
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// A problem as reported to users.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ReportedIssue {
    pub file: String,
    pub position: String,
    pub message: String,
    pub whole_file: bool,
}

/// Columns fixed by a record's identity (channel, provider, event id), so filters on them can
/// be decided before mapping. The event type is fixed too: the mapping lists the types each
/// identity can produce.
const IDENTITY_FIELDS: [Field; 5] = [
    f::PRODUCT_EVENT_TYPE,
    f::EVENT_ID,
    f::CHANNEL,
    f::PRODUCT_NAME,
    f::EVENT_TYPE,
];

/// The table of every event in a set of evidence sources.
pub struct EvidenceTable {
    sources: Vec<Source>,
    stats: Arc<ScanStats>,
    partitions: usize,
}

impl fmt::Debug for EvidenceTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EvidenceTable")
            .field("sources", &self.sources.len())
            .field("partitions", &self.partitions)
            .finish()
    }
}

impl EvidenceTable {
    /// `partitions`: how many files are read at once (usually the number of cores).
    pub fn new(sources: Vec<Source>, stats: Arc<ScanStats>, partitions: usize) -> Self {
        EvidenceTable {
            sources,
            stats,
            partitions: partitions.max(1),
        }
    }

    pub fn sources(&self) -> &[Source] {
        &self.sources
    }

    pub fn stats(&self) -> Arc<ScanStats> {
        self.stats.clone()
    }

    /// Spread sources over `n` groups, largest first onto the least loaded group (stable).
    fn groups(&self) -> Vec<Vec<Source>> {
        let n = self.partitions.min(self.sources.len()).max(1);
        let mut order: Vec<&Source> = self.sources.iter().collect();
        order.sort_by(|a, b| b.size.cmp(&a.size).then(a.display.cmp(&b.display)));
        let mut groups: Vec<(u64, Vec<Source>)> = vec![(0, Vec::new()); n];
        for s in order {
            if let Some(g) = groups.iter_mut().min_by_key(|(load, _)| *load) {
                g.0 += s.size.max(1);
                g.1.push(s.clone());
            }
        }
        groups.into_iter().map(|(_, g)| g).collect()
    }
}

#[async_trait]
impl TableProvider for EvidenceTable {
    fn schema(&self) -> SchemaRef {
        lateral_model::schema()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> DfResult<Vec<TableProviderFilterPushDown>> {
        // Inexact: the scan uses what it can to skip records early; DataFusion still applies
        // every filter to what the scan returns.
        Ok(vec![TableProviderFilterPushDown::Inexact; filters.len()])
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        _limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        let full = lateral_model::schema();
        let projection: Vec<usize> = match projection {
            Some(p) => p.clone(),
            None => (0..full.fields().len()).collect(),
        };
        let builder = BatchBuilder::new(Some(&projection));
        let schema = builder.schema();
        let prefilter = Prefilter::build(state, filters)?;
        let want_raw = projection.contains(&f::RAW.0);
        let groups = self.groups();
        let evtx_threads = if groups.len() == 1 && self.sources.len() == 1 {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        } else {
            1
        };
        let partitions: Vec<Arc<dyn PartitionStream>> = groups
            .into_iter()
            .map(|sources| {
                Arc::new(GroupStream {
                    sources,
                    projection: projection.clone(),
                    schema: schema.clone(),
                    opts: ReadOptions {
                        want_raw,
                        evtx_threads,
                        admit: (!prefilter.is_empty()).then(|| {
                            let p = prefilter.clone();
                            Arc::new(move |rec: &lateral_sources::WinRecord| p.admits_record(rec))
                                as lateral_sources::Admit
                        }),
                    },
                    stats: self.stats.clone(),
                    prefilter: prefilter.clone(),
                }) as Arc<dyn PartitionStream>
            })
            .collect();
        let exec = StreamingTableExec::try_new(schema, partitions, None, Vec::new(), false, None)?;
        Ok(Arc::new(exec))
    }
}

/// Filters that depend only on a record's identity, compiled to physical expressions, with
/// the decision per identity cached (shared by every reader thread of the scan).
#[derive(Clone, Default)]
struct Prefilter {
    exprs: Vec<Arc<dyn PhysicalExpr>>,
    decisions: Arc<Mutex<HashMap<IdentityKey, bool>>>,
}

impl fmt::Debug for Prefilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Prefilter({} conjuncts)", self.exprs.len())
    }
}

impl Prefilter {
    fn build(state: &dyn Session, filters: &[Expr]) -> DfResult<Prefilter> {
        let full = lateral_model::schema();
        let df_schema = DFSchema::try_from(full.as_ref().clone())?;
        let mut exprs = Vec::new();
        for filter in filters {
            for conjunct in split_conjunction(filter) {
                let Some(relaxed) = identity_condition(conjunct) else {
                    continue;
                };
                // A conjunct that cannot be planned here is simply not used early.
                if let Ok(p) = state.create_physical_expr(relaxed, &df_schema) {
                    exprs.push(p);
                }
            }
        }
        Ok(Prefilter {
            exprs,
            decisions: Arc::default(),
        })
    }

    /// Whether a record with this identity can match (cached per channel, provider, event id).
    fn admits_record(&self, rec: &lateral_sources::WinRecord) -> bool {
        if self.exprs.is_empty() {
            return true;
        }
        let channel = rec.canonical_channel();
        let key = (channel.clone(), rec.provider.clone(), rec.event_id);
        if let Some(d) = self
            .decisions
            .lock()
            .ok()
            .and_then(|m| m.get(&key).copied())
        {
            return d;
        }
        let mut id = UdmEvent::new();
        if let Some(eid) = rec.event_id {
            id.set_str(f::PRODUCT_EVENT_TYPE, eid.to_string());
            id.set_int(f::EVENT_ID, i64::from(eid));
        }
        if let Some(c) = channel {
            id.set_str(f::CHANNEL, c);
        }
        if let Some(p) = &rec.provider {
            id.set_str(f::PRODUCT_NAME, p.clone());
        }
        let candidates: Vec<UdmEvent> = lateral_sources::mapping::possible_event_types(rec)
            .into_iter()
            .map(|t| {
                let mut c = id.clone();
                c.set_str(f::EVENT_TYPE, t);
                c
            })
            .collect();
        let d = self.admits(&candidates);
        if let Ok(mut m) = self.decisions.lock() {
            m.insert(key, d);
        }
        d
    }

    fn is_empty(&self) -> bool {
        self.exprs.is_empty()
    }

    /// Whether an event with one of these identities can pass every identity conjunct.
    fn admits(&self, candidates: &[UdmEvent]) -> bool {
        candidates.iter().any(|identity| {
            let mut b = BatchBuilder::new(None);
            b.push(identity);
            let Ok(batch) = b.finish() else { return true };
            self.exprs.iter().all(|e| passes(e.as_ref(), &batch))
        })
    }
}

/// [`identity_relaxation`] over the fields the scan knows before it maps a record (channel,
/// provider, event id, event type): what the scan's pre-filter will enforce for `expr`.
pub fn identity_condition(expr: &Expr) -> Option<Expr> {
    let identity: Vec<&str> = IDENTITY_FIELDS.iter().map(|f| f.name()).collect();
    identity_relaxation(expr, &identity)
}

/// The weakest condition on a record's identity that `expr` implies: every row for which
/// `expr` is true makes the result true, so records failing the result can be skipped before
/// they are mapped. `None` means no identity condition follows (every record must be read).
///
/// A subtree that reads only identity columns is kept whole; `a AND b` keeps what either side
/// implies; `a OR b` needs a condition from both sides; anything else (negation of a mixed
/// subtree, functions over event data) implies nothing. This is what lets a hunt's feed, an
/// OR of many queries such as `(event_id = 4624 AND logon type = 3) OR (event_id = 7045 AND
/// service path CONTAINS ...)`, skip every record of an event id no query names.
pub fn identity_relaxation(expr: &Expr, identity: &[&str]) -> Option<Expr> {
    use datafusion::logical_expr::{BinaryExpr, Operator};
    let cols = expr.column_refs();
    if cols.is_empty() {
        return matches!(expr, Expr::Literal(..)).then(|| expr.clone());
    }
    if cols.iter().all(|c| identity.contains(&c.name.as_str())) {
        return Some(expr.clone());
    }
    match expr {
        Expr::BinaryExpr(BinaryExpr {
            left,
            op: Operator::And,
            right,
        }) => match (
            identity_relaxation(left, identity),
            identity_relaxation(right, identity),
        ) {
            (Some(l), Some(r)) => Some(l.and(r)),
            (Some(x), None) | (None, Some(x)) => Some(x),
            (None, None) => None,
        },
        Expr::BinaryExpr(BinaryExpr {
            left,
            op: Operator::Or,
            right,
        }) => Some(identity_relaxation(left, identity)?.or(identity_relaxation(right, identity)?)),
        Expr::Alias(a) => identity_relaxation(&a.expr, identity),
        _ => None,
    }
}

fn passes(expr: &dyn PhysicalExpr, batch: &RecordBatch) -> bool {
    use datafusion::arrow::array::{Array, BooleanArray};
    match expr.evaluate(batch).and_then(|v| v.into_array(1)) {
        Ok(arr) => match arr.as_any().downcast_ref::<BooleanArray>() {
            Some(b) => b.len() == 1 && b.is_valid(0) && b.value(0),
            None => true,
        },
        // When in doubt, read the record: the real filter runs later anyway.
        Err(_) => true,
    }
}

#[derive(Debug)]
struct GroupStream {
    sources: Vec<Source>,
    projection: Vec<usize>,
    schema: SchemaRef,
    opts: ReadOptions,
    stats: Arc<ScanStats>,
    prefilter: Prefilter,
}

impl PartitionStream for GroupStream {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let (tx, rx) = tokio::sync::mpsc::channel::<DfResult<RecordBatch>>(2);
        let sources = self.sources.clone();
        let projection = self.projection.clone();
        let opts = self.opts.clone();
        let stats = self.stats.clone();
        let prefilter = self.prefilter.clone();
        let spawned = std::thread::Builder::new()
            .name("lateral-scan".into())
            .spawn(move || {
                let mut sink = BatchSink {
                    builder: BatchBuilder::new(Some(&projection)),
                    tx: tx.clone(),
                    stats: stats.clone(),
                    prefilter,
                    coverage: HashMap::new(),
                };
                for src in &sources {
                    let flow = read_source(src, &opts, &mut sink);
                    stats.merge_coverage(&mut sink.coverage);
                    stats.sources_done.fetch_add(1, Ordering::Relaxed);
                    stats.bytes_done.fetch_add(src.size, Ordering::Relaxed);
                    // Batches span files (many small files must not mean many tiny
                    // batches: every batch costs DataFusion a fixed price per expression).
                    if flow == Flow::Stop || sink.tx.is_closed() {
                        return;
                    }
                }
                let _ = sink.flush();
            });
        if let Err(e) = spawned {
            let msg = format!("cannot start a scan thread: {e}");
            let _ = self
                .stats
                .issues
                .lock()
                .map(|mut s| s.insert(("<engine>".into(), "file".into(), msg, true)));
        }
        let stream = futures::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        });
        Box::pin(RecordBatchStreamAdapter::new(self.schema.clone(), stream))
    }
}

type IdentityKey = (Option<String>, Option<String>, Option<u32>);

struct BatchSink {
    builder: BatchBuilder,
    tx: tokio::sync::mpsc::Sender<DfResult<RecordBatch>>,
    stats: Arc<ScanStats>,
    prefilter: Prefilter,
    /// Per-source coverage counts, merged into the stats after each source.
    coverage: HashMap<CoverageKey, CoverageCount>,
}

impl BatchSink {
    fn count_record(&mut self, rec: &lateral_sources::WinRecord) {
        let key = lateral_sources::coverage::record_key(rec);
        self.coverage.entry(key).or_default().add(rec.time_micros);
    }

    fn count_event(&mut self, ev: &UdmEvent) {
        let key = lateral_sources::coverage::event_key(ev);
        self.coverage
            .entry(key)
            .or_default()
            .add(ev.timestamp_micros());
    }

    fn push(&mut self, ev: &UdmEvent) -> Flow {
        self.stats.events.fetch_add(1, Ordering::Relaxed);
        self.builder.push(ev);
        if self.builder.len() >= BATCH_ROWS {
            return self.flush();
        }
        Flow::Continue
    }

    fn flush(&mut self) -> Flow {
        if self.builder.is_empty() {
            return Flow::Continue;
        }
        let batch = self
            .builder
            .finish()
            .map_err(|e| datafusion::error::DataFusionError::ArrowError(Box::new(e), None));
        match self.tx.blocking_send(batch) {
            Ok(()) => Flow::Continue,
            Err(_) => Flow::Stop,
        }
    }
}

impl RecordSink for BatchSink {
    fn record(
        &mut self,
        rec: lateral_sources::WinRecord,
        prov: Provenance,
        raw: Option<String>,
    ) -> Flow {
        self.stats.records.fetch_add(1, Ordering::Relaxed);
        if let Some(t) = rec.time_micros {
            self.stats.see_time(t);
        }
        self.count_record(&rec);
        if !self.prefilter.admits_record(&rec) {
            self.stats.prefiltered.fetch_add(1, Ordering::Relaxed);
            return Flow::Continue;
        }
        let ev = to_event(&rec, &prov, raw);
        self.push(&ev)
    }

    fn udm(&mut self, event: UdmEvent) -> Flow {
        self.stats.records.fetch_add(1, Ordering::Relaxed);
        if let Some(t) = event.timestamp_micros() {
            self.stats.see_time(t);
        }
        self.count_event(&event);
        self.push(&event)
    }

    fn issue(&mut self, issue: ReadIssue) {
        self.stats.add_issue(&issue);
    }

    fn skipped(&mut self, identity: &lateral_sources::WinRecord) {
        self.stats.records.fetch_add(1, Ordering::Relaxed);
        self.stats.prefiltered.fetch_add(1, Ordering::Relaxed);
        if let Some(t) = identity.time_micros {
            self.stats.see_time(t);
        }
        self.count_record(identity);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::column;
    use datafusion::logical_expr::lit;

    fn relax(e: &Expr) -> Option<String> {
        identity_condition(e).map(|r| r.to_string())
    }

    fn eid(n: i64) -> Expr {
        column(f::EVENT_ID).eq(lit(n))
    }

    fn host(h: &str) -> Expr {
        column(f::PRINCIPAL_HOSTNAME).eq(lit(h))
    }

    #[test]
    fn or_of_mixed_branches_keeps_each_branch_identity() {
        let e = eid(4624).and(host("a")).or(eid(7045).and(host("b")));
        assert_eq!(relax(&e), Some(eid(4624).or(eid(7045)).to_string()));
    }

    #[test]
    fn a_branch_without_identity_implies_nothing() {
        assert_eq!(relax(&eid(4624).or(host("a"))), None);
        assert_eq!(relax(&host("a")), None);
    }

    #[test]
    fn and_keeps_the_identity_side_and_not_of_mixed_implies_nothing() {
        assert_eq!(relax(&host("a").and(eid(1))), Some(eid(1).to_string()));
        assert_eq!(relax(&!eid(4624).and(host("a"))), None);
        assert_eq!(relax(&!eid(4624)), Some((!eid(4624)).to_string()));
        assert_eq!(relax(&lit(false)), Some(lit(false).to_string()));
    }
}
