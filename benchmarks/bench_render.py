"""Benchmark: the wall time of rendering the demo report, single and the batch of four (issue 14).

Issue 14 asks that the demo report still render in under 30 s and the batch of four in under
60 s on 2 cores. Runs, each in a fresh process (``python -m dispro.cli``, what the ``dispro``
command runs), into a temporary folder removed afterwards:

- ``single``: ``dispro report --demo --out DIR`` (the Wessex report: HTML, PDF and workbook);
- ``batch``:  ``dispro report --demo --batch --out DIR`` (Wessex and one report per force area,
  Dorset, Hampshire and Wiltshire, each with HTML, PDF and workbook, and an index page).

with ``OPENBLAS_NUM_THREADS=1`` (the kernels inherit it). Measured per run: the wall time, the
1-minute load average before it, the time at which each progress line the CLI prints on stderr
arrived (from the start of the process: loading the data, the planning run of the chapters, each
chapter, writing HTML, workbook and PDF) and the phase it names, and the renderer's own timings
from each report's ``provenance.json`` (``load_data``, ``disclosure_plan``, ``disclosure_solve``,
each chapter, ``html_xlsx``, ``pdf``, ``total``). The batch shows a progress bar rather than
lines, so its phases come from the provenance files alone. Printed: the machine (cores, CPU
model, Python), each run, then per case the median wall time and the median of each phase over
``--repeat`` rounds, as Markdown for docs/performance.md. Before each run it waits (up to 3
minutes) for the 1-minute load average to fall below ``--settle`` (2). Not a test: nothing here
asserts a time.

Run: ``.venv/bin/python benchmarks/bench_render.py --repeat 3`` (``--cases single`` for one).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGETS = {"single": 30.0, "batch": 60.0}
#: ``<phase text> ... 12.3 s``: the CLI's progress lines (see ``dispro.report.runner._say``)
LINE = re.compile(r"^(?P<what>.*?) \.\.\. (?P<seconds>[0-9.]+) s$")


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{os.cpu_count()} cores (nproc), {model}, {platform.machine()}, "
        f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.1f} GiB RAM, "
        f"Python {platform.python_version()}, {platform.system()}"
    )


def command(kind: str, out: Path) -> list[str]:
    args = [sys.executable, "-m", "dispro.cli", "report", "--demo", "--out", str(out)]
    return [*args, "--batch"] if kind == "batch" else args


def phase(what: str) -> str:
    """A short name for a progress line: ``rendering 3/7 out_of_court`` -> ``out_of_court``."""
    if what.startswith("rendering "):
        return what.split()[-1]
    if what.startswith("loaded the data"):
        return "load"
    if what.startswith("ran the"):
        return "plan"
    if what.startswith("wrote"):
        return "write"
    return what


def settle(below: float | None, limit: float = 180.0) -> None:
    """Wait (at most ``limit`` seconds) until the 1-minute load average is under ``below``."""
    start = time.monotonic()
    while below is not None and os.getloadavg()[0] >= below and time.monotonic() - start < limit:
        time.sleep(2)


def run(kind: str, below: float | None = None, keep: Path | None = None) -> dict:
    out = Path(tempfile.mkdtemp(prefix=f"dispro-bench-render-{kind}-"))
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "PYTHONPATH": str(ROOT / "src")}
    settle(below)
    load = os.getloadavg()[0]
    lines: list[tuple[float, str]] = []
    start = time.perf_counter()
    proc = subprocess.Popen(
        command(kind, out),
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )

    def read_err() -> None:
        for line in proc.stderr:
            lines.append((time.perf_counter() - start, line.rstrip("\n")))

    reader = threading.Thread(target=read_err, daemon=True)
    reader.start()
    stdout = proc.stdout.read()
    proc.wait()
    wall = time.perf_counter() - start
    reader.join()
    if proc.returncode != 0:
        tail = "\n".join(text for _, text in lines[-40:])
        raise SystemExit(f"{kind} failed ({proc.returncode}):\n{stdout[-2000:]}\n{tail}")
    phases = {}
    for at, text in lines:
        m = LINE.match(text.strip())
        if m:
            phases[phase(m["what"])] = {"seconds": float(m["seconds"]), "at": round(at, 1)}
    first = next((at for at, text in lines if text.strip()), None)
    timings = {
        p.parent.name: json.loads(p.read_text())["timings_seconds"]
        for p in sorted(out.glob("*/provenance.json"))
    }
    if keep is not None:  # the outputs kept for a look (the first round's)
        shutil.rmtree(keep / kind, ignore_errors=True)
        keep.mkdir(parents=True, exist_ok=True)
        shutil.move(out, keep / kind)
    shutil.rmtree(out, ignore_errors=True)
    return {
        "seconds": wall,
        "load": load,
        "first_line": first,
        "phases": phases,
        "timings": timings,
    }


def median_table(rows: list[dict]) -> dict:
    """The median of each key over the rounds (a key missing in a round is left out there)."""
    keys = list(dict.fromkeys(k for r in rows for k in r))
    return {k: statistics.median(r[k] for r in rows if k in r) for k in keys}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="rounds (default 3)")
    parser.add_argument("--cases", nargs="+", default=["single", "batch"], choices=TARGETS)
    parser.add_argument("--json", type=Path, help="also write every run's figures here")
    parser.add_argument("--keep", type=Path, help="keep the first round's reports in KEEP/<case>/")
    parser.add_argument(
        "--settle",
        type=float,
        default=2.0,
        help="before each run, wait (up to 3 min) for the 1-minute load to fall below this "
        "(default 2: the previous run's tail; 0 to not wait)",
    )
    args = parser.parse_args()
    print(f"# {machine()}")
    for kind in args.cases:
        shown = command(kind, Path("DIR"))[3:]
        print(f"# {kind}: OPENBLAS_NUM_THREADS=1 dispro {' '.join(shown)}")
    results: dict[str, list[dict]] = {k: [] for k in args.cases}
    for i in range(args.repeat):
        for kind in args.cases:
            r = run(kind, args.settle or None, args.keep if i == 0 else None)
            results[kind].append(r)
            print(
                f"round {i + 1} {kind}: {r['seconds']:.1f} s (load before {r['load']:.2f}; "
                f"first line at {r['first_line'] or 0:.1f} s)",
                flush=True,
            )
            for name, p in r["phases"].items():
                print(f"    {name}: {p['seconds']:.1f} s (line at {p['at']:.1f} s)")
            for name, t in r["timings"].items():
                print(f"    provenance {name}: {t}")
    print("\n| case | median | runs (s) | load before | target |\n|---|---:|---|---|---:|")
    for kind, rs in results.items():
        secs = [r["seconds"] for r in rs]
        med = statistics.median(secs)
        met = "met" if med < TARGETS[kind] else "not met"
        runs = ", ".join(f"{s:.1f}" for s in secs)
        loads = ", ".join(f"{r['load']:.2f}" for r in rs)
        print(f"| {kind} | {med:.1f} s | {runs} | {loads} | under {TARGETS[kind]:.0f} s: {met} |")
    for kind, rs in results.items():
        print(f"\n{kind}, medians over {len(rs)} rounds:")
        if any(r["phases"] for r in rs):
            lines = median_table([{k: p["seconds"] for k, p in r["phases"].items()} for r in rs])
            print("  progress lines: " + ", ".join(f"{k} {v:.1f} s" for k, v in lines.items()))
        areas = list(dict.fromkeys(a for r in rs for a in r["timings"]))
        for area in areas:
            med = median_table([r["timings"][area] for r in rs if area in r["timings"]])
            print(f"  provenance {area}: " + ", ".join(f"{k} {v:.1f}" for k, v in med.items()))
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), "runs": results}, indent=1))


if __name__ == "__main__":
    main()
