package main

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

// TestFailure: Ctrl-C ends a command with "interrupted" and status 130,
// never Go's "context canceled"; usage errors exit 2.
func TestFailure(t *testing.T) {
	for _, tt := range []struct {
		err  error
		msg  string
		code int
	}{
		{context.Canceled, "interrupted", 130},
		{fmt.Errorf("pull gsm8k: shard 1: %w", context.Canceled), "interrupted", 130},
		{usageError{errors.New("--top-p 2: want 0 < p ≤ 1")}, "--top-p 2: want 0 < p ≤ 1", 2},
		{errors.New("load checkpoint: truncated"), "load checkpoint: truncated", 1},
	} {
		if msg, code := failure(tt.err); msg != tt.msg || code != tt.code {
			t.Errorf("failure(%v) = %q, %d; want %q, %d", tt.err, msg, code, tt.msg, tt.code)
		}
	}
}
