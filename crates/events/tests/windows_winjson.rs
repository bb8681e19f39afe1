//! Windows events as JSON: `evtx_dump` output, Winlogbeat/ECS, flat NXLog/Sysmon-style
//! objects, and what happens to broken input.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sockhunt_events::{
    read_path, read_stream, CollectSink, Event, Format, Interest, Locator, LogSource, ReadOptions,
    ReadStats, Value,
};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/windows")
        .join(name)
}

fn read_with(path: &Path, options: &ReadOptions) -> (CollectSink, ReadStats) {
    let mut sink = CollectSink::default();
    let (format, stats) = read_path(path, options, &mut sink).unwrap();
    assert_eq!(format, Format::WinJson, "{}", path.display());
    (sink, stats)
}

fn read(path: &Path) -> (CollectSink, ReadStats) {
    read_with(path, &ReadOptions::default())
}

fn text<'a>(event: &'a Event, name: &str) -> &'a str {
    match event.fields.get(name) {
        Some(Value::Str(s)) => s,
        other => panic!("{name}: {other:?} in {:?}", event.fields),
    }
}

#[test]
fn evtx_dump_lines() {
    let (sink, stats) = read(&fixture("evtx_dump.jsonl"));
    assert!(sink.errors.is_empty(), "{:?}", sink.errors);
    assert_eq!(
        stats,
        ReadStats {
            records: 4,
            skipped: 0,
            events: 4,
            errors: 0
        }
    );
    let [sysmon, security, share, script] = &sink.events[..] else {
        panic!("{:?}", sink.events)
    };
    assert_eq!(
        sysmon.logsource.to_string(),
        "windows/process_creation/sysmon"
    );
    assert_eq!(text(sysmon, "Image"), "C:\\Windows\\System32\\NETSTAT.EXE");
    assert_eq!(text(sysmon, "OriginalFileName"), "netstat.exe");
    assert_eq!(text(sysmon, "RuleName"), "-");
    assert_eq!(sysmon.fields.get("EventID"), Some(&Value::Int(1)));
    assert_eq!(
        sysmon.time.unwrap().to_string(),
        "2024-03-01T10:00:00.1234567Z"
    );
    assert_eq!(sysmon.host.as_deref(), Some("WS01.lab.local"));
    assert_eq!(sysmon.provenance.locator, Locator::Line(1));
    assert!(sysmon.original.is_some());

    assert_eq!(
        security.logsource.to_string(),
        "windows/process_creation/security"
    );
    assert_eq!(text(security, "Image"), "C:\\Windows\\System32\\net.exe");
    assert_eq!(
        text(security, "ParentImage"),
        "C:\\Windows\\System32\\cmd.exe"
    );
    assert_eq!(text(security, "User"), "LAB\\bob");
    assert_eq!(text(security, "IntegrityLevel"), "Medium");
    assert_eq!(security.fields.get("ProcessId"), Some(&Value::Int(0x1a2c)));
    assert_eq!(
        security.fields.get("ParentProcessId"),
        Some(&Value::Int(0xb5c))
    );

    assert_eq!(share.logsource.to_string(), "windows/security");
    assert_eq!(share.fields.get("EventID"), Some(&Value::Int(5145)));
    assert_eq!(text(share, "ShareName"), "\\\\*\\IPC$");
    assert_eq!(text(share, "RelativeTargetName"), "srvsvc");
    assert_eq!(text(share, "AccessReason"), "-");
    // Empty text is kept as the record has it.
    assert_eq!(text(share, "ShareLocalPath"), "");

    assert_eq!(script.logsource.to_string(), "windows/ps_script/powershell");
    assert!(text(script, "ScriptBlockText").starts_with("Get-NetTCPConnection"));
}

#[test]
fn pretty_printed_and_array_inputs() {
    let (pretty, stats) = read(&fixture("evtx_dump_pretty.json"));
    assert_eq!(stats.events, 2);
    assert!(matches!(pretty.events[1].provenance.locator, Locator::Line(n) if n > 10));
    let (array, stats) = read(&fixture("evtx_dump_array.json"));
    assert_eq!(stats.events, 4);
    assert_eq!(array.events[3].provenance.locator, Locator::Index(3));
    assert_eq!(text(&array.events[1], "CommandLine"), "net use");
}

#[test]
fn winlogbeat_ecs_documents() {
    let (sink, stats) = read(&fixture("ecs_winlogbeat.jsonl"));
    assert!(sink.errors.is_empty(), "{:?}", sink.errors);
    assert_eq!(stats.events, 3);
    let [sysmon, security, ecs_only] = &sink.events[..] else {
        panic!()
    };
    assert_eq!(
        sysmon.logsource.to_string(),
        "windows/process_creation/sysmon"
    );
    assert_eq!(text(sysmon, "Image"), "C:\\Windows\\System32\\NETSTAT.EXE");
    assert_eq!(text(sysmon, "process.command_line"), "netstat -ano");
    assert_eq!(sysmon.fields.get("EventID"), Some(&Value::Int(1)));
    assert_eq!(sysmon.host.as_deref(), Some("WS01.lab.local"));
    assert_eq!(sysmon.time.unwrap().to_string(), "2024-03-01T10:00:00.123Z");
    assert!(sysmon.fields.get("winlog.event_data.Image").is_none());

    assert_eq!(
        security.logsource.to_string(),
        "windows/process_creation/security"
    );
    assert_eq!(text(security, "Image"), "C:\\Windows\\System32\\net.exe");
    assert_eq!(text(security, "CommandLine"), "net session");
    assert_eq!(text(security, "User"), "LAB\\bob");
    assert_eq!(text(security, "Channel"), "Security");

    // Only ECS process fields: they become the Sigma names.
    assert_eq!(text(ecs_only, "Image"), "C:\\Windows\\System32\\ROUTE.EXE");
    assert_eq!(text(ecs_only, "CommandLine"), "route print");
    assert_eq!(text(ecs_only, "ParentImage"), "C:\\Windows\\explorer.exe");
    assert_eq!(text(ecs_only, "ParentCommandLine"), "explorer.exe");
    assert_eq!(text(ecs_only, "CurrentDirectory"), "C:\\");
    assert_eq!(ecs_only.fields.get("ProcessId"), Some(&Value::Int(77)));
    assert_eq!(text(ecs_only, "User"), "LAB\\carol");
    assert_eq!(ecs_only.host.as_deref(), Some("ws03"));
}

#[test]
fn flat_sysmon_objects() {
    let (sink, _) = read(&fixture("flat_sysmon.jsonl"));
    assert!(sink.errors.is_empty(), "{:?}", sink.errors);
    let [qwinsta, connection] = &sink.events[..] else {
        panic!()
    };
    assert_eq!(
        qwinsta.logsource.to_string(),
        "windows/process_creation/sysmon"
    );
    assert_eq!(text(qwinsta, "CommandLine"), "qwinsta /server:dc01");
    assert_eq!(qwinsta.host.as_deref(), Some("WS04.lab.local"));
    assert_eq!(qwinsta.time.unwrap().to_string(), "2024-03-01T10:09:00.25Z");
    assert_eq!(text(qwinsta, "Provider_Name"), "Microsoft-Windows-Sysmon");
    assert_eq!(
        connection.logsource.to_string(),
        "windows/network_connection/sysmon"
    );
    assert_eq!(connection.fields.get("EventID"), Some(&Value::Int(3)));
    assert_eq!(
        connection.fields.get("DestinationPort"),
        Some(&Value::Int(445))
    );
}

/// The OTRF Empire `Get-NetSession` host events (NXLog shape).
#[test]
fn otrf_get_netsession_events() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpus/otrf/SDWIN-190519005224_t1049_relevant_events.jsonl");
    let (sink, stats) = read(&path);
    assert!(sink.errors.is_empty(), "{:?}", sink.errors);
    assert_eq!(stats.events, 5);
    let share = sink
        .events
        .iter()
        .find(|e| e.fields.get("EventID") == Some(&Value::Int(5145)))
        .unwrap();
    assert_eq!(share.logsource.to_string(), "windows/security");
    assert_eq!(text(share, "RelativeTargetName"), "srvsvc");
    assert_eq!(text(share, "ShareName"), "\\\\*\\IPC$");
    assert_eq!(text(share, "SubjectUserName"), "pgustavo");
    assert_eq!(text(share, "IpAddress"), "172.18.39.5");
    assert_eq!(share.host.as_deref(), Some("MORDORDC.theshire.local"));
    assert_eq!(share.time.unwrap().to_string(), "2020-09-22T07:45:38.207Z");
    let modules: Vec<_> = sink
        .events
        .iter()
        .filter(|e| e.logsource.category.as_deref() == Some("ps_module"))
        .collect();
    assert_eq!(modules.len(), 2);
    assert!(modules
        .iter()
        .any(|m| m.fields.get_str("CommandName").as_deref() == Some("Get-NetSession")));
    assert!(modules
        .iter()
        .all(|m| m.fields.get("HostApplication").is_some()));
    let classic = sink
        .events
        .iter()
        .find(|e| e.fields.get("EventID") == Some(&Value::Int(800)))
        .unwrap();
    assert_eq!(
        classic.logsource.to_string(),
        "windows/ps_classic_script/powershell-classic"
    );
    assert!(text(classic, "HostApplication").contains("powershell.exe"));
}

#[test]
fn broken_lines_are_reported_and_the_rest_goes_on() {
    let (sink, stats) = read(&fixture("corrupt_line.jsonl"));
    assert_eq!(stats.records, 6);
    assert_eq!(stats.events, 3);
    assert_eq!(stats.errors, 3);
    let lines: Vec<_> = sink.errors.iter().map(|e| e.at.locator).collect();
    assert_eq!(
        lines,
        [Locator::Line(2), Locator::Line(4), Locator::Line(5)]
    );
    assert!(sink.errors[0]
        .to_string()
        .contains("corrupt_line.jsonl:line 2"));
    assert!(sink.errors[2].message.contains("not a Windows event"));
}

#[test]
fn invalid_utf8_is_an_error_not_a_panic() {
    let (sink, stats) = read(&fixture("invalid_utf8.jsonl"));
    assert_eq!(stats.events, 2);
    assert_eq!(stats.errors, 1);
    assert_eq!(sink.errors[0].at.locator, Locator::Line(2));
}

#[test]
fn overlong_record_is_skipped_without_being_held() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("long.jsonl");
    let good = std::fs::read_to_string(fixture("evtx_dump.jsonl")).unwrap();
    let first = good.lines().next().unwrap();
    let mut file = std::fs::File::create(&path).unwrap();
    writeln!(file, "{first}").unwrap();
    let padding = "A".repeat(200_000);
    writeln!(
        file,
        "{{\"Event\":{{\"System\":{{\"EventID\":1}},\"EventData\":{{\"x\":\"{padding}\"}}}}}}"
    )
    .unwrap();
    writeln!(file, "{first}").unwrap();
    drop(file);
    let options = ReadOptions {
        max_record_bytes: 64 * 1024,
        ..ReadOptions::default()
    };
    let (sink, stats) = read_with(&path, &options);
    assert_eq!(stats.events, 2);
    assert_eq!(stats.errors, 1);
    assert_eq!(sink.errors[0].at.locator, Locator::Line(2));
    assert!(sink.errors[0].message.contains("longer than"));
}

#[test]
fn interest_skips_before_fields_are_built() {
    let options = ReadOptions {
        interest: Arc::new(Interest::from_rule_logsources([LogSource::new(
            Some("windows"),
            Some("process_creation"),
            None,
        )])),
        ..ReadOptions::default()
    };
    let (sink, stats) = read_with(&fixture("evtx_dump.jsonl"), &options);
    assert_eq!((stats.events, stats.skipped), (2, 2));
    assert!(sink
        .events
        .iter()
        .all(|e| e.logsource.category.as_deref() == Some("process_creation")));
}

#[test]
fn standard_input_and_gzip() {
    let bytes = std::fs::read(fixture("ecs_winlogbeat.jsonl")).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&bytes).unwrap();
    let packed = gz.finish().unwrap();
    let mut sink = CollectSink::default();
    let (format, stats) = read_stream(
        "-",
        Box::new(std::io::Cursor::new(packed)),
        &ReadOptions::default(),
        &mut sink,
    )
    .unwrap();
    assert_eq!(format, Format::WinJson);
    assert_eq!(stats.events, 3);
    assert_eq!(&*sink.events[0].provenance.source, "-");
}
