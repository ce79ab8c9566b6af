package data

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// Manifest is manifest.json: the shard files of a complete download.
//
// Upstream writes a JSON list of file names and reads it back with
// `for filename in json.load(f)`. We write an object keyed by file name
// (in shard order) whose values record where each shard came from, its
// size and its sha256: iterating a JSON object in Python yields its keys
// in order, so upstream's loader reads our manifests unchanged, and we
// read both forms.
type Manifest struct {
	Files []ShardInfo
}

// ShardInfo describes one downloaded shard.
type ShardInfo struct {
	Name   string `json:"-"`
	URL    string `json:"url,omitempty"`
	Size   int64  `json:"size,omitempty"`
	SHA256 string `json:"sha256,omitempty"`
}

// ReadManifest reads dir/manifest.json (either form).
func ReadManifest(dir string) (Manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, ManifestName))
	if err != nil {
		return Manifest{}, err
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return Manifest{}, fmt.Errorf("read %s: %w", filepath.Join(dir, ManifestName), err)
	}
	return m, nil
}

// UnmarshalJSON accepts upstream's list of names or our object.
func (m *Manifest) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '[' {
		var names []string
		if err := json.Unmarshal(b, &names); err != nil {
			return err
		}
		m.Files = nil
		for _, n := range names {
			m.Files = append(m.Files, ShardInfo{Name: n})
		}
		return nil
	}
	// An object: decode key by key to keep the shard order.
	dec := json.NewDecoder(bytes.NewReader(b))
	if _, err := dec.Token(); err != nil {
		return err
	}
	m.Files = nil
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		name, _ := tok.(string)
		var s ShardInfo
		if err := dec.Decode(&s); err != nil {
			return err
		}
		s.Name = name
		m.Files = append(m.Files, s)
	}
	return nil
}

// MarshalJSON writes the object form, shards in order.
func (m Manifest) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString("{")
	for i, f := range m.Files {
		if i > 0 {
			buf.WriteString(",")
		}
		buf.WriteString("\n  ")
		k, _ := json.Marshal(f.Name)
		v, err := json.Marshal(f)
		if err != nil {
			return nil, err
		}
		buf.Write(k)
		buf.WriteString(": ")
		buf.Write(v)
	}
	buf.WriteString("\n}")
	return buf.Bytes(), nil
}

// write stores the manifest atomically (temp file + rename).
func (m Manifest) write(dir string) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, ManifestName+".tmp")
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, ManifestName))
}
