//! `sockhunt hunt` end to end: fixtures in every telemetry shape, output formats, filters,
//! exit codes, rule errors.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hunt")
}

/// `sockhunt hunt --no-builtin --rules <fixture rules>` with colours and progress off.
fn hunt() -> Command {
    hunt_with(&fixtures().join("rules"))
}

fn hunt_with(rules: &Path) -> Command {
    let mut cmd = Command::cargo_bin("sockhunt").unwrap();
    cmd.env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .args(["hunt", "--no-builtin", "--no-progress", "--rules"])
        .arg(rules);
    cmd
}

/// Runs and returns (exit code, stdout, stderr) with the fixture path replaced by `[F]`.
fn run(cmd: &mut Command) -> (i32, String, String) {
    let out = cmd.output().unwrap();
    let f = fixtures().display().to_string();
    let clean = |b: &[u8]| String::from_utf8_lossy(b).replace(&f, "[F]");
    (
        out.status.code().unwrap_or(-1),
        clean(&out.stdout),
        clean(&out.stderr),
    )
}

#[test]
fn table_lists_alerts_in_time_order() {
    let (code, stdout, stderr) = run(hunt().arg(fixtures().join("logs/linux.jsonl")));
    assert_eq!(code, 1, "{stderr}");
    insta::assert_snapshot!(stdout, @r"
    TIME                  HOST               RULE                                     LEVEL   USER   COMMAND LINE  SOURCE
    2024-05-01T10:00:00Z  web1               Sockets listed with ss                   low     alice  ss -tanp      [F]/logs/linux.jsonl:line 1
    2024-05-01T10:00:02Z  web2.corp.example  Network connections listed with netstat  medium  bob    =netstat -an  [F]/logs/linux.jsonl:line 3
    ");
    insta::assert_snapshot!(stderr, @"sockhunt: 2 alerts (2 events matched), 0 chains, from 2 of 2 rules over 1 inputs (0 not logs, skipped): 4 records, 1 skipped by the pre-filter, 3 events, 0 outside --since/--until/--host; 0 rule errors, 0 unreadable inputs, 0 record errors");
}

#[test]
fn csv_cells_are_guarded_against_formulas() {
    let (code, stdout, _) = run(hunt()
        .args(["--format", "csv"])
        .arg(fixtures().join("logs/linux.jsonl")));
    assert_eq!(code, 1);
    let mut reader = csv::Reader::from_reader(stdout.as_bytes());
    let headers = reader.headers().unwrap().clone();
    assert_eq!(&headers[0], "time");
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2);
    let value = headers.iter().position(|h| h == "value").unwrap();
    assert_eq!(&rows[1][value], "'=netstat -an");
    assert_eq!(&rows[0][value], "ss -tanp");
}

#[test]
fn jsonl_carries_rule_and_whole_event_then_a_summary() {
    let (code, stdout, _) = run(hunt()
        .args(["--format", "jsonl"])
        .arg(fixtures().join("logs/linux.jsonl")));
    assert_eq!(code, 1);
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    let alert = &lines[0];
    assert_eq!(alert["type"], "alert");
    assert_eq!(alert["rule"]["id"], "0f5b7a8c-2d3e-4f10-8a9b-1c2d3e4f5a6b");
    assert_eq!(alert["rule"]["title"], "Sockets listed with ss");
    assert_eq!(alert["rule"]["level"], "low");
    assert_eq!(alert["rule"]["attack"][0], "T1049");
    assert_eq!(alert["event"]["fields"]["CommandLine"], "ss -tanp");
    assert_eq!(alert["event"]["host"], "web1");
    assert_eq!(alert["event"]["provenance"]["locator"]["value"], 1);
    let summary = &lines[2];
    assert_eq!(summary["type"], "summary");
    assert_eq!(summary["summary"]["alerts"], 2);
    assert_eq!(summary["summary"]["interrupted"], false);
}

#[test]
fn filters_by_time_host_and_level() {
    let logs = fixtures().join("logs/linux.jsonl");
    let (code, stdout, _) = run(hunt().args(["--since", "2024-05-01T10:00:01Z"]).arg(&logs));
    assert_eq!(code, 1);
    assert!(
        !stdout.contains("ss -tanp") && stdout.contains("netstat"),
        "{stdout}"
    );

    let (code, stdout, _) = run(hunt().args(["--until", "2024-05-01T10:00:01Z"]).arg(&logs));
    assert_eq!(code, 1);
    assert!(
        stdout.contains("ss -tanp") && !stdout.contains("netstat"),
        "{stdout}"
    );

    // A short name matches the fully qualified host.
    let (code, stdout, _) = run(hunt().args(["--host", "WEB2"]).arg(&logs));
    assert_eq!(code, 1);
    assert!(
        !stdout.contains("ss -tanp") && stdout.contains("netstat"),
        "{stdout}"
    );

    let (code, stdout, _) = run(hunt().args(["--min-level", "medium"]).arg(&logs));
    assert_eq!(code, 1);
    assert!(
        !stdout.contains("ss -tanp") && stdout.contains("netstat"),
        "{stdout}"
    );

    let (code, stdout, stderr) = run(hunt().args(["--host", "nowhere"]).arg(&logs));
    assert_eq!((code, stdout.as_str()), (0, ""), "{stderr}");
    assert!(
        stderr.contains("3 outside --since/--until/--host"),
        "{stderr}"
    );
}

#[test]
fn errors_win_over_detections() {
    // bad.jsonl has one broken record between two good ones.
    let (code, stdout, stderr) = run(hunt().arg(fixtures().join("logs")));
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stdout.contains("netstat -tulpn"),
        "the records around the bad one are read"
    );
    assert!(
        stderr.contains("sockhunt: record error: [F]/logs/bad.jsonl:line 2: "),
        "{stderr}"
    );
}

#[test]
fn rule_with_yaml_error_is_named_with_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("broken.yml");
    fs_err::write(
        &bad,
        "title: Broken\nlogsource:\n  category: process_creation\ndetection:\n  sel:\n    Image: [a, b\n  condition: sel\n",
    )
    .unwrap();
    let (code, _, stderr) = run(hunt()
        .arg("--rules")
        .arg(&bad)
        .arg(fixtures().join("logs/linux.jsonl")));
    assert_eq!(code, 2, "{stderr}");
    let expected = format!("sockhunt: rule error: {}:7:12: ", bad.display());
    assert!(stderr.contains(&expected), "{stderr}");
}

#[test]
fn nothing_found_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("quiet.jsonl");
    fs_err::write(
        &log,
        r#"{"time":"2024-05-01T10:00:00Z","host":"h","logsource":{"product":"linux","category":"process_creation"},"fields":{"Image":"/usr/bin/ls"}}"#,
    )
    .unwrap();
    let (code, stdout, _) = run(hunt().arg(&log));
    assert_eq!((code, stdout.as_str()), (0, ""));
}

#[test]
fn non_logs_in_a_directory_are_skipped_but_named_files_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    fs_err::copy(
        fixtures().join("logs/linux.jsonl"),
        dir.path().join("a.jsonl"),
    )
    .unwrap();
    fs_err::write(dir.path().join("README.md"), "# notes\n").unwrap();
    let (code, _, stderr) = run(hunt().arg(dir.path()));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("(1 not logs, skipped)"), "{stderr}");

    let (code, _, stderr) = run(hunt().arg(dir.path().join("README.md")));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("README.md: not a log format"), "{stderr}");
}

#[test]
fn output_file_is_written_whole() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("alerts.jsonl");
    let (code, stdout, _) = run(hunt()
        .args(["--format", "jsonl", "--output"])
        .arg(&out)
        .arg(fixtures().join("logs/linux.jsonl")));
    assert_eq!((code, stdout.as_str()), (1, ""));
    let text = fs_err::read_to_string(&out).unwrap();
    assert_eq!(text.lines().count(), 3);
    // No temporary file left beside it.
    assert_eq!(fs_err::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn standard_input_is_read_with_a_dash() {
    let text = fs_err::read_to_string(fixtures().join("logs/linux.jsonl")).unwrap();
    let (code, stdout, _) = run(hunt().arg("-").write_stdin(text));
    assert_eq!(code, 1);
    assert!(stdout.contains("-:line 3"), "{stdout}");
}

/// The same netstat execution as Sysmon EID 1, Security 4688, Winlogbeat/ECS, auditd,
/// Sysmon for Linux and the sensor's JSONL fires the same rule in every shape.
#[test]
fn one_rule_fires_on_every_telemetry_shape() {
    let shapes = fixtures().join("shapes");
    for name in [
        "sysmon1.json",
        "security4688.json",
        "ecs.json",
        "audit.log",
        "sysmon-linux.log",
        "sensor.jsonl",
    ] {
        let (code, stdout, stderr) = run(hunt_with(&fixtures().join("rules/netstat.yml"))
            .args(["--format", "jsonl"])
            .arg(shapes.join(name)));
        assert_eq!(code, 1, "{name}: {stderr}");
        let alerts: Vec<serde_json::Value> = stdout
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .filter(|v| v["type"] == "alert")
            .collect();
        assert!(
            alerts
                .iter()
                .any(|a| a["rule"]["id"] == "6c1d2f0e-4b7a-4d51-9a3e-2f8e1c0b7a10"),
            "{name}: {stdout}"
        );
    }
}
