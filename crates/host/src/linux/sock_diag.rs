//! `NETLINK_SOCK_DIAG` dumps: inet_diag (TCP, UDP, raw on IPv4 and IPv6) and unix_diag.
//!
//! Replies are parsed by hand rather than through message structs: a dump of 100,000
//! sockets is 100,000 messages, and reading the few fixed offsets we need straight from
//! the receive buffer keeps the dump close to the kernel's own cost. The parser works on
//! plain byte slices so that it is tested on captured replies
//! (`tests/fixtures/sock_diag/`).

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use netlink_sys::{protocols::NETLINK_SOCK_DIAG, Socket as NlSocket, SocketAddr as NlAddr};

use crate::connections::{Address, Family, Proto, Socket, SocketState, SocketType, StateSet};

const NLMSG_HDRLEN: usize = 16;
const NLMSG_NOOP: u16 = 1;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLMSG_OVERRUN: u16 = 4;
const SOCK_DIAG_BY_FAMILY: u16 = 20;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_DUMP: u16 = 0x300;
const NLM_F_DUMP_INTR: u16 = 0x10;

const AF_UNIX: u8 = 1;
/// `AF_INET`.
pub const AF_INET: u8 = 2;
/// `AF_INET6`.
pub const AF_INET6: u8 = 10;
/// `IPPROTO_TCP`.
pub const IPPROTO_TCP: u8 = 6;
/// `IPPROTO_UDP`.
pub const IPPROTO_UDP: u8 = 17;
/// `IPPROTO_RAW`: asks raw_diag for raw sockets of every IP protocol.
pub const IPPROTO_RAW: u8 = 255;

const INET_DIAG_REQ_BYTECODE: u16 = 1;
const INET_DIAG_BC_JMP: u8 = 1;
const INET_DIAG_BC_S_EQ: u8 = 11;
const INET_DIAG_BC_D_EQ: u8 = 12;

const UNIX_DIAG_NAME: u16 = 0;
const UNIX_DIAG_PEER: u16 = 2;
const UNIX_DIAG_RQLEN: u16 = 4;
const UNIX_DIAG_UID: u16 = 7;
const UDIAG_SHOW_NAME: u32 = 0x1;
const UDIAG_SHOW_PEER: u32 = 0x4;
const UDIAG_SHOW_RQLEN: u32 = 0x10;
const UDIAG_SHOW_UID: u32 = 0x40;

/// Size of `struct inet_diag_msg`.
const INET_DIAG_MSG_LEN: usize = 72;
/// Size of `struct unix_diag_msg`.
const UNIX_DIAG_MSG_LEN: usize = 16;

/// Receive buffer: the kernel fills dump datagrams up to 32 KiB when the reader offers
/// that much; 64 KiB leaves room and is reused for the whole dump.
const RECV_BUF_LEN: usize = 64 * 1024;
/// Socket receive buffer asked of the kernel, so a slow reader does not make it drop.
const SO_RCVBUF_LEN: usize = 1 << 20;

/// Why a dump failed.
#[derive(Debug, thiserror::Error)]
pub enum DiagError {
    /// Opening, sending on or reading the netlink socket failed.
    #[error("netlink sock_diag {op}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The system error.
        source: io::Error,
    },
    /// The kernel answered the request with an error.
    #[error("kernel refused sock_diag request ({what}): {source}")]
    Kernel {
        /// Which dump.
        what: String,
        /// The errno the kernel returned.
        source: io::Error,
    },
    /// A reply did not have the layout the protocol defines.
    #[error("malformed sock_diag reply at byte {offset}: {what}")]
    Malformed {
        /// Byte offset inside the datagram.
        offset: usize,
        /// What was wrong.
        what: &'static str,
    },
}

impl DiagError {
    /// Whether the error means netlink is unavailable to us (so `/proc/net` should be
    /// read instead) rather than a transient fault.
    pub fn is_refused(&self) -> bool {
        let errno = match self {
            DiagError::Io { source, .. } | DiagError::Kernel { source, .. } => {
                source.raw_os_error()
            }
            DiagError::Malformed { .. } => return false,
        };
        matches!(
            errno,
            Some(
                libc::EPERM
                    | libc::EACCES
                    | libc::EPROTONOSUPPORT
                    | libc::EAFNOSUPPORT
                    | libc::ENOENT
                    | libc::EOPNOTSUPP
            )
        )
    }
}

/// One inet_diag dump: a family and protocol, the states to return and optional ports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InetRequest {
    /// `AF_INET` or `AF_INET6`.
    pub family: u8,
    /// `IPPROTO_TCP`, `IPPROTO_UDP` or `IPPROTO_RAW`.
    pub protocol: u8,
    /// States bitmask (`idiag_states`).
    pub states: StateSet,
    /// Ports to match as source or destination port (empty: all), compiled to bytecode.
    pub ports: Vec<u16>,
}

/// Counters a dump reports besides its rows.
#[derive(Debug, Default, Clone, Copy)]
pub struct DumpStats {
    /// Messages parsed.
    pub messages: usize,
    /// The kernel flagged the dump as interrupted by concurrent changes.
    pub interrupted: bool,
}

/// A netlink sock_diag socket, reused for several dumps.
pub struct DiagSocket {
    sock: NlSocket,
    seq: u32,
    buf: Vec<u8>,
}

impl DiagSocket {
    /// Opens the socket in the calling thread's network namespace.
    pub fn open() -> Result<Self, DiagError> {
        let io = |op| move |source| DiagError::Io { op, source };
        let sock = NlSocket::new(NETLINK_SOCK_DIAG).map_err(io("socket"))?;
        // A smaller buffer only slows the dump down; not worth failing over.
        let _ = sock.set_rx_buf_sz(SO_RCVBUF_LEN);
        Ok(DiagSocket {
            sock,
            seq: 0x5eed,
            buf: vec![0; RECV_BUF_LEN],
        })
    }

    /// Dumps inet sockets, calling `each` for every row.
    pub fn dump_inet(
        &mut self,
        req: &InetRequest,
        each: &mut dyn FnMut(Socket),
    ) -> Result<DumpStats, DiagError> {
        let proto = match req.protocol {
            IPPROTO_TCP => Proto::Tcp,
            IPPROTO_UDP => Proto::Udp,
            _ => Proto::Raw,
        };
        let what = format!(
            "{} {}",
            proto.as_str(),
            if req.family == AF_INET6 {
                "inet6"
            } else {
                "inet"
            }
        );
        let msg = build_inet_request(req, self.next_seq());
        self.run(&msg, &what, &mut |payload| {
            if let Some(s) = parse_inet_msg(payload, proto) {
                each(s);
            }
        })
    }

    /// Dumps Unix sockets in the given states.
    pub fn dump_unix(
        &mut self,
        states: StateSet,
        each: &mut dyn FnMut(Socket),
    ) -> Result<DumpStats, DiagError> {
        let msg = build_unix_request(states, self.next_seq());
        self.run(&msg, "unix", &mut |payload| {
            if let Some(s) = parse_unix_msg(payload) {
                each(s);
            }
        })
    }

    /// Sends one dump request and returns the raw reply datagrams, for capturing test
    /// fixtures.
    pub fn dump_raw(&mut self, request: &[u8]) -> Result<Vec<Vec<u8>>, DiagError> {
        let mut out = Vec::new();
        self.send(request)?;
        loop {
            let n = self.recv()?;
            let datagram = self.buf[..n].to_vec();
            let step = parse_datagram(&datagram, None, &mut |_| {})?;
            out.push(datagram);
            if step.done {
                return Ok(out);
            }
        }
    }

    fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1);
        self.seq
    }

    fn send(&self, msg: &[u8]) -> Result<(), DiagError> {
        let kernel = NlAddr::new(0, 0);
        self.sock
            .send_to(msg, &kernel, 0)
            .map_err(|source| DiagError::Io { op: "send", source })?;
        Ok(())
    }

    fn recv(&mut self) -> Result<usize, DiagError> {
        loop {
            let mut slice: &mut [u8] = &mut self.buf[..];
            match self.sock.recv(&mut slice, 0) {
                Ok(n) if n > RECV_BUF_LEN => {
                    return Err(DiagError::Malformed {
                        offset: 0,
                        what: "datagram larger than the receive buffer",
                    })
                }
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(source) => return Err(DiagError::Io { op: "recv", source }),
            }
        }
    }

    fn run(
        &mut self,
        msg: &[u8],
        what: &str,
        on_msg: &mut dyn FnMut(&[u8]),
    ) -> Result<DumpStats, DiagError> {
        self.send(msg)?;
        let seq = u32_ne(msg, 8);
        let mut stats = DumpStats::default();
        loop {
            let n = self.recv()?;
            let step = parse_datagram(&self.buf[..n], Some(seq), on_msg).map_err(|e| match e {
                DiagError::Kernel { source, .. } => DiagError::Kernel {
                    what: what.to_owned(),
                    source,
                },
                other => other,
            })?;
            stats.messages += step.messages;
            stats.interrupted |= step.interrupted;
            if step.done {
                return Ok(stats);
            }
        }
    }
}

/// What one datagram contained.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// `NLMSG_DONE` (or a final ack) was seen: the dump is complete.
    pub done: bool,
    /// Data messages handed to the callback.
    pub messages: usize,
    /// A message carried `NLM_F_DUMP_INTR`.
    pub interrupted: bool,
}

/// Walks the netlink messages of one datagram, handing each `SOCK_DIAG_BY_FAMILY` payload
/// to `on_msg`. Handles multipart replies, `NLMSG_DONE`, `NLMSG_ERROR` and padding.
///
/// With `expect_seq`, messages of another sequence number (left over from an earlier dump
/// that failed halfway) are skipped.
pub fn parse_datagram(
    buf: &[u8],
    expect_seq: Option<u32>,
    on_msg: &mut dyn FnMut(&[u8]),
) -> Result<Step, DiagError> {
    let mut step = Step::default();
    let mut off = 0;
    while off + NLMSG_HDRLEN <= buf.len() {
        let len = u32_ne(buf, off) as usize;
        let ty = u16_ne(buf, off + 4);
        let flags = u16_ne(buf, off + 6);
        if len < NLMSG_HDRLEN || off + len > buf.len() {
            return Err(DiagError::Malformed {
                offset: off,
                what: "netlink message length out of bounds",
            });
        }
        let payload = &buf[off + NLMSG_HDRLEN..off + len];
        if expect_seq.is_some_and(|seq| seq != u32_ne(buf, off + 8)) {
            off += align4(len);
            continue;
        }
        step.interrupted |= flags & NLM_F_DUMP_INTR != 0;
        match ty {
            NLMSG_DONE => {
                // sock_diag puts an int in DONE; a negative one is an error of the dump.
                if payload.len() >= 4 {
                    let err = i32::from_ne_bytes([payload[0], payload[1], payload[2], payload[3]]);
                    if err < 0 {
                        return Err(kernel_error(err));
                    }
                }
                step.done = true;
                return Ok(step);
            }
            NLMSG_ERROR => {
                if payload.len() < 4 {
                    return Err(DiagError::Malformed {
                        offset: off,
                        what: "truncated NLMSG_ERROR",
                    });
                }
                let err = i32::from_ne_bytes([payload[0], payload[1], payload[2], payload[3]]);
                if err < 0 {
                    return Err(kernel_error(err));
                }
                step.done = true;
                return Ok(step);
            }
            NLMSG_NOOP | NLMSG_OVERRUN => {}
            SOCK_DIAG_BY_FAMILY => {
                step.messages += 1;
                on_msg(payload);
            }
            _ => {}
        }
        off += align4(len);
    }
    if off < buf.len() && buf.len() - off >= 4 {
        // Trailing bytes smaller than a header but not alignment padding.
        if buf[off..].iter().any(|&b| b != 0) {
            return Err(DiagError::Malformed {
                offset: off,
                what: "trailing bytes after last message",
            });
        }
    }
    Ok(step)
}

fn kernel_error(err: i32) -> DiagError {
    DiagError::Kernel {
        what: String::new(),
        source: io::Error::from_raw_os_error(-err),
    }
}

/// Parses one `struct inet_diag_msg` (attributes are not requested, so ignored).
pub fn parse_inet_msg(p: &[u8], proto: Proto) -> Option<Socket> {
    if p.len() < INET_DIAG_MSG_LEN {
        return None;
    }
    let family_raw = p[0];
    let state = SocketState(p[1]);
    let sport = u16::from_be_bytes([p[4], p[5]]);
    let dport = u16::from_be_bytes([p[6], p[7]]);
    let (family, src, dst) = match family_raw {
        AF_INET => (
            Family::Inet,
            IpAddr::V4(Ipv4Addr::new(p[8], p[9], p[10], p[11])),
            IpAddr::V4(Ipv4Addr::new(p[24], p[25], p[26], p[27])),
        ),
        AF_INET6 => (
            Family::Inet6,
            IpAddr::V6(ipv6_at(p, 8)),
            IpAddr::V6(ipv6_at(p, 24)),
        ),
        _ => return None,
    };
    let socket_type = match proto {
        Proto::Tcp => SocketType::Stream,
        Proto::Udp => SocketType::Dgram,
        _ => SocketType::Raw,
    };
    let mut s = Socket::new(proto, family, socket_type, state);
    s.local_addr = Some(Address::Ip(src));
    s.local_port = Some(sport);
    s.remote_addr = Some(Address::Ip(dst));
    s.remote_port = Some(dport);
    s.recv_q = u32_ne(p, 56);
    s.send_q = u32_ne(p, 60);
    s.uid = Some(u32_ne(p, 64));
    s.inode = u64::from(u32_ne(p, 68));
    Some(s)
}

/// Parses one `struct unix_diag_msg` and its name, peer, queue and uid attributes.
pub fn parse_unix_msg(p: &[u8]) -> Option<Socket> {
    if p.len() < UNIX_DIAG_MSG_LEN || p[0] != AF_UNIX {
        return None;
    }
    let socket_type = match p[1] {
        1 => SocketType::Stream,
        2 => SocketType::Dgram,
        5 => SocketType::Seqpacket,
        _ => SocketType::Other,
    };
    let mut s = Socket::new(Proto::Unix, Family::Unix, socket_type, SocketState(p[2]));
    s.inode = u64::from(u32_ne(p, 4));
    let mut off = UNIX_DIAG_MSG_LEN;
    while off + 4 <= p.len() {
        let len = usize::from(u16_ne(p, off));
        let ty = u16_ne(p, off + 2) & 0x3fff;
        if len < 4 || off + len > p.len() {
            break;
        }
        let data = &p[off + 4..off + len];
        match ty {
            UNIX_DIAG_NAME if !data.is_empty() => {
                let name = if data[0] == 0 {
                    // Abstract names are shown with a leading '@', as ss and netstat do.
                    format!("@{}", String::from_utf8_lossy(&data[1..]))
                } else {
                    let end = memchr::memchr(0, data).unwrap_or(data.len());
                    String::from_utf8_lossy(&data[..end]).into_owned()
                };
                s.local_addr = Some(Address::Path(name.into_boxed_str()));
            }
            UNIX_DIAG_PEER if data.len() >= 4 => {
                let peer = u32_ne(data, 0);
                if peer != 0 {
                    s.peer_inode = Some(peer);
                }
            }
            UNIX_DIAG_RQLEN if data.len() >= 8 => {
                s.recv_q = u32_ne(data, 0);
                s.send_q = u32_ne(data, 4);
            }
            UNIX_DIAG_UID if data.len() >= 4 => s.uid = Some(u32_ne(data, 0)),
            _ => {}
        }
        off += align4(len);
    }
    Some(s)
}

/// Builds an inet_diag dump request (`struct inet_diag_req_v2`, plus bytecode when ports
/// are given).
pub fn build_inet_request(req: &InetRequest, seq: u32) -> Vec<u8> {
    let bytecode = port_bytecode(&req.ports);
    let attr_len = if bytecode.is_empty() {
        0
    } else {
        4 + bytecode.len()
    };
    let total = NLMSG_HDRLEN + 56 + attr_len;
    let mut m = Vec::with_capacity(total);
    push_nlmsghdr(&mut m, total, seq);
    m.push(req.family);
    m.push(req.protocol);
    m.push(0); // idiag_ext: no extensions, keeps replies at 72 bytes a socket
    m.push(if req.protocol == IPPROTO_RAW {
        IPPROTO_RAW
    } else {
        0
    }); // sdiag_raw_protocol
        // TCP request sockets are reported as NEW_SYN_RECV, selected by the SYN_RECV bit too.
    m.extend_from_slice(&req.states.0.to_ne_bytes());
    m.extend_from_slice(&[0u8; 48]); // struct inet_diag_sockid: match any
    if !bytecode.is_empty() {
        m.extend_from_slice(&u16::try_from(attr_len).unwrap_or(u16::MAX).to_ne_bytes());
        m.extend_from_slice(&INET_DIAG_REQ_BYTECODE.to_ne_bytes());
        m.extend_from_slice(&bytecode);
    }
    m
}

/// Builds a unix_diag dump request.
pub fn build_unix_request(states: StateSet, seq: u32) -> Vec<u8> {
    let total = NLMSG_HDRLEN + 24;
    let mut m = Vec::with_capacity(total);
    push_nlmsghdr(&mut m, total, seq);
    m.push(AF_UNIX);
    m.push(0);
    m.extend_from_slice(&[0, 0]);
    m.extend_from_slice(&states.0.to_ne_bytes());
    m.extend_from_slice(&0u32.to_ne_bytes()); // udiag_ino
    let show = UDIAG_SHOW_NAME | UDIAG_SHOW_PEER | UDIAG_SHOW_RQLEN | UDIAG_SHOW_UID;
    m.extend_from_slice(&show.to_ne_bytes());
    m.extend_from_slice(&[0u8; 8]); // cookie
    m
}

/// Compiles "source port is one of P or destination port is one of P" into inet_diag
/// bytecode: a chain of equality tests, each of which accepts on a match and otherwise
/// falls through to the next; the last one rejects on a miss.
///
/// Each test is two 4-byte ops (`{code, yes=8, no=12}` and `{0, 0, port}`); between tests
/// sits `{JMP, yes=4, no=rest+4}`, which jumps to the end (accept) when reached by a
/// matching test and is stepped over by a failing one.
pub fn port_bytecode(ports: &[u16]) -> Vec<u8> {
    if ports.is_empty() {
        return Vec::new();
    }
    let tests: Vec<(u8, u16)> = ports
        .iter()
        .flat_map(|&p| [(INET_DIAG_BC_S_EQ, p), (INET_DIAG_BC_D_EQ, p)])
        .collect();
    let n = tests.len();
    let total = n * 8 + (n - 1) * 4;
    let mut bc = Vec::with_capacity(total);
    for (i, (code, port)) in tests.iter().enumerate() {
        push_op(&mut bc, *code, 8, 12);
        push_op(&mut bc, 0, 0, *port);
        if i + 1 < n {
            let rest = total - (bc.len() + 4);
            push_op(
                &mut bc,
                INET_DIAG_BC_JMP,
                4,
                u16::try_from(rest + 4).unwrap_or(u16::MAX),
            );
        }
    }
    bc
}

fn push_op(bc: &mut Vec<u8>, code: u8, yes: u8, no: u16) {
    bc.push(code);
    bc.push(yes);
    bc.extend_from_slice(&no.to_ne_bytes());
}

fn push_nlmsghdr(m: &mut Vec<u8>, total: usize, seq: u32) {
    m.extend_from_slice(&u32::try_from(total).unwrap_or(u32::MAX).to_ne_bytes());
    m.extend_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
    m.extend_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
    m.extend_from_slice(&seq.to_ne_bytes());
    m.extend_from_slice(&0u32.to_ne_bytes());
}

fn ipv6_at(p: &[u8], off: usize) -> Ipv6Addr {
    let mut b = [0u8; 16];
    b.copy_from_slice(&p[off..off + 16]);
    Ipv6Addr::from(b)
}

fn align4(n: usize) -> usize {
    (n + 3) & !3
}

fn u32_ne(b: &[u8], off: usize) -> u32 {
    u32::from_ne_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]])
}

fn u16_ne(b: &[u8], off: usize) -> u16 {
    u16::from_ne_bytes([b[off], b[off + 1]])
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn fixture_dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sock_diag")
    }

    fn read_fixture(name: &str) -> Vec<Vec<u8>> {
        // Fixture format: a sequence of (u32 little-endian length, datagram bytes).
        let bytes = fs_err::read(fixture_dir().join(name)).unwrap();
        let mut out = Vec::new();
        let mut off = 0;
        while off + 4 <= bytes.len() {
            let n = u32::from_le_bytes(bytes[off..off + 4].try_into().unwrap()) as usize;
            out.push(bytes[off + 4..off + 4 + n].to_vec());
            off += 4 + n;
        }
        out
    }

    fn parse_all(datagrams: &[Vec<u8>], f: &mut dyn FnMut(&[u8])) -> Step {
        let mut total = Step::default();
        for d in datagrams {
            let step = parse_datagram(d, None, f).unwrap();
            total.messages += step.messages;
            if step.done {
                total.done = true;
                break;
            }
        }
        total
    }

    /// Captures fresh fixtures from the running kernel: loopback listeners on ports
    /// 47001 (TCP v4), 47002 (TCP v6), 47003 (UDP v4) and a Unix listener, then the
    /// replies. Run with `SOCKHUNT_CAPTURE_FIXTURES=1 cargo test -p sockhunt-host capture`.
    #[test]
    fn capture_fixtures_when_asked() {
        if std::env::var_os("SOCKHUNT_CAPTURE_FIXTURES").is_none() {
            return;
        }
        let _t4 = std::net::TcpListener::bind("127.0.0.1:47001").unwrap();
        let _t6 = std::net::TcpListener::bind("[::1]:47002").unwrap();
        let _u4 = std::net::UdpSocket::bind("127.0.0.1:47003").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let _ux = std::os::unix::net::UnixListener::bind(dir.path().join("fixture.sock")).unwrap();
        let _c = std::net::TcpStream::connect("127.0.0.1:47001").unwrap();
        let mut s = DiagSocket::open().unwrap();
        let cases: Vec<(&str, Vec<u8>)> = vec![
            (
                "tcp4_all.bin",
                build_inet_request(
                    &InetRequest {
                        family: AF_INET,
                        protocol: IPPROTO_TCP,
                        states: StateSet::ALL,
                        ports: vec![47001],
                    },
                    1,
                ),
            ),
            (
                "tcp6_listen.bin",
                build_inet_request(
                    &InetRequest {
                        family: AF_INET6,
                        protocol: IPPROTO_TCP,
                        states: StateSet::LISTENING,
                        ports: vec![47002],
                    },
                    2,
                ),
            ),
            (
                "udp4_all.bin",
                build_inet_request(
                    &InetRequest {
                        family: AF_INET,
                        protocol: IPPROTO_UDP,
                        states: StateSet::ALL,
                        ports: vec![47003],
                    },
                    3,
                ),
            ),
            (
                "unix_listen.bin",
                build_unix_request(StateSet::of(&[SocketState::LISTEN]), 4),
            ),
        ];
        fs_err::create_dir_all(fixture_dir()).unwrap();
        for (name, req) in cases {
            let datagrams = s.dump_raw(&req).unwrap();
            let mut file = Vec::new();
            for d in datagrams {
                file.extend_from_slice(&u32::try_from(d.len()).unwrap().to_le_bytes());
                file.extend_from_slice(&d);
            }
            fs_err::write(fixture_dir().join(name), file).unwrap();
        }
    }

    #[test]
    fn tcp4_fixture_has_listener_and_both_ends() {
        let mut rows = Vec::new();
        let step = parse_all(&read_fixture("tcp4_all.bin"), &mut |p| {
            rows.push(parse_inet_msg(p, Proto::Tcp).unwrap())
        });
        assert!(step.done);
        let listen = rows
            .iter()
            .find(|s| s.state == SocketState::LISTEN)
            .unwrap();
        assert_eq!(listen.local_port, Some(47001));
        assert_eq!(
            listen.local_addr,
            Some(Address::Ip("127.0.0.1".parse().unwrap()))
        );
        assert_eq!(listen.family, Family::Inet);
        assert!(listen.inode != 0);
        let estab: Vec<_> = rows
            .iter()
            .filter(|s| s.state == SocketState::ESTABLISHED)
            .collect();
        assert_eq!(estab.len(), 2, "client and accepted ends: {rows:?}");
        assert!(estab.iter().any(|s| s.remote_port == Some(47001)));
        assert!(estab.iter().any(|s| s.local_port == Some(47001)));
    }

    #[test]
    fn tcp6_fixture_is_filtered_to_its_port() {
        let mut rows = Vec::new();
        parse_all(&read_fixture("tcp6_listen.bin"), &mut |p| {
            rows.push(parse_inet_msg(p, Proto::Tcp).unwrap())
        });
        assert!(!rows.is_empty());
        for s in &rows {
            assert_eq!(s.family, Family::Inet6);
            assert_eq!(s.local_port, Some(47002));
            assert_eq!(s.state, SocketState::LISTEN);
            assert_eq!(s.local_addr, Some(Address::Ip("::1".parse().unwrap())));
        }
    }

    #[test]
    fn udp4_fixture_is_unconnected() {
        let mut rows = Vec::new();
        parse_all(&read_fixture("udp4_all.bin"), &mut |p| {
            rows.push(parse_inet_msg(p, Proto::Udp).unwrap())
        });
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].state, SocketState::CLOSE);
        assert_eq!(rows[0].state.name(), "UNCONN");
        assert_eq!(rows[0].local_port, Some(47003));
    }

    #[test]
    fn unix_fixture_names_the_listener() {
        let mut rows = Vec::new();
        parse_all(&read_fixture("unix_listen.bin"), &mut |p| {
            rows.push(parse_unix_msg(p).unwrap())
        });
        let l = rows
            .iter()
            .find(|s| {
                s.local_addr
                    .as_ref()
                    .is_some_and(|a| a.to_string().ends_with("/fixture.sock"))
            })
            .unwrap();
        assert_eq!(l.state, SocketState::LISTEN);
        assert_eq!(l.socket_type, SocketType::Stream);
        assert!(l.uid.is_some());
    }

    #[test]
    fn errors_and_truncation_are_reported_not_panicked() {
        // NLMSG_ERROR with -EPERM.
        let mut m = Vec::new();
        m.extend_from_slice(&36u32.to_ne_bytes());
        m.extend_from_slice(&NLMSG_ERROR.to_ne_bytes());
        m.extend_from_slice(&0u16.to_ne_bytes());
        m.extend_from_slice(&[0u8; 8]);
        m.extend_from_slice(&(-libc::EPERM).to_ne_bytes());
        m.extend_from_slice(&[0u8; 16]);
        let err = parse_datagram(&m, None, &mut |_| {}).unwrap_err();
        // Another dump's error is not ours.
        assert_eq!(
            parse_datagram(&m, Some(7), &mut |_| {}).unwrap(),
            Step::default()
        );
        assert!(err.is_refused(), "{err}");
        // A length pointing past the end.
        let mut bad = m.clone();
        bad[0] = 200;
        assert!(matches!(
            parse_datagram(&bad, None, &mut |_| {}),
            Err(DiagError::Malformed { .. })
        ));
        // Every truncation of a real datagram is either an error or fewer messages.
        let datagrams = read_fixture("tcp4_all.bin");
        for cut in 0..datagrams[0].len() {
            let _ = parse_datagram(&datagrams[0][..cut], None, &mut |p| {
                let _ = parse_inet_msg(p, Proto::Tcp);
            });
        }
    }

    #[test]
    fn port_bytecode_shape() {
        let bc = port_bytecode(&[22]);
        // S_EQ, port, JMP, D_EQ, port.
        assert_eq!(bc.len(), 20);
        assert_eq!(bc[0], INET_DIAG_BC_S_EQ);
        assert_eq!(bc[8], INET_DIAG_BC_JMP);
        assert_eq!(u16::from_ne_bytes([bc[10], bc[11]]), 12);
        assert_eq!(bc[12], INET_DIAG_BC_D_EQ);
        assert_eq!(u16::from_ne_bytes([bc[18], bc[19]]), 22);
        assert!(port_bytecode(&[]).is_empty());
        assert_eq!(port_bytecode(&[1, 2]).len(), 4 * 8 + 3 * 4);
    }
}
