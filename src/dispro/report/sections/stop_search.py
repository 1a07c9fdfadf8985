"""The stop-and-search chapter: rates per 1,000 residents, missing-ethnicity bounds, hit rates,
strip searches and section 60, ethnicity concordance, the veil of darkness and change over time.

Each function presents one result of the library (named in its docstring) and computes nothing.
"""

from __future__ import annotations

import pandas as pd

from ...ethnicity import NOT_STATED
from ...plots import plot_forest, plot_hit_rates, plot_trend
from ..disclose import (
    BOUNDS,
    CHANGE,
    CONCORDANCE,
    DARKNESS,
    HITS,
    NOT_STATED_BY_OFFICER,
    RATES,
    S60,
    STRIP,
)
from ..wording import confidence_level
from ._common import RRI_SHOW, compact_changes, compact_sentences, population_words, when_supplied

__all__ = [
    "rates",
    "bounds",
    "hit_rates",
    "strip_searches",
    "section60",
    "concordance",
    "not_stated_by_officer",
    "darkness",
    "trend",
    "change",
]


def rates(ch, table: pd.DataFrame, params, *, whole_period: bool = False) -> None:
    """Searches per 1,000 residents by force and group over the whole period
    (:func:`dispro.stopsearch.search_rates` with ``period="all"``), in words, as a table and as
    a chart. ``whole_period``: headed as the pack's whole-period section."""
    if whole_period:
        ch.heading(f"The whole period: {params['period_start']} to {params['period_end']}")
    ch.heading("Searches per 1,000 residents")
    full = ch.shown_in_full(table, RATES)
    said = compact_sentences(table, params, "stopped and searched", "force", shown=full)
    ch.bullets(said)
    ch.table(
        "rates",
        table[["force", "period", *RRI_SHOW, "months_covered", "note"]],
        caption="Person searches per 1,000 residents a year, and the relative rate index, by force and group",
        notes=f"Rates use {population_words(table)} times the months supplied / 12 (person-years). "
        "Vehicle-only searches are excluded. Not stated has no population figure.",
        counts=RATES,
    )
    shown = table[(table["group"] != params["reference"]) & table["ci_lower"].notna()]
    ch.figure(
        plot_forest,
        shown,
        counts=RATES,
        table="rates",
        label=["force", "group"],
        alt=["A chart of the relative rate of being searched by force and group.", *said],
        caption="Relative rate of being searched, by force and group (log scale, "
        f"{confidence_level(params['alpha'])} intervals)",
    )


def bounds(ch, table: pd.DataFrame, params) -> None:
    """How far the ratios could move if ethnicity not stated were known
    (:func:`dispro.stopsearch.missing_ethnicity_bounds`)."""
    ch.heading("How much could ethnicity not stated change the ratios?", level=3)
    ch.text(
        "Searches where the person's ethnicity was not stated cannot be placed in a group. The bounds "
        "below allocate all of them to the reference group (lower bound) or all to the group "
        "(upper bound): the true ratio lies between them whatever the missing values were. These are "
        "ranges of assumptions, not confidence intervals."
    )
    ch.table(
        "bounds",
        table,
        caption="Missing-ethnicity bounds on the relative rate of being searched",
        counts=BOUNDS,
    )


_HITS_HEADING = "Do searches find what they look for? (hit rates)"


@when_supplied("Hit rates", _HITS_HEADING, level=2)
def hit_rates(ch, table: pd.DataFrame, params) -> None:
    """Hit rates by group (:func:`dispro.stopsearch.hit_rates`), on the outcome the table used
    (``attrs["outcome"]``: linked to the object of search, or any further action where the
    force never supplies the link, with the reason in ``attrs["outcome_reason"]``)."""
    ch.heading(_HITS_HEADING)
    linked = table.attrs.get("outcome", "linked") == "linked"
    what = (
        "the outcome was linked to the object of the search"
        if linked
        else "the search led to any further action (any outcome other than no further action)"
    )
    reason = table.attrs.get("outcome_reason", "")
    ch.text(
        f"The hit rate is the share of searches where {what}. "
        + (f"It is not the usual measure here: {reason}. " if reason else "")
        + "A lower hit rate for a group can suggest that its members are searched on weaker "
        "grounds, but hit rates can differ for other reasons too (the infra-marginality problem), so "
        "they are a pointer, not proof. Section 60 searches, which need no reasonable suspicion, are "
        "left out."
    )
    used = "outcome linked to the object of search" if linked else "any further action"
    ch.table(
        "hit_rates",
        table,
        caption=f"Hit rate ({used}) by group, with Wilson intervals",
        notes=f"Outcome used: {reason}." if reason else "",
        counts=HITS,
    )
    ch.figure(
        plot_hit_rates,
        table,
        counts=HITS,
        table="hit_rates",
        caption=f"Hit rate by group with {confidence_level(params['alpha'])} Wilson intervals",
    )


@when_supplied("Strip searches", "Strip searches and section 60")
def strip_searches(ch, table: pd.DataFrame, params) -> None:
    """Strip searches by group (:func:`dispro.stopsearch.strip_search_shares`)."""
    ch.heading("Strip searches and section 60", level=3)
    ch.table(
        "strip",
        table,
        caption="Share of person searches involving removal of more than outer clothing",
        counts=STRIP,
    )


@when_supplied("Section 60 searches")
def section60(ch, table: pd.DataFrame, params) -> None:
    """Section 60 searches by group (:func:`dispro.stopsearch.section60_shares`)."""
    ch.table(
        "s60",
        table,
        caption="Share of searches made under section 60 (no reasonable suspicion needed)",
        counts=S60,
    )


@when_supplied(
    "Agreement of self-defined and officer-defined ethnicity",
    "Self-defined and officer-defined ethnicity",
)
def concordance(ch, table: pd.DataFrame, params) -> None:
    """Agreement of self-defined and officer-defined ethnicity
    (:func:`dispro.stopsearch.concordance_summary`)."""
    ch.heading("Self-defined and officer-defined ethnicity", level=3)
    ch.table(
        "concordance",
        table,
        caption="Agreement between self-defined and officer-defined ethnicity (Cohen's kappa)",
        counts=CONCORDANCE,
    )


@when_supplied("Ethnicity not stated, by the officer's view")
def not_stated_by_officer(ch, table: pd.DataFrame, params) -> None:
    """Self-defined ethnicity not stated, by the officer's view
    (:func:`dispro.stopsearch.not_stated_by_officer_group`)."""
    ch.table(
        "not_stated",
        table,
        caption="Share of searches with self-defined ethnicity not stated, by the ethnicity the officer recorded",
        counts=NOT_STATED_BY_OFFICER,
    )


def darkness(ch, table: pd.DataFrame, params) -> None:
    """The veil-of-darkness test of each force and of the forces pooled
    (:func:`dispro.stopsearch.darkness_areas.darkness_by_area`): a sentence for each, and the
    table of the tests that were eligible."""
    ch.heading("Veil of darkness", level=3)
    ch.text(
        "If officers' decisions are influenced by ethnicity, the share of people searched who are from "
        "a minority group should be lower after dark, when ethnicity is harder to see, than in "
        "daylight at the same clock time. The test compares the two within the evening window where "
        "both occur across the year, so it is run on the whole period, not quarter by quarter."
    )
    level = confidence_level(params["alpha"])
    full = ch.shown_in_full(table, DARKNESS)
    ch.bullets([_darkness_sentence(row, level, shown)
                for shown, (_, row) in zip(full, table.iterrows(), strict=True)])  # fmt: skip
    pooled = table["area"].astype(str).str.endswith(" (forces pooled)")
    if pooled.any():
        forces = [str(a) for a in table.loc[~pooled, "area"]]
        named = ", ".join(forces[:-1]) + f" and {forces[-1]}" if len(forces) > 1 else forces[0]
        ch.text(
            f"The {table.loc[pooled, 'area'].iloc[0].split(' (')[0]} test pools the searches of {named} in one model, with "
            "force as a control (a separate baseline for each force), so darkness and daylight "
            "are compared within each force. Each force's own test needs at least 100 searches "
            "of each group in every year of that force; the pooled test needs them in every "
            "year of the forces together, so it can be run when no single force has enough."
        )
    eligible = table[table["status"] == "ok"].drop(columns=["reason", "finding"])
    if len(eligible):
        minority, reference = eligible["minority"].iloc[0], eligible["reference"].iloc[0]
        ch.table(
            "darkness",
            eligible,
            caption=f"Veil-of-darkness test: odds ratio of a search being of a {minority} "
            f"rather than a {reference} person after dark",
            counts=DARKNESS,
        )


def _darkness_sentence(row, level: str, shown: bool = True) -> str:
    label, finding = row["area"], row["finding"]
    if finding not in ("not_run", "not_eligible") and not shown:
        return f"{label}: the test's figures are withheld, so that no small number of people can be identified."
    if finding == "not_run":
        return f"{label}: the test could not be run: {row['reason']}"
    if finding == "not_eligible":
        return f"{label}: the test was not run, because the data are not eligible: {row['reason']}."
    minority, reference = row["minority"], row["reference"]
    interval = (
        f"odds ratio {row['odds_ratio']:.2f}, {level} confidence "
        f"interval {row['ci_lower']:.2f} to {row['ci_upper']:.2f}"
    )
    if finding == "lower_after_dark":
        return (
            f"{label}: after dark, the share of {minority} people among the {minority} and "
            f"{reference} people searched was lower than in daylight at the same clock time "
            f"({interval}). This is the pattern expected if ethnicity influences who is searched."
        )
    if finding == "higher_after_dark":
        return (
            f"{label}: after dark, the share of {minority} people among those searched was "
            f"higher than in daylight at the same clock time ({interval}), the opposite of the "
            "pattern the test looks for."
        )
    return (
        f"{label}: there is no clear evidence that the share of {minority} people among "
        f"those searched differs between darkness and daylight at the same clock time "
        f"({interval})."
    )


def trend(ch, quarterly: pd.DataFrame, params, *, last_quarters: bool = True) -> None:
    """The relative rate by quarter (:func:`dispro.stopsearch.search_rates` with
    ``period="quarter"``): every quarter as a table, and a chart for each force drawn from it
    (a chart shows only what a table publishes). ``last_quarters`` is kept for the notebooks
    written before every quarter was tabled; it no longer changes what is shown."""
    del last_quarters
    ch.heading("Change over time")
    ch.table(
        "quarters",
        quarterly[quarterly["group"] != NOT_STATED],
        columns=["force", "period", *RRI_SHOW, "months_covered"],
        caption="Searches per 1,000 residents a year and the relative rate index, by quarter",
        notes="Quarterly rates are annualised (person-years covered); q: Benjamini-Hochberg over the table.",
        counts=RATES,
        printed=False,  # pages of rows: the charts show them, the workbook holds them
    )
    ch.text(
        "The charts show each force's relative rates quarter by quarter; every quarter's "
        "figures are in the workbook (the sheet stop_search_quarters)."
    )
    threshold, level = params["suppression_threshold"], confidence_level(params["alpha"])
    for force, rows in quarterly.groupby("force"):
        shown = rows[(rows["group"] != params["reference"]) & rows["ci_lower"].notna()]
        ch.figure(
            plot_trend,
            shown,
            counts=RATES,
            table="quarters",
            caption=f"{force}: relative rate of being searched by quarter ({level} intervals; "
            f"quarters with a count from 1 to {threshold} are left out)",
        )


def change(ch, table: pd.DataFrame, params) -> None:
    """The change in each group's relative rate since the comparison period
    (:func:`dispro.stopsearch.change.change_since`), in words and as a table."""
    start, end = params["comparison_start"], params["comparison_end"]
    if table.empty:
        ch.text(
            "The data do not cover both the comparison period and the latest 12 months, so change cannot be tested."
        )
        return
    full = ch.shown_in_full(table, CHANGE)
    ch.bullets(compact_changes(table, params, "force", shown=full, since=f"{start} to {end}"))
    ch.table(
        "change",
        table,
        counts=CHANGE,
        caption="Change in the relative rate of being searched: " + _windows(table, start, end),
        notes="Quasi-Poisson model of the monthly searches with a log person-years offset and the "
        "dispersion estimated from the months within the two periods; estimate = latest RRI / "
        "comparison RRI.",
    )


def _windows(table: pd.DataFrame, start: str, end: str) -> str:
    """The months a change table really compares (whole quarters of the data), in words."""
    if "latest_window" not in table.columns:
        return f"the latest 12 months against {start} to {end}"
    pairs = table[["force", "latest_window", "comparison_window"]].drop_duplicates(
        ["latest_window", "comparison_window"]
    )
    if len(pairs) == 1:
        row = pairs.iloc[0]
        return f"{row['latest_window']} against {row['comparison_window']}"
    return "; ".join(
        f"{r['force']}: {r['latest_window']} against {r['comparison_window']}"
        for _, r in pairs.iterrows()
    )
