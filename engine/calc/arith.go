package calc

import (
	"math/big"
	"strconv"
	"strings"
)

// This file parses the arithmetic path: Python 3.11's eval input grammar
// restricted to the characters 0-9 * + - / . ( ) and space (** having been
// rejected before). What is reachable:
//
//	expr    = term { ("+" | "-") term }
//	term    = factor { ("*" | "/" | "//") factor }
//	factor  = ("+" | "-") factor | primary
//	primary = atom { "(" ... ")" }        a call: never callable, TypeError
//	atom    = NUMBER | "..." | "(" ")" | "(" expr ")"
//
// "..." is Ellipsis (str "Ellipsis"), "()" the empty tuple (str "()"). A
// unary or binary "*" in operand position (a starred expression) is always a
// SyntaxError here, and so is a lone ".".

type tokKind uint8

const (
	tEOF tokKind = iota
	tInt
	tFloat
	tPlus
	tMinus
	tStar
	tSlash
	tDSlash
	tLParen
	tRParen
	tDot
	tEllipsis
)

type token struct {
	kind tokKind
	text string // the literal, for tInt and tFloat
}

// lexArith tokenizes like CPython's tokenizer (Parser/tokenizer.c). eval
// strips leading spaces and tabs, and spaces between tokens are ignored, so
// all spaces can be skipped.
func lexArith(s string) ([]token, error) {
	var toks []token
	depth := 0
	isDigit := func(i int) bool { return i < len(s) && s[i] >= '0' && s[i] <= '9' }
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ':
			i++
		case c >= '0' && c <= '9':
			start := i
			float := false
			if c == '0' {
				// Zeros, then optional digits: "0", "00" are ints, "007"
				// is an error unless a fraction follows ("007.5").
				for i < len(s) && s[i] == '0' {
					i++
				}
				nonzero := isDigit(i)
				for isDigit(i) {
					i++
				}
				if i < len(s) && s[i] == '.' {
					float = true
					i++
					for isDigit(i) {
						i++
					}
				} else if nonzero {
					return nil, errSyntax // leading zeros in decimal integer literals
				}
			} else {
				for isDigit(i) {
					i++
				}
				if i < len(s) && s[i] == '.' {
					float = true
					i++
					for isDigit(i) {
						i++
					}
				}
			}
			if float {
				toks = append(toks, token{tFloat, s[start:i]})
			} else {
				toks = append(toks, token{tInt, s[start:i]})
			}
		case c == '.':
			switch {
			case isDigit(i + 1):
				start := i
				i++
				for isDigit(i) {
					i++
				}
				toks = append(toks, token{tFloat, s[start:i]})
			case strings.HasPrefix(s[i:], "..."):
				toks = append(toks, token{kind: tEllipsis})
				i += 3
			default:
				toks = append(toks, token{kind: tDot})
				i++
			}
		case c == '+':
			toks = append(toks, token{kind: tPlus})
			i++
		case c == '-':
			toks = append(toks, token{kind: tMinus})
			i++
		case c == '*':
			toks = append(toks, token{kind: tStar})
			i++
		case c == '/':
			if i+1 < len(s) && s[i+1] == '/' {
				toks = append(toks, token{kind: tDSlash})
				i += 2
			} else {
				toks = append(toks, token{kind: tSlash})
				i++
			}
		case c == '(':
			if depth >= maxParenDepth {
				return nil, errSyntax // too many nested parentheses
			}
			depth++
			toks = append(toks, token{kind: tLParen})
			i++
		case c == ')':
			if depth == 0 {
				return nil, errSyntax // unmatched ')'
			}
			depth--
			toks = append(toks, token{kind: tRParen})
			i++
		default:
			return nil, errSyntax // unreachable after the whitelist
		}
	}
	if depth != 0 {
		return nil, errSyntax // '(' was never closed
	}
	return append(toks, token{kind: tEOF}), nil
}

// node is an expression tree node, built completely before evaluation so
// that, as in Python, a SyntaxError anywhere wins over any runtime error and
// nothing is computed for a malformed expression.
type node struct {
	op    tokKind // tInt, tFloat, tEllipsis, tLParen (empty tuple), or an operator
	unary bool    // op is tPlus/tMinus applied to x alone
	x, y  *node
	val   value // the constant, for literals
}

type arithParser struct {
	toks []token
	pos  int
}

// parseArith returns the tree for the whole input.
func parseArith(s string) (*node, error) {
	toks, err := lexArith(s)
	if err != nil {
		return nil, err
	}
	p := &arithParser{toks: toks}
	n, _, err := p.expr(0, 0)
	if err != nil {
		return nil, err
	}
	if p.peek() != tEOF {
		return nil, errSyntax
	}
	return n, nil
}

func (p *arithParser) peek() tokKind { return p.toks[p.pos].kind }

// expr parses a sum at the given parenthesis nesting and number of
// enclosing unary operators (which together model the parser's stack use),
// returning the node and its depth (the compiler's recursion).
func (p *arithParser) expr(parens, unaries int) (*node, int, error) {
	x, dx, err := p.term(parens, unaries)
	if err != nil {
		return nil, 0, err
	}
	for k := p.peek(); k == tPlus || k == tMinus; k = p.peek() {
		p.pos++
		y, dy, err := p.term(parens, unaries)
		if err != nil {
			return nil, 0, err
		}
		x, dx, err = binary(k, x, dx, y, dy)
		if err != nil {
			return nil, 0, err
		}
	}
	return x, dx, nil
}

func (p *arithParser) term(parens, unaries int) (*node, int, error) {
	x, dx, err := p.factor(parens, unaries)
	if err != nil {
		return nil, 0, err
	}
	for k := p.peek(); k == tStar || k == tSlash || k == tDSlash; k = p.peek() {
		p.pos++
		y, dy, err := p.factor(parens, unaries)
		if err != nil {
			return nil, 0, err
		}
		x, dx, err = binary(k, x, dx, y, dy)
		if err != nil {
			return nil, 0, err
		}
	}
	return x, dx, nil
}

func binary(op tokKind, x *node, dx int, y *node, dy int) (*node, int, error) {
	d := 1 + max(dx, dy)
	if d > maxASTDepth {
		return nil, 0, errLimit // RecursionError during compilation
	}
	return &node{op: op, x: x, y: y}, d, nil
}

// factor handles unary chains iteratively so "------1" costs no Go stack.
func (p *arithParser) factor(parens, unaries int) (*node, int, error) {
	var ops []tokKind
	for k := p.peek(); k == tPlus || k == tMinus; k = p.peek() {
		ops = append(ops, k)
		p.pos++
	}
	x, d, err := p.primary(parens, unaries+len(ops))
	if err != nil {
		return nil, 0, err
	}
	if d+len(ops) > maxASTDepth {
		return nil, 0, errLimit
	}
	for i := len(ops) - 1; i >= 0; i-- {
		x = &node{op: ops[i], unary: true, x: x}
	}
	return x, d + len(ops), nil
}

func (p *arithParser) primary(parens, unaries int) (*node, int, error) {
	x, d, err := p.atom(parens, unaries)
	if err != nil {
		return nil, 0, err
	}
	if p.peek() == tLParen {
		// A call. Nothing reachable is callable, so whether or not the
		// arguments parse, Python fails (TypeError or SyntaxError).
		return nil, 0, errType
	}
	return x, d, nil
}

func (p *arithParser) atom(parens, unaries int) (*node, int, error) {
	level := func(parens int) error {
		if parenLevelCost*parens+unaries > maxParserLevel {
			return errLimit // MemoryError from the parser's stack guard
		}
		return nil
	}
	t := p.toks[p.pos]
	switch t.kind {
	case tInt:
		p.pos++
		if err := level(parens); err != nil {
			return nil, 0, err
		}
		v, err := intLiteral(t.text)
		if err != nil {
			return nil, 0, err
		}
		return &node{op: tInt, val: v}, 1, nil
	case tFloat:
		p.pos++
		if err := level(parens); err != nil {
			return nil, 0, err
		}
		// Python's float literals are correctly rounded like ParseFloat;
		// out-of-range literals become inf (or 0), which ParseFloat also
		// returns, with an ErrRange we do not need.
		f, _ := strconv.ParseFloat(t.text, 64)
		return &node{op: tFloat, val: value{kind: kindFloat, f: f}}, 1, nil
	case tEllipsis:
		p.pos++
		if err := level(parens); err != nil {
			return nil, 0, err
		}
		return &node{op: tEllipsis, val: value{kind: kindEllipsis}}, 1, nil
	case tLParen:
		p.pos++
		if p.peek() == tRParen {
			p.pos++
			if err := level(parens + 1); err != nil {
				return nil, 0, err
			}
			return &node{op: tLParen, val: value{kind: kindTuple}}, 1, nil
		}
		x, d, err := p.expr(parens+1, unaries)
		if err != nil {
			return nil, 0, err
		}
		if p.peek() != tRParen {
			return nil, 0, errSyntax
		}
		p.pos++
		return x, d, nil
	default:
		return nil, 0, errSyntax
	}
}

// intLiteral converts a decimal int literal. CPython 3.11 refuses literals
// of more than 4300 digits (a SyntaxError); all-zero literals like "0000"
// are exempt because the tokenizer's zero handling yields plain 0.
func intLiteral(s string) (value, error) {
	if strings.Trim(s, "0") == "" {
		return value{kind: kindInt, i: new(big.Int)}, nil
	}
	if len(s) > maxIntDigits {
		return value{}, errSyntax
	}
	i, ok := new(big.Int).SetString(s, 10)
	if !ok {
		return value{}, errSyntax
	}
	return value{kind: kindInt, i: i}, nil
}

// evalArith runs the arithmetic path and formats the result like str().
func evalArith(s string) (string, error) {
	n, err := parseArith(s)
	if err != nil {
		return "", err
	}
	v, err := n.eval()
	if err != nil {
		return "", err
	}
	return v.str()
}

func (n *node) eval() (value, error) {
	switch {
	case n.x == nil:
		return n.val, nil
	case n.unary:
		x, err := n.x.eval()
		if err != nil {
			return value{}, err
		}
		return unaryOp(n.op, x)
	}
	x, err := n.x.eval()
	if err != nil {
		return value{}, err
	}
	y, err := n.y.eval()
	if err != nil {
		return value{}, err
	}
	return binaryOp(n.op, x, y)
}
