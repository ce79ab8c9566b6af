package checkpoint

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
)

// This file reads and writes safetensors (the format of Hugging Face
// checkpoints): an 8-byte little-endian header length N, N bytes of JSON
// {name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__":
// {str: str}}, then the tensors' bytes, row-major and little-endian, the
// offsets counting from the end of the header. Tensors are validated as the
// torch reader validates them: dtype known, shape and size agreeing, every
// byte inside the file, and (as the format requires) the tensors tiling the
// data with neither holes nor overlaps.

// maxSafetensorsHeader caps the JSON header (the format's own limit is 100 MB).
const maxSafetensorsHeader = 100 << 20

var safetensorsDTypes = map[string]DType{
	"F32": F32, "BF16": BF16, "F16": F16, "F64": F64, "I64": I64, "I32": I32, "I16": I16, "I8": I8, "U8": U8, "BOOL": Bool,
}

// SafetensorsName is dtype d's name in a safetensors header.
func SafetensorsName(d DType) string {
	for name, dt := range safetensorsDTypes {
		if dt == d {
			return name
		}
	}
	return ""
}

type safetensorsEntry struct {
	DType   string  `json:"dtype"`
	Shape   []int   `json:"shape"`
	Offsets []int64 `json:"data_offsets"`
}

// OpenSafetensors maps a .safetensors file and parses its header. Tensor
// data stays in the mapping until Close, as with Open.
func OpenSafetensors(path string) (*File, error) {
	data, info, release, err := mapFile(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors %q: %w", path, err)
	}
	var f *File
	err = guard(data, func() (err error) {
		f, err = parseSafetensors(path, data)
		return err
	})
	if err != nil {
		_ = release()
		return nil, fmt.Errorf("safetensors %q: %w", path, err)
	}
	f.data, f.info, f.release = data, info, release
	return f, nil
}

// ParseSafetensors parses a safetensors file held in memory, like Parse.
func ParseSafetensors(name string, data []byte) (*File, error) {
	f, err := parseSafetensors(name, data)
	if err != nil {
		return nil, fmt.Errorf("safetensors %q: %w", name, err)
	}
	f.data = data
	return f, nil
}

func parseSafetensors(name string, data []byte) (*File, error) {
	if len(data) < 8 {
		return nil, fmt.Errorf("%d bytes: too short for a header", len(data))
	}
	n := binary.LittleEndian.Uint64(data)
	if n > maxSafetensorsHeader || n > uint64(len(data)-8) {
		return nil, fmt.Errorf("header of %d bytes does not fit (file %d bytes, limit %d)", n, len(data), maxSafetensorsHeader)
	}
	var header map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(data[8 : 8+n]))
	dec.UseNumber()
	if err := dec.Decode(&header); err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	body := data[8+n:]
	f := &File{Path: name, Prefix: "safetensors", ByteOrder: "little", byName: map[string]*Tensor{}, storages: map[string]*storage{}}
	type span struct {
		name       string
		begin, end int64
	}
	var spans []span
	for key, raw := range header {
		if key == "__metadata__" {
			var meta map[string]string
			if err := json.Unmarshal(raw, &meta); err != nil {
				return nil, fmt.Errorf("header __metadata__: want {str: str}: %w", err)
			}
			f.Metadata = meta
			continue
		}
		var e safetensorsEntry
		d := json.NewDecoder(bytes.NewReader(raw))
		d.DisallowUnknownFields()
		if err := d.Decode(&e); err != nil {
			return nil, fmt.Errorf("tensor %q: %w", key, err)
		}
		dt, ok := safetensorsDTypes[e.DType]
		if !ok {
			return nil, fmt.Errorf("tensor %q: unknown dtype %q", key, e.DType)
		}
		if len(e.Offsets) != 2 || e.Offsets[0] < 0 || e.Offsets[0] > e.Offsets[1] || e.Offsets[1] > int64(len(body)) {
			return nil, fmt.Errorf("tensor %q: data_offsets %v outside the %d data bytes", key, e.Offsets, len(body))
		}
		numel := int64(1)
		for _, d := range e.Shape {
			if d < 0 || (d > 0 && numel > math.MaxInt32*int64(1<<16)/int64(d)) {
				return nil, fmt.Errorf("tensor %q: bad shape %v", key, e.Shape)
			}
			numel *= int64(d)
		}
		if got := e.Offsets[1] - e.Offsets[0]; got != numel*int64(dt.Size()) {
			return nil, fmt.Errorf("tensor %q: shape %v of %s needs %d bytes, data_offsets give %d", key, e.Shape, e.DType, numel*int64(dt.Size()), got)
		}
		s := &storage{key: key, dtype: dt, numel: int(numel), data: body[e.Offsets[0]:e.Offsets[1]:e.Offsets[1]], order: binary.LittleEndian}
		t := &Tensor{Name: key, DType: dt, Shape: slices.Clone(e.Shape), Stride: contiguousStride(e.Shape), storage: s}
		if t.Shape == nil {
			t.Shape = []int{}
		}
		if err := t.validate(); err != nil {
			return nil, err
		}
		f.storages[key], f.byName[key] = s, t
		f.Tensors = append(f.Tensors, t)
		spans = append(spans, span{key, e.Offsets[0], e.Offsets[1]})
	}
	sort.Slice(spans, func(i, j int) bool {
		if spans[i].begin != spans[j].begin {
			return spans[i].begin < spans[j].begin
		}
		return spans[i].end < spans[j].end
	})
	var at int64
	for _, s := range spans {
		if s.begin != at {
			return nil, fmt.Errorf("tensor %q: data starts at byte %d, want %d (tensors must tile the data without holes or overlaps)", s.name, s.begin, at)
		}
		at = s.end
	}
	if at != int64(len(body)) {
		return nil, fmt.Errorf("tensors end at byte %d of %d data bytes", at, len(body))
	}
	// The file's order, as the torch reader keeps the state dict's.
	f.Tensors = f.Tensors[:0]
	for _, s := range spans {
		f.Tensors = append(f.Tensors, f.byName[s.name])
	}
	return f, nil
}

func contiguousStride(shape []int) []int {
	st := make([]int, len(shape))
	n := 1
	for k := len(shape) - 1; k >= 0; k-- {
		st[k] = n
		n *= shape[k]
	}
	return st
}

// Rename gives tensors new names (old → new); names not in the map are
// kept. Two tensors may not end up with one name.
func (f *File) Rename(names map[string]string) error {
	byName := make(map[string]*Tensor, len(f.Tensors))
	for _, t := range f.Tensors {
		if n, ok := names[t.Name]; ok {
			t.Name = n
		}
		if _, dup := byName[t.Name]; dup {
			return fmt.Errorf("%s: two tensors named %q after renaming", f.Path, t.Name)
		}
		byName[t.Name] = t
	}
	f.byName = byName
	return nil
}

// SafetensorsTensor is one tensor to write: raw little-endian row-major
// bytes of dtype DType and shape Shape.
type SafetensorsTensor struct {
	Name  string
	DType DType
	Shape []int
	Data  []byte
}

// WriteSafetensors writes tensors (in the order given) and metadata as a
// safetensors file. The header is padded with spaces to a multiple of 8
// bytes, as the reference implementation does.
func WriteSafetensors(w io.Writer, tensors []SafetensorsTensor, metadata map[string]string) error {
	type entry struct {
		DType   string  `json:"dtype"`
		Shape   []int   `json:"shape"`
		Offsets []int64 `json:"data_offsets"`
	}
	var buf bytes.Buffer
	buf.WriteByte('{')
	if len(metadata) > 0 {
		m, err := json.Marshal(metadata)
		if err != nil {
			return err
		}
		buf.WriteString(`"__metadata__":`)
		buf.Write(m)
	}
	var off int64
	for i, t := range tensors {
		name := SafetensorsName(t.DType)
		numel := 1
		for _, d := range t.Shape {
			numel *= d
		}
		if name == "" || len(t.Data) != numel*t.DType.Size() {
			return fmt.Errorf("write safetensors: tensor %q: %d bytes of %s for shape %v", t.Name, len(t.Data), t.DType, t.Shape)
		}
		if i > 0 || len(metadata) > 0 {
			buf.WriteByte(',')
		}
		k, _ := json.Marshal(t.Name)
		shape := t.Shape
		if shape == nil {
			shape = []int{}
		}
		v, _ := json.Marshal(entry{name, shape, []int64{off, off + int64(len(t.Data))}})
		buf.Write(k)
		buf.WriteByte(':')
		buf.Write(v)
		off += int64(len(t.Data))
	}
	buf.WriteByte('}')
	for buf.Len()%8 != 0 {
		buf.WriteByte(' ')
	}
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(buf.Len()))
	if _, err := w.Write(n[:]); err != nil {
		return err
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return err
	}
	for _, t := range tensors {
		if _, err := w.Write(t.Data); err != nil {
			return err
		}
	}
	return nil
}
