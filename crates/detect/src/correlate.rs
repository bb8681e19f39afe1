//! Chains of discovery behaviour: one alert per chain, with its ordered evidence.
//!
//! A lone `netstat` is an administrator; `whoami`, `ipconfig /all`, `netstat -ano`,
//! `net session` and `net group "domain admins"` from one shell within minutes is an
//! intruder. Chains are written as Sigma correlation rules (`rules/correlation/`), and
//! rsigma's [`CorrelationEngine`](rsigma_eval::CorrelationEngine) decides when their
//! condition holds. On its own it repeats "condition met" on every event while the
//! condition holds (or, with `rsigma.action: reset`, each time the threshold is reached
//! anew), without the events behind it beyond a few compressed bodies and no provenance.
//! This layer turns that signal into what an analyst needs:
//!
//! - **one alert per chain instance**: the first firing for a group opens a [`Chain`];
//!   later contributing events within the window of its last step extend it
//!   ([`ChainUpdateKind::Updated`]) instead of raising another; it closes once the window
//!   passes without one. A new chain for the same group starts only after that, from
//!   events the old one does not hold, so chains of one rule never overlap.
//! - **ordered evidence**: each step names its time, the rules that fired with their
//!   ATT&CK techniques, the command line or API call, the user, and the exact record
//!   (file and record id). Steps are kept here and expire with the window.
//! - **distinct techniques**: before correlation the event is given synthetic fields
//!   ([`fields`]): `sockhunt.technique` (the technique of the rule that fired: its first
//!   `attack.tXXXX` tag, sub-techniques folded into their parent; further tags are
//!   secondary mappings and would let one command look like a burst),
//!   `sockhunt.host` and `sockhunt.session` (the best session key of the source,
//!   [`session`]). A `value_count` over `sockhunt.technique` is then plain Sigma.
//! - **what Sigma cannot say**, as custom attributes of the correlation:
//!   `sockhunt.require_techniques` ("including T1049") and `sockhunt.include_tagged`
//!   (every loaded rule with a tag joins the correlation's `rules`, user rules included;
//!   resolved before rsigma compiles it). For `temporal_ordered` chains each stage must
//!   be served by a different, later event: rsigma accepts two rule hits on one event
//!   (they share a timestamp) as an ordered pair.
//!
//! Windows and thresholds are overridable per chain or all at once ([`ChainConfig`]); the
//! override rewrites the parsed correlation before rsigma compiles it, so both layers
//! agree.
//!
//! Memory follows the windows: pending steps expire with their window, idle groups are
//! swept as event time advances, rsigma's state is evicted at the same moments, and a
//! chain keeps at most [`ChainConfig::max_steps`] steps (the rest are counted).
//! [`ChainTracker::state_size`] reports what is held.
//!
//! Streams (`watch`, the bus) call [`ChainTracker::push`], which returns the chains an
//! event opened, extended or closed ([`ChainUpdate`], `{"type":"chain","update":"new",...}`
//! in JSONL); a hunt hands each finished input to [`HuntChains`] (or calls [`chains`]),
//! which sorts the matched events of every input by time before correlating them,
//! whatever order the files came in. [`ruletests`] runs the chain rules' own tests.
//!
//! ```no_run
//! use sockhunt_detect::correlate::{ChainConfig, ChainTracker};
//! use sockhunt_detect::{Detector, RuleSet};
//! # fn events() -> Vec<sockhunt_events::Event> { Vec::new() }
//! let rules = RuleSet::builtin();
//! let detector = Detector::new(&rules);
//! let config = ChainConfig::default().with_window("15m")?;
//! let mut tracker = ChainTracker::new(&rules, &config);
//! for event in events() {
//!     for update in tracker.push(&event, &detector.detect(&event)) {
//!         println!("{}", serde_json::to_string(&update)?);
//!     }
//! }
//! for chain in tracker.finish() {
//!     println!("{}", chain.to_json());
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod chain;
mod config;
pub mod fields;
pub mod ruletests;
pub mod session;
pub mod target;
mod tracker;

pub use chain::{Chain, ChainRule, ChainStatus, ChainStep, ChainUpdate, ChainUpdateKind, StepRule};
pub use config::{parse_window, ChainConfig, ChainConfigError, ChainOverride, DEFAULT_MAX_STEPS};
pub use tracker::{
    chains, ChainError, ChainStats, ChainTracker, HuntChains, INCLUDE_TAGGED, REQUIRE_TECHNIQUES,
};
