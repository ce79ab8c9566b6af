package cuda

import (
	"errors"
	"fmt"

	"github.com/nanochat-go/nanochat/model"
)

// ErrNotBuilt is returned by every entry point of a binary built without
// the CUDA backend.
var ErrNotBuilt = errors.New("CUDA support not built in (rebuild with -tags cuda and CGO_ENABLED=1)")

// DeviceInfo describes one GPU as the driver reports it.
type DeviceInfo struct {
	Index        int
	Name         string
	Major, Minor int   // compute capability
	SMs          int   // multiprocessors
	Memory       int64 // bytes of device memory
	Driver       int   // cuDriverGetVersion, e.g. 12090 for CUDA 12.9
}

func (d DeviceInfo) String() string {
	return fmt.Sprintf("cuda:%d %s (sm_%d%d, %d SMs, %.0f GiB)", d.Index, d.Name, d.Major, d.Minor, d.SMs,
		float64(d.Memory)/(1<<30))
}

// CheckPrecision refuses the precisions the GPU backend cannot hold: it
// keeps every matrix in bf16, so int8 (a CPU format) is an error.
func CheckPrecision(p model.Precision) error {
	if p == model.Int8 {
		return fmt.Errorf("cuda backend: --precision %s is CPU-only; use --precision bf16 (or exact) on the GPU, or --device cpu", p)
	}
	return nil
}
