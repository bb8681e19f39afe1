//! Bounded reading shared by the text and JSON readers.
//!
//! Every text reader reads through `LineReader`, which never holds more than
//! `max_record_bytes` of one line: the rest of an overlong line is consumed and counted,
//! and the line is reported as `Line::TooLong` so the reader can name it in a record
//! error and go on. A 1 GB line therefore costs a 1 GB read and a bounded buffer.
//!
//! JSON inputs that are not one document per line (pretty-printed objects, one giant
//! array, CloudTrail's `{"Records":[...]}`) go through `JsonValues`, which splits the
//! stream into top-level values (or array elements) by scanning bytes, with the same
//! bound, so no file is ever loaded whole.

use std::io::{self, BufRead};

use memchr::memchr;

use std::ops::ControlFlow;

use crate::error::{FileError, RecordError};
use crate::event::{Locator, Provenance};
use crate::readers::{Input, ReadOptions, ReadStats};
use crate::sink::EventSink;

/// One line from a [`LineReader`].
#[derive(Debug)]
pub(crate) enum Line<'a> {
    /// A line within bounds, without its `\n` (and `\r\n`).
    Text {
        /// 1-based line number.
        number: u64,
        /// The line's bytes (not necessarily UTF-8).
        bytes: &'a [u8],
    },
    /// A line longer than the bound: skipped, its length counted.
    TooLong {
        /// 1-based line number.
        number: u64,
        /// The line's full length in bytes.
        length: u64,
    },
}

/// Reads lines with a bound on how much of one line is held.
pub(crate) struct LineReader<'r, R: BufRead + ?Sized> {
    reader: &'r mut R,
    max: usize,
    number: u64,
    buf: Vec<u8>,
}

impl<'r, R: BufRead + ?Sized> LineReader<'r, R> {
    /// A reader keeping at most `max` bytes of a line.
    pub(crate) fn new(reader: &'r mut R, max: usize) -> Self {
        LineReader {
            reader,
            max: max.max(1),
            number: 0,
            buf: Vec::with_capacity(256),
        }
    }

    /// The next line, or `None` at the end of input.
    pub(crate) fn next_line(&mut self) -> io::Result<Option<Line<'_>>> {
        self.buf.clear();
        let mut length: u64 = 0;
        let mut overlong = false;
        let mut saw_any = false;
        loop {
            let chunk = match self.reader.fill_buf() {
                Ok(c) => c,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if chunk.is_empty() {
                if !saw_any {
                    return Ok(None);
                }
                break;
            }
            saw_any = true;
            let (take, done) = match memchr(b'\n', chunk) {
                Some(at) => (at, true),
                None => (chunk.len(), false),
            };
            length += take as u64;
            if !overlong {
                if self.buf.len() + take > self.max {
                    overlong = true;
                    self.buf.clear();
                    self.buf.shrink_to(4096);
                } else {
                    self.buf.extend_from_slice(&chunk[..take]);
                }
            }
            let consumed = if done { take + 1 } else { take };
            self.reader.consume(consumed);
            if done {
                break;
            }
        }
        self.number += 1;
        if overlong {
            return Ok(Some(Line::TooLong {
                number: self.number,
                length,
            }));
        }
        if self.buf.last() == Some(&b'\r') {
            self.buf.pop();
        }
        Ok(Some(Line::Text {
            number: self.number,
            bytes: &self.buf,
        }))
    }
}

/// One top-level JSON value (or array element) found by [`JsonValues`].
#[derive(Debug)]
pub(crate) enum JsonItem<'a> {
    /// A value within bounds: its raw bytes, not yet parsed.
    Value {
        /// 1-based line where the value starts.
        line: u64,
        /// 0-based index among the values (or array elements) of the input.
        index: u64,
        /// The raw bytes.
        bytes: &'a [u8],
    },
    /// A value longer than the bound: skipped.
    TooLong {
        /// 1-based line where the value starts.
        line: u64,
        /// 0-based index among the values.
        index: u64,
        /// Its length in bytes.
        length: u64,
    },
    /// Bytes that cannot start a value (a stray `}` or `]`, text outside JSON): skipped
    /// up to the end of their line.
    Garbage {
        /// 1-based line.
        line: u64,
    },
}

/// Splits a JSON stream into top-level values, or into the elements of a top-level
/// array (also the array under a wrapper object's first key, as in
/// `{"Records":[...]}`), by scanning bytes; values are parsed one at a time by the caller.
pub(crate) struct JsonValues<'r, R: BufRead + ?Sized> {
    reader: &'r mut R,
    max: usize,
    line: u64,
    index: u64,
    buf: Vec<u8>,
    /// Inside the array whose elements are the items.
    in_array: bool,
    /// The array has ended: the rest of the input is drained.
    finished: bool,
}

/// Keys whose array value a wrapper object carries the records in (CloudTrail
/// `Records`, Azure diagnostic exports `records`, the Azure REST API `value`).
const WRAPPER_KEYS: [&[u8]; 3] = [b"Records", b"records", b"value"];

/// Whether the input (from its first bytes) is a wrapper object: `{"Records": [`.
pub(crate) fn wrapper_prefix_len(head: &[u8]) -> Option<usize> {
    let mut at = skip_ws(head, 0);
    if head.get(at) != Some(&b'{') {
        return None;
    }
    at = skip_ws(head, at + 1);
    if head.get(at) != Some(&b'"') {
        return None;
    }
    let key_start = at + 1;
    let key_end = key_start + memchr(b'"', head.get(key_start..)?)?;
    let key = &head[key_start..key_end];
    if !WRAPPER_KEYS.contains(&key) {
        return None;
    }
    at = skip_ws(head, key_end + 1);
    if head.get(at) != Some(&b':') {
        return None;
    }
    at = skip_ws(head, at + 1);
    (head.get(at) == Some(&b'[')).then_some(at + 1)
}

fn skip_ws(bytes: &[u8], mut at: usize) -> usize {
    while at < bytes.len() && bytes[at].is_ascii_whitespace() {
        at += 1;
    }
    at
}

impl<'r, R: BufRead + ?Sized> JsonValues<'r, R> {
    /// A splitter keeping at most `max` bytes of one value. When the input is a top-level
    /// array or a wrapper object (see [`wrapper_prefix_len`]) its elements are the items.
    pub(crate) fn new(reader: &'r mut R, max: usize) -> io::Result<Self> {
        let mut this = JsonValues {
            reader,
            max: max.max(1),
            line: 1,
            index: 0,
            buf: Vec::new(),
            in_array: false,
            finished: false,
        };
        let head = this.reader.fill_buf()?;
        let skip = if let Some(n) = wrapper_prefix_len(head) {
            Some(n)
        } else {
            let at = skip_ws(head, 0);
            (head.get(at) == Some(&b'[')).then_some(at + 1)
        };
        if let Some(n) = skip {
            this.line += head[..n].iter().filter(|b| **b == b'\n').count() as u64;
            this.reader.consume(n);
            this.in_array = true;
        }
        Ok(this)
    }

    fn peek(&mut self) -> io::Result<Option<u8>> {
        loop {
            match self.reader.fill_buf() {
                Ok(b) => return Ok(b.first().copied()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    fn bump(&mut self) {
        self.reader.consume(1);
    }

    /// Skips whitespace (and, in an array, the commas between elements).
    fn skip_separators(&mut self) -> io::Result<Option<u8>> {
        loop {
            let Some(b) = self.peek()? else {
                return Ok(None);
            };
            if b == b'\n' {
                self.line += 1;
            } else if !(b.is_ascii_whitespace() || (self.in_array && b == b',')) {
                return Ok(Some(b));
            }
            self.bump();
        }
    }

    /// The next value, or `None` at the end of input (or of the array).
    pub(crate) fn next_item(&mut self) -> io::Result<Option<JsonItem<'_>>> {
        if self.finished {
            return Ok(None);
        }
        let Some(first) = self.skip_separators()? else {
            return Ok(None);
        };
        if self.in_array && first == b']' {
            // The end of the records: whatever follows (the wrapper's closing brace,
            // other keys) carries no records.
            self.finished = true;
            return Ok(None);
        }
        let start_line = self.line;
        if matches!(first, b'}' | b']' | b',' | b':') {
            // Not the start of a value: skip to the end of the line.
            while let Some(b) = self.peek()? {
                self.bump();
                if b == b'\n' {
                    self.line += 1;
                    break;
                }
            }
            return Ok(Some(JsonItem::Garbage { line: start_line }));
        }
        self.buf.clear();
        let mut length: u64 = 0;
        let mut overlong = false;
        let mut depth: u32 = 0;
        let mut in_string = false;
        let mut escaped = false;
        let scalar = !matches!(first, b'{' | b'[' | b'"');
        'outer: loop {
            let chunk = match self.reader.fill_buf() {
                Ok(c) => c,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if chunk.is_empty() {
                break;
            }
            let mut end: Option<usize> = None;
            for (i, &b) in chunk.iter().enumerate() {
                if b == b'\n' {
                    self.line += 1;
                }
                if in_string {
                    if escaped {
                        escaped = false;
                    } else if b == b'\\' {
                        escaped = true;
                    } else if b == b'"' {
                        in_string = false;
                        if depth == 0 {
                            end = Some(i + 1);
                            break;
                        }
                    }
                    continue;
                }
                if scalar {
                    if b.is_ascii_whitespace() || matches!(b, b',' | b']' | b'}') {
                        if b == b'\n' {
                            // Counted again when the separator is skipped.
                            self.line -= 1;
                        }
                        end = Some(i);
                        break;
                    }
                    continue;
                }
                match b {
                    b'"' => in_string = true,
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth = depth.saturating_sub(1);
                        if depth == 0 {
                            end = Some(i + 1);
                            break;
                        }
                    }
                    _ => {}
                }
            }
            let take = end.unwrap_or(chunk.len());
            length += take as u64;
            if !overlong {
                if self.buf.len() + take > self.max {
                    overlong = true;
                    self.buf = Vec::new();
                } else {
                    self.buf.extend_from_slice(&chunk[..take]);
                }
            }
            self.reader.consume(take);
            if end.is_some() {
                break 'outer;
            }
        }
        let index = self.index;
        self.index += 1;
        if overlong {
            return Ok(Some(JsonItem::TooLong {
                line: start_line,
                index,
                length,
            }));
        }
        Ok(Some(JsonItem::Value {
            line: start_line,
            index,
            bytes: &self.buf,
        }))
    }

    /// Whether the items are the elements of an array (their provenance is then the
    /// element index, otherwise the line).
    pub(crate) fn in_array(&self) -> bool {
        self.in_array
    }
}

/// The first `n` non-empty lines of `head` (the last may be cut short by the head's end).
pub(crate) fn head_lines(head: &[u8], n: usize) -> impl Iterator<Item = &[u8]> {
    head.split(|b| *b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
        .take(n)
}

/// Whether `needle` occurs in `hay`.
pub(crate) fn contains(hay: &[u8], needle: &[u8]) -> bool {
    memchr::memmem::find(hay, needle).is_some()
}

/// Whether a JSON input is one object per line: its first non-empty line is a whole
/// object on its own (a pretty-printed document's first line is not).
pub(crate) fn looks_like_json_lines(head: &[u8]) -> bool {
    let Some(line) = head_lines(head, 1).next() else {
        return false;
    };
    let text = line.trim_ascii();
    if !(text.starts_with(b"{") && text.ends_with(b"}")) {
        return false;
    }
    serde_json::from_slice::<serde::de::IgnoredAny>(text).is_ok()
}

/// What [`for_each_json_object`] calls with each object.
pub(crate) type RecordFn<'a> = dyn FnMut(
        serde_json::Map<String, serde_json::Value>,
        Provenance,
        &mut dyn EventSink,
        &mut ReadStats,
    ) -> ControlFlow<()>
    + 'a;

/// Streams the JSON objects of an input, whatever its layout (one object per line, a
/// top-level array, a `{"Records":[...]}` wrapper, pretty-printed objects one after
/// another), and hands each to `record` with its provenance. Records that are too long,
/// not JSON or not objects are reported to the sink and counted; the rest goes on.
pub(crate) fn for_each_json_object(
    input: &mut Input,
    options: &ReadOptions,
    sink: &mut dyn EventSink,
    stats: &mut ReadStats,
    record: &mut RecordFn<'_>,
) -> Result<(), FileError> {
    let name = input.name.clone();
    let path = input.path_buf();
    let head = input.head()?;
    let by_line = wrapper_prefix_len(head).is_none() && looks_like_json_lines(head);
    let at = |locator: Locator| Provenance {
        source: name.clone(),
        locator,
    };
    let mut handle = |bytes: &[u8],
                      prov: Provenance,
                      sink: &mut dyn EventSink,
                      stats: &mut ReadStats|
     -> ControlFlow<()> {
        stats.records += 1;
        match serde_json::from_slice::<serde_json::Value>(bytes) {
            Ok(serde_json::Value::Object(mut map)) => {
                if let Some(items) = take_wrapped_records(&mut map) {
                    // One wrapper document per line: its elements are the records.
                    stats.records -= 1;
                    for item in items {
                        stats.records += 1;
                        match item {
                            serde_json::Value::Object(inner) => {
                                record(inner, prov.clone(), sink, stats)?;
                            }
                            _ => report(sink, stats, prov.clone(), "a record is not a JSON object"),
                        }
                    }
                    return ControlFlow::Continue(());
                }
                record(map, prov, sink, stats)
            }
            Ok(_) => {
                report(sink, stats, prov, "not a JSON object");
                ControlFlow::Continue(())
            }
            Err(e) => {
                report(sink, stats, prov, format!("invalid JSON: {e}"));
                ControlFlow::Continue(())
            }
        }
    };
    let io_err = |e: io::Error| FileError::new(&path, e);
    if by_line {
        let mut lines = LineReader::new(&mut input.reader, options.max_record_bytes);
        while let Some(line) = lines.next_line().map_err(io_err)? {
            match line {
                Line::Text { number, bytes } => {
                    if bytes.iter().all(u8::is_ascii_whitespace) {
                        continue;
                    }
                    if handle(bytes, at(Locator::Line(number)), sink, stats).is_break() {
                        return Ok(());
                    }
                }
                Line::TooLong { number, length } => {
                    stats.records += 1;
                    report_too_long(sink, stats, at(Locator::Line(number)), length, options);
                }
            }
        }
        return Ok(());
    }
    let mut values =
        JsonValues::new(&mut input.reader, options.max_record_bytes).map_err(io_err)?;
    let in_array = values.in_array();
    while let Some(item) = values.next_item().map_err(io_err)? {
        match item {
            JsonItem::Value { line, index, bytes } => {
                let locator = if in_array {
                    Locator::Index(index)
                } else {
                    Locator::Line(line)
                };
                if handle(bytes, at(locator), sink, stats).is_break() {
                    return Ok(());
                }
            }
            JsonItem::TooLong {
                line,
                index,
                length,
            } => {
                stats.records += 1;
                let locator = if in_array {
                    Locator::Index(index)
                } else {
                    Locator::Line(line)
                };
                report_too_long(sink, stats, at(locator), length, options);
            }
            JsonItem::Garbage { line } => {
                stats.records += 1;
                report(
                    sink,
                    stats,
                    at(Locator::Line(line)),
                    "not JSON (skipped to the end of the line)",
                );
            }
        }
    }
    Ok(())
}

fn take_wrapped_records(
    map: &mut serde_json::Map<String, serde_json::Value>,
) -> Option<Vec<serde_json::Value>> {
    if map.len() != 1 {
        return None;
    }
    let key = map.keys().next()?.clone();
    if !WRAPPER_KEYS.contains(&key.as_bytes()) || !map.get(&key)?.is_array() {
        return None;
    }
    match map.remove(&key)? {
        serde_json::Value::Array(items) => Some(items),
        _ => None,
    }
}

/// What [`for_each_text_line`] calls for each line: its bytes and provenance.
pub(crate) type TextLineFn<'a> =
    dyn FnMut(&[u8], Provenance, &mut dyn EventSink, &mut ReadStats) -> ControlFlow<()> + 'a;

/// Streams the lines of a text log: a blank line is passed over, every other line is one
/// record (counted), a line over the size bound is reported, and the rest are handed with
/// their provenance to `each` until it breaks. The shared loop of the syslog-style readers.
pub(crate) fn for_each_text_line(
    input: &mut Input,
    options: &ReadOptions,
    sink: &mut dyn EventSink,
    stats: &mut ReadStats,
    each: &mut TextLineFn<'_>,
) -> Result<(), FileError> {
    let path = input.path_buf();
    let name = input.name.clone();
    let mut lines = LineReader::new(&mut input.reader, options.max_record_bytes);
    while let Some(line) = lines.next_line().map_err(|e| FileError::new(&path, e))? {
        let at = |number| Provenance {
            source: name.clone(),
            locator: Locator::Line(number),
        };
        match line {
            Line::TooLong { number, length } => {
                stats.records += 1;
                report_too_long(sink, stats, at(number), length, options);
            }
            Line::Text { bytes, .. } if bytes.iter().all(u8::is_ascii_whitespace) => {}
            Line::Text { number, bytes } => {
                stats.records += 1;
                if each(bytes, at(number), sink, stats).is_break() {
                    break;
                }
            }
        }
    }
    Ok(())
}

/// Reports a bad record and counts it.
pub(crate) fn report(
    sink: &mut dyn EventSink,
    stats: &mut ReadStats,
    at: Provenance,
    message: impl Into<String>,
) {
    stats.errors += 1;
    sink.record_error(RecordError {
        at,
        message: message.into(),
    });
}

/// Reports a record over the size bound.
pub(crate) fn report_too_long(
    sink: &mut dyn EventSink,
    stats: &mut ReadStats,
    at: Provenance,
    length: u64,
    options: &ReadOptions,
) {
    report(
        sink,
        stats,
        at,
        format!(
            "record of {length} bytes is longer than the limit of {} bytes: skipped",
            options.max_record_bytes
        ),
    );
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn overlong_lines_are_skipped_and_counted() {
        let mut data: &[u8] = b"short\nthis line is too long\r\nok\r\n\nlast";
        let mut lines = LineReader::new(&mut data, 8);
        let mut seen = Vec::new();
        while let Some(line) = lines.next_line().unwrap() {
            seen.push(match line {
                Line::Text { number, bytes } => {
                    format!("{number}:{}", String::from_utf8_lossy(bytes))
                }
                Line::TooLong { number, length } => format!("{number}:too long {length}"),
            });
        }
        assert_eq!(seen, ["1:short", "2:too long 22", "3:ok", "4:", "5:last"]);
    }

    fn items(input: &[u8], max: usize) -> Vec<String> {
        let mut data = input;
        let mut values = JsonValues::new(&mut data, max).unwrap();
        let mut out = Vec::new();
        while let Some(item) = values.next_item().unwrap() {
            out.push(match item {
                JsonItem::Value { line, index, bytes } => {
                    format!("{line}/{index}:{}", String::from_utf8_lossy(bytes))
                }
                JsonItem::TooLong {
                    line,
                    index,
                    length,
                } => format!("{line}/{index}:too long {length}"),
                JsonItem::Garbage { line } => format!("{line}:garbage"),
            });
        }
        out
    }

    #[test]
    fn splits_arrays_wrappers_and_documents() {
        assert_eq!(
            items(b" [ {\"a\":\"}\"},\n {\"b\":[1,2]} , 3 ]", 100),
            ["1/0:{\"a\":\"}\"}", "2/1:{\"b\":[1,2]}", "2/2:3"]
        );
        assert_eq!(
            items(b"{\"Records\": [{\"a\":1},{\"a\":2}]}", 100),
            ["1/0:{\"a\":1}", "1/1:{\"a\":2}"]
        );
        assert_eq!(
            items(b"{\n \"a\": {\"x\": 1}\n}\n{\"b\": 2}\n}\n", 100),
            [
                "1/0:{\n \"a\": {\"x\": 1}\n}",
                "4/1:{\"b\": 2}",
                "5:garbage"
            ]
        );
        assert_eq!(
            items(b"[{\"a\":\"0123456789\"},{}]", 10),
            ["1/0:too long 18", "1/1:{}"]
        );
    }

    #[test]
    fn sniff_helpers() {
        assert!(looks_like_json_lines(b"{\"a\":1}\n{\"a\":2}\n"));
        assert!(!looks_like_json_lines(b"{\n \"a\": 1\n}\n"));
        assert_eq!(wrapper_prefix_len(b" {\"Records\" : [ {}"), Some(15));
        assert_eq!(wrapper_prefix_len(b"{\"eventName\":1}"), None);
    }
}
