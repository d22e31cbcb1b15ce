//! # lateral-hunt
//!
//! Owns the lateral-movement hunt: hunt packs (YAML queries with techniques, severity and the
//! data they need), the single evidence scan that feeds every query and correlation, the
//! correlations (sequences joined in DataFusion, host identity across names and addresses,
//! cross-host joins, fan-out, recurrence), the analysis of what was found (tool recognition,
//! decoded PowerShell, masked credentials, local versus host-to-host), the findings and the
//! movement graph, gathered into one [`HuntReport`] value.
//!
//! It must not render output (Markdown, Mermaid, DOT and JSON layout belong to
//! `lateral-report`), read files itself (the engine's readers do), or know about cases or MCP.

pub mod attack;
pub mod bound;
pub mod correlate;
pub mod describe;
mod direct;
pub mod evidence;
pub mod findings;
pub mod graph;
pub mod hosts;
pub mod inventory;
pub mod pack;
pub mod run;
pub mod time;

pub use findings::{Finding, FindingKind};
pub use pack::{Pack, PackFile, Severity};
pub use run::{run, HuntReport, HuntRequest, Profile};

/// Hunt errors.
#[derive(Debug, thiserror::Error)]
pub enum HuntError {
    #[error("query engine: {0}")]
    DataFusion(#[from] datafusion::error::DataFusionError),
    #[error("query engine: {0}")]
    Arrow(#[from] datafusion::arrow::error::ArrowError),
    #[error("engine: {0}")]
    Engine(#[from] lateral_engine::EngineError),
    #[error("--scope: {0}")]
    Scope(String),
    #[error("internal: {0}")]
    Internal(String),
}
