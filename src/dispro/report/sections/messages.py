"""The report's key messages: three to five sentences written from the pathway matrix by the
wording rules (:mod:`dispro.report.wording`), for the first page.

Where along the pathway the largest and the clearest differences arise, where there is no clear
evidence of one, and what cannot be told (too few cases, figures withheld). Only rows published
in full are quoted; a withheld row is counted, never described.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ...ethnicity import NOT_STATED
from ..wording import (
    change_moved,
    change_verdict,
    confidence_level,
    describe_table,
    interval_text,
    people,
    ratio_text,
)
from ._common import OUTCOME_WORDS

__all__ = ["change_message", "key_messages", "things_to_know"]

_CLEAR = ("higher", "lower")


def _lower(label: str) -> str:
    """A stage's label inside a sentence: 'Stop and search' -> 'stop and search', but 'CPS ...'
    keeps its capitals."""
    first = label.split()[0] if label.split() else ""
    return label if first.isupper() else label[:1].lower() + label[1:]


_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


def _words(n: int) -> str:
    """A small number in words (a number of stages is not a count of people)."""
    return _WORDS[n] if 0 <= n < len(_WORDS) else str(n)


def _listing(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def key_messages(
    matrix: pd.DataFrame, params: dict, shown=None, *, change=None, change_shown=None
) -> list[str]:
    """Three to five sentences about the pathway matrix (:func:`dispro.pathway.area_matrix`).

    Parameters
    ----------
    matrix : DataFrame
        The pathway matrix: ``stage``, ``label``, ``group``, ``rri``, ``ci_lower``,
        ``ci_upper``, ``significant``, ``status``.
    params : dict
        The report parameters (``reference``, ``alpha``).
    shown : array of bool, optional
        The rows published in full (``Chapter.shown_in_full``); other rows are counted as
        withheld and never quoted.
    change, change_shown : DataFrame and array of bool, optional
        The stop-and-search change table (:func:`dispro.stopsearch.change.change_since`) and its
        rows published in full: what changed (:func:`change_message`).
    """
    reference, alpha = params["reference"], params["alpha"]
    level = confidence_level(alpha)
    if matrix.empty:
        return ["No stage of the pathway has figures for this area and period."]
    shown = np.ones(len(matrix), bool) if shown is None else np.asarray(shown, dtype=bool)
    rows = []
    for (stage, _label), part in matrix.groupby(["stage", "label"], sort=False):
        outcome = OUTCOME_WORDS.get(stage)
        if outcome is None:  # a ratio of means (sentence length): described in its chapter
            continue
        text = describe_table(part, reference=reference, outcome=outcome, alpha=alpha)
        text["shown"] = shown[matrix.index.get_indexer(part.index)]
        rows.append(text.assign(outcome=outcome))
    if not rows:
        return ["No stage of the pathway has figures for this area and period."]
    table = pd.concat(rows)
    table = table[(table["group"] != reference) & (table["group"] != NOT_STATED)]
    stages = list(pd.unique(table["label"]))
    clear = table[table["kind"].isin(_CLEAR) & table["shown"]]
    out = []
    if len(clear):
        size = clear["rri"].astype(float).map(lambda r: abs(math.log(r)))
        top = clear.loc[size.idxmax()] if size.index.is_unique else clear.iloc[int(np.argmax(size))]
        how = (
            f"{ratio_text(float(top['rri']))} times as likely as {reference} people"
            if float(top["rri"]) > 1
            else f"less likely than {reference} people (relative rate {ratio_text(float(top['rri']))})"
        )
        out.append(
            f"The largest difference is at {_lower(str(top['label']))}: {people(top['group'])} "
            f"were {how} to be {top['outcome']} ({level} confidence interval "
            f"{interval_text(float(top['ci_lower']), float(top['ci_upper']))})."
        )
        where = [
            f"{_lower(label)} ({', '.join(part['group'])})"
            for label, part in clear.groupby("label", sort=False)
        ]
        out.append(
            f"Clear differences from {reference} people, after allowing for the number of "
            f"comparisons, are found at {_words(len(where))} of the {_words(len(stages))} "
            f"stages: {_listing(where)}."
        )
    else:
        out.append(
            f"At no stage is there clear evidence that any group was treated differently from "
            f"{reference} people, once the number of comparisons is allowed for."
        )
    quiet = [
        _lower(label)
        for label, part in table.groupby("label", sort=False)
        if (part["kind"] == "no_clear_difference").all()
    ]
    quiet_said = None
    if quiet and len(clear):
        quiet_said = (
            f"At {_listing(quiet)} there is no clear evidence of a difference for any group."
        )
        out.append(quiet_said)
    few = table[table["shown"] & table["kind"].isin(("too_few", "no_base"))]
    if len(few) or not table["shown"].all():
        named = [
            f"{', '.join(part['group'])} at {_lower(label)}"
            for label, part in few.groupby("label", sort=False)
        ]
        said = []
        if named:
            said.append(
                f"there are too few cases (or no population figure) to tell for {_listing(named)}"
            )
        if not table["shown"].all():
            said.append("some figures are withheld to protect confidentiality")
        out.append(f"No conclusion is drawn where {' and '.join(said)}.")
    changed = change_message(change, params, change_shown)
    if changed:  # what changed; at five messages, the stages without a difference give way
        out.append(changed)
        if len(out) > 4 and quiet_said in out:
            out.remove(quiet_said)
    out.append(
        "These figures show whether groups were treated differently relative to their numbers; "
        "they do not by themselves show why, and no causal link can be drawn from them."
    )
    return out[:5]


def change_message(change, params: dict, shown=None) -> str | None:
    """What changed in stop and search (the change table of
    :func:`dispro.stopsearch.change.change_since`, by force), by
    :func:`dispro.report.wording.change_verdict`: the clear changes with their forces and
    relative rates, or that there is no clear evidence of a change; None without a table. A row
    not ``shown`` in full is never quoted."""
    if change is None or len(change) == 0:
        return None
    shown = np.ones(len(change), bool) if shown is None else np.asarray(shown, dtype=bool)
    rows = change.reset_index(drop=True)[shown]
    if rows.empty:
        return None
    window = (f"{rows['latest_window'].iloc[0]} with {rows['comparison_window'].iloc[0]}"
              if {"comparison_window", "latest_window"} <= set(rows.columns)
              else f"the latest 12 months with {params['comparison_start']} to "
              f"{params['comparison_end']}")  # fmt: skip
    clear = []
    for _, row in rows.iterrows():
        verdict = change_verdict(row, params["alpha"])
        if verdict in ("grown", "narrowed", "reversed", "changed"):
            moved = change_moved(row)
            clear.append(f"{verdict} for {people(row['group'])} in {row['force']} "
                         f"(relative rate {moved})")  # fmt: skip
    reference = params["reference"]
    if not clear:
        return (
            f"Comparing {window}, there is no clear evidence that any group's difference from "
            f"{reference} people in stop and search changed."
        )
    return (
        f"Comparing {window}, the difference from {reference} people in stop and search has "
        f"{_listing(clear)}."
    )


def things_to_know(params: dict) -> list[str]:
    """ "Things you need to know", straight after the key messages: what the figures can and
    cannot say (residents are not the population at risk, ethnicity not stated, synthetic or
    real data, the multiple-testing rule, small numbers)."""
    level = confidence_level(params["alpha"])
    data = (
        "This report uses synthetic demonstration data: the records are generated with known, "
        "planted disparities and describe no real person and no real force. Only the Census 2021 "
        "population figures are real."
        if params["data"] == "demo"
        else "The figures come from the records supplied for this report (listed with their "
        "checksums in its provenance) and from Census 2021."
    )
    return [
        data,
        "Rates per 1,000 residents use Census 2021 usual residents, which are not the people "
        "available to be stopped: visitors, commuters and the night-time economy are not in them, "
        "and the population has changed since March 2021.",
        "People whose ethnicity was not stated cannot be placed in a group; the data-quality "
        "appendix gives how many there were and how far they could move each ratio.",
        f"A difference is called clear only when its {level} confidence interval excludes 1 "
        "after the Benjamini-Hochberg correction for the many comparisons in the report; 'no "
        "clear evidence of a difference' and 'too few cases to tell' are different findings.",
        f"Counts from 1 to {params['suppression_threshold']}, and anything from which one could "
        "be worked out, are withheld and shown as [c].",
    ]
