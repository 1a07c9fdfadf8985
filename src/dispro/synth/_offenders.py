"""The generators of the police outcome, charging and sentencing records: detected
offenders, CPS pre-charge decisions and sentenced defendants, drawn against Census 2021."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..dictionary import codes
from ._common import _expit, _group_log_ratio, _groups, _levels, _vector
from ._draws import _cells, _draw, _Drawn, _frame, _labels, _month_bounds, _own, _text
from ._model import _census, _detailed, _time_factor
from .truth import FORCES, TRUTH

# ---------------------------------------------------------------------------------------------
# people in the court and police outcome datasets
# ---------------------------------------------------------------------------------------------


def _tilted(spec: dict, mix_key: str, tilt_key: str, level_key: str) -> np.ndarray:
    """(group, level) weights: the mix times each group's tilt (1 where none is given)."""
    levels = _levels()[level_key]
    base = _vector(spec[mix_key], levels)
    tilts = spec.get(tilt_key, {})
    return np.array([base * _vector(tilts[g], levels) if g in tilts else base for g in _groups()])


def _people(rng: np.random.Generator, spec: dict, months: pd.PeriodIndex, scale: float) -> dict:
    """Force, month, group, sex, age band, offence group and date of each person (arrays)."""
    groups, levels = _groups(), _levels()
    pop, _ = _census()
    share = (
        pop
        * _vector(spec["group_multiplier"], groups)[None, :, None]
        * _vector(spec["sex_multiplier"], levels["sex"])[None, None, :]
    )
    share = share / share.sum(axis=(1, 2), keepdims=True)
    force_weight = pop.sum(axis=(1, 2)) / pop.sum()
    expected = (
        scale
        * spec["per_year"]
        / 12
        * force_weight[:, None, None, None]
        * _time_factor(months)[None, :, None, None]
        * share[:, None, :, :]
    )
    f, m, g, s = _cells(rng, expected)
    n = len(f)
    age = _draw(rng, _tilted(spec, "age_mix", "age_tilt", "age_band"), keys=g)
    offence = _draw(rng, _tilted(spec, "offence_mix", "offence_tilt", "offence_group"), keys=g)
    starts, days = _month_bounds(months)
    day = np.floor(rng.random(n) * days[m]).astype(np.int64)
    date = (starts[m] + day.astype("timedelta64[D]")).astype("datetime64[ns]")
    return {
        "f": f,
        "m": m,
        "g": g,
        "s": s,
        "age": age,
        "offence": offence,
        "date": date,
        "n": n,
    }


def _recorded_ethnicity(rng: np.random.Generator, people: dict, share: float) -> dict:
    """Recorded 5+1 group, the 18+1 code it came from, and the basis; not stated at random."""
    n, f, g = people["n"], people["f"], people["g"]
    groups = _groups()
    not_stated = rng.random(n) < share
    _, sde, shares = _detailed()
    key = f * len(groups) + g
    detailed = sde[key, _draw(rng, shares, keys=key)]
    detailed[not_stated] = "NS"
    return {
        "ethnicity": _labels([*groups, "Not stated"], np.where(not_stated, len(groups), g)),
        "ethnicity_detailed": detailed,
        "ethnicity_basis": _labels(["self_defined", "not_recorded"], not_stated.astype(np.int64)),
    }


def _eta(model: dict, values: dict[str, np.ndarray], n: int) -> np.ndarray:
    """Linear predictor of a TRUTH model, without the group term, from level indices."""
    levels = _levels()
    eta = np.full(n, float(model["intercept"]))
    for column, coefs in model["terms"].items():
        names = FORCES if column == "force" else levels[column]
        eta += _vector(coefs, names)[values[column]]
    return eta


def _finish(frame: pd.DataFrame, prefix: str, order_keys, inputs: dict):
    """Sort by force and date, number the records, and put the truth inputs in the same order."""
    order = np.lexsort(order_keys)
    frame = frame.iloc[order].reset_index(drop=True)
    inputs = {k: tuple(a[order] for a in v) for k, v in inputs.items()}
    # Arrow builds a million ids without making a million Python strings
    number = pc.utf8_lpad(pa.array(np.arange(1, len(frame) + 1)).cast(pa.string()), 7, "0")
    ids = pc.binary_join_element_wise(f"SYN-{prefix}-", number, "")
    frame.insert(0, "record_id", pd.Series(ids, dtype="str"))
    return frame, inputs


def _decided(
    rng: np.random.Generator, spec: dict, stage: str, months: pd.PeriodIndex, scale: float
) -> tuple:
    """People, their recorded ethnicity, the stage's linear predictor (without the group term)
    and whether each has the stage's event: the police outcome and charging datasets, whose
    logit models depend on offence group, age band, sex and force."""
    p = _people(rng, spec, months, scale)
    eth = _recorded_ethnicity(rng, p, spec["not_stated_share"])
    values = {"offence_group": p["offence"], "age_band": p["age"], "sex": p["s"], "force": p["f"]}
    model = spec[stage]
    eta = _eta(model, values, p["n"])
    event = rng.random(p["n"]) < _expit(eta + _group_log_ratio(model, "odds_ratio")[p["g"]])
    return p, eth, eta, event


def _disposals(rng: np.random.Generator, months: pd.PeriodIndex, scale: float) -> _Drawn:
    spec = TRUTH["disposals"]
    levels = _levels()
    p, eth, eta, oocd = _decided(rng, spec, "out_of_court", months, scale)
    n = p["n"]
    types = spec["oocd_type"]
    kinds = tuple(types)
    disposal_levels = tuple(codes("disposal"))
    type_probs = np.array([_vector(types[k], disposal_levels) for k in kinds])
    offences = np.array(levels["offence_group"], dtype=object)[p["offence"]]
    youth = np.array(levels["age_band"])[p["age"]] == "10-17"
    kind = np.where(youth, kinds.index("youth"), kinds.index("other"))
    for k in kinds:
        if k in levels["offence_group"]:
            kind = np.where(~youth & (offences == k), kinds.index(k), kind)
    disposal = np.array(disposal_levels, dtype=object)[_draw(rng, type_probs, keys=kind)]
    disposal[~oocd] = "charge_summons"
    offence_blank = rng.random(n) < spec["offence_blank_share"]
    frame = _frame(
        {
            "date": p["date"],
            "force": np.array(FORCES, dtype=object)[p["f"]],
            **eth,
            "sex": np.array(levels["sex"], dtype=object)[p["s"]],
            "age_band": np.array(levels["age_band"], dtype=object)[p["age"]],
            "offence_group": _text(offences, offence_blank),
            "disposal": disposal,
        }
    )
    stated = eth["ethnicity"] != "Not stated"
    inputs = {"out_of_court": (eta, _own(p["g"], stated), stated & ~offence_blank)}
    return _finish(frame, "DIS", (p["date"].astype(np.int64), p["f"]), inputs)


def _charging(rng: np.random.Generator, months: pd.PeriodIndex, scale: float) -> _Drawn:
    spec = TRUTH["charging"]
    levels = _levels()
    p, eth, eta, charged = _decided(rng, spec, "charge", months, scale)
    n = p["n"]
    other = tuple(spec["not_charged"])
    decision = np.array(other, dtype=object)[_draw(rng, _vector(spec["not_charged"], other), n=n)]
    decision[charged] = "charge"
    force_blank = rng.random(n) < spec["force_blank_share"]
    offence_blank = rng.random(n) < spec["offence_blank_share"]
    frame = _frame(
        {
            "date": p["date"],
            "area": np.full(n, spec["area"], dtype=object),
            "force": _text(np.array(FORCES, dtype=object)[p["f"]], force_blank),
            **eth,
            "sex": np.array(levels["sex"], dtype=object)[p["s"]],
            "age_band": np.array(levels["age_band"], dtype=object)[p["age"]],
            "offence_group": _text(
                np.array(levels["offence_group"], dtype=object)[p["offence"]], offence_blank
            ),
            "decision": decision,
        }
    )
    stated = eth["ethnicity"] != "Not stated"
    inputs = {"charge": (eta, _own(p["g"], stated), stated & ~offence_blank & ~force_blank)}
    return _finish(frame, "CHG", (p["date"].astype(np.int64), p["f"]), inputs)


def _sentencing(rng: np.random.Generator, months: pd.PeriodIndex, scale: float) -> _Drawn:
    spec = TRUTH["sentencing"]
    levels = _levels()
    p = _people(rng, spec, months, scale)
    n, g = p["n"], p["g"]
    eth = _recorded_ethnicity(rng, p, spec["not_stated_share"])
    previous = _draw(
        rng, _tilted(spec, "previous_mix", "previous_tilt", "previous_convictions"), keys=g
    )
    courts = levels["court_type"]
    crown = rng.random(n) < _vector(spec["crown_share"], levels["offence_group"])[p["offence"]]
    court = np.where(crown, courts.index("crown"), courts.index("magistrates"))
    plea_probs = np.array([_vector(spec["plea_mix"][c], levels["plea"]) for c in courts])
    plea = _draw(rng, plea_probs, keys=court)
    remand_spec = spec["remand"]
    values = {
        "offence_group": p["offence"],
        "age_band": p["age"],
        "sex": p["s"],
        "force": p["f"],
        "previous_convictions": previous,
        "court_type": court,
        "plea": plea,
    }
    eta = np.full(n, remand_spec["intercept"])
    for column, coefs in remand_spec["terms"].items():
        eta += _vector(coefs, levels[column])[values[column]]
    remanded = rng.random(n) < _expit(eta)
    bail_share = _vector(remand_spec["bail_share_if_not_custody"], courts)[court]
    bail = ~remanded & (rng.random(n) < bail_share)
    remand_levels = levels["remand_status"]
    remand = np.where(
        remanded,
        remand_levels.index("custody"),
        np.where(bail, remand_levels.index("bail"), remand_levels.index("not_remanded")),
    )
    values["remand_status"] = remand
    model = spec["custody"]
    eta = _eta(model, values, n)
    custody = rng.random(n) < _expit(eta + _group_log_ratio(model, "odds_ratio")[g])
    outcomes = tuple(codes("sentencing_outcome"))
    other_probs = np.array([_vector(spec["non_custody"][c], outcomes) for c in courts])
    outcome = np.array(outcomes, dtype=object)[_draw(rng, other_probs, keys=court)]
    outcome[custody] = "immediate_custody"
    length = spec["sentence_length"]
    eta_length = _eta(length, values, n)
    mean = np.exp(eta_length + _group_log_ratio(length, "ratio_of_means")[g])
    months_ = rng.gamma(length["shape"], mean / length["shape"])
    months_ = np.maximum(np.round(months_, 2), length["minimum_months"])
    offences = np.array(levels["offence_group"], dtype=object)[p["offence"]]
    long_kind = crown & np.isin(offences, ["violence_against_the_person", "sexual_offences"])
    indeterminate = custody & long_kind & (rng.random(n) < length["indeterminate_share"])
    custody_months = np.where(custody & ~indeterminate, months_, np.nan)
    blank = {k: rng.random(n) < v for k, v in spec["blank_share"].items()}
    frame = _frame(
        {
            "date": p["date"],
            "force": np.array(FORCES, dtype=object)[p["f"]],
            "court_type": np.array(courts, dtype=object)[court],
            **eth,
            "sex": np.array(levels["sex"], dtype=object)[p["s"]],
            "age_band": np.array(levels["age_band"], dtype=object)[p["age"]],
            "offence_group": _text(offences, blank["offence_group"]),
            "plea": _text(np.array(levels["plea"], dtype=object)[plea], blank["plea"]),
            "previous_convictions": _text(
                np.array(levels["previous_convictions"], dtype=object)[previous],
                blank["previous_convictions"],
            ),
            "remand_status": _text(
                np.array(remand_levels, dtype=object)[remand], blank["remand_status"]
            ),
            "outcome": outcome,
            "custody_months": custody_months,
        }
    )
    stated = eth["ethnicity"] != "Not stated"
    complete = stated & ~np.logical_or.reduce(list(blank.values()))
    inputs = {
        "custody": (eta, _own(g, stated), complete),
        "sentence_length": (eta_length, _own(g, stated), complete & custody & ~indeterminate),
    }
    return _finish(frame, "SEN", (p["date"].astype(np.int64), p["f"]), inputs)
