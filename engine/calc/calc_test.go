package calc

import (
	"encoding/json"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// pyCase is one record of testdata/cases.json, produced by running
// upstream's use_calculator under CPython 3.11 (testdata/gen.py).
type pyCase struct {
	Expr string `json:"expr"`
	OK   bool   `json:"ok"`
	Want string `json:"want"`
	Why  string `json:"why"` // the Python exception, for messages only
}

type pyCases struct {
	Python      string   `json:"python"`
	Cases       []pyCase `json:"cases"`
	Divergences []pyCase `json:"divergences"`
	Repr        []struct {
		Bits string `json:"bits"`
		Want string `json:"want"`
	} `json:"repr"`
}

func loadCases(t testing.TB) *pyCases {
	t.Helper()
	data, err := os.ReadFile("testdata/cases.json")
	if err != nil {
		t.Fatal(err)
	}
	var c pyCases
	if err := json.Unmarshal(data, &c); err != nil {
		t.Fatalf("parse testdata/cases.json: %v", err)
	}
	if len(c.Cases) < 3000 || len(c.Repr) < 3000 {
		t.Fatalf("testdata/cases.json: %d cases, %d repr values; want the full set", len(c.Cases), len(c.Repr))
	}
	return &c
}

// short abbreviates long expressions in failure messages.
func short(s string) string {
	if len(s) <= 120 {
		return strconv.Quote(s)
	}
	return strconv.Quote(s[:60]) + "..." + strconv.Quote(s[len(s)-40:]) + " (" + strconv.Itoa(len(s)) + " bytes)"
}

func TestEvalMatchesPython(t *testing.T) {
	c := loadCases(t)
	for _, tc := range c.Cases {
		got, ok := Eval(tc.Expr)
		if ok != tc.OK || got != tc.Want {
			t.Errorf("Eval(%s) = %q, %v; want %q, %v (CPython %s: %s)",
				short(tc.Expr), got, ok, tc.Want, tc.OK, c.Python, tc.Why)
		}
	}
}

// TestEvalDivergences pins what the package deliberately does not
// evaluate: Python succeeds on these, Eval reports failure.
func TestEvalDivergences(t *testing.T) {
	c := loadCases(t)
	if len(c.Divergences) == 0 {
		t.Fatal("no divergences in testdata/cases.json")
	}
	for _, tc := range c.Divergences {
		if !tc.OK {
			t.Errorf("divergence %s: CPython fails too (%s); move it to the cases", short(tc.Expr), tc.Why)
		}
		if got, ok := Eval(tc.Expr); ok {
			t.Errorf("Eval(%s) = %q, true; want a failure (CPython gives %q)", short(tc.Expr), got, tc.Want)
		}
	}
}

func TestPyRepr(t *testing.T) {
	c := loadCases(t)
	for _, tc := range c.Repr {
		b, err := strconv.ParseUint(tc.Bits, 0, 64)
		if err != nil {
			t.Fatalf("bits %q: %v", tc.Bits, err)
		}
		f := math.Float64frombits(b)
		if got := PyRepr(f); got != tc.Want {
			t.Errorf("PyRepr(%s = %g) = %q; want %q", tc.Bits, f, got, tc.Want)
		}
	}
}

// TestEvalExamples restates the documented behaviour readably; every row is
// also in cases.json with CPython's verdict.
func TestEvalExamples(t *testing.T) {
	tests := []struct {
		expr, want string
		ok         bool
	}{
		{"123,456 * 789", "97406784", true},
		{"(100 - 20) / 4", "20.0", true},
		{"0.1+0.2", "0.30000000000000004", true},
		{"1/10000", "0.0001", true},
		{"1/100000", "1e-05", true},
		{"10000000000000000.0", "1e+16", true},
		{"-7//2", "-4", true},
		{"7.5//2", "3.0", true},
		{"1//0.1", "9.0", true},
		{"0/-5", "-0.0", true},
		{"--3", "3", true},
		{" 1", "1", true},
		{"00", "0", true},
		{"()", "()", true},
		{"...", "Ellipsis", true},
		{"'strawberry'.count('r')", "3", true},
		{"'aaa'.count('')", "4", true},
		{"'ab' 'c'.count('c')", "1", true},
		{"2**3", "", false},
		{"2* *3", "", false},
		{"007", "", false},
		{"2..3", "", false},
		{"(2)(3)", "", false},
		{"1/0", "", false},
		{"", "", false},
		{"'directory'.count('r')", "", false},
		{"x.count('a')", "", false},
	}
	for _, tt := range tests {
		got, ok := Eval(tt.expr)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Eval(%q) = %q, %v; want %q, %v", tt.expr, got, ok, tt.want, tt.ok)
		}
	}
}

// TestEvalComplexityGuard covers the stand-in for upstream's 3 s alarm:
// intermediate ints beyond maxIntBits fail (Python would compute them).
func TestEvalComplexityGuard(t *testing.T) {
	lit := strings.Repeat("9", maxIntDigits)
	n := maxIntBits/14000 + 2 // factors of about 14,284 bits each
	product := strings.TrimSuffix(strings.Repeat(lit+"*", n), "*")
	start := time.Now()
	if got, ok := Eval("(" + product + ")//(" + product + ")"); ok {
		t.Errorf("Eval(huge//huge) = %q, true; want failure from the int size guard", got)
	}
	small := strings.TrimSuffix(strings.Repeat(lit+"*", n/4), "*")
	if got, ok := Eval("(" + small + ")//(" + small + ")"); got != "1" || !ok {
		t.Errorf("Eval(big//big) = %q, %v; want \"1\", true", got, ok)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("guarded evaluation took %v", d)
	}
}

func FuzzEval(f *testing.F) {
	for _, s := range []string{"1+1", "-7//2", "7.5//-2", "0.1*3", "(1)(2)", "()*3", "...",
		"'strawberry'.count('r')", "b'a'.count(b'')", "rb'x'.count(b'x')", "''''''.count('')",
		"1/3", "00.5", "((((1))))", "1,000//7", "2**3", "'a'.count(('a' 'b'))"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		start := time.Now()
		got, ok := Eval(expr)
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("Eval(%s) took %v", short(expr), d)
		}
		if got2, ok2 := Eval(expr); got2 != got || ok2 != ok {
			t.Fatalf("Eval(%s) not deterministic: %q, %v then %q, %v", short(expr), got, ok, got2, ok2)
		}
		if !ok {
			if got != "" {
				t.Fatalf("Eval(%s) = %q, false; want \"\" on failure", short(expr), got)
			}
			return
		}
		if got == "" {
			t.Fatalf("Eval(%s) = \"\", true", short(expr))
		}
		// A float result of the arithmetic path must read back to itself.
		if onlyChars(strings.ReplaceAll(expr, ",", ""), numericChars) && strings.ContainsAny(got, ".en") {
			x, err := strconv.ParseFloat(got, 64)
			if err != nil || PyRepr(x) != got {
				t.Fatalf("Eval(%s) = %q: not a float repr (%v)", short(expr), got, err)
			}
		}
	})
}
