#![allow(clippy::unwrap_used)]
//! Elastic Common Schema documents: Elastic Endpoint and Auditbeat.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use sockhunt_events::{
    read_path, read_stream, CollectSink, Format, Interest, Locator, LogSource, ReadOptions, Value,
};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/ecs")
        .join(name)
}

fn read(path: &Path) -> (Format, sockhunt_events::ReadStats, CollectSink) {
    let mut sink = CollectSink::default();
    let (format, stats) = read_path(path, &ReadOptions::default(), &mut sink).unwrap();
    (format, stats, sink)
}

fn s(event: &sockhunt_events::Event, name: &str) -> Option<String> {
    event.fields.get_str(name).map(|v| v.into_owned())
}

#[test]
fn elastic_endpoint_documents() {
    let (format, stats, sink) = read(&fixture("endpoint.jsonl"));
    assert_eq!(format, Format::Ecs);
    assert_eq!(stats.records, 7);
    assert_eq!(stats.events, 5);
    assert_eq!(stats.errors, 2);
    let errors: Vec<String> = sink.errors.iter().map(ToString::to_string).collect();
    assert!(errors[0].contains("line 5"), "{errors:?}");
    assert!(errors[0].contains("invalid JSON"), "{errors:?}");
    assert!(errors[1].contains("line 7"), "{errors:?}");
    assert!(errors[1].contains("win-json"), "{errors:?}");

    let w = &sink.events[0];
    assert_eq!(
        w.logsource,
        LogSource::new(Some("windows"), Some("process_creation"), None)
    );
    assert_eq!(w.provenance.locator, Locator::Line(1));
    assert_eq!(w.host.as_deref(), Some("WS042.corp.example"));
    assert_eq!(w.time.unwrap().to_string(), "2026-11-20T09:14:01.037Z");
    assert_eq!(
        s(w, "Image").as_deref(),
        Some("C:\\Windows\\System32\\NETSTAT.EXE")
    );
    assert_eq!(s(w, "OriginalFileName").as_deref(), Some("netstat.exe"));
    assert_eq!(s(w, "CommandLine").as_deref(), Some("netstat -ano"));
    assert_eq!(
        s(w, "ParentImage").as_deref(),
        Some("C:\\Windows\\System32\\cmd.exe")
    );
    assert_eq!(
        s(w, "ParentCommandLine").as_deref(),
        Some("\"C:\\Windows\\system32\\cmd.exe\" ")
    );
    assert_eq!(w.fields.get("ProcessId"), Some(&Value::Int(5001)));
    assert_eq!(w.fields.get("ParentProcessId"), Some(&Value::Int(4101)));
    assert_eq!(s(w, "User").as_deref(), Some("CORP\\alice"));
    assert_eq!(
        s(w, "CurrentDirectory").as_deref(),
        Some("C:\\Users\\alice\\")
    );
    assert_eq!(s(w, "LogonId").as_deref(), Some("0x93d5a"));
    assert_eq!(s(w, "IntegrityLevel").as_deref(), Some("Medium"));
    assert_eq!(s(w, "Company").as_deref(), Some("Microsoft Corporation"));
    // The ECS names stay, so rules written against them work too.
    assert_eq!(
        s(w, "process.pe.original_file_name").as_deref(),
        Some("netstat.exe")
    );
    assert_eq!(
        w.fields.get("process.args"),
        Some(&Value::List(vec!["netstat".into(), "-ano".into()]))
    );
    assert_eq!(
        w.fields.get("event.category"),
        Some(&Value::List(vec!["process".into()]))
    );
    assert_eq!(
        s(w, "event.dataset").as_deref(),
        Some("endpoint.events.process")
    );
    assert!(w.original.is_some());

    let l = &sink.events[1];
    assert_eq!(
        l.logsource,
        LogSource::new(Some("linux"), Some("process_creation"), None)
    );
    assert_eq!(s(l, "Image").as_deref(), Some("/usr/bin/ss"));
    assert_eq!(s(l, "CommandLine").as_deref(), Some("ss -tanp"));
    assert_eq!(s(l, "ParentImage").as_deref(), Some("/usr/bin/bash"));
    assert_eq!(s(l, "User").as_deref(), Some("alice"));
    assert_eq!(l.fields.get("OriginalFileName"), None);

    // A fork runs the parent's program: not a process creation.
    let f = &sink.events[2];
    assert_eq!(f.logsource, LogSource::new(Some("linux"), None, None));
    assert_eq!(s(f, "event.action").as_deref(), Some("fork"));

    let n = &sink.events[3];
    assert_eq!(
        n.logsource,
        LogSource::new(Some("windows"), Some("network_connection"), None)
    );
    assert_eq!(s(n, "DestinationIp").as_deref(), Some("10.0.0.5"));
    assert_eq!(n.fields.get("DestinationPort"), Some(&Value::Int(445)));
    assert_eq!(s(n, "SourceIp").as_deref(), Some("10.0.0.42"));
    assert_eq!(n.fields.get("SourcePort"), Some(&Value::Int(49822)));
    assert_eq!(s(n, "Initiated").as_deref(), Some("true"));
    assert_eq!(s(n, "Protocol").as_deref(), Some("tcp"));
    assert_eq!(
        s(n, "Image").as_deref(),
        Some("C:\\Windows\\System32\\net.exe")
    );
    assert_eq!(s(n, "User").as_deref(), Some("CORP\\alice"));

    let a = &sink.events[4];
    assert_eq!(
        a.logsource,
        LogSource::new(Some("linux"), Some("file_access"), None)
    );
    assert_eq!(a.provenance.locator, Locator::Line(6));
    assert_eq!(s(a, "TargetFilename").as_deref(), Some("/proc/net/tcp"));
}

#[test]
fn auditbeat_documents() {
    let (format, stats, sink) = read(&fixture("auditbeat.jsonl"));
    assert_eq!(format, Format::Ecs);
    assert_eq!(stats.events, 3);
    assert!(sink.errors.is_empty(), "{:?}", sink.errors);
    let x = &sink.events[0];
    assert_eq!(
        x.logsource,
        LogSource::new(Some("linux"), Some("process_creation"), None)
    );
    assert_eq!(x.host.as_deref(), Some("db01"));
    assert_eq!(s(x, "Image").as_deref(), Some("/usr/bin/netstat"));
    assert_eq!(s(x, "CommandLine").as_deref(), Some("netstat -tanp"));
    assert_eq!(s(x, "CurrentDirectory").as_deref(), Some("/home/alice"));
    assert_eq!(s(x, "User").as_deref(), Some("root"));
    assert_eq!(s(x, "LogonId").as_deref(), Some("4"));
    assert_eq!(x.fields.get("ParentProcessId"), Some(&Value::Int(2201)));
    assert_eq!(
        s(x, "auditd.summary.actor.primary").as_deref(),
        Some("alice")
    );

    let w = &sink.events[1];
    assert_eq!(
        w.logsource,
        LogSource::new(Some("linux"), Some("process_creation"), None)
    );
    assert_eq!(s(w, "CommandLine").as_deref(), Some("who -a"));

    let n = &sink.events[2];
    assert_eq!(
        n.logsource,
        LogSource::new(Some("linux"), Some("network_connection"), None)
    );
    assert_eq!(s(n, "DestinationIp").as_deref(), Some("10.0.0.9"));
    assert_eq!(s(n, "Initiated").as_deref(), Some("true"));
}

#[test]
fn pretty_printed_array_is_streamed() {
    let (format, stats, sink) = read(&fixture("endpoint_array.json"));
    assert_eq!(format, Format::Ecs);
    assert_eq!(stats.events, 2);
    assert!(sink.errors.is_empty(), "{:?}", sink.errors);
    let m = &sink.events[1];
    assert_eq!(
        m.logsource,
        LogSource::new(Some("macos"), Some("process_creation"), None)
    );
    assert_eq!(m.provenance.locator, Locator::Index(1));
    assert_eq!(s(m, "CommandLine").as_deref(), Some("netstat -an"));
}

#[test]
fn winlogbeat_documents_are_not_claimed() {
    let (format, _, sink) = read(&fixture("winlogbeat.jsonl"));
    assert_eq!(format, Format::WinJson);
    assert_eq!(
        sink.events[0].fields.get_str("CommandLine").as_deref(),
        Some("netstat -ano")
    );
    let head = std::fs::read(fixture("winlogbeat.jsonl")).unwrap();
    assert!(!sockhunt_events::readers::ecs::sniff(&head));
    assert!(sockhunt_events::readers::ecs::sniff(
        &std::fs::read(fixture("auditbeat.jsonl")).unwrap()
    ));
}

#[test]
fn prefilter_skips_before_building_fields() {
    let options = ReadOptions {
        interest: Arc::new(Interest::from_rule_logsources([LogSource::new(
            Some("linux"),
            Some("process_creation"),
            None,
        )])),
        ..ReadOptions::default()
    };
    let mut sink = CollectSink::default();
    let (_, stats) = read_path(&fixture("endpoint.jsonl"), &options, &mut sink).unwrap();
    assert_eq!(stats.events, 1);
    assert_eq!(stats.skipped, 4);
    assert_eq!(s(&sink.events[0], "Image").as_deref(), Some("/usr/bin/ss"));
}

#[test]
fn dotted_keys_and_odd_records() {
    let text = concat!(
        r#"{"@timestamp":"2026-11-20T10:00:00Z","event.category":"process","event.type":"start","host.os.type":"linux","process.executable":"/usr/bin/lsof","process.args":["lsof","-i"]}"#,
        "\n",
        r#"{"@timestamp":"not a time","event":{"category":["process"],"type":["start"]},"process":{"executable":"/usr/bin/w","args":["w"]}}"#,
        "\n",
        r#"{"message":"no ECS here"}"#,
        "\n",
        "[1,2]\n",
    );
    let mut sink = CollectSink::default();
    let (format, stats) = read_stream(
        "stdin",
        Box::new(std::io::Cursor::new(text.as_bytes().to_vec())),
        &ReadOptions::default(),
        &mut sink,
    )
    .unwrap();
    assert_eq!(format, Format::Ecs);
    assert_eq!(stats.events, 2);
    assert_eq!(stats.errors, 3, "{:?}", sink.errors);
    let d = &sink.events[0];
    assert_eq!(
        d.logsource,
        LogSource::new(Some("linux"), Some("process_creation"), None)
    );
    assert_eq!(s(d, "CommandLine").as_deref(), Some("lsof -i"));
    assert_eq!(s(d, "process.executable").as_deref(), Some("/usr/bin/lsof"));
    // Without any OS hint the product stays unset rather than guessed.
    let t = &sink.events[1];
    assert_eq!(t.time, None);
    assert_eq!(
        t.logsource,
        LogSource::new(None, Some("process_creation"), None)
    );
    let errors: Vec<String> = sink.errors.iter().map(ToString::to_string).collect();
    assert!(errors[0].contains("stdin:line 2"), "{errors:?}");
    assert!(errors[1].contains("line 3") && errors[1].contains("not an ECS document"));
    assert!(errors[2].contains("line 4") && errors[2].contains("not a JSON object"));
}
