//! # lateral-lookup
//!
//! Owns entity lookup: given one value (an IP address, a host name or FQDN, an account as
//! `DOMAIN\user` or `user@domain`, a file hash, or a process path) it detects the kind,
//! builds the matching filter as a query tree (compiled by lateral-query to a DataFusion
//! expression, never SQL text), collects the matching events in the window once and
//! summarises them with DataFusion aggregates: first and last seen, events by type, related
//! entities with counts, a day-by-day timeline, and the hunt findings that name the entity.
//! [`render_text`] lays the summary out the way SecOps' `lookup_entity` does.
//!
//! Also here, because they read the same events the same way: the process tree of one process
//! around a time ([`process`], `process_tree`), and the values the evidence holds
//! ([`observed`]): local IOC list sightings with first/last seen (`get_ioc_matches`; the
//! matching rules are lateral-intel's) and the fields a partial value appears in
//! (`find_udm_field_values`).
//!
//! It must not run the hunt itself (the caller passes the findings it has), read files (the
//! engine does), or format anything but the summary.

pub mod observed;
pub mod process;

pub use observed::{field_values, ioc_sightings, FieldValue, IocReport, IocSighting};
pub use process::{process_tree, ProcessNode, ProcessTree};

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

use datafusion::arrow::array::{Array, RecordBatch};
use datafusion::datasource::MemTable;
use datafusion::functions::expr_fn::{concat_ws, date_trunc, lower, nullif};
use datafusion::functions_aggregate::expr_fn::{count, max, min};
use datafusion::logical_expr::Expr;
use datafusion::prelude::{lit, DataFrame};
use lateral_engine::{column, Engine, SearchRequest, WindowSpec};
use lateral_model::{f, Field};
use lateral_query::ast::{CmpOp, FieldRef, Node, Pred, Value};
use serde::Serialize;
use serde_json::Value as Json;

/// Lookup errors.
#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    #[error("nothing to look up: the value is empty")]
    Empty,
    #[error("query engine: {0}")]
    DataFusion(#[from] datafusion::error::DataFusionError),
    #[error("engine: {0}")]
    Engine(#[from] lateral_engine::EngineError),
    #[error("query: {0}")]
    Compile(#[from] lateral_query::CompileError),
}

/// What kind of entity a value names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EntityKind {
    IpAddress,
    Hostname,
    User,
    Hash,
    Process,
}

impl EntityKind {
    /// The SecOps entity type name.
    pub fn as_str(self) -> &'static str {
        match self {
            EntityKind::IpAddress => "IP_ADDRESS",
            EntityKind::Hostname => "HOSTNAME",
            EntityKind::User => "USER",
            EntityKind::Hash => "FILE_HASH",
            EntityKind::Process => "PROCESS",
        }
    }
}

const FILE_EXTENSIONS: [&str; 12] = [
    ".exe", ".dll", ".sys", ".ps1", ".bat", ".cmd", ".vbs", ".js", ".hta", ".scr", ".msi", ".com",
];

/// The kind of `value` (trimmed) and its canonical form. A bare single word is taken as a
/// host name; [`lookup`] falls back to an account when no host by that name is seen.
pub fn detect(value: &str) -> Option<(EntityKind, String)> {
    let v = value.trim().trim_matches('"').trim();
    if v.is_empty() {
        return None;
    }
    if let Ok(ip) = v.parse::<IpAddr>() {
        return Some((EntityKind::IpAddress, ip.to_string()));
    }
    if matches!(v.len(), 32 | 40 | 64) && v.chars().all(|c| c.is_ascii_hexdigit()) {
        return Some((EntityKind::Hash, v.to_ascii_lowercase()));
    }
    let lower = v.to_ascii_lowercase();
    let drive = v.len() > 2 && v.as_bytes()[1] == b':' && v.as_bytes()[0].is_ascii_alphabetic();
    let has_ext = FILE_EXTENSIONS.iter().any(|e| lower.ends_with(e));
    if drive || v.starts_with("\\\\") || v.starts_with('%') || v.contains('/') || has_ext {
        return Some((EntityKind::Process, v.to_string()));
    }
    if let Some((dom, user)) = v.split_once('\\') {
        if !dom.is_empty() && !user.is_empty() && !user.contains('\\') {
            return Some((EntityKind::User, v.to_string()));
        }
        return Some((EntityKind::Process, v.to_string()));
    }
    if let Some((user, dom)) = v.split_once('@') {
        if !user.is_empty() && !dom.is_empty() {
            return Some((EntityKind::User, v.to_string()));
        }
    }
    Some((EntityKind::Hostname, lower))
}

fn cmp(field: Field, value: &str) -> Node {
    Node::Pred(Pred::Compare {
        field: FieldRef::Column(field),
        op: CmpOp::Eq,
        value: Value::Str(value.to_string()),
        nocase: false,
    })
}

fn cmp_nocase(field: Field, value: &str) -> Node {
    Node::Pred(Pred::Compare {
        field: FieldRef::Column(field),
        op: CmpOp::Eq,
        value: Value::Str(value.to_string()),
        nocase: true,
    })
}

/// The fields an entity of `kind` can appear in.
pub fn fields_for(kind: EntityKind) -> &'static [Field] {
    match kind {
        EntityKind::IpAddress => &[f::PRINCIPAL_IP, f::TARGET_IP, f::SRC_IP],
        EntityKind::Hostname => &[
            f::PRINCIPAL_HOSTNAME,
            f::TARGET_HOSTNAME,
            f::SRC_HOSTNAME,
            f::OBSERVER_HOSTNAME,
        ],
        EntityKind::User => &[f::PRINCIPAL_USERID, f::TARGET_USERID, f::SRC_USERID],
        EntityKind::Hash => &[f::TARGET_SHA256, f::TARGET_SHA1, f::TARGET_MD5],
        EntityKind::Process => &[
            f::PRINCIPAL_PATH,
            f::TARGET_PATH,
            f::SRC_PATH,
            f::TARGET_FILE_PATH,
        ],
    }
}

/// The query tree matching events that name the entity in any of its fields.
pub fn entity_query(kind: EntityKind, value: &str) -> Node {
    let preds = fields_for(kind)
        .iter()
        .map(|f| match kind {
            EntityKind::Hash => cmp_nocase(*f, value),
            _ => cmp(*f, value),
        })
        .collect();
    Node::Or(preds)
}

/// The query as real UDM search text.
pub fn udm_text(node: &Node) -> String {
    lateral_query::echo::echo(&lateral_query::normalise::normalise(node)).0
}

/// Compile a query tree to the engine's filter.
pub fn compile(node: &Node) -> Result<Expr, LookupError> {
    let core = lateral_query::normalise::normalise(node);
    Ok(lateral_query::compile::compile_node(
        &core,
        &lateral_query::Lists::default(),
    )?)
}

/// A count of something.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Count {
    pub value: String,
    pub count: usize,
}

/// An entity seen in the same events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Related {
    #[serde(rename = "type")]
    pub kind: EntityKind,
    pub value: String,
    /// Events naming both.
    pub count: usize,
}

/// One day of the timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Day {
    pub day: String,
    pub count: usize,
    /// Event types that day, most frequent first.
    pub types: Vec<Count>,
}

/// A hunt finding naming the entity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FindingRef {
    pub id: String,
    pub title: String,
    pub severity: String,
    pub techniques: Vec<String>,
    pub first_seen: String,
    pub last_seen: String,
}

/// Everything the evidence says about one entity in the window.
#[derive(Debug, Clone, Serialize)]
pub struct EntitySummary {
    pub value: String,
    #[serde(rename = "type")]
    pub kind: EntityKind,
    pub udm_query: String,
    pub window: WindowOut,
    pub first_seen: Option<String>,
    pub last_seen: Option<String>,
    pub total_events: usize,
    pub events_by_type: Vec<Count>,
    pub related: Vec<Related>,
    pub findings: Vec<FindingRef>,
    pub timeline: Vec<Day>,
}

#[derive(Debug, Clone, Serialize)]
pub struct WindowOut {
    pub start: Option<String>,
    pub end: Option<String>,
    pub description: String,
}

/// How many related entities of each kind are kept.
pub const RELATED_PER_KIND: usize = 10;

/// Look `value` up in the evidence over `window`. `findings` are hunt findings (as the hunt
/// report serialises them); those naming the entity are listed.
pub async fn lookup(
    engine: &Engine,
    value: &str,
    window: WindowSpec,
    findings: &[Json],
) -> Result<EntitySummary, LookupError> {
    let (mut kind, mut canon) = detect(value).ok_or(LookupError::Empty)?;
    let mut result = matches(engine, kind, &canon, &window).await?;
    if kind == EntityKind::Hostname && result.1.total == 0 && !canon.contains('.') {
        let as_user = matches(engine, EntityKind::User, value.trim(), &window).await?;
        if as_user.1.total > 0 {
            kind = EntityKind::User;
            canon = value.trim().to_string();
            result = as_user;
        }
    }
    let (node, found) = result;
    let mut summary = EntitySummary {
        value: canon.clone(),
        kind,
        udm_query: udm_text(&node),
        window: WindowOut {
            start: found.window.start.map(lateral_engine::format_micros),
            end: found.window.end.map(lateral_engine::format_micros),
            description: found.window.describe(),
        },
        first_seen: None,
        last_seen: None,
        total_events: found.total,
        events_by_type: Vec::new(),
        related: Vec::new(),
        findings: matching_findings(kind, &canon, findings, &found.window),
        timeline: Vec::new(),
    };
    let Some(schema) = found.batches.first().map(RecordBatch::schema) else {
        return Ok(summary);
    };
    let ctx = lateral_engine::session_context(1);
    let mem = Arc::new(MemTable::try_new(schema, vec![found.batches])?);
    let df = ctx.read_table(mem)?;

    // First and last seen.
    let span = df
        .clone()
        .aggregate(
            vec![],
            vec![
                min(column(f::EVENT_TIMESTAMP)).alias("first"),
                max(column(f::EVENT_TIMESTAMP)).alias("last"),
            ],
        )?
        .collect()
        .await?;
    if let Some(b) = span.first() {
        if b.num_rows() > 0 {
            summary.first_seen = timestamp(b.column(0).as_ref(), 0);
            summary.last_seen = timestamp(b.column(1).as_ref(), 0);
        }
    }
    summary.events_by_type = counts(df.clone(), vec![column(f::EVENT_TYPE)]).await?;

    // Related entities: distinct (event, value) pairs per kind, counted.
    let mut related = Vec::new();
    for rk in [
        EntityKind::Hostname,
        EntityKind::IpAddress,
        EntityKind::User,
        EntityKind::Process,
        EntityKind::Hash,
    ] {
        let mut found = related_of(df.clone(), rk).await?;
        found.retain(|c| !same_entity(kind, &canon, rk, &c.value));
        found.truncate(RELATED_PER_KIND);
        related.extend(found.into_iter().map(|c| Related {
            kind: rk,
            value: c.value,
            count: c.count,
        }));
    }
    summary.related = related;

    // Timeline by day.
    let day = date_trunc(lit("day"), column(f::EVENT_TIMESTAMP)).alias("day");
    let per_day = df
        .aggregate(
            vec![day, column(f::EVENT_TYPE)],
            vec![count(lit(1)).alias("n")],
        )?
        .collect()
        .await?;
    let mut days: BTreeMap<String, Vec<Count>> = BTreeMap::new();
    for b in &per_day {
        for r in 0..b.num_rows() {
            let Some(d) = timestamp(b.column(0).as_ref(), r) else {
                continue;
            };
            let d = d.get(..10).unwrap_or(&d).to_string();
            days.entry(d).or_default().push(Count {
                value: text(b.column(1).as_ref(), r).unwrap_or_else(|| "UNKNOWN".into()),
                count: int(b.column(2).as_ref(), r),
            });
        }
    }
    summary.timeline = days
        .into_iter()
        .map(|(day, mut types)| {
            sort_counts(&mut types);
            Day {
                day,
                count: types.iter().map(|t| t.count).sum(),
                types,
            }
        })
        .collect();
    Ok(summary)
}

async fn matches(
    engine: &Engine,
    kind: EntityKind,
    value: &str,
    window: &WindowSpec,
) -> Result<(Node, lateral_engine::SearchResult), LookupError> {
    let node = entity_query(kind, value);
    let req = SearchRequest {
        filter: compile(&node)?,
        window: window.clone(),
        limit: None,
        columns: Vec::new(),
    };
    let found = engine.search(&req).await?;
    Ok((node, found))
}

async fn counts(df: DataFrame, group: Vec<Expr>) -> Result<Vec<Count>, LookupError> {
    let batches = df
        .aggregate(group, vec![count(lit(1)).alias("n")])?
        .collect()
        .await?;
    let mut out = Vec::new();
    for b in &batches {
        for r in 0..b.num_rows() {
            out.push(Count {
                value: text(b.column(0).as_ref(), r).unwrap_or_else(|| "UNKNOWN".into()),
                count: int(b.column(1).as_ref(), r),
            });
        }
    }
    sort_counts(&mut out);
    Ok(out)
}

/// Values of one kind across its fields, each counted once per event.
async fn related_of(df: DataFrame, kind: EntityKind) -> Result<Vec<Count>, LookupError> {
    let user_domain = |user: Field, domain: Field| {
        concat_ws(
            lit("\\"),
            vec![nullif(column(domain), lit("")), column(user)],
        )
    };
    let values: Vec<Expr> = match kind {
        EntityKind::Hostname | EntityKind::Process | EntityKind::Hash => fields_for(kind)
            .iter()
            .filter(|f| **f != f::TARGET_FILE_PATH)
            .map(|f| lower(column(*f)))
            .collect(),
        EntityKind::IpAddress => fields_for(kind).iter().map(|f| column(*f)).collect(),
        EntityKind::User => vec![
            user_domain(f::PRINCIPAL_USERID, f::PRINCIPAL_DOMAIN),
            user_domain(f::TARGET_USERID, f::TARGET_DOMAIN),
            user_domain(f::SRC_USERID, f::SRC_DOMAIN),
        ],
    };
    let users = [f::PRINCIPAL_USERID, f::TARGET_USERID, f::SRC_USERID];
    let mut union: Option<DataFrame> = None;
    for (i, v) in values.into_iter().enumerate() {
        let mut part = df.clone();
        if kind == EntityKind::User {
            // A domain without a user is not an account.
            part = part.filter(
                column(users[i])
                    .is_not_null()
                    .and(column(users[i]).not_eq(lit(""))),
            )?;
        }
        let part = part.select(vec![
            column(f::SOURCE_FILE).alias("file"),
            column(f::RECORD_NUMBER).alias("record"),
            column(f::EVENT_TIMESTAMP).alias("ts"),
            v.alias("v"),
        ])?;
        union = Some(match union {
            None => part,
            Some(u) => u.union(part)?,
        });
    }
    let Some(all) = union else {
        return Ok(Vec::new());
    };
    let col = |n: &str| Expr::Column(datafusion::common::Column::new_unqualified(n));
    let distinct = all
        .filter(
            col("v")
                .is_not_null()
                .and(col("v").not_eq(lit("")))
                .and(col("v").not_eq(lit("-"))),
        )?
        .distinct()?;
    counts(distinct, vec![col("v")]).await
}

fn sort_counts(v: &mut [Count]) {
    v.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
}

fn text(a: &dyn Array, r: usize) -> Option<String> {
    if a.is_null(r) {
        return None;
    }
    match lateral_engine::rows::cell(a, r) {
        Json::String(s) => Some(s),
        Json::Null => None,
        other => Some(other.to_string()),
    }
}

fn int(a: &dyn Array, r: usize) -> usize {
    match lateral_engine::rows::cell(a, r) {
        Json::Number(n) => n.as_u64().unwrap_or(0) as usize,
        _ => 0,
    }
}

fn timestamp(a: &dyn Array, r: usize) -> Option<String> {
    if a.is_null(r) {
        return None;
    }
    a.as_any()
        .downcast_ref::<datafusion::arrow::array::TimestampMicrosecondArray>()
        .map(|t| lateral_engine::format_micros(t.value(r)))
}

fn short(host: &str) -> &str {
    host.split('.').next().unwrap_or(host)
}

fn bare_user(v: &str) -> String {
    let v = v.rsplit('\\').next().unwrap_or(v);
    let v = v.split('@').next().unwrap_or(v);
    v.to_ascii_lowercase()
}

fn file_name(p: &str) -> String {
    p.rsplit(['\\', '/'])
        .next()
        .unwrap_or(p)
        .to_ascii_lowercase()
}

/// Whether `other` (of kind `ok`) is the looked-up entity itself.
fn same_entity(kind: EntityKind, canon: &str, ok: EntityKind, other: &str) -> bool {
    kind == ok && names_entity(kind, canon, other)
}

/// Whether the text `s` names the entity.
pub fn names_entity(kind: EntityKind, canon: &str, s: &str) -> bool {
    let s = s.trim();
    match kind {
        EntityKind::IpAddress => s
            .parse::<IpAddr>()
            .map(|ip| ip.to_string() == canon)
            .unwrap_or(false),
        EntityKind::Hostname => {
            let s = s.to_ascii_lowercase();
            let c = canon.to_ascii_lowercase();
            s == c
                || (!s.contains(' ')
                    && (!c.contains('.') || !s.contains('.'))
                    && short(&s) == short(&c))
        }
        EntityKind::User => !s.contains(' ') && !s.is_empty() && bare_user(s) == bare_user(canon),
        EntityKind::Hash => s.eq_ignore_ascii_case(canon),
        EntityKind::Process => {
            s.eq_ignore_ascii_case(canon)
                || (!canon.contains(['\\', '/']) && file_name(s) == canon.to_ascii_lowercase())
                || (canon.contains(['\\', '/'])
                    && file_name(s) == file_name(canon)
                    && !s.contains(['\\', '/']))
        }
    }
}

/// The findings (hunt report JSON) with a string value naming the entity whose activity
/// (first to last seen) overlaps `window`; a finding without readable times is kept.
fn matching_findings(
    kind: EntityKind,
    canon: &str,
    findings: &[Json],
    window: &lateral_engine::Window,
) -> Vec<FindingRef> {
    fn any_string(v: &Json, hit: &dyn Fn(&str) -> bool) -> bool {
        match v {
            Json::String(s) => hit(s),
            Json::Array(a) => a.iter().any(|x| any_string(x, hit)),
            Json::Object(m) => m.values().any(|x| any_string(x, hit)),
            _ => false,
        }
    }
    let hit = |s: &str| names_entity(kind, canon, s);
    let s = |v: &Json, k: &str| v[k].as_str().unwrap_or_default().to_string();
    let time = |f: &Json, k: &str| {
        f[k].as_str()
            .and_then(|t| lateral_engine::parse_time(t).ok())
    };
    let overlaps = |f: &Json| {
        let ends_before =
            matches!((time(f, "last_seen"), window.start), (Some(l), Some(s)) if l < s);
        let starts_after =
            matches!((time(f, "first_seen"), window.end), (Some(b), Some(e)) if b > e);
        !ends_before && !starts_after
    };
    findings
        .iter()
        .filter(|f| overlaps(f) && any_string(f, &hit))
        .map(|f| FindingRef {
            id: s(f, "id"),
            title: s(f, "title"),
            severity: s(f, "severity"),
            techniques: f["techniques"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|t| t.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default(),
            first_seen: s(f, "first_seen"),
            last_seen: s(f, "last_seen"),
        })
        .collect()
}

/// The summary as text, in the layout of SecOps' entity lookup.
pub fn render_text(s: &EntitySummary) -> String {
    let mut out = String::new();
    let mut line = |t: String| {
        out.push_str(&t);
        out.push('\n');
    };
    line(format!("Entity Summary for {}:", s.value));
    line(String::new());
    line("Primary Entity:".into());
    line(format!("  Type: {}", s.kind.as_str()));
    line(format!("  Value: {}", s.value));
    line(format!(
        "  First Seen: {}",
        s.first_seen.as_deref().unwrap_or("not seen in the window")
    ));
    line(format!(
        "  Last Seen: {}",
        s.last_seen.as_deref().unwrap_or("not seen in the window")
    ));
    line(format!("  Events: {}", s.total_events));
    line(format!("  Window: {}", s.window.description));
    line(format!("  Query: {}", s.udm_query));
    line(String::new());
    line("Events by Type:".into());
    if s.events_by_type.is_empty() {
        line("  none".into());
    }
    for c in &s.events_by_type {
        line(format!("  {}: {}", c.value, c.count));
    }
    line(String::new());
    line("Related Entities:".into());
    if s.related.is_empty() {
        line("  none".into());
    }
    for r in &s.related {
        line(format!(
            "  - {}: {} ({} events)",
            r.kind.as_str(),
            r.value,
            r.count
        ));
    }
    line(String::new());
    line("Associated Alerts:".into());
    if s.findings.is_empty() {
        line("  none".into());
    }
    for a in &s.findings {
        line(format!(
            "  - {} [{}] {} ({}; {} .. {})",
            a.id,
            a.severity,
            a.title,
            a.techniques.join(", "),
            a.first_seen,
            a.last_seen
        ));
    }
    line(String::new());
    line("Timeline Summary:".into());
    if s.timeline.is_empty() {
        line("  no events in the window".into());
    }
    for d in &s.timeline {
        let types: Vec<String> = d
            .types
            .iter()
            .map(|t| format!("{} {}", t.value, t.count))
            .collect();
        line(format!(
            "  {}: {} events ({})",
            d.day,
            d.count,
            types.join(", ")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_detected() {
        let k = |v: &str| detect(v).map(|(k, _)| k);
        assert_eq!(k("10.0.0.5"), Some(EntityKind::IpAddress));
        assert_eq!(k("fe80::1"), Some(EntityKind::IpAddress));
        assert_eq!(k("serhatg.local"), Some(EntityKind::Hostname));
        assert_eq!(k("SALES-PC"), Some(EntityKind::Hostname));
        assert_eq!(k(r"AD\docker"), Some(EntityKind::User));
        assert_eq!(k("ssales@corp.local"), Some(EntityKind::User));
        assert_eq!(k(&"a".repeat(64)), Some(EntityKind::Hash));
        assert_eq!(k(&"B".repeat(32)), Some(EntityKind::Hash));
        assert_eq!(k(r"C:\Windows\PSEXESVC.exe"), Some(EntityKind::Process));
        assert_eq!(k("wmic.exe"), Some(EntityKind::Process));
        assert_eq!(k("  "), None);
    }

    #[test]
    fn entity_names_compare_by_kind() {
        assert!(names_entity(
            EntityKind::Hostname,
            "serhatg.local",
            "SERHATG"
        ));
        assert!(!names_entity(
            EntityKind::Hostname,
            "serhatg.local",
            "serhatg.other"
        ));
        assert!(names_entity(EntityKind::User, r"AD\docker", "docker"));
        assert!(names_entity(
            EntityKind::User,
            r"AD\docker",
            "docker@ad.local"
        ));
        assert!(names_entity(
            EntityKind::Process,
            "wmic.exe",
            r"C:\Windows\System32\wbem\WMIC.exe"
        ));
        assert!(names_entity(EntityKind::IpAddress, "10.0.0.5", "10.0.0.5"));
        assert!(!names_entity(
            EntityKind::IpAddress,
            "10.0.0.5",
            "10.0.0.50"
        ));
    }

    #[test]
    fn the_query_is_udm_text_with_the_value_quoted() {
        let q = udm_text(&entity_query(EntityKind::IpAddress, "10.0.0.5\" OR 1=1"));
        assert!(
            q.starts_with("principal.ip = \"10.0.0.5\\\" OR 1=1\""),
            "{q}"
        );
    }
}
