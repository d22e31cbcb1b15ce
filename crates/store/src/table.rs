//! A snapshot of a store as a DataFusion table.
//!
//! The manifest is read once, when the snapshot is opened: files published later are not
//! seen, and a writer running meanwhile never changes what the snapshot reads (ingest only
//! adds files; compaction and expiry delete replaced files after publishing, so a query that
//! started before them may fail with a missing file and must be run again).
//!
//! The table is DataFusion's own Parquet `ListingTable` over the listed files by absolute
//! `file://` URL, with the UDM schema of `lateral-model`: filters are pushed into the Parquet
//! scan, which skips files and row groups by their statistics (every file is sorted by event
//! time, so a time window touches only the row groups of that stretch). No custom operator is
//! involved, so the plan is one any DataFusion (or Ballista) executor can run.
//!
//! It must not write anything.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::catalog::TableProvider;
use datafusion::datasource::empty::EmptyTable;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};

use crate::layout;
use crate::manifest::Manifest;
use crate::{Result, StoreError};

/// The store as of one manifest.
#[derive(Debug, Clone)]
pub struct Snapshot {
    root: PathBuf,
    manifest: Manifest,
}

impl Snapshot {
    /// Read the manifest of the store at `root` (an existing folder).
    pub fn open(root: &Path) -> Result<Snapshot> {
        if !root.is_dir() {
            return Err(StoreError::NotAStore {
                path: root.to_path_buf(),
            });
        }
        let root = std::fs::canonicalize(root).map_err(StoreError::io(root))?;
        let manifest = Manifest::load(&root)?;
        Ok(Snapshot { root, manifest })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Absolute paths of the files of this snapshot, sorted.
    pub fn files(&self) -> Vec<PathBuf> {
        self.manifest
            .files
            .iter()
            .map(|f| layout::resolve(&self.root, &f.path))
            .collect()
    }

    /// The snapshot as a table with the UDM schema (an empty table for an empty store).
    pub fn table(&self) -> Result<Arc<dyn TableProvider>> {
        let schema = lateral_model::schema();
        let files = self.files();
        if files.is_empty() {
            return Ok(Arc::new(EmptyTable::new(schema)));
        }
        let mut urls = Vec::with_capacity(files.len());
        for p in &files {
            let url = url::Url::from_file_path(p).map_err(|()| {
                StoreError::Invalid(format!("{}: not an absolute path", p.display()))
            })?;
            urls.push(ListingTableUrl::try_new(url, None)?);
        }
        let options =
            ListingOptions::new(Arc::new(ParquetFormat::default())).with_file_extension(".parquet");
        let config = ListingTableConfig::new_with_multi_paths(urls)
            .with_listing_options(options)
            .with_schema(schema);
        Ok(Arc::new(ListingTable::try_new(config)?))
    }
}
