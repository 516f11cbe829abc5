# SPDX-License-Identifier: Apache-2.0
"""run.py compare --before DIR --after DIR --what WHAT [--reps N] [--out FILE]

One benchmark for two daemon builds (DIR holds minerwatchd and minerwatch),
interleaved A/B (the order alternates every repetition), printed as a markdown
table: figures for before/after optimisation notes.

  exec, connect, talk, switch
                           the overhead storm with no sensor, before and after
  loss-exec, loss-connect, loss-talk
                           the loss ramp (MW_BENCH_LOSS_RATES) on each build
  memory-10k               holder with 10k processes and 10k connections
  idle                     idle CPU (MW_BENCH_IDLE_SECONDS) and memory
"""
import argparse
import os
import signal
import tempfile

import loss
import memory
import overhead
from common import CHILDREN, env_int, log, med, raise_nofile, spread
from daemon import build_paths

WHATS = ("exec", "connect", "talk", "switch", "loss-exec", "loss-connect", "loss-talk",
         "memory-10k", "idle")


def _n(x):
    return "n/a" if x is None or x != x else f"{x:,.0f}".replace(",", " ")


def _change(b, a):
    if b is None or a is None or b != b or a != a or not b:
        return ""
    c = 100.0 * (a - b) / b
    return f"{c:+.1f}%"


def table(head, rows):
    L = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    L += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(L)


def storms(tmp, what, reps, builds):
    s = overhead.settings()
    wl = [w for w in overhead.workloads(tmp, s) if w["name"] == what][0]
    labels = ["none", "before", "after"]
    runs = {k: [] for k in labels}
    for rep in range(reps):
        k = rep % 3
        for label in labels[k:] + labels[:k]:
            log(f"compare {what} rep {rep + 1}/{reps}: {label}")
            cfg = "none" if label == "none" else "minerwatch"
            r = overhead.one(tmp, wl, cfg, builds.get(label))
            r["rep"] = rep
            runs[label].append(r)
    def ratio(label, key):
        base = {r["rep"]: r.get(key) for r in runs["none"]}
        return [r[key] / base[r["rep"]] for r in runs[label]
                if r.get(key) and base.get(r["rep"])]
    rows = []
    for key, label, fmt in (("seconds", "run time, s", "{:.3f}"),
                            ("ratio", "ratio to no sensor", "{:.3f}"),
                            ("cpu_ratio", "load CPU time ratio to no sensor", "{:.3f}"),
                            ("cpu_pct", "daemon CPU, % of a core", "{:.1f}"),
                            ("delivered", "records delivered", "{:.0f}"),
                            ("lost", "records lost (sum over reps)", None)):
        cells = []
        meds = []
        for b in ("before", "after"):
            if key == "ratio":
                xs = ratio(b, "seconds")
            elif key == "cpu_ratio":
                xs = ratio(b, "load_cpu")
            else:
                xs = [r.get(key) for r in runs[b]]
            if fmt is None:
                v = sum(x or 0 for x in xs)
                cells.append(_n(v))
                meds.append(v)
            else:
                cells.append(spread(xs, fmt))
                meds.append(med(xs))
        rows.append([label] + cells + [_change(*meds)])
    none = spread([r["seconds"] for r in runs["none"]])
    head = ["", "before", "after", "change of median"]
    return (f"**{wl['what']}**, {reps} repetitions interleaved (none / before / after, "
            f"rotating); no sensor: {none} s; medians with min-max.\n\n" + table(head, rows))


def ramp(tmp, mode, reps, builds):
    s = loss.settings(reps)
    s["reps"] = 1
    rows = {"before": [], "after": []}
    for rep in range(reps):
        order = ("before", "after") if rep % 2 == 0 else ("after", "before")
        for b in order:
            log(f"compare loss-{mode} rep {rep + 1}/{reps}: {b}")
            for r in loss.ramp(tmp, s, builds[b], modes=(mode,)):
                r["rep"] = rep
                rows[b].append(r)
    out = []
    for rate in s["rates"]:
        cells = [_n(rate)]
        for b in ("before", "after"):
            rr = [r for r in rows[b] if r["target"] == rate]
            cells += [spread([r["achieved"] for r in rr], "{:.0f}"),
                      spread([r["delivered"] for r in rr], "{:.0f}"),
                      _n(sum(r["lost"] for r in rr)),
                      spread([r["cpu_pct"] for r in rr], "{:.1f}")]
        out.append(cells)
    knees = []
    for b in ("before", "after"):
        k = loss.knee(rows[b], mode)
        knees.append(f"{b}: {_n(k)}/s" if k else f"{b}: none up to {_n(max(s['rates']))}/s")
    head = ["target/s", "before achieved/s", "before delivered", "before lost",
            "before CPU %", "after achieved/s", "after delivered", "after lost", "after CPU %"]
    return (f"**{mode} loss ramp**, `--duration {s['seconds']}`, {reps} repetitions "
            f"interleaved; lost is the sum over repetitions. Knee: {'; '.join(knees)}.\n\n"
            + table(head, out))


def memory10k(tmp, reps, builds):
    res = {"before": [], "after": []}
    for rep in range(reps):
        order = ("before", "after") if rep % 2 == 0 else ("after", "before")
        for b in order:
            log(f"compare memory-10k rep {rep + 1}/{reps}: {b}")
            res[b].append(memory.held(tmp, builds[b]))
    rows = []
    for key, label in (("rss", "RSS holding"), ("pss", "PSS holding"),
                       ("private", "private holding"), ("bpf_memlock", "BPF memlock")):
        meds = [med([r["held"][key] for r in res[b]]) for b in ("before", "after")]
        rows.append([label] + [spread([r["held"][key] / 1024 for r in res[b]], "{:.2f}") + " MiB"
                               for b in ("before", "after")] + [_change(*meds)])
    meds = [med([r["baseline"]["rss"] for r in res[b]]) for b in ("before", "after")]
    rows.append(["RSS before the holder"] +
                [spread([r["baseline"]["rss"] / 1024 for r in res[b]], "{:.2f}") + " MiB"
                 for b in ("before", "after")] + [_change(*meds)])
    for key in ("processes", "connections"):
        rows.append([f"{key} tracked"] +
                    [spread([r["held_tracked"].get(key) for r in res[b]], "{:.0f}")
                     for b in ("before", "after")] + [""])
    p = res["before"][0]
    return (f"**holder --procs {p['procs']} --conns {p['conns']} --talk**, {reps} "
            "repetitions interleaved; medians with min-max.\n\n"
            + table(["", "before", "after", "change of median"], rows))


def idle(tmp, reps, builds):
    secs = env_int("MW_BENCH_IDLE_SECONDS", 30)
    res = {"before": [], "after": []}
    for rep in range(reps):
        order = ("before", "after") if rep % 2 == 0 else ("after", "before")
        for b in order:
            log(f"compare idle rep {rep + 1}/{reps}: {b}")
            res[b].append(memory.idle(tmp, secs, builds[b]))
    rows = []
    meds = [med([r["cpu_pct"] for r in res[b]]) for b in ("before", "after")]
    rows.append(["CPU, % of a core"] + [spread([r["cpu_pct"] for r in res[b]], "{:.2f}")
                                         for b in ("before", "after")] + [_change(*meds)])
    for key, label in (("rss", "RSS"), ("pss", "PSS"), ("private", "private"),
                       ("bpf_memlock", "BPF memlock")):
        meds = [med([r["memory"][key] for r in res[b]]) for b in ("before", "after")]
        rows.append([label] + [spread([r["memory"][key] / 1024 for r in res[b]], "{:.2f}")
                               + " MiB" for b in ("before", "after")] + [_change(*meds)])
    return (f"**idle, {secs} s**, {reps} repetitions interleaved; medians with min-max.\n\n"
            + table(["", "before", "after", "change of median"], rows))


def main(argv):
    ap = argparse.ArgumentParser(prog="run.py compare", description=__doc__.split("\n")[2])
    ap.add_argument("--before", required=True, help="directory with minerwatchd, minerwatch")
    ap.add_argument("--after", required=True, help="directory with minerwatchd, minerwatch")
    ap.add_argument("--what", required=True, choices=WHATS)
    ap.add_argument("--reps", type=int, default=env_int("MW_BENCH_REPS", 5))
    ap.add_argument("--out", help="also write the table to this file")
    a = ap.parse_args(argv)
    if os.geteuid() != 0:
        raise SystemExit("bench: run as root (loads BPF programs)")
    builds = {"before": build_paths(a.before), "after": build_paths(a.after)}
    for b, (d, c) in builds.items():
        for p in (d, c):
            if not os.access(p, os.X_OK):
                raise SystemExit(f"bench: --{b}: {p} missing")

    def stop(signum, frame):
        raise KeyboardInterrupt
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, stop)
    raise_nofile()
    with tempfile.TemporaryDirectory(prefix="mw-compare-") as tmp:
        try:
            if a.what in ("exec", "connect", "talk", "switch"):
                text = storms(tmp, a.what, a.reps, builds)
            elif a.what.startswith("loss-"):
                text = ramp(tmp, a.what[5:], a.reps, builds)
            elif a.what == "memory-10k":
                text = memory10k(tmp, a.reps, builds)
            else:
                text = idle(tmp, a.reps, builds)
        finally:
            CHILDREN.stop_all()
    text = (f"before: {os.path.abspath(a.before)}; after: {os.path.abspath(a.after)}\n\n"
            + text)
    print(text)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text + "\n")
    return 0

