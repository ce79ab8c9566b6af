// Package homefs opens the files of a nanochat home without trusting what
// they are: a path is followed through its symlinks (a loop is an error)
// and then read only if it is a regular file or listed only if it is a
// directory. A named pipe would block an open forever and a device such as
// /dev/zero would never end, so both are refused with an error that says
// what the path is; nothing is opened in a way that can block.
package homefs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// ErrNotRegular is wrapped by the errors of Open and ReadFile for paths that
// are not regular files (after following symlinks).
var ErrNotRegular = errors.New("not a regular file")

// ErrNotDir is wrapped by the errors of ReadDir for paths that are not
// directories (after following symlinks).
var ErrNotDir = errors.New("not a directory")

// Kind names what a file mode is, for errors: "named pipe", "directory", …
func Kind(m fs.FileMode) string {
	switch t := m.Type(); {
	case t == 0:
		return "regular file"
	case t&fs.ModeDir != 0:
		return "directory"
	case t&fs.ModeNamedPipe != 0:
		return "named pipe"
	case t&fs.ModeSocket != 0:
		return "socket"
	case t&fs.ModeCharDevice != 0:
		return "character device"
	case t&fs.ModeDevice != 0:
		return "block device"
	case t&fs.ModeSymlink != 0:
		return "symbolic link"
	default:
		return "irregular file"
	}
}

func notRegular(op, path string, m fs.FileMode) error {
	return &fs.PathError{Op: op, Path: path, Err: fmt.Errorf("%w (%s)", ErrNotRegular, Kind(m))}
}

// Open opens path for reading if it is (after following symlinks) a regular
// file, and returns it with its FileInfo. Named pipes, devices, sockets and
// directories get an error wrapping ErrNotRegular; the path is checked
// before it is opened and the opened file again (it may have been swapped
// in between), and the open itself never blocks.
func Open(path string) (*os.File, fs.FileInfo, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, nil, notRegular("open", path, fi.Mode())
	}
	f, err := openNonblocking(path)
	if err != nil {
		return nil, nil, err
	}
	got, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if !got.Mode().IsRegular() {
		f.Close()
		return nil, nil, notRegular("open", path, got.Mode())
	}
	return f, got, nil
}

// ReadFile reads the regular file at path (see Open) if it holds at most
// limit bytes.
func ReadFile(path string, limit int64) ([]byte, error) {
	f, fi, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi.Size() > limit {
		return nil, &fs.PathError{Op: "read", Path: path, Err: fmt.Errorf("%d bytes, more than the %d this file may hold", fi.Size(), limit)}
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, &fs.PathError{Op: "read", Path: path, Err: fmt.Errorf("more than the %d bytes this file may hold (it grew while being read)", limit)}
	}
	return data, nil
}

// ReadDir lists the directory at path (after following symlinks), sorted by
// name, like os.ReadDir. A path that is not a directory gets an error
// wrapping ErrNotDir, without being opened.
func ReadDir(path string) ([]fs.DirEntry, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return nil, &fs.PathError{Op: "readdir", Path: path, Err: fmt.Errorf("%w (%s)", ErrNotDir, Kind(fi.Mode()))}
	}
	f, err := openDir(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	entries, err := f.ReadDir(-1)
	slices.SortFunc(entries, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return entries, err
}

// Stat is os.Stat (symlinks followed; a loop is an error) for an entry of
// a directory listed by ReadDir, reusing the entry's own information when
// it is not a symlink.
func Stat(dir string, e fs.DirEntry) (fs.FileInfo, error) {
	if e.Type()&fs.ModeSymlink == 0 {
		return e.Info()
	}
	return os.Stat(filepath.Join(dir, e.Name()))
}
