//! Problems met while reading a capture. Each names the frame and byte offset; reading goes on.

use thiserror::Error;

/// A problem at a position in a capture; the reader goes on after it.
#[derive(Debug, Clone, PartialEq, Eq, Error, serde::Serialize)]
#[error("frame {frame} (offset {offset}): {message}")]
pub struct CaptureIssue {
    /// 1-based frame number the problem belongs to (0 = the file header).
    pub frame: u64,
    /// Byte offset of the frame's record in the file.
    pub offset: u64,
    pub message: String,
}

impl CaptureIssue {
    pub fn at(frame: u64, offset: u64, message: impl Into<String>) -> Self {
        CaptureIssue {
            frame,
            offset,
            message: message.into(),
        }
    }
}

/// Why a capture could not be read at all.
#[derive(Debug, Error)]
pub enum CaptureError {
    #[error("{file}: cannot read: {source}")]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}: not a pcap or pcapng capture")]
    NotACapture { file: String },
}
