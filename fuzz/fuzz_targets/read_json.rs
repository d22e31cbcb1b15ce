//! Arbitrary bytes through the JSON reader (every dialect) and the mapping.
#![no_main]
use lateral_sources::{json::read_json, CollectSink, ReadOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut sink = CollectSink::default();
    let _ = read_json(data, "fuzz.json", &ReadOptions::default(), &mut sink);
    for (rec, prov, raw) in &sink.records {
        let _ = lateral_sources::to_event(rec, prov, raw.clone());
    }
});
