//! Google SecOps UDM events in JSON.
//!
//! Owns turning one JSON value holding a UDM event into a [`UdmEvent`]: a bare UDM object
//! (`{"metadata": ..., "principal": ..., ...}`) or the search-result wrapper
//! (`{"name": ..., "udm": {...}}`), in proto-JSON camelCase or in snake_case. Every leaf is
//! placed at its dotted snake_case path: in the catalogue field of that name when there is
//! one, otherwise in `additional.fields` under that path, so nothing is dropped. The UDM's
//! own `additional` map (`{"fields": {"Key": {"stringValue": "v"}}}`, the list form
//! `[{"key": ..., "value": {...}}]` of some search results, or a plain JSON object) goes to
//! `additional.fields` under its original keys.
//!
//! It must not read files, split JSON documents into events or set provenance: the JSON
//! readers do that and call [`udm_from_json`] per event.

use std::net::IpAddr;

use lateral_model::fields::camel_to_snake_path;
use lateral_model::{f, Field, Kind, Semantic, UdmEvent};
use serde_json::{Map, Value};

/// Nesting deeper than this is kept as JSON text rather than walked.
const MAX_DEPTH: usize = 32;

/// Build a [`UdmEvent`] from a UDM JSON object (bare, or wrapped as `{"name", "udm"}`).
///
/// Errors when `value` is not an object, has neither `metadata` nor `udm`, or when either of
/// those is not an object.
pub fn udm_from_json(value: &Value) -> Result<UdmEvent, String> {
    let obj = value.as_object().ok_or_else(|| {
        format!(
            "not a UDM event: expected a JSON object, found {}",
            json_kind(value)
        )
    })?;
    let mut walker = Walker {
        ev: UdmEvent::new(),
    };
    let udm = if let Some(inner) = obj.get("udm") {
        let inner = inner.as_object().ok_or_else(|| {
            format!(
                "not a UDM event: \"udm\" is {}, expected an object",
                json_kind(inner)
            )
        })?;
        // Wrapper fields (`name`, ...) are kept under `udm.`.
        for (k, v) in obj {
            if k != "udm" {
                walker.walk(&format!("udm.{}", camel_to_snake_path(k)), v, 1);
            }
        }
        inner
    } else if let Some(meta) = obj.get("metadata") {
        if !meta.is_object() {
            return Err(format!(
                "not a UDM event: \"metadata\" is {}, expected an object",
                json_kind(meta)
            ));
        }
        obj
    } else {
        return Err("not a UDM event: the object has neither \"metadata\" nor \"udm\"".to_string());
    };
    for (k, v) in udm {
        let key = camel_to_snake_path(k);
        if key == "additional" {
            walker.additional(v);
        } else {
            walker.walk(&key, v, 1);
        }
    }
    Ok(walker.ev)
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Text of a scalar: strings as they are, numbers without a needless `.0`.
fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(number_text(n)),
        Value::Null | Value::Array(_) | Value::Object(_) => None,
    }
}

fn number_text(n: &serde_json::Number) -> String {
    if n.is_f64() {
        if let Some(x) = n.as_f64() {
            if x.fract() == 0.0 && x.abs() < 9.0e15 {
                return format!("{}", x as i64);
            }
        }
    }
    n.to_string()
}

fn is_scalar(v: &Value) -> bool {
    matches!(v, Value::String(_) | Value::Bool(_) | Value::Number(_))
}

struct Walker {
    ev: UdmEvent,
}

impl Walker {
    fn keep(&mut self, path: &str, text: String) {
        self.ev.additional.insert(path.to_string(), text);
    }

    /// Place `v` found at the dotted snake_case `path`.
    fn walk(&mut self, path: &str, v: &Value, depth: usize) {
        match v {
            Value::Null => {}
            Value::Object(m) => {
                if let Some(field) = Field::by_name(path) {
                    if field.def().kind == Kind::Timestamp {
                        if let Some(micros) = proto_timestamp(m) {
                            self.set_timestamp(field, path, micros);
                            return;
                        }
                    }
                }
                if depth > MAX_DEPTH {
                    self.keep(path, v.to_string());
                    return;
                }
                for (k, child) in m {
                    let p = format!("{path}.{}", camel_to_snake_path(k));
                    self.walk(&p, child, depth + 1);
                }
            }
            Value::Array(items) => {
                let items: Vec<&Value> = items.iter().filter(|i| !i.is_null()).collect();
                if items.is_empty() {
                    return;
                }
                if items.iter().all(|i| is_scalar(i)) {
                    // Repeated scalars (`ip`, `mac`, `action`, `mechanism`): the first goes in
                    // the field, all of them in `additional` when there are several.
                    let field = Field::by_name(path).filter(|f| f.def().kind != Kind::Map);
                    if let Some(first) = items.first() {
                        if field.is_some() {
                            self.leaf(path, first);
                        }
                    }
                    if field.is_none() || items.len() > 1 {
                        let joined: Vec<String> =
                            items.iter().filter_map(|i| scalar_text(i)).collect();
                        self.keep(path, joined.join(","));
                    }
                } else if depth > MAX_DEPTH {
                    self.keep(path, v.to_string());
                } else {
                    // Repeated messages (`securityResult`, `about`): the first is read at the
                    // path itself, the others at `path[i]`.
                    for (i, item) in items.iter().enumerate() {
                        if i == 0 {
                            self.walk(path, item, depth + 1);
                        } else {
                            self.walk(&format!("{path}[{i}]"), item, depth + 1);
                        }
                    }
                }
            }
            scalar => self.leaf(path, scalar),
        }
    }

    fn leaf(&mut self, path: &str, v: &Value) {
        let Some(text) = scalar_text(v) else {
            return;
        };
        let Some(field) = Field::by_name(path) else {
            self.keep(path, text);
            return;
        };
        let def = field.def();
        match def.kind {
            Kind::Timestamp => match rfc3339_micros(&text) {
                Some(micros) => self.set_timestamp(field, path, micros),
                None => self.keep(path, text),
            },
            Kind::Int => match v.as_i64() {
                Some(i) => self.ev.set_int(field, i),
                None => self.ev.set_str(field, text),
            },
            Kind::Bool => match v.as_bool() {
                Some(b) => self.ev.set_bool(field, b),
                None => self.ev.set_str(field, text),
            },
            Kind::Str if def.semantic == Semantic::Ip => {
                let normal = text
                    .trim()
                    .parse::<IpAddr>()
                    .map(|ip| ip.to_string())
                    .unwrap_or(text);
                self.ev.set_str(field, normal);
            }
            Kind::Str => self.ev.set_str(field, text),
            Kind::Map => self.keep(path, text),
        }
    }

    fn set_timestamp(&mut self, field: Field, path: &str, micros: i64) {
        if field == f::EVENT_TIMESTAMP {
            self.ev.set_timestamp_micros(micros);
        } else {
            let text = chrono::DateTime::from_timestamp_micros(micros)
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
                .unwrap_or_else(|| micros.to_string());
            self.keep(path, text);
        }
    }

    /// The UDM `additional` map.
    fn additional(&mut self, v: &Value) {
        match v {
            Value::Object(m) => match m.get("fields") {
                // Proto form: `{"fields": {"Key": {"stringValue": "v"}}}` or the list form.
                Some(fields) if m.len() == 1 => match fields {
                    Value::Object(fm) => {
                        for (k, pv) in fm {
                            self.proto_value(k, pv, 0);
                        }
                    }
                    Value::Array(list) => self.key_value_list(list),
                    other => self.plain("fields", other, 0),
                },
                // Canonical JSON of a `google.protobuf.Struct`: a plain object.
                _ => {
                    for (k, jv) in m {
                        self.plain(k, jv, 0);
                    }
                }
            },
            Value::Array(list) => self.key_value_list(list),
            Value::Null => {}
            other => self.plain("additional", other, 0),
        }
    }

    /// `[{"key": "k", "value": {"stringValue": "v"}}, ...]`.
    fn key_value_list(&mut self, list: &[Value]) {
        for (i, item) in list.iter().enumerate() {
            let key = item.get("key").and_then(Value::as_str);
            match (key, item.get("value")) {
                (Some(k), Some(pv)) => self.proto_value(k, pv, 0),
                (Some(_), None) => {}
                (None, _) => self.plain(&format!("additional[{i}]"), item, 0),
            }
        }
    }

    /// A `google.protobuf.Value` in proto-JSON message form (`{"stringValue": ...}`).
    fn proto_value(&mut self, key: &str, pv: &Value, depth: usize) {
        let Some(o) = pv.as_object() else {
            self.plain(key, pv, depth);
            return;
        };
        let get = |camel: &str, snake: &str| o.get(camel).or_else(|| o.get(snake));
        if let Some(s) = get("stringValue", "string_value") {
            self.plain(key, s, depth);
        } else if let Some(n) = get("numberValue", "number_value") {
            self.plain(key, n, depth);
        } else if let Some(b) = get("boolValue", "bool_value") {
            self.plain(key, b, depth);
        } else if get("nullValue", "null_value").is_some() {
        } else if let Some(list) = get("listValue", "list_value") {
            let values = list
                .get("values")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or_default();
            let texts: Vec<String> = values
                .iter()
                .filter_map(|item| match item.as_object() {
                    Some(io) => io
                        .values()
                        .next()
                        .and_then(scalar_text)
                        .or_else(|| Some(item.to_string())),
                    None => scalar_text(item),
                })
                .collect();
            if !texts.is_empty() {
                self.ev.additional.insert(key.to_string(), texts.join(","));
            }
        } else if let Some(st) = get("structValue", "struct_value") {
            match st.get("fields").and_then(Value::as_object) {
                Some(fm) if depth < MAX_DEPTH => {
                    for (k, inner) in fm {
                        self.proto_value(&format!("{key}.{k}"), inner, depth + 1);
                    }
                }
                _ => self.plain(key, st, depth),
            }
        } else {
            // Not the message form after all: a plain object value.
            self.plain(key, pv, depth);
        }
    }

    /// A plain JSON value under an `additional` key.
    fn plain(&mut self, key: &str, v: &Value, depth: usize) {
        match v {
            Value::Null => {}
            Value::Array(items) if items.iter().all(is_scalar) => {
                let texts: Vec<String> = items.iter().filter_map(scalar_text).collect();
                if !texts.is_empty() {
                    self.ev.additional.insert(key.to_string(), texts.join(","));
                }
            }
            Value::Object(m) if depth < MAX_DEPTH => {
                for (k, inner) in m {
                    self.plain(&format!("{key}.{k}"), inner, depth + 1);
                }
            }
            Value::Array(_) | Value::Object(_) => {
                self.ev.additional.insert(key.to_string(), v.to_string());
            }
            scalar => {
                if let Some(t) = scalar_text(scalar) {
                    self.ev.additional.insert(key.to_string(), t);
                }
            }
        }
    }
}

/// RFC 3339 text to microseconds since the epoch.
fn rfc3339_micros(s: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(s.trim())
        .ok()
        .map(|t| t.timestamp_micros())
}

/// `{"seconds": 1709633730, "nanos": 123000000}` (seconds may be a string, as int64 is in
/// proto-JSON).
fn proto_timestamp(m: &Map<String, Value>) -> Option<i64> {
    let num = |v: &Value| -> Option<i64> {
        v.as_i64()
            .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
    };
    let seconds = num(m.get("seconds")?)?;
    let nanos = m.get("nanos").and_then(num).unwrap_or(0);
    seconds.checked_mul(1_000_000)?.checked_add(nanos / 1000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn proto_timestamp_object() {
        let ev = udm_from_json(&json!({
            "metadata": {"eventTimestamp": {"seconds": "1709633730", "nanos": 123456000}}
        }))
        .expect("udm");
        assert_eq!(ev.timestamp_micros(), Some(1_709_633_730_123_456));
    }

    #[test]
    fn numbers_lose_needless_fraction() {
        let ev = udm_from_json(&json!({
            "metadata": {},
            "additional": {"fields": {"Count": {"numberValue": 3.0}, "Ratio": {"numberValue": 0.5}}}
        }))
        .expect("udm");
        assert_eq!(ev.additional.get("Count").map(String::as_str), Some("3"));
        assert_eq!(ev.additional.get("Ratio").map(String::as_str), Some("0.5"));
    }

    #[test]
    fn deep_nesting_is_kept_as_text() {
        let mut v = json!("leaf");
        for _ in 0..40 {
            v = json!({ "x": v });
        }
        let ev = udm_from_json(&json!({"metadata": {}, "principal": v})).expect("udm");
        assert_eq!(ev.additional.len(), 1);
        let (k, text) = ev.additional.iter().next().expect("one entry");
        assert!(k.starts_with("principal.x.x."));
        assert!(text.contains("leaf"));
    }
}
