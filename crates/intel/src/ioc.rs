//! Local IOC lists: CSV files of `value,type,description,source` (a header row is optional;
//! `#` starts a comment line), and the matcher behind `get_ioc_matches`.
//!
//! Matching rules by kind: an IP equals the observed address, a CIDR contains it; a domain
//! matches itself and its subdomains; a hash compares case-insensitively; a file name matches
//! the last component of an observed path; an account without a domain matches that user in
//! any domain; everything else compares case-insensitively. An empty `type` is inferred from
//! the value. A bad line (unknown type, a value that is not what its type says) is reported
//! with the file and line and skipped; the rest of the list loads ([`IocSet::load_lenient`]).

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::IntelError;

/// What an indicator is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IocKind {
    Ip,
    Cidr,
    Domain,
    Url,
    Hash,
    File,
    Account,
    Other,
}

impl IocKind {
    pub fn as_str(self) -> &'static str {
        match self {
            IocKind::Ip => "ip",
            IocKind::Cidr => "cidr",
            IocKind::Domain => "domain",
            IocKind::Url => "url",
            IocKind::Hash => "hash",
            IocKind::File => "file",
            IocKind::Account => "account",
            IocKind::Other => "other",
        }
    }

    /// From the CSV `type` column; `None` when empty or unknown (then inferred).
    fn parse(t: &str) -> Option<IocKind> {
        Some(match t.trim().to_ascii_lowercase().as_str() {
            "ip" | "ipv4" | "ipv6" | "ip_address" | "address" | "ip-dst" | "ip-src" => IocKind::Ip,
            "cidr" | "subnet" | "network" | "range" => IocKind::Cidr,
            "domain" | "fqdn" | "hostname" | "host" => IocKind::Domain,
            "url" | "uri" => IocKind::Url,
            "hash" | "md5" | "sha1" | "sha256" | "filehash" | "file_hash" => IocKind::Hash,
            "file" | "filename" | "file_name" | "path" | "process" => IocKind::File,
            "account" | "user" | "username" | "userid" => IocKind::Account,
            "other" | "string" => IocKind::Other,
            _ => return None,
        })
    }

    fn infer(v: &str) -> IocKind {
        let v = v.trim();
        if v.parse::<IpAddr>().is_ok() {
            IocKind::Ip
        } else if parse_cidr(v).is_some() {
            IocKind::Cidr
        } else if is_hash(v) {
            IocKind::Hash
        } else if v.contains("://") {
            IocKind::Url
        } else if v.contains('\\')
            && !v.contains(' ')
            && v.split('\\').count() == 2
            && !v.contains(':')
        {
            IocKind::Account
        } else if v.contains('\\') || v.contains('/') || has_file_extension(v) {
            IocKind::File
        } else if v.contains('.') {
            IocKind::Domain
        } else {
            IocKind::Other
        }
    }
}

fn read(path: &Path) -> Result<String, IntelError> {
    std::fs::read_to_string(path).map_err(|source| IntelError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn is_hash(v: &str) -> bool {
    matches!(v.len(), 32 | 40 | 64) && v.bytes().all(|b| b.is_ascii_hexdigit())
}

fn has_file_extension(v: &str) -> bool {
    const EXT: &[&str] = &[
        ".exe", ".dll", ".ps1", ".bat", ".cmd", ".vbs", ".js", ".hta", ".sys", ".scr", ".msi",
    ];
    let l = v.to_ascii_lowercase();
    EXT.iter().any(|e| l.ends_with(e))
}

fn parse_cidr(v: &str) -> Option<(IpAddr, u8)> {
    let (ip, bits) = v.trim().split_once('/')?;
    let ip: IpAddr = ip.parse().ok()?;
    let bits: u8 = bits.parse().ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    (bits <= max).then_some((ip, bits))
}

fn in_cidr(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(bits))
            };
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(bits))
            };
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

fn file_name(v: &str) -> &str {
    v.rsplit(['\\', '/']).next().unwrap_or(v)
}

/// One indicator.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Ioc {
    pub value: String,
    pub kind: IocKind,
    pub description: String,
    pub source: String,
    /// File and line it came from.
    pub origin: String,
}

/// A hit: an observed value and the indicator it matched.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct IocMatch {
    pub observed: String,
    pub ioc: Ioc,
}

/// A set of indicators from one or more lists.
#[derive(Debug, Clone, Default)]
pub struct IocSet {
    iocs: Vec<Ioc>,
}

impl IocSet {
    pub fn len(&self) -> usize {
        self.iocs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.iocs.is_empty()
    }

    pub fn iocs(&self) -> &[Ioc] {
        &self.iocs
    }

    /// Read a CSV list from a file; the first bad line is an error (see [`IocSet::load_lenient`]).
    pub fn load(path: &Path) -> Result<IocSet, IntelError> {
        let text = read(path)?;
        IocSet::parse_csv(&text, path)
    }

    /// Read a CSV list from a file, keeping every good line: the bad ones come back as
    /// problems naming the file and line. Only an unreadable file is an error.
    pub fn load_lenient(path: &Path) -> Result<(IocSet, Vec<IntelError>), IntelError> {
        let text = read(path)?;
        Ok(IocSet::parse_csv_lenient(&text, path))
    }

    /// Parse CSV text; `path` names the list in errors and in each indicator's origin. The
    /// first bad line is an error.
    pub fn parse_csv(text: &str, path: &Path) -> Result<IocSet, IntelError> {
        let (set, mut problems) = IocSet::parse_csv_lenient(text, path);
        if problems.is_empty() {
            Ok(set)
        } else {
            Err(problems.remove(0))
        }
    }

    /// Parse CSV text, skipping bad lines; each skipped line is returned as a problem naming
    /// the file and line.
    pub fn parse_csv_lenient(text: &str, path: &Path) -> (IocSet, Vec<IntelError>) {
        let list_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .comment(Some(b'#'))
            .trim(csv::Trim::All)
            .from_reader(text.as_bytes());
        let mut cols = [0usize, 1, 2, 3];
        let mut out = Vec::new();
        let mut problems = Vec::new();
        let bad = |line: u64, message: String| IntelError::Line {
            path: PathBuf::from(path),
            line,
            message,
        };
        for (i, rec) in reader.records().enumerate() {
            let rec = match rec {
                Ok(r) => r,
                Err(e) => {
                    problems.push(bad(
                        e.position().map(|p| p.line()).unwrap_or(i as u64 + 1),
                        e.to_string(),
                    ));
                    continue;
                }
            };
            let line = rec.position().map(|p| p.line()).unwrap_or(i as u64 + 1);
            if i == 0 && rec.get(0).is_some_and(|v| v.eq_ignore_ascii_case("value")) {
                for (slot, name) in ["value", "type", "description", "source"]
                    .iter()
                    .enumerate()
                {
                    cols[slot] = rec
                        .iter()
                        .position(|h| h.eq_ignore_ascii_case(name))
                        .unwrap_or(usize::MAX);
                }
                continue;
            }
            let field = |slot: usize| rec.get(cols[slot]).unwrap_or("").trim().to_string();
            let value = field(0);
            if value.is_empty() {
                continue;
            }
            let ty = field(1);
            // An empty type is inferred from the value; an unknown one is a mistake.
            let kind = if ty.is_empty() {
                IocKind::infer(&value)
            } else {
                match IocKind::parse(&ty) {
                    Some(k) => k,
                    None => {
                        problems.push(bad(
                            line,
                            format!(
                                "unknown type {ty:?} for {value:?}: use ip, cidr, domain, url, hash, file, account or other (or leave it empty)"
                            ),
                        ));
                        continue;
                    }
                }
            };
            if kind == IocKind::Ip
                && value.parse::<IpAddr>().is_err()
                && parse_cidr(&value).is_none()
            {
                problems.push(bad(
                    line,
                    format!("{value:?} is typed as an IP address but is not one"),
                ));
                continue;
            }
            let kind = if kind == IocKind::Ip && parse_cidr(&value).is_some() {
                IocKind::Cidr
            } else {
                kind
            };
            if kind == IocKind::Cidr && parse_cidr(&value).is_none() {
                problems.push(bad(
                    line,
                    format!("{value:?} is typed as a network but is not ADDRESS/BITS"),
                ));
                continue;
            }
            if kind == IocKind::Hash && !is_hash(&value) {
                problems.push(bad(
                    line,
                    format!("{value:?} is typed as a hash but is not 32, 40 or 64 hex digits"),
                ));
                continue;
            }
            let source = field(3);
            out.push(Ioc {
                value,
                kind,
                description: field(2),
                source: if source.is_empty() {
                    list_name.clone()
                } else {
                    source
                },
                origin: format!("{list_name}:{line}"),
            });
        }
        (IocSet { iocs: out }, problems)
    }

    /// Add another list's indicators.
    pub fn extend(&mut self, other: IocSet) {
        self.iocs.extend(other.iocs);
    }

    /// The indicators an observed value matches, in list order.
    pub fn matches(&self, observed: &str) -> Vec<&Ioc> {
        let obs = observed.trim();
        if obs.is_empty() {
            return Vec::new();
        }
        let lower = obs.to_lowercase();
        let ip = obs
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .ok();
        self.iocs
            .iter()
            .filter(|i| {
                let v = i.value.to_lowercase();
                match i.kind {
                    IocKind::Ip => ip.is_some_and(|a| i.value.parse::<IpAddr>().ok() == Some(a)),
                    IocKind::Cidr => match (ip, parse_cidr(&i.value)) {
                        (Some(a), Some((net, bits))) => in_cidr(a, net, bits),
                        _ => false,
                    },
                    IocKind::Domain => {
                        let o = lower.trim_end_matches('.');
                        let d = v.trim_end_matches('.');
                        o == d || o.ends_with(&format!(".{d}"))
                    }
                    IocKind::Url => lower.trim_end_matches('/') == v.trim_end_matches('/'),
                    IocKind::Hash => lower == v,
                    IocKind::File => {
                        if v.contains('\\') || v.contains('/') {
                            lower == v
                        } else {
                            file_name(&lower) == v
                        }
                    }
                    IocKind::Account => {
                        if v.contains('\\') || v.contains('@') {
                            lower == v
                        } else {
                            let user = lower
                                .rsplit('\\')
                                .next()
                                .unwrap_or(&lower)
                                .split('@')
                                .next()
                                .unwrap_or(&lower);
                            user == v
                        }
                    }
                    IocKind::Other => lower == v,
                }
            })
            .collect()
    }

    /// Match many observed values; one entry per (observed, indicator), sorted.
    pub fn match_all<'a>(&self, observed: impl IntoIterator<Item = &'a str>) -> Vec<IocMatch> {
        let mut out = BTreeSet::new();
        for o in observed {
            for ioc in self.matches(o) {
                out.insert(IocMatch {
                    observed: o.trim().to_string(),
                    ioc: ioc.clone(),
                });
            }
        }
        out.into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIST: &str = "value,type,description,source
# attacker infrastructure
10.0.0.130,ip,Kali box,red team
192.168.50.0/24,cidr,staging net,
evil.example,domain,C2 domain,intel feed
D41D8CD98F00B204E9800998ECF8427E,md5,empty file,
PSEXESVC.exe,filename,PsExec service binary,
C:\\Users\\Public\\beacon.exe,path,dropped beacon,
ssales,account,compromised user,
https://evil.example/x,url,payload,
mimikatz,,tool name,
";

    fn set() -> IocSet {
        IocSet::parse_csv(LIST, Path::new("iocs.csv")).expect("parse")
    }

    #[test]
    fn parses_with_header_comments_and_defaults() {
        let s = set();
        assert_eq!(s.len(), 9);
        assert_eq!(s.iocs()[0].kind, IocKind::Ip);
        assert_eq!(s.iocs()[0].source, "red team");
        assert_eq!(
            s.iocs()[1].source,
            "iocs.csv",
            "empty source defaults to the list"
        );
        assert_eq!(s.iocs()[1].origin, "iocs.csv:4");
        assert_eq!(s.iocs()[8].kind, IocKind::Other);
        // Without a header, columns are positional; types are inferred when absent.
        let s = IocSet::parse_csv("10.1.1.1\nbad.example.org\nabc.exe\n", Path::new("l.csv"))
            .expect("parse");
        let kinds: Vec<_> = s.iocs().iter().map(|i| i.kind).collect();
        assert_eq!(kinds, [IocKind::Ip, IocKind::Domain, IocKind::File]);
    }

    #[test]
    fn bad_values_are_reported_with_their_line() {
        let err = IocSet::parse_csv("value,type\n1.2.3.4,ip\nnot-an-ip,ip\n", Path::new("x.csv"))
            .expect_err("bad ip");
        let msg = err.to_string();
        assert!(msg.contains("x.csv") && msg.contains("line 3"), "{msg}");
        assert!(IocSet::parse_csv("10.0.0.0/99,cidr\n", Path::new("x.csv")).is_err());
    }

    #[test]
    fn bad_lines_are_skipped_and_named_while_the_rest_loads() {
        let text = "value,type,description\n10.0.0.130,ip,attacker\nnot-an-ip,ip,typo\nzz,sha256,short\nevil.example,domain,c2\nx,colour,what\n";
        let (set, problems) = IocSet::parse_csv_lenient(text, Path::new("/lists/feed.csv"));
        let values: Vec<&str> = set.iocs().iter().map(|i| i.value.as_str()).collect();
        assert_eq!(values, ["10.0.0.130", "evil.example"]);
        let msgs: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(msgs.len(), 3, "{msgs:?}");
        assert!(msgs[0].starts_with("/lists/feed.csv: line 3:"), "{msgs:?}");
        assert!(
            msgs[1].contains("line 4") && msgs[1].contains("hash"),
            "{msgs:?}"
        );
        assert!(
            msgs[2].contains("line 6") && msgs[2].contains("colour"),
            "{msgs:?}"
        );
        // The strict reader stops at the first.
        let err = IocSet::parse_csv(text, Path::new("feed.csv")).expect_err("strict");
        assert!(err.to_string().contains("line 3"), "{err}");
    }

    #[test]
    fn load_lenient_names_an_unreadable_file() {
        let err = IocSet::load_lenient(Path::new("/nonexistent/iocs.csv")).expect_err("missing");
        assert!(err.to_string().contains("/nonexistent/iocs.csv"), "{err}");
    }

    #[test]
    fn matching_rules_per_kind() {
        let s = set();
        let hit = |v: &str| {
            s.matches(v)
                .iter()
                .map(|i| i.value.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(hit("10.0.0.130"), ["10.0.0.130"]);
        assert!(hit("10.0.0.13").is_empty());
        assert_eq!(hit("192.168.50.77"), ["192.168.50.0/24"]);
        assert!(hit("192.168.51.1").is_empty());
        assert_eq!(hit("cdn.EVIL.example"), ["evil.example"]);
        assert!(hit("notevil.example").is_empty());
        assert_eq!(
            hit("d41d8cd98f00b204e9800998ecf8427e"),
            ["D41D8CD98F00B204E9800998ECF8427E"]
        );
        assert_eq!(hit("C:\\Windows\\psexesvc.EXE"), ["PSEXESVC.exe"]);
        assert_eq!(
            hit("c:\\users\\public\\BEACON.exe"),
            ["C:\\Users\\Public\\beacon.exe"]
        );
        assert!(hit("C:\\Temp\\beacon.exe").is_empty());
        assert_eq!(hit("CORP\\SSales"), ["ssales"]);
        assert_eq!(hit("ssales@corp.local"), ["ssales"]);
        assert!(hit("CORP\\ssales2").is_empty());
        assert_eq!(hit("https://evil.example/x/"), ["https://evil.example/x"]);
        assert_eq!(hit("MIMIKATZ"), ["mimikatz"]);
        assert!(hit("").is_empty());
    }

    #[test]
    fn match_all_is_sorted_and_deduplicated() {
        let s = set();
        let m = s.match_all(["10.0.0.130", "x", "10.0.0.130", "evil.example"]);
        let pairs: Vec<_> = m
            .iter()
            .map(|m| (m.observed.as_str(), m.ioc.value.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("10.0.0.130", "10.0.0.130"),
                ("evil.example", "evil.example")
            ]
        );
    }
}
