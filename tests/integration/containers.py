# SPDX-License-Identifier: Apache-2.0
"""Real runc containers shaped like ECS task containers, for attribution tests.

`RuncContainer` writes an OCI bundle from Python and runs one command in it
with the host's runc, placed in a cgroup path of the caller's choosing, e.g.

    /ecstasks.slice/ecstasks-<32 hex task id>.slice/docker-<64 hex id>.scope
        (ECS on Amazon Linux 2023, Docker with the systemd cgroup driver)
    /ecs/<32 hex task id>/<64 hex id>
        (ECS on Amazon Linux 2, Docker with the cgroupfs driver)

How the container is built (and why):
- The root filesystem is an empty read-only directory holding only the
  mountpoints. The host's /usr, /lib, /lib64, /bin, /sbin and /etc and the
  repository's build/ directory are bind-mounted read-only at the same paths,
  so host binaries (build/tools/minersim, /usr/bin/python3, ...) run unchanged
  inside. A writable tmpfs is mounted on /tmp.
- config.json has no `process.rlimits` and no `hostname`: on these machines
  setting either is refused (podman and crun fail on setrlimit). The UTS
  namespace is still new, so the container has its own copy of the hostname.
- Namespaces: mount, ipc, uts and, by default, pid. No network namespace by
  default, so a process inside reaches simulators on the host's 127.0.0.1
  (like an ECS task in `host` network mode). No cgroup namespace: host and
  container see the same /proc/PID/cgroup paths.
- cgroupsPath is used as given with runc's default cgroupfs driver (no systemd
  runs here). runc treats the `.slice`/`.scope` names as plain directory names
  and creates them in every mounted hierarchy, including the cgroup v2 one
  (/sys/fs/cgroup/unified on a hybrid host, /sys/fs/cgroup on a v2-only host),
  so /proc/PID/cgroup shows exactly `0::<cgroups_path>`. Only systemd-driver
  syntax (`slice:prefix:name`) would be interpreted; absolute paths are not.
- runc runs in the foreground (`runc run` without --detach) as a child of the
  test process: the container's init is then runc's child and is reaped by
  runc when it exits. With --detach or create/start the init would be
  reparented to PID 1, which here reaps only now and then, so the host pid
  would linger as a zombie after the container is gone.
- The container's stdout and stderr are files in the container's temp dir;
  runc's own log goes to runc.log next to them.

Teardown (`__exit__`, also run when start fails): `runc kill`, a bounded wait
for runc, `runc delete -f`, rmdir of the cgroup directories along
cgroups_path that a RuncContainer of this process created (deepest first;
busy or missing ones are skipped, so a task slice shared by two containers
goes with the last one), and removal of the temp dir.
"""
import json
import os
import secrets
import shutil
import subprocess
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.path.join(ROOT, "build")

RUNC = shutil.which("runc") or "/usr/sbin/runc"
# One state root for all test containers, so `runc --root RUNC_ROOT list`
# shows anything a test left behind.
RUNC_ROOT = "/run/minerwatch-tests/runc"

DEFAULT_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME": "/root",
    "LANG": "C.UTF-8",
}
# The host directories bind-mounted read-only into every container.
HOST_BINDS = ("/usr", "/lib", "/lib64", "/bin", "/sbin", "/etc")
# The capabilities runc's own `runc spec` template grants.
CAPS = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]

START_TIMEOUT = 15
STOP_TIMEOUT = 10
RUNC_CMD_TIMEOUT = 15

# Cgroup directories created by RuncContainers of this process, candidates for
# removal once their last container is gone.
_created_cgroup_dirs = set()


def runc_available():
    """True if the runc binary exists and answers --version."""
    if not os.path.exists(RUNC):
        return False
    try:
        return subprocess.run([RUNC, "--version"], capture_output=True,
                              timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def new_container_id():
    """A Docker-style container id: 64 lowercase hex digits."""
    return secrets.token_hex(32)


def new_task_id():
    """An ECS task id: 32 lowercase hex digits."""
    return secrets.token_hex(16)


def ecs_al2023_path(task_id, container_id):
    """The cgroup of an ECS task container on Amazon Linux 2023."""
    return f"/ecstasks.slice/ecstasks-{task_id}.slice/docker-{container_id}.scope"


def ecs_al2_path(task_id, container_id):
    """The cgroup of an ECS task container on Amazon Linux 2."""
    return f"/ecs/{task_id}/{container_id}"


def cgroup_mounts():
    """Mount points of every cgroup hierarchy (v1 and v2) on this host."""
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            sep = fields.index("-")
            if fields[sep + 1] in ("cgroup", "cgroup2"):
                out.append(fields[4])
    return out


def cgroup2_mount():
    """Mount point of the cgroup v2 hierarchy, or None."""
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            if fields[fields.index("-") + 1] == "cgroup2":
                return fields[4]
    return None


def runc_list(root=RUNC_ROOT):
    """Ids of the containers runc knows under root (empty if none or no root)."""
    if not os.path.isdir(root):
        return []
    r = subprocess.run([RUNC, "--root", root, "list", "-q"], capture_output=True,
                       text=True, timeout=RUNC_CMD_TIMEOUT)
    return [line for line in r.stdout.split() if line]


class RuncContainer:
    """One command running in a runc container; a context manager.

    Attributes once entered: `id`, `pid` (host pid of the container's init,
    the command itself), `cgroups_path`, `dir` (temp dir holding the bundle
    and the stdout/stderr files), `stdout_path`, `stderr_path`.

    Entering returns once runc reports the container running with its pid;
    a command that exits before that (or fails to start) raises RuntimeError
    with runc's messages, so give it something that lives until the test is
    done with it. `wait()` returns runc's exit status, which is the command's
    (128 + signal number if a signal ended it). runc's own error messages land
    in the stderr file too, before the command's.

    For an image (the container-mode test): `rootfs` is its unpacked root
    file system, used read-only instead of the empty root with the host's
    directories bound in; `capabilities` replaces CAPS (full names,
    "CAP_SYS_ADMIN"); `cgroup_ns` gives the container its own cgroup
    namespace, as Docker does on cgroup v2 hosts. Extra bind mounts whose
    source is a file get a file to land on.
    """

    def __init__(self, argv, cgroups_path=None, container_id=None, env=None,
                 share_host_network=True, new_pid_ns=True, extra_mounts=(),
                 runc_root=RUNC_ROOT, cwd="/", rootfs=None, capabilities=None,
                 cgroup_ns=False):
        if not argv:
            raise ValueError("argv must not be empty")
        self.id = container_id or new_container_id()
        if len(self.id) != 64 or any(c not in "0123456789abcdef" for c in self.id):
            raise ValueError(f"container id must be 64 lowercase hex digits: {self.id!r}")
        self.cgroups_path = cgroups_path or ecs_al2023_path(new_task_id(), self.id)
        if not self.cgroups_path.startswith("/") or ".." in self.cgroups_path.split("/"):
            raise ValueError(f"cgroups_path must be absolute: {self.cgroups_path!r}")
        self.cgroups_path = "/" + "/".join(p for p in self.cgroups_path.split("/") if p)
        self.argv = [str(a) for a in argv]
        self.env = dict(DEFAULT_ENV)
        if isinstance(env, dict):
            self.env.update(env)
        elif env:
            self.env.update(e.split("=", 1) for e in env)
        self.share_host_network = share_host_network
        self.new_pid_ns = new_pid_ns
        self.extra_mounts = list(extra_mounts)
        self.runc_root = runc_root
        self.cwd = cwd
        # An image's unpacked root filesystem (used read-only, in place of the
        # empty root with the host's /usr, /lib, ... and build/ bound in),
        # the capability names to grant instead of CAPS, and whether to give
        # the container its own cgroup namespace (Docker's default on a
        # cgroup v2 host).
        self.rootfs = os.path.abspath(rootfs) if rootfs else None
        self.capabilities = list(capabilities) if capabilities is not None else list(CAPS)
        self.cgroup_ns = cgroup_ns
        self.pid = None
        self.dir = None
        self.proc = None
        self._files = []

    # ---- bundle -----------------------------------------------------------

    def _mountpoints(self):
        points = ["/proc", "/dev", "/sys"]
        if not self.rootfs:
            points += ["/tmp"]
            points += [d for d in HOST_BINDS if os.path.exists(d)]
            points += [BUILD]
        points += [m["destination"] for m in self.extra_mounts]
        return points

    def config(self):
        """The OCI runtime config (config.json) as a dict."""
        mounts = [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
             "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs",
             "options": ["nosuid", "noexec", "nodev", "ro"]},
        ]
        if not self.rootfs:
            # An image gets only what its runtime would give it: no /tmp.
            mounts.append({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
                           "options": ["nosuid", "nodev", "mode=1777", "size=65536k"]})
        for d in HOST_BINDS if not self.rootfs else ():
            if os.path.exists(d):
                # /lib, /bin, ... are symlinks into /usr on merged-/usr hosts:
                # bind what they point to at the same path.
                mounts.append({"destination": d, "type": "bind",
                               "source": os.path.realpath(d),
                               "options": ["rbind", "ro", "nosuid", "nodev"]})
        if not self.rootfs:
            mounts.append({"destination": BUILD, "type": "bind", "source": BUILD,
                           "options": ["rbind", "ro", "nosuid", "nodev"]})
        mounts += self.extra_mounts

        namespaces = [{"type": "mount"}, {"type": "ipc"}, {"type": "uts"}]
        if self.new_pid_ns:
            namespaces.append({"type": "pid"})
        if not self.share_host_network:
            namespaces.append({"type": "network"})
        if self.cgroup_ns:
            namespaces.append({"type": "cgroup"})

        return {
            "ociVersion": "1.0.2-dev",
            "process": {
                "terminal": False,
                "user": {"uid": 0, "gid": 0},
                "args": self.argv,
                "env": [f"{k}={v}" for k, v in self.env.items()],
                "cwd": self.cwd,
                "capabilities": {k: list(self.capabilities) for k in
                                 ("bounding", "effective", "permitted")},
                "noNewPrivileges": True,
            },
            "root": {"path": self.rootfs or "rootfs", "readonly": True},
            "mounts": mounts,
            "linux": {
                "cgroupsPath": self.cgroups_path,
                "namespaces": namespaces,
                "resources": {"devices": [{"allow": False, "access": "rwm"}]},
                "maskedPaths": ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
                                "/proc/latency_stats", "/proc/timer_list",
                                "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
                                "/sys/firmware"],
                "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                                  "/proc/sysrq-trigger"],
            },
        }

    def _write_bundle(self):
        self.bundle = os.path.join(self.dir, "bundle")
        rootfs = self.rootfs or os.path.join(self.bundle, "rootfs")
        os.makedirs(self.bundle, exist_ok=True)
        for p in self._mountpoints():
            # A file bind mount (e.g. /etc/os-release) needs a file to land on.
            src = next((m.get("source") for m in self.extra_mounts
                        if m["destination"] == p and m.get("type") == "bind"), None)
            if src and os.path.isfile(src):
                os.makedirs(os.path.dirname(rootfs + p), exist_ok=True)
                if not os.path.exists(rootfs + p):
                    open(rootfs + p, "a").close()
            else:
                os.makedirs(rootfs + p, exist_ok=True)
        with open(os.path.join(self.bundle, "config.json"), "w") as f:
            json.dump(self.config(), f, indent=1)

    # ---- lifecycle --------------------------------------------------------

    def _runc(self, *args, timeout=RUNC_CMD_TIMEOUT):
        return subprocess.run([RUNC, "--root", self.runc_root, *args], capture_output=True,
                              text=True, timeout=timeout)

    def state(self):
        """runc's state of the container as a dict, or None if runc has none."""
        try:
            r = self._runc("state", self.id)
        except subprocess.TimeoutExpired:
            return None
        if r.returncode != 0:
            return None
        return json.loads(r.stdout)

    def _note_cgroup_dirs(self):
        """Remembers which directories along cgroups_path do not exist yet."""
        parts = self.cgroups_path.strip("/").split("/")
        self._cg_dirs = []
        for mnt in cgroup_mounts():
            for i in range(1, len(parts) + 1):
                d = os.path.join(mnt, *parts[:i])
                self._cg_dirs.append(d)
                if not os.path.exists(d):
                    _created_cgroup_dirs.add(d)

    def start(self):
        os.makedirs(self.runc_root, exist_ok=True)
        self.dir = tempfile.mkdtemp(prefix=f"mw-ctr-{self.id[:12]}-")
        try:
            self._write_bundle()
            self._note_cgroup_dirs()
            self.stdout_path = os.path.join(self.dir, "stdout")
            self.stderr_path = os.path.join(self.dir, "stderr")
            self.runc_log = os.path.join(self.dir, "runc.log")
            out = open(self.stdout_path, "wb")
            err = open(self.stderr_path, "wb")
            self._files = [out, err]
            self.proc = subprocess.Popen(
                [RUNC, "--root", self.runc_root, "--log", self.runc_log, "run",
                 "--bundle", self.bundle, self.id],
                stdin=subprocess.DEVNULL, stdout=out, stderr=err)
            self.pid = self._wait_running()
        except BaseException:
            self.cleanup()
            raise
        return self

    def _wait_running(self):
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            st = self.state()
            if st and st.get("pid") and st.get("status") == "running":
                return int(st["pid"])
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"runc exited with {self.proc.returncode} before the container was "
                    f"seen running\n{self.diagnostics()}")
            time.sleep(0.05)
        raise RuntimeError(f"container {self.id} not running after {START_TIMEOUT}s\n"
                           + self.diagnostics())

    def diagnostics(self):
        """The captured stderr and runc log, for assertion messages."""
        out = []
        for name in ("stderr_path", "runc_log"):
            path = getattr(self, name, None)
            if path and os.path.exists(path):
                with open(path, errors="replace") as f:
                    out.append(f"--- {os.path.basename(path)}\n{f.read()[-4000:]}")
        return "\n".join(out)

    def running(self):
        """True while runc (and so the container's command) is still running."""
        return self.proc is not None and self.proc.poll() is None

    def wait(self, timeout):
        """Waits for the command to exit; returns its exit status (runc's)."""
        return self.proc.wait(timeout=timeout)

    @property
    def returncode(self):
        return self.proc.returncode if self.proc else None

    def read_cgroup(self):
        """The text of /proc/<pid>/cgroup of the container's init."""
        with open(f"/proc/{self.pid}/cgroup") as f:
            return f.read()

    def cgroup_v2_dir(self):
        """The container's directory in the cgroup v2 hierarchy."""
        return cgroup2_mount() + self.cgroups_path

    def host_pids(self):
        """Host pids of every process in the container's cgroup v2 directory."""
        with open(os.path.join(self.cgroup_v2_dir(), "cgroup.procs")) as f:
            return [int(x) for x in f.read().split()]

    def exec(self, argv, timeout=30):
        """Runs argv in the running container (runc exec), waits for it and
        returns the subprocess.CompletedProcess with text output."""
        return subprocess.run(
            [RUNC, "--root", self.runc_root, "exec", "--cwd", "/", self.id,
             *map(str, argv)], capture_output=True, text=True, timeout=timeout)

    def stdout(self):
        with open(self.stdout_path, errors="replace") as f:
            return f.read()

    def stderr(self):
        with open(self.stderr_path, errors="replace") as f:
            return f.read()

    def cleanup(self):
        """Stops and deletes the container and removes what it created."""
        try:
            if self.proc is not None and self.proc.poll() is None:
                kill = ["kill"] + (["--all"] if not self.new_pid_ns else []) + [self.id, "KILL"]
                try:
                    self._runc(*kill)
                except subprocess.TimeoutExpired:
                    pass
                try:
                    self.proc.wait(timeout=STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    # runc did not come back: it is our child, stop it directly.
                    self.proc.kill()
                    self.proc.wait(timeout=STOP_TIMEOUT)
            try:
                self._runc("delete", "-f", self.id)
            except subprocess.TimeoutExpired:
                pass
        finally:
            for f in self._files:
                f.close()
            self._files = []
            self._remove_cgroup_dirs()
            if self.dir:
                shutil.rmtree(self.dir, ignore_errors=True)

    def _remove_cgroup_dirs(self):
        # Deepest first: the path components were noted parent before child.
        for d in sorted(getattr(self, "_cg_dirs", ()), key=lambda p: -p.count("/")):
            if d not in _created_cgroup_dirs:
                continue
            deadline = time.monotonic() + 2
            while True:
                try:
                    os.rmdir(d)
                    _created_cgroup_dirs.discard(d)
                    break
                except FileNotFoundError:
                    _created_cgroup_dirs.discard(d)
                    break
                except OSError:
                    # Busy: another container still uses it, or the last
                    # process is still leaving; retry briefly for the latter.
                    if not self._cgroup_populated(d) and time.monotonic() < deadline:
                        time.sleep(0.05)
                        continue
                    break

    @staticmethod
    def _cgroup_populated(d):
        """True if the cgroup dir (or a child) still has processes or children."""
        try:
            if any(os.path.isdir(os.path.join(d, e)) for e in os.listdir(d)):
                return True
            with open(os.path.join(d, "cgroup.procs")) as f:
                return bool(f.read().strip())
        except OSError:
            return False

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.cleanup()
        return False
