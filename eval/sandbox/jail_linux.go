package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// The jail, seen from the parent: what goes in it, and starting the helper
// (this binary, re-executed as helperName) in fresh namespaces. The helper's
// side is in jailinit_linux.go.

// helperName is the argv[0] that makes this binary set up a jail.
const helperName = "nanochat-sandbox"

// File descriptors of the helper.
const (
	configFD = 3 // jailConfig as JSON; EOF means go
	statusFD = 4 // the helper writes why it failed; EOF at exec means it did not
)

// jailConfig is what the helper needs to build the jail.
type jailConfig struct {
	Root  string   `json:"root"`  // an empty host directory to build the new root on
	Binds []bind   `json:"binds"` // mounted read-only at the same path
	Links []link   `json:"links"` // symlinks at the top of the new root
	Disk  int64    `json:"disk"`  // bytes of the writable tmpfs at /tmp
	Procs int      `json:"procs"` // RLIMIT_NPROC
	RunAs int      `json:"runAs"` // the uid and gid (in the user namespace) the program runs as
	Argv  []string `json:"argv"`
	Env   []string `json:"env"`
}

type bind struct {
	Path string `json:"path"`
	File bool   `json:"file,omitempty"`
}

type link struct {
	Path   string `json:"path"`
	Target string `json:"target"`
}

// jail is how programs are confined on this machine, decided by New.
type jail struct {
	binds      []bind
	links      []link
	uids, gids []syscall.SysProcIDMap // the user namespace's id maps
	runAs      int                    // the id the program runs as, in the namespace
	outside    int                    // and outside it
	cgroups    *cgroupParent          // nil: none could be made
	cgroupWhy  string                 // why not
}

// systemDirs hold the dynamic loader and the C libraries. /etc, /home,
// /root, /tmp, /var, /run, /srv, /opt, /mnt, /media are never mounted
// whole.
var systemDirs = []string{"/usr", "/lib", "/lib64", "/lib32", "/libx32", "/bin", "/sbin"}

// newJail works out the jail for the interpreter; it fails when the kernel
// cannot build it (checked for real by running a program afterwards).
func newJail(o Options, info pythonInfo) (*jail, error) {
	if _, err := os.Stat("/proc/self/ns/user"); err != nil {
		return nil, errors.New("the kernel has no user namespaces (CONFIG_USER_NS)")
	}
	if os.Geteuid() != 0 {
		if b, err := os.ReadFile("/proc/sys/kernel/unprivileged_userns_clone"); err == nil && strings.TrimSpace(string(b)) == "0" {
			return nil, errors.New("unprivileged user namespaces are disabled (sysctl kernel.unprivileged_userns_clone=0)")
		}
	}
	if b, err := os.ReadFile("/proc/sys/user/max_user_namespaces"); err == nil && strings.TrimSpace(string(b)) == "0" {
		return nil, errors.New("user namespaces are disabled (sysctl user.max_user_namespaces=0)")
	}
	j := &jail{}
	if uid := os.Geteuid(); uid == 0 {
		// Root sets the jail up as root of the new user namespace, which is
		// root outside (to reach what it mounts: /root is 0700), and runs
		// the program as uid 1, which is nobody outside: no capabilities,
		// no root-owned files of its own, and RLIMIT_NPROC applies.
		const nobody = 65534
		j.uids = []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}, {ContainerID: 1, HostID: nobody, Size: 1}}
		j.gids = j.uids
		j.runAs, j.outside = 1, nobody
	} else {
		// An unprivileged user maps only itself, and runs the program as
		// that root, with every capability dropped.
		j.uids = []syscall.SysProcIDMap{{ContainerID: 0, HostID: uid, Size: 1}}
		j.gids = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getegid(), Size: 1}}
		j.outside = uid
	}
	var err error
	if j.binds, j.links, err = allowList(info); err != nil {
		return nil, err
	}
	// The first place where a cgroup can be made and limited.
	places, err := findCgroups()
	if err != nil {
		j.cgroupWhy = err.Error()
	}
	for _, p := range places {
		g, err := p.create(o.Memory, o.Procs)
		if err != nil {
			j.cgroupWhy = err.Error()
			continue
		}
		g.remove()
		j.cgroups, j.cgroupWhy = p, ""
		break
	}
	return j, nil
}

// allowList is what the sandbox sees, read-only: the system library
// directories, /etc/ld.so.cache, and the interpreter's own directories
// (its prefixes and those of the libraries it mapped).
func allowList(info pythonInfo) ([]bind, []link, error) {
	var links []link
	var dirs, files []string
	for _, d := range systemDirs {
		fi, err := os.Lstat(d)
		switch {
		case err != nil:
		case fi.Mode()&os.ModeSymlink != 0:
			if t, err := os.Readlink(d); err == nil {
				links = append(links, link{Path: d, Target: t})
			}
		case fi.IsDir():
			dirs = append(dirs, d)
		}
	}
	if fi, err := os.Stat("/etc/ld.so.cache"); err == nil && fi.Mode().IsRegular() {
		files = append(files, "/etc/ld.so.cache")
	}
	// The interpreter's own directories. sys.path is not followed: .pth
	// files may point anywhere (an editable install in a project with its
	// .env), and HumanEval needs only the stdlib.
	home, _ := os.UserHomeDir()
	python := append([]string{filepath.Dir(info.Executable)}, info.Prefixes...)
	for _, p := range python {
		real, ok := realDir(p)
		if !ok {
			continue
		}
		if real == "/" || (home != "" && within(home, real)) {
			return nil, nil, fmt.Errorf("the interpreter lives in %s, which would expose %s to the program: use a Python installed elsewhere (--python)", real, home)
		}
		dirs = append(dirs, real)
	}
	// The directories of the libraries it loaded, where they are not in a
	// place for data or secrets (a library mapped from /tmp or a home).
	private := []string{"/tmp", "/var/tmp", os.TempDir(), "/dev", "/proc", "/sys", "/run", "/etc", "/home", "/root"}
	if home != "" {
		private = append(private, home)
	}
	for _, m := range info.Maps {
		real, ok := realDir(filepath.Dir(m))
		if !ok || slices.ContainsFunc(dirs, func(d string) bool { return within(real, d) }) {
			continue
		}
		if !slices.ContainsFunc(private, func(p string) bool { return within(real, p) }) {
			dirs = append(dirs, real)
		}
	}
	slices.Sort(dirs)
	var binds []bind
	for _, d := range slices.Compact(dirs) {
		if !slices.ContainsFunc(binds, func(b bind) bool { return within(d, b.Path) }) {
			binds = append(binds, bind{Path: d})
		}
	}
	for _, f := range files {
		binds = append(binds, bind{Path: f, File: true})
	}
	return binds, links, nil
}

// namespaceHint names a setting that keeps user namespaces from working
// although they exist, for the error that says the jail failed.
func namespaceHint() string {
	if os.Geteuid() == 0 {
		return ""
	}
	if b, err := os.ReadFile("/proc/sys/kernel/apparmor_restrict_unprivileged_userns"); err == nil && strings.TrimSpace(string(b)) == "1" {
		return " (AppArmor denies capabilities in unprivileged user namespaces: sysctl kernel.apparmor_restrict_unprivileged_userns=1; an AppArmor profile for nanochat with \"userns,\" allows them)"
	}
	return ""
}

// realDir resolves an absolute path to a directory without symlinks.
func realDir(p string) (string, bool) {
	if !filepath.IsAbs(p) {
		return "", false
	}
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return "", false
	}
	fi, err := os.Stat(real)
	return real, err == nil && fi.IsDir()
}

// within reports whether path is dir or below it.
func within(path, dir string) bool {
	return path == dir || dir == "/" || strings.HasPrefix(path, dir+"/")
}

// describe says what the jail is, for Isolation.
func (j *jail) describe(o Options) string {
	var ro []string
	for _, b := range j.binds {
		ro = append(ro, b.Path)
	}
	s := fmt.Sprintf("namespaces (user, mount, pid, net, ipc, uts, cgroup), fresh /proc, read-only %s, %s tmpfs the only writable place, uid %d without capabilities, ",
		strings.Join(ro, " "), mib(o.Disk), j.outside)
	if j.cgroups != nil {
		return s + fmt.Sprintf("cgroup %s: %s and %d tasks in all", j.cgroups.version(), mib(o.Memory), o.Procs)
	}
	return s + fmt.Sprintf("no cgroup (%s): %d tasks (RLIMIT_NPROC) × %s address space each", j.cgroupWhy, o.Procs, mib(o.MemLimit))
}

func mib(n int64) string { return fmt.Sprintf("%d MiB", n>>20) }

// start starts the helper in new namespaces and hands it the program.
func (j *jail) start(o Options, argv []string, stdout, stderr io.Writer) (p *started, err error) {
	var closers []io.Closer
	closeAll := func() {
		for _, c := range closers {
			c.Close()
		}
		closers = nil
	}
	root, err := os.MkdirTemp("", "nanochat-sandbox-")
	if err != nil {
		return nil, err
	}
	var cg *cgroup
	defer func() {
		if err != nil {
			closeAll()
			if cg != nil {
				cg.remove()
			}
			removeAll(root)
		}
	}()
	cfgR, cfgW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	closers = append(closers, cfgR, cfgW)
	statR, statW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	closers = append(closers, statR, statW)
	if j.cgroups != nil {
		if cg, err = j.cgroups.create(o.Memory, o.Procs); err != nil {
			return nil, err
		}
	}
	cmd := &exec.Cmd{
		Path:        "/proc/self/exe",
		Args:        []string{helperName},
		Env:         []string{},
		Stdout:      stdout,
		Stderr:      stderr,
		ExtraFiles:  []*os.File{cfgR, statW},
		SysProcAttr: j.namespaces(),
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("new namespaces: %w", err)
	}
	// The child has its copies; ours of its ends go.
	cfgR.Close()
	statW.Close()
	closers = []io.Closer{cfgW, statR}
	if cg != nil {
		if err := cg.add(cmd.Process.Pid); err != nil {
			cmd.Process.Kill()
			cmd.Wait()
			return nil, err
		}
	}
	cfg := jailConfig{Root: root, Binds: j.binds, Links: j.links, Disk: o.Disk, Procs: o.Procs, RunAs: j.runAs, Argv: argv, Env: []string{"PATH=/usr/bin:/bin"}}
	go func() {
		// Fails only when the helper died; Wait reports that.
		json.NewEncoder(cfgW).Encode(cfg)
		cfgW.Close()
	}()
	finish := func() (bool, error) {
		msg, _ := io.ReadAll(statR)
		oom := cg != nil && cg.oomKilled()
		if len(msg) > 0 {
			return oom, errors.New(string(msg))
		}
		return oom, nil
	}
	cleanup := func() {
		statR.Close()
		if cg != nil {
			cg.remove()
		}
		removeAll(root)
	}
	return &started{cmd: cmd, finish: finish, cleanup: cleanup}, nil
}

// namespaces is how the helper is cloned: in new namespaces, as root of
// its user namespace.
func (j *jail) namespaces() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{
		Cloneflags: syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS | syscall.CLONE_NEWPID | syscall.CLONE_NEWNET |
			syscall.CLONE_NEWIPC | syscall.CLONE_NEWUTS | syscall.CLONE_NEWCGROUP,
		UidMappings: j.uids,
		GidMappings: j.gids,
		// Root may, and must to drop its supplementary groups (the
		// program's uid change does not); an unprivileged user may not.
		GidMappingsEnableSetgroups: os.Geteuid() == 0,
		Setpgid:                    true,
		Pdeathsig:                  syscall.SIGKILL,
	}
}
