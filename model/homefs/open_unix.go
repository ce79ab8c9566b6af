//go:build unix

package homefs

import (
	"os"
	"syscall"
)

// openNonblocking opens path read-only with O_NONBLOCK, so that a path
// swapped for a named pipe after it was checked cannot block the open (the
// caller checks the opened file). O_NONBLOCK does not affect reads of
// regular files.
func openNonblocking(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
}

// openDir opens path only if it is a directory (O_DIRECTORY), without
// blocking.
func openDir(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_DIRECTORY, 0)
}
