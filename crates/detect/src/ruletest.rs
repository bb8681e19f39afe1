//! Rule tests: positive and negative events kept beside every rule.
//!
//! A rule `rules/<area>/<name>.yml` has its tests in `rules/<area>/<name>.tests.yml`. Each
//! test gives either a raw `record` in one of the formats sockhunt reads (so the test
//! exercises the real reader and normaliser, exactly as `sockhunt hunt` would), or an
//! already normalised `event`. A test passes when an `expect: match` record makes the rule
//! fire at least once, or an `expect: no_match` record never does. A record that produces
//! no event at all fails: a test that silently tests nothing is worse than none.
//!
//! The same runner serves the built-in pack and user rules written the same way.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rsigma_eval::Engine;
use rsigma_parser::{SigmaCollection, SigmaRule};
use serde::Deserialize;
use sockhunt_events::{
    read_stream, CollectSink, Event, Format, Locator, LogSource, Provenance, ReadOptions, Value,
};

/// Suffix that marks a tests file; such files are never loaded as rules.
pub const TESTS_SUFFIX: &str = ".tests.yml";

/// Whether a path names a tests file rather than a rule.
pub fn is_tests_file(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.ends_with(TESTS_SUFFIX))
}

/// Whether a path names a rule file (`.yml`/`.yaml`, not a tests file, not hidden).
pub fn is_rule_file(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    !name.starts_with('.')
        && (name.ends_with(".yml") || name.ends_with(".yaml"))
        && !is_tests_file(path)
}

/// The tests file that belongs to a rule file.
pub fn tests_path_for(rule_path: &Path) -> PathBuf {
    let name = rule_path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let stem = name
        .strip_suffix(".yml")
        .or_else(|| name.strip_suffix(".yaml"))
        .unwrap_or(name);
    rule_path.with_file_name(format!("{stem}{TESTS_SUFFIX}"))
}

/// The rule file that belongs to a tests file (`.yml` preferred over `.yaml`).
pub fn rule_path_for(tests_path: &Path) -> PathBuf {
    let name = tests_path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let stem = name.strip_suffix(TESTS_SUFFIX).unwrap_or(name);
    let yml = tests_path.with_file_name(format!("{stem}.yml"));
    if yml.exists() {
        return yml;
    }
    let yaml = tests_path.with_file_name(format!("{stem}.yaml"));
    if yaml.exists() {
        yaml
    } else {
        yml
    }
}

/// What a test expects of the rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Expect {
    /// At least one event from the record makes the rule fire.
    Match,
    /// No event from the record makes the rule fire.
    NoMatch,
}

impl fmt::Display for Expect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Expect::Match => "match",
            Expect::NoMatch => "no_match",
        })
    }
}

/// A normalised event written directly in a test.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct TestEvent {
    /// The event's Sigma logsource.
    #[serde(default)]
    pub logsource: TestLogSource,
    /// Fields under their Sigma taxonomy names.
    #[serde(default)]
    pub fields: BTreeMap<String, serde_json::Value>,
}

/// The logsource of a [`TestEvent`].
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct TestLogSource {
    /// `windows`, `linux`, `aws`...
    #[serde(default)]
    pub product: Option<String>,
    /// `process_creation`, `ps_script`...
    #[serde(default)]
    pub category: Option<String>,
    /// `sysmon`, `security`, `cloudtrail`...
    #[serde(default)]
    pub service: Option<String>,
}

/// One test of a rule.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct TestCase {
    /// Free text, unique in its file.
    pub name: String,
    /// What the rule should do with the event(s).
    pub expect: Expect,
    /// The reader format of `record` (any format but `evtx`).
    #[serde(default)]
    pub format: Option<String>,
    /// Raw record(s) as the source writes them.
    #[serde(default)]
    pub record: Option<String>,
    /// A normalised event, instead of a record.
    #[serde(default)]
    pub event: Option<TestEvent>,
}

/// The contents of one tests file.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct TestFile {
    /// The id of the rule under test; defaults to the sibling rule's id.
    #[serde(default)]
    pub rule: Option<String>,
    /// The tests, in order.
    pub tests: Vec<TestCase>,
}

/// A tests file or rule file that could not be used.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{path}: {message}")]
pub struct TestFileError {
    /// The file.
    pub path: PathBuf,
    /// What went wrong.
    pub message: String,
}

impl TestFileError {
    fn new(path: &Path, message: impl fmt::Display) -> Self {
        TestFileError {
            path: path.to_path_buf(),
            message: message.to_string(),
        }
    }
}

/// Parses a tests file's text.
pub fn parse_tests(path: &Path, text: &str) -> Result<TestFile, TestFileError> {
    let file: TestFile = crate::yaml::from_str(&path.display().to_string(), text).map_err(|e| {
        let at = match (e.line, e.column) {
            (Some(l), Some(c)) => format!("line {l}, column {c}: "),
            (Some(l), None) => format!("line {l}: "),
            _ => String::new(),
        };
        TestFileError::new(path, format!("not a valid tests file: {at}{}", e.message))
    })?;
    let mut seen = std::collections::HashSet::new();
    for (i, test) in file.tests.iter().enumerate() {
        if !seen.insert(test.name.as_str()) {
            return Err(TestFileError::new(
                path,
                format!("test {} name `{}` is used twice", i + 1, test.name),
            ));
        }
    }
    Ok(file)
}

/// Parses a rule file's text into exactly one detection rule.
pub fn parse_single_rule(path: &Path, text: &str) -> Result<SigmaRule, TestFileError> {
    let collection: SigmaCollection = rsigma_parser::parse_sigma_yaml(text)
        .map_err(|e| TestFileError::new(path, format!("not a valid Sigma rule: {e}")))?;
    if let Some(first) = collection.errors.first() {
        return Err(TestFileError::new(
            path,
            format!("not a valid Sigma rule: {first}"),
        ));
    }
    let mut rules = collection.rules.into_iter();
    match (rules.next(), rules.next()) {
        (Some(rule), None) => Ok(rule),
        (None, _) if !collection.correlations.is_empty() => Err(TestFileError::new(
            path,
            "a correlation rule: its tests run with the correlation engine, not here",
        )),
        (None, _) => Err(TestFileError::new(path, "no detection rule in the file")),
        (Some(_), Some(_)) => Err(TestFileError::new(
            path,
            "more than one rule in the file (one rule per file)",
        )),
    }
}

/// How one test went.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "result", content = "reason", rename_all = "snake_case")]
pub enum Outcome {
    /// As expected.
    Pass,
    /// Not as expected, with the reason.
    Fail(String),
}

/// The result of one test.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TestResult {
    /// The test's name.
    pub name: String,
    /// What it expected.
    pub expect: Expect,
    /// The record's format (`event` for a normalised event).
    pub format: String,
    /// How it went.
    pub outcome: Outcome,
}

/// A rule's overall test status, as `rules list` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TestStatus {
    /// Every test passed.
    Pass,
    /// At least one test failed, or the tests could not be run.
    Fail,
    /// The rule has no tests.
    None,
}

impl fmt::Display for TestStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TestStatus::Pass => "pass",
            TestStatus::Fail => "fail",
            TestStatus::None => "none",
        })
    }
}

/// The results of one rule's tests.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RuleReport {
    /// The rule file.
    pub rule_path: PathBuf,
    /// The tests file (absent when there is none).
    pub tests_path: Option<PathBuf>,
    /// The rule's id, when it has one.
    pub rule_id: Option<String>,
    /// The rule's title.
    pub title: Option<String>,
    /// Per-test results.
    pub results: Vec<TestResult>,
    /// Why the tests could not run at all (bad rule, bad tests file).
    pub error: Option<String>,
    /// Why the tests were not run although nothing is wrong (a correlation rule).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl RuleReport {
    /// The overall status.
    pub fn status(&self) -> TestStatus {
        if self.error.is_some() {
            return TestStatus::Fail;
        }
        if self.tests_path.is_none() || self.results.is_empty() {
            return TestStatus::None;
        }
        if self
            .results
            .iter()
            .all(|r| matches!(r.outcome, Outcome::Pass))
        {
            TestStatus::Pass
        } else {
            TestStatus::Fail
        }
    }

    /// Number of tests passed and failed.
    pub fn counts(&self) -> (usize, usize) {
        let passed = self
            .results
            .iter()
            .filter(|r| matches!(r.outcome, Outcome::Pass))
            .count();
        (passed, self.results.len() - passed)
    }
}

/// One rule compiled on its own, ready to judge events.
pub struct SingleRule {
    engine: Engine,
    /// The parsed rule.
    pub rule: SigmaRule,
}

impl fmt::Debug for SingleRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SingleRule")
            .field("title", &self.rule.title)
            .finish()
    }
}

impl SingleRule {
    /// Compiles one rule.
    pub fn compile(path: &Path, rule: SigmaRule) -> Result<Self, TestFileError> {
        let mut engine = Engine::new();
        engine
            .add_rule(&rule)
            .map_err(|e| TestFileError::new(path, format!("rule does not compile: {e}")))?;
        Ok(SingleRule { engine, rule })
    }

    /// Whether the rule fires on an event (its logsource must fit the rule's).
    pub fn matches(&self, event: &Event) -> bool {
        let ls = to_rsigma_logsource(&event.logsource);
        !self.engine.evaluate_with_logsource(event, &ls).is_empty()
    }
}

/// Our logsource in rsigma's terms.
pub fn to_rsigma_logsource(ls: &LogSource) -> rsigma_parser::LogSource {
    rsigma_parser::LogSource {
        category: ls.category.as_deref().map(str::to_owned),
        product: ls.product.as_deref().map(str::to_owned),
        service: ls.service.as_deref().map(str::to_owned),
        definition: None,
        custom: Default::default(),
    }
}

/// Turns a test into the events it describes: the reader's output for a record, or the
/// normalised event as written.
pub fn events_of(test: &TestCase, origin: &str) -> Result<(String, Vec<Event>), String> {
    match (&test.record, &test.event) {
        (Some(_), Some(_)) => Err("give either `record` or `event`, not both".into()),
        (None, None) => Err("the test has neither `record` nor `event`".into()),
        (None, Some(event)) => Ok(("event".into(), vec![build_event(event, origin)])),
        (Some(record), None) => {
            let Some(format_name) = &test.format else {
                return Err("a `record` needs a `format`".into());
            };
            let format: Format = format_name.parse()?;
            if format == Format::Evtx {
                return Err("format `evtx` is binary and cannot be written in a test: render the record as win-json".into());
            }
            let options = ReadOptions {
                format: Some(format),
                keep_original: false,
                ..ReadOptions::default()
            };
            let mut sink = CollectSink::default();
            let reader = Box::new(Cursor::new(record.clone().into_bytes()));
            read_stream(origin, reader, &options, &mut sink).map_err(|e| {
                format!(
                    "the {format_name} reader could not read the record: {}",
                    e.message
                )
            })?;
            if let Some(error) = sink.errors.first() {
                return Err(format!(
                    "the {format_name} reader rejected the record: {}",
                    error.message
                ));
            }
            Ok((format.name().to_owned(), sink.events))
        }
    }
}

fn build_event(test: &TestEvent, origin: &str) -> Event {
    let owned = |s: &Option<String>| {
        s.as_ref()
            .map(|v| std::borrow::Cow::Owned(v.to_lowercase()))
    };
    let logsource = LogSource {
        product: owned(&test.logsource.product),
        category: owned(&test.logsource.category),
        service: owned(&test.logsource.service),
    };
    let mut event = Event::new(
        logsource,
        Provenance {
            source: Arc::from(origin),
            locator: Locator::None,
        },
    );
    for (name, value) in &test.fields {
        event.fields.set(name.clone(), Value::from_json(value));
    }
    event
}

/// Runs one test against a compiled rule.
pub fn run_test(rule: &SingleRule, test: &TestCase, origin: &str) -> TestResult {
    let format_hint = test.format.clone().unwrap_or_else(|| {
        if test.event.is_some() {
            "event".into()
        } else {
            "-".into()
        }
    });
    let (format, outcome) = match events_of(test, origin) {
        Err(reason) => (format_hint, Outcome::Fail(reason)),
        Ok((format, events)) if events.is_empty() => {
            (format, Outcome::Fail("the record produced no event".into()))
        }
        Ok((format, events)) => {
            let fired: Vec<usize> = events
                .iter()
                .enumerate()
                .filter(|(_, e)| rule.matches(e))
                .map(|(i, _)| i + 1)
                .collect();
            let outcome = match (test.expect, fired.is_empty()) {
                (Expect::Match, false) | (Expect::NoMatch, true) => Outcome::Pass,
                (Expect::Match, true) => Outcome::Fail(format!(
                    "expected a match, but the rule fired on none of the {} event(s): {}",
                    events.len(),
                    describe_events(&events)
                )),
                (Expect::NoMatch, false) => Outcome::Fail(format!(
                    "expected no match, but the rule fired on event(s) {:?} of {}: {}",
                    fired,
                    events.len(),
                    describe_events(&events)
                )),
            };
            (format, outcome)
        }
    };
    TestResult {
        name: test.name.clone(),
        expect: test.expect,
        format,
        outcome,
    }
}

/// A short account of what the reader produced, so a failing test shows what the rule saw.
fn describe_events(events: &[Event]) -> String {
    let mut out = String::new();
    for (i, event) in events.iter().take(3).enumerate() {
        if i > 0 {
            out.push_str("; ");
        }
        out.push_str(&format!("[{}] {}", event.logsource, event.fields.to_json()));
    }
    if events.len() > 3 {
        out.push_str(&format!("; ... {} more", events.len() - 3));
    }
    out
}

/// Runs the tests of one rule, given the texts of the rule and (if any) its tests file.
pub fn run_rule_texts(
    rule_path: &Path,
    rule_text: &str,
    tests: Option<(&Path, &str)>,
) -> RuleReport {
    let mut report = RuleReport {
        rule_path: rule_path.to_path_buf(),
        tests_path: tests.map(|(p, _)| p.to_path_buf()),
        rule_id: None,
        title: None,
        results: Vec::new(),
        error: None,
        note: None,
    };
    if is_correlation_text(rule_text) {
        report.tests_path = None;
        report.note =
            Some("a correlation rule: its behaviour is tested with the correlation engine".into());
        return report;
    }
    let rule = match parse_single_rule(rule_path, rule_text) {
        Ok(rule) => rule,
        Err(e) => {
            report.error = Some(e.to_string());
            return report;
        }
    };
    report.rule_id = rule.id.clone();
    report.title = Some(rule.title.clone());
    let Some((tests_path, tests_text)) = tests else {
        return report;
    };
    let file = match parse_tests(tests_path, tests_text) {
        Ok(file) => file,
        Err(e) => {
            report.error = Some(e.to_string());
            return report;
        }
    };
    if let (Some(wanted), Some(actual)) = (&file.rule, &rule.id) {
        if !wanted.eq_ignore_ascii_case(actual) {
            report.error = Some(format!(
                "{}: tests are for rule {wanted}, but {} has id {actual}",
                tests_path.display(),
                rule_path.display()
            ));
            return report;
        }
    }
    let compiled = match SingleRule::compile(rule_path, rule) {
        Ok(c) => c,
        Err(e) => {
            report.error = Some(e.to_string());
            return report;
        }
    };
    let origin = tests_path.display().to_string();
    report.results = file
        .tests
        .iter()
        .map(|t| run_test(&compiled, t, &origin))
        .collect();
    report
}

/// Runs the tests of one rule file read from disk.
pub fn run_rule_file(rule_path: &Path) -> RuleReport {
    let rule_text = match fs_err::read_to_string(rule_path) {
        Ok(t) => t,
        Err(e) => {
            return RuleReport {
                rule_path: rule_path.to_path_buf(),
                tests_path: None,
                rule_id: None,
                title: None,
                results: Vec::new(),
                error: Some(e.to_string()),
                note: None,
            }
        }
    };
    let tests_path = tests_path_for(rule_path);
    if !tests_path.exists() {
        return run_rule_texts(rule_path, &rule_text, None);
    }
    match fs_err::read_to_string(&tests_path) {
        Ok(tests_text) => run_rule_texts(rule_path, &rule_text, Some((&tests_path, &tests_text))),
        Err(e) => {
            let mut report = run_rule_texts(rule_path, &rule_text, None);
            report.tests_path = Some(tests_path);
            report.error = Some(e.to_string());
            report
        }
    }
}

/// Runs the tests of a loaded rule by its source name: `builtin:rules/<path>` for the
/// embedded pack (whose tests are embedded beside it), a file path otherwise.
pub fn run_source(source: &str) -> RuleReport {
    let Some(rel) = source.strip_prefix(crate::pack::SOURCE_PREFIX) else {
        return run_rule_file(Path::new(source));
    };
    let Some(file) = crate::pack::get(rel) else {
        return RuleReport {
            rule_path: PathBuf::from(source),
            tests_path: None,
            rule_id: None,
            title: None,
            results: Vec::new(),
            error: Some(format!("{source}: not in the built-in pack")),
            note: None,
        };
    };
    let tests_rel = tests_path_for(Path::new(rel));
    let tests_rel = tests_rel.to_string_lossy().replace('\\', "/");
    let tests_source = format!("{}{tests_rel}", crate::pack::SOURCE_PREFIX);
    let tests = crate::pack::get(&tests_rel);
    run_rule_texts(
        Path::new(source),
        file.text,
        tests.map(|t| (Path::new(tests_source.as_str()), t.text)),
    )
}

/// Runs the tests of every rule in the built-in pack, in path order.
pub fn run_builtin() -> Vec<RuleReport> {
    crate::pack::rule_files()
        .filter(|f| is_rule_file(Path::new(f.path)))
        .map(|f| run_source(&f.source_name()))
        .collect()
}

/// Whether a rule file holds a correlation rule (whose tests need the correlation engine).
pub fn is_correlation_text(text: &str) -> bool {
    text.lines().any(|l| l.starts_with("correlation:"))
}

/// Collects the rule files under the given paths: a rule file as itself, a tests file as
/// its rule, a directory recursively (sorted). Files that cannot be listed are returned
/// as errors.
pub fn collect_rule_files(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<TestFileError>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        if path.is_dir() {
            walk(path, &mut files, &mut errors);
        } else if is_tests_file(path) {
            files.push(rule_path_for(path));
        } else if path.exists() {
            files.push(path.clone());
        } else {
            errors.push(TestFileError::new(path, "no such file or directory"));
        }
    }
    files.sort();
    files.dedup();
    (files, errors)
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>, errors: &mut Vec<TestFileError>) {
    let entries = match fs_err::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            errors.push(TestFileError::new(dir, e));
            return;
        }
    };
    for entry in entries {
        match entry {
            Ok(entry) => {
                let path = entry.path();
                let hidden = entry.file_name().to_string_lossy().starts_with('.');
                if hidden {
                    continue;
                }
                if path.is_dir() {
                    walk(&path, files, errors);
                } else if is_rule_file(&path) {
                    files.push(path);
                }
            }
            Err(e) => errors.push(TestFileError::new(dir, e)),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const RULE: &str = r#"
title: t
id: 11111111-2222-3333-4444-555555555555
logsource: {product: windows, category: process_creation}
detection:
  sel: {CommandLine|contains: netstat}
  condition: sel
level: low
"#;

    const TESTS: &str = r#"
tests:
  - name: hit
    expect: match
    event:
      logsource: {product: windows, category: process_creation, service: sysmon}
      fields: {CommandLine: "netstat -ano"}
  - name: miss
    expect: no_match
    event:
      logsource: {product: windows, category: process_creation}
      fields: {CommandLine: "net view"}
  - name: wrong logsource never fires
    expect: no_match
    event:
      logsource: {product: linux, category: process_creation}
      fields: {CommandLine: "netstat -ano"}
"#;

    #[test]
    fn event_tests_run() {
        let report = run_rule_texts(
            Path::new("r.yml"),
            RULE,
            Some((Path::new("r.tests.yml"), TESTS)),
        );
        assert_eq!(report.error, None);
        assert_eq!(report.status(), TestStatus::Pass, "{:?}", report.results);
        assert_eq!(report.counts(), (3, 0));
    }

    #[test]
    fn failing_test_says_why() {
        let tests = TESTS.replace(
            "expect: no_match\n    event:\n      logsource: {product: windows",
            "expect: match\n    event:\n      logsource: {product: windows",
        );
        let report = run_rule_texts(
            Path::new("r.yml"),
            RULE,
            Some((Path::new("r.tests.yml"), &tests)),
        );
        assert_eq!(report.status(), TestStatus::Fail);
        let failed: Vec<_> = report
            .results
            .iter()
            .filter(|r| r.outcome != Outcome::Pass)
            .collect();
        assert_eq!(failed.len(), 1);
        assert!(matches!(&failed[0].outcome, Outcome::Fail(r) if r.contains("net view")));
    }

    #[test]
    fn evtx_records_are_refused() {
        let tests = "tests:\n  - name: x\n    expect: match\n    format: evtx\n    record: abc\n";
        let report = run_rule_texts(
            Path::new("r.yml"),
            RULE,
            Some((Path::new("r.tests.yml"), tests)),
        );
        assert!(matches!(&report.results[0].outcome, Outcome::Fail(r) if r.contains("evtx")));
    }

    #[test]
    fn bad_tests_file_names_itself() {
        let report = run_rule_texts(
            Path::new("r.yml"),
            RULE,
            Some((Path::new("r.tests.yml"), "tests: [{name: a}]")),
        );
        assert!(report
            .error
            .as_deref()
            .is_some_and(|e| e.contains("r.tests.yml")));
        assert_eq!(report.status(), TestStatus::Fail);
    }

    #[test]
    fn paths_pair_up() {
        assert_eq!(
            tests_path_for(Path::new("rules/windows/a.yml")),
            PathBuf::from("rules/windows/a.tests.yml")
        );
        assert!(is_tests_file(Path::new("a.tests.yml")));
        assert!(!is_rule_file(Path::new("a.tests.yml")));
        assert!(is_rule_file(Path::new("a.yml")));
    }
}
