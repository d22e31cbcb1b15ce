//! The hunt's in-memory view of the candidate events: one [`Ev`] per row, with typed access
//! by UDM field and the provenance every finding cites.

use datafusion::arrow::array::{
    Array, BooleanArray, Int64Array, MapArray, StringArray, TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::record_batch::RecordBatch;
use lateral_model::{f, Additional, Field};
use serde::Serialize;

/// Name of the row-id column the hunt adds to the candidate table.
pub const ROW_ID: &str = "lateral.row_id";

/// A field's value; text is a range of the event's one text buffer.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Cell {
    Str(u32, u32),
    Int(i64),
    Bool(bool),
}

/// One candidate event.
///
/// Compact because a hunt over a large store holds hundreds of thousands of these: every
/// text value lives in one buffer per event (one allocation, not one per field), the cells
/// are an exact-size slice, and the evidence reference is boxed until an event is cited.
#[derive(Debug, Clone)]
pub struct Ev {
    pub row: u32,
    /// Event time, µs since the epoch (UTC).
    pub ts: i64,
    text: Box<str>,
    cells: Box<[(u16, Cell)]>,
    pub extra: Additional,
    /// The evidence reference, built on first use: an event is cited by several findings,
    /// and its one-line summary is the costly part.
    cited: std::sync::OnceLock<Box<EvidenceRef>>,
}

impl Ev {
    fn cell(&self, field: Field) -> Option<Cell> {
        let k = field.0 as u16;
        self.cells.iter().find(|(i, _)| *i == k).map(|(_, c)| *c)
    }

    /// A text field, `""` when absent.
    pub fn s(&self, field: Field) -> &str {
        match self.cell(field) {
            Some(Cell::Str(from, len)) => self
                .text
                .get(from as usize..(from as usize + len as usize))
                .unwrap_or(""),
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
            Some(Cell::Int(v)) => Some(v),
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
        EvidenceRef::clone(
            self.cited
                .get_or_init(|| Box::new(self.build_evidence_ref())),
        )
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
    /// A column of the candidate table, typed once per batch (the flag columns, which are no
    /// UDM field, are left out).
    enum Col<'a> {
        Row(&'a Int64Array),
        Str(u16, &'a StringArray),
        Int(u16, &'a Int64Array),
        Bool(u16, &'a BooleanArray),
        Time(&'a TimestampMicrosecondArray),
        Map(&'a MapArray),
    }
    let mut out = Vec::with_capacity(batches.iter().map(RecordBatch::num_rows).sum());
    for batch in batches {
        let schema = batch.schema();
        let mut cols: Vec<Col<'_>> = Vec::new();
        for (i, field) in schema.fields().iter().enumerate() {
            let array = batch.column(i).as_any();
            if field.name() == ROW_ID {
                cols.extend(array.downcast_ref::<Int64Array>().map(Col::Row));
                continue;
            }
            let Some(udm) = Field::by_name(field.name()) else {
                continue;
            };
            let k = udm.0 as u16;
            let col = match field.data_type() {
                DataType::Utf8 => array.downcast_ref::<StringArray>().map(|a| Col::Str(k, a)),
                DataType::Int64 => array.downcast_ref::<Int64Array>().map(|a| Col::Int(k, a)),
                DataType::Boolean => array
                    .downcast_ref::<BooleanArray>()
                    .map(|a| Col::Bool(k, a)),
                DataType::Timestamp(_, _) if udm == f::EVENT_TIMESTAMP => array
                    .downcast_ref::<TimestampMicrosecondArray>()
                    .map(Col::Time),
                DataType::Map(_, _) => array.downcast_ref::<MapArray>().map(Col::Map),
                _ => None,
            };
            cols.extend(col);
        }
        let mut text = String::new();
        let mut cells: Vec<(u16, Cell)> = Vec::with_capacity(cols.len());
        for r in 0..batch.num_rows() {
            text.clear();
            cells.clear();
            let (mut row, mut ts, mut extra) = (0, 0, Additional::default());
            for col in &cols {
                match col {
                    Col::Row(a) if a.is_valid(r) => {
                        row = u32::try_from(a.value(r)).unwrap_or(u32::MAX);
                    }
                    Col::Str(k, a) if a.is_valid(r) => {
                        let v = a.value(r);
                        // An event's text beyond 4 GiB cannot be addressed: such a value is
                        // left out rather than wrapped.
                        let from = u32::try_from(text.len());
                        let len = u32::try_from(v.len());
                        if let (false, Ok(from), Ok(len)) = (v.is_empty(), from, len) {
                            text.push_str(v);
                            cells.push((*k, Cell::Str(from, len)));
                        }
                    }
                    Col::Int(k, a) if a.is_valid(r) => cells.push((*k, Cell::Int(a.value(r)))),
                    Col::Bool(k, a) if a.is_valid(r) => cells.push((*k, Cell::Bool(a.value(r)))),
                    // Clamped to ±36 000 years so that time differences never overflow,
                    // whatever a corrupt record claims.
                    Col::Time(a) if a.is_valid(r) => ts = a.value(r).clamp(-(1 << 60), 1 << 60),
                    Col::Map(a) if a.is_valid(r) => {
                        let entries = a.value(r);
                        let keys = entries.column(0).as_any().downcast_ref::<StringArray>();
                        let values = entries.column(1).as_any().downcast_ref::<StringArray>();
                        if let (Some(k), Some(v)) = (keys, values) {
                            for i in 0..k.len() {
                                if !v.is_null(i) {
                                    extra.insert(k.value(i).to_string(), v.value(i).to_string());
                                }
                            }
                        }
                    }
                    _ => {}
                }
            }
            out.push(Ev {
                row,
                ts,
                text: Box::from(text.as_str()),
                cells: cells.as_slice().into(),
                extra,
                cited: std::sync::OnceLock::new(),
            });
        }
    }
    out.sort_by_key(|e| e.row);
    out
}
