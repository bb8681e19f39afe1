#![allow(clippy::unwrap_used)]
//! Generic JSONL: the documented format, and the round trip of `watch --record` output.

use std::path::Path;
use std::sync::Arc;

use sockhunt_events::{
    read_path, read_stream, CollectSink, Event, Fields, Format, Locator, LogSource, Original,
    Provenance, ReadOptions, Value,
};

#[test]
fn documented_shapes() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/generic/events.jsonl");
    let mut sink = CollectSink::default();
    let (format, stats) = read_path(&path, &ReadOptions::default(), &mut sink).unwrap();
    assert_eq!(format, Format::Generic);
    assert_eq!(stats.events, 5, "{:?}", sink.errors);
    let ss = &sink.events[0];
    assert_eq!(ss.host.as_deref(), Some("web1"));
    assert_eq!(ss.fields.get("ProcessId"), Some(&Value::Int(4242)));
    assert_eq!(ss.provenance.locator, Locator::Line(1));
    let netstat = &sink.events[1];
    assert_eq!(netstat.host.as_deref(), Some("web2"));
    assert_eq!(netstat.time.unwrap().to_string(), "2024-05-01T10:00:01.25Z");
    assert_eq!(
        netstat.fields.get_str("process.parent.name").as_deref(),
        Some("sshd")
    );
    assert_eq!(
        netstat.fields.get_str("CommandLine").as_deref(),
        Some("netstat -an")
    );
    assert!(netstat.fields.get("logsource").is_none());
    let lsof = &sink.events[2];
    assert_eq!(lsof.provenance.locator, Locator::Line(4));
    assert_eq!(lsof.time.unwrap().to_string(), "2024-05-01T10:00:02Z");
    assert_eq!(
        lsof.logsource,
        LogSource::new(Some("macos"), Some("process_creation"), None)
    );
    // Kept without time, and reported.
    let y = &sink.events[4];
    assert!(y.time.is_none());
    assert_eq!(y.fields.get_str("Image").as_deref(), Some("/bin/y"));
    let messages: Vec<String> = sink.errors.iter().map(ToString::to_string).collect();
    assert_eq!(messages.len(), 5, "{messages:#?}");
    assert!(messages[0].contains("line 6") && messages[0].contains("`logsource` is not an object"));
    assert!(messages[1].contains("line 7") && messages[1].contains("not a time"));
    assert!(messages[2].contains("line 8") && messages[2].contains("no `logsource`"));
    assert!(messages[3].contains("line 9") && messages[3].contains("invalid JSON"));
    assert!(messages[4].contains("line 10") && messages[4].contains("invalid JSON"));
}

fn recorded_event() -> Event {
    let mut fields = Fields::default();
    fields.set("Image", "/usr/bin/ss");
    fields.set("CommandLine", "ss -tanp \"quoted\" \u{1b}[31m");
    fields.set("ProcessId", Value::Int(77));
    fields.set("Score", Value::Float(0.25));
    fields.set("Whole", Value::Float(2.0));
    fields.set("ArgvTruncated", Value::Bool(false));
    fields.set(
        "Argv",
        Value::List(vec!["ss".into(), "-tanp".into(), Value::Int(3)]),
    );
    fields.set("Empty", Value::Null);
    fields.set("dotted.name", "x");
    Event {
        time: Some("2026-12-04T16:00:00.123456789Z".parse().unwrap()),
        host: Some("sensor-host".into()),
        logsource: LogSource::new(Some("linux"), Some("process_creation"), None),
        fields,
        provenance: Provenance {
            source: Arc::from("sensor"),
            locator: Locator::Record(991),
        },
        original: None,
    }
}

#[test]
fn recorded_events_read_back_identical_except_provenance() {
    let first = recorded_event();
    let mut second = recorded_event();
    second.time = None;
    second.host = None;
    second.original = Some(Original::Text("raw line".into()));
    let mut third = recorded_event();
    third.logsource = LogSource::new(Some("linux"), Some("network_discovery"), Some("sensor"));
    third.original = Some(Original::Json(serde_json::json!({"a": [1, 2]})));
    let mut text = String::new();
    for e in [&first, &second, &third] {
        text.push_str(&serde_json::to_string(e).unwrap());
        text.push('\n');
    }
    let mut sink = CollectSink::default();
    let (format, _) = read_stream(
        "recording.jsonl",
        Box::new(std::io::Cursor::new(text.into_bytes())),
        &ReadOptions::default(),
        &mut sink,
    )
    .unwrap();
    assert_eq!(format, Format::Generic);
    assert!(sink.errors.is_empty(), "{:?}", sink.errors);
    for (i, (read, written)) in sink.events.iter().zip([first, second, third]).enumerate() {
        let mut expected = written.clone();
        expected.provenance = Provenance {
            source: Arc::from("recording.jsonl"),
            locator: Locator::Line(i as u64 + 1),
        };
        assert_eq!(read, &expected);
    }
}
