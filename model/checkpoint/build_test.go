package checkpoint

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"math"
)

// This file builds torch.save-like archives for tests: a minimal zip writer
// (stored entries, optional 64-byte alignment and ZIP64 records) and a
// pickle emitter for state dicts.

type zipRec struct {
	name   string
	data   []byte
	method uint16 // 0 stored; anything else marks the entry compressed
}

type zipOpts struct {
	zip64 bool // write ZIP64 extra fields, record and locator for every entry
	align bool // pad each entry's data to 64 bytes with an "FB" extra field, as torch does
}

func buildZip(recs []zipRec, o zipOpts) []byte {
	var out, cd bytes.Buffer
	le := binary.LittleEndian
	u16 := func(b *bytes.Buffer, v uint16) { _ = binary.Write(b, le, v) }
	u32 := func(b *bytes.Buffer, v uint32) { _ = binary.Write(b, le, v) }
	u64 := func(b *bytes.Buffer, v uint64) { _ = binary.Write(b, le, v) }
	for _, r := range recs {
		off := out.Len()
		var extra []byte
		if o.align {
			pad := (64 - (off+30+len(r.name)+4)%64) % 64
			extra = append([]byte{'F', 'B', byte(pad), 0}, make([]byte, pad)...)
		}
		crc := crc32.ChecksumIEEE(r.data)
		u32(&out, sigLocal)
		u16(&out, 20)
		u16(&out, 0)
		u16(&out, r.method)
		u16(&out, 0)
		u16(&out, 0)
		u32(&out, crc)
		u32(&out, uint32(len(r.data)))
		u32(&out, uint32(len(r.data)))
		u16(&out, uint16(len(r.name)))
		u16(&out, uint16(len(extra)))
		out.WriteString(r.name)
		out.Write(extra)
		out.Write(r.data)

		size32, off32 := uint32(len(r.data)), uint32(off)
		var cextra bytes.Buffer
		if o.zip64 {
			size32, off32 = 0xffffffff, 0xffffffff
			u16(&cextra, zip64ExtraID)
			u16(&cextra, 24)
			u64(&cextra, uint64(len(r.data)))
			u64(&cextra, uint64(len(r.data)))
			u64(&cextra, uint64(off))
		}
		u32(&cd, sigCentral)
		u16(&cd, 45)
		u16(&cd, 45)
		u16(&cd, 0)
		u16(&cd, r.method)
		u16(&cd, 0)
		u16(&cd, 0)
		u32(&cd, crc)
		u32(&cd, size32)
		u32(&cd, size32)
		u16(&cd, uint16(len(r.name)))
		u16(&cd, uint16(cextra.Len()))
		u16(&cd, 0)
		u16(&cd, 0)
		u16(&cd, 0)
		u32(&cd, 0)
		u32(&cd, off32)
		cd.WriteString(r.name)
		cd.Write(cextra.Bytes())
	}
	cdOff := out.Len()
	out.Write(cd.Bytes())
	count16, cdSize32, cdOff32 := uint16(len(recs)), uint32(cd.Len()), uint32(cdOff)
	if o.zip64 {
		end64 := out.Len()
		u32(&out, sigEnd64)
		u64(&out, end64Len-12)
		u16(&out, 45)
		u16(&out, 45)
		u32(&out, 0)
		u32(&out, 0)
		u64(&out, uint64(len(recs)))
		u64(&out, uint64(len(recs)))
		u64(&out, uint64(cd.Len()))
		u64(&out, uint64(cdOff))
		u32(&out, sigEnd64Locator)
		u32(&out, 0)
		u64(&out, uint64(end64))
		u32(&out, 1)
		count16, cdSize32, cdOff32 = 0xffff, 0xffffffff, 0xffffffff
	}
	u32(&out, sigEnd)
	u16(&out, 0)
	u16(&out, 0)
	u16(&out, count16)
	u16(&out, count16)
	u32(&out, cdSize32)
	u32(&out, cdOff32)
	u16(&out, 0)
	return out.Bytes()
}

// pw emits pickle opcodes (protocol 2, as torch.save writes).
type pw struct{ bytes.Buffer }

func (p *pw) op(b ...byte) { p.Write(b) }
func (p *pw) str(s string) {
	p.op('X')
	_ = binary.Write(p, binary.LittleEndian, uint32(len(s)))
	p.WriteString(s)
}
func (p *pw) global(m, n string) { p.WriteString("c" + m + "\n" + n + "\n") }
func (p *pw) int(v int)          { p.op('J'); _ = binary.Write(p, binary.LittleEndian, int32(v)) }
func (p *pw) ints(v []int) {
	p.op('(')
	for _, x := range v {
		p.int(x)
	}
	p.op('t')
}
func (p *pw) emptyOrderedDict() { p.global("collections", "OrderedDict"); p.op(')', 'R') }

// tspec describes one tensor of a synthetic state dict.
type tspec struct {
	name     string
	class    string // storage global name in module torch, e.g. "FloatStorage" or "bfloat16"
	module   string // defaults to "torch"
	key      string
	numel    int
	offset   int
	shape    []int
	stride   []int
	rebuild  string // defaults to "_rebuild_tensor_v2"
	memoTied int    // >0: reuse the tensor memoised under this BINPUT index instead
}

// tensor emits the rebuild call of s and memoises it under index memo.
func (p *pw) tensor(s tspec, memo byte) {
	if s.memoTied > 0 {
		p.op('h', byte(s.memoTied))
		return
	}
	if s.rebuild == "_rebuild_parameter" {
		p.global("torch._utils", "_rebuild_parameter")
		p.op('(')
	}
	rebuild := "_rebuild_tensor_v2"
	if s.rebuild == "_rebuild_tensor" {
		rebuild = s.rebuild
	}
	p.global("torch._utils", rebuild)
	p.op('(', '(')
	p.str("storage")
	module := s.module
	if module == "" {
		module = "torch"
	}
	p.global(module, s.class)
	p.str(s.key)
	p.str("cpu")
	p.int(s.numel)
	p.op('t', 'Q')
	p.int(s.offset)
	p.ints(s.shape)
	p.ints(s.stride)
	if rebuild == "_rebuild_tensor_v2" {
		p.op(0x89)
		p.emptyOrderedDict()
	}
	p.op('t', 'R', 'q', memo)
	if s.rebuild == "_rebuild_parameter" {
		p.op(0x88)
		p.emptyOrderedDict()
		p.op('t', 'R')
	}
}

// statePickle emits an OrderedDict state dict (with torch's _metadata
// BUILD), or the bare tensor when single is set.
func statePickle(specs []tspec, single bool) []byte {
	var p pw
	p.op(0x80, 2)
	if single {
		p.tensor(specs[0], 1)
		p.op('.')
		return p.Bytes()
	}
	p.emptyOrderedDict()
	p.op('(')
	for i, s := range specs {
		p.str(s.name)
		p.tensor(s, byte(i+1))
	}
	p.op('u', '}')
	p.str("_metadata")
	p.emptyOrderedDict()
	p.op('s', 'b', '.')
	return p.Bytes()
}

// f32le encodes float32 values little-endian.
func f32le(v ...float32) []byte {
	b := make([]byte, 0, 4*len(v))
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return b
}
