package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestPullThenChat pulls the demo model from a fake hub into an empty home
// and chats with it.
func TestPullThenChat(t *testing.T) {
	demo := filepath.Join("..", "..", "testdata", "demo", "home")
	files := map[string]string{
		"ckpt/model_001514.pt":  "chatsft_checkpoints/d4/model_001514.pt",
		"ckpt/meta_001514.json": "chatsft_checkpoints/d4/meta_001514.json",
		"tokenizer.pkl":         "tokenizer/tokenizer.pkl",
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/models/a/demo/tree/v1", func(w http.ResponseWriter, r *http.Request) {
		var out []map[string]any
		for p, src := range files {
			data, _ := os.ReadFile(filepath.Join(demo, src))
			sum := sha256.Sum256(data)
			out = append(out, map[string]any{"type": "file", "path": p, "size": len(data),
				"lfs": map[string]any{"oid": hex.EncodeToString(sum[:]), "size": len(data)}})
		}
		json.NewEncoder(w).Encode(out)
	})
	mux.HandleFunc("GET /a/demo/resolve/v1/{path...}", func(w http.ResponseWriter, r *http.Request) {
		data, err := os.ReadFile(filepath.Join(demo, files[r.PathValue("path")]))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		http.ServeContent(w, r, "f", time.Unix(0, 0), bytes.NewReader(data))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	dir := t.TempDir()
	var out, errb bytes.Buffer
	cmd := newRootCmd()
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SetArgs([]string{"pull", "--home", dir, "--endpoint", srv.URL, "a/demo@v1"})
	if err := cmd.Execute(); err != nil {
		t.Fatalf("pull: %v\n%s", err, errb.String())
	}
	if !strings.HasPrefix(out.String(), "sft/d4/1514 → ") || !strings.Contains(errb.String(), `guessed source "sft"`) {
		t.Fatalf("pull printed %q and %q", out.String(), errb.String())
	}
	out.Reset()
	cmd = newRootCmd()
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SetArgs([]string{"chat", "--home", dir, "--device", "cpu", "-p", "There are 12 bags. Each of them has 7 marbles. How many marbles are there in total?"})
	if err := cmd.Execute(); err != nil {
		t.Fatalf("chat: %v\n%s", err, errb.String())
	}
	if !strings.Contains(out.String(), "#### 84") {
		t.Fatalf("chat answered %q", out.String())
	}
}
