//! The `/proc/net/*` tables: the fallback when netlink sock_diag is refused, and the way
//! into another namespace's tables (`/proc/<pid>/net/*`) when `setns` is not allowed.
//!
//! Slower than sock_diag (the kernel formats text, and nothing is filtered in the kernel),
//! but readable by any user.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

use crate::connections::{Address, Family, Proto, Socket, SocketState, SocketType};

/// Which table to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    /// `tcp` or `tcp6`.
    Tcp(Family),
    /// `udp` or `udp6`.
    Udp(Family),
    /// `raw` or `raw6`.
    Raw(Family),
    /// `unix`.
    Unix,
}

impl Table {
    /// File name under `/proc/net`.
    pub fn file_name(self) -> &'static str {
        match self {
            Table::Tcp(Family::Inet6) => "tcp6",
            Table::Tcp(_) => "tcp",
            Table::Udp(Family::Inet6) => "udp6",
            Table::Udp(_) => "udp",
            Table::Raw(Family::Inet6) => "raw6",
            Table::Raw(_) => "raw",
            Table::Unix => "unix",
        }
    }
}

/// Reads one table from a `net` directory (`/proc/net` or `/proc/<pid>/net`). A missing
/// table (IPv6 disabled) is empty; lines that do not parse are counted in the second value.
pub fn read_table(net_dir: &Path, table: Table) -> Result<(Vec<Socket>, usize), String> {
    let path = net_dir.join(table.file_name());
    let text = match fs_err::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), 0)),
        Err(e) => return Err(e.to_string()),
    };
    Ok(parse_table(&text, table))
}

/// Parses the text of one table; returns the rows and the number of unparsable lines.
pub fn parse_table(text: &str, table: Table) -> (Vec<Socket>, usize) {
    let mut rows = Vec::new();
    let mut bad = 0;
    for line in text.lines().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        let row = match table {
            Table::Unix => parse_unix_line(line),
            Table::Tcp(f) => parse_inet_line(line, Proto::Tcp, f),
            Table::Udp(f) => parse_inet_line(line, Proto::Udp, f),
            Table::Raw(f) => parse_inet_line(line, Proto::Raw, f),
        };
        match row {
            Some(r) => rows.push(r),
            None => bad += 1,
        }
    }
    (rows, bad)
}

fn parse_inet_line(line: &str, proto: Proto, family: Family) -> Option<Socket> {
    let mut f = line.split_ascii_whitespace();
    let _sl = f.next()?;
    let (laddr, lport) = parse_hex_endpoint(f.next()?, family)?;
    let (raddr, rport) = parse_hex_endpoint(f.next()?, family)?;
    let state = u8::from_str_radix(f.next()?, 16).ok()?;
    let (tx, rx) = f.next()?.split_once(':')?;
    let _tr = f.next()?;
    let _retr = f.next()?;
    let uid: u32 = f.next()?.parse().ok()?;
    let _timeout = f.next()?;
    let inode: u64 = f.next()?.parse().ok()?;
    let socket_type = match proto {
        Proto::Tcp => SocketType::Stream,
        Proto::Udp => SocketType::Dgram,
        _ => SocketType::Raw,
    };
    let mut s = Socket::new(proto, family, socket_type, SocketState(state));
    s.local_addr = Some(Address::Ip(laddr));
    s.local_port = Some(lport);
    s.remote_addr = Some(Address::Ip(raddr));
    s.remote_port = Some(rport);
    s.send_q = u32::from_str_radix(tx, 16).ok()?;
    s.recv_q = u32::from_str_radix(rx, 16).ok()?;
    s.uid = Some(uid);
    s.inode = inode;
    Some(s)
}

/// `0100007F:0016`: the address as the kernel's in-memory words printed in hex (so
/// byte-swapped on little-endian machines), then the port.
fn parse_hex_endpoint(field: &str, family: Family) -> Option<(IpAddr, u16)> {
    let (addr, port) = field.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let ip = match (family, addr.len()) {
        (Family::Inet, 8) => {
            let word = u32::from_str_radix(addr, 16).ok()?;
            IpAddr::V4(Ipv4Addr::from(word.to_ne_bytes()))
        }
        (Family::Inet6, 32) => {
            let mut bytes = [0u8; 16];
            for i in 0..4 {
                let word = u32::from_str_radix(addr.get(i * 8..i * 8 + 8)?, 16).ok()?;
                bytes[i * 4..i * 4 + 4].copy_from_slice(&word.to_ne_bytes());
            }
            IpAddr::V6(Ipv6Addr::from(bytes))
        }
        _ => return None,
    };
    Some((ip, port))
}

/// `Num RefCount Protocol Flags Type St Inode Path`.
fn parse_unix_line(line: &str) -> Option<Socket> {
    let mut f = line.split_ascii_whitespace();
    let _num = f.next()?;
    let _refs = f.next()?;
    let _proto = f.next()?;
    let flags = u32::from_str_radix(f.next()?, 16).ok()?;
    let ty = u16::from_str_radix(f.next()?, 16).ok()?;
    let st = u8::from_str_radix(f.next()?, 16).ok()?;
    let inode: u64 = f.next()?.parse().ok()?;
    // The path is the rest of the line and may contain spaces.
    let path = line.split_ascii_whitespace().nth(7).map(|_| {
        let mut rest = line;
        for _ in 0..7 {
            rest = rest.trim_start();
            rest = rest.find(char::is_whitespace).map_or("", |i| &rest[i..]);
        }
        rest.trim_start().to_owned()
    });
    let socket_type = match ty {
        1 => SocketType::Stream,
        2 => SocketType::Dgram,
        5 => SocketType::Seqpacket,
        _ => SocketType::Other,
    };
    // __SO_ACCEPTCON marks a listener; socket states are SS_UNCONNECTED=1, SS_CONNECTED=3.
    let state = if flags & 0x0001_0000 != 0 {
        SocketState::LISTEN
    } else if st == 3 {
        SocketState::ESTABLISHED
    } else {
        SocketState::CLOSE
    };
    let mut s = Socket::new(Proto::Unix, Family::Unix, socket_type, state);
    s.inode = inode;
    s.local_addr = path
        .filter(|p| !p.is_empty())
        .map(|p| Address::Path(p.into_boxed_str()));
    Some(s)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_tcp4_listener() {
        let text = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 0100007F:0016 00000000:0000 0A 00000000:00000005 00:00000000 00000000     0        0 12345 1 0000000000000000 100 0 0 10 0\n garbage\n";
        let (rows, bad) = parse_table(text, Table::Tcp(Family::Inet));
        assert_eq!(bad, 1);
        let s = &rows[0];
        if cfg!(target_endian = "little") {
            assert_eq!(
                s.local_addr,
                Some(Address::Ip("127.0.0.1".parse().unwrap()))
            );
        }
        assert_eq!(s.local_port, Some(22));
        assert_eq!(s.state, SocketState::LISTEN);
        assert_eq!(s.inode, 12345);
        assert_eq!(s.recv_q, 5);
    }

    #[test]
    fn parses_tcp6_loopback() {
        let text = "header\n   0: 00000000000000000000000001000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 777 1 0000000000000000 100 0 0 10 0\n";
        let (rows, bad) = parse_table(text, Table::Tcp(Family::Inet6));
        assert_eq!(bad, 0);
        if cfg!(target_endian = "little") {
            assert_eq!(
                rows[0].local_addr,
                Some(Address::Ip("::1".parse().unwrap()))
            );
        }
        assert_eq!(rows[0].local_port, Some(8080));
        assert_eq!(rows[0].uid, Some(1000));
    }

    #[test]
    fn parses_unix_with_spaces_and_abstract() {
        let text = "Num       RefCount Protocol Flags    Type St Inode Path\n0000000068bcdf1c: 00000002 00000000 00010000 0001 01 1455 /run/my sock\n0000000068bcdf1d: 00000003 00000000 00000000 0001 03 1456\n0000000068bcdf1e: 00000002 00000000 00000000 0002 01 1457 @abstract\n";
        let (rows, bad) = parse_table(text, Table::Unix);
        assert_eq!(bad, 0);
        assert_eq!(rows[0].state, SocketState::LISTEN);
        assert_eq!(
            rows[0]
                .local_addr
                .as_ref()
                .map(ToString::to_string)
                .as_deref(),
            Some("/run/my sock")
        );
        assert_eq!(rows[1].state, SocketState::ESTABLISHED);
        assert_eq!(rows[1].local_addr, None);
        assert_eq!(rows[2].socket_type, SocketType::Dgram);
        assert_eq!(
            rows[2]
                .local_addr
                .as_ref()
                .map(ToString::to_string)
                .as_deref(),
            Some("@abstract")
        );
    }

    #[test]
    fn reads_the_live_tables() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let (rows, bad) = read_table(Path::new("/proc/net"), Table::Tcp(Family::Inet)).unwrap();
        assert_eq!(bad, 0);
        assert!(rows
            .iter()
            .any(|s| s.local_port == Some(port) && s.state == SocketState::LISTEN));
    }
}
