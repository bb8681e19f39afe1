//! Log readers, chosen by content.
//!
//! [`read_path`] opens a file (transparently decompressing `.gz` and `.zst`, recognised by
//! their magic bytes), looks at its first bytes to pick a [`Format`], and streams the
//! file's events into an [`EventSink`]. Directories are expanded by [`collect_inputs`].
//!
//! One module per format. Each has a `sniff(head)` that recognises its content and a
//! `read(input, options, sink, stats)` that streams it.

pub mod auditd;
pub mod azure;
pub mod cloudtrail;
pub mod ecs;
pub mod esxi;
pub mod evtx;
pub mod gcp;
pub mod generic;
pub mod input;
pub mod lines;
pub mod netdevice;
pub mod sysmon_linux;
pub mod winjson;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::FileError;
use crate::interest::Interest;
use crate::sink::EventSink;

pub use input::{collect_inputs, Input};

/// The input formats sockhunt reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// Windows binary event log (`.evtx`).
    Evtx,
    /// Windows events as JSON or JSON lines: `evtx_dump` output, Winlogbeat/ECS documents,
    /// flat Sysmon-style objects.
    WinJson,
    /// Linux auditd raw log.
    Auditd,
    /// Sysmon for Linux: syslog lines carrying the Sysmon XML event.
    SysmonLinux,
    /// AWS CloudTrail: `{"Records":[...]}` files or one record per line.
    CloudTrail,
    /// Azure Activity log JSON.
    Azure,
    /// GCP audit log JSON.
    Gcp,
    /// Network-device AAA/TACACS+ accounting and syslog command logs.
    NetDevice,
    /// VMware ESXi shell and hostd logs.
    Esxi,
    /// sockhunt's generic JSONL: one object per line with `logsource` and Sigma fields
    /// (also what `sockhunt watch --record` writes).
    Generic,
    /// Elastic Common Schema process and network documents from Elastic Endpoint, Auditbeat
    /// and other ECS producers (not Winlogbeat's `winlog.*` documents: those are `win-json`).
    Ecs,
}

impl Format {
    /// Every format, in the order content sniffing tries them (most specific first).
    pub const ALL: [Format; 11] = [
        Format::Evtx,
        Format::Generic,
        Format::CloudTrail,
        Format::Azure,
        Format::Gcp,
        Format::WinJson,
        Format::Ecs,
        Format::SysmonLinux,
        Format::Auditd,
        Format::Esxi,
        Format::NetDevice,
    ];

    /// The format's name on the command line and in summaries.
    pub fn name(self) -> &'static str {
        match self {
            Format::Evtx => "evtx",
            Format::WinJson => "win-json",
            Format::Auditd => "auditd",
            Format::SysmonLinux => "sysmon-linux",
            Format::CloudTrail => "cloudtrail",
            Format::Azure => "azure",
            Format::Gcp => "gcp",
            Format::NetDevice => "net-device",
            Format::Esxi => "esxi",
            Format::Generic => "generic",
            Format::Ecs => "ecs",
        }
    }

    /// Recognises a format from the first bytes of (decompressed) content.
    pub fn sniff(head: &[u8]) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.matches(head))
    }

    fn matches(self, head: &[u8]) -> bool {
        match self {
            Format::Evtx => evtx::sniff(head),
            Format::WinJson => winjson::sniff(head),
            Format::Auditd => auditd::sniff(head),
            Format::SysmonLinux => sysmon_linux::sniff(head),
            Format::CloudTrail => cloudtrail::sniff(head),
            Format::Azure => azure::sniff(head),
            Format::Gcp => gcp::sniff(head),
            Format::NetDevice => netdevice::sniff(head),
            Format::Esxi => esxi::sniff(head),
            Format::Generic => generic::sniff(head),
            Format::Ecs => ecs::sniff(head),
        }
    }
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Format::ALL
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                let names: Vec<_> = Format::ALL.iter().map(|f| f.name()).collect();
                format!(
                    "unknown format `{s}` (expected one of: {})",
                    names.join(", ")
                )
            })
    }
}

/// Settings for every reader.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// Which logsources some loaded rule can match: records outside it are skipped before
    /// their fields are built.
    pub interest: Arc<Interest>,
    /// Keep the original record beside the normalised fields.
    pub keep_original: bool,
    /// Force a format instead of sniffing.
    pub format: Option<Format>,
    /// Longest line (or single JSON document) accepted; longer ones are reported as a
    /// record error and skipped without being held in memory.
    pub max_record_bytes: usize,
    /// Threads the EVTX parser may use inside one file (files are parallel already).
    pub evtx_threads: usize,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            interest: Arc::new(Interest::everything()),
            keep_original: true,
            format: None,
            max_record_bytes: 16 * 1024 * 1024,
            evtx_threads: 1,
        }
    }
}

/// What reading one input did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ReadStats {
    /// Records (or lines) seen.
    pub records: u64,
    /// Records skipped by the pre-filter because no loaded rule can match them.
    pub skipped: u64,
    /// Events handed to the sink.
    pub events: u64,
    /// Records that could not be read (each was reported to the sink).
    pub errors: u64,
}

impl ReadStats {
    /// Adds another input's counts.
    pub fn add(&mut self, other: &ReadStats) {
        self.records += other.records;
        self.skipped += other.skipped;
        self.events += other.events;
        self.errors += other.errors;
    }
}

/// Reads one file: decompresses, sniffs the format (unless forced), streams its events.
/// Returns the format found and the counts; a file that cannot be opened or recognised
/// is an error naming it.
pub fn read_path(
    path: &Path,
    options: &ReadOptions,
    sink: &mut dyn EventSink,
) -> Result<(Format, ReadStats), FileError> {
    let mut input = Input::open(path)?;
    read_input(&mut input, options, sink)
}

/// Reads from any stream (standard input, a test string). `name` is used as the
/// provenance source.
pub fn read_stream(
    name: &str,
    reader: Box<dyn std::io::Read + Send>,
    options: &ReadOptions,
    sink: &mut dyn EventSink,
) -> Result<(Format, ReadStats), FileError> {
    let mut input = Input::from_reader(name, reader)?;
    read_input(&mut input, options, sink)
}

fn read_input(
    input: &mut Input,
    options: &ReadOptions,
    sink: &mut dyn EventSink,
) -> Result<(Format, ReadStats), FileError> {
    let format = match options.format {
        Some(f) => f,
        None => {
            let head = input.head()?;
            Format::sniff(head).ok_or_else(|| {
                FileError::new(input.path_buf(), "not a log format sockhunt recognises (evtx, Windows JSON, ECS, auditd, Sysmon for Linux, CloudTrail, Azure, GCP, network-device, ESXi, generic JSONL)")
            })?
        }
    };
    let mut stats = ReadStats::default();
    match format {
        Format::Evtx => evtx::read(input, options, sink, &mut stats)?,
        Format::WinJson => winjson::read(input, options, sink, &mut stats)?,
        Format::Auditd => auditd::read(input, options, sink, &mut stats)?,
        Format::SysmonLinux => sysmon_linux::read(input, options, sink, &mut stats)?,
        Format::CloudTrail => cloudtrail::read(input, options, sink, &mut stats)?,
        Format::Azure => azure::read(input, options, sink, &mut stats)?,
        Format::Gcp => gcp::read(input, options, sink, &mut stats)?,
        Format::NetDevice => netdevice::read(input, options, sink, &mut stats)?,
        Format::Esxi => esxi::read(input, options, sink, &mut stats)?,
        Format::Generic => generic::read(input, options, sink, &mut stats)?,
        Format::Ecs => ecs::read(input, options, sink, &mut stats)?,
    }
    Ok((format, stats))
}

/// The paths of the inputs given, for error messages.
pub(crate) fn display_path(path: &Option<PathBuf>, name: &str) -> PathBuf {
    path.clone().unwrap_or_else(|| PathBuf::from(name))
}
