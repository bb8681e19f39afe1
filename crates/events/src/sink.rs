//! Where readers hand their events.

use std::ops::ControlFlow;

use crate::error::RecordError;
use crate::event::Event;

/// Receives a reader's events and record errors as they are produced.
///
/// Each input file gets its own sink (readers run in parallel across files), so a sink
/// needs no locking. Returning [`ControlFlow::Break`] stops the reader early (for
/// example after Ctrl-C).
pub trait EventSink {
    /// One normalised event.
    fn event(&mut self, event: Event) -> ControlFlow<()>;
    /// One record that could not be read; the reader goes on with the next.
    fn record_error(&mut self, error: RecordError);
}

/// Keeps everything: for tests and small inputs.
#[derive(Debug, Default)]
pub struct CollectSink {
    /// Events in the order read.
    pub events: Vec<Event>,
    /// Record errors in the order met.
    pub errors: Vec<RecordError>,
}

impl EventSink for CollectSink {
    fn event(&mut self, event: Event) -> ControlFlow<()> {
        self.events.push(event);
        ControlFlow::Continue(())
    }

    fn record_error(&mut self, error: RecordError) {
        self.errors.push(error);
    }
}
