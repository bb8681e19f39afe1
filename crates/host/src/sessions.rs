//! Who is on this host: local and remote logins as `who -a` and `w` show them, the login
//! history `last` shows, and inbound remote sessions (established connections to local
//! listening services) as `net session` shows them on Windows.
//!
//! The models here are platform-neutral; [`collect`] dispatches to the collector of the
//! running operating system. A collector never fails as a whole: a source it cannot read
//! is named in [`SessionsReport::sources`], the report is marked
//! [`partial`](SessionsReport::partial), and what could be read is still returned.

use std::net::IpAddr;
use std::path::PathBuf;

use jiff::Timestamp;
use serde::Serialize;

use crate::connections::{Address, ConnectionReport, Family, Socket};

/// Where to read from. `None` means the operating system's usual place; tests and
/// offline triage of a copied file set a path.
#[derive(Debug, Clone, Default)]
pub struct SessionsOptions {
    /// logind's session directory (`/run/systemd/sessions`).
    pub logind_dir: Option<PathBuf>,
    /// The utmp file (`/run/utmp`, or `/var/run/utmp`).
    pub utmp: Option<PathBuf>,
    /// The wtmp file (`/var/log/wtmp`), read only with [`history`](Self::history).
    pub wtmp: Option<PathBuf>,
    /// Add the login history from wtmp.
    pub history: bool,
    /// List inbound remote sessions (established connections to local listeners).
    pub inbound: bool,
    /// Look for inbound sessions in every network namespace (containers), not only the
    /// collector's own. Needs the connection inventory (the `/proc/net/tcp` fallback only
    /// sees the own namespace).
    pub all_netns: bool,
    /// The proc file system (`/proc`): processes and the socket tables.
    pub proc_root: Option<PathBuf>,
    /// Where terminal devices live (`/dev`).
    pub dev_root: Option<PathBuf>,
    /// wtmpdb's database, which replaces wtmp on some distributions
    /// (`/var/lib/wtmpdb/wtmp.db`); its presence is reported, its contents are not read.
    pub wtmpdb: Option<PathBuf>,
    /// Override the time used for idle computations and `collected_at` (tests).
    pub now: Option<Timestamp>,
}

/// Everything one collection found.
#[derive(Debug, Clone, Serialize)]
pub struct SessionsReport {
    /// When the collection ran (UTC).
    pub collected_at: Timestamp,
    /// Current logins, logind and utmp merged.
    pub logins: Vec<Login>,
    /// Every record of the utmp file, as `who -a` lists them (boot, run level, getty
    /// login processes, users, dead sessions).
    pub utmp_records: Vec<AccountingRecord>,
    /// The login history from wtmp (`last`), when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<Vec<HistoryEntry>>,
    /// Established TCP connections to local listening sockets.
    pub inbound: Vec<InboundSession>,
    /// What was read, from where, and how it went.
    pub sources: Vec<SourceStatus>,
    /// Human-readable notes about missing or damaged data.
    pub warnings: Vec<String>,
    /// True when something could not be read and the report is known to be incomplete.
    pub partial: bool,
}

impl SessionsReport {
    /// An empty report stamped with a time, for collectors to fill.
    pub fn empty(collected_at: Timestamp) -> Self {
        Self {
            collected_at,
            logins: Vec::new(),
            utmp_records: Vec::new(),
            history: None,
            inbound: Vec::new(),
            sources: Vec::new(),
            warnings: Vec::new(),
            partial: false,
        }
    }

    /// Records a warning that makes the report partial.
    pub fn warn_partial(&mut self, message: impl Into<String>) {
        self.warnings.push(message.into());
        self.partial = true;
    }
}

/// One current login, with `w`'s columns.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Login {
    /// User name.
    pub user: String,
    /// User id, when known (logind knows it; utmp does not).
    pub uid: Option<u32>,
    /// Terminal without `/dev/` (`pts/0`, `tty1`), or the X display.
    pub tty: Option<String>,
    /// Remote host the login came from.
    pub from: Option<String>,
    /// Remote address recorded by the login program (utmp `ut_addr_v6`).
    pub from_addr: Option<IpAddr>,
    /// When the session started.
    pub login_time: Option<Timestamp>,
    /// Seconds since the terminal was last used.
    pub idle_seconds: Option<u64>,
    /// CPU seconds of every process attached to the terminal.
    pub jcpu_seconds: Option<f64>,
    /// CPU seconds of the foreground process.
    pub pcpu_seconds: Option<f64>,
    /// Command line of the foreground process.
    pub what: Option<String>,
    /// Session leader (logind) or login process (utmp).
    pub pid: Option<i32>,
    /// logind session id.
    pub session_id: Option<String>,
    /// PAM service that opened the session (sshd, login, gdm-password...).
    pub service: Option<String>,
    /// logind session type (tty, x11, wayland, unspecified).
    pub session_type: Option<String>,
    /// logind session class (user, greeter, manager, background...).
    pub class: Option<String>,
    /// logind state (online, active, closing).
    pub state: Option<String>,
    /// Whether logind says the session is remote.
    pub remote: Option<bool>,
    /// Seat (seat0) for local graphical and console sessions.
    pub seat: Option<String>,
    /// Which sources reported this login: `logind`, `utmp` or both.
    pub sources: Vec<String>,
}

/// One utmp or wtmp record, decoded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountingRecord {
    /// Record type: boot_time, run_level, login_process, user_process, dead_process...
    pub kind: String,
    /// When it was written.
    pub time: Option<Timestamp>,
    /// User (or `reboot`, `shutdown`, `runlevel`, `LOGIN`).
    pub user: String,
    /// Terminal.
    pub line: String,
    /// inittab id / terminal suffix.
    pub id: String,
    /// Remote host, or kernel release for boot records.
    pub host: String,
    /// Remote address.
    pub addr: Option<IpAddr>,
    /// Process id.
    pub pid: i32,
    /// Exit status of a dead process.
    pub exit_status: i16,
    /// Byte offset in its file, so the record can be found with a hex editor.
    pub offset: u64,
}

/// How a session in the history ended, as `last` labels it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionEnd {
    /// No end record yet: still logged in (or the end was never written).
    StillLoggedIn,
    /// A logout record closed the session.
    Logout,
    /// The system booted again without a logout: `crash` in `last`.
    Crash,
    /// The system was shut down while the user was logged in.
    Down,
    /// No end record, and the login process no longer exists (`gone - no logout` in
    /// `last`): killed, or its logout record lost or removed. Only judged for the live
    /// wtmp of this boot.
    Gone,
}

/// One entry of the login history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HistoryEntry {
    /// `login`, `reboot` or `shutdown`.
    pub kind: String,
    /// User (`reboot` for boots).
    pub user: String,
    /// Terminal.
    pub tty: String,
    /// Remote host, or kernel release for boots.
    pub from: String,
    /// Remote address.
    pub from_addr: Option<IpAddr>,
    /// Start.
    pub start: Option<Timestamp>,
    /// End, when known.
    pub end: Option<Timestamp>,
    /// How it ended (logins only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ended_by: Option<SessionEnd>,
    /// Login process id.
    pub pid: i32,
}

/// A process that holds a socket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProcessRef {
    /// Process id.
    pub pid: i32,
    /// Process name (`comm`).
    pub name: String,
}

/// An established connection to a local listening service: someone connected in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InboundSession {
    /// Well-known service on the local port (ssh, smb, rdp...), when known.
    pub service: Option<String>,
    /// `tcp` or `tcp6` (the socket's family, even for IPv4-mapped peers).
    pub protocol: String,
    /// Local address.
    pub local_addr: IpAddr,
    /// Local (listening) port.
    pub local_port: u16,
    /// The remote peer.
    pub remote_addr: IpAddr,
    /// Remote port.
    pub remote_port: u16,
    /// Owner of the socket.
    pub uid: Option<u32>,
    /// Owner's name.
    pub user: Option<String>,
    /// Socket inode.
    pub inode: u64,
    /// Processes holding the socket (empty when they could not be seen).
    pub processes: Vec<ProcessRef>,
    /// Network namespace inode, when the socket source reports it.
    pub netns: Option<u64>,
    /// Network namespace name (`ip netns`), when it has one.
    pub netns_name: Option<String>,
}

/// What happened to one source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceStatus {
    /// `logind`, `utmp`, `wtmp`, `wtmpdb`, `proc`, `proc_net_tcp`...
    pub name: String,
    /// Where it was looked for.
    pub path: PathBuf,
    /// How it went.
    pub state: SourceState,
    /// Records (or sessions, sockets) read from it.
    pub records: usize,
    /// Damaged records and unreadable entries, each naming where.
    pub problems: Vec<String>,
}

/// State of a source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceState {
    /// Read (possibly with problems).
    Read,
    /// Not present on this host.
    Absent,
    /// Present but could not be read (permissions, I/O error).
    Unreadable,
    /// Present but deliberately not read (a format this build does not decode).
    NotRead,
    /// Not asked for.
    Skipped,
}

/// Well-known services by TCP port, for labelling inbound connections.
pub fn service_for_port(port: u16) -> Option<&'static str> {
    Some(match port {
        21 => "ftp",
        22 => "ssh",
        23 => "telnet",
        25 => "smtp",
        53 => "dns",
        80 => "http",
        111 => "rpcbind",
        135 => "msrpc",
        139 | 445 => "smb",
        389 => "ldap",
        443 => "https",
        512 => "rexec",
        513 => "rlogin",
        514 => "rsh",
        636 => "ldaps",
        873 => "rsync",
        990 => "ftps",
        1433 => "mssql",
        1521 => "oracle",
        2049 => "nfs",
        2375 | 2376 => "docker",
        3260 => "iscsi",
        3306 => "mysql",
        3389 => "rdp",
        5432 => "postgres",
        5900..=5910 => "vnc",
        5985 | 5986 => "winrm",
        6379 => "redis",
        6443 => "kubernetes-api",
        9200 => "elasticsearch",
        10250 => "kubelet",
        11211 => "memcached",
        27017 => "mongodb",
        _ => return None,
    })
}

/// Inbound remote sessions from a connection inventory: its established TCP connections
/// to local listeners, labelled with the service and the owner's name.
pub fn inbound_from_connections(report: &ConnectionReport) -> Vec<InboundSession> {
    let mut inbound: Vec<InboundSession> = report
        .inbound_established()
        .map(inbound_from_socket)
        .collect();
    finish_inbound(&mut inbound);
    inbound
}

fn inbound_from_socket(s: &Socket) -> InboundSession {
    let ip = |a: &Option<Address>| match a {
        Some(Address::Ip(ip)) => unmap(*ip),
        _ => IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
    };
    let port = s.local_port.unwrap_or_default();
    InboundSession {
        service: service_for_port(port).map(str::to_string),
        protocol: if matches!(s.family, Family::Inet6) {
            "tcp6"
        } else {
            "tcp"
        }
        .to_string(),
        local_addr: ip(&s.local_addr),
        local_port: port,
        remote_addr: ip(&s.remote_addr),
        remote_port: s.remote_port.unwrap_or_default(),
        uid: s.uid,
        user: None,
        inode: s.inode,
        processes: s
            .processes
            .iter()
            .map(|p| ProcessRef {
                pid: i32::try_from(p.pid).unwrap_or(i32::MAX),
                name: p.comm.clone().unwrap_or_default(),
            })
            .collect(),
        netns: s.netns,
        netns_name: s.netns_name.as_deref().map(str::to_string),
    }
}

/// Shows an IPv4-mapped IPv6 address (`::ffff:192.0.2.1`) as the IPv4 address it is.
fn unmap(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Fills in owner names and sorts by namespace, local port and peer.
pub(crate) fn finish_inbound(inbound: &mut [InboundSession]) {
    #[cfg(target_os = "linux")]
    for session in inbound.iter_mut() {
        session.user = session
            .uid
            .and_then(uzers::get_user_by_uid)
            .map(|u| u.name().to_string_lossy().into_owned());
    }
    inbound.sort_by(|a, b| {
        (a.netns, a.local_port, a.remote_addr, a.remote_port).cmp(&(
            b.netns,
            b.local_port,
            b.remote_addr,
            b.remote_port,
        ))
    });
}

/// Collects sessions from the running system. Never fails as a whole: see
/// [`SessionsReport::partial`].
pub fn collect(options: &SessionsOptions) -> SessionsReport {
    #[cfg(target_os = "linux")]
    {
        crate::linux::sess_collect::collect(options)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let mut report = SessionsReport::empty(options.now.unwrap_or_else(Timestamp::now));
        report.warn_partial("session collection is not implemented on this operating system");
        report
    }
}
