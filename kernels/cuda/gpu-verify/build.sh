#!/usr/bin/env bash
# build.sh: assemble a self-contained GPU check of the CUDA backend, on a
# machine without a GPU (what `make gpu-verify` runs).
#
#   kernels/cuda/gpu-verify/build.sh [OUT]      default OUT: bin/gpu-verify
#
# OUT then holds everything run.sh needs on a machine with an NVIDIA driver
# and nothing else (no Go, no CUDA toolkit):
#
#   run.sh                     the check; prints one JSON summary line
#   nanochat                   the default (pure Go) binary: the CPU side, and
#                              the hand-over to nanochat-cuda
#   nanochat-cuda              the CUDA build, linked against a libcuda stub
#                              (soname libcuda.so.1: the driver's library at run time)
#   kernels/cuda/cuda.test     go test -c -tags cuda ./kernels/cuda: kernel tests,
#                              golden parity, TestBackendConformance; run from
#                              kernels/cuda next to the fatbin sources it checks
#   testdata/golden/home       the golden checkpoints the tests read
#   testdata/demo/home         the demo model chat, serve and the tests use
#   BUILD                      commit, date, Go and CUDA header versions
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cuda=$(cd "$here/.." && pwd)
root=$(cd "$cuda/../.." && pwd)
out=${1:-bin/gpu-verify}
case $out in /*) ;; *) out=$root/$out ;; esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
say() { echo "gpu-verify build: $*" >&2; }

inc=${CUDA_INCLUDE:-}
if [ -z "$inc" ]; then
	if [ -f /usr/local/cuda/include/cuda.h ]; then
		inc=/usr/local/cuda/include
	else
		inc="$("$cuda/build.sh" --tools)/cuda_runtime/include"
	fi
fi
"$cuda/libcuda-stub.sh" "$tmp/stub" "$inc"

rm -rf "$out"
mkdir -p "$out/kernels/cuda" "$out/testdata/golden" "$out/testdata/demo"
cd "$root"

say "nanochat (CPU build)"
CGO_ENABLED=0 go build -o "$out/nanochat" ./cmd/nanochat
say "nanochat-cuda (CUDA build, headers $inc)"
CUDA_INCLUDE=$inc CUDA_LIBDIR=$tmp/stub "$cuda/gobuild.sh" "$out/nanochat-cuda"
readelf -d "$out/nanochat-cuda" | grep -q 'NEEDED.*libcuda.so.1' || { say "nanochat-cuda does not link libcuda.so.1"; exit 1; }
say "cuda.test"
CGO_ENABLED=1 CGO_CFLAGS="-I$inc" CGO_LDFLAGS="-L$tmp/stub" \
	go test -c -tags cuda -o "$out/kernels/cuda/cuda.test" ./kernels/cuda

# The test binary runs in kernels/cuda: TestFatbinUpToDate hashes these.
(cd "$cuda" && cp -r --parents csrc/*.cu csrc/*.cuh tools/fatbuild.c build.sh kernels.fatbin kernels.fatbin.sum \
	"$out/kernels/cuda/")
cp -r testdata/golden/home "$out/testdata/golden/"
cp -r testdata/demo/home "$out/testdata/demo/"
cp "$here/run.sh" "$out/run.sh"
chmod +x "$out/run.sh"
{
	echo "commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$root" diff --quiet 2>/dev/null || echo +dirty)"
	echo "built $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "go $(go env GOVERSION)"
	echo "cuda.h $(sed -n 's/^#define CUDA_VERSION \([0-9]*\).*/\1/p' "$inc/cuda.h")"
} >"$out/BUILD"
say "wrote $out ($(du -sh "$out" | cut -f1)); on a GPU machine: $(basename "$out")/run.sh"
