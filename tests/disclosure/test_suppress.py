"""Tests of primary and secondary suppression.

The protection tests do not trust the LP in :mod:`dispro.disclosure`: they read the published
table as the attacker of the docstring would (published cells and totals, ``[c]`` cells whole
numbers, at least 1 in the body when zeros are shown, ``[x]`` cells outside the totals, ``[z]``
cells zero) and search the whole-number completions of it by depth-first search.
"""

from __future__ import annotations

import doctest
import itertools
import time

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dispro.disclosure._suppress
from dispro.disclosure import (
    CONFIDENTIAL,
    LOW,
    MARKERS,
    NOT_APPLICABLE,
    NOT_AVAILABLE,
    STATUSES,
    TOTAL,
    suppress,
    suppression_mask,
)
from dispro.disclosure._suppress import _Grid, _recovered
from dispro.errors import ParameterError, ValidationError

# --------------------------------------------------------------------------------------------
# An independent attacker: whole-number completions of a published table


class Attacker:
    """What the published table `out` tells an attacker, and a search over its completions."""

    def __init__(self, out: pd.DataFrame, *, zeros: str, truth: pd.DataFrame):
        grid = out.to_numpy(dtype=object)
        n_rows, n_cols = grid.shape
        total_row = n_rows > 0 and out.index[-1] == TOTAL
        total_col = n_cols > 0 and out.columns[-1] == TOTAL
        body_rows, body_cols = n_rows - total_row, n_cols - total_col
        lines = []
        if total_col:
            lines += [
                [((r, c), 1) for c in range(body_cols)] + [((r, body_cols), -1)]
                for r in range(n_rows)
            ]
        if total_row:
            lines += [
                [((r, c), 1) for r in range(body_rows)] + [((body_rows, c), -1)]
                for c in range(n_cols)
            ]
        self.unknown = [
            (r, c) for r in range(n_rows) for c in range(n_cols) if grid[r, c] == CONFIDENTIAL
        ]
        position = {cell: k for k, cell in enumerate(self.unknown)}
        self.equations = []  # (constant, [(unknown index, coefficient), ...]); sum == 0
        for line in lines:
            constant, terms = 0, []
            for cell, coef in line:
                value = grid[cell]
                if value == CONFIDENTIAL:
                    terms.append((position[cell], coef))
                elif value not in (NOT_AVAILABLE, NOT_APPLICABLE):
                    assert isinstance(value, int)
                    constant += coef * value
            if terms:
                self.equations.append((constant, terms))
            else:
                assert constant == 0, f"published line {line} does not add up"
        # The attacker's bounds: body cells >= 1 when zeros are shown, and nothing exceeds the
        # grand total. When the grand total is withheld the search is capped just above the
        # truth: a restriction, so finding two values still proves the point.
        body_truth = truth.to_numpy(dtype=float)
        grand = int(np.nansum(body_truth))
        has_grand = total_row and (total_col or body_cols == 1)
        published_grand = grid[-1, -1] if has_grand else None
        self.cap = published_grand if isinstance(published_grand, int) else grand + 2
        self.low = [
            1 if zeros == "show" and r < body_rows and c < body_cols else 0 for r, c in self.unknown
        ]
        full = np.zeros((n_rows, n_cols))
        full[:body_rows, :body_cols] = np.nan_to_num(body_truth)
        if total_col:
            full[:, body_cols] = full[:, :body_cols].sum(axis=1)
        if total_row:
            full[body_rows, :] = full[:body_rows, :].sum(axis=0)
        self.truth = [int(full[cell]) for cell in self.unknown]

    def _bounds(self, x: list[int | None], terms, skip: int | None = None) -> tuple[int, int]:
        """The assigned part of an equation and the range of its other unassigned terms."""
        total, lo, hi = 0, 0, 0
        for k, a in terms:
            if k == skip:
                continue
            if x[k] is None:
                lo += min(a * self.low[k], a * self.cap)
                hi += max(a * self.low[k], a * self.cap)
            else:
                total += a * x[k]
        return total + lo, total + hi

    def _exists(self, fixed: dict[int, int]) -> bool:
        """Whether some completion agrees with `fixed` (depth-first, forward checking)."""
        n = len(self.unknown)
        x: list[int | None] = [None] * n
        for k, v in fixed.items():
            x[k] = v
        order = [k for k in range(n) if k not in fixed]
        equations_of = [
            [(c, t) for c, t in self.equations if any(j == k for j, _ in t)] for k in range(n)
        ]

        def consistent() -> bool:
            for constant, terms in self.equations:
                lo, hi = self._bounds(x, terms)
                if not constant + lo <= 0 <= constant + hi:
                    return False
            return True

        def search(depth: int) -> bool:
            if not consistent():
                return False
            if depth == len(order):
                return True
            k = order[depth]
            low, high = self.low[k], self.cap
            for constant, terms in equations_of[k]:  # a * x_k == -(constant + rest)
                a = dict(terms)[k]
                lo, hi = self._bounds(x, terms, skip=k)
                if a == 1:
                    low, high = max(low, -(constant + hi)), min(high, -(constant + lo))
                else:
                    low, high = max(low, constant + lo), min(high, constant + hi)
            # nearest the truth first: a quick way to a completion when there is one
            for v in sorted(range(low, high + 1), key=lambda v: abs(v - self.truth[k])):
                x[k] = v
                if search(depth + 1):
                    return True
            x[k] = None
            return False

        return all(self.low[k] <= v <= self.cap for k, v in fixed.items()) and search(0)

    def feasible_values(self, k: int, *, enough: int | None = None) -> list[int]:
        """Values of unknown `k` that extend to a completion (the first `enough` found)."""
        truth = self.truth[k]
        tries = sorted(range(self.low[k], self.cap + 1), key=lambda v: (abs(v - truth), v))
        found = []
        for v in tries:
            if self._exists({k: v}):
                found.append(v)
                if enough is not None and len(found) >= enough:
                    break
        return sorted(found)

    def recovered(self) -> list[tuple[int, int]]:
        """The withheld cells (grid positions) that have a single feasible value."""
        found = [self.feasible_values(k, enough=2) for k in range(len(self.unknown))]
        assert all(t in f for t, f in zip(self.truth, found, strict=True)), "truth infeasible"
        return [cell for cell, f in zip(self.unknown, found, strict=True) if len(f) < 2]


def random_table(rng: np.random.Generator, shape: tuple[int, int]) -> pd.DataFrame:
    small = rng.random(shape) < 0.45
    values = np.where(small, rng.integers(0, 5, shape), rng.integers(5, 16, shape))
    return pd.DataFrame(values)


def check_published(out: pd.DataFrame, table: pd.DataFrame) -> None:
    """Every published body cell equals the input, and every published total the true sum."""
    n_rows, n_cols = table.shape
    truth = table.to_numpy(dtype=float)
    body = out.iloc[:n_rows, :n_cols].to_numpy(dtype=object)
    for (r, c), value in np.ndenumerate(body):
        if isinstance(value, int):
            assert value == truth[r, c]
    if TOTAL in out.columns:
        for r, value in enumerate(out[TOTAL].iloc[:n_rows]):
            if isinstance(value, int):
                assert value == np.nansum(truth[r])
    if TOTAL in out.index:
        for c, value in enumerate(out.loc[TOTAL].iloc[:n_cols]):
            if isinstance(value, int):
                assert value == np.nansum(truth[:, c])


# --------------------------------------------------------------------------------------------
# Markers, primary suppression, output


def test_markers_are_the_analysis_function_symbols():
    assert (CONFIDENTIAL, NOT_AVAILABLE, NOT_APPLICABLE, LOW) == ("[c]", "[x]", "[z]", "[low]")
    assert MARKERS == {
        "confidential": "[c]",
        "not_available": "[x]",
        "not_applicable": "[z]",
        "low": "[low]",
    }
    assert STATUSES == ("", "primary", "secondary", "not_available", "not_applicable")


RAMP = pd.DataFrame(np.arange(24).reshape(4, 6), columns=list("abcdef"))  # 0..23


@pytest.mark.parametrize("threshold", [4, 10])
@pytest.mark.parametrize("zeros", ["show", "suppress"])
def test_primary_suppression(threshold, zeros):
    out = suppress(RAMP, threshold=threshold, zeros=zeros, secondary=False)
    values = RAMP.to_numpy()
    expected = (values <= threshold) & ((values > 0) | (zeros == "suppress"))
    status = out.attrs["suppression"]
    np.testing.assert_array_equal(status.to_numpy() == "primary", expected)
    assert not (status == "secondary").any().any()
    body = out.iloc[:4, :6]
    np.testing.assert_array_equal(body.to_numpy() == CONFIDENTIAL, expected)
    assert body.iloc[0, 0] == (CONFIDENTIAL if zeros == "suppress" else 0)
    # "fewer than 5" by default: 4 is suppressed, 5 is not
    default = suppress(RAMP, secondary=False)
    assert default.loc[0, "e"] == CONFIDENTIAL
    assert default.loc[0, "f"] == 5


def test_margins_are_the_true_sums_and_output_types():
    table = pd.DataFrame({"Black": [3, 40, 25], "White": [150, 210, 96]}, index=["K", "S", "X"])
    out = suppress(table, secondary=False)
    assert list(out.index) == ["K", "S", "X", TOTAL]
    assert list(out.columns) == ["Black", "White", TOTAL]
    assert out.loc[TOTAL].tolist() == [68, 456, 524]
    assert out[TOTAL].tolist() == [153, 250, 121, 524]
    assert out.dtypes.eq(object).all()
    assert all(type(v) is int for v in out.to_numpy().ravel() if v != CONFIDENTIAL)
    assert out.attrs["threshold"] == 4
    assert out.attrs["zeros"] == "show"
    status = out.attrs["suppression"]
    assert status.shape == table.shape
    assert status.index.equals(table.index) and status.columns.equals(table.columns)
    assert status.loc["K", "Black"] == "primary"
    assert (status.drop(index="K") == "").all().all()
    pd.testing.assert_frame_equal(suppression_mask(table, secondary=False), status)


def test_margins_false_needs_only_primary_suppression():
    table = pd.DataFrame([[3, 10], [20, 30]])
    out = suppress(table, margins=False)
    assert out.shape == (2, 2)
    assert out.to_numpy().tolist() == [[CONFIDENTIAL, 10], [20, 30]]
    assert (out.attrs["suppression"] != "secondary").all().all()


# --------------------------------------------------------------------------------------------
# Secondary suppression: worked examples


def test_a_single_suppression_is_recovered_from_its_total():
    table = pd.DataFrame([[3, 10], [20, 30]])
    primary_only = suppress(table, secondary=False)
    assert primary_only.iloc[0, 0] == CONFIDENTIAL
    assert primary_only.loc[0, TOTAL] - primary_only.loc[0, 1] == 3  # recovered
    assert Attacker(primary_only, zeros="show", truth=table).recovered() == [(0, 0)]
    out = suppress(table)
    status = out.attrs["suppression"].to_numpy().tolist()
    assert status == [["primary", "secondary"], ["secondary", "secondary"]]
    assert out[TOTAL].tolist() == [13, 50, 63]  # the totals stay published
    assert Attacker(out, zeros="show", truth=table).recovered() == []


def test_cycle_in_worked_example():
    # Kent/Asian is primary; the smallest cell in its row is Black (12). Asian then needs a
    # partner in its column and Black in theirs: Sussex (25 and 9) closes the rectangle.
    table = pd.DataFrame(
        {"Asian": [3, 40, 25], "Black": [12, 31, 9], "White": [150, 210, 96]},
        index=["Kent", "Surrey", "Sussex"],
    )
    status = suppress(table).attrs["suppression"]
    assert status.to_numpy().tolist() == [
        ["primary", "secondary", ""],
        ["", "", ""],
        ["secondary", "secondary", ""],
    ]


def test_all_ones_need_every_total_withheld_when_zeros_are_shown():
    # Four cells of at least 1 summing to a published 4 must all be 1; so must each row of two
    # summing to 2. Everything, totals included, has to go.
    table = pd.DataFrame([[1, 1], [1, 1]])
    out = suppress(table)
    assert (out == CONFIDENTIAL).all().all()
    assert Attacker(out, zeros="show", truth=table).recovered() == []
    # With zeros suppressed the cells may be 0, so 0/1/2 are all consistent with the totals.
    out = suppress(table, zeros="suppress")
    assert out[TOTAL].tolist() == [2, 2, 4]
    assert out.loc[TOTAL].tolist() == [2, 2, 4]
    assert Attacker(out, zeros="suppress", truth=table).recovered() == []


def test_a_total_is_withheld_when_its_line_cannot_protect_a_cell():
    # Row 0 is [2, 0, 0] with zeros shown: its total gives the 2 away, and the zeros may not be
    # withheld, so the row total itself must be.
    table = pd.DataFrame([[2, 0, 0], [10, 12, 30], [40, 11, 9]])
    out = suppress(table)
    assert out.loc[0, TOTAL] == CONFIDENTIAL
    assert out.loc[0, 1] == 0 and out.loc[0, 2] == 0
    check_published(out, table)
    assert Attacker(out, zeros="show", truth=table).recovered() == []


def test_one_dimensional_table():
    counts = pd.Series([3, 20, 30, 50], index=list("abcd"), name="n")
    out = suppress(counts)
    assert list(out.columns) == ["n"]  # no Total column repeating the column
    assert out["n"].tolist() == [CONFIDENTIAL, CONFIDENTIAL, 30, 50, 103]
    assert out.attrs["suppression"]["n"].tolist() == ["primary", "secondary", "", ""]
    assert Attacker(out, zeros="show", truth=counts.to_frame()).recovered() == []


@pytest.mark.parametrize(
    "table",
    [
        pd.DataFrame([[3, 20, 30]]),  # one row: its column totals repeat it
        pd.DataFrame([[3]]),  # one cell: only the total can protect it
        pd.DataFrame([[3], [0]]),  # one column, nothing else to withhold
        pd.DataFrame([[0, 2], [0, 9]]),
    ],
    ids=["one_row", "one_cell", "one_column_zero", "zero_column"],
)
def test_degenerate_shapes_are_protected(table):
    out = suppress(table)
    check_published(out, table)
    assert (out.attrs["suppression"] != "").any().any()
    assert Attacker(out, zeros="show", truth=table).recovered() == []


def test_one_cell_table_withholds_the_total():
    out = suppress(pd.DataFrame([[3]]))
    assert out.to_numpy().tolist() == [[CONFIDENTIAL], [CONFIDENTIAL]]


def test_all_zeros():
    table = pd.DataFrame(np.zeros((2, 3), dtype=int))
    shown = suppress(table)
    assert (shown == 0).all().all()
    assert (shown.attrs["suppression"] == "").all().all()
    hidden = suppress(table, zeros="suppress")
    assert (hidden == CONFIDENTIAL).all().all()  # published zero totals would give them away
    assert Attacker(hidden, zeros="suppress", truth=table).recovered() == []


def test_all_cells_small():
    table = pd.DataFrame([[1, 2, 3], [4, 1, 2], [3, 3, 1]])
    out = suppress(table)
    assert (out.attrs["suppression"] == "primary").all().all()
    check_published(out, table)
    assert Attacker(out, zeros="show", truth=table).recovered() == []


def test_empty_table():
    for table in (pd.DataFrame(), pd.DataFrame(columns=["a", "b"], dtype=int)):
        out = suppress(table)
        assert out.shape == table.shape
        assert out.attrs["suppression"].shape == table.shape


def test_not_available_cells():
    table = pd.DataFrame({"a": [3, np.nan, 20], "b": [50, 60, 70], "c": [2, 8, 9]})
    out = suppress(table)
    assert out.loc[1, "a"] == NOT_AVAILABLE
    assert out.attrs["suppression"].loc[1, "a"] == "not_available"
    assert out.loc[TOTAL, "a"] == 23  # totals are sums of the available counts
    assert out.loc[1, TOTAL] == 68
    check_published(out, table)
    assert Attacker(out, zeros="show", truth=table).recovered() == []
    # a missing count never protects: alone in its column but for an [x], the 3 would be given
    # away by the column total, so that total is withheld (and so, in turn, is another)
    lonely = pd.DataFrame({"a": [3, np.nan], "b": [40, 50]})
    out = suppress(lonely)
    assert out.to_numpy().tolist() == [
        [CONFIDENTIAL, CONFIDENTIAL, 43],
        [NOT_AVAILABLE, 50, 50],
        [CONFIDENTIAL, CONFIDENTIAL, 93],
    ]
    assert Attacker(out, zeros="show", truth=lonely).recovered() == []


def test_not_applicable_cells():
    table = pd.DataFrame({"a": [3, 0, 20], "b": [50, 60, 70], "c": [2, 8, np.nan]})
    mask = pd.DataFrame(False, index=table.index, columns=table.columns)
    mask.loc[1, "a"] = True
    mask.loc[2, "c"] = True  # NaN under the mask is structurally empty, not missing
    out = suppress(table, not_applicable=mask)
    assert out.loc[1, "a"] == NOT_APPLICABLE and out.loc[2, "c"] == NOT_APPLICABLE
    assert out.attrs["suppression"].loc[1, "a"] == "not_applicable"
    assert out.attrs["suppression"].loc[2, "c"] == "not_applicable"
    check_published(out, table)
    assert Attacker(out, zeros="show", truth=table).recovered() == []
    same = suppress(table, not_applicable=mask.to_numpy())
    pd.testing.assert_frame_equal(same, out)
    table.loc[1, "a"] = 5
    with pytest.raises(ValidationError, match="not applicable hold non-zero"):
        suppress(table, not_applicable=mask)
    with pytest.raises(ParameterError, match="boolean mask"):
        suppress(table, not_applicable=np.zeros((2, 2), dtype=bool))


def test_long_input_is_pivoted():
    long = pd.DataFrame(
        {
            "force": ["Kent", "Kent", "Kent", "Met", "Met", "Met", "Met"],
            "year": [2022, 2022, 2023, 2022, 2022, 2023, 2023],
            "ethnicity": ["Black", "White", "Black", "Black", "White", "Black", "White"],
            "n": [3, 40, 12, 100, 200, 50, 7],
        }
    )
    out = suppress(long, index=["force", "year"], columns="ethnicity", values="n")
    assert out.index[-1] == (TOTAL, "")
    assert out.loc[("Kent", 2023), "White"] == NOT_AVAILABLE  # absent, so never a zero
    wide = long.pivot(index=["force", "year"], columns="ethnicity", values="n")
    pd.testing.assert_frame_equal(out, suppress(wide))
    by_year = suppress(long, index="force", columns=["year", "ethnicity"], values="n")
    assert by_year.columns[-1] == (TOTAL, "")
    assert by_year.loc[TOTAL, (TOTAL, "")] == 412
    long["na"] = False
    long.loc[6, "na"] = True
    long.loc[6, "n"] = 0
    masked = suppress(
        long, index=["force", "year"], columns="ethnicity", values="n", not_applicable="na"
    )
    assert masked.loc[("Met", 2023), "White"] == NOT_APPLICABLE


def test_long_input_errors():
    long = pd.DataFrame({"force": ["Kent", "Kent"], "ethnicity": ["Black"] * 2, "n": [3, 4]})
    with pytest.raises(ValidationError, match="repeat a combination"):
        suppress(long, index="force", columns="ethnicity", values="n")
    with pytest.raises(ValidationError, match="'forse'.*did you mean 'force'"):
        suppress(long, index="forse", columns="ethnicity", values="n")
    with pytest.raises(ParameterError, match="needs both `index` and `columns`"):
        suppress(long, index="force", values="n")
    with pytest.raises(ParameterError, match="need `values`"):
        suppress(long, index="force", columns="ethnicity")


# --------------------------------------------------------------------------------------------
# Bad input


@pytest.mark.parametrize(
    ("column", "bad", "shown"),
    [
        ("White", -2, "-2 at row 'Met' (negative)"),
        ("White", 2.5, "2.5 at row 'Met' (not a whole number)"),
        ("White", np.inf, "inf at row 'Met' (not a whole number)"),
        ("Black", "a", "'a' at row 'Met' (not a number)"),
        ("Black", True, "True at row 'Met' (not a number)"),
    ],
)
def test_bad_counts_name_column_rows_and_values(column, bad, shown):
    table = pd.DataFrame({"White": [1, 2], "Black": [5, 6]}, index=["Kent", "Met"], dtype=object)
    table.loc["Met", column] = bad
    with pytest.raises(ValidationError) as info:
        suppress(table)
    assert f"column {column!r}" in str(info.value)
    assert shown in str(info.value)
    assert info.value.problems[["column", "row"]].values.tolist() == [[column, "Met"]]


def test_bad_counts_in_a_numeric_column_and_many_problems():
    table = pd.DataFrame({"White": -np.arange(1.0, 15.0)})
    with pytest.raises(ValidationError, match=r"-1\.0 at row 0 \(negative\).*and 4 more") as info:
        suppress(table)
    assert len(info.value.problems) == 14


@pytest.mark.parametrize("threshold", [-1, 2.5, True, "4", None])
def test_bad_threshold(threshold):
    with pytest.raises(ParameterError, match="`threshold` must be a non-negative integer"):
        suppress(RAMP, threshold=threshold)


def test_bad_zeros_and_flags():
    with pytest.raises(ParameterError, match=r"`zeros` must be one of \('show', 'suppress'\)"):
        suppress(RAMP, zeros="hide")
    with pytest.raises(ParameterError, match="`secondary` must be True or False"):
        suppress(RAMP, secondary="yes")
    with pytest.raises(ParameterError, match="DataFrame or Series"):
        suppress(RAMP.to_numpy())


def test_existing_total_is_refused():
    table = pd.DataFrame({"a": [1, 2], "b": [3, 4]}, index=["x", TOTAL])
    with pytest.raises(ValidationError, match="already has a 'Total' row"):
        suppress(table)
    assert suppress(table, margins=False).shape == (2, 2)


# --------------------------------------------------------------------------------------------
# Brute force: no withheld cell of a random table can be recovered


def brute_force_tables(n: int, seed: int):
    rng = np.random.default_rng(seed)
    shapes = [(r, c) for r in (2, 3) for c in (2, 3, 4)]
    for k in range(n):
        table = random_table(rng, shapes[k % len(shapes)])
        zeros = ("show", "suppress")[k % 2]
        threshold = (4, 4, 10)[k % 3]
        yield table, zeros, threshold


@pytest.mark.slow
def test_brute_force_no_withheld_cell_is_recovered():
    protected = 0
    for table, zeros, threshold in brute_force_tables(200, seed=20240607):
        out = suppress(table, threshold=threshold, zeros=zeros)
        check_published(out, table)
        attacker = Attacker(out, zeros=zeros, truth=table)
        assert attacker.recovered() == [], (table, out)
        protected += bool(attacker.unknown)
    assert protected > 150  # most tables have something to protect


@pytest.mark.slow
def test_brute_force_without_secondary_suppression_cells_are_recovered():
    # The same search finds cells given away by primary suppression alone (the test has power),
    # and exactly the cells that the LP of the module calls recovered.
    exposed = 0
    for table, zeros, threshold in brute_force_tables(200, seed=20240607):
        out = suppress(table, threshold=threshold, zeros=zeros, secondary=False)
        recovered = Attacker(out, zeros=zeros, truth=table).recovered()
        exposed += bool(recovered)
        values = table.to_numpy(dtype=float)
        primary = (out.attrs["suppression"] == "primary").to_numpy()
        grid = _Grid(
            values,
            np.ones(values.shape, dtype=bool),
            zeros=zeros,
            total_row=True,
            total_column=values.shape[1] > 1,
        )
        hidden = grid.embed(primary)
        by_lp = [
            divmod(int(k), grid.shape[1])
            for k in np.flatnonzero(hidden)
            if _recovered(grid, hidden, k)
        ]
        assert by_lp == recovered, (table, out)
    assert exposed > 100


def test_brute_force_with_missing_and_degenerate_shapes():
    rng = np.random.default_rng(7)
    shapes = [(1, 2), (1, 3), (2, 1), (3, 1), (2, 2), (2, 3), (3, 3)]
    for k in range(60):
        table = random_table(rng, shapes[k % len(shapes)]).astype(float)
        table[rng.random(table.shape) < 0.15] = np.nan
        zeros = ("show", "suppress")[k % 2]
        out = suppress(table, zeros=zeros)
        check_published(out, table)
        assert Attacker(out, zeros=zeros, truth=table).recovered() == [], (table, out)


def product_values(attacker: Attacker) -> list[set[int]]:
    """Each unknown's values over ALL completions, by a plain product over the domains."""
    n = len(attacker.unknown)
    domains = [range(attacker.low[k], attacker.cap + 1) for k in range(n)]
    values: list[set[int]] = [set() for _ in range(n)]
    for x in itertools.product(*domains):
        if all(c + sum(a * x[k] for k, a in terms) == 0 for c, terms in attacker.equations):
            for k in range(n):
                values[k].add(x[k])
    return values


@pytest.mark.slow
def test_attacker_search_matches_itertools_product():
    # The depth-first search of the Attacker against a plain product over the domains.
    cases = [
        (pd.DataFrame([[2, 7], [9, 3]]), "show", 4, True),
        (pd.DataFrame([[1, 1], [1, 1]]), "suppress", 4, True),
        (pd.DataFrame([[3, 10], [20, 30]]), "show", 4, False),
    ]
    for table, zeros, threshold in brute_force_tables(200, seed=20240607):
        for secondary in (True, False):
            out = suppress(table, threshold=threshold, zeros=zeros, secondary=secondary)
            attacker = Attacker(out, zeros=zeros, truth=table)
            if (
                2 <= len(attacker.unknown) <= 4
                and (attacker.cap + 1) ** len(attacker.unknown) < 1e5
            ):
                cases.append((table, zeros, threshold, secondary))
    assert len(cases) > 20
    single = 0
    for table, zeros, threshold, secondary in cases[:30]:
        out = suppress(table, threshold=threshold, zeros=zeros, secondary=secondary)
        attacker = Attacker(out, zeros=zeros, truth=table)
        expected = product_values(attacker)
        for k in range(len(attacker.unknown)):
            assert attacker.feasible_values(k) == sorted(expected[k]), (table, out)
        single += sum(len(v) == 1 for v in expected)
        assert attacker.recovered() == [
            cell for cell, v in zip(attacker.unknown, expected, strict=True) if len(v) == 1
        ]
    assert single > 0  # some cases have recovered cells, so both answers are compared


# --------------------------------------------------------------------------------------------
# Properties and performance


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.data(),
    shape=st.tuples(st.integers(1, 6), st.integers(1, 6)),
    threshold=st.integers(0, 10),
    zeros=st.sampled_from(["show", "suppress"]),
)
def test_property_published_cells_unaltered_and_small_cells_suppressed(
    data, shape, threshold, zeros
):
    cells = data.draw(
        st.lists(st.integers(0, 30), min_size=shape[0] * shape[1], max_size=shape[0] * shape[1])
    )
    table = pd.DataFrame(np.array(cells).reshape(shape))
    out = suppress(table, threshold=threshold, zeros=zeros)
    check_published(out, table)
    body = out.iloc[: shape[0], : shape[1]].to_numpy()
    values = table.to_numpy()
    small = (values <= threshold) & ((values > 0) | (zeros == "suppress"))
    assert (body[small] == CONFIDENTIAL).all()
    status = out.attrs["suppression"].to_numpy()
    assert ((status == "primary") == small).all()
    assert ((status == "secondary") == ((body == CONFIDENTIAL) & ~small)).all()
    if zeros == "show":
        assert (body[values == 0] == 0).all()  # zeros are never withheld when shown
    # a line with a total never has exactly one withheld cell
    grid = out.to_numpy()
    hidden = grid == CONFIDENTIAL
    if TOTAL in out.columns:
        assert (hidden.sum(axis=1) != 1).all()
    assert (hidden.sum(axis=0) != 1).all()


def test_deterministic():
    table = random_table(np.random.default_rng(3), (8, 5))
    pd.testing.assert_frame_equal(suppress(table), suppress(table))


@pytest.mark.parametrize("mean", [3, 8])
def test_fifty_by_ten_is_fast(mean):
    table = pd.DataFrame(np.random.default_rng(11).poisson(mean, (50, 10)))
    start = time.perf_counter()
    out = suppress(table)
    assert time.perf_counter() - start < 3.0
    check_published(out, table)
    hidden = (out == CONFIDENTIAL).to_numpy()
    assert (hidden.sum(axis=0) != 1).all() and (hidden.sum(axis=1) != 1).all()


def test_docstring_examples():
    result = doctest.testmod(dispro.disclosure._suppress, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0


# --------------------------------------------------------------------------------------------
# publishable: the one door from a result to a report table, figure or sheet
# --------------------------------------------------------------------------------------------


def test_publishable_primary_suppression_and_markers():
    from dispro.disclosure import publishable

    table = pd.DataFrame(
        {
            "group": ["White", "Black", "Asian", "Mixed", "Other"],
            "events": [1234, 3, 0, 12, np.nan],
            "base": [56789.5, 800.0, 900.0, 4.0, np.nan],
            "rate": [21.7296, 3.75, 0.0, 3000.0, np.nan],
            "significant": pd.array([pd.NA, True, False, True, pd.NA], dtype="boolean"),
            "status": ["ok", "ok", "zero_events", "suppressed", "no_base"],
            "note": ["", None, "x", "y", "no population"],
        }
    )
    before = table.copy()
    out = publishable(table, threshold=4)
    pd.testing.assert_frame_equal(table, before)  # the input is left alone
    assert all(dtype == np.dtype(object) for dtype in out.dtypes)
    # counts: thousands separators; 1 to 4 withheld; 0 shown; missing [x]; a fraction kept
    assert out["events"].tolist() == ["1,234", "[c]", "0", "12", "[x]"]
    assert out["base"].tolist() == ["56,789.5", "800", "900", "[c]", "[x]"]
    # floats at 2 decimals, [x] where missing; [c] in a row with a withheld count (derived:
    # 3 / 800 x 1,000 would give the 3 back) and in a row whose status is suppressed
    assert out["rate"].tolist() == ["21.73", "[c]", "0.00", "[c]", "[x]"]
    assert out["base"].tolist() == ["56,789.5", "800", "900", "[c]", "[x]"]
    assert out["significant"].tolist() == ["[x]", "[c]", "no", "[c]", "[x]"]
    assert out["note"].tolist() == ["", "[x]", "x", "y", "no population"]
    assert out["status"].tolist() == ["ok", "suppressed", "zero_events", "suppressed", "no_base"]
    # the log names each withheld cell and its rule, never a value
    assert {(e["row"]["group"], e["column"], e["rule"]) for e in out.attrs["log"]} == {
        ("Black", "events", "primary"), ("Black", "*", "derived"),
        ("Mixed", "base", "primary"), ("Mixed", "*", "derived"),
    }  # fmt: skip


def test_publishable_counts_option_threshold_and_upstream_markers():
    from dispro.disclosure import publishable

    table = pd.DataFrame({"n": [2, 50], "searches": [3, 7], "share": [0.5, 0.25]})
    # only the count columns named: 'searches' is then an ordinary integer column
    out = publishable(table, threshold=4, counts=("n",))
    assert out["n"].tolist() == ["[c]", "50"] and out["searches"].tolist() == ["3", "7"]
    assert publishable(table, threshold=4, counts=())["n"].tolist() == ["2", "50"]
    # threshold 0 withholds nothing
    assert publishable(table, threshold=0)["searches"].tolist() == ["3", "7"]
    # a count withheld upstream stays withheld
    marked = table.astype({"n": object})
    marked.loc[1, "n"] = CONFIDENTIAL
    assert publishable(marked, threshold=4)["n"].tolist() == ["[c]", "[c]"]
    # the share of a row with a withheld count is withheld with it (derived)
    assert publishable(table, threshold=4, decimals=3)["share"].tolist() == ["[c]", "0.250"]
    assert publishable(table, threshold=0, decimals=3)["share"].tolist() == ["0.500", "0.250"]


def _long(values: dict[tuple[str, str, str], int], status=None) -> pd.DataFrame:
    """A pack table: (area, period, group) -> events, with a rate and a status per row."""
    rows = [
        {"area": a, "period": p, "group": g, "events": n, "rate": n / 10.0, "status": "ok"}
        for (a, p, g), n in values.items()
    ]
    table = pd.DataFrame(rows)
    for key, s in (status or {}).items():
        table.loc[(table[["area", "period", "group"]].apply(tuple, axis=1) == key), "status"] = s
    return table


def test_publishable_secondary_suppression_across_areas_with_their_total():
    """White in two forces and two quarters, with the forces' total (W): one count of 3. The
    totals over quarters (each force's whole period) and over forces (W) are published, so the
    3 can only be hidden with the other three cells of the 2 x 2 (any fewer leaves a line with
    one hidden cell, which its total gives away); W's rows and the Black rows stay."""
    from dispro.disclosure import Margins, publishable, withheld_cells

    values = {}
    for group, cells in (("White", [3, 20, 30, 40]), ("Black", [15, 25, 35, 45])):
        for (a, p), n in zip(
            [("A", "Q1"), ("B", "Q1"), ("A", "Q2"), ("B", "Q2")], cells, strict=True
        ):
            values[(a, p, group)] = n
        values[("W", "Q1", group)] = cells[0] + cells[1]
        values[("W", "Q2", group)] = cells[2] + cells[3]
    table = _long(values, status={("B", "Q2", "Black"): "no_base"})
    margins = Margins(counts=("events",), total="W")
    withheld = withheld_cells(table, threshold=4, counts=("events",), margins=margins)["events"]
    expected = (table["group"] == "White") & (table["area"] != "W")
    assert withheld.tolist() == expected.tolist()
    out = publishable(table, threshold=4, counts=("events",), margins=margins)
    assert (out.loc[expected, "events"] == "[c]").all() and (
        out.loc[~expected, "events"] != "[c]"
    ).all()
    # a row with a withheld count is suppressed, and loses its rate
    assert (out.loc[expected, "status"] == "suppressed").all()
    assert (out.loc[expected, "rate"] == "[c]").all()
    assert out.loc[~expected, "status"].isin(["ok", "no_base"]).all()
    # with the reference: every row of an area-quarter whose White count is withheld goes too,
    # apart from a row without a base (it has no ratio to give away)
    out = publishable(table, threshold=4, counts=("events",), margins=margins, reference="White")
    black = out[(out["group"] == "Black") & (out["area"] != "W")].set_index(["area", "period"])
    assert (
        black.loc[("A", "Q1"), "status"] == "suppressed" and black.loc[("A", "Q1"), "rate"] == "[c]"
    )
    assert black.loc[("B", "Q2"), "status"] == "no_base"
    assert black.loc[("A", "Q1"), "events"] == "15"  # its own count is not withheld
    assert (out.loc[out["area"] == "W", "status"] == "ok").all()


def test_publishable_secondary_suppression_of_one_area_needs_only_its_period_total():
    """One force, no total row: its quarters add up to its whole period (published elsewhere),
    so a lone small quarter needs one more quarter hidden, the smallest other one."""
    from dispro.disclosure import Margins, publishable

    table = _long({("A", "Q1", "g"): 2, ("A", "Q2", "g"): 50, ("A", "Q3", "g"): 9})
    out = publishable(table, threshold=4, counts=("events",), margins=Margins(counts=("events",)))
    assert out["events"].tolist() == ["[c]", "50", "[c]"]
    assert out["status"].tolist() == ["suppressed", "ok", "suppressed"]
