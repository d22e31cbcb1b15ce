//! Sequences: "stage A then stage B on the same host within a span, joined on keys that may
//! have different names on each side", executed as DataFusion joins over the candidate table.
//!
//! The built-in sequences are the runbook's correlation steps:
//!
//! | id | stages | keys | span |
//! |---|---|---|---|
//! | `logon-then-service` | 4624 network logon → 4697 service install | `target.logon_id` = `principal.logon_id` | 1 min |
//! | `logon-then-service-7045` | 4624 network logon → 7045 service install | same host | 1 min |
//! | `session-processes` | 4624 network logon → Sysmon 1 process | `target.logon_id` = `principal.logon_id` | 24 h |
//! | `session-processes-4688` | 4624 network logon → 4688 process | `target.logon_id` = `target.logon_id` | 24 h |
//! | `session-activity` | 4624 network logon → 5140/5145/4697/4698/4702 | `target.logon_id` = `principal.logon_id` | 24 h |
//! | `rpc-then-wmiprvse-child` | inbound TCP 135 (or dynamic RPC) → WmiPrvSE child | same host | 20 s |
//! | `taskschd-then-rpc` | Sysmon 7 taskschd.dll → Sysmon 3 outbound 135 | process GUID | 1 min |
//! | `svcctl-then-service` | 5145 IPC$ svcctl → 7045/4697 | same host | 1 min |
//! | `share-write-then-launch` | 5145 ADMIN$/C$ write or Sysmon 11 by System → service or process whose image is that file | file name | 10 min |
//!
//! A sequence yields pairs of candidate-table row ids; the finding builder decides what the
//! pairs mean.

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::arrow::array::{Array, Int64Array};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::JoinType;
use datafusion::datasource::MemTable;
use datafusion::functions::expr_fn::{lower, split_part};
use datafusion::logical_expr::{cast, col, lit, Expr};
use datafusion::prelude::{coalesce, SessionContext};
use lateral_engine::column;
use lateral_model::f;

use crate::evidence::ROW_ID;
use crate::HuntError;

/// One stage: which events, and the key expression joined to the neighbouring stage.
#[derive(Debug, Clone)]
pub struct Stage {
    pub filter: Expr,
    pub key: Option<Expr>,
}

/// A two-stage sequence.
#[derive(Debug, Clone)]
pub struct Sequence {
    pub id: &'static str,
    pub description: &'static str,
    pub first: Stage,
    pub then: Stage,
    /// Maximum time from the first stage to the second, µs.
    pub span: i64,
    /// The second stage must not precede the first.
    pub ordered: bool,
    pub same_host: bool,
}

/// The pairs one sequence produced.
#[derive(Debug, Clone, Default)]
pub struct Links {
    pub id: &'static str,
    pub pairs: Vec<(u32, u32)>,
}

fn host_key() -> Expr {
    lower(split_part(
        coalesce(vec![
            column(f::OBSERVER_HOSTNAME),
            column(f::PRINCIPAL_HOSTNAME),
            lit(""),
        ]),
        lit("."),
        lit(1),
    ))
}

fn micros() -> Expr {
    cast(column(f::EVENT_TIMESTAMP), DataType::Int64)
}

/// The candidate-table columns the sequences and thresholds read (their filters, keys, actors
/// and targets, plus time, host and row id), so they can run over a narrow copy of the table:
/// planning cost grows with the width of the schema, and the candidate table has every field.
pub fn columns_used(seqs: &[Sequence], ths: &[Threshold]) -> std::collections::BTreeSet<String> {
    let mut exprs: Vec<&Expr> = Vec::new();
    for s in seqs {
        exprs.push(&s.first.filter);
        exprs.push(&s.then.filter);
        exprs.extend(s.first.key.iter());
        exprs.extend(s.then.key.iter());
    }
    for t in ths {
        exprs.extend([&t.filter, &t.actor, &t.target]);
    }
    let host = host_key();
    let time = micros();
    exprs.extend([&host, &time]);
    let mut out: std::collections::BTreeSet<String> = exprs
        .into_iter()
        .flat_map(|e| e.column_refs().into_iter().map(|c| c.name().to_string()))
        .collect();
    out.insert(ROW_ID.to_string());
    out
}

/// Run one sequence over the candidate table.
pub async fn run_sequence(
    ctx: &SessionContext,
    table: Arc<MemTable>,
    seq: &Sequence,
) -> Result<Links, HuntError> {
    let side = |stage: &Stage, p: &str| -> Result<datafusion::prelude::DataFrame, HuntError> {
        let mut select = vec![
            col(format!("\"{ROW_ID}\"")).alias(format!("{p}_row")),
            micros().alias(format!("{p}_t")),
            host_key().alias(format!("{p}_host")),
        ];
        if let Some(k) = &stage.key {
            select.push(k.clone().alias(format!("{p}_key")));
        }
        let df = ctx
            .read_table(table.clone())?
            .filter(stage.filter.clone())?
            .select(select)?;
        Ok(df)
    };
    let left = side(&seq.first, "l")?;
    let right = side(&seq.then, "r")?;
    let mut on: Vec<Expr> = Vec::new();
    if seq.first.key.is_some() && seq.then.key.is_some() {
        on.push(col("l_key").eq(col("r_key")));
    }
    if seq.same_host {
        on.push(col("l_host").eq(col("r_host")));
    }
    let dt = col("r_t") - col("l_t");
    let mut time = dt.clone().lt_eq(lit(seq.span));
    time = if seq.ordered {
        time.and(dt.gt_eq(lit(0i64)))
    } else {
        time.and(dt.gt_eq(lit(-seq.span)))
    };
    on.push(time);
    let mut joined = left.join_on(right, JoinType::Inner, on)?;
    if seq.first.key.is_some() && seq.then.key.is_some() {
        // Empty keys (no logon id, no file name) never join.
        joined = joined.filter(col("l_key").is_not_null().and(col("l_key").not_eq(lit(""))))?;
    }
    let joined = joined.select(vec![col("l_row"), col("r_row")])?;
    let batches = joined.collect().await?;
    let mut pairs = Vec::new();
    for b in &batches {
        let l = b.column(0).as_any().downcast_ref::<Int64Array>();
        let r = b.column(1).as_any().downcast_ref::<Int64Array>();
        if let (Some(l), Some(r)) = (l, r) {
            for i in 0..b.num_rows() {
                if l.is_valid(i) && r.is_valid(i) && l.value(i) != r.value(i) {
                    pairs.push((l.value(i) as u32, r.value(i) as u32));
                }
            }
        }
    }
    pairs.sort_unstable();
    pairs.dedup();
    Ok(Links { id: seq.id, pairs })
}

/// "One actor, many targets": for each event of `filter`, the distinct `target` values among
/// the events of the same `actor` in the following `window`; reported when at least `min`.
#[derive(Debug, Clone)]
pub struct Threshold {
    pub id: &'static str,
    pub description: &'static str,
    pub filter: Expr,
    pub actor: Expr,
    pub target: Expr,
    pub window: i64,
    pub min: usize,
}

/// One burst: the first row, the actor and how many distinct targets followed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Burst {
    pub first_row: u32,
    pub actor: String,
    pub targets: usize,
}

/// Run a threshold as a DataFusion self-join and aggregate.
pub async fn run_threshold(
    ctx: &SessionContext,
    table: Arc<MemTable>,
    th: &Threshold,
) -> Result<Vec<Burst>, HuntError> {
    use datafusion::functions_aggregate::expr_fn::count_distinct;
    let side = |p: &str| -> Result<datafusion::prelude::DataFrame, HuntError> {
        Ok(ctx
            .read_table(table.clone())?
            .filter(th.filter.clone().and(th.actor.clone().is_not_null()))?
            .select(vec![
                col(format!("\"{ROW_ID}\"")).alias(format!("{p}_row")),
                micros().alias(format!("{p}_t")),
                th.actor.clone().alias(format!("{p}_actor")),
                th.target.clone().alias(format!("{p}_target")),
            ])?)
    };
    let dt = col("r_t") - col("l_t");
    let joined = side("l")?.join_on(
        side("r")?,
        JoinType::Inner,
        vec![
            col("l_actor").eq(col("r_actor")),
            dt.clone().gt_eq(lit(0i64)),
            dt.lt_eq(lit(th.window)),
        ],
    )?;
    let agg = joined
        .aggregate(
            vec![col("l_row"), col("l_actor")],
            vec![count_distinct(col("r_target")).alias("n")],
        )?
        .filter(col("n").gt_eq(lit(th.min as i64)))?;
    let batches = agg.collect().await?;
    let mut out = Vec::new();
    for b in &batches {
        let rows = b.column(0).as_any().downcast_ref::<Int64Array>();
        let actors = b
            .column(1)
            .as_any()
            .downcast_ref::<datafusion::arrow::array::StringArray>();
        let n = b.column(2).as_any().downcast_ref::<Int64Array>();
        if let (Some(rows), Some(actors), Some(n)) = (rows, actors, n) {
            for i in 0..b.num_rows() {
                out.push(Burst {
                    first_row: rows.value(i) as u32,
                    actor: actors.value(i).to_string(),
                    targets: n.value(i) as usize,
                });
            }
        }
    }
    out.sort_by(|a, b| (a.first_row, &a.actor).cmp(&(b.first_row, &b.actor)));
    Ok(out)
}

/// The built-in thresholds: one source address with network logons on 3 or more hosts
/// within 10 minutes.
pub fn thresholds() -> Vec<Threshold> {
    vec![Threshold {
        id: "network-logon-fan-out",
        description: "one source address with successful network logons on 3 or more distinct hosts within 10 minutes",
        filter: q(NETWORK_LOGON).and(q("lateral.loopback = false")),
        actor: column(f::PRINCIPAL_IP),
        target: host_key(),
        window: 10 * crate::time::MINUTE,
        min: 3,
    }]
}

fn q(text: &str) -> Expr {
    // Built-in stage filters are fixed text; a failure here is a programming error caught by tests.
    lateral_query::parse(text)
        .ok()
        .and_then(|q| lateral_query::compile(&q, &lateral_query::Lists::new()).ok())
        .unwrap_or_else(|| lit(false))
}

fn file_name_key(field: lateral_model::Field) -> Expr {
    // Last path component, lower case: `Windows\PSEXESVC.exe` and `%SystemRoot%\PSEXESVC.exe` agree.
    let reversed = datafusion::functions::expr_fn::reverse(lower(column(field)));
    datafusion::functions::expr_fn::reverse(split_part(reversed, lit("\\"), lit(1)))
}

const NETWORK_LOGON: &str = r#"lateral.channel = "Security" AND lateral.event_id = 4624 AND extensions.auth.mechanism = "NETWORK""#;

/// The built-in sequences.
pub fn builtin() -> Vec<Sequence> {
    use crate::time::{HOUR, MINUTE, SECOND};
    vec![
        Sequence {
            id: "logon-then-service",
            description: "network logon, then a service installed in the same logon session (4624 TargetLogonId = 4697 SubjectLogonId) within 1 minute",
            first: Stage { filter: q(NETWORK_LOGON), key: Some(column(f::TARGET_LOGON_ID)) },
            then: Stage {
                filter: q(r#"lateral.channel = "Security" AND lateral.event_id = 4697"#),
                key: Some(column(f::PRINCIPAL_LOGON_ID)),
            },
            span: MINUTE,
            ordered: true,
            same_host: true,
        },
        Sequence {
            id: "logon-then-service-7045",
            description: "network logon, then a 7045 service installation on the same host within 1 minute (7045 carries no logon id)",
            first: Stage { filter: q(NETWORK_LOGON), key: None },
            then: Stage {
                filter: q(r#"lateral.channel = "System" AND lateral.event_id = 7045"#),
                key: None,
            },
            span: MINUTE,
            ordered: true,
            same_host: true,
        },
        Sequence {
            id: "session-processes",
            description: "network logon session and every process launched in it (4624 TargetLogonId = Sysmon 1 LogonId)",
            first: Stage { filter: q(NETWORK_LOGON), key: Some(column(f::TARGET_LOGON_ID)) },
            then: Stage {
                filter: q(r#"lateral.channel = "Microsoft-Windows-Sysmon/Operational" AND lateral.event_id = 1"#),
                key: Some(column(f::PRINCIPAL_LOGON_ID)),
            },
            span: 24 * HOUR,
            ordered: true,
            same_host: true,
        },
        Sequence {
            id: "session-processes-4688",
            description: "network logon session and every process launched in it (4624 TargetLogonId = 4688 TargetLogonId)",
            first: Stage { filter: q(NETWORK_LOGON), key: Some(column(f::TARGET_LOGON_ID)) },
            then: Stage {
                filter: q(r#"lateral.channel = "Security" AND lateral.event_id = 4688"#),
                key: Some(column(f::TARGET_LOGON_ID)),
            },
            span: 24 * HOUR,
            ordered: true,
            same_host: true,
        },
        Sequence {
            id: "session-activity",
            description: "network logon session and the share access, service and task changes made in it (4624 TargetLogonId = SubjectLogonId)",
            first: Stage { filter: q(NETWORK_LOGON), key: Some(column(f::TARGET_LOGON_ID)) },
            then: Stage {
                filter: q(r#"lateral.channel = "Security" AND (lateral.event_id = 5140 OR lateral.event_id = 5145 OR lateral.event_id = 4697 OR lateral.event_id = 4698 OR lateral.event_id = 4702 OR lateral.event_id = 4688)"#),
                key: Some(column(f::PRINCIPAL_LOGON_ID)),
            },
            span: 24 * HOUR,
            ordered: true,
            same_host: true,
        },
        Sequence {
            id: "rpc-then-wmiprvse-child",
            description: "inbound TCP 135 or dynamic RPC connection, then a WmiPrvSE.exe child on the same host within 20 seconds",
            first: Stage {
                filter: q(r#"metadata.event_type = "NETWORK_CONNECTION" AND network.direction = "INBOUND" AND (target.port = 135 OR target.port >= 49152) AND lateral.loopback = false"#),
                key: None,
            },
            then: Stage {
                filter: q(r#"metadata.event_type = "PROCESS_LAUNCH" AND principal.process.file.full_path = "WmiPrvSE.exe""#),
                key: None,
            },
            span: 20 * SECOND,
            ordered: true,
            same_host: true,
        },
        Sequence {
            id: "taskschd-then-rpc",
            description: "a process loads the Task Scheduler client (taskschd.dll), then the same process connects to RPC (135) on another host within 1 minute: a remote scheduled task",
            first: Stage {
                filter: q(r#"lateral.channel = "Microsoft-Windows-Sysmon/Operational" AND lateral.event_id = 7 AND target.file.full_path = "taskschd.dll""#),
                key: Some(column(f::PRINCIPAL_GUID)),
            },
            then: Stage {
                filter: q(r#"lateral.channel = "Microsoft-Windows-Sysmon/Operational" AND lateral.event_id = 3 AND network.direction = "OUTBOUND" AND target.port = 135 AND lateral.loopback = false"#),
                key: Some(column(f::PRINCIPAL_GUID)),
            },
            span: MINUTE,
            ordered: false,
            same_host: true,
        },
        Sequence {
            id: "svcctl-then-service",
            description: "svcctl opened over IPC$, then a service installed on the same host within 1 minute",
            first: Stage {
                filter: q(r#"lateral.channel = "Security" AND lateral.event_id = 5145 AND target.file.full_path = "svcctl""#),
                key: None,
            },
            then: Stage { filter: q(r#"metadata.event_type = "SERVICE_CREATION""#), key: None },
            span: MINUTE,
            ordered: true,
            same_host: true,
        },
        Sequence {
            id: "share-write-then-service",
            description: "executable written over SMB, then a service whose binary is that file (file name) within 10 minutes",
            first: Stage {
                filter: q(r#"(lateral.channel = "Security" AND lateral.event_id = 5145) OR (lateral.channel = "Microsoft-Windows-Sysmon/Operational" AND lateral.event_id = 11 AND principal.process.file.full_path = "System")"#),
                key: Some(file_name_key(f::TARGET_FILE_PATH)),
            },
            then: Stage {
                filter: q(r#"metadata.event_type = "SERVICE_CREATION""#),
                key: Some(file_name_key(f::TARGET_PATH)),
            },
            span: 10 * MINUTE,
            ordered: true,
            same_host: true,
        },
        Sequence {
            id: "share-write-then-launch",
            description: "executable written over SMB, then a process launched from that file (file name) within 10 minutes",
            first: Stage {
                filter: q(r#"(lateral.channel = "Security" AND lateral.event_id = 5145) OR (lateral.channel = "Microsoft-Windows-Sysmon/Operational" AND lateral.event_id = 11 AND principal.process.file.full_path = "System")"#),
                key: Some(file_name_key(f::TARGET_FILE_PATH)),
            },
            then: Stage {
                filter: q(r#"metadata.event_type = "PROCESS_LAUNCH""#),
                key: Some(file_name_key(f::TARGET_PATH)),
            },
            span: 10 * MINUTE,
            ordered: true,
            same_host: true,
        },
    ]
}

/// A recurring command: the same command line by the same user on the same host, first
/// launched at about the same time of day on several days (a scheduled job).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recurrence {
    /// The group's first launch (row id), for host, user, command and parent.
    pub first_row: u32,
    /// Days with a launch (days since the Unix epoch, UTC), ascending.
    pub days: Vec<i64>,
    /// Earliest and latest time of day of each day's first launch, µs after midnight UTC.
    pub tod_lo: i64,
    pub tod_hi: i64,
}

/// Recurrence as two DataFusion aggregates over the launches `launches` selects: the first
/// launch of each (host, user, command line, day), then per (host, user, command line) the
/// number of days and the spread of those first launches' times of day; kept when there are
/// at least `min_days` days within a spread of `max_spread` µs.
pub async fn run_recurrence(
    ctx: &SessionContext,
    table: Arc<MemTable>,
    launches: Expr,
    min_days: usize,
    max_spread: i64,
) -> Result<Vec<Recurrence>, HuntError> {
    use datafusion::arrow::array::{AsArray, ListArray};
    use datafusion::functions_aggregate::expr_fn::{array_agg, count, max, min};
    const DAY: i64 = crate::time::DAY;
    let cmd = column(f::TARGET_CMD);
    let keys = || vec![col("host"), col("domain"), col("user"), col("cmd")];
    let base = ctx
        .read_table(table)?
        .filter(
            launches
                .and(cmd.clone().is_not_null())
                .and(cmd.clone().not_eq(lit("")))
                .and(micros().gt_eq(lit(0i64))),
        )?
        .select(vec![
            host_key().alias("host"),
            lower(coalesce(vec![column(f::PRINCIPAL_DOMAIN), lit("")])).alias("domain"),
            lower(coalesce(vec![column(f::PRINCIPAL_USERID), lit("")])).alias("user"),
            cmd.alias("cmd"),
            (micros() / lit(DAY)).alias("day"),
            micros().alias("t"),
            col(format!("\"{ROW_ID}\"")).alias("row"),
        ])?;
    let mut day_keys = keys();
    day_keys.push(col("day"));
    let per_day = base
        .aggregate(
            day_keys,
            vec![
                min(col("t")).alias("first_t"),
                min(col("row")).alias("first_row"),
            ],
        )?
        .select({
            let mut s = keys();
            s.extend([
                col("day"),
                col("first_row"),
                (col("first_t") - col("day") * lit(DAY)).alias("tod"),
            ]);
            s
        })?;
    let groups = per_day
        .aggregate(
            keys(),
            vec![
                count(lit(1i64)).alias("n"),
                min(col("tod")).alias("lo"),
                max(col("tod")).alias("hi"),
                min(col("first_row")).alias("first_row"),
                array_agg(col("day")).alias("days"),
            ],
        )?
        .filter(
            col("n")
                .gt_eq(lit(min_days as i64))
                .and((col("hi") - col("lo")).lt_eq(lit(max_spread))),
        )?
        .select(vec![col("first_row"), col("lo"), col("hi"), col("days")])?;
    let mut out = Vec::new();
    for b in groups.collect().await? {
        let (Some(row), Some(lo), Some(hi), Some(days)) = (
            b.column(0).as_any().downcast_ref::<Int64Array>(),
            b.column(1).as_any().downcast_ref::<Int64Array>(),
            b.column(2).as_any().downcast_ref::<Int64Array>(),
            b.column(3).as_any().downcast_ref::<ListArray>(),
        ) else {
            continue;
        };
        for i in 0..b.num_rows() {
            let list = days.value(i);
            let mut d: Vec<i64> = list
                .as_primitive_opt::<datafusion::arrow::datatypes::Int64Type>()
                .map(|a| a.iter().flatten().collect())
                .unwrap_or_default();
            d.sort_unstable();
            d.dedup();
            out.push(Recurrence {
                first_row: row.value(i) as u32,
                days: d,
                tod_lo: lo.value(i),
                tod_hi: hi.value(i),
            });
        }
    }
    out.sort_by_key(|r| r.first_row);
    Ok(out)
}

/// A source and target seen together in a network logon before the hunt window.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct PriorLogon {
    /// Workstation name the logon reported, when any.
    pub source_name: Option<String>,
    /// Source address, when any.
    pub source_ip: Option<String>,
    /// The host that logged the logon.
    pub target: String,
    /// First and last such logon, µs.
    pub first: i64,
    pub last: i64,
}

/// The filter of the network logons (Security 4624 with the NETWORK mechanism).
pub fn network_logon() -> Expr {
    q(NETWORK_LOGON)
}

/// Every distinct (workstation, address, host, day) of the network logons before `before` in
/// `events` (the candidate table, or the whole evidence when the hunt keeps only the window
/// and its context), with the first and last time: a DataFusion aggregate, so first-seen pairs
/// need no pass over the events outside the engine.
pub async fn run_prior_logons(
    events: datafusion::dataframe::DataFrame,
    before: i64,
) -> Result<Vec<PriorLogon>, HuntError> {
    use datafusion::arrow::array::StringArray;
    use datafusion::functions_aggregate::expr_fn::{max, min};
    let host = coalesce(vec![
        column(f::OBSERVER_HOSTNAME),
        column(f::PRINCIPAL_HOSTNAME),
        lit(""),
    ]);
    let df = events
        .filter(q(NETWORK_LOGON).and(micros().lt(lit(before))))?
        .select(vec![
            column(f::SRC_HOSTNAME).alias("src"),
            column(f::PRINCIPAL_IP).alias("ip"),
            host.alias("host"),
            micros().alias("t"),
            // Per day: an address can name different hosts in periods a day or more apart.
            (micros() / lit(crate::time::DAY)).alias("day"),
        ])?
        .aggregate(
            vec![col("src"), col("ip"), col("host"), col("day")],
            vec![min(col("t")).alias("first"), max(col("t")).alias("last")],
        )?;
    let mut out = Vec::new();
    for b in df.collect().await? {
        let (Some(src), Some(ip), Some(host), Some(first), Some(last)) = (
            b.column(0).as_any().downcast_ref::<StringArray>(),
            b.column(1).as_any().downcast_ref::<StringArray>(),
            b.column(2).as_any().downcast_ref::<StringArray>(),
            b.column(3).as_any().downcast_ref::<Int64Array>(),
            b.column(4).as_any().downcast_ref::<Int64Array>(),
        ) else {
            continue;
        };
        let opt = |a: &StringArray, i: usize| {
            (a.is_valid(i) && !a.value(i).is_empty()).then(|| a.value(i).to_string())
        };
        for i in 0..b.num_rows() {
            out.push(PriorLogon {
                source_name: opt(src, i),
                source_ip: opt(ip, i),
                target: host.value(i).to_string(),
                first: first.value(i),
                last: last.value(i),
            });
        }
    }
    out.sort();
    Ok(out)
}

/// Network logons gathered outside the engine, grouped as [`run_prior_logons`] groups them
/// (workstation, address, host, day), so the two can be merged into what one aggregate over
/// all of the rows gives.
#[derive(Debug, Default)]
pub struct PriorFold(BTreeMap<PriorGroup, (i64, i64)>);

/// Workstation name, address, host that logged the logon, day (µs / [`crate::time::DAY`]).
type PriorGroup = (Option<String>, Option<String>, String, i64);

impl PriorFold {
    pub fn add(&mut self, src: Option<&str>, ip: Option<&str>, host: &str, t: i64) {
        let own = |s: Option<&str>| s.filter(|s| !s.is_empty()).map(str::to_string);
        self.put(
            (own(src), own(ip), host.to_string(), t / crate::time::DAY),
            t,
            t,
        );
    }

    fn put(&mut self, group: PriorGroup, first: i64, last: i64) {
        let e = self.0.entry(group).or_insert((first, last));
        e.0 = e.0.min(first);
        e.1 = e.1.max(last);
    }

    /// Merge with an aggregate's rows (of other events): one entry per group, sorted.
    pub fn merge(mut self, rows: Vec<PriorLogon>) -> Vec<PriorLogon> {
        for r in rows {
            let day = r.first / crate::time::DAY;
            self.put((r.source_name, r.source_ip, r.target, day), r.first, r.last);
        }
        let mut out: Vec<PriorLogon> = self
            .0
            .into_iter()
            .map(
                |((source_name, source_ip, target, _), (first, last))| PriorLogon {
                    source_name,
                    source_ip,
                    target,
                    first,
                    last,
                },
            )
            .collect();
        out.sort();
        out
    }
}
