"""Record extracts (CSV or parquet) and official aggregated tables, through YAML mappings."""

from __future__ import annotations

import glob as _glob
import io
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from .. import ledger
from ..dictionary import codes, coerce, datasets, validate
from ..dictionary import dataset as dataset_spec
from ..errors import DataQualityWarning, DisproError, ParameterError, ValidationError, did_you_mean
from ..ethnicity import GROUPS
from ..forces import normalise_force
from .mapping import apply_mapping, load_mapping

__all__ = ["read_records", "read_counts", "read_table"]

RECORD_DATASETS = ("stop_search", "disposals", "charging", "sentencing")


def _expand(path) -> list[Path]:
    if isinstance(path, list | tuple):
        out: list[Path] = []
        for p in path:
            out.extend(_expand(p))
        return out
    text = str(path)
    if any(ch in text for ch in "*?["):
        files = sorted(Path(p) for p in _glob.glob(text))
        if not files:
            raise DisproError(f"no files match {text!r}")
        return files
    p = Path(text)
    if not p.exists():
        raise DisproError(f"{text}: no such file")
    if p.is_dir():
        files = sorted(f for f in p.iterdir() if f.suffix.lower() in (".csv", ".parquet"))
        if not files:
            raise DisproError(f"{text}: the folder holds no .csv or .parquet files")
        return files
    return [p]


def read_table(path: Path) -> pd.DataFrame:
    """One CSV, parquet or Excel file as text columns, indexed by the file's line/row number.

    CSV: UTF-8 (a BOM is fine; CRLF is fine); bytes that are not UTF-8 raise with the position.
    """
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        try:
            frame = pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises several types
            raise DisproError(f"{path}: not a readable parquet file ({exc})") from exc
        frame.index = pd.RangeIndex(1, len(frame) + 1)
        return frame
    if suffix in (".xlsx", ".xlsm"):
        try:
            frame = pd.read_excel(path, dtype=str)
        except Exception as exc:
            raise DisproError(f"{path}: not a readable Excel workbook ({exc})") from exc
        frame.index = pd.RangeIndex(2, len(frame) + 2)
        return frame
    data = path.read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DisproError(
            f"{path}: bytes that are not UTF-8 at byte {exc.start} (line {line}): "
            f"{data[max(0, exc.start - 20) : exc.end + 20]!r}. Re-save the file as UTF-8 "
            "(Excel: 'CSV UTF-8')."
        ) from exc
    if not text.strip():
        raise DisproError(f"{path}: the file is empty (no header, no rows)")
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_values=[""])
    except pd.errors.ParserError as exc:
        raise DisproError(f"{path}: not a readable CSV file ({exc})") from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    frame.index = pd.RangeIndex(2, len(frame) + 2)  # line numbers; the header is line 1
    return frame


def _check_dataset(dataset: str, allowed) -> None:
    if dataset not in allowed:
        raise ParameterError(
            f"`dataset` must be one of {tuple(allowed)}, but {dataset!r} was passed"
            f"{did_you_mean(str(dataset), allowed)}"
        )


def read_records(path, *, dataset: str, mapping=None, strict: bool = True) -> pd.DataFrame:
    """Read a CSV or parquet extract of one record dataset, mapped, validated and typed.

    Parameters
    ----------
    path : str, Path, glob or list
        One or more CSV (UTF-8) or parquet files of the same layout.
    dataset : {"stop_search", "disposals", "charging", "sentencing"}
        The canonical dataset (``data_dictionary/datasets/<dataset>.yaml``).
    mapping : str, Path, dict, optional
        A YAML column-and-code mapping for a source's own layout (see
        :mod:`dispro.readers.mapping`), or the name of a shipped one. Without it, the files must
        already use the canonical column names and codes.
    strict : bool
        Raise a :class:`~dispro.errors.ValidationError` listing every problem (file, column, line
        numbers, values with counts, did-you-mean) if the data do not meet the standard (default).
        ``False``: warn instead and return the frame (values that do not convert become missing).

    Returns
    -------
    DataFrame
        The canonical fields typed as the standard declares, with the exclusions ledger in
        ``attrs["exclusions"]`` (first entry: rows read).

    Examples
    --------
    A court extract with its own layout, described by a YAML mapping::

        sentences = dispro.read_records("courts_2024.csv", dataset="sentencing",
                                        mapping="my_court_extract.yaml")
    """
    _check_dataset(dataset, RECORD_DATASETS)
    spec = load_mapping(mapping)
    if spec.dataset is not None and spec.dataset != dataset:
        raise ParameterError(
            f"the mapping {spec.name!r} is for dataset {spec.dataset!r}, not {dataset!r}"
        )
    canonical = {f["name"] for f in dataset_spec(dataset)["fields"]}
    frames = []
    entries: list[dict] = []
    files = _expand(path)
    for f in files:
        raw = read_table(f)
        if raw.empty:
            warnings.warn(
                f"{f}: the file has a header and no rows", DataQualityWarning, stacklevel=2
            )
        mapped = apply_mapping(
            raw, spec, source=str(f), canonical=canonical, strict=strict, step="read_records"
        )
        if spec.date_format and "date" in mapped.columns:
            parsed = pd.to_datetime(mapped["date"], format=spec.date_format, errors="coerce")
            bad = parsed.isna() & mapped["date"].notna()
            mapped["date"] = parsed.dt.strftime("%Y-%m-%dT%H:%M:%S").where(~bad, mapped["date"])
        problems = validate(mapped, dataset, strict=strict, source=str(f))
        if not strict and not problems.empty:
            warnings.warn(
                f"{f}: {len(problems)} problem(s) with the {dataset} data (strict=False): "
                + "; ".join(f"{p.column}: {p.problem} ({p.count})" for p in problems.itertuples()),
                DataQualityWarning,
                stacklevel=2,
            )
        entries.append(
            {
                "step": "read_records",
                "rule": f"rows read from {f}",
                "rows": len(mapped),
                "action": "read",
            }
        )
        entries.extend(mapped.attrs.get("exclusions", []))
        frames.append(mapped.assign(_file=str(f)))
    frame = pd.concat(frames) if len(frames) > 1 else frames[0]
    out = coerce(frame.drop(columns="_file"), dataset)
    out = out.reset_index(drop=True)
    n = len(out)
    out.attrs = {"exclusions": [], "source": [str(f) for f in files], "dataset": dataset}
    ledger.record(out, "read_records", f"rows read from {len(files)} file(s)", n, "read")
    out.attrs["exclusions"].extend(e for e in entries if e["action"] != "read")
    return out


def read_counts(
    path,
    *,
    dataset: str | None = None,
    mapping=None,
    events: str = "events",
    strict: bool = True,
) -> pd.DataFrame:
    """Read an official aggregated table (MoJ, Home Office...) into a counts table.

    Parameters
    ----------
    path : str, Path, glob or list
        CSV, parquet or xlsx tables of the same layout (e.g. one per year).
    dataset : str, optional
        A canonical dataset whose code lists the dimension columns must follow (e.g. ``disposals``
        for an out-of-court disposal table). Without it, ``ethnicity`` and ``force`` are still
        checked.
    mapping : str, Path or dict
        The column-and-code mapping (see :mod:`dispro.readers.mapping`): usually ``rows`` filters
        for subtotal rows and a ``wide`` block turning one-column-per-group into long counts. A
        shipped mapping can be named, e.g. ``"home_office_use_of_force_by_ethnicity"``.
    events : str
        The count column of the result (the mapping's ``wide.value`` or a renamed column).
    strict : bool
        Raise on columns the mapping does not know (a changed layout) and on codes outside the
        code lists (default); ``False`` warns and keeps them.

    Returns
    -------
    DataFrame
        The dimension columns (``force`` normalised to the official force area name, ``ethnicity``
        as 5+1 group codes...), ``events`` and, when several files are read, ``source`` (the file);
        ``attrs["exclusions"]`` records every row filtered out (e.g. subtotal rows).

    Examples
    --------
    The Home Office use-of-force table by ethnicity and force, through the shipped mapping::

        uof = dispro.read_counts("april2019-march2020.csv",
                                 mapping="home_office_use_of_force_by_ethnicity")
    """
    if dataset is not None:
        _check_dataset(dataset, datasets())
    spec = load_mapping(mapping)
    files = _expand(path)
    frames = []
    entries: list[dict] = []
    for f in files:
        raw = read_table(f)
        if raw.empty:
            raise DisproError(f"{f}: the table has a header and no rows")
        table = apply_mapping(raw, spec, source=str(f), strict=strict, step="read_counts")
        entries.extend(table.attrs.get("exclusions", []))
        if events not in table.columns:
            raise ValidationError(
                f"{f}: after the mapping there is no {events!r} column{did_you_mean(events, table.columns)}; "
                f"columns: {list(table.columns)}. Name the count column in the mapping (`columns` or `wide.value`)."
            )
        values = pd.to_numeric(table[events], errors="coerce")
        bad = values.isna() & table[events].notna()
        if bad.any():
            raise ValidationError(
                f"{f}: column {events!r} has values that are not numbers: "
                f"{table.loc[bad, events].astype(str).value_counts().head(10).to_dict()} (rows {table.index[bad][:10].tolist()})"
            )
        negative = values < 0
        fractional = values.notna() & (values != np.round(values))
        if negative.any() or fractional.any():
            raise ValidationError(
                f"{f}: column {events!r} must hold non-negative whole counts; found "
                f"{table.loc[negative | fractional, events].tolist()[:10]}"
            )
        table[events] = values.astype("Int64")
        if len(files) > 1:
            table["source"] = str(f)
        frames.append(table)
    out = pd.concat(frames, ignore_index=True)
    if "force" in out.columns:
        out["force"] = normalise_force(out["force"], source=", ".join(map(str, files)))
    checks = {"ethnicity": list(GROUPS)}
    if dataset is not None:
        for fdef in dataset_spec(dataset)["fields"]:
            if fdef.get("codes") and fdef["name"] in out.columns and fdef["name"] != "force":
                checks[fdef["name"]] = codes(fdef["codes"])
    for col, allowed in checks.items():
        if col not in out.columns:
            continue
        unknown = out[col].notna() & ~out[col].astype(str).isin(allowed)
        if unknown.any():
            listed = "; ".join(
                f"{v!r} ×{n}{did_you_mean(v, allowed)}"
                for v, n in out.loc[unknown, col].astype(str).value_counts().head(10).items()
            )
            message = f"column {col!r}: values not in the code list: {listed}. Map them in the mapping's `codes`."
            if strict:
                raise ValidationError(message)
            warnings.warn(message, DataQualityWarning, stacklevel=2)
    out.attrs = {"exclusions": entries, "source": [str(f) for f in files], "mapping": spec.name}
    return out
