//! `sockhunt rules`: list, show, test and map the loaded Sigma rules.
//!
//! Every rule may carry tests beside it (`<name>.tests.yml`, see `rules/README.md`): `list`
//! shows their result per rule, `test` runs them (the built-in pack's own, or those of
//! user rules), `coverage` writes an ATT&CK Navigator layer and `report` evaluates the
//! procedure matrix of `rules/procedures.yml` through the real readers and rules.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use sockhunt_detect::coverage::{evaluate, navigator_layer, parse_procedures, render_markdown};
use sockhunt_detect::ruletest::{self, Outcome, RuleReport, TestStatus};
use sockhunt_detect::{Detector, RuleMeta, RuleSet};

use crate::cli::GlobalOpts;
use crate::escape::terminal;
use crate::output::{add_row, csv_guard, new_table, print_table, Output};

/// Subcommands of `sockhunt rules`.
#[derive(Debug, Subcommand)]
pub(crate) enum RulesCommand {
    /// Every loaded rule: name, status, level, log source, ATT&CK tags and test result.
    #[command(after_help = "\
EXAMPLES:
    sockhunt rules list
    sockhunt rules list --rules my-rules/ --format csv
    sockhunt rules list --no-builtin --rules my-rules/ --format json")]
    List(ListArgs),
    /// One rule (by id, title or file) with its text and its tests' results.
    Show(ShowArgs),
    /// Run rule tests: the built-in pack's, or those beside the given rules (exit 1 on a
    /// failure).
    #[command(after_help = "\
EXAMPLES:
    sockhunt rules test                      the built-in pack's own tests
    sockhunt rules test my-rules/            tests beside user rules (<name>.tests.yml)
    sockhunt rules test rules/windows/win_netstat.yml")]
    Test(TestArgs),
    /// Write an ATT&CK Navigator layer (JSON) of the techniques the loaded rules cover.
    Coverage(CoverageArgs),
    /// Evaluate the procedure matrix (procedures x telemetry shapes) and print it as
    /// Markdown.
    Report(ReportArgs),
}

/// Which rules to load.
#[derive(Debug, Args)]
pub(crate) struct RuleSource {
    /// Sigma rule file or directory to load (repeatable); added to the built-in pack.
    #[arg(short = 'r', long = "rules", value_name = "PATH")]
    rules: Vec<PathBuf>,

    /// Leave the built-in T1049 pack out (use only --rules).
    #[arg(long)]
    no_builtin: bool,
}

impl RuleSource {
    fn load(&self) -> anyhow::Result<RuleSet> {
        let mut set = if self.no_builtin {
            RuleSet::new()
        } else {
            RuleSet::builtin()
        };
        for path in &self.rules {
            set.add_path(path);
        }
        for error in set.errors() {
            eprintln!("sockhunt: {}", terminal(&error.to_string()));
        }
        if set.is_empty() {
            anyhow::bail!("no rules loaded");
        }
        Ok(set)
    }
}

/// Output formats of `rules list`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ListFormat {
    /// An aligned table.
    Table,
    /// A JSON array.
    Json,
    /// CSV with a header row.
    Csv,
}

/// Flags of `rules list`.
#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    #[command(flatten)]
    source: RuleSource,

    /// Output format.
    #[arg(short = 'f', long, value_enum, default_value_t = ListFormat::Table)]
    format: ListFormat,
}

/// Flags of `rules show`.
#[derive(Debug, Args)]
pub(crate) struct ShowArgs {
    /// The rule's id, title or file (a unique prefix of the id is enough).
    #[arg(value_name = "ID")]
    id: String,

    #[command(flatten)]
    source: RuleSource,
}

/// Flags of `rules test`.
#[derive(Debug, Args)]
pub(crate) struct TestArgs {
    /// Rule files or directories whose tests to run; none runs the built-in pack's.
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,

    /// Print every test, not only failures.
    #[arg(long)]
    all: bool,

    /// Print the results as JSON.
    #[arg(long)]
    json: bool,
}

/// Flags of `rules coverage`.
#[derive(Debug, Args)]
pub(crate) struct CoverageArgs {
    #[command(flatten)]
    source: RuleSource,

    /// Write the layer to FILE instead of standard output.
    #[arg(short = 'o', long, value_name = "FILE")]
    output: Option<PathBuf>,
}

/// Flags of `rules report`.
#[derive(Debug, Args)]
pub(crate) struct ReportArgs {
    #[command(flatten)]
    source: RuleSource,

    /// The procedures file (default: the built-in `rules/.procedures.yml`).
    #[arg(long, value_name = "FILE")]
    procedures: Option<PathBuf>,

    /// Write the Markdown to FILE instead of standard output.
    #[arg(short = 'o', long, value_name = "FILE")]
    output: Option<PathBuf>,

    /// Exit 1 when a cell is missed or in error.
    #[arg(long)]
    check: bool,
}

pub(crate) fn run(command: RulesCommand, global: &GlobalOpts) -> anyhow::Result<ExitCode> {
    match command {
        RulesCommand::List(args) => list(&args, global),
        RulesCommand::Show(args) => show(&args),
        RulesCommand::Test(args) => test(&args, global),
        RulesCommand::Coverage(args) => coverage(&args),
        RulesCommand::Report(args) => report(&args),
    }
}

/// What `list` prints per rule.
#[derive(Debug, serde::Serialize)]
struct ListRow<'a> {
    id: Option<&'a str>,
    name: &'a str,
    status: Option<&'a str>,
    level: Option<&'a str>,
    product: Option<&'a str>,
    category: Option<&'a str>,
    service: Option<&'a str>,
    tags: Vec<&'a str>,
    tests: TestStatus,
    tests_passed: usize,
    tests_failed: usize,
    source: &'a str,
}

fn metas(set: &RuleSet) -> Vec<&RuleMeta> {
    let mut out: Vec<&RuleMeta> = set.rules().iter().map(|r| &*r.meta).collect();
    out.extend(set.correlations().iter().map(|r| &*r.meta));
    out
}

fn list(args: &ListArgs, global: &GlobalOpts) -> anyhow::Result<ExitCode> {
    let set = args.source.load()?;
    let metas = metas(&set);
    let reports: Vec<RuleReport> = metas
        .iter()
        .map(|m| ruletest::run_source(&m.source))
        .collect();
    let rows: Vec<ListRow<'_>> = metas
        .iter()
        .zip(&reports)
        .map(|(m, r)| {
            let (passed, failed) = r.counts();
            ListRow {
                id: m.id.as_deref(),
                name: &m.title,
                status: m.status.as_deref(),
                level: m.level.map(|l| l.as_str()),
                product: m.logsource.product.as_deref(),
                category: m.logsource.category.as_deref(),
                service: m.logsource.service.as_deref(),
                tags: m.tags.iter().map(String::as_str).collect(),
                tests: r.status(),
                tests_passed: passed,
                tests_failed: failed,
                source: &m.source,
            }
        })
        .collect();
    let mut out = Output::create(None)?;
    match args.format {
        ListFormat::Json => {
            // Serialised first, so a closed pipe surfaces as the io::Error main.rs looks for.
            let text = serde_json::to_string_pretty(&rows)?;
            writeln!(out, "{text}")?;
        }
        ListFormat::Csv => {
            let mut w = csv::Writer::from_writer(Vec::new());
            w.write_record([
                "id", "name", "status", "level", "product", "category", "service", "tags", "tests",
                "passed", "failed", "source",
            ])?;
            for row in &rows {
                let tags = row.tags.join(" ");
                let tests = row.tests.to_string();
                let passed = row.tests_passed.to_string();
                let failed = row.tests_failed.to_string();
                w.write_record([
                    csv_guard(row.id.unwrap_or("")).as_ref(),
                    &csv_guard(row.name),
                    row.status.unwrap_or(""),
                    row.level.unwrap_or(""),
                    &csv_guard(row.product.unwrap_or("")),
                    &csv_guard(row.category.unwrap_or("")),
                    &csv_guard(row.service.unwrap_or("")),
                    &csv_guard(&tags),
                    &tests,
                    &passed,
                    &failed,
                    &csv_guard(row.source),
                ])?;
            }
            let bytes = w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?;
            out.write_all(&bytes)?;
        }
        ListFormat::Table => {
            let color = global.color.enabled(std::io::stdout().is_terminal());
            let mut table = new_table(
                &[
                    "NAME", "STATUS", "LEVEL", "PRODUCT", "CATEGORY", "TAGS", "TESTS",
                ],
                color,
            );
            for row in &rows {
                let category = row.category.or(row.service).unwrap_or("-");
                let tags: Vec<&str> = row
                    .tags
                    .iter()
                    .filter(|t| t.starts_with("attack.t"))
                    .map(|t| t.trim_start_matches("attack."))
                    .collect();
                let tests = match row.tests {
                    TestStatus::None => "none".to_owned(),
                    status => format!(
                        "{status} {}/{}",
                        row.tests_passed,
                        row.tests_passed + row.tests_failed
                    ),
                };
                add_row(
                    &mut table,
                    &[
                        row.name,
                        row.status.unwrap_or("-"),
                        row.level.unwrap_or("-"),
                        row.product.unwrap_or("-"),
                        category,
                        &tags.join(","),
                        &tests,
                    ],
                );
            }
            print_table(&mut out, &table)?;
            let failing = rows.iter().filter(|r| r.tests == TestStatus::Fail).count();
            let untested = rows.iter().filter(|r| r.tests == TestStatus::None).count();
            writeln!(
                out,
                "\n{} rules; tests: {} pass, {failing} fail, {untested} none",
                rows.len(),
                rows.len() - failing - untested
            )?;
        }
    }
    out.finish()?;
    Ok(ExitCode::SUCCESS)
}

fn find<'a>(set: &'a RuleSet, key: &str) -> anyhow::Result<&'a RuleMeta> {
    let all = metas(set);
    let lower = key.to_ascii_lowercase();
    let exact: Vec<&RuleMeta> = all
        .iter()
        .copied()
        .filter(|m| {
            m.id.as_deref()
                .is_some_and(|id| id.eq_ignore_ascii_case(key))
                || m.title.eq_ignore_ascii_case(key)
                || *m.source == *key
                || m.source.ends_with(&format!("/{key}"))
                || m.source.ends_with(&format!("/{key}.yml"))
        })
        .collect();
    let candidates = if exact.is_empty() {
        all.iter()
            .copied()
            .filter(|m| {
                m.id.as_deref()
                    .is_some_and(|id| id.to_ascii_lowercase().starts_with(&lower))
            })
            .collect()
    } else {
        exact
    };
    match candidates.as_slice() {
        [one] => Ok(one),
        [] => anyhow::bail!("no loaded rule has the id, title or file `{key}`"),
        many => anyhow::bail!(
            "`{key}` names {} rules; give more of the id: {}",
            many.len(),
            many.iter()
                .map(|m| m.key().to_owned())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn rule_text(source: &str) -> anyhow::Result<String> {
    if let Some(rel) = source.strip_prefix(sockhunt_detect::pack::SOURCE_PREFIX) {
        return sockhunt_detect::pack::get(rel)
            .map(|f| f.text.to_owned())
            .with_context(|| format!("{source}: not in the built-in pack"));
    }
    fs_err::read_to_string(source).map_err(Into::into)
}

fn show(args: &ShowArgs) -> anyhow::Result<ExitCode> {
    let set = args.source.load()?;
    let meta = find(&set, &args.id)?;
    let text = rule_text(&meta.source)?;
    let report = ruletest::run_source(&meta.source);
    let mut out = Output::create(None)?;
    writeln!(out, "# {}", terminal(&meta.source))?;
    write!(out, "{}", terminal(&text))?;
    if !text.ends_with('\n') {
        writeln!(out)?;
    }
    writeln!(out)?;
    write_report(&mut out, &report, true)?;
    out.finish()?;
    Ok(ExitCode::SUCCESS)
}

fn write_report(out: &mut impl Write, report: &RuleReport, all: bool) -> std::io::Result<()> {
    let (passed, failed) = report.counts();
    let rule = terminal(&report.rule_path.display().to_string()).into_owned();
    match (&report.error, &report.note, report.status()) {
        (Some(error), _, _) => writeln!(out, "ERROR {rule}: {}", terminal(error))?,
        (None, Some(note), _) => writeln!(out, "SKIP  {rule}: {}", terminal(note))?,
        (None, None, TestStatus::None) => writeln!(out, "NONE  {rule}: no tests")?,
        (None, None, TestStatus::Pass) => writeln!(out, "PASS  {rule} ({passed} tests)")?,
        (None, None, TestStatus::Fail) => writeln!(
            out,
            "FAIL  {rule} ({failed} of {} tests failed)",
            passed + failed
        )?,
    }
    for result in &report.results {
        match &result.outcome {
            Outcome::Pass if all => writeln!(
                out,
                "    ok    [{}] {} ({})",
                result.format,
                terminal(&result.name),
                result.expect
            )?,
            Outcome::Pass => {}
            Outcome::Fail(reason) => writeln!(
                out,
                "    FAIL  [{}] {} ({}): {}",
                result.format,
                terminal(&result.name),
                result.expect,
                terminal(reason)
            )?,
        }
    }
    Ok(())
}

fn test(args: &TestArgs, _global: &GlobalOpts) -> anyhow::Result<ExitCode> {
    let reports: Vec<RuleReport> = if args.paths.is_empty() {
        ruletest::run_builtin()
    } else {
        let (files, errors) = ruletest::collect_rule_files(&args.paths);
        for error in &errors {
            eprintln!("sockhunt: {}", terminal(&error.to_string()));
        }
        if files.is_empty() {
            anyhow::bail!("no rule files found in the paths given");
        }
        let reports: Vec<RuleReport> = files.iter().map(|f| ruletest::run_rule_file(f)).collect();
        if !errors.is_empty() {
            let mut out = Output::create(None)?;
            summarise(&mut out, &reports, args)?;
            out.finish()?;
            return Ok(ExitCode::from(2));
        }
        reports
    };
    let mut out = Output::create(None)?;
    let failed = summarise(&mut out, &reports, args)?;
    out.finish()?;
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Prints the reports; returns whether anything failed.
fn summarise(out: &mut Output, reports: &[RuleReport], args: &TestArgs) -> anyhow::Result<bool> {
    let failed_rules = reports
        .iter()
        .filter(|r| r.status() == TestStatus::Fail)
        .count();
    if args.json {
        let text = serde_json::to_string_pretty(reports)?;
        writeln!(out, "{text}")?;
        return Ok(failed_rules > 0);
    }
    for report in reports {
        write_report(out, report, args.all)?;
    }
    let (mut passed, mut failed) = (0, 0);
    for report in reports {
        let (p, f) = report.counts();
        passed += p;
        failed += f;
    }
    let untested = reports
        .iter()
        .filter(|r| r.status() == TestStatus::None)
        .count();
    writeln!(
        out,
        "\n{} rules: {} passed, {failed_rules} failed, {untested} without tests; {} tests: {passed} passed, {failed} failed",
        reports.len(),
        reports.len() - failed_rules - untested,
        passed + failed
    )?;
    Ok(failed_rules > 0)
}

fn coverage(args: &CoverageArgs) -> anyhow::Result<ExitCode> {
    let set = args.source.load()?;
    let layer = navigator_layer("sockhunt rules", metas(&set));
    let mut out = Output::create(args.output.as_deref())?;
    let text = serde_json::to_string_pretty(&layer)?;
    writeln!(out, "{text}")?;
    out.finish()?;
    Ok(ExitCode::SUCCESS)
}

fn report(args: &ReportArgs) -> anyhow::Result<ExitCode> {
    let set = args.source.load()?;
    let (source, text) = match &args.procedures {
        Some(path) => (path.display().to_string(), fs_err::read_to_string(path)?),
        None => (
            sockhunt_detect::coverage::BUILTIN_PROCEDURES_NAME.to_owned(),
            sockhunt_detect::coverage::BUILTIN_PROCEDURES.to_owned(),
        ),
    };
    let procedures = parse_procedures(&source, &text).map_err(anyhow::Error::msg)?;
    let detector = Detector::new(&set);
    let matrix = evaluate(&procedures, &detector);
    let markdown = render_markdown(&matrix);
    let mut out = Output::create(args.output.as_deref())?;
    out.write_all(markdown.as_bytes())?;
    out.finish()?;
    let (detected, applicable) = matrix.totals();
    if args.output.is_some() {
        eprintln!(
            "{}: {detected} of {applicable} cells detected",
            args.output
                .as_deref()
                .map(Path::display)
                .map(|d| d.to_string())
                .unwrap_or_default()
        );
    }
    Ok(if args.check && detected < applicable {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
