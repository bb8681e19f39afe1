//! utmp and wtmp files: the `struct utmp` records `who`, `w` and `last` read.
//!
//! The records are parsed from bytes rather than through `utmp-rs`: that crate drops the
//! remote address, the exit status and the `ut_id` field, and rejects a whole record when a
//! single field is not UTF-8, whereas an incident responder wants every byte that can be
//! recovered (a forged host name is evidence, not an error). A truncated or garbage record
//! is reported with its byte offset and the rest of the file is still read.
//!
//! Layout on x86-64 glibc (and every other 64-bit glibc target that keeps 32-bit
//! `ut_tv` for compatibility), 384 bytes, native (little) endian:
//!
//! | offset | field |
//! |---|---|
//! | 0 | `ut_type` i16 (+2 padding) |
//! | 4 | `ut_pid` i32 |
//! | 8 | `ut_line` [32] |
//! | 40 | `ut_id` [4] |
//! | 44 | `ut_user` [32] |
//! | 76 | `ut_host` [256] |
//! | 332 | `ut_exit` {i16 termination, i16 exit} |
//! | 336 | `ut_session` i32 |
//! | 340 | `ut_tv` {i32 sec, i32 usec} |
//! | 348 | `ut_addr_v6` [16] (network order; IPv4 in the first 4 bytes) |
//! | 364 | unused [20] |

use std::io::{self, Read};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

use jiff::Timestamp;
use serde::Serialize;

/// Size of one record.
pub const RECORD_SIZE: usize = 384;

const LINE: std::ops::Range<usize> = 8..40;
const ID: std::ops::Range<usize> = 40..44;
const USER: std::ops::Range<usize> = 44..76;
const HOST: std::ops::Range<usize> = 76..332;
const ADDR: std::ops::Range<usize> = 348..364;

/// `ut_type` values from `<utmp.h>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    /// Slot with no valid data (`EMPTY`).
    Empty,
    /// Run-level change (`RUN_LVL`); `shutdown` in the user field marks a shutdown.
    RunLevel,
    /// System boot (`BOOT_TIME`).
    BootTime,
    /// Clock after a change (`NEW_TIME`).
    NewTime,
    /// Clock before a change (`OLD_TIME`).
    OldTime,
    /// Process spawned by init (`INIT_PROCESS`).
    InitProcess,
    /// getty waiting for a login (`LOGIN_PROCESS`).
    LoginProcess,
    /// A logged-in user (`USER_PROCESS`).
    UserProcess,
    /// A session that ended (`DEAD_PROCESS`).
    DeadProcess,
    /// Accounting (`ACCOUNTING`, unused by glibc).
    Accounting,
}

impl RecordKind {
    fn from_raw(raw: i16) -> Option<Self> {
        Some(match raw {
            0 => Self::Empty,
            1 => Self::RunLevel,
            2 => Self::BootTime,
            3 => Self::NewTime,
            4 => Self::OldTime,
            5 => Self::InitProcess,
            6 => Self::LoginProcess,
            7 => Self::UserProcess,
            8 => Self::DeadProcess,
            9 => Self::Accounting,
            _ => return None,
        })
    }

    /// The snake_case name used in JSON (`user_process`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Empty => "empty",
            Self::RunLevel => "run_level",
            Self::BootTime => "boot_time",
            Self::NewTime => "new_time",
            Self::OldTime => "old_time",
            Self::InitProcess => "init_process",
            Self::LoginProcess => "login_process",
            Self::UserProcess => "user_process",
            Self::DeadProcess => "dead_process",
            Self::Accounting => "accounting",
        }
    }

    /// The raw `ut_type` value.
    pub fn raw(self) -> i16 {
        match self {
            Self::Empty => 0,
            Self::RunLevel => 1,
            Self::BootTime => 2,
            Self::NewTime => 3,
            Self::OldTime => 4,
            Self::InitProcess => 5,
            Self::LoginProcess => 6,
            Self::UserProcess => 7,
            Self::DeadProcess => 8,
            Self::Accounting => 9,
        }
    }
}

/// One decoded record. Text fields are decoded lossily: invalid UTF-8 shows as U+FFFD
/// rather than hiding the record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UtmpRecord {
    /// Byte offset of the record in its file.
    pub offset: u64,
    /// Record type.
    pub kind: RecordKind,
    /// `ut_pid`.
    pub pid: i32,
    /// Terminal without `/dev/` (`pts/0`, `tty1`, `~` for boot and run level).
    pub line: String,
    /// `ut_id`: the inittab id or the terminal suffix.
    pub id: String,
    /// User name (`reboot`, `shutdown`, `runlevel` for system records).
    pub user: String,
    /// Remote host, or the kernel release for boot and run-level records.
    pub host: String,
    /// `ut_exit.e_termination`.
    pub exit_termination: i16,
    /// `ut_exit.e_exit`.
    pub exit_status: i16,
    /// `ut_session`.
    pub session: i32,
    /// `ut_tv`, `None` when out of range.
    pub time: Option<Timestamp>,
    /// `ut_addr_v6`, `None` when all zero.
    pub addr: Option<IpAddr>,
}

/// A record that could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordProblem {
    /// Byte offset of the record.
    pub offset: u64,
    /// What is wrong with it.
    pub message: String,
}

/// Everything recovered from one file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct UtmpFile {
    /// Decoded records in file order.
    pub records: Vec<UtmpRecord>,
    /// Records that were skipped or decoded only in part.
    pub problems: Vec<RecordProblem>,
}

/// Reads and decodes a utmp or wtmp file. Only opening and reading can fail; bad records
/// end up in [`UtmpFile::problems`].
pub fn read_path(path: &Path) -> io::Result<UtmpFile> {
    let file = fs_err::File::open(path)?;
    parse_reader(io::BufReader::with_capacity(64 * 1024, file))
}

/// Decodes records from a reader until end of file.
pub fn parse_reader<R: Read>(mut reader: R) -> io::Result<UtmpFile> {
    let mut out = UtmpFile::default();
    let mut buf = [0u8; RECORD_SIZE];
    let mut offset = 0u64;
    loop {
        let filled = fill(&mut reader, &mut buf)?;
        if filled == 0 {
            break;
        }
        if filled < RECORD_SIZE {
            out.problems.push(RecordProblem {
                offset,
                message: format!(
                    "truncated record: {filled} of {RECORD_SIZE} bytes at end of file"
                ),
            });
            break;
        }
        decode_into(&buf, offset, &mut out);
        offset += RECORD_SIZE as u64;
    }
    Ok(out)
}

/// Decodes records from bytes already in memory.
pub fn parse_bytes(data: &[u8]) -> UtmpFile {
    let mut out = UtmpFile::default();
    let mut chunks = data.chunks_exact(RECORD_SIZE);
    let mut offset = 0u64;
    for chunk in &mut chunks {
        decode_into(chunk, offset, &mut out);
        offset += RECORD_SIZE as u64;
    }
    let rest = chunks.remainder().len();
    if rest > 0 {
        out.problems.push(RecordProblem {
            offset,
            message: format!("truncated record: {rest} of {RECORD_SIZE} bytes at end of file"),
        });
    }
    out
}

fn fill<R: Read>(reader: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

fn decode_into(raw: &[u8], offset: u64, out: &mut UtmpFile) {
    match decode(raw, offset) {
        Ok((record, note)) => {
            if let Some(message) = note {
                out.problems.push(RecordProblem { offset, message });
            }
            out.records.push(record);
        }
        Err(message) => out.problems.push(RecordProblem { offset, message }),
    }
}

/// Decodes one record. An unknown type rejects the record (the rest of it cannot be
/// trusted to mean anything); an impossible time keeps the record and adds a note.
fn decode(raw: &[u8], offset: u64) -> Result<(UtmpRecord, Option<String>), String> {
    let kind_raw = i16_at(raw, 0);
    let kind = RecordKind::from_raw(kind_raw)
        .ok_or_else(|| format!("unknown record type {kind_raw}, record skipped"))?;
    let sec = i32_at(raw, 340);
    let usec = i32_at(raw, 344);
    let mut note = None;
    let time = if (0..1_000_000).contains(&usec) {
        Timestamp::from_microsecond(i64::from(sec) * 1_000_000 + i64::from(usec)).ok()
    } else {
        None
    };
    if time.is_none() {
        note = Some(format!("invalid time {sec}.{usec}, kept without a time"));
    }
    let record = UtmpRecord {
        offset,
        kind,
        pid: i32_at(raw, 4),
        line: text(&raw[LINE]),
        id: text(&raw[ID]),
        user: text(&raw[USER]),
        host: text(&raw[HOST]),
        exit_termination: i16_at(raw, 332),
        exit_status: i16_at(raw, 334),
        session: i32_at(raw, 336),
        time,
        addr: addr(&raw[ADDR]),
    };
    Ok((record, note))
}

fn i16_at(raw: &[u8], at: usize) -> i16 {
    i16::from_ne_bytes([raw[at], raw[at + 1]])
}

fn i32_at(raw: &[u8], at: usize) -> i32 {
    i32::from_ne_bytes([raw[at], raw[at + 1], raw[at + 2], raw[at + 3]])
}

fn text(field: &[u8]) -> String {
    let end = memchr::memchr(0, field).unwrap_or(field.len());
    String::from_utf8_lossy(&field[..end]).into_owned()
}

fn addr(field: &[u8]) -> Option<IpAddr> {
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(field);
    if bytes == [0; 16] {
        None
    } else if bytes[4..] == [0; 12] {
        Some(IpAddr::V4(Ipv4Addr::new(
            bytes[0], bytes[1], bytes[2], bytes[3],
        )))
    } else {
        Some(IpAddr::V6(Ipv6Addr::from(bytes)))
    }
}

/// Encodes a record as the 384 bytes glibc writes. Used to build fixture files; the
/// offset field of the record is ignored and a missing time encodes as zero.
pub fn encode(record: &UtmpRecord) -> [u8; RECORD_SIZE] {
    let mut raw = [0u8; RECORD_SIZE];
    raw[0..2].copy_from_slice(&record.kind.raw().to_ne_bytes());
    raw[4..8].copy_from_slice(&record.pid.to_ne_bytes());
    put_text(&mut raw[LINE], &record.line);
    put_text(&mut raw[ID], &record.id);
    put_text(&mut raw[USER], &record.user);
    put_text(&mut raw[HOST], &record.host);
    raw[332..334].copy_from_slice(&record.exit_termination.to_ne_bytes());
    raw[334..336].copy_from_slice(&record.exit_status.to_ne_bytes());
    raw[336..340].copy_from_slice(&record.session.to_ne_bytes());
    if let Some(time) = record.time {
        let sec = i32::try_from(time.as_second()).unwrap_or(i32::MAX);
        let usec = time.subsec_microsecond();
        raw[340..344].copy_from_slice(&sec.to_ne_bytes());
        raw[344..348].copy_from_slice(&usec.to_ne_bytes());
    }
    match record.addr {
        Some(IpAddr::V4(v4)) => raw[348..352].copy_from_slice(&v4.octets()),
        Some(IpAddr::V6(v6)) => raw[ADDR].copy_from_slice(&v6.octets()),
        None => {}
    }
    raw
}

fn put_text(field: &mut [u8], value: &str) {
    let bytes = value.as_bytes();
    let n = bytes.len().min(field.len());
    field[..n].copy_from_slice(&bytes[..n]);
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn sample() -> UtmpRecord {
        UtmpRecord {
            offset: 0,
            kind: RecordKind::UserProcess,
            pid: 4242,
            line: "pts/3".into(),
            id: "ts/3".into(),
            user: "alice".into(),
            host: "203.0.113.9".into(),
            exit_termination: 0,
            exit_status: 0,
            session: 4242,
            time: Some(Timestamp::from_second(1_700_000_000).unwrap()),
            addr: Some("203.0.113.9".parse().unwrap()),
        }
    }

    #[test]
    fn round_trips_through_the_raw_layout() {
        let raw = encode(&sample());
        let file = parse_bytes(&raw);
        assert!(file.problems.is_empty());
        assert_eq!(file.records, vec![sample()]);
        assert_eq!(&raw[44..49], b"alice");
        assert_eq!(&raw[348..352], &[203, 0, 113, 9]);
    }

    #[test]
    fn ipv6_address_and_full_width_host_survive() {
        let mut rec = sample();
        rec.addr = Some("2001:db8::7".parse().unwrap());
        rec.host = "h".repeat(256);
        let file = parse_bytes(&encode(&rec));
        assert_eq!(file.records[0].addr, rec.addr);
        assert_eq!(file.records[0].host.len(), 256);
    }

    #[test]
    fn truncated_tail_is_reported_and_earlier_records_kept() {
        let mut data = encode(&sample()).to_vec();
        data.extend_from_slice(&encode(&sample())[..100]);
        for file in [parse_bytes(&data), parse_reader(&data[..]).unwrap()] {
            assert_eq!(file.records.len(), 1);
            assert_eq!(file.problems.len(), 1);
            assert_eq!(file.problems[0].offset, 384);
            assert!(file.problems[0].message.contains("100 of 384"));
        }
    }

    #[test]
    fn unknown_type_is_skipped_and_bad_time_is_noted() {
        let mut garbage = [0xffu8; RECORD_SIZE];
        garbage[0] = 77;
        garbage[1] = 0;
        let mut bad_time = encode(&sample());
        bad_time[344..348].copy_from_slice(&(-5i32).to_ne_bytes());
        let mut data = garbage.to_vec();
        data.extend_from_slice(&bad_time);
        let file = parse_bytes(&data);
        assert_eq!(file.records.len(), 1);
        assert_eq!(file.records[0].time, None);
        assert_eq!(file.problems.len(), 2);
        assert!(file.problems[0].message.contains("unknown record type 77"));
    }

    #[test]
    fn kind_names_match_their_json_form() {
        for raw in 0..10 {
            let kind = RecordKind::from_raw(raw).unwrap();
            assert_eq!(kind.raw(), raw);
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.name());
        }
        assert_eq!(RecordKind::from_raw(10), None);
    }

    #[test]
    fn invalid_utf8_is_kept_lossily() {
        let mut raw = encode(&sample());
        raw[44] = 0xff;
        let file = parse_bytes(&raw);
        assert_eq!(file.records[0].user, "\u{fffd}lice");
    }
}
