"""Secondary suppression over linked tables: every count a report (or a batch of reports)
publishes, solved at once.

Each published count is a *cell* of a cube: a measure (what is counted, e.g. person searches,
hits), an area (a force, or an aggregate such as Wessex), a period (a run of months), a group
(an ethnic group, or ``All``) and an officer-defined group (or ``All``). The cube's structure
gives the linear relations an attacker knows:

- an aggregate area is the sum of its forces;
- a period is the sum of the blocks it spans (the blocks are the finest runs of months that
  every published period is made of);
- ``All`` is the sum of the groups;
- a measure is the sum of the parts of each of its declared partitions (person searches = the
  searches kept for the hit rate + the searches left out of it; a base = its events + the rest).

The cells a table publishes and every cell these relations reach (unpublished ones included)
are the unknowns of one system; the published values fix some of them. A count is *protected*
when it is published from 1 to ``threshold`` (primary) or, unpublished, can be worked out from
what is published and lies from 1 to ``threshold`` (a complement, an exclusion, a difference of
two tables). Cells are withheld until, for every protected count, the attacker's linear
programme (every relation, every count >= 0, each primary-withheld count from 1 to
``threshold``, the published counts as given) leaves it free over the whole of 1 to
``threshold``, and no withheld count is determined exactly.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

ALL = "All"

#: A cell's key: (measure, area, (first month, last month), group, officer group); months are
#: ordinals (year * 12 + month - 1).
Key = tuple


@dataclass
class Structure:
    """What the cube's dimensions are made of.

    ``areas`` maps an aggregate area to its parts (e.g. ``{"Wessex": ("Dorset", ...)}``);
    ``groups`` and ``officer_groups`` are every value that ``All`` sums; ``partitions`` maps a
    measure to its partitions, each a tuple of measures that add up to it.
    """

    areas: Mapping[str, Sequence[str]] = field(default_factory=dict)
    groups: Sequence[str] = ()
    officer_groups: Sequence[str] = ()
    partitions: Mapping[str, Sequence[Sequence[str]]] = field(default_factory=dict)


@dataclass
class Solution:
    """The withheld cells (key -> rule) and the figures of the solve."""

    withheld: dict
    protected: dict
    variables: int
    relations: int
    lps: int
    dropped: list = field(default_factory=list)
    unresolved: list = field(default_factory=list)


class IdentityError(ValueError):
    """A declared relation does not hold on the published values (a wrong declaration)."""


def _blocks(periods: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """The finest runs of months every period is a union of."""
    cuts = set()
    for a, b in periods:
        cuts.add(a)
        cuts.add(b + 1)
    points = sorted(cuts)
    return [(points[i], points[i + 1] - 1) for i in range(len(points) - 1)]


class _System:
    """The unknowns (cells) and the relations (each ``parent = sum(children)``)."""

    def __init__(self, published: Mapping[Key, int], structure: Structure):
        self.structure = structure
        self.index: dict[Key, int] = {}
        self.keys: list[Key] = []
        self.relations: list[tuple[int, tuple[int, ...]]] = []
        periods = {k[2] for k in published}
        self.blocks = _blocks(periods)
        self._published = list(published)
        seeds = list(published)
        for k in published:  # the measures it is a part of that link it to another published
            seeds += [(m, *k[1:]) for m in self._linking(k)]
        todo = [self._id(k) for k in seeds]
        seen = set()
        while todo:
            i = todo.pop()
            if i in seen:
                continue
            seen.add(i)
            for children in self._expand(self.keys[i]):
                ids = tuple(self._id(c) for c in children)
                self.relations.append((i, ids))
                todo.extend(ids)

    def _linking(self, key: Key) -> set[str]:
        """The measures ``key``'s measure is a part of (at any depth) whose other parts, or
        themselves, are published at a key comparable with ``key`` (one inside the other)."""
        out, todo = set(), [key[0]]
        while todo:
            m = todo.pop()
            for parent, parts in self.structure.partitions.items():
                if parent in out or not any(m in q for q in parts):
                    continue
                related = (self._down(parent) | {parent}) - ({m} | self._down(m))
                if any(p[0] in related and self._comparable(p, key) for p in self._published):
                    out.add(parent)
                todo.append(parent)
        return out

    def _comparable(self, a: Key, b: Key) -> bool:
        inside = all(self._inside(d, a[d], b[d]) for d in (1, 2, 3, 4))
        return inside or all(self._inside(d, b[d], a[d]) for d in (1, 2, 3, 4))

    def _inside(self, dim: int, inner, outer) -> bool:
        """Whether value ``inner`` of dimension ``dim`` is ``outer`` or one of its parts."""
        if inner == outer:
            return True
        if dim == 1:
            return inner in self.structure.areas.get(outer, ())
        if dim == 2:
            return outer[0] <= inner[0] and inner[1] <= outer[1]
        return outer == ALL

    def _below(self, key: Key, dim: int | None) -> bool:
        """Whether a published cell lies under ``key``: of the same measure and strictly inside
        it in dimension ``dim`` (or, when ``dim`` is None, of a part of its measure), and
        inside it in every other dimension."""
        below = self._down(key[0])
        for p in self._published:
            if dim is None and p[0] not in below:
                continue
            if dim is not None and p[0] != key[0]:
                continue
            if dim is not None and (p[dim] == key[dim] or not self._inside(dim, p[dim], key[dim])):
                continue
            if all(self._inside(d, p[d], key[d]) for d in (1, 2, 3, 4) if d != dim):
                return True
        return False

    def _down(self, measure: str) -> set[str]:
        """The measures ``measure`` is made of, at any depth (not itself)."""
        cache = self.__dict__.setdefault("_downs", {})
        if measure not in cache:
            cache[measure] = self._walk_down(measure)
        return cache[measure]

    def _walk_down(self, measure: str) -> set[str]:
        out, todo = set(), [measure]
        while todo:
            m = todo.pop()
            for part in self.structure.partitions.get(m, ()):
                for q in part:
                    if q not in out:
                        out.add(q)
                        todo.append(q)
        return out

    def _id(self, key: Key) -> int:
        i = self.index.get(key)
        if i is None:
            i = self.index[key] = len(self.keys)
            self.keys.append(key)
        return i

    def _expand(self, key: Key):
        """The relations with ``key`` as the parent, downward only (so the closure is finite),
        and only towards a published cell (a relation among unpublished cells alone tells an
        attacker nothing)."""
        measure, area, period, group, officer = key
        s = self.structure
        parts = s.areas.get(area)
        if parts and self._below(key, 1):
            yield [(measure, a, period, group, officer) for a in parts]
        inside = [b for b in self.blocks if period[0] <= b[0] and b[1] <= period[1]]
        if len(inside) > 1 and self._below(key, 2):
            yield [(measure, area, b, group, officer) for b in inside]
        if group == ALL and s.groups and self._below(key, 3):
            yield [(measure, area, period, g, officer) for g in s.groups]
        if officer == ALL and s.officer_groups and self._below(key, 4):
            yield [(measure, area, period, group, o) for o in s.officer_groups]
        if s.partitions.get(measure) and self._below(key, None):
            for partition in s.partitions[measure]:
                yield [(m, area, period, group, officer) for m in partition]

    def _family(self, measure: str) -> set[str]:
        cache = self.__dict__.setdefault("_families", {})
        if measure not in cache:
            cache[measure] = self._reach(measure)
        return cache[measure]

    def _reach(self, measure: str) -> set[str]:
        s = self.structure
        family, todo = set(), [measure]
        while todo:
            m = todo.pop()
            if m in family:
                continue
            family.add(m)
            for partition in s.partitions.get(m, ()):
                todo.extend(partition)
            todo.extend(p for p, parts in s.partitions.items() if any(m in q for q in parts))
        return family

    @property
    def rel_of(self) -> list[list[int]]:
        """The relations each cell is in."""
        if getattr(self, "_rel_of", None) is None:
            rel_of: list[list[int]] = [[] for _ in self.keys]
            for r, (parent, children) in enumerate(self.relations):
                rel_of[parent].append(r)
                for c in children:
                    rel_of[c].append(r)
            self._rel_of = rel_of
        return self._rel_of

    def drop(self, relations: list[int]) -> None:
        """Leave out these relations."""
        gone = set(relations)
        self.dropped = [self.relations[r] for r in relations]
        self.relations = [rel for r, rel in enumerate(self.relations) if r not in gone]
        self._rel_of = None

    def matrix(self):
        """The relations as a sparse matrix ``A`` with ``A @ x == 0``."""
        from scipy import sparse

        rows, cols, vals = [], [], []
        for r, (parent, children) in enumerate(self.relations):
            rows.append(r)
            cols.append(parent)
            vals.append(-1.0)
            for c in children:
                rows.append(r)
                cols.append(c)
                vals.append(1.0)
        return sparse.csr_matrix(
            (vals, (rows, cols)), shape=(len(self.relations), len(self.keys))
        ).tocsc()


def _determined(system: _System, known: dict[int, float]) -> dict[int, float]:
    """Values the relations determine from ``known`` (a relation with one unknown member
    gives it), repeated until nothing more follows."""
    known = dict(known)
    members = [(p, ch) for p, ch in system.relations]
    changed = True
    while changed:
        changed = False
        for parent, children in members:
            unknown = [c for c in (parent, *children) if c not in known]
            if len(unknown) != 1:
                continue
            u = unknown[0]
            total = sum(known[c] for c in children if c in known)
            known[u] = known[parent] - total if u != parent else total
            changed = True
    return known


class _Attacker:
    """The attacker's linear programme over the cells not published as values."""

    def __init__(self, system: _System, values: dict[int, float], threshold: int, bound: float):
        self.system = system
        self.values = values
        self.threshold = threshold
        self.bound = bound
        self.a = system.matrix()
        self.lps = 0

    def range(self, cell: int, free: set[int], withheld: set[int]) -> tuple[float, float]:
        """Min and max of ``cell`` given every value outside ``free``.

        Every count is at least 0 (a zero may be withheld to protect another); the attacker is
        not told which withheld counts are small (the suppression log does not say), so none is
        capped at ``threshold``."""
        from scipy.optimize import linprog

        var = self._component(cell, free)
        if len(var) == 0 or cell not in var:
            v = self.values.get(cell)
            return (v, v) if v is not None else (0.0, np.inf)
        idx = np.array(sorted(var))
        a = self.a
        sub = a[:, idx]
        rows = np.unique(sub.nonzero()[0])
        if rows.size == 0:
            return (0.0, self.bound)
        fixed = np.setdiff1d(np.unique(a[rows].nonzero()[1]), idx)
        b = (
            -(a[rows][:, fixed] @ np.array([self.values[j] for j in fixed]))
            if fixed.size
            else (np.zeros(rows.size))
        )
        a_eq = sub[rows]
        lower = np.zeros(idx.size)
        upper = np.full(idx.size, self.bound)
        k = int(np.searchsorted(idx, cell))
        c = np.zeros(idx.size)
        out = []
        for sign in (1.0, -1.0):
            c[k] = sign
            self.lps += 1
            res = linprog(c, A_eq=a_eq, b_eq=b, bounds=np.column_stack([lower, upper]),
                          method="highs")  # fmt: skip
            if res.status == 3:
                out.append(sign * np.inf)
            elif res.status != 0:  # the relations contradict the published values: a wrong
                v = self.values.get(cell, 0.0)  # declaration; the cell is not called safe
                return (v, v)
            else:
                out.append(sign * res.fun)
        return out[0], out[1]

    def cover(self, cell: int, target: float, withheld: set[int], shown: dict) -> set[int]:
        """The published cells to withhold so that ``cell`` can take the value ``target``:
        the cheapest feasible table with ``cell`` at ``target`` (each published count moved
        costs its value + 1 per unit, so small counts are withheld first, and a zero only when
        nothing else will do), and the published counts it moves. Empty when no table reaches ``target``."""
        from scipy import sparse
        from scipy.optimize import linprog

        comp = self._component(cell, set(range(len(self.system.keys))))
        idx = np.array(sorted(comp))
        n = idx.size
        pos = {j: i for i, j in enumerate(idx)}
        sub = self.a[:, idx]
        rows = np.unique(sub.nonzero()[0])
        pub = [j for j in idx if j in shown and j not in withheld and j != cell]
        m = len(pub)
        relations = sparse.hstack([sub[rows], sparse.csr_matrix((rows.size, 2 * m))])
        link_rows = sparse.lil_matrix((m + 1, n + 2 * m))
        b_link = np.zeros(m + 1)
        for r, j in enumerate(pub):
            link_rows[r, pos[j]] = 1.0
            link_rows[r, n + r] = -1.0
            link_rows[r, n + m + r] = 1.0
            b_link[r] = shown[j]
        link_rows[m, pos[cell]] = 1.0
        b_link[m] = target
        a_eq = sparse.vstack([relations, link_rows.tocsr()]).tocsc()
        b_eq = np.concatenate([np.zeros(rows.size), b_link])
        # a zero is withheld only when nothing else will do: a reader would guess it
        weights = np.array([shown[j] + 1.0 if shown[j] > 0 else 1e3 * self.bound for j in pub])
        cost = np.concatenate([np.zeros(n), weights, weights])
        upper = np.concatenate([np.full(n, self.bound), np.full(2 * m, self.bound)])
        self.lps += 1
        res = linprog(cost, A_eq=a_eq, b_eq=b_eq,
                      bounds=np.column_stack([np.zeros(n + 2 * m), upper]), method="highs")  # fmt: skip
        if res.status != 0:
            return set()
        moved = res.x[n : n + m] + res.x[n + m :]
        return {j for j, d in zip(pub, moved, strict=True) if d > 1e-6}

    def _component(self, cell: int, free: set[int]) -> set[int]:
        """The free cells linked to ``cell`` through relations among free cells."""
        if cell not in free:
            return set()
        rel_of = self.system.rel_of
        comp, todo = {cell}, [cell]
        while todo:
            i = todo.pop()
            for r in rel_of[i]:
                parent, children = self.system.relations[r]
                for j in (parent, *children):
                    if j in free and j not in comp:
                        comp.add(j)
                        todo.append(j)
        return comp


def solve(
    published: Mapping[Key, int],
    structure: Structure,
    *,
    threshold: int,
    zeros_protected: bool = False,
    strict: bool = False,
) -> Solution:
    """Which published cells to withhold so that no protected count can be worked out.

    Parameters
    ----------
    published : mapping
        Every published count by its key (a count published in several tables is one cell).
    structure : Structure
        The aggregates, groups and measure partitions.
    threshold : int
        Counts from 1 to ``threshold`` are protected.

    Returns
    -------
    Solution
        ``withheld`` maps the key of every withheld published cell to the rule that withheld it
        (``primary``: a count from 1 to ``threshold``; ``secondary``: withheld so that another
        cannot be worked out); ``protected`` lists the unpublished counts from 1 to
        ``threshold`` that the published ones would have given away (their rule:
        ``complement``).

    Raises
    ------
    IdentityError
        With ``strict``: a relation whose cells are all published does not add up (a wrong
        declaration). Without, such a relation is left out (an attacker cannot use a relation
        that does not hold) and listed in ``Solution.dropped``.
    """
    system = _System(published, structure)
    shown = {system.index[k]: float(v) for k, v in published.items()}
    dropped = []
    for r, (parent, children) in enumerate(system.relations):
        if parent in shown and all(c in shown for c in children):
            total = sum(shown[c] for c in children)
            if abs(total - shown[parent]) > 0.5:
                dropped.append(r)
    if dropped and strict:
        parent, children = system.relations[dropped[0]]
        raise IdentityError(
            f"{system.keys[parent]} = {shown[parent]:g} but its parts "
            f"{[system.keys[c] for c in children]} add up to "
            f"{sum(shown[c] for c in children):g}"
        )
    if dropped:  # a relation that does not hold is none an attacker can use
        system.drop(dropped)
    values = _determined(system, shown)
    negative = [i for i, v in values.items() if v < -0.5]
    if negative and strict:
        raise IdentityError(f"{system.keys[negative[0]]} works out below 0")
    low = 0 if zeros_protected else 1
    primary = {i for i, v in shown.items() if low <= v <= threshold} if threshold > 0 else set()
    implied = (
        {i for i, v in values.items() if i not in shown and 1 <= v <= threshold}
        if threshold > 0
        else set()
    )
    withheld = {i: "primary" for i in primary}
    if not primary and not implied:
        return Solution({}, {}, len(system.keys), len(system.relations), 0, _named(system))
    bound = 2.0 * max([*shown.values(), 1.0]) + 1.0
    attacker = _Attacker(system, values, threshold, bound)
    unpublished = set(range(len(system.keys))) - set(shown)

    def free() -> set[int]:
        return unpublished | set(withheld)

    settled: set[int] = set()  # safe when last checked (withholding more never undoes it)
    unresolved: set[int] = set()
    while True:
        todo = sorted(
            (primary | implied | set(withheld)) - settled - unresolved,
            key=lambda i: (values.get(i, 0), i),
        )
        failing = None
        for c in todo:
            lo, hi = attacker.range(c, free(), set(withheld))
            targets = _targets(c in primary or c in implied, values[c], lo, hi, threshold)
            if not targets:
                settled.add(c)
            else:
                failing = (c, targets)
                break
        if failing is None:
            break
        cell, targets = failing
        more: set[int] = set()
        for target in targets:
            more |= attacker.cover(cell, target, set(withheld), shown)
        if not more:  # no table reaches the target, whatever is withheld
            unresolved.add(cell)
            continue
        for j in more:
            withheld[j] = "secondary"
    return Solution(
        {system.keys[i]: rule for i, rule in withheld.items()},
        {system.keys[i]: "complement" for i in implied},
        len(system.keys),
        len(system.relations),
        attacker.lps,
        _named(system),
        [system.keys[i] for i in sorted(unresolved)],
    )


def _named(system: _System) -> list:
    return [
        (system.keys[p], [system.keys[c] for c in ch]) for p, ch in getattr(system, "dropped", [])
    ]


def _targets(small: bool, value: float, lo: float, hi: float, threshold: int) -> list[float]:
    """The values a cell must be able to take that the attacker's range does not reach: for a
    small (protected) count, 1 and ``threshold``; for another withheld count, a value other
    than its own."""
    eps = 1e-6
    if small:
        return [t for t, ok in ((1.0, lo <= 1 + eps), (float(threshold), hi >= threshold - eps))
                if not ok]  # fmt: skip
    if hi - lo >= 0.5:
        return []
    return [value - 1.0] if value >= 1 else [value + 1.0]
