"""``python -m bench``: run the benchmarks and write bench/RESULTS.md and bench/results.json.

Each benchmark is a module of this package with a ``run(...)`` function
returning plain numbers; this runner calls the ones asked for (all by
default), records the machine, the date and the commit, and renders one
table per benchmark. Numbers are medians of repeated runs where the
module repeats; the machines are shared and noisy, so compare ratios
measured in the same run, not absolute numbers across runs.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from wirewatch.logs import configure_logging

HERE = Path(__file__).resolve().parent
BENCHMARKS = (
    "backfill",
    "daemon_corpus",
    "terms",
    "stories",
    "rules",
    "notify",
    "scaling",
    "latency",
)


def machine() -> dict[str, Any]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=HERE
        ).stdout.strip()
    except OSError:
        commit = ""
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": commit or "unknown",
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": cpu,
        "cores": os.cpu_count(),
    }


def _flatten(prefix: str, value: Any, out: list[tuple[str, str]]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(f"{prefix}.{k}" if prefix else str(k), v, out)
    elif isinstance(value, float):
        out.append((prefix, f"{value:,.3f}" if abs(value) < 100 else f"{value:,.0f}"))
    elif isinstance(value, list) and len(value) > 8:
        out.append((prefix, f"{len(value)} items (see results.json)"))
    else:
        out.append((prefix, json.dumps(value) if isinstance(value, list) else str(value)))


def render(results: dict[str, Any], plots: list[str] | tuple[str, ...] = ()) -> str:
    """RESULTS.md: the machine, one table per benchmark, and the ``plots`` (PNG file names)."""
    m = results["machine"]
    lines = [
        "# Benchmark results",
        "",
        f"- date: {m['date']}",
        f"- commit: {m['commit']}",
        f"- machine: {m['cpu'] or 'unknown CPU'}, {m['cores']} cores; {m['platform']}",
        f"- Python {m['python']}",
        "",
        "Raw numbers: [results.json](results.json). Re-run with `make bench`.",
        "",
    ]
    for name, section in results["benchmarks"].items():
        lines += [f"## {name}", ""]
        doc = (importlib.import_module(f"bench.{name}").__doc__ or "").strip().split("\n\n")[0]
        if doc:
            lines += [" ".join(doc.split()), ""]
        rows: list[tuple[str, str]] = []
        _flatten("", section, rows)
        lines += ["| measure | value |", "| --- | --- |"]
        lines += [f"| {k} | {v} |" for k, v in rows]
        lines.append("")
    if plots:
        lines += ["## Plots", ""]
        for name in plots:
            lines += [f"![{Path(name).stem}]({name})", ""]
    return "\n".join(lines)


def draw(results: dict[str, Any], out: Path) -> list[str]:
    """The plots of ``results`` as PNGs in ``out``; their file names (none without matplotlib)."""
    try:
        from bench.plot import render_plots
    except ImportError as exc:  # matplotlib is a dev extra
        print(f"no plots: {exc} (pip install -e '.[dev]')", file=sys.stderr)
        return []
    return [p.name for p in render_plots(results, out)]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, default=HERE.parent.parent / "shared" / "corpus" / "bbc")
    ap.add_argument("--only", nargs="*", choices=BENCHMARKS, help="run only these")
    ap.add_argument("--out", type=Path, default=HERE)
    args = ap.parse_args()
    if not args.corpus.is_dir():
        print(f"corpus folder not found: {args.corpus} (pass --corpus PATH)", file=sys.stderr)
        return 1
    configure_logging("json", "error")
    results: dict[str, Any] = {"machine": machine(), "corpus": str(args.corpus), "benchmarks": {}}
    for name in args.only or BENCHMARKS:
        try:
            module = importlib.import_module(f"bench.{name}")
        except ModuleNotFoundError as exc:
            print(f"skipping {name}: {exc}", file=sys.stderr)
            continue
        params = inspect.signature(module.run).parameters
        kwargs = {"corpus": args.corpus} if "corpus" in params else {}
        print(f"running {name} …", file=sys.stderr, flush=True)
        started = time.perf_counter()
        results["benchmarks"][name] = module.run(**kwargs)
        print(f"  {name}: {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    plots = draw(results, args.out)
    (args.out / "RESULTS.md").write_text(render(results, plots), encoding="utf-8")
    print(f"wrote {args.out / 'RESULTS.md'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
