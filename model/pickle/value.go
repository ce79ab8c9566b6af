// Package pickle decodes Python pickle streams (protocols 0–5) into plain Go
// values. It executes no code: globals are returned as Global values and
// REDUCE/NEWOBJ/BUILD produce Object values that callers interpret.
package pickle

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
)

// Value is any decoded pickle value. Concrete types:
//
//	nil                 None
//	bool                True/False
//	int64               ints that fit in 64 bits
//	*big.Int            larger ints (LONG, LONG1, LONG4)
//	float64             floats
//	string              str (unicode), and Python 2 str (STRING, BINSTRING)
//	[]byte              bytes / bytearray
//	Tuple               tuples
//	*List               lists (mutable, appended to in place)
//	*Dict               dicts, insertion-ordered (also OrderedDict after REDUCE)
//	*Set                sets and frozensets
//	Global              a class or function reference (GLOBAL / STACK_GLOBAL)
//	*Object             the result of REDUCE/NEWOBJ on a Global: callable + args (+ state from BUILD)
//	PersistentID        the result of BINPERSID/PERSID when no loader hook is installed
//
// Hooks in Options may push values of other types; the decoder treats them
// as opaque (and unhashable).
type Value = any

// Tuple is a Python tuple.
type Tuple []Value

// List is a Python list.
type List struct{ Items []Value }

// Dict is an insertion-ordered Python dict. Keys are compared the way Python
// compares them for the supported hashable types: str, bytes (distinct from
// str), int (with bool and integral floats equal to the same int), float,
// None, Global and tuples of those. Setting an existing key replaces its
// value and keeps its position and original key, as Python does.
type Dict struct {
	Keys   []Value
	Values []Value
	index  map[any]int
}

// NewDict returns an empty dict.
func NewDict() *Dict { return &Dict{index: map[any]int{}} }

// Len reports the number of entries.
func (d *Dict) Len() int { return len(d.Keys) }

// Get returns the value stored under key. Unhashable keys are never found.
func (d *Dict) Get(key Value) (Value, bool) {
	h, err := hashKey(key)
	if err != nil || d.index == nil {
		return nil, false
	}
	i, ok := d.index[h]
	if !ok {
		return nil, false
	}
	return d.Values[i], true
}

// Set stores value under key. It fails only if key is unhashable.
func (d *Dict) Set(key, value Value) error {
	h, err := hashKey(key)
	if err != nil {
		return err
	}
	if d.index == nil {
		d.index = make(map[any]int, len(d.Keys))
		for i, k := range d.Keys {
			if hk, err := hashKey(k); err == nil {
				d.index[hk] = i
			}
		}
	}
	if i, ok := d.index[h]; ok {
		d.Values[i] = value
		return nil
	}
	d.index[h] = len(d.Keys)
	d.Keys = append(d.Keys, key)
	d.Values = append(d.Values, value)
	return nil
}

// Set is a Python set or frozenset, in insertion order without duplicates.
type Set struct {
	Items  []Value
	Frozen bool
	index  map[any]struct{}
}

// Add inserts v unless an equal item is present. It fails only if v is
// unhashable.
func (s *Set) Add(v Value) error {
	h, err := hashKey(v)
	if err != nil {
		return err
	}
	if s.index == nil {
		s.index = map[any]struct{}{}
	}
	if _, ok := s.index[h]; ok {
		return nil
	}
	s.index[h] = struct{}{}
	s.Items = append(s.Items, v)
	return nil
}

// Has reports whether an item equal to v is in the set.
func (s *Set) Has(v Value) bool {
	h, err := hashKey(v)
	if err != nil || s.index == nil {
		return false
	}
	_, ok := s.index[h]
	return ok
}

// Len reports the number of items.
func (s *Set) Len() int { return len(s.Items) }

// Global names a Python module attribute, e.g. {"torch._utils", "_rebuild_tensor_v2"}.
type Global struct{ Module, Name string }

// String returns "module.name".
func (g Global) String() string { return g.Module + "." + g.Name }

// Object is the result of calling a Global (REDUCE or NEWOBJ) with Args.
// State holds the argument of a later BUILD, if any.
type Object struct {
	Class Global
	Args  Tuple
	State Value
}

// PersistentID wraps the value passed to BINPERSID when the decoder has no hook.
type PersistentID struct{ ID Value }

// maxKeyDepth bounds the tuple nesting of dict keys and set items, and
// maxKeyItems the number of items hashed for one key: a tuple that holds the
// same tuple twice at every level would otherwise cost exponential time.
const (
	maxKeyDepth = 64
	maxKeyItems = 1 << 16
)

// Distinct key types so that values of different Python types never collide.
type (
	bytesKey string
	bigKey   string
	tupleKey string
	nilKey   struct{}
)

// hashKey maps a hashable value to a comparable Go value such that two
// values map to the same key exactly when Python considers them equal.
func hashKey(v Value) (any, error) {
	switch x := v.(type) {
	case nil:
		return nilKey{}, nil
	case bool:
		if x {
			return int64(1), nil
		}
		return int64(0), nil
	case int64:
		return x, nil
	case *big.Int:
		if x.IsInt64() {
			return x.Int64(), nil
		}
		return bigKey(x.String()), nil
	case float64:
		if x == math.Trunc(x) && x >= -(1<<63) && x < 1<<63 {
			return int64(x), nil
		}
		if x == math.Trunc(x) && !math.IsInf(x, 0) {
			b, _ := big.NewFloat(x).Int(nil)
			return bigKey(b.String()), nil
		}
		return x, nil
	case string:
		return x, nil
	case []byte:
		return bytesKey(x), nil
	case Global:
		return x, nil
	case Tuple:
		var sb strings.Builder
		budget := maxKeyItems
		if err := encodeTupleKey(&sb, x, 1, &budget); err != nil {
			return nil, err
		}
		return tupleKey(sb.String()), nil
	}
	return nil, fmt.Errorf("unhashable type %s", TypeName(v))
}

// encodeTupleKey writes an unambiguous, length-prefixed encoding of the
// hash keys of t's items, spending one unit of budget per item.
func encodeTupleKey(sb *strings.Builder, t Tuple, depth int, budget *int) error {
	if depth > maxKeyDepth {
		return fmt.Errorf("tuple key nested deeper than %d", maxKeyDepth)
	}
	if *budget -= len(t); *budget < 0 {
		return fmt.Errorf("tuple key has more than %d items", maxKeyItems)
	}
	writeLen := func(n int) {
		var b [binary.MaxVarintLen64]byte
		sb.Write(b[:binary.PutUvarint(b[:], uint64(n))])
	}
	writeLen(len(t))
	for _, item := range t {
		if sub, ok := item.(Tuple); ok {
			sb.WriteByte('t')
			if err := encodeTupleKey(sb, sub, depth+1, budget); err != nil {
				return err
			}
			continue
		}
		k, err := hashKey(item)
		if err != nil {
			return err
		}
		var tag byte
		var s string
		switch k := k.(type) {
		case nilKey:
			tag = 'n'
		case int64:
			tag, s = 'i', strconv.FormatInt(k, 10)
		case bigKey:
			tag, s = 'i', string(k)
		case float64:
			tag, s = 'f', strconv.FormatUint(math.Float64bits(k), 16)
		case string:
			tag, s = 's', k
		case bytesKey:
			tag, s = 'b', string(k)
		case Global:
			tag, s = 'g', k.Module+"\n"+k.Name
		}
		sb.WriteByte(tag)
		writeLen(len(s))
		sb.WriteString(s)
	}
	return nil
}

// TypeName returns the Python-ish name of v's type for error messages.
func TypeName(v Value) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case bool:
		return "bool"
	case int64, *big.Int:
		return "int"
	case float64:
		return "float"
	case string:
		return "str"
	case []byte:
		return "bytes"
	case Tuple:
		return "tuple"
	case *List:
		return "list"
	case *Dict:
		return "dict"
	case *Set:
		if x.Frozen {
			return "frozenset"
		}
		return "set"
	case Global:
		return "global " + x.String()
	case *Object:
		return x.Class.String() + " object"
	case PersistentID:
		return "persistent id"
	}
	return fmt.Sprintf("%T", v)
}
