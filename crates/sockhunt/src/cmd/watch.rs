//! `sockhunt watch`: the live eBPF sensor, its events run through the same detection
//! as `hunt`.
//!
//! The loop drains the sensor every 10 ms (the kernel side wakes it early only when a
//! burst fills 64 KiB), normalises each record, writes it to the recording, and prints
//! alerts as they fire. SIGINT and SIGTERM stop the loop between drains: what is still
//! queued in the kernel is drained, every alert and recorded event is flushed, and a
//! summary with the drop counters goes to standard error.

use std::io::{self, BufWriter, Write};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Args, ValueEnum};
use sockhunt_detect::correlate::{ChainConfig, ChainTracker, ChainUpdate, ChainUpdateKind};
use sockhunt_detect::{Alert, Detector, Level, RuleMeta, RuleSet};
use sockhunt_events::Event;
use sockhunt_sensor::{Item, SensorConfig, Summary, WatchOptions, Watcher};

use crate::cli::GlobalOpts;
use crate::escape;

/// Flags of `sockhunt watch`.
#[derive(Debug, Args)]
#[command(after_long_help = WATCH_HELP)]
pub(crate) struct WatchArgs {
    /// Sigma rule file or directory to load (repeatable); added to the built-in pack.
    #[arg(short = 'r', long = "rules", value_name = "PATH")]
    rules: Vec<PathBuf>,

    /// Leave the built-in T1049 pack out (use only --rules).
    #[arg(long)]
    no_builtin: bool,

    /// Only rules of at least this level (informational, low, medium, high, critical).
    #[arg(long, value_name = "LEVEL", value_parser = parse_level)]
    min_level: Option<Level>,

    /// Alert format.
    #[arg(short = 'f', long, value_enum, default_value_t = WatchFormat::Table)]
    format: WatchFormat,

    /// Print every normalised event as JSON lines instead of alerts (detection still
    /// runs: syslog and the exit status still reflect alerts).
    #[arg(long, conflicts_with = "raw")]
    events: bool,

    /// Print the sensor's raw records as JSON lines (exec, open, sock_diag, fork, exit)
    /// instead of alerts.
    #[arg(long)]
    raw: bool,

    /// Write alerts to FILE (appended, flushed as they fire) instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,

    /// Also send each alert to the local syslog (facility auth, severity warning).
    #[arg(long)]
    syslog: bool,

    /// Syslog socket.
    #[arg(long, value_name = "PATH", default_value = "/dev/log", hide = true)]
    syslog_socket: PathBuf,

    /// Append every normalised event to FILE as JSON lines; `sockhunt hunt FILE` replays
    /// it to the same alerts.
    #[arg(long, value_name = "FILE")]
    record: Option<PathBuf>,

    /// Stop after this long (`90`, `30s`, `5m`, `2h`); default: until SIGINT/SIGTERM.
    #[arg(long, value_name = "TIME", value_parser = parse_duration)]
    duration: Option<Duration>,

    /// Skip chain correlation (one alert per chain of discovery behaviour).
    #[arg(long)]
    no_chains: bool,

    /// Window of every chain rule instead of its own timespan (30m, 2h...).
    #[arg(long, value_name = "DURATION")]
    chain_window: Option<String>,

    /// Chain windows, thresholds and switches from a YAML file.
    #[arg(long, value_name = "FILE")]
    chain_config: Option<PathBuf>,

    /// Report the sensor's own descendants too (they are excluded by default).
    #[arg(long, hide = true)]
    include_own_tree: bool,

    /// Ring-buffer fill (bytes) past which the kernel wakes the reader early.
    #[arg(long, value_name = "BYTES", default_value_t = 64 * 1024, hide = true)]
    wakeup_bytes: u64,
}

const WATCH_HELP: &str = "\
Needs root (CAP_BPF and CAP_PERFMON) and a kernel with BTF (/sys/kernel/btf/vmlinux).
Every hook is a BTF tracepoint: tracefs need not be mounted.

EXAMPLES:
    sudo sockhunt watch                         alerts as a table until Ctrl-C
    sudo sockhunt watch --format jsonl -o a.jsonl --record ev.jsonl
    sudo sockhunt watch --events --duration 10s  every normalised event for 10 s
    sockhunt hunt ev.jsonl                      replay a recording to the same alerts";

/// `--format` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum WatchFormat {
    /// One aligned line per alert.
    Table,
    /// One JSON object per alert.
    Jsonl,
}

fn parse_level(s: &str) -> Result<Level, String> {
    s.parse()
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => s.split_at(at),
        None => (s, "s"),
    };
    let n: u64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a duration (examples: 90, 30s, 5m, 2h)"))?;
    let secs = match unit {
        "s" => n,
        "m" => n.saturating_mul(60),
        "h" => n.saturating_mul(3600),
        "ms" => return Ok(Duration::from_millis(n)),
        _ => return Err(format!("`{s}`: unknown unit `{unit}` (use ms, s, m or h)")),
    };
    Ok(Duration::from_secs(secs))
}

/// What standard output (or `--output`) shows.
enum Show {
    Alerts,
    Events,
    Raw,
}

pub(crate) fn run(args: WatchArgs, global: &GlobalOpts) -> anyhow::Result<ExitCode> {
    let show = if args.raw {
        Show::Raw
    } else if args.events {
        Show::Events
    } else {
        Show::Alerts
    };
    let (detector, mut tracker) = load_detector(&args)?;
    let min_level = args.min_level;
    let shown = |rule: &RuleMeta| min_level.is_none_or(|min| rule.level.is_some_and(|l| l >= min));
    let mut chains = 0u64;

    let mut out = open_output(args.output.as_deref())?;
    let mut record = match &args.record {
        Some(path) => Some(BufWriter::new(
            fs_err::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .context("--record")?,
        )),
        None => None,
    };
    let syslog = if args.syslog {
        Some(Syslog::connect(&args.syslog_socket)?)
    } else {
        None
    };

    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = Arc::clone(&stop);
        ctrlc::set_handler(move || stop.store(true, Ordering::SeqCst))
            .context("cannot install the SIGINT/SIGTERM handler")?;
    }

    let own_pid = std::process::id();
    let options = WatchOptions {
        sensor: SensorConfig {
            wakeup_bytes: args.wakeup_bytes,
            exclude_pid: own_pid,
        },
        exclude_tree: (!args.include_own_tree).then_some(own_pid),
        drop_check_every: Duration::from_secs(1),
    };
    let mut watcher = Watcher::start(options).context("cannot start the sensor")?;
    if !global.quiet {
        eprintln!(
            "sockhunt: watching ({}); stop with Ctrl-C",
            watcher.sensor().attached().join(", ")
        );
        for (tracepoint, why) in watcher.sensor().missing() {
            eprintln!(
                "sockhunt: warning: {tracepoint} is unavailable on this kernel ({}): \
                 sock_diag requests are not seen, sock_diag sockets still are",
                escape::terminal(why)
            );
        }
    }

    let started = Instant::now();
    let mut alerts = 0u64;
    // Kernel hook to alert written, per alert: the figure the sensor promises to keep low.
    let mut alert_latency_us: Vec<u64> = Vec::new();
    let mut syslog_failures = 0u64;
    let mut failure: Option<anyhow::Error> = None;
    let mut handle = |item: Item<'_>,
                      out: &mut Writer,
                      record: &mut Option<BufWriter<fs_err::File>>,
                      tracker: &mut Option<ChainTracker>,
                      chains: &mut u64|
     -> anyhow::Result<()> {
        let event: Option<&Event> = match &item {
            Item::Record(_, event) => event.as_ref(),
            Item::Drops(event) => Some(event),
        };
        if let (Some(rec), Some(event)) = (record.as_mut(), event) {
            serde_json::to_writer(&mut *rec, event).context("--record")?;
            rec.write_all(b"\n").context("--record")?;
        }
        match (&show, &item) {
            (Show::Raw, Item::Record(raw, _)) => {
                serde_json::to_writer(&mut *out, raw)?;
                out.write_all(b"\n")?;
            }
            (Show::Events, _) | (Show::Raw, Item::Drops(_)) => {
                if let Some(event) = event {
                    serde_json::to_writer(&mut *out, event)?;
                    out.write_all(b"\n")?;
                }
            }
            (Show::Alerts, _) => {}
        }
        if let Some(event) = event {
            let detections = detector.detect(event);
            // Chain updates are written after the event's own alerts.
            let updates = match tracker.as_mut() {
                Some(tracker) => tracker.push(event, &detections),
                None => Vec::new(),
            };
            // Rules below --min-level run only to feed the chains.
            let detections: Vec<_> = detections.into_iter().filter(|d| shown(&d.rule)).collect();
            if !detections.is_empty() {
                let event = Arc::new(event.clone());
                if let Some(at) = event.time {
                    let us = jiff::Timestamp::now().as_microsecond() - at.as_microsecond();
                    if alert_latency_us.len() < 100_000 {
                        alert_latency_us.push(u64::try_from(us).unwrap_or(0));
                    }
                }
                for detection in detections {
                    alerts += 1;
                    let alert = Alert {
                        rule: detection.rule,
                        matched: detection.matched,
                        event: Arc::clone(&event),
                    };
                    if matches!(show, Show::Alerts) {
                        match args.format {
                            WatchFormat::Jsonl => {
                                serde_json::to_writer(&mut *out, &alert)?;
                                out.write_all(b"\n")?;
                            }
                            WatchFormat::Table => {
                                if alerts == 1 {
                                    writeln!(out, "{}", table_header())?;
                                }
                                writeln!(out, "{}", table_line(&alert))?;
                            }
                        }
                    }
                    if let Some(syslog) = &syslog {
                        // A syslog daemon restarting must not stop the sensor: the
                        // alert is still on the main output; failures are counted.
                        if let Err(err) = syslog.send(&syslog_line(&alert)) {
                            if syslog_failures == 0 {
                                eprintln!("sockhunt: warning: {err:#}");
                            }
                            syslog_failures += 1;
                        }
                    }
                }
            }
            for update in updates {
                if update.kind == ChainUpdateKind::New {
                    *chains += 1;
                }
                if matches!(show, Show::Alerts) {
                    write_chain_update(out, args.format, &update)?;
                }
            }
        }
        Ok(())
    };

    let mut last_tick = Instant::now();
    while !stop.load(Ordering::SeqCst) && args.duration.is_none_or(|d| started.elapsed() < d) {
        let mut batch_err = None;
        let polled = watcher.poll(Duration::from_millis(10), |item| {
            if batch_err.is_none() {
                if let Err(err) = handle(item, &mut out, &mut record, &mut tracker, &mut chains) {
                    batch_err = Some(err);
                }
            }
        });
        // Close chains whose window passed with no new step, once a second.
        if last_tick.elapsed() >= Duration::from_secs(1) {
            last_tick = Instant::now();
            if let Some(t) = tracker.as_mut() {
                for update in t.tick(jiff::Timestamp::now()) {
                    if matches!(show, Show::Alerts) {
                        if let Err(err) = write_chain_update(&mut out, args.format, &update) {
                            batch_err = Some(err);
                        }
                    }
                }
            }
        }
        if let Err(err) = polled {
            failure = Some(anyhow::Error::new(err).context("sensor"));
            break;
        }
        if let Some(err) = batch_err {
            failure = Some(err);
            break;
        }
        if let Err(err) = out.flush() {
            failure = Some(err.into());
            break;
        }
    }

    // Drain what the kernel still holds, then flush everything, even after an error.
    let mut batch_err = None;
    let summary = watcher.finish(|item| {
        if batch_err.is_none() && failure.is_none() {
            if let Err(err) = handle(item, &mut out, &mut record, &mut tracker, &mut chains) {
                batch_err = Some(err);
            }
        }
    });
    // Chains still live at the end are final now.
    if let Some(t) = tracker.as_mut() {
        for chain in t.finish() {
            if matches!(show, Show::Alerts) && batch_err.is_none() && failure.is_none() {
                let update = ChainUpdate {
                    kind: ChainUpdateKind::Closed,
                    chain,
                };
                if let Err(err) = write_chain_update(&mut out, args.format, &update) {
                    batch_err = Some(err);
                }
            }
        }
    }
    let flushed = out
        .flush()
        .map_err(anyhow::Error::from)
        .and_then(|()| match record.as_mut() {
            Some(rec) => rec.flush().context("--record"),
            None => Ok(()),
        });
    if let Some(err) = failure.or(batch_err) {
        return Err(err);
    }
    flushed?;
    let summary = summary.context("sensor")?;
    if syslog_failures > 0 {
        eprintln!("sockhunt: warning: {syslog_failures} alerts could not be sent to syslog");
    }
    if !global.quiet {
        print_summary(&summary, alerts, &mut alert_latency_us, started.elapsed());
        if chains > 0 {
            eprintln!("sockhunt: {chains} chain(s) of discovery behaviour");
        }
    }
    Ok(if alerts > 0 || chains > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Rules as `hunt` loads them: errors are reported, and watching with no rule at all
/// is refused unless only events or raw records are wanted.
fn load_detector(args: &WatchArgs) -> anyhow::Result<(Detector, Option<ChainTracker>)> {
    let mut rules = RuleSet::new();
    if !args.no_builtin {
        rules.add_builtin();
    }
    for path in &args.rules {
        rules.add_path(path);
    }
    for error in rules.errors() {
        eprintln!(
            "sockhunt: rule error: {}",
            escape::terminal(&error.to_string())
        );
    }
    let tracker = if args.no_chains {
        None
    } else {
        let mut config = match &args.chain_config {
            Some(path) => ChainConfig::from_file(path)?,
            None => ChainConfig::default(),
        };
        if let Some(window) = &args.chain_window {
            config = config.with_window(window)?;
        }
        let tracker = ChainTracker::new(&rules, &config);
        for error in tracker.errors() {
            eprintln!(
                "sockhunt: chain rule error: {}",
                escape::terminal(&error.to_string())
            );
        }
        Some(tracker)
    };
    let min_level = args.min_level;
    // Rules under --min-level still run when a chain needs them; their single alerts are
    // not shown.
    let detector = Detector::with_filter(&rules, |rule| {
        min_level.is_none_or(|min| rule.level.is_some_and(|l| l >= min))
            || tracker.as_ref().is_some_and(|t| t.wants(rule))
    });
    for error in detector.filter_errors() {
        eprintln!(
            "sockhunt: rule error: {}",
            escape::terminal(&error.to_string())
        );
    }
    if detector.rules().is_empty() && !(args.events || args.raw) {
        anyhow::bail!(
            "no rule to watch with ({} loaded, {} failed{})",
            rules.len(),
            rules.errors().len(),
            if min_level.is_some() {
                ", none at --min-level"
            } else {
                ""
            }
        );
    }
    Ok((detector, tracker))
}

/// A chain update: JSONL as the chain object with its `update` kind; in the table, one line
/// per update and the ordered steps once the chain is final.
fn write_chain_update(
    out: &mut Writer,
    format: WatchFormat,
    update: &ChainUpdate,
) -> anyhow::Result<()> {
    match format {
        WatchFormat::Jsonl => {
            serde_json::to_writer(&mut *out, update)?;
            out.write_all(b"\n")?;
        }
        WatchFormat::Table => {
            let chain = &update.chain;
            let kind = match update.kind {
                ChainUpdateKind::New => "new",
                ChainUpdateKind::Updated => "updated",
                ChainUpdateKind::Closed => "closed",
            };
            let group: Vec<String> = chain.group.iter().map(|(_, v)| v.clone()).collect();
            writeln!(
                out,
                "CHAIN {kind:<7}  {:<13}  {}  [{}]  {} steps  {}",
                chain.level.map_or("-", Level::as_str),
                escape::terminal(&chain.rule.title),
                escape::terminal(&group.join(" ")),
                chain.step_count(),
                chain.techniques.join(" "),
            )?;
            if update.kind == ChainUpdateKind::Closed {
                for step in &chain.steps {
                    writeln!(
                        out,
                        "    {}  {}  {}",
                        step.time.strftime("%Y-%m-%dT%H:%M:%SZ"),
                        escape::terminal(step.rules.first().map_or("-", |r| r.title.as_str())),
                        escape::terminal(
                            &step
                                .what
                                .clone()
                                .unwrap_or_default()
                                .replace(['\r', '\n'], " ")
                        ),
                    )?;
                }
            }
        }
    }
    Ok(())
}

fn table_header() -> String {
    format!(
        "{:<20}  {:<13}  {:>7}  {:<10}  RULE: WHAT",
        "TIME", "LEVEL", "PID", "USER"
    )
}

/// One alert as one line: a live stream cannot wait to align a whole table.
fn table_line(alert: &Alert) -> String {
    let event = &alert.event;
    let time = event
        .time
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|| "-".to_owned());
    let level = alert.rule.level.map_or("-", Level::as_str);
    let pid = event
        .fields
        .get_str("ProcessId")
        .map(|p| p.into_owned())
        .unwrap_or_else(|| "-".to_owned());
    let user = alert.user().unwrap_or_else(|| "-".to_owned());
    let what = match alert.telling_field() {
        Some(("CommandLine", v)) => v,
        Some((name, v)) => format!("{name}: {v}"),
        None => "-".to_owned(),
    };
    let target = match event.fields.get_str("TargetFilename") {
        Some(t) if !what.contains(&*t) => format!(" -> {t}"),
        _ => String::new(),
    };
    format!(
        "{time:<20}  {level:<13}  {:>7}  {:<10}  {}: {}{}",
        escape::terminal(&pid),
        escape::terminal(&user),
        escape::terminal(&alert.rule.title),
        escape::terminal(&what.replace(['\r', '\n'], " ")),
        escape::terminal(&target),
    )
}

fn syslog_line(alert: &Alert) -> String {
    let event = &alert.event;
    let get = |name: &str| {
        event
            .fields
            .get_str(name)
            .map(|v| v.into_owned())
            .unwrap_or_default()
    };
    let what = alert
        .telling_field()
        .map(|(name, v)| format!("{name}={v:?}"))
        .unwrap_or_default();
    // Syslog consumers are terminals and files: control characters escaped.
    escape::terminal(&format!(
        "alert rule={:?} level={} pid={} user={:?} image={:?} {what}",
        alert.rule.title,
        alert.rule.level.map_or("-", Level::as_str),
        get("ProcessId"),
        alert.user().unwrap_or_default(),
        get("Image"),
    ))
    .into_owned()
}

fn print_summary(s: &Summary, alerts: u64, alert_latency_us: &mut [u64], took: Duration) {
    let mut lat = match (s.exec_latency_us_p50, s.exec_latency_us_p99) {
        (Some(p50), Some(p99)) => format!(", exec-to-event latency p50 {p50} us, p99 {p99} us"),
        _ => String::new(),
    };
    if !alert_latency_us.is_empty() {
        alert_latency_us.sort_unstable();
        let at = |p: usize| alert_latency_us[(alert_latency_us.len() - 1) * p / 100];
        lat.push_str(&format!(
            ", hook-to-alert latency p50 {} us, p99 {} us",
            at(50),
            at(99)
        ));
    }
    eprintln!(
        "sockhunt: watched {:.1} s: {} records, {} events, {} alerts, {} excluded (own tree); \
         lost: {} in the kernel, {} in user space{lat}",
        took.as_secs_f64(),
        s.records,
        s.events,
        alerts,
        s.excluded,
        s.kernel_drops.total(),
        s.user_drops,
    );
}

/// Alert destination: standard output or a file appended to.
type Writer = Box<dyn Write>;

fn open_output(path: Option<&Path>) -> anyhow::Result<Writer> {
    match path {
        None => Ok(Box::new(BufWriter::new(io::stdout()))),
        Some(p) if p.as_os_str() == "-" => Ok(Box::new(BufWriter::new(io::stdout()))),
        Some(p) => Ok(Box::new(BufWriter::new(
            fs_err::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .context("--output")?,
        ))),
    }
}

/// RFC 3164 messages to the local syslog socket.
struct Syslog {
    socket: UnixDatagram,
}

impl Syslog {
    fn connect(path: &Path) -> anyhow::Result<Syslog> {
        let socket = UnixDatagram::unbound().context("--syslog")?;
        socket.connect(path).with_context(|| {
            format!(
                "--syslog: cannot connect to {} (is a syslog daemon running?)",
                path.display()
            )
        })?;
        Ok(Syslog { socket })
    }

    /// Sends one line; facility auth (4), severity warning (4).
    fn send(&self, text: &str) -> anyhow::Result<()> {
        let msg = format!(
            "<36>sockhunt[{}]: {}",
            std::process::id(),
            text.replace('\n', " ")
        );
        self.socket
            .send(msg.as_bytes())
            .context("--syslog: cannot send")?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert!(parse_duration("5d").is_err());
        assert!(parse_duration("x").is_err());
    }
}
