//! Compares ways of running rsigma over the same events, in one run, and prints the
//! ratios: one engine per logsource group (what `Detector` does) with and without the
//! bloom pre-filter, against one engine for every rule routed with
//! `evaluate_with_logsource`.
//!
//! ```text
//! cargo run --release -p sockhunt-detect --example engine_modes -- \
//!     ../shared/corpus/evtx ../shared/corpus/sigma/rules/windows/process_creation
//! ```
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use sockhunt_detect::{Detector, RuleSet};
use sockhunt_events::{read_path, CollectSink, Event, ReadOptions};

fn main() {
    let mut args = std::env::args().skip(1);
    let logs = PathBuf::from(args.next().expect("usage: engine_modes LOGS RULES"));
    let rules_path = PathBuf::from(args.next().expect("usage: engine_modes LOGS RULES"));

    let started = Instant::now();
    let mut rules = RuleSet::builtin();
    rules.add_path(&rules_path);
    println!(
        "{} rules loaded ({} errors) in {:.2} s",
        rules.rules().len(),
        rules.errors().len(),
        started.elapsed().as_secs_f64()
    );
    let detector = Detector::new(&rules);

    // Read the events once, with the pre-filter the detector asks for.
    let options = ReadOptions {
        interest: Arc::new(detector.interest()),
        keep_original: false,
        ..ReadOptions::default()
    };
    let (files, _) = sockhunt_events::readers::collect_inputs(&[logs]);
    let mut events: Vec<Event> = Vec::new();
    for file in files {
        let mut sink = CollectSink::default();
        if read_path(&file, &options, &mut sink).is_ok() {
            events.append(&mut sink.events);
        }
    }
    println!("{} events to match", events.len());

    let time = |name: &str, f: &dyn Fn(&Event) -> usize| {
        let started = Instant::now();
        let mut hits = 0;
        for _ in 0..5 {
            hits = events.iter().map(f).sum::<usize>();
        }
        let secs = started.elapsed().as_secs_f64() / 5.0;
        println!("{name:55} {secs:8.4} s  {hits} detections");
        secs
    };

    let grouped = time("grouped engines (Detector)", &|e| detector.detect(e).len());
    let mut bloom = Detector::new(&rules);
    bloom.set_bloom_prefilter(true);
    let with_bloom = time("grouped engines + bloom pre-filter", &|e| {
        bloom.detect(e).len()
    });

    let mut single = rsigma_eval::Engine::new();
    single.extend_compiled_rules(rules.rules().iter().map(|r| r.compiled.clone()));
    let to_ls = |e: &Event| rsigma_parser::LogSource {
        product: e.logsource.product.as_ref().map(|s| s.to_string()),
        category: e.logsource.category.as_ref().map(|s| s.to_string()),
        service: e.logsource.service.as_ref().map(|s| s.to_string()),
        definition: None,
        custom: Default::default(),
    };
    let one = time("one engine, evaluate_with_logsource", &|e| {
        single.evaluate_with_logsource(e, &to_ls(e)).len()
    });
    println!(
        "ratios to grouped: bloom {:.2}, one engine {:.2}",
        with_bloom / grouped,
        one / grouped
    );
}
