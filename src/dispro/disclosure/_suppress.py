"""Primary and secondary suppression of one table of counts (:func:`suppress`)."""

from __future__ import annotations

import numbers
from collections.abc import Hashable, Sequence

import numpy as np
import pandas as pd

from ..errors import ParameterError, ValidationError, check_choice, did_you_mean
from ._markers import CONFIDENTIAL, NOT_APPLICABLE, NOT_AVAILABLE, TOTAL

_ZEROS = ("show", "suppress")
_MAX_LISTED = 10  # offending cells quoted in an error message


def suppress(
    table: pd.DataFrame | pd.Series,
    *,
    threshold: int = 4,
    secondary: bool = True,
    zeros: str = "show",
    margins: bool = True,
    index: Hashable | Sequence[Hashable] | None = None,
    columns: Hashable | Sequence[Hashable] | None = None,
    values: Hashable | None = None,
    not_applicable: pd.DataFrame | np.ndarray | Hashable | None = None,
) -> pd.DataFrame:
    """Suppress small counts in a table, and enough others that none can be recovered.

    Parameters
    ----------
    table : DataFrame or Series
        Non-negative whole counts, wide (rows by columns; a Series is one column) or, when
        `values` is given, long (one row per cell). NaN means the count is not available: it is
        published as ``[x]`` and left out of the totals.
    threshold : int, default 4
        Counts ``0 < n <= threshold`` are suppressed (primary suppression). The default 4 means
        "fewer than 5"; research outputs commonly use 10.
    secondary : bool, default True
        Suppress further cells so that no suppressed count can be recovered exactly from the
        published cells and totals (see Notes). ``False`` gives primary suppression only.
    zeros : {"show", "suppress"}, default "show"
        Publish zero counts, or suppress them as primary cells. Secondary suppression never
        withholds a zero when zeros are shown.
    margins : bool, default True
        Publish row totals, column totals and the grand total with the table, as a final
        ``"Total"`` row and column (a single-column table gets only the ``"Total"`` row, since its
        row totals would repeat the column). Totals are sums of the available counts. Secondary
        suppression protects against the totals, and suppresses a total too when a count cannot
        be protected otherwise. With ``False`` nothing constrains a suppressed cell, so primary
        suppression alone protects the table.
    index, columns : label or list of labels, optional
        With `values`: the columns of the long `table` that label the rows and the columns of the
        wide table.
    values : label, optional
        The column of the long `table` holding the counts. Combinations of `index` and `columns`
        absent from the long table are not available (``[x]``), never zero.
    not_applicable : DataFrame, array or label, optional
        Boolean mask of structurally empty cells, published as ``[z]`` and known to be zero: a
        DataFrame aligned on the wide table's labels (absent labels are False), an array of its
        shape, or, for a long `table`, the name of a boolean column of it.

    Returns
    -------
    DataFrame
        The published table, of dtype object: whole counts (``int``) where published, else
        ``"[c]"`` (suppressed), ``"[x]"`` (not available) or ``"[z]"`` (not applicable). Same
        index and columns as the wide table, plus the ``"Total"`` row and column when
        `margins` is True (``("Total", "", ...)`` on a MultiIndex). ``out.attrs`` holds:

        - ``"suppression"``: DataFrame of the wide table's shape (no margins) giving each
          cell's status, one of :data:`STATUSES`: ``""`` (published), ``"primary"``,
          ``"secondary"``, ``"not_available"``, ``"not_applicable"``. A suppressed total shows
          only as ``"[c]"`` in the table.
        - ``"threshold"`` and ``"zeros"``: the arguments used.

    Raises
    ------
    ValidationError
        If a count is negative, not a whole number or not a number (the message names the
        column, the rows and the values; ``.problems`` lists them all); if the long table lacks
        a named column or repeats a combination of `index` and `columns`; if the table already
        has a ``"Total"`` row or column; if a not-applicable cell holds a non-zero count.
    ParameterError
        If `threshold` is not a non-negative integer, `zeros` is not ``"show"`` or
        ``"suppress"``, `index`/`columns` are given without `values` or the mask is malformed.

    See Also
    --------
    suppression_mask : The status frame alone.

    Notes
    -----
    **Attacker model.** The attacker knows every published cell, every published total, that
    every ``[c]`` cell is a non-negative whole number and, when zeros are shown, that every
    ``[c]`` cell in the body of the table is at least 1. Totals are sums of the available counts,
    and the attacker is assumed to know this, so ``[x]`` cells neither constrain nor protect
    anything; ``[z]`` cells are known zeros. A suppressed cell is *recovered* when exactly one
    value is consistent with all of this. The method protects against exact recovery only: an
    attacker may still narrow a cell to a short range (for example, learn that it is 1 or 2).

    **Algorithm.** The table and its totals are treated as one grid whose lines (each row with
    its row total, each column with its column total, the totals row and the totals column with
    the grand total) sum to zero with signs. Primary cells are marked first. Then, until no
    suppressed cell is recovered:

    1. Pre-pass: a line with exactly one suppressed cell gives that cell away, so another cell
       of the line is suppressed.
    2. For each suppressed cell not yet known to be safe, the smallest and largest values
       consistent with the published cells, the line sums and the bounds above are found by
       linear programming (``scipy.optimize.linprog``, HiGHS); the cell is recovered exactly
       when they are equal. The LP gives the whole-number answer: once the equations of the
       totals row and the totals column are multiplied by -1 (which leaves the feasible set
       alone), every cell has the same coefficient, +1 or -1, on its row line and on its
       column line, so the constraint matrix is the incidence matrix of a bipartite graph
       (row lines and column lines) with some columns negated. It is therefore totally
       unimodular, and with whole-number totals and bounds every vertex of the feasible region,
       in particular every LP minimum and maximum, is a whole-number table. As a shortcut, rounds
       of two LPs first maximise and minimise the sum of the unchecked cells (capped above):
       any cell that a solution moves off its true value takes two values and is safe; the
       rounds repeat on the cells left while they settle any.
    3. A recovered cell gets a complementary suppression: a published cell on one of its lines
       that may be withheld (positive, or zero when zeros are suppressed; a zero is never
       withheld when zeros are shown), preferring cells of the body to totals, then cells whose
       other line already holds a suppressed cell (closing a cycle, which tends to protect
       several cells at once), then the smallest count, then the first in reading order. If
       its lines offer only totals, body cells one ring further out (on the lines of its
       suppressed neighbours) are preferred to them; if they offer nothing, the search widens
       ring by ring, which reaches its totals. A total is withheld only when no body cell will
       do, for example for a row ``[2, 0, 0]`` with zeros shown, or in a one-row table, whose
       column totals repeat it.

    Withholding a further cell can only widen every other cell's range, so a cell found safe
    stays safe and each cell needs checking only until it is. The procedure stops because
    withholding everything that may be withheld protects every cell. It is greedy, not optimal:
    it does not minimise the number or total of the cells withheld.

    pandas compares ``attrs`` when concatenating, and a DataFrame in ``attrs`` makes
    ``pd.concat`` of two different outputs fail; clear ``out.attrs`` first, or keep the
    statuses from :func:`suppression_mask`.

    Examples
    --------
    >>> import pandas as pd
    >>> from dispro.disclosure import suppress
    >>> counts = pd.DataFrame(
    ...     {"Asian": [3, 40, 25], "Black": [12, 31, 9], "White": [150, 210, 96]},
    ...     index=["Kent", "Surrey", "Sussex"],
    ... )
    >>> out = suppress(counts)
    >>> out
           Asian Black White Total
    Kent     [c]   [c]   150   165
    Surrey    40    31   210   281
    Sussex   [c]   [c]    96   130
    Total     68    52   456   576
    >>> out.attrs["suppression"].loc["Sussex", "Asian"]
    'secondary'
    >>> suppress(counts, threshold=10, margins=False).loc["Sussex"].tolist()
    [25, '[c]', 96]
    """
    _check_parameters(threshold=threshold, zeros=zeros, secondary=secondary, margins=margins)
    wide, mask = _to_wide(table, index=index, columns=columns, values=values, mask=not_applicable)
    counts = _validate_counts(wide)
    not_applicable_ = _not_applicable_mask(mask, wide, counts)
    unavailable = np.isnan(counts) & ~not_applicable_

    status = np.full(counts.shape, "", dtype=object)
    status[unavailable] = "not_available"
    status[not_applicable_] = "not_applicable"
    known = ~(unavailable | not_applicable_)
    filled = np.where(known, counts, 0.0)
    primary = known & (filled <= threshold) & ((filled > 0) | (zeros == "suppress"))
    status[primary] = "primary"

    empty = counts.size == 0
    total_row = margins and not empty
    total_column = margins and not empty and counts.shape[1] > 1
    if total_row or total_column:
        _check_no_total(wide, rows=total_row, columns=total_column)
    grid = _Grid(filled, known, zeros=zeros, total_row=total_row, total_column=total_column)
    hidden = grid.embed(primary)
    if secondary:
        hidden = _protect(grid, hidden)
    n_rows, n_cols = counts.shape
    body_hidden = hidden.reshape(grid.shape)[:n_rows, :n_cols]
    status[body_hidden & ~primary] = "secondary"

    cells = np.empty(grid.value.size, dtype=object)
    cells[:] = [int(v) for v in grid.value]
    cells = cells.reshape(grid.shape)
    cells[hidden.reshape(grid.shape)] = CONFIDENTIAL
    cells[:n_rows, :n_cols][unavailable] = NOT_AVAILABLE
    cells[:n_rows, :n_cols][not_applicable_] = NOT_APPLICABLE
    out = pd.DataFrame(
        cells,
        index=_with_total(wide.index) if total_row else wide.index,
        columns=_with_total(wide.columns) if total_column else wide.columns,
        dtype=object,
    )
    out.attrs["suppression"] = pd.DataFrame(
        status, index=wide.index, columns=wide.columns, dtype=object
    )
    out.attrs["threshold"] = threshold
    out.attrs["zeros"] = zeros
    return out


def suppression_mask(table: pd.DataFrame | pd.Series, **kwargs) -> pd.DataFrame:
    """Return the status of every cell under :func:`suppress`, without the published table.

    Parameters
    ----------
    table : DataFrame or Series
        As for :func:`suppress`.
    **kwargs
        Keyword options of :func:`suppress`.

    Returns
    -------
    DataFrame
        Of the wide table's shape, each cell one of :data:`STATUSES`: ``""`` (published),
        ``"primary"``, ``"secondary"``, ``"not_available"`` or ``"not_applicable"``.

    Raises
    ------
    ValidationError, ParameterError
        As for :func:`suppress`.

    Examples
    --------
    >>> import pandas as pd
    >>> from dispro.disclosure import suppression_mask
    >>> suppression_mask(pd.DataFrame({"a": [2, 9], "b": [7, 8]}))
               a          b
    0    primary  secondary
    1  secondary  secondary
    """
    return suppress(table, **kwargs).attrs["suppression"]


# --------------------------------------------------------------------------------------------
# Input handling


def _check_parameters(*, threshold, zeros, secondary, margins) -> None:
    if isinstance(threshold, bool) or not isinstance(threshold, numbers.Integral) or threshold < 0:
        raise ParameterError(
            f"`threshold` must be a non-negative integer, but {threshold!r} was passed"
        )
    check_choice("zeros", zeros, _ZEROS)
    for name, flag in (("secondary", secondary), ("margins", margins)):
        if not isinstance(flag, bool | np.bool_):
            raise ParameterError(f"`{name}` must be True or False, but {flag!r} was passed")


def _as_list(labels) -> list:
    return list(labels) if isinstance(labels, list | tuple) else [labels]


def _unwrap(labels):
    """A list of labels for pivot, or the single label (so that one key gives a flat index)."""
    labels = _as_list(labels)
    return labels[0] if len(labels) == 1 else labels


def _plain(value):
    """The value as Python would print it (``-2.0``, not ``np.float64(-2.0)``)."""
    return value.item() if isinstance(value, np.generic) else value


def _to_wide(table, *, index, columns, values, mask):
    """Return the wide table and the not-applicable mask in a wide-aligned form."""
    if isinstance(table, pd.Series):
        if values is not None:
            raise ParameterError("`values` needs a long DataFrame, but a Series was passed")
        table = table.to_frame()
    if not isinstance(table, pd.DataFrame):
        raise ParameterError(
            f"`table` must be a pandas DataFrame or Series, but {type(table).__name__} was passed"
        )
    if values is None:
        if index is not None or columns is not None:
            raise ParameterError(
                "`index` and `columns` name the columns of a long table and need `values`"
            )
        return table, mask
    if index is None or columns is None:
        raise ParameterError("a long table (`values` given) needs both `index` and `columns`")
    keys = _as_list(index) + _as_list(columns)
    wanted = [(values, "`values`")] + [(k, "`index`/`columns`") for k in keys]
    if isinstance(mask, str):
        wanted.append((mask, "`not_applicable`"))
    for label, given_as in wanted:
        if label not in table.columns:
            raise ValidationError(
                f"column {label!r} (given as {given_as}) is not in the data"
                f"{did_you_mean(str(label), table.columns)}"
            )
    repeated = table.duplicated(subset=keys, keep=False)
    if repeated.any():
        shown = table.loc[repeated, keys].drop_duplicates().head(_MAX_LISTED)
        listed = ", ".join(str(tuple(r)) for r in shown.itertuples(index=False))
        raise ValidationError(
            f"{int(repeated.sum())} rows of the long table repeat a combination of {keys}: "
            f"{listed}; aggregate the counts first",
            problems=table.loc[repeated],
        )
    idx = _unwrap(index)
    cols = _unwrap(columns)
    wide = table.pivot(index=idx, columns=cols, values=values)
    if isinstance(mask, str):
        flags = table[mask]
        if not pd.api.types.is_bool_dtype(flags.dtype):
            raise ParameterError(
                f"column {mask!r} (given as `not_applicable`) must be boolean, "
                f"but has dtype {flags.dtype}"
            )
        mask = table.pivot(index=idx, columns=cols, values=mask)
        mask = mask.reindex(index=wide.index, columns=wide.columns).isin([True])
    return wide, mask


def _column_as_float(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Return the column as floats (NaN where missing) and a mask of non-numeric entries."""
    n = len(column)
    if pd.api.types.is_bool_dtype(column.dtype):
        return np.full(n, np.nan), column.notna().to_numpy()
    if pd.api.types.is_numeric_dtype(column.dtype):
        return column.to_numpy(dtype=float, na_value=np.nan), np.zeros(n, dtype=bool)
    out = np.full(n, np.nan)
    bad = np.zeros(n, dtype=bool)
    for k, item in enumerate(column.to_numpy(dtype=object)):
        if isinstance(item, numbers.Real) and not isinstance(item, bool | np.bool_):
            out[k] = float(item)
        elif not (pd.api.types.is_scalar(item) and pd.isna(item)):
            bad[k] = True
    return out, bad


def _validate_counts(wide: pd.DataFrame) -> np.ndarray:
    """Return the counts as a float array (NaN = not available), or raise ValidationError."""
    counts = np.empty(wide.shape)
    problems = []
    for j, name in enumerate(wide.columns):
        column = wide.iloc[:, j]
        as_float, non_numeric = _column_as_float(column)
        counts[:, j] = as_float
        with np.errstate(invalid="ignore"):
            negative = as_float < 0
            fractional = (
                ~np.isnan(as_float)
                & ~negative
                & (np.isinf(as_float) | (as_float != np.round(as_float)))
            )
        for kind, flag in (
            ("not a number", non_numeric),
            ("negative", negative),
            ("not a whole number", fractional),
        ):
            for k in np.flatnonzero(flag):
                problems.append((name, wide.index[k], column.iloc[k], kind))
    if problems:
        table = pd.DataFrame(problems, columns=["column", "row", "value", "problem"])
        parts = []
        for name, group in table.head(_MAX_LISTED).groupby("column", sort=False):
            cells = ", ".join(
                f"{_plain(value)!r} at row {_plain(row)!r} ({problem})"
                for row, value, problem in group[["row", "value", "problem"]].itertuples(
                    index=False
                )
            )
            parts.append(f"column {_plain(name)!r}: {cells}")
        more = len(problems) - _MAX_LISTED
        raise ValidationError(
            "counts must be non-negative whole numbers (NaN where not available); "
            + "; ".join(parts)
            + (f"; and {more} more (see .problems)" if more > 0 else ""),
            problems=table,
        )
    return counts


def _not_applicable_mask(mask, wide: pd.DataFrame, counts: np.ndarray) -> np.ndarray:
    if mask is None:
        return np.zeros(counts.shape, dtype=bool)
    if isinstance(mask, pd.DataFrame):
        mask = mask.reindex(index=wide.index, columns=wide.columns, fill_value=False)
    array = np.asarray(mask)
    if array.shape != counts.shape or array.dtype != bool:
        raise ParameterError(
            f"`not_applicable` must be a boolean mask of the table's shape {counts.shape}, "
            f"but one of shape {array.shape} and dtype {array.dtype} was passed"
        )
    clash = array & ~np.isnan(counts) & (counts != 0)
    if clash.any():
        rows, cols = np.nonzero(clash)
        listed = ", ".join(
            f"{counts[r, c]:g} at ({wide.index[r]!r}, {wide.columns[c]!r})"
            for r, c in zip(rows[:_MAX_LISTED], cols[:_MAX_LISTED], strict=True)
        )
        raise ValidationError(
            f"{len(rows)} cells marked not applicable hold non-zero counts: {listed}"
        )
    return array


def _check_no_total(wide: pd.DataFrame, *, rows: bool, columns: bool) -> None:
    for axis, labels, check in (("row", wide.index, rows), ("column", wide.columns, columns)):
        first = labels.get_level_values(0) if isinstance(labels, pd.MultiIndex) else labels
        if check and (first == TOTAL).any():
            raise ValidationError(
                f"the table already has a {TOTAL!r} {axis}; pass the table without its totals "
                "(they are computed and published by `margins=True`)"
            )


def _with_total(labels: pd.Index) -> pd.Index:
    if isinstance(labels, pd.MultiIndex):
        total = (TOTAL,) + ("",) * (labels.nlevels - 1)
        return labels.append(pd.MultiIndex.from_tuples([total], names=labels.names))
    return labels.append(pd.Index([TOTAL], name=labels.name))


# --------------------------------------------------------------------------------------------
# Secondary suppression


class _Grid:
    """The table body and its totals as one grid of cells, and the lines that sum to zero.

    Cells are numbered in reading order over the grid (body, then the totals column on the
    right and the totals row at the bottom). ``lines`` is the signed incidence matrix: line
    ``l`` states ``lines[l] @ x == 0`` (body cells +1, the line's total -1). Cells that are not
    available or not applicable are left out of every line.
    """

    def __init__(self, filled, known, *, zeros, total_row, total_column):
        n_rows, n_cols = filled.shape
        rows, cols = n_rows + total_row, n_cols + total_column
        self.shape = (rows, cols)
        value = np.zeros(self.shape)
        value[:n_rows, :n_cols] = filled
        may_hide = np.zeros(self.shape, dtype=bool)  # cells that may be withheld at all
        body_ok = known & ((filled > 0) | (zeros == "suppress"))
        may_hide[:n_rows, :n_cols] = body_ok
        lower = np.zeros(self.shape)
        lower[:n_rows, :n_cols] = 1.0 if zeros == "show" else 0.0
        rank = np.ones(self.shape, dtype=int)  # 0 body, 1 total, 2 grand total
        rank[:n_rows, :n_cols] = 0
        member = np.ones(self.shape)
        member[:n_rows, :n_cols] = known
        lines = []
        if total_column:
            value[:n_rows, n_cols] = filled.sum(axis=1)
            may_hide[:n_rows, n_cols] = body_ok.any(axis=1)
            for i in range(rows):
                line = np.zeros(self.shape)
                line[i, :n_cols] = 1.0
                line[i, n_cols] = -1.0
                lines.append(line)
        if total_row:
            value[n_rows, :n_cols] = filled.sum(axis=0)
            may_hide[n_rows, :n_cols] = body_ok.any(axis=0)
            for j in range(cols):
                line = np.zeros(self.shape)
                line[:n_rows, j] = 1.0
                line[n_rows, j] = -1.0
                lines.append(line)
        if total_row and total_column:
            value[n_rows, n_cols] = filled.sum()
            may_hide[n_rows, n_cols] = body_ok.any()
            rank[n_rows, n_cols] = 2
        self.body_shape = (n_rows, n_cols)
        self.value = value.ravel()
        self.may_hide = may_hide.ravel()
        self.lower = lower.ravel()
        self.rank = rank.ravel()
        self.lines = np.array([line.ravel() * member.ravel() for line in lines]).reshape(
            len(lines), rows * cols
        )
        self.on_line = self.lines != 0
        self.lines_of = [np.flatnonzero(self.on_line[:, k]) for k in range(rows * cols)]

    def embed(self, body_mask: np.ndarray) -> np.ndarray:
        """Return a flat grid mask that is `body_mask` on the body and False on the totals."""
        full = np.zeros(self.shape, dtype=bool)
        n_rows, n_cols = self.body_shape
        full[:n_rows, :n_cols] = body_mask
        return full.ravel()


def _protect(grid: _Grid, hidden: np.ndarray) -> np.ndarray:
    """Add complementary suppressions until no hidden cell can be recovered."""
    hidden = hidden.copy()
    safe = np.zeros_like(hidden)
    order = np.lexsort((np.arange(hidden.size), grid.rank))  # body first, reading order
    while True:
        _close_lonely_lines(grid, hidden)
        while (hidden & ~safe).any():  # shortcut rounds, while they settle cells
            varies = _shown_to_vary(grid, hidden, hidden & ~safe)
            if not varies.any():
                break
            safe |= varies
        for cell in order[hidden[order] & ~safe[order]]:
            if _recovered(grid, hidden, cell):
                hidden[_complement(grid, hidden, cell)] = True
                break
            safe[cell] = True
        else:
            return hidden


def _close_lonely_lines(grid: _Grid, hidden: np.ndarray) -> None:
    """Pre-pass: while some line has exactly one hidden cell, hide another cell on it."""
    while True:
        lonely = np.flatnonzero(grid.on_line @ hidden.astype(int) == 1)
        if lonely.size == 0:
            return
        line = lonely[0]
        cell = np.flatnonzero(grid.on_line[line] & hidden)[0]
        hidden[_complement(grid, hidden, cell, line=line)] = True


def _system(grid: _Grid, hidden: np.ndarray):
    """The LP constraints on the hidden cells: ``a_eq @ x == b_eq``, ``x >= lower``."""
    var = np.flatnonzero(hidden)
    active = grid.on_line[:, var].any(axis=1)
    a_eq = grid.lines[active][:, var]
    b_eq = -grid.lines[active][:, ~hidden] @ grid.value[~hidden]
    return var, a_eq, b_eq, grid.lower[var]


def _solve(objective, a_eq, b_eq, bounds):
    from scipy.optimize import linprog

    result = linprog(objective, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
    if result.status not in (0, 3):  # optimal or unbounded; the true table is always feasible
        raise RuntimeError(f"disclosure LP failed unexpectedly: {result.message}")
    return result


def _shown_to_vary(grid: _Grid, hidden: np.ndarray, todo: np.ndarray) -> np.ndarray:
    """Cells of `todo` that some feasible table sets away from their true value.

    A shortcut before the cell-by-cell LPs: maximise, then minimise, the sum of the `todo`
    cells (capped above, so that the LP is bounded; a capped region is a subset of the feasible
    one). Any cell that differs from its true value in a solution takes two or more values.
    """
    var, a_eq, b_eq, lower = _system(grid, hidden)
    if a_eq.shape[0] == 0:
        return todo.copy()
    cap = 2.0 * grid.value.max() + 1.0
    bounds = np.column_stack([lower, np.full(var.size, cap)])
    weights = todo[var].astype(float)
    varies = np.zeros_like(todo)
    for sign in (-1.0, 1.0):
        result = _solve(sign * weights, a_eq, b_eq, bounds)
        varies[var] |= np.abs(result.x - grid.value[var]) > 0.5
    return varies & todo


def _recovered(grid: _Grid, hidden: np.ndarray, cell: int) -> bool:
    """Whether the hidden `cell` has a single feasible value: its LP maximum and minimum."""
    if grid.lines_of[cell].size == 0:
        return False
    var, a_eq, b_eq, lower = _system(grid, hidden)
    bounds = np.column_stack([lower, np.full(var.size, np.inf)])
    objective = np.zeros(var.size)
    k = np.searchsorted(var, cell)
    for sign in (-1.0, 1.0):  # maximise, then minimise
        objective[k] = sign
        result = _solve(objective, a_eq, b_eq, bounds)
        if result.status == 3 or abs(sign * result.fun - grid.value[cell]) > 0.5:
            return False  # unbounded above, or an extreme other than the true value
    return True


def _complement(grid: _Grid, hidden: np.ndarray, cell: int, *, line: int | None = None) -> int:
    """Choose the published cell to hide so as to protect `cell` (on `line`, if given).

    The search widens ring by ring: the cells on the cell's lines (or on `line`), then the
    cells on their lines, and so on. It stops at the first ring holding a body cell that may be
    withheld, or, when only totals have been found, one ring further for `cell` (a body cell
    there closes a cycle through a withheld neighbour) and at once for a lonely `line`.
    """
    lines = grid.lines_of[cell] if line is None else np.array([line])
    seen = np.zeros(grid.lines.shape[0], dtype=bool)
    reached = np.zeros_like(hidden)
    found: list[tuple[int, int]] = []  # (ring, candidate)
    ring = 0
    while lines.size:
        ring += 1
        seen[lines] = True
        cells = grid.on_line[lines].any(axis=0) & ~reached
        reached |= cells
        found += [(ring, c) for c in np.flatnonzero(cells & grid.may_hide & ~hidden)]
        body_found = any(grid.rank[c] == 0 for _, c in found)
        if found and (body_found or line is not None or ring >= 2):
            break
        lines = np.flatnonzero(grid.on_line[:, cells].any(axis=1) & ~seen)
    if not found:
        raise RuntimeError(f"no cell is left to protect cell {cell}; this is a bug in dispro")
    return min(found, key=lambda rc: _preference(grid, hidden, cell, *rc))[1]


def _preference(grid: _Grid, hidden: np.ndarray, cell: int, ring: int, candidate: int) -> tuple:
    shared = np.intersect1d(grid.lines_of[candidate], grid.lines_of[cell])
    other = np.setdiff1d(grid.lines_of[candidate], shared)
    others_hidden = grid.on_line[other].any(axis=0) & hidden
    others_hidden[cell] = False
    closes_cycle = others_hidden.any()
    return (grid.rank[candidate], ring, not closes_cycle, grid.value[candidate], candidate)
