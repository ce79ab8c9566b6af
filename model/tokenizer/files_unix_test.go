//go:build unix

package tokenizer

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// tokenizer.pkl must be a regular file: a named pipe would block Load
// forever and /dev/zero would never end.
func TestLoadRefusesNonRegularFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.pkl")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatalf("mkfifo: %v", err)
	}
	dev := filepath.Join(dir, "zero.pkl")
	if err := os.Symlink("/dev/zero", dev); err != nil {
		t.Fatalf("symlink: %v", err)
	}
	loop := filepath.Join(dir, "loop.pkl")
	if err := os.Symlink(loop, loop); err != nil {
		t.Fatalf("symlink: %v", err)
	}
	for _, tc := range []struct{ path, errHas string }{
		{fifo, "not a regular file (named pipe)"},
		{dev, "not a regular file (character device)"},
		{loop, "too many levels of symbolic links"},
		{dir, "not a regular file (directory)"},
	} {
		within(t, 10*time.Second, func() {
			_, err := Load(tc.path)
			if err == nil || !strings.Contains(err.Error(), tc.path) || !strings.Contains(err.Error(), tc.errHas) {
				t.Errorf("Load(%s) error = %v, want one naming it and saying %q", tc.path, err, tc.errHas)
			}
		})
	}
}
