//! The built-in pack's own tests: every rule under `rules/` has a tests file with at
//! least one positive and one negative test, and every test passes.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use sockhunt_detect::ruletest::{
    collect_rule_files, is_correlation_text, parse_tests, run_rule_file, tests_path_for, Expect,
    Outcome,
};

fn rules_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rules")
}

fn detection_rules() -> Vec<PathBuf> {
    let (files, errors) = collect_rule_files(&[rules_dir()]);
    assert!(errors.is_empty(), "{errors:?}");
    files
        .into_iter()
        .filter(|f| !is_correlation_text(&std::fs::read_to_string(f).unwrap()))
        .collect()
}

#[test]
fn every_rule_has_positive_and_negative_tests() {
    let mut missing = Vec::new();
    for rule in detection_rules() {
        let tests = tests_path_for(&rule);
        let Ok(text) = std::fs::read_to_string(&tests) else {
            missing.push(format!("{}: no tests file", rule.display()));
            continue;
        };
        let file = match parse_tests(&tests, &text) {
            Ok(f) => f,
            Err(e) => {
                missing.push(e.to_string());
                continue;
            }
        };
        let has = |want: Expect| file.tests.iter().any(|t| t.expect == want);
        if !has(Expect::Match) || !has(Expect::NoMatch) {
            missing.push(format!(
                "{}: needs at least one match and one no_match test",
                tests.display()
            ));
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}

/// Set `SOCKHUNT_PACK_ONLY=<substring>` to run the tests of some rules only.
#[test]
fn every_pack_test_passes() {
    let only = std::env::var("SOCKHUNT_PACK_ONLY").ok();
    let mut failures = Vec::new();
    let mut total = 0;
    for rule in detection_rules() {
        if only
            .as_deref()
            .is_some_and(|o| !rule.display().to_string().contains(o))
        {
            continue;
        }
        let report = run_rule_file(&rule);
        if let Some(error) = &report.error {
            failures.push(format!("{}: {error}", rule.display()));
        }
        for result in &report.results {
            total += 1;
            if let Outcome::Fail(reason) = &result.outcome {
                failures.push(format!(
                    "{} [{}] {}: {reason}",
                    rule.display(),
                    result.format,
                    result.name
                ));
            }
        }
    }
    assert!(total > 0, "no tests ran");
    assert!(
        failures.is_empty(),
        "{} of {total} pack tests failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The areas of the T1049 pack (companion/ and correlation/ serve the chains and follow
/// their own conventions).
const T1049_AREAS: [&str; 7] = [
    "windows",
    "powershell",
    "linux",
    "macos",
    "esxi",
    "network",
    "cloud",
];

#[test]
fn every_t1049_rule_carries_honest_metadata() {
    let mut problems = Vec::new();
    let mut ids = std::collections::HashSet::new();
    for area in T1049_AREAS {
        let (files, _) = collect_rule_files(&[rules_dir().join(area)]);
        assert!(!files.is_empty(), "no rules in {area}/");
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            let rule = sockhunt_detect::ruletest::parse_single_rule(&file, &text).unwrap();
            let name = file.display().to_string();
            let mut need = |ok: bool, what: &str| {
                if !ok {
                    problems.push(format!("{name}: {what}"));
                }
            };
            let id = rule.id.clone().unwrap_or_default();
            need(
                id.len() == 36 && id.chars().filter(|c| *c == '-').count() == 4,
                "id is not a UUID",
            );
            need(ids.insert(id), "id is used twice");
            need(rule.status.is_some(), "no status");
            need(rule.level.is_some(), "no level");
            need(rule.date.is_some(), "no date");
            need(
                rule.author.as_deref() == Some("sockhunt"),
                "author is not sockhunt",
            );
            need(!rule.references.is_empty(), "no references");
            need(!rule.falsepositives.is_empty(), "no falsepositives");
            need(
                rule.description.as_deref().is_some_and(|d| d.len() > 40),
                "no description",
            );
            need(
                rule.tags.iter().any(|t| t == "attack.t1049"),
                "not tagged attack.t1049",
            );
            need(
                rule.tags.iter().any(|t| t == "attack.discovery"),
                "not tagged attack.discovery",
            );
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
