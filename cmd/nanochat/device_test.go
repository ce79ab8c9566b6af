package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nanochat-go/nanochat/engine"
	"github.com/nanochat-go/nanochat/kernels/cuda"
	"github.com/nanochat-go/nanochat/model"
)

func TestParseDevice(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want deviceRequest
		err  string
	}{
		{"", deviceRequest{auto: true, index: -1}, ""},
		{"auto", deviceRequest{auto: true, index: -1}, ""},
		{"CPU", deviceRequest{index: -1}, ""},
		{"cuda", deviceRequest{cuda: true, index: -1}, ""},
		{"gpu", deviceRequest{cuda: true, index: -1}, ""},
		{"cuda:0", deviceRequest{cuda: true, index: 0}, ""},
		{" cuda:3 ", deviceRequest{cuda: true, index: 3}, ""},
		{"gpu:1", deviceRequest{cuda: true, index: 1}, ""},
		{"cuda:", deviceRequest{}, "want a GPU number"},
		{"cuda:-1", deviceRequest{}, "want a GPU number"},
		{"cuda:x", deviceRequest{}, "want a GPU number"},
		{"tpu", deviceRequest{}, "want auto, cpu, cuda or cuda:N"},
		{"metal", deviceRequest{}, "want auto, cpu, cuda or cuda:N"},
	} {
		got, err := parseDevice(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("parseDevice(%q): got error %v, want one containing %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("parseDevice(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

// fakeSys builds a fake /proc and /dev tree and points detection at it.
func fakeSys(t *testing.T, driver string, gpus int) {
	t.Helper()
	root := t.TempDir()
	if driver != "" {
		dir := filepath.Join(root, "proc/driver/nvidia/gpus")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		line := "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  " + driver + "  Release Build  (dvs-builder@U16)  Thu Jan  1\n"
		if err := os.WriteFile(filepath.Join(root, "proc/driver/nvidia/version"), []byte(line), 0o644); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < gpus; i++ {
			if err := os.MkdirAll(filepath.Join(dir, "0000:0"+string(rune('1'+i))+":00.0"), 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	old, oldSMI := sysRoot, nvidiaSMI
	sysRoot = root
	nvidiaSMI = func() ([]byte, error) { return nil, errors.New("not found") }
	t.Cleanup(func() { sysRoot, nvidiaSMI = old, oldSMI })
}

func TestDetectNVIDIA(t *testing.T) {
	fakeSys(t, "", 0)
	if nv := detectNVIDIA(); nv.GPUs != 0 || !strings.Contains(nv.Why, "no NVIDIA driver") {
		t.Errorf("no driver: got %+v", nv)
	}

	fakeSys(t, "570.86.15", 2)
	if nv := detectNVIDIA(); nv.GPUs != 2 || nv.Driver != "570.86.15" {
		t.Errorf("driver with 2 GPUs: got %+v", nv)
	}

	fakeSys(t, "550.54.14", 0)
	if nv := detectNVIDIA(); nv.GPUs != 0 || !strings.Contains(nv.Why, "no GPU") {
		t.Errorf("driver without GPUs: got %+v", nv)
	}

	fakeSys(t, "", 0)
	nvidiaSMI = func() ([]byte, error) {
		return []byte("GPU 0: NVIDIA GB10 (UUID: GPU-1234)\n"), nil
	}
	if nv := detectNVIDIA(); nv.GPUs != 1 || !strings.Contains(nv.Why, "nvidia-smi") {
		t.Errorf("nvidia-smi fallback: got %+v", nv)
	}
}

// The paths below are the CPU build's; the CUDA build resolves in-process.
func skipIfCUDA(t *testing.T) {
	if cuda.Built() {
		t.Skip("CUDA build: devices resolve in-process (kernels/cuda tests cover it)")
	}
}

func TestResolveDeviceNoGPU(t *testing.T) {
	skipIfCUDA(t)
	t.Setenv(envHandedOver, "")
	fakeSys(t, "", 0)

	d, why, err := resolveDevice("cpu")
	if err != nil || d.CUDA || why != "--device cpu" {
		t.Errorf("cpu: got %v %q %v", d, why, err)
	}
	d, why, err = resolveDevice("auto")
	if err != nil || d.CUDA || !strings.Contains(why, "no NVIDIA driver") {
		t.Errorf("auto without a GPU: got %v %q %v, want the CPU and the reason", d, why, err)
	}
	if line := deviceLine(d, why); !strings.HasPrefix(line, "nanochat: device cpu: no NVIDIA driver") {
		t.Errorf("device line: got %q", line)
	}
	if _, _, err := resolveDevice("cuda"); err == nil || !strings.Contains(err.Error(), "no NVIDIA driver") {
		t.Errorf("cuda without a GPU: got %v, want an error naming the reason", err)
	}
	var ue usageError
	if _, _, err := resolveDevice("vulkan"); !errors.As(err, &ue) {
		t.Errorf("bad flag: got %v, want a usage error", err)
	}
}

func TestResolveDeviceHandOver(t *testing.T) {
	skipIfCUDA(t)
	t.Setenv(envHandedOver, "")
	fakeSys(t, "570.86.15", 1)

	// A GPU but no CUDA build installed: auto stays on the CPU, cuda fails.
	t.Setenv(envCUDABin, filepath.Join(t.TempDir(), "missing"))
	d, why, err := resolveDevice("auto")
	if err != nil || d.CUDA || !strings.Contains(why, "does not exist") {
		t.Errorf("auto without nanochat-cuda: got %v %q %v", d, why, err)
	}
	if _, _, err := resolveDevice("cuda"); err == nil {
		t.Error("cuda without nanochat-cuda: got no error")
	}

	bin := filepath.Join(t.TempDir(), cudaBinName)
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv(envCUDABin, bin)
	oldProbe := probeCUDA
	t.Cleanup(func() { probeCUDA = oldProbe })

	// The CUDA build cannot start (e.g. libcuda missing): CPU with the reason.
	probeCUDA = func(string) (string, error) {
		return "", errors.New("error while loading shared libraries: libcuda.so.1")
	}
	d, why, err = resolveDevice("auto")
	if err != nil || d.CUDA || !strings.Contains(why, "libcuda.so.1") {
		t.Errorf("auto with a failing probe: got %v %q %v", d, why, err)
	}

	// It starts: hand over.
	probeCUDA = func(string) (string, error) {
		return "cuda:0 NVIDIA GB10 (sm_121, 48 SMs, 120 GiB) image sm_121 cubin", nil
	}
	d, why, err = resolveDevice("auto")
	if err != nil || !d.CUDA || d.HandOver != bin || !strings.Contains(why, "handing over") {
		t.Errorf("auto with a GPU: got %v %q %v", d, why, err)
	}

	// Explicit device numbers are checked against the GPUs found.
	d, _, err = resolveDevice("cuda:0")
	if err != nil || d.Index != 0 || d.HandOver != bin {
		t.Errorf("cuda:0: got %v %v", d, err)
	}
	if _, _, err := resolveDevice("cuda:1"); err == nil || !strings.Contains(err.Error(), "only 1 GPU") {
		t.Errorf("cuda:1 with one GPU: got %v", err)
	}

	// A process that was already handed over never hands over again.
	t.Setenv(envHandedOver, "1")
	if d, _, err := resolveDevice("auto"); err != nil || d.CUDA {
		t.Errorf("auto after a hand-over: got %v %v, want the CPU", d, err)
	}
}

func TestOpenBackendRefusesHandOverDevice(t *testing.T) {
	if _, err := openBackend(nil, Device{CUDA: true, HandOver: "/x/nanochat-cuda"}, ""); err == nil {
		t.Error("openBackend on a hand-over device: got no error")
	}
	if err := handOver(Device{}, []string{"nanochat"}); err == nil {
		t.Error("handOver without a binary: got no error")
	}
}

func TestProbeWithoutCUDA(t *testing.T) {
	skipIfCUDA(t)
	var out, errb bytes.Buffer
	if code := runProbe(&out, &errb); code != 3 || !strings.Contains(errb.String(), "CUDA support not built in") {
		t.Errorf("runProbe: exit %d, stderr %q", code, errb.String())
	}
}

// A GPU chosen by --device auto that fails while the backend is set up
// (here: no CUDA backend in this build) leaves the model on the CPU with
// one line saying why; an explicit --device cuda fails instead.
func TestAutoDeviceFallsBackToCPU(t *testing.T) {
	skipIfCUDA(t)
	cfg, gen, err := model.Shape("d1")
	if err != nil {
		t.Fatal(err)
	}
	cfg.VocabSize = 64
	m, err := model.NewRandom(cfg, gen, model.BF16, 1)
	if err != nil {
		t.Fatal(err)
	}
	var w bytes.Buffer
	b, used, err := openDevice(m, Device{CUDA: true, Auto: true}, "cpu test", &w)
	if err != nil {
		t.Fatalf("auto: %v", err)
	}
	defer b.Close()
	if used.CUDA || b.Describe() != "cpu test" {
		t.Fatalf("auto fell back to %v (%s), want the CPU", used, b.Describe())
	}
	if line := w.String(); !strings.HasPrefix(line, "nanochat: device cpu: cuda:0 failed (") || !strings.HasSuffix(line, "): falling back\n") {
		t.Fatalf("fallback line %q", line)
	}
	c, err := b.NewCache(1, 4)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Forward([]engine.Chunk{{Row: 0, Tokens: []int{1, 2}}}, make([]float32, 64)); err != nil {
		t.Fatalf("forward on the fallback: %v", err)
	}
	m2, _ := model.NewRandom(cfg, gen, model.BF16, 1)
	defer m2.Close()
	if _, _, err := openDevice(m2, Device{CUDA: true}, "cpu test", &w); err == nil {
		t.Fatal("explicit --device cuda without CUDA: no error")
	}
}
