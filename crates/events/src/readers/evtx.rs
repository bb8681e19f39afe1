//! Windows binary event logs (`.evtx`).
//!
//! Rendering a record is most of the cost of reading one, and most records of a log
//! are of no interest to the loaded rules. So before rendering, the reader takes the
//! record's substitution values (the typed values its template is filled with, read
//! without building anything) and finds its EventID, channel and provider among them:
//! where they sit is read once per template and chunk from the template definition.
//! A record whose logsource no rule wants is counted as skipped and never rendered.
//! A record whose identifiers cannot be found that way is rendered and decided on
//! afterwards, so the shortcut never loses one.
//!
//! Wanted records are rendered to JSON by the crate's compiled-template path and
//! normalised like `evtx_dump` output ([`crate::normalise::windows::from_evtx_json`]).
//!
//! A chunk or record the parser rejects is reported with the file and the record id or
//! chunk number; the rest of the file goes on.

use std::collections::HashMap;
use std::io::{Read, Seek};
use std::sync::Arc;

use evtx::binxml::value_variant::BinXmlValue;
use evtx::err::EvtxError;
use evtx::{EvtxParser, EvtxRecord, ParserSettings};

use crate::error::{FileError, RecordError};
use crate::event::{Event, Locator, Provenance};
use crate::interest::Interest;
use crate::normalise::windows;
use crate::readers::{Input, ReadOptions, ReadStats};
use crate::sink::EventSink;

/// The EVTX file header's magic.
const MAGIC: &[u8] = b"ElfFile\0";

/// Whether the first bytes look like this format.
pub fn sniff(head: &[u8]) -> bool {
    head.starts_with(MAGIC)
}

/// Streams the input's events into the sink.
pub fn read(
    input: &mut Input,
    options: &ReadOptions,
    sink: &mut dyn EventSink,
    stats: &mut ReadStats,
) -> Result<(), FileError> {
    let path = input.path_buf();
    let settings = ParserSettings::default()
        .num_threads(options.evtx_threads.max(1))
        .indent(false)
        .separate_json_attributes(false);
    let open_err = |e: EvtxError| FileError::new(&path, format!("not a readable EVTX file: {}", chain(&e)));
    match (&input.path, input.compressed) {
        (Some(file), false) => {
            let parser = EvtxParser::from_path(file).map_err(open_err)?;
            read_parser(parser.with_configuration(settings), input, options, sink, stats)
        }
        _ => {
            let bytes = input.read_all()?;
            let parser = EvtxParser::from_buffer(bytes).map_err(open_err)?;
            read_parser(parser.with_configuration(settings), input, options, sink, stats)
        }
    }
}

/// What became of one record on a parser thread.
enum Outcome {
    Event(Box<Event>),
    Skipped,
    Error(RecordError),
}

/// Where a template puts the identifiers the pre-filter needs.
#[derive(Debug, Clone, Default)]
struct Slots {
    event_id: Option<Slot>,
    channel: Option<Slot>,
    provider: Option<Slot>,
}

#[derive(Debug, Clone)]
enum Slot {
    /// The value of this substitution.
    Sub(u16),
    /// Text written in the template itself.
    Literal(String),
}

/// What a parser thread needs to turn a record into an event.
struct Context {
    interest: Arc<Interest>,
    keep_original: bool,
    source: Arc<str>,
}

fn read_parser<T: Read + Seek>(
    mut parser: EvtxParser<T>,
    input: &Input,
    options: &ReadOptions,
    sink: &mut dyn EventSink,
    stats: &mut ReadStats,
) -> Result<(), FileError> {
    let context = Arc::new(Context {
        interest: options.interest.clone(),
        keep_original: options.keep_original,
        source: input.name.clone(),
    });
    let worker_context = context.clone();
    // The closure is cloned for every chunk, and template offsets are per chunk: the
    // cache it carries starts empty for each one.
    let mut slots: HashMap<u32, Option<Slots>> = HashMap::new();
    let records = parser.serialized_records(move |record| {
        Ok(process(&worker_context, &mut slots, record))
    });
    for item in records {
        stats.records += 1;
        let outcome = match item {
            Ok(outcome) => outcome,
            // A chunk that could not be read or parsed.
            Err(e) => Outcome::Error(error_of(&context.source, &e)),
        };
        match outcome {
            Outcome::Event(event) => {
                stats.events += 1;
                if sink.event(*event).is_break() {
                    return Ok(());
                }
            }
            Outcome::Skipped => stats.skipped += 1,
            Outcome::Error(error) => {
                stats.errors += 1;
                sink.record_error(error);
            }
        }
    }
    Ok(())
}

fn process(
    context: &Context,
    slots: &mut HashMap<u32, Option<Slots>>,
    record: Result<EvtxRecord<'_>, EvtxError>,
) -> Outcome {
    let record = match record {
        Ok(record) => record,
        Err(e) => return Outcome::Error(error_of(&context.source, &e)),
    };
    if !context.interest.is_everything() && prefilter(&record, slots, &context.interest) == Some(false) {
        return Outcome::Skipped;
    }
    let header_id = record.event_record_id;
    let header_time = record.timestamp;
    let rendered = match record.into_json_bytes() {
        Ok(r) => r,
        Err(e) => return Outcome::Error(error_of(&context.source, &e)),
    };
    let doc: serde_json::Value = match serde_json::from_slice(&rendered.data) {
        Ok(doc) => doc,
        Err(e) => {
            return Outcome::Error(RecordError {
                at: Provenance {
                    source: context.source.clone(),
                    locator: Locator::Record(header_id),
                },
                message: format!("the record rendered to invalid JSON: {e}"),
            })
        }
    };
    // The id Event Viewer and every other tool show is the record's own
    // `EventRecordID`; the record header's differs in logs exported from a filter.
    let record_id = doc
        .pointer("/Event/System/EventRecordID")
        .and_then(|id| match id {
            serde_json::Value::Number(n) => n.as_u64(),
            serde_json::Value::String(s) => s.parse().ok(),
            _ => None,
        })
        .unwrap_or(header_id);
    let provenance = Provenance {
        source: context.source.clone(),
        locator: Locator::Record(record_id),
    };
    match windows::from_evtx_json(
        doc,
        &context.interest,
        context.keep_original,
        provenance,
        Some(header_time),
    ) {
        Some(event) => Outcome::Event(Box::new(event)),
        None => Outcome::Skipped,
    }
}

/// Whether some rule wants the record, from its substitution values alone; `None` when
/// they do not tell (the record is then rendered and decided on).
fn prefilter(
    record: &EvtxRecord<'_>,
    cache: &mut HashMap<u32, Option<Slots>>,
    interest: &Interest,
) -> Option<bool> {
    let instances = record.template_instances().ok()?;
    let Some(first) = instances.first() else {
        // A record written without templates (some export tools do): its values are
        // in its own token stream.
        let start = usize::try_from(record.binxml_offset).ok()?;
        let end = start.checked_add(record.binxml_size as usize)?;
        let slots = system_slots(record.chunk.data, start, end, false)?;
        return decide(&slots, &[], interest);
    };
    let slots = cache
        .entry(first.template_def_offset)
        .or_insert_with(|| template_slots(record.chunk.data, first.template_def_offset))
        .as_ref()?;
    decide(slots, &first.values, interest)
}

fn decide(slots: &Slots, values: &[BinXmlValue<'_>], interest: &Interest) -> Option<bool> {
    let event_id = slot_text(slots.event_id.as_ref()?, values)?.trim().parse().ok()?;
    let channel = match &slots.channel {
        Some(slot) => slot_text(slot, values)?,
        None => String::new(),
    };
    let provider = match &slots.provider {
        Some(slot) => slot_text(slot, values)?,
        None => String::new(),
    };
    Some(interest.wants(&windows::logsource(&channel, &provider, Some(event_id))))
}

fn slot_text(slot: &Slot, values: &[BinXmlValue<'_>]) -> Option<String> {
    match slot {
        Slot::Literal(text) => Some(text.clone()),
        Slot::Sub(index) => match values.get(usize::from(*index))? {
            BinXmlValue::StringType(s) => s.to_string().ok(),
            BinXmlValue::AnsiStringType(s) => Some((*s).to_owned()),
            BinXmlValue::UInt16Type(n) => Some(n.to_string()),
            BinXmlValue::UInt32Type(n) => Some(n.to_string()),
            BinXmlValue::UInt8Type(n) => Some(n.to_string()),
            BinXmlValue::Int32Type(n) => Some(n.to_string()),
            BinXmlValue::UInt64Type(n) => Some(n.to_string()),
            BinXmlValue::NullType => Some(String::new()),
            _ => None,
        },
    }
}

/// Reads a template definition in the chunk and finds where `System/EventID`,
/// `System/Channel` and `System/Provider/@Name` get their values. `None` when the
/// definition holds something this walk does not follow.
fn template_slots(chunk: &[u8], offset: u32) -> Option<Slots> {
    let offset = offset as usize;
    // Header: next template (u32), GUID (16 bytes), data size (u32).
    let size = read_u32(chunk, offset + 20)? as usize;
    system_slots(chunk, offset + 24, (offset + 24).checked_add(size)?, true)
}

/// Walks the BinXML tokens of `chunk[start..end]` (a template definition, whose element
/// starts carry a dependency id, or a record written without templates) and finds
/// where the System identifiers get their values.
fn system_slots(chunk: &[u8], start: usize, end: usize, definition: bool) -> Option<Slots> {
    let mut walk = Walk {
        data: chunk,
        pos: start,
    };
    let end = end.min(chunk.len());
    let mut path: Vec<String> = Vec::new();
    let mut attribute: Option<String> = None;
    let mut slots = Slots::default();
    while walk.pos < end {
        let token = walk.u8()?;
        match token {
            0x00 => break,
            0x0f => walk.skip(3)?,
            0x01 | 0x41 => {
                if definition {
                    walk.skip(2)?; // dependency id
                }
                walk.skip(4)?; // data size
                let name = walk.name()?;
                if token == 0x41 {
                    walk.skip(4)?;
                }
                path.push(name);
                attribute = None;
            }
            0x02 => attribute = None,
            0x03 => {
                attribute = None;
                path.pop();
            }
            0x04 => {
                path.pop();
            }
            0x06 | 0x46 => attribute = Some(walk.name()?),
            0x05 | 0x45 => {
                let kind = walk.u8()?;
                let text = match kind {
                    0x01 => {
                        let chars = usize::from(walk.u16()?);
                        let bytes = walk.take(chars * 2)?;
                        let units: Vec<u16> = bytes
                            .chunks_exact(2)
                            .map(|b| u16::from_le_bytes([b[0], b[1]]))
                            .collect();
                        String::from_utf16_lossy(&units)
                    }
                    0x02 => {
                        let len = usize::from(walk.u16()?);
                        String::from_utf8_lossy(walk.take(len)?).into_owned()
                    }
                    0x04 => walk.u8()?.to_string(),
                    0x06 => walk.u16()?.to_string(),
                    0x08 => walk.u32()?.to_string(),
                    _ => return None,
                };
                place(&mut slots, &path, attribute.as_deref(), Slot::Literal(text));
            }
            0x0d | 0x0e => {
                let index = walk.u16()?;
                walk.skip(1)?;
                place(&mut slots, &path, attribute.as_deref(), Slot::Sub(index));
            }
            0x07 | 0x47 | 0x0b => {
                let chars = usize::from(walk.u16()?);
                walk.skip(chars * 2)?;
            }
            0x08 | 0x48 => walk.skip(2)?,
            0x09 | 0x49 | 0x0a => {
                walk.name()?;
            }
            _ => return None,
        }
    }
    slots.event_id.is_some().then_some(slots)
}

fn place(slots: &mut Slots, path: &[String], attribute: Option<&str>, slot: Slot) {
    let [.., parent, element] = path else {
        return;
    };
    if parent != "System" {
        return;
    }
    let target = match (element.as_str(), attribute) {
        ("EventID", None) => &mut slots.event_id,
        ("Channel", None) => &mut slots.channel,
        ("Provider", Some("Name")) => &mut slots.provider,
        _ => return,
    };
    if target.is_none() {
        *target = Some(slot);
    }
}

/// A cursor over a chunk's bytes that fails instead of reading past them.
struct Walk<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Walk<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let bytes = self.data.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(bytes)
    }
    fn skip(&mut self, n: usize) -> Option<()> {
        self.take(n).map(|_| ())
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Option<u32> {
        self.take(4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    /// A name reference: an offset into the chunk's string table, the string itself
    /// following in place the first time it is used.
    fn name(&mut self) -> Option<String> {
        let offset = self.u32()? as usize;
        if offset == self.pos {
            let chars = usize::from(read_u16(self.data, offset + 6)?);
            self.skip(6 + 2 + chars * 2 + 2)?;
        }
        let chars = usize::from(read_u16(self.data, offset + 6)?);
        let bytes = self.data.get(offset + 8..offset + 8 + chars * 2)?;
        let units: Vec<u16> = bytes
            .chunks_exact(2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
            .collect();
        Some(String::from_utf16_lossy(&units))
    }
}

fn read_u16(data: &[u8], at: usize) -> Option<u16> {
    let b = data.get(at..at + 2)?;
    Some(u16::from_le_bytes([b[0], b[1]]))
}

fn read_u32(data: &[u8], at: usize) -> Option<u32> {
    let b = data.get(at..at + 4)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// A parser error as a record error: the record id when the parser names one, the
/// chunk (in the message) otherwise.
fn error_of(source: &Arc<str>, error: &EvtxError) -> RecordError {
    let locator = match error {
        EvtxError::FailedToParseRecord { record_id, .. } => Locator::Record(*record_id),
        _ => Locator::None,
    };
    RecordError {
        at: Provenance {
            source: source.clone(),
            locator,
        },
        message: chain(error),
    }
}

/// An error with its causes, `: `-separated.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::LogSource;

    /// The identifiers read from the substitution values are the ones the rendered
    /// record shows, for (nearly) every record of the corpus: the pre-filter decides
    /// without rendering.
    #[test]
    fn prefilter_decides_from_substitutions_alone() {
        let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/corpus/evtx");
        let (files, _) = crate::readers::collect_inputs(&[corpus]);
        let interest =
            Interest::from_rule_logsources([LogSource::new(None, Some("process_creation"), None)]);
        let settings = ParserSettings::default().num_threads(1);
        let (mut decided, mut undecided, mut wrong) = (0u64, 0u64, 0u64);
        for file in files.iter().filter(|f| f.extension().is_some_and(|e| e == "evtx")) {
            let mut parser = EvtxParser::from_path(file)
                .unwrap()
                .with_configuration(settings.clone());
            for chunk in parser.chunks() {
                let Ok(mut data) = chunk else { continue };
                let Ok(mut chunk) = data.parse(Arc::new(settings.clone())) else {
                    continue;
                };
                let mut cache = HashMap::new();
                for record in chunk.iter().flatten() {
                    let decision = prefilter(&record, &mut cache, &interest);
                    let doc = record.into_json_value().unwrap().data;
                    let truth = windows::from_evtx_json(
                        doc,
                        &interest,
                        false,
                        Provenance {
                            source: Arc::from("t"),
                            locator: Locator::None,
                        },
                        None,
                    )
                    .is_some();
                    match decision {
                        Some(d) if d == truth => decided += 1,
                        Some(_) => wrong += 1,
                        None => undecided += 1,
                    }
                }
            }
        }
        assert_eq!(wrong, 0);
        assert_eq!(decided + undecided, 24_661);
        assert_eq!(undecided, 0, "{undecided} undecided of {decided}");
    }
}
