//! The live Linux sensor of sockhunt.
//!
//! BPF programs (C, CO-RE, in `bpf/`) on BTF tracepoints see every exec with its argv,
//! every open whose returned descriptor is a procfs network table or a session database,
//! every `NETLINK_SOCK_DIAG` socket and request, and every fork and exit. This crate loads
//! the committed object with aya, drains its ring buffer, keeps a process table and turns
//! the records into normalised [`sockhunt_events::Event`]s for the same detection as
//! `sockhunt hunt`.
//!
//! Layers, each usable alone: [`Sensor`] (load, attach, drain raw records),
//! [`Pipeline`] (raw records to events, with the [`ProcTable`]), [`Watcher`] (both, with
//! drop reporting and a final [`Summary`]).
#![deny(missing_docs)]

mod error;
pub mod normalise;
mod pipeline;
mod proctable;
pub mod raw;
mod sensor;
mod watcher;

pub use error::SensorError;
pub use pipeline::{Pipeline, PipelineStats};
pub use proctable::{ProcInfo, ProcTable};
pub use raw::RawEvent;
pub use sensor::{KernelDrops, Sensor, SensorConfig};
pub use watcher::{Item, Summary, WatchOptions, Watcher};
