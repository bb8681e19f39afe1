#!/usr/bin/env bash
# The whole test suite: formatting, lints, the committed BPF object, every test, the
# rule pack's own tests. Run as root on Linux for the namespace, sensor and session tests
# (as CI does); as another user those tests say why they skip.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n==> %s\n' "$*" >&2; }

# System tools the tests drive: the peers the discover tests compare against, namespaces,
# and the clang that checks the committed BPF object is current.
need=()
command -v ip >/dev/null || need+=(iproute2)
command -v netstat >/dev/null || need+=(net-tools)
command -v lsof >/dev/null || need+=(lsof)
command -v ss >/dev/null || need+=(iproute2)
command -v python3 >/dev/null || need+=(python3)
command -v clang >/dev/null || need+=(clang)
command -v llvm-strip >/dev/null || command -v llvm-strip-14 >/dev/null || need+=(llvm)
[ -e /usr/include/bpf/bpf_helpers.h ] || need+=(libbpf-dev)
command -v bpftool >/dev/null || need+=(bpftool)
command -v busybox >/dev/null || need+=(busybox)
if [ "${#need[@]}" -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        log "installing ${need[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >/dev/null
        apt-get install -y -qq "${need[@]}" >/dev/null
    else
        log "missing ${need[*]}: tests that need them will skip"
    fi
fi

# Classic tracepoints are attached through tracefs, which is not mounted at boot here.
if [ "$(id -u)" = 0 ] && [ -d /sys/kernel/tracing ] && ! mountpoint -q /sys/kernel/tracing; then
    mount -t tracefs nodev /sys/kernel/tracing || true
fi

log "rustfmt"
cargo fmt --all --check

log "clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

if [ -x crates/sensor/bpf/check.sh ]; then
    log "committed BPF object is current"
    crates/sensor/bpf/check.sh
fi

log "built-in rule pack tests"
cargo run --quiet --locked -- rules test

log "tests"
if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --workspace --locked --no-fail-fast
else
    cargo test --workspace --locked --no-fail-fast
fi
