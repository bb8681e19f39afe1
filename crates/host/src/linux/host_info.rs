//! Linux host facts: `uname`, `/proc/sys/kernel/random/boot_id`, `/proc/stat` btime,
//! `/proc/uptime`, and interfaces from `getifaddrs` completed with `/proc/net/if_inet6`
//! (IPv6 scope) and `/sys/class/net` (MTU).

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv6Addr};
use std::path::Path;

use jiff::Timestamp;
use nix::ifaddrs::getifaddrs;
use nix::net::if_::InterfaceFlags;

use crate::hostinfo::{HostInfo, Interface, InterfaceAddress, Kernel};

/// See [`crate::hostinfo::collect`].
pub fn collect(now: Timestamp) -> HostInfo {
    let mut warnings = Vec::new();
    let mut read = |path: &str| match fs_err::read_to_string(path) {
        Ok(text) => Some(text.trim().to_string()),
        Err(err) => {
            warnings.push(err.to_string());
            None
        }
    };
    let boot_id = read("/proc/sys/kernel/random/boot_id");
    let machine_id = read("/etc/machine-id");
    let boot_time = read("/proc/stat").and_then(|s| boot_time(&s));
    let uptime_seconds =
        read("/proc/uptime").and_then(|s| s.split_whitespace().next()?.parse::<f64>().ok());
    let os = std::fs::read_to_string("/etc/os-release")
        .or_else(|_| std::fs::read_to_string("/usr/lib/os-release"))
        .ok()
        .and_then(|text| os_pretty_name(&text));
    let (hostname, kernel) = match nix::sys::utsname::uname() {
        Ok(u) => {
            let s = |v: &std::ffi::OsStr| v.to_string_lossy().into_owned();
            (
                Some(s(u.nodename())),
                Some(Kernel {
                    sysname: s(u.sysname()),
                    release: s(u.release()),
                    version: s(u.version()),
                    machine: s(u.machine()),
                }),
            )
        }
        Err(err) => {
            warnings.push(format!("uname: {err}"));
            (None, None)
        }
    };
    let interfaces = interfaces(&mut warnings);
    HostInfo {
        hostname,
        kernel,
        os,
        machine_id,
        boot_id,
        boot_time,
        uptime_seconds,
        time: now,
        interfaces,
        warnings,
    }
}

fn boot_time(stat: &str) -> Option<Timestamp> {
    let line = stat.lines().find(|l| l.starts_with("btime "))?;
    Timestamp::from_second(line[6..].trim().parse().ok()?).ok()
}

fn os_pretty_name(text: &str) -> Option<String> {
    let value = text.lines().find_map(|l| l.strip_prefix("PRETTY_NAME="))?;
    Some(value.trim_matches('"').to_string())
}

fn flag_names(flags: InterfaceFlags) -> Vec<String> {
    let known = [
        (InterfaceFlags::IFF_UP, "UP"),
        (InterfaceFlags::IFF_BROADCAST, "BROADCAST"),
        (InterfaceFlags::IFF_LOOPBACK, "LOOPBACK"),
        (InterfaceFlags::IFF_POINTOPOINT, "POINTOPOINT"),
        (InterfaceFlags::IFF_RUNNING, "RUNNING"),
        (InterfaceFlags::IFF_NOARP, "NOARP"),
        (InterfaceFlags::IFF_PROMISC, "PROMISC"),
        (InterfaceFlags::IFF_MULTICAST, "MULTICAST"),
    ];
    known
        .iter()
        .filter(|(f, _)| flags.contains(*f))
        .map(|(_, n)| n.to_string())
        .collect()
}

fn prefix_len(mask: IpAddr) -> u8 {
    match mask {
        IpAddr::V4(v4) => u32::from(v4).count_ones() as u8,
        IpAddr::V6(v6) => u128::from(v6).count_ones() as u8,
    }
}

fn ip_of(addr: &nix::sys::socket::SockaddrStorage) -> Option<IpAddr> {
    if let Some(v4) = addr.as_sockaddr_in() {
        return Some(IpAddr::V4(v4.ip()));
    }
    addr.as_sockaddr_in6().map(|v6| IpAddr::V6(v6.ip()))
}

fn interfaces(warnings: &mut Vec<String>) -> Vec<Interface> {
    let mut by_name: BTreeMap<String, Interface> = BTreeMap::new();
    match getifaddrs() {
        Ok(list) => {
            for entry in list {
                let iface = by_name
                    .entry(entry.interface_name.clone())
                    .or_insert_with(|| Interface {
                        name: entry.interface_name.clone(),
                        index: nix::net::if_::if_nametoindex(entry.interface_name.as_str()).ok(),
                        flags: flag_names(entry.flags),
                        mac: None,
                        mtu: sys_number(&entry.interface_name, "mtu"),
                        addresses: Vec::new(),
                    });
                let Some(addr) = entry.address.as_ref() else {
                    continue;
                };
                if let Some(link) = addr.as_link_addr() {
                    if let Some(mac) = link.addr() {
                        iface.mac = Some(
                            mac.iter()
                                .map(|b| format!("{b:02x}"))
                                .collect::<Vec<_>>()
                                .join(":"),
                        );
                    }
                    continue;
                }
                let Some(ip) = ip_of(addr) else { continue };
                iface.addresses.push(InterfaceAddress {
                    address: ip,
                    prefix_len: entry.netmask.as_ref().and_then(ip_of).map(prefix_len),
                    scope: None,
                    broadcast: entry.broadcast.as_ref().and_then(ip_of),
                });
            }
        }
        Err(err) => warnings.push(format!("getifaddrs: {err}")),
    }
    if let Ok(text) = std::fs::read_to_string("/proc/net/if_inet6") {
        for row in parse_if_inet6(&text) {
            let iface = by_name
                .entry(row.name.clone())
                .or_insert_with(|| Interface {
                    name: row.name.clone(),
                    index: Some(row.index),
                    flags: Vec::new(),
                    mac: None,
                    mtu: sys_number(&row.name, "mtu"),
                    addresses: Vec::new(),
                });
            let address = IpAddr::V6(row.address);
            match iface.addresses.iter_mut().find(|a| a.address == address) {
                Some(existing) => existing.scope = Some(row.scope.clone()),
                None => iface.addresses.push(InterfaceAddress {
                    address,
                    prefix_len: Some(row.prefix_len),
                    scope: Some(row.scope.clone()),
                    broadcast: None,
                }),
            }
        }
    }
    let mut list: Vec<Interface> = by_name.into_values().collect();
    list.sort_by_key(|i| (i.index.unwrap_or(u32::MAX), i.name.clone()));
    list
}

fn sys_number(name: &str, attribute: &str) -> Option<u32> {
    if name.contains('/') || name.starts_with('.') {
        return None;
    }
    let path = Path::new("/sys/class/net").join(name).join(attribute);
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// One row of `/proc/net/if_inet6`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfInet6 {
    /// Address.
    pub address: Ipv6Addr,
    /// Interface index.
    pub index: u32,
    /// Prefix length.
    pub prefix_len: u8,
    /// Scope name.
    pub scope: String,
    /// Interface name.
    pub name: String,
}

/// Parses `/proc/net/if_inet6`: `address index prefix scope flags name`, hex numbers.
/// Malformed rows are skipped.
pub fn parse_if_inet6(text: &str) -> Vec<IfInet6> {
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 6 || f[0].len() != 32 {
                return None;
            }
            let address = Ipv6Addr::from(u128::from_str_radix(f[0], 16).ok()?);
            let scope = match u32::from_str_radix(f[3], 16).ok()? {
                0x00 => "global",
                0x10 => "host",
                0x20 => "link",
                0x40 => "site",
                0x80 => "compat",
                _ => "other",
            };
            Some(IfInet6 {
                address,
                index: u32::from_str_radix(f[1], 16).ok()?,
                prefix_len: u8::from_str_radix(f[2], 16).ok()?,
                scope: scope.to_string(),
                name: f[5].to_string(),
            })
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn if_inet6_rows() {
        let text = "00000000000000000000000000000001 01 80 10 80       lo\n\
                    fe800000000000000211223344556677 02 40 20 80     eth0\n\
                    short 02 40 20 80 eth1\n";
        let rows = parse_if_inet6(text);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].address, Ipv6Addr::LOCALHOST);
        assert_eq!((rows[0].prefix_len, rows[0].scope.as_str()), (128, "host"));
        assert_eq!(
            rows[1].address,
            "fe80::211:2233:4455:6677".parse::<Ipv6Addr>().unwrap()
        );
        assert_eq!(
            (rows[1].index, rows[1].scope.as_str(), rows[1].name.as_str()),
            (2, "link", "eth0")
        );
    }

    #[test]
    fn btime_and_os_release() {
        assert_eq!(
            boot_time("cpu 1 2\nbtime 1700000000\n")
                .unwrap()
                .as_second(),
            1_700_000_000
        );
        assert_eq!(
            os_pretty_name("ID=debian\nPRETTY_NAME=\"Debian GNU/Linux 12\"\n").unwrap(),
            "Debian GNU/Linux 12"
        );
    }
}
