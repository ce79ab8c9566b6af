//go:build !unix

package sandbox

import "os/exec"

func setProcessGroup(cmd *exec.Cmd) {}

func killGroup(cmd *exec.Cmd) {
	if cmd.Process != nil {
		cmd.Process.Kill()
	}
}

func cpuLimitKilled(e *exec.ExitError) bool { return false }
