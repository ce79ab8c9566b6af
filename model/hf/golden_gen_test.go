//go:build hfgolden

package hf

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/nanochat-go/nanochat/model"
	"github.com/nanochat-go/nanochat/model/tokenizer"
)

// TestWriteExportsForGolden writes the A0 and A1 exports into
// $NANOCHAT_HF_EXPORT_DIR for testdata/hf/gen_golden.py. It is a generator,
// not a check, so it is built only with -tags hfgolden.
func TestWriteExportsForGolden(t *testing.T) {
	root := os.Getenv("NANOCHAT_HF_EXPORT_DIR")
	if root == "" {
		t.Fatal("set NANOCHAT_HF_EXPORT_DIR to the folder to write the exports into")
	}
	tok, err := tokenizer.Load(filepath.Join(goldenHome, "tokenizer", "tokenizer.pkl"))
	if err != nil {
		t.Fatal(err)
	}
	for _, variant := range []string{"a0_oct2025", "a_dec2025"} {
		g := goldenCase(t, variant)
		if _, err := Export(g.Path(goldenHome), model.Overrides{}, tok, filepath.Join(root, variant), Provenance{Source: g.Source, Tag: g.ModelTag}); err != nil {
			t.Fatal(err)
		}
	}
}
