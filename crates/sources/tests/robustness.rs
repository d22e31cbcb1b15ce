//! Deterministic mutation testing of the readers (a stable-toolchain companion to the
//! `cargo fuzz` targets in fuzz/): corrupted, truncated and bit-flipped inputs must be
//! reported, never panic, and the rest of the input must still be read.

use std::path::{Path, PathBuf};

use lateral_sources::{
    discover, evtx::read_evtx, json::read_json, read_source, to_event, xml::read_xml, CollectSink,
    ReadOptions,
};

/// xorshift64*: a tiny deterministic generator, so failures reproduce.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn mutate(rng: &mut Rng, data: &[u8]) -> Vec<u8> {
    let mut d = data.to_vec();
    match rng.below(4) {
        0 => {
            let cut = rng.below(d.len());
            d.truncate(cut);
        }
        1 => {
            for _ in 0..1 + rng.below(16) {
                let i = rng.below(d.len());
                if let Some(b) = d.get_mut(i) {
                    *b ^= 1 << rng.below(8);
                }
            }
        }
        2 => {
            let start = rng.below(d.len());
            let len = rng.below(512).min(d.len() - start.min(d.len()));
            for b in d.iter_mut().skip(start).take(len) {
                *b = (rng.next() & 0xff) as u8;
            }
        }
        _ => {
            let i = rng.below(d.len());
            let j = rng.below(d.len());
            let (a, b) = (i.min(j), i.max(j));
            d.drain(a..b.min(a + 4096));
        }
    }
    d
}

fn map_all(sink: &CollectSink) {
    for (rec, prov, raw) in &sink.records {
        let _ = to_event(rec, prov, raw.clone());
    }
}

fn demo(name: &str) -> Vec<u8> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../demo")
        .join(name);
    std::fs::read(p).expect("demo file")
}

#[test]
fn mutated_json_and_xml_never_panic() {
    let mut rng = Rng(0x5eed_1234);
    let inputs = [
        (demo("ws01-security-sysmon.jsonl"), false),
        (demo("dc01-winlogbeat.ndjson"), false),
        (demo("srv02-wevtutil.xml"), true),
    ];
    for (data, xml) in &inputs {
        for _ in 0..300 {
            let m = mutate(&mut rng, data);
            let mut sink = CollectSink::default();
            if *xml {
                read_xml(&m[..], "m.xml", &ReadOptions::default(), &mut sink);
            } else {
                read_json(&m[..], "m.json", &ReadOptions::default(), &mut sink);
            }
            map_all(&sink);
        }
    }
}

fn shared_evtx() -> Option<Vec<PathBuf>> {
    let root = std::env::var_os("LATERAL_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    let dir = root.join("evtx/EVTX-ATTACK-SAMPLES/Lateral Movement");
    if !dir.is_dir() {
        if std::env::var("LATERAL_REQUIRE_SHARED").as_deref() == Ok("1") {
            panic!("shared data required but not found at {}", root.display());
        }
        eprintln!("skipping: shared data not found at {}", root.display());
        return None;
    }
    Some(
        [
            "LM_5145_Remote_FileCopy.evtx",
            "LM_wmiexec_impacket_sysmon_whoami.evtx",
            "LM_ScheduledTask_ATSVC_target_host.evtx",
        ]
        .iter()
        .map(|f| dir.join(f))
        .collect(),
    )
}

#[test]
fn mutated_evtx_never_panics_and_reports() {
    let Some(files) = shared_evtx() else { return };
    let mut rng = Rng(0xfeed_beef);
    let mut reported = 0usize;
    for f in &files {
        let data = std::fs::read(f).expect("read");
        for _ in 0..60 {
            let m = mutate(&mut rng, &data);
            let mut sink = CollectSink::default();
            let len = Some(m.len() as u64);
            read_evtx(
                std::io::Cursor::new(m),
                len,
                "m.evtx",
                &ReadOptions::default(),
                &mut sink,
            );
            map_all(&sink);
            reported += usize::from(!sink.issues.is_empty());
        }
    }
    assert!(
        reported > 0,
        "corruption must be reported at least sometimes"
    );
}

#[test]
fn a_flipped_record_costs_that_record_not_the_file() {
    let Some(files) = shared_evtx() else { return };
    let data = std::fs::read(&files[0]).expect("read");
    let mut clean = CollectSink::default();
    read_evtx(
        std::io::Cursor::new(data.clone()),
        Some(data.len() as u64),
        "c.evtx",
        &ReadOptions::default(),
        &mut clean,
    );
    // Damage the second chunk's header magic: that chunk is lost and reported, the others read.
    let mut bad = data.clone();
    let second = 4096 + 65536;
    bad[second..second + 8].copy_from_slice(b"XXXXXXXX");
    let mut sink = CollectSink::default();
    read_evtx(
        std::io::Cursor::new(bad),
        Some(data.len() as u64),
        "b.evtx",
        &ReadOptions::default(),
        &mut sink,
    );
    assert!(!sink.issues.is_empty(), "damaged chunk reported");
    assert!(
        sink.issues
            .iter()
            .any(|i| i.position.to_string().contains("chunk 1")),
        "{:?}",
        sink.issues
    );
    assert!(!sink.records.is_empty());
    assert!(sink.records.len() < clean.records.len());
}

#[test]
fn invalid_utf16_in_a_string_is_survived() {
    let Some(files) = shared_evtx() else { return };
    let data = std::fs::read(&files[1]).expect("read");
    // Overwrite a UTF-16LE "cmd.exe" in the record data with an unpaired high surrogate.
    let needle: Vec<u8> = "cmd.exe"
        .encode_utf16()
        .flat_map(|u| u.to_le_bytes())
        .collect();
    let pos = data
        .windows(needle.len())
        .position(|w| w == needle.as_slice())
        .expect("utf-16 string in sample");
    let mut bad = data.clone();
    bad[pos..pos + 2].copy_from_slice(&0xD800u16.to_le_bytes());
    let mut sink = CollectSink::default();
    read_evtx(
        std::io::Cursor::new(bad),
        Some(data.len() as u64),
        "u.evtx",
        &ReadOptions::default(),
        &mut sink,
    );
    let mut clean = CollectSink::default();
    read_evtx(
        std::io::Cursor::new(data.clone()),
        Some(data.len() as u64),
        "c.evtx",
        &ReadOptions::default(),
        &mut clean,
    );
    // Never silently dropped: a record that is lost is reported, and only that one is lost.
    let lost = clean.records.len().saturating_sub(sink.records.len());
    assert!(lost <= 1, "lost {lost} records: {:?}", sink.issues);
    assert!(
        lost == 0 || !sink.issues.is_empty(),
        "a lost record must be reported"
    );
}

#[test]
fn discovery_of_a_corrupt_zip_is_reported() {
    let dir = std::env::temp_dir().join(format!("lateral-zip-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(
        dir.join("bad.zip"),
        b"PK\x03\x04garbage that is not a zip archive",
    )
    .expect("write");
    let (sources, issues) = discover(std::slice::from_ref(&dir));
    assert!(sources.is_empty());
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert!(issues[0].file.ends_with("bad.zip"));
    let mut sink = CollectSink::default();
    for s in &sources {
        read_source(s, &ReadOptions::default(), &mut sink);
    }
    let _ = std::fs::remove_dir_all(dir);
}
