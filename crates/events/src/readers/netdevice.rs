//! Network-device logs carrying CLI commands and logins: TACACS+ accounting as tac_plus
//! writes it, Cisco ISE and ACS accounting syslog, the NX-OS accounting log, Cisco IOS and
//! NX-OS syslog (`%PARSER-5-CFGLOG_LOGGEDCMD`, `%SEC_LOGIN-...`, `%SYS-5-CONFIG_I`...)
//! and Junos `UI_*` messages.
//!
//! Lines of none of these shapes (a collector's file mixes devices and daemons) are
//! counted as skipped. See [`crate::normalise::netdevice`] for the logsources and fields.

use std::ops::ControlFlow;

use crate::error::FileError;
use crate::event::{Event, Original};
use crate::normalise::netdevice::recognise;
use crate::readers::lines::{for_each_text_line, head_lines};
use crate::readers::{Input, ReadOptions, ReadStats};
use crate::sink::EventSink;

/// Whether the first bytes look like this format: one of the first lines has a
/// recognised network-device shape.
pub fn sniff(head: &[u8]) -> bool {
    head_lines(head, 10).any(|line| recognise(&String::from_utf8_lossy(line)).is_some())
}

/// Streams the input's events into the sink.
pub fn read(
    input: &mut Input,
    options: &ReadOptions,
    sink: &mut dyn EventSink,
    stats: &mut ReadStats,
) -> Result<(), FileError> {
    let now = jiff::Timestamp::now();
    for_each_text_line(
        input,
        options,
        sink,
        stats,
        &mut |bytes, at, sink, stats| {
            let text = String::from_utf8_lossy(bytes);
            let Some(found) = recognise(&text) else {
                stats.skipped += 1;
                return ControlFlow::Continue(());
            };
            if !options.interest.wants(&found.logsource) {
                stats.skipped += 1;
                return ControlFlow::Continue(());
            }
            let (fields, time, host) = found.build(now);
            let mut event = Event::new(found.logsource.clone(), at);
            event.fields = fields;
            event.time = time;
            event.host = host;
            if options.keep_original {
                event.original = Some(Original::Text(text.into_owned()));
            }
            stats.events += 1;
            sink.event(event)
        },
    )
}
