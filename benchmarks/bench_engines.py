"""Benchmark: records to counts on DuckDB, local Spark and pandas, dispro vs each engine's bare group-by.

Issue #7 asks that aggregating 10,000,000 and 50,000,000 records through dispro stay within 1.5x
of the engine's own bare group-by on the same data, and that aggregating 50,000,000 records stay
under 4 GiB peak resident memory. The task in every case: count the synthetic stop-search records
of ``bench_aggregate.py`` (same columns, same seed; parquet only, one file with row groups of
1,000,000 records, in ``benchmarks/results/engines/``, git-ignored and reused) by force x quarter
x ethnicity x legislation, dropping the records with a blank legislation. Cases, each in a fresh
Python process:

- ``duckdb-bare``        plain DuckDB SQL: ``SELECT force, year||'Q'||quarter, ethnicity,
                         legislation, count(*) FROM read_parquet(...) WHERE legislation IS NOT
                         NULL GROUP BY ALL``, with dispro's DuckDB settings (threads = cores,
                         memory_limit = half the RAM, preserve_insertion_order = false);
- ``duckdb-dispro-sql``  ``aggregate(path, engine="duckdb", dropna=True)`` (dispro's own SQL);
- ``duckdb-dispro-ibis`` ``aggregate(dispro.counts.read(path), ...)``: the Ibis expression on
                         DuckDB (Ibis' own connection: DuckDB's default settings);
- ``spark-bare``         local Spark, ``spark.read.parquet(path).where(legislation is not
                         null).groupBy(force, quarter, ethnicity, legislation).count().toPandas()``;
- ``spark-dispro-ibis``  ``aggregate(ibis.pyspark.connect(spark).table(view), ...)`` on a view of
                         ``spark.read.parquet(path)``, in a session with the same settings;
- ``pandas-bare``        ``pd.read_parquet(path, columns=[4 needed])``, the quarter from ``date``,
                         ``groupby(...).size()`` (pandas drops the blank legislation);
- ``pandas-dispro``      ``aggregate(path, engine="pandas", dropna=True)`` (chunked pandas).

Spark runs as ``local[2]`` with ``spark.driver.memory`` 3g (``--spark-memory``), 4 shuffle
partitions, the UI off, session time zone UTC and Arrow for ``toPandas``. Its startup (session
and a tiny group-by) is not timed; nor is a warm-up that runs the case itself once on the first
100,000 records (``--spark-warmup case``, default): the JVM compiles Spark's scan, group-by and
Arrow paths on first use, which costs 10-20 s at any size. ``--spark-warmup tiny`` skips it and
times a cold first query. Both are reported on their own.

Measured per run: the wall time of the work inside the child (imports and Spark startup
excluded), its CPU time (the Python process's threads, plus the JVM's for Spark), the Python
process's peak resident memory (VmHWM from /proc: ``ru_maxrss`` would carry over the driver's
own peak through ``execve``) and, for Spark, the JVM's (the VmHWM of every descendant process,
found with psutil or /proc every 0.1 s and at the end of the work); "total" is Python + JVM
peaks (an upper bound: the two peaks need not coincide). The load average is read before each
run. The driver checks that all count tables are identical
and prints, per case, the median and minimum wall time over ``--repeat`` rounds, the median CPU,
the largest peak memory and the ratio dispro / bare of the engine, then a Markdown table for
docs/performance.md. Run with::

    PYTHONPATH=src .venv/bin/python benchmarks/bench_engines.py --repeat 3      # 10M and 50M
    PYTHONPATH=src .venv/bin/python benchmarks/bench_engines.py --rows 1000000 --repeat 1

pandas-bare holds the four columns in memory; it is skipped (with a note) at a size where its
peak, extrapolated linearly from a smaller size measured in the same run (or from 600 bytes per
record), would exceed ``--pandas-limit-gib`` (16). Not a test: nothing here asserts a time.
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
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_aggregate import BY, CHUNK, record_tables  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "engines"
AGGREGATE_OUT = ROOT / "benchmarks" / "results" / "aggregate"
CASES = [
    "duckdb-bare",
    "duckdb-dispro-sql",
    "duckdb-dispro-ibis",
    "spark-bare",
    "spark-dispro-ibis",
    "pandas-bare",
    "pandas-dispro",
]
# dispro case -> the bare case of its engine
BARE = {
    "duckdb-dispro-sql": "duckdb-bare",
    "duckdb-dispro-ibis": "duckdb-bare",
    "spark-dispro-ibis": "spark-bare",
    "pandas-dispro": "pandas-bare",
}
TARGET = 1.5
MEMORY_TARGET = 4 * 2**30
SPARK_PARTITIONS = 4
PANDAS_BYTES_PER_RECORD = 600  # a generous guess, used only when no smaller size was measured
COLUMNS = ["date", "force", "ethnicity", "legislation"]
WARMUP_ROWS = 100_000


# --------------------------------------------------------------------------------------------
# records: parquet only (50M records as CSV would be 11 GB)
# --------------------------------------------------------------------------------------------


def generate(rows: int) -> Path:
    """``rows`` synthetic records as one parquet file with row groups of ``CHUNK`` records.

    The records are those of ``bench_aggregate.generate`` (same generator and seed), so its
    parquet file is reused when it exists.
    """
    import pyarrow.parquet as pq

    same = AGGREGATE_OUT / f"stop_search_{rows}.parquet"
    if same.exists():
        return same
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"stop_search_{rows}.parquet"
    if path.exists():
        return path
    part = path.with_name(path.name + ".part")
    writer = None
    try:
        for offset, n, table in record_tables(rows):
            if writer is None:
                writer = pq.ParquetWriter(part, table.schema)
            writer.write_table(table, row_group_size=CHUNK)
            print(f"  generated {offset + n:,} / {rows:,} records", file=sys.stderr, flush=True)
    finally:
        if writer is not None:
            writer.close()
    part.rename(path)
    return path


def warmup_sample(path: Path, rows: int = WARMUP_ROWS) -> Path:
    """The first ``rows`` records of ``path`` as a small parquet file (Spark's warm-up)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    OUT.mkdir(parents=True, exist_ok=True)
    sample = OUT / f"warmup_{rows}.parquet"
    if not sample.exists():
        batch = next(pq.ParquetFile(path).iter_batches(batch_size=rows))
        pq.write_table(pa.Table.from_batches([batch]), sample)
    return sample


# --------------------------------------------------------------------------------------------
# the cases, each run in its own process
# --------------------------------------------------------------------------------------------


def _duckdb_settings() -> dict:
    """The settings of dispro's ``_duckdb_config`` (without its environment overrides)."""
    threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return {
        "threads": threads or 1,
        "memory_limit": f"{max(ram // 2 // 2**20, 256)}MB",
        "preserve_insertion_order": False,
    }


def _spark(memory: str):
    from pyspark.sql import SparkSession

    warehouse = tempfile.mkdtemp(prefix="dispro-bench-spark-")
    session = (
        SparkSession.builder.master("local[2]")
        .appName("dispro-bench-engines")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", str(SPARK_PARTITIONS))
        .config("spark.driver.memory", memory)
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.sql.warehouse.dir", warehouse)
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    # warm-up: a tiny group-by, so that JVM start, class loading and the first job are not timed
    session.range(10_000).selectExpr("id % 7 AS k").groupBy("k").count().collect()
    return session, warehouse


def _jvm_cpu() -> float:
    """CPU seconds of this process's descendants (the JVM for Spark)."""
    import psutil

    total = 0.0
    for p in psutil.Process().children(recursive=True):
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.Error:
            pass
    return total


def _dispro_counts(source, engine: str):
    from dispro.counts import aggregate

    counts = aggregate(source, dataset="stop_search", by=BY, engine=engine, dropna=True)
    return counts.rename(columns={"base": "records"})[[*BY, "records"]]


def _capture_sql():
    """Keep the IbisCells that ``aggregate`` builds, to print its SQL after the timed work."""
    from dispro.counts import ibis as engines

    seen = []

    class Capture(engines.IbisCells):
        def __init__(self, source, plan):
            super().__init__(source, plan)
            seen.append(self)

    engines.IbisCells = Capture
    return seen


def child(case: str, path: str, result: str, spark_memory: str, warmup: str = "") -> None:
    """Run one case; print its timings as JSON (last line) and write the counts to ``result``."""
    import resource

    import pandas as pd

    extra: dict = {}
    session = None
    seen = None
    # every module a case uses is imported before the clock starts
    if case.startswith("duckdb"):
        import duckdb
    if case.endswith("ibis"):
        import ibis
        import ibis.backends.duckdb  # noqa: F401
    if case == "spark-dispro-ibis":
        import ibis.backends.pyspark  # noqa: F401
    if case.startswith("spark"):
        from pyspark.sql import functions as F

        t0 = time.perf_counter()
        session, warehouse = _spark(spark_memory)
        extra["startup_seconds"] = time.perf_counter() - t0
    if case == "duckdb-dispro-ibis" or case == "spark-dispro-ibis":
        import dispro.counts.aggregate  # noqa: F401
        import dispro.counts.ibis  # noqa: F401

        seen = _capture_sql()
    elif case in ("duckdb-dispro-sql", "pandas-dispro"):
        import dispro.counts.aggregate  # noqa: F401
    if case in ("pandas-bare", "pandas-dispro"):
        import pyarrow.parquet  # noqa: F401

    def work(path: str):
        if case == "duckdb-bare":
            con = duckdb.connect(":memory:", config=_duckdb_settings())
            con.execute("SET TimeZone = 'UTC'")
            con.execute("SET enable_progress_bar = false")
            con.execute("SET enable_external_file_cache = false")
            quoted = "'" + str(path).replace("'", "''") + "'"
            counts = con.execute(
                "SELECT force,"
                " CAST(year(date) AS VARCHAR) || 'Q' || CAST(quarter(date) AS VARCHAR) AS quarter,"
                " ethnicity, legislation, count(*) AS records"
                f" FROM read_parquet({quoted}) WHERE legislation IS NOT NULL GROUP BY ALL"
            ).fetch_df()
            con.close()
            return counts
        if case == "duckdb-dispro-sql":
            return _dispro_counts(path, "duckdb")
        if case == "duckdb-dispro-ibis":
            from dispro.counts import ibis as engines

            return _dispro_counts(engines.read(path), "auto")
        if case == "spark-bare":
            date = F.col("date")
            quarter = F.concat(
                F.year(date).cast("string"), F.lit("Q"), F.quarter(date).cast("string")
            ).alias("quarter")
            return (
                session.read.parquet(path)
                .where(F.col("legislation").isNotNull())
                .groupBy("force", quarter, "ethnicity", "legislation")
                .count()
                .toPandas()
                .rename(columns={"count": "records"})
            )
        if case == "spark-dispro-ibis":
            session.read.parquet(path).createOrReplaceTempView("stop_search")
            table = ibis.pyspark.connect(session).table("stop_search")
            return _dispro_counts(table, "auto")
        if case == "pandas-bare":
            records = pd.read_parquet(path, columns=COLUMNS)
            date = records["date"]
            records["quarter"] = date.dt.year.astype(str) + "Q" + date.dt.quarter.astype(str)
            return records.groupby(BY, observed=True).size().reset_index(name="records")
        if case == "pandas-dispro":
            return _dispro_counts(path, "pandas")
        raise SystemExit(f"unknown case {case!r}")

    if session is not None and warmup:
        # the JVM compiles Spark's scan, group-by and Arrow paths on first use (seconds to tens
        # of seconds): run the case once on a small sample first, untimed
        t0 = time.perf_counter()
        work(warmup)
        extra["warmup_seconds"] = time.perf_counter() - t0
    jvm0 = _jvm_cpu() if session is not None else 0.0
    start, cpu = time.perf_counter(), time.process_time()
    counts = work(path)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    if session is not None:
        extra["jvm_cpu_seconds"] = _jvm_cpu() - jvm0
    counts.to_parquet(result, index=False)
    if seen:
        Path(result).with_suffix(".sql").write_text(ibis.to_sql(seen[-1].expression) + "\n")
    # this process only (the JVM is a separate process): VmHWM, else ru_maxrss (see _hwm)
    scale = 1 if sys.platform == "darwin" else 1024
    peak = _hwm("self") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale
    if session is not None:
        extra["jvm_peak_bytes"] = sum(_hwm(pid) for pid in _descendants(os.getpid()))
    print(json.dumps({"seconds": seconds, "cpu_seconds": cpu, "python_peak_bytes": peak, **extra}))
    sys.stdout.flush()
    if session is not None:
        session.stop()
        shutil.rmtree(warehouse, ignore_errors=True)


# --------------------------------------------------------------------------------------------
# the driver
# --------------------------------------------------------------------------------------------


def _hwm(pid) -> int:
    """Peak resident bytes of a process: VmHWM from /proc (0 when unreadable).

    Not ``ru_maxrss``: Linux carries a process's ``ru_maxrss`` over ``execve``, so a child
    started from a large parent would report at least the parent's peak; VmHWM belongs to the
    new address space.
    """
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _descendants(pid: int) -> list[int]:
    """The process ids of all descendants of ``pid`` (psutil, else /proc)."""
    try:
        import psutil
    except ImportError:
        psutil = None
    if psutil is not None:
        try:
            return [p.pid for p in psutil.Process(pid).children(recursive=True)]
        except psutil.Error:
            return []
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    parents[int(entry)] = int(fh.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                pass
    wanted, frontier = set(), {pid}
    while frontier:
        frontier = {c for c, p in parents.items() if p in frontier} - wanted
        wanted |= frontier
    return sorted(wanted)


def run_case(case: str, path: Path, rows: int, spark_memory: str, warmup: Path | None) -> dict:
    OUT.mkdir(parents=True, exist_ok=True)
    result = OUT / f"counts_{rows}_{case}.parquet"
    log = OUT / f"log_{rows}_{case}.txt"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "src"),
                                                                      os.environ.get("PYTHONPATH")]))}  # fmt: skip
    load = os.getloadavg()
    start = time.perf_counter()
    with open(log, "w") as err:
        proc = subprocess.Popen(
            [sys.executable, __file__, "--child", case, str(path), str(result), spark_memory]
            + [str(warmup or "")],
            stdout=subprocess.PIPE,
            stderr=err,
            env=env,
            text=True,
        )
        peaks: dict[int, int] = {}  # descendant pid -> its VmHWM when last seen
        done = threading.Event()

        def sample():
            while not done.wait(0.1):
                for pid in _descendants(proc.pid):
                    peaks[pid] = max(peaks.get(pid, 0), _hwm(pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        done.set()
        sampler.join()
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    proc.stdout.close()
    if proc.returncode != 0:
        tail = log.read_text(errors="replace").strip().splitlines()[-15:]
        raise RuntimeError(f"case {case} failed (exit {proc.returncode}):\n  " + "\n  ".join(tail))
    line = next(x for x in reversed(out.strip().splitlines()) if x.startswith("{"))
    timing = json.loads(line)
    scale = 1 if sys.platform == "darwin" else 1024
    python_peak = timing.pop("python_peak_bytes", 0) or usage.ru_maxrss * scale
    jvm_peak = max(sum(peaks.values()), timing.pop("jvm_peak_bytes", 0))
    run = {
        **timing,
        "cpu_seconds": timing["cpu_seconds"] + timing.get("jvm_cpu_seconds", 0.0),
        "python_cpu_seconds": timing["cpu_seconds"],
        "process_seconds": wall,
        "python_peak_bytes": python_peak,
        "jvm_peak_bytes": jvm_peak if case.startswith("spark") else 0,
        "load": load[0],
        "result": result,
    }
    run["peak_bytes"] = run["python_peak_bytes"] + run["jvm_peak_bytes"]
    return run


def _same_counts(rows: int, cases: list[str]) -> bool:
    import pandas as pd

    tables = {}
    for case in cases:
        t = pd.read_parquet(OUT / f"counts_{rows}_{case}.parquet")
        t = t[[*BY, "records"]].astype({c: str for c in BY}).astype({"records": "int64"})
        tables[case] = t.sort_values(BY).reset_index(drop=True)
    if not tables:
        return True
    first, *rest = tables
    same = True
    for case in rest:
        try:
            pd.testing.assert_frame_equal(tables[first], tables[case], check_dtype=False)
        except AssertionError as exc:
            print(f"  counts of {case} differ from {first}: {exc}")
            same = False
    return same


def _versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {"Python": platform.python_version()}
    for name in ("duckdb", "pyspark", "ibis-framework", "pandas", "pyarrow"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "missing"
    try:
        java = subprocess.run(["java", "-version"], capture_output=True, text=True, timeout=30)
        out["Java"] = (java.stderr or java.stdout).splitlines()[0].split('"')[1]
    except (OSError, IndexError, subprocess.SubprocessError):
        out["Java"] = "missing"
    return out


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(x.split(":", 1)[1].strip() for x in fh if x.startswith("model name"))
    except (OSError, StopIteration):
        pass
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    versions = ", ".join(f"{k} {v}" for k, v in _versions().items())
    return f"{cpu}, {os.cpu_count()} CPUs, {ram:.1f} GiB RAM, {platform.system()}; {versions}"


def _mib(n: float) -> str:
    return f"{n / 2**20:,.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000_000, 50_000_000])
    parser.add_argument("--repeat", type=int, default=3, help="rounds of the cases (median kept)")
    parser.add_argument("--cases", nargs="+", choices=CASES, default=CASES, metavar="CASE",
                        help=f"a subset of: {' '.join(CASES)}")  # fmt: skip
    parser.add_argument("--keep-going", action="store_true", help="go on when a case fails")
    parser.add_argument("--spark-memory", default="3g", help="spark.driver.memory (default 3g)")
    parser.add_argument("--pandas-limit-gib", type=float, default=16.0,
                        help="skip pandas-bare where its estimated peak exceeds this")  # fmt: skip
    parser.add_argument("--show-sql", action="store_true", help="print the Ibis cases' SQL")
    parser.add_argument("--spark-warmup", choices=["case", "tiny"], default="case",
                        help="before the timed run, Spark runs the case on a 100,000-record sample"
                        " (case, default) or only a tiny group-by (tiny: a cold first query)")  # fmt: skip
    parser.add_argument("--child", nargs=5, metavar=("CASE", "PATH", "RESULT", "MEMORY", "WARMUP"))
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    cases = [c for c in CASES if c in args.cases]
    print(f"# command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    machine = _machine()
    print(f"# machine: {machine}")
    settings = _duckdb_settings()
    print(
        f"# DuckDB (bare; dispro's SQL path uses the same): threads {settings['threads']}, "
        f"memory_limit {settings['memory_limit']}, preserve_insertion_order false; Ibis' DuckDB "
        f"connection: DuckDB's defaults. Spark: local[2], driver memory {args.spark_memory}, "
        f"{SPARK_PARTITIONS} shuffle partitions, UI off, time zone UTC, Arrow toPandas; warm-up "
        + (
            f"(untimed): the case itself on the first {WARMUP_ROWS:,} records"
            if args.spark_warmup == "case"
            else "(untimed): a tiny group-by only, so the timed query runs cold"
        )
    )
    pandas_peaks: dict[int, int] = {}  # rows -> pandas-bare's largest peak
    table_rows = []
    all_same = True
    for rows in sorted(args.rows):
        t0 = time.perf_counter()
        path = generate(rows)
        warmup = warmup_sample(path) if args.spark_warmup == "case" else None
        print(
            f"\n## {rows:,} records: {path.relative_to(ROOT)} "
            f"({path.stat().st_size / 2**20:,.0f} MiB; ready in {time.perf_counter() - t0:.1f} s)",
            flush=True,
        )
        skip: dict[str, str] = {}
        if "pandas-bare" in cases:
            smaller = [(r, p) for r, p in pandas_peaks.items() if r < rows]
            if smaller:
                r, p = max(smaller)
                estimate, basis = p * rows / r, f"{p / 2**30:.1f} GiB measured at {r:,}"
            else:
                estimate = PANDAS_BYTES_PER_RECORD * rows
                basis = f"{PANDAS_BYTES_PER_RECORD} bytes per record assumed"
            if estimate > args.pandas_limit_gib * 2**30:
                skip["pandas-bare"] = (
                    f"pandas-bare skipped at {rows:,} records: its peak would be about "
                    f"{estimate / 2**30:.1f} GiB ({basis}), above --pandas-limit-gib "
                    f"{args.pandas_limit_gib:g}"
                )
                print(f"  NOTE: {skip['pandas-bare']}", flush=True)
        runs: dict[str, list[dict]] = {c: [] for c in cases if c not in skip}
        failed: dict[str, str] = {}
        # rounds of all the cases in turn, so that a change in the machine's load hits them all
        for round_ in range(1, args.repeat + 1):
            for case in runs:
                if case in failed:
                    continue
                try:
                    run = run_case(case, path, rows, args.spark_memory, warmup)
                except RuntimeError as exc:
                    if not args.keep_going:
                        raise SystemExit(str(exc)) from None
                    failed[case] = str(exc).splitlines()[0]
                    print(f"  round {round_}: {exc}", flush=True)
                    continue
                runs[case].append(run)
                jvm = (
                    f" + JVM {_mib(run['jvm_peak_bytes'])} MiB"
                    f" (startup {run['startup_seconds']:.1f} s,"
                    f" warm-up {run.get('warmup_seconds', 0):.1f} s)"
                    if case.startswith("spark")
                    else ""
                )
                print(
                    f"  round {round_}: {case:18} {run['seconds']:7.2f} s"
                    f"  (CPU {run['cpu_seconds']:6.2f} s)  peak {_mib(run['python_peak_bytes'])}"
                    f" MiB{jvm}  load {run['load']:.2f}",
                    flush=True,
                )
        done = [c for c in runs if runs[c] and c not in failed]
        same = _same_counts(rows, done)
        all_same &= same
        print(f"counts identical in all {len(done)} cases at {rows:,} records: {same}")
        medians = {}
        for case in done:
            rs = runs[case]
            summary = {
                "median": statistics.median(r["seconds"] for r in rs),
                "min": min(r["seconds"] for r in rs),
                "cpu": statistics.median(r["cpu_seconds"] for r in rs),
                "python_peak": max(r["python_peak_bytes"] for r in rs),
                "jvm_peak": max(r["jvm_peak_bytes"] for r in rs),
                "peak": max(r["peak_bytes"] for r in rs),
                "load": (min(r["load"] for r in rs), max(r["load"] for r in rs)),
                "startup": statistics.median(r.get("startup_seconds", 0.0) for r in rs),
                "warmup": statistics.median(r.get("warmup_seconds", 0.0) for r in rs),
                "n": len(rs),
            }
            medians[case] = summary
            if case == "pandas-bare":
                pandas_peaks[rows] = summary["peak"]
        for case in done:
            s = medians[case]
            bare = BARE.get(case)
            ratio = s["median"] / medians[bare]["median"] if bare in medians else None
            s["ratio"] = ratio
            s["cpu_ratio"] = s["cpu"] / medians[bare]["cpu"] if bare in medians else None
            verdict = ""
            if ratio is not None:
                verdict = (
                    f"  {ratio:.2f}x {bare} (target <= {TARGET}: "
                    f"{'met' if ratio <= TARGET else 'NOT met'}; CPU {s['cpu_ratio']:.2f}x)"
                )
            memory = ""
            if rows >= 50_000_000 and "dispro" in case:
                memory = f"  peak {'under' if s['peak'] < MEMORY_TARGET else 'NOT under'} 4 GiB"
            jvm = (
                f" (Python {_mib(s['python_peak'])} + JVM {_mib(s['jvm_peak'])});"
                f" Spark startup {s['startup']:.1f} s, warm-up {s['warmup']:.1f} s"
                if case.startswith("spark")
                else ""
            )
            print(
                f"{case:18} median {s['median']:7.2f} s  min {s['min']:7.2f} s"
                f"  CPU {s['cpu']:7.2f} s  peak {_mib(s['peak'])} MiB{jvm}{verdict}{memory}"
            )
        for case, why in {**skip, **failed}.items():
            print(f"{case:18} {'skipped' if case in skip else 'FAILED'}: {why}")
        if args.show_sql:
            for case in ("duckdb-dispro-ibis", "spark-dispro-ibis"):
                sql = OUT / f"counts_{rows}_{case}.sql"
                if case in done and sql.exists():
                    print(f"\n-- SQL of {case} (ibis.to_sql of IbisCells.expression):")
                    print(sql.read_text())
        for case in cases:
            s = medians.get(case)
            if s is None:
                why = "skipped" if case in skip else "failed"
                table_rows.append(f"| {rows:,} | {case} | {why} | | | | | | | | |")
                continue
            ratio = f"{s['ratio']:.2f}x" if s["ratio"] is not None else ""
            cpu_ratio = f"{s['cpu_ratio']:.2f}x" if s["cpu_ratio"] is not None else ""
            jvm = _mib(s["jvm_peak"]) if case.startswith("spark") else ""
            lo, hi = s["load"]
            table_rows.append(
                f"| {rows:,} | {case} | {s['median']:.2f} | {s['min']:.2f} | {s['cpu']:.2f} |"
                f" {_mib(s['python_peak'])} | {jvm} | {_mib(s['peak'])} | {ratio} | {cpu_ratio} |"
                f" {lo:.1f}–{hi:.1f} |"
            )
    print(f"\ncounts identical in every case: {all_same}\n")
    print(
        f"Medians of {args.repeat} run(s); {machine}. Wall time excludes imports and Spark startup"
        f" and warm-up ({args.spark_warmup});"
        " CPU includes the JVM's for Spark; peak = Python + JVM resident peaks.\n"
    )
    print(
        "| records | case | median s | min s | CPU s | Python peak MiB | JVM peak MiB "
        "| total peak MiB | time vs bare (target <= 1.5x) | CPU vs bare | load average |"
    )
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    print("\n".join(table_rows))


if __name__ == "__main__":
    main()
