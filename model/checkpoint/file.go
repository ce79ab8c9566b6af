// Package checkpoint reads PyTorch checkpoints written by torch.save — a zip
// archive holding a pickled state dict and one raw record per storage —
// without executing code. It maps the file and hands out typed tensor views;
// it does no math.
package checkpoint

import (
	"encoding/binary"
	"fmt"
	"io/fs"
	"strings"
)

// File is an opened checkpoint.
type File struct {
	Path    string
	Tensors []*Tensor // in the order they appear in the state dict

	Prefix    string            // top-level record prefix, e.g. "model_000650" or "archive"
	Version   string            // contents of <Prefix>/version, e.g. "3"; empty if absent
	ByteOrder string            // "little" or "big", from <Prefix>/byteorder (default "little")
	Metadata  map[string]string // a safetensors file's __metadata__

	byName   map[string]*Tensor
	storages map[string]*storage
	data     []byte      // the whole file, mapped (Open) or in memory (Parse)
	info     fs.FileInfo // the file as Open found it; nil for Parse
	release  func() error
}

// Open maps the checkpoint at path and parses its state dict. Tensor data
// stays in the mapping (nothing is copied) until Close.
//
// The mapping shares the file's pages: if the file is truncated or
// overwritten in place (not replaced: a renamed or deleted file keeps its
// old contents for the mapping), tensor data changes under the reader, and
// reading a page past the new end of the file raises SIGBUS, which kills
// the process unless the read runs inside Guard. Readers that must survive
// such edits copy what they keep inside Guard and Close the file.
func Open(path string) (*File, error) {
	data, info, release, err := mapFile(path)
	if err != nil {
		return nil, fmt.Errorf("checkpoint %q: %w", path, err)
	}
	var f *File
	err = guard(data, func() (err error) {
		f, err = parse(path, data)
		return err
	})
	if err != nil {
		_ = release()
		return nil, fmt.Errorf("checkpoint %q: %w", path, err)
	}
	f.data, f.info, f.release = data, info, release
	return f, nil
}

// Parse parses a checkpoint held in memory; name is used in errors and as
// the File's Path. Tensors view data, which must not change while in use.
func Parse(name string, data []byte) (*File, error) {
	f, err := parse(name, data)
	if err != nil {
		return nil, fmt.Errorf("checkpoint %q: %w", name, err)
	}
	f.data = data
	return f, nil
}

// Tensor returns the tensor named name.
func (f *File) Tensor(name string) (*Tensor, bool) {
	t, ok := f.byName[name]
	return t, ok
}

// Close unmaps the file. Tensor accessors fail afterwards, and slices
// returned by Bytes must no longer be used. Close is idempotent.
func (f *File) Close() error {
	for _, s := range f.storages {
		s.closed = true
	}
	if f.release == nil {
		return nil
	}
	err := f.release()
	f.release = nil
	if err != nil {
		return fmt.Errorf("close checkpoint %q: %w", f.Path, err)
	}
	return nil
}

// parse reads the archive layout, decodes data.pkl and validates every tensor.
func parse(name string, data []byte) (*File, error) {
	z, err := readZip(data)
	if err != nil {
		return nil, err
	}
	prefix, err := findPrefix(z)
	if err != nil {
		return nil, err
	}
	f := &File{Path: name, Prefix: prefix, ByteOrder: "little", byName: map[string]*Tensor{}}
	if f.Version, err = readSmallRecord(z, prefix+"/version"); err != nil {
		return nil, err
	}
	order, err := readSmallRecord(z, prefix+"/byteorder")
	if err != nil {
		return nil, err
	}
	var byteOrder binary.ByteOrder = binary.LittleEndian
	switch order {
	case "", "little":
	case "big":
		f.ByteOrder, byteOrder = "big", binary.BigEndian
	default:
		return nil, fmt.Errorf("%s/byteorder: unknown byte order %q", prefix, order)
	}
	pkl, err := z.entryData(mustEntry(z, prefix+"/data.pkl"))
	if err != nil {
		return nil, err
	}
	u := &unpickler{z: z, prefix: prefix, order: byteOrder, storages: map[string]*storage{}}
	top, err := u.decode(pkl)
	if err != nil {
		return nil, fmt.Errorf("data.pkl: %w", err)
	}
	f.storages = u.storages
	if f.Tensors, err = stateDict(top); err != nil {
		return nil, err
	}
	for _, t := range f.Tensors {
		if err := t.validate(); err != nil {
			return nil, err
		}
		f.byName[t.Name] = t
	}
	return f, nil
}

// findPrefix returns the top-level directory of the unique <p>/data.pkl.
func findPrefix(z *zipArchive) (string, error) {
	prefix := ""
	for _, e := range z.entries {
		p, ok := strings.CutSuffix(e.name, "/data.pkl")
		if !ok || p == "" || strings.Contains(p, "/") {
			continue
		}
		if prefix != "" && p != prefix {
			return "", fmt.Errorf("several data.pkl records (%q and %q)", prefix, p)
		}
		prefix = p
	}
	if prefix == "" {
		return "", fmt.Errorf("no <prefix>/data.pkl record among %d zip entries; not a torch.save checkpoint", len(z.entries))
	}
	return prefix, nil
}

// mustEntry returns the named entry, which findPrefix proved exists.
func mustEntry(z *zipArchive, name string) zipEntry {
	e, _ := z.entry(name)
	return e
}

// readSmallRecord returns the trimmed text of an optional short record.
func readSmallRecord(z *zipArchive, name string) (string, error) {
	e, ok := z.entry(name)
	if !ok {
		return "", nil
	}
	b, err := z.entryData(e)
	if err != nil {
		return "", err
	}
	if len(b) > 64 {
		return "", fmt.Errorf("record %q: %d bytes, want a short text", name, len(b))
	}
	return strings.TrimSpace(string(b)), nil
}
