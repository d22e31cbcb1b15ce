//! Bad input never panics: truncated captures, flipped bits, garbage, absurd lengths. Every
//! problem is reported with a frame and offset, and reading goes on.

use std::path::PathBuf;

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
    let dir = lateral_testdata::shared("pcap")?;
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

/// One classic pcap record: seconds, microseconds, original length, captured bytes.
type Record<'a> = (u32, u32, u32, &'a [u8]);

/// The link type and records of a little-endian classic pcap.
fn records(classic: &[u8]) -> (u32, Vec<Record<'_>>) {
    let le = |b: &[u8], o: usize| u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]);
    let linktype = le(classic, 20);
    let mut out = Vec::new();
    let mut off = 24;
    while off + 16 <= classic.len() {
        let incl = le(classic, off + 8) as usize;
        let data = &classic[off + 16..off + 16 + incl];
        out.push((
            le(classic, off),
            le(classic, off + 4),
            le(classic, off + 12),
            data,
        ));
        off += 16 + incl;
    }
    (linktype, out)
}

/// The same packets as a pcapng file (one section, one interface, enhanced packet blocks), in
/// either byte order.
fn to_pcapng(classic: &[u8], big: bool) -> Vec<u8> {
    let w32 = |v: &mut Vec<u8>, x: u32| {
        v.extend_from_slice(&if big {
            x.to_be_bytes()
        } else {
            x.to_le_bytes()
        })
    };
    let w16 = |v: &mut Vec<u8>, x: u16| {
        v.extend_from_slice(&if big {
            x.to_be_bytes()
        } else {
            x.to_le_bytes()
        })
    };
    let (linktype, recs) = records(classic);
    let mut v = Vec::new();
    // Section header block.
    w32(&mut v, 0x0a0d_0d0a);
    w32(&mut v, 28);
    w32(&mut v, 0x1a2b_3c4d);
    w16(&mut v, 1);
    w16(&mut v, 0);
    v.extend_from_slice(&[0xff; 8]);
    w32(&mut v, 28);
    // Interface description block.
    w32(&mut v, 1);
    w32(&mut v, 20);
    w16(&mut v, linktype as u16);
    w16(&mut v, 0);
    w32(&mut v, 262_144);
    w32(&mut v, 20);
    for (sec, usec, orig, data) in recs {
        let padded = data.len().div_ceil(4) * 4;
        let len = (32 + padded) as u32;
        let ts = sec as u64 * 1_000_000 + usec as u64;
        w32(&mut v, 6);
        w32(&mut v, len);
        w32(&mut v, 0);
        w32(&mut v, (ts >> 32) as u32);
        w32(&mut v, ts as u32);
        w32(&mut v, data.len() as u32);
        w32(&mut v, orig);
        v.extend_from_slice(data);
        v.resize(v.len() + padded - data.len(), 0);
        w32(&mut v, len);
    }
    v
}

/// Hands out at most `step` bytes per read, as a slow pipe or archive stream would.
struct Trickle<'a> {
    data: &'a [u8],
    step: usize,
    /// Fail with an I/O error once this many bytes have been read.
    fail_at: Option<usize>,
    read: usize,
}

impl std::io::Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.fail_at.is_some_and(|f| self.read >= f) {
            return Err(std::io::Error::other("device went away"));
        }
        let n = self.step.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        self.read += n;
        Ok(n)
    }
}

#[test]
fn streamed_pcap_and_pcapng_give_what_the_whole_file_gives() {
    let Some(files) = shared_pcaps() else { return };
    let data = std::fs::read(&files[0]).expect("read");
    let whole = read_capture(&data, "x.pcap");
    assert!(whole.stats.frames > 100 && whole.issues.is_empty());
    let summary = summarize(&whole.events);
    assert!(summary
        .services
        .iter()
        .any(|s| s.name.as_deref() == Some("PSEXESVC")));

    for step in [1, 7, 4096] {
        let r = lateral_pcap::read_capture_from(
            Trickle {
                data: &data,
                step,
                fail_at: None,
                read: 0,
            },
            "x.pcap",
        );
        assert_eq!(r.stats, whole.stats, "step {step}");
        assert_eq!(r.events, whole.events, "step {step}");
    }
    for big in [false, true] {
        let ng = to_pcapng(&data, big);
        for step in [3, 1 << 16] {
            let r = lateral_pcap::read_capture_from(
                Trickle {
                    data: &ng,
                    step,
                    fail_at: None,
                    read: 0,
                },
                "x.pcap",
            );
            assert!(r.issues.is_empty(), "{:?}", r.issues);
            assert_eq!(r.stats.frames, whole.stats.frames, "big-endian {big}");
            assert_eq!(r.stats.events, whole.stats.events, "big-endian {big}");
            // Same content; only the byte offsets in provenance differ between the formats.
            assert_eq!(summarize(&r.events), summary, "big-endian {big}");
        }
        // Cut inside a block: the block is named, everything before it kept.
        let cut = &ng[..ng.len() - 10];
        let r = read_capture(cut, "cut.pcapng");
        assert_eq!(r.stats.frames, whole.stats.frames - 1);
        let last = r.issues.last().expect("the cut is reported");
        assert!(
            last.message.starts_with("capture truncated: block of"),
            "{last}"
        );
        assert_eq!(last.frame, whole.stats.frames);
    }
}

#[test]
fn a_read_error_midway_is_reported_with_its_offset_and_keeps_what_was_read() {
    let Some(files) = shared_pcaps() else { return };
    let data = std::fs::read(&files[0]).expect("read");
    let half = data.len() / 2;
    let r = lateral_pcap::read_capture_from(
        Trickle {
            data: &data,
            step: 1000,
            fail_at: Some(half),
            read: 0,
        },
        "failing.pcap",
    );
    let last = r.issues.last().expect("the error is reported");
    assert!(
        last.message.starts_with("read error: device went away"),
        "{last}"
    );
    assert!(last.offset <= half as u64 && last.offset > 24, "{last}");
    assert!(r.stats.frames > 0, "frames before the error are kept");
    let whole = read_capture(&data, "x.pcap");
    assert!(r.stats.frames < whole.stats.frames);
}
