//! Shared helpers: scratch directories and reading a scenario back through lateral-sources.
#![allow(dead_code)] // each test binary uses its own subset

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use lateral_model::{f, UdmEvent};
use lateral_simulate::Generated;

/// A fresh, empty directory under the system temp dir, unique to this process and call.
pub fn scratch(label: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let n = N.fetch_add(1, Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!(
        "lateral-simulate-{label}-{}-{n}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// Generate `name` into a scratch dir and read it back as UDM events; asserts a clean read.
/// The directory is removed afterwards (the events are in memory).
pub fn generate_and_read(name: &str) -> (Generated, Vec<UdmEvent>) {
    let dir = scratch(name);
    let g = lateral_simulate::generate(name, &dir).expect("generate");
    let (events, issues) = lateral_sources::collect_events(
        std::slice::from_ref(&dir),
        &lateral_sources::ReadOptions::default(),
    );
    assert!(issues.is_empty(), "read issues: {issues:#?}");
    assert_eq!(events.len(), g.events, "every written event is read back");
    let _ = std::fs::remove_dir_all(&dir);
    (g, events)
}

pub fn str_of(e: &UdmEvent, field: lateral_model::Field) -> &str {
    e.str(field).unwrap_or("")
}

/// Short lower-case host name of the logging computer.
pub fn host(e: &UdmEvent) -> String {
    str_of(e, f::OBSERVER_HOSTNAME)
        .split('.')
        .next()
        .unwrap_or("")
        .to_ascii_lowercase()
}

pub fn is_sysmon(e: &UdmEvent) -> bool {
    str_of(e, f::CHANNEL) == "Microsoft-Windows-Sysmon/Operational"
}

pub fn event_id(e: &UdmEvent) -> i64 {
    e.int(f::EVENT_ID).unwrap_or(-1)
}

pub fn ends_with_ci(s: &str, suffix: &str) -> bool {
    s.to_ascii_lowercase()
        .ends_with(&suffix.to_ascii_lowercase())
}
