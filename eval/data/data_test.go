package data

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const fixtures = "../../testdata/eval"

func decodeAll(t *testing.T, rows []json.RawMessage) []map[string]any {
	t.Helper()
	out := make([]map[string]any, len(rows))
	for i, r := range rows {
		if err := json.Unmarshal(r, &out[i]); err != nil {
			t.Fatalf("row %d: %v", i, err)
		}
	}
	return out
}

// TestParquetMatchesJSONL reads each fixture in both formats (written from
// the same rows by testdata/eval/gen.py with pyarrow) and compares.
func TestParquetMatchesJSONL(t *testing.T) {
	for _, name := range []string{"gsm8k", "mmlu", "arc", "humaneval"} {
		pq, err := Read(filepath.Join(fixtures, name+".parquet"))
		if err != nil {
			t.Fatal(err)
		}
		jl, err := Read(filepath.Join(fixtures, name+".jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		if len(pq) == 0 || len(pq) != len(jl) {
			t.Fatalf("%s: %d parquet rows, %d jsonl rows", name, len(pq), len(jl))
		}
		if got, want := decodeAll(t, pq), decodeAll(t, jl); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: parquet rows\n%v\nwant (jsonl)\n%v", name, got, want)
		}
	}
}

func TestParquetSchemas(t *testing.T) {
	rows, err := Read(filepath.Join(fixtures, "arc.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	var arc struct {
		ID      string `json:"id"`
		Choices struct {
			Text  []string `json:"text"`
			Label []string `json:"label"`
		} `json:"choices"`
		AnswerKey string `json:"answerKey"`
	}
	if err := json.Unmarshal(rows[1], &arc); err != nil {
		t.Fatal(err)
	}
	if arc.ID != "NYSEDREGENTS_2015_4_8" || !reflect.DeepEqual(arc.Choices.Label, []string{"1", "2", "3"}) || arc.AnswerKey != "2" {
		t.Errorf("arc row 1 = %+v", arc)
	}
	// Lists written with the legacy "item" element name read the same.
	legacy, err := Read(filepath.Join(fixtures, "mmlu_legacy_lists.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	modern, _ := Read(filepath.Join(fixtures, "mmlu.parquet"))
	if got, want := decodeAll(t, legacy), decodeAll(t, modern); !reflect.DeepEqual(got, want) {
		t.Errorf("legacy lists: %v, want %v", got, want)
	}
	var mmlu struct {
		Answer  int      `json:"answer"`
		Choices []string `json:"choices"`
	}
	json.Unmarshal(modern[3], &mmlu)
	if mmlu.Answer != 3 || mmlu.Choices[3] != "ü" {
		t.Errorf("mmlu row 3 = %+v", mmlu)
	}
}

func TestLoadCacheLayout(t *testing.T) {
	src := Source{Repo: "openai/gsm8k", Subset: "main", Split: "test"}
	if got, want := src.Dir("/h"), "/h/task_data/openai--gsm8k/main/test"; got != want {
		t.Errorf("Dir = %q, want %q", got, want)
	}
	rows, err := Load(fixtures, src, "nanochat data pull gsm8k")
	if err != nil {
		t.Fatal(err)
	}
	all, _ := Read(filepath.Join(fixtures, "gsm8k.jsonl"))
	if got, want := decodeAll(t, rows), decodeAll(t, all); !reflect.DeepEqual(got, want) {
		t.Errorf("two shards via manifest = %v, want %v", got, want)
	}
}

func TestLoadMissing(t *testing.T) {
	src := Source{Repo: "cais/mmlu", Subset: "all", Split: "test"}
	_, err := Load(t.TempDir(), src, "nanochat data pull mmlu")
	var me *MissingError
	if !errors.As(err, &me) {
		t.Fatalf("err = %v, want *MissingError", err)
	}
	if !strings.Contains(err.Error(), "nanochat data pull mmlu") || !strings.Contains(err.Error(), "cais--mmlu/all/test") {
		t.Errorf("error %q should name the directory and the pull command", err)
	}
}

func TestReadErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.jsonl")
	os.WriteFile(bad, []byte("{\"a\": 1}\nnot json\n"), 0o644)
	if _, err := Read(bad); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("bad jsonl: err = %v, want line 2", err)
	}
	csv := filepath.Join(dir, "x.csv")
	os.WriteFile(csv, []byte("a,b\n"), 0o644)
	if _, err := Read(csv); err == nil {
		t.Error("csv: want an error")
	}
	if _, err := Read(filepath.Join(dir, "missing.jsonl")); err == nil {
		t.Error("missing file: want an error")
	}
	if _, err := Read(dir); err == nil {
		t.Error("directory without data: want an error")
	}
	arr := filepath.Join(dir, "rows.json")
	os.WriteFile(arr, []byte(`[{"question": "q", "answer": "#### 1"}]`), 0o644)
	if rows, err := Read(arr); err != nil || len(rows) != 1 {
		t.Errorf("json array: %d rows, %v", len(rows), err)
	}
}

func TestManifestForms(t *testing.T) {
	var m Manifest
	if err := json.Unmarshal([]byte(`["00000.parquet", "00001.parquet"]`), &m); err != nil || len(m.Files) != 2 || m.Files[1].Name != "00001.parquet" {
		t.Fatalf("list form: %+v, %v", m, err)
	}
	m.Files[0].SHA256, m.Files[0].Size = "ab", 3
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var back Manifest
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, m) {
		t.Errorf("object form round trip: %+v, %v (json %s)", back, err, b)
	}
	// Upstream iterates the object's keys: they must be the names in order.
	var keys []string
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.Token()
	for dec.More() {
		k, _ := dec.Token()
		keys = append(keys, k.(string))
		var skip json.RawMessage
		dec.Decode(&skip)
	}
	if !reflect.DeepEqual(keys, []string{"00000.parquet", "00001.parquet"}) {
		t.Errorf("keys = %v", keys)
	}
}

// TestWhere names a row by the line of its file, blank lines counted and
// across the files of a directory, so an error about it can be found.
func TestWhere(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	a := write("a.jsonl", "{\"q\": 1}\n\n{\"q\": 2}\n{\"q\": 3}\n")
	b := write("b.jsonl", "\n{\"q\": 4}\n")
	for _, tt := range []struct {
		path string
		row  int
		want string
	}{
		{a, 0, a + " line 1"},
		{a, 1, a + " line 3"},
		{a, 2, a + " line 4"},
		{dir, 3, b + " line 2"},
		{dir, 9, dir + " row 6"},
		{filepath.Join(fixtures, "arc.parquet"), 1, filepath.Join(fixtures, "arc.parquet") + " row 2"},
	} {
		if got := Where(tt.path, tt.row); got != tt.want {
			t.Errorf("Where(%s, %d) = %q, want %q", tt.path, tt.row, got, tt.want)
		}
	}
}
