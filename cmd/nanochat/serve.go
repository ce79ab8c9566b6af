package main

import (
	"context"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/nanochat-go/nanochat/llm"
	"github.com/nanochat-go/nanochat/llm/local"
	"github.com/nanochat-go/nanochat/model/home"
	"github.com/nanochat-go/nanochat/server"
)

func init() { commands = append(commands, newServeCmd) }

type serveFlags struct {
	host           string
	port           int
	apiKey         string
	model          string
	maxConcurrent  int
	queue          int
	queueTimeout   time.Duration
	requestTimeout time.Duration
	maxLoaded      int
	batch          int
	quiet          bool
	settings       llm.Settings
}

func newServeCmd(g *globals) *cobra.Command {
	var sf serveFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the home's checkpoints over the OpenAI API and nanochat's web API",
		Long: `Serve every checkpoint of the nanochat home over HTTP:

  POST /v1/chat/completions   OpenAI chat (streaming or not; n, stop, seed, top_k …)
  POST /v1/completions        OpenAI completions, with echo and logprobs (the
                              prompt's literal special tokens are parsed, as vLLM
                              does: lm-evaluation-harness's local-completions)
  GET  /v1/models             one entry per checkpoint ("source/tag/step")
  POST /chat/completions      upstream nanochat's chat_web.py API and SSE format
  GET  /health, GET /stats    upstream's health (503 while loading) and workers

Requests pick a model by name ("sft/d20/650", or a prefix such as "sft");
models load on demand. The default model (--model, else --source/--tag/--step)
loads at start. The sampling flags are the defaults for requests that omit them;
without --seed each request gets a random seed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := validateSettings(sf.settings); err != nil {
				return usageError{err}
			}
			if !cmd.Flags().Changed("seed") {
				sf.settings.Seed = 0 // random per request
			}
			if sf.apiKey == "" {
				sf.apiKey = os.Getenv("NANOCHAT_API_KEY")
			}
			return runServe(cmd, g, sf)
		},
	}
	f := cmd.Flags()
	f.StringVar(&sf.host, "host", "127.0.0.1", "address to listen on (0.0.0.0 for every interface)")
	f.IntVar(&sf.port, "port", 8000, "port to listen on (0: any free port)")
	f.StringVar(&sf.apiKey, "api-key", "", "require \"Authorization: Bearer <key>\" (default $NANOCHAT_API_KEY)")
	f.StringVar(&sf.model, "model", "", "default model, e.g. sft/d20/650 (default: --source/--tag/--step)")
	f.IntVar(&sf.batch, "batch", 8, "decode rows shared by concurrent requests (continuous batching; ≤ 1: one request at a time)")
	f.IntVar(&sf.maxConcurrent, "max-concurrent", 0, "rows generating at once per model (default: --batch)")
	f.IntVar(&sf.queue, "queue", 64, "requests waiting per model before 429")
	f.DurationVar(&sf.queueTimeout, "queue-timeout", time.Minute, "longest wait for a free slot before 503")
	f.DurationVar(&sf.requestTimeout, "request-timeout", 10*time.Minute, "longest generation")
	f.IntVar(&sf.maxLoaded, "max-loaded", 1, "models kept in memory at once (least recently used ones unload)")
	f.BoolVarP(&sf.quiet, "quiet", "q", false, "no request log on stderr")
	addSamplingFlags(cmd, &sf.settings)
	return cmd
}

func runServe(cmd *cobra.Command, g *globals, sf serveFlags) error {
	if _, err := g.loadOptions(); err != nil {
		return err
	}
	cks, err := home.Scan(g.homeDir())
	if err != nil {
		return err
	}
	if len(cks) == 0 {
		return fmt.Errorf("serve: no checkpoints in %s (set --home or NANOCHAT_BASE_DIR)", g.homeDir())
	}
	def := sf.model
	if def == "" {
		if ck, err := g.resolve(); err == nil {
			def = ck.Name()
		}
	}
	stderr := cmd.ErrOrStderr()
	logger := log.New(stderr, "nanochat: ", log.LstdFlags)
	o := server.Options{
		Checkpoints: cks, Default: def, APIKey: sf.apiKey,
		MaxConcurrent: sf.maxConcurrent, MaxQueue: sf.queue, QueueTimeout: sf.queueTimeout,
		RequestTimeout: sf.requestTimeout, MaxLoaded: sf.maxLoaded, Defaults: sf.settings,
		Open: func(ctx context.Context, ck home.Checkpoint) (llm.Model, error) {
			m, err := g.openLocal(ck.Name(), stderr)
			if err != nil {
				return nil, err
			}
			if sf.batch <= 1 {
				return m, nil
			}
			if err := m.EnableBatching(sf.batch); err != nil {
				m.Close()
				return nil, err
			}
			return batched{m, sf.batch}, nil
		},
	}
	if !sf.quiet {
		o.Logf = logger.Printf
	}
	if o.Defaults.MaxTokens <= 0 {
		o.Defaults.MaxTokens = llm.DefaultSettings().MaxTokens
	}
	s, err := server.New(o)
	if err != nil {
		return usageError{err}
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(sf.host, strconv.Itoa(sf.port)))
	if err != nil {
		s.Close()
		return fmt.Errorf("serve: %w", err)
	}
	names := make([]string, len(cks))
	for i, ck := range cks {
		names[i] = ck.Name()
	}
	fmt.Fprintf(stderr, "nanochat: serving %s on http://%s (OpenAI API at /v1; default model %s)\n",
		strings.Join(names, ", "), ln.Addr(), orDefault(def, cks[0].Name()))
	if sf.apiKey == "" && !isLoopback(sf.host) {
		fmt.Fprintln(stderr, "nanochat: warning: listening beyond this machine without --api-key")
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err = s.Serve(ctx, ln)
	fmt.Fprintln(stderr, "nanochat: stopped")
	return err
}

// batched is a local model decoding concurrent requests together; it tells
// the server how many rows it takes (server.Batcher).
type batched struct {
	*local.Model
	rows int
}

// BatchRows implements server.Batcher.
func (b batched) BatchRows() int { return b.rows }

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
