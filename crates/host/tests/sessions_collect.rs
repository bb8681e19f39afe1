//! Session collection against fixture utmp/wtmp files (written with our own encoder of the
//! 384-byte record), fixture logind directories, and a real terminal for `w`'s columns.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use sockhunt_host::linux::utmp::{self, RecordKind, UtmpRecord, RECORD_SIZE};
use sockhunt_host::sessions::{self, SessionEnd, SessionsOptions, SourceState};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
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
        file.write_all(&utmp::encode(r)).unwrap();
    }
}

const T0: i64 = 1_764_840_000; // 2025-12-04 09:20:00 UTC

fn utmp_fixture() -> Vec<UtmpRecord> {
    vec![
        rec(RecordKind::BootTime, "~", "reboot", "6.18.0", 0, T0 - 600),
        rec(
            RecordKind::RunLevel,
            "~",
            "runlevel",
            "6.18.0",
            53,
            T0 - 590,
        ),
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
        rec(
            RecordKind::DeadProcess,
            "pts/fixture3",
            "",
            "",
            4000,
            T0 + 100,
        ),
    ]
}

fn options(dir: &Path) -> SessionsOptions {
    SessionsOptions {
        logind_dir: Some(dir.join("no-logind")),
        utmp: Some(dir.join("utmp")),
        wtmp: Some(dir.join("wtmp")),
        history: false,
        inbound: false,
        all_netns: false,
        proc_root: Some(dir.to_path_buf()),
        dev_root: Some(dir.to_path_buf()),
        wtmpdb: Some(dir.join("wtmp.db")),
        now: Some(Timestamp::from_second(T0 + 20_000).unwrap()),
    }
}

#[test]
fn our_encoder_agrees_with_utmp_rs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("utmp");
    write_records(&path, &utmp_fixture());
    assert_eq!(
        std::fs::metadata(&path).unwrap().len(),
        7 * RECORD_SIZE as u64
    );
    let theirs = utmp_rs::parse_from_path(&path).unwrap();
    assert_eq!(theirs.len(), 7);
    match &theirs[4] {
        utmp_rs::UtmpEntry::UserProcess {
            pid,
            line,
            user,
            host,
            time,
            ..
        } => {
            assert_eq!(
                (*pid, line.as_str(), user.as_str()),
                (4711, "pts/fixture1", "alice")
            );
            assert_eq!(host, "198.51.100.23");
            assert_eq!(time.unix_timestamp(), T0 + 11_400);
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(matches!(theirs[0], utmp_rs::UtmpEntry::BootTime { .. }));
    assert!(matches!(
        theirs[6],
        utmp_rs::UtmpEntry::DeadProcess { pid: 4000, .. }
    ));
}

#[test]
fn utmp_only_host_lists_user_processes_and_all_records() {
    let dir = tempfile::tempdir().unwrap();
    write_records(&dir.path().join("utmp"), &utmp_fixture());
    let report = sessions::collect(&options(dir.path()));
    assert!(!report.partial, "{:?}", report.warnings);
    let users: Vec<_> = report
        .logins
        .iter()
        .map(|l| (l.user.as_str(), l.tty.as_deref()))
        .collect();
    assert_eq!(
        users,
        vec![
            ("root", Some("tty1")),
            ("alice", Some("pts/fixture1")),
            ("bob", Some("pts/fixture2"))
        ]
    );
    assert_eq!(
        report.logins[2].from_addr,
        Some("2001:db8::b0b".parse().unwrap())
    );
    assert_eq!(report.logins[1].sources, vec!["utmp"]);
    let kinds: Vec<_> = report
        .utmp_records
        .iter()
        .map(|r| r.kind.as_str())
        .collect();
    assert_eq!(
        kinds,
        [
            "boot_time",
            "run_level",
            "login_process",
            "user_process",
            "user_process",
            "user_process",
            "dead_process"
        ]
    );
    let logind = report.sources.iter().find(|s| s.name == "logind").unwrap();
    assert_eq!(logind.state, SourceState::Absent);
}

#[test]
fn logind_and_utmp_merge_on_terminal_and_user() {
    let dir = tempfile::tempdir().unwrap();
    write_records(&dir.path().join("utmp"), &utmp_fixture());
    // A live logind directory also holds `<id>.ref` FIFOs: opening one would hang.
    let logind = dir.path().join("sessions");
    std::fs::create_dir(&logind).unwrap();
    for name in ["7", "c2", "12"] {
        std::fs::copy(fixtures().join("logind").join(name), logind.join(name)).unwrap();
    }
    nix::unistd::mkfifo(
        &logind.join("7.ref"),
        nix::sys::stat::Mode::from_bits_truncate(0o600),
    )
    .unwrap();
    let mut opts = options(dir.path());
    opts.logind_dir = Some(logind);
    let report = sessions::collect(&opts);

    let alice = report.logins.iter().find(|l| l.user == "alice").unwrap();
    assert_eq!(alice.sources, vec!["logind", "utmp"]);
    assert_eq!(alice.uid, Some(1000));
    assert_eq!(alice.service.as_deref(), Some("sshd"));
    assert_eq!(alice.from.as_deref(), Some("198.51.100.23"));
    assert_eq!(alice.from_addr, Some("198.51.100.23".parse().unwrap()));
    assert_eq!(alice.pid, Some(4711));
    let root = report.logins.iter().find(|l| l.user == "root").unwrap();
    assert_eq!(root.sources, vec!["logind", "utmp"]);
    assert_eq!(root.seat.as_deref(), Some("seat0"));
    // bob is only in utmp: a login logind never saw is listed, not dropped.
    let bob = report.logins.iter().find(|l| l.user == "bob").unwrap();
    assert_eq!(bob.sources, vec!["utmp"]);
    // The hostile session file is read as data; its text is escaped only at display time.
    let hostile = report
        .logins
        .iter()
        .find(|l| l.session_id.as_deref() == Some("12"))
        .unwrap();
    assert_eq!(hostile.user, "\u{1b}[31mmallory\u{202e}");
    assert_eq!(hostile.uid, None);
    assert_eq!(hostile.idle_seconds, None);
    assert_eq!(report.logins.len(), 4);
}

#[test]
fn truncated_and_garbage_utmp_is_partial_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("utmp");
    let mut bytes = Vec::new();
    for r in utmp_fixture() {
        bytes.extend_from_slice(&utmp::encode(&r));
    }
    // Record 2 becomes garbage with an impossible type; the file ends mid-record.
    bytes[2 * RECORD_SIZE..3 * RECORD_SIZE].fill(0xa5);
    bytes.extend_from_slice(&[7, 0, 0, 0, 1, 2, 3]);
    std::fs::write(&path, &bytes).unwrap();

    let report = sessions::collect(&options(dir.path()));
    assert!(report.partial);
    assert_eq!(report.logins.len(), 3, "the good records are still read");
    let source = report.sources.iter().find(|s| s.name == "utmp").unwrap();
    assert_eq!(source.records, 6);
    assert_eq!(source.problems.len(), 2, "{:?}", source.problems);
    assert!(
        source.problems[0].contains("offset 768"),
        "{}",
        source.problems[0]
    );
    assert!(source.problems[0].contains("unknown record type"));
    assert!(source.problems[1].contains("offset 2688") && source.problems[1].contains("7 of 384"));
    assert!(report
        .warnings
        .iter()
        .any(|w| w.contains("2 damaged record(s)")));
}

#[test]
fn every_prefix_of_a_utmp_file_parses_without_panicking() {
    let mut bytes = Vec::new();
    for r in utmp_fixture() {
        bytes.extend_from_slice(&utmp::encode(&r));
    }
    for len in 0..bytes.len() {
        let file = utmp::parse_reader(&bytes[..len]).unwrap();
        assert_eq!(file.records.len(), len / RECORD_SIZE);
        assert_eq!(file.problems.len(), usize::from(len % RECORD_SIZE != 0));
    }
}

#[test]
fn missing_utmp_named_explicitly_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let report = sessions::collect(&options(dir.path()));
    assert!(report.logins.is_empty());
    assert!(report.partial);
    let expected = format!(
        "utmp file {} does not exist",
        dir.path().join("utmp").display()
    );
    assert!(report.warnings.contains(&expected), "{:?}", report.warnings);
    let logind = report.sources.iter().find(|s| s.name == "logind").unwrap();
    assert_eq!(logind.state, SourceState::Absent);
}

#[test]
fn wtmpdb_presence_is_named_and_marks_history_partial() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("wtmp.db"), b"SQLite format 3\0").unwrap();
    write_records(&dir.path().join("utmp"), &utmp_fixture());
    write_records(&dir.path().join("wtmp"), &[]);
    let mut opts = options(dir.path());
    opts.history = true;
    let report = sessions::collect(&opts);
    let source = report.sources.iter().find(|s| s.name == "wtmpdb").unwrap();
    assert_eq!(source.state, SourceState::NotRead);
    assert!(report.partial);
    assert!(report
        .warnings
        .iter()
        .any(|w| w.contains("wtmp.db") && w.contains("not read")));
}

#[test]
fn history_pairs_logins_with_logouts_crashes_and_shutdowns() {
    let dir = tempfile::tempdir().unwrap();
    let records = vec![
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
        rec(RecordKind::UserProcess, "tty1", "root", "", 300, T0 + 3700),
        rec(RecordKind::RunLevel, "~", "shutdown", "6.1.0", 0, T0 + 7200),
        rec(
            RecordKind::UserProcess,
            "pts/0",
            "carol",
            "192.0.2.7",
            400,
            T0 + 9000,
        ),
    ];
    write_records(&dir.path().join("wtmp"), &records);
    let mut opts = options(dir.path());
    opts.history = true;
    let report = sessions::collect(&opts);
    let history = report.history.unwrap();
    let summary: Vec<_> = history
        .iter()
        .map(|h| {
            (
                h.kind.as_str(),
                h.user.as_str(),
                h.ended_by,
                h.end.map(|t| t.as_second() - T0),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("reboot", "reboot", None, None),
            ("login", "alice", Some(SessionEnd::Logout), Some(600)),
            ("login", "bob", Some(SessionEnd::Crash), Some(3600)),
            ("reboot", "reboot", None, None),
            ("login", "root", Some(SessionEnd::Down), Some(7200)),
            ("shutdown", "shutdown", None, None),
            ("login", "carol", Some(SessionEnd::StillLoggedIn), None),
        ]
    );
}

/// A real pseudo-terminal from `script(1)`: `w`'s IDLE, JCPU, PCPU and WHAT come from the
/// terminal device and the processes attached to it.
#[test]
fn w_columns_come_from_the_real_terminal() {
    let mut child = Command::new("script")
        .args(["-qfc", "exec sleep 86399", "/dev/null"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("script(1) from util-linux");
    let script_pid = child.id() as i32;
    let deadline = Instant::now() + Duration::from_secs(10);
    let tty = loop {
        if let Some(tty) = sleep_tty(script_pid) {
            break tty;
        }
        assert!(
            Instant::now() < deadline,
            "no sleep process on a terminal appeared"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let dir = tempfile::tempdir().unwrap();
    let line = tty.strip_prefix("/dev/").unwrap().to_string();
    write_records(
        &dir.path().join("utmp"),
        &[rec(
            RecordKind::UserProcess,
            &line,
            "tester",
            "192.0.2.1",
            script_pid,
            T0,
        )],
    );
    let mut opts = options(dir.path());
    opts.proc_root = None;
    opts.dev_root = None;
    opts.now = None;
    let report = sessions::collect(&opts);
    let _ = child.kill();
    let _ = child.wait();

    let login = report.logins.iter().find(|l| l.user == "tester").unwrap();
    assert_eq!(login.what.as_deref(), Some("sleep 86399"), "{login:?}");
    assert!(login.idle_seconds.is_some_and(|s| s < 3600), "{login:?}");
    assert!(login.jcpu_seconds.is_some());
    assert!(login.pcpu_seconds.is_some());
}

fn sleep_tty(script_pid: i32) -> Option<String> {
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let Some(after) = stat.rfind(')').map(|i| &stat[i + 2..]) else {
            continue;
        };
        let ppid: i32 = after
            .split(' ')
            .nth(1)
            .and_then(|p| p.parse().ok())
            .unwrap_or(0);
        if ppid == script_pid && stat.contains("(sleep)") {
            let link = std::fs::read_link(format!("/proc/{pid}/fd/0")).ok()?;
            return Some(link.to_string_lossy().into_owned());
        }
    }
    None
}

/// Why the records are decoded by hand rather than with utmp-rs: it does not panic on a
/// truncated file, but it drops the whole record when one text field is not UTF-8, which
/// would hide exactly the forged entries a responder looks for.
#[test]
fn utmp_rs_comparison_truncation_and_invalid_utf8() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("utmp");
    let mut bytes = Vec::new();
    for r in utmp_fixture() {
        bytes.extend_from_slice(&utmp::encode(&r));
    }
    // alice's host name gets a byte that is not UTF-8; the file ends mid-record.
    bytes[4 * RECORD_SIZE + 76] = 0xff;
    bytes.extend_from_slice(&[7, 0, 0]);
    std::fs::write(&path, &bytes).unwrap();

    let theirs: Vec<_> = utmp_rs::UtmpParser::from_path(&path).unwrap().collect();
    assert_eq!(theirs.len(), 8);
    assert!(theirs[4].is_err(), "utmp-rs rejects the whole record");
    assert!(theirs[7].is_err(), "utmp-rs reports the truncated tail");

    let ours = utmp::read_path(&path).unwrap();
    assert_eq!(ours.records.len(), 7);
    assert_eq!(ours.records[4].user, "alice");
    assert!(ours.records[4].host.starts_with('\u{fffd}'));
    assert_eq!(ours.problems.len(), 1);
}

fn wtmp_fixture() -> Vec<UtmpRecord> {
    vec![
        rec(RecordKind::BootTime, "~", "reboot", "6.18.0", 0, T0 - 600),
        rec(RecordKind::UserProcess, "tty1", "root", "", 902, T0),
        rec(
            RecordKind::UserProcess,
            "pts/0",
            "alice",
            "198.51.100.23",
            4711,
            T0 + 60,
        ),
        rec(
            RecordKind::UserProcess,
            "pts/1",
            "mallory",
            "203.0.113.66",
            6666,
            T0 + 120,
        ),
        rec(RecordKind::DeadProcess, "pts/0", "", "", 4711, T0 + 600),
        rec(
            RecordKind::RunLevel,
            "~",
            "shutdown",
            "6.18.0",
            0,
            T0 + 3000,
        ),
        rec(RecordKind::BootTime, "~", "reboot", "6.18.0", 0, T0 + 3600),
        rec(
            RecordKind::UserProcess,
            "pts/fixture1",
            "alice",
            "198.51.100.23",
            4711,
            T0 + 11_400,
        ),
    ]
}

/// The committed binary fixtures (for examples and other crates' tests) are exactly what
/// the encoder writes; `SOCKHUNT_WRITE_FIXTURES=1` regenerates them.
#[test]
fn committed_binary_fixtures_are_current() {
    let dir = fixtures().join("utmp");
    let encode_all =
        |records: &[UtmpRecord]| -> Vec<u8> { records.iter().flat_map(utmp::encode).collect() };
    let mut damaged = encode_all(&utmp_fixture());
    damaged[2 * RECORD_SIZE..3 * RECORD_SIZE].fill(0xa5);
    damaged.truncate(damaged.len() - 100);
    let files = [
        ("utmp", encode_all(&utmp_fixture())),
        ("wtmp", encode_all(&wtmp_fixture())),
        ("utmp-damaged", damaged),
    ];
    for (name, bytes) in files {
        let path = dir.join(name);
        if std::env::var_os("SOCKHUNT_WRITE_FIXTURES").is_some() {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &bytes).unwrap();
        }
        let committed = std::fs::read(&path).unwrap_or_default();
        assert!(
            committed == bytes,
            "{} is stale: run with SOCKHUNT_WRITE_FIXTURES=1",
            path.display()
        );
    }
}
