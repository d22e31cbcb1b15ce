//! How much of the evidence a hunt holds in memory.
//!
//! The hunt's findings are about its window, but they need context from before it: the
//! ancestry of a process, which address named which host, the sessions a logon opened. The
//! hunt holds the candidate events of the window and of [`CONTEXT_BEFORE_WINDOW`] before it;
//! older network logons are kept only as the (source, address, host, day) groups that decide
//! first-seen pairs. So memory follows the window, not the span of the evidence: a 72-hour hunt
//! over a store of months holds four days of candidates.
//!
//! When the evidence's time range is known before the scan (the store), the bound is a filter
//! the scan pushes down, so older files and row groups are never read. Otherwise the scan
//! streams everything and the hunt drops what falls before the bound as it goes; a window that
//! ends at the latest event only knows its start when the scan is over, but it can never start
//! before the latest time seen so far minus its length, so what lies further back than that
//! (and the context) can be dropped early.

use lateral_engine::WindowSpec;

use crate::time::DAY;

/// How far before the window the hunt keeps candidate events as context.
pub const CONTEXT_BEFORE_WINDOW: i64 = DAY;

/// Where the held candidates start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// Everything is held (`--all-time`, or evidence without times).
    All,
    /// Known before the scan and pushed into it: nothing older is read.
    Pushed(i64),
    /// Known before the scan (an explicit or wall-clock window over files); older events are
    /// dropped as the scan streams.
    Fixed(i64),
    /// The window ends at the latest event: `span` is its length.
    Trailing { span: i64 },
}

impl Bound {
    /// `range_known`: the evidence's time range is known before the scan, `latest` its end.
    pub fn new(spec: &WindowSpec, range_known: bool, latest: Option<i64>) -> Bound {
        if spec.all {
            return Bound::All;
        }
        let before = |start: i64| start.saturating_sub(CONTEXT_BEFORE_WINDOW);
        if range_known {
            return match spec.resolve(latest).start {
                Some(s) => Bound::Pushed(before(s)),
                None => Bound::All,
            };
        }
        match spec.resolve(None).start {
            Some(s) => Bound::Fixed(before(s)),
            None => Bound::Trailing { span: spec.span() },
        }
    }

    /// Events before this time can be dropped now, given the latest event time read so far.
    /// `None` when nothing can be: all time is held, or the scan applied a pushed bound itself.
    pub fn threshold(&self, latest_so_far: Option<i64>) -> Option<i64> {
        match *self {
            Bound::All | Bound::Pushed(_) => None,
            Bound::Fixed(t) => Some(t),
            Bound::Trailing { span } => {
                latest_so_far.map(|m| m.saturating_sub(span).saturating_sub(CONTEXT_BEFORE_WINDOW))
            }
        }
    }

    /// The bound once the window is resolved: where the held candidates start.
    pub fn final_threshold(window_start: Option<i64>) -> Option<i64> {
        window_start.map(|s| s.saturating_sub(CONTEXT_BEFORE_WINDOW))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::HOUR;

    fn spec(hours: f64) -> WindowSpec {
        WindowSpec {
            hours_back: hours,
            ..WindowSpec::default()
        }
    }

    #[test]
    fn a_trailing_window_never_drops_what_the_final_window_keeps() {
        let b = Bound::new(&spec(72.0), false, None);
        assert_eq!(b, Bound::Trailing { span: 72 * HOUR });
        // However late the last event turns out to be, the final bound is at or after
        // every bound used while streaming.
        for (so_far, latest) in [(100 * DAY, 100 * DAY), (100 * DAY, 130 * DAY)] {
            let early = b.threshold(Some(so_far)).expect("bounded");
            let w = spec(72.0).resolve(Some(latest));
            let last = Bound::final_threshold(w.start).expect("bounded");
            assert!(early <= last, "{early} > {last}");
        }
        assert_eq!(b.threshold(None), None, "nothing read yet: nothing dropped");
    }

    #[test]
    fn known_ranges_push_the_bound_and_all_time_holds_everything() {
        let latest = 10 * DAY;
        assert_eq!(
            Bound::new(&spec(24.0), true, Some(latest)),
            Bound::Pushed(latest - DAY - CONTEXT_BEFORE_WINDOW)
        );
        assert_eq!(Bound::new(&spec(24.0), true, None), Bound::All);
        assert_eq!(
            Bound::Pushed(latest).threshold(Some(latest)),
            None,
            "the scan applied a pushed bound: nothing left to drop"
        );
        let all = WindowSpec {
            all: true,
            ..WindowSpec::default()
        };
        assert_eq!(Bound::new(&all, true, Some(latest)), Bound::All);
        assert_eq!(Bound::new(&all, false, None).threshold(Some(latest)), None);
        let explicit = WindowSpec {
            start: Some(5 * DAY),
            ..WindowSpec::default()
        };
        assert_eq!(
            Bound::new(&explicit, false, None),
            Bound::Fixed(5 * DAY - CONTEXT_BEFORE_WINDOW)
        );
    }
}
