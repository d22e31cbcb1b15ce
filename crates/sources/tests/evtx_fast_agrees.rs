//! The typed EVTX fast path must give exactly what the general `Value` converter gives, on
//! every record of every shared EVTX sample.

use evtx::EvtxParser;
use lateral_sources::evtx_fast::record_from_json_bytes;
use lateral_sources::evtx_json::record_from_event_json;

#[test]
fn fast_path_agrees_on_every_shared_record() {
    let Some(dir) = lateral_testdata::shared("evtx") else {
        return;
    };
    let mut checked = 0;
    for entry in walkdir::WalkDir::new(&dir).sort_by_file_name() {
        let Ok(entry) = entry else { continue };
        if entry.path().extension().is_none_or(|e| e != "evtx") {
            continue;
        }
        let mut parser = EvtxParser::from_path(entry.path()).expect("open sample");
        for rec in parser.records_json().flatten() {
            let v: serde_json::Value = serde_json::from_str(&rec.data).expect("json");
            let slow = record_from_event_json(&v);
            let fast = record_from_json_bytes(rec.data.as_bytes());
            assert_eq!(
                fast,
                slow,
                "{} record {}",
                entry.path().display(),
                rec.event_record_id
            );
            checked += 1;
        }
    }
    assert!(checked >= 1356, "only {checked} records checked");
}
