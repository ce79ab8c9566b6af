// Package remote drives a model served over HTTP behind llm.Model: an
// OpenAI-compatible API (nanochat serve, vLLM, SGLang, llama-server), whose
// chat and completions stream over Server-Sent Events and which scores
// multiple choice through /v1/completions logprobs when it offers them, or
// upstream nanochat's own web server (scripts/chat_web.py: chat only).
package remote

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/nanochat-go/nanochat/llm"
)

// Model is a model behind an OpenAI-compatible endpoint; it implements
// llm.Model. Its methods may be called concurrently.
type Model struct {
	base     string // ".../v1"
	root     string // the URL without /v1 (upstream's routes live there)
	key      string
	info     llm.Info
	nanochat bool // the server is nanochat serve (extensions understood)
	upstream bool // the server is upstream's chat_web.py (upstream.go)
	hc       *http.Client

	mu      sync.Mutex
	scoring int // Choose by logprobs: 0 untried, 1 works, -1 unavailable
}

// APIError is an error answer from the server.
type APIError struct {
	Op      string // "POST /v1/chat/completions"
	Status  int
	Type    string
	Code    string
	Message string
}

func (e *APIError) Error() string {
	s := fmt.Sprintf("remote %s: %d", e.Op, e.Status)
	if e.Code != "" {
		s += " " + e.Code
	} else if e.Type != "" {
		s += " " + e.Type
	}
	return s + ": " + e.Message
}

// The protocols Options.API names.
const (
	APIAuto     = "auto"     // OpenAI's, or upstream's when the server answers as chat_web.py does
	APIOpenAI   = "openai"   // /v1/models, /v1/chat/completions, /v1/completions
	APIUpstream = "upstream" // chat_web.py: /health, /chat/completions
)

// Options say which server Open connects to.
type Options struct {
	URL    string // "http://host:8000" or ".../v1"
	APIKey string // may be empty
	// Model is the served model to use (default: the server's default, or
	// its first); for upstream's server, which serves one, it only names it.
	Model string
	// API is APIAuto (the default), APIOpenAI or APIUpstream. Auto tries
	// /v1/models first; a server without it (404) whose /health answers as
	// chat_web.py's does is driven as upstream's.
	API string
}

// New connects to the OpenAI-compatible server at baseURL ("http://host:8000"
// or ".../v1") with apiKey (may be empty) and checks that it serves model;
// an empty model picks the server's default (or its first model). A server
// that turns out to be upstream's chat_web.py is driven as such.
func New(baseURL, apiKey, model string) (*Model, error) {
	return Open(Options{URL: baseURL, APIKey: apiKey, Model: model})
}

// Open connects to the server o names and checks that it serves o.Model.
func Open(o Options) (*Model, error) {
	baseURL, model := o.URL, o.Model
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("remote %q: want an http:// or https:// URL", baseURL)
	}
	root := strings.TrimSuffix(u.String(), "/v1")
	m := &Model{base: root + "/v1", root: root, key: o.APIKey, hc: &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	switch o.API {
	case "", APIAuto, APIOpenAI:
	case APIUpstream:
		return m.openUpstream(ctx, model)
	default:
		return nil, fmt.Errorf("remote API %q: want %s, %s or %s", o.API, APIAuto, APIOpenAI, APIUpstream)
	}
	models, err := m.models(ctx)
	var ae *APIError
	if errors.As(err, &ae) && ae.Status == http.StatusNotFound && o.API != APIOpenAI {
		if up, uerr := m.openUpstream(ctx, model); uerr == nil {
			return up, nil
		}
	}
	if err != nil && model == "" {
		return nil, err
	}
	var pick *wireModel
	for i, e := range models {
		if e.ID == model || (model == "" && (e.Default || pick == nil)) {
			pick = &models[i]
		}
	}
	switch {
	case pick != nil:
		model = pick.ID
		m.nanochat = pick.OwnedBy == "nanochat"
		m.info.ContextLen = pick.MaxModelLen
	case len(models) > 0:
		ids := make([]string, len(models))
		for i, e := range models {
			ids[i] = e.ID
		}
		return nil, fmt.Errorf("remote %s: model %q is not served (it has %s)", baseURL, model, strings.Join(ids, ", "))
	case model == "":
		return nil, fmt.Errorf("remote %s: the server lists no models", baseURL)
	}
	m.name(model)
	m.info.Device = "remote " + strings.TrimRight(baseURL, "/")
	return m, nil
}

// name sets the model's name, and its source when the name starts with one
// (nanochat serve's "sft/d20/650").
func (m *Model) name(model string) {
	src, _, _ := strings.Cut(model, "/")
	switch src {
	case "base", "mid", "sft", "rl":
		m.info.Source = src
	default:
		src = ""
	}
	m.info.Name = model
	m.info.Chat = src != "base"
}

type wireModel struct {
	ID          string `json:"id"`
	OwnedBy     string `json:"owned_by"`
	Default     bool   `json:"default"`
	MaxModelLen int    `json:"max_model_len"`
}

func (m *Model) models(ctx context.Context) ([]wireModel, error) {
	resp, err := m.do(ctx, http.MethodGet, "/models", nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var list struct{ Data []wireModel }
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		return nil, fmt.Errorf("remote GET %s/models: %w", m.base, err)
	}
	return list.Data, nil
}

// Info implements llm.Model; Device is "remote <url>".
func (m *Model) Info() llm.Info { return m.info }

// Close implements llm.Model.
func (m *Model) Close() error {
	m.hc.CloseIdleConnections()
	return nil
}

// do sends a request and returns the response when its status is 2xx,
// else an *APIError.
func (m *Model) do(ctx context.Context, method, path string, body any) (*http.Response, error) {
	return m.doURL(ctx, method, m.base+path, body)
}

// doURL is do for a whole URL.
func (m *Model) doURL(ctx context.Context, method, target string, body any) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if m.key != "" {
		req.Header.Set("Authorization", "Bearer "+m.key)
	}
	resp, err := m.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("remote %s %s: %w", method, target, err)
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return nil, parseError(method+" "+target, resp.StatusCode, data)
}

// parseError reads an OpenAI error object ({"error": {...}}), FastAPI's
// {"detail": ...} or plain text.
func parseError(op string, status int, data []byte) *APIError {
	e := &APIError{Op: op, Status: status}
	var body struct {
		Error json.RawMessage `json:"error"`
		// FastAPI
		Detail json.RawMessage `json:"detail"`
	}
	var obj struct {
		Message string `json:"message"`
		Type    string `json:"type"`
		Code    any    `json:"code"`
	}
	switch {
	case json.Unmarshal(data, &body) == nil && json.Unmarshal(body.Error, &obj) == nil && obj.Message != "":
		e.Message, e.Type = obj.Message, obj.Type
		if obj.Code != nil {
			e.Code = fmt.Sprint(obj.Code)
		}
	case len(body.Error) > 0 && json.Unmarshal(body.Error, &e.Message) == nil:
	case len(body.Detail) > 0:
		if json.Unmarshal(body.Detail, &e.Message) != nil {
			e.Message = string(body.Detail)
		}
	default:
		e.Message = strings.TrimSpace(string(data))
		if e.Message == "" {
			e.Message = http.StatusText(status)
		}
	}
	return e
}
