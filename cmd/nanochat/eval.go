package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/nanochat-go/nanochat/eval"
	"github.com/nanochat-go/nanochat/eval/sandbox"
	"github.com/nanochat-go/nanochat/eval/store"
	"github.com/nanochat-go/nanochat/eval/task"
	"github.com/nanochat-go/nanochat/llm"
	"github.com/nanochat-go/nanochat/tui"
	"github.com/nanochat-go/nanochat/tui/evalpane"
	"github.com/nanochat-go/nanochat/tui/theme"
)

type evalFlags struct {
	tasks    string
	limit    int
	data     []string
	asJSON   bool
	out      string
	samples  string
	parallel int
	db       string
	fresh    bool
	python   string
	unsafeSB bool
	quiet    bool
	settings llm.Settings
}

func init() {
	commands = append(commands, newEvalCmd)
	evalPane = newEvalPane
}

// newEvalPane builds the TUI's eval tab. Results go to the default store;
// unsafeSandbox lets HumanEval run without isolation, as eval's flag does.
// Tasks whose data is not in the home fall back to the bundled demo's toy
// sets (ARC-Easy, MMLU, GSM8K) when they exist; the pane labels them so
// and names the data pull command.
func newEvalPane(g *globals, th theme.Theme, unsafeSandbox bool) tui.Pane {
	st, err := store.Open(store.DefaultPath())
	if err != nil {
		st = nil // the pane works without a cache
	}
	o := evalpane.Options{Theme: th, Store: st, Home: g.homeDir(),
		Variant:     fmt.Sprintf("precision=%s override=%s", g.precision, g.override),
		PullCommand: func(ids []string) string { return pullCommand(g, ids...) }}
	if unsafeSandbox {
		o.Sandbox = func() (*sandbox.Sandbox, error) { return sandbox.New(sandbox.Options{Unsafe: true}) }
	}
	if demo := demoHome(); demo != "" {
		dir := filepath.Join(filepath.Dir(demo), "data")
		o.Toy = map[string]string{"arc-easy": filepath.Join(dir, "arc_toy.jsonl"),
			"mmlu": filepath.Join(dir, "mmlu_toy.jsonl"), "gsm8k": filepath.Join(dir, "gsm8k_toy.jsonl")}
	}
	return evalpane.New(o)
}

// pullCommand spells the command that downloads tasks' data into the home
// in use.
func pullCommand(g *globals, ids ...string) string {
	c := "nanochat data pull " + strings.Join(ids, " ")
	if g.home != "" {
		c += " --home " + shellQuote(g.home)
	}
	return c
}

func newEvalCmd(g *globals) *cobra.Command {
	var ef evalFlags
	cmd := &cobra.Command{
		Use:   "eval",
		Short: "Run chat benchmarks (ARC, MMLU, GSM8K, HumanEval) like upstream chat_eval",
		Long: `Evaluate a chat checkpoint on ARC-Easy, ARC-Challenge, MMLU, GSM8K and
HumanEval with upstream nanochat's chat_eval semantics, so the numbers match:
categorical tasks compare the answer letters' logits, generative tasks sample
(greedy by default, 512 tokens, calculator on) and check the answer.

Data comes from the nanochat cache ($NANOCHAT_BASE_DIR/task_data, filled by
"nanochat data pull") or from files given with --data task=path (parquet or
JSONL in the Hugging Face schema). --limit N evaluates the same first N items
as upstream's -x N (its seed-42 shuffle is reproduced).

Every finished item is stored at once (--db, default
$XDG_DATA_HOME/nanochat/evals.db) under the checkpoint's digest, the task,
the settings and the item: an interrupted run resumes where it stopped and an
identical rerun is instant. Progress goes to stderr, the report to stdout.`,
		Example: `  nanochat eval --source sft --task gsm8k,mmlu --limit 100
  nanochat eval --home testdata/demo/home --data gsm8k=testdata/demo/data/gsm8k_toy.jsonl
  nanochat eval --task humaneval --samples 10 --temperature 0.8 --json --out he.json
  nanochat eval runs`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runEval(cmd, g, &ef) },
	}
	f := cmd.Flags()
	f.StringVarP(&ef.tasks, "task", "a", "", "tasks, comma-separated: arc-easy, arc-challenge, mmlu, gsm8k, humaneval (default: those given with --data, else all)")
	f.IntVarP(&ef.limit, "limit", "x", 0, "evaluate the first N items of upstream's order (its -x/--max-problems)")
	f.StringArrayVar(&ef.data, "data", nil, "read a task's data from a file or directory: task=path (repeatable)")
	f.BoolVar(&ef.asJSON, "json", false, "print the report as JSON")
	f.StringVarP(&ef.out, "out", "o", "", "also write the JSON report to this file")
	f.StringVar(&ef.samples, "log-samples", "", "write every item (gold, extracted answer, raw outputs) to this JSONL file")
	f.IntVarP(&ef.parallel, "batch", "b", 1, "generate this many problems at once with continuous batching (1 = one at a time, like upstream)")
	f.StringVar(&ef.db, "db", "", "result store (default $NANOCHAT_EVAL_DB or $XDG_DATA_HOME/nanochat/evals.db)")
	f.BoolVar(&ef.fresh, "fresh", false, "recompute every item instead of reusing stored results")
	f.StringVar(&ef.python, "python", "", "Python 3 interpreter for HumanEval (default python3 on PATH)")
	f.BoolVar(&ef.unsafeSB, "unsafe-sandbox", false, "run HumanEval's model-written code even where the kernel cannot isolate it (no user namespaces): only a temp dir, rlimits, and Landlock where available")
	f.BoolVarP(&ef.quiet, "quiet", "q", false, "no progress on stderr")
	d := eval.Defaults()
	f.Float64VarP(&ef.settings.Temperature, "temperature", "t", d.Temperature, "sampling temperature for generative tasks (0 = greedy)")
	f.IntVarP(&ef.settings.TopK, "top-k", "k", d.TopK, "top-k for generative tasks (0 = off)")
	f.Float64Var(&ef.settings.TopP, "top-p", d.TopP, "nucleus sampling mass (1 = off; upstream has none)")
	f.IntVarP(&ef.settings.MaxTokens, "max-tokens", "m", d.MaxTokens, "most tokens to generate per sample")
	f.IntVarP(&ef.settings.Samples, "samples", "n", d.Samples, "samples per generative problem (pass@k; an item passes if any does)")
	f.Uint64Var(&ef.settings.Seed, "seed", d.Seed, "sampling seed (upstream uses 42 for every problem)")
	cmd.AddCommand(newEvalRunsCmd(g))
	return cmd
}

func runEval(cmd *cobra.Command, g *globals, ef *evalFlags) error {
	if err := validateSettings(ef.settings); err != nil {
		return usageError{err}
	}
	if ef.settings.Samples < 1 || ef.limit < 0 {
		return usageError{fmt.Errorf("--samples must be ≥ 1 and --limit ≥ 0")}
	}
	dataPaths, err := eval.ParseData(ef.data)
	if err != nil {
		return usageError{err}
	}
	list := ef.tasks
	if list == "" && len(dataPaths) > 0 {
		for _, t := range task.All() {
			if _, ok := dataPaths[t.ID]; ok {
				list += t.ID + ","
			}
		}
	}
	tasks, err := task.Parse(list)
	if err != nil {
		return usageError{err}
	}
	plan := eval.Plan{Tasks: tasks, Data: dataPaths, Home: g.homeDir(), Limit: ef.limit,
		PullCommand: func(id string) string { return pullCommand(g, id) }}
	jobs, err := plan.Jobs()
	if err != nil {
		return err
	}
	stderr := cmd.ErrOrStderr()
	var progress io.Writer = stderr
	if ef.quiet {
		progress = nil
	}

	// The sandbox first: a missing python3 should fail before the model loads.
	var env task.Env
	for _, j := range jobs {
		if j.Task.ID == "humaneval" {
			sb, err := sandbox.New(sandbox.Options{Python: ef.python, Unsafe: ef.unsafeSB})
			if err != nil {
				return err
			}
			env.Sandbox = sb
			if progress != nil || !sb.Jailed() {
				fmt.Fprintf(stderr, "nanochat: humaneval sandbox: %s\n", sb.Isolation())
			}
		}
	}
	m, id, err := g.openEvalModel(ef, progress)
	if err != nil {
		return err
	}
	defer m.Close()
	if err := announceScoring(cmd.Context(), m, jobs, g.remote != "", progress, stderr); err != nil {
		return err
	}
	dbPath := ef.db
	if dbPath == "" {
		dbPath = store.DefaultPath()
	}
	st, err := store.Open(dbPath)
	if err != nil {
		return err
	}
	defer st.Close()

	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
	defer stop()
	pp := newProgressPrinter(progress, jobs)
	// At least two items in flight: a HumanEval program runs in the sandbox
	// while the next problem generates.
	rep, runErr := eval.Run(ctx, m, eval.Config{Jobs: jobs, Checkpoint: id, Settings: ef.settings, Parallel: max(ef.parallel, 2),
		Store: st, Fresh: ef.fresh, Env: env}, pp.event)
	if rep == nil {
		return runErr
	}
	if ef.out != "" {
		if err := writeJSONFile(ef.out, rep); err != nil {
			return err
		}
	}
	if ef.samples != "" {
		if err := writeSamples(ef.samples, rep); err != nil {
			return err
		}
	}
	out := cmd.OutOrStdout()
	if ef.asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		printEvalReport(out, rep)
	}
	if errors.Is(runErr, context.Canceled) {
		return fmt.Errorf("interrupted: finished items are stored in %s; rerun the same command to resume", dbPath)
	}
	return runErr
}

func writeJSONFile(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

// writeSamples writes one JSON object per evaluated item.
func writeSamples(path string, rep *eval.Report) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write samples: %w", err)
	}
	enc := json.NewEncoder(f)
	for _, t := range rep.Tasks {
		for _, r := range t.Results {
			if err := enc.Encode(r); err != nil {
				f.Close()
				return fmt.Errorf("write samples: %w", err)
			}
		}
	}
	return f.Close()
}

func shellQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t'\"$\\`;&|<>()*?[]#~!{}") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// printEvalReport writes the human table: one line per task and ChatCORE.
func printEvalReport(w io.Writer, rep *eval.Report) {
	fmt.Fprintf(w, "checkpoint %s (%s)\n", rep.Checkpoint.Name, rep.Checkpoint.Digest)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "task\tn\taccuracy\t95% CI\tpass@k\tcached\tstatus")
	for _, t := range rep.Tasks {
		var pk []string
		if t.Samples > 1 {
			for _, k := range []string{"pass@1", "pass@10", "pass@100"} {
				if v, ok := t.PassAtK[k]; ok {
					pk = append(pk, fmt.Sprintf("%s %.4f", k, v))
				}
			}
		}
		n := fmt.Sprint(t.N)
		if t.N != t.Rows {
			n = fmt.Sprintf("%d/%d", t.N, t.Rows)
		}
		fmt.Fprintf(tw, "%s\t%s\t%.2f%%\t%.2f–%.2f%%\t%s\t%d\t%s\n", t.Name, n, 100*t.Accuracy, 100*t.CI95[0], 100*t.CI95[1],
			strings.Join(pk, " "), t.Cached, t.Status)
	}
	tw.Flush()
	for _, t := range rep.Tasks {
		if t.Scoring == llm.ChoiceGeneration {
			fmt.Fprintf(w, "%s: scored by a one-token answer, not the letters' log-probabilities (the server gives none): not comparable with upstream\n", t.Name)
		}
	}
	if rep.ChatCORE != nil {
		note := ""
		if !rep.ChatCOREComplete {
			note = " (over the tasks above; upstream reports it only for all five in full)"
		}
		fmt.Fprintf(w, "ChatCORE metric: %.4f%s\n", *rep.ChatCORE, note)
	}
}

// announceScoring says, before the run, how a remote model's letters will
// be scored when the run has multiple-choice tasks, and fails at once when
// they cannot be (upstream's chat_web.py). Scoring by a one-token answer is
// a warning, on stderr even with --quiet: its accuracies are not upstream's.
func announceScoring(ctx context.Context, m llm.Model, jobs []eval.Job, remote bool, progress, stderr io.Writer) error {
	var names []string
	for _, j := range jobs {
		if j.Task.Kind == task.Categorical {
			names = append(names, j.Task.Name)
		}
	}
	if len(names) == 0 || !remote {
		return nil
	}
	method, err := llm.ChoiceMethod(ctx, m)
	switch {
	case err != nil:
		return fmt.Errorf("%s: %w (the generative tasks run alone: --task gsm8k,humaneval)", strings.Join(names, ", "), err)
	case method == llm.ChoiceGeneration:
		fmt.Fprintf(stderr, "nanochat: warning: %s gives no prompt logprobs, so %s will be scored by a one-token greedy answer (1 for the letter it names, 0 for the others), not by the letters' log-probabilities as upstream scores them; results are stored and reported as scoring=generation\n",
			visible(stderr, m.Info().Device), strings.Join(names, ", "))
	case progress != nil:
		fmt.Fprintf(progress, "nanochat: %s: letters scored by their log-probabilities (the server's echo + logprobs)\n", strings.Join(names, ", "))
	}
	return nil
}

// progressPrinter draws one status line per task on stderr: redrawn in
// place on a terminal, printed at every 10% otherwise.
type progressPrinter struct {
	w     io.Writer
	tty   bool
	names map[string]string
	last  time.Time
	step  map[string]int
}

func newProgressPrinter(w io.Writer, jobs []eval.Job) *progressPrinter {
	p := &progressPrinter{w: w, names: map[string]string{}, step: map[string]int{}}
	if f, ok := w.(*os.File); ok {
		p.tty = isTerminal(f)
	}
	for _, j := range jobs {
		p.names[j.Task.ID] = j.Task.Name
	}
	return p
}

func (p *progressPrinter) event(e eval.Event) {
	if p.w == nil {
		return
	}
	pr := e.Progress
	line := fmt.Sprintf("%-13s %s %d/%d  acc %5.1f%% [%4.1f–%4.1f]", p.names[e.Task], bar(pr.Done, pr.Total, 20), pr.Done, pr.Total,
		100*pr.Accuracy, 100*pr.Lo, 100*pr.Hi)
	if pr.Cached > 0 {
		line += fmt.Sprintf("  %d cached", pr.Cached)
	}
	if pr.ItemsPerSec > 0 {
		line += fmt.Sprintf("  %.1f it/s", pr.ItemsPerSec)
		if pr.TokensPerSec > 0 {
			line += fmt.Sprintf("  %.0f tok/s", pr.TokensPerSec)
		}
		if !e.Finished {
			line += "  ETA " + pr.ETA.Round(time.Second).String()
		}
	}
	if pr.Errors > 0 {
		line += fmt.Sprintf("  %d errors", pr.Errors)
	}
	switch {
	case p.tty && e.Finished:
		fmt.Fprintf(p.w, "\r\x1b[K%s\n", line)
	case p.tty:
		if time.Since(p.last) > 50*time.Millisecond {
			p.last = time.Now()
			fmt.Fprintf(p.w, "\r\x1b[K%s", line)
		}
	case e.Finished:
		fmt.Fprintln(p.w, line)
	default:
		if tenth := pr.Done * 10 / max(pr.Total, 1); tenth > p.step[e.Task] {
			p.step[e.Task] = tenth
			if tenth < 10 {
				fmt.Fprintln(p.w, line)
			}
		}
	}
}

func bar(done, total, width int) string {
	n := 0
	if total > 0 {
		n = done * width / total
	}
	return "[" + strings.Repeat("█", n) + strings.Repeat("·", width-n) + "]"
}

func newEvalRunsCmd(g *globals) *cobra.Command {
	var asJSON bool
	var limit int
	var db string
	cmd := &cobra.Command{
		Use:   "runs",
		Short: "List stored evaluation runs, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if db == "" {
				db = store.DefaultPath()
			}
			st, err := store.Open(db)
			if err != nil {
				return err
			}
			defer st.Close()
			runs, err := st.Runs(cmd.Context(), limit)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				if runs == nil {
					runs = []store.Run{}
				}
				return enc.Encode(runs)
			}
			if len(runs) == 0 {
				fmt.Fprintf(out, "no evaluation runs in %s\n", db)
				return nil
			}
			tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "id\tstarted\tcheckpoint\ttask\tdone\taccuracy\tcached\tstatus\tsettings")
			for _, r := range runs {
				status := r.Status
				if status == "running" && time.Since(r.Updated) > time.Minute {
					status = "interrupted"
				}
				acc := "-"
				if r.Done > 0 {
					acc = fmt.Sprintf("%.2f%%", 100*float64(r.Passed)/float64(r.Done))
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d/%d\t%s\t%d\t%s\t%s\n", r.ID, r.Started.Format("2006-01-02 15:04"), r.Checkpoint, r.Task,
					r.Done, r.Total, acc, r.Cached, status, r.Settings)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().IntVar(&limit, "limit", 50, "most runs to list (0 = all)")
	cmd.Flags().StringVar(&db, "db", "", "result store (default $NANOCHAT_EVAL_DB or $XDG_DATA_HOME/nanochat/evals.db)")
	return cmd
}

// openEvalModel loads the model under evaluation and names it for the
// results store: a local checkpoint by its file digest, a --remote model by
// its URL and name (the server's weights cannot be fingerprinted).
func (g *globals) openEvalModel(ef *evalFlags, progress io.Writer) (llm.Model, eval.Checkpoint, error) {
	if g.remote != "" {
		m, err := g.openModel("", progress)
		if err != nil {
			return nil, eval.Checkpoint{}, err
		}
		info := m.Info()
		return m, eval.Checkpoint{Name: info.Name, Digest: "remote:" + g.remote + "#" + info.Name}, nil
	}
	ck, err := g.resolve()
	if err != nil {
		return nil, eval.Checkpoint{}, err
	}
	id, err := eval.CheckpointOf(ck, fmt.Sprintf("precision=%s override=%s", g.precision, g.override))
	if err != nil {
		return nil, eval.Checkpoint{}, err
	}
	m, err := g.openLocal("", progress)
	if err != nil {
		return nil, eval.Checkpoint{}, err
	}
	if ef.parallel > 1 {
		// Concurrent generations share decode steps (continuous batching).
		if err := m.EnableBatching(ef.parallel); err != nil {
			m.Close()
			return nil, eval.Checkpoint{}, err
		}
	}
	return m, id, nil
}
