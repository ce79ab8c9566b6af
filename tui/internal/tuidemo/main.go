// Command tuidemo runs the terminal app against scripted models, for UI
// work and screenshots without checkpoints: go run ./tui/internal/tuidemo.
// History goes to $NANOCHAT_HISTORY (default: a file in the temp dir).
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/nanochat-go/nanochat/llm"
	"github.com/nanochat-go/nanochat/llm/llmtest"
	"github.com/nanochat-go/nanochat/model/home"
	"github.com/nanochat-go/nanochat/tui"
	"github.com/nanochat-go/nanochat/tui/history"
	"github.com/nanochat-go/nanochat/tui/theme"
)

const answer = "Here is a short answer with **markdown**.\n\n" +
	"1. First, a list item.\n2. Then another one.\n\n" +
	"```go\nfunc add(a, b int) int {\n\treturn a + b\n}\n```\n\n" +
	"| checkpoint | score |\n|---|---|\n| sft | 0.42 |\n| rl | 0.47 |\n\n" +
	"That is all — ask me anything else."

func main() {
	path := os.Getenv("NANOCHAT_HISTORY")
	if path == "" {
		path = filepath.Join(os.TempDir(), "nanochat-tuidemo.db")
	}
	db, err := history.Open(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "tuidemo:", err)
		os.Exit(1)
	}
	defer db.Close()
	cks := []home.Checkpoint{
		{Source: "base", Tag: "d20", Step: 21400, Size: 1_900_000_000},
		{Source: "sft", Tag: "d20", Step: 700, Size: 1_900_000_000},
		{Source: "sft", Tag: "d20", Step: 650, Size: 1_900_000_000},
		{Source: "rl", Tag: "d20", Step: 100, Size: 1_900_000_000},
	}
	app := tui.New(tui.Options{
		Theme: theme.Detect(false), DB: db, Home: "(scripted)",
		Lister: func() ([]home.Checkpoint, error) { return cks, nil },
		Opener: func(ctx context.Context, ck home.Checkpoint, progress func(string)) (llm.Model, error) {
			for _, s := range []string{"tokenizer", "checkpoint " + ck.Name(), "warming up"} {
				progress(s)
				time.Sleep(300 * time.Millisecond)
			}
			f := &llmtest.Fake{Delay: 25 * time.Millisecond,
				ModelInfo: llm.Info{Name: ck.Name(), Source: ck.Source, Generation: "A3", Device: "scripted", ContextLen: 2048, Chat: ck.Source != "base"},
				Reply: func(msgs []llm.Message, s llm.Settings) string {
					if ck.Source == "base" {
						return "and so the story continues, one token at a time."
					}
					return fmt.Sprintf("(%s, seed %d) %s", ck.Name(), s.Seed, answer)
				}}
			if strings.Contains(ck.Name(), "rl") {
				f.Tool = &llm.ToolCall{Expr: "123*45", Result: "5535", OK: true}
			}
			return f, nil
		},
		Describer: func(home.Checkpoint) (string, int64, error) { return "A3", 560_000_000, nil },
	})
	if _, err := tea.NewProgram(app, tea.WithAltScreen()).Run(); err != nil {
		fmt.Fprintln(os.Stderr, "tuidemo:", err)
		os.Exit(1)
	}
}
