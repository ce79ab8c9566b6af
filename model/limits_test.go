package model

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// eHead is the golden checkpoint the reliability tests copy and break: the
// e_head variant (A7: 6 blocks, n_embd 64, vocab 2000, fp32 and bf16
// tensors).
var eHead = filepath.Join(testdataHome, "base_checkpoints", "d6", "model_001000.pt")

// copyModel copies a checkpoint and its meta into a temporary
// directory and returns the copy's model path.
func copyModel(t *testing.T, src string) string {
	t.Helper()
	metaSrc, err := MetaPath(src)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), filepath.Base(src))
	metaDst, _ := MetaPath(dst)
	for _, p := range [][2]string{{src, dst}, {metaSrc, metaDst}} {
		if err := copyFile(p[0], p[1]); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// within runs fn and fails the test if it has not returned after d: a hang
// is a failure, not a test that never ends. (A stuck fn keeps running in
// the background until the test binary exits.)
func within(t *testing.T, d time.Duration, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("still running after %v: it hangs", d)
	}
}

// writeMeta rewrites the meta of the checkpoint at modelPath, setting
// fields of its model_config to the given JSON numbers.
func writeMeta(t *testing.T, modelPath string, edit map[string]int64) {
	t.Helper()
	metaPath, _ := MetaPath(modelPath)
	data, err := os.ReadFile(metaPath)
	if err != nil {
		t.Fatal(err)
	}
	var meta map[string]any
	if err := json.Unmarshal(data, &meta); err != nil {
		t.Fatal(err)
	}
	mc := meta["model_config"].(map[string]any)
	for k, v := range edit {
		if _, ok := mc[k]; !ok {
			t.Fatalf("meta %s has no model_config field %q", metaPath, k)
		}
		mc[k] = v
	}
	if data, err = json.Marshal(meta); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(metaPath, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// Sizes in meta_<step>.json are checked against the tensors (or a cap,
// where no tensor holds them) before anything is allocated from them: a
// meta that lies gets an error naming the field, never an out-of-memory
// crash or a hang. (The golden e_head checkpoint: 6 blocks, n_embd 64,
// vocab 2000.)
func TestMetaSizesChecked(t *testing.T) {
	for _, tc := range []struct {
		name   string
		edit   map[string]int64
		errHas []string
	}{
		{"n_layer 1e10", map[string]int64{"n_layer": 1e10}, []string{"n_layer = 10000000000", "6 blocks"}},
		{"n_layer one more", map[string]int64{"n_layer": 7}, []string{"n_layer = 7", "6 blocks"}},
		{"n_layer one fewer", map[string]int64{"n_layer": 5}, []string{"n_layer = 5", "6 blocks"}},
		{"sequence_len 1e9", map[string]int64{"sequence_len": 1e9}, []string{"sequence_len = 1000000000", "at most"}},
		{"sequence_len 1e18", map[string]int64{"sequence_len": 1e18}, []string{"sequence_len = 1000000000000000000"}},
		{"n_embd 1e9", map[string]int64{"n_embd": 1e9}, []string{"n_embd 1000000000", "RoPE table"}},
		{"n_embd 128", map[string]int64{"n_embd": 128}, []string{"n_embd = 128", `"transformer.wte.weight" is [2048 64]`}},
		{"vocab_size 1e12", map[string]int64{"vocab_size": 1e12}, []string{"vocab_size = 1000000000000", "2048 rows"}},
		{"vocab_size 1e18 (padding overflows)", map[string]int64{"vocab_size": 1e18}, []string{"vocab_size = 1000000000000000000"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := copyModel(t, eHead)
			writeMeta(t, path, tc.edit)
			metaPath, _ := MetaPath(path)
			within(t, 20*time.Second, func() {
				for _, op := range []struct {
					name string
					run  func() error
				}{
					{"Load", func() error { m, err := Load(path, Options{}); closeIf(m); return err }},
					{"Describe", func() error { _, err := Describe(path, Overrides{}); return err }},
				} {
					err := op.run()
					if err == nil {
						t.Errorf("%s: no error", op.name)
						continue
					}
					for _, s := range append(tc.errHas, metaPath) {
						if !strings.Contains(err.Error(), s) {
							t.Errorf("%s: error %q does not contain %q", op.name, err, s)
						}
					}
				}
			})
		})
	}
}

func closeIf(m *Model) {
	if m != nil {
		m.Close()
	}
}

// The RoPE table (10·sequence_len positions of head_dim floats) is capped:
// a tiny checkpoint whose meta claims one huge head and a long context is
// refused instead of allocating gigabytes.
func TestRoPECap(t *testing.T) {
	cfg := Config{SequenceLen: MaxSequenceLen, VocabSize: 64, NLayer: 1, NHead: 1, NKVHead: 1, NEmbd: 8192}
	err := cfg.Validate()
	if err == nil || !strings.Contains(err.Error(), "RoPE table") || !strings.Contains(err.Error(), "sequence_len") {
		t.Fatalf("Validate(%+v) = %v, want an error about the RoPE table's size", cfg, err)
	}
	cfg.NEmbd, cfg.SequenceLen = 128, 2048
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Validate(%+v) = %v, want nil", cfg, err)
	}
}
