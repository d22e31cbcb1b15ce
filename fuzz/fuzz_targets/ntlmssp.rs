//! Arbitrary bytes into the authentication decoders: NTLMSSP messages (negotiate, challenge
//! with target info, authenticate) found inside a buffer or given whole, and Kerberos DER
//! (AP-REQ with its ticket's service name).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = lateral_pcap::ntlmssp::parse(data);
    let _ = lateral_pcap::ntlmssp::find_message(data);
    let mut signed = b"NTLMSSP\0".to_vec();
    signed.extend_from_slice(data);
    let _ = lateral_pcap::ntlmssp::parse(&signed);
    let _ = lateral_pcap::kerberos::parse(data);
    let _ = lateral_pcap::kerberos::find_ap_req(data);
});
