package pickle

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// DefaultMaxMemo is the memo size limit used when Options.MaxMemo is zero.
const DefaultMaxMemo = 1 << 22

// Options configures Decode.
type Options struct {
	// PersistentLoad, if set, is called for BINPERSID/PERSID and its result
	// pushed. Without it the decoder pushes a PersistentID.
	PersistentLoad func(id Value) (Value, error)
	// Reduce, if set, is called for REDUCE, NEWOBJ, NEWOBJ_EX, INST and OBJ
	// with the callable and its positional arguments. Returning
	// (nil, false, nil) falls back to the built-in behaviour: a few safe
	// builtins (collections.OrderedDict, set, frozenset, bytearray, bytes,
	// _codecs.encode) are evaluated and anything else becomes an *Object.
	Reduce func(callable Value, args Tuple) (Value, bool, error)
	// MaxMemo bounds the number of memo entries; zero means DefaultMaxMemo.
	MaxMemo int
}

// Error reports a malformed or unsupported pickle stream.
type Error struct {
	Offset int    // byte offset of the failing opcode (or of the end of data)
	Op     string // opcode name, empty when the opcode itself is unknown
	Err    error  // the cause
}

func (e *Error) Error() string {
	if e.Op == "" {
		return fmt.Sprintf("%v at offset %d", e.Err, e.Offset)
	}
	return fmt.Sprintf("%s at offset %d: %v", e.Op, e.Offset, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// ErrTruncated is wrapped by errors about data that ends too early.
var ErrTruncated = errors.New("truncated")

// decoder is the pickle virtual machine. The stack holds every value; marks
// holds the stack heights recorded by MARK, so that the region above the
// innermost mark behaves like CPython's fresh stack after MARK.
type decoder struct {
	data    []byte
	pos     int
	opPos   int
	stack   []Value
	marks   []int
	memo    map[int64]Value
	opts    Options
	maxMemo int
	proto   int
}

// Decode decodes the pickle stream in data and returns the value passed to
// STOP. Bytes after STOP are ignored, as Python does. Decode never panics:
// malformed input yields an *Error carrying the byte offset.
func Decode(data []byte, opts Options) (v Value, err error) {
	d := &decoder{data: data, opts: opts, memo: map[int64]Value{}, maxMemo: opts.MaxMemo}
	if d.maxMemo <= 0 {
		d.maxMemo = DefaultMaxMemo
	}
	defer func() {
		if r := recover(); r != nil {
			v, err = nil, &Error{Offset: d.opPos, Op: opName(d.data, d.opPos), Err: fmt.Errorf("internal error: %v", r)}
		}
	}()
	return d.run()
}

func opName(data []byte, pos int) string {
	if pos < 0 || pos >= len(data) {
		return ""
	}
	return opNames[data[pos]]
}

func (d *decoder) run() (Value, error) {
	for {
		if d.pos >= len(d.data) {
			return nil, &Error{Offset: d.pos, Err: fmt.Errorf("unexpected end of data, no STOP opcode: %w", ErrTruncated)}
		}
		d.opPos = d.pos
		op := d.data[d.pos]
		d.pos++
		if op == opSTOP {
			v, err := d.pop()
			if err != nil {
				return nil, &Error{Offset: d.opPos, Op: "STOP", Err: err}
			}
			return v, nil
		}
		if opNames[op] == "" {
			return nil, &Error{Offset: d.opPos, Err: fmt.Errorf("unknown opcode 0x%02x", op)}
		}
		if err := d.step(op); err != nil {
			return nil, &Error{Offset: d.opPos, Op: opNames[op], Err: err}
		}
	}
}

// read returns the next n bytes of the stream without copying.
func (d *decoder) read(n uint64) ([]byte, error) {
	left := uint64(len(d.data) - d.pos)
	if n > left {
		return nil, fmt.Errorf("%w: need %d bytes, %d left", ErrTruncated, n, left)
	}
	b := d.data[d.pos : d.pos+int(n)]
	d.pos += int(n)
	return b, nil
}

func (d *decoder) readByte() (byte, error) {
	b, err := d.read(1)
	if err != nil {
		return 0, err
	}
	return b[0], nil
}

func (d *decoder) readUint16() (uint64, error) {
	b, err := d.read(2)
	if err != nil {
		return 0, err
	}
	return uint64(binary.LittleEndian.Uint16(b)), nil
}

func (d *decoder) readUint32() (uint64, error) {
	b, err := d.read(4)
	if err != nil {
		return 0, err
	}
	return uint64(binary.LittleEndian.Uint32(b)), nil
}

func (d *decoder) readUint64() (uint64, error) {
	b, err := d.read(8)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b), nil
}

// readLine returns the bytes up to (excluding) the next newline.
func (d *decoder) readLine() ([]byte, error) {
	for i := d.pos; i < len(d.data); i++ {
		if d.data[i] == '\n' {
			line := d.data[d.pos:i]
			d.pos = i + 1
			return line, nil
		}
	}
	return nil, fmt.Errorf("%w: missing newline", ErrTruncated)
}

func (d *decoder) push(v Value) { d.stack = append(d.stack, v) }

func (d *decoder) base() int {
	if len(d.marks) == 0 {
		return 0
	}
	return d.marks[len(d.marks)-1]
}

func (d *decoder) pop() (Value, error) {
	if len(d.stack) <= d.base() {
		return nil, errors.New("stack underflow")
	}
	v := d.stack[len(d.stack)-1]
	d.stack[len(d.stack)-1] = nil
	d.stack = d.stack[:len(d.stack)-1]
	return v, nil
}

func (d *decoder) top() (Value, error) {
	if len(d.stack) <= d.base() {
		return nil, errors.New("stack underflow")
	}
	return d.stack[len(d.stack)-1], nil
}

// popMark removes and returns the items above the innermost mark.
func (d *decoder) popMark() ([]Value, error) {
	if len(d.marks) == 0 {
		return nil, errors.New("no MARK on the stack")
	}
	m := d.marks[len(d.marks)-1]
	d.marks = d.marks[:len(d.marks)-1]
	items := make([]Value, len(d.stack)-m)
	copy(items, d.stack[m:])
	clear(d.stack[m:])
	d.stack = d.stack[:m]
	return items, nil
}

func (d *decoder) memoPut(idx int64, v Value) error {
	if idx < 0 {
		return fmt.Errorf("negative memo index %d", idx)
	}
	if _, ok := d.memo[idx]; !ok && len(d.memo) >= d.maxMemo {
		return fmt.Errorf("memo holds more than %d entries", d.maxMemo)
	}
	d.memo[idx] = v
	return nil
}

func (d *decoder) memoGet(idx int64) error {
	v, ok := d.memo[idx]
	if !ok {
		return fmt.Errorf("memo key %d not found", idx)
	}
	d.push(v)
	return nil
}

func (d *decoder) put(idx int64) error {
	v, err := d.top()
	if err != nil {
		return err
	}
	return d.memoPut(idx, v)
}

// step executes one opcode other than STOP.
func (d *decoder) step(op byte) error {
	switch op {
	case opPROTO:
		p, err := d.readByte()
		if err != nil {
			return err
		}
		if p > highestProtocol {
			return fmt.Errorf("unsupported protocol %d", p)
		}
		d.proto = int(p)
	case opFRAME:
		n, err := d.readUint64()
		if err != nil {
			return err
		}
		if left := uint64(len(d.data) - d.pos); n > left {
			return fmt.Errorf("%w: frame of %d bytes, %d left", ErrTruncated, n, left)
		}
	case opMARK:
		d.marks = append(d.marks, len(d.stack))
	case opPOP:
		if len(d.stack) > d.base() {
			_, err := d.pop()
			return err
		}
		_, err := d.popMark()
		return err
	case opPOP_MARK:
		_, err := d.popMark()
		return err
	case opDUP:
		v, err := d.top()
		if err != nil {
			return err
		}
		d.push(v)
	case opNONE:
		d.push(nil)
	case opNEWTRUE:
		d.push(true)
	case opNEWFALSE:
		d.push(false)
	case opINT, opBININT, opBININT1, opBININT2, opLONG, opLONG1, opLONG4:
		return d.loadInt(op)
	case opFLOAT:
		return d.loadFloatText()
	case opBINFLOAT:
		b, err := d.read(8)
		if err != nil {
			return err
		}
		d.push(math.Float64frombits(binary.BigEndian.Uint64(b)))
	case opSTRING, opBINSTRING, opSHORT_BINSTRING, opUNICODE, opBINUNICODE,
		opSHORT_BINUNICODE, opBINUNICODE8, opBINBYTES, opSHORT_BINBYTES, opBINBYTES8, opBYTEARRAY8:
		return d.loadString(op)
	default:
		return d.stepContainer(op)
	}
	return nil
}

// stepContainer executes the opcodes that build containers, use the memo or
// refer to Python objects.
func (d *decoder) stepContainer(op byte) error {
	switch op {
	case opEMPTY_TUPLE:
		d.push(Tuple{})
	case opTUPLE:
		items, err := d.popMark()
		if err != nil {
			return err
		}
		d.push(Tuple(items))
	case opTUPLE1, opTUPLE2, opTUPLE3:
		n := int(op-opTUPLE1) + 1
		if len(d.stack)-d.base() < n {
			return errors.New("stack underflow")
		}
		t := make(Tuple, n)
		copy(t, d.stack[len(d.stack)-n:])
		clear(d.stack[len(d.stack)-n:])
		d.stack = d.stack[:len(d.stack)-n]
		d.push(t)
	case opEMPTY_LIST:
		d.push(&List{})
	case opLIST:
		items, err := d.popMark()
		if err != nil {
			return err
		}
		d.push(&List{Items: items})
	case opAPPEND, opAPPENDS:
		return d.appendItems(op)
	case opEMPTY_DICT:
		d.push(NewDict())
	case opDICT:
		items, err := d.popMark()
		if err != nil {
			return err
		}
		dict := NewDict()
		if err := setItems(dict, items); err != nil {
			return err
		}
		d.push(dict)
	case opSETITEM, opSETITEMS:
		return d.setItems(op)
	case opEMPTY_SET:
		d.push(&Set{})
	case opADDITEMS:
		return d.addItems()
	case opFROZENSET:
		items, err := d.popMark()
		if err != nil {
			return err
		}
		s := &Set{Frozen: true}
		for _, it := range items {
			if err := s.Add(it); err != nil {
				return err
			}
		}
		d.push(s)
	default:
		return d.stepObject(op)
	}
	return nil
}

// stepObject executes memo, global, call and persistent-id opcodes.
func (d *decoder) stepObject(op byte) error {
	switch op {
	case opPUT, opGET:
		line, err := d.readLine()
		if err != nil {
			return err
		}
		idx, err := parseTextInt(line)
		if err != nil {
			return err
		}
		i, ok := idx.(int64)
		if !ok {
			return fmt.Errorf("memo index %v out of range", idx)
		}
		if op == opPUT {
			return d.put(i)
		}
		return d.memoGet(i)
	case opBINPUT, opBINGET:
		b, err := d.readByte()
		if err != nil {
			return err
		}
		if op == opBINPUT {
			return d.put(int64(b))
		}
		return d.memoGet(int64(b))
	case opLONG_BINPUT, opLONG_BINGET:
		n, err := d.readUint32()
		if err != nil {
			return err
		}
		if op == opLONG_BINPUT {
			return d.put(int64(n))
		}
		return d.memoGet(int64(n))
	case opMEMOIZE:
		return d.put(int64(len(d.memo)))
	case opGLOBAL, opINST:
		return d.loadGlobal(op)
	case opSTACK_GLOBAL:
		name, err := d.pop()
		if err != nil {
			return err
		}
		module, err := d.pop()
		if err != nil {
			return err
		}
		ms, ok1 := module.(string)
		ns, ok2 := name.(string)
		if !ok1 || !ok2 {
			return fmt.Errorf("module and name are %s and %s, want str", TypeName(module), TypeName(name))
		}
		d.push(Global{Module: ms, Name: ns})
	case opREDUCE, opNEWOBJ, opNEWOBJ_EX, opOBJ:
		return d.loadCall(op)
	case opBUILD:
		return d.build()
	case opPERSID, opBINPERSID:
		return d.loadPersistent(op)
	case opEXT1, opEXT2, opEXT4:
		return errors.New("extension registry codes are not supported")
	case opNEXT_BUFFER, opREADONLY_BUFFER:
		return errors.New("out-of-band buffers (pickle protocol 5) are not supported")
	default:
		return fmt.Errorf("opcode 0x%02x not implemented", op)
	}
	return nil
}
