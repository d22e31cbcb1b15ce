//! The values the store reads and writes. Serialised names follow the Google SecOps SOAR case
//! resources (camelCase, `PriorityHigh`, `Opened`), so they can be handed to an MCP client as
//! they are.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::CaseError;

/// Case priority, as SOAR names it. Ordered from least to most urgent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Priority {
    #[serde(rename = "PriorityUnspecified")]
    Unspecified,
    #[serde(rename = "PriorityInfo")]
    Info,
    #[serde(rename = "PriorityLow")]
    Low,
    #[serde(rename = "PriorityMedium")]
    Medium,
    #[serde(rename = "PriorityHigh")]
    High,
    #[serde(rename = "PriorityCritical")]
    Critical,
}

impl Priority {
    pub const ALL: [Priority; 6] = [
        Priority::Unspecified,
        Priority::Info,
        Priority::Low,
        Priority::Medium,
        Priority::High,
        Priority::Critical,
    ];

    /// The SOAR name (`PriorityHigh`).
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Unspecified => "PriorityUnspecified",
            Priority::Info => "PriorityInfo",
            Priority::Low => "PriorityLow",
            Priority::Medium => "PriorityMedium",
            Priority::High => "PriorityHigh",
            Priority::Critical => "PriorityCritical",
        }
    }

    /// The short name (`high`).
    pub fn short(self) -> &'static str {
        match self {
            Priority::Unspecified => "unspecified",
            Priority::Info => "info",
            Priority::Low => "low",
            Priority::Medium => "medium",
            Priority::High => "high",
            Priority::Critical => "critical",
        }
    }

    /// The priority a finding of this severity (`info` .. `critical`) calls for.
    pub fn from_severity(severity: &str) -> Option<Priority> {
        match severity.trim().to_ascii_lowercase().as_str() {
            "info" | "informational" => Some(Priority::Info),
            "low" => Some(Priority::Low),
            "medium" => Some(Priority::Medium),
            "high" => Some(Priority::High),
            "critical" => Some(Priority::Critical),
            _ => None,
        }
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Priority {
    type Err = CaseError;

    /// Accepts `PriorityHigh`, `PRIORITY_HIGH`, `high`, `High` (any case).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim().to_ascii_lowercase().replace(['_', '-', ' '], "");
        let t = t.strip_prefix("priority").unwrap_or(&t);
        Ok(match t {
            "unspecified" => Priority::Unspecified,
            "info" | "informational" => Priority::Info,
            "low" => Priority::Low,
            "medium" => Priority::Medium,
            "high" => Priority::High,
            "critical" => Priority::Critical,
            _ => {
                return Err(CaseError::Invalid(format!(
                    "unknown priority {s:?}: use one of info, low, medium, high, critical (or PriorityInfo .. PriorityCritical)"
                )))
            }
        })
    }
}

/// Case status, as SOAR names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Status {
    Opened,
    Closed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Opened => "Opened",
            Status::Closed => "Closed",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Status {
    type Err = CaseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "opened" | "open" => Ok(Status::Opened),
            "closed" | "close" => Ok(Status::Closed),
            _ => Err(CaseError::Invalid(format!(
                "unknown case status {s:?}: use Opened or Closed"
            ))),
        }
    }
}

/// A case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Case {
    pub id: i64,
    pub display_name: String,
    pub priority: Priority,
    pub status: Status,
    pub stage: String,
    pub assignee: Option<String>,
    pub description: String,
    pub tags: Vec<String>,
    /// Opened as an incident (by `lateral hunt --escalate`, or by hand).
    pub incident: bool,
    pub close_reason: Option<String>,
    pub root_cause: Option<String>,
    pub alert_count: i64,
    pub comment_count: i64,
    pub create_time: String,
    pub update_time: String,
}

/// What a new case is made of.
#[derive(Debug, Clone, Default)]
pub struct NewCase {
    pub display_name: String,
    /// Default: `PriorityMedium`.
    pub priority: Option<Priority>,
    /// Default: `Triage`.
    pub stage: Option<String>,
    pub assignee: Option<String>,
    pub description: String,
    pub tags: Vec<String>,
    pub incident: bool,
}

/// Changes to a case's fields; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaseUpdate {
    pub status: Option<Status>,
    pub priority: Option<Priority>,
    pub stage: Option<String>,
    /// `Some("")` clears the assignee.
    pub assignee: Option<String>,
    pub description: Option<String>,
    /// Replaces the tags.
    pub tags: Option<Vec<String>>,
}

impl CaseUpdate {
    pub fn is_empty(&self) -> bool {
        *self == CaseUpdate::default()
    }
}

/// A comment on a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Comment {
    pub id: i64,
    pub case_id: i64,
    pub author: String,
    pub comment: String,
    pub create_time: String,
}

/// Entity types, with the names SOAR uses.
pub struct EntityType;

impl EntityType {
    pub const HOSTNAME: &'static str = "HOSTNAME";
    pub const ADDRESS: &'static str = "ADDRESS";
    pub const USER: &'static str = "USERUNIQNAME";
    pub const PROCESS: &'static str = "PROCESS";
    pub const FILENAME: &'static str = "FILENAME";
    pub const FILEHASH: &'static str = "FILEHASH";
}

/// An entity a case or one of its alerts names.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Entity {
    pub entity_type: String,
    pub identifier: String,
    /// The alert that names it; `None` for an entity of the case itself.
    pub alert_id: Option<i64>,
}

/// An entity to record.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NewEntity {
    pub entity_type: String,
    pub identifier: String,
}

impl NewEntity {
    pub fn new(entity_type: &str, identifier: &str) -> NewEntity {
        NewEntity {
            entity_type: entity_type.to_string(),
            identifier: identifier.trim().to_string(),
        }
    }
}

/// The form under which entities are compared: lower case; a host name by its first label
/// (`SALES-PC.corp.local` and `sales-pc` are one host), an IP address as written.
pub fn normalise_entity(entity_type: &str, identifier: &str) -> String {
    let v = identifier.trim().to_lowercase();
    if entity_type == EntityType::HOSTNAME && v.parse::<std::net::IpAddr>().is_err() {
        return v.split('.').next().unwrap_or(&v).to_string();
    }
    v
}

/// A finding attached to a case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Alert {
    pub id: i64,
    pub case_id: i64,
    /// The finding's id in the hunt report (`F-…`); unique within a case.
    pub identifier: String,
    pub name: String,
    pub kind: String,
    pub severity: String,
    pub priority: Priority,
    pub techniques: Vec<String>,
    pub source_host: Option<String>,
    pub target_host: Option<String>,
    pub account: Option<String>,
    pub tool: Option<String>,
    pub first_seen: Option<String>,
    pub last_seen: Option<String>,
    pub event_count: i64,
    pub entities: Vec<Entity>,
    /// The evidence records (file, record, event id, summary) as the report gives them.
    pub evidence: Value,
    /// The whole finding as the report gives it.
    pub details: Value,
    pub create_time: String,
}

/// A finding to attach.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewAlert {
    pub identifier: String,
    pub name: String,
    pub kind: String,
    pub severity: String,
    pub techniques: Vec<String>,
    pub source_host: Option<String>,
    pub target_host: Option<String>,
    pub account: Option<String>,
    pub tool: Option<String>,
    pub first_seen: Option<String>,
    pub last_seen: Option<String>,
    pub event_count: i64,
    pub entities: Vec<NewEntity>,
    pub evidence: Value,
    pub details: Value,
}

/// What attaching alerts did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AttachOutcome {
    /// Alerts new to the case.
    pub added: usize,
    /// Alerts the case already had (same finding id): their content was refreshed.
    pub updated: usize,
    /// Ids of every alert written, in input order.
    pub alert_ids: Vec<i64>,
}

/// A case with its alerts and comments.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CaseDetails {
    pub case: Case,
    pub alerts: Vec<Alert>,
    pub comments: Vec<Comment>,
    /// Entities of the case itself and of its alerts, deduplicated by type and identifier.
    pub entities: Vec<Entity>,
}

/// Which cases to list.
#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    pub status: Option<Status>,
    /// Case-insensitive text found in the name, description, tags or an entity.
    pub text: Option<String>,
    /// At least this priority.
    pub min_priority: Option<Priority>,
    pub limit: Option<usize>,
    pub offset: usize,
}

/// A case sharing entities with something (a hunt's findings).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RelatedCase {
    pub case: Case,
    /// The shared entities, as the other case records them (sorted).
    pub shared: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priority_parses_soar_and_short_names() {
        for p in Priority::ALL {
            assert_eq!(p.as_str().parse::<Priority>().ok(), Some(p));
            assert_eq!(p.short().parse::<Priority>().ok(), Some(p));
        }
        assert_eq!(
            "PRIORITY_HIGH".parse::<Priority>().ok(),
            Some(Priority::High)
        );
        assert_eq!(
            " Critical ".parse::<Priority>().ok(),
            Some(Priority::Critical)
        );
        assert!("urgent".parse::<Priority>().is_err());
        assert!("".parse::<Priority>().is_err());
    }

    #[test]
    fn priority_serialises_as_soar_enum() {
        assert_eq!(
            serde_json::to_string(&Priority::High).ok().as_deref(),
            Some("\"PriorityHigh\"")
        );
        assert!(Priority::Critical > Priority::High && Priority::Info > Priority::Unspecified);
    }

    #[test]
    fn severity_maps_to_priority() {
        assert_eq!(
            Priority::from_severity("critical"),
            Some(Priority::Critical)
        );
        assert_eq!(Priority::from_severity("High"), Some(Priority::High));
        assert_eq!(Priority::from_severity("info"), Some(Priority::Info));
        assert_eq!(Priority::from_severity("bogus"), None);
    }

    #[test]
    fn host_entities_compare_by_first_label() {
        assert_eq!(
            normalise_entity(EntityType::HOSTNAME, "SALES-PC.corp.local"),
            "sales-pc"
        );
        assert_eq!(
            normalise_entity(EntityType::HOSTNAME, "10.0.0.5"),
            "10.0.0.5"
        );
        assert_eq!(
            normalise_entity(EntityType::USER, "CORP\\SSales"),
            "corp\\ssales"
        );
    }
}
