//! Azure Activity log JSON: diagnostic-settings exports (`{"records":[...]}` or one record per
//! line), the REST API (`{"value":[...]}`), arrays and single records.
//!
//! See [`crate::normalise::cloud`] for the fields.

use std::ops::ControlFlow;

use crate::error::FileError;
use crate::normalise::cloud::{azure, AZURE_ACTIVITY};
use crate::readers::lines::{contains, for_each_json_object};
use crate::readers::{Input, ReadOptions, ReadStats};
use crate::sink::EventSink;

/// Whether the first bytes look like this format: an `operationName` with a `resourceId` (or `ResourceId`) or a
/// `correlationId`.
pub fn sniff(head: &[u8]) -> bool {
    let start = head.iter().find(|b| !b.is_ascii_whitespace());
    if !matches!(start, Some(b'{' | b'[')) {
        return false;
    }
    (contains(head, b"\"operationName\"") || contains(head, b"\"OperationNameValue\""))
        && (contains(head, b"\"resourceId\"")
            || contains(head, b"\"ResourceId\"")
            || contains(head, b"\"correlationId\""))
}

/// Streams the input's events into the sink.
pub fn read(
    input: &mut Input,
    options: &ReadOptions,
    sink: &mut dyn EventSink,
    stats: &mut ReadStats,
) -> Result<(), FileError> {
    for_each_json_object(
        input,
        options,
        sink,
        stats,
        &mut |map, provenance, sink, stats| {
            if !options.interest.wants(&AZURE_ACTIVITY) {
                stats.skipped += 1;
                return ControlFlow::Continue(());
            }
            stats.events += 1;
            sink.event(azure(&map, provenance, options.keep_original))
        },
    )
}
