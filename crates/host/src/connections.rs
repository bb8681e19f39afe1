//! Socket inventory: every socket the kernel knows, with the processes that hold it.
//!
//! The model here is platform-neutral; [`collect`] dispatches to the collector of the
//! running operating system. A collection that could see only part of the host (a
//! namespace vanished, `/proc/<pid>/fd` was unreadable, netlink was refused) still returns
//! what it saw, with [`ConnectionReport::partial`] set and a warning per missing part.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use serde::{Serialize, Serializer};

/// Errors that stop a collection entirely; partial failures are warnings in the report.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No socket source works on this platform yet.
    #[error("socket inventory is not supported on this platform yet")]
    Unsupported,
    /// Neither netlink nor the `/proc/net` files could be read.
    #[error("no socket source is readable: {0}")]
    NoSource(String),
    /// A query that cannot be answered (for example an unknown state name).
    #[error("invalid query: {0}")]
    InvalidQuery(String),
}

/// Transport protocol of a socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    /// TCP.
    Tcp,
    /// UDP (and UDP-Lite).
    Udp,
    /// Raw IP sockets.
    Raw,
    /// Unix domain sockets.
    Unix,
}

impl Proto {
    /// The lowercase name used in every output format.
    pub fn as_str(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
            Proto::Raw => "raw",
            Proto::Unix => "unix",
        }
    }
}

/// Address family of a socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// IPv4.
    Inet,
    /// IPv6 (including v4-mapped addresses on dual-stack sockets).
    Inet6,
    /// Unix domain.
    Unix,
}

impl Family {
    /// The lowercase name used in every output format.
    pub fn as_str(self) -> &'static str {
        match self {
            Family::Inet => "inet",
            Family::Inet6 => "inet6",
            Family::Unix => "unix",
        }
    }
}

/// Socket type, which tells Unix stream, datagram and seqpacket sockets apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SocketType {
    /// `SOCK_STREAM`.
    Stream,
    /// `SOCK_DGRAM`.
    Dgram,
    /// `SOCK_RAW`.
    Raw,
    /// `SOCK_SEQPACKET`.
    Seqpacket,
    /// Anything else.
    Other,
}

impl SocketType {
    /// The lowercase name used in every output format.
    pub fn as_str(self) -> &'static str {
        match self {
            SocketType::Stream => "stream",
            SocketType::Dgram => "dgram",
            SocketType::Raw => "raw",
            SocketType::Seqpacket => "seqpacket",
            SocketType::Other => "other",
        }
    }
}

/// Socket state, numbered as the kernel numbers TCP states (which UDP, raw and Unix
/// sockets reuse).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SocketState(pub u8);

impl SocketState {
    /// `TCP_ESTABLISHED`; also a connected UDP or Unix socket.
    pub const ESTABLISHED: SocketState = SocketState(1);
    /// `TCP_SYN_SENT`.
    pub const SYN_SENT: SocketState = SocketState(2);
    /// `TCP_SYN_RECV`.
    pub const SYN_RECV: SocketState = SocketState(3);
    /// `TCP_FIN_WAIT1`.
    pub const FIN_WAIT1: SocketState = SocketState(4);
    /// `TCP_FIN_WAIT2`.
    pub const FIN_WAIT2: SocketState = SocketState(5);
    /// `TCP_TIME_WAIT`.
    pub const TIME_WAIT: SocketState = SocketState(6);
    /// `TCP_CLOSE`; an unconnected UDP, raw or Unix datagram socket.
    pub const CLOSE: SocketState = SocketState(7);
    /// `TCP_CLOSE_WAIT`.
    pub const CLOSE_WAIT: SocketState = SocketState(8);
    /// `TCP_LAST_ACK`.
    pub const LAST_ACK: SocketState = SocketState(9);
    /// `TCP_LISTEN`.
    pub const LISTEN: SocketState = SocketState(10);
    /// `TCP_CLOSING`.
    pub const CLOSING: SocketState = SocketState(11);
    /// `TCP_NEW_SYN_RECV`: a request socket, shown as SYN-RECV.
    pub const NEW_SYN_RECV: SocketState = SocketState(12);

    /// The name `ss` prints, so that users read the same words in both tools.
    pub fn name(self) -> &'static str {
        match self.0 {
            1 => "ESTAB",
            2 => "SYN-SENT",
            3 | 12 => "SYN-RECV",
            4 => "FIN-WAIT-1",
            5 => "FIN-WAIT-2",
            6 => "TIME-WAIT",
            7 => "UNCONN",
            8 => "CLOSE-WAIT",
            9 => "LAST-ACK",
            10 => "LISTEN",
            11 => "CLOSING",
            _ => "UNKNOWN",
        }
    }

    /// Parses one `--state` word as `ss` spells them (`established`, `listening`,
    /// `time-wait`, ...) into a set of states; group names `all`, `connected`,
    /// `synchronized` and `bucket` expand to several.
    pub fn parse_set(word: &str) -> Option<StateSet> {
        let w = word.to_ascii_lowercase().replace('_', "-");
        let one = |s: SocketState| Some(StateSet::of(&[s]));
        match w.as_str() {
            "established" | "estab" => one(Self::ESTABLISHED),
            "syn-sent" => one(Self::SYN_SENT),
            "syn-recv" | "syn-received" => {
                Some(StateSet::of(&[Self::SYN_RECV, Self::NEW_SYN_RECV]))
            }
            "fin-wait-1" | "fin-wait1" => one(Self::FIN_WAIT1),
            "fin-wait-2" | "fin-wait2" => one(Self::FIN_WAIT2),
            "time-wait" => one(Self::TIME_WAIT),
            "closed" | "close" | "unconn" | "unconnected" => one(Self::CLOSE),
            "close-wait" => one(Self::CLOSE_WAIT),
            "last-ack" => one(Self::LAST_ACK),
            "listening" | "listen" => one(Self::LISTEN),
            "closing" => one(Self::CLOSING),
            "all" => Some(StateSet::ALL),
            "connected" => Some(StateSet::CONNECTED),
            "synchronized" => Some(StateSet(
                StateSet::CONNECTED.0 & !StateSet::of(&[Self::SYN_SENT]).0,
            )),
            "bucket" => Some(StateSet::of(&[
                Self::SYN_RECV,
                Self::NEW_SYN_RECV,
                Self::TIME_WAIT,
            ])),
            _ => None,
        }
    }
}

impl fmt::Display for SocketState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for SocketState {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// A set of socket states as the kernel's `idiag_states` bitmask (bit `1 << state`), so
/// that it can be handed to the kernel unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StateSet(pub u32);

impl StateSet {
    /// Every state.
    pub const ALL: StateSet = StateSet(0x1ffe);
    /// Listening sockets: TCP and Unix `LISTEN`, plus unconnected UDP and raw sockets,
    /// which is what `ss -l` shows.
    pub const LISTENING: StateSet = StateSet((1 << 10) | (1 << 7));
    /// What `ss` shows by default: everything except listening, closed, TIME-WAIT and
    /// SYN-RECV.
    pub const CONNECTED: StateSet =
        StateSet(0x1ffe & !((1 << 10) | (1 << 7) | (1 << 6) | (1 << 3) | (1 << 12)));

    /// The set holding exactly these states.
    pub fn of(states: &[SocketState]) -> StateSet {
        StateSet(states.iter().fold(0, |m, s| m | (1u32 << (s.0 & 31))))
    }

    /// Whether the set holds a state.
    pub fn contains(self, state: SocketState) -> bool {
        state.0 < 32 && self.0 & (1 << state.0) != 0
    }

    /// Union of two sets.
    pub fn union(self, other: StateSet) -> StateSet {
        StateSet(self.0 | other.0)
    }
}

/// A socket address: an IP address, or a Unix socket path (abstract names start with `@`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Address {
    /// An IPv4 or IPv6 address.
    Ip(IpAddr),
    /// A Unix socket path or `@abstract` name.
    Path(Box<str>),
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Ip(ip) => ip.fmt(f),
            Address::Path(p) => f.write_str(p),
        }
    }
}

impl Serialize for Address {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A process holding a socket descriptor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Process {
    /// Process id.
    pub pid: u32,
    /// Short name from `/proc/<pid>/comm` (attacker-controlled: escape before display).
    pub comm: Option<String>,
    /// Executable path, when readable.
    pub exe: Option<String>,
    /// Arguments joined by spaces (attacker-controlled: escape before display).
    pub cmdline: Option<String>,
    /// Owner uid of the process.
    pub uid: Option<u32>,
    /// Owner user name, or the uid as text when the name is unknown.
    pub user: Option<String>,
}

/// The processes holding one socket. Shared between the rows of the same owners, so a
/// process holding 10,000 sockets costs one list, not 10,000.
pub type Owners = Arc<[Arc<Process>]>;

/// Why a socket has no owning process listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OwnerNote {
    /// TIME-WAIT and request sockets are not attached to any descriptor.
    NoDescriptor,
    /// Some `/proc/<pid>/fd` could not be read, so the owner may be among them.
    PermissionDenied,
    /// A process exited during the walk; the owner may have been it.
    Exited,
    /// Every process was read and none holds it (a kernel socket, or closed since).
    NotHeld,
    /// The walk stopped early (once every socket selected had an owner).
    NotLookedFor,
}

impl OwnerNote {
    /// The sentence every output format shows; the first word is the short reason.
    pub fn as_str(self) -> &'static str {
        match self {
            OwnerNote::NoDescriptor => {
                "no descriptor: TIME-WAIT and request sockets belong to no process"
            }
            OwnerNote::PermissionDenied => {
                "permission denied: some /proc/<pid>/fd could not be read"
            }
            OwnerNote::Exited => "exited: a process ended during the walk",
            OwnerNote::NotHeld => "none: no process holds it",
            OwnerNote::NotLookedFor => "not looked for: the walk stopped early",
        }
    }
}

impl Serialize for OwnerNote {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// One socket, one row in every output format.
///
/// Kept small (160 bytes) because a busy host has hundreds of thousands. The JSON
/// form is flat: `proto`, `family`, `socket_type`, `state`, `local_addr`, `local_port`,
/// `remote_addr`, `remote_port`, `peer_inode`, `recv_q`, `send_q`, `inode`, `uid`,
/// `netns`, `netns_name`, `container_id`, `processes`, `processes_note`.
#[derive(Debug, Clone)]
pub struct Socket {
    /// Transport protocol.
    pub proto: Proto,
    /// Address family.
    pub family: Family,
    /// Socket type.
    pub socket_type: SocketType,
    /// State, named as `ss` names it.
    pub state: SocketState,
    /// Local address or Unix path (`None` for an unnamed Unix socket).
    pub local_addr: Option<Address>,
    /// Local port (for raw sockets the IP protocol number; `None` for Unix).
    pub local_port: Option<u16>,
    /// Remote address (`None` for Unix sockets, see `peer_inode`).
    pub remote_addr: Option<Address>,
    /// Remote port.
    pub remote_port: Option<u16>,
    /// Unix peer socket inode, when connected (the kernel reports Unix inodes in 32 bits).
    pub peer_inode: Option<u32>,
    /// Receive queue (bytes, or the accept backlog of a listener).
    pub recv_q: u32,
    /// Send queue (bytes, or the maximum backlog of a listener).
    pub send_q: u32,
    /// Socket inode: what `/proc/<pid>/fd/N` links to as `socket:[inode]`.
    pub inode: u64,
    /// Uid that created the socket, as the kernel reports it.
    pub uid: Option<u32>,
    /// Network namespace inode.
    pub netns: Option<u64>,
    /// Namespace name from `/run/netns`, when it has one.
    pub netns_name: Option<Arc<str>>,
    /// Container id from the cgroup of a process in the namespace, when it shows one.
    pub container_id: Option<Arc<str>>,
    /// Every process holding a descriptor of this socket.
    pub processes: Owners,
    /// Why `processes` is empty when owners were searched for.
    pub processes_note: Option<OwnerNote>,
}

impl Serialize for Socket {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut m = s.serialize_struct("Socket", 18)?;
        m.serialize_field("proto", &self.proto)?;
        m.serialize_field("family", &self.family)?;
        m.serialize_field("socket_type", &self.socket_type)?;
        m.serialize_field("state", &self.state)?;
        m.serialize_field("local_addr", &self.local_addr)?;
        m.serialize_field("local_port", &self.local_port)?;
        m.serialize_field("remote_addr", &self.remote_addr)?;
        m.serialize_field("remote_port", &self.remote_port)?;
        m.serialize_field("peer_inode", &self.peer_inode)?;
        m.serialize_field("recv_q", &self.recv_q)?;
        m.serialize_field("send_q", &self.send_q)?;
        m.serialize_field("inode", &self.inode)?;
        m.serialize_field("uid", &self.uid)?;
        m.serialize_field("netns", &self.netns)?;
        m.serialize_field("netns_name", &self.netns_name)?;
        m.serialize_field("container_id", &self.container_id)?;
        m.serialize_field("processes", &*self.processes)?;
        m.serialize_field("processes_note", &self.processes_note)?;
        m.end()
    }
}

/// The empty owner list, shared so that rows without owners allocate nothing.
pub fn no_owners() -> Owners {
    static EMPTY: std::sync::LazyLock<Owners> = std::sync::LazyLock::new(|| Arc::from(Vec::new()));
    EMPTY.clone()
}

impl Socket {
    /// A row with the given identity and every optional field empty.
    pub fn new(proto: Proto, family: Family, socket_type: SocketType, state: SocketState) -> Self {
        Socket {
            proto,
            family,
            socket_type,
            state,
            local_addr: None,
            local_port: None,
            remote_addr: None,
            remote_port: None,
            peer_inode: None,
            recv_q: 0,
            send_q: 0,
            inode: 0,
            uid: None,
            netns: None,
            netns_name: None,
            container_id: None,
            processes: no_owners(),
            processes_note: None,
        }
    }

    /// Whether this is a listener (TCP or Unix `LISTEN`, unconnected UDP or raw).
    pub fn is_listening(&self) -> bool {
        match self.proto {
            Proto::Tcp | Proto::Unix => self.state == SocketState::LISTEN,
            Proto::Udp | Proto::Raw => self.state == SocketState::CLOSE,
        }
    }
}

/// Which protocols to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Protocols {
    /// TCP.
    pub tcp: bool,
    /// UDP.
    pub udp: bool,
    /// Raw IP.
    pub raw: bool,
    /// Unix domain.
    pub unix: bool,
}

impl Protocols {
    /// Every protocol.
    pub const ALL: Protocols = Protocols {
        tcp: true,
        udp: true,
        raw: true,
        unix: true,
    };
    /// TCP only.
    pub const TCP: Protocols = Protocols {
        tcp: true,
        udp: false,
        raw: false,
        unix: false,
    };

    /// Whether a protocol is selected.
    pub fn contains(self, proto: Proto) -> bool {
        match proto {
            Proto::Tcp => self.tcp,
            Proto::Udp => self.udp,
            Proto::Raw => self.raw,
            Proto::Unix => self.unix,
        }
    }
}

/// What to list. Filters the kernel can apply (protocol, family, state, port) are pushed
/// into the netlink request; the rest run on the collected rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionQuery {
    /// Protocols to list.
    pub protocols: Protocols,
    /// Include IPv4 sockets.
    pub ipv4: bool,
    /// Include IPv6 sockets.
    pub ipv6: bool,
    /// States to list.
    pub states: StateSet,
    /// Only sockets whose local or remote port is one of these (empty: any).
    pub ports: Vec<u16>,
    /// Only sockets held by one of these processes (empty: any).
    pub pids: Vec<u32>,
    /// Only sockets created by one of these uids (empty: any).
    pub uids: Vec<u32>,
    /// Find the owning processes of every socket (one walk of `/proc/*/fd`).
    pub processes: bool,
    /// Keep walking `/proc` after every selected socket has an owner. Without it, a query
    /// narrowed by port or uid to a few sockets stops the walk as soon as each has one
    /// owner; unnarrowed queries always find every owner.
    pub all_owners: bool,
    /// Dump every network namespace, not only the current one.
    pub all_netns: bool,
}

impl Default for ConnectionQuery {
    /// Everything `ss -a` shows, with owning processes, in the current namespace.
    fn default() -> Self {
        ConnectionQuery {
            protocols: Protocols::ALL,
            ipv4: true,
            ipv6: true,
            states: StateSet::ALL,
            ports: Vec::new(),
            pids: Vec::new(),
            uids: Vec::new(),
            processes: true,
            all_owners: false,
            all_netns: false,
        }
    }
}

impl ConnectionQuery {
    /// TCP listeners and established connections on IPv4 and IPv6: what inbound remote
    /// sessions are derived from (see [`ConnectionReport::inbound_established`]).
    pub fn tcp_sessions(processes: bool) -> Self {
        ConnectionQuery {
            protocols: Protocols::TCP,
            states: StateSet::of(&[SocketState::LISTEN, SocketState::ESTABLISHED]),
            processes,
            ..ConnectionQuery::default()
        }
    }

    /// Whether a collected row passes the filters (the kernel may already have applied
    /// some; applying them again is cheap and covers the `/proc/net` fallback).
    pub fn matches(&self, s: &Socket) -> bool {
        if !self.protocols.contains(s.proto) {
            return false;
        }
        match s.family {
            Family::Inet if !self.ipv4 => return false,
            Family::Inet6 if !self.ipv6 => return false,
            _ => {}
        }
        let state_ok = self.states.contains(s.state)
            || (s.state == SocketState::NEW_SYN_RECV
                && self.states.contains(SocketState::SYN_RECV));
        if !state_ok {
            return false;
        }
        if !self.ports.is_empty() {
            let hit = |p: Option<u16>| p.is_some_and(|p| self.ports.contains(&p));
            if !(hit(s.local_port) || hit(s.remote_port)) {
                return false;
            }
        }
        if !self.uids.is_empty() && !s.uid.is_some_and(|u| self.uids.contains(&u)) {
            return false;
        }
        true
    }
}

/// The result of a collection.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ConnectionReport {
    /// The sockets in the order the kernel dumped them, namespace by namespace (sorting
    /// 100,000 rows is left to whoever needs an order).
    pub sockets: Vec<Socket>,
    /// One sentence per part that could not be seen, or seen only in part.
    pub warnings: Vec<String>,
    /// Whether some part of the inventory is missing (see `warnings`).
    pub partial: bool,
    /// How parts were obtained when not the usual way (a `/proc/net` fallback that
    /// worked, for instance): nothing is missing because of them.
    pub notes: Vec<String>,
}

impl ConnectionReport {
    /// Established TCP connections whose local port is a port something listens on in the
    /// same namespace: inbound sessions (SSH, RDP, SMB, ...), not outbound ones.
    pub fn inbound_established(&self) -> impl Iterator<Item = &Socket> {
        let ns_of = |s: &Socket| s.netns;
        let listening: std::collections::HashSet<(Option<u64>, u16, Option<&Address>)> = self
            .sockets
            .iter()
            .filter(|s| s.proto == Proto::Tcp && s.state == SocketState::LISTEN)
            .filter_map(|s| Some((ns_of(s), s.local_port?, s.local_addr.as_ref())))
            .collect();
        self.sockets.iter().filter(move |s| {
            if s.proto != Proto::Tcp || s.state != SocketState::ESTABLISHED {
                return false;
            }
            let Some(port) = s.local_port else {
                return false;
            };
            listening.iter().any(|&(ns, lport, laddr)| {
                ns == ns_of(s)
                    && lport == port
                    && match laddr {
                        None => true,
                        Some(Address::Ip(ip)) if ip.is_unspecified() => true,
                        Some(a) => Some(a) == s.local_addr.as_ref(),
                    }
            })
        })
    }

    pub(crate) fn warn(&mut self, message: impl Into<String>) {
        self.partial = true;
        self.warnings.push(message.into());
    }
}

/// Lists the sockets a query selects, with their owners.
///
/// Returns an error only when no socket source at all could be read; anything less is a
/// warning in the report with `partial` set.
pub fn collect(query: &ConnectionQuery) -> Result<ConnectionReport, Error> {
    #[cfg(target_os = "linux")]
    {
        crate::linux::conn_collect::collect(query)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = query;
        Err(Error::Unsupported)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn state_sets_match_ss_groups() {
        assert!(StateSet::CONNECTED.contains(SocketState::ESTABLISHED));
        assert!(!StateSet::CONNECTED.contains(SocketState::LISTEN));
        assert!(!StateSet::CONNECTED.contains(SocketState::TIME_WAIT));
        assert!(StateSet::LISTENING.contains(SocketState::CLOSE));
        assert_eq!(
            SocketState::parse_set("time-wait"),
            Some(StateSet::of(&[SocketState::TIME_WAIT]))
        );
        assert_eq!(SocketState::parse_set("bogus"), None);
    }

    #[test]
    fn inbound_established_needs_a_listener() {
        let mut l = Socket::new(
            Proto::Tcp,
            Family::Inet,
            SocketType::Stream,
            SocketState::LISTEN,
        );
        l.local_addr = Some(Address::Ip("0.0.0.0".parse().unwrap()));
        l.local_port = Some(22);
        let mut inbound = Socket::new(
            Proto::Tcp,
            Family::Inet,
            SocketType::Stream,
            SocketState::ESTABLISHED,
        );
        inbound.local_addr = Some(Address::Ip("10.0.0.1".parse().unwrap()));
        inbound.local_port = Some(22);
        inbound.remote_port = Some(50000);
        let mut outbound = inbound.clone();
        outbound.local_port = Some(50001);
        outbound.remote_port = Some(22);
        let report = ConnectionReport {
            sockets: vec![l, inbound, outbound],
            ..ConnectionReport::default()
        };
        let found: Vec<_> = report.inbound_established().collect();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].local_port, Some(22));
    }
}

#[cfg(test)]
mod size {
    /// A row per socket, hundreds of thousands of rows: growth here is memory.
    #[test]
    fn socket_row_stays_small() {
        assert!(
            std::mem::size_of::<super::Socket>() <= 160,
            "{}",
            std::mem::size_of::<super::Socket>()
        );
    }
}
