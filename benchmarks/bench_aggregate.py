"""Benchmark: records to counts on 10,000,000 stop-and-search records, dispro (DuckDB) vs pandas.

Generates synthetic police.uk-style records (15 columns, seeded) as one parquet file and one CSV
file in ``benchmarks/results/aggregate/`` (git-ignored; reused on later runs), then counts them by
force x quarter x ethnicity x legislation four ways, each in a fresh Python process:

- ``dispro`` : ``dispro.counts.aggregate(path, engine="duckdb", dropna=True)``;
- ``pandas`` : plain pandas, ``pd.read_parquet(path)`` / ``pd.read_csv(path)`` of the whole file,
  the quarter from ``date``, then ``groupby(...).size()``.

For each it prints the wall time of the work (measured inside the child, imports excluded), its
CPU time (all threads), the wall time of the whole process, the child's peak resident memory
(``ru_maxrss`` from ``os.wait4``, so each process is measured on its own) and the machine's load
average (wall times on a shared machine are only comparable at low load). It then checks that the
four count tables are identical. Run with::

    .venv/bin/python benchmarks/bench_aggregate.py            # 10M rows, one round
    .venv/bin/python benchmarks/bench_aggregate.py --repeat 5  # five rounds, best of each case

docs/performance.md holds the figures and the machine. Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "aggregate"
BY = ["force", "quarter", "ethnicity", "legislation"]
CASES = [("parquet", "dispro"), ("parquet", "pandas"), ("csv", "dispro"), ("csv", "pandas")]
CHUNK = 1_000_000


# --------------------------------------------------------------------------------------------
# synthetic records
# --------------------------------------------------------------------------------------------


def _codes(name: str) -> list[str]:
    import csv

    with open(ROOT / "data_dictionary" / "codelists" / f"{name}.csv", encoding="utf-8") as fh:
        return [row["code"] for row in csv.DictReader(fh)]


def _weights(n: int, rng: np.random.Generator, skew: float = 1.0) -> np.ndarray:
    w = rng.random(n) ** skew + 0.01
    return w / w.sum()


def _column(rng, values, p, n, blank=0.0):
    """A dictionary-encoded arrow column drawn from ``values`` with probabilities ``p``."""
    import pyarrow as pa

    idx = rng.choice(len(values), size=n, p=p).astype("int32")
    mask = rng.random(n) < blank if blank else None
    return pa.DictionaryArray.from_arrays(pa.array(idx, mask=mask), pa.array(values))


def _as_text(col):
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_dictionary(col.type):
        return pc.cast(col, pa.string())
    if pa.types.is_boolean(col.type):
        return pc.if_else(col, "True", "False")
    return col


def generate(rows: int, seed: int = 20261122) -> tuple[Path, Path]:
    """Write ``rows`` synthetic records as parquet and CSV (skipped when both already exist)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    OUT.mkdir(parents=True, exist_ok=True)
    parquet = OUT / f"stop_search_{rows}.parquet"
    csv_path = OUT / f"stop_search_{rows}.csv"
    if parquet.exists() and csv_path.exists():
        return parquet, csv_path
    schema = None
    pq_writer = csv_writer = None
    try:
        for offset, n, table in record_tables(rows, seed):
            if schema is None:
                schema = table.schema
                pq_writer = pq.ParquetWriter(parquet.with_name(parquet.name + ".part"), schema)
            pq_writer.write_table(table, row_group_size=CHUNK)
            # the CSV as police.uk writes it: unquoted text (no value holds a comma), ISO 8601
            # dates with +00:00, True/False
            text = table.set_column(
                0,
                "date",
                pc.strftime(
                    pc.cast(table["date"], pa.timestamp("s", tz="UTC")),
                    format="%Y-%m-%dT%H:%M:%S+00:00",
                ),
            )
            text = pa.table(
                {
                    name: _as_text(col)
                    for name, col in zip(text.column_names, text.columns, strict=True)
                }
            )
            if csv_writer is None:
                csv_writer = pacsv.CSVWriter(
                    csv_path.with_name(csv_path.name + ".part"),
                    text.schema,
                    write_options=pacsv.WriteOptions(quoting_style="none"),
                )
            csv_writer.write_table(text)
            print(f"  generated {offset + n:,} / {rows:,} records", file=sys.stderr)
    finally:
        if pq_writer is not None:
            pq_writer.close()
        if csv_writer is not None:
            csv_writer.close()
    parquet.with_name(parquet.name + ".part").rename(parquet)
    csv_path.with_name(csv_path.name + ".part").rename(csv_path)
    return parquet, csv_path


def record_tables(rows: int, seed: int = 20261122):
    """``(offset, n, table)`` for each chunk of ``rows`` synthetic records (arrow, seeded)."""
    import pyarrow as pa

    rng = np.random.default_rng(seed)
    forces = _codes("police_force_area")
    force_p = _weights(len(forces), rng, skew=3.0)
    self_defined = _codes("ethnicity_police_self_defined")
    with open(
        ROOT / "data_dictionary" / "codelists" / "ethnicity_police_self_defined.csv",
        encoding="utf-8",
    ) as fh:
        import csv

        group_of = {r["code"]: r["group"] for r in csv.DictReader(fh)}
    sde_p = _weights(len(self_defined), rng, skew=2.0)
    officer = ["White", "Black", "Asian", "Other"]
    legislation = _codes("legislation")
    leg_p = np.full(len(legislation), 0.002)
    leg_p[legislation.index("Misuse of Drugs Act 1971 (section 23)")] = 0.6
    leg_p[legislation.index("Police and Criminal Evidence Act 1984 (section 1)")] = 0.3
    leg_p[legislation.index("Criminal Justice and Public Order Act 1994 (section 60)")] = 0.03
    leg_p[legislation.index("Firearms Act 1968 (section 47)")] = 0.02
    leg_p /= leg_p.sum()
    objects = _codes("object_of_search")
    outcomes = _codes("stop_search_outcome")
    shares = {
        "arrest": 0.12,
        "summons_charged": 0.03,
        "caution": 0.01,
        "community_resolution": 0.06,
    }
    outcome_p = np.array([shares.get(c, 0.02) for c in outcomes])
    outcome_p[outcomes.index("no_further_action")] = 0.68
    outcome_p /= outcome_p.sum()
    start = np.datetime64("2021-04-01T00:00:00", "s").astype("int64")
    end = np.datetime64("2024-04-01T00:00:00", "s").astype("int64")
    for offset in range(0, rows, CHUNK):
        n = min(CHUNK, rows - offset)
        seconds = rng.integers(start, end, n)
        date = pa.array(seconds * 1_000_000, pa.timestamp("us", tz="UTC"))
        sde_idx = rng.choice(len(self_defined), size=n, p=sde_p)
        sde = pa.DictionaryArray.from_arrays(
            pa.array(sde_idx.astype("int32")), pa.array(self_defined)
        )
        groups = np.array([group_of[c] for c in self_defined], dtype=object)[sde_idx]
        lat = rng.uniform(50.5, 53.5, n)
        lat_mask = rng.random(n) < 0.25
        table = pa.table(
            {
                "date": date,
                "force": _column(rng, forces, force_p, n),
                "search_type": _column(rng, _codes("search_type"), [0.8, 0.15, 0.05], n),
                "sex": _column(rng, ["Male", "Female", "Other"], [0.85, 0.145, 0.005], n, 0.01),
                "age_band": _column(
                    rng, _codes("age_band_police_uk"), [0.01, 0.2, 0.35, 0.24, 0.2], n, 0.03
                ),
                "self_defined_ethnicity": sde,
                "officer_defined_ethnicity": _column(
                    rng, officer, [0.72, 0.12, 0.12, 0.04], n, 0.05
                ),
                "ethnicity": pa.array(groups).dictionary_encode(),
                "legislation": _column(rng, legislation, leg_p, n, 0.01),
                "object_of_search": _column(
                    rng, objects, _weights(len(objects), rng, 4.0), n, 0.01
                ),
                "outcome": _column(rng, outcomes, outcome_p, n, 0.01),
                "outcome_linked": pa.array(rng.random(n) < 0.2, mask=rng.random(n) < 0.1),
                "removal_outer_clothing": pa.array(rng.random(n) < 0.03, mask=rng.random(n) < 0.1),
                "latitude": pa.array(np.round(lat, 6), mask=lat_mask),
                "longitude": pa.array(np.round(rng.uniform(-4.0, 1.0, n), 6), mask=lat_mask),
            }
        )
        yield offset, n, table


# --------------------------------------------------------------------------------------------
# the four cases, each run in its own process
# --------------------------------------------------------------------------------------------


def child(fmt: str, tool: str, path: str, result: str) -> None:
    """Run one case; print its wall time as JSON and write the counts to ``result``."""
    import pandas as pd

    if tool == "dispro":
        from dispro.counts import aggregate

        start, cpu = time.perf_counter(), time.process_time()
        counts = aggregate(path, dataset="stop_search", by=BY, engine="duckdb", dropna=True)
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        counts = counts.rename(columns={"base": "records"})[[*BY, "records"]]
    else:
        start, cpu = time.perf_counter(), time.process_time()
        records = pd.read_parquet(path) if fmt == "parquet" else pd.read_csv(path)
        date = records["date"]
        if fmt == "csv":
            date = pd.to_datetime(date, format="ISO8601", utc=True)
        records["quarter"] = date.dt.year.astype(str) + "Q" + date.dt.quarter.astype(str)
        counts = records.groupby(BY).size().reset_index(name="records")
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    counts.to_parquet(result, index=False)
    print(json.dumps({"seconds": seconds, "cpu_seconds": cpu}))


def run_case(fmt: str, tool: str, path: Path) -> dict:
    result = OUT / f"counts_{fmt}_{tool}.parquet"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, __file__, "--child", fmt, tool, str(path), str(result)],
        stdout=subprocess.PIPE,
        env=env,
        text=True,
    )
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    proc.stdout.close()
    if proc.returncode != 0:
        raise SystemExit(f"case {fmt}/{tool} failed (exit {proc.returncode})")
    timing = json.loads(out.strip().splitlines()[-1])
    # ru_maxrss is in kilobytes on Linux (bytes on macOS)
    scale = 1 if sys.platform == "darwin" else 1024
    return {
        "seconds": timing["seconds"],
        "cpu_seconds": timing["cpu_seconds"],
        "process_seconds": wall,
        "peak_bytes": usage.ru_maxrss * scale,
        "result": result,
    }


def _same_counts() -> bool:
    import pandas as pd

    tables = []
    for fmt, tool in CASES:
        t = pd.read_parquet(OUT / f"counts_{fmt}_{tool}.parquet")
        t = t.astype({c: str for c in BY}).astype({"records": "int64"})
        tables.append(t.sort_values(BY).reset_index(drop=True))
    for (fmt, tool), t in zip(CASES[1:], tables[1:], strict=True):
        try:
            pd.testing.assert_frame_equal(tables[0], t, check_dtype=False)
        except AssertionError as exc:
            print(f"counts of {fmt}/{tool} differ from parquet/dispro: {exc}")
            return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument(
        "--repeat", type=int, default=1, help="rounds of the four cases; the best of each is kept"
    )
    parser.add_argument("--child", nargs=4, metavar=("FORMAT", "TOOL", "PATH", "RESULT"))
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    import duckdb
    import pandas as pd

    print(
        f"Python {platform.python_version()}, pandas {pd.__version__}, duckdb {duckdb.__version__}, "
        f"{platform.machine()}, {os.cpu_count()} CPUs, "
        f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.1f} GiB RAM"
    )
    parquet, csv_path = generate(args.rows)
    paths = {"parquet": parquet, "csv": csv_path}
    for fmt, path in paths.items():
        print(f"{fmt}: {path} ({path.stat().st_size / 2**20:,.0f} MiB, {args.rows:,} records)")
    # rounds of the four cases in turn, so that a change in the machine's load hits all of them
    runs: dict[tuple, list[dict]] = {case: [] for case in CASES}
    for round_ in range(1, args.repeat + 1):
        for fmt, tool in CASES:
            run = run_case(fmt, tool, paths[fmt])
            run["load"] = os.getloadavg()[0]
            runs[fmt, tool].append(run)
            print(
                f"  round {round_}: {fmt:8} {tool:7} {run['seconds']:7.2f} s"
                f"  (CPU {run['cpu_seconds']:6.2f} s)  load {run['load']:.1f}",
                flush=True,
            )
    results = {}
    print("best of the rounds (peak RSS: the largest):")
    for case, case_runs in runs.items():
        best = dict(min(case_runs, key=lambda r: r["seconds"]))
        best["peak_bytes"] = max(r["peak_bytes"] for r in case_runs)
        best["cpu_seconds"] = min(r["cpu_seconds"] for r in case_runs)
        results[case] = best
        print(
            f"{case[0]:8} {case[1]:7} {best['seconds']:8.2f} s  (CPU {best['cpu_seconds']:6.2f} s,"
            f" process {best['process_seconds']:6.2f} s)"
            f"  peak RSS {best['peak_bytes'] / 2**20:8,.0f} MiB  (load average {best['load']:.1f})"
        )
    same = _same_counts()
    print(f"counts identical in all four cases: {same}")
    for fmt in paths:
        d, p = results[fmt, "dispro"], results[fmt, "pandas"]
        speed = p["seconds"] / d["seconds"]
        cpu = p["cpu_seconds"] / d["cpu_seconds"]
        memory = d["peak_bytes"] / p["peak_bytes"]
        print(
            f"{fmt}: dispro is {speed:.1f}x faster (target >= 3: {'met' if speed >= 3 else 'NOT met'};"
            f" {cpu:.1f}x less CPU) and uses {memory:.1%} of pandas' peak memory "
            f"(target < 20%: {'met' if memory < 0.2 else 'NOT met'})"
        )


if __name__ == "__main__":
    main()
