# SPDX-License-Identifier: Apache-2.0
"""PNG plots with gnuplot: overhead ratios, the loss ramp, RSS over the soak."""
import os
import shutil
import subprocess
import tempfile

from common import log, med
from overhead import ratios


def _terminal():
    for t in ("pngcairo", "png"):
        r = subprocess.run(["gnuplot", "-e", f"set terminal {t}"], capture_output=True)
        if r.returncode == 0 and not r.stderr.strip():
            return t
    return None


def _head(term, out, w=900, h=500):
    font = 'font "sans,11"' if term == "pngcairo" else "font ',11'"
    return (f'set terminal {term} size {w},{h} {font}\nset output "{out}"\n'
            'set grid ytics lc rgb "#dddddd"\nset datafile separator "\\t"\n'
            'set datafile missing "NaN"\n')


def _gnuplot(script, tmp):
    path = os.path.join(tmp, "plot.gp")
    with open(path, "w") as f:
        f.write(script)
    r = subprocess.run(["gnuplot", path], capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        log("gnuplot:", r.stderr.strip()[-400:])
    return r.returncode == 0


def _f(x):
    return "NaN" if x is None or x != x else f"{x:.4f}"


def overhead(res, out, term, tmp):
    dat = os.path.join(tmp, "overhead.dat")
    lo = 0.95
    with open(dat, "w") as f:
        for name, wl in res["workloads"].items():
            peer = "+".join(wl["peers"]) if len(wl["peers"]) < 3 else "all three"
            label = {"talk": "connect --talk", "connect": "connect (silent)"}.get(name, name)
            row = [f"{label} ({peer})"]
            for c in ("hooks", "minerwatch", "peer"):
                rs = ratios(wl, c)
                row += [_f(med(rs)), _f(min(rs)) if rs else "NaN", _f(max(rs)) if rs else "NaN"]
                if rs:
                    lo = min(lo, min(rs) - 0.03)
            f.write("\t".join(row) + "\n")
    script = _head(term, out, 1200, 500) + f"""
set title "Run time with the sensor / without (median, bars min-max)"
set style data histogram
set style histogram errorbars gap 2 lw 1.5
set style fill solid 0.85 border -1
set boxwidth 0.9
set ylabel "ratio to no sensor"
set yrange [{lo:.2f}:*]
set key top left
set arrow 1 from graph 0, first 1.05 to graph 1, first 1.05 nohead dt 2 lw 1.5 lc rgb "#c00000"
set label 1 "budget 1.05" at graph 0.99, first 1.05 right offset 0,0.6 tc rgb "#c00000"
set arrow 2 from graph 0, first 1.0 to graph 1, first 1.0 nohead lc rgb "#000000"
plot "{dat}" using 2:3:4:xtic(1) title "minerwatchd's hooks, empty programs" lc rgb "#9fbfdf", \\
     "" using 5:6:7 title "minerwatchd" lc rgb "#1f77b4", \\
     "" using 8:9:10 title "libbpf-tools peer" lc rgb "#ff7f0e"
"""
    return _gnuplot(script, tmp)


def loss(res, out, term, tmp):
    rows = res["ramp"]
    modes = [m for m in ("exec", "connect", "talk") if any(r["mode"] == m for r in rows)]
    titles = {"exec": "storm exec (records: exec + exit)",
              "connect": "storm connect, silent connections (no records by design)",
              "talk": "storm connect --talk (records: connect + payload + close)"}
    if not modes:
        return False
    panels = []
    for m in modes:
        dat = os.path.join(tmp, f"loss-{m}.dat")
        with open(dat, "w") as f:
            for rate in sorted({r["target"] for r in rows if r["mode"] == m}):
                rr = [r for r in rows if r["mode"] == m and r["target"] == rate]
                secs = [r["seconds"] for r in rr]
                f.write("\t".join([
                    str(rate),
                    _f(med([r["achieved"] for r in rr])),
                    _f(med([r["delivered"] / s for r, s in zip(rr, secs) if s])),
                    _f(med([r["lost"] / s for r, s in zip(rr, secs) if s])),
                    _f(max(r["lost"] for r in rr))]) + "\n")
        panels.append(f"""
set title "{titles[m]}, minerwatchd default configuration"
plot "{dat}" using 1:1 with lines dt 3 lc rgb "#888888" title "target rate", \\
     "" using 1:2 with linespoints pt 7 lc rgb "#2ca02c" title "achieved ops/s", \\
     "" using 1:3 with linespoints pt 5 lc rgb "#1f77b4" title "records delivered/s", \\
     "" using 1:4 axes x1y2 with linespoints pt 9 lw 2 lc rgb "#d62728" title "lost/s (right axis)"
""")
    rates = sorted({r["target"] for r in rows})
    xtics = ", ".join(f'"{r / 1000:g}k" {r}' for r in rates)
    script = _head(term, out, 1100, 400 * len(modes)) + f"""
set multiplot layout {len(modes)},1
set xtics ({xtics})
set xrange [{rates[0] - (rates[-1] - rates[0]) * 0.03 - 1}:{rates[-1] * 1.03 + 1}]
set xlabel "target rate, operations per second"
set ylabel "per second"
set y2label "lost per second"
set y2tics
set yrange [0:*]
set y2range [0:*]
set key outside right top Left reverse
""" + "".join(panels) + "unset multiplot\n"
    return _gnuplot(script, tmp)


def soak(res, out, term, tmp):
    dat = os.path.join(tmp, "soak.dat")
    with open(dat, "w") as f:
        for s in res["samples"]:
            f.write(f"{s['t'] / 60:.3f}\t{s['rss'] / 1024:.3f}\t{s['pss'] / 1024:.3f}\t"
                    f"{s['private'] / 1024:.3f}\n")
    script = _head(term, out) + f"""
set title "minerwatchd memory during the soak (mixed exec/connect storms)"
set xlabel "minutes"
set ylabel "MiB"
set yrange [0:*]
set key bottom right
set arrow 1 from graph 0, first 16 to graph 1, first 16 nohead dt 2 lw 1.5 lc rgb "#c00000"
set label 1 "budget 16 MiB" at graph 0.01, first 16 offset 0,0.6 tc rgb "#c00000"
plot "{dat}" using 1:2 with linespoints pt 7 ps 0.6 lc rgb "#1f77b4" title "RSS", \\
     "" using 1:3 with lines lw 2 lc rgb "#ff7f0e" title "PSS", \\
     "" using 1:4 with lines lw 2 lc rgb "#2ca02c" title "private"
"""
    return _gnuplot(script, tmp)


def make_all(results, plot_dir):
    """Writes the PNGs it can; returns {name: path}."""
    if not shutil.which("gnuplot"):
        log("gnuplot not installed: no plots")
        return {}
    term = _terminal()
    if not term:
        log("gnuplot has no png terminal: no plots")
        return {}
    os.makedirs(plot_dir, exist_ok=True)
    done = {}
    with tempfile.TemporaryDirectory(prefix="mw-plot-") as tmp:
        for name, fn, key in (("overhead", overhead, "overhead"), ("loss", loss, "loss"),
                              ("soak", soak, "soak")):
            if key in results and not results[key].get("error"):
                out = os.path.join(plot_dir, f"{name}.png")
                try:
                    if fn(results[key], out, term, tmp):
                        done[name] = out
                except Exception as e:  # a plot is not worth losing the report for
                    log(f"plot {name}: {e}")
    return done
