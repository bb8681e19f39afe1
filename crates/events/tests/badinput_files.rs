#![allow(clippy::unwrap_used)]
//! Bad files and bad bytes: clear errors naming the file or line, never a panic, the rest
//! of the input goes on.

use std::io::Write;
use std::path::Path;

use sockhunt_events::{read_path, read_stream, CollectSink, Format, ReadOptions};

fn read_bytes(name: &str, bytes: &[u8], format: Option<Format>) -> (Format, CollectSink) {
    let options = ReadOptions {
        format,
        ..ReadOptions::default()
    };
    let mut sink = CollectSink::default();
    let (format, _) = read_stream(
        name,
        Box::new(std::io::Cursor::new(bytes.to_vec())),
        &options,
        &mut sink,
    )
    .unwrap();
    (format, sink)
}

#[test]
fn missing_file_and_directory_are_named() {
    let mut sink = CollectSink::default();
    let err = read_path(
        Path::new("/nonexistent/audit.log"),
        &ReadOptions::default(),
        &mut sink,
    )
    .unwrap_err();
    assert!(err.to_string().contains("/nonexistent/audit.log"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let err = read_path(dir.path(), &ReadOptions::default(), &mut sink).unwrap_err();
    assert!(
        err.to_string().contains(&dir.path().display().to_string()),
        "{err}"
    );
}

#[test]
fn unrecognised_content_is_a_file_error() {
    let mut sink = CollectSink::default();
    let err = read_stream(
        "notes.txt",
        Box::new(std::io::Cursor::new(b"just some notes\n".to_vec())),
        &ReadOptions::default(),
        &mut sink,
    )
    .unwrap_err();
    assert!(
        err.to_string().starts_with("notes.txt: not a log format"),
        "{err}"
    );
}

#[test]
fn truncated_gzip_is_reported_after_what_was_read() {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    for i in 0..2000 {
        writeln!(
            gz,
            "type=EXECVE msg=audit(1700000000.000:{i}): argc=2 a0=\"ss\" a1=\"-tan\""
        )
        .unwrap();
    }
    let bytes = gz.finish().unwrap();
    let cut = &bytes[..bytes.len() / 2];
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log.gz");
    std::fs::write(&path, cut).unwrap();
    let mut sink = CollectSink::default();
    let result = read_path(&path, &ReadOptions::default(), &mut sink);
    let err = result.unwrap_err();
    assert!(err.to_string().contains("audit.log.gz"), "{err}");
}

#[test]
fn invalid_utf8_never_panics_and_keeps_the_line() {
    // auditd: the bytes inside a quoted value are replaced, the event kept.
    let (format, sink) = read_bytes(
        "a.log",
        b"type=SYSCALL msg=audit(1.000:1): syscall=59 success=yes pid=5 ppid=1 exe=\"/bin/\xff\xfe\"\ntype=EXECVE msg=audit(1.000:1): argc=1 a0=\"\xc3\x28\"\n",
        None,
    );
    assert_eq!(format, Format::Auditd);
    assert_eq!(sink.events.len(), 1);
    assert_eq!(
        sink.events[0].fields.get_str("Image").as_deref(),
        Some("/bin/\u{fffd}\u{fffd}")
    );
    // Hex-encoded arguments that decode to invalid UTF-8.
    let (_, sink) = read_bytes(
        "a.log",
        b"type=EXECVE msg=audit(1.000:1): argc=1 a0=FFFE41\n",
        None,
    );
    assert_eq!(
        sink.events[0].fields.get_str("a0").as_deref(),
        Some("\u{fffd}\u{fffd}A")
    );
    // Text readers.
    for (bytes, format) in [
        (&b"Jan 15 10:01:09 sw1 %PARSER-5-CFGLOG_LOGGEDCMD: User:\xff  logged command:show ip sockets\n"[..], Format::NetDevice),
        (&b"2024-01-15T10:10:04Z shell[1]: [root]: esxcli \xff network ip connection list\n"[..], Format::Esxi),
        (&b"Mar  3 10:15:42 h sysmon: <Event><System><Provider Name=\"Linux-Sysmon\"/><EventID>1</EventID></System><EventData><Data Name=\"Image\">/bin/\xff</Data></EventData></Event>\n"[..], Format::SysmonLinux),
    ] {
        let (found, sink) = read_bytes("t", bytes, None);
        assert_eq!(found, format);
        assert_eq!(sink.events.len(), 1, "{format:?} {:?}", sink.errors);
    }
    // JSON: invalid UTF-8 is invalid JSON, reported with its line.
    let (_, sink) = read_bytes(
        "c.jsonl",
        b"{\"eventSource\":\"ec2.amazonaws.com\",\"awsRegion\":\"x\",\"eventName\":\"\xff\"}\n{\"eventSource\":\"ec2.amazonaws.com\",\"awsRegion\":\"x\",\"eventName\":\"DescribeVpcs\"}\n",
        None,
    );
    assert_eq!(sink.events.len(), 1);
    assert!(sink.errors[0].to_string().contains("c.jsonl:line 1"));
}

#[test]
fn broken_json_documents_do_not_stop_the_file() {
    // A pretty-printed array with a broken element in the middle.
    let text = b"[\n {\"eventSource\":\"ec2.amazonaws.com\",\"awsRegion\":\"r\",\"eventName\":\"A\"},\n {\"eventSource\": tru },\n 17,\n {\"eventSource\":\"ec2.amazonaws.com\",\"awsRegion\":\"r\",\"eventName\":\"B\"}\n]\n";
    let (format, sink) = read_bytes("ct.json", text, None);
    assert_eq!(format, Format::CloudTrail);
    let names: Vec<String> = sink
        .events
        .iter()
        .map(|e| e.fields.get_str("eventName").unwrap().into_owned())
        .collect();
    assert_eq!(names, ["A", "B"]);
    let errors: Vec<String> = sink.errors.iter().map(ToString::to_string).collect();
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(errors[0].contains("ct.json:element 1"), "{errors:?}");
    assert!(errors[1].contains("element 2") && errors[1].contains("not a JSON object"));
    // An unterminated last document.
    let (_, sink) = read_bytes(
        "g.json",
        b"{\n \"logsource\": {\"product\": \"linux\"},\n \"Image\": \"/bin/ss\"\n}\n{\"logsource\": {\"product\": \"linux\"}, \"Image\": \"/bin/",
        Some(Format::Generic),
    );
    assert_eq!(sink.events.len(), 1);
    assert_eq!(sink.errors.len(), 1);
    assert!(sink.errors[0].to_string().contains("g.json:line 5"));
}

#[test]
fn every_fixture_is_recognised_as_its_own_format() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    for (dir, format) in [
        ("auditd", Format::Auditd),
        ("sysmon_linux", Format::SysmonLinux),
        ("netdevice", Format::NetDevice),
        ("esxi", Format::Esxi),
        ("generic", Format::Generic),
    ] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            let head = std::fs::read(&path).unwrap();
            assert_eq!(Format::sniff(&head), Some(format), "{}", path.display());
        }
    }
    for (file, format) in [
        ("cloudtrail.jsonl", Format::CloudTrail),
        ("cloudtrail_records.json", Format::CloudTrail),
        ("azure_records.json", Format::Azure),
        ("azure_rest.json", Format::Azure),
        ("gcp.jsonl", Format::Gcp),
    ] {
        let head = std::fs::read(root.join("cloud").join(file)).unwrap();
        assert_eq!(Format::sniff(&head), Some(format), "{file}");
    }
}

#[test]
fn windows_json_shapes_are_not_claimed() {
    for head in [
        &br#"{"Event":{"System":{"EventID":1,"Channel":"Microsoft-Windows-Sysmon/Operational"},"EventData":{"Image":"C:\\x.exe"}}}"#[..],
        br#"{"@timestamp":"2024-01-01T00:00:00Z","winlog":{"channel":"Security","event_id":4688,"event_data":{}},"host":{"name":"h"}}"#,
        br#"{"EventID":1,"Channel":"Microsoft-Windows-Sysmon/Operational","Image":"C:\\x.exe","CommandLine":"netstat -ano"}"#,
    ] {
        let found = Format::sniff(head);
        assert!(
            !matches!(
                found,
                Some(
                    Format::Generic
                        | Format::CloudTrail
                        | Format::Azure
                        | Format::Gcp
                        | Format::SysmonLinux
                        | Format::Auditd
                        | Format::Esxi
                        | Format::NetDevice
                )
            ),
            "{found:?}"
        );
    }
}
