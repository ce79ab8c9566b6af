// Package data reads evaluation datasets in the exact Hugging Face schemas —
// parquet (the hub's parquet export) or JSON Lines — from nanochat's
// task_data cache, from explicit files or directories, and downloads the
// parquet export from the hub (pull.go). Rows come back as JSON objects for
// the task definitions to decode; this package knows nothing about tasks.
package data

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/parquet-go/parquet-go"
)

// Source names a dataset split on the Hugging Face hub.
type Source struct {
	Repo   string `json:"repo"`   // e.g. "openai/gsm8k"
	Subset string `json:"subset"` // config name, e.g. "main"
	Split  string `json:"split"`  // e.g. "test"
}

func (s Source) String() string { return s.Repo + " " + s.Subset + "/" + s.Split }

// Dir is where nanochat caches the split under home:
// home/task_data/{repo with / → --}/{subset}/{split}.
func (s Source) Dir(home string) string {
	return filepath.Join(home, "task_data", strings.ReplaceAll(s.Repo, "/", "--"), s.Subset, s.Split)
}

// ManifestName is the file that marks a complete download (written last).
const ManifestName = "manifest.json"

// MissingError says a dataset is not on disk and how to get it.
type MissingError struct {
	Source Source
	Dir    string // where it was looked for
	Pull   string // the command that downloads it
}

func (e *MissingError) Error() string {
	return fmt.Sprintf("dataset %s not found in %s: download it with\n    %s\nor pass a local file with --data", e.Source, e.Dir, e.Pull)
}

// Load reads the cached split under home. A missing manifest yields a
// *MissingError carrying pull, the command that fixes it.
func Load(home string, src Source, pull string) ([]json.RawMessage, error) {
	dir := src.Dir(home)
	if _, err := os.Stat(filepath.Join(dir, ManifestName)); errors.Is(err, fs.ErrNotExist) {
		return nil, &MissingError{Source: src, Dir: dir, Pull: pull}
	}
	return Read(dir)
}

// Read reads a data file (.parquet, .jsonl, .json) or a directory: the
// files its manifest.json lists, else every .parquet / .jsonl in it, in
// name order.
func Read(path string) ([]json.RawMessage, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("read dataset: %w", err)
	}
	if !fi.IsDir() {
		return readFile(path)
	}
	files, err := listDir(path)
	if err != nil {
		return nil, err
	}
	var rows []json.RawMessage
	for _, f := range files {
		r, err := readFile(f)
		if err != nil {
			return nil, err
		}
		rows = append(rows, r...)
	}
	return rows, nil
}

func listDir(dir string) ([]string, error) {
	if m, err := ReadManifest(dir); err == nil {
		files := make([]string, len(m.Files))
		for i, f := range m.Files {
			files[i] = filepath.Join(dir, f.Name)
		}
		return files, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read dataset: %w", err)
	}
	var files []string
	for _, e := range ents {
		if ext := filepath.Ext(e.Name()); !e.IsDir() && (ext == ".parquet" || ext == ".jsonl") {
			files = append(files, filepath.Join(dir, e.Name()))
		}
	}
	slices.Sort(files)
	if len(files) == 0 {
		return nil, fmt.Errorf("read dataset %q: no manifest.json, .parquet or .jsonl files", dir)
	}
	return files, nil
}

func readFile(path string) ([]json.RawMessage, error) {
	var rows []json.RawMessage
	var err error
	switch strings.ToLower(filepath.Ext(path)) {
	case ".parquet":
		rows, err = readParquet(path)
	case ".jsonl", ".json":
		rows, err = readJSON(path)
	default:
		return nil, fmt.Errorf("read dataset %q: unknown format (want .parquet, .jsonl or .json)", path)
	}
	if err != nil {
		return nil, fmt.Errorf("read dataset %q: %w", path, err)
	}
	return rows, nil
}

// readJSON reads JSON Lines, or a .json file holding one array of objects.
func readJSON(path string) ([]json.RawMessage, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '[' {
		var rows []json.RawMessage
		if err := json.Unmarshal(t, &rows); err != nil {
			return nil, err
		}
		return rows, nil
	}
	var rows []json.RawMessage
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 64<<20)
	for line := 1; sc.Scan(); line++ {
		t := bytes.TrimSpace(sc.Bytes())
		if len(t) == 0 {
			continue
		}
		if !json.Valid(t) || t[0] != '{' {
			return nil, fmt.Errorf("line %d: not a JSON object", line)
		}
		rows = append(rows, json.RawMessage(bytes.Clone(t)))
	}
	return rows, sc.Err()
}

// readParquet reads every row as a JSON object (lists and structs nested as
// in the Arrow schema the hub writes).
func readParquet(path string) ([]json.RawMessage, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	pf, err := parquet.OpenFile(f, fi.Size())
	if err != nil {
		return nil, err
	}
	r := parquet.NewReader(pf)
	defer r.Close()
	rows := make([]json.RawMessage, 0, pf.NumRows())
	for {
		m := map[string]any{}
		if err := r.Read(&m); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, fmt.Errorf("row %d: %w", len(rows), err)
		}
		b, err := json.Marshal(m)
		if err != nil {
			return nil, fmt.Errorf("row %d: %w", len(rows), err)
		}
		rows = append(rows, b)
	}
	return rows, nil
}

// Where names row i (from 0) of what Read(path) returns as its file has
// it: "…/test.jsonl line 153" (blank lines counted), "…/test.json item
// 153", "…/00000.parquet row 153" (from 1). It reads the files again, so
// it is for error messages; a row it cannot place is "row i+1".
func Where(path string, i int) string {
	files := []string{path}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		if files, err = listDir(path); err != nil {
			return fmt.Sprintf("%s row %d", path, i+1)
		}
	}
	for _, f := range files {
		n, where := rowsIn(f, i)
		if where != "" {
			return f + " " + where
		}
		i -= n
	}
	return fmt.Sprintf("%s row %d", path, i+1)
}

// rowsIn counts the rows of one data file; when row i is among them it
// also says where: its line, item or row number.
func rowsIn(path string, i int) (n int, where string) {
	if strings.ToLower(filepath.Ext(path)) == ".parquet" {
		rows, err := readParquet(path)
		if err != nil || i >= len(rows) {
			return len(rows), ""
		}
		return len(rows), fmt.Sprintf("row %d", i+1)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, ""
	}
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '[' {
		var rows []json.RawMessage
		if json.Unmarshal(t, &rows) != nil || i >= len(rows) {
			return len(rows), ""
		}
		return len(rows), fmt.Sprintf("item %d", i+1)
	}
	for line, l := range bytes.Split(b, []byte("\n")) {
		if len(bytes.TrimSpace(l)) == 0 {
			continue
		}
		if n == i {
			return n + 1, fmt.Sprintf("line %d", line+1)
		}
		n++
	}
	return n, ""
}
