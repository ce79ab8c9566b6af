package sandbox

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The tests in this file run programs written to get out of the sandbox:
// read the host's secrets, touch files outside it, or exhaust the machine.
// Each one must be stopped by the kernel, not by the Python-level guard
// (which they all bypass).

// secret is planted in the test's environment and in files outside the
// sandbox; no program may print it.
const secret = "nanochat-sandbox-test-secret-5b1f0c"

// pySecret spells the secret so that it does not appear verbatim in the
// program text (and so in /proc/<pid>/cmdline).
const pySecret = "(b'nanochat-sandbox-' + b'test-secret-5b1f0c')"

func TestHostile(t *testing.T) {
	// A process started with the secret in its environment, as nanochat is
	// when the shell holds HF_TOKEN (t.Setenv would not show in
	// /proc/<pid>/environ, which is the environment a process started with).
	holder := exec.Command("sleep", "60")
	holder.Env = append(os.Environ(), "NANOCHAT_SANDBOX_TEST_SECRET="+secret)
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	defer holder.Wait()
	defer holder.Process.Kill()
	s := newJailed(t, Options{})

	outside := t.TempDir()
	if err := os.Chmod(outside, 0o777); err != nil {
		t.Fatal(err)
	}
	victim := filepath.Join(outside, "victim.txt")
	if err := os.WriteFile(victim, []byte("precious"), 0o666); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(victim, 0o666); err != nil {
		t.Fatal(err)
	}
	planted := filepath.Join(outside, "secret.txt")
	if err := os.WriteFile(planted, []byte(secret), 0o644); err != nil {
		t.Fatal(err)
	}
	repoFile, err := filepath.Abs("sandbox_test.go")
	if err != nil {
		t.Fatal(err)
	}
	before, err := os.Stat(victim)
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(outside, "s.sock")
	unixLn, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer unixLn.Close()
	tcpLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer tcpLn.Close()
	accepted := make(chan string, 2)
	for _, ln := range []net.Listener{unixLn, tcpLn} {
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				accepted <- ln.Addr().String()
				c.Close()
			}
		}()
	}

	tests := []struct {
		name string
		code string
		// want is the program's whole stdout when it is contained; "" means
		// the program must fail.
		want string
	}{
		{"secret in no process's environ or cmdline", `import os
found = []
for p in os.listdir('/proc'):
    for f in ('environ', 'cmdline'):
        try:
            if ` + pySecret + ` in open('/proc/%s/%s' % (p, f), 'rb').read():
                found.append(p + '/' + f)
        except OSError:
            pass
print('found', found)`, "found []\n"},
		{"/proc lists only the sandbox's processes", `import os
print([p for p in os.listdir('/proc') if p.isdigit()] == [str(os.getpid())])`, "True\n"},
		{"read a planted file outside", "print(open(" + pyq(planted) + ").read())", ""},
		{"read the repository", "print(open(" + pyq(repoFile) + ").read()[:100])", ""},
		{"read /etc/passwd", "print(open('/etc/passwd').read()[:100])", ""},
		{"chmod outside", "import posix; posix.chmod(" + pyq(victim) + ", 0o600)", ""},
		{"chown outside", "import posix; st = posix.stat(" + pyq(victim) + "); posix.chown(" + pyq(victim) + ", st.st_uid, st.st_gid)", ""},
		{"utime outside", "import posix; posix.utime(" + pyq(victim) + ", (0, 0))", ""},
		{"setxattr outside", "import os; os.setxattr(" + pyq(victim) + ", 'user.pwned', b'1')", ""},
		// The interpreter is visible (it has to be); the same calls on it
		// keep its mode and times, so they do no harm where they succeed.
		{"chmod the interpreter's stdlib", "import os, posix; posix.chmod(os.__file__, posix.stat(os.__file__).st_mode & 0o7777)", ""},
		{"utime the interpreter's stdlib", "import os, posix; st = posix.stat(os.__file__); posix.utime(os.__file__, ns=(st.st_atime_ns, st.st_mtime_ns))", ""},
		{"write next to the interpreter's stdlib", "import os; open(os.path.join(os.path.dirname(os.__file__), 'pwned.py'), 'w').write('x')", ""},
		{"remount a read-only directory read-write", "import ctypes, os; libc = ctypes.CDLL(None, use_errno=True)\nif libc.mount(b'none', os.path.dirname(os.__file__).encode(), None, 32 | 4096, None) != 0: raise OSError(ctypes.get_errno(), 'mount')", ""},
		{"no capabilities", "print([l.split()[1] for l in open('/proc/self/status') if l.startswith('CapEff')][0])", "0000000000000000\n"},
		{"only stdin, stdout and stderr are open", "import os; print(len(os.listdir('/proc/self/fd')) <= 4)", "True\n"},
		{"connect to a host unix socket", "import socket; s = socket.socket(socket.AF_UNIX); s.settimeout(1); s.connect(" + pyq(sock) + ")", ""},
		{"connect to a host TCP listener", "import socket; s = socket.socket(); s.settimeout(1); s.connect(('127.0.0.1', " + strconv.Itoa(tcpLn.Addr().(*net.TCPAddr).Port) + "))", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, s, tt.code)
			if strings.Contains(r.Stdout+r.Stderr, secret) {
				t.Fatalf("the secret leaked: stdout %q stderr %q", r.Stdout, r.Stderr)
			}
			if tt.want == "" {
				if r.Success {
					t.Errorf("succeeded (stdout %q), want it refused", r.Stdout)
				}
				return
			}
			if !r.Success || r.Stdout != tt.want {
				t.Errorf("stdout = %q (success %v, stderr %q), want %q", r.Stdout, r.Success, r.Stderr, tt.want)
			}
		})
	}

	after, err := os.Stat(victim)
	if err != nil {
		t.Fatal(err)
	}
	if after.Mode() != before.Mode() || !after.ModTime().Equal(before.ModTime()) {
		t.Errorf("victim changed: mode %v → %v, mtime %v → %v", before.Mode(), after.Mode(), before.ModTime(), after.ModTime())
	}
	if n, err := syscall.Getxattr(victim, "user.pwned", nil); err == nil {
		t.Errorf("victim got an extended attribute (%d bytes)", n)
	}
	select {
	case addr := <-accepted:
		t.Errorf("the sandbox connected to %s", addr)
	default:
	}
}

// TestHomeSecret plants a file in the user's home directory, where
// credentials live (~/.netrc, ~/.cache/huggingface/token, ...).
func TestHomeSecret(t *testing.T) {
	home, err := os.UserHomeDir()
	if err != nil {
		t.Skipf("no home directory: %v", err)
	}
	f, err := os.CreateTemp(home, ".nanochat-sandbox-test-*")
	if err != nil {
		t.Skipf("cannot plant a file in %s: %v", home, err)
	}
	t.Cleanup(func() { os.Remove(f.Name()) })
	f.WriteString(secret)
	f.Close()
	s := newJailed(t, Options{})
	r := run(t, s, "print(open("+pyq(f.Name())+").read())")
	if r.Success || strings.Contains(r.Stdout, secret) {
		t.Errorf("read %s: success %v, stdout %q", f.Name(), r.Success, r.Stdout)
	}
}

// TestForkBomb forks with posix.fork, which upstream's os.fork = None does
// not cover. The number of processes is bounded, the sandbox keeps working
// and the host can still start processes.
func TestForkBomb(t *testing.T) {
	limitModes(t, Options{Timeout: 20 * time.Second}, func(t *testing.T, s *Sandbox) {
		r := run(t, s, `import posix, time
n = 0
for i in range(300):
    try:
        pid = posix.fork()
    except OSError:
        break
    if pid == 0:
        time.sleep(3)
        posix._exit(0)
    n += 1
print('forked', n)`)
		n, err := strconv.Atoi(strings.TrimPrefix(strings.TrimSpace(r.Stdout), "forked "))
		if err != nil {
			t.Fatalf("stdout %q, stderr %q", r.Stdout, r.Stderr)
		}
		if n >= 64 {
			t.Fatalf("forked %d processes, want a bound well below 64", n)
		}
		t.Logf("forked %d processes before the bound", n)

		// A real bomb: every process forks for 2 s. Only run where the
		// bound above holds.
		run(t, s, "import posix, time\nend = time.time() + 2\nwhile time.time() < end:\n    try:\n        posix.fork()\n    except OSError:\n        pass")
		if r := run(t, s, "print('alive')"); !r.Success || r.Stdout != "alive\n" {
			t.Errorf("after the bomb: success %v, stdout %q, stderr %q", r.Success, r.Stdout, r.Stderr)
		}
		if err := exec.Command("true").Run(); err != nil {
			t.Errorf("the host cannot start a process after the bomb: %v", err)
		}
	})
}

// TestTotalMemory allocates 2.4 GB across 12 children of 200 MiB each
// (each under the per-process limit). Children that still hold theirs
// after 2 s held it at the same time.
func TestTotalMemory(t *testing.T) {
	limitModes(t, Options{Timeout: 20 * time.Second}, func(t *testing.T, s *Sandbox) {
		r := run(t, s, `import posix, time
for i in range(12):
    try:
        pid = posix.fork()
    except OSError:
        continue
    if pid == 0:
        try:
            b = b'\x01' * (200 << 20)
            time.sleep(2)
            print('held', flush=True)
        finally:
            posix._exit(0)
while True:
    try:
        posix.wait()
    except ChildProcessError:
        break`)
		held := strings.Count(r.Stdout, "held")
		t.Logf("%d children held 200 MiB at once (memory exceeded: %v)", held, r.MemoryExceeded)
		if held*200 > 2048 {
			t.Errorf("%d children held 200 MiB each at once (%d MiB), want at most 2 GiB in all", held, held*200)
		}
		if limit := cgroupMemory(s); limit > 0 && int64(held*200)<<20 > limit {
			t.Errorf("%d children held 200 MiB each at once, over the cgroup's %d MiB", held, limit>>20)
		}
	})
}

// TestDiskQuota writes 1 GiB in files of 16 MiB (each under the
// per-file RLIMIT_FSIZE).
func TestDiskQuota(t *testing.T) {
	s := newJailed(t, Options{Timeout: 60 * time.Second})
	r := run(t, s, `import os
total = 0
try:
    for i in range(64):
        with open('f%d' % i, 'wb') as f:
            for j in range(4):
                f.write(b'\0' * (4 << 20))
                f.flush()
                total += 4
except OSError as e:
    print('stopped:', e)
print('MiB', total)`)
	i := strings.LastIndex(r.Stdout, "MiB ")
	if i < 0 {
		t.Fatalf("stdout %q, stderr %q", r.Stdout, r.Stderr)
	}
	mib, err := strconv.Atoi(strings.TrimSpace(r.Stdout[i+4:]))
	if err != nil {
		t.Fatalf("stdout %q: %v", r.Stdout, err)
	}
	t.Logf("wrote %d MiB (%s)", mib, strings.SplitN(r.Stdout, "\n", 2)[0])
	if mib > 128 {
		t.Errorf("wrote %d MiB, want at most 128", mib)
	}
}
