//! One normalised event in row form, as readers and mappers build it.

use std::collections::BTreeMap;

use crate::fields::{f, field_count, Field, Kind};

/// A value of one field.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(String),
    Int(i64),
    /// Microseconds since the Unix epoch, UTC.
    Timestamp(i64),
    Bool(bool),
}

impl Value {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) | Value::Timestamp(i) => Some(*i),
            _ => None,
        }
    }
}

/// Where an event came from, so any finding can show its evidence.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Provenance {
    /// Evidence file; members of archives are written `archive.zip!member.json`.
    pub file: String,
    /// Reader that produced the event (`EVTX`, `JSON_NXLOG`, ...).
    pub format: &'static str,
    /// EVTX record number, or 1-based line number for JSON lines / XML event ordinal.
    pub record: Option<i64>,
    /// Byte offset in the (decompressed) file, when known.
    pub offset: Option<i64>,
}

/// A normalised event: one value slot per catalogue field, `additional.fields`, provenance, raw text.
#[derive(Debug, Clone, PartialEq)]
pub struct UdmEvent {
    values: Vec<Option<Value>>,
    /// `additional.fields`: every source field not placed in a UDM field, by its original name.
    pub additional: BTreeMap<String, String>,
}

impl Default for UdmEvent {
    fn default() -> Self {
        Self::new()
    }
}

impl UdmEvent {
    pub fn new() -> Self {
        UdmEvent {
            values: vec![None; field_count()],
            additional: BTreeMap::new(),
        }
    }

    pub fn get(&self, field: Field) -> Option<&Value> {
        self.values[field.0].as_ref()
    }

    pub fn str(&self, field: Field) -> Option<&str> {
        self.get(field).and_then(Value::as_str)
    }

    pub fn int(&self, field: Field) -> Option<i64> {
        self.get(field).and_then(Value::as_int)
    }

    /// Set a string field. Empty strings and Windows' `-` placeholder are treated as absent.
    /// Setting an integer field from text parses decimal or `0x` hex; unparsable text is
    /// kept in `additional.fields` under the field name so nothing is lost.
    pub fn set_str(&mut self, field: Field, value: impl Into<String>) {
        let value: String = value.into();
        let trimmed = value.trim();
        if trimmed.is_empty() || trimmed == "-" {
            return;
        }
        match field.def().kind {
            Kind::Str => self.values[field.0] = Some(Value::Str(trimmed.to_string())),
            Kind::Int => match parse_int(trimmed) {
                Some(i) => self.values[field.0] = Some(Value::Int(i)),
                None => {
                    self.additional
                        .insert(field.name().to_string(), trimmed.to_string());
                }
            },
            Kind::Bool => {
                let b = matches!(trimmed.to_ascii_lowercase().as_str(), "true" | "1" | "yes");
                self.values[field.0] = Some(Value::Bool(b));
            }
            Kind::Timestamp | Kind::Map => {
                self.additional
                    .insert(field.name().to_string(), trimmed.to_string());
            }
        }
    }

    /// Set a string field only when it is still empty.
    pub fn set_str_if_absent(&mut self, field: Field, value: impl Into<String>) {
        if self.values[field.0].is_none() {
            self.set_str(field, value);
        }
    }

    pub fn set_int(&mut self, field: Field, value: i64) {
        self.values[field.0] = Some(Value::Int(value));
    }

    pub fn set_bool(&mut self, field: Field, value: bool) {
        self.values[field.0] = Some(Value::Bool(value));
    }

    /// Event time in microseconds since the Unix epoch (UTC).
    pub fn set_timestamp_micros(&mut self, micros: i64) {
        self.values[f::EVENT_TIMESTAMP.0] = Some(Value::Timestamp(micros));
    }

    pub fn timestamp_micros(&self) -> Option<i64> {
        self.int(f::EVENT_TIMESTAMP)
    }

    pub fn clear(&mut self, field: Field) {
        self.values[field.0] = None;
    }

    /// Record provenance in the `lateral.*` columns.
    pub fn set_provenance(&mut self, p: &Provenance) {
        self.values[f::SOURCE_FILE.0] = Some(Value::Str(p.file.clone()));
        self.values[f::SOURCE_FORMAT.0] = Some(Value::Str(p.format.to_string()));
        if let Some(r) = p.record {
            self.set_int(f::RECORD_NUMBER, r);
        }
        if let Some(o) = p.offset {
            self.set_int(f::BYTE_OFFSET, o);
        }
    }

    /// The original record text.
    pub fn set_raw(&mut self, raw: impl Into<String>) {
        self.values[f::RAW.0] = Some(Value::Str(raw.into()));
    }

    /// Iterate over the fields that hold a value.
    pub fn iter(&self) -> impl Iterator<Item = (Field, &Value)> {
        self.values
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.as_ref().map(|v| (Field(i), v)))
    }
}

/// Parse a decimal or `0x`-prefixed hexadecimal integer.
pub fn parse_int(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Some(hex) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        return u64::from_str_radix(hex, 16).ok().map(|u| u as i64);
    }
    s.parse::<i64>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_absent_and_hex_parses() {
        let mut e = UdmEvent::new();
        e.set_str(f::PRINCIPAL_USERID, "-");
        e.set_str(f::TARGET_PID, "0xae8");
        e.set_str(f::TARGET_PORT, "not a port");
        assert_eq!(e.str(f::PRINCIPAL_USERID), None);
        assert_eq!(e.int(f::TARGET_PID), Some(0xae8));
        assert_eq!(e.int(f::TARGET_PORT), None);
        assert_eq!(
            e.additional.get("target.port").map(String::as_str),
            Some("not a port")
        );
    }
}
