//! Arbitrary bytes through the EVTX reader: it must report problems, never panic.
#![no_main]
use lateral_sources::{evtx::read_evtx, CollectSink, ReadOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut sink = CollectSink::default();
    let len = Some(data.len() as u64);
    let _ = read_evtx(
        std::io::Cursor::new(data.to_vec()),
        len,
        "fuzz.evtx",
        &ReadOptions::default(),
        &mut sink,
    );
    for (rec, prov, raw) in &sink.records {
        let _ = lateral_sources::to_event(rec, prov, raw.clone());
    }
});
