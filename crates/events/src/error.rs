//! Errors are values: a bad record is reported with its provenance and skipped, a bad
//! file does not stop the run.

use std::path::PathBuf;

use crate::event::Provenance;

/// A file that could not be read at all (or stopped being readable part-way).
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct FileError {
    /// The file.
    pub path: PathBuf,
    /// What went wrong, in words.
    pub message: String,
}

impl FileError {
    /// A file error from anything printable.
    pub fn new(path: impl Into<PathBuf>, message: impl std::fmt::Display) -> Self {
        FileError {
            path: path.into(),
            message: message.to_string(),
        }
    }
}

/// One record that could not be parsed or normalised; the rest of its file goes on.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{at}: {message}")]
pub struct RecordError {
    /// The file and record, line or offset.
    pub at: Provenance,
    /// What went wrong, in words.
    pub message: String,
}
