package pickle

import (
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxIntDigits mirrors CPython's default int_max_str_digits: text integers
// longer than this are rejected instead of being converted in quadratic time.
const maxIntDigits = 4300

// loadInt executes INT, BININT, BININT1, BININT2, LONG, LONG1 and LONG4.
func (d *decoder) loadInt(op byte) error {
	switch op {
	case opINT:
		line, err := d.readLine()
		if err != nil {
			return err
		}
		switch string(line) {
		case "00":
			d.push(false)
			return nil
		case "01":
			d.push(true)
			return nil
		}
		v, err := parseTextInt(line)
		if err != nil {
			return err
		}
		d.push(v)
	case opLONG:
		line, err := d.readLine()
		if err != nil {
			return err
		}
		line = []byte(strings.TrimSuffix(string(line), "L"))
		v, err := parseTextInt(line)
		if err != nil {
			return err
		}
		d.push(v)
	case opBININT:
		n, err := d.readUint32()
		if err != nil {
			return err
		}
		d.push(int64(int32(uint32(n))))
	case opBININT1:
		b, err := d.readByte()
		if err != nil {
			return err
		}
		d.push(int64(b))
	case opBININT2:
		n, err := d.readUint16()
		if err != nil {
			return err
		}
		d.push(int64(n))
	case opLONG1, opLONG4:
		var n uint64
		var err error
		if op == opLONG1 {
			var b byte
			b, err = d.readByte()
			n = uint64(b)
		} else {
			n, err = d.readUint32()
			if err == nil && int32(uint32(n)) < 0 {
				return fmt.Errorf("negative byte count %d", int32(uint32(n)))
			}
		}
		if err != nil {
			return err
		}
		b, err := d.read(n)
		if err != nil {
			return err
		}
		d.push(decodeLong(b))
	}
	return nil
}

// decodeLong decodes a little-endian two's-complement integer.
func decodeLong(b []byte) Value {
	if len(b) == 0 {
		return int64(0)
	}
	if len(b) <= 8 {
		var u uint64
		for i := len(b) - 1; i >= 0; i-- {
			u = u<<8 | uint64(b[i])
		}
		shift := uint(64 - 8*len(b))
		return int64(u<<shift) >> shift
	}
	be := make([]byte, len(b))
	for i, c := range b {
		be[len(b)-1-i] = c
	}
	n := new(big.Int).SetBytes(be)
	if b[len(b)-1]&0x80 != 0 {
		n.Sub(n, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	return normInt(n)
}

// normInt returns n as int64 when it fits, else n itself.
func normInt(n *big.Int) Value {
	if n.IsInt64() {
		return n.Int64()
	}
	return n
}

// parseTextInt parses a protocol 0 integer the way Python's int(s, 0) does
// for the forms pickle writes: optional sign, decimal or 0x/0o/0b prefix.
func parseTextInt(line []byte) (Value, error) {
	s := strings.TrimSpace(string(line))
	if len(s) > maxIntDigits {
		return nil, fmt.Errorf("integer text of %d characters exceeds the limit of %d", len(s), maxIntDigits)
	}
	body := s
	if len(body) > 0 && (body[0] == '+' || body[0] == '-') {
		body = body[1:]
	}
	base := 10
	if len(body) > 1 && body[0] == '0' && strings.ContainsRune("xXoObB", rune(body[1])) {
		base = 0
	}
	n, ok := new(big.Int).SetString(s, base)
	if !ok || strings.ContainsAny(body, "+-_") {
		return nil, fmt.Errorf("invalid integer %q", s)
	}
	return normInt(n), nil
}

// loadFloatText executes FLOAT.
func (d *decoder) loadFloatText() error {
	line, err := d.readLine()
	if err != nil {
		return err
	}
	s := strings.TrimSpace(string(line))
	f, err := strconv.ParseFloat(s, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return fmt.Errorf("invalid float %q", s)
	}
	d.push(f)
	return nil
}

// loadString executes the str and bytes opcodes.
func (d *decoder) loadString(op byte) error {
	var n uint64
	var err error
	switch op {
	case opSTRING:
		line, err := d.readLine()
		if err != nil {
			return err
		}
		if len(line) < 2 || line[0] != line[len(line)-1] || (line[0] != '"' && line[0] != '\'') {
			return errors.New("string argument is not quoted")
		}
		s, err := escapeDecode(line[1 : len(line)-1])
		if err != nil {
			return err
		}
		d.push(s)
		return nil
	case opUNICODE:
		line, err := d.readLine()
		if err != nil {
			return err
		}
		s, err := rawUnicodeEscape(line)
		if err != nil {
			return err
		}
		d.push(s)
		return nil
	case opSHORT_BINSTRING, opSHORT_BINUNICODE, opSHORT_BINBYTES:
		var b byte
		b, err = d.readByte()
		n = uint64(b)
	case opBINSTRING:
		n, err = d.readUint32()
		if err == nil && int32(uint32(n)) < 0 {
			return fmt.Errorf("negative byte count %d", int32(uint32(n)))
		}
	case opBINUNICODE, opBINBYTES:
		n, err = d.readUint32()
	default: // BINUNICODE8, BINBYTES8, BYTEARRAY8
		n, err = d.readUint64()
	}
	if err != nil {
		return err
	}
	b, err := d.read(n)
	if err != nil {
		return err
	}
	switch op {
	case opBINBYTES, opSHORT_BINBYTES, opBINBYTES8, opBYTEARRAY8:
		d.push(append([]byte{}, b...))
	default:
		d.push(string(b))
	}
	return nil
}

// escapeDecode undoes Python's string-escape as codecs.escape_decode does.
func escapeDecode(b []byte) (string, error) {
	var sb strings.Builder
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c != '\\' {
			sb.WriteByte(c)
			continue
		}
		i++
		if i >= len(b) {
			return "", errors.New(`string ends with "\"`)
		}
		switch c = b[i]; c {
		case '\n':
		case '\\', '\'', '"':
			sb.WriteByte(c)
		case 'a':
			sb.WriteByte('\a')
		case 'b':
			sb.WriteByte('\b')
		case 'f':
			sb.WriteByte('\f')
		case 'n':
			sb.WriteByte('\n')
		case 'r':
			sb.WriteByte('\r')
		case 't':
			sb.WriteByte('\t')
		case 'v':
			sb.WriteByte('\v')
		case 'x':
			if i+2 >= len(b) {
				return "", errors.New(`truncated \x escape`)
			}
			v, err := strconv.ParseUint(string(b[i+1:i+3]), 16, 8)
			if err != nil {
				return "", fmt.Errorf(`invalid \x escape %q`, b[i+1:i+3])
			}
			sb.WriteByte(byte(v))
			i += 2
		case '0', '1', '2', '3', '4', '5', '6', '7':
			v := int(c - '0')
			for k := 0; k < 2 && i+1 < len(b) && b[i+1] >= '0' && b[i+1] <= '7'; k++ {
				i++
				v = v*8 + int(b[i]-'0')
			}
			sb.WriteByte(byte(v))
		default:
			sb.WriteByte('\\')
			sb.WriteByte(c)
		}
	}
	return sb.String(), nil
}

// rawUnicodeEscape decodes Python's raw-unicode-escape codec: \uXXXX and
// \UXXXXXXXX after an odd run of backslashes are escapes, every other byte
// is a Latin-1 character.
func rawUnicodeEscape(b []byte) (string, error) {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); {
		if b[i] != '\\' {
			out = utf8.AppendRune(out, rune(b[i]))
			i++
			continue
		}
		start := i
		for i < len(b) && b[i] == '\\' {
			out = append(out, '\\')
			i++
		}
		if (i-start)%2 == 0 || i >= len(b) || (b[i] != 'u' && b[i] != 'U') {
			continue
		}
		n := 4
		if b[i] == 'U' {
			n = 8
		}
		if i+1+n > len(b) {
			return "", errors.New("truncated \\u escape")
		}
		v, err := strconv.ParseUint(string(b[i+1:i+1+n]), 16, 32)
		if err != nil || v > utf8.MaxRune {
			return "", fmt.Errorf("invalid \\u escape %q", b[i:i+1+n])
		}
		out = utf8.AppendRune(out[:len(out)-1], rune(v)) // drop the escaping backslash
		i += 1 + n
	}
	return string(out), nil
}
