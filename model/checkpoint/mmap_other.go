//go:build !unix

package checkpoint

import (
	"io"
	"io/fs"

	"github.com/nanochat-go/nanochat/model/homefs"
)

// mapFile reads path into memory on platforms without mmap support here.
func mapFile(path string) ([]byte, fs.FileInfo, func() error, error) {
	f, fi, err := homefs.Open(path)
	if err != nil {
		return nil, nil, nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, nil, nil, err
	}
	return data, fi, func() error { return nil }, nil
}
