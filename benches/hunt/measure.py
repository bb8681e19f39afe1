"""Runs each contender RUNS times on the same corpus and prints median wall time, peak
RSS and the ratio to evtx_dump. Called by run.sh."""

import argparse
import os
import statistics
import subprocess
import sys
import time


def measure(argv, stdin=None):
    """Wall seconds and peak RSS (MiB) of one run of argv (its own process only)."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdin=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    stderr = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    code = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_maxrss / 1024.0, code, stderr


def median_of(runs, argv, ok_codes, label, stdin_path=None):
    walls, rss = [], []
    for _ in range(runs):
        stdin = open(stdin_path, "rb") if stdin_path else None
        wall, peak, code, stderr = measure(argv, stdin)
        if stdin:
            stdin.close()
        if code not in ok_codes:
            sys.exit(f"{label}: exit {code}\n{stderr[-2000:]}")
        walls.append(wall)
        rss.append(peak)
    return statistics.median(walls), max(rss), stderr


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--sockhunt", required=True)
    p.add_argument("--evtx-dump", required=True)
    p.add_argument("--corpus", required=True)
    p.add_argument("--files", required=True)
    p.add_argument("--sigma-pc", required=True)
    p.add_argument("--runs", type=int, default=3)
    a = p.parse_args()
    cores = str(os.cpu_count() or 1)

    # evtx_dump reads one file per process: run it over every file, as many at a time as
    # there are cores (the same parallelism sockhunt uses).
    dump = ["xargs", "-0", "-n", "1", "-P", cores, a.evtx_dump, "-o", "jsonl", "-t", "1"]
    dump_t, _, _ = median_of(a.runs, dump, {0}, "evtx_dump", stdin_path=a.files)

    # The same, one file at a time on one thread: the single-core parse floor.
    dump1 = ["xargs", "-0", "-n", "1", a.evtx_dump, "-o", "jsonl", "-t", "1"]
    dump1_t, _, _ = median_of(a.runs, dump1, {0}, "evtx_dump (1 core)", stdin_path=a.files)

    hunt = [a.sockhunt, "hunt", "--no-progress", "--format", "jsonl", a.corpus]
    builtin_t, builtin_rss, builtin_err = median_of(a.runs, hunt, {0, 1}, "sockhunt (built-in)")

    pc = [a.sockhunt, "hunt", "--no-progress", "--format", "jsonl", "--rules", a.sigma_pc, a.corpus]
    pc_t, pc_rss, pc_err = median_of(a.runs, pc, {0, 1, 2}, "sockhunt (+SigmaHQ process_creation)")

    print()
    print(f"{'contender':48} {'median s':>9} {'x evtx_dump':>12} {'peak RSS MiB':>13}")
    rows = [
        (f"evtx_dump -o jsonl ({cores} at a time)", dump_t, None),
        ("evtx_dump -o jsonl (one at a time)", dump1_t, None),
        ("sockhunt hunt (built-in pack)", builtin_t, builtin_rss),
        ("sockhunt hunt (+ SigmaHQ process_creation)", pc_t, pc_rss),
    ]
    for name, t, rss in rows:
        rss_text = f"{rss:13.1f}" if rss is not None else f"{'-':>13}"
        print(f"{name:48} {t:9.2f} {t / dump_t:12.2f} {rss_text}")
    print()
    for label, err in (("built-in", builtin_err), ("process_creation", pc_err)):
        summary = [l for l in err.splitlines() if " alerts (" in l]
        if summary:
            print(f"{label}: {summary[-1]}")


if __name__ == "__main__":
    main()
