// Command nanochat talks to and benchmarks nanochat checkpoints: a terminal
// chat app, one-shot chat, evaluations, benchmarks and an OpenAI-compatible
// server, all in one binary.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
)

func main() { os.Exit(run()) }

func run() int {
	cmd := newRootCmd()
	if err := cmd.Execute(); err != nil {
		msg, code := failure(err)
		// An error may quote a remote server or a file: on a terminal its
		// control characters are shown, not obeyed.
		fmt.Fprintln(os.Stderr, "nanochat:", visible(os.Stderr, msg))
		return code
	}
	return 0
}

// failure is what a failed command prints and its exit status: 2 for a
// usage error, 130 (as for SIGINT) for one stopped by Ctrl-C, whose
// "context canceled" says nothing to a user, 1 otherwise.
func failure(err error) (string, int) {
	var ue usageError
	switch {
	case errors.As(err, &ue):
		return err.Error(), 2
	case errors.Is(err, context.Canceled):
		return "interrupted", 130
	}
	return err.Error(), 1
}

// usageError marks errors caused by how the command was invoked (exit 2).
type usageError struct{ error }
