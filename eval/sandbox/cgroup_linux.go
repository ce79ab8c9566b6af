package sandbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// cgroupParent is where each sandbox's cgroup is made: a cgroup v2
// directory that delegates memory and pids, or else the v1 memory and pids
// hierarchies (hybrid systems). It is below the cgroup this process is in.
type cgroupParent struct {
	v2        string
	mem, pids string // v1
}

func (p *cgroupParent) version() string {
	if p.v2 != "" {
		return "v2"
	}
	return "v1"
}

// cgroup is one sandbox's group (one directory per v1 hierarchy).
type cgroup struct {
	dirs   []string
	events string // the file with the oom_kill count
}

var cgroupSeq atomic.Int64

// findCgroups lists where this process might make cgroups that limit
// memory and tasks, best first.
func findCgroups() ([]*cgroupParent, error) {
	own, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return nil, err
	}
	mountinfo, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	found := cgroupPlaces(string(own), string(mountinfo), delegates)
	if len(found) == 0 {
		return nil, errors.New("no cgroup delegates the memory and pids controllers to this process")
	}
	return found, nil
}

// cgroupPlaces reads /proc/self/cgroup and /proc/self/mountinfo: under the
// process's own cgroup v2, beside it (cgroup v2 forbids controllers below a
// cgroup that has processes, such as ours, so a sibling in a parent the
// user owns, like systemd's app.slice, is the usual place), under its own
// v1 memory and pids cgroups. delegated says whether a v2 directory gives
// its children memory and pids.
func cgroupPlaces(procCgroup, mountinfo string, delegated func(dir string) bool) []*cgroupParent {
	own := map[string]string{} // controller → path; "" for v2
	for _, line := range strings.Split(strings.TrimSpace(procCgroup), "\n") {
		f := strings.SplitN(line, ":", 3)
		if len(f) != 3 {
			continue
		}
		if f[0] == "0" && f[1] == "" {
			own[""] = f[2]
		}
		for _, c := range strings.Split(f[1], ",") {
			own[c] = f[2]
		}
	}
	var found []*cgroupParent
	var v1mem, v1pids string
	for _, line := range strings.Split(mountinfo, "\n") {
		// id parent maj:min root point options [optional...] - fstype source super
		fields := strings.Fields(line)
		sep := slices.Index(fields, "-")
		if sep < 6 || len(fields) < sep+4 {
			continue
		}
		m := cgroupMount{root: unescapeMount(fields[3]), point: unescapeMount(fields[4])}
		switch fields[sep+1] {
		case "cgroup2":
			if dir, ok := m.dir(own[""]); ok {
				for _, d := range []string{dir, filepath.Dir(dir)} {
					if within(d, m.point) && delegated(d) {
						found = append(found, &cgroupParent{v2: d})
					}
				}
			}
		case "cgroup":
			for _, c := range strings.Split(fields[sep+3], ",") {
				switch c {
				case "memory":
					if dir, ok := m.dir(own["memory"]); ok {
						v1mem = dir
					}
				case "pids":
					if dir, ok := m.dir(own["pids"]); ok {
						v1pids = dir
					}
				}
			}
		}
	}
	if v1mem != "" {
		found = append(found, &cgroupParent{mem: v1mem, pids: v1pids})
	}
	return found
}

// delegates reports whether children of the cgroup v2 directory get the
// memory and pids controllers, enabling them where allowed (it is not when
// a process is in dir: the "no internal processes" rule).
func delegates(dir string) bool {
	has := func(file string) bool {
		b, _ := os.ReadFile(filepath.Join(dir, file))
		f := strings.Fields(string(b))
		return slices.Contains(f, "memory") && slices.Contains(f, "pids")
	}
	if !has("cgroup.controllers") {
		return false
	}
	if !has("cgroup.subtree_control") {
		os.WriteFile(filepath.Join(dir, "cgroup.subtree_control"), []byte("+memory +pids"), 0)
	}
	return has("cgroup.subtree_control")
}

// cgroupMount is a cgroup file system: the cgroup at its root, mounted at point.
type cgroupMount struct {
	root, point string
}

// dir is the directory of cgroup path in this mount, if the mount shows it.
func (m cgroupMount) dir(path string) (string, bool) {
	if path == "" {
		return "", false
	}
	rel, err := filepath.Rel(m.root, path)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return "", false
	}
	return filepath.Join(m.point, rel), true
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// create makes a sandbox's cgroup: memory (with swap) at most mem bytes,
// at most procs tasks.
func (p *cgroupParent) create(mem int64, procs int) (_ *cgroup, err error) {
	name := fmt.Sprintf("nanochat-sandbox-%d-%d", os.Getpid(), cgroupSeq.Add(1))
	g := &cgroup{}
	defer func() {
		if err != nil {
			g.remove()
		}
	}()
	mk := func(parent string, limits ...string) (string, error) {
		dir := filepath.Join(parent, name)
		if err := os.Mkdir(dir, 0o755); err != nil {
			return "", fmt.Errorf("make cgroup: %w", err)
		}
		g.dirs = append(g.dirs, dir)
		for i := 0; i < len(limits); i += 2 {
			if err := os.WriteFile(filepath.Join(dir, limits[i]), []byte(limits[i+1]), 0); err != nil {
				return "", fmt.Errorf("cgroup limit: %w", err)
			}
		}
		return dir, nil
	}
	m, n := strconv.FormatInt(mem, 10), strconv.Itoa(procs)
	if p.v2 != "" {
		dir, err := mk(p.v2, "memory.max", m, "pids.max", n)
		if err != nil {
			return nil, err
		}
		os.WriteFile(filepath.Join(dir, "memory.swap.max"), []byte("0"), 0) // absent without swap accounting
		g.events = filepath.Join(dir, "memory.events")
		return g, nil
	}
	dir, err := mk(p.mem, "memory.limit_in_bytes", m)
	if err != nil {
		return nil, err
	}
	os.WriteFile(filepath.Join(dir, "memory.memsw.limit_in_bytes"), []byte(m), 0) // absent without swap accounting
	g.events = filepath.Join(dir, "memory.oom_control")
	if p.pids != "" {
		if _, err := mk(p.pids, "pids.max", n); err != nil {
			return nil, err
		}
	}
	return g, nil
}

// add moves a process (all its threads) into the group.
func (g *cgroup) add(pid int) error {
	for _, d := range g.dirs {
		if err := os.WriteFile(filepath.Join(d, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0); err != nil {
			return fmt.Errorf("join cgroup: %w", err)
		}
	}
	return nil
}

// oomKilled reports whether the kernel killed a process of the group for
// exceeding its memory.
func (g *cgroup) oomKilled() bool {
	b, _ := os.ReadFile(g.events)
	for _, line := range strings.Split(string(b), "\n") {
		if n, ok := strings.CutPrefix(line, "oom_kill "); ok && strings.TrimSpace(n) != "0" {
			return true
		}
	}
	return false
}

// remove deletes the group once its processes are gone (they are when the
// PID namespace's init has been reaped; the kernel may lag a little).
func (g *cgroup) remove() {
	for _, d := range g.dirs {
		for i := 0; i < 100; i++ {
			err := syscall.Rmdir(d)
			if err == nil || err == syscall.ENOENT {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}
