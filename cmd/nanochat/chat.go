package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nanochat-go/nanochat/llm"
)

type chatFlags struct {
	prompt    string
	system    string
	asJSON    bool
	raw       bool
	quiet     bool
	settings  llm.Settings
	cont      sessionFlag
	history   string
	noHistory bool
}

func addSamplingFlags(cmd *cobra.Command, s *llm.Settings) {
	d := llm.DefaultSettings()
	f := cmd.Flags()
	f.Float64VarP(&s.Temperature, "temperature", "t", d.Temperature, "sampling temperature (0 = greedy)")
	f.IntVarP(&s.TopK, "top-k", "k", d.TopK, "keep the k most likely tokens (0 = off)")
	f.Float64Var(&s.TopP, "top-p", d.TopP, "nucleus sampling probability mass (1 = off)")
	f.Uint64Var(&s.Seed, "seed", d.Seed, "random seed (same seed, same answer)")
	f.IntVarP(&s.MaxTokens, "max-tokens", "m", d.MaxTokens, "most tokens to generate")
}

func newChatCmd(g *globals) *cobra.Command {
	var cf chatFlags
	cmd := &cobra.Command{
		Use:   "chat [-p prompt]",
		Short: "Answer one prompt (from -p or stdin), streamed to stdout",
		Long: `Answer one prompt with the selected checkpoint, streaming the reply to stdout.
The prompt comes from -p or, when -p is absent, from stdin. Base checkpoints
have no chat template: the prompt is continued as plain text. With neither -p
nor piped input, chat runs a line-by-line conversation like upstream's
chat_cli (the full-screen app is plain "nanochat").

Calculator calls are printed where the model made them, as [12*7 → 84]
(dim on a terminal, plain text when piped); --raw prints them as the model
wrote them, <|python_start|>12*7<|python_end|><|output_start|>84<|output_end|>,
and --json gives both the text and the raw reply.

On a terminal, control characters in the reply (escape sequences from a model
or a --remote server) are shown, ESC as ^[, instead of acting on the terminal;
piped or redirected, the reply is written byte for byte. The reply is saved to
the history as it streams, so an interrupted chat keeps what it printed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := validateSettings(cf.settings); err != nil {
				return usageError{err}
			}
			if cf.cont.set && cf.noHistory {
				return usageError{fmt.Errorf("--continue and --no-history are exclusive")}
			}
			prompt := cf.prompt
			if in, ok := cmd.InOrStdin().(*os.File); ok && !cmd.Flags().Changed("prompt") && isTerminal(in) {
				return chatREPL(cmd, g, cf)
			}
			if !cmd.Flags().Changed("prompt") {
				data, err := io.ReadAll(cmd.InOrStdin())
				if err != nil {
					return fmt.Errorf("read prompt from stdin: %w", err)
				}
				prompt = strings.TrimSpace(string(data))
			}
			if strings.TrimSpace(prompt) == "" {
				return usageError{fmt.Errorf("empty prompt: pass -p \"…\" or pipe text on stdin")}
			}
			// Progress names a --remote server's model and device: shown,
			// not obeyed, on a terminal.
			progress, flushProgress := untrusted(cmd.ErrOrStderr())
			defer flushProgress()
			if cf.quiet {
				progress = nil
			}
			m, err := g.openModel("", progress)
			if err != nil {
				return err
			}
			defer m.Close()
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
			defer stop()
			// The reply streams to stdout: on a terminal with its control
			// characters made visible, to a pipe or file byte for byte.
			out := cmd.OutOrStdout()
			show := streamOptions{print: !cf.asJSON, raw: cf.raw}
			var rep llm.Reply
			if m.Info().Chat {
				log, msgs, err := cf.openLog()
				if err != nil {
					return err
				}
				var userID int64
				if log != nil {
					defer log.Close()
					if userID, err = log.user(prompt); err != nil {
						return err
					}
					if !cf.quiet {
						defer log.note(cmd.ErrOrStderr())
					}
				}
				rs, err := startReply(out, show, log, userID, m.Info(), cf.settings)
				if err != nil {
					return err
				}
				msgs = append(msgs, llm.Message{Role: "user", Content: prompt})
				rep, err = m.Chat(ctx, msgs, cf.settings, rs.on)
				if lerr := rs.finish(ctx, rep, err); lerr != nil && err == nil {
					err = lerr
				}
				if err != nil && ctx.Err() == nil {
					return err
				}
			} else {
				if cf.cont.set {
					return usageError{fmt.Errorf("--continue needs a chat checkpoint; %s is a base model", m.Info().Name)}
				}
				rs, _ := startReply(out, show, nil, 0, m.Info(), cf.settings)
				rep, err = m.Complete(ctx, prompt, cf.settings, rs.on)
				rs.finish(ctx, rep, err)
			}
			if err != nil && ctx.Err() == nil {
				return err
			}
			if cf.asJSON {
				enc := json.NewEncoder(out)
				enc.SetEscapeHTML(false)
				return enc.Encode(chatJSON(m.Info(), prompt, cf.settings, rep))
			}
			fmt.Fprintln(out)
			if !cf.quiet {
				s := rep.Stats
				fmt.Fprintf(cmd.ErrOrStderr(), "nanochat: %d prompt tokens (%d cached), %d generated, TTFT %v, %.1f tok/s\n",
					s.PromptTokens, s.CachedTokens, s.Generated, s.TTFT.Round(1e5), s.TokensPerSec)
			}
			return ctx.Err()
		},
	}
	f := cmd.Flags()
	f.StringVarP(&cf.prompt, "prompt", "p", "", "the prompt (default: read stdin)")
	f.StringVar(&cf.system, "system", "", "system prompt (merged into the first user message, as nanochat does)")
	f.BoolVar(&cf.asJSON, "json", false, "print one JSON object with the answer and stats")
	f.BoolVar(&cf.raw, "raw", false, "print calculator calls as the model wrote them, special tokens and all, instead of as [12*7 → 84]")
	f.BoolVarP(&cf.quiet, "quiet", "q", false, "no progress or stats on stderr")
	addContinueFlag(f, &cf.cont, "", "continue a saved session: --continue=<id-prefix>, or the latest with a bare --continue")
	f.StringVar(&cf.history, "history", "", "history database (default $NANOCHAT_HISTORY or the XDG data dir)")
	f.BoolVar(&cf.noHistory, "no-history", false, "do not record this conversation")
	addSamplingFlags(cmd, &cf.settings)
	return cmd
}

// validateSettings checks the sampling flags shared by chat, eval and serve.
func validateSettings(s llm.Settings) error {
	switch {
	case s.Temperature < 0:
		return fmt.Errorf("--temperature %v: want ≥ 0", s.Temperature)
	case s.TopK < 0:
		return fmt.Errorf("--top-k %d: want ≥ 0", s.TopK)
	case s.TopP <= 0 || s.TopP > 1:
		return fmt.Errorf("--top-p %v: want 0 < p ≤ 1", s.TopP)
	case s.MaxTokens <= 0:
		return fmt.Errorf("--max-tokens %d: want > 0", s.MaxTokens)
	}
	return nil
}

func chatJSON(info llm.Info, prompt string, s llm.Settings, rep llm.Reply) map[string]any {
	row := llm.Row{}
	if len(rep.Rows) > 0 {
		row = rep.Rows[0]
	}
	st := rep.Stats
	return map[string]any{
		"model": info.Name, "generation": info.Generation, "device": info.Device,
		"prompt": prompt, "answer": row.Text, "parts": row.Parts, "raw": row.Raw, "finish": row.Finish,
		"settings": s,
		"stats": map[string]any{
			"prompt_tokens": st.PromptTokens, "cached_tokens": st.CachedTokens, "generated_tokens": st.Generated,
			"ttft_ms": float64(st.TTFT.Microseconds()) / 1000, "duration_ms": float64(st.Duration.Microseconds()) / 1000,
			"tokens_per_sec": st.TokensPerSec, "prefill_tokens_per_sec": st.PrefillPerSec,
		},
	}
}

// chatREPL is a plain line-based conversation (upstream chat_cli): "quit"
// or "exit" ends it, "clear" starts over; Ctrl-C stops a reply.
func chatREPL(cmd *cobra.Command, g *globals, cf chatFlags) error {
	progress, flushProgress := untrusted(cmd.ErrOrStderr())
	defer flushProgress()
	m, err := g.openModel("", progress)
	if err != nil {
		return err
	}
	defer m.Close()
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "\nnanochat %s (%s) — type 'quit' or 'exit' to end, 'clear' to start over\n",
		visible(out, m.Info().Name), visible(out, m.Info().Generation))
	log, msgs, err := cf.openLog()
	if err != nil {
		return err
	}
	if log != nil {
		defer log.Close()
		defer log.note(cmd.ErrOrStderr())
	}
	printHistory(out, msgs)
	sc := bufio.NewScanner(cmd.InOrStdin())
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for {
		fmt.Fprint(out, "\nUser: ")
		if !sc.Scan() {
			fmt.Fprintln(out, "\nGoodbye!")
			return sc.Err()
		}
		line := strings.TrimSpace(sc.Text())
		switch strings.ToLower(line) {
		case "":
			continue
		case "quit", "exit":
			fmt.Fprintln(out, "Goodbye!")
			return nil
		case "clear":
			msgs = systemPrompt(cf.system)
			fmt.Fprintln(out, "Conversation cleared.")
			continue
		}
		msgs = append(msgs, llm.Message{Role: "user", Content: line})
		var userID int64
		if log != nil {
			if userID, err = log.user(line); err != nil {
				return err
			}
		}
		fmt.Fprint(out, "\nAssistant: ")
		rs, err := startReply(out, streamOptions{print: true, raw: cf.raw}, log, userID, m.Info(), cf.settings)
		if err != nil {
			return err
		}
		ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
		rep, err := m.Chat(ctx, msgs, cf.settings, rs.on)
		lerr := rs.finish(ctx, rep, err)
		stopped := ctx.Err() != nil
		stop()
		fmt.Fprintln(out)
		if err != nil && !stopped || len(rep.Rows) == 0 {
			if err != nil && !stopped {
				fmt.Fprintln(cmd.ErrOrStderr(), "nanochat:", visible(cmd.ErrOrStderr(), err.Error()))
			}
			msgs = msgs[:len(msgs)-1]
			continue
		}
		if lerr != nil {
			return lerr
		}
		msgs = append(msgs, llm.Message{Role: "assistant", Content: rep.Rows[0].Text, Parts: rep.Rows[0].Parts})
	}
}

// openLog opens the history for this conversation (nil with --no-history).
func (cf chatFlags) openLog() (*chatLog, []llm.Message, error) {
	if cf.noHistory {
		return nil, systemPrompt(cf.system), nil
	}
	return openChatLog(cf.history, cf.cont.set, cf.cont.prefix, cf.settings, cf.system)
}

// systemPrompt is the conversation's start: the system message, if any.
func systemPrompt(system string) []llm.Message {
	if system == "" {
		return nil
	}
	return []llm.Message{{Role: "system", Content: system}}
}
