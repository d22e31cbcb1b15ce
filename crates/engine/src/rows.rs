//! Turning result batches into JSON rows: flat (`{"principal.hostname": ..}`) or nested by UDM
//! path (`{"principal": {"hostname": ..}}`), snake_case or proto-JSON camelCase. Nulls are
//! left out so rows show only what the event holds.

use datafusion::arrow::array::{Array, AsArray, MapArray, RecordBatch};
use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use serde_json::{Map, Number, Value};

use crate::window::format_micros;

/// Key style of JSON rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// One key per column, as named (`metadata.event_type`).
    Flat,
    /// Nested by path, snake_case keys.
    Nested,
    /// Nested by path, camelCase keys (proto-JSON, as SecOps returns events).
    NestedCamel,
}

/// Every row of `batches` as a JSON object.
pub fn to_json_rows(batches: &[RecordBatch], style: Style) -> Vec<Value> {
    let mut out = Vec::new();
    for batch in batches {
        let schema = batch.schema();
        for row in 0..batch.num_rows() {
            let mut obj = Map::new();
            for (i, field) in schema.fields().iter().enumerate() {
                let v = cell(batch.column(i).as_ref(), row);
                if v.is_null() {
                    continue;
                }
                match style {
                    Style::Flat => {
                        obj.insert(field.name().clone(), v);
                    }
                    Style::Nested | Style::NestedCamel => {
                        let name = if style == Style::NestedCamel {
                            lateral_model::fields::snake_to_camel_path(field.name())
                        } else {
                            field.name().clone()
                        };
                        insert_path(&mut obj, &name, v);
                    }
                }
            }
            out.push(Value::Object(obj));
        }
    }
    out
}

fn insert_path(obj: &mut Map<String, Value>, path: &str, v: Value) {
    let mut parts = path.split('.').peekable();
    let mut cur = obj;
    while let Some(p) = parts.next() {
        if parts.peek().is_none() {
            cur.insert(p.to_string(), v);
            return;
        }
        let entry = cur
            .entry(p.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        match entry {
            Value::Object(m) => cur = m,
            _ => return,
        }
    }
}

/// One cell as JSON: numbers stay numbers, timestamps become RFC 3339, maps become objects.
pub fn cell(array: &dyn Array, row: usize) -> Value {
    if array.is_null(row) {
        return Value::Null;
    }
    match array.data_type() {
        DataType::Utf8 => Value::String(array.as_string::<i32>().value(row).to_string()),
        DataType::LargeUtf8 => Value::String(array.as_string::<i64>().value(row).to_string()),
        DataType::Utf8View => Value::String(array.as_string_view().value(row).to_string()),
        DataType::Boolean => Value::Bool(array.as_boolean().value(row)),
        DataType::Timestamp(TimeUnit::Microsecond, _) => Value::String(format_micros(
            array
                .as_primitive::<datafusion::arrow::datatypes::TimestampMicrosecondType>()
                .value(row),
        )),
        DataType::Map(_, _) => {
            let Some(map) = array.as_any().downcast_ref::<MapArray>() else {
                return Value::Null;
            };
            let entries = map.value(row);
            let mut obj = Map::new();
            if let (Some(k), Some(v)) = (
                entries.column(0).as_string_opt::<i32>(),
                entries.column(1).as_string_opt::<i32>(),
            ) {
                for i in 0..k.len() {
                    let val = if v.is_null(i) {
                        Value::Null
                    } else {
                        Value::String(v.value(i).to_string())
                    };
                    obj.insert(k.value(i).to_string(), val);
                }
            }
            Value::Object(obj)
        }
        dt => {
            let text = ArrayFormatter::try_new(array, &FormatOptions::default())
                .map(|f| f.value(row).to_string())
                .unwrap_or_default();
            if dt.is_integer() {
                if let Ok(i) = text.parse::<i64>() {
                    return Value::Number(i.into());
                }
                if let Ok(u) = text.parse::<u64>() {
                    return Value::Number(u.into());
                }
            }
            if dt.is_floating() {
                if let Some(n) = text.parse::<f64>().ok().and_then(Number::from_f64) {
                    return Value::Number(n);
                }
            }
            Value::String(text)
        }
    }
}

/// One cell as display text (for tables and CSV); maps as `k=v; k=v`.
pub fn cell_text(array: &dyn Array, row: usize) -> String {
    match cell(array, row) {
        Value::Null => String::new(),
        Value::String(s) => s,
        Value::Object(m) => m
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}
