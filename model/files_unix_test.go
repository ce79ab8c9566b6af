//go:build unix

package model

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A named pipe or a device among a checkpoint's files gets an error naming
// the file; it must not block forever (a FIFO) or be read without end
// (/dev/zero).
func TestCheckpointFilesMustBeRegular(t *testing.T) {
	for _, tc := range []struct {
		name  string
		file  func(modelPath string) string // the file replaced
		fifo  bool                          // a named pipe, else a symlink to /dev/zero
		errIs string
	}{
		{"meta fifo", func(p string) string { m, _ := MetaPath(p); return m }, true, "named pipe"},
		{"meta device", func(p string) string { m, _ := MetaPath(p); return m }, false, "device"},
		{"model fifo", func(p string) string { return p }, true, "named pipe"},
		{"model device", func(p string) string { return p }, false, "device"},
		{"override fifo", func(p string) string { return filepath.Join(filepath.Dir(p), "override.json") }, true, "named pipe"},
		{"override device", func(p string) string { return OverrideFiles(p)[1] }, false, "device"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := copyModel(t, eHead)
			target := tc.file(path)
			os.Remove(target)
			if tc.fifo {
				if err := syscall.Mkfifo(target, 0o644); err != nil {
					t.Fatalf("mkfifo: %v", err)
				}
			} else if err := os.Symlink("/dev/zero", target); err != nil {
				t.Fatalf("symlink: %v", err)
			}
			within(t, 10*time.Second, func() {
				for _, op := range []struct {
					name string
					run  func() error
				}{
					{"Load", func() error { m, err := Load(path, Options{}); closeIf(m); return err }},
					{"Describe", func() error { _, err := Describe(path, Overrides{}); return err }},
				} {
					err := op.run()
					if err == nil || !strings.Contains(err.Error(), target) || !strings.Contains(err.Error(), "not a regular file") || !strings.Contains(err.Error(), tc.errIs) {
						t.Errorf("%s: error %v, want one naming %s as not a regular file (%s)", op.name, err, target, tc.errIs)
					}
				}
			})
		})
	}
}
