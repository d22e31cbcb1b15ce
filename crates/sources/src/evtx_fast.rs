//! A direct deserializer from the `evtx` crate's JSON rendering of a record into a
//! [`WinRecord`], without building a `serde_json::Value` tree (the EVTX hot path: one call per
//! record). Sections that are rare or irregular (`UserData`, `ProcessingErrorData`,
//! `RenderingInfo`) still go through `Value` and the general converter.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;

use crate::evtx_json::{parse_system_time, record_from_event_json, scalar_text};
use crate::record::WinRecord;

#[derive(Deserialize)]
struct Doc<'a> {
    #[serde(rename = "Event", borrow)]
    event: Option<Ev<'a>>,
}

#[derive(Deserialize)]
struct Ev<'a> {
    #[serde(rename = "System", borrow)]
    system: Option<Sys<'a>>,
    #[serde(rename = "EventData", default)]
    event_data: Option<Data>,
    #[serde(rename = "UserData", default)]
    user_data: Option<Value>,
    #[serde(rename = "ProcessingErrorData", default)]
    processing_error: Option<Value>,
    #[serde(rename = "RenderingInfo", default)]
    rendering: Option<Value>,
}

#[derive(Deserialize, Default)]
struct Attrs<'a> {
    #[serde(rename = "#attributes", borrow, default)]
    a: Option<AttrMap<'a>>,
}

#[derive(Deserialize, Default)]
struct AttrMap<'a> {
    #[serde(rename = "Name", borrow, default)]
    name: Option<Cow<'a, str>>,
    #[serde(rename = "EventSourceName", borrow, default)]
    event_source_name: Option<Cow<'a, str>>,
    #[serde(rename = "SystemTime", borrow, default)]
    system_time: Option<Cow<'a, str>>,
    #[serde(rename = "UserID", borrow, default)]
    user_id: Option<Cow<'a, str>>,
    #[serde(rename = "ProcessID", default)]
    process_id: Option<Value>,
    #[serde(rename = "ThreadID", default)]
    thread_id: Option<Value>,
}

#[derive(Deserialize)]
struct Sys<'a> {
    #[serde(rename = "Provider", borrow, default)]
    provider: Option<Attrs<'a>>,
    #[serde(rename = "EventID", default)]
    event_id: Option<Value>,
    #[serde(rename = "Channel", default)]
    channel: Option<Value>,
    #[serde(rename = "Computer", default)]
    computer: Option<Value>,
    #[serde(rename = "EventRecordID", default)]
    record_id: Option<Value>,
    #[serde(rename = "TimeCreated", borrow, default)]
    time_created: Option<Attrs<'a>>,
    #[serde(rename = "Security", borrow, default)]
    security: Option<Attrs<'a>>,
    #[serde(rename = "Execution", borrow, default)]
    execution: Option<Attrs<'a>>,
    #[serde(rename = "Level", default)]
    level: Option<Value>,
    #[serde(rename = "Task", default)]
    task: Option<Value>,
    #[serde(rename = "Opcode", default)]
    opcode: Option<Value>,
    #[serde(rename = "Keywords", default)]
    keywords: Option<Value>,
}

/// `EventData` as (name, text) pairs, in order.
struct Data(Vec<(Option<String>, String)>);

impl<'de> Deserialize<'de> for Data {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(DataVisitor)
    }
}

struct DataVisitor;

fn text(v: &Value) -> String {
    match v {
        Value::Object(o) => o
            .get("#text")
            .and_then(scalar_text)
            .unwrap_or_else(|| v.to_string()),
        other => scalar_text(other).unwrap_or_else(|| other.to_string()),
    }
}

impl<'de> Visitor<'de> for DataVisitor {
    type Value = Data;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("EventData")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Data, E> {
        Ok(Data(Vec::new()))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Data, E> {
        Ok(Data(vec![(None, v.to_string())]))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Data, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element::<Value>()? {
            out.push((None, text(&v)));
        }
        Ok(Data(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Data, A::Error> {
        let mut out = Vec::new();
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            if key == "#attributes" {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            let unnamed = key == "Data" || key == "#text";
            let v: Value = map.next_value()?;
            let inner = match &v {
                Value::Object(o) if o.contains_key("#text") => o.get("#text").unwrap_or(&v),
                other => other,
            };
            let name = (!unnamed).then(|| key.to_string());
            match inner {
                Value::Array(items) => {
                    for item in items {
                        out.push((name.clone(), text(item)));
                    }
                }
                Value::Object(_) => out.push((name, inner.to_string())),
                scalar => out.push((name, scalar_text(scalar).unwrap_or_default())),
            }
        }
        Ok(Data(out))
    }
}

fn num<T: std::str::FromStr>(v: &Option<Value>) -> Option<T> {
    v.as_ref()
        .map(text)
        .and_then(|t| t.trim().parse::<T>().ok())
}

fn attrs<'s, 'a>(a: &'s Option<Attrs<'a>>) -> Option<&'s AttrMap<'a>> {
    a.as_ref().and_then(|x| x.a.as_ref())
}

fn opt_text(v: &Option<Value>) -> Option<String> {
    v.as_ref().map(text)
}

#[derive(Deserialize)]
struct IdDoc<'a> {
    #[serde(rename = "Event", borrow)]
    event: Option<IdEv<'a>>,
}

#[derive(Deserialize)]
struct IdEv<'a> {
    #[serde(rename = "System", borrow)]
    system: Option<Sys<'a>>,
}

/// Only the `System` block of a rendered record (event data is skipped without allocating):
/// enough for an identity check. `None` when the bytes are not an event.
pub fn identity_from_json_bytes(bytes: &[u8]) -> Option<WinRecord> {
    let doc: IdDoc = serde_json::from_slice(bytes).ok()?;
    let sys = doc.event?.system?;
    let mut rec = WinRecord::default();
    fill_system(&mut rec, &sys);
    Some(rec)
}

fn fill_system(rec: &mut WinRecord, sys: &Sys) {
    if let Some(p) = attrs(&sys.provider) {
        rec.provider = p
            .name
            .as_deref()
            .filter(|s| !s.is_empty())
            .or(p.event_source_name.as_deref())
            .map(str::to_string);
    }
    rec.event_id = num(&sys.event_id);
    rec.channel = opt_text(&sys.channel);
    rec.computer = opt_text(&sys.computer);
    rec.record_id = num(&sys.record_id);
    rec.time_micros = attrs(&sys.time_created)
        .and_then(|t| t.system_time.as_deref())
        .and_then(parse_system_time);
    rec.user_sid = attrs(&sys.security)
        .and_then(|s| s.user_id.as_deref())
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    if let Some(x) = attrs(&sys.execution) {
        rec.process_id = num(&x.process_id);
        rec.thread_id = num(&x.thread_id);
    }
    rec.level = opt_text(&sys.level);
    rec.task = opt_text(&sys.task);
    rec.opcode = opt_text(&sys.opcode);
    rec.keywords = opt_text(&sys.keywords);
}

/// Convert one rendered record. `None` when the bytes are not an `{"Event": ..}` document.
pub fn record_from_json_bytes(bytes: &[u8]) -> Option<WinRecord> {
    let doc: Doc = serde_json::from_slice(bytes).ok()?;
    let ev = doc.event?;
    // Irregular sections: fall back to the general converter, which handles them all.
    if ev.user_data.is_some() || ev.processing_error.is_some() || ev.rendering.is_some() {
        let v: Value = serde_json::from_slice(bytes).ok()?;
        return record_from_event_json(&v);
    }
    let sys = ev.system?;
    let mut rec = WinRecord::default();
    fill_system(&mut rec, &sys);
    if let Some(Data(items)) = ev.event_data {
        for (name, value) in items {
            rec.push_data(name.as_deref(), value);
        }
    }
    Some(rec)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fast path must agree with the general converter.
    #[test]
    fn agrees_with_the_value_converter() {
        let docs = [
            r##"{"Event":{"#attributes":{"xmlns":"x"},"System":{"Provider":{"#attributes":{"Name":"Service Control Manager","Guid":"{1}"}},"EventID":{"#attributes":{"Qualifiers":16384},"#text":7045},"TimeCreated":{"#attributes":{"SystemTime":"2019-03-19T00:41:29.008933Z"}},"EventRecordID":12,"Execution":{"#attributes":{"ProcessID":508,"ThreadID":1}},"Channel":"System","Computer":"WIN","Security":{"#attributes":{"UserID":"S-1-5-18"}}},"EventData":{"ServiceName":"remotesvc","ImagePath":"calc.exe","Empty":null,"Num":3}}}"##,
            r##"{"Event":{"System":{"EventID":10016,"Channel":"System"},"EventData":{"Data":{"#text":["a","b"]},"Binary":"00FF"}}}"##,
            r##"{"Event":{"System":{"EventID":1},"EventData":null}}"##,
        ];
        for d in docs {
            let fast = record_from_json_bytes(d.as_bytes()).expect("fast");
            let v: Value = serde_json::from_str(d).expect("json");
            let slow = record_from_event_json(&v).expect("slow");
            assert_eq!(fast, slow, "{d}");
        }
        for d in docs {
            let full = record_from_json_bytes(d.as_bytes()).expect("fast");
            let id = identity_from_json_bytes(d.as_bytes()).expect("identity");
            assert_eq!(
                (id.event_id, &id.channel, &id.provider, id.time_micros),
                (
                    full.event_id,
                    &full.channel,
                    &full.provider,
                    full.time_micros
                )
            );
            assert!(id.data.is_empty());
        }
        assert!(record_from_json_bytes(b"{\"foo\":1}").is_none());
        assert!(record_from_json_bytes(b"not json").is_none());
    }
}
