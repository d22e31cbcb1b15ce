//! SMB over TCP (NetBIOS session service framing): SMB1 and SMB2/3.
//!
//! Follows sessions (authentication: NTLMSSP and Kerberos inside SPNEGO), tree connects,
//! opens (file ids to names, per session and tree), writes (bytes written, PE header seen),
//! reads, pipe transceive, delete-on-close / set-info delete and close; hands named-pipe
//! traffic to [`crate::dcerpc`]. SMB3 encrypted (transform) and compressed messages are
//! counted as a visibility gap.

// Protocol handlers pass the connection, frame, emitter and issue list along explicitly.
#![allow(clippy::too_many_arguments)]

use std::collections::BTreeMap;

use lateral_model::{f, vocab::event_type as et};

use crate::dcerpc::{Association, RpcEnv};
use crate::emit::{ConnInfo, Emitter, FrameRef, Who};
use crate::error::CaptureIssue;
use crate::kerberos::{self, KrbInfo};
use crate::ntlmssp::{self, Authenticate, Challenge, Message};
use crate::util::{le16, le32, le64, sub, utf16};

const MAX_NBSS: usize = 16 << 20;
const STATUS_MORE_PROCESSING: u32 = 0xc000_0016;
const STATUS_PENDING: u32 = 0x0000_0103;

/// Pipe names that identify an RPC endpoint even when the tree connect was not captured.
const KNOWN_PIPES: &[&str] = &[
    "svcctl",
    "atsvc",
    "samr",
    "lsarpc",
    "srvsvc",
    "wkssvc",
    "winreg",
    "netlogon",
    "spoolss",
    "epmapper",
    "eventlog",
    "ntsvcs",
    "browser",
    "lsass",
    "protected_storage",
    "psexesvc",
];

#[derive(Debug, Default, Clone)]
struct Session {
    who: Who,
}

#[derive(Debug, Clone)]
struct Tree {
    path: String,
    is_pipe: bool,
}

#[derive(Debug)]
struct FileState {
    session: u64,
    tree_path: String,
    name: String,
    is_pipe: bool,
    open: FrameRef,
    access: u32,
    disposition: u32,
    action: u32,
    written: u64,
    writes: u64,
    first_write: Option<u64>,
    last_write: Option<u64>,
    read: u64,
    reads: u64,
    pe: bool,
    delete_on_close: bool,
    rpc: Option<Association>,
    /// The pipe carries something else than DCE/RPC (PsExec's own pipes, for example).
    not_rpc: bool,
    tree_inferred: bool,
}

impl FileState {
    fn full_path(&self) -> String {
        let name = self.name.trim_start_matches('\\');
        if name.is_empty() {
            self.tree_path.clone()
        } else {
            format!("{}\\{}", self.tree_path, name)
        }
    }
}

#[derive(Debug, Clone)]
enum Pending {
    SessionSetup {
        auth: Option<Box<Authenticate>>,
        krb: Option<Box<KrbInfo>>,
        kerberos: bool,
        frame: FrameRef,
    },
    TreeConnect {
        path: String,
        frame: FrameRef,
    },
    Create {
        session: u64,
        tree: u32,
        name: String,
        access: u32,
        disposition: u32,
        options: u32,
        frame: FrameRef,
    },
    Read {
        fid: u128,
    },
    Ioctl {
        fid: u128,
    },
    SetInfo {
        fid: u128,
        delete: bool,
        frame: FrameRef,
    },
}

/// State of one SMB connection.
#[derive(Debug, Default)]
pub struct SmbConn {
    bufs: [Vec<u8>; 2],
    synced: [bool; 2],
    /// `SMB1`, `SMB 2.1`, `SMB 3.1.1` ...
    pub dialect: Option<String>,
    pub challenge: Option<Challenge>,
    sessions: BTreeMap<u64, Session>,
    trees: BTreeMap<(u64, u32), Tree>,
    files: BTreeMap<u128, FileState>,
    pending: BTreeMap<(u64, u8), Pending>,
    pub messages: u64,
    pub encrypted: u64,
    pub compressed: u64,
    pub unparsed_trans: u64,
    /// Shares connected, in order.
    pub shares: Vec<String>,
    /// Pipe and file names opened, in order (deduplicated).
    pub opened: Vec<String>,
    pub rpc_ops: BTreeMap<String, u64>,
    pub accounts: Vec<String>,
}

fn is_ipc(path: &str) -> bool {
    path.to_ascii_uppercase().ends_with("\\IPC$")
}

fn utf16z(b: &[u8], off: usize) -> String {
    let mut end = off;
    while let Some(p) = b.get(end..end + 2) {
        if p == [0, 0] {
            break;
        }
        end += 2;
    }
    b.get(off..end).map(utf16).unwrap_or_default()
}

fn asciiz(b: &[u8], off: usize) -> String {
    let rest = b.get(off..).unwrap_or_default();
    let end = rest.iter().position(|c| *c == 0).unwrap_or(rest.len());
    String::from_utf8_lossy(rest.get(..end).unwrap_or_default()).into_owned()
}

fn status_name(s: u32) -> String {
    match s {
        0 => "STATUS_SUCCESS".into(),
        0xc000_0022 => "STATUS_ACCESS_DENIED (0xc0000022)".into(),
        0xc000_006d => "STATUS_LOGON_FAILURE (0xc000006d)".into(),
        0xc000_0034 => "STATUS_OBJECT_NAME_NOT_FOUND (0xc0000034)".into(),
        0xc000_00cc => "STATUS_BAD_NETWORK_NAME (0xc00000cc)".into(),
        0xc000_0043 => "STATUS_SHARING_VIOLATION (0xc0000043)".into(),
        0xc000_0035 => "STATUS_OBJECT_NAME_COLLISION (0xc0000035)".into(),
        0xc000_0072 => "STATUS_ACCOUNT_DISABLED (0xc0000072)".into(),
        s => format!("{s:#010x}"),
    }
}

fn action_of(status: u32) -> &'static str {
    match status {
        0 => "ALLOW",
        0xc000_0022 => "BLOCK",
        _ => "FAIL",
    }
}

impl SmbConn {
    /// Stream bytes in direction `dir` (0 = client to server).
    pub fn feed(
        &mut self,
        dir: usize,
        data: &[u8],
        frame: FrameRef,
        conn: &ConnInfo,
        em: &mut Emitter,
        issues: &mut Vec<CaptureIssue>,
    ) {
        self.feed_messages(dir, data, frame, conn, em, issues);
        if let Some(buf) = self.bufs.get_mut(dir) {
            crate::util::release_spare(buf);
        }
    }

    fn feed_messages(
        &mut self,
        dir: usize,
        data: &[u8],
        frame: FrameRef,
        conn: &ConnInfo,
        em: &mut Emitter,
        issues: &mut Vec<CaptureIssue>,
    ) {
        let Some(buf) = self.bufs.get_mut(dir) else {
            return;
        };
        if buf.len() + data.len() > MAX_NBSS * 2 {
            issues.push(CaptureIssue::at(
                frame.number,
                frame.offset,
                format!("{}: SMB buffer overflow; resynchronising", conn.label()),
            ));
            buf.clear();
            self.synced[dir] = false;
        }
        let Some(buf) = self.bufs.get_mut(dir) else {
            return;
        };
        buf.extend_from_slice(data);
        loop {
            if !self.synced[dir] && !self.resync(dir) {
                return;
            }
            let buf = &self.bufs[dir];
            if buf.len() < 4 {
                return;
            }
            let kind = buf[0];
            let len = ((buf[1] as usize) << 16) | ((buf[2] as usize) << 8) | buf[3] as usize;
            if len > MAX_NBSS || !matches!(kind, 0x00 | 0x81 | 0x82 | 0x83 | 0x84 | 0x85) {
                issues.push(CaptureIssue::at(
                    frame.number,
                    frame.offset,
                    format!("{}: bad NetBIOS session header (type {kind:#x}, length {len}); resynchronising", conn.label()),
                ));
                self.synced[dir] = false;
                self.bufs[dir].drain(..1);
                continue;
            }
            if buf.len() < 4 + len {
                return;
            }
            let msg: Vec<u8> = self.bufs[dir].drain(..4 + len).skip(4).collect();
            if kind == 0 && !msg.is_empty() {
                self.messages += 1;
                self.message(dir, &msg, frame, conn, em, issues);
            }
        }
    }

    /// Bytes were lost: find the next message start.
    pub fn gap(&mut self, dir: usize) {
        if let Some(b) = self.bufs.get_mut(dir) {
            b.clear();
        }
        if let Some(s) = self.synced.get_mut(dir) {
            *s = false;
        }
        for f in self.files.values_mut() {
            if let Some(a) = f.rpc.as_mut() {
                a.gap(dir);
            }
        }
    }

    fn resync(&mut self, dir: usize) -> bool {
        let buf = &mut self.bufs[dir];
        let mut i = 0usize;
        while i + 8 <= buf.len() {
            let sig = &buf[i + 4..i + 8];
            if buf[i] == 0 && matches!(sig[0], 0xfc..=0xff) && &sig[1..4] == b"SMB" {
                buf.drain(..i);
                self.synced[dir] = true;
                return true;
            }
            i += 1;
        }
        let keep = buf.len().saturating_sub(7);
        buf.drain(..keep);
        false
    }

    fn message(
        &mut self,
        dir: usize,
        msg: &[u8],
        frame: FrameRef,
        conn: &ConnInfo,
        em: &mut Emitter,
        issues: &mut Vec<CaptureIssue>,
    ) {
        match msg.get(..4) {
            Some([0xfe, b'S', b'M', b'B']) => self.smb2(dir, msg, frame, conn, em, issues),
            Some([0xff, b'S', b'M', b'B']) => self.smb1(dir, msg, frame, conn, em, issues),
            Some([0xfd, b'S', b'M', b'B']) => self.encrypted += 1,
            Some([0xfc, b'S', b'M', b'B']) => self.compressed += 1,
            _ => issues.push(CaptureIssue::at(
                frame.number,
                frame.offset,
                format!("{}: NetBIOS message without SMB header", conn.label()),
            )),
        }
    }

    fn who(&self, session: u64, conn: &ConnInfo) -> Who {
        let mut w = self
            .sessions
            .get(&session)
            .map(|s| s.who.clone())
            .unwrap_or_default();
        if w.session.is_none() && session != 0 {
            w.session = Some(format!("{session:#x}"));
        }
        if w.server_name.is_none() {
            w.server_name = self
                .challenge
                .as_ref()
                .and_then(|c| c.nb_computer.clone().or(c.dns_computer.clone()));
        }
        let _ = conn;
        w
    }

    // ---------------------------------------------------------------- sessions

    fn setup_request(&mut self, key: (u64, u8), blob: &[u8], frame: FrameRef) {
        let auth = match ntlmssp::find_message(blob) {
            Some(Message::Authenticate(a)) => Some(a),
            _ => None,
        };
        let krb = if auth.is_none() {
            kerberos::find_ap_req(blob)
        } else {
            None
        };
        let is_krb = krb.is_some()
            || (auth.is_none()
                && kerberos::mentions_kerberos(blob)
                && ntlmssp::find_message(blob).is_none());
        self.pending.insert(
            key,
            Pending::SessionSetup {
                auth: auth.map(Box::new),
                krb: krb.map(Box::new),
                kerberos: is_krb,
                frame,
            },
        );
    }

    #[allow(clippy::too_many_arguments)]
    fn setup_response(
        &mut self,
        key: (u64, u8),
        session: u64,
        status: u32,
        blob: &[u8],
        frame: FrameRef,
        conn: &ConnInfo,
        app: &str,
        em: &mut Emitter,
    ) {
        if let Some(Message::Challenge(c)) = ntlmssp::find_message(blob) {
            self.challenge = Some(c);
        }
        let Some(Pending::SessionSetup {
            auth,
            krb,
            kerberos,
            frame: req,
        }) = self.pending.remove(&key)
        else {
            return;
        };
        if status == STATUS_MORE_PROCESSING && auth.is_none() && krb.is_none() {
            return;
        }
        if auth.is_none() && krb.is_none() && !kerberos {
            return;
        }
        let mut who = Who {
            session: Some(format!("{session:#x}")),
            ..Default::default()
        };
        let mut e = em.event(et::USER_LOGIN, app, conn, req);
        e.set_str(f::AUTH_MECHANISM, "NETWORK");
        if let Some(a) = &auth {
            who.user = Some(a.user.clone()).filter(|s| !s.is_empty());
            who.domain = Some(a.domain.clone()).filter(|s| !s.is_empty());
            who.workstation = Some(a.workstation.clone()).filter(|s| !s.is_empty());
            who.auth = Some(format!("NTLM {}", a.version));
            e.set_str(f::PRODUCT_EVENT_TYPE, "NTLMSSP_AUTH");
            e.set_str(f::TARGET_USERID, a.user.clone());
            e.set_str(f::TARGET_DOMAIN, a.domain.clone());
            e.set_str(f::SRC_HOSTNAME, a.workstation.clone());
            if a.anonymous {
                e.additional.insert("anonymous".into(), "true".into());
                e.set_str(f::TARGET_USERID, "ANONYMOUS LOGON");
            }
            if let Some(spn) = &a.target_spn {
                e.set_str(f::TARGET_URL, spn.clone());
            }
            who.server_name = self
                .challenge
                .as_ref()
                .and_then(|c| c.nb_computer.clone().or(c.dns_computer.clone()))
                .or(a.nb_computer.clone());
            if let Some(c) = &self.challenge {
                if let Some(d) = &c.dns_computer {
                    e.additional.insert("server_dns_name".into(), d.clone());
                }
                if let Some(d) = &c.nb_domain {
                    e.additional.insert("server_nb_domain".into(), d.clone());
                }
                if let Some(d) = &c.dns_domain {
                    e.additional.insert("server_dns_domain".into(), d.clone());
                }
                if let Some(v) = &c.os_version {
                    e.additional.insert("server_os_version".into(), v.clone());
                }
            }
            e.set_str(
                f::DESCRIPTION,
                format!("SMB session setup with NTLM ({})", a.version),
            );
        } else {
            who.auth = Some("Kerberos".into());
            e.set_str(f::PRODUCT_EVENT_TYPE, "KRB_AP_REQ");
            let mut desc = "SMB session setup with Kerberos".to_string();
            if let Some(k) = &krb {
                if let Some(s) = &k.sname {
                    e.set_str(f::TARGET_URL, s.clone());
                    who.server_name = s.split('/').nth(1).map(str::to_string);
                    desc.push_str(&format!(" for {s}"));
                }
                if let Some(r) = &k.realm {
                    e.set_str(f::TARGET_DOMAIN, r.clone());
                }
            }
            e.additional.insert(
                "user_hidden".into(),
                "Kerberos: the account is only in the encrypted authenticator".into(),
            );
            e.set_str(f::DESCRIPTION, desc);
        }
        who.apply_hosts(&mut e);
        e.set_str(f::AUTH_DETAILS, who.auth.clone().unwrap_or_default());
        let ok = status == 0;
        e.set_str(f::ACTION, action_of(status));
        e.set_str(f::SECURITY_SUMMARY, status_name(status));
        e.additional
            .insert("setup_request_frame".into(), req.number.to_string());
        e.additional
            .insert("setup_response_frame".into(), frame.number.to_string());
        em.push(req, e);
        if ok || status == STATUS_MORE_PROCESSING {
            if let Some(acct) = who.account() {
                if !self.accounts.contains(&acct) {
                    self.accounts.push(acct);
                }
            }
            self.sessions.insert(session, Session { who });
        }
    }

    fn tree_event(
        &mut self,
        session: u64,
        tid: u32,
        path: String,
        share_type: Option<u8>,
        status: u32,
        req: FrameRef,
        conn: &ConnInfo,
        em: &mut Emitter,
    ) {
        let mut who = self.who(session, conn);
        if who.server_name.is_none() {
            who.server_name = path
                .trim_start_matches('\\')
                .split('\\')
                .next()
                .map(str::to_string);
        }
        let mut e = em.event(et::USER_RESOURCE_ACCESS, "SMB", conn, req);
        who.apply_actor(&mut e);
        e.set_str(f::TARGET_RESOURCE, path.clone());
        e.set_str(f::PRODUCT_EVENT_TYPE, "SMB_TREE_CONNECT");
        e.set_str(f::DESCRIPTION, format!("SMB tree connect {path}"));
        let share = path.rsplit('\\').next().unwrap_or_default().to_string();
        e.additional.insert("share".into(), share);
        e.set_str(f::ACTION, action_of(status));
        e.set_str(f::SECURITY_SUMMARY, status_name(status));
        em.push(req, e);
        if status == 0 {
            let is_pipe = share_type == Some(2) || is_ipc(&path);
            if !self.shares.contains(&path) {
                self.shares.push(path.clone());
            }
            self.trees.insert((session, tid), Tree { path, is_pipe });
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn create_done(
        &mut self,
        fid: u128,
        session: u64,
        tree: u32,
        name: String,
        access: u32,
        disposition: u32,
        options: u32,
        action: u32,
        status: u32,
        req: FrameRef,
        resp: FrameRef,
        conn: &ConnInfo,
        em: &mut Emitter,
    ) {
        let known = self.trees.get(&(session, tree)).cloned().or_else(|| {
            self.trees
                .iter()
                .find(|((_, t), _)| *t == tree)
                .map(|(_, v)| v.clone())
        });
        let base = name.trim_start_matches('\\').to_ascii_lowercase();
        let (tree_path, is_pipe, inferred) = match known {
            Some(t) => (t.path, t.is_pipe, false),
            None if KNOWN_PIPES.contains(&base.as_str()) || base.starts_with("psexesvc") => {
                (format!("\\\\{}\\IPC$", conn.server_ip), true, true)
            }
            None => (
                format!("\\\\{}\\[tree {tree:#x}]", conn.server_ip),
                false,
                true,
            ),
        };
        let state = FileState {
            session,
            tree_path,
            name: name.trim_start_matches('\\').to_string(),
            is_pipe,
            open: req,
            access,
            disposition,
            action,
            written: 0,
            writes: 0,
            first_write: None,
            last_write: None,
            read: 0,
            reads: 0,
            pe: false,
            delete_on_close: options & 0x1000 != 0,
            rpc: None,
            not_rpc: false,
            tree_inferred: inferred,
        };
        let path = state.full_path();
        if !self.opened.contains(&path) {
            self.opened.push(path.clone());
        }
        if status != 0 {
            let who = self.who(session, conn);
            let mut e = em.event(et::FILE_OPEN, "SMB", conn, req);
            who.apply_actor(&mut e);
            e.set_str(f::TARGET_FILE_PATH, path.clone());
            e.set_str(f::TARGET_RESOURCE, state.tree_path.clone());
            e.set_str(f::PRODUCT_EVENT_TYPE, "SMB_CREATE");
            e.set_str(
                f::DESCRIPTION,
                format!(
                    "SMB open of {} failed: {}",
                    if is_pipe {
                        format!("named pipe {}", state.name)
                    } else {
                        path.clone()
                    },
                    status_name(status)
                ),
            );
            e.set_str(f::ACTION, action_of(status));
            e.set_str(f::SECURITY_SUMMARY, status_name(status));
            if is_pipe {
                e.additional.insert("named_pipe".into(), state.name.clone());
            }
            e.additional
                .insert("response_frame".into(), resp.number.to_string());
            e.additional
                .insert("desired_access".into(), format!("{access:#x}"));
            em.push(req, e);
            return;
        }
        if let Some(old) = self.files.remove(&fid) {
            self.finish_file(old, conn, em);
        }
        self.files.insert(fid, state);
    }

    fn write(
        &mut self,
        fid: u128,
        offset: u64,
        declared: u64,
        data: &[u8],
        frame: FrameRef,
        conn: &ConnInfo,
        em: &mut Emitter,
        issues: &mut Vec<CaptureIssue>,
    ) {
        let Some(file) = self.files.get_mut(&fid) else {
            return;
        };
        file.written += declared;
        file.writes += 1;
        file.first_write.get_or_insert(frame.number);
        file.last_write = Some(frame.number);
        if offset == 0 && data.starts_with(b"MZ") {
            file.pe = true;
        }
        if file.is_pipe
            || (file.writes == 1
                && data.first() == Some(&5)
                && data.get(1).is_some_and(|v| *v <= 1))
        {
            file.is_pipe = true;
            self.pipe_data(fid, 0, data, frame, conn, em, issues);
        }
    }

    fn pipe_data(
        &mut self,
        fid: u128,
        dir: usize,
        data: &[u8],
        frame: FrameRef,
        conn: &ConnInfo,
        em: &mut Emitter,
        issues: &mut Vec<CaptureIssue>,
    ) {
        let Some(session) = self.files.get(&fid).map(|f| f.session) else {
            return;
        };
        let who = self.who(session, conn);
        let Some(file) = self.files.get_mut(&fid) else {
            return;
        };
        if !file.is_pipe || file.not_rpc {
            return;
        }
        if file.rpc.is_none() {
            let looks_rpc = data.first() == Some(&5) && data.get(1).is_some_and(|v| *v <= 1);
            if dir != 0 || !looks_rpc {
                file.not_rpc = dir == 0;
                return;
            }
        }
        let via = file.full_path();
        let env = RpcEnv {
            conn,
            who: &who,
            via: &via,
        };
        file.rpc
            .get_or_insert_with(Association::default)
            .feed(dir, data, frame, &env, em, issues);
    }

    fn read_done(
        &mut self,
        fid: u128,
        data: &[u8],
        declared: u64,
        frame: FrameRef,
        conn: &ConnInfo,
        em: &mut Emitter,
        issues: &mut Vec<CaptureIssue>,
    ) {
        let Some(file) = self.files.get_mut(&fid) else {
            return;
        };
        file.read += declared;
        file.reads += 1;
        if file.is_pipe {
            self.pipe_data(fid, 1, data, frame, conn, em, issues);
        }
    }

    fn deleted(
        &mut self,
        fid: u128,
        frame: FrameRef,
        how: &str,
        conn: &ConnInfo,
        em: &mut Emitter,
    ) {
        let Some(file) = self.files.get(&fid) else {
            return;
        };
        let who = self.who(file.session, conn);
        let mut e = em.event("FILE_DELETION", "SMB", conn, frame);
        who.apply_actor(&mut e);
        e.set_str(f::TARGET_FILE_PATH, file.full_path());
        e.set_str(f::TARGET_RESOURCE, file.tree_path.clone());
        e.set_str(f::PRODUCT_EVENT_TYPE, "SMB_DELETE");
        e.set_str(
            f::DESCRIPTION,
            format!("File deleted over SMB ({how}): {}", file.full_path()),
        );
        em.push(frame, e);
    }

    fn close_file(&mut self, fid: u128, conn: &ConnInfo, em: &mut Emitter) {
        if let Some(file) = self.files.remove(&fid) {
            self.finish_file(file, conn, em);
        }
    }

    fn finish_file(&mut self, mut file: FileState, conn: &ConnInfo, em: &mut Emitter) {
        let who = self.who(file.session, conn);
        let path = file.full_path();
        if let Some(rpc) = file.rpc.as_mut() {
            let env = RpcEnv {
                conn,
                who: &who,
                via: &path,
            };
            rpc.close(&env, em);
            for (k, v) in &rpc.ops {
                *self.rpc_ops.entry(k.clone()).or_insert(0) += v;
            }
        }
        let created = file.written > 0 || matches!(file.action, 2 | 3);
        let kind = if file.is_pipe || !created {
            et::FILE_OPEN
        } else {
            et::FILE_CREATION
        };
        let mut e = em.event(kind, "SMB", conn, file.open);
        who.apply_actor(&mut e);
        e.set_str(f::TARGET_FILE_PATH, path.clone());
        e.set_str(f::TARGET_RESOURCE, file.tree_path.clone());
        e.set_str(
            f::PRODUCT_EVENT_TYPE,
            if file.is_pipe {
                "SMB_PIPE_OPEN"
            } else {
                "SMB_FILE"
            },
        );
        e.set_str(f::ACTION, "ALLOW");
        e.additional
            .insert("desired_access".into(), format!("{:#x}", file.access));
        e.additional
            .insert("create_disposition".into(), file.disposition.to_string());
        e.additional
            .insert("create_action".into(), file.action.to_string());
        if file.tree_inferred {
            e.additional.insert("tree_inferred".into(), "true".into());
        }
        if file.is_pipe {
            e.additional.insert("named_pipe".into(), file.name.clone());
            let mut desc = format!("Named pipe opened over SMB: {}", file.name);
            if let Some(rpc) = &file.rpc {
                if !rpc.bound.is_empty() {
                    let b: Vec<&str> = rpc.bound.iter().map(String::as_str).collect();
                    e.additional.insert("rpc_interfaces".into(), b.join(","));
                    desc.push_str(&format!(" (DCE/RPC {})", b.join(", ")));
                }
                if !rpc.ops.is_empty() {
                    let ops: Vec<String> =
                        rpc.ops.iter().map(|(k, v)| format!("{k} x{v}")).collect();
                    e.additional.insert("rpc_ops".into(), ops.join(", "));
                }
            }
            e.set_str(f::DESCRIPTION, desc);
        } else {
            let mut desc = if created {
                format!("File written over SMB: {path}")
            } else {
                format!("File opened over SMB: {path}")
            };
            if file.written > 0 {
                desc.push_str(&format!(
                    " ({} bytes written{})",
                    file.written,
                    if file.pe { ", PE header" } else { "" }
                ));
            }
            if file.read > 0 {
                desc.push_str(&format!(" ({} bytes read)", file.read));
            }
            e.set_str(f::DESCRIPTION, desc);
        }
        if file.written > 0 {
            e.additional
                .insert("bytes_written".into(), file.written.to_string());
            e.additional
                .insert("writes".into(), file.writes.to_string());
            e.additional
                .insert("pe_header_seen".into(), file.pe.to_string());
            if let (Some(a), Some(b)) = (file.first_write, file.last_write) {
                e.additional
                    .insert("write_frames".into(), format!("{a}-{b}"));
            }
        }
        if file.read > 0 {
            e.additional
                .insert("bytes_read".into(), file.read.to_string());
            e.additional.insert("reads".into(), file.reads.to_string());
        }
        em.push(file.open, e);
        if file.delete_on_close && !file.is_pipe {
            let mut d = em.event("FILE_DELETION", "SMB", conn, file.open);
            who.apply_actor(&mut d);
            d.set_str(f::TARGET_FILE_PATH, path.clone());
            d.set_str(f::TARGET_RESOURCE, file.tree_path.clone());
            d.set_str(f::PRODUCT_EVENT_TYPE, "SMB_DELETE");
            d.set_str(
                f::DESCRIPTION,
                format!("File deleted over SMB (delete on close): {path}"),
            );
            em.push(file.open, d);
        }
    }

    /// End of the connection: open files are reported.
    pub fn close(&mut self, conn: &ConnInfo, em: &mut Emitter) {
        let files = std::mem::take(&mut self.files);
        for (_, f) in files {
            self.finish_file(f, conn, em);
        }
    }

    // ---------------------------------------------------------------- SMB2

    fn smb2(
        &mut self,
        dir: usize,
        msg: &[u8],
        frame: FrameRef,
        conn: &ConnInfo,
        em: &mut Emitter,
        issues: &mut Vec<CaptureIssue>,
    ) {
        let mut off = 0usize;
        let mut last_fid: Option<u128> = None;
        for _ in 0..64 {
            let Some(rest) = msg.get(off..) else { return };
            if rest.get(..4) != Some(&[0xfe, b'S', b'M', b'B']) || rest.len() < 64 {
                if rest.len() >= 4 {
                    issues.push(CaptureIssue::at(
                        frame.number,
                        frame.offset,
                        format!("{}: damaged SMB2 header in compound", conn.label()),
                    ));
                }
                return;
            }
            let next = le32(rest, 20).unwrap_or(0) as usize;
            let one = if next > 0 {
                rest.get(..next).unwrap_or(rest)
            } else {
                rest
            };
            self.smb2_one(dir, one, frame, conn, em, issues, &mut last_fid);
            if next == 0 || next < 64 {
                return;
            }
            off += next;
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn smb2_one(
        &mut self,
        dir: usize,
        h: &[u8],
        frame: FrameRef,
        conn: &ConnInfo,
        em: &mut Emitter,
        issues: &mut Vec<CaptureIssue>,
        last_fid: &mut Option<u128>,
    ) {
        let status = le32(h, 8).unwrap_or(0);
        let cmd = le16(h, 12).unwrap_or(0xffff);
        let flags = le32(h, 16).unwrap_or(0);
        let mid = le64(h, 24).unwrap_or(0);
        let tid = le32(h, 36).unwrap_or(0);
        let session = le64(h, 40).unwrap_or(0);
        let response = flags & 1 != 0;
        let body = h.get(64..).unwrap_or_default();
        let key = (mid, cmd as u8);
        let fid_at = |off: usize| -> Option<u128> {
            sub(body, off, 16).map(|b| u128::from_le_bytes(b.try_into().unwrap_or([0; 16])))
        };
        let resolve = |fid: Option<u128>, last: &Option<u128>| -> Option<u128> {
            match fid {
                Some(u128::MAX) => *last,
                other => other,
            }
        };
        if response != (dir == 1) {
            // A request seen from the server side or the reverse: the flow direction guess is wrong; still parse.
        }
        if !response {
            match cmd {
                1 => {
                    let off = le16(body, 12).unwrap_or(0) as usize;
                    let len = le16(body, 14).unwrap_or(0) as usize;
                    let blob = sub(h, off, len)
                        .or_else(|| h.get(off..))
                        .unwrap_or_default();
                    self.setup_request(key, blob, frame);
                }
                3 => {
                    let off = le16(body, 4).unwrap_or(0) as usize;
                    let len = le16(body, 6).unwrap_or(0) as usize;
                    let path = sub(h, off, len).map(utf16).unwrap_or_default();
                    self.pending
                        .insert(key, Pending::TreeConnect { path, frame });
                }
                5 => {
                    let off = le16(body, 44).unwrap_or(0) as usize;
                    let len = le16(body, 46).unwrap_or(0) as usize;
                    let name = sub(h, off, len).map(utf16).unwrap_or_default();
                    self.pending.insert(
                        key,
                        Pending::Create {
                            session,
                            tree: tid,
                            name,
                            access: le32(body, 24).unwrap_or(0),
                            disposition: le32(body, 36).unwrap_or(0),
                            options: le32(body, 40).unwrap_or(0),
                            frame,
                        },
                    );
                }
                6 => {
                    if let Some(fid) = resolve(fid_at(8), last_fid) {
                        self.close_file(fid, conn, em);
                    }
                }
                8 => {
                    if let Some(fid) = resolve(fid_at(16), last_fid) {
                        self.pending.insert(key, Pending::Read { fid });
                    }
                }
                9 => {
                    let off = le16(body, 2).unwrap_or(0) as usize;
                    let len = le32(body, 4).unwrap_or(0) as usize;
                    let offset = le64(body, 8).unwrap_or(0);
                    let data = h
                        .get(off..off.saturating_add(len).min(h.len()))
                        .unwrap_or_default();
                    if let Some(fid) = resolve(fid_at(16), last_fid) {
                        self.write(fid, offset, len as u64, data, frame, conn, em, issues);
                    }
                }
                0x0b => {
                    let ctl = le32(body, 4).unwrap_or(0);
                    if let Some(fid) = resolve(fid_at(8), last_fid) {
                        if ctl == 0x0011_c017 {
                            let off = le32(body, 24).unwrap_or(0) as usize;
                            let len = le32(body, 28).unwrap_or(0) as usize;
                            let data = h
                                .get(off..off.saturating_add(len).min(h.len()))
                                .unwrap_or_default();
                            if let Some(file) = self.files.get_mut(&fid) {
                                file.is_pipe = true;
                                file.written += len as u64;
                                file.writes += 1;
                            }
                            self.pipe_data(fid, 0, data, frame, conn, em, issues);
                            self.pending.insert(key, Pending::Ioctl { fid });
                        }
                    }
                }
                0x11 => {
                    let info_type = body.get(2).copied().unwrap_or(0);
                    let class = body.get(3).copied().unwrap_or(0);
                    if info_type == 1 && (class == 13 || class == 64) {
                        let off = le16(body, 8).unwrap_or(0) as usize;
                        let delete = h.get(off).is_some_and(|b| b & 1 != 0);
                        if let Some(fid) = resolve(fid_at(16), last_fid) {
                            self.pending
                                .insert(key, Pending::SetInfo { fid, delete, frame });
                        }
                    }
                }
                _ => {}
            }
            return;
        }
        if status == STATUS_PENDING && flags & 2 != 0 {
            return;
        }
        match cmd {
            0 => {
                if let Some(d) = le16(body, 4) {
                    self.dialect = Some(match d {
                        0x0202 => "SMB 2.0.2".to_string(),
                        0x0210 => "SMB 2.1".to_string(),
                        0x0300 => "SMB 3.0".to_string(),
                        0x0302 => "SMB 3.0.2".to_string(),
                        0x0311 => "SMB 3.1.1".to_string(),
                        0x02ff => "SMB 2.???".to_string(),
                        other => format!("SMB2 dialect {other:#x}"),
                    });
                }
            }
            1 => {
                let off = le16(body, 4).unwrap_or(0) as usize;
                let len = le16(body, 6).unwrap_or(0) as usize;
                let blob = sub(h, off, len).unwrap_or_default();
                self.setup_response(key, session, status, blob, frame, conn, "SMB", em);
            }
            3 => {
                if let Some(Pending::TreeConnect { path, frame: req }) = self.pending.remove(&key) {
                    self.tree_event(
                        session,
                        tid,
                        path,
                        body.get(2).copied(),
                        status,
                        req,
                        conn,
                        em,
                    );
                }
            }
            5 => {
                if let Some(Pending::Create {
                    session: s,
                    tree,
                    name,
                    access,
                    disposition,
                    options,
                    frame: req,
                }) = self.pending.remove(&key)
                {
                    let fid = fid_at(64).unwrap_or(0);
                    *last_fid = Some(fid);
                    let action = le32(body, 4).unwrap_or(0);
                    self.create_done(
                        fid,
                        s,
                        tree,
                        name,
                        access,
                        disposition,
                        options,
                        action,
                        status,
                        req,
                        frame,
                        conn,
                        em,
                    );
                }
            }
            8 => {
                if let Some(Pending::Read { fid }) = self.pending.remove(&key) {
                    if status == 0 || status == 0x8000_0005 {
                        let off = body.get(2).copied().unwrap_or(0) as usize;
                        let len = le32(body, 4).unwrap_or(0) as usize;
                        let data = h
                            .get(off..off.saturating_add(len).min(h.len()))
                            .unwrap_or_default();
                        self.read_done(fid, data, len as u64, frame, conn, em, issues);
                    }
                }
            }
            0x0b => {
                if let Some(Pending::Ioctl { fid }) = self.pending.remove(&key) {
                    if status == 0 || status == 0x8000_0005 {
                        let off = le32(body, 32).unwrap_or(0) as usize;
                        let len = le32(body, 36).unwrap_or(0) as usize;
                        let data = h
                            .get(off..off.saturating_add(len).min(h.len()))
                            .unwrap_or_default();
                        self.read_done(fid, data, len as u64, frame, conn, em, issues);
                    }
                }
            }
            0x11 => {
                if let Some(Pending::SetInfo {
                    fid,
                    delete,
                    frame: req,
                }) = self.pending.remove(&key)
                {
                    if status == 0 && delete {
                        self.deleted(fid, req, "set-info disposition", conn, em);
                    }
                }
            }
            _ => {}
        }
    }

    // ---------------------------------------------------------------- SMB1

    fn smb1(
        &mut self,
        dir: usize,
        h: &[u8],
        frame: FrameRef,
        conn: &ConnInfo,
        em: &mut Emitter,
        issues: &mut Vec<CaptureIssue>,
    ) {
        if h.len() < 33 {
            issues.push(CaptureIssue::at(
                frame.number,
                frame.offset,
                format!("{}: SMB1 header cut", conn.label()),
            ));
            return;
        }
        if self.dialect.is_none() {
            self.dialect = Some("SMB1".into());
        }
        let mut cmd = h[4];
        let status = le32(h, 5).unwrap_or(0);
        let response = h[9] & 0x80 != 0;
        let unicode = le16(h, 10).unwrap_or(0) & 0x8000 != 0;
        let tid = le16(h, 24).unwrap_or(0) as u32;
        let pid = le16(h, 26).unwrap_or(0) as u64;
        let uid = le16(h, 28).unwrap_or(0) as u64;
        let mid = le16(h, 30).unwrap_or(0) as u64;
        let _ = dir;
        let mut pos = 32usize;
        for _ in 0..16 {
            let Some(wc) = h.get(pos).map(|w| *w as usize) else {
                return;
            };
            let words = h.get(pos + 1..pos + 1 + wc * 2).unwrap_or_default();
            let bytes_off = pos + 3 + wc * 2;
            let key = ((mid << 16) | pid, cmd);
            if response {
                self.smb1_response(
                    cmd, key, status, uid, tid, words, bytes_off, h, frame, conn, em, issues,
                );
            } else {
                self.smb1_request(
                    cmd, key, uid, tid, unicode, words, bytes_off, h, frame, conn, em, issues,
                );
            }
            let andx = matches!(cmd, 0x73 | 0x75 | 0xa2 | 0x2d | 0x2e | 0x2f | 0x74);
            if !andx || words.len() < 4 {
                return;
            }
            let next = words[0];
            let off = le16(words, 2).unwrap_or(0) as usize;
            if next == 0xff || off <= pos || off >= h.len() {
                return;
            }
            cmd = next;
            pos = off;
        }
    }

    fn smb1_name(h: &[u8], off: usize, unicode: bool) -> String {
        if unicode {
            let off = if off % 2 == 1 { off + 1 } else { off };
            utf16z(h, off)
        } else {
            asciiz(h, off)
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn smb1_request(
        &mut self,
        cmd: u8,
        key: (u64, u8),
        uid: u64,
        tid: u32,
        unicode: bool,
        words: &[u8],
        bytes_off: usize,
        h: &[u8],
        frame: FrameRef,
        conn: &ConnInfo,
        em: &mut Emitter,
        issues: &mut Vec<CaptureIssue>,
    ) {
        match cmd {
            0x73 if words.len() >= 24 => {
                let len = le16(words, 14).unwrap_or(0) as usize;
                let blob = sub(h, bytes_off, len).unwrap_or_default();
                self.setup_request(key, blob, frame);
            }
            0x75 => {
                let pw = le16(words, 6).unwrap_or(0) as usize;
                let path = Self::smb1_name(h, bytes_off + pw, unicode);
                self.pending
                    .insert(key, Pending::TreeConnect { path, frame });
            }
            0xa2 => {
                let name = Self::smb1_name(h, bytes_off, unicode);
                self.pending.insert(
                    key,
                    Pending::Create {
                        session: uid,
                        tree: tid,
                        name,
                        access: le32(words, 15).unwrap_or(0),
                        disposition: le32(words, 35).unwrap_or(0),
                        options: le32(words, 39).unwrap_or(0),
                        frame,
                    },
                );
            }
            0x2d => {
                let name = Self::smb1_name(h, bytes_off, unicode);
                self.pending.insert(
                    key,
                    Pending::Create {
                        session: uid,
                        tree: tid,
                        name,
                        access: le16(words, 6).unwrap_or(0) as u32,
                        disposition: le16(words, 16).unwrap_or(0) as u32,
                        options: 0,
                        frame,
                    },
                );
            }
            0x2f => {
                let fid = le16(words, 4).unwrap_or(0) as u128 | ((uid as u128) << 64) | (1 << 127);
                let offset = le32(words, 6).unwrap_or(0) as u64
                    | ((if words.len() >= 28 {
                        le32(words, 24).unwrap_or(0)
                    } else {
                        0
                    } as u64)
                        << 32);
                let len = le16(words, 20).unwrap_or(0) as usize
                    | ((le16(words, 18).unwrap_or(0) as usize) << 16);
                let off = le16(words, 22).unwrap_or(0) as usize;
                let data = h
                    .get(off..off.saturating_add(len).min(h.len()))
                    .unwrap_or_default();
                self.write(fid, offset, len as u64, data, frame, conn, em, issues);
            }
            0x2e => {
                let fid = le16(words, 4).unwrap_or(0) as u128 | ((uid as u128) << 64) | (1 << 127);
                self.pending.insert(key, Pending::Read { fid });
            }
            0x25 => {
                let setup_count = words.get(26).copied().unwrap_or(0) as usize;
                if setup_count >= 2 && le16(words, 28) == Some(0x26) {
                    let fid =
                        le16(words, 30).unwrap_or(0) as u128 | ((uid as u128) << 64) | (1 << 127);
                    let count = le16(words, 22).unwrap_or(0) as usize;
                    let off = le16(words, 24).unwrap_or(0) as usize;
                    let data = h
                        .get(off..off.saturating_add(count).min(h.len()))
                        .unwrap_or_default();
                    if let Some(file) = self.files.get_mut(&fid) {
                        file.is_pipe = true;
                        file.written += count as u64;
                        file.writes += 1;
                    }
                    self.pipe_data(fid, 0, data, frame, conn, em, issues);
                    self.pending.insert(key, Pending::Ioctl { fid });
                } else {
                    self.unparsed_trans += 1;
                }
            }
            0x32 | 0xa0 => self.unparsed_trans += 1,
            0x04 => {
                let fid = le16(words, 0).unwrap_or(0) as u128 | ((uid as u128) << 64) | (1 << 127);
                self.close_file(fid, conn, em);
            }
            0x06 => {
                let name = Self::smb1_name(h, bytes_off + 1, unicode);
                let tree = self
                    .trees
                    .get(&(uid, tid))
                    .map(|t| t.path.clone())
                    .unwrap_or_else(|| format!("\\\\{}\\[tree {tid:#x}]", conn.server_ip));
                let who = self.who(uid, conn);
                let path = format!("{}\\{}", tree, name.trim_start_matches('\\'));
                let mut e = em.event("FILE_DELETION", "SMB", conn, frame);
                who.apply_actor(&mut e);
                e.set_str(f::TARGET_FILE_PATH, path.clone());
                e.set_str(f::TARGET_RESOURCE, tree);
                e.set_str(f::PRODUCT_EVENT_TYPE, "SMB_DELETE");
                e.set_str(f::DESCRIPTION, format!("File deleted over SMB: {path}"));
                em.push(frame, e);
            }
            _ => {}
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn smb1_response(
        &mut self,
        cmd: u8,
        key: (u64, u8),
        status: u32,
        uid: u64,
        tid: u32,
        words: &[u8],
        bytes_off: usize,
        h: &[u8],
        frame: FrameRef,
        conn: &ConnInfo,
        em: &mut Emitter,
        issues: &mut Vec<CaptureIssue>,
    ) {
        match cmd {
            0x73 => {
                let len = le16(words, 6).unwrap_or(0) as usize;
                let blob = sub(h, bytes_off, len).unwrap_or_default();
                self.setup_response(key, uid, status, blob, frame, conn, "SMB", em);
            }
            0x75 => {
                if let Some(Pending::TreeConnect { path, frame: req }) = self.pending.remove(&key) {
                    self.tree_event(uid, tid, path, None, status, req, conn, em);
                }
            }
            0xa2 | 0x2d => {
                if let Some(Pending::Create {
                    session,
                    tree,
                    name,
                    access,
                    disposition,
                    options,
                    frame: req,
                }) = self.pending.remove(&key)
                {
                    let (fid16, action) = if cmd == 0xa2 {
                        (le16(words, 5).unwrap_or(0), le32(words, 7).unwrap_or(0))
                    } else {
                        (
                            le16(words, 4).unwrap_or(0),
                            le16(words, 24).unwrap_or(0) as u32 & 3,
                        )
                    };
                    let fid = fid16 as u128 | ((session as u128) << 64) | (1 << 127);
                    self.create_done(
                        fid,
                        session,
                        tree,
                        name,
                        access,
                        disposition,
                        options,
                        action,
                        status,
                        req,
                        frame,
                        conn,
                        em,
                    );
                }
            }
            0x2e => {
                if let Some(Pending::Read { fid }) = self.pending.remove(&key) {
                    if status == 0 || status == 0x8000_0005 {
                        let len = le16(words, 10).unwrap_or(0) as usize;
                        let off = le16(words, 12).unwrap_or(0) as usize;
                        let data = h
                            .get(off..off.saturating_add(len).min(h.len()))
                            .unwrap_or_default();
                        self.read_done(fid, data, len as u64, frame, conn, em, issues);
                    }
                }
            }
            0x25 => {
                if let Some(Pending::Ioctl { fid }) = self.pending.remove(&key) {
                    if status == 0 || status == 0x8000_0005 {
                        let count = le16(words, 12).unwrap_or(0) as usize;
                        let off = le16(words, 14).unwrap_or(0) as usize;
                        let data = h
                            .get(off..off.saturating_add(count).min(h.len()))
                            .unwrap_or_default();
                        self.read_done(fid, data, count as u64, frame, conn, em, issues);
                    }
                }
            }
            _ => {}
        }
    }
}
