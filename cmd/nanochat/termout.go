package main

import (
	"io"
	"os"

	"github.com/nanochat-go/nanochat/tui/termsafe"
)

// onTerminal reports whether w is a terminal. Tests replace it.
var onTerminal = func(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && isTerminal(f)
}

// untrusted returns where to print text that did not come from us (a
// model's reply, a server's answer, a history file) and a flush to call
// when done. On a terminal it is a termsafe.Writer, so control characters
// are shown (ESC as ^[) instead of acting on the terminal; anywhere else it
// is w itself, so a pipe or a file gets the bytes exactly as they came.
func untrusted(w io.Writer) (io.Writer, func()) {
	if !onTerminal(w) {
		return w, func() {}
	}
	tw := termsafe.NewWriter(w)
	return tw, func() { _ = tw.Flush() }
}

// visible is s as it may be printed to w: with its control characters
// shown when w is a terminal, as it is otherwise.
func visible(w io.Writer, s string) string {
	if onTerminal(w) {
		return termsafe.String(s)
	}
	return s
}
