//go:build unix

package checkpoint

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// openCopy copies the golden e_head checkpoint into a temporary directory
// and opens the copy.
func openCopy(t *testing.T) (*File, string) {
	t.Helper()
	data, err := os.ReadFile(repoPath("testdata/golden/home/base_checkpoints/d6/model_001000.pt"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "model_001000.pt")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f, path
}

func readAll(f *File) error {
	for _, x := range f.Tensors {
		if _, err := x.Float32(); err != nil {
			return err
		}
	}
	return nil
}

// Reading tensors of a file truncated under the mapping faults (SIGBUS);
// inside Guard that is an error wrapping ErrChanged and the process lives.
func TestGuardTruncatedFile(t *testing.T) {
	f, path := openCopy(t)
	if err := f.Guard(func() error { return readAll(f) }); err != nil {
		t.Fatalf("Guard over an unchanged file: %v", err)
	}
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	err := f.Guard(func() error { return readAll(f) })
	if !errors.Is(err, ErrChanged) {
		t.Fatalf("Guard over a truncated file: error %v, want ErrChanged", err)
	}
}

// An overwrite in place while Guard runs is caught by the size and time
// check; a file replaced by rename is not a change (the mapping keeps it).
func TestGuardOverwrittenFile(t *testing.T) {
	f, path := openCopy(t)
	err := f.Guard(func() error {
		time.Sleep(10 * time.Millisecond) // let the clock move past the file's mtime
		w, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		defer w.Close()
		_, err = w.WriteAt([]byte("junk"), 1000)
		return err
	})
	if !errors.Is(err, ErrChanged) {
		t.Fatalf("Guard while the file was overwritten: error %v, want ErrChanged", err)
	}
	g, path := openCopy(t)
	err = g.Guard(func() error {
		tmp := path + ".new"
		if err := os.WriteFile(tmp, []byte("replacement"), 0o644); err != nil {
			return err
		}
		if err := os.Rename(tmp, path); err != nil {
			return err
		}
		return readAll(g)
	})
	if err != nil {
		t.Fatalf("Guard while the file was replaced by rename: %v, want nil", err)
	}
}

// Guard recovers only faults on the file's mapping: other panics go on.
func TestGuardLeavesOtherPanics(t *testing.T) {
	f, _ := openCopy(t)
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(error).Error(), "nil pointer") {
			t.Fatalf("recovered %v, want the nil dereference to propagate", r)
		}
	}()
	var p *int
	_ = f.Guard(func() error { _ = *p; return nil })
	t.Fatal("Guard swallowed a nil dereference")
}

// Opening a named pipe fails at once instead of waiting for a writer.
func TestOpenNamedPipe(t *testing.T) {
	path := filepath.Join(t.TempDir(), "model_000001.pt")
	if err := syscall.Mkfifo(path, 0o644); err != nil {
		t.Fatalf("mkfifo: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := Open(path)
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "not a regular file (named pipe)") {
			t.Fatalf("Open(fifo) error = %v, want not a regular file (named pipe)", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Open(fifo) blocks")
	}
}
