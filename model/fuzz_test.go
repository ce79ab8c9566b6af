package model

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/nanochat-go/nanochat/model/checkpoint"
)

// FuzzMeta checks that no meta_<step>.json makes ParseMeta, CheckShapes,
// Detect or the weight loading panic, hang or allocate from a size the
// tensors did not confirm: a meta that parses is checked against the
// tensors of the golden e_head checkpoint (6 blocks, n_embd 64, vocab
// 2000), and whatever passes must describe that checkpoint.
func FuzzMeta(f *testing.F) {
	metas, _ := filepath.Glob(filepath.Join(testdataHome, "*_checkpoints", "*", "meta_*.json"))
	metas = append(metas, filepath.Join("..", "testdata", "demo", "home", "chatsft_checkpoints", "d4", "meta_001514.json"))
	for _, p := range metas {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		`{"model_config": {"sequence_len": 1024, "vocab_size": 2000, "n_layer": 10000000000, "n_head": 4, "n_kv_head": 2, "n_embd": 64, "window_pattern": "SSSL"}}`,
		`{"model_config": {"sequence_len": 1000000000, "vocab_size": 2000, "n_layer": 6, "n_head": 4, "n_kv_head": 2, "n_embd": 64}}`,
		`{"model_config": {"sequence_len": 65536, "vocab_size": 2000, "n_layer": 6, "n_head": 1, "n_kv_head": 1, "n_embd": 64}, "user_config": {"eval_tokens": 41943040, "adam_beta1": NaN}}`,
		`{"step": -Infinity, "model_config": {"sequence_len": 1, "vocab_size": 1999, "n_layer": 6, "n_head": 2, "n_kv_head": 2, "n_embd": 64, "window_pattern": "s"}}`,
	} {
		f.Add([]byte(s))
	}
	ck, err := checkpoint.Open(eHead)
	if err != nil {
		f.Fatal(err)
	}
	defer ck.Close()
	f.Fuzz(func(t *testing.T, data []byte) {
		meta, err := ParseMeta(data)
		if err != nil {
			return
		}
		cfg := *meta.ModelConfig
		if err := cfg.Validate(); err != nil {
			t.Fatalf("ParseMeta accepted a config Validate rejects: %v", err)
		}
		if ropeMiB(cfg) > MaxRoPEBytes>>20 {
			t.Fatalf("accepted a %.0f MiB RoPE table", ropeMiB(cfg))
		}
		ts, err := newTensorSet(ck)
		if err != nil {
			t.Fatal(err)
		}
		a, err := Detect(cfg, ts.shapes(), meta.UserConfig, Overrides{})
		if err != nil {
			return
		}
		if cfg.NLayer != 6 || cfg.NEmbd != 64 || len(a.Windows) != 6 {
			t.Fatalf("Detect accepted n_layer %d, n_embd %d (%d windows) for a 6-block, 64-wide checkpoint", cfg.NLayer, cfg.NEmbd, len(a.Windows))
		}
		if _, err := loadWeights(ts, cfg, a, Exact); err != nil {
			return
		}
	})
}
