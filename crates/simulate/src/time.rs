//! Event times: milliseconds since the Unix epoch (UTC), and the three ways NXLog writes them.

use chrono::{DateTime, NaiveDate};

/// Milliseconds since the Unix epoch, UTC.
pub type Ms = i64;

pub const SEC: Ms = 1_000;
pub const MIN: Ms = 60 * SEC;
pub const HOUR: Ms = 60 * MIN;
pub const DAY: Ms = 24 * HOUR;

/// A UTC instant; panics on an impossible date (all dates here are constants).
pub fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32, ms: u32) -> Ms {
    NaiveDate::from_ymd_opt(y, mo, d)
        .and_then(|date| date.and_hms_milli_opt(h, mi, s, ms))
        .expect("valid constant date")
        .and_utc()
        .timestamp_millis()
}

fn dt(t: Ms) -> DateTime<chrono::Utc> {
    DateTime::from_timestamp_millis(t).expect("time in range")
}

/// Logstash `@timestamp`: `2025-06-10T15:27:53.112Z`.
pub fn iso_z(t: Ms) -> String {
    dt(t).format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// Sysmon `UtcTime`: `2025-06-10 15:27:53.112`.
pub fn sysmon_utc(t: Ms) -> String {
    dt(t).format("%Y-%m-%d %H:%M:%S%.3f").to_string()
}

/// NXLog `EventTime`: local wall-clock time without zone or fraction, `2025-06-10 18:27:53`.
pub fn local_plain(t: Ms, tz_minutes: i32) -> String {
    dt(t + Ms::from(tz_minutes) * MIN)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        let t = utc(2025, 6, 10, 15, 27, 53, 112);
        assert_eq!(iso_z(t), "2025-06-10T15:27:53.112Z");
        assert_eq!(sysmon_utc(t), "2025-06-10 15:27:53.112");
        assert_eq!(local_plain(t, 180), "2025-06-10 18:27:53");
        assert_eq!(local_plain(t, -240), "2025-06-10 11:27:53");
    }
}
