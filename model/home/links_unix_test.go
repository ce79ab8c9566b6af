//go:build unix

package home

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// within runs fn and fails the test if it has not returned after d.
func within(t *testing.T, d time.Duration, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("still running after %v: it hangs", d)
	}
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, link); err != nil {
		t.Fatalf("symlink: %v", err)
	}
}

func mkfifo(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(path, 0o644); err != nil {
		t.Fatalf("mkfifo: %v", err)
	}
}

// Symlinked tag directories and checkpoint files count, as they do for
// upstream (os.path.isdir, glob): a checkpoint's size is its target's.
func TestScanFollowsSymlinks(t *testing.T) {
	dir, elsewhere := t.TempDir(), t.TempDir()
	touch(t, filepath.Join(elsewhere, "run", "model_000005.pt"))
	big := filepath.Join(elsewhere, "big.pt")
	if err := os.WriteFile(big, make([]byte, 1000), 0o644); err != nil {
		t.Fatal(err)
	}
	symlink(t, filepath.Join(elsewhere, "run"), filepath.Join(dir, "base_checkpoints", "d8"))
	symlink(t, big, filepath.Join(dir, "base_checkpoints", "d2", "model_000007.pt"))
	symlink(t, "loop", filepath.Join(dir, "base_checkpoints", "loop"))                                           // a loop: not a tag
	symlink(t, "nowhere", filepath.Join(dir, "base_checkpoints", "d9"))                                          // dangling: not a tag
	symlink(t, filepath.Join(elsewhere, "run"), filepath.Join(dir, "base_checkpoints", "d2", "model_000009.pt")) // a directory: not a step
	var all []Checkpoint
	within(t, 10*time.Second, func() {
		var err error
		if all, err = Scan(dir); err != nil {
			t.Error(err)
		}
	})
	var names []string
	for _, c := range all {
		names = append(names, c.Name())
	}
	if got, want := strings.Join(names, " "), "base/d8/5 base/d2/7"; got != want {
		t.Fatalf("Scan: got %s, want %s", got, want)
	}
	if all[1].Size != 1000 {
		t.Errorf("symlinked checkpoint: Size %d, want its target's 1000", all[1].Size)
	}
	if c, err := Resolve(dir, "base", "", -1); err != nil || c.Name() != "base/d8/5" {
		t.Errorf("Resolve default: %+v, %v; want base/d8/5", c, err)
	}
}

// A named pipe or a symlink loop where a directory is expected is an error
// naming it, never a scan that blocks forever on opening a pipe; a pipe
// named like a checkpoint is listed (loading it then says what it is).
func TestScanNeverBlocks(t *testing.T) {
	dir := t.TempDir()
	mkfifo(t, filepath.Join(dir, "chatsft_checkpoints", "d3"))
	symlink(t, "d4", filepath.Join(dir, "chatsft_checkpoints", "d4"))
	mkfifo(t, filepath.Join(dir, "chatsft_checkpoints", "d1", "model_000002.pt"))
	var all []Checkpoint
	within(t, 10*time.Second, func() {
		var err error
		if all, err = Scan(dir); err != nil {
			t.Error(err)
		}
	})
	if len(all) != 1 || all[0].Name() != "sft/d1/2" {
		t.Errorf("Scan = %+v, want only sft/d1/2 (the pipe named like a checkpoint)", all)
	}
	for _, tc := range []struct{ tag, errHas string }{
		{"d3", "not a directory (named pipe)"},
		{"d4", "too many levels of symbolic links"},
	} {
		within(t, 10*time.Second, func() {
			_, err := Resolve(dir, "sft", tc.tag, -1)
			if err == nil || !strings.Contains(err.Error(), tc.tag) || !strings.Contains(err.Error(), tc.errHas) {
				t.Errorf("Resolve(sft, %s) error = %v, want one saying %q", tc.tag, err, tc.errHas)
			}
		})
	}
	mkfifo(t, filepath.Join(dir, "base_checkpoints"))
	within(t, 10*time.Second, func() {
		_, err := Scan(dir)
		if err == nil || !strings.Contains(err.Error(), "base_checkpoints") || !strings.Contains(err.Error(), "not a directory (named pipe)") {
			t.Errorf("Scan with a pipe for base_checkpoints: error = %v, want one naming it", err)
		}
	})
}
