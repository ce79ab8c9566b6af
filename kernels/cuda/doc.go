// Package cuda is the NVIDIA GPU backend of the engine: it runs a loaded
// nanochat model (model.Model) on one GPU behind engine.Backend, with the
// weights uploaded once as bf16 and the KV cache kept on the device.
//
// The compute lives in csrc/*.cu (FA2-style attention on mma.sync
// m16n8k16 / ldmatrix / cp.async, a tensor-core GEMM and a decode GEMV,
// and fused element-wise kernels), compiled by build.sh into
// kernels.fatbin: cubins for sm_80, sm_86, sm_89, sm_90, sm_100, sm_120 and
// sm_121 plus compute_80 PTX, so every GPU from Ampere to consumer and
// datacenter Blackwell gets a native image and any later one JIT-compiles
// the PTX. The fatbin is committed and embedded; `go build -tags cuda`
// needs only the CUDA headers and libcuda.
//
// Build configurations:
//
//   - default (no cuda tag, or CGO_ENABLED=0): stub.go. Every entry point
//     returns ErrNotBuilt; nothing links CUDA, so the binary starts on any
//     machine. cmd/nanochat detects a GPU without CUDA (the driver's
//     /proc and /dev entries) and hands over to nanochat-cuda.
//   - -tags cuda with cgo: the driver API through gorgonia.org/cu (device,
//     primary context, module, memory, streams, events) and a small cgo shim
//     (shim.go) for what it lacks: cuFuncSetAttribute for more than 48 KB of
//     dynamic shared memory, kernel launches without a malloc per call,
//     stream capture into a CUDA graph for the decode step.
//
// plan.go (all builds) decides every launch: kernel, grid, block and shared
// memory, within 99 KB per block; it is tested without a GPU.
package cuda
