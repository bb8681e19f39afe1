//! The process facts `w` shows for a session: idle time, JCPU, PCPU and WHAT.
//!
//! `w` takes IDLE from the terminal device's last access time, JCPU from every process
//! whose controlling terminal is the session's terminal, and PCPU and WHAT from the
//! terminal's foreground process group. The same is done here from `/proc/<pid>/stat`,
//! parsed by hand because only eight fields are needed and the `comm` field (which an
//! attacker names) may itself contain spaces and parentheses.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// The fields of `/proc/<pid>/stat` the session view needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcStat {
    /// Process id.
    pub pid: i32,
    /// `comm`, the kernel's 15-byte process name.
    pub comm: String,
    /// Process group.
    pub pgrp: i32,
    /// Session id.
    pub session: i32,
    /// Controlling terminal, in the kernel's `new_encode_dev` form (0 = none).
    pub tty_nr: u32,
    /// Foreground process group of the controlling terminal (-1 = none).
    pub tpgid: i32,
    /// User-mode CPU time in clock ticks.
    pub utime: u64,
    /// Kernel-mode CPU time in clock ticks.
    pub stime: u64,
    /// Start time in clock ticks after boot.
    pub starttime: u64,
}

/// Parses the text of `/proc/<pid>/stat`. `None` when the text is not a stat line.
pub fn parse_stat(text: &str) -> Option<ProcStat> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    if close < open {
        return None;
    }
    let pid = text[..open].trim().parse().ok()?;
    let comm = text[open + 1..close].to_string();
    // Fields after comm, numbered from 3 (state) as in proc(5).
    let rest: Vec<&str> = text.get(close + 1..)?.split_ascii_whitespace().collect();
    let field = |n: usize| rest.get(n - 3).copied();
    Some(ProcStat {
        pid,
        comm,
        pgrp: field(5)?.parse().ok()?,
        session: field(6)?.parse().ok()?,
        tty_nr: field(7)?.parse::<i64>().ok()? as u32,
        tpgid: field(8)?.parse().ok()?,
        utime: field(14)?.parse().ok()?,
        stime: field(15)?.parse().ok()?,
        starttime: field(22)?.parse().ok()?,
    })
}

/// Every process whose stat could be read, and how many vanished or could not be read.
#[derive(Debug, Default)]
pub struct ProcTable {
    /// Processes.
    pub procs: Vec<ProcStat>,
    /// Entries that disappeared or could not be parsed during the walk.
    pub unreadable: usize,
    /// The `/proc` root that was walked, for reading command lines later.
    pub root: PathBuf,
}

impl ProcTable {
    /// Walks `proc_root` (normally `/proc`).
    pub fn read(proc_root: &Path) -> std::io::Result<Self> {
        let mut table = ProcTable {
            root: proc_root.to_path_buf(),
            ..Self::default()
        };
        for entry in fs_err::read_dir(proc_root)? {
            let Ok(entry) = entry else {
                table.unreadable += 1;
                continue;
            };
            let name = entry.file_name();
            let Some(pid) = name
                .to_str()
                .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
            else {
                continue;
            };
            match std::fs::read_to_string(entry.path().join("stat"))
                .ok()
                .and_then(|t| parse_stat(&t))
            {
                Some(stat) => table.procs.push(stat),
                None => {
                    tracing::debug!(pid, "process vanished or stat unreadable");
                    table.unreadable += 1;
                }
            }
        }
        Ok(table)
    }

    /// The command line of a process with NULs as spaces, or `[comm]` for kernel threads
    /// and processes whose command line cannot be read.
    pub fn what(&self, stat: &ProcStat) -> String {
        let path = self.root.join(stat.pid.to_string()).join("cmdline");
        match std::fs::read(path) {
            Ok(bytes) if !bytes.is_empty() => {
                let trimmed = bytes.strip_suffix(b"\0").unwrap_or(&bytes);
                String::from_utf8_lossy(trimmed).replace('\0', " ")
            }
            _ => format!("[{}]", stat.comm),
        }
    }
}

/// `w`'s columns for one session.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TerminalActivity {
    /// Seconds since the terminal was last read from or written to.
    pub idle: Option<Duration>,
    /// CPU seconds of every process on the terminal (or in the session).
    pub jcpu: Option<f64>,
    /// CPU seconds of the foreground process.
    pub pcpu: Option<f64>,
    /// Command line of the foreground process.
    pub what: Option<String>,
}

/// Device number of a terminal as `/proc/<pid>/stat` encodes it.
pub fn tty_nr_of(dev_path: &Path) -> Option<(u32, SystemTime)> {
    let meta = std::fs::metadata(dev_path).ok()?;
    let rdev = meta.rdev();
    let major = ((rdev >> 8) & 0xfff) | ((rdev >> 32) & !0xfff);
    let minor = (rdev & 0xff) | ((rdev >> 12) & !0xff);
    let encoded = (minor & 0xff) | (major << 8) | ((minor & !0xff) << 12);
    let atime = meta.accessed().ok()?;
    Some((u32::try_from(encoded).ok()?, atime))
}

/// The most recently started process wins, as in `w`; processes started in the same clock
/// tick (a shell's `cmd & cmd`) go to the lowest pid, the one `w` meets first.
fn latest_first(p: &ProcStat) -> (u64, std::cmp::Reverse<i32>) {
    (p.starttime, std::cmp::Reverse(p.pid))
}

/// Computes `w`'s columns. With a terminal, processes are matched by controlling
/// terminal; without one (an ssh command without a pty, a graphical session), by the
/// session of the leader process.
pub fn activity(
    table: &ProcTable,
    tty_device: Option<&Path>,
    leader: Option<i32>,
    now: SystemTime,
    ticks_per_second: u64,
) -> TerminalActivity {
    let tps = ticks_per_second.max(1) as f64;
    let mut out = TerminalActivity::default();
    let (members, foreground): (Vec<&ProcStat>, Option<&ProcStat>) =
        match tty_device.and_then(tty_nr_of) {
            Some((tty_nr, atime)) => {
                out.idle = Some(now.duration_since(atime).unwrap_or_default());
                let members: Vec<&ProcStat> = table
                    .procs
                    .iter()
                    .filter(|p| p.tty_nr == tty_nr && tty_nr != 0)
                    .collect();
                let tpgid = members.iter().map(|p| p.tpgid).find(|&t| t > 0);
                // The most recently started process of the foreground group, as `w` picks it.
                let fg = tpgid
                    .and_then(|t| {
                        members
                            .iter()
                            .filter(|p| p.pgrp == t)
                            .max_by_key(|p| latest_first(p))
                            .copied()
                    })
                    .or_else(|| leader.and_then(|l| members.iter().find(|p| p.pid == l).copied()));
                (members, fg)
            }
            None => match leader {
                Some(l) => {
                    let members: Vec<&ProcStat> =
                        table.procs.iter().filter(|p| p.session == l).collect();
                    let fg = members.iter().max_by_key(|p| latest_first(p)).copied();
                    (members, fg)
                }
                None => (Vec::new(), None),
            },
        };
    if !members.is_empty() {
        let ticks: u64 = members.iter().map(|p| p.utime + p.stime).sum();
        out.jcpu = Some(ticks as f64 / tps);
    }
    if let Some(fg) = foreground {
        out.pcpu = Some((fg.utime + fg.stime) as f64 / tps);
        out.what = Some(table.what(fg));
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn stat_with_hostile_comm_parses() {
        let line = "4242 (a) b (c)) S 1 4242 4242 34817 4300 4194560 100 0 0 0 7 3 0 0 20 0 1 0 \
                    123456 1000 100 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0";
        let s = parse_stat(line).unwrap();
        assert_eq!(s.comm, "a) b (c)");
        assert_eq!(s.pgrp, 4242);
        assert_eq!(s.tty_nr, 34817);
        assert_eq!(s.tpgid, 4300);
        assert_eq!((s.utime, s.stime), (7, 3));
        assert_eq!(s.starttime, 123456);
    }

    #[test]
    fn short_or_garbage_stat_is_none() {
        assert_eq!(parse_stat(""), None);
        assert_eq!(parse_stat("12 (x) S 1 2"), None);
        assert_eq!(parse_stat(") ( 1 2 3"), None);
    }
}
