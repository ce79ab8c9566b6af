package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){"nanochat": func() { os.Exit(run()) }})
}

// TestScripts runs the CLI end to end (testdata/script/*.txtar) against the
// bundled demo model and the golden home.
func TestScripts(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", "..", "testdata"))
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir: filepath.Join("testdata", "script"),
		Setup: func(env *testscript.Env) error {
			env.Setenv("DEMO", filepath.Join(root, "demo", "home"))
			env.Setenv("GOLDEN", filepath.Join(root, "golden", "home"))
			env.Setenv("NANOCHAT_BASE_DIR", filepath.Join(env.WorkDir, "empty-home"))
			env.Setenv("XDG_DATA_HOME", filepath.Join(env.WorkDir, "xdg-data"))
			env.Setenv("XDG_CONFIG_HOME", filepath.Join(env.WorkDir, "xdg-config"))
			return nil
		},
	})
}
