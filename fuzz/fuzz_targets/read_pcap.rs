//! Arbitrary bytes through the capture reader (pcap/pcapng, link layers, TCP reassembly, SMB1/2,
//! NTLMSSP, Kerberos, DCE/RPC, NDR) and the investigation summary.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let r = lateral_pcap::read_capture(data, "fuzz.pcap");
    let _ = lateral_pcap::summarize(&r.events);
});
