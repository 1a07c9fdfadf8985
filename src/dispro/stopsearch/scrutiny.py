"""The quarterly stop-and-search scrutiny pack's analysis: search rates and relative rates by area
and quarter, their change since the previous quarter and a year earlier, and hit rates, strip
searches, section 60 searches and ethnicity concordance by area and quarter.

Each function takes the records of the report's area and period (as
:func:`dispro.read_police_uk` gives them, with the reader's coverage table) and returns a tidy
table. The pack's tables publish each force's quarters beside the forces' total (Wessex) and each
force's whole period elsewhere, so a count from 1 to the threshold is withheld together with
further counts that would let it be worked out from a total
(:func:`dispro.disclosure.withheld_cells`); a row with a withheld count has status
``suppressed``, and the table's ``attrs["margins"]`` describes the totals for
:func:`dispro.disclosure.publishable`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from .._stats import bh
from ..counts.periods import pack_quarters, quarter_note, supplied_months
from ..disclosure import Margins, publishable, withheld_cells
from ..errors import DisproError, NotSuppliedError
from ..ethnicity import NOT_STATED
from .change import monthly_counts
from .concordance import concordance_summary
from .hitrate import hit_rates
from .rates import add_period, search_rates
from .shares import section60_shares, strip_search_shares
from .trend import trend_test

__all__ = [
    "PACK_QUARTERS",
    "CHANGE_COLUMNS",
    "CONCORDANCE_COLUMNS",
    "COMPARISONS",
    "pack_quarters",
    "supplied_months",
    "combined_area",
    "area_order",
    "quarterly_rates",
    "quarter_changes",
    "outcomes_by_quarter",
    "concordance_by_quarter",
    "finish_changes",
]

#: At most this many quarters (the last ones of the period) in the pack's quarter-by-quarter tables.
PACK_QUARTERS = 8
#: Columns of :func:`quarter_changes`.
CHANGE_COLUMNS = (
    "area", "group", "compared_with", "earlier", "latest", "earlier_rri", "latest_rri",
    "estimate", "ci_lower", "ci_upper", "statistic", "p_value", "dispersion", "dispersion_df",
    "q_value", "significant", "status",
)  # fmt: skip
#: Columns of :func:`concordance_by_quarter`.
CONCORDANCE_COLUMNS = (
    "area", "period", "searches", "agreement", "agreement_ci_lower", "agreement_ci_upper",
    "kappa", "kappa_ci_lower", "kappa_ci_upper", "status",
)  # fmt: skip
#: The comparisons of :func:`quarter_changes`: label -> quarters back from the latest.
COMPARISONS = {"the previous quarter": 1, "the same quarter a year earlier": 4}


def combined_area(area: str, records: pd.DataFrame) -> str | None:
    """``"Wessex"`` when the report's ``area`` is Wessex and the records hold more than one force
    (the forces' total is then published beside them); else None."""
    if area.lower() == "wessex" and records["force"].nunique() > 1:
        return "Wessex"
    return None


def area_order(table: pd.DataFrame, combined: str | None) -> list[str]:
    """The areas of ``table`` in the pack's order: the forces alphabetically, then the total."""
    areas = sorted(a for a in pd.unique(table["area"]) if a != combined)
    return [*areas, combined] if combined in set(table["area"]) else areas


def _quarter_of(months: pd.Series) -> np.ndarray:
    return np.asarray(pd.PeriodIndex(months.astype(str), freq="M").asfreq("Q").strftime("%YQ%q"))


def _in_quarters(records: pd.DataFrame, quarters: Sequence[str]) -> pd.DataFrame:
    """The records of the given quarters, with the reader's attrs (clock...) and its coverage
    table cut to the same quarters."""
    out = records.loc[np.isin(_quarter_of(records["month"]), list(quarters))].copy()
    out.attrs = {k: (list(v) if isinstance(v, list) else v) for k, v in records.attrs.items()}
    if "coverage" in records.attrs:
        cov = pd.DataFrame(records.attrs["coverage"])
        if len(cov):
            cov = cov[np.isin(_quarter_of(cov["month"]), list(quarters))]
        out.attrs["coverage"] = cov.to_dict("records")
    return out


def _in_area_order(table: pd.DataFrame, combined: str | None) -> pd.DataFrame:
    order = {a: i for i, a in enumerate(area_order(table, combined))}
    table = table.assign(_o=table["area"].map(order)).sort_values(["_o", "period"], kind="stable")
    return table.drop(columns="_o").reset_index(drop=True)


def quarterly_rates(
    records: pd.DataFrame,
    *,
    period_start: str,
    period_end: str,
    area: str,
    ethnicity: str = "self_defined",
    reference: str = "White",
    alpha: float = 0.05,
    threshold: int = 4,
    quarters: int = PACK_QUARTERS,
) -> pd.DataFrame:
    """Searches per 1,000 residents a year and the relative rate index, by area, quarter and group.

    One :func:`~dispro.stopsearch.search_rates` call over the pack's quarters
    (:func:`pack_quarters`), by force and, when ``area`` is Wessex, for the forces combined
    (Benjamini-Hochberg over the whole table); ``Not stated`` (no population) is left out.

    Parameters
    ----------
    records : DataFrame
        Stop-and-search records of the report's area and period.
    period_start, period_end : str
        The report's period (``YYYY-MM``).
    area : str
        The report's area (``"Wessex"`` adds the forces' total).
    ethnicity, reference, alpha
        As in :func:`~dispro.stopsearch.search_rates`.
    threshold : int
        Counts from 1 to ``threshold`` are withheld, with the counts that would give them away
        from a total (:func:`dispro.disclosure.withheld_cells`).
    quarters : int
        How many quarters: the last of the period up to the last quarter with every month
        supplied by every force (:func:`pack_quarters` with :func:`supplied_months`).

    Returns
    -------
    DataFrame
        ``area, period``, the columns of :func:`~dispro.stopsearch.search_rates` after ``force``
        and ``withheld`` (the count is withheld from publication). A row with a withheld count,
        or whose area-quarter's reference count is withheld, has status ``suppressed`` and no
        rate or ratio (rows without a base aside). ``attrs``: ``combined`` (the total's name or
        None), ``quarters`` (the pack's quarters; the last is "this quarter"),
        ``quarter_note`` (why this quarter is not the period end's, blank when it is) and
        ``margins``
        (:class:`dispro.disclosure.Margins` of ``events``).
    """
    supplied = supplied_months(records) if len(records) else []
    pack = pack_quarters(period_start, period_end, quarters=quarters, supplied=supplied)
    note = quarter_note(period_start, period_end, pack, supplied)
    records = _in_quarters(records, pack)
    if records.empty:
        out = pd.DataFrame(columns=["area", "period", "group", "events", "status", "withheld"])
        out.attrs.update(
            combined=None, quarters=pack, margins=Margins(counts=("events",)), quarter_note=note
        )
        return out
    combined = combined_area(area, records)
    rates = search_rates(
        records,
        period="quarter",
        ethnicity=ethnicity,
        reference=reference,
        alpha=alpha,
        combine=combined,
        suppress=threshold or None,
    )
    rates = rates[rates["group"] != NOT_STATED].rename(columns={"force": "area"})
    out = _in_area_order(rates, combined)
    margins = Margins(counts=("events",), total=combined)
    withheld = withheld_cells(out, threshold=threshold, counts=(), margins=margins)["events"]
    # a count withheld to protect another (secondary) loses its rate and ratio too, as rri does;
    # so does every group of the area-quarter when it is the reference's count
    keys = pd.MultiIndex.from_frame(out[["area", "period"]])
    is_ref = (out["group"] == reference).to_numpy()
    ref_withheld = pd.Series(withheld[is_ref], index=keys[is_ref])
    hide = withheld | keys.map(ref_withheld).fillna(False).to_numpy(dtype=bool)
    hide &= (out["status"] != "no_base").to_numpy()
    for c in ("rate", "rri", "ci_lower", "ci_upper", "p_value", "q_value"):
        out.loc[hide, c] = np.nan
    out.loc[hide, "significant"] = pd.NA
    out.loc[hide, "status"] = "suppressed"
    out["withheld"] = withheld
    out.attrs.update(combined=combined, quarters=pack, margins=margins, quarter_note=note)
    return out


def quarter_changes(
    records: pd.DataFrame,
    quarterly: pd.DataFrame,
    *,
    ethnicity: str = "self_defined",
    reference: str = "White",
    alpha: float = 0.05,
    quarters: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Has each group's relative rate changed since the previous quarter and a year earlier?

    For each area and group, the latest quarter is compared with the previous quarter and with
    the same quarter a year earlier (:data:`COMPARISONS`) by
    :func:`~dispro.stopsearch.trend_test` on the two quarters' monthly events and person-years
    (:func:`~dispro.stopsearch.change.monthly_counts`): a quasi-Poisson model with a log
    person-years offset and a fixed effect per month, whose group x quarter term is the ratio of
    the two relative rates (``estimate``, with its interval), tested by an F test with the
    dispersion estimated from the months within the quarters. Benjamini-Hochberg
    q-values are taken over the table; ``significant`` only when q is below ``alpha`` and the
    interval excludes 1. A comparison where any of the four counts (the group's and the
    reference's, in the two quarters) is suppressed has status ``suppressed``, one where any is
    zero ``too_few``; neither is tested.

    Parameters
    ----------
    records : DataFrame
        The stop-and-search records :func:`quarterly_rates` was given.
    quarterly : DataFrame
        The table of :func:`quarterly_rates`: the status of each count decides what is tested.
    ethnicity, reference, alpha
        As given to :func:`quarterly_rates`; ``alpha`` is also the significance level.
    quarters : list of str, optional
        The pack's quarters (default ``quarterly.attrs["quarters"]``); the last is the latest.

    Returns
    -------
    DataFrame
        :data:`CHANGE_COLUMNS`, one row per area, group and comparison. ``attrs["untested"]``:
        the comparisons that could not be made for a whole area, as records ``area,
        compared_with, quarter, reason`` (``reason``: ``no_base``, no rates per resident;
        ``outside_period``, the earlier quarter is not in the pack; ``not_supplied``, no
        searches were supplied for ``quarter``).
    """
    pack = list(quarters if quarters is not None else quarterly.attrs.get("quarters", []))
    table = pd.DataFrame(columns=list(CHANGE_COLUMNS))
    untested: list[dict] = []
    if quarterly.empty or not pack:
        table.attrs["untested"] = untested
        return table
    latest = pack[-1]
    now = pd.Period(latest, freq="Q")
    combined = quarterly.attrs.get("combined")
    monthly = monthly_counts(
        _in_quarters(records, pack), ethnicity=ethnicity, reference=reference, combine=combined
    )
    rows_out = []
    for area in area_order(quarterly, combined):
        rows = quarterly[quarterly["area"] == area]
        if (rows["status"] == "no_base").all():
            untested.append(
                {"area": area, "compared_with": None, "quarter": None, "reason": "no_base"}
            )
            continue
        for label, back in COMPARISONS.items():
            earlier = str(now - back)
            present = set(rows["period"])
            if earlier not in present or latest not in present:
                missing = earlier if earlier not in present else latest
                outside = earlier not in pack and missing == earlier
                untested.append(
                    {
                        "area": area,
                        "compared_with": label,
                        "quarter": missing,
                        "reason": "outside_period" if outside else "not_supplied",
                    }
                )
                continue
            months = monthly[monthly["force"] == area]
            rows_out += _compare(rows, months, area, label, earlier, latest, reference, alpha)
    if rows_out:
        table = pd.DataFrame(rows_out, columns=list(CHANGE_COLUMNS))
    return finish_changes(table, untested, alpha)


def finish_changes(table: pd.DataFrame, untested: list, alpha: float) -> pd.DataFrame:
    """The one finish of a pack's change table (:data:`CHANGE_COLUMNS`, stop search and OOCD):
    numbers as floats, Benjamini-Hochberg over the table, ``significant`` when q is below
    ``alpha`` and the interval excludes 1 (missing where untested), ``attrs["untested"]``."""
    numeric = ("earlier_rri", "latest_rri", "estimate", "ci_lower", "ci_upper", "statistic")
    for c in (*numeric, "p_value", "dispersion", "dispersion_df"):
        table[c] = pd.to_numeric(table[c], errors="coerce").astype(float)
    table["q_value"] = bh(table["p_value"].to_numpy(dtype=float))
    tested = table["q_value"].notna().to_numpy()
    clear = (table["q_value"] < alpha) & ((table["ci_lower"] > 1) | (table["ci_upper"] < 1))
    table["significant"] = pd.array(np.where(tested, clear, False), dtype="boolean")
    table.loc[~tested, "significant"] = pd.NA
    table.attrs["untested"] = untested
    return table


def _compare(rows, months, area, label, earlier, latest, reference, alpha) -> list[dict]:
    """The change test of each group of one area between two quarters, on its months."""
    pair = rows[rows["period"].isin([earlier, latest])].set_index(["group", "period"])
    out = []
    for group in [g for g in pd.unique(rows["group"]) if g != reference]:
        if (group, earlier) not in pair.index or (group, latest) not in pair.index:
            continue
        cells = pair.loc[
            [(group, earlier), (group, latest), (reference, earlier), (reference, latest)]
        ]
        if (cells["status"] == "no_base").any():
            continue
        row = {
            "area": area, "group": group, "compared_with": label, "earlier": earlier,
            "latest": latest, "earlier_rri": pair.loc[(group, earlier), "rri"],
            "latest_rri": pair.loc[(group, latest), "rri"],
            # a suppressed count hides the row's ratios ([c]); zero counts leave no test
            "status": "suppressed" if (cells["status"] == "suppressed").any() else "too_few",
        }  # fmt: skip
        if (cells["status"] == "ok").all():
            pair_months = months[
                months["quarter"].isin([earlier, latest]) & months["group"].isin([group, reference])
            ]
            test = trend_test(
                pair_months, group="group", reference=reference, period="quarter", time="month",
                exposure="base", groups=[group], alpha=alpha,
            )  # fmt: skip
            change = test[test["test"] == "change"]
            if len(change):
                found = change.iloc[0]
                row.update(
                    {k: found[k] for k in ("estimate", "ci_lower", "ci_upper", "statistic")},
                    p_value=found["p_value"],
                    dispersion=found["dispersion"],
                    dispersion_df=found["dispersion_df"],
                    status="ok",
                )
        out.append(row)
    return out


def _by_area_quarter(func: Callable, records, combined, **kwargs) -> pd.DataFrame:
    """``func(records, by=[force, period])`` and, with ``combined``, ``by=period`` for all the
    forces together; one table with ``area`` and ``period`` first."""
    labelled = add_period(records, "quarter")
    labelled.attrs = records.attrs
    parts = [func(labelled, by=["force", "period"], **kwargs).rename(columns={"force": "area"})]
    if combined:
        parts.append(func(labelled, by="period", **kwargs).assign(area=combined))
    kept = {k: parts[0].attrs[k] for k in ("outcome", "outcome_reason") if k in parts[0].attrs}
    for part in parts:
        part.attrs = {}
    out = _in_area_order(pd.concat(parts, ignore_index=True), combined)
    out.attrs.update(kept)  # which outcome a hit rate used, and why
    return out


def outcomes_by_quarter(
    records: pd.DataFrame,
    quarterly: pd.DataFrame,
    *,
    ethnicity: str = "self_defined",
    reference: str = "White",
    alpha: float = 0.05,
    threshold: int = 4,
) -> dict[str, pd.DataFrame]:
    """Hit rates, strip searches and section 60 searches by area, quarter and group.

    Each measure is the library's (:func:`~dispro.stopsearch.hit_rates`,
    :func:`~dispro.stopsearch.strip_search_shares`,
    :func:`~dispro.stopsearch.section60_shares`) with ``by=["force", "period"]`` (and
    ``by="period"`` for the forces combined, as in ``quarterly``), ``Not stated`` left out.
    Rows with a withheld count (:func:`dispro.disclosure.withheld_cells`), and for hit rates the
    rows whose area-quarter's reference count is withheld, have status ``suppressed``.

    Parameters
    ----------
    records : DataFrame
        The stop-and-search records :func:`quarterly_rates` was given.
    quarterly : DataFrame
        The table of :func:`quarterly_rates`: its quarters and its total are the pack's.
    ethnicity : str
        ``"officer_defined"`` compares the groups of the records' ``officer_ethnicity``; else
        their ``ethnicity``.
    reference, alpha, threshold
        As given to :func:`quarterly_rates`.

    Returns
    -------
    dict
        ``{"hit_rates": ..., "strip": ..., "s60": ...}``; the counts are ``searches`` and
        ``hits``, ``strip_searches`` or ``s60_searches``. Each table's ``attrs["margins"]``
        describes its totals; a measure that cannot be computed is an empty table whose
        ``attrs["error"]`` says why. An empty dict when no record falls in the pack's quarters.
    """
    records = _in_quarters(records, quarterly.attrs["quarters"])
    if records.empty:
        return {}
    combined = quarterly.attrs["combined"]
    group = "officer_ethnicity" if ethnicity == "officer_defined" else "ethnicity"
    measures = {
        "hit_rates": (hit_rates, "hits", {"reference": reference, "outcome": "auto"}),
        "strip": (strip_search_shares, "strip_searches", {}),
        "s60": (section60_shares, "s60_searches", {}),
    }
    out = {}
    for key, (func, name, options) in measures.items():
        try:
            table = _by_area_quarter(func, records, combined, group=group, alpha=alpha, **options)
        except DisproError as exc:
            out[key] = pd.DataFrame()
            out[key].attrs["error"] = str(exc)
            if isinstance(exc, NotSuppliedError):
                out[key].attrs["not_supplied"] = exc.column or exc.field
            continue
        used = {k: table.attrs[k] for k in ("outcome", "outcome_reason") if k in table.attrs}
        table = table[table["group"] != NOT_STATED].reset_index(drop=True)
        table.attrs = used
        if key != "hit_rates":
            table = table.rename(columns={"events": name})
        margins = Margins(counts=("searches", name), total=combined)
        status = publishable(
            table,
            threshold=threshold,
            counts=margins.counts,
            margins=margins,
            reference=reference if key == "hit_rates" else None,
        )["status"]
        out[key] = table.assign(status=status.to_numpy())
        out[key].attrs.update(used, margins=margins)
    return out


def concordance_by_quarter(
    records: pd.DataFrame,
    quarterly: pd.DataFrame,
    *,
    alpha: float = 0.05,
    threshold: int = 4,
) -> pd.DataFrame:
    """Agreement between self-defined and officer-defined ethnicity by area and quarter.

    :func:`~dispro.stopsearch.concordance_summary` on each area-quarter of ``quarterly`` (the
    table of :func:`quarterly_rates`, given ``records``), and each quarter of the forces combined
    where it has their total: the share of searches on which the two agree, with
    its Wilson interval, and Cohen's kappa. A row whose number of searches is withheld
    (:func:`dispro.disclosure.withheld_cells`) has status ``suppressed``.

    Returns
    -------
    DataFrame
        :data:`CONCORDANCE_COLUMNS`; empty when the records hold no officer-defined ethnicity
        (``attrs["error"]`` says so) or no search has both groups. ``attrs["margins"]``
        describes the totals.
    """
    records = _in_quarters(records, quarterly.attrs["quarters"])
    empty = pd.DataFrame(columns=list(CONCORDANCE_COLUMNS))
    if records.empty or "officer_ethnicity" not in records.columns:
        empty.attrs["error"] = "officer-defined ethnicity was not supplied"
        return empty
    try:
        concordance_summary(records, alpha=alpha)  # a field never supplied ends it here
    except NotSuppliedError as exc:
        empty.attrs["error"] = str(exc)
        empty.attrs["not_supplied"] = exc.column or exc.field
        return empty
    except DisproError:
        pass  # e.g. no search with both groups overall: each quarter says so below
    combined = quarterly.attrs["combined"]
    labelled = add_period(records, "quarter")
    slices = [((a, p), frame) for (a, p), frame in labelled.groupby(["force", "period"])]
    if combined:
        slices += [((combined, p), frame) for p, frame in labelled.groupby("period")]
    rows = []
    for (name, period), frame in slices:
        frame.attrs = {}
        try:
            summary = concordance_summary(frame, alpha=alpha).set_index("statistic")
        except DisproError:
            continue
        kappa, agree = summary.loc["kappa"], summary.loc["percent_agreement"]
        rows.append({
            "area": name, "period": period, "searches": int(agree["searches"]),
            "agreement": agree["estimate"], "agreement_ci_lower": agree["ci_lower"],
            "agreement_ci_upper": agree["ci_upper"], "kappa": kappa["estimate"],
            "kappa_ci_lower": kappa["ci_lower"], "kappa_ci_upper": kappa["ci_upper"], "status": "ok",
        })  # fmt: skip
    if not rows:
        return empty
    table = _in_area_order(pd.DataFrame(rows, columns=list(CONCORDANCE_COLUMNS)), combined)
    margins = Margins(counts=("searches",), total=combined, by=())
    published = publishable(table, threshold=threshold, counts=margins.counts, margins=margins)
    table["status"] = published["status"].to_numpy()
    table.attrs["margins"] = margins
    return table
