package data

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	hf "github.com/nanochat-go/nanochat/hub"
)

// DefaultEndpoint is the Hugging Face hub.
const DefaultEndpoint = hf.DefaultEndpoint

// Puller downloads a split's parquet export into nanochat's cache layout,
// like upstream's load_hub_dataset: list the shards at
// {endpoint}/api/datasets/{repo}/parquet/{subset}/{split}, download each to
// {00000..}.parquet, write manifest.json last. Unlike upstream it resumes
// interrupted downloads (HTTP Range on a .part file), records each shard's
// size and sha256 in the manifest and verifies existing shards against it.
type Puller struct {
	Client   *http.Client // default http.DefaultClient
	Endpoint string       // default DefaultEndpoint
	Token    string       // optional hub token (Authorization: Bearer)
	// Progress, if set, is called as bytes arrive.
	Progress func(Progress)
}

// Progress reports a download.
type Progress struct {
	Shard, Shards int    // 1-based shard being fetched, and how many
	Name          string // shard file name
	Done, Total   int64  // bytes of this shard (Total -1 if unknown)
	Resumed       int64  // bytes already on disk when it started
}

// Pull downloads src into src.Dir(home) unless a verified copy is there
// (force re-downloads). It returns the manifest.
func (p *Puller) Pull(ctx context.Context, home string, src Source, force bool) (Manifest, error) {
	dir := src.Dir(home)
	if !force {
		if m, err := ReadManifest(dir); err == nil {
			if err := Verify(dir, m); err == nil {
				return m, nil
			}
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Manifest{}, fmt.Errorf("pull %s: %w", src, err)
	}
	if force {
		os.Remove(filepath.Join(dir, ManifestName))
	}
	urls, err := p.list(ctx, src)
	if err != nil {
		return Manifest{}, err
	}
	var m Manifest
	for i, u := range urls {
		name := fmt.Sprintf("%05d.parquet", i)
		info, err := p.fetch(ctx, u, filepath.Join(dir, name), force, func(done, total, resumed int64) {
			if p.Progress != nil {
				p.Progress(Progress{Shard: i + 1, Shards: len(urls), Name: name, Done: done, Total: total, Resumed: resumed})
			}
		})
		if err != nil {
			return Manifest{}, fmt.Errorf("pull %s: shard %s: %w", src, name, err)
		}
		info.Name = name
		m.Files = append(m.Files, info)
	}
	if err := m.write(dir); err != nil {
		return Manifest{}, fmt.Errorf("pull %s: %w", src, err)
	}
	return m, nil
}

// hubClient is the download client the Puller's fields describe.
func (p *Puller) hubClient() *hf.Client {
	return &hf.Client{HTTP: p.Client, Endpoint: p.Endpoint, Token: p.Token}
}

func (p *Puller) get(ctx context.Context, url string, hdr map[string]string) (*http.Response, error) {
	return p.hubClient().Get(ctx, url, hdr)
}

// list asks the hub for the split's parquet shard URLs.
func (p *Puller) list(ctx context.Context, src Source) ([]string, error) {
	ep := p.Endpoint
	if ep == "" {
		ep = DefaultEndpoint
	}
	url := strings.TrimRight(ep, "/") + "/api/datasets/" + src.Repo + "/parquet/" + src.Subset + "/" + src.Split
	resp, err := p.get(ctx, url, nil)
	if err != nil {
		return nil, fmt.Errorf("pull %s: list shards: %w", src, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("pull %s: list shards: GET %s: %s", src, url, resp.Status)
	}
	var urls []string
	if err := json.NewDecoder(resp.Body).Decode(&urls); err != nil {
		return nil, fmt.Errorf("pull %s: list shards: %s: %w", src, url, err)
	}
	if len(urls) == 0 {
		return nil, fmt.Errorf("pull %s: the hub lists no parquet shards", src)
	}
	return urls, nil
}

// fetch downloads url to path via path.part, resuming a partial file
// (hf.Client.Download).
func (p *Puller) fetch(ctx context.Context, url, path string, force bool, progress func(done, total, resumed int64)) (ShardInfo, error) {
	d, err := p.hubClient().Download(ctx, url, path, hf.Want{}, force, progress)
	if err != nil {
		return ShardInfo{}, err
	}
	return ShardInfo{URL: d.URL, Size: d.Size, SHA256: d.SHA256}, nil
}

// ErrChecksum marks a shard whose bytes no longer match the manifest.
var ErrChecksum = hf.ErrChecksum

// Verify checks every shard the manifest lists against its recorded size
// and sha256 (shards of upstream's plain-list manifests are only checked
// for existence).
func Verify(dir string, m Manifest) error {
	for _, s := range m.Files {
		path := filepath.Join(dir, s.Name)
		fi, err := os.Stat(path)
		if err != nil {
			return fmt.Errorf("verify %s: %w", path, err)
		}
		if s.SHA256 == "" {
			continue
		}
		if fi.Size() != s.Size {
			return fmt.Errorf("verify %s: size %d, manifest says %d: %w", path, fi.Size(), s.Size, ErrChecksum)
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		h := sha256.New()
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return fmt.Errorf("verify %s: %w", path, err)
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != s.SHA256 {
			return fmt.Errorf("verify %s: sha256 %s, manifest says %s: %w", path, got, s.SHA256, ErrChecksum)
		}
	}
	return nil
}
