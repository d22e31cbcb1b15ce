//! The remote hosts a command line reaches for, and with what.

use crate::text::{args_after, cap, program_name, tokenize, unquote, Tok, MAX_ARGS, MAX_INPUT};
use crate::tool::Tool;
use regex::Regex;
use serde::Serialize;
use std::collections::HashSet;
use std::net::IpAddr;
use std::sync::LazyLock;

/// A remote host named on a command line, the tool naming it and what it is asked to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RemoteTarget {
    /// The host as written, without quotes, leading `\\`, share or path (`WIN-77LTAPHIQ1R`,
    /// `10.0.2.17`).
    pub host: String,
    /// The tool or command naming the host.
    pub tool: Tool,
    /// What the command does there: `process call create`, `service create`, `task create`,
    /// `copy to admin share`, …
    pub action: String,
    /// Whether the host is this host itself (see [`is_loopback_host`]).
    pub loopback: bool,
}

/// Whether `host` names the local host: `127.0.0.0/8`, `::1` (also bracketed or IPv4-mapped),
/// `localhost`, or `.`. Quotes and a leading `\\` are ignored.
pub fn is_loopback_host(host: &str) -> bool {
    let h = cap(host, 1024)
        .trim()
        .trim_matches(|c| c == '"' || c == '\'')
        .trim_start_matches('\\');
    let h = h
        .strip_prefix('[')
        .and_then(|x| x.strip_suffix(']'))
        .unwrap_or(h);
    if h == "." || h.eq_ignore_ascii_case("localhost") || h.eq_ignore_ascii_case("localhost.") {
        return true;
    }
    match h.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => v4.is_loopback(),
        Ok(IpAddr::V6(v6)) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
        // Shortened dotted forms Windows accepts (`127.1`).
        Err(_) => {
            let mut parts = h.split('.');
            parts.next() == Some("127")
                && h.len() <= 15
                && h.split('.').count() <= 4
                && parts
                    .all(|p| !p.is_empty() && p.len() <= 8 && p.bytes().all(|b| b.is_ascii_digit()))
        }
    }
}

/// Host part of a raw value: quotes, `\\`, and any share or path removed. `None` for empty,
/// wildcard, variable (`$x`), expression (`(…)`), file list (`@file`) or spaced values.
fn normalize_host(raw: &str) -> Option<String> {
    let h = raw
        .trim()
        .trim_matches(|c| c == '"' || c == '\'')
        .trim_end_matches([',', ';', ')'])
        .trim_matches(|c| c == '"' || c == '\'');
    let h = h.trim_start_matches('\\');
    let h = h.split(['\\', '/']).next().unwrap_or("");
    if h.is_empty()
        || h == "*"
        || h.starts_with(['$', '@', '(', '-', '%', '{'])
        || h.contains(char::is_whitespace)
        || h.contains(['"', '\'', '<', '>', '|', '&'])
    {
        return None;
    }
    Some(h.to_string())
}

/// `winrs -r:` values may be URLs: `http://host:5985/wsman`.
fn normalize_url_host(raw: &str) -> Option<String> {
    let v = raw.trim().trim_matches(|c| c == '"' || c == '\'');
    let v = match v.find("://") {
        Some(i) => &v[i + 3..],
        None => v,
    };
    let v = v.split('/').next().unwrap_or("");
    let v = if v.starts_with('[') {
        v.split_inclusive(']').next().unwrap_or(v)
    } else if v.matches(':').count() == 1 {
        v.split(':').next().unwrap_or(v)
    } else {
        v
    };
    normalize_host(v)
}

struct Collector {
    found: Vec<(usize, RemoteTarget)>,
}

impl Collector {
    fn add(&mut self, pos: usize, host: Option<String>, tool: Tool, action: &str) {
        if let Some(host) = host {
            let loopback = is_loopback_host(&host);
            self.found.push((
                pos,
                RemoteTarget {
                    host,
                    tool,
                    action: action.to_string(),
                    loopback,
                },
            ));
        }
    }
}

static PROGID: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)GetTypeFromProgID\(\s*["']([^"']+)["']\s*,\s*(?:["']([^"'\s]+)["']|([^"'\s,)$]+))"#,
    )
    .expect("static regex")
});

static CLSID: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)GetTypeFromCLSID\(\s*(?:\[guid\])?\s*["']\{?([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\}?["']\s*,\s*(?:["']([^"'\s]+)["']|([^"'\s,)$]+))"#,
    )
    .expect("static regex")
});

/// Remote hosts named in `command_line`, in order of appearance, without repeats (same host
/// ignoring case, tool and action). Recognised:
///
/// * `wmic /node:X[,Y] …` (quoted or not; `/node:@file` skipped) — action from the verb
///   (`process call create`, `service create`, `service start`, otherwise `wmic query`);
/// * `psexec[64] \\X[,Y]`, `paexec \\X`, `csexec \\X`, `remcom \\X` (options before the host skipped);
/// * `sc[.exe] \\X create|config|start|failure`; `schtasks /create|/run|/change /s X`;
///   `at \\X <time> <command>`;
/// * `Invoke-WmiMethod`, `Invoke-CimMethod`, `New-CimSession`, `Invoke-Command`,
///   `New-PSSession`, `Enter-PSSession` with `-ComputerName X` (or `-Cn`, or positional for
///   `Enter-PSSession`); `winrs -r:X` / `-remote:X`;
/// * `copy|xcopy|move|robocopy|Copy-Item|Move-Item … \\X\ADMIN$|C$…` (copy to/from admin share);
/// * `net use \\X\share`; `reg add|query|delete|copy|compare \\X\…`;
/// * `GetTypeFromProgID("MMC20.Application","X")` and `GetTypeFromCLSID(<MMC20, ShellWindows,
///   ShellBrowserWindow CLSID>,"X")` (DCOM).
///
/// Hosts are kept as written (quotes, `\\` and paths removed); variables and `@file` lists are
/// skipped.
pub fn remote_targets(command_line: &str) -> Vec<RemoteTarget> {
    let s = cap(command_line, MAX_INPUT);
    let toks = tokenize(s);
    let mut c = Collector { found: Vec::new() };
    for i in 0..toks.len() {
        let t = toks[i].text(s);
        let prog = program_name(t);
        let args = || args_after(s, &toks, i);
        match prog.as_str() {
            "wmic" => wmic(s, args(), &mut c),
            "psexec" | "psexec64" => psexec(s, args(), Tool::PsExec, &mut c),
            "paexec" => psexec(s, args(), Tool::PAExec, &mut c),
            "csexec" => psexec(s, args(), Tool::CsExec, &mut c),
            "remcom" => psexec(s, args(), Tool::RemCom, &mut c),
            "sc" => sc(s, args(), &mut c),
            "schtasks" => schtasks(s, args(), &mut c),
            "at" => at(s, args(), &mut c),
            "winrs" => winrs(s, args(), &mut c),
            "copy" | "xcopy" | "move" | "robocopy" | "copy-item" | "move-item" | "cp" | "mv" => {
                copy(s, args(), &prog, &mut c)
            }
            "net" | "net1" => net_use(s, args(), &mut c),
            "reg" => reg(s, args(), &mut c),
            _ => {}
        }
        let cmdlet = cmdlet_name(t);
        match cmdlet.as_str() {
            "invoke-wmimethod" | "invoke-cimmethod" => {
                let st = statement(s, &toks, i);
                let text = st
                    .iter()
                    .map(|t| t.text(s))
                    .collect::<Vec<_>>()
                    .join(" ")
                    .to_ascii_lowercase();
                let action = if text.contains("win32_process") && text.contains("create") {
                    "process call create"
                } else if text.contains("win32_service") {
                    "service method"
                } else {
                    "wmi method"
                };
                computer_name(s, st, false, Tool::PowerShellWmi, action, &mut c);
            }
            "new-cimsession" => computer_name(
                s,
                statement(s, &toks, i),
                false,
                Tool::PowerShellWmi,
                "cim session",
                &mut c,
            ),
            "invoke-command" | "icm" => computer_name(
                s,
                statement(s, &toks, i),
                false,
                Tool::PowerShellRemoting,
                "remote command",
                &mut c,
            ),
            "new-pssession" | "nsn" => computer_name(
                s,
                statement(s, &toks, i),
                false,
                Tool::PowerShellRemoting,
                "remote session",
                &mut c,
            ),
            "enter-pssession" | "etsn" => computer_name(
                s,
                statement(s, &toks, i),
                true,
                Tool::PowerShellRemoting,
                "interactive session",
                &mut c,
            ),
            _ => {}
        }
    }
    dcom(s, &mut c);

    c.found.sort_by_key(|(pos, _)| *pos);
    let mut seen = HashSet::new();
    let mut out: Vec<RemoteTarget> = Vec::new();
    for (_, t) in c.found {
        let key = (t.host.to_lowercase(), t.tool.clone(), t.action.clone());
        if seen.insert(key) {
            out.push(t);
        }
    }
    out
}

/// Tokens after token `i` up to the end of a PowerShell statement (`;` or `|`).
fn statement<'t>(s: &str, toks: &'t [Tok], i: usize) -> &'t [Tok] {
    let rest = toks.get(i + 1..).unwrap_or(&[]);
    let rest = &rest[..rest.len().min(MAX_ARGS)];
    let mut end = rest.len();
    for (k, t) in rest.iter().enumerate() {
        let x = t.text(s);
        if matches!(x, ";" | "|" | "&" | "&&" | "||") {
            end = k;
            break;
        }
        if x.ends_with(';') || x.ends_with('|') {
            end = k + 1;
            break;
        }
    }
    &rest[..end]
}

/// A PowerShell command name in a token, lower case: leading punctuation (`(`, `;`, `{`, `"`,
/// `&`) and trailing `)` / `;` removed.
fn cmdlet_name(t: &str) -> String {
    t.trim_start_matches(|c: char| !c.is_ascii_alphanumeric())
        .trim_end_matches([')', ';', '"', '\''])
        .to_ascii_lowercase()
}

fn wmic(s: &str, args: &[Tok], c: &mut Collector) {
    let has_node = args
        .iter()
        .any(|t| strip_prefix_ci(unquote_start(t.text(s)), "/node:").is_some());
    if !has_node {
        return;
    }
    let text = args
        .iter()
        .map(|t| t.text(s))
        .collect::<Vec<_>>()
        .join(" ")
        .to_ascii_lowercase();
    let action = if text.contains("process call create") {
        "process call create"
    } else if text.contains("service") && text.contains("call create") {
        "service create"
    } else if text.contains("service") && text.contains("call startservice") {
        "service start"
    } else if text.contains("call create") {
        "call create"
    } else {
        "wmic query"
    };
    for t in args {
        let x = t.text(s);
        let Some(value) = strip_prefix_ci(unquote_start(x), "/node:") else {
            continue;
        };
        let value = value.trim_matches(|c| c == '"' || c == '\'');
        if value.starts_with('@') {
            continue;
        }
        for part in value.split(',') {
            c.add(t.start, normalize_host(part), Tool::Wmic, action);
        }
    }
}

fn unquote_start(x: &str) -> &str {
    x.trim_start_matches(['"', '\''])
}

fn strip_prefix_ci<'a>(x: &'a str, prefix: &str) -> Option<&'a str> {
    let head = x.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &x[prefix.len()..])
}

/// PsExec-style: options (some with a value) then `\\computer[,computer]` then the command.
fn psexec(s: &str, args: &[Tok], tool: Tool, c: &mut Collector) {
    const WITH_VALUE: &[&str] = &["u", "p", "w", "n", "r", "a", "to", "csrc", "lo", "rlo"];
    let mut k = 0;
    while k < args.len() {
        let x = unquote(args[k].text(s));
        if let Some(hosts) = x.strip_prefix("\\\\") {
            for h in hosts.split(',') {
                c.add(
                    args[k].start,
                    normalize_host(h),
                    tool.clone(),
                    "remote execution via service",
                );
            }
            return;
        }
        if let Some(opt) = x.strip_prefix('-').or_else(|| x.strip_prefix('/')) {
            let opt = opt.to_ascii_lowercase();
            // `-i` takes an optional session number.
            let session = opt == "i"
                && args
                    .get(k + 1)
                    .is_some_and(|t| t.text(s).bytes().all(|b| b.is_ascii_digit()));
            if WITH_VALUE.contains(&opt.as_str()) || session {
                k += 1;
            }
            k += 1;
            continue;
        }
        return;
    }
}

fn sc(s: &str, args: &[Tok], c: &mut Collector) {
    let (Some(host), Some(verb)) = (args.first(), args.get(1)) else {
        return;
    };
    let h = unquote(host.text(s));
    if !h.starts_with("\\\\") {
        return;
    }
    let verb = unquote(verb.text(s)).to_ascii_lowercase();
    let action = match verb.as_str() {
        "create" => "service create",
        "config" => "service config",
        "start" => "service start",
        "failure" => "service failure action",
        _ => return,
    };
    c.add(host.start, normalize_host(h), Tool::Sc, action);
}

fn schtasks(s: &str, args: &[Tok], c: &mut Collector) {
    let mut action = None;
    let mut host = None;
    for (k, t) in args.iter().enumerate() {
        let x = unquote(t.text(s)).to_ascii_lowercase();
        match x.as_str() {
            "/create" => action = Some("task create"),
            "/run" => action = Some("task run"),
            "/change" => action = Some("task change"),
            "/s" => {
                if let Some(v) = args.get(k + 1) {
                    host = Some((v.start, v.text(s)));
                }
            }
            _ => {}
        }
    }
    if let (Some(action), Some((pos, h))) = (action, host) {
        c.add(pos, normalize_host(h), Tool::Schtasks, action);
    }
}

fn at(s: &str, args: &[Tok], c: &mut Collector) {
    let (Some(host), Some(next)) = (args.first(), args.get(1)) else {
        return;
    };
    let h = unquote(host.text(s));
    if !h.starts_with("\\\\") || next.text(s).starts_with('/') {
        return;
    }
    c.add(host.start, normalize_host(h), Tool::At, "job create");
}

fn winrs(s: &str, args: &[Tok], c: &mut Collector) {
    for t in args {
        let x = unquote_start(t.text(s));
        let value = ["-r:", "/r:", "-remote:", "/remote:"]
            .iter()
            .find_map(|p| strip_prefix_ci(x, p));
        if let Some(v) = value {
            c.add(t.start, normalize_url_host(v), Tool::Winrs, "remote shell");
            return;
        }
    }
}

/// `\\host\share$…` → host, when the share is administrative (ends with `$`, not `IPC$`).
fn admin_share_host(x: &str) -> Option<String> {
    let v = x.trim_matches(|c| c == '"' || c == '\'');
    let rest = v.strip_prefix("\\\\")?;
    let mut parts = rest.split('\\');
    let host = parts.next()?;
    let share = parts.next()?;
    if !share.ends_with('$') || share.eq_ignore_ascii_case("IPC$") {
        return None;
    }
    normalize_host(host)
}

fn copy(s: &str, args: &[Tok], prog: &str, c: &mut Collector) {
    let mut positional: Vec<&Tok> = Vec::new();
    let mut destination: Option<&Tok> = None;
    let mut k = 0;
    while k < args.len() {
        let x = args[k].text(s);
        let lower = x.to_ascii_lowercase();
        if lower.starts_with("-dest") || lower == "-d" {
            destination = args.get(k + 1);
            k += 2;
            continue;
        }
        if x.starts_with('/') || x.starts_with('-') {
            k += 1;
            continue;
        }
        positional.push(&args[k]);
        k += 1;
    }
    let (src, dst) = match (prog, destination) {
        (_, Some(d)) => (positional.first().copied(), Some(d)),
        ("robocopy", None) => (positional.first().copied(), positional.get(1).copied()),
        (_, None) if positional.len() >= 2 => {
            (positional.first().copied(), positional.last().copied())
        }
        _ => (positional.first().copied(), None),
    };
    let tool = Tool::Other(prog.to_string());
    if let Some(d) = dst {
        if let Some(h) = admin_share_host(d.text(s)) {
            c.add(d.start, Some(h), tool.clone(), "copy to admin share");
        }
    }
    if let Some(sr) = src {
        if let Some(h) = admin_share_host(sr.text(s)) {
            c.add(sr.start, Some(h), tool, "copy from admin share");
        }
    }
}

fn net_use(s: &str, args: &[Tok], c: &mut Collector) {
    let Some(verb) = args.first() else { return };
    if !unquote(verb.text(s)).eq_ignore_ascii_case("use") {
        return;
    }
    for t in &args[1..] {
        let x = unquote(t.text(s));
        if x.starts_with("\\\\") {
            let share = x.trim_start_matches('\\').split('\\').nth(1).unwrap_or("");
            let action = if share.ends_with('$') {
                "connect admin share"
            } else {
                "connect share"
            };
            c.add(
                t.start,
                normalize_host(x),
                Tool::Other("net use".into()),
                action,
            );
            return;
        }
    }
}

fn reg(s: &str, args: &[Tok], c: &mut Collector) {
    let (Some(verb), Some(key)) = (args.first(), args.get(1)) else {
        return;
    };
    let verb = unquote(verb.text(s)).to_ascii_lowercase();
    let action = match verb.as_str() {
        "add" => "registry add",
        "query" => "registry query",
        "delete" => "registry delete",
        "copy" => "registry copy",
        "compare" => "registry compare",
        _ => return,
    };
    let k = unquote(key.text(s));
    if k.starts_with("\\\\") {
        c.add(
            key.start,
            normalize_host(k),
            Tool::Other("reg".into()),
            action,
        );
    }
}

/// `-ComputerName X[,Y]`, `-Cn X`, any unique prefix from `-Comp`; or, for `Enter-PSSession`,
/// the first positional argument.
fn computer_name(
    s: &str,
    st: &[Tok],
    positional: bool,
    tool: Tool,
    action: &str,
    c: &mut Collector,
) {
    for (k, t) in st.iter().enumerate() {
        let x = t.text(s);
        let (name, inline) = match x.split_once(':') {
            Some((n, v)) if n.starts_with('-') => (n, Some(v)),
            _ => (x, None),
        };
        let lower = name.to_ascii_lowercase();
        let is_param =
            lower == "-cn" || (lower.len() >= 5 && "-computername".starts_with(lower.as_str()));
        if is_param {
            let mut values: Vec<(usize, &str)> = Vec::new();
            match inline {
                Some(v) if !v.is_empty() => values.push((t.start, v)),
                _ => {
                    // Values run over tokens while they end with a comma (`a, b`).
                    let mut j = k + 1;
                    while let Some(v) = st.get(j) {
                        let vt = v.text(s);
                        values.push((v.start, vt));
                        if !vt.ends_with(',') {
                            break;
                        }
                        j += 1;
                    }
                }
            }
            for (pos, v) in values {
                for part in v.split(',') {
                    c.add(pos, normalize_host(part), tool.clone(), action);
                }
            }
            return;
        }
    }
    if positional {
        if let Some(first) = st.first() {
            let x = first.text(s);
            if !x.starts_with('-') {
                c.add(first.start, normalize_host(x), tool, action);
            }
        }
    }
}

fn dcom(s: &str, c: &mut Collector) {
    for cap in PROGID.captures_iter(s) {
        let (Some(m), Some(progid)) = (cap.get(0), cap.get(1)) else {
            continue;
        };
        let host = cap.get(2).or(cap.get(3)).map(|h| h.as_str()).unwrap_or("");
        let p = progid.as_str().to_ascii_lowercase();
        let tool = if p.starts_with("mmc20.application") {
            Tool::Mmc20
        } else if p.starts_with("shell.application") {
            Tool::ShellWindows
        } else {
            Tool::Other(format!("DCOM {}", progid.as_str()))
        };
        c.add(m.start(), normalize_host(host), tool, "dcom activation");
    }
    for cap in CLSID.captures_iter(s) {
        let (Some(m), Some(clsid)) = (cap.get(0), cap.get(1)) else {
            continue;
        };
        let host = cap.get(2).or(cap.get(3)).map(|h| h.as_str()).unwrap_or("");
        let id = clsid.as_str().to_ascii_uppercase();
        let (tool, action) = match id.as_str() {
            "49B2791A-B1AE-4C90-9B8E-E860BA07F889" => (Tool::Mmc20, "dcom activation"),
            "9BA05972-F6A8-11CF-A442-00A0C90A8F39" => (Tool::ShellWindows, "dcom activation"),
            "C08AFD90-F2A1-11D1-8455-00A0C91F3880" => {
                (Tool::ShellWindows, "dcom activation (ShellBrowserWindow)")
            }
            _ => (Tool::Other(format!("DCOM {{{id}}}")), "dcom activation"),
        };
        c.add(m.start(), normalize_host(host), tool, action);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(host: &str, tool: Tool, action: &str, loopback: bool) -> RemoteTarget {
        RemoteTarget {
            host: host.into(),
            tool,
            action: action.into(),
            loopback,
        }
    }

    #[test]
    fn loopback() {
        for h in [
            "127.0.0.1",
            "127.5.6.7",
            "::1",
            "[::1]",
            "localhost",
            "LOCALHOST",
            ".",
            "\\\\127.0.0.1",
            "\"127.0.0.1\"",
            "::ffff:127.0.0.1",
            "127.1",
            "0:0:0:0:0:0:0:1",
        ] {
            assert!(is_loopback_host(h), "{h}");
        }
        for h in [
            "10.0.2.17",
            "WIN-77LTAPHIQ1R",
            "128.0.0.1",
            "fe80::90e:17af:263c:5209",
            "",
            "127.a",
            "localhost.evil.com",
            "1127.0.0.1",
            "127..1",
        ] {
            assert!(!is_loopback_host(h), "{h}");
        }
    }

    #[test]
    fn wmic_story() {
        let cl = r#"cmd.exe /c "wmic /user:DOMAIN\Administrator /password:P@ssw0rd1 /node:"127.0.0.1" process call create notepad.exe""#;
        assert_eq!(
            remote_targets(cl),
            vec![t("127.0.0.1", Tool::Wmic, "process call create", true)]
        );
        let cl = r#"wmic /node:WIN-77LTAPHIQ1R,10.0.2.17 process call create "calc.exe""#;
        assert_eq!(
            remote_targets(cl),
            vec![
                t("WIN-77LTAPHIQ1R", Tool::Wmic, "process call create", false),
                t("10.0.2.17", Tool::Wmic, "process call create", false),
            ]
        );
        assert!(remote_targets("wmic /node:@hosts.txt process call create calc").is_empty());
        assert_eq!(
            remote_targets(r#"C:\Windows\System32\wbem\WMIC.exe /NODE:"dc1" os get caption"#),
            vec![t("dc1", Tool::Wmic, "wmic query", false)]
        );
        assert!(remote_targets("wmic process call create calc").is_empty());
    }

    #[test]
    fn psexec_sc_schtasks_at() {
        assert_eq!(
            remote_targets(r"PsExec.exe -accepteula \\dc1 -u CONTOSO\RonHD -p x cmd /c whoami"),
            vec![t(
                "dc1",
                Tool::PsExec,
                "remote execution via service",
                false
            )]
        );
        assert_eq!(
            remote_targets(r"psexec64 -u a -p b -s \\HOST1,HOST2 cmd"),
            vec![
                t("HOST1", Tool::PsExec, "remote execution via service", false),
                t("HOST2", Tool::PsExec, "remote execution via service", false),
            ]
        );
        // Local PsExec (no computer): nothing.
        assert!(remote_targets(r"C:\Users\wardog\Downloads\PSTools\PsExec.exe  -accepteula -s reg save HKLM\security\policy\secrets C:\x").is_empty());
        assert_eq!(
            remote_targets(r"paexec \\10.1.1.1 -s cmd")[0].tool,
            Tool::PAExec
        );
        assert_eq!(
            remote_targets(r#"sc.exe \\WIN-77LTAPHIQ1R create remotesvc binPath= "calc.exe""#),
            vec![t("WIN-77LTAPHIQ1R", Tool::Sc, "service create", false)]
        );
        assert_eq!(
            remote_targets(r"sc \\WIN-77LTAPHIQ1R start remotesvc")[0].action,
            "service start"
        );
        assert!(remote_targets(r"sc \\dc1 query").is_empty());
        assert!(remote_targets(r"sc create x binPath= c:\x.exe").is_empty());
        assert_eq!(
            remote_targets(
                r#"schtasks /create /S 10.0.2.17 /U EXAMPLE\Administrator /P x /tn LMST /tr "cmd /c calc" /sc once /st 00:00"#
            ),
            vec![t("10.0.2.17", Tool::Schtasks, "task create", false)]
        );
        assert!(remote_targets("schtasks /query /s dc1").is_empty());
        assert_eq!(
            remote_targets(r"at \\admin-pc 18:45 c:\mimikatz.exe"),
            vec![t("admin-pc", Tool::At, "job create", false)]
        );
        assert!(remote_targets(r"at \\admin-pc").is_empty());
    }

    #[test]
    fn powershell_and_winrm() {
        let cl = r#"powershell -c "Invoke-WmiMethod -Class Win32_Process -Name Create -ArgumentList 'calc.exe' -ComputerName WORKSTATION6 -Credential $c""#;
        assert_eq!(
            remote_targets(cl),
            vec![t(
                "WORKSTATION6",
                Tool::PowerShellWmi,
                "process call create",
                false
            )]
        );
        let cl = "Invoke-CimMethod -ClassName Win32_Process -MethodName Create -Arguments @{CommandLine='calc'} -ComputerName 'srv1', 'srv2'";
        assert_eq!(
            remote_targets(cl),
            vec![
                t("srv1", Tool::PowerShellWmi, "process call create", false),
                t("srv2", Tool::PowerShellWmi, "process call create", false),
            ]
        );
        assert_eq!(
            remote_targets(
                "$s = New-CimSession -ComputerName dc1; Get-CimInstance -CimSession $s Win32_OS"
            )[0],
            t("dc1", Tool::PowerShellWmi, "cim session", false)
        );
        assert_eq!(
            remote_targets(
                "Invoke-Command -ComputerName:DC1.insecurebank.local -ScriptBlock { hostname }"
            )[0],
            t(
                "DC1.insecurebank.local",
                Tool::PowerShellRemoting,
                "remote command",
                false
            )
        );
        assert_eq!(
            remote_targets("icm -cn srv3 {whoami}")[0],
            t("srv3", Tool::PowerShellRemoting, "remote command", false)
        );
        assert_eq!(
            remote_targets("Enter-PSSession IEWIN7")[0],
            t(
                "IEWIN7",
                Tool::PowerShellRemoting,
                "interactive session",
                false
            )
        );
        assert_eq!(
            remote_targets("Enter-PSSession -ComputerName 'IEWIN7' -Credential x\\y")[0].host,
            "IEWIN7"
        );
        assert!(remote_targets("Invoke-Command -ComputerName $targets -ScriptBlock {}").is_empty());
        assert!(remote_targets("Enter-PSSession -Session $s").is_empty());
        assert_eq!(
            remote_targets("winrs -r:http://IEWIN7:5985 cmd.exe /C ipconfig"),
            vec![t("IEWIN7", Tool::Winrs, "remote shell", false)]
        );
        assert_eq!(
            remote_targets("winrs /remote:10.0.2.17 -u:x -p:y hostname")[0].host,
            "10.0.2.17"
        );
    }

    #[test]
    fn copies_shares_registry_dcom() {
        assert_eq!(
            remote_targets(r"cmd /c copy C:\tools\malwr.exe \\PC01\C$\malwr.exe"),
            vec![t(
                "PC01",
                Tool::Other("copy".into()),
                "copy to admin share",
                false
            )]
        );
        assert_eq!(
            remote_targets(r#"xcopy /y payload.exe "\\10.0.2.15\ADMIN$\Temp\""#)[0].action,
            "copy to admin share"
        );
        assert_eq!(
            remote_targets(r"robocopy C:\src \\fs01\D$\dst *.exe /E")[0].host,
            "fs01"
        );
        assert_eq!(
            remote_targets(r"copy \\admin-pc\c$\temp\mimikatz.exe .")[0].action,
            "copy from admin share"
        );
        assert_eq!(
            remote_targets(r"Copy-Item .\a.exe -Destination \\srv\C$\Windows\Temp\a.exe")[0].action,
            "copy to admin share"
        );
        // Ordinary shares are not admin shares.
        assert!(remote_targets(r"copy report.docx \\fileserver\public\report.docx").is_empty());
        assert_eq!(
            remote_targets(r"net use \\dc1\IPC$ /user:CONTOSO\x pass"),
            vec![t(
                "dc1",
                Tool::Other("net use".into()),
                "connect admin share",
                false
            )]
        );
        assert_eq!(
            remote_targets(r"net use Z: \\fs\home")[0].action,
            "connect share"
        );
        assert_eq!(
            remote_targets(
                r"reg add \\02694W-WIN10\HKLM\SYSTEM\CurrentControlSet\Services\NTDS /v DirectoryServiceExtPt /d \\172.16.66.254\shared\lsadb.dll"
            )[0],
            t(
                "02694W-WIN10",
                Tool::Other("reg".into()),
                "registry add",
                false
            )
        );
        assert!(remote_targets(r"reg query HKLM\Software").is_empty());
        let cl = r#"$c = [activator]::CreateInstance([type]::GetTypeFromProgID("MMC20.Application","192.168.56.101")); $c.Document.ActiveView.ExecuteShellCommand("cmd",$null,"/c hostname","7")"#;
        assert_eq!(
            remote_targets(cl),
            vec![t("192.168.56.101", Tool::Mmc20, "dcom activation", false)]
        );
        let cl = r#"[activator]::CreateInstance([type]::GetTypeFromCLSID("9BA05972-F6A8-11CF-A442-00A0C90A8F39","10.0.2.17"))"#;
        assert_eq!(remote_targets(cl)[0].tool, Tool::ShellWindows);
        let cl = r#"[Type]::GetTypeFromCLSID('{C08AFD90-F2A1-11D1-8455-00A0C91F3880}', 'ws2')"#;
        assert_eq!(
            remote_targets(cl)[0].action,
            "dcom activation (ShellBrowserWindow)"
        );
    }

    #[test]
    fn order_and_dedup() {
        let cl = r"psexec \\B cmd & wmic /node:A process call create x & psexec \\b cmd & sc \\A create s binPath= x";
        let got: Vec<(String, Tool)> = remote_targets(cl)
            .into_iter()
            .map(|t| (t.host, t.tool))
            .collect();
        assert_eq!(
            got,
            vec![
                ("B".to_string(), Tool::PsExec),
                ("A".to_string(), Tool::Wmic),
                ("A".to_string(), Tool::Sc),
            ]
        );
    }

    #[test]
    fn benign() {
        for cl in [
            "",
            "ipconfig /all",
            "net user /domain",
            "net view \\\\dc1",
            r"C:\Windows\system32\svchost.exe -k netsvcs -p -s Schedule",
            "powershell -nop -c Get-Process",
            "ping -n 1 127.0.0.1",
        ] {
            assert!(remote_targets(cl).is_empty(), "{cl}");
        }
    }
}
