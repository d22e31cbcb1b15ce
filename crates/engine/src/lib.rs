//! # lateral-engine
//!
//! Owns execution: the DataFusion session, the evidence table provider ([`scan`]: streaming,
//! one partition per group of files, projection and identity-filter pushdown), time windows
//! ([`window`]), searches and SQL ([`session`]), and turning result rows into JSON ([`rows`]).
//!
//! It must not decide what is suspicious (hunts do), parse query text (lateral-query does) or
//! read file formats itself (lateral-sources does).

pub mod inventory;
pub mod rows;
pub mod scan;
pub mod session;
pub mod window;

pub use inventory::{inventory, Coverage, Inventory, Span};
pub use scan::{CoverageCount, CoverageKey, EvidenceTable, ReportedIssue, ScanStats};
pub use session::{
    and_window, column, open_snapshot, session_context, ts, Engine, EngineError, Held,
    SearchRequest, SearchResult, TABLE,
};
pub use window::{format_micros, parse_time, Anchor, Window, WindowSpec};
