//go:build cuda && cgo

package cuda

import (
	_ "embed"
	"fmt"
	"io"
	"runtime"
	"unsafe"

	"gorgonia.org/cu"
)

// kernelsFatbin is csrc/kernels.cu compiled by build.sh.
//
//go:embed kernels.fatbin
var kernelsFatbin string

// Built reports whether this binary contains the CUDA backend.
func Built() bool { return true }

// Devices lists the GPUs the CUDA driver sees.
func Devices() ([]DeviceInfo, error) {
	n, err := cu.NumDevices()
	if err != nil {
		return nil, fmt.Errorf("cuDeviceGetCount: %w", err)
	}
	out := make([]DeviceInfo, 0, n)
	for i := 0; i < n; i++ {
		d, err := deviceInfo(i)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

func deviceInfo(i int) (DeviceInfo, error) {
	d, err := cu.GetDevice(i)
	if err != nil {
		return DeviceInfo{}, fmt.Errorf("cuDeviceGet(%d): %w", i, err)
	}
	info := DeviceInfo{Index: i, Driver: cu.Version()}
	if info.Name, err = d.Name(); err != nil {
		return info, fmt.Errorf("cuda:%d: name: %w", i, err)
	}
	if info.Memory, err = d.TotalMem(); err != nil {
		return info, fmt.Errorf("cuda:%d: memory: %w", i, err)
	}
	for _, a := range []struct {
		dst  *int
		attr cu.DeviceAttribute
	}{
		{&info.Major, cu.ComputeCapabilityMajor},
		{&info.Minor, cu.ComputeCapabilityMinor},
		{&info.SMs, cu.MultiprocessorCount},
	} {
		if *a.dst, err = d.Attribute(a.attr); err != nil {
			return info, fmt.Errorf("cuda:%d: attribute %v: %w", i, a.attr, err)
		}
	}
	return info, nil
}

// Probe writes one line per GPU to w ("cuda:0 NVIDIA H100 … image sm_90
// cubin"). The CPU build runs `nanochat-cuda` with NANOCHAT_CUDA_PROBE=1
// to learn, before handing over, that the CUDA build starts here at all
// (gorgonia.org/cu exits the process when cuInit fails).
func Probe(w io.Writer) error {
	devs, err := Devices()
	if err != nil {
		return err
	}
	if len(devs) == 0 {
		return fmt.Errorf("the CUDA driver reports no GPU")
	}
	for _, d := range devs {
		img, err := Image(d.Major, d.Minor, d.Driver)
		if err != nil {
			fmt.Fprintf(w, "%s unusable: %v\n", d, err)
			continue
		}
		fmt.Fprintf(w, "%s image %s\n", d, img)
	}
	return nil
}

// gpu is one device with its primary context, the loaded kernels and a
// stream. Every method runs with the context current on a locked OS
// thread (enter).
type gpu struct {
	info   DeviceInfo
	dev    cu.Device
	ctx    cu.CUContext
	mod    cu.Module
	fns    map[string]cu.Function
	stream cu.Stream
	args   *argBuf
	image  string
}

func openGPU(index int) (*gpu, error) {
	info, err := deviceInfo(index)
	if err != nil {
		return nil, err
	}
	image, err := Image(info.Major, info.Minor, info.Driver)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", info, err)
	}
	g := &gpu{info: info, fns: map[string]cu.Function{}, image: image}
	if g.dev, err = cu.GetDevice(index); err != nil {
		return nil, err
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if g.ctx, err = g.dev.RetainPrimaryCtx(); err != nil {
		return nil, fmt.Errorf("%s: cuDevicePrimaryCtxRetain: %w", info, err)
	}
	if err = cu.SetCurrentContext(g.ctx); err != nil {
		return nil, fmt.Errorf("%s: cuCtxSetCurrent: %w", info, err)
	}
	if err = g.load(); err != nil {
		g.dev.ReleasePrimaryCtx()
		return nil, fmt.Errorf("%s: %w", info, err)
	}
	if g.stream, err = cu.MakeStream(cu.DefaultStream); err != nil {
		return nil, fmt.Errorf("%s: cuStreamCreate: %w", info, err)
	}
	g.args = newArgBuf()
	return g, nil
}

// load loads the embedded fatbin (the driver picks the cubin for this GPU
// or JIT-compiles the PTX) and resolves every kernel, opting the ones that
// need it in to more than 48 KB of dynamic shared memory.
func (g *gpu) load() error {
	var err error
	if g.mod, err = loadModule(kernelsFatbin); err != nil {
		return fmt.Errorf("load kernels.fatbin (%s): %w", g.image, err)
	}
	for _, name := range Kernels() {
		f, err := g.mod.Function(name)
		if err != nil {
			return fmt.Errorf("kernels.fatbin: function %s: %w (rebuild it with kernels/cuda/build.sh)", name, err)
		}
		g.fns[name] = f
	}
	// The largest dynamic shared memory each kernel can be planned with.
	need := map[string]int{
		"nc_gemm_bf16_128x128": gemmSmem(128, 128),
		"nc_gemm_bf16_64x64":   gemmSmem(64, 64),
		"nc_attn_splitkv":      SplitKVSmem(qkvMaxHD, skMaxU*skThreads/qkvMaxHD),
	}
	for _, hd := range PrefillHeadDims {
		need[fmt.Sprintf("nc_attn_prefill_hd%d", hd)] = PrefillSmem(hd)
	}
	for name, n := range need {
		if n > DefaultSmem {
			if err := setMaxDynamicSmem(g.fns[name], n); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
		}
	}
	return nil
}

// enter makes the context current on a locked OS thread; call the
// returned function when done.
func (g *gpu) enter() func() {
	runtime.LockOSThread()
	if err := cu.SetCurrentContext(g.ctx); err != nil {
		// The primary context cannot go away while retained; a failure
		// here surfaces at the next driver call.
		_ = err
	}
	return runtime.UnlockOSThread
}

// launch runs kernel l.Kernel with the arguments added to g.args since reset.
func (g *gpu) launch(l Launch) error {
	f, ok := g.fns[l.Kernel]
	if !ok {
		return fmt.Errorf("launch: no kernel %q", l.Kernel)
	}
	return g.args.launch(f, l, g.stream)
}

func (g *gpu) alloc(bytes int64) (cu.DevicePtr, error) {
	if bytes <= 0 {
		bytes = 16
	}
	p, err := cu.MemAlloc(bytes)
	if err != nil {
		return 0, fmt.Errorf("cuMemAlloc(%d MiB) on %s: %w", bytes>>20, g.info, err)
	}
	return p, nil
}

// upload copies a host slice into a new device buffer.
func upload[T any](g *gpu, host []T) (cu.DevicePtr, error) {
	var zero T
	n := int64(len(host)) * int64(unsafe.Sizeof(zero))
	p, err := g.alloc(n)
	if err != nil || n == 0 {
		return p, err
	}
	if err := cu.MemcpyHtoD(p, unsafe.Pointer(&host[0]), n); err != nil {
		cu.MemFree(p)
		return 0, fmt.Errorf("cuMemcpyHtoD(%d bytes): %w", n, err)
	}
	return p, nil
}

func (g *gpu) close() {
	done := g.enter()
	defer done()
	g.stream.Synchronize()
	g.stream.Destroy()
	g.mod.Unload()
	g.args.free()
	g.dev.ReleasePrimaryCtx()
}
