//! Baseline for the EVTX benchmarks: the `evtx` crate alone converting every record of every
//! `.evtx` file under the given paths to JSON (`EvtxParser::records_json`), files spread over
//! all cores with rayon. lateral's `search` over the same files is measured against it.
//!
//! Usage: `evtx-baseline PATH...` — prints files, records, errors, seconds and records/s.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use evtx::{EvtxParser, ParserSettings};
use rayon::prelude::*;

fn main() {
    let roots: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    if roots.is_empty() {
        eprintln!("usage: evtx-baseline PATH...");
        std::process::exit(2);
    }
    let files: Vec<PathBuf> = roots
        .iter()
        .flat_map(|r| walkdir::WalkDir::new(r).sort_by_file_name())
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .filter(|p| {
            p.extension()
                .is_some_and(|x| x.eq_ignore_ascii_case("evtx"))
        })
        .collect();
    let records = AtomicU64::new(0);
    let errors = AtomicU64::new(0);
    let bytes: u64 = files
        .iter()
        .filter_map(|f| std::fs::metadata(f).ok())
        .map(|m| m.len())
        .sum();
    let start = Instant::now();
    files.par_iter().for_each(|f| {
        let Ok(parser) = EvtxParser::from_path(f) else {
            errors.fetch_add(1, Ordering::Relaxed);
            return;
        };
        let mut parser = parser.with_configuration(ParserSettings::new().num_threads(1));
        for r in parser.records_json() {
            match r {
                Ok(rec) => {
                    std::hint::black_box(&rec.data);
                    records.fetch_add(1, Ordering::Relaxed);
                }
                Err(_) => {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    });
    let secs = start.elapsed().as_secs_f64();
    let n = records.load(Ordering::Relaxed);
    println!(
        "files={} records={} errors={} bytes={} seconds={:.3} records_per_s={:.0} mb_per_s={:.1}",
        files.len(),
        n,
        errors.load(Ordering::Relaxed),
        bytes,
        secs,
        n as f64 / secs.max(1e-9),
        bytes as f64 / 1e6 / secs.max(1e-9)
    );
}
