//! Sysmon for Linux: syslog lines carrying the Sysmon event as XML
//! (`... sysmon: <Event><System><Provider Name="Linux-Sysmon" .../>...</Event>`).
//!
//! Other lines of the same syslog file (it is usually `/var/log/syslog`) are counted as
//! skipped, not as errors. The EventID is read before the XML is parsed, so events no
//! rule can match cost a substring search. See [`crate::normalise::linux`] for the
//! mapping.
//!
//! rsyslog (with its default `$EscapeControlCharactersOnReceive on`) writes the control
//! characters of a message as `#` and three octal digits: a command line's newline
//! becomes `#012`, a tab `#011`. Those escapes (`#000`-`#037` and `#177`, the only ones
//! that setting produces) are decoded in the XML before it is parsed, so
//! `sh -c "netstat#012who -a"` reads as the two-line command it was. A literal `#012`
//! typed in a command line cannot be told apart from the escape and is decoded too.

use std::borrow::Cow;
use std::ops::ControlFlow;

use quick_xml::events::Event as Xml;
use quick_xml::Reader;

use crate::error::FileError;
use crate::event::{Event, Fields, Original, Provenance, Value};
use crate::normalise::cloud::parse_time;
use crate::normalise::linux::sysmon_linux_logsource;
use crate::readers::lines::{contains, for_each_text_line, report};
use crate::readers::{Input, ReadOptions, ReadStats};
use crate::sink::EventSink;

const PROVIDER: &[u8] = b"Linux-Sysmon";

/// Whether the first bytes look like this format: a Sysmon for Linux XML event.
pub fn sniff(head: &[u8]) -> bool {
    contains(head, b"<Event") && contains(head, PROVIDER)
}

/// Streams the input's events into the sink.
pub fn read(
    input: &mut Input,
    options: &ReadOptions,
    sink: &mut dyn EventSink,
    stats: &mut ReadStats,
) -> Result<(), FileError> {
    for_each_text_line(
        input,
        options,
        sink,
        stats,
        &mut |bytes, at, sink, stats| {
            let Some(start) = memchr::memmem::find(bytes, b"<Event") else {
                stats.skipped += 1;
                return ControlFlow::Continue(());
            };
            let text = String::from_utf8_lossy(bytes);
            let Some(xml) = text.get(start..) else {
                stats.skipped += 1;
                return ControlFlow::Continue(());
            };
            let xml = decode_rsyslog_escapes(xml);
            match parse_event(&text[..start], &xml, at.clone(), options) {
                Ok(Some(event)) => {
                    stats.events += 1;
                    sink.event(event)
                }
                Ok(None) => {
                    stats.skipped += 1;
                    ControlFlow::Continue(())
                }
                Err(message) => {
                    report(sink, stats, at, message);
                    ControlFlow::Continue(())
                }
            }
        },
    )
}

/// Decodes rsyslog's control-character escapes (`#` and three octal digits, `#000` to
/// `#037` and `#177`); text without them is returned as it is.
fn decode_rsyslog_escapes(text: &str) -> Cow<'_, str> {
    fn escape_at(bytes: &[u8], at: usize) -> Option<u8> {
        let digits = bytes.get(at + 1..at + 4)?;
        let value = match digits {
            [b'0', hi @ b'0'..=b'3', lo @ b'0'..=b'7'] => (hi - b'0') * 8 + (lo - b'0'),
            b"177" => 0x7f,
            _ => return None,
        };
        (bytes[at] == b'#').then_some(value)
    }
    let bytes = text.as_bytes();
    let Some(first) = memchr::memchr_iter(b'#', bytes).find(|&at| escape_at(bytes, at).is_some())
    else {
        return Cow::Borrowed(text);
    };
    let mut out = String::with_capacity(text.len());
    out.push_str(&text[..first]);
    let mut at = first;
    while at < bytes.len() {
        if let Some(value) = escape_at(bytes, at) {
            out.push(char::from(value));
            at += 4;
            continue;
        }
        // Copy up to the next `#`: escapes are ASCII, so this never splits a character.
        let next = memchr::memchr(b'#', &bytes[at + 1..]).map_or(bytes.len(), |n| at + 1 + n);
        out.push_str(&text[at..next]);
        at = next;
    }
    Cow::Owned(out)
}

/// The EventID, found without parsing the XML.
fn quick_event_id(xml: &str) -> Option<i64> {
    let at = xml.find("<EventID")?;
    let rest = &xml[at..];
    let open_end = rest.find('>')?;
    let rest = &rest[open_end + 1..];
    let close = rest.find('<')?;
    rest[..close].trim().parse().ok()
}

fn parse_event(
    prefix: &str,
    xml: &str,
    provenance: Provenance,
    options: &ReadOptions,
) -> Result<Option<Event>, String> {
    let event_id = quick_event_id(xml).ok_or("Sysmon event without a readable EventID")?;
    let logsource = sysmon_linux_logsource(event_id);
    if !options.interest.wants(&logsource) {
        return Ok(None);
    }
    let mut event = Event::new(logsource, provenance);
    let mut fields = Fields::with_capacity(24);
    fields.set("EventID", Value::Int(event_id));
    let mut reader = Reader::from_str(xml);
    let mut path: Vec<String> = Vec::new();
    let mut data_name: Option<String> = None;
    let mut text = String::new();
    let mut computer = None;
    loop {
        let ev = reader
            .read_event()
            .map_err(|e| format!("invalid Sysmon XML: {e}"))?;
        match ev {
            Xml::Start(e) => {
                let tag = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                text.clear();
                if tag == "Data" {
                    data_name = attribute(&e, b"Name")?;
                }
                path.push(tag);
            }
            Xml::Empty(e) => {
                let tag = e.name();
                match tag.as_ref() {
                    b"TimeCreated" => {
                        if let Some(t) = attribute(&e, b"SystemTime")? {
                            event.time = parse_time(&t);
                        }
                    }
                    b"Data" => {
                        // An empty value: the field is absent.
                    }
                    _ => {}
                }
            }
            Xml::Text(t) => {
                let value = t
                    .unescape()
                    .map_err(|e| format!("invalid Sysmon XML text: {e}"))?;
                text.push_str(&value);
            }
            Xml::CData(t) => text.push_str(&String::from_utf8_lossy(&t)),
            Xml::End(e) => {
                let tag = e.name();
                match tag.as_ref() {
                    b"Data" => {
                        if let Some(name) = data_name.take() {
                            fields.set_nonempty(name, &text);
                        }
                    }
                    b"Computer" => computer = Some(text.clone()),
                    b"Channel" => fields.set_nonempty("Channel", &text),
                    b"EventRecordID" => {
                        if let Ok(n) = text.trim().parse::<i64>() {
                            fields.set("EventRecordID", n);
                        }
                    }
                    b"Event" => break,
                    _ => {}
                }
                text.clear();
                path.pop();
            }
            Xml::Eof => return Err("Sysmon XML event ends before </Event>".to_owned()),
            _ => {}
        }
    }
    if event.time.is_none() {
        event.time = fields.get_str("UtcTime").and_then(|t| parse_time(&t));
    }
    event.host = computer
        .filter(|c| !c.is_empty())
        .or_else(|| syslog_host(prefix));
    event.fields = fields;
    if options.keep_original {
        event.original = Some(Original::Text(format!("{prefix}{xml}")));
    }
    Ok(Some(event))
}

fn attribute(e: &quick_xml::events::BytesStart<'_>, name: &[u8]) -> Result<Option<String>, String> {
    for attr in e.attributes() {
        let attr = attr.map_err(|e| format!("invalid Sysmon XML attribute: {e}"))?;
        if attr.key.as_ref() == name {
            let value = attr
                .unescape_value()
                .map_err(|e| format!("invalid Sysmon XML attribute: {e}"))?;
            return Ok(Some(value.into_owned()));
        }
    }
    Ok(None)
}

/// The host of a syslog line `MMM DD HH:MM:SS host tag: ...` (or an RFC 5424/3339 one,
/// `TIMESTAMP host tag: ...`).
fn syslog_host(prefix: &str) -> Option<String> {
    let words: Vec<&str> = prefix.split_ascii_whitespace().collect();
    let host = if words
        .first()
        .is_some_and(|w| w.len() == 3 && w.chars().all(char::is_alphabetic))
    {
        words.get(3)
    } else {
        words.get(1)
    };
    host.filter(|h| !h.ends_with(':')).map(|h| (*h).to_owned())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn rsyslog_escapes() {
        assert_eq!(
            decode_rsyslog_escapes("sh -c \"netstat#012who -a#012\"#011x"),
            "sh -c \"netstat\nwho -a\n\"\tx"
        );
        assert!(matches!(
            decode_rsyslog_escapes("issue #1234 é #08 #"),
            Cow::Borrowed(_)
        ));
        assert_eq!(decode_rsyslog_escapes("é#177#0"), "é\u{7f}#0");
    }

    #[test]
    fn helpers() {
        assert_eq!(
            quick_event_id("<Event><System><EventID>11</EventID>"),
            Some(11)
        );
        assert_eq!(
            syslog_host("Oct  5 12:34:56 web1 sysmon: ").as_deref(),
            Some("web1")
        );
        assert_eq!(
            syslog_host("2024-01-01T00:00:00Z web2 sysmon: ").as_deref(),
            Some("web2")
        );
    }
}
