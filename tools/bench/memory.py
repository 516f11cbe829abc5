# SPDX-License-Identifier: Apache-2.0
"""Memory and idle cost: the daemon at idle, holding 10k processes and 10k
connections, and over a soak of mixed storms."""
import os
import subprocess
import time

from common import (CHILDREN, env_int, log, raise_nofile, storm_result, storm_start, tool,
                    wait_for)
from daemon import Daemon, cpu_pct, delta


def idle(tmp, seconds, paths=None):
    d = Daemon(tmp, "", paths)
    try:
        time.sleep(2)
        t0, c0 = time.monotonic(), d.ticks()
        time.sleep(seconds)
        t1, c1 = time.monotonic(), d.ticks()
        mem = d.memory()
        st = d.status() or {}
    finally:
        d.stop()
    return {"seconds": seconds, "cpu_pct": cpu_pct(c0, c1, t1 - t0), "memory": mem,
            "tracked": st.get("tracked", {}), "start_to_ready_ms": st.get("start_to_ready_ms")}


def hold_settings():
    return {"procs": env_int("MW_BENCH_HOLD_PROCS", 10000),
            "conns": env_int("MW_BENCH_HOLD_CONNS", 10000)}


def _tracked(d):
    st = d.status() or {}
    return st.get("tracked", {}), st


def held(tmp, paths=None, procs=None, conns=None):
    """holder --procs N --conns N --talk; figures once status tracks N processes."""
    s = hold_settings()
    procs = s["procs"] if procs is None else procs
    conns = s["conns"] if conns is None else conns
    r = {"procs": procs, "conns": conns}
    d = Daemon(tmp, "", paths)
    holder = None
    try:
        time.sleep(1)
        r["baseline"] = d.memory()
        r["baseline_tracked"], _ = _tracked(d)
        ready_file = os.path.join(d.tmp, "holder.ready")
        t0 = time.monotonic()
        holder = CHILDREN.spawn(
            [tool("holder"), "--procs", str(procs), "--conns", str(conns), "--talk",
             "--duration", "900", "--ready-file", ready_file],
            group=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=lambda: raise_nofile(4 * conns + 4096))
        log(f"memory: holder {procs} processes, {conns} connections")

        def ready():
            if holder.poll() is not None:
                return "exited"
            try:
                with open(ready_file) as f:
                    return f.read().strip() or None
            except FileNotFoundError:
                return None
        r["holder_ready"] = wait_for(ready, 600, 0.2)
        r["holder_ready_s"] = time.monotonic() - t0
        if r["holder_ready"] in (None, "exited"):
            raise RuntimeError(f"holder not ready: {r['holder_ready']}")
        got = wait_for(lambda: _tracked(d)[0].get("processes", 0) >= procs, 120, 0.5)
        r["tracked_all_procs"] = bool(got)
        # connections: until tracked at least N or no longer growing
        last = [None, 0]

        def conns_settled():
            n = _tracked(d)[0].get("connections", 0)
            if n >= conns:
                return True
            last[1] = last[1] + 1 if n == last[0] else 0
            last[0] = n
            return last[1] >= 4
        wait_for(conns_settled, 60, 0.5)
        r["tracked_s"] = time.monotonic() - t0
        time.sleep(2)
        r["held"] = d.memory()
        r["held_tracked"], st = _tracked(d)
        r["held_lost"] = {k: v for k, v in st.get("lost", {}).items() if v}
        r["state"] = st.get("state")
        r["reasons"] = st.get("reasons", "")
        CHILDREN.stop(holder, timeout=120)
        holder = None
        wait_for(lambda: _tracked(d)[0].get("processes", procs) < procs // 2 + 100, 60, 0.5)
        time.sleep(2)
        r["after"] = d.memory()
        r["after_tracked"], _ = _tracked(d)
    finally:
        if holder is not None:
            CHILDREN.stop(holder, timeout=120)
        d.stop()
    return r


def soak_settings():
    return {"seconds": env_int("MW_BENCH_SOAK_SECONDS", 600),
            "rate": env_int("MW_BENCH_SOAK_RATE", 2000),
            "interval": env_int("MW_BENCH_SOAK_INTERVAL", 10),
            "phase_seconds": env_int("MW_BENCH_SOAK_PHASE_SECONDS", 20),
            "burst_exec": env_int("MW_BENCH_SOAK_BURST_EXEC", 5000),
            "burst_connect": env_int("MW_BENCH_SOAK_BURST_CONNECT", 20000),
            "workers": env_int("MW_BENCH_WORKERS", 2)}


def soak(tmp, paths=None):
    """Mixed storms for SECONDS: exec at RATE/s, connect --talk at RATE/s (so that
    every connection is tracked), an exec burst, a connect burst, round and round;
    RSS sampled every INTERVAL s."""
    s = soak_settings()
    w = s["workers"]
    phases = [
        ("exec", lambda n: ("exec", "--workers", w, "--rate", s["rate"], "--duration", n)),
        ("connect", lambda n: ("connect", "--talk", "--workers", w, "--rate", s["rate"],
                               "--duration", n)),
        ("exec burst", lambda n: ("exec", "--workers", w, "--count", s["burst_exec"])),
        ("connect burst", lambda n: ("connect", "--talk", "--workers", w, "--count",
                                     s["burst_connect"])),
    ]
    samples, done = [], []
    d = Daemon(tmp, "", paths)
    cur = None
    try:
        first = d.status()
        t0 = time.monotonic()
        end = t0 + s["seconds"]
        c0 = d.ticks()

        def sample():
            m = d.memory()
            st = d.status() or {}
            samples.append({"t": round(time.monotonic() - t0, 1), "rss": m["rss"],
                            "pss": m["pss"], "private": m["private"],
                            "processes": st.get("tracked", {}).get("processes"),
                            "connections": st.get("tracked", {}).get("connections"),
                            "lost": st.get("lost", {}).get("total")})
        sample()
        next_sample = t0 + s["interval"]
        k = 0
        while True:
            now = time.monotonic()
            if cur and cur[1].poll() is not None:
                res = storm_result(cur[1])
                done.append({"phase": cur[0], **(res or {"ops": 0, "errors": None})})
                cur = None
            left = end - now
            if cur is None and left > 3:
                name, argv = phases[k % len(phases)]
                k += 1
                cur = (name, storm_start(*argv(int(min(s["phase_seconds"], left - 1)))))
            if now >= next_sample:
                sample()
                next_sample += s["interval"]
            if now >= end and cur is None:
                break
            if now >= end + 120:  # a burst that does not finish: stop it
                CHILDREN.stop(cur[1])
                cur = None
            time.sleep(0.2)
        last = d.drain()
        c1 = d.ticks()
        sample()
        dd = delta(first, last)
        out = {"settings": s, "samples": samples, "phases": done,
               "cpu_pct": cpu_pct(c0, c1, time.monotonic() - t0),
               "lost": {k2: v for k2, v in dd["lost"].items() if v},
               "handled": dd["handled"], "submitted": dd["submitted"],
               "state": (last or {}).get("state"), "reasons": (last or {}).get("reasons", "")}
    finally:
        if cur:
            CHILDREN.stop(cur[1])
        d.stop()
    return out
