package llm

import "strings"

// The calculator grammar of a nanochat reply. A model writes a tool call as
//
//	text <|python_start|>expr<|python_end|><|output_start|>result<|output_end|> text
//
// where the output span is the tool's answer (forced by the engine, absent
// when the tool gave none). This file is the one place that reads that
// grammar back into parts and tool calls (Decoder, ParseRaw, Replay) and
// writes it out as raw text (FormatRaw); the engine's tool state machine and
// the tokenizer's rendering of parts into ids are its token-level twins.

// Part types of an assistant message.
const (
	PartText         = "text"          // what a reader sees
	PartPython       = "python"        // a calculator expression
	PartPythonOutput = "python_output" // the calculator's answer to the python part before it
)

// Literal text of nanochat's tool tokens.
const (
	pythonStart = "<|python_start|>"
	pythonEnd   = "<|python_end|>"
	outputStart = "<|output_start|>"
	outputEnd   = "<|output_end|>"
)

// specials are all nanochat's special tokens as literal text: Decoder.Raw
// recognises them. Only the tool tokens shape a reply; the others are
// never shown (inside a tool span they are kept literally, as the engine
// keeps their ids in a tool call's expression).
var specials = [...]string{
	"<|bos|>", "<|user_start|>", "<|user_end|>", "<|assistant_start|>", "<|assistant_end|>",
	pythonStart, pythonEnd, outputStart, outputEnd,
}

// spanKind is where the Decoder is in the grammar.
type spanKind int

const (
	inText   spanKind = iota
	inPython          // between <|python_start|> and <|python_end|>
	inOutput          // between <|output_start|> and <|output_end|>
)

// Decoder assembles one row of a reply from what a model produces, and is
// the only reader of the calculator grammar: the local model feeds it
// decoded text and its special tokens, a remote model raw text with the
// special tokens written literally (or whole tool calls, from a nanochat
// server), the TUI the events it was streamed.
//
// Input, in order, through any mix of:
//   - Text: decoded text, taken literally (no special tokens recognised);
//   - Special: one special token, by its literal text ("<|python_start|>");
//   - NoOutput: the tool call just closed gave no output (the engine knows
//     at once; otherwise a call is known to have none when anything but an
//     output span follows it);
//   - Raw: text in which nanochat's special tokens appear literally, as in
//     Row.Raw; a token may be split across calls (its start is held back
//     until the next call or Finish shows whether it completes);
//   - Tool and Event: a whole tool call, or a streamed Event.
//
// Output: the visible text (text outside tool spans), the parts (text,
// python, python_output; adjacent text merged, no empty text parts), the
// raw text (everything fed, special tokens literal), and events passed to
// on as soon as they are known: each piece of visible text, and a ToolCall
// per python span, when its output span ends (OK, with the result) or when
// it is known to have none (not OK). The events replay the parts: Replay
// of Finish's parts gives the same calls and, concatenated, the same text.
//
// The grammar is read as the engine reads tokens: inside a python span
// <|python_start|> starts the expression afresh and every other token is
// part of it; inside an output span only <|output_end|> ends it, and
// <|python_start|> starts a new call. Outside spans, a stray end token and
// the non-tool special tokens are dropped, and an output span with no call
// before it gives a python_output part but no event. At Finish, a span still
// open is closed as if its end token had come.
//
// A Decoder is not safe for concurrent use.
type Decoder struct {
	row int
	on  func(Event)

	mode    spanKind
	span    strings.Builder // the open python or output span
	part    strings.Builder // the open text part
	parts   []Part
	visible strings.Builder
	raw     strings.Builder
	hold    string    // raw text that may be the start of a special token
	pending *ToolCall // a closed python span whose outcome is not known yet
}

// NewDecoder returns a Decoder for reply row row; on (may be nil) receives
// its events, with Row set.
func NewDecoder(row int, on func(Event)) *Decoder {
	return &Decoder{row: row, on: on}
}

// Text feeds decoded text, taken literally.
func (d *Decoder) Text(s string) {
	d.release()
	d.raw.WriteString(s)
	d.text(s)
}

// Special feeds one special token by its literal text, e.g.
// "<|python_end|>".
func (d *Decoder) Special(tok string) {
	d.release()
	d.raw.WriteString(tok)
	d.special(tok)
}

// NoOutput reports that the tool call just closed gave no output, so it is
// reported now rather than when the next input shows it.
func (d *Decoder) NoOutput() {
	d.release()
	d.settle()
}

// Raw feeds text in which special tokens are written literally.
func (d *Decoder) Raw(s string) {
	d.raw.WriteString(s)
	s, d.hold = d.hold+s, ""
	start := 0 // s[start:i] is text not fed yet
	for i := 0; i < len(s); {
		k := strings.IndexByte(s[i:], '<')
		if k < 0 {
			break
		}
		i += k
		rest := s[i:]
		if tok := specialAt(rest); tok != "" {
			d.text(s[start:i])
			d.special(tok)
			i += len(tok)
			start = i
			continue
		}
		if startsSpecial(rest) {
			d.text(s[start:i])
			d.hold = rest
			return
		}
		i++
	}
	d.text(s[start:])
}

// Tool feeds a whole tool call (the python span, then the output span when
// OK).
func (d *Decoder) Tool(tc ToolCall) {
	for _, p := range tc.Parts() {
		open, end := pythonStart, pythonEnd
		if p.Type == PartPythonOutput {
			open, end = outputStart, outputEnd
		}
		d.Special(open)
		d.Text(p.Text)
		d.Special(end)
	}
	if !tc.OK {
		d.NoOutput()
	}
}

// Event feeds a streamed event: its tool call, then its text.
func (d *Decoder) Event(e Event) {
	if e.Tool != nil {
		d.Tool(*e.Tool)
	}
	d.Text(e.Text)
}

// Row returns the row so far: Text, Parts and Raw (Tokens and Finish are
// the caller's). An open tool span and held-back raw text are left out of
// Text and Parts until they end; the parts are a copy.
func (d *Decoder) Row() Row {
	parts := append([]Part(nil), d.parts...)
	if d.part.Len() > 0 {
		parts = append(parts, Part{Type: PartText, Text: d.part.String()})
	}
	return Row{Text: d.visible.String(), Parts: parts, Raw: d.raw.String()}
}

// Finish ends the input: held-back raw text is fed as text, an open span is
// closed, a call still waiting for its output is reported without one, and
// the row is returned as by Row.
func (d *Decoder) Finish() Row {
	d.release()
	switch d.mode {
	case inPython:
		d.special(pythonEnd)
	case inOutput:
		d.special(outputEnd)
	}
	d.settle()
	return d.Row()
}

// release feeds held-back raw text, which the next input shows is not a
// special token's start, as text.
func (d *Decoder) release() {
	if h := d.hold; h != "" {
		d.hold = ""
		d.text(h)
	}
}

func (d *Decoder) emit(e Event) {
	if d.on != nil {
		e.Row = d.row
		d.on(e)
	}
}

func (d *Decoder) text(s string) {
	switch {
	case s == "":
	case d.mode != inText:
		d.span.WriteString(s)
	default:
		d.settle()
		d.visible.WriteString(s)
		d.part.WriteString(s)
		d.emit(Event{Text: s})
	}
}

func (d *Decoder) special(tok string) {
	switch {
	case tok == pythonStart:
		switch d.mode {
		case inText:
			d.settle()
			d.closeText()
		case inOutput:
			d.closeOutput()
		}
		d.mode = inPython
		d.span.Reset()
	case tok == pythonEnd && d.mode == inPython:
		d.pending = &ToolCall{Expr: d.span.String()}
		d.parts = append(d.parts, Part{Type: PartPython, Text: d.pending.Expr})
		d.mode = inText
		d.span.Reset()
	case tok == outputStart && d.mode == inText:
		d.closeText() // a pending call waits: this is its output
		d.mode = inOutput
		d.span.Reset()
	case tok == outputEnd && d.mode == inOutput:
		d.closeOutput()
	case d.mode != inText:
		d.span.WriteString(tok)
	}
}

// settle reports a pending call as having no output.
func (d *Decoder) settle() {
	if p := d.pending; p != nil {
		d.pending = nil
		d.emit(Event{Tool: p})
	}
}

func (d *Decoder) closeText() {
	if d.part.Len() > 0 {
		d.parts = append(d.parts, Part{Type: PartText, Text: d.part.String()})
		d.part.Reset()
	}
}

func (d *Decoder) closeOutput() {
	res := d.span.String()
	d.parts = append(d.parts, Part{Type: PartPythonOutput, Text: res})
	d.mode = inText
	d.span.Reset()
	if p := d.pending; p != nil {
		d.pending = nil
		p.Result, p.OK = res, true
		d.emit(Event{Tool: p})
	}
}

// specialAt returns the special token s starts with, or "".
func specialAt(s string) string {
	for _, tok := range specials {
		if strings.HasPrefix(s, tok) {
			return tok
		}
	}
	return ""
}

// startsSpecial reports whether s is a proper prefix of a special token.
func startsSpecial(s string) bool {
	for _, tok := range specials {
		if len(s) < len(tok) && strings.HasPrefix(tok, s) {
			return true
		}
	}
	return false
}

// ParseRaw splits raw text (special tokens written literally, as in
// Row.Raw) into the visible text and the parts, as a Decoder fed it whole;
// a stored completion can so be continued as a conversation.
func ParseRaw(raw string) (text string, parts []Part) {
	d := NewDecoder(0, nil)
	d.Raw(raw)
	r := d.Finish()
	return r.Text, r.Parts
}

// FormatRaw writes parts as raw text, tool spans with their special tokens
// literal: ParseRaw's inverse for parts a Decoder produced.
func FormatRaw(parts []Part) string {
	var b strings.Builder
	for _, p := range parts {
		switch p.Type {
		case PartPython:
			b.WriteString(pythonStart + p.Text + pythonEnd)
		case PartPythonOutput:
			b.WriteString(outputStart + p.Text + outputEnd)
		default:
			b.WriteString(p.Text)
		}
	}
	return b.String()
}

// Parts returns the call as parts: python, then python_output when OK.
func (t ToolCall) Parts() []Part {
	if !t.OK {
		return []Part{{Type: PartPython, Text: t.Expr}}
	}
	return []Part{{Type: PartPython, Text: t.Expr}, {Type: PartPythonOutput, Text: t.Result}}
}

// Replay returns the events that stream parts: each non-empty text part as
// text, each python part as a ToolCall (with the python_output part right
// after it, if any, as its result). A python_output part with no python
// part before it has no call to belong to and is skipped.
func Replay(parts []Part) []Event {
	var out []Event
	for i := 0; i < len(parts); i++ {
		switch p := parts[i]; p.Type {
		case PartText:
			if p.Text != "" {
				out = append(out, Event{Text: p.Text})
			}
		case PartPython:
			tc := &ToolCall{Expr: p.Text}
			if i+1 < len(parts) && parts[i+1].Type == PartPythonOutput {
				tc.Result, tc.OK = parts[i+1].Text, true
				i++
			}
			out = append(out, Event{Tool: tc})
		}
	}
	return out
}
