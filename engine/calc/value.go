package calc

import (
	"math"
	"math/big"
)

// This file holds Python's object semantics for the values the arithmetic
// path can produce: int, float, the empty tuple and Ellipsis.

type valueKind uint8

const (
	kindInt valueKind = iota
	kindFloat
	kindTuple    // always the empty tuple: commas are removed before eval
	kindEllipsis // ...
)

type value struct {
	kind valueKind
	i    *big.Int // kindInt; never mutated once built
	f    float64  // kindFloat
}

// str is Python's str() of v. Ints longer than 4300 digits make str()
// raise ValueError in CPython 3.11.
func (v value) str() (string, error) {
	switch v.kind {
	case kindInt:
		// 10^4300 is the smallest 4301-digit number and has 14285 bits.
		if v.i.BitLen() > 14285 {
			return "", errLimit
		}
		s := v.i.String()
		digits := len(s)
		if v.i.Sign() < 0 {
			digits--
		}
		if digits > maxIntDigits {
			return "", errLimit
		}
		return s, nil
	case kindFloat:
		return PyRepr(v.f), nil
	case kindTuple:
		return "()", nil
	default:
		return "Ellipsis", nil
	}
}

func intValue(i *big.Int) (value, error) {
	if i.BitLen() > maxIntBits {
		return value{}, errLimit
	}
	return value{kind: kindInt, i: i}, nil
}

func floatValue(f float64) value { return value{kind: kindFloat, f: f} }

func unaryOp(op tokKind, x value) (value, error) {
	switch x.kind {
	case kindInt:
		if op == tMinus {
			return value{kind: kindInt, i: new(big.Int).Neg(x.i)}, nil
		}
		return x, nil
	case kindFloat:
		if op == tMinus {
			return floatValue(-x.f), nil
		}
		return x, nil
	default:
		return value{}, errType // bad operand type for unary -/+
	}
}

func binaryOp(op tokKind, x, y value) (value, error) {
	switch {
	case x.kind == kindInt && y.kind == kindInt:
		return intOp(op, x.i, y.i)
	case isNumber(x) && isNumber(y):
		a, err := toFloat(x)
		if err != nil {
			return value{}, err
		}
		b, err := toFloat(y)
		if err != nil {
			return value{}, err
		}
		return floatOp(op, a, b)
	case x.kind == kindTuple && y.kind == kindTuple && op == tPlus:
		return x, nil // () + () == ()
	case op == tStar && x.kind == kindTuple && y.kind == kindInt:
		return tupleRepeat(x, y.i)
	case op == tStar && x.kind == kindInt && y.kind == kindTuple:
		return tupleRepeat(y, x.i)
	default:
		return value{}, errType // unsupported operand type(s)
	}
}

func isNumber(v value) bool { return v.kind == kindInt || v.kind == kindFloat }

// tupleRepeat is () * n. The result is always (), but CPython first turns n
// into a Py_ssize_t and raises OverflowError ("cannot fit 'int' into an
// index-sized integer") when it does not fit in 64 bits.
func tupleRepeat(t value, n *big.Int) (value, error) {
	if !n.IsInt64() {
		return value{}, errOverflow
	}
	return t, nil
}

// toFloat converts like PyLong_AsDouble: round half to even, OverflowError
// ("int too large to convert to float") when the rounded value is infinite.
func toFloat(v value) (float64, error) {
	if v.kind == kindFloat {
		return v.f, nil
	}
	f, _ := new(big.Float).SetInt(v.i).Float64()
	if math.IsInf(f, 0) {
		return 0, errOverflow
	}
	return f, nil
}

func intOp(op tokKind, a, b *big.Int) (value, error) {
	switch op {
	case tPlus:
		return intValue(new(big.Int).Add(a, b))
	case tMinus:
		return intValue(new(big.Int).Sub(a, b))
	case tStar:
		if a.BitLen()+b.BitLen() > maxIntBits+1 {
			return value{}, errLimit
		}
		return intValue(new(big.Int).Mul(a, b))
	case tDSlash:
		if b.Sign() == 0 {
			return value{}, errZeroDiv
		}
		// Python floors toward -inf; QuoRem truncates toward zero.
		q, r := new(big.Int).QuoRem(a, b, new(big.Int))
		if r.Sign() != 0 && (r.Sign() < 0) != (b.Sign() < 0) {
			q.Sub(q, big.NewInt(1))
		}
		return intValue(q)
	case tSlash:
		if b.Sign() == 0 {
			return value{}, errZeroDiv
		}
		f, err := trueDivide(a, b)
		if err != nil {
			return value{}, err
		}
		return floatValue(f), nil
	}
	return value{}, errSyntax
}

// trueDivide is CPython's long_true_divide: a/b correctly rounded (half to
// even) to a float64, subnormals included, OverflowError ("integer division
// result too large for a float") when the rounded result is infinite. A zero
// result carries the sign of the true quotient (0/-5 == -0.0).
func trueDivide(a, b *big.Int) (float64, error) {
	neg := (a.Sign() < 0) != (b.Sign() < 0)
	na := new(big.Int).Abs(a)
	nb := new(big.Int).Abs(b)
	if na.Sign() == 0 {
		return signed(0, neg), nil
	}
	// Scale so that the integer quotient q has at least 55 bits: two more
	// than a double's 53, with the remainder as a sticky bit, is enough to
	// round correctly. value = (q + sticky) × 2^-shift.
	shift := 55 - (na.BitLen() - nb.BitLen())
	if shift > 0 {
		na.Lsh(na, uint(shift))
	} else if shift < 0 {
		nb.Lsh(nb, uint(-shift))
	}
	q, r := na.QuoRem(na, nb, new(big.Int))
	sticky := r.Sign() != 0

	// The value lies in [2^e, 2^(e+1)). Normal doubles keep 53 bits; below
	// 2^-1022 a double keeps only the bits down to 2^-1074.
	qbits := q.BitLen()
	e := qbits - 1 - shift
	keep := 53
	if e < -1022 {
		keep = e + 1075
	}
	if keep < 0 {
		return signed(0, neg), nil // below half the smallest subnormal
	}
	drop := qbits - keep // >= 2, as qbits >= 55
	m := new(big.Int).Rsh(q, uint(drop))
	// rem = q mod 2^drop compared against half = 2^(drop-1).
	rem := new(big.Int).Sub(q, new(big.Int).Lsh(m, uint(drop)))
	half := new(big.Int).Lsh(big.NewInt(1), uint(drop-1))
	switch c := rem.Cmp(half); {
	case c > 0, c == 0 && (sticky || m.Bit(0) == 1):
		m.Add(m, big.NewInt(1))
	}
	f := math.Ldexp(float64(m.Uint64()), drop-shift)
	if math.IsInf(f, 0) {
		return 0, errOverflow
	}
	return signed(f, neg), nil
}

func signed(f float64, neg bool) float64 {
	if neg {
		return -f
	}
	return f
}

// floatOp is float arithmetic as CPython's floatobject.c does it: IEEE
// results (overflow gives inf, no exception) except that a zero divisor
// raises ZeroDivisionError for / and //.
func floatOp(op tokKind, a, b float64) (value, error) {
	switch op {
	case tPlus:
		return floatValue(a + b), nil
	case tMinus:
		return floatValue(a - b), nil
	case tStar:
		return floatValue(a * b), nil
	case tSlash:
		if b == 0 {
			return value{}, errZeroDiv
		}
		return floatValue(a / b), nil
	case tDSlash:
		if b == 0 {
			return value{}, errZeroDiv
		}
		return floatValue(floatFloorDiv(a, b)), nil
	}
	return value{}, errSyntax
}

// floatFloorDiv is CPython's _float_div_mod (Objects/floatobject.c),
// floordiv part, step by step; NaN counts as true in its C conditions just
// as NaN != 0 is true in Go.
func floatFloorDiv(vx, wx float64) float64 {
	mod := math.Mod(vx, wx) // exact, like C fmod
	div := float64(vx-mod) / wx
	if mod != 0 {
		if (wx < 0) != (mod < 0) {
			div -= 1.0
		}
	}
	if div != 0 {
		floordiv := math.Floor(div)
		if float64(div-floordiv) > 0.5 {
			floordiv += 1.0
		}
		return floordiv
	}
	return math.Copysign(0, vx/wx)
}
