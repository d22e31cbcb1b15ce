//! Generated (random) service, task, file and host names.
//!
//! Attack tools name what they install with random letters: Metasploit's psexec an 8-letter
//! service with a 16-letter display name (`PLYteGjx` / `PjWdDLoqmAogKpSE`), impacket atexec an
//! 8-letter task (`CYAlyNSS`), smbmap a 10-letter output file (`WqEVwJZYOe`), Invoke-SMBExec a
//! 20-upper-letter service (`PGUJLOAKFQFVOMHGFQPX`), other tools 20 letters from the 16-letter
//! alphabet `A`–`P` (`MNHHCLPEEJKJIICCIEFH`), worms long lower-case and digit soups. Names people
//! choose are words, abbreviations and CamelCase compounds of them.
//!
//! # The rule
//!
//! Only names made of ASCII letters, digits and `_` are considered; anything with spaces, dots,
//! dashes, braces or non-ASCII text (`OneDrive Standalone Update Task-S-1-5-21-…`) is a human
//! or product name. Letters are split into *segments* — CamelCase words (`MpKslDrv` → `Mp`,
//! `Ksl`, `Drv`; an acronym run before a word gives its last capital to the word:
//! `HTTPServer` → `HTTP`, `Server`) and runs between digits and `_`.
//!
//! An **unusual letter pair** is `q` not followed by `u` (or `l`, for SQL), or two consonants
//! that rarely meet in English words and Windows abbreviations (`gj`, `jx`, `fq`, `hg`); a fixed
//! table of common pairs (`th`, `st`, `sv`, `vc`, `dr`, `mp`, …) is allowed and `y` counts as a
//! vowel. A segment is **not a word** unless it is a known short word or abbreviation (a small
//! vocabulary: `svc`, `mgr`, `cfg`, `drv`, `ksl`, `wpc`, `bus`, `res`, `on`, …) or two of them run
//! together (`Ipxlat`), or an acronym at the end or before a real word (`SQLWriter`, not `PLYte`),
//! or a word of three or more letters without unusual pairs. Single stray capitals are not words.
//!
//! A name is random when, by length class:
//!
//! * **mixed case, letters only, 6–24 letters** (Metasploit 8/16, atexec 8, smbmap 10): at least
//!   two segments are not words, counting "more than 60 % capitals with lower case between
//!   them" (`CYAlyNSS`) as one more;
//! * **all upper case, 12–32 letters** (Invoke-SMBExec 20): every letter in `A`–`P` (random
//!   bytes written as letters) with an unusual pair, or at least 3 unusual pairs, or 2 with 3
//!   letters rare in words (`J K Q V W X Z`);
//! * **20–128 characters mixing letters and digits** (worm services such as
//!   `hbik424zgeokk9qen4582…`): at least 4 letter/digit alternations, letters beyond hex `a`–`f`,
//!   and unusual pairs making up at least a sixth of the letter pairs;
//! * **all lower case, 20–128 letters**: unusual pairs making up at least a quarter of the pairs.
//!
//! Everything else — shorter names, all-lower-case or all-upper-case names below those lengths —
//! is never called random: `PSEXESVC`, `BTOBTO` (impacket smbexec's fixed name, recognised by
//! [`crate::classify_service`]), `LMST`, `vmicvss`, `spoolsv` are words or abbreviations as far as
//! letters can tell. A 4-letter impacket-psexec service name is not caught here either; the
//! service classifier uses the 8-letter binary beside it instead. Measured on names generated the
//! way the tools do, the rule catches about 87 % of 8-letter, 93 % of 10-letter and 99 % of
//! 16-letter mixed-case names and 97 % of 20-upper-letter names (see `tests/names.rs`), with no
//! hit on some 300 stock Windows service and task names.

/// Consonant pairs common in English words and Windows names; any other consonant pair (and
/// `q` before anything but `u`) is unusual.
const COMMON_PAIRS: &[&[u8; 2]] = &[
    b"bb", b"bl", b"br", b"bs", b"bj", b"bt", b"cc", b"ch", b"ck", b"cl", b"cr", b"cs", b"ct",
    b"cm", b"cf", b"cp", b"dd", b"dg", b"dl", b"dm", b"dn", b"dr", b"ds", b"dv", b"dw", b"ff",
    b"fl", b"fr", b"fs", b"ft", b"fg", b"gg", b"gh", b"gl", b"gm", b"gn", b"gr", b"gs", b"gt",
    b"hn", b"hr", b"hs", b"ht", b"kl", b"kn", b"kr", b"ks", b"lb", b"lc", b"ld", b"lf", b"lg",
    b"lk", b"ll", b"lm", b"ln", b"lp", b"lr", b"ls", b"lt", b"lv", b"lw", b"mb", b"mm", b"mn",
    b"mp", b"ms", b"md", b"mg", b"mt", b"nb", b"nc", b"nd", b"nf", b"ng", b"nk", b"nl", b"nm",
    b"nn", b"np", b"ns", b"nt", b"nv", b"nh", b"nr", b"nw", b"pd", b"pg", b"ph", b"pl", b"pm",
    b"pn", b"pp", b"pr", b"ps", b"pt", b"rb", b"rc", b"rd", b"rf", b"rg", b"rh", b"rk", b"rl",
    b"rm", b"rn", b"rp", b"rr", b"rs", b"rt", b"rv", b"rw", b"sb", b"sc", b"sd", b"sh", b"sk",
    b"sl", b"sm", b"sn", b"sp", b"sq", b"ss", b"st", b"sv", b"sw", b"sr", b"tc", b"th", b"tl",
    b"tm", b"tp", b"tr", b"ts", b"tt", b"tw", b"tn", b"vc", b"vs", b"wh", b"wl", b"wm", b"wn",
    b"wr", b"ws", b"xc", b"xp", b"xt",
];

/// Short words and abbreviations of Windows service, task and product names. A CamelCase
/// segment spelling one of these (any case) is a word, whatever its letter pairs.
const VOCABULARY: &[&str] = &[
    "ad", "adm", "admin", "age", "agent", "api", "app", "auth", "bde", "boot", "bt", "bth", "bus",
    "ca", "cbs", "cdp", "cert", "cfg", "cmd", "com", "con", "conf", "core", "cpu", "cred", "crypt",
    "ctl", "ctrl", "ctx", "data", "dc", "dcom", "dev", "dhcp", "disk", "dll", "dm", "dmw", "dns",
    "drv", "ds", "dx", "efs", "eng", "enum", "err", "exe", "ext", "fd", "file", "fs", "ftp", "fx",
    "gfx", "gp", "gpo", "gpu", "grp", "hd", "hid", "host", "http", "hv", "hw", "id", "ie", "iis",
    "in", "info", "io", "ip", "ipx", "iscsi", "kdc", "key", "ksl", "ktm", "lan", "lat", "list",
    "loc", "lock", "log", "lsa", "lxp", "lxss", "main", "mgmt", "mgr", "mmc", "mode", "mon", "mp",
    "mrt", "ms", "msi", "nca", "ncb", "ncd", "net", "ngc", "nla", "node", "nsi", "nt", "ntp", "nv",
    "ole", "os", "out", "path", "pc", "pci", "pki", "plug", "pnp", "pol", "port", "proc", "prop",
    "ps", "pub", "push", "ras", "rd", "rdp", "reg", "res", "rm", "rpc", "run", "sam", "scan",
    "scsi", "sd", "sdk", "sec", "shell", "sms", "smb", "sql", "srv", "ssh", "ssl", "std", "svc",
    "svr", "sync", "sys", "task", "tcp", "temp", "term", "time", "tls", "tool", "tpm", "tray",
    "ts", "type", "tz", "udp", "ui", "upd", "usb", "user", "usr", "vb", "vbox", "vds", "ver",
    "view", "vm", "vmw", "vpn", "vss", "was", "wd", "wdf", "wdi", "web", "wer", "wifi", "win",
    "wlan", "wmi", "wmp", "wow", "wp", "wpc", "wpn", "wsh", "wsl", "wwan", "www", "xbl", "xbox",
    "xlat", "zone", "cm", "rc", // Two-letter English words.
    "an", "as", "at", "be", "by", "do", "go", "if", "is", "it", "me", "my", "no", "of", "ok", "on",
    "or", "so", "to", "up", "us", "we",
];

/// Stock Windows names whose letters alone would look generated.
const KNOWN_NAMES: &[&str] = &["MSiSCSI"];

/// Names longer than this are not examined.
const MAX_NAME: usize = 128;

/// Whether `name` looks generated by a tool rather than chosen by a person. See the module
/// documentation for the rule.
pub fn is_random_name(name: &str) -> bool {
    random_name_reason(name).is_some()
}

/// Why `name` looks generated, or `None` when it looks chosen by a person. See the module
/// documentation for the rule.
pub fn random_name_reason(name: &str) -> Option<String> {
    let name = name.trim();
    let n = name.len();
    if n == 0 || n > MAX_NAME {
        return None;
    }
    if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return None;
    }
    let letters = name.bytes().filter(u8::is_ascii_alphabetic).count();
    let uppers = name.bytes().filter(u8::is_ascii_uppercase).count();
    let digits = name.bytes().filter(u8::is_ascii_digit).count();
    let lowers = letters - uppers;
    let segments = segments(name);

    // Letters only, mixed case.
    if digits == 0 && !name.contains('_') && uppers > 0 && lowers > 0 {
        if !(6..=24).contains(&n) || KNOWN_NAMES.iter().any(|k| k.eq_ignore_ascii_case(name)) {
            return None;
        }
        let odd = odd_segments(name, &segments);
        let heavy = uppers * 10 > n * 6 && lower_between_upper(name);
        if odd.len() + usize::from(heavy) >= 2 {
            let shown: Vec<&str> = odd.iter().take(6).map(|&(s, e)| &name[s..e]).collect();
            let mut why = format!(
                "{n}-letter mixed-case name whose CamelCase parts are not words ({})",
                shown.join(", ")
            );
            let (_, rare) = pair_stats(name, &odd);
            if !rare.is_empty() {
                let pairs: Vec<&str> = rare.iter().take(5).map(String::as_str).collect();
                why.push_str(&format!(
                    ", with unusual letter pairs ({})",
                    pairs.join(", ")
                ));
            }
            if heavy {
                why.push_str(&format!(
                    ", and {uppers} of {n} letters upper case at random places"
                ));
            }
            return Some(why);
        }
        return None;
    }

    let (pairs, rare) = pair_stats(name, &segments);

    // Letters only, all upper case.
    if digits == 0 && !name.contains('_') && lowers == 0 {
        if !(12..=32).contains(&n) {
            return None;
        }
        let limited = name.bytes().all(|b| (b'A'..=b'P').contains(&b));
        if limited && !rare.is_empty() {
            return Some(describe(
                &format!("{n} upper-case letters all from A–P (random bytes written as letters)"),
                &rare,
            ));
        }
        let odd_letters = name.bytes().filter(|b| b"JKQVWXZ".contains(b)).count();
        if rare.len() >= 3 || (rare.len() >= 2 && odd_letters >= 3) {
            return Some(describe(
                &format!(
                    "{n} upper-case letters, {odd_letters} of them rare in words (J K Q V W X Z)"
                ),
                &rare,
            ));
        }
        return None;
    }

    if !(20..=MAX_NAME).contains(&n) {
        return None;
    }
    // Long letter/digit soup.
    if digits > 0 && letters > 0 {
        let alternations = name
            .as_bytes()
            .windows(2)
            .filter(|w| w[0].is_ascii_digit() != w[1].is_ascii_digit())
            .count();
        let beyond_hex = name
            .bytes()
            .any(|b| b.is_ascii_alphabetic() && !b.is_ascii_hexdigit());
        if alternations >= 4 && beyond_hex && rare.len() * 6 >= pairs.max(1) && !rare.is_empty() {
            return Some(describe(
                &format!("{n} characters of letters and digits alternating {alternations} times"),
                &rare,
            ));
        }
        return None;
    }
    // Long lower-case letters.
    if digits == 0 && uppers == 0 && rare.len() * 4 >= pairs.max(1) && !rare.is_empty() {
        return Some(describe(&format!("{n} lower-case letters"), &rare));
    }
    None
}

fn describe(what: &str, rare: &[String]) -> String {
    if rare.is_empty() {
        return what.to_string();
    }
    let shown: Vec<&str> = rare.iter().take(5).map(String::as_str).collect();
    format!(
        "{what} with {} unusual letter pair{} ({})",
        rare.len(),
        if rare.len() == 1 { "" } else { "s" },
        shown.join(", ")
    )
}

/// Byte ranges of letter segments: CamelCase words and runs between digits / `_`.
fn segments(name: &str) -> Vec<(usize, usize)> {
    let b = name.as_bytes();
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    for i in 0..b.len() {
        let c = b[i];
        if !c.is_ascii_alphabetic() {
            if let Some(s) = start.take() {
                out.push((s, i));
            }
            continue;
        }
        match start {
            None => start = Some(i),
            Some(s) => {
                let prev = b[i - 1];
                let next_lower = b.get(i + 1).is_some_and(u8::is_ascii_lowercase);
                let boundary = (prev.is_ascii_lowercase() && c.is_ascii_uppercase())
                    || (prev.is_ascii_uppercase() && c.is_ascii_uppercase() && next_lower);
                if boundary {
                    out.push((s, i));
                    start = Some(i);
                }
            }
        }
    }
    if let Some(s) = start {
        out.push((s, b.len()));
    }
    out
}

/// CamelCase segments that are not plausible words:
///
/// * a known word or abbreviation ([`VOCABULARY`]), or two of them run together, is plausible;
/// * an acronym (two or more capitals) is plausible at the end or before a word of three or more
///   letters (`SQLWriter`), not before a stub (`PLYte`, `CYAly`);
/// * a single capital standing alone is not plausible;
/// * any other word is plausible when it has three or more letters and no unusual letter pair.
fn odd_segments(name: &str, segments: &[(usize, usize)]) -> Vec<(usize, usize)> {
    let mut odd = Vec::new();
    for (k, &(s, e)) in segments.iter().enumerate() {
        let seg = &name[s..e];
        if in_vocabulary(seg) || is_compound(seg) {
            continue;
        }
        let all_upper = seg.bytes().all(|b| b.is_ascii_uppercase());
        let plausible = if all_upper {
            seg.len() >= 2
                && match segments.get(k + 1) {
                    None => true,
                    Some(&(ns, ne)) => {
                        let next = &name[ns..ne];
                        next.len() >= 4 || in_vocabulary(next) || is_compound(next)
                    }
                }
        } else {
            seg.len() >= 3 && pair_stats(name, &[(s, e)]).1.is_empty()
        };
        if !plausible {
            odd.push((s, e));
        }
    }
    odd
}

fn is_compound(word: &str) -> bool {
    (2..word.len().saturating_sub(1))
        .any(|i| word.is_char_boundary(i) && in_vocabulary(&word[..i]) && in_vocabulary(&word[i..]))
}

fn in_vocabulary(word: &str) -> bool {
    VOCABULARY.iter().any(|v| v.eq_ignore_ascii_case(word))
}

/// A lower-case run with upper case on both sides (`CYAlyNSS`), not just a lower-case tail.
fn lower_between_upper(name: &str) -> bool {
    let b = name.as_bytes();
    let Some(first_upper) = b.iter().position(u8::is_ascii_uppercase) else {
        return false;
    };
    let Some(last_upper) = b.iter().rposition(u8::is_ascii_uppercase) else {
        return false;
    };
    b[first_upper..last_upper]
        .iter()
        .any(u8::is_ascii_lowercase)
}

fn is_vowel(b: u8) -> bool {
    matches!(b, b'a' | b'e' | b'i' | b'o' | b'u' | b'y')
}

fn is_rare_pair(a: u8, b: u8) -> bool {
    if a == b'q' {
        // `qu` in words, `ql` in SQL.
        return b != b'u' && b != b'l';
    }
    if is_vowel(a) || is_vowel(b) {
        return false;
    }
    !COMMON_PAIRS.iter().any(|p| p[0] == a && p[1] == b)
}

/// (number of letter pairs inside segments, the unusual ones as written).
fn pair_stats(name: &str, segments: &[(usize, usize)]) -> (usize, Vec<String>) {
    let b = name.as_bytes();
    let mut pairs = 0;
    let mut rare = Vec::new();
    for &(s, e) in segments {
        for i in s..e.saturating_sub(1) {
            pairs += 1;
            let (x, y) = (b[i].to_ascii_lowercase(), b[i + 1].to_ascii_lowercase());
            if is_rare_pair(x, y) {
                rare.push(name[i..i + 2].to_string());
            }
        }
    }
    (pairs, rare)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segmentation() {
        let seg = |s: &str| -> Vec<String> {
            segments(s)
                .iter()
                .map(|&(a, b)| s[a..b].to_string())
                .collect()
        };
        assert_eq!(seg("MpKslDrv"), ["Mp", "Ksl", "Drv"]);
        assert_eq!(seg("HTTPServer"), ["HTTP", "Server"]);
        assert_eq!(seg("Sysmon64"), ["Sysmon"]);
        assert_eq!(seg("ab_cd9Ef"), ["ab", "cd", "Ef"]);
    }

    #[test]
    fn odd_parts() {
        let odd = |s: &str| -> Vec<String> {
            odd_segments(s, &segments(s))
                .iter()
                .map(|&(a, b)| s[a..b].to_string())
                .collect()
        };
        assert_eq!(odd("PLYteGjx"), ["PL", "Gjx"]);
        assert_eq!(odd("CYAlyNSS"), ["CY"]);
        assert!(odd("SQLWriter").is_empty());
        assert!(odd("CDPSvc").is_empty());
        assert!(odd("MpKslDrv").is_empty());
        assert!(odd("IpxlatCfgSvc").is_empty());
    }
}
