package pull

import (
	"bytes"
	"context"
	"crypto/sha1"
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

	"github.com/nanochat-go/nanochat/hub"
	"github.com/nanochat-go/nanochat/model/home"
)

var demoHome = filepath.Join("..", "testdata", "demo", "home")

// fakeHub serves one model repository the way the Hugging Face hub does:
// GET /api/models/{repo}/tree/{rev} lists the files (LFS ones with their
// sha256), GET /{repo}/resolve/{rev}/{path} serves them with Range support.
type fakeHub struct {
	repo, rev string
	files     map[string][]byte // path → contents served
	listed    map[string][]byte // path → contents the listing describes (default: files)
	lfs       func(path string) bool

	mu        sync.Mutex
	cut       map[string]int // path → bytes to send before dropping the first full GET
	ranges    []string       // "path range" for every download
	downloads int
}

func (h *fakeHub) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/models/{owner}/{name}/tree/{rev}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("owner")+"/"+r.PathValue("name") != h.repo || r.PathValue("rev") != h.rev {
			http.NotFound(w, r)
			return
		}
		var out []map[string]any
		for p, data := range h.files {
			if l, ok := h.listed[p]; ok {
				data = l
			}
			bh := sha1.New()
			fmt.Fprintf(bh, "blob %d\x00", len(data))
			bh.Write(data)
			e := map[string]any{"type": "file", "path": p, "size": len(data), "oid": hex.EncodeToString(bh.Sum(nil))}
			if h.lfs(p) {
				sum := sha256.Sum256(data)
				e["lfs"] = map[string]any{"oid": hex.EncodeToString(sum[:]), "size": len(data), "pointerSize": 134}
				e["size"] = 134
			}
			out = append(out, e)
		}
		out = append(out, map[string]any{"type": "directory", "path": "extra", "oid": "0", "size": 0})
		json.NewEncoder(w).Encode(out)
	})
	mux.HandleFunc("GET /"+h.repo+"/resolve/{rev}/{path...}", func(w http.ResponseWriter, r *http.Request) {
		p := r.PathValue("path")
		data, ok := h.files[p]
		if !ok || r.PathValue("rev") != h.rev {
			http.NotFound(w, r)
			return
		}
		h.mu.Lock()
		h.downloads++
		h.ranges = append(h.ranges, p+" "+r.Header.Get("Range"))
		cut := h.cut[p]
		if r.Header.Get("Range") == "" {
			delete(h.cut, p)
		} else {
			cut = 0
		}
		h.mu.Unlock()
		if cut > 0 {
			w.Header().Set("Content-Length", fmt.Sprint(len(data)))
			w.WriteHeader(http.StatusOK)
			w.Write(data[:cut])
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler)
		}
		http.ServeContent(w, r, p, time.Unix(1700000000, 0), bytes.NewReader(data))
	})
	return mux
}

// demoRepo is the demo model published flat, as the hub's nanochat repos are.
func demoRepo(t *testing.T) *fakeHub {
	t.Helper()
	h := &fakeHub{repo: "someone/nanochat-demo", rev: "main", files: map[string][]byte{}, listed: map[string][]byte{}, cut: map[string]int{},
		lfs: func(p string) bool { return strings.HasSuffix(p, ".pt") || strings.HasSuffix(p, ".pkl") }}
	for name, src := range map[string]string{
		"model_001514.pt":  "chatsft_checkpoints/d4/model_001514.pt",
		"meta_001514.json": "chatsft_checkpoints/d4/meta_001514.json",
		"tokenizer.pkl":    "tokenizer/tokenizer.pkl",
		"token_bytes.pt":   "tokenizer/token_bytes.pt",
	} {
		data, err := os.ReadFile(filepath.Join(demoHome, src))
		if err != nil {
			t.Fatal(err)
		}
		h.files[name] = data
	}
	h.files["README.md"] = []byte("# a nanochat model\n")
	return h
}

func serve(t *testing.T, h *fakeHub) *hub.Client {
	srv := httptest.NewServer(h.handler())
	t.Cleanup(srv.Close)
	return &hub.Client{Endpoint: srv.URL, Token: "secret"}
}

func sameAs(t *testing.T, got, want string) {
	t.Helper()
	a, err := os.ReadFile(got)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(want)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Errorf("%s differs from %s", got, want)
	}
}

func TestPullDemo(t *testing.T) {
	h := demoRepo(t)
	c := serve(t, h)
	dir := t.TempDir()
	var last Progress
	res, err := Pull(context.Background(), Options{Hub: c, Home: dir, Repo: h.repo, Step: -1, Progress: func(p Progress) { last = p }})
	if err != nil {
		t.Fatal(err)
	}
	ck, err := home.Resolve(dir, "sft", "", -1)
	if err != nil || ck.Name() != "sft/d4/1514" || ck.OwnTokenizer {
		t.Fatalf("pulled checkpoint %s (own tokenizer %t), %v; want sft/d4/1514 with the home's tokenizer", ck.Name(), ck.OwnTokenizer, err)
	}
	if res.Checkpoint.ModelPath != ck.ModelPath || len(res.Files) != 4 || len(res.Guessed) != 1 {
		t.Errorf("result %+v: want the checkpoint, 4 files and a guessed source", res)
	}
	sameAs(t, ck.ModelPath, filepath.Join(demoHome, "chatsft_checkpoints", "d4", "model_001514.pt"))
	sameAs(t, ck.MetaPath, filepath.Join(demoHome, "chatsft_checkpoints", "d4", "meta_001514.json"))
	sameAs(t, ck.Tokenizer, filepath.Join(demoHome, "tokenizer", "tokenizer.pkl"))
	sameAs(t, filepath.Join(dir, "tokenizer", "token_bytes.pt"), filepath.Join(demoHome, "tokenizer", "token_bytes.pt"))
	if last.Count != 4 || last.Done != last.Total {
		t.Errorf("last progress %+v: want file 4 of 4 complete", last)
	}
	if _, err := os.Stat(filepath.Join(dir, ".pull")); !os.IsNotExist(err) {
		t.Errorf("staging directory left behind: %v", err)
	}

	// Pulling again finds the same files: nothing is replaced.
	if _, err := Pull(context.Background(), Options{Hub: c, Home: dir, Repo: h.repo, Step: -1}); err != nil {
		t.Fatalf("second pull: %v", err)
	}
	// An unknown step and a revision the hub lacks are clear errors.
	if _, err := Pull(context.Background(), Options{Hub: c, Home: dir, Repo: h.repo, Step: 7}); err == nil || !strings.Contains(err.Error(), "no model_<step>.pt for step 7 (have 1514)") {
		t.Errorf("step 7: %v", err)
	}
	if _, err := Pull(context.Background(), Options{Hub: c, Home: dir, Repo: h.repo, Revision: "v2", Step: -1}); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("revision v2: %v", err)
	}
}

// TestPullKeepsOtherTokenizer pulls into a home whose tokenizer belongs to
// other checkpoints: the pulled one gets its own, the home's is untouched.
func TestPullKeepsOtherTokenizer(t *testing.T) {
	h := demoRepo(t)
	h.rev = "refs/pr/1"
	c := serve(t, h)
	dir := t.TempDir()
	golden := filepath.Join("..", "testdata", "golden", "home", "tokenizer", "tokenizer.pkl")
	data, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	homeTok := home.HomeTokenizer(dir)
	os.MkdirAll(filepath.Dir(homeTok), 0o755)
	if err := os.WriteFile(homeTok, data, 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := Pull(context.Background(), Options{Hub: c, Home: dir, Repo: h.repo, Revision: h.rev, Source: "rl", Tag: "demo", Step: 1514})
	if err != nil {
		t.Fatal(err)
	}
	ck := res.Checkpoint
	if ck.Name() != "rl/demo/1514" || !ck.OwnTokenizer || ck.Tokenizer != filepath.Join(dir, "chatrl_checkpoints", "demo", "tokenizer", "tokenizer.pkl") {
		t.Fatalf("checkpoint %s tokenizer %s (own %t): want rl/demo/1514 with its own tokenizer", ck.Name(), ck.Tokenizer, ck.OwnTokenizer)
	}
	sameAs(t, ck.Tokenizer, filepath.Join(demoHome, "tokenizer", "tokenizer.pkl"))
	sameAs(t, homeTok, golden)
}

// TestPullResumes drops the connection half way through the model: the
// pull fails saying to rerun, and the rerun resumes with a Range request.
func TestPullResumes(t *testing.T) {
	h := demoRepo(t)
	h.cut["model_001514.pt"] = 1 << 20
	c := serve(t, h)
	dir := t.TempDir()
	_, err := Pull(context.Background(), Options{Hub: c, Home: dir, Repo: h.repo, Step: -1})
	if err == nil || !strings.Contains(err.Error(), "rerun to resume") {
		t.Fatalf("interrupted pull: %v, want an error saying to rerun", err)
	}
	if cks, _ := home.Scan(dir); len(cks) != 0 {
		t.Fatalf("an interrupted pull placed %d checkpoints", len(cks))
	}
	h.ranges = nil
	if _, err := Pull(context.Background(), Options{Hub: c, Home: dir, Repo: h.repo, Step: -1}); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("model_001514.pt bytes=%d-", 1<<20)
	if len(h.ranges) != 3 || h.ranges[0] != want {
		t.Errorf("rerun requested %q, want %q then the tokenizer's two files (the meta kept, the model resumed)", h.ranges, want)
	}
	ck, err := home.Resolve(dir, "sft", "d4", 1514)
	if err != nil {
		t.Fatal(err)
	}
	sameAs(t, ck.ModelPath, filepath.Join(demoHome, "chatsft_checkpoints", "d4", "model_001514.pt"))
}

// TestPullChecksum serves a corrupted model (and, separately, a corrupted
// meta, which is checked by its git blob id): the pull fails with
// hub.ErrChecksum and places nothing.
func TestPullChecksum(t *testing.T) {
	for _, name := range []string{"model_001514.pt", "meta_001514.json"} {
		t.Run(name, func(t *testing.T) {
			h := demoRepo(t)
			good := h.files[name]
			bad := bytes.Clone(good)
			bad[len(bad)/2] ^= 1
			h.files[name], h.listed[name] = bad, good
			c := serve(t, h)
			dir := t.TempDir()
			_, err := Pull(context.Background(), Options{Hub: c, Home: dir, Repo: h.repo, Step: -1})
			if !errors.Is(err, hub.ErrChecksum) {
				t.Fatalf("pull of a corrupted %s: %v, want hub.ErrChecksum", name, err)
			}
			if cks, _ := home.Scan(dir); len(cks) != 0 {
				t.Fatalf("a corrupted pull placed %d checkpoints", len(cks))
			}
			if _, err := os.Stat(home.HomeTokenizer(dir)); !os.IsNotExist(err) {
				t.Errorf("a corrupted pull placed the tokenizer: %v", err)
			}
			// The hub fixed: the rerun downloads it afresh and succeeds.
			h.files[name] = good
			if _, err := Pull(context.Background(), Options{Hub: c, Home: dir, Repo: h.repo, Step: -1}); err != nil {
				t.Fatal(err)
			}
		})
	}
}
