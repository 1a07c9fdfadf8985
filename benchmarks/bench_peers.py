"""Benchmark: RRIs with intervals from 1,000,000 records, dispro against other tools.

The question each tool answers: the arrest rate per search of each ethnic group and its ratio to
the White group's rate (the RRI), on synthetic stop-and-search records (one row per search:
ethnicity, force, arrest), by group and by force x group (each force its own White reference).

- ``dispro``: ``dispro.rri_from_records(records, events="arrest", by=...)``: counts, rates, RRIs,
  Katz intervals, p-values, BH q-values and statuses;
- ``pandas``: hand-written ``groupby`` counts, rates, the ratio to the reference row and the Katz
  log interval ``exp(ln RRI ± z·sqrt(1/a - 1/A + 1/b - 1/B))``;
- ``fairlearn``: ``MetricFrame(metrics={"rate": selection_rate, "count": count}, ...)``; the
  ratio to White is computed by hand from ``by_group`` (``MetricFrame.ratio()`` is one number per
  metric, smallest group over largest or smallest ratio to the overall, never each group against a
  named reference); no intervals;
- ``fairlearn_boot`` (only if asked for with ``--cases``): the same with fairlearn's bootstrap
  (``n_boot``, ``ci_quantiles``), which gives intervals for each group's rate, not for the ratio
  to a reference; each bootstrap sample costs about as much as the plain ``fairlearn`` case;
- ``aequitas``: ``Group().get_crosstabs`` then ``Bias().get_disparity_predefined_groups`` with
  ``ref_groups_dict={"ethnicity": "White"}``, the arrest as the 0/1 ``score``; the rate is
  ``pprev`` and the RRI is ``pprev_disparity``; no intervals. By force x group it is called once
  per force (its disparities are per attribute, with one reference for the whole table);
- ``aequitas_sig``: the same with ``check_significance=True``, which adds t-test p-values
  (reported as True/False at alpha = 0.05), not intervals.

aequitas 1.1 needs pandas < 3, so it runs in a second environment, ``.venv-peers`` (made by
``make bench-peers``); the other cases run in the main ``.venv``. The records are written once to
a parquet file in the git-ignored ``benchmarks/results/peers/`` and every case runs in a fresh
subprocess that reads them (the reading is timed apart), notes its memory, then times the case
from the records as read (string columns and a boolean arrest) to the result table. Each tool
gets the records as read and does whatever it needs to them inside the timed case (aequitas: the
0/1 ``score`` and ``label_value`` columns). Imports are not timed: before the timing each worker
calls its case once on the first 20,000 records (dispro imports SciPy when it first computes an
interval; other tools may have lazy imports too).

The cases run in rounds, one of each case per round, so that changes in the machine's load hit
them all; times are medians over the rounds. The slow cases (``fairlearn``, ``fairlearn_boot``,
``aequitas_sig``, tens to hundreds of times dispro's time) run in the first ``--slow-repeat``
rounds only (default 1). Memory: the process's peak RSS (``ru_maxrss``) and the peak above the
records in memory during the case alone (the kernel's high-water mark, reset before the case
through ``/proc/self/clear_refs``).

The parent checks that every tool's counts, rates and ratios equal dispro's (to 1e-12 relative)
and dispro's intervals the hand-written Katz ones, then prints a Markdown table for
docs/performance.md. Not a test: nothing here asserts a time.

Run: ``make bench-peers`` or ``PYTHONPATH=src .venv/bin/python benchmarks/bench_peers.py``
(``--records 1000000 --repeat 5``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
OUT_DIR = ROOT / "benchmarks" / "results" / "peers"
PEERS_PYTHON = ROOT / ".venv-peers" / "bin" / "python"

# shares of searches and arrest rates per search, roughly those of England and Wales
GROUPS = ["White", "Black", "Asian", "Mixed", "Other", "Not stated"]
GROUP_SHARES = [0.55, 0.16, 0.10, 0.04, 0.02, 0.13]
GROUP_ARREST = [0.130, 0.145, 0.120, 0.140, 0.135, 0.105]
FORCES = ["Metropolitan", "West Midlands", "Merseyside", "Greater Manchester", "West Yorkshire",
          "Essex"]  # fmt: skip
FORCE_SHARES = [0.45, 0.12, 0.12, 0.11, 0.11, 0.09]
FORCE_FACTOR = [1.00, 1.15, 0.80, 1.10, 1.05, 0.95]
REFERENCE = "White"

CASES = {
    # case: (environment, intervals offered, slow: run --slow-repeat times only)
    "dispro": ("main", "RRI: Katz CI, p, q", False),
    "pandas": ("main", "RRI: Katz CI (hand-written)", False),
    "fairlearn": ("main", "none", True),
    "fairlearn_boot": ("main", "bootstrap CI of each rate, not of the RRI", True),
    "aequitas": ("peers", "none", False),
    "aequitas_sig": ("peers", "none (t-test, True/False)", True),
}
DEFAULT_CASES = ["dispro", "pandas", "fairlearn", "aequitas", "aequitas_sig"]
ANALYSES = {"group": [], "force_group": ["force"]}
RTOL = 1e-12
WARM_UP = 20_000  # records in the untimed first call


def make_records(n: int, seed: int = 2026) -> pd.DataFrame:
    """n stop-and-search-like records: ethnicity, force (strings) and a boolean arrest."""
    rng = np.random.default_rng(seed)
    g = rng.choice(len(GROUPS), n, p=GROUP_SHARES)
    f = rng.choice(len(FORCES), n, p=FORCE_SHARES)
    p = np.asarray(GROUP_ARREST)[g] * np.asarray(FORCE_FACTOR)[f]
    return pd.DataFrame(
        {
            "ethnicity": np.asarray(GROUPS, dtype=object)[g],
            "force": np.asarray(FORCES, dtype=object)[f],
            "arrest": rng.random(n) < p,
        }
    )


def write_records(n: int, seed: int) -> Path:
    """Write the records once; plain strings (no pandas metadata), so each pandas reads its own
    default string type (object in pandas 2, ``str`` in pandas 3)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = OUT_DIR / f"records_{n}_{seed}.parquet"
    if not path.exists():
        OUT_DIR.mkdir(parents=True, exist_ok=True)
        table = pa.Table.from_pandas(make_records(n, seed), preserve_index=False)
        tmp = path.with_suffix(".tmp")
        pq.write_table(table.replace_schema_metadata(None), tmp)
        tmp.replace(path)
    return path


# --------------------------------------------------------------------------------------------
# worker: one case in a fresh process
# --------------------------------------------------------------------------------------------


def _status_mib(key: str) -> float:
    with open("/proc/self/status") as f:
        return int(re.search(rf"^{key}:\s+(\d+) kB", f.read(), re.M).group(1)) / 1024


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # resets VmHWM, the peak resident set size (Linux 4.0+)
        return True
    except OSError:
        return False


def _num(x) -> float | None:
    x = float(x)
    return None if math.isnan(x) else x


def _rows(frame: pd.DataFrame, by: list[str], **columns: str) -> list[dict]:
    """Result rows keyed by ``force|group``; ``columns`` maps output names to frame columns."""
    keys = frame[[*by, "group"]].astype(str).agg("|".join, axis=1)
    out = []
    for i, key in enumerate(keys):
        row = {"key": key}
        for name, col in columns.items():
            row[name] = _num(frame[col].iloc[i])
        out.append(row)
    return out


def case_dispro(records, by):
    import dispro

    t = dispro.rri_from_records(records, events="arrest", group="ethnicity", by=by or None)
    return t, lambda: _rows(t, by, events="events", base="base", rate="rate", ratio="rri",
                            ci_lower="ci_lower", ci_upper="ci_upper")  # fmt: skip


def case_pandas(records, by):
    z = statistics.NormalDist().inv_cdf(1 - 0.05 / 2)
    t = (
        records.groupby([*by, "ethnicity"], observed=True, sort=True)["arrest"]
        .agg(events="sum", base="size")
        .reset_index()
        .rename(columns={"ethnicity": "group"})
    )
    t["rate"] = t["events"] / t["base"]
    ref = t.loc[t["group"] == REFERENCE, [*by, "events", "base", "rate"]]
    ref = ref.rename(columns={c: f"ref_{c}" for c in ("events", "base", "rate")})
    t = t.merge(ref, on=by) if by else t.assign(**ref.iloc[0].to_dict())
    t["rri"] = t["rate"] / t["ref_rate"]
    se = np.sqrt(1 / t["events"] - 1 / t["base"] + 1 / t["ref_events"] - 1 / t["ref_base"])
    se[t["group"] == REFERENCE] = np.nan
    t["ci_lower"] = np.exp(np.log(t["rri"]) - z * se)
    t["ci_upper"] = np.exp(np.log(t["rri"]) + z * se)
    return t, lambda: _rows(t, by, events="events", base="base", rate="rate", ratio="rri",
                            ci_lower="ci_lower", ci_upper="ci_upper")  # fmt: skip


def case_fairlearn(records, by, n_boot=None):
    from fairlearn.metrics import MetricFrame, count, selection_rate

    boot = {} if n_boot is None else {"n_boot": n_boot, "ci_quantiles": [0.025, 0.975],
                                      "random_state": 1}  # fmt: skip
    mf = MetricFrame(
        metrics={"rate": selection_rate, "count": count},
        y_true=records["arrest"],
        y_pred=records["arrest"],
        sensitive_features=records["ethnicity"],
        control_features=records[by] if by else None,
        **boot,
    )
    t = mf.by_group
    # the ratio to a named reference is not among MetricFrame's comparisons: divide by hand
    ref = t["rate"].xs(REFERENCE, level="ethnicity") if by else t.loc[REFERENCE, "rate"]
    t = t.assign(rri=t["rate"].div(ref, level=by[0]) if by else t["rate"] / ref)
    if n_boot is not None:
        lo, hi = mf.by_group_ci
        t = t.assign(rate_ci_lower=lo["rate"], rate_ci_upper=hi["rate"])

    def rows():
        frame = t.reset_index().rename(columns={"ethnicity": "group"})
        cols = {"base": "count", "rate": "rate", "ratio": "rri"}
        if n_boot is not None:
            cols.update(rate_ci_lower="rate_ci_lower", rate_ci_upper="rate_ci_upper")
        return _rows(frame, by, **cols)

    return t, rows


def case_aequitas(records, by, check_significance=False):
    import warnings

    from aequitas.bias import Bias
    from aequitas.group import Group

    score = records["arrest"].astype(int)
    df = records[["ethnicity", *by]].assign(score=score, label_value=score)
    parts = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 0/0 disparities of the metrics that need labels
        for force, sub in df.groupby(by[0], sort=True) if by else [(None, df)]:
            sub = sub[["ethnicity", "score", "label_value"]]
            xtab, _ = Group().get_crosstabs(sub, attr_cols=["ethnicity"])
            bdf = Bias().get_disparity_predefined_groups(
                xtab, original_df=sub, ref_groups_dict={"ethnicity": REFERENCE},
                check_significance=check_significance,
            )  # fmt: skip
            parts.append(bdf.assign(force=force) if by else bdf)
    t = pd.concat(parts, ignore_index=True)

    def rows():
        frame = t.rename(columns={"attribute_value": "group"})
        return _rows(frame, by, events="pp", base="group_size", rate="pprev",
                     ratio="pprev_disparity")  # fmt: skip

    return t, rows


def worker(case: str, analysis: str, path: str, n_boot: int) -> dict:
    by = ANALYSES[analysis]
    if case == "dispro":
        import dispro

        fn, version = case_dispro, dispro.__version__
    elif case == "pandas":
        fn, version = case_pandas, pd.__version__
    elif case.startswith("fairlearn"):
        import fairlearn
        import fairlearn.metrics  # noqa: F401  (imported before the timing, like the others)

        fn, version = case_fairlearn, fairlearn.__version__
        if case == "fairlearn_boot":
            fn = lambda r, b: case_fairlearn(r, b, n_boot=n_boot)  # noqa: E731
    elif case.startswith("aequitas"):
        import aequitas
        import aequitas.bias  # noqa: F401
        import aequitas.group  # noqa: F401

        fn, version = case_aequitas, aequitas.__version__
        if case == "aequitas_sig":
            fn = lambda r, b: case_aequitas(r, b, check_significance=True)  # noqa: E731
    else:
        raise SystemExit(f"unknown case {case!r}")
    t0 = time.perf_counter()
    records = pd.read_parquet(path)
    read_seconds = time.perf_counter() - t0
    # a first call on a slice, untimed, so that lazy imports (dispro imports SciPy when it first
    # computes an interval) and first-call caches are not timed, whichever tool has them
    t0 = time.perf_counter()
    fn(records.iloc[:WARM_UP], by)
    warm_up_seconds = time.perf_counter() - t0
    rss_before = _status_mib("VmRSS")
    peak_reset = _reset_peak()
    t0 = time.perf_counter()
    _result, rows = fn(records, by)
    seconds = time.perf_counter() - t0
    case_peak = _status_mib("VmHWM") if peak_reset else float("nan")
    return {
        "case": case, "analysis": analysis, "version": version, "pandas": pd.__version__,
        "python": platform.python_version(), "n": len(records), "seconds": seconds,
        "read_seconds": read_seconds, "warm_up_seconds": warm_up_seconds, "rss_before_mib": rss_before,
        "case_peak_above_mib": case_peak - rss_before,
        "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "rows": rows(),
        "dtypes": {c: str(records[c].dtype) for c in records.columns},
    }  # fmt: skip


def run(case: str, analysis: str, path: Path, n_boot: int, peers_python: Path) -> dict:
    env = dict(os.environ)
    if CASES[case][0] == "peers":
        python = str(peers_python)
        env.pop("PYTHONPATH", None)
    else:
        python = sys.executable
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"),
                                                          env.get("PYTHONPATH")]))  # fmt: skip
    out = subprocess.run(
        [python, __file__, "--worker", case, analysis, str(path), "--n-boot", str(n_boot)],
        check=False, capture_output=True, text=True, env=env,
    )  # fmt: skip
    if out.returncode:
        raise SystemExit(f"case {case} ({analysis}) failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------------------------
# parent: checks and table
# --------------------------------------------------------------------------------------------


def _rel(a, b) -> float:
    if a is None or b is None:
        return 0.0 if a is None and b is None else math.inf
    return abs(a - b) / max(abs(b), 1e-300) if a != b else 0.0


def check(results: dict[str, dict]) -> dict[str, float]:
    """Largest relative difference from dispro of each case's counts, rates and ratios (and of
    dispro's intervals from the hand-written Katz ones); a key set mismatch is inf."""
    ref = {r["key"]: r for r in results["dispro"]["rows"]}
    diffs = {}
    for case, res in results.items():
        rows = {r["key"]: r for r in res["rows"]}
        if set(rows) != set(ref):
            diffs[case] = math.inf
            continue
        fields = ["events", "base", "rate", "ratio"]
        if case == "pandas":
            fields += ["ci_lower", "ci_upper"]
        diffs[case] = max(_rel(rows[k].get(f), ref[k][f]) for k in ref for f in fields
                          if f in rows[k])  # fmt: skip
    return diffs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5, help="rounds of the cases (median kept)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--n-boot", type=int, default=100, help="fairlearn bootstrap samples")
    parser.add_argument("--slow-repeat", type=int, default=1,
                        help="runs of the slow cases (fairlearn, fairlearn_boot, aequitas_sig)")  # fmt: skip
    parser.add_argument("--cases", nargs="+", choices=list(CASES), default=DEFAULT_CASES,
                        help=f"default {' '.join(DEFAULT_CASES)}")  # fmt: skip
    parser.add_argument("--analyses", nargs="+", choices=list(ANALYSES), default=list(ANALYSES))
    parser.add_argument("--peers-python", type=Path, default=PEERS_PYTHON,
                        help="Python of the environment with aequitas (pandas < 3)")  # fmt: skip
    parser.add_argument("--worker", nargs=3, metavar=("CASE", "ANALYSIS", "PATH"),
                        help=argparse.SUPPRESS)  # fmt: skip
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(*args.worker, n_boot=args.n_boot)))
        return
    if "dispro" not in args.cases:
        parser.error("--cases must include dispro (the others are compared with it)")
    if any(CASES[c][0] == "peers" for c in args.cases) and not args.peers_python.exists():
        raise SystemExit(f"{args.peers_python} not found: run `make bench-peers`, or create it with "
                         "`python3 -m venv .venv-peers && .venv-peers/bin/pip install aequitas "
                         "fairlearn pyarrow`")  # fmt: skip
    t0 = time.perf_counter()
    path = write_records(args.records, args.seed)
    print(f"# {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"pandas {pd.__version__}, numpy {np.__version__}; {args.records:,} records in "
          f"{path.relative_to(ROOT)} ({path.stat().st_size / 2**20:.1f} MiB, "
          f"{time.perf_counter() - t0:.1f} s); load average {os.getloadavg()}", flush=True)  # fmt: skip
    runs = {(a, c): [] for a in args.analyses for c in args.cases}
    for i in range(args.repeat):
        for analysis in args.analyses:
            for case in args.cases:
                if CASES[case][2] and i >= args.slow_repeat:
                    continue
                r = run(case, analysis, path, args.n_boot, args.peers_python)
                runs[analysis, case].append(r)
                print(f"round {i + 1} {analysis:11s} {case:14s} {r['seconds']:8.3f} s  (read "
                      f"{r['read_seconds']:.2f} s, first call {r['warm_up_seconds']:.2f} s, records {r['rss_before_mib']:.0f} MiB, case "
                      f"+{r['case_peak_above_mib']:.0f} MiB, peak {r['peak_mib']:.0f} MiB); "
                      f"load {os.getloadavg()[0]:.2f}", flush=True)  # fmt: skip
    print(f"# load average at the end {os.getloadavg()}")
    failed = False
    for analysis in args.analyses:
        results = {c: runs[analysis, c][0] for c in args.cases}
        diffs = check(results)
        med = {c: statistics.median(r["seconds"] for r in runs[analysis, c]) for c in args.cases}
        first = results["dispro"]
        print(f"\n{analysis}: {len(first['rows'])} rows; dtypes as read: {first['dtypes']}")
        print("\n| tool | version (pandas) | intervals | median time | read parquet | peak RSS | "
              "case peak above records | time vs dispro | max rel. diff from dispro |")  # fmt: skip
        print("|---|---|---|---:|---:|---:|---:|---:|---:|")
        for case in args.cases:
            rs = runs[analysis, case]
            peak = max(r["peak_mib"] for r in rs)
            above = max(r["case_peak_above_mib"] for r in rs)
            read = statistics.median(r["read_seconds"] for r in rs)
            ratio = "1" if case == "dispro" else f"{med[case] / med['dispro']:.1f}x"
            ok = diffs[case] <= RTOL
            failed |= not ok
            print(f"| {case} | {rs[0]['version']} ({rs[0]['pandas']}) | {CASES[case][1]} | "
                  f"{med[case]:.3f} s ({len(rs)}) | {read:.2f} s | {peak:.0f} MiB | {above:.0f} MiB | {ratio} | "
                  f"{diffs[case]:.1e}{'' if ok else ' MISMATCH'} |")  # fmt: skip
        print("\nall times (s): " + "; ".join(
            f"{c} {[round(r['seconds'], 3) for r in runs[analysis, c]]}" for c in args.cases))  # fmt: skip
    if failed:
        raise SystemExit("some results differ from dispro's by more than 1e-12 (relative)")


if __name__ == "__main__":
    main()
