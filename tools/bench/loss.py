# SPDX-License-Identifier: Apache-2.0
"""Loss ramp: exec and connect storms at fixed rates with minerwatchd running;
what the kernel submitted, what the daemon handled, what status counts as lost.
Then a deliberately small ring buffer, to show losses counted and the state."""
import os
import signal
import time

from common import env_int, env_ints, log, storm, storm_result, storm_start
from daemon import Daemon, cpu_pct, delta

RATES = (5000, 10000, 15000, 20000, 25000, 30000, 40000)
# ramp modes: the storm that drives them and the record types they produce.
# A silent connection costs no record (it is announced by its first payload
# record only), so "talk" (one line on each connection) is the connect storm
# that does, in two records (a payload record announces the connection).
MODES = {
    "exec": (("exec",), ("exec", "exit")),
    "connect": (("connect",), ("connect",)),
    "talk": (("connect", "--talk"), ("payload", "close")),
}


def settings(reps):
    return {
        "rates": env_ints("MW_BENCH_LOSS_RATES", RATES),
        "seconds": env_int("MW_BENCH_LOSS_SECONDS", 5),
        "workers": env_int("MW_BENCH_WORKERS", 2),
        "reps": env_int("MW_BENCH_LOSS_REPS", reps),
        "modes": [m for m in os.environ.get("MW_BENCH_LOSS_MODES", "exec,connect,talk")
                  .split(",") if m in MODES],
        # the smallest ringbuf_kib the config accepts (user/daemon/config.c)
        "small_ring_kib": env_int("MW_BENCH_SMALL_RING_KIB", 64),
        "small_ring_rate": env_int("MW_BENCH_SMALL_RING_RATE", 20000),
    }


def _row(mode, before, after, res, t0, t1, wall):
    d = delta(before, after)
    return {
        "mode": mode, "achieved": res["rate"] if res else None,
        "ops": res["ops"] if res else None, "errors": res["errors"] if res else None,
        "seconds": res["seconds"] if res else None,
        "submitted": sum(d["submitted"].get(t, 0) for t in MODES[mode][1]),
        "delivered": sum(d["handled"].get(t, 0) for t in MODES[mode][1]),
        "lost": d["lost"].get("total", 0),
        "lost_ringbuf": sum(d["lost"].get("ringbuf_" + t, 0) for t in MODES[mode][1]),
        "lost_detail": {k: v for k, v in d["lost"].items() if v},
        "cpu_pct": cpu_pct(t0, t1, wall),
    }


def step(d, mode, rate, seconds, workers):
    before = d.drain()
    t0 = d.ticks()
    kind, *extra = MODES[mode][0]
    res = storm(kind, "--workers", workers, "--rate", rate, "--duration", seconds, *extra,
                timeout=seconds + 120)
    t1 = d.ticks()
    after = d.drain()
    r = _row(mode, before, after, res, t0, t1, res["wall"])
    r["target"] = rate
    return r


def ramp(tmp, s, paths=None, modes=None):
    modes = tuple(modes or s["modes"])
    rows = []
    for rep in range(s["reps"]):
        order = modes if rep % 2 == 0 else tuple(reversed(modes))
        for mode in order:
            d = Daemon(tmp, "", paths)
            try:
                for rate in s["rates"]:
                    log(f"loss {mode} {rate}/s rep {rep + 1}/{s['reps']}")
                    r = step(d, mode, rate, s["seconds"], s["workers"])
                    r["rep"] = rep
                    rows.append(r)
            finally:
                d.stop()
    return rows


def knee(rows, mode):
    """The lowest target rate at which any repetition lost a record, or None."""
    lossy = [r["target"] for r in rows if r["mode"] == mode and r["lost"] > 0]
    return min(lossy) if lossy else None


def _state(st):
    return {"state": (st or {}).get("state"), "reasons": (st or {}).get("reasons", ""),
            "lost_total": (st or {}).get("lost", {}).get("total")}


def small_ring(tmp, s, paths=None):
    """ringbuf_kib at its minimum. First exec at small_ring_rate; if that loses
    nothing, exec and connect --talk together at the top ramp rate; if that loses
    nothing either, the consumer stalled (SIGSTOP) for 2 s during an exec storm."""
    kib, rate, secs, w = s["small_ring_kib"], s["small_ring_rate"], s["seconds"], s["workers"]
    top = max(s["rates"])
    runs = []
    d = Daemon(tmp, f"ringbuf_kib = {kib}\n", paths)
    try:
        log(f"loss small ring ({kib} KiB): exec {rate}/s")
        r = step(d, "exec", rate, secs, w)
        r.update(what=f"exec storm at {rate}/s", **_state(d.status()))
        runs.append(r)
        if r["lost"] == 0:
            log(f"loss small ring: exec and connect together at {top}/s each")
            before = d.drain()
            t0, w0 = d.ticks(), time.monotonic()
            pe = storm_start("exec", "--workers", w, "--rate", top, "--duration", secs)
            pc = storm_start("connect", "--workers", w, "--rate", top, "--duration", secs,
                             "--talk")
            res_e, res_c = storm_result(pe, secs + 120), storm_result(pc, secs + 120)
            wall = time.monotonic() - w0
            after = d.drain()
            x = _row("exec", before, after, res_e, t0, d.ticks(), wall)
            xc = _row("talk", before, after, res_c, t0, d.ticks(), wall)
            x.update(what=f"exec and connect --talk storms together at {top}/s each",
                     target=top, ops_connect=xc["ops"], achieved_connect=xc["achieved"],
                     delivered_connect=xc["delivered"], **_state(d.status()))
            runs.append(x)
            if x["lost"] == 0:
                runs.append(stalled(d, rate, secs, w))
    finally:
        d.stop()
    return {"kib": kib, "runs": runs}


def stalled(d, rate, secs, w):
    log(f"loss small ring: daemon stopped for 2 s during exec {rate}/s")
    before = d.drain()
    t0, w0 = d.ticks(), time.monotonic()
    p = storm_start("exec", "--workers", w, "--rate", rate, "--duration", max(secs, 4))
    try:
        time.sleep(1)
        os.kill(d.pid, signal.SIGSTOP)
        time.sleep(2)
    finally:
        os.kill(d.pid, signal.SIGCONT)
    res = storm_result(p, secs + 120)
    wall = time.monotonic() - w0
    after = d.drain()
    x = _row("exec", before, after, res, t0, d.ticks(), wall)
    x.update(what=f"exec storm at {rate}/s with the daemon stopped (SIGSTOP) for 2 s",
             target=rate, **_state(d.status()))
    return x


def run(tmp, reps, paths=None):
    s = settings(reps)
    return {"settings": s, "ramp": ramp(tmp, s, paths), "small_ring": small_ring(tmp, s, paths)}
