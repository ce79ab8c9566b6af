package server

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestChatPage: the browser page is served at / and under /static/ without
// the API key (it holds none and asks for it); the API still needs the key,
// and other methods on / are refused.
func TestChatPage(t *testing.T) {
	_, ts := newTestServer(t, Options{APIKey: "sekret"}, nil)
	tests := []struct {
		method, path string
		key          string
		status       int
		want         string // in the body, or the Allow header for 405
	}{
		{"GET", "/", "", 200, "<title>nanochat</title>"},
		{"HEAD", "/", "", 200, ""},
		{"GET", "/static/app.js", "", 200, "streamChat"},
		{"GET", "/static/missing.js", "", 404, ""},
		{"GET", "/v1/models", "", 401, "missing or incorrect API key"},
		{"GET", "/v1/models", "sekret", 200, "sft/d2/20"},
		{"POST", "/", "", 401, ""},
		{"POST", "/", "sekret", 405, "GET"},
		{"GET", "/index.html", "sekret", 404, "no route GET /index.html"},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest(tt.method, ts.URL+tt.path, nil)
		if tt.key != "" {
			req.Header.Set("Authorization", "Bearer "+tt.key)
		}
		resp, err := ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.status {
			t.Errorf("%s %s: status %d, want %d (%s)", tt.method, tt.path, resp.StatusCode, tt.status, body)
			continue
		}
		got := string(body)
		if tt.status == 405 {
			got = resp.Header.Get("Allow")
		}
		if !strings.Contains(got, tt.want) {
			t.Errorf("%s %s: %q, want it to contain %q", tt.method, tt.path, got, tt.want)
		}
	}
}
