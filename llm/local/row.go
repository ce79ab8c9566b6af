package local

import (
	"github.com/nanochat-go/nanochat/engine"
	"github.com/nanochat-go/nanochat/llm"
	"github.com/nanochat-go/nanochat/model/tokenizer"
)

// rowBuilder feeds one row's token stream to an llm.Decoder: ordinary
// tokens as text (whole characters, through the tokenizer's stream
// decoder), special tokens by their literal text, and the engine's word on
// a tool call that gave no output. The row ends at <|assistant_end|> or
// <|bos|>, which are not part of it (end remembers which). With tokens set,
// each token is also sent as an Event.Token before what it produces.
type rowBuilder struct {
	tok    *tokenizer.Tokenizer
	ct     tokenizer.ChatTokens
	dec    *tokenizer.StreamDecoder
	out    *llm.Decoder
	row    int
	on     func(llm.Event)
	tokens bool
	toks   []int
	stop   string
	end    int // the terminal token, -1 until one came
}

func newRowBuilder(t *tokenizer.Tokenizer, row int, on func(llm.Event)) *rowBuilder {
	return &rowBuilder{tok: t, ct: t.ChatTokens(), dec: tokenizer.NewStreamDecoder(t), out: llm.NewDecoder(row, on),
		row: row, on: on, end: -1}
}

func (b *rowBuilder) push(t engine.Token) {
	id := t.ID
	if b.stop != "" {
		return
	}
	if id == b.ct.AssistantEnd || id == b.ct.BOS {
		b.stop, b.end = "stop", id
		return
	}
	if b.tokens && b.on != nil {
		b.on(llm.Event{Row: b.row, Token: string(b.tok.TokenBytes(id))})
	}
	b.toks = append(b.toks, id)
	if !b.tok.IsSpecial(id) {
		b.out.Text(b.dec.Push(id))
		return
	}
	b.out.Text(b.dec.Flush())
	b.out.Special(string(b.tok.TokenBytes(id)))
	if t.Tool != nil && !t.Tool.OK {
		b.out.NoOutput()
	}
}

func (b *rowBuilder) finish() llm.Row {
	b.out.Text(b.dec.Flush())
	row := b.out.Finish()
	row.Raw, row.Tokens, row.Finish = b.tok.Decode(b.toks), b.toks, b.stop
	return row
}
