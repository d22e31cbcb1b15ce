//! The JSON shape the `evtx` crate (and its `evtx_dump` tool) renders a record in, turned into a
//! [`WinRecord`]. Shared by the EVTX reader and the JSON reader (evtx_dump output).

use serde_json::{Map, Value};

use crate::record::WinRecord;

/// Text of a JSON scalar as Windows logged it; `None` for null and containers.
pub fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null => Some(String::new()),
        _ => None,
    }
}

/// The `#text` of an element rendered as `{"#attributes": .., "#text": ..}`, or the value itself.
fn element_text(v: &Value) -> Option<String> {
    match v {
        Value::Object(o) => o.get("#text").and_then(scalar_text),
        other => scalar_text(other),
    }
}

fn attr<'a>(v: &'a Value, name: &str) -> Option<&'a Value> {
    v.get("#attributes").and_then(|a| a.get(name))
}

/// Parse a Windows `SystemTime` (RFC 3339, up to 7 fractional digits) into UTC microseconds.
pub fn parse_system_time(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Ok(dt) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(dt.timestamp_micros());
    }
    // Some exports omit the zone: treat as UTC.
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f"))
        .ok()
        .map(|n| n.and_utc().timestamp_micros())
}

/// Convert `{"Event": {"System": .., "EventData": ..}}` into a record. `None` when the value
/// is not of that shape.
pub fn record_from_event_json(value: &Value) -> Option<WinRecord> {
    let event = value.get("Event")?;
    let system = event.get("System")?;
    let mut rec = WinRecord::default();
    if let Some(p) = system.get("Provider") {
        rec.provider = attr(p, "Name")
            .and_then(scalar_text)
            .filter(|s| !s.is_empty());
        if rec.provider.is_none() {
            rec.provider = attr(p, "EventSourceName").and_then(scalar_text);
        }
    }
    rec.event_id = system
        .get("EventID")
        .and_then(element_text)
        .and_then(|t| t.trim().parse::<u32>().ok());
    rec.channel = system.get("Channel").and_then(element_text);
    rec.computer = system.get("Computer").and_then(element_text);
    rec.record_id = system
        .get("EventRecordID")
        .and_then(element_text)
        .and_then(|t| t.trim().parse().ok());
    rec.time_micros = system
        .get("TimeCreated")
        .and_then(|t| attr(t, "SystemTime"))
        .and_then(Value::as_str)
        .and_then(parse_system_time);
    rec.user_sid = system
        .get("Security")
        .and_then(|s| attr(s, "UserID"))
        .and_then(scalar_text)
        .filter(|s| !s.is_empty());
    if let Some(ex) = system.get("Execution") {
        rec.process_id = attr(ex, "ProcessID")
            .and_then(scalar_text)
            .and_then(|t| t.parse().ok());
        rec.thread_id = attr(ex, "ThreadID")
            .and_then(scalar_text)
            .and_then(|t| t.parse().ok());
    }
    rec.level = system.get("Level").and_then(element_text);
    rec.task = system.get("Task").and_then(element_text);
    rec.opcode = system.get("Opcode").and_then(element_text);
    rec.keywords = system.get("Keywords").and_then(element_text);

    if let Some(data) = event.get("EventData") {
        push_event_data(&mut rec, data);
    }
    if let Some(user) = event.get("UserData") {
        flatten_user_data(&mut rec, user, None);
    }
    // Records Windows could not render against their template keep their raw values here.
    if let Some(Value::Object(err)) = event.get("ProcessingErrorData") {
        for (k, v) in err {
            if let Some(t) = element_text(v) {
                rec.push_data(Some(k), t);
            }
        }
    }
    if let Some(msg) = event
        .get("RenderingInfo")
        .and_then(|r| r.get("Message"))
        .and_then(element_text)
    {
        rec.extra.push(("Message".into(), msg));
    }
    Some(rec)
}

fn push_event_data(rec: &mut WinRecord, data: &Value) {
    match data {
        Value::Object(map) => {
            for (k, v) in map {
                if k == "#attributes" {
                    continue;
                }
                push_named(rec, k, v);
            }
        }
        Value::Null => {}
        other => {
            if let Some(t) = element_text(other) {
                rec.push_data(None, t);
            }
        }
    }
}

fn push_named(rec: &mut WinRecord, key: &str, v: &Value) {
    // Unnamed <Data> elements come out as "Data": "x" | ["a","b"] | {"#text": [..]}.
    let unnamed = key == "Data" || key == "#text";
    let inner = match v {
        Value::Object(o) if o.contains_key("#text") => o.get("#text").unwrap_or(&Value::Null),
        other => other,
    };
    match inner {
        Value::Array(items) => {
            for item in items {
                let t = element_text(item).unwrap_or_else(|| item.to_string());
                if unnamed {
                    rec.push_data(None, t);
                } else {
                    rec.push_data(Some(key), t);
                }
            }
        }
        Value::Object(o) => {
            // Structured data (rare in EventData): keep its JSON text.
            rec.push_data(Some(key), Value::Object(o.clone()).to_string());
        }
        scalar => {
            let t = scalar_text(scalar).unwrap_or_default();
            if unnamed {
                rec.push_data(None, t);
            } else {
                rec.push_data(Some(key), t);
            }
        }
    }
}

/// Flatten `UserData` leaves by their element names (innermost names win).
fn flatten_user_data(rec: &mut WinRecord, v: &Value, name: Option<&str>) {
    match v {
        Value::Object(map) => flatten_object(rec, map),
        Value::Array(items) => {
            for item in items {
                flatten_user_data(rec, item, name);
            }
        }
        scalar => {
            if let (Some(n), Some(t)) = (name, scalar_text(scalar)) {
                rec.push_data(Some(n), t);
            }
        }
    }
}

fn flatten_object(rec: &mut WinRecord, map: &Map<String, Value>) {
    for (k, v) in map {
        if k == "#attributes" {
            continue;
        }
        match v {
            Value::Object(inner) if inner.contains_key("#text") && inner.len() <= 2 => {
                if let Some(t) = inner.get("#text").and_then(scalar_text) {
                    rec.push_data(Some(k), t);
                }
            }
            Value::Object(inner) => flatten_object(rec, inner),
            other => flatten_user_data(rec, other, Some(k)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn converts_named_and_unnamed_data() {
        let v = json!({"Event": {"System": {
            "Provider": {"#attributes": {"Name": "Service Control Manager"}},
            "EventID": {"#attributes": {"Qualifiers": 16384}, "#text": 7045},
            "TimeCreated": {"#attributes": {"SystemTime": "2019-03-19T00:41:29.008933Z"}},
            "EventRecordID": 12, "Channel": "System", "Computer": "WIN-77LTAPHIQ1R.example.corp",
            "Security": {"#attributes": {"UserID": "S-1-5-18"}},
            "Execution": {"#attributes": {"ProcessID": 508, "ThreadID": 1}}},
            "EventData": {"ServiceName": "remotesvc", "ImagePath": "calc.exe"}}});
        let r = record_from_event_json(&v).expect("record");
        assert_eq!(r.event_id, Some(7045));
        assert_eq!(r.provider.as_deref(), Some("Service Control Manager"));
        assert_eq!(r.get("ImagePath"), Some("calc.exe"));
        assert_eq!(r.user_sid.as_deref(), Some("S-1-5-18"));
        assert_eq!(r.time_micros, Some(1_552_956_089_008_933));

        let v = json!({"Event": {"System": {"EventID": 10016},
            "EventData": {"Data": {"#text": ["a", "b"]}},
            "UserData": {"Op": {"#attributes": {"xmlns": "x"}, "User": "u", "Inner": {"Id": 3}}}}});
        let r = record_from_event_json(&v).expect("record");
        assert_eq!(r.get("Data"), Some("a"));
        assert_eq!(r.get("Data2"), Some("b"));
        assert_eq!(r.get("User"), Some("u"));
        assert_eq!(r.get("Id"), Some("3"));
        assert!(record_from_event_json(&json!({"foo": 1})).is_none());
    }
}
