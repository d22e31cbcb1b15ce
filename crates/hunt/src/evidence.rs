//! The hunt's in-memory view of the candidate events: one [`Ev`] per row, with typed access
//! by UDM field and the provenance every finding cites.

use std::collections::BTreeMap;

use datafusion::arrow::array::{
    Array, BooleanArray, Int64Array, MapArray, StringArray, TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::record_batch::RecordBatch;
use lateral_model::{f, Field};
use serde::Serialize;

/// Name of the row-id column the hunt adds to the candidate table.
pub const ROW_ID: &str = "lateral.row_id";

#[derive(Debug, Clone, PartialEq)]
enum Cell {
    Str(String),
    Int(i64),
    Bool(bool),
}

/// One candidate event.
#[derive(Debug, Clone)]
pub struct Ev {
    pub row: u32,
    /// Event time, µs since the epoch (UTC).
    pub ts: i64,
    cells: Vec<(u16, Cell)>,
    pub extra: BTreeMap<String, String>,
    /// The evidence reference, built on first use: an event is cited by several findings,
    /// and its one-line summary is the costly part.
    cited: std::sync::OnceLock<EvidenceRef>,
}

impl Ev {
    fn cell(&self, field: Field) -> Option<&Cell> {
        let k = field.0 as u16;
        self.cells.iter().find(|(i, _)| *i == k).map(|(_, c)| c)
    }

    /// A text field, `""` when absent.
    pub fn s(&self, field: Field) -> &str {
        match self.cell(field) {
            Some(Cell::Str(s)) => s,
            _ => "",
        }
    }

    /// A text field, `None` when absent or empty.
    pub fn opt(&self, field: Field) -> Option<&str> {
        let s = self.s(field);
        (!s.is_empty()).then_some(s)
    }

    pub fn int(&self, field: Field) -> Option<i64> {
        match self.cell(field) {
            Some(Cell::Int(v)) => Some(*v),
            _ => None,
        }
    }

    pub fn flag(&self, field: Field) -> bool {
        matches!(self.cell(field), Some(Cell::Bool(true)))
    }

    pub fn event_id(&self) -> i64 {
        self.int(f::EVENT_ID).unwrap_or(0)
    }

    pub fn channel(&self) -> &str {
        self.s(f::CHANNEL)
    }

    pub fn is(&self, channel: &str, id: i64) -> bool {
        self.event_id() == id && self.channel().eq_ignore_ascii_case(channel)
    }

    pub fn is_sysmon(&self, id: i64) -> bool {
        self.is("Microsoft-Windows-Sysmon/Operational", id)
    }

    pub fn is_security(&self, id: i64) -> bool {
        self.is("Security", id)
    }

    pub fn is_system(&self, id: i64) -> bool {
        self.is("System", id)
    }

    /// Whether the event was decoded from a packet capture (`lateral-pcap`): it was seen on
    /// the wire between a client (`principal`) and a server (`target`), not logged by a host.
    pub fn is_capture(&self) -> bool {
        self.s(f::LOG_TYPE) == "PCAP"
    }

    /// The computer that logged the event; for a captured event, the server it was aimed at
    /// (its name from the NTLM challenge, Kerberos service name or tree path, else its
    /// address): the host that acted on it.
    pub fn host(&self) -> &str {
        if self.is_capture() {
            return self
                .opt(f::TARGET_HOSTNAME)
                .or_else(|| self.opt(f::TARGET_IP))
                .unwrap_or("");
        }
        self.opt(f::OBSERVER_HOSTNAME)
            .or_else(|| self.opt(f::PRINCIPAL_HOSTNAME))
            .unwrap_or("")
    }

    /// The pipe name of a named-pipe event: the bare name for captured opens (`additional`
    /// `named_pipe`), the logged path otherwise.
    pub fn pipe_name(&self) -> &str {
        self.additional("named_pipe")
            .unwrap_or_else(|| self.s(f::TARGET_FILE_PATH))
    }

    pub fn additional(&self, key: &str) -> Option<&str> {
        self.extra
            .get(key)
            .map(String::as_str)
            .filter(|s| !s.is_empty())
    }

    /// Where the event came from.
    pub fn evidence_ref(&self) -> EvidenceRef {
        self.cited.get_or_init(|| self.build_evidence_ref()).clone()
    }

    fn build_evidence_ref(&self) -> EvidenceRef {
        EvidenceRef {
            file: self.s(f::SOURCE_FILE).to_string(),
            record: self.int(f::RECORD_NUMBER),
            offset: self.int(f::BYTE_OFFSET),
            time: crate::time::iso(self.ts),
            host: self.host().to_string(),
            channel: if self.is_capture() {
                "network capture".to_string()
            } else {
                self.channel().to_string()
            },
            event_id: self.event_id(),
            summary: crate::describe::summary(self),
        }
    }
}

/// A pointer to one original record, with a one-line summary of it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct EvidenceRef {
    pub time: String,
    pub host: String,
    pub channel: String,
    pub event_id: i64,
    pub file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<i64>,
    pub summary: String,
}

/// Convert result batches to events. Columns are found by name; unknown columns are ignored.
pub fn events_from_batches(batches: &[RecordBatch]) -> Vec<Ev> {
    let mut out = Vec::new();
    for batch in batches {
        let schema = batch.schema();
        let mut cols: Vec<(Option<Field>, bool, &dyn Array)> = Vec::new();
        for (i, field) in schema.fields().iter().enumerate() {
            let name = field.name();
            let is_row = name == ROW_ID;
            cols.push((Field::by_name(name), is_row, batch.column(i).as_ref()));
        }
        for r in 0..batch.num_rows() {
            let mut ev = Ev {
                row: 0,
                ts: 0,
                cells: Vec::with_capacity(24),
                extra: BTreeMap::new(),
                cited: std::sync::OnceLock::new(),
            };
            for (field, is_row, array) in &cols {
                if array.is_null(r) {
                    continue;
                }
                if *is_row {
                    if let Some(a) = array.as_any().downcast_ref::<Int64Array>() {
                        ev.row = u32::try_from(a.value(r)).unwrap_or(u32::MAX);
                    }
                    continue;
                }
                let Some(field) = field else { continue };
                match array.data_type() {
                    DataType::Utf8 => {
                        if let Some(a) = array.as_any().downcast_ref::<StringArray>() {
                            let v = a.value(r);
                            if !v.is_empty() {
                                ev.cells.push((field.0 as u16, Cell::Str(v.to_string())));
                            }
                        }
                    }
                    DataType::Int64 => {
                        if let Some(a) = array.as_any().downcast_ref::<Int64Array>() {
                            ev.cells.push((field.0 as u16, Cell::Int(a.value(r))));
                        }
                    }
                    DataType::Boolean => {
                        if let Some(a) = array.as_any().downcast_ref::<BooleanArray>() {
                            ev.cells.push((field.0 as u16, Cell::Bool(a.value(r))));
                        }
                    }
                    DataType::Timestamp(_, _) => {
                        if let Some(a) = array.as_any().downcast_ref::<TimestampMicrosecondArray>()
                        {
                            if *field == f::EVENT_TIMESTAMP {
                                // Clamped to ±36 000 years so that time differences never
                                // overflow, whatever a corrupt record claims.
                                ev.ts = a.value(r).clamp(-(1 << 60), 1 << 60);
                            }
                        }
                    }
                    DataType::Map(_, _) => {
                        if let Some(a) = array.as_any().downcast_ref::<MapArray>() {
                            let entries = a.value(r);
                            let keys = entries.column(0).as_any().downcast_ref::<StringArray>();
                            let values = entries.column(1).as_any().downcast_ref::<StringArray>();
                            if let (Some(k), Some(v)) = (keys, values) {
                                for i in 0..k.len() {
                                    if !v.is_null(i) {
                                        ev.extra
                                            .insert(k.value(i).to_string(), v.value(i).to_string());
                                    }
                                }
                            }
                        }
                    }
                    _ => {}
                }
            }
            out.push(ev);
        }
    }
    out.sort_by_key(|e| e.row);
    out
}
