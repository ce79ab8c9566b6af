package local

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nanochat-go/nanochat/llm"
	"github.com/nanochat-go/nanochat/model/home"
)

func copyFile(t *testing.T, dst, src string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestOwnTokenizer shares one home between two models trained with
// different tokenizers: the home holds the golden runs' 65536-token
// tokenizer, the demo checkpoint carries its own 3509-token one, and Open
// uses it (the home's would not match the checkpoint's vocab_size).
func TestOwnTokenizer(t *testing.T) {
	dir := t.TempDir()
	golden := filepath.Join("..", "..", "testdata", "golden", "home")
	copyFile(t, filepath.Join(dir, "tokenizer", "tokenizer.pkl"), filepath.Join(golden, "tokenizer", "tokenizer.pkl"))
	ckDir := filepath.Join(dir, "chatsft_checkpoints", "d4")
	for _, f := range []string{"model_001514.pt", "meta_001514.json"} {
		copyFile(t, filepath.Join(ckDir, f), filepath.Join(demoHome, "chatsft_checkpoints", "d4", f))
	}
	ck, err := home.Resolve(dir, "sft", "d4", -1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ck, OpenOptions{Home: dir}); err == nil || !strings.Contains(err.Error(), "different runs") {
		t.Fatalf("Open with the home's tokenizer: %v, want a vocab mismatch", err)
	}
	copyFile(t, filepath.Join(ckDir, "tokenizer", "tokenizer.pkl"), filepath.Join(demoHome, "tokenizer", "tokenizer.pkl"))
	var stages []string
	m, err := Open(ck, OpenOptions{Home: dir, Progress: func(s string) { stages = append(stages, s) }})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if want := "tokenizer " + filepath.Join(ckDir, "tokenizer", "tokenizer.pkl"); stages[0] != want {
		t.Errorf("first stage %q, want %q", stages[0], want)
	}
	rep, err := m.Chat(context.Background(), []llm.Message{{Role: "user", Content: "What is 2+3?"}}, llm.Settings{MaxTokens: 8}, nil)
	if err != nil || rep.Rows[0].Text == "" {
		t.Fatalf("chat: %+v, %v", rep, err)
	}
}
