"""Record extracts (CSV or parquet) and official aggregated tables, through YAML mappings."""

from __future__ import annotations

import glob as _glob
import hashlib
import warnings
import zipfile
from pathlib import Path

import pandas as pd

from .. import ledger
from .._checks import bad_counts, check_distinct
from ..dictionary import codes, coerce, datasets, validate
from ..dictionary import dataset as dataset_spec
from ..errors import DataQualityWarning, DisproError, ParameterError, ValidationError, did_you_mean
from ..ethnicity import GROUPS
from ..forces import normalise_force, official_names
from ._files import decode_utf8, member_limit, parse_csv, shown_names
from .mapping import apply_mapping, duplicate_keys, load_mapping

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

    CSV: UTF-8 (a BOM is fine; CRLF is fine); bytes that are not UTF-8 raise with the byte offset
    and line. A header that names a column twice, and a row with more or fewer fields than the
    header, raise with the file and lines. An Excel workbook (a zip) whose parts declare more
    than the zip member limit (``DISPRO_MAX_ZIP_MEMBER_BYTES``, default 512 MB) is refused before
    it is opened. ``attrs["sha256"]`` is the file's SHA-256 (to tell copies apart). Messages never
    quote the file's lines.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DisproError(f"{path}: the file cannot be read ({exc})") from exc
    digest = hashlib.sha256(data).hexdigest()
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".xlsx", ".xlsm"):
        frame = _read_binary(path, suffix)
        repeated = sorted({str(c) for c in frame.columns[frame.columns.duplicated()]})
        if repeated:
            raise ValidationError(
                f"{path}: the header names the column(s) {shown_names(repeated)} more than once; "
                "remove or rename the repeated column(s), so that each column is read once"
            )
        frame.attrs["sha256"] = digest
        return frame
    text = decode_utf8(data, str(path), "Re-save the file as UTF-8 (Excel: 'CSV UTF-8').")
    if not text.strip():
        raise DisproError(f"{path}: the file is empty (no header, no rows)")
    frame, fields = parse_csv(
        text,
        str(path),
        "A row with more fields than the header usually has an unquoted comma in a cell; quote "
        "the cell. If the file is not a CSV table, give the right file.",
    )
    short = fields < len(frame.columns)
    if short.any():
        lines = frame.index[short]
        shown = ", ".join(
            f"line {i} ({k} of {len(frame.columns)} fields)"
            for i, k in zip(lines[:10], fields[short][:10], strict=False)
        )
        raise DisproError(
            f"{path}: {int(short.sum())} row(s) have fewer fields than the header (cells missing "
            f"at the end of the line, not blank): {shown}"
            + (f" (+{len(lines) - 10} more)" if len(lines) > 10 else "")
            + ". A truncated or hand-edited file: re-export it, with every cell of every row."
        )
    frame.attrs["sha256"] = digest
    return frame


def _read_binary(path: Path, suffix: str) -> pd.DataFrame:
    if suffix == ".parquet":
        try:
            frame = pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises several types
            raise DisproError(f"{path}: not a readable parquet file ({_reason(exc)})") from exc
        frame.index = pd.RangeIndex(1, len(frame) + 1)
        return frame
    limit = member_limit()
    try:
        with zipfile.ZipFile(path) as archive:
            declared = sum(i.file_size for i in archive.infolist())
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise DisproError(f"{path}: not a readable Excel workbook (not a zip: {exc})") from exc
    if declared > limit:
        raise DisproError(
            f"{path}: the workbook's parts declare {declared:,} bytes uncompressed, over the "
            f"limit of {limit:,} bytes; it was not opened. Save the table as CSV, or raise the "
            "limit with the environment variable DISPRO_MAX_ZIP_MEMBER_BYTES."
        )
    try:
        # header=None: the header is a row, so that a repeated name is seen (not made 'x.1')
        cells = pd.read_excel(path, dtype=str, header=None)
    except Exception as exc:
        raise DisproError(f"{path}: not a readable Excel workbook ({_reason(exc)})") from exc
    if cells.empty:
        raise DisproError(f"{path}: the workbook's first sheet is empty (no header, no rows)")
    frame = cells.iloc[1:].reset_index(drop=True)
    frame.columns = [
        f"Unnamed: {i}" if pd.isna(c) or not str(c).strip() else str(c).strip()
        for i, c in enumerate(cells.iloc[0])
    ]
    frame.index = pd.RangeIndex(2, len(frame) + 2)
    return frame


def _reason(exc: Exception) -> str:
    return f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}"


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

    Raises
    ------
    DisproError
        A file given twice (also by two spellings or through a link), two files with identical
        contents, bytes that are not UTF-8 (with the byte offset), a row with more or fewer fields
        than the header, a file that is not readable CSV or parquet.
    ValidationError
        A header that names a column twice; in strict mode, data that do not meet the standard
        and a ``record_id`` on more than one row (within a file or across files; blank ids are
        not compared). With ``strict=False`` repeated ids are warned about and counted in the
        ledger (``noted``: the rows are kept). Messages never quote a file's lines.

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
    check_distinct(files)
    copies: dict[str, Path] = {}
    for f in files:
        raw = read_table(f)
        if raw.empty:
            warnings.warn(
                f"{f}: the file has a header and no rows", DataQualityWarning, stacklevel=2
            )
        else:
            _check_copy(raw, f, copies)
        mapped = apply_mapping(
            raw, spec, source=str(f), canonical=canonical, strict=strict, step="read_records"
        )
        if spec.date_format and "date" in mapped.columns:
            parsed = pd.to_datetime(mapped["date"], format=spec.date_format, errors="coerce")
            bad = parsed.isna() & mapped["date"].notna()
            mapped["date"] = parsed.dt.strftime("%Y-%m-%dT%H:%M:%S").where(~bad, mapped["date"])
        if "force" in mapped.columns:  # one force-name normaliser: every known spelling
            official = official_names(mapped["force"])
            renamed = int((official.ne(mapped["force"]) & mapped["force"].notna()).sum())
            mapped["force"] = official
            if renamed:
                entries.append({"step": "read_records", "action": "relabelled", "rows": renamed,
                                "rule": f"force names spelt otherwise in {f}: official names"})  # fmt: skip
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
    repeated = _repeated_ids(frame, strict)
    out = coerce(frame.drop(columns="_file"), dataset)
    out = out.reset_index(drop=True)
    n = len(out)
    out.attrs = {"exclusions": [], "source": [str(f) for f in files], "dataset": dataset}
    ledger.record(out, "read_records", f"rows read from {len(files)} file(s)", n, "read")
    out.attrs["exclusions"].extend(e for e in entries if e["action"] != "read")
    if repeated:
        ledger.record(
            out, "read_records", "rows whose record_id is on another row too (kept)", repeated,
            "noted",
        )  # fmt: skip
    return out


def _check_copy(raw: pd.DataFrame, f: Path, copies: dict[str, Path]) -> None:
    digest = raw.attrs.get("sha256")
    if digest in copies:
        raise DisproError(
            f"{copies[digest]} and {f} have identical contents (SHA-256 {digest[:12]}...): the "
            "same rows would be counted twice. Give each file once."
        )
    copies[digest] = f


def _repeated_ids(frame: pd.DataFrame, strict: bool) -> int:
    """Rows whose ``record_id`` is on another row too: an error (strict) or a warning."""
    if "record_id" not in frame.columns:
        return 0
    ids = frame["record_id"].astype("string").str.strip()
    ids = ids.where(ids.ne(""))
    repeated = (ids.notna() & ids.duplicated(keep=False)).to_numpy()
    if not repeated.any():
        return 0
    where = pd.DataFrame({"id": ids[repeated].to_numpy(), "file": frame["_file"].to_numpy()[repeated],
                          "line": frame.index[repeated]})  # fmt: skip
    groups = list(where.groupby("id", sort=False))
    shown = "; ".join(
        f"{rid!r} on " + ", ".join(f"{r.file} line {r.line}" for r in g.head(4).itertuples())
        for rid, g in groups[:8]
    ) + (f"; +{len(groups) - 8} more id(s)" if len(groups) > 8 else "")
    message = (
        f"column 'record_id': {len(groups)} id(s) are on more than one row ({int(repeated.sum())} "
        f"rows): {shown}. A record read twice is counted twice: remove the repeated rows (or "
        "give each file once); if the ids are not unique in the source, do not map them to "
        "record_id."
    )
    if strict:
        raise ValidationError(message)
    warnings.warn(message + " (kept: strict=False)", DataQualityWarning, stacklevel=3)
    return int(repeated.sum())


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
    mapping : str, Path or dict, optional
        The column-and-code mapping (see :mod:`dispro.readers.mapping`): usually ``rows`` filters
        for subtotal rows and a ``wide`` block turning one-column-per-group into long counts. A
        shipped mapping can be named, e.g. ``"home_office_use_of_force_by_ethnicity"``. Without
        one, the table must already be long, with its count column named ``events``.
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

    Raises
    ------
    DisproError
        A file given twice (also by two spellings or through a link), two files with identical
        contents, bytes that are not UTF-8 (with the byte offset), a row with more or fewer fields
        than the header, a file that is not readable CSV, parquet or xlsx.
    ValidationError
        A header that names a column twice; count cells that are True/False, not numbers
        (``nan`` included), infinite, negative, fractional or above 2**53 (file, column, rows and
        values named); rows that repeat a combination of the other columns (e.g. the same force
        and group twice: keeping or summing them would count twice); and, in strict mode,
        columns the mapping does not know and codes outside the code lists. Messages never quote
        a file's lines, only its column names and the offending cells.

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
    check_distinct(files)
    copies: dict[str, Path] = {}
    frames = []
    entries: list[dict] = []
    for f in files:
        raw = read_table(f)
        if raw.empty:
            raise DisproError(f"{f}: the table has a header and no rows")
        _check_copy(raw, f, copies)
        # without a mapping the table is taken as already in its final layout: every column kept
        canonical = set(raw.columns) if mapping is None else frozenset()
        table = apply_mapping(
            raw, spec, source=str(f), canonical=canonical, strict=strict, step="read_counts"
        )
        entries.extend(table.attrs.get("exclusions", []))
        if events not in table.columns:
            # without a mapping nothing says the first line is a header: it is not quoted
            present = (
                f"columns: {shown_names(table.columns)}"
                if mapping is not None
                else f"its first line has {len(table.columns)} name(s), none of them {events!r}"
            )
            raise ValidationError(
                f"{f}: after the mapping there is no {events!r} column"
                f"{did_you_mean(events, table.columns)}; {present}. Name the count column in the "
                "mapping (`columns` or `wide.value`), or give the table a column named "
                f"{events!r}."
            )
        _check_events(table, events, f, wide=bool(spec.wide))
        if "force" in table.columns:  # before the check of repeats: 'dorset' is 'Dorset'
            table["force"] = normalise_force(table["force"], source=str(f))
        repeated = duplicate_keys(table, [c for c in table.columns if c != events], str(f))
        if repeated:
            raise ValidationError(repeated)
        table[events] = pd.to_numeric(table[events]).astype("Int64")
        if len(files) > 1:
            table["source"] = str(f)
        frames.append(table)
    out = pd.concat(frames, ignore_index=True)
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


def _check_events(table: pd.DataFrame, events: str, f: Path, *, wide: bool) -> None:
    """Raise naming rows and values if the count column holds anything but whole counts."""
    rows = "rows of the long table" if wide else "lines"
    problems = []
    for what, mask in bad_counts(table[events]):
        index, values = table.index[mask], table.loc[mask, events]
        shown = ", ".join(f"{i}: {v!r}" for i, v in zip(index[:10], values[:10], strict=False))
        more = f" (+{len(index) - 10} more)" if len(index) > 10 else ""
        problems.append(f"{len(index)} value(s) {what} ({rows} and values: {shown}{more})")
    if problems:
        raise ValidationError(
            f"{f}: column {events!r} must hold whole counts from 0 (blank where not published), "
            "but:\n  - " + "\n  - ".join(problems) + "\nFix these cells in the table (or map "
            "text markers such as '[c]' to blank in the source)."
        )
