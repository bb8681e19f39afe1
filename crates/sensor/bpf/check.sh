#!/bin/sh
# Fails when the committed sockhunt.bpf.o is not what build.sh makes from the
# committed sources (someone edited the C and forgot to rebuild, or the reverse).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$here/build.sh" "$tmp/sockhunt.bpf.o"
if cmp -s "$tmp/sockhunt.bpf.o" "$here/sockhunt.bpf.o"; then
	echo "check.sh: crates/sensor/bpf/sockhunt.bpf.o is current"
else
	echo "check.sh: crates/sensor/bpf/sockhunt.bpf.o is stale: run crates/sensor/bpf/build.sh and commit it" >&2
	exit 1
fi
