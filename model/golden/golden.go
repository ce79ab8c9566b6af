// Package golden reads the reference outputs that upstream nanochat's own
// PyTorch code produced for real checkpoints (golden/*.json inside a
// nanochat home). Tests across the tree use it to pin the model and engine
// to upstream.
package golden

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// EnvDir names the environment variable that points the golden tests at
// another nanochat home with the same layout.
const EnvDir = "NANOCHAT_GOLDEN_DIR"

// Dir is $NANOCHAT_GOLDEN_DIR or, when unset, def (the testdata copy).
func Dir(def string) string {
	if d := os.Getenv(EnvDir); d != "" {
		return d
	}
	return def
}

// Case is one model golden: a checkpoint and what upstream computed with it.
type Case struct {
	Variant    string               `json:"variant"`
	Source     string               `json:"source"`
	ModelTag   string               `json:"model_tag"`
	Step       int                  `json:"step"`
	Generation string               `json:"generation"`
	Override   map[string]any       `json:"override"`
	Tokens     []int                `json:"tokens"`
	Argmax     []int                `json:"argmax"`
	LogSumExp  []float64            `json:"logsumexp"`
	NextLogP   []float64            `json:"next_token_logprob"`
	LogitsRows map[string][]float64 `json:"logits_rows"`
	PromptLen  int                  `json:"prompt_len"`
	Greedy     []int                `json:"greedy"`
	Margins    []float64            `json:"greedy_margins"`
}

// Path is the checkpoint file of c inside home dir.
func (c Case) Path(dir string) string {
	return filepath.Join(dir, c.Source+"_checkpoints", c.ModelTag, fmt.Sprintf("model_%06d.pt", c.Step))
}

// OverrideJSON is the case's override object as JSON ("" when none).
func (c Case) OverrideJSON() string {
	if c.Override == nil {
		return ""
	}
	b, _ := json.Marshal(c.Override)
	return string(b)
}

// Cases loads every golden/*.json of dir that describes a model forward
// (an object with "tokens"; the others, like the tokenizer goldens, are
// skipped). A file that is not valid JSON, or a model golden whose fields
// do not have the types above, is an error naming it: a broken golden must
// fail the tests, not drop out of them. It is an error to find none.
func Cases(dir string) ([]Case, error) {
	files, err := filepath.Glob(filepath.Join(dir, "golden", "*.json"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	var out []Case
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var probe any
		if err := json.Unmarshal(data, &probe); err != nil {
			return nil, fmt.Errorf("golden %s: %w", f, err)
		}
		if obj, ok := probe.(map[string]any); !ok || !hasKey(obj, "tokens") {
			continue // a tokenizer or rendering golden
		}
		var c Case
		if err := json.Unmarshal(data, &c); err != nil {
			return nil, fmt.Errorf("golden %s: %w", f, err)
		}
		if len(c.Tokens) == 0 {
			return nil, fmt.Errorf("golden %s: \"tokens\" is empty", f)
		}
		if c.Variant == "" {
			c.Variant = filepath.Base(f)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no model goldens (golden/*.json with \"tokens\") in %s", dir)
	}
	return out, nil
}

func hasKey(m map[string]any, k string) bool {
	_, ok := m[k]
	return ok
}
