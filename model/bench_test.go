package model

import (
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkDecodeD20 is one batch-1 decode step of a random d20-shaped
// model at context 512, with bf16 and int8 weights: the number `nanochat
// bench` reports as TPOT, without the rest of the command around it. Set
// NANOCHAT_BENCH_SHAPE to try another shape.
func BenchmarkDecodeD20(b *testing.B) {
	shape := os.Getenv("NANOCHAT_BENCH_SHAPE")
	if shape == "" {
		shape = "d20"
	}
	cfg, gen, err := Shape(shape)
	if err != nil {
		b.Fatal(err)
	}
	for _, prec := range []Precision{BF16, Int8} {
		b.Run(prec.String(), func(b *testing.B) {
			m, err := NewRandom(cfg, gen, prec, 1)
			if err != nil {
				b.Fatal(err)
			}
			defer m.Close()
			const ctx = 512
			c, _ := m.NewCache(1, ctx+1)
			prompt := make([]int, ctx)
			for i := range prompt {
				prompt[i] = (i * 7919) % cfg.VocabSize
			}
			logits := make([]float32, cfg.VocabSize)
			if err := m.Forward(c, []Chunk{{0, prompt}}, logits, false); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(m.WeightBytes())
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				c.TruncateRow(0, ctx)
				if err := m.Forward(c, []Chunk{{0, []int{i % cfg.VocabSize}}}, logits, false); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkLoad loads the demo checkpoint (testdata/demo/home, 7.4 MB)
// with the weights copied (the default) and kept in the mapping
// (Options.Mmap), at both precisions: the B/op difference is the memory
// the copy costs, the ns/op difference its time. Set NANOCHAT_BENCH_CHECKPOINT
// to load another model_<step>.pt.
func BenchmarkLoad(b *testing.B) {
	path := os.Getenv("NANOCHAT_BENCH_CHECKPOINT")
	if path == "" {
		path = filepath.Join("..", "testdata", "demo", "home", "chatsft_checkpoints", "d4", "model_001514.pt")
	}
	for _, prec := range []Precision{Exact, BF16} {
		for _, mmap := range []bool{false, true} {
			name := prec.String() + "/copy"
			if mmap {
				name = prec.String() + "/mmap"
			}
			b.Run(name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					m, err := Load(path, Options{Precision: prec, Mmap: mmap})
					if err != nil {
						b.Fatal(err)
					}
					m.Close()
				}
			})
		}
	}
}
