package tokenizer

import (
	"encoding/hex"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"
)

// Outputs of CPython's bytes.decode("utf-8", errors="replace").
var pythonReplace = []struct {
	in   string
	want string
}{
	{"\x80", "\ufffd"},                                    // lone continuation byte
	{"a\x80b", "a\ufffdb"},                                //
	{"\xe2\x82", "\ufffd"},                                // truncated 3-byte sequence: one U+FFFD
	{"\xe2\x82a", "\ufffda"},                              //
	{"\xc0\x80", "\ufffd\ufffd"},                          // overlong
	{"\xed\xa0\x80", "\ufffd\ufffd\ufffd"},                // surrogate U+D800
	{"\xf4\x90\x80\x80", "\ufffd\ufffd\ufffd\ufffd"},      // above U+10FFFF
	{"\xf8\x88\x80\x80\x80", strings.Repeat("\ufffd", 5)}, // 5-byte lead
	{"\xf0\x90\x80", "\ufffd"},                            // truncated 4-byte sequence
	{"\xe0\x80\x80", "\ufffd\ufffd\ufffd"},                // overlong 3-byte
	{"\xf0\x80\x80\x80", "\ufffd\ufffd\ufffd\ufffd"},      // overlong 4-byte
	{"\xe2(\xa1", "\ufffd(\ufffd"},                        //
	{"\xe1\x80\xe1\x80\x80", "\ufffd\u1000"},              //
	{"\xff", "\ufffd"},                                    //
	{"\xc2", "\ufffd"},                                    //
	{"\xe2\x82\xac", "€"},                                 //
}

// byteIDs maps bytes to the ids of their single-byte tokens (id == byte in
// nanochat vocabularies).
func byteIDs(b string) []int {
	ids := make([]int, len(b))
	for i := range len(b) {
		ids[i] = int(b[i])
	}
	return ids
}

func TestDecodeReplace(t *testing.T) {
	tok := fixtureTokenizer(t)
	check := func(in []byte, want string) {
		t.Helper()
		if got := tok.Decode(byteIDs(string(in))); got != want {
			t.Errorf("Decode(% x) = %+q, want %+q", in, got, want)
		}
		if got, _ := appendReplacing(nil, in, true); string(got) != want {
			t.Errorf("appendReplacing(% x) = %+q, want %+q", in, got, want)
		}
	}
	for _, c := range pythonReplace {
		check([]byte(c.in), c.want)
	}
	v := loadVectors(t)
	for _, c := range v.DecodeReplace {
		b, err := hex.DecodeString(c.Hex)
		if err != nil {
			t.Fatal(err)
		}
		check(b, c.Text)
	}
}

func TestDecodeSpecialsAndUnknown(t *testing.T) {
	tok := fixtureTokenizer(t)
	c := tok.ChatTokens()
	if got, want := tok.Decode([]int{c.BOS, 'h', 'i', c.AssistantEnd}), "<|bos|>hi<|assistant_end|>"; got != want {
		t.Errorf("Decode = %q, want %q", got, want)
	}
	if got, want := string(tok.TokenBytes(c.UserStart)), "<|user_start|>"; got != want {
		t.Errorf("TokenBytes(UserStart) = %q, want %q", got, want)
	}
	if got := tok.TokenBytes(tok.VocabSize()); got != nil {
		t.Errorf("TokenBytes(VocabSize()) = %q, want nil", got)
	}
	if got, want := tok.Decode([]int{'a', -1, tok.VocabSize(), 'b'}), "a\ufffd\ufffdb"; got != want {
		t.Errorf("Decode with unknown ids = %q, want %q", got, want)
	}
}

// randomIDs returns ids of the real vocabulary, biased towards tokens that
// are not valid UTF-8 on their own (pieces of multi-byte characters).
func randomIDs(rng *rand.Rand, tok *Tokenizer, n int) []int {
	var partial []int
	for id := range tok.VocabSize() {
		if !utf8.ValidString(tok.tokens[id]) {
			partial = append(partial, id)
		}
	}
	ids := make([]int, n)
	for i := range ids {
		if rng.IntN(2) == 0 && len(partial) > 0 {
			ids[i] = partial[rng.IntN(len(partial))]
		} else {
			ids[i] = rng.IntN(tok.VocabSize())
		}
	}
	return ids
}

func TestStreamDecoder(t *testing.T) {
	tok := fixtureTokenizer(t)
	rng := rand.New(rand.NewPCG(3, 4))
	texts := []string{"café 中文 🤖 ñ", "Emoji: 🤖🚀👍🏽 👨\u200d👩\u200d👧", "naïve — “quotes” …"}
	var seqs [][]int
	for _, s := range texts {
		seqs = append(seqs, tok.Encode(s))
		// Chunks that split multi-byte characters: one id per byte.
		seqs = append(seqs, byteIDs(s))
		seqs = append(seqs, byteIDs(s[:len(s)-1]))
	}
	for range 500 {
		seqs = append(seqs, randomIDs(rng, tok, 1+rng.IntN(40)))
	}
	d := NewStreamDecoder(tok)
	for _, ids := range seqs {
		var sb strings.Builder
		for _, id := range ids {
			out := d.Push(id)
			if !utf8.ValidString(out) {
				t.Fatalf("ids %v: Push(%d) = %+q, not whole characters", ids, id, out)
			}
			if d.Pending() > 3 {
				t.Fatalf("ids %v: %d bytes held back", ids, d.Pending())
			}
			sb.WriteString(out)
		}
		sb.WriteString(d.Flush())
		if got, want := sb.String(), tok.Decode(ids); got != want {
			t.Fatalf("ids %v: streamed %+q, Decode %+q", ids, got, want)
		}
		if d.Pending() != 0 {
			t.Fatalf("Pending() = %d after Flush", d.Pending())
		}
	}
}

// TestStreamHoldsPartial checks the hold-back itself: "€" = E2 82 AC pushed
// byte by byte comes out only when complete.
func TestStreamHoldsPartial(t *testing.T) {
	tok := fixtureTokenizer(t)
	d := NewStreamDecoder(tok)
	for i, want := range []string{"", "", "€", "", "\ufffda"} {
		id := []int{0xE2, 0x82, 0xAC, 0xF0, 'a'}[i]
		if got := d.Push(id); got != want {
			t.Errorf("Push #%d (0x%02x) = %+q, want %+q", i, id, got, want)
		}
	}
	d.Push(0xF0)
	d.Push(0x90)
	if got, want := d.Flush(), "\ufffd"; got != want {
		t.Errorf("Flush() = %+q, want %+q", got, want)
	}
}
