//! The files themselves: byte-identical across runs, valid JSON lines in the NXLog shape, in
//! time order with record numbers counting up per channel, and small.

mod common;

use std::collections::BTreeMap;

use lateral_simulate::{generate, SimulateError, SCENARIOS};
use serde_json::Value;

#[test]
fn the_same_call_writes_the_same_bytes() {
    for s in SCENARIOS {
        let (da, db) = (
            common::scratch(&format!("{}-a", s.name)),
            common::scratch(&format!("{}-b", s.name)),
        );
        let a = generate(s.name, &da).unwrap();
        let b = generate(s.name, &db).unwrap();
        assert_eq!(a.events, b.events);
        assert_eq!(a.files.len(), b.files.len());
        for (fa, fb) in a.files.iter().zip(&b.files) {
            assert_eq!(fa.file_name(), fb.file_name());
            let (ba, bb) = (std::fs::read(fa).unwrap(), std::fs::read(fb).unwrap());
            assert!(ba == bb, "{} differs between runs", fa.display());
        }
        let _ = std::fs::remove_dir_all(&da);
        let _ = std::fs::remove_dir_all(&db);
    }
}

#[test]
fn every_line_is_a_flattened_nxlog_record_in_order() {
    for s in SCENARIOS {
        let dir = common::scratch(s.name);
        let g = generate(s.name, &dir).unwrap();
        let mut total = 0usize;
        let mut bytes = 0u64;
        for file in &g.files {
            let name = file.file_name().unwrap().to_string_lossy().to_string();
            assert!(name.ends_with("-windows.jsonl"), "{name}");
            let text = std::fs::read_to_string(file).unwrap();
            bytes += text.len() as u64;
            let mut last_time = String::new();
            let mut last_record: BTreeMap<String, u64> = BTreeMap::new();
            for (i, line) in text.lines().enumerate() {
                let v: Value = serde_json::from_str(line)
                    .unwrap_or_else(|e| panic!("{name}:{}: invalid JSON: {e}", i + 1));
                let o = v.as_object().expect("object per line");
                let ts = o["@timestamp"].as_str().unwrap();
                assert_eq!(ts.len(), 24, "{ts}");
                assert!(ts.ends_with('Z') && ts.as_bytes()[19] == b'.', "{ts}");
                assert!(ts >= last_time.as_str(), "{name}:{} out of order", i + 1);
                last_time = ts.to_string();
                assert!(o["EventID"].is_u64());
                assert!(o["EventTime"].as_str().unwrap().len() == 19);
                let host = o["Hostname"].as_str().unwrap();
                assert!(host.contains('.'), "FQDN expected: {host}");
                let channel = o["Channel"].as_str().unwrap().to_string();
                assert!(o["SourceName"].is_string());
                let rec = o["RecordNumber"].as_u64().unwrap();
                if let Some(prev) = last_record.insert(channel.clone(), rec) {
                    assert_eq!(rec, prev + 1, "{name}:{} {channel} record numbers", i + 1);
                }
                if channel.contains("Sysmon") {
                    let utc = o["UtcTime"].as_str().unwrap();
                    assert_eq!(
                        utc.replace(' ', "T") + "Z",
                        ts,
                        "UtcTime matches @timestamp"
                    );
                }
                if let Some(lt) = o.get("LogonType") {
                    assert!(lt.is_string());
                }
                for k in ["TargetLogonId", "SubjectLogonId", "LogonId"] {
                    if let Some(id) = o.get(k).and_then(Value::as_str) {
                        assert!(id.starts_with("0x"), "{k} {id}");
                    }
                }
                total += 1;
            }
        }
        assert_eq!(total, g.events);
        assert!(bytes < 2 * 1024 * 1024, "{}: {bytes} bytes", s.name);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn unknown_scenarios_are_refused_with_the_known_names() {
    let dir = common::scratch("nope");
    let err = generate("nope", &dir).unwrap_err();
    let _ = std::fs::remove_dir_all(&dir);
    match &err {
        SimulateError::UnknownScenario { name, known } => {
            assert_eq!(name, "nope");
            assert_eq!(known, &["serhatg", "wmi-spread", "psexec-chain"]);
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(err.to_string().contains("psexec-chain"));
}

#[test]
fn scenarios_are_described() {
    for s in SCENARIOS {
        assert!(
            !s.summary.is_empty() && !s.expected.is_empty(),
            "{}",
            s.name
        );
    }
}
