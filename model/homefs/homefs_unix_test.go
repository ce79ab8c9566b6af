//go:build unix

package homefs

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestReadFileAndReadDir(t *testing.T) {
	dir := t.TempDir()
	regular := filepath.Join(dir, "meta.json")
	if err := os.WriteFile(regular, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatalf("mkfifo: %v", err)
	}
	link := func(target, name string) string {
		p := filepath.Join(dir, name)
		if err := os.Symlink(target, p); err != nil {
			t.Fatalf("symlink: %v", err)
		}
		return p
	}
	toRegular, toFifo, toZero, loop := link(regular, "to-regular"), link(fifo, "to-fifo"), link("/dev/zero", "to-zero"), link("loop", "loop")
	for _, tc := range []struct {
		path   string
		limit  int64
		errHas string // "" = reads "{}"
	}{
		{regular, 2, ""},
		{toRegular, 2, ""},
		{regular, 1, "2 bytes, more than the 1"},
		{fifo, 2, "not a regular file (named pipe)"},
		{toFifo, 2, "not a regular file (named pipe)"},
		{toZero, 2, "not a regular file (character device)"},
		{dir, 2, "not a regular file (directory)"},
		{loop, 2, "too many levels of symbolic links"},
		{filepath.Join(dir, "missing"), 2, "no such file"},
	} {
		done := make(chan struct{})
		go func() {
			defer close(done)
			data, err := ReadFile(tc.path, tc.limit)
			switch {
			case tc.errHas == "" && (err != nil || string(data) != "{}"):
				t.Errorf("ReadFile(%s) = %q, %v; want {}", tc.path, data, err)
			case tc.errHas != "" && (err == nil || !strings.Contains(err.Error(), tc.errHas) || !strings.Contains(err.Error(), tc.path)):
				t.Errorf("ReadFile(%s) error = %v, want one naming it and saying %q", tc.path, err, tc.errHas)
			}
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("ReadFile(%s) hangs", tc.path)
		}
	}
	entries, err := ReadDir(dir)
	if err != nil || len(entries) != 6 || entries[0].Name() != "fifo" {
		t.Errorf("ReadDir(dir) = %v, %v; want its 6 entries sorted", entries, err)
	}
	for _, p := range []string{fifo, regular} {
		if _, err := ReadDir(p); !errors.Is(err, ErrNotDir) {
			t.Errorf("ReadDir(%s) error = %v, want ErrNotDir", p, err)
		}
	}
	for _, e := range entries {
		if e.Name() != "to-regular" {
			continue
		}
		if fi, err := Stat(dir, e); err != nil || !fi.Mode().IsRegular() || fi.Size() != 2 {
			t.Errorf("Stat(to-regular) = %v, %v; want the 2-byte regular file it points to", fi, err)
		}
	}
}
