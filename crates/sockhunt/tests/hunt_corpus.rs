//! `sockhunt hunt` over the real EVTX corpus in ../shared: the built-in pack finds the
//! real `NETSTAT.EXE -na` run from a reverse shell, and SigmaHQ's process-creation rules
//! load and run without a single rule or record error.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn corpus() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus");
    dir.join("evtx").is_dir().then_some(dir)
}

fn alerts(stdout: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["type"] == "alert")
        .collect()
}

#[test]
fn builtin_pack_finds_the_reverse_shell_netstat() {
    let Some(corpus) = corpus() else {
        eprintln!("../shared/corpus is absent: skipped");
        return;
    };
    let out = Command::cargo_bin("sockhunt")
        .unwrap()
        .args(["hunt", "--no-progress", "--format", "jsonl"])
        .arg(corpus.join("evtx"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(" 0 rule errors, 0 unreadable inputs, 0 record errors"),
        "{stderr}"
    );
    let alerts = alerts(&out.stdout);
    let netstat = alerts
        .iter()
        .find(|a| {
            a["event"]["provenance"]["source"]
                .as_str()
                .unwrap()
                .ends_with("powercat_revShell_sysmon_1_3.evtx")
                && a["event"]["provenance"]["locator"]["value"] == 8112
        })
        .unwrap_or_else(|| panic!("no alert on the NETSTAT.EXE record: {alerts:#?}"));
    assert!(netstat["rule"]["attack"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t == "T1049"));
    assert_eq!(
        netstat["event"]["fields"]["CommandLine"],
        "\"C:\\Windows\\system32\\NETSTAT.EXE\"  -na"
    );
    assert!(netstat["event"]["original"]["Event"]["System"].is_object());
}

#[test]
fn sigmahq_process_creation_rules_run_cleanly() {
    let Some(corpus) = corpus() else {
        eprintln!("../shared/corpus is absent: skipped");
        return;
    };
    let out = Command::cargo_bin("sockhunt")
        .unwrap()
        .args([
            "hunt",
            "--no-builtin",
            "--no-progress",
            "--format",
            "jsonl",
            "--rules",
        ])
        .arg(corpus.join("sigma/rules/windows/process_creation"))
        .arg(corpus.join("evtx"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(" of 1183 rules "), "{stderr}");
    assert!(
        stderr.contains(" 0 rule errors, 0 unreadable inputs, 0 record errors"),
        "{stderr}"
    );
    let alerts = alerts(&out.stdout);
    assert!(alerts.len() > 1000, "{}", alerts.len());
    // `whoami` right after the netstat in the reverse shell.
    assert!(alerts.iter().any(|a| {
        a["rule"]["id"] == "502b42de-4306-40b4-9596-6f590c81f073"
            && a["event"]["provenance"]["locator"]["value"] == 8119
    }));
    // Every alert names its rule fully.
    for a in &alerts {
        assert!(a["rule"]["id"].is_string() && a["rule"]["title"].is_string());
        assert!(a["rule"]["level"].is_string() && a["rule"]["tags"].is_array());
    }
}
