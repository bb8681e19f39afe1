//! Windows binary event logs (`.evtx`).
//!
//! Rendering a record is most of the cost of reading one, and most records of a log
//! are of no interest to the loaded rules. So before the `evtx` crate sees a chunk, the
//! reader walks the chunk's record headers itself and reads each record's EventID,
//! channel and provider straight from its substitution values (where they sit is read
//! once per template and chunk from the template definition). Records no loaded rule
//! wants are counted as skipped, and each run of them is folded into one stub record
//! the crate passes over without building anything: the crate builds and renders only
//! the wanted records, and a chunk with none is never parsed. A record whose
//! identifiers cannot be read that way is rendered and decided on afterwards, so the
//! shortcut never loses one.
//!
//! Wanted records are rendered to JSON by the crate's compiled-template path and
//! normalised like `evtx_dump` output ([`crate::normalise::windows::from_evtx_json`]).
//! Their provenance is the record's own `EventRecordID` (what Event Viewer shows; logs
//! exported from a filter renumber the record headers).
//!
//! A chunk or record the parser rejects is reported with the file and the record id
//! (from the record header) or chunk; the rest of the file goes on.

use std::collections::HashMap;
use std::io::{Read, Seek};
use std::sync::Arc;

use evtx::err::EvtxError;
use evtx::{EvtxChunkData, EvtxParser, EvtxRecord, ParserSettings};
use rayon::prelude::*;

use crate::error::{FileError, RecordError};
use crate::event::{Event, Locator, Provenance};
use crate::interest::Interest;
use crate::normalise::windows;
use crate::readers::{Input, ReadOptions, ReadStats};
use crate::sink::EventSink;

/// The EVTX file header's magic.
const MAGIC: &[u8] = b"ElfFile\0";

/// Offset of the first record in a chunk.
const CHUNK_HEADER_BYTES: usize = 512;
/// Record header: magic, size, record id, time.
const RECORD_HEADER_BYTES: usize = 24;
const RECORD_MAGIC: [u8; 4] = [0x2a, 0x2a, 0, 0];

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
        .num_threads(1)
        .indent(false)
        .separate_json_attributes(false);
    let open_err =
        |e: EvtxError| FileError::new(&path, format!("not a readable EVTX file: {}", chain(&e)));
    // A file is opened again by the parser, which reads its chunks straight into their
    // buffers (measured faster than reading it whole through the already open input);
    // decompressed content and streams have to be held whole.
    match (&input.path, input.compressed) {
        (Some(file), false) => {
            let parser = EvtxParser::from_path(file).map_err(open_err)?;
            read_parser(parser, settings, input, options, sink, stats);
        }
        _ => {
            let bytes = input.read_all()?;
            let parser = EvtxParser::from_buffer(bytes).map_err(open_err)?;
            read_parser(parser, settings, input, options, sink, stats);
        }
    }
    Ok(())
}

/// What became of one record.
enum Outcome {
    Event(Box<Event>),
    /// Rendered, then found unwanted (its identifiers could not be read unrendered).
    Skipped,
    Error(RecordError),
}

/// What became of one chunk's records.
#[derive(Default)]
struct ChunkOutcome {
    /// Records skipped unrendered.
    skipped: u64,
    outcomes: Vec<Outcome>,
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

/// What a chunk worker needs to turn records into events.
struct Context {
    interest: Arc<Interest>,
    keep_original: bool,
    source: Arc<str>,
    settings: Arc<ParserSettings>,
}

fn read_parser<T: Read + Seek>(
    parser: EvtxParser<T>,
    settings: ParserSettings,
    input: &Input,
    options: &ReadOptions,
    sink: &mut dyn EventSink,
    stats: &mut ReadStats,
) {
    let settings = Arc::new(settings);
    let mut parser = parser.with_configuration((*settings).clone());
    let context = Context {
        interest: options.interest.clone(),
        keep_original: options.keep_original,
        source: input.name.clone(),
        settings,
    };
    let threads = options.evtx_threads.max(1);
    let mut chunks = parser.chunks();
    loop {
        let batch: Vec<_> = chunks.by_ref().take(threads * 2).collect();
        if batch.is_empty() {
            return;
        }
        let done: Vec<ChunkOutcome> = if threads == 1 {
            batch.into_iter().map(|c| read_chunk(c, &context)).collect()
        } else {
            // `collect` keeps the chunks' order.
            batch
                .into_par_iter()
                .map(|c| read_chunk(c, &context))
                .collect()
        };
        for chunk in done {
            stats.records += chunk.skipped;
            stats.skipped += chunk.skipped;
            for outcome in chunk.outcomes {
                stats.records += 1;
                match outcome {
                    Outcome::Event(event) => {
                        stats.events += 1;
                        if sink.event(*event).is_break() {
                            return;
                        }
                    }
                    Outcome::Skipped => stats.skipped += 1,
                    Outcome::Error(error) => {
                        stats.errors += 1;
                        sink.record_error(error);
                    }
                }
            }
        }
    }
}

/// One record as the chunk's record walk finds it.
#[derive(Debug, Clone, Copy)]
struct RawRecord {
    offset: usize,
    size: usize,
    id: u64,
    /// Whether some rule wants it (`None`: cannot tell unrendered).
    wanted: Option<bool>,
}

/// The chunk's records in walk order, as the `evtx` crate walks them, and whether the
/// walk reached the end of the live records cleanly (a damaged record header stops it:
/// from there on the crate decides, and reports).
fn plan_chunk(
    data: &[u8],
    last_id: u64,
    free_space: usize,
    interest: &Interest,
) -> (Vec<RawRecord>, bool) {
    let live_end = free_space.min(data.len());
    let mut records = Vec::new();
    let mut cache: HashMap<u32, Option<Slots>> = HashMap::new();
    let mut offset = CHUNK_HEADER_BYTES;
    loop {
        if offset >= live_end {
            return (records, true);
        }
        let Some(header) = data.get(offset..offset + RECORD_HEADER_BYTES) else {
            return (records, false);
        };
        if header[..4] != RECORD_MAGIC {
            return (records, false);
        }
        let size = read_u32(header, 4).unwrap_or(0) as usize;
        let id = u64::from_le_bytes([
            header[8], header[9], header[10], header[11], header[12], header[13], header[14],
            header[15],
        ]);
        if size < RECORD_HEADER_BYTES + 4 || offset + size > data.len() {
            return (records, false);
        }
        let binxml = offset + RECORD_HEADER_BYTES..offset + size - 4;
        let wanted = record_ids(data, binxml.start, binxml.end, &mut cache).map(
            |(id, channel, provider)| {
                interest.wants_event(
                    &windows::logsource(&channel, &provider, Some(id)),
                    Some(i64::from(id)),
                )
            },
        );
        records.push(RawRecord {
            offset,
            size,
            id,
            wanted,
        });
        if id == last_id {
            return (records, true);
        }
        offset += size;
    }
}

fn read_chunk(chunk: Result<EvtxChunkData, EvtxError>, context: &Context) -> ChunkOutcome {
    let mut data = match chunk {
        Ok(data) => data,
        Err(e) => {
            return ChunkOutcome {
                skipped: 0,
                outcomes: vec![Outcome::Error(error_of(&context.source, &e))],
            }
        }
    };
    let mut done = ChunkOutcome::default();
    // Offsets (of their BinXML) of the stubs unwanted runs were folded into.
    let mut stubs: Vec<u64> = Vec::new();
    let mut stub_ids: Vec<u64> = Vec::new();
    if !context.interest.is_everything() {
        let (plan, clean) = plan_chunk(
            &data.data,
            data.header.last_event_record_id,
            data.header.free_space_offset as usize,
            &context.interest,
        );
        if clean && plan.iter().all(|r| r.wanted == Some(false)) {
            done.skipped = plan.len() as u64;
            return done;
        }
        let mut at = 0;
        while at < plan.len() {
            if plan[at].wanted != Some(false) {
                at += 1;
                continue;
            }
            let first = plan[at];
            let mut end = at;
            while end < plan.len() && plan[end].wanted == Some(false) {
                end += 1;
            }
            let last = plan[end - 1];
            let span = last.offset + last.size - first.offset;
            let Ok(span32) = u32::try_from(span) else {
                at = end;
                continue;
            };
            // The first record of the run now spans the run, and its BinXML is empty.
            data.data[first.offset + 4..first.offset + 8].copy_from_slice(&span32.to_le_bytes());
            data.data[first.offset + RECORD_HEADER_BYTES] = 0;
            if plan[at..end]
                .iter()
                .any(|r| r.id == data.header.last_event_record_id)
            {
                data.header.last_event_record_id = first.id;
            }
            stubs.push((first.offset + RECORD_HEADER_BYTES) as u64);
            stub_ids.push(first.id);
            done.skipped += (end - at) as u64;
            at = end;
        }
    }
    let number = data.number;
    let mut chunk = match data.parse(context.settings.clone()) {
        Ok(chunk) => chunk,
        Err(e) => {
            let chunk = number.map_or_else(|| "a chunk".to_owned(), |n| format!("chunk {n}"));
            done.outcomes.push(Outcome::Error(RecordError {
                at: Provenance {
                    source: context.source.clone(),
                    locator: Locator::None,
                },
                message: format!("{chunk} cannot be parsed: {}", chain(&e)),
            }));
            return done;
        }
    };
    for record in chunk.iter() {
        match &record {
            Ok(r) if stubs.contains(&r.binxml_offset) => continue,
            Err(EvtxError::FailedToParseRecord { record_id, .. })
                if stub_ids.contains(record_id) =>
            {
                continue
            }
            _ => {}
        }
        done.outcomes.push(render(context, record));
    }
    done
}

/// Renders a record and normalises it.
fn render(context: &Context, record: Result<EvtxRecord<'_>, EvtxError>) -> Outcome {
    let record = match record {
        Ok(record) => record,
        Err(e) => return Outcome::Error(error_of(&context.source, &e)),
    };
    let header_id = record.event_record_id;
    let header_time = record.timestamp;
    let rendered = match record.into_json_bytes() {
        Ok(r) => r,
        Err(e) => return Outcome::Error(error_of(&context.source, &e)),
    };
    let provenance = Provenance {
        source: context.source.clone(),
        locator: Locator::Record(record_id_of(&rendered.data).unwrap_or(header_id)),
    };
    match windows::from_evtx_bytes(
        &rendered.data,
        &context.interest,
        context.keep_original,
        provenance.clone(),
        Some(header_time),
    ) {
        Ok(Some(event)) => Outcome::Event(Box::new(event)),
        Ok(None) => Outcome::Skipped,
        Err(e) => Outcome::Error(RecordError {
            at: provenance,
            message: format!("the record rendered to invalid JSON: {e}"),
        }),
    }
}

/// The record's own `EventRecordID`, found in its rendering: the id Event Viewer and
/// every other tool show (the record header's differs in logs exported from a filter).
fn record_id_of(json: &[u8]) -> Option<u64> {
    const KEY: &[u8] = b"\"EventRecordID\":";
    let at = memchr::memmem::find(json, KEY)? + KEY.len();
    let rest = json.get(at..)?;
    let rest = rest.strip_prefix(b"\"").unwrap_or(rest);
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()
}

/// A record's EventID, channel and provider, read from its bytes without rendering it;
/// `None` when they cannot be read that way.
fn record_ids(
    data: &[u8],
    start: usize,
    end: usize,
    cache: &mut HashMap<u32, Option<Slots>>,
) -> Option<(u32, String, String)> {
    let mut walk = Walk { data, pos: start };
    let mut token = walk.u8()?;
    if token == 0x0f {
        walk.skip(3)?;
        token = walk.u8()?;
    }
    let (slots, values) = if token == 0x0c {
        walk.skip(1 + 4)?; // version, template id
        let definition = walk.u32()?;
        if definition as usize == walk.pos {
            // The definition is written here, on the template's first use in the chunk.
            let size = read_u32(data, walk.pos + 20)? as usize;
            walk.skip(24 + size)?;
        }
        let count = walk.u32()? as usize;
        let descriptors = walk.take(count.checked_mul(4)?)?;
        let values = Values {
            data,
            descriptors,
            start: walk.pos,
        };
        let slots = cache
            .entry(definition)
            .or_insert_with(|| template_slots(data, definition))
            .clone()?;
        (slots, Some(values))
    } else {
        // A record written without templates (some export tools do).
        (system_slots(data, start, end, false)?, None)
    };
    let text = |slot: &Option<Slot>| -> Option<String> {
        match slot {
            None => Some(String::new()),
            Some(Slot::Literal(text)) => Some(text.clone()),
            Some(Slot::Sub(index)) => values.as_ref()?.text(usize::from(*index)),
        }
    };
    let event_id = text(&slots.event_id)?.trim().parse().ok()?;
    slots.event_id.as_ref()?;
    Some((event_id, text(&slots.channel)?, text(&slots.provider)?))
}

/// A template instance's substitution values, read one at a time by index.
struct Values<'a> {
    data: &'a [u8],
    /// Four bytes per value: size (u16), type, padding.
    descriptors: &'a [u8],
    start: usize,
}

impl Values<'_> {
    fn text(&self, index: usize) -> Option<String> {
        let mut offset = self.start;
        for k in 0..index {
            offset += usize::from(read_u16(self.descriptors, k * 4)?);
        }
        let size = usize::from(read_u16(self.descriptors, index * 4)?);
        let kind = *self.descriptors.get(index * 4 + 2)?;
        let bytes = self.data.get(offset..offset.checked_add(size)?)?;
        let int = |n: usize| -> Option<u64> {
            let b = bytes.get(..n)?;
            let mut buf = [0u8; 8];
            buf[..n].copy_from_slice(b);
            Some(u64::from_le_bytes(buf))
        };
        Some(match kind {
            0x00 => String::new(),
            0x01 => {
                let units: Vec<u16> = bytes
                    .chunks_exact(2)
                    .map(|b| u16::from_le_bytes([b[0], b[1]]))
                    .collect();
                String::from_utf16_lossy(&units)
                    .trim_end_matches('\0')
                    .to_owned()
            }
            0x02 => String::from_utf8_lossy(bytes)
                .trim_end_matches('\0')
                .to_owned(),
            0x04 => int(1)?.to_string(),
            0x06 => int(2)?.to_string(),
            0x08 => int(4)?.to_string(),
            0x0a => int(8)?.to_string(),
            _ => return None,
        })
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
        self.take(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
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

    /// The identifiers read from the record bytes are the ones the rendered record
    /// shows, for every record of the corpus: the pre-filter decides without rendering.
    #[test]
    fn prefilter_decides_from_record_bytes_alone() {
        let corpus =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/evtx");
        let (files, _) = crate::readers::collect_inputs(&[corpus]);
        let interest =
            Interest::from_rule_logsources([LogSource::new(None, Some("process_creation"), None)]);
        let settings = ParserSettings::default().num_threads(1);
        let (mut decided, mut undecided, mut wrong, mut unplanned) = (0u64, 0u64, 0u64, 0u64);
        for file in files
            .iter()
            .filter(|f| f.extension().is_some_and(|e| e == "evtx"))
        {
            let mut parser = EvtxParser::from_path(file)
                .unwrap()
                .with_configuration(settings.clone());
            for chunk in parser.chunks() {
                let Ok(mut data) = chunk else { continue };
                let (plan, clean) = plan_chunk(
                    &data.data,
                    data.header.last_event_record_id,
                    data.header.free_space_offset as usize,
                    &interest,
                );
                assert!(clean, "{}", file.display());
                let Ok(mut chunk) = data.parse(Arc::new(settings.clone())) else {
                    continue;
                };
                for record in chunk.iter().flatten() {
                    let offset = record.binxml_offset as usize - RECORD_HEADER_BYTES;
                    let decision = plan.iter().find(|r| r.offset == offset).map(|r| r.wanted);
                    let bytes = record.into_json_bytes().unwrap().data;
                    let doc: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
                    let at = Provenance {
                        source: Arc::from("t"),
                        locator: Locator::None,
                    };
                    let everything = Interest::everything();
                    // The streaming reading of the rendering gives what the document does.
                    let streamed =
                        windows::from_evtx_bytes(&bytes, &everything, false, at.clone(), None)
                            .unwrap()
                            .unwrap();
                    let whole =
                        windows::from_evtx_json(doc.clone(), &everything, false, at.clone(), None)
                            .unwrap();
                    assert_eq!(streamed, whole);
                    let truth = windows::from_evtx_json(doc, &interest, false, at, None).is_some();
                    match decision {
                        Some(Some(d)) if d == truth => decided += 1,
                        Some(Some(_)) => wrong += 1,
                        Some(None) => undecided += 1,
                        None => unplanned += 1,
                    }
                }
            }
        }
        assert_eq!((wrong, unplanned, undecided), (0, 0, 0));
        assert_eq!(decided, 24_661);
    }
}
