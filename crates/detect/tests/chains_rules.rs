//! The chain rules' own tests (`rules/correlation/*.tests.yml`): every chain rule has
//! positive and negative tests, and they pass through detection and the chain tracker.
#![allow(clippy::unwrap_used)]

mod chains_support;

use std::path::Path;

use chains_support::Setup;
use sockhunt_detect::correlate::ruletests::run_correlation_rule_file;
use sockhunt_detect::ruletest::{Expect, Outcome};

#[test]
fn every_chain_rule_test_passes() {
    let setup = Setup::new();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rules/correlation");
    let mut failures = Vec::new();
    let mut rules = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if !name.ends_with(".yml") || name.ends_with(".tests.yml") {
            continue;
        }
        rules += 1;
        let report = run_correlation_rule_file(&setup.rules, &setup.detector, &path);
        if let Some(e) = &report.error {
            failures.push(format!("{name}: {e}"));
        }
        let has = |want: Expect| report.results.iter().any(|r| r.expect == want);
        if !has(Expect::Match) || !has(Expect::NoMatch) {
            failures.push(format!("{name}: needs a match and a no_match test"));
        }
        for r in &report.results {
            if let Outcome::Fail(reason) = &r.outcome {
                failures.push(format!("{name} [{}]: {reason}", r.name));
            }
        }
    }
    assert!(rules >= 6, "found {rules} chain rules");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn chain_and_companion_rules_load_without_warnings() {
    let rules = sockhunt_detect::RuleSet::builtin();
    let ours: Vec<String> = rules
        .errors()
        .iter()
        .chain(rules.warnings())
        .filter(|e| e.file.contains("/companion/") || e.file.contains("/correlation/"))
        .map(|e| e.to_string())
        .collect();
    assert!(ours.is_empty(), "{}", ours.join("\n"));
    assert!(rules.correlations().len() >= 6);
}
