use lateral_model::{Provenance, UdmEvent};
use lateral_sources::xml::read_xml;
use lateral_sources::{Flow, ReadIssue, ReadOptions, RecordSink, WinRecord};
struct Count(u64, u64);
impl RecordSink for Count {
    fn record(&mut self, r: WinRecord, _p: Provenance, _raw: Option<String>) -> Flow {
        self.0 += r.data.len() as u64 + 1;
        Flow::Continue
    }
    fn udm(&mut self, _e: UdmEvent) -> Flow {
        Flow::Continue
    }
    fn issue(&mut self, _i: ReadIssue) {
        self.1 += 1;
    }
}
#[test]
fn perf() {
    let one = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/wevtutil_export.xml"
    ))
    .unwrap();
    let mut big = Vec::new();
    while big.len() < 100 << 20 {
        big.extend_from_slice(&one);
    }
    let t = std::time::Instant::now();
    let mut c = Count(0, 0);
    read_xml(
        std::io::BufReader::new(big.as_slice()),
        "x",
        &ReadOptions {
            want_raw: false,
            evtx_threads: 1,
        },
        &mut c,
    );
    eprintln!(
        "{} MB in {:?}: {} values, {} issues",
        big.len() >> 20,
        t.elapsed(),
        c.0,
        c.1
    );
}
