"""The quarterly out-of-court disposals (OOCD) scrutiny pack's analysis: the share of detected
offenders dealt with out of court, by area, quarter and ethnic group, and by disposal type,
offence group, sex and youth or adult; its relative rate index against the reference group; and
its change since the previous quarter and a year earlier.

Every share is the out-of-court stage of the pathway (``out_of_court`` in
``data_dictionary/stages.yaml``): its events (out-of-court disposals) over its base (detected
offenders: out-of-court disposals plus charges and summonses), counted by
:func:`dispro.pathway.stage_counts` and rated by :func:`dispro.rri` (Katz intervals), so the
share for an area and period is the number the full report's out-of-court chapter
(:func:`dispro.pathway.stage_matrix`) gives for the same records.

"This quarter" is the last quarter of the report's period whose every month holds records of
every force in the records (:func:`oocd_quarters`): an extract that stops part-way through a
quarter does not make a partial quarter the headline.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .counts.periods import pack_quarters, supplied_months
from .dictionary import codelist
from .disclosure import Margins, withheld_cells
from .ethnicity import NOT_STATED
from .pathway import stage, stage_counts
from .rates import rri
from .readers import record_months
from .stopsearch import trend_test
from .stopsearch.scrutiny import (
    CHANGE_COLUMNS,
    COMPARISONS,
    area_order,
    combined_area,
    finish_changes,
)

__all__ = [
    "STAGE",
    "PACK_QUARTERS",
    "DISPOSAL_TYPES",
    "BREAKDOWNS",
    "oocd_quarters",
    "quarterly_shares",
    "share_changes",
    "share_breakdowns",
]

#: The pathway stage every figure of the pack is.
STAGE = "out_of_court"
#: At most this many quarters (the last ones up to "this quarter") in the pack's tables.
PACK_QUARTERS = 8
#: The breakdowns of :func:`share_breakdowns`: column -> what it is, in words.
BREAKDOWNS = {
    "disposal": "disposal type",
    "offence_group": "offence group",
    "sex": "sex",
    "age_group": "youth or adult",
}


def _disposal_types() -> tuple[str, ...]:
    table = codelist("disposal")
    flag = table["out_of_court"].astype(str).str.lower().eq("true")
    return tuple(table.loc[flag].sort_values("order")["code"])


#: The out-of-court disposal types, in the code list's order (``data_dictionary/codelists/disposal.csv``).
DISPOSAL_TYPES = _disposal_types()


def _youth_bands() -> set[str]:
    table = codelist("age_band")
    return set(table.loc[table["youth"].astype(str).str.lower().eq("true"), "code"])


def _quarter(months: pd.Series) -> np.ndarray:
    """``YYYY-MM`` -> ``2024Q1`` (missing stays missing)."""
    out = np.full(len(months), None, dtype=object)
    known = months.notna().to_numpy()
    if known.any():
        periods = pd.PeriodIndex(months[known].astype(str), freq="M").asfreq("Q")
        out[known] = periods.strftime("%YQ%q")
    return out


def oocd_quarters(
    records: pd.DataFrame,
    *,
    period_start: str,
    period_end: str,
    quarters: int = PACK_QUARTERS,
) -> tuple[list[str], dict]:
    """The pack's quarters and how "this quarter" was chosen.

    A quarter is complete when its three months lie in the period and every force in
    ``records`` has records in each of them. "This quarter" is the last complete quarter (the
    period end's quarter when none is complete); the pack is it and the ``quarters - 1`` quarters
    of the period before it.

    Returns
    -------
    list of str, dict
        The quarters (``2024Q1`` labels, oldest first) and ``{"latest", "complete",
        "incomplete", "months"}``: the quarter chosen, whether it is complete, the quarters after
        it in the period with the months of each that hold records (``{quarter: [months]}``),
        and the months of the period that hold records.
    """
    period = pd.period_range(period_start, period_end, freq="M")
    all_quarters = sorted(set(period.asfreq("Q").strftime("%YQ%q")))
    in_period = set(period.strftime("%Y-%m"))
    held = set(record_months(records).dropna()) & in_period
    supplied = supplied_months(records) if len(records) else []
    # the one rule of every scrutiny pack (dispro.counts.periods.pack_quarters)
    pack = pack_quarters(period_start, period_end, quarters=quarters, supplied=supplied)
    latest = pack[-1] if pack else all_quarters[-1]
    complete = all(
        m in set(supplied) and m in in_period
        for m in pd.period_range(pd.Period(latest, freq="Q").asfreq("M", "start"), periods=3,
                                 freq="M").strftime("%Y-%m")
    )  # fmt: skip
    pack = pack or [latest]

    def months_of(q: str) -> list[str]:
        return list(pd.period_range(pd.Period(q, freq="Q").asfreq("M", "start"), periods=3,
                                    freq="M").strftime("%Y-%m"))  # fmt: skip

    info = {
        "latest": latest,
        "complete": complete,
        "incomplete": {
            q: sorted(m for m in months_of(q) if m in held) for q in all_quarters if q > latest
        },
        "months": sorted(held),
    }
    return pack, info


def _labelled(records: pd.DataFrame, quarters: Sequence[str], combined: str | None):
    """The records of the quarters with ``area``, ``month``, ``period`` (the quarter) and
    ``age_group`` (youth or adult, from the age band); with ``combined``, a second copy of them
    labelled with that area (the forces' total)."""
    months = record_months(records)
    period = _quarter(months)
    keep = np.isin(period.astype(str), list(quarters))
    out = records.loc[keep].copy()
    out["month"] = months.to_numpy()[keep]
    out["period"] = period[keep]
    out["area"] = out["force"].to_numpy()
    if "age_band" in out.columns:
        band = out["age_band"].astype("string")
        youth = band.isin(list(_youth_bands()))
        out["age_group"] = np.where(band.isna(), None, np.where(youth, "youth", "adult"))
    if combined:
        out = pd.concat([out, out.assign(area=combined)], ignore_index=True)
    out.attrs = {}
    return out


def _stage_rri(labelled: pd.DataFrame, by: list[str], reference: str, alpha: float):
    """The out-of-court stage's shares and RRIs by ``by`` and group: the counts of
    :func:`dispro.pathway.stage_counts`, a zero row for a reference absent from a slice (its
    slice then has no base for a ratio), then :func:`dispro.rri` with the stage's ``per``."""
    counts = stage_counts(labelled, STAGE, group="ethnicity", by=by)
    counts = _with_reference(counts, by, "ethnicity", reference)
    return rri(
        counts, group="ethnicity", reference=reference, by=by, per=stage(STAGE)["per"], alpha=alpha
    )


def _with_reference(counts, by, group, reference):
    slices = counts[by].drop_duplicates()
    has = counts.loc[counts[group] == reference, by].drop_duplicates()
    lacking = slices.merge(has, on=by, how="left", indicator=True)
    lacking = lacking[lacking["_merge"] == "left_only"].drop(columns="_merge")
    if lacking.empty:
        return counts
    zeros = lacking.assign(**{group: reference, "events": 0, "base": 0})
    return pd.concat([counts, zeros], ignore_index=True)


def _area_period_order(table, combined, extra=()):
    order = {a: i for i, a in enumerate(area_order(table, combined))}
    table = table.assign(_o=table["area"].map(order))
    table = table.sort_values(["_o", "period", *extra], kind="stable").drop(columns="_o")
    return table.reset_index(drop=True)


def _withhold(table, *, threshold, combined, reference, extra=()):
    """Status ``suppressed`` (no share, ratio or test) for rows whose count, or whose slice's
    reference count, is withheld (:func:`dispro.disclosure.withheld_cells` with the table's
    totals); ``withheld`` marks the rows whose own counts are."""
    margins = Margins(counts=("events", "base"), total=combined, by=("group", *extra))
    cells = withheld_cells(table, threshold=threshold, counts=(), margins=margins)
    withheld = cells["events"] | cells["base"]
    keys = ["area", "period", *extra]
    index = pd.MultiIndex.from_frame(table[keys].astype(str))
    is_ref = (table["group"] == reference).to_numpy()
    ref_withheld = pd.Series(withheld[is_ref], index=index[is_ref])
    ref_withheld = ref_withheld[~ref_withheld.index.duplicated()]
    hide = withheld | index.map(ref_withheld).fillna(False).to_numpy(dtype=bool)
    hide &= (table["status"] != "no_base").to_numpy()
    for c in ("rate", "rri", "ci_lower", "ci_upper", "p_value", "q_value"):
        table.loc[hide, c] = np.nan
    table["significant"] = table["significant"].astype("boolean")
    table.loc[hide, "significant"] = pd.NA
    table.loc[hide, "status"] = "suppressed"
    table["withheld"] = withheld
    table.attrs["margins"] = margins
    return table


def quarterly_shares(
    records: pd.DataFrame,
    *,
    period_start: str,
    period_end: str,
    area: str,
    reference: str = "White",
    alpha: float = 0.05,
    threshold: int = 4,
    quarters: int = PACK_QUARTERS,
) -> pd.DataFrame:
    """The share of detected offenders given an out-of-court disposal, and its relative rate
    index, by area, quarter and ethnic group.

    Parameters
    ----------
    records : DataFrame
        Disposals records (the ``disposals`` dataset) of the report's area and period.
    period_start, period_end : str
        The report's period (``YYYY-MM``).
    area : str
        The report's area (``"Wessex"`` with more than one force adds the forces' total).
    reference, alpha
        As in :func:`dispro.rri`.
    threshold : int
        Counts from 1 to ``threshold`` are withheld, with the counts that would give them away
        from a total (:func:`dispro.disclosure.withheld_cells`).
    quarters : int
        How many quarters, up to "this quarter" (:func:`oocd_quarters`).

    Returns
    -------
    DataFrame
        ``stage, area, period``, then :data:`dispro.rates.RRI_COLUMNS` (``events``: out-of-court
        disposals; ``base``: detected offenders; ``rate``: the share in per cent) and
        ``withheld``. ``Not stated`` is kept (it has a base). Benjamini-Hochberg q over the
        table. ``attrs``: ``combined`` (the total's name or None), ``quarters``, ``choice``
        (:func:`oocd_quarters`' account) and ``margins``.
    """
    pack, info = oocd_quarters(
        records, period_start=period_start, period_end=period_end, quarters=quarters
    )
    combined = combined_area(area, records) if len(records) else None
    labelled = _labelled(records, pack, combined)
    if labelled.empty:
        out = pd.DataFrame(columns=["stage", "area", "period", "group", "events", "base", "status"])
        out.attrs.update(combined=None, quarters=pack, choice=info)
        return out
    table = _stage_rri(labelled, ["area", "period"], reference, alpha)
    table.insert(0, "stage", STAGE)
    out = _withhold(
        _area_period_order(table, combined), threshold=threshold, combined=combined,
        reference=reference,
    )  # fmt: skip
    out.attrs.update(combined=combined, quarters=pack, choice=info)
    return out


def share_breakdowns(
    records: pd.DataFrame,
    quarterly: pd.DataFrame,
    *,
    reference: str = "White",
    alpha: float = 0.05,
    threshold: int = 4,
    quarters: Sequence[str] | None = None,
) -> dict[str, pd.DataFrame]:
    """The out-of-court share by ethnic group within each disposal type, offence group, sex and
    youth or adult (:data:`BREAKDOWNS`), by area and quarter.

    For a disposal type the share is the type's disposals over all detected offenders of the
    group (so the types' shares add up to the out-of-court share); for the other breakdowns it
    is the out-of-court share among the detected offenders of that offence group, sex or age
    (records with the field blank are left out of that breakdown). Each table's relative rates
    compare groups within the same area, quarter and breakdown value.

    Parameters
    ----------
    records : DataFrame
        The records :func:`quarterly_shares` was given.
    quarterly : DataFrame
        Its table: its quarters and total are the pack's.
    quarters : list of str, optional
        The quarters to break down (default: "this quarter", the pack's last).

    Returns
    -------
    dict
        ``{column: table}`` for each breakdown the records have: ``stage, area, period,
        <column>``, then :data:`dispro.rates.RRI_COLUMNS` and ``withheld``; ``attrs["margins"]``
        describes the totals. A breakdown the records lack (or hold blank throughout) is an empty
        table with ``attrs["error"]`` saying so.
    """
    pack = list(quarterly.attrs.get("quarters", []))
    if quarterly.empty or not pack:
        return {}
    chosen = list(quarters) if quarters is not None else pack[-1:]
    combined = quarterly.attrs.get("combined")
    labelled = _labelled(records, chosen, combined)
    out = {}
    for column in BREAKDOWNS:
        if column not in labelled.columns or labelled[column].isna().all():
            out[column] = pd.DataFrame()
            out[column].attrs["error"] = f"the records have no {BREAKDOWNS[column]}"
            continue
        if column == "disposal":
            table = _type_rri(labelled, reference, alpha)
        else:
            table = _stage_rri(labelled, ["area", "period", column], reference, alpha)
        table.insert(0, "stage", STAGE)
        table = _area_period_order(table, combined, (column,))
        out[column] = _withhold(
            table, threshold=threshold, combined=combined, reference=reference, extra=(column,)
        )
    return out


def _type_rri(labelled, reference, alpha):
    """Each disposal type's share of detected offenders by area, quarter and group: every type
    of :data:`DISPOSAL_TYPES` over the stage's base (zero where none were given)."""
    keys = ["area", "period"]
    counts = stage_counts(labelled, STAGE, group="ethnicity", by=[*keys, "disposal"])
    base = counts.groupby([*keys, "ethnicity"], as_index=False)["base"].sum()
    base = _with_reference(base.assign(events=0), keys, "ethnicity", reference)
    grid = base.drop(columns="events").merge(
        pd.DataFrame({"disposal": DISPOSAL_TYPES}), how="cross"
    )
    given = counts[counts["disposal"].isin(DISPOSAL_TYPES)][
        [*keys, "ethnicity", "disposal", "events"]
    ]
    grid = grid.merge(given, on=[*keys, "ethnicity", "disposal"], how="left")
    grid["events"] = grid["events"].fillna(0).astype(int)
    return rri(
        grid, group="ethnicity", reference=reference, by=[*keys, "disposal"],
        per=stage(STAGE)["per"], alpha=alpha,
    )  # fmt: skip


def share_changes(
    records: pd.DataFrame,
    quarterly: pd.DataFrame,
    *,
    reference: str = "White",
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Has each group's relative rate of an out-of-court disposal changed since the previous
    quarter and a year earlier?

    As :func:`dispro.stopsearch.scrutiny.quarter_changes` for search rates: for each area and
    group (``Not stated`` aside), "this quarter" against each of
    :data:`~dispro.stopsearch.scrutiny.COMPARISONS` by :func:`dispro.stopsearch.trend_test` on
    the two quarters' monthly out-of-court disposals with the month's detected offenders as
    exposure (quasi-Poisson, a fixed effect per month, F test with the dispersion estimated from
    the months): ``estimate`` is the ratio of the two relative rates. Benjamini-Hochberg q over
    the table; ``significant`` when q < ``alpha`` and the interval excludes 1. A comparison with
    a suppressed count (of the group or the reference, in either quarter) has status
    ``suppressed``; with a zero count, ``too_few``; neither is tested.

    Returns
    -------
    DataFrame
        :data:`~dispro.stopsearch.scrutiny.CHANGE_COLUMNS`; ``attrs["untested"]``: the
        comparisons not made for a whole area (``area, compared_with, quarter, reason``, reason
        ``outside_period`` or ``not_supplied``).
    """
    pack = list(quarterly.attrs.get("quarters", []))
    table = pd.DataFrame(columns=list(CHANGE_COLUMNS))
    untested: list[dict] = []
    if quarterly.empty or not pack:
        table.attrs["untested"] = untested
        return table
    latest = pack[-1]
    combined = quarterly.attrs.get("combined")
    labelled = _labelled(records, pack, combined)
    monthly = stage_counts(labelled, STAGE, group="ethnicity", by=["area", "period", "month"])
    monthly = monthly.rename(columns={"ethnicity": "group"})
    rows_out = []
    for area in area_order(quarterly, combined):
        rows = quarterly[quarterly["area"] == area]
        present = set(rows["period"])
        for label, back in COMPARISONS.items():
            earlier = str(pd.Period(latest, freq="Q") - back)
            if earlier not in present or latest not in present:
                missing = earlier if earlier not in present else latest
                reason = "outside_period" if missing not in pack else "not_supplied"
                untested.append(
                    {"area": area, "compared_with": label, "quarter": missing, "reason": reason}
                )
                continue
            months = monthly[(monthly["area"] == area) & monthly["period"].isin([earlier, latest])]
            rows_out += _compare(rows, months, area, label, earlier, latest, reference, alpha)
    if rows_out:
        table = pd.DataFrame(rows_out, columns=list(CHANGE_COLUMNS))
    return finish_changes(table, untested, alpha)


def _compare(rows, months, area, label, earlier, latest, reference, alpha) -> list[dict]:
    """The change test of each group of one area between two quarters, on their months."""
    pair = rows.set_index(["group", "period"])
    out = []
    for group in pd.unique(rows["group"]):
        if group in (reference, NOT_STATED):
            continue
        wanted = [(group, earlier), (group, latest), (reference, earlier), (reference, latest)]
        if not all(k in pair.index for k in wanted):
            continue
        cells = pair.loc[wanted]
        row = {
            "area": area, "group": group, "compared_with": label, "earlier": earlier,
            "latest": latest, "earlier_rri": pair.loc[(group, earlier), "rri"],
            "latest_rri": pair.loc[(group, latest), "rri"],
            "status": "suppressed" if (cells["status"] == "suppressed").any() else "too_few",
        }  # fmt: skip
        if row["status"] != "suppressed" and (cells["events"] > 0).all():
            test = trend_test(
                months[months["group"].isin([group, reference])], group="group",
                reference=reference, period="period", time="month", events="events",
                exposure="base", groups=[group], alpha=alpha,
            )  # fmt: skip
            change = test[test["test"] == "change"]
            if len(change):
                found = change.iloc[0]
                row.update(
                    {k: found[k] for k in ("estimate", "ci_lower", "ci_upper", "statistic",
                                           "p_value", "dispersion", "dispersion_df")},
                    status="ok",
                )  # fmt: skip
        out.append(row)
    return out
