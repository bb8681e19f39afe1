//! Linux sources to Sigma events: auditd and Sysmon for Linux.
//!
//! # auditd
//!
//! The records of one audit event (see [`crate::readers::auditd`]) become one event:
//!
//! - an `execve` (an EXECVE record, or a successful execve/execveat SYSCALL) is
//!   `linux`/`process_creation`/`auditd`: `Image` (SYSCALL `exe`), `CommandLine` (the
//!   EXECVE arguments decoded and joined by spaces; PROCTITLE when EXECVE is missing),
//!   `ProcessId`, `ParentProcessId`, `CurrentDirectory` (CWD), `User` (the enriched `UID`
//!   name when the log has one), `Uid`, `Comm`, `LogonId` (the audit session), and
//!   `ParentImage`/`ParentCommandLine` when the parent's own exec was seen earlier in the
//!   same file (a bounded pid table);
//! - any other event is `linux`/-/`auditd`.
//!
//! Both also keep auditd's own field names, as Sigma's `service: auditd` rules use them:
//! `type` (the list of record types in the event, so `type: EXECVE` and `type: SYSCALL`
//! both match), the SYSCALL fields (`exe`, `comm`, `syscall`, `key`, `auid`...), `argc`
//! and `a0`, `a1`... (decoded EXECVE arguments; the SYSCALL register values `a0`-`a3` are
//! kept only when there is no EXECVE), `cwd`, `proctitle`, PATH `name` and `nametype`
//! (lists, one per PATH record), the fields of other records (first value wins, including
//! the fields inside a user-space record's `msg='...'`), and enriched (upper-case) names.
//!
//! # Sysmon for Linux
//!
//! The Sysmon XML event maps as Windows Sysmon does, with product `linux`: EventID 1
//! `process_creation`, 3 `network_connection`, 5 `process_termination`, 9
//! `raw_access_thread`, 11 `file_event`, 23 `file_delete`, 26 `file_delete_detected`, 4
//! and 16 `sysmon_status`, 255 `sysmon_error`; service `sysmon`. Every `EventData` item
//! becomes a field under its own (Sigma) name, plus `EventID` (integer) and `Channel`.

use std::borrow::Cow;
use std::collections::{HashMap, VecDeque};

use jiff::Timestamp;

use crate::event::{Event, FieldName, Fields, LogSource, Provenance, Value};

/// auditd exec events.
pub const AUDITD_PROCESS_CREATION: LogSource =
    LogSource::new(Some("linux"), Some("process_creation"), Some("auditd"));
/// Other auditd events.
pub const AUDITD: LogSource = LogSource::new(Some("linux"), None, Some("auditd"));

/// Fields auditd writes through `audit_log_untrustedstring`: quoted, or hex-encoded when
/// they contain a space, a quote or a control character.
const ENCODED: [&str; 10] = [
    "exe",
    "comm",
    "cwd",
    "name",
    "proctitle",
    "key",
    "cmd",
    "path",
    "data",
    "acct",
];

/// Unset ids (`auid`, `ses`) are written as `-1` cast to unsigned.
const UNSET: &str = "4294967295";

enum Raw<'a> {
    Quoted(&'a str),
    Bare(&'a str),
}

/// Splits `key=value key="quoted value" msg='inner ...'` pairs.
fn kv_pairs(body: &str) -> Vec<(&str, Raw<'_>)> {
    let bytes = body.as_bytes();
    let mut out = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        while at < bytes.len() && bytes[at].is_ascii_whitespace() {
            at += 1;
        }
        let key_start = at;
        while at < bytes.len() && bytes[at] != b'=' && !bytes[at].is_ascii_whitespace() {
            at += 1;
        }
        if at >= bytes.len() || bytes[at] != b'=' {
            continue;
        }
        let key = &body[key_start..at];
        at += 1;
        let value = match bytes.get(at) {
            Some(&q @ (b'"' | b'\'')) => {
                let start = at + 1;
                let end = bytes[start..]
                    .iter()
                    .position(|b| *b == q)
                    .map_or(bytes.len(), |p| start + p);
                at = (end + 1).min(bytes.len());
                Raw::Quoted(&body[start..end])
            }
            _ => {
                let start = at;
                while at < bytes.len() && !bytes[at].is_ascii_whitespace() {
                    at += 1;
                }
                Raw::Bare(&body[start..at])
            }
        };
        if !key.is_empty() {
            out.push((key, value));
        }
    }
    out
}

fn is_hex(s: &str) -> bool {
    !s.is_empty() && s.len().is_multiple_of(2) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if is_hex(s) {
        hex::decode(s).ok()
    } else {
        None
    }
}

/// The text of a field, hex-decoded when auditd encoded it.
fn decode(key: &str, raw: &Raw<'_>) -> String {
    match raw {
        Raw::Quoted(s) => (*s).to_owned(),
        Raw::Bare(s) if ENCODED.contains(&key) => match decode_hex(s) {
            Some(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            None => (*s).to_owned(),
        },
        Raw::Bare(s) => (*s).to_owned(),
    }
}

/// An EXECVE argument: whole, or in `aN[i]` chunks announced by `aN_len`.
#[derive(Default)]
struct Arg {
    whole: Option<Vec<u8>>,
    chunks: Vec<(usize, Vec<u8>)>,
}

fn arg_bytes(raw: &Raw<'_>) -> Vec<u8> {
    match raw {
        Raw::Quoted(s) => s.as_bytes().to_vec(),
        // Unquoted EXECVE arguments are always hex; interpreted logs are not.
        Raw::Bare(s) => decode_hex(s).unwrap_or_else(|| s.as_bytes().to_vec()),
    }
}

/// The records of one audit event, joined.
pub(crate) struct AuditEvent {
    time: Option<Timestamp>,
    node: Option<String>,
    types: Vec<String>,
    syscall: Vec<(FieldName, String)>,
    argc: Option<usize>,
    args: Vec<Arg>,
    has_execve: bool,
    cwd: Option<String>,
    proctitle: Option<String>,
    path_names: Vec<String>,
    path_types: Vec<String>,
    other: Vec<(FieldName, String)>,
    enriched: Vec<(FieldName, String)>,
}

/// Parses the `TIME:SERIAL` stamp's time: epoch seconds with milliseconds, or the
/// `MM/DD/YYYY HH:MM:SS.mmm` of interpreted (`ausearch -i`) logs, taken as UTC.
fn stamp_time(stamp: &str) -> Option<Timestamp> {
    let (time, serial) = stamp.rsplit_once(':')?;
    serial.parse::<u64>().ok()?;
    if let Some((secs, frac)) = time.split_once('.') {
        if let (Ok(secs), Ok(frac_n)) = (secs.parse::<i64>(), frac.parse::<u32>()) {
            let digits = u32::try_from(frac.len()).ok()?.min(9);
            let nanos = frac_n.checked_mul(10u32.pow(9 - digits))?;
            return Timestamp::new(secs, i32::try_from(nanos).ok()?).ok();
        }
    }
    if let Ok(secs) = time.parse::<i64>() {
        return Timestamp::new(secs, 0).ok();
    }
    let dt = jiff::civil::DateTime::strptime("%m/%d/%Y %H:%M:%S%.f", time).ok()?;
    dt.to_zoned(jiff::tz::TimeZone::UTC)
        .ok()
        .map(|z| z.timestamp())
}

impl AuditEvent {
    /// An empty event for a record stamp; `None` when the stamp is unreadable.
    pub(crate) fn new(stamp: &str, node: Option<&str>) -> Option<Self> {
        let time = stamp_time(stamp)?;
        Some(AuditEvent {
            time: Some(time),
            node: node.filter(|n| !n.is_empty()).map(str::to_owned),
            types: Vec::new(),
            syscall: Vec::new(),
            argc: None,
            args: Vec::new(),
            has_execve: false,
            cwd: None,
            proctitle: None,
            path_names: Vec::new(),
            path_types: Vec::new(),
            other: Vec::new(),
            enriched: Vec::new(),
        })
    }

    /// Adds one record's fields.
    pub(crate) fn add_record(&mut self, kind: &str, body: &str) {
        if !self.types.iter().any(|t| t == kind) {
            self.types.push(kind.to_owned());
        }
        let (plain, enriched) = match body.split_once('\u{1d}') {
            Some((p, e)) => (p, Some(e)),
            None => (body, None),
        };
        if let Some(enriched) = enriched {
            for (key, raw) in kv_pairs(enriched) {
                push_first(&mut self.enriched, key, decode(key, &raw));
            }
        }
        let pairs = kv_pairs(plain);
        match kind {
            "SYSCALL" => {
                // One SYSCALL record per event, its keys unique: no need to look for
                // earlier values (the fields keep the last one anyway).
                self.syscall.reserve(pairs.len());
                for (key, raw) in pairs {
                    self.syscall.push((intern(key), decode(key, &raw)));
                }
            }
            "EXECVE" => {
                self.has_execve = true;
                for (key, raw) in pairs {
                    self.add_arg(key, &raw);
                }
            }
            "CWD" => {
                for (key, raw) in pairs {
                    if key == "cwd" {
                        self.cwd = Some(decode(key, &raw));
                    }
                }
            }
            "PROCTITLE" => {
                for (key, raw) in pairs {
                    if key == "proctitle" {
                        let bytes = match &raw {
                            Raw::Quoted(s) => s.as_bytes().to_vec(),
                            Raw::Bare(s) => decode_hex(s).unwrap_or_else(|| s.as_bytes().to_vec()),
                        };
                        let text = String::from_utf8_lossy(&bytes).replace('\0', " ");
                        self.proctitle = Some(text.trim_end().to_owned());
                    }
                }
            }
            "PATH" => {
                for (key, raw) in pairs {
                    match key {
                        "name" => self.path_names.push(decode(key, &raw)),
                        "nametype" => self.path_types.push(decode(key, &raw)),
                        _ => {}
                    }
                }
            }
            _ => {
                for (key, raw) in pairs {
                    if key == "msg" {
                        // User-space records carry their fields inside msg='...'.
                        if let Raw::Quoted(inner) = raw {
                            for (k, r) in kv_pairs(inner) {
                                push_first(&mut self.other, k, decode(k, &r));
                            }
                            continue;
                        }
                    }
                    push_first(&mut self.other, key, decode(key, &raw));
                }
            }
        }
    }

    fn add_arg(&mut self, key: &str, raw: &Raw<'_>) {
        if key == "argc" {
            if let Raw::Bare(n) = raw {
                self.argc = n.parse().ok();
            }
            return;
        }
        let Some(rest) = key.strip_prefix('a') else {
            return;
        };
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let Ok(index) = rest[..digits].parse::<usize>() else {
            return;
        };
        // An argument index beyond what one line can hold is malformed: ignore it.
        if index > 1_000_000 {
            return;
        }
        let suffix = &rest[digits..];
        if suffix == "_len" {
            self.arg_slot(index);
            return;
        }
        if suffix.is_empty() {
            self.arg_slot(index).whole = Some(arg_bytes(raw));
        } else if let Some(chunk) = suffix
            .strip_prefix('[')
            .and_then(|s| s.strip_suffix(']'))
            .and_then(|s| s.parse::<usize>().ok())
        {
            self.arg_slot(index).chunks.push((chunk, arg_bytes(raw)));
        }
    }

    fn arg_slot(&mut self, index: usize) -> &mut Arg {
        if self.args.len() <= index {
            self.args.resize_with(index + 1, Arg::default);
        }
        &mut self.args[index]
    }

    fn syscall_field(&self, key: &str) -> Option<&str> {
        self.syscall
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn is_exec(&self) -> bool {
        if self.has_execve {
            return true;
        }
        let Some(syscall) = self.syscall_field("syscall") else {
            return false;
        };
        if self.syscall_field("success") == Some("no") {
            return false;
        }
        let arch = self.syscall_field("arch").unwrap_or("c000003e");
        matches!(
            (arch, syscall),
            (_, "execve" | "execveat")
                | ("c000003e" | "x86_64", "59" | "322")
                | ("40000003" | "i386", "11" | "358")
                | ("c00000b7" | "aarch64", "221" | "281")
        )
    }

    /// Which rules can apply.
    pub(crate) fn logsource(&self) -> LogSource {
        if self.is_exec() {
            AUDITD_PROCESS_CREATION
        } else {
            AUDITD
        }
    }

    fn arguments(&self) -> (Vec<String>, bool) {
        let mut missing = false;
        let mut out = Vec::with_capacity(self.args.len());
        for arg in &self.args {
            let bytes = match (&arg.whole, arg.chunks.is_empty()) {
                (Some(whole), _) => Cow::Borrowed(whole.as_slice()),
                (None, false) => {
                    let mut chunks: Vec<&(usize, Vec<u8>)> = arg.chunks.iter().collect();
                    chunks.sort_by_key(|(i, _)| *i);
                    Cow::Owned(chunks.iter().flat_map(|(_, b)| b.iter().copied()).collect())
                }
                (None, true) => {
                    missing = true;
                    continue;
                }
            };
            out.push(String::from_utf8_lossy(&bytes).into_owned());
        }
        if let Some(argc) = self.argc {
            missing |= out.len() < argc;
        }
        (out, missing)
    }

    /// The normalised event, and a warning to report when the event lacks what its kind
    /// should carry (an exec without its EXECVE record).
    pub(crate) fn into_event(
        self,
        logsource: LogSource,
        provenance: Provenance,
        processes: &mut ProcessTable,
    ) -> (Event, Option<String>) {
        let exec = logsource.category.is_some();
        let mut event = Event::new(logsource, provenance);
        event.time = self.time;
        event.host = self.node.clone();
        let mut warning = None;
        let mut f = Fields::with_capacity(24 + self.syscall.len() + self.args.len());
        let (args, truncated) = self.arguments();
        if exec {
            let image = self.syscall_field("exe").map(str::to_owned);
            let command_line = if self.has_execve {
                Some(args.join(" "))
            } else if let Some(title) = &self.proctitle {
                Some(title.clone())
            } else {
                warning = Some(
                    "exec event without its EXECVE or PROCTITLE record: emitted without CommandLine"
                        .to_owned(),
                );
                None
            };
            if let Some(image) = &image {
                f.set_nonempty("Image", image);
            }
            if let Some(cl) = &command_line {
                f.set_nonempty("CommandLine", cl);
            }
            if self.has_execve && truncated {
                f.set("ArgvTruncated", true);
            }
            let pid = self
                .syscall_field("pid")
                .and_then(|p| p.parse::<i64>().ok());
            let ppid = self
                .syscall_field("ppid")
                .and_then(|p| p.parse::<i64>().ok());
            if let Some(pid) = pid {
                f.set("ProcessId", pid);
            }
            if let Some(ppid) = ppid {
                f.set("ParentProcessId", ppid);
                if let Some((parent_image, parent_cl)) = processes.get(ppid) {
                    f.set_nonempty("ParentImage", parent_image);
                    f.set_nonempty("ParentCommandLine", parent_cl);
                }
            }
            if let Some(cwd) = &self.cwd {
                f.set_nonempty("CurrentDirectory", cwd);
            }
            if let Some((_, user)) = self.enriched.iter().find(|(k, _)| k == "UID") {
                f.set_nonempty("User", user);
            }
            if let Some(uid) = self
                .syscall_field("uid")
                .and_then(|u| u.parse::<i64>().ok())
            {
                f.set("Uid", uid);
            }
            if let Some(comm) = self.syscall_field("comm") {
                f.set_nonempty("Comm", comm);
            }
            if let Some(ses) = self.syscall_field("ses").filter(|s| *s != UNSET) {
                if let Ok(ses) = ses.parse::<i64>() {
                    f.set("LogonId", ses);
                }
            }
            if let Some(pid) = pid {
                processes.insert(
                    pid,
                    image.unwrap_or_default(),
                    command_line.unwrap_or_default(),
                );
            }
        }
        // auditd's own names, for `service: auditd` rules.
        f.set(
            "type",
            match self.types.len() {
                1 => Value::Str(self.types[0].clone()),
                _ => Value::List(self.types.iter().map(|t| Value::Str(t.clone())).collect()),
            },
        );
        let has_execve = self.has_execve;
        for (key, value) in self.syscall {
            if has_execve && matches!(key.as_ref(), "a0" | "a1" | "a2" | "a3") {
                continue;
            }
            f.set(key, Value::Str(value));
        }
        if let Some(argc) = self.argc {
            f.set("argc", i64::try_from(argc).unwrap_or(i64::MAX));
        }
        for (i, arg) in args.into_iter().enumerate() {
            match ARG_NAMES.get(i) {
                Some(name) => f.set(*name, Value::Str(arg)),
                None => f.set(format!("a{i}"), Value::Str(arg)),
            }
        }
        if let Some(cwd) = &self.cwd {
            f.set("cwd", cwd.as_str());
        }
        if let Some(title) = &self.proctitle {
            f.set("proctitle", title.as_str());
        }
        if !self.path_names.is_empty() {
            f.set("name", list(&self.path_names));
        }
        if !self.path_types.is_empty() {
            f.set("nametype", list(&self.path_types));
        }
        for (key, value) in self.other.into_iter().chain(self.enriched) {
            if f.get(&key).is_none() {
                f.set(key, Value::Str(value));
            }
        }
        event.fields = f;
        (event, warning)
    }
}

fn list(items: &[String]) -> Value {
    match items {
        [one] => Value::Str(one.clone()),
        many => Value::List(many.iter().map(|s| Value::Str(s.clone())).collect()),
    }
}

fn push_first(out: &mut Vec<(FieldName, String)>, key: &str, value: String) {
    if !out.iter().any(|(k, _)| k == key) {
        out.push((intern(key), value));
    }
}

/// The names auditd writes most are shared, not allocated per record.
fn intern(key: &str) -> FieldName {
    macro_rules! known {
        ($($name:literal),* $(,)?) => {
            match key {
                $($name => Some($name),)*
                _ => None,
            }
        };
    }
    let known: Option<&'static str> = known!(
        "arch",
        "syscall",
        "success",
        "exit",
        "a0",
        "a1",
        "a2",
        "a3",
        "items",
        "ppid",
        "pid",
        "auid",
        "uid",
        "gid",
        "euid",
        "suid",
        "fsuid",
        "egid",
        "sgid",
        "fsgid",
        "tty",
        "ses",
        "comm",
        "exe",
        "subj",
        "key",
        "item",
        "name",
        "inode",
        "dev",
        "mode",
        "ouid",
        "ogid",
        "rdev",
        "nametype",
        "cap_fp",
        "cap_fi",
        "cap_fe",
        "cap_fver",
        "cap_frootid",
        "cwd",
        "argc",
        "proctitle",
        "op",
        "acct",
        "hostname",
        "addr",
        "terminal",
        "res",
        "id",
        "obj",
        "ARCH",
        "SYSCALL",
        "AUID",
        "UID",
        "GID",
        "EUID",
        "SUID",
        "FSUID",
        "EGID",
        "SGID",
        "FSGID",
        "OUID",
        "OGID",
    );
    match known {
        Some(k) => Cow::Borrowed(k),
        None => Cow::Owned(key.to_owned()),
    }
}

/// `a0`... names for the first arguments.
const ARG_NAMES: [&str; 16] = [
    "a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8", "a9", "a10", "a11", "a12", "a13", "a14",
    "a15",
];

/// Processes whose exec was seen, by pid, so a child's exec can name its parent. Bounded:
/// the oldest entries are forgotten first.
#[derive(Debug, Default)]
pub(crate) struct ProcessTable {
    entries: HashMap<i64, (u64, String, String)>,
    order: VecDeque<(i64, u64)>,
    generation: u64,
}

/// Processes remembered per file.
const PROCESS_TABLE_SIZE: usize = 8192;

impl ProcessTable {
    /// Remembers a process's image and command line.
    pub(crate) fn insert(&mut self, pid: i64, image: String, command_line: String) {
        self.generation += 1;
        self.entries
            .insert(pid, (self.generation, image, command_line));
        self.order.push_back((pid, self.generation));
        while self.order.len() > PROCESS_TABLE_SIZE {
            let Some((old_pid, generation)) = self.order.pop_front() else {
                break;
            };
            if self.entries.get(&old_pid).map(|e| e.0) == Some(generation) {
                self.entries.remove(&old_pid);
            }
        }
    }

    /// A process's image and command line, when its exec was seen.
    pub(crate) fn get(&self, pid: i64) -> Option<(&str, &str)> {
        self.entries
            .get(&pid)
            .map(|(_, image, cl)| (image.as_str(), cl.as_str()))
    }
}

/// The Sigma category of a Sysmon event id.
pub fn sysmon_category(event_id: i64) -> Option<&'static str> {
    Some(match event_id {
        1 => "process_creation",
        3 => "network_connection",
        5 => "process_termination",
        9 => "raw_access_thread",
        11 => "file_event",
        23 => "file_delete",
        26 => "file_delete_detected",
        4 | 16 => "sysmon_status",
        255 => "sysmon_error",
        _ => return None,
    })
}

/// The logsource of a Sysmon for Linux event.
pub fn sysmon_linux_logsource(event_id: i64) -> LogSource {
    LogSource {
        product: Some(Cow::Borrowed("linux")),
        category: sysmon_category(event_id).map(Cow::Borrowed),
        service: Some(Cow::Borrowed("sysmon")),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn kv_and_hex() {
        let pairs = kv_pairs(
            r#"a0="ls" a1=2D6C6120666F6F exe=2F746D702F6D7920626172 key=(null) msg='op=x acct="r"'"#,
        );
        let decoded: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, r)| ((*k).to_owned(), decode(k, r)))
            .collect();
        assert_eq!(decoded[0], ("a0".into(), "ls".into()));
        assert_eq!(decoded[2], ("exe".into(), "/tmp/my bar".into()));
        assert_eq!(decoded[3], ("key".into(), "(null)".into()));
        assert_eq!(decoded[4], ("msg".into(), "op=x acct=\"r\"".into()));
    }

    #[test]
    fn split_arguments() {
        let mut e = AuditEvent::new("1.5:7", None).unwrap();
        e.add_record(
            "EXECVE",
            "argc=3 a0=\"echo\" a1_len=6 a1[0]=616263 a1[1]=646566",
        );
        e.add_record("EXECVE", "a2=\"x\"");
        let (args, missing) = e.arguments();
        assert_eq!(args, ["echo", "abcdef", "x"]);
        assert!(!missing);
        assert_eq!(e.time.unwrap().to_string(), "1970-01-01T00:00:01.5Z");
    }

    #[test]
    fn process_table_is_bounded() {
        let mut t = ProcessTable::default();
        for pid in 0..(PROCESS_TABLE_SIZE as i64 + 10) {
            t.insert(pid, "i".into(), "c".into());
        }
        assert!(t.get(0).is_none());
        assert!(t.get(PROCESS_TABLE_SIZE as i64 + 9).is_some());
        assert!(t.entries.len() <= PROCESS_TABLE_SIZE);
    }
}
