//! `sockhunt runbook`: execute discovery procedures under the live sensor, or replay
//! recorded ones through the log readers, and report which were detected.
//!
//! Live runs start `sockhunt watch --format jsonl` as a separate process: the sensor
//! leaves its own process tree out of what it reports, so the procedures must not be its
//! descendants. Alerts are attributed to a procedure by process tree: the child's pid and
//! every process whose parent is already in the tree.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ExitCode, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::{Args, Subcommand, ValueEnum};
use sockhunt_detect::{Detector, RuleSet};
use sockhunt_events::{CollectSink, Format, ReadOptions};
use sockhunt_runbook::atomics::{self, AtomicProcedure};
use sockhunt_runbook::exec::{self, RunAs};
use sockhunt_runbook::{
    judge, Fired, Outcome, Procedure, ProcedureResult, Report, ReportFormat, Runbook,
};

use crate::cli::GlobalOpts;
use crate::escape;

/// Subcommands of `sockhunt runbook`.
#[derive(Debug, Subcommand)]
pub(crate) enum RunbookCommand {
    /// Execute the procedures under the live sensor (only with --execute; otherwise print
    /// what would run) and report detected, missed and unexpected alerts per procedure.
    Run(RunArgs),
    /// Replay the recorded events of the runbooks' procedures through the log readers and
    /// the rules, offline, on any machine.
    Replay(ReplayArgs),
}

/// Report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum FormatArg {
    /// Aligned text.
    Table,
    /// One JSON document.
    Json,
    /// JUnit XML for CI systems.
    Junit,
    /// A Markdown table.
    Markdown,
}

#[derive(Debug, Args)]
pub(crate) struct Common {
    /// Runbook files or directories [default: the repository's runbooks/ directory when
    /// present].
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Report format.
    #[arg(long, value_enum, default_value_t = FormatArg::Table)]
    format: FormatArg,
    /// Write the report to FILE as well as printing the table.
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Also load user rules from these files or directories.
    #[arg(long = "rules", value_name = "PATH")]
    rules: Vec<PathBuf>,
    /// Only run procedures whose id contains this text.
    #[arg(long, value_name = "TEXT")]
    only: Option<String>,
}

/// Flags of `sockhunt runbook run`.
#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    #[command(flatten)]
    common: Common,
    /// Really execute the procedures (root: the sensor needs it). Without it, print what
    /// would run.
    #[arg(long)]
    execute: bool,
    /// Run the procedures as this user (name or uid).
    #[arg(long = "as", value_name = "USER")]
    run_as: Option<String>,
    /// Read Atomic Red Team technique YAML (a checkout, a technique folder or a file) and
    /// run this platform's tests too, expecting detections tagged with the technique.
    #[arg(long, value_name = "PATH")]
    atomics: Option<PathBuf>,
    /// How long to wait for alerts after a procedure ends, in milliseconds.
    #[arg(long, default_value_t = 1500, value_name = "MS")]
    settle_ms: u64,
}

/// Flags of `sockhunt runbook replay`.
#[derive(Debug, Args)]
pub(crate) struct ReplayArgs {
    #[command(flatten)]
    common: Common,
}

pub(crate) fn run(command: RunbookCommand, _global: &GlobalOpts) -> anyhow::Result<ExitCode> {
    match command {
        RunbookCommand::Replay(args) => replay(args),
        RunbookCommand::Run(args) => run_live(args),
    }
}

fn default_paths(paths: &[PathBuf]) -> Vec<PathBuf> {
    if !paths.is_empty() {
        return paths.to_vec();
    }
    let here = PathBuf::from("runbooks");
    if here.is_dir() {
        return vec![here];
    }
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../runbooks");
    vec![repo]
}

fn load_rules(extra: &[PathBuf]) -> anyhow::Result<Arc<Detector>> {
    let mut rules = RuleSet::builtin();
    for path in extra {
        rules.add_path(path);
    }
    for error in rules.errors() {
        eprintln!(
            "sockhunt: warning: {}",
            escape::terminal(&error.to_string())
        );
    }
    Ok(Arc::new(Detector::new(&rules)))
}

fn fired_of(
    detector: &Detector,
    event: &sockhunt_events::Event,
    latency: Option<u64>,
    out: &mut Vec<Fired>,
) {
    for d in detector.detect(event) {
        if out
            .iter()
            .any(|f| Some(&f.id) == d.rule.id.as_ref() || f.title == d.rule.title)
        {
            continue;
        }
        out.push(Fired {
            id: d.rule.id.clone().unwrap_or_else(|| d.rule.title.clone()),
            title: d.rule.title.clone(),
            level: d
                .rule
                .level
                .map(|l| l.as_str().to_owned())
                .unwrap_or_else(|| "-".into()),
            tags: d.rule.tags.clone(),
            latency_ms: latency,
        });
    }
}

fn finish(report: Report, common: &Common) -> anyhow::Result<ExitCode> {
    let format = match common.format {
        FormatArg::Table => ReportFormat::Table,
        FormatArg::Json => ReportFormat::Json,
        FormatArg::Junit => ReportFormat::Junit,
        FormatArg::Markdown => ReportFormat::Markdown,
    };
    let text = report.render(format, &|s| escape::terminal(s).into_owned());
    if let Some(path) = &common.output {
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let mut tmp = tempfile::NamedTempFile::new_in(dir)
            .with_context(|| format!("creating a temporary file beside {}", path.display()))?;
        tmp.write_all(text.as_bytes())?;
        tmp.persist(path)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    let mut stdout = std::io::stdout().lock();
    if common.output.is_some() && format != ReportFormat::Table {
        stdout.write_all(
            report
                .render(ReportFormat::Table, &|s| escape::terminal(s).into_owned())
                .as_bytes(),
        )?;
    } else {
        stdout.write_all(text.as_bytes())?;
    }
    stdout.flush()?;
    Ok(if report.failed() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn selected<'a>(
    runbooks: &'a [Runbook],
    only: Option<&'a str>,
) -> impl Iterator<Item = (&'a Runbook, &'a Procedure)> + 'a {
    runbooks.iter().flat_map(move |rb| {
        rb.procedures
            .iter()
            .filter(move |p| only.is_none_or(|o| p.id.contains(o)))
            .map(move |p| (rb, p))
    })
}

fn replay(args: ReplayArgs) -> anyhow::Result<ExitCode> {
    let (runbooks, errors) = sockhunt_runbook::load_dir_or_file(&default_paths(&args.common.paths));
    let detector = load_rules(&args.common.rules)?;
    let mut report = Report {
        load_errors: errors.iter().map(ToString::to_string).collect(),
        ..Report::default()
    };
    for (rb, procedure) in selected(&runbooks, args.common.only.as_deref()) {
        let Some(replay) = &procedure.replay else {
            continue;
        };
        let started = Instant::now();
        let mut result = ProcedureResult {
            id: procedure.id.clone(),
            name: procedure.name.clone(),
            source: rb.path.display().to_string(),
            mode: "replay".into(),
            outcome: Outcome::Error,
            fired: Vec::new(),
            verdict: Default::default(),
            note: None,
            latency_ms: None,
            duration_ms: 0,
        };
        match replay_events(rb, replay) {
            Ok(events) if events.is_empty() => {
                result.note = Some("the recorded events produced no event".into());
            }
            Ok(events) => {
                for event in &events {
                    fired_of(&detector, event, None, &mut result.fired);
                }
                result.verdict = judge(&procedure.expect, &result.fired);
                result.outcome = if result.verdict.passed {
                    Outcome::Passed
                } else {
                    Outcome::Failed
                };
            }
            Err(e) => result.note = Some(e),
        }
        result.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        report.results.push(result);
    }
    finish(report, &args.common)
}

fn replay_events(
    rb: &Runbook,
    replay: &sockhunt_runbook::Replay,
) -> Result<Vec<sockhunt_events::Event>, String> {
    let format: Format = replay.format.parse()?;
    let options = ReadOptions {
        format: Some(format),
        ..ReadOptions::default()
    };
    let mut sink = CollectSink::default();
    let result = if let Some(records) = &replay.records {
        let name = format!("{}:{}", rb.path.display(), replay.format);
        let bytes = records.clone().into_bytes();
        sockhunt_events::read_stream(
            &name,
            Box::new(std::io::Cursor::new(bytes)),
            &options,
            &mut sink,
        )
    } else if let Some(file) = &replay.file {
        let path = rb.path.parent().unwrap_or(Path::new(".")).join(file);
        sockhunt_events::read_path(&path, &options, &mut sink)
    } else {
        return Err("replay has neither records nor file".into());
    };
    result.map_err(|e| e.to_string())?;
    if let Some(first) = sink.errors.first() {
        return Err(format!(
            "{} record(s) could not be read, first: {first}",
            sink.errors.len()
        ));
    }
    Ok(sink.events)
}

/// One alert line from the watch process, with when it arrived.
struct Seen {
    arrived: Instant,
    pid: Option<i64>,
    ppid: Option<i64>,
    fired: Fired,
}

fn run_live(args: RunArgs) -> anyhow::Result<ExitCode> {
    // `--atomics` alone runs only the atomics; with paths, both.
    let (runbooks, errors) = if args.atomics.is_some() && args.common.paths.is_empty() {
        (Vec::new(), Vec::new())
    } else {
        sockhunt_runbook::load_dir_or_file(&default_paths(&args.common.paths))
    };
    let mut report = Report {
        load_errors: errors.iter().map(ToString::to_string).collect(),
        ..Report::default()
    };
    let mut items: Vec<(String, Procedure, Option<String>)> = Vec::new();
    for (rb, p) in selected(&runbooks, args.common.only.as_deref()) {
        if p.is_replay() {
            continue;
        }
        let skip = (!p.runs_here()).then(|| {
            format!(
                "platform {} (this is {})",
                p.platforms.join(", "),
                std::env::consts::OS
            )
        });
        items.push((rb.path.display().to_string(), p.clone(), skip));
    }
    if let Some(path) = &args.atomics {
        let (procs, errs) = atomics::load(path);
        report
            .load_errors
            .extend(errs.iter().map(ToString::to_string));
        for AtomicProcedure {
            procedure,
            skip,
            source,
        } in procs
        {
            if args
                .common
                .only
                .as_deref()
                .is_some_and(|o| !procedure.id.contains(o))
            {
                continue;
            }
            items.push((source.display().to_string(), procedure, skip));
        }
    }
    let run_as = args.run_as.as_deref().map(resolve_user).transpose()?;

    if !args.execute {
        for (source, p, skip) in items {
            let mode = if source.contains("atomics") || p.id.starts_with('T') {
                "atomic"
            } else {
                "executed"
            };
            let note = match (&skip, &p.command) {
                (Some(s), _) => format!("would skip: {s}"),
                (None, Some(sockhunt_runbook::model::Command::Script(s))) => {
                    format!("would run: {s}")
                }
                (None, Some(sockhunt_runbook::model::Command::Argv(v))) => {
                    format!("would run: {}", v.join(" "))
                }
                (None, None) => String::new(),
            };
            report.results.push(ProcedureResult {
                id: p.id,
                name: p.name,
                source,
                mode: mode.into(),
                outcome: Outcome::DryRun,
                fired: Vec::new(),
                verdict: Default::default(),
                note: Some(note),
                latency_ms: None,
                duration_ms: 0,
            });
        }
        eprintln!("sockhunt: dry run: nothing was executed (add --execute to run the procedures)");
        return finish(report, &args.common);
    }

    let mut watch = WatchProcess::start(&args.common.rules)?;
    for (source, p, skip) in items {
        let mode = if p.id.starts_with('T') && source.ends_with(".yaml") {
            "atomic"
        } else {
            "executed"
        };
        let mut result = ProcedureResult {
            id: p.id.clone(),
            name: p.name.clone(),
            source,
            mode: mode.into(),
            outcome: Outcome::Skipped,
            fired: Vec::new(),
            verdict: Default::default(),
            note: skip.clone(),
            latency_ms: None,
            duration_ms: 0,
        };
        if skip.is_none() {
            run_one(
                &p,
                run_as,
                &mut watch,
                Duration::from_millis(args.settle_ms),
                &mut result,
            );
        }
        report.results.push(result);
    }
    let summary = watch.stop();
    if let Some(summary) = summary {
        eprintln!("sockhunt: sensor: {}", escape::terminal(summary.trim()));
    }
    finish(report, &args.common)
}

fn run_one(
    p: &Procedure,
    run_as: Option<RunAs>,
    watch: &mut WatchProcess,
    settle: Duration,
    result: &mut ProcedureResult,
) {
    let started = Instant::now();
    if let Some(check) = &p.prerequisites {
        match exec::run_shell(check, Duration::from_secs(p.timeout), run_as) {
            Ok(out) if out.code == Some(0) => {}
            Ok(_) => {
                result.note = Some(format!("prerequisites not met: {check}"));
                return;
            }
            Err(e) => {
                result.outcome = Outcome::Error;
                result.note = Some(e.to_string());
                return;
            }
        }
    }
    watch.drain();
    let executed = exec::run_procedure(p, run_as);
    let executed = match executed {
        Ok(e) => e,
        Err(e) => {
            result.outcome = Outcome::Error;
            result.note = Some(e.to_string());
            return;
        }
    };
    // Wait for the alerts of the procedure's process tree.
    let deadline = Instant::now() + settle;
    let mut tree: HashSet<i64> = HashSet::from([i64::from(executed.pid)]);
    let mut fired: Vec<Fired> = Vec::new();
    let mut first_latency: Option<u64> = None;
    loop {
        for seen in watch.take() {
            let in_tree = seen.pid.is_some_and(|p| tree.contains(&p))
                || seen.ppid.is_some_and(|p| tree.contains(&p));
            if !in_tree {
                continue;
            }
            if let Some(pid) = seen.pid {
                tree.insert(pid);
            }
            let latency = u64::try_from(
                seen.arrived
                    .saturating_duration_since(executed.started)
                    .as_millis(),
            )
            .unwrap_or(u64::MAX);
            first_latency = Some(first_latency.map_or(latency, |l| l.min(latency)));
            if !fired.iter().any(|f| f.id == seen.fired.id) {
                let mut f = seen.fired;
                f.latency_ms = Some(latency);
                fired.push(f);
            }
        }
        let expected_all = !p.expect.quiet && sockhunt_runbook::judge(&p.expect, &fired).passed;
        if expected_all || Instant::now() >= deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    if let Some(cleanup) = &p.cleanup {
        if let Err(e) = exec::run_shell(cleanup, Duration::from_secs(p.timeout), run_as) {
            result.note = Some(format!("cleanup failed: {e}"));
        }
    }
    result.verdict = judge(&p.expect, &fired);
    result.fired = fired;
    result.latency_ms = first_latency;
    result.outcome = if result.verdict.passed {
        Outcome::Passed
    } else {
        Outcome::Failed
    };
    if executed.timed_out {
        result.note = Some(format!("killed at its {} s timeout", p.timeout));
    }
    result.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
}

fn resolve_user(user: &str) -> anyhow::Result<RunAs> {
    let found = match user.parse::<u32>() {
        Ok(uid) => uzers::get_user_by_uid(uid),
        Err(_) => uzers::get_user_by_name(user),
    };
    let found = found.with_context(|| format!("no such user `{user}`"))?;
    Ok(RunAs {
        uid: found.uid(),
        gid: found.primary_group_id(),
    })
}

/// The sensor, as a `sockhunt watch` child whose JSONL alerts are read on a thread.
struct WatchProcess {
    child: Child,
    alerts: Receiver<Seen>,
    stderr: Option<std::thread::JoinHandle<String>>,
}

impl WatchProcess {
    fn start(rules: &[PathBuf]) -> anyhow::Result<WatchProcess> {
        let exe = std::env::current_exe().context("finding the sockhunt executable")?;
        let mut cmd = std::process::Command::new(exe);
        cmd.args(["watch", "--format", "jsonl"]);
        for r in rules {
            cmd.arg("--rules").arg(r);
        }
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("starting `sockhunt watch`")?;
        let stdout = child.stdout.take().context("watch stdout")?;
        let stderr = child.stderr.take().context("watch stderr")?;
        let (tx, rx) = mpsc::channel();
        let (ready_tx, ready_rx) = mpsc::channel::<()>();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let Ok(value) = serde_json::from_str::<serde_json::Value>(&line) else {
                    continue;
                };
                if let Some(seen) = parse_alert(&value) {
                    if tx.send(seen).is_err() {
                        break;
                    }
                }
            }
        });
        // The sensor says `sockhunt: watching (...)` on standard error once every hook is
        // attached: procedures start only then.
        let stderr = std::thread::spawn(move || {
            let mut ready = Some(ready_tx);
            let mut text = String::new();
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.starts_with("sockhunt: watching") {
                    if let Some(r) = ready.take() {
                        let _ = r.send(());
                    }
                }
                text.push_str(&line);
                text.push('\n');
            }
            text
        });
        let mut watch = WatchProcess {
            child,
            alerts: rx,
            stderr: Some(stderr),
        };
        if ready_rx.recv_timeout(Duration::from_secs(30)).is_err() {
            let err = watch.stop().unwrap_or_default();
            bail!("the sensor did not start: {}", err.trim());
        }
        Ok(watch)
    }

    fn drain(&mut self) {
        while self.alerts.try_recv().is_ok() {}
    }

    fn take(&mut self) -> Vec<Seen> {
        self.alerts.try_iter().collect()
    }

    fn stop(&mut self) -> Option<String> {
        if let Ok(pid) = i32::try_from(self.child.id()) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGINT,
            );
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.stderr.take().and_then(|h| h.join().ok())
    }
}

fn parse_alert(value: &serde_json::Value) -> Option<Seen> {
    if value.get("type").and_then(|t| t.as_str()) != Some("alert") {
        return None;
    }
    let rule = value.get("rule")?;
    let fields = value.pointer("/event/fields");
    let int = |name: &str| {
        fields
            .and_then(|f| f.get(name))
            .and_then(|v| v.as_i64().or_else(|| v.as_str()?.parse().ok()))
    };
    let text = |v: Option<&serde_json::Value>| v.and_then(|v| v.as_str()).map(str::to_owned);
    Some(Seen {
        arrived: Instant::now(),
        pid: int("ProcessId"),
        ppid: int("ParentProcessId"),
        fired: Fired {
            id: text(rule.get("id"))
                .or_else(|| text(rule.get("title")))
                .unwrap_or_default(),
            title: text(rule.get("title")).unwrap_or_default(),
            level: text(rule.get("level")).unwrap_or_else(|| "-".into()),
            tags: rule
                .get("tags")
                .and_then(|t| t.as_array())
                .map(|a| {
                    a.iter()
                        .filter_map(|t| t.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
            latency_ms: None,
        },
    })
}
