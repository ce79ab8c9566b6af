package main

// Choosing the compute device (--device auto|cpu|cuda[:N]) and handing over
// to the CUDA build.
//
// The default nanochat binary is pure Go: it never links libcuda, so it
// starts on any machine. It looks for an NVIDIA driver and GPU through the
// files the kernel driver exposes (/proc/driver/nvidia, /dev/nvidiaN; then
// `nvidia-smi -L`, e.g. on WSL), and when it finds one and a nanochat-cuda
// binary (built with -tags cuda) installed next to itself, it asks that
// binary whether CUDA really starts (NANOCHAT_CUDA_PROBE=1: it prints one
// line per GPU and exits) and then exec's it with the same arguments. The
// CUDA build resolves the device again, in-process, and runs the model on
// the GPU. Every path ends in one line naming the device and why.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/nanochat-go/nanochat/engine"
	"github.com/nanochat-go/nanochat/kernels/cuda"
	"github.com/nanochat-go/nanochat/model"
)

// Environment variables of the hand-over.
const (
	// envProbe makes nanochat-cuda report its GPUs and exit.
	envProbe = "NANOCHAT_CUDA_PROBE"
	// envHandedOver marks a process exec'ed by the hand-over (never hand over twice).
	envHandedOver = "NANOCHAT_HANDED_OVER"
	// envCUDABin overrides where the CUDA build is looked for.
	envCUDABin = "NANOCHAT_CUDA_BIN"
	// cudaBinName is the CUDA build's file name, installed next to nanochat.
	cudaBinName = "nanochat-cuda"
)

// Device is where the model runs.
type Device struct {
	CUDA  bool // false: the CPU
	Index int  // GPU ordinal when CUDA
	// Auto marks a GPU that --device auto chose: when CUDA fails while the
	// backend is set up, the model falls back to the CPU (openBackend).
	Auto bool
	// HandOver, when set, is the CUDA build to exec (handOver) instead of
	// running here; this binary has no CUDA backend.
	HandOver string
}

func (d Device) String() string {
	if !d.CUDA {
		return "cpu"
	}
	return fmt.Sprintf("cuda:%d", d.Index)
}

// deviceRequest is a parsed --device value.
type deviceRequest struct {
	auto, cuda bool
	index      int // -1: not given
}

// parseDevice parses --device: auto, cpu, cuda, cuda:N (gpu and gpu:N too).
func parseDevice(s string) (deviceRequest, error) {
	v := strings.ToLower(strings.TrimSpace(s))
	switch v {
	case "", "auto":
		return deviceRequest{auto: true, index: -1}, nil
	case "cpu":
		return deviceRequest{index: -1}, nil
	case "cuda", "gpu":
		return deviceRequest{cuda: true, index: -1}, nil
	}
	for _, p := range []string{"cuda:", "gpu:"} {
		if rest, ok := strings.CutPrefix(v, p); ok {
			n, err := strconv.Atoi(rest)
			if err != nil || n < 0 {
				return deviceRequest{}, fmt.Errorf("--device %q: want a GPU number after %q, e.g. cuda:0", s, p)
			}
			return deviceRequest{cuda: true, index: n}, nil
		}
	}
	return deviceRequest{}, fmt.Errorf("--device %q: want auto, cpu, cuda or cuda:N", s)
}

// nvidiaInfo is what can be learned about NVIDIA GPUs without CUDA.
type nvidiaInfo struct {
	Driver string // kernel module version, "" when unknown
	GPUs   int
	Why    string // how it was found, or why none was
}

// sysRoot prefixes the /proc and /dev paths (tests point it at a fake tree).
var sysRoot = "/"

// nvidiaSMI runs `nvidia-smi -L` (tests replace it).
var nvidiaSMI = func() ([]byte, error) {
	path, err := exec.LookPath("nvidia-smi")
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return exec.CommandContext(ctx, path, "-L").Output()
}

var driverRe = regexp.MustCompile(`Kernel Module(?: for \S+)?\s+([0-9]+\.[0-9.]+)`)

// detectNVIDIA looks for the NVIDIA driver and its GPUs without loading
// any CUDA library.
func detectNVIDIA() nvidiaInfo {
	var info nvidiaInfo
	version := filepath.Join(sysRoot, "proc/driver/nvidia/version")
	if data, err := os.ReadFile(version); err == nil {
		if m := driverRe.FindSubmatch(data); m != nil {
			info.Driver = string(m[1])
		}
		gpus, _ := filepath.Glob(filepath.Join(sysRoot, "proc/driver/nvidia/gpus/*"))
		devs, _ := filepath.Glob(filepath.Join(sysRoot, "dev/nvidia[0-9]*"))
		info.GPUs = max(len(gpus), len(devs))
		if info.GPUs == 0 {
			info.Why = "NVIDIA driver " + info.Driver + " loaded but no GPU in /proc/driver/nvidia/gpus or /dev/nvidia*"
		} else {
			info.Why = fmt.Sprintf("NVIDIA driver %s, %d GPU(s)", info.Driver, info.GPUs)
		}
		return info
	}
	out, err := nvidiaSMI()
	if err != nil {
		info.Why = "no NVIDIA driver (" + filepath.Join(sysRoot, "proc/driver/nvidia/version") + " missing, no nvidia-smi)"
		return info
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if strings.HasPrefix(strings.TrimSpace(sc.Text()), "GPU ") {
			info.GPUs++
		}
	}
	if info.GPUs == 0 {
		info.Why = "nvidia-smi -L lists no GPU"
	} else {
		info.Why = fmt.Sprintf("nvidia-smi -L lists %d GPU(s)", info.GPUs)
	}
	return info
}

// cudaBinary is the CUDA build next to this executable ($NANOCHAT_CUDA_BIN
// overrides), or "" with the reason.
func cudaBinary() (string, string) {
	if p := os.Getenv(envCUDABin); p != "" {
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, ""
		}
		return "", fmt.Sprintf("$%s=%s does not exist", envCUDABin, p)
	}
	exe, err := os.Executable()
	if err != nil {
		return "", "cannot locate this executable: " + err.Error()
	}
	if real, err := filepath.EvalSymlinks(exe); err == nil {
		exe = real
	}
	p := filepath.Join(filepath.Dir(exe), cudaBinName)
	if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
		return p, ""
	}
	return "", fmt.Sprintf("no %s next to %s (build it with `make cuda`)", cudaBinName, exe)
}

// probeCUDA runs the CUDA build in probe mode and returns its report.
var probeCUDA = func(bin string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = append(os.Environ(), envProbe+"=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := firstLine(stderr.String() + stdout.String())
		if msg == "" {
			msg = err.Error()
		}
		return "", errors.New(msg)
	}
	return strings.TrimSpace(stdout.String()), nil
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

// resolveDevice turns --device into the device to run on and a reason for
// the status line. In the CPU build, a CUDA device comes with HandOver set:
// the caller must handOver before loading the model.
func resolveDevice(flag string) (Device, string, error) {
	req, err := parseDevice(flag)
	if err != nil {
		return Device{}, "", usageError{err}
	}
	if !req.auto && !req.cuda {
		return Device{}, "--device cpu", nil
	}
	if cuda.Built() {
		return resolveInProcess(req)
	}
	idx := max(req.index, 0)
	if os.Getenv(envHandedOver) == "1" {
		// nanochat-cuda without CUDA exec'ed us back: never loop.
		if req.cuda {
			return Device{}, "", fmt.Errorf("--device %s: %s has no CUDA backend", flag, os.Args[0])
		}
		return Device{}, "handed over, but this build has no CUDA backend", nil
	}
	nv := detectNVIDIA()
	if nv.GPUs == 0 {
		if req.cuda {
			return Device{}, "", fmt.Errorf("--device %s: %s", flag, nv.Why)
		}
		return Device{}, nv.Why, nil
	}
	if idx >= nv.GPUs {
		return Device{}, "", fmt.Errorf("--device %s: only %d GPU(s) (%s)", flag, nv.GPUs, nv.Why)
	}
	bin, why := cudaBinary()
	if bin == "" {
		if req.cuda {
			return Device{}, "", fmt.Errorf("--device %s: %s, but %s", flag, nv.Why, why)
		}
		return Device{}, nv.Why + ", but " + why, nil
	}
	if req.auto {
		report, err := probeCUDA(bin)
		if err != nil {
			return Device{}, fmt.Sprintf("%s, but %s cannot use it: %v", nv.Why, cudaBinName, err), nil
		}
		if strings.Contains(firstLine(report), "unusable") {
			return Device{}, fmt.Sprintf("%s, but %s", nv.Why, firstLine(report)), nil
		}
	}
	return Device{CUDA: true, Index: idx, HandOver: bin}, fmt.Sprintf("%s: handing over to %s", nv.Why, bin), nil
}

// resolveInProcess is resolveDevice in the CUDA build.
func resolveInProcess(req deviceRequest) (Device, string, error) {
	devs, err := cuda.Devices()
	if err == nil && len(devs) == 0 {
		err = errors.New("the CUDA driver reports no GPU")
	}
	if err != nil {
		if req.cuda {
			return Device{}, "", fmt.Errorf("--device cuda: %w", err)
		}
		return Device{}, "no usable GPU: " + err.Error(), nil
	}
	idx := max(req.index, 0)
	if idx >= len(devs) {
		return Device{}, "", fmt.Errorf("--device cuda:%d: only %d GPU(s)", idx, len(devs))
	}
	d := devs[idx]
	img, err := cuda.Image(d.Major, d.Minor, d.Driver)
	if err != nil {
		if req.cuda {
			return Device{}, "", fmt.Errorf("--device cuda:%d: %w", idx, err)
		}
		return Device{}, fmt.Sprintf("%s unusable: %v", d, err), nil
	}
	how := "--device auto"
	if req.cuda {
		how = "--device " + Device{CUDA: true, Index: idx}.String()
	}
	dev := Device{CUDA: true, Index: idx, Auto: req.auto}
	return dev, fmt.Sprintf("%s, %s (%s)", strings.TrimPrefix(d.String(), dev.String()+" "), img, how), nil
}

// deviceLine is the one status line about the device.
func deviceLine(d Device, reason string) string {
	if d.HandOver != "" {
		return fmt.Sprintf("nanochat: device %s (%s)", d, reason)
	}
	return fmt.Sprintf("nanochat: device %s: %s", d, reason)
}

// handOver replaces this process with the CUDA build, same arguments and
// environment plus the hand-over mark. It returns only on failure.
func handOver(d Device, args []string) error {
	if d.HandOver == "" {
		return fmt.Errorf("hand over: no CUDA binary")
	}
	argv := append([]string{d.HandOver}, args[1:]...)
	env := append(os.Environ(), envHandedOver+"=1")
	if err := syscall.Exec(d.HandOver, argv, env); err != nil {
		return fmt.Errorf("hand over to %s: %w", d.HandOver, err)
	}
	return nil
}

// openBackend puts m on d: the CUDA backend in the CUDA build, the CPU
// otherwise (cpuName describes the CPU for status lines). The backend owns
// m from then on. A GPU chosen by --device auto that fails here falls back
// to the CPU with one line on stderr (openDevice).
func openBackend(m *model.Model, d Device, cpuName string) (engine.Backend, error) {
	b, _, err := openDevice(m, d, cpuName, os.Stderr)
	return b, err
}

// openDevice is openBackend that also returns the device the model ended up
// on. When d was chosen by --device auto (d.Auto) and CUDA fails while the
// backend is created (no context, weights out of device memory) or in a
// first tiny forward (smokeTest: kernels that do not load or run on this
// GPU), it releases the GPU without closing m (cuda.Backend.ReleaseDevice),
// writes "nanochat: device cpu: cuda:N failed (…): falling back" to w and
// returns the CPU backend. An explicit --device cuda fails instead.
func openDevice(m *model.Model, d Device, cpuName string, w io.Writer) (engine.Backend, Device, error) {
	if !d.CUDA {
		return engine.CPU(m, cpuName), d, nil
	}
	if d.HandOver != "" {
		return nil, d, fmt.Errorf("device %s: this binary has no CUDA backend; hand over to %s first", d, d.HandOver)
	}
	b, err := cuda.NewBackend(m, d.Index) // on error m is still open and ours
	if err == nil && d.Auto {
		if err = smokeTest(b); err != nil {
			r, ok := b.(interface{ ReleaseDevice() error })
			if !ok {
				b.Close()
				return nil, d, fmt.Errorf("device %s: %w", d, err)
			}
			r.ReleaseDevice()
		}
	}
	if err == nil {
		return b, d, nil
	}
	if !d.Auto {
		return nil, d, err
	}
	cpu := Device{}
	fmt.Fprintln(w, deviceLine(cpu, fmt.Sprintf("%s failed (%v): falling back", d, err)))
	return engine.CPU(m, cpuName), cpu, nil
}

// smokeTest runs one tiny forward through b, a two-token prefill and a
// one-token decode step in a one-row cache, and checks the logits are
// finite: the first use of every kind of kernel the backend launches.
func smokeTest(b engine.Backend) error {
	c, err := b.NewCache(1, 3)
	if err != nil {
		return err
	}
	defer c.Close()
	V := b.VocabSize()
	logits := make([]float32, V)
	for _, toks := range [][]int{{0, 1 % V}, {2 % V}} {
		if err := c.Forward([]engine.Chunk{{Row: 0, Tokens: toks}}, logits); err != nil {
			return err
		}
		for i, v := range logits {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return fmt.Errorf("first forward: logit %d is %v", i, v)
			}
		}
	}
	return nil
}

// runProbe answers NANOCHAT_CUDA_PROBE=1 (see envProbe).
func runProbe(stdout, stderr io.Writer) int {
	if err := cuda.Probe(stdout); err != nil {
		fmt.Fprintln(stderr, cudaBinName+":", err)
		return 3
	}
	return 0
}

func init() {
	if os.Getenv(envProbe) == "1" {
		os.Exit(runProbe(os.Stdout, os.Stderr))
	}
}
