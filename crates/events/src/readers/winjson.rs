//! Windows events as JSON: one object per line, pretty-printed objects one after
//! another, or one (possibly huge) array, streamed element by element.
//!
//! Three shapes, recognised per record:
//!
//! | shape            | recognised by                          | identifiers from                                  |
//! |------------------|----------------------------------------|---------------------------------------------------|
//! | `evtx_dump`      | `Event.System`                         | `System.EventID`, `Channel`, `Provider.#attributes.Name`, `Computer`, `TimeCreated.#attributes.SystemTime` |
//! | Winlogbeat / ECS | `winlog` (object or dotted keys)       | `winlog.event_id` (or `event.code`), `winlog.channel`, `winlog.provider_name`, `winlog.computer_name` (or `host.name`), `@timestamp` |
//! | flat             | top-level `EventID` with `Channel`, `SourceName`, `ProviderName` or `Provider_Name` (NXLog, Sysmon-style exports) | those keys, `Hostname`/`Computer`/`ComputerName`, time from `UtcTime`, `@timestamp`, `TimeCreated` or `EventTime` |
//!
//! ECS documents keep every field under its dotted name, with `winlog.event_data.*` and
//! `winlog.user_data.*` under their own (EventData) names, then gain the Sigma names of
//! [`crate::normalise::windows::ECS_FIELDS`]. Flat objects keep their keys as fields.
//! All shapes then go through the same Windows normalisation.
//!
//! Times without a zone (NXLog's `EventTime`, Sysmon's `UtcTime`) are read as UTC.

use std::ops::ControlFlow;

use serde_json::{Map, Value as Json};

use crate::error::{FileError, RecordError};
use crate::event::{Event, Fields, Original, Provenance, Value};
use crate::normalise::windows::{self, WinIds};
use crate::readers::lines::{contains, for_each_json_object};
use crate::readers::{Input, ReadOptions, ReadStats};
use crate::sink::EventSink;

/// Whether the first bytes look like this format.
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
        Some(Ok(first)) => shape_of(&first).is_some(),
        // The first object is longer than the head (or not JSON): judge by its keys.
        _ => {
            contains(head, b"\"winlog\"")
                || contains(head, b"\"winlog.channel\"")
                || (contains(head, b"\"Event\"") && contains(head, b"\"System\""))
                || (contains(head, b"\"EventID\"")
                    && (contains(head, b"\"Channel\"") || contains(head, b"\"SourceName\"")))
        }
    }
}

fn skip_ws(bytes: &[u8], mut at: usize) -> usize {
    while bytes.get(at).is_some_and(u8::is_ascii_whitespace) {
        at += 1;
    }
    at
}

/// The layout of one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    EvtxDump,
    Ecs,
    Flat,
}

fn shape_of(map: &Map<String, Json>) -> Option<Shape> {
    if map.get("Event").and_then(|e| e.get("System")).is_some() {
        return Some(Shape::EvtxDump);
    }
    if map.get("winlog").is_some_and(Json::is_object) || map.contains_key("winlog.channel") {
        return Some(Shape::Ecs);
    }
    let has_id = map.get("EventID").and_then(windows::event_id_of).is_some();
    let has_source = ["Channel", "SourceName", "ProviderName", "Provider_Name"]
        .iter()
        .any(|k| map.get(*k).is_some_and(Json::is_string));
    (has_id && has_source).then_some(Shape::Flat)
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
        &mut |map, provenance, sink, stats| match record(map, provenance, options) {
            Ok(Some(event)) => {
                stats.events += 1;
                sink.event(event)
            }
            Ok(None) => {
                stats.skipped += 1;
                ControlFlow::Continue(())
            }
            Err(error) => {
                stats.errors += 1;
                sink.record_error(error);
                ControlFlow::Continue(())
            }
        },
    )
}

/// One record: its event, `None` when no loaded rule can see it.
fn record(
    map: Map<String, Json>,
    provenance: Provenance,
    options: &ReadOptions,
) -> Result<Option<Event>, RecordError> {
    let Some(shape) = shape_of(&map) else {
        return Err(RecordError {
            at: provenance,
            message: "not a Windows event: no Event.System (evtx_dump), winlog (ECS) or EventID with Channel".into(),
        });
    };
    match shape {
        Shape::EvtxDump => Ok(windows::from_evtx_json(
            Json::Object(map),
            &options.interest,
            options.keep_original,
            provenance,
            None,
        )),
        Shape::Ecs => Ok(ecs(map, provenance, options)),
        Shape::Flat => Ok(flat(map, provenance, options)),
    }
}

fn ecs(map: Map<String, Json>, provenance: Provenance, options: &ReadOptions) -> Option<Event> {
    let mut all = Fields::with_capacity(64);
    for (key, value) in &map {
        flatten(key, value, &mut all);
    }
    let text = |name: &str| all.get_str(name).map(|s| s.into_owned());
    let event_id = all
        .get("winlog.event_id")
        .or_else(|| all.get("event.code"))
        .and_then(event_id_value);
    let channel = text("winlog.channel").unwrap_or_default();
    let provider = text("winlog.provider_name").unwrap_or_default();
    let logsource = windows::logsource(&channel, &provider, event_id);
    if !options.interest.wants(&logsource) {
        return None;
    }
    let computer = text("winlog.computer_name")
        .or_else(|| text("host.name"))
        .or_else(|| text("host.hostname"));
    let time = text("@timestamp").and_then(|t| windows::parse_time(&t));
    let mut fields = Fields::with_capacity(all.len());
    for (name, value) in all.iter() {
        let own = name
            .strip_prefix("winlog.event_data.")
            .or_else(|| name.strip_prefix("winlog.user_data."));
        if let Some(own) = own {
            fields.set(own.to_owned(), value.clone());
        }
    }
    for (name, value) in all.iter() {
        if !name.starts_with("winlog.event_data.") && !name.starts_with("winlog.user_data.") {
            fields.set(name.to_owned(), value.clone());
        }
    }
    windows::ecs_to_sigma(&mut fields);
    let ids = WinIds {
        event_id,
        channel: &channel,
        provider: &provider,
        computer: computer.as_deref(),
    };
    windows::normalise(&ids, &logsource, &mut fields);
    Some(finish(
        logsource, fields, time, computer, map, provenance, options,
    ))
}

fn flat(map: Map<String, Json>, provenance: Provenance, options: &ReadOptions) -> Option<Event> {
    let str_of = |name: &str| map.get(name).and_then(Json::as_str).map(str::to_owned);
    let event_id = map.get("EventID").and_then(windows::event_id_of);
    let channel = str_of("Channel").unwrap_or_default();
    let provider = str_of("SourceName")
        .or_else(|| str_of("ProviderName"))
        .or_else(|| str_of("Provider_Name"))
        .unwrap_or_default();
    let logsource = windows::logsource(&channel, &provider, event_id);
    if !options.interest.wants(&logsource) {
        return None;
    }
    let computer = str_of("Hostname")
        .or_else(|| str_of("Computer"))
        .or_else(|| str_of("ComputerName"))
        .or_else(|| str_of("host"));
    let time = [
        "UtcTime",
        "@timestamp",
        "TimeCreated",
        "EventTime",
        "timestamp",
    ]
    .iter()
    .find_map(|k| str_of(k).and_then(|t| windows::parse_time(&t)));
    let mut fields = Fields::with_capacity(map.len() + 8);
    for (key, value) in &map {
        flatten(key, value, &mut fields);
    }
    let ids = WinIds {
        event_id,
        channel: &channel,
        provider: &provider,
        computer: computer.as_deref(),
    };
    windows::normalise(&ids, &logsource, &mut fields);
    Some(finish(
        logsource, fields, time, computer, map, provenance, options,
    ))
}

fn finish(
    logsource: crate::event::LogSource,
    fields: Fields,
    time: Option<jiff::Timestamp>,
    host: Option<String>,
    map: Map<String, Json>,
    provenance: Provenance,
    options: &ReadOptions,
) -> Event {
    let mut event = Event::new(logsource, provenance);
    event.time = time;
    event.host = host;
    event.fields = fields;
    if options.keep_original {
        event.original = Some(Original::Json(Json::Object(map)));
    }
    event
}

fn event_id_value(value: &Value) -> Option<u32> {
    match value {
        Value::Int(n) => u32::try_from(*n).ok(),
        Value::Str(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Adds a JSON value under dotted names: objects are descended into, everything else
/// (arrays included) is one field. `null` is absent.
fn flatten(name: &str, value: &Json, fields: &mut Fields) {
    match value {
        Json::Object(inner) => {
            for (key, child) in inner {
                flatten(&format!("{name}.{key}"), child, fields);
            }
        }
        Json::Null => {}
        other => fields.set(name.to_owned(), Value::from_json(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_windows_shapes_only() {
        assert!(sniff(br#"{"Event":{"System":{"EventID":1}}}"#));
        assert!(sniff(b"[\n {\"winlog\":{\"channel\":\"Security\"}}]"));
        assert!(sniff(
            br#"{"EventID":1,"Channel":"Microsoft-Windows-Sysmon/Operational"}"#
        ));
        assert!(!sniff(
            br#"{"Records":[{"eventName":"DescribeInstances"}]}"#
        ));
        assert!(!sniff(br#"{"logsource":{"product":"linux"},"fields":{}}"#));
        assert!(!sniff(b"type=SYSCALL msg=audit(1.0:1)"));
        // An object longer than the head.
        assert!(sniff(
            b"{\"Event\":{\"System\":{\"EventID\":1,\"Data\":\"aaaa"
        ));
    }
}
