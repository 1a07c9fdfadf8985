"""What the report's sections share: the words for each stage's outcome, the columns shown of an
RRI table, the sentences written from one, and quarters in words."""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from ...ethnicity import NOT_STATED
from ..supply import NotSupplied, not_supplied_sentence
from ..wording import (
    change_moved,
    change_p,
    change_verdict,
    describe_change,
    describe_table,
    p_text,
    people,
    ratio_text,
)

__all__ = [
    "OUTCOME_WORDS",
    "RRI_SHOW",
    "area_changes",
    "compact_changes",
    "compact_sentences",
    "first_sentences",
    "population_words",
    "quarter_words",
    "when_supplied",
]

#: What each stage's rate counts, as a past participle phrase.
OUTCOME_WORDS = {
    "stop_search": "stopped and searched",
    "search_outcome": "subject to further action after a search",
    "out_of_court": "given an out-of-court disposal",
    "charge": "charged by the CPS",
    "custody": "sent to immediate custody",
}
#: The columns of an RRI table shown in the report.
RRI_SHOW = ["group", "events", "base", "rate", "rri", "ci_lower", "ci_upper", "q_value", "status"]


def first_sentences(table, params, outcome, by, *, shown=None, events=None) -> list[str]:
    """A sentence for each row of an RRI table (the reference and Not stated aside), prefixed
    with the row's ``by`` value when ``by`` is given. A row not ``shown`` in full (a withheld
    count, or one its ratio depends on) gets a sentence saying its figures are withheld.
    ``events``: what the rate counts when it is not people (:func:`describe_rri`)."""
    sentences = []
    text = describe_table(
        table,
        reference=params["reference"],
        outcome=outcome,
        alpha=params["alpha"],
        events=events,
    )
    shown = np.ones(len(table), dtype=bool) if shown is None else np.asarray(shown, dtype=bool)
    for i, (_, row) in enumerate(text.iterrows()):
        if row["kind"] in ("reference",) or row["group"] == NOT_STATED:
            continue
        prefix = f"{row[by]}: " if by else ""
        if not shown[i]:
            said = f"the figures for {people(row['group'])} are withheld, so that no small " \
                   "number of people can be identified."  # fmt: skip
            sentences.append(prefix + said if prefix else said[:1].upper() + said[1:])
            continue
        sentences.append(prefix + row["sentence"])
    return sentences


def quarter_words(label: str) -> str:
    """``"2024Q1"`` -> ``"January to March 2024"``."""
    quarter = pd.Period(label, freq="Q")
    first = quarter.asfreq("M", "start").strftime("%B")
    return f"{first} to {quarter.asfreq('M', 'end').strftime('%B %Y')}"


def when_supplied(what: str, heading: str | None = None, level: int = 3):
    """A section given a :class:`~dispro.report.supply.NotSupplied` record (its measure's field
    was not supplied) writes its heading and one sentence naming the field, and nothing else."""

    def wrap(section):
        @functools.wraps(section)
        def inner(ch, result, params, *args, **kwargs):
            if isinstance(result, NotSupplied):
                if heading:
                    ch.heading(heading, level=level)
                ch.text(not_supplied_sentence(what, result))
                return None
            return section(ch, result, params, *args, **kwargs)

        return inner

    return wrap


def population_words(table) -> str:
    """Which resident population a table of rates used (``attrs["population_source"]``, area ->
    source), in words: one source for all, or each area's."""
    sources = {a: s for a, s in (table.attrs.get("population_source") or {}).items() if s}
    if not sources:
        return "Census 2021 usual residents"
    if len(set(sources.values())) == 1:
        return f"Census 2021 usual residents ({next(iter(sources.values()))})"
    return (
        "Census 2021 usual residents (" + "; ".join(f"{a}: {s}" for a, s in sources.items()) + ")"
    )


def compact_sentences(table, params, outcome, by, *, shown=None, prefix=None) -> list[str]:
    """One sentence per ``by`` value of an RRI table (one for the whole table when ``by`` is
    None), in place of a sentence per group: the groups with a clear difference (with their
    relative rates), those without clear evidence of one, and those with too few cases or
    withheld figures (a row not ``shown`` in full is never quoted). ``prefix``: what the
    sentence starts with when ``by`` is None (e.g. the stage's name)."""
    reference = params["reference"]
    text = describe_table(table, reference=reference, outcome=outcome, alpha=params["alpha"])
    text["_shown"] = np.ones(len(table), dtype=bool) if shown is None else np.asarray(shown, bool)
    out = []
    slices = [(prefix, text)] if by is None else list(text.groupby(by, sort=False))
    for name, rows in slices:
        rows = rows[(rows["group"] != reference) & (rows["group"] != NOT_STATED)]
        clear = rows["_shown"] & rows["kind"].isin(("higher", "lower"))
        higher = [f"{g} ({ratio_text(float(r))})" for g, r, k in
                  zip(rows["group"][clear], rows["rri"][clear], rows["kind"][clear], strict=True)
                  if k == "higher"]  # fmt: skip
        lower = [f"{g} ({ratio_text(float(r))})" for g, r, k in
                 zip(rows["group"][clear], rows["rri"][clear], rows["kind"][clear], strict=True)
                 if k == "lower"]  # fmt: skip
        unclear = list(rows["group"][rows["_shown"] & (rows["kind"] == "no_clear_difference")])
        few = list(rows["group"][~rows["_shown"] | rows["kind"].isin(("too_few", "no_base"))])
        parts = []
        if higher:
            parts.append(
                f"more likely than {reference} people to be {outcome}: {', '.join(higher)}"
            )
        if lower:
            parts.append(f"less likely: {', '.join(lower)}")
        if unclear:
            parts.append(f"no clear evidence of a difference: {', '.join(unclear)}")
        if few:
            parts.append(
                f"too few cases to tell, no population figure, or withheld: {', '.join(few)}"
            )
        if parts:
            lead = f"{name}: " if name else ""
            said = " (relative rates in brackets)" if higher or lower else ""
            out.append(f"{lead}{'; '.join(parts)}{said}.")
    return out


def compact_changes(table, params, by: str | None, *, shown=None, since=None) -> list[str]:
    """One sentence per ``by`` value of a change table (:func:`dispro.stopsearch.change_since`)
    in place of a sentence per group, by :func:`dispro.report.wording.change_verdict`'s rule:
    the groups whose difference from the reference group has clearly grown, narrowed or
    reversed (with the relative rates), those with no clear evidence of a change, and those
    with too few cases or withheld figures (a row not ``shown`` in full is never quoted).
    ``since``: the comparison window when the table has no ``comparison_window``; ``by``
    None: one sentence for the whole table, led by "Since <since>"."""
    reference, alpha = params["reference"], params["alpha"]
    shown = np.ones(len(table), dtype=bool) if shown is None else np.asarray(shown, bool)
    out = []
    frame = table.reset_index(drop=True).assign(_shown=shown)
    slices = [(None, frame)] if by is None else list(frame.groupby(by, sort=False))
    for name, rows in slices:
        window = (rows["comparison_window"].iloc[0] if "comparison_window" in rows.columns
                  else since)  # fmt: skip
        clear, none, few = [], [], []
        for _, row in rows.iterrows():
            verdict = change_verdict(row, alpha) if row["_shown"] else "withheld"
            if verdict in ("grown", "narrowed", "reversed", "changed"):
                moved = change_moved(row)
                p, which = change_p(row)
                clear.append(
                    f"{verdict} for {row['group']} (relative rate {moved}; {p_text(p, which)})"
                )
            elif verdict == "none":
                none.append(str(row["group"]))
            else:
                few.append(str(row["group"]))
        parts = clear[:]
        if none:
            parts.append(f"no clear evidence of a change for {', '.join(none)}")
        if few:
            parts.append(f"too few cases to tell, or withheld, for {', '.join(few)}")
        lead = (f"Since {window}" if name is None else
                f"{name}, against {window}" if window else f"{name}")  # fmt: skip
        out.append(f"{lead}: the difference from {reference} people has {'; '.join(parts)}."
                   if clear else f"{lead}: {'; '.join(parts)}.")  # fmt: skip
    return out


def area_changes(ch, table, params, shown) -> None:
    """A pack's change table (:func:`dispro.stopsearch.scrutiny.quarter_changes` or
    :func:`dispro.oocd.oocd_changes`) in words: for each area a heading and one sentence per
    comparison (the previous quarter, a year earlier) by :func:`compact_changes`; a comparison
    with too few cases for every group gets one sentence. ``shown``: the rows published in
    full (``Chapter.shown_in_full``), indexed as ``table``."""
    for area in pd.unique(table["area"]):
        sentences = []
        for label, rows in table[table["area"] == area].groupby("compared_with", sort=False):
            since = f"{label}, {quarter_words(rows['earlier'].iloc[0])}"
            if (rows["status"] != "ok").all():  # one sentence, not one per group
                sentences.append(
                    describe_change(
                        {"status": "too_few"},
                        group="any group",
                        reference=params["reference"],
                        since=since,
                    )  # fmt: skip
                )
                continue
            sentences += compact_changes(rows, params, None, shown=shown[rows.index], since=since)
        ch.heading(area, level=4)
        ch.bullets(sentences)
