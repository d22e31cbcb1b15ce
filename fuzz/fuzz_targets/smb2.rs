//! SMB2 messages (NetBIOS-framed, `0xFE "SMB"` header first) into the SMB decoder, in pieces, both
//! directions, with gaps: negotiate, session setup (NTLMSSP inside), tree connect, create,
//! write and transaction lengths are the fuzzer's.
#![no_main]
use libfuzzer_sys::fuzz_target;

mod common;

fuzz_target!(|data: &[u8]| {
    let conn = common::conn(445);
    let mut em = lateral_pcap::emit::Emitter::new("fuzz.pcap");
    let mut issues = Vec::new();
    let mut smb = lateral_pcap::smb::SmbConn::default();
    for p in common::pieces(data) {
        if p.gap {
            smb.gap(p.dir);
        }
        let msg = common::nbss(b"\xfeSMB", p.bytes);
        smb.feed(p.dir, &msg, p.frame, &conn, &mut em, &mut issues);
    }
    smb.close(&conn, &mut em);
});
