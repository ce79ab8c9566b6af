package perf

import (
	"io/fs"
	"os"
	"path"
	"strconv"
	"strings"
)

// LastLevelCache returns the level and size of CPU 0's last-level data
// cache as Linux reports it (/sys/devices/system/cpu/cpu0/cache/index*/
// level, type, size), or 0, 0 where that is unknown. It is a CPU figure:
// on a GPU backend, leave Peaks.LLCBytes zero.
func LastLevelCache() (level int, bytes int64) {
	return lastLevelCache(os.DirFS("/sys/devices/system/cpu/cpu0/cache"))
}

// lastLevelCache reads a cache directory laid out like sysfs's.
func lastLevelCache(dir fs.FS) (level int, bytes int64) {
	entries, err := fs.Glob(dir, "index*")
	if err != nil {
		return 0, 0
	}
	for _, e := range entries {
		read := func(name string) string {
			b, err := fs.ReadFile(dir, path.Join(e, name))
			if err != nil {
				return ""
			}
			return strings.TrimSpace(string(b))
		}
		if read("type") == "Instruction" {
			continue
		}
		l, err := strconv.Atoi(read("level"))
		if err != nil {
			continue
		}
		size := parseSize(read("size"))
		if size > 0 && (l > level || l == level && size > bytes) {
			level, bytes = l, size
		}
	}
	return level, bytes
}

// parseSize reads sysfs's "32768K" (also "512", "1M", "1G").
func parseSize(s string) int64 {
	mult := int64(1)
	switch {
	case strings.HasSuffix(s, "K"):
		mult, s = 1<<10, strings.TrimSuffix(s, "K")
	case strings.HasSuffix(s, "M"):
		mult, s = 1<<20, strings.TrimSuffix(s, "M")
	case strings.HasSuffix(s, "G"):
		mult, s = 1<<30, strings.TrimSuffix(s, "G")
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n * mult
}
