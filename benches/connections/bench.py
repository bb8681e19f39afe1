#!/usr/bin/env python3
"""Times `sockhunt connections` against `ss` and `netstat` over N held loopback TCP pairs.

Holder processes (PAIRS_PER_HOLDER pairs each, because the open-file limit stops near
20,000 descriptors per process) keep the pairs open on 127.0.0.1 only, and exit on their
own when this script ends or after --hold seconds. Every command runs --runs times,
interleaved so that machine noise hits all of them alike; the median wall time and the
peak RSS of each command (from wait4) are printed with ratios to `ss -tanp`.
"""

import argparse
import os
import resource
import select
import signal
import socket
import statistics
import subprocess
import sys
import time

PAIRS_PER_HOLDER = 5000


def holder(pairs, ready_fd, hold):
    """Child: open `pairs` loopback TCP connections to our own listener and keep them."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, 2 * pairs + 64)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(1024)
    addr = lsock.getsockname()
    held = []
    for _ in range(pairs):
        c = socket.create_connection(addr)
        s, _ = lsock.accept()
        held.append((c, s))
    os.write(ready_fd, b"1")
    os.close(ready_fd)
    # Self-terminating: stop when the parent goes away or the hold time is over.
    deadline = time.time() + hold
    parent = os.getppid()
    while time.time() < deadline and os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)


def start_holders(total_pairs, hold):
    pids = []
    remaining = total_pairs
    while remaining > 0:
        n = min(PAIRS_PER_HOLDER, remaining)
        remaining -= n
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            try:
                holder(n, w, hold)
            finally:
                os._exit(1)
        os.close(w)
        pids.append((pid, r))
    ok = []
    for pid, r in pids:
        readable, _, _ = select.select([r], [], [], 300)
        if not readable or os.read(r, 1) != b"1":
            raise SystemExit(f"holder {pid} failed to open its connections")
        os.close(r)
        ok.append(pid)
    return ok


TIME_V = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None


def run_once(cmd):
    """Runs a command with output to /dev/null; returns (seconds, peak RSS in KiB).

    Peak RSS comes from `/usr/bin/time` when present: the rusage of a child forked from
    this Python process would otherwise count pages it shared with us before exec.
    """
    rss_file = None
    full = cmd
    if TIME_V:
        rss_file = f"/tmp/sockhunt-bench-rss.{os.getpid()}"
        full = [TIME_V, "-f", "%M", "-o", rss_file] + cmd
    start = time.perf_counter()
    proc = subprocess.Popen(full, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd)} failed with status {status}")
    rss = usage.ru_maxrss
    if rss_file:
        with open(rss_file) as f:
            rss = int(f.read().split()[-1])
        os.unlink(rss_file)
    return elapsed, rss


def count_rows(cmd):
    out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=True).stdout
    return out.count(b"\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--pairs", type=int, default=10000, help="loopback TCP pairs to hold (sockets = 2x + listeners)")
    ap.add_argument("--runs", type=int, default=5, help="runs per command (median reported)")
    ap.add_argument("--bin", default="target/release/sockhunt")
    ap.add_argument("--hold", type=int, default=900, help="holders exit after this many seconds at most")
    args = ap.parse_args()

    commands = [
        ("sockhunt conns -ta --format jsonl", [args.bin, "connections", "-ta", "--format", "jsonl"]),
        ("sockhunt conns -ta --format jsonl --no-processes",
         [args.bin, "connections", "-ta", "--format", "jsonl", "--no-processes"]),
        ("ss -tanp", ["ss", "-tanp"]),
        ("ss -tan", ["ss", "-tan"]),
        ("netstat -tanp", ["netstat", "-tanp"]),
        ("netstat -tan", ["netstat", "-tan"]),
    ]
    commands = [(name, cmd) for name, cmd in commands if subprocess.run(["which", cmd[0]], capture_output=True).returncode == 0 or os.path.exists(cmd[0])]

    t0 = time.perf_counter()
    holders = start_holders(args.pairs, args.hold)
    print(f"holding {args.pairs} loopback TCP pairs in {len(holders)} processes "
          f"(set up in {time.perf_counter() - t0:.1f} s)", flush=True)
    try:
        rows = count_rows(commands[0][1])
        ss_rows = count_rows(["ss", "-tan"]) - 1
        print(f"rows: sockhunt {rows}, ss -tan {ss_rows}", flush=True)
        times = {name: [] for name, _ in commands}
        rss = {name: 0 for name, _ in commands}
        for _ in range(args.runs):
            for name, cmd in commands:
                t, r = run_once(cmd)
                times[name].append(t)
                rss[name] = max(rss[name], r)
        base = statistics.median(times["ss -tanp"]) if "ss -tanp" in times else None
        base_np = statistics.median(times["ss -tan"]) if "ss -tan" in times else None
        print(f"\n{'command':<50} {'median ms':>10} {'min ms':>8} {'peak RSS MB':>12} {'/ ss -tanp':>11} {'/ ss -tan':>10}")
        for name, _ in commands:
            med = statistics.median(times[name])
            ratio = f"{med / base:.3f}" if base else "-"
            ratio_np = f"{med / base_np:.3f}" if base_np else "-"
            print(f"{name:<50} {med * 1000:>10.1f} {min(times[name]) * 1000:>8.1f} "
                  f"{rss[name] / 1024:>12.1f} {ratio:>11} {ratio_np:>10}")
    finally:
        for pid in holders:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for pid in holders:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass


if __name__ == "__main__":
    sys.exit(main())
