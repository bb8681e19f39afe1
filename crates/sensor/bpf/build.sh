#!/bin/sh
# Rebuilds the sensor's BPF object from sockhunt.bpf.c.
#
# The object is committed so that `cargo build` needs no C toolchain; run this after
# changing sockhunt.bpf.c, sockhunt.h or vmlinux.h, and commit the result.
# Needs Debian 12's clang 14, llvm 14 (llvm-strip) and libbpf-dev (bpf/*.h headers):
#   apt-get install -y clang llvm libbpf-dev
# The output is byte-for-byte reproducible with that toolchain (check.sh relies on it):
# debug paths are mapped to "." and DWARF is stripped (BTF, which CO-RE needs, stays).
#
# usage: build.sh [OUTPUT]   (default: sockhunt.bpf.o beside this script)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/sockhunt.bpf.o}
CLANG=${CLANG:-clang}
STRIP=${LLVM_STRIP:-llvm-strip}

version=$("$CLANG" --version | head -n1)
case "$version" in
*"clang version 14."*) ;;
*) echo "build.sh: warning: expected clang 14 (Debian 12), found: $version;" \
	"the object may differ from the committed one" >&2 ;;
esac

cd "$here"
"$CLANG" -g -O2 -target bpf -D__TARGET_ARCH_x86 -fno-stack-protector \
	-fdebug-prefix-map="$here"=. -I. \
	-c sockhunt.bpf.c -o "$out"
"$STRIP" -g "$out"
