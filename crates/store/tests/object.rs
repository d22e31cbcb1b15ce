//! A store in an object store, at the library level, against object_store's in-memory store
//! (the S3 wire itself is tested end to end against an S3 emulator in the CLI tests): a
//! pushed store reads row for row as the local one, pushing again uploads nothing, a push
//! after compaction removes the replaced objects, leftovers of an interrupted push are never
//! read, and a prefix holding another store is refused.

mod common;
use common::{identities, simulate};

use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::TryStreamExt;
use lateral_store::layout::MANIFEST;
use lateral_store::{IngestCounters, IngestOptions, ObjectRoot, Snapshot};
use object_store::memory::InMemory;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

fn ingest(store: &Path, paths: &[PathBuf]) {
    let opts = IngestOptions {
        threads: 2,
        round_bytes: 256 * 1024,
        buffer_rows: 1_500,
        ..IngestOptions::default()
    };
    lateral_store::ingest(store, paths, &opts, &IngestCounters::default(), &mut |m| {
        panic!("unexpected wait: {m}")
    })
    .expect("ingest");
}

fn bucket(store: &Arc<InMemory>, prefix: &str) -> ObjectRoot {
    let url = url::Url::parse(&format!("s3://hunts/{prefix}")).expect("url");
    ObjectRoot::with_store(url, store.clone()).expect("root")
}

async fn objects(store: &Arc<InMemory>, under: &str) -> Vec<String> {
    let mut v: Vec<String> = store
        .list(Some(&ObjectPath::from(under)))
        .map_ok(|m| m.location.to_string())
        .try_collect()
        .await
        .expect("list");
    v.sort();
    v
}

#[tokio::test]
async fn a_pushed_store_reads_as_the_local_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let local = dir.path().join("store");
    ingest(&local, &[simulate("psexec-chain", dir.path())]);
    let mem = Arc::new(InMemory::new());
    let dest = bucket(&mem, "acme/store/");

    // Not a store yet: a prefix without a manifest is refused when read.
    let err = Snapshot::open_object(dest.clone())
        .await
        .expect_err("empty prefix");
    assert!(
        err.to_string().contains("not a lateral store")
            && err.to_string().contains("s3://hunts/acme/store"),
        "{err}"
    );

    let mut said = Vec::new();
    let first = lateral_store::push(&local, &dest, &mut |m| said.push(m.to_string()))
        .await
        .expect("push");
    let snap_local = Snapshot::open(&local).expect("local");
    let m = snap_local.manifest();
    assert!(m.files.len() > 1, "want several files: {}", m.files.len());
    assert_eq!(first.files_uploaded, m.files.len());
    assert_eq!(
        first.bytes_uploaded,
        m.files.iter().map(|f| f.bytes).sum::<u64>()
    );
    assert_eq!((first.files_present, first.objects_deleted), (0, 0));
    assert_eq!(first.previous_generation, None);
    assert_eq!(said.len(), m.files.len(), "{said:?}");

    let remote = Snapshot::open_object(dest.clone()).await.expect("remote");
    assert_eq!(remote.manifest(), m);
    assert_eq!(remote.location(), "s3://hunts/acme/store");
    assert!(remote.files()[0].starts_with("s3://hunts/acme/store/data/date="));
    let expected = identities(&snap_local).await;
    assert!(!expected.is_empty());
    assert_eq!(identities(&remote).await, expected);

    // Again: nothing to upload.
    let again = lateral_store::push(&local, &dest, &mut |_| {})
        .await
        .expect("push again");
    assert_eq!(
        (
            again.files_uploaded,
            again.files_present,
            again.objects_deleted
        ),
        (0, m.files.len(), 0)
    );
    assert_eq!(again.previous_generation, Some(m.generation));

    // Compaction replaces the small files; the next push removes the replaced objects.
    lateral_store::compact(&local, &mut |m| panic!("{m}")).expect("compact");
    let compacted = Snapshot::open(&local).expect("local");
    assert!(compacted.manifest().files.len() < m.files.len());
    let third = lateral_store::push(&local, &dest, &mut |_| {})
        .await
        .expect("push after compaction");
    assert_eq!(third.objects_deleted, m.files.len() - third.files_present);
    let held = objects(&mem, "acme/store/data").await;
    let listed: Vec<String> = compacted
        .manifest()
        .files
        .iter()
        .map(|f| format!("acme/store/{}", f.path))
        .collect();
    assert_eq!(held, listed);
    let remote = Snapshot::open_object(dest.clone()).await.expect("remote");
    assert_eq!(identities(&remote).await, expected);
}

#[tokio::test]
async fn leftovers_of_an_interrupted_push_are_not_read_and_another_store_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let local = dir.path().join("store");
    ingest(&local, &[simulate("psexec-chain", dir.path())]);
    let mem = Arc::new(InMemory::new());
    let dest = bucket(&mem, "p");
    lateral_store::push(&local, &dest, &mut |_| {})
        .await
        .expect("push");
    let snap = Snapshot::open(&local).expect("local");
    let expected = identities(&snap).await;

    // A push stopped after uploading a file but before the manifest: the object is there,
    // unlisted. Readers ignore it; the next push deletes it.
    let stray = ObjectPath::from("p/data/date=2025-07-08/part-00000099-000001.parquet");
    mem.put(&stray, PutPayload::from_static(b"PAR1 half an upload"))
        .await
        .expect("put");
    let remote = Snapshot::open_object(dest.clone()).await.expect("remote");
    assert_eq!(identities(&remote).await, expected);
    let s = lateral_store::push(&local, &dest, &mut |_| {})
        .await
        .expect("push");
    assert_eq!((s.files_uploaded, s.objects_deleted), (0, 1));
    assert!(mem.head(&stray).await.is_err(), "the stray object is gone");

    // A file uploaded but its manifest never written (the same generation pushed to a new
    // prefix, stopped before the manifest): the next push finds it and does not upload it.
    let other = bucket(&mem, "q");
    let first = &snap.manifest().files[0];
    let bytes = std::fs::read(lateral_store::layout::resolve(
        snap.root_dir().expect("local"),
        &first.path,
    ))
    .expect("read");
    mem.put(&other.object(&first.path), PutPayload::from(bytes))
        .await
        .expect("put");
    let s = lateral_store::push(&local, &other, &mut |_| {})
        .await
        .expect("push");
    assert_eq!(s.files_present, 1);
    assert_eq!(s.files_uploaded, snap.manifest().files.len() - 1);

    // Another store (other evidence, same file names) is refused, and the prefix is untouched.
    let second = dir.path().join("store2");
    ingest(&second, &[simulate("wmi-spread", dir.path())]);
    let before = mem
        .get(&dest.object(MANIFEST))
        .await
        .expect("get")
        .bytes()
        .await
        .expect("bytes");
    let err = lateral_store::push(&second, &dest, &mut |_| {})
        .await
        .expect_err("another store");
    assert!(err.to_string().contains("push to another prefix"), "{err}");
    let after = mem
        .get(&dest.object(MANIFEST))
        .await
        .expect("get")
        .bytes()
        .await
        .expect("bytes");
    assert_eq!(before, after);
    assert!(
        err.to_string().contains("never ingested"),
        "refused for its sources: {err}"
    );

    // Same sources, but a file listed with another size: refused too.
    let mut tampered: lateral_store::Manifest = serde_json::from_slice(&before).expect("manifest");
    tampered.files[0].bytes += 1;
    mem.put(
        &dest.object(MANIFEST),
        PutPayload::from(serde_json::to_vec(&tampered).expect("json")),
    )
    .await
    .expect("put");
    let err = lateral_store::push(&local, &dest, &mut |_| {})
        .await
        .expect_err("a file of another size");
    assert!(
        err.to_string().contains(&tampered.files[0].path)
            && err.to_string().contains("push to another prefix"),
        "{err}"
    );
}

#[tokio::test]
async fn a_corrupt_manifest_in_a_bucket_names_its_url() {
    let mem = Arc::new(InMemory::new());
    let dest = bucket(&mem, "bad");
    mem.put(
        &dest.object(MANIFEST),
        PutPayload::from_static(b"{\"format\":"),
    )
    .await
    .expect("put");
    let err = Snapshot::open_object(dest).await.expect_err("corrupt");
    assert!(
        err.to_string().contains("s3://hunts/bad/MANIFEST.json"),
        "{err}"
    );
}
