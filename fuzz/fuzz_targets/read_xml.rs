//! Arbitrary bytes through the Windows event XML reader and the mapping.
#![no_main]
use lateral_sources::{xml::read_xml, CollectSink, ReadOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut sink = CollectSink::default();
    let _ = read_xml(data, "fuzz.xml", &ReadOptions::default(), &mut sink);
    for (rec, prov, raw) in &sink.records {
        let _ = lateral_sources::to_event(rec, prov, raw.clone());
    }
});
