"""The stop-and-search generator: searches in the data.police.uk superset schema."""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from ..dictionary import codelist
from ._common import _S60, _expit, _group_log_ratio, _groups, _levels, _vector
from ._draws import _boolean, _cells, _draw, _Drawn, _frame, _labels, _month_bounds, _own, _text
from ._model import _census, _detailed, _time_factor
from .truth import FORCES, TRUTH

_NOT_STATED_LABEL = "Other ethnic group - Not stated"


@functools.cache
def _outcome_labels() -> tuple[dict[str, str], dict[str, str], dict[str, tuple[bool, bool]]]:
    """Harmonised outcome -> current police.uk label, -> older label, -> (further action, arrest)."""
    current = codelist("stop_search_outcome")
    new = {
        c: lab for c, lab in zip(current["code"], current["police_uk_label"], strict=True) if lab
    }
    flags = {
        c: (a.lower() == "true", b.lower() == "true")
        for c, a, b in zip(
            current["code"], current["any_further_action"], current["arrest"], strict=True
        )
        if a
    }
    table = codelist("stop_search_outcome_map")
    older = table[table["vocabulary"].str.startswith("older")]
    old = {}
    for label, outcome in zip(older["code"], older["outcome"], strict=True):
        old.setdefault(outcome, label)
    return new, old, flags


def _stop_search(rng: np.random.Generator, months: pd.PeriodIndex, scale: float) -> _Drawn:
    spec = TRUTH["stop_search"]
    groups, levels = _groups(), _levels()
    sexes, ages = levels["sex"], levels["age_band_police_uk"]
    pop, age_share = _census()
    n_f, n_g, n_m = len(FORCES), len(groups), len(months)
    force_arr = np.array(FORCES, dtype=object)

    # --- person searches: Poisson counts per force x month x group x sex x age
    sex_share = pop / pop.sum(axis=2, keepdims=True)
    weight = (
        sex_share[..., None]
        * age_share[:, :, None, :]
        * _vector(spec["sex_propensity"], sexes)[None, None, :, None]
        * _vector(spec["age_propensity"], ages)[None, None, None, :]
    )
    weight /= weight.sum(axis=(2, 3), keepdims=True)
    rri = np.array([_vector(spec["rri"][f], groups) for f in FORCES])
    rate = _vector(spec["rate_per_1000_white"], FORCES) / 1000 / 12
    yearly = rate[:, None] * rri * pop.sum(axis=2)  # (F, G) searches a month, before time
    time = _time_factor(months)
    expected = (
        scale
        * yearly[:, None, :, None, None]
        * time[None, :, None, None, None]
        * weight[:, None, :, :, :]
    )
    f, m, g, s, a = _cells(rng, expected)
    # --- vehicle-only searches: no person
    vshare = spec["vehicle_only_share"]
    vexpected = expected.sum(axis=(2, 3, 4)) * vshare / (1 - vshare)
    vf, vm = _cells(rng, vexpected)
    n_person, n_vehicle = len(f), len(vf)
    n = n_person + n_vehicle
    f = np.concatenate([f, vf])
    m = np.concatenate([m, vm])
    g = np.concatenate([g, np.full(n_vehicle, -1)])
    s = np.concatenate([s, np.zeros(n_vehicle, dtype=np.int64)])
    a = np.concatenate([a, np.zeros(n_vehicle, dtype=np.int64)])
    vehicle = np.zeros(n, dtype=bool)
    vehicle[n_person:] = True
    person = ~vehicle

    # --- search type
    pv = rng.random(n) < spec["person_and_vehicle_share"]
    search_type = _labels(
        ["Person search", "Person and Vehicle search", "Vehicle search"],
        np.where(vehicle, 2, pv.astype(np.int64)),
    )

    # --- date and time: UK local clock, converted to true UTC instants
    starts, days = _month_bounds(months)
    day = np.floor(rng.random(n) * days[m]).astype(np.int64)
    hour = _draw(rng, np.array(spec["time_of_day"]["hour_weights"]), n=n)
    second = hour * 3600 + np.floor(rng.random(n) * 3600).astype(np.int64)
    local_day = starts[m] + day.astype("timedelta64[D]")
    wall = pd.DatetimeIndex((local_day + second.astype("timedelta64[s]")).astype("datetime64[ns]"))
    instant = wall.tz_localize(
        "Europe/London", ambiguous=np.ones(n, dtype=bool), nonexistent="shift_forward"
    ).tz_convert("UTC")
    midnight = rng.random(n) < spec["time_of_day"]["midnight_share"]
    midnight_instant = pd.DatetimeIndex(local_day.astype("datetime64[ns]")).tz_localize("UTC")
    date_ns = np.where(midnight, midnight_instant.asi8, instant.asi8)
    date = pd.DatetimeIndex(date_ns.astype("datetime64[ns]")).tz_localize("UTC")

    # --- self-defined ethnicity (not stated at random), the 5+1 group, officer-defined
    ns_share = _vector(spec["not_stated_share"], FORCES)[f]
    not_stated = person & (rng.random(n) < ns_share)
    blank_ns = not_stated & (rng.random(n) < spec["not_stated_blank_share"])
    stated = person & ~not_stated
    labels, _, shares = _detailed()
    key = f * n_g + np.maximum(g, 0)
    self_label = labels[key, _draw(rng, shares, keys=key)]
    self_label[not_stated] = _NOT_STATED_LABEL
    self_label[blank_ns | vehicle] = None
    ethnicity = _labels([*groups, "Not stated"], np.where(stated, g, n_g))
    basis = _labels(["self_defined", "not_recorded"], (~stated).astype(np.int64))
    officer_levels = ("White", "Black", "Asian", "Other")
    perception = np.array(
        [_vector(spec["officer_perception"][gr], officer_levels) for gr in groups]
    )
    officer_idx = _draw(rng, perception, keys=np.maximum(g, 0))
    officer_blank = vehicle | (stated & (rng.random(n) < spec["officer_blank_share"]))
    officer_idx[officer_blank] = len(officer_levels)
    officer = _labels([*officer_levels, None], officer_idx)
    officer_group = _labels([*officer_levels, "Not stated"], officer_idx)

    # --- sex and age (blank for vehicle-only searches)
    sex = np.array(sexes, dtype=object)[s]
    r = rng.random(n)
    sex[r < spec["sex_other_share"]] = "Other"
    sex = _text(
        sex,
        vehicle
        | (
            (r >= spec["sex_other_share"]) & (r < spec["sex_other_share"] + spec["sex_blank_share"])
        ),
    )
    age = _text(
        np.array(ages, dtype=object)[a], vehicle | (rng.random(n) < spec["age_blank_share"])
    )

    # --- legislation and object of search; section 60 in one force-period
    mixes = spec["legislation_mix"]
    leg_levels = tuple(dict.fromkeys(k for mix in mixes.values() for k in mix))
    leg_probs = np.array([_vector(mixes[k], leg_levels) for k in (*groups, "vehicle")])
    leg_idx = _draw(rng, leg_probs, keys=np.where(vehicle, len(groups), g))
    s60_spec = spec["section60"]
    s60_months = _s60_months(months)
    s60_force = FORCES.index(s60_spec["force"])
    in_period = person & (f == s60_force) & np.isin(m, [months.get_loc(p) for p in s60_months])
    s60_share = s60_spec["share_white"] * _vector(s60_spec["share_ratio"], groups)
    s60 = in_period & (rng.random(n) < s60_share[np.maximum(g, 0)])
    objects = spec["object_mix"]
    leg_all = tuple(dict.fromkeys((*leg_levels, *objects)))
    leg_idx[s60] = leg_all.index(_S60)
    legislation = _labels(leg_all, leg_idx)
    obj_levels = tuple(dict.fromkeys(k for mix in objects.values() for k in mix))
    obj_probs = np.array([_vector(objects[k], obj_levels) for k in leg_all])
    obj_idx = _draw(rng, obj_probs, keys=leg_idx)
    object_of_search = np.array(obj_levels, dtype=object)[obj_idx]

    # --- hit (outcome linked to the object): the planted lower threshold
    hit = spec["hit_rate"]
    eta_hit = (
        hit["intercept"]
        + _vector(hit["terms"]["force"], FORCES)[f]
        + _vector(hit["terms"]["object_of_search"], obj_levels)[obj_idx]
        + np.where(s60, hit["terms"]["legislation"][_S60], 0.0)
    )
    group_term = np.where(vehicle, 0.0, _group_log_ratio(hit, "odds_ratio")[np.maximum(g, 0)])
    linked = rng.random(n) < _expit(eta_hit + group_term)

    # --- outcome, in current or older police.uk wording
    table = spec["outcome_given_hit"]
    outcomes = tuple(table["not_linked"])
    categories = codelist("object_of_search").set_index("code")["category"]
    drugs = np.array([categories.get(o) == "drugs" for o in obj_levels])[obj_idx]
    which = np.where(linked, np.where(drugs, 0, 1), 2)
    out_probs = np.array(
        [_vector(table[k], outcomes) for k in ("linked_drugs", "linked_other", "not_linked")]
    )
    new_label, old_label, flags = _outcome_labels()
    codes_all = tuple(flags)  # every harmonised outcome with a police.uk label
    out_code = np.array([codes_all.index(o) for o in outcomes])[_draw(rng, out_probs, keys=which)]
    vocab = spec["outcome_vocabulary"]
    old = np.zeros(n, dtype=bool)
    dorset = FORCES.index("Dorset")
    old |= (f == dorset) & (m < min(6, n_m))
    old |= (f == FORCES.index("Wiltshire")) & (rng.random(n) < vocab["old_wording"]["Wiltshire"])
    further_action = out_code != codes_all.index("no_further_action")
    found = old & linked & further_action & (rng.random(n) < vocab["article_found_share"])
    out_code[found] = codes_all.index("other")
    wording = [new_label.get(c) for c in codes_all] + [old_label.get(c) for c in codes_all]
    raw = _labels(wording, out_code + old * len(codes_all))
    blank_outcome = rng.random(n) < vocab["blank_share"]
    raw[blank_outcome] = None
    outcome = _labels(
        [*codes_all, "not_recorded"], np.where(blank_outcome, len(codes_all), out_code)
    )
    further = np.array([flags[c][0] for c in codes_all])[out_code]
    arrest = np.array([flags[c][1] for c in codes_all])[out_code]

    # --- outcome linked: not supplied by one force for the first three months
    not_supplied = (f == FORCES.index(spec["outcome_linked_not_supplied"]["force"])) & (m < 3)

    # --- strip searches (removal of more than outer clothing)
    strip_spec = spec["strip_search"]
    p_strip = (
        _vector(strip_spec["share_white"], FORCES)[f]
        * _vector(strip_spec["rate_ratio"], groups)[np.maximum(g, 0)]
    )
    strip = rng.random(n) < p_strip

    # --- policing operations
    op = spec["part_of_policing_operation"]
    op_share = np.array([op[x] if op[x] is not None else 0.0 for x in FORCES])[f]
    operation = s60 | (rng.random(n) < op_share)
    operation_blank = np.array([op[x] is None for x in FORCES])[f]
    operation_name = _labels([None, "Operation Sceptre"], s60.astype(np.int64))

    # --- location: town centres with jitter, a quarter blank
    loc = spec["location"]
    width = max(len(loc["towns"][x]) for x in FORCES)
    towns = np.zeros((n_f, width, 3))
    for fi, force in enumerate(FORCES):
        centres = np.array(list(loc["towns"][force].values()))
        towns[fi, : len(centres)] = centres
    town = _draw(rng, towns[:, :, 2], keys=f)
    lat = towns[f, town, 0] + rng.normal(0, loc["jitter_degrees"]["latitude"], n)
    lon = towns[f, town, 1] + rng.normal(0, loc["jitter_degrees"]["longitude"], n)
    no_location = rng.random(n) < loc["blank_share"]
    lat = np.where(no_location, np.nan, np.round(lat, 6))
    lon = np.where(no_location, np.nan, np.round(lon, 6))

    frame = _frame(
        {
            "date": date,
            "month": months.strftime("%Y-%m").to_numpy(dtype=object)[m],
            "force": force_arr[f],
            "search_type": search_type.astype(object),
            "vehicle_only": _boolean(vehicle),
            "part_of_policing_operation": _boolean(operation, operation_blank),
            "policing_operation": operation_name,
            "latitude": lat,
            "longitude": lon,
            "sex": sex,
            "age_band": age,
            "self_defined_ethnicity": self_label,
            "officer_defined_ethnicity": officer,
            "ethnicity": ethnicity,
            "ethnicity_basis": basis,
            "officer_ethnicity": officer_group,
            "legislation": legislation,
            "object_of_search": object_of_search,
            "outcome": outcome,
            "outcome_raw": raw,
            "any_further_action": _boolean(further, blank_outcome),
            "arrest": _boolean(arrest, blank_outcome),
            "outcome_linked": _boolean(linked, not_supplied),
            "removal_outer_clothing": _boolean(strip, vehicle),
        }
    )
    # the order of read_police_uk on the written files: month, force file (by slug), time
    slugs = codelist("police_force_area").set_index("code")["police_uk_slug"]
    file_rank = np.argsort(np.argsort([slugs[x] for x in FORCES]))
    order = np.lexsort((date_ns, file_rank[f], m))
    frame = frame.iloc[order].reset_index(drop=True)
    frame.attrs["s60_months"] = [str(p) for p in s60_months]
    frame.attrs["coverage"] = _coverage(
        f,
        m,
        months,
        {
            "outcome_linked_supplied": ~not_supplied,
            "removal_outer_clothing_supplied": ~vehicle,
            "part_of_policing_operation_supplied": ~operation_blank,
            "location_supplied": ~no_location,
            "self_defined_ethnicity_supplied": ~(blank_ns | vehicle),
        },
    )
    own = _own(g, stated)
    strip_eta = np.log(_vector(strip_spec["share_white"], FORCES)[f])
    inputs = {
        "hit_rate": (eta_hit, own, stated & ~s60 & ~not_supplied),
        "strip_search": (strip_eta, own, stated),
    }
    return frame, {k: tuple(a[order] for a in v) for k, v in inputs.items()}


def _s60_months(months: pd.PeriodIndex) -> list[pd.Period]:
    """The two middle months of the period (one if the period is a single month)."""
    mid = (len(months) - 1) // 2
    return list(months[mid : mid + 2])


def _coverage(f: np.ndarray, m: np.ndarray, months: pd.PeriodIndex, supplied: dict) -> list[dict]:
    """Force x month coverage in the layout of :func:`dispro.coverage` (every month present).

    ``supplied`` maps each ``<field>_supplied`` flag to a row mask of non-blank values.
    """
    cell = f * len(months) + m
    size = len(FORCES) * len(months)
    rows = np.bincount(cell, minlength=size)
    flags = {k: np.bincount(cell[mask], minlength=size) > 0 for k, mask in supplied.items()}
    labels = months.strftime("%Y-%m")
    out = []
    for force in sorted(FORCES):  # the reader's order: force, then month
        for mi, month in enumerate(labels):
            i = FORCES.index(force) * len(months) + mi
            out.append(
                {
                    "force": force,
                    "month": month,
                    "present": True,
                    "rows": int(rows[i]),
                    "source": "synthetic (dispro.synth)",
                    **{k: bool(v[i]) for k, v in flags.items()},
                }
            )
    return out
