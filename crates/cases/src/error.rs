//! Errors of the case store. Every variant says which database file and, where there is one,
//! which case the failure concerns.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    #[error("case database {path}: cannot open: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("case database {path}: cannot create its folder: {source}")]
    Folder {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("case database {path}: {context}: {source}")]
    Sql {
        path: PathBuf,
        context: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error("case database {path}: migration {version} ({name}) failed: {source}")]
    Migration {
        path: PathBuf,
        version: u32,
        name: &'static str,
        #[source]
        source: rusqlite::Error,
    },
    #[error(
        "case database {path}: schema version {found} is newer than this build supports ({supported}); use a newer lateral"
    )]
    SchemaTooNew {
        path: PathBuf,
        found: u32,
        supported: u32,
    },
    #[error("case database {path}: no case {case_id}")]
    NoCase { path: PathBuf, case_id: i64 },
    #[error("case database {path}: case {case_id} has no alert {alert_id}")]
    NoAlert {
        path: PathBuf,
        case_id: i64,
        alert_id: String,
    },
    #[error("case database {path}: case {case_id} holds malformed {what}: {source}")]
    Corrupt {
        path: PathBuf,
        case_id: i64,
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error("{0}")]
    Invalid(String),
    #[error("hunt report: {0}")]
    Report(String),
    #[error("no place for the case database: set --db or LATERAL_DB (neither XDG_DATA_HOME nor HOME is set)")]
    NoDataDir,
}

impl CaseError {
    /// The case id the error concerns, when it concerns one.
    pub fn case_id(&self) -> Option<i64> {
        match self {
            CaseError::NoCase { case_id, .. }
            | CaseError::NoAlert { case_id, .. }
            | CaseError::Corrupt { case_id, .. } => Some(*case_id),
            _ => None,
        }
    }
}
