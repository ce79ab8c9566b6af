package sandbox

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// newSandbox returns a sandbox for tests of upstream's semantics: the jail
// where this machine can build it, else the unsafe fallback.
func newSandbox(t *testing.T, o Options) *Sandbox {
	t.Helper()
	s, err := newOrSkip(t, o)
	if err != nil {
		o.Unsafe = true
		s, err = New(o)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("isolation: %s", s.Isolation())
	return s
}

// newOrSkip skips without python3, fails when New refuses although this
// machine has the namespaces the jail needs, and returns the
// *UnavailableError otherwise.
func newOrSkip(t *testing.T, o Options) (*Sandbox, error) {
	t.Helper()
	s, err := New(o)
	if errors.Is(err, ErrNoPython) {
		t.Skip("python3 not installed")
	}
	var u *UnavailableError
	if !errors.As(err, &u) {
		if err != nil {
			t.Fatal(err)
		}
		return s, nil
	}
	if why := namespacesMissing(); why == "" {
		t.Fatalf("this machine has user, mount and PID namespaces, yet New refuses: %v", err)
	} else {
		t.Logf("no namespaces here (%s): %v", why, err)
	}
	return nil, err
}

func run(t *testing.T, s *Sandbox, code string) Result {
	t.Helper()
	r, err := s.Run(context.Background(), code)
	if err != nil {
		t.Fatalf("Run(%q): %v", code, err)
	}
	return r
}

func TestRun(t *testing.T) {
	s := newSandbox(t, Options{})
	tests := []struct {
		name    string
		code    string
		success bool
		stdout  string
		errSub  string
	}{
		{"hello", "print('hello world')", true, "hello world\n", ""},
		{"exception", "1/0", false, "", "ZeroDivisionError"},
		{"assert", "def check(f):\n    assert f(2) == 5\ncheck(lambda x: x*2)", false, "", "AssertionError"},
		{"sys.exit(0) succeeds", "import sys; sys.exit(0)", true, "", ""},
		{"exit is disabled", "exit(0)", false, "", "TypeError"},
		{"stdin closed", "input()", false, "", "EOFError"},
		{"os.system disabled", "import os; os.system('echo pwned')", false, "", "TypeError"},
		{"subprocess disabled", "import subprocess; subprocess.Popen(['ls'])", false, "", "TypeError"},
		{"fork disabled", "import os; os.fork()", false, "", "TypeError"},
		{"kill disabled", "import os; os.kill(1, 9)", false, "", "TypeError"},
		// Python itself may add LC_CTYPE (PEP 538 locale coercion).
		{"env scrubbed", "import os; print(sorted(k for k in os.environ if k not in ('OMP_NUM_THREADS', 'LC_CTYPE')), os.environ['PATH'])", true, "['PATH'] /usr/bin:/bin\n", ""},
		{"fresh globals", "print(__name__, 'check' in globals())", true, "__main__ False\n", ""},
		{"tricky string", "s = 'it\\'s \"quoted\" \\\\ {braces} \\n'; print(len(s))", true, "26\n", ""},
		{"unicode", "print('ünïcødé ✓')", true, "ünïcødé ✓\n", ""},
		{"writes land in the temp dir", "open('landmine.txt', 'w').write('x'); print(open('landmine.txt').read())", true, "x\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, s, tt.code)
			if r.Success != tt.success {
				t.Fatalf("success = %v, want %v (stderr %q)", r.Success, tt.success, r.Stderr)
			}
			if tt.stdout != "" && r.Stdout != tt.stdout {
				t.Errorf("stdout = %q, want %q", r.Stdout, tt.stdout)
			}
			if tt.errSub != "" && !strings.Contains(r.Error, tt.errSub) {
				t.Errorf("error = %q, want it to contain %q", r.Error, tt.errSub)
			}
		})
	}
	if _, err := os.Stat("landmine.txt"); err == nil {
		t.Error("landmine.txt leaked into the test's working directory")
	}
}

func TestTimeout(t *testing.T) {
	s := newSandbox(t, Options{Timeout: time.Second})
	start := time.Now()
	r := run(t, s, "while True: pass")
	if !r.Timeout || r.Success {
		t.Errorf("got success=%v timeout=%v, want a timeout", r.Success, r.Timeout)
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("not killed promptly: %v", d)
	}
	// A program that sleeps in a child process is killed with its group.
	start = time.Now()
	r = run(t, s, "import time\ntime.sleep(30)")
	if !r.Timeout || time.Since(start) > 4*time.Second {
		t.Errorf("sleep: timeout=%v after %v", r.Timeout, time.Since(start))
	}
}

func TestMemoryLimit(t *testing.T) {
	s := newSandbox(t, Options{})
	r := run(t, s, "x = bytearray(1024 * 1024 * 1024)")
	if r.Success || !r.MemoryExceeded {
		t.Errorf("got success=%v memory_exceeded=%v (stderr %q), want a MemoryError", r.Success, r.MemoryExceeded, r.Stderr)
	}
	// A growing list (memory bomb) fails too, without taking the machine down.
	r = run(t, s, "a = []\nwhile True: a.append(' ' * 10**6)")
	if r.Success || !(r.MemoryExceeded || r.Timeout) {
		t.Errorf("memory bomb: success=%v memory=%v timeout=%v", r.Success, r.MemoryExceeded, r.Timeout)
	}
}

// TestCannotTouchUserFiles tries to write, truncate and delete a file
// outside the sandbox's temp dir, in every way the guard does not cover.
func TestCannotTouchUserFiles(t *testing.T) {
	s := newSandbox(t, Options{})
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim.txt")
	if err := os.WriteFile(victim, []byte("precious"), 0o666); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	attacks := []string{
		"open(" + pyq(victim) + ", 'w').write('pwned')",
		"open(" + pyq(victim) + ", 'a').write('pwned')",
		"open(" + pyq(filepath.Join(dir, "new.txt")) + ", 'x').write('pwned')",
		"import pathlib; pathlib.Path(" + pyq(victim) + ").write_text('pwned')",
		"import pathlib; pathlib.Path(" + pyq(victim) + ").unlink()",
		"import os; fd = os.open(" + pyq(victim) + ", os.O_WRONLY | os.O_TRUNC); os.write(fd, b'pwned')",
		"import io; io.FileIO(" + pyq(victim) + ", 'w').write(b'pwned')",
		"import posix; posix.unlink(" + pyq(victim) + ")",
		"import posix; posix.rename(" + pyq(victim) + ", " + pyq(victim+".moved") + ")",
		"import shutil; shutil.copy('/etc/hostname', " + pyq(victim) + ")",
	}
	for _, code := range attacks {
		r := run(t, s, code)
		if r.Success && !s.landlock {
			// Without Landlock only the Python-level guard stands; posix.*
			// bypasses it. Report it rather than fail on such kernels.
			t.Logf("no landlock: %q succeeded", code)
			continue
		}
		if r.Success {
			t.Errorf("%q succeeded, want it refused", code)
		}
		got, err := os.ReadFile(victim)
		if err != nil || string(got) != "precious" {
			t.Fatalf("after %q: victim = %q, %v", code, got, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "new.txt")); err == nil {
		t.Error("new.txt was created outside the sandbox")
	}
}

func TestNoNetwork(t *testing.T) {
	s := newSandbox(t, Options{})
	r := run(t, s, "import socket\ns = socket.socket()\ns.settimeout(1)\ns.connect(('1.1.1.1', 80))")
	if r.Success {
		t.Errorf("TCP connect succeeded (isolation: %s)", s.Isolation())
	}
}

func TestCancel(t *testing.T) {
	s := newSandbox(t, Options{Timeout: 30 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := s.Run(ctx, "while True: pass"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("cancel took %v", d)
	}
}

func TestMissingPython(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	if _, err := New(Options{}); !errors.Is(err, ErrNoPython) {
		t.Errorf("err = %v, want ErrNoPython", err)
	}
	if _, err := New(Options{Python: "/nonexistent/python3"}); err == nil || !strings.Contains(err.Error(), "/nonexistent/python3") {
		t.Errorf("err = %v, want it to name the interpreter", err)
	}
}

// pyq quotes a path as a Python string literal.
func pyq(s string) string { return "'" + strings.ReplaceAll(s, "'", "\\'") + "'" }

// TestWriteGuardWithoutLandlock checks the Python-level fallback used on
// kernels without Landlock.
func TestWriteGuardWithoutLandlock(t *testing.T) {
	s := newSandbox(t, Options{Unsafe: true})
	s.jail, s.unsafeWhy, s.landlock = nil, "testing the fallback", false
	victim := filepath.Join(t.TempDir(), "victim.txt")
	os.WriteFile(victim, []byte("precious"), 0o666)
	for _, code := range []string{
		"open(" + pyq(victim) + ", 'w').write('pwned')",
		"import os; os.open(" + pyq(victim) + ", os.O_WRONLY | os.O_TRUNC)",
	} {
		if r := run(t, s, code); r.Success || !strings.Contains(r.Error, "PermissionError") {
			t.Errorf("%q: success=%v error=%q, want PermissionError", code, r.Success, r.Error)
		}
	}
	if r := run(t, s, "open('ok.txt', 'w').write('x'); print(open('ok.txt').read())"); !r.Success {
		t.Errorf("write inside the temp dir failed: %q", r.Stderr)
	}
	if got, _ := os.ReadFile(victim); string(got) != "precious" {
		t.Errorf("victim = %q", got)
	}
}

// TestRefusesWithoutJail makes the jail impossible (the interpreter inside
// the home directory, which the jail would have to expose): New refuses,
// naming --unsafe-sandbox, and Options.Unsafe runs the program anyway.
func TestRefusesWithoutJail(t *testing.T) {
	path, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed")
	}
	info, err := probePython(path)
	if err != nil {
		t.Fatal(err)
	}
	prefix, err := filepath.EvalSymlinks(info.Prefixes[0])
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("HOME", prefix)
	_, err = New(Options{})
	var u *UnavailableError
	if !errors.As(err, &u) || !strings.Contains(err.Error(), "--unsafe-sandbox") {
		t.Fatalf("New = %v, want an *UnavailableError naming --unsafe-sandbox", err)
	}
	t.Log(err)
	s, err := New(Options{Unsafe: true})
	if err != nil {
		t.Fatal(err)
	}
	if s.Jailed() || !strings.HasPrefix(s.Isolation(), "UNSAFE") {
		t.Errorf("jailed %v, isolation %q; want the unsafe fallback, said so", s.Jailed(), s.Isolation())
	}
	if r := run(t, s, "print(6 * 7)"); !r.Success || r.Stdout != "42\n" {
		t.Errorf("unsafe run: %+v", r)
	}
}
