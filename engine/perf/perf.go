// Package perf is the FLOP and byte accounting of inference: the arithmetic
// and the memory traffic a prefill and a decode step of a model take, and
// what a measured time means against a device's peaks (tok/s, MBU, MFU).
// It reads a model's shape and computes nothing on the model.
package perf

import (
	"fmt"
	"time"

	"github.com/dustin/go-humanize"

	"github.com/nanochat-go/nanochat/model"
)

// Shape is what the accounting needs to know about a model.
type Shape struct {
	Layers int
	QDim   int // n_head·head_dim: the query width attention scores and mixes over
	KVDim  int // n_kv_head·head_dim: the keys (and values) cached per token and layer
	// Windows is each layer's sliding window W: a query at position p
	// (p tokens before it) attends to min(p, W)+1 keys; W < 0 means all p+1.
	Windows []int
	// DecodeFullWindow: a single-token step ignores the windows
	// (model.Arch.DecodeNoWindow, nanochat's SDPA fallback before 2026-01-30).
	DecodeFullWindow bool
	BodyParams       int64 // weights of every Linear but lm_head: 2 FLOPs each per token
	HeadParams       int64 // lm_head weights (padded vocab × n_embd): 2 FLOPs each per logits row
	WeightBytes      int64 // the matrices every forward call reads once, lm_head included
	KVElemBytes      int64 // bytes of one cached K or V element: 4 (fp32), 2 (bf16)
}

// ShapeOf reads m's shape as a backend holding it at precision held sees
// it: model.Exact, the matrices in their loaded dtypes and an fp32 KV cache
// (the CPU backend of an Exact model); model.BF16, every matrix and the KV
// cache in bf16 (the CPU backend of a BF16 model, model.NewCache; the CUDA
// backend whatever the model's precision); model.Int8, the matrices as
// loaded (int8 values plus their fp32 scales, 1.0625 bytes per weight) and
// a bf16 KV cache. Embedding rows (wte, value
// embeddings, bigram) are gathered one row per token and left out of the
// bytes, as are the small gates.
func ShapeOf(m *model.Model, held model.Precision) Shape {
	cfg := m.Config
	head := int64(m.Arch.PaddedVocab) * int64(cfg.NEmbd)
	weights := m.WeightBytes()
	if held == model.BF16 {
		elems := int64(m.W.LMHead.Rows * m.W.LMHead.Cols)
		for _, l := range m.W.Layers {
			for _, x := range []*model.Matrix{&l.CQ, &l.CK, &l.CV, &l.CProj, &l.FC, &l.MLPProj} {
				elems += int64(x.Rows * x.Cols)
			}
		}
		weights = 2 * elems
	}
	return Shape{
		Layers: cfg.NLayer, QDim: cfg.NHead * cfg.HeadDim(), KVDim: cfg.KVDim(),
		Windows:          append([]int(nil), m.Arch.Windows...),
		DecodeFullWindow: m.Arch.DecodeNoWindow,
		BodyParams:       m.MatmulParams() - head,
		HeadParams:       head,
		WeightBytes:      weights,
		KVElemBytes:      KVElemBytes(held),
	}
}

// KVElemBytes is the size of one cached K or V element at precision p.
func KVElemBytes(p model.Precision) int64 {
	if p != model.Exact {
		return 2
	}
	return 4
}

// Run is one measured run: a prompt prefilled in chunks from position 0,
// then Batch rows decoded one token per step from the prompt's end.
type Run struct {
	Prompt       int           // prompt tokens
	PrefillChunk int           // most tokens per prefill forward call (0: the whole prompt in one)
	PrefillTime  time.Duration // time of the whole prefill
	Batch        int           // rows decoded together
	// DecodeSteps is the number of timed steps; step s feeds every row's
	// token at position Prompt+s.
	DecodeSteps int
	DecodeTime  time.Duration // total time of the timed steps
}

// Peaks are the device's limits; zero means unknown, and the figures
// against it are left zero.
type Peaks struct {
	Bandwidth float64 // bytes per second
	FLOPS     float64 // FLOP per second: fp32 FMA
	// BF16FLOPS is the bf16 dot-product peak (AVX512_BF16 VDPBF16PS), the
	// ceiling of a bf16 prefill on CPUs that have it; 0 elsewhere.
	BF16FLOPS float64
	LLCLevel  int   // the last-level cache's level (3 for L3); 0: unknown
	LLCBytes  int64 // its size
}

// Figures are the accounting of one Run. Totals are exact integers; rates
// divide them by the run's total times, so tok/s, TPOT, MBU and MFU all
// rest on the same mean step time (never a median for one and a mean for
// another).
type Figures struct {
	PrefillCalls               int
	PrefillFLOPs, PrefillBytes int64   // whole prompt
	PrefillFLOPsPerToken       float64 // PrefillFLOPs / Prompt
	PrefillBytesPerToken       float64
	PrefillTokPerSec           float64
	PrefillMFU, PrefillMBU     float64 // percent
	PrefillMFUBF16             float64 // percent of Peaks.BF16FLOPS; 0 when that is unknown
	DecodeFLOPs, DecodeBytes   int64   // all timed steps, all rows
	DecodeFLOPsPerToken        float64 // per row and step
	DecodeBytesPerStep         float64 // mean over the steps (weights once + every row's KV)
	DecodeBytesPerToken        float64 // DecodeBytesPerStep / Batch
	TPOT                       float64 // seconds: DecodeTime / DecodeSteps
	DecodeTokPerSec            float64 // Batch·DecodeSteps / DecodeTime
	DecodeMBU, DecodeMFU       float64 // percent
	CeilingTokPerSec           float64 // roofline: Batch / max(bytes/bandwidth, FLOPs/peak) per step
	WeightBytes                int64
	LLCLevel                   int
	LLCBytes                   int64
	WeightsFitLLC              bool // the weights fit in the last-level cache: DRAM bandwidth is not what a decode step waits on
}

// Note explains an MBU that may exceed 100%: "" unless the weights fit in
// the last-level cache.
func (f Figures) Note() string {
	if !f.WeightsFitLLC {
		return ""
	}
	return fmt.Sprintf("weights %s fit in the %s L%d cache: bandwidth is not the limit",
		humanize.IBytes(uint64(f.WeightBytes)), humanize.IBytes(uint64(f.LLCBytes)), f.LLCLevel)
}

// Account computes the work of r on a model of shape s and the rates its
// timings give against p. The formulas, per token at position p with
// keys_l(p) = min(p, W_l)+1 (p+1 when W_l < 0) and per-layer KV entry
// e = 2·KVDim·KVElemBytes (a key and a value):
//
//	matmul FLOPs    2·BodyParams per token, 2·HeadParams per logits row
//	attention FLOPs Σ_l 4·QDim·keys_l(p) (q·k and p·v, 2 FLOPs per multiply-add)
//	prefill FLOPs   Σ_p [2·BodyParams + attention(p)] + calls·2·HeadParams
//	                (logits only for each call's last position)
//	prefill bytes   calls·WeightBytes + Prompt·L·e (each KV entry written once)
//	                + per call after the first, Σ_l min(p0, W_l)·e (the cached
//	                entries its first query reaches back to)
//	decode FLOPs    per row: 2·BodyParams + 2·HeadParams + attention(p)
//	decode bytes    per step: WeightBytes + Batch·Σ_l keys_l(p)·e (the cached
//	                entries each row attends to read, its own written)
//
// With DecodeFullWindow a decode step's keys_l(p) is p+1 in every layer.
// Softmax, norms, RoPE and the embedding gathers are left out: they are
// O(n_embd) per token against O(n_embd²).
func Account(s Shape, r Run, p Peaks) Figures {
	f := Figures{WeightBytes: s.WeightBytes, LLCLevel: p.LLCLevel, LLCBytes: p.LLCBytes}
	f.WeightsFitLLC = p.LLCBytes > 0 && s.WeightBytes <= p.LLCBytes
	entry := 2 * int64(s.KVDim) * s.KVElemBytes

	// 1. Prefill: chunks of at most PrefillChunk tokens from position 0.
	if r.Prompt > 0 {
		chunk := r.PrefillChunk
		if chunk <= 0 || chunk > r.Prompt {
			chunk = r.Prompt
		}
		for p0 := 0; p0 < r.Prompt; p0 += chunk {
			n := min(chunk, r.Prompt-p0)
			f.PrefillCalls++
			f.PrefillFLOPs += 2*s.BodyParams*int64(n) + 2*s.HeadParams
			f.PrefillBytes += s.WeightBytes + int64(n)*int64(s.Layers)*entry
			for _, w := range s.Windows {
				f.PrefillFLOPs += 4 * int64(s.QDim) * keySum(p0, n, w)
				if w < 0 {
					w = p0
				}
				f.PrefillBytes += int64(min(p0, w)) * entry
			}
		}
		f.PrefillFLOPsPerToken = float64(f.PrefillFLOPs) / float64(r.Prompt)
		f.PrefillBytesPerToken = float64(f.PrefillBytes) / float64(r.Prompt)
		if sec := r.PrefillTime.Seconds(); sec > 0 {
			f.PrefillTokPerSec = float64(r.Prompt) / sec
			f.PrefillMFU = percent(float64(f.PrefillFLOPs)/sec, p.FLOPS)
			f.PrefillMFUBF16 = percent(float64(f.PrefillFLOPs)/sec, p.BF16FLOPS)
			f.PrefillMBU = percent(float64(f.PrefillBytes)/sec, p.Bandwidth)
		}
	}

	// 2. Decode: DecodeSteps steps of Batch rows, step s at position Prompt+s.
	if r.DecodeSteps > 0 && r.Batch > 0 {
		b := int64(r.Batch)
		var keys int64 // Σ over steps of Σ_l keys_l(p)
		for _, w := range s.Windows {
			if s.DecodeFullWindow {
				w = -1
			}
			keys += keySum(r.Prompt, r.DecodeSteps, w)
		}
		steps := int64(r.DecodeSteps)
		perRow := steps*(2*s.BodyParams+2*s.HeadParams) + 4*int64(s.QDim)*keys
		f.DecodeFLOPs = b * perRow
		f.DecodeBytes = steps*s.WeightBytes + b*keys*entry
		tokens := float64(b * steps)
		f.DecodeFLOPsPerToken = float64(f.DecodeFLOPs) / tokens
		f.DecodeBytesPerStep = float64(f.DecodeBytes) / float64(steps)
		f.DecodeBytesPerToken = float64(f.DecodeBytes) / tokens
		stepBW, stepFL := 0.0, 0.0
		if p.Bandwidth > 0 {
			stepBW = f.DecodeBytesPerStep / p.Bandwidth
		}
		if p.FLOPS > 0 {
			stepFL = float64(f.DecodeFLOPs) / float64(steps) / p.FLOPS
		}
		if t := max(stepBW, stepFL); t > 0 {
			f.CeilingTokPerSec = float64(b) / t
		}
		if sec := r.DecodeTime.Seconds(); sec > 0 {
			f.TPOT = sec / float64(steps)
			f.DecodeTokPerSec = tokens / sec
			f.DecodeMBU = percent(float64(f.DecodeBytes)/sec, p.Bandwidth)
			f.DecodeMFU = percent(float64(f.DecodeFLOPs)/sec, p.FLOPS)
		}
	}
	return f
}

// keySum is Σ keys(p) for p in [p0, p0+n): the keys each of n consecutive
// queries attends to under window w (w < 0: no window).
func keySum(p0, n, w int) int64 {
	return keyPrefix(p0+n, w) - keyPrefix(p0, w)
}

// keyPrefix is Σ_{p<n} (min(p, w)+1).
func keyPrefix(n, w int) int64 {
	N := int64(n)
	if w < 0 || n <= w+1 {
		return N * (N + 1) / 2
	}
	W := int64(w)
	return (W+1)*(W+2)/2 + (N-W-1)*(W+1)
}

func percent(rate, peak float64) float64 {
	if peak <= 0 {
		return 0
	}
	return 100 * rate / peak
}
