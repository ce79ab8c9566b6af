package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/spf13/cobra"

	"github.com/nanochat-go/nanochat/eval/data"
	"github.com/nanochat-go/nanochat/eval/task"
)

func init() { commands = append(commands, newDataCmd) }

func newDataCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "data",
		Short: "Download and inspect evaluation datasets",
		Long: `Evaluation data lives where upstream nanochat keeps it:
<home>/task_data/<org--name>/<subset>/<split>/00000.parquet … + manifest.json,
the Hugging Face hub's parquet export. "data pull" fills it (resumable, with
sha256 checksums recorded in manifest.json); later runs are offline.`,
	}
	cmd.AddCommand(newDataPullCmd(g), newDataListCmd(g))
	return cmd
}

func newDataPullCmd(g *globals) *cobra.Command {
	var force bool
	var endpoint string
	cmd := &cobra.Command{
		Use:   "pull <task>… | all",
		Short: "Download tasks' eval splits from the Hugging Face hub",
		Example: `  nanochat data pull gsm8k mmlu
  nanochat data pull all`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			tasks, err := task.Parse(strings.Join(args, ","))
			if err != nil {
				return usageError{err}
			}
			if endpoint == "" {
				endpoint = os.Getenv("HF_ENDPOINT")
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
			defer stop()
			return pullTasks(ctx, cmd.ErrOrStderr(), g.homeDir(), tasks, endpoint, force)
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "download again even if a verified copy exists")
	cmd.Flags().StringVar(&endpoint, "endpoint", "", "hub URL (default $HF_ENDPOINT or "+data.DefaultEndpoint+")")
	return cmd
}

func pullTasks(ctx context.Context, w io.Writer, homeDir string, tasks []*task.Task, endpoint string, force bool) error {
	tty := false
	if f, ok := w.(*os.File); ok {
		tty = isTerminal(f)
	}
	pulled := map[data.Source]bool{}
	for _, t := range tasks {
		if pulled[t.Source] {
			continue
		}
		pulled[t.Source] = true
		var last time.Time
		p := &data.Puller{Endpoint: endpoint, Token: os.Getenv("HF_TOKEN"), Progress: func(pr data.Progress) {
			if !tty || (time.Since(last) < 100*time.Millisecond && pr.Done != pr.Total) {
				return
			}
			last = time.Now()
			fmt.Fprintf(w, "\r\x1b[K%-13s %s %d/%d %s", t.Name, pullBar(pr.Done, pr.Total), pr.Shard, pr.Shards, byteProgress(pr.Done, pr.Total))
		}}
		start := time.Now()
		m, err := p.Pull(ctx, homeDir, t.Source, force)
		if tty {
			fmt.Fprint(w, "\r\x1b[K")
		}
		if err != nil {
			return err
		}
		var size int64
		for _, f := range m.Files {
			size += f.Size
		}
		fmt.Fprintf(w, "%-13s %s: %d shard(s), %s in %v → %s\n", t.Name, t.Source, len(m.Files), humanize.IBytes(uint64(size)),
			time.Since(start).Round(time.Millisecond), t.Source.Dir(homeDir))
	}
	return nil
}

func pullBar(done, total int64) string {
	if total <= 0 {
		return "[" + strings.Repeat("·", 20) + "]"
	}
	return bar(int(done*1000/total), 1000, 20)
}

func byteProgress(done, total int64) string {
	if total < 0 {
		return humanize.IBytes(uint64(done))
	}
	return humanize.IBytes(uint64(done)) + " / " + humanize.IBytes(uint64(total))
}

type dataRow struct {
	Task   string `json:"task"`
	Source string `json:"source"`
	Dir    string `json:"dir"`
	Status string `json:"status"` // ok, missing, partial, corrupt
	Shards int    `json:"shards"`
	Bytes  int64  `json:"bytes"`
	Rows   int    `json:"rows,omitempty"`
	Error  string `json:"error,omitempty"`
}

func newDataListCmd(g *globals) *cobra.Command {
	var asJSON, verify bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "Show which tasks' data are in the cache",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var rows []dataRow
			for _, t := range task.All() {
				rows = append(rows, dataStatus(g.homeDir(), t, verify))
			}
			out := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(rows)
			}
			tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "task\tsource\tstatus\tshards\tsize\trows\tdir")
			for _, r := range rows {
				status := r.Status
				if r.Error != "" {
					status += ": " + r.Error
				}
				rowsText := "-"
				if r.Rows > 0 {
					rowsText = fmt.Sprint(r.Rows)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\n", r.Task, r.Source, status, r.Shards, humanize.IBytes(uint64(r.Bytes)), rowsText, r.Dir)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().BoolVar(&verify, "verify", false, "check sha256 checksums and count rows")
	return cmd
}

func dataStatus(homeDir string, t *task.Task, verify bool) dataRow {
	dir := t.Source.Dir(homeDir)
	r := dataRow{Task: t.ID, Source: t.Source.String(), Dir: dir, Status: "missing"}
	m, err := data.ReadManifest(dir)
	if errors.Is(err, fs.ErrNotExist) {
		if ents, _ := filepath.Glob(filepath.Join(dir, "*.part")); len(ents) > 0 {
			r.Status = "partial"
		}
		return r
	}
	if err != nil {
		r.Status, r.Error = "corrupt", err.Error()
		return r
	}
	r.Status, r.Shards = "ok", len(m.Files)
	for _, f := range m.Files {
		if fi, err := os.Stat(filepath.Join(dir, f.Name)); err == nil {
			r.Bytes += fi.Size()
		}
	}
	if verify {
		if err := data.Verify(dir, m); err != nil {
			r.Status, r.Error = "corrupt", err.Error()
			return r
		}
		rows, err := data.Read(dir)
		if err != nil {
			r.Status, r.Error = "corrupt", err.Error()
			return r
		}
		r.Rows = len(rows)
	}
	return r
}
