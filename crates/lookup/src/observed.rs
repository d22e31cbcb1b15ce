//! Values the evidence holds, counted with DataFusion aggregates over the window: the
//! sightings of local IOC list entries (`get_ioc_matches`) and the fields a partial value
//! appears in (`find_udm_field_values`). Matching an observed value against an indicator is
//! lateral-intel's ([`IocSet::matches`]); this module only collects the values.

use std::collections::{BTreeMap, BTreeSet};

use datafusion::arrow::array::{Array, RecordBatch};
use datafusion::common::Column;
use datafusion::functions::expr_fn::{concat_ws, contains, lower, nullif};
use datafusion::functions_aggregate::expr_fn::{count, max, min};
use datafusion::logical_expr::Expr;
use datafusion::prelude::{lit, DataFrame};
use lateral_engine::{and_window, column, Engine, WindowSpec, TABLE};
use lateral_intel::{Ioc, IocSet};
use lateral_model::fields::Semantic;
use lateral_model::{f, Field};
use serde::Serialize;

use crate::LookupError;

/// Fields whose values are compared with IOC list entries, by what they hold.
const IOC_FIELDS: &[Field] = &[
    f::PRINCIPAL_IP,
    f::TARGET_IP,
    f::SRC_IP,
    f::PRINCIPAL_HOSTNAME,
    f::TARGET_HOSTNAME,
    f::SRC_HOSTNAME,
    f::OBSERVER_HOSTNAME,
    f::PRINCIPAL_USERID,
    f::TARGET_USERID,
    f::SRC_USERID,
    f::TARGET_SHA256,
    f::TARGET_SHA1,
    f::TARGET_MD5,
    f::PRINCIPAL_PATH,
    f::TARGET_PATH,
    f::SRC_PATH,
    f::TARGET_FILE_PATH,
    f::TARGET_URL,
];

fn account_domain(user: Field) -> Option<Field> {
    match user {
        u if u == f::PRINCIPAL_USERID => Some(f::PRINCIPAL_DOMAIN),
        u if u == f::TARGET_USERID => Some(f::TARGET_DOMAIN),
        u if u == f::SRC_USERID => Some(f::SRC_DOMAIN),
        _ => None,
    }
}

/// One indicator seen in the evidence.
#[derive(Debug, Clone, Serialize)]
pub struct IocSighting {
    pub ioc: Ioc,
    /// The evidence values that matched it (an address in a network, a path ending in a file
    /// name, ...).
    pub observed: Vec<String>,
    /// The UDM fields they were seen in.
    pub fields: Vec<String>,
    pub first_seen: String,
    pub last_seen: String,
    /// Events naming a matching value.
    pub event_count: usize,
}

/// What [`ioc_sightings`] found.
#[derive(Debug, Clone, Serialize)]
pub struct IocReport {
    pub window: crate::WindowOut,
    pub indicators: usize,
    /// Distinct values compared.
    pub values_compared: usize,
    /// Most events first, then by indicator.
    pub matches: Vec<IocSighting>,
}

struct Seen {
    first: i64,
    last: i64,
    count: usize,
    fields: BTreeSet<String>,
}

fn col(n: &str) -> Expr {
    Expr::Column(Column::new_unqualified(n))
}

async fn windowed(
    engine: &Engine,
    window: &WindowSpec,
) -> Result<(DataFrame, crate::WindowOut), LookupError> {
    let w = window.resolve(engine.stats().time_range().map(|(_, hi)| hi));
    let df = engine
        .context()
        .table(TABLE)
        .await?
        .filter(and_window(lit(true), &w))?;
    let out = crate::WindowOut {
        start: w.start.map(lateral_engine::format_micros),
        end: w.end.map(lateral_engine::format_micros),
        description: w.describe(),
    };
    Ok((df, out))
}

/// (file, record, ts, v, field) for every non-empty value of `fields`.
/// With `with_domain`, account names are written `DOMAIN\\user` when the event gives a domain.
fn values_of(
    df: &DataFrame,
    fields: &[Field],
    filter: Option<&str>,
    with_domain: bool,
) -> Result<Option<DataFrame>, LookupError> {
    let mut union: Option<DataFrame> = None;
    for &field in fields {
        let value = match account_domain(field).filter(|_| with_domain) {
            Some(d) => concat_ws(lit("\\"), vec![nullif(column(d), lit("")), column(field)]),
            None => column(field),
        };
        let mut keep = column(field)
            .is_not_null()
            .and(column(field).not_eq(lit("")))
            .and(column(field).not_eq(lit("-")));
        if let Some(q) = filter {
            keep = keep.and(contains(lower(column(field)), lit(q.to_lowercase())));
        }
        let part = df.clone().filter(keep)?.select(vec![
            column(f::SOURCE_FILE).alias("file"),
            column(f::RECORD_NUMBER).alias("record"),
            column(f::EVENT_TIMESTAMP).alias("ts"),
            value.alias("v"),
            lit(field.name()).alias("field"),
        ])?;
        union = Some(match union {
            None => part,
            Some(u) => u.union(part)?,
        });
    }
    Ok(union)
}

fn text(a: &dyn Array, r: usize) -> Option<String> {
    if a.is_null(r) {
        return None;
    }
    match lateral_engine::rows::cell(a, r) {
        serde_json::Value::String(s) => Some(s),
        serde_json::Value::Null => None,
        other => Some(other.to_string()),
    }
}

fn micros(a: &dyn Array, r: usize) -> Option<i64> {
    if a.is_null(r) {
        return None;
    }
    a.as_any()
        .downcast_ref::<datafusion::arrow::array::TimestampMicrosecondArray>()
        .map(|t| t.value(r))
}

fn int(a: &dyn Array, r: usize) -> usize {
    lateral_engine::rows::cell(a, r).as_u64().unwrap_or(0) as usize
}

/// Per distinct value: first, last, events (each event once) and the fields it was in.
async fn seen_values(all: DataFrame) -> Result<BTreeMap<String, Seen>, LookupError> {
    let per_value: Vec<RecordBatch> = all
        .clone()
        .select(vec![col("file"), col("record"), col("ts"), col("v")])?
        .distinct()?
        .aggregate(
            vec![col("v")],
            vec![
                min(col("ts")).alias("first"),
                max(col("ts")).alias("last"),
                count(lit(1)).alias("n"),
            ],
        )?
        .collect()
        .await?;
    let mut out: BTreeMap<String, Seen> = BTreeMap::new();
    for b in &per_value {
        for r in 0..b.num_rows() {
            let Some(v) = text(b.column(0).as_ref(), r) else {
                continue;
            };
            out.insert(
                v,
                Seen {
                    first: micros(b.column(1).as_ref(), r).unwrap_or(0),
                    last: micros(b.column(2).as_ref(), r).unwrap_or(0),
                    count: int(b.column(3).as_ref(), r),
                    fields: BTreeSet::new(),
                },
            );
        }
    }
    let pairs = all
        .aggregate(vec![col("v"), col("field")], vec![])?
        .collect()
        .await?;
    for b in &pairs {
        for r in 0..b.num_rows() {
            if let (Some(v), Some(field)) =
                (text(b.column(0).as_ref(), r), text(b.column(1).as_ref(), r))
            {
                if let Some(s) = out.get_mut(&v) {
                    s.fields.insert(field);
                }
            }
        }
    }
    Ok(out)
}

/// The indicators of `iocs` whose values the evidence holds in the window, with first and
/// last seen and the number of events naming them.
pub async fn ioc_sightings(
    engine: &Engine,
    iocs: &IocSet,
    window: &WindowSpec,
) -> Result<IocReport, LookupError> {
    let (df, window_out) = windowed(engine, window).await?;
    let mut report = IocReport {
        window: window_out,
        indicators: iocs.len(),
        values_compared: 0,
        matches: Vec::new(),
    };
    if iocs.is_empty() {
        return Ok(report);
    }
    let Some(all) = values_of(&df, IOC_FIELDS, None, true)? else {
        return Ok(report);
    };
    let seen = seen_values(all).await?;
    report.values_compared = seen.len();
    // Indicator (by list position) → its sighting.
    let mut hits: BTreeMap<usize, (IocSighting, i64, i64)> = BTreeMap::new();
    for (value, s) in &seen {
        let host_field = s
            .fields
            .iter()
            .any(|fl| Field::by_name(fl).is_some_and(|fd| fd.def().semantic == Semantic::Hostname));
        let mut matched: BTreeSet<usize> = BTreeSet::new();
        let short = lateral_model::vocab::short_hostname(value);
        for candidate in [Some(value.as_str()), host_field.then_some(short.as_str())]
            .into_iter()
            .flatten()
        {
            for ioc in iocs.matches(candidate) {
                if let Some(k) = iocs.iocs().iter().position(|i| std::ptr::eq(i, ioc)) {
                    matched.insert(k);
                }
            }
        }
        for k in matched {
            let entry = hits.entry(k).or_insert_with(|| {
                (
                    IocSighting {
                        ioc: iocs.iocs()[k].clone(),
                        observed: Vec::new(),
                        fields: Vec::new(),
                        first_seen: String::new(),
                        last_seen: String::new(),
                        event_count: 0,
                    },
                    i64::MAX,
                    i64::MIN,
                )
            });
            entry.0.observed.push(value.clone());
            for fl in &s.fields {
                if !entry.0.fields.contains(fl) {
                    entry.0.fields.push(fl.clone());
                }
            }
            entry.0.event_count += s.count;
            entry.1 = entry.1.min(s.first);
            entry.2 = entry.2.max(s.last);
        }
    }
    let mut matches: Vec<IocSighting> = hits
        .into_values()
        .map(|(mut m, first, last)| {
            m.first_seen = lateral_engine::format_micros(first);
            m.last_seen = lateral_engine::format_micros(last);
            m.fields.sort();
            m
        })
        .collect();
    matches.sort_by(|a, b| {
        b.event_count
            .cmp(&a.event_count)
            .then_with(|| a.ioc.cmp(&b.ioc))
    });
    report.matches = matches;
    Ok(report)
}

/// A field holding a value that contains the searched text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldValue {
    pub field_path: String,
    pub value: String,
    pub event_count: usize,
    pub first_seen: String,
    pub last_seen: String,
}

/// Fields searched by [`field_values`]: the entity-like ones (hosts, addresses, accounts,
/// paths) and the names of services, tasks, shares and URLs.
pub fn searchable_fields() -> Vec<Field> {
    let mut out: Vec<Field> = lateral_model::fields::all_fields()
        .filter(|fl| {
            matches!(
                fl.def().semantic,
                Semantic::Hostname | Semantic::Ip | Semantic::User | Semantic::Path
            ) && *fl != f::SOURCE_FILE
        })
        .collect();
    for extra in [
        f::TARGET_APPLICATION,
        f::TARGET_RESOURCE,
        f::TARGET_URL,
        f::TARGET_SHA256,
        f::TARGET_SHA1,
        f::TARGET_MD5,
    ] {
        if !out.contains(&extra) {
            out.push(extra);
        }
    }
    out
}

/// Values containing `partial` (case-insensitive) in any of [`searchable_fields`], over the
/// whole evidence: most frequent first, at most `limit`. The second element is how many
/// (field, value) pairs matched before the limit.
pub async fn field_values(
    engine: &Engine,
    partial: &str,
    limit: usize,
) -> Result<(Vec<FieldValue>, usize), LookupError> {
    let q = partial.trim();
    if q.is_empty() {
        return Err(LookupError::Empty);
    }
    let df = engine.context().table(TABLE).await?;
    let fields: Vec<Field> = searchable_fields()
        .into_iter()
        .filter(|fl| fl.def().kind == lateral_model::fields::Kind::Str)
        .collect();
    let Some(all) = values_of(&df, &fields, Some(q), false)? else {
        return Ok((Vec::new(), 0));
    };
    let batches = all
        .select(vec![col("field"), col("v"), col("ts")])?
        .aggregate(
            vec![col("field"), col("v")],
            vec![
                count(lit(1)).alias("n"),
                min(col("ts")).alias("first"),
                max(col("ts")).alias("last"),
            ],
        )?
        .collect()
        .await?;
    let mut out = Vec::new();
    for b in &batches {
        for r in 0..b.num_rows() {
            let (Some(field), Some(value)) =
                (text(b.column(0).as_ref(), r), text(b.column(1).as_ref(), r))
            else {
                continue;
            };
            out.push(FieldValue {
                field_path: field,
                value,
                event_count: int(b.column(2).as_ref(), r),
                first_seen: micros(b.column(3).as_ref(), r)
                    .map(lateral_engine::format_micros)
                    .unwrap_or_default(),
                last_seen: micros(b.column(4).as_ref(), r)
                    .map(lateral_engine::format_micros)
                    .unwrap_or_default(),
            });
        }
    }
    out.sort_by(|a, b| {
        b.event_count
            .cmp(&a.event_count)
            .then_with(|| a.field_path.cmp(&b.field_path))
            .then_with(|| a.value.cmp(&b.value))
    });
    let total = out.len();
    out.truncate(limit);
    Ok((out, total))
}
