// Package hub talks to the Hugging Face hub (or a mirror at $HF_ENDPOINT):
// it lists a model repository's files with their sizes and checksums and
// downloads files resumably (HTTP Range on a .part file), checking what
// arrives. It knows nothing of what the files hold.
package hub

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
)

// DefaultEndpoint is the Hugging Face hub.
const DefaultEndpoint = "https://huggingface.co"

// Client downloads from the hub. The zero value uses http.DefaultClient and
// DefaultEndpoint, without a token.
type Client struct {
	HTTP     *http.Client // default http.DefaultClient
	Endpoint string       // default DefaultEndpoint
	Token    string       // optional hub token (Authorization: Bearer)
}

// FromEnv is a Client configured like huggingface_hub: $HF_ENDPOINT and
// $HF_TOKEN.
func FromEnv() *Client {
	return &Client{Endpoint: os.Getenv("HF_ENDPOINT"), Token: os.Getenv("HF_TOKEN")}
}

func (c *Client) endpoint() string {
	if c.Endpoint == "" {
		return DefaultEndpoint
	}
	return strings.TrimRight(c.Endpoint, "/")
}

// Get sends a GET with the token and the extra headers.
func (c *Client) Get(ctx context.Context, url string, hdr map[string]string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	return hc.Do(req)
}

// RepoFile is one file of a repository as the hub lists it.
type RepoFile struct {
	Path   string
	Size   int64
	SHA256 string // the LFS object's sha256, for files stored in LFS
	OID    string // the git blob id (sha1 of "blob <size>\x00" + contents)
}

// treeEntry is one entry of GET /api/models/{repo}/tree/{revision}.
type treeEntry struct {
	Type string `json:"type"`
	Path string `json:"path"`
	Size int64  `json:"size"`
	OID  string `json:"oid"`
	LFS  *struct {
		OID  string `json:"oid"` // sha256
		Size int64  `json:"size"`
	} `json:"lfs"`
}

// ModelFiles lists every file of the model repository repo at revision
// (default "main"), as GET {endpoint}/api/models/{repo}/tree/{revision}
// ?recursive=true returns them.
func (c *Client) ModelFiles(ctx context.Context, repo, revision string) ([]RepoFile, error) {
	if revision == "" {
		revision = "main"
	}
	u := c.endpoint() + "/api/models/" + repo + "/tree/" + url.PathEscape(revision) + "?recursive=true"
	resp, err := c.Get(ctx, u, nil)
	if err != nil {
		return nil, fmt.Errorf("list %s@%s: %w", repo, revision, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		hint := ""
		if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
			hint = " (a private or gated repository needs HF_TOKEN)"
		}
		return nil, fmt.Errorf("list %s@%s: GET %s: %s%s", repo, revision, u, resp.Status, hint)
	}
	var entries []treeEntry
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&entries); err != nil {
		return nil, fmt.Errorf("list %s@%s: %s: %w", repo, revision, u, err)
	}
	var out []RepoFile
	for _, e := range entries {
		if e.Type != "file" {
			continue
		}
		f := RepoFile{Path: e.Path, Size: e.Size, OID: e.OID}
		if e.LFS != nil {
			f.SHA256, f.Size = e.LFS.OID, e.LFS.Size
		}
		out = append(out, f)
	}
	return out, nil
}

// ResolveURL is the download URL of a repository file:
// {endpoint}/{repo}/resolve/{revision}/{path}.
func (c *Client) ResolveURL(repo, revision, path string) string {
	if revision == "" {
		revision = "main"
	}
	return c.endpoint() + "/" + repo + "/resolve/" + url.PathEscape(revision) + "/" + path
}

// ErrChecksum marks a file whose bytes do not match the size or checksum
// they should have.
var ErrChecksum = errors.New("checksum mismatch")

// Want is what a download must turn out to be; empty fields are not
// checked.
type Want struct {
	Size   int64  // bytes (0: unknown)
	SHA256 string // hex
	OID    string // git blob id, hex
}

// Downloaded describes a finished download.
type Downloaded struct {
	URL    string
	Size   int64
	SHA256 string
}

// Download fetches url to path through path.part: a .part left by an
// interrupted run is resumed with an HTTP Range request (force discards
// it). What arrives is checked against want; on a mismatch the .part file
// is removed, nothing is written at path, and the error wraps ErrChecksum.
// progress, if not nil, is called as bytes arrive with the bytes done, the
// total (-1 if unknown) and the bytes resumed from disk.
func (c *Client) Download(ctx context.Context, url, path string, want Want, force bool, progress func(done, total, resumed int64)) (Downloaded, error) {
	if progress == nil {
		progress = func(int64, int64, int64) {}
	}
	part := path + ".part"
	if force {
		os.Remove(part)
	}
	h := sha256.New()
	var have int64
	if f, err := os.Open(part); err == nil {
		have, _ = io.Copy(h, f)
		f.Close()
	}
	var hdr map[string]string
	if have > 0 {
		hdr = map[string]string{"Range": fmt.Sprintf("bytes=%d-", have)}
	}
	resp, err := c.Get(ctx, url, hdr)
	if err != nil {
		return Downloaded{}, err
	}
	defer resp.Body.Close()
	flags := os.O_CREATE | os.O_WRONLY
	switch {
	case resp.StatusCode == http.StatusPartialContent && have > 0:
		flags |= os.O_APPEND
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable && have > 0:
		// The part file is already complete.
		resp.Body.Close()
		return finish(part, path, url, have, h, want)
	case resp.StatusCode == http.StatusOK:
		flags |= os.O_TRUNC // no range support: start over
		have = 0
		h.Reset()
	default:
		return Downloaded{}, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	f, err := os.OpenFile(part, flags, 0o644)
	if err != nil {
		return Downloaded{}, err
	}
	total := int64(-1)
	if resp.ContentLength >= 0 {
		total = have + resp.ContentLength
	}
	resumed := have
	done := have
	buf := make([]byte, 256<<10)
	for {
		n, rerr := resp.Body.Read(buf)
		if n > 0 {
			if _, err := f.Write(buf[:n]); err != nil {
				f.Close()
				return Downloaded{}, err
			}
			h.Write(buf[:n])
			done += int64(n)
			progress(done, total, resumed)
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			f.Close()
			return Downloaded{}, fmt.Errorf("GET %s: %w (rerun to resume)", url, rerr)
		}
	}
	if err := f.Close(); err != nil {
		return Downloaded{}, err
	}
	if total >= 0 && done != total {
		return Downloaded{}, fmt.Errorf("GET %s: got %d of %d bytes (rerun to resume)", url, done, total)
	}
	return finish(part, path, url, done, h, want)
}

// finish checks the complete .part file against want and renames it into
// place.
func finish(part, path, url string, size int64, h hash.Hash, want Want) (Downloaded, error) {
	sum := hex.EncodeToString(h.Sum(nil))
	bad := ""
	switch {
	case want.Size > 0 && size != want.Size:
		bad = fmt.Sprintf("%d bytes, the hub says %d", size, want.Size)
	case want.SHA256 != "" && !strings.EqualFold(sum, want.SHA256):
		bad = fmt.Sprintf("sha256 %s, the hub says %s", sum, want.SHA256)
	case want.OID != "":
		if oid, err := GitOID(part); err != nil {
			return Downloaded{}, err
		} else if !strings.EqualFold(oid, want.OID) {
			bad = fmt.Sprintf("git blob id %s, the hub says %s", oid, want.OID)
		}
	}
	if bad != "" {
		os.Remove(part)
		return Downloaded{}, fmt.Errorf("GET %s: %s: %w (the partial file was removed; rerun to download again)", url, bad, ErrChecksum)
	}
	if err := os.Rename(part, path); err != nil {
		return Downloaded{}, err
	}
	return Downloaded{URL: url, Size: size, SHA256: sum}, nil
}

// GitOID is the git blob id of the file at path: sha1("blob <size>\x00" +
// contents), which the hub lists for files not stored in LFS.
func GitOID(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return "", err
	}
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", info.Size())
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// FileSHA256 is the hex sha256 of the file at path.
func FileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
