//! The streaming API: one `new` per chain, `updated` while it grows, `closed` once; and
//! state that expires with the windows while a million events stream through.
#![allow(clippy::unwrap_used)]

mod chains_support;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chains_support::Setup;
use jiff::Timestamp;
use sockhunt_detect::correlate::{ChainConfig, ChainUpdateKind};
use sockhunt_detect::{Detection, RuleMeta};
use sockhunt_events::{Event, Locator, LogSource, Provenance};

/// Detections of pack rules chosen by title fragment, without running the detector: the
/// tracker is what is under test.
fn detections(setup: &Setup) -> Vec<Vec<Detection>> {
    let pick = |technique: &str| -> Arc<RuleMeta> {
        setup
            .rules
            .rules()
            .iter()
            .map(|r| r.meta.clone())
            .find(|m| {
                m.logsource.category.as_deref() == Some("process_creation")
                    && m.attack_techniques().first().map(String::as_str) == Some(technique)
            })
            .unwrap_or_else(|| panic!("no process_creation rule for {technique}"))
    };
    ["T1033", "T1016", "T1049", "T1057", "T1082"]
        .into_iter()
        .map(|t| {
            vec![Detection {
                rule: pick(t),
                matched: Vec::new(),
            }]
        })
        .collect()
}

fn event() -> Event {
    let mut e = Event::new(
        LogSource::new(Some("windows"), Some("process_creation"), Some("sysmon")),
        Provenance {
            source: Arc::from("stream"),
            locator: Locator::Record(0),
        },
    );
    e.host = Some("ws01".to_owned());
    e.fields.set("CommandLine", "x");
    e.fields.set("LogonId", "0x1");
    e
}

#[test]
fn one_new_then_updates_then_one_close_per_chain() {
    let setup = Setup::new();
    let dets = detections(&setup);
    let mut tracker = setup.tracker(&ChainConfig::default());
    let mut e = event();
    let t0 = Timestamp::from_second(1_700_000_000).unwrap();
    let mut kinds = Vec::new();
    // Five discovery steps a minute apart, then silence, then the same again an hour later.
    for (round, start) in [(0, 0i64), (1, 3600)] {
        for (i, d) in dets.iter().enumerate() {
            e.time = Some(t0 + jiff::SignedDuration::from_secs(start + 60 * i as i64));
            e.provenance.locator = Locator::Record((round * 10 + i) as u64);
            for u in tracker.push(&e, d) {
                kinds.push((u.kind, u.chain.id, u.chain.steps.len()));
            }
        }
    }
    // A tick past the second chain's window closes it without another event.
    let later = t0 + jiff::SignedDuration::from_secs(3600 + 3600);
    for u in tracker.tick(later) {
        kinds.push((u.kind, u.chain.id, u.chain.steps.len()));
    }
    let finals = tracker.finish();
    use ChainUpdateKind::*;
    assert_eq!(
        kinds,
        [
            // whoami, ipconfig: two techniques, nothing yet; netstat makes three.
            (New, 1, 3),
            (Updated, 1, 4),
            (Updated, 1, 5),
            // The next event, an hour later, closes the first chain before anything else.
            (Closed, 1, 5),
            (New, 2, 3),
            (Updated, 2, 4),
            (Updated, 2, 5),
            (Closed, 2, 5),
        ]
    );
    assert!(finals.is_empty());
    let json = serde_json::to_value(ChainUpdateKind::Updated).unwrap();
    assert_eq!(json, "updated");
}

#[test]
fn a_million_events_keep_state_bounded() {
    const EVENTS: u64 = 1_000_000;
    let setup = Setup::new();
    let dets = detections(&setup);
    let none: Vec<Detection> = Vec::new();
    let mut tracker = setup.tracker(&ChainConfig::default());
    let mut e = event();
    let t0 = 1_700_000_000i64;
    let mut opened: HashSet<u64> = HashSet::new();
    let mut closed: HashSet<u64> = HashSet::new();
    let mut max_state = 0usize;
    let mut state_by_hour: HashMap<i64, usize> = HashMap::new();
    for i in 0..EVENTS {
        // Twenty events a second: about fourteen hours of one busy host group.
        let secs = t0 + (i / 20) as i64;
        let hour = (secs - t0) / 3600;
        // One event in ten is discovery; each hour brings 500 new sessions, so old ones
        // must expire for the state to stay flat.
        let discovery = i % 10 == 0;
        let session = hour * 500 + ((i / 10) % 500) as i64;
        e.time = Some(Timestamp::from_second(secs).unwrap());
        e.provenance.locator = Locator::Record(i);
        e.fields.set("LogonId", format!("{:#x}", 0x1000 + session));
        let d = if discovery {
            &dets[((i / 10 / 500) % 5) as usize]
        } else {
            &none
        };
        for u in tracker.push(&e, d) {
            match u.kind {
                ChainUpdateKind::New => {
                    assert!(opened.insert(u.chain.id), "two `new` for {}", u.chain.id)
                }
                ChainUpdateKind::Updated => {
                    assert!(opened.contains(&u.chain.id) && !closed.contains(&u.chain.id))
                }
                ChainUpdateKind::Closed => {
                    assert!(closed.insert(u.chain.id), "two `closed` for {}", u.chain.id)
                }
            }
        }
        if i % 100 != 0 {
            continue;
        }
        let size = tracker.state_size();
        max_state = max_state.max(size);
        let slot = state_by_hour.entry(hour).or_default();
        *slot = (*slot).max(size);
    }
    for c in tracker.finish() {
        assert!(closed.insert(c.id));
    }
    assert!(!opened.is_empty());
    assert_eq!(opened, closed, "every chain opened is closed exactly once");
    let stats = tracker.stats();
    assert_eq!(stats.events, EVENTS / 10);
    // What a ten-minute window can hold: 600 s x 2 discovery events a second, plus the
    // steps of the chains live in it, plus rsigma's window entries; far below the stream.
    let hours = state_by_hour.len() as i64;
    let first = state_by_hour[&1];
    let last = state_by_hour[&(hours - 2)];
    eprintln!(
        "max state {max_state}, hour 1 {first}, hour {} {last}, {stats:?}",
        hours - 2
    );
    assert!(max_state < 20_000, "state grew to {max_state}");
    assert!(
        last <= first * 2,
        "state grows with time: {first} then {last}"
    );
}

#[test]
fn late_events_are_counted_and_still_join_their_chain() {
    let setup = Setup::new();
    let dets = detections(&setup);
    let mut tracker = setup.tracker(&ChainConfig::default());
    let mut e = event();
    let t0 = Timestamp::from_second(1_700_000_000).unwrap();
    let mut news = 0;
    // The five steps a minute apart, pushed newest first.
    for (i, d) in dets.iter().enumerate().rev() {
        e.time = Some(t0 + jiff::SignedDuration::from_secs(60 * i as i64));
        e.provenance.locator = Locator::Record(i as u64);
        news += tracker
            .push(&e, d)
            .iter()
            .filter(|u| u.kind == ChainUpdateKind::New)
            .count();
    }
    let chains = tracker.finish();
    assert_eq!(news, 1);
    assert_eq!(chains.len(), 1);
    assert_eq!(chains[0].steps.len(), 5);
    assert!(chains[0].steps.windows(2).all(|w| w[0].time <= w[1].time));
    assert_eq!(tracker.stats().late, 4);
}
