//! `sockhunt shares` end to end over a fixture mount table and the live one.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../host/tests/fixtures/mountinfo/network")
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sockhunt"))
        .arg("shares")
        .args(args)
        .env_remove("NO_COLOR")
        .output()
        .unwrap()
}

fn transcript(output: &Output) -> String {
    let fixture_dir = fixture().parent().unwrap().to_string_lossy().into_owned();
    format!(
        "exit: {:?}\n--- stdout\n{}--- stderr\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
    .replace(&fixture_dir, "[FIXTURES]")
}

#[test]
fn table_over_the_fixture_escapes_forged_lines() {
    let out = run(&[
        "--mountinfo",
        fixture().to_str().unwrap(),
        "--color",
        "always",
    ]);
    let text = transcript(&out);
    // Colour was forced, yet no cell content may carry raw control characters.
    assert!(!text.contains('\u{202e}'));
    assert!(text.contains("/mnt/evil\\x0a124 27"), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn csv_over_the_fixture() {
    let out = run(&[
        "--mountinfo",
        fixture().to_str().unwrap(),
        "--format",
        "csv",
        "--now",
        "2025-12-04T15:00:00Z",
    ]);
    insta::assert_snapshot!(transcript(&out));
}

#[test]
fn json_names_the_bad_lines() {
    let out = run(&[
        "--mountinfo",
        fixture().to_str().unwrap(),
        "--format",
        "json",
        "--now",
        "2025-12-04T15:00:00Z",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["partial"], true);
    assert_eq!(doc["shares"].as_array().unwrap().len(), 13);
    assert_eq!(doc["mounts_examined"], 16);
    let problems = doc["sources"][0]["problems"].as_array().unwrap();
    assert!(problems[0]
        .as_str()
        .unwrap()
        .ends_with("network line 17: no ' - ' separator before the file system type"));
}

#[test]
fn jsonl_one_share_per_line() {
    let out = run(&[
        "--mountinfo",
        fixture().to_str().unwrap(),
        "--format",
        "jsonl",
    ]);
    let text = String::from_utf8(out.stdout).unwrap();
    let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(first["record"], "share");
    assert_eq!(first["protocol"], "nfs");
    assert_eq!(first["mount_point"], "/mnt/team share");
    assert_eq!(text.lines().count(), 13);
}

#[test]
fn missing_mountinfo_is_reported_not_fatal() {
    let out = run(&["--mountinfo", "/nonexistent/mountinfo"]);
    assert_eq!(out.status.code(), Some(0));
    let text = transcript(&out);
    assert!(
        text.contains("mount table not read: failed to open file `/nonexistent/mountinfo`"),
        "{text}"
    );
}

#[test]
fn live_table_runs_in_every_mount_namespace() {
    let out = run(&["--all-mount-namespaces", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", transcript(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(doc["mounts_examined"].as_u64().unwrap() > 0);
}
