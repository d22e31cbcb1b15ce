//! Arrow schema of the event table and conversion of [`UdmEvent`] rows into record batches.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanBuilder, Int64Builder, MapBuilder, MapFieldNames, StringBuilder,
    TimestampMicrosecondBuilder,
};
use arrow::datatypes::{DataType, Field as ArrowField, Schema, SchemaRef, TimeUnit};
use arrow::error::ArrowError;
use arrow::record_batch::{RecordBatch, RecordBatchOptions};

use crate::event::{UdmEvent, Value};
use crate::fields::{Field, Kind, FIELDS};

/// Time zone of every timestamp column.
pub const UTC: &str = "UTC";

/// Arrow type of a field.
pub fn data_type(kind: Kind) -> DataType {
    match kind {
        Kind::Str => DataType::Utf8,
        Kind::Int => DataType::Int64,
        Kind::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, Some(UTC.into())),
        Kind::Bool => DataType::Boolean,
        Kind::Map => map_type(),
    }
}

fn map_names() -> MapFieldNames {
    MapFieldNames {
        entry: "entries".into(),
        key: "key".into(),
        value: "value".into(),
    }
}

fn map_type() -> DataType {
    DataType::Map(
        Arc::new(ArrowField::new(
            "entries",
            DataType::Struct(
                vec![
                    ArrowField::new("key", DataType::Utf8, false),
                    ArrowField::new("value", DataType::Utf8, true),
                ]
                .into(),
            ),
            false,
        )),
        false,
    )
}

/// The full schema of the event table, one column per catalogue field.
pub fn schema() -> SchemaRef {
    static SCHEMA: std::sync::OnceLock<SchemaRef> = std::sync::OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            Arc::new(Schema::new(
                FIELDS
                    .iter()
                    .map(|f| ArrowField::new(f.name, data_type(f.kind), true))
                    .collect::<Vec<_>>(),
            ))
        })
        .clone()
}

enum ColBuilder {
    Str(StringBuilder),
    Int(Int64Builder),
    Ts(TimestampMicrosecondBuilder),
    Bool(BooleanBuilder),
    Map(Box<MapBuilder<StringBuilder, StringBuilder>>),
}

/// Accumulates events and emits record batches holding only the projected columns.
pub struct BatchBuilder {
    projection: Vec<Field>,
    schema: SchemaRef,
    builders: Vec<ColBuilder>,
    rows: usize,
    /// The projection lists fields in catalogue order, so a row is filled by one merge walk
    /// over the event's (ordered) entries instead of a lookup per column.
    ascending: bool,
}

impl BatchBuilder {
    /// `projection`: column indices into [`schema()`]; `None` means every column.
    pub fn new(projection: Option<&[usize]>) -> Self {
        let projection: Vec<Field> = match projection {
            Some(p) => p.iter().map(|&i| Field(i)).collect(),
            None => (0..FIELDS.len()).map(Field).collect(),
        };
        let full = schema();
        let schema = Arc::new(Schema::new(
            projection
                .iter()
                .map(|f| full.field(f.0).clone())
                .collect::<Vec<_>>(),
        ));
        let ascending = projection.windows(2).all(|w| w[0] < w[1]);
        let mut b = BatchBuilder {
            projection,
            schema,
            builders: Vec::new(),
            rows: 0,
            ascending,
        };
        b.reset();
        b
    }

    fn reset(&mut self) {
        self.builders = self
            .projection
            .iter()
            .map(|f| match f.def().kind {
                Kind::Str => ColBuilder::Str(StringBuilder::new()),
                Kind::Int => ColBuilder::Int(Int64Builder::new()),
                Kind::Timestamp => {
                    ColBuilder::Ts(TimestampMicrosecondBuilder::new().with_timezone(UTC))
                }
                Kind::Bool => ColBuilder::Bool(BooleanBuilder::new()),
                Kind::Map => ColBuilder::Map(Box::new(MapBuilder::new(
                    Some(map_names()),
                    StringBuilder::new(),
                    StringBuilder::new(),
                ))),
            })
            .collect();
        self.rows = 0;
    }

    /// The projected schema of the batches this builder emits.
    pub fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    /// Whether a field is part of the projection (readers may skip costly work otherwise).
    pub fn wants(&self, field: Field) -> bool {
        self.projection.contains(&field)
    }

    pub fn len(&self) -> usize {
        self.rows
    }

    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    pub fn push(&mut self, event: &UdmEvent) {
        let entries = event.entries();
        let mut next = 0;
        for (field, builder) in self.projection.iter().zip(self.builders.iter_mut()) {
            let value = if self.ascending {
                while entries.get(next).is_some_and(|(f, _)| f < field) {
                    next += 1;
                }
                entries
                    .get(next)
                    .filter(|(f, _)| f == field)
                    .map(|(_, v)| v)
            } else {
                event.get(*field)
            };
            match builder {
                ColBuilder::Str(b) => b.append_option(value.and_then(Value::as_str)),
                ColBuilder::Int(b) => b.append_option(value.and_then(Value::as_int)),
                ColBuilder::Ts(b) => b.append_option(value.and_then(Value::as_int)),
                ColBuilder::Bool(b) => b.append_option(match value {
                    Some(Value::Bool(v)) => Some(*v),
                    _ => None,
                }),
                ColBuilder::Map(b) => {
                    for (k, v) in &event.additional {
                        b.keys().append_value(k);
                        b.values().append_value(v);
                    }
                    // Appending an entry list never fails for matching key/value counts.
                    let _ = b.append(true);
                }
            }
        }
        self.rows += 1;
    }

    /// Emit the accumulated rows as a batch and start a new one.
    pub fn finish(&mut self) -> Result<RecordBatch, ArrowError> {
        let rows = self.rows;
        let columns: Vec<ArrayRef> = self
            .builders
            .iter_mut()
            .map(|b| -> ArrayRef {
                match b {
                    ColBuilder::Str(b) => Arc::new(b.finish()),
                    ColBuilder::Int(b) => Arc::new(b.finish()),
                    ColBuilder::Ts(b) => Arc::new(b.finish()),
                    ColBuilder::Bool(b) => Arc::new(b.finish()),
                    ColBuilder::Map(b) => Arc::new(b.finish()),
                }
            })
            .collect();
        self.reset();
        RecordBatch::try_new_with_options(
            self.schema.clone(),
            columns,
            &RecordBatchOptions::new().with_row_count(Some(rows)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields::f;

    #[test]
    fn builds_projected_batches() {
        let mut e = UdmEvent::new();
        e.set_str(f::EVENT_TYPE, "PROCESS_LAUNCH");
        e.set_str(f::TARGET_PORT, "445");
        e.set_timestamp_micros(1_000_000);
        e.additional.insert("Foo".into(), "bar".into());
        let mut b = BatchBuilder::new(None);
        b.push(&e);
        b.push(&UdmEvent::new());
        let batch = b.finish().expect("batch");
        assert_eq!(batch.num_rows(), 2);
        assert_eq!(batch.num_columns(), FIELDS.len());
        assert_eq!(batch.schema(), schema());

        let proj = [f::TARGET_PORT.0];
        let mut b = BatchBuilder::new(Some(&proj));
        b.push(&e);
        let batch = b.finish().expect("batch");
        assert_eq!(batch.num_columns(), 1);
        assert_eq!(batch.schema().field(0).name(), "target.port");

        // Projections in catalogue order (merge walk) and out of order (lookups) agree.
        use arrow::array::{Array, Int64Array, StringArray};
        for proj in [
            [f::EVENT_TYPE.0, f::TARGET_PORT.0],
            [f::TARGET_PORT.0, f::EVENT_TYPE.0],
        ] {
            let mut b = BatchBuilder::new(Some(&proj));
            b.push(&e);
            b.push(&UdmEvent::new());
            let batch = b.finish().expect("batch");
            let col = |name: &str| batch.column_by_name(name).expect("column").clone();
            let types = col("metadata.event_type");
            let types = types.as_any().downcast_ref::<StringArray>().expect("utf8");
            let ports = col("target.port");
            let ports = ports.as_any().downcast_ref::<Int64Array>().expect("int64");
            assert_eq!(types.value(0), "PROCESS_LAUNCH");
            assert_eq!(ports.value(0), 445);
            assert!(types.is_null(1) && ports.is_null(1));
        }

        let mut b = BatchBuilder::new(Some(&[]));
        b.push(&e);
        assert_eq!(b.finish().expect("empty projection").num_rows(), 1);
    }
}
