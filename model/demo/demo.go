// Package demo unpacks the demo model bundled in the binary (see the
// module's root package) into the user's cache, so that --demo works from a
// lone copy of the binary: $XDG_CACHE_HOME/nanochat/demo/<digest>/, with a
// nanochat home in home/ and the toy eval sets in data/. The digest names
// the bundle's contents, so a binary with another demo never reads stale
// files.
package demo

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/nanochat-go/nanochat"
)

// bundle is the embedded demo; tests replace it.
var bundle fs.FS = mustSub(nanochat.Demo, nanochat.DemoRoot)

func mustSub(f fs.FS, dir string) fs.FS {
	s, err := fs.Sub(f, dir)
	if err != nil {
		panic(err)
	}
	return s
}

var digest = sync.OnceValues(func() (string, error) { return Digest(bundle) })

// Digest is the first 16 hex digits of the sha256 of a bundle's file
// names and contents, in fs.WalkDir order.
func Digest(b fs.FS) (string, error) {
	h := sha256.New()
	err := fs.WalkDir(b, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(b, p)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", p, len(data))
		h.Write(data)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("demo digest: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// CacheDir is where bundles are unpacked: <user cache>/nanochat/demo
// ($XDG_CACHE_HOME/nanochat/demo or ~/.cache/nanochat/demo on Linux).
func CacheDir() (string, error) {
	c, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("demo: no user cache directory: %w", err)
	}
	return filepath.Join(c, "nanochat", "demo"), nil
}

// Home returns the demo's nanochat home, unpacking the bundle first if
// this binary's demo is not in the cache yet.
func Home() (string, error) {
	dir, err := Unpack()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "home"), nil
}

// Unpack makes sure the bundle is in CacheDir()/<digest> and returns that
// directory. It writes into a temporary directory and renames it into
// place, so a directory at that name is always complete, and concurrent
// first runs do not see each other's half-written files.
func Unpack() (string, error) {
	sum, err := digest()
	if err != nil {
		return "", err
	}
	root, err := CacheDir()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(root, sum)
	if info, err := os.Stat(dir); err == nil && info.IsDir() {
		return dir, nil
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", fmt.Errorf("unpack demo: %w", err)
	}
	tmp, err := os.MkdirTemp(root, ".unpack-")
	if err != nil {
		return "", fmt.Errorf("unpack demo: %w", err)
	}
	defer os.RemoveAll(tmp) // nothing left once renamed
	err = fs.WalkDir(bundle, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		dst := filepath.Join(tmp, filepath.FromSlash(p))
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		data, err := fs.ReadFile(bundle, p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, data, 0o644)
	})
	if err != nil {
		return "", fmt.Errorf("unpack demo into %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		// Another process may have unpacked the same bundle meanwhile.
		if info, serr := os.Stat(dir); serr == nil && info.IsDir() {
			return dir, nil
		}
		return "", fmt.Errorf("unpack demo: %w", err)
	}
	return dir, nil
}
