package main

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/nanochat-go/nanochat/model"
	"github.com/nanochat-go/nanochat/model/home"
	"github.com/nanochat-go/nanochat/tui/units"
)

type modelRow struct {
	Name       string    `json:"name"`
	Source     string    `json:"source"`
	Tag        string    `json:"tag"`
	Step       int       `json:"step"`
	Generation string    `json:"generation,omitempty"`
	Params     int64     `json:"params,omitempty"`
	DTypes     string    `json:"dtypes,omitempty"`
	Size       int64     `json:"size_bytes"`
	Modified   time.Time `json:"modified"`
	Path       string    `json:"path"`
	Tokenizer  string    `json:"tokenizer"` // the tokenizer file it uses
	Error      string    `json:"error,omitempty"`
}

func newModelsCmd(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "models",
		Short: "List every checkpoint in the nanochat home",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts, err := g.loadOptions()
			if err != nil {
				return err
			}
			cks, err := home.Scan(g.homeDir())
			if err != nil {
				return err
			}
			rows := make([]modelRow, 0, len(cks))
			for _, c := range cks {
				r := modelRow{Name: c.Name(), Source: c.Source, Tag: c.Tag, Step: c.Step, Size: c.Size, Modified: c.ModTime, Path: c.ModelPath, Tokenizer: c.Tokenizer}
				if s, err := model.Describe(c.ModelPath, opts.Overrides); err != nil {
					r.Error = err.Error()
				} else {
					r.Generation, r.Params, r.DTypes = s.Arch.Generation, s.Params, s.DTypes
					if s.Meta.Step != nil {
						r.Step = *s.Meta.Step
					}
				}
				rows = append(rows, r)
			}
			// Directory and tensor names come from the filesystem: on a
			// terminal their control characters are shown, not obeyed.
			out, flush := untrusted(cmd.OutOrStdout())
			defer flush()
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(rows)
			}
			if len(rows) == 0 {
				fmt.Fprintf(out, "no checkpoints in %s (set --home or NANOCHAT_BASE_DIR, fetch one with nanochat pull REPO, or try --demo)\n", g.homeDir())
				return nil
			}
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "SOURCE\tTAG\tSTEP\tGEN\tPARAMS\tDTYPE\tSIZE\tMODIFIED\tTOKENIZER")
			for i, r := range rows {
				tok := "home"
				if cks[i].OwnTokenizer {
					tok = "own: " + r.Tokenizer
				}
				if r.Error != "" {
					fmt.Fprintf(tw, "%s\t%s\t%d\t?\t\t\t%s\t%s\t%s\n", r.Source, r.Tag, r.Step, units.Bytes(r.Size), r.Modified.Format("2006-01-02 15:04"), "error: "+r.Error)
					continue
				}
				fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Source, r.Tag, r.Step, r.Generation, humanCount(r.Params), r.DTypes, units.Bytes(r.Size), r.Modified.Format("2006-01-02 15:04"), tok)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// humanCount is a parameter count as the app writes it too (2.6M).
func humanCount(n int64) string { return units.Params(n) }
