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
from .errors import DataQualityWarning, ParameterError, ValidationError, check_choice, did_you_mean
from .ethnicity import NOT_STATED
from .rates import RRI_COLUMNS, rri

__all__ = [
    "PATHWAY_COLUMNS",
    "stages",
    "stage",
    "stage_counts",
    "ratio_of_means",
    "pathway_matrix",
]

#: Columns of :func:`pathway_matrix`: these, then the ``by`` columns, then the RRI columns.
PATHWAY_COLUMNS = ("stage", "label", "order", "basis", "measure", "per")
BASES = ("chained", "population")


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


def _where(
    records: pd.DataFrame, conditions: Sequence[Mapping], source: str
) -> tuple[np.ndarray, np.ndarray]:
    """Rows meeting every condition, and rows whose value was blank for some condition."""
    meets = np.ones(len(records), dtype=bool)
    blank = np.zeros(len(records), dtype=bool)
    for cond in conditions or ():
        col = cond["column"]
        if col not in records.columns:
            raise ValidationError(
                f"{source} needs column {col!r}, which the records lack{did_you_mean(col, records.columns)}"
            )
        values = records[col]
        wanted = [str(v).lower() if isinstance(v, bool) else str(v) for v in cond["in"]]
        text = values.astype("string")
        if pd.api.types.is_bool_dtype(values):
            text = text.str.lower()
        missing = values.isna().to_numpy()
        blank |= missing
        meets &= text.isin(wanted).fillna(False).to_numpy(dtype=bool) & ~missing
    return meets, blank


def stage_counts(
    records: pd.DataFrame,
    name: str,
    *,
    group: str = "ethnicity",
    by: Sequence[str] | str | None = None,
) -> pd.DataFrame:
    """Events and base of one stage per (by..., group), from the stage's records dataset.

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
    if population_base:
        base_rows = np.ones(len(records), dtype=bool)
        base_blank = np.zeros(len(records), dtype=bool)
    else:
        base_rows, base_blank = _where(records, spec["base"].get("where"), source)
    keys = [*by, group]
    out_ledger = pd.DataFrame()
    ledger.carry(records, out_ledger)
    ledger.record(
        out_ledger,
        f"stage {name}",
        "rows with a blank field that defines the base",
        int((base_blank & ~base_rows).sum()),
    )
    sub = records.loc[base_rows]
    if spec["measure"] == "ratio_of_means":
        column = spec["events"]["value"]
        if column not in records.columns:
            raise ValidationError(
                f"{source} needs column {column!r}, which the records lack{did_you_mean(column, records.columns)}"
            )
        value = pd.to_numeric(sub[column], errors="coerce")
        ok = value.notna().to_numpy()
        ledger.record(
            out_ledger,
            f"stage {name}",
            f"base rows with no {spec['events']['value']!r}",
            int((~ok).sum()),
        )
        frame = sub.loc[ok, keys].assign(_v=value[ok].to_numpy(), _v2=value[ok].to_numpy() ** 2)
        counts = (
            frame.groupby(keys, observed=True)
            .agg(events=("_v", "size"), value_sum=("_v", "sum"), value_sumsq=("_v2", "sum"))
            .reset_index()
        )
        counts["base"] = counts["events"]
    else:
        event_rows, _ = _where(sub, spec["events"].get("where"), source)
        frame = sub[keys].assign(events=event_rows.astype("int64"), base=1)
        counts = frame.groupby(keys, observed=True)[["events", "base"]].sum().reset_index()
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
        ``attrs["skipped"]``).
    stages_ : list of str, optional
        Stage names (default: every stage in ``stages.yaml``, in order).
    by : list of str
        Splits, e.g. ``["force"]`` or ``["force", "period"]`` (columns every dataset has).
    basis : {"chained", "population"}
        ``"chained"`` (default): each stage against its declared base (the previous decision
        point): the disparity added at that stage. ``"population"``: every stage's events per
        1,000 residents: the cumulative disparity up to that stage.
    population : DataFrame, optional
        Residents with ``area`` (or the first ``by`` column), ``ethnicity`` and ``population``,
        already scaled to the period as person-years if the records span more than a year.
        Default: bundled Census 2021 residents of each force area, times the years the stop and
        search records span.
    reference, group, alpha
        As in :func:`dispro.rri` (exact Poisson intervals against a population, Katz otherwise).
    exclude_not_stated : bool
        Leave the ``Not stated`` group out (it has no population in the population basis).

    Returns
    -------
    DataFrame
        :data:`PATHWAY_COLUMNS`, the ``by`` columns, then the RRI columns: one row per stage, area
        and group. ``sentence_length`` rows are ratios of means (``rate`` = mean months).
    """
    check_choice("basis", basis, BASES)
    by = as_list(by)
    names = list(stages_) if stages_ is not None else [s["name"] for s in _stages()]
    pieces, skipped = [], []
    entries: list[dict] = []
    pop_table = None
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
        basis_used = "chained"
        if spec["measure"] == "ratio_of_means":
            table = ratio_of_means(counts, group=group, reference=reference, by=by, alpha=alpha)
            per = np.nan
        else:
            population_stage = spec["base"].get("source") == "population"
            if population_stage or basis == "population":
                if pop_table is None:
                    pop_table = _population(datasets, population, by, group)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", DataQualityWarning)
                    table = rri(
                        counts.drop(columns="base"),
                        group=group,
                        reference=reference,
                        events="events",
                        base=pop_table,
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
        table.insert(0, "per", per)
        table.insert(0, "measure", spec["measure"])
        table.insert(0, "basis", basis_used)
        table.insert(0, "order", spec["order"])
        table.insert(0, "label", spec.get("label", name))
        table.insert(0, "stage", name)
        pieces.append(table)
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
        "basis": basis,
        "reference": reference,
        "family": "whole pathway matrix",
    }
    return out


def _population(datasets, population, by, group) -> pd.DataFrame:
    """Population per (area, group), scaled to the years the stop-search records span."""
    area = by[0] if by else None
    if population is not None:
        pop = (
            population.rename(columns={"area": area})
            if area and "area" in population.columns
            else population
        )
        return pop
    from .population import census2021

    searches = datasets.get("stop_search")
    if area is None:
        raise ParameterError(
            "the population basis needs an area column in `by` (e.g. 'force') or a `population` table"
        )
    frames = []
    for name in pd.unique(pd.concat([d[area] for d in datasets.values() if area in d.columns])):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DataQualityWarning)
                pop = census2021(name, by=())
        except Exception:  # noqa: BLE001 - an area without population gets no base
            continue
        years = 1.0
        if searches is not None and "date" in searches.columns:
            dates = pd.to_datetime(searches.loc[searches[area] == name, "date"], utc=True)
            if len(dates):
                months = dates.dt.strftime("%Y-%m").nunique()
                years = months / 12
        frames.append(pop.assign(**{area: name, "population": pop["population"] * years}))
    if not frames:
        return pd.DataFrame(columns=[area, group, "population"])
    return pd.concat(frames, ignore_index=True)[[area, "ethnicity", "population"]].rename(
        columns={"ethnicity": group}
    )
