package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/spf13/cobra"

	"github.com/nanochat-go/nanochat/llm/local"
	"github.com/nanochat-go/nanochat/model/tokenizer"
)

func init() { commands = append(commands, newExportCmd) }

func newExportCmd(g *globals) *cobra.Command {
	var format, out string
	cmd := &cobra.Command{
		Use:   "export --tokenizer hf --out DIR",
		Short: "Write the home's tokenizer in another format (Hugging Face)",
		Long: `Write the nanochat home's tokenizer (tokenizer/tokenizer.pkl) as a Hugging Face
tokenizer: DIR/tokenizer.json (byte-level BPE with nanochat's split pattern and
special tokens, encoding exactly as nanochat does) and DIR/tokenizer_config.json
(special tokens and nanochat's chat template). transformers' AutoTokenizer loads
DIR, so tools built on it — lm-evaluation-harness's local-completions against
"nanochat serve", vLLM — count and split tokens as nanochat does.`,
		Example: `  nanochat export --home testdata/demo/home --tokenizer hf --out /tmp/demo-tokenizer`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "hf" {
				return usageError{fmt.Errorf("--tokenizer %q: the one format is hf", format)}
			}
			if out == "" {
				return usageError{fmt.Errorf("--out DIR is required")}
			}
			path := local.TokenizerPath(g.homeDir())
			tok, err := tokenizer.Load(path)
			if err != nil {
				return err
			}
			files, err := tok.HuggingFace()
			if err != nil {
				return err
			}
			if err := os.MkdirAll(out, 0o755); err != nil {
				return fmt.Errorf("export tokenizer: %w", err)
			}
			names := make([]string, 0, len(files))
			for name := range files {
				names = append(names, name)
			}
			slices.Sort(names)
			for _, name := range names {
				if err := os.WriteFile(filepath.Join(out, name), files[name], 0o644); err != nil {
					return fmt.Errorf("export tokenizer: %w", err)
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "nanochat: wrote %s\n", filepath.Join(out, name))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "tokenizer", "hf", "format to write the tokenizer in: hf (Hugging Face tokenizers/transformers)")
	cmd.Flags().StringVarP(&out, "out", "o", "", "directory to write into (created if missing)")
	return cmd
}
