# SPDX-License-Identifier: Apache-2.0
"""BENCHMARKS.md from the results of one run."""
import os
import platform
import subprocess
import time

from common import ROOT, dur, med, mib, spread
from loss import knee
from overhead import ratios, runs_of

PEER_NOTE = {
    "exec": "execsnoop",
    "connect": "tcplife",
    "talk": "tcplife",
    "switch": "runqlat",
    "build": "execsnoop + tcplife + runqlat",
}


def _cmd(argv):
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=10)
        return r.stdout.strip() if r.returncode == 0 else ""
    except (OSError, subprocess.TimeoutExpired):
        return ""


def machine(daemon_path):
    """What the report says about where it ran (taken at the start of the run)."""
    cpu = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_kib = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    distro = ""
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    distro = line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    rel = os.path.relpath(daemon_path, ROOT)
    commit = _cmd(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"])
    dirty = _cmd(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"])
    sha = _cmd(["sha256sum", daemon_path]).split(" ")[0][:16]
    return {
        "cpu": cpu, "cpus": os.cpu_count(), "mem_gib": mem_kib / 1048576,
        "kernel": platform.uname().release, "arch": platform.uname().machine, "distro": distro,
        "daemon": rel if not rel.startswith("..") else daemon_path, "daemon_sha256": sha,
        "commit": commit + (" with uncommitted changes" if dirty else ""),
        "libbpf_tools": _cmd(["dpkg-query", "-W", "-f=${Version}", "libbpf-tools"]) or
        _cmd(["rpm", "-q", "--qf", "%{VERSION}", "libbpf-tools"]),
        "gcc": (_cmd(["gcc", "--version"]).splitlines() or [""])[0],
        "gnuplot": _cmd(["gnuplot", "--version"]),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


def _n(x):
    return "n/a" if x is None else f"{x:,.0f}".replace(",", " ")


def _pct(a, b):
    return f"{100.0 * a / b:.1f}%" if b else "n/a"


def _yes(ok):
    return "yes" if ok else "**no**"


# --- sections --------------------------------------------------------------------

def budgets(R):
    L = ["## Budgets (SPEC section 9)", "",
         "What this run measured against each budget; nothing here fails the run.", "",
         "| budget | measured | within |", "| --- | --- | --- |"]
    ov = R.get("overhead")
    if ov and not ov.get("error"):
        for name in ("exec", "connect", "talk", "switch", "build"):
            wl = ov["workloads"].get(name)
            rs = ratios(wl, "minerwatch") if wl else []
            if rs:
                what = {"connect": "connect (silent) storm", "talk": "connect --talk storm",
                        "build": "build-like load"}.get(name, name + " storm")
                cs = ratios(wl, "minerwatch", "load_cpu")
                cpu = f"; the load's CPU time {spread(cs)}" if cs else ""
                fl = ratios(wl, "hooks")
                floor = (f"; under the same hooks with empty programs {spread(fl)}"
                         if fl else "")
                L.append(f"| {what} run time ratio <= 1.05 (aim 1.01) | "
                         f"{spread(rs)}{cpu}{floor} | {_yes(med(rs) <= 1.05)} |")
    lo = R.get("loss")
    if lo and not lo.get("error"):
        for mode in ("exec", "connect", "talk"):
            rr = [r for r in lo["ramp"] if r["mode"] == mode and r["target"] == 20000]
            if rr:
                lost = sum(r["lost"] for r in rr)
                ach = med([r["achieved"] for r in rr])
                reached = ach >= 0.95 * 20000
                what = {"exec": "execs/s", "connect": "silent connects/s",
                        "talk": "connects/s with payload"}[mode]
                L.append(f"| zero lost records at 20k {what} | {_n(lost)} lost in "
                         f"{len(rr)} run(s) of {lo['settings']['seconds']} s; achieved "
                         f"{_n(ach)}/s"
                         f"{'' if reached else ' (20k/s not reached on this machine)'} | "
                         f"{_yes(lost == 0) if reached else 'not measurable'} |")
    me = R.get("memory")
    if me and not me.get("error") and me.get("held"):
        t = me["held_tracked"]
        L.append(f"| RSS <= 16 MiB with 10k processes and 10k connections tracked | "
                 f"{mib(me['held']['rss'])} ({_n(t.get('processes'))} processes, "
                 f"{_n(t.get('connections'))} connections) | "
                 f"{_yes(me['held']['rss'] <= 16384)} |")
    idle = R.get("idle")
    if idle and not idle.get("error"):
        L.append(f"| BPF map memory bounded and reported | "
                 f"{mib(idle['tracked'].get('bpf_map_bytes', 0) / 1024)} (status), "
                 f"{mib(idle['memory']['bpf_memlock'])} memlock of its "
                 f"{idle['memory']['bpf_maps']} maps | reported |")
        L.append(f"| idle daemon CPU <= 0.5% of a core | {idle['cpu_pct']:.2f}% | "
                 f"{_yes(idle['cpu_pct'] <= 0.5)} |")
    de = R.get("detect")
    if de and not de.get("error"):
        xs = [x for x in de["start_to_ready_ms"] if x is not None]
        if xs:
            L.append(f"| start to ready <= 1 s | {spread(xs, '{:.0f}')} ms | "
                     f"{_yes(med(xs) <= 1000)} |")
        ok = sum(1 for r in de["scenarios"]
                 if r["lat"] and len(r["lat"]) == r["n"] and
                 max(r["lat"]) <= float(r["budget"].split()[0]) * 1000)
        L.append(f"| detection latencies of section 6 | {ok} of {len(de['scenarios'])} "
                 f"scenarios detected every time within budget (see Latency) | "
                 f"{_yes(ok == len(de['scenarios']))} |")
    return L + [""]


def overhead(R, plots):
    ov = R["overhead"]
    s, reps = ov["settings"], ov["reps"]
    L = ["## 1. Overhead on storms", "",
         f"Each load runs {reps} time(s) under each configuration, interleaved in one run: "
         "no sensor; minerwatchd's hooks with empty programs (tools/hookfloor: every hook "
         "the daemon attaches, each running a program that returns at once); minerwatchd "
         "with the default configuration (started and healthy before the load, stopped "
         "after); and the peer from libbpf-tools. The order rotates every repetition "
         "(none, hooks, minerwatchd, peer; then hooks, minerwatchd, peer, none; ...). "
         "Ratios are taken within a repetition, then the median and min-max over "
         "repetitions. The empty-hooks ratio is the kernel's price for running a program "
         "at those points at all: the floor for any sensor built on the same hooks. "
         "minerwatchd's ratio above it is its own work: the programs' bodies, its records "
         "and the daemon.", ""]
    for name, wl in ov["workloads"].items():
        L.append(f"- **{name}**: `{wl['what']}`; peer: {PEER_NOTE.get(name, '')}"
                 + (f" (not installed: {', '.join(wl['missing_peers'])})"
                    if wl["missing_peers"] else "")
                 + (f". **Failed** after {len(wl['runs'])} runs: {wl['error']}"
                    if wl.get("error") else ""))
    L += ["", "Sensor CPU is utime+stime of the sensor's processes from /proc/PID/stat "
          "(10 ms ticks) from the start to the end of the load, as % of one core over the "
          "load's run time. BPF programs run in the "
          "context of the load, so their cost shows in the run time ratio, not in the "
          "sensor's CPU. Records: minerwatchd = counters.<type>_handled delta against the "
          "load's operations (other processes on the machine add a few), lost = delta of "
          "status lost.total; peer = event lines it printed, and the events it reported "
          "lost on stderr. minerwatchd announces a TCP connection to user space only with "
          "its first payload record (bpf/net.bpf.c), so a storm of silent connections costs "
          "no records by design; what it can lose there is a slot in the kernel connection "
          "map (lost.conn_map_full, part of lost.total). tcplife prints one line per closed "
          "socket, two per loopback connection. CPU a sensor still spends after the load "
          "ended, catching up, is shown when it reaches 0.1 s. Load CPU ratio: the CPU "
          "time (user+sys, from getrusage of the reaped load and its workers) the load "
          "used with the sensor over without, per repetition. It carries the same BPF "
          "cost as the run time, without the time the load spent waiting for a CPU, so "
          "it is less noisy on this shared machine.", "",
          "| load | sensor | run time, s | ratio to none | load CPU ratio | "
          "sensor CPU, % of a core | records delivered / operations | lost (all reps) |",
          "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name, wl in ov["workloads"].items():
        for c in ("none", "hooks", "minerwatch", "peer"):
            rr = runs_of(wl, c)
            if not rr:
                continue
            label = {"none": "none", "hooks": "minerwatchd's hooks, empty programs",
                     "minerwatch": "minerwatchd",
                     "peer": PEER_NOTE.get(name, "peer")}[c]
            ratio = "1" if c == "none" else spread(ratios(wl, c))
            cs = ratios(wl, c, "load_cpu") if c != "none" else []
            cratio = "1" if c == "none" else (spread(cs) if cs else "n/a")
            cpu = "-" if c == "none" else spread([r.get("cpu_pct") for r in rr], "{:.1f}")
            catch = med([r.get("catch_up_cpu_s") for r in rr]) if c != "none" else None
            if catch is not None and catch >= 0.1:
                cpu += f", then {catch:.1f} s catching up"
            ops = med([r["ops"] for r in rr])
            if c in ("none", "hooks"):
                deliv, lost = "-", "-"
            elif c == "minerwatch":
                if wl["record"] is None:
                    deliv = "no records for this load"
                elif name == "build":
                    deliv = f"{_n(med([r['delivered'] for r in rr]))} exec records"
                elif name == "connect":
                    dv = med([r["delivered"] for r in rr])
                    deliv = f"{_n(dv)} connect records for {_n(ops)} silent connections"
                else:
                    dv = med([r["delivered"] for r in rr])
                    deliv = f"{_n(dv)} / {_n(ops)} ({_pct(dv, ops)})"
                lost = _n(sum(r.get("lost", 0) for r in rr))
                det = {}
                for r in rr:
                    for k, v in r.get("lost_detail", {}).items():
                        if k != "total":
                            det[k] = det.get(k, 0) + v
                if det:
                    lost += " (" + ", ".join(f"{k} {v}" for k, v in det.items()) + ")"
            else:
                if name == "switch":
                    deliv = f"histogram of {_n(med([r['peer_samples'] for r in rr]))} wake-ups"
                elif name == "build":
                    deliv = (f"{_n(med([r['peer_by_tool']['execsnoop']['lines'] for r in rr]))}"
                             " execsnoop lines")
                else:
                    dv = med([r["peer_lines"] for r in rr])
                    deliv = f"{_n(dv)} / {_n(ops)} lines ({_pct(dv, ops)})"
                lost = _n(sum(r["peer_lost"] for r in rr))
                msgs = sum(r["peer_lost_msgs"] for r in rr)
                if msgs:
                    lost += f" ({msgs} 'lost' messages)"
            errs = sum(r.get("errors") or 0 for r in rr)
            t = spread([r["seconds"] for r in rr])
            if errs:
                t += f" ({errs} failed operations)"
            L.append(f"| {name} | {label} | {t} | {ratio} | {cratio} | {cpu} | {deliv} | {lost} |")
    L += ["", "Peers: execsnoop (exec), tcplife (connect; tcpconnect would be the closer "
          "match but needs kprobes, which this kernel does not have, while tcplife uses the "
          "sock:inet_sock_set_state tracepoint), runqlat (context switches: it hooks the "
          "scheduler's wakeup and switch tracepoints, the exact-accounting approach "
          "minerwatch avoids) and all three together for the build. Their stdout goes to "
          "a file (fully buffered, as in a pipe or a log), not a terminal; they are "
          "stopped with SIGINT. libbpf-tools need tracefs, mounted at "
          "/sys/kernel/tracing when it is not.", ""]
    if "overhead" in plots:
        L += [f"![overhead ratios]({plots['overhead']})", ""]
    return L


def cpu_section(R):
    L = ["## 4. CPU", "", "| condition | minerwatchd CPU, % of one core |", "| --- | --- |"]
    idle = R.get("idle")
    if idle and not idle.get("error"):
        L.append(f"| idle, {idle['seconds']} s | {idle['cpu_pct']:.2f} (budget 0.5) |")
    ov = R.get("overhead")
    if ov and not ov.get("error"):
        for name, wl in ov["workloads"].items():
            rr = runs_of(wl, "minerwatch")
            if rr:
                L.append(f"| {name} load (`{wl['what']}`) | "
                         f"{spread([r.get('cpu_pct') for r in rr], '{:.1f}')} |")
    lo = R.get("loss")
    if lo and not lo.get("error"):
        for mode in ("exec", "connect", "talk"):
            for rate in sorted({r["target"] for r in lo["ramp"] if r["mode"] == mode}):
                rr = [r for r in lo["ramp"] if r["mode"] == mode and r["target"] == rate]
                L.append(f"| {mode} at {_n(rate)}/s (loss ramp) | "
                         f"{spread([r['cpu_pct'] for r in rr], '{:.1f}')} |")
    so = R.get("soak")
    if so and not so.get("error"):
        L.append(f"| soak, {so['settings']['seconds']} s of mixed storms (average) | "
                 f"{so['cpu_pct']:.1f} |")
    return L + [""]


RAMP_TITLE = {
    "exec": "`storm exec`; records: exec + exit, two per operation",
    "connect": "`storm connect`, silent connections: no records by design, so only "
               "map-full losses could show",
    "talk": "`storm connect --talk`, one line on each connection; records: connect + "
            "payload + close",
}


def _lost_cell(rr):
    """Sum of lost.total over runs, with the non-zero lost.* keys behind it."""
    det = {}
    for r in rr:
        for k, v in r.get("lost_detail", {}).items():
            if k != "total":
                det[k] = det.get(k, 0) + v
    cell = _n(sum(r["lost"] for r in rr))
    return cell + (" (" + ", ".join(f"{k} {_n(v)}" for k, v in det.items()) + ")"
                   if det else "")


def loss(R, plots):
    lo = R["loss"]
    s = lo["settings"]
    L = ["## 2. Lost events: rate ramp", "",
         f"`storm exec|connect [--talk] --rate R --duration {s['seconds']} --workers "
         f"{s['workers']}` "
         f"with minerwatchd (default configuration) running, {s['reps']} repetition(s) per "
         "rate, rates in ascending order on one daemon per mode and repetition. Kernel "
         "submitted = delta of counters.<type>, delivered = counters.<type>_handled, lost = "
         "status lost.total (ring buffer drops of every type plus BPF map-full drops), all "
         "read after the daemon has caught up. Medians with min-max; lost is the sum over "
         "repetitions.", ""]
    for mode in ("exec", "connect", "talk"):
        rows = [r for r in lo["ramp"] if r["mode"] == mode]
        if not rows:
            continue
        k = knee(lo["ramp"], mode)
        L += [f"**{mode}** ({RAMP_TITLE[mode]}). Knee (lowest rate with any loss): "
              + (f"{_n(k)}/s" if k else
                 f"none up to a target of {_n(max(r['target'] for r in rows))}/s; the "
                 f"highest rate reached was {_n(max(r['achieved'] or 0 for r in rows))}/s"),
              "",
              "| target/s | achieved/s | operations | kernel submitted | delivered | "
              "lost (status) | of which ring buffer, these types | daemon CPU, % |",
              "| --- | --- | --- | --- | --- | --- | --- | --- |"]
        for rate in sorted({r["target"] for r in rows}):
            rr = [r for r in rows if r["target"] == rate]
            L.append(f"| {_n(rate)} | {spread([r['achieved'] for r in rr], '{:.0f}')} | "
                     f"{spread([r['ops'] for r in rr], '{:.0f}')} | "
                     f"{spread([r['submitted'] for r in rr], '{:.0f}')} | "
                     f"{spread([r['delivered'] for r in rr], '{:.0f}')} | "
                     f"{_lost_cell(rr)} | "
                     f"{_n(sum(r['lost_ringbuf'] for r in rr))} | "
                     f"{spread([r['cpu_pct'] for r in rr], '{:.1f}')} |")
        L.append("")
    if "loss" in plots:
        L += [f"![loss ramp]({plots['loss']})", ""]
    sr = lo["small_ring"]
    L += [f"**Small ring buffer** (`ringbuf_kib = {sr['kib']}`, the smallest the "
          "configuration accepts). Runs in order on one daemon; a later run only when the "
          "earlier ones lost nothing. State and reasons are `minerwatch status` right after "
          "each run.", "",
          "| run | operations | kernel submitted (exec + exit) | delivered | lost in the run | "
          "of which ring buffer exec + exit | lost.total since start | state | reasons |",
          "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in sr["runs"]:
        ops = _n(r["ops"]) + (f" + {_n(r['ops_connect'])} connects" if "ops_connect" in r
                              else "")
        ach = f"achieved {_n(r['achieved'])}/s" + (
            f" exec, {_n(r['achieved_connect'])}/s connect" if "achieved_connect" in r else "")
        L.append(f"| {r['what']} ({ach}) | {ops} | "
                 f"{_n(r['submitted'])} | {_n(r['delivered'])} | {_n(r['lost'])} | "
                 f"{_n(r['lost_ringbuf'])} | {_n(r['lost_total'])} | {r['state']} | "
                 f"{r['reasons'] or '-'} |")
    return L + [""]


def memory(R, plots):
    L = ["## 3. Memory", "",
         "RSS, PSS and private (clean + dirty) from /proc/PID/smaps_rollup. BPF map "
         "memory: status tracked.bpf_map_bytes (the daemon's own sum of the kernel's "
         "`memlock` over its object's maps) and, measured from outside, the sum of "
         "`memlock` over the maps the daemon holds open (/proc/PID/fdinfo; the same figure "
         "`bpftool map show` prints; it also counts maps libbpf opens for feature probes). "
         "BPF map memory is kernel memory; only the ring buffer's pages, mapped into the "
         "daemon, count in its RSS.", "",
         "| condition | RSS | PSS | private | BPF maps (status) | BPF memlock (kernel) | "
         "processes / connections tracked |", "| --- | --- | --- | --- | --- | --- | --- |"]

    def row(label, m, t):
        t = t or {}
        L.append(f"| {label} | {mib(m['rss'])} | {mib(m['pss'])} | {mib(m['private'])} | "
                 f"{mib(t.get('bpf_map_bytes', 0) / 1024) if t.get('bpf_map_bytes') else '-'} | "
                 f"{mib(m['bpf_memlock'])} | "
                 f"{_n(t.get('processes'))} / {_n(t.get('connections'))} |")
    idle = R.get("idle")
    if idle and not idle.get("error"):
        row(f"idle ({idle['seconds']} s after start)", idle["memory"], idle["tracked"])
    me = R.get("memory")
    if me and not me.get("error"):
        row("fresh daemon before the holder", me["baseline"], me["baseline_tracked"])
        if me.get("held"):
            row(f"holding {_n(me['procs'])} processes and {_n(me['conns'])} connections "
                "(`holder --talk`)", me["held"], me["held_tracked"])
        if me.get("after"):
            row("after the holder tore down", me["after"], me["after_tracked"])
    de = R.get("detect")
    if de and not de.get("error") and de.get("memory_after"):
        row("after the time-to-detect runs", de["memory_after"],
            de["memory_after"].get("tracked"))
    L.append("")
    if me and not me.get("error") and me.get("held"):
        L += [f"The holder was up after {me['holder_ready_s']:.1f} s; status tracked "
              f"{'all' if me['tracked_all_procs'] else 'not all'} of its processes "
              f"{me['tracked_s']:.1f} s after it started. Peak RSS since the daemon started "
              f"(VmHWM, start-up included): {mib(me['held']['hwm'])}. State while holding: "
              f"{me['state']}"
              + (f" ({me['reasons']})" if me.get("reasons") else "")
              + (". Losses while holding: " + ", ".join(f"{k} {v}" for k, v in
                                                          me["held_lost"].items())
                 if me.get("held_lost") else "") + ".", ""]
    so = R.get("soak")
    if so and not so.get("error"):
        s = so["settings"]
        rss = [x["rss"] for x in so["samples"]]
        ops = {}
        for p in so["phases"]:
            ops[p["phase"]] = ops.get(p["phase"], 0) + (p.get("ops") or 0)
        L += ["**Soak**: " + f"{s['seconds']} s of mixed load on one daemon: exec at "
              f"{_n(s['rate'])}/s for {s['phase_seconds']} s, connect --talk at "
              f"{_n(s['rate'])}/s for {s['phase_seconds']} s, an exec burst (`--count "
              f"{s['burst_exec']}`), a connect --talk burst (`--count {s['burst_connect']}`), "
              f"round and round; memory sampled every {s['interval']} s.", "",
              "| RSS at start | RSS at end | RSS max | PSS at end | operations | records handled "
              "(exec + exit / connect + payload + close, whole machine) | lost | state at end |",
              "| --- | --- | --- | --- | --- | --- | --- | --- |",
              f"| {mib(rss[0])} | {mib(rss[-1])} | {mib(max(rss))} | "
              f"{mib(so['samples'][-1]['pss'])} | "
              + ", ".join(f"{k} {_n(v)}" for k, v in ops.items()) + " | "
              f"{_n(so['handled'].get('exec', 0) + so['handled'].get('exit', 0))} / "
              f"{_n(sum(so['handled'].get(t, 0) for t in ('connect', 'payload', 'close')))} | "
              f"{_n(so['lost'].get('total', 0))} | {so['state']} |", ""]
        if "soak" in plots:
            L += [f"![RSS during the soak]({plots['soak']})", ""]
    return L


def latency(R):
    de = R["detect"]
    xs = [x for x in de["start_to_ready_ms"] if x is not None]
    L = ["## 5. Latency", "",
         "| measure | median | min-max | budget |", "| --- | --- | --- | --- |",
         f"| start to ready (load, attach, /proc and socket scan; status start_to_ready_ms) | "
         f"{med(xs):.0f} ms | {min(xs)}-{max(xs)} ms | 1000 ms |" if xs else
         "| start to ready | n/a | | 1000 ms |", "",
         "### Time to detect", "",
         "| scenario | median | min-max | detected | budget |",
         "| --- | --- | --- | --- | --- |"]
    for r in de["scenarios"]:
        lat = r["lat"]
        if lat:
            L.append(f"| {r['name']} | {dur(med(lat))} | {dur(min(lat))} to {dur(max(lat))} | "
                     f"{len(lat)}/{r['n']} | {r['budget']} |")
        else:
            L.append(f"| {r['name']} | not detected | | 0/{r['n']} | {r['budget']} |")
    L += ["",
          "Defaults throughout (long-lived = 30 s, CPU window 10 s); the pool simulator "
          "pushes a job every 5 s and the miner submits every 5 s. A recognised mining "
          "protocol is judged at once (finding times have 1 ms resolution); behaviour is "
          "judged on the daemon's 1 s tick. A miner found by the start-up scan is "
          "recognised from the first pool push or share it exchanges after ready.", ""]
    return L


def hookcost(R):
    hc = R["hookcost"]

    def cell(k):
        rs = [x / b for x, b in zip(hc[k], hc["none"])]
        return spread(rs)
    L = ["## CPU accounting: sampling versus sched_switch", "",
         "A context-switch storm (pipe ping-pong between two processes pinned to one CPU, "
         f"{hc['rounds']} round trips, 2 switches each) run with no program, with exact "
         "sched_switch accounting (tools/hookcost/switch.bpf.c), and with minerwatch's "
         f"perf-event sampler at {hc['hz']} Hz per CPU (bpf/cpu.bpf.c), interleaved.", "",
         "| hook | run time, s | ratio to no program |", "| --- | --- | --- |"]
    for k in ("none", "sched_switch", "sampling"):
        L.append(f"| {k} | {med(hc[k]):.3f} | {cell(k)} |")
    L += ["", "Sampling costs a fixed 99 samples per second per CPU whatever the workload "
          "does; sched_switch accounting runs on every switch and taxes exactly the "
          "switch-heavy workloads. minerwatch samples.", ""]
    return L


def optimisations():
    path = os.path.join(ROOT, "tools", "bench", "optimisations.md")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        text = f.read().rstrip("\n")
    return ["## Optimisations, before and after", "", text, ""]


def render(R, meta, plots, ran, all_sections, reps, partial):
    m = meta["machine"]
    L = ["# minerwatch benchmarks", "",
         "Written by `make bench` (tools/bench/); every figure below comes from the run "
         "recorded here, on the machine described below. Medians of "
         f"{reps} repetition(s) with min-max in brackets unless a table says otherwise. "
         "Nothing here asserts: the suite measures and reports"
         + (f"; raw figures in [{meta['results_rel']}]({meta['results_rel']})."
            if meta.get("results_rel") else "."), ""]
    if partial:
        L += [f"**Partial run**: only {', '.join(ran)} (MW_BENCH_ONLY); not written to "
              "BENCHMARKS.md.", ""]
    errs = {k: v["error"] for k, v in R.items() if isinstance(v, dict) and v.get("error")}
    for k, v in errs.items():
        L += [f"**Section {k} failed**: {v}", ""]
    others = meta.get("other_sensors") or []
    L += ["## Machine", "",
          f"- CPU: {m['cpus']} x {m['cpu']}; memory {m['mem_gib']:.1f} GiB",
          f"- Kernel {m['kernel']} ({m['arch']}); {m['distro']}",
          f"- Daemon: {m['daemon']} (sha256 {m['daemon_sha256']}); work tree at {m['commit']}",
          f"- Peers: libbpf-tools {m['libbpf_tools'] or 'not installed'}; {m['gcc']}; "
          f"{m['gnuplot'] or 'no gnuplot'}",
          f"- Date: {m['date']}; the run took {meta['elapsed_min']:.0f} min",
          f"- Load average (1, 5, 15 min) at start: {meta['load_start']}, at end: "
          f"{meta['load_end']}"]
    if meta.get("sections"):
        L.append("- Sections took: " + ", ".join(f"{k} {v / 60:.1f} min"
                                                   for k, v in meta["sections"].items()))
    if meta.get("settings"):
        L.append("- Settings from the environment: " + ", ".join(
            f"`{k}={v}`" for k, v in sorted(meta["settings"].items())))
    if others:
        L.append(f"- Also running, not started by the suite: {len(others)} other minerwatchd "
                 f"process(es) (pids {', '.join(map(str, others))}); their BPF programs "
                 "run in every configuration, the no-sensor baseline included, so ratios "
                 "here understate minerwatchd's cost on a quiet machine by their share")
    L.append("")
    L += budgets(R)
    if "overhead" in R and not R["overhead"].get("error"):
        L += overhead(R, plots)
    if "loss" in R and not R["loss"].get("error"):
        L += loss(R, plots)
    if any(k in R and not R[k].get("error") for k in ("idle", "memory", "soak")) or (
            "detect" in R and not R["detect"].get("error")):
        L += memory(R, plots)
    if any(k in R and not R[k].get("error") for k in ("idle", "overhead", "loss", "soak")):
        L += cpu_section(R)
    if "detect" in R and not R["detect"].get("error"):
        L += latency(R)
    if "hookcost" in R and not R["hookcost"].get("error"):
        L += hookcost(R)
    L += optimisations()
    missing = [s for s in all_sections if s not in ran]
    if missing:
        L += [f"_Not run: {', '.join(missing)}._", ""]
    return "\n".join(L)
