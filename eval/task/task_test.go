package task

import (
	"context"
	"encoding/json"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/nanochat-go/nanochat/eval/data"
	"github.com/nanochat-go/nanochat/llm"
)

const fixtures = "../../testdata/eval"

func load(t *testing.T, task, file string) []Item {
	t.Helper()
	tk, err := Lookup(task)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := data.Read(filepath.Join(fixtures, file))
	if err != nil {
		t.Fatal(err)
	}
	items, err := tk.Items(rows)
	if err != nil {
		t.Fatal(err)
	}
	return items
}

func byRow(items []Item, row int) *Item {
	for i := range items {
		if items[i].Row == row {
			return &items[i]
		}
	}
	return nil
}

func TestRenderMC(t *testing.T) {
	got := RenderMC("What is 2 + 3?", []string{"A", "B", "C", "D"}, []string{"4", "5", "6", "7"})
	want := "Multiple Choice question: What is 2 + 3?\n- 4=A\n- 5=B\n- 6=C\n- 7=D\n\nRespond only with the letter of the correct answer."
	if got != want {
		t.Errorf("RenderMC = %q, want %q", got, want)
	}
	// zip() semantics: the shorter list wins.
	if got := RenderMC("q", []string{"A", "B"}, []string{"x", "y", "z"}); got != "Multiple Choice question: q\n- x=A\n- y=B\n\nRespond only with the letter of the correct answer." {
		t.Errorf("RenderMC(short letters) = %q", got)
	}
}

func TestItemsOrder(t *testing.T) {
	// 5 rows: numpy default_rng(42).permutation(5) = [4 2 3 1 0].
	items := load(t, "gsm8k", "gsm8k.jsonl")
	var rows []int
	for i, it := range items {
		if it.Index != i {
			t.Errorf("items[%d].Index = %d", i, it.Index)
		}
		rows = append(rows, it.Row)
	}
	if want := []int{4, 2, 3, 1, 0}; !slices.Equal(rows, want) {
		t.Errorf("rows in order = %v, want %v", rows, want)
	}
}

func TestARC(t *testing.T) {
	items := load(t, "ARC-Easy", "arc.parquet")
	it := byRow(items, 1)
	if it.ID != "NYSEDREGENTS_2015_4_8" || it.Gold != "2" || !slices.Equal(it.Letters, []string{"1", "2", "3"}) {
		t.Fatalf("row 1 = %+v", it)
	}
	want := []llm.Message{
		{Role: "user", Content: "Multiple Choice question: Which is a gas at room temperature?\n- iron=1\n- oxygen=2\n- wood=3\n\nRespond only with the letter of the correct answer."},
		{Role: "assistant", Content: "2"},
	}
	if !reflect.DeepEqual(it.Messages, want) {
		t.Errorf("messages = %#v, want %#v", it.Messages, want)
	}
	if len(byRow(items, 2).Letters) != 5 {
		t.Errorf("5-choice item has letters %v", byRow(items, 2).Letters)
	}
	if !CheckLetter(it, "2").Pass || CheckLetter(it, "1").Pass {
		t.Error("CheckLetter")
	}
	tk, _ := Lookup("arc-challenge")
	if _, err := tk.Parse(json.RawMessage(`{"id":"x","question":"q","choices":{"text":["a","b"],"label":["A","B"]},"answerKey":"C"}`)); err == nil {
		t.Error("answerKey outside the labels: want an error")
	}
}

func TestMMLU(t *testing.T) {
	items := load(t, "mmlu", "mmlu.parquet")
	it := byRow(items, 1)
	if it.Gold != "C" || it.Subject != "high_school_geography" || !slices.Equal(it.Letters, []string{"A", "B", "C", "D"}) {
		t.Fatalf("row 1 = %+v", it)
	}
	if it.Messages[0].Content != "Multiple Choice question: What is the capital of France?\n- Lyon=A\n- Marseille=B\n- Paris=C\n- Nice=D\n\nRespond only with the letter of the correct answer." {
		t.Errorf("prompt = %q", it.Messages[0].Content)
	}
	tk, _ := Lookup("mmlu")
	if _, err := tk.Parse(json.RawMessage(`{"question":"q","subject":"s","choices":["a","b","c"],"answer":0}`)); err == nil {
		t.Error("3 choices: want an error")
	}
}

func TestSplitGSM8K(t *testing.T) {
	tests := []struct {
		answer string
		want   []llm.Part
	}{
		{"Tom has 12+7 = <<12+7=19>>19 apples.\n#### 19", []llm.Part{
			{Type: "text", Text: "Tom has 12+7 = "}, {Type: "python", Text: "12+7"}, {Type: "python_output", Text: "19"},
			{Type: "text", Text: "19 apples.\n#### 19"}}},
		// Leading span: re.split yields an empty first text part.
		{"<<2*3=6>>6\n#### 6", []llm.Part{{Type: "text"}, {Type: "python", Text: "2*3"}, {Type: "python_output", Text: "6"}, {Type: "text", Text: "6\n#### 6"}}},
		// rsplit on the last "=", and a span without "=".
		{"a <<x==1=2>> b <<noeq>>", []llm.Part{{Type: "text", Text: "a "}, {Type: "python", Text: "x==1"}, {Type: "python_output", Text: "2"},
			{Type: "text", Text: " b "}, {Type: "python", Text: "noeq"}, {Type: "python_output"}, {Type: "text"}}},
		{"no tools\n#### 4", []llm.Part{{Type: "text", Text: "no tools\n#### 4"}}},
		// "<<>>" does not match [^>]+; ">" inside cannot be spanned.
		{"<<>> <<a>b=1>>", []llm.Part{{Type: "text", Text: "<<>> <<a>b=1>>"}}},
	}
	for _, tt := range tests {
		if got := SplitGSM8K(tt.answer); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("SplitGSM8K(%q) =\n%#v\nwant\n%#v", tt.answer, got, tt.want)
		}
	}
}

func TestExtractGSM8K(t *testing.T) {
	tests := []struct {
		in   string
		want string
		ok   bool
	}{
		{"#### 19", "19", true},
		{"so 3,600 pens\n#### 3,600", "3600", true},
		{"#### -2", "-2", true},
		{"#### 2.5", "2.5", true},
		{"#### 10.0", "10.0", true},
		{"####19", "", false},
		{"#### abc", "", false},
		{"#### $5", "", false},
		{"#### 5 and later #### 6", "5", true},
		{"#### 1,2,3.", "123.", true},
		{"#### --5", "", false},
		{"x #### 7<|assistant_end|>", "7", true},
		{"<|python_start|>12*3<|python_end|><|output_start|>36<|output_end|> #### 36", "36", true},
		{"", "", false},
	}
	for _, tt := range tests {
		got, ok := ExtractGSM8K(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ExtractGSM8K(%q) = %q, %v, want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestCheckGSM8K(t *testing.T) {
	items := load(t, "gsm8k", "gsm8k.parquet")
	box := byRow(items, 1) // #### 3,600
	if box.Gold != "3600" {
		t.Fatalf("gold = %q", box.Gold)
	}
	tk, _ := Lookup("gsm8k")
	for _, tt := range []struct {
		completion string
		pass       bool
	}{
		{"3 boxes hold <|python_start|>3*1200<|python_end|><|output_start|>3600<|output_end|>3600 pens.\n#### 3600", true},
		{"#### 3,600", true},
		{"#### 3600.0", false},
		{"the answer is 3600", false},
		{"#### 36000", false},
		{"#### 3600 #### 1", true},
	} {
		v, err := tk.Check(context.Background(), Env{}, box, tt.completion)
		if err != nil || v.Pass != tt.pass {
			t.Errorf("Check(%q) = %+v, %v, want pass=%v", tt.completion, v, err, tt.pass)
		}
	}
	// A reference without "####" extracts None; None == None passes (upstream).
	noRef := Item{Messages: []llm.Message{{Role: "user"}, {Role: "assistant", Parts: SplitGSM8K("just 4")}}}
	if v, _ := tk.Check(context.Background(), Env{}, &noRef, "no answer"); !v.Pass {
		t.Error("None == None should pass like upstream")
	}
}

func TestLookup(t *testing.T) {
	for _, n := range []string{"arc-easy", "ARC-Easy", "arc_easy", "ArcEasy"} {
		if tk, err := Lookup(n); err != nil || tk.ID != "arc-easy" {
			t.Errorf("Lookup(%q) = %v, %v", n, tk, err)
		}
	}
	if _, err := Lookup("hellaswag"); err == nil {
		t.Error("unknown task: want an error")
	}
	ts, err := Parse("gsm8k,mmlu|gsm8k")
	if err != nil || len(ts) != 2 || ts[0].ID != "gsm8k" || ts[1].ID != "mmlu" {
		t.Errorf("Parse = %v, %v", ts, err)
	}
	all, _ := Parse("all")
	var names []string
	for _, tk := range all {
		names = append(names, tk.Name)
	}
	if want := []string{"ARC-Easy", "ARC-Challenge", "MMLU", "GSM8K", "HumanEval"}; !slices.Equal(names, want) {
		t.Errorf("all = %v, want %v", names, want)
	}
}

func TestItemKey(t *testing.T) {
	items := load(t, "mmlu", "mmlu.jsonl")
	again := load(t, "mmlu", "mmlu.parquet")
	for i := range items {
		if items[i].Key() != again[i].Key() {
			t.Errorf("item %d: key differs between jsonl and parquet", i)
		}
	}
	changed := items[0]
	changed.Gold = "Z"
	if changed.Key() == items[0].Key() {
		t.Error("key ignores the gold answer")
	}
}
