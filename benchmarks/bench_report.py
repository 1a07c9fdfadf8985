"""Benchmark: the wall time of rendering the report, single (the README's render step) and batch.

Runs, each in a fresh process, into a temporary folder:

- ``single``: ``dispro report --demo -o DIR`` (what ``make report`` runs after installing);
- ``batch``: ``dispro report --demo --batch -o DIR`` (Wessex and the three forces, with the index).

and prints the wall time of each run, the load average before it, and the timings the renderer
records in each report's ``provenance.json`` (data loading, each chapter, HTML and workbook, PDF).
Targets (issue #6): single under 60 s, batch under 120 s, on 2 cores. Not a test: nothing here
asserts a time.

Run: ``.venv/bin/python benchmarks/bench_report.py --repeat 3`` (medians over the repeats).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(kind: str) -> dict:
    out = Path(tempfile.mkdtemp(prefix=f"dispro-bench-{kind}-"))
    args = [sys.executable, "-m", "dispro.cli", "report", "--demo", "-o", str(out)]
    if kind == "batch":
        args.append("--batch")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    load = os.getloadavg()[0]
    start = time.perf_counter()
    proc = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{kind} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    timings = {
        p.parent.name: json.loads(p.read_text())["timings_seconds"]
        for p in sorted(out.glob("*/provenance.json"))
    }
    shutil.rmtree(out, ignore_errors=True)
    return {"seconds": wall, "load": load, "timings": timings}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cases", nargs="+", default=["single", "batch"])
    args = parser.parse_args()
    print(
        f"# {platform.machine()}, {os.cpu_count()} CPUs, "
        f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.1f} GiB RAM, "
        f"Python {platform.python_version()}"
    )
    results: dict[str, list[dict]] = {k: [] for k in args.cases}
    for i in range(args.repeat):
        for kind in args.cases:
            r = run(kind)
            results[kind].append(r)
            print(f"round {i + 1} {kind}: {r['seconds']:.1f} s (load before {r['load']:.2f})")
            for name, t in r["timings"].items():
                print(f"    {name}: {t}")
    print("\n| case | median | runs (s) | load before | target |\n|---|---:|---|---|---:|")
    targets = {"single": 60, "batch": 120}
    for kind, rs in results.items():
        secs = [r["seconds"] for r in rs]
        med = statistics.median(secs)
        met = "met" if med < targets[kind] else "not met"
        runs = ", ".join(f"{s:.1f}" for s in secs)
        loads = ", ".join(f"{r['load']:.2f}" for r in rs)
        print(f"| {kind} | {med:.1f} s | {runs} | {loads} | under {targets[kind]} s: {met} |")


if __name__ == "__main__":
    main()
