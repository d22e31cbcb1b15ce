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

/// Options every reader honours.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// Keep the original record text (`lateral.raw`). Costs time and memory; off when the
    /// query does not project the raw column.
    pub want_raw: bool,
    /// Worker threads for one EVTX file (the `evtx` crate's own pipeline). 1 when many files
    /// are read in parallel.
    pub evtx_threads: usize,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            want_raw: true,
            evtx_threads: 1,
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
