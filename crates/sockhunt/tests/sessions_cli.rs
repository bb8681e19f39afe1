//! `sockhunt sessions` end to end: fixture utmp/wtmp files written with the library's own
//! encoder of the 384-byte record, fixture logind directories, a real inbound TCP
//! connection on loopback, and a run without root privileges.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use jiff::Timestamp;
use sockhunt_host::linux::utmp::{encode, RecordKind, UtmpRecord};

const T0: i64 = 1_764_840_000; // 2025-12-04 09:20:00 UTC
const NOW: &str = "2025-12-04T15:00:00Z";

fn logind_fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../host/tests/fixtures/logind")
}

fn rec(kind: RecordKind, line: &str, user: &str, host: &str, pid: i32, second: i64) -> UtmpRecord {
    UtmpRecord {
        offset: 0,
        kind,
        pid,
        line: line.into(),
        id: line
            .rsplit('/')
            .next()
            .unwrap_or("")
            .chars()
            .take(4)
            .collect(),
        user: user.into(),
        host: host.into(),
        exit_termination: 0,
        exit_status: 0,
        session: pid,
        time: Some(Timestamp::from_second(second).unwrap()),
        addr: host.parse().ok(),
    }
}

fn write_records(path: &Path, records: &[UtmpRecord]) {
    let mut file = std::fs::File::create(path).unwrap();
    for r in records {
        file.write_all(&encode(r)).unwrap();
    }
}

fn utmp_records() -> Vec<UtmpRecord> {
    vec![
        rec(RecordKind::BootTime, "~", "reboot", "6.18.0", 0, T0 - 600),
        rec(RecordKind::LoginProcess, "tty2", "LOGIN", "", 880, T0 - 580),
        rec(RecordKind::UserProcess, "tty1", "root", "", 902, T0),
        rec(
            RecordKind::UserProcess,
            "pts/fixture1",
            "alice",
            "198.51.100.23",
            4711,
            T0 + 11_400,
        ),
        rec(
            RecordKind::UserProcess,
            "pts/fixture2",
            "bob",
            "2001:db8::b0b",
            5000,
            T0 + 12_000,
        ),
    ]
}

/// A directory with `utmp`, `wtmp`, an empty `proc` and `dev`, so only fixture data shows.
struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        write_records(&dir.path().join("utmp"), &utmp_records());
        std::fs::create_dir(dir.path().join("proc")).unwrap();
        std::fs::create_dir(dir.path().join("dev")).unwrap();
        Fixture { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn run(&self, extra: &[&str]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_sockhunt"));
        cmd.arg("sessions")
            .arg("--utmp")
            .arg(self.path("utmp"))
            .arg("--logind-dir")
            .arg(self.path("logind"))
            .arg("--wtmpdb")
            .arg(self.path("wtmp.db"))
            .arg("--proc-root")
            .arg(self.path("proc"))
            .arg("--dev-root")
            .arg(self.path("dev"))
            .args(["--now", NOW, "--no-inbound"])
            .args(extra)
            .env_remove("NO_COLOR");
        cmd.output().unwrap()
    }

    /// Exit code, stdout and stderr together, with the temporary directory replaced.
    fn transcript(&self, output: &Output) -> String {
        let dir = self.dir.path().to_string_lossy().into_owned();
        format!(
            "exit: {:?}\n--- stdout\n{}--- stderr\n{}",
            output.status.code(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
        .replace(&dir, "[TMP]")
    }

    fn with_logind(self) -> Self {
        let logind = self.path("logind");
        std::fs::create_dir(&logind).unwrap();
        for name in ["3", "7", "c2", "12"] {
            std::fs::copy(logind_fixtures().join(name), logind.join(name)).unwrap();
        }
        self
    }
}

#[test]
fn table_from_utmp_only() {
    let fx = Fixture::new();
    let out = fx.run(&[]);
    insta::assert_snapshot!(fx.transcript(&out));
}

#[test]
fn table_merges_logind_and_escapes_hostile_text() {
    let fx = Fixture::new().with_logind();
    let out = fx.run(&["--color", "never"]);
    let text = fx.transcript(&out);
    assert!(!text.contains('\u{1b}'), "raw escape reached the terminal");
    assert!(
        !text.contains('\u{202e}'),
        "raw bidi override reached the terminal"
    );
    insta::assert_snapshot!(text);
}

#[test]
fn who_a_lists_every_utmp_record() {
    let fx = Fixture::new();
    insta::assert_snapshot!(fx.transcript(&fx.run(&["-a"])));
}

#[test]
fn json_document() {
    let fx = Fixture::new().with_logind();
    insta::assert_snapshot!(fx.transcript(&fx.run(&["--format", "json"])));
}

#[test]
fn jsonl_and_csv_rows() {
    let fx = Fixture::new();
    let jsonl = fx.run(&["--format", "jsonl"]);
    let lines: Vec<serde_json::Value> = String::from_utf8(jsonl.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert!(lines.iter().all(|l| l["record"] == "login"));
    assert_eq!(lines[1]["user"], "alice");
    insta::assert_snapshot!(fx.transcript(&fx.run(&["--format", "csv"])));
}

#[test]
fn history_from_wtmp() {
    let fx = Fixture::new();
    write_records(
        &fx.path("wtmp"),
        &[
            rec(RecordKind::BootTime, "~", "reboot", "6.1.0", 0, T0),
            rec(
                RecordKind::UserProcess,
                "pts/0",
                "alice",
                "198.51.100.23",
                100,
                T0 + 60,
            ),
            rec(
                RecordKind::UserProcess,
                "pts/1",
                "bob",
                "203.0.113.5",
                200,
                T0 + 120,
            ),
            rec(RecordKind::DeadProcess, "pts/0", "", "", 100, T0 + 600),
            rec(RecordKind::BootTime, "~", "reboot", "6.1.0", 0, T0 + 3600),
        ],
    );
    let wtmp = fx.path("wtmp");
    insta::assert_snapshot!(fx.transcript(&fx.run(&["--wtmp", wtmp.to_str().unwrap()])));
}

#[test]
fn damaged_utmp_is_partial_with_offsets() {
    let fx = Fixture::new();
    let mut bytes = std::fs::read(fx.path("utmp")).unwrap();
    bytes[384..768].fill(0xa5);
    bytes.truncate(bytes.len() - 100);
    std::fs::write(fx.path("utmp"), bytes).unwrap();
    let out = fx.run(&["--format", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["partial"], true);
    assert_eq!(doc["logins"].as_array().unwrap().len(), 2);
    let problems = doc["sources"][1]["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 2);
    let stderr = fx.transcript(&out);
    assert!(
        stderr.contains("[TMP]/utmp: 2 damaged record(s)"),
        "{stderr}"
    );
    assert!(stderr.contains("results are partial"), "{stderr}");
}

#[test]
fn wtmpdb_is_named_when_present() {
    let fx = Fixture::new();
    std::fs::write(fx.path("wtmp.db"), b"SQLite format 3\0").unwrap();
    let wtmp = fx.path("wtmp");
    write_records(&wtmp, &[]);
    let out = fx.run(&["--wtmp", wtmp.to_str().unwrap()]);
    let text = fx.transcript(&out);
    assert!(
        text.contains("[TMP]/wtmp.db exists (wtmpdb, SQLite) and is not read"),
        "{text}"
    );
}

/// A real inbound connection on loopback: the listener and the accepted socket belong to
/// this test process, which must be named as the owner.
#[test]
fn real_inbound_connection_on_loopback() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let client = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let (_server, peer) = listener.accept().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sockhunt"))
        .args(["sessions", "--format", "json"])
        .output()
        .unwrap();
    drop(client);
    assert_eq!(out.status.code(), Some(0));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let inbound = doc["inbound"].as_array().unwrap();
    let hit = inbound
        .iter()
        .find(|s| s["local_port"] == port && s["remote_port"] == peer.port())
        .unwrap_or_else(|| panic!("port {port} missing from {inbound:?}"));
    assert_eq!(hit["remote_addr"], "127.0.0.1");
    let pids: Vec<u64> = hit["processes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["pid"].as_u64().unwrap())
        .collect();
    assert!(pids.contains(&u64::from(std::process::id())), "{hit}");
}

/// Without root: a utmp readable only by root is named as missing, with the fix, and the
/// rest is still shown.
#[test]
fn non_root_run_says_what_is_missing() {
    if std::os::unix::fs::MetadataExt::uid(&std::fs::metadata("/proc/self").unwrap()) != 0 {
        eprintln!("skipped: needs root to switch to an unprivileged user");
        return;
    }
    let fx = Fixture::new().with_logind();
    std::fs::set_permissions(
        fx.dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    std::fs::set_permissions(
        fx.path("utmp"),
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    std::fs::set_permissions(
        fx.path("logind").join("c2"),
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    let out = Command::new("setpriv")
        .args([
            "--reuid",
            "65534",
            "--regid",
            "65534",
            "--clear-groups",
            "--",
        ])
        .arg(env!("CARGO_BIN_EXE_sockhunt"))
        .arg("sessions")
        .arg("--utmp")
        .arg(fx.path("utmp"))
        .arg("--logind-dir")
        .arg(fx.path("logind"))
        .args(["--now", NOW, "--format", "json"])
        .output()
        .unwrap();
    let text = fx.transcript(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("permission denied: run as root or as a member of group utmp"),
        "{text}"
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["partial"], true);
    assert!(
        text.contains("/logind: 1 session file(s) could not be read"),
        "{text}"
    );
    let users: Vec<&str> = doc["logins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["session_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        users,
        ["3", "7", "12"],
        "the readable logind sessions are still listed"
    );
}

/// An ssh-like listener inside a network namespace this test creates (loopback only): the
/// connection to it is an inbound session only `--all-netns` finds.
#[test]
fn inbound_session_in_another_network_namespace() {
    if std::os::unix::fs::MetadataExt::uid(&std::fs::metadata("/proc/self").unwrap()) != 0 {
        eprintln!("skipped: creating a network namespace needs root");
        return;
    }
    let name = format!("sockhunt-sess-{}", std::process::id());
    let ok = Command::new("ip")
        .args(["netns", "add", &name])
        .status()
        .unwrap()
        .success();
    assert!(ok, "ip netns add");
    let _ = Command::new("ip")
        .args(["netns", "exec", &name, "ip", "link", "set", "lo", "up"])
        .status();
    let script = "import socket,sys,time\n\
                  l=socket.socket(); l.bind(('127.0.0.1',22)); l.listen()\n\
                  c=socket.create_connection(('127.0.0.1',22)); s,_=l.accept()\n\
                  print('ready', flush=True); time.sleep(60)\n";
    let mut child = Command::new("ip")
        .args(["netns", "exec", &name, "python3", "-c", script])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut ready = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut ready,
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sockhunt"))
        .args(["sessions", "--all-netns", "--format", "json"])
        .output()
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let _ = Command::new("ip").args(["netns", "del", &name]).status();
    assert_eq!(ready.trim(), "ready");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let hit = doc["inbound"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["netns_name"] == name.as_str())
        .unwrap_or_else(|| panic!("no inbound session in {name}: {}", doc["inbound"]));
    assert_eq!(hit["service"], "ssh");
    assert_eq!(hit["local_port"], 22);
    assert_eq!(hit["processes"][0]["name"], "python3");
}
