#!/usr/bin/env bash
# Times `sockhunt hunt` against `evtx_dump -o jsonl` over the EVTX corpus copied N times
# (hard links), in one run, and prints the ratios and sockhunt's peak RSS.
#
#   benches/hunt/run.sh                 # 10 copies, median of 3 runs
#   COPIES=20 RUNS=5 benches/hunt/run.sh
#
# Environment: SHARED (default ../shared beside the repository), COPIES, RUNS,
# EVTX_DUMP (an evtx_dump binary; installed with `cargo install evtx` when absent),
# SIGMA_PC (SigmaHQ process_creation rules; default $SHARED/corpus/sigma/rules/windows/process_creation).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SHARED=${SHARED:-$ROOT/../shared}
COPIES=${COPIES:-10}
RUNS=${RUNS:-3}
SIGMA_PC=${SIGMA_PC:-$SHARED/corpus/sigma/rules/windows/process_creation}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}

echo "== building sockhunt (release)"
cargo build --release --quiet -p sockhunt --manifest-path "$ROOT/Cargo.toml"
SOCKHUNT=$TARGET/release/sockhunt

# The Rust evtx_dump, not a Python script of the same name that may be on PATH.
is_rust_evtx_dump() { "$1" --version 2>/dev/null | grep -q '^EVTX Parser'; }
if [[ -z "${EVTX_DUMP:-}" ]]; then
    for candidate in "$(command -v evtx_dump || true)" "$HOME/.cargo/bin/evtx_dump" "$TARGET/bench-tools/bin/evtx_dump"; do
        if [[ -n "$candidate" && -x "$candidate" ]] && is_rust_evtx_dump "$candidate"; then
            EVTX_DUMP=$candidate
            break
        fi
    done
fi
if [[ -z "${EVTX_DUMP:-}" ]]; then
    echo "== installing evtx_dump (cargo install evtx)"
    cargo install --quiet --locked evtx --version 0.15.1 --root "$TARGET/bench-tools"
    EVTX_DUMP=$TARGET/bench-tools/bin/evtx_dump
fi

WORK=$(mktemp -d /tmp/sockhunt-bench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
echo "== corpus: $SHARED/corpus/evtx x $COPIES (hard links) in $WORK"
for i in $(seq 1 "$COPIES"); do
    cp -al "$SHARED/corpus/evtx" "$WORK/copy$i" 2>/dev/null || cp -a "$SHARED/corpus/evtx" "$WORK/copy$i"
done
find "$WORK" -name '*.evtx' -print0 | sort -z > "$WORK/files.list"
echo "   $(tr -cd '\0' < "$WORK/files.list" | wc -c) .evtx files; $(nproc) cores"

exec python3 "$ROOT/benches/hunt/measure.py" \
    --sockhunt "$SOCKHUNT" --evtx-dump "$EVTX_DUMP" --corpus "$WORK" \
    --files "$WORK/files.list" --sigma-pc "$SIGMA_PC" --runs "$RUNS"
