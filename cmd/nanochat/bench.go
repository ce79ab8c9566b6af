package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/spf13/cobra"

	"github.com/nanochat-go/nanochat/engine"
	"github.com/nanochat-go/nanochat/kernels"
	"github.com/nanochat-go/nanochat/model"
)

type benchFlags struct {
	shape        string
	checkpoint   string
	promptTokens int
	decodeTokens int
	batchSizes   string
	asJSONOnly   bool
}

// benchResult mirrors upstream infer_bench's final JSON line.
type benchResult struct {
	Source          string       `json:"source"`
	Step            int          `json:"step,omitempty"`
	ModelConfig     model.Config `json:"model_config"`
	Generation      string       `json:"generation"`
	Device          string       `json:"device"`
	Precision       string       `json:"precision"`
	PeakBandwidth   float64      `json:"peak_bandwidth_bytes_per_sec"`
	PeakFLOPS       float64      `json:"peak_flops_per_sec"`
	NumParams       int64        `json:"num_params"`
	WeightBytes     int64        `json:"weight_bytes"`
	KVBytesPerToken int64        `json:"kv_bytes_per_token"`
	KVReadBytes     int64        `json:"kv_read_bytes_per_step"`
	ContextMid      int          `json:"context_mid"`
	DecodeFLOPs     float64      `json:"decode_flops_per_token"`
	CeilingBS1      float64      `json:"ceiling_bs1_tok_per_sec"`
	PromptTokens    int          `json:"prompt_tokens"`
	DecodeTokens    int          `json:"decode_tokens"`
	Sweep           []benchSweep `json:"sweep"`
	Prefill         benchPrefill `json:"prefill"`
}

type benchSweep struct {
	BatchSize   int     `json:"batch_size"`
	TTFT        float64 `json:"ttft_sec"`
	TPOT        float64 `json:"tpot_sec"`
	TokPerSec   float64 `json:"tok_per_sec"`
	MBUPercent  float64 `json:"mbu_percent"`
	MFUPercent  float64 `json:"mfu_percent"`
	DecodeSteps int     `json:"decode_steps"`
}

type benchPrefill struct {
	TokPerSec  float64 `json:"tok_per_sec"`
	MFUPercent float64 `json:"mfu_percent"`
	Time       float64 `json:"time_sec"`
}

func init() { commands = append(commands, newBenchCmd) }

func newBenchCmd(g *globals) *cobra.Command {
	var bf benchFlags
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure prefill and decode speed (like upstream infer_bench)",
		Long: `Measure prefill tok/s, TTFT, decode tok/s and TPOT at several batch sizes,
with MBU and MFU against the memory bandwidth and FMA peak measured in the
same run. Runs on a checkpoint (--checkpoint source[/tag[/step]] or a path)
or on a synthetic model of a named shape (--shape d20, d32, d24-a7) with
random weights. The last line of output is one JSON document.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runBench(cmd, g, bf)
		},
	}
	f := cmd.Flags()
	f.StringVar(&bf.shape, "shape", "", "synthetic model shape: d<depth> (Oct-2025 arch) or d<depth>-a7 (HEAD arch)")
	f.StringVar(&bf.checkpoint, "checkpoint", "", "benchmark a checkpoint instead: source[/tag[/step]] or path")
	f.IntVar(&bf.promptTokens, "prompt-tokens", 512, "prompt length for prefill and decode")
	f.IntVar(&bf.decodeTokens, "decode-tokens", 32, "decode steps per batch size")
	f.StringVar(&bf.batchSizes, "batch-sizes", "1,4", "comma-separated decode batch sizes")
	f.BoolVar(&bf.asJSONOnly, "json", false, "print only the JSON line")
	return cmd
}

func runBench(cmd *cobra.Command, g *globals, bf benchFlags) error {
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
	if bf.decodeTokens < 2 || bf.promptTokens < 1 {
		return usageError{fmt.Errorf("--prompt-tokens ≥ 1 and --decode-tokens ≥ 2 required")}
	}
	errw := cmd.ErrOrStderr()
	var m *model.Model
	res := benchResult{Precision: opts.Precision.String()}
	switch {
	case bf.shape != "" && bf.checkpoint != "":
		return usageError{fmt.Errorf("--shape and --checkpoint are exclusive")}
	case bf.shape != "":
		cfg, gen, err := model.Shape(bf.shape)
		if err != nil {
			return usageError{err}
		}
		fmt.Fprintf(errw, "nanochat: building a random %s model (%s)…\n", bf.shape, gen)
		if m, err = model.NewRandom(cfg, gen, opts.Precision, 1); err != nil {
			return err
		}
		res.Source = "shape " + bf.shape
	default:
		ref := bf.checkpoint
		if ref == "" {
			ref = g.source
		}
		lm, err := g.openLocal(ref, errw)
		if err != nil {
			return err
		}
		defer lm.Close()
		m = lm.Net
		res.Source, res.Step = lm.Ckpt.Name(), m.Step()
	}
	cfg := m.Config
	fmt.Fprintln(errw, "nanochat: measuring memory bandwidth and FMA peak…")
	res.PeakBandwidth = kernels.MeasureBandwidth(256 << 20)
	res.PeakFLOPS = kernels.MeasurePeakFLOPS()
	res.ModelConfig, res.Generation = cfg, m.Arch.Generation
	res.Device = fmt.Sprintf("cpu %s ×%d", kernels.ISA(), kernels.Threads())
	res.NumParams, res.WeightBytes = m.Params, m.WeightBytes()
	res.DecodeTokens = bf.decodeTokens
	res.PromptTokens = min(bf.promptTokens, cfg.SequenceLen-bf.decodeTokens)
	kvd := int64(cfg.KVDim())
	kvElem := int64(4) // the cache is fp32 for exact models, bf16 otherwise (model.NewCache)
	if m.Prec == model.BF16 {
		kvElem = 2
	}
	res.KVBytesPerToken = int64(cfg.NLayer) * 2 * kvd * kvElem
	res.ContextMid = res.PromptTokens + bf.decodeTokens/2
	matmul := float64(m.MatmulParams())
	var attnFLOPs float64
	for _, w := range m.Arch.Windows {
		span := int64(min(res.ContextMid, w+1))
		res.KVReadBytes += 2 * kvd * kvElem * span
		attnFLOPs += 4 * float64(cfg.NHead*cfg.HeadDim()) * float64(span)
	}
	res.DecodeFLOPs = 2*matmul + attnFLOPs
	res.CeilingBS1 = res.PeakBandwidth / float64(res.WeightBytes+res.KVReadBytes)

	prompt := make([]int, res.PromptTokens)
	for i := range prompt {
		prompt[i] = (i*7919 + 13) % cfg.VocabSize
	}
	// Prefill: batch 1, warm up once, then time.
	V := cfg.VocabSize
	logits := make([]float32, max(batches[len(batches)-1], 1)*V)
	prefill := func() (time.Duration, *model.Cache, error) {
		c, err := m.NewCache(1, res.PromptTokens+bf.decodeTokens)
		if err != nil {
			return 0, nil, err
		}
		t0 := time.Now()
		err = m.Forward(c, prompt, len(prompt), logits[:V], false)
		engine.Argmax(logits[:V])
		return time.Since(t0), c, err
	}
	fmt.Fprintf(errw, "nanochat: prefill %d tokens…\n", len(prompt))
	if _, _, err := prefill(); err != nil {
		return err
	}
	ttft, _, err := prefill()
	if err != nil {
		return err
	}
	pf := 2 * matmul * float64(len(prompt))
	for _, w := range m.Arch.Windows {
		n, win := float64(len(prompt)), float64(min(w+1, len(prompt)))
		pf += 4 * float64(cfg.NHead*cfg.HeadDim()) * (win*(win+1)/2 + (n-win)*win)
	}
	res.Prefill = benchPrefill{TokPerSec: float64(len(prompt)) / ttft.Seconds(), MFUPercent: 100 * pf / ttft.Seconds() / res.PeakFLOPS, Time: ttft.Seconds()}

	for _, b := range batches {
		fmt.Fprintf(errw, "nanochat: decode batch %d…\n", b)
		t0 := time.Now()
		_, c1, err := prefill()
		if err != nil {
			return err
		}
		c, err := m.NewCache(b, res.PromptTokens+bf.decodeTokens)
		if err != nil {
			return err
		}
		if err := c.CopyFrom(c1, 0); err != nil {
			return err
		}
		col := make([]int, b)
		for r := range col {
			col[r] = engine.Argmax(logits[:V])
		}
		ttftB := time.Since(t0)
		var steps []time.Duration
		for s := 0; s < bf.decodeTokens-1; s++ {
			ts := time.Now()
			if err := m.Forward(c, col, 1, logits[:b*V], false); err != nil {
				return err
			}
			for r := range col {
				col[r] = engine.Argmax(logits[r*V : (r+1)*V])
			}
			steps = append(steps, time.Since(ts))
		}
		var total time.Duration
		for _, s := range steps {
			total += s
		}
		sorted := append([]time.Duration(nil), steps...)
		sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
		tpot := sorted[len(sorted)/2].Seconds()
		res.Sweep = append(res.Sweep, benchSweep{BatchSize: b, TTFT: ttftB.Seconds(), TPOT: tpot,
			TokPerSec:   float64(b*len(steps)) / total.Seconds(),
			MBUPercent:  100 * float64(res.WeightBytes+int64(b)*res.KVReadBytes) / tpot / res.PeakBandwidth,
			MFUPercent:  100 * float64(b) * res.DecodeFLOPs / tpot / res.PeakFLOPS,
			DecodeSteps: len(steps)})
	}
	// Measure the peaks again after the timings and keep the higher: on a
	// shared machine a single measurement can land in a busy moment and
	// inflate MBU/MFU past 100%.
	if bw := kernels.MeasureBandwidth(256 << 20); bw > res.PeakBandwidth {
		res.rescale(bw, res.PeakFLOPS)
	}
	if fl := kernels.MeasurePeakFLOPS(); fl > res.PeakFLOPS {
		res.rescale(res.PeakBandwidth, fl)
	}
	out := cmd.OutOrStdout()
	if !bf.asJSONOnly {
		printBench(out, res)
	}
	line, err := json.Marshal(res)
	if err != nil {
		return err
	}
	fmt.Fprintln(out, string(line))
	return nil
}

func printBench(w io.Writer, r benchResult) {
	c := r.ModelConfig
	fmt.Fprintf(w, "model     %s  %s  L=%d C=%d H=%d KV=%d V=%d seq=%d  %s params, weights %s (%s)\n",
		r.Source, r.Generation, c.NLayer, c.NEmbd, c.NHead, c.NKVHead, c.VocabSize, c.SequenceLen,
		humanCount(r.NumParams), humanize.IBytes(uint64(r.WeightBytes)), r.Precision)
	fmt.Fprintf(w, "device    %s  measured %.1f GB/s, %.0f GFLOP/s fp32 FMA\n", r.Device, r.PeakBandwidth/1e9, r.PeakFLOPS/1e9)
	fmt.Fprintf(w, "ceiling   %.1f tok/s at batch 1 (weights + KV at context %d)\n", r.CeilingBS1, r.ContextMid)
	fmt.Fprintf(w, "prefill   %d tokens in %.3f s: %.1f tok/s, MFU %.1f%%\n\n", r.PromptTokens, r.Prefill.Time, r.Prefill.TokPerSec, r.Prefill.MFUPercent)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "batch\tTTFT s\tTPOT ms\ttok/s\tMBU %\tMFU %\tsteps\t")
	for _, s := range r.Sweep {
		fmt.Fprintf(tw, "%d\t%.3f\t%.1f\t%.1f\t%.1f\t%.1f\t%d\t\n", s.BatchSize, s.TTFT, s.TPOT*1e3, s.TokPerSec, s.MBUPercent, s.MFUPercent, s.DecodeSteps)
	}
	tw.Flush()
}

// rescale recomputes the utilisation figures against new peaks.
func (r *benchResult) rescale(bw, flops float64) {
	for i := range r.Sweep {
		sw := &r.Sweep[i]
		sw.MBUPercent *= r.PeakBandwidth / bw
		sw.MFUPercent *= r.PeakFLOPS / flops
	}
	r.Prefill.MFUPercent *= r.PeakFLOPS / flops
	r.CeilingBS1 *= bw / r.PeakBandwidth
	r.PeakBandwidth, r.PeakFLOPS = bw, flops
}
