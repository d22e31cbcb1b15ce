//! SMB1 messages (NetBIOS-framed, `0xFF "SMB"` header first) into the SMB decoder, in pieces, both
//! directions, with gaps: negotiate, session setup (NTLMSSP inside), tree connect, create,
//! write and transaction lengths are the fuzzer's.
#![no_main]
use libfuzzer_sys::fuzz_target;

mod common;

fuzz_target!(|data: &[u8]| common::fuzz_smb(data, b"\xffSMB"));
