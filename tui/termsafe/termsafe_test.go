package termsafe

import (
	"strings"
	"testing"
)

func TestHostileString(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"plain text\n\twith tab", "plain text\n\twith tab"},
		{"héllo 世界 🙂", "héllo 世界 🙂"},
		{"\x1b]2;pwned\x07title", "^[]2;pwned^Gtitle"},
		{"wipe\x1b[2J\x1b[H", "wipe^[[2J^[[H"},
		{"red \x1b[31mtext\x1b[0m", "red ^[[31mtext^[[0m"},
		{"v\vf\fb\bnul\x00del\x7f", "v^Kf^Lb^Hnul^@del^?"},
		{"crlf\r\nline", "crlf\nline"},
		{"over\rwrite", "over^Mwrite"},
		{"c1 \u009b2J", "c1 <U+009B>2J"},
		{"bad \xff\xfe utf8", "bad \uFFFD\uFFFD utf8"},
	} {
		if got := String(tt.in); got != tt.want {
			t.Errorf("String(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestHostileStyled(t *testing.T) {
	in := "\x1b[1;38;5;12mbold\x1b[0m \x1b]2;t\x07 \x1b[2J \x1b[31"
	want := "\x1b[1;38;5;12mbold\x1b[0m ^[]2;t^G ^[[2J ^[[31"
	if got := Styled(in); got != want {
		t.Errorf("Styled(%q) = %q, want %q", in, got, want)
	}
}

func TestHostileWriter(t *testing.T) {
	// The whole, cut anywhere into writes, comes out as String of the whole.
	whole := "a\r\nb é\x1b[2J 世界\r"
	for cut := 0; cut <= len(whole); cut++ {
		var b strings.Builder
		w := NewWriter(&b)
		w.Write([]byte(whole[:cut]))
		w.Write([]byte(whole[cut:]))
		w.Flush()
		if got, want := b.String(), String(whole); got != want {
			t.Errorf("cut at %d: got %q, want %q", cut, got, want)
		}
	}
}

func BenchmarkStringClean(b *testing.B) {
	s := strings.Repeat("The quick brown fox jumps over the lazy dog. ", 100)
	for b.Loop() {
		String(s)
	}
}
