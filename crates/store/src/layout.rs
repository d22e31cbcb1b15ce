//! Where things live in a store folder, and which partition an event belongs to.
//!
//! ```text
//! STORE/
//!   MANIFEST.json                        the published state (the only thing readers trust)
//!   LOCK                                 held (flock) by the one writer at a time
//!   data/date=2025-07-08/part-00000003-000001.parquet
//!   data/date=2025-07-09/hour=14/part-00000004-000007.parquet   (a dense day)
//!   data/date=unknown/part-...parquet    events without a time
//!   staging/                             files being written; never read
//! ```
//!
//! It must not read or write files itself: it names them.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Datelike, Timelike, Utc};

pub const MANIFEST: &str = "MANIFEST.json";
pub const LOCK: &str = "LOCK";
pub const DATA: &str = "data";
pub const STAGING: &str = "staging";
/// Prefix of a manifest being written (`MANIFEST.json.tmp-<pid>`).
pub const MANIFEST_TMP: &str = "MANIFEST.json.tmp-";

/// A day is *dense* when one write holds at least this many of its events: the write then
/// splits the day into hour partitions (`date=D/hour=HH/`), so a window of a few hours opens
/// only the files of those hours. Below it, one file per day and write (row-group statistics
/// on the sorted time column still skip the hours outside a window).
pub const DENSE_DAY_ROWS: usize = 200_000;

/// Rows per Parquet row group: the unit the time statistics prune. Files are sorted by time,
/// so one row group covers a short stretch of time.
pub const ROW_GROUP_ROWS: usize = 64 * 1024;

/// Partition name of a day without time.
pub const UNKNOWN_DAY: &str = "unknown";

/// The day of an event, `YYYY-MM-DD` (UTC), or [`UNKNOWN_DAY`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(pub Option<(i32, u32, u32)>);

impl Day {
    pub fn of(micros: Option<i64>) -> Day {
        Day(micros
            .and_then(DateTime::<Utc>::from_timestamp_micros)
            .map(|d| (d.year(), d.month(), d.day())))
    }

    pub fn name(&self) -> String {
        match self.0 {
            Some((y, m, d)) => format!("{y:04}-{m:02}-{d:02}"),
            None => UNKNOWN_DAY.to_string(),
        }
    }

    /// `date=YYYY-MM-DD`.
    pub fn partition(&self) -> String {
        format!("date={}", self.name())
    }
}

/// The hour (0-23, UTC) of a time; 0 when unknown.
pub fn hour_of(micros: Option<i64>) -> u8 {
    micros
        .and_then(DateTime::<Utc>::from_timestamp_micros)
        .map(|d| d.hour() as u8)
        .unwrap_or(0)
}

/// `date=YYYY-MM-DD/hour=HH`.
pub fn hour_partition(day: &Day, hour: u8) -> String {
    format!("{}/hour={hour:02}", day.partition())
}

/// The day a partition name (`date=D` or `date=D/hour=H`) belongs to, `None` for unknown.
pub fn partition_day(partition: &str) -> Option<chrono::NaiveDate> {
    let day = partition.strip_prefix("date=")?.split('/').next()?;
    chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").ok()
}

/// File name of the `seq`-th file written for manifest generation `generation`.
pub fn file_name(generation: u64, seq: u64) -> String {
    format!("part-{generation:08}-{seq:06}.parquet")
}

/// Relative path (with `/`) of a data file in a partition.
pub fn data_path(partition: &str, name: &str) -> String {
    format!("{DATA}/{partition}/{name}")
}

/// A manifest path (relative, `/`-separated) as a path under the store root.
pub fn resolve(root: &Path, relative: &str) -> PathBuf {
    relative
        .split('/')
        .fold(root.to_path_buf(), |p, c| p.join(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_by_utc_day_and_hour() {
        // 2025-07-08T14:21:07Z
        let t = 1_751_984_467_000_000;
        let d = Day::of(Some(t));
        assert_eq!(d.partition(), "date=2025-07-08");
        assert_eq!(
            hour_partition(&d, hour_of(Some(t))),
            "date=2025-07-08/hour=14"
        );
        assert_eq!(Day::of(None).partition(), "date=unknown");
        assert_eq!(
            partition_day("date=2025-07-08/hour=14"),
            chrono::NaiveDate::from_ymd_opt(2025, 7, 8)
        );
        assert_eq!(partition_day("date=unknown"), None);
        assert_eq!(file_name(3, 1), "part-00000003-000001.parquet");
    }
}
