//! Sigma detection for sockhunt: loading rules, the built-in pack, matching events.
//!
//! # API in one screen
//!
//! ```no_run
//! use sockhunt_detect::{Detector, RuleSet};
//! # fn events() -> Vec<sockhunt_events::Event> { Vec::new() }
//!
//! // 1. Load rules: the embedded pack, then user files or directories. Loading never
//! //    fails as a whole: every file or rule that cannot load is in `errors()`, with its
//! //    file (and line:column when known) and a short `reason`.
//! let mut rules = RuleSet::builtin();
//! rules.add_path("my-rules/".as_ref());
//! for error in rules.errors() {
//!     eprintln!("{error}");
//! }
//!
//! // 2. Compile them. A `Detector` is `Send + Sync`: share one across reader threads.
//! let detector = Detector::new(&rules);
//!
//! // 3. Tell the readers what can match, so they skip the rest before building fields:
//! //    `ReadOptions { interest: Arc::new(detector.interest()), .. }`.
//!
//! // 4. Match.
//! for event in events() {
//!     for detection in detector.detect(&event) {
//!         println!("{} fired ({:?})", detection.rule.title, detection.rule.level);
//!     }
//! }
//! ```
//!
//! - [`loader`]: [`RuleSet`], [`RuleMeta`] (id, title, level, status, tags, logsource,
//!   source file), [`RuleError`], [`Level`].
//! - [`pack`]: the embedded `rules/` directory (rules and their `*.tests.yml`).
//! - [`engine`]: [`Detector`] and [`Detection`].
//! - [`alert`]: [`Alert`], the serialised form of a detection with its event.
//! - [`hunt`]: reading many inputs in parallel through a detector, with filters, counts
//!   per rule and per source, and a stop flag for Ctrl-C.
//! - [`yaml`]: the one YAML loader sockhunt uses for its own files.
//! - [`correlate`], [`coverage`], [`ruletest`]: chains, ATT&CK coverage and rule tests,
//!   built on the above.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod alert;
pub mod correlate;
pub mod coverage;
pub mod engine;
pub mod hunt;
pub mod loader;
pub mod pack;
mod prefilter;
pub mod ruletest;
pub mod yaml;

pub use alert::Alert;
pub use engine::{Detection, Detector, MatchedField};
pub use hunt::{hunt, FileOutcome, Hit, HuntInput, HuntOptions, HuntSummary};
pub use loader::{
    Level, LoadedCorrelation, LoadedFilter, LoadedRule, RuleError, RuleKind, RuleMeta, RuleSet,
};
