#!/usr/bin/env bash
# gobuild.sh: build the CUDA nanochat, `go build -tags cuda`, on a machine
# with a CUDA toolkit or with only the NVIDIA driver.
#
#   kernels/cuda/gobuild.sh [OUT]     default OUT: bin/nanochat-cuda
#
# Headers: $CUDA_INCLUDE, else /usr/local/cuda/include, else the pinned
# CUDA 12.9 wheels (build.sh --tools). libcuda for the linker: the
# toolkit's stubs, else the driver's libcuda.so.1. The fatbin is already
# embedded; no nvcc is needed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${1:-bin/nanochat-cuda}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

inc=${CUDA_INCLUDE:-}
if [ -z "$inc" ]; then
	if [ -f /usr/local/cuda/include/cuda.h ]; then
		inc=/usr/local/cuda/include
	else
		inc="$("$here/build.sh" --tools)/cuda_runtime/include"
	fi
fi
[ -f "$inc/cuda.h" ] || { echo "gobuild.sh: no cuda.h in $inc (set CUDA_INCLUDE)" >&2; exit 1; }

lib=${CUDA_LIBDIR:-}
if [ -z "$lib" ]; then
	for d in /usr/local/cuda/lib64/stubs /usr/local/cuda/targets/*/lib/stubs; do
		if [ -f "$d/libcuda.so" ]; then lib=$d; break; fi
	done
fi
if [ -z "$lib" ]; then
	so=$(ldconfig -p 2>/dev/null | awk '/libcuda\.so\.1 /{print $NF; exit}')
	[ -n "$so" ] || { echo "gobuild.sh: no libcuda.so.1: install the NVIDIA driver (or set CUDA_LIBDIR)" >&2; exit 1; }
	ln -s "$so" "$tmp/libcuda.so"
	lib=$tmp
fi

cd "$root"
mkdir -p "$(dirname "$out")"
CGO_ENABLED=1 CGO_CFLAGS="-I$inc ${CGO_CFLAGS:-}" CGO_LDFLAGS="-L$lib ${CGO_LDFLAGS:-}" \
	go build -tags cuda -o "$out" ./cmd/nanochat
echo "gobuild.sh: built $out (CUDA headers $inc, libcuda from $lib)" >&2
