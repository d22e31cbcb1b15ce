//! Finding evidence: walk the paths given (folders recursed), open archives (`.zip` members,
//! `.gz` streams), and detect each file's format from its first bytes, never its extension.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

use crate::issue::ReadIssue;

/// What a file holds, judged by content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Format {
    Evtx,
    Json,
    Xml,
    Zip,
    Gzip,
    Pcap,
    PcapNg,
    Unknown,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Evtx => "EVTX",
            Format::Json => "JSON",
            Format::Xml => "XML",
            Format::Zip => "ZIP",
            Format::Gzip => "GZIP",
            Format::Pcap => "PCAP",
            Format::PcapNg => "PCAPNG",
            Format::Unknown => "UNKNOWN",
        }
    }
}

/// Detect the format from the first bytes of a file.
pub fn detect(head: &[u8]) -> Format {
    if head.starts_with(b"ElfFile\0") {
        return Format::Evtx;
    }
    if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        return Format::Zip;
    }
    if head.starts_with(&[0x1f, 0x8b]) {
        return Format::Gzip;
    }
    if head.len() >= 4 {
        let m = [head[0], head[1], head[2], head[3]];
        if matches!(
            m,
            [0xd4, 0xc3, 0xb2, 0xa1]
                | [0xa1, 0xb2, 0xc3, 0xd4]
                | [0x4d, 0x3c, 0xb2, 0xa1]
                | [0xa1, 0xb2, 0x3c, 0x4d]
        ) {
            return Format::Pcap;
        }
        if m == [0x0a, 0x0d, 0x0d, 0x0a] {
            return Format::PcapNg;
        }
    }
    // Text formats: skip a UTF-8 byte-order mark and leading white space.
    let text = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
    let first = text.iter().copied().find(|b| !b.is_ascii_whitespace());
    match first {
        Some(b'<') => Format::Xml,
        Some(b'{') | Some(b'[') => Format::Json,
        // evtx_dump's default output starts with "Record N" lines before each JSON object.
        Some(b'R') if looks_like_evtx_dump(text) => Format::Json,
        _ => Format::Unknown,
    }
}

fn looks_like_evtx_dump(text: &[u8]) -> bool {
    let s = String::from_utf8_lossy(&text[..text.len().min(256)]);
    let mut lines = s.lines().map(str::trim).filter(|l| !l.is_empty());
    match (lines.next(), lines.next()) {
        (Some(a), Some(b)) => is_record_marker(a) && (b.starts_with('{') || b.starts_with('<')),
        _ => false,
    }
}

/// `Record 12` lines that `evtx_dump` prints before each record.
pub fn is_record_marker(line: &str) -> bool {
    line.strip_prefix("Record ")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Where a source's bytes live.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Location {
    /// A plain file.
    File(PathBuf),
    /// A member of a zip archive.
    ZipMember { archive: PathBuf, member: String },
    /// A gzip-compressed file (decompressed on the fly).
    Gzip(PathBuf),
}

/// One readable piece of evidence.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Source {
    /// How it is shown in reports and provenance (`archive.zip!member.json` for members).
    pub display: String,
    pub location: Location,
    /// Format of the (decompressed) content.
    pub format: Format,
    /// Size in bytes of the content (uncompressed size for archive members when known).
    pub size: u64,
}

impl Source {
    /// Open the (decompressed) content for reading.
    pub fn open(&self) -> io::Result<Box<dyn Read + Send>> {
        match &self.location {
            Location::File(p) => Ok(Box::new(File::open(p)?)),
            Location::Gzip(p) => Ok(Box::new(MultiGzDecoder::new(BufReader::new(File::open(
                p,
            )?)))),
            Location::ZipMember { archive, member } => {
                // Zip members are read into memory: the zip format needs seeking, and members
                // are evidence exports of bounded size. The size is capped to keep memory bounded.
                let mut zip = zip::ZipArchive::new(BufReader::new(File::open(archive)?))
                    .map_err(io::Error::other)?;
                let mut entry = zip.by_name(member).map_err(io::Error::other)?;
                if entry.size() > MAX_MEMBER_BYTES {
                    return Err(io::Error::other(format!(
                        "archive member is {} bytes, over the {} byte limit; extract it first",
                        entry.size(),
                        MAX_MEMBER_BYTES
                    )));
                }
                let mut buf = Vec::with_capacity(entry.size() as usize);
                entry.read_to_end(&mut buf)?;
                Ok(Box::new(io::Cursor::new(buf)))
            }
        }
    }
}

/// Largest archive member read into memory.
pub const MAX_MEMBER_BYTES: u64 = 2 << 30;

const HEAD: usize = 512;

fn read_head(r: &mut dyn Read) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; HEAD];
    let mut n = 0;
    while n < HEAD {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    buf.truncate(n);
    Ok(buf)
}

/// Walk `paths` and return every readable source, sorted by display name (stable order), plus
/// problems (unreadable paths, unknown formats, broken archives).
pub fn discover(paths: &[PathBuf]) -> (Vec<Source>, Vec<ReadIssue>) {
    let mut sources = Vec::new();
    let mut issues = Vec::new();
    for root in paths {
        if !root.exists() {
            issues.push(ReadIssue::whole_file(
                root.display().to_string(),
                "no such file or directory",
            ));
            continue;
        }
        let walker = walkdir::WalkDir::new(root)
            .follow_links(true)
            .sort_by_file_name();
        for entry in walker {
            match entry {
                Ok(e) if e.file_type().is_file() => {
                    examine_file(e.path(), &mut sources, &mut issues);
                }
                Ok(_) => {}
                Err(err) => {
                    let p = err
                        .path()
                        .map(|p| p.display().to_string())
                        .unwrap_or_else(|| root.display().to_string());
                    issues.push(ReadIssue::whole_file(p, err.to_string()));
                }
            }
        }
    }
    sources.sort();
    sources.dedup();
    (sources, issues)
}

fn examine_file(path: &Path, sources: &mut Vec<Source>, issues: &mut Vec<ReadIssue>) {
    let display = path.display().to_string();
    // Skip files that are obviously not evidence (licences, notes) quietly only when their
    // content is unknown; everything else unknown is reported.
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) => {
            issues.push(ReadIssue::whole_file(display, format!("cannot open: {e}")));
            return;
        }
    };
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let head = match read_head(&mut file) {
        Ok(h) => h,
        Err(e) => {
            issues.push(ReadIssue::whole_file(display, format!("cannot read: {e}")));
            return;
        }
    };
    match detect(&head) {
        Format::Zip => examine_zip(path, sources, issues),
        Format::Gzip => {
            let mut dec = MultiGzDecoder::new(&head[..]);
            let inner = {
                let mut h = Vec::new();
                let _ = (&mut dec).take(HEAD as u64).read_to_end(&mut h);
                // A head shorter than the file is fine: detection needs only a few bytes.
                if h.is_empty() {
                    // The 512-byte head may not be enough to inflate anything; retry on the file.
                    match File::open(path) {
                        Ok(f) => {
                            let mut d = MultiGzDecoder::new(BufReader::new(f));
                            read_head(&mut d).unwrap_or_default()
                        }
                        Err(_) => Vec::new(),
                    }
                } else {
                    h
                }
            };
            let format = detect(&inner);
            push_or_report(
                Source {
                    display,
                    location: Location::Gzip(path.to_path_buf()),
                    format,
                    size,
                },
                sources,
                issues,
            );
        }
        format => push_or_report(
            Source {
                display,
                location: Location::File(path.to_path_buf()),
                format,
                size,
            },
            sources,
            issues,
        ),
    }
}

fn push_or_report(src: Source, sources: &mut Vec<Source>, issues: &mut Vec<ReadIssue>) {
    match src.format {
        Format::Evtx | Format::Json | Format::Xml | Format::Pcap | Format::PcapNg => {
            sources.push(src)
        }
        Format::Zip | Format::Gzip => issues.push(ReadIssue::whole_file(
            src.display,
            "nested archive inside an archive: extract it first (skipped)",
        )),
        Format::Unknown => {
            if !is_ignorable(&src.display) {
                issues.push(ReadIssue::whole_file(
                    src.display,
                    "unknown format (not EVTX, JSON, XML, zip, gzip or a capture): skipped",
                ))
            }
        }
    }
}

/// Plain-text companions of evidence folders (licences, readmes, hashes) that are never
/// evidence; they are skipped without a warning.
fn is_ignorable(display: &str) -> bool {
    let name = display
        .rsplit(['/', '\\', '!'])
        .next()
        .unwrap_or(display)
        .to_ascii_lowercase();
    name.starts_with("license")
        || name.starts_with("licence")
        || name.starts_with("readme")
        || name.ends_with(".md")
        || name.ends_with(".txt")
        || name.ends_with(".yaml")
        || name.ends_with(".yml")
        || name.ends_with(".sha256")
        || name == ".ds_store"
}

fn examine_zip(path: &Path, sources: &mut Vec<Source>, issues: &mut Vec<ReadIssue>) {
    let display = path.display().to_string();
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) => {
            issues.push(ReadIssue::whole_file(display, format!("cannot open: {e}")));
            return;
        }
    };
    let mut zip = match zip::ZipArchive::new(BufReader::new(file)) {
        Ok(z) => z,
        Err(e) => {
            issues.push(ReadIssue::whole_file(
                display,
                format!("broken zip archive: {e}"),
            ));
            return;
        }
    };
    for i in 0..zip.len() {
        let mut entry = match zip.by_index(i) {
            Ok(e) => e,
            Err(e) => {
                issues.push(ReadIssue::whole_file(
                    format!("{display}!#{i}"),
                    format!("unreadable archive member: {e}"),
                ));
                continue;
            }
        };
        if entry.is_dir() {
            continue;
        }
        let member = match entry.name() {
            Ok(n) => n.to_string(),
            Err(e) => {
                issues.push(ReadIssue::whole_file(
                    format!("{display}!#{i}"),
                    format!("archive member with an unreadable name: {e}"),
                ));
                continue;
            }
        };
        if member.starts_with("__MACOSX/") {
            continue;
        }
        let size = entry.size();
        let head = match read_head(&mut entry) {
            Ok(h) => h,
            Err(e) => {
                issues.push(ReadIssue::whole_file(
                    format!("{display}!{member}"),
                    format!("cannot decompress: {e}"),
                ));
                continue;
            }
        };
        push_or_report(
            Source {
                display: format!("{display}!{member}"),
                location: Location::ZipMember {
                    archive: path.to_path_buf(),
                    member,
                },
                format: detect(&head),
                size,
            },
            sources,
            issues,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_by_content() {
        assert_eq!(detect(b"ElfFile\0rest"), Format::Evtx);
        assert_eq!(detect(b"\xef\xbb\xbf  {\"a\":1}"), Format::Json);
        assert_eq!(detect(b"\n<Events>"), Format::Xml);
        assert_eq!(detect(b"Record 1\n{\n"), Format::Json);
        assert_eq!(detect(b"PK\x03\x04"), Format::Zip);
        assert_eq!(detect(&[0x1f, 0x8b, 8]), Format::Gzip);
        assert_eq!(detect(&[0xd4, 0xc3, 0xb2, 0xa1, 2, 0]), Format::Pcap);
        assert_eq!(detect(b"random bytes"), Format::Unknown);
        assert_eq!(detect(b""), Format::Unknown);
    }
}
