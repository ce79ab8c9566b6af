package tokenizer

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nanochat-go/nanochat/model/pickle"
)

// encodingValue builds the decoded pickle of a tiktoken Encoding; mutate
// edits its state dict before it is wrapped.
func encodingValue(t *testing.T, mutate func(state *pickle.Dict)) pickle.Value {
	t.Helper()
	ranks := pickle.NewDict()
	for c := range 256 {
		must(t, ranks.Set([]byte{byte(c)}, int64(c)))
	}
	must(t, ranks.Set([]byte("ab"), int64(256)))
	specials := pickle.NewDict()
	for i, name := range chatTokenNames {
		must(t, specials.Set(name, int64(257+i)))
	}
	state := pickle.NewDict()
	must(t, state.Set("name", "rustbpe"))
	must(t, state.Set("pat_str", PatternNanochat))
	must(t, state.Set("mergeable_ranks", ranks))
	must(t, state.Set("special_tokens", specials))
	if mutate != nil {
		mutate(state)
	}
	return &pickle.Object{Class: pickle.Global{Module: "tiktoken.core", Name: "Encoding"}, State: state}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// without returns a copy of d without key.
func without(t *testing.T, d *pickle.Dict, key pickle.Value) *pickle.Dict {
	t.Helper()
	n := pickle.NewDict()
	for i, k := range d.Keys {
		if fmt.Sprint(k) != fmt.Sprint(key) {
			must(t, n.Set(k, d.Values[i]))
		}
	}
	if n.Len() != d.Len()-1 {
		t.Fatalf("without(%v): key not found", key)
	}
	return n
}

func getDict(t *testing.T, d *pickle.Dict, key string) *pickle.Dict {
	v, _ := d.Get(key)
	return v.(*pickle.Dict)
}

func TestFromPickle(t *testing.T) {
	tok, err := fromPickle(encodingValue(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := tok.VocabSize(), 266; got != want {
		t.Errorf("VocabSize() = %d, want %d", got, want)
	}
	if got, want := tok.Encode("abab"), []int{256, 256}; !slices.Equal(got, want) {
		t.Errorf("Encode(abab) = %v, want %v", got, want)
	}
}

func TestFromPickleErrors(t *testing.T) {
	for _, c := range []struct {
		name   string
		value  pickle.Value
		errHas []string
	}{
		{"registered", "cl100k_base", []string{`registered tiktoken encoding "cl100k_base"`}},
		{"class", &pickle.Object{Class: pickle.Global{Module: "x", Name: "Y"}}, []string{"x.Y", "tiktoken.core.Encoding"}},
		{"not object", int64(3), []string{"holds int"}},
		{"pattern", encodingValue(t, func(s *pickle.Dict) { must(t, s.Set("pat_str", `\w+`)) }),
			[]string{"pat_str: unsupported pattern", `"\\w+"`}},
		{"no pattern", encodingValue(t, func(s *pickle.Dict) { *s = *without(t, s, "pat_str") }),
			[]string{"pat_str missing"}},
		{"duplicate rank", encodingValue(t, func(s *pickle.Dict) {
			must(t, getDict(t, s, "mergeable_ranks").Set([]byte("xy"), int64(5)))
		}), []string{"mergeable_ranks: rank 5 for 2 different byte strings"}},
		{"rank type", encodingValue(t, func(s *pickle.Dict) {
			must(t, getDict(t, s, "mergeable_ranks").Set([]byte("xy"), "7"))
		}), []string{"mergeable_ranks: rank of \"xy\": is str, want int"}},
		{"missing byte", encodingValue(t, func(s *pickle.Dict) {
			must(t, s.Set("mergeable_ranks", without(t, getDict(t, s, "mergeable_ranks"), []byte{0x41})))
		}), []string{"mergeable_ranks: single byte 0x41 missing"}},
		{"missing special", encodingValue(t, func(s *pickle.Dict) {
			n := pickle.NewDict()
			must(t, n.Set("<|endoftext|>", int64(257)))
			must(t, s.Set("special_tokens", n))
		}), []string{"special token <|bos|> missing"}},
		{"special collides", encodingValue(t, func(s *pickle.Dict) {
			must(t, getDict(t, s, "special_tokens").Set(BOSToken, int64(256)))
		}), []string{"special_tokens: id 256 of <|bos|>"}},
	} {
		_, err := fromPickle(c.value)
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		for _, s := range c.errHas {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("%s: error %q does not contain %q", c.name, err, s)
			}
		}
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "nope.pkl")
	if _, err := Load(missing); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("Load(missing) error = %v, want one naming the file", err)
	}
	garbage := filepath.Join(dir, "tokenizer.pkl")
	if err := os.WriteFile(garbage, []byte("not a pickle"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(garbage); err == nil || !strings.Contains(err.Error(), garbage) {
		t.Errorf("Load(garbage) error = %v, want one naming the file", err)
	}
}
