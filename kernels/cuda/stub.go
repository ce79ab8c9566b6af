//go:build !(cuda && cgo)

package cuda

import (
	"io"

	"github.com/nanochat-go/nanochat/engine"
	"github.com/nanochat-go/nanochat/model"
)

// Built reports whether this binary contains the CUDA backend.
func Built() bool { return false }

// Devices lists the GPUs the CUDA driver sees.
func Devices() ([]DeviceInfo, error) { return nil, ErrNotBuilt }

// NewBackend uploads m to GPU device and returns it as an engine backend
// that owns m. This build has no CUDA backend: it returns ErrNotBuilt and
// leaves m open and the caller's, as the CUDA build does on any error.
func NewBackend(m *model.Model, device int) (engine.Backend, error) { return nil, ErrNotBuilt }

// Probe writes one line per GPU to w, for the CPU build's hand-over check.
func Probe(w io.Writer) error { return ErrNotBuilt }
