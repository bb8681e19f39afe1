//! The normalised event of sockhunt and the readers that produce it.
//!
//! Every source (log files, the live sensor, the bus) yields the same [`Event`]: a Sigma
//! `logsource`, the record's own time and host, fields under their Sigma taxonomy names,
//! and the provenance that lets an alert point back at the exact original record. Rules
//! are written once against that shape and fire on every telemetry source.
//!
//! Readers are chosen by content, not by file name (see [`readers`]). They stream: events
//! are handed to an [`EventSink`] as they are read, so memory is bounded by what the sink
//! keeps, and records that no loaded rule can match (see [`Interest`]) are skipped before
//! their fields are built.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod error;
mod event;
mod interest;
pub mod normalise;
pub mod readers;
mod sigma;
mod sink;

pub use error::{FileError, RecordError};
pub use event::{Event, FieldName, Fields, Locator, LogSource, Original, Provenance, Value};
pub use interest::Interest;
pub use readers::{read_path, read_stream, Format, ReadOptions, ReadStats};
pub use sink::{CollectSink, EventSink};
