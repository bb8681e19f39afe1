#!/usr/bin/env bash
# Benchmark of `sockhunt connections` against `ss` and `netstat` in the same run.
# Usage: benches/connections/run.sh [PAIRS...]   (default: 10000 50000; RUNS=5)
# Loopback only; the holder processes exit by themselves when the run ends.
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS="${RUNS:-5}"
PAIRS=("$@")
if [ ${#PAIRS[@]} -eq 0 ]; then PAIRS=(10000 50000); fi
cargo build --release -p sockhunt --quiet
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
for n in "${PAIRS[@]}"; do
    echo "== $n pairs ($((2 * n)) established sockets), median of $RUNS runs, $(date -u +%FT%TZ)"
    python3 benches/connections/bench.py --pairs "$n" --runs "$RUNS" --bin target/release/sockhunt
    echo
done
