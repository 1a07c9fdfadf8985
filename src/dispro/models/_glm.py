"""The GLM engine: statsmodels' GLM on dispro's design, fitted by IRLS on the normal equations
with statsmodels' own fit as the fallback; rank checks, the cluster-robust fix for collapsed
cells, and the tidy term table.

The fitted model is a statsmodels ``GLMResults`` as ``smf.glm(...).fit()`` returns it (same
iterations, same deviance criterion); only the linear algebra of each step differs
(:func:`_irls`). Everything here is private to :mod:`dispro.models`.
"""

from __future__ import annotations

import contextlib
import warnings

import numpy as np
import pandas as pd
import statsmodels.api as sm
import statsmodels.formula.api as smf
from scipy import linalg, stats
from statsmodels.tools import sm_exceptions
from threadpoolctl import ThreadpoolController

from .._stats import z as _z
from ._design import _design
from ._kernels import _wald
from .results import TERM_COLUMNS

# IRLS stops when the deviance changes by less than 1e-13 of itself (or 1e-10: a saturated fit
# on cells has deviance 0). statsmodels' default ``tol`` is an absolute change only, which on a
# deviance of 10^4 or more (millions of records) sits at rounding noise and can take dozens of
# extra iterations; IRLS converges quadratically, so the estimates are at machine precision one
# iteration after this is met.
_IRLS = {"atol": 1e-10, "rtol": 1e-13}


# design matrices up to this many elements are fitted with one BLAS thread (see _blas)
_SMALL_BLAS = 2_000_000


def _blas(n_elements: int):
    """One BLAS thread for small matrices (collapsed cells), the library default otherwise.

    On tall-skinny matrices of a few thousand rows a multi-threaded OpenBLAS gains nothing, and on
    a busy machine its spinning threads make each call up to 100 times slower (measured: a thin SVD
    of 2,762 x 24 took 0.8 s with 2 threads on a loaded 2-core machine, 0.008 s with 1). The limit
    is set with threadpoolctl for the duration of the call only, as scikit-learn does. The
    controller (which lists the loaded BLAS libraries, about 4 ms) is made once per process.
    """
    if n_elements <= _SMALL_BLAS:
        global _CONTROLLER
        if _CONTROLLER is None:
            _CONTROLLER = ThreadpoolController()
        return _CONTROLLER.limit(limits=1, user_api="blas")
    return contextlib.nullcontext()


_CONTROLLER: ThreadpoolController | None = None


_SM_WARNINGS = (
    sm_exceptions.PerfectSeparationWarning,
    sm_exceptions.ConvergenceWarning,
    sm_exceptions.DomainWarning,
    sm_exceptions.HessianInversionWarning,
    sm_exceptions.SpecificationWarning,
    RuntimeWarning,
)


def _clearly_full_rank(A: np.ndarray, rtol: float) -> bool:
    """Whether every singular value of ``A`` is certainly above ``rtol`` times the largest.

    From the eigenvalues of the p x p Gram matrix of the column-equilibrated ``A`` (a few
    milliseconds where an SVD of a tall ``A`` takes tens): with ``A = B·D``, ``s_min(A) / s_max(A)
    >= (d_min / d_max) / cond(B)``. Only well-conditioned cases are decided here; ``False`` means
    "not certain", and the caller then takes the SVD.
    """
    if A.shape[0] < A.shape[1] or A.shape[1] == 0:
        return False
    G = A.T @ A
    d = np.sqrt(np.diag(G))
    if not (np.all(np.isfinite(G)) and np.all(d > 0)):
        return False
    lam = np.linalg.eigvalsh(G / d[:, None] / d)
    if not lam[0] > 1e-10 * lam[-1]:  # eigenvalues below that are not resolved
        return False
    return bool((d.min() / d.max()) / np.sqrt(lam[-1] / lam[0]) > 1e3 * rtol)


def _null_space(A, rcond=1e-10):
    """Orthonormal basis of the null space of ``A`` from its thin SVD (``A`` may be tall: never
    forms the m x m factor that ``scipy.linalg.null_space`` does)."""
    m, p = A.shape
    if _clearly_full_rank(A, rcond):  # the usual case, without the SVD
        return np.zeros((p, 0))
    _, s, vt = np.linalg.svd(A, full_matrices=m < p)
    rank = int(np.sum(s > rcond * s[0])) if len(s) and s[0] > 0 else 0
    return vt[rank:].T.copy()


class GLM(sm.GLM):
    """statsmodels' ``GLM`` on a design made by :func:`_design`, as ``smf.glm`` would make it.

    Two differences from ``sm.GLM``, neither in the results: the rank (for the model degrees of
    freedom) comes from :func:`_clearly_full_rank` when the design is clearly of full rank, not
    from an SVD of the n x p design (11 ms for the cells of 1,000,000 records; statsmodels' SVD
    otherwise); and patsy's design information, which ``predict`` needs to take a data frame, is
    made from the formula on first use (``model_spec``, ``design_info``), not up front (7 ms),
    and left out when the model is pickled (patsy's cannot be pickled; a model from ``smf.glm``
    cannot be pickled at all).
    """

    def initialize(self):
        X = self.exog
        if not _clearly_full_rank(X, max(X.shape) * np.finfo(float).eps):
            return super().initialize()
        # the rest as sm.GLM.initialize
        self.df_model = X.shape[1] - 1
        if (self.freq_weights is not None) and (self.freq_weights.shape[0] == self.endog.shape[0]):
            self.wnobs = self.freq_weights.sum()
            self.df_resid = self.wnobs - self.df_model - 1
        else:
            self.wnobs = X.shape[0]
            self.df_resid = X.shape[0] - self.df_model - 1

    @property
    def model_spec(self):
        """patsy's ``DesignInfo`` of the formula's right-hand side (used by ``predict``)."""
        if getattr(self, "_design_info", None) is None:
            import patsy

            frame = self.data.frame.iloc[:1]  # levels come from the categories, not the values
            self._design_info = patsy.incr_dbuilders(
                self.formula, lambda: iter([frame]), eval_env=patsy.EvalEnvironment([{}])
            )[1]
        return self._design_info

    design_info = model_spec  # the name statsmodels before 0.15 looks for

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("_design_info", None)  # patsy's DesignInfo does not pickle; remade on use
        return state


def _model(factory, formula, data, **kwargs):
    """The statsmodels model of ``factory`` (e.g. ``smf.glm``) for ``formula`` on ``data``.

    A GLM is built as ``factory(formula, data=data, **kwargs)`` would build it (same design,
    names and formula; ``predict`` takes data frames) but with the design from :func:`_design`;
    other models through the formula API. Either way the model's checks run with one BLAS thread
    on small designs (see :func:`_blas`).
    """
    built = _design(formula, data) if factory is smf.glm else None
    if built is None:
        with _blas(len(data) * 64):
            return factory(formula, data=data, **kwargs)
    endog, exog = built
    with _blas(exog.size):
        model = GLM(endog, exog, missing="none", missing_idx=None, formula=formula, **kwargs)
    model.formula = formula
    model.data.frame = data
    return model


# the keyword arguments of GLM.fit that _irls handles
_IRLS_KEYS = frozenset(
    {"atol", "rtol", "tol", "maxiter", "start_params", "scale", "cov_type", "cov_kwds"}
)


def _wls_normal(X, w, z):
    """Weighted least squares by the Cholesky factor of the equilibrated ``X'WX``.

    Returns ``(beta, inverse of X'WX)``, or ``None`` when ``X'WX`` is singular or too
    ill-conditioned for the normal equations (the caller then uses statsmodels' SVD).
    """
    sw = np.sqrt(w)
    Xs = X * sw[:, None]
    A = Xs.T @ Xs  # numpy computes this product of a matrix with itself by BLAS syrk
    d = np.sqrt(np.diag(A))
    if not (np.all(np.isfinite(A)) and np.all(d > 0)):
        return None
    A = A / d[:, None] / d
    try:
        factor = linalg.cho_factor(A, lower=True, check_finite=False)
    except linalg.LinAlgError:
        return None
    diag = np.abs(np.diag(factor[0]))
    if diag.min() < 1e-6 * diag.max():  # condition number of X'WX beyond about 1e12
        return None
    beta = linalg.cho_solve(factor, (Xs.T @ (sw * z)) / d, check_finite=False) / d
    inv = linalg.cho_solve(factor, np.eye(len(d)), check_finite=False) / d[:, None] / d
    return beta, inv


def _irls(model, *, start_params=None, maxiter=100, tol=1e-8, atol=None, rtol=0.0, scale=None,
          cov_type="nonrobust", cov_kwds=None, polish=True):  # fmt: skip
    """statsmodels' ``GLM.fit`` (IRLS, deviance criterion) followed by the polishing step of
    :func:`_quiet_fit` (unless ``polish`` is False: the fit then stops where statsmodels' does),
    with the weighted least squares solved on the p x p normal equations.

    The iterations and the results object are statsmodels' (``GLMResults`` from the estimates,
    the inverse of ``X'WX`` at them, and the scale); only the linear algebra differs: statsmodels
    solves each step by an SVD of the n x p weighted design and again for the covariance, which
    on the cells of 1,000,000 records took 0.15 s of the 0.2 s fit. Returns ``(results,
    converged)``, or ``None`` (the caller then uses statsmodels) when the design is singular or
    ill-conditioned at some iterate (e.g. under separation) or a value is not finite.
    """
    from statsmodels.genmod.generalized_linear_model import GLMResults, GLMResultsWrapper

    X = np.asarray(model.exog, dtype=float)
    family = model.family
    endog = model.endog
    offset = model._offset_exposure
    if isinstance(scale, str):
        scale = scale.lower()
    elif scale is not None:
        scale = float(scale)
    model.scaletype = scale
    atol = tol if atol is None else atol
    if start_params is None:
        beta = np.zeros(X.shape[1])
        mu = family.starting_mu(endog)
        eta = family.predict(mu)
    else:
        beta = np.asarray(start_params, dtype=float)
        eta = X @ beta + offset
        mu = family.fitted(eta)
    model.scale = model.estimate_scale(mu)
    deviance = [family.deviance(endog, mu, model.var_weights, model.freq_weights, model.scale)]
    params = [beta]

    def step(eta, mu):
        w = model.iweights * model.n_trials * family.weights(mu)
        z = eta + family.link.deriv(mu) * (endog - mu) - offset
        return _wls_normal(X, w, z), w

    converged = False
    one_column = endog.squeeze().ndim == 1
    iteration = 0
    for iteration in range(maxiter):  # noqa: B007 - the count is reported
        solved, w = step(eta, mu)
        if solved is None:
            return None
        beta, inv = solved
        eta = X @ beta + offset
        mu = family.fitted(eta)
        params.append(beta)
        deviance.append(
            family.deviance(endog, mu, model.var_weights, model.freq_weights, model.scale)
        )
        model.scale = model.estimate_scale(mu)
        if one_column and np.allclose(mu - endog, 0):  # statsmodels' own check, and warning
            warnings.warn(
                "Perfect separation or prediction detected, parameter may not be identified",
                sm_exceptions.PerfectSeparationWarning,
                stacklevel=2,
            )
        if np.allclose(deviance[-2], deviance[-1], atol=atol, rtol=rtol):
            converged = True
            break
    history = {"params": [np.inf, *params], "deviance": [np.inf, *deviance]}
    converged_polish = converged
    if converged and polish:
        # the polishing step: one more step from the estimates, whose inverse X'WX is at them
        start_dev = deviance[-1]
        solved, w = step(eta, mu)
        if solved is None:
            return None
        beta, inv = solved
        eta = X @ beta + offset
        mu = family.fitted(eta)
        end_dev = family.deviance(endog, mu, model.var_weights, model.freq_weights, model.scale)
        model.scale = model.estimate_scale(mu)
        history = {
            "params": [np.inf, params[-1], beta],
            "deviance": [np.inf, start_dev, end_dev],
        }
        iteration = 0
        converged_polish = bool(np.allclose(start_dev, end_dev, atol=atol, rtol=rtol))
    if not (np.all(np.isfinite(beta)) and np.all(np.isfinite(inv))):
        return None
    model.weights = w
    model.mu = mu
    res = GLMResults(model, beta, inv, model.scale, cov_type=cov_type, cov_kwds=cov_kwds)
    res.method = "IRLS"
    res.mle_settings = {"wls_method": "lstsq", "optimizer": "IRLS"}
    history["iteration"] = iteration + 1
    res.fit_history = history
    res.converged = converged_polish
    return GLMResultsWrapper(res), converged


def _quiet_fit(model, *, fast: bool = True, polish: bool = True, **kwargs):
    """Fit, collecting statsmodels' own warnings (dispro diagnoses separation itself).

    A GLM fitted by IRLS goes through :func:`_irls` (unless ``fast`` is False, e.g. under
    separation), with statsmodels' own fit as the fallback. ``polish`` (GLMs by IRLS): one more
    step from the converged estimates, so the covariance is evaluated at them; without it the fit
    stops where statsmodels' own fit stops.
    """
    with warnings.catch_warnings(record=True) as caught, _blas(np.asarray(model.exog).size):
        for category in _SM_WARNINGS:
            warnings.simplefilter("always", category)
        glm_irls = isinstance(model, sm.GLM) and kwargs.get("method", "IRLS") == "IRLS"
        if fast and type(model) in (sm.GLM, GLM) and set(kwargs) <= _IRLS_KEYS:
            done = _irls(model, polish=polish, **kwargs)
            if done is not None:
                return done[0], done[1], caught
        result = model.fit(**kwargs)
        converged = getattr(result, "converged", True)
        if hasattr(result, "mle_retvals") and result.mle_retvals:
            converged = result.mle_retvals.get("converged", converged)
        if glm_irls and converged and polish:
            # statsmodels takes the covariance from the last weighted least-squares step, whose
            # weights come from the previous iterate; one more step from the converged estimates
            # puts the covariance exactly at the estimates reported (the record-level fit's).
            again = {k: v for k, v in kwargs.items() if k not in ("start_params", "maxiter")}
            result = model.fit(start_params=np.asarray(result.params), maxiter=1, **again)
    return result, bool(converged), caught


def _cluster_fix(result, groups: np.ndarray, n_records: int) -> float:
    """Rescale a cluster-robust covariance fitted on cells to the record-level small-sample factor.

    statsmodels' factor ``G/(G-1) · (N-1)/(N-K)`` takes ``N`` as the rows it was given; on
    collapsed cells that is the number of cells. The fit is made with ``use_correction=False``
    and the covariance multiplied here by the factor with ``N`` = records, so it equals the
    record-level cluster-robust covariance exactly. Returns the factor.
    """
    res = result._results if hasattr(result, "_results") else result
    k = res.model.exog.shape[1]
    n_groups = len(np.unique(groups))
    factor = n_groups / (n_groups - 1) * (n_records - 1) / (n_records - k)
    res.cov_params_default = np.asarray(res.cov_params_default) * factor
    for key in ("bse", "tvalues", "pvalues"):
        res._cache.pop(key, None)
    res.cov_kwds["use_correction"] = True
    res.cov_kwds["description"] = (
        f"Standard errors are robust to clustering in {n_groups} clusters, with the small-sample "
        f"factor G/(G-1)·(N-1)/(N-K) taken over the N = {n_records} records (as a record-level fit)."
    )
    return factor


def _term_table(result, labels, alpha, *, separated=(), order_groups=None, group=None, df=None):
    """The tidy term table (:data:`TERM_COLUMNS`) from a fitted result, ratios by ``exp``."""
    k = result.model.exog.shape[1]  # (a negative binomial's exog_names end with "alpha")
    names = list(result.model.exog_names)[:k]
    b = np.asarray(result.params, dtype=float)[:k]
    se = np.sqrt(np.clip(np.diag(np.asarray(result.cov_params()))[:k], 0, None))
    if df is not None:
        z = float(stats.t.ppf(1 - alpha / 2, df))
        with np.errstate(divide="ignore", invalid="ignore"):
            p = 2 * stats.t.sf(np.abs(b / se), df)
        lo, hi = b - z * se, b + z * se
    elif getattr(result, "use_t", False):
        ci = np.asarray(result.conf_int(alpha=alpha))[:k]
        lo, hi = ci[:, 0], ci[:, 1]
        p = np.asarray(result.pvalues, dtype=float)[:k]
    else:
        lo, hi, p = _wald(b, se, _z(alpha))
    sep = np.zeros(k, dtype=bool)
    sep[list(separated)] = True
    with np.errstate(over="ignore"):
        estimate, lower, upper = np.exp(b), np.exp(lo), np.exp(hi)
    for arr in (estimate, lower, upper, p):
        arr[sep] = np.nan
    variable = [labels.get(n, (n, None))[0] for n in names]
    level = [labels.get(n, (n, None))[1] for n in names]
    out = pd.DataFrame(
        {
            "term": names,
            "variable": variable,
            "level": level,
            "estimate": estimate,
            "std_error": np.where(sep, np.nan, se),
            "ci_lower": lower,
            "ci_upper": upper,
            "p_value": p,
            "status": np.where(sep, "separated", "ok"),
        },
        columns=list(TERM_COLUMNS),
    )
    if order_groups is not None:
        rank = {g: i for i, g in enumerate(order_groups)}
        key = [
            (
                0 if v == "Intercept" else 1 if v == group else 2,
                rank.get(lv, 0) if v == group else 0,
                i,
            )
            for i, (v, lv) in enumerate(zip(out["variable"], out["level"], strict=True))
        ]
        out = out.iloc[[t[2] for t in sorted(key)]].reset_index(drop=True)
    return out
