package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/nanochat-go/nanochat/llm"
	"github.com/nanochat-go/nanochat/llm/local"
	"github.com/nanochat-go/nanochat/model"
	"github.com/nanochat-go/nanochat/model/home"
	"github.com/nanochat-go/nanochat/tui"
	"github.com/nanochat-go/nanochat/tui/history"
	"github.com/nanochat-go/nanochat/tui/keymap"
	"github.com/nanochat-go/nanochat/tui/theme"
)

func init() {
	commands = append(commands, newTUICmd)
	// Plain "nanochat" is "nanochat tui", flags included.
	rootSetup = append(rootSetup, func(g *globals, root *cobra.Command) {
		f := &tuiFlags{}
		f.add(root.Flags())
		root.Args = func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 && f.cont.set {
				return nil // --continue abc
			}
			return cobra.NoArgs(cmd, args)
		}
		root.RunE = func(cmd *cobra.Command, args []string) error { return f.run(g, cmd, args) }
	})
}

// evalPane, when set (by the eval pane's file), builds the TUI's eval tab;
// unsafeSandbox is the app's --unsafe-sandbox.
var evalPane func(g *globals, th theme.Theme, unsafeSandbox bool) tui.Pane

type tuiFlags struct {
	history   string
	noHistory bool
	plain     bool
	unsafeSB  bool
	cont      sessionFlag
}

// add defines the app's flags on fs (of "nanochat tui" and of "nanochat").
func (f *tuiFlags) add(fs *pflag.FlagSet) {
	fs.StringVar(&f.history, "history", "", "history database (default $NANOCHAT_HISTORY or $XDG_DATA_HOME/nanochat/history.db)")
	fs.BoolVar(&f.noHistory, "no-history", false, "do not save this session")
	fs.BoolVar(&f.plain, "plain", false, "no colours (also NO_COLOR=1)")
	fs.BoolVar(&f.unsafeSB, "unsafe-sandbox", false, "let the eval tab run HumanEval's model-written code where the kernel cannot isolate it (no user namespaces): only a temp dir, rlimits, and Landlock where available")
	addContinueFlag(fs, &f.cont, "c", "continue a saved session: an ID prefix (--continue abc), or the latest")
}

// run opens the app; args may hold --continue's ID prefix, given with a
// space (the flag's value is optional, so the parser leaves it as an
// argument).
func (f *tuiFlags) run(g *globals, cmd *cobra.Command, args []string) error {
	if len(args) == 1 {
		if !f.cont.set || f.cont.prefix != "" {
			return usageError{fmt.Errorf("unexpected argument %q (did you mean --continue %s?)", args[0], args[0])}
		}
		f.cont.prefix = args[0]
	}
	return runTUI(g, cmd, *f)
}

func newTUICmd(g *globals) *cobra.Command {
	var f tuiFlags
	cmd := &cobra.Command{
		Use:   "tui [--continue [id-prefix]]",
		Short: "Open the terminal chat app (what plain \"nanochat\" does)",
		Long: `Open the terminal chat app: streaming markdown chat, checkpoint switching
(ctrl+l, alt+s, alt+, alt+.), saved and searchable sessions (ctrl+s), sampling
settings (ctrl+t). ctrl+g lists every key; keys can be remapped in
$XDG_CONFIG_HOME/nanochat/keys.json, e.g. to send with ctrl+s, make enter a
newline and move the sessions list (ctrl+s) to alt+o:
  {"chat.send": ["ctrl+s"], "chat.newline": ["enter", "ctrl+j"], "app.sessions": ["alt+o"]}
A file that gives one key to two actions is refused, naming both.

History is kept in $NANOCHAT_HISTORY or $XDG_DATA_HOME/nanochat/history.db.
With no checkpoints in the nanochat home, the bundled demo model is used.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return f.run(g, cmd, args) },
	}
	f.add(cmd.Flags())
	return cmd
}

func runTUI(g *globals, cmd *cobra.Command, f tuiFlags) error {
	// Key bindings first: a file that leaves a key on two actions is
	// refused (one of them could never run); other mistakes are shown in
	// the app, which starts with what could be applied.
	keys := tui.DefaultKeys()
	var banner string
	keysPath := keymap.DefaultPath()
	if o, err := keymap.Load(keysPath); err != nil {
		banner = err.Error()
	} else if err := keys.Apply(o); err != nil {
		var ce *tui.ConflictError
		if errors.As(err, &ce) {
			return fmt.Errorf("%s: %w", keysPath, err)
		}
		banner = err.Error()
	}
	if !isTerminal(os.Stdout) || !isTerminal(os.Stdin) {
		return usageError{errors.New("the chat app needs a terminal; for a one-shot answer use: nanochat chat -p \"…\"")}
	}
	th := theme.Detect(f.plain)
	if th.Name == "plain" {
		lipgloss.SetColorProfile(termenv.Ascii)
	}

	var db *history.DB
	if !f.noHistory {
		path := f.history
		if path == "" {
			path = history.DefaultPath()
		}
		var err error
		if db, err = history.Open(path); err != nil {
			banner = "history off: " + err.Error()
		} else {
			defer db.Close()
		}
	}
	o := tui.Options{Theme: th, Keys: &keys, DB: db, Banner: banner}
	if f.cont.set {
		if db == nil {
			return errors.New("--continue needs the history database")
		}
		s, err := db.FindSession(f.cont.prefix)
		if err != nil {
			return err
		}
		msgs, err := db.Messages(s.ID)
		if err != nil {
			return err
		}
		o.Continue, o.Messages = &s, msgs
	}

	homeDir := g.homeDir()
	if cks, err := home.Scan(homeDir); err == nil && len(cks) == 0 {
		if demo := demoHome(); demo != "" {
			o.Banner = fmt.Sprintf("Demo model: no checkpoints in %s, so this is the bundled demo (%s). Point nanochat at yours with --home DIR or NANOCHAT_BASE_DIR.", homeDir, demo)
			homeDir = demo
		}
	}
	o.Home = homeDir
	o.Lister = func() ([]home.Checkpoint, error) { return home.Scan(homeDir) }
	o.Opener = func(ctx context.Context, ck home.Checkpoint, progress func(string)) (llm.Model, error) {
		opts, err := g.loadOptions()
		if err != nil {
			return nil, err
		}
		m, err := local.Open(ck, local.OpenOptions{Home: homeDir, Model: opts, Backend: g.backend, Progress: progress})
		if err != nil {
			return nil, err
		}
		return m, nil
	}
	if g.remote != "" {
		// The remote server is the only "checkpoint"; its name comes from it.
		rm, err := g.openModel("", nil)
		if err != nil {
			return err
		}
		info := rm.Info()
		rm.Close()
		ck := home.Checkpoint{Source: "remote", Tag: info.Name, ModelPath: g.remote}
		o.Lister = func() ([]home.Checkpoint, error) { return []home.Checkpoint{ck}, nil }
		o.Opener = func(ctx context.Context, _ home.Checkpoint, progress func(string)) (llm.Model, error) {
			progress("connecting to " + g.remote)
			return g.openModel("", nil)
		}
		o.Initial = ck.Name()
		o.Banner = "Remote engine: " + info.Name + " on " + g.remote
	}
	o.Describer = func(ck home.Checkpoint) (string, int64, error) {
		if ck.Source == "remote" {
			return "remote", 0, nil
		}
		s, err := model.Describe(ck.ModelPath, model.Overrides{})
		if err != nil {
			return "", 0, err
		}
		return s.Arch.Generation, s.Params, nil
	}
	if fl := cmd.Flags(); g.remote == "" && (fl.Changed("source") || fl.Changed("tag") || fl.Changed("step")) {
		if ck, err := resolveCheckpoint(homeDir, g.source, g.tag, g.step); err == nil {
			o.Initial = ck.Name()
		} else {
			return err
		}
	}
	if evalPane != nil {
		o.Eval = evalPane(g, th, f.unsafeSB)
	}
	app := tui.New(o)
	defer app.Close()
	_, err := tea.NewProgram(app, tea.WithAltScreen()).Run()
	return err
}

// demoHome finds the demo nanochat home shipped in the repository
// (testdata/demo/home) near the executable or the working directory, else
// the one bundled in the binary.
func demoHome() string {
	var dirs []string
	if d := os.Getenv("NANOCHAT_DEMO_HOME"); d != "" {
		dirs = append(dirs, d)
	}
	if exe, err := os.Executable(); err == nil {
		if exe, err = filepath.EvalSymlinks(exe); err == nil {
			dir := filepath.Dir(exe)
			dirs = append(dirs, filepath.Join(dir, "testdata", "demo", "home"), filepath.Join(dir, "..", "testdata", "demo", "home"),
				filepath.Join(dir, "..", "..", "testdata", "demo", "home"))
		}
	}
	dirs = append(dirs, filepath.Join("testdata", "demo", "home"))
	for _, d := range dirs {
		if cks, err := home.Scan(d); err == nil && len(cks) > 0 {
			if abs, err := filepath.Abs(d); err == nil {
				return abs
			}
			return d
		}
	}
	return bundledDemoHome()
}
