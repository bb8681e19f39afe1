//! Tests of correlation rules: each test's `record` is a sequence of events (any reader
//! format), run through detection and the chain tracker.
//!
//! `expect: match` passes when the correlation raises at least one chain; `no_match` when
//! it raises none. A correlation that is a stage of others (it raises no chain itself)
//! passes `match` when a chain built on it fires. The tests file has the same shape as a
//! detection rule's (`rules/<area>/<name>.tests.yml`), so one runner lists both.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use super::{chains, ChainConfig, ChainTracker};
use crate::engine::Detector;
use crate::hunt::Hit;
use crate::loader::RuleSet;
use crate::ruletest::{
    events_of, parse_tests, tests_path_for, Expect, Outcome, RuleReport, TestResult,
};

/// Runs the tests of the correlation rule in `rule_path`. `rules` must hold it (and the
/// rules it refers to); `detector` is built from `rules`.
pub fn run_correlation_rule_file(
    rules: &RuleSet,
    detector: &Detector,
    rule_path: &Path,
) -> RuleReport {
    let tests_path = tests_path_for(rule_path);
    let mut report = RuleReport {
        rule_path: rule_path.to_path_buf(),
        tests_path: None,
        rule_id: None,
        title: None,
        results: Vec::new(),
        error: None,
        note: None,
    };
    let parsed = fs_err::read_to_string(rule_path)
        .map_err(|e| e.to_string())
        .and_then(|text| rsigma_parser::parse_sigma_yaml(&text).map_err(|e| e.to_string()));
    let correlation = match parsed {
        Ok(collection) => match collection.correlations.into_iter().next() {
            Some(c) => c,
            None => {
                report.error = Some("no correlation rule in the file".to_owned());
                return report;
            }
        },
        Err(e) => {
            report.error = Some(format!("not a valid Sigma correlation: {e}"));
            return report;
        }
    };
    report.rule_id = correlation.id.clone();
    report.title = Some(correlation.title.clone());
    let keys: Vec<String> = correlation
        .id
        .iter()
        .chain(correlation.name.iter())
        .cloned()
        .collect();
    if !rules.correlations().iter().any(|c| {
        c.rule
            .id
            .iter()
            .chain(c.rule.name.iter())
            .any(|k| keys.contains(k))
    }) {
        report.error = Some("the correlation is not among the loaded rules".to_owned());
        return report;
    }
    let text = match fs_err::read_to_string(&tests_path) {
        Ok(t) => t,
        Err(_) => return report,
    };
    report.tests_path = Some(tests_path.clone());
    let file = match parse_tests(&tests_path, &text) {
        Ok(f) => f,
        Err(e) => {
            report.error = Some(e.to_string());
            return report;
        }
    };
    let builds_on = dependents(rules, &keys);
    let origin = tests_path.display().to_string();
    for test in &file.tests {
        let (format, outcome) = match events_of(test, &origin) {
            Err(reason) => (
                test.format.clone().unwrap_or_default(),
                Outcome::Fail(reason),
            ),
            Ok((format, events)) => {
                let hits: Vec<Hit> = events
                    .into_iter()
                    .filter_map(|event| {
                        let detections = detector.detect(&event);
                        (!detections.is_empty()).then(|| Hit {
                            event: Arc::new(event),
                            detections,
                        })
                    })
                    .collect();
                let mut tracker = ChainTracker::new(rules, &ChainConfig::default());
                let fired = chains(&mut tracker, &hits)
                    .iter()
                    .filter(|c| {
                        c.rule
                            .id
                            .iter()
                            .chain(c.rule.name.iter())
                            .any(|k| builds_on.contains(k))
                    })
                    .count();
                let outcome = match (test.expect, fired) {
                    (Expect::Match, 0) => Outcome::Fail(format!(
                        "no chain fired ({} of the events matched a rule)",
                        hits.len()
                    )),
                    (Expect::NoMatch, n) if n > 0 => Outcome::Fail(format!("{n} chain(s) fired")),
                    _ => Outcome::Pass,
                };
                (format, outcome)
            }
        };
        report.results.push(TestResult {
            name: test.name.clone(),
            expect: test.expect,
            format,
            outcome,
        });
    }
    report
}

/// The keys of a correlation and of every correlation built on it.
fn dependents(rules: &RuleSet, keys: &[String]) -> HashSet<String> {
    let mut parents: HashMap<String, Vec<String>> = HashMap::new();
    for c in rules.correlations() {
        let own: Vec<String> = c
            .rule
            .id
            .iter()
            .chain(c.rule.name.iter())
            .cloned()
            .collect();
        for r in &c.rule.rules {
            parents
                .entry(r.clone())
                .or_default()
                .extend(own.iter().cloned());
        }
    }
    let mut out: HashSet<String> = keys.iter().cloned().collect();
    let mut stack: Vec<String> = keys.to_vec();
    while let Some(k) = stack.pop() {
        for p in parents.get(&k).into_iter().flatten() {
            if out.insert(p.clone()) {
                stack.push(p.clone());
            }
        }
    }
    out
}
