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

__all__ = [
    "describe_rri",
    "describe_table",
    "describe_change",
    "confidence_level",
    "change_moved",
    "change_p",
    "change_verdict",
    "agreeing_decimals",
    "interval_text",
    "p_text",
    "people",
    "ratio_text",
    "KINDS",
]

#: The kinds of sentence :func:`describe_rri` writes (``kind`` in :func:`describe_table`).
KINDS = ("higher", "lower", "no_clear_difference", "too_few", "no_base", "reference")


def confidence_level(alpha: float) -> str:
    """The confidence level of intervals at significance level ``alpha``, in words.

    Examples
    --------
    >>> confidence_level(0.05), confidence_level(0.1), confidence_level(0.025)
    ('95%', '90%', '97.5%')
    """
    return f"{round(100 * (1 - float(alpha)), 6):g}%"


def ratio_text(x: float) -> str:
    """A ratio in prose: whole numbers from 10, one decimal from 1, two significant figures
    below 1 (the one rule of every sentence of the report).

    Examples
    --------
    >>> ratio_text(12.34), ratio_text(3.63), ratio_text(0.912), ratio_text(float("nan"))
    ('12', '3.6', '0.91', 'n/a')
    """
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    x = float(x)
    return f"{x:.{_ratio_decimals(x)}f}"


def _ratio_decimals(x: float) -> int:
    if x >= 10:
        return 0
    if x >= 1:
        return 1
    if x <= 0:
        return 2
    return max(2, 1 - math.floor(math.log10(x)))  # two significant figures


def agreeing_decimals(lo: float, hi: float, decimals: tuple[int, int], null: float = 1.0):
    """The decimals to print an interval's bounds with so that the printed interval excludes
    ``null`` exactly when the interval does: ``decimals`` (lower, upper) as the table or sentence
    prints them, more where a bound beyond ``null`` would print as ``null`` or across it (a
    lower bound of 1.004 as "1.00"). Rounding keeps order, so a bound on ``null``'s side never
    needs more. At most 12 decimals.

    Examples
    --------
    >>> agreeing_decimals(1.004, 1.2, (2, 2)), agreeing_decimals(0.98, 1.2, (2, 2))
    ((3, 2), (2, 2))
    >>> agreeing_decimals(0.5, 0.9996, (2, 2))
    (2, 4)
    """
    dlo, dhi = decimals
    try:
        lo, hi = float(lo), float(hi)
    except (TypeError, ValueError):
        return dlo, dhi
    if math.isfinite(lo) and lo > null:
        while dlo < 12 and round(lo, dlo) <= null:
            dlo += 1
    if math.isfinite(hi) and hi < null:
        while dhi < 12 and round(hi, dhi) >= null:
            dhi += 1
    return dlo, dhi


def interval_text(lo: float, hi: float, *, null: float = 1.0) -> str:
    """An interval in prose, "lo to hi", each bound by :func:`ratio_text`'s rule with the
    decimals :func:`agreeing_decimals` adds, so that "1.0 to 1.2" is never called a clear
    difference.

    Examples
    --------
    >>> interval_text(1.04, 1.2), interval_text(0.98, 1.2), interval_text(3.45, 3.83)
    ('1.04 to 1.2', '0.98 to 1.2', '3.5 to 3.8')
    """
    if any(v is None or (isinstance(v, float) and math.isnan(v)) for v in (lo, hi)):
        return f"{ratio_text(lo)} to {ratio_text(hi)}"
    lo, hi = float(lo), float(hi)
    dlo, dhi = agreeing_decimals(lo, hi, (_ratio_decimals(lo), _ratio_decimals(hi)), null)
    return f"{lo:.{dlo}f} to {hi:.{dhi}f}"


def p_text(p: float, name: str = "p") -> str:
    """A p or q value in prose: ``p < 0.001`` when small, else three decimals (never
    ``0.00``).

    Examples
    --------
    >>> p_text(0.00002, "q"), p_text(0.0456), p_text(0.4)
    ('q < 0.001', 'p = 0.046', 'p = 0.400')
    """
    p = float(p)
    return f"{name} < 0.001" if p < 0.001 else f"{name} = {p:.3f}"


#: How the government's style for writing about ethnicity names people of each group (the
#: rest: "<group> people").
_PEOPLE = {
    "Mixed": "{population} from the Mixed ethnic group",
    "Other": "{population} from the Other ethnic group",
    "Not stated": "{population} whose ethnicity was not stated",
}


def _between(group: str, reference: str) -> str:
    """ "Black and White people"; "people from the Mixed ethnic group and White people"."""
    a, b = people(group), people(reference)
    if a == f"{group} people" and b == f"{reference} people":
        return f"{group} and {reference} people"
    return f"{a} and {b}"


def people(group: str, population: str = "people") -> str:
    """People of ``group`` as government style writes them: "Black people", "people from the
    Mixed ethnic group", never "Mixed people" or "Other people".

    Examples
    --------
    >>> people("Black"), people("Mixed"), people("Other", "residents")
    ('Black people', 'people from the Mixed ethnic group', 'residents from the Other ethnic group')
    """
    group = str(group)
    if group in _PEOPLE:
        return _PEOPLE[group].format(population=population)
    return f"{group} {population}"


def describe_rri(
    row,
    *,
    reference: str,
    outcome: str,
    level: float = 0.95,
    population: str = "people",
    events: str | None = None,
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
    events : str, optional
        What the rate counts when it is not people (``"uses of force"``: one person may be
        counted many times): the "for every 100" clause then counts these, not people.
    """
    group = str(row["group"])
    status = str(row["status"])
    pct = confidence_level(1 - level)
    them, ref = people(group, population), people(reference, population)
    if group == reference:
        return f"{ref[:1].upper()}{ref[1:]} are the reference group.", "reference"
    if status == "no_base":
        return (
            f"A rate for {them} cannot be calculated: there is no population or base "
            "figure for them.",
            "no_base",
        )
    if status in ("suppressed", "too_few", "zero_events", "reference_zero"):
        return (
            f"There are too few cases to tell whether {them} were more or less likely "
            f"than {ref} to be {outcome}.",
            "too_few",
        )
    rri, lo, hi = float(row["rri"]), float(row["ci_lower"]), float(row["ci_upper"])
    interval = f"({pct} confidence interval {interval_text(lo, hi)})"
    significant = row["significant"] is True or (
        not pd.isna(row["significant"]) and bool(row["significant"])
    )
    excludes_one = lo > 1 or hi < 1
    if not (significant and excludes_one):
        allowing = (
            ", once the number of comparisons in this report is allowed for" if excludes_one else ""
        )
        return (
            f"There is no clear evidence of a difference between {them} and {ref} "
            f"in how likely they were to be {outcome}{allowing} (relative rate "
            f"{ratio_text(rri)} {interval}).",
            "no_clear_difference",
        )
    per100 = round(100 * rri)
    if events:  # the rate counts events (tactics), not people
        every = (f"for every 100 {events} on {ref}, there were {per100:,} on {them}, relative "
                 "to their numbers. This is a disproportionate difference.")  # fmt: skip
        how = (f"{ratio_text(rri)} times as often as" if rri > 1
               else "less often than")  # fmt: skip
        return (
            f"{them[:1].upper()}{them[1:]} were {outcome} {how} {ref}, relative to their numbers "
            f"(relative rate {ratio_text(rri)} {interval}): {every}",
            "higher" if rri > 1 else "lower",
        )
    if rri > 1:
        return (
            f"{them[:1].upper()}{them[1:]} were {ratio_text(rri)} times as likely as {ref} to "
            f"be {outcome} {interval}: for every 100 {ref} {outcome}, "
            f"{per100} {them} were, relative to their numbers. This is a "
            "disproportionate difference.",
            "higher",
        )
    return (
        f"{them[:1].upper()}{them[1:]} were less likely than {ref} to be {outcome} "
        f"(relative rate {ratio_text(rri)} {interval}): for every 100 {ref} "
        f"{outcome}, {per100} {them} were, relative to their numbers. This is a "
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
    events: str | None = None,
) -> pd.DataFrame:
    """:func:`describe_rri` for every row: the table's key columns plus ``sentence`` and ``kind``."""
    out = []
    for _, row in table.iterrows():
        sentence, kind = describe_rri(
            row,
            reference=reference,
            outcome=outcome,
            level=1 - alpha,
            population=population,
            events=events,
        )
        out.append((sentence, kind))
    result = table.copy()
    result["sentence"] = [s for s, _ in out]
    result["kind"] = [k for _, k in out]
    return result


#: Row statuses of a change test that mean too few cases to test (see :func:`describe_change`).
_TOO_FEW = ("suppressed", "too_few", "zero_events", "reference_zero")


def change_p(row) -> tuple[float, str]:
    """The p value a change row is judged on: its q value where it has one."""
    p, name = float(row.get("p_value", float("nan"))), "p"
    q = row.get("q_value", float("nan"))
    if q is not None and not pd.isna(q):
        p, name = float(q), "q"
    return p, name


def change_moved(row) -> str:
    """How a change row's relative rate moved, in words: "from 2.0 to 4.0" where the row has
    both relative rates (``earlier_rri``, ``latest_rri``, above 0), else "2.0 times what it
    was" (``estimate``, the ratio of the two)."""
    before, after = row.get("earlier_rri", float("nan")), row.get("latest_rri", float("nan"))
    if not (before is None or after is None or pd.isna(before) or pd.isna(after)):
        if before > 0 and after > 0:
            return f"from {ratio_text(before)} to {ratio_text(after)}"
    return f"{ratio_text(row.get('estimate', float('nan')))} times what it was"


def change_verdict(row, alpha: float = 0.05) -> str:
    """What a change test row says (the rule of :func:`describe_change`): ``"too_few"``,
    ``"untestable"``, ``"none"`` (no clear evidence of a change), or for a clear change
    ``"grown"``, ``"narrowed"``, ``"reversed"`` or ``"changed"``."""
    if str(row.get("status", "ok")) in _TOO_FEW:
        return "too_few"
    p, _ = change_p(row)
    if math.isnan(p):
        return "untestable"
    lo, hi = row.get("ci_lower", float("nan")), row.get("ci_upper", float("nan"))
    includes_one = not (pd.isna(lo) or pd.isna(hi)) and float(lo) <= 1 <= float(hi)
    decided = row.get("significant", None)
    clear = bool(decided) if decided is not None and not pd.isna(decided) else None
    if clear is None:
        clear = p < alpha and not includes_one
    if not clear:
        return "none"
    est = row.get("estimate", float("nan"))
    direction = "grown" if est > 1 else "narrowed" if est < 1 else "changed"
    before, after = row.get("earlier_rri", float("nan")), row.get("latest_rri", float("nan"))
    if not (pd.isna(before) or pd.isna(after)) and before > 0 and after > 0:
        before, after = float(before), float(after)
        # the gap is the distance of the relative rate from 1 (on the log scale)
        if (before - 1) * (after - 1) < 0:
            return "reversed"
        return "grown" if abs(math.log(after)) > abs(math.log(before)) else "narrowed"
    return direction


def describe_change(row, *, group: str, reference: str, since: str, alpha: float = 0.05) -> str:
    """A sentence about a change test row (from :func:`dispro.stopsearch.trend_test`).

    The change is called clear when the row's ``significant`` (the library's decision) is True;
    a row without one is clear only when the test's p-value, or its ``q_value`` (a
    multiple-testing correction over the table) where the row has one, is below ``alpha`` and
    the interval of ``estimate`` (``ci_lower``, ``ci_upper``), where the row has one, excludes 1.
    A row whose ``status`` is one of ``suppressed``, ``too_few``, ``zero_events`` or
    ``reference_zero`` gets "too few cases to tell". With ``earlier_rri`` and ``latest_rri`` in
    the row, "grown" and "narrowed" say whether the relative rate moved away from or towards 1
    (on the log scale), and "reversed" that it crossed 1; without them, whether ``estimate`` (the
    ratio of the relative rates) is above or below 1.

    Examples
    --------
    >>> describe_change({"p_value": 0.4, "estimate": 1.1}, group="Black", reference="White",
    ...                 since="2022")
    'There is no clear evidence that the difference between Black and White people has changed since 2022 (p = 0.400).'
    >>> describe_change({"status": "too_few", "p_value": float("nan")}, group="Black",
    ...                 reference="White", since="the previous quarter")
    'There are too few cases to tell whether the difference between Black and White people has changed since the previous quarter.'
    """
    verdict = change_verdict(row, alpha)
    if verdict == "too_few":
        return (
            f"There are too few cases to tell whether the difference between "
            f"{_between(group, reference)} has changed since {since}."
        )
    p, name = change_p(row)
    if verdict == "untestable":
        return f"Whether the difference between {_between(group, reference)} changed since {since} cannot be tested."
    if verdict != "none":
        moved = change_moved(row)
        verb = "went" if moved.startswith("from ") else "is"
        return (
            f"The difference between {_between(group, reference)} has {verdict} since {since} "
            f"(the relative rate {verb} {moved}; {p_text(p, name)})."
        )
    return (
        f"There is no clear evidence that the difference between {_between(group, reference)} "
        f"has changed since {since} ({p_text(p, name)})."
    )
