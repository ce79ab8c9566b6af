package main

import (
	"encoding/json"
	"math"
	"testing"
)

// TestBenchAccounting runs bench on the d2 shape with a chunked prefill
// and checks its figures against a hand count and against each other.
//
// d2: 2 layers, n_embd 128, one head of 128, vocab 65536 (no padding), no
// windows that bind. Per token the body Linears are 2·12·128² = 393216
// weights, lm_head 65536·128 = 8388608.
func TestBenchAccounting(t *testing.T) {
	stdout, stderr, err := runCLI(t, "bench", "--device", "cpu", "--shape", "d2", "--prompt-tokens", "16",
		"--decode-tokens", "3", "--prefill-chunk", "5", "--batch-sizes", "1,3", "--json")
	if err != nil {
		t.Fatalf("bench: %v\n%s", err, stderr)
	}
	var r benchResult
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("stdout is not one JSON line: %v\n%s", err, stdout)
	}
	// Prefill: 16 tokens in calls of 5, 5, 5, 1; lm_head once per call.
	// 2·393216·16 + 4·2·8388608 + attention 4·128·2 layers·(1+…+16 = 136).
	const prefill = 2*393216*16 + 4*2*8388608 + 4*128*2*136
	if r.Prefill.Calls != 4 || r.Prefill.Chunk != 5 || r.PrefillFLOPsPerToken != prefill/16.0 {
		t.Errorf("prefill: %d calls of %d, %g FLOPs per token; want 4 of 5, %g", r.Prefill.Calls, r.Prefill.Chunk, r.PrefillFLOPsPerToken, prefill/16.0)
	}
	// Decode: 2 steps at positions 16 and 17, 17 and 18 keys per layer.
	const decode = 2*(393216+8388608) + 4*128*2*(17+18)/2
	if r.DecodeFLOPs != decode {
		t.Errorf("decode FLOPs per token = %g, want %d", r.DecodeFLOPs, decode)
	}
	// bf16 weights (2 bytes per weight) and a bf16 KV cache: 2·128·2 bytes
	// per layer and token.
	if r.WeightBytes != 2*(393216+8388608) || r.KVBytesPerToken != 2*2*128*2 {
		t.Errorf("weights %d, KV per token %d; want %d, %d", r.WeightBytes, r.KVBytesPerToken, 2*(393216+8388608), 2*2*128*2)
	}
	if len(r.Sweep) != 2 {
		t.Fatalf("sweep has %d entries, want 2", len(r.Sweep))
	}
	for _, s := range r.Sweep {
		b := float64(s.BatchSize)
		wantBytes := float64(r.WeightBytes) + b*float64(r.KVBytesPerToken)*(17+18)/2
		near := func(name string, got, want float64) {
			if math.Abs(got-want) > 1e-9*math.Abs(want) {
				t.Errorf("batch %d: %s = %g, want %g", s.BatchSize, name, got, want)
			}
		}
		near("bytes per step", s.BytesPerStep, wantBytes)
		// One mean step time behind tok/s, MBU and MFU.
		near("tok/s", s.TokPerSec, b/s.TPOT)
		near("MBU", s.MBUPercent, 100*s.BytesPerStep/s.TPOT/r.PeakBandwidth)
		near("MFU", s.MFUPercent, 100*s.TokPerSec*r.DecodeFLOPs/r.PeakFLOPS)
		if s.DecodeSteps != 2 {
			t.Errorf("batch %d: %d decode steps, want 2", s.BatchSize, s.DecodeSteps)
		}
	}
	if r.StepTime != "mean" || r.Device == "" {
		t.Errorf("step_time %q, device %q; want mean and a device", r.StepTime, r.Device)
	}
}
