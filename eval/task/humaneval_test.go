package task

import (
	"context"
	"errors"
	"testing"

	"github.com/nanochat-go/nanochat/eval/sandbox"
)

func TestExtractProgram(t *testing.T) {
	for _, v := range extractProgramVectors {
		if got := ExtractProgram(v[0]); got != v[1] {
			t.Errorf("ExtractProgram(%q) = %q, want %q", v[0], got, v[1])
		}
	}
}

func TestExtractImports(t *testing.T) {
	for _, v := range extractImportsVectors {
		if got := ExtractImports(v[0]); got != v[1] {
			t.Errorf("ExtractImports(%q) = %q, want %q", v[0], got, v[1])
		}
	}
}

func TestHumanEvalProgram(t *testing.T) {
	items := load(t, "humaneval", "humaneval.parquet")
	it := byRow(items, 2) // HumanEval/22: comment, then two imports
	if it.ID != "HumanEval/22" || it.Entry != "filter_integers" {
		t.Fatalf("row 2 = %+v", it)
	}
	if it.Messages[1].Content != it.Messages[0].Content+"\n"+it.Gold {
		t.Error("gold assistant message should be prompt + \"\\n\" + canonical_solution")
	}
	completion := "Sure:\n```python\ndef filter_integers(values):\n    return [x for x in values if isinstance(x, int)]\n```\nDone."
	want := "import math\nfrom typing import List, Any\n\n" +
		"def filter_integers(values):\n    return [x for x in values if isinstance(x, int)]\n\n" +
		it.Test + "\ncheck(filter_integers)"
	if got := HumanEvalProgram(it, completion); got != want {
		t.Errorf("program =\n%s\nwant\n%s", got, want)
	}
}

func TestCheckHumanEval(t *testing.T) {
	sb, err := sandbox.New(sandbox.Options{})
	if errors.Is(err, sandbox.ErrNoPython) {
		t.Skip("python3 not installed")
	}
	var unavailable *sandbox.UnavailableError
	if errors.As(err, &unavailable) {
		// The pass/fail semantics do not depend on the jail, whose own
		// tests (eval/sandbox) say whether it should work here.
		t.Logf("%v; testing with the unsafe fallback", err)
		sb, err = sandbox.New(sandbox.Options{Unsafe: true})
	}
	if err != nil {
		t.Fatal(err)
	}
	env := Env{Sandbox: sb}
	tk, _ := Lookup("humaneval")
	items := load(t, "humaneval", "humaneval.jsonl")
	for _, it := range items {
		// The canonical solution, completed as the model would (the
		// prompt's function plus its body), passes.
		good := "```python\n" + it.Messages[0].Content + it.Gold + "```"
		if v, err := tk.Check(context.Background(), env, &it, good); err != nil || !v.Pass {
			t.Errorf("%s canonical: %+v, %v", it.ID, v, err)
		}
		bad := "def " + it.Entry + "(*a):\n    return None"
		if v, err := tk.Check(context.Background(), env, &it, bad); err != nil || v.Pass || v.Detail == "" {
			t.Errorf("%s wrong: %+v, %v", it.ID, v, err)
		}
	}
	loop := "def " + items[0].Entry + "(*a):\n    while True: pass"
	if v, _ := tk.Check(context.Background(), env, &items[0], loop); v.Pass || v.Detail != "timeout" {
		t.Errorf("infinite loop: %+v", v)
	}
	if _, err := tk.Check(context.Background(), Env{}, &items[0], "x"); err == nil {
		t.Error("no sandbox: want an error")
	}
}
