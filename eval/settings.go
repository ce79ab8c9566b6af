package eval

import (
	"fmt"
	"strconv"

	"github.com/nanochat-go/nanochat/eval/task"
	"github.com/nanochat-go/nanochat/llm"
)

// Defaults are upstream chat_eval's generation settings: greedy, top-k 50,
// 512 new tokens, one sample, seed 42.
func Defaults() llm.Settings {
	return llm.Settings{Temperature: 0, TopK: 50, TopP: 1, Seed: 42, MaxTokens: 512, Samples: 1}
}

// SettingsKey is the canonical string results are cached under. Categorical
// tasks do not sample, so only how the letters were scored (scoring:
// llm.ChoiceLogprobs or llm.ChoiceGeneration) and the variant matter;
// greedy decoding ignores top-k, top-p and the seed.
func SettingsKey(k task.Kind, s llm.Settings, variant, scoring string) string {
	if k == task.Categorical {
		return "categorical scoring=" + scoring + " " + variant
	}
	if s.Temperature == 0 {
		s.TopK, s.TopP, s.Seed = 0, 1, 0
	}
	return fmt.Sprintf("t=%s k=%d p=%s max=%d n=%d seed=%d %s",
		strconv.FormatFloat(s.Temperature, 'g', -1, 64), s.TopK, strconv.FormatFloat(s.TopP, 'g', -1, 64),
		s.MaxTokens, max(s.Samples, 1), s.Seed, variant)
}
