package web_test

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/nanochat-go/nanochat/server/web"
)

func get(t *testing.T, h http.Handler, method, path string, hdr ...string) *http.Response {
	t.Helper()
	r := httptest.NewRequest(method, path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Result()
}

func TestHandler(t *testing.T) {
	h := web.Handler()
	tests := []struct {
		path   string
		status int
		ctype  string
		body   string
	}{
		{"/", 200, "text/html; charset=utf-8", "<title>nanochat</title>"},
		{"/static/app.js", 200, "text/javascript; charset=utf-8", "import * as api"},
		{"/static/style.css", 200, "text/css; charset=utf-8", ":root"},
		{"/static/icon.svg", 200, "image/svg+xml", "<svg"},
		{"/static/index.html", 404, "", ""},
		{"/static/nothing.js", 404, "", ""},
		{"/static/../web.go", 404, "", ""},
	}
	for _, tt := range tests {
		resp := get(t, h, "GET", tt.path)
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != tt.status {
			t.Errorf("GET %s: status %d, want %d", tt.path, resp.StatusCode, tt.status)
			continue
		}
		if tt.status != 200 {
			continue
		}
		if got := resp.Header.Get("Content-Type"); got != tt.ctype {
			t.Errorf("GET %s: Content-Type %q, want %q", tt.path, got, tt.ctype)
		}
		if !strings.Contains(string(body), tt.body) {
			t.Errorf("GET %s: body lacks %q", tt.path, tt.body)
		}
		if resp.Header.Get("ETag") == "" || resp.Header.Get("Cache-Control") != "no-cache" || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: caching and sniffing headers %v", tt.path, resp.Header)
		}
	}

	// The page confines itself to its origin.
	csp := get(t, h, "GET", "/").Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("Content-Security-Policy %q lacks %q", csp, want)
		}
	}
	// A browser that has the page revalidates it for free.
	etag := get(t, h, "GET", "/static/app.js").Header.Get("ETag")
	if resp := get(t, h, "GET", "/static/app.js", "If-None-Match", etag); resp.StatusCode != http.StatusNotModified {
		t.Errorf("GET with If-None-Match %s: status %d, want 304", etag, resp.StatusCode)
	}
}

func TestPublic(t *testing.T) {
	tests := []struct {
		method, path string
		want         bool
	}{
		{"GET", "/", true},
		{"HEAD", "/", true},
		{"GET", "/static/app.js", true},
		{"POST", "/", false},
		{"GET", "/v1/models", false},
		{"GET", "/static", false},
		{"GET", "/stats", false},
	}
	for _, tt := range tests {
		if got := web.Public(httptest.NewRequest(tt.method, tt.path, nil)); got != tt.want {
			t.Errorf("Public(%s %s) = %v, want %v", tt.method, tt.path, got, tt.want)
		}
	}
}

// TestSelfContained checks the files themselves: every file the page loads
// or imports is embedded, every embedded file is used, and none names
// another host (the SVG namespace is a name, not a request).
func TestSelfContained(t *testing.T) {
	files := map[string]string{}
	err := filepath.WalkDir("static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		files[filepath.Base(p)] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{"index.html": true}
	refs := regexp.MustCompile(`(?:src|href)="static/([^"]+)"|from '\./([^']+)'`)
	for name, text := range files {
		for _, m := range refs.FindAllStringSubmatch(text, -1) {
			ref := m[1] + m[2]
			if _, ok := files[ref]; !ok {
				t.Errorf("%s refers to %s, which is not embedded", name, ref)
			}
			used[ref] = true
		}
	}
	for name := range files {
		if !used[name] {
			t.Errorf("static/%s is embedded but nothing loads it", name)
		}
	}
	hosts := regexp.MustCompile(`(?i)(?:https?:)?//[a-z0-9-]+(?:\.[a-z0-9-]+)+`)
	for name, text := range files {
		for _, h := range hosts.FindAllString(text, -1) {
			if !slices.Contains([]string{"http://www.w3.org"}, h) {
				t.Errorf("static/%s names another host: %s", name, h)
			}
		}
		if strings.Contains(text, "@import") || strings.Contains(text, "url(") {
			t.Errorf("static/%s loads CSS resources (@import or url())", name)
		}
	}
}
