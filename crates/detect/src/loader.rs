//! Loading Sigma rules: from the built-in pack, files and directories.
//!
//! Every file that cannot be read, every document that does not parse or compile, and
//! every duplicate rule id is kept as a [`RuleError`] naming the file (with line and
//! column when known): nothing is dropped without a trace. Loading never fails as a whole;
//! callers decide what errors mean (the CLI exits 2).

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use rsigma_eval::CompiledRule;
use rsigma_parser::{CorrelationRule, FilterRule, SigmaCollection, SigmaRule};
use serde::{Deserialize, Serialize};
use sockhunt_events::{Interest, LogSource};

use crate::yaml::write_located;

/// Severity of a rule, ordered from informational to critical.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Context, not a finding.
    Informational,
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
    /// Critical.
    Critical,
}

impl Level {
    /// Every level, lowest first.
    pub const ALL: [Level; 5] = [
        Level::Informational,
        Level::Low,
        Level::Medium,
        Level::High,
        Level::Critical,
    ];

    /// The Sigma name of the level.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Informational => "informational",
            Level::Low => "low",
            Level::Medium => "medium",
            Level::High => "high",
            Level::Critical => "critical",
        }
    }

    fn from_sigma(level: rsigma_parser::Level) -> Level {
        match level {
            rsigma_parser::Level::Informational => Level::Informational,
            rsigma_parser::Level::Low => Level::Low,
            rsigma_parser::Level::Medium => Level::Medium,
            rsigma_parser::Level::High => Level::High,
            rsigma_parser::Level::Critical => Level::Critical,
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Level {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Level::ALL
            .into_iter()
            .find(|l| {
                l.as_str().eq_ignore_ascii_case(s)
                    || (s.eq_ignore_ascii_case("info") && *l == Level::Informational)
            })
            .ok_or_else(|| {
                format!(
                    "unknown level `{s}` (expected informational, low, medium, high or critical)"
                )
            })
    }
}

/// Whether a rule matches single events or correlates the matches of other rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleKind {
    /// A detection rule: evaluated on each event.
    Detection,
    /// A correlation rule: fires on a pattern of other rules' matches.
    Correlation,
    /// A filter rule: narrows other rules.
    Filter,
}

/// What an alert says about the rule that raised it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleMeta {
    /// The rule's `id` (a UUID in well-kept packs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The rule's `name` (correlation rules may refer to rules by it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The rule's title.
    pub title: String,
    /// Severity; rules without one are `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<Level>,
    /// `stable`, `test`, `experimental`, `deprecated`, `unsupported`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Tags as written (`attack.discovery`, `attack.t1049`...).
    #[serde(default)]
    pub tags: Vec<String>,
    /// The logsource the rule applies to (lower-case).
    pub logsource: LogSource,
    /// Detection, correlation or filter.
    pub kind: RuleKind,
    /// The file the rule was loaded from (`builtin:rules/...` for the embedded pack).
    pub source: Arc<str>,
    /// The Windows EventIDs every match of the rule requires, when its detection says so
    /// (`None`: any record of its logsource may match). For the readers' pre-filter.
    #[serde(skip)]
    pub event_ids: Option<Vec<i64>>,
}

impl RuleMeta {
    /// ATT&CK technique ids among the tags, upper-cased (`T1049`, `T1059.001`).
    pub fn attack_techniques(&self) -> Vec<String> {
        self.tags
            .iter()
            .filter_map(|t| t.strip_prefix("attack."))
            .filter(|t| {
                let b = t.as_bytes();
                b.len() >= 5 && (b[0] == b't' || b[0] == b'T') && b[1].is_ascii_digit()
            })
            .map(str::to_ascii_uppercase)
            .collect()
    }

    /// The id when there is one, else the title: how summaries name a rule.
    pub fn key(&self) -> &str {
        self.id.as_deref().unwrap_or(&self.title)
    }
}

/// A rule, a file or a document that could not be loaded (or loaded with a warning).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
pub struct RuleError {
    /// The file (`builtin:rules/...` for the embedded pack).
    pub file: String,
    /// 1-based line, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// 1-based column, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<u64>,
    /// The rule's title, when it got that far.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// A short, stable name of the kind of failure, for summaries
    /// (`yaml`, `parse`, `compile`, `duplicate-id`, `io`, `empty`, `warning`).
    pub reason: &'static str,
    /// What went wrong, in words.
    pub message: String,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let message = match &self.title {
            Some(t) => format!("{} (rule `{t}`)", self.message),
            None => self.message.clone(),
        };
        write_located(f, &self.file, self.line, self.column, &message)
    }
}

impl RuleError {
    /// The error as a miette report pointing at its line in `text` (the rule file's
    /// content), for a terminal.
    pub fn to_report(&self, text: &str) -> miette::Report {
        crate::yaml::YamlError {
            file: self.file.clone(),
            line: self.line,
            column: self.column,
            message: self.to_string(),
        }
        .to_report(text)
    }

    fn new(source: &str, reason: &'static str, message: impl Into<String>) -> Self {
        RuleError {
            file: source.to_owned(),
            line: None,
            column: None,
            title: None,
            reason,
            message: message.into(),
        }
    }

    fn at(mut self, location: Option<(u64, u64)>) -> Self {
        if let Some((l, c)) = location {
            self.line = Some(l);
            self.column = Some(c);
        }
        self
    }
}

/// A loaded detection rule: its metadata, its parsed form and its compiled matcher.
#[derive(Debug, Clone)]
pub struct LoadedRule {
    /// What alerts say about it.
    pub meta: Arc<RuleMeta>,
    /// The parsed rule (for correlation engines, rule tests, `rules show`).
    pub rule: SigmaRule,
    /// The compiled rule, ready for an engine.
    pub compiled: CompiledRule,
}

/// A loaded correlation rule.
#[derive(Debug, Clone)]
pub struct LoadedCorrelation {
    /// What alerts say about it.
    pub meta: Arc<RuleMeta>,
    /// The parsed correlation.
    pub rule: CorrelationRule,
}

/// A loaded filter rule (applied to the rules it names when a detector is built).
#[derive(Debug, Clone)]
pub struct LoadedFilter {
    /// Its metadata.
    pub meta: Arc<RuleMeta>,
    /// The parsed filter.
    pub rule: FilterRule,
}

/// Every rule loaded so far, with every error met on the way.
#[derive(Debug, Default, Clone)]
pub struct RuleSet {
    rules: Vec<LoadedRule>,
    correlations: Vec<LoadedCorrelation>,
    filters: Vec<LoadedFilter>,
    errors: Vec<RuleError>,
    warnings: Vec<RuleError>,
    files: usize,
    ids: HashMap<String, Arc<str>>,
}

impl RuleSet {
    /// An empty set.
    pub fn new() -> Self {
        RuleSet::default()
    }

    /// The built-in pack alone.
    pub fn builtin() -> Self {
        let mut set = RuleSet::new();
        set.add_builtin();
        set
    }

    /// Adds the built-in pack embedded in the binary.
    pub fn add_builtin(&mut self) {
        for file in crate::pack::rule_files() {
            self.add_yaml(&file.source_name(), file.text);
        }
    }

    /// Adds a rule file, or every `*.yml`/`*.yaml` under a directory (recursively, in
    /// sorted order, hidden entries and `*.tests.yml` rule-test files skipped).
    pub fn add_path(&mut self, path: &Path) {
        let meta = match fs_err::metadata(path) {
            Ok(m) => m,
            Err(e) => {
                self.errors.push(RuleError::new(
                    &path.display().to_string(),
                    "io",
                    e.to_string(),
                ));
                return;
            }
        };
        if meta.is_dir() {
            let mut files = Vec::new();
            self.walk(path, &mut files);
            files.sort();
            self.add_files(&files);
        } else if is_test_file(path) {
            self.warnings.push(RuleError::new(
                &path.display().to_string(),
                "warning",
                "a rule test file, not a rule: skipped",
            ));
        } else {
            self.add_file(path);
        }
    }

    fn walk(&mut self, dir: &Path, files: &mut Vec<PathBuf>) {
        let entries = match fs_err::read_dir(dir) {
            Ok(e) => e,
            Err(e) => {
                self.errors.push(RuleError::new(
                    &dir.display().to_string(),
                    "io",
                    e.to_string(),
                ));
                return;
            }
        };
        for entry in entries {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    self.errors.push(RuleError::new(
                        &dir.display().to_string(),
                        "io",
                        e.to_string(),
                    ));
                    continue;
                }
            };
            let path = entry.path();
            let name = entry.file_name();
            if name.to_string_lossy().starts_with('.') {
                continue;
            }
            if path.is_dir() {
                self.walk(&path, files);
            } else if is_rule_file(&path) {
                files.push(path);
            }
        }
    }

    fn add_file(&mut self, path: &Path) {
        self.add_files(&[path.to_path_buf()]);
    }

    /// Reads, parses and compiles files in parallel, then takes their rules in the given
    /// order (so duplicate ids resolve the same way on every run).
    fn add_files(&mut self, files: &[PathBuf]) {
        use rayon::prelude::*;
        let parsed: Vec<ParsedFile> = files
            .par_iter()
            .map(|path| {
                let name = path.display().to_string();
                match fs_err::read_to_string(path) {
                    Ok(text) => parse_file(&name, &text),
                    Err(e) => ParsedFile::failed(RuleError::new(&name, "io", e.to_string())),
                }
            })
            .collect();
        for file in parsed {
            self.absorb(file);
        }
    }

    /// Adds the rules of one YAML text; `source` names it in errors and alerts.
    pub fn add_yaml(&mut self, source: &str, text: &str) {
        self.absorb(parse_file(source, text));
    }

    fn absorb(&mut self, file: ParsedFile) {
        self.files += 1;
        self.errors.extend(file.errors);
        self.warnings.extend(file.warnings);
        for (rule, id_at, compiled) in file.rules {
            let meta = rule_meta(&rule, &file.source);
            if !self.claim_id(&meta, id_at) {
                continue;
            }
            match compiled {
                Ok(compiled) => self.rules.push(LoadedRule {
                    meta,
                    rule,
                    compiled,
                }),
                Err(mut error) => {
                    error.title = Some(rule.title.clone());
                    self.errors.push(error);
                }
            }
        }
        for (rule, id_at) in file.correlations {
            let meta = Arc::new(RuleMeta {
                id: rule.id.clone(),
                name: rule.name.clone(),
                title: rule.title.clone(),
                level: rule.level.map(Level::from_sigma),
                status: rule.status.map(status_name),
                tags: rule.tags.clone(),
                logsource: LogSource::default(),
                kind: RuleKind::Correlation,
                source: file.source.clone(),
                event_ids: None,
            });
            if self.claim_id(&meta, id_at) {
                self.correlations.push(LoadedCorrelation { meta, rule });
            }
        }
        for (rule, id_at) in file.filters {
            let meta = Arc::new(RuleMeta {
                id: rule.id.clone(),
                name: rule.name.clone(),
                title: rule.title.clone(),
                level: rule.level.map(Level::from_sigma),
                status: rule.status.map(status_name),
                tags: rule.tags.clone(),
                logsource: rule
                    .logsource
                    .as_ref()
                    .map(logsource_of)
                    .unwrap_or_default(),
                kind: RuleKind::Filter,
                source: file.source.clone(),
                event_ids: None,
            });
            if self.claim_id(&meta, id_at) {
                self.filters.push(LoadedFilter { meta, rule });
            }
        }
    }

    /// Records the rule's id; a second rule with an id already loaded is refused and
    /// reported, so an alert's rule id always names one rule.
    fn claim_id(&mut self, meta: &RuleMeta, id_at: Option<(u64, u64)>) -> bool {
        let Some(id) = &meta.id else { return true };
        if let Some(first) = self.ids.get(id) {
            let mut error = RuleError::new(
                &meta.source,
                "duplicate-id",
                format!("duplicate rule id {id} (already loaded from {first})"),
            )
            .at(id_at);
            error.title = Some(meta.title.clone());
            self.errors.push(error);
            return false;
        }
        self.ids.insert(id.clone(), meta.source.clone());
        true
    }

    /// The detection rules loaded.
    pub fn rules(&self) -> &[LoadedRule] {
        &self.rules
    }

    /// The correlation rules loaded.
    pub fn correlations(&self) -> &[LoadedCorrelation] {
        &self.correlations
    }

    /// The filter rules loaded.
    pub fn filters(&self) -> &[LoadedFilter] {
        &self.filters
    }

    /// Files, documents and rules that could not be loaded.
    pub fn errors(&self) -> &[RuleError] {
        &self.errors
    }

    /// Rules that loaded, but with something worth fixing.
    pub fn warnings(&self) -> &[RuleError] {
        &self.warnings
    }

    /// Number of rule files read (including those that failed).
    pub fn files_read(&self) -> usize {
        self.files
    }

    /// Number of rules of every kind loaded.
    pub fn len(&self) -> usize {
        self.rules.len() + self.correlations.len() + self.filters.len()
    }

    /// Whether no rule loaded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Keeps only the detection rules `keep` accepts (correlation and filter rules stay).
    pub fn retain(&mut self, mut keep: impl FnMut(&RuleMeta) -> bool) {
        self.rules.retain(|r| keep(&r.meta));
    }

    /// Which records the loaded rules can possibly match, for the readers' pre-filter.
    ///
    /// Correlation rules only see the matches of detection rules, so the detection rules'
    /// logsources cover their inputs too.
    pub fn interest(&self) -> Interest {
        Interest::from_rules(
            self.rules
                .iter()
                .map(|r| (r.meta.logsource.clone(), r.meta.event_ids.clone())),
        )
    }
}

/// A line and column in a rule file.
type At = Option<(u64, u64)>;

/// One parsed rule with where its id sits and its compiled form (or why it did not
/// compile).
type ParsedRule = (SigmaRule, At, Result<CompiledRule, RuleError>);

/// One file parsed and compiled, before its ids are checked against the set.
struct ParsedFile {
    source: Arc<str>,
    errors: Vec<RuleError>,
    warnings: Vec<RuleError>,
    rules: Vec<ParsedRule>,
    correlations: Vec<(CorrelationRule, At)>,
    filters: Vec<(FilterRule, At)>,
}

impl ParsedFile {
    fn failed(error: RuleError) -> ParsedFile {
        ParsedFile {
            source: Arc::from(error.file.as_str()),
            errors: vec![error],
            warnings: Vec::new(),
            rules: Vec::new(),
            correlations: Vec::new(),
            filters: Vec::new(),
        }
    }
}

fn rule_meta(rule: &SigmaRule, source: &Arc<str>) -> Arc<RuleMeta> {
    Arc::new(RuleMeta {
        id: rule.id.clone(),
        name: rule.name.clone(),
        title: rule.title.clone(),
        level: rule.level.map(Level::from_sigma),
        status: rule.status.map(status_name),
        tags: rule.tags.clone(),
        logsource: logsource_of(&rule.logsource),
        kind: RuleKind::Detection,
        source: source.clone(),
        event_ids: crate::prefilter::required_event_ids(rule),
    })
}

/// Parses and compiles one file's text; needs nothing from the set, so files are parsed
/// in parallel.
fn parse_file(source: &str, text: &str) -> ParsedFile {
    let mut file = ParsedFile {
        source: Arc::from(source),
        errors: Vec::new(),
        warnings: Vec::new(),
        rules: Vec::new(),
        correlations: Vec::new(),
        filters: Vec::new(),
    };

    // Our own YAML pass first: a syntax error gets its line and column, and the number
    // of documents tells how many rules the file should yield.
    let documents = match crate::yaml::from_str_multiple::<DocHead>(source, text) {
        Ok(docs) => docs,
        Err(e) => {
            file.errors.push(RuleError {
                file: e.file,
                line: e.line,
                column: e.column,
                title: None,
                reason: "yaml",
                message: e.message,
            });
            return file;
        }
    };
    let expected = documents
        .iter()
        .filter(|d| !matches!(d.action.as_deref(), Some("global" | "reset")))
        .count();

    let collection = match rsigma_parser::parse_sigma_yaml(text) {
        Ok(c) => c,
        Err(e) => {
            let location = locate_error(text, &e.to_string());
            file.errors
                .push(RuleError::new(source, "parse", e.to_string()).at(location));
            return file;
        }
    };
    let SigmaCollection {
        rules,
        correlations,
        filters,
        errors: messages,
        ..
    } = collection;
    let produced = rules.len() + correlations.len() + filters.len();
    if produced < expected || produced == 0 {
        // rsigma reports failed documents and warnings in one list; when documents are
        // missing, every message is part of the explanation.
        let message = if messages.is_empty() {
            "no Sigma rule in the file".to_owned()
        } else {
            messages.join("; ")
        };
        let location = locate_error(text, &message);
        let reason = if produced == 0 && expected == 0 {
            "empty"
        } else {
            "parse"
        };
        let mut error = RuleError::new(source, reason, message).at(location);
        if expected > 1 {
            error.message = format!(
                "{} of {expected} documents did not load: {}",
                expected - produced,
                error.message
            );
        }
        file.errors.push(error);
    } else {
        for message in messages {
            let location = locate_error(text, &message);
            file.warnings
                .push(RuleError::new(source, "warning", message).at(location));
        }
    }

    let id_at = |id: &Option<String>| id.as_deref().and_then(|id| find_text(text, id));
    for rule in rules {
        let compiled = rsigma_eval::compile_rule(&rule).map_err(|e| {
            let message = e.to_string();
            let location = locate_error(text, &message);
            RuleError::new(source, "compile", message).at(location)
        });
        let at = id_at(&rule.id);
        file.rules.push((rule, at, compiled));
    }
    for rule in correlations {
        let at = id_at(&rule.id);
        file.correlations.push((rule, at));
    }
    for rule in filters {
        let at = id_at(&rule.id);
        file.filters.push((rule, at));
    }
    file
}

/// The first lines of a YAML document that the loader itself looks at.
#[derive(Debug, Deserialize)]
struct DocHead {
    #[serde(default)]
    action: Option<String>,
}

fn status_name(status: rsigma_parser::Status) -> String {
    match status {
        rsigma_parser::Status::Stable => "stable",
        rsigma_parser::Status::Test => "test",
        rsigma_parser::Status::Experimental => "experimental",
        rsigma_parser::Status::Deprecated => "deprecated",
        rsigma_parser::Status::Unsupported => "unsupported",
    }
    .to_owned()
}

fn logsource_of(ls: &rsigma_parser::LogSource) -> LogSource {
    let dim = |v: &Option<String>| v.as_ref().map(|s| s.to_ascii_lowercase().into());
    LogSource {
        product: dim(&ls.product),
        category: dim(&ls.category),
        service: dim(&ls.service),
    }
}

/// Whether a path is a rule file by name: `*.yml`/`*.yaml`, not a rule test file.
pub fn is_rule_file(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    (name.ends_with(".yml") || name.ends_with(".yaml")) && !is_test_file(path)
}

/// Whether a path is a rule test file (`*.tests.yml`).
pub fn is_test_file(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    name.ends_with(".tests.yml") || name.ends_with(".tests.yaml")
}

/// Finds where in the file an rsigma message points, when the message names something
/// that can be found in the text (rsigma's errors carry no position in the file).
fn locate_error(text: &str, message: &str) -> Option<(u64, u64)> {
    if let Some(loc) = parse_line_column(message) {
        return Some(loc);
    }
    if let Some(modifier) = quoted_after(message, "Unknown modifier '") {
        return find_text(text, &format!("|{modifier}"));
    }
    if message.contains("Condition") || message.contains("condition") {
        return find_text(text, "condition:");
    }
    if message.contains("timespan") {
        return find_text(text, "timespan:");
    }
    if let Some(field) = quoted_after(message, "Missing required field '") {
        if field == "detection" || field == "logsource" || field == "title" {
            return Some((1, 1));
        }
    }
    None
}

/// `line N column M` as yaml_serde writes it.
fn parse_line_column(message: &str) -> Option<(u64, u64)> {
    let at = message.find("line ")?;
    let rest = &message[at + 5..];
    let line_end = rest.find(|c: char| !c.is_ascii_digit())?;
    let line: u64 = rest[..line_end].parse().ok()?;
    let rest = &rest[line_end..];
    let col_at = rest.find("column ")?;
    let rest = &rest[col_at + 7..];
    let col_end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    let column: u64 = rest[..col_end].parse().ok()?;
    Some((line, column))
}

fn quoted_after<'a>(message: &'a str, prefix: &str) -> Option<&'a str> {
    let at = message.find(prefix)?;
    let rest = &message[at + prefix.len()..];
    Some(&rest[..rest.find('\'')?])
}

/// 1-based line and column of the first occurrence of `needle`.
fn find_text(text: &str, needle: &str) -> Option<(u64, u64)> {
    let at = text.find(needle)?;
    let before = &text[..at];
    let line = before.matches('\n').count() as u64 + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = text[line_start..at].chars().count() as u64 + 1;
    Some((line, column))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const RULE: &str = "title: Netstat\nid: 11111111-1111-1111-1111-111111111111\nstatus: test\nlogsource:\n  product: windows\n  category: process_creation\ndetection:\n  sel:\n    Image|endswith: '\\netstat.exe'\n  condition: sel\nlevel: medium\ntags:\n  - attack.discovery\n  - attack.t1049\n";

    #[test]
    fn loads_rule_with_metadata() {
        let mut set = RuleSet::new();
        set.add_yaml("a.yml", RULE);
        assert_eq!(set.errors(), &[]);
        assert_eq!(set.rules().len(), 1);
        let meta = &set.rules()[0].meta;
        assert_eq!(meta.level, Some(Level::Medium));
        assert_eq!(meta.status.as_deref(), Some("test"));
        assert_eq!(meta.attack_techniques(), vec!["T1049"]);
        assert_eq!(meta.logsource.to_string(), "windows/process_creation");
        assert!(set.interest().wants(&LogSource::new(
            Some("windows"),
            Some("process_creation"),
            Some("sysmon")
        )));
        assert!(!set.interest().wants(&LogSource::new(
            Some("linux"),
            Some("process_creation"),
            None
        )));
    }

    #[test]
    fn duplicate_id_is_reported_with_location() {
        let mut set = RuleSet::new();
        set.add_yaml("a.yml", RULE);
        set.add_yaml("b.yml", RULE);
        assert_eq!(set.rules().len(), 1);
        assert_eq!(set.errors().len(), 1);
        let e = &set.errors()[0];
        assert_eq!(e.reason, "duplicate-id");
        assert_eq!((e.line, e.column), (Some(2), Some(5)));
        assert!(
            e.to_string().starts_with("b.yml:2:5: duplicate rule id"),
            "{e}"
        );
    }

    #[test]
    fn yaml_error_has_file_line_column() {
        let mut set = RuleSet::new();
        set.add_yaml(
            "bad.yml",
            "title: x\ndetection:\n  sel:\n    a: [1, 2\n  condition: sel\n",
        );
        assert_eq!(set.rules().len(), 0);
        let e = &set.errors()[0];
        assert_eq!(e.reason, "yaml");
        assert_eq!(
            e.to_string(),
            "bad.yml:5:12: illegal placement of ':' indicator"
        );
    }

    #[test]
    fn unknown_modifier_is_located() {
        let mut set = RuleSet::new();
        set.add_yaml(
            "m.yml",
            "title: x\nlogsource:\n  product: windows\ndetection:\n  sel:\n    Image|endswith_nope: a\n  condition: sel\n",
        );
        assert_eq!(set.rules().len(), 0);
        let e = &set.errors()[0];
        assert_eq!((e.line, e.column), (Some(6), Some(10)), "{e}");
    }

    #[test]
    fn level_order_and_parse() {
        assert!(Level::High > Level::Medium);
        assert_eq!("HIGH".parse::<Level>(), Ok(Level::High));
        assert!("severe".parse::<Level>().is_err());
    }
}
