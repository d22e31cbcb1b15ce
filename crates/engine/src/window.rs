//! Time windows. Evidence is usually from the past, so unless told otherwise a window of
//! `hours_back` hours ends at the latest event in the evidence; every output states the
//! absolute window used.

use chrono::{DateTime, SecondsFormat, Utc};

/// What the user asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowSpec {
    /// Length of the window when one end is implied.
    pub hours_back: f64,
    /// Explicit start (microseconds UTC).
    pub start: Option<i64>,
    /// Explicit end (microseconds UTC).
    pub end: Option<i64>,
    /// Anchor at the wall clock instead of the latest event.
    pub now: bool,
    /// No time limit at all.
    pub all: bool,
}

impl Default for WindowSpec {
    fn default() -> Self {
        WindowSpec {
            hours_back: 24.0,
            start: None,
            end: None,
            now: false,
            all: false,
        }
    }
}

/// How the end of the window was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    /// `--start` and `--end` given.
    Explicit,
    /// The latest event in the evidence.
    LatestEvent,
    /// The wall clock (`--now`).
    Now,
    /// No limit (`--all-time`), or no timed event in the evidence.
    Unbounded,
}

impl Anchor {
    pub fn describe(self) -> &'static str {
        match self {
            Anchor::Explicit => "explicit start and end",
            Anchor::LatestEvent => "ending at the latest event in the evidence",
            Anchor::Now => "ending now",
            Anchor::Unbounded => "all time",
        }
    }
}

/// An absolute window `[start, end]` in microseconds UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: Option<i64>,
    pub end: Option<i64>,
    pub anchor: Anchor,
}

impl Window {
    pub fn contains(&self, t: i64) -> bool {
        self.start.is_none_or(|s| t >= s) && self.end.is_none_or(|e| t <= e)
    }

    /// `2019-03-18T22:15:49Z .. 2019-03-19T22:15:49Z (24 h ending at the latest event ...)`.
    pub fn describe(&self) -> String {
        let fmt = |t: Option<i64>| t.map(format_micros).unwrap_or_else(|| "-".into());
        format!(
            "{} .. {} ({})",
            fmt(self.start),
            fmt(self.end),
            self.anchor.describe()
        )
    }
}

/// RFC 3339 with microseconds, UTC.
pub fn format_micros(t: i64) -> String {
    DateTime::<Utc>::from_timestamp_micros(t)
        .map(|d| d.to_rfc3339_opts(SecondsFormat::Micros, true))
        .unwrap_or_else(|| t.to_string())
}

/// Parse an RFC 3339 time (or a date `YYYY-MM-DD`) into microseconds UTC.
pub fn parse_time(s: &str) -> Result<i64, String> {
    let s = s.trim();
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Ok(d.timestamp_micros());
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        if let Some(dt) = d.and_hms_opt(0, 0, 0) {
            return Ok(dt.and_utc().timestamp_micros());
        }
    }
    Err(format!(
        "invalid time {s:?}: use RFC 3339, e.g. 2019-03-18T22:15:49Z, or a date 2019-03-18"
    ))
}

impl WindowSpec {
    /// The window's length (`hours_back`) in µs.
    pub fn span(&self) -> i64 {
        (self.hours_back * 3_600_000_000.0) as i64
    }

    /// Whether the window can be fixed without looking at the evidence.
    pub fn is_static(&self) -> bool {
        self.all || self.now || (self.start.is_some() && self.end.is_some())
    }

    /// Resolve against the latest event time (when the window depends on it).
    pub fn resolve(&self, latest_event: Option<i64>) -> Window {
        if self.all {
            return Window {
                start: None,
                end: None,
                anchor: Anchor::Unbounded,
            };
        }
        let (end, anchor) = match (self.end, self.now) {
            (Some(e), _) => (Some(e), Anchor::Explicit),
            (None, true) => (Some(Utc::now().timestamp_micros()), Anchor::Now),
            (None, false) => match latest_event {
                Some(t) => (Some(t), Anchor::LatestEvent),
                None => (None, Anchor::Unbounded),
            },
        };
        let start = match (self.start, end) {
            (Some(s), _) => Some(s),
            (None, Some(e)) => Some(e.saturating_sub(self.span())),
            (None, None) => None,
        };
        let anchor = if self.start.is_some() && self.end.is_some() {
            Anchor::Explicit
        } else {
            anchor
        };
        Window { start, end, anchor }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors_at_latest_event() {
        let spec = WindowSpec {
            hours_back: 1.0,
            ..WindowSpec::default()
        };
        let w = spec.resolve(Some(7_200_000_000));
        assert_eq!(w.start, Some(3_600_000_000));
        assert_eq!(w.end, Some(7_200_000_000));
        assert_eq!(w.anchor, Anchor::LatestEvent);
        assert!(w.contains(3_600_000_000) && !w.contains(3_599_999_999));
        assert_eq!(spec.resolve(None).anchor, Anchor::Unbounded);
    }

    #[test]
    fn parses_times() {
        assert_eq!(parse_time("1970-01-01T00:00:01Z"), Ok(1_000_000));
        assert_eq!(parse_time("1970-01-02"), Ok(86_400_000_000));
        assert!(parse_time("yesterday").is_err());
        assert_eq!(format_micros(1_000_000), "1970-01-01T00:00:01.000000Z");
    }
}
