//! Linux auditd raw logs (`/var/log/audit/audit.log`).
//!
//! One audit event is several records (lines) sharing `msg=audit(TIME:SERIAL)`: an
//! `execve` is SYSCALL + EXECVE + CWD + PATH... + PROCTITLE, and records of concurrent
//! events interleave. The reader keeps a bounded window of pending serials and joins
//! their records whatever the order; an event is complete at its EOE record, when the
//! window overflows (oldest first), or at the end of the file. See
//! [`crate::normalise::linux`] for what the joined event becomes.

use std::collections::{HashMap, VecDeque};
use std::ops::ControlFlow;

use crate::error::FileError;
use crate::event::{Locator, Original, Provenance};
use crate::normalise::linux::{AuditEvent, ProcessTable};
use crate::readers::lines::{contains, head_lines, report, report_too_long, Line, LineReader};
use crate::readers::{Input, ReadOptions, ReadStats};
use crate::sink::EventSink;

/// Serials waiting for more records before the oldest is emitted. Records of one event
/// arrive within microseconds of each other, so a small window suffices.
const PENDING_WINDOW: usize = 256;
/// Records kept for one event; more are counted and reported, not held.
const MAX_RECORDS_PER_EVENT: usize = 1024;
/// Bytes of record text held across all pending events; beyond it the oldest events are
/// emitted early.
const MAX_PENDING_BYTES: usize = 64 * 1024 * 1024;

/// Whether the first bytes look like this format: a line carrying `type=` and
/// `msg=audit(` among the first few.
pub fn sniff(head: &[u8]) -> bool {
    head_lines(head, 5).any(|line| contains(line, b"type=") && contains(line, b"msg=audit("))
}

/// Streams the input's events into the sink.
pub fn read(
    input: &mut Input,
    options: &ReadOptions,
    sink: &mut dyn EventSink,
    stats: &mut ReadStats,
) -> Result<(), FileError> {
    let path = input.path_buf();
    let mut joiner = Joiner::new(input.name.clone(), options);
    let mut lines = LineReader::new(&mut input.reader, options.max_record_bytes);
    while let Some(line) = lines.next_line().map_err(|e| FileError::new(&path, e))? {
        let flow = match line {
            Line::Text { number, bytes } => joiner.line(number, bytes, sink, stats),
            Line::TooLong { number, length } => {
                let at = joiner.at(number);
                report_too_long(sink, stats, at, length, options);
                ControlFlow::Continue(())
            }
        };
        if flow.is_break() {
            return Ok(());
        }
    }
    // Events still pending at the end of the input are complete: emit them (a stop
    // request from the sink needs nothing more, the input ends here anyway).
    let _stop_requested = joiner.flush_all(sink, stats).is_break();
    Ok(())
}

/// One parsed record line.
pub(crate) struct RecordLine<'a> {
    /// `node=` prefix: the host that wrote it.
    pub(crate) node: Option<&'a str>,
    /// The record type (`SYSCALL`, `EXECVE`...).
    pub(crate) kind: &'a str,
    /// `TIME:SERIAL` inside `audit(...)`.
    pub(crate) stamp: &'a str,
    /// What follows `): `.
    pub(crate) body: &'a str,
}

/// Splits an audit line into its header and body; `None` when it is not one.
pub(crate) fn parse_line(line: &str) -> Option<RecordLine<'_>> {
    let type_at = find_token(line, "type=")?;
    let prefix = &line[..type_at];
    let node = find_token(prefix, "node=").map(|at| {
        let rest = &prefix[at + 5..];
        rest.split_ascii_whitespace().next().unwrap_or("")
    });
    let rest = &line[type_at + 5..];
    let kind_end = rest.find(' ')?;
    let kind = &rest[..kind_end];
    let rest = rest[kind_end..].trim_start();
    let rest = rest.strip_prefix("msg=audit(")?;
    let close = rest.find(')')?;
    let stamp = &rest[..close];
    let body = rest[close + 1..].trim_start_matches(':').trim_start();
    Some(RecordLine {
        node,
        kind,
        stamp,
        body,
    })
}

/// Finds `token` where it starts a whitespace-separated word.
fn find_token(text: &str, token: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(found) = text[from..].find(token) {
        let at = from + found;
        if at == 0 || text.as_bytes()[at - 1].is_ascii_whitespace() {
            return Some(at);
        }
        from = at + token.len();
    }
    None
}

struct Pending {
    event: AuditEvent,
    first_line: u64,
    records: usize,
    bytes: usize,
    original: Option<String>,
}

struct Joiner<'o> {
    name: std::sync::Arc<str>,
    options: &'o ReadOptions,
    pending: HashMap<String, Pending>,
    order: VecDeque<String>,
    pending_bytes: usize,
    processes: ProcessTable,
}

impl<'o> Joiner<'o> {
    fn new(name: std::sync::Arc<str>, options: &'o ReadOptions) -> Self {
        Joiner {
            name,
            options,
            pending: HashMap::new(),
            order: VecDeque::new(),
            pending_bytes: 0,
            processes: ProcessTable::default(),
        }
    }

    fn at(&self, line: u64) -> Provenance {
        Provenance {
            source: self.name.clone(),
            locator: Locator::Line(line),
        }
    }

    fn line(
        &mut self,
        number: u64,
        bytes: &[u8],
        sink: &mut dyn EventSink,
        stats: &mut ReadStats,
    ) -> ControlFlow<()> {
        let text = String::from_utf8_lossy(bytes);
        let trimmed = text.trim();
        if trimmed.is_empty() || trimmed.starts_with("----") || trimmed.starts_with("time->") {
            return ControlFlow::Continue(());
        }
        let Some(record) = parse_line(trimmed) else {
            stats.records += 1;
            report(
                sink,
                stats,
                self.at(number),
                "not an auditd record (expected `type=... msg=audit(TIME:SERIAL): ...`)",
            );
            return ControlFlow::Continue(());
        };
        let key = match record.node {
            Some(node) => format!("{node}|{}", record.stamp),
            None => record.stamp.to_owned(),
        };
        if record.kind == "EOE" {
            // Where the kernel writes EOE, every multi-record event ends with one: events
            // opened before this one and still pending are complete too (single records,
            // or a parent whose exec must be known before its child's).
            if let Some(at) = self.order.iter().position(|k| *k == key) {
                for _ in 0..=at {
                    let Some(done) = self.order.pop_front() else {
                        break;
                    };
                    if let Some(p) = self.pending.remove(&done) {
                        self.emit(p, sink, stats)?;
                    }
                }
            }
            return ControlFlow::Continue(());
        }
        if !self.pending.contains_key(&key) {
            let Some(event) = AuditEvent::new(record.stamp, record.node) else {
                stats.records += 1;
                report(
                    sink,
                    stats,
                    self.at(number),
                    format!("unreadable audit stamp `{}`", record.stamp),
                );
                return ControlFlow::Continue(());
            };
            while self.order.len() >= PENDING_WINDOW {
                let Some(oldest) = self.order.pop_front() else {
                    break;
                };
                if let Some(p) = self.pending.remove(&oldest) {
                    self.emit(p, sink, stats)?;
                }
            }
            self.order.push_back(key.clone());
            self.pending.insert(
                key.clone(),
                Pending {
                    event,
                    first_line: number,
                    records: 0,
                    bytes: 0,
                    original: self.options.keep_original.then(String::new),
                },
            );
        }
        let at = self.at(number);
        let Some(pending) = self.pending.get_mut(&key) else {
            return ControlFlow::Continue(());
        };
        pending.records += 1;
        if pending.records > MAX_RECORDS_PER_EVENT {
            report(
                sink,
                stats,
                at,
                format!(
                    "audit event {} has more than {MAX_RECORDS_PER_EVENT} records: record skipped",
                    record.stamp
                ),
            );
            return ControlFlow::Continue(());
        }
        if let Some(original) = &mut pending.original {
            if !original.is_empty() {
                original.push('\n');
            }
            original.push_str(trimmed);
        }
        pending.event.add_record(record.kind, record.body);
        pending.bytes += trimmed.len();
        self.pending_bytes += trimmed.len();
        while self.pending_bytes > MAX_PENDING_BYTES {
            let Some(oldest) = self.order.pop_front() else {
                break;
            };
            if let Some(p) = self.pending.remove(&oldest) {
                self.emit(p, sink, stats)?;
            }
        }
        ControlFlow::Continue(())
    }

    fn emit(
        &mut self,
        pending: Pending,
        sink: &mut dyn EventSink,
        stats: &mut ReadStats,
    ) -> ControlFlow<()> {
        stats.records += 1;
        self.pending_bytes = self.pending_bytes.saturating_sub(pending.bytes);
        let provenance = self.at(pending.first_line);
        let logsource = pending.event.logsource();
        if !self.options.interest.wants(&logsource) {
            stats.skipped += 1;
            return ControlFlow::Continue(());
        }
        let (mut event, warning) =
            pending
                .event
                .into_event(logsource, provenance.clone(), &mut self.processes);
        if let Some(message) = warning {
            report(sink, stats, provenance, message);
        }
        event.original = pending.original.map(Original::Text);
        stats.events += 1;
        sink.event(event)
    }

    fn flush_all(&mut self, sink: &mut dyn EventSink, stats: &mut ReadStats) -> ControlFlow<()> {
        while let Some(key) = self.order.pop_front() {
            if let Some(p) = self.pending.remove(&key) {
                self.emit(p, sink, stats)?;
            }
        }
        ControlFlow::Continue(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn header() {
        let r = parse_line(
            "node=web1 type=EXECVE msg=audit(1604994496.155:92733): argc=2 a0=\"arp\" a1=\"-a\"",
        )
        .unwrap();
        assert_eq!(r.node, Some("web1"));
        assert_eq!(r.kind, "EXECVE");
        assert_eq!(r.stamp, "1604994496.155:92733");
        assert_eq!(r.body, "argc=2 a0=\"arp\" a1=\"-a\"");
        assert!(parse_line("hello world").is_none());
    }
}
