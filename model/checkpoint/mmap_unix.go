//go:build unix

package checkpoint

import (
	"fmt"
	"io/fs"
	"syscall"

	"github.com/nanochat-go/nanochat/model/homefs"
)

// mapFile maps path read-only and returns the mapping, the file's info
// and the release function. Multi-gigabyte checkpoints are paged in on
// demand, never copied. A path that is not a regular file (a named pipe, a
// device) is refused without blocking.
func mapFile(path string) ([]byte, fs.FileInfo, func() error, error) {
	f, fi, err := homefs.Open(path)
	if err != nil {
		return nil, nil, nil, err
	}
	defer f.Close()
	size := fi.Size()
	if size == 0 {
		return []byte{}, fi, func() error { return nil }, nil
	}
	if int64(int(size)) != size {
		return nil, nil, nil, fmt.Errorf("%d bytes is too large to map on this platform", size)
	}
	data, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("mmap: %w", err)
	}
	return data, fi, func() error { return syscall.Munmap(data) }, nil
}
