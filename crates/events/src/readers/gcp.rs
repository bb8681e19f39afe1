//! GCP Cloud Audit Logs entries (Cloud Logging exports: one entry per line, arrays, single
//! entries).
//!
//! See [`crate::normalise::cloud`] for the fields.

use std::ops::ControlFlow;

use crate::error::FileError;
use crate::normalise::cloud::{gcp, GCP_AUDIT};
use crate::readers::lines::{contains, for_each_json_object};
use crate::readers::{Input, ReadOptions, ReadStats};
use crate::sink::EventSink;

/// Whether the first bytes look like this format: a `protoPayload` or a `cloudaudit.googleapis.com` log name.
pub fn sniff(head: &[u8]) -> bool {
    let start = head.iter().find(|b| !b.is_ascii_whitespace());
    if !matches!(start, Some(b'{' | b'[')) {
        return false;
    }
    contains(head, b"\"protoPayload\"") || contains(head, b"cloudaudit.googleapis.com")
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
            if !options.interest.wants(&GCP_AUDIT) {
                stats.skipped += 1;
                return ControlFlow::Continue(());
            }
            stats.events += 1;
            sink.event(gcp(&map, provenance, options.keep_original))
        },
    )
}
