// Package sandbox runs untrusted Python programs (HumanEval completions) the
// way upstream nanochat's execution.py does — a fresh python3 process with
// a scrubbed environment, no stdin, upstream's rlimits and guard, and a 5 s
// wall-clock timeout — inside a jail the kernel enforces: on Linux, new
// user, mount, PID, network, IPC, UTS and cgroup namespaces around a root
// that holds only the interpreter and its libraries (read-only), a fresh
// /proc and a size-capped tmpfs as the one writable place, no capabilities,
// and, where a cgroup can be made, a memory and task limit for the whole
// sandbox. Where the jail cannot be built New refuses, unless
// Options.Unsafe accepts the weaker fallback (temp dir, rlimits, Landlock
// and a network namespace where present).
//
// The jail is set up by this package's own binary, re-executed: importing
// the package installs an init function that takes over a process started
// as "nanochat-sandbox" (see jailinit_linux.go), so every binary that
// imports it, test binaries included, can run programs.
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
	"time"
)

//go:embed guard.py
var guardSource string

// Options configure a Sandbox; zero values take the defaults.
type Options struct {
	Python   string        // interpreter (default: python3 on PATH)
	Timeout  time.Duration // wall clock per program (default 5 s)
	MemLimit int64         // RLIMIT_AS/DATA/STACK bytes per process (default 256 MiB; <0: none)
	Parallel int           // programs at once (default GOMAXPROCS/2, at least 1)
	// MaxOutput bounds captured stdout and stderr each (default 64 KiB).
	MaxOutput int
	// Memory bounds one program with all its processes and the files it
	// writes, where a cgroup can be made (default 512 MiB).
	Memory int64
	// Procs bounds the tasks (processes and threads) of one program
	// (default 8): pids.max where a cgroup can be made, and RLIMIT_NPROC,
	// which counts per sandbox since Linux 5.14 (its own user namespace).
	Procs int
	// Disk is the size of the writable tmpfs (default 64 MiB).
	Disk int64
	// Unsafe runs programs with weaker isolation where the jail cannot be
	// built, instead of refusing (the --unsafe-sandbox flag).
	Unsafe bool
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

// UnavailableError is returned by New when this machine cannot build the
// jail and Options.Unsafe is not set.
type UnavailableError struct {
	Reason string // what the kernel lacks, e.g. "user namespaces are disabled"
}

func (e *UnavailableError) Error() string {
	return "humaneval sandbox: cannot isolate model-written code here: " + e.Reason +
		"; HumanEval refuses to run it without that isolation (--unsafe-sandbox runs it anyway, with a temp dir, rlimits, and Landlock and a network namespace where available)"
}

// Sandbox runs programs; it is safe for concurrent use.
type Sandbox struct {
	opts   Options
	python string
	slots  chan struct{}

	jail      *jail    // nil: the unsafe fallback
	unsafeWhy string   // why the jail is not used
	landlock  bool     // the kernel has Landlock (the guard applies it)
	wrapper   []string // unsafe fallback: unshare flags, prepended to the command
}

// New returns a sandbox. It fails with ErrNoPython when the interpreter is
// missing and with *UnavailableError when the jail cannot be built here
// (unless o.Unsafe). It runs python a few times to find what the jail must
// contain and to check that the jail works.
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
	if o.Memory <= 0 {
		o.Memory = 512 << 20
	}
	if o.Procs <= 0 {
		o.Procs = 8
	}
	if o.Disk <= 0 {
		o.Disk = 64 << 20
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
	// like upstream's sys.executable, so nothing runs before the guard, and
	// learn which files it needs.
	info, err := probePython(path)
	if err != nil {
		return nil, err
	}
	s := &Sandbox{opts: o, python: info.Executable, slots: make(chan struct{}, o.Parallel)}
	s.landlock = landlockAvailable()
	j, err := newJail(o, info)
	if err == nil {
		s.jail = j
		err = s.check()
	}
	if err != nil {
		s.jail = nil
		why := err.Error() + namespaceHint()
		if !o.Unsafe {
			return nil, &UnavailableError{Reason: why}
		}
		s.unsafeWhy = why
		s.wrapper = unshareWrapper(s.python)
	}
	return s, nil
}

// check runs a trivial program in the jail.
func (s *Sandbox) check() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := s.Run(ctx, "print('ok')")
	if err != nil {
		return err
	}
	if !r.Success || r.Stdout != "ok\n" {
		return fmt.Errorf("a test program failed in the jail: %s", strings.TrimSpace(r.Stderr))
	}
	return nil
}

// Jailed reports whether programs run in the jail (false: the unsafe
// fallback that Options.Unsafe accepts).
func (s *Sandbox) Jailed() bool { return s.jail != nil }

// Isolation describes the protections in force, for reports and warnings.
func (s *Sandbox) Isolation() string {
	if s.jail != nil {
		return s.jail.describe(s.opts) + fmt.Sprintf(", rlimits, %v timeout", s.opts.Timeout) + landlockNote(s.landlock)
	}
	parts := []string{"UNSAFE (" + s.unsafeWhy + "): fresh temp dir", "scrubbed env", "rlimits", fmt.Sprintf("%v timeout", s.opts.Timeout)}
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

func landlockNote(on bool) string {
	if on {
		return ", landlock"
	}
	return ""
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
// the program could not be run at all (context cancelled, fork failure, a
// jail that failed to set up).
func (s *Sandbox) Run(ctx context.Context, code string) (Result, error) {
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
	stdout := &capped{max: s.opts.MaxOutput}
	stderr := &capped{max: s.opts.MaxOutput}
	var p *started
	var err error
	if s.jail != nil {
		p, err = s.jail.start(s.opts, []string{s.python, "-c", prog}, stdout, stderr)
	} else {
		p, err = s.startUnsafe(prog, stdout, stderr)
	}
	if err != nil {
		return Result{}, fmt.Errorf("sandbox: start %s: %w", s.python, err)
	}
	defer p.cleanup()

	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	timer := time.NewTimer(s.opts.Timeout)
	defer timer.Stop()
	select {
	case err = <-done:
	case <-timer.C:
		killGroup(p.cmd)
		<-done
		return Result{Error: "Execution timed out (process killed)", Timeout: true}, nil
	case <-ctx.Done():
		killGroup(p.cmd)
		<-done
		return Result{}, ctx.Err()
	}
	killGroup(p.cmd) // stray children of a finished program
	oom, setupErr := p.finish()
	if setupErr != nil {
		return Result{}, fmt.Errorf("sandbox: %w", setupErr)
	}
	res := Result{Stdout: stdout.String(), Stderr: stderr.String()}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		res.Success = true
	case errors.As(err, &exitErr):
		res.Timeout = cpuLimitKilled(exitErr)
	default:
		return Result{}, fmt.Errorf("sandbox: run %s: %w", s.python, err)
	}
	if !res.Success {
		res.Error = "Execution failed"
		if lines := strings.Split(strings.TrimSpace(res.Stderr), "\n"); lines[len(lines)-1] != "" {
			res.Error = lines[len(lines)-1]
		}
	}
	res.MemoryExceeded = oom || strings.Contains(res.Stderr, "MemoryError")
	return res, nil
}

// started is a program that runs.
type started struct {
	cmd *exec.Cmd
	// finish, called once the program has exited, says whether the
	// sandbox's cgroup killed a process for memory and whether the jail
	// failed to set up (an error of ours, not of the program).
	finish  func() (oom bool, setup error)
	cleanup func()
}

// startUnsafe starts the program the weaker way: in a fresh temp dir,
// under unshare(1) where it works.
func (s *Sandbox) startUnsafe(prog string, stdout, stderr *capped) (*started, error) {
	dir, err := os.MkdirTemp("", "nanochat-sandbox-")
	if err != nil {
		return nil, err
	}
	args := append(append([]string{}, s.wrapper...), s.python, "-c", prog)
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	cmd.Stdin = nil // /dev/null
	cmd.Stdout, cmd.Stderr = stdout, stderr
	setProcessGroup(cmd)
	if err := cmd.Start(); err != nil {
		removeAll(dir)
		return nil, err
	}
	return &started{cmd: cmd, finish: func() (bool, error) { return false, nil }, cleanup: func() { removeAll(dir) }}, nil
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
