//! The sensor on the real kernel: start it in this process, run real discovery tools
//! and benign work as children, and check what it reports for each child pid.
//!
//! Needs root and BTF; skips with a printed reason otherwise. Tools that are not
//! installed (netstat, lsof, who) skip their case with a printed reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sockhunt_events::Event;
use sockhunt_sensor::{Item, RawEvent, SensorConfig, WatchOptions, Watcher};

/// One sensor at a time: each test's sensor would otherwise see the others' children
/// (harmless, filtered by pid) and compete for the two CPUs (not harmless for timing).
static SERIAL: Mutex<()> = Mutex::new(());

fn skip(reason: &str) {
    eprintln!("skipped: {reason}");
}

fn start() -> Option<Watcher> {
    if !nix::unistd::geteuid().is_root() {
        skip("the sensor needs root");
        return None;
    }
    if !Path::new("/sys/kernel/btf/vmlinux").exists() {
        skip("the kernel has no BTF");
        return None;
    }
    let options = WatchOptions {
        sensor: SensorConfig::default(),
        // The children are ours: this process excludes only itself (in the kernel).
        exclude_tree: None,
        drop_check_every: Duration::from_millis(200),
    };
    Some(Watcher::start(options).expect("sensor starts"))
}

fn tool(name: &str) -> Option<PathBuf> {
    ["/usr/bin", "/bin", "/usr/sbin", "/sbin"]
        .iter()
        .map(|d| Path::new(d).join(name))
        .find(|p| p.exists())
}

/// A tool's absolute path (the image the sensor must report); tools every Linux has.
fn bin(name: &str) -> String {
    tool(name)
        .unwrap_or_else(|| panic!("{name} is not installed"))
        .to_string_lossy()
        .into_owned()
}

/// What the sensor reported about one child.
struct Seen {
    pid: u32,
    events: Vec<Event>,
    raws: Vec<RawEvent>,
}

impl Seen {
    fn of(&self, category: &str) -> Vec<&Event> {
        self.events
            .iter()
            .filter(|e| e.logsource.category.as_deref() == Some(category))
            .filter(|e| field(e, "ProcessId") == Some(self.pid.to_string()))
            .collect()
    }

    fn file_accesses(&self) -> Vec<&Event> {
        self.of("file_access")
    }

    fn net_tables(&self) -> Vec<String> {
        self.file_accesses()
            .iter()
            .filter_map(|e| field(e, "NetTable"))
            .collect()
    }
}

fn field(e: &Event, name: &str) -> Option<String> {
    e.fields.get_str(name).map(|s| s.into_owned())
}

/// Runs `cmd` to completion under the sensor and collects every event until the
/// child's exit record arrives (records are read in order, so nothing of the child's
/// is still in flight then).
fn run(w: &mut Watcher, cmd: &mut Command) -> Seen {
    let child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let pid = child.id();
    let output = child.wait_with_output().expect("wait");
    let _ = output;
    let mut seen = Seen {
        pid,
        events: Vec::new(),
        raws: Vec::new(),
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut exited = false;
    while !exited && Instant::now() < deadline {
        w.poll(Duration::from_millis(10), |item| match item {
            Item::Record(raw, event) => {
                if matches!(raw, RawEvent::Exit(x) if x.header.pid == pid) {
                    exited = true;
                }
                if raw.header().pid == pid {
                    seen.raws.push(raw.clone());
                }
                if let Some(event) = event {
                    seen.events.push(event);
                }
            }
            Item::Drops(event) => panic!("records lost: {event:?}"),
        })
        .unwrap();
    }
    assert!(exited, "no exit record for pid {pid}");
    seen
}

#[test]
fn ss_is_seen_by_its_sock_diag_dumps() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let Some(mut w) = start() else { return };
    let Some(ss) = tool("ss") else {
        return skip("ss is not installed");
    };
    let seen = run(&mut w, Command::new(&ss).arg("-tan"));

    let exec = seen.of("process_creation");
    assert_eq!(exec.len(), 1, "{:?}", seen.events);
    assert_eq!(field(exec[0], "Image").as_deref(), ss.to_str());
    assert_eq!(
        field(exec[0], "CommandLine").as_deref(),
        Some(&*format!("{} -tan", ss.display()))
    );
    assert_eq!(
        field(exec[0], "ParentProcessId"),
        Some(std::process::id().to_string())
    );
    assert!(field(exec[0], "ParentImage").is_some_and(|p| !p.is_empty()));

    let nd = seen.of("network_discovery");
    assert!(
        nd.iter()
            .any(|e| field(e, "Operation").as_deref() == Some("sock_diag_socket")),
        "{nd:?}"
    );
    let dumps: Vec<(String, String)> = nd
        .iter()
        .filter(|e| field(e, "Operation").as_deref() == Some("sock_diag_dump"))
        .map(|e| {
            (
                field(e, "Family").unwrap(),
                field(e, "Protocol").unwrap_or_default(),
            )
        })
        .collect();
    assert!(dumps.contains(&("inet".into(), "tcp".into())), "{dumps:?}");
    assert!(dumps.contains(&("inet6".into(), "tcp".into())), "{dumps:?}");
    for e in &nd {
        assert_eq!(field(e, "Image").as_deref(), ss.to_str());
        assert_eq!(field(e, "User").as_deref(), Some("root"));
    }
    // ss lists sockets through netlink only.
    assert!(seen.file_accesses().is_empty());
    assert!(seen.raws.iter().any(|r| matches!(r, RawEvent::Exit(_))));
}

#[test]
fn proc_net_reads_in_every_spelling() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let Some(mut w) = start() else { return };

    // cat of the usual path: /proc/net is a symlink to self/net.
    let cat = bin("cat");
    let seen = run(&mut w, Command::new(&cat).arg("/proc/net/tcp"));
    let fa = seen.file_accesses();
    assert_eq!(fa.len(), 1, "{:?}", seen.events);
    assert_eq!(
        field(fa[0], "TargetFilename"),
        Some(format!("/proc/{}/net/tcp", seen.pid))
    );
    assert_eq!(field(fa[0], "NetTable").as_deref(), Some("tcp"));
    assert_eq!(field(fa[0], "DiscoveryKind").as_deref(), Some("proc_net"));
    assert_eq!(field(fa[0], "Image"), Some(cat.clone()));
    assert_eq!(
        field(fa[0], "CommandLine"),
        Some(format!("{cat} /proc/net/tcp"))
    );
    assert_eq!(field(fa[0], "TableOwnerPid"), Some(seen.pid.to_string()));

    // A relative path after cd, through /proc/thread-self.
    let seen = run(
        &mut w,
        Command::new("sh").args(["-c", "cd /proc/thread-self/net && exec cat ./udp"]),
    );
    assert_eq!(seen.net_tables(), ["udp"], "{:?}", seen.events);
    let fa = seen.file_accesses();
    let target = field(fa[0], "TargetFilename").unwrap();
    assert!(
        target.starts_with(&format!("/proc/{}/task/", seen.pid)) && target.ends_with("/net/udp"),
        "{target}"
    );

    // A bash builtin read: no network tool runs at all.
    let seen = run(
        &mut w,
        Command::new(bin("bash")).args(["-c", "read -r line < /proc/net/tcp; echo \"$line\""]),
    );
    assert_eq!(seen.net_tables(), ["tcp"], "{:?}", seen.events);
    assert_eq!(
        field(seen.file_accesses()[0], "Image").as_deref(),
        Some(bin("bash").as_str())
    );

    // Python.
    if let Some(py) = tool("python3") {
        let seen = run(
            &mut w,
            Command::new(&py).args(["-c", "open('/proc/net/tcp6').read()"]),
        );
        assert_eq!(seen.net_tables(), ["tcp6"], "{:?}", seen.events);
        let image = field(seen.file_accesses()[0], "Image").unwrap();
        assert!(image.contains("python3"), "{image}");
    } else {
        skip("python3 is not installed");
    }

    // Another process's table.
    let mut other = Command::new(bin("sleep")).arg("30").spawn().unwrap();
    let other_pid = other.id();
    let path = format!("/proc/{other_pid}/net/tcp");
    let seen = run(&mut w, Command::new(&cat).arg(&path));
    other.kill().unwrap();
    other.wait().unwrap();
    let fa = seen.file_accesses();
    assert_eq!(fa.len(), 1, "{:?}", seen.events);
    assert_eq!(field(fa[0], "TargetFilename"), Some(path));
    assert_eq!(field(fa[0], "TableOwnerPid"), Some(other_pid.to_string()));
    assert_eq!(
        field(fa[0], "TableOwnerImage").as_deref(),
        Some(bin("sleep").as_str())
    );
}

#[test]
fn netstat_lsof_and_a_renamed_netstat() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let Some(mut w) = start() else { return };
    match tool("netstat") {
        Some(netstat) => {
            let seen = run(&mut w, Command::new(&netstat).arg("-tan"));
            let tables = seen.net_tables();
            assert!(
                tables.contains(&"tcp".to_owned()) && tables.contains(&"tcp6".to_owned()),
                "{tables:?}"
            );

            let dir = tempfile::tempdir().unwrap();
            let copy = dir.path().join("sysupd");
            fs_err::copy(&netstat, &copy).unwrap();
            let seen = run(&mut w, Command::new(&copy).arg("-tan"));
            let fa = seen.file_accesses();
            assert!(!fa.is_empty(), "{:?}", seen.events);
            for e in fa {
                assert_eq!(field(e, "Image").as_deref(), copy.to_str());
            }
            assert!(seen.net_tables().contains(&"tcp".to_owned()));
        }
        None => skip("netstat is not installed (apt-get install net-tools)"),
    }
    match tool("lsof") {
        Some(lsof) => {
            // lsof reads a protocol's table only once it meets a socket of that kind.
            let _listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let seen = run(&mut w, Command::new(&lsof).args(["-n", "-P", "-i"]));
            let tables = seen.net_tables();
            assert!(tables.contains(&"tcp".to_owned()), "{tables:?}");
            for e in seen.file_accesses() {
                assert_eq!(field(e, "Image").as_deref(), lsof.to_str());
            }
        }
        None => skip("lsof is not installed (apt-get install lsof)"),
    }
}

/// Creates /run/utmp for the test when the host has none (nobody logged in), and
/// removes it after.
struct Utmp {
    created: bool,
}

impl Utmp {
    fn ensure() -> Utmp {
        let path = Path::new("/run/utmp");
        if path.exists() {
            return Utmp { created: false };
        }
        fs_err::write(path, b"").unwrap();
        Utmp { created: true }
    }
}

impl Drop for Utmp {
    fn drop(&mut self) {
        if self.created {
            let _ = fs_err::remove_file("/run/utmp");
        }
    }
}

#[test]
fn who_and_w_read_utmp() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let Some(mut w) = start() else { return };
    let _utmp = Utmp::ensure();
    for name in ["who", "w"] {
        let Some(bin) = tool(name) else {
            skip(&format!("{name} is not installed"));
            continue;
        };
        let seen = run(&mut w, &mut Command::new(&bin));
        let fa = seen.file_accesses();
        let hit = fa
            .iter()
            .find(|e| field(e, "SessionDatabase").as_deref() == Some("utmp"))
            .unwrap_or_else(|| panic!("{name}: {:?}", seen.events));
        assert_eq!(field(hit, "DiscoveryKind").as_deref(), Some("session_db"));
        assert_eq!(field(hit, "TargetFilename").as_deref(), Some("/run/utmp"));
        assert_eq!(field(hit, "Image").as_deref(), bin.to_str());
    }
}

#[test]
fn benign_work_and_the_sensor_itself_are_not_reported() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let Some(mut w) = start() else { return };
    for args in [
        &["ls", "/proc"][..],
        &["cat", "/proc/cpuinfo"],
        &["ls", "/proc/sys/net/ipv4"],
        &["cat", "/proc/sys/net/ipv4/ip_forward"],
        &["cat", "/proc/self/status"],
    ] {
        let seen = run(&mut w, Command::new(args[0]).args(&args[1..]));
        assert!(
            seen.file_accesses().is_empty(),
            "{args:?}: {:?}",
            seen.file_accesses()
        );
        assert!(seen.of("network_discovery").is_empty());
        assert_eq!(seen.of("process_creation").len(), 1, "{args:?}");
    }
    // This process reads a table itself: the sensor's own pid is excluded in the kernel.
    let me = std::process::id();
    let _ = fs_err::read("/proc/net/tcp").unwrap();
    let seen = run(&mut w, Command::new("true").arg("marker"));
    assert!(
        !seen
            .events
            .iter()
            .any(|e| field(e, "ProcessId") == Some(me.to_string())),
        "the sensor's own activity was reported"
    );
    let summary = w.summary().unwrap();
    assert_eq!(summary.kernel_drops.total(), 0);
    assert_eq!(summary.user_drops, 0);
}
