//! The engine: a DataFusion session with the evidence registered as table `events`, UDM
//! searches over it in a time window, and SQL for power users.
//!
//! The evidence is files read on the fly ([`EvidenceTable`]), a snapshot of the Parquet store
//! (`lateral-store`), or both: then `events` is the union of the two, and every filter is
//! pushed into both scans.

use std::path::PathBuf;
use std::sync::Arc;

use datafusion::arrow::array::Array;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::{Column, ScalarValue};
use datafusion::datasource::MemTable;
use datafusion::error::DataFusionError;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::logical_expr::{Expr, SortExpr};
use datafusion::prelude::{lit, SessionConfig, SessionContext};
use futures::StreamExt;
use lateral_model::{f, Field};
use lateral_sources::{discover, ReadIssue, Source};
use lateral_store::{Location, Snapshot};

use crate::scan::{EvidenceTable, ReportedIssue, ScanStats};
use crate::window::{Window, WindowSpec};

/// Name of the evidence table in SQL.
pub const TABLE: &str = "events";

/// Read the manifest of the store at `location` (a folder or `s3://BUCKET/PREFIX`).
pub async fn open_snapshot(location: &str) -> Result<Snapshot, EngineError> {
    let cannot =
        |e: lateral_store::StoreError| EngineError::Input(format!("cannot open the store: {e}"));
    Location::parse(location)
        .map_err(cannot)?
        .snapshot()
        .await
        .map_err(cannot)
}

/// Engine errors.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("query engine: {0}")]
    DataFusion(#[from] DataFusionError),
    #[error("{0}")]
    Input(String),
}

/// A DataFusion session with lateral's query functions registered, running plans on
/// `partitions` partitions. The engine's own session uses one per core; the hunt queries its
/// small in-memory candidate table on one.
pub fn session_context(partitions: usize) -> SessionContext {
    let config = SessionConfig::new()
        .with_target_partitions(partitions.max(1))
        .with_information_schema(true);
    // Stores in S3-compatible buckets are reached through the registry (the `AWS_*`
    // environment); building the runtime cannot fail with this configuration, but if it
    // ever did, the default runtime still reads local stores.
    let ctx = match RuntimeEnvBuilder::new()
        .with_object_store_registry(Arc::new(lateral_store::ObjectStores::new()))
        .build()
    {
        Ok(runtime) => SessionContext::new_with_config_rt(config, Arc::new(runtime)),
        Err(_) => SessionContext::new_with_config(config),
    };
    for udf in lateral_query::udfs() {
        ctx.register_udf(udf);
    }
    ctx
}

/// A column reference by exact name (names contain dots, so never parse them).
pub fn column(field: Field) -> Expr {
    Expr::Column(Column::new_unqualified(field.name()))
}

/// What to search for.
#[derive(Debug, Clone)]
pub struct SearchRequest {
    pub filter: Expr,
    pub window: WindowSpec,
    pub limit: Option<usize>,
    /// Columns to return; empty means every column except the raw record.
    pub columns: Vec<Field>,
}

/// What a search found.
#[derive(Debug)]
pub struct SearchResult {
    /// Matching events in the window, oldest first, at most `limit`.
    pub batches: Vec<RecordBatch>,
    /// Matching events in the window before the limit.
    pub total: usize,
    /// The absolute window used.
    pub window: Window,
}

impl SearchResult {
    pub fn returned(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }
}

/// What [`Engine::hold_in_memory`] holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Held {
    pub events: usize,
    /// Arrow memory of the table, every column.
    pub bytes: usize,
    /// Of which the original records (0 when they are not kept).
    pub raw_bytes: usize,
}

/// A DataFusion session over a set of evidence paths.
pub struct Engine {
    ctx: SessionContext,
    table: Arc<EvidenceTable>,
    stats: Arc<ScanStats>,
    discovery_issues: Vec<ReadIssue>,
    in_memory: bool,
    store: Option<Snapshot>,
}

impl Engine {
    /// Discover the evidence under `paths` and register it as table `events`.
    pub fn open(paths: &[PathBuf]) -> Result<Engine, EngineError> {
        let (sources, issues) = discover(paths);
        Self::from_sources(sources, issues)
    }

    /// Discover the evidence under `paths` (may be empty) and open the store at `store` (a
    /// folder or an `s3://BUCKET/PREFIX` URL, when given); table `events` is the evidence,
    /// the store, or the union of both.
    pub async fn open_with_store(
        paths: &[PathBuf],
        store: Option<&str>,
    ) -> Result<Engine, EngineError> {
        let snapshot = match store {
            Some(s) => Some(open_snapshot(s).await?),
            None => None,
        };
        Self::open_with_snapshot(paths, snapshot)
    }

    /// [`Engine::open_with_store`] with the store's snapshot already read.
    pub fn open_with_snapshot(
        paths: &[PathBuf],
        snapshot: Option<Snapshot>,
    ) -> Result<Engine, EngineError> {
        let (sources, issues) = if paths.is_empty() {
            (Vec::new(), Vec::new())
        } else {
            discover(paths)
        };
        Self::build(sources, issues, snapshot, None)
    }

    /// Open a store snapshot as table `events` on a session made elsewhere, e.g. one whose
    /// plans run on a cluster (`lateral-cluster`). Only the store can be read this way: its
    /// snapshot is a plain Parquet listing table any DataFusion executor can run, whereas the
    /// evidence scan is a provider of this process. The session must have lateral's query
    /// functions registered.
    pub fn open_store_on(snapshot: Snapshot, ctx: SessionContext) -> Result<Engine, EngineError> {
        Self::build(Vec::new(), Vec::new(), Some(snapshot), Some(ctx))
    }

    pub fn from_sources(
        sources: Vec<Source>,
        discovery_issues: Vec<ReadIssue>,
    ) -> Result<Engine, EngineError> {
        Self::build(sources, discovery_issues, None, None)
    }

    fn build(
        sources: Vec<Source>,
        discovery_issues: Vec<ReadIssue>,
        store: Option<Snapshot>,
        ctx: Option<SessionContext>,
    ) -> Result<Engine, EngineError> {
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        let ctx = ctx.unwrap_or_else(|| session_context(cores));
        let stats = Arc::new(ScanStats::default());
        let table = Arc::new(EvidenceTable::new(sources, stats.clone(), cores));
        match &store {
            None => {
                ctx.register_table(TABLE, table.clone())?;
            }
            Some(snapshot) => {
                let m = snapshot.manifest();
                let coverage = m
                    .coverage()
                    .into_iter()
                    .map(|(k, (events, first, last))| {
                        (
                            k,
                            crate::scan::CoverageCount {
                                events,
                                first: first.unwrap_or(i64::MAX),
                                last: last.unwrap_or(i64::MIN),
                            },
                        )
                    })
                    .collect();
                stats.seed(m.time_range(), &coverage);
                if let Some(o) = snapshot.object_root() {
                    // Read the bucket with the very client the manifest came through.
                    ctx.register_object_store(&o.bucket_url(), o.store().clone());
                }
                let stored = snapshot
                    .table()
                    .map_err(|e| EngineError::Input(format!("cannot open the store: {e}")))?;
                if table.sources().is_empty() {
                    ctx.register_table(TABLE, stored)?;
                } else {
                    let union = ctx
                        .read_table(table.clone())?
                        .union(ctx.read_table(stored)?)?;
                    ctx.register_table(TABLE, union.into_view())?;
                }
            }
        }
        Ok(Engine {
            ctx,
            table,
            stats,
            discovery_issues,
            in_memory: false,
            store,
        })
    }

    /// The store snapshot read, when one was given.
    pub fn store(&self) -> Option<&Snapshot> {
        self.store.as_ref()
    }

    /// Evidence sources read: files found under the paths plus the sources the store holds.
    pub fn source_count(&self) -> usize {
        self.table.sources().len()
            + self
                .store
                .as_ref()
                .map(|s| s.manifest().sources.len())
                .unwrap_or(0)
    }

    /// Whether every event comes from the store, whose time range is known before any scan
    /// (so a window anchored at the latest event is fixed before the query runs and prunes).
    fn store_only(&self) -> bool {
        self.store.is_some() && self.table.sources().is_empty() && !self.in_memory
    }

    /// Whether [`Engine::stats`] knows the evidence's time range before any query has run
    /// (the evidence is the store alone), so a window anchored at the latest event can be
    /// resolved, and pushed into a scan, up front.
    pub fn time_range_known(&self) -> bool {
        self.store_only()
    }

    pub fn context(&self) -> &SessionContext {
        &self.ctx
    }

    pub fn sources(&self) -> &[Source] {
        self.table.sources()
    }

    pub fn stats(&self) -> Arc<ScanStats> {
        self.stats.clone()
    }

    /// Every problem met: discovery and reading, sorted, without duplicates.
    pub fn issues(&self) -> Vec<ReportedIssue> {
        let mut all = self.stats.issues();
        all.extend(self.discovery_issues.iter().map(|i| ReportedIssue {
            file: i.file.clone(),
            position: i.position.to_string(),
            message: i.message.clone(),
            whole_file: i.fatal_for_file,
        }));
        all.sort();
        all.dedup();
        all
    }

    /// Run a UDM search in a time window.
    pub async fn search(&self, req: &SearchRequest) -> Result<SearchResult, EngineError> {
        let mut columns: Vec<Field> = if req.columns.is_empty() {
            lateral_model::fields::all_fields()
                .filter(|c| *c != f::RAW)
                .collect()
        } else {
            req.columns.clone()
        };
        // Sorting and windowing need these; they are kept in the output for provenance.
        for needed in [f::EVENT_TIMESTAMP, f::SOURCE_FILE, f::RECORD_NUMBER] {
            if !columns.contains(&needed) {
                columns.push(needed);
            }
        }
        let select: Vec<Expr> = columns.iter().map(|c| column(*c)).collect();
        let table = self.ctx.table(TABLE).await?;

        let (df, window) = if req.window.is_static() || self.store_only() {
            let window = req
                .window
                .resolve(self.stats.time_range().map(|(_, hi)| hi));
            let filter = and_window(req.filter.clone(), &window);
            (table.filter(filter)?.select(select)?, window)
        } else {
            // The window ends at the latest event, known only once the evidence has been read:
            // collect the matches, then window them.
            let matches = table
                .filter(req.filter.clone())?
                .select(select)?
                .collect()
                .await?;
            let window = req
                .window
                .resolve(self.stats.time_range().map(|(_, hi)| hi));
            let schema: SchemaRef = match matches.first() {
                Some(b) => b.schema(),
                None => {
                    return Ok(SearchResult {
                        batches: Vec::new(),
                        total: 0,
                        window,
                    })
                }
            };
            let mem = MemTable::try_new(schema, vec![matches])?;
            let df = self
                .ctx
                .read_table(Arc::new(mem))?
                .filter(and_window(lit(true), &window))?;
            (df, window)
        };
        // One execution: count every match while keeping only the first `limit` rows in
        // (time, file, record) order, so memory stays bounded by the limit.
        let mut stream = df.execute_stream().await?;
        let mut kept: Vec<RecordBatch> = Vec::new();
        let mut kept_rows = 0usize;
        let mut total = 0usize;
        while let Some(batch) = stream.next().await {
            let batch = batch?;
            total += batch.num_rows();
            kept_rows += batch.num_rows();
            kept.push(batch);
            if let Some(n) = req.limit {
                if kept_rows > n.saturating_mul(2).max(8192) {
                    kept = vec![first_rows(&kept, Some(n))?];
                    kept_rows = kept[0].num_rows();
                }
            }
        }
        let batches = if kept.is_empty() {
            Vec::new()
        } else {
            vec![first_rows(&kept, req.limit)?]
        };
        Ok(SearchResult {
            batches,
            total,
            window,
        })
    }

    /// Read every event once and replace table `events` with an in-memory copy (every column
    /// but the raw record), so later searches, hunts and lookups never re-read the files. The
    /// scan statistics (time range, coverage, problems) are those of that one read. Returns the
    /// number of events held.
    pub async fn load_into_memory(&mut self) -> Result<usize, EngineError> {
        Ok(self.hold_in_memory(false).await?.events)
    }

    /// [`Engine::load_into_memory`], keeping the original records (`lateral.raw`) too when
    /// `keep_raw`; says how much memory the table holds.
    pub async fn hold_in_memory(&mut self, keep_raw: bool) -> Result<Held, EngineError> {
        let select: Vec<Expr> = lateral_model::fields::all_fields()
            .filter(|c| keep_raw || *c != f::RAW)
            .map(column)
            .collect();
        let df = self.ctx.table(TABLE).await?.select(select)?;
        let schema: SchemaRef = Arc::new(df.schema().as_arrow().clone());
        let batches = df.collect().await?;
        let mut held = Held::default();
        let raw_index = schema.index_of(f::RAW.name()).ok();
        for b in &batches {
            held.events += b.num_rows();
            held.bytes += b.get_array_memory_size();
            if let Some(i) = raw_index {
                held.raw_bytes += b.column(i).get_array_memory_size();
            }
        }
        let parts = self.ctx.state().config().target_partitions().max(1);
        let mut partitions: Vec<Vec<RecordBatch>> = vec![Vec::new(); parts];
        for (i, b) in batches.into_iter().enumerate() {
            partitions[i % parts].push(b);
        }
        let mem = MemTable::try_new(schema, partitions)?;
        self.ctx.deregister_table(TABLE)?;
        self.ctx.register_table(TABLE, Arc::new(mem))?;
        self.in_memory = true;
        Ok(held)
    }

    /// Whether table `events` is the in-memory copy made by [`Engine::load_into_memory`].
    pub fn is_in_memory(&self) -> bool {
        self.in_memory
    }

    /// Run SQL over table `events` (read-only statements).
    pub async fn sql(&self, sql: &str) -> Result<Vec<RecordBatch>, EngineError> {
        let opts = datafusion::execution::context::SQLOptions::new()
            .with_allow_ddl(false)
            .with_allow_dml(false)
            .with_allow_statements(false);
        let df = self.ctx.sql_with_options(sql, opts).await?;
        Ok(df.collect().await?)
    }
}

/// The first `limit` rows (all when `None`) of `batches` in (time, file, record) order.
fn first_rows(batches: &[RecordBatch], limit: Option<usize>) -> Result<RecordBatch, EngineError> {
    use datafusion::arrow::compute::{
        concat_batches, lexsort_to_indices, take_record_batch, SortColumn, SortOptions,
    };
    let schema = batches
        .first()
        .map(RecordBatch::schema)
        .ok_or_else(|| EngineError::Input("no rows to sort".into()))?;
    let all = concat_batches(&schema, batches).map_err(DataFusionError::from)?;
    let keys = [f::EVENT_TIMESTAMP, f::SOURCE_FILE, f::RECORD_NUMBER];
    let mut columns = Vec::new();
    for k in keys {
        if let Ok(i) = schema.index_of(k.name()) {
            columns.push(SortColumn {
                values: all.column(i).clone(),
                options: Some(SortOptions {
                    descending: false,
                    nulls_first: false,
                }),
            });
        }
    }
    let indices = lexsort_to_indices(&columns, limit).map_err(DataFusionError::from)?;
    Ok(take_record_batch(&all, &indices).map_err(DataFusionError::from)?)
}

/// Stable result order: time, then file, then record number.
pub fn order() -> Vec<SortExpr> {
    vec![
        column(f::EVENT_TIMESTAMP).sort(true, false),
        column(f::SOURCE_FILE).sort(true, false),
        column(f::RECORD_NUMBER).sort(true, false),
    ]
}

/// A UTC timestamp literal (µs since the epoch), comparable with `metadata.event_timestamp`.
pub fn ts(v: i64) -> Expr {
    lit(ScalarValue::TimestampMicrosecond(
        Some(v),
        Some(lateral_model::batch::UTC.into()),
    ))
}

/// `filter AND start <= metadata.event_timestamp <= end` (unbounded sides left out).
pub fn and_window(filter: Expr, window: &Window) -> Expr {
    let mut e = filter;
    if let Some(s) = window.start {
        e = e.and(column(f::EVENT_TIMESTAMP).gt_eq(ts(s)));
    }
    if let Some(end) = window.end {
        e = e.and(column(f::EVENT_TIMESTAMP).lt_eq(ts(end)));
    }
    e
}
