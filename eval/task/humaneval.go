package task

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"unicode"

	"github.com/nanochat-go/nanochat/llm"
)

// humanEvalRow is openai/openai_humaneval.
type humanEvalRow struct {
	TaskID     string `json:"task_id"`
	Prompt     string `json:"prompt"`
	Solution   string `json:"canonical_solution"`
	Test       string `json:"test"`
	EntryPoint string `json:"entry_point"`
}

func parseHumanEval(raw json.RawMessage) (Item, error) {
	var r humanEvalRow
	if err := json.Unmarshal(raw, &r); err != nil {
		return Item{}, fmt.Errorf("HumanEval row: %w", err)
	}
	return Item{
		Messages: []llm.Message{
			{Role: "user", Content: r.Prompt},
			{Role: "assistant", Content: r.Prompt + "\n" + r.Solution},
		},
		Gold:  r.Solution,
		ID:    r.TaskID,
		Test:  r.Test,
		Entry: r.EntryPoint,
	}, nil
}

// pyIsSpace is Python's str.isspace for one character: Unicode White_Space
// plus the ASCII separators \x1c-\x1f.
func pyIsSpace(r rune) bool { return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f) }

// pyStrip is Python's str.strip().
func pyStrip(s string) string { return strings.TrimFunc(s, pyIsSpace) }

// ExtractImports is upstream's extract_imports: the leading import / from
// lines of the prompt (stripped), skipping blank and comment lines, up to
// the first other line.
func ExtractImports(prompt string) string {
	var imports []string
	for _, line := range strings.Split(prompt, "\n") {
		s := pyStrip(line)
		if strings.HasPrefix(s, "import ") || strings.HasPrefix(s, "from ") {
			imports = append(imports, s)
		} else if s != "" && !strings.HasPrefix(s, "#") {
			break
		}
	}
	return strings.Join(imports, "\n")
}

// codeBlockRe is upstream's r'```(?:python)?\s*\n(.*?)\n```' with
// re.DOTALL; \s is spelled out as Python's Unicode whitespace class (Go's
// \s is ASCII only). RE2's leftmost-first semantics pick the same match as
// Python's backtracking engine.
var codeBlockRe = regexp.MustCompile("(?s)```(?:python)?[\\t\\n\\v\\f\\r \\x1c-\\x1f\\x{85}\\x{a0}\\x{1680}\\x{2000}-\\x{200a}\\x{2028}\\x{2029}\\x{202f}\\x{205f}\\x{3000}]*\\n(.*?)\\n```")

// ExtractProgram is upstream's extract_program: the first fenced code block
// (stripped), else the whole completion stripped.
func ExtractProgram(completion string) string {
	if m := codeBlockRe.FindStringSubmatch(completion); m != nil {
		return pyStrip(m[1])
	}
	return pyStrip(completion)
}

// HumanEvalProgram assembles the program upstream executes: the prompt's
// imports, the extracted code, the tests and check(entry_point).
func HumanEvalProgram(it *Item, completion string) string {
	return ExtractImports(it.Messages[0].Content) + "\n\n" + ExtractProgram(completion) + "\n\n" + it.Test + "\n" + "check(" + it.Entry + ")"
}

func checkHumanEval(ctx context.Context, env Env, it *Item, completion string) (Verdict, error) {
	if env.Sandbox == nil {
		return Verdict{}, fmt.Errorf("HumanEval: no sandbox to run the program")
	}
	res, err := env.Sandbox.Run(ctx, HumanEvalProgram(it, completion))
	if err != nil {
		return Verdict{}, err
	}
	v := Verdict{Pass: res.Success, Extracted: ExtractProgram(completion)}
	switch {
	case res.Timeout:
		v.Detail = "timeout"
	case !res.Success:
		v.Detail = res.Error
	}
	return v, nil
}
