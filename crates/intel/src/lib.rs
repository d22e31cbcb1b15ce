//! # lateral-intel
//!
//! Owns the offline threat intelligence lateral answers from: the built-in ATT&CK knowledge
//! base for lateral movement (written by us, embedded in the binary, [`kb`]), the full ATT&CK
//! technique list imported from MITRE's STIX 2.1 bundle or the compact lookup ([`import`]),
//! the lookup by id, name or free text with a deterministic ranking ([`lookup`]), and local
//! IOC lists with their matcher ([`ioc`]).
//!
//! Which hunt queries cover a technique is not written down here: the caller passes the hunt
//! pack's entries ([`HuntQueryRef`]) and the coverage is computed from their `techniques`.
//! The crate must not read evidence, run queries, reach the network, or depend on the engine;
//! its only files are the ones it is told to import, load or save.

pub mod error;
pub mod import;
pub mod ioc;
pub mod kb;
pub mod lookup;

pub use error::IntelError;
pub use import::{import_file, import_value, ImportedSet};
pub use ioc::{Ioc, IocKind, IocMatch, IocSet};
pub use kb::{builtin, EventHint, Technique};
pub use lookup::{
    render_text, Answer, HuntQueryRef, KnowledgeBase, QueryCoverage, TechniqueAnswer,
};
