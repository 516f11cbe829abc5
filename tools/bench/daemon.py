# SPDX-License-Identifier: Apache-2.0
"""The daemon under test: start it healthy, read its status, its CPU and memory,
stop it. MW_BENCH_DAEMON picks another build (its CLI is the minerwatch beside
it when there is one, else build/minerwatch)."""
import json
import os
import signal
import subprocess
import tempfile
import time

from common import (BUILD, CHILDREN, CLK_TCK, bpf_maps_of, cpu_ticks, smaps_rollup,
                    wait_for)

EV_TYPES = ("exec", "exit", "connect", "close", "payload", "dns")


def build_paths(directory=None):
    """(minerwatchd, minerwatch) of a build directory, of MW_BENCH_DAEMON, or of
    build/."""
    if directory:
        d = os.path.abspath(directory)
        return os.path.join(d, "minerwatchd"), os.path.join(d, "minerwatch")
    daemon = os.environ.get("MW_BENCH_DAEMON")
    if daemon:
        daemon = os.path.abspath(daemon)
        cli = os.path.join(os.path.dirname(daemon), "minerwatch")
        return daemon, cli if os.access(cli, os.X_OK) else os.path.join(BUILD, "minerwatch")
    return os.path.join(BUILD, "minerwatchd"), os.path.join(BUILD, "minerwatch")


class Daemon:
    """A minerwatchd with its own config, output, socket and state directory under
    tmp. Never reaches the network: IMDS and the ECS agent point at a closed
    loopback port."""

    def __init__(self, tmp, config="", paths=None, healthy_timeout=30):
        self.exe, self.cli = paths or build_paths()
        self.tmp = tempfile.mkdtemp(dir=tmp, prefix="d.")
        self.out = os.path.join(self.tmp, "f.jsonl")
        self.sock = os.path.join(self.tmp, "s.sock")
        conf = os.path.join(self.tmp, "c.conf")
        with open(conf, "w") as f:
            f.write(config)
        self.err = open(os.path.join(self.tmp, "stderr"), "w")
        self.t0 = time.monotonic()
        self.p = CHILDREN.spawn(
            [self.exe, "-c", conf, "-o", self.out, "-s", self.sock,
             "--state-dir", os.path.join(self.tmp, "st"),
             "--ecs-agent-url", "http://127.0.0.1:1"],
            stdout=subprocess.DEVNULL, stderr=self.err,
            # never the real IMDS: a closed loopback port
            env=dict(os.environ, AWS_EC2_METADATA_SERVICE_ENDPOINT="http://127.0.0.1:1"))
        self.pid = self.p.pid
        if not wait_for(lambda: self.p.poll() is not None or
                        (self.status() or {}).get("state") == "healthy", healthy_timeout):
            self.stop()
            raise RuntimeError(f"{self.exe} did not become healthy in {healthy_timeout} s")
        if self.p.poll() is not None:
            self.err.flush()
            with open(self.err.name) as f:
                tail = f.read()[-400:]
            self.stop()
            raise RuntimeError(f"{self.exe} exited ({self.p.returncode}): {tail}")

    def status(self):
        try:
            r = subprocess.run([self.cli, "status", "--json", "-s", self.sock],
                               capture_output=True, text=True, timeout=10)
        except subprocess.TimeoutExpired:
            return None
        if r.returncode not in (0, 1) or not r.stdout:
            return None
        try:
            return json.loads(r.stdout)
        except ValueError:
            return None

    def findings_for(self, pid):
        if not os.path.exists(self.out):
            return []
        with open(self.out) as f:
            return [j for j in map(json.loads, f)
                    if j.get("class_uid") != 6008 and  # not a health record
                    j["evidences"][0]["process"]["pid"] == pid]

    def ticks(self):
        return cpu_ticks(self.pid)

    def memory(self):
        """rss, pss, private, hwm and the memlock of the BPF maps it holds, all KiB."""
        m = smaps_rollup(self.pid)
        maps = bpf_maps_of(self.pid)
        m["bpf_memlock"] = sum(x["memlock"] for x in maps.values()) // 1024
        m["bpf_maps"] = len(maps)
        return m

    def drain(self, timeout=10, quiet=25):
        """Waits until the daemon has caught up: records handled grow by no more
        than `quiet` per 0.25 s (background activity on the machine, the status
        calls themselves) twice running, and a 1 s daemon tick has passed so that
        the kernel counters it reports (submitted, lost) are current. Returns the
        last status."""
        t0 = time.monotonic()
        st = self.status()
        prev, calm = handled_sum(st), 0
        while time.monotonic() - t0 < timeout:
            time.sleep(0.25)
            st = self.status()
            h = handled_sum(st)
            calm = calm + 1 if h is not None and prev is not None and h - prev <= quiet else 0
            prev = h
            if calm >= 2 and time.monotonic() - t0 >= 1.2:
                break
        return st

    def stop(self):
        try:
            CHILDREN.stop(self.p, signal.SIGTERM, timeout=15)
        finally:
            self.err.close()


def handled_sum(st):
    if not st:
        return None
    c = st.get("counters", {})
    return sum(c.get(t + "_handled", 0) for t in EV_TYPES)


def delta(before, after):
    """Differences of the counters and losses between two status answers:
    {'submitted': {type: n}, 'handled': {type: n}, 'lost': {key: n}}."""
    d = {"submitted": {}, "handled": {}, "lost": {}}
    if not before or not after:
        return d
    cb, ca = before.get("counters", {}), after.get("counters", {})
    for t in EV_TYPES:
        d["submitted"][t] = ca.get(t, 0) - cb.get(t, 0)
        d["handled"][t] = ca.get(t + "_handled", 0) - cb.get(t + "_handled", 0)
    lb, la = before.get("lost", {}), after.get("lost", {})
    for k in la:
        if isinstance(la[k], int):
            d["lost"][k] = la[k] - lb.get(k, 0)
    return d


def cpu_pct(ticks0, ticks1, seconds):
    if ticks0 is None or ticks1 is None or seconds <= 0:
        return None
    return 100.0 * (ticks1 - ticks0) / CLK_TCK / seconds
