"""Benchmark: the RRI engine on a 1,000,000-row counts table and records-to-RRI on 1,000,000 records.

Run with ``make bench`` (or ``python benchmarks/bench_rri.py``). Prints one line per case with the
best of ``--repeat`` wall-clock timings; docs/performance.md holds the figures and the machine.
Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
import pandas as pd

import dispro

GROUPS = ["White", "Black", "Asian", "Mixed", "Other", "Not stated"]


def counts_table(seed: int = 1) -> pd.DataFrame:
    """43 forces x 40 quarters x 6 groups x 2 sexes x 5 age bands x 10 offence groups = 1,032,000."""
    rng = np.random.default_rng(seed)
    index = pd.MultiIndex.from_product(
        [
            [f"force_{i:02d}" for i in range(43)],
            [f"{2015 + q // 4}Q{q % 4 + 1}" for q in range(40)],
            ["Female", "Male"],
            ["10-17", "18-24", "25-34", "35-49", "50+"],
            [f"offence_{i}" for i in range(10)],
            GROUPS,
        ],
        names=["force", "quarter", "sex", "age_band", "offence_group", "ethnicity"],
    )
    frame = index.to_frame(index=False)
    base = rng.integers(20, 500, len(frame))
    frame["events"] = rng.binomial(base, 0.3)
    frame["base"] = base
    return frame


def records_table(n: int = 1_000_000, seed: int = 2) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "force": pd.Categorical(rng.choice(["Hampshire", "Dorset", "Wiltshire"], n)),
            "quarter": pd.Categorical(rng.choice([f"2024Q{q}" for q in range(1, 5)], n)),
            "ethnicity": pd.Categorical(
                rng.choice(GROUPS, n, p=[0.7, 0.08, 0.08, 0.04, 0.03, 0.07])
            ),
            "outcome": pd.Categorical(
                rng.choice(
                    ["arrest", "no_further_action", "community_resolution"], n, p=[0.15, 0.7, 0.15]
                )
            ),
        }
    )


def best_of(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(
        f"dispro {dispro.__version__}, Python {platform.python_version()}, pandas {pd.__version__}, "
        f"{platform.machine()}, {os.cpu_count()} CPUs"
    )
    counts = counts_table()
    by = ["force", "quarter", "sex", "age_band", "offence_group"]
    for method in ("katz", "poisson_exact"):
        t = best_of(lambda m=method: dispro.rri(counts, by=by, method=m, adjust="bh"), args.repeat)
        print(
            f"rri, {len(counts):,} count rows, {len(counts) // 6:,} slices, method={method}: {t:.2f} s"
        )
    records = records_table()
    t = best_of(
        lambda: dispro.rri_from_records(
            records, events={"outcome": "arrest"}, by=["force", "quarter"]
        ),
        args.repeat,
    )
    print(f"rri_from_records, {len(records):,} records, by force x quarter: {t:.2f} s")
    t = best_of(
        lambda: dispro.count_events(records, events={"outcome": "arrest"}, by=["force", "quarter"]),
        args.repeat,
    )
    print(f"count_events alone, {len(records):,} records: {t:.2f} s")
    bare = best_of(
        lambda: (
            records.assign(arrest=records["outcome"].eq("arrest"))
            .groupby(["force", "quarter", "ethnicity"], observed=True)["arrest"]
            .agg(["sum", "size"])
        ),
        args.repeat,
    )
    full = best_of(
        lambda: dispro.rri_from_records(
            records, events={"outcome": "arrest"}, by=["force", "quarter"]
        ),
        args.repeat,
    )
    print(
        f"bare pandas group-by (events and base per force x quarter x group): {bare:.3f} s; "
        f"rri_from_records {full:.3f} s = {full / bare:.2f}x the bare group-by"
    )


if __name__ == "__main__":
    main()
