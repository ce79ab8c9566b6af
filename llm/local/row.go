package local

import (
	"strings"

	"github.com/nanochat-go/nanochat/engine/calc"
	"github.com/nanochat-go/nanochat/llm"
	"github.com/nanochat-go/nanochat/model/tokenizer"
)

// rowBuilder turns one row's token stream into visible text, structured
// parts and tool-call events.
type rowBuilder struct {
	tok  *tokenizer.Tokenizer
	ct   tokenizer.ChatTokens
	row  int
	on   func(llm.Event)
	dec  *tokenizer.StreamDecoder
	mode int // 0 text, 1 python, 2 output

	text  strings.Builder // visible text
	part  strings.Builder // current text part
	parts []llm.Part
	span  []int // tokens of the current python / output span
	expr  string
	toks  []int
	stop  string
}

func newRowBuilder(t *tokenizer.Tokenizer, row int, on func(llm.Event)) *rowBuilder {
	return &rowBuilder{tok: t, ct: t.ChatTokens(), row: row, on: on, dec: tokenizer.NewStreamDecoder(t)}
}

func (b *rowBuilder) emit(e llm.Event) {
	if b.on != nil {
		e.Row = b.row
		b.on(e)
	}
}

func (b *rowBuilder) flushText() {
	if s := b.dec.Flush(); s != "" {
		b.text.WriteString(s)
		b.part.WriteString(s)
		b.emit(llm.Event{Text: s})
	}
	if b.part.Len() > 0 {
		b.parts = append(b.parts, llm.Part{Type: "text", Text: b.part.String()})
		b.part.Reset()
	}
}

func (b *rowBuilder) push(id int) {
	if b.stop != "" {
		return
	}
	ct := b.ct
	if id == ct.AssistantEnd || id == ct.BOS {
		b.stop = "stop"
		return
	}
	b.toks = append(b.toks, id)
	switch {
	case id == ct.PythonStart:
		b.flushText()
		b.mode, b.span = 1, b.span[:0]
	case id == ct.PythonEnd && b.mode == 1:
		b.expr = b.tok.Decode(b.span)
		b.parts = append(b.parts, llm.Part{Type: "python", Text: b.expr})
		b.mode = 0
		if _, ok := calc.Eval(b.expr); !ok {
			b.emit(llm.Event{Tool: &llm.ToolCall{Expr: b.expr}})
		}
	case id == ct.OutputStart:
		b.flushText()
		b.mode, b.span = 2, b.span[:0]
	case id == ct.OutputEnd && b.mode == 2:
		res := b.tok.Decode(b.span)
		b.parts = append(b.parts, llm.Part{Type: "python_output", Text: res})
		b.emit(llm.Event{Tool: &llm.ToolCall{Expr: b.expr, Result: res, OK: true}})
		b.mode = 0
	case b.mode != 0:
		b.span = append(b.span, id)
	case b.tok.IsSpecial(id):
		// Stray special tokens (e.g. <|user_start|>) are not shown.
	default:
		if s := b.dec.Push(id); s != "" {
			b.text.WriteString(s)
			b.part.WriteString(s)
			b.emit(llm.Event{Text: s})
		}
	}
}

func (b *rowBuilder) finish() llm.Row {
	if b.mode == 0 {
		b.flushText()
	}
	return llm.Row{Text: b.text.String(), Parts: b.parts, Raw: b.tok.Decode(b.toks), Tokens: b.toks, Finish: b.stop}
}
