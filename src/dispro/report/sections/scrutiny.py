"""The quarterly stop-and-search scrutiny pack (report ``"scrutiny"``): the latest quarter, its
change since the previous quarter and a year earlier, and the last quarters one by one.

Each function presents one result of :mod:`dispro.stopsearch.scrutiny` and computes nothing:
the pack's tables are published through :meth:`~dispro.report.Chapter.table` with the totals
they add up to (``attrs["margins"]``), so that no withheld count can be worked out from one.
"""

from __future__ import annotations

import pandas as pd

from ..disclose import CHANGES, CONCORDANCE, Q_HITS, Q_S60, Q_STRIP, RATES
from ..recorder import in_full
from ._common import RRI_SHOW, area_changes, first_sentences, population_words, quarter_words

__all__ = [
    "latest_quarter",
    "changes",
    "rates_by_quarter",
    "outcomes_by_quarter",
    "concordance_by_quarter",
]

_RATES_SHOW = ["area", "period", *RRI_SHOW, "months_covered"]


def _publish_options(table: pd.DataFrame, params, counts) -> dict:
    """How a pack table goes through the door: its counts, its totals, the reference group."""
    return {"counts": counts, "margins": table.attrs["margins"], "reference": params["reference"]}


def latest_quarter(ch, quarterly: pd.DataFrame, params) -> None:
    """The pack's headline: search rates and relative rates in the period end's quarter, for
    each force (and Wessex combined), in words and as a table cut from the quarterly table
    (:func:`dispro.stopsearch.scrutiny.quarterly_rates`)."""
    quarters = quarterly.attrs["quarters"]
    latest = quarters[-1]
    words = quarter_words(latest)
    ch.heading(f"This quarter: {words}")
    ch.text(
        f"The scrutiny pack looks at the latest quarter of the period ({words}, {latest}) first, "
        "then at how it compares with the previous quarter and with the same quarter a year "
        f"earlier, then at the last {len(quarters)} quarters one by one. Rates are "
        "person searches per 1,000 residents a year: the quarter's searches over the residents' "
        f"person-years in it ({population_words(quarterly)} times the months supplied / 12)."
        + (
            f" The latest quarter is not the one the period ends in: {quarterly.attrs['quarter_note']}."
            if quarterly.attrs.get("quarter_note")
            else ""
        )
    )
    if quarterly.empty:
        ch.text("No stop-and-search records were supplied for the pack's quarters.")
        return
    options = _publish_options(quarterly, params, RATES)
    published = ch.published(quarterly, **options)
    now = (quarterly["period"] == latest).to_numpy()
    for area in pd.unique(quarterly["area"]):
        mine = now & (quarterly["area"] == area).to_numpy()
        ch.heading(area, level=4)
        ch.bullets(
            _latest_sentences(
                quarterly[mine], published[mine].reset_index(drop=True), area, latest, params
            )
        )
    ch.table(
        "q_latest",
        quarterly,
        rows=now,
        columns=_RATES_SHOW,
        **options,
        caption=f"{words}: person searches per 1,000 residents a year and the relative rate index "
        f"against {params['reference']} people",
        notes="Rates are annualised over the months supplied. q: Benjamini-Hochberg over the "
        "pack's quarterly table. Rows with a count from 1 to "
        f"{params['suppression_threshold']} (the group's or the reference's), or a count withheld "
        "so that another cannot be worked out from a total, are suppressed with their rates and "
        "ratios.",
    )


def _latest_sentences(rows, published, area, latest, params) -> list[str]:
    """Sentences about one area's rows of the latest quarter: rates from the table, counts from
    its published version."""
    words = quarter_words(latest)
    if rows.empty:
        return [f"No searches were supplied for {area} in {words}, so there are no figures for it."]
    out = []
    covered, in_period = int(rows["months_covered"].iloc[0]), int(rows["months_in_period"].iloc[0])
    if covered < in_period:
        out.append(
            f"Only {covered} of the quarter's {in_period} months are covered (in the period and "
            "supplied); the figures are over the months covered."
        )
    if (rows["status"] == "no_base").all():
        counts = "; ".join(
            f"{g} {n}" for g, n in zip(published["group"], published["events"], strict=True)
        )
        note = next((n for n in rows["note"] if n), "there is no resident population for it")
        out.append(f"Person searches in {words}: {counts}.")
        out.append(
            f"Rates per 1,000 residents, and so relative rates, cannot be calculated for {area}: {note}."
        )
        return out
    shown, hidden = [], []
    full = in_full(published)
    for i, (_, row) in enumerate(rows.iterrows()):
        if not full[i] or pd.isna(row["rate"]):
            hidden.append(str(row["group"]))
        else:
            shown.append(f"{row['group']} {published['rate'].iloc[i]}")
    text = f"Person searches per 1,000 residents a year in {words}: " + "; ".join(shown)
    if hidden:
        text += (
            f" ({', '.join(hidden)}: withheld, so that no small number of people can be identified)"
        )
    out.append(text + ".")
    out.extend(first_sentences(rows, params, "stopped and searched", None, shown=full))
    return out


_UNTESTED = {
    "outside_period": "falls outside the report's period",
    "not_supplied": "has no searches supplied",
}


def changes(ch, table: pd.DataFrame, quarterly: pd.DataFrame, params) -> None:
    """Has the relative rate changed since the previous quarter and since a year earlier?
    (:func:`dispro.stopsearch.scrutiny.quarter_changes` on ``quarterly``)."""
    if quarterly.empty:
        return
    latest = quarterly.attrs["quarters"][-1]
    ch.heading("Change since the previous quarter and since a year earlier")
    ch.text(
        f"Each group's relative rate in {quarter_words(latest)} is compared with its relative "
        "rate in the previous quarter and in the same quarter a year earlier (which takes out "
        "seasonal patterns). The test asks whether the ratio of the two relative rates differs "
        "from 1 (quasi-Poisson model of the monthly searches with the person-years as exposure, "
        "which allows for the way searches vary from month to month; F test)."
    )
    notes = [
        f"{u['area']}: without rates per resident, relative rates cannot be compared "
        "between quarters."
        if u["reason"] == "no_base"
        else f"{u['area']}: the change since {u['compared_with']} cannot be tested: "
        f"{quarter_words(u['quarter'])} {_UNTESTED[u['reason']]}."
        for u in table.attrs.get("untested", [])
    ]
    area_changes(ch, table, params, pd.Series(ch.shown_in_full(table, CHANGES), index=table.index))
    if notes:
        ch.bullets(notes)
    if len(table):
        ch.table(
            "q_change",
            table,
            counts=CHANGES,
            caption=f"Change in the relative rate of being searched: {quarter_words(latest)} "
            f"against {_compared(table)}",
            notes="estimate = latest relative rate / earlier relative rate, with its interval; "
            "p: F test with the dispersion estimated from the months within the two quarters "
            "(dispersion, on dispersion_df degrees of freedom); q: Benjamini-Hochberg over this "
            "table. "
            "suppressed: a count in one of the two quarters is from 1 to "
            f"{params['suppression_threshold']}; too_few: a count is zero; neither is tested.",
        )
    elif not notes:
        ch.text("No relative rates could be compared between quarters.")


def _compared(table: pd.DataFrame) -> str:
    """The quarters a change table really compares the latest with, in words."""
    pairs = table[["compared_with", "earlier"]].drop_duplicates()
    return " and ".join(
        f"{quarter_words(e)} ({c})"
        for c, e in zip(pairs["compared_with"], pairs["earlier"], strict=True)
    )


def rates_by_quarter(ch, quarterly: pd.DataFrame, params) -> None:
    """The pack's quarter-by-quarter table of search rates and relative rates
    (:func:`dispro.stopsearch.scrutiny.quarterly_rates`)."""
    if quarterly.empty:
        return
    quarters = quarterly.attrs["quarters"]
    ch.heading("Quarter by quarter")
    ch.text(
        f"The last {len(quarters)} quarters of the period, {quarter_words(quarters[0])} to "
        f"{quarter_words(quarters[-1])}, one by one: searches and their rates, hit rates, strip "
        "searches, section 60 searches and the agreement between self-defined and "
        f"officer-defined ethnicity. Counts from 1 to {params['suppression_threshold']} are "
        "suppressed ([c]), with the rates, shares and intervals worked out from them."
    )
    ch.table(
        "q_rates",
        quarterly,
        columns=_RATES_SHOW,
        **_publish_options(quarterly, params, RATES),
        caption="Person searches per 1,000 residents a year and the relative rate index, by quarter",
        notes="Rates are annualised over the months supplied (months_covered). q: "
        "Benjamini-Hochberg over this table. Not stated has no population and is left out.",
    )


_SHARES = {  # key: (count column, what)
    "strip": ("strip_searches", "Searches involving the removal of more than outer clothing"),
    "s60": ("s60_searches", "Searches under section 60 (no reasonable suspicion needed)"),
}


def outcomes_by_quarter(ch, outcomes: dict[str, pd.DataFrame], params) -> None:
    """Hit rates, strip searches and section 60 searches by area, quarter and group
    (:func:`dispro.stopsearch.scrutiny.outcomes_by_quarter`)."""
    if not outcomes:
        return
    reference = params["reference"]
    hits = outcomes["hit_rates"]
    ch.heading("Hit rates by quarter", level=3)
    if "error" in hits.attrs:
        ch.text(_cannot("Hit rates", hits))
    else:
        linked = hits.attrs.get("outcome", "linked") == "linked"
        reason = hits.attrs.get("outcome_reason", "")
        ch.text(
            "The share of person searches (section 60 searches left out) "
            + (
                "whose outcome was linked to the object of the search"
                if linked
                else "that led to any further action"
            )
            + ", with Wilson intervals, and its ratio to the "
            f"{reference} group's (Katz interval). "
            + (f"Any further action is used because {reason}. " if reason else "")
            + "A lower hit rate can suggest weaker grounds for "
            "searching, but hit rates also differ for other reasons (infra-marginality)."
        )
        ch.table(
            "q_hit_rates",
            hits,
            columns=["area", "period", "group", "searches", "hits", "hit_rate", "ci_lower",
                     "ci_upper", "ratio", "ratio_ci_lower", "ratio_ci_upper", "status"],
            **_publish_options(hits, params, Q_HITS),
            caption="Hit rate ("
            + ("outcome linked to the object of search" if linked else "any further action")
            + ") by quarter and group",
        )  # fmt: skip
    declared = {"strip": Q_STRIP, "s60": Q_S60}
    for key, (name, what) in _SHARES.items():
        table = outcomes[key]
        ch.heading(f"{what.split(' (')[0]} by quarter", level=3)
        if "error" in table.attrs:
            ch.text(_cannot(what, table))
            continue
        options = _publish_options(table, params, declared[key])
        ch.table(
            f"q_{key}",
            table,
            columns=["area", "period", "group", "searches", name, "share", "ci_lower",
                     "ci_upper", "status"],
            **{**options, "reference": None},
            caption=f"{what}: count and share of person searches by quarter and group",
            notes="share: of person searches with the field recorded, with its Wilson interval; "
            "not_supplied: the force did not supply the field for those months (never 0%).",
        )  # fmt: skip


def _cannot(what: str, table: pd.DataFrame) -> str:
    """The sentence for a quarterly measure the library could not compute: the field not
    supplied, named as the force's files name it, or the library's own reason."""
    column = table.attrs.get("not_supplied")
    if column:
        return (
            f"{what}: not supplied by this force. The records leave '{column}' blank in every "
            "month of the pack's quarters, so this measure cannot be shown (it is not 0)."
        )
    return f"{what} cannot be shown by quarter: {table.attrs['error']}"


def concordance_by_quarter(ch, table: pd.DataFrame, params) -> None:
    """Agreement between self-defined and officer-defined ethnicity by area and quarter
    (:func:`dispro.stopsearch.scrutiny.concordance_by_quarter`)."""
    ch.heading("Self-defined and officer-defined ethnicity by quarter", level=3)
    if "error" in table.attrs:
        ch.text(_cannot("Agreement of self-defined and officer-defined ethnicity", table))
        return
    if table.empty:
        ch.text(
            "No search has both a self-defined and an officer-defined group in the pack's "
            "quarters, so their agreement cannot be shown."
        )
        return
    ch.text(
        "How often the ethnic group the officer recorded agrees with the person's own, among "
        "person searches where both are Asian, Black, White or Other (self-defined Mixed and "
        "Not stated on either side are left out), with Cohen's kappa (1 is perfect agreement, 0 "
        "no more than chance)."
    )
    ch.table(
        "q_concordance",
        table,
        **{**_publish_options(table, params, CONCORDANCE), "reference": None},
        caption="Agreement between self-defined and officer-defined ethnicity by quarter",
        notes="agreement: share of searches on which the two agree (Wilson interval); kappa: "
        "Cohen's kappa (Wald interval).",
    )
