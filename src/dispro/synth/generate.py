"""Drawing the synthetic Wessex records: :func:`wessex`."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from ..errors import ParameterError, check_choice
from ._common import _check_scale, _months
from ._model import _truth_table
from ._offenders import _charging, _disposals, _sentencing
from ._stop_search import _stop_search
from .expected import expected_stop_rates
from .truth import DATASETS, DEFAULT_END, DEFAULT_SEED, DEFAULT_START, GENERATOR_VERSION, TRUTH


class _SharedDict(dict):
    """A frame attribute that pandas shares between derived frames instead of deep-copying it
    on every operation (pandas deep-copies ``attrs``; the truth is read-only by convention)."""

    def __deepcopy__(self, memo):
        return self


class _SharedList(list):
    """As :class:`_SharedDict`, for the coverage table (a list of row dicts)."""

    def __deepcopy__(self, memo):
        return self


_GENERATORS = {
    "stop_search": _stop_search,
    "disposals": _disposals,
    "charging": _charging,
    "sentencing": _sentencing,
}


def _check_datasets(datasets) -> tuple[str, ...]:
    if datasets is None:
        return DATASETS
    chosen = (datasets,) if isinstance(datasets, str) else tuple(datasets)
    for d in chosen:
        check_choice("datasets", d, DATASETS)
    return tuple(d for d in DATASETS if d in chosen)


def _description(dataset: str, start: str, end: str, scale: float, seed: int) -> str:
    return (
        f"SYNTHETIC {dataset} records for Wessex (Hampshire, Dorset, Wiltshire), {start} to "
        f"{end}, drawn by dispro.synth {GENERATOR_VERSION} (seed {seed}, scale {scale:g}) with "
        "known, planted disparities (attrs['truth']). Not real records: for demonstrations "
        "and tests only. Populations are real Census 2021 figures."
    )


def wessex(
    *,
    start: str = DEFAULT_START,
    end: str = DEFAULT_END,
    scale: float = 1.0,
    seed: int = DEFAULT_SEED,
    datasets=None,
) -> dict[str, pd.DataFrame]:
    """Synthetic Wessex records with known, seeded disparities, in the canonical schemas.

    Parameters
    ----------
    start, end : str
        First and last month (``YYYY-MM``), inclusive. Default April 2021 to March 2024 (three
        financial years).
    scale : float
        Multiplies every expected volume. At 1 (default), over three years: about 43,000
        searches, 20,000 police outcomes, 15,000 charging decisions and 15,000 sentences
        (:func:`expected_sizes` gives the expectation for any period and scale). Use 0.1 to 0.5
        for tests and 10 to 100 for benchmarks; generation is vectorised.
    seed : int
        Seed of :func:`numpy.random.default_rng`. Each dataset draws from its own child stream
        (``numpy.random.SeedSequence(seed).spawn``), so asking for one dataset gives the same
        frame as asking for all four.
    datasets : str or list of str, optional
        Which of :data:`DATASETS` to draw (default all).

    Returns
    -------
    dict of str to DataFrame
        ``"stop_search"``, ``"disposals"``, ``"charging"``, ``"sentencing"``: the records, with
        the canonical fields of ``data_dictionary/datasets/<dataset>.yaml`` that the source would
        hold (stop and search also the columns :func:`dispro.read_police_uk` derives, ``month``
        and the reader's ``attrs``: ``coverage``, ``clock`` = ``"utc"``, ``fallback``). Each
        frame passes :func:`dispro.validate`. Each frame's ``attrs`` hold ``synthetic`` (True),
        ``description``, ``dataset``, ``truth`` (its section of :data:`TRUTH` plus
        ``expected``: the true crude and adjusted ratios evaluated on the frame, see
        :func:`true_marginal_rr`, and for stop and search :func:`expected_stop_rates`; shared,
        not copied, by frames derived from it: read it, do not modify it), ``seed``, ``scale``,
        ``start``, ``end``, ``generator_version`` and an empty exclusions ledger.

    Raises
    ------
    ParameterError
        A month not written ``YYYY-MM``, ``end`` before ``start``, a scale that is not a
        positive number, or an unknown dataset.

    Notes
    -----
    The populations by force, ethnic group, sex and age are Census 2021's
    (:func:`dispro.population.census2021`); the planted effects are in :data:`TRUTH`.

    Examples
    --------
    >>> from dispro import synth
    >>> data = synth.wessex(scale=0.05, seed=1)
    >>> sorted(data)
    ['charging', 'disposals', 'sentencing', 'stop_search']
    >>> data["sentencing"].attrs["synthetic"]
    True
    >>> synth.TRUTH["sentencing"]["custody"]["odds_ratio"]["Black"]
    1.25
    """
    months = _months(start, end)
    scale = _check_scale(scale)
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ParameterError(f"`seed` must be a non-negative integer, but {seed!r} was passed")
    chosen = _check_datasets(datasets)
    streams = dict(
        zip(DATASETS, np.random.SeedSequence(int(seed)).spawn(len(DATASETS)), strict=True)
    )
    out = {}
    for name in chosen:
        rng = np.random.default_rng(streams[name])
        frame, inputs = _GENERATORS[name](rng, months, scale)
        extra = {}
        if name == "stop_search":
            extra = {
                "coverage": _SharedList(frame.attrs.pop("coverage")),
                "clock": "utc",
                "fallback": False,
                "source": "synthetic (dispro.synth)",
                "section60_months": frame.attrs.pop("s60_months"),
            }
        truth = json.loads(json.dumps(TRUTH[name]))
        truth["expected"] = {}
        frame.attrs = {
            "synthetic": True,
            "description": _description(name, str(months[0]), str(months[-1]), scale, int(seed)),
            "dataset": name,
            "seed": int(seed),
            "scale": scale,
            "start": str(months[0]),
            "end": str(months[-1]),
            "generator_version": GENERATOR_VERSION,
            "exclusions": [],
            **extra,
        }
        for stage, (eta, own, rows) in inputs.items():
            table = _truth_table(stage, eta[rows], own[rows], "White", "all")
            truth["expected"][stage] = table.drop(columns="stage").to_dict("records")
        if name == "stop_search":
            truth["expected"]["stop_rates"] = expected_stop_rates(
                start=str(months[0]), end=str(months[-1])
            ).to_dict("records")
            labels = [str(p) for p in months]
            truth["section60"]["months"] = extra["section60_months"]
            truth["outcome_linked_not_supplied"]["months"] = labels[:3]
            truth["outcome_vocabulary"]["old_wording"]["Dorset"] = labels[:6]
        frame.attrs["truth"] = _SharedDict(truth)
        out[name] = frame
    return out
