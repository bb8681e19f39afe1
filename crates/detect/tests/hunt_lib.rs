//! The hunt orchestration: inputs handed back in input order whatever the thread count,
//! filters applied in the sink, counts per rule and per format, and the stop flag.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::sync::atomic::Ordering;

use sockhunt_detect::hunt::{expand_inputs, hunt, HuntOptions};
use sockhunt_detect::{Detector, RuleSet};

const RULE: &str = "title: Netstat\nid: 11111111-2222-3333-4444-555555555555\nlevel: medium\ntags: [attack.discovery, attack.t1049]\nlogsource:\n  category: process_creation\ndetection:\n  sel:\n    CommandLine|contains: netstat\n  condition: sel\n";

fn line(time: &str, host: &str, command: &str) -> String {
    format!(
        r#"{{"time":"{time}","host":"{host}","logsource":{{"product":"linux","category":"process_creation"}},"fields":{{"CommandLine":"{command}"}}}}"#
    )
}

fn inputs(dir: &std::path::Path) -> Vec<PathBuf> {
    // Files of very different sizes, so a parallel hunt finishes them out of order.
    let mut paths = Vec::new();
    for (i, n) in [4000usize, 3, 2500, 1, 10].into_iter().enumerate() {
        let mut text = String::new();
        for j in 0..n {
            let command = if j % 100 == 0 { "netstat -an" } else { "ls" };
            let host = if i % 2 == 0 { "even.example" } else { "odd" };
            text.push_str(&line(
                &format!("2024-05-01T10:{:02}:00Z", j % 60),
                host,
                command,
            ));
            text.push('\n');
        }
        let path = dir.join(format!("f{i}.jsonl"));
        fs_err::write(&path, text).unwrap();
        paths.push(path);
    }
    paths
}

fn detector() -> Detector {
    let mut rules = RuleSet::new();
    rules.add_yaml("netstat.yml", RULE);
    assert!(rules.errors().is_empty());
    Detector::new(&rules)
}

#[test]
fn inputs_come_back_in_order_with_counts() {
    let dir = tempfile::tempdir().unwrap();
    let paths = inputs(dir.path());
    let (inputs, errors) = expand_inputs(&[dir.path().to_path_buf()]);
    assert!(errors.is_empty());
    assert_eq!(inputs.len(), paths.len());
    let detector = detector();
    let mut options = HuntOptions::new(&detector);
    options.threads = 3;
    let mut seen = Vec::new();
    let summary = hunt(&inputs, &detector, &options, &mut |outcome| {
        seen.push((outcome.index, outcome.hits.len()));
    });
    assert_eq!(
        seen,
        vec![(0, 40), (1, 1), (2, 25), (3, 1), (4, 1)],
        "input order, every hit"
    );
    assert_eq!(summary.alerts, 68);
    assert_eq!(summary.stats.events, 4000 + 3 + 2500 + 1 + 10);
    assert_eq!(summary.per_rule.len(), 1);
    assert_eq!(summary.per_rule[0].alerts, 68);
    assert_eq!(summary.per_source[0].format, "generic");
    assert!(!summary.interrupted && !summary.has_errors());
}

#[test]
fn host_and_time_filters_apply_before_detection() {
    let dir = tempfile::tempdir().unwrap();
    inputs(dir.path());
    let (inputs, _) = expand_inputs(&[dir.path().to_path_buf()]);
    let detector = detector();
    let mut options = HuntOptions::new(&detector);
    options.hosts = vec!["EVEN".into()];
    options.since = Some("2024-05-01T10:01:00Z".parse().unwrap());
    let summary = hunt(&inputs, &detector, &options, &mut |_| {});
    // Left out: the 4 events of the odd host, and the even host's events at minute 0
    // (67 + 42 + 1 of them).
    assert_eq!(summary.stats.events, 6514);
    assert_eq!(summary.filtered, 114);
    // netstat every 100 lines, minus those falling on minute 0 (every 300 lines).
    assert_eq!(summary.alerts, 26 + 16);
}

#[test]
fn stop_flag_ends_the_hunt_early() {
    let dir = tempfile::tempdir().unwrap();
    inputs(dir.path());
    let (inputs, _) = expand_inputs(&[dir.path().to_path_buf()]);
    let detector = detector();
    let options = HuntOptions::new(&detector);
    options.stop.store(true, Ordering::SeqCst);
    let summary = hunt(&inputs, &detector, &options, &mut |_| {});
    assert!(summary.interrupted);
    assert_eq!(summary.alerts, 0);
}
