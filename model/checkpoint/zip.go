package checkpoint

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Zip record signatures and sizes (PKWARE APPNOTE 4.3).
const (
	sigLocal        = 0x04034b50
	sigCentral      = 0x02014b50
	sigEnd          = 0x06054b50
	sigEnd64        = 0x06064b50
	sigEnd64Locator = 0x07064b50

	localLen        = 30
	centralLen      = 46
	endLen          = 22
	end64Len        = 56
	end64LocatorLen = 20

	zip64ExtraID = 0x0001
)

// zipEntry is one central-directory record.
type zipEntry struct {
	name      string
	flags     uint16
	method    uint16
	csize     uint64
	usize     uint64
	headerOff uint64
}

// zipArchive is the parsed central directory of a zip held in memory.
type zipArchive struct {
	data    []byte
	entries []zipEntry
	byName  map[string]int
}

// readZip parses the central directory of the zip archive in data. Only
// the directory is read; entry contents are sliced lazily by entryData.
func readZip(data []byte) (*zipArchive, error) {
	endOff, err := findEnd(data)
	if err != nil {
		return nil, err
	}
	end := data[endOff:]
	le := binary.LittleEndian
	if le.Uint16(end[4:]) != 0 || le.Uint16(end[6:]) != 0 {
		return nil, errors.New("zip: multi-disk archives are not supported")
	}
	count := uint64(le.Uint16(end[10:]))
	cdSize := uint64(le.Uint32(end[12:]))
	cdOff := uint64(le.Uint32(end[16:]))

	if endOff >= end64LocatorLen && le.Uint32(data[endOff-end64LocatorLen:]) == sigEnd64Locator {
		loc := data[endOff-end64LocatorLen:]
		off := le.Uint64(loc[8:])
		if off > uint64(len(data)) || uint64(len(data))-off < end64Len {
			return nil, fmt.Errorf("zip: zip64 end of central directory offset %d out of range", off)
		}
		rec := data[off:]
		if le.Uint32(rec) != sigEnd64 {
			return nil, fmt.Errorf("zip: no zip64 end of central directory record at offset %d", off)
		}
		count = le.Uint64(rec[32:])
		cdSize = le.Uint64(rec[40:])
		cdOff = le.Uint64(rec[48:])
	}
	if cdOff > uint64(len(data)) || cdSize > uint64(len(data))-cdOff {
		return nil, fmt.Errorf("zip: central directory (offset %d, %d bytes) lies outside the %d-byte file", cdOff, cdSize, len(data))
	}
	if count > cdSize/centralLen {
		return nil, fmt.Errorf("zip: %d entries cannot fit a %d-byte central directory", count, cdSize)
	}
	z := &zipArchive{data: data, entries: make([]zipEntry, 0, count), byName: make(map[string]int, count)}
	cd := data[cdOff : cdOff+cdSize]
	for i := uint64(0); i < count; i++ {
		e, n, err := parseCentral(cd)
		if err != nil {
			return nil, fmt.Errorf("zip: central directory entry %d: %w", i, err)
		}
		cd = cd[n:]
		if _, dup := z.byName[e.name]; !dup {
			z.byName[e.name] = len(z.entries)
		}
		z.entries = append(z.entries, e)
	}
	return z, nil
}

// findEnd locates the end-of-central-directory record, which sits in the
// last 22 bytes plus up to 64 KiB of comment.
func findEnd(data []byte) (int, error) {
	if len(data) < endLen {
		return 0, fmt.Errorf("not a zip archive: %d bytes is too short", len(data))
	}
	lo := max(0, len(data)-endLen-0xffff)
	for i := len(data) - endLen; i >= lo; i-- {
		if binary.LittleEndian.Uint32(data[i:]) != sigEnd {
			continue
		}
		if i+endLen+int(binary.LittleEndian.Uint16(data[i+20:])) <= len(data) {
			return i, nil
		}
	}
	return 0, errors.New("not a zip archive: no end of central directory record")
}

// parseCentral parses the central-directory record at the start of b and
// returns it with its length.
func parseCentral(b []byte) (zipEntry, int, error) {
	le := binary.LittleEndian
	if len(b) < centralLen {
		return zipEntry{}, 0, errors.New("truncated record")
	}
	if le.Uint32(b) != sigCentral {
		return zipEntry{}, 0, errors.New("bad signature")
	}
	nameLen, extraLen, commentLen := int(le.Uint16(b[28:])), int(le.Uint16(b[30:])), int(le.Uint16(b[32:]))
	n := centralLen + nameLen + extraLen + commentLen
	if n > len(b) {
		return zipEntry{}, 0, errors.New("truncated record")
	}
	e := zipEntry{
		name:      string(b[centralLen : centralLen+nameLen]),
		flags:     le.Uint16(b[8:]),
		method:    le.Uint16(b[10:]),
		csize:     uint64(le.Uint32(b[20:])),
		usize:     uint64(le.Uint32(b[24:])),
		headerOff: uint64(le.Uint32(b[42:])),
	}
	needU, needC, needOff := e.usize == 0xffffffff, e.csize == 0xffffffff, e.headerOff == 0xffffffff
	extra := b[centralLen+nameLen : centralLen+nameLen+extraLen]
	for len(extra) >= 4 {
		id, size := le.Uint16(extra), int(le.Uint16(extra[2:]))
		if 4+size > len(extra) {
			break
		}
		field := extra[4 : 4+size]
		extra = extra[4+size:]
		if id != zip64ExtraID {
			continue
		}
		// The zip64 field holds, in order, only the values whose 32-bit
		// fields are saturated.
		for _, f := range []struct {
			need bool
			dst  *uint64
		}{{needU, &e.usize}, {needC, &e.csize}, {needOff, &e.headerOff}} {
			if !f.need {
				continue
			}
			if len(field) < 8 {
				return zipEntry{}, 0, fmt.Errorf("%q: truncated zip64 extra field", e.name)
			}
			*f.dst = le.Uint64(field)
			field = field[8:]
		}
		needU, needC, needOff = false, false, false
	}
	if needU || needC || needOff {
		return zipEntry{}, 0, fmt.Errorf("%q: saturated size or offset without a zip64 extra field", e.name)
	}
	return e, n, nil
}

// entry returns the entry named name.
func (z *zipArchive) entry(name string) (zipEntry, bool) {
	i, ok := z.byName[name]
	if !ok {
		return zipEntry{}, false
	}
	return z.entries[i], true
}

// entryData returns the stored bytes of e as a sub-slice of the archive.
func (z *zipArchive) entryData(e zipEntry) ([]byte, error) {
	le := binary.LittleEndian
	if e.flags&1 != 0 {
		return nil, fmt.Errorf("record %q is encrypted", e.name)
	}
	if e.method != 0 {
		return nil, fmt.Errorf("record %q is compressed (method %d); torch.save stores records uncompressed", e.name, e.method)
	}
	if e.csize != e.usize {
		return nil, fmt.Errorf("record %q is stored with %d bytes but declares %d uncompressed", e.name, e.csize, e.usize)
	}
	size := uint64(len(z.data))
	if e.headerOff > size || size-e.headerOff < localLen {
		return nil, fmt.Errorf("record %q: local header at offset %d lies outside the %d-byte file", e.name, e.headerOff, size)
	}
	h := z.data[e.headerOff:]
	if le.Uint32(h) != sigLocal {
		return nil, fmt.Errorf("record %q: bad local header signature at offset %d", e.name, e.headerOff)
	}
	start := e.headerOff + localLen + uint64(le.Uint16(h[26:])) + uint64(le.Uint16(h[28:]))
	if start > size || e.csize > size-start {
		return nil, fmt.Errorf("record %q: %d bytes at offset %d run past the end of the %d-byte file", e.name, e.csize, start, size)
	}
	return z.data[start : start+e.csize : start+e.csize], nil
}
