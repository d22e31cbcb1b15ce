//! Small text helpers for the mapping: account splitting, service image paths, task XML,
//! Sysmon hashes, ports and protocols, status codes. Pure functions; none of them panics.

/// `DOMAIN\user` → (`Some("DOMAIN")`, `"user"`); without a backslash → (`None`, whole).
pub(crate) fn split_down_level(s: &str) -> (Option<&str>, &str) {
    match s.rsplit_once('\\') {
        Some((d, u)) => (Some(d.trim()), u.trim()),
        None => (None, s.trim()),
    }
}

/// `user@REALM` → (`"user"`, `Some("REALM")`); without `@` → (whole, `None`).
pub(crate) fn split_upn(s: &str) -> (&str, Option<&str>) {
    match s.split_once('@') {
        Some((u, r)) if !u.trim().is_empty() => (u.trim(), Some(r.trim())),
        _ => (s.trim(), None),
    }
}

const EXEC_EXTENSIONS: &[&str] = &[
    ".exe", ".com", ".bat", ".cmd", ".sys", ".dll", ".scr", ".ps1", ".vbs",
];

/// The executable part of a service image path or task command, as the Service Control
/// Manager would read it: the quoted part of a quoted path; for an unquoted absolute path
/// with spaces, the shortest prefix ending in an executable extension (when it holds no
/// switches); otherwise the first word. `%COMSPEC% /C ...` → `%COMSPEC%`. `None` for empty.
pub fn service_executable(cmd: &str) -> Option<&str> {
    let s = cmd.trim();
    if s.is_empty() {
        return None;
    }
    if let Some(rest) = s.strip_prefix('"') {
        let inner = match rest.find('"') {
            Some(i) => rest.get(..i).unwrap_or(rest),
            None => rest,
        };
        let inner = inner.trim();
        return (!inner.is_empty()).then_some(inner);
    }
    let Some(ws) = s.find(char::is_whitespace) else {
        return Some(s);
    };
    if looks_absolute(s) {
        let lower = s.to_ascii_lowercase();
        let mut best: Option<usize> = None;
        for ext in EXEC_EXTENSIONS {
            for (pos, _) in lower.match_indices(ext) {
                let end = pos + ext.len();
                let at_word_end = lower
                    .get(end..)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with(char::is_whitespace));
                if at_word_end && best.is_none_or(|b| end < b) {
                    best = Some(end);
                }
            }
        }
        if let Some(end) = best {
            if let Some(candidate) = s.get(..end) {
                if !candidate.contains(" /") && !candidate.contains(" -") {
                    return Some(candidate);
                }
            }
        }
    }
    s.get(..ws)
}

/// `C:\...`, `\\server\...`, `\...` or `%VAR%\...`.
fn looks_absolute(s: &str) -> bool {
    let b = s.as_bytes();
    let drive = b.len() >= 3 && b[0].is_ascii_alphabetic() && b[1] == b':' && b[2] == b'\\';
    let env = s.starts_with('%') && s.get(1..).and_then(|r| r.find("%\\")).is_some();
    drive || s.starts_with('\\') || env
}

/// Text of the first `<tag>...</tag>` element in an XML fragment (entities decoded), or `None`.
/// Good enough for task definitions (`TaskContent`); not a general XML parser.
pub(crate) fn xml_element_text(xml: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}");
    let close = format!("</{tag}>");
    let mut from = 0;
    while let Some(pos) = xml.get(from..).and_then(|r| r.find(&open)) {
        let start = from + pos + open.len();
        let rest = xml.get(start..)?;
        // The tag name must end here (`<Command>` or `<Command attr=..>`, not `<CommandX>`).
        match rest.chars().next() {
            Some('>') | Some(' ') | Some('\t') | Some('\r') | Some('\n') => {}
            Some('/') => return Some(String::new()),
            _ => {
                from = start;
                continue;
            }
        }
        let gt = rest.find('>')?;
        if rest.get(..gt).is_some_and(|t| t.ends_with('/')) {
            return Some(String::new());
        }
        let body = rest.get(gt + 1..)?;
        let end = body.find(&close)?;
        return Some(xml_unescape(body.get(..end)?.trim()));
    }
    None
}

/// Decode the five predefined XML entities and numeric character references.
pub(crate) fn xml_unescape(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(rest.get(..amp).unwrap_or_default());
        let after = rest.get(amp + 1..).unwrap_or_default();
        let decoded = after.find(';').filter(|&i| i <= 10).and_then(|semi| {
            let name = after.get(..semi)?;
            let c = match name {
                "lt" => '<',
                "gt" => '>',
                "amp" => '&',
                "quot" => '"',
                "apos" => '\'',
                _ => {
                    let code = if let Some(hex) =
                        name.strip_prefix("#x").or_else(|| name.strip_prefix("#X"))
                    {
                        u32::from_str_radix(hex, 16).ok()?
                    } else {
                        name.strip_prefix('#')?.parse::<u32>().ok()?
                    };
                    char::from_u32(code)?
                }
            };
            Some((c, semi + 1))
        });
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = after.get(len..).unwrap_or_default();
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Sysmon `Hashes` (`SHA1=..,MD5=..,SHA256=..,IMPHASH=..`) as (algorithm upper-case, value
/// lower-case) pairs. A bare hash is named by its length.
pub(crate) fn parse_hashes(s: &str) -> Vec<(String, String)> {
    s.split(',')
        .filter_map(|part| {
            let part = part.trim();
            if part.is_empty() {
                return None;
            }
            let (alg, value) = match part.split_once('=') {
                Some((a, v)) => (a.trim().to_ascii_uppercase(), v.trim()),
                None => {
                    let alg = match part.len() {
                        32 => "MD5",
                        40 => "SHA1",
                        64 => "SHA256",
                        _ => return None,
                    };
                    (alg.to_string(), part)
                }
            };
            let ok = !value.is_empty() && value.chars().all(|c| c.is_ascii_hexdigit());
            ok.then(|| (alg, value.to_ascii_lowercase()))
        })
        .collect()
}

/// UDM `network.application_protocol` for a well-known port.
pub(crate) fn app_protocol_for_port(port: i64) -> Option<&'static str> {
    Some(match port {
        445 | 139 => "SMB",
        135 | 593 => "DCERPC",
        3389 => "RDP",
        88 => "KRB5",
        389 | 636 | 3268 | 3269 => "LDAP",
        53 => "DNS",
        80 | 5985 => "HTTP",
        443 | 5986 => "HTTPS",
        22 => "SSH",
        1433 => "TDS",
        123 => "NTP",
        67 | 68 => "DHCP",
        _ => return None,
    })
}

/// UDM `network.ip_protocol` for an IANA protocol number.
pub(crate) fn ip_protocol_for_number(n: &str) -> Option<&'static str> {
    Some(match n.trim() {
        "1" => "ICMP",
        "2" => "IGMP",
        "6" => "TCP",
        "17" => "UDP",
        "47" => "GRE",
        "50" => "ESP",
        "58" => "ICMP6",
        "132" => "SCTP",
        _ => return None,
    })
}

/// `ip:port`, `[ip]:port`, `[v6]:port` or a bare address → (address, port).
pub(crate) fn split_ip_port(s: &str) -> (&str, Option<&str>) {
    let s = s.trim();
    if let Some(rest) = s.strip_prefix('[') {
        if let Some(end) = rest.find(']') {
            let ip = rest.get(..end).unwrap_or_default();
            let port = rest.get(end + 1..).and_then(|p| p.strip_prefix(':'));
            return (ip, port);
        }
        return (rest, None);
    }
    if s.matches(':').count() == 1 {
        if let Some((ip, port)) = s.split_once(':') {
            return (ip, Some(port));
        }
    }
    (s, None)
}

/// Meaning of common NTSTATUS logon failure codes (4625 Status/SubStatus, 4776 Status).
pub(crate) fn ntstatus_text(code: &str) -> Option<&'static str> {
    let n = lateral_model::event::parse_int(code)? as u64 & 0xFFFF_FFFF;
    Some(match n {
        0x0 => "success",
        0xC000_005E => "no logon servers available",
        0xC000_0064 => "user name does not exist",
        0xC000_006A => "wrong password",
        0xC000_006D => "bad user name or password",
        0xC000_006E => "account restriction",
        0xC000_006F => "logon outside allowed hours",
        0xC000_0070 => "workstation restriction",
        0xC000_0071 => "password expired",
        0xC000_0072 => "account disabled",
        0xC000_00DC => "server in wrong state",
        0xC000_0133 => "clock skew too large",
        0xC000_015B => "logon type not granted",
        0xC000_018C => "trust relationship failed",
        0xC000_0192 => "NetLogon service not started",
        0xC000_0193 => "account expired",
        0xC000_0224 => "password must change",
        0xC000_0225 => "Windows bug (not a risk)",
        0xC000_0234 => "account locked out",
        0xC000_0413 => "authentication firewall: not allowed to authenticate",
        _ => return None,
    })
}

/// Meaning of common Kerberos result codes (4768/4769/4771 Status).
pub(crate) fn kerberos_status_text(code: &str) -> Option<&'static str> {
    let n = lateral_model::event::parse_int(code)?;
    Some(match n {
        0x0 => "success",
        0x6 => "client principal unknown",
        0x7 => "server principal unknown",
        0xC => "policy restriction",
        0xE => "encryption type not supported",
        0x12 => "client revoked (disabled, expired or locked out)",
        0x17 => "password expired",
        0x18 => "pre-authentication failed (wrong password)",
        0x1B => "server requires user-to-user",
        0x1F => "integrity check failed",
        0x20 => "ticket expired",
        0x25 => "clock skew too large",
        _ => return None,
    })
}

/// `Key=Value` / `Key = Value` lines of a text block (PowerShell ContextInfo, classic
/// PowerShell event details).
pub(crate) fn key_values(block: &str) -> Vec<(&str, &str)> {
    block
        .lines()
        .filter_map(|line| {
            let (k, v) = line.split_once('=')?;
            let k = k.trim();
            (!k.is_empty() && k.len() <= 64).then_some((k, v.trim()))
        })
        .collect()
}

/// The value of `key` in a key/value block (first occurrence, case-insensitive key).
pub(crate) fn block_value<'s>(block: &'s str, key: &str) -> Option<&'s str> {
    key_values(block)
        .into_iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty())
}

/// Hex bytes of UTF-16LE text (WinRM `EventPayload`, SCM `Binary`) → the NUL-separated
/// strings it holds.
pub(crate) fn utf16le_hex_strings(hex: &str) -> Vec<String> {
    let hex = hex.trim();
    if hex.len() < 4 || !hex.len().is_multiple_of(4) || !hex.bytes().all(|b| b.is_ascii_hexdigit())
    {
        return Vec::new();
    }
    let units: Vec<u16> = hex
        .as_bytes()
        .chunks_exact(4)
        .filter_map(|c| {
            let s = std::str::from_utf8(c).ok()?;
            let lo = u8::from_str_radix(s.get(..2)?, 16).ok()?;
            let hi = u8::from_str_radix(s.get(2..)?, 16).ok()?;
            Some(u16::from_le_bytes([lo, hi]))
        })
        .collect();
    String::from_utf16_lossy(&units)
        .split('\0')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Sysmon `UtcTime` (`2019-04-30 20:32:51.123`) → microseconds since the epoch.
pub(crate) fn parse_utc_time(s: &str) -> Option<i64> {
    chrono::NaiveDateTime::parse_from_str(s.trim(), "%Y-%m-%d %H:%M:%S%.f")
        .ok()
        .map(|t| t.and_utc().timestamp_micros())
}

/// Well-known COM classes used for lateral movement (CLSIDs from the MS-DCOM world), for
/// descriptions of DistributedCOM 10016.
pub(crate) fn com_class_name(clsid: &str) -> Option<&'static str> {
    let c = clsid
        .trim()
        .trim_start_matches('{')
        .trim_end_matches('}')
        .to_ascii_lowercase();
    Some(match c.as_str() {
        "49b2791a-b1ae-4c90-9b8e-e860ba07f889" => "MMC20.Application",
        "9ba05972-f6a8-11cf-a442-00a0c90a8f39" => "ShellWindows",
        "c08afd90-f2a1-11d1-8455-00a0c91f3880" => "ShellBrowserWindow",
        "00024500-0000-0000-c000-000000000046" => "Excel.Application",
        "8bc3f05e-d86b-11d0-a075-00c04fb68820" => "WbemLevel1Login (WMI)",
        "3050f4d8-98b5-11cf-bb82-00aa00bdce0b" => "htafile",
        _ => return None,
    })
}

/// A `Name = "value";` property from a WMI MOF instance dump (WMI-Activity 5861
/// `PossibleCause`), with MOF string escapes (`\\`, `\"`) decoded.
pub(crate) fn mof_property(text: &str, name: &str) -> Option<String> {
    let mut from = 0;
    while let Some(pos) = text.get(from..).and_then(|r| r.find(name)) {
        let start = from + pos;
        let before_ok = start == 0
            || text
                .get(..start)
                .and_then(|b| b.chars().last())
                .is_some_and(|c| !c.is_ascii_alphanumeric());
        let after = text.get(start + name.len()..).unwrap_or_default();
        let trimmed = after.trim_start();
        if before_ok {
            if let Some(value) = trimmed.strip_prefix('=') {
                let value = value.trim_start();
                if let Some(body) = value.strip_prefix('"') {
                    let mut out = String::new();
                    let mut chars = body.chars();
                    while let Some(c) = chars.next() {
                        match c {
                            '\\' => match chars.next() {
                                Some(n) => out.push(n),
                                None => break,
                            },
                            '"' => return Some(out),
                            c => out.push(c),
                        }
                    }
                    return Some(out);
                }
            }
        }
        from = start + name.len();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_paths() {
        let cases = [
            ("%SystemRoot%\\PSEXESVC.exe", "%SystemRoot%\\PSEXESVC.exe"),
            ("%COMSPEC% /C start /b powershell -enc AAA", "%COMSPEC%"),
            (
                "%COMSPEC% /b /c start /b /min powershell.exe -nop -w hidden",
                "%COMSPEC%",
            ),
            ("cmd.exe", "cmd.exe"),
            ("calc.exe", "calc.exe"),
            (
                "\"-Ctaskkill /f /im explorer.exe\"",
                "-Ctaskkill /f /im explorer.exe",
            ),
            (
                "\"C:\\Program Files\\Foo\\svc.exe\" -k x",
                "C:\\Program Files\\Foo\\svc.exe",
            ),
            (
                "C:\\Program Files\\Foo Bar\\svc.exe -k x",
                "C:\\Program Files\\Foo Bar\\svc.exe",
            ),
            (
                "C:\\WINDOWS\\a.exe C:\\WINDOWS\\b.exe",
                "C:\\WINDOWS\\a.exe",
            ),
            (
                "%SystemRoot%\\system32\\svchost.exe -k netsvcs",
                "%SystemRoot%\\system32\\svchost.exe",
            ),
            (
                "powershell.exe -c Reset-ComputerMachinePassword",
                "powershell.exe",
            ),
            ("\"unterminated path", "unterminated path"),
            (
                "  \\SystemRoot\\System32\\drivers\\x.sys ",
                "\\SystemRoot\\System32\\drivers\\x.sys",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(service_executable(input), Some(want), "{input}");
        }
        assert_eq!(service_executable("   "), None);
        assert_eq!(service_executable("\"\""), None);
        assert_eq!(service_executable("\"é"), Some("é"));
        assert_eq!(service_executable("C:\\é é.exe"), Some("C:\\é é.exe"));
    }

    #[test]
    fn task_xml() {
        let xml = "<Task><Actions Context=\"LocalSystem\"><Exec>\r\n<Command>cmd.exe</Command>\
                   <Arguments>/C tasklist &gt; %windir%\\Temp\\x.tmp 2&gt;&amp;1</Arguments>\
                   </Exec></Actions><CommandX>no</CommandX></Task>";
        assert_eq!(xml_element_text(xml, "Command").as_deref(), Some("cmd.exe"));
        assert_eq!(
            xml_element_text(xml, "Arguments").as_deref(),
            Some("/C tasklist > %windir%\\Temp\\x.tmp 2>&1")
        );
        assert_eq!(xml_element_text(xml, "Author"), None);
        assert_eq!(xml_element_text("<A/>", "A").as_deref(), Some(""));
        assert_eq!(
            xml_element_text("<A x='1'>v</A>", "A").as_deref(),
            Some("v")
        );
        assert_eq!(xml_element_text("<A>unclosed", "A"), None);
        assert_eq!(xml_element_text("<", "A"), None);
        assert_eq!(
            xml_unescape("a &#65;&#x42; &bogus; & &lt;"),
            "a AB &bogus; & <"
        );
        assert_eq!(xml_unescape("&#xFFFFFFFF;"), "&#xFFFFFFFF;");
    }

    #[test]
    fn hashes() {
        let h = parse_hashes("SHA1=6CBC,MD5=7353F60B,SHA256=DE96,IMPHASH=7417");
        assert_eq!(h.len(), 4);
        assert_eq!(h[2], ("SHA256".to_string(), "de96".to_string()));
        let bare = parse_hashes("0123456789abcdef0123456789ABCDEF");
        assert_eq!(bare[0].0, "MD5");
        assert!(parse_hashes("SHA256=zz,=,x").is_empty());
    }

    #[test]
    fn addresses_and_codes() {
        assert_eq!(
            split_ip_port("10.0.2.16:52202"),
            ("10.0.2.16", Some("52202"))
        );
        assert_eq!(
            split_ip_port("[10.0.2.16]:59407"),
            ("10.0.2.16", Some("59407"))
        );
        assert_eq!(split_ip_port("[fe80::1]:3389"), ("fe80::1", Some("3389")));
        assert_eq!(split_ip_port("fe80::1"), ("fe80::1", None));
        assert_eq!(split_ip_port("[broken"), ("broken", None));
        assert_eq!(
            ntstatus_text("0xC000006D"),
            Some("bad user name or password")
        );
        assert_eq!(
            ntstatus_text("0xc0000064"),
            Some("user name does not exist")
        );
        assert_eq!(
            kerberos_status_text("0x18"),
            Some("pre-authentication failed (wrong password)")
        );
        assert_eq!(app_protocol_for_port(445), Some("SMB"));
        assert_eq!(ip_protocol_for_number("17"), Some("UDP"));
        assert_eq!(
            split_upn("pgustavo@THESHIRE.LOCAL"),
            ("pgustavo", Some("THESHIRE.LOCAL"))
        );
        assert_eq!(split_upn("@x"), ("@x", None));
        assert_eq!(
            split_down_level("NT AUTHORITY\\SYSTEM"),
            (Some("NT AUTHORITY"), "SYSTEM")
        );
    }

    #[test]
    fn blocks_and_payloads() {
        let ctx = "        Severity = Informational\r\n        Host Application = powershell.exe -enc A==\r\n        User = THESHIRE\\pgustavo\r\n";
        assert_eq!(
            block_value(ctx, "Host Application"),
            Some("powershell.exe -enc A==")
        );
        assert_eq!(block_value(ctx, "user"), Some("THESHIRE\\pgustavo"));
        assert_eq!(block_value(ctx, "Missing"), None);
        let uri = "68007400740070003A002F002F0078000000";
        assert_eq!(utf16le_hex_strings(uri), vec!["http://x".to_string()]);
        assert!(utf16le_hex_strings("zz").is_empty());
        assert!(utf16le_hex_strings("123").is_empty());
        assert_eq!(
            parse_utc_time("2019-04-30 20:32:51.123"),
            Some(1_556_656_371_123_000)
        );
        let mof = "instance of CommandLineEventConsumer\n{\n\tCommandLineTemplate = \"cmd.exe /c \\\"C:\\\\x.bat\\\"\";\n\tName = \"Updater\";\n};";
        assert_eq!(
            mof_property(mof, "CommandLineTemplate").as_deref(),
            Some("cmd.exe /c \"C:\\x.bat\"")
        );
        assert_eq!(mof_property(mof, "Name").as_deref(), Some("Updater"));
        assert_eq!(mof_property(mof, "Missing"), None);
        assert_eq!(
            com_class_name("{49B2791A-B1AE-4C90-9B8E-E860BA07F889}"),
            Some("MMC20.Application")
        );
    }
}
