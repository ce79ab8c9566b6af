package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/spf13/cobra"

	"github.com/nanochat-go/nanochat/hub"
	"github.com/nanochat-go/nanochat/pull"
)

func init() { commands = append(commands, newPullCmd) }

func newPullCmd(g *globals) *cobra.Command {
	var endpoint string
	var force bool
	cmd := &cobra.Command{
		Use:   "pull REPO[@revision]",
		Short: "Download a nanochat model from the Hugging Face hub into the home",
		Long: `Download a published nanochat checkpoint from the Hugging Face hub and place it
in the nanochat home as upstream's cache lays it out: model_<step>.pt and
meta_<step>.json in <home>/<source>_checkpoints/<tag>/, tokenizer.pkl and
token_bytes.pt in <home>/tokenizer/. The files are found whatever the
repository's layout; the source and tag come from --source/--tag when given,
else from the repository's layout and the meta (model_tag, else d<n_layer>);
the step is the last unless --step is given.

A home that already holds a different tokenizer keeps it (other checkpoints
need it): the pulled checkpoint gets its own, in <tag>/tokenizer/.

Downloads resume after an interruption (rerun the command) and are checked
against the hub's sizes and sha256 sums. $HF_ENDPOINT names a mirror and
$HF_TOKEN authorises private or gated repositories.`,
		Example: `  nanochat pull karpathy/nanochat-d32
  nanochat pull sdobson/nanochat@main --tag d20`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			repo, rev, _ := strings.Cut(args[0], "@")
			if strings.Count(repo, "/") != 1 || strings.HasPrefix(repo, "/") || strings.HasSuffix(repo, "/") {
				return usageError{fmt.Errorf("pull %q: want a repository as owner/name[@revision]", args[0])}
			}
			c := hub.FromEnv()
			if endpoint != "" {
				c.Endpoint = endpoint
			}
			o := pull.Options{Hub: c, Home: g.homeDir(), Repo: repo, Revision: rev, Step: g.step, Force: force}
			if fl := cmd.Flags(); fl.Changed("source") {
				o.Source = g.source
			}
			o.Tag = g.tag
			w := cmd.ErrOrStderr()
			tty := false
			if f, ok := w.(*os.File); ok {
				tty = isTerminal(f)
			}
			var last time.Time
			o.Progress = func(p pull.Progress) {
				if !tty || (time.Since(last) < 100*time.Millisecond && p.Done != p.Total) {
					return
				}
				last = time.Now()
				fmt.Fprintf(w, "\r\x1b[K%-20s %s %d/%d %s", p.File, pullBar(p.Done, p.Total), p.Index, p.Count, byteProgress(p.Done, p.Total))
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
			defer stop()
			start := time.Now()
			res, err := pull.Pull(ctx, o)
			if tty {
				fmt.Fprint(w, "\r\x1b[K")
			}
			if err != nil {
				return err
			}
			for _, s := range res.Guessed {
				fmt.Fprintf(w, "nanochat: guessed %s\n", s)
			}
			ck := res.Checkpoint
			tok := "the home's tokenizer"
			if ck.OwnTokenizer {
				tok = "its own tokenizer (the home's differs)"
			}
			fmt.Fprintf(w, "nanochat: pulled %s: %d file(s), %s in %v\n", args[0], len(res.Files), humanize.IBytes(uint64(res.Bytes)), time.Since(start).Round(time.Millisecond))
			fmt.Fprintf(cmd.OutOrStdout(), "%s → %s (%s)\n", ck.Name(), ck.ModelPath, tok)
			return nil
		},
	}
	cmd.Flags().StringVar(&endpoint, "endpoint", "", "hub URL (default $HF_ENDPOINT or "+hub.DefaultEndpoint+")")
	cmd.Flags().BoolVar(&force, "force", false, "download again, and replace a different checkpoint at the destination")
	return cmd
}
