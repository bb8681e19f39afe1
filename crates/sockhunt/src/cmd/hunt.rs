//! `sockhunt hunt`: read logs, normalise them to the Sigma taxonomy, run Sigma rules.
//!
//! Exit status, like grep: 0 nothing detected, 1 detections, 2 errors (a rule, an input or
//! a record that could not be read: errors win over detections, so a partial hunt is
//! never mistaken for a clean one), 130 stopped by Ctrl-C (what was found so far is
//! written, and an `--output` file is complete up to that point).

use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, ValueEnum};
use jiff::{SignedDuration, Timestamp};
use sockhunt_detect::correlate::{Chain, ChainConfig, ChainStats, HuntChains};
use sockhunt_detect::hunt::{at_least, expand_inputs, FileOutcome, Hit, HuntOptions, HuntSummary};
use sockhunt_detect::{Alert, Detector, Level, RuleError, RuleSet};
use sockhunt_events::Format;

use crate::cli::GlobalOpts;
use crate::escape::terminal;
use crate::output::{add_row, csv_guard, new_table, print_table, Output};

/// Flags of `sockhunt hunt`.
#[derive(Debug, Args)]
#[command(after_help = "\
Inputs are recognised by content (EVTX, Windows JSON/ECS, auditd, Sysmon for Linux, CloudTrail,
Azure, GCP, network-device accounting, ESXi, sockhunt JSONL), compressed or not (.gz, .zst).

EXIT STATUS:
    0    nothing detected
    1    detections
    2    errors (a rule, input or record that could not be read), even with detections
    130  interrupted by Ctrl-C (results so far are written)

EXAMPLES:
    sockhunt hunt logs/                            built-in T1049 pack over a directory
    sockhunt hunt --rules sigma/rules Security.evtx --format jsonl -o alerts.jsonl
    sockhunt hunt --since 24h --host ws01 --min-level high /var/log/audit/audit.log
    zcat audit.log.gz | sockhunt hunt -")]
pub(crate) struct HuntArgs {
    /// Log files or directories (read recursively); `-` reads standard input.
    #[arg(value_name = "PATH", required = true)]
    paths: Vec<PathBuf>,

    /// Sigma rule file or directory to load (repeatable); added to the built-in pack.
    #[arg(short = 'r', long = "rules", value_name = "PATH")]
    rules: Vec<PathBuf>,

    /// Leave the built-in T1049 pack out (use only --rules).
    #[arg(long)]
    no_builtin: bool,

    /// Output format.
    #[arg(short = 'f', long, value_enum, default_value_t = HuntFormat::Table)]
    format: HuntFormat,

    /// Write results to FILE (complete or not at all; also on Ctrl-C) instead of standard
    /// output.
    #[arg(short = 'o', long, value_name = "FILE")]
    output: Option<PathBuf>,

    /// Only events at or after this time: RFC 3339 (2024-05-01T12:00:00Z), a date
    /// (2024-05-01, UTC) or an age (90s, 30m, 24h, 7d, 2w).
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    since: Option<Timestamp>,

    /// Only events before this time (same forms as --since).
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    until: Option<Timestamp>,

    /// Only events from these hosts (comma-separated or repeated; a short name also
    /// matches the fully qualified one).
    #[arg(long = "host", value_name = "HOST", value_delimiter = ',')]
    hosts: Vec<String>,

    /// Only rules of at least this level (informational, low, medium, high, critical).
    #[arg(long, value_name = "LEVEL", value_parser = parse_level)]
    min_level: Option<Level>,

    /// Read every input as this format instead of recognising it
    /// (evtx, win-json, auditd, sysmon-linux, cloudtrail, azure, gcp, net-device, esxi,
    /// generic).
    #[arg(long, value_name = "FORMAT", value_parser = parse_format)]
    input_format: Option<Format>,

    /// Inputs read at the same time (default: one per CPU).
    #[arg(short = 'j', long, value_name = "N")]
    threads: Option<usize>,

    /// Print the summary per rule and per input format on standard error.
    #[arg(long)]
    stats: bool,

    /// Skip chain correlation (one alert per chain of discovery behaviour, from the
    /// correlation rules loaded).
    #[arg(long)]
    no_chains: bool,

    /// Window of every chain rule instead of its own timespan (30m, 2h...).
    #[arg(long, value_name = "DURATION", conflicts_with = "no_chains")]
    chain_window: Option<String>,

    /// Chain windows, thresholds and switches from a YAML file (`window`, `max_steps`,
    /// and per chain rule `window`, `threshold`, `enabled`); --chain-window applies on top.
    #[arg(long, value_name = "FILE", conflicts_with = "no_chains")]
    chain_config: Option<PathBuf>,

    /// Only chains of discovery behaviour, no single detections: the triage view.
    #[arg(long, conflicts_with = "no_chains")]
    chains_only: bool,

    /// Never show a progress bar.
    #[arg(long)]
    no_progress: bool,
}

/// `--format` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum HuntFormat {
    /// Aligned columns, sorted by time.
    Table,
    /// One JSON object per alert (the whole normalised event and the original record),
    /// then one per chain, then one summary object.
    Jsonl,
    /// One JSON document: alerts, chains and summary.
    Json,
    /// Comma-separated values, one row per alert (no chains), cells guarded against
    /// spreadsheet formulas.
    Csv,
}

fn parse_format(s: &str) -> Result<Format, String> {
    s.parse()
}

fn parse_level(s: &str) -> Result<Level, String> {
    s.parse()
}

/// RFC 3339, a bare date (midnight UTC), or an age before now.
fn parse_time(s: &str) -> Result<Timestamp, String> {
    parse_time_at(s, Timestamp::now())
}

fn parse_time_at(s: &str, now: Timestamp) -> Result<Timestamp, String> {
    let s = s.trim();
    if let Ok(ts) = s.parse::<Timestamp>() {
        return Ok(ts);
    }
    if let Ok(date) = s.parse::<jiff::civil::Date>() {
        return date
            .to_zoned(jiff::tz::TimeZone::UTC)
            .map(|z| z.timestamp())
            .map_err(|e| e.to_string());
    }
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let number: i64 = number
        .parse()
        .map_err(|_| format!("`{s}` is not a time: use RFC 3339 (2024-05-01T12:00:00Z), a date (2024-05-01) or an age (30m, 24h, 7d)"))?;
    let seconds = match unit {
        "s" => 1,
        "m" | "min" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return Err(format!("`{s}`: unknown unit `{unit}` (s, m, h, d, w)")),
    };
    let age = SignedDuration::from_secs(number.saturating_mul(seconds));
    now.checked_sub(age).map_err(|e| e.to_string())
}

pub(crate) fn run(args: HuntArgs, global: &GlobalOpts) -> anyhow::Result<ExitCode> {
    // Rules.
    let mut rules = RuleSet::new();
    if !args.no_builtin {
        rules.add_builtin();
    }
    for path in &args.rules {
        rules.add_path(path);
    }
    let mut errors = 0u64;
    let snippets = io::stderr().is_terminal() && !global.quiet;
    for error in rules.errors() {
        errors += 1;
        eprintln!("sockhunt: rule error: {}", terminal(&error.to_string()));
        if snippets {
            show_rule_snippet(error);
        }
    }
    if !global.quiet {
        for warning in rules.warnings() {
            tracing::warn!("{}", terminal(&warning.to_string()));
        }
    }
    // Chains: correlation rules over the matched events of every input, in time order.
    let mut chains = if args.no_chains || rules.correlations().is_empty() {
        None
    } else {
        let mut config = match &args.chain_config {
            Some(path) => ChainConfig::from_file(path)?,
            None => ChainConfig::default(),
        };
        if let Some(window) = &args.chain_window {
            config = config.with_window(window)?;
        }
        let chains = HuntChains::new(&rules, &config);
        for error in chains.errors() {
            errors += 1;
            eprintln!("sockhunt: rule error: {}", terminal(&error.to_string()));
        }
        Some(chains)
    };

    let min_level = args.min_level;
    // Rules below --min-level still run when a chain takes their detections: chains are
    // built from informational steps. Their alerts are left out at output.
    let detector = Detector::with_filter(&rules, |rule| {
        at_least(rule.level, min_level) || chains.as_ref().is_some_and(|c| c.wants(rule))
    });
    for error in detector.filter_errors() {
        errors += 1;
        eprintln!("sockhunt: rule error: {}", terminal(&error.to_string()));
    }
    if detector.rules().is_empty() {
        anyhow::bail!(
            "no rule to hunt with ({} loaded, {} failed{})",
            rules.len(),
            rules.errors().len(),
            if min_level.is_some() {
                ", none at --min-level"
            } else {
                ""
            }
        );
    }

    // Inputs.
    let (inputs, input_errors) = expand_inputs(&args.paths);
    for error in &input_errors {
        errors += 1;
        eprintln!("sockhunt: error: {}", terminal(&error.to_string()));
    }

    // The parsed rules are no longer needed: the detector and the chains hold what they
    // use. Freeing them before reading leaves the hunt that memory.
    let rule_errors: Vec<&'static str> = rules.errors().iter().map(|e| e.reason).collect();
    drop(rules);

    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        // A second handler cannot be installed in one process; only tests run twice.
        let _ = ctrlc::set_handler(move || stop.store(true, Ordering::SeqCst));
    }

    let mut options = HuntOptions::new(&detector);
    options.stop = stop.clone();
    options.since = args.since;
    options.until = args.until;
    options.hosts = args.hosts.clone();
    options.min_level = min_level;
    options.read.format = args.input_format;
    options.read.keep_original = matches!(args.format, HuntFormat::Jsonl | HuntFormat::Json);
    if let Some(n) = args.threads {
        options.threads = n.max(1);
    }

    let mut out = Output::create(args.output.as_deref())?;
    let color = out.is_stdout() && global.color.enabled(io::stdout().is_terminal());
    let progress = progress_bar(inputs.len(), &args, global);

    if args.chains_only && args.format == HuntFormat::Csv {
        anyhow::bail!("--chains-only has no CSV form: use --format table, json or jsonl");
    }
    let mut writer = AlertWriter::new(args.format, color, min_level, args.chains_only);
    let mut write_error: Option<io::Error> = None;
    let mut record_errors_shown = 0usize;
    let summary =
        sockhunt_detect::hunt(&inputs, &detector, &options, &mut |outcome: FileOutcome| {
            if let Some(bar) = &progress {
                bar.inc(1);
            }
            report_file_problems(
                &outcome,
                global,
                progress.as_ref(),
                &mut record_errors_shown,
            );
            if let Some(chains) = &mut chains {
                chains.add(&without_originals(&outcome.hits, chains));
            }
            if write_error.is_none() {
                if let Err(e) = writer.file(&mut out, outcome) {
                    // A closed pipe ends the hunt; anything else is reported at the end.
                    stop.store(true, Ordering::SeqCst);
                    write_error = Some(e);
                }
            }
        });
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    if let Some(e) = write_error {
        return Err(e).context("cannot write the results");
    }
    let (chains, chain_stats) = match chains {
        Some(c) => c.finish(),
        None => (Vec::new(), ChainStats::default()),
    };
    writer.finish(&mut out, &summary, &chains, &chain_stats)?;
    out.finish()?;

    errors += summary.files_failed + summary.stats.errors;
    if !global.quiet {
        print_summary(
            &summary,
            &rule_errors,
            detector.rules().len(),
            chains.len(),
            args.stats,
        )?;
    }
    Ok(if summary.interrupted {
        eprintln!("sockhunt: interrupted: results so far are written");
        ExitCode::from(130)
    } else if errors > 0 {
        ExitCode::from(2)
    } else if summary.alerts > 0 || !chains.is_empty() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Shows the rule file around a located error, on a terminal, when the file's text has
/// nothing that would need escaping (the snippet is printed as it is).
fn show_rule_snippet(error: &RuleError) {
    if error.line.is_none() {
        return;
    }
    let text = match sockhunt_detect::pack::get(&error.file) {
        Some(file) => file.text.to_owned(),
        None => match fs_err::read_to_string(&error.file) {
            Ok(text) => text,
            Err(_) => return,
        },
    };
    let plain = text
        .split('\n')
        .all(|line| matches!(terminal(line), std::borrow::Cow::Borrowed(_)));
    if plain {
        eprintln!("{:?}", error.to_report(&text));
    }
}

fn progress_bar(
    files: usize,
    args: &HuntArgs,
    global: &GlobalOpts,
) -> Option<indicatif::ProgressBar> {
    if args.no_progress || global.quiet || files < 2 || !io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(files as u64);
    let style = indicatif::ProgressStyle::with_template(
        "{spinner} {elapsed_precise} [{bar:30}] {pos}/{len} inputs {msg}",
    )
    .ok()?
    .progress_chars("=> ");
    bar.set_style(style);
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    Some(bar)
}

/// The hits a chain takes, with their events' original records left out: chains need
/// the normalised fields and the provenance, and keep their hits until the hunt ends.
fn without_originals(hits: &[Hit], chains: &HuntChains) -> Vec<Hit> {
    hits.iter()
        .filter(|h| h.detections.iter().any(|d| chains.wants(&d.rule)))
        .map(|h| {
            let event = if h.event.original.is_some() {
                let mut event = (*h.event).clone();
                event.original = None;
                Arc::new(event)
            } else {
                h.event.clone()
            };
            Hit {
                event,
                detections: h.detections.clone(),
            }
        })
        .collect()
}

/// Record and file errors go to standard error as they come, each naming its file and
/// record; past a few dozen per run only their count is given (all are in the summary).
fn report_file_problems(
    outcome: &FileOutcome,
    global: &GlobalOpts,
    bar: Option<&indicatif::ProgressBar>,
    shown: &mut usize,
) {
    const SHOWN_MAX: usize = 50;
    let mut lines = Vec::new();
    if let Some(error) = &outcome.error {
        lines.push(format!("sockhunt: error: {}", terminal(&error.to_string())));
    }
    if !global.quiet {
        for error in &outcome.record_errors {
            if *shown < SHOWN_MAX {
                lines.push(format!(
                    "sockhunt: record error: {}",
                    terminal(&error.to_string())
                ));
            }
            *shown += 1;
        }
        let unkept = outcome
            .stats
            .errors
            .saturating_sub(outcome.record_errors.len() as u64);
        if unkept > 0 {
            lines.push(format!(
                "sockhunt: {} more record errors in {}",
                unkept,
                terminal(&outcome.path.display().to_string())
            ));
        }
    }
    for line in lines {
        match bar {
            Some(bar) => bar.suspend(|| eprintln!("{line}")),
            None => eprintln!("{line}"),
        }
    }
}

/// Writes alerts as inputs finish: streamed for JSONL and CSV, kept and sorted by time
/// for the table and the JSON document.
struct AlertWriter {
    format: HuntFormat,
    color: bool,
    min_level: Option<Level>,
    /// `--chains-only`: single detections are left out of every format.
    chains_only: bool,
    kept: Vec<Alert>,
    csv_header_written: bool,
}

const CSV_HEADER: [&str; 12] = [
    "time",
    "host",
    "rule_id",
    "rule",
    "level",
    "attack",
    "user",
    "field",
    "value",
    "logsource",
    "source",
    "record",
];

impl AlertWriter {
    fn new(format: HuntFormat, color: bool, min_level: Option<Level>, chains_only: bool) -> Self {
        AlertWriter {
            format,
            color,
            min_level,
            chains_only,
            kept: Vec::new(),
            csv_header_written: false,
        }
    }

    fn file(&mut self, out: &mut Output, outcome: FileOutcome) -> io::Result<()> {
        if self.chains_only {
            return Ok(());
        }
        match self.format {
            HuntFormat::Table | HuntFormat::Json => {
                self.kept.extend(
                    outcome
                        .hits
                        .iter()
                        .flat_map(|h| h.alerts_from(self.min_level)),
                );
            }
            HuntFormat::Jsonl => {
                for hit in &outcome.hits {
                    for alert in hit.alerts_from(self.min_level) {
                        serde_json::to_writer(&mut *out, &alert)?;
                        out.write_all(b"\n")?;
                    }
                }
                // Each input's alerts reach the file whole, so an interrupted hunt
                // leaves complete lines.
                out.flush()?;
            }
            HuntFormat::Csv => {
                for hit in &outcome.hits {
                    for alert in hit.alerts_from(self.min_level) {
                        self.csv_row(out, &alert)?;
                    }
                }
                out.flush()?;
            }
        }
        Ok(())
    }

    fn csv_row(&mut self, out: &mut Output, alert: &Alert) -> io::Result<()> {
        // One small writer per row: rows reach the output whole, as each input finishes.
        let mut writer = csv::Writer::from_writer(Vec::new());
        if !self.csv_header_written {
            writer.write_record(CSV_HEADER).map_err(io::Error::other)?;
            self.csv_header_written = true;
        }
        let (field, value) = alert.telling_field().unwrap_or(("", String::new()));
        let event = &alert.event;
        let cells = [
            event.time.map(|t| t.to_string()).unwrap_or_default(),
            event.host.clone().unwrap_or_default(),
            alert.rule.id.clone().unwrap_or_default(),
            alert.rule.title.clone(),
            alert.rule.level.map(|l| l.to_string()).unwrap_or_default(),
            alert.rule.attack_techniques().join(" "),
            alert.user().unwrap_or_default(),
            field.to_owned(),
            value,
            event.logsource.to_string(),
            event.provenance.source.to_string(),
            event.provenance.locator.to_string(),
        ];
        writer
            .write_record(cells.iter().map(|c| csv_guard(c).into_owned()))
            .map_err(io::Error::other)?;
        let bytes = writer
            .into_inner()
            .map_err(|e| io::Error::other(e.to_string()))?;
        out.write_all(&bytes)
    }

    fn finish(
        &mut self,
        out: &mut Output,
        summary: &HuntSummary,
        chains: &[Chain],
        chain_stats: &ChainStats,
    ) -> anyhow::Result<()> {
        match self.format {
            HuntFormat::Jsonl => {
                for chain in chains {
                    serde_json::to_writer(&mut *out, chain)?;
                    out.write_all(b"\n")?;
                }
                let line = serde_json::json!({
                    "type": "summary",
                    "summary": summary,
                    "chains": chain_stats,
                });
                serde_json::to_writer(&mut *out, &line)?;
                out.write_all(b"\n")?;
            }
            HuntFormat::Json => {
                sort_alerts(&mut self.kept);
                let doc = serde_json::json!({
                    "alerts": self.kept,
                    "chains": chains,
                    "summary": summary,
                    "chain_stats": chain_stats,
                });
                serde_json::to_writer_pretty(&mut *out, &doc)?;
                out.write_all(b"\n")?;
            }
            HuntFormat::Csv => {
                if !self.csv_header_written {
                    let mut w = csv::Writer::from_writer(&mut *out);
                    w.write_record(CSV_HEADER)?;
                    w.flush()?;
                }
            }
            HuntFormat::Table => {
                // Chains first: they are what an analyst triages; the single detections
                // below are their evidence and the rest.
                sort_alerts(&mut self.kept);
                if !chains.is_empty() {
                    write_chains(out, chains, self.color)?;
                }
                if !self.kept.is_empty() {
                    if !chains.is_empty() {
                        writeln!(out)?;
                    }
                    write_table(out, &self.kept, self.color)?;
                }
            }
        }
        Ok(())
    }
}

/// Time order, then input and record order, then rule: the order a reader of a timeline
/// expects, and the same on every run.
fn sort_alerts(alerts: &mut [Alert]) {
    alerts.sort_by(|a, b| {
        a.event
            .time_or_epoch()
            .cmp(&b.event.time_or_epoch())
            .then_with(|| a.event.provenance.source.cmp(&b.event.provenance.source))
            .then_with(|| locator_key(&a.event).cmp(&locator_key(&b.event)))
            .then_with(|| a.rule.title.cmp(&b.rule.title))
    });
}

fn locator_key(event: &sockhunt_events::Event) -> u64 {
    use sockhunt_events::Locator;
    match event.provenance.locator {
        Locator::Record(n) | Locator::Line(n) | Locator::Offset(n) | Locator::Index(n) => n,
        Locator::None => 0,
    }
}

/// Longest command line shown in a table cell; JSONL and CSV carry it whole.
const CELL_MAX: usize = 160;

fn write_table(out: &mut impl Write, alerts: &[Alert], color: bool) -> io::Result<()> {
    let mut table = new_table(
        &[
            "TIME",
            "HOST",
            "RULE",
            "LEVEL",
            "USER",
            "COMMAND LINE",
            "SOURCE",
        ],
        color,
    );
    for alert in alerts {
        let event = &alert.event;
        let time = event
            .time
            .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
            .unwrap_or_else(|| "-".to_owned());
        let what = match alert.telling_field() {
            Some(("CommandLine", v)) => v,
            Some((name, v)) => format!("{name}: {v}"),
            None => String::from("-"),
        };
        let what = shorten(&what.replace(['\r', '\n'], " "), CELL_MAX);
        let level = alert.rule.level.map_or("-", Level::as_str);
        let user = alert.user().unwrap_or_else(|| "-".to_owned());
        add_row(
            &mut table,
            &[
                &time,
                event.host.as_deref().unwrap_or("-"),
                &alert.rule.title,
                level,
                &user,
                &what,
                &event.provenance.to_string(),
            ],
        );
    }
    print_table(out, &table)
}

/// One row per chain; `--format jsonl` gives every step with its record.
fn write_chains(out: &mut impl Write, chains: &[Chain], color: bool) -> io::Result<()> {
    let mut table = new_table(
        &[
            "FIRST",
            "LAST",
            "CHAIN",
            "LEVEL",
            "GROUP",
            "STEPS",
            "TECHNIQUES",
        ],
        color,
    );
    let time = |t: &Timestamp| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
    for chain in chains {
        let group: Vec<String> = chain.group.iter().map(|(_, v)| v.clone()).collect();
        add_row(
            &mut table,
            &[
                &time(&chain.first),
                &time(&chain.last),
                &chain.rule.title,
                chain.level.map_or("-", Level::as_str),
                &group.join(" "),
                &chain.step_count().to_string(),
                &chain.techniques.join(" "),
            ],
        );
    }
    print_table(out, &table)?;
    // Each chain's ordered evidence.
    for (n, chain) in chains.iter().enumerate() {
        let group: Vec<String> = chain.group.iter().map(|(_, v)| v.clone()).collect();
        writeln!(
            out,
            "\nchain {}: {} [{}]",
            n + 1,
            terminal(&chain.rule.title),
            terminal(&group.join(" "))
        )?;
        let mut steps = new_table(
            &["TIME", "STEP", "USER", "COMMAND LINE OR CALL", "SOURCE"],
            color,
        );
        for step in &chain.steps {
            let rule = step.rules.first().map_or("-", |r| r.title.as_str());
            let what = step.what.clone().unwrap_or_else(|| "-".to_owned());
            let what = shorten(&what.replace(['\r', '\n'], " "), CELL_MAX);
            let source = match step.locator {
                sockhunt_events::Locator::None => step.source.to_string(),
                loc => format!("{}:{loc}", step.source),
            };
            add_row(
                &mut steps,
                &[
                    &time(&step.time),
                    rule,
                    step.user.as_deref().unwrap_or("-"),
                    &what,
                    &source,
                ],
            );
        }
        print_table(out, &steps)?;
        if chain.steps_omitted > 0 {
            writeln!(
                out,
                "    ... and {} more steps (see --format jsonl)",
                chain.steps_omitted
            )?;
        }
    }
    Ok(())
}

fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut s: String = text.chars().take(max.saturating_sub(1)).collect();
    s.push('…');
    s
}

fn print_summary(
    summary: &HuntSummary,
    rule_errors: &[&'static str],
    active_rules: usize,
    chains: usize,
    full: bool,
) -> anyhow::Result<()> {
    let mut err = io::stderr().lock();
    writeln!(
        err,
        "sockhunt: {} alerts ({} events matched), {} chains, from {} of {} rules over {} inputs ({} not logs, skipped): {} records, {} skipped by the pre-filter, {} events, {} outside --since/--until/--host; {} rule errors, {} unreadable inputs, {} record errors",
        summary.alerts,
        summary.matched_events,
        chains,
        summary.per_rule.len(),
        active_rules,
        summary.files,
        summary.files_unrecognised,
        summary.stats.records,
        summary.stats.skipped,
        summary.stats.events,
        summary.filtered,
        rule_errors.len(),
        summary.files_failed,
        summary.stats.errors,
    )?;
    if !full {
        return Ok(());
    }
    if !summary.per_rule.is_empty() {
        writeln!(err, "\nAlerts per rule")?;
        let mut table = new_table(&["ALERTS", "LEVEL", "RULE", "ID", "ATT&CK"], false);
        for count in &summary.per_rule {
            add_row(
                &mut table,
                &[
                    &count.alerts.to_string(),
                    count.rule.level.map_or("-", Level::as_str),
                    &count.rule.title,
                    count.rule.id.as_deref().unwrap_or("-"),
                    &count.rule.attack_techniques().join(" "),
                ],
            );
        }
        print_table(&mut err, &table)?;
    }
    writeln!(err, "\nInputs per format")?;
    let mut table = new_table(
        &[
            "FORMAT", "INPUTS", "RECORDS", "SKIPPED", "EVENTS", "FILTERED", "ERRORS", "ALERTS",
        ],
        false,
    );
    for source in &summary.per_source {
        add_row(
            &mut table,
            &[
                &source.format,
                &source.files.to_string(),
                &source.stats.records.to_string(),
                &source.stats.skipped.to_string(),
                &source.stats.events.to_string(),
                &source.filtered.to_string(),
                &source.stats.errors.to_string(),
                &source.alerts.to_string(),
            ],
        );
    }
    print_table(&mut err, &table)?;
    if !rule_errors.is_empty() {
        let mut reasons: std::collections::BTreeMap<&str, usize> = Default::default();
        for reason in rule_errors {
            *reasons.entry(*reason).or_default() += 1;
        }
        let text: Vec<String> = reasons.iter().map(|(r, n)| format!("{r}: {n}")).collect();
        writeln!(err, "\nRule errors by reason: {}", text.join(", "))?;
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_in_every_form() {
        let now: Timestamp = "2024-05-02T00:00:00Z".parse().unwrap();
        assert_eq!(
            parse_time_at("2024-05-01T12:00:00Z", now)
                .unwrap()
                .to_string(),
            "2024-05-01T12:00:00Z"
        );
        assert_eq!(
            parse_time_at("2024-05-01", now).unwrap().to_string(),
            "2024-05-01T00:00:00Z"
        );
        assert_eq!(
            parse_time_at("24h", now).unwrap().to_string(),
            "2024-05-01T00:00:00Z"
        );
        assert_eq!(
            parse_time_at("2w", now).unwrap().to_string(),
            "2024-04-18T00:00:00Z"
        );
        assert!(parse_time_at("yesterday", now).is_err());
        assert!(parse_time_at("5y", now).is_err());
    }

    #[test]
    fn long_cells_are_shortened() {
        assert_eq!(shorten("abcdef", 4), "abc…");
        assert_eq!(shorten("abc", 4), "abc");
    }
}
