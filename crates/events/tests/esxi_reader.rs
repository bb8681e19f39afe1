#![allow(clippy::unwrap_used)]
//! ESXi shell.log and hostd.log.

use std::path::Path;

use sockhunt_events::{read_path, CollectSink, Event, Format, LogSource, ReadOptions, ReadStats};

fn read(name: &str) -> (Format, ReadStats, Vec<Event>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/esxi")
        .join(name);
    let mut sink = CollectSink::default();
    let (format, stats) = read_path(&path, &ReadOptions::default(), &mut sink).unwrap();
    assert!(sink.errors.is_empty(), "{:?}", sink.errors);
    (format, stats, sink.events)
}

fn get(e: &Event, name: &str) -> Option<String> {
    e.fields.get_str(name).map(|s| s.into_owned())
}

#[test]
fn shell_commands() {
    let (format, stats, events) = read("shell.log");
    assert_eq!(format, Format::Esxi);
    assert_eq!(stats.events, 4);
    assert_eq!(stats.skipped, 1);
    assert!(events
        .iter()
        .all(|e| e.logsource == LogSource::new(Some("esxi"), None, Some("shell"))));
    assert_eq!(
        get(&events[0], "Message").as_deref(),
        Some("Interactive shell session started")
    );
    let e = &events[1];
    assert_eq!(
        get(e, "command").as_deref(),
        Some("esxcli network ip connection list")
    );
    assert_eq!(get(e, "User").as_deref(), Some("root"));
    assert_eq!(get(e, "Session").as_deref(), Some("2099426"));
    assert_eq!(e.time.unwrap().to_string(), "2024-01-15T10:10:04Z");
    assert_eq!(
        get(&events[2], "command").as_deref(),
        Some("esxcli network ip neighbor list")
    );

    let (_, _, events) = read("shell_forwarded.log");
    assert_eq!(events[0].host.as_deref(), Some("esxi01.lab.example"));
    assert_eq!(
        get(&events[0], "Device").as_deref(),
        Some("esxi01.lab.example")
    );
    assert_eq!(
        get(&events[0], "command").as_deref(),
        Some("vim-cmd hostsvc/net/info")
    );
}

#[test]
fn hostd_tasks_and_logins() {
    let (format, stats, events) = read("hostd.log");
    assert_eq!(format, Format::Esxi);
    assert_eq!(stats.events, 3);
    assert!(events
        .iter()
        .all(|e| e.logsource == LogSource::new(Some("esxi"), None, Some("hostd"))));
    assert_eq!(get(&events[0], "User").as_deref(), Some("root"));
    assert_eq!(get(&events[0], "SourceIp").as_deref(), Some("10.9.8.7"));
    let task = &events[1];
    assert_eq!(
        get(task, "Method").as_deref(),
        Some("vim.host.NetworkSystem.queryNetworkHint")
    );
    assert_eq!(get(task, "OperationId").as_deref(), Some("esxui-3c1a-7f2b"));
    assert_eq!(
        get(task, "Component").as_deref(),
        Some("Vimsvc.TaskManager")
    );
    assert!(events[0].host.is_none());
}
