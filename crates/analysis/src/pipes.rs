//! Named pipes of PsExec and its clones.
//!
//! PsExec's service talks to its client over `<service>-<CLIENTHOST>-<PID>-stdin|stdout|stderr`,
//! so the pipe names the *client* host and process even when the service was renamed with `-r`
//! (`svchost-MSEDGEWIN10-8116-stdin`, `blabla-NLLT108334-37048-stderr`). RemCom uses
//! `RemCom_communicaton` (sic) and `RemCom_stdin…`, PAExec `PAExec…`, CsExec `csexecsvc…`.

use crate::text::{cap, MAX_INPUT};
use crate::tool::Tool;
use serde::Serialize;

/// A PsExec-style redirection pipe, `<service>-<client host>-<client pid>-<stream>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExecPipe {
    /// The service name as written (`PSEXESVC`, or the `-r` name).
    pub service: String,
    /// The host the PsExec client ran on, as written (may contain dashes).
    pub client_host: String,
    /// The PsExec client's process id on that host.
    pub client_pid: u32,
    /// `stdin`, `stdout` or `stderr` (lower case).
    pub stream: String,
}

/// The pipe name without `\\.\pipe\`, `\\host\pipe\`, `\pipe\` or a leading `\`.
fn strip_pipe_prefix(pipe: &str) -> &str {
    let p = cap(pipe.trim(), MAX_INPUT);
    let lower_starts = |p: &str, prefix: &str| {
        p.get(..prefix.len())
            .is_some_and(|h| h.eq_ignore_ascii_case(prefix))
    };
    if let Some(rest) = p.strip_prefix("\\\\") {
        // \\.\pipe\name or \\host\pipe\name
        if let Some(i) = rest.find('\\') {
            let after_host = &rest[i + 1..];
            if lower_starts(after_host, "pipe\\") {
                return &after_host[5..];
            }
        }
        return rest;
    }
    let p = p.strip_prefix('\\').unwrap_or(p);
    if lower_starts(p, "pipe\\") {
        return &p[5..];
    }
    p
}

/// Parses a PsExec-style pipe: `[\\.\pipe\|\]<service>-<CLIENTHOST>-<PID>-stdin|stdout|stderr`.
///
/// The stream suffix is removed, the PID is the last dash-separated part (digits), the service
/// the first part (assumed to have no dash) and the client host everything between, so hosts
/// with dashes (`02694W-WIN10`) survive.
pub fn parse_exec_pipe(pipe: &str) -> Option<ExecPipe> {
    let p = strip_pipe_prefix(pipe);
    let (rest, stream) = p.rsplit_once('-')?;
    let stream = stream.to_ascii_lowercase();
    if !matches!(stream.as_str(), "stdin" | "stdout" | "stderr") {
        return None;
    }
    let (rest, pid) = rest.rsplit_once('-')?;
    if pid.is_empty() || pid.len() > 10 || !pid.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let client_pid: u32 = pid.parse().ok()?;
    let (service, host) = rest.split_once('-')?;
    let valid =
        |s: &str| !s.is_empty() && !s.contains(['\\', '/']) && !s.contains(char::is_whitespace);
    if !valid(service) || !valid(host) {
        return None;
    }
    Some(ExecPipe {
        service: service.to_string(),
        client_host: host.to_string(),
        client_pid,
        stream,
    })
}

/// The tool a pipe name betrays: `PSEXESVC…` → PsExec; `RemCom_…` → RemCom; `PAExec…` → PAExec;
/// `csexec…` → CsExec; any other [`parse_exec_pipe`] match → PsExec (service renamed with `-r`).
pub fn tool_for_pipe(pipe: &str) -> Option<Tool> {
    let p = strip_pipe_prefix(pipe);
    let lower = p.chars().take(16).collect::<String>().to_ascii_lowercase();
    if lower.starts_with("psexesvc") {
        return Some(Tool::PsExec);
    }
    if lower.starts_with("remcom_") || lower == "remcom" {
        return Some(Tool::RemCom);
    }
    if lower.starts_with("paexec") {
        return Some(Tool::PAExec);
    }
    if lower.starts_with("csexec") {
        return Some(Tool::CsExec);
    }
    parse_exec_pipe(p).map(|_| Tool::PsExec)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(service: &str, host: &str, pid: u32, stream: &str) -> Option<ExecPipe> {
        Some(ExecPipe {
            service: service.into(),
            client_host: host.into(),
            client_pid: pid,
            stream: stream.into(),
        })
    }

    #[test]
    fn psexec_pipes_from_the_shared_data() {
        assert_eq!(
            parse_exec_pipe(r"\PSEXESVC-VICTIM-PC-2412-stdin"),
            ep("PSEXESVC", "VICTIM-PC", 2412, "stdin")
        );
        assert_eq!(
            parse_exec_pipe("PSEXESVC-VICTIM-PC-1212-stderr"),
            ep("PSEXESVC", "VICTIM-PC", 1212, "stderr")
        );
        assert_eq!(
            parse_exec_pipe("svchost-MSEDGEWIN10-8116-stdout"),
            ep("svchost", "MSEDGEWIN10", 8116, "stdout")
        );
        assert_eq!(
            parse_exec_pipe("blabla-NLLT108334-37048-stderr"),
            ep("blabla", "NLLT108334", 37048, "stderr")
        );
        assert_eq!(
            parse_exec_pipe("PSEXESVC-02694W-WIN10-13272-stdin"),
            ep("PSEXESVC", "02694W-WIN10", 13272, "stdin")
        );
        assert_eq!(
            parse_exec_pipe(r"\\.\pipe\PSEXESVC-WORKSTATION5-7256-STDOUT"),
            ep("PSEXESVC", "WORKSTATION5", 7256, "stdout")
        );
        assert_eq!(
            parse_exec_pipe(r"\\dc1\pipe\PSEXESVC-WEC01-956-stdin"),
            ep("PSEXESVC", "WEC01", 956, "stdin")
        );
    }

    #[test]
    fn not_exec_pipes() {
        for p in [
            r"\PSEXESVC",
            "svcctl",
            r"\46a676ab7f179e511e30dd2dc41bd388",
            "PSEXESVC-HOST-stdin",
            "PSEXESVC--123-stdin",
            "-HOST-123-stdin",
            "PSEXESVC-HOST-12a-stdin",
            "PSEXESVC-HOST-99999999999-stdin",
            "PSEXESVC-HOST-123-stdio",
            "",
            "-",
            "---",
            "a-b-1-",
        ] {
            assert_eq!(parse_exec_pipe(p), None, "{p}");
        }
    }

    #[test]
    fn tools() {
        assert_eq!(tool_for_pipe(r"\PSEXESVC"), Some(Tool::PsExec));
        assert_eq!(tool_for_pipe(r"\\.\pipe\psexesvc"), Some(Tool::PsExec));
        assert_eq!(tool_for_pipe("RemCom_communicaton"), Some(Tool::RemCom));
        assert_eq!(tool_for_pipe(r"\RemCom_stdinABC1234"), Some(Tool::RemCom));
        assert_eq!(tool_for_pipe("RemCom_stdoutXYZ"), Some(Tool::RemCom));
        assert_eq!(
            tool_for_pipe("PAExec-4242-ADMIN-PC.pipe"),
            Some(Tool::PAExec)
        );
        assert_eq!(tool_for_pipe(r"\PAExecIn"), Some(Tool::PAExec));
        assert_eq!(tool_for_pipe("csexecsvc"), Some(Tool::CsExec));
        assert_eq!(
            tool_for_pipe("blabla-NLLT108334-37048-stdin"),
            Some(Tool::PsExec)
        );
        assert_eq!(
            tool_for_pipe(r"\svchost-MSEDGEWIN10-8116-stdin"),
            Some(Tool::PsExec)
        );
        for p in [
            "svcctl", "atsvc", "samr", r"\winreg", "spoolss", "lsarpc", "", "é",
        ] {
            assert_eq!(tool_for_pipe(p), None, "{p}");
        }
    }
}
