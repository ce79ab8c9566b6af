package main

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nanochat-go/nanochat/llm/local"
	"github.com/nanochat-go/nanochat/model/hf"
	"github.com/nanochat-go/nanochat/model/home"
	"github.com/nanochat-go/nanochat/model/tokenizer"
)

func init() { commands = append(commands, newExportCmd) }

func newExportCmd(g *globals) *cobra.Command {
	var tokFormat, format, out string
	cmd := &cobra.Command{
		Use:   "export (--format hf | --tokenizer hf) --out DIR",
		Short: "Write a checkpoint or the tokenizer in Hugging Face format",
		Long: `--format hf writes the checkpoint named by the global flags (--source, --tag,
--step or --checkpoint) as a Hugging Face transformers NanoChat directory:
model.safetensors under transformers' tensor names, config.json (model_type
nanochat, softcap, RoPE theta; a padded vocabulary cropped to vocab_size),
tokenizer.json, tokenizer_config.json with nanochat's chat template, and
generation_config.json. transformers' NanoChatForCausalLM and vLLM load DIR,
and so does nanochat (--checkpoint DIR). Only the generations transformers'
NanoChat implements (A0, A1: Oct-Dec 2025) can be exported; later ones are
refused, naming what it lacks. transformers computes RoPE's cos/sin in fp32
where upstream rounded them to bf16 before March 2026, which moves logits by
about 3e-3.

--tokenizer hf writes only the tokenizer: DIR/tokenizer.json (byte-level BPE
with nanochat's split pattern and special tokens, encoding exactly as
nanochat does) and DIR/tokenizer_config.json (special tokens and nanochat's
chat template), so tools built on transformers' AutoTokenizer — lm-evaluation-
harness's local-completions against "nanochat serve", vLLM — count and split
tokens as nanochat does, offline.`,
		Example: `  nanochat export --home testdata/golden/home --source base --tag d3 --format hf --out /tmp/d3-hf
  nanochat export --home testdata/demo/home --tokenizer hf --out /tmp/demo-tokenizer`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			fl := cmd.Flags()
			if out == "" {
				return usageError{fmt.Errorf("--out DIR is required")}
			}
			if fl.Changed("format") && fl.Changed("tokenizer") {
				return usageError{fmt.Errorf("--format exports the model with its tokenizer; give --format or --tokenizer, not both")}
			}
			var files []string
			var err error
			if fl.Changed("format") {
				if format != "hf" {
					return usageError{fmt.Errorf("--format %q: the one format is hf", format)}
				}
				files, err = g.exportHF(out)
			} else {
				if tokFormat != "hf" {
					return usageError{fmt.Errorf("--tokenizer %q: the one format is hf", tokFormat)}
				}
				path := local.TokenizerPath(g.homeDir())
				if g.checkpoint != "" {
					ck, err := g.resolve()
					if err != nil {
						return err
					}
					path = ck.Tokenizer
				}
				tok, err := loadTokenizer(path)
				if err != nil {
					return err
				}
				files, err = hf.ExportTokenizer(tok, out)
				if err != nil {
					return err
				}
			}
			if err != nil {
				return err
			}
			for _, name := range files {
				fmt.Fprintf(cmd.ErrOrStderr(), "nanochat: wrote %s\n", filepath.Join(out, name))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "hf", "write the checkpoint (with its tokenizer) in this format: hf (a transformers NanoChat directory)")
	cmd.Flags().StringVar(&tokFormat, "tokenizer", "hf", "write only the tokenizer, in this format: hf (Hugging Face tokenizers/transformers)")
	cmd.Flags().StringVarP(&out, "out", "o", "", "directory to write into (created if missing)")
	return cmd
}

// exportHF writes the checkpoint the global flags name as a transformers
// NanoChat directory.
func (g *globals) exportHF(out string) ([]string, error) {
	opts, err := g.loadOptions()
	if err != nil {
		return nil, err
	}
	ck, err := g.resolve()
	if err != nil {
		return nil, err
	}
	if ck.Tokenizer == "" {
		ck.Tokenizer, _ = home.TokenizerFor(ck.ModelPath, g.homeDir())
	}
	tok, err := loadTokenizer(ck.Tokenizer)
	if err != nil {
		return nil, err
	}
	return hf.Export(ck.ModelPath, opts.Overrides, tok, out, hf.Provenance{Source: ck.Source, Tag: ck.Tag})
}

// loadTokenizer reads a tokenizer.pkl, or a Hugging Face tokenizer.json.
func loadTokenizer(path string) (*tokenizer.Tokenizer, error) {
	if strings.HasSuffix(path, ".json") {
		return tokenizer.LoadHF(path)
	}
	return tokenizer.Load(path)
}
