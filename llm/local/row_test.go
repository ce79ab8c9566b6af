package local

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/nanochat-go/nanochat/engine"
	"github.com/nanochat-go/nanochat/llm"
	"github.com/nanochat-go/nanochat/model/tokenizer"
)

// TestRowBuilder feeds a scripted token stream (as the engine emits it)
// and checks the row, the events, and that the row's raw text decodes to
// the same text and parts.
func TestRowBuilder(t *testing.T) {
	tok, err := tokenizer.Load(filepath.Join(demoHome, "tokenizer", "tokenizer.pkl"))
	if err != nil {
		t.Fatal(err)
	}
	ct := tok.ChatTokens()
	enc := func(s string) []engine.Token {
		var out []engine.Token
		for _, id := range tok.Encode(s) {
			out = append(out, engine.Token{ID: id})
		}
		return out
	}
	id := func(id int) []engine.Token { return []engine.Token{{ID: id}} }
	forced := func(ts []engine.Token) []engine.Token {
		for i := range ts {
			ts[i].Forced = true
		}
		return ts
	}
	cat := func(parts ...[]engine.Token) []engine.Token {
		var out []engine.Token
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	outcome := func(expr string, result string, ok bool) []engine.Token {
		o := &engine.ToolOutcome{Expr: tok.Encode(expr), OK: ok}
		if ok {
			o.Result = tok.Encode(result)
		}
		return []engine.Token{{ID: ct.PythonEnd, Tool: o}}
	}
	stream := cat(
		enc("Héllo, 7*11 = "),
		id(ct.PythonStart), enc("7*11"), outcome("7*11", "77", true),
		forced(cat(id(ct.OutputStart), enc("77"), id(ct.OutputEnd))),
		enc(" and"), id(ct.UserStart), enc(" 1/0 "), // a stray special token is not shown
		id(ct.PythonStart), enc("1/0"), outcome("1/0", "", false),
		enc("fails. 😀"),
		id(ct.AssistantEnd), enc("after the end"),
	)
	var evs []llm.Event
	b := newRowBuilder(tok, 2, func(e llm.Event) {
		if e.Row != 2 {
			t.Errorf("event row %d, want 2", e.Row)
		}
		evs = append(evs, e)
	})
	for _, tk := range stream {
		b.push(tk)
	}
	row := b.finish()

	wantText := "Héllo, 7*11 =  and 1/0 fails. 😀"
	wantParts := []llm.Part{
		{Type: "text", Text: "Héllo, 7*11 = "}, {Type: "python", Text: "7*11"}, {Type: "python_output", Text: "77"},
		{Type: "text", Text: " and 1/0 "}, {Type: "python", Text: "1/0"}, {Type: "text", Text: "fails. 😀"},
	}
	if row.Text != wantText || row.Finish != "stop" || !reflect.DeepEqual(row.Parts, wantParts) {
		t.Fatalf("row %q (%s) %+v\nwant %q (stop) %+v", row.Text, row.Finish, row.Parts, wantText, wantParts)
	}
	wantRaw := "Héllo, 7*11 = <|python_start|>7*11<|python_end|><|output_start|>77<|output_end|> and<|user_start|> 1/0 <|python_start|>1/0<|python_end|>fails. 😀"
	if row.Raw != wantRaw || len(row.Tokens) != len(stream)-1-len(enc("after the end")) {
		t.Errorf("raw %q (%d tokens)\nwant %q", row.Raw, len(row.Tokens), wantRaw)
	}
	var streamed strings.Builder
	var tools []llm.ToolCall
	for _, e := range evs {
		streamed.WriteString(e.Text)
		if e.Tool != nil {
			tools = append(tools, *e.Tool)
		}
	}
	wantTools := []llm.ToolCall{{Expr: "7*11", Result: "77", OK: true}, {Expr: "1/0"}}
	if streamed.String() != wantText || !reflect.DeepEqual(tools, wantTools) {
		t.Errorf("streamed %q, tools %+v\nwant %q, %+v", streamed.String(), tools, wantText, wantTools)
	}
	if text, parts := llm.ParseRaw(row.Raw); text != row.Text || !reflect.DeepEqual(parts, row.Parts) {
		t.Errorf("ParseRaw(row.Raw) = %q %+v, want the row's text and parts", text, parts)
	}
}
