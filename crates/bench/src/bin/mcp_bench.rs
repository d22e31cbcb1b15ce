//! MCP server benchmark (issue 5 §6): about a million events held by `lateral mcp`, then
//! `search_security_events` with a selective query and `lookup_entity`, timed over stdio
//! JSON-RPC the way a client calls them, and the memory the server holds.
//!
//! The corpus is the `psexec-chain` story copied until it reaches the size asked for; each
//! copy renames its hosts (`SALES-PC` → `SALES-PC-0042`, ...), so a query for one host selects
//! one copy (about 0.01 % of the events), as a hunter's query for one workstation would.
//!
//! ```sh
//! cargo build --release -p lateral -p lateral-bench
//! target/release/mcp-bench [--events 1000000] [--work /tmp/lateral-mcp-bench] [--calls 50] [--no-raw]
//! ```

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

const HOSTS: [&str; 3] = ["SALES-PC", "MARKETING-PC", "KALI-ATTACK"];

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn rename(line: &str, copy: usize) -> String {
    let mut out = line.to_string();
    for h in HOSTS {
        let new = format!("{h}-{copy:04}");
        out = out
            .replace(h, &new)
            .replace(&h.to_ascii_lowercase(), &new.to_ascii_lowercase());
    }
    out
}

/// Write copies of the story until `events` lines; returns (lines, copies).
fn corpus(lateral: &Path, work: &Path, events: usize) -> Result<(usize, usize)> {
    let seed = work.join("seed");
    let out = work.join("corpus");
    let done = work.join("corpus.done");
    if let Ok(text) = std::fs::read_to_string(&done) {
        let mut parts = text.split_whitespace().filter_map(|p| p.parse().ok());
        if let (Some(l), Some(c)) = (parts.next(), parts.next()) {
            if l >= events {
                return Ok((l, c));
            }
        }
    }
    let status = Command::new(lateral)
        .args(["simulate", "--scenario", "psexec-chain", "--out"])
        .arg(&seed)
        .status()
        .context("run lateral simulate")?;
    if !status.success() {
        bail!("lateral simulate failed");
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(&seed)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    let mut lines = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f)?;
        lines.extend(text.lines().map(str::to_string));
    }
    if lines.is_empty() {
        bail!("the story has no events");
    }
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out)?;
    let (mut written, mut copy) = (0usize, 0usize);
    // 50 copies per file keeps the file count small.
    while written < events {
        let mut f = std::io::BufWriter::new(std::fs::File::create(
            out.join(format!("copies-{:04}.jsonl", copy / 50)),
        )?);
        for _ in 0..50 {
            if written >= events {
                break;
            }
            for l in &lines {
                writeln!(f, "{}", rename(l, copy))?;
            }
            written += lines.len();
            copy += 1;
        }
        f.flush()?;
    }
    std::fs::write(&done, format!("{written} {copy}"))?;
    Ok((written, copy))
}

struct Server {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    id: i64,
}

impl Server {
    fn request(&mut self, method: &str, params: Value) -> Result<Value> {
        self.id += 1;
        let msg = json!({"jsonrpc": "2.0", "id": self.id, "method": method, "params": params});
        writeln!(self.stdin, "{msg}")?;
        self.stdin.flush()?;
        loop {
            let mut line = String::new();
            if self.stdout.read_line(&mut line)? == 0 {
                bail!("the server closed stdout");
            }
            let v: Value = serde_json::from_str(&line)?;
            if v["id"] == json!(self.id) {
                return Ok(v);
            }
        }
    }

    fn call(&mut self, tool: &str, args: Value) -> Result<(Duration, Value)> {
        let t = Instant::now();
        let r = self.request("tools/call", json!({"name": tool, "arguments": args}))?;
        let took = t.elapsed();
        if r.get("error").is_some() || r["result"]["isError"] == json!(true) {
            bail!("{tool} failed: {r}");
        }
        Ok((took, r["result"].clone()))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn rss_mib(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|k| k.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn report(name: &str, mut times: Vec<Duration>) {
    times.sort();
    println!(
        "{name:<44} n={:<3} p50 {:>8.1} ms  p95 {:>8.1} ms  max {:>8.1} ms",
        times.len(),
        percentile(&times, 0.5).as_secs_f64() * 1e3,
        percentile(&times, 0.95).as_secs_f64() * 1e3,
        times.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
    );
}

fn total(r: &Value) -> u64 {
    r["structuredContent"]["result"]["events"]["total_events"]
        .as_u64()
        .unwrap_or(0)
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let events: usize = arg(&args, "--events")
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(1_000_000);
    let calls: usize = arg(&args, "--calls")
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(50);
    let work =
        PathBuf::from(arg(&args, "--work").unwrap_or_else(|| "/tmp/lateral-mcp-bench".into()));
    let here = std::env::current_exe()?;
    let lateral = arg(&args, "--lateral")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            here.parent()
                .map(|d| d.join("lateral"))
                .unwrap_or_else(|| PathBuf::from("lateral"))
        });
    std::fs::create_dir_all(&work)?;
    let t = Instant::now();
    let (lines, copies) = corpus(&lateral, &work, events)?;
    println!(
        "corpus: {lines} events in {copies} copies of psexec-chain ({:.1} s to write)",
        t.elapsed().as_secs_f64()
    );

    let db = work.join("cases.db");
    let _ = std::fs::remove_file(&db);
    let no_raw = args.iter().any(|a| a == "--no-raw");
    let mut child = Command::new(&lateral)
        .arg("mcp")
        .args(if no_raw { &["--no-raw"][..] } else { &[][..] })
        .arg("--evidence")
        .arg(work.join("corpus"))
        .arg("--db")
        .arg(&db)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("start lateral mcp")?;
    let pid = child.id();
    // The server's stderr goes on to ours; the line saying its background detection hunt
    // is done is also signalled, so the timed calls do not compete with it for the CPU.
    let (hunted_tx, hunted) = std::sync::mpsc::channel::<()>();
    let err = child.stderr.take().context("stderr")?;
    std::thread::spawn(move || {
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            eprintln!("{line}");
            if line.contains("detection hunt") {
                let _ = hunted_tx.send(());
            }
        }
    });
    let mut server = Server {
        stdin: child.stdin.take().context("stdin")?,
        stdout: BufReader::new(child.stdout.take().context("stdout")?),
        child,
        id: 0,
    };
    let t = Instant::now();
    server.request(
        "initialize",
        json!({"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "mcp-bench", "version": "0"}}),
    )?;
    let load = t.elapsed();
    let rss = rss_mib(pid);
    println!(
        "load: {:.1} s until initialize answered; RSS {:.0} MiB = {:.0} MiB per million events",
        load.as_secs_f64(),
        rss,
        rss * 1e6 / lines as f64
    );

    hunted
        .recv_timeout(Duration::from_secs(3600))
        .context("the server did not finish its detection hunt")?;
    println!(
        "detection hunt (in the background from start-up): done {:.1} s after initialize",
        (t.elapsed() - load).as_secs_f64()
    );

    let mut search = Vec::new();
    let mut hits = 0;
    for i in 0..calls {
        let copy = (i * 7919) % copies;
        let q = format!(
            r#"metadata.event_type = "PROCESS_LAUNCH" AND principal.hostname = "sales-pc-{copy:04}""#
        );
        let (d, r) = server.call(
            "search_security_events",
            json!({"text": q, "hours_back": 168, "max_events": 100}),
        )?;
        hits = total(&r);
        search.push(d);
    }
    report(
        &format!("search_security_events (one host, {hits} hits)"),
        search,
    );
    let mut english = Vec::new();
    for i in 0..calls.min(20) {
        let copy = (i * 104_729) % copies;
        let (d, _) = server.call(
            "search_security_events",
            json!({"text": format!("PSEXESVC install on sales-pc-{copy:04}"), "hours_back": 168}),
        )?;
        english.push(d);
    }
    report("search_security_events (plain English)", english);

    let (cold, _) = server.call(
        "lookup_entity",
        json!({"entity_value": "sales-pc-0000.corp.local", "hours_back": 168}),
    )?;
    println!(
        "lookup_entity first call                       {:>8.1} ms",
        cold.as_secs_f64() * 1e3
    );
    let mut lookups = Vec::new();
    for i in 0..calls.min(20) {
        let copy = (i * 7919 + 1) % copies;
        let value = match i % 3 {
            0 => format!("sales-pc-{copy:04}.corp.local"),
            1 => "10.0.0.130".to_string(),
            _ => format!("MARKETING-PC-{copy:04}"),
        };
        let (d, _) = server.call(
            "lookup_entity",
            json!({"entity_value": value, "hours_back": 168}),
        )?;
        lookups.push(d);
    }
    report("lookup_entity (host, busy IP, host)", lookups);
    println!("RSS after the calls: {:.0} MiB", rss_mib(pid));
    Ok(())
}
