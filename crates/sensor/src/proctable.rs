//! Which process is which: seeded from `/proc` at start, then kept current from exec,
//! fork and exit records, so a parent's image and command line are known even for
//! processes that started before the sensor and for children that never exec.

use std::collections::HashMap;
use std::path::Path;

/// What the sensor knows about one process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcInfo {
    /// Parent process id.
    pub ppid: u32,
    /// Executable path.
    pub image: String,
    /// Arguments joined by spaces.
    pub command_line: String,
    /// Kernel task name.
    pub comm: String,
    /// Real user id.
    pub uid: u32,
    /// `CLOCK_BOOTTIME` nanoseconds of its exit, once it has exited.
    exited_at: Option<u64>,
}

impl ProcInfo {
    /// A process known by name only (a record arrived for a pid the table never saw).
    pub fn from_comm(ppid: u32, uid: u32, comm: &str) -> Self {
        ProcInfo {
            ppid,
            image: String::new(),
            command_line: String::new(),
            comm: comm.to_owned(),
            uid,
            exited_at: None,
        }
    }
}

/// How long an exited process stays in the table: records of its children and its own
/// last opens can still be in flight when its exit is read.
const EXITED_GRACE_NS: u64 = 5_000_000_000;

/// Process table keyed by process id.
#[derive(Debug, Default)]
pub struct ProcTable {
    procs: HashMap<u32, ProcInfo>,
}

impl ProcTable {
    /// An empty table.
    pub fn new() -> Self {
        ProcTable::default()
    }

    /// A table holding every process now in `proc_root` (normally `/proc`). Processes
    /// that vanish while being read are skipped; kernel threads have no image.
    pub fn seed(proc_root: &Path) -> std::io::Result<Self> {
        let mut table = ProcTable::new();
        for entry in fs_err::read_dir(proc_root)? {
            let Ok(entry) = entry else { continue };
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<u32>().ok())
            else {
                continue;
            };
            if let Some(info) = read_proc(&entry.path()) {
                table.procs.insert(pid, info);
            }
        }
        Ok(table)
    }

    /// Number of processes known (exited ones still in their grace period included).
    pub fn len(&self) -> usize {
        self.procs.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.procs.is_empty()
    }

    /// A process by id.
    pub fn get(&self, pid: u32) -> Option<&ProcInfo> {
        self.procs.get(&pid)
    }

    /// A process by id, reading `/proc/<pid>` when the table has not seen it (a record
    /// may name a process whose fork the table missed).
    pub fn get_or_probe(&mut self, pid: u32) -> Option<&ProcInfo> {
        match self.procs.entry(pid) {
            std::collections::hash_map::Entry::Occupied(known) => Some(known.into_mut()),
            std::collections::hash_map::Entry::Vacant(slot) => {
                let info = read_proc(&Path::new("/proc").join(pid.to_string()))?;
                Some(slot.insert(info))
            }
        }
        .map(|info| &*info)
    }

    /// A process replaced its image.
    pub fn exec(
        &mut self,
        pid: u32,
        ppid: u32,
        uid: u32,
        image: String,
        command_line: String,
        comm: &str,
    ) {
        self.procs.insert(
            pid,
            ProcInfo {
                ppid,
                image,
                command_line,
                comm: comm.to_owned(),
                uid,
                exited_at: None,
            },
        );
    }

    /// A new process starts as a copy of its parent.
    pub fn fork(&mut self, pid: u32, ppid: u32, uid: u32, comm: &str) {
        let info = match self.procs.get(&ppid) {
            Some(parent) => ProcInfo {
                ppid,
                uid,
                comm: comm.to_owned(),
                exited_at: None,
                ..parent.clone()
            },
            None => ProcInfo::from_comm(ppid, uid, comm),
        };
        self.procs.insert(pid, info);
    }

    /// A process ended; it is forgotten after a grace period (see [`ProcTable::sweep`]).
    pub fn exit(&mut self, pid: u32, at_boot_ns: u64) {
        if let Some(info) = self.procs.get_mut(&pid) {
            info.exited_at = Some(at_boot_ns);
        }
    }

    /// Forgets processes that exited more than a few seconds before `now_boot_ns`.
    pub fn sweep(&mut self, now_boot_ns: u64) {
        self.procs.retain(|_, info| match info.exited_at {
            Some(at) => now_boot_ns.saturating_sub(at) < EXITED_GRACE_NS,
            None => true,
        });
    }

    /// Whether `pid` is `ancestor` or descends from it.
    pub fn descends_from(&self, pid: u32, ancestor: u32) -> bool {
        let mut cur = pid;
        // Bounded: a corrupt chain (pid reuse) must not loop.
        for _ in 0..128 {
            if cur == ancestor {
                return true;
            }
            match self.procs.get(&cur) {
                Some(info) if info.ppid != cur && info.ppid != 0 => cur = info.ppid,
                _ => return false,
            }
        }
        false
    }
}

/// Reads one `/proc/<pid>` directory; `None` when the process is gone.
fn read_proc(dir: &Path) -> Option<ProcInfo> {
    let stat = std::fs::read_to_string(dir.join("stat")).ok()?;
    // `pid (comm) state ppid ...`: comm may hold spaces and parentheses.
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let comm = stat.get(open + 1..close)?.to_owned();
    let mut rest = stat.get(close + 1..)?.split_ascii_whitespace();
    let _state = rest.next()?;
    let ppid = rest.next()?.parse().ok()?;
    let image = std::fs::read_link(dir.join("exe"))
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    let command_line = std::fs::read(dir.join("cmdline"))
        .map(|raw| join_argv(&raw))
        .unwrap_or_default();
    let uid = std::fs::read_to_string(dir.join("status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|v| v.split_ascii_whitespace().next().map(str::to_owned))
        })
        .and_then(|v| v.parse().ok())
        .unwrap_or(u32::MAX);
    Some(ProcInfo {
        ppid,
        image,
        command_line,
        comm,
        uid,
        exited_at: None,
    })
}

/// `/proc/<pid>/cmdline` bytes as one command line.
fn join_argv(raw: &[u8]) -> String {
    let raw = raw.strip_suffix(&[0]).unwrap_or(raw);
    raw.split(|&c| c == 0)
        .map(String::from_utf8_lossy)
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn seeds_from_a_proc_tree() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("4242");
        fs_err::create_dir(&p).unwrap();
        fs_err::write(p.join("stat"), "4242 (my (odd) name) S 1 4242 4242 0 -1").unwrap();
        fs_err::write(p.join("cmdline"), b"/usr/bin/x\0-a\0b c\0").unwrap();
        fs_err::write(p.join("status"), "Name:\tx\nUid:\t1000\t1000\t1000\t1000\n").unwrap();
        fs_err::create_dir(dir.path().join("self-not-a-pid")).unwrap();
        let table = ProcTable::seed(dir.path()).unwrap();
        let info = table.get(4242).unwrap();
        assert_eq!(info.ppid, 1);
        assert_eq!(info.comm, "my (odd) name");
        assert_eq!(info.command_line, "/usr/bin/x -a b c");
        assert_eq!(info.uid, 1000);
        assert_eq!(info.image, "");
        assert_eq!(table.len(), 1);
    }

    #[test]
    fn fork_copies_the_parent_and_exit_is_swept_after_grace() {
        let mut t = ProcTable::new();
        t.exec(10, 1, 0, "/bin/bash".into(), "bash -c x".into(), "bash");
        t.fork(11, 10, 0, "bash");
        assert_eq!(t.get(11).unwrap().image, "/bin/bash");
        assert_eq!(t.get(11).unwrap().ppid, 10);
        assert!(t.descends_from(11, 10));
        assert!(!t.descends_from(10, 11));
        t.exit(11, 1_000);
        t.sweep(2_000);
        assert!(t.get(11).is_some());
        t.sweep(1_000 + EXITED_GRACE_NS);
        assert!(t.get(11).is_none());
    }
}
