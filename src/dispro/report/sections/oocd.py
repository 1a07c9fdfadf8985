"""The quarterly out-of-court disposals scrutiny pack (report ``"oocd"``): this quarter, its
change since the previous quarter and a year earlier, the quarters one by one, and this
quarter by disposal type, offence group, sex and youth or adult.

Each function presents one result of :mod:`dispro.oocd` and computes nothing: every table goes
through :meth:`~dispro.report.Chapter.table` with what its counts count
(:mod:`dispro.report.disclose`, the oocd pack's block) and the totals it adds up to.
"""

from __future__ import annotations

import pandas as pd

from ...oocd import BREAKDOWNS
from ..disclose import Q_OOCD, Q_OOCD_BREAKDOWNS, Q_OOCD_CHANGES
from ..recorder import in_full
from ._common import OUTCOME_WORDS, RRI_SHOW, area_changes, first_sentences, quarter_words

__all__ = ["latest_quarter", "changes", "by_quarter", "breakdowns", "whole_period"]

_OUTCOME = OUTCOME_WORDS["out_of_court"]
_WITHHELD = "withheld, so that no small number of people can be identified"


def _options(table: pd.DataFrame, params, counts) -> dict:
    return {"counts": counts, "margins": table.attrs["margins"], "reference": params["reference"]}


def _choice_sentences(quarterly: pd.DataFrame) -> list[str]:
    """How "this quarter" was chosen, when the data run past it or fall short of it."""
    choice = quarterly.attrs.get("choice", {})
    latest = choice.get("latest")
    out = []
    if latest and not choice.get("complete", True):
        out.append(
            f"No quarter of the period has records for every month, so {quarter_words(latest)} "
            "(the period's last quarter) is used although some of its months have no records."
        )
    for quarter, months in choice.get("incomplete", {}).items():
        held = ", ".join(months) if months else "none"
        out.append(
            f"{quarter_words(quarter)} is left out of the quarterly figures: not every month of "
            f"it has records for every force (months with records: {held})."
        )
    return out


def latest_quarter(ch, quarterly: pd.DataFrame, params) -> None:
    """The pack's headline: the out-of-court share of detected offenders and its relative rate
    in "this quarter", for each force (and Wessex), in words and as a table
    (:func:`dispro.oocd.quarterly_shares`)."""
    quarters = quarterly.attrs["quarters"]
    latest = quarters[-1]
    words = quarter_words(latest)
    ch.heading(f"This quarter: {words}")
    ch.text(
        f"The pack looks at this quarter ({words}, the last quarter of the period with records "
        "for every month) first, then at how it compares with the previous quarter and with the "
        f"same quarter a year earlier, then at the last {len(quarters)} quarters one by one, "
        "then at this quarter by disposal type, offence group, sex and age. The share is the "
        "out-of-court disposals (cautions, conditional cautions, community resolutions, penalty "
        "notices, cannabis or khat warnings, youth cautions and youth conditional cautions) "
        "among detected offenders (those disposals plus charges and summonses). A lower share "
        "for a group means more of that group were sent to court."
    )
    notes = _choice_sentences(quarterly)
    if notes:
        ch.bullets(notes)
    if quarterly.empty:
        ch.text("No out-of-court disposal records were supplied for the pack's quarters.")
        return
    options = _options(quarterly, params, Q_OOCD)
    published = ch.published(quarterly, **options)
    now = (quarterly["period"] == latest).to_numpy()
    for area in pd.unique(quarterly["area"]):
        mine = now & (quarterly["area"] == area).to_numpy()
        ch.heading(area, level=4)
        ch.bullets(_area_sentences(quarterly[mine], published[mine], area, words, params))
    ch.table(
        "o_latest",
        quarterly,
        rows=now,
        columns=["area", "period", *RRI_SHOW],
        **options,
        caption=f"{words}: out-of-court disposals as a share of detected offenders (%) and the "
        f"relative rate index against {params['reference']} people",
        notes="events: out-of-court disposals; base: detected offenders; rate: per cent. Katz "
        "intervals; q: Benjamini-Hochberg over the pack's quarterly table. Rows with a count "
        f"from 1 to {params['suppression_threshold']}, or a count withheld so that another "
        "cannot be worked out from a total, are suppressed with their shares and ratios.",
    )


def _area_sentences(rows, published, area, words, params) -> list[str]:
    """The shares of one area in this quarter, from the published table, then a sentence per
    group from :func:`first_sentences`."""
    if rows.empty:
        return [
            f"No disposals were supplied for {area} in {words}, so there are no figures for it."
        ]
    full = in_full(published.reset_index(drop=True))
    shown, hidden = [], []
    for i, group in enumerate(rows["group"]):
        rate = published["rate"].iloc[i]
        if full[i] and not pd.isna(rows["rate"].iloc[i]):
            shown.append(f"{group} {rate}%")
        else:
            hidden.append(str(group))
    text = f"Share of detected offenders dealt with out of court in {words}: " + "; ".join(shown)
    if hidden:
        text += f" ({', '.join(hidden)}: {_WITHHELD})"
    return [text + ".", *first_sentences(rows, params, _OUTCOME, None, shown=full)]


_UNTESTED = {
    "outside_period": "falls outside the report's period",
    "not_supplied": "has no disposals supplied",
}


def changes(ch, table: pd.DataFrame, quarterly: pd.DataFrame, params) -> None:
    """Has the relative rate of an out-of-court disposal changed since the previous quarter and
    a year earlier? (:func:`dispro.oocd.share_changes`)."""
    if quarterly.empty:
        return
    latest = quarterly.attrs["quarters"][-1]
    ch.heading("Change since the previous quarter and since a year earlier")
    ch.text(
        f"Each group's relative rate of an out-of-court disposal in {quarter_words(latest)} is "
        "compared with the previous quarter and with the same quarter a year earlier. The test "
        "asks whether the ratio of the two relative rates differs from 1: a quasi-Poisson model "
        "of each month's out-of-court disposals with the month's detected offenders as the "
        "exposure, which allows for the way counts vary from month to month (F test)."
    )
    area_changes(
        ch, table, params, pd.Series(ch.shown_in_full(table, Q_OOCD_CHANGES), index=table.index)
    )
    notes = [
        f"{u['area']}: the change since {u['compared_with']} cannot be tested: "
        f"{quarter_words(u['quarter'])} {_UNTESTED[u['reason']]}."
        for u in table.attrs.get("untested", [])
    ]
    if notes:
        ch.bullets(notes)
    if len(table):
        ch.table(
            "o_change",
            table,
            counts=Q_OOCD_CHANGES,
            caption="Change in the relative rate of an out-of-court disposal: "
            f"{quarter_words(latest)} against the previous quarter and a year earlier",
            notes="estimate = latest relative rate / earlier relative rate, with its interval; p: "
            "F test with the dispersion estimated from the months of the two quarters; q: "
            "Benjamini-Hochberg over this table. suppressed: a count in one of the two quarters "
            f"is from 1 to {params['suppression_threshold']} (or withheld to protect one); "
            "too_few: a count is zero; neither is tested.",
        )
    elif not notes:
        ch.text("No relative rates could be compared between quarters.")


def by_quarter(ch, quarterly: pd.DataFrame, params) -> None:
    """The quarter-by-quarter table (:func:`dispro.oocd.quarterly_shares`)."""
    if quarterly.empty:
        return
    quarters = quarterly.attrs["quarters"]
    ch.heading("Quarter by quarter")
    ch.text(
        f"The last {len(quarters)} quarters, {quarter_words(quarters[0])} to "
        f"{quarter_words(quarters[-1])}, one by one. Counts from 1 to "
        f"{params['suppression_threshold']} are suppressed ([c]), with the shares and ratios "
        "worked out from them."
    )
    ch.table(
        "o_quarters",
        quarterly,
        columns=["area", "period", *RRI_SHOW],
        **_options(quarterly, params, Q_OOCD),
        caption="Out-of-court disposals as a share of detected offenders (%) and the relative "
        "rate index, by quarter",
        notes="q: Benjamini-Hochberg over this table. Not stated is shown: it has a base.",
    )


_BREAKDOWN_TEXT = {
    "disposal": "Each disposal type as a share of all detected offenders of the group: the "
    "types add up to the out-of-court share. Youth cautions apply to children aged 10 to 17, "
    "penalty notices and cannabis or khat warnings to adults.",
    "offence_group": "The out-of-court share among detected offenders of each offence group "
    "(the offence mix differs between groups; the adjusted comparison takes it into account).",
    "sex": "The out-of-court share among detected offenders of each sex.",
    "age_group": "The out-of-court share among children (10 to 17) and adults.",
}


def breakdowns(ch, tables: dict[str, pd.DataFrame], params) -> None:
    """This quarter by disposal type, offence group, sex and youth or adult
    (:func:`dispro.oocd.share_breakdowns`)."""
    if not tables:
        return
    ch.heading("This quarter by disposal type, offence group, sex and age")
    for column, what in BREAKDOWNS.items():
        table = tables.get(column)
        if table is None:
            continue
        ch.heading(f"By {what}", level=3)
        if "error" in table.attrs:
            ch.text(f"The share cannot be shown by {what}: {table.attrs['error']}.")
            continue
        ch.text(_BREAKDOWN_TEXT[column])
        period = quarter_words(table["period"].iloc[0]) if len(table) else ""
        ch.table(
            f"o_{column}",
            table,
            columns=["area", "period", column, *RRI_SHOW],
            **_options(table, params, Q_OOCD_BREAKDOWNS[column]),
            caption=f"{period}: out-of-court share of detected offenders (%) by {what} and group",
            notes="The relative rate compares each group with the reference within the same area "
            "and " + what + "; no_base: the reference group has no detected offenders there.",
        )


def whole_period(ch, params) -> None:
    """The heading of the whole period's figures (the full report's out-of-court chapter's
    table, :func:`dispro.pathway.stage_matrix`, follows)."""
    ch.heading(f"The whole period, {params['period_start']} to {params['period_end']}")
    ch.text(
        "The same share over the report's whole period, by force: the figures the full "
        "report's out-of-court chapter gives for the same area and period."
    )
