package sandbox

import (
	"os"
	"os/exec"
	"syscall"
)

// landlockAvailable asks the kernel for its Landlock ABI version
// (landlock_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION)).
func landlockAvailable() bool {
	abi, _, errno := syscall.Syscall(444, 0, 0, 1)
	return errno == 0 && int(abi) >= 1
}

// unshareWrapper returns, for the unsafe fallback, the unshare(1) prefix
// that gives the program its own network and PID namespaces (no network;
// killing it kills every process it started), or nil when unshare is
// missing or does not work here. Without root a user namespace is needed
// as well.
func unshareWrapper(python string) []string {
	path, err := exec.LookPath("unshare")
	if err != nil {
		return nil
	}
	w := []string{path, "--net", "--pid", "--fork", "--kill-child"}
	if os.Geteuid() != 0 {
		w = append(w, "--user", "--map-root-user")
	}
	cmd := exec.Command(w[0], append(w[1:], python, "-c", "pass")...)
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	if cmd.Run() != nil {
		return nil
	}
	return w
}
