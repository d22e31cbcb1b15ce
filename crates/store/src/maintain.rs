//! `lateral store stats|compact|expire`: what a store holds, merging small files, retention.
//! Compaction and expiry go through the [`Writer`]: new files are written aside and the
//! manifest is replaced once; replaced or expired files are deleted only after that.
//!
//! It must not change rows: compaction rewrites the same rows (sorted), expiry drops whole
//! partitions.

use std::collections::BTreeMap;
use std::path::Path;

use datafusion::arrow::compute::concat_batches;
use serde::Serialize;

use crate::layout::{self, partition_day};
use crate::manifest::{merge_coverage, Manifest};
use crate::writer::{read_parquet, Writer};
use crate::{Result, StoreError};

/// A partition's files are merged when it has at least two files smaller than this.
pub const COMPACT_SMALL_ROWS: u64 = 1_000_000;

/// What a store holds.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct StoreStats {
    pub generation: u64,
    pub events: u64,
    pub files: usize,
    pub bytes: u64,
    pub sources: usize,
    /// First and last event time, RFC 3339.
    pub first: Option<String>,
    pub last: Option<String>,
    /// Events per day (`YYYY-MM-DD` or `unknown`).
    pub by_day: BTreeMap<String, DayStats>,
    /// Events per logging host (as the evidence scan counts them), lower case.
    pub by_host: BTreeMap<String, u64>,
    /// Events per source as ingested (display name).
    pub by_source: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct DayStats {
    pub events: u64,
    pub files: usize,
    pub bytes: u64,
}

fn rfc3339(t: i64) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp_micros(t)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
        .unwrap_or_else(|| t.to_string())
}

/// What the store at `root` holds (from its manifest; no data file is opened).
pub fn stats(root: &Path) -> Result<StoreStats> {
    if !root.is_dir() {
        return Err(StoreError::NotAStore {
            path: root.to_path_buf(),
        });
    }
    Ok(stats_of(&Manifest::load(root)?))
}

/// What a manifest lists (a store's snapshot, wherever it is held).
pub fn stats_of(m: &Manifest) -> StoreStats {
    let mut s = StoreStats {
        generation: m.generation,
        events: m.rows(),
        files: m.files.len(),
        bytes: m.files.iter().map(|f| f.bytes).sum(),
        sources: m.sources.len(),
        ..StoreStats::default()
    };
    if let Some((lo, hi)) = m.time_range() {
        s.first = Some(rfc3339(lo));
        s.last = Some(rfc3339(hi));
    }
    for f in &m.files {
        let day = f
            .partition
            .strip_prefix("date=")
            .and_then(|p| p.split('/').next())
            .unwrap_or(layout::UNKNOWN_DAY)
            .to_string();
        let d = s.by_day.entry(day).or_default();
        d.events += f.rows;
        d.files += 1;
        d.bytes += f.bytes;
        for c in &f.coverage {
            let host = if c.host.is_empty() {
                "(none)".to_string()
            } else {
                c.host.to_ascii_lowercase()
            };
            *s.by_host.entry(host).or_default() += c.events;
        }
    }
    for src in &m.sources {
        *s.by_source.entry(src.display.clone()).or_default() += src.events;
    }
    s
}

/// What a compaction did.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct CompactSummary {
    pub partitions: usize,
    pub files_before: usize,
    pub files_after: usize,
    pub rows: u64,
    pub generation: u64,
}

/// Merge the small files of each partition into one sorted file per partition.
pub fn compact(root: &Path, on_wait: &mut dyn FnMut(&str)) -> Result<CompactSummary> {
    if !root.is_dir() {
        return Err(StoreError::NotAStore {
            path: root.to_path_buf(),
        });
    }
    let mut w = Writer::open(root, on_wait)?;
    let mut by_partition: BTreeMap<String, Vec<crate::manifest::DataFile>> = BTreeMap::new();
    for f in &w.manifest().files {
        if f.rows < COMPACT_SMALL_ROWS {
            by_partition
                .entry(f.partition.clone())
                .or_default()
                .push(f.clone());
        }
    }
    let mut out = CompactSummary::default();
    let mut remove = Vec::new();
    let schema = lateral_model::schema();
    for (partition, files) in by_partition {
        if files.len() < 2 {
            continue;
        }
        let mut batches = Vec::new();
        for f in &files {
            let p = layout::resolve(w.root(), &f.path);
            let read = read_parquet(&p).map_err(|message| StoreError::Read {
                path: p.clone(),
                partition: partition.clone(),
                message,
            })?;
            batches.extend(read);
        }
        let batch = concat_batches(&schema, &batches).map_err(|e| StoreError::Write {
            path: w.root().to_path_buf(),
            partition: partition.clone(),
            message: e.to_string(),
        })?;
        let rows: u64 = files.iter().map(|f| f.rows).sum();
        if batch.num_rows() as u64 != rows {
            return Err(StoreError::Read {
                path: w.root().to_path_buf(),
                partition,
                message: format!(
                    "the files hold {} rows, the manifest says {rows}",
                    batch.num_rows()
                ),
            });
        }
        let coverage = merge_coverage(files.iter().flat_map(|f| f.coverage.iter()));
        w.stage(&partition, &batch, coverage)?;
        out.partitions += 1;
        out.files_before += files.len();
        out.files_after += 1;
        out.rows += rows;
        remove.extend(files.into_iter().map(|f| f.path));
    }
    out.generation = w.commit(Vec::new(), &remove)?;
    Ok(out)
}

/// What an expiry did.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct ExpireSummary {
    /// Days dropped, `YYYY-MM-DD`.
    pub days: Vec<String>,
    pub files: usize,
    pub rows: u64,
    pub generation: u64,
}

/// Drop every partition of a day before `before` (events without time are kept).
pub fn expire(
    root: &Path,
    before: chrono::NaiveDate,
    on_wait: &mut dyn FnMut(&str),
) -> Result<ExpireSummary> {
    if !root.is_dir() {
        return Err(StoreError::NotAStore {
            path: root.to_path_buf(),
        });
    }
    let mut w = Writer::open(root, on_wait)?;
    let mut out = ExpireSummary::default();
    let mut remove = Vec::new();
    for f in &w.manifest().files {
        if partition_day(&f.partition).is_some_and(|d| d < before) {
            let day = partition_day(&f.partition)
                .map(|d| d.format("%Y-%m-%d").to_string())
                .unwrap_or_default();
            if out.days.last() != Some(&day) && !out.days.contains(&day) {
                out.days.push(day);
            }
            out.files += 1;
            out.rows += f.rows;
            remove.push(f.path.clone());
        }
    }
    out.days.sort();
    out.generation = w.commit(Vec::new(), &remove)?;
    Ok(out)
}
