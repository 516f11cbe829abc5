# SPDX-License-Identifier: Apache-2.0
"""Overhead: the same storm with no sensor, under minerwatchd's hooks with empty
programs, with minerwatchd and with the peer from libbpf-tools, interleaved (the
order rotates every repetition)."""
import os
import subprocess
import time

from common import (CHILDREN, CLK_TCK, children_cpu, cpu_ticks, env_int, log, run_bounded,
                    storm, tool, wait_for)
from daemon import Daemon, cpu_pct, delta
from peers import PeerSet, available

# "hooks": tools/hookfloor, every hook minerwatchd attaches, each running a
# program that returns at once; the part of minerwatchd's ratio that any
# program at those points costs.
CONFIGS = ("none", "hooks", "minerwatch", "peer")


class HookFloor:
    """tools/hookfloor, started and holding its hooks, until stop()."""

    def __init__(self, tmp, timeout=30):
        base = os.path.join(tmp, f"hookfloor.{os.getpid()}.{id(self)}")
        self.out, self.err = base + ".out", base + ".err"
        with open(self.out, "w") as out, open(self.err, "w") as err:
            self.p = CHILDREN.spawn([tool("hookfloor")], stdin=subprocess.DEVNULL,
                                    stdout=out, stderr=err)
        ok = wait_for(lambda: self.p.poll() is not None or self._said("ready\n"),
                      timeout, 0.02)
        if not ok or self.p.poll() is not None:
            self.stop()
            with open(self.err) as f:
                raise RuntimeError(f"hookfloor did not start: {f.read().strip()[-300:]}")

    def _said(self, line):
        with open(self.out) as f:
            return f.read() == line

    def ticks(self):
        return cpu_ticks(self.p.pid)

    def stop(self):
        CHILDREN.stop(self.p, timeout=10)


class BuildLoad:
    """A small C project (FILES sources) built from clean with make -j2 and gcc:
    many short compiler processes, file I/O, a link."""

    def __init__(self, tmp, files):
        self.files = files
        self.dir = os.path.join(tmp, "buildload")
        os.makedirs(os.path.join(self.dir, "src"), exist_ok=True)
        with open(os.path.join(self.dir, "common.h"), "w") as f:
            f.write("#include <stddef.h>\n#include <string.h>\n"
                    "struct rec { int id; char name[32]; double w; };\n")
            for i in range(files):
                f.write(f"int f{i}(int x);\n")
        for i in range(files):
            with open(os.path.join(self.dir, "src", f"f{i}.c"), "w") as f:
                f.write(f"""#include "common.h"
static struct rec table{i}[8];
static int mix{i}(int x)
{{
	int acc = {i};
	for (int k = 0; k < x % 64; k++)
		acc = acc * 31 + k;
	return acc;
}}
int f{i}(int x)
{{
	switch (x & 3) {{
	case 0: table{i}[x & 7].id = x; break;
	case 1: strncpy(table{i}[x & 7].name, "r{i}", sizeof(table{i}[0].name) - 1); break;
	case 2: table{i}[x & 7].w = x * 0.5; break;
	default: return mix{i}(x);
	}}
	return table{i}[x & 7].id + (int)strlen(table{i}[x & 7].name);
}}
""")
        with open(os.path.join(self.dir, "main.c"), "w") as f:
            f.write('#include "common.h"\nint main(void)\n{\n\tint s = 0;\n')
            for i in range(files):
                f.write(f"\ts += f{i}({i});\n")
            f.write("\treturn s == 42;\n}\n")
        with open(os.path.join(self.dir, "Makefile"), "w") as f:
            f.write("SRCS := main.c $(wildcard src/*.c)\nOBJS := $(SRCS:.c=.o)\n"
                    "prog: $(OBJS)\n\t$(CC) -o $@ $^\n"
                    "%.o: %.c common.h\n\t$(CC) -O2 -Wall -I. -c $< -o $@\n"
                    "clean:\n\trm -f prog $(OBJS)\n")

    def run(self):
        run_bounded(["make", "-s", "-C", self.dir, "clean"], 120)
        t0, c0 = time.monotonic(), children_cpu()
        rc, _, err = run_bounded(["make", "-s", "-j2", "-C", self.dir, "CC=gcc"], 900)
        wall, cpu = time.monotonic() - t0, children_cpu() - c0
        if rc != 0:
            raise RuntimeError(f"build workload failed: {err[-300:]}")
        return {"mode": "build", "ops": self.files + 1, "errors": 0, "seconds": wall,
                "rate": (self.files + 1) / wall, "workers": 2, "wall": wall, "cpu": cpu}


def settings():
    return {
        "exec_count": env_int("MW_BENCH_EXEC_COUNT", 20000),
        "connect_count": env_int("MW_BENCH_CONNECT_COUNT", 50000),
        "switch_count": env_int("MW_BENCH_SWITCH_COUNT", 200000),
        "build_files": env_int("MW_BENCH_BUILD_FILES", 150),
        "workers": env_int("MW_BENCH_WORKERS", 2),
        # none always runs: every ratio is to it
        "configs": [c for c in os.environ.get("MW_BENCH_OVERHEAD_CONFIGS",
                                              ",".join(CONFIGS[1:])).split(",") if c],
    }


def workloads(tmp, s):
    w = s["workers"]
    build = BuildLoad(tmp, s["build_files"])
    return [
        {"name": "exec", "what": f"storm exec --workers {w} --count {s['exec_count']}",
         "peers": ["execsnoop"], "record": "exec",
         "run": lambda: storm("exec", "--workers", w, "--count", s["exec_count"])},
        {"name": "connect", "what": f"storm connect --workers {w} --count {s['connect_count']}",
         "peers": ["tcplife"], "record": "connect",
         "run": lambda: storm("connect", "--workers", w, "--count", s["connect_count"])},
        {"name": "talk", "what": f"storm connect --talk --workers {w} --count "
                                 f"{s['connect_count']}",
         "peers": ["tcplife"], "record": "connect",
         "run": lambda: storm("connect", "--talk", "--workers", w, "--count",
                              s["connect_count"])},
        {"name": "switch", "what": f"storm switch --count {s['switch_count']}",
         "peers": ["runqlat"], "record": None,
         "run": lambda: storm("switch", "--count", s["switch_count"])},
        {"name": "build", "what": f"make -j2 of {s['build_files']} C files + main, gcc -O2, "
                                  "from clean",
         "peers": ["execsnoop", "tcplife", "runqlat"], "record": "exec",
         "run": build.run},
    ]


def settle(ticks, timeout=3.0):
    """Waits until a sensor's CPU time stops growing (it has processed what the
    storm left behind), at most timeout seconds."""
    last, stable = ticks(), 0
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and stable < 3:
        time.sleep(0.2)
        t = ticks()
        stable = stable + 1 if t == last else 0
        last = t


def one(tmp, wl, config, paths):
    """One storm under one configuration."""
    r = {"config": config}
    sensor = None
    try:
        if config == "minerwatch":
            sensor = Daemon(tmp, "", paths)
            before = sensor.status()
        elif config == "hooks":
            sensor = HookFloor(tmp)
        elif config == "peer":
            sensor = PeerSet(wl["peers"], tmp)
        t0 = sensor.ticks() if sensor else None
        res = wl["run"]()
        t1 = sensor.ticks() if sensor else None
        r.update(seconds=res["seconds"], wall=res["wall"], load_cpu=res.get("cpu"),
                 ops=res["ops"],
                 errors=res["errors"], rate=res["rate"])
        if sensor:
            # CPU during the load; what it still spends catching up is noted apart
            r["cpu_pct"] = cpu_pct(t0, t1, res["wall"])
            r["cpu_s"] = (t1 - t0) / CLK_TCK if t1 is not None else None
        if config == "minerwatch":
            after = sensor.drain()
            d = delta(before, after)
            rec = wl["record"]
            r["lost"] = d["lost"].get("total", 0)
            r["lost_detail"] = {k: v for k, v in d["lost"].items() if v}
            r["delivered"] = d["handled"][rec] if rec else None
            r["submitted"] = d["submitted"][rec] if rec else None
            r["state"] = (after or {}).get("state")
        if sensor:
            settle(sensor.ticks)
            t2 = sensor.ticks()
            r["catch_up_cpu_s"] = (t2 - t1) / CLK_TCK if None not in (t1, t2) else None
    finally:
        if sensor:
            sensor.stop()
    if config == "peer":
        pr = sensor.result()
        r.update(peer_lines=pr["lines"], peer_samples=pr["samples"], peer_lost=pr["lost"],
                 peer_lost_msgs=pr["lost_msgs"], peer_by_tool=pr["by_tool"])
    return r


def run(tmp, reps, paths=None, only=None):
    s = settings()
    out = {"settings": s, "reps": reps, "workloads": {}}
    for wl in workloads(tmp, s):
        if only and wl["name"] not in only:
            continue
        missing = [p for p in wl["peers"] if not available(p)]
        configs = [c for c in CONFIGS if (c != "peer" or not missing) and
                   (c == "none" or c in s["configs"])]
        runs, error = [], None
        try:
            for rep in range(reps):
                k = rep % len(configs)
                for config in configs[k:] + configs[:k]:
                    log(f"overhead {wl['name']} rep {rep + 1}/{reps}: {config}")
                    x = one(tmp, wl, config, paths)
                    x["rep"] = rep
                    runs.append(x)
        except Exception as e:  # the other loads are still worth measuring
            log(f"overhead {wl['name']}: {e}")
            error = f"{type(e).__name__}: {e}"
        out["workloads"][wl["name"]] = {"what": wl["what"], "peers": wl["peers"],
                                        "record": wl["record"], "missing_peers": missing,
                                        "runs": runs, "error": error}
    return out


def ratios(wl, config, key="seconds"):
    """Run time (or, with key="load_cpu", the load's own CPU time) of config over
    none, per repetition."""
    by = {}
    for r in wl["runs"]:
        if r.get(key) is not None:
            by.setdefault(r["rep"], {})[r["config"]] = r[key]
    return [v[config] / v["none"] for v in by.values() if config in v and v.get("none")]


def runs_of(wl, config):
    return [r for r in wl["runs"] if r["config"] == config]
