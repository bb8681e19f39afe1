//! Ctrl-C during a long hunt: the output file is complete, valid JSONL up to the point of
//! interruption, ends with a summary saying so, and the exit status is 130.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

#[test]
fn output_is_complete_after_sigint() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/evtx");
    if !corpus.is_dir() {
        eprintln!("../shared/corpus/evtx is absent: skipped");
        return;
    }
    // Many copies of the corpus (symbolic links to it), so the hunt outlasts the signal.
    let dir = tempfile::tempdir().unwrap();
    let inputs = dir.path().join("inputs");
    fs_err::create_dir(&inputs).unwrap();
    for i in 0..40 {
        std::os::unix::fs::symlink(&corpus, inputs.join(format!("copy{i:02}"))).unwrap();
    }
    let out = dir.path().join("alerts.jsonl");
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hunt/rules");
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("sockhunt"))
        .args([
            "hunt",
            "--no-builtin",
            "--no-progress",
            "--format",
            "jsonl",
            "-j",
            "1",
        ])
        .arg("--rules")
        .arg(&rules)
        .arg("--output")
        .arg(&out)
        .arg(&inputs)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    std::thread::sleep(Duration::from_millis(2500));
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());

    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the hunt did not stop after SIGINT"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let stderr = std::io::read_to_string(child.stderr.take().unwrap()).unwrap();
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");

    let text = fs_err::read_to_string(&out).unwrap();
    assert!(text.ends_with('\n'));
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("every line is whole JSON"))
        .collect();
    let summary = lines.last().unwrap();
    assert_eq!(summary["type"], "summary");
    assert_eq!(summary["summary"]["interrupted"], true);
    let alerts = lines.iter().filter(|l| l["type"] == "alert").count() as u64;
    assert_eq!(summary["summary"]["alerts"], alerts);
    assert!(
        summary["summary"]["files"].as_u64().unwrap() > 5_000,
        "every input was listed before reading"
    );
    // Stopped early: far fewer records than 40 copies of the corpus hold.
    assert!(summary["summary"]["records"].as_u64().unwrap() < 40 * 24_661);
    // Nothing but the output file is left in the directory.
    let names: Vec<_> = fs_err::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}
