package checkpoint

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"unsafe"
)

// ErrChanged is wrapped by the error of Guard (and Open) when the file
// changed on disk while it was being read: it was truncated under the
// mapping, or its size or modification time moved.
var ErrChanged = errors.New("file changed on disk while it was being read (truncated or overwritten in place?); load it again")

// Guard runs read, which reads the data of f's tensors on the calling
// goroutine, and returns its error. Reading a page of the mapping past the
// end of a file that was truncated meanwhile faults (SIGBUS); inside Guard
// the fault becomes an error wrapping ErrChanged instead of killing the
// process. When read succeeds, Guard also checks that the file on disk is
// still the one Open mapped, at the same size and modification time, so an
// overwrite in place during read is an error too (a file replaced by
// rename or deleted is fine: the mapping keeps the old one).
//
// Only the calling goroutine is protected (runtime/debug.SetPanicOnFault
// is per goroutine): read must not hand the data to other goroutines, such
// as a worker pool.
func (f *File) Guard(read func() error) error {
	if err := guard(f.data, read); err != nil {
		return err
	}
	if f.info == nil {
		return nil
	}
	now, err := os.Stat(f.Path)
	if err != nil || !os.SameFile(now, f.info) {
		return nil // replaced or removed: the mapping still holds the old file
	}
	if now.Size() != f.info.Size() || !now.ModTime().Equal(f.info.ModTime()) {
		return fmt.Errorf("%w (size %d → %d, modified %v → %v)", ErrChanged,
			f.info.Size(), now.Size(), f.info.ModTime().Format("15:04:05.000000000"), now.ModTime().Format("15:04:05.000000000"))
	}
	return nil
}

// guard runs read with faults turned into panics, and recovers the panic
// of a fault inside data (the mapping) as an error wrapping ErrChanged.
// Other panics, and faults elsewhere, are not its business and go on.
func guard(data []byte, read func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		if addr, ok := faultAddr(r); ok && inside(data, addr) {
			err = fmt.Errorf("%w: %v", ErrChanged, r)
			return
		}
		panic(r)
	}()
	return read()
}

// faultAddr returns the faulting address of a panic raised by a memory
// fault under SetPanicOnFault.
func faultAddr(r any) (uintptr, bool) {
	re, ok := r.(runtime.Error)
	if !ok {
		return 0, false
	}
	a, ok := re.(interface{ Addr() uintptr })
	if !ok {
		return 0, false
	}
	return a.Addr(), true
}

func inside(data []byte, addr uintptr) bool {
	if len(data) == 0 {
		return false
	}
	lo := uintptr(unsafe.Pointer(unsafe.SliceData(data)))
	return addr >= lo && addr-lo < uintptr(len(data))
}
