#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""make bench: measures minerwatch on this machine and writes BENCHMARKS.md.

Every figure comes from a run of the real daemon, the real BPF programs, the load
generators and simulators in tools/ and, for comparison, the peers from
libbpf-tools; nothing here asserts, it only measures and reports. Ratios are
measured side by side in one run (interleaved).

  tools/bench/run.py                  the whole suite -> BENCHMARKS.md, docs/bench/
  tools/bench/run.py compare --before DIR --after DIR --what WHAT
                                      two daemon builds A/B; prints a markdown table
  tools/bench/run.py report RESULTS.json [OUT_DIR]
                                      the report again from saved figures
                                      (OUT_DIR defaults to build/bench/)

Environment:
  MW_BENCH_ONLY=overhead,loss,memory,soak,detect,hookcost,idle
                         a subset; a partial report goes to MW_BENCH_OUT
                         (default build/bench/) instead of BENCHMARKS.md
  MW_BENCH_OUT=DIR       where the report, plots and results.json go
  MW_BENCH_REPS=5        repetitions
  MW_BENCH_OVERHEAD_REPS=3*REPS  repetitions of the overhead loads
  MW_BENCH_DAEMON=PATH   another minerwatchd (its minerwatch CLI beside it, if any)
  MW_BENCH_TOOLS=DIR     storm, holder, noop (and other tools) from DIR first
  sizes: MW_BENCH_EXEC_COUNT=20000 MW_BENCH_CONNECT_COUNT=50000
    MW_BENCH_SWITCH_COUNT=200000 MW_BENCH_BUILD_FILES=150 MW_BENCH_WORKERS=2
    MW_BENCH_OVERHEAD_LOADS=exec,connect,talk,switch,build
    MW_BENCH_OVERHEAD_CONFIGS=hooks,minerwatch,peer (none always runs)
    MW_BENCH_LOSS_RATES=5000,...,40000 MW_BENCH_LOSS_SECONDS=5 MW_BENCH_LOSS_REPS=REPS
    MW_BENCH_LOSS_MODES=exec,connect,talk
    MW_BENCH_SMALL_RING_KIB=64 MW_BENCH_SMALL_RING_RATE=20000
    MW_BENCH_HOLD_PROCS=10000 MW_BENCH_HOLD_CONNS=10000
    MW_BENCH_SOAK_SECONDS=600 MW_BENCH_SOAK_RATE=2000 MW_BENCH_SOAK_INTERVAL=10
    MW_BENCH_SOAK_PHASE_SECONDS=20 MW_BENCH_SOAK_BURST_EXEC=5000
    MW_BENCH_SOAK_BURST_CONNECT=20000
    MW_BENCH_IDLE_SECONDS=30 MW_BENCH_HOOKCOST_ROUNDS=200000
"""
import json
import os
import signal
import sys
import tempfile
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import detect  # noqa: E402
import loss  # noqa: E402
import memory  # noqa: E402
import overhead  # noqa: E402
import plots  # noqa: E402
import report  # noqa: E402
from common import (BUILD, CHILDREN, ROOT, env_int, log, loadavg, others_named,  # noqa: E402
                    raise_nofile, tool)
from daemon import build_paths  # noqa: E402
from peers import tracefs_ready  # noqa: E402

# in the order they run: the long soak last
SECTIONS = ("hookcost", "detect", "idle", "memory", "overhead", "loss", "soak")
NEEDS = {"hookcost": ["hookcost"], "detect": ["poolsim", "minersim", "tcprelay"],
         "memory": ["holder", "noop"], "overhead": ["storm", "noop", "hookfloor"],
         "loss": ["storm", "noop"], "soak": ["storm", "noop"]}


def _interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def run_section(name, tmp, reps, paths):
    if name == "hookcost":
        return detect.hookcost(reps)
    if name == "detect":
        return detect.run(tmp, reps, paths)
    if name == "idle":
        return memory.idle(tmp, env_int("MW_BENCH_IDLE_SECONDS", 30), paths)
    if name == "memory":
        return memory.held(tmp, paths)
    if name == "overhead":
        loads = os.environ.get("MW_BENCH_OVERHEAD_LOADS")
        # Each repetition is a second or two, and one repetition's ratio moves by
        # 10% on a shared machine: the median needs more of them than the rest.
        return overhead.run(tmp, env_int("MW_BENCH_OVERHEAD_REPS", 3 * reps), paths,
                            loads.split(",") if loads else None)
    if name == "loss":
        return loss.run(tmp, reps, paths)
    if name == "soak":
        return memory.soak(tmp, paths)
    raise ValueError(name)


def write_report(R, meta, ran, reps, out_dir, partial):
    plot_dir = os.path.join(out_dir, "docs", "bench")
    os.makedirs(plot_dir, exist_ok=True)
    made = plots.make_all(R, plot_dir)
    rel = {k: os.path.relpath(v, out_dir) for k, v in made.items()}
    results = os.path.join(plot_dir, "results.json")
    meta["results_rel"] = os.path.relpath(results, out_dir)
    with open(results, "w") as f:
        json.dump({"meta": meta, "reps": reps, "sections": ran, "results": R}, f, indent=1)
    text = report.render(R, meta, rel, ran, SECTIONS, reps, partial)
    path = os.path.join(out_dir, "BENCHMARKS.md")
    with open(path, "w") as f:
        f.write(text + "\n")
    return path, plot_dir, text


def rerender(results_json, out_dir):
    """run.py report RESULTS.json [OUT_DIR]: the report and plots again from saved
    figures (after editing the report code or optimisations.md). Never writes the
    top-level BENCHMARKS.md unless OUT_DIR says so."""
    with open(results_json) as f:
        saved = json.load(f)
    ran = saved["sections"]
    failed = [k for k, v in saved["results"].items() if isinstance(v, dict) and v.get("error")]
    partial = len(ran) < len(SECTIONS) or bool(failed)
    out_dir = out_dir or os.path.join(BUILD, "bench")
    path, _, _ = write_report(saved["results"], saved["meta"], ran, saved["reps"], out_dir,
                              partial)
    log(f"report: {path}")
    return 0


def main(argv):
    if argv[1:2] == ["compare"]:
        import compare
        return compare.main(argv[2:])
    if argv[1:2] == ["report"] and len(argv) in (3, 4):
        return rerender(argv[2], argv[3] if len(argv) == 4 else None)
    if argv[1:]:
        print(__doc__)
        return 0 if argv[1] in ("-h", "--help") else 2
    if os.geteuid() != 0:
        raise SystemExit("bench: run as root (loads BPF programs)")
    only = [s.strip() for s in os.environ.get("MW_BENCH_ONLY", "").split(",") if s.strip()]
    bad = [s for s in only if s not in SECTIONS]
    if bad:
        raise SystemExit(f"bench: unknown section(s) {bad}; sections: {', '.join(SECTIONS)}")
    ran = [s for s in SECTIONS if not only or s in only]
    reps = env_int("MW_BENCH_REPS", 5)
    paths = build_paths()
    for p in paths:
        if not os.access(p, os.X_OK):
            raise SystemExit(f"bench: {p} missing (make all)")
    missing = sorted({t for s in ran for t in NEEDS.get(s, []) if not os.access(tool(t), os.X_OK)})
    if missing:
        raise SystemExit(f"bench: tools missing: {', '.join(missing)} (make all, or "
                         "MW_BENCH_TOOLS=DIR)")
    if "overhead" in ran and not tracefs_ready():
        log("tracefs could not be mounted: the libbpf-tools peers will fail")

    # SIGINT too: a shell that starts the suite in the background ignores it
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, _interrupt)
    raise_nofile()
    t_start = time.monotonic()
    meta = {"machine": report.machine(paths[0]), "load_start": loadavg(),
            "other_sensors": others_named("minerwatchd"), "sections": {},
            "settings": {k: v for k, v in os.environ.items()
                         if k.startswith("MW_BENCH_") and k not in ("MW_BENCH_OUT",)}}
    R = {}
    with tempfile.TemporaryDirectory(prefix="mw-bench-") as tmp:
        try:
            for name in ran:
                log(f"== {name}")
                t0 = time.monotonic()
                try:
                    R[name] = run_section(name, tmp, reps, paths)
                except Exception as e:  # one broken section must not cost the others
                    traceback.print_exc()
                    R[name] = {"error": f"{type(e).__name__}: {e}"}
                meta["sections"][name] = round(time.monotonic() - t0, 1)
                log(f"== {name} took {meta['sections'][name]:.0f} s")
        finally:
            CHILDREN.stop_all()
    meta["load_end"] = loadavg()
    meta["elapsed_min"] = (time.monotonic() - t_start) / 60

    failed = [k for k, v in R.items() if isinstance(v, dict) and v.get("error")]
    partial = len(ran) < len(SECTIONS) or bool(failed)
    out_dir = os.environ.get("MW_BENCH_OUT") or (os.path.join(BUILD, "bench") if partial
                                                 else ROOT)
    if failed and not os.environ.get("MW_BENCH_OUT"):
        log(f"sections failed ({', '.join(failed)}): report goes to {out_dir}")
    path, plot_dir, text = write_report(R, meta, ran, reps, out_dir, partial)
    print(text)
    log(f"report: {path}; plots and results.json in {plot_dir}")
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except KeyboardInterrupt:
        CHILDREN.stop_all()
        log("interrupted: everything it started is stopped; no report written")
        sys.exit(130)
