//! Arbitrary bytes straight into each protocol decoder: NTLMSSP, Kerberos DER, NDR stubs of
//! every decoded operation, endpoint-mapper towers, and a whole SMB/DCE stream wrapped in a
//! minimal pcap so the SMB1, SMB2 and DCE/RPC parsers see attacker-shaped lengths first.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = lateral_pcap::ntlmssp::parse(data);
    let _ = lateral_pcap::ntlmssp::find_message(data);
    let _ = lateral_pcap::kerberos::parse(data);
    let _ = lateral_pcap::kerberos::find_ap_req(data);
    let _ = lateral_pcap::ndr::epm_endpoints(data);
    let _ = lateral_pcap::ndr::wire_strings(data);
    let handles = Default::default();
    for (iface, ops) in [
        ("svcctl", &[1u16, 2, 11, 12, 15, 16, 19, 23, 24, 27, 28, 31, 44, 45, 60][..]),
        ("atsvc", &[0][..]),
        ("ITaskSchedulerService", &[1, 12, 13][..]),
        ("ISystemActivator", &[3, 4][..]),
        ("IWbemServices", &[24][..]),
        ("IDispatch", &[5, 6][..]),
    ] {
        for op in ops {
            for ndr64 in [false, true] {
                let _ = lateral_pcap::ndr::decode_request(iface, *op, ndr64, data, &handles, &[]);
            }
        }
    }
});
