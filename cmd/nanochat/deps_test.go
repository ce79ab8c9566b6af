package main

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const mod = "github.com/nanochat-go/nanochat/"

// TestDependencyDirection enforces the one-way data flow of STYLE.md:
// checkpoint files → model → engine → llm → tui/eval/server → cmd.
func TestDependencyDirection(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps=false", "-json", "../../...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	type pkg struct {
		ImportPath string
		Imports    []string
	}
	rules := []struct {
		pkg       string // prefix of the package path below the module
		forbidden []string
	}{
		{"kernels", []string{mod, "github.com/", "gorgonia.org/"}},
		{"model", []string{mod + "engine", mod + "llm", mod + "tui", mod + "eval", mod + "server", mod + "cmd", "github.com/spf13", "github.com/charmbracelet", "net/http"}},
		{"engine", []string{mod + "model/tokenizer", mod + "llm", mod + "tui", mod + "eval", mod + "server", "github.com/charmbracelet", "github.com/spf13", "net/http"}},
		{"llm", []string{mod + "tui", mod + "eval", mod + "server", mod + "cmd", "github.com/charmbracelet", "github.com/spf13"}},
		{"tui", []string{mod + "server", "github.com/spf13"}},
		{"eval", []string{mod + "tui/", mod + "server", "github.com/spf13"}},
		{"server", []string{mod + "tui", mod + "eval", "github.com/spf13", "github.com/charmbracelet"}},
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	checked := 0
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		rel := strings.TrimPrefix(p.ImportPath, mod)
		for _, r := range rules {
			if rel != r.pkg && !strings.HasPrefix(rel, r.pkg+"/") {
				continue
			}
			if rel == "kernels/cuda" || (r.pkg == "eval" && strings.HasPrefix(rel, "tui/evalpane")) {
				continue
			}
			checked++
			for _, imp := range p.Imports {
				for _, bad := range r.forbidden {
					if strings.HasPrefix(imp, bad) && !(r.pkg == "kernels" && imp == "golang.org/x/sys/cpu") &&
						!strings.HasPrefix(imp, mod+r.pkg) {
						t.Errorf("%s imports %s (forbidden for %s)", rel, imp, r.pkg)
					}
				}
			}
		}
	}
	if checked < 5 {
		t.Fatalf("checked only %d packages", checked)
	}
}
