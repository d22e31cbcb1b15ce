//! How readers hand over what they read: a [`RecordSink`] receives Windows records (to be
//! mapped), ready-made UDM events, and problems. Readers never build Arrow data themselves.

use lateral_model::{Provenance, UdmEvent};

use crate::issue::ReadIssue;
use crate::record::WinRecord;

/// Whether the reader should go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Continue,
    /// The consumer needs nothing more (query finished or cancelled): stop reading.
    Stop,
}

/// Decides from a record's identity (channel, provider, event id, time; no event data) whether
/// it can matter to the consumer. Readers that can learn the identity cheaply ask it before
/// doing the expensive part of reading a record.
pub type Admit = std::sync::Arc<dyn Fn(&WinRecord) -> bool + Send + Sync>;

/// Options every reader honours.
#[derive(Clone)]
pub struct ReadOptions {
    /// Keep the original record text (`lateral.raw`). Costs time and memory; off when the
    /// query does not project the raw column.
    pub want_raw: bool,
    /// Worker threads for one EVTX file (the `evtx` crate's own pipeline). 1 when many files
    /// are read in parallel.
    pub evtx_threads: usize,
    /// Early identity check (see [`Admit`]); `None` reads everything.
    pub admit: Option<Admit>,
}

impl std::fmt::Debug for ReadOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadOptions")
            .field("want_raw", &self.want_raw)
            .field("evtx_threads", &self.evtx_threads)
            .field("admit", &self.admit.is_some())
            .finish()
    }
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            want_raw: true,
            evtx_threads: 1,
            admit: None,
        }
    }
}

/// Receives what a reader produces, in file order.
pub trait RecordSink {
    /// A Windows event record with its provenance and, when requested, its original text.
    fn record(&mut self, rec: WinRecord, prov: Provenance, raw: Option<String>) -> Flow;
    /// An event that is already UDM (Google SecOps exports); provenance is already set on it.
    fn udm(&mut self, event: UdmEvent) -> Flow;
    /// A problem at a position in a file; the reader goes on after it.
    fn issue(&mut self, issue: ReadIssue);
    /// A record the [`Admit`] check turned away before it was fully read: only its identity
    /// (provider, channel, event id, computer, time) is filled in.
    fn skipped(&mut self, _identity: &WinRecord) {}
}

/// A sink that keeps everything in memory; for tests and small tools.
#[derive(Debug, Default)]
pub struct CollectSink {
    pub records: Vec<(WinRecord, Provenance, Option<String>)>,
    pub events: Vec<UdmEvent>,
    pub issues: Vec<ReadIssue>,
}

impl RecordSink for CollectSink {
    fn record(&mut self, rec: WinRecord, prov: Provenance, raw: Option<String>) -> Flow {
        self.records.push((rec, prov, raw));
        Flow::Continue
    }
    fn udm(&mut self, event: UdmEvent) -> Flow {
        self.events.push(event);
        Flow::Continue
    }
    fn issue(&mut self, issue: ReadIssue) {
        self.issues.push(issue);
    }
}
