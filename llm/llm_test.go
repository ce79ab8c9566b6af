package llm

import (
	"reflect"
	"testing"
)

func TestParseRaw(t *testing.T) {
	text, parts := ParseRaw("There are 7*11 = <|python_start|>7*11<|python_end|><|output_start|>77<|output_end|>77 buttons.\n#### 77")
	if text != "There are 7*11 = 77 buttons.\n#### 77" {
		t.Fatalf("text %q", text)
	}
	want := []Part{{"text", "There are 7*11 = "}, {"python", "7*11"}, {"python_output", "77"}, {"text", "77 buttons.\n#### 77"}}
	if !reflect.DeepEqual(parts, want) {
		t.Fatalf("parts %+v, want %+v", parts, want)
	}
	if text, parts := ParseRaw("plain"); text != "plain" || len(parts) != 1 {
		t.Fatalf("plain: %q %+v", text, parts)
	}
	if _, parts := ParseRaw("a <|python_start|>1+"); len(parts) != 2 || parts[1] != (Part{"python", "1+"}) {
		t.Fatalf("unterminated: %+v", parts)
	}
}
