//! What data do we have: events by source file, channel, provider, event id and host, the time
//! range per host, and the coverage gaps that matter for a lateral-movement hunt. Computed in
//! one streaming aggregate over the evidence (memory does not grow with the number of events).

use std::collections::BTreeMap;

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::datatypes::{Int64Type, TimestampMicrosecondType};
use datafusion::functions_aggregate::expr_fn::{count, max, min};
use datafusion::logical_expr::Expr;
use datafusion::prelude::lit;
use lateral_model::f;
use serde::Serialize;

use crate::session::{column, Engine, EngineError, TABLE};
use crate::window::format_micros;

/// Count and time range of a group of events.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Span {
    pub events: u64,
    pub first: Option<String>,
    pub last: Option<String>,
    #[serde(skip)]
    lo: Option<i64>,
    #[serde(skip)]
    hi: Option<i64>,
}

impl Span {
    fn add(&mut self, n: u64, lo: Option<i64>, hi: Option<i64>) {
        self.events += n;
        self.lo = match (self.lo, lo) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.hi = match (self.hi, hi) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        self.first = self.lo.map(format_micros);
        self.last = self.hi.map(format_micros);
    }
}

/// A data source a lateral-movement hunt relies on, and whether the evidence has it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Coverage {
    pub source: &'static str,
    pub events: u64,
    pub present: bool,
    /// What is lost without it (stated whether present or not).
    pub needed_for: &'static str,
    /// Set when the source is absent or incomplete.
    pub gap: Option<String>,
}

/// The inventory of an evidence set.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Inventory {
    pub total: Span,
    pub by_file: BTreeMap<String, Span>,
    pub by_channel: BTreeMap<String, u64>,
    pub by_provider: BTreeMap<String, u64>,
    /// Key: `channel/event id`.
    pub by_event_id: BTreeMap<String, u64>,
    pub by_host: BTreeMap<String, Span>,
    pub coverage: Vec<Coverage>,
}

const UNKNOWN: &str = "(none)";

impl Inventory {
    /// Events of `channel` (canonical) with one of `ids`.
    fn count(&self, channel_contains: &str, ids: &[u32]) -> u64 {
        self.by_event_id
            .iter()
            .filter(|(k, _)| {
                let (ch, id) = k.rsplit_once('/').unwrap_or((k.as_str(), ""));
                ch.to_ascii_lowercase()
                    .contains(&channel_contains.to_ascii_lowercase())
                    && id.parse::<u32>().is_ok_and(|i| ids.contains(&i))
            })
            .map(|(_, n)| *n)
            .sum()
    }
}

/// Build the inventory with one aggregate query.
pub async fn inventory(engine: &Engine) -> Result<Inventory, EngineError> {
    let keys = vec![
        column(f::SOURCE_FILE),
        column(f::CHANNEL),
        column(f::PRODUCT_NAME),
        column(f::EVENT_ID),
        column(f::OBSERVER_HOSTNAME),
    ];
    let aggs: Vec<Expr> = vec![
        count(lit(1)).alias("n"),
        min(column(f::EVENT_TIMESTAMP)).alias("lo"),
        max(column(f::EVENT_TIMESTAMP)).alias("hi"),
        count(column(f::TARGET_CMD)).alias("with_cmd"),
    ];
    let batches = engine
        .context()
        .table(TABLE)
        .await?
        .aggregate(keys, aggs)?
        .collect()
        .await?;
    let mut inv = Inventory::default();
    let mut cmd_4688 = 0u64;
    for b in &batches {
        absorb(&mut inv, b, &mut cmd_4688);
    }
    inv.coverage = coverage(&inv, cmd_4688);
    Ok(inv)
}

fn text(b: &RecordBatch, col: usize, row: usize) -> String {
    let a = b.column(col);
    if a.is_null(row) {
        return UNKNOWN.to_string();
    }
    crate::rows::cell_text(a.as_ref(), row)
}

fn absorb(inv: &mut Inventory, b: &RecordBatch, cmd_4688: &mut u64) {
    let n = b.column(5).as_primitive::<Int64Type>();
    let lo = b.column(6).as_primitive::<TimestampMicrosecondType>();
    let hi = b.column(7).as_primitive::<TimestampMicrosecondType>();
    let with_cmd = b.column(8).as_primitive::<Int64Type>();
    for row in 0..b.num_rows() {
        let count = n.value(row).max(0) as u64;
        let lo = (!lo.is_null(row)).then(|| lo.value(row));
        let hi = (!hi.is_null(row)).then(|| hi.value(row));
        let file = text(b, 0, row);
        let channel = text(b, 1, row);
        let provider = text(b, 2, row);
        let event_id = text(b, 3, row);
        let host = text(b, 4, row);
        inv.total.add(count, lo, hi);
        inv.by_file.entry(file).or_default().add(count, lo, hi);
        *inv.by_channel.entry(channel.clone()).or_default() += count;
        *inv.by_provider.entry(provider).or_default() += count;
        *inv.by_event_id
            .entry(format!("{channel}/{event_id}"))
            .or_default() += count;
        inv.by_host
            .entry(host.to_ascii_lowercase())
            .or_default()
            .add(count, lo, hi);
        if channel == "Security" && event_id == "4688" {
            *cmd_4688 += with_cmd.value(row).max(0) as u64;
        }
    }
}

fn coverage(inv: &Inventory, cmd_4688: u64) -> Vec<Coverage> {
    let mut out = Vec::new();
    let mut add = |source: &'static str, events: u64, needed_for: &'static str| {
        out.push(Coverage {
            source,
            events,
            present: events > 0,
            needed_for,
            gap: (events == 0).then(|| format!("no {source} in the evidence")),
        });
    };
    add(
        "Sysmon 1 process creation",
        inv.count("sysmon", &[1]),
        "parent/child chains: services.exe, WmiPrvSE, wsmprovhost, mmc children",
    );
    add(
        "Sysmon 3 network connections",
        inv.count("sysmon", &[3]),
        "tying processes to SMB (445) and RPC (135) connections",
    );
    add(
        "service installation (System 7045 / Security 4697)",
        inv.count("system", &[7045]) + inv.count("security", &[4697]),
        "PsExec and remote service creation",
    );
    add(
        "share auditing (Security 5140/5145)",
        inv.count("security", &[5140, 5145]),
        "ADMIN$/C$ drops and IPC$ named pipes (svcctl, atsvc, PsExec pipes)",
    );
    add(
        "logon events (Security 4624)",
        inv.count("security", &[4624]),
        "source IP, account and logon id of network logons",
    );
    add(
        "scheduled task auditing (Security 4698/4702)",
        inv.count("security", &[4698, 4702]),
        "remote scheduled tasks (atexec, schtasks /s)",
    );
    add(
        "PowerShell script block logging (4104)",
        inv.count("powershell", &[4104]),
        "Invoke-WmiMethod / Invoke-CimMethod and encoded commands",
    );
    let n4688 = inv.count("security", &[4688]);
    out.push(Coverage {
        source: "process creation auditing with command lines (Security 4688)",
        events: n4688,
        present: n4688 > 0 && cmd_4688 > 0,
        needed_for: "command lines where Sysmon is absent",
        gap: if n4688 == 0 {
            Some("no Security 4688 in the evidence".into())
        } else if cmd_4688 == 0 {
            Some(format!(
                "{n4688} Security 4688 events but none with a command line (command-line auditing off)"
            ))
        } else {
            None
        },
    });
    out
}
