package sandbox

import (
	"bufio"
	"cmp"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"unsafe"
)

// The jail, seen from the helper: a process started by jail.start as
// helperName, already in its new namespaces and cgroup, builds the new
// root, gives up every privilege and becomes the Python program (PID 1 of
// the new PID namespace, so when it exits the kernel kills whatever it
// started).

func init() {
	if len(os.Args) != 1 || os.Args[0] != helperName {
		return
	}
	// Credentials (capabilities, no_new_privs) belong to a thread; the one
	// that drops them is the one that calls execve.
	runtime.LockOSThread()
	err := enterJail()
	fmt.Fprintf(os.NewFile(statusFD, "status"), "set up the jail: %v", err)
	os.Exit(125)
}

// enterJail builds the jail and executes the program; it returns only on
// failure.
func enterJail() error {
	var cfg jailConfig
	f := os.NewFile(configFD, "config")
	if err := json.NewDecoder(f).Decode(&cfg); err != nil {
		return fmt.Errorf("read the configuration: %w", err)
	}
	f.Close()
	if len(cfg.Argv) == 0 {
		return fmt.Errorf("no program")
	}
	root := cfg.Root

	// 1. Mounts made here stay here.
	if err := mount("", "/", "", syscall.MS_REC|syscall.MS_PRIVATE, ""); err != nil {
		return err
	}
	// 2. The new root: an empty tmpfs, read-only once built.
	if err := mount("tmpfs", root, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV, "size=1m,nr_inodes=4096,mode=0755"); err != nil {
		return err
	}
	// 3. The allow-list, read-only.
	for _, b := range cfg.Binds {
		target := filepath.Join(root, b.Path)
		if err := makeTarget(target, b.File); err != nil {
			return err
		}
		if err := mount(b.Path, target, "", syscall.MS_BIND|syscall.MS_REC, ""); err != nil {
			return err
		}
		if err := readOnly(target, syscall.MS_NOSUID|syscall.MS_NODEV); err != nil {
			return err
		}
	}
	for _, l := range cfg.Links {
		if err := os.Symlink(l.Target, filepath.Join(root, l.Path)); err != nil {
			return err
		}
	}
	// 4. /dev: the harmless devices.
	for _, d := range []string{"null", "zero", "full", "random", "urandom"} {
		target := filepath.Join(root, "dev", d)
		if err := makeTarget(target, true); err != nil {
			return err
		}
		if err := mount("/dev/"+d, target, "", syscall.MS_BIND, ""); err != nil {
			return err
		}
		if err := readOnly(target, syscall.MS_NOSUID|syscall.MS_NOEXEC); err != nil {
			return err
		}
	}
	for name, target := range map[string]string{"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0", "stdout": "/proc/self/fd/1", "stderr": "/proc/self/fd/2"} {
		if err := os.Symlink(target, filepath.Join(root, "dev", name)); err != nil {
			return err
		}
	}
	// 5. A /proc of this PID namespace (only its processes), without the
	// kernel's global files where the kernel allows (subset=pid, 5.8).
	proc := filepath.Join(root, "proc")
	if err := os.Mkdir(proc, 0o555); err != nil {
		return err
	}
	const procFlags = syscall.MS_NOSUID | syscall.MS_NODEV | syscall.MS_NOEXEC
	if mount("proc", proc, "proc", procFlags, "subset=pid") != nil {
		if err := mount("proc", proc, "proc", procFlags, ""); err != nil {
			return err
		}
	}
	// 6. The one writable place: a size-capped tmpfs, the working directory.
	tmp := filepath.Join(root, "tmp")
	if err := os.Mkdir(tmp, 0o755); err != nil {
		return err
	}
	if err := mount("tmpfs", tmp, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV, fmt.Sprintf("size=%d,nr_inodes=16384,mode=1777", cfg.Disk)); err != nil {
		return err
	}
	// 7. Make it the root and let go of the host's.
	if err := syscall.Chdir(root); err != nil {
		return err
	}
	if err := syscall.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root: %w", err)
	}
	if err := syscall.Unmount(".", syscall.MNT_DETACH); err != nil {
		return fmt.Errorf("detach the host's root: %w", err)
	}
	if err := mount("", "/", "", syscall.MS_REMOUNT|syscall.MS_BIND|syscall.MS_RDONLY|syscall.MS_NOSUID|syscall.MS_NODEV, ""); err != nil {
		return err
	}
	if err := syscall.Chdir("/tmp"); err != nil {
		return err
	}
	if err := syscall.Sethostname([]byte("sandbox")); err != nil {
		return fmt.Errorf("sethostname: %w", err)
	}
	// 8. Limits that hold for every process of the sandbox: RLIMIT_NPROC
	// counts the tasks of this user namespace's root.
	for _, l := range []struct {
		res int
		max uint64
	}{{rlimitNPROC, uint64(cfg.Procs)}, {syscall.RLIMIT_CORE, 0}} {
		if err := syscall.Setrlimit(l.res, &syscall.Rlimit{Cur: l.max, Max: l.max}); err != nil {
			return fmt.Errorf("setrlimit %d: %w", l.res, err)
		}
	}
	// 9. Nothing but stdin, stdout and stderr crosses into the program.
	if err := closeOnExec(); err != nil {
		return err
	}
	// 10. No privileges, not even in the new user namespace (else it could
	// remount the binds read-write or unmount them).
	if err := dropPrivileges(cfg.RunAs); err != nil {
		return err
	}
	return syscall.Exec(cfg.Argv[0], cfg.Argv, cfg.Env)
}

// rlimitNPROC is RLIMIT_NPROC, which package syscall does not name.
const rlimitNPROC = 6

func mount(source, target, fstype string, flags uintptr, data string) error {
	if err := syscall.Mount(source, target, fstype, flags, data); err != nil {
		return fmt.Errorf("mount %s on %s: %w", cmp.Or(fstype, source, "(flags)"), target, err)
	}
	return nil
}

// makeTarget creates an empty directory or file to mount on.
func makeTarget(path string, file bool) error {
	if !file {
		return os.MkdirAll(path, 0o755)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	return f.Close()
}

// readOnly makes the mount at target and every mount below it read-only,
// adding flags (MS_NOSUID, MS_NODEV, MS_NOEXEC).
func readOnly(target string, flags uintptr) error {
	// mount_setattr(AT_FDCWD, target, AT_RECURSIVE, ...), Linux 5.12.
	const sysMountSetattr, atRecursive = 442, 0x8000
	attr := struct{ set, clr, propagation, userns uint64 }{set: 1} // MOUNT_ATTR_RDONLY
	for _, f := range []struct{ ms, attr uintptr }{{syscall.MS_NOSUID, 2}, {syscall.MS_NODEV, 4}, {syscall.MS_NOEXEC, 8}} {
		if flags&f.ms != 0 {
			attr.set |= uint64(f.attr)
		}
	}
	p, err := syscall.BytePtrFromString(target)
	if err != nil {
		return err
	}
	atFDCWD := -100
	_, _, errno := syscall.Syscall6(sysMountSetattr, uintptr(atFDCWD), uintptr(unsafe.Pointer(p)), atRecursive,
		uintptr(unsafe.Pointer(&attr)), unsafe.Sizeof(attr), 0)
	switch errno {
	case 0:
		return nil
	case syscall.ENOSYS:
	default:
		return fmt.Errorf("mount_setattr %s read-only: %w", target, errno)
	}
	// Older kernels: remount each, keeping the flags a user namespace may
	// not clear.
	points, err := mountsBelow(target)
	if err != nil {
		return err
	}
	for _, m := range points {
		var st syscall.Statfs_t
		if err := syscall.Statfs(m, &st); err != nil {
			return err
		}
		keep := uintptr(st.Flags) & (syscall.MS_NOSUID | syscall.MS_NODEV | syscall.MS_NOEXEC | syscall.MS_NOATIME | syscall.MS_NODIRATIME | syscall.MS_RELATIME)
		if err := mount("", m, "", syscall.MS_REMOUNT|syscall.MS_BIND|syscall.MS_RDONLY|keep|flags, ""); err != nil {
			return err
		}
	}
	return nil
}

// mountsBelow lists the mount points at or below dir, outermost first.
func mountsBelow(dir string) ([]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var points []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fields := strings.Fields(sc.Text()); len(fields) > 4 {
			if p := unescapeMount(fields[4]); within(p, dir) {
				points = append(points, p)
			}
		}
	}
	return points, sc.Err()
}

// closeOnExec marks every descriptor but 0, 1 and 2 close-on-exec.
func closeOnExec() error {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return err
	}
	for _, e := range ents {
		if fd, err := strconv.Atoi(e.Name()); err == nil && fd > 2 {
			syscall.CloseOnExec(fd)
		}
	}
	return nil
}

// dropPrivileges sets no_new_privs, becomes uid and gid id (without
// supplementary groups) unless id is 0, and empties the capability
// bounding, ambient, inheritable, permitted and effective sets of this
// thread, so that the program starts with none, even as uid 0 of its user
// namespace.
func dropPrivileges(id int) error {
	const (
		prSetNoNewPrivs = 38
		prCapbsetDrop   = 24
		prCapAmbient    = 47
		prCapAmbientAll = 4 // PR_CAP_AMBIENT_CLEAR_ALL
	)
	prctl := func(op, arg uintptr) syscall.Errno {
		_, _, e := syscall.RawSyscall6(syscall.SYS_PRCTL, op, arg, 0, 0, 0, 0)
		return e
	}
	if e := prctl(prSetNoNewPrivs, 1); e != 0 {
		return fmt.Errorf("no_new_privs: %w", e)
	}
	for c := uintptr(0); ; c++ {
		if e := prctl(prCapbsetDrop, c); e == syscall.EINVAL {
			break // past the last capability
		} else if e != 0 {
			return fmt.Errorf("drop capability %d: %w", c, e)
		}
	}
	if e := prctl(prCapAmbient, prCapAmbientAll); e != 0 && e != syscall.EINVAL {
		return fmt.Errorf("clear ambient capabilities: %w", e)
	}
	if id != 0 {
		if err := syscall.Setgroups(nil); err != nil {
			return fmt.Errorf("setgroups: %w", err)
		}
		if err := syscall.Setresgid(id, id, id); err != nil {
			return fmt.Errorf("setresgid: %w", err)
		}
		if err := syscall.Setresuid(id, id, id); err != nil {
			return fmt.Errorf("setresuid: %w", err)
		}
	}
	hdr := struct {
		version uint32
		pid     int32
	}{version: 0x20080522} // _LINUX_CAPABILITY_VERSION_3
	var data [2]struct{ effective, permitted, inheritable uint32 }
	if _, _, e := syscall.RawSyscall(syscall.SYS_CAPSET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&data[0])), 0); e != 0 {
		return fmt.Errorf("capset: %w", e)
	}
	return nil
}
