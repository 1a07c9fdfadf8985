"""Benchmark: read_police_uk on 12 months of a large force (about 200,000 searches).

The files are made by resampling the real City of London rows in ../shared/realdata (with their
quirks: mixed outcome vocabularies, blanks, Not stated) into 12 monthly files of ~16,700 rows
named like a Hampshire download, in a temporary folder. Not a test: nothing asserts a time.

Run: ``.venv/bin/python benchmarks/bench_police_uk.py`` (figures in docs/performance.md).
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

import dispro

REAL = (
    Path(__file__).resolve().parents[1].parent
    / "shared"
    / "realdata"
    / "police_uk_stop_search_city_of_london"
)


def make_files(folder: Path, rows: int, seed: int = 3) -> int:
    real = pd.concat(
        [pd.read_csv(f, dtype=str, keep_default_na=False) for f in sorted(REAL.glob("*/*.csv"))]
    )
    rng = np.random.default_rng(seed)
    per_month = rows // 12
    total = 0
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
        sample.to_csv(folder / f"{month}-hampshire-stop-and-search.csv", index=False)
        total += len(sample)
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        n = make_files(folder, args.rows)
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            records = dispro.read_police_uk(folder)
            times.append(time.perf_counter() - start)
        assert len(records) == n
        print(
            f"dispro {dispro.__version__}, Python {platform.python_version()}, pandas {pd.__version__}"
        )
        print(
            f"read_police_uk, 12 files, {n:,} rows: best {min(times):.2f} s, "
            f"all {', '.join(f'{t:.2f}' for t in times)} s"
        )


if __name__ == "__main__":
    main()
