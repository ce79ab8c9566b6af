package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/nanochat-go/nanochat/tui/history"
)

func init() { commands = append(commands, newSessionsCmd) }

func newSessionsCmd(*globals) *cobra.Command {
	var dbPath string
	open := func() (*history.DB, error) {
		if dbPath == "" {
			dbPath = history.DefaultPath()
		}
		return history.Open(dbPath)
	}
	// withSession resolves an ID prefix in an open database.
	withSession := func(prefix string, fn func(db *history.DB, s history.Session) error) error {
		db, err := open()
		if err != nil {
			return err
		}
		defer db.Close()
		s, err := db.FindSession(prefix)
		if err != nil {
			return err
		}
		return fn(db, s)
	}
	cmd := &cobra.Command{
		Use:   "sessions",
		Short: "List, show, search, export and delete saved chat sessions",
		Long: `Saved chat sessions live in one SQLite file: --history, else $NANOCHAT_HISTORY,
else $XDG_DATA_HOME/nanochat/history.db (~/.local/share/nanochat/history.db).
Sessions are named by ID prefix, git-style; delete wants the full ID, or a
prefix and --yes. On a terminal, the text of sessions is printed with its
control characters made visible (ESC as ^[); to a pipe or a file, as stored.`,
	}
	cmd.PersistentFlags().StringVar(&dbPath, "history", "", "history database")

	var asJSON bool
	var limit int
	list := &cobra.Command{
		Use:   "list",
		Short: "List sessions, most recent first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			db, err := open()
			if err != nil {
				return err
			}
			defer db.Close()
			ss, err := db.Sessions(limit)
			if err != nil {
				return err
			}
			w, flush := untrusted(cmd.OutOrStdout())
			defer flush()
			return printSessions(w, ss, asJSON)
		},
	}
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	list.Flags().IntVarP(&limit, "limit", "n", 0, "at most this many (0 = all)")

	search := &cobra.Command{
		Use:   "search <words>",
		Short: "Full-text search over titles and messages",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			db, err := open()
			if err != nil {
				return err
			}
			defer db.Close()
			q := ""
			for _, a := range args {
				q += a + " "
			}
			hits, err := db.Search(q, limit)
			if err != nil {
				return err
			}
			w, flush := untrusted(cmd.OutOrStdout())
			defer flush()
			for _, h := range hits {
				fmt.Fprintf(w, "%s  %s\n    %s\n", h.Session.ID[:8], h.Session.Title, h.Snippet)
			}
			return nil
		},
	}
	search.Flags().IntVarP(&limit, "limit", "n", 20, "at most this many")

	show := &cobra.Command{
		Use:   "show <id-prefix>",
		Short: "Print a session as markdown",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			prefix, err := arg0(args)
			if err != nil {
				return err
			}
			return withSession(prefix, func(db *history.DB, s history.Session) error {
				w, flush := untrusted(cmd.OutOrStdout())
				defer flush()
				return db.ExportMarkdown(w, s.ID)
			})
		},
	}

	var format, out string
	export := &cobra.Command{
		Use:   "export <id-prefix>",
		Short: "Export a session as markdown or JSON",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "markdown" && format != "md" && format != "json" {
				return usageError{fmt.Errorf("--format %q: want markdown or json", format)}
			}
			prefix, err := arg0(args)
			if err != nil {
				return err
			}
			return withSession(prefix, func(db *history.DB, s history.Session) error {
				w, flush := untrusted(cmd.OutOrStdout())
				defer flush()
				if out != "" && out != "-" {
					f, err := os.Create(out)
					if err != nil {
						return err
					}
					defer f.Close()
					w = f
				}
				if format == "json" {
					return db.ExportJSON(w, s.ID)
				}
				return db.ExportMarkdown(w, s.ID)
			})
		},
	}
	export.Flags().StringVarP(&format, "format", "f", "markdown", "markdown or json")
	export.Flags().StringVarP(&out, "output", "o", "", "write to this file (default stdout)")

	var yes bool
	del := &cobra.Command{
		Use:   "delete <id>",
		Short: "Delete a session and its messages (the full ID, or a prefix with --yes)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			prefix, err := arg0(args)
			if err != nil {
				return err
			}
			return withSession(prefix, func(db *history.DB, s history.Session) error {
				if !strings.EqualFold(prefix, s.ID) && !yes {
					return usageError{fmt.Errorf("delete: %q is only a prefix of session %s %q; give the full id, or add --yes",
						prefix, s.ID, s.Title)}
				}
				if err := db.Delete(s.ID); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "deleted %s %q\n", s.ID, s.Title)
				return nil
			})
		},
	}
	del.Flags().BoolVarP(&yes, "yes", "y", false, "delete the one session an id prefix names")
	cmd.AddCommand(list, search, show, export, del)
	return cmd
}

// arg0 is the session ID prefix argument: "" (the most recent session)
// when it is absent. An empty or blank argument is refused: it is a
// script's unset variable more often than a wish for the latest session.
func arg0(args []string) (string, error) {
	if len(args) == 0 {
		return "", nil
	}
	if strings.TrimSpace(args[0]) == "" {
		return "", usageError{fmt.Errorf("empty session id %q: give an id or an id prefix (nanochat sessions list)", args[0])}
	}
	return args[0], nil
}

func printSessions(w io.Writer, ss []history.Session, asJSON bool) error {
	if asJSON {
		if ss == nil {
			ss = []history.Session{}
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(ss)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tUPDATED\tMSGS\tCHECKPOINT\tTITLE")
	for _, s := range ss {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", s.ID[:min(8, len(s.ID))], s.Updated.Format(time.DateTime), s.Messages, s.Checkpoint, s.Title)
	}
	return tw.Flush()
}
