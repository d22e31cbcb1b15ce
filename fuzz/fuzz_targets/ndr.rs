//! Arbitrary stubs into the NDR decoders of every decoded operation (NDR and NDR64), the
//! endpoint-mapper tower reader and the wire-string scanner.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
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
