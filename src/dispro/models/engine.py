"""The one GLM engine's public entry points: :func:`fit_glm` and :func:`fit_binomial_batch`.

Every GLM in dispro is fitted by the same engine (:mod:`dispro.models._glm`): statsmodels' GLM on
a design built from categorical codes where the formula allows it (patsy's otherwise), fitted by
statsmodels' IRLS with each step solved on the normal equations, and statsmodels' own fit as the
fallback. The model functions of :mod:`dispro.models` use it directly; other packages
(:mod:`dispro.stopsearch`) call :func:`fit_glm`, and :func:`fit_binomial_batch` where many small
binomial models are fitted at once (the change-over-time tests of
:func:`dispro.stopsearch.trend_test`).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import NamedTuple

import numpy as np
import pandas as pd
import statsmodels.api as sm
import statsmodels.formula.api as smf
from scipy import special
from statsmodels.tools.sm_exceptions import MissingDataError

from ..errors import DisproError, ParameterError, ValidationError, did_you_mean
from ._glm import _IRLS, _blas, _cluster_fix, _model, _quiet_fit

__all__ = ["GLM_FAMILIES", "BinomialBatch", "fit_binomial_batch", "fit_glm"]

#: The families :func:`fit_glm` accepts by name (each with its canonical link).
GLM_FAMILIES = ("binomial", "poisson", "gaussian")


def _family(family) -> sm.families.Family:
    if isinstance(family, sm.families.Family):
        return family
    named = {"binomial": sm.families.Binomial, "poisson": sm.families.Poisson,
             "gaussian": sm.families.Gaussian}  # fmt: skip
    if isinstance(family, str) and family in named:
        return named[family]()
    raise ParameterError(
        f"fit_glm: `family` must be a statsmodels family (e.g. sm.families.Poisson()) or one of "
        f"{GLM_FAMILIES}, but {family!r} was passed"
    )


def _values(data, value, name: str, n: int) -> np.ndarray:
    """A column of ``data`` named by ``value``, or ``value`` itself as an array of ``n`` rows."""
    if isinstance(value, str):
        if not isinstance(data, pd.DataFrame) or value not in data.columns:
            columns = [] if not isinstance(data, pd.DataFrame) else data.columns
            raise ValidationError(
                f"fit_glm: column {value!r} (given as `{name}`) is not in `data`"
                f"{did_you_mean(value, columns)}"
            )
        value = data[value]
    out = np.asarray(value)
    if out.ndim != 1 or len(out) != n:
        raise ValidationError(
            f"fit_glm: `{name}` must have one value per row of the data ({n}), but its shape is "
            f"{out.shape}"
        )
    return out


def _check_response(model, func: str) -> None:
    """A binomial response is a proportion in [0, 1] (or two columns of counts); a Poisson
    response a count >= 0. statsmodels fits either regardless, to meaningless estimates."""
    y = np.asarray(model.endog, dtype=float)
    if not np.all(np.isfinite(y)):
        raise ValidationError(f"{func}: the response has missing or infinite values")
    family = model.family
    bad = None
    if isinstance(family, sm.families.Binomial) and ((y < 0) | (y > 1)).any():
        bad = (
            "a binomial response must be a proportion from 0 to 1 (or counts 'events + nonevents')"
        )
    elif isinstance(family, sm.families.Poisson) and (y < 0).any():
        bad = "a Poisson response must be a count of 0 or more"
    if bad is not None:
        raise ValidationError(f"{func}: {bad}; values from {y.min():g} to {y.max():g} were passed")


def fit_glm(
    data: pd.DataFrame | None,
    formula,
    *,
    family="binomial",
    offset=None,
    var_weights=None,
    freq_weights=None,
    cov_type: str = "nonrobust",
    cov_kwds: Mapping | None = None,
    scale=None,
    n_records: int | None = None,
    start_params=None,
    maxiter: int = 100,
    tol: float | None = None,
    polish: bool = True,
    fast: bool = True,
):
    """Fit a GLM as ``smf.glm(formula, data, ...).fit(...)`` would, through dispro's engine.

    Parameters
    ----------
    data : DataFrame or None
        The records or collapsed cells the formula's columns come from; ``None`` when
        ``formula`` is a design.
    formula : str or (endog, exog)
        A statsmodels (patsy) formula, e.g. ``'y ~ C(g, Treatment(reference="White")) + x'``, or
        ``"events + nonevents ~ ..."`` for binomial counts on cells; or a design ``(endog, exog)``
        of arrays or DataFrames, ``exog`` with its intercept column.
    family : statsmodels family or {"binomial", "poisson", "gaussian"}
        The family (and link): a statsmodels family instance (``sm.families.Gamma(
        sm.families.links.Log())``), or a name for the family with its canonical link.
    offset : str or array-like, optional
        A column of ``data`` or an array added to the linear predictor (``log(exposure)``).
    var_weights, freq_weights : str or array-like, optional
        statsmodels' variance and frequency weights (a column of ``data`` or an array): e.g. the
        records of each cell when the response is the cell mean (``var_weights``).
    cov_type : str
        ``"nonrobust"`` (default), ``"cluster"`` or another statsmodels covariance type.
    cov_kwds : dict, optional
        statsmodels' ``cov_kwds``; for ``cov_type="cluster"``, ``{"groups": ...}`` with the
        cluster of each row (an array, or a column name of ``data``).
    scale : None, "X2", "dev" or float
        The scale: ``None`` the family's (1 for binomial and Poisson), ``"X2"`` Pearson's
        chi-squared over the residual df (quasi-likelihood), ``"dev"`` the deviance's, or a number.
    n_records : int, optional
        With ``cov_type="cluster"`` on collapsed cells: the number of records the cells stand for.
        The small-sample factor ``G/(G-1)·(N-1)/(N-K)`` then takes ``N`` = records, so the
        covariance equals the record-level fit's (statsmodels would take the number of cells).
    start_params : array-like, optional
        Starting values (default: statsmodels' start from the family's starting mean).
    maxiter : int
        At most this many IRLS iterations (default 100).
    tol : float, optional
        ``None`` (default): stop when the deviance changes by less than 1e-13 of itself (or
        1e-10). A number: statsmodels' criterion, an absolute change in the deviance below
        ``tol`` (statsmodels' default is 1e-8).
    polish : bool
        ``True`` (default): one more IRLS step from the converged estimates, so the covariance is
        evaluated exactly at the estimates reported. ``False`` stops where statsmodels' own fit
        stops, and gives its results (to rounding).
    fast : bool
        ``True`` (default): each IRLS step solved on the p x p normal equations, statsmodels' fit
        taking over when the design is singular or ill-conditioned at some iterate. ``False``:
        statsmodels' own fit throughout.

    Returns
    -------
    statsmodels.genmod.generalized_linear_model.GLMResultsWrapper
        The fitted results as statsmodels returns them (``params``, ``bse``, ``cov_params()``,
        ``conf_int(alpha)``, ``pvalues``, ``llf``, ``deviance``, ``pearson_chi2``, ``df_resid``,
        ``scale``, ``converged``, ``predict``, ``summary()``; ``.model.formula`` and
        ``.model.exog_names``). A model that did not converge is returned with
        ``converged=False``.

    Raises
    ------
    ParameterError
        ``family`` is unknown, ``formula`` is neither a string nor a design, ``data`` is not a
        DataFrame with a formula, or a number is out of range.
    ValidationError
        A named column is missing, an array has the wrong length, or the formula cannot be built
        on the data (patsy's message is included).
    DisproError
        The fit fails (statsmodels or the linear algebra raises, or the estimates are not
        finite): never a bare statsmodels or numpy error.

    Warns
    -----
    Warnings statsmodels raises while fitting (e.g. ``PerfectSeparationWarning``) are re-issued
    to the caller.

    Notes
    -----
    The iterations are statsmodels' (same start, same steps, same deviance criterion); only the
    linear algebra differs (Cholesky factor of the equilibrated ``X'WX`` instead of an SVD of the
    n x p weighted design), so the estimates equal statsmodels' to rounding (tested). With
    ``n_records``, the cells must include the cluster in their key (each cluster's score sum is
    then the records'); see :func:`dispro.models.logistic`.

    Examples
    --------
    >>> import pandas as pd
    >>> from dispro.models import fit_glm
    >>> cells = pd.DataFrame({"group": ["White", "Black", "White", "Black"],
    ...                       "area": ["north", "north", "south", "south"],
    ...                       "events": [60, 30, 45, 10], "nonevents": [340, 70, 155, 40]})
    >>> fit = fit_glm(cells, 'events + nonevents ~ C(group, Treatment(reference="White")) + area')
    >>> fit.params.round(3).tolist()  # log odds: intercept, Black, south
    [-1.64, 0.54, 0.253]
    """
    func = "fit_glm"
    fam = _family(family)
    if isinstance(maxiter, bool) or not isinstance(maxiter, int | np.integer) or maxiter < 1:
        raise ParameterError(
            f"{func}: `maxiter` must be a positive integer, but {maxiter!r} was passed"
        )
    if tol is not None and not (isinstance(tol, int | float) and tol > 0):
        raise ParameterError(
            f"{func}: `tol` must be None or a positive number, but {tol!r} was passed"
        )
    if isinstance(formula, str):
        if not isinstance(data, pd.DataFrame):
            raise ParameterError(
                f"{func}: `data` must be a pandas DataFrame with a formula, but "
                f"{type(data).__name__} was passed"
            )
        n = len(data)
    elif isinstance(formula, tuple) and len(formula) == 2:
        endog, exog = formula
        n = len(exog)
    else:
        raise ParameterError(
            f"{func}: `formula` must be a formula string or a design (endog, exog), but "
            f"{type(formula).__name__} was passed"
        )
    kwargs = {"family": fam}
    for name, value in (("offset", offset), ("var_weights", var_weights),
                        ("freq_weights", freq_weights)):  # fmt: skip
        if value is not None:
            kwargs[name] = _values(data, value, name, n).astype(float)
    if isinstance(formula, str):
        import patsy

        try:
            model = _model(smf.glm, formula, data, **kwargs)
        except (patsy.PatsyError, ValueError, MissingDataError) as exc:
            raise ValidationError(
                f"{func}: the formula {formula!r} cannot be built on `data`: {exc}"
            ) from exc
        if len(model.endog) != n:  # patsy drops rows with a missing value, silently
            raise ValidationError(
                f"{func}: {n - len(model.endog)} row(s) of `data` have a missing value in a column "
                f"of the formula {formula!r}; drop or label them before fitting"
            )
    else:
        try:
            with _blas(np.size(exog)):
                model = sm.GLM(endog, exog, **kwargs)
        except (ValueError, MissingDataError) as exc:
            raise ValidationError(f"{func}: the design (endog, exog) is not usable: {exc}") from exc
    _check_response(model, func)

    fit_kwargs: dict = {"maxiter": int(maxiter)}
    fit_kwargs.update(_IRLS if tol is None else {"tol": float(tol)})
    if scale is not None:
        fit_kwargs["scale"] = scale
    if start_params is not None:
        fit_kwargs["start_params"] = np.asarray(start_params, dtype=float)
    groups = None
    if cov_type != "nonrobust":
        kwds = dict(cov_kwds or {})
        if cov_type == "cluster":
            if "groups" not in kwds:
                raise ParameterError(
                    f"{func}: cov_type='cluster' needs cov_kwds={{'groups': ...}} (the cluster of "
                    "each row, or a column name of `data`)"
                )
            labels = _values(data, kwds["groups"], "cov_kwds['groups']", n)
            groups = pd.factorize(labels)[0].astype(np.int64)
            kwds["groups"] = groups
            if n_records is not None:
                kwds["use_correction"] = False
        fit_kwargs.update(cov_type=cov_type, cov_kwds=kwds)
    try:
        result, _, caught = _quiet_fit(model, fast=fast, polish=polish, **fit_kwargs)
    except (ValueError, ArithmeticError, np.linalg.LinAlgError) as exc:
        raise DisproError(
            f"{func}: the model could not be fitted: {type(exc).__name__}: {exc}"
        ) from exc
    if groups is not None and n_records is not None:
        _cluster_fix(result, groups, int(n_records))
    seen = set()
    for w in caught:  # each distinct warning once (statsmodels repeats some at every iteration)
        if (w.category, str(w.message)) not in seen:
            seen.add((w.category, str(w.message)))
            warnings.warn(w.message, w.category, stacklevel=2)
    if not np.all(np.isfinite(np.asarray(result.params))):
        raise DisproError(f"{func}: the fit gave non-finite estimates: {dict(result.params)}")
    return result


class BinomialBatch(NamedTuple):
    """The fits of :func:`fit_binomial_batch`, one row per problem."""

    #: (k, q) coefficients, on the logit scale.
    params: np.ndarray
    #: (k, q) standard errors (scale 1).
    bse: np.ndarray
    #: (k,) deviances.
    deviance: np.ndarray
    #: (k,) Pearson chi-squared statistics.
    pearson_chi2: np.ndarray
    #: (k,) whether each fit converged to finite coefficients.
    converged: np.ndarray


def fit_binomial_batch(events, trials, exog, *, offset=None, maxiter: int = 60) -> BinomialBatch:
    """Fit many small binomial-logit GLMs at once: ``logit p = offset + exog·params``.

    Each of the ``k`` problems is the GLM ``sm.GLM([events, trials - events], exog,
    family=Binomial(), offset=offset)`` on its ``u`` rows; all are fitted together by IRLS on
    stacked arrays, with no Python loop over problems. Used by
    :func:`dispro.stopsearch.trend_test` (one problem per compared group, one row per time unit).

    Parameters
    ----------
    events, trials : array-like, shape (k, u)
        Events and trials of each row of each problem. Rows with ``trials = 0`` carry no
        information (pad problems with fewer rows this way).
    exog : array-like, shape (k, u, q)
        The design of each problem; its first column is the intercept (all 1).
    offset : array-like, shape (k, u), optional
        Added to the linear predictor (default 0).
    maxiter : int
        At most this many IRLS iterations (default 60).

    Returns
    -------
    BinomialBatch
        A named tuple ``(params, bse, deviance, pearson_chi2, converged)``: the coefficients and
        standard errors (k, q), the deviance and Pearson chi-squared (k,), and whether each fit
        converged to finite coefficients (``False`` under separation, where the deviance is
        still the limit's).

    Raises
    ------
    ValidationError
        The arrays' shapes do not agree, a value is not finite, or events are negative or exceed
        the trials.

    Notes
    -----
    IRLS from the intercept-only start (the pooled log odds less the trial-weighted mean offset),
    each step the pseudo-inverse of the information times the score, halved up to 20 times
    where the deviance rose. A problem is done when its steps fall below 1e-10 or its deviance
    changes by less than 1e-12 of itself; the loop stops when all are. Standard errors come from
    the information at the estimates (a singular one gives its pseudo-inverse). The estimates,
    deviance and Pearson statistic equal statsmodels' on each problem to rounding (tested).

    Examples
    --------
    >>> import numpy as np
    >>> from dispro.models import fit_binomial_batch
    >>> events = np.array([[30.0, 10.0], [5.0, 9.0]])
    >>> trials = np.array([[100.0, 50.0], [20.0, 20.0]])
    >>> x = np.array([[0.0, 1.0], [0.0, 1.0]])
    >>> fit = fit_binomial_batch(events, trials, np.stack([np.ones((2, 2)), x], axis=-1))
    >>> fit.params.round(3).tolist()  # intercept, slope of each problem
    [[-0.847, -0.539], [-1.099, 0.898]]
    """
    a, m = np.asarray(events, dtype=float), np.asarray(trials, dtype=float)
    X = np.asarray(exog, dtype=float)
    off = np.zeros_like(m) if offset is None else np.asarray(offset, dtype=float)
    if X.ndim != 3 or not (a.shape == m.shape == off.shape == X.shape[:2]):
        raise ValidationError(
            "fit_binomial_batch: `events`, `trials` and `offset` must have shape (k, u) and "
            f"`exog` (k, u, q), but their shapes are {a.shape}, {m.shape}, {off.shape} and "
            f"{X.shape}; pad problems with fewer rows with trials 0"
        )
    if not all(np.isfinite(v).all() for v in (a, m, off, X)):
        raise ValidationError("fit_binomial_batch: the arrays have missing or infinite values")
    if (a < 0).any() or (a > m).any():
        raise ValidationError(
            "fit_binomial_batch: `events` must be from 0 to `trials`, but values from "
            f"{(a - m).max():g} above the trials or down to {a.min():g} were passed"
        )
    k, _, q = X.shape
    coef = np.zeros((k, q))
    share = a.sum(axis=1) / m.sum(axis=1)
    coef[:, 0] = special.logit(np.clip(share, 1e-8, 1 - 1e-8)) - np.average(
        off, axis=1, weights=m + 1e-300
    )

    def deviance(c):
        eta = off + np.einsum("kuq,kq->ku", X, c)
        # -2 log-likelihood minus the saturated model's (xlogy keeps 0·log 0 = 0)
        ll = -a * np.logaddexp(0, -eta) - (m - a) * np.logaddexp(0, eta)
        sat = special.xlogy(a, a) + special.xlogy(m - a, m - a) - special.xlogy(m, m)
        return 2 * (sat - ll).sum(axis=1), eta

    dev, eta = deviance(coef)
    step = np.zeros_like(coef)
    for _ in range(maxiter):
        p = special.expit(eta)
        w = m * p * (1 - p)
        info = np.einsum("kuq,ku,kur->kqr", X, w, X)
        score = np.einsum("kuq,ku->kq", X, a - m * p)
        step = np.einsum("kqr,kr->kq", np.linalg.pinv(info), score)
        new, new_eta = deviance(coef + step)
        for _halve in range(20):  # step-halving where the deviance rose
            worse = new > dev + 1e-9 * (1 + np.abs(dev))
            if not worse.any():
                break
            step[worse] /= 2
            new, new_eta = deviance(coef + step)
        coef, eta, change, dev = coef + step, new_eta, dev - new, new
        # done when the steps vanish, or (separated fits) the deviance stops changing
        small = np.all(np.abs(step) < 1e-10, axis=1) | (np.abs(change) < 1e-12 * (1 + dev))
        if small.all():
            break
    p = special.expit(eta)
    w = m * p * (1 - p)
    cov = np.linalg.pinv(np.einsum("kuq,ku,kur->kqr", X, w, X))
    se = np.sqrt(np.maximum(np.diagonal(cov, axis1=1, axis2=2), 0))
    with np.errstate(divide="ignore", invalid="ignore"):
        x2 = np.where(w > 0, (a - m * p) ** 2 / w, 0.0).sum(axis=1)
    # a separated fit still steps by about 1 an iteration towards infinity
    fine = np.all(np.abs(step) < 1e-4, axis=1) & np.all(np.abs(coef) < 25, axis=1)
    return BinomialBatch(coef, se, dev, x2, fine)
