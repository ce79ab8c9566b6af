package checkpoint

import (
	"encoding/binary"
	"math"
	"slices"
	"strings"
	"testing"
)

// archive assembles a checkpoint: data.pkl from specs, the given storage
// records, and extra records, all under prefix.
func archive(prefix string, specs []tspec, single bool, storages map[string][]byte, extra []zipRec, o zipOpts) []byte {
	recs := []zipRec{{name: prefix + "/data.pkl", data: statePickle(specs, single)}}
	keys := make([]string, 0, len(storages))
	for k := range storages {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		recs = append(recs, zipRec{name: prefix + "/data/" + k, data: storages[k]})
	}
	recs = append(recs, zipRec{name: prefix + "/version", data: []byte("3\n")})
	return buildZip(append(recs, extra...), o)
}

func seq(n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(i)
	}
	return v
}

// viewSpecs are four views of one 12-element f32 storage holding 0..11.
var viewSpecs = []tspec{
	{name: "a", class: "FloatStorage", key: "0", numel: 12, shape: []int{3, 4}, stride: []int{4, 1}},
	{name: "aT", class: "FloatStorage", key: "0", numel: 12, shape: []int{4, 3}, stride: []int{1, 4}},
	{name: "slice", class: "FloatStorage", key: "0", numel: 12, offset: 5, shape: []int{2, 2}, stride: []int{4, 1}},
	{name: "scalar", class: "FloatStorage", key: "0", numel: 12, offset: 7, shape: []int{}, stride: []int{}},
	{name: "tied", memoTied: 1},
}

func TestParseSynthetic(t *testing.T) {
	views := map[string][]byte{"0": f32le(seq(12)...)}
	be := binary.BigEndian
	bigData := map[string][]byte{
		"0": be.AppendUint32(be.AppendUint32(nil, math.Float32bits(1.5)), math.Float32bits(-2)),
		"1": be.AppendUint16(be.AppendUint16(nil, 0x3fc0), 0xc000),
		"2": be.AppendUint64(be.AppendUint64(nil, 7), uint64(1<<64-3)),
	}
	bigSpecs := []tspec{
		{name: "f", class: "FloatStorage", key: "0", numel: 2, shape: []int{2}, stride: []int{1}},
		{name: "b", class: "BFloat16Storage", key: "1", numel: 2, shape: []int{2}, stride: []int{1}},
		{name: "l", class: "LongStorage", key: "2", numel: 2, shape: []int{2}, stride: []int{1}},
	}
	dtypeData := map[string][]byte{
		"h": {0x00, 0x3c, 0x01, 0x00, 0x00, 0xfc}, // f16 1, smallest subnormal, -inf
		"d": binary.LittleEndian.AppendUint64(nil, math.Float64bits(0.1)),
		"s": {0xff, 0xff, 0x02, 0x00},
		"c": {0x80, 0x7f},
		"u": {0xff},
		"o": {0, 1, 2},
		"g": {0x80, 0x3f}, // bf16 1.0 described by torch.bfloat16
		"x": {1, 2, 3, 4},
	}
	dtypeSpecs := []tspec{
		{name: "half", class: "HalfStorage", key: "h", numel: 3, shape: []int{3}, stride: []int{1}},
		{name: "double", class: "DoubleStorage", key: "d", numel: 1, shape: []int{1}, stride: []int{1}, rebuild: "_rebuild_tensor"},
		{name: "short", class: "ShortStorage", key: "s", numel: 2, shape: []int{2}, stride: []int{1}},
		{name: "char", class: "CharStorage", key: "c", numel: 2, shape: []int{2}, stride: []int{1}, rebuild: "_rebuild_parameter"},
		{name: "byte", class: "ByteStorage", key: "u", numel: 1, shape: []int{1}, stride: []int{1}},
		{name: "bool", class: "BoolStorage", key: "o", numel: 3, shape: []int{3}, stride: []int{1}},
		{name: "bf16 by dtype", class: "bfloat16", key: "g", numel: 1, shape: []int{1}, stride: []int{1}},
		{name: "untyped", class: "UntypedStorage", module: "torch.storage", key: "x", numel: 4, shape: []int{2, 2}, stride: []int{2, 1}},
		{name: "empty", class: "FloatStorage", key: "e", numel: 0, shape: []int{0, 5}, stride: []int{5, 1}},
	}
	dtypeData["e"] = nil
	unknown := []zipRec{
		{name: "w/.data/serialization_id", data: []byte("123")},
		{name: "w/.format_version", data: []byte("1")},
		{name: "w/byteorder", data: []byte("little")},
		{name: "other.txt", data: []byte("x"), method: 8},
	}
	type want struct {
		f32 []float32
		i64 []int64
	}
	tests := []struct {
		name    string
		data    []byte
		wantErr string
		want    map[string]want
		check   func(t *testing.T, f *File)
	}{
		{
			name: "zip64, aligned, prefix w, unknown records",
			data: archive("w", viewSpecs[:1], false, views, unknown, zipOpts{zip64: true, align: true}),
			want: map[string]want{"a": {f32: seq(12)}},
			check: func(t *testing.T, f *File) {
				if f.Prefix != "w" || f.Version != "3" || f.ByteOrder != "little" {
					t.Errorf("Prefix, Version, ByteOrder = %q, %q, %q, want w, 3, little", f.Prefix, f.Version, f.ByteOrder)
				}
			},
		},
		{
			name: "views sharing one storage",
			data: archive("archive", viewSpecs, false, views, nil, zipOpts{}),
			want: map[string]want{
				"a":      {f32: seq(12)},
				"aT":     {f32: []float32{0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11}},
				"slice":  {f32: []float32{5, 6, 9, 10}},
				"scalar": {f32: []float32{7}},
				"tied":   {f32: seq(12)},
			},
			check: func(t *testing.T, f *File) {
				names := []string{}
				for _, x := range f.Tensors {
					names = append(names, x.Name)
					if x.StorageKey() != "0" {
						t.Errorf("%s: StorageKey = %q, want 0", x.Name, x.StorageKey())
					}
				}
				if want := []string{"a", "aT", "slice", "scalar", "tied"}; !slices.Equal(names, want) {
					t.Errorf("names = %v, want %v", names, want)
				}
				for name, contiguous := range map[string]bool{"a": true, "aT": false, "slice": false, "scalar": true} {
					x, _ := f.Tensor(name)
					if x.Contiguous() != contiguous {
						t.Errorf("%s: Contiguous = %v, want %v", name, x.Contiguous(), contiguous)
					}
					b, err := x.Bytes()
					if contiguous && (err != nil || len(b) != 4*x.NumEl()) {
						t.Errorf("%s: Bytes = %d bytes, %v; want %d bytes", name, len(b), err, 4*x.NumEl())
					}
					if !contiguous && err == nil {
						t.Errorf("%s: Bytes succeeded on a non-contiguous view", name)
					}
				}
				s, _ := f.Tensor("scalar")
				if b, _ := s.Bytes(); !slices.Equal(b, f32le(7)) {
					t.Errorf("scalar Bytes = %v, want %v", b, f32le(7))
				}
			},
		},
		{
			name: "single tensor",
			data: archive("archive", viewSpecs[2:3], true, views, nil, zipOpts{}),
			want: map[string]want{"": {f32: []float32{5, 6, 9, 10}}},
		},
		{
			name: "big-endian byteorder",
			data: archive("be", bigSpecs, false, bigData, []zipRec{{name: "be/byteorder", data: []byte("big")}}, zipOpts{}),
			want: map[string]want{"f": {f32: []float32{1.5, -2}}, "b": {f32: []float32{1.5, -2}}, "l": {i64: []int64{7, -3}}},
			check: func(t *testing.T, f *File) {
				x, _ := f.Tensor("b")
				if bits, err := x.BF16Bits(); err != nil || !slices.Equal(bits, []uint16{0x3fc0, 0xc000}) {
					t.Errorf("BF16Bits = %x, %v, want [3fc0 c000]", bits, err)
				}
				if _, err := x.Bytes(); err == nil || !strings.Contains(err.Error(), "big-endian") {
					t.Errorf("Bytes on a big-endian bf16 tensor: error = %v, want big-endian", err)
				}
			},
		},
		{
			name: "other dtypes",
			data: archive("d", dtypeSpecs, false, dtypeData, nil, zipOpts{}),
			want: map[string]want{
				"half":          {f32: []float32{1, float32(math.Ldexp(1, -24)), float32(math.Inf(-1))}},
				"double":        {f32: []float32{0.1}},
				"short":         {i64: []int64{-1, 2}},
				"char":          {i64: []int64{-128, 127}},
				"byte":          {i64: []int64{255}},
				"bool":          {i64: []int64{0, 1, 1}},
				"bf16 by dtype": {f32: []float32{1}},
				"untyped":       {i64: []int64{1, 2, 3, 4}},
				"empty":         {f32: []float32{}},
			},
			check: func(t *testing.T, f *File) {
				x, _ := f.Tensor("short")
				if _, err := x.Float32(); err == nil {
					t.Error("Float32 on an i16 tensor succeeded")
				}
				if _, err := x.BF16Bits(); err == nil {
					t.Error("BF16Bits on an i16 tensor succeeded")
				}
				x, _ = f.Tensor("half")
				if _, err := x.Int64s(); err == nil {
					t.Error("Int64s on an f16 tensor succeeded")
				}
			},
		},
		{name: "compressed storage", data: buildZip([]zipRec{{name: "p/data.pkl", data: statePickle(viewSpecs[:1], false)}, {name: "p/data/0", data: f32le(seq(12)...), method: 8}}, zipOpts{}),
			wantErr: `record "p/data/0" is compressed (method 8)`},
		{name: "missing storage record", data: archive("p", viewSpecs[:1], false, nil, nil, zipOpts{}),
			wantErr: `storage "0": no record "p/data/0"`},
		{name: "storage smaller than numel", data: archive("p", viewSpecs[:1], false, map[string][]byte{"0": f32le(seq(11)...)}, nil, zipOpts{}),
			wantErr: `storage "0" holds 44 bytes, 12 f32 elements need more`},
		{name: "view past the storage", data: archive("p", []tspec{{name: "w", class: "FloatStorage", key: "0", numel: 6, offset: 1, shape: []int{2, 3}, stride: []int{3, 1}}}, false, map[string][]byte{"0": f32le(seq(6)...)}, nil, zipOpts{}),
			wantErr: `tensor "w": storage "0" holds 24 bytes, view needs 28`},
		{name: "broadcast view", data: archive("p", []tspec{{name: "w", class: "FloatStorage", key: "0", numel: 1, shape: []int{1 << 30}, stride: []int{0}}}, false, map[string][]byte{"0": f32le(1)}, nil, zipOpts{}),
			wantErr: `tensor "w": shape [1073741824] has more elements than its 1-element storage "0"`},
		{name: "unknown storage class", data: archive("p", []tspec{{name: "w", class: "QInt8Storage", key: "0", numel: 1, shape: []int{1}, stride: []int{1}}}, false, map[string][]byte{"0": {1}}, nil, zipOpts{}),
			wantErr: "unsupported storage type torch.QInt8Storage"},
		{name: "unknown byteorder", data: archive("p", viewSpecs[:1], false, views, []zipRec{{name: "p/byteorder", data: []byte("middle")}}, zipOpts{}),
			wantErr: `p/byteorder: unknown byte order "middle"`},
		{name: "not a zip", data: []byte(strings.Repeat("random bytes ", 10)), wantErr: "not a zip archive"},
		{name: "empty", data: nil, wantErr: "not a zip archive: 0 bytes is too short"},
		{name: "zip without data.pkl", data: buildZip([]zipRec{{name: "p/version", data: []byte("3")}}, zipOpts{}),
			wantErr: "no <prefix>/data.pkl record among 1 zip entries"},
		{name: "two prefixes", data: buildZip([]zipRec{{name: "a/data.pkl"}, {name: "b/data.pkl"}}, zipOpts{}),
			wantErr: `several data.pkl records ("a" and "b")`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse("synthetic.pt", tt.data)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), `checkpoint "synthetic.pt": `) {
					t.Fatalf("Parse error = %v, want `checkpoint \"synthetic.pt\": …%s…`", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			for name, w := range tt.want {
				x, ok := f.Tensor(name)
				if !ok {
					t.Fatalf("Tensor(%q) not found", name)
				}
				if w.f32 != nil {
					got, err := x.Float32()
					if err != nil || !slices.Equal(got, w.f32) {
						t.Errorf("%q Float32 = %v, %v, want %v", name, got, err, w.f32)
					}
				}
				if w.i64 != nil {
					got, err := x.Int64s()
					if err != nil || !slices.Equal(got, w.i64) {
						t.Errorf("%q Int64s = %v, %v, want %v", name, got, err, w.i64)
					}
				}
			}
			if tt.check != nil {
				tt.check(t, f)
			}
		})
	}
}

// TestParseForeignPickles covers data.pkl streams that are not torch state
// dicts, or that call globals outside the whitelist.
func TestParseForeignPickles(t *testing.T) {
	evil := func() []byte {
		var p pw
		p.op(0x80, 2)
		p.global("os", "system")
		p.str("echo hi")
		p.op(0x85, 'R', '.')
		return p.Bytes()
	}
	nested := func() []byte {
		var p pw
		p.op(0x80, 2, '}')
		p.str("model")
		p.emptyOrderedDict()
		p.op('s', '.')
		return p.Bytes()
	}
	intKey := func() []byte {
		var p pw
		p.op(0x80, 2, '}')
		p.int(3)
		p.tensor(viewSpecs[0], 1)
		p.op('s', '.')
		return p.Bytes()
	}
	list := func() []byte {
		var p pw
		p.op(0x80, 2, ']', '.')
		return p.Bytes()
	}
	badPID := func() []byte {
		var p pw
		p.op(0x80, 2)
		p.str("x")
		p.op('Q', '.')
		return p.Bytes()
	}
	tests := []struct {
		name    string
		pkl     []byte
		wantErr string
	}{
		{"os.system", evil(), "data.pkl: REDUCE at offset 26: unsupported global os.system"},
		{"nested state dict", nested(), `top-level object is a dict whose entry "model" is dict, want a state dict`},
		{"int key", intKey(), "top-level object is a dict with a int key"},
		{"list", list(), "top-level object is list, want a state dict"},
		{"bad persistent id", badPID(), "persistent id is str, want ('storage'"},
		{"garbage pickle", []byte{0x80, 2, 0xff}, "data.pkl: unknown opcode 0xff at offset 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := buildZip([]zipRec{{name: "p/data.pkl", data: tt.pkl}, {name: "p/data/0", data: f32le(seq(12)...)}}, zipOpts{})
			_, err := Parse("x.pt", data)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Parse error = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

// TestParseTruncated cuts synthetic archives at every byte: each cut must
// fail cleanly.
func TestParseTruncated(t *testing.T) {
	for _, o := range []zipOpts{{}, {zip64: true, align: true}} {
		data := archive("w", viewSpecs, false, map[string][]byte{"0": f32le(seq(12)...)}, nil, o)
		for cut := range len(data) {
			if _, err := Parse("cut.pt", data[:cut]); err == nil {
				t.Fatalf("zip64=%v: Parse of the first %d of %d bytes succeeded, want an error", o.zip64, cut, len(data))
			}
		}
	}
}

// TestTensorWithoutStorage checks that a Tensor not read from a File fails
// cleanly instead of panicking.
func TestTensorWithoutStorage(t *testing.T) {
	x := &Tensor{Name: "x", DType: BF16, Shape: []int{2}, Stride: []int{1}}
	if _, err := x.Float32(); err == nil {
		t.Error("Float32 succeeded")
	}
	if _, err := x.BF16Bits(); err == nil {
		t.Error("BF16Bits succeeded")
	}
	if _, err := x.Int64s(); err == nil {
		t.Error("Int64s succeeded")
	}
	if _, err := x.Bytes(); err == nil {
		t.Error("Bytes succeeded")
	}
	if x.StorageKey() != "" {
		t.Errorf("StorageKey = %q, want empty", x.StorageKey())
	}
}
