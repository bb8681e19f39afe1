// Shared by the reader targets: feeds bytes to one reader, with a small record bound
// chosen by the first byte so the overlong-record path is exercised too.

use std::ops::ControlFlow;

use sockhunt_events::{read_stream, Event, EventSink, Format, ReadOptions, RecordError};

struct Checked {
    events: u64,
    errors: u64,
}

impl EventSink for Checked {
    fn event(&mut self, event: Event) -> ControlFlow<()> {
        // Every event must serialize (what `--record` and JSON output do) and read back.
        let _ = serde_json::to_string(&event).expect("events serialize");
        self.events += 1;
        ControlFlow::Continue(())
    }
    fn record_error(&mut self, error: RecordError) {
        let _ = error.to_string();
        self.errors += 1;
    }
}

pub fn run(format: Format, data: &[u8]) {
    let (bound, body) = match data.split_first() {
        Some((b, rest)) if *b < 64 => (64 + usize::from(*b) * 8, rest),
        _ => (1 << 20, data),
    };
    let options = ReadOptions {
        format: Some(format),
        max_record_bytes: bound,
        ..ReadOptions::default()
    };
    let mut sink = Checked {
        events: 0,
        errors: 0,
    };
    if let Ok((_, stats)) = read_stream(
        "fuzz",
        Box::new(std::io::Cursor::new(body.to_vec())),
        &options,
        &mut sink,
    ) {
        assert_eq!(
            stats.events, sink.events,
            "every counted event reached the sink"
        );
        assert_eq!(
            stats.errors, sink.errors,
            "every counted error reached the sink"
        );
    }
    // Sniffing must not panic either.
    let _ = Format::sniff(data);
}
