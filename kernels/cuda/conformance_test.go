//go:build cuda && cgo

package cuda

import (
	"path/filepath"
	"testing"

	"github.com/nanochat-go/nanochat/engine"
	"github.com/nanochat-go/nanochat/engine/enginetest"
	"github.com/nanochat-go/nanochat/model"
	"github.com/nanochat-go/nanochat/model/golden"
)

// TestBackendConformance runs the engine's backend contract suite
// (golden logits, greedy continuation, mixed positions, CopyRow,
// TruncateRow, scoring, cancellation, Close) against the CUDA backend on
// the golden checkpoints in bf16, with the tolerances of model_test.go.
func TestBackendConformance(t *testing.T) {
	needGPU(t) // skips without a usable device
	enginetest.Run(t, enginetest.Config{
		Home:      golden.Dir(filepath.Join("..", "..", "testdata", "golden", "home")),
		Precision: model.BF16,
		Open: func(m *model.Model) (engine.Backend, error) {
			return NewBackend(m, testDevice())
		},
		MaxLogitDiff:  maxLogitDiff,
		MeanLogitDiff: meanLogitDiff,
		MarginTol:     marginTol,
	})
}
