//! DCE/RPC PDUs (version 5 header first) into one association over a named pipe, in pieces,
//! both directions, with gaps: bind / bind_ack context lists, fragment lengths, auth trailers,
//! request and response stubs (which reach the NDR decoders once an interface is bound).
#![no_main]
use libfuzzer_sys::fuzz_target;

mod common;

fuzz_target!(|data: &[u8]| {
    let conn = common::conn(445);
    let who = lateral_pcap::emit::Who::default();
    let env = lateral_pcap::dcerpc::RpcEnv {
        conn: &conn,
        who: &who,
        via: "\\\\SALES-PC\\IPC$\\svcctl",
    };
    let mut em = lateral_pcap::emit::Emitter::new("fuzz.pcap");
    let mut issues = Vec::new();
    let mut assoc = lateral_pcap::dcerpc::Association::default();
    for p in common::pieces(data) {
        if p.gap {
            assoc.gap(p.dir);
        }
        let mut pdu = vec![5u8, 0];
        pdu.extend_from_slice(p.bytes);
        assoc.feed(p.dir, &pdu, p.frame, &env, &mut em, &mut issues);
    }
    assoc.close(&env, &mut em);
});
