"""The expected values of the synthetic data: sizes, stop rates and true ratios."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import ParameterError, check_choice
from ._common import _DEFAULT_STAGE, _S60, _STAGES, _check_scale, _groups, _levels, _months, _vector
from ._model import _census, _time_factor, _truth_table
from .truth import DATASETS, DEFAULT_END, DEFAULT_START, FORCES, STOP_RATE_COLUMNS, TRUTH


def _index_of(values, levels) -> np.ndarray:
    """Position of each value in ``levels`` (-1 for a blank or unlisted value), by factorising."""
    if not isinstance(values, pd.Series):
        values = np.asarray(values, dtype=object)
    found, uniques = pd.factorize(values, use_na_sentinel=True)
    position = {level: i for i, level in enumerate(levels)}
    lookup = np.array([position.get(u, -1) for u in uniques] + [-1], dtype=np.int64)
    return lookup[found]  # the sentinel -1 picks the trailing -1


def _lookup(values: pd.Series, mapping: dict) -> tuple[np.ndarray, np.ndarray]:
    """``mapping[value]`` for each value (0 if unlisted) and whether the value is present."""
    found, uniques = pd.factorize(values, use_na_sentinel=True)
    lookup = np.array([float(mapping.get(u, 0.0)) for u in uniques] + [0.0])
    return lookup[found], found >= 0


def expected_sizes(
    *, start: str = DEFAULT_START, end: str = DEFAULT_END, scale: float = 1.0
) -> dict[str, float]:
    """Expected number of records of each dataset (searches include vehicle-only ones).

    Examples
    --------
    >>> from dispro import synth
    >>> {k: round(v, -3) for k, v in synth.expected_sizes().items()}  # doctest: +NORMALIZE_WHITESPACE
    {'stop_search': 43000.0, 'disposals': 20000.0, 'charging': 15000.0, 'sentencing': 15000.0}
    """
    months = _months(start, end)
    scale = _check_scale(scale)
    time = _time_factor(months).sum()
    searches = expected_stop_rates(start=start, end=end)
    forces = searches[searches["area"].isin(FORCES)]
    person = forces["searches_per_year"].sum() / 12 * time * scale
    vshare = TRUTH["stop_search"]["vehicle_only_share"]
    out = {"stop_search": person / (1 - vshare)}
    for name in DATASETS[1:]:
        out[name] = TRUTH[name]["per_year"] / 12 * time * scale
    return {k: float(v) for k, v in out.items()}


def expected_stop_rates(*, start: str = DEFAULT_START, end: str = DEFAULT_END) -> pd.DataFrame:
    """The true person-search rates per 1,000 residents a year and RRIs, by force and Wessex.

    The expectation of what a crude per-resident analysis of :func:`wessex`'s searches gives
    (Census 2021 populations, self-defined ethnicity, Not stated left out: it is missing at
    random, so the ratios are unbiased), averaged over the period's months (seasonality and
    trend included).

    Returns
    -------
    DataFrame
        Columns :data:`STOP_RATE_COLUMNS`: ``area`` (each force, then ``Wessex``),
        ``ethnicity``, ``population`` (Census 2021), ``searches_per_year`` (expected person
        searches a year at scale 1, all ethnicities as recorded or not), ``rate`` (per 1,000
        residents a year), ``rri`` (against White). Also ``attrs["age_specific_rri"]``: the
        RRI within every age band (the same in each band by construction), i.e. the RRI an
        age-standardised analysis estimates, as ``{area: {group: rri}}`` for the forces.
    """
    months = _months(start, end)
    spec = TRUTH["stop_search"]
    groups, levels = _groups(), _levels()
    pop, age_share = _census()
    time = _time_factor(months).mean()
    rri = np.array([_vector(spec["rri"][f], groups) for f in FORCES])
    rate = _vector(spec["rate_per_1000_white"], FORCES)[:, None] * rri * time  # per 1,000 a year
    people = pop.sum(axis=2)
    rows = []
    for fi, force in enumerate(FORCES):
        for gi, group in enumerate(groups):
            rows.append((force, group, people[fi, gi], rate[fi, gi] * people[fi, gi] / 1000))
    for gi, group in enumerate(groups):
        rows.append(
            ("Wessex", group, people[:, gi].sum(), (rate[:, gi] * people[:, gi]).sum() / 1000)
        )
    table = pd.DataFrame(rows, columns=["area", "ethnicity", "population", "searches_per_year"])
    table["rate"] = table["searches_per_year"] / table["population"] * 1000
    white = table[table["ethnicity"] == "White"].set_index("area")["rate"]
    table["rri"] = table["rate"] / table["area"].map(white)
    # age-specific RRI: rri x (sum_a share_W(a) p(a)) / (sum_a share_g(a) p(a)); sex likewise
    sexes, ages = levels["sex"], levels["age_band_police_uk"]
    sex_share = pop / pop.sum(axis=2, keepdims=True)
    norm = (sex_share * _vector(spec["sex_propensity"], sexes)).sum(axis=2) * (
        age_share * _vector(spec["age_propensity"], ages)
    ).sum(axis=2)
    white_i = groups.index("White")
    table.attrs["age_specific_rri"] = {
        force: {
            group: float(rri[fi, gi] * norm[fi, white_i] / norm[fi, gi])
            for gi, group in enumerate(groups)
        }
        for fi, force in enumerate(FORCES)
    }
    return table.loc[:, list(STOP_RATE_COLUMNS)]


def _frame_eta(frame: pd.DataFrame, model: dict) -> tuple[np.ndarray, np.ndarray]:
    """Linear predictor without the group term, and which rows have every covariate."""
    eta = np.full(len(frame), float(model.get("intercept", 0.0)))
    complete = np.ones(len(frame), dtype=bool)
    for column, coefs in model.get("terms", {}).items():
        value, present = _lookup(frame[column], coefs)
        eta += value
        complete &= present
    return eta, complete


def true_marginal_rr(
    frame: pd.DataFrame,
    stage: str | None = None,
    *,
    reference: str = "White",
    standard: str = "all",
) -> pd.DataFrame:
    """The true crude and adjusted ratios of a synthetic frame, from the generating model.

    Evaluates the model in :data:`TRUTH` on the frame's own rows: each row's true probability
    (or mean sentence length) given its covariates, under its own group and under every group.

    Parameters
    ----------
    frame : DataFrame
        Records from :func:`wessex` (or read back from :func:`write`'s files) of the stage's
        dataset.
    stage : {"hit_rate", "strip_search", "out_of_court", "charge", "custody", "sentence_length"}
        Default: the dataset's main stage (``hit_rate``, ``out_of_court``, ``charge``,
        ``custody``), found from ``frame.attrs["dataset"]``.
    reference : str
        The reference group (default White).
    standard : str
        The population over which adjusted rates are averaged: ``"all"`` (every analysed row
        with a stated group: marginal standardisation as in METHODS.md section 5, what a
        g-computation estimate targets), or a group name (that group's own rows: the effect on
        the treated).

    Returns
    -------
    DataFrame
        One row per group (the five Census groups), columns :data:`TRUE_RR_COLUMNS`:
        ``stage``; ``group``; ``records`` (rows analysed: stated group, every covariate
        present, and for hit rates person searches outside section 60 with the outcome
        supplied; for sentence length immediate custody with a length); ``crude_rate`` (mean
        true probability, or mean true expected months, over the group's own rows: the
        expectation of the observed crude rate given these rows); ``crude_rri`` (against the
        reference); ``adjusted_rate`` (mean over the standard rows of the probability had each
        row been in the group); ``adjusted_rr`` (against the reference: the true marginal risk
        ratio, or ratio of means); ``conditional_ratio`` (the planted odds ratio, rate ratio or
        ratio of means).

    Notes
    -----
    For a logit stage with linear predictor ``eta_i`` (intercept plus the covariate terms of
    :data:`TRUTH`) and planted odds ratio ``OR_g``: ``p_i(g) = expit(eta_i + log OR_g)``;
    ``adjusted_rate_g = mean_i p_i(g)`` over the standard rows; ``adjusted_rr_g =
    adjusted_rate_g / adjusted_rate_ref``; ``crude_rate_g = mean_{i in g} p_i(g)``. A covariate
    value not listed in a term adds 0; a blank covariate drops the row (blanks are missing at
    random). The unadjusted RRI exceeds the adjusted ratio by ``crude_rri / adjusted_rr``.

    Examples
    --------
    >>> from dispro import synth
    >>> sentences = synth.wessex(scale=0.05, seed=3, datasets="sentencing")["sentencing"]
    >>> truth = synth.true_marginal_rr(sentences).set_index("group")
    >>> float(truth.loc["Black", "conditional_ratio"])
    1.25
    >>> bool(truth.loc["Black", "crude_rri"] > truth.loc["Black", "adjusted_rr"] > 1)
    True
    """
    dataset = frame.attrs.get("dataset")
    if stage is None:
        if dataset not in _DEFAULT_STAGE:
            raise ParameterError(
                "`stage` must be given when the frame does not say its dataset (attrs['dataset']); "
                f"one of {tuple(_STAGES)}"
            )
        stage = _DEFAULT_STAGE[dataset]
    check_choice("stage", stage, tuple(_STAGES))
    groups = _groups()
    check_choice("reference", reference, groups)
    if standard != "all":
        check_choice("standard", standard, ("all", *groups))
    expected_dataset, path, _ = _STAGES[stage]
    model = TRUTH[path[0]][path[1]]
    kind = model["kind"]
    own = _index_of(frame["ethnicity"], groups)
    rows = own >= 0
    if expected_dataset == "stop_search":
        rows &= ~frame["vehicle_only"].astype("boolean").fillna(False).to_numpy(dtype=bool)
        if stage == "hit_rate":
            rows &= _index_of(frame["legislation"], (_S60,)) < 0
            rows &= frame["outcome_linked"].notna().to_numpy()
        else:
            rows &= frame["removal_outer_clothing"].notna().to_numpy()
    if stage == "sentence_length":
        rows &= _index_of(frame["outcome"], ("immediate_custody",)) == 0
        rows &= frame["custody_months"].notna().to_numpy()
    if kind == "loglinear":  # strip searches: share_white[force] x rate_ratio[group]
        base, complete = _lookup(frame["force"], model["share_white"])
        complete &= base > 0
        eta = np.log(np.where(complete, base, 1.0))
    else:
        eta, complete = _frame_eta(frame, model)
    rows &= complete
    return _truth_table(stage, eta[rows], own[rows], reference, standard)
