# SPDX-License-Identifier: Apache-2.0
"""Peer sensors from libbpf-tools, run as they normally are: stdout to a file
(fully buffered, as in a pipe or a log), stopped with SIGINT like Ctrl-C."""
import os
import re
import signal
import subprocess

from common import CHILDREN, cpu_ticks, fd_kinds, wait_for, wchan, which

# Where a libbpf-tool sits once its programs are loaded and attached: waiting for
# perf-buffer events, or sleeping until Ctrl-C (runqlat).
READY_WCHAN = ("do_epoll_wait", "ep_poll", "do_sys_poll", "hrtimer_nanosleep",
               "do_nanosleep", "clock_nanosleep")

HEADERS = ("PCOMM", "PID ", "Tracing", "TIME")
HIST = re.compile(r"^\s*\d+\s*->\s*\d+\s*:\s*(\d+)")


def available(name):
    # Debian installs them under their own names; Fedora prefixes bpf-.
    return which(name, "bpf-" + name)


def tracefs_ready():
    """libbpf-tools read tracepoint ids from tracefs: mount it when it is not."""
    if os.path.exists("/sys/kernel/tracing/events"):
        return True
    subprocess.run(["mount", "-t", "tracefs", "nodev", "/sys/kernel/tracing"],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return os.path.exists("/sys/kernel/tracing/events")


class Peer:
    def __init__(self, name, tmp, ready_timeout=30):
        exe = available(name)
        if not exe:
            raise RuntimeError(f"{name} not installed (libbpf-tools)")
        self.name = name
        base = os.path.join(tmp, f"{name}.{os.getpid()}.{id(self)}")
        self.out = open(base + ".out", "w")
        self.err = open(base + ".err", "w")
        self.p = CHILDREN.spawn([exe], stdin=subprocess.DEVNULL, stdout=self.out,
                                stderr=self.err)
        self.pid = self.p.pid
        ok = wait_for(lambda: self.p.poll() is not None or (
            any(k in ("anon_inode:bpf_link", "anon_inode:[perf_event]")
                for k in fd_kinds(self.pid)) and wchan(self.pid) in READY_WCHAN),
            ready_timeout, 0.02)
        if not ok or self.p.poll() is not None:
            self.stop()
            raise RuntimeError(f"{name} did not start: {self.stderr()[-300:]}")

    def ticks(self):
        return cpu_ticks(self.pid)

    def stderr(self):
        self.err.flush()
        with open(self.err.name) as f:
            return f.read()

    def stop(self):
        """Ctrl-C: the tool flushes its output (runqlat prints its histogram)."""
        try:
            CHILDREN.stop(self.p, signal.SIGINT, timeout=10)
        finally:
            self.out.close()
            self.err.close()

    def result(self):
        """After stop(): event lines printed, histogram samples, lost events
        reported on stderr."""
        lines = samples = 0
        with open(self.out.name, errors="replace") as f:
            for line in f:
                m = HIST.match(line)
                if m:
                    samples += int(m.group(1))
                elif line.strip() and not line.startswith(HEADERS) and "usecs" not in line:
                    lines += 1
        lost, lost_msgs = 0, 0
        with open(self.err.name, errors="replace") as f:
            for line in f:
                if "lost" in line.lower():
                    lost_msgs += 1
                    n = re.search(r"(\d+)", line)
                    lost += int(n.group(1)) if n else 0
        return {"lines": lines, "samples": samples, "lost": lost, "lost_msgs": lost_msgs}


class PeerSet:
    """One or more peers started together (the build workload runs all three)."""

    def __init__(self, names, tmp):
        self.peers = []
        try:
            for n in names:
                self.peers.append(Peer(n, tmp))
        except BaseException:
            self.stop()
            raise

    def ticks(self):
        t = [p.ticks() for p in self.peers]
        return None if any(x is None for x in t) else sum(t)

    def stop(self):
        for p in self.peers:
            p.stop()

    def result(self):
        r = {"lines": 0, "samples": 0, "lost": 0, "lost_msgs": 0, "by_tool": {}}
        for p in self.peers:
            x = p.result()
            r["by_tool"][p.name] = x
            for k in ("lines", "samples", "lost", "lost_msgs"):
                r[k] += x[k]
        return r

