//! Facts that identify a host and the moment of a collection: name, kernel, boot id,
//! clock, network interfaces and their addresses. A triage document is worthless if it
//! cannot be tied to the machine and the boot it came from.

use std::net::IpAddr;

use jiff::Timestamp;
use serde::Serialize;

/// The host's identity at collection time.
#[derive(Debug, Clone, Serialize)]
pub struct HostInfo {
    /// Host name (`uname -n`).
    pub hostname: Option<String>,
    /// Kernel identification (`uname -a`).
    pub kernel: Option<Kernel>,
    /// Operating system (`/etc/os-release` PRETTY_NAME).
    pub os: Option<String>,
    /// `/etc/machine-id`: stable across boots.
    pub machine_id: Option<String>,
    /// `/proc/sys/kernel/random/boot_id`: changes at every boot.
    pub boot_id: Option<String>,
    /// When the system booted.
    pub boot_time: Option<Timestamp>,
    /// Seconds since boot.
    pub uptime_seconds: Option<f64>,
    /// Clock at collection time (UTC).
    pub time: Timestamp,
    /// Network interfaces with their addresses.
    pub interfaces: Vec<Interface>,
    /// Facts that could not be read.
    pub warnings: Vec<String>,
}

/// `uname` fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Kernel {
    /// `Linux`.
    pub sysname: String,
    /// Release (`6.8.0-45-generic`).
    pub release: String,
    /// Build version string.
    pub version: String,
    /// Architecture (`x86_64`).
    pub machine: String,
}

/// One network interface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Interface {
    /// Name (`eth0`).
    pub name: String,
    /// Interface index.
    pub index: Option<u32>,
    /// Flags (`UP`, `LOOPBACK`, `PROMISC`...). Promiscuous mode is worth noticing.
    pub flags: Vec<String>,
    /// Hardware address.
    pub mac: Option<String>,
    /// MTU.
    pub mtu: Option<u32>,
    /// Addresses.
    pub addresses: Vec<InterfaceAddress>,
}

/// One address of an interface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InterfaceAddress {
    /// The address.
    pub address: IpAddr,
    /// Prefix length.
    pub prefix_len: Option<u8>,
    /// IPv6 scope (global, link, host, site).
    pub scope: Option<String>,
    /// Broadcast address (IPv4).
    pub broadcast: Option<IpAddr>,
}

/// Collects the host facts. Never fails: what cannot be read is left empty and named in
/// [`HostInfo::warnings`].
pub fn collect(now: Timestamp) -> HostInfo {
    #[cfg(target_os = "linux")]
    {
        crate::linux::host_info::collect(now)
    }
    #[cfg(not(target_os = "linux"))]
    {
        HostInfo {
            hostname: None,
            kernel: None,
            os: None,
            machine_id: None,
            boot_id: None,
            boot_time: None,
            uptime_seconds: None,
            time: now,
            interfaces: Vec::new(),
            warnings: vec!["host facts are not implemented on this operating system".into()],
        }
    }
}
