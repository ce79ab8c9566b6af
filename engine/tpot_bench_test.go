package engine_test

import (
	"context"
	"fmt"
	"os"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/nanochat-go/nanochat/engine"
	"github.com/nanochat-go/nanochat/model"
)

// BenchmarkTPOTDuringLongPrompt measures what a long prompt arriving costs
// the streams already decoding: 4 streams decode on the d20 shape (random
// bf16 weights; NANOCHAT_BENCH_SHAPE picks another) when a 2,000-token
// prompt arrives; it reports the streams' mean and worst time per output
// token while that prompt is prefilled, and the new request's TTFT.
//
//	chunk=2048: the whole prompt in one step, as the loop before continuous
//	            prefill did (decode stalls for the whole prefill)
//	chunk=128:  the engine's default, prompt chunks interleaved with decode
//
// Run: go test ./engine -run '^$' -bench TPOTDuringLongPrompt -benchtime 1x -timeout 60m
func BenchmarkTPOTDuringLongPrompt(b *testing.B) {
	shape := os.Getenv("NANOCHAT_BENCH_SHAPE")
	if shape == "" {
		shape = "d20"
	}
	cfg, gen, err := model.Shape(shape)
	if err != nil {
		b.Fatal(err)
	}
	m, err := model.NewRandom(cfg, gen, model.BF16, 1)
	if err != nil {
		b.Fatal(err)
	}
	be := engine.CPU(m, "cpu")
	defer be.Close()
	const streams, promptLen = 4, 2000
	for _, chunk := range []int{2048, 128} {
		b.Run(fmt.Sprintf("chunk=%d", chunk), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				mean, worst, ttft := tpotDuringPrompt(b, be, chunk, streams, promptLen, cfg.VocabSize)
				b.ReportMetric(mean.Seconds()*1e3, "tpot-ms")
				b.ReportMetric(worst.Seconds()*1e3, "worst-gap-ms")
				b.ReportMetric(ttft.Seconds(), "prompt-ttft-s")
			}
		})
	}
}

func tpotDuringPrompt(b *testing.B, be engine.Backend, chunk, streams, promptLen, vocab int) (mean, worst, ttft time.Duration) {
	e, err := engine.New(be, engine.Options{Rows: streams + 1, PrefillChunk: chunk,
		Specials: engine.Specials{BOS: -1, AssistantEnd: -1, PythonStart: -1, PythonEnd: -1, OutputStart: -1, OutputEnd: -1}})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	var window bool
	var gaps []time.Duration
	var wg sync.WaitGroup
	started := make(chan struct{}, streams)
	for s := 0; s < streams; s++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			last := time.Time{}
			e.Generate(ctx, engine.Request{Prompt: []int{1 + s, 2, 3}, MaxTokens: 1500}, func([]engine.Token) error {
				now := time.Now()
				mu.Lock()
				if window && !last.IsZero() {
					gaps = append(gaps, now.Sub(last))
				}
				mu.Unlock()
				if last.IsZero() {
					started <- struct{}{}
				}
				last = now
				return nil
			})
		}()
	}
	for s := 0; s < streams; s++ {
		<-started
	}
	prompt := make([]int, promptLen)
	for i := range prompt {
		prompt[i] = (i*7919 + 13) % vocab
	}
	mu.Lock()
	window = true
	mu.Unlock()
	st, err := e.Generate(ctx, engine.Request{Prompt: prompt, MaxTokens: 1}, func([]engine.Token) error {
		mu.Lock()
		window = false
		mu.Unlock()
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	cancel()
	wg.Wait()
	if len(gaps) == 0 {
		b.Fatal("no decode step finished while the prompt was prefilled")
	}
	sort.Slice(gaps, func(i, j int) bool { return gaps[i] < gaps[j] })
	var sum time.Duration
	for _, g := range gaps {
		sum += g
	}
	return sum / time.Duration(len(gaps)), gaps[len(gaps)-1], st.TTFT
}
