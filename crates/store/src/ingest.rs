//! `lateral ingest`: evidence into the store, idempotently.
//!
//! Sources are found and read by `lateral-sources` (every format it knows, captures
//! included). Each source is identified by the BLAKE3 hash of its (decompressed) content: a
//! source the manifest already holds, or one met twice in the same run, is not read again.
//! Sources are taken in rounds of about [`IngestOptions::round_bytes`] of input; reader threads
//! turn a round's sources into rows grouped by day, the writer keeps them per day (writing the
//! largest days aside when [`IngestOptions::buffer_rows`] are held), and at the end of the
//! round writes the rest and publishes the files together with the round's sources in one
//! manifest replacement. A crash loses at most the round in progress; nothing of it is
//! visible, and the next run reads those sources again.
//!
//! It must not interpret events: rows are stored as the readers and the mapping produced them.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;

use crossbeam_channel::Sender;
use datafusion::arrow::array::{AsArray, BooleanArray, RecordBatch};
use datafusion::arrow::compute::{concat_batches, filter_record_batch};
use datafusion::arrow::datatypes::TimestampMicrosecondType;
use lateral_model::{f, BatchBuilder, Provenance, UdmEvent};
use lateral_sources::coverage::{event_key, record_key};
use lateral_sources::{
    discover, read_source, to_event, CoverageKey, Flow, ReadIssue, ReadOptions, RecordSink, Source,
    WinRecord,
};

use crate::layout::{hour_of, hour_partition, Day, DENSE_DAY_ROWS};
use crate::manifest::{max_opt, min_opt, CoverageEntry, SourceEntry};
use crate::writer::{Cleanup, Writer};
use crate::{Result, StoreError};

/// Rows a reader holds (over all days) before handing them to the writer.
const BATCH_ROWS: usize = 8192;

/// How an ingest runs.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// Reader threads (default: one per core).
    pub threads: usize,
    /// Input bytes per round (one manifest publication per round).
    pub round_bytes: u64,
    /// Rows held in memory before the largest days are written aside.
    pub buffer_rows: usize,
    /// A day written with at least this many rows is split into hour partitions
    /// ([`DENSE_DAY_ROWS`] by default).
    pub dense_day_rows: usize,
}

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions {
            threads: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
            round_bytes: 512 * 1024 * 1024,
            buffer_rows: 250_000,
            dense_day_rows: DENSE_DAY_ROWS,
        }
    }
}

/// Live counters, for progress display.
#[derive(Debug, Default)]
pub struct IngestCounters {
    pub bytes_total: AtomicU64,
    pub bytes_done: AtomicU64,
    pub sources_done: AtomicU64,
    pub events: AtomicU64,
    /// Manifest publications so far.
    pub commits: AtomicU64,
}

/// What an ingest did.
#[derive(Debug, Clone, Default)]
pub struct IngestSummary {
    /// Sources found under the paths.
    pub sources_found: usize,
    /// Sources read and added.
    pub sources_added: usize,
    /// Sources whose content the store already held (or met twice), not read again.
    pub already_held: Vec<String>,
    /// Sources nothing could be read from (not recorded: a later run tries them again).
    pub unreadable: Vec<String>,
    /// Events added.
    pub events: u64,
    /// Parquet files published.
    pub files: usize,
    /// Manifest generation after the run.
    pub generation: u64,
    /// Problems met (discovery and reading), sorted by file and position.
    pub issues: Vec<ReadIssue>,
    /// What was cleaned up after a crashed writer.
    pub cleanup: Cleanup,
}

/// One (hour, coverage key) count of rows a reader sent.
#[derive(Debug, Clone, Copy, Default)]
struct Count {
    events: u64,
    first: Option<i64>,
    last: Option<i64>,
}

impl Count {
    fn add(&mut self, t: Option<i64>) {
        self.events += 1;
        self.first = min_opt(self.first, t);
        self.last = max_opt(self.last, t);
    }

    fn merge(&mut self, o: &Count) {
        self.events += o.events;
        self.first = min_opt(self.first, o.first);
        self.last = max_opt(self.last, o.last);
    }
}

type HourCounts = HashMap<(u8, CoverageKey), Count>;

enum Msg {
    Rows {
        day: Day,
        batch: RecordBatch,
        counts: HourCounts,
    },
    Done(Outcome),
}

enum Outcome {
    Added {
        entry: SourceEntry,
        issues: Vec<ReadIssue>,
    },
    Held(String),
    Unreadable {
        display: String,
        issues: Vec<ReadIssue>,
    },
}

/// Ingest the evidence under `paths` into the store at `root` (created when missing).
pub fn ingest(
    root: &Path,
    paths: &[PathBuf],
    opts: &IngestOptions,
    counters: &IngestCounters,
    on_wait: &mut dyn FnMut(&str),
) -> Result<IngestSummary> {
    let (sources, discovery_issues) = discover(paths);
    let mut writer = Writer::open(root, on_wait)?;
    let mut summary = IngestSummary {
        sources_found: sources.len(),
        issues: discovery_issues,
        cleanup: writer.cleaned(),
        ..IngestSummary::default()
    };
    counters
        .bytes_total
        .store(sources.iter().map(|s| s.size).sum(), Ordering::Relaxed);
    let run_seen: Mutex<HashSet<String>> = Mutex::new(HashSet::new());
    for round in rounds(&sources, opts.round_bytes) {
        let known: HashSet<String> = writer
            .manifest()
            .sources
            .iter()
            .map(|s| s.hash.clone())
            .collect();
        let mut entries = Vec::new();
        let files_before = writer.manifest().files.len();
        read_round(
            round,
            opts,
            counters,
            &known,
            &run_seen,
            &mut writer,
            &mut |outcome| match outcome {
                Outcome::Added { entry, issues } => {
                    summary.sources_added += 1;
                    summary.events += entry.events;
                    summary.issues.extend(issues);
                    entries.push(entry);
                }
                Outcome::Held(d) => summary.already_held.push(d),
                Outcome::Unreadable { display, issues } => {
                    summary.unreadable.push(display);
                    summary.issues.extend(issues);
                }
            },
        )?;
        writer.commit(entries, &[])?;
        counters.commits.fetch_add(1, Ordering::Relaxed);
        summary.files += writer.manifest().files.len() - files_before;
    }
    summary.generation = writer.manifest().generation;
    summary
        .issues
        .sort_by(|a, b| (&a.file, a.position.to_string()).cmp(&(&b.file, b.position.to_string())));
    summary.already_held.sort();
    summary.unreadable.sort();
    Ok(summary)
}

/// Consecutive groups of sources of about `bytes` input each (at least one source each).
fn rounds(sources: &[Source], bytes: u64) -> Vec<&[Source]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut acc = 0u64;
    for (i, s) in sources.iter().enumerate() {
        acc += s.size;
        if acc >= bytes {
            out.push(&sources[start..=i]);
            start = i + 1;
            acc = 0;
        }
    }
    if start < sources.len() {
        out.push(&sources[start..]);
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn read_round(
    round: &[Source],
    opts: &IngestOptions,
    counters: &IngestCounters,
    known: &HashSet<String>,
    run_seen: &Mutex<HashSet<String>>,
    writer: &mut Writer,
    on_outcome: &mut dyn FnMut(Outcome),
) -> Result<()> {
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let mut buffer = Buffer::default();
    let mut failure: Option<StoreError> = None;
    std::thread::scope(|s| {
        let (tx, rx) = crossbeam_channel::bounded::<Msg>(8);
        for _ in 0..opts.threads.clamp(1, round.len().max(1)) {
            let tx = tx.clone();
            let (next, stop) = (&next, &stop);
            s.spawn(move || loop {
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(src) = round.get(i) else { return };
                let outcome = read_one(src, known, run_seen, &tx, counters, stop);
                counters.sources_done.fetch_add(1, Ordering::Relaxed);
                counters.bytes_done.fetch_add(src.size, Ordering::Relaxed);
                if tx.send(Msg::Done(outcome)).is_err() {
                    return;
                }
            });
        }
        drop(tx);
        for msg in rx.iter() {
            if failure.is_some() {
                continue; // drain so readers finish
            }
            match msg {
                Msg::Rows { day, batch, counts } => {
                    buffer.add(day, batch, counts);
                    if buffer.rows >= opts.buffer_rows {
                        if let Err(e) = buffer.spill(writer, opts.buffer_rows / 2, opts) {
                            stop.store(true, Ordering::Relaxed);
                            failure = Some(e);
                        }
                    }
                }
                Msg::Done(o) => on_outcome(o),
            }
        }
    });
    if let Some(e) = failure {
        return Err(e);
    }
    buffer.spill(writer, 0, opts)
}

fn hash_source(src: &Source) -> std::io::Result<String> {
    let mut r = src.open()?;
    let mut h = blake3::Hasher::new();
    std::io::copy(&mut r, &mut h)?;
    Ok(h.finalize().to_hex().to_string())
}

fn read_one(
    src: &Source,
    known: &HashSet<String>,
    run_seen: &Mutex<HashSet<String>>,
    tx: &Sender<Msg>,
    counters: &IngestCounters,
    stop: &AtomicBool,
) -> Outcome {
    let hash = match hash_source(src) {
        Ok(h) => h,
        Err(e) => {
            return Outcome::Unreadable {
                display: src.display.clone(),
                issues: vec![ReadIssue::whole_file(
                    src.display.clone(),
                    format!("cannot read: {e}"),
                )],
            }
        }
    };
    let fresh = !known.contains(&hash)
        && run_seen
            .lock()
            .map(|mut s| s.insert(hash.clone()))
            .unwrap_or(false);
    if !fresh {
        return Outcome::Held(src.display.clone());
    }
    let mut sink = DaySink {
        days: BTreeMap::new(),
        held: 0,
        tx,
        issues: Vec::new(),
        events: 0,
        counters,
        stop,
    };
    let opts = ReadOptions {
        want_raw: true,
        evtx_threads: 1,
        admit: None,
    };
    read_source(src, &opts, &mut sink);
    let _ = sink.flush_all();
    let fatal = sink.issues.iter().any(|i| i.fatal_for_file);
    if sink.events == 0 && fatal {
        if let Ok(mut s) = run_seen.lock() {
            s.remove(&hash);
        }
        return Outcome::Unreadable {
            display: src.display.clone(),
            issues: sink.issues,
        };
    }
    Outcome::Added {
        entry: SourceEntry {
            hash,
            display: src.display.clone(),
            format: src.format.name().to_string(),
            bytes: src.size,
            events: sink.events,
            issues: sink.issues.len() as u64,
            generation: 0,
            ingested_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        },
        issues: sink.issues,
    }
}

struct DayRows {
    builder: BatchBuilder,
    counts: HourCounts,
}

/// Receives one source's records, maps them, and sends rows to the writer by day.
struct DaySink<'a> {
    days: BTreeMap<Day, DayRows>,
    /// Rows in `days`: a source spanning many days must not hold a batch per day.
    held: usize,
    tx: &'a Sender<Msg>,
    issues: Vec<ReadIssue>,
    events: u64,
    counters: &'a IngestCounters,
    stop: &'a AtomicBool,
}

impl DaySink<'_> {
    fn push(&mut self, ev: &UdmEvent, key: CoverageKey, record_time: Option<i64>) -> Flow {
        let t = ev.timestamp_micros();
        let day = Day::of(t);
        let rows = self.days.entry(day).or_insert_with(|| DayRows {
            builder: BatchBuilder::new(None),
            counts: HashMap::new(),
        });
        rows.builder.push(ev);
        rows.counts
            .entry((hour_of(t), key))
            .or_default()
            .add(record_time);
        self.events += 1;
        self.held += 1;
        self.counters.events.fetch_add(1, Ordering::Relaxed);
        if self.held >= BATCH_ROWS {
            return self.flush_all();
        }
        if self.stop.load(Ordering::Relaxed) {
            return Flow::Stop;
        }
        Flow::Continue
    }

    fn send(&mut self, day: Day) -> Flow {
        let Some(rows) = self.days.get_mut(&day) else {
            return Flow::Continue;
        };
        if rows.builder.is_empty() {
            return Flow::Continue;
        }
        let batch = match rows.builder.finish() {
            Ok(b) => b,
            Err(e) => {
                self.issues.push(ReadIssue::whole_file(
                    "<store>",
                    format!("cannot build rows: {e}"),
                ));
                return Flow::Stop;
            }
        };
        let counts = std::mem::take(&mut rows.counts);
        match self.tx.send(Msg::Rows { day, batch, counts }) {
            Ok(()) => Flow::Continue,
            Err(_) => Flow::Stop,
        }
    }

    fn flush_all(&mut self) -> Flow {
        self.held = 0;
        let days: Vec<Day> = self.days.keys().copied().collect();
        for d in days {
            if self.send(d) == Flow::Stop {
                return Flow::Stop;
            }
        }
        Flow::Continue
    }
}

impl RecordSink for DaySink<'_> {
    fn record(&mut self, rec: WinRecord, prov: Provenance, raw: Option<String>) -> Flow {
        let key = record_key(&rec);
        let t = rec.time_micros;
        let ev = to_event(&rec, &prov, raw);
        self.push(&ev, key, t)
    }

    fn udm(&mut self, event: UdmEvent) -> Flow {
        let key = event_key(&event);
        let t = event.timestamp_micros();
        self.push(&event, key, t)
    }

    fn issue(&mut self, issue: ReadIssue) {
        self.issues.push(issue);
    }
}

#[derive(Default)]
struct DayBuffer {
    batches: Vec<RecordBatch>,
    rows: usize,
    counts: HourCounts,
}

/// Rows held by the writer, per day.
#[derive(Default)]
struct Buffer {
    days: BTreeMap<Day, DayBuffer>,
    rows: usize,
}

impl Buffer {
    fn add(&mut self, day: Day, batch: RecordBatch, counts: HourCounts) {
        let d = self.days.entry(day).or_default();
        d.rows += batch.num_rows();
        self.rows += batch.num_rows();
        d.batches.push(batch);
        for (k, c) in counts {
            d.counts.entry(k).or_default().merge(&c);
        }
    }

    /// Write the largest days aside until at most `keep` rows are held.
    fn spill(&mut self, writer: &mut Writer, keep: usize, opts: &IngestOptions) -> Result<()> {
        while self.rows > keep {
            let Some(day) = self
                .days
                .iter()
                .max_by_key(|(d, b)| (b.rows, std::cmp::Reverse(**d)))
                .map(|(d, _)| *d)
            else {
                break;
            };
            let Some(buf) = self.days.remove(&day) else {
                break;
            };
            self.rows -= buf.rows;
            write_day(writer, day, buf, opts.dense_day_rows)?;
        }
        Ok(())
    }
}

fn entries(counts: &HourCounts, hour: Option<u8>) -> Vec<CoverageEntry> {
    let mut m: BTreeMap<CoverageKey, Count> = BTreeMap::new();
    for ((h, k), c) in counts {
        if hour.is_none_or(|x| x == *h) {
            m.entry(k.clone()).or_default().merge(c);
        }
    }
    m.into_iter()
        .map(|((host, channel, event_id), c)| CoverageEntry {
            host,
            channel,
            event_id,
            events: c.events,
            first: c.first,
            last: c.last,
        })
        .collect()
}

/// Write one day's rows: one file, or one per hour when the day is dense.
fn write_day(writer: &mut Writer, day: Day, buf: DayBuffer, dense_day_rows: usize) -> Result<()> {
    let schema = lateral_model::schema();
    let partition = day.partition();
    let batch = concat_batches(&schema, &buf.batches).map_err(|e| StoreError::Write {
        path: writer.root().to_path_buf(),
        partition: partition.clone(),
        message: e.to_string(),
    })?;
    if day.0.is_none() || buf.rows < dense_day_rows {
        return writer.stage(&partition, &batch, entries(&buf.counts, None));
    }
    let ts = schema
        .index_of(f::EVENT_TIMESTAMP.name())
        .map_err(|e| StoreError::Invalid(e.to_string()))?;
    let times = batch.column(ts).as_primitive::<TimestampMicrosecondType>();
    let hours: Vec<u8> = (0..batch.num_rows())
        .map(|i| hour_of((!times.is_null(i)).then(|| times.value(i))))
        .collect();
    for h in 0..24u8 {
        let mask = BooleanArray::from(hours.iter().map(|x| *x == h).collect::<Vec<_>>());
        let part = filter_record_batch(&batch, &mask).map_err(|e| StoreError::Write {
            path: writer.root().to_path_buf(),
            partition: hour_partition(&day, h),
            message: e.to_string(),
        })?;
        if part.num_rows() > 0 {
            writer.stage(
                &hour_partition(&day, h),
                &part,
                entries(&buf.counts, Some(h)),
            )?;
        }
    }
    Ok(())
}

use datafusion::arrow::array::Array;
