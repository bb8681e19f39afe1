//! Exec and openat storms, timed in CPU time per operation with and without the sensor
//! in the same run, alternating, with drops and exec-to-event latency counted.
//!
//! Run as root: `cargo bench -p sockhunt-sensor --bench storm` (or through
//! `benches/sensor/storm.sh`, which records the machine and the numbers).
//!
//! What is measured:
//! - exec storm: `/bin/true` spawned and reaped N times; CPU time of the children
//!   (`RUSAGE_CHILDREN`, where the exec, fork and exit hooks run) plus the spawning
//!   thread's own CPU time (`CLOCK_THREAD_CPUTIME_ID`), per exec;
//! - openat storm: a child process opening and closing a regular file M times (every
//!   open passes the `sys_exit` hook and its fd resolution), CPU time per open;
//! - the sensor's own user-space CPU time (its drain thread), reported separately;
//! - a burst at a target rate of 5,000 execs per second from two spawner threads, with
//!   the kernel and user drop counters and the exec-to-event latency percentiles.
//!
//! - a record storm: one process opening `/proc/self/net/dev` as fast as it can, every
//!   open a record, to see where the ring buffer and the 10 ms drain stop keeping up.
//!
//! Environment: `STORM_EXECS` (default 5000), `STORM_OPENS` (default 1000000),
//! `STORM_RECORDS` (default 200000),
//! `STORM_ROUNDS` (default 3).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::resource::{getrusage, UsageWho};
use nix::time::{clock_gettime, ClockId};
use sockhunt_sensor::{Item, SensorConfig, Summary, WatchOptions, Watcher};

const CHILD_ENV: &str = "SOCKHUNT_STORM_OPEN_CHILD";
const PATH_ENV: &str = "SOCKHUNT_STORM_OPEN_PATH";

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn children_cpu() -> Duration {
    let u = getrusage(UsageWho::RUSAGE_CHILDREN).unwrap();
    let tv = |t: nix::sys::time::TimeVal| {
        Duration::from_secs(t.tv_sec() as u64) + Duration::from_micros(t.tv_usec() as u64)
    };
    tv(u.user_time()) + tv(u.system_time())
}

fn thread_cpu() -> Duration {
    let t = clock_gettime(ClockId::CLOCK_THREAD_CPUTIME_ID).unwrap();
    Duration::new(t.tv_sec() as u64, t.tv_nsec() as u32)
}

/// CPU time per exec, in nanoseconds.
fn exec_storm(n: u64) -> f64 {
    let (c0, t0) = (children_cpu(), thread_cpu());
    for _ in 0..n {
        let status = Command::new("/bin/true").status().unwrap();
        assert!(status.success());
    }
    let cpu = (children_cpu() - c0) + (thread_cpu() - t0);
    cpu.as_nanos() as f64 / n as f64
}

/// CPU time per open (in a child process, so the sensor's self-exclusion does not
/// apply), in nanoseconds.
fn openat_storm(m: u64) -> f64 {
    let c0 = children_cpu();
    let status = Command::new(std::env::current_exe().unwrap())
        .env(CHILD_ENV, m.to_string())
        .status()
        .unwrap();
    assert!(status.success());
    (children_cpu() - c0).as_nanos() as f64 / m as f64
}

fn open_child(m: u64, path: &str) {
    for _ in 0..m {
        // openat(AT_FDCWD, ..., O_RDONLY|O_CLOEXEC) and close: nothing else.
        drop(std::fs::File::open(path).unwrap());
    }
}

/// The sensor running in a thread of this process, draining every 10 ms.
struct Running {
    stop: Arc<AtomicBool>,
    handle: thread::JoinHandle<(Summary, Duration, u64)>,
}

fn start_sensor() -> Running {
    let stop = Arc::new(AtomicBool::new(false));
    let ready = Arc::new(Mutex::new(false));
    let (stop2, ready2) = (Arc::clone(&stop), Arc::clone(&ready));
    let handle = thread::spawn(move || {
        let options = WatchOptions {
            sensor: SensorConfig::default(),
            exclude_tree: None,
            drop_check_every: Duration::from_secs(1),
        };
        let mut w = Watcher::start(options).expect("sensor starts (root, BTF)");
        *ready2.lock().unwrap() = true;
        let t0 = thread_cpu();
        let mut events = 0u64;
        let mut count = |item: Item<'_>| {
            if let Item::Record(_, Some(_)) | Item::Drops(_) = item {
                events += 1;
            }
        };
        while !stop2.load(Ordering::SeqCst) {
            w.poll(Duration::from_millis(10), &mut count).unwrap();
        }
        let summary = w.finish(&mut count).unwrap();
        (summary, thread_cpu() - t0, events)
    });
    while !*ready.lock().unwrap() {
        thread::sleep(Duration::from_millis(5));
    }
    Running { stop, handle }
}

impl Running {
    fn stop(self) -> (Summary, Duration, u64) {
        self.stop.store(true, Ordering::SeqCst);
        self.handle.join().unwrap()
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Two spawner threads pacing execs at `rate` per second for `secs` seconds.
fn paced_burst(rate: u64, secs: u64) -> (u64, Duration) {
    let total = rate * secs;
    let start = Instant::now();
    let per_thread = total / 2;
    let threads: Vec<_> = (0..2)
        .map(|_| {
            thread::spawn(move || {
                let interval = Duration::from_secs_f64(2.0 / rate as f64);
                for i in 0..per_thread {
                    let due = start + interval * i as u32;
                    if let Some(wait) = due.checked_duration_since(Instant::now()) {
                        thread::sleep(wait);
                    }
                    Command::new("/bin/true").status().unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    (per_thread * 2, start.elapsed())
}

fn main() {
    if let Ok(m) = std::env::var(CHILD_ENV) {
        let path = std::env::var(PATH_ENV).unwrap_or_else(|_| "/etc/hostname".to_owned());
        open_child(m.parse().unwrap(), &path);
        return;
    }
    if std::env::args().any(|a| a == "--list") {
        // `cargo bench -- --list` and `cargo test --benches` probe bench targets.
        return;
    }
    if !nix::unistd::geteuid().is_root() {
        eprintln!("storm: skipped: the sensor needs root");
        return;
    }
    let execs = env_num("STORM_EXECS", 5000);
    let opens = env_num("STORM_OPENS", 1_000_000);
    let rounds = env_num("STORM_ROUNDS", 3);

    // Warm caches (page cache of /bin/true, the dynamic loader) before timing.
    exec_storm(200);
    openat_storm(10_000);

    let (mut exec_off, mut exec_on, mut open_off, mut open_on) = (vec![], vec![], vec![], vec![]);
    let mut sensor_cpu = Duration::ZERO;
    let mut sensor_ops = 0u64;
    let mut drops = 0u64;
    for round in 0..rounds {
        // Alternate the order so drift (thermal, other tenants) hits both sides.
        let on_first = round % 2 == 1;
        for on in [on_first, !on_first] {
            if on {
                let s = start_sensor();
                exec_on.push(exec_storm(execs));
                open_on.push(openat_storm(opens));
                let (summary, cpu, _) = s.stop();
                sensor_cpu += cpu;
                sensor_ops += execs;
                drops += summary.kernel_drops.total() + summary.user_drops;
            } else {
                exec_off.push(exec_storm(execs));
                open_off.push(openat_storm(opens));
            }
        }
    }
    let show = |v: &[f64]| {
        v.iter()
            .map(|x| format!("{x:.0}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    println!(
        "per round, ns CPU/exec: without [{}], with [{}]; ns CPU/open: without [{}], with [{}]",
        show(&exec_off),
        show(&exec_on),
        show(&open_off),
        show(&open_on)
    );
    let (e0, e1) = (median(exec_off), median(exec_on));
    let (o0, o1) = (median(open_off), median(open_on));
    println!("storm: {rounds} rounds, {execs} execs and {opens} opens per round and side");
    println!(
        "exec storm:   {:>9.0} ns CPU/exec without sensor, {:>9.0} with: overhead {:+.2} %",
        e0,
        e1,
        (e1 / e0 - 1.0) * 100.0
    );
    println!(
        "openat storm: {:>9.1} ns CPU/open without sensor, {:>9.1} with: overhead {:+.2} % ({:+.1} ns/open)",
        o0,
        o1,
        (o1 / o0 - 1.0) * 100.0,
        o1 - o0
    );
    println!(
        "sensor user space: {:.0} ns CPU per exec drained (its own thread, not in the figures above)",
        sensor_cpu.as_nanos() as f64 / sensor_ops as f64
    );
    println!("drops during the storms: {drops}");

    let s = start_sensor();
    let (n, took) = paced_burst(5000, 2);
    let (summary, _, _) = s.stop();
    println!(
        "paced burst:  {n} execs in {:.2} s ({:.0}/s achieved, 5000/s asked): \
         {} kernel drops, {} user drops, exec-to-event latency p50 {} us, p99 {} us",
        took.as_secs_f64(),
        n as f64 / took.as_secs_f64(),
        summary.kernel_drops.total(),
        summary.user_drops,
        summary.exec_latency_us_p50.unwrap_or(0),
        summary.exec_latency_us_p99.unwrap_or(0),
    );

    // Every open of a network table makes a record: as many as one process can open,
    // to see where the ring buffer and the 10 ms drain stop keeping up.
    let records = env_num("STORM_RECORDS", 200_000);
    let s = start_sensor();
    let t0 = Instant::now();
    let status = Command::new(std::env::current_exe().unwrap())
        .env(CHILD_ENV, records.to_string())
        .env(PATH_ENV, "/proc/self/net/dev")
        .status()
        .unwrap();
    assert!(status.success());
    let took = t0.elapsed();
    let (summary, cpu, events) = s.stop();
    println!(
        "record storm: {records} table opens in {:.2} s ({:.0} records/s, {:.0} MB/s of records): \
         {events} events, {} kernel drops, {} user drops; sensor user space {:.0} ns CPU per record",
        took.as_secs_f64(),
        records as f64 / took.as_secs_f64(),
        records as f64 * 1232.0 / took.as_secs_f64() / 1e6,
        summary.kernel_drops.total(),
        summary.user_drops,
        cpu.as_nanos() as f64 / records as f64,
    );
}
