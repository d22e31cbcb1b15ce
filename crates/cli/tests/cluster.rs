//! Scale-out on Ballista end to end: a scheduler and two executors started from the `lateral`
//! binary as separate processes on 127.0.0.1 (ports chosen free at runtime, work folders in a
//! temporary folder, all killed on drop); a store holding a simulated story, a generated
//! fleet corpus and (when present) the shared data; `search`, `sql`, `stats` and `hunt` through
//! `--engine df://127.0.0.1:PORT` must answer exactly as the embedded engine. An executor
//! killed (SIGKILL) during a cluster query: the command must end within a bound, either with
//! the embedded engine's answer (the surviving executor ran the lost tasks again) or with a
//! clear error (see docs/cluster.md for which one Ballista 55 gives).
#![cfg(feature = "cluster")]

mod common;
use common::*;

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

fn s(p: &Path) -> String {
    p.display().to_string()
}

/// Ports free now on 127.0.0.1 (held together while choosing, so they differ).
fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("bind a free port"))
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().expect("local address").port())
        .collect()
}

fn wait_for_port(port: u16, what: &str, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited ({status}) before listening on {port}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{what} is not listening on {port} after 60 s");
}

/// One scheduler and two executors; every process is killed when this is dropped.
struct Cluster {
    url: String,
    scheduler: Child,
    executors: Vec<Child>,
}

impl Cluster {
    fn start(dir: &Path) -> Cluster {
        Self::start_with_env(dir, &[])
    }

    /// With extra environment variables for every process (e.g. an S3 endpoint).
    fn start_with_env(dir: &Path, env: &[(String, String)]) -> Cluster {
        let ports = free_ports(5);
        let spawn = |args: &[String], log: &str| -> Child {
            let log = std::fs::File::create(dir.join(log)).expect("log file");
            let err = log.try_clone().expect("log file");
            Command::new(env!("CARGO_BIN_EXE_lateral"))
                .args(args)
                .env("RUST_LOG", "warn")
                .envs(env.iter().map(|(k, v)| (k, v)))
                .stdin(Stdio::null())
                .stdout(log)
                .stderr(err)
                .spawn()
                .expect("start lateral cluster")
        };
        let scheduler_addr = format!("127.0.0.1:{}", ports[0]);
        let mut scheduler = spawn(
            &[
                "cluster".into(),
                "scheduler".into(),
                "--bind".into(),
                scheduler_addr.clone(),
            ],
            "scheduler.log",
        );
        wait_for_port(ports[0], "the scheduler", &mut scheduler);
        let mut cluster = Cluster {
            url: format!("df://{scheduler_addr}"),
            scheduler,
            executors: Vec::new(),
        };
        for i in 0..2 {
            let (flight, grpc) = (ports[1 + 2 * i], ports[2 + 2 * i]);
            let mut child = spawn(
                &[
                    "cluster".into(),
                    "executor".into(),
                    "--scheduler".into(),
                    scheduler_addr.clone(),
                    "--flight-port".into(),
                    flight.to_string(),
                    "--grpc-port".into(),
                    grpc.to_string(),
                    "--concurrent-tasks".into(),
                    "2".into(),
                    "--work-dir".into(),
                    s(&dir.join(format!("executor{i}"))),
                ],
                &format!("executor{i}.log"),
            );
            wait_for_port(flight, "an executor (flight)", &mut child);
            wait_for_port(grpc, "an executor (grpc)", &mut child);
            cluster.executors.push(child);
        }
        // Executors register with the scheduler right after they start listening.
        std::thread::sleep(Duration::from_millis(500));
        cluster
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for c in self
            .executors
            .iter_mut()
            .chain(std::iter::once(&mut self.scheduler))
        {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn with_store(parts: &[&str], store: &Path, engine: Option<&str>) -> Vec<String> {
    let mut v: Vec<String> = parts.iter().map(|p| p.to_string()).collect();
    v.extend(["--store".into(), s(store)]);
    if let Some(url) = engine {
        v.extend(["--engine".into(), url.to_string()]);
    }
    v
}

fn search(store: &Path, engine: Option<&str>, query: &str, window: &[&str]) -> Value {
    let mut a = with_store(&["search"], store, engine);
    a.extend(["--format", "json", "--query", query].map(String::from));
    a.extend(window.iter().map(|w| w.to_string()));
    let mut doc = run_ok(&a).json();
    doc.as_object_mut().map(|o| o.remove("read"));
    doc
}

fn sql(store: &Path, engine: Option<&str>, statement: &str) -> Value {
    let mut a = with_store(&["sql"], store, engine);
    a.extend([statement, "--format", "json"].map(String::from));
    run_ok(&a).json()["rows"].clone()
}

fn stats(store: &Path, engine: Option<&str>) -> Value {
    let mut a = with_store(&["stats"], store, engine);
    a.extend(["--format", "json"].map(String::from));
    run_ok(&a).json()
}

fn hunt(store: &Path, engine: Option<&str>, out: &Path, window: &[&str]) -> Value {
    let mut a = with_store(&["hunt"], store, engine);
    a.extend(["--format", "json", "--out"].map(String::from));
    a.push(s(out));
    a.extend(window.iter().map(|w| w.to_string()));
    scrub_timings(run_ok(&a).json(), &["generated", "started"])
}

const QUERIES: &[&str] = &[
    "metadata.event_type = \"NETWORK_CONNECTION\"",
    "target.process.file.full_path CONTAINS \"PSEXESVC\"",
    "principal.ip = \"10.0.0.130\" OR target.port = 445",
    "net.ip_in_range_cidr(principal.ip, \"10.0.0.0/8\") AND metadata.event_type = \"USER_LOGIN\"",
    "metadata.product_event_type = \"4624\"",
];

const STATEMENTS: &[&str] = &[
    "SELECT \"lateral.source_format\" AS f, \"metadata.event_type\" AS t, count(*) AS n, min(\"metadata.event_timestamp\") AS lo, max(\"metadata.event_timestamp\") AS hi FROM events GROUP BY 1, 2 ORDER BY 1, 2",
    "SELECT \"principal.hostname\" AS h, count(DISTINCT \"target.hostname\") AS targets FROM events WHERE \"principal.hostname\" IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 20",
    "SELECT a.\"principal.hostname\" AS src, b.\"principal.hostname\" AS dst, count(*) AS n FROM events a JOIN events b ON a.\"target.ip\" = b.\"principal.ip\" AND b.\"metadata.event_timestamp\" BETWEEN a.\"metadata.event_timestamp\" AND a.\"metadata.event_timestamp\" + INTERVAL '60 seconds' WHERE a.\"target.port\" = 445 GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2 LIMIT 50",
    "SELECT count(*) AS n FROM events",
];

#[test]
fn cluster_answers_like_the_embedded_engine() {
    let shared = shared_data();
    let dir = tempfile::tempdir().expect("tempdir");
    let psexec = simulate(&["--scenario", "psexec-chain"], &dir.path().join("psexec"));
    let fleet = simulate(&["--events", "30000"], &dir.path().join("fleet"));
    let store = dir.path().join("store");
    let mut ingest: Vec<String> = vec!["ingest".into(), s(&psexec), s(&fleet)];
    if let Some(data) = &shared {
        let lm = data.join("evtx/EVTX-ATTACK-SAMPLES/Lateral Movement");
        let pcap = data.join("pcap/401trg/20171220_smb_psexec_add_user.pcap");
        assert!(lm.is_dir() && pcap.is_file(), "shared data layout changed");
        ingest.extend([s(&lm), s(&pcap)]);
    } else {
        eprintln!("cluster test: running over simulated data only (no shared data)");
    }
    ingest.extend(["--store".into(), s(&store)]);
    run_ok(&ingest);

    let cluster = Cluster::start(dir.path());
    let url = Some(cluster.url.as_str());

    for q in QUERIES {
        for window in [&["--all-time"][..], &["--hours-back", "24"][..]] {
            let local = search(&store, None, q, window);
            let remote = search(&store, url, q, window);
            assert_eq!(
                local, remote,
                "search {q} {window:?} differs on the cluster"
            );
        }
    }
    let total = search(&store, None, QUERIES[0], &["--all-time"]);
    assert!(
        total["total_events"].as_u64().unwrap_or(0) > 0,
        "no network connections in the store: {total}"
    );
    for st in STATEMENTS {
        let local = sql(&store, None, st);
        assert!(
            local.as_array().is_some_and(|r| !r.is_empty()),
            "{st}: no rows"
        );
        assert_eq!(
            local,
            sql(&store, url, st),
            "sql {st} differs on the cluster"
        );
    }
    assert_eq!(
        stats(&store, None),
        stats(&store, url),
        "stats differ on the cluster"
    );

    for window in [&["--all-time"][..], &["--hours-back", "72"][..]] {
        let local = hunt(&store, None, &dir.path().join("r1"), window);
        let remote = hunt(&store, url, &dir.path().join("r2"), window);
        assert!(
            local["findings"].as_array().is_some_and(|f| !f.is_empty()),
            "no findings {window:?}"
        );
        let keys: Vec<String> = local
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default();
        for key in keys {
            assert_eq!(
                local[&key], remote[&key],
                "hunt report {window:?}: {key} differs on the cluster"
            );
        }
        assert_eq!(
            local, remote,
            "hunt report {window:?} differs on the cluster"
        );
    }
}

/// A store in an S3-compatible bucket (moto's server): the scheduler and executors reach it
/// from their own environment, and `search`, `sql` and `hunt` through the cluster answer as
/// the embedded engine over the local folder the bucket was pushed from.
#[test]
fn cluster_reads_a_store_in_a_bucket() {
    let Some(s3) = S3::start("lateral-cluster") else {
        return;
    };
    let env = s3.env();
    let dir = tempfile::tempdir().expect("tempdir");
    let psexec = simulate(&["--scenario", "psexec-chain"], &dir.path().join("psexec"));
    let fleet = simulate(&["--events", "20000"], &dir.path().join("fleet"));
    let store = dir.path().join("store");
    run_ok(&[
        "ingest".into(),
        s(&psexec),
        s(&fleet),
        "--store".into(),
        s(&store),
    ]);
    let url = s3.url("fleet");
    push_store(&store, &url, &env);
    let cluster = Cluster::start_with_env(dir.path(), &env);
    let remote = |parts: &[&str]| -> Value {
        let mut a: Vec<String> = parts.iter().map(|p| p.to_string()).collect();
        a.extend([
            "--store".into(),
            url.clone(),
            "--engine".into(),
            cluster.url.clone(),
        ]);
        run_ok_env(&a, &env).json()
    };
    for q in QUERIES {
        let local = search(&store, None, q, &["--all-time"]);
        let mut far = remote(&["search", "--format", "json", "--query", q, "--all-time"]);
        far.as_object_mut().map(|o| o.remove("read"));
        assert_eq!(
            local, far,
            "search {q} differs on the cluster over the bucket"
        );
    }
    for st in STATEMENTS {
        let local = sql(&store, None, st);
        let far = remote(&["sql", st, "--format", "json"])["rows"].clone();
        assert_eq!(
            local, far,
            "sql {st} differs on the cluster over the bucket"
        );
    }
    let local = hunt(&store, None, &dir.path().join("r1"), &["--all-time"]);
    let out = s(&dir.path().join("r2"));
    let far = scrub_timings(
        remote(&["hunt", "--format", "json", "--out", &out, "--all-time"]),
        &["generated", "started"],
    );
    assert!(
        local["findings"].as_array().is_some_and(|f| !f.is_empty()),
        "no findings"
    );
    let folder = s(&std::fs::canonicalize(&store).expect("canonical"));
    assert_eq!(
        local,
        relocate(far, &url, &folder),
        "the hunt report differs on the cluster over the bucket"
    );
}

/// Start `lateral mcp ARGS...` over stdio, initialise, call each tool in turn and return the
/// results (the server is killed afterwards).
fn mcp_results(args: &[&str], calls: &[(&str, Value)]) -> Vec<Value> {
    let mut server = McpStdio::spawn(args);
    server.initialize("2025-06-18");
    calls
        .iter()
        .map(|(tool, a)| server.call(tool, a.clone()))
        .collect()
}

/// `lateral lookup` and `lateral mcp` with `--engine` answer as they do embedded.
#[test]
fn lookup_and_mcp_run_on_the_cluster() {
    let dir = tempfile::tempdir().expect("tempdir");
    let psexec = simulate(&["--scenario", "psexec-chain"], &dir.path().join("psexec"));
    let store = dir.path().join("store");
    run_ok(&["ingest".into(), s(&psexec), "--store".into(), s(&store)]);
    let cluster = Cluster::start(dir.path());
    for value in ["10.0.0.130", "SALES-PC", "CORP\\ssales"] {
        let mut a = with_store(&["lookup", value], &store, None);
        a.extend(["--format", "json"].map(String::from));
        let local = run_ok(&a).json();
        a.extend(["--engine".into(), cluster.url.clone()]);
        let remote = run_ok(&a).json();
        assert!(
            local["total_events"].as_u64().unwrap_or(0) > 0,
            "{value}: nothing found: {local}"
        );
        assert_eq!(local, remote, "lookup {value} differs on the cluster");
    }
    let calls = [
        (
            "search_udm",
            serde_json::json!({"query": "target.port = 445", "hours_back": 168, "max_events": 50}),
        ),
        (
            "lookup_entity",
            serde_json::json!({"entity_value": "SALES-PC", "hours_back": 168}),
        ),
        (
            "get_security_alerts",
            serde_json::json!({"hours_back": 168}),
        ),
    ];
    let (store_arg, db_a, db_b) = (
        s(&store),
        s(&dir.path().join("a.db")),
        s(&dir.path().join("b.db")),
    );
    let local = mcp_results(&["--store", &store_arg, "--db", &db_a], &calls);
    let remote = mcp_results(
        &[
            "--store",
            &store_arg,
            "--engine",
            &cluster.url,
            "--db",
            &db_b,
        ],
        &calls,
    );
    assert!(
        local[0]["structuredContent"]["result"]["total_events"]
            .as_u64()
            .unwrap_or(0)
            > 0,
        "search_udm found nothing: {}",
        local[0]
    );
    assert!(
        local[1].to_string().contains("Associated Alerts"),
        "{}",
        local[1]
    );
    for (i, (tool, _)) in calls.iter().enumerate() {
        assert_eq!(local[i], remote[i], "{tool} differs on the cluster");
    }
    let out = lateral(&[
        "mcp",
        "--evidence",
        &s(&psexec),
        "--store",
        &s(&store),
        "--engine",
        &cluster.url,
    ]);
    assert_ne!(out.code, 0);
    assert!(out.stderr.contains("lateral ingest"), "{}", out.stderr);
}

#[test]
fn engine_needs_a_store_and_refuses_raw_paths() {
    let dir = tempfile::tempdir().expect("tempdir");
    let psexec = simulate(&["--scenario", "psexec-chain"], &dir.path().join("psexec"));
    let out = lateral(&[
        "search",
        &s(&psexec),
        "--engine",
        "df://127.0.0.1:1",
        "--query",
        "target.port = 445",
    ]);
    assert_ne!(out.code, 0);
    assert!(out.stderr.contains("--store"), "{}", out.stderr);
    let store = dir.path().join("store");
    run_ok(&["ingest".into(), s(&psexec), "--store".into(), s(&store)]);
    let out = lateral(&[
        "hunt",
        &s(&psexec),
        "--store",
        &s(&store),
        "--engine",
        "df://127.0.0.1:1",
    ]);
    assert_ne!(out.code, 0);
    assert!(
        out.stderr.contains("lateral ingest") && out.stderr.contains("cannot run on the cluster"),
        "{}",
        out.stderr
    );
    let out = lateral(&[
        "sql",
        "--store",
        &s(&store),
        "--engine",
        "http://127.0.0.1:1",
        "SELECT 1",
    ]);
    assert_ne!(out.code, 0);
    assert!(out.stderr.contains("df://HOST:PORT"), "{}", out.stderr);
}

#[test]
fn non_loopback_addresses_need_allow_remote() {
    for args in [
        &["cluster", "scheduler", "--bind", "0.0.0.0:50050"][..],
        &["cluster", "scheduler", "--bind", "192.0.2.1"][..],
        &["cluster", "executor", "--scheduler", "192.0.2.1:50050"][..],
        &[
            "cluster",
            "executor",
            "--scheduler",
            "127.0.0.1:50050",
            "--bind",
            "0.0.0.0",
        ][..],
    ] {
        let out = lateral(args);
        assert_ne!(out.code, 0, "{args:?}");
        assert!(
            out.stderr.contains("--allow-remote"),
            "{args:?}: {}",
            out.stderr
        );
    }
}

/// Kill one of the two executors while a query runs on the cluster. lateral's scheduler
/// cancels the jobs running when an executor leaves (Ballista 55's own recovery can hang or
/// count rows twice; docs/cluster.md), so the query either finishes with exactly the
/// embedded engine's rows (it was done before the loss was noticed) or fails with the
/// cancellation and a hint; it never hangs and never returns other rows. Kill times from
/// before the job is submitted to its last stage; every one must end within 90 s.
#[test]
fn killing_an_executor_during_a_query() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fleet = simulate(&["--events", "100000"], &dir.path().join("fleet"));
    let store = dir.path().join("store");
    run_ok(&["ingest".into(), s(&fleet), "--store".into(), s(&store)]);
    let statement = "SELECT \"principal.hostname\" AS h, count(*) AS n, count(DISTINCT \"lateral.raw\") AS raws FROM events GROUP BY 1 ORDER BY 1";
    let expected = sql(&store, None, statement);
    let (mut completed, mut failed) = (0, 0);
    for kill_after_ms in [300, 500, 700, 1000] {
        let run = dir.path().join(format!("kill{kill_after_ms}"));
        std::fs::create_dir_all(&run).expect("run folder");
        let mut cluster = Cluster::start(&run);
        let mut a = with_store(&["sql"], &store, Some(&cluster.url));
        a.extend([statement, "--format", "json"].map(String::from));
        let mut query = Command::new(env!("CARGO_BIN_EXE_lateral"))
            .args(&a)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the query");
        std::thread::sleep(Duration::from_millis(kill_after_ms));
        let victim = &mut cluster.executors[0];
        let _ = victim.kill();
        let _ = victim.wait();
        let started = Instant::now();
        let deadline = started + Duration::from_secs(90);
        loop {
            match query.try_wait() {
                Ok(Some(_)) => break,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(200))
                }
                _ => {
                    let _ = query.kill();
                    let log =
                        std::fs::read_to_string(run.join("scheduler.log")).unwrap_or_default();
                    panic!("kill at {kill_after_ms} ms: the query did not end within 90 s of the executor being killed; scheduler log:\n{log}");
                }
            }
        }
        let out = query.wait_with_output().expect("query output");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        eprintln!(
            "kill at {kill_after_ms} ms: the query ended {:.1} s after the kill with {}; stderr: {stderr}",
            started.elapsed().as_secs_f64(),
            out.status
        );
        if out.status.success() {
            let doc: Value = serde_json::from_str(&stdout).expect("JSON rows");
            assert_eq!(
                doc["rows"], expected,
                "kill at {kill_after_ms} ms: completed with a different answer"
            );
            completed += 1;
        } else {
            // Usually the cancellation with its hint; an executor killed before it ran any
            // task can also end the job through Ballista's own launch-failure path.
            assert!(
                stderr.contains("error:") && stderr.len() < 4000,
                "kill at {kill_after_ms} ms: unclear error: {stderr}"
            );
            if stderr.contains("failed: Cancelled") {
                assert!(
                    stderr.contains("hint: the scheduler cancelled the query because an executor left the cluster"),
                    "kill at {kill_after_ms} ms: cancellation without the hint: {stderr}"
                );
            }
            failed += 1;
        }
    }
    eprintln!("{completed} queries completed before the loss was noticed, {failed} were cancelled");
}
