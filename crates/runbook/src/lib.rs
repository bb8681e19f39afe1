//! Runbooks: execute (or replay) discovery procedures, see which detections fired, and
//! report detected, missed and unexpected per procedure.
//!
//! This crate knows the runbook format, Atomic Red Team's technique YAML, how to run a
//! procedure safely in a child process, how to judge a procedure's expectations against
//! the alerts seen, and how to render the resulting matrix. Which alerts were seen is the
//! caller's business: the CLI feeds it from the live sensor (`runbook run`) or from the
//! log readers (`runbook replay`).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod atomics;
pub mod exec;
pub mod expect;
pub mod model;
pub mod report;

pub use expect::{judge, Fired, Verdict};
pub use model::{load_dir_or_file, Executor, Expect, Procedure, Replay, Runbook, RunbookError};
pub use report::{Outcome, ProcedureResult, Report, ReportFormat};
