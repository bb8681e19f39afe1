//! Elastic Common Schema documents: Elastic Endpoint / Elastic Defend process, network and
//! file events, Auditbeat (`auditd` and `system` modules) and other ECS producers, one
//! document per line, as a JSON array, or pretty-printed one after another.
//!
//! Winlogbeat documents (`winlog.*`) are Windows event log records and are read by the
//! Windows JSON reader, which content sniffing tries first; one met here is reported and
//! skipped. See [`crate::normalise::ecs`] for the logsources and fields.

use std::ops::ControlFlow;

use serde_json::{Map, Value as Json};

use crate::error::FileError;
use crate::normalise::ecs::{from_ecs, is_ecs_process_document, Outcome};
use crate::readers::lines::{contains, for_each_json_object, report};
use crate::readers::{Input, ReadOptions, ReadStats};
use crate::sink::EventSink;

/// Whether the first bytes look like this format: the first JSON object (of a document
/// stream or an array) has `event.category` and a process (`process.executable`,
/// `process.command_line` or `process.args`), and no `winlog`.
pub fn sniff(head: &[u8]) -> bool {
    let mut at = skip_ws(head, 0);
    if head.get(at) == Some(&b'[') {
        at = skip_ws(head, at + 1);
    }
    if head.get(at) != Some(&b'{') {
        return false;
    }
    let mut values =
        serde_json::Deserializer::from_slice(&head[at..]).into_iter::<Map<String, Json>>();
    match values.next() {
        Some(Ok(first)) => is_ecs_process_document(&first),
        // The first object is longer than the head (or not JSON): judge by its keys.
        _ => {
            !contains(head, b"\"winlog")
                && (contains(head, b"\"category\"") || contains(head, b"\"event.category\""))
                && (contains(head, b"\"executable\"")
                    || contains(head, b"\"command_line\"")
                    || contains(head, b"\"process.executable\"")
                    || contains(head, b"\"process.command_line\""))
        }
    }
}

fn skip_ws(bytes: &[u8], mut at: usize) -> usize {
    while bytes.get(at).is_some_and(u8::is_ascii_whitespace) {
        at += 1;
    }
    at
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
        &mut |map, provenance, sink, stats| match from_ecs(
            map,
            provenance.clone(),
            &options.interest,
            options.keep_original,
        ) {
            Ok(Outcome::Event(event, warning)) => {
                if let Some(message) = warning {
                    report(sink, stats, provenance, message);
                }
                stats.events += 1;
                sink.event(*event)
            }
            Ok(Outcome::Skipped) => {
                stats.skipped += 1;
                ControlFlow::Continue(())
            }
            Err(message) => {
                report(sink, stats, provenance, message);
                ControlFlow::Continue(())
            }
        },
    )
}
