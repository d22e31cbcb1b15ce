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

use std::collections::{BTreeMap, BTreeSet};
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

/// Read a capture file from disk, streaming it (memory does not grow with the file's size).
pub fn read_capture_file(path: &Path) -> Result<CaptureReport, CaptureError> {
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
    Ok(read_capture_from(input, &file))
}

/// Read a capture held in memory; `file` names it in provenance and issues.
pub fn read_capture(data: &[u8], file: &str) -> CaptureReport {
    read_capture_from(data, file)
}

/// Read a capture from any byte stream (a file, an archive member); `file` names it in
/// provenance and issues. One record is held at a time.
pub fn read_capture_from(input: impl std::io::Read, file: &str) -> CaptureReport {
    let mut a = Analyzer::new(file);
    let mut issues = Vec::new();
    let frames = capture::frames(input, &mut issues, |fr| a.frame(fr));
    a.stats.frames = frames;
    a.issues.splice(0..0, issues);
    a.finish()
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
    let mut events = Vec::new();
    let mut issues = Vec::new();
    let mut captures = Vec::new();
    let mut read_any = false;
    for f in &files {
        match read_capture_file(f) {
            Ok(r) => {
                read_any |= r.stats.frames > 0;
                for i in &r.issues {
                    issues.push(format!("{}: {i}", r.file));
                }
                captures.push(CaptureFile {
                    file: r.file.clone(),
                    stats: r.stats.clone(),
                });
                // Only the summary reads them from here on.
                events.extend(r.events.into_iter().map(|mut e| {
                    summary::slim(&mut e);
                    e
                }));
            }
            Err(e) => issues.push(e.to_string()),
        }
    }
    CaptureAnalysis {
        summary: summarize(&events),
        captures,
        issues,
        events: events.len(),
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
    fin_seen: bool,
}

const SERVER_PORTS: &[u16] = &[445, 139, 135, 88];

struct Analyzer {
    em: Emitter,
    flows: BTreeMap<FlowKey, Flow>,
    dynamic: BTreeSet<(IpAddr, u16)>,
    /// (client, server) pairs whose DCOM traffic named a shell-execution member.
    shell: BTreeSet<(String, String)>,
    issues: Vec<CaptureIssue>,
    stats: CaptureStats,
}

impl Analyzer {
    fn new(file: &str) -> Self {
        Analyzer {
            em: Emitter::new(file),
            flows: BTreeMap::new(),
            dynamic: BTreeSet::new(),
            shell: BTreeSet::new(),
            issues: Vec::new(),
            stats: CaptureStats::default(),
        }
    }

    fn frame(&mut self, fr: capture::Frame<'_>) {
        let frame = FrameRef {
            number: fr.number,
            ts_us: fr.ts_us,
            offset: fr.offset,
        };
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

    fn finish(mut self) -> CaptureReport {
        let flows = std::mem::take(&mut self.flows);
        for (_, flow) in flows {
            self.end_flow(flow);
        }
        let file = self.em.file.clone();
        // Count encrypted RPC calls inside SMB pipes too.
        let events = std::mem::take(&mut self.em).finish();
        let enc_in_smb = events
            .iter()
            .filter(|e| e.additional.contains_key("stub_encrypted"))
            .count() as u64;
        self.stats.rpc_encrypted_calls = self.stats.rpc_encrypted_calls.max(enc_in_smb);
        self.stats.events = events.len() as u64;
        self.stats.issues = self.issues.len() as u64;
        CaptureReport {
            file,
            events,
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
