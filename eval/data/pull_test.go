package data

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var fixedTime = time.Unix(1700000000, 0)

// hub is a fake Hugging Face hub serving the parquet export of one split.
type hub struct {
	t        *testing.T
	shards   [][]byte
	noRange  bool
	cutAfter int // if > 0, the first full GET of shard 1 stops after this many bytes

	mu     sync.Mutex
	ranges []string // Range headers seen for shard files
	gets   int
}

func (h *hub) handler(srv **httptest.Server) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/datasets/openai/gsm8k/parquet/main/test", func(w http.ResponseWriter, r *http.Request) {
		var urls []string
		for i := range h.shards {
			urls = append(urls, fmt.Sprintf("%s/files/%d.parquet", (*srv).URL, i))
		}
		json.NewEncoder(w).Encode(urls)
	})
	mux.HandleFunc("GET /files/{name}", func(w http.ResponseWriter, r *http.Request) {
		var i int
		fmt.Sscanf(r.PathValue("name"), "%d.parquet", &i)
		data := h.shards[i]
		h.mu.Lock()
		h.gets++
		h.ranges = append(h.ranges, r.Header.Get("Range"))
		cut := h.cutAfter
		if i == 1 && r.Header.Get("Range") == "" {
			h.cutAfter = 0
		} else {
			cut = 0
		}
		h.mu.Unlock()
		if cut > 0 {
			// Announce the full length, send part of it, drop the connection.
			w.Header().Set("Content-Length", fmt.Sprint(len(data)))
			w.WriteHeader(http.StatusOK)
			w.Write(data[:cut])
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler)
		}
		if h.noRange {
			w.Write(data)
			return
		}
		http.ServeContent(w, r, "x.parquet", fixedTime, bytes.NewReader(data))
	})
	return mux
}

func newHub(t *testing.T, h *hub) *httptest.Server {
	h.t = t
	var srv *httptest.Server
	srv = httptest.NewServer(h.handler(&srv))
	t.Cleanup(srv.Close)
	return srv
}

func shardFiles(t *testing.T) [][]byte {
	var out [][]byte
	for _, n := range []string{"00000.parquet", "00001.parquet"} {
		b, err := os.ReadFile(filepath.Join(fixtures, "task_data/openai--gsm8k/main/test", n))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

var gsm8k = Source{Repo: "openai/gsm8k", Subset: "main", Split: "test"}

func TestPull(t *testing.T) {
	h := &hub{shards: shardFiles(t)}
	srv := newHub(t, h)
	home := t.TempDir()
	var last Progress
	p := &Puller{Endpoint: srv.URL, Progress: func(pr Progress) { last = pr }}
	m, err := p.Pull(context.Background(), home, gsm8k, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Files) != 2 || last.Shard != 2 || last.Shards != 2 || last.Done != last.Total {
		t.Fatalf("manifest %+v, last progress %+v", m, last)
	}
	for i, f := range m.Files {
		sum := sha256.Sum256(h.shards[i])
		if f.SHA256 != hex.EncodeToString(sum[:]) || f.Size != int64(len(h.shards[i])) {
			t.Errorf("shard %d: %+v", i, f)
		}
	}
	// The result loads like upstream's cache, offline.
	rows, err := Load(home, gsm8k, "")
	if err != nil || len(rows) != 5 {
		t.Fatalf("Load after pull: %d rows, %v", len(rows), err)
	}
	// A second pull verifies and downloads nothing.
	gets := h.gets
	if _, err := p.Pull(context.Background(), home, gsm8k, false); err != nil || h.gets != gets {
		t.Errorf("second pull: %v, %d new GETs", err, h.gets-gets)
	}
	// A corrupted shard fails verification and is fetched again.
	path := filepath.Join(gsm8k.Dir(home), "00001.parquet")
	b, _ := os.ReadFile(path)
	b[10] ^= 0xff
	os.WriteFile(path, b, 0o644)
	if err := Verify(gsm8k.Dir(home), m); !errors.Is(err, ErrChecksum) {
		t.Errorf("Verify after corruption: %v, want ErrChecksum", err)
	}
	if _, err := p.Pull(context.Background(), home, gsm8k, false); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, h.shards[1]) {
		t.Error("corrupted shard was not repaired")
	}
}

func TestPullResume(t *testing.T) {
	h := &hub{shards: shardFiles(t), cutAfter: 300}
	srv := newHub(t, h)
	home := t.TempDir()
	p := &Puller{Endpoint: srv.URL}
	_, err := p.Pull(context.Background(), home, gsm8k, false)
	if err == nil {
		t.Fatal("first pull: want an error from the dropped connection")
	}
	if !strings.Contains(err.Error(), "rerun to resume") {
		t.Errorf("error %q should say how to resume", err)
	}
	if _, err := os.Stat(filepath.Join(gsm8k.Dir(home), ManifestName)); err == nil {
		t.Fatal("manifest written after a failed pull")
	}
	part := filepath.Join(gsm8k.Dir(home), "00001.parquet.part")
	if fi, err := os.Stat(part); err != nil || fi.Size() != 300 {
		t.Fatalf("partial file: %v %v", fi, err)
	}
	h.ranges = nil
	m, err := p.Pull(context.Background(), home, gsm8k, false)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(h.ranges, ","), "bytes=300-") {
		t.Errorf("resume sent Range headers %q, want bytes=300-", h.ranges)
	}
	got, _ := os.ReadFile(filepath.Join(gsm8k.Dir(home), "00001.parquet"))
	sum := sha256.Sum256(h.shards[1])
	if !bytes.Equal(got, h.shards[1]) || m.Files[1].SHA256 != hex.EncodeToString(sum[:]) {
		t.Error("resumed shard differs from the original or its checksum is wrong")
	}
}

func TestPullWithoutRangeSupport(t *testing.T) {
	h := &hub{shards: shardFiles(t), noRange: true}
	srv := newHub(t, h)
	home := t.TempDir()
	dir := gsm8k.Dir(home)
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "00000.parquet.part"), []byte("garbage"), 0o644)
	if _, err := (&Puller{Endpoint: srv.URL}).Pull(context.Background(), home, gsm8k, false); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "00000.parquet")); !bytes.Equal(got, h.shards[0]) {
		t.Error("a server that ignores Range must restart the download")
	}
}

func TestPullErrors(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	_, err := (&Puller{Endpoint: srv.URL}).Pull(context.Background(), t.TempDir(), gsm8k, false)
	if err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("err = %v, want a 404", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	h := &hub{shards: shardFiles(t)}
	hs := newHub(t, h)
	if _, err := (&Puller{Endpoint: hs.URL}).Pull(ctx, t.TempDir(), gsm8k, false); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: err = %v", err)
	}
}
