//! One normalised event in row form, as readers and mappers build it.

use crate::fields::{f, Field, Kind};

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

/// A normalised event: the catalogue fields that hold a value, `additional.fields`, provenance,
/// raw text.
///
/// Sparse: an event sets 10 to 30 of the catalogue's fields, so only those are stored, ordered
/// by field index (a lookup is a binary search over a few entries). A slot per catalogue field
/// cost over 2 KB per event before any text, which dominated the memory of every command that
/// holds events (captures, the MCP server).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UdmEvent {
    /// Ordered by field index, at most one entry per field.
    values: Vec<(Field, Value)>,
    /// `additional.fields`: every source field not placed in a UDM field, by its original name.
    pub additional: Additional,
}

impl UdmEvent {
    pub fn new() -> Self {
        UdmEvent {
            values: Vec::new(),
            additional: Additional::default(),
        }
    }

    fn slot(&self, field: Field) -> Result<usize, usize> {
        self.values.binary_search_by_key(&field, |(f, _)| *f)
    }

    fn put(&mut self, field: Field, value: Value) {
        match self.slot(field) {
            Ok(i) => self.values[i].1 = value,
            Err(i) => self.values.insert(i, (field, value)),
        }
    }

    pub fn get(&self, field: Field) -> Option<&Value> {
        self.slot(field).ok().map(|i| &self.values[i].1)
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
            Kind::Str => self.put(field, Value::Str(trimmed.to_string())),
            Kind::Int => match parse_int(trimmed) {
                Some(i) => self.put(field, Value::Int(i)),
                None => {
                    self.additional
                        .insert(field.name().to_string(), trimmed.to_string());
                }
            },
            Kind::Bool => {
                let b = matches!(trimmed.to_ascii_lowercase().as_str(), "true" | "1" | "yes");
                self.put(field, Value::Bool(b));
            }
            Kind::Timestamp | Kind::Map => {
                self.additional
                    .insert(field.name().to_string(), trimmed.to_string());
            }
        }
    }

    /// Set a string field only when it is still empty.
    pub fn set_str_if_absent(&mut self, field: Field, value: impl Into<String>) {
        if self.get(field).is_none() {
            self.set_str(field, value);
        }
    }

    pub fn set_int(&mut self, field: Field, value: i64) {
        self.put(field, Value::Int(value));
    }

    pub fn set_bool(&mut self, field: Field, value: bool) {
        self.put(field, Value::Bool(value));
    }

    /// Event time in microseconds since the Unix epoch (UTC).
    pub fn set_timestamp_micros(&mut self, micros: i64) {
        self.put(f::EVENT_TIMESTAMP, Value::Timestamp(micros));
    }

    pub fn timestamp_micros(&self) -> Option<i64> {
        self.int(f::EVENT_TIMESTAMP)
    }

    pub fn clear(&mut self, field: Field) {
        if let Ok(i) = self.slot(field) {
            self.values.remove(i);
        }
    }

    /// Record provenance in the `lateral.*` columns.
    pub fn set_provenance(&mut self, p: &Provenance) {
        self.put(f::SOURCE_FILE, Value::Str(p.file.clone()));
        self.put(f::SOURCE_FORMAT, Value::Str(p.format.to_string()));
        if let Some(r) = p.record {
            self.set_int(f::RECORD_NUMBER, r);
        }
        if let Some(o) = p.offset {
            self.set_int(f::BYTE_OFFSET, o);
        }
    }

    /// The original record text.
    pub fn set_raw(&mut self, raw: impl Into<String>) {
        self.put(f::RAW, Value::Str(raw.into()));
    }

    /// Iterate over the fields that hold a value, in field order.
    pub fn iter(&self) -> impl Iterator<Item = (Field, &Value)> {
        self.values.iter().map(|(f, v)| (*f, v))
    }

    /// The fields that hold a value with their values, ordered by field index.
    pub fn entries(&self) -> &[(Field, Value)] {
        &self.values
    }

    /// Keep only the fields for which `keep` holds (and release the spare capacity).
    pub fn retain_fields(&mut self, keep: impl Fn(Field) -> bool) {
        self.values.retain(|(f, _)| keep(*f));
        self.values.shrink_to_fit();
    }
}

/// `additional.fields` of one event: text keys and values ordered by key, at most one value per
/// key. The subset of a `BTreeMap<String, String>`'s interface the readers use, stored as one
/// sorted vector (a B-tree node costs over 500 bytes even for one entry, and most events carry
/// a handful).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Additional(Vec<(String, String)>);

impl Additional {
    fn slot(&self, key: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(k, _)| k.as_str().cmp(key))
    }

    /// Set `key`, returning the value it replaced.
    pub fn insert(&mut self, key: String, value: String) -> Option<String> {
        match self.slot(&key) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, value)),
            Err(i) => {
                self.0.insert(i, (key, value));
                None
            }
        }
    }

    /// Set `key` only when it has no value yet.
    pub fn insert_if_absent(&mut self, key: String, value: String) {
        if let Err(i) = self.slot(&key) {
            self.0.insert(i, (key, value));
        }
    }

    pub fn get(&self, key: &str) -> Option<&String> {
        self.slot(key).ok().map(|i| &self.0[i].1)
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.slot(key).is_ok()
    }

    pub fn remove(&mut self, key: &str) -> Option<String> {
        self.slot(key).ok().map(|i| self.0.remove(i).1)
    }

    /// Keep only the entries whose key satisfies `keep`.
    pub fn retain(&mut self, keep: impl Fn(&str) -> bool) {
        self.0.retain(|(k, _)| keep(k));
        self.0.shrink_to_fit();
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Entries in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &String)> {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

impl<'a> IntoIterator for &'a Additional {
    type Item = (&'a String, &'a String);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (String, String)>,
        fn(&'a (String, String)) -> (&'a String, &'a String),
    >;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(k, v)| (k, v))
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

    #[test]
    fn additional_fields_behave_as_an_ordered_map() {
        let mut a = Additional::default();
        assert_eq!(a.insert("b".into(), "1".into()), None);
        assert_eq!(a.insert("a".into(), "2".into()), None);
        assert_eq!(a.insert("b".into(), "3".into()), Some("1".into()));
        a.insert_if_absent("a".into(), "ignored".into());
        a.insert_if_absent("c".into(), "4".into());
        let all: Vec<(&String, &String)> = a.iter().collect();
        assert_eq!(all.len(), 3);
        assert_eq!((all[0].0.as_str(), all[0].1.as_str()), ("a", "2"));
        assert_eq!((all[1].0.as_str(), all[1].1.as_str()), ("b", "3"));
        assert_eq!(a.get("c").map(String::as_str), Some("4"));
        assert!(a.contains_key("a") && !a.contains_key("z"));
        assert_eq!(a.remove("a").as_deref(), Some("2"));
        assert_eq!((&a).into_iter().count(), 2);
        a.retain(|k| k != "c");
        assert!(!a.contains_key("c") && a.contains_key("b"));
    }

    #[test]
    fn fields_set_in_any_order_are_kept_in_field_order() {
        let mut e = UdmEvent::new();
        e.set_str(f::TARGET_PORT, "445");
        e.set_str(f::EVENT_TYPE, "USER_LOGIN");
        e.set_timestamp_micros(7);
        e.set_str(f::EVENT_TYPE, "PROCESS_LAUNCH");
        let fields: Vec<Field> = e.iter().map(|(f, _)| f).collect();
        let mut sorted = fields.clone();
        sorted.sort();
        assert_eq!(fields, sorted);
        assert_eq!(fields.len(), 3, "setting a field twice keeps one entry");
        assert_eq!(e.str(f::EVENT_TYPE), Some("PROCESS_LAUNCH"));
        e.clear(f::EVENT_TYPE);
        assert_eq!(e.str(f::EVENT_TYPE), None);
        assert_eq!(e.int(f::TARGET_PORT), Some(445));
        assert_eq!(e.timestamp_micros(), Some(7));
        e.set_str_if_absent(f::TARGET_PORT, "139");
        assert_eq!(e.int(f::TARGET_PORT), Some(445));
        e.retain_fields(|f| f != f::TARGET_PORT);
        assert_eq!(e.int(f::TARGET_PORT), None);
        assert_eq!(e.timestamp_micros(), Some(7));
    }
}
