#![allow(clippy::unwrap_used)]
//! auditd: records joined by serial, decoded arguments, parent lookup, missing records.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use sockhunt_events::{
    read_path, CollectSink, Event, Format, Interest, LogSource, ReadOptions, ReadStats, Value,
};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/auditd")
        .join(name)
}

fn read(path: &Path, options: &ReadOptions) -> (Format, ReadStats, CollectSink) {
    let mut sink = CollectSink::default();
    let (format, stats) = read_path(path, options, &mut sink).unwrap();
    (format, stats, sink)
}

fn str_field<'a>(e: &'a Event, name: &str) -> Option<std::borrow::Cow<'a, str>> {
    e.fields.get_str(name)
}

#[test]
fn real_sample_becomes_process_creation() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpus/otrf/SDLIN-201110074812_sh_arp_cache_auditd.log");
    let (format, stats, sink) = read(&path, &ReadOptions::default());
    assert_eq!(format, Format::Auditd);
    assert_eq!(stats.events, 2);
    assert!(sink.errors.is_empty(), "{:?}", sink.errors);
    let arp = &sink.events[0];
    assert_eq!(
        arp.logsource,
        LogSource::new(Some("linux"), Some("process_creation"), Some("auditd"))
    );
    assert_eq!(str_field(arp, "Image").as_deref(), Some("/usr/sbin/arp"));
    assert_eq!(str_field(arp, "CommandLine").as_deref(), Some("arp -a"));
    assert_eq!(
        str_field(arp, "CurrentDirectory").as_deref(),
        Some("/home/wardog")
    );
    assert_eq!(arp.fields.get("ProcessId"), Some(&Value::Int(1631)));
    assert_eq!(arp.fields.get("ParentProcessId"), Some(&Value::Int(29002)));
    assert_eq!(arp.time.unwrap().to_string(), "2020-11-10T07:48:16.155Z");
    assert_eq!(str_field(arp, "a1").as_deref(), Some("-a"));
    assert_eq!(str_field(arp, "proctitle").as_deref(), Some("arp -a"));
    assert_eq!(
        arp.fields.get("name"),
        Some(&Value::List(vec![
            "/usr/sbin/arp".into(),
            "/lib64/ld-linux-x86-64.so.2".into()
        ]))
    );
    assert_eq!(
        str_field(&sink.events[1], "CommandLine").as_deref(),
        Some("grep -v ^?")
    );
    assert_eq!(arp.provenance.locator, sockhunt_events::Locator::Line(1));
    assert_eq!(
        sink.events[1].provenance.locator,
        sockhunt_events::Locator::Line(7)
    );
}

#[test]
fn interleaved_records_join_and_parent_is_found() {
    let (_, stats, sink) = read(&fixture("interleaved.log"), &ReadOptions::default());
    assert!(sink.errors.is_empty(), "{:?}", sink.errors);
    assert_eq!(stats.events, 3);
    let netstat = sink
        .events
        .iter()
        .find(|e| str_field(e, "Image").as_deref() == Some("/usr/bin/netstat"))
        .unwrap();
    assert_eq!(
        str_field(netstat, "CommandLine").as_deref(),
        Some("netstat -antp")
    );
    assert_eq!(
        str_field(netstat, "CurrentDirectory").as_deref(),
        Some("/home/my dir")
    );
    assert_eq!(
        str_field(netstat, "ParentImage").as_deref(),
        Some("/usr/bin/bash")
    );
    assert_eq!(
        str_field(netstat, "ParentCommandLine").as_deref(),
        Some("bash -i")
    );
    assert_eq!(netstat.fields.get("LogonId"), Some(&Value::Int(3)));
    assert!(
        matches!(netstat.fields.get("type"), Some(Value::List(t)) if t.contains(&"EXECVE".into()) && t.contains(&"SYSCALL".into()))
    );
    let ss = sink
        .events
        .iter()
        .find(|e| str_field(e, "Comm").as_deref() == Some("ss"))
        .unwrap();
    assert_eq!(
        str_field(ss, "CommandLine").as_deref(),
        Some("ss -tn state established \"x\"")
    );
    assert_eq!(
        str_field(ss, "ParentImage").as_deref(),
        Some("/usr/bin/bash")
    );
}

#[test]
fn split_arguments_missing_execve_and_user_records() {
    let (_, stats, sink) = read(&fixture("split_and_missing.log"), &ReadOptions::default());
    assert_eq!(stats.events, 3);
    let sh = &sink.events[0];
    assert_eq!(sh.host.as_deref(), Some("web1"));
    let long = format!("{} {}", "A".repeat(40), "B".repeat(40));
    assert_eq!(
        str_field(sh, "CommandLine").as_deref(),
        Some(format!("sh {long} -c lsof -i").as_str())
    );
    assert_eq!(str_field(sh, "a3").as_deref(), Some("lsof -i"));
    let who = &sink.events[1];
    assert_eq!(str_field(who, "Image").as_deref(), Some("/usr/bin/who"));
    assert!(who.fields.get("CommandLine").is_none());
    assert_eq!(
        str_field(who, "ParentCommandLine").as_deref(),
        Some(format!("sh {long} -c lsof -i").as_str())
    );
    let login = &sink.events[2];
    assert_eq!(
        login.logsource,
        LogSource::new(Some("linux"), None, Some("auditd"))
    );
    assert_eq!(str_field(login, "type").as_deref(), Some("USER_LOGIN"));
    assert_eq!(str_field(login, "addr").as_deref(), Some("10.0.0.5"));
    assert_eq!(str_field(login, "exe").as_deref(), Some("/usr/sbin/sshd"));
    // The exec without EXECVE and the garbage line are both reported.
    assert_eq!(sink.errors.len(), 2, "{:?}", sink.errors);
    assert!(sink
        .errors
        .iter()
        .any(|e| e.message.contains("without CommandLine")));
    assert!(sink.errors.iter().any(|e| e.to_string().contains("line 7")));
    assert_eq!(stats.errors, 2);
}

#[test]
fn enriched_names_give_user() {
    let (_, _, sink) = read(&fixture("enriched.log"), &ReadOptions::default());
    let w = &sink.events[0];
    assert_eq!(str_field(w, "User").as_deref(), Some("root"));
    assert_eq!(str_field(w, "AUID").as_deref(), Some("alice"));
    assert_eq!(w.fields.get("Uid"), Some(&Value::Int(0)));
}

#[test]
fn interest_skips_what_no_rule_wants() {
    let options = ReadOptions {
        interest: Arc::new(Interest::from_rule_logsources([LogSource::new(
            Some("linux"),
            Some("process_creation"),
            None,
        )])),
        ..ReadOptions::default()
    };
    let (_, stats, sink) = read(&fixture("split_and_missing.log"), &options);
    assert_eq!(stats.events, 2);
    assert_eq!(stats.skipped, 1);
    assert!(sink.events.iter().all(|e| e.logsource.category.is_some()));
}

#[test]
fn window_overflow_flushes_in_order() {
    let mut text = String::new();
    for i in 0..1000u32 {
        text.push_str(&format!(
            "type=SYSCALL msg=audit(1700000000.{:03}:{i}): arch=c000003e syscall=59 success=yes exit=0 ppid=1 pid={} uid=0 comm=\"id\" exe=\"/usr/bin/id\"\n",
            i % 1000,
            10000 + i
        ));
    }
    // EXECVE records of the first 100 events arrive after 900 later events were opened:
    // they can no longer join (their events left the window) and are read as events of
    // their own, but nothing is lost or held without bound.
    for i in 0..1000u32 {
        text.push_str(&format!(
            "type=EXECVE msg=audit(1700000000.{:03}:{i}): argc=1 a0=\"id\"\n",
            i % 1000
        ));
    }
    let mut sink = CollectSink::default();
    let (_, stats) = sockhunt_events::read_stream(
        "mem",
        Box::new(std::io::Cursor::new(text.into_bytes())),
        &ReadOptions::default(),
        &mut sink,
    )
    .unwrap();
    assert!(stats.events >= 1000);
    let with_cl = sink
        .events
        .iter()
        .filter(|e| e.fields.get("CommandLine").is_some())
        .count();
    assert!(with_cl >= 256, "{with_cl}");
}
