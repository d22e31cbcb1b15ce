//! Tool arguments, with the names and defaults of Google's `secops-mcp` and `secops-soar`
//! tools. Unknown arguments are ignored (no `deny_unknown_fields`), numbers may come as
//! strings, and identifiers as numbers, as the Python servers accept them.

use rmcp::schemars;
use serde::{Deserialize, Deserializer};

pub fn default_hours() -> i64 {
    24
}
pub fn default_week() -> i64 {
    168
}
pub fn default_max_events() -> i64 {
    100
}
pub fn default_max_alerts() -> i64 {
    10
}
pub fn default_max_matches() -> i64 {
    20
}
pub fn default_page_size() -> i64 {
    100
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Num {
    I(i64),
    F(f64),
    S(String),
    B(bool),
}

fn num<E: serde::de::Error>(n: Num) -> Result<i64, E> {
    match n {
        Num::I(i) => Ok(i),
        Num::F(f) if f.is_finite() => Ok(f as i64),
        Num::F(_) => Err(E::custom("not a finite number")),
        Num::S(s) => {
            let t = s.trim();
            t.parse::<i64>()
                .or_else(|_| t.parse::<f64>().map(|f| f as i64))
                .map_err(|_| E::custom(format!("expected a number, got {s:?}")))
        }
        Num::B(_) => Err(E::custom("expected a number, got a boolean")),
    }
}

/// An integer given as a number or a numeric string.
pub fn lenient_i64<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    num(Num::deserialize(d)?)
}

/// An optional integer given as a number, a numeric string, or null.
pub fn lenient_opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    match Option::<Num>::deserialize(d)? {
        None => Ok(None),
        Some(Num::S(s)) if s.trim().is_empty() => Ok(None),
        Some(n) => num(n).map(Some),
    }
}

/// A string given as a string or a number (case ids).
pub fn lenient_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    match Num::deserialize(d)? {
        Num::S(s) => Ok(s),
        Num::I(i) => Ok(i.to_string()),
        Num::F(f) => Ok(f.to_string()),
        Num::B(b) => Ok(b.to_string()),
    }
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct SearchSecurityEventsArgs {
    /// What to find: plain English ("wmic process call create on serhatg.local"), a UDM query,
    /// or the runbook dialect.
    pub text: String,
    /// Accepted for compatibility; ignored.
    pub project_id: Option<String>,
    /// Accepted for compatibility; ignored.
    pub customer_id: Option<String>,
    /// Hours to search, ending at the latest event in the evidence (or at end_time).
    #[serde(default = "default_hours", deserialize_with = "lenient_i64")]
    #[schemars(default = "default_hours")]
    pub hours_back: i64,
    /// Window start, ISO 8601 (overrides hours_back).
    pub start_time: Option<String>,
    /// Window end, ISO 8601 (default: the latest event in the evidence).
    pub end_time: Option<String>,
    /// Most events to return (the total is still counted).
    #[serde(default = "default_max_events", deserialize_with = "lenient_i64")]
    #[schemars(default = "default_max_events")]
    pub max_events: i64,
    /// Accepted for compatibility; ignored.
    pub region: Option<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct SearchUdmArgs {
    /// A UDM search query (or the runbook dialect).
    pub query: String,
    #[serde(default = "default_hours", deserialize_with = "lenient_i64")]
    #[schemars(default = "default_hours")]
    pub hours_back: i64,
    pub start_time: Option<String>,
    pub end_time: Option<String>,
    #[serde(default, deserialize_with = "lenient_opt_i64")]
    pub max_events: Option<i64>,
    /// Extension: also return each event's original record (XML or JSON text) as "raw".
    #[serde(default)]
    pub include_raw: bool,
    pub project_id: Option<String>,
    pub customer_id: Option<String>,
    pub region: Option<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct LookupEntityArgs {
    /// An IP address, host name or FQDN, account (DOMAIN\user or user@domain), file hash or
    /// process path.
    pub entity_value: String,
    pub project_id: Option<String>,
    pub customer_id: Option<String>,
    #[serde(default = "default_hours", deserialize_with = "lenient_i64")]
    #[schemars(default = "default_hours")]
    pub hours_back: i64,
    pub region: Option<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct ThreatIntelArgs {
    /// An ATT&CK technique id, name or question, e.g. "MITRE T1021.002".
    pub query: String,
    pub project_id: Option<String>,
    pub customer_id: Option<String>,
    pub region: Option<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct SecurityAlertsArgs {
    pub project_id: Option<String>,
    pub customer_id: Option<String>,
    #[serde(default = "default_hours", deserialize_with = "lenient_i64")]
    #[schemars(default = "default_hours")]
    pub hours_back: i64,
    #[serde(default = "default_max_alerts", deserialize_with = "lenient_i64")]
    #[schemars(default = "default_max_alerts")]
    pub max_alerts: i64,
    /// Accepted for compatibility; findings have no review status, so every one is listed.
    pub status_filter: Option<String>,
    pub region: Option<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct IocMatchesArgs {
    pub project_id: Option<String>,
    pub customer_id: Option<String>,
    #[serde(default = "default_hours", deserialize_with = "lenient_i64")]
    #[schemars(default = "default_hours")]
    pub hours_back: i64,
    #[serde(default = "default_max_matches", deserialize_with = "lenient_i64")]
    #[schemars(default = "default_max_matches")]
    pub max_matches: i64,
    pub region: Option<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct ListRulesArgs {
    pub project_id: Option<String>,
    pub customer_id: Option<String>,
    pub region: Option<String>,
    #[serde(default = "default_page_size", deserialize_with = "lenient_i64")]
    #[schemars(default = "default_page_size")]
    pub page_size: i64,
    /// The nextPageToken of the previous page.
    pub page_token: Option<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct ListCasesArgs {
    /// The nextPageToken of the previous page.
    pub next_page_token: Option<String>,
    /// Text found in a case's name, description, tags or entities (extension).
    pub filter: Option<String>,
    /// Opened or Closed (extension).
    pub status: Option<String>,
    /// Most cases to return (extension).
    #[serde(default, deserialize_with = "lenient_opt_i64")]
    pub limit: Option<i64>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct CaseIdArgs {
    /// The case id.
    #[serde(deserialize_with = "lenient_string")]
    pub case_id: String,
    pub next_page_token: Option<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct PostCommentArgs {
    #[serde(deserialize_with = "lenient_string")]
    pub case_id: String,
    /// The comment text (Markdown is kept as written).
    pub comment: String,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct ChangePriorityArgs {
    #[serde(deserialize_with = "lenient_string")]
    pub case_id: String,
    /// PriorityUnspecified, PriorityInfo, PriorityLow, PriorityMedium, PriorityHigh or
    /// PriorityCritical (short forms such as "high" are accepted).
    pub case_priority: String,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct CreateCaseArgs {
    /// The case name.
    #[serde(alias = "title", alias = "name")]
    pub display_name: String,
    #[serde(default)]
    pub description: String,
    /// Priority (default PriorityMedium).
    pub priority: Option<String>,
    pub assignee: Option<String>,
    pub stage: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct EventsByAlertArgs {
    #[serde(deserialize_with = "lenient_string")]
    pub case_id: String,
    /// The alert id (or the finding identifier it was made from).
    #[serde(deserialize_with = "lenient_string")]
    pub alert_id: String,
    pub next_page_token: Option<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct HuntArgs {
    /// Hours to hunt, ending at the latest event in the evidence.
    #[serde(default = "default_week", deserialize_with = "lenient_i64")]
    #[schemars(default = "default_week")]
    pub hours_back: i64,
    /// A UDM fragment narrowing every hunt query, e.g. principal.hostname = "ws01".
    pub scope: Option<String>,
    /// The hypothesis under test, written into the report.
    pub hypothesis: Option<String>,
    /// A case to post the hunt summary on and attach the findings to.
    #[serde(default, deserialize_with = "lenient_opt_string")]
    pub case_id: Option<String>,
}

/// An optional string given as a string, a number or null.
pub fn lenient_opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match Option::<Num>::deserialize(d)? {
        None => Ok(None),
        Some(Num::S(s)) if s.trim().is_empty() => Ok(None),
        Some(Num::S(s)) => Ok(Some(s)),
        Some(Num::I(i)) => Ok(Some(i.to_string())),
        Some(Num::F(f)) => Ok(Some(f.to_string())),
        Some(Num::B(b)) => Ok(Some(b.to_string())),
    }
}

fn default_true() -> bool {
    true
}

/// A list of strings given as a JSON array or as one comma-separated string.
pub fn lenient_strings<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum List {
        Many(Vec<String>),
        One(String),
    }
    Ok(match List::deserialize(d)? {
        List::Many(v) => v,
        List::One(s) => s
            .trim()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .split(',')
            .map(|p| p.trim().trim_matches('"').trim().to_string())
            .filter(|p| !p.is_empty())
            .collect(),
    })
}

/// A process id given as a number, a decimal string or a `0x` hex string (as Security 4688
/// writes them).
pub fn lenient_pid<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    match Num::deserialize(d)? {
        Num::S(s) => {
            let t = s.trim();
            let parsed = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
                Some(hex) => i64::from_str_radix(hex, 16).ok(),
                None => t.parse::<i64>().ok(),
            };
            parsed.ok_or_else(|| {
                serde::de::Error::custom(format!("expected a process id, got {s:?}"))
            })
        }
        n => num(n),
    }
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct ExportCsvArgs {
    /// A UDM search query (or the runbook dialect).
    pub query: String,
    /// UDM field paths to export as columns, e.g. ["metadata.event_timestamp",
    /// "principal.hostname", "target.process.command_line"] (camelCase accepted).
    #[serde(deserialize_with = "lenient_strings")]
    pub fields: Vec<String>,
    #[serde(default = "default_hours", deserialize_with = "lenient_i64")]
    #[schemars(default = "default_hours")]
    pub hours_back: i64,
    pub start_time: Option<String>,
    pub end_time: Option<String>,
    /// Accepted for compatibility: paths, hosts, users and enums always compare
    /// case-insensitively; use nocase for other text.
    #[serde(default = "default_true")]
    #[schemars(default = "default_true")]
    pub case_insensitive: bool,
    pub project_id: Option<String>,
    pub customer_id: Option<String>,
    pub region: Option<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct FieldValuesArgs {
    /// Part of a value (case-insensitive), e.g. "sales" or "10.0.0.".
    pub query: String,
    /// Most values to return (default 100).
    #[serde(default, deserialize_with = "lenient_opt_i64")]
    pub page_size: Option<i64>,
    pub project_id: Option<String>,
    pub customer_id: Option<String>,
    pub region: Option<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct AnalyzePcapArgs {
    /// A capture file or folder inside the evidence given to the server (absolute, or
    /// relative to an evidence folder).
    pub path: String,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct ProcessTreeArgs {
    /// The host the process ran on (short name or FQDN).
    pub host: String,
    /// The process id (decimal, or 0x hex as Security 4688 writes it).
    #[serde(deserialize_with = "lenient_pid")]
    #[schemars(with = "i64")]
    pub pid: i64,
    /// When the process was seen, ISO 8601 (default: the latest event in the evidence).
    pub around_time: Option<String>,
    /// Hours read on either side of around_time.
    #[serde(default = "default_hours", deserialize_with = "lenient_i64")]
    #[schemars(default = "default_hours")]
    pub hours_around: i64,
}
