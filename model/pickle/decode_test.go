package pickle

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type fixtureCase struct {
	Name     string `json:"name"`
	Protocol int    `json:"protocol"`
	File     string `json:"file"`
	Canon    string `json:"canon"`
	Error    string `json:"error"`
}

func loadCases(t testing.TB) []fixtureCase {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "testdata", "pickle", "cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []fixtureCase
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	return cases
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "pickle", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDecodeFixtures decodes the streams written by Python's pickle
// (testdata/pickle/gen.py) for protocols 0–5.
func TestDecodeFixtures(t *testing.T) {
	cases := loadCases(t)
	if len(cases) < 50 {
		t.Fatalf("cases.json lists %d cases, want at least 50", len(cases))
	}
	for _, c := range cases {
		t.Run(strings.TrimSuffix(c.File, ".pkl"), func(t *testing.T) {
			v, err := Decode(readFixture(t, c.File), Options{})
			if c.Error != "" {
				if err == nil || !strings.Contains(err.Error(), c.Error) {
					t.Fatalf("Decode error = %v, want it to contain %q", err, c.Error)
				}
				return
			}
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			got := canon(v)
			if strings.HasPrefix(c.Canon, "sha256:") {
				sum := sha256.Sum256([]byte(got))
				got = "sha256:" + hex.EncodeToString(sum[:])
			}
			if got != c.Canon {
				t.Errorf("canon = %.300s\nwant    %.300s", got, c.Canon)
			}
		})
	}
}

// TestDecodeHandcrafted covers opcodes Python 3 no longer writes and the
// error paths, each with the offset it must report.
func TestDecodeHandcrafted(t *testing.T) {
	bigNeg := "\x8a\x09" + "\x00\x00\x00\x00\x00\x00\x00\x00\xff" + "."
	tests := []struct {
		name    string
		in      string
		want    string // canonical form; empty when an error is expected
		wantErr string // substring of the error, including the offset
	}{
		{"STRING escapes", `S'abc\n\x41\101\''` + "\n.", "s" + hex.EncodeToString([]byte("abc\nAA'")), ""},
		{"BINSTRING", "T\x03\x00\x00\x00abc.", "s616263", ""},
		{"SHORT_BINSTRING", "U\x02hi.", "s6869", ""},
		{"INST", "(I1\nI2\nimod\nCls\n.", "omod.Cls(i1,i2,)", ""},
		{"OBJ", "(cmod\nCls\nI1\no.", "omod.Cls(i1,)", ""},
		{"POP", "I1\nI2\n0.", "i1", ""},
		{"POP of empty region pops the mark", "I1\n(0.", "i1", ""},
		{"POP_MARK", "I1\n(I2\nI3\n1.", "i1", ""},
		{"DUP", "(]2t.", "([],[],)", ""},
		{"equal keys collapse like Python", "}(I1\nS'a'\n\x88S'b'\nF1.0\nS'c'\nu.", "{i1:s63,}", ""},
		{"bytes and str keys differ", "\x80\x03}(C\x01xK\x01X\x01\x00\x00\x00xK\x02u.", "{b78:i1,s78:i2,}", ""},
		{"PUT and GET", "I5\np0\n0g0\n.", "i5", ""},
		{"LONG text", "L12345678901234567890123L\n.", "i12345678901234567890123", ""},
		{"INT true", "I01\n.", "T", ""},
		{"INT false", "I00\n.", "F", ""},
		{"INT hex", "I0x1f\n.", "i31", ""},
		{"FLOAT text", "F-2.5e3\n.", canon(-2500.0), ""},
		{"FRAME", "\x80\x04\x95\x02\x00\x00\x00\x00\x00\x00\x00K\x07.", "i7", ""},
		{"STACK_GLOBAL", "\x80\x04\x8c\x01m\x8c\x01n\x93.", "gm.n", ""},
		{"OrderedDict of pairs", "ccollections\nOrderedDict\n((l(S'a'\nI1\ntatR.", "{s61:i1,}", ""},
		{"BUILD on dict is ignored", "}}(S'_metadata'\nI1\nub.", "{}", ""},
		{"BYTEARRAY8", "\x80\x05\x96\x02\x00\x00\x00\x00\x00\x00\x00ab.", "b6162", ""},
		{"BINUNICODE8", "\x8d\x01\x00\x00\x00\x00\x00\x00\x00z.", "s7a", ""},
		{"LONG4", "\x8b\x02\x00\x00\x00\xff\x7f.", "i32767", ""},
		{"LONG1 negative big", bigNeg, "i-" + new(big.Int).Lsh(big.NewInt(1), 64).String(), ""},
		{"UNICODE raw escapes", `V\u0041\\u0042` + "\n.", "s" + hex.EncodeToString([]byte(`A\\u0042`)), ""},
		{"py2 module names", "c__builtin__\nset\n((lI1\natR.", "set{i1,}", ""},
		{"PERSID", "Pabc\n.", "ps616263", ""},
		{"data after STOP is ignored", "K\x01.garbage", "i1", ""},

		{"empty input", "", "", "no STOP opcode: truncated at offset 0"},
		{"unknown opcode", "\x80\x02\xff.", "", "unknown opcode 0xff at offset 2"},
		{"truncated BINUNICODE", "K\x01X\x05\x00\x00\x00ab", "", "BINUNICODE at offset 2: truncated"},
		{"missing STOP", "K\x01", "", "no STOP opcode: truncated at offset 2"},
		{"TUPLE without MARK", "K\x01t.", "", "TUPLE at offset 2: no MARK"},
		{"underflow", "\x85.", "", "TUPLE1 at offset 0: stack underflow"},
		{"underflow across MARK", "K\x01(\x85.", "", "TUPLE1 at offset 3: stack underflow"},
		{"bad memo index", "K\x01h\x05.", "", "BINGET at offset 2: memo key 5 not found"},
		{"unhashable key", "}]K\x01s.", "", "SETITEM at offset 4: dict key: unhashable type list"},
		{"negative BINSTRING", "T\xff\xff\xff\xff.", "", "BINSTRING at offset 0: negative byte count"},
		{"protocol 6", "\x80\x06.", "", "PROTO at offset 0: unsupported protocol 6"},
		{"EXT1", "\x82\x01.", "", "EXT1 at offset 0: extension registry"},
		{"NEXT_BUFFER", "\x80\x05\x97.", "", "NEXT_BUFFER at offset 2: out-of-band buffers"},
		{"READONLY_BUFFER", "\x80\x05\x98.", "", "READONLY_BUFFER at offset 2: out-of-band buffers"},
		{"APPEND to int", "K\x01K\x02a.", "", "APPEND at offset 4: cannot append to int"},
		{"BUILD on int", "K\x01}b.", "", "BUILD at offset 3: cannot set state of int"},
		{"REDUCE with int args", "cm\nf\nK\x01R.", "", "REDUCE at offset 7: arguments are int, want tuple"},
		{"REDUCE on int", "K\x01)R.", "", "REDUCE at offset 3: cannot call int"},
		{"STOP on empty stack", ".", "", "STOP at offset 0: stack underflow"},
		{"odd SETITEMS", "}(K\x01u.", "", "SETITEMS at offset 4: odd number of items"},
		{"FRAME past the end", "\x95\xff\x00\x00\x00\x00\x00\x00\x00.", "", "FRAME at offset 0: truncated"},
		{"bad text int", "Iabc\n.", "", `INT at offset 0: invalid integer "abc"`},
		{"huge text int", "I" + strings.Repeat("9", 5000) + "\n.", "", "INT at offset 0: integer text of 5000 characters"},
		{"STACK_GLOBAL of ints", "K\x01K\x02\x93.", "", "STACK_GLOBAL at offset 4: module and name are int and int"},
		{"NEWOBJ_EX with kwargs", "cm\nC\n)}(K\x01K\x02u\x92.", "", "NEWOBJ_EX at offset 13: keyword arguments"},
		{"unquoted STRING", "Sabc\n.", "", "STRING at offset 0: string argument is not quoted"},
		{"ADDITEMS to frozenset", "(\x91(K\x01\x90.", "", "ADDITEMS at offset 5: cannot add items to frozenset"},
		{"negative PUT", "K\x01p-1\n.", "", "PUT at offset 2: negative memo index -1"},
		{"bad encoding", "c_codecs\nencode\n(S'a'\nS'rot13'\ntR.", "", `_codecs.encode: unsupported encoding "rot13"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := Decode([]byte(tt.in), Options{})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Decode error = %v, want it to contain %q", err, tt.wantErr)
				}
				var perr *Error
				if !errors.As(err, &perr) {
					t.Errorf("Decode error is %T, want *Error", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if got := canon(v); got != tt.want {
				t.Errorf("canon = %s, want %s", got, tt.want)
			}
		})
	}
}

// TestDecodeTruncated cuts every fixture at many points: each cut must fail
// with an error, never panic or succeed.
func TestDecodeTruncated(t *testing.T) {
	for _, c := range loadCases(t) {
		data := readFixture(t, c.File)
		step := 1
		if len(data) > 4096 {
			step = len(data) / 512
		}
		for cut := 0; cut < len(data)-1; cut += step {
			if _, err := Decode(data[:cut], Options{}); err == nil {
				t.Fatalf("%s cut at %d of %d: Decode succeeded, want an error", c.File, cut, len(data))
			}
		}
	}
}

// TestDecodeLargeMemo exercises memo indices past 65535 via MEMOIZE,
// LONG_BINPUT and LONG_BINGET, and the MaxMemo limit.
func TestDecodeLargeMemo(t *testing.T) {
	const n = 70000
	var b []byte
	b = append(b, 0x80, 4, ']')
	for i := range n {
		b = append(b, 'K', byte(i), 0x94, 'a') // BININT1, MEMOIZE, APPEND
	}
	b = append(b, 'N', 'r')
	b = binary.LittleEndian.AppendUint32(b, 1<<31)
	b = append(b, '0', 'j')
	b = binary.LittleEndian.AppendUint32(b, 69999)
	b = append(b, 'a', 'j')
	b = binary.LittleEndian.AppendUint32(b, 1<<31)
	b = append(b, 'a', '.')
	v, err := Decode(b, Options{})
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	l := v.(*List)
	if len(l.Items) != n+2 {
		t.Fatalf("list has %d items, want %d", len(l.Items), n+2)
	}
	if got, want := l.Items[n], int64(69999%256); got != want {
		t.Errorf("item %d = %v, want %v", n, got, want)
	}
	if l.Items[n+1] != nil {
		t.Errorf("item %d = %v, want None", n+1, l.Items[n+1])
	}
	if _, err := Decode(b, Options{MaxMemo: 1000}); err == nil || !strings.Contains(err.Error(), "memo holds more than 1000 entries") {
		t.Errorf("Decode with MaxMemo 1000: error = %v, want the memo limit", err)
	}
}

// TestDecodeHooks checks that PersistentLoad and Reduce replace the default
// behaviour and that their errors are wrapped.
func TestDecodeHooks(t *testing.T) {
	data := readFixture(t, "persistent_p2.pkl")
	calls := 0
	v, err := Decode(data, Options{PersistentLoad: func(id Value) (Value, error) {
		calls++
		return "loaded:" + id.(Tuple)[1].(string), nil
	}})
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if got, want := canon(v), canon(&List{Items: []Value{"loaded:k0", "loaded:k0"}}); got != want || calls != 2 {
		t.Errorf("with PersistentLoad: canon = %s after %d calls, want %s after 2", got, calls, want)
	}

	errBoom := errors.New("boom")
	_, err = Decode(data, Options{PersistentLoad: func(Value) (Value, error) { return nil, errBoom }})
	if !errors.Is(err, errBoom) || !strings.Contains(err.Error(), "BINPERSID at offset") {
		t.Errorf("failing PersistentLoad: error = %v, want BINPERSID wrapping boom", err)
	}

	reduce := func(callable Value, args Tuple) (Value, bool, error) {
		if g, ok := callable.(Global); ok && g.Name == "rebuild" {
			return int64(len(args)), true, nil
		}
		return nil, false, nil
	}
	v, err = Decode(readFixture(t, "reduce_p2.pkl"), Options{Reduce: reduce})
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if got, want := canon(v), "[i2,i2,]"; got != want {
		t.Errorf("with Reduce: canon = %s, want %s", got, want)
	}
	// Falling back keeps OrderedDict a *Dict.
	v, err = Decode(readFixture(t, "ordereddict_p2.pkl"), Options{Reduce: reduce})
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if _, ok := v.(*Dict); !ok {
		t.Errorf("OrderedDict with a declining Reduce decoded to %s, want dict", TypeName(v))
	}
}

// TestDictMethods checks Get, Set and Len, including Python key equality.
func TestDictMethods(t *testing.T) {
	d := NewDict()
	for _, kv := range [][2]Value{{"a", 1}, {[]byte("a"), 2}, {int64(1), 3}, {true, 4}, {1.0, 5}, {Tuple{"x", int64(2)}, 6}} {
		if err := d.Set(kv[0], kv[1]); err != nil {
			t.Fatal(err)
		}
	}
	if d.Len() != 4 {
		t.Errorf("Len = %d, want 4", d.Len())
	}
	tests := []struct {
		key  Value
		want Value
		ok   bool
	}{
		{"a", 1, true},
		{[]byte("a"), 2, true},
		{int64(1), 5, true},
		{big.NewInt(1), 5, true},
		{Tuple{"x", 2.0}, 6, true},
		{"b", nil, false},
		{&List{}, nil, false},
	}
	for _, tt := range tests {
		got, ok := d.Get(tt.key)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Get(%s) = %v, %v, want %v, %v", canon(tt.key), got, ok, tt.want, tt.ok)
		}
	}
	if err := d.Set(&List{}, 1); err == nil {
		t.Error("Set with a list key succeeded, want an error")
	}
	var zero Dict
	if err := zero.Set("k", 1); err != nil {
		t.Fatal(err)
	}
	if v, ok := zero.Get("k"); !ok || v != 1 {
		t.Errorf("zero Dict Get after Set = %v, %v, want 1, true", v, ok)
	}
}

// TestDecodeSharedTupleKey builds a tuple that holds the previous tuple
// twice, 40 levels deep, and uses it as a dict key: hashing must stop early
// instead of visiting 2^40 items.
func TestDecodeSharedTupleKey(t *testing.T) {
	b := []byte("}N")
	for range 40 {
		b = append(b, '2', 0x86) // DUP, TUPLE2
	}
	b = append(b, 'N', 's', '.')
	_, err := Decode(b, Options{})
	if err == nil || !strings.Contains(err.Error(), "tuple key has more than") {
		t.Fatalf("Decode error = %v, want the key size limit", err)
	}
}
