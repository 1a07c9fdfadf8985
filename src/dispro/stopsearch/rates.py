"""Stop-and-search rates per 1,000 residents, missing-ethnicity bounds and trends.

Rates use person searches (vehicle-only searches excluded and counted) against Census 2021 usual
residents, with exposure from the coverage table: a period with missing months uses the
person-years actually covered (``population × months covered / 12``), and says so.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from .. import ledger
from .._checks import as_list
from ..counts import tally
from ..errors import (
    AreaError,
    DataQualityWarning,
    ParameterError,
    ValidationError,
    check_choice,
    did_you_mean,
)
from ..ethnicity import NOT_STATED
from ..population import area_key, census2021, person_years, population_source
from ..rates import RRI_COLUMNS, rri
from ..readers import coverage, person_searches, record_months

__all__ = [
    "PERIODS",
    "ETHNICITY_BASES",
    "SEARCH_RATE_COLUMNS",
    "BOUNDS_COLUMNS",
    "add_period",
    "search_counts",
    "search_rates",
    "missing_ethnicity_bounds",
]

PERIODS = ("month", "quarter", "financial_year", "year", "rolling_12", "all")
ETHNICITY_BASES = ("self_defined", "officer_defined", "fallback")
_MONTHS_IN = {"month": 1, "quarter": 3, "financial_year": 12, "year": 12, "rolling_12": 12}

#: Columns of :func:`search_rates`: ``area, period, by...`` then the RRI columns, then these.
SEARCH_RATE_COLUMNS = (*RRI_COLUMNS, "months_covered", "months_in_period", "note")


def _require(records: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in records.columns]
    if missing:
        raise ValidationError(
            f"{what} needs the column(s) {missing}, which the records lack"
            + "".join(did_you_mean(c, records.columns) for c in missing)
            + "; read the files with dispro.read_police_uk"
        )


def add_period(frame: pd.DataFrame, period: str, *, month: str = "month") -> pd.DataFrame:
    """Label each row's period from its month (a copy with a ``period`` column).

    The month is the ``YYYY-MM`` column ``month`` where the frame has it, else the UK local
    calendar month of ``date`` (:func:`dispro.readers.record_months`). ``quarter``: calendar
    quarters (``2024Q1``); ``financial_year``: April to March (``2023-24``); ``year``;
    ``month``; ``all``: one period spanning the data. (``rolling_12`` is handled by
    :func:`search_counts`.)
    """
    check_choice("period", period, PERIODS)
    m = pd.PeriodIndex(record_months(frame, month=month).astype(str), freq="M")
    if period == "month":
        label = m.strftime("%Y-%m")
    elif period == "quarter":
        label = m.asfreq("Q").strftime("%YQ%q")
    elif period == "year":
        label = m.strftime("%Y")
    elif period == "financial_year":
        start = np.where(m.month >= 4, m.year, m.year - 1)
        label = [f"{s}-{(s + 1) % 100:02d}" for s in start]
    else:
        label = [f"{m.min().strftime('%Y-%m')} to {m.max().strftime('%Y-%m')}"] * len(frame)
    return frame.assign(period=np.asarray(label, dtype=object))


def _group_column(records: pd.DataFrame, ethnicity: str) -> pd.Series:
    check_choice("ethnicity", ethnicity, ETHNICITY_BASES)
    if ethnicity == "self_defined":
        if (
            "ethnicity_basis" in records.columns
            and (records["ethnicity_basis"] == "officer_defined").any()
        ):
            raise ParameterError(
                "these records were read with fallback=True; pass ethnicity='fallback' so the "
                "table is labelled as using officer-defined ethnicity where self-defined was not stated"
            )
        return records["ethnicity"]
    if ethnicity == "officer_defined":
        _require(records, ["officer_ethnicity"], "officer-defined rates")
        return records["officer_ethnicity"]
    _require(records, ["officer_ethnicity"], "the officer-defined fallback")
    self_group = records["ethnicity"]
    return self_group.where(self_group != NOT_STATED, records["officer_ethnicity"])


def search_counts(
    records: pd.DataFrame,
    *,
    period: str = "quarter",
    by: str | Sequence[str] | None = None,
    ethnicity: str = "self_defined",
    area: str = "force",
) -> pd.DataFrame:
    """Person searches per (area, period, by..., ethnicity), with the months each period covers.

    Returns
    -------
    DataFrame
        ``area, period, by..., ethnicity, events, months_covered, months_in_period``. Vehicle-only
        searches are excluded and counted in the ledger; groups are listed (with zero events) in
        every area-period so that a zero is a zero; a month with no file is not a zero but a
        smaller ``months_covered``.
    """
    by = as_list(by)
    _require(records, [area, "month", "ethnicity", "vehicle_only", *by], "search_counts")
    people = person_searches(records)
    people = people.assign(ethnicity=_group_column(people, ethnicity).to_numpy())
    cov = coverage(records).rename(columns={"force": area})
    cov = cov[cov["present"]]
    if period == "rolling_12":
        ends = pd.period_range(cov["month"].min(), cov["month"].max(), freq="M")
        frames, cov_frames = [], []
        for end in ends[11:] if len(ends) >= 12 else ends[-1:]:
            window = pd.period_range(end - 11, end, freq="M").strftime("%Y-%m")
            label = f"12 months to {end.strftime('%Y-%m')}"
            frames.append(people[people["month"].isin(window)].assign(period=label))
            cov_frames.append(cov[cov["month"].isin(window)].assign(period=label))
        people = pd.concat(frames, ignore_index=True)
        cov = pd.concat(cov_frames, ignore_index=True)
    else:
        people = add_period(people, period)
        cov = add_period(cov, period)
    keys = [area, "period", *by, "ethnicity"]
    # every group in every area-period (and by-cell), so that zero searches show as 0
    groups = sorted(set(people["ethnicity"]))
    counts = tally(people, keys, levels={"ethnicity": groups})
    counts = counts[keys].assign(events=counts["base"].to_numpy())
    months = cov.groupby([area, "period"]).size().rename("months_covered").reset_index()
    counts = counts.merge(months, on=[area, "period"], how="left")
    if period == "all":
        span = pd.period_range(cov["month"].min(), cov["month"].max(), freq="M")
        counts["months_in_period"] = len(span)
    else:
        counts["months_in_period"] = _MONTHS_IN[period]
    counts.attrs = {"exclusions": list(people.attrs.get("exclusions", []))}
    return counts


def search_rates(
    records: pd.DataFrame,
    *,
    population: pd.DataFrame | None = None,
    period: str = "quarter",
    by: str | Sequence[str] | None = None,
    ethnicity: str = "self_defined",
    reference: str = "White",
    area: str = "force",
    method: str = "poisson_exact",
    alpha: float = 0.05,
    per: float = 1000,
    combine: str | None = None,
    **kwargs,
) -> pd.DataFrame:
    """Person searches per 1,000 residents a year by ethnic group, and the RRI against a reference.

    Parameters
    ----------
    records : DataFrame
        Stop-and-search records from :func:`dispro.read_police_uk` (they carry the coverage table).
    population : DataFrame, optional
        Residents (a head count) by area, in an ``area`` column (or one named like the ``area``
        argument), ``ethnicity`` and any ``by`` columns, with a ``population`` column; areas are
        matched to the records' in any spelling :mod:`dispro.forces` knows. Default: bundled
        Census 2021 usual residents of each force area (by sex if ``"sex"`` is in ``by``) from
        :func:`dispro.population.census2021`: the City of London's from Census 2021 TS021 by
        police force area, the others' from the local-authority table. An area without one
        (the City of London by sex, which TS021 does not split, or an area missing from the
        table passed) gets status ``no_base`` with the reason; a table naming none of the
        records' areas is an error.
    period : {"quarter", "financial_year", "year", "month", "rolling_12", "all"}
        The time periods (from each search's file month).
    by : str or list, optional
        Further splits, e.g. ``"sex"`` (which the Census population supports), ``"legislation"`` or
        ``"object_of_search"`` (the population is then shared by every level).
    ethnicity : {"self_defined", "officer_defined", "fallback"}
        Self-defined 5+1 groups (default, as official statistics), officer-defined 4+1 groups, or
        the clearly labelled fallback (officer-defined where self-defined was not stated).
    combine : str, optional
        Also give the areas together as one area of this name (e.g. ``"Wessex"``): events summed,
        person-years summed over each area's own covered months. Only areas that all have a
        population are combined; otherwise the combined rows get status ``no_base``.
    reference, method, alpha, per, **kwargs
        Passed to :func:`dispro.rri` (default exact Poisson intervals).

    Returns
    -------
    DataFrame
        ``area`` (named as the ``area`` argument), ``period``, ``by``..., then the RRI columns
        (``rate`` is per ``per`` person-years; ``base`` is person-years), then
        ``months_covered`` and ``months_in_period`` (person-years = population × months
        covered / 12) and ``note`` (why there is no rate, or that months are missing).
        ``attrs["population_source"]``: each area's population source in words (area ->
        description, :func:`dispro.population.population_source`), for the caption.

    Notes
    -----
    Exposure: ``population × months_covered / 12`` person-years
    (:func:`dispro.population.person_years`), with the months from :func:`dispro.coverage` of the
    records passed (records filtered after reading lose the months filtered out), so a quarter's
    rate is an annual rate, and a period with a missing month is not diluted by it. The same
    rate comes from :func:`dispro.pathway.pathway_matrix` with ``basis="population"`` and from
    :func:`dispro.rri_from_records` with a person-years base. The resident population is not
    the population available to be stopped (visitors, commuters, the night-time economy), it has
    changed since March 2021, and people whose ethnicity was not stated have no population: state
    these caveats with every table.
    """
    by = as_list(by)
    counts = search_counts(records, period=period, by=by, ethnicity=ethnicity, area=area)
    counts = counts.drop(columns=["months_covered", "months_in_period"], errors="ignore")
    covered = _period_coverage(records, period, area)
    if period == "all":  # one label, from the months covered (header-only months included)
        counts["period"] = covered["period"].iloc[0]
    notes: dict[str, str] = {}
    if population is None:
        population = _census(pd.unique(counts[area]), by, notes)
    else:
        population = _own_population(population, area)
    with_pop = [a for a in pd.unique(counts[area]) if a not in notes]
    exposure = pd.DataFrame(columns=["area", "ethnicity", "person_years"])
    if with_pop:
        exposure = person_years(
            population, covered[covered[area].isin(with_pop)], area=area, period="period"
        )
    matched = set(area_key(exposure["area"]))
    for name in pd.unique(counts[area]):
        if name not in notes and area_key([name])[0] not in matched:
            notes[name] = "no population for this area in the population table passed"
    # areas with no population keep their rows, with no base (status no_base) and a note
    exposure = pd.concat(
        [exposure, pd.DataFrame({"area": list(notes), "ethnicity": counts["ethnicity"].iloc[0]})],
        ignore_index=True,
    )
    months = _months_table(covered, area, period)
    if combine:
        counts, exposure, months = _combine(counts, exposure, months, area, by, combine, notes)
    table = rri(
        counts,
        group="ethnicity",
        reference=reference,
        events="events",
        base=exposure,
        by=[area, "period", *by],
        per=per,
        method=method,
        alpha=alpha,
        **kwargs,
    )
    table = table.merge(months, on=[area, "period"], how="left")
    note = np.full(len(table), "", dtype=object)
    for name, text in notes.items():
        note[(table[area] == name).to_numpy()] = text
    no_pop = (table["status"] == "no_base").to_numpy() & (note == "")
    note[no_pop & (table["group"] == NOT_STATED).to_numpy()] = (
        "no resident population for Not stated (the Census imputes missing answers)"
    )
    short = (table["months_covered"] < table["months_in_period"]).to_numpy() & (note == "")
    note[short] = [
        f"{c} of {m} months supplied: rate over the months covered"
        for c, m in zip(
            table.loc[short, "months_covered"], table.loc[short, "months_in_period"], strict=True
        )
    ]
    table["note"] = note
    attrs = dict(table.attrs)
    table = table[[area, "period", *by, *SEARCH_RATE_COLUMNS]]
    table.attrs = attrs
    table.attrs["exposure"] = "population x months covered / 12 (person-years)"
    table.attrs["population_source"] = population_source(population, combined=combine)
    table.attrs["ethnicity_basis"] = ethnicity
    ledger.carry(counts, table)
    return table


def _period_coverage(records: pd.DataFrame, period: str, area: str) -> pd.DataFrame:
    """The months the records cover (dispro.coverage), each labelled with its period(s)."""
    check_choice("period", period, PERIODS)
    cov = coverage(records, area=area)
    cov = cov.loc[cov["present"].fillna(False).astype(bool), [area, "month"]]
    if period != "rolling_12":
        return add_period(cov, period)
    months = pd.PeriodIndex(cov["month"], freq="M")
    ends = pd.period_range(months.min(), months.max(), freq="M")
    ends = ends[11:] if len(ends) >= 12 else ends[-1:]
    pieces = [
        cov[(months > end - 12) & (months <= end)].assign(period=f"12 months to {end}")
        for end in ends
    ]
    return pd.concat(pieces, ignore_index=True)


def _months_table(covered: pd.DataFrame, area: str, period: str) -> pd.DataFrame:
    """``months_covered`` and ``months_in_period`` of each (area, period)."""
    months = covered.groupby([area, "period"])["month"].nunique().rename("months_covered")
    months = months.reset_index()
    if period == "all":
        span = pd.PeriodIndex(covered["month"], freq="M")
        months["months_in_period"] = (span.max() - span.min()).n + 1
    else:
        months["months_in_period"] = _MONTHS_IN[period]
    return months


def _census(areas, by: list[str], notes: dict[str, str]) -> pd.DataFrame:
    """Census 2021 residents of each area, by sex if ``by`` has it; the reason for any missing."""
    pops = []
    for name in areas:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DataQualityWarning)
                pop = census2021(name, by=("sex",) if "sex" in by else ())
        except AreaError as exc:
            first = str(exc).split(":")[0]
            merged = (
                " (the Census export merges it with Westminster)"
                if "Westminster" in str(exc)
                else ""
            )
            notes[name] = first + merged
            continue
        pops.append(pop.assign(area=name))
    if not pops:
        return pd.DataFrame(columns=["area", "ethnicity", "population"])
    return pd.concat(pops, ignore_index=True)


def _own_population(population: pd.DataFrame, area: str) -> pd.DataFrame:
    """A population passed by the caller, with its areas in an ``area`` column."""
    if "area" not in population.columns and area in population.columns:
        population = population.rename(columns={area: "area"})
    _require(population, ["area", "ethnicity", "population"], "the population table")
    return population


def _combine(counts, exposure, months, area, by, name, notes):
    """Add rows for all areas together: summed events and summed person-years."""
    keys = ["period", *by, "ethnicity"]
    summed = counts.groupby(keys, observed=True, dropna=False)["events"].sum().reset_index()
    counts = pd.concat([counts, summed.assign(**{area: name})[counts.columns]], ignore_index=True)
    n_areas = len(set(area_key(counts[area])) - {area_key([name])[0]})
    pop_keys = [c for c in keys if c in exposure.columns]
    have = exposure.dropna(subset=["person_years"])
    pop = have.groupby(pop_keys, observed=True).agg(
        person_years=("person_years", "sum"), _n=("area", "nunique")
    )
    pop = pop[pop["_n"] == n_areas].drop(columns="_n").reset_index().assign(area=name)
    if len(pop) == 0:
        notes[name] = "not every area has a resident population, so they are not combined"
        pop = pd.DataFrame({"area": [name], "ethnicity": counts["ethnicity"].iloc[0]})
    exposure = pd.concat([exposure, pop], ignore_index=True)
    joint = months.groupby("period")[["months_covered", "months_in_period"]].max().reset_index()
    months = pd.concat([months, joint.assign(**{area: name})], ignore_index=True)
    return counts, exposure, months


# --------------------------------------------------------------------------------------------
# missing-ethnicity bounds
# --------------------------------------------------------------------------------------------

#: Columns of :func:`missing_ethnicity_bounds` after the ``by`` columns.
BOUNDS_COLUMNS = (
    "group", "events", "base", "rri", "unknown_events", "unknown_share", "lower_bound",
    "upper_bound", "proportional_rri", "parity_share",
)  # fmt: skip


def missing_ethnicity_bounds(
    counts: pd.DataFrame,
    *,
    group: str = "ethnicity",
    reference: str = "White",
    unknown: str = NOT_STATED,
    events: str = "events",
    base: str = "base",
    by: str | Sequence[str] | None = None,
) -> pd.DataFrame:
    """How far the RRI could move if the events with unknown ethnicity were known.

    Parameters
    ----------
    counts : DataFrame
        Events per group including the unknown group (``Not stated``), and a base per group (the
        population or those at risk; the unknown group needs none).
    group, reference, unknown, events, base, by
        Column names and labels, as in :func:`dispro.rri`.

    Returns
    -------
    DataFrame
        ``by``..., then :data:`BOUNDS_COLUMNS`: for each group other than the reference and the
        unknown group, the observed ``rri``; ``unknown_events`` (U) and ``unknown_share`` (U over
        all events); ``lower_bound`` (all U allocated to the reference), ``upper_bound`` (all U
        allocated to the group): whatever the missing values were, the true RRI lies between them;
        ``proportional_rri`` (U shared in proportion to the known events, the missing-at-random
        scenario, which leaves the ratio unchanged); ``parity_share``: the share of U that would
        have to belong to the reference (none to the group) for the RRI to reach 1 (above 1:
        parity is out of reach; negative: the group's rate is already below the reference's).

    Notes
    -----
    Bounds are assumption ranges, not confidence intervals: show them apart. With ``a`` events
    and base ``A`` in the group, ``b`` and ``B`` in the reference: lower ``(a/A) / ((b+U)/B)``,
    upper ``((a+U)/A) / (b/B)``, parity share ``(a·B/A − b) / U``.
    """
    by = as_list(by)
    for c in [group, events, base, *by]:
        if c not in counts.columns:
            raise ValidationError(
                f"column {c!r} is not in the counts{did_you_mean(c, counts.columns)}"
            )
    agg = counts.groupby([*by, group], observed=True)[[events, base]].sum(min_count=1).reset_index()
    unknown_rows = (
        agg[agg[group] == unknown].set_index(by)[events]
        if by
        else agg.loc[agg[group] == unknown, events]
    )
    ref = agg[agg[group] == reference]
    if ref.empty:
        present = sorted(map(str, agg[group].unique()))
        raise ValidationError(
            f"the reference group {reference!r} is not in column {group!r}; groups present: {present}"
        )
    total = agg.groupby(by)[events].sum() if by else agg[events].sum()
    rows = agg[~agg[group].isin([reference, unknown])].copy()
    ref = ref.rename(columns={events: "_b", base: "_B"})[[*by, "_b", "_B"]]
    rows = (
        rows.merge(ref, on=by, how="left")
        if by
        else rows.assign(_b=ref["_b"].iloc[0], _B=ref["_B"].iloc[0])
    )
    if by:
        rows["_U"] = rows.set_index(by).index.map(unknown_rows).fillna(0).to_numpy(dtype=float)
        rows["_T"] = rows.set_index(by).index.map(total).to_numpy(dtype=float)
    else:
        rows["_U"] = float(unknown_rows.sum()) if len(unknown_rows) else 0.0
        rows["_T"] = float(total)
    a, A, b, B, U = (rows[c].to_numpy(dtype=float) for c in (events, base, "_b", "_B", "_U"))
    with np.errstate(divide="ignore", invalid="ignore"):
        observed = (a / A) / (b / B)
        out = rows[[*by, group, events, base]].rename(
            columns={group: "group", events: "events", base: "base"}
        )
        out["rri"] = observed
        out["unknown_events"] = U
        out["unknown_share"] = U / rows["_T"].to_numpy(dtype=float)
        out["lower_bound"] = (a / A) / ((b + U) / B)
        out["upper_bound"] = ((a + U) / A) / (b / B)
        out["proportional_rri"] = observed
        out["parity_share"] = np.where(U > 0, (a * B / A - b) / U, np.nan)
    return out[[*by, *BOUNDS_COLUMNS]].reset_index(drop=True)
