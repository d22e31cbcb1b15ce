//! EVTX reader on the `evtx` crate. When the consumer has an identity check, each record's
//! identity is first read from its template values ([`crate::evtx_identity`]) and records it
//! turns away are never rendered. The others are rendered to JSON by the crate (in its worker
//! threads) and converted into a [`WinRecord`] there too; damaged chunks and records are
//! reported with their chunk or record number and skipped, the rest of the file is read.

use std::io::{Read, Seek};

use evtx::err::EvtxError;
use evtx::{EvtxParser, ParserSettings};
use lateral_model::Provenance;

use crate::issue::{Position, ReadIssue};
use crate::record::WinRecord;
use crate::sink::{Flow, ReadOptions, RecordSink};

/// Read every record of an EVTX file or buffer.
///
/// `len` is the file's size when known; it lets a truncated file (a partial last chunk, or
/// fewer chunks than the header declares) be reported instead of silently ending early.
pub fn read_evtx<T: Read + Seek + Send + 'static>(
    data: T,
    len: Option<u64>,
    file: &str,
    opts: &ReadOptions,
    sink: &mut dyn RecordSink,
) -> Flow {
    let parser = match EvtxParser::from_read_seek(data) {
        Ok(p) => p,
        Err(e) => {
            sink.issue(ReadIssue::whole_file(
                file,
                format!("not a readable EVTX file: {}", describe(&e)),
            ));
            return Flow::Continue;
        }
    };
    if let Some(len) = len {
        report_truncation(parser.header().chunk_count, len, file, sink);
    }
    let settings = ParserSettings::new()
        .num_threads(opts.evtx_threads.max(1))
        .separate_json_attributes(false)
        .indent(false);
    let mut parser = parser.with_configuration(settings);
    let want_raw = opts.want_raw;
    let admit = opts.admit.clone();
    let records = parser.serialized_records(move |record| {
        let record = record?;
        let id = record.event_record_id;
        let header_time = record.timestamp.as_microsecond();
        // The identity from the template values first: a record turned away is never rendered.
        let mut admitted = false;
        if let Some(admit) = &admit {
            if let Some(mut identity) = crate::evtx_identity::identity(&record) {
                if !admit(&identity) {
                    if identity.time_micros.is_none() {
                        identity.time_micros = Some(header_time);
                    }
                    return Ok(Item::Skipped(Box::new(identity)));
                }
                admitted = true;
            }
        }
        let rendered = record.into_json_bytes()?;
        if let (Some(admit), false) = (&admit, admitted) {
            if let Some(identity) = crate::evtx_fast::identity_from_json_bytes(&rendered.data) {
                if !admit(&identity) {
                    let mut identity = identity;
                    if identity.time_micros.is_none() {
                        identity.time_micros = Some(header_time);
                    }
                    return Ok(Item::Skipped(Box::new(identity)));
                }
            }
        }
        let mut rec = crate::evtx_fast::record_from_json_bytes(&rendered.data).ok_or(
            EvtxError::FailedToCreateRecordModel("record rendered to JSON that is not an event"),
        )?;
        if rec.time_micros.is_none() {
            rec.time_micros = Some(header_time);
        }
        if rec.record_id.is_none() {
            rec.record_id = Some(id);
        }
        let raw = if want_raw {
            String::from_utf8(rendered.data).ok()
        } else {
            None
        };
        Ok::<Item, EvtxError>(Item::Read(id, Box::new(rec), raw))
    });
    for item in records {
        match item {
            Ok(Item::Skipped(identity)) => sink.skipped(&identity),
            Ok(Item::Read(id, rec, raw)) => {
                let prov = Provenance {
                    file: file.to_string(),
                    format: "EVTX",
                    record: Some(id as i64),
                    offset: None,
                };
                if sink.record(*rec, prov, raw) == Flow::Stop {
                    return Flow::Stop;
                }
            }
            Err(e) => sink.issue(ReadIssue::new(file, position(&e), describe(&e))),
        }
    }
    Flow::Continue
}

/// What the worker threads hand back for one record.
enum Item {
    Read(u64, Box<WinRecord>, Option<String>),
    /// Turned away by the identity check: its identity (channel, event id, computer, time)
    /// keeps the evidence time range and the coverage counts exact.
    Skipped(Box<WinRecord>),
}

const HEADER: u64 = 4096;
const CHUNK: u64 = 65536;

fn report_truncation(declared: u16, len: u64, file: &str, sink: &mut dyn RecordSink) {
    let body = len.saturating_sub(HEADER);
    let complete = body / CHUNK;
    let partial = body % CHUNK;
    let message = if partial != 0 {
        format!(
            "file truncated: chunk {complete} at byte offset {} has only {partial} of {CHUNK} bytes; its records are skipped (the complete chunks before it are read)",
            HEADER + complete * CHUNK
        )
    } else if u64::from(declared) > complete {
        format!(
            "file truncated: the header declares {declared} chunks but only {complete} are present"
        )
    } else {
        return;
    };
    sink.issue(ReadIssue::new(
        file,
        Position::Chunk {
            chunk: complete,
            record: None,
        },
        message,
    ));
}

fn position(e: &EvtxError) -> Position {
    match e {
        EvtxError::FailedToParseChunk { chunk_id, .. } => Position::Chunk {
            chunk: *chunk_id,
            record: None,
        },
        EvtxError::FailedToParseRecord { record_id, .. } => Position::Record(*record_id),
        EvtxError::FailedToReadRecordAt {
            chunk: Some(c),
            offset,
            ..
        } => Position::Offset(
            4096u64
                .saturating_add(c.saturating_mul(65536))
                .saturating_add(*offset),
        ),
        EvtxError::FailedToReadRecordAt {
            chunk: None,
            offset,
            ..
        } => Position::Offset(*offset),
        _ => Position::File,
    }
}

/// The error with its causes, one line.
fn describe(e: &EvtxError) -> String {
    let mut s = e.to_string();
    let mut cur: Option<&dyn std::error::Error> = std::error::Error::source(e);
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}
