//! Shared by the chain tests: the pack, a detector, and reading inputs into hits.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use sockhunt_detect::correlate::{chains, Chain, ChainConfig, ChainTracker};
use sockhunt_detect::{Detector, Hit, RuleSet};
use sockhunt_events::{read_path, CollectSink, Event, ReadOptions};

pub(crate) fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/chains")
        .join(name)
}

pub(crate) fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/evtx")
}

/// The built-in pack; while it has no rule tagged attack.t1049, the chain tests' stand-in
/// joins it (through the chains' `sockhunt.include_tagged`).
pub(crate) fn rules() -> RuleSet {
    let mut rules = RuleSet::builtin();
    let has_t1049 = rules.rules().iter().any(|r| {
        r.meta
            .tags
            .iter()
            .any(|t| t.eq_ignore_ascii_case("attack.t1049"))
    });
    if !has_t1049 {
        rules.add_path(&fixture("t1049_stand_in.yml"));
    }
    assert!(rules.errors().is_empty(), "{:?}", rules.errors());
    rules
}

pub(crate) struct Setup {
    pub(crate) rules: RuleSet,
    pub(crate) detector: Detector,
}

impl Setup {
    pub(crate) fn new() -> Setup {
        let rules = rules();
        let detector = Detector::new(&rules);
        Setup { rules, detector }
    }

    pub(crate) fn tracker(&self, config: &ChainConfig) -> ChainTracker {
        let tracker = ChainTracker::new(&self.rules, config);
        assert!(tracker.errors().is_empty(), "{:?}", tracker.errors());
        tracker
    }

    /// Every event of the inputs that some rule fired on, in the order read.
    pub(crate) fn hits(&self, paths: &[PathBuf]) -> Vec<Hit> {
        let options = ReadOptions {
            interest: Arc::new(self.detector.interest()),
            ..ReadOptions::default()
        };
        let mut hits = Vec::new();
        for path in paths {
            let mut sink = CollectSink::default();
            read_path(path, &options, &mut sink)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert!(sink.errors.is_empty(), "{:?}", sink.errors);
            hits.extend(sink.events.into_iter().filter_map(|e| self.hit(e)));
        }
        hits
    }

    pub(crate) fn hit(&self, event: Event) -> Option<Hit> {
        let detections = self.detector.detect(&event);
        (!detections.is_empty()).then(|| Hit {
            event: Arc::new(event),
            detections,
        })
    }

    pub(crate) fn chains(&self, paths: &[PathBuf], config: &ChainConfig) -> Vec<Chain> {
        let hits = self.hits(paths);
        let mut tracker = self.tracker(config);
        chains(&mut tracker, &hits)
    }
}

/// The command lines of a chain's steps, in order.
pub(crate) fn whats(chain: &Chain) -> Vec<String> {
    chain
        .steps
        .iter()
        .map(|s| s.what.clone().unwrap_or_default())
        .collect()
}

/// No two chains of one rule and group overlap in time, and no record is in two chains
/// of one rule.
pub(crate) fn assert_no_overlap(chains: &[Chain]) {
    for (i, a) in chains.iter().enumerate() {
        for b in &chains[i + 1..] {
            if a.rule.key() != b.rule.key() {
                continue;
            }
            if a.group == b.group {
                assert!(
                    a.last < b.first || b.last < a.first,
                    "overlapping chains {} and {}",
                    a.id,
                    b.id
                );
            }
            for s in &a.steps {
                assert!(
                    !b.steps
                        .iter()
                        .any(|t| t.source == s.source && t.locator == s.locator),
                    "record {}:{} in chains {} and {}",
                    s.source,
                    s.locator,
                    a.id,
                    b.id
                );
            }
        }
    }
}
