//! # lateral-sources
//!
//! Owns reading evidence: finding files (folders recursed, `.zip` members and `.gz` streams
//! opened transparently), detecting each file's format by content ([`discover`]), the readers
//! (EVTX through the `evtx` crate, JSON and JSON lines in four dialects, Windows event XML), and
//! the mapping of Windows events onto UDM ([`mapping`]).
//!
//! It must not know about queries, hunts or output: readers hand records, UDM events and
//! problems to a [`RecordSink`]; bad input is reported with file and position, never fatal.

pub mod coverage;
pub mod discover;
pub mod evtx;
pub mod evtx_fast;
pub mod evtx_identity;
pub mod evtx_json;
pub mod issue;
pub mod json;
pub mod mapping;
pub mod read;
pub mod record;
pub mod sink;
pub mod udm_json;
pub mod xml;

pub use coverage::CoverageKey;
pub use discover::{discover, Format, Location, Source};
pub use issue::{Position, ReadIssue};
pub use read::{collect, collect_events, collect_paths, read_source, to_event, EventSink};
pub use record::WinRecord;
pub use sink::{Admit, CollectSink, Flow, ReadOptions, RecordSink};
