//! # lateral-model
//!
//! Owns the normalised event model of lateral: the catalogue of fields named by Google UDM
//! paths ([`fields`]), the row form readers fill ([`UdmEvent`]), provenance, the Arrow schema
//! and batch building ([`batch`]), and the UDM vocabulary ([`vocab`]).
//!
//! It must not parse evidence files or run queries: readers live in `lateral-sources`, the
//! query language in `lateral-query`, execution in `lateral-engine`.

pub mod batch;
pub mod event;
pub mod fields;
pub mod vocab;

pub use batch::{schema, BatchBuilder};
pub use event::{Additional, Provenance, UdmEvent, Value};
pub use fields::{f, Field, FieldDef, Kind, Semantic, FIELDS};
