package checkpoint

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Tensor is a view into one storage record of a checkpoint: element
// (i0, i1, …) lives at storage element Offset + Σ ik·Stride[k].
// Its data is valid until the File that holds it is closed.
type Tensor struct {
	Name   string
	DType  DType
	Shape  []int
	Stride []int // in elements
	Offset int   // storage offset in elements

	storage *storage
}

// storage is one <prefix>/data/<key> record.
type storage struct {
	key   string
	dtype DType
	numel int
	data  []byte // numel·dtype.Size() bytes of the mapped file
	order binary.ByteOrder
	// closed is set by File.Close, after which data must not be read.
	closed bool
}

// usable reports an error if t has no storage (it was not read from a
// File) or its file has been closed.
func (t *Tensor) usable() error {
	if t.storage == nil {
		return fmt.Errorf("tensor %q: no storage (not read from a checkpoint)", t.Name)
	}
	if t.storage.closed {
		return fmt.Errorf("tensor %q: checkpoint is closed", t.Name)
	}
	return nil
}

// StorageKey returns the key of the storage record that backs t; tensors
// that share a key share memory.
func (t *Tensor) StorageKey() string {
	if t.storage == nil {
		return ""
	}
	return t.storage.key
}

// NumEl returns the number of elements, the product of Shape.
func (t *Tensor) NumEl() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// Contiguous reports whether t's elements are laid out in row-major order
// without gaps, so that its data is one slice of the storage.
func (t *Tensor) Contiguous() bool {
	want := 1
	for k := len(t.Shape) - 1; k >= 0; k-- {
		if t.Shape[k] == 0 {
			return true
		}
		if t.Shape[k] != 1 && t.Stride[k] != want {
			return false
		}
		want *= t.Shape[k]
	}
	return true
}

// Bytes returns the raw little-endian bytes of a contiguous tensor, a view
// into the file mapping that must not be modified. It fails for
// non-contiguous tensors and for multi-byte dtypes of big-endian files.
func (t *Tensor) Bytes() ([]byte, error) {
	if err := t.usable(); err != nil {
		return nil, err
	}
	if !t.Contiguous() {
		return nil, fmt.Errorf("tensor %q: not contiguous (shape %v, stride %v)", t.Name, t.Shape, t.Stride)
	}
	size := t.DType.Size()
	if size > 1 && t.storage.order == binary.BigEndian {
		return nil, fmt.Errorf("tensor %q: storage is big-endian; use Float32 or Int64s to convert", t.Name)
	}
	lo, hi := t.Offset*size, (t.Offset+t.NumEl())*size
	return t.storage.data[lo:hi:hi], nil
}

// Float32 returns the elements of a floating-point tensor in row-major
// order as a new slice. bf16 and f16 widen exactly; f64 rounds to nearest.
func (t *Tensor) Float32() ([]float32, error) {
	if err := t.usable(); err != nil {
		return nil, err
	}
	out := make([]float32, t.NumEl())
	b, order := t.storage.data, t.storage.order
	if t.Contiguous() && order == binary.LittleEndian {
		// Fast path for the common case: one linear scan, no callbacks.
		switch t.DType {
		case F32:
			src := b[4*t.Offset:]
			for i := range out {
				out[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
			}
			return out, nil
		case BF16:
			src := b[2*t.Offset:]
			for i := range out {
				out[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(src[2*i:])) << 16)
			}
			return out, nil
		}
	}
	switch t.DType {
	case F32:
		t.each(func(i, off int) { out[i] = math.Float32frombits(order.Uint32(b[4*off:])) })
	case BF16:
		t.each(func(i, off int) { out[i] = math.Float32frombits(uint32(order.Uint16(b[2*off:])) << 16) })
	case F16:
		t.each(func(i, off int) { out[i] = halfToFloat32(order.Uint16(b[2*off:])) })
	case F64:
		t.each(func(i, off int) { out[i] = float32(math.Float64frombits(order.Uint64(b[8*off:]))) })
	default:
		return nil, fmt.Errorf("tensor %q: dtype %s is not floating point", t.Name, t.DType)
	}
	return out, nil
}

// BF16Bits returns the raw bits of a bf16 tensor in row-major order as a
// new slice.
func (t *Tensor) BF16Bits() ([]uint16, error) {
	if t.DType != BF16 {
		return nil, fmt.Errorf("tensor %q: dtype %s, want bf16", t.Name, t.DType)
	}
	if err := t.usable(); err != nil {
		return nil, err
	}
	out := make([]uint16, t.NumEl())
	b, order := t.storage.data, t.storage.order
	t.each(func(i, off int) { out[i] = order.Uint16(b[2*off:]) })
	return out, nil
}

// Int64s returns the elements of an integer or bool tensor in row-major
// order as a new slice, widened to int64 (bools as 0 and 1).
func (t *Tensor) Int64s() ([]int64, error) {
	if err := t.usable(); err != nil {
		return nil, err
	}
	out := make([]int64, t.NumEl())
	b, order := t.storage.data, t.storage.order
	switch t.DType {
	case I64:
		t.each(func(i, off int) { out[i] = int64(order.Uint64(b[8*off:])) })
	case I32:
		t.each(func(i, off int) { out[i] = int64(int32(order.Uint32(b[4*off:]))) })
	case I16:
		t.each(func(i, off int) { out[i] = int64(int16(order.Uint16(b[2*off:]))) })
	case I8:
		t.each(func(i, off int) { out[i] = int64(int8(b[off])) })
	case U8:
		t.each(func(i, off int) { out[i] = int64(b[off]) })
	case Bool:
		t.each(func(i, off int) {
			if b[off] != 0 {
				out[i] = 1
			}
		})
	default:
		return nil, fmt.Errorf("tensor %q: dtype %s is not an integer type", t.Name, t.DType)
	}
	return out, nil
}

// each calls fn with the row-major index and the storage element offset of
// every element of t.
func (t *Tensor) each(fn func(i, off int)) {
	n := t.NumEl()
	if n == 0 {
		return
	}
	if t.Contiguous() {
		for i := range n {
			fn(i, t.Offset+i)
		}
		return
	}
	idx := make([]int, len(t.Shape))
	off := t.Offset
	for i := range n {
		fn(i, off)
		for k := len(idx) - 1; k >= 0; k-- {
			idx[k]++
			off += t.Stride[k]
			if idx[k] < t.Shape[k] {
				break
			}
			off -= t.Stride[k] * idx[k]
			idx[k] = 0
		}
	}
}

// halfToFloat32 converts IEEE 754 binary16 bits to float32 exactly.
func halfToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // inf or NaN
		return math.Float32frombits(sign | 0xff<<23 | mant<<13)
	case exp != 0: // normal
		return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
	case mant == 0: // ±0
		return math.Float32frombits(sign)
	}
	// Subnormal: value = mant · 2^-24, exact in float32.
	f := float32(mant) * (1.0 / (1 << 24))
	if sign != 0 {
		f = -f
	}
	return f
}
