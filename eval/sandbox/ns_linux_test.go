package sandbox

import (
	"os"
	"os/exec"
	"syscall"
	"testing"
)

// namespacesMissing says why this process cannot start a program in new
// user, mount, PID and network namespaces, or "" when it can.
func namespacesMissing() string {
	sh, err := exec.LookPath("sh")
	if err != nil {
		return "no sh to try with"
	}
	cmd := exec.Command(sh, "-c", "exit 0")
	uid, gid := os.Geteuid(), os.Getegid()
	if uid == 0 {
		uid, gid = 65534, 65534
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS | syscall.CLONE_NEWPID | syscall.CLONE_NEWNET,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: uid, Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: gid, Size: 1}},
	}
	if err := cmd.Run(); err != nil {
		return err.Error()
	}
	return ""
}

// limitModes runs f on a jail with its cgroup, where this machine gives
// one, and on one without (RLIMIT_NPROC and per-process limits only).
func limitModes(t *testing.T, o Options, f func(t *testing.T, s *Sandbox)) {
	t.Run("cgroup", func(t *testing.T) {
		s := newJailed(t, o)
		if s.jail.cgroups == nil {
			t.Skipf("no cgroup here: %s", s.jail.cgroupWhy)
		}
		f(t, s)
	})
	t.Run("rlimits", func(t *testing.T) {
		s := newJailed(t, o)
		s.jail.cgroups, s.jail.cgroupWhy = nil, "disabled by the test"
		f(t, s)
	})
}

// cgroupMemory is the memory limit of the sandbox's cgroup, 0 if none.
func cgroupMemory(s *Sandbox) int64 {
	if s.jail == nil || s.jail.cgroups == nil {
		return 0
	}
	return s.opts.Memory
}

// newJailed returns a sandbox with the jail, or skips where the kernel
// cannot build one. Where it can (namespaces work) and New still refuses,
// the test fails.
func newJailed(t *testing.T, o Options) *Sandbox {
	t.Helper()
	s, err := newOrSkip(t, o)
	if err != nil {
		t.Skipf("no jail on this machine (HumanEval refuses to run here): %v", err)
	}
	t.Logf("isolation: %s", s.Isolation())
	return s
}
