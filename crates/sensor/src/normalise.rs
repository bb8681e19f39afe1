//! Raw sensor records to normalised sockhunt [`Event`]s.
//!
//! Three categories come out, all with `product: linux` (see the crate README for every
//! field):
//! - `process_creation`: one per exec, with the parent's image and command line from the
//!   process table;
//! - `file_access`: opens of procfs network tables (`DiscoveryKind: proc_net`) and of
//!   session databases (`DiscoveryKind: session_db`);
//! - `network_discovery`: `NETLINK_SOCK_DIAG` sockets and the requests sent on them,
//!   which is how `ss` and every library using the same API list sockets.
//!
//! Fork and exit records only keep the process table current; they make no event.

use std::collections::HashMap;
use std::sync::Arc;

use jiff::Timestamp;
use sockhunt_events::{Event, Fields, Locator, LogSource, Provenance, Value};

use crate::proctable::ProcInfo;
use crate::raw::{FileKind, RawExec, RawFile, RawHeader, RawSockDiagSend, RawSockDiagSocket};

/// Logsource of exec events.
pub const PROCESS_CREATION: LogSource =
    LogSource::new(Some("linux"), Some("process_creation"), None);
/// Logsource of network-table and session-database opens.
pub const FILE_ACCESS: LogSource = LogSource::new(Some("linux"), Some("file_access"), None);
/// Logsource of sock_diag sockets and dump requests.
pub const NETWORK_DISCOVERY: LogSource =
    LogSource::new(Some("linux"), Some("network_discovery"), None);
/// Logsource of the sensor's own health reports (lost records).
pub const SENSOR_STATUS: LogSource = LogSource::new(Some("sockhunt"), Some("sensor_status"), None);

/// The `source` every sensor event's provenance names.
pub const PROVENANCE_SOURCE: &str = "sensor";

/// Converts `CLOCK_BOOTTIME` stamps of the kernel side to wall-clock time.
#[derive(Debug, Clone, Copy)]
pub struct BootClock {
    realtime_minus_boot_ns: i128,
}

impl BootClock {
    /// Reads both clocks now. Later wall-clock steps (NTP) are not followed: event times
    /// stay consistent with each other for the life of the sensor.
    pub fn now() -> Self {
        BootClock {
            realtime_minus_boot_ns: clock_ns(nix::time::ClockId::CLOCK_REALTIME)
                - clock_ns(nix::time::ClockId::CLOCK_BOOTTIME),
        }
    }

    /// Wall-clock time of a kernel stamp.
    pub fn timestamp(&self, boot_ns: u64) -> Option<Timestamp> {
        Timestamp::from_nanosecond(i128::from(boot_ns) + self.realtime_minus_boot_ns).ok()
    }

    /// `CLOCK_BOOTTIME` now, in nanoseconds: the kernel side's time base.
    pub fn boot_now_ns() -> u64 {
        u64::try_from(clock_ns(nix::time::ClockId::CLOCK_BOOTTIME)).unwrap_or(0)
    }
}

fn clock_ns(clock: nix::time::ClockId) -> i128 {
    match nix::time::clock_gettime(clock) {
        Ok(ts) => i128::from(ts.tv_sec()) * 1_000_000_000 + i128::from(ts.tv_nsec()),
        Err(_) => 0,
    }
}

/// Builds events; holds what every event shares (host, clock, sequence, user names).
#[derive(Debug)]
pub struct Normaliser {
    host: Option<String>,
    clock: BootClock,
    source: Arc<str>,
    seq: u64,
    users: HashMap<u32, String>,
}

impl Normaliser {
    /// A normaliser for this host.
    pub fn new(clock: BootClock) -> Self {
        let host = nix::unistd::gethostname()
            .ok()
            .map(|h| h.to_string_lossy().into_owned());
        Normaliser {
            host,
            clock,
            source: Arc::from(PROVENANCE_SOURCE),
            seq: 0,
            users: HashMap::new(),
        }
    }

    fn event(&mut self, logsource: LogSource, boot_ns: u64) -> Event {
        self.seq += 1;
        let mut event = Event::new(
            logsource,
            Provenance {
                source: Arc::clone(&self.source),
                locator: Locator::Record(self.seq),
            },
        );
        event.time = self.clock.timestamp(boot_ns);
        event.host.clone_from(&self.host);
        event
    }

    fn user(&mut self, uid: u32) -> String {
        self.users
            .entry(uid)
            .or_insert_with(|| {
                uzers::get_user_by_uid(uid)
                    .map(|u| u.name().to_string_lossy().into_owned())
                    .unwrap_or_else(|| uid.to_string())
            })
            .clone()
    }

    /// Fields about the acting process, shared by every category.
    fn actor(
        &mut self,
        f: &mut Fields,
        h: &RawHeader,
        proc: Option<&ProcInfo>,
        parent: Option<&ProcInfo>,
    ) {
        match proc {
            Some(p) if !p.image.is_empty() => f.set("Image", p.image.as_str()),
            _ => {}
        }
        if let Some(p) = proc {
            f.set_nonempty("CommandLine", &p.command_line);
        }
        f.set("ProcessId", h.pid);
        f.set("ParentProcessId", h.ppid);
        if let Some(parent) = parent {
            f.set_nonempty("ParentImage", &parent.image);
            f.set_nonempty("ParentCommandLine", &parent.command_line);
        }
        let user = self.user(h.uid);
        f.set("User", user);
        f.set("Uid", h.uid);
        f.set_nonempty("Comm", &h.comm);
    }

    /// `process_creation` for an exec. `image` and `command_line` are what the process
    /// table now holds for it.
    pub fn exec(
        &mut self,
        e: &RawExec,
        image: &str,
        command_line: &str,
        parent: Option<&ProcInfo>,
    ) -> Event {
        let mut event = self.event(PROCESS_CREATION, e.header.boot_ns);
        let f = &mut event.fields;
        f.set("Image", image);
        f.set("CommandLine", command_line);
        f.set("ProcessId", e.header.pid);
        f.set("ParentProcessId", e.header.ppid);
        if let Some(parent) = parent {
            f.set_nonempty("ParentImage", &parent.image);
            f.set_nonempty("ParentCommandLine", &parent.command_line);
        }
        let user = self.user(e.header.uid);
        let f = &mut event.fields;
        f.set("User", user);
        f.set("CurrentDirectory", e.cwd.as_str());
        if e.session_id != u32::MAX {
            f.set("LogonId", e.session_id);
        }
        f.set("Uid", e.header.uid);
        f.set("Gid", e.header.gid);
        if e.login_uid != u32::MAX {
            f.set("LoginUid", e.login_uid);
        }
        f.set("Comm", e.header.comm.as_str());
        f.set("CgroupId", Value::Int(e.cgroup_id as i64));
        f.set("NetNs", e.netns);
        f.set_nonempty("Tty", &e.tty);
        f.set("ArgvTruncated", e.argv_truncated);
        event
    }

    /// `file_access` for an open of a network table or session database.
    pub fn file(
        &mut self,
        e: &RawFile,
        proc: Option<&ProcInfo>,
        parent: Option<&ProcInfo>,
        owner: Option<&ProcInfo>,
    ) -> Event {
        let mut event = self.event(FILE_ACCESS, e.header.boot_ns);
        let mut f = std::mem::take(&mut event.fields);
        f.set("TargetFilename", e.path.as_str());
        let name = e.path.rsplit('/').next().unwrap_or_default();
        match e.kind {
            FileKind::ProcNet => {
                f.set("DiscoveryKind", "proc_net");
                f.set("NetTable", name);
                if let Some(pid) = table_owner(&e.path) {
                    f.set("TableOwnerPid", pid);
                    if let Some(owner) = owner {
                        f.set_nonempty("TableOwnerImage", &owner.image);
                    }
                }
            }
            FileKind::SessionDb => {
                f.set("DiscoveryKind", "session_db");
                f.set("SessionDatabase", name);
            }
        }
        self.actor(&mut f, &e.header, proc, parent);
        f.set("Syscall", syscall_name(e.syscall_nr));
        f.set("PathTruncated", e.path_truncated);
        event.fields = f;
        event
    }

    /// `network_discovery` for a new `NETLINK_SOCK_DIAG` socket.
    pub fn sock_diag_socket(
        &mut self,
        e: &RawSockDiagSocket,
        proc: Option<&ProcInfo>,
        parent: Option<&ProcInfo>,
    ) -> Event {
        let mut event = self.event(NETWORK_DISCOVERY, e.header.boot_ns);
        let mut f = std::mem::take(&mut event.fields);
        f.set("Operation", "sock_diag_socket");
        self.actor(&mut f, &e.header, proc, parent);
        event.fields = f;
        event
    }

    /// `network_discovery` for a request sent on a sock_diag socket.
    pub fn sock_diag_send(
        &mut self,
        e: &RawSockDiagSend,
        proc: Option<&ProcInfo>,
        parent: Option<&ProcInfo>,
    ) -> Event {
        let mut event = self.event(NETWORK_DISCOVERY, e.header.boot_ns);
        let mut f = std::mem::take(&mut event.fields);
        const NLM_F_DUMP: u16 = 0x300;
        let operation = if !e.header_read || e.nlmsg_flags & NLM_F_DUMP == NLM_F_DUMP {
            // An unreadable request is counted as a dump: that is what sock_diag is for.
            "sock_diag_dump"
        } else {
            "sock_diag_request"
        };
        f.set("Operation", operation);
        if e.header_read {
            f.set("Family", family_name(e.sdiag_family));
            let protocol = match e.nlmsg_type {
                // Legacy inet_diag requests name the protocol by message type.
                18 => Some("tcp".to_owned()),
                19 => Some("dccp".to_owned()),
                _ => protocol_name(e.sdiag_family, e.sdiag_protocol),
            };
            if let Some(p) = protocol {
                f.set("Protocol", p);
            }
            f.set("NetlinkType", netlink_type_name(e.nlmsg_type));
            f.set("NetlinkFlags", format!("{:#x}", e.nlmsg_flags));
            f.set("States", format!("{:#x}", e.states));
        }
        f.set("RequestRead", e.header_read);
        self.actor(&mut f, &e.header, proc, parent);
        event.fields = f;
        event
    }

    /// The sensor's own report of records lost since the last report.
    pub fn drops(&mut self, boot_ns: u64, kernel: u64, user: u64) -> Event {
        let mut event = self.event(SENSOR_STATUS, boot_ns);
        event.fields.set("Status", "records_lost");
        event.fields.set("KernelDrops", Value::Int(kernel as i64));
        event.fields.set("UserDrops", Value::Int(user as i64));
        event
    }
}

/// The pid whose network namespace a procfs table path shows:
/// `/proc/<pid>/net/x` and `/proc/<pid>/task/<tid>/net/x`.
pub fn table_owner(path: &str) -> Option<u32> {
    let rest = path.strip_prefix("/proc/")?;
    let pid = rest.split('/').next()?;
    pid.parse().ok()
}

fn syscall_name(nr: u32) -> &'static str {
    match nr {
        2 => "open",
        257 => "openat",
        437 => "openat2",
        _ => "unknown",
    }
}

/// Address family names as `ss` spells them.
pub fn family_name(family: u8) -> String {
    match family {
        0 => "unspec",
        1 => "unix",
        2 => "inet",
        10 => "inet6",
        16 => "netlink",
        17 => "packet",
        30 => "tipc",
        40 => "vsock",
        43 => "smc",
        44 => "xdp",
        other => return other.to_string(),
    }
    .to_owned()
}

fn protocol_name(family: u8, protocol: u8) -> Option<String> {
    if !matches!(family, 2 | 10) {
        // unix, netlink, packet requests carry no IP protocol (or a family-specific one).
        return (protocol != 0).then(|| protocol.to_string());
    }
    Some(
        match protocol {
            1 => "icmp",
            6 => "tcp",
            17 => "udp",
            33 => "dccp",
            58 => "icmpv6",
            132 => "sctp",
            136 => "udplite",
            255 => "raw",
            other => return Some(other.to_string()),
        }
        .to_owned(),
    )
}

fn netlink_type_name(t: u16) -> String {
    match t {
        18 => "TCPDIAG_GETSOCK".to_owned(),
        19 => "DCCPDIAG_GETSOCK".to_owned(),
        20 => "SOCK_DIAG_BY_FAMILY".to_owned(),
        21 => "SOCK_DESTROY".to_owned(),
        other => other.to_string(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn table_owner_reads_pid_and_task_paths() {
        assert_eq!(table_owner("/proc/42/net/tcp"), Some(42));
        assert_eq!(table_owner("/proc/42/task/43/net/tcp6"), Some(42));
        assert_eq!(table_owner("/var/run/utmp"), None);
    }

    #[test]
    fn names() {
        assert_eq!(family_name(10), "inet6");
        assert_eq!(family_name(99), "99");
        assert_eq!(protocol_name(2, 6).as_deref(), Some("tcp"));
        assert_eq!(protocol_name(1, 0), None);
        assert_eq!(netlink_type_name(20), "SOCK_DIAG_BY_FAMILY");
    }

    #[test]
    fn clock_maps_boot_time_to_now() {
        let clock = BootClock::now();
        let t = clock.timestamp(BootClock::boot_now_ns()).unwrap();
        let delta = Timestamp::now().as_nanosecond() - t.as_nanosecond();
        assert!(delta.abs() < 1_000_000_000, "delta {delta}");
    }
}
