//! `sockhunt runbook`: replays of the recorded procedures pass, reports render, malformed
//! runbooks are reported with their file while the others still run, and a dry run
//! executes nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use assert_cmd::Command;

fn runbooks() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../runbooks")
}

fn sockhunt() -> Command {
    Command::cargo_bin("sockhunt").unwrap()
}

#[test]
fn every_replay_runbook_passes() {
    let out = sockhunt()
        .args(["runbook", "replay", "--format", "json"])
        .arg(runbooks())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "stdout: {text}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_str(&text).unwrap();
    let results = report["results"].as_array().unwrap();
    assert!(results.len() >= 20, "{} replay procedures", results.len());
    for r in results {
        assert_eq!(r["outcome"], "passed", "{r}");
    }
    // Positives across every platform we cannot execute here, and benign look-alikes.
    for id in [
        "win-netstat-ano-sysmon",
        "win-srvsvc-netsessionenum-5145",
        "ios-abbrev-sh-ip-sock",
        "esxi-connection-list",
        "aws-describe-vpcs",
        "benign-net-use-mapping",
    ] {
        assert!(results.iter().any(|r| r["id"] == id), "missing {id}");
    }
}

#[test]
fn junit_report_is_written_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("report.xml");
    sockhunt()
        .args(["runbook", "replay", "--format", "junit", "--output"])
        .arg(&file)
        .arg(runbooks().join("replay-network.yml"))
        .assert()
        .success();
    let xml = std::fs::read_to_string(&file).unwrap();
    assert!(xml.starts_with("<?xml"), "{xml}");
    assert!(xml.contains("failures=\"0\""), "{xml}");
    assert!(xml.contains("testcase classname="), "{xml}");
}

#[test]
fn a_malformed_runbook_is_reported_and_the_others_still_run() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("broken.yml"),
        "runbook: broken\nprocedures:\n  - id: [\n",
    )
    .unwrap();
    std::fs::copy(
        runbooks().join("replay-esxi.yml"),
        dir.path().join("esxi.yml"),
    )
    .unwrap();
    let out = sockhunt()
        .args(["runbook", "replay"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("broken.yml"), "{text}");
    assert!(text.contains("esxi-connection-list"), "{text}");
}

#[test]
fn a_failed_expectation_fails_the_run() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("quiet.yml"),
        "runbook: wrong\nprocedures:\n  - id: netstat-said-to-be-quiet\n    name: x\n    replay:\n      format: esxi\n      records: |\n        2024-01-15T10:10:04Z shell[1]: [root]: esxcli network ip connection list\n    expect: {quiet: true}\n",
    )
    .unwrap();
    let out = sockhunt()
        .args(["runbook", "replay", "--format", "markdown"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("| FAILED |"), "{text}");
}

#[test]
fn run_without_execute_is_a_dry_run() {
    let out = sockhunt()
        .args(["runbook", "run"])
        .arg(runbooks().join("linux-t1049.yml"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("dry-run"), "{text}");
    assert!(
        text.contains("would run: ss -tan") || text.contains("would skip"),
        "{text}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing was executed"));
}
