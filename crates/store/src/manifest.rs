//! The manifest: the one file that says what the store holds. Readers read it once and use
//! only the files it lists (a snapshot); a writer replaces it atomically: the new version is
//! written to `MANIFEST.json.tmp-<pid>`, flushed to disk, renamed over `MANIFEST.json`, and
//! the folder is flushed, so a crash at any moment leaves either the old or the new version.
//!
//! It must not delete or write data files.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::layout::{MANIFEST, MANIFEST_TMP};
use crate::{Result, StoreError};

pub const FORMAT: &str = "lateral-store";
/// Written by this build; 2 lists coverage as arrays (see [`CoverageEntry`]).
pub const VERSION: u32 = 2;
/// Read by this build.
pub const READS: std::ops::RangeInclusive<u32> = 1..=VERSION;

/// The published state of a store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always `lateral-store`.
    pub format: String,
    pub version: u32,
    /// Bumped by every publication.
    pub generation: u64,
    /// The data files, sorted by path.
    pub files: Vec<DataFile>,
    /// Every evidence source ingested, sorted by content hash.
    pub sources: Vec<SourceEntry>,
}

impl Default for Manifest {
    fn default() -> Self {
        Manifest {
            format: FORMAT.into(),
            version: VERSION,
            generation: 0,
            files: Vec::new(),
            sources: Vec::new(),
        }
    }
}

/// Records per (host, channel, event id): (events, first record time, last record time).
pub type Coverage = BTreeMap<(String, String, i64), (u64, Option<i64>, Option<i64>)>;

/// One published Parquet file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataFile {
    /// Relative to the store root, `/`-separated.
    pub path: String,
    /// `date=YYYY-MM-DD` or `date=YYYY-MM-DD/hour=HH`.
    pub partition: String,
    pub rows: u64,
    pub bytes: u64,
    /// Earliest and latest `metadata.event_timestamp` (µs UTC) in the file.
    pub min_time: Option<i64>,
    pub max_time: Option<i64>,
    /// Generation that published it.
    pub generation: u64,
    /// Records per (logging host, channel, event id) in the file, as the evidence scan counts
    /// them, so a store-backed hunt sees the same coverage as one over the raw evidence.
    pub coverage: Vec<CoverageEntry>,
}

/// Records of one kind in a file.
///
/// Written as a JSON array `[host, channel, event_id, events, first, last]`: a store of many
/// hosts lists hundreds of thousands of these, and every command reads the manifest when it
/// starts (version 1 wrote objects with named fields; both are read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoverageEntry {
    pub host: String,
    pub channel: String,
    pub event_id: i64,
    pub events: u64,
    /// Earliest and latest record time (µs UTC), when any record had one.
    pub first: Option<i64>,
    pub last: Option<i64>,
}

/// The named-field form of version 1.
#[derive(Deserialize)]
struct NamedCoverage {
    host: String,
    channel: String,
    event_id: i64,
    events: u64,
    first: Option<i64>,
    last: Option<i64>,
}

type CoverageTuple = (String, String, i64, u64, Option<i64>, Option<i64>);

impl Serialize for CoverageEntry {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        (
            &self.host,
            &self.channel,
            self.event_id,
            self.events,
            self.first,
            self.last,
        )
            .serialize(s)
    }
}

impl<'de> Deserialize<'de> for CoverageEntry {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Either;
        impl<'de> serde::de::Visitor<'de> for Either {
            type Value = CoverageEntry;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("[host, channel, event_id, events, first, last] or an object")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                seq: A,
            ) -> std::result::Result<CoverageEntry, A::Error> {
                let (host, channel, event_id, events, first, last): CoverageTuple =
                    Deserialize::deserialize(serde::de::value::SeqAccessDeserializer::new(seq))?;
                Ok(CoverageEntry {
                    host,
                    channel,
                    event_id,
                    events,
                    first,
                    last,
                })
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> std::result::Result<CoverageEntry, A::Error> {
                let n: NamedCoverage =
                    Deserialize::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
                Ok(CoverageEntry {
                    host: n.host,
                    channel: n.channel,
                    event_id: n.event_id,
                    events: n.events,
                    first: n.first,
                    last: n.last,
                })
            }
        }
        d.deserialize_any(Either)
    }
}

/// One ingested evidence source (a file, a `.gz` stream or a `.zip` member).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceEntry {
    /// BLAKE3 of the (decompressed) content, hex.
    pub hash: String,
    /// As shown in provenance (`lateral.source_file`) when first ingested.
    pub display: String,
    pub format: String,
    pub bytes: u64,
    pub events: u64,
    /// Problems met while reading it (reported at ingest).
    pub issues: u64,
    pub generation: u64,
    /// RFC 3339, UTC.
    pub ingested_at: String,
}

impl Manifest {
    /// Read `root/MANIFEST.json`; an empty store when there is none yet.
    pub fn load(root: &Path) -> Result<Manifest> {
        let path = root.join(MANIFEST);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Manifest::default()),
            Err(e) => return Err(StoreError::Io { path, source: e }),
        };
        Self::parse(&text, &path)
    }

    /// A manifest from its JSON text; `path` names it in errors (a file or an object URL).
    /// Any version this build reads is held as the current one (the same content), so the
    /// next publication writes the current format.
    pub fn parse(text: &str, path: &Path) -> Result<Manifest> {
        let mut m: Manifest = serde_json::from_str(text).map_err(|e| StoreError::Manifest {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        if m.format != FORMAT || !READS.contains(&m.version) {
            return Err(StoreError::Manifest {
                path: path.to_path_buf(),
                message: format!(
                    "format {:?} version {} (this build reads {FORMAT:?} versions 1 to {VERSION})",
                    m.format, m.version
                ),
            });
        }
        m.version = VERSION;
        Ok(m)
    }

    /// The manifest as written: compact JSON (a store of many hosts has a large manifest, and
    /// every command reads it), ending with a newline.
    pub fn to_json(&self) -> serde_json::Result<Vec<u8>> {
        let mut text = serde_json::to_vec(self)?;
        text.push(b'\n');
        Ok(text)
    }

    /// Replace `root/MANIFEST.json` with `self`, atomically and durably.
    pub fn publish(&self, root: &Path) -> Result<()> {
        let tmp = root.join(format!("{MANIFEST_TMP}{}", std::process::id()));
        let text = self.to_json().map_err(|e| StoreError::Manifest {
            path: tmp.clone(),
            message: e.to_string(),
        })?;
        {
            let mut f = std::fs::File::create(&tmp).map_err(StoreError::io(&tmp))?;
            f.write_all(&text).map_err(StoreError::io(&tmp))?;
            f.sync_all().map_err(StoreError::io(&tmp))?;
        }
        let path = root.join(MANIFEST);
        std::fs::rename(&tmp, &path).map_err(StoreError::io(&path))?;
        sync_dir(root)
    }

    /// Whether a source with this content hash is already held.
    pub fn has_source(&self, hash: &str) -> bool {
        self.sources
            .binary_search_by(|s| s.hash.as_str().cmp(hash))
            .is_ok()
    }

    /// Rows in every file.
    pub fn rows(&self) -> u64 {
        self.files.iter().map(|f| f.rows).sum()
    }

    /// Earliest and latest event time over every file.
    pub fn time_range(&self) -> Option<(i64, i64)> {
        let lo = self.files.iter().filter_map(|f| f.min_time).min()?;
        let hi = self.files.iter().filter_map(|f| f.max_time).max()?;
        Some((lo, hi))
    }

    /// Coverage summed over every file: (host, channel, event id) → (events, first, last).
    pub fn coverage(&self) -> Coverage {
        let mut out = Coverage::new();
        for f in &self.files {
            for c in &f.coverage {
                let e = out
                    .entry((c.host.clone(), c.channel.clone(), c.event_id))
                    .or_insert((0, None, None));
                e.0 += c.events;
                e.1 = min_opt(e.1, c.first);
                e.2 = max_opt(e.2, c.last);
            }
        }
        out
    }

    /// Keep the lists in their canonical order (files by path, sources by hash).
    pub fn normalise(&mut self) {
        self.files.sort_by(|a, b| a.path.cmp(&b.path));
        self.sources.sort_by(|a, b| a.hash.cmp(&b.hash));
        self.sources.dedup_by(|a, b| a.hash == b.hash);
    }
}

pub(crate) fn min_opt(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, y) => x.or(y),
    }
}

pub(crate) fn max_opt(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, y) => x.or(y),
    }
}

/// Merge coverage lists (sums per key), sorted by key.
pub fn merge_coverage<'a>(
    lists: impl IntoIterator<Item = &'a CoverageEntry>,
) -> Vec<CoverageEntry> {
    let mut m: BTreeMap<(String, String, i64), CoverageEntry> = BTreeMap::new();
    for c in lists {
        let e = m
            .entry((c.host.clone(), c.channel.clone(), c.event_id))
            .or_insert_with(|| CoverageEntry {
                events: 0,
                first: None,
                last: None,
                ..c.clone()
            });
        e.events += c.events;
        e.first = min_opt(e.first, c.first);
        e.last = max_opt(e.last, c.last);
    }
    m.into_values().collect()
}

/// Flush a folder's entries (renames, new files) to disk.
pub fn sync_dir(dir: &Path) -> Result<()> {
    let f = std::fs::File::open(dir).map_err(StoreError::io(dir))?;
    f.sync_all().map_err(StoreError::io(dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Manifest {
        let mut m = Manifest {
            generation: 4,
            ..Manifest::default()
        };
        m.files.push(DataFile {
            path: "data/date=2025-07-08/part-00000004-000001.parquet".into(),
            partition: "date=2025-07-08".into(),
            rows: 10,
            bytes: 1234,
            min_time: Some(5),
            max_time: Some(9),
            generation: 4,
            coverage: vec![CoverageEntry {
                host: "SALES-PC".into(),
                channel: "Security".into(),
                event_id: 4624,
                events: 10,
                first: Some(5),
                last: Some(9),
            }],
        });
        m.sources.push(SourceEntry {
            hash: "ab".into(),
            display: "x.jsonl".into(),
            format: "JSON".into(),
            bytes: 99,
            events: 10,
            issues: 0,
            generation: 4,
            ingested_at: "2026-01-01T00:00:00Z".into(),
        });
        m
    }

    #[test]
    fn round_trips_through_publish_and_load() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(
            Manifest::load(dir.path()).expect("empty"),
            Manifest::default()
        );
        let m = sample();
        m.publish(dir.path()).expect("publish");
        let back = Manifest::load(dir.path()).expect("load");
        assert_eq!(back, m);
        assert!(back.has_source("ab") && !back.has_source("cd"));
        assert_eq!(back.time_range(), Some((5, 9)));
        assert_eq!(back.rows(), 10);
        // No temporary manifest is left behind.
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .expect("dir")
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with(MANIFEST_TMP))
            .collect();
        assert!(leftovers.is_empty());
    }

    #[test]
    fn rejects_a_foreign_or_corrupt_manifest() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join(MANIFEST), "{\"format\":").expect("write");
        assert!(matches!(
            Manifest::load(dir.path()),
            Err(StoreError::Manifest { .. })
        ));
        let mut m = sample();
        m.format = "other".into();
        std::fs::write(
            dir.path().join(MANIFEST),
            serde_json::to_string(&m).expect("json"),
        )
        .expect("write");
        let err = Manifest::load(dir.path()).expect_err("foreign format");
        assert!(err.to_string().contains("other"), "{err}");
    }

    #[test]
    fn reads_version_1_and_writes_coverage_as_arrays() {
        let m = sample();
        let text = String::from_utf8(m.to_json().expect("json")).expect("utf8");
        assert!(
            text.contains("\"coverage\":[[\"SALES-PC\",\"Security\",4624,10,5,9]]"),
            "{text}"
        );
        assert!(!text.contains("\n  "), "compact: {text}");
        // A version-1 manifest (named coverage fields) reads the same, as the current version.
        let v1 = text
            .replace("\"version\":2", "\"version\":1")
            .replace(
                "[[\"SALES-PC\",\"Security\",4624,10,5,9]]",
                "[{\"host\":\"SALES-PC\",\"channel\":\"Security\",\"event_id\":4624,\"events\":10,\"first\":5,\"last\":9}]",
            );
        assert!(v1.contains("\"version\":1") && v1.contains("\"host\""));
        let back = Manifest::parse(&v1, Path::new("MANIFEST.json")).expect("v1");
        assert_eq!(back, m);
        let v3 = text.replace("\"version\":2", "\"version\":3");
        let err = Manifest::parse(&v3, Path::new("MANIFEST.json")).expect_err("v3");
        assert!(err.to_string().contains("versions 1 to 2"), "{err}");
    }

    #[test]
    fn merges_coverage_by_key() {
        let a = CoverageEntry {
            host: "h".into(),
            channel: "Security".into(),
            event_id: 1,
            events: 2,
            first: Some(3),
            last: Some(4),
        };
        let b = CoverageEntry {
            events: 5,
            first: Some(1),
            last: None,
            ..a.clone()
        };
        let merged = merge_coverage([&a, &b]);
        assert_eq!(merged.len(), 1);
        assert_eq!(
            (merged[0].events, merged[0].first, merged[0].last),
            (7, Some(1), Some(4))
        );
    }
}
