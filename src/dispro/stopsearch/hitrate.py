"""Hit rates (the outcome test) for stop and search, and a logistic model of them.

:func:`hit_rates` gives the share of person searches whose outcome was linked to the object of
search (or, optionally, led to any further action) by group, with Wilson intervals and the
difference and ratio to a reference group. :func:`hit_rate_model` fits a logistic regression of
the same outcome on the group with categorical controls (fixed effects), on collapsed cells.

The checks, the "not supplied" rule and the tally of searches and exclusions by cell are shared
with :mod:`dispro.stopsearch.shares` and :mod:`dispro.stopsearch.concordance` through
:mod:`dispro.stopsearch._common`; the records are counted by :func:`dispro.counts.tally`.
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from .. import ledger
from .._checks import as_list as _as_list
from .._checks import check_alpha as _check_alpha
from .._stats import katz as _katz
from .._stats import newcombe as _newcombe
from .._stats import wilson as _wilson
from .._stats import z as _z
from ..counts.conditions import holds
from ..errors import (
    DataQualityWarning,
    DisproError,
    LowCountWarning,
    NotSuppliedError,
    ParameterError,
    ReferenceGroupError,
    check_choice,
    did_you_mean,
)
from ..models import fit_glm
from ._common import (
    _blank,
    _check_group,
    _check_records,
    _levels,
    _not_supplied,
    _raise_if_never_supplied,
    _record_ledger,
    _require,
    _status,
    _tally,
    _vehicle_only,
    section60,
    source_column,
)

__all__ = [
    "HIT_RATE_COLUMNS",
    "MODEL_COLUMNS",
    "OUTCOMES",
    "STATUSES",
    "INFRA_MARGINALITY",
    "MISSING_LEVEL",
    "hit_rates",
    "hit_rate_model",
]

#: Columns of :func:`hit_rates`, in order, after the ``by`` columns.
HIT_RATE_COLUMNS = (
    "group",
    "searches",
    "hits",
    "hit_rate",
    "ci_lower",
    "ci_upper",
    "reference_hit_rate",
    "difference",
    "difference_ci_lower",
    "difference_ci_upper",
    "ratio",
    "ratio_ci_lower",
    "ratio_ci_upper",
    "excluded_vehicle_only",
    "excluded_s60",
    "excluded_not_supplied",
    "excluded_not_recorded",
    "status",
)

#: Columns of :func:`hit_rate_model`, in order.
MODEL_COLUMNS = (
    "term",
    "variable",
    "level",
    "estimate",
    "std_error",
    "ci_lower",
    "ci_upper",
    "p_value",
)

#: ``outcome=`` choices and the record field each one reads.
OUTCOMES = {"linked": "outcome_linked", "any_further_action": "any_further_action"}

#: Row statuses of the share tables (hit rates, strip-search and section 60 shares).
#: ``ok``: every row of the cell came from force-months that supplied the field;
#: ``partly_supplied``: some of the cell's rows came from force-months that did not supply the
#: field (they are excluded; the share covers the rest); ``not_supplied``: the field was not
#: supplied for any of the cell's rows (no share: never 0%); ``no_searches``: no searches left.
STATUSES = ("ok", "partly_supplied", "not_supplied", "no_searches")

#: Label given to a missing value of a control in :func:`hit_rate_model`.
MISSING_LEVEL = "(missing)"

#: The caveat every hit-rate table carries (also in ``attrs["notes"]``).
INFRA_MARGINALITY = (
    "Infra-marginality: a hit rate is an average over everyone searched, not the hit rate of the "
    "marginal search, so a lower hit rate for a group is consistent with, but does not prove, a "
    "lower threshold of suspicion for that group; groups whose risk distributions differ can show "
    "different hit rates under identical thresholds, and equal hit rates can hide different "
    "thresholds (Ayres 2002; Knowles, Persico and Todd 2001; Simoiu, Corbett-Davies and Goel "
    "2017). Read the outcome test as one piece of evidence among several."
)

STEP = "hit_rates"


# --------------------------------------------------------------------------------------------
# checks and the rows of the outcome test (the helpers shared with shares.py and concordance.py
# are in _common.py)
# --------------------------------------------------------------------------------------------


def _check_reference(levels: list, reference, group: str, func: str) -> None:
    if reference not in set(levels):
        raise ReferenceGroupError(
            f"{func}: the reference group {reference!r} is not in column {group!r}"
            f"{did_you_mean(str(reference), [str(v) for v in levels])}; groups present: "
            f"{[str(v) for v in levels]}"
        )


def _chosen_outcome(records: pd.DataFrame, outcome: str) -> tuple[str, str]:
    """``outcome="auto"``: the outcome link where the records supply it in some force-month,
    else any further action; with the reason for the choice (blank when none was needed)."""
    check_choice("outcome", outcome, (*OUTCOMES, "auto"))
    if outcome != "auto":
        return outcome, ""
    linked, further = OUTCOMES["linked"], OUTCOMES["any_further_action"]
    if linked in records.columns and len(records) and not _not_supplied(records, linked).all():
        return "linked", ""
    if further in records.columns and len(records) and _not_supplied(records, further).all():
        raise NotSuppliedError(
            f"hit_rates: neither {source_column(linked)!r} nor 'Outcome' was supplied (both are "
            f"blank in all {len(records)} row(s)), so no hit rate can be computed (a field that "
            "was not supplied is not 0%)",
            field=further,
            column="Outcome",
        )
    return "any_further_action", (
        f"the records do not supply {source_column(linked)!r} in any month, so a hit is any "
        "further action (any outcome other than no further action) instead of an outcome linked "
        "to the object of search"
    )


def _outcome_rows(records: pd.DataFrame, *, group, by, outcome, func):
    """Checks and row masks shared by :func:`hit_rates` and :func:`hit_rate_model`."""
    check_choice("outcome", outcome, tuple(OUTCOMES))
    _check_records(records, func)
    field = OUTCOMES[outcome]
    _require(
        records,
        {group: "group", **{b: "by" if func == "hit_rates" else "controls" for b in by}},
        {
            field: f"for outcome={outcome!r}",
            "vehicle_only": "to exclude vehicle-only searches",
            "legislation": "to exclude section 60 searches",
            "force": "to tell a field not supplied for a whole force-month from one not recorded",
            "month": "to tell a field not supplied for a whole force-month from one not recorded",
        },
        func,
    )
    _check_group(records, group, by, func)
    other = "any_further_action" if outcome == "linked" else "linked"
    not_supplied = _raise_if_never_supplied(
        records, field, f"outcome={outcome!r}", func,
        hint=f"Try outcome={other!r}, or data from periods that supply it.",
    )  # fmt: skip
    masks = {
        "excluded_vehicle_only": _vehicle_only(records),
        "excluded_s60": holds(records, section60(), "legislation"),
        "excluded_not_supplied": not_supplied,
        "excluded_not_recorded": _blank(records[field]),
    }
    hit = holds(records, field, field)  # the outcome field is True
    return field, masks, hit


# --------------------------------------------------------------------------------------------
# the public functions
# --------------------------------------------------------------------------------------------


def hit_rates(
    records: pd.DataFrame,
    *,
    group: str = "ethnicity",
    by: str | Sequence[str] | None = None,
    outcome: str = "linked",
    reference: str = "White",
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Hit rates of person searches by group (the outcome test), with Wilson intervals.

    The hit rate is the share of person searches whose outcome was linked to the object of search
    (``outcome="linked"``) or led to any further action (``outcome="any_further_action"``).

    Parameters
    ----------
    records : DataFrame
        ``stop_search`` records, as from :func:`dispro.read_police_uk`: needs ``vehicle_only``,
        ``legislation``, ``force``, ``month``, the outcome field and the ``group`` and ``by``
        columns.
    group : str
        Column holding the groups compared (default ``"ethnicity"``, the self-defined 5+1 group;
        ``"officer_ethnicity"`` gives the officer-defined 4+1 group).
    by : str or list of str, optional
        Columns that split the table (e.g. ``"force"`` or ``["force", "object_of_search"]``);
        each slice has its own reference. Missing ``by`` values form their own slice.
    outcome : {"linked", "any_further_action", "auto"}
        ``"linked"`` (default) reads ``outcome_linked`` (``Outcome linked to object of search``);
        ``"any_further_action"`` reads ``any_further_action`` (any outcome other than no further
        action; missing where the outcome was not recorded). ``"auto"``: ``"linked"`` when the
        records supply the link in at least one force-month, else ``"any_further_action"``
        (the force never fills the link); ``attrs["outcome"]`` says which was used and
        ``attrs["outcome_reason"]`` why (blank when the link was used).
    reference : str
        The reference group (default ``"White"``).
    alpha : float
        1 - confidence level of every interval.

    Returns
    -------
    DataFrame
        One row per (``by``..., group): every ``by`` combination in the records crossed with every
        group in them (groups in code-list order). The ``by`` columns, then exactly
        :data:`HIT_RATE_COLUMNS`:

        - ``group``: the group;
        - ``searches``: person searches kept (the denominator);
        - ``hits``: those whose outcome field is True;
        - ``hit_rate``: ``hits / searches`` (missing when there are no searches);
        - ``ci_lower``, ``ci_upper``: Wilson score interval of the hit rate;
        - ``reference_hit_rate``: the reference group's hit rate in the same slice;
        - ``difference``: ``hit_rate - reference_hit_rate`` (0 for the reference);
        - ``difference_ci_lower``, ``difference_ci_upper``: Newcombe hybrid score interval
          (missing for the reference);
        - ``ratio``: ``hit_rate / reference_hit_rate`` (1 for the reference; missing when the
          reference has no hits);
        - ``ratio_ci_lower``, ``ratio_ci_upper``: Katz log interval (missing for the reference and
          where a group has no hits);
        - ``excluded_vehicle_only``, ``excluded_s60``, ``excluded_not_supplied``,
          ``excluded_not_recorded``: rows excluded, by rule (each row under the first rule that
          applies, in this order);
        - ``status``: one of :data:`STATUSES`.

        ``attrs`` holds ``notes`` (the infra-marginality caveat, the interval methods and the
        exclusion rules), ``group``, ``by``, ``reference``, ``outcome``, ``field``, ``alpha`` and
        the exclusions ledger (``exclusions``).

    Raises
    ------
    ValidationError
        A column is missing (naming it, with a did-you-mean), or the group column has missing
        values.
    DisproError
        No records, or the outcome field was not supplied in any force-month (blank in every row).
    ReferenceGroupError
        The reference group is not in the group column.
    ParameterError
        ``outcome`` or ``alpha`` is not allowed, or ``group`` is also a ``by`` column.

    Notes
    -----
    Exclusions, in order: vehicle-only searches (no person); section 60 searches (legislation
    flagged ``section60`` in ``data_dictionary/codelists/legislation.csv``: no reasonable
    suspicion is needed, so a "hit" does not measure the officer's threshold); rows in a
    force-month where the outcome field is blank for every row ("not supplied"); rows where it is
    blank ("not recorded"). Searches with blank legislation are kept (they cannot be shown to be
    section 60); their count is in ``attrs["notes"]``.

    Hit rate ``p = k / n`` with the Wilson score interval
    ``(p + z²/2n ± z sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n)``,
    ``z = Φ⁻¹(1 - alpha/2)`` (statsmodels ``proportion_confint(method="wilson")``). Difference
    from the reference: Newcombe's hybrid score interval (method 10), built from the two Wilson
    intervals. Ratio: Katz log interval, ``SE = sqrt(1/k - 1/n + 1/k_ref - 1/n_ref)``.

    Infra-marginality. The outcome test (Becker; Knowles, Persico and Todd 2001) reads a lower
    hit rate for a group as evidence that officers search it on weaker suspicion. But a hit rate
    averages over all searches, not the marginal one: if the groups' distributions of the
    probability of carrying differ, their average hit rates can differ even when officers apply
    one threshold to all, and can be equal when thresholds differ (Ayres 2002; Simoiu,
    Corbett-Davies and Goel 2017). A difference is consistent with, not proof of, a different
    threshold. Compare within force and object of search (``by`` or :func:`hit_rate_model`).

    References
    ----------
    Knowles J, Persico N, Todd P (2001). Racial bias in motor vehicle searches: theory and
    evidence. Journal of Political Economy 109(1):203-229.
    Ayres I (2002). Outcome tests of racial disparities in police practices. Justice Research and
    Policy 4:131-142.
    Simoiu C, Corbett-Davies S, Goel S (2017). The problem of infra-marginality in outcome tests
    for discrimination. Annals of Applied Statistics 11(3):1193-1216.
    Newcombe RG (1998). Interval estimation for the difference between independent proportions:
    comparison of eleven methods. Statistics in Medicine 17:873-890.
    Wilson EB (1927). Probable inference, the law of succession, and statistical inference.
    JASA 22:209-212.

    Examples
    --------
    >>> import pandas as pd
    >>> from dispro.dictionary import codelist
    >>> from dispro.stopsearch.hitrate import hit_rates
    >>> laws = codelist("legislation")
    >>> records = pd.DataFrame({
    ...     "force": "Demo", "month": "2024-01", "vehicle_only": False,
    ...     "legislation": laws.loc[laws["section60"] == "false", "code"].iloc[0],
    ...     "ethnicity": ["White"] * 10 + ["Black"] * 10,
    ...     "outcome_linked": [True] * 4 + [False] * 6 + [True] * 2 + [False] * 8})
    >>> out = hit_rates(records)
    >>> out[["group", "searches", "hits", "hit_rate", "ci_lower", "ci_upper"]].round(4)
       group  searches  hits  hit_rate  ci_lower  ci_upper
    0  Black        10     2       0.2    0.0567    0.5098
    1  White        10     4       0.4    0.1682    0.6873
    """
    func = "hit_rates"
    _check_alpha(alpha)
    by = _as_list(by)
    outcome, outcome_reason = _chosen_outcome(records, outcome)
    field, masks, hit = _outcome_rows(records, group=group, by=by, outcome=outcome, func=func)
    levels = _levels(records[group])
    _check_reference(levels, reference, group, func)

    table = _tally(records, group=group, by=by, exclusions=masks, event=hit, levels=levels)
    table = table.rename(columns={"events": "hits"})
    ref = table.loc[table["group"] == reference, ["__key", "searches", "hits"]]
    ref = ref.rename(columns={"searches": "__ref_n", "hits": "__ref_k"})
    table = table.merge(ref, on="__key", how="left")

    k = table["hits"].to_numpy(dtype=float)
    n = table["searches"].to_numpy(dtype=float)
    k0 = table["__ref_k"].to_numpy(dtype=float)
    n0 = table["__ref_n"].to_numpy(dtype=float)
    is_ref = (table["group"] == reference).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(n > 0, k / n, np.nan)
        ref_rate = np.where(n0 > 0, k0 / n0, np.nan)
    lower, upper = _wilson(k, n, alpha)
    diff, d_lo, d_hi = _newcombe(k, n, k0, n0, alpha)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio, r_lo, r_hi, _ = _katz(k, n, k0, n0, _z(alpha))
    usable = (n > 0) & (n0 > 0) & (k0 > 0)
    ratio = np.where(usable, ratio, np.nan)
    r_lo = np.where(usable & (k > 0), r_lo, np.nan)
    r_hi = np.where(usable & (k > 0), r_hi, np.nan)
    diff = np.where(is_ref & (n > 0), 0.0, diff)
    ratio = np.where(is_ref & (n > 0) & (k > 0), 1.0, ratio)
    for arr in (d_lo, d_hi, r_lo, r_hi):
        arr[is_ref] = np.nan

    table["hit_rate"] = rate
    table["ci_lower"] = lower
    table["ci_upper"] = upper
    table["reference_hit_rate"] = ref_rate
    table["difference"] = diff
    table["difference_ci_lower"] = d_lo
    table["difference_ci_upper"] = d_hi
    table["ratio"] = ratio
    table["ratio_ci_lower"] = r_lo
    table["ratio_ci_upper"] = r_hi
    table["status"] = _status(table["searches"], table["excluded_not_supplied"])
    out = table[[*by, *HIT_RATE_COLUMNS]].copy()

    kept = ~np.logical_or.reduce(list(masks.values()))
    blank_legislation = int((_blank(records["legislation"]) & kept).sum())
    what = (
        "outcome linked to the object of search (`outcome_linked` True)"
        if outcome == "linked"
        else "any further action (`any_further_action` True: any outcome but no further action)"
    )
    notes = [
        INFRA_MARGINALITY,
        f"Hit rate: share of person searches with {what}.",
        "Intervals: Wilson score for each hit rate; Newcombe hybrid score (method 10) for the "
        f"difference from the reference ({reference!r}); Katz log for the ratio; "
        f"{100 * (1 - alpha):g}% level.",
        "Excluded, each row under the first rule that applies: vehicle-only searches "
        f"({int(out['excluded_vehicle_only'].sum())}); section 60 searches, legislation flagged "
        f"section60 in the legislation code list ({int(out['excluded_s60'].sum())}); rows in a "
        f"force-month where {field!r} was not supplied ({int(out['excluded_not_supplied'].sum())}); "
        f"rows where {field!r} was not recorded ({int(out['excluded_not_recorded'].sum())}).",
        f"Searches with blank legislation are kept (they cannot be shown to be section 60): "
        f"{blank_legislation}.",
    ]
    if outcome_reason:
        notes.append(f"Outcome: {outcome_reason}.")
    if outcome == "any_further_action":
        notes.append(
            "Any further action includes outcomes unrelated to the object of search (e.g. an "
            "arrest for another offence), so it is a looser measure of a successful search."
        )
    _record_ledger(
        out, records, STEP,
        {
            "excluded_vehicle_only": "vehicle-only searches excluded from hit rates",
            "excluded_s60": "section 60 searches (no reasonable suspicion) excluded from hit rates",
            "excluded_not_supplied": f"{field} not supplied for the force-month: excluded",
            "excluded_not_recorded": f"{field} not recorded: excluded",
        },
    )  # fmt: skip
    out.attrs.update(
        notes=notes, group=group, by=by, reference=reference, outcome=outcome, field=field,
        outcome_reason=outcome_reason,
        alpha=alpha, measure="hit_rate",
    )  # fmt: skip
    return out


def _formula_name(name: str) -> str:
    return name if name.isidentifier() else f"Q({json.dumps(name)})"


_LEVEL = re.compile(r"^(?P<term>.*)\[T\.(?P<level>.*)\]$")


def hit_rate_model(
    records: pd.DataFrame,
    *,
    group: str = "ethnicity",
    reference: str = "White",
    controls: str | Sequence[str] | None = ("force", "object_of_search"),
    outcome: str = "linked",
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Logistic regression of the hit on the group with categorical controls (fixed effects).

    Fitted on collapsed cells: one row per (group, controls...) pattern with its hits and misses
    (``hits + misses ~ ...``, statsmodels GLM Binomial). With only categorical covariates this
    gives the same estimates and standard errors as the record-level fit.

    Parameters
    ----------
    records : DataFrame
        ``stop_search`` records, as for :func:`hit_rates`; the same rows are used (vehicle-only,
        section 60, not supplied and not recorded outcome excluded).
    group : str
        Column of the groups compared, entered as ``C(group, Treatment(reference=...))``.
    reference : str
        Reference group (default ``"White"``): odds ratios compare each group with it.
    controls : str or sequence of str or None
        Columns entered as categorical fixed effects (default force and object of search).
        A missing value becomes its own level, :data:`MISSING_LEVEL`, so the model uses the
        same searches as :func:`hit_rates`. Each control's reference level is its most frequent
        level (so the intercept is the odds in the commonest cell, not in an alphabetical
        accident such as the missing level). A control with a single level among the searches
        kept is dropped (it is collinear with the intercept), with a warning and a note.
    outcome : {"linked", "any_further_action"}
        As for :func:`hit_rates`.
    alpha : float
        1 - confidence level of the intervals.

    Returns
    -------
    DataFrame
        One row per model parameter, exactly :data:`MODEL_COLUMNS`:

        - ``term``: statsmodels' parameter name;
        - ``variable``: ``"Intercept"``, the ``group`` column or a control;
        - ``level``: the level compared with the variable's reference level (missing for the
          intercept);
        - ``estimate``: the odds ratio ``exp(b)`` (for the intercept, the odds of a hit at every
          reference level);
        - ``std_error``: standard error of ``b`` (log-odds scale);
        - ``ci_lower``, ``ci_upper``: Wald interval ``exp(b ± z SE)``;
        - ``p_value``: Wald test of ``b = 0``.

        Rows: the intercept, the group's levels (code-list order), then each control's levels.
        ``attrs["model"]`` is the fitted statsmodels ``GLMResults``; ``attrs["cells"]`` the
        collapsed table it was fitted on (the group, the controls used, ``hits``, ``searches``,
        ``misses``); ``attrs["formula"]``, ``attrs["controls"]`` (those used),
        ``attrs["control_reference"]``, ``attrs["dropped_controls"]``, ``attrs["notes"]`` (with the infra-marginality
        caveat) and ``attrs["exclusions"]`` (the ledger) record the rest.

    Raises
    ------
    ValidationError, DisproError, ReferenceGroupError, ParameterError
        As for :func:`hit_rates`; also :class:`DisproError` when fewer than two groups have
        searches left.

    Warns
    -----
    DataQualityWarning
        A control with a single level was dropped.
    LowCountWarning
        A group has no hits, or only hits: its odds ratio is not estimable (0 or infinite;
        statsmodels may also warn of perfect separation).

    Notes
    -----
    ``logit P(hit) = b0 + b_g + sum_j a_j[level]``. The collapsed binomial likelihood differs from
    the record-level Bernoulli likelihood only by the constant ``sum log C(n, k)``, so estimates
    and the Fisher information (hence standard errors) are identical; the log-likelihood and
    deviance are not. The fit uses IRLS with ``tol=1e-12`` so the covariance is evaluated at the
    converged estimates. Odds ratios overstate risk ratios when hits are common (METHODS.md §5).
    The infra-marginality caveat of :func:`hit_rates` applies equally to the model.

    References
    ----------
    Knowles J, Persico N, Todd P (2001). Journal of Political Economy 109(1):203-229.
    Simoiu C, Corbett-Davies S, Goel S (2017). Annals of Applied Statistics 11(3):1193-1216.
    """
    func = "hit_rate_model"
    _check_alpha(alpha)
    controls = _as_list(controls)
    if len(set(controls)) != len(controls):
        raise ParameterError(f"{func}: `controls` lists a column twice: {controls}")
    field, masks, hit = _outcome_rows(records, group=group, by=controls, outcome=outcome, func=func)
    kept = ~np.logical_or.reduce(list(masks.values()))
    clash = {"_hits", "_misses"} & {group, *controls}
    if clash:
        raise ParameterError(f"{func}: column names {sorted(clash)} are reserved; rename them")

    data = pd.DataFrame({group: records[group].to_numpy(dtype=object)[kept]})
    notes = [INFRA_MARGINALITY]
    for c in controls:
        values = records[c].to_numpy(dtype=object)[kept]
        missing = pd.isna(values)
        if missing.any():
            notes.append(
                f"{int(missing.sum())} search(es) with no {c!r} form the level {MISSING_LEVEL!r}."
            )
        data[c] = np.where(missing, MISSING_LEVEL, values.astype(str))
    data["_hit"] = hit[kept].astype(np.int64)

    levels = _levels(data[group])
    if reference not in set(levels):
        _check_reference(_levels(records[group]), reference, group, func)
        raise ReferenceGroupError(
            f"{func}: the reference group {reference!r} has no searches left after the "
            f"exclusions (vehicle-only, section 60, outcome not supplied or not recorded)"
        )
    if len(levels) < 2:
        raise DisproError(
            f"{func}: only one group ({levels}) has searches left after the exclusions; there is "
            "nothing to compare"
        )
    absent = [g for g in _levels(records[group]) if g not in set(levels)]
    if absent:
        notes.append(f"Groups with no searches left, not in the model: {absent}.")

    used, dropped = [], []
    for c in controls:
        if data[c].nunique() < 2:
            dropped.append(c)
        else:
            used.append(c)
    if dropped:
        message = (
            f"{func}: control(s) {dropped} have a single level among the {len(data)} searches "
            "used (e.g. one force), so they cannot be estimated and were dropped"
        )
        warnings.warn(message, DataQualityWarning, stacklevel=2)
        notes.append(message + ".")

    cells = (
        data.groupby([group, *used], sort=True, observed=True)["_hit"]
        .agg(_hits="sum", searches="size")
        .reset_index()
    )
    cells["_misses"] = cells["searches"] - cells["_hits"]
    for c in used:
        sums = cells.groupby(c, sort=True)[["_hits", "_misses"]].sum()
        flat = sums.index[(sums["_hits"] == 0) | (sums["_misses"] == 0)].tolist()
        if flat:
            notes.append(
                f"Levels of {c!r} with no hits or only hits (their odds ratios are not "
                f"identified and run to 0 or infinity; the other estimates are unaffected): {flat}."
            )
    by_group = cells.groupby(group, sort=False)[["_hits", "_misses"]].sum()
    degenerate = by_group.index[(by_group["_hits"] == 0) | (by_group["_misses"] == 0)].tolist()
    if degenerate:
        warnings.warn(
            f"{func}: group(s) {degenerate} have no hits or only hits; their odds ratios are not "
            "estimable (0 or infinite) and their intervals are meaningless",
            LowCountWarning,
            stacklevel=2,
        )
    pieces = [f"C({_formula_name(group)}, Treatment(reference={json.dumps(reference)}))"]
    control_reference = {}
    for c in used:
        counts = data[c].value_counts()
        control_reference[c] = str(counts.index[counts.to_numpy() == counts.max()].sort_values()[0])
        pieces.append(
            f"C({_formula_name(c)}, Treatment(reference={json.dumps(control_reference[c])}))"
        )
    formula = "_hits + _misses ~ " + " + ".join(pieces)
    # dispro's GLM engine; stopped where statsmodels' own fit stops (polish=False), as before
    model = fit_glm(cells, formula, family="binomial", tol=1e-12, maxiter=200, polish=False)

    params = model.params
    conf = model.conf_int(alpha=alpha)
    with np.errstate(over="ignore"):
        odds = np.exp(params)
        conf = np.exp(conf)
    variables = [group, *used]
    prefixes: dict[str, str] = {}
    rows = []
    for term in params.index:
        match = _LEVEL.match(term)
        if term == "Intercept" or match is None:
            variable, level = "Intercept", None
        else:
            prefix = match["term"]
            if prefix not in prefixes:
                prefixes[prefix] = variables[len(prefixes)]
            variable, level = prefixes[prefix], match["level"]
        rows.append(
            {
                "term": term,
                "variable": variable,
                "level": level,
                "estimate": float(odds[term]),
                "std_error": float(model.bse[term]),
                "ci_lower": float(conf.loc[term, 0]),
                "ci_upper": float(conf.loc[term, 1]),
                "p_value": float(model.pvalues[term]),
            }
        )
    out = pd.DataFrame(rows, columns=list(MODEL_COLUMNS))
    # the group's rows in code-list order (patsy sorts levels alphabetically)
    rank = {g: i for i, g in enumerate(levels)}
    order = [
        (0 if v == "Intercept" else 1 + variables.index(v), rank.get(lv, 0) if v == group else 0, i)
        for i, (v, lv) in enumerate(zip(out["variable"], out["level"], strict=True))
    ]
    out = out.iloc[[o[2] for o in sorted(order)]].reset_index(drop=True)
    if control_reference:
        notes.append(
            "Each control's reference level is its most frequent level: "
            + "; ".join(f"{c}: {r!r}" for c, r in control_reference.items())
            + "."
        )
    notes.append(
        f"Logistic regression (GLM Binomial, logit link) fitted on {len(cells)} collapsed cells "
        f"({int(cells['searches'].sum())} searches): {formula}. Estimates are odds ratios with Wald "
        f"{100 * (1 - alpha):g}% intervals; odds ratios overstate risk ratios when hits are common."
    )
    out.attrs["exclusions"] = list(records.attrs.get("exclusions", []))
    for name, rule in (
        ("excluded_vehicle_only", "vehicle-only searches excluded from the hit-rate model"),
        ("excluded_s60", "section 60 searches excluded from the hit-rate model"),
        ("excluded_not_supplied", f"{field} not supplied for the force-month: excluded"),
        ("excluded_not_recorded", f"{field} not recorded: excluded"),
    ):
        first = masks[name].copy()
        for earlier in list(masks)[: list(masks).index(name)]:
            first &= ~masks[earlier]
        ledger.record(out, func, rule, int(first.sum()))
    cells = cells.rename(columns={"_hits": "hits", "_misses": "misses"})
    out.attrs.update(
        model=model, cells=cells, formula=formula, group=group, reference=reference,
        controls=used, dropped_controls=dropped, control_reference=control_reference,
        outcome=outcome, field=field, alpha=alpha,
        notes=notes,
    )  # fmt: skip
    return out
