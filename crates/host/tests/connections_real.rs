//! The socket inventory against real loopback sockets, real processes and a real network
//! namespace. Namespace tests need root (CI runs as root) and skip with a reason otherwise.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::process::{Child, Command, Stdio};

use sockhunt_host::connections::{
    collect, Address, ConnectionQuery, Family, Proto, Protocols, Socket, SocketState, StateSet,
};

fn query_ports(ports: &[u16]) -> ConnectionQuery {
    ConnectionQuery {
        ports: ports.to_vec(),
        all_owners: true,
        ..ConnectionQuery::default()
    }
}

fn pids(s: &Socket) -> Vec<u32> {
    s.processes.iter().map(|p| p.pid).collect()
}

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

#[test]
fn tcp_listener_and_both_ends_with_our_pid() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let client = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let (_server, _) = listener.accept().unwrap();
    let client_port = client.local_addr().unwrap().port();

    let report = collect(&query_ports(&[port])).unwrap();
    let me = std::process::id();
    let tcp: Vec<&Socket> = report
        .sockets
        .iter()
        .filter(|s| s.proto == Proto::Tcp)
        .collect();

    let l = tcp
        .iter()
        .find(|s| s.state == SocketState::LISTEN)
        .expect("listener listed");
    assert_eq!(l.local_port, Some(port));
    assert_eq!(
        l.local_addr,
        Some(Address::Ip("127.0.0.1".parse().unwrap()))
    );
    assert_eq!(l.family, Family::Inet);
    assert_eq!(pids(l), vec![me]);
    assert_ne!(l.inode, 0);

    let client_row = tcp
        .iter()
        .find(|s| s.state == SocketState::ESTABLISHED && s.local_port == Some(client_port))
        .expect("client end listed");
    assert_eq!(client_row.remote_port, Some(port));
    assert_eq!(pids(client_row), vec![me]);
    let server_row = tcp
        .iter()
        .find(|s| s.state == SocketState::ESTABLISHED && s.local_port == Some(port))
        .expect("accepted end listed");
    assert_eq!(server_row.remote_port, Some(client_port));
    assert_eq!(pids(server_row), vec![me]);
    let p = &server_row.processes[0];
    assert!(p.comm.is_some() && p.cmdline.is_some() && p.user.is_some());
    assert!(report.sockets.iter().all(|s| s.netns.is_some()));

    // Only inbound: the accepted end, not the client end.
    let inbound: Vec<_> = report.inbound_established().map(|s| s.local_port).collect();
    assert_eq!(inbound, vec![Some(port)]);
}

#[test]
fn states_filter_is_applied() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let _c = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let q = ConnectionQuery {
        states: StateSet::LISTENING,
        ..query_ports(&[port])
    };
    let report = collect(&q).unwrap();
    assert!(!report.sockets.is_empty());
    assert!(
        report.sockets.iter().all(|s| s.is_listening()),
        "{:?}",
        report.sockets
    );
    let q = ConnectionQuery {
        states: StateSet::CONNECTED,
        ..query_ports(&[port])
    };
    let report = collect(&q).unwrap();
    assert_eq!(
        report
            .sockets
            .iter()
            .filter(|s| s.state == SocketState::ESTABLISHED)
            .count(),
        2
    );
    assert!(report
        .sockets
        .iter()
        .all(|s| s.state != SocketState::LISTEN));
}

#[test]
fn udp_ipv6_and_unix_sockets() {
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let uport = udp.local_addr().unwrap().port();
    let Ok(l6) = TcpListener::bind("[::1]:0") else {
        eprintln!("skipping IPv6 part: no ::1 here");
        return;
    };
    let port6 = l6.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inventory.sock");
    let _ux = std::os::unix::net::UnixListener::bind(&path).unwrap();

    let report = collect(&query_ports(&[uport, port6])).unwrap();
    let u = report
        .sockets
        .iter()
        .find(|s| s.proto == Proto::Udp && s.local_port == Some(uport))
        .unwrap();
    assert_eq!(u.state.name(), "UNCONN");
    assert_eq!(pids(u), vec![std::process::id()]);
    let t6 = report
        .sockets
        .iter()
        .find(|s| s.proto == Proto::Tcp && s.local_port == Some(port6))
        .unwrap();
    assert_eq!(t6.family, Family::Inet6);
    assert_eq!(t6.local_addr, Some(Address::Ip("::1".parse().unwrap())));

    let q = ConnectionQuery {
        protocols: Protocols {
            tcp: false,
            udp: false,
            raw: false,
            unix: true,
        },
        states: StateSet::LISTENING,
        pids: vec![std::process::id()],
        ..ConnectionQuery::default()
    };
    let report = collect(&q).unwrap();
    let want = path.to_string_lossy().into_owned();
    let ux = report
        .sockets
        .iter()
        .find(|s| s.local_addr.as_ref().is_some_and(|a| a.to_string() == want))
        .expect("unix listener listed");
    assert_eq!(ux.state, SocketState::LISTEN);
    assert_eq!(pids(ux), vec![std::process::id()]);
}

/// A child process listening on loopback, forked once so two processes share the socket.
struct Holder(Child, u16, Vec<u32>);

impl Holder {
    fn spawn() -> Option<Holder> {
        let script = r#"
import os, socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
pid = os.fork()
if pid == 0:
    time.sleep(60); sys.exit(0)
print(s.getsockname()[1], os.getpid(), pid, flush=True)
time.sleep(60)
"#;
        let mut child = Command::new("python3")
            .args(["-c", script])
            .stdout(Stdio::piped())
            .spawn()
            .ok()?;
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut()?)
            .read_line(&mut line)
            .ok()?;
        let nums: Vec<u32> = line
            .split_whitespace()
            .filter_map(|n| n.parse().ok())
            .collect();
        let port = u16::try_from(*nums.first()?).ok()?;
        Some(Holder(child, port, vec![nums[1], nums[2]]))
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        for &pid in &self.2 {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid as i32),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        let _ = self.0.wait();
    }
}

#[test]
fn shared_socket_lists_every_owner_and_pid_filter_works() {
    let Some(holder) = Holder::spawn() else {
        eprintln!("skipping: python3 is not available to hold a socket in another process");
        return;
    };
    let port = holder.1;
    let mut owners = holder.2.clone();
    owners.sort_unstable();
    let q = ConnectionQuery {
        states: StateSet::LISTENING,
        ..query_ports(&[port])
    };
    let report = collect(&q).unwrap();
    let l = report
        .sockets
        .iter()
        .find(|s| s.local_port == Some(port))
        .unwrap();
    assert_eq!(pids(l), owners);
    assert!(l
        .processes
        .iter()
        .all(|p| p.comm.as_deref().is_some_and(|c| c.starts_with("python"))));
    assert!(l
        .processes
        .iter()
        .all(|p| p.cmdline.as_deref().is_some_and(|c| c.contains("socket"))));

    // Filtering by one owner keeps the socket; by an unrelated pid drops it.
    let q = ConnectionQuery {
        pids: vec![owners[0]],
        ..q.clone()
    };
    assert!(collect(&q)
        .unwrap()
        .sockets
        .iter()
        .any(|s| s.local_port == Some(port)));
    let q = ConnectionQuery {
        pids: vec![std::process::id()],
        ..q
    };
    assert!(!collect(&q)
        .unwrap()
        .sockets
        .iter()
        .any(|s| s.local_port == Some(port)));

    // Without processes nothing is attributed and no note is made.
    let q = ConnectionQuery {
        processes: false,
        states: StateSet::LISTENING,
        ..query_ports(&[port])
    };
    let report = collect(&q).unwrap();
    let l = report
        .sockets
        .iter()
        .find(|s| s.local_port == Some(port))
        .unwrap();
    assert!(l.processes.is_empty() && l.processes_note.is_none());
}

#[test]
fn a_socket_with_no_owner_says_why() {
    // TIME-WAIT sockets belong to no process: close the client end first.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let c = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let (s, _) = listener.accept().unwrap();
    drop(c);
    drop(s);
    let q = ConnectionQuery {
        states: StateSet::ALL,
        ..query_ports(&[port])
    };
    let report = collect(&q).unwrap();
    for s in report.sockets.iter().filter(|s| s.processes.is_empty()) {
        assert!(s.processes_note.is_some(), "{s:?}");
    }
}

/// A named namespace created for one test and deleted afterwards.
struct TempNetns(String);

impl TempNetns {
    fn create() -> Option<TempNetns> {
        let name = format!("sockhunt-test-{}", std::process::id());
        let ok = Command::new("ip")
            .args(["netns", "add", &name])
            .status()
            .ok()?
            .success();
        if !ok {
            return None;
        }
        let ns = TempNetns(name);
        Command::new("ip")
            .args(["-n", &ns.0, "link", "set", "lo", "up"])
            .status()
            .ok()?;
        Some(ns)
    }
}

impl Drop for TempNetns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

#[test]
fn all_netns_finds_a_listener_that_plain_listing_misses() {
    if !is_root() {
        eprintln!("skipping: creating a network namespace needs root (CI runs as root)");
        return;
    }
    let Some(ns) = TempNetns::create() else {
        eprintln!("skipping: `ip netns add` failed here");
        return;
    };
    let path = format!("/run/netns/{}", ns.0);
    // Bind inside the namespace from a thread that joined it; the socket stays there.
    let listener = std::thread::spawn(move || {
        let f = std::fs::File::open(&path).unwrap();
        nix::sched::setns(&f, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
        TcpListener::bind("127.0.0.1:0").unwrap()
    })
    .join()
    .unwrap();
    let port = listener.local_addr().unwrap().port();
    // Make sure the port is not also used in our own namespace by chance.
    let q = ConnectionQuery {
        states: StateSet::LISTENING,
        protocols: Protocols::TCP,
        ..query_ports(&[port])
    };

    let here = collect(&q).unwrap();
    assert!(
        !here
            .sockets
            .iter()
            .any(|s| s.local_port == Some(port) && s.netns_name.as_deref() == Some(ns.0.as_str())),
        "plain listing must not see another namespace"
    );
    let here_inodes: Vec<u64> = here.sockets.iter().map(|s| s.inode).collect();

    let all = collect(&ConnectionQuery {
        all_netns: true,
        ..q
    })
    .unwrap();
    let found = all
        .sockets
        .iter()
        .find(|s| s.local_port == Some(port) && s.netns_name.as_deref() == Some(ns.0.as_str()))
        .unwrap_or_else(|| panic!("listener in {} not found: {:?}", ns.0, all.sockets));
    assert!(!here_inodes.contains(&found.inode));
    let current_ns = std::fs::metadata("/proc/self/ns/net")
        .map(|m| std::os::unix::fs::MetadataExt::ino(&m))
        .unwrap();
    assert_ne!(found.netns, Some(current_ns));
    // The socket's inode is global, so its owner (this test process) is found too.
    assert_eq!(pids(found), vec![std::process::id()]);
}
