package main

import (
	"encoding/json"
	"go/types"
	"io"
	"os/exec"
	"strings"
	"testing"

	"golang.org/x/tools/go/packages"
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
		{"tui/termsafe", []string{mod, "github.com/", "golang.org/"}}, // a leaf: the CLI and every TUI part use it
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

// allowedModelMethods are the methods of model.Model that packages above
// engine may call: metadata, and releasing a model never handed to a
// backend. Everything that computes (Forward, NewCache, …) and every
// method of model.Cache goes through engine.Backend.
var allowedModelMethods = map[string]bool{"Step": true, "MaxPositions": true, "Close": true}

// TestNothingAboveEngineRunsTheModel type-checks every package above
// engine (llm, tui, eval, server, cmd; tests included) and fails on any
// call or method value of model.Model or model.Cache outside
// allowedModelMethods: bench, scoring, batching and chat all run on a
// device through engine.Backend.
func TestNothingAboveEngineRunsTheModel(t *testing.T) {
	cfg := &packages.Config{Mode: packages.NeedName | packages.NeedFiles | packages.NeedSyntax | packages.NeedTypes | packages.NeedTypesInfo,
		Dir: "../..", Tests: true}
	pkgs, err := packages.Load(cfg, "./llm/...", "./tui/...", "./eval/...", "./server/...", "./cmd/...")
	if err != nil {
		t.Fatalf("load packages: %v", err)
	}
	checked := 0
	for _, p := range pkgs {
		for _, e := range p.Errors {
			t.Errorf("%s: %v", p.PkgPath, e)
		}
		if p.TypesInfo == nil {
			continue
		}
		checked++
		for id, sel := range p.TypesInfo.Selections {
			if sel.Kind() == types.FieldVal {
				continue
			}
			recv := sel.Recv()
			if ptr, ok := recv.(*types.Pointer); ok {
				recv = ptr.Elem()
			}
			named, ok := recv.(*types.Named)
			if !ok || named.Obj().Pkg() == nil || named.Obj().Pkg().Path() != mod+"model" {
				continue
			}
			name, method := named.Obj().Name(), sel.Obj().Name()
			if name == "Cache" || (name == "Model" && !allowedModelMethods[method]) {
				t.Errorf("%s: %s calls model.%s.%s: go through engine.Backend", p.PkgPath, p.Fset.Position(id.Pos()), name, method)
			}
		}
	}
	if checked < 10 {
		t.Fatalf("type-checked only %d packages", checked)
	}
}
