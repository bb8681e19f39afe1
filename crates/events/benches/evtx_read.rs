//! Reading the EVTX corpus: sockhunt's reader against the `evtx` crate rendering every
//! record to JSON lines (what `evtx_dump -o jsonl` does), in the same run, on one
//! thread, printing the ratios.
//!
//! `cargo bench -p sockhunt-events --bench evtx_read [-- ROUNDS]` (default 10 rounds
//! over `../shared/corpus/evtx`: 246,610 records).
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::hint::black_box;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use evtx::{EvtxParser, ParserSettings};
use sockhunt_events::readers::collect_inputs;
use sockhunt_events::{
    read_path, Event, EventSink, Interest, LogSource, ReadOptions, ReadStats, RecordError,
};

/// A named case and the interest its rules have.
type Case = (&'static str, fn() -> Interest);

struct Count(u64);

impl EventSink for Count {
    fn event(&mut self, event: Event) -> ControlFlow<()> {
        self.0 += black_box(event.fields.len()) as u64;
        ControlFlow::Continue(())
    }
    fn record_error(&mut self, _error: RecordError) {}
}

fn render_all(files: &[PathBuf], rounds: usize) -> (Duration, u64) {
    let start = Instant::now();
    let mut records = 0u64;
    for _ in 0..rounds {
        for file in files {
            let settings = ParserSettings::default().num_threads(1).indent(false);
            let mut parser = EvtxParser::from_path(file)
                .unwrap()
                .with_configuration(settings);
            for chunk in parser.chunks_json_bytes(false) {
                records += chunk.records().count() as u64;
                black_box(chunk.data.len());
            }
        }
    }
    (start.elapsed(), records)
}

fn sockhunt(files: &[PathBuf], rounds: usize, interest: Interest) -> (Duration, ReadStats) {
    let options = ReadOptions {
        interest: Arc::new(interest),
        keep_original: false,
        ..ReadOptions::default()
    };
    let start = Instant::now();
    let mut stats = ReadStats::default();
    for _ in 0..rounds {
        for file in files {
            let mut sink = Count(0);
            let (_, s) = read_path(file, &options, &mut sink).unwrap();
            stats.add(&s);
        }
    }
    (start.elapsed(), stats)
}

fn process_creation() -> Interest {
    Interest::from_rule_logsources([LogSource::new(
        Some("windows"),
        Some("process_creation"),
        None,
    )])
}

fn discovery() -> Interest {
    Interest::from_rule_logsources([
        LogSource::new(Some("windows"), Some("process_creation"), None),
        LogSource::new(Some("windows"), Some("ps_script"), None),
        LogSource::new(Some("windows"), Some("ps_module"), None),
        LogSource::new(Some("windows"), Some("ps_classic_start"), None),
    ])
}

fn nothing() -> Interest {
    Interest::from_rule_logsources([LogSource::new(Some("linux"), None, None)])
}

fn main() {
    let rounds: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(10);
    // `-- 10 process_creation` runs only the cases whose name contains the word (for
    // profiling one of them).
    let only: Option<String> = std::env::args()
        .skip(1)
        .find(|a| a.parse::<usize>().is_err() && !a.starts_with("--"));
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/evtx");
    let (files, _) = collect_inputs(&[corpus]);
    let files: Vec<PathBuf> = files
        .into_iter()
        .filter(|f| f.extension().is_some_and(|e| e == "evtx"))
        .collect();
    // Warm the page cache and the allocator.
    render_all(&files, 1);
    let cases: Vec<Case> = vec![
        ("sockhunt, every record normalised", Interest::everything),
        ("sockhunt, process_creation rules", process_creation),
        ("sockhunt, process_creation + PowerShell", discovery),
        (
            "sockhunt, rules for another product (every record skipped)",
            nothing,
        ),
    ];
    let peer = "evtx crate, every record to JSON lines";
    let run_peer = only.as_ref().is_none_or(|o| peer.contains(o.as_str()));
    // Two noisy cores: the cases take turns, three times, and each keeps its best time.
    let mut best_peer = Duration::MAX;
    let mut records = 0;
    let mut best: Vec<(Duration, ReadStats)> =
        vec![(Duration::MAX, ReadStats::default()); cases.len()];
    for _ in 0..3 {
        if run_peer {
            let (time, n) = render_all(&files, rounds);
            best_peer = best_peer.min(time);
            records = n;
        }
        for (i, (name, interest)) in cases.iter().enumerate() {
            if only.as_ref().is_some_and(|o| !name.contains(o.as_str())) {
                continue;
            }
            let (time, stats) = sockhunt(&files, rounds, interest());
            if time < best[i].0 {
                best[i] = (time, stats);
            }
        }
    }
    let secs = best_peer.as_secs_f64();
    println!(
        "{} files x {rounds} rounds, {records} records; best of 3",
        files.len()
    );
    if run_peer {
        println!("{peer}: {secs:.3} s (1.00)");
    }
    for ((name, _), (time, stats)) in cases.iter().zip(best) {
        if time == Duration::MAX {
            continue;
        }
        println!(
            "{name}: {:.3} s ({:.2}) events {} skipped {} errors {}",
            time.as_secs_f64(),
            time.as_secs_f64() / secs,
            stats.events,
            stats.skipped,
            stats.errors
        );
    }
}
