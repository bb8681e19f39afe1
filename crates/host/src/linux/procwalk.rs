//! Socket owners from one walk of `/proc/<pid>/fd`.
//!
//! Each descriptor costs one `readlinkat` relative to its process's `fd` directory, which
//! is the minimum `/proc` allows; processes are walked in parallel. The result maps socket
//! inodes (global across network namespaces) to the pids holding them. Only inodes the
//! caller asked about are recorded, so the map stays the size of the answer.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use nix::dir::Dir;
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::stat::Mode;
use rayon::prelude::*;

use crate::connections::Process;

/// When at most this many sockets are wanted, the walk stops once each has an owner.
pub const EARLY_STOP_MAX: usize = 64;

/// What the walk found and what it could not see.
#[derive(Debug, Default)]
pub struct Walk {
    /// `(wanted index, pid)` pairs, sorted and without repeats: the index is the position
    /// in the caller's inode list. A flat list costs 8 bytes per owner, where a list per
    /// socket would cost an allocation per socket.
    pub hits: Vec<(u32, u32)>,
    /// Processes whose descriptors could not be read (permission denied).
    pub denied: Vec<u32>,
    /// Processes that exited while being walked.
    pub exited: usize,
    /// Processes walked.
    pub scanned: usize,
    /// The walk stopped before visiting every process.
    pub stopped_early: bool,
    /// `/proc` itself could not be listed.
    pub proc_error: Option<String>,
}

/// Options of a walk.
#[derive(Debug, Clone, Default)]
pub struct WalkOptions {
    /// Walk only these pids (empty: every process).
    pub pids: Vec<u32>,
    /// Stop once every wanted inode has one owner (only honoured for few inodes).
    pub early_stop: bool,
}

/// Finds the processes holding each of `inodes` (the index in the result is the index
/// in `inodes`; inode 0 is never matched).
pub fn find_owners(inodes: &[u64], opts: &WalkOptions) -> Walk {
    let mut walk = Walk::default();
    let mut index: HashMap<u64, u32> = HashMap::with_capacity(inodes.len());
    for (i, &ino) in inodes.iter().enumerate() {
        if ino != 0 {
            index.insert(ino, u32::try_from(i).unwrap_or(u32::MAX));
        }
    }
    if index.is_empty() {
        return walk;
    }
    let pids = if opts.pids.is_empty() {
        match list_pids() {
            Ok(p) => p,
            Err(e) => {
                walk.proc_error = Some(e);
                return walk;
            }
        }
    } else {
        opts.pids.clone()
    };

    let early = opts.early_stop && index.len() <= EARLY_STOP_MAX;
    let found: Vec<AtomicBool> = if early {
        (0..inodes.len()).map(|_| AtomicBool::new(false)).collect()
    } else {
        Vec::new()
    };
    let remaining = AtomicUsize::new(index.len());
    let stopped = AtomicBool::new(false);

    struct Part {
        hits: Vec<(u32, u32)>,
        denied: Vec<u32>,
        exited: usize,
        scanned: usize,
    }
    let empty = || Part {
        hits: Vec::new(),
        denied: Vec::new(),
        exited: 0,
        scanned: 0,
    };
    let part = pids
        .par_iter()
        .with_min_len(8)
        .fold(empty, |mut part, &pid| {
            if early && remaining.load(Ordering::Relaxed) == 0 {
                stopped.store(true, Ordering::Relaxed);
                return part;
            }
            part.scanned += 1;
            match scan_pid(pid, &index, &mut part.hits) {
                Ok(new_hits) => {
                    if early {
                        for &(idx, _) in &part.hits[part.hits.len() - new_hits..] {
                            if let Some(flag) = found.get(idx as usize) {
                                if !flag.swap(true, Ordering::Relaxed) {
                                    remaining.fetch_sub(1, Ordering::Relaxed);
                                }
                            }
                        }
                    }
                }
                Err(Errno::EACCES | Errno::EPERM) => part.denied.push(pid),
                Err(Errno::ENOENT | Errno::ESRCH) => part.exited += 1,
                Err(_) => part.denied.push(pid),
            }
            part
        })
        .reduce(empty, |mut a, mut b| {
            if a.hits.len() < b.hits.len() {
                std::mem::swap(&mut a, &mut b);
            }
            a.hits.extend_from_slice(&b.hits);
            a.denied.extend_from_slice(&b.denied);
            a.exited += b.exited;
            a.scanned += b.scanned;
            a
        });

    walk.hits = part.hits;
    walk.hits.sort_unstable();
    walk.hits.dedup();
    walk.denied = part.denied;
    walk.denied.sort_unstable();
    walk.exited = part.exited;
    walk.scanned = part.scanned;
    walk.stopped_early = stopped.load(Ordering::Relaxed);
    walk
}

/// Numeric entries of `/proc`: every process (threads share their leader's table).
pub fn list_pids() -> Result<Vec<u32>, String> {
    let rd = fs_err::read_dir("/proc").map_err(|e| e.to_string())?;
    let mut pids = Vec::with_capacity(512);
    for entry in rd.flatten() {
        if let Some(pid) = parse_u32(entry.file_name().as_bytes()) {
            pids.push(pid);
        }
    }
    Ok(pids)
}

/// Reads one process's descriptor table, pushing `(wanted index, pid)` for each socket
/// descriptor whose inode is wanted. Returns how many hits were added.
fn scan_pid(
    pid: u32,
    index: &HashMap<u64, u32>,
    hits: &mut Vec<(u32, u32)>,
) -> Result<usize, Errno> {
    let mut path = [0u8; 32];
    let path = fmt_path(&mut path, b"/proc/", pid, b"/fd");
    let mut dir = Dir::open(
        path,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?;
    // Kernel threads have no descriptor table: the listing is empty and costs nothing more.
    let mut fds: Vec<u32> = Vec::new();
    for entry in dir.iter() {
        match entry {
            Ok(e) => {
                if let Some(fd) = parse_u32(e.file_name().to_bytes()) {
                    fds.push(fd);
                }
            }
            Err(e) => return Err(e),
        }
    }
    let before = hits.len();
    let mut name = [0u8; 12];
    for fd in fds {
        let n = fmt_u32(&mut name, fd);
        let target = match nix::fcntl::readlinkat(&dir, &name[..n]) {
            Ok(t) => t,
            // The descriptor table can be listable while its links are not (a process
            // protected against ptrace, even from root): every link will fail alike.
            Err(e @ (Errno::EACCES | Errno::EPERM)) => return Err(e),
            // The descriptor was closed between listing and reading: not an error.
            Err(_) => continue,
        };
        if let Some(inode) = socket_inode(&target) {
            if let Some(&idx) = index.get(&inode) {
                hits.push((idx, pid));
            }
        }
    }
    Ok(hits.len() - before)
}

/// Parses a descriptor link target `socket:[12345]`.
pub fn socket_inode(target: &OsStr) -> Option<u64> {
    let b = target.as_bytes();
    let rest = b.strip_prefix(b"socket:[")?;
    let digits = rest.strip_suffix(b"]")?;
    parse_u64(digits)
}

/// Details of the owning processes, read once per process. A process that exited since
/// the walk keeps its pid with empty details.
pub fn process_details(pids: &[u32]) -> HashMap<u32, Arc<Process>> {
    let users = UserNames::default();
    let list: Vec<Process> = pids.par_iter().map(|&pid| read_process(pid)).collect();
    list.into_iter()
        .map(|mut p| {
            p.user = p.uid.map(|uid| users.name(uid));
            (p.pid, Arc::new(p))
        })
        .collect()
}

fn read_process(pid: u32) -> Process {
    let base = format!("/proc/{pid}");
    let comm = std::fs::read(format!("{base}/comm")).ok().map(|mut b| {
        if b.last() == Some(&b'\n') {
            b.pop();
        }
        String::from_utf8_lossy(&b).into_owned()
    });
    let exe = std::fs::read_link(format!("{base}/exe"))
        .ok()
        .map(|p| p.to_string_lossy().into_owned());
    let cmdline = std::fs::read(format!("{base}/cmdline")).ok().map(|b| {
        let trimmed = b.strip_suffix(b"\0").unwrap_or(&b);
        let joined: Vec<u8> = trimmed
            .iter()
            .map(|&c| if c == 0 { b' ' } else { c })
            .collect();
        String::from_utf8_lossy(&joined).into_owned()
    });
    let uid = std::fs::read(format!("{base}/status"))
        .ok()
        .and_then(|b| status_uid(&b));
    Process {
        pid,
        comm,
        exe,
        cmdline,
        uid,
        user: None,
    }
}

/// The real uid from the `Uid:` line of `/proc/<pid>/status`.
fn status_uid(status: &[u8]) -> Option<u32> {
    let start = memchr::memmem::find(status, b"\nUid:")? + 5;
    let line = &status[start..];
    let line = &line[..memchr::memchr(b'\n', line).unwrap_or(line.len())];
    let field = line
        .split(|c| c.is_ascii_whitespace())
        .find(|f| !f.is_empty())?;
    parse_u32(field)
}

/// Uid to user name, looked up once per uid.
#[derive(Default)]
pub struct UserNames {
    cache: std::sync::Mutex<HashMap<u32, String>>,
}

impl UserNames {
    /// The user name of a uid, or the uid as text when it has none.
    pub fn name(&self, uid: u32) -> String {
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache
            .entry(uid)
            .or_insert_with(|| {
                uzers::get_user_by_uid(uid)
                    .map(|u| u.name().to_string_lossy().into_owned())
                    .unwrap_or_else(|| uid.to_string())
            })
            .clone()
    }
}

fn fmt_path<'a>(buf: &'a mut [u8; 32], prefix: &[u8], n: u32, suffix: &[u8]) -> &'a [u8] {
    let mut num = [0u8; 12];
    let len = fmt_u32(&mut num, n);
    let mut i = 0;
    for part in [prefix, &num[..len], suffix] {
        buf[i..i + part.len()].copy_from_slice(part);
        i += part.len();
    }
    &buf[..i]
}

fn fmt_u32(buf: &mut [u8; 12], mut n: u32) -> usize {
    let mut tmp = [0u8; 12];
    let mut i = 0;
    loop {
        tmp[i] = b'0' + (n % 10) as u8;
        i += 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for j in 0..i {
        buf[j] = tmp[i - 1 - j];
    }
    i
}

fn parse_u32(b: &[u8]) -> Option<u32> {
    parse_u64(b).and_then(|v| u32::try_from(v).ok())
}

fn parse_u64(b: &[u8]) -> Option<u64> {
    if b.is_empty() || b.len() > 20 {
        return None;
    }
    let mut v: u64 = 0;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
    Some(v)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_socket_links() {
        assert_eq!(socket_inode(OsStr::new("socket:[12345]")), Some(12345));
        assert_eq!(socket_inode(OsStr::new("pipe:[12345]")), None);
        assert_eq!(socket_inode(OsStr::new("socket:[]")), None);
        assert_eq!(socket_inode(OsStr::new("/dev/null")), None);
    }

    #[test]
    fn formats_paths_without_allocating() {
        let mut buf = [0u8; 32];
        assert_eq!(fmt_path(&mut buf, b"/proc/", 0, b"/fd"), b"/proc/0/fd");
        let mut buf = [0u8; 32];
        assert_eq!(
            fmt_path(&mut buf, b"/proc/", u32::MAX, b"/fd"),
            b"/proc/4294967295/fd"
        );
    }

    #[test]
    fn status_uid_reads_real_uid() {
        let s = b"Name:\tbash\nUmask:\t0022\nState:\tS\nUid:\t1000\t1000\t1000\t1000\nGid:\t0\n";
        assert_eq!(status_uid(s), Some(1000));
        assert_eq!(status_uid(b"Name: x\n"), None);
    }

    #[test]
    fn finds_own_socket() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let _ = l;
        let me = std::process::id();
        let pids = vec![me];
        // Our own listener's inode via its descriptor link.
        use std::os::fd::AsRawFd;
        let link = std::fs::read_link(format!("/proc/self/fd/{}", l.as_raw_fd())).unwrap();
        let ino = socket_inode(link.as_os_str()).unwrap();
        let walk = find_owners(
            &[ino, 0],
            &WalkOptions {
                pids,
                early_stop: false,
            },
        );
        assert_eq!(walk.hits, vec![(0, me)]);
        let all = find_owners(
            &[ino],
            &WalkOptions {
                pids: Vec::new(),
                early_stop: true,
            },
        );
        assert_eq!(all.hits, vec![(0, me)]);
    }
}
