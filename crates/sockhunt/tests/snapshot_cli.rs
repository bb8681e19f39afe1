//! `sockhunt snapshot` end to end on the live host: one JSON document, written atomically.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used)]

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn mountinfo_fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../host/tests/fixtures/mountinfo/network")
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sockhunt"))
        .arg("snapshot")
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn document_has_every_part() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let _client = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let _server = listener.accept().unwrap();

    let out = run(&["--mountinfo", mountinfo_fixture().to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["format"], "sockhunt-snapshot");
    assert_eq!(doc["format_version"], 1);
    for key in [
        "collected_at",
        "host",
        "connections",
        "sessions",
        "shares",
        "warnings",
        "partial",
    ] {
        assert!(doc.get(key).is_some(), "{key} missing");
    }
    let host = &doc["host"];
    let boot_id = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap();
    assert_eq!(host["boot_id"], boot_id.trim());
    assert_eq!(host["kernel"]["sysname"], "Linux");
    assert!(host["hostname"].as_str().is_some_and(|h| !h.is_empty()));
    let interfaces = host["interfaces"].as_array().unwrap();
    let lo = interfaces.iter().find(|i| i["name"] == "lo").unwrap();
    let lo_addrs: Vec<&str> = lo["addresses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["address"].as_str().unwrap())
        .collect();
    assert!(lo_addrs.contains(&"127.0.0.1"), "{lo_addrs:?}");

    let sockets = doc["connections"]["sockets"].as_array().unwrap();
    assert!(
        sockets.iter().any(|s| s["local_port"] == port),
        "listener missing from sockets"
    );
    let inbound = doc["sessions"]["inbound"].as_array().unwrap();
    assert!(
        inbound.iter().any(|s| s["local_port"] == port),
        "inbound connection missing"
    );
    assert_eq!(doc["shares"]["shares"].as_array().unwrap().len(), 13);
    assert_eq!(doc["partial"], true, "the fixture has bad lines");
    assert!(doc["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|w| w.as_str().unwrap().starts_with("shares: ")));
}

#[test]
fn output_file_is_written_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("triage.json");
    std::fs::write(&path, "old").unwrap();
    let out = run(&["--no-connections", "-o", path.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty());
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(doc["connections"], serde_json::Value::Null);
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        names,
        vec![std::ffi::OsString::from("triage.json")],
        "no temporary file left behind"
    );
}

#[test]
fn unwritable_output_is_a_clear_error() {
    let out = run(&["--no-connections", "-o", "/nonexistent-dir/triage.json"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot create a temporary file in /nonexistent-dir"),
        "{stderr}"
    );
}

#[test]
fn jsonl_and_table_flatten_the_document() {
    let out = run(&["--no-connections", "--format", "jsonl"]);
    let kinds: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["record"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(kinds[0], "host");
    assert!(kinds.iter().any(|k| k == "interface"));
    let table = run(&["--no-connections", "--format", "table", "--color", "never"]);
    let text = String::from_utf8(table.stdout).unwrap();
    assert!(
        text.contains("boot id") && text.contains("Interfaces"),
        "{text}"
    );
}
