#!/bin/sh
# Exec and openat storms with and without the live sensor, in the same run.
# Needs root and a kernel with BTF. Prints the machine, then the figures of
# crates/sensor/benches/storm.rs (see README.md beside this script).
#
# usage: benches/sensor/storm.sh            (5,000 execs, 1,000,000 opens, 3 rounds)
#        STORM_EXECS=2000 STORM_OPENS=200000 STORM_ROUNDS=1 benches/sensor/storm.sh
set -eu
cd "$(dirname "$0")/../.."
echo "kernel: $(uname -r), cpus: $(nproc), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
cargo bench -q -p sockhunt-sensor --bench storm
