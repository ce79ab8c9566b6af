package home

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func touch(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestResolveLikeUpstream(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{
		"base_checkpoints/d12/model_000100.pt",
		"base_checkpoints/d24_climbmix/model_005568.pt",
		"base_checkpoints/d24_climbmix/model_000200.pt",
		"base_checkpoints/d24/model_001000.pt",
		"base_checkpoints/d24/model_000200_backup.pt",
		"base_checkpoints/custom/model_999999.pt",
		"chatsft_checkpoints/d20/model_000650.pt",
		"chatrl_checkpoints/d20/model_000060.pt",
	} {
		touch(t, filepath.Join(dir, p))
	}
	// Largest depth wins; ties broken by name (d24 < d24_climbmix); last step.
	c, err := Resolve(dir, "base", "", -1)
	if err != nil || c.Tag != "d24" || c.Step != 1000 {
		t.Fatalf("base default: %+v, %v; want d24 step 1000", c, err)
	}
	c, err = Resolve(dir, "base", "d24_climbmix", -1)
	if err != nil || c.Step != 5568 || !strings.HasSuffix(c.MetaPath, "meta_005568.json") {
		t.Fatalf("tagged: %+v, %v", c, err)
	}
	if c, err = Resolve(dir, "sft", "", 650); err != nil || c.Name() != "sft/d20/650" {
		t.Fatalf("sft step 650: %+v, %v", c, err)
	}
	if _, err := Resolve(dir, "base", "d24", 7); err == nil || !strings.Contains(err.Error(), "have 1000") {
		t.Fatalf("missing step: %v", err)
	}
	if _, err := Resolve(dir, "mid", "", -1); err == nil || !strings.Contains(err.Error(), "mid_checkpoints") {
		t.Fatalf("missing source dir: %v", err)
	}
	if _, err := Resolve(dir, "chat", "", -1); err == nil {
		t.Fatal("unknown source: no error")
	}
	all, err := Scan(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range all {
		names = append(names, c.Name())
	}
	want := "base/d24/1000 base/d24_climbmix/5568 base/d24_climbmix/200 base/d12/100 base/custom/999999 sft/d20/650 rl/d20/60"
	if got := strings.Join(names, " "); got != want {
		t.Fatalf("Scan order:\n got %s\nwant %s", got, want)
	}
	c, err = Parse(dir, filepath.Join(dir, "chatrl_checkpoints/d20/model_000060.pt"))
	if err != nil || c.Source != "rl" || c.Tag != "d20" || c.Step != 60 {
		t.Fatalf("Parse path: %+v, %v", c, err)
	}
	if c, err = Parse(dir, "base/d12"); err != nil || c.Step != 100 {
		t.Fatalf("Parse ref: %+v, %v", c, err)
	}
	if _, err = Parse(dir, "base/d12/x"); err == nil {
		t.Fatal("bad step: no error")
	}
}

func TestDirFromEnv(t *testing.T) {
	t.Setenv("NANOCHAT_BASE_DIR", "/some/where")
	if Dir() != "/some/where" {
		t.Fatalf("Dir() = %s", Dir())
	}
}
