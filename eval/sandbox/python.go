package sandbox

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
)

// pythonInfo is what the jail must contain for an interpreter to run.
type pythonInfo struct {
	Executable string   `json:"executable"` // sys.executable
	Prefixes   []string `json:"prefixes"`   // sys.prefix, base_prefix, exec_prefix, base_exec_prefix
	// Maps are the files mapped into the process after importing the
	// stdlib modules HumanEval programs use: the interpreter, libpython,
	// libc and the extension modules' libraries.
	Maps []string `json:"maps"`
}

// probeScript prints pythonInfo as JSON.
const probeScript = `import json, sys
for m in ('collections', 'datetime', 'decimal', 'fractions', 'functools', 'hashlib', 'heapq',
          'itertools', 'math', 'random', 're', 'statistics', 'string', 'typing', 'ctypes', 'zlib'):
    try:
        __import__(m)
    except Exception:
        pass
maps = set()
try:
    for line in open('/proc/self/maps'):
        f = line.split(None, 5)
        if len(f) == 6 and f[5].startswith('/'):
            maps.add(f[5].strip())
except OSError:
    pass
print(json.dumps({'executable': sys.executable, 'prefixes': [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix],
                  'maps': sorted(maps)}))
`

// probePython runs the interpreter at path with the sandbox's environment
// and reports what it loads.
func probePython(path string) (pythonInfo, error) {
	cmd := exec.Command(path, "-c", probeScript)
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	out, err := cmd.Output()
	if err != nil {
		return pythonInfo{}, fmt.Errorf("sandbox: run %s: %w", path, err)
	}
	var info pythonInfo
	if err := json.Unmarshal(out, &info); err != nil {
		return pythonInfo{}, fmt.Errorf("sandbox: %s is not a Python 3 interpreter (it printed %q): %w", path, strings.TrimSpace(string(out)), err)
	}
	if info.Executable == "" {
		info.Executable = path
	}
	return info, nil
}
