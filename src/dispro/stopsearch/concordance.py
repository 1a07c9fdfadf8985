"""Self-defined against officer-defined ethnicity: the cross-table, agreement and kappa.

Self-defined ethnicity (the 5+1 groups: Asian, Black, Mixed, White, Other, Not stated) is what
official statistics use; officer-defined ethnicity is the officer's perception in the 4+1 scheme
(no Mixed group). These functions show how the two line up, how far they agree, and who is left
"Not stated" by self-definition, by the group the officer saw.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.inter_rater import cohens_kappa

from .. import ledger
from .._checks import check_alpha as _check_alpha
from .._stats import wilson as _wilson
from ..counts import tally
from ..errors import DisproError, ValidationError
from ..ethnicity import NOT_STATED, group_order
from ._common import _check_records, _raise_if_never_supplied, _require, _vehicle_only

__all__ = [
    "CONCORDANCE_COLUMNS",
    "SUMMARY_COLUMNS",
    "NOT_STATED_COLUMNS",
    "SHARED_GROUPS",
    "concordance",
    "concordance_summary",
    "not_stated_by_officer_group",
]

#: Columns of :func:`concordance`.
CONCORDANCE_COLUMNS = ("self_group", "officer_group", "searches", "share_of_self_group")

#: Columns of :func:`concordance_summary`.
SUMMARY_COLUMNS = ("statistic", "estimate", "std_error", "ci_lower", "ci_upper", "searches")

#: Columns of :func:`not_stated_by_officer_group`.
NOT_STATED_COLUMNS = ("officer_group", "searches", "not_stated", "share", "ci_lower", "ci_upper")

#: The groups both schemes have (the 4+1 scheme's groups without Not stated), in code-list order.
SHARED_GROUPS = tuple(g for g in group_order("4+1") if g != NOT_STATED)


def _pairs(records: pd.DataFrame, func: str) -> tuple[pd.DataFrame, int]:
    """Self-defined and officer-defined group of each person search; vehicle-only rows dropped."""
    _check_records(records, func)
    _require(
        records,
        {},
        {
            "ethnicity": "for the self-defined group",
            "officer_ethnicity": "for the officer-defined group",
            "vehicle_only": "to exclude vehicle-only searches (no person)",
        },
        func,
    )
    if {"force", "month"} <= set(records.columns):
        for field, what in (
            ("self_defined_ethnicity", "the self-defined group"),
            ("officer_defined_ethnicity", "the officer-defined group"),
        ):
            if field in records.columns:
                _raise_if_never_supplied(records, field, what, func)
    self_group = records["ethnicity"].astype(object).to_numpy()
    if "ethnicity_basis" in records.columns:
        # with read_police_uk(fallback=True), `ethnicity` can hold the officer's group: undo it
        borrowed = (records["ethnicity_basis"] == "officer_defined").to_numpy(dtype=bool)
        self_group = np.where(borrowed, NOT_STATED, self_group)
    elif records.attrs.get("fallback"):
        raise ValidationError(
            f"{func}: these records were read with fallback=True, so `ethnicity` mixes "
            "self-defined and officer-defined groups, and the 'ethnicity_basis' column that "
            "tells them apart is missing; read them with fallback=False or keep ethnicity_basis"
        )
    frame = pd.DataFrame(
        {
            "self_group": self_group,
            "officer_group": records["officer_ethnicity"].to_numpy(dtype=object),
        }
    )
    for column, scheme, source in (
        ("self_group", "5+1", "ethnicity"),
        ("officer_group", "4+1", "officer_ethnicity"),
    ):
        allowed = group_order(scheme)
        values = frame[column]
        bad = ~values.isin(allowed).to_numpy()
        if bad.any():
            shown = values[bad].astype(str).value_counts().head(8).to_dict()
            raise ValidationError(
                f"{func}: column {source!r} must hold the {scheme} groups {allowed}, but "
                f"{int(bad.sum())} row(s) hold other values (value: rows) {shown}"
            )
    vehicle = _vehicle_only(records)
    return frame.loc[~vehicle].reset_index(drop=True), int(vehicle.sum())


def _finish(out: pd.DataFrame, records: pd.DataFrame, func: str, vehicle: int, notes: list[str]):
    out.attrs["exclusions"] = list(records.attrs.get("exclusions", []))
    ledger.record(out, func, "vehicle-only searches (no person) excluded", vehicle)
    out.attrs["notes"] = notes
    return out


def concordance(records: pd.DataFrame) -> pd.DataFrame:
    """Cross-table of self-defined (5+1) by officer-defined (4+1) group, as a long table.

    Parameters
    ----------
    records : DataFrame
        ``stop_search`` records, as from :func:`dispro.read_police_uk`: needs ``ethnicity``
        (self-defined 5+1 group), ``officer_ethnicity`` (4+1 group) and ``vehicle_only``; uses
        ``ethnicity_basis`` when present (see Notes).

    Returns
    -------
    DataFrame
        Every pair of a self-defined group (``Asian``, ``Black``, ``Mixed``, ``White``, ``Other``,
        ``Not stated``) and an officer-defined group (``Asian``, ``Black``, ``White``, ``Other``,
        ``Not stated``), zeros included, in code-list order; exactly :data:`CONCORDANCE_COLUMNS`:

        - ``self_group``: the self-defined group;
        - ``officer_group``: the officer-defined group;
        - ``searches``: person searches with that pair;
        - ``share_of_self_group``: ``searches`` over all person searches of the self-defined
          group (how the officer saw people who described themselves so; missing if none).

        ``attrs`` holds ``notes`` and the exclusions ledger.

    Raises
    ------
    ValidationError
        A column is missing, a group is outside its scheme, or the records were read with
        ``fallback=True`` and lack ``ethnicity_basis``.
    DisproError
        No records.

    Notes
    -----
    Vehicle-only searches (no person) are excluded and counted. With
    ``read_police_uk(fallback=True)``, ``ethnicity`` is the officer's group where self-defined
    was not stated; rows with ``ethnicity_basis == "officer_defined"`` are put back to
    ``Not stated`` here, so the table always compares the person's own answer with the officer's.

    Examples
    --------
    >>> import pandas as pd
    >>> from dispro.stopsearch.concordance import concordance
    >>> records = pd.DataFrame({"vehicle_only": False,
    ...     "ethnicity": ["White", "White", "Mixed", "Black"],
    ...     "officer_ethnicity": ["White", "White", "Black", "Black"]})
    >>> out = concordance(records)
    >>> out[out["searches"] > 0]
       self_group officer_group  searches  share_of_self_group
    6       Black         Black         1                  1.0
    11      Mixed         Black         1                  1.0
    17      White         White         2                  1.0
    """
    func = "concordance"
    pairs, vehicle = _pairs(records, func)
    self_levels, officer_levels = group_order("5+1"), group_order("4+1")
    n = _crosstab(pairs, self_levels, officer_levels).astype(np.int64)
    totals = n.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(totals > 0, n / totals, np.nan)
    out = pd.DataFrame(
        {
            "self_group": np.repeat(self_levels, len(officer_levels)),
            "officer_group": np.tile(officer_levels, len(self_levels)),
            "searches": n.ravel(),
            "share_of_self_group": share.ravel(),
        }
    )
    notes = [
        "Self-defined group (5+1) by officer-defined group (4+1), person searches only. "
        "Officer-defined ethnicity has no Mixed group: people who describe themselves as Mixed "
        "are recorded under whichever group the officer chose.",
        f"Vehicle-only searches excluded: {vehicle}.",
    ]
    return _finish(out, records, func, vehicle, notes)


def _crosstab(pairs: pd.DataFrame, self_levels, officer_levels) -> np.ndarray:
    """Searches per (self-defined, officer-defined) pair of levels, counted by counts.tally;
    pairs outside the levels are left out."""
    counted = tally(
        pairs, ["self_group", "officer_group"],
        levels={"self_group": self_levels, "officer_group": officer_levels},
    )  # fmt: skip
    return counted["base"].to_numpy().reshape(len(self_levels), len(officer_levels))


def _kappa_table(pairs: pd.DataFrame) -> np.ndarray:
    shared = list(SHARED_GROUPS)
    return _crosstab(pairs, shared, shared).astype(float)


def concordance_summary(records: pd.DataFrame, *, alpha: float = 0.05) -> pd.DataFrame:
    """Agreement between self-defined and officer-defined groups: Cohen's kappa and % agreement.

    Computed on the person searches where both the person and the officer gave one of the groups
    both schemes share (:data:`SHARED_GROUPS`: Asian, Black, White, Other).

    Parameters
    ----------
    records : DataFrame
        As for :func:`concordance`.
    alpha : float
        1 - confidence level of the intervals.

    Returns
    -------
    DataFrame
        Two rows, ``statistic`` ``"kappa"`` and ``"percent_agreement"``; exactly
        :data:`SUMMARY_COLUMNS`:

        - ``statistic``: the statistic;
        - ``estimate``: Cohen's (unweighted) kappa, or the share of searches on which the two
          agree (a proportion, 0 to 1, despite the name);
        - ``std_error``: for kappa, the large-sample standard error of Fleiss, Cohen and Everitt
          (1969) (statsmodels ``std_kappa``, SAS's ASE); for agreement, ``sqrt(p(1-p)/n)``;
        - ``ci_lower``, ``ci_upper``: Wald interval ``kappa ± z SE`` for kappa; Wilson score
          interval for agreement;
        - ``searches``: the searches they are computed on.

        ``attrs["table"]`` is the 4 x 4 table used (self-defined rows, officer-defined columns);
        ``attrs["excluded"]`` counts the searches left out by reason; ``attrs["notes"]`` and
        ``attrs["exclusions"]`` (the ledger) record the rules.

    Raises
    ------
    DisproError
        No searches have a shared group on both sides.
    ValidationError
        As for :func:`concordance`.

    Notes
    -----
    ``kappa = (p_o - p_e) / (1 - p_e)`` with ``p_o`` the share on the diagonal and
    ``p_e = sum_i p_i. p_.i``. Handling of the groups the schemes do not share: self-defined
    Mixed has no officer-defined counterpart, so those searches cannot agree or disagree on a
    common scale and are left out (counted in ``attrs["excluded"]["self_mixed"]``; see
    :func:`concordance` for how officers recorded them). Not stated on either side is missing
    information, not a category, and is left out too (``self_not_stated``,
    ``officer_not_stated``; each search is counted once: not stated on both sides under
    ``self_not_stated``, self-defined Mixed with officer Not stated under ``officer_not_stated``).
    Kappa is therefore agreement among people whose ethnicity both sides recorded in a shared
    group; it says nothing about who is left not stated (see
    :func:`not_stated_by_officer_group`).

    References
    ----------
    Cohen J (1960). A coefficient of agreement for nominal scales. Educational and Psychological
    Measurement 20:37-46.
    Fleiss JL, Cohen J, Everitt BS (1969). Large sample standard errors of kappa and weighted
    kappa. Psychological Bulletin 72:323-327.
    """
    func = "concordance_summary"
    _check_alpha(alpha)
    pairs, vehicle = _pairs(records, func)
    self_ns = (pairs["self_group"] == NOT_STATED).to_numpy()
    officer_ns = (pairs["officer_group"] == NOT_STATED).to_numpy()
    self_mixed = (pairs["self_group"] == "Mixed").to_numpy()
    excluded = {
        "vehicle_only": vehicle,
        "self_not_stated": int(self_ns.sum()),
        "self_mixed": int((self_mixed & ~officer_ns).sum()),
        "officer_not_stated": int((officer_ns & ~self_ns).sum()),
    }
    table = _kappa_table(pairs)
    n = table.sum()
    if n == 0:
        raise DisproError(
            f"{func}: no person search has both a self-defined and an officer-defined group among "
            f"{list(SHARED_GROUPS)} (excluded: {excluded}); agreement cannot be computed"
        )
    result = cohens_kappa(table, return_results=True)
    kappa, se = float(result.kappa), float(result.std_kappa)
    z = float(stats.norm.ppf(1 - alpha / 2))
    agree = float(np.trace(table))
    p_o = agree / n
    a_lo, a_hi = _wilson(np.array([agree]), np.array([n]), alpha)
    out = pd.DataFrame(
        {
            "statistic": ["kappa", "percent_agreement"],
            "estimate": [kappa, p_o],
            "std_error": [se, float(np.sqrt(p_o * (1 - p_o) / n))],
            "ci_lower": [kappa - z * se, float(a_lo[0])],
            "ci_upper": [kappa + z * se, float(a_hi[0])],
            "searches": [int(n), int(n)],
        },
        columns=list(SUMMARY_COLUMNS),
    )
    notes = [
        f"Computed on the {int(n)} person searches where both the self-defined and the "
        f"officer-defined group is one of {list(SHARED_GROUPS)}.",
        f"Left out: self-defined Mixed, which officer-defined ethnicity lacks "
        f"({excluded['self_mixed']}); self-defined Not stated ({excluded['self_not_stated']}); "
        f"officer-defined Not stated ({excluded['officer_not_stated']}); vehicle-only searches "
        f"({vehicle}).",
        "Kappa: Cohen's unweighted kappa with the Fleiss-Cohen-Everitt (1969) standard error "
        f"and a Wald interval; agreement: Wilson score interval; {100 * (1 - alpha):g}% level.",
    ]
    out = _finish(out, records, func, vehicle, notes)
    for key, rule in (
        ("self_not_stated", "self-defined Not stated: left out of kappa"),
        ("self_mixed", "self-defined Mixed (no officer-defined Mixed): left out of kappa"),
        ("officer_not_stated", "officer-defined Not stated: left out of kappa"),
    ):
        ledger.record(out, func, rule, excluded[key])
    shared_levels = list(SHARED_GROUPS)
    out.attrs.update(
        table=pd.DataFrame(table.astype(np.int64), index=pd.Index(shared_levels, name="self_group"),
                           columns=pd.Index(shared_levels, name="officer_group")),
        excluded=excluded, alpha=alpha,
    )  # fmt: skip
    return out


def not_stated_by_officer_group(records: pd.DataFrame, *, alpha: float = 0.05) -> pd.DataFrame:
    """Share of person searches with self-defined ethnicity not stated, by officer-defined group.

    Shows whether missing self-defined ethnicity falls evenly across the groups officers saw: if
    it does not, rates computed on self-defined ethnicity are biased for some groups (see the
    missing-ethnicity bounds, METHODS.md section 4).

    Parameters
    ----------
    records : DataFrame
        As for :func:`concordance`.
    alpha : float
        1 - confidence level of the Wilson intervals.

    Returns
    -------
    DataFrame
        One row per officer-defined group (``Asian``, ``Black``, ``White``, ``Other``,
        ``Not stated``), exactly :data:`NOT_STATED_COLUMNS`:

        - ``officer_group``: the group the officer recorded;
        - ``searches``: person searches with that officer-defined group;
        - ``not_stated``: those whose self-defined ethnicity is Not stated;
        - ``share``: ``not_stated / searches`` (missing if no searches);
        - ``ci_lower``, ``ci_upper``: Wilson score interval of the share.

    Raises
    ------
    ValidationError, DisproError
        As for :func:`concordance`.

    Examples
    --------
    >>> import pandas as pd
    >>> from dispro.stopsearch.concordance import not_stated_by_officer_group
    >>> records = pd.DataFrame({"vehicle_only": False,
    ...     "ethnicity": ["White", "Not stated", "Not stated", "Black"],
    ...     "officer_ethnicity": ["White", "White", "Black", "Black"]})
    >>> not_stated_by_officer_group(records)[["officer_group", "searches", "not_stated", "share"]]
      officer_group  searches  not_stated  share
    0         Asian         0           0    NaN
    1         Black         2           1    0.5
    2         White         2           1    0.5
    3         Other         0           0    NaN
    4    Not stated         0           0    NaN
    """
    func = "not_stated_by_officer_group"
    _check_alpha(alpha)
    pairs, vehicle = _pairs(records, func)
    levels = group_order("4+1")
    counted = tally(
        pairs, ["officer_group"], events={"self_group": [NOT_STATED]},
        levels={"officer_group": levels},
    )  # fmt: skip
    n = counted["base"].to_numpy(dtype=np.int64)
    k = counted["events"].to_numpy(dtype=np.int64)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(n > 0, k / n, np.nan)
    lower, upper = _wilson(k, n, alpha)
    out = pd.DataFrame(
        {"officer_group": levels, "searches": n, "not_stated": k, "share": share,
         "ci_lower": lower, "ci_upper": upper},
        columns=list(NOT_STATED_COLUMNS),
    )  # fmt: skip
    notes = [
        "Share of person searches whose self-defined ethnicity is Not stated ('Other ethnic "
        "group - Not stated' or blank), by officer-defined group; Wilson score intervals, "
        f"{100 * (1 - alpha):g}% level.",
        f"Vehicle-only searches excluded: {vehicle}.",
    ]
    return _finish(out, records, func, vehicle, notes)
