//! Packet captures are evidence like any other: discovered by content (also inside .gz), read
//! through `lateral-pcap`, their UDM events handed to the sink.

use std::io::Write;
use std::path::{Path, PathBuf};

use lateral_model::{f, vocab::event_type as et};
use lateral_sources::{collect_events, ReadOptions};

fn shared_pcap(rel: &str) -> Option<PathBuf> {
    let root = std::env::var_os("LATERAL_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    let p = root.join("pcap").join(rel);
    if p.is_file() {
        return Some(p);
    }
    if std::env::var("LATERAL_REQUIRE_SHARED").as_deref() == Ok("1") {
        panic!(
            "shared data required (LATERAL_REQUIRE_SHARED=1) but not found at {}",
            p.display()
        );
    }
    eprintln!("skipping: shared data not found at {}", p.display());
    None
}

#[test]
fn captures_are_read_plain_and_gzipped() {
    let Some(pcap) = shared_pcap("401trg/20171220_smb_at_schedule.pcap") else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("lateral-pcap-src-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp");
    let data = std::fs::read(&pcap).expect("read");
    // Renamed and compressed: detection is by content.
    let gz = dir.join("evidence.bin.gz");
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).expect("gz"),
        flate2::Compression::fast(),
    );
    enc.write_all(&data).expect("write");
    enc.finish().expect("finish");
    for path in [pcap, gz] {
        let (events, issues) = collect_events(std::slice::from_ref(&path), &ReadOptions::default());
        assert!(issues.is_empty(), "{path:?}: {issues:?}");
        let job = events
            .iter()
            .find(|e| e.str(f::EVENT_TYPE) == Some(et::SCHEDULED_TASK_CREATION))
            .expect("the AT job from the capture");
        assert_eq!(job.str(f::TARGET_CMD), Some("c:\\mimikatz.exe"));
        assert_eq!(job.str(f::SOURCE_FORMAT), Some("PCAP"));
        assert_eq!(job.int(f::RECORD_NUMBER), Some(9));
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_truncated_capture_reports_the_frame_and_keeps_the_rest() {
    let Some(pcap) = shared_pcap("401trg/20171220_smb_at_schedule.pcap") else {
        return;
    };
    let data = std::fs::read(&pcap).expect("read");
    let dir = std::env::temp_dir().join(format!("lateral-pcap-cut-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp");
    let cut = dir.join("cut.pcap");
    std::fs::write(&cut, &data[..data.len() - 10]).expect("write");
    let (events, issues) = collect_events(&[cut], &ReadOptions::default());
    assert!(events
        .iter()
        .any(|e| e.str(f::EVENT_TYPE) == Some(et::SCHEDULED_TASK_CREATION)));
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert!(
        issues[0].message.starts_with("frame 20: capture truncated"),
        "{}",
        issues[0]
    );
    std::fs::remove_dir_all(&dir).ok();
}
