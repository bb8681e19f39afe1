//! `sockhunt rules` end to end: list (table, JSON, CSV), show, test (built-in and user
//! rules, passing and failing), coverage (Navigator layer) and report (procedure matrix).
#![allow(clippy::unwrap_used)]

use std::path::Path;

use assert_cmd::Command;

fn sockhunt() -> Command {
    let mut cmd = Command::cargo_bin("sockhunt").unwrap();
    cmd.env("NO_COLOR", "1").env_remove("RUST_LOG");
    cmd
}

/// Runs and returns (exit code, stdout, stderr).
fn run(cmd: &mut Command) -> (i32, String, String) {
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const USER_RULE: &str = "\
title: Whoami From Anywhere
id: 7d1e3b52-6a0f-4c8e-9d3a-2b6f1c0e9a11
status: experimental
logsource:
    product: windows
    category: process_creation
detection:
    selection:
        Image|endswith: '\\whoami.exe'
    condition: selection
level: low
tags:
    - attack.discovery
    - attack.t1033
";

const USER_TESTS: &str = "\
tests:
  - name: whoami fires
    expect: match
    event:
      logsource: {product: windows, category: process_creation}
      fields: {Image: 'C:\\Windows\\System32\\whoami.exe', CommandLine: whoami}
  - name: hostname does not
    expect: no_match
    event:
      logsource: {product: windows, category: process_creation}
      fields: {Image: 'C:\\Windows\\System32\\hostname.exe', CommandLine: hostname}
";

fn user_rules(dir: &Path, tests: &str) {
    fs_err::write(dir.join("whoami.yml"), USER_RULE).unwrap();
    fs_err::write(dir.join("whoami.tests.yml"), tests).unwrap();
}

#[test]
fn builtin_pack_tests_pass() {
    let (code, out, err) = run(sockhunt().args(["rules", "test"]));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains(" passed, 0 failed, "), "{out}");
    assert!(!out.contains("FAIL"), "{out}");
}

#[test]
fn list_shows_every_rule_with_its_test_result() {
    let (code, out, _) = run(sockhunt().args(["rules", "list"]));
    assert_eq!(code, 0);
    let header = out.lines().next().unwrap();
    for column in [
        "NAME", "STATUS", "LEVEL", "PRODUCT", "CATEGORY", "TAGS", "TESTS",
    ] {
        assert!(header.contains(column), "{header}");
    }
    let netstat = out
        .lines()
        .find(|l| l.starts_with("Netstat Lists Network Connections ") && l.contains("windows"))
        .unwrap();
    assert!(netstat.contains("process_creation"), "{netstat}");
    assert!(netstat.contains("t1049"), "{netstat}");
    assert!(netstat.contains("pass"), "{netstat}");
}

#[test]
fn list_json_and_csv_carry_the_same_rules() {
    let (code, json, _) = run(sockhunt().args(["rules", "list", "--format", "json"]));
    assert_eq!(code, 0);
    let rows: Vec<serde_json::Value> = serde_json::from_str(&json).unwrap();
    assert!(rows.len() > 40);
    let net_use = rows
        .iter()
        .find(|r| r["name"] == "Net Use Lists Mapped Network Connections")
        .unwrap();
    assert_eq!(net_use["level"], "low");
    assert_eq!(net_use["product"], "windows");
    assert_eq!(net_use["tests"], "pass");
    assert!(net_use["tags"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t == "attack.t1049"));

    let (code, csv, _) = run(sockhunt().args(["rules", "list", "--format", "csv"]));
    assert_eq!(code, 0);
    let mut lines = csv.lines();
    assert_eq!(
        lines.next().unwrap(),
        "id,name,status,level,product,category,service,tags,tests,passed,failed,source"
    );
    assert_eq!(lines.count(), rows.len());
}

#[test]
fn user_rules_are_listed_and_tested_the_same_way() {
    let dir = tempfile::tempdir().unwrap();
    user_rules(dir.path(), USER_TESTS);
    let (code, out, err) = run(sockhunt()
        .args([
            "rules",
            "list",
            "--no-builtin",
            "--format",
            "json",
            "--rules",
        ])
        .arg(dir.path()));
    assert_eq!(code, 0, "{err}");
    let rows: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["tests"], "pass");
    assert_eq!(rows[0]["tests_passed"], 2);

    let (code, out, _) = run(sockhunt().args(["rules", "test", "--all"]).arg(dir.path()));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("PASS"), "{out}");
    assert!(out.contains("ok    [event] whoami fires (match)"), "{out}");
}

#[test]
fn a_failing_test_exits_1_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    user_rules(
        dir.path(),
        &USER_TESTS.replace("expect: no_match", "expect: match"),
    );
    let (code, out, _) = run(sockhunt().args(["rules", "test"]).arg(dir.path()));
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("FAIL  [event] hostname does not (match)"),
        "{out}"
    );
    assert!(out.contains("hostname.exe"), "{out}");

    let (code, out, _) = run(sockhunt()
        .args(["rules", "list", "--no-builtin", "--rules"])
        .arg(dir.path()));
    assert_eq!(code, 0);
    assert!(out.contains("fail 1/2"), "{out}");
}

#[test]
fn a_record_no_reader_understands_fails_the_test() {
    let dir = tempfile::tempdir().unwrap();
    user_rules(
        dir.path(),
        "tests:\n  - name: garbage\n    expect: no_match\n    format: auditd\n    record: |\n      this is not an audit record\n",
    );
    let (code, out, _) = run(sockhunt().args(["rules", "test"]).arg(dir.path()));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("FAIL  [auditd] garbage"), "{out}");
}

#[test]
fn show_prints_the_rule_and_its_tests() {
    let (code, out, _) = run(sockhunt().args(["rules", "show", "win_net_session"]));
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("title: Net Session Lists Inbound SMB Sessions"),
        "{out}"
    );
    assert!(out.contains("PASS"), "{out}");
    assert!(out.contains("ok    [win-json] sysmon 1: net sessions (atomic test 1) (match)"));

    let (code, _, err) = run(sockhunt().args(["rules", "show", "no-such-rule"]));
    assert_eq!(code, 2);
    assert!(err.contains("no-such-rule"), "{err}");
}

#[test]
fn coverage_writes_a_navigator_layer() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("layer.json");
    let (code, _, err) = run(sockhunt().args(["rules", "coverage", "-o"]).arg(&path));
    assert_eq!(code, 0, "{err}");
    let layer: serde_json::Value =
        serde_json::from_str(&fs_err::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(layer["domain"], "enterprise-attack");
    let t1049 = layer["techniques"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["techniqueID"] == "T1049")
        .unwrap();
    assert!(t1049["score"].as_u64().unwrap() > 40);
}

#[test]
fn report_detects_every_procedure_and_matches_the_committed_document() {
    let (code, out, err) = run(sockhunt().args(["rules", "report", "--check"]));
    assert_eq!(code, 0, "{err}\n{out}");
    assert!(!out.contains("**missed**"), "{out}");
    assert!(!out.contains("**error**"), "{out}");
    assert!(out.contains("Cells at medium or above: **0**"), "{out}");
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/coverage.md");
    let committed = fs_err::read_to_string(committed).unwrap();
    assert_eq!(
        committed, out,
        "docs/coverage.md is stale: run `sockhunt rules report --output docs/coverage.md`"
    );
}
