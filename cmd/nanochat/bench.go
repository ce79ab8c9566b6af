package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/spf13/cobra"

	"github.com/nanochat-go/nanochat/engine"
	"github.com/nanochat-go/nanochat/engine/perf"
	"github.com/nanochat-go/nanochat/kernels"
	"github.com/nanochat-go/nanochat/model"
	"github.com/nanochat-go/nanochat/model/home"
)

type benchFlags struct {
	shape        string
	checkpoint   string
	promptTokens int
	decodeTokens int
	prefillChunk int
	batchSizes   string
	precisions   string
	asJSONOnly   bool
}

// benchResult mirrors upstream infer_bench's final JSON line, plus the
// accounting behind each figure (engine/perf).
type benchResult struct {
	Source        string       `json:"source"`
	Step          int          `json:"step,omitempty"`
	ModelConfig   model.Config `json:"model_config"`
	Generation    string       `json:"generation"`
	Device        string       `json:"device"`
	Precision     string       `json:"precision"`
	PeakBandwidth float64      `json:"peak_bandwidth_bytes_per_sec,omitempty"` // 0: not measured (GPU)
	PeakFLOPS     float64      `json:"peak_flops_per_sec,omitempty"`
	PeakBF16FLOPS float64      `json:"peak_bf16_dot_flops_per_sec,omitempty"` // 0: no bf16 dot-product instruction
	LLCLevel      int          `json:"llc_level,omitempty"`
	LLCBytes      int64        `json:"llc_bytes,omitempty"`
	WeightsFitLLC bool         `json:"weights_fit_llc"`
	LLCNote       string       `json:"llc_note,omitempty"`
	NumParams     int64        `json:"num_params"`
	WeightBytes   int64        `json:"weight_bytes"`
	// KVBytesPerToken is the cache one token takes in all layers.
	KVBytesPerToken int64 `json:"kv_bytes_per_token"`
	// KVReadBytes is one row's KV traffic per decode step, the mean over
	// the batch-1 steps.
	KVReadBytes int64 `json:"kv_read_bytes_per_step"`
	// ContextMid is the position of the middle decode step.
	ContextMid           int     `json:"context_mid"`
	PrefillFLOPsPerToken float64 `json:"prefill_flops_per_token"`
	PrefillBytesPerToken float64 `json:"prefill_bytes_per_token"`
	DecodeFLOPs          float64 `json:"decode_flops_per_token"`
	DecodeBytesPerToken  float64 `json:"decode_bytes_per_token"` // at batch 1
	CeilingBS1           float64 `json:"ceiling_bs1_tok_per_sec,omitempty"`
	// StepTime names the statistic every rate uses: "mean" (total time of
	// the timed steps over their number).
	StepTime     string       `json:"step_time"`
	PromptTokens int          `json:"prompt_tokens"`
	DecodeTokens int          `json:"decode_tokens"`
	Sweep        []benchSweep `json:"sweep"`
	Prefill      benchPrefill `json:"prefill"`
}

type benchSweep struct {
	BatchSize    int     `json:"batch_size"`
	TTFT         float64 `json:"ttft_sec"`
	TPOT         float64 `json:"tpot_sec"`
	TokPerSec    float64 `json:"tok_per_sec"`
	MBUPercent   float64 `json:"mbu_percent,omitempty"`
	MFUPercent   float64 `json:"mfu_percent,omitempty"`
	BytesPerStep float64 `json:"bytes_per_step"`
	Ceiling      float64 `json:"ceiling_tok_per_sec,omitempty"`
	DecodeSteps  int     `json:"decode_steps"`
}

type benchPrefill struct {
	TokPerSec  float64 `json:"tok_per_sec"`
	MFUPercent float64 `json:"mfu_percent,omitempty"` // of the fp32 FMA peak
	// MFUBF16Percent is of the bf16 dot-product peak, where the CPU has one.
	MFUBF16Percent float64 `json:"mfu_bf16_dot_percent,omitempty"`
	MBUPercent     float64 `json:"mbu_percent,omitempty"`
	Time           float64 `json:"time_sec"`
	Chunk          int     `json:"chunk_tokens"` // most tokens per forward call
	Calls          int     `json:"forward_calls"`
}

func init() { commands = append(commands, newBenchCmd) }

func newBenchCmd(g *globals) *cobra.Command {
	var bf benchFlags
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure prefill and decode speed (like upstream infer_bench)",
		Long: `Measure prefill tok/s, TTFT, decode tok/s and TPOT at several batch sizes
through the compute backend (--device), with MBU and MFU against the memory
bandwidth and FMA peak measured in the same run (CPU only). Runs on a
checkpoint (--checkpoint source[/tag[/step]] or a path; default the one
--source/--tag/--step name) or on a synthetic model of a named shape
(--shape d20, d32, d24-a7) with random weights.

The prompt is prefilled in one forward call unless --prefill-chunk splits
it; each decode step is one forward call of one token per row. TPOT, tok/s,
MBU and MFU all use the mean step time. --precisions bf16,int8 measures
each precision in turn in the same process, against the same measured
peaks, and prints their decode and prefill ratios. The last line of output
is one JSON document.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runBench(cmd, g, bf)
		},
	}
	f := cmd.Flags()
	f.StringVar(&bf.shape, "shape", "", "synthetic model shape: d<depth> (Oct-2025 arch) or d<depth>-a7 (HEAD arch)")
	f.StringVar(&bf.checkpoint, "checkpoint", "", "benchmark a checkpoint instead: source[/tag[/step]] or path")
	f.IntVar(&bf.promptTokens, "prompt-tokens", 512, "prompt length for prefill and decode")
	f.IntVar(&bf.decodeTokens, "decode-tokens", 32, "tokens generated per batch size (the first comes from prefill)")
	f.IntVar(&bf.prefillChunk, "prefill-chunk", 0, "most prompt tokens per prefill forward call (0: the whole prompt in one)")
	f.StringVar(&bf.batchSizes, "batch-sizes", "1,4", "comma-separated decode batch sizes")
	f.StringVar(&bf.precisions, "precisions", "", "comma-separated precisions to compare in one run, e.g. bf16,int8 (default: --precision); with several, the JSON line is an array")
	f.BoolVar(&bf.asJSONOnly, "json", false, "print only the JSON line")
	return cmd
}

// benchTimes are the raw timings of a run, before any accounting.
type benchTimes struct {
	prefill time.Duration
	ttft    []time.Duration // per batch size
	decode  []time.Duration // per batch size: total of the timed steps
}

func runBench(cmd *cobra.Command, g *globals, bf benchFlags) (err error) {
	opts, err := g.loadOptions()
	if err != nil {
		return err
	}
	var batches []int
	for _, s := range strings.Split(bf.batchSizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n <= 0 {
			return usageError{fmt.Errorf("--batch-sizes %q: want positive integers", bf.batchSizes)}
		}
		batches = append(batches, n)
	}
	if bf.decodeTokens < 2 || bf.promptTokens < 1 || bf.prefillChunk < 0 {
		return usageError{errors.New("--prompt-tokens ≥ 1, --decode-tokens ≥ 2 and --prefill-chunk ≥ 0 required")}
	}
	precs := []model.Precision{opts.Precision}
	if bf.precisions != "" {
		precs = nil
		for _, s := range strings.Split(bf.precisions, ",") {
			p, err := model.ParsePrecision(strings.TrimSpace(s))
			if err != nil {
				return usageError{fmt.Errorf("--precisions: %w", err)}
			}
			precs = append(precs, p)
		}
	}
	errw := cmd.ErrOrStderr()
	var peaks perf.Peaks
	onCPU := !g.dev.CUDA
	if onCPU {
		fmt.Fprintln(errw, "nanochat: measuring memory bandwidth and FMA peak…")
		peaks.Bandwidth = kernels.MeasureBandwidth(256 << 20)
		peaks.FLOPS = kernels.MeasurePeakFLOPS()
		peaks.BF16FLOPS = kernels.MeasurePeakBF16FLOPS()
		peaks.LLCLevel, peaks.LLCBytes = perf.LastLevelCache()
	}
	type run struct {
		res   benchResult
		shape perf.Shape
		times benchTimes
	}
	var runs []run
	for _, p := range precs {
		opts.Precision = p
		res, shape, times, err := benchPrecision(cmd, g, bf, opts, batches)
		if err != nil {
			return err
		}
		runs = append(runs, run{res, shape, times})
	}
	if onCPU {
		// Measure the peaks again after the timings and keep the higher:
		// on a shared machine one measurement can land in a busy moment
		// and inflate MBU/MFU past 100%.
		peaks.Bandwidth = max(peaks.Bandwidth, kernels.MeasureBandwidth(256<<20))
		peaks.FLOPS = max(peaks.FLOPS, kernels.MeasurePeakFLOPS())
		if peaks.BF16FLOPS > 0 {
			peaks.BF16FLOPS = max(peaks.BF16FLOPS, kernels.MeasurePeakBF16FLOPS())
		}
	}
	out := cmd.OutOrStdout()
	results := make([]benchResult, len(runs))
	for i := range runs {
		r := &runs[i]
		r.res.account(r.shape, peaks, bf, batches, r.times)
		results[i] = r.res
		if !bf.asJSONOnly {
			if i > 0 {
				fmt.Fprintln(out)
			}
			printBench(out, r.res)
		}
	}
	if len(results) > 1 && !bf.asJSONOnly {
		printRatios(out, results)
	}
	var doc any = results[0]
	if len(results) > 1 {
		doc = results
	}
	line, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	fmt.Fprintln(out, string(line))
	return nil
}

// printRatios compares every precision's prefill and batch-1 decode rate
// with the first one's, all timed in this run.
func printRatios(w io.Writer, rs []benchResult) {
	base := rs[0]
	fmt.Fprintln(w)
	for _, r := range rs[1:] {
		dec := "–"
		if len(r.Sweep) > 0 && len(base.Sweep) > 0 && base.Sweep[0].TokPerSec > 0 {
			dec = fmt.Sprintf("%.2f×", r.Sweep[0].TokPerSec/base.Sweep[0].TokPerSec)
		}
		pre := "–"
		if base.Prefill.TokPerSec > 0 {
			pre = fmt.Sprintf("%.2f×", r.Prefill.TokPerSec/base.Prefill.TokPerSec)
		}
		fmt.Fprintf(w, "ratio     %s vs %s (same run): decode batch %d %s, prefill %s\n", r.Precision, base.Precision, r.Sweep[0].BatchSize, dec, pre)
	}
}

// benchPrecision builds or loads the model at opts.Precision and times it
// through its backend; the accounting waits for the run's peaks.
func benchPrecision(cmd *cobra.Command, g *globals, bf benchFlags, opts model.Options, batches []int) (res benchResult, shape perf.Shape, times benchTimes, err error) {
	errw := cmd.ErrOrStderr()
	res = benchResult{StepTime: "mean"}
	m, err := g.benchModel(bf, opts, &res, errw)
	if err != nil {
		return res, shape, times, err
	}
	cfg := m.Config
	held := opts.Precision
	if g.dev.CUDA {
		held = model.BF16 // the CUDA backend holds weights and KV cache in bf16
	}
	shape = perf.ShapeOf(m, held)
	res.Precision = held.String()
	res.ModelConfig, res.Generation = cfg, m.Arch.Generation
	res.NumParams, res.WeightBytes = m.Params, shape.WeightBytes
	res.KVBytesPerToken = int64(shape.Layers) * 2 * int64(shape.KVDim) * shape.KVElemBytes

	// The backend owns m from here on; everything below goes through it.
	fmt.Fprintln(errw, deviceLine(g.dev, g.devWhy))
	be, err := g.backend(m, fmt.Sprintf("cpu %s ×%d", kernels.ISA(), kernels.Threads()))
	if err != nil {
		m.Close()
		return res, shape, times, err
	}
	defer func() {
		if cerr := be.Close(); err == nil {
			err = cerr
		}
	}()
	res.Device = be.Describe()
	res.DecodeTokens = bf.decodeTokens
	res.PromptTokens = min(bf.promptTokens, be.ContextLen()-bf.decodeTokens)
	if res.PromptTokens < 1 {
		return res, shape, times, usageError{fmt.Errorf("--decode-tokens %d leaves no room for a prompt in the %d-token context", bf.decodeTokens, be.ContextLen())}
	}
	times, err = benchTimings(be, res.PromptTokens, bf, batches, errw)
	return res, shape, times, err
}

// benchModel builds the --shape model or loads the checkpoint, filling in
// the result's source.
func (g *globals) benchModel(bf benchFlags, opts model.Options, res *benchResult, errw io.Writer) (*model.Model, error) {
	switch {
	case bf.shape != "" && bf.checkpoint != "":
		return nil, usageError{errors.New("--shape and --checkpoint are exclusive")}
	case bf.shape != "":
		cfg, gen, err := model.Shape(bf.shape)
		if err != nil {
			return nil, usageError{err}
		}
		fmt.Fprintf(errw, "nanochat: building a random %s model (%s)…\n", bf.shape, gen)
		res.Source = "shape " + bf.shape
		return model.NewRandom(cfg, gen, opts.Precision, 1)
	}
	var ck home.Checkpoint
	var err error
	if bf.checkpoint != "" {
		ck, err = home.Parse(g.homeDir(), bf.checkpoint)
	} else {
		ck, err = g.resolve()
	}
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(errw, "nanochat: checkpoint %s (%s)\n", ck.ModelPath, humanize.IBytes(uint64(max(ck.Size, 0))))
	t0 := time.Now()
	m, err := model.Load(ck.ModelPath, opts)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(errw, "nanochat: loaded %s %s in %v\n", ck.Name(), m.Arch.Generation, time.Since(t0).Round(time.Millisecond))
	res.Source, res.Step = ck.Name(), m.Step()
	return m, nil
}

// benchTimings times, through the backend only: a batch-1 prefill (after
// a warm-up one), then for each batch size a prefill into row 0 copied to
// the other rows (TTFT) and decodeTokens-1 decode steps of one token per
// row, greedy.
func benchTimings(be engine.Backend, P int, bf benchFlags, batches []int, errw io.Writer) (benchTimes, error) {
	var t benchTimes
	V, maxLen := be.VocabSize(), P+bf.decodeTokens
	prompt := make([]int, P)
	for i := range prompt {
		prompt[i] = (i*7919 + 13) % V
	}
	chunk := bf.prefillChunk
	if chunk <= 0 || chunk > P {
		chunk = P
	}
	logits := make([]float32, slices.Max(batches)*V)
	prefill := func(c engine.Cache) (int, error) {
		for p0 := 0; p0 < P; p0 += chunk {
			if err := c.Forward([]engine.Chunk{{Row: 0, Tokens: prompt[p0:min(p0+chunk, P)]}}, logits[:V]); err != nil {
				return 0, err
			}
		}
		return engine.Argmax(logits[:V]), nil
	}
	fmt.Fprintf(errw, "nanochat: prefill %d tokens…\n", P)
	for i := 0; i < 2; i++ { // a warm-up, then the timed one
		c, err := be.NewCache(1, maxLen)
		if err != nil {
			return t, err
		}
		t0 := time.Now()
		_, err = prefill(c)
		t.prefill = time.Since(t0)
		if err := errors.Join(err, c.Close()); err != nil {
			return t, err
		}
	}
	for _, b := range batches {
		fmt.Fprintf(errw, "nanochat: decode batch %d…\n", b)
		ttft, total, err := benchDecode(be, b, maxLen, bf.decodeTokens-1, prefill, logits)
		if err != nil {
			return t, err
		}
		t.ttft, t.decode = append(t.ttft, ttft), append(t.decode, total)
	}
	return t, nil
}

// benchDecode prefills row 0 of a b-row cache, copies it to the other rows
// and times steps decode steps; it returns the TTFT and the steps' total.
func benchDecode(be engine.Backend, b, maxLen, steps int, prefill func(engine.Cache) (int, error), logits []float32) (ttft, total time.Duration, err error) {
	c, err := be.NewCache(b, maxLen)
	if err != nil {
		return 0, 0, err
	}
	defer func() { err = errors.Join(err, c.Close()) }()
	t0 := time.Now()
	next, err := prefill(c)
	if err != nil {
		return 0, 0, err
	}
	for r := 1; r < b; r++ {
		if err := c.CopyRow(r, c, 0); err != nil {
			return 0, 0, err
		}
	}
	ttft = time.Since(t0)
	V := be.VocabSize()
	toks := make([]int, b)
	chunks := make([]engine.Chunk, b)
	for r := range chunks {
		toks[r] = next
		chunks[r] = engine.Chunk{Row: r, Tokens: toks[r : r+1]}
	}
	for s := 0; s < steps; s++ {
		ts := time.Now()
		if err := c.Forward(chunks, logits[:b*V]); err != nil {
			return 0, 0, err
		}
		for r := range toks {
			toks[r] = engine.Argmax(logits[r*V : (r+1)*V])
		}
		total += time.Since(ts)
	}
	return ttft, total, nil
}

// account fills the figures of r from the timings (engine/perf does the
// arithmetic).
func (r *benchResult) account(s perf.Shape, p perf.Peaks, bf benchFlags, batches []int, t benchTimes) {
	P, steps := r.PromptTokens, bf.decodeTokens-1
	r.PeakBandwidth, r.PeakFLOPS, r.PeakBF16FLOPS = p.Bandwidth, p.FLOPS, p.BF16FLOPS
	r.ContextMid = P + steps/2
	one := perf.Account(s, perf.Run{Prompt: P, PrefillChunk: bf.prefillChunk, PrefillTime: t.prefill, Batch: 1, DecodeSteps: steps}, p)
	r.LLCLevel, r.LLCBytes, r.WeightsFitLLC, r.LLCNote = one.LLCLevel, one.LLCBytes, one.WeightsFitLLC, one.Note()
	r.PrefillFLOPsPerToken, r.PrefillBytesPerToken = one.PrefillFLOPsPerToken, one.PrefillBytesPerToken
	r.DecodeFLOPs, r.DecodeBytesPerToken, r.CeilingBS1 = one.DecodeFLOPsPerToken, one.DecodeBytesPerToken, one.CeilingTokPerSec
	r.KVReadBytes = int64(one.DecodeBytesPerStep+0.5) - s.WeightBytes
	chunk := bf.prefillChunk
	if chunk <= 0 || chunk > P {
		chunk = P
	}
	r.Prefill = benchPrefill{TokPerSec: one.PrefillTokPerSec, MFUPercent: one.PrefillMFU, MFUBF16Percent: one.PrefillMFUBF16, MBUPercent: one.PrefillMBU,
		Time: t.prefill.Seconds(), Chunk: chunk, Calls: one.PrefillCalls}
	for i, b := range batches {
		f := perf.Account(s, perf.Run{Prompt: P, Batch: b, DecodeSteps: steps, DecodeTime: t.decode[i]}, p)
		r.Sweep = append(r.Sweep, benchSweep{BatchSize: b, TTFT: t.ttft[i].Seconds(), TPOT: f.TPOT,
			TokPerSec: f.DecodeTokPerSec, MBUPercent: f.DecodeMBU, MFUPercent: f.DecodeMFU,
			BytesPerStep: f.DecodeBytesPerStep, Ceiling: f.CeilingTokPerSec, DecodeSteps: steps})
	}
}

func printBench(w io.Writer, r benchResult) {
	c := r.ModelConfig
	fmt.Fprintf(w, "model     %s  %s  L=%d C=%d H=%d KV=%d V=%d seq=%d  %s params, weights %s (%s)\n",
		r.Source, r.Generation, c.NLayer, c.NEmbd, c.NHead, c.NKVHead, c.VocabSize, c.SequenceLen,
		humanCount(r.NumParams), humanize.IBytes(uint64(r.WeightBytes)), r.Precision)
	measured := r.PeakBandwidth > 0
	if measured {
		llc := ""
		if r.LLCBytes > 0 {
			llc = fmt.Sprintf(", L%d cache %s", r.LLCLevel, humanize.IBytes(uint64(r.LLCBytes)))
		}
		dot := ""
		if r.PeakBF16FLOPS > 0 {
			dot = fmt.Sprintf(", %.0f GFLOP/s bf16 dot", r.PeakBF16FLOPS/1e9)
		}
		fmt.Fprintf(w, "device    %s  measured %.1f GB/s, %.0f GFLOP/s fp32 FMA%s%s\n", r.Device, r.PeakBandwidth/1e9, r.PeakFLOPS/1e9, dot, llc)
	} else {
		fmt.Fprintf(w, "device    %s  (peaks not measured on this device: no MBU, MFU or ceiling)\n", r.Device)
	}
	fmt.Fprintf(w, "work      prefill %s and %s per token; decode %s per token, %s per step at batch 1 (KV cache %s per token)\n",
		flops(r.PrefillFLOPsPerToken), humanize.IBytes(uint64(r.PrefillBytesPerToken)),
		flops(r.DecodeFLOPs), humanize.IBytes(uint64(r.DecodeBytesPerToken)),
		humanize.IBytes(uint64(r.KVBytesPerToken)))
	if measured {
		fmt.Fprintf(w, "ceiling   %.1f tok/s at batch 1 (roofline of weights + KV around context %d at the measured peaks)\n", r.CeilingBS1, r.ContextMid)
	}
	calls := "one forward call"
	if r.Prefill.Calls > 1 {
		calls = fmt.Sprintf("%d forward calls of ≤ %d", r.Prefill.Calls, r.Prefill.Chunk)
	}
	mfu := pct(", MFU ", r.Prefill.MFUPercent, measured)
	if r.PeakBF16FLOPS > 0 {
		mfu += fmt.Sprintf(" of fp32 FMA, %.1f%% of bf16 dot", r.Prefill.MFUBF16Percent)
	}
	fmt.Fprintf(w, "prefill   %d tokens (%s) in %.3f s: %.1f tok/s%s\n\n", r.PromptTokens, calls, r.Prefill.Time, r.Prefill.TokPerSec, mfu)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "batch\tTTFT s\tTPOT ms\ttok/s\tMBU %\tMFU %\tceiling tok/s\tsteps\t")
	note := ""
	for _, s := range r.Sweep {
		mbu, mfu, ceil := "–", "–", "–"
		if measured {
			mbu, mfu, ceil = fmt.Sprintf("%.1f", s.MBUPercent), fmt.Sprintf("%.1f", s.MFUPercent), fmt.Sprintf("%.1f", s.Ceiling)
			if r.WeightsFitLLC {
				mbu += "*"
				note = "* " + r.LLCNote
			}
		}
		fmt.Fprintf(tw, "%d\t%.3f\t%.1f\t%.1f\t%s\t%s\t%s\t%d\t\n", s.BatchSize, s.TTFT, s.TPOT*1e3, s.TokPerSec, mbu, mfu, ceil, s.DecodeSteps)
	}
	tw.Flush()
	fmt.Fprintln(w, "TPOT, tok/s, MBU and MFU use the mean decode step time.")
	if note != "" {
		fmt.Fprintln(w, note)
	}
}

// flops writes a FLOP count with three significant digits ("1.01 GFLOP").
func flops(v float64) string {
	x, unit := humanize.ComputeSI(v)
	return fmt.Sprintf("%.3g %sFLOP", x, unit)
}

func pct(label string, v float64, known bool) string {
	if !known {
		return ""
	}
	return fmt.Sprintf("%s%.1f%%", label, v)
}
