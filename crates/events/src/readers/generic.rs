//! sockhunt's generic JSONL: one JSON object per line, already in the Sigma taxonomy.
//!
//! ```json
//! {"time":"2024-05-01T10:00:00Z","host":"web1","logsource":{"product":"linux","category":"process_creation"},"fields":{"Image":"/usr/bin/ss","CommandLine":"ss -tanp"}}
//! {"@timestamp":"2024-05-01T10:00:01Z","logsource":{"product":"linux","category":"process_creation"},"Image":"/usr/bin/netstat","CommandLine":"netstat -an"}
//! ```
//!
//! `logsource` (with any of `product`, `category`, `service`) is required. Fields are
//! taken from a `fields` object, from every other top-level key, or both (nested objects
//! are flattened with dots). The time comes from `time`, `@timestamp` or `timestamp`
//! (RFC 3339, `YYYY-MM-DD HH:MM:SS` as UTC, or Unix epoch seconds), the host from `host`
//! (text, or an object's `name`/`hostname`). `fields` may also be a list of
//! `[name, value]` pairs, which is how [`crate::Fields`] serializes. This is also exactly what
//! `sockhunt watch --record` writes (a serialized [`Event`]): such a line reads back to
//! the same event, except that its `provenance` becomes this file and line.

use std::borrow::Cow;
use std::ops::ControlFlow;

use serde_json::{Map, Value as Json};

use crate::error::FileError;
use crate::event::{Event, Fields, LogSource, Original, Provenance, Value};
use crate::normalise::cloud::{flatten_into, json_time};
use crate::readers::lines::{contains, for_each_json_object, head_lines, report};
use crate::readers::{Input, ReadOptions, ReadStats};
use crate::sink::EventSink;

/// Top-level keys that are not fields.
const RESERVED: [&str; 8] = [
    "time",
    "@timestamp",
    "timestamp",
    "host",
    "logsource",
    "fields",
    "provenance",
    "original",
];

/// Whether the first bytes look like this format: the first line is a JSON object
/// carrying a `logsource` key.
pub fn sniff(head: &[u8]) -> bool {
    let Some(line) = head_lines(head, 1).next() else {
        return false;
    };
    let line = line.trim_ascii_start();
    line.starts_with(b"{") && contains(line, b"\"logsource\"")
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
        &mut |map, provenance, sink, stats| match to_event(map, provenance.clone(), options) {
            Ok(Some((event, warning))) => {
                if let Some(message) = warning {
                    report(sink, stats, provenance, message);
                }
                stats.events += 1;
                sink.event(event)
            }
            Ok(None) => {
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

/// Logsource names are few: sharing the static ones saves an allocation per event.
const KNOWN_NAMES: [&str; 30] = [
    "linux",
    "windows",
    "macos",
    "aws",
    "azure",
    "gcp",
    "cisco",
    "juniper",
    "esxi",
    "process_creation",
    "network_connection",
    "file_access",
    "file_event",
    "network_discovery",
    "ps_script",
    "ps_module",
    "ps_classic_start",
    "pipe_created",
    "auditd",
    "sysmon",
    "security",
    "powershell",
    "cloudtrail",
    "activitylogs",
    "gcp.audit",
    "aaa",
    "syslog",
    "shell",
    "hostd",
    "sensor",
];

fn name(text: &str) -> Cow<'static, str> {
    match KNOWN_NAMES.iter().find(|k| **k == text) {
        Some(k) => Cow::Borrowed(k),
        None => Cow::Owned(text.to_owned()),
    }
}

fn logsource(value: &Json) -> Result<LogSource, String> {
    let Json::Object(map) = value else {
        return Err("`logsource` is not an object".to_owned());
    };
    let dim = |key: &str| -> Result<Option<Cow<'static, str>>, String> {
        match map.get(key) {
            None | Some(Json::Null) => Ok(None),
            Some(Json::String(s)) => Ok(Some(name(s))),
            Some(_) => Err(format!("`logsource.{key}` is not text")),
        }
    };
    Ok(LogSource {
        product: dim("product")?,
        category: dim("category")?,
        service: dim("service")?,
    })
}

fn to_event(
    mut map: Map<String, Json>,
    provenance: Provenance,
    options: &ReadOptions,
) -> Result<Option<(Event, Option<String>)>, String> {
    let logsource = match map.get("logsource") {
        Some(ls) => logsource(ls)?,
        None => return Err("no `logsource` object: not a generic JSONL record".to_owned()),
    };
    if !options.interest.wants(&logsource) {
        return Ok(None);
    }
    let mut event = Event::new(logsource, provenance);
    let mut warning = None;
    for key in ["time", "@timestamp", "timestamp"] {
        match map.get(key) {
            None | Some(Json::Null) => continue,
            Some(value) => {
                event.time = json_time(value);
                if event.time.is_none() {
                    warning = Some(format!(
                        "`{key}` is not a time I can read: {value}; event kept without time"
                    ));
                }
                break;
            }
        }
    }
    event.host = match map.get("host") {
        Some(Json::String(s)) => Some(s.clone()),
        Some(Json::Object(h)) => ["name", "hostname"]
            .iter()
            .find_map(|k| h.get(*k).and_then(Json::as_str))
            .map(str::to_owned),
        _ => None,
    };
    let recorded_event = map.contains_key("fields");
    let original = map.remove("original");
    let mut fields = Fields::with_capacity(map.len());
    if let Some(inner) = map.remove("fields") {
        let inner = match inner {
            Json::Object(inner) => inner,
            // `Fields` serializes as its list of `[name, value]` pairs.
            Json::Array(pairs) => pairs_to_map(pairs)?,
            _ => return Err("`fields` is not an object".to_owned()),
        };
        for (key, value) in inner {
            match value {
                Json::Object(_) => {
                    let mut one = Map::new();
                    one.insert(key, value);
                    flatten_into(&mut fields, &one, &|_| false);
                }
                other => fields.set(key, Value::from_json(&other)),
            }
        }
    }
    flatten_into(&mut fields, &map, &|k| RESERVED.contains(&k));
    event.fields = fields;
    if options.keep_original {
        event.original = match original {
            Some(Json::String(text)) => Some(Original::Text(text)),
            Some(Json::Null) | None if recorded_event => None,
            Some(other) => Some(Original::Json(other)),
            None => Some(Original::Json(Json::Object(map))),
        };
    }
    Ok(Some((event, warning)))
}

fn pairs_to_map(pairs: Vec<Json>) -> Result<Map<String, Json>, String> {
    let mut map = Map::with_capacity(pairs.len());
    for pair in pairs {
        match pair {
            Json::Array(mut nv) if nv.len() == 2 => {
                let value = nv.pop().unwrap_or(Json::Null);
                match nv.pop() {
                    Some(Json::String(name)) => {
                        map.insert(name, value);
                    }
                    _ => return Err("a `fields` pair's name is not text".to_owned()),
                }
            }
            _ => {
                return Err(
                    "`fields` is neither an object nor a list of [name, value] pairs".to_owned(),
                )
            }
        }
    }
    Ok(map)
}
