"""What the model functions share: the binomial fit on cells or records, the specification of
marginal standardisation kept on a result, the info dictionary and the ledger entries."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.api as sm
import statsmodels.formula.api as smf

from .. import ledger
from ..errors import DisproWarning, ParameterError, check_choice
from ._design import _group_columns, _terms
from ._glm import _IRLS, _blas, _cluster_fix, _model, _quiet_fit
from ._prepare import _collapse, _control_reference, _Prepared, _record_frame
from ._separation import _LP_MAX_ROWS, _check_separation, _separation
from .marginal import adjusted_rates
from .results import DATA_LEVELS, ModelResult, SeparationWarning


def _group_sums(data: pd.DataFrame, group: str, columns: list[str]) -> pd.DataFrame:
    """Sums of ``columns`` by the levels of the categorical ``group`` (``np.bincount``)."""
    col = data[group]
    codes = col.cat.codes.to_numpy()
    size = len(col.cat.categories)
    return pd.DataFrame(
        {
            c: np.bincount(codes, weights=data[c].to_numpy(dtype=float), minlength=size)
            for c in columns
        },
        index=pd.Index(col.cat.categories.astype(str), name=group),
    )


def _as_labels(values: pd.Series) -> np.ndarray:
    """The values as an array of strings (a categorical's labels looked up by code)."""
    if isinstance(values.dtype, pd.CategoricalDtype) and not values.isna().any():
        labels = np.asarray(values.cat.categories.astype(str), dtype=object)
        return labels[values.cat.codes.to_numpy()]
    return np.asarray(values.astype(str))


def _spec(fit_result, prep, data, *, kind, weights, crude, per, e_values, separated, boot=None):
    k = fit_result.model.exog.shape[1]
    names = list(fit_result.model.exog_names)[:k]
    group_col = _group_columns(names, prep)
    separated_groups = {g for g, c in group_col.items() if c is not None and c in separated}
    return {
        "standardise": True,
        "X": np.asarray(fit_result.model.exog, dtype=float),
        "weights": np.asarray(weights, dtype=float),
        "beta": np.asarray(fit_result.params, dtype=float)[:k],
        "cov": np.asarray(fit_result.cov_params(), dtype=float)[:k, :k],
        "group_col": group_col,
        "groups": prep.groups,
        "reference": prep.reference,
        "row_group": _as_labels(data[prep.group]),
        "kind": kind,
        "skip": sorted(separated),
        "separated_groups": separated_groups,
        "crude": crude,
        "per": per,
        "e_values": e_values,
        "boot": boot,
    }


def _choose_level(data_level: str, prep: _Prepared) -> str:
    check_choice("data_level", data_level, DATA_LEVELS)
    if prep.weights is not None:  # cells counted by an engine: they are the data
        if data_level == "records":
            raise ParameterError(
                "an Ibis table is counted on its engine and fitted on the cells it returns; "
                "data_level='records' would bring every record to Python"
            )
        return "cells"
    if data_level == "auto":
        return "records" if prep.continuous else "cells"
    return data_level


def _fit_binomial(prep, outcome_values, *, func, extra_terms=(), extra_labels=None, data_level,
                  alpha, keys_extra=()):  # fmt: skip
    """Build the frame (cells or records), check separation, fit; returns what callers need."""
    control_ref = _control_reference(prep)
    pieces, labels = _terms(prep, control_ref)
    pieces = [pieces[0], *extra_terms, *pieces[1:]]
    labels.update(extra_labels or {})
    level = _choose_level(data_level, prep)
    keys = [prep.group, *keys_extra, *prep.controls]
    if prep.cluster is not None and prep.cluster not in keys:
        keys.append(prep.cluster)
    y = np.asarray(outcome_values)
    if y.dtype != bool:
        y = y.astype(float)
    if level == "cells":
        data = _collapse(prep, keys, {"_events": y})  # a boolean outcome is counted faster
        data["_events"] = data["_events"].round().astype(np.int64)
        data["_nonevents"] = data["_n"] - data["_events"]
        lhs = "_events + _nonevents"
    else:
        data = _record_frame(prep, keys)
        data["_events"] = y.astype(np.int64)
        data["_n"] = 1
        lhs = "_events"
    formula = f"{lhs} ~ " + " + ".join(pieces)
    model = _model(smf.glm, formula, data, family=sm.families.Binomial())
    names = list(model.exog_names)
    X = np.asarray(model.exog)
    events = data["_events"].to_numpy()
    trials = data["_n"].to_numpy()
    separated: set[int] = set()
    sep_keys = [k for k in keys if k != prep.cluster or k in prep.controls]
    exact = False  # whether the exact (linear programme) check ran
    if level == "cells" and len(data) <= _LP_MAX_ROWS:
        exact = True
        separated = _check_separation(
            X, names, labels, data, sep_keys, events=events, trials=trials, func=func
        )
    elif level == "records":
        uniq, inverse = (
            np.unique(X, axis=0, return_inverse=True) if len(X) <= 2_000_000 else (None, None)
        )
        if uniq is not None and len(uniq) <= _LP_MAX_ROWS:
            exact = True
            inverse = inverse.ravel()
            ev_u = np.bincount(inverse, weights=events, minlength=len(uniq))
            n_u = np.bincount(inverse, minlength=len(uniq)).astype(float)
            pos = ev_u == n_u
            neg = ev_u == 0
            with _blas(uniq.size):
                found = _separation(uniq, pos, neg, ~(pos | neg))
            if found is not None:
                rows_u, direction = found
                scale = np.abs(direction).max()
                separated = set(np.flatnonzero(np.abs(direction) > 1e-7 * scale).tolist())
                terms = [names[j] for j in sorted(separated)]
                warnings.warn(
                    f"{func}: complete or quasi-complete separation among {len(rows_u)} distinct "
                    f"covariate pattern(s) with no events or only events; terms not estimable "
                    f"(reported as missing with status 'separated'): {terms}",
                    SeparationWarning,
                    stacklevel=3,
                )
    fit_kwargs: dict[str, Any] = {**_IRLS, "maxiter": 100}
    cluster_codes = None
    if prep.cluster is not None:
        cluster_codes = np.asarray(data[prep.cluster].cat.codes, dtype=np.int64)
        fit_kwargs.update(
            cov_type="cluster", cov_kwds={"groups": cluster_codes, "use_correction": False}
        )
    # separated fits run towards the boundary: statsmodels' SVD-based steps, as before
    result, converged, _ = _quiet_fit(model, fast=not separated, **fit_kwargs)
    if prep.cluster is not None:
        _cluster_fix(result, cluster_codes, prep.n_used)
    if not exact:  # too many distinct patterns for the exact check: flag runaway coefficients
        big = np.flatnonzero(np.abs(np.asarray(result.params)) > 15)
        if len(big):
            separated = set(big.tolist())
            warnings.warn(
                f"{func}: possible separation: coefficients of {[names[j] for j in big]} exceed "
                "15 in absolute value (odds ratios beyond 3 million); they are reported as "
                "missing with status 'separated'",
                SeparationWarning,
                stacklevel=3,
            )
    if not converged and not separated:
        warnings.warn(
            f"{func}: the model did not converge in 100 iterations; treat the estimates with "
            "caution",
            DisproWarning,
            stacklevel=3,
        )
    return {
        "data": data, "model": result, "formula": formula, "labels": labels, "names": names,
        "separated": separated, "level": level, "control_reference": control_ref, "keys": keys,
        "cluster_codes": cluster_codes,
    }  # fmt: skip


def _with_adjusted(table, result, data, info, spec, *, adjust=None) -> ModelResult:
    """The result with its adjusted rates (marginal standardisation of the fitted model)."""
    partial = ModelResult(
        table=table, adjusted=None, model=result, data=data, info=info, _spec=spec
    )
    adjusted = adjusted_rates(partial)
    if adjust is not None:
        adjusted = adjust(adjusted)
    return ModelResult(
        table=table, adjusted=adjusted, model=result, data=data, info=info, _spec=spec
    )


def _finish(prep, table, func, notes, adjusted=None):
    """Ledger entries on the output tables."""
    for t in (table, adjusted):
        if t is None:
            continue
        for rule, rows in prep.entries:
            ledger.record(t, func, rule, rows)


def _base_info(func, prep, fitted, alpha, family, **more):
    data = fitted["data"]
    info = {
        "function": func,
        "family": family,
        "formula": fitted["formula"],
        "data_level": fitted["level"],
        "records": prep.n_used,
        "records_input": prep.n_input,
        "rows_fitted": len(data),
        "group": prep.group,
        "reference": prep.reference,
        "groups": prep.groups,
        "controls": prep.controls,
        "dropped_controls": prep.dropped,
        "control_reference": fitted["control_reference"],
        "cluster": prep.cluster,
        "clusters": None if prep.cluster is None else len(prep.categorical[prep.cluster][1]),
        "cov_type": "cluster" if prep.cluster is not None else "nonrobust",
        "alpha": alpha,
        "separated_terms": [fitted["names"][j] for j in sorted(fitted["separated"])],
    }
    info.update(more)
    return info
