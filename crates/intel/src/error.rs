//! Errors of the intel crate; each names the file (and line, for IOC lists) it concerns.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum IntelError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not JSON: {source}")]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("{path}: {message}")]
    Format { path: PathBuf, message: String },
    #[error("{path}: line {line}: {message}")]
    Line {
        path: PathBuf,
        line: u64,
        message: String,
    },
    #[error("built-in knowledge base: {0}")]
    Builtin(String),
}
