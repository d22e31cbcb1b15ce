//! A small pcap writer for tests: Ethernet/IPv4/TCP frames carrying NetBIOS-framed SMB2, with
//! builders for the SMB2, NTLMSSP and DCE/RPC messages a PsExec-style session sends.
#![allow(dead_code)]

use std::net::Ipv4Addr;

pub struct Pcap {
    pub bytes: Vec<u8>,
    pub ts_us: u64,
}

impl Default for Pcap {
    fn default() -> Self {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        bytes.extend_from_slice(&2u16.to_le_bytes());
        bytes.extend_from_slice(&4u16.to_le_bytes());
        bytes.extend_from_slice(&[0; 8]);
        bytes.extend_from_slice(&65535u32.to_le_bytes());
        bytes.extend_from_slice(&1u32.to_le_bytes()); // Ethernet
                                                      // 2026-12-01 10:00:00 UTC
        Pcap {
            bytes,
            ts_us: 1_796_119_200_000_000,
        }
    }
}

impl Pcap {
    /// Let `us` microseconds of capture time pass before the next frame.
    pub fn wait(&mut self, us: u64) {
        self.ts_us += us;
    }

    fn frame(&mut self, data: &[u8]) {
        self.ts_us += 1000;
        self.bytes
            .extend_from_slice(&((self.ts_us / 1_000_000) as u32).to_le_bytes());
        self.bytes
            .extend_from_slice(&((self.ts_us % 1_000_000) as u32).to_le_bytes());
        self.bytes
            .extend_from_slice(&(data.len() as u32).to_le_bytes());
        self.bytes
            .extend_from_slice(&(data.len() as u32).to_le_bytes());
        self.bytes.extend_from_slice(data);
    }

    fn tcp(
        &mut self,
        src: (Ipv4Addr, u16),
        dst: (Ipv4Addr, u16),
        seq: u32,
        ack: u32,
        flags: u8,
        payload: &[u8],
    ) {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x08, 0x00]);
        let total = (20 + 20 + payload.len()) as u16;
        f.extend_from_slice(&[0x45, 0]);
        f.extend_from_slice(&total.to_be_bytes());
        f.extend_from_slice(&[0, 0, 0x40, 0, 64, 6, 0, 0]);
        f.extend_from_slice(&src.0.octets());
        f.extend_from_slice(&dst.0.octets());
        f.extend_from_slice(&src.1.to_be_bytes());
        f.extend_from_slice(&dst.1.to_be_bytes());
        f.extend_from_slice(&seq.to_be_bytes());
        f.extend_from_slice(&ack.to_be_bytes());
        f.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
        f.extend_from_slice(payload);
        self.frame(&f);
    }
}

/// One TCP connection being written into a [`Pcap`].
pub struct Conn {
    pub client: (Ipv4Addr, u16),
    pub server: (Ipv4Addr, u16),
    cseq: u32,
    sseq: u32,
}

impl Conn {
    pub fn open(p: &mut Pcap, client: (Ipv4Addr, u16), server: (Ipv4Addr, u16)) -> Conn {
        let mut c = Conn {
            client,
            server,
            cseq: 1000,
            sseq: 5000,
        };
        p.tcp(client, server, c.cseq, 0, 0x02, &[]);
        p.tcp(server, client, c.sseq, c.cseq + 1, 0x12, &[]);
        c.cseq += 1;
        c.sseq += 1;
        p.tcp(client, server, c.cseq, c.sseq, 0x10, &[]);
        c
    }
    /// Both FINs and the last ACK.
    pub fn close(&mut self, p: &mut Pcap) {
        p.tcp(self.client, self.server, self.cseq, self.sseq, 0x11, &[]);
        self.cseq += 1;
        p.tcp(self.server, self.client, self.sseq, self.cseq, 0x11, &[]);
        self.sseq += 1;
        self.ack(p);
    }

    /// A bare ACK from the client (for example a straggler after the close).
    pub fn ack(&mut self, p: &mut Pcap) {
        p.tcp(self.client, self.server, self.cseq, self.sseq, 0x10, &[]);
    }

    /// A RST from the server.
    pub fn reset(&mut self, p: &mut Pcap) {
        p.tcp(self.server, self.client, self.sseq, 0, 0x04, &[]);
    }

    pub fn send(&mut self, p: &mut Pcap, from_client: bool, smb: &[u8]) {
        let mut nb = vec![0u8, 0, 0, 0];
        nb[1..4].copy_from_slice(&(smb.len() as u32).to_be_bytes()[1..4]);
        nb.extend_from_slice(smb);
        if from_client {
            p.tcp(self.client, self.server, self.cseq, self.sseq, 0x18, &nb);
            self.cseq += nb.len() as u32;
        } else {
            p.tcp(self.server, self.client, self.sseq, self.cseq, 0x18, &nb);
            self.sseq += nb.len() as u32;
        }
    }
}

pub fn utf16(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(|u| u.to_le_bytes()).collect()
}

/// An SMB2 message: header + body.
pub fn smb2(
    cmd: u16,
    status: u32,
    response: bool,
    mid: u64,
    tid: u32,
    sid: u64,
    body: &[u8],
) -> Vec<u8> {
    let mut h = vec![0xfe, b'S', b'M', b'B'];
    h.extend_from_slice(&64u16.to_le_bytes());
    h.extend_from_slice(&0u16.to_le_bytes());
    h.extend_from_slice(&status.to_le_bytes());
    h.extend_from_slice(&cmd.to_le_bytes());
    h.extend_from_slice(&1u16.to_le_bytes());
    h.extend_from_slice(&(response as u32).to_le_bytes());
    h.extend_from_slice(&0u32.to_le_bytes());
    h.extend_from_slice(&mid.to_le_bytes());
    h.extend_from_slice(&0u32.to_le_bytes());
    h.extend_from_slice(&tid.to_le_bytes());
    h.extend_from_slice(&sid.to_le_bytes());
    h.extend_from_slice(&[0; 16]);
    h.extend_from_slice(body);
    h
}

fn put16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_le_bytes());
}
fn put32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

pub fn session_setup_req(blob: &[u8]) -> Vec<u8> {
    let mut b = vec![0u8; 24];
    put16(&mut b, 0, 25);
    put16(&mut b, 12, 64 + 24);
    put16(&mut b, 14, blob.len() as u16);
    b.extend_from_slice(blob);
    b
}
pub fn session_setup_resp(blob: &[u8]) -> Vec<u8> {
    let mut b = vec![0u8; 8];
    put16(&mut b, 0, 9);
    put16(&mut b, 4, 64 + 8);
    put16(&mut b, 6, blob.len() as u16);
    b.extend_from_slice(blob);
    b
}
pub fn tree_connect_req(path: &str) -> Vec<u8> {
    let p = utf16(path);
    let mut b = vec![0u8; 8];
    put16(&mut b, 0, 9);
    put16(&mut b, 4, 64 + 8);
    put16(&mut b, 6, p.len() as u16);
    b.extend_from_slice(&p);
    b
}
pub fn tree_connect_resp(share_type: u8) -> Vec<u8> {
    let mut b = vec![0u8; 16];
    put16(&mut b, 0, 16);
    b[2] = share_type;
    b
}
pub fn create_req(name: &str, access: u32, disposition: u32) -> Vec<u8> {
    let n = utf16(name);
    let mut b = vec![0u8; 56];
    put16(&mut b, 0, 57);
    put32(&mut b, 24, access);
    put32(&mut b, 36, disposition);
    put16(&mut b, 44, 64 + 56);
    put16(&mut b, 46, n.len() as u16);
    b.extend_from_slice(&n);
    b
}
pub fn create_resp(fid: u128, action: u32) -> Vec<u8> {
    let mut b = vec![0u8; 88];
    put16(&mut b, 0, 89);
    put32(&mut b, 4, action);
    b[64..80].copy_from_slice(&fid.to_le_bytes());
    b
}
pub fn write_req(fid: u128, offset: u64, data: &[u8]) -> Vec<u8> {
    let mut b = vec![0u8; 48];
    put16(&mut b, 0, 49);
    put16(&mut b, 2, 64 + 48);
    put32(&mut b, 4, data.len() as u32);
    b[8..16].copy_from_slice(&offset.to_le_bytes());
    b[16..32].copy_from_slice(&fid.to_le_bytes());
    b.extend_from_slice(data);
    b
}
pub fn read_req(fid: u128) -> Vec<u8> {
    let mut b = vec![0u8; 48];
    put16(&mut b, 0, 49);
    put32(&mut b, 4, 4280);
    b[16..32].copy_from_slice(&fid.to_le_bytes());
    b
}
pub fn read_resp(data: &[u8]) -> Vec<u8> {
    let mut b = vec![0u8; 16];
    put16(&mut b, 0, 17);
    b[2] = 64 + 16;
    put32(&mut b, 4, data.len() as u32);
    b.extend_from_slice(data);
    b
}
pub fn close_req(fid: u128) -> Vec<u8> {
    let mut b = vec![0u8; 24];
    put16(&mut b, 0, 24);
    b[8..24].copy_from_slice(&fid.to_le_bytes());
    b
}

fn ntlm_field(m: &mut Vec<u8>, payload: &mut Vec<u8>, base: usize, data: &[u8]) {
    let off = (base + payload.len()) as u32;
    m.extend_from_slice(&(data.len() as u16).to_le_bytes());
    m.extend_from_slice(&(data.len() as u16).to_le_bytes());
    m.extend_from_slice(&off.to_le_bytes());
    payload.extend_from_slice(data);
}

pub fn ntlm_negotiate() -> Vec<u8> {
    let mut m = b"NTLMSSP\0".to_vec();
    m.extend_from_slice(&1u32.to_le_bytes());
    m.extend_from_slice(&0x0008_8207u32.to_le_bytes());
    m.extend_from_slice(&[0; 16]);
    m
}

pub fn ntlm_challenge(nb_computer: &str, dns_computer: &str) -> Vec<u8> {
    let mut info = Vec::new();
    for (id, v) in [
        (1u16, nb_computer),
        (2, nb_computer),
        (3, dns_computer),
        (4, ""),
    ] {
        let u = utf16(v);
        info.extend_from_slice(&id.to_le_bytes());
        info.extend_from_slice(&(u.len() as u16).to_le_bytes());
        info.extend_from_slice(&u);
    }
    info.extend_from_slice(&[0, 0, 0, 0]);
    let mut m = b"NTLMSSP\0".to_vec();
    m.extend_from_slice(&2u32.to_le_bytes());
    let mut payload = Vec::new();
    ntlm_field(&mut m, &mut payload, 48, &utf16(nb_computer));
    m.extend_from_slice(&0x0089_8205u32.to_le_bytes());
    m.extend_from_slice(&[0x11; 8]);
    m.extend_from_slice(&[0; 8]);
    ntlm_field(&mut m, &mut payload, 48, &info);
    m.extend_from_slice(&payload);
    m
}

pub fn ntlm_authenticate(domain: &str, user: &str, workstation: &str) -> Vec<u8> {
    let mut m = b"NTLMSSP\0".to_vec();
    m.extend_from_slice(&3u32.to_le_bytes());
    let mut payload = Vec::new();
    ntlm_field(&mut m, &mut payload, 64, &[0; 24]);
    ntlm_field(&mut m, &mut payload, 64, &[0x22; 48]);
    ntlm_field(&mut m, &mut payload, 64, &utf16(domain));
    ntlm_field(&mut m, &mut payload, 64, &utf16(user));
    ntlm_field(&mut m, &mut payload, 64, &utf16(workstation));
    ntlm_field(&mut m, &mut payload, 64, &[0x33; 16]);
    m.extend_from_slice(&0x0008_8205u32.to_le_bytes());
    m.extend_from_slice(&payload);
    m
}

fn dce(ptype: u8, call_id: u32, body: &[u8]) -> Vec<u8> {
    let mut p = vec![5, 0, ptype, 3, 0x10, 0, 0, 0];
    p.extend_from_slice(&((16 + body.len()) as u16).to_le_bytes());
    p.extend_from_slice(&0u16.to_le_bytes());
    p.extend_from_slice(&call_id.to_le_bytes());
    p.extend_from_slice(body);
    p
}

const NDR: [u8; 16] = [
    0x04, 0x5d, 0x88, 0x8a, 0xeb, 0x1c, 0xc9, 0x11, 0x9f, 0xe8, 0x08, 0x00, 0x2b, 0x10, 0x48, 0x60,
];
const SVCCTL: [u8; 16] = [
    0x81, 0xbb, 0x7a, 0x36, 0x44, 0x98, 0xf1, 0x35, 0xad, 0x32, 0x98, 0xf0, 0x38, 0x00, 0x10, 0x03,
];

pub fn dce_bind_svcctl(call_id: u32) -> Vec<u8> {
    let mut b = vec![0xb8, 0x10, 0xb8, 0x10, 0, 0, 0, 0, 1, 0, 0, 0];
    b.extend_from_slice(&[0, 0, 1, 0]);
    b.extend_from_slice(&SVCCTL);
    b.extend_from_slice(&[2, 0, 0, 0]);
    b.extend_from_slice(&NDR);
    b.extend_from_slice(&[2, 0, 0, 0]);
    dce(11, call_id, &b)
}

pub fn dce_bind_ack(call_id: u32) -> Vec<u8> {
    let mut b = vec![0xb8, 0x10, 0xb8, 0x10, 1, 0, 0, 0, 0, 0, 0, 0];
    b.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 0]);
    b.extend_from_slice(&NDR);
    b.extend_from_slice(&[2, 0, 0, 0]);
    dce(12, call_id, &b)
}

fn cvs(out: &mut Vec<u8>, s: &str) {
    let u: Vec<u8> = s
        .encode_utf16()
        .chain([0])
        .flat_map(|c| c.to_le_bytes())
        .collect();
    let n = (u.len() / 2) as u32;
    out.extend_from_slice(&n.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&n.to_le_bytes());
    out.extend_from_slice(&u);
    while !out.len().is_multiple_of(4) {
        out.push(0);
    }
}

/// svcctl RCreateServiceWOW64W (opnum 45) request.
pub fn dce_create_service(call_id: u32, name: &str, binary: &str) -> Vec<u8> {
    let mut s = vec![0u8; 20];
    cvs(&mut s, name);
    s.extend_from_slice(&0x0002_0000u32.to_le_bytes());
    cvs(&mut s, name);
    for v in [0x000f_01ffu32, 0x10, 3, 0] {
        s.extend_from_slice(&v.to_le_bytes());
    }
    cvs(&mut s, binary);
    s.extend_from_slice(&[0u8; 28]);
    let mut b = Vec::new();
    b.extend_from_slice(&(s.len() as u32).to_le_bytes());
    b.extend_from_slice(&0u16.to_le_bytes());
    b.extend_from_slice(&45u16.to_le_bytes());
    b.extend_from_slice(&s);
    dce(0, call_id, &b)
}

/// A response carrying a fresh handle and status 0.
pub fn dce_handle_response(call_id: u32) -> Vec<u8> {
    let mut b = vec![28, 0, 0, 0, 0, 0, 0, 0];
    b.extend_from_slice(&[0u8; 4]);
    b.extend_from_slice(&[0x77; 20]);
    b.extend_from_slice(&0u32.to_le_bytes());
    dce(2, call_id, &b)
}

/// A whole PsExec-like session over SMB2: NTLM logon, ADMIN$ drop of PSEXESVC.exe, IPC$
/// svcctl bind and service creation.
pub fn psexec_session(
    p: &mut Pcap,
    client: (Ipv4Addr, u16),
    server: Ipv4Addr,
    nb: &str,
    dns: &str,
    user: &str,
    workstation: &str,
) -> Conn {
    let mut c = Conn::open(p, client, (server, 445));
    let sid = 0x4000_0000_0000_0011u64;
    c.send(
        p,
        true,
        &smb2(1, 0, false, 1, 0, 0, &session_setup_req(&ntlm_negotiate())),
    );
    c.send(
        p,
        false,
        &smb2(
            1,
            0xc000_0016,
            true,
            1,
            0,
            sid,
            &session_setup_resp(&ntlm_challenge(nb, dns)),
        ),
    );
    c.send(
        p,
        true,
        &smb2(
            1,
            0,
            false,
            2,
            0,
            sid,
            &session_setup_req(&ntlm_authenticate(nb, user, workstation)),
        ),
    );
    c.send(
        p,
        false,
        &smb2(1, 0, true, 2, 0, sid, &session_setup_resp(&[])),
    );
    c.send(
        p,
        true,
        &smb2(
            3,
            0,
            false,
            3,
            0,
            sid,
            &tree_connect_req(&format!("\\\\{nb}\\ADMIN$")),
        ),
    );
    c.send(
        p,
        false,
        &smb2(3, 0, true, 3, 1, sid, &tree_connect_resp(1)),
    );
    c.send(
        p,
        true,
        &smb2(
            5,
            0,
            false,
            4,
            1,
            sid,
            &create_req("PSEXESVC.exe", 0x0012_0196, 5),
        ),
    );
    c.send(
        p,
        false,
        &smb2(5, 0, true, 4, 1, sid, &create_resp(0xaa, 2)),
    );
    let mut exe = b"MZ".to_vec();
    exe.resize(3000, 0x90);
    c.send(
        p,
        true,
        &smb2(9, 0, false, 5, 1, sid, &write_req(0xaa, 0, &exe)),
    );
    c.send(p, true, &smb2(6, 0, false, 6, 1, sid, &close_req(0xaa)));
    c.send(
        p,
        true,
        &smb2(
            3,
            0,
            false,
            7,
            0,
            sid,
            &tree_connect_req(&format!("\\\\{nb}\\IPC$")),
        ),
    );
    c.send(
        p,
        false,
        &smb2(3, 0, true, 7, 2, sid, &tree_connect_resp(2)),
    );
    c.send(
        p,
        true,
        &smb2(
            5,
            0,
            false,
            8,
            2,
            sid,
            &create_req("svcctl", 0x0012_019f, 1),
        ),
    );
    c.send(
        p,
        false,
        &smb2(5, 0, true, 8, 2, sid, &create_resp(0xbb, 1)),
    );
    c.send(
        p,
        true,
        &smb2(
            9,
            0,
            false,
            9,
            2,
            sid,
            &write_req(0xbb, 0, &dce_bind_svcctl(1)),
        ),
    );
    c.send(p, true, &smb2(8, 0, false, 10, 2, sid, &read_req(0xbb)));
    c.send(
        p,
        false,
        &smb2(8, 0, true, 10, 2, sid, &read_resp(&dce_bind_ack(1))),
    );
    c.send(
        p,
        true,
        &smb2(
            9,
            0,
            false,
            11,
            2,
            sid,
            &write_req(
                0xbb,
                0,
                &dce_create_service(2, "PSEXESVC", "%SystemRoot%\\PSEXESVC.exe"),
            ),
        ),
    );
    c.send(p, true, &smb2(8, 0, false, 12, 2, sid, &read_req(0xbb)));
    c.send(
        p,
        false,
        &smb2(8, 0, true, 12, 2, sid, &read_resp(&dce_handle_response(2))),
    );
    c.send(p, true, &smb2(6, 0, false, 13, 2, sid, &close_req(0xbb)));
    c
}

/// The PsExec story our users described: 10.0.0.130 (KALI-ATTACK) to SALES-PC (10.0.0.133) as
/// `ssales`, then SALES-PC on to MARKETING-PC (10.0.0.131) with the same account.
pub fn psexec_chain() -> Pcap {
    let mut p = Pcap::default();
    let attacker = Ipv4Addr::new(10, 0, 0, 130);
    let sales = Ipv4Addr::new(10, 0, 0, 133);
    let marketing = Ipv4Addr::new(10, 0, 0, 131);
    let _ = psexec_session(
        &mut p,
        (attacker, 50100),
        sales,
        "SALES-PC",
        "SALES-PC.local",
        "ssales",
        "KALI-ATTACK",
    );
    let _ = psexec_session(
        &mut p,
        (sales, 50200),
        marketing,
        "MARKETING-PC",
        "MARKETING-PC.local",
        "ssales",
        "SALES-PC",
    );
    p
}
