//! # lateral-store
//!
//! Owns the persistent event store: normalised events kept as a Parquet dataset on disk so a
//! team does not re-parse a month of logs for every question.
//!
//! - [`layout`]: where things live (`data/date=YYYY-MM-DD[/hour=HH]/part-*.parquet`, the
//!   manifest, the lock, the staging folder) and how a partition is chosen for an event.
//! - [`manifest`]: the list of published files and ingested sources (by content hash), and its
//!   atomic replacement (temporary file, fsync, rename, fsync of the folder).
//! - [`writer`]: the single writer (an exclusive lock on `LOCK`), clean-up of what a crashed
//!   writer left behind, writing sorted Parquet files aside and publishing them.
//! - [`ingest`]: reading evidence with `lateral-sources` into the store, idempotently.
//! - [`maintain`]: `stats`, `compact` and `expire`.
//! - [`object`]: stores in an S3-compatible bucket (`s3://BUCKET/PREFIX`): reading their
//!   manifest, `lateral store push` (a local store mirrored there, manifest last), and the
//!   DataFusion object-store registry that reaches any bucket from the `AWS_*` environment.
//! - [`table`]: a snapshot of the store (the manifest read once) as a DataFusion table: a
//!   plain Parquet `ListingTable` over the manifest's files, by absolute path, so filters and
//!   time windows prune files and row groups through the Parquet statistics, and the same
//!   table can be planned anywhere DataFusion reads Parquet.
//!
//! It must not decide what is suspicious, and knows nothing of queries, hunts, reports, cases
//! or MCP: it stores and returns rows of the UDM schema of `lateral-model`.

pub mod ingest;
pub mod layout;
pub mod maintain;
pub mod manifest;
pub mod object;
pub mod table;
pub mod writer;

use std::path::PathBuf;

pub use ingest::{ingest, IngestCounters, IngestOptions, IngestSummary};
pub use maintain::{compact, expire, stats, stats_of, CompactSummary, ExpireSummary, StoreStats};
pub use manifest::{CoverageEntry, DataFile, Manifest, SourceEntry};
pub use object::{push, Location, ObjectRoot, ObjectStores, PushSummary};
pub use table::Snapshot;
pub use writer::Writer;

/// Store errors, each with the file (and partition) concerned.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: the manifest is not valid: {message}", path.display())]
    Manifest { path: PathBuf, message: String },
    #[error("{}: not a lateral store (no such folder)", path.display())]
    NotAStore { path: PathBuf },
    #[error("{}: cannot write partition {partition}: {message}", path.display())]
    Write {
        path: PathBuf,
        partition: String,
        message: String,
    },
    #[error("{}: cannot read partition {partition}: {message}", path.display())]
    Read {
        path: PathBuf,
        partition: String,
        message: String,
    },
    #[error("{url}: {message}")]
    Object { url: String, message: String },
    #[error("{0}")]
    Invalid(String),
    #[error("query engine: {0}")]
    DataFusion(#[from] datafusion::error::DataFusionError),
}

impl StoreError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> StoreError {
        let path = path.into();
        move |source| StoreError::Io { path, source }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
