//! Connection-oriented DCE/RPC ([MS-RPCE] / C706) over SMB named pipes and over TCP.
//!
//! An [`Association`] reassembles PDUs from a byte stream per direction (one PDU may arrive in
//! many SMB writes, or one write may hold several PDUs), follows binds and alter-contexts with
//! several context items (which was accepted comes from the bind_ack), reassembles fragmented
//! requests and responses, notes the authentication level (privacy = encrypted stub: the
//! operation is still reported), learns dynamic ports from endpoint-mapper answers, and hands
//! complete cleartext stubs to [`crate::ndr`] for the operations a hunter needs.

use std::collections::{BTreeMap, BTreeSet};

use lateral_model::{f, vocab::event_type as et, UdmEvent};

use crate::emit::{ConnInfo, Emitter, FrameRef, Who};
use crate::error::CaptureIssue;
use crate::ndr::{self, Decoded};
use crate::util::{guid, le16, le32, sub};

/// Largest PDU accepted; larger lengths mean the stream is not DCE/RPC (or is damaged).
const MAX_FRAG: usize = 1 << 20;
/// Largest reassembled stub per call.
const MAX_STUB: usize = 16 << 20;

/// Known interfaces: UUID, short name.
pub const INTERFACES: &[(&str, &str)] = &[
    ("367abb81-9844-35f1-ad32-98f038001003", "svcctl"),
    ("1ff70682-0a51-30e8-076d-740be8cee98b", "atsvc"),
    (
        "86d35949-83c9-4044-b424-db363231fd0c",
        "ITaskSchedulerService",
    ),
    ("378e52b0-c0a9-11cf-822d-00aa0051e40f", "sasec"),
    ("000001a0-0000-0000-c000-000000000046", "ISystemActivator"),
    (
        "99fcfec4-5260-101b-bbcb-00aa0021347a",
        "IRemoteSCMActivator",
    ),
    ("4d9f4ab8-7d1c-11cf-861e-0020af6e7c57", "IActivation"),
    ("00000143-0000-0000-c000-000000000046", "IRemUnknown2"),
    ("00000131-0000-0000-c000-000000000046", "IRemUnknown"),
    ("00020400-0000-0000-c000-000000000046", "IDispatch"),
    ("f309ad18-d86a-11d0-a075-00c04fb68820", "IWbemLevel1Login"),
    ("9556dc99-828c-11cf-a37e-00aa003240c7", "IWbemServices"),
    ("d4781cd6-e5d3-44df-ad94-930efe48a887", "IWbemLoginClientID"),
    ("423ec01e-2e35-11d2-b604-00104b703efd", "IWbemWCOSmartEnum"),
    (
        "027947e1-d731-11ce-a357-000000000001",
        "IEnumWbemClassObject",
    ),
    ("12345778-1234-abcd-ef00-0123456789ac", "samr"),
    ("12345778-1234-abcd-ef00-0123456789ab", "lsarpc"),
    ("12345678-1234-abcd-ef00-0123456789ab", "spoolss"),
    ("4b324fc8-1670-01d3-1278-5a47bf6ee188", "srvsvc"),
    ("6bffd098-a112-3610-9833-46c3f87e345a", "wkssvc"),
    ("338cd001-2244-31f1-aaaa-900038001003", "winreg"),
    ("e3514235-4b06-11d1-ab04-00c04fc2dcd2", "drsuapi"),
    ("12345678-1234-abcd-ef00-01234567cffb", "netlogon"),
    ("e1af8308-5d1f-11c9-91a4-08002b14a0fa", "epm"),
    ("afa8bd80-7d8a-11c9-bef4-08002b102989", "mgmt"),
    ("82273fdc-e32a-18c3-3f78-827929dc23ea", "eventlog"),
    ("c681d488-d850-11d0-8c52-00c04fd90f7e", "efsrpc"),
];

/// Known DCOM classes: CLSID, ProgID-like name.
pub const CLSIDS: &[(&str, &str)] = &[
    ("8bc3f05e-d86b-11d0-a075-00c04fb68820", "WbemLevel1Login"),
    ("49b2791a-b1ae-4c90-9b8e-e860ba07f889", "MMC20.Application"),
    ("9ba05972-f6a8-11cf-a442-00a0c90a8f39", "ShellWindows"),
    ("c08afd90-f2a1-11d1-8455-00a0c91f3880", "ShellBrowserWindow"),
    ("00024500-0000-0000-c000-000000000046", "Excel.Application"),
    (
        "0006f03a-0000-0000-c000-000000000046",
        "Outlook.Application",
    ),
    ("72c24dd5-d70a-438b-8a42-98424b88afb8", "WScript.Shell"),
];

pub fn interface_name(uuid: &str) -> Option<&'static str> {
    INTERFACES.iter().find(|(u, _)| *u == uuid).map(|(_, n)| *n)
}

/// An interface (abstract syntax) as bound.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Iface {
    pub uuid: String,
    pub version: u16,
    pub name: String,
    /// The NDR64 transfer syntax was negotiated.
    pub ndr64: bool,
}

const NDR64: &str = "71710533-beba-4937-8319-b5dbef9ccc36";

impl Iface {
    fn new(uuid: String, version: u16) -> Self {
        let name = interface_name(&uuid)
            .map(str::to_string)
            .unwrap_or_else(|| uuid.clone());
        Iface {
            uuid,
            version,
            name,
            ndr64: false,
        }
    }
}

#[derive(Debug)]
struct Call {
    opnum: u16,
    iface: Option<Iface>,
    frame: FrameRef,
    first_frame: u64,
    stub: Vec<u8>,
    encrypted: bool,
    complete: bool,
    decoded: Option<Decoded>,
    object: Option<String>,
}

/// What the caller needs to know about the account and path of an association.
#[derive(Debug, Clone)]
pub struct RpcEnv<'a> {
    pub conn: &'a ConnInfo,
    pub who: &'a Who,
    /// How the association is reached: a pipe path (`\\dc1\IPC$\svcctl`) or `ncacn_ip_tcp`.
    pub via: &'a str,
}

/// One DCE/RPC association (a named pipe, or a TCP connection).
#[derive(Debug, Default)]
pub struct Association {
    bufs: [Vec<u8>; 2],
    /// Frame that brought the first byte of the PDU being buffered, per direction.
    starts: [Option<FrameRef>; 2],
    contexts: BTreeMap<u16, Iface>,
    pending_binds: BTreeMap<u32, Vec<(u16, Iface)>>,
    calls: BTreeMap<u32, Call>,
    resp_stub: BTreeMap<u32, Vec<u8>>,
    /// svcctl handles to service names.
    handles: BTreeMap<Vec<u8>, String>,
    /// IDispatch member names looked up on this association.
    dispatch_names: Vec<String>,
    /// Operation counts, `iface.operation` → n.
    pub ops: BTreeMap<String, u64>,
    /// Interfaces accepted on this association.
    pub bound: BTreeSet<String>,
    /// The account that authenticated inside DCE/RPC (binds / auth3), when seen.
    pub who: Who,
    /// Highest authentication level seen (0 = none).
    pub auth_level: u8,
    /// Endpoints learned from endpoint-mapper answers: (ip or empty for "same host", port, interface).
    pub learned: Vec<(String, u16, String)>,
    pub pdus: u64,
    pub encrypted_calls: u64,
    /// `ExecuteShellCommand` / `ShellExecute` was named in a cleartext stub (IDispatch name
    /// lookups, ITypeInfo answers) on this association.
    pub shell_names_seen: bool,
    dead: bool,
}

fn status_text(code: u32) -> String {
    match code {
        0 => "success".into(),
        5 => "ERROR_ACCESS_DENIED (5)".into(),
        0x32 => "ERROR_NOT_SUPPORTED (0x32)".into(),
        0x424 => "ERROR_SERVICE_DOES_NOT_EXIST (0x424)".into(),
        0x431 => "ERROR_SERVICE_EXISTS (0x431)".into(),
        0x420 => "ERROR_SERVICE_ALREADY_RUNNING (0x420)".into(),
        0x1c010003 => "nca_s_op_rng_error (0x1c010003)".into(),
        c => format!("{c:#x}"),
    }
}

const SHELL_NAMES: &[&str] = &["ExecuteShellCommand", "ShellExecute"];

fn names_shell(stub: &[u8]) -> bool {
    SHELL_NAMES.iter().any(|n| {
        let w: Vec<u8> = n.encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
        crate::util::find(stub, &w).is_some()
    })
}

impl Association {
    /// Another association of the same client and server named a shell-execution member.
    pub fn note_shell_names(&mut self) {
        if !self.shell_names_seen {
            self.shell_names_seen = true;
            self.dispatch_names.push("ExecuteShellCommand".into());
        }
    }

    /// Feed stream bytes; `dir` 0 = client to server, 1 = server to client.
    #[allow(clippy::too_many_arguments)]
    pub fn feed(
        &mut self,
        dir: usize,
        data: &[u8],
        frame: FrameRef,
        env: &RpcEnv<'_>,
        em: &mut Emitter,
        issues: &mut Vec<CaptureIssue>,
    ) {
        self.feed_messages(dir, data, frame, env, em, issues);
        if let Some(buf) = self.bufs.get_mut(dir) {
            crate::util::release_spare(buf);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn feed_messages(
        &mut self,
        dir: usize,
        data: &[u8],
        frame: FrameRef,
        env: &RpcEnv<'_>,
        em: &mut Emitter,
        issues: &mut Vec<CaptureIssue>,
    ) {
        if self.dead {
            return;
        }
        let Some(buf) = self.bufs.get_mut(dir) else {
            return;
        };
        if buf.is_empty() {
            self.starts[dir] = Some(frame);
        }
        buf.extend_from_slice(data);
        loop {
            let Some(buf) = self.bufs.get(dir) else {
                return;
            };
            if buf.len() < 16 {
                return;
            }
            if buf.first() != Some(&5) || buf.get(1).copied().unwrap_or(0) > 1 {
                issues.push(CaptureIssue::at(
                    frame.number,
                    frame.offset,
                    format!(
                        "{}: {} bytes that are no DCE/RPC PDU (version {}); resynchronising",
                        env.conn.label(),
                        buf.len(),
                        buf.first().copied().unwrap_or(0)
                    ),
                ));
                self.bufs[dir].clear();
                return;
            }
            let little = buf.get(4).copied().unwrap_or(0x10) & 0x10 != 0;
            let raw = [buf[8], buf[9]];
            let frag_len = if little {
                u16::from_le_bytes(raw)
            } else {
                u16::from_be_bytes(raw)
            } as usize;
            if !(16..=MAX_FRAG).contains(&frag_len) {
                issues.push(CaptureIssue::at(
                    frame.number,
                    frame.offset,
                    format!(
                        "{}: DCE/RPC fragment length {frag_len} is impossible; resynchronising",
                        env.conn.label()
                    ),
                ));
                self.bufs[dir].clear();
                return;
            }
            if buf.len() < frag_len {
                return;
            }
            let pdu: Vec<u8> = self.bufs[dir].drain(..frag_len).collect();
            let first = self.starts[dir].unwrap_or(frame);
            self.starts[dir] = Some(frame);
            self.pdus += 1;
            if !little {
                // Big-endian data representation is legal but unused by Windows; count, do not decode.
                continue;
            }
            self.pdu(&pdu, first, frame, env, em);
        }
    }

    /// Bytes were lost in `dir`: drop the partial PDU.
    pub fn gap(&mut self, dir: usize) {
        if let Some(b) = self.bufs.get_mut(dir) {
            b.clear();
        }
        if let Some(s) = self.starts.get_mut(dir) {
            *s = None;
        }
    }

    fn pdu(
        &mut self,
        p: &[u8],
        first: FrameRef,
        frame: FrameRef,
        env: &RpcEnv<'_>,
        em: &mut Emitter,
    ) {
        let ptype = p.get(2).copied().unwrap_or(0xff);
        let flags = p.get(3).copied().unwrap_or(0);
        let auth_len = le16(p, 10).unwrap_or(0) as usize;
        let call_id = le32(p, 12).unwrap_or(0);
        // Auth verifier: 8-byte header then the token, at the end of the PDU.
        let (auth_hdr, token) = if auth_len > 0 && p.len() >= 16 + 8 + auth_len {
            let at = p.len() - auth_len - 8;
            (sub(p, at, 8), sub(p, at + 8, auth_len))
        } else {
            (None, None)
        };
        if let Some(h) = auth_hdr {
            let level = h.get(1).copied().unwrap_or(0);
            self.auth_level = self.auth_level.max(level);
            if self.who.auth.is_none() {
                self.who.auth = Some(match h.first().copied().unwrap_or(0) {
                    10 => "NTLM".to_string(),
                    9 => "Negotiate".to_string(),
                    16 => "Kerberos".to_string(),
                    68 => "Netlogon".to_string(),
                    t => format!("auth type {t}"),
                });
            }
        }
        if let Some(tok) = token {
            if matches!(ptype, 11 | 12 | 14 | 15 | 16) {
                self.auth_token(tok, frame, env, em);
            }
        }
        match ptype {
            11 | 14 => self.bind(p, call_id),
            12 | 15 => self.bind_ack(p, call_id, frame, env, em),
            0 => self.request(p, flags, call_id, auth_hdr, auth_len, first, frame, env, em),
            2 => self.response(p, flags, call_id, auth_hdr, auth_len, frame, env, em),
            3 => {
                let status = le32(p, 24).unwrap_or(0);
                self.finish_call(call_id, Some(status), true, None, frame, env, em);
            }
            _ => {}
        }
    }

    fn auth_token(&mut self, tok: &[u8], frame: FrameRef, env: &RpcEnv<'_>, em: &mut Emitter) {
        match crate::ntlmssp::find_message(tok) {
            Some(crate::ntlmssp::Message::Challenge(c)) => {
                if self.who.server_name.is_none() {
                    self.who.server_name = c.nb_computer.or(c.dns_computer);
                }
            }
            Some(crate::ntlmssp::Message::Authenticate(a)) => {
                self.who.user = Some(a.user.clone()).filter(|s| !s.is_empty());
                self.who.domain = Some(a.domain.clone()).filter(|s| !s.is_empty());
                self.who.workstation = Some(a.workstation.clone()).filter(|s| !s.is_empty());
                self.who.auth = Some(a.version.to_string());
                if self.who.server_name.is_none() {
                    self.who.server_name = a.nb_computer.clone();
                }
                let mut e = em.event(et::USER_LOGIN, "DCERPC", env.conn, frame);
                e.set_str(
                    f::DESCRIPTION,
                    format!("NTLM authentication inside DCE/RPC ({})", env.via),
                );
                e.set_str(f::PRODUCT_EVENT_TYPE, "NTLMSSP_AUTH");
                e.set_str(f::TARGET_USERID, a.user.clone());
                e.set_str(f::TARGET_DOMAIN, a.domain.clone());
                e.set_str(f::PRINCIPAL_HOSTNAME, a.workstation.clone());
                e.set_str(f::SRC_HOSTNAME, a.workstation.clone());
                if let Some(s) = &self.who.server_name {
                    e.set_str(f::TARGET_HOSTNAME, s.clone());
                }
                e.set_str(f::AUTH_MECHANISM, "NETWORK");
                e.set_str(f::AUTH_DETAILS, format!("NTLM {}", a.version));
                if let Some(spn) = &a.target_spn {
                    e.set_str(f::TARGET_URL, spn.clone());
                }
                if a.anonymous {
                    e.additional.insert("anonymous".into(), "true".into());
                }
                em.push(frame, e);
            }
            _ => {
                if let Some(k) = crate::kerberos::find_ap_req(tok) {
                    self.who.auth = Some("Kerberos".into());
                    if let Some(s) = k.sname {
                        if self.who.server_name.is_none() {
                            self.who.server_name = s.split('/').nth(1).map(str::to_string);
                        }
                        let mut e = em.event(et::USER_LOGIN, "DCERPC", env.conn, frame);
                        e.set_str(
                            f::DESCRIPTION,
                            format!("Kerberos AP-REQ inside DCE/RPC for {s}"),
                        );
                        e.set_str(f::PRODUCT_EVENT_TYPE, "KRB_AP_REQ");
                        e.set_str(f::TARGET_URL, s.clone());
                        if let Some(h) = s.split('/').nth(1) {
                            e.set_str(f::TARGET_HOSTNAME, h.to_string());
                        }
                        if let Some(r) = k.realm {
                            e.set_str(f::TARGET_DOMAIN, r);
                        }
                        e.set_str(f::AUTH_MECHANISM, "NETWORK");
                        e.set_str(f::AUTH_DETAILS, "Kerberos");
                        em.push(frame, e);
                    }
                }
            }
        }
    }

    fn bind(&mut self, p: &[u8], call_id: u32) {
        let n = p.get(24).copied().unwrap_or(0) as usize;
        let mut pos = 28usize;
        let mut items = Vec::new();
        for _ in 0..n {
            let (Some(ctx_id), Some(n_ts)) = (le16(p, pos), p.get(pos + 2).copied()) else {
                break;
            };
            let Some(uuid) = sub(p, pos + 4, 16).and_then(guid) else {
                break;
            };
            let ver = le16(p, pos + 20).unwrap_or(0);
            let mut iface = Iface::new(uuid, ver);
            iface.ndr64 = sub(p, pos + 24, 16).and_then(guid).as_deref() == Some(NDR64);
            items.push((ctx_id, iface));
            pos = pos.saturating_add(24 + 20 * n_ts as usize);
        }
        self.pending_binds.insert(call_id, items);
    }

    fn bind_ack(
        &mut self,
        p: &[u8],
        call_id: u32,
        frame: FrameRef,
        env: &RpcEnv<'_>,
        em: &mut Emitter,
    ) {
        let items = self.pending_binds.remove(&call_id).unwrap_or_default();
        let sec_len = le16(p, 24).unwrap_or(0) as usize;
        let mut pos = 26 + sec_len;
        pos += (4 - pos % 4) % 4;
        let n = p.get(pos).copied().unwrap_or(0) as usize;
        pos += 4;
        let mut accepted = Vec::new();
        for i in 0..n {
            let Some(result) = le16(p, pos + i * 24) else {
                break;
            };
            if result == 0 {
                if let Some((ctx_id, iface)) = items.get(i) {
                    let mut iface = iface.clone();
                    if let Some(ts) = sub(p, pos + i * 24 + 4, 16).and_then(guid) {
                        iface.ndr64 = ts == NDR64;
                    }
                    accepted.push((*ctx_id, iface));
                }
            }
        }
        for (ctx_id, iface) in &accepted {
            self.contexts.insert(*ctx_id, iface.clone());
            if self.bound.insert(iface.name.clone()) {
                let mut e = em.event(et::GENERIC_EVENT, "DCERPC", env.conn, frame);
                e.set_str(
                    f::DESCRIPTION,
                    format!(
                        "DCE/RPC bind to {} v{} accepted (context id {}, {} context items offered{})",
                        iface.name,
                        iface.version,
                        ctx_id,
                        items.len(),
                        if iface.ndr64 { ", NDR64" } else { "" }
                    ),
                );
                e.set_str(f::PRODUCT_EVENT_TYPE, "DCERPC_BIND");
                e.set_str(f::TARGET_APPLICATION, iface.name.clone());
                e.additional
                    .insert("rpc_interface_uuid".into(), iface.uuid.clone());
                e.additional
                    .insert("rpc_interface_version".into(), iface.version.to_string());
                e.additional
                    .insert("rpc_context_id".into(), ctx_id.to_string());
                e.additional
                    .insert("rpc_context_items".into(), items.len().to_string());
                e.additional.insert("rpc_via".into(), env.via.to_string());
                let who = self.merged(env.who);
                who.apply_actor(&mut e);
                em.push(frame, e);
            }
        }
    }

    /// The session's account, completed by what this association authenticated with.
    fn merged(&self, outer: &Who) -> Who {
        let mut w = outer.clone();
        if w.user.is_none() {
            w.user = self.who.user.clone();
            w.domain = self.who.domain.clone();
        }
        if w.workstation.is_none() {
            w.workstation = self.who.workstation.clone();
        }
        if w.server_name.is_none() {
            w.server_name = self.who.server_name.clone();
        }
        if w.auth.is_none() {
            w.auth = self.who.auth.clone();
        }
        w
    }

    #[allow(clippy::too_many_arguments)]
    fn request(
        &mut self,
        p: &[u8],
        flags: u8,
        call_id: u32,
        auth_hdr: Option<&[u8]>,
        auth_len: usize,
        first_frame: FrameRef,
        frame: FrameRef,
        env: &RpcEnv<'_>,
        em: &mut Emitter,
    ) {
        let ctx_id = le16(p, 20).unwrap_or(0);
        let opnum = le16(p, 22).unwrap_or(0);
        let mut start = 24usize;
        let mut object = None;
        if flags & 0x80 != 0 {
            object = sub(p, 24, 16).and_then(guid);
            start += 16;
        }
        let (stub, level) = stub_of(p, start, auth_hdr, auth_len);
        let encrypted = level >= 6;
        let first = flags & 0x01 != 0;
        let last = flags & 0x02 != 0;
        if first || !self.calls.contains_key(&call_id) {
            let iface = self.contexts.get(&ctx_id).cloned();
            self.calls.insert(
                call_id,
                Call {
                    opnum,
                    iface,
                    frame,
                    first_frame: first_frame.number,
                    stub: Vec::new(),
                    encrypted,
                    complete: false,
                    decoded: None,
                    object,
                },
            );
        }
        let Some(call) = self.calls.get_mut(&call_id) else {
            return;
        };
        if call.stub.len() + stub.len() <= MAX_STUB {
            call.stub.extend_from_slice(stub);
        }
        call.frame = frame;
        call.encrypted |= encrypted;
        if !last {
            return;
        }
        call.complete = true;
        let iface_name = call
            .iface
            .as_ref()
            .map(|i| i.name.clone())
            .unwrap_or_else(|| format!("context {ctx_id}"));
        let op = ndr::op_name(&iface_name, call.opnum);
        *self.ops.entry(format!("{iface_name}.{op}")).or_insert(0) += 1;
        if call.encrypted {
            self.encrypted_calls += 1;
        } else {
            let handles = &self.handles;
            let ndr64 = call.iface.as_ref().is_some_and(|i| i.ndr64);
            call.decoded = ndr::decode_request(
                &iface_name,
                call.opnum,
                ndr64,
                &call.stub,
                handles,
                &self.dispatch_names,
            );
            if let Some(Decoded::DispatchNames(names)) = &call.decoded {
                self.dispatch_names.extend(names.iter().cloned());
            }
        }
        // Decoded: the stub is not needed again, and a call whose answer never comes stays
        // until the connection ends.
        call.stub = Vec::new();
        let _ = (env, em);
    }

    #[allow(clippy::too_many_arguments)]
    fn response(
        &mut self,
        p: &[u8],
        flags: u8,
        call_id: u32,
        auth_hdr: Option<&[u8]>,
        auth_len: usize,
        frame: FrameRef,
        env: &RpcEnv<'_>,
        em: &mut Emitter,
    ) {
        let (stub, level) = stub_of(p, 24, auth_hdr, auth_len);
        let buf = self.resp_stub.entry(call_id).or_default();
        if flags & 0x01 != 0 {
            buf.clear();
        }
        if buf.len() + stub.len() <= MAX_STUB {
            buf.extend_from_slice(stub);
        }
        if flags & 0x02 == 0 {
            return;
        }
        let stub = self.resp_stub.remove(&call_id).unwrap_or_default();
        let encrypted = level >= 6;
        if !encrypted && names_shell(&stub) {
            self.note_shell_names();
        }
        let status = if encrypted || stub.len() < 4 {
            None
        } else {
            le32(&stub, stub.len() - 4)
        };
        self.finish_call(
            call_id,
            status,
            false,
            (!encrypted).then_some(stub),
            frame,
            env,
            em,
        );
    }

    #[allow(clippy::too_many_arguments)]
    fn finish_call(
        &mut self,
        call_id: u32,
        status: Option<u32>,
        fault: bool,
        resp: Option<Vec<u8>>,
        frame: FrameRef,
        env: &RpcEnv<'_>,
        em: &mut Emitter,
    ) {
        let Some(call) = self.calls.remove(&call_id) else {
            return;
        };
        let iface = call
            .iface
            .as_ref()
            .map(|i| i.name.clone())
            .unwrap_or_default();
        // Learn from answers: handles (svcctl) and endpoints (epm).
        if let (Some(resp), Some(0)) = (&resp, status) {
            if iface == "svcctl" && resp.len() >= 24 {
                let name = match &call.decoded {
                    Some(Decoded::Service(s)) => Some(s.name.clone()),
                    Some(Decoded::ServiceOp {
                        service: Some(n), ..
                    }) => Some(n.clone()),
                    _ => None,
                };
                if let (Some(name), Some(h)) = (name, sub(resp, resp.len() - 24, 20)) {
                    self.handles.insert(h.to_vec(), name);
                }
            }
        }
        if iface == "epm" && call.opnum == 3 {
            if let Some(resp) = &resp {
                for (ip, port) in ndr::epm_endpoints(resp) {
                    self.learned.push((ip, port, String::new()));
                }
            }
        }
        if iface == "IDispatch" && call.opnum == 5 {
            // GetIDsOfNames: names were recorded with the request.
        }
        self.emit_call(call, status, fault, Some(frame), env, em);
    }

    fn emit_call(
        &mut self,
        call: Call,
        status: Option<u32>,
        fault: bool,
        resp_frame: Option<FrameRef>,
        env: &RpcEnv<'_>,
        em: &mut Emitter,
    ) {
        let iface = call
            .iface
            .as_ref()
            .map(|i| i.name.clone())
            .unwrap_or_default();
        let op = ndr::op_name(&iface, call.opnum);
        let Some(kind) = ndr::event_kind(&iface, call.opnum, call.decoded.as_ref()) else {
            return;
        };
        let who = self.merged(env.who);
        let mut e = em.event(kind.event_type, "DCERPC", env.conn, call.frame);
        who.apply_actor(&mut e);
        e.set_str(f::PRODUCT_EVENT_TYPE, format!("{iface}.{op}"));
        e.additional.insert("rpc_interface".into(), iface.clone());
        e.additional
            .insert("rpc_opnum".into(), call.opnum.to_string());
        e.additional.insert("rpc_operation".into(), op.to_string());
        e.additional.insert("rpc_via".into(), env.via.to_string());
        if call.first_frame != call.frame.number {
            e.additional
                .insert("first_frame".into(), call.first_frame.to_string());
        }
        if let Some(o) = &call.object {
            e.additional.insert("rpc_object".into(), o.clone());
        }
        if let Some(r) = resp_frame {
            e.additional
                .insert("response_frame".into(), r.number.to_string());
        }
        let mut desc = kind.description.to_string();
        if call.encrypted {
            e.additional.insert("stub_encrypted".into(), "true".into());
            desc.push_str(" (stub encrypted: RPC packet privacy; only the operation is known)");
        }
        match status {
            Some(0) if !fault => {
                e.set_str(f::ACTION, "ALLOW");
                e.set_str(f::SECURITY_SUMMARY, "success");
            }
            Some(code) => {
                e.set_str(
                    f::ACTION,
                    if code == 5 || code == 0xc000_0022 {
                        "BLOCK"
                    } else {
                        "FAIL"
                    },
                );
                let text = status_text(code);
                e.set_str(
                    f::SECURITY_SUMMARY,
                    if fault { format!("fault {text}") } else { text },
                );
                e.additional
                    .insert("rpc_status".into(), format!("{code:#x}"));
            }
            None => {
                e.set_str(f::ACTION, "UNKNOWN_ACTION");
            }
        }
        // A creation that failed is no creation.
        let failed = matches!(status, Some(c) if c != 0) || fault;
        if failed
            && (kind.event_type == et::SERVICE_CREATION
                || kind.event_type == et::SCHEDULED_TASK_CREATION)
        {
            e.set_str(
                f::EVENT_TYPE,
                if kind.event_type == et::SERVICE_CREATION {
                    et::SERVICE_UNSPECIFIED
                } else {
                    et::SCHEDULED_TASK_MODIFICATION
                },
            );
            desc = format!("{desc} - failed");
        }
        if let Some(d) = &call.decoded {
            ndr::apply(d, &mut e, &mut desc, &self.handles);
        }
        e.set_str(f::DESCRIPTION, desc);
        em.push(call.frame, e);
    }

    /// End of the association: calls without an answer are reported with an unknown outcome.
    pub fn close(&mut self, env: &RpcEnv<'_>, em: &mut Emitter) {
        let calls = std::mem::take(&mut self.calls);
        for (_, call) in calls {
            if call.complete {
                self.emit_call(call, None, false, None, env, em);
            }
        }
    }
}

/// The stub of a request/response PDU starting at `start`, without the auth trailer, and the
/// auth level.
fn stub_of<'a>(
    p: &'a [u8],
    start: usize,
    auth_hdr: Option<&[u8]>,
    auth_len: usize,
) -> (&'a [u8], u8) {
    let (end, level) = match auth_hdr {
        Some(h) => {
            let pad = h.get(2).copied().unwrap_or(0) as usize;
            let level = h.get(1).copied().unwrap_or(0);
            (p.len().saturating_sub(auth_len + 8 + pad), level)
        }
        None => (p.len(), 0),
    };
    (p.get(start..end.max(start)).unwrap_or_default(), level)
}

/// An event of `kind` for an interesting DCE/RPC operation.
pub struct EventKind {
    pub event_type: &'static str,
    pub description: String,
}

/// A UDM event of the RPC side, for callers that want to add their own.
pub fn new_event(em: &Emitter, event_type: &str, conn: &ConnInfo, frame: FrameRef) -> UdmEvent {
    em.event(event_type, "DCERPC", conn, frame)
}
