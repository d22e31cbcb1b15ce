//! # lateral-pcap
//!
//! Finds Windows lateral movement in packet captures. Owns, Zeek-like, one module per layer or
//! protocol, each turning what it sees into UDM events ([`lateral_model::UdmEvent`]) of the
//! same shape the host-log readers give:
//!
//! * [`capture`]: pcap / pcapng frames (pcap-parser); [`net`]: Ethernet, 802.1Q, Linux cooked,
//!   loopback and raw IP, IPv4/IPv6, TCP/UDP (etherparse); [`tcp`]: stream reassembly.
//! * [`smb`]: NetBIOS session framing, SMB1 and SMB2/3; [`ntlmssp`]; [`kerberos`];
//!   [`dcerpc`] over named pipes and TCP; [`ndr`] decoding of svcctl, atsvc, task scheduler,
//!   DCOM activation, WMI and IDispatch stubs.
//! * [`summary`]: the investigation summary model an analyst writes from a capture (attacker,
//!   first pivot, account, service executable, shares, next targets, per-session detail).
//!
//! It must not run queries, hunts or correlations across evidence (that is `lateral-engine`
//! and `lateral-hunt`), use DataFusion or Arrow, or format output beyond the summary model and
//! its small text rendering: the CLI renders tables, JSON and Markdown.
//!
//! Bad input never panics: every problem is a [`CaptureIssue`] naming the frame and byte
//! offset, counted in [`CaptureStats`], and reading goes on.
//!
//! Memory follows what is open at once, not the size of a capture: [`stream_capture`] reads one
//! record at a time, ends a connection at its close (or when idle) and hands each event on as
//! soon as no open connection can still complete an earlier one; [`summary::Summarizer`] sums
//! events up as they arrive, within stated list limits.

pub mod capture;
pub mod dcerpc;
pub mod emit;
pub mod error;
pub mod kerberos;
pub mod ndr;
pub mod net;
pub mod ntlmssp;
pub mod smb;
pub mod summary;
pub mod tcp;
pub mod util;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::IpAddr;
use std::path::Path;

use lateral_model::{f, vocab::event_type as et, UdmEvent};

pub use capture::{detect, CaptureFormat};
pub use emit::{ConnInfo, FrameRef, FORMAT, LOG_TYPE, PRODUCT};
pub use error::{CaptureError, CaptureIssue};
pub use summary::{summarize, InvestigationSummary};

use dcerpc::{Association, RpcEnv};
use emit::{Emitter, Who};
use smb::SmbConn;
use tcp::{Chunk, HalfStream};

/// Counts for one capture: what was read, skipped and not visible.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct CaptureStats {
    pub frames: u64,
    /// Frames that are not TCP/UDP over IP (ARP, ICMP, ...): normal, not errors.
    pub frames_other: u64,
    /// Frames that could not be decoded (reported as issues).
    pub frames_bad: u64,
    /// IP fragments (not reassembled).
    pub ip_fragments: u64,
    /// Frames cut by the snap length.
    pub frames_truncated: u64,
    pub tcp_flows: u64,
    pub udp_flows: u64,
    /// Most connections open at once (their state is what reading holds).
    pub peak_flows: u64,
    /// TCP frames of a connection that had already ended (its last ACK or a retransmission
    /// more than 10 s of capture time after both FINs or a RST): counted, not decoded.
    pub frames_after_close: u64,
    /// TCP bytes never captured (holes in streams).
    pub gap_bytes: u64,
    pub gaps: u64,
    /// SMB3 encrypted (transform) messages: content not visible.
    pub smb3_encrypted: u64,
    /// DCE/RPC calls with encrypted stubs (packet privacy).
    pub rpc_encrypted_calls: u64,
    pub events: u64,
    pub issues: u64,
}

/// Everything read from one capture.
#[derive(Debug, Default)]
pub struct CaptureReport {
    pub file: String,
    pub events: Vec<UdmEvent>,
    pub issues: Vec<CaptureIssue>,
    pub stats: CaptureStats,
}

/// What reading a capture gives besides its events (see [`stream_capture`]).
#[derive(Debug, Default)]
pub struct CaptureOutcome {
    pub file: String,
    pub issues: Vec<CaptureIssue>,
    pub stats: CaptureStats,
}

fn open_capture(path: &Path) -> Result<std::io::BufReader<std::fs::File>, CaptureError> {
    use std::io::BufRead;
    let file = path.display().to_string();
    let io = |source| CaptureError::Io {
        file: file.clone(),
        source,
    };
    let mut input =
        std::io::BufReader::with_capacity(1 << 20, std::fs::File::open(path).map_err(io)?);
    if detect(input.fill_buf().map_err(io)?).is_none() {
        return Err(CaptureError::NotACapture { file });
    }
    Ok(input)
}

/// Read a capture file from disk, streaming it (the file is not held in memory; its events are).
pub fn read_capture_file(path: &Path) -> Result<CaptureReport, CaptureError> {
    let input = open_capture(path)?;
    Ok(read_capture_from(input, &path.display().to_string()))
}

/// Read a capture held in memory; `file` names it in provenance and issues.
pub fn read_capture(data: &[u8], file: &str) -> CaptureReport {
    read_capture_from(data, file)
}

/// Read a capture from any byte stream (a file, an archive member) and collect its events;
/// `file` names it in provenance and issues.
pub fn read_capture_from(input: impl std::io::Read, file: &str) -> CaptureReport {
    let mut events = Vec::new();
    let outcome = stream_capture(input, file, &mut |e| {
        events.push(e);
        true
    });
    CaptureReport {
        file: outcome.file,
        events,
        issues: outcome.issues,
        stats: outcome.stats,
    }
}

/// Read a capture from any byte stream, handing each event to `on_event` as soon as no earlier
/// one can still come (time, frame, completion order; see [`emit::Emitter`]); `on_event`
/// returns false to stop reading. One record is held at a time, a connection's state until it
/// closes (or idles out), so memory follows the connections open at once, not the capture's
/// size.
pub fn stream_capture(
    input: impl std::io::Read,
    file: &str,
    on_event: &mut dyn FnMut(UdmEvent) -> bool,
) -> CaptureOutcome {
    stream_capture_tuned(input, file, Tuning::default(), on_event)
}

/// How often [`stream_capture`] looks for idle connections and finished events, and how many
/// events it holds back for order at most. The defaults suit every capture; tests change them
/// to check that the order and content of events do not depend on them.
#[derive(Debug, Clone, Copy)]
pub struct Tuning {
    /// Frames between sweeps.
    pub sweep_frames: u32,
    /// Most events held back; past it the earliest go on whatever may still come.
    pub max_held: usize,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            sweep_frames: 1024,
            max_held: 20_000,
        }
    }
}

/// [`stream_capture`] with explicit [`Tuning`].
pub fn stream_capture_tuned(
    input: impl std::io::Read,
    file: &str,
    tuning: Tuning,
    on_event: &mut dyn FnMut(UdmEvent) -> bool,
) -> CaptureOutcome {
    let mut a = Analyzer::new(file, tuning);
    let mut issues = Vec::new();
    let frames = capture::frames(input, &mut issues, |fr| a.frame(fr, on_event));
    a.stats.frames = frames;
    a.issues.splice(0..0, issues);
    a.finish(on_event)
}

/// One capture read by [`analyze_paths`].
#[derive(Debug, Clone, serde::Serialize)]
pub struct CaptureFile {
    pub file: String,
    pub stats: CaptureStats,
}

/// The investigation summary of a set of captures with what was read: the document of
/// `lateral pcap --format json` and of the MCP tool `analyze_pcap`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CaptureAnalysis {
    pub summary: InvestigationSummary,
    pub captures: Vec<CaptureFile>,
    /// Problems, each naming its file (and frame or offset).
    pub issues: Vec<String>,
    /// Events decoded.
    pub events: usize,
    /// Whether any frame at all was read.
    #[serde(skip)]
    pub read_any: bool,
}

fn walk_captures(path: &Path, out: &mut Vec<std::path::PathBuf>) {
    if path.is_dir() {
        let mut entries: Vec<std::path::PathBuf> = std::fs::read_dir(path)
            .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        entries.sort();
        for e in entries {
            walk_captures(&e, out);
        }
        return;
    }
    let mut head = [0u8; 4];
    let is_capture = std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut head))
        .map(|_| detect(&head).is_some())
        .unwrap_or(false);
    if is_capture {
        out.push(path.to_path_buf());
    }
}

/// Read the captures under `paths` and summarise them. A file named explicitly is read even
/// if its content is not recognised (so the error is reported); folders are walked in name
/// order and keep the files whose content is a capture.
pub fn analyze_paths(paths: &[std::path::PathBuf]) -> CaptureAnalysis {
    let mut files = Vec::new();
    for p in paths {
        if p.is_file() {
            files.push(p.clone());
        } else {
            walk_captures(p, &mut files);
        }
    }
    let mut summary = summary::Summarizer::default();
    let mut events = 0usize;
    let mut issues = Vec::new();
    let mut captures = Vec::new();
    let mut read_any = false;
    for f in &files {
        let file = f.display().to_string();
        match open_capture(f) {
            Ok(input) => {
                // Each event goes into the summary as it leaves the capture; none is kept.
                let r = stream_capture(input, &file, &mut |e| {
                    events += 1;
                    summary.push(&e);
                    true
                });
                read_any |= r.stats.frames > 0;
                for i in &r.issues {
                    issues.push(format!("{}: {i}", r.file));
                }
                captures.push(CaptureFile {
                    file: r.file,
                    stats: r.stats,
                });
            }
            Err(e) => issues.push(e.to_string()),
        }
    }
    CaptureAnalysis {
        summary: summary.finish(),
        captures,
        issues,
        events,
        read_any,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct FlowKey {
    a: (IpAddr, u16),
    b: (IpAddr, u16),
    tcp: bool,
}

#[derive(Debug)]
enum App {
    Undecided,
    Smb(Box<SmbConn>),
    Dce(Box<Association>),
    Kerberos([Vec<u8>; 2]),
    Other,
}

impl App {
    fn name(&self) -> &'static str {
        match self {
            App::Smb(_) => "SMB",
            App::Dce(_) => "DCERPC",
            App::Kerberos(_) => "KERBEROS",
            _ => "",
        }
    }
}

#[derive(Debug)]
struct Flow {
    conn: ConnInfo,
    /// The client is endpoint `a` of the key.
    client_is_a: bool,
    halves: [HalfStream; 2],
    app: App,
    first: FrameRef,
    last: FrameRef,
    packets: u64,
    bytes: [u64; 2],
    syn_seen: bool,
    /// A FIN or RST was seen (either way).
    fin_seen: bool,
    /// FIN seen from the client, from the server.
    fin: [bool; 2],
    rst: bool,
    /// Capture time the connection closed at (both FINs or a RST): it ends [`LINGER_US`] later.
    closing: Option<i64>,
}

const SERVER_PORTS: &[u16] = &[445, 139, 135, 88];

/// How long (capture time) a closed TCP connection is kept for its last ACKs and
/// retransmissions before it ends and its event is written.
const LINGER_US: i64 = 10_000_000;
/// How long (capture time) packets of an ended TCP connection are recognised as its stragglers
/// (TIME_WAIT is 2 x 2 minutes at most) rather than taken for a connection seen mid-stream.
const TIME_WAIT_US: i64 = 240_000_000;
/// Most ended connections remembered for [`TIME_WAIT_US`].
const MAX_CLOSED: usize = 1 << 16;
/// Connections idle this long (capture time) end: UDP, TCP that never carried data, TCP.
const IDLE_UDP_US: i64 = 120_000_000;
const IDLE_TCP_EMPTY_US: i64 = 300_000_000;
const IDLE_TCP_US: i64 = 7_200_000_000;

struct Analyzer {
    em: Emitter,
    flows: BTreeMap<FlowKey, Flow>,
    /// Closed connections waiting out [`LINGER_US`], in closing order.
    closing: VecDeque<(i64, FlowKey)>,
    /// Ended TCP connections (key -> capture time ended), for [`TIME_WAIT_US`].
    closed: BTreeMap<FlowKey, i64>,
    closed_order: VecDeque<(i64, FlowKey)>,
    /// Latest capture time seen.
    now_us: i64,
    since_sweep: u32,
    /// The consumer asked to stop.
    stopped: bool,
    /// Events handed on that carry an encrypted RPC stub.
    enc_events: u64,
    tuning: Tuning,
    dynamic: BTreeSet<(IpAddr, u16)>,
    /// (client, server) pairs whose DCOM traffic named a shell-execution member.
    shell: BTreeSet<(String, String)>,
    issues: Vec<CaptureIssue>,
    stats: CaptureStats,
}

impl Analyzer {
    fn new(file: &str, tuning: Tuning) -> Self {
        Analyzer {
            em: Emitter::new(file),
            flows: BTreeMap::new(),
            closing: VecDeque::new(),
            closed: BTreeMap::new(),
            closed_order: VecDeque::new(),
            now_us: i64::MIN,
            since_sweep: 0,
            stopped: false,
            enc_events: 0,
            tuning,
            dynamic: BTreeSet::new(),
            shell: BTreeSet::new(),
            issues: Vec::new(),
            stats: CaptureStats::default(),
        }
    }

    /// One frame; false once the consumer of events asked to stop.
    fn frame(&mut self, fr: capture::Frame<'_>, out: &mut dyn FnMut(UdmEvent) -> bool) -> bool {
        if self.stopped {
            return false;
        }
        let frame = FrameRef {
            number: fr.number,
            ts_us: fr.ts_us,
            offset: fr.offset,
        };
        self.now_us = self.now_us.max(fr.ts_us);
        // Connections whose linger time is over end before this frame is looked at, so a
        // straggler of one is recognised as such.
        self.end_lingering();
        self.decode(fr, frame);
        self.since_sweep += 1;
        if self.since_sweep >= self.tuning.sweep_frames {
            self.since_sweep = 0;
            self.end_idle();
            let before = self
                .flows
                .values()
                .map(|f| (f.first.ts_us, f.first.number))
                .min();
            self.hand_on(before, out);
        }
        while self.em.held() > self.tuning.max_held && !self.stopped {
            let counts = (&mut self.stats.events, &mut self.enc_events);
            self.stopped = !self
                .em
                .release_first(&mut |e| Self::count_out(counts.0, counts.1, e, out));
        }
        !self.stopped
    }

    /// Count an event going out (and whether its RPC stub was encrypted) and hand it on.
    fn count_out(
        events: &mut u64,
        encrypted: &mut u64,
        e: UdmEvent,
        out: &mut dyn FnMut(UdmEvent) -> bool,
    ) -> bool {
        *events += 1;
        if e.additional.contains_key("stub_encrypted") {
            *encrypted += 1;
        }
        out(e)
    }

    /// Hand on the events no live connection can precede any more.
    fn hand_on(&mut self, before: Option<(i64, u64)>, out: &mut dyn FnMut(UdmEvent) -> bool) {
        if self.stopped {
            return;
        }
        let (events, encrypted) = (&mut self.stats.events, &mut self.enc_events);
        let mut go_on = true;
        self.em.release(before, &mut |e| {
            go_on = Self::count_out(events, encrypted, e, out);
            go_on
        });
        self.stopped = !go_on;
    }

    /// End the closed connections whose linger time is over.
    fn end_lingering(&mut self) {
        while let Some(&(at, key)) = self.closing.front() {
            if at.saturating_add(LINGER_US) > self.now_us {
                break;
            }
            self.closing.pop_front();
            if self.flows.get(&key).is_some_and(|f| f.closing == Some(at)) {
                if let Some(flow) = self.flows.remove(&key) {
                    self.end_flow(flow);
                    self.closed.insert(key, self.now_us);
                    self.closed_order.push_back((self.now_us, key));
                }
            }
        }
        while let Some(&(at, key)) = self.closed_order.front() {
            if at.saturating_add(TIME_WAIT_US) > self.now_us
                && self.closed_order.len() <= MAX_CLOSED
            {
                break;
            }
            self.closed_order.pop_front();
            if self.closed.get(&key) == Some(&at) {
                self.closed.remove(&key);
            }
        }
    }

    /// End the connections idle for longer than their kind's timeout.
    fn end_idle(&mut self) {
        let now = self.now_us;
        let idle: Vec<FlowKey> = self
            .flows
            .iter()
            .filter(|(k, f)| {
                let limit = match (k.tcp, f.bytes[0] + f.bytes[1]) {
                    (false, _) => IDLE_UDP_US,
                    (true, 0) => IDLE_TCP_EMPTY_US,
                    (true, _) => IDLE_TCP_US,
                };
                f.last.ts_us.saturating_add(limit) < now
            })
            .map(|(k, _)| *k)
            .collect();
        for key in idle {
            if let Some(flow) = self.flows.remove(&key) {
                self.end_flow(flow);
            }
        }
    }

    fn decode(&mut self, fr: capture::Frame<'_>, frame: FrameRef) {
        if (fr.data.len() as u64) < fr.orig_len as u64 {
            self.stats.frames_truncated += 1;
        }
        let seg = match net::segment(fr.linktype, fr.data) {
            Ok(s) => s,
            Err(net::Skip::NotTcpUdp) => {
                self.stats.frames_other += 1;
                return;
            }
            Err(net::Skip::IpFragment) => {
                self.stats.ip_fragments += 1;
                return;
            }
            Err(net::Skip::Bad(why)) => {
                self.stats.frames_bad += 1;
                self.issues
                    .push(CaptureIssue::at(fr.number, fr.offset, why));
                return;
            }
        };
        let tcp = seg.tcp.is_some();
        let key = {
            let x = (seg.src, seg.sport);
            let y = (seg.dst, seg.dport);
            if x <= y {
                FlowKey { a: x, b: y, tcp }
            } else {
                FlowKey { a: y, b: x, tcp }
            }
        };
        let from_a = key.a == (seg.src, seg.sport);
        if let Some(t) = seg.tcp {
            if !self.flows.contains_key(&key) && self.closed.contains_key(&key) {
                if t.syn && !t.ack_flag {
                    self.closed.remove(&key);
                } else {
                    // A straggler of a connection that ended (last ACK, retransmission).
                    self.stats.frames_after_close += 1;
                    return;
                }
            }
        }
        // A new SYN on a flow that already carried data: port reuse, a new connection.
        if let (Some(t), Some(old)) = (seg.tcp, self.flows.get(&key)) {
            if t.syn && !t.ack_flag && (old.bytes[0] + old.bytes[1] > 0 || old.fin_seen) {
                if let Some(old) = self.flows.remove(&key) {
                    self.end_flow(old);
                }
            }
        }
        if !self.flows.contains_key(&key) {
            let sender_is_client = match seg.tcp {
                Some(t) if t.syn => !t.ack_flag,
                _ => {
                    let d_srv = SERVER_PORTS.contains(&seg.dport)
                        || self.dynamic.contains(&(seg.dst, seg.dport));
                    let s_srv = SERVER_PORTS.contains(&seg.sport)
                        || self.dynamic.contains(&(seg.src, seg.sport));
                    d_srv || !s_srv
                }
            };
            let (cip, cport, sip, sport) = if sender_is_client {
                (seg.src, seg.sport, seg.dst, seg.dport)
            } else {
                (seg.dst, seg.dport, seg.src, seg.sport)
            };
            let app = if !tcp {
                if sport == 88 {
                    App::Kerberos(Default::default())
                } else {
                    App::Other
                }
            } else {
                match sport {
                    445 | 139 => App::Smb(Box::default()),
                    135 => App::Dce(Box::default()),
                    88 => App::Kerberos(Default::default()),
                    p if self.dynamic.contains(&(sip, p)) => App::Dce(Box::default()),
                    _ => App::Undecided,
                }
            };
            if tcp {
                self.stats.tcp_flows += 1;
            } else {
                self.stats.udp_flows += 1;
            }
            self.stats.peak_flows = self.stats.peak_flows.max(self.flows.len() as u64 + 1);
            self.flows.insert(
                key,
                Flow {
                    conn: ConnInfo {
                        client_ip: cip.to_string(),
                        client_port: cport,
                        server_ip: sip.to_string(),
                        server_port: sport,
                        transport: if tcp { "TCP" } else { "UDP" },
                    },
                    client_is_a: key.a == (cip, cport),
                    halves: Default::default(),
                    app,
                    first: frame,
                    last: frame,
                    packets: 0,
                    bytes: [0, 0],
                    syn_seen: false,
                    fin_seen: false,
                    fin: [false; 2],
                    rst: false,
                    closing: None,
                },
            );
        }
        let Some(flow) = self.flows.get_mut(&key) else {
            return;
        };
        let dir = if from_a == flow.client_is_a { 0 } else { 1 };
        flow.packets += 1;
        flow.last = frame;
        flow.bytes[dir] += seg.payload.len() as u64;
        let Flow {
            conn, halves, app, ..
        } = flow;
        let em = &mut self.em;
        let issues = &mut self.issues;
        let shell = &mut self.shell;
        let mut learned: Vec<(String, u16)> = Vec::new();
        match seg.tcp {
            Some(t) => {
                if t.syn {
                    flow.syn_seen = true;
                    halves[dir].syn(t.seq);
                }
                if t.fin || t.rst {
                    flow.fin_seen = true;
                }
                flow.fin[dir] |= t.fin;
                flow.rst |= t.rst;
                if flow.closing.is_none() && (flow.rst || flow.fin == [true, true]) {
                    flow.closing = Some(self.now_us);
                    self.closing.push_back((self.now_us, key));
                }
                if !seg.payload.is_empty() {
                    halves[dir].segment(t.seq, seg.payload, frame, &mut |c| {
                        deliver(app, dir, c, conn, em, issues, &mut learned, shell)
                    });
                }
            }
            None => {
                if let App::Kerberos(_) = app {
                    kerberos_message(seg.payload, dir, frame, conn, em);
                }
            }
        }
        for (ip, port) in learned {
            let ip = if ip.is_empty() {
                conn.server_ip.parse::<IpAddr>().ok()
            } else {
                ip.parse::<IpAddr>().ok()
            };
            if let Some(ip) = ip {
                self.dynamic.insert((ip, port));
            }
        }
    }

    fn end_flow(&mut self, mut flow: Flow) {
        {
            let Flow {
                conn, halves, app, ..
            } = &mut flow;
            let em = &mut self.em;
            let issues = &mut self.issues;
            let shell = &mut self.shell;
            let mut learned = Vec::new();
            for (dir, h) in halves.iter_mut().enumerate() {
                let last = FrameRef::default();
                h.flush(last, &mut |c| {
                    deliver(app, dir, c, conn, em, issues, &mut learned, shell)
                });
                self.stats.gaps += h.gaps;
                self.stats.gap_bytes += h.gap_bytes;
            }
        }
        let app = &flow.app;
        let mut e = self
            .em
            .event(et::NETWORK_CONNECTION, app.name(), &flow.conn, flow.first);
        let label = flow.conn.label();
        let mut desc = format!(
            "{} {} connection {label}",
            flow.conn.transport,
            if app.name().is_empty() {
                ""
            } else {
                app.name()
            }
        )
        .replace("  ", " ");
        e.additional
            .insert("last_frame".into(), flow.last.number.to_string());
        e.additional
            .insert("last_time_us".into(), flow.last.ts_us.to_string());
        e.additional
            .insert("packets".into(), flow.packets.to_string());
        e.additional
            .insert("bytes_from_client".into(), flow.bytes[0].to_string());
        e.additional
            .insert("bytes_from_server".into(), flow.bytes[1].to_string());
        if !flow.syn_seen && flow.conn.transport == "TCP" && flow.bytes[0] + flow.bytes[1] > 0 {
            e.additional.insert("mid_stream".into(), "true".into());
        }
        let gaps: u64 = flow.halves.iter().map(|h| h.gap_bytes).sum();
        if gaps > 0 {
            e.additional.insert("gap_bytes".into(), gaps.to_string());
        }
        match &mut flow.app {
            App::Smb(s) => {
                s.close(&flow.conn, &mut self.em);
                if let Some(d) = &s.dialect {
                    e.additional.insert("smb_dialect".into(), d.clone());
                }
                if s.encrypted > 0 || s.compressed > 0 {
                    self.stats.smb3_encrypted += s.encrypted;
                    e.additional
                        .insert("smb3_encrypted_messages".into(), s.encrypted.to_string());
                    e.additional.insert(
                        "visibility_gap".into(),
                        "SMB3 encryption: commands, files and pipes not visible".into(),
                    );
                    desc.push_str(&format!(
                        " ({} encrypted SMB3 messages: not visible)",
                        s.encrypted
                    ));
                }
                if s.unparsed_trans > 0 {
                    e.additional.insert(
                        "smb1_transactions_unparsed".into(),
                        s.unparsed_trans.to_string(),
                    );
                }
                if !s.shares.is_empty() {
                    e.additional.insert("smb_shares".into(), s.shares.join(","));
                }
                if !s.opened.is_empty() {
                    e.additional.insert("smb_opened".into(), s.opened.join(","));
                }
                if !s.accounts.is_empty() {
                    e.additional.insert("accounts".into(), s.accounts.join(","));
                    e.set_str(f::PRINCIPAL_USERID, s.accounts.join(","));
                }
                if !s.rpc_ops.is_empty() {
                    let ops: Vec<String> =
                        s.rpc_ops.iter().map(|(k, v)| format!("{k} x{v}")).collect();
                    e.additional.insert("rpc_ops".into(), ops.join(", "));
                }
                if let Some(c) = &s.challenge {
                    if let Some(n) = c.nb_computer.as_ref().or(c.dns_computer.as_ref()) {
                        e.set_str(f::TARGET_HOSTNAME, n.clone());
                    }
                }
            }
            App::Dce(a) => {
                let env_who = Who::default();
                let env = RpcEnv {
                    conn: &flow.conn,
                    who: &env_who,
                    via: "ncacn_ip_tcp",
                };
                a.close(&env, &mut self.em);
                self.stats.rpc_encrypted_calls += a.encrypted_calls;
                if !a.bound.is_empty() {
                    let b: Vec<&str> = a.bound.iter().map(String::as_str).collect();
                    e.additional.insert("rpc_interfaces".into(), b.join(","));
                    desc.push_str(&format!(" ({})", b.join(", ")));
                }
                if !a.ops.is_empty() {
                    let ops: Vec<String> = a.ops.iter().map(|(k, v)| format!("{k} x{v}")).collect();
                    e.additional.insert("rpc_ops".into(), ops.join(", "));
                }
                if a.auth_level > 0 {
                    e.additional
                        .insert("rpc_auth_level".into(), a.auth_level.to_string());
                }
                if let Some(acct) = a.who.account() {
                    e.set_str(f::PRINCIPAL_USERID, acct);
                }
                if let Some(w) = &a.who.workstation {
                    e.set_str(f::PRINCIPAL_HOSTNAME, w.clone());
                }
                if let Some(s) = &a.who.server_name {
                    e.set_str(f::TARGET_HOSTNAME, s.clone());
                }
            }
            _ => {}
        }
        e.set_str(f::DESCRIPTION, desc);
        self.em.push(flow.first, e);
    }

    fn finish(mut self, out: &mut dyn FnMut(UdmEvent) -> bool) -> CaptureOutcome {
        let flows = std::mem::take(&mut self.flows);
        for (_, flow) in flows {
            self.end_flow(flow);
        }
        self.hand_on(None, out);
        // Count encrypted RPC calls inside SMB pipes too.
        self.stats.rpc_encrypted_calls = self.stats.rpc_encrypted_calls.max(self.enc_events);
        self.stats.issues = self.issues.len() as u64;
        CaptureOutcome {
            file: std::mem::take(&mut self.em.file),
            issues: self.issues,
            stats: self.stats,
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn deliver(
    app: &mut App,
    dir: usize,
    chunk: Chunk<'_>,
    conn: &ConnInfo,
    em: &mut Emitter,
    issues: &mut Vec<CaptureIssue>,
    learned: &mut Vec<(String, u16)>,
    shell: &mut BTreeSet<(String, String)>,
) {
    if let App::Undecided = app {
        if let Chunk::Data(d, _) = &chunk {
            *app = if d.first() == Some(&5)
                && matches!(d.get(2), Some(11 | 14 | 0))
                && d.len() >= 16
            {
                App::Dce(Box::default())
            } else if d.len() >= 8
                && d.first() == Some(&0)
                && matches!(d.get(4), Some(0xfd..=0xff))
                && d.get(5..8) == Some(b"SMB")
            {
                App::Smb(Box::default())
            } else {
                App::Other
            };
        }
    }
    match app {
        App::Smb(s) => match chunk {
            Chunk::Data(d, fr) => s.feed(dir, d, fr, conn, em, issues),
            Chunk::Gap(_, _) => s.gap(dir),
        },
        App::Dce(a) => match chunk {
            Chunk::Data(d, fr) => {
                let who = Who::default();
                let env = RpcEnv {
                    conn,
                    who: &who,
                    via: "ncacn_ip_tcp",
                };
                let pair = (conn.client_ip.clone(), conn.server_ip.clone());
                if shell.contains(&pair) {
                    a.note_shell_names();
                }
                a.feed(dir, d, fr, &env, em, issues);
                if a.shell_names_seen {
                    shell.insert(pair);
                }
                learned.extend(a.learned.drain(..).map(|(ip, port, _)| (ip, port)));
            }
            Chunk::Gap(_, _) => a.gap(dir),
        },
        App::Kerberos(bufs) => match chunk {
            Chunk::Data(d, fr) => {
                let Some(buf) = bufs.get_mut(dir) else { return };
                buf.extend_from_slice(d);
                while buf.len() >= 4 {
                    let len = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
                    if len > 1 << 20 {
                        buf.clear();
                        break;
                    }
                    if buf.len() < 4 + len {
                        break;
                    }
                    let msg: Vec<u8> = buf.drain(..4 + len).skip(4).collect();
                    kerberos_message(&msg, dir, fr, conn, em);
                }
                crate::util::release_spare(buf);
            }
            Chunk::Gap(_, _) => {
                if let Some(b) = bufs.get_mut(dir) {
                    b.clear();
                }
            }
        },
        _ => {}
    }
}

fn kerberos_message(msg: &[u8], _dir: usize, frame: FrameRef, conn: &ConnInfo, em: &mut Emitter) {
    let Some(k) = kerberos::parse(msg) else {
        return;
    };
    let mut e = em.event(et::USER_UNCATEGORIZED, "KERBEROS", conn, frame);
    e.set_str(
        f::PRODUCT_EVENT_TYPE,
        format!("KRB_{}", k.kind.replace('-', "_")),
    );
    let mut desc = format!("Kerberos {}", k.kind);
    if let Some(c) = &k.cname {
        e.set_str(f::TARGET_USERID, c.clone());
        desc.push_str(&format!(" client {c}"));
    }
    if let Some(r) = k.crealm.as_ref().or(k.realm.as_ref()) {
        e.set_str(f::TARGET_DOMAIN, r.clone());
    }
    if let Some(s) = &k.sname {
        e.set_str(f::TARGET_URL, s.clone());
        desc.push_str(&format!(" service {s}"));
        if let Some(h) = s.split('/').nth(1) {
            e.additional.insert("service_host".into(), h.to_string());
        }
    }
    if let Some(code) = k.error_code {
        e.set_str(f::SECURITY_SUMMARY, format!("KRB error {code}"));
        e.set_str(
            f::ACTION,
            if code == 25 { "UNKNOWN_ACTION" } else { "FAIL" },
        );
        desc.push_str(&format!(" error {code}"));
    }
    e.set_str(f::AUTH_DETAILS, "Kerberos");
    e.set_str(f::DESCRIPTION, desc);
    em.push(frame, e);
}
