//! Helpers shared by the end-to-end tests: locating the shared attack data and running the
//! binary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The shared data folder (`LATERAL_SHARED_DATA`, else `../shared/data` from the repository
/// root). `None` (with a message) when absent; a panic when `LATERAL_REQUIRE_SHARED=1`.
pub fn shared_data() -> Option<PathBuf> {
    lateral_testdata::shared_data()
}

/// `lateral simulate ARGS... --out OUT`, insisting it succeeds; returns OUT.
pub fn simulate(args: &[&str], out: &Path) -> PathBuf {
    let mut a: Vec<String> = vec!["simulate".into()];
    a.extend(args.iter().map(|x| x.to_string()));
    a.extend(["--out".into(), out.display().to_string()]);
    run_ok(&a);
    out.to_path_buf()
}

pub fn lm(data: &Path, file: &str) -> PathBuf {
    data.join("evtx/EVTX-ATTACK-SAMPLES/Lateral Movement")
        .join(file)
}

pub fn repo_root() -> PathBuf {
    lateral_testdata::repo_root()
}

pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!("stdout is not JSON ({e}): {}\n{}", self.stdout, self.stderr)
        })
    }
}

pub fn lateral(args: &[&str]) -> Output {
    lateral_env(args, &[])
}

/// Run a search with `--format json --all-time` and return the events.
/// Run the binary with `args` and insist it exits 0.
pub fn run_ok(args: &[String]) -> Output {
    run_ok_env(args, &[])
}

/// `v` without the keys that measure a run (elapsed times, timings, generation time), at any
/// depth, and without the `extra` keys, so two runs' outputs compare equal.
pub fn scrub_timings(v: serde_json::Value, extra: &[&str]) -> serde_json::Value {
    use serde_json::Value;
    const TIMINGS: [&str; 6] = [
        "generated_at",
        "elapsed_ms",
        "duration_ms",
        "timings",
        "ms",
        "seconds",
    ];
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(k, _)| !TIMINGS.contains(&k.as_str()) && !extra.contains(&k.as_str()))
                .map(|(k, v)| (k, scrub_timings(v, extra)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(|v| scrub_timings(v, extra)).collect()),
        other => other,
    }
}

pub fn search_events(paths: &[&Path], query: &str) -> Vec<serde_json::Value> {
    let mut args: Vec<String> = vec!["search".into()];
    args.extend(paths.iter().map(|p| p.display().to_string()));
    args.extend(["--all-time", "--format", "json", "--query", query].map(String::from));
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = lateral(&argv);
    assert_eq!(out.code, 0, "search failed: {}", out.stderr);
    let doc = out.json();
    doc["events"].as_array().cloned().unwrap_or_default()
}

/// A nested field of an event by dotted path.
pub fn get<'a>(event: &'a serde_json::Value, path: &str) -> &'a serde_json::Value {
    path.split('.').fold(event, |v, k| &v[k])
}

pub fn s<'a>(event: &'a serde_json::Value, path: &str) -> &'a str {
    get(event, path).as_str().unwrap_or("")
}

/// The seed queries of the lateral-movement runbook (`lateral_movement_hunt_psexec_wmi`, with
/// the skill form's variants), verbatim as the runbook gives them to
/// `search_security_events`: (what it looks for, query). `runbook_queries.rs` checks them on
/// the shared attack data, `mcp_e2e.rs` replays them through `lateral mcp`.
pub const RUNBOOK_QUERIES: [(&str, &str); 8] = [
    (
        "PsExec service install",
        r#"metadata.product_event_type = "ServiceInstalled" AND target.process.file.full_path CONTAINS "PSEXESVC.exe""#,
    ),
    (
        "services.exe children (PsExec indirect)",
        r#"metadata.event_type = "PROCESS_LAUNCH" AND principal.process.file.full_path = "C:\Windows\System32\services.exe" AND target.process.file.full_path NOT IN ("standard_service_process1.exe", "standard_service_process2.exe")"#,
    ),
    (
        "WMI process creation",
        r#"metadata.event_type = "PROCESS_LAUNCH" AND principal.process.file.full_path = "C:\Windows\System32\wbem\WmiPrvSE.exe""#,
    ),
    (
        "WmiPrvSE spawning shells (skill)",
        r#"metadata.event_type = "PROCESS_LAUNCH" AND principal.process.file.full_path = "C:\Windows\System32\wbem\WmiPrvSE.exe" AND target.process.file.full_path IN ("cmd.exe", "powershell.exe")"#,
    ),
    (
        "wmic /node: process call create",
        r#"metadata.event_type = "PROCESS_LAUNCH" AND principal.process.file.full_path = "C:\Windows\System32\cmd.exe" AND principal.process.command_line CONTAINS "wmic" AND principal.process.command_line CONTAINS "/node:" AND principal.process.command_line CONTAINS "process call create""#,
    ),
    (
        "WMI event subscription",
        r#"metadata.event_type = "WMI_ACTIVITY" AND description CONTAINS "__EventFilter""#,
    ),
    (
        "PowerShell WMI method",
        r#"metadata.event_type = "PROCESS_LAUNCH" AND target.process.file.full_path CONTAINS "powershell.exe" AND target.process.command_line CONTAINS "Invoke-WmiMethod""#,
    ),
    (
        "PowerShell WMI or CIM method (skill)",
        r#"metadata.event_type = "PROCESS_LAUNCH" AND target.process.file.full_path CONTAINS "powershell.exe" AND (target.process.command_line CONTAINS "Invoke-WmiMethod" OR target.process.command_line CONTAINS "Invoke-CimMethod")"#,
    ),
];

/// The runbook's network-correlation query (SMB from a source to a target address).
pub fn runbook_smb_query(target_ip: &str, source_ip: &str) -> String {
    format!(
        r#"metadata.event_type = "NETWORK_CONNECTION" AND target.port = 445 AND target.ip = "{target_ip}" AND principal.ip = "{source_ip}""#
    )
}

/// `lateral mcp` started as a subprocess and spoken to over stdio, JSON-RPC lines, the way
/// Cline does; killed when dropped.
pub struct McpStdio {
    child: std::process::Child,
    stdin: std::process::ChildStdin,
    stdout: std::io::BufReader<std::process::ChildStdout>,
    next_id: i64,
}

impl McpStdio {
    /// `lateral mcp ARGS...` (no HTTP token in its environment; stderr shown).
    pub fn spawn(args: &[&str]) -> McpStdio {
        use std::process::Stdio;
        let mut child = Command::new(env!("CARGO_BIN_EXE_lateral"))
            .arg("mcp")
            .args(args)
            .env_remove("LATERAL_MCP_TOKEN")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start lateral mcp");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = std::io::BufReader::new(child.stdout.take().expect("stdout"));
        McpStdio {
            child,
            stdin,
            stdout,
            next_id: 0,
        }
    }

    pub fn send(&mut self, msg: &serde_json::Value) {
        use std::io::Write;
        let line = serde_json::to_string(msg).expect("json");
        writeln!(self.stdin, "{line}").expect("write");
        self.stdin.flush().expect("flush");
    }

    /// Send a request and return the answer with its id (notifications in between skipped).
    pub fn request(&mut self, method: &str, params: serde_json::Value) -> serde_json::Value {
        use std::io::BufRead;
        self.next_id += 1;
        let id = self.next_id;
        self.send(
            &serde_json::json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}),
        );
        loop {
            let mut line = String::new();
            let n = self.stdout.read_line(&mut line).expect("read");
            assert!(n > 0, "server closed stdout while waiting for {method}");
            let msg: serde_json::Value = serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("not JSON on stdout ({e}): {line}"));
            if msg["id"] == serde_json::json!(id) {
                return msg;
            }
        }
    }

    /// `initialize` with `version`, then `notifications/initialized`; returns the answer.
    pub fn initialize(&mut self, version: &str) -> serde_json::Value {
        let r = self.request(
            "initialize",
            serde_json::json!({"protocolVersion": version, "capabilities": {}, "clientInfo": {"name": "Cline", "version": "3.17"}}),
        );
        self.send(&serde_json::json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        r
    }

    /// `tools/call`; a protocol error fails the test. Returns the result.
    pub fn call(&mut self, tool: &str, args: serde_json::Value) -> serde_json::Value {
        let r = self.request(
            "tools/call",
            serde_json::json!({"name": tool, "arguments": args}),
        );
        assert!(r.get("error").is_none(), "{tool}: protocol error {r}");
        r["result"].clone()
    }
}

impl Drop for McpStdio {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `lateral ARGS` with extra environment variables.
pub fn lateral_env(args: &[&str], env: &[(String, String)]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_lateral"))
        .args(args)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .expect("run lateral");
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// [`run_ok`] with extra environment variables.
pub fn run_ok_env(args: &[String], env: &[(String, String)]) -> Output {
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = lateral_env(&argv, env);
    assert_eq!(out.code, 0, "lateral {}: {}", args.join(" "), out.stderr);
    out
}

/// `lateral store push --store STORE URL` with the bucket's environment, insisting it succeeds.
pub fn push_store(store: &Path, url: &str, env: &[(String, String)]) -> Output {
    run_ok_env(
        &[
            "store".into(),
            "push".into(),
            "--store".into(),
            store.display().to_string(),
            url.to_string(),
        ],
        env,
    )
}

/// An S3-compatible service for the tests: moto's server (`pip install 'moto[server]'`) on a
/// free loopback port, with one bucket, killed on drop.
pub struct S3 {
    child: std::process::Child,
    pub endpoint: String,
    pub bucket: String,
}

impl S3 {
    /// Start moto's server (`moto_server` on PATH, or the program `LATERAL_MOTO_SERVER` names)
    /// with `bucket` created. `None`, with a message, when it is not installed; a panic then
    /// when `LATERAL_REQUIRE_S3=1` (as `.ci/run`, which installs it, sets).
    pub fn start(bucket: &str) -> Option<S3> {
        let program = std::env::var_os("LATERAL_MOTO_SERVER")
            .map(PathBuf::from)
            .or_else(|| {
                std::env::split_paths(&std::env::var_os("PATH")?)
                    .map(|d| d.join("moto_server"))
                    .find(|p| p.is_file())
            });
        let Some(program) = program else {
            let msg = "no S3 emulator: moto_server is not installed (pip install 'moto[server]')";
            if std::env::var("LATERAL_REQUIRE_S3").as_deref() == Ok("1") {
                panic!("{msg}, and LATERAL_REQUIRE_S3=1");
            }
            eprintln!("skipping: {msg}");
            return None;
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let mut child = Command::new(&program)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("{} exited ({status}) before listening", program.display());
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{} is not listening on {port} after 60 s",
                program.display()
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let s3 = S3 {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
            bucket: bucket.to_string(),
        };
        s3.create_bucket(port);
        Some(s3)
    }

    /// `PUT /BUCKET` (path style; the emulator does not check signatures).
    fn create_bucket(&self, port: u16) {
        use std::io::{Read, Write};
        let mut c = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
        write!(
            c,
            "PUT /{} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.bucket
        )
        .expect("send");
        let mut reply = String::new();
        c.read_to_string(&mut reply).expect("reply");
        assert!(
            reply.starts_with("HTTP/1.1 200") || reply.starts_with("HTTP/1.0 200"),
            "cannot create bucket {}: {reply}",
            self.bucket
        );
    }

    /// The environment a client needs (as an operator would set it for a MinIO or Ceph).
    pub fn env(&self) -> Vec<(String, String)> {
        [
            ("AWS_ENDPOINT_URL", self.endpoint.as_str()),
            ("AWS_ACCESS_KEY_ID", "lateral-test"),
            ("AWS_SECRET_ACCESS_KEY", "lateral-test"),
            ("AWS_REGION", "us-east-1"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    /// `s3://BUCKET/PREFIX`.
    pub fn url(&self, prefix: &str) -> String {
        format!("s3://{}/{prefix}", self.bucket)
    }
}

impl Drop for S3 {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `v` with every string equal to `from` replaced by `to` (the store's location).
pub fn relocate(v: serde_json::Value, from: &str, to: &str) -> serde_json::Value {
    match v {
        serde_json::Value::String(x) if x == from => serde_json::Value::String(to.to_string()),
        serde_json::Value::Object(m) => serde_json::Value::Object(
            m.into_iter()
                .map(|(k, v)| (k, relocate(v, from, to)))
                .collect(),
        ),
        serde_json::Value::Array(a) => {
            serde_json::Value::Array(a.into_iter().map(|v| relocate(v, from, to)).collect())
        }
        other => other,
    }
}
