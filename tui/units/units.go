// Package units writes counts and sizes for people, one way for the app
// and the CLI: parameters as 2.6M, bytes in binary units as 7.3 MiB.
package units

import (
	"fmt"

	"github.com/dustin/go-humanize"
)

// Params is a parameter count: 950, 12.3K, 2.6M, 561.4M, 1.88B.
func Params(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.2fB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.1fM", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1fK", float64(n)/1e3)
	}
	return fmt.Sprint(n)
}

// Bytes is a size in binary units: 71 B, 7.3 MiB, 910 MiB, 1.0 GiB.
func Bytes(n int64) string { return humanize.IBytes(uint64(max(n, 0))) }
