package perf

import (
	"math"
	"testing"
	"testing/fstest"
	"time"

	"github.com/nanochat-go/nanochat/model"
)

// tiny is a two-layer shape small enough to account by hand: layer 0 has
// a window of 2 (a query sees at most 3 keys), layer 1 none; a KV entry
// (key + value of one token in one layer) is 2·4·2 = 16 bytes in bf16.
func tiny() Shape {
	return Shape{Layers: 2, QDim: 8, KVDim: 4, Windows: []int{2, -1},
		BodyParams: 100, HeadParams: 50, WeightBytes: 300, KVElemBytes: 2}
}

func TestPrefillByHand(t *testing.T) {
	tests := []struct {
		name          string
		s             func() Shape
		chunk         int
		calls         int
		flops, bytes  int64
		flopsPerToken float64
	}{
		// 5 tokens, one call. Keys per position: layer 0 1,2,3,3,3 (12),
		// layer 1 1..5 (15). FLOPs: body 2·100·5 = 1000, lm_head once
		// 2·50 = 100, attention 4·8·(12+15) = 864. Bytes: weights 300 +
		// 5 tokens·2 layers·16 written = 160.
		{"one call", tiny, 0, 1, 1964, 460, 1964.0 / 5},
		{"chunk ≥ prompt is one call", tiny, 9, 1, 1964, 460, 1964.0 / 5},
		// Chunks [0,1] [2,3] [4]: lm_head 3 times (+200 FLOPs), weights read
		// 3 times (900); the call at 2 reaches back min(2,2)+2 = 4 entries,
		// the call at 4 min(4,2)+4 = 6: (4+6)·16 = 160 more bytes.
		{"chunks of 2", tiny, 2, 3, 2164, 900 + 160 + 160, 2164.0 / 5},
		// fp32 cache: entries are 32 bytes, FLOPs unchanged.
		{"fp32 cache", func() Shape { s := tiny(); s.KVElemBytes = 4; return s }, 0, 1, 1964, 300 + 320, 1964.0 / 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := Account(tt.s(), Run{Prompt: 5, PrefillChunk: tt.chunk, PrefillTime: 2 * time.Second},
				Peaks{Bandwidth: 100, FLOPS: 1000})
			if f.PrefillCalls != tt.calls || f.PrefillFLOPs != tt.flops || f.PrefillBytes != tt.bytes {
				t.Errorf("calls, FLOPs, bytes = %d, %d, %d; want %d, %d, %d",
					f.PrefillCalls, f.PrefillFLOPs, f.PrefillBytes, tt.calls, tt.flops, tt.bytes)
			}
			if f.PrefillFLOPsPerToken != tt.flopsPerToken {
				t.Errorf("FLOPs per token = %g, want %g", f.PrefillFLOPsPerToken, tt.flopsPerToken)
			}
			if want := 100 * float64(tt.flops) / 2 / 1000; !near(f.PrefillMFU, want) {
				t.Errorf("MFU = %g%%, want %g%%", f.PrefillMFU, want)
			}
			if want := 100 * float64(tt.bytes) / 2 / 100; !near(f.PrefillMBU, want) {
				t.Errorf("MBU = %g%%, want %g%%", f.PrefillMBU, want)
			}
			if f.PrefillTokPerSec != 2.5 {
				t.Errorf("tok/s = %g, want 2.5", f.PrefillTokPerSec)
			}
		})
	}
}

func TestDecodeByHand(t *testing.T) {
	// 3 rows, 2 steps after a 5-token prompt: positions 5 and 6. Keys:
	// layer 0 3 and 3 (window 2), layer 1 6 and 7.
	// FLOPs per row: p=5 2·100+2·50+4·8·(3+6) = 588, p=6 300+32·10 = 620.
	// Bytes: p=5 300+3·16·9 = 732, p=6 300+3·16·10 = 780.
	r := Run{Prompt: 5, Batch: 3, DecodeSteps: 2, DecodeTime: 4 * time.Second}
	p := Peaks{Bandwidth: 1000, FLOPS: 10000}
	f := Account(tiny(), r, p)
	if f.DecodeFLOPs != 3*(588+620) || f.DecodeBytes != 732+780 {
		t.Fatalf("FLOPs, bytes = %d, %d; want %d, %d", f.DecodeFLOPs, f.DecodeBytes, 3*(588+620), 732+780)
	}
	if f.DecodeFLOPsPerToken != 604 || f.DecodeBytesPerStep != 756 || f.DecodeBytesPerToken != 252 {
		t.Errorf("per token FLOPs, per step bytes, per token bytes = %g, %g, %g; want 604, 756, 252",
			f.DecodeFLOPsPerToken, f.DecodeBytesPerStep, f.DecodeBytesPerToken)
	}
	if f.TPOT != 2 || f.DecodeTokPerSec != 1.5 {
		t.Errorf("TPOT, tok/s = %g s, %g; want 2 s, 1.5", f.TPOT, f.DecodeTokPerSec)
	}
	// Roofline per step: max(756/1000, 3·604/10000) = 0.756 s for 3 tokens.
	if want := 3 / 0.756; !near(f.CeilingTokPerSec, want) {
		t.Errorf("ceiling = %g tok/s, want %g", f.CeilingTokPerSec, want)
	}

	// Nanochat's old decode fallback attends to (and reads) every key in
	// layer 0 too: FLOPs p=5 300+32·(6+6) = 684, p=6 300+32·(7+7) = 748;
	// bytes p=5 300+3·16·12 = 876, p=6 300+3·16·14 = 972.
	s := tiny()
	s.DecodeFullWindow = true
	if g := Account(s, r, p); g.DecodeFLOPs != 3*(684+748) || g.DecodeBytes != 876+972 {
		t.Errorf("full-window decode: FLOPs, bytes = %d, %d; want %d, %d", g.DecodeFLOPs, g.DecodeBytes, 3*(684+748), 876+972)
	}
	// fp32 cache: the KV part doubles (3·16·9 → 3·32·9).
	s = tiny()
	s.KVElemBytes = 4
	if g := Account(s, r, p); g.DecodeBytes != 300+3*32*9+300+3*32*10 {
		t.Errorf("fp32 decode bytes = %d, want %d", g.DecodeBytes, 300+3*32*9+300+3*32*10)
	}
}

// TestRatesShareOneTime checks tok/s, MBU and MFU describe the same mean
// step: MBU = bytes per step / TPOT / bandwidth and MFU = tok/s · FLOPs
// per token / peak.
func TestRatesShareOneTime(t *testing.T) {
	p := Peaks{Bandwidth: 3e10, FLOPS: 2e11}
	for _, r := range []Run{
		{Prompt: 7, Batch: 1, DecodeSteps: 31, DecodeTime: 1234 * time.Millisecond},
		{Prompt: 100, Batch: 8, DecodeSteps: 5, DecodeTime: 77 * time.Millisecond},
	} {
		f := Account(tiny(), r, p)
		tpot := r.DecodeTime.Seconds() / float64(r.DecodeSteps)
		if want := float64(r.Batch) / tpot; !near(f.DecodeTokPerSec, want) {
			t.Errorf("batch %d: tok/s = %g, want Batch/TPOT = %g", r.Batch, f.DecodeTokPerSec, want)
		}
		if want := 100 * f.DecodeBytesPerStep / tpot / p.Bandwidth; !near(f.DecodeMBU, want) {
			t.Errorf("batch %d: MBU = %g, want %g", r.Batch, f.DecodeMBU, want)
		}
		if want := 100 * f.DecodeTokPerSec * f.DecodeFLOPsPerToken / p.FLOPS; !near(f.DecodeMFU, want) {
			t.Errorf("batch %d: MFU = %g, want %g", r.Batch, f.DecodeMFU, want)
		}
	}
	// Prefill MFU against both peaks: the same FLOPs over the same time.
	pre := Run{Prompt: 64, PrefillTime: 250 * time.Millisecond}
	f := Account(tiny(), pre, Peaks{FLOPS: 2e9, BF16FLOPS: 5e9})
	rate := float64(f.PrefillFLOPs) / pre.PrefillTime.Seconds()
	if !near(f.PrefillMFU, 100*rate/2e9) || !near(f.PrefillMFUBF16, 100*rate/5e9) {
		t.Errorf("prefill MFU %g (fp32) %g (bf16 dot), want %g %g", f.PrefillMFU, f.PrefillMFUBF16, 100*rate/2e9, 100*rate/5e9)
	}
	if g := Account(tiny(), pre, Peaks{FLOPS: 2e9}); g.PrefillMFUBF16 != 0 {
		t.Errorf("no bf16 dot peak: prefill MFU %g of it, want 0", g.PrefillMFUBF16)
	}
	// Unknown peaks (a GPU here): no utilisation, no ceiling.
	f = Account(tiny(), Run{Prompt: 5, Batch: 1, DecodeSteps: 2, DecodeTime: time.Second, PrefillTime: time.Second}, Peaks{})
	if f.DecodeMBU != 0 || f.DecodeMFU != 0 || f.PrefillMFU != 0 || f.CeilingTokPerSec != 0 || f.DecodeTokPerSec != 2 {
		t.Errorf("no peaks: MBU %g MFU %g prefill MFU %g ceiling %g tok/s %g; want 0 0 0 0 2",
			f.DecodeMBU, f.DecodeMFU, f.PrefillMFU, f.CeilingTokPerSec, f.DecodeTokPerSec)
	}
}

func TestLLCNote(t *testing.T) {
	s := tiny()
	s.WeightBytes = 7 << 20
	f := Account(s, Run{}, Peaks{LLCLevel: 3, LLCBytes: 32 << 20})
	if want := "weights 7.0 MiB fit in the 32 MiB L3 cache: bandwidth is not the limit"; !f.WeightsFitLLC || f.Note() != want {
		t.Errorf("note = %q (fit %v), want %q", f.Note(), f.WeightsFitLLC, want)
	}
	s.WeightBytes = 900 << 20
	if f := Account(s, Run{}, Peaks{LLCLevel: 3, LLCBytes: 32 << 20}); f.WeightsFitLLC || f.Note() != "" {
		t.Errorf("900 MiB of weights: note %q, want none", f.Note())
	}
	if f := Account(tiny(), Run{}, Peaks{}); f.WeightsFitLLC {
		t.Errorf("unknown LLC: weights reported to fit")
	}
}

func TestKeySum(t *testing.T) {
	for _, w := range []int{-1, 0, 1, 3, 10} {
		for p0 := 0; p0 < 12; p0++ {
			for n := 0; n < 12; n++ {
				var want int64
				for p := p0; p < p0+n; p++ {
					k := p + 1
					if w >= 0 {
						k = min(p, w) + 1
					}
					want += int64(k)
				}
				if got := keySum(p0, n, w); got != want {
					t.Fatalf("keySum(%d, %d, %d) = %d, want %d", p0, n, w, got, want)
				}
			}
		}
	}
}

// TestShapeOf checks the shape read from a model against the matrices it
// is built from: per layer q [32,32], k and v [16,32], proj [32,32], fc
// [128,32], mlp proj [32,128]; lm_head [128 (vocab 100 padded), 32].
func TestShapeOf(t *testing.T) {
	cfg := model.Config{SequenceLen: 1024, VocabSize: 100, NLayer: 2, NHead: 2, NKVHead: 1, NEmbd: 32}
	const body, head = 2 * (1024 + 512 + 512 + 1024 + 4096 + 4096), 128 * 32
	tests := []struct {
		name    string
		gen     string
		pattern string
		prec    model.Precision // the model's
		held    model.Precision // the backend's
		body    int64
		bytes   int64
		kvElem  int64
		windows []int
	}{
		{"A0 bf16", "A0", "", model.BF16, model.BF16, body, 2 * (body + head), 2, []int{1024, 1024}},
		{"A0 exact", "A0", "", model.Exact, model.Exact, body, 4 * (body + head), 4, []int{1024, 1024}},
		// An exact model on a backend that holds everything in bf16 (CUDA).
		{"A0 exact held bf16", "A0", "", model.Exact, model.BF16, body, 2 * (body + head), 2, []int{1024, 1024}},
		// A7 with SSSL: short window ⌈⌈1024/4⌉/128⌉·128 = 256, the last layer
		// long; layer 1 has a value-embedding gate [1, 12] and the smear gate
		// adds 24 (both counted as matmul FLOPs, neither in the bytes).
		{"A7 windows", "A7", "SSSL", model.BF16, model.BF16, body + 12 + 24, 2 * (body + head), 2, []int{256, 1024}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := cfg
			c.WindowPattern = tt.pattern
			m, err := model.NewRandom(c, tt.gen, tt.prec, 1)
			if err != nil {
				t.Fatal(err)
			}
			s := ShapeOf(m, tt.held)
			if s.Layers != 2 || s.QDim != 32 || s.KVDim != 16 || s.BodyParams != tt.body || s.HeadParams != head ||
				s.WeightBytes != tt.bytes || s.KVElemBytes != tt.kvElem {
				t.Errorf("shape = %+v; want layers 2, q 32, kv 16, body %d, head %d, bytes %d, kv elem %d",
					s, tt.body, head, tt.bytes, tt.kvElem)
			}
			if len(s.Windows) != 2 || s.Windows[0] != tt.windows[0] || s.Windows[1] != tt.windows[1] {
				t.Errorf("windows = %v, want %v", s.Windows, tt.windows)
			}
		})
	}
}

func TestLastLevelCache(t *testing.T) {
	dir := fstest.MapFS{
		"index0/level": {Data: []byte("1\n")}, "index0/type": {Data: []byte("Data\n")}, "index0/size": {Data: []byte("32K\n")},
		"index1/level": {Data: []byte("1\n")}, "index1/type": {Data: []byte("Instruction\n")}, "index1/size": {Data: []byte("32K\n")},
		"index2/level": {Data: []byte("2\n")}, "index2/type": {Data: []byte("Unified\n")}, "index2/size": {Data: []byte("512K\n")},
		"index3/level": {Data: []byte("3\n")}, "index3/type": {Data: []byte("Unified\n")}, "index3/size": {Data: []byte("32768K\n")},
	}
	if l, b := lastLevelCache(dir); l != 3 || b != 32<<20 {
		t.Errorf("lastLevelCache = L%d %d bytes, want L3 %d", l, b, 32<<20)
	}
	if l, b := lastLevelCache(fstest.MapFS{}); l != 0 || b != 0 {
		t.Errorf("empty dir: L%d %d bytes, want 0 0", l, b)
	}
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(math.Abs(a), math.Abs(b)) }
