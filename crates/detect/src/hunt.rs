//! Hunting: many inputs read in parallel through one [`Detector`].
//!
//! Each input gets its own sink on a worker thread; the sink applies the time and host
//! filters, runs detection and keeps only the events that matched (with their
//! detections), so memory follows the number of alerts, not the size of the input.
//! Finished inputs are handed to the caller **in input order** on the calling thread,
//! which makes streamed output repeatable whatever the thread count, and lets the caller
//! write without locking.
//!
//! Ctrl-C: set [`HuntOptions::stop`]; readers stop at their next event, workers take no
//! new input, and every input finished so far has already been handed over.

use std::collections::{BTreeMap, HashMap};
use std::ops::ControlFlow;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};

use jiff::Timestamp;
use serde::Serialize;
use sockhunt_events::{
    read_path, read_stream, Event, EventSink, FileError, Format, ReadOptions, ReadStats,
    RecordError,
};

use crate::alert::Alert;
use crate::engine::{Detection, Detector};
use crate::loader::{Level, RuleMeta};

/// The name that means standard input.
pub const STDIN: &str = "-";

/// The start of the readers' message for content no reader recognises.
const UNRECOGNISED: &str = "not a log format";

/// One input of a hunt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HuntInput {
    /// The file (`-` for standard input).
    pub path: PathBuf,
    /// Named by the user rather than found in a directory. A file found in a directory
    /// that is not a log (a README beside the EVTX files) is skipped and counted; a file
    /// named explicitly that is not a log is an error.
    pub explicit: bool,
}

impl From<PathBuf> for HuntInput {
    fn from(path: PathBuf) -> Self {
        HuntInput {
            path,
            explicit: true,
        }
    }
}

/// Settings of a hunt.
#[derive(Debug, Clone)]
pub struct HuntOptions {
    /// Reader settings. [`HuntOptions::new`] sets the pre-filter from the detector.
    pub read: ReadOptions,
    /// Events before this time are left out (inclusive bound).
    pub since: Option<Timestamp>,
    /// Events at or after this time are left out (exclusive bound).
    pub until: Option<Timestamp>,
    /// Only events from these hosts (case-insensitive; `ws01` also matches
    /// `WS01.corp.example`). Empty: every host.
    pub hosts: Vec<String>,
    /// Worker threads (inputs read at the same time). At least 1.
    pub threads: usize,
    /// Set to stop early (Ctrl-C).
    pub stop: Arc<AtomicBool>,
    /// Record errors kept per input for reporting (all are counted).
    pub max_record_errors: usize,
    /// Only detections of rules at this level or above count as alerts (in the summary
    /// and in [`Hit::alerts_from`]); the others stay in the hits for chains, which are
    /// built from informational steps.
    pub min_level: Option<Level>,
}

impl HuntOptions {
    /// Defaults for hunting with `detector`: its pre-filter, every core, originals kept.
    pub fn new(detector: &Detector) -> Self {
        let read = ReadOptions {
            interest: Arc::new(detector.interest()),
            ..ReadOptions::default()
        };
        HuntOptions {
            read,
            since: None,
            until: None,
            hosts: Vec::new(),
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            stop: Arc::new(AtomicBool::new(false)),
            max_record_errors: 100,
            min_level: None,
        }
    }

    fn keeps(&self, event: &Event) -> bool {
        if let Some(time) = event.time {
            if self.since.is_some_and(|s| time < s) || self.until.is_some_and(|u| time >= u) {
                return false;
            }
        }
        if self.hosts.is_empty() {
            return true;
        }
        let Some(host) = event.host.as_deref() else {
            return false;
        };
        let short = host.split('.').next().unwrap_or(host);
        self.hosts
            .iter()
            .any(|h| h.eq_ignore_ascii_case(host) || h.eq_ignore_ascii_case(short))
    }
}

/// An event some rule fired on, with every rule that did.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// The event (shared by the alerts made from it).
    pub event: Arc<Event>,
    /// The rules that fired, sorted by rule title.
    pub detections: Vec<Detection>,
}

impl Hit {
    /// One alert per detection.
    pub fn alerts(&self) -> impl Iterator<Item = Alert> + '_ {
        self.alerts_from(None)
    }

    /// One alert per detection of a rule at `min` or above (every detection when `None`).
    pub fn alerts_from(&self, min: Option<Level>) -> impl Iterator<Item = Alert> + '_ {
        self.detections
            .iter()
            .filter(move |d| at_least(d.rule.level, min))
            .map(|d| Alert {
                rule: d.rule.clone(),
                matched: d.matched.clone(),
                event: self.event.clone(),
            })
    }
}

/// Whether a rule's level passes a `--min-level`: with no minimum everything does; with
/// one, a rule without a level does not.
pub fn at_least(level: Option<Level>, min: Option<Level>) -> bool {
    match min {
        None => true,
        Some(min) => level.is_some_and(|l| l >= min),
    }
}

/// What reading one input gave.
#[derive(Debug)]
pub struct FileOutcome {
    /// Position in the input list.
    pub index: usize,
    /// The input as given (`-` for standard input).
    pub path: PathBuf,
    /// The format read, when it was recognised.
    pub format: Option<Format>,
    /// Reader counts.
    pub stats: ReadStats,
    /// Events left out by `since`/`until`/`hosts`.
    pub filtered: u64,
    /// Matched events in the order read.
    pub hits: Vec<Hit>,
    /// The first record errors (all are counted in `stats.errors`).
    pub record_errors: Vec<RecordError>,
    /// Why the input could not be read (or stopped being readable part-way).
    pub error: Option<FileError>,
    /// Whether reading stopped early because of the stop flag.
    pub interrupted: bool,
    /// A file found in a directory whose content is not a log format: skipped, not an
    /// error.
    pub unrecognised: bool,
}

/// Alerts of one rule.
#[derive(Debug, Clone, Serialize)]
pub struct RuleCount {
    /// The rule.
    pub rule: Arc<RuleMeta>,
    /// Alerts it raised.
    pub alerts: u64,
}

/// Counts of one input format.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SourceCount {
    /// The format's name (`evtx`, `auditd`...).
    pub format: String,
    /// Inputs read in this format.
    pub files: u64,
    /// Records, skipped records, events and record errors.
    #[serde(flatten)]
    pub stats: ReadStats,
    /// Events left out by the time and host filters.
    pub filtered: u64,
    /// Alerts raised.
    pub alerts: u64,
}

/// Totals of a hunt.
#[derive(Debug, Default, Serialize)]
pub struct HuntSummary {
    /// Inputs given (after directory expansion).
    pub files: u64,
    /// Inputs that could not be read (see `file_errors`).
    pub files_failed: u64,
    /// Files found in directories that are not logs, skipped.
    pub files_unrecognised: u64,
    /// Reader counts over every input.
    #[serde(flatten)]
    pub stats: ReadStats,
    /// Events left out by the time and host filters.
    pub filtered: u64,
    /// Events some rule fired on.
    pub matched_events: u64,
    /// Alerts (one per rule per event).
    pub alerts: u64,
    /// Alerts per rule, most first.
    pub per_rule: Vec<RuleCount>,
    /// Counts per input format.
    pub per_source: Vec<SourceCount>,
    /// Inputs that could not be read, with why.
    #[serde(serialize_with = "serialize_display_list")]
    pub file_errors: Vec<FileError>,
    /// Whether the hunt stopped early.
    pub interrupted: bool,
}

fn serialize_display_list<S: serde::Serializer>(
    list: &[FileError],
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_seq(list.iter().map(ToString::to_string))
}

impl HuntSummary {
    /// Whether anything went wrong: an input or a record that could not be read.
    pub fn has_errors(&self) -> bool {
        self.files_failed > 0 || self.stats.errors > 0
    }
}

/// Expands the paths given: directories recursively (sorted), `-` kept as standard input.
pub fn expand_inputs(paths: &[PathBuf]) -> (Vec<HuntInput>, Vec<FileError>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        if path.as_os_str() == STDIN {
            files.push(HuntInput::from(path.clone()));
        } else {
            let explicit = !path.is_dir();
            let (found, mut e) =
                sockhunt_events::readers::collect_inputs(std::slice::from_ref(path));
            files.extend(found.into_iter().map(|path| HuntInput { path, explicit }));
            errors.append(&mut e);
        }
    }
    (files, errors)
}

struct HuntSink<'a> {
    detector: &'a Detector,
    options: &'a HuntOptions,
    hits: Vec<Hit>,
    record_errors: Vec<RecordError>,
    filtered: u64,
    stopped: bool,
}

impl EventSink for HuntSink<'_> {
    fn event(&mut self, event: Event) -> ControlFlow<()> {
        if self.options.stop.load(Ordering::Relaxed) {
            self.stopped = true;
            return ControlFlow::Break(());
        }
        if !self.options.keeps(&event) {
            self.filtered += 1;
            return ControlFlow::Continue(());
        }
        let detections = self.detector.detect(&event);
        if !detections.is_empty() {
            self.hits.push(Hit {
                event: Arc::new(event),
                detections,
            });
        }
        ControlFlow::Continue(())
    }

    fn record_error(&mut self, error: RecordError) {
        if self.record_errors.len() < self.options.max_record_errors {
            self.record_errors.push(error);
        }
    }
}

/// Reads one input through the detector.
pub fn hunt_one(
    index: usize,
    input: &HuntInput,
    detector: &Detector,
    options: &HuntOptions,
) -> FileOutcome {
    let path = input.path.as_path();
    let mut sink = HuntSink {
        detector,
        options,
        hits: Vec::new(),
        record_errors: Vec::new(),
        filtered: 0,
        stopped: false,
    };
    // A reader bug must cost one input, not the whole hunt.
    let result = std::panic::catch_unwind(AssertUnwindSafe(|| {
        if path.as_os_str() == STDIN {
            read_stream(STDIN, Box::new(std::io::stdin()), &options.read, &mut sink)
        } else {
            read_path(path, &options.read, &mut sink)
        }
    }));
    let mut unrecognised = false;
    let (format, stats, error) = match result {
        Ok(Ok((format, stats))) => (Some(format), stats, None),
        Ok(Err(e)) if !input.explicit && e.message.starts_with(UNRECOGNISED) => {
            unrecognised = true;
            (None, ReadStats::default(), None)
        }
        Ok(Err(e)) => (None, ReadStats::default(), Some(e)),
        Err(_) => (
            None,
            ReadStats::default(),
            Some(FileError::new(
                path,
                "internal error while reading (a reader panicked)",
            )),
        ),
    };
    let mut outcome = FileOutcome {
        index,
        path: path.to_path_buf(),
        format,
        stats,
        filtered: sink.filtered,
        hits: sink.hits,
        record_errors: sink.record_errors,
        error,
        interrupted: sink.stopped,
        unrecognised,
    };
    for hit in &mut outcome.hits {
        hit.detections.sort_by(|a, b| {
            a.rule
                .title
                .cmp(&b.rule.title)
                .then_with(|| a.rule.id.cmp(&b.rule.id))
        });
    }
    outcome
}

/// Reads every input through the detector, `options.threads` at a time, and hands each
/// finished input to `on_file` in input order. Inputs not started when the stop flag is
/// set are left out (and the summary says `interrupted`).
pub fn hunt(
    inputs: &[HuntInput],
    detector: &Detector,
    options: &HuntOptions,
    on_file: &mut dyn FnMut(FileOutcome),
) -> HuntSummary {
    let mut summary = HuntSummary {
        files: inputs.len() as u64,
        ..HuntSummary::default()
    };
    let mut per_rule: HashMap<usize, RuleCount> = HashMap::new();
    let mut per_source: BTreeMap<String, SourceCount> = BTreeMap::new();
    let next = AtomicUsize::new(0);
    let threads = options.threads.clamp(1, inputs.len().max(1));

    std::thread::scope(|scope| {
        // Bounded: when the caller writes slower than the workers read, the workers wait
        // instead of piling finished inputs (and their events) up in memory.
        let (tx, rx) = mpsc::sync_channel::<FileOutcome>(threads * 2);
        for _ in 0..threads {
            let tx = tx.clone();
            let next = &next;
            scope.spawn(move || loop {
                if options.stop.load(Ordering::Relaxed) {
                    break;
                }
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(path) = inputs.get(i) else { break };
                if tx.send(hunt_one(i, path, detector, options)).is_err() {
                    break;
                }
            });
        }
        drop(tx);

        let mut pending: BTreeMap<usize, FileOutcome> = BTreeMap::new();
        let mut expected = 0usize;
        let mut deliver = |outcome: FileOutcome, summary: &mut HuntSummary| {
            account(
                options.min_level,
                &outcome,
                summary,
                &mut per_rule,
                &mut per_source,
            );
            on_file(outcome);
        };
        for outcome in rx {
            pending.insert(outcome.index, outcome);
            while let Some(outcome) = pending.remove(&expected) {
                expected += 1;
                deliver(outcome, &mut summary);
            }
        }
        // After a stop, inputs past a gap never arrive: hand over the rest in order.
        for (_, outcome) in std::mem::take(&mut pending) {
            deliver(outcome, &mut summary);
        }
    });

    if options.stop.load(Ordering::Relaxed) {
        summary.interrupted = true;
    }
    let mut rules: Vec<RuleCount> = per_rule.into_values().collect();
    rules.sort_by(|a, b| {
        b.alerts
            .cmp(&a.alerts)
            .then_with(|| a.rule.title.cmp(&b.rule.title))
    });
    summary.per_rule = rules;
    summary.per_source = per_source.into_values().collect();
    summary
}

fn account(
    min_level: Option<Level>,
    outcome: &FileOutcome,
    summary: &mut HuntSummary,
    per_rule: &mut HashMap<usize, RuleCount>,
    per_source: &mut BTreeMap<String, SourceCount>,
) {
    summary.stats.add(&outcome.stats);
    summary.filtered += outcome.filtered;
    summary.interrupted |= outcome.interrupted;
    if outcome.unrecognised {
        summary.files_unrecognised += 1;
        return;
    }
    if let Some(error) = &outcome.error {
        summary.files_failed += 1;
        summary
            .file_errors
            .push(FileError::new(&error.path, &error.message));
    }
    let mut alerts = 0u64;
    for hit in &outcome.hits {
        let mut alerting = hit
            .detections
            .iter()
            .filter(|d| at_least(d.rule.level, min_level))
            .peekable();
        if alerting.peek().is_some() {
            summary.matched_events += 1;
        }
        for d in alerting {
            alerts += 1;
            per_rule
                .entry(Arc::as_ptr(&d.rule) as usize)
                .or_insert_with(|| RuleCount {
                    rule: d.rule.clone(),
                    alerts: 0,
                })
                .alerts += 1;
        }
    }
    summary.alerts += alerts;
    let name = outcome.format.map_or("unreadable", Format::name).to_owned();
    let source = per_source
        .entry(name.clone())
        .or_insert_with(|| SourceCount {
            format: name,
            ..SourceCount::default()
        });
    source.files += 1;
    source.stats.add(&outcome.stats);
    source.filtered += outcome.filtered;
    source.alerts += alerts;
}
