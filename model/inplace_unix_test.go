//go:build unix

package model

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/nanochat-go/nanochat/model/checkpoint"
)

// editEnv makes TestCheckpointEditedInPlace run one case in this process:
// the test binary re-executes itself with it set, so that a SIGBUS kills
// the child and not the test run.
const editEnv = "NANOCHAT_TEST_EDIT_IN_PLACE"

// A checkpoint truncated or overwritten in place while a model loaded from
// it is in use must not crash the process or change the model's answers
// (the weights live in memory the model owns); the edit only reaches a
// model loaded with Options.Mmap, which is documented to crash. A file that
// shrinks while it is being loaded is an error, not a crash.
func TestCheckpointEditedInPlace(t *testing.T) {
	if mode := os.Getenv(editEnv); mode != "" {
		editChild(t, mode)
		return
	}
	for _, tc := range []struct {
		mode  string // edit/precision[/mmap], or shrink-while-loading
		crash bool
	}{
		{"truncate/exact", false},
		{"truncate/bf16", false},
		{"overwrite/exact", false},
		{"shrink-while-loading", false},
		{"truncate/exact/mmap", true},
	} {
		t.Run(strings.ReplaceAll(tc.mode, "/", "-"), func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestCheckpointEditedInPlace$", "-test.v", "-test.count=1")
			cmd.Env = append(os.Environ(), editEnv+"="+tc.mode)
			out, err := cmd.CombinedOutput()
			switch {
			case tc.crash && err == nil:
				t.Fatalf("child exited cleanly, want a SIGBUS crash (Options.Mmap); output:\n%s", out)
			case tc.crash && !strings.Contains(string(out), "SIGBUS"):
				t.Fatalf("child: %v, want a SIGBUS crash; output:\n%s", err, out)
			case !tc.crash && err != nil:
				t.Fatalf("child: %v, want a clean exit; output:\n%s", err, out)
			case !tc.crash && !strings.Contains(string(out), "edit child: ok"):
				t.Fatalf("child did not report success; output:\n%s", out)
			}
		})
	}
}

// editChild loads a copy of a golden checkpoint, edits the file in place
// and checks that forwards still run and compute what they computed before.
func editChild(t *testing.T, mode string) {
	path := copyModel(t, eHead)
	if mode == "shrink-while-loading" {
		f, meta, ov, _, err := open(path, Overrides{})
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(path, 0); err != nil {
			t.Fatal(err)
		}
		err = f.Guard(func() error {
			_, err := build(f, meta, ov, Options{Precision: Exact})
			return err
		})
		f.Close()
		if !errors.Is(err, checkpoint.ErrChanged) {
			t.Fatalf("build over a truncated file: error %v, want checkpoint.ErrChanged", err)
		}
		fmt.Println("edit child: ok:", err)
		return
	}
	parts := strings.Split(mode, "/")
	opts := Options{Precision: Exact, Mmap: len(parts) > 2 && parts[2] == "mmap"}
	if parts[1] == "bf16" {
		opts.Precision = BF16
	}
	m, err := Load(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	toks := []int{1, 2, 3, 4, 5, 6, 7, 8}
	before := lastLogits(t, m, toks)
	switch parts[0] {
	case "truncate":
		err = os.Truncate(path, 0)
	case "overwrite":
		err = overwrite(path)
	default:
		t.Fatalf("unknown edit %q", parts[0])
	}
	if err != nil {
		t.Fatal(err)
	}
	after := lastLogits(t, m, toks)
	if !slices.Equal(before, after) {
		t.Fatalf("logits changed after the checkpoint was edited on disk (max diff %.3g)", maxDiff(before, after))
	}
	fmt.Println("edit child: ok")
}

// overwrite replaces every byte of path with 0xff without truncating it
// (same inode, same size), as `dd conv=notrunc` would.
func overwrite(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	junk := make([]byte, fi.Size())
	for i := range junk {
		junk[i] = 0xff
	}
	if _, err := f.WriteAt(junk, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// lastLogits runs toks through a fresh cache and returns the last logits.
func lastLogits(t *testing.T, m *Model, toks []int) []float32 {
	t.Helper()
	c, err := m.NewCache(1, len(toks))
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float32, m.Config.VocabSize)
	if err := m.Forward(c, []Chunk{{0, toks}}, out, false); err != nil {
		t.Fatal(err)
	}
	return out
}
