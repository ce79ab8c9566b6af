package tokenizer

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// refMerge is the textbook loop the spec describes: merge the adjacent pair
// with the lowest rank of its concatenation, leftmost on ties.
func refMerge(ranks map[string]int, piece string) []int {
	var parts []string
	for i := range len(piece) {
		parts = append(parts, piece[i:i+1])
	}
	for {
		best, at := noRank, -1
		for i := 0; i+1 < len(parts); i++ {
			if r, ok := ranks[parts[i]+parts[i+1]]; ok && r < best {
				best, at = r, i
			}
		}
		if at < 0 {
			break
		}
		parts[at] += parts[at+1]
		parts = slices.Delete(parts, at+1, at+2)
	}
	ids := make([]int, len(parts))
	for i, p := range parts {
		ids[i] = ranks[p]
	}
	return ids
}

// randomVocab builds a vocabulary with many overlapping merges over a small
// alphabet, so that ties and long merge chains are common. Single bytes get
// shuffled ranks (as in cl100k_base, where id != byte).
func randomVocab(t *testing.T, rng *rand.Rand, size int) *Tokenizer {
	t.Helper()
	ranks := map[string]int{}
	var toks []string
	for c, r := range rng.Perm(256) {
		ranks[string([]byte{byte(c)})] = r
	}
	alpha := []string{"a", "b", "c", " "}
	toks = append(toks, alpha...)
	for len(ranks) < size {
		s := toks[rng.IntN(len(toks))] + toks[rng.IntN(len(toks))]
		if _, ok := ranks[s]; !ok {
			ranks[s] = len(ranks)
			toks = append(toks, s)
		}
	}
	specials := map[string]int{}
	for i, name := range chatTokenNames {
		specials[name] = size + i
	}
	tok, err := build(PatternNanochat, ranks, specials)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestMergeMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	synth := randomVocab(t, rng, 600)
	real := fixtureTokenizer(t)
	var scratch []part
	for _, tok := range []*Tokenizer{synth, real} {
		for i := range 1000 {
			n := 2 + rng.IntN(120)
			if i%50 == 0 {
				n = 100 + rng.IntN(500)
			}
			var sb strings.Builder
			alpha := "abc "
			if tok == real {
				alpha = "aeinst "
			}
			for range n {
				sb.WriteByte(alpha[rng.IntN(len(alpha))])
			}
			if i%7 == 0 { // long runs of one byte: all ties
				sb.WriteString(strings.Repeat("a", rng.IntN(300)))
			}
			piece := sb.String()
			want := refMerge(tok.ranks, piece)
			if got := tok.mergeLarge(nil, piece); !slices.Equal(got, want) {
				t.Fatalf("mergeLarge(%q)\n got %v\nwant %v", piece, got, want)
			}
			if got := tok.mergeSmall(nil, piece, &scratch); !slices.Equal(got, want) {
				t.Fatalf("mergeSmall(%q)\n got %v\nwant %v", piece, got, want)
			}
		}
	}
}

// TestEncodeMatchesReference runs whole encodings on the synthetic
// vocabulary: split, whole-piece shortcut, then the reference merge.
func TestEncodeMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	tok := randomVocab(t, rng, 800)
	const alpha = "abc  \n1'x"
	for range 2000 {
		b := make([]byte, rng.IntN(80))
		for i := range b {
			b[i] = alpha[rng.IntN(len(alpha))]
		}
		s := string(b)
		var want []int
		for _, p := range tok.Split(s) {
			if r, ok := tok.ranks[p]; ok {
				want = append(want, r)
			} else {
				want = append(want, refMerge(tok.ranks, p)...)
			}
		}
		if got := tok.Encode(s); !slices.Equal(got, want) {
			t.Fatalf("Encode(%q)\n got %v\nwant %v", s, got, want)
		}
		if got := tok.Decode(want); got != s {
			t.Fatalf("Decode(Encode(%q)) = %q", s, got)
		}
	}
}

// TestWholePieceShortcut: a piece that is itself a token is emitted whole,
// even where merging its bytes would reach a different segmentation.
func TestWholePieceShortcut(t *testing.T) {
	ranks := map[string]int{}
	for c := range 256 {
		ranks[string([]byte{byte(c)})] = c
	}
	// No pair of "abc" is a token, so merging cannot reach "abc".
	ranks["abc"] = 256
	specials := map[string]int{}
	for i, name := range chatTokenNames {
		specials[name] = 300 + i
	}
	tok, err := build(PatternNanochat, ranks, specials)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := tok.Encode("abc"), []int{256}; !slices.Equal(got, want) {
		t.Errorf("Encode(abc) = %v, want %v", got, want)
	}
	if got, want := tok.Encode("abcc"), []int{'a', 'b', 'c', 'c'}; !slices.Equal(got, want) {
		t.Errorf("Encode(abcc) = %v, want %v", got, want)
	}
}

// TestHugePieces encodes megabytes of white space and letters, which are
// single pieces; a quadratic merge would take minutes.
func TestHugePieces(t *testing.T) {
	tok := fixtureTokenizer(t)
	for _, s := range []string{
		strings.Repeat(" ", 1<<19) + "x",
		strings.Repeat("ab", 1<<19),
		"x" + strings.Repeat("\n", 1<<19),
	} {
		start := time.Now()
		ids := tok.Encode(s)
		if d := time.Since(start); d > 20*time.Second {
			t.Errorf("Encode of %d bytes took %v", len(s), d)
		}
		if got := tok.Decode(ids); got != s {
			t.Errorf("Decode(Encode(%d bytes)) differs", len(s))
		}
	}
}
