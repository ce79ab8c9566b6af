package server

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"unicode/utf8"

	"github.com/nanochat-go/nanochat/llm"
)

// samplingParams are the sampling fields shared by the OpenAI chat and
// completions requests. Pointers distinguish "absent" from zero.
type samplingParams struct {
	Temperature         *float64        `json:"temperature"`
	TopP                *float64        `json:"top_p"`
	TopK                *int            `json:"top_k"` // extension (vLLM, llama-server)
	MaxTokens           *int            `json:"max_tokens"`
	MaxCompletionTokens *int            `json:"max_completion_tokens"`
	N                   *int            `json:"n"`
	Seed                *int64          `json:"seed"`
	Stop                json.RawMessage `json:"stop"`
	PresencePenalty     *float64        `json:"presence_penalty"`
	FrequencyPenalty    *float64        `json:"frequency_penalty"`
	LogitBias           map[string]any  `json:"logit_bias"`
	Stream              bool            `json:"stream"`
	StreamOptions       *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
}

// settings validates p against lim and fills absent fields from def.
// minTokens is the least max_tokens accepted (0 for completions with echo)
// and defTokens the default when absent.
func (p *samplingParams) settings(def llm.Settings, lim Limits, minTokens, defTokens int) (llm.Settings, []string, *apiError) {
	s := def
	if p.Temperature != nil {
		t := *p.Temperature
		if math.IsNaN(t) || t < 0 || t > 2 {
			return s, nil, badRequest("temperature", "temperature must be between 0 and 2, got %v", t)
		}
		s.Temperature = t
	}
	if p.TopP != nil {
		t := *p.TopP
		if math.IsNaN(t) || t <= 0 || t > 1 {
			return s, nil, badRequest("top_p", "top_p must be greater than 0 and at most 1, got %v", t)
		}
		s.TopP = t
	}
	if p.TopK != nil {
		k := *p.TopK
		if k < -1 {
			return s, nil, badRequest("top_k", "top_k must be ≥ 0 (0 or -1 disable it), got %d", k)
		}
		s.TopK = max(k, 0)
	}
	s.MaxTokens = defTokens
	name, mt := "max_tokens", p.MaxTokens
	if p.MaxCompletionTokens != nil {
		name, mt = "max_completion_tokens", p.MaxCompletionTokens
	}
	if mt != nil {
		if *mt < minTokens {
			return s, nil, badRequest(name, "%s must be at least %d, got %d", name, minTokens, *mt)
		}
		s.MaxTokens = *mt
	}
	s.Samples = 1
	if p.N != nil {
		if *p.N < 1 || *p.N > lim.Samples {
			return s, nil, badRequest("n", "n must be between 1 and %d, got %d", lim.Samples, *p.N)
		}
		s.Samples = *p.N
	}
	switch {
	case p.Seed != nil:
		s.Seed = uint64(*p.Seed)
	case s.Seed == 0:
		s.Seed = rand.Uint64() >> 33 // upstream: random.randint(0, 2**31-1)
	}
	for _, f := range []struct {
		name string
		v    *float64
	}{{"presence_penalty", p.PresencePenalty}, {"frequency_penalty", p.FrequencyPenalty}} {
		if f.v != nil && *f.v != 0 {
			return s, nil, badRequest(f.name, "%s is not supported by this server (omit it or send 0)", f.name)
		}
	}
	if len(p.LogitBias) > 0 {
		return s, nil, badRequest("logit_bias", "logit_bias is not supported by this server")
	}
	stops, err := parseStop(p.Stop, lim)
	return s, stops, err
}

// parseStop reads "stop": null, a string or an array of strings.
func parseStop(raw json.RawMessage, lim Limits) ([]string, *apiError) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var one string
	var stops []string
	if err := json.Unmarshal(raw, &one); err == nil {
		stops = []string{one}
	} else if err := json.Unmarshal(raw, &stops); err != nil {
		return nil, badRequest("stop", "invalid type for \"stop\": expected a string or an array of strings")
	}
	if len(stops) > lim.Stops {
		return nil, badRequest("stop", "at most %d stop sequences are allowed, got %d", lim.Stops, len(stops))
	}
	for i, st := range stops {
		if st == "" {
			return nil, badRequest("stop", "stop[%d] is empty", i)
		}
		if utf8.RuneCountInString(st) > 256 {
			return nil, badRequest("stop", "stop[%d] is longer than 256 characters", i)
		}
	}
	return stops, nil
}

// checkContext rejects max_tokens beyond the model's context.
func checkContext(s llm.Settings, info llm.Info, name string) *apiError {
	if info.ContextLen > 0 && s.MaxTokens >= info.ContextLen {
		return badRequest(name, "max_tokens %d does not fit the context of model %q (%d tokens, prompt included)", s.MaxTokens, info.Name, info.ContextLen)
	}
	return nil
}
