//! A store in an S3-compatible bucket, end to end through the binary, against moto's S3
//! server on loopback (skipped with a message when it is not installed; `.ci/run` installs
//! it and sets LATERAL_REQUIRE_S3=1): `lateral store push` copies a local store there, and
//! `store stats`, `search`, `sql`, `stats` and `hunt` with `--store s3://...` answer exactly
//! as over the folder (the store's location aside). Bad locations fail clearly.

mod common;
use common::*;

use std::path::Path;

use serde_json::Value;

fn s(p: &Path) -> String {
    p.display().to_string()
}

fn json(args: &[&str], env: &[(String, String)]) -> Value {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    run_ok_env(&args, env).json()
}

#[test]
fn a_store_pushed_to_a_bucket_answers_like_the_folder() {
    let Some(s3) = S3::start("lateral-hunts") else {
        return;
    };
    let env = s3.env();
    let dir = tempfile::tempdir().expect("tempdir");
    let evidence = simulate(&["--scenario", "psexec-chain"], &dir.path().join("psexec"));
    let store = dir.path().join("store");
    run_ok(&["ingest".into(), s(&evidence), "--store".into(), s(&store)]);
    let local = std::fs::canonicalize(&store).expect("canonical");
    let (local, url) = (s(&local), s3.url("acme/store"));

    let push = || push_store(&store, &url, &env);
    let pushed = push();
    assert!(
        pushed.stdout.contains("uploaded") && pushed.stdout.contains(&url),
        "{}",
        pushed.stdout
    );
    let again = push();
    assert!(
        again.stdout.contains(": 0 file(s) uploaded"),
        "a second push uploads nothing: {}",
        again.stdout
    );

    let st = |store: &str| {
        json(
            &["store", "stats", "--store", store, "--format", "json"],
            &env,
        )
    };
    let remote_stats = st(&url);
    assert!(
        remote_stats["events"].as_u64().unwrap_or(0) > 0,
        "{remote_stats}"
    );
    assert_eq!(st(&local), remote_stats);

    let same = |what: &str, args: &[&str]| {
        let with = |store: &str| {
            let mut a: Vec<&str> = args.to_vec();
            a.extend(["--store", store]);
            json(&a, &env)
        };
        let (a, b) = (with(&local), with(&url));
        assert_eq!(
            scrub_timings(a, &["generated", "started"]),
            scrub_timings(relocate(b, &url, &local), &["generated", "started"]),
            "{what} differs between the folder and the bucket"
        );
    };
    for q in [
        "target.port = 445",
        "target.process.file.full_path CONTAINS \"PSEXESVC\"",
        "metadata.event_type = \"USER_LOGIN\"",
    ] {
        same(
            q,
            &["search", "--all-time", "--format", "json", "--query", q],
        );
    }
    same(
        "sql",
        &[
            "sql",
            "SELECT \"metadata.event_type\" AS t, count(*) AS n FROM events GROUP BY 1 ORDER BY 1",
            "--format",
            "json",
        ],
    );
    same("stats", &["stats", "--format", "json"]);
    let out = s(&dir.path().join("reports"));
    same(
        "hunt",
        &["hunt", "--all-time", "--format", "json", "--out", &out],
    );
    let hunt = json(
        &[
            "hunt",
            "--all-time",
            "--format",
            "json",
            "--out",
            &out,
            "--store",
            &url,
        ],
        &env,
    );
    assert!(
        hunt["findings"].as_array().is_some_and(|f| !f.is_empty()),
        "the hunt over the bucket finds the PsExec chain: {hunt}"
    );
}

#[test]
fn bad_bucket_locations_fail_clearly() {
    let Some(s3) = S3::start("lateral-empty") else {
        return;
    };
    let env = s3.env();
    let dir = tempfile::tempdir().expect("tempdir");

    // A prefix that holds no store.
    let nothing = s3.url("nothing-here");
    let out = lateral_env(
        &[
            "search",
            "--store",
            &nothing,
            "--query",
            "target.port = 445",
        ],
        &env,
    );
    assert_ne!(out.code, 0);
    assert!(
        out.stderr.contains("not a lateral store") && out.stderr.contains(&nothing),
        "{}",
        out.stderr
    );
    // A bucket that does not exist: the service's answer, with the URL.
    let out = lateral_env(&["stats", "--store", "s3://no-such-bucket/x"], &env);
    assert_ne!(out.code, 0);
    assert!(
        out.stderr.contains("s3://no-such-bucket/x"),
        "{}",
        out.stderr
    );
    // Writing commands want a folder and say how to get the store into the bucket.
    let evidence = simulate(&["--scenario", "serhatg"], &dir.path().join("serhatg"));
    let out = lateral_env(&["ingest", &s(&evidence), "--store", &nothing], &env);
    assert_ne!(out.code, 0);
    assert!(out.stderr.contains("lateral store push"), "{}", out.stderr);
    // Schemes other than s3 are refused by name.
    let out = lateral_env(&["stats", "--store", "gs://b/p"], &env);
    assert_ne!(out.code, 0);
    assert!(
        out.stderr.contains("gs:// stores are not supported"),
        "{}",
        out.stderr
    );
    // Push wants a bucket.
    let store = dir.path().join("store");
    run_ok(&["ingest".into(), s(&evidence), "--store".into(), s(&store)]);
    let out = lateral_env(
        &[
            "store",
            "push",
            "--store",
            &s(&store),
            &s(&dir.path().join("x")),
        ],
        &env,
    );
    assert_ne!(out.code, 0);
    assert!(out.stderr.contains("s3://BUCKET/PREFIX"), "{}", out.stderr);
}
