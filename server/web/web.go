// Package web is the browser chat page that nanochat serve answers at "/":
// static HTML, CSS and JavaScript embedded in the binary, which talk to the
// server's own OpenAI API (/v1/models, /v1/chat/completions) and nothing
// else. It knows nothing of models or of the server; the server mounts
// Handler and lets Public requests through without the API key.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed static
var static embed.FS

// Prefix is where the page's files are served; the page itself is "/".
const Prefix = "/static/"

// contentSecurityPolicy confines the page to its own origin: scripts,
// styles, images and fetches from the server only, no inline script, no
// framing. Model output is rendered by markdown.js, which escapes it; the
// policy is the second line of defence.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// file is one embedded file, ready to serve.
type file struct {
	data  []byte
	ctype string
	etag  string
}

// Handler serves the page at "/" and its files under Prefix. Responses
// carry an ETag and "Cache-Control: no-cache", so a browser revalidates
// and picks up a new binary's page at once.
func Handler() http.Handler {
	files := map[string]file{}
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := static.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		ctype := mime.TypeByExtension(path.Ext(p))
		if ctype == "" {
			ctype = http.DetectContentType(data)
		}
		files[strings.TrimPrefix(p, "static/")] = file{data: data, ctype: ctype, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		return nil
	})
	if err != nil {
		panic("web: embedded files: " + err.Error()) // the embed is fixed at build time
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := "index.html"
		if r.URL.Path != "/" {
			name = strings.TrimPrefix(r.URL.Path, Prefix)
		}
		f, ok := files[name]
		if !ok || name == "index.html" && r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h.Set("Content-Type", f.ctype)
		h.Set("ETag", f.etag)
		h.Set("Cache-Control", "no-cache")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		if name == "index.html" {
			h.Set("Content-Security-Policy", contentSecurityPolicy)
			h.Set("X-Frame-Options", "DENY")
		}
		http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(f.data))
	})
}

// Public reports whether r asks for the page or one of its files. They
// hold no secrets, so the server serves them without the API key; the
// page asks for the key when the API refuses it.
func Public(r *http.Request) bool {
	return (r.Method == http.MethodGet || r.Method == http.MethodHead) &&
		(r.URL.Path == "/" || strings.HasPrefix(r.URL.Path, Prefix))
}
