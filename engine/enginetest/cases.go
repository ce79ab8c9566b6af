package enginetest

import (
	"context"
	"errors"
	"math"
	"slices"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/nanochat-go/nanochat/engine"
	"github.com/nanochat-go/nanochat/model/golden"
)

// goldenLogits: for every golden, upstream's logit rows from Forward of
// the sequence up to each of those positions, and the next-token log-probabilities at
// every position from Score.
func goldenLogits(t T, cfg Config) {
	for _, g := range goldens(t, cfg) {
		func() {
			b := open(t, cfg, g)
			defer b.Close()
			V := b.VocabSize()
			var ends []int
			for k := range g.LogitsRows {
				p, err := strconv.Atoi(k)
				if err != nil || p >= len(g.Tokens) {
					t.Fatalf("%s: logits_rows key %q", g.Variant, k)
				}
				ends = append(ends, p)
			}
			sort.Ints(ends)
			// One chunk per row asked for, as upstream's full forward: a
			// single-token chunk would be a decode step, where some
			// generations had quirks the goldens do not show.
			for _, p := range ends {
				c := newCache(t, b, 1, p+1)
				got := forward(t, b, c, chunk(0, g.Tokens[:p+1]))
				c.Close()
				want := make([]float32, V)
				for i, w := range g.LogitsRows[strconv.Itoa(p)] {
					want[i] = float32(w)
				}
				if worst, mean := diff(got, want); worst > cfg.MaxLogitDiff || mean > cfg.MeanLogitDiff || worst != worst {
					t.Errorf("%s: logits at position %d: max |Δ| %.3g, mean %.3g (tolerance %g, %g)",
						g.Variant, p, worst, mean, cfg.MaxLogitDiff, cfg.MeanLogitDiff)
				}
			}
			// Score's next-token log-probabilities against upstream's.
			s := newCache(t, b, 1, len(g.Tokens))
			defer s.Close()
			n := min(len(g.NextLogP), len(g.Tokens)-1)
			gather := make([][]int, n)
			for p := range gather {
				gather[p] = []int{g.Tokens[p+1]}
			}
			scored, err := s.Score(chunk(0, g.Tokens[:n]), gather, 0)
			if err != nil {
				t.Fatalf("%s: score: %v", g.Variant, err)
			}
			for p := 0; p < n; p++ {
				if d := math.Abs(scored[p].Gathered[0] - g.NextLogP[p]); d > cfg.MaxLogitDiff || d != d {
					t.Fatalf("%s: next-token logprob at %d: got %.6f, want %.6f", g.Variant, p, scored[p].Gathered[0], g.NextLogP[p])
				}
			}
		}()
	}
}

// greedyDecode prefills prompt into row r of c and decodes n tokens by
// argmax with single-token chunks, returning the tokens and margins.
func greedyDecode(t T, b engine.Backend, c engine.Cache, r int, prompt []int, n int) ([]int, []float64) {
	t.Helper()
	logits := forward(t, b, c, chunk(r, prompt))
	var toks []int
	var margins []float64
	for i := 0; i < n; i++ {
		tok, m := top2(logits)
		toks, margins = append(toks, tok), append(margins, m)
		if i+1 < n {
			logits = forward(t, b, c, chunk(r, []int{tok}))
		}
	}
	return toks, margins
}

// checkGreedy compares decoded tokens with upstream's greedy run up to the
// first near-tie.
func checkGreedy(t T, cfg Config, g golden.Case, got []int, margins []float64) {
	t.Helper()
	for i, want := range g.Greedy {
		if g.Margins[i] < cfg.MarginTol {
			return
		}
		if i >= len(got) {
			t.Fatalf("%s: %d greedy tokens, want %d", g.Variant, len(got), len(g.Greedy))
		}
		if got[i] != want {
			if margins[i] < cfg.MarginTol {
				return
			}
			t.Fatalf("%s: greedy step %d: got %d, want %d (tokens %v, want %v)", g.Variant, i, got[i], want, got, g.Greedy)
		}
	}
}

// greedyContinuation: prefill then single-token decode through the cache
// equals upstream's Engine.generate at temperature 0, for every golden.
func greedyContinuation(t T, cfg Config) {
	for _, g := range goldens(t, cfg) {
		func() {
			b := open(t, cfg, g)
			defer b.Close()
			c := newCache(t, b, 2, g.PromptLen+len(g.Greedy))
			defer c.Close()
			// Row 1, so a backend that ignores the row cannot pass.
			got, margins := greedyDecode(t, b, c, 1, g.Tokens[:g.PromptLen], len(g.Greedy))
			checkGreedy(t, cfg, g, got, margins)
		}()
	}
}

// mixedVariants have per-call state: smear (e_head), engram bigram with
// its decode quirk (a4b_engram), sliding windows (d_mar9).
var mixedVariants = []string{"e_head", "a4b_engram", "d_mar9"}

// mixedPositions: one Forward with rows at different positions and chunks
// of different lengths (decode tokens among prompt chunks), listed out of
// row order, an idle row left alone, equals each row fed alone.
func mixedPositions(t T, cfg Config) {
	for _, v := range mixedVariants {
		g := goldenCase(t, cfg, v)
		func() {
			b := open(t, cfg, g)
			defer b.Close()
			pre := []int{0, 37, 5, 80, 11} // row r holds pre[r] tokens first
			n := []int{50, 1, 13, 1, 0}    // then gets a chunk of n[r] (row 4 idles)
			seq := func(r int) []int { return g.Tokens[r*60 : r*60+pre[r]+n[r]] }
			c := newCache(t, b, len(pre), 200)
			defer c.Close()
			for r := range pre {
				if pre[r] > 0 {
					forward(t, b, c, chunk(r, seq(r)[:pre[r]]))
				}
			}
			chunks := []engine.Chunk{chunk(3, seq(3)[pre[3]:]), chunk(0, seq(0)), chunk(2, seq(2)[pre[2]:]), chunk(1, seq(1)[pre[1]:])}
			got := forward(t, b, c, chunks...)
			V := b.VocabSize()
			for j, ch := range chunks {
				r := ch.Row
				one := newCache(t, b, 1, 200)
				if pre[r] > 0 {
					forward(t, b, one, chunk(0, seq(r)[:pre[r]]))
				}
				want := forward(t, b, one, chunk(0, seq(r)[pre[r]:]))
				one.Close()
				same(t, cfg, v+": row "+strconv.Itoa(r)+" in a mixed step vs alone", got[j*V:(j+1)*V], want)
			}
			for r := range pre {
				if c.RowLen(r) != pre[r]+n[r] || !slices.Equal(c.Tokens(r), seq(r)) {
					t.Fatalf("%s: row %d: length %d tokens %v, want %d tokens %v", v, r, c.RowLen(r), c.Tokens(r), pre[r]+n[r], seq(r))
				}
			}
		}()
	}
}

// copyRow: a row copied into another cache, and into another row of the
// same cache, continues exactly like the original.
func copyRow(t T, cfg Config) {
	g := goldenCase(t, cfg, "e_head")
	b := open(t, cfg, g)
	defer b.Close()
	prompt, next := g.Tokens[:100], g.Tokens[100:130]
	src := newCache(t, b, 2, 200)
	defer src.Close()
	forward(t, b, src, chunk(1, prompt))
	want := forward(t, b, src, chunk(1, next))
	src.TruncateRow(1, len(prompt))

	dst := newCache(t, b, 3, 200)
	defer dst.Close()
	forward(t, b, dst, chunk(2, g.Tokens[300:320])) // stale content to overwrite
	if err := dst.CopyRow(2, src, 1); err != nil {
		t.Fatalf("copy row across caches: %v", err)
	}
	if err := dst.CopyRow(0, dst, 2); err != nil {
		t.Fatalf("copy row within a cache: %v", err)
	}
	for _, r := range []int{2, 0} {
		if dst.RowLen(r) != len(prompt) || !slices.Equal(dst.Tokens(r), prompt) {
			t.Fatalf("row %d after copy: length %d, want %d with the prompt's tokens", r, dst.RowLen(r), len(prompt))
		}
	}
	got := forward(t, b, dst, chunk(2, next), chunk(0, next))
	V := b.VocabSize()
	same(t, cfg, "copied row (other cache)", got[:V], want)
	same(t, cfg, "copied row (same cache)", got[V:], want)
	if dst.RowLen(1) != 0 {
		t.Fatalf("row 1 was never fed but holds %d tokens", dst.RowLen(1))
	}
}

// truncateRow: dropping a row's tail and feeding other tokens equals a row
// that only ever saw the kept prefix and the new tokens; other rows keep
// theirs.
func truncateRow(t T, cfg Config) {
	g := goldenCase(t, cfg, "d_mar9")
	b := open(t, cfg, g)
	defer b.Close()
	c := newCache(t, b, 2, 300)
	defer c.Close()
	forward(t, b, c, chunk(0, g.Tokens[:150]), chunk(1, g.Tokens[200:260]))
	if err := c.TruncateRow(0, 90); err != nil {
		t.Fatalf("truncate: %v", err)
	}
	if c.RowLen(0) != 90 || !slices.Equal(c.Tokens(0), g.Tokens[:90]) || c.RowLen(1) != 60 {
		t.Fatalf("after truncate: lengths %d, %d, want 90, 60", c.RowLen(0), c.RowLen(1))
	}
	fresh := g.Tokens[400:420]
	got := forward(t, b, c, chunk(0, fresh))
	one := newCache(t, b, 1, 300)
	defer one.Close()
	want := forward(t, b, one, chunk(0, append(slices.Clone(g.Tokens[:90]), fresh...)))
	same(t, cfg, "truncated then continued", got, want)
	if err := c.TruncateRow(0, 500); err == nil {
		t.Fatalf("truncating past the row's length: no error")
	}
}

// scoringMatchesLogSoftmax: Score's gathered log-probabilities and top-N
// equal the log-softmax of Forward's logits at the same positions, across
// the backend's internal chunk boundaries.
func scoringMatchesLogSoftmax(t T, cfg Config) {
	g := goldenCase(t, cfg, "e_head")
	b := open(t, cfg, g)
	defer b.Close()
	V := b.VocabSize()
	toks := g.Tokens[:300]
	gather := make([][]int, len(toks))
	for p := range gather {
		gather[p] = []int{toks[(p+1)%len(toks)], 7, 0}
	}
	s := newCache(t, b, 1, len(toks))
	defer s.Close()
	scored, err := s.Score(chunk(0, toks), gather, 5)
	if err != nil {
		t.Fatalf("score: %v", err)
	}
	if len(scored) != len(toks) || s.RowLen(0) != len(toks) {
		t.Fatalf("score: %d positions, row length %d, want %d", len(scored), s.RowLen(0), len(toks))
	}
	c := newCache(t, b, 1, len(toks))
	defer c.Close()
	for p, probe := range []int{0, 1, 127, 128, 129, 255, 256, 299} {
		from := 0
		if p > 0 {
			from = []int{0, 1, 127, 128, 129, 255, 256, 299}[p-1] + 1
		}
		row := forward(t, b, c, chunk(0, toks[from:probe+1]))
		lse := 0.0
		mx := math.Inf(-1)
		for _, v := range row[:V] {
			mx = math.Max(mx, float64(v))
		}
		for _, v := range row[:V] {
			lse += math.Exp(float64(v) - mx)
		}
		lse = mx + math.Log(lse)
		for k, id := range gather[probe] {
			want := float64(row[id]) - lse
			if d := math.Abs(scored[probe].Gathered[k] - want); d > cfg.sameTol() || d != d {
				t.Fatalf("position %d id %d: Score %.6f, log-softmax of Forward %.6f", probe, id, scored[probe].Gathered[k], want)
			}
		}
		top := scored[probe].Top
		if len(top) != 5 {
			t.Fatalf("position %d: %d top entries, want 5", probe, len(top))
		}
		for i := range top {
			if want := float64(row[top[i].ID]) - lse; math.Abs(top[i].Logprob-want) > cfg.sameTol() {
				t.Fatalf("position %d: top %d id %d logprob %.6f, want %.6f", probe, i, top[i].ID, top[i].Logprob, want)
			}
			if i > 0 && top[i].Logprob > top[i-1].Logprob {
				t.Fatalf("position %d: top not descending: %+v", probe, top)
			}
		}
		if best, margin := top2(row); margin > cfg.MarginTol && top[0].ID != best {
			t.Fatalf("position %d: top id %d, argmax of Forward %d", probe, top[0].ID, best)
		}
	}
}

// countingBackend wraps a backend and calls onForward before every Forward
// of its caches.
type countingBackend struct {
	engine.Backend
	onForward func()
}

func (b countingBackend) NewCache(rows, maxLen int) (engine.Cache, error) {
	c, err := b.Backend.NewCache(rows, maxLen)
	if err != nil {
		return nil, err
	}
	return countingCache{c, b.onForward}, nil
}

type countingCache struct {
	engine.Cache
	onForward func()
}

func (c countingCache) Forward(chunks []engine.Chunk, logits []float32) error {
	c.onForward()
	return c.Cache.Forward(chunks, logits)
}

func (c countingCache) CopyRow(dst int, src engine.Cache, srcRow int) error {
	if s, ok := src.(countingCache); ok {
		src = s.Cache
	}
	return c.Cache.CopyRow(dst, src, srcRow)
}

// cancelMidPrefill: a generation cancelled while its prompt is being fed
// stops within one chunk, leaves its row holding a consistent prefix of the
// prompt, and the next request for the same prompt reuses that prefix and
// generates upstream's greedy tokens.
func cancelMidPrefill(t T, cfg Config) {
	g := goldenCase(t, cfg, "e_head")
	b := open(t, cfg, g)
	defer b.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var calls atomic.Int64
	cb := countingBackend{b, func() {
		if calls.Add(1) == 3 {
			cancel()
		}
	}}
	e, err := engine.New(cb, engine.Options{PrefillChunk: 64, Specials: engine.Specials{
		BOS: -1, AssistantEnd: -1, PythonStart: -1, PythonEnd: -1, OutputStart: -1, OutputEnd: -1}})
	if err != nil {
		t.Fatalf("engine: %v", err)
	}
	defer e.Close()
	prompt := g.Tokens[:g.PromptLen] // 560 tokens: 9 chunks of 64
	st, err := e.Generate(ctx, engine.Request{Prompt: prompt, MaxTokens: len(g.Greedy)}, func([]engine.Token) error { return nil })
	if !errors.Is(err, context.Canceled) || st.Generated != 0 {
		t.Fatalf("cancelled prefill: %s after %d tokens, want context.Canceled before any", errString(err), st.Generated)
	}
	if n := calls.Load(); n > 4 {
		t.Fatalf("%d forwards ran; the prefill should stop within a chunk of the cancel (≤ 4)", n)
	}
	var got []int
	st, err = e.Generate(context.Background(), engine.Request{Prompt: prompt, MaxTokens: len(g.Greedy)}, func(col []engine.Token) error {
		got = append(got, col[0].ID)
		return nil
	})
	if err != nil {
		t.Fatalf("generate after cancel: %v", err)
	}
	if st.CachedTokens < 64 || st.CachedTokens%64 != 0 {
		t.Fatalf("after cancel: %d prompt tokens reused, want the chunks fed before it (a multiple of 64)", st.CachedTokens)
	}
	margins := make([]float64, len(got))
	for i := range margins {
		margins[i] = math.Inf(1)
	}
	checkGreedy(t, cfg, g, got, margins)
}

// closeReleases: an open cache counts in Allocated, closing it gives the
// memory back at once, and closing the backend releases everything.
func closeReleases(t T, cfg Config) {
	g := goldenCase(t, cfg, "e_head")
	b := open(t, cfg, g)
	base := b.Allocated()
	c := newCache(t, b, 4, 512)
	forward(t, b, c, chunk(0, g.Tokens[:100]))
	if b.Allocated() <= base {
		t.Fatalf("Allocated %d with a 4×512 cache open, want more than the %d before", b.Allocated(), base)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("close cache: %v", err)
	}
	if b.Allocated() != base {
		t.Fatalf("Allocated %d after closing the cache, want %d", b.Allocated(), base)
	}
	newCache(t, b, 2, 256) // left open: Close must free it
	if err := b.Close(); err != nil {
		t.Fatalf("close backend: %v", err)
	}
	if b.Allocated() != 0 {
		t.Fatalf("Allocated %d after closing the backend, want 0", b.Allocated())
	}
}

// useAfterClose: every call on a closed cache or on a cache of a closed
// backend fails with ErrClosed; closing twice is harmless.
func useAfterClose(t T, cfg Config) {
	g := goldenCase(t, cfg, "e_head")
	b := open(t, cfg, g)
	c := newCache(t, b, 2, 64)
	other := newCache(t, b, 2, 64)
	forward(t, b, c, chunk(0, g.Tokens[:10]))
	forward(t, b, other, chunk(0, g.Tokens[:10]))
	c.Close()
	if err := c.Close(); err != nil {
		t.Fatalf("second cache close: %v", err)
	}
	logits := make([]float32, b.VocabSize())
	check := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, engine.ErrClosed) {
			t.Fatalf("%s: %s, want an error wrapping ErrClosed", what, errString(err))
		}
	}
	check("forward on a closed cache", c.Forward([]engine.Chunk{chunk(0, g.Tokens[10:11])}, logits))
	_, err := c.Score(chunk(1, g.Tokens[:3]), nil, 1)
	check("score on a closed cache", err)
	check("truncate on a closed cache", c.TruncateRow(0, 1))
	check("copy into a closed cache", c.CopyRow(1, other, 0))
	check("copy from a closed cache", other.CopyRow(1, c, 0))
	if err := b.Close(); err != nil {
		t.Fatalf("close backend: %v", err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("second backend close: %v", err)
	}
	check("forward after the backend closed", other.Forward([]engine.Chunk{chunk(0, g.Tokens[10:11])}, logits))
	_, err = b.NewCache(1, 8)
	check("new cache after the backend closed", err)
}

// concurrentCallers: goroutines decoding on caches of their own at once
// get exactly what each gets alone.
func concurrentCallers(t T, cfg Config) {
	g := goldenCase(t, cfg, "e_head")
	b := open(t, cfg, g)
	defer b.Close()
	const callers, steps = 4, 24
	prompt := func(i int) []int { return g.Tokens[i*100 : i*100+60] }
	alone := make([][]int, callers)
	for i := range alone {
		c := newCache(t, b, 1, 100)
		alone[i], _ = greedyDecode(t, b, c, 0, prompt(i), steps)
		c.Close()
	}
	together := make([][]int, callers)
	errs := make([]error, callers)
	var wg sync.WaitGroup
	for i := 0; i < callers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := b.NewCache(1, 100)
			if err != nil {
				errs[i] = err
				return
			}
			defer c.Close()
			logits := make([]float32, b.VocabSize())
			toks := prompt(i)
			for s := 0; s < steps; s++ {
				if err := c.Forward([]engine.Chunk{chunk(0, toks)}, logits); err != nil {
					errs[i] = err
					return
				}
				tok, _ := top2(logits)
				together[i] = append(together[i], tok)
				toks = []int{tok}
			}
		}()
	}
	wg.Wait()
	for i := range together {
		if errs[i] != nil {
			t.Fatalf("caller %d: %v", i, errs[i])
		}
		if !slices.Equal(together[i], alone[i]) {
			t.Fatalf("caller %d: concurrently %v, alone %v", i, together[i], alone[i])
		}
	}
}
