"""The generating model's shared parts: Census 2021 arrays of the Wessex forces, the time
factor, and the table of true crude and standardised rates (:func:`_truth_table`)."""

from __future__ import annotations

import functools
import warnings

import numpy as np
import pandas as pd

from ..dictionary import codelist
from ..errors import DataQualityWarning, DisproError
from ..population import census2021, census2021_age
from ._common import _STAGES, _expit, _group_log_ratio, _groups, _levels
from .truth import FORCES, TRUE_RR_COLUMNS, TRUTH


@functools.cache
def _census() -> tuple[np.ndarray, np.ndarray]:
    """Census 2021 residents as arrays: (force, group, sex) and (force, group, police.uk age)."""
    groups = _groups()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        table = census2021(list(FORCES), by=("sex",))
    table = table.assign(population=table["population"].astype("Float64").fillna(0).astype(float))
    sexes = _levels()["sex"]
    pop = (
        table.pivot_table(
            index=["area", "ethnicity"], columns="sex", values="population", aggfunc="sum"
        )
        .reindex(pd.MultiIndex.from_product([FORCES, groups]))[list(sexes)]
        .to_numpy(dtype=float)
        .reshape(len(FORCES), len(groups), len(sexes))
    )
    if not np.isfinite(pop).all() or (pop.sum(axis=2) <= 0).any():
        raise DisproError("the bundled Census 2021 table has no population for a Wessex group")
    bands = _levels()["age_band_police_uk"]
    with warnings.catch_warnings():
        # suppressed cells of the age table: the shares within a group are all that is used
        warnings.simplefilter("ignore", DataQualityWarning)
        age = census2021_age(list(FORCES))
    age = age.assign(population=age["population"].astype("Float64").fillna(0).astype(float))
    ages = (
        age.pivot_table(
            index=["area", "ethnicity"], columns="age_band", values="population", aggfunc="sum"
        )
        .reindex(pd.MultiIndex.from_product([FORCES, groups]))
        .reindex(columns=list(bands))
        .fillna(0)
        .to_numpy(dtype=float)
        .reshape(len(FORCES), len(groups), len(bands))
    )
    if (ages.sum(axis=2) <= 0).any():
        raise DisproError("the bundled Census 2021 age table has no population for a Wessex group")
    return pop, ages / ages.sum(axis=2, keepdims=True)


@functools.cache
def _detailed() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Police.uk 2011 labels, their 18+1 codes and Census 2021 shares per force x group.

    Three (force x group, K) tables, row ``f * groups + g``, padded with zero shares. The shares
    are the force's Census 2021 residents in each of the 19 categories; a category with no police
    label (White: Roma) is left out of the within-group split.
    """
    groups = _groups()
    sd = codelist("ethnicity_police_self_defined")
    sd = sd[sd["wording"].str.startswith("2011") & (sd["not_recorded"].str.lower() != "true")]
    label_of = dict(zip(sd["census2021"], sd["code"], strict=True))
    code_of = dict(zip(sd["census2021"], sd["sde_code"], strict=True))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        table = census2021(list(FORCES), scheme="19", by=())
    census = codelist("ethnicity_census2021").set_index("code")["group"]
    table = table.assign(
        population=table["population"].astype("Float64").fillna(0).astype(float),
        group=table["ethnicity"].map(census),
    )
    width = int(table.groupby("group")["ethnicity"].nunique().max())
    labels = np.full((len(FORCES) * len(groups), width), None, dtype=object)
    sde = labels.copy()
    shares = np.zeros(labels.shape)
    for fi, force in enumerate(FORCES):
        for gi, group in enumerate(groups):
            rows = table[(table["area"] == force) & (table["group"] == group)]
            rows = rows[rows["ethnicity"].isin(label_of)]
            share = rows["population"].to_numpy(dtype=float)
            if share.sum() <= 0:  # pragma: no cover
                share = np.ones(len(rows))
            k, row = len(rows), fi * len(groups) + gi
            labels[row, :k] = rows["ethnicity"].map(label_of).to_numpy(dtype=object)
            sde[row, :k] = rows["ethnicity"].map(code_of).to_numpy(dtype=object)
            shares[row, :k] = share / share.sum()
    return labels, sde, shares


def _time_factor(months: pd.PeriodIndex) -> np.ndarray:
    spec = TRUTH["time"]
    month_of_year = months.month.to_numpy()
    season = 1 + spec["seasonality"]["amplitude"] * np.cos(
        2 * np.pi * (month_of_year - spec["seasonality"]["peak_month"]) / 12
    )
    anchor = pd.Period(spec["anchor_month"], freq="M")
    offset = np.array([(m - anchor).n for m in months], dtype=float)
    return season * (1 + spec["trend_per_year"]) ** (offset / 12)


def _truth_table(
    stage: str, eta: np.ndarray, own: np.ndarray, reference: str, standard: str
) -> pd.DataFrame:
    """Crude and standardised true rates from the base predictor and group of analysed rows."""
    groups = _groups()
    _, path, ratio_key = _STAGES[stage]
    model = TRUTH[path[0]][path[1]]
    log_ratio = _group_log_ratio(model, ratio_key)
    link = _expit if model["kind"] == "logit" else np.exp
    weights = np.ones(len(eta), dtype=bool) if standard == "all" else own == groups.index(standard)
    crude, adjusted, records = [], [], []
    for gi in range(len(groups)):
        mine = own == gi
        records.append(int(mine.sum()))
        crude.append(float(link(eta[mine] + log_ratio[gi]).mean()) if mine.any() else np.nan)
        adjusted.append(
            float(link(eta[weights] + log_ratio[gi]).mean()) if weights.any() else np.nan
        )
    crude, adjusted = np.array(crude), np.array(adjusted)
    ref = groups.index(reference)
    return pd.DataFrame(
        {
            "stage": stage,
            "group": list(groups),
            "records": records,
            "crude_rate": crude,
            "crude_rri": crude / crude[ref],
            "adjusted_rate": adjusted,
            "adjusted_rr": adjusted / adjusted[ref],
            "conditional_ratio": np.exp(log_ratio - log_ratio[ref]),
        }
    ).loc[:, list(TRUE_RR_COLUMNS)]
