//! Formatting results for people (tables) and programs (JSON, JSON lines, CSV). JSON output
//! is always one document on stdout; diagnostics go to stderr.

use std::io::Write;

use anyhow::Result;
use datafusion::arrow::record_batch::RecordBatch;
use lateral_engine::rows::{cell_text, to_json_rows, Style};
use lateral_engine::{Engine, Inventory, ReportedIssue, SearchResult};
use lateral_model::{f, Field, FIELDS};
use serde_json::{json, Value};

use crate::Format;

/// Fields shown in a search table by default.
pub fn default_table_fields() -> Vec<Field> {
    vec![
        f::EVENT_TIMESTAMP,
        f::OBSERVER_HOSTNAME,
        f::PRODUCT_EVENT_TYPE,
        f::EVENT_TYPE,
        f::PRINCIPAL_IP,
        f::PRINCIPAL_USERID,
        f::PRINCIPAL_PATH,
        f::TARGET_USERID,
        f::TARGET_APPLICATION,
        f::TARGET_RESOURCE,
        f::TARGET_FILE_PATH,
        f::TARGET_CMD,
        f::TARGET_IP,
        f::TARGET_PORT,
        f::SOURCE_FILE,
        f::RECORD_NUMBER,
    ]
}

fn issues_json(issues: &[ReportedIssue]) -> Value {
    json!({
        "count": issues.len(),
        "items": issues.iter().map(|i| json!({
            "file": i.file, "position": i.position, "message": i.message, "whole_file": i.whole_file
        })).collect::<Vec<_>>(),
    })
}

/// Problems on stderr, at most 20 listed.
pub fn print_issues(issues: &[ReportedIssue]) {
    if issues.is_empty() {
        return;
    }
    eprintln!(
        "{} problem(s) while reading evidence (skipped, the rest was read):",
        issues.len()
    );
    // Group identical messages so a folder of unsupported files is one line, not fifty.
    let mut groups: Vec<(&str, Vec<&ReportedIssue>)> = Vec::new();
    for i in issues {
        match groups.iter_mut().find(|(m, _)| *m == i.message) {
            Some((_, v)) => v.push(i),
            None => groups.push((i.message.as_str(), vec![i])),
        }
    }
    for (shown, (message, items)) in groups.iter().enumerate() {
        if shown == 20 {
            eprintln!("  ... and more (use --format json to see all)");
            break;
        }
        let first = items[0];
        if items.len() == 1 {
            eprintln!("  {}: {}: {message}", first.file, first.position);
        } else {
            eprintln!(
                "  {} files, e.g. {}: {}: {message}",
                items.len(),
                first.file,
                first.position
            );
        }
    }
}

fn read_summary(engine: &Engine) -> Value {
    let s = engine.stats();
    let load = |a: &std::sync::atomic::AtomicU64| a.load(std::sync::atomic::Ordering::Relaxed);
    let mut doc = json!({
        "sources": engine.source_count(),
        "records_read": load(&s.records),
        "records_skipped_before_normalising": load(&s.prefiltered),
        "problems": engine.issues().len(),
    });
    if let Some(store) = engine.store() {
        doc["store"] = json!({
            "path": store.location(),
            "generation": store.manifest().generation,
            "files": store.manifest().files.len(),
            "events": store.manifest().rows(),
            "sources": store.manifest().sources.len(),
        });
    }
    doc
}

pub fn print_search(
    text: &str,
    udm: &str,
    engine: &Engine,
    result: &SearchResult,
    format: Format,
) -> Result<()> {
    let issues = engine.issues();
    let window = json!({
        "start": result.window.start.map(lateral_engine::format_micros),
        "end": result.window.end.map(lateral_engine::format_micros),
        "anchor": result.window.anchor.describe(),
    });
    let mut out = std::io::stdout().lock();
    match format {
        Format::Json => {
            let doc = json!({
                "query": text,
                "udm_query": udm,
                "window": window,
                "total_events": result.total,
                "returned_events": result.returned(),
                "more_data_available": result.returned() < result.total,
                "events": to_json_rows(&result.batches, Style::Nested),
                "read": read_summary(engine),
                "issues": issues_json(&issues),
            });
            serde_json::to_writer_pretty(&mut out, &doc)?;
            writeln!(out)?;
        }
        Format::Jsonl => {
            for row in to_json_rows(&result.batches, Style::Nested) {
                serde_json::to_writer(&mut out, &row)?;
                writeln!(out)?;
            }
        }
        Format::Csv => write_csv(&mut out, &result.batches)?,
        Format::Table => write_table(&mut out, &result.batches)?,
    }
    drop(out);
    if format != Format::Json {
        eprintln!("query: {udm}");
        eprintln!("window: {}", result.window.describe());
        eprintln!(
            "{} event(s) matched in the window, {} shown; {} source(s) read",
            result.total,
            result.returned(),
            engine.source_count()
        );
        print_issues(&issues);
    }
    Ok(())
}

pub fn print_batches(batches: &[RecordBatch], format: Format, engine: &Engine) -> Result<()> {
    let mut out = std::io::stdout().lock();
    let issues = engine.issues();
    match format {
        Format::Json => {
            let doc = json!({
                "rows": to_json_rows(batches, Style::Flat),
                "row_count": batches.iter().map(RecordBatch::num_rows).sum::<usize>(),
                "read": read_summary(engine),
                "issues": issues_json(&issues),
            });
            serde_json::to_writer_pretty(&mut out, &doc)?;
            writeln!(out)?;
        }
        Format::Jsonl => {
            for row in to_json_rows(batches, Style::Flat) {
                serde_json::to_writer(&mut out, &row)?;
                writeln!(out)?;
            }
        }
        Format::Csv => write_csv(&mut out, batches)?,
        Format::Table => write_table(&mut out, batches)?,
    }
    drop(out);
    if format != Format::Json {
        print_issues(&issues);
    }
    Ok(())
}

fn csv_escape(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn write_csv(out: &mut impl Write, batches: &[RecordBatch]) -> Result<()> {
    let Some(first) = batches.first() else {
        return Ok(());
    };
    let schema = first.schema();
    let header: Vec<String> = schema
        .fields()
        .iter()
        .map(|f| csv_escape(f.name()))
        .collect();
    writeln!(out, "{}", header.join(","))?;
    for b in batches {
        for row in 0..b.num_rows() {
            let cells: Vec<String> = (0..b.num_columns())
                .map(|c| csv_escape(&cell_text(b.column(c).as_ref(), row)))
                .collect();
            writeln!(out, "{}", cells.join(","))?;
        }
    }
    Ok(())
}

const MAX_CELL: usize = 70;

fn clip(s: &str) -> String {
    let one_line: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if one_line.chars().count() > MAX_CELL {
        let cut: String = one_line.chars().take(MAX_CELL - 1).collect();
        format!("{cut}…")
    } else {
        one_line
    }
}

/// A plain-text table of the columns that hold at least one value.
fn write_table(out: &mut impl Write, batches: &[RecordBatch]) -> Result<()> {
    let Some(first) = batches.first() else {
        return Ok(());
    };
    let schema = first.schema();
    let mut rows: Vec<Vec<String>> = Vec::new();
    for b in batches {
        for row in 0..b.num_rows() {
            rows.push(
                (0..b.num_columns())
                    .map(|c| clip(&cell_text(b.column(c).as_ref(), row)))
                    .collect(),
            );
        }
    }
    let keep: Vec<usize> = (0..schema.fields().len())
        .filter(|&c| rows.iter().any(|r| !r[c].is_empty()))
        .collect();
    let names: Vec<String> = keep
        .iter()
        .map(|&c| schema.field(c).name().clone())
        .collect();
    let widths: Vec<usize> = keep
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            rows.iter()
                .map(|r| r[c].chars().count())
                .chain(std::iter::once(names[i].chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: Vec<&str>| -> String {
        cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    writeln!(out, "{}", line(names.iter().map(String::as_str).collect()))?;
    writeln!(
        out,
        "{}",
        line(
            widths
                .iter()
                .map(|w| "-".repeat(*w))
                .collect::<Vec<_>>()
                .iter()
                .map(String::as_str)
                .collect()
        )
    )?;
    for r in &rows {
        writeln!(
            out,
            "{}",
            line(keep.iter().map(|&c| r[c].as_str()).collect())
        )?;
    }
    Ok(())
}

pub fn print_inventory(inv: &Inventory, engine: &Engine, json_out: bool) -> Result<()> {
    let issues = engine.issues();
    let mut out = std::io::stdout().lock();
    if json_out {
        let doc = json!({
            "inventory": inv,
            "read": read_summary(engine),
            "issues": issues_json(&issues),
        });
        serde_json::to_writer_pretty(&mut out, &doc)?;
        writeln!(out)?;
        return Ok(());
    }
    writeln!(
        out,
        "{} events from {} source(s), {} .. {}",
        inv.total.events,
        engine.source_count(),
        inv.total.first.as_deref().unwrap_or("-"),
        inv.total.last.as_deref().unwrap_or("-")
    )?;
    writeln!(out, "\nBy host (the computer that logged the events):")?;
    for (h, s) in &inv.by_host {
        writeln!(
            out,
            "  {h:<40} {:>9}  {} .. {}",
            s.events,
            s.first.as_deref().unwrap_or("-"),
            s.last.as_deref().unwrap_or("-")
        )?;
    }
    writeln!(out, "\nBy channel:")?;
    for (c, n) in &inv.by_channel {
        writeln!(out, "  {c:<70} {n:>9}")?;
    }
    writeln!(out, "\nBy provider:")?;
    for (c, n) in &inv.by_provider {
        writeln!(out, "  {c:<70} {n:>9}")?;
    }
    writeln!(out, "\nBy event id (channel/id):")?;
    for (c, n) in &inv.by_event_id {
        writeln!(out, "  {c:<70} {n:>9}")?;
    }
    writeln!(out, "\nBy source file:")?;
    for (file, s) in &inv.by_file {
        writeln!(
            out,
            "  {:>9}  {} .. {}  {file}",
            s.events,
            s.first.as_deref().unwrap_or("-"),
            s.last.as_deref().unwrap_or("-")
        )?;
    }
    writeln!(out, "\nCoverage for a lateral-movement hunt:")?;
    for c in &inv.coverage {
        let mark = if c.gap.is_none() { "ok " } else { "GAP" };
        writeln!(
            out,
            "  [{mark}] {} ({} events): {}",
            c.source, c.events, c.needed_for
        )?;
        if let Some(g) = &c.gap {
            writeln!(out, "        {g}")?;
        }
    }
    drop(out);
    print_issues(&issues);
    Ok(())
}

/// The field catalogue as a table, Markdown (docs/schema.md) or JSON.
pub fn print_fields(markdown: bool, json_out: bool) -> Result<()> {
    let mut out = std::io::stdout().lock();
    if json_out {
        let v: Vec<Value> = FIELDS
            .iter()
            .map(|f| json!({"name": f.name, "type": format!("{:?}", f.kind), "semantic": format!("{:?}", f.semantic), "doc": f.doc}))
            .collect();
        serde_json::to_writer_pretty(&mut out, &v)?;
        writeln!(out)?;
        return Ok(());
    }
    if markdown {
        write!(out, "{}", lateral_model::fields::schema_markdown())?;
        return Ok(());
    }
    for f in FIELDS {
        writeln!(
            out,
            "{:<46} {:<10} {}",
            f.name,
            format!("{:?}", f.kind),
            f.doc
        )?;
    }
    Ok(())
}
