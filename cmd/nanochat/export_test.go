package main

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/nanochat-go/nanochat/model/tokenizer"
)

// hfCorpus is text to encode both ways: the tokenizer vectors' texts, the
// demo model's toy eval rows, chat prompts with special tokens, and random
// strings over the vectors' alphabet of class boundaries.
func hfCorpus(t *testing.T) []string {
	t.Helper()
	var vectors struct {
		Splits []struct{ Pattern, Text string }
	}
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "tokenizer", "vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &vectors); err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, s := range vectors.Splits {
		if s.Pattern == "nanochat" {
			texts = append(texts, s.Text)
		}
	}
	for _, f := range []string{"mmlu_toy.jsonl", "arc_toy.jsonl", "gsm8k_toy.jsonl"} {
		data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "demo", "data", f))
		if err != nil {
			t.Fatal(err)
		}
		texts = append(texts, strings.Split(string(data), "\n")...)
	}
	texts = append(texts,
		"<|user_start|>Multiple Choice question: Which?\n- a=A\n- b=B\n\nRespond only with the letter of the correct answer.<|user_end|><|assistant_start|>B",
		"<|bos|><|user_start|>x<|user_end|><|assistant_start|>7*11 = <|python_start|>7*11<|python_end|><|output_start|>77<|output_end|><|assistant_end|>",
		"a<|bos|>b <|user_start|> c<|user_end|>\n<|assistant_start|>'s", "<|bos", "<|bos|", "<<|bos|>>", "|><|",
	)
	alphabet := []rune("abcdsmtlvreSDMTLVREK0123456789'.,!?;:-_\"()[]{}<>#$%&*+/=@\\^`|~      \t\n\n\r\x0b\x0c\x85\xa0\u1680\u2000\u2009\u2028\u2029\u202f\u205f\u3000\u200b\ufeffſKİıéß中ǅʰ\u0301٣Ⅶ²½🤖’€\x00\x7f\ufffd")
	r := rand.New(rand.NewPCG(7, 8))
	for range 2000 {
		s := make([]rune, 1+r.IntN(24))
		for i := range s {
			s[i] = alphabet[r.IntN(len(alphabet))]
		}
		texts = append(texts, string(s))
	}
	return texts
}

// hfBPE encodes text as the tokenizers library's BPE model does with the
// exported vocabulary and merges: each piece of the split, whole if it is
// in the vocabulary (ignore_merges), else its bytes merged pair by pair,
// the pair earliest in the merges list first (leftmost among equals).
func hfBPE(t *tokenizer.Tokenizer, vocab map[string]int, rank map[[2]string]int, text string) []int {
	chars := gpt2ByteChars()
	var ids []int
	for _, piece := range t.Split(text) {
		var sym []string
		for i := range len(piece) {
			sym = append(sym, string(chars[piece[i]]))
		}
		if id, ok := vocab[strings.Join(sym, "")]; ok {
			ids = append(ids, id)
			continue
		}
		for {
			best, at := -1, -1
			for i := 0; i+1 < len(sym); i++ {
				if r, ok := rank[[2]string{sym[i], sym[i+1]}]; ok && (best < 0 || r < best) {
					best, at = r, i
				}
			}
			if at < 0 {
				break
			}
			sym = slices.Replace(sym, at, at+2, sym[at]+sym[at+1])
		}
		for _, s := range sym {
			ids = append(ids, vocab[s])
		}
	}
	return ids
}

// gpt2ByteChars is GPT-2's bytes_to_unicode.
func gpt2ByteChars() [256]rune {
	var m [256]rune
	n := 0
	for b := range 256 {
		if '!' <= b && b <= '~' || 0xA1 <= b && b <= 0xAC || 0xAE <= b && b <= 0xFF {
			m[b] = rune(b)
		} else {
			m[b] = rune(256 + n)
			n++
		}
	}
	return m
}

var (
	demoTokenizerPath   = filepath.Join("..", "..", "testdata", "demo", "home", "tokenizer", "tokenizer.pkl")
	goldenTokenizerPath = filepath.Join("..", "..", "testdata", "golden", "home", "tokenizer", "tokenizer.pkl")
)

// TestHuggingFaceExport checks the exported files offline: every token and
// special token is there, and BPE with the exported merges, run as the
// tokenizers library runs it, encodes the corpus as Encode does.
func TestHuggingFaceExport(t *testing.T) {
	for _, path := range []string{demoTokenizerPath, goldenTokenizerPath} {
		tok, err := tokenizer.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		files, err := tok.HuggingFace()
		if err != nil {
			t.Fatal(err)
		}
		var tj struct {
			AddedTokens []struct {
				ID      int
				Content string
				Special bool
			} `json:"added_tokens"`
			PreTokenizer struct {
				Pretokenizers []struct {
					Type    string
					Pattern struct{ Regex string }
				}
			} `json:"pre_tokenizer"`
			Model struct {
				Type         string
				IgnoreMerges bool `json:"ignore_merges"`
				Vocab        map[string]int
				Merges       []string
			}
		}
		if err := json.Unmarshal(files["tokenizer.json"], &tj); err != nil {
			t.Fatal(err)
		}
		var cfg map[string]any
		if err := json.Unmarshal(files["tokenizer_config.json"], &cfg); err != nil {
			t.Fatal(err)
		}
		if len(tj.Model.Vocab)+len(tj.AddedTokens) != tok.VocabSize() || len(tj.AddedTokens) != 9 || !tj.Model.IgnoreMerges ||
			tj.PreTokenizer.Pretokenizers[0].Pattern.Regex != tok.Pattern() || cfg["bos_token"] != tokenizer.BOSToken || cfg["chat_template"] != tokenizer.ChatTemplate {
			t.Fatalf("%s: %d + %d tokens for a vocabulary of %d, config %v", path, len(tj.Model.Vocab), len(tj.AddedTokens), tok.VocabSize(), cfg)
		}
		for _, a := range tj.AddedTokens {
			if id, err := tok.EncodeSpecial(a.Content); err != nil || id != a.ID || !a.Special {
				t.Errorf("added token %+v: nanochat has id %d (%v)", a, id, err)
			}
		}
		rank := map[[2]string]int{}
		for i, m := range tj.Model.Merges {
			l, r, ok := strings.Cut(m, " ")
			if !ok || strings.Contains(r, " ") {
				t.Fatalf("merge %q is not two byte-level tokens", m)
			}
			if _, dup := rank[[2]string{l, r}]; !dup {
				rank[[2]string{l, r}] = i
			}
		}
		for _, text := range hfCorpus(t) {
			if strings.Contains(text, "<|") {
				continue // special tokens are the library's added tokens, matched before BPE
			}
			if got, want := hfBPE(tok, tj.Model.Vocab, rank, text), tok.Encode(text); !slices.Equal(got, want) {
				t.Errorf("%s: %q: merges give %v, Encode %v", filepath.Base(filepath.Dir(filepath.Dir(path))), text, got, want)
			}
		}
	}
}

// hfScript encodes, decodes and renders with transformers' AutoTokenizer.
const hfScript = `
import json, sys
from transformers import AutoTokenizer
tok = AutoTokenizer.from_pretrained(sys.argv[1])
job = json.load(open(sys.argv[2]))
out = {"ids": [tok(s, add_special_tokens=False).input_ids for s in job["texts"]],
       "with_bos": tok("hi").input_ids,
       "chats": [tok.apply_chat_template(c, tokenize=False, add_generation_prompt=True) for c in job["chats"]]}
out["decoded"] = [tok.decode(ids) for ids in out["ids"]]
json.dump(out, sys.stdout)
`

// TestHuggingFaceTransformers loads the export with transformers itself
// (NANOCHAT_HF_PYTHON names a Python with transformers; the lm-eval check,
// scripts/lmeval-check.sh, sets it): its encoding of the corpus must be
// EncodeWithSpecials', its decoding the text, its chat template nanochat's
// rendering.
func TestHuggingFaceTransformers(t *testing.T) {
	python := os.Getenv("NANOCHAT_HF_PYTHON")
	if python == "" {
		t.Skip("NANOCHAT_HF_PYTHON is not set: no transformers to check the export against (scripts/lmeval-check.sh sets it)")
	}
	for _, path := range []string{demoTokenizerPath, goldenTokenizerPath} {
		t.Run(filepath.Base(filepath.Dir(filepath.Dir(filepath.Dir(path)))), func(t *testing.T) { checkTransformers(t, python, path) })
	}
}

func checkTransformers(t *testing.T, python, path string) {
	tok, err := tokenizer.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	files, err := tok.HuggingFace()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	type msg struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	}
	chats := [][]msg{
		{{"user", "Hi"}},
		{{"system", "Be brief."}, {"user", "2+2?"}, {"assistant", "4"}, {"user", "and 3+3?"}},
	}
	texts := hfCorpus(t)
	job, _ := json.Marshal(map[string]any{"texts": texts, "chats": chats})
	jobPath := filepath.Join(dir, "job.json")
	if err := os.WriteFile(jobPath, job, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(python, "-c", hfScript, dir, jobPath)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v", python, err)
	}
	var got struct {
		IDs     [][]int  `json:"ids"`
		WithBOS []int    `json:"with_bos"`
		Chats   []string `json:"chats"`
		Decoded []string `json:"decoded"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	bad := 0
	for i, text := range texts {
		if want := tok.EncodeWithSpecials(text); !slices.Equal(got.IDs[i], want) && !(len(want) == 0 && len(got.IDs[i]) == 0) {
			if bad++; bad <= 20 {
				t.Errorf("%q: transformers %v, nanochat %v", text, got.IDs[i], want)
			}
		}
		if got.Decoded[i] != text {
			t.Errorf("%q: transformers decodes its ids to %q", text, got.Decoded[i])
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d texts encode differently", bad, len(texts))
	}
	if want := append([]int{tok.BOS()}, tok.Encode("hi")...); !reflect.DeepEqual(got.WithBOS, want) {
		t.Errorf("with special tokens: %v, want <|bos|> first: %v", got.WithBOS, want)
	}
	for i, c := range chats {
		var ms []tokenizer.Message
		for _, m := range c {
			ms = append(ms, tokenizer.Message{Role: m.Role, Content: m.Content})
		}
		ids, err := tok.RenderForCompletion(append(ms, tokenizer.Message{Role: "assistant"}))
		if err != nil {
			t.Fatal(err)
		}
		if want := tok.Decode(ids); got.Chats[i] != want {
			t.Errorf("chat %d: template renders %q, nanochat %q", i, got.Chats[i], want)
		}
	}
}
