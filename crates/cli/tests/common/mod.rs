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
    let out = Command::new(env!("CARGO_BIN_EXE_lateral"))
        .args(args)
        .output()
        .expect("run lateral");
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Run a search with `--format json --all-time` and return the events.
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
