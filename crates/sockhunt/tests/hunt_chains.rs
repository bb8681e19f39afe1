//! Chains in `sockhunt hunt`: shown above single detections, `--chains-only` for triage,
//! windows and thresholds from `--chain-config`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use assert_cmd::Command;
use serde_json::Value;

fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/evtx")
}

fn hunt(args: &[&str]) -> (i32, String, String) {
    let out = Command::cargo_bin("sockhunt")
        .unwrap()
        .arg("hunt")
        .arg(corpus())
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn chains(jsonl: &str) -> Vec<Value> {
    jsonl
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["type"] == "chain")
        .collect()
}

#[test]
fn chains_only_gives_one_chain_per_real_session_and_no_single_alerts() {
    let (code, out, err) = hunt(&["--chains-only", "--format", "jsonl", "--no-progress"]);
    assert_eq!(code, 1, "{err}");
    let lines: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        lines
            .iter()
            .all(|l| l["type"] == "chain" || l["type"] == "summary"),
        "{out}"
    );
    let chains = chains(&out);
    let hosts: Vec<&str> = chains
        .iter()
        .map(|c| c["group"]["sockhunt.host"].as_str().unwrap())
        .collect();
    for host in ["msedgewin10", "fs03.offsec.lan"] {
        assert_eq!(
            hosts.iter().filter(|h| **h == host).count(),
            1,
            "one chain on {host}: {hosts:?}"
        );
    }
    for chain in &chains {
        let steps = chain["steps"].as_array().unwrap();
        let times: Vec<&str> = steps.iter().map(|s| s["time"].as_str().unwrap()).collect();
        let mut sorted = times.clone();
        sorted.sort_unstable();
        assert_eq!(times, sorted, "steps in time order");
        assert!(
            steps
                .iter()
                .all(|s| s["source"].as_str().is_some_and(|p| p.ends_with(".evtx"))),
            "{chain:#}"
        );
    }
}

#[test]
fn chains_are_shown_above_single_detections_with_their_steps() {
    let (code, out, err) = hunt(&["--no-progress"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        out.starts_with("FIRST"),
        "the chain table comes first:\n{}",
        &out[..out.len().min(400)]
    );
    let chain_block = out.find("chain 1:").unwrap();
    let alerts = out.find("\nTIME  ").or_else(|| out.rfind("TIME ")).unwrap();
    assert!(
        chain_block < alerts,
        "chains and their steps above the single detections"
    );
}

#[test]
fn a_chain_config_changes_windows_and_thresholds() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("chains.yml");
    // Steps of the real sessions are seconds to minutes apart: a one-second window
    // leaves no burst of three techniques.
    std::fs::write(&config, "window: 1s\n").unwrap();
    let (_, out, err) = hunt(&[
        "--chains-only",
        "--format",
        "jsonl",
        "--no-progress",
        "--chain-config",
        config.to_str().unwrap(),
    ]);
    assert!(chains(&out).is_empty(), "{out}\n{err}");
    // A threshold no session reaches.
    std::fs::write(
        &config,
        "chains:\n  sockhunt_discovery_burst:\n    threshold: 50\n",
    )
    .unwrap();
    let (_, out, err) = hunt(&[
        "--chains-only",
        "--format",
        "jsonl",
        "--no-progress",
        "--chain-config",
        config.to_str().unwrap(),
    ]);
    assert!(
        chains(&out)
            .iter()
            .all(|c| c["rule"]["name"] != "sockhunt_discovery_burst"),
        "{out}\n{err}"
    );
    // A broken file is an error naming it.
    std::fs::write(&config, "window: [\n").unwrap();
    let (code, _, err) = hunt(&["--chains-only", "--chain-config", config.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("chains.yml"), "{err}");
}
