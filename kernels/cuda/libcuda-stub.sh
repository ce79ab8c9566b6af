#!/usr/bin/env bash
# libcuda-stub.sh: write DIR/libcuda.so, a link-time stand-in for the
# NVIDIA driver's libcuda, generated from cuda.h.
#
#   kernels/cuda/libcuda-stub.sh DIR [CUDA_INCLUDE]
#
# It exports every driver entry point cuda.h declares (each returns
# CUDA_ERROR_STUB_LIBRARY) under the soname libcuda.so.1, so a binary linked
# against it loads the real driver library on a machine that has one. It
# only satisfies the linker and is never installed. check.sh links the
# cuda build against it; gpu-verify builds the binaries it ships with it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=${1:?usage: libcuda-stub.sh DIR [CUDA_INCLUDE]}
inc=${2:-${CUDA_INCLUDE:-}}
if [ -z "$inc" ]; then
	if [ -f /usr/local/cuda/include/cuda.h ]; then
		inc=/usr/local/cuda/include
	else
		inc="$("$here/build.sh" --tools)/cuda_runtime/include"
	fi
fi
[ -f "$inc/cuda.h" ] || { echo "libcuda-stub.sh: no cuda.h in $inc (set CUDA_INCLUDE)" >&2; exit 1; }
mkdir -p "$dir"
echo '#include <cuda.h>' | gcc -E -P -I"$inc" - |
	grep -oE '\bcu[A-Z][A-Za-z0-9_]*[[:space:]]*\(' | sed 's/[[:space:]]*($//' | sort -u |
	awk 'BEGIN { print "/* link-check stub, never installed */" } { printf "int %s(void) { return 34; }\n", $1 }' \
		>"$dir/stub.c"
gcc -shared -fPIC -Wl,-soname,libcuda.so.1 -o "$dir/libcuda.so" "$dir/stub.c"
