"""The linked solve: withheld cells leave every protected count free over 1..k, checked by an
attacker's LP written here from scratch (not the solver's)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.optimize import linprog

from dispro.disclosure import Structure, solve_linked

Q1, Q2, YEAR = (24288, 24290), (24291, 24293), (24288, 24293)
FORCES = ("Dorset", "Hampshire", "Wiltshire")


def _attack(truth: dict, shown: dict, withheld: set, target) -> tuple[float, float]:
    """Min and max of ``target`` over every table of leaf counts (force x quarter) that gives
    the shown cells: the attacker's LP over the leaves, with the totals as sums of leaves (a
    withheld cell may be a zero withheld to protect another, so the bound below is 0)."""
    leaves = sorted({key for key in truth if key[1] in FORCES and key[2] in (Q1, Q2)})
    col = {key: i for i, key in enumerate(leaves)}

    def parts(key):
        m, a, p, g, o = key
        areas = FORCES if a == "Wessex" else (a,)
        periods = (Q1, Q2) if p == YEAR else (p,)
        return [col[(m, x, q, g, o)] for x in areas for q in periods]

    rows, b = [], []
    for key, value in shown.items():
        row = np.zeros(len(leaves))
        row[parts(key)] = 1
        rows.append(row)
        b.append(value)
    bounds = [(0, None)] * len(leaves)
    extra_a, extra_b = [], []
    del withheld
    c = np.zeros(len(leaves))
    c[parts(target)] = 1
    out = []
    for sign in (1, -1):
        res = linprog(sign * c, A_eq=np.array(rows) if rows else None, b_eq=b or None,
                      A_ub=np.array(extra_a) if extra_a else None, b_ub=extra_b or None,
                      bounds=bounds, method="highs")  # fmt: skip
        out.append(sign * res.fun if res.status == 0 else sign * np.inf)
    return out[0], out[1]


def _cube(leaf_values: dict) -> dict:
    """Every published cell: leaves, force years, Wessex quarters and the Wessex year."""
    truth = {}
    for (a, q), v in leaf_values.items():
        truth[("searches", a, q, "Black", "All")] = v
    for a in FORCES:
        truth[("searches", a, YEAR, "Black", "All")] = sum(leaf_values[(a, q)] for q in (Q1, Q2))
    for q in (Q1, Q2):
        truth[("searches", "Wessex", q, "Black", "All")] = sum(leaf_values[(a, q)] for a in FORCES)
    truth[("searches", "Wessex", YEAR, "Black", "All")] = sum(leaf_values.values())
    return truth


@pytest.mark.parametrize("seed", range(40))
def test_every_primary_cell_stays_free_over_one_to_k(seed):
    rng = np.random.default_rng(seed)
    leaf = {(a, q): int(rng.choice([0, 1, 2, 3, 4, 7, 15, 40])) for a in FORCES for q in (Q1, Q2)}
    truth = _cube(leaf)
    k = 4
    sol = solve_linked(truth, Structure(areas={"Wessex": FORCES}), threshold=k, strict=True)
    assert not sol.unresolved
    shown = {key: v for key, v in truth.items() if key not in sol.withheld}
    primary = {key for key, rule in sol.withheld.items() if rule == "primary"}
    assert primary == {key for key, v in truth.items() if 1 <= v <= k}
    for key in sol.withheld:
        lo, hi = _attack(truth, shown, set(sol.withheld), key)
        assert hi - lo >= 0.5, (key, truth[key], lo, hi)  # never recovered exactly
        if key in primary:
            assert lo <= 1 + 1e-9 and hi >= k - 1e-9, (key, truth[key], lo, hi)


def test_a_small_complement_is_protected():
    # 40 of 42 charged: the 2 not charged are worked out from the base unless a cell is withheld
    truth = {("charged", "Dorset", YEAR, "Black", "All"): 40,
             ("people", "Dorset", YEAR, "Black", "All"): 42}  # fmt: skip
    structure = Structure(partitions={"people": [("charged", "not_charged")]})
    sol = solve_linked(truth, structure, threshold=4, strict=True)
    assert ("not_charged", "Dorset", YEAR, "Black", "All") in sol.protected
    assert sol.withheld  # one of the two is withheld
    shown = {k: v for k, v in truth.items() if k not in sol.withheld}
    assert len(shown) <= 1


def test_a_relation_that_does_not_hold_is_dropped_or_refused():
    truth = {("s", "Wessex", YEAR, "Black", "All"): 10,
             **{("s", a, YEAR, "Black", "All"): 2 for a in FORCES}}  # fmt: skip
    structure = Structure(areas={"Wessex": FORCES})
    from dispro.disclosure import IdentityError

    with pytest.raises(IdentityError, match="add up to 6"):
        solve_linked(truth, structure, threshold=4, strict=True)
    sol = solve_linked(truth, structure, threshold=4)
    assert len(sol.dropped) == 1
    assert set(sol.withheld) == {("s", a, YEAR, "Black", "All") for a in FORCES}


def test_group_totals_and_officer_groups_are_solved_together():
    groups = ("Asian", "Black", "White")
    truth = {}
    values = dict(
        zip(itertools.product(groups, groups), [30, 2, 5, 3, 40, 1, 9, 6, 200], strict=True)
    )
    for (g, o), v in values.items():
        truth[("n", "Dorset", YEAR, g, o)] = v
    for g in groups:
        truth[("n", "Dorset", YEAR, g, "All")] = sum(values[(g, o)] for o in groups)
        truth[("n", "Dorset", YEAR, "All", g)] = sum(values[(o, g)] for o in groups)
    truth[("n", "Dorset", YEAR, "All", "All")] = sum(values.values())
    structure = Structure(groups=groups, officer_groups=groups)
    sol = solve_linked(truth, structure, threshold=4, strict=True)
    primary = {k for k, r in sol.withheld.items() if r == "primary"}
    assert len(primary) == 3  # 2, 3 and 1
    # a hand check of the classic 3x3 with margins: each withheld row and column holds two or
    # more withheld cells
    for g in groups:
        assert sum(1 for k in sol.withheld if k[3] == g and k[4] != "All") != 1
        assert sum(1 for k in sol.withheld if k[4] == g and k[3] != "All") != 1
