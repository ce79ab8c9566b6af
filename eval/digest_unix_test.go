//go:build unix

package eval

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestHostileDigestRefusesNamedPipe: a FIFO named like a checkpoint is an
// error at once, never a read that blocks forever.
func TestHostileDigestRefusesNamedPipe(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "model_000001.pt")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatalf("mkfifo: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := Digest(fifo, filepath.Join(dir, "meta_000001.json"))
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Fatalf("digest of a FIFO: %v, want a not-a-regular-file error", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("digest of a FIFO blocked")
	}
}
