//! `sockhunt runbook run --execute` on the real kernel: every Linux procedure of our
//! runbooks is detected by the live sensor and every benign one stays quiet, with the
//! report in JUnit and JSON. Needs root and BTF (as CI has); elsewhere it says why it
//! does not run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use assert_cmd::Command;

fn runbooks() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../runbooks")
}

fn can_run_sensor() -> bool {
    let root = nix::unistd::geteuid().is_root();
    let btf = std::path::Path::new("/sys/kernel/btf/vmlinux").exists();
    if !root || !btf {
        eprintln!("skipping: the live sensor needs root ({root}) and BTF ({btf})");
    }
    root && btf
}

#[test]
fn every_linux_procedure_is_detected_and_every_benign_one_is_quiet() {
    if !can_run_sensor() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("runbooks.xml");
    let out = Command::cargo_bin("sockhunt")
        .unwrap()
        .args([
            "runbook",
            "run",
            "--execute",
            "--format",
            "junit",
            "--output",
        ])
        .arg(&junit)
        .arg(runbooks().join("linux-t1049.yml"))
        .arg(runbooks().join("linux-benign.yml"))
        .timeout(std::time::Duration::from_secs(300))
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stdout:\n{table}\nstderr:\n{stderr}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("failures=\"0\" errors=\"0\""), "{xml}");
    // In CI every tool the procedures need is installed: nothing may be skipped there.
    if std::env::var_os("CI").is_some() {
        assert!(xml.contains("skipped=\"0\""), "{table}");
    }
    for id in [
        "linux-ss-tan",
        "linux-bash-read-builtin",
        "linux-renamed-netstat",
        "linux-other-process-net",
        "benign-cpuinfo",
    ] {
        assert!(
            table
                .lines()
                .any(|l| l.starts_with(id) && l.contains("passed")),
            "{id}:\n{table}"
        );
    }
}

#[test]
fn the_json_report_names_the_rules_and_their_latency() {
    if !can_run_sensor() {
        return;
    }
    let out = Command::cargo_bin("sockhunt")
        .unwrap()
        .args([
            "runbook",
            "run",
            "--execute",
            "--format",
            "json",
            "--only",
            "linux-cat-proc-net-tcp",
        ])
        .arg(runbooks().join("linux-t1049.yml"))
        .timeout(std::time::Duration::from_secs(120))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let results = report["results"].as_array().unwrap();
    assert_eq!(results.len(), 1);
    let r = &results[0];
    assert_eq!(r["outcome"], "passed");
    assert!(r["latency_ms"].as_u64().is_some(), "{r}");
    let fired = r["fired"].as_array().unwrap();
    assert!(
        fired.iter().any(|f| f["tags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t == "attack.t1049")),
        "{r}"
    );
}

#[test]
fn atomic_red_team_tests_run_and_unmet_ones_are_skipped_with_reasons() {
    if !can_run_sensor() {
        return;
    }
    let atomics = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/atomics");
    let out = Command::cargo_bin("sockhunt")
        .unwrap()
        .args([
            "runbook",
            "run",
            "--execute",
            "--format",
            "json",
            "--atomics",
        ])
        .arg(&atomics)
        .timeout(std::time::Duration::from_secs(120))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let results = report["results"].as_array().unwrap();
    assert_eq!(results.len(), 4, "{report}");
    let outcome = |r: &serde_json::Value| r["outcome"].as_str().unwrap().to_owned();
    let note = |r: &serde_json::Value| r["note"].as_str().unwrap_or("").to_owned();
    let rows: Vec<(String, String, String)> = results
        .iter()
        .map(|r| (r["name"].as_str().unwrap().to_owned(), outcome(r), note(r)))
        .collect();
    let find = |name: &str| rows.iter().find(|(n, _, _)| n == name).unwrap().clone();
    if which("netstat") {
        assert_eq!(
            find("Connections and sessions on Linux").1,
            "passed",
            "{rows:?}"
        );
    }
    let missing = find("A tool that is not installed");
    assert_eq!(missing.1, "skipped");
    assert!(missing.2.contains("prerequisites not met"), "{missing:?}");
    let windows = find("Connections on Windows");
    assert_eq!(windows.1, "skipped");
    assert!(windows.2.contains("windows"), "{windows:?}");
    let download = find("Downloads a tool first");
    assert_eq!(download.1, "skipped");
    assert!(download.2.contains("download"), "{download:?}");
}

fn which(tool: &str) -> bool {
    std::process::Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn procedures_can_run_as_another_user() {
    if !can_run_sensor() || !which("ss") {
        return;
    }
    let out = Command::cargo_bin("sockhunt")
        .unwrap()
        .args([
            "runbook",
            "run",
            "--execute",
            "--format",
            "json",
            "--as",
            "nobody",
            "--only",
            "linux-ss-tan",
        ])
        .arg(runbooks().join("linux-t1049.yml"))
        .timeout(std::time::Duration::from_secs(120))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["results"][0]["outcome"], "passed", "{report}");
}
