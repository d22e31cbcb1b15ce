//! Concurrent writers never lose a comment: threads sharing one store, threads each with its
//! own connection, and separate processes, all posting to the same cases at once.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Barrier};

use lateral_cases::{NewCase, Store};

const CHILD_ENV: &str = "LATERAL_CASES_TEST_CHILD_DB";

fn case(store: &Store, name: &str) -> i64 {
    store
        .create_case(&NewCase {
            display_name: name.into(),
            ..NewCase::default()
        })
        .expect("create")
        .id
}

fn texts(store: &Store, case_id: i64) -> Vec<String> {
    store
        .comments(case_id)
        .expect("comments")
        .into_iter()
        .map(|c| c.comment)
        .collect()
}

fn assert_all_present(got: &[String], expected: &BTreeSet<String>) {
    let set: BTreeSet<String> = got.iter().cloned().collect();
    assert_eq!(set.len(), got.len(), "a comment was stored twice");
    let missing: Vec<_> = expected.difference(&set).collect();
    assert!(
        missing.is_empty(),
        "{} comment(s) lost: {missing:?}",
        missing.len()
    );
    assert_eq!(set, *expected);
}

#[test]
fn threads_sharing_a_store_and_separate_connections_lose_nothing() {
    const SHARED_THREADS: usize = 12;
    const OWN_CONNECTIONS: usize = 6;
    const PER_WRITER: usize = 40;
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("cases.db");
    let store = Arc::new(Store::open(&path).expect("open"));
    let ids = [case(&store, "one"), case(&store, "two")];
    let barrier = Arc::new(Barrier::new(SHARED_THREADS + OWN_CONNECTIONS));
    let mut handles = Vec::new();
    for t in 0..SHARED_THREADS {
        let store = Arc::clone(&store);
        let barrier = Arc::clone(&barrier);
        handles.push(std::thread::spawn(move || {
            barrier.wait();
            for i in 0..PER_WRITER {
                let id = ids[i % 2];
                store
                    .add_comment(id, Some("shared"), &format!("shared-{t}-{i}"))
                    .expect("post through the shared store");
            }
        }));
    }
    for t in 0..OWN_CONNECTIONS {
        let path = path.clone();
        let barrier = Arc::clone(&barrier);
        handles.push(std::thread::spawn(move || {
            // Each opens its own connection (and runs the migration check) at the same time.
            barrier.wait();
            let own = Store::open(&path).expect("own connection");
            for i in 0..PER_WRITER {
                let id = ids[i % 2];
                own.add_comment(id, Some("own"), &format!("own-{t}-{i}"))
                    .expect("post through an own connection");
            }
        }));
    }
    for h in handles {
        h.join().expect("writer thread");
    }
    for (k, id) in ids.iter().enumerate() {
        let mut expected = BTreeSet::new();
        for t in 0..SHARED_THREADS {
            for i in (k..PER_WRITER).step_by(2) {
                expected.insert(format!("shared-{t}-{i}"));
            }
        }
        for t in 0..OWN_CONNECTIONS {
            for i in (k..PER_WRITER).step_by(2) {
                expected.insert(format!("own-{t}-{i}"));
            }
        }
        let got = texts(&store, *id);
        assert_eq!(
            got.len(),
            (SHARED_THREADS + OWN_CONNECTIONS) * PER_WRITER / 2
        );
        assert_all_present(&got, &expected);
        assert_eq!(
            store.case(*id).expect("case").comment_count,
            got.len() as i64
        );
    }
}

#[test]
fn many_fresh_connections_opening_a_new_file_at_once_all_succeed() {
    const N: usize = 16;
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("fresh.db");
    let barrier = Arc::new(Barrier::new(N));
    let handles: Vec<_> = (0..N)
        .map(|t| {
            let path = path.clone();
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                let s = Store::open(&path).expect("concurrent first open");
                s.create_case(&NewCase {
                    display_name: format!("case {t}"),
                    ..NewCase::default()
                })
                .expect("create")
                .id
            })
        })
        .collect();
    let ids: BTreeSet<i64> = handles
        .into_iter()
        .map(|h| h.join().expect("thread"))
        .collect();
    assert_eq!(ids.len(), N, "every create got its own id");
    assert_eq!(
        ids.iter().copied().collect::<Vec<_>>(),
        (1..=N as i64).collect::<Vec<_>>()
    );
}

/// Runs only as a child process of the test below: posts comments to case 1 and 2.
#[test]
#[ignore = "helper: run as a child process by separate_processes_lose_nothing"]
fn child_writer() {
    let Some(db) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let tag = std::env::var("LATERAL_CASES_TEST_CHILD_TAG").unwrap_or_default();
    let store = Store::open(Path::new(&db)).expect("child open");
    for i in 0..30 {
        store
            .add_comment(1 + (i % 2), Some("child"), &format!("proc-{tag}-{i}"))
            .expect("child post");
    }
}

#[test]
fn separate_processes_lose_nothing() {
    const PROCS: usize = 5;
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("procs.db");
    let store = Store::open(&path).expect("open");
    let ids = [case(&store, "one"), case(&store, "two")];
    assert_eq!(ids, [1, 2]);
    let exe = std::env::current_exe().expect("test binary");
    let children: Vec<_> = (0..PROCS)
        .map(|p| {
            Command::new(&exe)
                .args([
                    "--ignored",
                    "--exact",
                    "child_writer",
                    "--test-threads",
                    "1",
                ])
                .env(CHILD_ENV, &path)
                .env("LATERAL_CASES_TEST_CHILD_TAG", p.to_string())
                .stdout(std::process::Stdio::null())
                .spawn()
                .expect("spawn child")
        })
        .collect();
    // The parent writes at the same time.
    for i in 0..30 {
        store
            .add_comment(ids[i % 2], Some("parent"), &format!("parent-{i}"))
            .expect("parent post");
    }
    for mut c in children {
        let status = c.wait().expect("child");
        assert!(status.success(), "child writer failed: {status}");
    }
    let mut all: Vec<String> = texts(&store, 1);
    all.extend(texts(&store, 2));
    let mut expected: BTreeSet<String> = (0..30).map(|i| format!("parent-{i}")).collect();
    for p in 0..PROCS {
        for i in 0..30 {
            expected.insert(format!("proc-{p}-{i}"));
        }
    }
    assert_eq!(all.len(), 30 * (PROCS + 1));
    assert_all_present(&all, &expected);
}
