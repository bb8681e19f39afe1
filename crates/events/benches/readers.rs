//! Reader throughput in events per second on one core, for generic JSONL (what
//! `sockhunt watch --record` writes) and auditd raw logs, each against its floor in the
//! same run: the JSONL floor parses every line into a `serde_json::Value` and does
//! nothing else; the auditd floor only splits the input into lines. The ratio
//! (reader time / floor time) is what to compare between runs on noisy machines.
//!
//! `cargo bench -p sockhunt-events --bench readers` (inputs are generated at start).

use std::hint::black_box;
use std::io::{BufRead, Cursor};
use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use sockhunt_events::{read_stream, Event, EventSink, Format, ReadOptions, RecordError};

const EVENTS: usize = 50_000;

struct Count(u64);

impl EventSink for Count {
    fn event(&mut self, event: Event) -> ControlFlow<()> {
        black_box(&event);
        self.0 += 1;
        ControlFlow::Continue(())
    }
    fn record_error(&mut self, _error: RecordError) {}
}

fn jsonl_input() -> Vec<u8> {
    let mut out = String::new();
    let commands = [
        "ss -tanp",
        "netstat -an",
        "lsof -i -n -P",
        "who -a",
        "ls -la /tmp",
    ];
    for i in 0..EVENTS {
        let cmd = commands[i % commands.len()];
        let image = cmd.split(' ').next().unwrap_or("sh");
        out.push_str(&format!(
            concat!(
                r#"{{"time":"2026-12-04T16:{:02}:{:02}.{:09}Z","host":"web{}","#,
                r#""logsource":{{"product":"linux","category":"process_creation"}},"#,
                r#""fields":[["Image","/usr/bin/{}"],["CommandLine","{}"],["ProcessId",{}],"#,
                r#"["ParentProcessId",{}],["ParentImage","/usr/bin/bash"],["User","root"],["Uid",0],"#,
                r#"["Comm","{}"],["CurrentDirectory","/root"],["ArgvTruncated",false]],"#,
                r#""provenance":{{"source":"sensor","locator":{{"kind":"record","value":{}}}}}}}"#,
                "\n"
            ),
            (i / 60) % 60,
            i % 60,
            i,
            i % 8,
            image,
            cmd,
            10_000 + i,
            9_000 + i % 100,
            image,
            i
        ));
    }
    out.into_bytes()
}

fn auditd_input() -> Vec<u8> {
    let mut out = String::new();
    let argvs: [&[&str]; 4] = [
        &["ss", "-tanp"],
        &["netstat", "-antp"],
        &["lsof", "-i", "-n", "-P"],
        &["sh", "-c", "who -a | grep pts"],
    ];
    for i in 0..EVENTS {
        let argv = argvs[i % argvs.len()];
        let serial = 1000 + i;
        let stamp = format!("{}.{:03}:{serial}", 1_700_000_000 + i / 1000, i % 1000);
        let exe = format!("/usr/bin/{}", argv[0]);
        out.push_str(&format!(
            "type=SYSCALL msg=audit({stamp}): arch=c000003e syscall=59 success=yes exit=0 a0=55d0c1a0 a1=55d0c1b0 a2=55d0c1c0 a3=0 items=2 ppid={} pid={} auid=1000 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=pts0 ses=3 comm=\"{}\" exe=\"{exe}\" subj=unconfined key=\"exec\"\n",
            9_000 + i % 100,
            10_000 + i,
            argv[0]
        ));
        let mut execve = format!("type=EXECVE msg=audit({stamp}): argc={}", argv.len());
        for (n, arg) in argv.iter().enumerate() {
            if arg.contains(' ') {
                execve.push_str(&format!(" a{n}={}", hex_upper(arg.as_bytes())));
            } else {
                execve.push_str(&format!(" a{n}=\"{arg}\""));
            }
        }
        out.push_str(&execve);
        out.push('\n');
        out.push_str(&format!("type=CWD msg=audit({stamp}): cwd=\"/root\"\n"));
        out.push_str(&format!(
            "type=PATH msg=audit({stamp}): item=0 name=\"{exe}\" inode=1234 dev=08:01 mode=0100755 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0\n"
        ));
        out.push_str(&format!(
            "type=PROCTITLE msg=audit({stamp}): proctitle={}\n",
            hex_upper(argv.join("\0").as_bytes())
        ));
    }
    out.into_bytes()
}

fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// The best of several runs (the least disturbed by other load).
fn best(mut run: impl FnMut() -> u64) -> (Duration, u64) {
    let mut best = Duration::MAX;
    let mut count = 0;
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut runs = 0;
    while runs < 3 || (Instant::now() < deadline && runs < 30) {
        let start = Instant::now();
        count = run();
        best = best.min(start.elapsed());
        runs += 1;
    }
    (best, count)
}

fn read_all(format: Format, input: &[u8]) -> u64 {
    let options = ReadOptions {
        format: Some(format),
        keep_original: false,
        ..ReadOptions::default()
    };
    let mut sink = Count(0);
    let bytes = input.to_vec();
    let result = read_stream("bench", Box::new(Cursor::new(bytes)), &options, &mut sink);
    assert!(result.is_ok());
    sink.0
}

fn report(name: &str, reader: (Duration, u64), floor_name: &str, floor: (Duration, u64)) {
    let per_sec = reader.1 as f64 / reader.0.as_secs_f64();
    println!(
        "{name:<8} {:>7} events in {:>8.2} ms: {:>10.0} events/s on one core | {floor_name}: {:>8.2} ms | reader/floor time ratio {:.2}",
        reader.1,
        reader.0.as_secs_f64() * 1e3,
        per_sec,
        floor.0.as_secs_f64() * 1e3,
        reader.0.as_secs_f64() / floor.0.as_secs_f64()
    );
}

fn main() {
    // `cargo test --benches` runs this with `--bench` absent: keep that quick.
    let quick = !std::env::args().any(|a| a == "--bench");
    let jsonl = jsonl_input();
    let audit = auditd_input();
    if quick {
        assert_eq!(read_all(Format::Generic, &jsonl), EVENTS as u64);
        assert_eq!(read_all(Format::Auditd, &audit), EVENTS as u64);
        return;
    }
    println!(
        "inputs: generic JSONL {:.1} MB, auditd {:.1} MB, {EVENTS} events each",
        jsonl.len() as f64 / 1e6,
        audit.len() as f64 / 1e6
    );
    // A further argument picks one input: `cargo bench --bench readers -- auditd`.
    let only = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let wanted = |name: &str| only.as_deref().is_none_or(|o| o == name);
    if wanted("jsonl") {
        bench_jsonl(&jsonl);
    }
    if wanted("auditd") {
        bench_auditd(&audit);
    }
}

fn bench_jsonl(jsonl: &[u8]) {
    let reader = best(|| read_all(Format::Generic, jsonl));
    let floor = best(|| {
        let mut n = 0;
        for line in jsonl.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            let v: serde_json::Value = serde_json::from_slice(line).unwrap_or_default();
            black_box(&v);
            n += 1;
        }
        n
    });
    report("jsonl", reader, "serde_json::Value parse floor", floor);
}

fn bench_auditd(audit: &[u8]) {
    let reader = best(|| read_all(Format::Auditd, audit));
    let floor = best(|| {
        let mut cursor = Cursor::new(audit);
        let mut line = Vec::new();
        let mut n = 0;
        while cursor.read_until(b'\n', &mut line).unwrap_or(0) > 0 {
            black_box(&line);
            line.clear();
            n += 1;
        }
        n
    });
    report("auditd", reader, "line split floor", floor);
}
