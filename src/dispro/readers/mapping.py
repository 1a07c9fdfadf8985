"""Column-and-code mappings: a source's own layout to a canonical dataset, written in YAML.

A mapping is a YAML file (or a dict) with these keys, all optional except where said:

``name``, ``description``
    What the source is.
``dataset``
    The canonical dataset the result follows (``stop_search``, ``disposals``...).
``columns``
    ``{source column: canonical field}``: renames. Every source column listed must be present
    unless it is also listed in ``optional``.
``optional``
    Source columns that may be absent (e.g. columns that exist only in some years).
``ignore``
    Source columns that are read and dropped. A source column the mapping does not mention (and
    that is not already a canonical field name) is an error, so that a changed layout is noticed.
``codes``
    ``{canonical field: {source value: canonical code}}``: recodes. Values not listed are kept as
    they are (and then validated against the code list).
``constants``
    ``{canonical field: value}``: columns added with one value (e.g. ``force: Dorset``).
``rows``
    ``keep: {column: [values]}`` and ``drop: {column: [values]}``: row filters applied first
    (e.g. keep only a ``*Total Tactics`` row, drop a national total). Every row dropped is counted
    in the exclusions ledger.
``wide``
    For aggregated tables with one column per group: ``into`` (the dimension the column names
    become, e.g. ``ethnicity``), ``value`` (the count column, e.g. ``events``) and ``columns``
    (``{source column: code}``; several source columns may share a code and are then summed).
    Listed columns that are absent are allowed (tables change between years) and recorded.
``date_format``
    strptime format of the ``date`` field when it is not ISO 8601 (e.g. ``"%d/%m/%Y"``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from .. import ledger
from .._checks import bad_counts
from .._paths import dictionary_dir
from ..errors import DataQualityWarning, DisproError, ParameterError, ValidationError, did_you_mean
from ._files import shown_names

__all__ = ["Mapping", "load_mapping", "apply_mapping", "builtin_mappings", "duplicate_keys"]

_KEYS = (
    "name", "description", "dataset", "columns", "optional", "ignore", "codes", "constants",
    "rows", "wide", "date_format",
)  # fmt: skip


@dataclass(frozen=True)
class Mapping:
    """A validated mapping (see the module documentation for the keys)."""

    name: str = "mapping"
    description: str = ""
    dataset: str | None = None
    columns: dict = field(default_factory=dict)
    optional: tuple = ()
    ignore: tuple = ()
    codes: dict = field(default_factory=dict)
    constants: dict = field(default_factory=dict)
    rows: dict = field(default_factory=dict)
    wide: dict = field(default_factory=dict)
    date_format: str | None = None

    def source_columns(self) -> set[str]:
        """Every source column the mapping knows."""
        return set(self.columns) | set(self.ignore) | set(self.wide.get("columns", {}))


def builtin_mappings() -> tuple[str, ...]:
    """Names of the mappings shipped in ``data_dictionary/mappings/``."""
    return tuple(sorted(p.stem for p in (dictionary_dir() / "mappings").glob("*.yaml")))


def load_mapping(mapping) -> Mapping:
    """A :class:`Mapping` from a YAML path, the name of a shipped mapping, a dict, or a Mapping."""
    if mapping is None or isinstance(mapping, Mapping):
        return mapping or Mapping()
    origin = "the mapping"
    if isinstance(mapping, str | Path):
        path = Path(mapping)
        if not path.suffix and not path.is_file():  # a folder named like it is not a mapping
            shipped = dictionary_dir() / "mappings" / f"{mapping}.yaml"
            if not shipped.is_file():
                raise ParameterError(
                    f"mapping {str(mapping)!r} is neither a file nor a shipped mapping"
                    f"{did_you_mean(str(mapping), builtin_mappings())}; shipped: {builtin_mappings()}"
                )
            path = shipped
        if not path.is_file():
            raise DisproError(f"mapping file {str(path)!r} does not exist")
        origin = f"mapping file {str(path)!r}"
        try:
            with path.open(encoding="utf-8") as fh:
                mapping = yaml.safe_load(fh) or {}
        except yaml.YAMLError as exc:
            raise DisproError(f"{origin} is not valid YAML: {exc}") from exc
    if not isinstance(mapping, dict):
        raise ParameterError(
            f"{origin} must be a YAML mapping (key: value), not {type(mapping).__name__}"
        )
    unknown = [k for k in mapping if k not in _KEYS]
    if unknown:
        raise ValidationError(
            f"{origin} has unknown key(s) "
            + ", ".join(f"{k!r}{did_you_mean(str(k), _KEYS)}" for k in unknown)
            + f"; allowed keys: {_KEYS}"
        )
    for key in ("columns", "codes", "constants", "rows", "wide"):
        if key in mapping and not isinstance(mapping[key] or {}, dict):
            raise ValidationError(f"{origin}: `{key}` must be a mapping of key: value pairs")
    wide = mapping.get("wide") or {}
    if wide and not {"into", "value", "columns"} <= set(wide):
        raise ValidationError(f"{origin}: `wide` needs `into`, `value` and `columns`")
    for k in ("keep", "drop"):
        for col, values in ((mapping.get("rows") or {}).get(k) or {}).items():
            if not isinstance(values, list):
                mapping["rows"][k][col] = [values]
    return Mapping(
        name=str(mapping.get("name", "mapping")),
        description=str(mapping.get("description", "")),
        dataset=mapping.get("dataset"),
        columns={str(k): str(v) for k, v in (mapping.get("columns") or {}).items()},
        optional=tuple(mapping.get("optional") or ()),
        ignore=tuple(mapping.get("ignore") or ()),
        codes={
            str(k): {str(a): b for a, b in (v or {}).items()}
            for k, v in (mapping.get("codes") or {}).items()
        },
        constants=dict(mapping.get("constants") or {}),
        rows=dict(mapping.get("rows") or {}),
        wide={**wide, "columns": {str(k): str(v) for k, v in (wide.get("columns") or {}).items()}}
        if wide
        else {},
        date_format=mapping.get("date_format"),
    )


def check_columns(
    frame: pd.DataFrame, mapping: Mapping, source: str, canonical: set[str], *, strict: bool
) -> list[str]:
    """Check a source's header against a mapping; return the unmapped columns (permissive mode)."""
    present = [str(c) for c in frame.columns]
    missing = [c for c in mapping.columns if c not in present and c not in mapping.optional]
    known = mapping.source_columns() | canonical
    if known and present and not set(present) & known:
        # not a header of this layout (another file, or a file without its header line): its
        # first line is not quoted back, since it may be data
        listed = [f"required column {c!r} is missing" for c in missing[:8]]
        more = [f"and {len(missing) - 8} more required columns"] if len(missing) > 8 else []
        raise ValidationError(
            f"{source} does not match {mapping.name!r}: none of the {len(present)} names in its "
            "first line is a column this layout knows (the line is not shown). Check that it is "
            "the right file and that its first line is the header:\n  - "
            + "\n  - ".join(listed + more or [f"expected columns such as {shown_names(known, 8)}"])
        )
    problems = []
    for c in missing:
        problems.append(f"required column {c!r} is missing{did_you_mean(c, present)}")
    if mapping.wide:
        wide_present = [c for c in mapping.wide["columns"] if c in present]
        if not wide_present:
            problems.append(f"none of the group columns {list(mapping.wide['columns'])} is present")
    unmapped = [c for c in present if c not in known]
    if unmapped and strict:
        for c in unmapped:
            hint = did_you_mean(c, sorted(mapping.source_columns()))
            problems.append(
                f"column {c!r} is not in the mapping{hint} (add it to `columns`, "
                "`wide.columns` or `ignore`)"
            )
    if unmapped and not strict and not problems:
        warnings.warn(
            f"{source}: column(s) {shown_names(unmapped)} are not in the mapping {mapping.name!r} and were "
            "dropped (strict=False)",
            DataQualityWarning,
            stacklevel=3,
        )
    if problems:
        raise ValidationError(
            f"{source} does not match {mapping.name!r} ({len(problems)} problem(s)):\n  - "
            + "\n  - ".join(problems)
            + f"\ncolumns present: {shown_names(present)}"
        )
    return unmapped


def apply_mapping(
    frame: pd.DataFrame,
    mapping: Mapping,
    *,
    source: str,
    canonical: set[str] = frozenset(),
    strict: bool = True,
    step: str = "read",
) -> pd.DataFrame:
    """Apply a mapping to a frame read from ``source``: filter rows, melt, rename, recode.

    Every row the filters drop is counted in the result's exclusions ledger. The frame's index
    (row or line numbers) is kept for error messages.
    """
    unmapped = check_columns(frame, mapping, source, set(canonical), strict=strict)
    entries = list(frame.attrs.get("exclusions", []))
    out = frame.drop(columns=unmapped)
    out.attrs["exclusions"] = entries
    for col, values in (mapping.rows.get("keep") or {}).items():
        if col not in out.columns:
            raise ValidationError(
                f"{source}: the `rows.keep` column {col!r} is not present{did_you_mean(col, out.columns)}"
            )
        mask = out[col].astype(str).isin([str(v) for v in values])
        ledger.record(
            out, step, f"{source}: rows whose {col!r} is not one of {values}", int((~mask).sum())
        )
        out = out.loc[mask]
    for col, values in (mapping.rows.get("drop") or {}).items():
        if col not in out.columns:
            raise ValidationError(
                f"{source}: the `rows.drop` column {col!r} is not present{did_you_mean(col, out.columns)}"
            )
        mask = out[col].astype(str).isin([str(v) for v in values])
        ledger.record(
            out, step, f"{source}: rows whose {col!r} is one of {values}", int(mask.sum())
        )
        out = out.loc[~mask]
    if mapping.wide:
        out = _melt(out, mapping, source, step)
    ignore = [c for c in mapping.ignore if c in out.columns]
    out = out.drop(columns=ignore).rename(columns=mapping.columns)
    for col, value in mapping.constants.items():
        out[col] = value
    for col, recode in mapping.codes.items():
        if col in out.columns:
            text = out[col].astype("string")
            hit = text.isin(list(recode))
            out[col] = text.where(~hit, text.map(recode)).astype(object)
            ledger.record(
                out, step, f"{col!r} recoded through the mapping", int(hit.sum()), "relabelled"
            )
    return out


def _melt(frame: pd.DataFrame, mapping: Mapping, source: str, step: str) -> pd.DataFrame:
    wide = mapping.wide
    present = {c: code for c, code in wide["columns"].items() if c in frame.columns}
    absent = [c for c in wide["columns"] if c not in frame.columns]
    id_cols = [c for c in frame.columns if c not in present]
    _check_count_cells(frame, list(present), source)
    keys = [c for c in id_cols if c not in mapping.ignore]
    repeated = duplicate_keys(frame, keys, source)
    if repeated:
        raise ValidationError(repeated + " (the mapping's group columns would be summed over them)")
    values = frame[list(present)].apply(pd.to_numeric, errors="coerce")
    long = (
        frame[id_cols]
        .join(values)
        .melt(
            id_vars=id_cols, value_vars=list(present), var_name="__column", value_name=wide["value"]
        )
    )
    long[wide["into"]] = long["__column"].map(present)
    missing_cells = long[wide["value"]].isna()
    keys = [*id_cols, wide["into"]]
    out = long.groupby(keys, dropna=False, sort=False)[wide["value"]].sum(min_count=1).reset_index()
    out.attrs["exclusions"] = list(frame.attrs.get("exclusions", []))
    if absent:
        ledger.record(
            out, step, f"{source}: group columns absent from this table: {absent}", 0, "noted"
        )
    if missing_cells.any():
        ledger.record(
            out,
            step,
            f"{source}: blank count cells (kept as missing, not zero)",
            int(missing_cells.sum()),
            "noted",
        )
    return out


def _check_count_cells(frame: pd.DataFrame, columns: list[str], source: str) -> None:
    """Raise naming row, column and value of every count cell that is not a count."""
    lines = []
    n_bad = 0
    for col in columns:
        cells = frame[col]
        text = cells.where(~cells.astype(str).str.strip().eq(""))  # a blank cell is missing
        for what, mask in bad_counts(text):
            n_bad += int(mask.sum())
            shown = ", ".join(
                f"row {i} column {col!r}: {v!r}"
                for i, v in zip(frame.index[mask][:5], cells[mask][:5], strict=False)
            )
            more = f" (+{int(mask.sum()) - 5} more)" if mask.sum() > 5 else ""
            lines.append(f"{int(mask.sum())} cell(s) {what}: {shown}{more}")
    if lines:
        raise ValidationError(
            f"{source}: {n_bad} count cell(s) are not counts (rows are file lines):\n  - "
            + "\n  - ".join(lines)
            + "\nA count is a whole number from 0; remove text markers and formulas from count "
            "columns (or map them in the source), and leave a cell blank where it was not published."
        )


def duplicate_keys(frame: pd.DataFrame, keys: list[str], source: str, limit: int = 5) -> str:
    """A message naming the rows that repeat a combination of ``keys`` ("" when none do)."""
    if not keys or frame.empty:
        return ""
    text = frame[keys].astype("string").fillna("<blank>")
    repeated = text.duplicated(keep=False).to_numpy()
    if not repeated.any():
        return ""
    rows: dict[tuple, list] = {}
    for line, *key in text[repeated].itertuples(index=True, name=None):
        rows.setdefault(tuple(key), []).append(line)
    groups = list(rows.items())
    shown = []
    for key, index in groups[:limit]:
        values = ", ".join(f"{k}={str(v)!r}" for k, v in zip(keys, key, strict=True))
        shown.append(f"rows {', '.join(map(str, index[:5]))} ({values})")
    more = f"; +{len(groups) - limit} more" if len(groups) > limit else ""
    return (
        f"{source}: {int(repeated.sum())} rows repeat a combination of {shown_names(keys)} that a "
        f"count table holds once: {'; '.join(shown)}{more}. Keeping or summing them would count "
        "them twice: remove the repeated rows, or map the column that tells them apart (rows "
        "that are parts of one count, e.g. two source groups given one code, are added up "
        "before reading)"
    )
