//! # lateral-cases
//!
//! Owns the local case store: the SQLite file that stands in for a SOAR's cases, their
//! comments, the alerts attached to them (hunt findings with their entities and evidence) and
//! the entities those alerts name. It owns the schema and its ordered migrations, the
//! concurrency rules (WAL, busy timeout, every write in an `IMMEDIATE` transaction), where the
//! database lives by default ([`path`]), and the translation of a hunt's JSON report into
//! alerts, entities and the hunt-summary comment ([`hunt`]).
//!
//! It must not read evidence, run queries or hunts, render reports, or speak MCP: it sees a
//! hunt only as the JSON document `lateral hunt` writes, so it does not depend on the engine
//! or DataFusion. Field names of its serialised values follow the Google SecOps SOAR case
//! shapes (`displayName`, `priority`: `PriorityHigh`, `status`: `Opened`), so a later MCP
//! layer can return them as they are.
//!
//! Listings are deterministic: cases newest first by id, comments and alerts in insertion
//! order (by id), entities by type then identifier.

pub mod error;
pub mod hunt;
pub mod migrate;
pub mod model;
pub mod path;
pub mod store;

pub use error::CaseError;
pub use model::{
    Alert, AttachOutcome, Case, CaseDetails, CaseFilter, CaseUpdate, Comment, Entity, EntityType,
    NewAlert, NewCase, NewEntity, Priority, RelatedCase, Status,
};
pub use path::{default_db_path, resolve_db_path};
pub use store::Store;

/// Result with the store's error.
pub type Result<T, E = CaseError> = std::result::Result<T, E>;
