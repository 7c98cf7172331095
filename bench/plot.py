"""Plots for bench/RESULTS.md: alert latency distributions and cost against archive size.

A table of percentiles hides the shape of a distribution (a second mode,
a long tail) and a ratio hides the curve between its two ends; a picture
next to the numbers shows both. Each function takes the plain results
dict the benchmarks return (as stored in results.json), writes one PNG
and returns its path, or ``None`` when the results hold nothing to draw.
Rendering uses matplotlib's Agg canvas directly, so no display and no
global backend state are involved.

Re-draw from a stored run::

    .venv/bin/python -m bench.plot bench/results.json
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

LATENCY_PNG = "latency.png"
SCALING_PNG = "scaling.png"


def _save(fig: Figure, path: Path) -> Path:
    FigureCanvasAgg(fig)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    return path


def _samples(section: Mapping[str, Any], key: str) -> list[float]:
    values = section.get(key)
    if not isinstance(values, list):
        return []
    return sorted(float(v) for v in values if isinstance(v, int | float) and v > 0)


def latency_series(latency: Mapping[str, Any]) -> dict[str, list[float]]:
    """The raw latency samples (ms) of each series the latency benchmark measured."""
    ours = latency.get("wirewatch", {})
    shell = latency.get("shell_baseline", {})
    series = {
        "wirewatch, idle": _samples(ours, "raw_idle_ms"),
        "wirewatch, 50 articles/s in background": _samples(ours, "raw_background_ms"),
        "shell baseline (inotifywait | grep | curl)": _samples(shell, "raw_idle_ms"),
    }
    return {name: values for name, values in series.items() if values}


def _ecdf(ax: Axes, values: Sequence[float], label: str) -> None:
    n = len(values)
    ax.step(values, [(i + 1) / n for i in range(n)], where="post", label=label)


def plot_latency(latency: Mapping[str, Any], path: Path) -> Path | None:
    """Empirical CDF of file-renamed-to-webhook latency, one line per series, log x."""
    series = latency_series(latency)
    if not series:
        return None
    fig = Figure(figsize=(8, 4.5))
    ax = fig.add_subplot()
    for name, values in series.items():
        p50 = values[len(values) // 2]
        p99 = values[min(len(values) - 1, round(0.99 * (len(values) - 1)))]
        _ecdf(ax, values, f"{name} (n={len(values)}, p50 {p50:.1f} ms, p99 {p99:.1f} ms)")
    ax.set_xscale("log")
    # Plain numbers at 1, 2 and 5 of each decade: "20 ms" reads better than "2×10¹".
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("latency: file renamed into the inbox → webhook received (ms, log scale)")
    ax.set_ylabel("share of probes at or below")
    ax.set_ylim(0, 1.01)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.15), fontsize=8)
    ax.set_title("Alert latency")
    return _save(fig, path)


def plot_scaling(scaling: Mapping[str, Any], path: Path) -> Path | None:
    """Milliseconds per article and peak memory against the archive size, log x."""
    archive = scaling.get("archive")
    if not isinstance(archive, Mapping) or not archive:
        return None
    sizes = sorted(archive, key=int)
    xs = [int(s) for s in sizes]
    rows = [archive[s] for s in sizes]
    fig = Figure(figsize=(10, 4.2))
    cost, memory = fig.subplots(1, 2)

    for x, row in zip(xs, rows, strict=True):
        runs = row.get("runs_ms_per_article", [])
        cost.scatter([x] * len(runs), runs, color="tab:blue", alpha=0.4, s=14)
    cost.plot(xs, [r["median_ms_per_article"] for r in rows], "o-", label="wall time, median")
    if all("median_cpu_ms_per_article" in r for r in rows):
        cost.plot(
            xs,
            [r["median_cpu_ms_per_article"] for r in rows],
            "s--",
            label="CPU time of all processes, median",
        )
    cost.set_xscale("log")
    cost.set_ylim(bottom=0)
    cost.set_xlabel("articles already stored (log scale)")
    cost.set_ylabel("ms per new article, whole pipeline")
    cost.set_title("Per-article cost vs archive size")
    cost.grid(True, which="both", alpha=0.3)
    cost.legend(fontsize=8)

    memory.plot(xs, [r["max_peak_rss_mb"] for r in rows], "o-", label="peak RSS, all processes")
    memory.plot(xs, [r["main_peak_rss_mb"] for r in rows], "s-", label="peak RSS, main process")
    if all("pss_end_mb" in r for r in rows):
        memory.plot(xs, [r["pss_end_mb"] for r in rows], "^--", label="PSS at end, all processes")
    target = scaling.get("rss_target_mb")
    if isinstance(target, int | float):
        memory.axhline(float(target), color="tab:red", linestyle=":", label=f"target {target:g} MB")
    memory.set_xscale("log")
    top = max(r["max_peak_rss_mb"] for r in rows)
    memory.set_ylim(0, max(top, float(target) if isinstance(target, int | float) else 0) * 1.15)
    memory.set_xlabel("articles already stored (log scale)")
    memory.set_ylabel("MB")
    memory.set_title("Memory vs archive size (start-up included)")
    memory.grid(True, which="both", alpha=0.3)
    memory.legend(fontsize=8)
    return _save(fig, path)


def render_plots(results: Mapping[str, Any], out: Path) -> list[Path]:
    """Every plot the results allow, written into ``out``; the paths written."""
    benchmarks = results.get("benchmarks", {})
    written: list[Path] = []
    if "latency" in benchmarks:
        p = plot_latency(benchmarks["latency"], out / LATENCY_PNG)
        if p is not None:
            written.append(p)
    if "scaling" in benchmarks:
        p = plot_scaling(benchmarks["scaling"], out / SCALING_PNG)
        if p is not None:
            written.append(p)
    return written


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("results", type=Path, help="a results.json written by python -m bench")
    ap.add_argument("--out", type=Path, default=None, help="folder (default: the file's)")
    args = ap.parse_args()
    results = json.loads(args.results.read_text(encoding="utf-8"))
    for p in render_plots(results, args.out or args.results.parent):
        print(p, file=sys.stderr)


if __name__ == "__main__":
    main()
