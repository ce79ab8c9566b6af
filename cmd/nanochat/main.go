// Command nanochat talks to and benchmarks nanochat checkpoints: a terminal
// chat app, one-shot chat, evaluations, benchmarks and an OpenAI-compatible
// server, all in one binary.
package main

import (
	"errors"
	"fmt"
	"os"
)

func main() { os.Exit(run()) }

func run() int {
	cmd := newRootCmd()
	if err := cmd.Execute(); err != nil {
		// An error may quote a remote server or a file: on a terminal its
		// control characters are shown, not obeyed.
		fmt.Fprintln(os.Stderr, "nanochat:", visible(os.Stderr, err.Error()))
		var ue usageError
		if errors.As(err, &ue) {
			return 2
		}
		return 1
	}
	return 0
}

// usageError marks errors caused by how the command was invoked (exit 2).
type usageError struct{ error }
