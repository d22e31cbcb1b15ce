//! # lateral-analysis
//!
//! Owns recognising attacker tooling and secrets in command lines, service definitions, pipe and
//! task names: which remote-execution tool ([`Tool`]) a service, pipe or command line betrays,
//! decoding PowerShell `-EncodedCommand` payloads ([`decode_powershell`]), masking credentials
//! typed on a command line ([`mask_credentials`]), spotting generated service/task names
//! ([`is_random_name`]), parsing PsExec pipes ([`parse_exec_pipe`]), impacket's output
//! redirections ([`impacket_output`]), classifying installed services ([`classify_service`]) and
//! listing the remote hosts a command reaches for ([`remote_targets`]).
//!
//! Everything here is a pure function of its text arguments. It must not do I/O, know the event
//! model (`lateral-model`), read evidence or run queries (`lateral-sources`, `lateral-engine`):
//! callers hand it strings taken from events and decide what the answers mean for a hunt.
//!
//! Every function accepts any input without panicking. Over-long inputs are cut at
//! [`MAX_INPUT`] bytes before analysis, and decoders cap their output.

mod text;

pub mod commands;
pub mod credentials;
pub mod impacket;
pub mod names;
pub mod pipes;
pub mod powershell;
pub mod services;
pub mod tool;

pub use commands::{is_loopback_host, remote_targets, RemoteTarget};
pub use credentials::{mask_credentials, CredentialExposure, Masked, MASK};
pub use impacket::{impacket_exec_tool_for_parent, impacket_output, ImpacketOutput};
pub use names::{is_random_name, random_name_reason};
pub use pipes::{parse_exec_pipe, tool_for_pipe, ExecPipe};
pub use powershell::{decode_base64_payloads, decode_powershell, DecodedPowerShell};
pub use services::{classify_service, ServiceClass, ServiceTrait};
pub use text::MAX_INPUT;
pub use tool::Tool;
