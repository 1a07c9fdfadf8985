"""The one GLM engine's public entry point: :func:`fit_glm`.

Every GLM in dispro is fitted by the same engine (:mod:`dispro.models._glm`): statsmodels' GLM on
a design built from categorical codes where the formula allows it (patsy's otherwise), fitted by
statsmodels' IRLS with each step solved on the normal equations, and statsmodels' own fit as the
fallback. The model functions of :mod:`dispro.models` use it directly; other packages
(:mod:`dispro.stopsearch`) call :func:`fit_glm`.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd
import statsmodels.api as sm
import statsmodels.formula.api as smf
from statsmodels.tools.sm_exceptions import MissingDataError

from ..errors import DisproError, ParameterError, ValidationError, did_you_mean
from ._glm import _IRLS, _blas, _cluster_fix, _model, _quiet_fit

__all__ = ["GLM_FAMILIES", "fit_glm"]

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
