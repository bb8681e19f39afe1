//! AWS CloudTrail: `{"Records":[...]}` files as CloudTrail delivers them to S3, one record
//! per line, a top-level array, or single (pretty-printed) records.
//!
//! Elements of a giant `Records` array are streamed one at a time. See
//! [`crate::normalise::cloud`] for the fields.

use std::ops::ControlFlow;

use crate::error::FileError;
use crate::normalise::cloud::{cloudtrail, CLOUDTRAIL};
use crate::readers::lines::{contains, for_each_json_object};
use crate::readers::{Input, ReadOptions, ReadStats};
use crate::sink::EventSink;

/// Whether the first bytes look like this format: CloudTrail record keys (`eventSource` with `eventVersion`,
/// `awsRegion` or `recipientAccountId`).
pub fn sniff(head: &[u8]) -> bool {
    let start = head.iter().find(|b| !b.is_ascii_whitespace());
    if !matches!(start, Some(b'{' | b'[')) {
        return false;
    }
    contains(head, b"\"eventSource\"")
        && (contains(head, b"\"eventVersion\"")
            || contains(head, b"\"awsRegion\"")
            || contains(head, b"\"recipientAccountId\""))
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
            if !options.interest.wants(&CLOUDTRAIL) {
                stats.skipped += 1;
                return ControlFlow::Continue(());
            }
            stats.events += 1;
            sink.event(cloudtrail(&map, provenance, options.keep_original))
        },
    )
}
