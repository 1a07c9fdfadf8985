"""Plain-English sentences written from result tables, by rules a board can trust.

- A difference is called disproportionate only when its interval excludes 1 and the row is
  ``significant`` under the table's multiple-testing rule (stated in the report).
- "No clear evidence of a difference" (enough cases, interval includes 1) and "too few cases to
  tell" (suppressed, too few, zero events, no reference events) are different sentences.
- Every ratio is also said as "for every 100 White people ..., N Black people ...".
- Numbers come from the table passed in, never recomputed.
"""

from __future__ import annotations

import math

import pandas as pd

__all__ = ["describe_rri", "describe_table", "describe_change", "KINDS"]

#: The kinds of sentence :func:`describe_rri` writes (``kind`` in :func:`describe_table`).
KINDS = ("higher", "lower", "no_clear_difference", "too_few", "no_base", "reference")


def _fmt(x: float) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if x >= 10:
        return f"{x:.0f}"
    if x >= 1:
        return f"{x:.1f}" if round(x, 1) != round(x) or x < 2 else f"{x:.1f}"
    return f"{x:.2f}"


def describe_rri(
    row, *, reference: str, outcome: str, level: float = 0.95, population: str = "people"
) -> tuple[str, str]:
    """One sentence about one RRI row, and its kind (one of :data:`KINDS`).

    Parameters
    ----------
    row : mapping or Series
        A row of an RRI table (``group``, ``rri``, ``ci_lower``, ``ci_upper``, ``significant``,
        ``status``).
    reference : str
        The reference group's name.
    outcome : str
        What the rate counts, as a past participle phrase: ``"stopped and searched"``,
        ``"sent to immediate custody"``.
    level : float
        The confidence level the intervals have (``1 - alpha``).
    """
    group = str(row["group"])
    status = str(row["status"])
    pct = f"{level * 100:.0f}%"
    if group == reference:
        return f"{reference} {population} are the reference group.", "reference"
    if status == "no_base":
        return (
            f"A rate for {group} {population} cannot be calculated: there is no population or base "
            "figure for them.",
            "no_base",
        )
    if status in ("suppressed", "too_few", "zero_events", "reference_zero"):
        return (
            f"There are too few cases to tell whether {group} {population} were more or less likely "
            f"than {reference} {population} to be {outcome}.",
            "too_few",
        )
    rri, lo, hi = float(row["rri"]), float(row["ci_lower"]), float(row["ci_upper"])
    interval = f"({pct} confidence interval {_fmt(lo)} to {_fmt(hi)})"
    significant = row["significant"] is True or (
        not pd.isna(row["significant"]) and bool(row["significant"])
    )
    excludes_one = lo > 1 or hi < 1
    if not (significant and excludes_one):
        allowing = (
            ", once the number of comparisons in this report is allowed for" if excludes_one else ""
        )
        return (
            f"There is no clear evidence of a difference between {group} and {reference} "
            f"{population} in how likely they were to be {outcome}{allowing} (relative rate "
            f"{_fmt(rri)} {interval}).",
            "no_clear_difference",
        )
    per100 = round(100 * rri)
    if rri > 1:
        return (
            f"{group} {population} were {_fmt(rri)} times as likely as {reference} {population} to "
            f"be {outcome} {interval}: for every 100 {reference} {population} {outcome}, "
            f"{per100} {group} {population} were, relative to their numbers. This is a "
            "disproportionate difference.",
            "higher",
        )
    return (
        f"{group} {population} were less likely than {reference} {population} to be {outcome} "
        f"(relative rate {_fmt(rri)} {interval}): for every 100 {reference} {population} "
        f"{outcome}, {per100} {group} {population} were, relative to their numbers. This is a "
        "disproportionate difference.",
        "lower",
    )


def describe_table(
    table: pd.DataFrame,
    *,
    reference: str,
    outcome: str,
    alpha: float = 0.05,
    population: str = "people",
) -> pd.DataFrame:
    """:func:`describe_rri` for every row: the table's key columns plus ``sentence`` and ``kind``."""
    out = []
    for _, row in table.iterrows():
        sentence, kind = describe_rri(
            row, reference=reference, outcome=outcome, level=1 - alpha, population=population
        )
        out.append((sentence, kind))
    result = table.copy()
    result["sentence"] = [s for s, _ in out]
    result["kind"] = [k for _, k in out]
    return result


def describe_change(row, *, group: str, reference: str, since: str, alpha: float = 0.05) -> str:
    """A sentence about a change test row (from :func:`dispro.stopsearch.trend_test`)."""
    p = float(row["p_value"])
    if math.isnan(p):
        return f"Whether the difference between {group} and {reference} people changed since {since} cannot be tested."
    if p < alpha:
        est = row.get("estimate", float("nan"))
        direction = "grown" if est > 1 else "narrowed" if est < 1 else "changed"
        return (
            f"The difference between {group} and {reference} people has {direction} since {since} "
            f"(the relative rate is {_fmt(est)} times what it was; p = {p:.3f})."
        )
    return (
        f"There is no clear evidence that the difference between {group} and {reference} people "
        f"has changed since {since} (p = {p:.2f})."
    )
