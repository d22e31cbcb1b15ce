//! JSON evidence: JSON lines, pretty-printed or concatenated objects, top-level arrays, and the
//! output of `evtx_dump` (with its `Record N` separator lines). Each object is classified on its
//! own, so one file may mix dialects:
//!
//! * `{"Event": {"System": ..}}` — the `evtx` crate / `evtx_dump` rendering;
//! * `{"udm": {..}}` or `{"metadata": {..}, ..}` — Google SecOps UDM events;
//! * `{"winlog": {..}, "event": {"code": ..}}` — Winlogbeat / Elastic Common Schema;
//! * `{"EventID": .., "Channel": .., "Hostname": .., <event data at the top level>}` — flattened
//!   NXLog / Logstash exports (the OTRF Security-Datasets shape).
//!
//! A line or object that is not valid JSON, or not a known dialect, is reported with its line
//! and skipped; reading goes on.

use std::collections::HashMap;
use std::io::BufRead;

use lateral_model::Provenance;
use serde_json::{Map, Value};

use crate::discover::is_record_marker;
use crate::evtx_json::{parse_system_time, record_from_event_json, scalar_text};
use crate::issue::{Position, ReadIssue};
use crate::record::WinRecord;
use crate::sink::{Flow, ReadOptions, RecordSink};
use crate::udm_json::udm_from_json;

/// Largest single JSON value accepted (a pretty-printed object spanning many lines).
const MAX_VALUE_BYTES: usize = 64 << 20;

/// Read JSON evidence from `reader`.
pub fn read_json<R: BufRead>(
    mut reader: R,
    file: &str,
    opts: &ReadOptions,
    sink: &mut dyn RecordSink,
) -> Flow {
    let mut st = State {
        file,
        opts,
        line_no: 0,
        offset: 0,
        mode: Mode::Undecided,
        framer: Framer::default(),
        ordinal: 0,
        clock: LocalClock::default(),
    };
    let mut line: Vec<u8> = Vec::new();
    loop {
        line.clear();
        let n = match reader.read_until(b'\n', &mut line) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) => {
                sink.issue(ReadIssue::new(
                    file,
                    Position::Offset(st.offset),
                    format!("read error: {e}"),
                ));
                return Flow::Continue;
            }
        };
        st.line_no += 1;
        let line_offset = st.offset;
        st.offset += n as u64;
        if st.handle_line(&line, line_offset, sink) == Flow::Stop {
            return Flow::Stop;
        }
    }
    if st.clock.flush_all(sink) == Flow::Stop {
        return Flow::Stop;
    }
    if st.framer.depth > 0 || !st.framer.buf.is_empty() {
        sink.issue(ReadIssue::new(
            file,
            Position::Line(st.framer.start_line),
            "truncated JSON value at end of file (unbalanced braces): skipped",
        ));
    }
    Flow::Continue
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Undecided,
    /// One JSON value per line.
    Lines,
    /// Values span lines: frame them by brace depth.
    Framed,
}

struct State<'a> {
    file: &'a str,
    opts: &'a ReadOptions,
    line_no: u64,
    offset: u64,
    mode: Mode,
    framer: Framer,
    ordinal: i64,
    clock: LocalClock,
}

type Pending = (WinRecord, Provenance, Option<String>);

/// Records holding only local time (flattened exports without `@timestamp`) wait here until
/// their host's UTC offset is learned from a Sysmon record carrying both `UtcTime` and the
/// local time; at most [`MAX_PENDING`] wait, then they go out uncorrected with a note.
#[derive(Default)]
struct LocalClock {
    offsets: HashMap<String, i64>,
    pending: Vec<Pending>,
}

const MAX_PENDING: usize = 20_000;

fn host_key(rec: &WinRecord) -> String {
    rec.computer
        .as_deref()
        .map(lateral_model::vocab::short_hostname)
        .unwrap_or_default()
}

fn uses_local_time(rec: &WinRecord) -> bool {
    rec.extra
        .iter()
        .any(|(k, v)| k == "lateral.time_source" && (v == "TimeCreated" || v == "EventTime"))
}

fn correct(rec: &mut WinRecord, offset: i64) {
    if let Some(t) = rec.time_micros {
        rec.time_micros = Some(t - offset);
        rec.extra.push((
            "lateral.time_note".into(),
            format!(
                "local time converted to UTC with offset {:+} min learned from Sysmon UtcTime on this host",
                offset / 60_000_000
            ),
        ));
    }
}

impl LocalClock {
    /// Learn an offset from a Sysmon record's `UtcTime` and local timestamp.
    fn learn(&mut self, v: &Value, rec: &WinRecord, sink: &mut dyn RecordSink) -> Flow {
        let Some(o) = v.as_object() else {
            return Flow::Continue;
        };
        let utc = get_text(o, &["UtcTime"]).and_then(|s| parse_system_time(&s));
        let local = get_text(o, &["TimeCreated", "EventTime"]).and_then(|s| parse_system_time(&s));
        let (Some(utc), Some(local)) = (utc, local) else {
            return Flow::Continue;
        };
        if o.contains_key("@timestamp") {
            return Flow::Continue;
        }
        // Zones are whole quarter hours; round away logging latency.
        const QUARTER: i64 = 15 * 60 * 1_000_000;
        let offset = ((local - utc) as f64 / QUARTER as f64).round() as i64 * QUARTER;
        let host = host_key(rec);
        if self.offsets.contains_key(&host) {
            return Flow::Continue;
        }
        self.offsets.insert(host.clone(), offset);
        let (ready, waiting): (Vec<Pending>, Vec<Pending>) = std::mem::take(&mut self.pending)
            .into_iter()
            .partition(|(r, _, _)| host_key(r) == host);
        self.pending = waiting;
        for (mut r, p, raw) in ready {
            correct(&mut r, offset);
            if sink.record(r, p, raw) == Flow::Stop {
                return Flow::Stop;
            }
        }
        Flow::Continue
    }

    /// Hand a record on, correcting or holding it when it carries local time only.
    fn pass(
        &mut self,
        mut rec: WinRecord,
        prov: Provenance,
        raw: Option<String>,
        sink: &mut dyn RecordSink,
    ) -> Flow {
        if !uses_local_time(&rec) {
            return sink.record(rec, prov, raw);
        }
        if let Some(off) = self.offsets.get(&host_key(&rec)) {
            correct(&mut rec, *off);
            return sink.record(rec, prov, raw);
        }
        self.pending.push((rec, prov, raw));
        if self.pending.len() > MAX_PENDING {
            return self.flush_all(sink);
        }
        Flow::Continue
    }

    /// Release every held record, uncorrected.
    fn flush_all(&mut self, sink: &mut dyn RecordSink) -> Flow {
        for (mut r, p, raw) in std::mem::take(&mut self.pending) {
            r.extra.push((
                "lateral.time_note".into(),
                "local time of an unknown zone, read as UTC (no Sysmon UtcTime to learn the offset from)".into(),
            ));
            if sink.record(r, p, raw) == Flow::Stop {
                return Flow::Stop;
            }
        }
        Flow::Continue
    }
}

impl State<'_> {
    fn handle_line(&mut self, raw: &[u8], offset: u64, sink: &mut dyn RecordSink) -> Flow {
        let raw = if self.line_no == 1 {
            raw.strip_prefix(b"\xef\xbb\xbf").unwrap_or(raw)
        } else {
            raw
        };
        if self.mode == Mode::Undecided {
            let trimmed = trim_ascii(raw);
            if trimmed.is_empty() {
                return Flow::Continue;
            }
            let as_text = String::from_utf8_lossy(trimmed);
            if is_record_marker(&as_text) {
                self.mode = Mode::Framed;
                return Flow::Continue;
            }
            self.mode = if serde_json::from_slice::<serde::de::IgnoredAny>(trimmed).is_ok() {
                Mode::Lines
            } else {
                Mode::Framed
            };
        }
        match self.mode {
            Mode::Lines => self.handle_json_line(raw, offset, sink),
            _ => self.handle_framed(raw, offset, sink),
        }
    }

    fn handle_json_line(&mut self, raw: &[u8], offset: u64, sink: &mut dyn RecordSink) -> Flow {
        let trimmed = trim_ascii(raw);
        if trimmed.is_empty() || is_record_marker(&String::from_utf8_lossy(trimmed)) {
            return Flow::Continue;
        }
        match serde_json::from_slice::<Value>(trimmed) {
            Ok(v) => self.dispatch(v, trimmed, self.line_no, offset, sink),
            Err(e) => {
                sink.issue(ReadIssue::new(
                    self.file,
                    Position::Line(self.line_no),
                    format!("invalid JSON (column {}): {e}", e.column()),
                ));
                Flow::Continue
            }
        }
    }

    fn handle_framed(&mut self, raw: &[u8], offset: u64, sink: &mut dyn RecordSink) -> Flow {
        let mut start = 0usize;
        let mut i = 0usize;
        while i < raw.len() {
            let b = raw[i];
            let f = &mut self.framer;
            if f.depth == 0 {
                if b == b'{' {
                    f.depth = 1;
                    f.start_line = self.line_no;
                    f.start_offset = offset + i as u64;
                    start = i;
                }
                i += 1;
                continue;
            }
            if f.in_string {
                if f.escape {
                    f.escape = false;
                } else if b == b'\\' {
                    f.escape = true;
                } else if b == b'"' {
                    f.in_string = false;
                }
            } else {
                match b {
                    b'"' => f.in_string = true,
                    b'{' | b'[' => f.depth += 1,
                    b'}' | b']' => {
                        f.depth -= 1;
                        if f.depth == 0 {
                            f.buf.extend_from_slice(&raw[start..=i]);
                            let buf = std::mem::take(&mut f.buf);
                            let (line, off) = (f.start_line, f.start_offset);
                            if self.emit_framed(&buf, line, off, sink) == Flow::Stop {
                                return Flow::Stop;
                            }
                            start = i + 1;
                        }
                    }
                    _ => {}
                }
            }
            i += 1;
        }
        let f = &mut self.framer;
        if f.depth > 0 {
            f.buf.extend_from_slice(&raw[start..]);
            if f.buf.len() > MAX_VALUE_BYTES {
                sink.issue(ReadIssue::new(
                    self.file,
                    Position::Line(f.start_line),
                    format!("JSON value larger than {MAX_VALUE_BYTES} bytes: skipped"),
                ));
                *f = Framer::default();
            }
        }
        Flow::Continue
    }

    fn emit_framed(
        &mut self,
        buf: &[u8],
        line: u64,
        offset: u64,
        sink: &mut dyn RecordSink,
    ) -> Flow {
        match serde_json::from_slice::<Value>(buf) {
            Ok(v) => self.dispatch(v, buf, line, offset, sink),
            Err(e) => {
                sink.issue(ReadIssue::new(
                    self.file,
                    Position::Line(line),
                    format!("invalid JSON value: {e}"),
                ));
                Flow::Continue
            }
        }
    }

    fn dispatch(
        &mut self,
        value: Value,
        raw: &[u8],
        line: u64,
        offset: u64,
        sink: &mut dyn RecordSink,
    ) -> Flow {
        if let Value::Array(items) = value {
            for item in items {
                let text = item.to_string();
                if self.dispatch(item, text.as_bytes(), line, offset, sink) == Flow::Stop {
                    return Flow::Stop;
                }
            }
            return Flow::Continue;
        }
        self.ordinal += 1;
        let raw_text = || String::from_utf8_lossy(raw).into_owned();
        let prov = |format: &'static str| Provenance {
            file: self.file.to_string(),
            format,
            record: Some(line as i64),
            offset: Some(offset as i64),
        };
        match classify(&value) {
            Dialect::EvtxJson => match record_from_event_json(&value) {
                Some(rec) => {
                    let raw = self.opts.want_raw.then(raw_text);
                    sink.record(rec, prov("JSON_EVTX"), raw)
                }
                None => Flow::Continue,
            },
            Dialect::Udm => match udm_from_json(&value) {
                Ok(mut ev) => {
                    ev.set_provenance(&prov("JSON_UDM"));
                    if self.opts.want_raw {
                        ev.set_raw(raw_text());
                    }
                    sink.udm(ev)
                }
                Err(msg) => {
                    sink.issue(ReadIssue::new(
                        self.file,
                        Position::Line(line),
                        format!("UDM event not understood: {msg}"),
                    ));
                    Flow::Continue
                }
            },
            Dialect::Winlogbeat => {
                let rec = record_from_winlogbeat(&value);
                let raw = self.opts.want_raw.then(raw_text);
                sink.record(rec, prov("JSON_WINLOGBEAT"), raw)
            }
            Dialect::Flat => {
                let rec = record_from_flat(&value);
                if self.clock.learn(&value, &rec, sink) == Flow::Stop {
                    return Flow::Stop;
                }
                let raw = self.opts.want_raw.then(raw_text);
                self.clock.pass(rec, prov("JSON_FLAT"), raw, sink)
            }
            Dialect::Unknown => {
                let keys: Vec<&str> = value
                    .as_object()
                    .map(|o| o.keys().take(6).map(String::as_str).collect())
                    .unwrap_or_default();
                sink.issue(ReadIssue::new(
                    self.file,
                    Position::Line(line),
                    format!(
                        "JSON record of an unknown dialect (keys: {}): skipped",
                        if keys.is_empty() {
                            "none".to_string()
                        } else {
                            keys.join(", ")
                        }
                    ),
                ));
                Flow::Continue
            }
        }
    }
}

#[derive(Default)]
struct Framer {
    buf: Vec<u8>,
    depth: usize,
    in_string: bool,
    escape: bool,
    start_line: u64,
    start_offset: u64,
}

fn trim_ascii(b: &[u8]) -> &[u8] {
    let start = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(start, |p| p + 1);
    &b[start..end.max(start)]
}

/// The JSON dialects understood.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    EvtxJson,
    Udm,
    Winlogbeat,
    Flat,
    Unknown,
}

/// Decide which dialect one JSON object is in.
pub fn classify(v: &Value) -> Dialect {
    let Some(o) = v.as_object() else {
        return Dialect::Unknown;
    };
    if o.get("Event").is_some_and(|e| e.get("System").is_some()) {
        return Dialect::EvtxJson;
    }
    if o.get("udm").is_some_and(Value::is_object)
        || o.get("metadata").is_some_and(|m| {
            m.get("eventType").is_some()
                || m.get("event_type").is_some()
                || m.get("eventTimestamp").is_some()
                || m.get("event_timestamp").is_some()
        })
    {
        return Dialect::Udm;
    }
    if o.get("winlog").is_some_and(Value::is_object) {
        return Dialect::Winlogbeat;
    }
    if ["EventID", "EventId", "event_id", "EventCode"]
        .iter()
        .any(|k| o.contains_key(*k))
    {
        return Dialect::Flat;
    }
    Dialect::Unknown
}

/// Keys of flattened exports that describe the record rather than being event data.
const FLAT_META: &[&str] = &[
    "EventID",
    "EventId",
    "event_id",
    "EventCode",
    "Channel",
    "Hostname",
    "Computer",
    "SourceName",
    "ProviderName",
    "ProviderGuid",
    "RecordNumber",
    "EventRecordID",
    "EventTime",
    "EventReceivedTime",
    "@timestamp",
    "@version",
    "TimeCreated",
    "Severity",
    "SeverityValue",
    "EventType",
    "Keywords",
    "Opcode",
    "OpcodeValue",
    "Task",
    "Category",
    "ThreadID",
    "ExecutionProcessID",
    "SourceModuleName",
    "SourceModuleType",
    "Message",
    "host",
    "port",
    "tags",
    "Version",
    "Level",
];

/// NXLog identity fields; when `AccountType` is present NXLog has written these over any
/// same-named event data (for example 7045's `AccountName`), so they describe the event's
/// user, not the event data.
const NXLOG_IDENTITY: &[&str] = &["AccountName", "Domain", "UserID", "AccountType"];

fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::Array(items) => Some(
            items
                .iter()
                .map(|i| scalar_text(i).unwrap_or_else(|| i.to_string()))
                .collect::<Vec<_>>()
                .join(","),
        ),
        Value::Object(_) => Some(v.to_string()),
        other => scalar_text(other),
    }
}

fn get_text(o: &Map<String, Value>, keys: &[&str]) -> Option<String> {
    keys.iter()
        .find_map(|k| o.get(*k).and_then(text_of))
        .filter(|s| !s.trim().is_empty())
}

/// A flattened NXLog / Logstash export record.
pub fn record_from_flat(v: &Value) -> WinRecord {
    let mut rec = WinRecord::default();
    let Some(o) = v.as_object() else {
        return rec;
    };
    rec.event_id = get_text(o, &["EventID", "EventId", "event_id", "EventCode"])
        .and_then(|s| s.trim().parse().ok());
    rec.channel = get_text(o, &["Channel"]);
    rec.computer = get_text(o, &["Hostname", "Computer"]);
    rec.provider = get_text(o, &["SourceName", "ProviderName"]);
    rec.record_id =
        get_text(o, &["RecordNumber", "EventRecordID"]).and_then(|s| s.trim().parse().ok());
    rec.task = get_text(o, &["Task"]);
    rec.opcode = get_text(o, &["Opcode"]);
    rec.keywords = get_text(o, &["Keywords"]);
    rec.level = get_text(o, &["Level", "Severity"]);
    rec.thread_id = get_text(o, &["ThreadID"]).and_then(|s| s.parse().ok());
    rec.process_id = get_text(o, &["ExecutionProcessID"]).and_then(|s| s.parse().ok());

    let is_sysmon = rec
        .channel
        .as_deref()
        .is_some_and(|c| c.to_ascii_lowercase().contains("sysmon"));
    let nxlog_identity = o.contains_key("AccountType");
    // Time: Sysmon's own UtcTime is the event time; then @timestamp (UTC, receive time); then
    // TimeCreated (the reduced schema); EventTime is local time of unknown zone: last resort.
    let mut time_source = None;
    if is_sysmon {
        if let Some(t) = get_text(o, &["UtcTime"]).and_then(|s| parse_system_time(&s)) {
            rec.time_micros = Some(t);
            time_source = Some("UtcTime");
        }
    }
    for key in ["@timestamp", "TimeCreated", "EventTime"] {
        if rec.time_micros.is_some() {
            break;
        }
        if let Some(t) = get_text(o, &[key]).and_then(|s| parse_system_time(&s)) {
            rec.time_micros = Some(t);
            time_source = Some(key);
        }
    }
    if let Some(src) = time_source {
        rec.extra.push(("lateral.time_source".into(), src.into()));
    }
    for (k, v) in o {
        let Some(text) = text_of(v) else { continue };
        if FLAT_META.contains(&k.as_str()) {
            rec.extra.push((k.clone(), text));
        } else if nxlog_identity && NXLOG_IDENTITY.contains(&k.as_str()) {
            if k == "UserID" && rec.user_sid.is_none() {
                rec.user_sid = Some(text.clone());
            }
            rec.extra.push((format!("nxlog.{k}"), text));
        } else {
            rec.data.push((k.clone(), text));
        }
    }
    rec
}

/// A Winlogbeat / ECS record (`winlog.*`, `event.code`).
pub fn record_from_winlogbeat(v: &Value) -> WinRecord {
    let mut rec = WinRecord::default();
    let Some(o) = v.as_object() else {
        return rec;
    };
    let empty = Map::new();
    let w = o.get("winlog").and_then(Value::as_object).unwrap_or(&empty);
    let event = o.get("event").and_then(Value::as_object).unwrap_or(&empty);
    rec.event_id = get_text(w, &["event_id"])
        .or_else(|| get_text(event, &["code"]))
        .and_then(|s| s.trim().parse().ok());
    rec.channel = get_text(w, &["channel"]);
    rec.computer = get_text(w, &["computer_name"]).or_else(|| {
        o.get("host")
            .and_then(|h| h.get("name"))
            .and_then(scalar_text)
    });
    rec.provider = get_text(w, &["provider_name"]).or_else(|| get_text(event, &["provider"]));
    rec.record_id = get_text(w, &["record_id"]).and_then(|s| s.trim().parse().ok());
    rec.task = get_text(w, &["task"]);
    rec.opcode = get_text(w, &["opcode"]);
    rec.keywords = get_text(w, &["keywords"]);
    rec.user_sid = w
        .get("user")
        .and_then(|u| u.get("identifier"))
        .and_then(scalar_text);
    if let Some(p) = w.get("process") {
        rec.process_id = p
            .get("pid")
            .and_then(scalar_text)
            .and_then(|s| s.parse().ok());
        rec.thread_id = p
            .get("thread")
            .and_then(|t| t.get("id"))
            .and_then(scalar_text)
            .and_then(|s| s.parse().ok());
    }
    rec.time_micros = get_text(o, &["@timestamp"])
        .or_else(|| get_text(event, &["created"]))
        .and_then(|s| parse_system_time(&s));
    for key in ["event_data", "user_data"] {
        if let Some(Value::Object(data)) = w.get(key) {
            for (k, v) in data {
                if let Some(t) = text_of(v) {
                    rec.data.push((k.clone(), t));
                }
            }
        }
    }
    if let Some(m) = o.get("message").and_then(scalar_text) {
        rec.extra.push(("Message".into(), m));
    }
    rec
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::CollectSink;

    fn read(text: &str) -> CollectSink {
        let mut sink = CollectSink::default();
        read_json(
            text.as_bytes(),
            "t.json",
            &ReadOptions::default(),
            &mut sink,
        );
        sink
    }

    #[test]
    fn json_lines_with_a_broken_line_continue() {
        let s = read(concat!(
            "{\"EventID\": 4624, \"Channel\": \"security\", \"Hostname\": \"WS6\", \"TargetLogonId\": \"0x1\", \"@timestamp\": \"2020-09-20T16:16:58.212Z\"}\n",
            "{\"EventID\": 4697, \"Chan\n",
            "{\"EventID\": 4697, \"Channel\": \"Security\", \"AccountType\": \"User\", \"AccountName\": \"pgustavo\", \"UserID\": \"S-1-5-21-1\"}\n",
        ));
        assert_eq!(s.records.len(), 2);
        assert_eq!(s.issues.len(), 1);
        assert_eq!(s.issues[0].position, Position::Line(2));
        let r = &s.records[0].0;
        assert_eq!(r.event_id, Some(4624));
        assert_eq!(r.computer.as_deref(), Some("WS6"));
        assert_eq!(r.get("TargetLogonId"), Some("0x1"));
        assert_eq!(r.time_micros, Some(1_600_618_618_212_000));
        assert_eq!(s.records[0].1.record, Some(1));
        let r = &s.records[1].0;
        assert_eq!(
            r.get("AccountName"),
            None,
            "NXLog identity is not event data"
        );
        assert_eq!(r.user_sid.as_deref(), Some("S-1-5-21-1"));
    }

    #[test]
    fn evtx_dump_output_and_arrays() {
        let s = read(concat!(
            "Record 1\n{\n  \"Event\": {\n    \"System\": {\"EventID\": 4688, \"Channel\": \"Security\"},\n",
            "    \"EventData\": {\"NewProcessName\": \"C:\\\\Windows\\\\System32\\\\calc.exe\"}\n  }\n}\n",
            "Record 2\n{\n  \"Event\": {\"System\": {\"EventID\": 1}}\n}\n"
        ));
        assert_eq!(s.records.len(), 2, "{:?}", s.issues);
        assert_eq!(
            s.records[0].0.get("NewProcessName"),
            Some("C:\\Windows\\System32\\calc.exe")
        );
        assert_eq!(s.records[1].1.record, Some(9));

        let s = read("[\n {\"winlog\": {\"event_id\": \"4624\", \"channel\": \"Security\", \"event_data\": {\"LogonType\": \"3\"}}, \"@timestamp\": \"2020-01-01T00:00:00Z\"},\n {\"foo\": 1}\n]\n");
        assert_eq!(s.records.len(), 1);
        assert_eq!(s.records[0].0.get("LogonType"), Some("3"));
        assert_eq!(s.issues.len(), 1, "unknown dialect is reported");
    }

    #[test]
    fn local_time_is_corrected_from_sysmon_utctime() {
        let s = read(concat!(
            "{\"EventID\": 4697, \"Channel\": \"Security\", \"Hostname\": \"WS5\", \"TimeCreated\": \"2020-10-19 03:30:46.420\"}\n",
            "{\"EventID\": 1, \"Channel\": \"Microsoft-Windows-Sysmon/Operational\", \"Hostname\": \"WS5\", \"TimeCreated\": \"2020-10-19 03:30:46.437\", \"UtcTime\": \"2020-10-19 07:30:46.435\"}\n",
            "{\"EventID\": 4688, \"Channel\": \"Security\", \"Hostname\": \"WS5\", \"TimeCreated\": \"2020-10-19 03:30:46.500\"}\n",
            "{\"EventID\": 4688, \"Channel\": \"Security\", \"Hostname\": \"OTHER\", \"TimeCreated\": \"2020-10-19 03:30:47.000\"}\n",
        ));
        let t = |id: u32, host: &str| {
            s.records
                .iter()
                .find(|(r, _, _)| r.event_id == Some(id) && r.computer.as_deref() == Some(host))
                .and_then(|(r, _, _)| r.time_micros)
        };
        let utc = |s: &str| parse_system_time(s);
        assert_eq!(t(4697, "WS5"), utc("2020-10-19T07:30:46.420Z"));
        assert_eq!(t(1, "WS5"), utc("2020-10-19T07:30:46.435Z"));
        assert_eq!(t(4688, "WS5"), utc("2020-10-19T07:30:46.500Z"));
        // No Sysmon on OTHER: left as read, with a note.
        assert_eq!(t(4688, "OTHER"), utc("2020-10-19T03:30:47.000Z"));
        assert_eq!(s.records.len(), 4);
    }

    #[test]
    fn truncated_pretty_value_is_reported() {
        let s = read("{\n \"EventID\": 1,\n \"Channel\": \"x\"\n}\n{\n \"EventID\": 2,\n");
        assert_eq!(s.records.len(), 1);
        assert_eq!(s.issues.len(), 1);
        assert_eq!(s.issues[0].position, Position::Line(5));
    }
}
