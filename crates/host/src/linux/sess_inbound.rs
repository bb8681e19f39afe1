//! Inbound remote sessions: established TCP connections whose local end is a port some
//! local socket listens on.
//!
//! Read from `/proc/net/tcp` and `/proc/net/tcp6` of the collector's own network
//! namespace. Owning processes come from one walk of `/proc/<pid>/fd`.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

use crate::sessions::{service_for_port, InboundSession, ProcessRef};

const ESTABLISHED: u8 = 0x01;
const LISTEN: u8 = 0x0a;

/// One row of `/proc/net/tcp{,6}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpRow {
    /// Local address.
    pub local: (IpAddr, u16),
    /// Remote address.
    pub remote: (IpAddr, u16),
    /// Kernel TCP state (`01` established, `0A` listen...).
    pub state: u8,
    /// Owner.
    pub uid: u32,
    /// Socket inode.
    pub inode: u64,
}

/// Parses a `/proc/net/tcp` or `/proc/net/tcp6` table. Lines that do not parse are
/// returned as `(line number, line)` rather than dropped silently.
pub fn parse_table(text: &str) -> (Vec<TcpRow>, Vec<(usize, String)>) {
    let mut rows = Vec::new();
    let mut bad = Vec::new();
    for (index, line) in text.lines().enumerate().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        match parse_row(line) {
            Some(row) => rows.push(row),
            None => bad.push((index + 1, line.to_string())),
        }
    }
    (rows, bad)
}

fn parse_row(line: &str) -> Option<TcpRow> {
    let mut f = line.split_ascii_whitespace();
    let _slot = f.next()?;
    let local = parse_endpoint(f.next()?)?;
    let remote = parse_endpoint(f.next()?)?;
    let state = u8::from_str_radix(f.next()?, 16).ok()?;
    let _queues = f.next()?;
    let _timer = f.next()?;
    let _retransmits = f.next()?;
    let uid = f.next()?.parse().ok()?;
    let _timeout = f.next()?;
    let inode = f.next()?.parse().ok()?;
    Some(TcpRow {
        local,
        remote,
        state,
        uid,
        inode,
    })
}

/// `0100007F:0016` or 32 hex digits for IPv6; each 32-bit word is printed in host order.
fn parse_endpoint(text: &str) -> Option<(IpAddr, u16)> {
    let (addr, port) = text.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let words: Vec<u32> = (0..addr.len() / 8)
        .map(|i| u32::from_str_radix(addr.get(i * 8..i * 8 + 8)?, 16).ok())
        .collect::<Option<_>>()?;
    let ip = match (addr.len(), words.as_slice()) {
        (8, [w]) => IpAddr::V4(Ipv4Addr::from(w.to_ne_bytes())),
        (32, [a, b, c, d]) => {
            let mut bytes = [0u8; 16];
            for (i, w) in [a, b, c, d].into_iter().enumerate() {
                bytes[i * 4..i * 4 + 4].copy_from_slice(&w.to_ne_bytes());
            }
            IpAddr::V6(Ipv6Addr::from(bytes))
        }
        _ => return None,
    };
    Some((ip, port))
}

/// Shows an IPv4-mapped IPv6 address (`::ffff:192.0.2.1`) as the IPv4 address it is.
fn unmap(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Picks the established connections whose local end matches a listener: same port, and
/// the listener bound to that address or to the wildcard.
pub fn inbound(tables: &[(&'static str, Vec<TcpRow>)]) -> Vec<InboundSession> {
    let mut listeners: HashMap<u16, Vec<IpAddr>> = HashMap::new();
    for (_, rows) in tables {
        for row in rows.iter().filter(|r| r.state == LISTEN) {
            listeners
                .entry(row.local.1)
                .or_default()
                .push(unmap(row.local.0));
        }
    }
    let mut out = Vec::new();
    for (protocol, rows) in tables {
        for row in rows.iter().filter(|r| r.state == ESTABLISHED) {
            let local = unmap(row.local.0);
            let Some(bound) = listeners.get(&row.local.1) else {
                continue;
            };
            if !bound.iter().any(|b| b.is_unspecified() || *b == local) {
                continue;
            }
            out.push(InboundSession {
                service: service_for_port(row.local.1).map(str::to_string),
                protocol: (*protocol).to_string(),
                local_addr: local,
                local_port: row.local.1,
                remote_addr: unmap(row.remote.0),
                remote_port: row.remote.1,
                uid: Some(row.uid),
                user: None,
                inode: row.inode,
                processes: Vec::new(),
                netns: None,
                netns_name: None,
            });
        }
    }
    out.sort_by(|a, b| {
        (a.local_port, a.remote_addr, a.remote_port).cmp(&(
            b.local_port,
            b.remote_addr,
            b.remote_port,
        ))
    });
    out
}

/// Outcome of looking for the processes that hold some socket inodes.
#[derive(Debug, Default)]
pub struct Owners {
    /// Holders by inode.
    pub by_inode: HashMap<u64, Vec<ProcessRef>>,
    /// Processes whose descriptor table could not be read (other users' processes when
    /// not root; processes that exited during the walk).
    pub unreadable: usize,
}

/// Walks `/proc/<pid>/fd` looking for `socket:[inode]` links to the wanted inodes. The
/// walk does not stop at the first holder: a socket inherited across `fork` (sshd's
/// privilege-separated children) has several, and all of them are evidence.
pub fn owners(proc_root: &Path, wanted: &HashSet<u64>) -> Owners {
    let mut out = Owners::default();
    if wanted.is_empty() {
        return out;
    }
    let Ok(dir) = std::fs::read_dir(proc_root) else {
        out.unreadable += 1;
        return out;
    };
    for entry in dir.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.parse::<i32>().ok()) else {
            continue;
        };
        let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else {
            out.unreadable += 1;
            continue;
        };
        for fd in fds.flatten() {
            let Ok(target) = std::fs::read_link(fd.path()) else {
                continue;
            };
            let Some(inode) = socket_inode(&target.to_string_lossy()) else {
                continue;
            };
            if wanted.contains(&inode) {
                let comm = std::fs::read_to_string(entry.path().join("comm")).unwrap_or_default();
                let owners = out.by_inode.entry(inode).or_default();
                if !owners.iter().any(|p| p.pid == pid) {
                    owners.push(ProcessRef {
                        pid,
                        name: comm.trim_end_matches('\n').to_string(),
                    });
                }
            }
        }
    }
    out
}

fn socket_inode(link: &str) -> Option<u64> {
    link.strip_prefix("socket:[")?
        .strip_suffix(']')?
        .parse()
        .ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const TCP: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1001 1 0 100 0 0 10 0
   1: 0100007F:0CEA 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1002 1 0 100 0 0 10 0
   2: 0A00000A:0016 0900710A:D431 01 00000000:00000000 02:000A7B3D 00000000     0        0 1003 2 0 20 4 30 10 -1
   3: 0A00000A:9C40 0200000A:0050 01 00000000:00000000 02:000A7B3D 00000000  1000        0 1004 2 0 20 4 30 10 -1
   4: garbage
";

    #[test]
    fn parses_rows_and_reports_bad_lines() {
        let (rows, bad) = parse_table(TCP);
        assert_eq!(rows.len(), 4);
        assert_eq!(bad, vec![(6, "   4: garbage".to_string())]);
        assert_eq!(rows[2].local, ("10.0.0.10".parse().unwrap(), 22));
        assert_eq!(rows[2].remote, ("10.113.0.9".parse().unwrap(), 54321));
        assert_eq!(rows[1].local.0, IpAddr::V4(Ipv4Addr::LOCALHOST));
    }

    #[test]
    fn only_connections_to_listeners_are_inbound() {
        let (rows, _) = parse_table(TCP);
        let found = inbound(&[("tcp", rows)]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].service.as_deref(), Some("ssh"));
        assert_eq!(found[0].remote_port, 54321);
    }

    #[test]
    fn ipv6_endpoints_and_mapped_addresses() {
        let (ip, port) = parse_endpoint("0000000000000000FFFF00000100007F:0016").unwrap();
        assert_eq!(unmap(ip), IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_eq!(port, 22);
        let (ip, _) = parse_endpoint("B80D01200000000000000000AB000000:01BB").unwrap();
        assert_eq!(ip, "2001:db8::ab".parse::<IpAddr>().unwrap());
        assert!(parse_endpoint("123:0016").is_none());
    }
}
