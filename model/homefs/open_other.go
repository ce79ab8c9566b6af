//go:build !unix

package homefs

import "os"

// openNonblocking opens path read-only; platforms other than unix have no
// named pipes in the file system to block on.
func openNonblocking(path string) (*os.File, error) { return os.Open(path) }

// openDir opens path for listing.
func openDir(path string) (*os.File, error) { return os.Open(path) }
