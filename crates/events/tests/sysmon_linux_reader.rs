#![allow(clippy::unwrap_used)]
//! Sysmon for Linux syslog lines.

use std::path::Path;
use std::sync::Arc;

use sockhunt_events::{read_path, CollectSink, Format, Interest, LogSource, ReadOptions, Value};

fn fixture() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sysmon_linux/syslog")
}

#[test]
fn sysmon_events_get_sigma_names() {
    let mut sink = CollectSink::default();
    let (format, stats) = read_path(&fixture(), &ReadOptions::default(), &mut sink).unwrap();
    assert_eq!(format, Format::SysmonLinux);
    assert_eq!(stats.events, 3);
    assert_eq!(stats.skipped, 2, "the other syslog lines");
    assert_eq!(sink.errors.len(), 1, "{:?}", sink.errors);
    assert!(sink.errors[0].to_string().contains("line 5"));
    let p = &sink.events[0];
    assert_eq!(
        p.logsource,
        LogSource::new(Some("linux"), Some("process_creation"), Some("sysmon"))
    );
    assert_eq!(
        p.fields.get_str("Image").as_deref(),
        Some("/usr/bin/netstat")
    );
    assert_eq!(
        p.fields.get_str("CommandLine").as_deref(),
        Some("netstat -tulpn")
    );
    assert_eq!(
        p.fields.get_str("ParentImage").as_deref(),
        Some("/usr/bin/bash")
    );
    assert_eq!(p.fields.get_str("User").as_deref(), Some("alice"));
    assert_eq!(p.fields.get("EventID"), Some(&Value::Int(1)));
    assert_eq!(
        p.fields.get_str("Channel").as_deref(),
        Some("Linux-Sysmon/Operational")
    );
    assert_eq!(p.host.as_deref(), Some("ubuntu-web1"));
    assert_eq!(p.time.unwrap().to_string(), "2024-03-03T10:15:42.318Z");
    let n = &sink.events[1];
    assert_eq!(n.logsource.category.as_deref(), Some("network_connection"));
    assert_eq!(n.fields.get_str("DestinationPort").as_deref(), Some("443"));
    let f = &sink.events[2];
    assert_eq!(f.logsource.category.as_deref(), Some("file_event"));
    assert_eq!(
        f.fields.get_str("TargetFilename").as_deref(),
        Some("/tmp/conns <all>.txt")
    );
}

#[test]
fn prefilter_by_event_id() {
    let options = ReadOptions {
        interest: Arc::new(Interest::from_rule_logsources([LogSource::new(
            Some("linux"),
            Some("network_connection"),
            None,
        )])),
        ..ReadOptions::default()
    };
    let mut sink = CollectSink::default();
    let (_, stats) = read_path(&fixture(), &options, &mut sink).unwrap();
    assert_eq!(stats.events, 1);
    assert_eq!(
        sink.events[0].logsource.category.as_deref(),
        Some("network_connection")
    );
}

#[test]
fn rsyslog_control_character_escapes_are_decoded() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sysmon_linux/rsyslog_escaped");
    let mut sink = CollectSink::default();
    let (format, stats) = read_path(&path, &ReadOptions::default(), &mut sink).unwrap();
    assert_eq!(format, Format::SysmonLinux);
    assert_eq!(stats.events, 1);
    assert!(sink.errors.is_empty(), "{:?}", sink.errors);
    let e = &sink.events[0];
    assert_eq!(
        e.fields.get_str("CommandLine").as_deref(),
        Some("sh -c \"netstat -tan\nwho -a\n\"")
    );
    assert_eq!(
        e.fields.get_str("ParentCommandLine").as_deref(),
        Some("bash\t-i")
    );
    assert_eq!(e.host.as_deref(), Some("ubuntu-web1"));
}
