// Package server serves llm.Models over HTTP: the OpenAI API
// (/v1/chat/completions, /v1/completions, /v1/models) and upstream
// nanochat's chat_web.py routes (/chat/completions, /health, /stats), and a
// browser chat page at / (package web), with a per-model admission queue,
// on-demand loading and graceful shutdown. It knows models only through
// llm.Model and an Opener; checkpoints, engines and flags live below and
// above it.
package server

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nanochat-go/nanochat/llm"
	"github.com/nanochat-go/nanochat/model/home"
	"github.com/nanochat-go/nanochat/server/web"
)

// Options configure a Server. Zero values take the defaults noted.
type Options struct {
	// Checkpoints are the models served, as home.Scan lists them.
	Checkpoints []home.Checkpoint
	// Default names the model used when a request names none and by the
	// upstream routes (default: the first checkpoint). It is loaded at
	// start; /health answers 503 until it is ready.
	Default string
	// Open loads a checkpoint.
	Open Opener
	// APIKey, if set, is required as "Authorization: Bearer <key>" on every
	// route but /health and the chat page's files (the page asks for it).
	APIKey string

	// MaxConcurrent is the most requests (rows, for a Batcher) generating at
	// once per model (default: the model's BatchRows, else 1).
	MaxConcurrent int
	// MaxQueue is the most requests waiting per model (default 64); more
	// get 429.
	MaxQueue int
	// QueueTimeout is the longest a request waits for a slot (default 60s);
	// then it gets 503.
	QueueTimeout time.Duration
	// RequestTimeout bounds one generation (default 10m).
	RequestTimeout time.Duration
	// DrainTimeout is how long Serve lets running streams finish at
	// shutdown before cancelling them (default 30s).
	DrainTimeout time.Duration
	// BodyTimeout bounds reading one request body (default 30s): a client
	// that sends it slower gets 408 and its connection back, instead of
	// holding it forever. (Headers have their own 10s in Serve.)
	BodyTimeout time.Duration
	// MaxLoaded is the most models in memory at once (default 1). Loading
	// another first unloads the least recently used, idle ones first; one
	// still serving requests stops taking new ones and is unloaded when
	// they end, and the load waits for that.
	MaxLoaded int

	// Defaults are the sampling settings of OpenAI requests that omit them;
	// Seed 0 means a random seed per request.
	Defaults llm.Settings
	// Limits bound request sizes (default DefaultLimits).
	Limits Limits
	// Logf, if set, receives one line per request and per model event.
	Logf func(format string, args ...any)
}

// Limits bound what one request may ask for.
type Limits struct {
	BodyBytes    int64 // request body (413 beyond)
	Messages     int   // messages per conversation
	MessageChars int   // code points per message
	TotalChars   int   // code points per conversation or prompt
	Samples      int   // n
	Stops        int   // stop sequences
	Prompts      int   // prompts per /v1/completions request
	Logprobs     int   // top logprobs per token
}

// DefaultLimits are upstream chat_web.py's (500 messages, 8000 characters
// each, 32000 in all) plus a 1 MiB body.
var DefaultLimits = Limits{BodyBytes: 1 << 20, Messages: 500, MessageChars: 8000, TotalChars: 32000,
	Samples: 16, Stops: 8, Prompts: 64, Logprobs: 20}

func (o *Options) logf(format string, args ...any) {
	if o.Logf != nil {
		o.Logf(format, args...)
	}
}

// Server is an HTTP handler serving models. Create it with New; Serve runs
// it on a listener until its context ends.
type Server struct {
	opts     Options
	models   *registry
	mux      *http.ServeMux
	ctx      context.Context // ends when running generations must stop
	cancel   context.CancelFunc
	draining atomic.Bool
	handlers sync.WaitGroup
	ids      atomic.Uint64
	started  time.Time
}

// New returns a server for o and starts loading the default model.
func New(o Options) (*Server, error) {
	if len(o.Checkpoints) == 0 {
		return nil, errors.New("server: no checkpoints to serve")
	}
	if o.Open == nil {
		return nil, errors.New("server: no Opener")
	}
	if o.Default == "" {
		o.Default = o.Checkpoints[0].Name()
	}
	if o.MaxQueue == 0 {
		o.MaxQueue = 64
	}
	if o.QueueTimeout == 0 {
		o.QueueTimeout = time.Minute
	}
	if o.RequestTimeout == 0 {
		o.RequestTimeout = 10 * time.Minute
	}
	if o.DrainTimeout == 0 {
		o.DrainTimeout = 30 * time.Second
	}
	if o.BodyTimeout == 0 {
		o.BodyTimeout = 30 * time.Second
	}
	if o.MaxLoaded <= 0 {
		o.MaxLoaded = 1
	}
	if o.Defaults == (llm.Settings{}) {
		o.Defaults = llm.DefaultSettings()
		o.Defaults.Seed = 0
	}
	if o.Limits == (Limits{}) {
		o.Limits = DefaultLimits
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{opts: o, ctx: ctx, cancel: cancel, started: time.Now()}
	s.models = newRegistry(ctx, o.Checkpoints, o.Open, &s.opts)
	ck, ok := s.models.lookup(o.Default)
	if !ok {
		cancel()
		return nil, fmt.Errorf("server: default model %q is not among the %d checkpoints", o.Default, len(o.Checkpoints))
	}
	s.models.def = ck.Name()
	s.models.preload(ck)
	s.routes()
	return s, nil
}

func (s *Server) routes() {
	m := http.NewServeMux()
	m.HandleFunc("POST /v1/chat/completions", s.handleChat)
	m.HandleFunc("POST /v1/completions", s.handleCompletions)
	m.HandleFunc("GET /v1/models", s.handleModels)
	m.HandleFunc("GET /v1/models/{name...}", s.handleModel)
	m.HandleFunc("POST /chat/completions", s.handleUpstreamChat)
	m.HandleFunc("GET /health", s.handleHealth)
	m.HandleFunc("GET /stats", s.handleStats)
	page := web.Handler() // the browser chat page and its files
	m.Handle("GET /{$}", page)
	m.Handle("GET "+web.Prefix, page)
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { noRoute(m, w, r) })
	s.mux = m
}

// noRoute answers a request no route took: 405 with an Allow header when
// the path exists for other methods (in upstream's words on its routes,
// FastAPI's), else 404.
func noRoute(m *http.ServeMux, w http.ResponseWriter, r *http.Request) {
	var allowed []string
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		probe := r.Clone(r.Context())
		probe.Method = method
		if _, pattern := m.Handler(probe); pattern != "/" && pattern != "" {
			allowed = append(allowed, method)
		}
	}
	if len(allowed) == 0 {
		writeError(w, &apiError{Status: http.StatusNotFound, Type: "invalid_request_error",
			Message: fmt.Sprintf("no route %s %s", r.Method, r.URL.Path)})
		return
	}
	w.Header().Set("Allow", strings.Join(allowed, ", "))
	if !strings.HasPrefix(r.URL.Path, "/v1/") {
		writePy(w, http.StatusMethodNotAllowed, obj("detail", "Method Not Allowed"))
		return
	}
	writeError(w, &apiError{Status: http.StatusMethodNotAllowed, Type: "invalid_request_error", Code: strPtr("method_not_allowed"),
		Message: fmt.Sprintf("method %s is not allowed on %s (allowed: %s)", r.Method, r.URL.Path, strings.Join(allowed, ", "))})
}

// ServeHTTP implements http.Handler: CORS (as upstream: any origin), API
// key, draining, then the routes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.handlers.Add(1)
	defer s.handlers.Done()
	h := w.Header()
	if origin := r.Header.Get("Origin"); origin != "" {
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Allow-Credentials", "true")
		h.Add("Vary", "Origin")
	}
	if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
		h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
		if hdr := r.Header.Get("Access-Control-Request-Headers"); hdr != "" {
			h.Set("Access-Control-Allow-Headers", hdr)
		}
		h.Set("Access-Control-Max-Age", "600")
		w.WriteHeader(http.StatusOK)
		return
	}
	if s.opts.APIKey != "" && r.URL.Path != "/health" && !web.Public(r) && !s.authorized(r) {
		h.Set("WWW-Authenticate", "Bearer")
		writeError(w, &apiError{Status: http.StatusUnauthorized, Type: "invalid_request_error", Code: strPtr("invalid_api_key"),
			Message: "missing or incorrect API key: send \"Authorization: Bearer <key>\""})
		return
	}
	if s.draining.Load() && r.Method == http.MethodPost {
		h.Set("Connection", "close")
		writeError(w, &apiError{Status: http.StatusServiceUnavailable, Type: "server_error", Code: strPtr("shutting_down"),
			Message: "server is shutting down"})
		return
	}
	s.limitBody(w, r)
	s.mux.ServeHTTP(w, r)
}

// authorized reports whether r carries "Authorization: Bearer <key>"; the
// scheme is case-insensitive (RFC 9110 §11.1), so "bearer" is accepted too.
func (s *Server) authorized(r *http.Request) bool {
	scheme, got, ok := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	return ok && strings.EqualFold(scheme, "Bearer") &&
		subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(s.opts.APIKey)) == 1
}

// limitBody gives r's body BodyTimeout to arrive: the connection's read
// deadline is set now and cleared once the body has been read to its end,
// so a response that streams for minutes afterwards is not cut.
func (s *Server) limitBody(w http.ResponseWriter, r *http.Request) {
	if r.Body == nil || r.Body == http.NoBody {
		return
	}
	rc := http.NewResponseController(w)
	if rc.SetReadDeadline(time.Now().Add(s.opts.BodyTimeout)) != nil {
		return // not a connection that takes deadlines (a test recorder)
	}
	r.Body = &deadlineBody{ReadCloser: r.Body, clear: func() { _ = rc.SetReadDeadline(time.Time{}) }}
}

// deadlineBody clears the connection's read deadline when the body ends.
type deadlineBody struct {
	io.ReadCloser
	clear func()
	done  bool
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && !b.done {
		b.done = true
		if err == io.EOF {
			b.clear()
		}
	}
	return n, err
}

// Serve answers requests on ln until ctx ends, then shuts down gracefully:
// it stops accepting, refuses new generations, lets running streams finish
// for up to DrainTimeout, cancels the rest and closes the models.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		s.Close()
		return err
	case <-ctx.Done():
	}
	s.opts.logf("shutting down: draining running requests (up to %v)", s.opts.DrainTimeout)
	s.draining.Store(true)
	sctx, cancel := context.WithTimeout(context.Background(), s.opts.DrainTimeout)
	defer cancel()
	err := hs.Shutdown(sctx)
	if err != nil {
		s.cancel() // streams still running: stop their generations
		hs.Close()
	}
	<-errc
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, context.DeadlineExceeded) {
		err = nil // drained by cancelling, as documented
	}
	return err
}

// Close cancels running generations, waits for handlers and closes the
// models.
func (s *Server) Close() error {
	s.draining.Store(true)
	s.cancel()
	s.handlers.Wait()
	return s.models.closeAll()
}

// requestID returns a fresh id with prefix ("chatcmpl", "cmpl").
func (s *Server) requestID(prefix string) string {
	return fmt.Sprintf("%s-%x%06x", prefix, s.started.UnixNano()&0xffffffff, s.ids.Add(1))
}
