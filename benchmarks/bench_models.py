"""Benchmark: dispro's adjusted logistic regression (collapsed cells) against statsmodels ``Logit``
on the raw records (one-hot design), on 1,000,000 and 5,000,000 synthetic sentencing records with
five categorical controls.

Each case runs in a fresh subprocess, so its peak memory (``ru_maxrss``) is its own. A worker
imports dispro and statsmodels, builds the records (categorical columns, as a validated extract
would hold them), notes its memory, then times one case (imports are not timed):

- ``dispro``: ``dispro.models.logistic(records, outcome="custody", controls=[5 controls])``, the
  whole call: outcome, missing-value checks, collapsing to cells, the separation check, the fit,
  and adjusted risk ratios by marginal standardisation with delta-method intervals;
- ``logit``: building the one-hot design (``pd.get_dummies`` with the same reference levels, plus
  an intercept) and fitting ``statsmodels.api.Logit`` on it (Newton, statsmodels' defaults);
- ``sklearn``: building the same one-hot design (without the intercept column: scikit-learn fits
  its own) and fitting scikit-learn's unpenalised ``LogisticRegression`` on it (``C=np.inf``, the
  spelling of ``penalty=None`` since scikit-learn 1.8; ``solver="newton-cholesky"`` by default,
  ``tol=1e-10``, ``max_iter=1000``). It gives coefficients only, no standard errors.

The parent compares the coefficients (and, for ``Logit``, the standard errors) with dispro's and
prints one line per case plus a Markdown table for docs/performance.md. Times are the best of the
runs of each case, and the median is printed beside them. Not a test: nothing here asserts a time.

Run: ``PYTHONPATH=src .venv/bin/python benchmarks/bench_models.py`` (``--sizes 1000000 5000000
--repeat 3 --blas-threads 1``; ``--help`` for the rest).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time

import numpy as np
import pandas as pd

GROUPS = ["White", "Black", "Asian", "Mixed", "Other", "Not stated"]
GROUP_SHARES = [0.74, 0.07, 0.08, 0.04, 0.03, 0.04]
CONTROLS = {
    "sex": (["Male", "Female"], [0.85, 0.15], [0.4, 0.0]),
    "age_band": (
        ["10-17", "18-20", "21-24", "25-29", "30-39", "40-49", "50-59", "60+"],
        [0.04, 0.09, 0.13, 0.17, 0.28, 0.17, 0.09, 0.03],
        [-1.0, -0.3, 0.0, 0.1, 0.1, 0.0, -0.2, -0.5],
    ),
    "offence_group": (
        [
            "violence_against_the_person", "sexual_offences", "robbery", "theft_offences",
            "criminal_damage_and_arson", "drug_offences", "possession_of_weapons",
            "public_order_offences", "miscellaneous_crimes_against_society", "fraud_offences",
            "summary_non_motoring", "summary_motoring",
        ],
        [0.14, 0.03, 0.02, 0.20, 0.04, 0.10, 0.04, 0.06, 0.05, 0.03, 0.15, 0.14],
        [0.8, 1.8, 2.0, 0.3, -0.2, 0.5, 0.7, -0.1, 0.2, 0.6, -1.5, -2.0],
    ),
    "plea": (["guilty", "not_guilty", "no_plea"], [0.72, 0.18, 0.10], [0.0, 0.5, 0.2]),
    "previous_convictions": (
        ["0", "1-2", "3-6", "7-10", "11-14", "15+"],
        [0.30, 0.22, 0.18, 0.12, 0.08, 0.10],
        [-0.8, -0.4, 0.0, 0.3, 0.5, 0.8],
    ),
}  # fmt: skip
GROUP_LOG_OR = [0.0, 0.22, 0.10, 0.05, -0.05, 0.0]


def make_records(n: int, seed: int = 2026) -> pd.DataFrame:
    """n sentencing-like records: ethnicity, five categorical controls, a boolean custody."""
    rng = np.random.default_rng(seed)
    g = rng.choice(len(GROUPS), n, p=GROUP_SHARES).astype(np.int8)
    eta = -1.2 + np.asarray(GROUP_LOG_OR)[g]
    columns = {"ethnicity": pd.Categorical.from_codes(g, GROUPS)}
    for name, (levels, shares, effects) in CONTROLS.items():
        codes = rng.choice(len(levels), n, p=shares).astype(np.int8)
        eta += np.asarray(effects)[codes]
        columns[name] = pd.Categorical.from_codes(codes, levels)
    columns["custody"] = rng.random(n) < 1 / (1 + np.exp(-eta))
    del eta
    return pd.DataFrame(columns)


def _rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def one_hot(records: pd.DataFrame, controls: list[str], *, intercept: bool):
    """The one-hot design with dispro's reference levels (White, and each control's most frequent
    level), as a float64 matrix, with names ``variable|level``."""
    n = len(records)
    columns, names = ([np.ones(n)], ["Intercept|"]) if intercept else ([], [])
    refs = {"ethnicity": "White"}
    for c in controls:
        counts = records[c].value_counts()
        refs[c] = str(sorted(counts.index[counts == counts.max()])[0])
    for c in ["ethnicity", *controls]:
        dummies = pd.get_dummies(records[c], dtype=np.float64)
        for level in dummies.columns:
            if str(level) != refs[c]:
                columns.append(dummies[level].to_numpy())
                names.append(f"{c}|{level}")
        del dummies
    X = np.column_stack(columns)
    del columns
    return X, names


def worker(case: str, n: int, solver: str = "newton-cholesky") -> dict:
    import warnings

    import statsmodels.api as sm

    from dispro import models

    records = make_records(n)
    controls = list(CONTROLS)
    rss_before = _rss_mib()
    peak_before = _peak_mib()
    t0 = time.perf_counter()
    if case == "dispro":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = models.logistic(records, outcome="custody", controls=controls)
        elapsed = time.perf_counter() - t0
        table = fit.table
        coef = {
            f"{v}|{'' if pd.isna(lv) else lv}": float(np.log(e))
            for v, lv, e in zip(table["variable"], table["level"], table["estimate"], strict=True)
        }
        se = {
            f"{v}|{'' if pd.isna(lv) else lv}": float(s)
            for v, lv, s in zip(table["variable"], table["level"], table["std_error"], strict=True)
        }
        extra = {"cells": int(fit.info["rows_fitted"]), "reference": fit.info["control_reference"]}
    elif case == "logit":
        X, names = one_hot(records, controls, intercept=True)
        y = records["custody"].to_numpy(dtype=np.float64)
        res = sm.Logit(y, X).fit(disp=0)
        elapsed = time.perf_counter() - t0
        coef = dict(zip(names, map(float, res.params), strict=True))
        se = dict(zip(names, map(float, res.bse), strict=True))
        extra = {"iterations": int(res.mle_retvals.get("iterations", -1))}
    elif case == "sklearn":
        from sklearn.linear_model import LogisticRegression

        X, names = one_hot(records, controls, intercept=False)
        y = records["custody"].to_numpy()
        lr = LogisticRegression(C=np.inf, solver=solver, tol=1e-10, max_iter=1000)
        lr.fit(X, y)
        elapsed = time.perf_counter() - t0
        coef = {"Intercept|": float(lr.intercept_[0])}
        coef.update(zip(names, map(float, lr.coef_[0]), strict=True))
        se = {}
        extra = {"iterations": int(np.max(lr.n_iter_)), "solver": solver}
    else:
        raise SystemExit(f"unknown case {case!r}")
    return {
        "case": case, "n": n, "seconds": elapsed, "peak_mib": _peak_mib(),
        "peak_before_mib": peak_before, "rss_before_mib": rss_before, "coef": coef, "se": se,
        **extra,
    }  # fmt: skip


def run(
    case: str, n: int, blas_threads: int | None = None, solver: str = "newton-cholesky"
) -> dict:
    env = dict(os.environ)
    if blas_threads:
        env.update(OPENBLAS_NUM_THREADS=str(blas_threads), OMP_NUM_THREADS=str(blas_threads))
    out = subprocess.run(
        [sys.executable, __file__, "--worker", case, str(n), "--solver", solver],
        check=True, capture_output=True, text=True, env=env,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 5_000_000])
    parser.add_argument("--repeat", type=int, default=3, help="runs of each case (best is kept)")
    parser.add_argument("--logit-repeat", type=int, default=1, help="runs of the raw Logit")
    parser.add_argument(
        "--sklearn-repeat", type=int, default=1, help="runs of scikit-learn's LogisticRegression"
    )
    parser.add_argument(
        "--sklearn-solver",
        default="newton-cholesky",
        choices=["newton-cholesky", "lbfgs"],
        help="solver of scikit-learn's LogisticRegression",
    )
    parser.add_argument(
        "--blas-threads",
        type=int,
        default=None,
        help="BLAS threads in the workers (OPENBLAS_NUM_THREADS); default: the library's own",
    )
    parser.add_argument("--worker", nargs=2, metavar=("CASE", "N"), help=argparse.SUPPRESS)
    parser.add_argument("--solver", default="newton-cholesky", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker[0], int(args.worker[1]), args.solver)))
        return
    print(f"# {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"pandas {pd.__version__}, numpy {np.__version__}; BLAS threads "
          f"{args.blas_threads or 'default'}; load average {os.getloadavg()}")  # fmt: skip
    rows = []
    cases = (
        ("dispro", args.repeat),
        ("logit", args.logit_repeat),
        ("sklearn", args.sklearn_repeat),
    )
    for n in args.sizes:
        results = {}
        for case, reps in cases:
            runs = [run(case, n, args.blas_threads, args.sklearn_solver) for _ in range(reps)]
            best = min(runs, key=lambda r: r["seconds"])
            best["all_seconds"] = [round(r["seconds"], 3) for r in runs]
            best["median"] = float(np.median([r["seconds"] for r in runs]))
            results[case] = best
            print(f"{case:7s} n={n:>9,}: best {best['seconds']:8.3f} s, median {best['median']:.3f} s "
                  f"of {best['all_seconds']}; peak RSS {best['peak_mib']:8.0f} MiB (records alone "
                  f"{best['rss_before_mib']:.0f} MiB, peak while building them "
                  f"{best['peak_before_mib']:.0f} MiB)", flush=True)  # fmt: skip
        d, lg, sk = results["dispro"], results["logit"], results["sklearn"]
        keys = sorted(d["coef"])
        assert keys == sorted(lg["coef"]) == sorted(sk["coef"]), (keys, sorted(lg["coef"]))
        dcoef = max(abs(d["coef"][k] - lg["coef"][k]) for k in keys)
        dse = max(abs(d["se"][k] - lg["se"][k]) for k in keys)
        dsk = max(abs(d["coef"][k] - sk["coef"][k]) for k in keys)
        speedup = lg["seconds"] / d["seconds"]
        speedup_sk = sk["seconds"] / d["seconds"]
        print(f"  {len(keys)} coefficients, {d['cells']:,} cells: Logit max |Δ coef| {dcoef:.2e}, "
              f"max |Δ SE| {dse:.2e}, speed-up {speedup:.0f}x; scikit-learn ({sk['solver']}, "
              f"{sk['iterations']} iterations) max |Δ coef| {dsk:.2e}, speed-up {speedup_sk:.0f}x",
              flush=True)  # fmt: skip
        rows.append((n, d, lg, sk, dcoef, dse, dsk, speedup, speedup_sk))
    print(f"# load average at the end {os.getloadavg()}")
    print(
        "\n| records | cells | dispro `logistic` | peak RSS | statsmodels `Logit` (one-hot) | peak RSS "
        "| speed-up | max abs diff coef / SE | scikit-learn `LogisticRegression` (one-hot) | peak RSS "
        "| speed-up | max abs diff coef |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---|")
    for n, d, lg, sk, dcoef, dse, dsk, speedup, speedup_sk in rows:
        print(f"| {n:,} | {d['cells']:,} | {d['seconds']:.3f} s | {d['peak_mib'] / 1024:.2f} GiB | "
              f"{lg['seconds']:.1f} s | {lg['peak_mib'] / 1024:.2f} GiB | {speedup:.0f}x | "
              f"{dcoef:.1e} / {dse:.1e} | {sk['seconds']:.2f} s | {sk['peak_mib'] / 1024:.2f} GiB | "
              f"{speedup_sk:.0f}x | {dsk:.1e} |")  # fmt: skip


if __name__ == "__main__":
    main()
