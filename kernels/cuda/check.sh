#!/usr/bin/env bash
# check.sh: what CI checks about the CUDA backend, on a machine without a GPU.
#
#  1. kernels.fatbin is up to date: the sources hash recorded in
#     kernels.fatbin.sum matches csrc/, tools/ and build.sh, and the fatbin
#     is the one the manifest describes (compiler output is not
#     bit-reproducible across toolkit versions, so the hash of the inputs is
#     the contract).
#  2. It still builds: build.sh rebuilds it into a temporary file with the
#     pinned toolkit (skip with NO_REBUILD=1), reporting whether the result
#     is bit-identical.
#  3. The cuda build compiles and links: go vet and go build -tags cuda
#     against the CUDA 12.9 headers, linked with a generated libcuda stub
#     (every entry returns CUDA_ERROR_STUB_LIBRARY; it only satisfies the
#     linker and is never installed), and the cuda test binary compiles.
#     The default binary must not depend on libcuda.
#  4. On a machine with an NVIDIA GPU, the GPU tests run; elsewhere it says
#     they did not.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$here"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() {
	echo "check.sh: FAIL: $*" >&2
	exit 1
}

# --- 1. manifest ---------------------------------------------------------
sources_hash() {
	local f
	for f in $(ls csrc/*.cu csrc/*.cuh tools/fatbuild.c build.sh | LC_ALL=C sort); do
		printf '%s\n' "$f"
		cat "$f"
	done | sha256sum | cut -d' ' -f1
}
field() { sed -n "s/^$1 //p" kernels.fatbin.sum; }
[ -f kernels.fatbin.sum ] || fail "kernels.fatbin.sum missing: run kernels/cuda/build.sh"
[ "$(field sources-sha256)" = "$(sources_hash)" ] ||
	fail "kernels.fatbin is stale (sources changed since it was built): run kernels/cuda/build.sh and commit the result"
[ "$(field fatbin-sha256)" = "$(sha256sum kernels.fatbin | cut -d' ' -f1)" ] ||
	fail "kernels.fatbin does not match kernels.fatbin.sum: run kernels/cuda/build.sh"
echo "check.sh: kernels.fatbin matches its sources ($(field cubins), $(field ptx); CUDA $(field toolkit))"

# --- 2. rebuild ----------------------------------------------------------
if [ "${NO_REBUILD:-}" != 1 ]; then
	./build.sh "$tmp/rebuilt.fatbin" >"$tmp/build.err" 2>&1 || {
		cat "$tmp/build.err" >&2
		fail "build.sh failed"
	}
	if cmp -s "$tmp/rebuilt.fatbin" kernels.fatbin; then
		echo "check.sh: rebuilt kernels.fatbin: bit-identical"
	else
		echo "check.sh: rebuilt kernels.fatbin: builds, not bit-identical ($(stat -c %s "$tmp/rebuilt.fatbin") vs $(stat -c %s kernels.fatbin) bytes; toolkit builds differ)"
	fi
fi

# --- 3. cuda build -------------------------------------------------------
inc=${CUDA_INCLUDE:-}
if [ -z "$inc" ]; then
	if [ -f /usr/local/cuda/include/cuda.h ]; then
		inc=/usr/local/cuda/include
	else
		# build.sh installs the pinned wheels, cuda.h included.
		inc="$(./build.sh --tools)/cuda_runtime/include"
	fi
fi
[ -f "$inc/cuda.h" ] || fail "no cuda.h in $inc (set CUDA_INCLUDE)"

# The stub exports every driver entry point cuda.h declares.
./libcuda-stub.sh "$tmp/stub" "$inc"

cd "$root"
export CGO_ENABLED=1 CGO_CFLAGS="-I$inc" CGO_LDFLAGS="-L$tmp/stub"
go vet -tags cuda ./kernels/cuda/ ./cmd/nanochat/ || fail "go vet -tags cuda"
go build -tags cuda ./... || fail "go build -tags cuda ./..."
go build -tags cuda -o "$tmp/nanochat-cuda" ./cmd/nanochat || fail "go build -tags cuda ./cmd/nanochat"
go test -tags cuda -c -o "$tmp/cuda.test" ./kernels/cuda/ || fail "go test -tags cuda -c ./kernels/cuda"
readelf -d "$tmp/nanochat-cuda" | grep -q 'NEEDED.*libcuda.so.1' || fail "nanochat-cuda does not link libcuda"
CGO_ENABLED=0 go build -o "$tmp/nanochat" ./cmd/nanochat || fail "CGO_ENABLED=0 go build ./cmd/nanochat"
go build -o "$tmp/nanochat-default" ./cmd/nanochat || fail "go build ./cmd/nanochat"
if readelf -d "$tmp/nanochat-default" 2>/dev/null | grep -q libcuda; then
	fail "the default nanochat binary links libcuda"
fi
echo "check.sh: go build -tags cuda (CUDA headers $inc), cuda test binary and default build: ok"

# --- 4. GPU tests ----------------------------------------------------------
if [ -e /proc/driver/nvidia/version ] || nvidia-smi -L >/dev/null 2>&1; then
	unset CGO_LDFLAGS
	go test -tags cuda -count=1 ./kernels/cuda/ || fail "GPU tests"
else
	echo "check.sh: no CUDA device (no NVIDIA driver on this machine): GPU tests compiled, not run"
fi
