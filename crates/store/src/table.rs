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
//! A store in an S3-compatible bucket is read the same way, by `s3://` URL; the session
//! reaches the bucket through its object-store registry ([`crate::ObjectStores`]).
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
use crate::object::ObjectRoot;
use crate::{Result, StoreError};

/// The store as of one manifest.
#[derive(Debug, Clone)]
pub struct Snapshot {
    root: Root,
    manifest: Manifest,
}

/// Where the snapshot's files are.
#[derive(Debug, Clone)]
enum Root {
    Dir(PathBuf),
    Object(ObjectRoot),
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
        Ok(Snapshot {
            root: Root::Dir(root),
            manifest,
        })
    }

    /// Read the manifest of the store under an object-store prefix (one GET). Unlike a
    /// folder, a prefix without a manifest is not a store (there is no folder to create).
    pub async fn open_object(root: ObjectRoot) -> Result<Snapshot> {
        let manifest = root
            .load_manifest()
            .await?
            .ok_or_else(|| StoreError::Object {
                url: root.url().to_string(),
                message: format!(
                    "not a lateral store (no {} there; `lateral store push --store DIR {}` puts one there)",
                    layout::MANIFEST,
                    root.url()
                ),
            })?;
        Ok(Snapshot {
            root: Root::Object(root),
            manifest,
        })
    }

    /// The folder of a local store (`None` for one in an object store).
    pub fn root_dir(&self) -> Option<&Path> {
        match &self.root {
            Root::Dir(p) => Some(p),
            Root::Object(_) => None,
        }
    }

    /// The object-store prefix of a store held in a bucket.
    pub fn object_root(&self) -> Option<&ObjectRoot> {
        match &self.root {
            Root::Dir(_) => None,
            Root::Object(o) => Some(o),
        }
    }

    /// Where the store is, as shown to people: the folder, or the `s3://` URL.
    pub fn location(&self) -> String {
        match &self.root {
            Root::Dir(p) => p.display().to_string(),
            Root::Object(o) => o.url().to_string(),
        }
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Where each file of this snapshot is, sorted: absolute paths for a folder store,
    /// `s3://` URLs for one in a bucket.
    pub fn files(&self) -> Vec<String> {
        self.manifest
            .files
            .iter()
            .map(|f| match &self.root {
                Root::Dir(root) => layout::resolve(root, &f.path).display().to_string(),
                Root::Object(o) => o.object_url(&f.path),
            })
            .collect()
    }

    /// The files as URLs DataFusion reads (`file://` or `s3://`).
    fn urls(&self) -> Result<Vec<ListingTableUrl>> {
        let mut urls = Vec::with_capacity(self.manifest.files.len());
        for f in &self.manifest.files {
            let url = match &self.root {
                Root::Dir(root) => {
                    let p = layout::resolve(root, &f.path);
                    url::Url::from_file_path(&p).map_err(|()| {
                        StoreError::Invalid(format!("{}: not an absolute path", p.display()))
                    })?
                }
                Root::Object(o) => url::Url::parse(&o.object_url(&f.path))
                    .map_err(|e| StoreError::Invalid(format!("{}: {e}", f.path)))?,
            };
            urls.push(ListingTableUrl::try_new(url, None)?);
        }
        Ok(urls)
    }

    /// The snapshot as a table with the UDM schema (an empty table for an empty store). The
    /// files of a store in a bucket are read through the session's object-store registry
    /// (register [`ObjectRoot::store`] under [`ObjectRoot::bucket_url`], or use
    /// [`crate::ObjectStores`]).
    pub fn table(&self) -> Result<Arc<dyn TableProvider>> {
        let schema = lateral_model::schema();
        let urls = self.urls()?;
        if urls.is_empty() {
            return Ok(Arc::new(EmptyTable::new(schema)));
        }
        let options =
            ListingOptions::new(Arc::new(ParquetFormat::default())).with_file_extension(".parquet");
        let config = ListingTableConfig::new_with_multi_paths(urls)
            .with_listing_options(options)
            .with_schema(schema);
        Ok(Arc::new(ListingTable::try_new(config)?))
    }
}
