// Command nanochat talks to and benchmarks nanochat checkpoints: a terminal
// chat app, one-shot chat, evaluations, benchmarks and an OpenAI-compatible
// server, all in one binary.
package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

func main() { os.Exit(run()) }

func run() int {
	cmd := newRootCmd()
	if err := cmd.Execute(); err != nil {
		var ue usageError
		if errors.As(err, &ue) || isCobraUsage(err) {
			fmt.Fprintln(os.Stderr, "nanochat:", err)
			return 2
		}
		fmt.Fprintln(os.Stderr, "nanochat:", err)
		return 1
	}
	return 0
}

// usageError marks errors caused by how the command was invoked (exit 2).
type usageError struct{ error }

// isCobraUsage recognises Cobra's own argument errors.
func isCobraUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "accepts ", "requires at least", "requires at most", "unknown flag", "unknown shorthand"} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}
