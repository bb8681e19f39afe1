#![allow(clippy::unwrap_used)]
//! Network-device command logs: every shape yields the same `command`, `User`,
//! `SourceIp`, `Session`, `Device` fields.

use std::path::Path;

use sockhunt_events::{read_path, CollectSink, Event, Format, LogSource, ReadOptions, ReadStats};

fn read(name: &str) -> (Format, ReadStats, Vec<Event>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/netdevice")
        .join(name);
    let mut sink = CollectSink::default();
    let (format, stats) = read_path(&path, &ReadOptions::default(), &mut sink).unwrap();
    assert!(sink.errors.is_empty(), "{:?}", sink.errors);
    (format, stats, sink.events)
}

fn get(e: &Event, name: &str) -> Option<String> {
    e.fields.get_str(name).map(|s| s.into_owned())
}

fn commands(events: &[Event]) -> Vec<String> {
    events.iter().filter_map(|e| get(e, "command")).collect()
}

#[test]
fn ios_and_nxos_syslog() {
    let (format, stats, events) = read("ios_syslog.log");
    assert_eq!(format, Format::NetDevice);
    assert_eq!(stats.events, 6);
    assert_eq!(stats.skipped, 1);
    let login = &events[0];
    assert_eq!(
        login.logsource,
        LogSource::new(Some("cisco"), None, Some("syslog"))
    );
    assert_eq!(get(login, "User").as_deref(), Some("admin"));
    assert_eq!(get(login, "SourceIp").as_deref(), Some("10.9.8.7"));
    assert_eq!(get(login, "Mnemonic").as_deref(), Some("LOGIN_SUCCESS"));
    let cmd = &events[1];
    assert_eq!(
        cmd.logsource,
        LogSource::new(Some("cisco"), None, Some("aaa"))
    );
    assert_eq!(get(cmd, "command").as_deref(), Some("show ip sockets"));
    assert_eq!(get(cmd, "User").as_deref(), Some("admin"));
    assert_eq!(get(cmd, "Device").as_deref(), Some("10.20.0.1"));
    assert_eq!(get(cmd, "Platform").as_deref(), Some("ios"));
    assert_eq!(cmd.host.as_deref(), Some("10.20.0.1"));
    assert!(cmd.time.unwrap().to_string().ends_with("-01-15T10:01:09Z"));
    assert_eq!(
        get(&events[2], "command").as_deref(),
        Some("show tcp brief all")
    );
    let config = &events[3];
    assert_eq!(get(config, "Session").as_deref(), Some("vty0"));
    assert_eq!(get(config, "SourceIp").as_deref(), Some("10.9.8.7"));
    let nx = &events[5];
    assert_eq!(get(nx, "Platform").as_deref(), Some("nxos"));
    assert_eq!(get(nx, "User").as_deref(), Some("netops"));
    assert_eq!(get(nx, "Session").as_deref(), Some("pts/1"));
}

#[test]
fn tac_plus_accounting() {
    let (format, _, events) = read("tac_plus.acct");
    assert_eq!(format, Format::NetDevice);
    assert_eq!(events.len(), 4);
    assert!(events
        .iter()
        .all(|e| e.logsource == LogSource::new(Some("cisco"), None, Some("aaa"))));
    assert_eq!(commands(&events), ["show tcp brief", "show users"]);
    let e = &events[1];
    assert_eq!(get(e, "User").as_deref(), Some("admin"));
    assert_eq!(get(e, "SourceIp").as_deref(), Some("10.9.8.7"));
    assert_eq!(get(e, "Session").as_deref(), Some("42"));
    assert_eq!(get(e, "Device").as_deref(), Some("10.20.0.1"));
    assert_eq!(get(e, "Privilege").as_deref(), Some("15"));
    assert_eq!(get(e, "AccountingType").as_deref(), Some("stop"));
    assert!(get(e, "Platform").is_none());
}

#[test]
fn ise_and_acs() {
    let (_, _, events) = read("ise.log");
    assert_eq!(
        commands(&events),
        ["show ip sockets", "show control-plane host open-ports"]
    );
    let ise = &events[0];
    assert_eq!(get(ise, "Device").as_deref(), Some("core-rtr1"));
    assert_eq!(get(ise, "Session").as_deref(), Some("44"));
    assert_eq!(get(ise, "SourceIp").as_deref(), Some("10.9.8.7"));
    assert_eq!(ise.time.unwrap().to_string(), "2024-01-15T10:06:00.123Z");
    let acs = &events[1];
    assert_eq!(get(acs, "LogFormat").as_deref(), Some("acs"));
    assert_eq!(get(acs, "Device").as_deref(), Some("10.20.0.2"));
    assert_eq!(get(acs, "User").as_deref(), Some("netops"));
}

#[test]
fn nxos_accounting_log() {
    let (_, _, events) = read("nxos_accounting.log");
    assert_eq!(events.len(), 3);
    assert_eq!(
        commands(&events),
        [
            "show sockets connection",
            "configure terminal ; interface Ethernet1/1 ; description uplink:a"
        ]
    );
    let e = &events[1];
    assert_eq!(get(e, "Platform").as_deref(), Some("nxos"));
    assert_eq!(get(e, "SourceIp").as_deref(), Some("10.9.8.7"));
    assert_eq!(get(e, "Session").as_deref(), Some("pts/1"));
    assert_eq!(e.time.unwrap().to_string(), "2024-01-15T10:08:05Z");
    assert_eq!(get(&events[2], "Result").as_deref(), Some("SUCCESS"));
}

#[test]
fn junos() {
    let (_, _, events) = read("junos.log");
    assert_eq!(
        events[0].logsource,
        LogSource::new(Some("juniper"), None, Some("syslog"))
    );
    assert_eq!(get(&events[0], "SourceIp").as_deref(), Some("10.9.8.7"));
    let cmd = &events[1];
    assert_eq!(
        cmd.logsource,
        LogSource::new(Some("juniper"), None, Some("aaa"))
    );
    assert_eq!(
        get(cmd, "command").as_deref(),
        Some("show system connections")
    );
    assert_eq!(get(cmd, "User").as_deref(), Some("netops"));
    assert_eq!(get(cmd, "Device").as_deref(), Some("mx1"));
}
