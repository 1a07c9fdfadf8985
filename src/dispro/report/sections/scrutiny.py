"""The quarterly stop-and-search scrutiny pack (report ``"scrutiny"``): the latest quarter, its
change since the previous quarter and a year earlier, and the last quarters one by one."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ...errors import DisproError, DisproWarning
from ...ethnicity import NOT_STATED
from ..wording import describe_change
from ._common import RRI_SHOW, first_sentences, is_pack

__all__ = [
    "PACK_QUARTERS",
    "CHANGE_COLUMNS",
    "pack_quarters",
    "scrutiny_latest_quarter",
    "scrutiny_change",
    "scrutiny_rates_by_quarter",
    "scrutiny_outcomes_by_quarter",
    "scrutiny_concordance_by_quarter",
]


#: At most this many quarters (the last ones of the period) in the pack's quarter-by-quarter tables.
PACK_QUARTERS = 8


#: Columns of the pack's change table (:func:`scrutiny_change`).
CHANGE_COLUMNS = (
    "area", "group", "compared_with", "earlier", "latest", "earlier_rri", "latest_rri",
    "estimate", "ci_lower", "ci_upper", "statistic", "p_value", "q_value", "significant", "status",
)  # fmt: skip


_PACK_RATES_SHOW = ["area", "period", *RRI_SHOW, "months_covered"]


def _quarter_words(label: str) -> str:
    """``"2024Q1"`` -> ``"January to March 2024"``."""
    quarter = pd.Period(label, freq="Q")
    first = quarter.asfreq("M", "start").strftime("%B")
    return f"{first} to {quarter.asfreq('M', 'end').strftime('%B %Y')}"


def pack_quarters(params) -> list[str]:
    """The calendar quarters of the period (``2024Q1`` labels, as ``add_period``), the last
    :data:`PACK_QUARTERS` of them; the last is the period end's quarter."""
    months = pd.period_range(params["period_start"], params["period_end"], freq="M")
    return sorted(set(months.asfreq("Q").strftime("%YQ%q")))[-PACK_QUARTERS:]


def _combined_name(params, records) -> str | None:
    """``"Wessex"`` when the report's area is Wessex and the records hold more than one force."""
    if params["area"].lower() == "wessex" and records["force"].nunique() > 1:
        return "Wessex"
    return None


def _pack_records(data, params) -> pd.DataFrame:
    """The person-search records of the pack's quarters (with the reader's attrs: coverage, clock)."""
    records = data.get("stop_search")
    if records is None:
        return pd.DataFrame()
    labels = pd.PeriodIndex(records["month"].astype(str), freq="M").asfreq("Q").strftime("%YQ%q")
    keep = np.isin(np.asarray(labels), pack_quarters(params))
    out = records.loc[keep].copy()
    out.attrs = {k: (list(v) if isinstance(v, list) else v) for k, v in records.attrs.items()}
    return out


def _area_order(table: pd.DataFrame, combined: str | None) -> list[str]:
    areas = sorted(a for a in pd.unique(table["area"]) if a != combined)
    return [*areas, combined] if combined in set(table["area"]) else areas


def _group_column(params) -> str:
    """The records' column of the groups compared in hit rates and shares."""
    return "officer_ethnicity" if params["ethnicity"] == "officer_defined" else "ethnicity"


def _withheld(table, counts, *, threshold, combined=None, by=("group",)) -> dict[str, np.ndarray]:
    """Cells of a pack table (``area``, ``period``, ``by``..., counts) to withhold, per count column.

    Primary: a count from 1 to ``threshold``. Secondary, with :func:`dispro.disclosure.suppress`
    on each ``by`` slice as a table of quarters by force whose margins are published too (the
    combined area per quarter in this table; each force's whole period in the chapter's
    whole-period tables): further counts, so that no withheld count can be worked out by
    subtraction from a total.
    """
    from ...disclosure import CONFIDENTIAL, suppress

    table = table.reset_index(drop=True)
    out = {c: np.zeros(len(table), dtype=bool) for c in counts}
    if threshold <= 0 or table.empty:
        return out
    slices = list(table.groupby(list(by), sort=False)) if by else [(None, table)]
    for c in counts:
        out[c] |= pd.to_numeric(table[c], errors="coerce").between(1, threshold).to_numpy()
        for _, part in slices:
            body = part[part["area"] != combined]
            if not pd.to_numeric(body[c], errors="coerce").between(1, threshold).any():
                continue
            wide = body.pivot(index="period", columns="area", values=c).astype(float)
            hidden = suppress(wide, threshold=threshold, margins=True) == CONFIDENTIAL
            for i, row in part.iterrows():
                area = "Total" if row["area"] == combined else row["area"]
                if area in hidden.columns and row["period"] in hidden.index:
                    out[c][i] |= bool(hidden.loc[row["period"], area])
    return out


def _publishable(table, withheld, *, slice_by=None, reference=None) -> pd.DataFrame:
    """A pack table with its withheld counts (``withheld``: column -> mask, from
    :func:`_withheld`) written ``[c]`` here, since :meth:`dispro.report.Chapter.table` suppresses
    only counts from 1 to the threshold, not secondary cells; a row with a withheld count gets
    status ``suppressed``, so that the published table hides its rates and intervals too ([c]: a
    rate beside its denominator gives the count away). With ``reference``, a row is also
    suppressed when its ``slice_by`` slice's reference row is (its ratio to the reference would
    give the reference's rate away), as :func:`dispro.rri` does with ``suppress``. Publish the
    result with those counts left out of :meth:`~dispro.report.Chapter.table`'s ``counts`` (they
    are written already)."""
    from ...disclosure import CONFIDENTIAL, NOT_AVAILABLE

    out = table.reset_index(drop=True).copy()
    masks = {c: np.asarray(m, dtype=bool) for c, m in withheld.items()}
    row = np.logical_or.reduce(list(masks.values())) if masks else np.zeros(len(out), dtype=bool)
    if reference is not None and len(out):
        keys = list(slice_by)
        flagged = out[keys].assign(_w=row, _ref=(out["group"] == reference).to_numpy())
        ref_withheld = flagged[flagged["_ref"]].groupby(keys)["_w"].any()
        row = row | flagged.set_index(keys).index.map(ref_withheld).fillna(False).to_numpy(
            dtype=bool
        )
    out.loc[row, "status"] = "suppressed"
    for c, mask in masks.items():
        out[c] = [
            CONFIDENTIAL if hide else NOT_AVAILABLE if pd.isna(v) else f"{int(v):,}"
            for v, hide in zip(out[c], mask, strict=True)
        ]
    return out


#: ``counts=`` for the pack's tables: their own counts are written already (see
#: :func:`_publishable`); Chapter.table still suppresses the person-years.
_STILL_TO_SUPPRESS = ("base",)


def _quarterly_rates(data, params) -> pd.DataFrame:
    """Searches per 1,000 residents a year and the RRI, by area, quarter and group, for the
    pack's quarters: one :func:`dispro.stopsearch.search_rates` call (Benjamini-Hochberg over
    the whole table). Counts from 1 to the threshold, and those withheld so that they cannot be
    worked out from a total (:func:`_withheld`), have status ``suppressed`` and no rate or ratio;
    ``withheld`` marks the counts to publish as [c]."""
    from ...stopsearch import search_rates

    records = _pack_records(data, params)
    if records.empty:
        return pd.DataFrame(columns=["area", "period", *RRI_SHOW])
    combined = _combined_name(params, records)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DisproWarning)
        rates = search_rates(
            records,
            period="quarter",
            ethnicity=params["ethnicity"],
            reference=params["reference"],
            alpha=params["alpha"],
            combine=combined,
            suppress=params["suppression_threshold"] or None,
        )
    rates = rates[rates["group"] != NOT_STATED].rename(columns={"force": "area"})
    order = {a: i for i, a in enumerate(_area_order(rates, combined))}
    rates = rates.assign(_o=rates["area"].map(order)).sort_values(["_o", "period"], kind="stable")
    out = rates.drop(columns="_o").reset_index(drop=True)
    withheld = _withheld(
        out, ("events",), threshold=params["suppression_threshold"], combined=combined
    )["events"]
    # a count withheld to protect another (secondary) loses its rate and ratio too, as rri does;
    # so does every group of the area-quarter when it is the reference's count
    keys = pd.MultiIndex.from_frame(out[["area", "period"]])
    is_ref = (out["group"] == params["reference"]).to_numpy()
    ref_withheld = pd.Series(withheld[is_ref], index=keys[is_ref])
    hide = withheld | keys.map(ref_withheld).fillna(False).to_numpy(dtype=bool)
    hide &= (out["status"] != "no_base").to_numpy()
    for c in ("rate", "rri", "ci_lower", "ci_upper", "p_value", "q_value"):
        out.loc[hide, c] = np.nan
    out.loc[hide, "significant"] = pd.NA
    out.loc[hide, "status"] = "suppressed"
    out["withheld"] = withheld
    out.attrs["combined"] = combined
    return out


def scrutiny_latest_quarter(ch, data, params) -> pd.DataFrame:
    """The pack's headline: search rates and relative rates in the period end's quarter.

    For each force (and Wessex combined when the area is Wessex): the searches per 1,000
    residents a year of each group and the relative rate index against the reference, in plain
    English (:func:`dispro.report.wording.describe_table`) and as a table cut from the pack's quarterly
    table. Nothing for the full report (``params["report"]`` other than ``"scrutiny"``).

    Returns
    -------
    DataFrame
        The pack's quarterly rates table (every quarter of the pack, by area and group), from
        which the headline, :func:`scrutiny_change` and :func:`scrutiny_rates_by_quarter` take
        their numbers; empty for the full report.
    """
    if not is_pack(params):
        return pd.DataFrame()
    quarterly = _quarterly_rates(data, params)
    latest = pack_quarters(params)[-1]
    words = _quarter_words(latest)
    ch.heading(f"This quarter: {words}")
    ch.text(
        f"The scrutiny pack looks at the latest quarter of the period ({words}, {latest}) first, "
        "then at how it compares with the previous quarter and with the same quarter a year "
        f"earlier, then at the last {len(pack_quarters(params))} quarters one by one. Rates are "
        "person searches per 1,000 residents a year: the quarter's searches over the residents' "
        "person-years in it (Census 2021 usual residents times the months supplied / 12)."
    )
    if quarterly.empty:
        ch.text("No stop-and-search records were supplied for the pack's quarters.")
        return quarterly
    rows = quarterly[quarterly["period"] == latest]
    for area in _area_order(quarterly, quarterly.attrs.get("combined")):
        ch.heading(area, level=4)
        ch.bullets(_latest_sentences(rows[rows["area"] == area], area, latest, params))
    ch.table(
        "q_latest",
        _publishable(rows[_PACK_RATES_SHOW], {"events": rows["withheld"]}),
        counts=_STILL_TO_SUPPRESS,
        caption=f"{words}: person searches per 1,000 residents a year and the relative rate index "
        f"against {params['reference']} people",
        notes="Rates are annualised over the months supplied. q: Benjamini-Hochberg over the "
        "pack's quarterly table. Rows with a count from 1 to "
        f"{params['suppression_threshold']} (the group's or the reference's), or a count withheld "
        "so that another cannot be worked out from a total, are suppressed with their rates and "
        "ratios.",
    )
    return quarterly


def _latest_sentences(rows, area, latest, params) -> list[str]:
    """Plain-English sentences about one area's rows of the latest quarter (from the table)."""
    from ...disclosure import CONFIDENTIAL

    words = _quarter_words(latest)
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
            f"{g} {CONFIDENTIAL if hide else f'{int(n):,}'}"
            for g, n, hide in zip(rows["group"], rows["events"], rows["withheld"], strict=True)
        )
        note = next((n for n in rows["note"] if n), "there is no resident population for it")
        out.append(f"Person searches in {words}: {counts}.")
        out.append(
            f"Rates per 1,000 residents, and so relative rates, cannot be calculated for {area}: {note}."
        )
        return out
    shown, hidden = [], []
    for _, row in rows.iterrows():
        if row["status"] == "suppressed" or pd.isna(row["rate"]):
            hidden.append(str(row["group"]))
        else:
            shown.append(f"{row['group']} {row['rate']:,.2f}")
    text = f"Person searches per 1,000 residents a year in {words}: " + "; ".join(shown)
    if hidden:
        text += f" ({', '.join(hidden)}: too few searches to show)"
    out.append(text + ".")
    out.extend(first_sentences(rows, params, "stopped and searched", None))
    return out


def scrutiny_change(ch, quarterly, params) -> pd.DataFrame:
    """Has the relative rate changed since the previous quarter and since a year earlier?

    For each area and group, the latest quarter is compared with the previous quarter and with
    the same quarter a year earlier by :func:`dispro.stopsearch.trend_test` on the two quarters'
    events and person-years (taken from ``quarterly``, the table of
    :func:`scrutiny_latest_quarter`): a Poisson model with a log person-years offset, whose
    group x quarter term is the ratio of the two relative rates (``estimate``, with its Wald
    interval), tested by likelihood ratio. Benjamini-Hochberg q-values are taken over the
    table; a change is called clear only when q is below alpha and the interval excludes 1
    (:func:`dispro.report.wording.describe_change`). A comparison where any of the four counts (the
    group's and the reference's, in the two quarters) is suppressed has status ``suppressed``,
    one where any is zero ``too_few``; neither is tested ("too few cases to tell").

    Returns
    -------
    DataFrame
        :data:`CHANGE_COLUMNS`, one row per area, group and comparison; empty for the full report.
    """
    from ..._stats import bh as _bh
    from ...stopsearch import trend_test

    if not is_pack(params) or quarterly.empty:
        return pd.DataFrame(columns=list(CHANGE_COLUMNS))
    reference, alpha = params["reference"], params["alpha"]
    latest = pack_quarters(params)[-1]
    now = pd.Period(latest, freq="Q")
    comparisons = [
        ("the previous quarter", str(now - 1)),
        ("the same quarter a year earlier", str(now - 4)),
    ]
    ch.heading("Change since the previous quarter and since a year earlier")
    ch.text(
        f"Each group's relative rate in {_quarter_words(latest)} is compared with its relative "
        "rate in the previous quarter and in the same quarter a year earlier (which takes out "
        "seasonal patterns). The test asks whether the ratio of the two relative rates differs "
        "from 1 (Poisson model with the person-years as exposure; likelihood-ratio test)."
    )
    combined = quarterly.attrs.get("combined")
    rows_out, notes = [], []
    for area in _area_order(quarterly, combined):
        rows = quarterly[quarterly["area"] == area]
        if (rows["status"] == "no_base").all():
            notes.append(
                f"{area}: without rates per resident, relative rates cannot be compared "
                "between quarters."
            )
            continue
        for label, earlier in comparisons:
            present = set(rows["period"])
            if earlier not in present or latest not in present:
                missing = earlier if earlier not in present else latest
                reason = (
                    "falls outside the report's period"
                    if earlier not in pack_quarters(params) and missing == earlier
                    else "has no searches supplied"
                )
                notes.append(
                    f"{area}: the change since {label} cannot be tested: {_quarter_words(missing)} "
                    f"{reason}."
                )
                continue
            pair = rows[rows["period"].isin([earlier, latest])].set_index(["group", "period"])
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
                    counts = cells.reset_index()[["group", "period", "events", "base"]]
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        test = trend_test(
                            counts, group="group", reference=reference, period="period",
                            exposure="base", groups=[group], alpha=alpha,
                        )  # fmt: skip
                    change = test[test["test"] == "change"]
                    if len(change):
                        found = change.iloc[0]
                        row.update(
                            {
                                k: found[k]
                                for k in (
                                    "estimate",
                                    "ci_lower",
                                    "ci_upper",
                                    "statistic",
                                    "p_value",
                                )
                            },
                            status="ok",
                        )
                rows_out.append(row)
    table = pd.DataFrame(rows_out, columns=list(CHANGE_COLUMNS))
    for c in (
        "earlier_rri",
        "latest_rri",
        "estimate",
        "ci_lower",
        "ci_upper",
        "statistic",
        "p_value",
    ):
        table[c] = pd.to_numeric(table[c], errors="coerce").astype(float)
    table["q_value"] = _bh(table["p_value"].to_numpy(dtype=float))
    tested = table["q_value"].notna().to_numpy()
    clear = (table["q_value"] < alpha) & ((table["ci_lower"] > 1) | (table["ci_upper"] < 1))
    table["significant"] = pd.array(np.where(tested, clear, False), dtype="boolean")
    table.loc[~tested, "significant"] = pd.NA
    for area in _area_order(table, combined) if len(table) else []:
        sentences = []
        for label, rows in table[table["area"] == area].groupby("compared_with", sort=False):
            since = f"{label}, {_quarter_words(rows['earlier'].iloc[0])}"
            if (rows["status"] != "ok").all():  # one sentence, not one per group
                sentences.append(
                    describe_change(
                        {"status": "too_few"}, group="any group", reference=reference, since=since
                    )
                )
                continue
            sentences += [
                describe_change(
                    row, group=row["group"], reference=reference, since=since, alpha=alpha
                )
                for _, row in rows.iterrows()
            ]
        ch.heading(area, level=4)
        ch.bullets(sentences)
    if notes:
        ch.bullets(notes)
    if len(table):
        ch.table(
            "q_change",
            table,
            caption=f"Change in the relative rate of being searched: {_quarter_words(latest)} "
            "against the previous quarter and the same quarter a year earlier",
            notes="estimate = latest relative rate / earlier relative rate, with its Wald "
            f"interval; p: likelihood-ratio test; q: Benjamini-Hochberg over this table. "
            "suppressed: a count in one of the two quarters is from 1 to "
            f"{params['suppression_threshold']}; too_few: a count is zero; neither is tested.",
        )
    elif not notes:
        ch.text("No relative rates could be compared between quarters.")
    return table


def scrutiny_rates_by_quarter(ch, quarterly, params) -> pd.DataFrame:
    """The pack's quarter-by-quarter table of search rates and relative rates (from
    ``quarterly``, the table of :func:`scrutiny_latest_quarter`). Returns what was published."""
    if not is_pack(params) or quarterly.empty:
        return pd.DataFrame()
    quarters = pack_quarters(params)
    ch.heading("Quarter by quarter")
    ch.text(
        f"The last {len(quarters)} quarters of the period, {_quarter_words(quarters[0])} to "
        f"{_quarter_words(quarters[-1])}, one by one: searches and their rates, hit rates, strip "
        "searches, section 60 searches and the agreement between self-defined and "
        f"officer-defined ethnicity. Counts from 1 to {params['suppression_threshold']} are "
        "suppressed ([c]), with the rates, shares and intervals worked out from them."
    )
    return ch.table(
        "q_rates",
        _publishable(quarterly[_PACK_RATES_SHOW], {"events": quarterly["withheld"]}),
        counts=_STILL_TO_SUPPRESS,
        caption="Person searches per 1,000 residents a year and the relative rate index, by quarter",
        notes="Rates are annualised over the months supplied (months_covered). q: "
        "Benjamini-Hochberg over this table. Not stated has no population and is left out.",
    )


def _by_area_quarter(func, records, combined, **kwargs) -> pd.DataFrame:
    """``func(records, by=[force, period])`` and, with ``combined``, ``by=period`` for all the
    forces together; one table with ``area`` and ``period`` first."""
    from ...stopsearch import add_period

    labelled = add_period(records, "quarter")
    labelled.attrs = records.attrs
    parts = [func(labelled, by=["force", "period"], **kwargs).rename(columns={"force": "area"})]
    if combined:
        parts.append(func(labelled, by="period", **kwargs).assign(area=combined))
    for part in parts:
        part.attrs = {}
    out = pd.concat(parts, ignore_index=True)
    order = {a: i for i, a in enumerate(_area_order(out, combined))}
    out = out.assign(_o=out["area"].map(order)).sort_values(["_o", "period"], kind="stable")
    return out.drop(columns="_o").reset_index(drop=True)


def scrutiny_outcomes_by_quarter(ch, data, params) -> dict[str, pd.DataFrame]:
    """Hit rates, strip searches and section 60 searches by area, quarter and group.

    Each measure is the library's (:func:`dispro.stopsearch.hit_rates`,
    :func:`~dispro.stopsearch.strip_search_shares`, :func:`~dispro.stopsearch.section60_shares`)
    with ``by=["force", "period"]`` (and ``by="period"`` for Wessex combined). Rows with a count
    from 1 to the threshold are withheld with their shares (status ``suppressed``).

    Returns
    -------
    dict
        ``{"hit_rates": ..., "strip": ..., "s60": ...}``: the tables before publication (each
        empty when the field was not supplied); an empty dict for the full report.
    """
    from ...stopsearch import hit_rates, section60_shares, strip_search_shares

    if not is_pack(params):
        return {}
    records = _pack_records(data, params)
    if records.empty:
        return {}
    combined = _combined_name(params, records)
    group, reference = _group_column(params), params["reference"]
    threshold, alpha = params["suppression_threshold"], params["alpha"]
    out = {}
    ch.heading("Hit rates by quarter", level=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DisproWarning)
        try:
            hits = _by_area_quarter(
                hit_rates, records, combined, group=group, reference=reference, alpha=alpha
            )
        except DisproError as exc:
            hits = None
            ch.text(f"Hit rates cannot be shown by quarter: {exc}")
    if hits is not None:
        hits = hits[hits["group"] != NOT_STATED].reset_index(drop=True)
        withheld = _withheld(hits, ("searches", "hits"), threshold=threshold, combined=combined)
        published = _publishable(hits, withheld, slice_by=("area", "period"), reference=reference)
        out["hit_rates"] = hits.assign(status=published["status"])
        ch.text(
            "The share of person searches (section 60 searches left out) whose outcome was linked "
            "to the object of the search, with Wilson intervals, and its ratio to the "
            f"{reference} group's (Katz interval). A lower hit rate can suggest weaker grounds for "
            "searching, but hit rates also differ for other reasons (infra-marginality)."
        )
        ch.table(
            "q_hit_rates",
            published[["area", "period", "group", "searches", "hits", "hit_rate", "ci_lower",
                       "ci_upper", "ratio", "ratio_ci_lower", "ratio_ci_upper", "status"]],
            caption="Hit rate (outcome linked to the object of search) by quarter and group",
            counts=_STILL_TO_SUPPRESS,
        )  # fmt: skip
    for key, func, name, what in (
        ("strip", strip_search_shares, "strip_searches",
         "Searches involving the removal of more than outer clothing"),
        ("s60", section60_shares, "s60_searches",
         "Searches under section 60 (no reasonable suspicion needed)"),
    ):  # fmt: skip
        ch.heading(f"{what.split(' (')[0]} by quarter", level=3)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DisproWarning)
            try:
                table = _by_area_quarter(func, records, combined, group=group, alpha=alpha)
            except DisproError as exc:
                ch.text(f"{what} cannot be shown by quarter: {exc}")
                continue
        table = (
            table[table["group"] != NOT_STATED]
            .rename(columns={"events": name})
            .reset_index(drop=True)
        )
        withheld = _withheld(table, ("searches", name), threshold=threshold, combined=combined)
        published = _publishable(table, withheld)
        out[key] = table.assign(status=published["status"])
        ch.table(
            f"q_{key}",
            published[
                [
                    "area",
                    "period",
                    "group",
                    "searches",
                    name,
                    "share",
                    "ci_lower",
                    "ci_upper",
                    "status",
                ]
            ],
            caption=f"{what}: count and share of person searches by quarter and group",
            notes="share: of person searches with the field recorded, with its Wilson interval; "
            "not_supplied: the force did not supply the field for those months (never 0%).",
            counts=_STILL_TO_SUPPRESS,
        )
    return out


def scrutiny_concordance_by_quarter(ch, data, params) -> pd.DataFrame:
    """Agreement between self-defined and officer-defined ethnicity by area and quarter
    (:func:`dispro.stopsearch.concordance_summary` on each area-quarter), where the records
    carry the officer's view. Returns the table before publication (empty when not available)."""
    from ...stopsearch import add_period, concordance_summary

    empty = pd.DataFrame()
    if not is_pack(params):
        return empty
    records = _pack_records(data, params)
    ch.heading("Self-defined and officer-defined ethnicity by quarter", level=3)
    if records.empty or "officer_ethnicity" not in records.columns:
        ch.text(
            "Officer-defined ethnicity was not supplied, so its agreement with self-defined "
            "ethnicity cannot be shown."
        )
        return empty
    combined = _combined_name(params, records)
    labelled = add_period(records, "quarter")
    slices = [
        ((area, period), frame) for (area, period), frame in labelled.groupby(["force", "period"])
    ]
    if combined:
        slices += [((combined, period), frame) for period, frame in labelled.groupby("period")]
    rows = []
    for (area, period), frame in slices:
        frame.attrs = {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DisproWarning)
            try:
                summary = concordance_summary(frame, alpha=params["alpha"]).set_index("statistic")
            except DisproError:
                continue
        kappa, agree = summary.loc["kappa"], summary.loc["percent_agreement"]
        rows.append({
            "area": area, "period": period, "searches": int(agree["searches"]),
            "agreement": agree["estimate"], "agreement_ci_lower": agree["ci_lower"],
            "agreement_ci_upper": agree["ci_upper"], "kappa": kappa["estimate"],
            "kappa_ci_lower": kappa["ci_lower"], "kappa_ci_upper": kappa["ci_upper"], "status": "ok",
        })  # fmt: skip
    if not rows:
        ch.text(
            "No search has both a self-defined and an officer-defined group in the pack's "
            "quarters, so their agreement cannot be shown."
        )
        return empty
    table = pd.DataFrame(rows)
    order = {a: i for i, a in enumerate(_area_order(table, combined))}
    table = table.assign(_o=table["area"].map(order)).sort_values(["_o", "period"], kind="stable")
    table = table.drop(columns="_o").reset_index(drop=True)
    withheld = _withheld(
        table, ("searches",), threshold=params["suppression_threshold"], combined=combined, by=()
    )
    published = _publishable(table, withheld)
    table["status"] = published["status"]
    ch.text(
        "How often the ethnic group the officer recorded agrees with the person's own, among "
        "person searches where both are Asian, Black, White or Other (self-defined Mixed and "
        "Not stated on either side are left out), with Cohen's kappa (1 is perfect agreement, 0 "
        "no more than chance)."
    )
    ch.table(
        "q_concordance",
        published,
        caption="Agreement between self-defined and officer-defined ethnicity by quarter",
        notes="agreement: share of searches on which the two agree (Wilson interval); kappa: "
        "Cohen's kappa (Wald interval).",
        counts=_STILL_TO_SUPPRESS,
    )
    return table
