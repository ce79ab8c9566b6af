// Package sandbox runs untrusted Python programs (HumanEval completions) the
// way upstream nanochat's execution.py does — a fresh python3 process in a
// fresh temporary directory, a scrubbed environment, no stdin, rlimits and
// a 5 s wall-clock timeout, with upstream's guard — and adds what the OS
// offers to make sure generated code cannot touch the user's files: on
// Linux a Landlock ruleset (writes only below the temp dir, no TCP, no
// signals outside), a network namespace when unshare(1) works, and process
// group kills. Parallelism is bounded.
package sandbox

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

//go:embed guard.py
var guardSource string

// Options configure a Sandbox; zero values take upstream's defaults.
type Options struct {
	Python   string        // interpreter (default: python3 on PATH)
	Timeout  time.Duration // wall clock per program (default 5 s)
	MemLimit int64         // RLIMIT_AS/DATA/STACK bytes (default 256 MiB; <0: none)
	Parallel int           // programs at once (default GOMAXPROCS/2, at least 1)
	// MaxOutput bounds captured stdout and stderr each (default 64 KiB).
	MaxOutput int
}

// Result is one execution, as upstream's ExecutionResult.
type Result struct {
	Success        bool   `json:"success"`
	Stdout         string `json:"stdout,omitempty"`
	Stderr         string `json:"stderr,omitempty"`
	Error          string `json:"error,omitempty"` // last stderr line on failure
	Timeout        bool   `json:"timeout,omitempty"`
	MemoryExceeded bool   `json:"memory_exceeded,omitempty"`
}

// ErrNoPython is returned when no Python 3 interpreter can be found.
var ErrNoPython = errors.New("humaneval runs the generated code with python3, which was not found on PATH: install Python 3 or pass --python /path/to/python3")

// Sandbox runs programs; it is safe for concurrent use.
type Sandbox struct {
	opts     Options
	python   string
	slots    chan struct{}
	landlock bool
	wrapper  []string // e.g. unshare flags, prepended to the command

	once sync.Once
}

// New returns a sandbox. It fails with ErrNoPython when the interpreter is
// missing; isolation features are probed on first use.
func New(o Options) (*Sandbox, error) {
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Second
	}
	if o.MemLimit == 0 {
		o.MemLimit = 256 << 20
	}
	if o.Parallel <= 0 {
		o.Parallel = max(1, runtime.GOMAXPROCS(0)/2)
	}
	if o.MaxOutput <= 0 {
		o.MaxOutput = 64 << 10
	}
	py := o.Python
	if py == "" {
		py = "python3"
	}
	path, err := exec.LookPath(py)
	if err != nil {
		if o.Python != "" {
			return nil, fmt.Errorf("sandbox: python interpreter %q: %w", o.Python, err)
		}
		return nil, ErrNoPython
	}
	// Resolve launchers (pyenv shims, wrappers) to the interpreter itself,
	// like upstream's sys.executable, so nothing runs before the guard.
	out, err := exec.Command(path, "-c", "import sys; print(sys.executable)").Output()
	if err != nil {
		return nil, fmt.Errorf("sandbox: run %s: %w", path, err)
	}
	if real := strings.TrimSpace(string(out)); real != "" {
		path = real
	}
	return &Sandbox{opts: o, python: path, slots: make(chan struct{}, o.Parallel)}, nil
}

// Isolation describes the protections in force, for reports and warnings.
func (s *Sandbox) Isolation() string {
	s.probe()
	var parts []string
	parts = append(parts, "fresh temp dir", "scrubbed env", "rlimits", fmt.Sprintf("%v timeout", s.opts.Timeout))
	if s.landlock {
		parts = append(parts, "landlock (writes only in temp dir, no TCP)")
	} else {
		parts = append(parts, "no landlock: python-level write guard only")
	}
	if len(s.wrapper) > 0 {
		parts = append(parts, "network+pid namespace")
	} else {
		parts = append(parts, "no network namespace")
	}
	return strings.Join(parts, ", ")
}

func (s *Sandbox) probe() {
	s.once.Do(func() {
		s.landlock = landlockAvailable()
		if u := unshareWrapper(); u != nil {
			// Check the wrapper really works here (user namespaces may be off).
			cmd := exec.Command(u[0], append(u[1:], s.python, "-c", "pass")...)
			cmd.Env = []string{"PATH=/usr/bin:/bin"}
			if cmd.Run() == nil {
				s.wrapper = u
			}
		}
	})
}

// Program builds the python -c argument: the guard, then the code executed
// with fresh globals (upstream embeds repr(code); hex decoding yields the
// same string without re-implementing Python's repr).
func (s *Sandbox) Program(code string) string {
	mem := "None"
	if s.opts.MemLimit > 0 {
		mem = strconv.FormatInt(s.opts.MemLimit, 10)
	}
	cpu := int(s.opts.Timeout/time.Second) + 1
	landlock := "False"
	if s.landlock {
		landlock = "True"
	}
	guard := strings.NewReplacer("{maximum_memory_bytes}", mem, "{cpu}", strconv.Itoa(cpu),
		"{fsize}", strconv.Itoa(64<<20), "{landlock}", landlock).Replace(guardSource)
	return guard + "\nexec(compile(bytes.fromhex('" + hex.EncodeToString([]byte(code)) + "').decode('utf-8'), '<llm>', 'exec'), {'__name__': '__main__'})\n"
}

// maxArg is Linux's per-argument limit (MAX_ARG_STRLEN), with headroom.
const maxArg = 120 << 10

// Run executes code and reports the outcome. The error is non-nil only when
// the program could not be run at all (context cancelled, fork failure).
func (s *Sandbox) Run(ctx context.Context, code string) (Result, error) {
	s.probe()
	select {
	case s.slots <- struct{}{}:
	case <-ctx.Done():
		return Result{}, ctx.Err()
	}
	defer func() { <-s.slots }()

	prog := s.Program(code)
	if len(prog) > maxArg {
		return Result{Error: fmt.Sprintf("program too long (%d bytes)", len(code))}, nil
	}
	dir, err := os.MkdirTemp("", "nanochat-sandbox-")
	if err != nil {
		return Result{}, fmt.Errorf("sandbox: %w", err)
	}
	defer removeAll(dir)

	args := append(append([]string{}, s.wrapper...), s.python, "-c", prog)
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	cmd.Stdin = nil // /dev/null
	stdout := &capped{max: s.opts.MaxOutput}
	stderr := &capped{max: s.opts.MaxOutput}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	setProcessGroup(cmd)
	if err := cmd.Start(); err != nil {
		return Result{}, fmt.Errorf("sandbox: start %s: %w", s.python, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	timer := time.NewTimer(s.opts.Timeout)
	defer timer.Stop()
	select {
	case err = <-done:
	case <-timer.C:
		killGroup(cmd)
		<-done
		return Result{Error: "Execution timed out (process killed)", Timeout: true}, nil
	case <-ctx.Done():
		killGroup(cmd)
		<-done
		return Result{}, ctx.Err()
	}
	killGroup(cmd) // stray children of a finished program
	res := Result{Stdout: stdout.String(), Stderr: stderr.String()}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		res.Success = true
	case errors.As(err, &exitErr):
		if ws, ok := exitErr.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGXCPU {
			res.Timeout = true
		}
	default:
		return Result{}, fmt.Errorf("sandbox: run %s: %w", s.python, err)
	}
	if !res.Success {
		res.Error = "Execution failed"
		if lines := strings.Split(strings.TrimSpace(res.Stderr), "\n"); lines[len(lines)-1] != "" {
			res.Error = lines[len(lines)-1]
		}
	}
	res.MemoryExceeded = strings.Contains(res.Stderr, "MemoryError")
	return res, nil
}

// removeAll deletes dir even if the program made parts of it read-only.
func removeAll(dir string) {
	if os.RemoveAll(dir) == nil {
		return
	}
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && info.IsDir() {
			os.Chmod(p, 0o700)
		}
		return nil
	})
	os.RemoveAll(dir)
}

// capped keeps the first max bytes written to it.
type capped struct {
	bytes.Buffer
	max int
}

func (c *capped) Write(p []byte) (int, error) {
	if room := c.max - c.Len(); room > 0 {
		c.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}
