//! Reading one source end to end: open it (decompressing as needed), pick the reader for its
//! format, and feed a [`RecordSink`]. Also [`to_event`], which turns a Windows record into a
//! UDM event with provenance, and [`collect`], a convenience for tests and small tools.

use std::io::{BufReader, Cursor, Read};
use std::path::{Path, PathBuf};

use lateral_model::{f, Provenance, UdmEvent};

use crate::discover::{discover, Format, Location, Source};
use crate::issue::ReadIssue;
use crate::mapping::map_record;
use crate::record::WinRecord;
use crate::sink::{CollectSink, Flow, ReadOptions, RecordSink};

/// Read one source into `sink`. Problems are reported to the sink; this never fails, and a
/// panic inside a third-party parser is caught and reported as a problem with that file.
pub fn read_source(src: &Source, opts: &ReadOptions, sink: &mut dyn RecordSink) -> Flow {
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        read_source_inner(src, opts, &mut *sink)
    }));
    match caught {
        Ok(flow) => flow,
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            sink.issue(ReadIssue::whole_file(
                src.display.as_str(),
                format!(
                    "reader failed on malformed input ({what}); the rest of this file is skipped"
                ),
            ));
            Flow::Continue
        }
    }
}

fn read_source_inner(src: &Source, opts: &ReadOptions, sink: &mut dyn RecordSink) -> Flow {
    let file = src.display.as_str();
    match src.format {
        Format::Evtx => match &src.location {
            Location::File(p) => match std::fs::File::open(p) {
                Ok(f) => {
                    // No BufReader: the parser reads whole 64 KiB chunks itself.
                    let len = f.metadata().ok().map(|m| m.len());
                    crate::evtx::read_evtx(f, len, file, opts, sink)
                }
                Err(e) => {
                    sink.issue(ReadIssue::whole_file(file, format!("cannot open: {e}")));
                    Flow::Continue
                }
            },
            _ => match read_all(src) {
                Ok(buf) => {
                    let len = Some(buf.len() as u64);
                    crate::evtx::read_evtx(Cursor::new(buf), len, file, opts, sink)
                }
                Err(e) => {
                    sink.issue(ReadIssue::whole_file(file, format!("cannot read: {e}")));
                    Flow::Continue
                }
            },
        },
        Format::Json | Format::Xml => match src.open() {
            Ok(r) => {
                let r = BufReader::with_capacity(1 << 16, r);
                if src.format == Format::Json {
                    crate::json::read_json(r, file, opts, sink)
                } else {
                    crate::xml::read_xml(r, file, opts, sink)
                }
            }
            Err(e) => {
                sink.issue(ReadIssue::whole_file(file, format!("cannot open: {e}")));
                Flow::Continue
            }
        },
        Format::Pcap | Format::PcapNg => match src.open() {
            Ok(r) => read_capture(BufReader::with_capacity(1 << 20, r), file, sink),
            Err(e) => {
                sink.issue(ReadIssue::whole_file(file, format!("cannot open: {e}")));
                Flow::Continue
            }
        },
        other => {
            sink.issue(ReadIssue::whole_file(
                file,
                format!(
                    "{} is not an event format this reader handles",
                    other.name()
                ),
            ));
            Flow::Continue
        }
    }
}

/// A packet capture through `lateral-pcap`: its UDM events go to the sink as ready-made events
/// as soon as the capture hands them on (streamed: memory follows the connections open at
/// once), its problems as issues at the frame's byte offset.
fn read_capture(input: impl Read, file: &str, sink: &mut dyn RecordSink) -> Flow {
    let mut flow = Flow::Continue;
    let outcome = lateral_pcap::stream_capture(input, file, &mut |e| {
        flow = sink.udm(e);
        flow != Flow::Stop
    });
    for i in outcome.issues {
        sink.issue(ReadIssue::new(
            file,
            crate::issue::Position::Offset(i.offset),
            format!("frame {}: {}", i.frame, i.message),
        ));
    }
    flow
}

fn read_all(src: &Source) -> std::io::Result<Vec<u8>> {
    let mut r = src.open()?;
    let mut buf = Vec::new();
    r.read_to_end(&mut buf)?;
    Ok(buf)
}

/// Map a Windows record to UDM and attach provenance and, when given, the raw record.
pub fn to_event(rec: &WinRecord, prov: &Provenance, raw: Option<String>) -> UdmEvent {
    let mut ev = UdmEvent::new();
    map_record(rec, &mut ev);
    ev.set_provenance(prov);
    if ev.timestamp_micros().is_none() {
        if let Some(t) = rec.time_micros {
            ev.set_timestamp_micros(t);
        }
    }
    if ev.str(f::OBSERVER_HOSTNAME).is_none() {
        if let Some(c) = &rec.computer {
            ev.set_str(f::OBSERVER_HOSTNAME, c.clone());
        }
    }
    if ev.int(f::EVENT_ID).is_none() {
        if let Some(id) = rec.event_id {
            ev.set_int(f::EVENT_ID, i64::from(id));
        }
    }
    if let Some(raw) = raw {
        ev.set_raw(raw);
    }
    ev
}

/// Discover and read everything under `path` with default options into memory.
pub fn collect(path: &Path) -> CollectSink {
    collect_paths(&[path.to_path_buf()], &ReadOptions::default())
}

/// Discover and read everything under `paths` into memory.
pub fn collect_paths(paths: &[PathBuf], opts: &ReadOptions) -> CollectSink {
    let (sources, issues) = discover(paths);
    let mut sink = CollectSink {
        issues,
        ..CollectSink::default()
    };
    for src in &sources {
        read_source(src, opts, &mut sink);
    }
    sink
}

/// Read everything under `paths` and return it as UDM events (records mapped), plus issues.
pub fn collect_events(paths: &[PathBuf], opts: &ReadOptions) -> (Vec<UdmEvent>, Vec<ReadIssue>) {
    let sink = collect_paths(paths, opts);
    let mut events: Vec<UdmEvent> = sink
        .records
        .iter()
        .map(|(rec, prov, raw)| to_event(rec, prov, raw.clone()))
        .collect();
    events.extend(sink.events);
    (events, sink.issues)
}

/// A sink adapter that maps records to UDM events and hands them to a closure.
pub struct EventSink<F: FnMut(UdmEvent) -> Flow, G: FnMut(ReadIssue)> {
    pub on_event: F,
    pub on_issue: G,
}

impl<F: FnMut(UdmEvent) -> Flow, G: FnMut(ReadIssue)> RecordSink for EventSink<F, G> {
    fn record(&mut self, rec: WinRecord, prov: Provenance, raw: Option<String>) -> Flow {
        (self.on_event)(to_event(&rec, &prov, raw))
    }
    fn udm(&mut self, event: UdmEvent) -> Flow {
        (self.on_event)(event)
    }
    fn issue(&mut self, issue: ReadIssue) {
        (self.on_issue)(issue)
    }
}
