//! `sockhunt connections` as users run it, against real loopback sockets held by this test
//! process.
#![allow(clippy::unwrap_used)]

use std::net::{TcpListener, TcpStream};

use assert_cmd::Command;

fn sockhunt() -> Command {
    Command::cargo_bin("sockhunt").unwrap()
}

fn listener() -> (TcpListener, u16) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    (l, port)
}

#[test]
fn jsonl_rows_carry_every_documented_field() {
    let (l, port) = listener();
    let _c = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let _s = l.accept().unwrap();
    let out = sockhunt()
        .args([
            "conns",
            "-ta",
            "--port",
            &port.to_string(),
            "--format",
            "jsonl",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let rows: Vec<serde_json::Value> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 3, "listener and both ends: {rows:#?}");
    for row in &rows {
        for key in [
            "proto",
            "family",
            "state",
            "local_addr",
            "local_port",
            "remote_addr",
            "remote_port",
            "inode",
            "uid",
            "netns",
            "processes",
        ] {
            assert!(row.get(key).is_some(), "{key} missing in {row}");
        }
        assert_eq!(row["proto"], "tcp");
        let procs = row["processes"].as_array().unwrap();
        assert_eq!(procs.len(), 1, "{row}");
        assert_eq!(procs[0]["pid"], std::process::id());
        for key in ["pid", "comm", "exe", "cmdline", "user"] {
            assert!(procs[0].get(key).is_some(), "{key} missing in {row}");
        }
    }
    assert_eq!(rows.iter().filter(|r| r["state"] == "LISTEN").count(), 1);
    assert_eq!(rows.iter().filter(|r| r["state"] == "ESTAB").count(), 2);
}

#[test]
fn listening_filter_and_json_array() {
    let (l, port) = listener();
    let _c = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let _s = l.accept().unwrap();
    let out = sockhunt()
        .args([
            "connections",
            "-tl",
            "--port",
            &port.to_string(),
            "--format",
            "json",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["state"], "LISTEN");
    assert_eq!(rows[0]["local_port"], port);
}

#[test]
fn pid_filter_keeps_only_that_process() {
    let (_l, port) = listener();
    let p = port.to_string();
    let mine = sockhunt()
        .args([
            "conns",
            "-tl",
            "--port",
            &p,
            "--pid",
            &std::process::id().to_string(),
            "--format",
            "jsonl",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(String::from_utf8(mine).unwrap().lines().count(), 1);
    let other = sockhunt()
        .args([
            "conns", "-tl", "--port", &p, "--pid", "1", "--format", "jsonl",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert!(other.is_empty());
}

#[test]
fn csv_has_a_header_and_one_line_per_socket() {
    let (_l, port) = listener();
    let out = sockhunt()
        .args([
            "conns",
            "-tl",
            "--port",
            &port.to_string(),
            "--format",
            "csv",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    insta::assert_snapshot!("csv_header", lines[0]);
    assert_eq!(lines.len(), 2);
    assert!(lines[1].starts_with("tcp,inet,stream,LISTEN,127.0.0.1,"));
    assert!(lines[1].contains(&format!(",{},", std::process::id())));
}

#[test]
fn table_output_reads_like_ss() {
    let (_l, port) = listener();
    let out = sockhunt()
        .args([
            "conns",
            "-tl",
            "--port",
            &port.to_string(),
            "--color",
            "always",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    let pid = std::process::id().to_string();
    let text = text
        .replace(&format!(":{port} "), ":PORT ")
        .replace(&format!("pid={pid}"), "pid=PID");
    insta::assert_snapshot!("table_listener", text);
    let plain = sockhunt()
        .args([
            "conns",
            "-tl",
            "--port",
            &port.to_string(),
            "--no-processes",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let plain = String::from_utf8(plain).unwrap();
    assert!(!plain.contains('\x1b'), "no colour when not a terminal");
    assert!(!plain.contains("Process"));
}

#[test]
fn bad_flags_are_clear_errors() {
    let out = sockhunt()
        .args(["conns", "--state", "sleeping"])
        .assert()
        .code(2)
        .get_output()
        .clone();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("unknown state \"sleeping\""), "{err}");
    sockhunt()
        .args(["conns", "--format", "xml"])
        .assert()
        .code(2);
    let out = sockhunt()
        .args(["conns", "--user", "no-such-user-here"])
        .assert()
        .code(2)
        .get_output()
        .clone();
    assert!(String::from_utf8(out.stderr)
        .unwrap()
        .contains("unknown user"));
}

#[test]
fn help_documents_the_filters() {
    let out = sockhunt()
        .args(["connections", "--help"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    insta::assert_snapshot!(
        "help",
        without_global_options(&String::from_utf8(out).unwrap())
    );
}

#[test]
fn proc_net_fallback_lists_the_same_listener() {
    let (_l, port) = listener();
    let out = sockhunt()
        .env("SOCKHUNT_PROC_NET", "1")
        .args([
            "-v",
            "conns",
            "-tl",
            "--port",
            &port.to_string(),
            "--format",
            "jsonl",
        ])
        .assert()
        .success()
        .get_output()
        .clone();
    let rows: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["state"], "LISTEN");
    assert_eq!(rows[0]["processes"][0]["pid"], std::process::id());
    assert!(
        String::from_utf8(out.stderr).unwrap().contains("/proc"),
        "the fallback is said"
    );
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
}

#[test]
fn unprivileged_run_shows_what_it_can_and_says_what_is_missing() {
    if !is_root()
        || std::process::Command::new("setpriv")
            .arg("--version")
            .output()
            .is_err()
    {
        eprintln!("skipping: needs root and setpriv to drop to an unprivileged user");
        return;
    }
    let (_l, port) = listener();
    let bin = assert_cmd::cargo::cargo_bin("sockhunt");
    let out = std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(&bin)
        .args([
            "conns",
            "-tl",
            "--port",
            &port.to_string(),
            "--format",
            "jsonl",
            "--all-netns",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let stderr = String::from_utf8(out.stderr).unwrap();
    let rows: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // The socket is still listed; its owner (a root process) is not readable, and why is said.
    assert_eq!(rows.len(), 1, "{rows:?} {stderr}");
    assert_eq!(rows[0]["processes"].as_array().unwrap().len(), 0);
    assert!(
        rows[0]["processes_note"]
            .as_str()
            .unwrap()
            .starts_with("permission denied"),
        "{rows:?}"
    );
    assert!(stderr.contains("permission denied"), "{stderr}");
    assert!(stderr.contains("results are partial"), "{stderr}");
}

/// The help text of this subcommand alone: the options every subcommand shares are
/// documented (and snapshotted) with the top-level command.
fn without_global_options(help: &str) -> String {
    let is_option = |l: &str| {
        let t = l.trim_start();
        l.starts_with("  ")
            && (t.starts_with("--") || (t.starts_with('-') && t.get(2..4) == Some(", ")))
    };
    let is_global = |l: &str| {
        ["--color", "--verbose", "--quiet"]
            .iter()
            .any(|g| l.contains(g))
    };
    let mut out = Vec::new();
    let mut skipping = false;
    for line in help.lines() {
        if line == "Global options:" {
            continue;
        }
        if is_option(line) {
            skipping = is_global(line);
        } else if !line.starts_with(' ') && !line.is_empty() {
            skipping = false;
        }
        if !skipping {
            out.push(line);
        }
    }
    out.join("\n")
}

#[test]
fn hostile_process_names_are_escaped_in_the_table() {
    // A process that renames itself with a terminal escape and a bidi override.
    let script = r#"
import socket, sys, time
open("/proc/self/comm", "w").write("ev\x1b[2J\u202eil")
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
print(s.getsockname()[1], flush=True)
time.sleep(30)
"#;
    let Ok(mut child) = std::process::Command::new("python3")
        .args(["-c", script])
        .stdout(std::process::Stdio::piped())
        .spawn()
    else {
        eprintln!("skipping: python3 is not available");
        return;
    };
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.as_mut().unwrap()),
        &mut line,
    )
    .unwrap();
    let port: u16 = line.trim().parse().unwrap();
    let out = sockhunt()
        .args(["conns", "-tl", "--port", &port.to_string()])
        .output()
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        !text.contains('\x1b') && !text.contains('\u{202e}'),
        "{text:?}"
    );
    assert!(text.contains("ev\\x1b[2J\\u{202e}il(pid="), "{text}");
}
