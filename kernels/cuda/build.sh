#!/usr/bin/env bash
# build.sh: compile csrc/kernels.cu into kernels.fatbin — cubins for every
# architecture in ARCHS plus compute_80 PTX — and write kernels.fatbin.sum,
# the manifest check.sh and plan_test.go verify against the sources.
#
#   kernels/cuda/build.sh            rebuild kernels.fatbin in place
#   kernels/cuda/build.sh OUT.fatbin build elsewhere (check.sh's rebuild)
#   ARCHS=90 kernels/cuda/build.sh   one architecture while iterating
#   kernels/cuda/build.sh --tools    install the pinned wheels, print their folder
#
# Toolchain, pinned to CUDA 12.9 (cubins from 12.x run on every driver
# ≥ 525; the PTX JITs on drivers ≥ 575):
#   * nvcc 12.9 when one is on PATH (or $NVCC), else
#   * NVRTC 12.9 + nvFatbin 12.9 from PyPI (nvidia-cuda-nvrtc-cu12,
#     nvidia-nvfatbin-cu12), driven by tools/fatbuild.c: the PyPI
#     nvidia-cuda-nvcc-cu12 wheel ships ptxas but no nvcc. NVRTC is nvcc's
#     compiler front end and ptxas as a library, so the cubins are the same
#     kind nvcc makes. The wheels go to $NANOCHAT_CUDA_TOOLS
#     (default ~/.cache/nanochat/cuda-12.9), installed once with pip.
set -euo pipefail
cd "$(dirname "$0")"

CUDA_PIN=12.9
ALL_ARCHS="80,86,89,90,100,120,121"
ARCHS=${ARCHS:-$ALL_ARCHS}
PTX=80
OUT=${1:-kernels.fatbin}
TOOLS=${NANOCHAT_CUDA_TOOLS:-$HOME/.cache/nanochat/cuda-$CUDA_PIN}
WHEELS="nvidia-cuda-nvrtc-cu12==12.9.86 nvidia-nvfatbin-cu12==12.9.82 nvidia-cuda-runtime-cu12==12.9.79"

# sources_hash must match sourcesHash in plan_test.go.
sources_hash() {
	local f
	for f in $(ls csrc/*.cu csrc/*.cuh tools/fatbuild.c build.sh | LC_ALL=C sort); do
		printf '%s\n' "$f"
		cat "$f"
	done | sha256sum | cut -d' ' -f1
}

# install_tools puts the pinned CUDA 12.9 wheels under $TOOLS.
install_tools() {
	if [ -f "$TOOLS/nvidia/cuda_nvrtc/include/nvrtc.h" ] && [ -f "$TOOLS/nvidia/nvfatbin/include/nvFatbin.h" ] &&
		[ -f "$TOOLS/nvidia/cuda_runtime/include/cuda.h" ]; then
		return
	fi
	echo "build.sh: installing CUDA $CUDA_PIN wheels into $TOOLS" >&2
	mkdir -p "$TOOLS"
	# shellcheck disable=SC2086
	python3 -m pip install --quiet --disable-pip-version-check --no-deps --target "$TOOLS" $WHEELS >&2
}

if [ "${1:-}" = --tools ]; then
	install_tools
	echo "$TOOLS/nvidia"
	exit 0
fi

nvcc_version() { "$1" --version | sed -n 's/.*release \([0-9]*\.[0-9]*\).*/\1/p'; }

NVCC_BIN=${NVCC:-$(command -v nvcc || true)}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ -n "$NVCC_BIN" ] && [ "$(nvcc_version "$NVCC_BIN")" = "$CUDA_PIN" ]; then
	toolkit="$CUDA_PIN nvcc"
	gencode=()
	for a in ${ARCHS//,/ }; do gencode+=(-gencode "arch=compute_$a,code=sm_$a"); done
	gencode+=(-gencode "arch=compute_$PTX,code=compute_$PTX")
	"$NVCC_BIN" -fatbin -O3 -std=c++17 "${gencode[@]}" -Xptxas -v -o "$tmp/out.fatbin" csrc/kernels.cu \
		2>"$tmp/build.log"
else
	if [ -n "$NVCC_BIN" ]; then
		echo "build.sh: $NVCC_BIN is CUDA $(nvcc_version "$NVCC_BIN"), not $CUDA_PIN: using NVRTC $CUDA_PIN" >&2
	fi
	install_tools
	toolkit="$CUDA_PIN nvrtc+nvfatbin"
	nv="$TOOLS/nvidia"
	gcc -O2 -o "$tmp/fatbuild" tools/fatbuild.c -I"$nv/cuda_nvrtc/include" -I"$nv/nvfatbin/include" \
		"$nv/cuda_nvrtc/lib/libnvrtc.so.12" "$nv/nvfatbin/lib/libnvfatbin.so.12" \
		-Wl,-rpath,"$nv/cuda_nvrtc/lib:$nv/nvfatbin/lib"
	"$tmp/fatbuild" -require "$CUDA_PIN" -src csrc/kernels.cu -I csrc -sm "$ARCHS" -ptx "$PTX" \
		-o "$tmp/out.fatbin" -log "$tmp/build.log"
fi
# Report compiler warnings and register spills (kernel, architecture).
grep -i "warning" "$tmp/build.log" >&2 || true
awk '/Compiling entry function/ { fn = $0 } /[1-9][0-9]* bytes spill stores/ { print "build.sh: spill: " fn ": " $0 }' \
	"$tmp/build.log" | sed 's/ptxas info *: //; s/ptxas *\. *//' >&2

cp "$tmp/out.fatbin" "$OUT"
if [ "$OUT" = kernels.fatbin ]; then
	if [ "$ARCHS" != "$ALL_ARCHS" ]; then
		echo "build.sh: built only sm_$ARCHS; not writing the manifest (run without ARCHS before committing)" >&2
		exit 0
	fi
	{
		echo "sources-sha256 $(sources_hash)"
		echo "fatbin-sha256 $(sha256sum kernels.fatbin | cut -d' ' -f1)"
		echo "toolkit $toolkit"
		echo "cubins $(echo "sm_${ARCHS//,/ sm_}")"
		echo "ptx compute_$PTX"
	} >kernels.fatbin.sum
	cp "$tmp/build.log" kernels.build.log
	echo "build.sh: wrote kernels.fatbin ($(stat -c %s kernels.fatbin) bytes) and kernels.fatbin.sum" >&2
fi
