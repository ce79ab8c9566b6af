package tokenizer

import (
	"encoding/binary"
	"strings"
	"testing"
	"time"
)

// encodingPickle writes a protocol-3 pickle of a tiktoken Encoding, as
// tokenizer.pkl holds, with the 256 single bytes (ranks 0…255), the ranks
// in extra and the given special tokens.
func encodingPickle(extra map[string]int64, specials map[string]int64) []byte {
	var b []byte
	str := func(s string) {
		b = append(b, 'X')
		b = binary.LittleEndian.AppendUint32(b, uint32(len(s)))
		b = append(b, s...)
	}
	bytesOp := func(s []byte) {
		b = append(b, 'B')
		b = binary.LittleEndian.AppendUint32(b, uint32(len(s)))
		b = append(b, s...)
	}
	num := func(n int64) {
		b = append(b, 'J')
		b = binary.LittleEndian.AppendUint32(b, uint32(int32(n)))
	}
	b = append(b, 0x80, 3)
	b = append(b, "ctiktoken.core\nEncoding\n"...)
	b = append(b, ')', 0x81, '}', '(')
	str("name")
	str("fuzz")
	str("pat_str")
	str(PatternNanochat)
	str("mergeable_ranks")
	b = append(b, '}', '(')
	for c := range 256 {
		bytesOp([]byte{byte(c)})
		num(int64(c))
	}
	for s, r := range extra {
		bytesOp([]byte(s))
		num(r)
	}
	b = append(b, 'u')
	str("special_tokens")
	b = append(b, '}', '(')
	for name, id := range specials {
		str(name)
		num(id)
	}
	b = append(b, 'u', 'u', 'b', '.')
	return b
}

// chatSpecials gives nanochat's nine special tokens the ids from first on.
func chatSpecials(first int64) map[string]int64 {
	m := map[string]int64{}
	for i, name := range chatTokenNames {
		m[name] = first + int64(i)
	}
	return m
}

func TestEncodingPickleLoads(t *testing.T) {
	tok, err := decodePickle(encodingPickle(map[string]int64{"ab": 256}, chatSpecials(257)))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := tok.VocabSize(), 266; got != want {
		t.Fatalf("VocabSize() = %d, want %d", got, want)
	}
}

// Token ids size the tokenizer's tables (one entry per id up to the
// largest), so an id far beyond the vocabulary is an error naming it, not
// gigabytes of empty entries.
func TestSparseIDsRejected(t *testing.T) {
	for _, tc := range []struct {
		name     string
		extra    map[string]int64
		specials map[string]int64
		errHas   []string
	}{
		{"special id 2^31-2", nil, func() map[string]int64 {
			m := chatSpecials(256)
			m[OutputEndToken] = 1<<31 - 2
			return m
		}(), []string{"special_tokens", "2147483646", OutputEndToken}},
		{"rank 2^30", map[string]int64{"ab": 1 << 30}, chatSpecials(256), []string{"mergeable_ranks", "1073741824"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			within(t, 20*time.Second, func() {
				_, err := decodePickle(encodingPickle(tc.extra, tc.specials))
				if err == nil {
					t.Errorf("no error")
					return
				}
				for _, s := range tc.errHas {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not contain %q", err, s)
					}
				}
			})
		})
	}
	// A few unused ids (tiktoken's own encodings have some) are fine.
	if _, err := decodePickle(encodingPickle(map[string]int64{"ab": 300}, chatSpecials(400))); err != nil {
		t.Errorf("ids with small gaps: %v", err)
	}
}

// within runs fn and fails the test if it has not returned after d.
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
