//! The one writer of a store. Holding it means holding an exclusive lock (`flock`) on
//! `STORE/LOCK`, released by the operating system even when the process is killed. On
//! opening, the writer removes what a crashed writer left behind: the staging folder,
//! temporary manifests, and data files no manifest lists (renamed into `data/` just before a
//! crash, never published). Files are written sorted into `staging/`, flushed to disk, and
//! published by [`Writer::commit`]: renamed into their partition, folders flushed, then one
//! atomic manifest replacement. Files replaced or dropped by a publication are deleted only
//! after it.
//!
//! It must not decide what to write: ingest, compaction and expiry do.

use std::collections::BTreeSet;
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::compute::{lexsort_to_indices, take_record_batch, SortColumn, SortOptions};
use datafusion::arrow::datatypes::TimestampMicrosecondType;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::{Compression, ZstdLevel};
use datafusion::parquet::file::metadata::SortingColumn;
use datafusion::parquet::file::properties::{EnabledStatistics, WriterProperties};
use datafusion::parquet::schema::types::ColumnPath;
use lateral_model::f;

use crate::layout::{self, DATA, LOCK, MANIFEST_TMP, ROW_GROUP_ROWS, STAGING};
use crate::manifest::{sync_dir, CoverageEntry, DataFile, Manifest, SourceEntry};
use crate::{Result, StoreError};

/// What opening a writer cleaned up after a crashed one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cleanup {
    /// Files in `staging/`.
    pub staged_files: usize,
    /// `MANIFEST.json.tmp-*`.
    pub temp_manifests: usize,
    /// Data files no manifest lists.
    pub unlisted_files: usize,
}

impl Cleanup {
    pub fn is_empty(&self) -> bool {
        *self == Cleanup::default()
    }
}

struct Staged {
    staging: PathBuf,
    file: DataFile,
}

/// The exclusive writer of a store.
pub struct Writer {
    root: PathBuf,
    _lock: File,
    manifest: Manifest,
    staged: Vec<Staged>,
    seq: u64,
    cleanup: Cleanup,
}

impl Writer {
    /// Lock the store at `root` (created when missing) and clean up after crashed writers.
    /// When another writer holds the lock, `on_wait` is told and the call waits for it.
    pub fn open(root: &Path, on_wait: &mut dyn FnMut(&str)) -> Result<Writer> {
        for dir in [root.to_path_buf(), root.join(DATA), root.join(STAGING)] {
            std::fs::create_dir_all(&dir).map_err(StoreError::io(&dir))?;
        }
        let root = std::fs::canonicalize(root).map_err(StoreError::io(root))?;
        let lock_path = root.join(LOCK);
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(StoreError::io(&lock_path))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                on_wait(&format!(
                    "{}: another writer (ingest, compact or expire) holds the store; waiting for it to finish",
                    root.display()
                ));
                lock.lock().map_err(StoreError::io(&lock_path))?;
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(StoreError::Io {
                    path: lock_path,
                    source: e,
                })
            }
        }
        let manifest = Manifest::load(&root)?;
        let mut w = Writer {
            root,
            _lock: lock,
            manifest,
            staged: Vec::new(),
            seq: 0,
            cleanup: Cleanup::default(),
        };
        w.cleanup = w.clean()?;
        Ok(w)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The manifest as last published (by this writer or before it).
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// What opening cleaned up.
    pub fn cleaned(&self) -> Cleanup {
        self.cleanup
    }

    /// Rows written aside and not yet published.
    pub fn staged_rows(&self) -> u64 {
        self.staged.iter().map(|s| s.file.rows).sum()
    }

    fn clean(&self) -> Result<Cleanup> {
        let mut c = Cleanup::default();
        let staging = self.root.join(STAGING);
        if let Ok(rd) = std::fs::read_dir(&staging) {
            for e in rd.flatten() {
                let p = e.path();
                if p.is_dir() {
                    std::fs::remove_dir_all(&p).map_err(StoreError::io(&p))?;
                } else {
                    std::fs::remove_file(&p).map_err(StoreError::io(&p))?;
                }
                c.staged_files += 1;
            }
        }
        if let Ok(rd) = std::fs::read_dir(&self.root) {
            for e in rd.flatten() {
                if e.file_name().to_string_lossy().starts_with(MANIFEST_TMP) {
                    let p = e.path();
                    std::fs::remove_file(&p).map_err(StoreError::io(&p))?;
                    c.temp_manifests += 1;
                }
            }
        }
        let listed: BTreeSet<PathBuf> = self
            .manifest
            .files
            .iter()
            .map(|f| layout::resolve(&self.root, &f.path))
            .collect();
        let mut stack = vec![self.root.join(DATA)];
        while let Some(dir) = stack.pop() {
            let Ok(rd) = std::fs::read_dir(&dir) else {
                continue;
            };
            for e in rd.flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else if !listed.contains(&p) {
                    std::fs::remove_file(&p).map_err(StoreError::io(&p))?;
                    c.unlisted_files += 1;
                }
            }
        }
        remove_empty_dirs(&self.root.join(DATA));
        Ok(c)
    }

    /// Sort `batch` by time and write it aside as one Parquet file of `partition`, to be
    /// published by the next [`Writer::commit`]. Empty batches write nothing.
    pub fn stage(
        &mut self,
        partition: &str,
        batch: &RecordBatch,
        coverage: Vec<CoverageEntry>,
    ) -> Result<()> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let generation = self.manifest.generation + 1;
        self.seq += 1;
        let name = layout::file_name(generation, self.seq);
        let staging = self.root.join(STAGING).join(&name);
        let sorted = sort_by_time(batch).map_err(|message| StoreError::Write {
            path: staging.clone(),
            partition: partition.to_string(),
            message,
        })?;
        let (min_time, max_time) = time_bounds(&sorted);
        let bytes = write_parquet(&staging, &sorted).map_err(|message| StoreError::Write {
            path: staging.clone(),
            partition: partition.to_string(),
            message,
        })?;
        self.staged.push(Staged {
            staging,
            file: DataFile {
                path: layout::data_path(partition, &name),
                partition: partition.to_string(),
                rows: sorted.num_rows() as u64,
                bytes,
                min_time,
                max_time,
                generation,
                coverage,
            },
        });
        Ok(())
    }

    /// Publish every staged file, add `sources`, drop the files listed in `remove` (relative
    /// paths) from the manifest, in one atomic manifest replacement; then delete the dropped
    /// files. Returns the generation published (the current one when there was nothing to do).
    pub fn commit(&mut self, sources: Vec<SourceEntry>, remove: &[String]) -> Result<u64> {
        if self.staged.is_empty() && sources.is_empty() && remove.is_empty() {
            return Ok(self.manifest.generation);
        }
        let generation = self.manifest.generation + 1;
        let mut dirs = BTreeSet::new();
        let staged = std::mem::take(&mut self.staged);
        let mut files = Vec::with_capacity(staged.len());
        for s in staged {
            let target = layout::resolve(&self.root, &s.file.path);
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent).map_err(StoreError::io(parent))?;
                let mut d = parent.to_path_buf();
                while d.starts_with(self.root.join(DATA)) {
                    dirs.insert(d.clone());
                    if !d.pop() {
                        break;
                    }
                }
            }
            std::fs::rename(&s.staging, &target).map_err(StoreError::io(&target))?;
            files.push(s.file);
        }
        for d in &dirs {
            sync_dir(d)?;
        }
        let mut next = self.manifest.clone();
        let removed: BTreeSet<&str> = remove.iter().map(String::as_str).collect();
        next.files.retain(|f| !removed.contains(f.path.as_str()));
        next.files.extend(files);
        let mut sources = sources;
        for s in &mut sources {
            s.generation = generation;
        }
        next.sources.extend(sources);
        next.generation = generation;
        next.normalise();
        next.publish(&self.root)?;
        self.manifest = next;
        self.seq = 0;
        for r in remove {
            let p = layout::resolve(&self.root, r);
            match std::fs::remove_file(&p) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(StoreError::Io { path: p, source: e }),
            }
        }
        if !remove.is_empty() {
            remove_empty_dirs(&self.root.join(DATA));
        }
        Ok(generation)
    }
}

fn remove_empty_dirs(dir: &Path) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            remove_empty_dirs(&p);
            // Fails (and is left) when not empty.
            let _ = std::fs::remove_dir(&p);
        }
    }
}

/// Rows in (time, source file, record number) order, events without time last: the order
/// every search returns, so a file's row groups each cover a short stretch of time.
pub fn sort_by_time(batch: &RecordBatch) -> Result<RecordBatch, String> {
    let schema = batch.schema();
    let mut columns = Vec::new();
    for k in [f::EVENT_TIMESTAMP, f::SOURCE_FILE, f::RECORD_NUMBER] {
        if let Ok(i) = schema.index_of(k.name()) {
            columns.push(SortColumn {
                values: batch.column(i).clone(),
                options: Some(SortOptions {
                    descending: false,
                    nulls_first: false,
                }),
            });
        }
    }
    if columns.is_empty() {
        return Ok(batch.clone());
    }
    let idx = lexsort_to_indices(&columns, None).map_err(|e| e.to_string())?;
    take_record_batch(batch, &idx).map_err(|e| e.to_string())
}

/// Earliest and latest event time of a batch.
pub fn time_bounds(batch: &RecordBatch) -> (Option<i64>, Option<i64>) {
    let Ok(i) = batch.schema().index_of(f::EVENT_TIMESTAMP.name()) else {
        return (None, None);
    };
    let Some(a) = batch
        .column(i)
        .as_primitive_opt::<TimestampMicrosecondType>()
    else {
        return (None, None);
    };
    if a.null_count() == a.len() {
        return (None, None);
    }
    (
        datafusion::arrow::compute::min(a),
        datafusion::arrow::compute::max(a),
    )
}

fn properties() -> WriterProperties {
    let ts = lateral_model::schema()
        .index_of(f::EVENT_TIMESTAMP.name())
        .unwrap_or(0) as i32;
    let mut props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_sorting_columns(Some(vec![SortingColumn {
            column_idx: ts,
            descending: false,
            nulls_first: false,
        }]))
        .set_created_by(format!("lateral-store {}", env!("CARGO_PKG_VERSION")));
    // Bloom filters on the addresses, so a search for one IP reads only the row groups that
    // may hold it (the query compiler writes exact-match comparisons so that they prune).
    for field in BLOOM_FIELDS {
        props = props.set_column_bloom_filter_enabled(ColumnPath::from(field.name()), true);
    }
    props.build()
}

/// Columns written with a bloom filter.
pub const BLOOM_FIELDS: [lateral_model::Field; 3] = [f::PRINCIPAL_IP, f::TARGET_IP, f::SRC_IP];

/// Write `batch` as a Parquet file at `path` and flush it to disk; returns its size.
pub fn write_parquet(path: &Path, batch: &RecordBatch) -> Result<u64, String> {
    let file = File::create(path).map_err(|e| e.to_string())?;
    let schema = Arc::new(batch.schema().as_ref().clone());
    let mut w =
        ArrowWriter::try_new(file, schema, Some(properties())).map_err(|e| e.to_string())?;
    w.write(batch).map_err(|e| e.to_string())?;
    let file = w.into_inner().map_err(|e| e.to_string())?;
    file.sync_all().map_err(|e| e.to_string())?;
    let len = file.metadata().map_err(|e| e.to_string())?.len();
    Ok(len)
}

/// Every row of a published file.
pub fn read_parquet(path: &Path) -> Result<Vec<RecordBatch>, String> {
    use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let file = File::open(path).map_err(|e| e.to_string())?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| e.to_string())?
        .with_batch_size(8192)
        .build()
        .map_err(|e| e.to_string())?;
    reader
        .map(|b| b.map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, String>>()
}
