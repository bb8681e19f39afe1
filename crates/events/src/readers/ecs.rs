//! Reader for Elastic Common Schema process documents (not written yet).

use crate::error::FileError;
use crate::readers::{Input, ReadOptions, ReadStats};
use crate::sink::EventSink;

/// Whether the first bytes look like this format.
pub fn sniff(_head: &[u8]) -> bool {
    false
}

/// Streams the input's events into the sink.
pub fn read(
    input: &mut Input,
    _options: &ReadOptions,
    _sink: &mut dyn EventSink,
    _stats: &mut ReadStats,
) -> Result<(), FileError> {
    Err(FileError::new(input.path_buf(), "the ECS reader is not available yet"))
}
