package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/nanochat-go/nanochat/model"
)

func newInspectCmd(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "inspect <source[/tag[/step]] | path/to/model_<step>.pt>",
		Short: "Print a checkpoint's config, detected generation and tensors",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts, err := g.loadOptions()
			if err != nil {
				return err
			}
			c, err := parseCheckpoint(g.homeDir(), args[0])
			if err != nil {
				return err
			}
			s, err := model.Describe(c.ModelPath, opts.Overrides)
			if err != nil {
				return err
			}
			// Directory and tensor names come from the filesystem: on a
			// terminal their control characters are shown, not obeyed.
			out, flush := untrusted(cmd.OutOrStdout())
			defer flush()
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(map[string]any{"checkpoint": c, "summary": s})
			}
			a := s.Arch
			fmt.Fprintf(out, "checkpoint  %s\n", c.ModelPath)
			if c.OwnTokenizer {
				fmt.Fprintf(out, "tokenizer   %s (the checkpoint's own)\n", c.Tokenizer)
			} else {
				fmt.Fprintf(out, "tokenizer   %s (the home's)\n", c.Tokenizer)
			}
			fmt.Fprintf(out, "generation  %s (%s)\n", a.Generation, a.Why)
			cfgJSON, _ := json.Marshal(s.Config)
			fmt.Fprintf(out, "config      %s\n", cfgJSON)
			fmt.Fprintf(out, "params      %d (%s)\n", s.Params, s.DTypes)
			fmt.Fprintf(out, "math        softcap %g, rope base %g, q/k scale %g, bf16 cos/sin %t, padded vocab %d\n", a.Softcap, a.RoPEBase, a.QKScale, a.RoPEBF16, a.PaddedVocab)
			fmt.Fprintf(out, "windows     %v (pattern %s)\n", a.Windows, a.Pattern)
			if a.VEGateCh > 0 {
				fmt.Fprintf(out, "value emb   gate %d ch × %g·sigmoid\n", a.VEGateCh, a.VEGateScale)
			}
			if len(a.Overridden) > 0 {
				fmt.Fprintf(out, "overrides   %s\n", strings.Join(a.Overridden, ", "))
			}
			for _, f := range s.Overrides {
				fmt.Fprintf(out, "override file %s\n", f)
			}
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "\nTENSOR\tDTYPE\tSHAPE")
			for _, t := range s.Tensors {
				fmt.Fprintf(tw, "%s\t%s\t%v\n", t.Name, t.DType, t.Shape)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
