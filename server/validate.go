package server

import (
	"fmt"

	"github.com/nanochat-go/nanochat/llm"
)

// checkRows refuses a request for more samples than a batching model
// decodes at once (n beyond serve --batch): its rows are the memory the
// operator gave the cache, and more samples would have to grow it (or,
// before the engine could, failed with a 500). Other models fork as many
// samples as asked, up to Limits.Samples.
func checkRows(m llm.Model, n int) *apiError {
	b, ok := m.(Batcher)
	if !ok || n <= b.BatchRows() {
		return nil
	}
	rows := b.BatchRows()
	return badRequest("n", "n must be at most %d on this server (it decodes %d rows at once), got %d", rows, rows, n)
}

// upstreamTurns checks that a conversation (upstream allows only user and
// assistant roles) alternates user, assistant, … starting with the user.
func upstreamTurns(msgs []llm.Message) string {
	for i, m := range msgs {
		want := "user"
		if i%2 == 1 {
			want = "assistant"
		}
		if m.Role != want {
			return fmt.Sprintf("Message %d has role '%s' but must be '%s': roles must alternate user and assistant, starting with user", i, m.Role, want)
		}
	}
	return ""
}

// tooDeep reports whether JSON text nests arrays and objects deeper than
// limit (brackets inside strings do not count). It does not validate.
func tooDeep(data []byte, limit int) bool {
	depth, inString := 0, false
	for i := 0; i < len(data); i++ {
		c := data[i]
		switch {
		case inString && c == '\\':
			i++
		case c == '"':
			inString = !inString
		case inString:
		case c == '[' || c == '{':
			if depth++; depth > limit {
				return true
			}
		case c == ']' || c == '}':
			depth--
		}
	}
	return false
}
