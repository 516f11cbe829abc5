# SPDX-License-Identifier: Apache-2.0
"""Shared helpers of the benchmark suite: paths, settings, child processes that
are always cleaned up, /proc readings, the load generators."""
import json
import os
import shutil
import signal
import statistics
import subprocess
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.path.join(ROOT, "build")
TOOLS = os.path.join(BUILD, "tools")
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024


# --- settings (environment) ---------------------------------------------------

def env_int(name, default):
    v = os.environ.get(name, "").strip()
    return int(v) if v else default


def env_float(name, default):
    v = os.environ.get(name, "").strip()
    return float(v) if v else default


def env_ints(name, default):
    v = os.environ.get(name, "").strip()
    return [int(x) for x in v.replace(" ", "").split(",") if x] if v else list(default)


def tool(name):
    """A load generator or simulator: MW_BENCH_TOOLS (a directory) first, then
    build/tools."""
    d = os.environ.get("MW_BENCH_TOOLS")
    if d and os.access(os.path.join(d, name), os.X_OK):
        return os.path.join(d, name)
    return os.path.join(TOOLS, name)


# --- statistics and formatting -------------------------------------------------

def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else float("nan")


def spread(xs, fmt="{:.3f}"):
    """'median (min-max)' of xs, or 'n/a'."""
    xs = [x for x in xs if x is not None]
    if not xs:
        return "n/a"
    if len(xs) == 1:
        return fmt.format(xs[0])
    return f"{fmt.format(med(xs))} ({fmt.format(min(xs))}-{fmt.format(max(xs))})"


def dur(ms):
    return f"{ms:.0f} ms" if ms < 1000 else f"{ms / 1000:.1f} s"


def mib(kib):
    return f"{kib / 1024:.1f} MiB"


def wait_for(pred, timeout, interval=0.05):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            return None
        time.sleep(interval)


def log(*a):
    print("bench:", *a, flush=True)


# --- children: everything started here is stopped here ------------------------

class Children:
    """Every process the suite starts is registered; stop_all() ends those still
    running, by pid (or by the process group the suite created for it)."""

    def __init__(self):
        self.live = []

    def spawn(self, argv, group=False, **kw):
        p = subprocess.Popen(argv, start_new_session=group, **kw)
        p.mw_group = group
        self.live.append(p)
        return p

    def stop(self, p, sig=signal.SIGTERM, timeout=10):
        """Signal p, wait up to timeout, then SIGKILL it (and its group when the
        suite made one). Returns the exit status."""
        if p is None:
            return None
        try:
            if p.poll() is None:
                p.send_signal(sig)
                try:
                    p.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(timeout=10)
            if p.mw_group:
                # Leftovers of a group leader (a holder's children): by group id.
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
        finally:
            if p in self.live:
                self.live.remove(p)
        return p.returncode

    def stop_all(self):
        for p in list(reversed(self.live)):
            try:
                self.stop(p, timeout=5)
            except Exception as e:  # keep going: the rest must stop too
                log(f"could not stop pid {p.pid}: {e}")


CHILDREN = Children()


def run_bounded(argv, timeout, **kw):
    """subprocess.run, registered so that an interrupt still kills it."""
    kw.setdefault("stdout", subprocess.PIPE)
    kw.setdefault("stderr", subprocess.PIPE)
    p = CHILDREN.spawn(argv, text=True, **kw)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        CHILDREN.stop(p, signal.SIGKILL)
        raise RuntimeError(f"{os.path.basename(argv[0])} did not finish in {timeout} s")
    finally:
        if p in CHILDREN.live:
            CHILDREN.live.remove(p)
    return p.returncode, out, err


# --- load generators -----------------------------------------------------------

def children_cpu():
    """user+sys seconds of every child reaped so far, and of their reaped children."""
    import resource
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def storm(mode, *args, timeout=900):
    """Runs `storm MODE ARGS`; returns its JSON summary line plus 'wall' (s) and
    'cpu', the CPU seconds the storm and its workers used (BPF programs that run
    in their context included)."""
    argv = [tool("storm"), mode, *map(str, args)]
    t0, c0 = time.monotonic(), children_cpu()
    rc, out, err = run_bounded(argv, timeout)
    wall, cpu = time.monotonic() - t0, children_cpu() - c0
    line = [x for x in out.splitlines() if x.startswith("{")]
    if not line:
        raise RuntimeError(f"storm {mode} failed (exit {rc}): {err.strip()[-300:]}")
    # exit 2 (too many failed operations, a worker died) still reports what was
    # done: the figures stand, with their errors
    r = json.loads(line[-1])
    r["wall"] = wall
    r["cpu"] = cpu
    r["exit"] = rc
    return r


def storm_start(mode, *args):
    """A storm in the background (soak, combined loads); finish with storm_result."""
    return CHILDREN.spawn([tool("storm"), mode, *map(str, args)],
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


def storm_result(p, timeout=60):
    try:
        out, _ = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        CHILDREN.stop(p, signal.SIGKILL)
        return None
    finally:
        if p in CHILDREN.live:
            CHILDREN.live.remove(p)
    line = [x for x in (out or "").splitlines() if x.startswith("{")]
    return json.loads(line[-1]) if line else None


def raise_nofile(n=1 << 20):
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(n, hard) if hard != resource.RLIM_INFINITY else n
    if want > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


# --- /proc readings --------------------------------------------------------------

def cpu_ticks(pid):
    """utime+stime of a process (all its threads), in clock ticks; None if gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None


def smaps_rollup(pid):
    """Rss, Pss and private (clean+dirty) KiB of a process, plus VmHWM."""
    d = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            k, _, v = line.partition(":")
            v = v.split()
            if v and v[-1] == "kB":
                d[k] = int(v[0])
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                d["VmHWM"] = int(line.split()[1])
    return {"rss": d.get("Rss", 0), "pss": d.get("Pss", 0),
            "private": d.get("Private_Clean", 0) + d.get("Private_Dirty", 0),
            "hwm": d.get("VmHWM", 0)}


def bpf_maps_of(pid):
    """The BPF maps a process holds open (from /proc/PID/fdinfo), by map id:
    {id: {"type", "memlock", "max_entries"}}."""
    maps = {}
    fd_dir = f"/proc/{pid}/fd"
    try:
        fds = os.listdir(fd_dir)
    except FileNotFoundError:
        return maps
    for fd in fds:
        try:
            if os.readlink(os.path.join(fd_dir, fd)) != "anon_inode:bpf-map":
                continue
            with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                info = dict(line.split(":", 1) for line in f if ":" in line)
        except OSError:
            continue
        mid = int(info.get("map_id", "-1"))
        maps[mid] = {"type": int(info.get("map_type", "0")),
                     "memlock": int(info.get("memlock", "0")),
                     "max_entries": int(info.get("max_entries", "0"))}
    return maps


def wchan(pid):
    try:
        with open(f"/proc/{pid}/wchan") as f:
            return f.read().strip()
    except OSError:
        return ""


def fd_kinds(pid):
    kinds = []
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                kinds.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
            except OSError:
                pass
    except OSError:
        pass
    return kinds


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def others_named(comm, exclude=()):
    """Pids of processes called comm that the suite did not start (other people's
    sensors on a shared machine skew the baseline; the report says so)."""
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) in exclude:
            continue
        try:
            with open(f"/proc/{d}/comm") as f:
                if f.read().strip() == comm:
                    pids.append(int(d))
        except OSError:
            pass
    return pids


def which(*names):
    for n in names:
        p = shutil.which(n) or (os.path.exists(f"/usr/sbin/{n}") and f"/usr/sbin/{n}")
        if p:
            return p
    return None
