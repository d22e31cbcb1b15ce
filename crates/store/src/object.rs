//! Stores held in an S3-compatible object store (AWS S3, MinIO, Ceph, ...), for clusters whose
//! executors share no file system.
//!
//! A store location is either a folder or an `s3://BUCKET/PREFIX` URL ([`Location::parse`]).
//! An object store holds exactly the layout of a folder store (`PREFIX/MANIFEST.json`,
//! `PREFIX/data/date=.../part-*.parquet`) and is read the same way: the manifest once (one
//! GET), then only the files it lists. It is written only by [`push`], which mirrors a local
//! store: the data files first, the manifest last (an S3 PUT replaces an object atomically,
//! so the manifest is the commit point, as the rename is on disk), then the objects no longer
//! listed are deleted. A push that stops half way leaves the bucket at its previous manifest;
//! running it again uploads what is missing.
//!
//! Access is configured as every AWS tool is, by environment variables: `AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION` (or `AWS_DEFAULT_REGION`), and
//! for another S3-compatible service `AWS_ENDPOINT_URL` (plain `http://` endpoints are allowed
//! when the endpoint says so, or with `AWS_ALLOW_HTTP=true`). [`ObjectStores`] is the
//! DataFusion object-store registry that builds such a client for any `s3://` URL a plan
//! names, so the same configuration serves this process, a Ballista scheduler and its
//! executors.
//!
//! It must not write anywhere but the destination of a push, and must not decide what a
//! store holds: the manifest does.

use std::collections::BTreeSet;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::execution::object_store::{DefaultObjectStoreRegistry, ObjectStoreRegistry};
use futures::TryStreamExt;
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};
use serde::Serialize;
use url::Url;

use crate::layout::{self, MANIFEST};
use crate::manifest::Manifest;
use crate::table::Snapshot;
use crate::{Result, StoreError};

/// URL schemes read as S3-compatible object stores.
const S3_SCHEMES: [&str; 2] = ["s3", "s3a"];

/// Files larger than this are uploaded in parts of this size.
const PART_BYTES: usize = 16 * 1024 * 1024;
/// Parts of one file in flight at once.
const PARTS_IN_FLIGHT: usize = 4;

/// Where a store is: a folder, or a prefix in an S3-compatible bucket.
#[derive(Debug, Clone)]
pub enum Location {
    Dir(PathBuf),
    Object(ObjectRoot),
}

/// A store's prefix in a bucket, with the client that reaches it.
#[derive(Clone)]
pub struct ObjectRoot {
    /// `s3://BUCKET/PREFIX`, without a trailing slash.
    url: Url,
    store: Arc<dyn ObjectStore>,
    prefix: ObjectPath,
}

impl fmt::Debug for ObjectRoot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObjectRoot")
            .field("url", &self.url.as_str())
            .finish()
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Dir(p) => write!(f, "{}", p.display()),
            Location::Object(o) => write!(f, "{}", o.url),
        }
    }
}

/// Whether `text` names a URL (`scheme://...`) rather than a path.
fn looks_like_url(text: &str) -> bool {
    text.split_once("://").is_some_and(|(scheme, _)| {
        scheme.len() > 1
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    })
}

impl Location {
    /// A folder path, a `file://` URL, or `s3://BUCKET[/PREFIX]` (the client is configured
    /// from the `AWS_*` environment variables; nothing is contacted yet).
    pub fn parse(text: &str) -> Result<Location> {
        if !looks_like_url(text) {
            return Ok(Location::Dir(PathBuf::from(text)));
        }
        let url = Url::parse(text)
            .map_err(|e| StoreError::Invalid(format!("{text:?} is not a valid URL: {e}")))?;
        match url.scheme() {
            "file" => url
                .to_file_path()
                .map(Location::Dir)
                .map_err(|()| StoreError::Invalid(format!("{text:?}: not a local file URL"))),
            s if S3_SCHEMES.contains(&s) => ObjectRoot::from_url(url).map(Location::Object),
            s => Err(StoreError::Invalid(format!(
                "{text:?}: {s}:// stores are not supported; a store is a folder or an S3-compatible bucket (s3://BUCKET/PREFIX)"
            ))),
        }
    }

    /// Read the store's manifest: a snapshot of what it holds now.
    pub async fn snapshot(&self) -> Result<Snapshot> {
        match self {
            Location::Dir(p) => Snapshot::open(p),
            Location::Object(o) => Snapshot::open_object(o.clone()).await,
        }
    }
}

impl ObjectRoot {
    /// `s3://BUCKET[/PREFIX]` with a client from the environment.
    pub fn from_url(url: Url) -> Result<ObjectRoot> {
        let bucket = url
            .host_str()
            .filter(|b| !b.is_empty())
            .ok_or_else(|| StoreError::Invalid(format!("{url}: no bucket name")))?
            .to_string();
        let store = s3_client(&bucket).map_err(|e| StoreError::Object {
            url: url.to_string(),
            message: e.to_string(),
        })?;
        Self::with_store(url, store)
    }

    /// The store at `url` reached through `store` (any [`ObjectStore`]; tests use an
    /// in-memory one).
    pub fn with_store(mut url: Url, store: Arc<dyn ObjectStore>) -> Result<ObjectRoot> {
        let trimmed = url.path().trim_matches('/').to_string();
        let prefix =
            ObjectPath::parse(&trimmed).map_err(|e| StoreError::Invalid(format!("{url}: {e}")))?;
        url.set_path(&trimmed);
        url.set_query(None);
        url.set_fragment(None);
        Ok(ObjectRoot { url, store, prefix })
    }

    pub fn url(&self) -> &Url {
        &self.url
    }

    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// `scheme://bucket`, the key object stores are registered under in DataFusion.
    pub fn bucket_url(&self) -> Url {
        let mut u = self.url.clone();
        u.set_path("");
        u
    }

    /// The object at `relative` (a manifest path, `/`-separated) under the prefix.
    pub fn object(&self, relative: &str) -> ObjectPath {
        relative
            .split('/')
            .filter(|c| !c.is_empty())
            .fold(self.prefix.clone(), |p, c| p.join(c))
    }

    /// The URL of `relative` under the prefix, as DataFusion reads it.
    pub fn object_url(&self, relative: &str) -> String {
        let mut u = self.bucket_url();
        u.set_path(self.object(relative).as_ref());
        u.to_string()
    }

    fn error(&self, relative: &str, e: impl fmt::Display) -> StoreError {
        StoreError::Object {
            url: self.object_url(relative),
            message: e.to_string(),
        }
    }

    /// The manifest held under the prefix, `None` when there is none.
    pub async fn load_manifest(&self) -> Result<Option<Manifest>> {
        let got = match self.store.get(&self.object(MANIFEST)).await {
            Ok(g) => g,
            Err(e @ object_store::Error::NotFound { .. }) => {
                if format!("{e:?}").contains("NoSuchBucket") {
                    return Err(self.error(MANIFEST, "no such bucket"));
                }
                return Ok(None);
            }
            Err(e) => return Err(self.error(MANIFEST, e)),
        };
        let bytes = got.bytes().await.map_err(|e| self.error(MANIFEST, e))?;
        let text = std::str::from_utf8(&bytes).map_err(|e| StoreError::Manifest {
            path: PathBuf::from(self.object_url(MANIFEST)),
            message: e.to_string(),
        })?;
        Manifest::parse(text, &PathBuf::from(self.object_url(MANIFEST))).map(Some)
    }
}

/// An S3 client for `bucket`, configured from the `AWS_*` environment variables. An explicit
/// `http://` endpoint is allowed without TLS (the operator wrote it).
fn s3_client(bucket: &str) -> object_store::Result<Arc<dyn ObjectStore>> {
    let mut b = AmazonS3Builder::from_env().with_bucket_name(bucket);
    let plain_http = ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "AWS_ENDPOINT"]
        .iter()
        .find_map(|k| std::env::var(k).ok())
        .is_some_and(|e| e.trim().to_ascii_lowercase().starts_with("http://"));
    if plain_http && std::env::var_os("AWS_ALLOW_HTTP").is_none() {
        b = b.with_allow_http(true);
    }
    if b.get_config_value(&AmazonS3ConfigKey::Region).is_none() {
        if let Ok(region) = std::env::var("AWS_REGION") {
            b = b.with_region(region);
        }
    }
    Ok(Arc::new(b.build()?))
}

/// DataFusion's object-store registry with S3-compatible buckets added: a store registered
/// explicitly is used as registered; an `s3://BUCKET` URL not seen before gets a client from
/// the environment (built once per bucket, then reused); everything else (`file://`) is
/// DataFusion's default.
#[derive(Debug, Default)]
pub struct ObjectStores {
    inner: DefaultObjectStoreRegistry,
}

impl ObjectStores {
    pub fn new() -> ObjectStores {
        ObjectStores::default()
    }
}

impl ObjectStoreRegistry for ObjectStores {
    fn register_store(
        &self,
        url: &Url,
        store: Arc<dyn ObjectStore>,
    ) -> Option<Arc<dyn ObjectStore>> {
        self.inner.register_store(url, store)
    }

    fn deregister_store(&self, url: &Url) -> datafusion::error::Result<Arc<dyn ObjectStore>> {
        self.inner.deregister_store(url)
    }

    fn get_store(&self, url: &Url) -> datafusion::error::Result<Arc<dyn ObjectStore>> {
        if let Ok(store) = self.inner.get_store(url) {
            return Ok(store);
        }
        if !S3_SCHEMES.contains(&url.scheme()) {
            return self.inner.get_store(url);
        }
        let bucket = url.host_str().unwrap_or_default();
        let store = s3_client(bucket).map_err(|e| {
            datafusion::error::DataFusionError::External(Box::new(StoreError::Object {
                url: format!("{}://{bucket}", url.scheme()),
                message: e.to_string(),
            }))
        })?;
        let mut key = url.clone();
        key.set_path("");
        self.inner.register_store(&key, store.clone());
        Ok(store)
    }
}

/// What a push did.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct PushSummary {
    /// The manifest generation now published at the destination.
    pub generation: u64,
    /// The destination's generation before (none when it held no store).
    pub previous_generation: Option<u64>,
    pub files_uploaded: usize,
    pub bytes_uploaded: u64,
    /// Files already at the destination (listed there, or left by an interrupted push).
    pub files_present: usize,
    /// Objects under `data/` no longer listed, deleted after the manifest was published.
    pub objects_deleted: usize,
}

/// Mirror the local store at `local` to `dest`: upload the data files the destination lacks,
/// publish the local manifest there, then delete the data objects it no longer lists.
///
/// Refuses when the destination holds a later generation than the local store, a source the
/// local store never ingested, or a file of the same name with different content (another
/// store was pushed there). `progress` is told of each upload and deletion as it starts.
pub async fn push(
    local: &Path,
    dest: &ObjectRoot,
    progress: &mut dyn FnMut(&str),
) -> Result<PushSummary> {
    let snap = Snapshot::open(local)?;
    let root = snap.root_dir().unwrap_or(local).to_path_buf();
    let m = snap.manifest();
    let before = dest.load_manifest().await?;
    let mut summary = PushSummary {
        generation: m.generation,
        previous_generation: before.as_ref().map(|b| b.generation),
        ..PushSummary::default()
    };
    let mut listed = BTreeSet::new();
    if let Some(b) = &before {
        if b.generation > m.generation {
            return Err(StoreError::Invalid(format!(
                "{} holds generation {}, later than the local store's {} ({}): it is not a copy of this store, or the local store is older than what was pushed; push to another prefix",
                dest.url, b.generation, m.generation, local.display()
            )));
        }
        // A store only ever adds sources (expiry keeps their entries): a copy of this store
        // holds none the local one lacks.
        if let Some(foreign) = b.sources.iter().find(|src| !m.has_source(&src.hash)) {
            return Err(StoreError::Invalid(format!(
                "{} holds sources the local store {} never ingested (for one, {}): another store was pushed there; push to another prefix",
                dest.url,
                local.display(),
                foreign.display
            )));
        }
        let ours_by_path: std::collections::HashMap<&str, &crate::DataFile> =
            m.files.iter().map(|f| (f.path.as_str(), f)).collect();
        for theirs in &b.files {
            if let Some(ours) = ours_by_path.get(theirs.path.as_str()) {
                if ours.rows != theirs.rows || ours.bytes != theirs.bytes {
                    return Err(StoreError::Invalid(format!(
                        "{} lists {} with {} rows and {} bytes, the local store {} rows and {} bytes: another store was pushed there; push to another prefix",
                        dest.url, theirs.path, theirs.rows, theirs.bytes, ours.rows, ours.bytes
                    )));
                }
                listed.insert(theirs.path.clone());
            }
        }
    }
    for f in &m.files {
        if listed.contains(&f.path) {
            summary.files_present += 1;
            continue;
        }
        let object = dest.object(&f.path);
        match dest.store.head(&object).await {
            Ok(meta) if meta.size == f.bytes => {
                summary.files_present += 1;
                continue;
            }
            Ok(_) | Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(dest.error(&f.path, e)),
        }
        progress(&format!("uploading {} ({} bytes)", f.path, f.bytes));
        upload(&layout::resolve(&root, &f.path), dest, &f.path).await?;
        summary.files_uploaded += 1;
        summary.bytes_uploaded += f.bytes;
    }
    let text = m.to_json().map_err(|e| StoreError::Manifest {
        path: root.join(MANIFEST),
        message: e.to_string(),
    })?;
    dest.store
        .put(&dest.object(MANIFEST), PutPayload::from(text))
        .await
        .map_err(|e| dest.error(MANIFEST, e))?;
    let keep: BTreeSet<ObjectPath> = m.files.iter().map(|f| dest.object(&f.path)).collect();
    let data = dest.object(layout::DATA);
    let held: Vec<ObjectPath> = dest
        .store
        .list(Some(&data))
        .map_ok(|meta| meta.location)
        .try_collect()
        .await
        .map_err(|e| dest.error(layout::DATA, e))?;
    for object in held.into_iter().filter(|o| !keep.contains(o)) {
        progress(&format!("deleting {object} (no longer listed)"));
        dest.store
            .delete(&object)
            .await
            .map_err(|e| dest.error(object.as_ref(), e))?;
        summary.objects_deleted += 1;
    }
    Ok(summary)
}

/// Upload one local file to `relative` under the destination: one PUT when small, else a
/// multipart upload (the object appears only when complete).
async fn upload(path: &Path, dest: &ObjectRoot, relative: &str) -> Result<()> {
    let mut file = std::fs::File::open(path).map_err(StoreError::io(path))?;
    let size = file.metadata().map_err(StoreError::io(path))?.len();
    let object = dest.object(relative);
    if size <= PART_BYTES as u64 {
        let mut bytes = Vec::with_capacity(size as usize);
        file.read_to_end(&mut bytes).map_err(StoreError::io(path))?;
        dest.store
            .put(&object, PutPayload::from(bytes))
            .await
            .map_err(|e| dest.error(relative, e))?;
        return Ok(());
    }
    let parts = dest
        .store
        .put_multipart(&object)
        .await
        .map_err(|e| dest.error(relative, e))?;
    let mut writer = WriteMultipart::new_with_chunk_size(parts, PART_BYTES);
    let mut buf = vec![0u8; PART_BYTES];
    let result: Result<()> = async {
        loop {
            let n = file.read(&mut buf).map_err(StoreError::io(path))?;
            if n == 0 {
                return Ok(());
            }
            writer
                .wait_for_capacity(PARTS_IN_FLIGHT)
                .await
                .map_err(|e| dest.error(relative, e))?;
            writer.write(&buf[..n]);
        }
    }
    .await;
    match result {
        Ok(()) => {
            writer.finish().await.map_err(|e| dest.error(relative, e))?;
            Ok(())
        }
        Err(e) => {
            // Leave no half-made upload behind when the local file could not be read.
            let _ = writer.abort().await;
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_locations() {
        assert!(
            matches!(Location::parse("./store"), Ok(Location::Dir(p)) if p == Path::new("./store"))
        );
        assert!(matches!(
            Location::parse("C:\\cases\\store"),
            Ok(Location::Dir(_))
        ));
        assert!(
            matches!(Location::parse("file:///tmp/store"), Ok(Location::Dir(p)) if p == Path::new("/tmp/store"))
        );
        let Ok(Location::Object(o)) = Location::parse("s3://hunts/acme/store/") else {
            panic!("an s3 URL is an object store");
        };
        assert_eq!(o.url().as_str(), "s3://hunts/acme/store");
        assert_eq!(o.bucket_url().as_str(), "s3://hunts");
        assert_eq!(o.object(MANIFEST).as_ref(), "acme/store/MANIFEST.json");
        assert_eq!(
            o.object_url("data/date=2025-07-08/part-00000001-000001.parquet"),
            "s3://hunts/acme/store/data/date=2025-07-08/part-00000001-000001.parquet"
        );
        let Ok(Location::Object(bare)) = Location::parse("s3://hunts") else {
            panic!("a bucket alone is an object store");
        };
        assert_eq!(bare.object(MANIFEST).as_ref(), "MANIFEST.json");
        let err = Location::parse("gs://b/p").expect_err("gcs is not supported");
        assert!(
            err.to_string().contains("gs:// stores are not supported"),
            "{err}"
        );
        assert!(Location::parse("s3:///nobucket").is_err());
    }

    #[test]
    fn the_registry_builds_one_client_per_bucket_and_keeps_registered_stores() {
        let reg = ObjectStores::new();
        let url = |u: &str| Url::parse(u).expect("url");
        // Local files as DataFusion's default registry serves them.
        assert!(reg.get_store(&url("file:///tmp/x.parquet")).is_ok());
        // A bucket gets a client on first use, then the same one.
        let a = reg
            .get_store(&url("s3://hunts/acme/data/a.parquet"))
            .expect("s3 client");
        let b = reg
            .get_store(&url("s3://hunts/other/b.parquet"))
            .expect("s3 client");
        assert!(Arc::ptr_eq(&a, &b));
        let c = reg.get_store(&url("s3://logs/x")).expect("s3 client");
        assert!(!Arc::ptr_eq(&a, &c));
        // A store registered explicitly wins (the engine registers the snapshot's client).
        let mem: Arc<dyn ObjectStore> = Arc::new(object_store::memory::InMemory::new());
        reg.register_store(&url("s3://mem"), mem.clone());
        assert!(Arc::ptr_eq(
            &reg.get_store(&url("s3://mem/p")).expect("registered"),
            &mem
        ));
        // Other schemes are not served.
        assert!(reg.get_store(&url("gs://b/p")).is_err());
    }
}
