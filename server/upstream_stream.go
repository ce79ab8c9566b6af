package server

import (
	"strings"

	"github.com/nanochat-go/nanochat/model/tokenizer"
)

// upstreamText is chat_web.py's generate_stream text logic, which decides
// what each token event carries: every generated token (special tokens by
// their literal text, the terminal one excluded) is appended to the reply,
// the reply is decoded as nanochat's tokenizer.decode does (UTF-8 with
// errors="replace", tokenizer.DecodeUTF8), and when that text does not end with U+FFFD the part
// after the last text sent is the next event. So a character split across
// tokens goes out whole with the token that completes it, a calculator
// call goes out token by token, and an incomplete character at the end of
// the reply is never sent.
//
// Upstream decodes the whole reply for every token; text sent is always
// followed by a complete character, so decoding only the bytes since then
// gives the same text.
type upstreamText struct {
	pending []byte // the reply's bytes after the last text sent
}

// push adds one token's bytes and returns the text to send ("" for none).
func (u *upstreamText) push(tok string) string {
	u.pending = append(u.pending, tok...)
	text := tokenizer.DecodeUTF8(u.pending)
	if text == "" || strings.HasSuffix(text, "\uFFFD") {
		return ""
	}
	u.pending = u.pending[:0]
	return text
}
