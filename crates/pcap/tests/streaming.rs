//! Reading a capture holds what is open, not what was read: a connection ends when it closes
//! (both FINs or a RST, plus a short linger for the last ACKs), its stragglers are counted
//! rather than taken for a new connection, events are handed on as soon as nothing earlier can
//! come, and the summary keeps lists within stated limits, counting what it leaves out.

mod support;

use std::net::Ipv4Addr;
use std::path::PathBuf;

use lateral_model::{f, vocab::event_type as et, UdmEvent};
use lateral_pcap::summary::{Summarizer, MAX_DETAIL_LINES, MAX_LINES_PER_SESSION, MAX_SESSIONS};
use lateral_pcap::{stream_capture, stream_capture_tuned, summarize, CaptureOutcome, Tuning};
use support::{psexec_session, Conn, Pcap};

const ATTACKER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 130);

fn target(i: u16) -> Ipv4Addr {
    Ipv4Addr::new(10, 1, (i / 250) as u8, (i % 250) as u8 + 1)
}

/// PsExec session `i`: from the attacker's port 40 000 + `i` to [`target`]`(i)`.
fn session(p: &mut Pcap, i: u16) -> Conn {
    psexec_session(
        p,
        (ATTACKER, 40_000 + i),
        target(i),
        "SALES-PC",
        "SALES-PC.local",
        "ssales",
        "KALI-ATTACK",
    )
}

/// `n` PsExec sessions one after the other, `gap_us` apart, closed or left open.
fn sessions(n: u16, close: bool, gap_us: u64) -> Pcap {
    let mut p = Pcap::default();
    for i in 0..n {
        let mut c = session(&mut p, i);
        if close {
            c.close(&mut p);
        }
        p.wait(gap_us);
    }
    p
}

fn read(bytes: &[u8], tuning: Tuning) -> (Vec<UdmEvent>, CaptureOutcome) {
    let mut events = Vec::new();
    let out = stream_capture_tuned(bytes, "t.pcap", tuning, &mut |e| {
        events.push(e);
        true
    });
    (events, out)
}

fn connections(events: &[UdmEvent]) -> Vec<&UdmEvent> {
    events
        .iter()
        .filter(|e| e.str(f::EVENT_TYPE) == Some(et::NETWORK_CONNECTION))
        .filter(|e| e.int(f::TARGET_PORT) == Some(445))
        .collect()
}

#[test]
fn connections_end_when_they_close() {
    let closed = sessions(300, true, 2_000_000);
    let (events, out) = read(&closed.bytes, Tuning::default());
    assert!(out.issues.is_empty(), "{:?}", out.issues);
    assert_eq!(out.stats.tcp_flows, 300);
    // Two seconds apart and ended ten seconds after their close: a handful open at once.
    assert!(out.stats.peak_flows <= 8, "{:?}", out.stats);
    let conns = connections(&events);
    assert_eq!(conns.len(), 300);
    // The last ACK comes within the linger time, so it is still the connection's.
    let open = sessions(1, false, 0);
    let (open_events, _) = read(&open.bytes, Tuning::default());
    let packets = |e: &UdmEvent| e.additional.get("packets").cloned();
    let open_packets: u64 = packets(connections(&open_events)[0])
        .and_then(|p| p.parse().ok())
        .expect("packets");
    assert_eq!(
        packets(conns[0]),
        Some((open_packets + 3).to_string()),
        "FIN, FIN, ACK"
    );
    assert_eq!(
        events
            .iter()
            .filter(|e| e.str(f::EVENT_TYPE) == Some(et::SERVICE_CREATION))
            .count(),
        300
    );

    // Left open, they all stay (TCP connections that carried data idle out after two hours).
    let (_, out) = read(&sessions(300, false, 2_000_000).bytes, Tuning::default());
    assert_eq!(out.stats.peak_flows, 300);
}

#[test]
fn a_straggler_after_the_close_is_counted_not_taken_for_a_new_connection() {
    let mut p = Pcap::default();
    let mut c = session(&mut p, 0);
    c.close(&mut p);
    p.wait(30_000_000);
    c.ack(&mut p);
    let (events, out) = read(&p.bytes, Tuning::default());
    assert_eq!(out.stats.frames_after_close, 1);
    assert_eq!(connections(&events).len(), 1);
    assert_eq!(out.stats.tcp_flows, 1);
}

#[test]
fn a_new_syn_after_the_close_is_a_new_connection() {
    let mut p = Pcap::default();
    let mut c = session(&mut p, 0);
    c.close(&mut p);
    p.wait(30_000_000);
    let _ = session(&mut p, 0);
    let (events, out) = read(&p.bytes, Tuning::default());
    assert_eq!(out.stats.frames_after_close, 0);
    assert_eq!(connections(&events).len(), 2);
    assert_eq!(out.stats.tcp_flows, 2);
    assert_eq!(
        events
            .iter()
            .filter(|e| e.str(f::EVENT_TYPE) == Some(et::SERVICE_CREATION))
            .count(),
        2
    );
}

#[test]
fn a_reset_ends_a_connection() {
    let mut p = Pcap::default();
    let mut c = session(&mut p, 0);
    c.reset(&mut p);
    p.wait(30_000_000);
    let _ = session(&mut p, 1);
    let (events, out) = read(&p.bytes, Tuning::default());
    assert_eq!(out.stats.peak_flows, 1, "{:?}", out.stats);
    assert_eq!(connections(&events).len(), 2);
}

/// Every shared capture; none (the synthetic captures only) when the shared data is absent.
fn shared_pcaps() -> Vec<PathBuf> {
    let Some(dir) = lateral_testdata::shared("pcap") else {
        return Vec::new();
    };
    let mut files = Vec::new();
    let mut stack = vec![dir];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "pcap" || x == "pcapng") {
                files.push(p);
            }
        }
    }
    files.sort();
    assert!(files.len() >= 10, "{files:?}");
    files
}

/// Handing events on early (after every frame) gives exactly what holding all of them to the
/// end and sorting gives; a tiny reorder buffer loses nothing either.
#[test]
fn the_events_do_not_depend_on_when_they_are_handed_on() {
    let mut captures: Vec<(String, Vec<u8>)> = shared_pcaps()
        .iter()
        .map(|p| (p.display().to_string(), std::fs::read(p).expect("read")))
        .collect();
    captures.push(("synthetic".into(), sessions(40, true, 3_000_000).bytes));
    captures.push(("synthetic-open".into(), sessions(40, false, 500).bytes));
    let at_end = Tuning {
        sweep_frames: u32::MAX,
        max_held: usize::MAX,
    };
    let eager = Tuning {
        sweep_frames: 1,
        max_held: usize::MAX,
    };
    let tiny = Tuning {
        sweep_frames: 1,
        max_held: 1,
    };
    for (name, bytes) in &captures {
        let (all, out_all) = read(bytes, at_end);
        let (early, out_early) = read(bytes, eager);
        assert!(!all.is_empty(), "{name}");
        assert_eq!(all, early, "{name}");
        assert_eq!(out_all.stats, out_early.stats, "{name}");
        let (small, _) = read(bytes, tiny);
        let sorted = |v: &[UdmEvent]| {
            let mut s: Vec<String> = v.iter().map(|e| format!("{e:?}")).collect();
            s.sort();
            s
        };
        assert_eq!(sorted(&all), sorted(&small), "{name}");
    }
}

/// `lateral pcap` sums up as it reads: the same summary as from all events collected first.
#[test]
fn the_streamed_summary_is_the_summary_of_all_events() {
    let files = shared_pcaps();
    if files.is_empty() {
        return;
    }
    let analysis = lateral_pcap::analyze_paths(&files);
    let mut all = Vec::new();
    for p in &files {
        let bytes = std::fs::read(p).expect("read");
        stream_capture(bytes.as_slice(), &p.display().to_string(), &mut |e| {
            all.push(e);
            true
        });
    }
    assert_eq!(analysis.events, all.len());
    let collected = summarize(&all);
    assert!(!collected.services.is_empty() && !collected.sessions.is_empty());
    assert_eq!(analysis.summary, collected);
    assert!(collected.not_listed.is_empty());
}

#[test]
fn a_consumer_can_stop_the_reading() {
    let p = sessions(50, true, 1_000_000);
    let mut n = 0;
    let out = stream_capture(p.bytes.as_slice(), "t.pcap", &mut |_| {
        n += 1;
        n < 3
    });
    assert_eq!(n, 3);
    let (_, whole) = read(&p.bytes, Tuning::default());
    assert!(
        out.stats.frames < whole.stats.frames,
        "{} of {} frames read",
        out.stats.frames,
        whole.stats.frames
    );
}

fn smb_event(port: i64, n: u64) -> UdmEvent {
    let mut e = UdmEvent::new();
    e.set_timestamp_micros(n as i64);
    e.set_str(f::EVENT_TYPE, et::FILE_OPEN);
    e.set_str(f::APP_PROTOCOL, "SMB");
    e.set_str(f::PRINCIPAL_IP, "10.0.0.1");
    e.set_int(f::PRINCIPAL_PORT, port);
    e.set_str(f::TARGET_IP, "10.0.0.2");
    e.set_int(f::TARGET_PORT, 445);
    e.set_int(f::RECORD_NUMBER, n as i64);
    e.set_str(f::DESCRIPTION, format!("open {n}"));
    e
}

#[test]
fn the_summary_keeps_within_its_limits_and_counts_the_rest() {
    let mut s = Summarizer::default();
    let mut n = 0;
    // One connection over its per-connection limit, then more connections than listed.
    for _ in 0..MAX_LINES_PER_SESSION + 7 {
        n += 1;
        s.push(&smb_event(1, n));
    }
    for port in 2..=MAX_SESSIONS as i64 + 3 {
        n += 1;
        s.push(&smb_event(port, n));
    }
    let sum = s.finish();
    assert_eq!(sum.sessions.len(), MAX_SESSIONS);
    assert_eq!(sum.sessions[0].lines.len(), MAX_LINES_PER_SESSION);
    assert_eq!(sum.not_listed.session_events, 3);
    assert_eq!(sum.not_listed.detail_lines, 7);
    let lines: usize = sum.sessions.iter().map(|s| s.lines.len()).sum();
    assert_eq!(lines, MAX_LINES_PER_SESSION + MAX_SESSIONS - 1);
    assert!(lines <= MAX_DETAIL_LINES);
    let text = lateral_pcap::summary::render_text(&sum);
    assert!(
        text.contains("3 SMB/RPC events of connections past the first"),
        "{text}"
    );
}
