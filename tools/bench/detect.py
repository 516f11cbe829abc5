# SPDX-License-Identifier: Apache-2.0
"""Latency: start to ready, and time to detect the mining scenarios of SPEC
section 6 with the simulators in tools/."""
import json
import os
import select
import subprocess
import time

from common import CHILDREN, env_int, log, run_bounded, tool, wait_for
from daemon import Daemon


def start_pool(tmp, *extra):
    pf = os.path.join(tmp, f"pool.{time.monotonic_ns()}")
    p = CHILDREN.spawn([tool("poolsim"), "--port-file", pf, "--job-interval", "5",
                        "--duration", "900", "--quiet", *extra], stdout=subprocess.DEVNULL)
    if not wait_for(lambda: os.path.exists(pf), 10):
        CHILDREN.stop(p)
        raise RuntimeError("poolsim did not start")
    with open(pf) as f:
        return p, int(f.read())


def read_line(p, deadline):
    """One line of a child's stdout (opened unbuffered, binary), or None at EOF or
    at the deadline."""
    buf = b""
    fd = p.stdout.fileno()
    while time.monotonic() < deadline:
        r, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        if not r:
            break
        c = os.read(fd, 1)
        if not c:
            return buf.decode() if buf else None
        if c == b"\n":
            return buf.decode()
        buf += c
    return None


def run_miner(port, proto, threads=2, duration=30, extra=(), exe=None):
    argv = [exe or tool("minersim"), "--pool", f"127.0.0.1:{port}", "--proto", proto,
            "--threads", str(threads), "--duration", str(duration), "--submit-interval", "5",
            *extra]
    p = CHILDREN.spawn(argv, stdout=subprocess.PIPE, bufsize=0)
    line = read_line(p, time.monotonic() + 10)
    if not line or "=" not in line:
        CHILDREN.stop(p)
        raise RuntimeError(f"minersim did not start: {line!r}")
    return p, int(line.split("=")[1])


def login_ns(p, timeout=30):
    deadline = time.monotonic() + timeout
    while True:
        line = read_line(p, deadline)
        if line is None:
            return None
        if line.startswith("login_sent_ns="):
            return int(line.split("=")[1])


# name, measured from, SPEC budget (s), protocol, TLS, threads, extra minersim options
SCENARIOS = [
    ("plaintext Stratum v1", "login", 5, "stratum", False, 2, ()),
    ("plaintext XMRig", "login", 5, "xmrig", False, 2, ()),
    ("XMRig over TLS (behaviour only)", "start", 60, "xmrig", True, 2,
     ("--sni", "api.example.net")),
    ("Stratum over TLS to a listed pool name", "start", 60, "stratum", True, 2,
     ("--sni", "eu.pool.test")),
    ("disguised binary from /tmp, deleted", "login", 5, "xmrig", False, 2,
     ("--comm", "kworker/0:2", "--argv0", "[kworker/0:2]", "--args-disguise")),
    ("throttled: one thread", "start", 120, "stratum", False, 1, ()),
    ("throttled: 25% duty cycle", "start", 120, "xmrig", False, 2, ("--duty", "25")),
    ("throttled behind TLS: one thread at 25% (behaviour only)", "start", 120, "xmrig", True,
     1, ("--duty", "25", "--sni", "api.example.net")),
    ("through a local proxy", "login", 5, "xmrig", False, 2, ("proxy",)),
]


def one_run(tmp, d, sc):
    name, base, budget, proto, tls, threads, extra = sc
    pool = relay = m = None
    exe = None
    try:
        pool, port = start_pool(tmp, *(["--tls"] if tls else []))
        target = port
        if "proxy" in extra:
            rf = os.path.join(tmp, f"relay.{time.monotonic_ns()}")
            relay = CHILDREN.spawn([tool("tcprelay"), "--listen-port", "0", "--port-file", rf,
                                    "--to", f"127.0.0.1:{port}", "--duration", "300"],
                                   stdout=subprocess.DEVNULL)
            wait_for(lambda: os.path.exists(rf), 10)
            with open(rf) as f:
                target = int(f.read())
            extra = ()
        if "--args-disguise" in extra:
            exe = os.path.join("/tmp", f".mw-bench-{os.getpid()}-helper")
            subprocess.run(["cp", tool("minersim"), exe], check=True)
        t_start = time.time() * 1000
        m, pid = run_miner(target, proto, threads, budget + 60,
                           (("--tls",) if tls else ()) + tuple(extra), exe)
        t_login = login_ns(m)
        if exe:
            os.unlink(exe)
            exe = None
        f = wait_for(lambda: [x for x in d.findings_for(pid) if x["severity_id"] >= 3],
                     budget + 30)
        if not f or (base == "login" and t_login is None):
            return None
        return f[0]["time"] - (t_login // 1000000 if base == "login" else t_start)
    finally:
        if exe and os.path.exists(exe):
            os.unlink(exe)
        for p in (m, pool, relay):
            if p:
                CHILDREN.stop(p)


def detection(tmp, reps, paths=None):
    names = os.path.join(tmp, "pools.txt")
    with open(names, "w") as f:
        f.write("pool.test\n")
    rows = []
    d = Daemon(tmp, f"pool_names_file = {names}\n", paths)
    try:
        for sc in SCENARIOS:
            log(f"detect: {sc[0]}")
            lat = [x for x in (one_run(tmp, d, sc) for _ in range(reps)) if x is not None]
            base = {"login": "login", "start": "process start"}[sc[1]]
            rows.append({"name": f"{sc[0]}: {base} to finding", "budget": f"{sc[2]} s",
                         "lat": lat, "n": reps})
        mem = d.memory()
        mem["tracked"] = (d.status() or {}).get("tracked", {})
    finally:
        d.stop()

    # Already running when the sensor starts: ready to finding.
    log("detect: miner running before start")
    lat = []
    pool, port = start_pool(tmp)
    try:
        for _ in range(reps):
            m, pid = run_miner(port, "xmrig", threads=1, duration=60)
            d = None
            try:
                login_ns(m)
                d = Daemon(tmp, "", paths)
                t_ready = time.time() * 1000
                f = wait_for(lambda: d.findings_for(pid), 40)
                if f:
                    lat.append(f[0]["time"] - t_ready)
            finally:
                if d:
                    d.stop()
                CHILDREN.stop(m)
    finally:
        CHILDREN.stop(pool)
    rows.append({"name": "miner running before start: ready to finding", "budget": "30 s",
                 "lat": lat, "n": reps})
    return rows, mem


def start_to_ready(tmp, reps, paths=None):
    xs = []
    for _ in range(reps):
        d = Daemon(tmp, "", paths)
        try:
            xs.append((d.status() or {}).get("start_to_ready_ms"))
        finally:
            d.stop()
    return xs


def run(tmp, reps, paths=None):
    ready = start_to_ready(tmp, reps, paths)
    rows, mem = detection(tmp, reps, paths)
    return {"start_to_ready_ms": ready, "scenarios": rows, "memory_after": mem}


def hookcost(reps):
    """tools/hookcost: context-switch storm with no program, sched_switch
    accounting and minerwatch's sampler, interleaved."""
    rounds = env_int("MW_BENCH_HOOKCOST_ROUNDS", 200000)
    rc, out, err = run_bounded([tool("hookcost"), "-r", str(rounds), "-n", str(reps)], 1800)
    if rc != 0:
        raise RuntimeError(f"hookcost failed ({rc}): {err[-300:]}")
    return json.loads(out)
