//! Bad input never panics: truncated captures, flipped bits, garbage, absurd lengths. Every
//! problem is reported with a frame and offset, and reading goes on.

use std::path::{Path, PathBuf};

use lateral_pcap::{read_capture, summarize};

/// A small deterministic generator (xorshift), so failures reproduce.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn shared_pcaps() -> Option<Vec<PathBuf>> {
    let root = std::env::var_os("LATERAL_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    let dir = root.join("pcap");
    if !dir.is_dir() {
        if std::env::var("LATERAL_REQUIRE_SHARED").as_deref() == Ok("1") {
            panic!(
                "shared data required (LATERAL_REQUIRE_SHARED=1) but not found at {}",
                root.display()
            );
        }
        eprintln!("skipping: shared data not found at {}", root.display());
        return None;
    }
    Some(
        [
            "401trg/20171220_smb_psexec_add_user.pcap",
            "401trg/20171220_smb_metasploit_psexec_pth_download_meterpreter.pcap",
            "401trg/20171220_smb_at_schedule.pcap",
            "suricata-verify/tests/dcerpc/dcerpc-smb-ctxid/input.pcap",
            "suricata-verify/tests/dcerpc/dcerpc-ctxids/input.pcap",
        ]
        .iter()
        .map(|f| dir.join(f))
        .collect(),
    )
}

#[test]
fn truncated_shared_captures_report_the_cut_and_keep_what_was_read() {
    let Some(files) = shared_pcaps() else { return };
    let data = std::fs::read(&files[0]).expect("read");
    let full = read_capture(&data, "full.pcap");
    let mut rng = Rng(0x5eed_1234);
    for _ in 0..40 {
        let cut = 24 + rng.below(data.len() - 24);
        let r = read_capture(&data[..cut], "cut.pcap");
        assert!(r.stats.frames <= full.stats.frames);
        if cut < data.len() {
            let last = r.issues.last().expect("the cut is reported");
            assert!(
                last.message.contains("truncated") || last.message.contains("bad"),
                "{last}"
            );
            assert_eq!(
                last.frame,
                r.stats.frames + 1,
                "the issue names the frame that was cut"
            );
        }
        let _ = summarize(&r.events);
    }
    // The cut capture keeps everything before the cut: the service creation (frame 160) survives
    // a cut after frame 200.
    let r = read_capture(&data[..data.len() * 3 / 4], "cut.pcap");
    assert!(r
        .events
        .iter()
        .any(|e| e.str(lateral_model::f::TARGET_APPLICATION) == Some("PSEXESVC")));
}

#[test]
fn bit_flipped_shared_captures_never_panic() {
    let Some(files) = shared_pcaps() else { return };
    let mut rng = Rng(0xfeed_beef);
    for f in &files {
        let data = std::fs::read(f).expect("read");
        for round in 0..25 {
            let mut m = data.clone();
            let flips = 1 + rng.below(64);
            for _ in 0..flips {
                // Spare the file header half of the time so the packet decoders are exercised.
                let lo = if round % 2 == 0 { 24 } else { 0 };
                let i = lo + rng.below(m.len() - lo);
                m[i] ^= 1 << rng.below(8);
            }
            if round % 5 == 0 {
                // Overwrite a run with 0xff: absurd lengths everywhere.
                let at = 24 + rng.below(m.len() - 64);
                for b in &mut m[at..at + 40] {
                    *b = 0xff;
                }
            }
            let r = read_capture(&m, "mutated.pcap");
            let _ = summarize(&r.events);
            for i in &r.issues {
                assert!(!i.message.is_empty());
            }
        }
    }
}

#[test]
fn garbage_and_tiny_inputs_are_reported_not_fatal() {
    for data in [
        &b""[..],
        &b"\xd4\xc3\xb2\xa1"[..],
        &b"\x0a\x0d\x0d\x0a\xff\xff\xff\xff"[..],
        &b"not a capture at all"[..],
        &[0u8; 100][..],
    ] {
        let r = read_capture(data, "junk");
        assert!(!r.issues.is_empty(), "{data:?} gives an issue");
        assert_eq!(r.stats.frames, 0);
    }
    let mut rng = Rng(42);
    for _ in 0..200 {
        let n = rng.below(600);
        let mut v: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
        if v.len() >= 4 {
            let magic: &[u8] = if rng.below(2) == 0 {
                b"\xd4\xc3\xb2\xa1"
            } else {
                b"\x0a\x0d\x0d\x0a"
            };
            v[..4].copy_from_slice(magic);
        }
        let _ = read_capture(&v, "random");
    }
}

#[test]
fn every_decoder_survives_random_bytes() {
    // The same calls as the `pcap_decoders` fuzz target, on a deterministic corpus.
    let mut rng = Rng(7);
    let handles = Default::default();
    for _ in 0..3000 {
        let n = rng.below(400);
        let mut data: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
        if n > 16 && rng.below(3) == 0 {
            data[..8].copy_from_slice(b"NTLMSSP\0");
            data[8] = 1 + rng.below(3) as u8;
            data[9..12].fill(0);
        }
        let _ = lateral_pcap::ntlmssp::find_message(&data);
        let _ = lateral_pcap::kerberos::parse(&data);
        let _ = lateral_pcap::kerberos::find_ap_req(&data);
        let _ = lateral_pcap::ndr::epm_endpoints(&data);
        let _ = lateral_pcap::ndr::wire_strings(&data);
        for (iface, op) in [
            ("svcctl", 12u16),
            ("svcctl", 24),
            ("svcctl", 45),
            ("svcctl", 11),
            ("svcctl", 15),
            ("svcctl", 16),
            ("atsvc", 0),
            ("ITaskSchedulerService", 1),
            ("ISystemActivator", 4),
            ("IDispatch", 6),
        ] {
            let _ = lateral_pcap::ndr::decode_request(
                iface,
                op,
                rng.below(2) == 0,
                &data,
                &handles,
                &[],
            );
        }
    }
}
