//! Problems met while reading evidence: reported with file and position, counted, never fatal
//! to the rest of the run.

use std::fmt;

/// Where in a file a problem was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Position {
    /// The whole file (unreadable, unknown format).
    File,
    /// An EVTX chunk (0-based number) and, when known, the record id.
    Chunk { chunk: u64, record: Option<u64> },
    /// An EVTX record id.
    Record(u64),
    /// A 1-based line (JSON lines, Splunk XML lines).
    Line(u64),
    /// A byte offset in the (decompressed) file.
    Offset(u64),
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Position::File => f.write_str("file"),
            Position::Chunk {
                chunk,
                record: Some(r),
            } => write!(f, "chunk {chunk}, record {r}"),
            Position::Chunk {
                chunk,
                record: None,
            } => write!(f, "chunk {chunk}"),
            Position::Record(r) => write!(f, "record {r}"),
            Position::Line(l) => write!(f, "line {l}"),
            Position::Offset(o) => write!(f, "byte offset {o}"),
        }
    }
}

/// One problem: the file, where in it, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadIssue {
    pub file: String,
    pub position: Position,
    pub message: String,
    /// True when the whole file could not be read (nothing from it is in the results).
    pub fatal_for_file: bool,
}

impl ReadIssue {
    pub fn new(file: impl Into<String>, position: Position, message: impl Into<String>) -> Self {
        ReadIssue {
            file: file.into(),
            position,
            message: message.into(),
            fatal_for_file: false,
        }
    }

    pub fn whole_file(file: impl Into<String>, message: impl Into<String>) -> Self {
        ReadIssue {
            file: file.into(),
            position: Position::File,
            message: message.into(),
            fatal_for_file: true,
        }
    }
}

impl fmt::Display for ReadIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.file, self.position, self.message)
    }
}
