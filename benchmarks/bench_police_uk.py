"""Benchmark: read_police_uk on a large force's year and on a national year (issue 13, item 9).

Two cases, both made by resampling the real City of London rows in ../shared/realdata (with their
quirks: mixed outcome vocabularies, blanks, Not stated, vehicle-only searches) into monthly files
named like data.police.uk downloads, in a temporary folder:

- ``force``: 12 monthly files of one large force (``--rows``, default 200,000 rows);
- ``national``: the 43 territorial forces of England and Wales x 12 months (``--national-rows``,
  default 500,000 rows, the same number for each force-month).

Each is timed against two ways of parsing the same files with every column as text, one call a
file: ``pyarrow.csv.read_csv`` with ``column_types`` string and pyarrow's default threads (the
floor for any reader of these files: no DataFrame is made), and ``pandas.read_csv(...,
engine="pyarrow", dtype=str)`` (the same parse, as a pandas DataFrame of text: the reference of
issue 13, "0.14 s on 195,000 rows"). Rounds alternate the three; the medians are reported, with
the ratios. Not a test: nothing asserts a time.

Run: ``OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/bench_police_uk.py --repeat 7``
(figures in docs/performance.md, "Reading at national scale (issue 13)").
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

import dispro
from dispro.forces import force_table

REAL = (
    Path(__file__).resolve().parents[1].parent
    / "shared"
    / "realdata"
    / "police_uk_stop_search_city_of_london"
)
TARGETS = {"force": "under 2.5x the parse as text", "national": "under 5 s"}


def _real() -> pd.DataFrame:
    return pd.concat(
        [pd.read_csv(f, dtype=str, keep_default_na=False) for f in sorted(REAL.glob("*/*.csv"))]
    )


def _write_year(folder: Path, real: pd.DataFrame, slug: str, per_month: int, rng) -> int:
    """12 monthly files of ``per_month`` rows resampled from ``real``, dated within the month."""
    for m in range(1, 13):
        month = f"2023-{m:02d}"
        sample = real.iloc[rng.integers(0, len(real), per_month)].copy()
        days = rng.integers(1, 28, per_month)
        sample["Date"] = [
            f"{month}-{d:02d}T{h:02d}:{mi:02d}:00+00:00"
            for d, h, mi in zip(
                days, rng.integers(0, 24, per_month), rng.integers(0, 60, per_month), strict=True
            )
        ]
        sample.to_csv(folder / f"{month}-{slug}-stop-and-search.csv", index=False)
    return 12 * per_month


def make_files(folder: Path, rows: int, seed: int = 3) -> int:
    """A large force's year (named like a Hampshire download): ``rows`` rows in 12 files."""
    return _write_year(folder, _real(), "hampshire", rows // 12, np.random.default_rng(seed))


def make_national(folder: Path, rows: int, seed: int = 4) -> int:
    """The 43 territorial forces x 12 months, ``rows`` rows in all (the same in each file)."""
    slugs = [s for s in force_table()["police_uk_slug"].dropna() if s and s != "btp"]
    assert len(slugs) == 43, slugs
    real, rng = _real(), np.random.default_rng(seed)
    return sum(_write_year(folder, real, s, rows // (43 * 12), rng) for s in slugs)


def parse_with_pyarrow(folder: Path) -> int:
    """Every file parsed by pyarrow, every column as text: the floor for a reader."""
    n = 0
    for path in sorted(folder.glob("*.csv")):
        with path.open("rb") as fh:
            names = fh.readline().decode("utf-8-sig").rstrip("\r\n").split(",")
        table = pacsv.read_csv(
            path,
            convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(names, pa.string())),
        )
        n += table.num_rows
    return n


def parse_with_pandas_pyarrow(folder: Path) -> int:
    """Every file read by pandas with the pyarrow engine, every column as text."""
    return sum(
        len(pd.read_csv(p, engine="pyarrow", dtype=str)) for p in sorted(folder.glob("*.csv"))
    )


def read(folder: Path) -> int:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # rows dated outside their month are warned about
        return len(dispro.read_police_uk(folder))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--national-rows", type=int, default=500_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--cases", nargs="+", default=["force", "national"], choices=TARGETS)
    args = parser.parse_args()
    print(
        f"dispro {dispro.__version__}, Python {platform.python_version()}, pandas "
        f"{pd.__version__}, pyarrow {pa.__version__}, {os.cpu_count()} cores "
        f"({platform.machine()}), OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}"
    )
    print(f"command: python {' '.join(sys.argv)}")
    with tempfile.TemporaryDirectory() as tmp:
        for case in args.cases:
            folder = Path(tmp) / case
            folder.mkdir()
            if case == "force":
                n = make_files(folder, args.rows)
            else:
                n = make_national(folder, args.national_rows)
            files = len(list(folder.glob("*.csv")))
            ways = {
                "dispro": read,
                "pyarrow": parse_with_pyarrow,
                "pandas": parse_with_pandas_pyarrow,
            }
            assert all(way(folder) == n for way in ways.values())  # warm the caches
            times: dict[str, list[float]] = {k: [] for k in ways}
            loads = []
            for i in range(args.repeat):
                for name in list(ways)[i % 3 :] + list(ways)[: i % 3]:
                    start = time.perf_counter()
                    ways[name](folder)
                    times[name].append(time.perf_counter() - start)
                loads.append(os.getloadavg()[0])
            med = {k: statistics.median(v) for k, v in times.items()}
            print(f"{case}: {files} files, {n:,} rows (target {TARGETS[case]})")
            for k, label in (
                ("dispro", "read_police_uk"),
                ("pyarrow", "pyarrow.csv.read_csv, text"),
                ("pandas", "pandas.read_csv(engine='pyarrow', dtype=str)"),
            ):
                print(
                    f"  {label:46s} median {med[k]:.3f} s "
                    f"(all {', '.join(f'{t:.3f}' for t in times[k])})"
                )
            print(
                f"  ratio to pyarrow.csv {med['dispro'] / med['pyarrow']:.2f}x, to pandas+pyarrow "
                f"{med['dispro'] / med['pandas']:.2f}x; load average {min(loads):.1f} to "
                f"{max(loads):.1f}"
            )


if __name__ == "__main__":
    main()
