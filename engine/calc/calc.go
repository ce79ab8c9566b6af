// Package calc is nanochat's calculator tool: it reproduces upstream's
// use_calculator (nanochat/engine.py) and Python's str() of its result,
// evaluating only integer/float arithmetic and str.count, never running code.
//
// Upstream passes the model's text to Python's eval with empty builtins once
// a character whitelist and a few substring checks pass. This package
// implements the part of Python that can be reached through those checks: a
// tokenizer and recursive-descent parser for the CPython 3.11 expression
// grammar over the allowed characters, Python's int (arbitrary precision),
// float and tuple arithmetic, and string literals with .count. Every Python
// exception, which upstream swallows into None, becomes ok == false.
//
// Python behaviour reproduced on purpose, however odd:
//   - commas are deleted first: "1,000" is 1000 and "(1,2)" is 12;
//   - "" and "   " reach eval (all() of nothing is true) and fail;
//   - "**" is refused as text, so "2* *3" reaches eval (a SyntaxError);
//   - "()" is the empty tuple, printed "()", and ()*3, ()+() are () while
//     ()*2**63 overflows; "..." is Ellipsis, printed "Ellipsis";
//   - "00" is 0 but "007" is a SyntaxError, "007.5" is 7.5;
//   - 0/-5 is -0.0; 1//0.1 is 9.0; float literals too large are inf, and
//     inf-inf prints "nan";
//   - ints over 4300 digits: a literal is a SyntaxError, a result makes
//     str() raise (upstream would crash the generation there);
//   - the blacklist is matched inside string literals too, so
//     'directory'.count('r') fails ("dir"), and an expression whose value
//     is None (None if 'a'.count('a') else 1) is indistinguishable from an
//     error;
//   - a string literal containing ".count(" passes the gate and evaluates to
//     itself: 'x.count(y)' gives "x.count(y)".
//
// Where Python would succeed through constructs this package deliberately
// does not run (keywords such as not/if/is, other methods, exotic numeric
// literals in the string path, bound-method reprs that print memory
// addresses), Eval reports ok == false; testdata/cases.json lists them.
package calc

import (
	"errors"
	"strings"
)

// Limits that reproduce CPython 3.11's compile-time failures, and the guard
// that stands in for upstream's 3 s SIGALRM timeout.
const (
	// maxParenDepth is the tokenizer's MAXLEVEL: the 201st unclosed bracket
	// is "SyntaxError: too many nested parentheses".
	maxParenDepth = 200
	// maxParserLevel bounds the PEG parser's stack (MAXSTACK 6000 in 3.11,
	// MemoryError beyond). Measured: an atom under p parentheses and u unary
	// operators parses iff 28*p + u <= 5975.
	maxParserLevel = 5975
	parenLevelCost = 28
	// maxASTDepth is the longest chain of expression nodes (BinOp, UnaryOp,
	// Constant, ...) the 3.11 compiler accepts before "RecursionError:
	// maximum recursion depth exceeded during compilation". CPython's limit
	// is 3 × (1000 − the Python frames active at the eval call); 2985 is the
	// value with 5 frames (a module calling a function that calls
	// use_calculator, as testdata/gen.py does). Upstream's exact value
	// depends on its caller's stack and lies within a few nodes of this.
	maxASTDepth = 2985
	// maxIntDigits is sys.get_int_max_str_digits(): longer int literals are
	// a SyntaxError, and str() of a longer int result raises ValueError (in
	// upstream's engine, outside use_calculator's try, where it would abort
	// generation; here it is ok == false).
	maxIntDigits = 4300
	// maxIntBits is the complexity guard replacing the 3 s alarm: any
	// intermediate int wider than this (about 315,000 decimal digits) makes
	// Eval fail. Without ** an int can only grow by as many digits as the
	// expression has characters, so only inputs of hundreds of kilobytes
	// can reach it.
	maxIntBits = 1 << 20
)

// Internal failure causes. Callers only see ok == false; the distinct values
// make the tests and debugging readable.
var (
	errSyntax   = errors.New("syntax error")
	errType     = errors.New("type error")
	errZeroDiv  = errors.New("division by zero")
	errOverflow = errors.New("overflow")
	errAttr     = errors.New("attribute error")
	errLimit    = errors.New("complexity limit exceeded")
	errUnsup    = errors.New("construct not supported")
)

// Eval mirrors upstream use_calculator(expr): it returns Python's
// str(result) and true, or "" and false where upstream returns None (or
// where str(result) itself would raise).
func Eval(expr string) (string, bool) {
	s, err := eval(expr)
	if err != nil {
		return "", false
	}
	return s, true
}

// dangerous is upstream's blacklist, matched against the lowercased
// expression including the contents of string literals, so that
// 'directory'.count('r') is rejected ("dir").
var dangerous = []string{"__", "import", "exec", "eval", "compile", "open", "file",
	"input", "raw_input", "globals", "locals", "vars", "dir",
	"getattr", "setattr", "delattr", "hasattr"}

const (
	numericChars = "0123456789*+-/.() "
	stringChars  = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'\"()._ "
)

func eval(expr string) (string, error) {
	// 1. Commas go first, so "1,000" is 1000 and "(1,2)" is 12.
	expr = strings.ReplaceAll(expr, ",", "")

	// 2. The arithmetic path. Upstream tests the whitelist with all(), so
	// the empty string (and a string of spaces) lands here and fails as a
	// SyntaxError. The ** check is on the raw text: "2* *3" passes it and
	// then fails to parse.
	if onlyChars(expr, numericChars) {
		if strings.Contains(expr, "**") {
			return "", errUnsup
		}
		return evalArith(expr)
	}

	// 3. The string path.
	if !onlyChars(expr, stringChars) {
		return "", errUnsup
	}
	lower := strings.ToLower(expr)
	for _, p := range dangerous {
		if strings.Contains(lower, p) {
			return "", errUnsup
		}
	}
	if !strings.Contains(expr, ".count(") {
		return "", errUnsup
	}
	return evalCount(expr)
}

func onlyChars(s, set string) bool {
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(set, s[i]) < 0 {
			return false
		}
	}
	return true
}
