//go:build cuda && cgo

package cuda

/*
#cgo LDFLAGS: -lcuda
#include <cuda.h>
#include <stdlib.h>

// What gorgonia.org/cu v0.9.6 lacks, as thin C wrappers over the driver API.

// nc_module_load is cuModuleLoadDataEx with an error log buffer (gorgonia's
// LoadDataEx passes its JIT option values from Go memory, which cgocheck
// rejects for pointer-valued options such as log buffers).
static CUresult nc_module_load(CUmodule* mod, const void* image, char* errlog, unsigned errsz) {
	CUjit_option opts[2] = {CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES};
	void* vals[2] = {errlog, (void*)(size_t)errsz};
	return cuModuleLoadDataEx(mod, image, 2, opts, vals);
}

static CUresult nc_set_max_dynamic_smem(CUfunction f, int bytes) {
	return cuFuncSetAttribute(f, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, bytes);
}

static CUresult nc_launch(CUfunction f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned smem,
                          CUstream s, void** args) {
	return cuLaunchKernel(f, gx, gy, gz, bx, 1, 1, smem, s, args, NULL);
}

static CUresult nc_begin_capture(CUstream s) {
	return cuStreamBeginCapture(s, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL);
}

// nc_end_capture ends a capture and instantiates the graph; on failure the
// stream is left out of capture mode either way.
static CUresult nc_end_capture(CUstream s, CUgraphExec* exec) {
	CUgraph g = NULL;
	CUresult r = cuStreamEndCapture(s, &g);
	if (r != CUDA_SUCCESS) {
		if (g) cuGraphDestroy(g);
		return r;
	}
	r = cuGraphInstantiateWithFlags(exec, g, 0);
	cuGraphDestroy(g);
	return r;
}

static CUresult nc_graph_launch(CUgraphExec e, CUstream s) { return cuGraphLaunch(e, s); }
static CUresult nc_graph_destroy(CUgraphExec e) { return cuGraphExecDestroy(e); }

static CUresult nc_memcpy_dtod_async(CUdeviceptr dst, CUdeviceptr src, size_t n, CUstream s) {
	return cuMemcpyDtoDAsync(dst, src, n, s);
}

static const char* nc_error_name(CUresult r) {
	const char* s = NULL;
	if (cuGetErrorName(r, &s) != CUDA_SUCCESS || s == NULL) return "CUDA_ERROR_UNKNOWN";
	return s;
}
static const char* nc_error_string(CUresult r) {
	const char* s = NULL;
	if (cuGetErrorString(r, &s) != CUDA_SUCCESS || s == NULL) return "unknown error";
	return s;
}
*/
import "C"

import (
	"fmt"
	"math"
	"unsafe"

	"gorgonia.org/cu"
)

// curesult turns a driver status into an error naming the operation.
func curesult(op string, r C.CUresult) error {
	if r == C.CUDA_SUCCESS {
		return nil
	}
	return fmt.Errorf("%s: %s (%s)", op, C.GoString(C.nc_error_name(r)), C.GoString(C.nc_error_string(r)))
}

// The gorgonia.org/cu handle types are structs holding one C handle; these
// reinterpret them to hand the raw handle to the shim.
func rawFunc(f cu.Function) C.CUfunction { return *(*C.CUfunction)(unsafe.Pointer(&f)) }
func rawStream(s cu.Stream) C.CUstream   { return *(*C.CUstream)(unsafe.Pointer(&s)) }

// loadModule loads a cubin, PTX or fatbin image (the driver picks the
// cubin for this GPU or JIT-compiles the PTX) and returns the driver's
// error log with any failure.
func loadModule(image string) (cu.Module, error) {
	img := C.CBytes([]byte(image))
	defer C.free(img)
	const logSize = 8192
	logBuf := (*C.char)(C.calloc(logSize, 1))
	defer C.free(unsafe.Pointer(logBuf))
	var raw C.CUmodule
	var m cu.Module
	if err := curesult("cuModuleLoadDataEx", C.nc_module_load(&raw, img, logBuf, logSize)); err != nil {
		if msg := C.GoString(logBuf); msg != "" {
			return m, fmt.Errorf("%w: %s", err, msg)
		}
		return m, err
	}
	*(*C.CUmodule)(unsafe.Pointer(&m)) = raw
	return m, nil
}

// setMaxDynamicSmem opts a kernel in to more than 48 KB of dynamic shared memory.
func setMaxDynamicSmem(f cu.Function, bytes int) error {
	return curesult("cuFuncSetAttribute(MAX_DYNAMIC_SHARED_SIZE_BYTES)", C.nc_set_max_dynamic_smem(rawFunc(f), C.int(bytes)))
}

const maxArgs = 32

// argBuf holds kernel arguments in C memory, one 8-byte slot each, and the
// array of slot pointers cuLaunchKernel reads; the driver copies each
// argument's own size (4 or 8 bytes) from its slot. Allocated once per
// backend (gorgonia's Function.Launch mallocs twice per launch), used under
// the backend's lock.
type argBuf struct {
	slots *[maxArgs]uint64
	ptrs  *[maxArgs]unsafe.Pointer
	n     int
}

func newArgBuf() *argBuf {
	a := &argBuf{
		slots: (*[maxArgs]uint64)(C.calloc(maxArgs, 8)),
		ptrs:  (*[maxArgs]unsafe.Pointer)(C.calloc(maxArgs, C.size_t(unsafe.Sizeof(unsafe.Pointer(nil))))),
	}
	for i := range a.ptrs {
		a.ptrs[i] = unsafe.Pointer(&a.slots[i])
	}
	return a
}

func (a *argBuf) free() {
	C.free(unsafe.Pointer(a.slots))
	C.free(unsafe.Pointer(a.ptrs))
}

func (a *argBuf) reset() *argBuf { a.n = 0; return a }

func (a *argBuf) put(v uint64) *argBuf {
	if a.n == maxArgs {
		panic("cuda: too many kernel arguments")
	}
	a.slots[a.n] = v
	a.n++
	return a
}

// ptr adds a device pointer argument (0 is a null pointer).
func (a *argBuf) ptr(p cu.DevicePtr) *argBuf { return a.put(uint64(p)) }

// i32 adds an int argument.
func (a *argBuf) i32(v int) *argBuf { return a.put(uint64(uint32(int32(v)))) }

// f32 adds a float argument.
func (a *argBuf) f32(v float32) *argBuf { return a.put(uint64(math.Float32bits(v))) }

// launch runs f with the arguments added since reset.
func (a *argBuf) launch(f cu.Function, l Launch, s cu.Stream) error {
	r := C.nc_launch(rawFunc(f), C.uint(l.Grid[0]), C.uint(l.Grid[1]), C.uint(l.Grid[2]), C.uint(l.Block),
		C.uint(l.Smem), rawStream(s), (*unsafe.Pointer)(unsafe.Pointer(a.ptrs)))
	return curesult("launch "+l.String(), r)
}

// graph is an instantiated CUDA graph (one captured decode step).
type graph struct{ exec C.CUgraphExec }

func beginCapture(s cu.Stream) error {
	return curesult("cuStreamBeginCapture", C.nc_begin_capture(rawStream(s)))
}

func endCapture(s cu.Stream) (*graph, error) {
	g := &graph{}
	if err := curesult("cuStreamEndCapture/cuGraphInstantiate", C.nc_end_capture(rawStream(s), &g.exec)); err != nil {
		return nil, err
	}
	return g, nil
}

func (g *graph) launch(s cu.Stream) error {
	return curesult("cuGraphLaunch", C.nc_graph_launch(g.exec, rawStream(s)))
}

func (g *graph) destroy() {
	if g != nil && g.exec != nil {
		C.nc_graph_destroy(g.exec)
		g.exec = nil
	}
}

// copyDtoDAsync is cuMemcpyDtoDAsync (gorgonia's wrapper works too; this
// one is used inside stream capture, where it must not touch Go memory).
func copyDtoDAsync(dst, src cu.DevicePtr, n int64, s cu.Stream) error {
	return curesult("cuMemcpyDtoDAsync", C.nc_memcpy_dtod_async(C.CUdeviceptr(dst), C.CUdeviceptr(src), C.size_t(n), rawStream(s)))
}
