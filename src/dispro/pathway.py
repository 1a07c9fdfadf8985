"""Stages and the pathway matrix: where along the pathway disparity arises.

Stages are declared in ``data_dictionary/stages.yaml`` (events and base of each), so a board can
add one (remand, conviction) without code. Each stage's RRI uses the previous stage's people as its
base (the Lammy / Ministry of Justice principle: the disparity added at that decision); the
population view rates every stage's events against the resident population instead (the
cumulative disparity up to that point).
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import yaml
from scipy import stats

from . import ledger
from ._checks import as_list
from ._paths import dictionary_dir
from ._stats import bh as _bh
from .counts import Condition, all_of, tally
from .counts.conditions import holds
from .errors import (
    AreaError,
    DataQualityWarning,
    DisproError,
    ParameterError,
    ValidationError,
    check_choice,
    did_you_mean,
)
from .ethnicity import NOT_STATED
from .population import AREA_COLUMNS, census2021, person_years
from .rates import RRI_COLUMNS, rri
from .readers import coverage, record_months

__all__ = [
    "PATHWAY_COLUMNS",
    "stages",
    "stage",
    "stage_counts",
    "ratio_of_means",
    "pathway_matrix",
    "STAGE_CONTROLS",
    "area_matrix",
    "stage_matrix",
    "stage_model",
]

#: Columns of :func:`pathway_matrix`: these, then the ``by`` columns, then the RRI columns.
PATHWAY_COLUMNS = ("stage", "label", "order", "basis", "measure", "per")
BASES = ("chained", "population")
#: ``by`` columns that label time periods: each stage's person-years are counted within them.
TIME_SPLITS = ("period", "month", "quarter", "financial_year", "year")


@functools.cache
def _stages() -> tuple[dict, ...]:
    with (dictionary_dir() / "stages.yaml").open(encoding="utf-8") as fh:
        spec = yaml.safe_load(fh)
    out = sorted(spec["stages"], key=lambda s: s["order"])
    for s in out:
        for key in ("name", "dataset", "events", "base", "measure"):
            if key not in s:
                raise ValidationError(
                    f"data_dictionary/stages.yaml: stage {s.get('name')!r} lacks {key!r}"
                )
    return tuple(out)


def stages() -> pd.DataFrame:
    """The declared stages in pathway order: name, label, order, dataset, measure, per, description."""
    rows = [
        {
            k: s.get(k)
            for k in ("name", "label", "order", "dataset", "measure", "per", "description")
        }
        for s in _stages()
    ]
    return pd.DataFrame(rows)


def stage(name: str) -> dict:
    """One stage's declaration (a copy)."""
    names = [s["name"] for s in _stages()]
    for s in _stages():
        if s["name"] == name:
            return dict(s)
    raise ParameterError(
        f"`stage` must be one of {tuple(names)}, but {name!r} was passed{did_you_mean(name, names)}"
    )


def _where(records: pd.DataFrame, conditions: Sequence[Mapping], source: str) -> Condition | None:
    """A stage's ``where`` list as one condition of the condition language: every entry holds.

    Each entry ``{column: <field>, in: [<codes>]}`` is the mapping ``{field: codes}`` of
    :mod:`dispro.counts.conditions`; a blank value meets no entry.
    """
    specs = []
    for cond in conditions or ():
        col = cond["column"]
        if col not in records.columns:
            raise ValidationError(
                f"{source} needs column {col!r}, which the records lack{did_you_mean(col, records.columns)}"
            )
        specs.append({col: list(cond["in"])})
    return all_of(*specs, param=source)


def stage_counts(
    records: pd.DataFrame,
    name: str,
    *,
    group: str = "ethnicity",
    by: Sequence[str] | str | None = None,
) -> pd.DataFrame:
    """Events and base of one stage per (by..., group), from the stage's records dataset.

    The stage's ``where`` conditions are read in the condition language of
    :mod:`dispro.counts.conditions` and the records counted by :func:`dispro.counts.tally`.

    Returns
    -------
    DataFrame
        ``by..., group, events, base`` (``base`` missing for a population stage: join a population),
        for a ratio-of-means stage ``events`` = rows with a value, ``base`` = the same, plus
        ``value_sum`` and ``value_sumsq``. Rows left out of the base because a condition's field was
        blank are counted in the ledger.
    """
    spec = stage(name)
    by = as_list(by)
    missing = [c for c in [group, *by] if c not in records.columns]
    if missing:
        raise ValidationError(f"stage {name!r}: the records lack {missing}")
    source = f"stage {name!r}"
    population_base = spec["base"].get("source") == "population"
    base = None if population_base else _where(records, spec["base"].get("where"), source)
    base_rows = holds(records, base, "base")
    base_blank = (
        records[list(base.columns)].isna().any(axis=1).to_numpy(dtype=bool)
        if base is not None
        else np.zeros(len(records), dtype=bool)
    )
    keys = [*by, group]
    out_ledger = pd.DataFrame()
    ledger.carry(records, out_ledger)
    ledger.record(
        out_ledger,
        f"stage {name}",
        "rows with a blank field that defines the base",
        int((base_blank & ~base_rows).sum()),
    )
    if spec["measure"] == "ratio_of_means":
        column = spec["events"]["value"]
        if column not in records.columns:
            raise ValidationError(
                f"{source} needs column {column!r}, which the records lack{did_you_mean(column, records.columns)}"
            )
        value = pd.to_numeric(records[column], errors="coerce")
        no_value = value.isna().to_numpy()
        ledger.record(
            out_ledger,
            f"stage {name}",
            f"base rows with no {spec['events']['value']!r}",
            int((base_rows & no_value).sum()),
        )
        counts = tally(
            records, keys, exclude={"outside": ~base_rows, "no_value": no_value},
            sums={"value_sum": value, "value_sumsq": value**2}, dropna=True,
        )  # fmt: skip
        counts = counts.loc[counts["base"] > 0].reset_index(drop=True)
        counts = counts.assign(events=counts["base"].to_numpy())
        counts = counts[[*keys, "events", "value_sum", "value_sumsq", "base"]]
    else:
        events = _where(records, spec["events"].get("where"), source)
        counts = tally(records, keys, events=events, exclude={"outside": ~base_rows}, dropna=True)
        counts = counts.loc[counts["base"] > 0, [*keys, "events", "base"]].reset_index(drop=True)
        if population_base:
            counts["base"] = np.nan
    counts.attrs = dict(out_ledger.attrs)
    return counts


def ratio_of_means(
    counts: pd.DataFrame,
    *,
    group: str = "ethnicity",
    reference: str = "White",
    by: Sequence[str] | str | None = None,
    alpha: float = 0.05,
    min_events: int = 2,
) -> pd.DataFrame:
    """Each group's mean value over the reference's (e.g. custodial months), with an interval.

    Uses ``events`` (n), ``value_sum`` and ``value_sumsq`` per group from :func:`stage_counts`.
    The interval is the delta method on the log ratio:
    ``SE² = s_g² / (n_g m_g²) + s_r² / (n_r m_r²)``; the p-value tests a ratio of 1.

    Returns
    -------
    DataFrame
        ``by..., `` then :data:`dispro.rates.RRI_COLUMNS`, with ``rate`` the mean, ``rri`` the
        ratio of means, ``events`` and ``base`` the number of values.
    """
    by = as_list(by)
    agg = (
        counts.groupby([*by, group], observed=True)[["events", "value_sum", "value_sumsq"]]
        .sum()
        .reset_index()
    )
    n = agg["events"].to_numpy(dtype=float)
    mean = agg["value_sum"].to_numpy(dtype=float) / n
    with np.errstate(invalid="ignore", divide="ignore"):
        var = (agg["value_sumsq"].to_numpy(dtype=float) - n * mean**2) / (n - 1)
    agg = agg.assign(_n=n, _m=mean, _v=var)
    ref = agg[agg[group] == reference][[*by, "_n", "_m", "_v"]].rename(
        columns=lambda c: c + "_r" if c.startswith("_") else c
    )
    if ref.empty:
        raise ValidationError(
            f"the reference group {reference!r} is not in column {group!r}; groups present: {sorted(map(str, agg[group].unique()))}"
        )
    out = (
        agg.merge(ref, on=by, how="left")
        if by
        else agg.assign(**{c: ref[c].iloc[0] for c in ref.columns})
    )
    z = stats.norm.ppf(1 - alpha / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = out["_m"] / out["_m_r"]
        se = np.sqrt(
            out["_v"] / (out["_n"] * out["_m"] ** 2)
            + out["_v_r"] / (out["_n_r"] * out["_m_r"] ** 2)
        )
        p = 2 * stats.norm.sf(np.abs(np.log(ratio) / se))
    is_ref = (out[group] == reference).to_numpy()
    few = (out["_n"] < min_events) | (out["_n_r"] < min_events)
    status = np.where(few, "too_few", "ok")
    table = out[by].copy() if by else pd.DataFrame(index=out.index)
    table["group"] = out[group].to_numpy()
    table["events"] = out["events"].to_numpy()
    table["base"] = out["events"].to_numpy()
    table["rate"] = out["_m"].to_numpy()
    table["reference_events"] = out["_n_r"].to_numpy()
    table["reference_base"] = out["_n_r"].to_numpy()
    table["reference_rate"] = out["_m_r"].to_numpy()
    table["rri"] = np.where(is_ref, 1.0, np.where(few, np.nan, ratio))
    table["ci_lower"] = np.where(is_ref | few, np.nan, ratio * np.exp(-z * se))
    table["ci_upper"] = np.where(is_ref | few, np.nan, ratio * np.exp(z * se))
    table["p_value"] = np.where(is_ref | few, np.nan, p)
    table["q_value"] = _bh(table["p_value"].to_numpy())
    sig = pd.array(table["q_value"] < alpha, dtype="boolean")
    sig[np.isnan(table["q_value"].to_numpy())] = pd.NA
    table["significant"] = sig
    table["status"] = status
    return table.reset_index(drop=True)


def pathway_matrix(
    datasets: Mapping[str, pd.DataFrame],
    *,
    stages_: Sequence[str] | None = None,
    by: Sequence[str] | str | None = ("force",),
    basis: str = "chained",
    population: pd.DataFrame | None = None,
    reference: str = "White",
    group: str = "ethnicity",
    alpha: float = 0.05,
    exclude_not_stated: bool = False,
) -> pd.DataFrame:
    """The pathway matrix: the RRI of every group at every stage, by area.

    Parameters
    ----------
    datasets : mapping
        Records per dataset name (``"stop_search"``, ``"disposals"``, ``"charging"``,
        ``"sentencing"``); stages whose dataset is absent are skipped (and listed in
        ``attrs["skipped"]``); stages whose records hold no row within the stage's base (e.g. the outcome of a search, where the force never filled
        ``Outcome``) are left out and listed in ``attrs["empty"]``.
    stages_ : list of str, optional
        Stage names (default: every stage in ``stages.yaml``, in order).
    by : list of str
        Splits, e.g. ``["force"]`` or ``["force", "period"]`` (columns every dataset has).
    basis : {"chained", "population"}
        ``"chained"`` (default): each stage against its declared base (the previous decision
        point): the disparity added at that stage. ``"population"``: every stage's events per
        1,000 residents a year: the cumulative disparity up to that stage.
    population : DataFrame, optional
        Residents (a head count, not person-years) with ``area`` (or the ``by`` column naming
        the area), ``ethnicity`` and ``population``, e.g. :func:`dispro.population.census2021`.
        Default: bundled Census 2021 residents of each area (by sex if ``by`` has ``sex``).
        Each stage rated against the population gets its own person-years
        (:func:`dispro.population.person_years`): the residents times the months its own
        dataset covers (:func:`dispro.coverage`: the records' UK local calendar months, or the
        police.uk coverage table), over 12, within each period of a ``by`` column that labels
        periods (``period``, ``quarter``, ``financial_year``, ``year``, ``month``). Records with
        no month or date have no known span: their rates are per 1,000 residents over that
        (unknown) period, with a warning.
    reference, group, alpha
        As in :func:`dispro.rri` (exact Poisson intervals against a population, Katz otherwise).
    exclude_not_stated : bool
        Leave the ``Not stated`` group out (it has no population in the population basis).

    Returns
    -------
    DataFrame
        :data:`PATHWAY_COLUMNS`, the ``by`` columns, then the RRI columns: one row per stage, area
        and group. ``sentence_length`` rows are ratios of means (``rate`` = mean months).
        ``attrs["rate_units"]`` says what each stage's ``rate`` is per (e.g. ``"per 1,000
        person-years (a rate a year)"``); ``attrs["person_years"]`` lists the months each
        population stage covers in each area.
    """
    check_choice("basis", basis, BASES)
    by = as_list(by)
    names = list(stages_) if stages_ is not None else [s["name"] for s in _stages()]
    pieces, skipped, empty = [], [], []
    entries: list[dict] = []
    units: dict[str, str] = {}
    spans: list[dict] = []
    for name in names:
        spec = stage(name)
        records = datasets.get(spec["dataset"])
        if records is None:
            skipped.append(name)
            continue
        if spec["measure"] == "ratio_of_means" and basis == "population":
            continue  # a ratio of means has no population view
        counts = stage_counts(records, name, group=group, by=by)
        entries.extend(counts.attrs.get("exclusions", []))
        if exclude_not_stated:
            counts = counts[counts[group] != NOT_STATED]
        if counts.empty:
            # e.g. the outcome stage of a force that never fills `Outcome`: no row meets the
            # stage's base, so the stage has no figure (it is listed, never shown as 0)
            empty.append(name)
            continue
        basis_used = "chained"
        if spec["measure"] == "ratio_of_means":
            table = ratio_of_means(counts, group=group, reference=reference, by=by, alpha=alpha)
            per = np.nan
        else:
            population_stage = spec["base"].get("source") == "population"
            if population_stage or basis == "population":
                base = _stage_population(records, name, population, by, group, spans)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", DataQualityWarning)
                    table = rri(
                        counts.drop(columns="base"),
                        group=group,
                        reference=reference,
                        events="events",
                        base=base,
                        by=by,
                        per=1000,
                        alpha=alpha,
                    )
                per = 1000
                basis_used = "population"
            else:
                table = rri(
                    counts,
                    group=group,
                    reference=reference,
                    by=by,
                    per=spec.get("per") or 1,
                    alpha=alpha,
                )
                per = spec.get("per") or 1
        units[name] = table.attrs.get("rate_unit", "")
        table.insert(0, "per", per)
        table.insert(0, "measure", spec["measure"])
        table.insert(0, "basis", basis_used)
        table.insert(0, "order", spec["order"])
        table.insert(0, "label", spec.get("label", name))
        table.insert(0, "stage", name)
        pieces.append(table)
    if not pieces and empty:
        raise ValidationError(
            f"no record meets the definition of the stage(s) {empty} (data_dictionary/stages.yaml): "
            "the fields they need are blank or the records hold none of their values"
        )
    if not pieces:
        raise ValidationError(
            f"none of the stages {names} has its dataset among {sorted(datasets)}; give records for "
            "at least one of " + str(sorted({stage(n)["dataset"] for n in names}))
        )
    out = pd.concat(pieces, ignore_index=True)
    out["q_value"] = _bh(out["p_value"].to_numpy())
    sig = pd.array(out["q_value"] < alpha, dtype="boolean")
    sig[np.isnan(out["q_value"].to_numpy())] = pd.NA
    out["significant"] = sig
    out = out[[*PATHWAY_COLUMNS, *by, *RRI_COLUMNS]]
    out.attrs = {
        "exclusions": entries,
        "skipped": skipped,
        "empty": empty,
        "basis": basis,
        "reference": reference,
        "family": "whole pathway matrix",
        "rate_units": units,
        "person_years": spans,
    }
    return out


def _stage_population(records, name, population, by, group, spans) -> pd.DataFrame:
    """The person-years of one stage: residents times the months its own records cover / 12."""
    area = next((c for c in by if c in AREA_COLUMNS), None)
    missing: list = []  # areas with no Census denominator (the City of London): no base
    if population is None:
        if area is None:
            raise ParameterError(
                "the population basis needs a column naming the area in `by` (e.g. 'force') or "
                "a `population` table"
            )
        population, missing = _census(pd.unique(records[area].dropna()), by)
    elif "person_years" in population.columns:
        raise ParameterError(
            "`population` holds person-years (a result of person_years): pass the residents "
            "(e.g. dispro.population.census2021(...)); each stage's person-years come from the "
            "months its own records cover"
        )
    elif "area" not in population.columns and area in population.columns:
        population = population.rename(columns={area: "area"})
    if group not in population.columns and "ethnicity" in population.columns:
        population = population.rename(columns={"ethnicity": group})
    splits = [c for c in by if c in TIME_SPLITS]
    if len(splits) > 1:
        raise ParameterError(
            f"`by` may hold one column labelling periods for the population basis, but it holds "
            f"{splits}"
        )
    if population.empty:  # no area has a population: every row has no base
        missing = list(pd.unique(records[area].dropna())) if area else [None]
    lacking = pd.DataFrame({"area": missing, group: NOT_STATED, "person_years": np.nan})
    if population.empty:
        return lacking
    try:
        covered = coverage(records, area=area)
    except ValidationError:  # no month or date: the span of the records is unknown
        warnings.warn(
            f"stage {name!r}: the records have no month or date, so the months they cover are "
            "unknown and the rates against the population are per 1,000 residents over their "
            "whole period, not rates a year",
            DataQualityWarning,
            stacklevel=3,
        )
        return population
    covered = covered[covered["present"].fillna(False).astype(bool)]
    if splits:
        keys = [c for c in (area, splits[0]) if c is not None]
        labels = records[keys].assign(month=record_months(records).to_numpy())
        labels = labels.dropna().drop_duplicates()
        covered = covered.merge(labels, on=[c for c in (area, "month") if c is not None])
    if missing:
        covered = covered[~covered[area].isin(missing)]
    table = person_years(population, covered, area=area, period=splits[0] if splits else None)
    shown = [c for c in ("area", *splits, "months_covered") if c in table.columns]
    spans.extend(
        {"stage": name, **row} for row in table[shown].drop_duplicates().to_dict("records")
    )
    return pd.concat([table, lacking], ignore_index=True) if missing else table


def _census(areas, by) -> tuple[pd.DataFrame, list]:
    """Census 2021 residents of each area (by sex if ``by`` has it), and the areas without one."""
    frames, missing = [], []
    for name in areas:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DataQualityWarning)
                pop = census2021(name, by=("sex",) if "sex" in by else ())
        except AreaError:  # e.g. the City of London: no denominator, status no_base
            missing.append(name)
            continue
        frames.append(pop.assign(area=name))
    if not frames:
        return pd.DataFrame(columns=["area", "ethnicity", "population"]), missing
    return pd.concat(frames, ignore_index=True), missing


# --------------------------------------------------------------------------------------------
# the report's views of the pathway: one area pooled, one stage by force, the adjusted model
# --------------------------------------------------------------------------------------------

#: The case-mix controls of each stage's adjusted model (:func:`stage_model`), where the records
#: have them.
STAGE_CONTROLS = {
    "out_of_court": ("offence_group", "age_band", "sex", "force"),
    "charge": ("offence_group", "age_band", "sex"),
    "custody": (
        "offence_group", "previous_convictions", "plea", "remand_status", "age_band", "sex",
        "court_type",
    ),
}  # fmt: skip


def area_matrix(
    datasets: Mapping[str, pd.DataFrame],
    *,
    area: str,
    reference: str = "White",
    alpha: float = 0.05,
) -> pd.DataFrame:
    """The pathway matrix of one area with its forces pooled.

    Every record is labelled ``area`` and :func:`pathway_matrix` runs ``by="area"`` against the
    area's Census 2021 residents (:func:`dispro.population.census2021`; an area without a
    denominator, such as the City of London, gives status ``no_base``), each population stage
    over the person-years its own records cover.

    Returns
    -------
    DataFrame
        As :func:`pathway_matrix`, with an ``area`` column holding ``area``.
    """
    try:
        population = census2021(area, by=())
    except AreaError:
        population = pd.DataFrame(columns=["area", "ethnicity", "population"])
    population = population.assign(area=area)[["area", "ethnicity", "population"]]
    pooled = {name: frame.assign(area=area) for name, frame in datasets.items()}
    return pathway_matrix(
        pooled, by="area", population=population, reference=reference, alpha=alpha
    )


def stage_matrix(
    datasets: Mapping[str, pd.DataFrame],
    name: str,
    *,
    by: Sequence[str] | str | None = ("force",),
    reference: str = "White",
    alpha: float = 0.05,
) -> pd.DataFrame:
    """One stage's relative rates by ``by``: :func:`pathway_matrix` for the stage alone, or, when
    its dataset was not supplied (or holds no record), an empty table with the same columns and
    ``attrs["missing"]`` naming the dataset."""
    spec = stage(name)
    records = datasets.get(spec["dataset"])
    if records is None or records.empty:
        out = pd.DataFrame(columns=[*PATHWAY_COLUMNS, *as_list(by), *RRI_COLUMNS])
        out.attrs["missing"] = spec["dataset"]
        return out
    return pathway_matrix(
        {spec["dataset"]: records}, stages_=[name], by=by, reference=reference, alpha=alpha
    )


def stage_model(
    datasets: Mapping[str, pd.DataFrame],
    name: str,
    *,
    controls: Sequence[str] | None = None,
    reference: str = "White",
    alpha: float = 0.05,
) -> pd.DataFrame:
    """The adjusted comparison of one stage: a logistic regression of the stage's event on the
    group and the case-mix controls, among the stage's base records (``Not stated`` left out).

    Parameters
    ----------
    name : str
        A stage with a ``rate`` measure.
    controls : list of str, optional
        Default :data:`STAGE_CONTROLS` of the stage; those the records lack, or that take one
        value only, are left out.

    Returns
    -------
    DataFrame
        The ``adjusted`` table of :func:`dispro.models.logistic` (unadjusted and adjusted risk
        ratios by group, share explained, E-value); ``attrs["controls"]`` lists the controls
        used. Empty when the dataset was not supplied (``attrs["missing"]``) or the model cannot
        be fitted (``attrs["error"]`` says why).
    """
    from . import models

    spec = stage(name)
    records = datasets.get(spec["dataset"])
    if records is None or records.empty:
        out = pd.DataFrame()
        out.attrs["missing"] = spec["dataset"]
        return out
    wanted = STAGE_CONTROLS.get(name, ()) if controls is None else controls
    used = [c for c in wanted if c in records.columns and records[c].nunique() > 1]
    event = spec["events"]["where"][0]
    base = _where(records, spec["base"].get("where"), f"stage {name!r}")
    subset = records if base is None else records[holds(records, base, "base")]
    subset = subset[subset["ethnicity"] != NOT_STATED]
    try:
        fit = models.logistic(
            subset,
            outcome={event["column"]: list(event["in"])},
            reference=reference,
            controls=used,
            alpha=alpha,
            dropna=True,
        )
    except DisproError as exc:
        out = pd.DataFrame()
        out.attrs.update(error=str(exc), controls=used)
        return out
    out = fit.adjusted.copy()
    out.attrs["controls"] = used
    return out
