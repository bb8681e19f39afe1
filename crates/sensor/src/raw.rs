//! Records as the kernel side writes them (`bpf/sockhunt.h`), decoded without `unsafe`.
//!
//! Offsets are spelled out rather than transmuted from `#[repr(C)]` structs: a record is
//! bytes from the kernel, and a short or garbled one must become an error, not
//! undefined behaviour. The layout tests at the bottom pin every offset to the C header.

use serde::Serialize;

/// Kinds in `sh_hdr.kind`.
mod kind {
    pub(super) const EXEC: u32 = 1;
    pub(super) const FILE: u32 = 2;
    pub(super) const SOCK_DIAG_SOCKET: u32 = 3;
    pub(super) const SOCK_DIAG_SEND: u32 = 4;
    pub(super) const EXIT: u32 = 5;
    pub(super) const FORK: u32 = 6;
}

/// Number of slots in the kernel's drop counter map (`SH_KIND_MAX`).
pub(crate) const KIND_SLOTS: u32 = 8;

const F_ARGV_TRUNCATED: u32 = 1 << 0;
const F_PATH_TRUNCATED: u32 = 1 << 1;
const F_CWD_TRUNCATED: u32 = 1 << 2;
const F_HEADER_UNREAD: u32 = 1 << 3;

const HDR_LEN: usize = 56;
const EXEC_LEN: usize = 5640;
const FILE_LEN: usize = 1232;
const SOCKET_LEN: usize = 72;
const SEND_LEN: usize = 80;
const EXIT_LEN: usize = 64;
const FORK_LEN: usize = HDR_LEN;
const PATH_TOTAL: usize = 1024 + 128;

/// Fields every record carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RawHeader {
    /// Nanoseconds since boot (`CLOCK_BOOTTIME`) when the hook ran.
    pub boot_ns: u64,
    /// Process id (thread-group id).
    pub pid: u32,
    /// Thread id.
    pub tid: u32,
    /// Parent process id (`real_parent`).
    pub ppid: u32,
    /// Real user id.
    pub uid: u32,
    /// Real group id.
    pub gid: u32,
    /// Kernel task name (at most 15 bytes).
    pub comm: String,
}

/// A process replaced its image (`sched_process_exec`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RawExec {
    /// Common fields; `comm` is already the new image's name.
    pub header: RawHeader,
    /// cgroup v2 id of the process.
    pub cgroup_id: u64,
    /// Inode number of the network namespace.
    pub netns: u32,
    /// Audit login session id; `u32::MAX` when unset.
    pub session_id: u32,
    /// Audit login uid; `u32::MAX` when unset.
    pub login_uid: u32,
    /// The path given to `execve` (may be relative to `cwd`).
    pub filename: String,
    /// Controlling terminal name (`pts0`), empty when none.
    pub tty: String,
    /// Working directory, absolute.
    pub cwd: String,
    /// Whether the cwd walk stopped before the root.
    pub cwd_truncated: bool,
    /// Arguments, as the new image sees them.
    pub argv: Vec<String>,
    /// Whether the arguments were longer than the kernel side keeps.
    pub argv_truncated: bool,
}

/// Why a file open was reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    /// A file in a procfs `net` directory (`/proc/<pid>/net/tcp`).
    ProcNet,
    /// utmp, wtmp, btmp, lastlog (and their `.db` successors).
    SessionDb,
}

/// A successful open of a network table or session database, resolved from the fd.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RawFile {
    /// Common fields.
    pub header: RawHeader,
    /// What the file is.
    pub kind: FileKind,
    /// x86_64 syscall number (2 open, 257 openat, 437 openat2).
    pub syscall_nr: u32,
    /// The returned descriptor.
    pub fd: i32,
    /// `file->f_flags`.
    pub flags: u32,
    /// Absolute path the kernel resolved (procfs: `/proc/<pid>/net/tcp`).
    pub path: String,
    /// Whether the path walk stopped before the root.
    pub path_truncated: bool,
}

/// A `NETLINK_SOCK_DIAG` socket was created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RawSockDiagSocket {
    /// Common fields.
    pub header: RawHeader,
    /// The returned descriptor.
    pub fd: i32,
    /// `socket()` type argument (with `SOCK_CLOEXEC`/`SOCK_NONBLOCK` bits).
    pub sock_type: u32,
}

/// A message was sent on a `NETLINK_SOCK_DIAG` socket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RawSockDiagSend {
    /// Common fields.
    pub header: RawHeader,
    /// x86_64 syscall number of the send (46 sendmsg, 44 sendto, 1 write...).
    pub syscall_nr: u32,
    /// Bytes the send returned.
    pub sent: i32,
    /// Whether the request header could be read from the sender's memory; when false
    /// the netlink fields are zero.
    pub header_read: bool,
    /// `nlmsg_len` of the first message.
    pub nlmsg_len: u32,
    /// `nlmsg_type` (20 = `SOCK_DIAG_BY_FAMILY`).
    pub nlmsg_type: u16,
    /// `nlmsg_flags` (0x301 = request + dump).
    pub nlmsg_flags: u16,
    /// `sdiag_family` of the request (2 inet, 10 inet6, 1 unix...).
    pub sdiag_family: u8,
    /// `sdiag_protocol` (6 tcp, 17 udp...; 0 for unix).
    pub sdiag_protocol: u8,
    /// Socket-state bitmask requested.
    pub states: u32,
}

/// A process (its last thread) ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RawExit {
    /// Common fields.
    pub header: RawHeader,
    /// `task->exit_code` as the kernel holds it (status << 8 | signal).
    pub exit_code: i32,
}

/// A new process (not a thread) was forked; `header.pid` is the child.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RawFork {
    /// Common fields of the child.
    pub header: RawHeader,
}

/// One decoded record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RawEvent {
    /// `sched_process_exec`.
    Exec(RawExec),
    /// Open of a network table or session database.
    File(RawFile),
    /// `socket(AF_NETLINK, *, NETLINK_SOCK_DIAG)`.
    SockDiagSocket(RawSockDiagSocket),
    /// Send on a sock_diag socket.
    SockDiagSend(RawSockDiagSend),
    /// End of a process.
    Exit(RawExit),
    /// New process.
    Fork(RawFork),
}

impl RawEvent {
    /// The common fields.
    pub fn header(&self) -> &RawHeader {
        match self {
            RawEvent::Exec(e) => &e.header,
            RawEvent::File(e) => &e.header,
            RawEvent::SockDiagSocket(e) => &e.header,
            RawEvent::SockDiagSend(e) => &e.header,
            RawEvent::Exit(e) => &e.header,
            RawEvent::Fork(e) => &e.header,
        }
    }

    /// Decodes one ring-buffer record.
    pub fn decode(b: &[u8]) -> Result<RawEvent, DecodeError> {
        let kind = u32_at(b, 0).ok_or(DecodeError::Short {
            len: b.len(),
            need: 4,
        })?;
        let need = match kind {
            kind::EXEC => EXEC_LEN,
            kind::FILE => FILE_LEN,
            kind::SOCK_DIAG_SOCKET => SOCKET_LEN,
            kind::SOCK_DIAG_SEND => SEND_LEN,
            kind::EXIT => EXIT_LEN,
            kind::FORK => FORK_LEN,
            other => return Err(DecodeError::UnknownKind(other)),
        };
        if b.len() < need {
            return Err(DecodeError::Short { len: b.len(), need });
        }
        let r = Reader(b);
        let flags = r.u32(4);
        let header = RawHeader {
            boot_ns: r.u64(8),
            pid: r.u32(16),
            tid: r.u32(20),
            ppid: r.u32(24),
            uid: r.u32(28),
            gid: r.u32(32),
            comm: r.cstr(40, 16),
        };
        Ok(match kind {
            kind::EXEC => {
                let argv_len = (r.u32(76) as usize).min(4096);
                let filename_len = (r.u32(88) as usize).min(256);
                let tty_len = (r.u32(92) as usize).min(32);
                RawEvent::Exec(RawExec {
                    header,
                    cgroup_id: r.u64(56),
                    netns: r.u32(64),
                    session_id: r.u32(68),
                    login_uid: r.u32(72),
                    filename: r.text(128, filename_len),
                    tty: r.text(96, tty_len),
                    cwd: r.path(384),
                    cwd_truncated: flags & F_CWD_TRUNCATED != 0,
                    argv: split_argv(&b[1544..1544 + argv_len]),
                    argv_truncated: flags & F_ARGV_TRUNCATED != 0,
                })
            }
            kind::FILE => RawEvent::File(RawFile {
                header,
                kind: match r.u32(56) {
                    2 => FileKind::SessionDb,
                    _ => FileKind::ProcNet,
                },
                syscall_nr: r.u32(60),
                fd: r.i32(64),
                flags: r.u32(68),
                path: r.path(72),
                path_truncated: flags & F_PATH_TRUNCATED != 0,
            }),
            kind::SOCK_DIAG_SOCKET => RawEvent::SockDiagSocket(RawSockDiagSocket {
                header,
                fd: r.i32(56),
                sock_type: r.u32(64),
            }),
            kind::SOCK_DIAG_SEND => RawEvent::SockDiagSend(RawSockDiagSend {
                header,
                syscall_nr: r.u32(56),
                sent: r.i32(60),
                header_read: flags & F_HEADER_UNREAD == 0,
                nlmsg_len: r.u32(64),
                nlmsg_type: r.u16(68),
                nlmsg_flags: r.u16(70),
                sdiag_family: b[72],
                sdiag_protocol: b[73],
                states: r.u32(76),
            }),
            kind::EXIT => RawEvent::Exit(RawExit {
                header,
                exit_code: r.i32(56),
            }),
            _ => RawEvent::Fork(RawFork { header }),
        })
    }
}

/// A record that could not be decoded (counted as a user-side drop).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Fewer bytes than the record kind needs.
    #[error("record of {len} bytes, its kind needs {need}")]
    Short {
        /// Bytes received.
        len: usize,
        /// Bytes the kind needs.
        need: usize,
    },
    /// A kind this build does not know (object and loader out of step).
    #[error("unknown record kind {0}")]
    UnknownKind(u32),
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    let bytes = b.get(at..at + 4)?;
    Some(u32::from_ne_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
}

/// Reads fields of a record whose length was checked against its kind.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn bytes<const N: usize>(&self, at: usize) -> [u8; N] {
        let mut out = [0u8; N];
        if let Some(src) = self.0.get(at..at + N) {
            out.copy_from_slice(src);
        }
        out
    }
    fn u16(&self, at: usize) -> u16 {
        u16::from_ne_bytes(self.bytes(at))
    }
    fn u32(&self, at: usize) -> u32 {
        u32::from_ne_bytes(self.bytes(at))
    }
    fn i32(&self, at: usize) -> i32 {
        i32::from_ne_bytes(self.bytes(at))
    }
    fn u64(&self, at: usize) -> u64 {
        u64::from_ne_bytes(self.bytes(at))
    }
    /// A NUL-terminated string in a fixed field.
    fn cstr(&self, at: usize, cap: usize) -> String {
        let field = self.0.get(at..at + cap).unwrap_or_default();
        let end = field.iter().position(|&c| c == 0).unwrap_or(field.len());
        String::from_utf8_lossy(&field[..end]).into_owned()
    }
    /// A string of known length (stops early at a NUL all the same).
    fn text(&self, at: usize, len: usize) -> String {
        self.cstr(at, len)
    }
    /// A `struct sh_path`: components leaf first, NUL-separated.
    fn path(&self, at: usize) -> String {
        let len = (self.u32(at) as usize).min(PATH_TOTAL);
        let depth = self.u32(at + 4) as usize;
        let buf = self.0.get(at + 8..at + 8 + len).unwrap_or_default();
        let mut parts: Vec<&[u8]> = buf
            .split(|&c| c == 0)
            .filter(|p| !p.is_empty())
            .take(depth.max(1))
            .collect();
        parts.reverse();
        let mut out = String::new();
        for part in parts {
            out.push('/');
            out.push_str(&String::from_utf8_lossy(part));
        }
        if out.is_empty() {
            out.push('/');
        }
        out
    }
}

/// argv as the kernel keeps it: NUL-terminated strings back to back.
fn split_argv(b: &[u8]) -> Vec<String> {
    let b = b.strip_suffix(&[0]).unwrap_or(b);
    if b.is_empty() {
        return Vec::new();
    }
    b.split(|&c| c == 0)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn header(kind: u32, len: usize) -> Vec<u8> {
        let mut b = vec![0u8; len];
        b[0..4].copy_from_slice(&kind.to_ne_bytes());
        b[8..16].copy_from_slice(&123u64.to_ne_bytes());
        b[16..20].copy_from_slice(&42u32.to_ne_bytes());
        b[20..24].copy_from_slice(&43u32.to_ne_bytes());
        b[24..28].copy_from_slice(&1u32.to_ne_bytes());
        b[28..32].copy_from_slice(&1000u32.to_ne_bytes());
        b[32..36].copy_from_slice(&100u32.to_ne_bytes());
        b[40..43].copy_from_slice(b"cat");
        b
    }

    fn put_path(b: &mut [u8], at: usize, leaf_first: &[&str]) {
        let mut off = 0;
        for c in leaf_first {
            b[at + 8 + off..at + 8 + off + c.len()].copy_from_slice(c.as_bytes());
            off += c.len() + 1;
        }
        b[at..at + 4].copy_from_slice(&(off as u32).to_ne_bytes());
        b[at + 4..at + 8].copy_from_slice(&(leaf_first.len() as u32).to_ne_bytes());
    }

    #[test]
    fn decodes_a_file_record() {
        let mut b = header(kind::FILE, FILE_LEN);
        b[56..60].copy_from_slice(&1u32.to_ne_bytes());
        b[60..64].copy_from_slice(&257u32.to_ne_bytes());
        b[64..68].copy_from_slice(&3i32.to_ne_bytes());
        put_path(&mut b, 72, &["tcp", "net", "42", "proc"]);
        let RawEvent::File(f) = RawEvent::decode(&b).unwrap() else {
            panic!("not a file record")
        };
        assert_eq!(f.path, "/proc/42/net/tcp");
        assert_eq!(f.kind, FileKind::ProcNet);
        assert_eq!(f.syscall_nr, 257);
        assert_eq!(f.fd, 3);
        assert_eq!(f.header.pid, 42);
        assert_eq!(f.header.tid, 43);
        assert_eq!(f.header.uid, 1000);
        assert_eq!(f.header.comm, "cat");
    }

    #[test]
    fn decodes_an_exec_record_with_argv() {
        let mut b = header(kind::EXEC, EXEC_LEN);
        let argv = b"ss\0-tan\0";
        b[1544..1544 + argv.len()].copy_from_slice(argv);
        b[76..80].copy_from_slice(&(argv.len() as u32).to_ne_bytes());
        b[128..139].copy_from_slice(b"/usr/bin/ss");
        b[88..92].copy_from_slice(&11u32.to_ne_bytes());
        put_path(&mut b, 384, &["root"]);
        b[4..8].copy_from_slice(&F_ARGV_TRUNCATED.to_ne_bytes());
        let RawEvent::Exec(e) = RawEvent::decode(&b).unwrap() else {
            panic!("not an exec record")
        };
        assert_eq!(e.argv, ["ss", "-tan"]);
        assert_eq!(e.filename, "/usr/bin/ss");
        assert_eq!(e.cwd, "/root");
        assert!(e.argv_truncated);
        assert!(!e.cwd_truncated);
    }

    #[test]
    fn root_path_and_empty_argv() {
        let b = header(kind::EXEC, EXEC_LEN);
        let RawEvent::Exec(e) = RawEvent::decode(&b).unwrap() else {
            panic!("not an exec record")
        };
        assert_eq!(e.cwd, "/");
        assert!(e.argv.is_empty());
    }

    #[test]
    fn short_and_unknown_records_are_errors() {
        assert_eq!(
            RawEvent::decode(&header(kind::EXEC, 100)),
            Err(DecodeError::Short {
                len: 100,
                need: EXEC_LEN
            })
        );
        assert_eq!(
            RawEvent::decode(&header(99, 100)),
            Err(DecodeError::UnknownKind(99))
        );
        assert!(RawEvent::decode(&[1, 0]).is_err());
    }

    #[test]
    fn sizes_match_the_c_header() {
        // The constants mirror `bpf/sockhunt.h`; the header states the same sizes in
        // its comments-free structs, so check the arithmetic from the field lists.
        assert_eq!(HDR_LEN, 4 + 4 + 8 + 6 * 4 + 16);
        assert_eq!(
            EXEC_LEN,
            HDR_LEN + 8 + 4 * 4 + 8 + 4 + 4 + 32 + 256 + (8 + PATH_TOTAL) + 4096
        );
        assert_eq!(FILE_LEN, HDR_LEN + 16 + 8 + PATH_TOTAL);
        assert_eq!(SOCKET_LEN, HDR_LEN + 16);
        assert_eq!(SEND_LEN, HDR_LEN + 24);
        assert_eq!(EXIT_LEN, HDR_LEN + 8);
        assert_eq!(FORK_LEN, HDR_LEN);
    }

    proptest::proptest! {
        /// Whatever the bytes, decoding returns a record or an error, never a panic.
        #[test]
        fn decoding_arbitrary_bytes_never_panics(
            kind in 0u32..10,
            body in proptest::collection::vec(proptest::num::u8::ANY, 0..6000),
        ) {
            let mut b = kind.to_ne_bytes().to_vec();
            b.extend_from_slice(&body);
            let _ = RawEvent::decode(&b);
        }
    }
}
