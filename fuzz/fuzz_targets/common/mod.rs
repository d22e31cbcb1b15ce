//! Shared by the protocol fuzz targets: the input is cut into records, each fed to a decoder
//! as one piece of a stream in one direction, so the fuzzer controls message boundaries,
//! directions and lost bytes (gaps) as well as content.
#![allow(dead_code)]

use lateral_pcap::{ConnInfo, FrameRef};

/// One piece of stream: direction (0 client to server), whether bytes were lost before it, and
/// its bytes.
pub struct Piece<'a> {
    pub dir: usize,
    pub gap: bool,
    pub bytes: &'a [u8],
    pub frame: FrameRef,
}

/// Records: `[control][length u16 LE][bytes]`; control bit 0 = direction, bit 1 = gap before.
pub fn pieces(data: &[u8]) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let mut rest = data;
    let mut number = 1;
    while let [ctl, a, b, tail @ ..] = rest {
        let len = (u16::from_le_bytes([*a, *b]) as usize).min(tail.len());
        let (bytes, next) = tail.split_at(len);
        out.push(Piece {
            dir: usize::from(ctl & 1),
            gap: ctl & 2 != 0,
            bytes,
            frame: FrameRef {
                number,
                ts_us: number as i64 * 1_000,
                offset: (data.len() - rest.len()) as u64,
            },
        });
        number += 1;
        rest = next;
    }
    out
}

/// A NetBIOS session message around `body` after `magic` (how SMB travels over TCP 445).
pub fn nbss(magic: &[u8], body: &[u8]) -> Vec<u8> {
    let len = magic.len() + body.len();
    let mut v = vec![0, (len >> 16) as u8, (len >> 8) as u8, len as u8];
    v.extend_from_slice(magic);
    v.extend_from_slice(body);
    v
}

pub fn conn(port: u16) -> ConnInfo {
    ConnInfo {
        client_ip: "10.0.0.130".into(),
        client_port: 49_700,
        server_ip: "10.0.0.133".into(),
        server_port: port,
        transport: "TCP",
    }
}

/// Feed `data`'s pieces, each framed as an SMB message after `magic` (`0xFF "SMB"` for SMB1,
/// `0xFE "SMB"` for SMB2/3), to one SMB connection, with its gaps, then close it.
pub fn fuzz_smb(data: &[u8], magic: &[u8]) {
    let conn = conn(445);
    let mut em = lateral_pcap::emit::Emitter::new("fuzz.pcap");
    let mut issues = Vec::new();
    let mut smb = lateral_pcap::smb::SmbConn::default();
    for p in pieces(data) {
        if p.gap {
            smb.gap(p.dir);
        }
        let msg = nbss(magic, p.bytes);
        smb.feed(p.dir, &msg, p.frame, &conn, &mut em, &mut issues);
    }
    smb.close(&conn, &mut em);
}
