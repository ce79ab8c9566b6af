import faulthandler, builtins, os, shutil, subprocess, sys
# --- nanochat-go additions: kernel-enforced limits that the model's code
# cannot undo (Landlock on Linux: no writes outside the working directory,
# no TCP, no signals to other processes), applied before upstream's guard.
def _nanochat_confine(cpu, fsize, landlock):
    if sys.platform == "darwin":
        return
    import resource
    if cpu:
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
    if fsize:
        resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
    if not landlock or not sys.platform.startswith("linux"):
        _nanochat_open_guard()
        return
    import ctypes, struct
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    abi = libc.syscall(444, None, 0, 1)  # landlock_create_ruleset(NULL, 0, VERSION)
    if abi < 1:
        sys.stderr.write("nanochat sandbox: landlock unavailable\n")
        os._exit(97)
    # Filesystem rights by ABI: 1 = 0x1fff, 2 adds REFER, 3 TRUNCATE, 5 IOCTL_DEV.
    fs_all = 0x1fff | (0x2000 if abi >= 2 else 0) | (0x4000 if abi >= 3 else 0) | (0x8000 if abi >= 5 else 0)
    fs_read = 0x1 | 0x4 | 0x8  # EXECUTE, READ_FILE, READ_DIR
    net = 0x3 if abi >= 4 else 0  # BIND_TCP, CONNECT_TCP: no rules, so none allowed
    scope = 0x3 if abi >= 6 else 0  # abstract unix sockets, signals
    attr = struct.pack("QQQ", fs_all, net, scope)
    size = 8 if abi < 4 else (16 if abi < 6 else 24)
    buf = ctypes.create_string_buffer(attr[:size], size)
    rs = libc.syscall(444, buf, size, 0)
    if rs < 0:
        sys.stderr.write("nanochat sandbox: landlock_create_ruleset: %s\n" % os.strerror(ctypes.get_errno()))
        os._exit(97)
    def allow(path, rights):
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
        rule = ctypes.create_string_buffer(struct.pack("=Qi", rights, fd), 12)
        r = libc.syscall(445, rs, 1, rule, 0)  # LANDLOCK_RULE_PATH_BENEATH
        os.close(fd)
        if r < 0:
            sys.stderr.write("nanochat sandbox: landlock_add_rule %s: %s\n" % (path, os.strerror(ctypes.get_errno())))
            os._exit(97)
    allow("/", fs_read)
    allow(os.getcwd(), fs_all)
    if os.path.exists("/dev/null"):
        allow("/dev/null", 0x2 | 0x4)  # WRITE_FILE, READ_FILE
    if libc.prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS
        os._exit(97)
    if libc.syscall(446, rs, 0) != 0:  # landlock_restrict_self
        sys.stderr.write("nanochat sandbox: landlock_restrict_self: %s\n" % os.strerror(ctypes.get_errno()))
        os._exit(97)
    os.close(rs)
def _nanochat_open_guard():
    # Without Landlock: refuse to open files for writing outside the working
    # directory (catches accidents, not adversaries).
    import io
    root = os.path.realpath(os.getcwd())
    def inside(path):
        if isinstance(path, int):
            return True
        p = os.path.realpath(os.path.join(root, os.fsdecode(path)))
        return p == root or p.startswith(root + os.sep)
    real_open, real_os_open = builtins.open, os.open
    def guarded_open(file, mode="r", *args, **kwargs):
        if any(c in mode for c in "wax+") and not inside(file):
            raise PermissionError("sandbox: writing outside the working directory: %r" % (file,))
        return real_open(file, mode, *args, **kwargs)
    def guarded_os_open(path, flags, *args, **kwargs):
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND) and not inside(path):
            raise PermissionError("sandbox: writing outside the working directory: %r" % (path,))
        return real_os_open(path, flags, *args, **kwargs)
    builtins.open = io.open = guarded_open
    os.open = guarded_os_open
_nanochat_confine({cpu}, {fsize}, {landlock})
del _nanochat_confine, _nanochat_open_guard
# --- upstream nanochat/execution.py GUARD (f4f69f9), verbatim.
maximum_memory_bytes = {maximum_memory_bytes}
if maximum_memory_bytes is not None and sys.platform != "darwin":
    # (the resource limit calls seem to fail on macOS, skip them there)
    import resource
    resource.setrlimit(resource.RLIMIT_AS, (maximum_memory_bytes, maximum_memory_bytes))
    resource.setrlimit(resource.RLIMIT_DATA, (maximum_memory_bytes, maximum_memory_bytes))
    resource.setrlimit(resource.RLIMIT_STACK, (maximum_memory_bytes, maximum_memory_bytes))
faulthandler.disable()
builtins.exit = None
builtins.quit = None
builtins.help = None
os.environ["OMP_NUM_THREADS"] = "1"
for name in ("kill", "system", "putenv", "remove", "removedirs", "rmdir", "fchdir",
             "setuid", "fork", "forkpty", "killpg", "rename", "renames", "truncate",
             "replace", "unlink", "fchmod", "fchown", "chmod", "chown", "chroot",
             "lchflags", "lchmod", "lchown", "getcwd", "chdir"):
    setattr(os, name, None)
for name in ("rmtree", "move", "chown"):
    setattr(shutil, name, None)
subprocess.Popen = None
for name in ("ipdb", "joblib", "resource", "psutil", "tkinter"):
    sys.modules[name] = None
