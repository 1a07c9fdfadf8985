"""The use-of-force chapter: uses of force (tactics recorded) per 1,000 residents by perceived
ethnic group, the relative rate index, each force against England and Wales, and the tactics
whose subject's ethnicity was not recorded, from the Home Office tables
(:mod:`dispro.useofforce`).

Each function presents one result of the library (named in its docstring) and computes nothing.
Without use-of-force tables (the demo), the chapter is one sentence.
"""

from __future__ import annotations

import pandas as pd

from ...plots import plot_forest
from ...useofforce import NATIONAL
from ..disclose import UOF_NATIONAL, UOF_NOT_STATED, UOF_RATES
from ..wording import confidence_level
from ._common import first_sentences

__all__ = ["supplied", "intro", "rates", "national", "not_stated", "OUTCOME"]

#: What a use-of-force rate counts, as a past participle phrase (house wording).
OUTCOME = "subject to force"
_SHOW = ["area", "financial_year", "group", "events", "base", "rate", "rri", "ci_lower",
         "ci_upper", "q_value", "status", "note"]  # fmt: skip
_NOT_SUPPLIED = (
    "No Home Office use-of-force tables were supplied (the data configuration has no "
    "`use_of_force:` key), so this chapter has no figures."
)


def supplied(counts: pd.DataFrame | None) -> bool:
    """Whether the report has use-of-force counts for its period (the tables were supplied and
    a financial year of theirs overlaps the period)."""
    return counts is not None and not counts.empty


def _years(years) -> str:
    years = list(years)
    return years[0] if len(years) == 1 else ", ".join(years[:-1]) + " and " + years[-1]


def intro(ch, counts: pd.DataFrame | None, params) -> None:
    """What the figures are and which financial years are used
    (:func:`dispro.useofforce.read_use_of_force` and
    :func:`dispro.useofforce.financial_years_in`); one sentence when no tables were supplied
    or none overlaps the period."""
    if counts is None:
        ch.text(_NOT_SUPPLIED)
        return
    start, end = params["period_start"], params["period_end"]
    given = list(counts.attrs.get("financial_years_supplied", []))
    used = sorted(set(counts["financial_year"].astype(str)))
    if not used:
        ch.text(
            f"The use-of-force tables supplied cover {_years(given) if given else 'no year'}, "
            f"none of which overlaps the report's period ({start} to {end}), so this chapter "
            "has no figures."
        )
        return
    ch.heading("Use of force by perceived ethnicity")
    ch.text(
        "The Police Race Action Plan and HMICFRS ask forces to scrutinise the use of force "
        "alongside stop and search. The figures come from the Home Office police use of force "
        "statistics: every tactic an officer recorded (handcuffing, restraint, irritant spray, "
        "Taser and so on, but not tactical communication), by the ethnicity the officer "
        "perceived. They count uses of force (tactics recorded), not people: one person can "
        "be counted several times, in one incident and across incidents."
    )
    first = pd.Period(f"{used[0][:4]}-04", freq="M")
    last = pd.Period(f"{int(used[-1][:4]) + 1}-03", freq="M")
    years = f"financial year{'s' if len(used) > 1 else ''} {_years(used)}"
    sentence = (
        f"This chapter uses the Home Office tables for the {years} ({first.strftime('%B %Y')} "
        f"to {last.strftime('%B %Y')}), the financial years that overlap the report's period "
        f"({start} to {end})."
    )
    if first < pd.Period(start, freq="M") or last > pd.Period(end, freq="M"):
        sentence += (
            " The tables are published for whole financial years, so the figures cover months "
            "outside the report's period."
        )
    unused = [y for y in given if y not in used]
    if unused:
        sentence += f" The tables for {_years(unused)} were supplied but lie outside the period."
    ch.text(sentence)
    ch.bullets(
        [
            "Rates are uses of force per 1,000 residents a year: Census 2021 usual residents "
            "(five ethnic groups; Chinese is counted as Asian, as the Census does) over the 12 "
            "months of each financial year. The resident population is not the population that "
            "meets the police (visitors, commuters, the night-time economy), and it is the "
            "population of 2021, not of the year of the tables.",
            "Ethnicity is the officer's perception, not the person's own description. Where it "
            "was not recorded (Don't know or Not reported) there is no population to rate "
            "against: those uses of force are given as a share instead.",
            "The intervals treat each tactic as a separate event; several tactics used on one "
            "person are not independent, so the intervals are narrower than they would be for "
            "people.",
            "England and Wales is the sum of the 43 territorial forces in the tables, rated "
            "against every resident of England and Wales.",
        ]
    )


def rates(ch, table: pd.DataFrame | None, params) -> None:
    """Uses of force per 1,000 residents and the relative rate index by force, year and group
    (:func:`dispro.useofforce.use_of_force_rates`): sentences for the latest year, a table of
    every year and a chart of the ratios."""
    if table is None:
        return
    level = confidence_level(params["alpha"])
    ch.heading("Uses of force per 1,000 residents")
    full = ch.shown_in_full(table, UOF_RATES)
    latest = (table["financial_year"] == table["financial_year"].max()).to_numpy()
    ours = latest & (table["area"] != NATIONAL).to_numpy()
    labelled = table.assign(label=table["area"] + ", " + table["financial_year"])
    sentences = []
    for i in map(int, ours.nonzero()[0]):
        row = labelled.iloc[i]
        if row["status"] == "zero_events" and full[i]:
            sentences.append(f"{row['label']}: {_none_recorded(row)}")
        else:
            sentences += first_sentences(labelled.iloc[[i]], params, OUTCOME, "label",
                                         shown=full[[i]], events="uses of force")  # fmt: skip
    ch.bullets(sentences)
    ch.table(
        "rates",
        table,
        columns=_SHOW,
        caption="Uses of force (tactics recorded) per 1,000 residents a year, and the relative "
        f"rate index against {params['reference']} people, by force, financial year and "
        "perceived group",
        notes="Home Office police use of force statistics (the total tactics row of each force); "
        "Census 2021 usual residents (person-years over the 12 months of a financial year). "
        f"Intervals: exact Poisson, {level}; q: Benjamini-Hochberg over the table. Not stated "
        "has no population figure.",
        counts=UOF_RATES,
    )
    shown = table[(table["group"] != params["reference"]) & table["ci_lower"].notna()]
    ch.figure(
        plot_forest,
        shown,
        counts=UOF_RATES,
        table="rates",
        label=["area", "financial_year", "group"],
        caption="Relative rate of use of force against "
        f"{params['reference']} people, by force, year and group (log scale, {level} intervals)",
    )


def _none_recorded(row) -> str:
    return (
        f"no uses of force were recorded against {row['group']} people, so no comparison is "
        "made (the force may not record this category)."
    )


def _comparison_sentence(row, level: str, reference: str) -> str:
    """One force, year and group against England and Wales, by the house rules: a difference
    is called higher or lower only when the interval excludes 1 and the row is significant."""
    head = (
        f"{row['area']}, {row['financial_year']}, {row['group']} people: "
        f"{row['rate']:.1f} uses of force per 1,000 residents a year, against "
        f"{row['national_rate']:.1f} in {NATIONAL}"
    )
    ratio = (
        f"rate ratio {row['rate_ratio']:.2f}, {level} confidence interval "
        f"{row['ci_lower']:.2f} to {row['ci_upper']:.2f}"
    )
    if row["status"] == "zero_events":
        return f"{row['area']}, {row['financial_year']}: {_none_recorded(row)}"
    if row["status"] != "ok" or pd.isna(row["ci_lower"]):
        return f"{head}: there are too few cases to compare with the national rate."
    clear = bool(row["significant"]) if not pd.isna(row["significant"]) else False
    if clear and row["ci_lower"] > 1:
        verdict = f"higher than the national rate ({ratio})"
    elif clear and row["ci_upper"] < 1:
        verdict = f"lower than the national rate ({ratio})"
    else:
        verdict = f"no clear evidence of a difference from the national rate ({ratio})"
    text = f"{head}: {verdict}."
    if not (pd.isna(row["rri"]) or pd.isna(row["national_rri"])) and row["rri"] != 1:
        text += (
            f" Their relative rate against {reference} people was {row['rri']:.2f} in "
            f"{row['area']} and {row['national_rri']:.2f} in {NATIONAL}."
        )
    return text


def national(ch, table: pd.DataFrame | None, params) -> None:
    """Each force against England and Wales (:func:`dispro.useofforce.national_comparison`):
    the force's rate over the national rate for the same group, and the two RRIs side by
    side."""
    if table is None:
        return
    ch.heading(f"Against {NATIONAL}", level=3)
    if table.empty:
        ch.text(
            f"The force cannot be set against {NATIONAL}: {table.attrs.get('note', 'no national figures')}."
        )
        return
    level = confidence_level(params["alpha"])
    full = ch.shown_in_full(table, UOF_NATIONAL)
    latest = table["financial_year"] == table["financial_year"].max()
    sentences = []
    for shown, (_, row) in zip(full[latest.to_numpy()], table[latest].iterrows(), strict=True):
        if shown:
            sentences.append(_comparison_sentence(row, level, params["reference"]))
        else:
            sentences.append(
                f"{row['area']}, {row['financial_year']}: the figures for {row['group']} people "
                "are withheld, so that no small number of people can be identified."
            )
    ch.bullets(sentences)
    ch.table(
        "national",
        table,
        columns=[
            "area",
            "financial_year",
            "group",
            "events",
            "rate",
            "national_events",
            "national_rate",
            "rate_ratio",
            "ci_lower",
            "ci_upper",
            "q_value",
            "rri",
            "national_rri",
            "status",
        ],  # fmt: skip
        caption=f"Each force's use-of-force rate against {NATIONAL} for the same group and year "
        "(rate ratio), and the relative rate index of each",
        notes=f"Rate ratio: the force's rate over the rate in {NATIONAL}, exact Poisson {level} "
        "interval (the force is part of the national figures; for a force of a few per cent "
        "of them the overlap is negligible); q: Benjamini-Hochberg over the table.",
        counts=UOF_NATIONAL,
    )


def not_stated(ch, table: pd.DataFrame | None, params) -> None:
    """The share of uses of force whose subject's ethnicity was not recorded
    (:func:`dispro.useofforce.not_stated_shares`)."""
    if table is None:
        return
    ch.heading("Ethnicity not recorded", level=3)
    published = ch.published(table, counts=UOF_NOT_STATED)
    full = ch.shown_in_full(table, UOF_NOT_STATED)
    sentences = []
    for shown, (_, row), (_, text) in zip(
        full, table.iterrows(), published.iterrows(), strict=True
    ):
        if not shown:
            sentences.append(
                f"{row['area']}, {row['financial_year']}: the figures are withheld, so that no "
                "small number of people can be identified."
            )
            continue
        sentences.append(
            f"{row['area']}, {row['financial_year']}: the officer did not record the person's "
            f"ethnicity (Don't know or Not reported) for {100 * row['share']:.1f}% of uses of "
            f"force ({text['not_stated']} of {text['tactics']})."
        )
    ch.bullets(sentences)
    ch.table(
        "not_stated",
        table,
        columns=["area", "financial_year", "tactics", "not_stated", "share"],
        caption="Uses of force (tactics recorded) whose subject's perceived ethnicity was not "
        "recorded, by force and financial year",
        counts=UOF_NOT_STATED,
    )
