package pickle

import (
	"encoding/binary"
	"encoding/hex"
	"math"
	"math/big"
	"slices"
	"strings"
)

// canon renders v in the canonical text form of testdata/pickle/gen.py.
func canon(v Value) string {
	var sb strings.Builder
	writeCanon(&sb, v, map[any]bool{})
	return sb.String()
}

// maxCanon stops canon early on values whose rendering explodes (shared
// sub-values are rendered once per reference).
const maxCanon = 1 << 22

func writeCanon(sb *strings.Builder, v Value, seen map[any]bool) {
	if sb.Len() > maxCanon {
		sb.WriteString("...")
		return
	}
	switch x := v.(type) {
	case *List, *Dict, *Set:
		if seen[x] {
			sb.WriteString("<cycle>")
			return
		}
		seen[x] = true
		defer delete(seen, x)
	}
	switch x := v.(type) {
	case nil:
		sb.WriteString("N")
	case bool:
		if x {
			sb.WriteString("T")
		} else {
			sb.WriteString("F")
		}
	case int64:
		sb.WriteString("i" + big.NewInt(x).String())
	case *big.Int:
		sb.WriteString("i" + x.String())
	case float64:
		if math.IsNaN(x) {
			sb.WriteString("fnan")
			return
		}
		var b [8]byte
		binary.BigEndian.PutUint64(b[:], math.Float64bits(x))
		sb.WriteString("f" + hex.EncodeToString(b[:]))
	case string:
		sb.WriteString("s" + hex.EncodeToString([]byte(x)))
	case []byte:
		sb.WriteString("b" + hex.EncodeToString(x))
	case Tuple:
		writeSeq(sb, "(", ")", x, seen)
	case *List:
		writeSeq(sb, "[", "]", x.Items, seen)
	case *Dict:
		sb.WriteString("{")
		for i, k := range x.Keys {
			writeCanon(sb, k, seen)
			sb.WriteString(":")
			writeCanon(sb, x.Values[i], seen)
			sb.WriteString(",")
		}
		sb.WriteString("}")
	case *Set:
		items := make([]string, len(x.Items))
		for i, it := range x.Items {
			var isb strings.Builder
			writeCanon(&isb, it, seen)
			items[i] = isb.String() + ","
		}
		slices.Sort(items)
		name := "set"
		if x.Frozen {
			name = "frozenset"
		}
		sb.WriteString(name + "{" + strings.Join(items, "") + "}")
	case Global:
		sb.WriteString("g" + x.String())
	case *Object:
		sb.WriteString("o" + x.Class.String())
		writeSeq(sb, "(", ")", x.Args, seen)
		if x.State != nil {
			sb.WriteString("st")
			writeCanon(sb, x.State, seen)
		}
	case PersistentID:
		sb.WriteString("p")
		writeCanon(sb, x.ID, seen)
	default:
		sb.WriteString("?")
	}
}

func writeSeq(sb *strings.Builder, open, close string, items []Value, seen map[any]bool) {
	sb.WriteString(open)
	for _, it := range items {
		writeCanon(sb, it, seen)
		sb.WriteString(",")
	}
	sb.WriteString(close)
}
