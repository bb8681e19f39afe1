//! `sockhunt watch` on the real kernel: discovery run under it raises alerts with the
//! right pid and image, SIGTERM flushes everything, and the recording replays through
//! `sockhunt hunt` to the same alerts.
//!
//! Needs root and BTF; skips with a printed reason otherwise.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use assert_cmd::cargo::CommandCargoExt;
use serde_json::Value;

static SERIAL: Mutex<()> = Mutex::new(());

fn can_run() -> bool {
    if !nix_is_root() {
        eprintln!("skipped: the sensor needs root");
        return false;
    }
    if !Path::new("/sys/kernel/btf/vmlinux").exists() {
        eprintln!("skipped: the kernel has no BTF");
        return false;
    }
    true
}

fn nix_is_root() -> bool {
    // The effective uid, without a dependency: /proc/self/status `Uid:` real, effective...
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|v| v.split_whitespace().nth(1).map(|e| e == "0"))
        })
        .unwrap_or(false)
}

/// Starts `sockhunt watch ARGS` and waits until it says it is watching.
fn start_watch(args: &[&str]) -> (Child, std::thread::JoinHandle<String>) {
    let mut child = Command::cargo_bin("sockhunt")
        .unwrap()
        .arg("watch")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut first = String::new();
    stderr.read_line(&mut first).unwrap();
    assert!(first.contains("watching"), "unexpected start: {first}");
    // Keep draining stderr so the child never blocks on it.
    let rest = std::thread::spawn(move || {
        let mut all = first;
        let mut line = String::new();
        while stderr.read_line(&mut line).unwrap_or(0) > 0 {
            all.push_str(&line);
            line.clear();
        }
        all
    });
    (child, rest)
}

fn stop(child: &mut Child) -> i32 {
    let pid = i32::try_from(child.id()).unwrap();
    Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code().unwrap_or(-1);
        }
        assert!(Instant::now() < deadline, "watch did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The absolute path a tool runs from (the image the sensor must report).
fn which(name: &str) -> String {
    std::env::var("PATH")
        .unwrap_or_default()
        .split(':')
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{name} is not installed"))
        .to_string_lossy()
        .into_owned()
}

fn run(program: &str, args: &[&str]) -> u32 {
    let mut child = Command::new(which(program))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

fn jsonl(path: &Path) -> Vec<Value> {
    fs_err::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn alert_pid(alert: &Value) -> Option<u64> {
    field(&alert["event"], "ProcessId").and_then(Value::as_u64)
}

/// A field of a serialized event, whether `fields` is an object or `[name, value]` pairs.
fn field<'a>(event: &'a Value, name: &str) -> Option<&'a Value> {
    match &event["fields"] {
        Value::Object(map) => map.get(name),
        Value::Array(pairs) => pairs
            .iter()
            .find(|p| p[0].as_str() == Some(name))
            .map(|p| &p[1]),
        _ => None,
    }
}

/// What identifies an alert across live and replay: rule, pid and the telling fields.
fn key(alert: &Value) -> String {
    let e = &alert["event"];
    format!(
        "{} | {:?} | {:?} | {:?} | {:?}",
        alert["rule"]["title"],
        field(e, "ProcessId"),
        field(e, "TargetFilename"),
        field(e, "Operation"),
        field(e, "CommandLine"),
    )
}

#[test]
fn discovery_under_watch_alerts_and_replays_to_the_same_alerts() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !can_run() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let alerts_path = dir.path().join("alerts.jsonl");
    let record_path = dir.path().join("record.jsonl");
    let (mut watch, stderr) = start_watch(&[
        "--format",
        "jsonl",
        "--output",
        alerts_path.to_str().unwrap(),
        "--record",
        record_path.to_str().unwrap(),
    ]);

    let ss = run("ss", &["-tan"]);
    let cat = run("cat", &["/proc/net/tcp"]);
    let bash = run("bash", &["-c", "read -r l < /proc/net/tcp6"]);
    let benign = run("cat", &["/proc/cpuinfo"]);
    std::thread::sleep(Duration::from_millis(200));

    let code = stop(&mut watch);
    let stderr = stderr.join().unwrap();
    assert_eq!(code, 1, "exit 1 means detections; stderr: {stderr}");
    assert!(
        stderr.contains("lost: 0 in the kernel, 0 in user space"),
        "{stderr}"
    );

    let alerts = jsonl(&alerts_path);
    let of = |pid: u32| -> Vec<&Value> {
        alerts
            .iter()
            .filter(|a| alert_pid(a) == Some(u64::from(pid)))
            .collect()
    };
    for (name, pid, image) in [
        ("ss", ss, which("ss")),
        ("cat /proc/net/tcp", cat, which("cat")),
        ("bash read", bash, which("bash")),
    ] {
        let hits = of(pid);
        assert!(!hits.is_empty(), "{name} (pid {pid}) raised no alert");
        for a in hits {
            assert_eq!(
                field(&a["event"], "Image").and_then(Value::as_str),
                Some(image.as_str()),
                "{name}: {a}"
            );
            assert!(a["rule"]["title"].as_str().is_some_and(|t| !t.is_empty()));
        }
    }
    assert!(
        of(benign).is_empty(),
        "cat /proc/cpuinfo raised {:?}",
        of(benign)
    );

    // The recording replays to the same alerts.
    let out = Command::cargo_bin("sockhunt")
        .unwrap()
        .args(["hunt", "--format", "jsonl"])
        .arg(&record_path)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let replayed: BTreeSet<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["type"] == "alert")
        .map(|a| key(&a))
        .collect();
    let live: BTreeSet<String> = alerts.iter().map(key).collect();
    assert_eq!(live, replayed);
}

/// `which`, or `None` with a printed reason.
fn optional(name: &str, package: &str) -> Option<String> {
    let found = std::env::var("PATH")
        .unwrap_or_default()
        .split(':')
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file())
        .map(|p| p.to_string_lossy().into_owned());
    if found.is_none() {
        eprintln!("skipped {name}: not installed (apt-get install {package})");
    }
    found
}

/// Every discovery procedure of the sensor's test list raises an API-level alert
/// (a rule on `file_access` or `network_discovery`, tagged T1049) for the right pid and
/// image; benign reads of /proc raise nothing.
#[test]
fn every_discovery_procedure_raises_an_api_level_alert() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !can_run() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let alerts_path = dir.path().join("alerts.jsonl");
    let utmp = Path::new("/run/utmp");
    let created_utmp = !utmp.exists();
    if created_utmp {
        fs_err::write(utmp, b"").unwrap();
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut other = Command::new(which("sleep")).arg("30").spawn().unwrap();
    let (mut watch, stderr) = start_watch(&[
        "--format",
        "jsonl",
        "--output",
        alerts_path.to_str().unwrap(),
    ]);

    // (what, pid, image, category of the API-level alert)
    let mut cases: Vec<(String, u32, String, &str)> = Vec::new();
    let mut case = |what: &str, program: &str, args: &[&str], category: &'static str| {
        let pid = run(program, args);
        let image = if program.starts_with('/') {
            program.to_owned()
        } else {
            which(program)
        };
        cases.push((what.to_owned(), pid, image, category));
    };
    case("ss -tan", "ss", &["-tan"], "network_discovery");
    case(
        "cat /proc/net/tcp",
        "cat",
        &["/proc/net/tcp"],
        "file_access",
    );
    case(
        "bash read",
        "bash",
        &["-c", "read -r l < /proc/net/tcp"],
        "file_access",
    );
    // The system interpreter: a version-manager shim would exec another image.
    if Path::new("/usr/bin/python3").exists() {
        case(
            "python open",
            "/usr/bin/python3",
            &["-c", "open('/proc/net/tcp6').read()"],
            "file_access",
        );
    } else {
        eprintln!("skipped python: /usr/bin/python3 is not installed");
    }
    let other_table = format!("/proc/{}/net/tcp", other.id());
    case(
        "another process's table",
        "cat",
        &[&other_table],
        "file_access",
    );
    if let Some(netstat) = optional("netstat", "net-tools") {
        case("netstat -tan", &netstat, &["-tan"], "file_access");
        let copy = dir.path().join("sysupd");
        fs_err::copy(&netstat, &copy).unwrap();
        case(
            "renamed netstat",
            copy.to_str().unwrap(),
            &["-tan"],
            "file_access",
        );
    }
    if let Some(lsof) = optional("lsof", "lsof") {
        case("lsof -i", &lsof, &["-n", "-P", "-i"], "file_access");
    }
    case("who", "who", &[], "file_access");
    case("w", "w", &[], "file_access");
    let benign = [run("ls", &["/proc"]), run("cat", &["/proc/cpuinfo"])];
    std::thread::sleep(Duration::from_millis(200));

    stop(&mut watch);
    let stderr = stderr.join().unwrap();
    other.kill().unwrap();
    other.wait().unwrap();
    drop(listener);
    if created_utmp {
        let _ = fs_err::remove_file(utmp);
    }

    let alerts = jsonl(&alerts_path);
    for (what, pid, image, category) in &cases {
        let hit = alerts.iter().find(|a| {
            alert_pid(a) == Some(u64::from(*pid))
                && a["event"]["logsource"]["category"] == *category
                && a["rule"]["attack"]
                    .as_array()
                    .is_some_and(|t| t.iter().any(|t| t == "T1049"))
        });
        let Some(hit) = hit else {
            panic!("{what} (pid {pid}): no T1049 {category} alert; stderr: {stderr}");
        };
        assert_eq!(
            field(&hit["event"], "Image").and_then(Value::as_str),
            Some(image.as_str()),
            "{what}: {hit}"
        );
    }
    for pid in benign {
        assert!(
            alert_pid_none(&alerts, pid),
            "benign pid {pid} raised an alert"
        );
    }
}

fn alert_pid_none(alerts: &[Value], pid: u32) -> bool {
    !alerts.iter().any(|a| alert_pid(a) == Some(u64::from(pid)))
}

#[test]
fn alerts_reach_syslog() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !can_run() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let sock_path = dir.path().join("log");
    let sock = UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let (mut watch, stderr) = start_watch(&[
        "--syslog",
        "--syslog-socket",
        sock_path.to_str().unwrap(),
        "--output",
        dir.path().join("alerts.txt").to_str().unwrap(),
    ]);
    let ss = run("ss", &["-tan"]);
    let mut buf = vec![0u8; 8192];
    let mut found = false;
    let deadline = Instant::now() + Duration::from_secs(5);
    while !found && Instant::now() < deadline {
        let Ok(n) = sock.recv(&mut buf) else { break };
        let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
        assert!(msg.starts_with("<36>sockhunt["), "{msg}");
        found = msg.contains(&format!("pid={ss} "));
    }
    stop(&mut watch);
    let stderr = stderr.join().unwrap();
    assert!(
        found,
        "no syslog message for ss (pid {ss}); stderr: {stderr}"
    );
    let table = fs_err::read_to_string(dir.path().join("alerts.txt")).unwrap();
    assert!(table.starts_with("TIME"), "{table}");
    assert!(table.contains(&format!(" {ss}  ")), "{table}");
}

#[test]
fn not_root_is_a_clear_error() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !nix_is_root() || !Path::new("/usr/bin/setpriv").exists() {
        eprintln!("skipped: needs root and setpriv to drop to nobody");
        return;
    }
    let bin = assert_cmd::cargo::cargo_bin("sockhunt");
    let dir = tempfile::tempdir().unwrap();
    // nobody cannot execute from root's target directory everywhere: copy the binary.
    let copy = dir.path().join("sockhunt");
    fs_err::copy(&bin, &copy).unwrap();
    Command::new("chmod")
        .arg("755")
        .arg(dir.path())
        .status()
        .unwrap();
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(&copy)
        .args(["watch", "--events", "--duration", "1s"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("needs root"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// Several discovery steps from one shell make exactly one chain: raised once (`new`),
/// extended (`updated`), and final (`closed`) with its steps in order when the sensor
/// stops.
#[test]
fn a_discovery_burst_under_watch_is_one_chain() {
    if !can_run() {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("alerts.jsonl");
    let (mut child, stderr) = start_watch(&["--format", "jsonl", "-o", out.to_str().unwrap()]);
    let shell = run(
        "sh",
        &["-c", "whoami; uname -a; cat /proc/net/tcp; ps -e; id"],
    );
    std::thread::sleep(Duration::from_millis(500));
    stop(&mut child);
    let stderr = stderr.join().unwrap();
    let lines = jsonl(&out);
    let chains: Vec<&Value> = lines
        .iter()
        .filter(|l| l["type"] == "chain")
        .filter(|l| {
            l["group"]["sockhunt.session"]
                .as_str()
                .is_some_and(|s| s.ends_with(&format!(":{shell}")))
        })
        .collect();
    let news = chains.iter().filter(|c| c["update"] == "new").count();
    let closed: Vec<&&Value> = chains.iter().filter(|c| c["update"] == "closed").collect();
    assert_eq!(news, 1, "one chain raised: {chains:#?}\n{stderr}");
    assert_eq!(closed.len(), 1, "{chains:#?}");
    let steps = closed[0]["steps"].as_array().unwrap();
    assert!(steps.len() >= 4, "{steps:#?}");
    let techniques = closed[0]["techniques"].as_array().unwrap();
    assert!(techniques.iter().any(|t| t == "T1049"), "{techniques:?}");
    let times: Vec<&str> = steps.iter().map(|s| s["time"].as_str().unwrap()).collect();
    let mut sorted = times.clone();
    sorted.sort_unstable();
    assert_eq!(times, sorted, "steps in time order");
}
