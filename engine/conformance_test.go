package engine_test

import (
	"path/filepath"
	"testing"

	"github.com/nanochat-go/nanochat/engine"
	"github.com/nanochat-go/nanochat/engine/enginetest"
	"github.com/nanochat-go/nanochat/model"
	"github.com/nanochat-go/nanochat/model/golden"
)

// The CPU backend passes the conformance suite with the exact (fp32)
// forward, at the model goldens' own tolerance.
func TestBackendConformance(t *testing.T) {
	enginetest.Run(t, enginetest.Config{
		Home:          golden.Dir(filepath.Join("..", "testdata", "golden", "home")),
		Precision:     model.Exact,
		Open:          func(m *model.Model) (engine.Backend, error) { return engine.CPU(m, "cpu"), nil },
		MaxLogitDiff:  1e-4,
		MeanLogitDiff: 1e-5,
		MarginTol:     1e-3,
	})
}
