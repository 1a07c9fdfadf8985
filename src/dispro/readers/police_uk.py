"""data.police.uk stop-and-search files to ``stop_search`` records.

Reads one or more monthly force files (``YYYY-MM-<force>-stop-and-search.csv``), folders of them
or the monthly archive zip (``YYYY-MM/YYYY-MM-<force>-stop-and-search.csv``), several forces at
once, and survives the quirks of the published files: ``Other ethnic group - Not stated`` and
blanks are not recorded; the outcome vocabulary changes within a file; blank booleans are "not
recorded", and a field blank for a whole force-month is "not supplied"; every time is stamped
``+00:00``; vehicle-only searches have no person.
"""

from __future__ import annotations

import re
import warnings
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from .. import ledger
from .._checks import check_distinct
from ..dictionary import codelist, codes
from ..errors import (
    DataQualityWarning,
    DisproError,
    ParameterError,
    ValidationError,
    check_choice,
    did_you_mean,
)
from ..ethnicity import GROUPS, NOT_STATED, to_group
from ..forces import normalise_force
from . import _police_uk_fast as fast
from ._files import (
    MAX_MEMBER_BYTES,
    MAX_MEMBER_ENV,
    decode_utf8,
    member_limit,
    parse_csv,
    read_member,
)
from .mapping import apply_mapping, load_mapping
from .months import COVERAGE_COLUMNS, SUPPLIED_FIELDS, coverage

__all__ = [
    "read_police_uk",
    "coverage",
    "COVERAGE_COLUMNS",
    "CLOCKS",
    "LATITUDE",
    "LONGITUDE",
    "MAX_MEMBER_BYTES",
    "MAX_MEMBER_ENV",
    "person_searches",
]

FILE_PATTERN = re.compile(r"(?P<month>\d{4}-\d{2})-(?P<slug>[a-z0-9-]+?)-stop-and-search\.csv$")

#: Clock assumptions for the ``+00:00`` stamps.
CLOCKS = ("utc", "uk_local")

_BOOLEANS = ("part_of_policing_operation", "outcome_linked", "removal_outer_clothing")
_CODED = {
    "sex": "sex",
    "age_band": "age_band_police_uk",
    "legislation": "legislation",
    "object_of_search": "object_of_search",
}
STEP = "read_police_uk"

#: Coordinates outside these bounds (decimal degrees: the United Kingdom with a margin) are not
#: where a search in England and Wales took place: treated like coordinates that are not numbers.
LATITUDE = (49.0, 61.0)
LONGITUDE = (-9.0, 3.0)


@dataclass
class _Source:
    name: str  # shown in messages: the path, or zip!member
    month: str
    slug: str
    data: bytes
    file: Path  # the file on disk (the zip, for a member)


# --------------------------------------------------------------------------------------------
# finding the files
# --------------------------------------------------------------------------------------------


def _parse_name(name: str, where: str) -> tuple[str, str]:
    match = FILE_PATTERN.search(Path(name).name)
    if not match:
        raise DisproError(
            f"{where}: the file name {Path(name).name!r} is not a data.police.uk stop-and-search "
            "file name (YYYY-MM-<force>-stop-and-search.csv); the force and month are read from "
            "it, so rename the file to that pattern"
        )
    try:
        datetime.strptime(match["month"], "%Y-%m")
    except ValueError as exc:
        raise DisproError(
            f"{where}: the file name {Path(name).name!r} has {match['month']!r} where a month "
            "YYYY-MM (01 to 12) should be; rename the file with the month it holds"
        ) from exc
    return match["month"], match["slug"]


def _from_zip(path: Path, limit: int) -> list[_Source]:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise DisproError(f"{path}: not a readable zip archive ({exc})") from exc
    with archive:
        infos = [
            i
            for i in archive.infolist()
            if not i.is_dir() and FILE_PATTERN.search(Path(i.filename).name)
        ]
        if not infos:
            members = archive.namelist()
            raise DisproError(
                f"{path}: the zip holds no stop-and-search files (YYYY-MM/YYYY-MM-<force>-"
                f"stop-and-search.csv); it holds {len(members)} member(s), e.g. {members[:5]}. "
                "Download the archive with stop-and-search data ticked."
            )
        infos.sort(key=lambda i: i.filename)
        for info in infos:  # every size is checked before any member is read
            if info.file_size > limit:
                read_member(archive, info, limit, f"{path}!{info.filename}")
        out = []
        for info in infos:
            month, slug = _parse_name(info.filename, str(path))
            data = read_member(archive, info, limit, f"{path}!{info.filename}")
            out.append(_Source(f"{path}!{info.filename}", month, slug, data, path))
    return out


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise DisproError(f"{path}: the file cannot be read ({exc})") from exc


def _collect(paths, limit: int) -> list[_Source]:
    if isinstance(paths, str | PathLike):
        paths = [paths]
    if not isinstance(paths, Iterable) or isinstance(paths, bytes):
        raise ParameterError(
            f"`paths` must be a file, folder or zip path or a list of them, but {paths!r} was passed"
        )
    sources: list[_Source] = []
    given: list[Path] = []
    for p in paths:
        if not isinstance(p, str | PathLike):
            raise ParameterError(
                f"`paths` must hold file, folder or zip paths (str or Path), but it holds {p!r}"
            )
        path = Path(p)
        given.append(path)
        if path.is_dir():
            files = sorted(f for f in path.rglob("*-stop-and-search.csv") if f.is_file())
            if not files:
                raise DisproError(
                    f"{path}: the folder holds no files named YYYY-MM-<force>-stop-and-search.csv"
                )
            for f in files:
                month, slug = _parse_name(f.name, str(f))
                sources.append(_Source(str(f), month, slug, _read_bytes(f), f))
        elif path.is_file() and path.suffix.lower() == ".zip":
            sources.extend(_from_zip(path, limit))
        elif path.is_file():
            month, slug = _parse_name(path.name, str(path))
            sources.append(_Source(str(path), month, slug, _read_bytes(path), path))
        else:
            raise DisproError(f"{path}: no such file or folder")
    if not sources:
        raise DisproError("no stop-and-search files were given")
    check_distinct(given, "file or folder")
    check_distinct([s.file for s in sources if "!" not in s.name])
    return sources


# --------------------------------------------------------------------------------------------
# reading one file
# --------------------------------------------------------------------------------------------


def _read_one(src: _Source, mapping, canonical: set[str], strict: bool) -> pd.DataFrame:
    text = decode_utf8(
        src.data,
        src.name,
        "data.police.uk publishes UTF-8; re-download the file, or re-save it as UTF-8 "
        "(e.g. from Excel: 'CSV UTF-8').",
    )
    if not text.strip():
        raise DisproError(
            f"{src.name}: the file is empty (no header, no rows); re-download it, or remove it "
            "if the force published nothing that month"
        )
    frame, fields = parse_csv(
        text,
        src.name,
        "A row with more fields than the header usually has an unquoted comma in a cell, and "
        "'EOF inside string' an unclosed quote; re-download the file, or quote the cell.",
    )
    n_header = len(frame.columns)
    short = pd.Series(
        [f"{k} of {n_header} fields" if k < n_header else None for k in fields],
        index=frame.index,
        dtype=object,
    )
    frame = apply_mapping(
        frame, mapping, source=src.name, canonical=canonical, strict=strict, step=STEP
    )
    for c in mapping.columns.values():
        if c not in frame.columns:
            frame[c] = np.nan  # an optional source column that this file lacks
    frame["_file"] = src.name
    frame["_line"] = frame.index.to_numpy()
    frame["_month"] = src.month
    frame["_slug"] = src.slug
    frame["_short"] = short.reindex(frame.index)  # the row's length, if short
    return frame.reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# problems: strict raises with file, column, lines and values; permissive records
# --------------------------------------------------------------------------------------------


def _where(frame: pd.DataFrame, mask: np.ndarray, names: list[str], limit: int = 8) -> str:
    """Files and lines of the rows in ``mask`` (``_source``: each row's position in ``names``)."""
    rows = frame.loc[mask, ["_source", "_line"]]
    rows = rows.assign(_file=np.asarray(names, dtype=object)[rows["_source"].to_numpy()])
    parts = []
    for f, group in rows.groupby("_file", sort=False):
        lines = group["_line"].tolist()
        more = f" (+{len(lines) - limit} more)" if len(lines) > limit else ""
        parts.append(f"{f} lines {', '.join(map(str, lines[:limit]))}{more}")
        if len(parts) >= 3:
            break
    return "; ".join(parts)


def _values(series: pd.Series, limit: int = 10) -> str:
    vc = series.astype(object).where(series.notna(), "<blank>").astype(str).value_counts()
    return ", ".join(f"{v!r} ×{n}" for v, n in vc.head(limit).items())


class _Problems:
    def __init__(self, strict: bool, coded: dict, names: list[str]):
        self.strict = strict
        self.lines: list[str] = []
        self.coded = coded  # the text columns as read, as codes (updated when rows are dropped)
        self.names = names  # the files, for messages

    def add(self, frame, mask, column, what, hint, record_as=None, action="relabelled", label=None):
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return
        if column in self.coded:
            values = pd.Series(self.coded[column].values()[mask], dtype=object)
        else:
            values = frame.loc[mask, column] if column in frame.columns else pd.Series(dtype=str)
        text = (
            f"{label or f'column {column!r}'}: {int(mask.sum())} row(s) {what}; values: "
            f"{_values(values)}; "
            f"in {_where(frame, mask, self.names)}. {hint}"
        )
        if self.strict:
            self.lines.append(text)
        else:
            warnings.warn(text, DataQualityWarning, stacklevel=4)
            ledger.record(frame, STEP, record_as or f"{column}: {what}", int(mask.sum()), action)

    def raise_if_any(self, n_files: int):
        if self.lines:
            raise ValidationError(
                f"{len(self.lines)} problem(s) in {n_files} data.police.uk file(s); every problem "
                "is listed (pass strict=False to map unknown labels to not recorded and count "
                "them in the exclusions ledger instead):\n  - " + "\n  - ".join(self.lines)
            )


def _suggest(values: pd.Series, allowed: Iterable[str]) -> str:
    if not len(values):
        return ""
    allowed = list(allowed)
    hints = [f"{v!r}{did_you_mean(v, allowed)}" for v in values.astype(str).unique()[:5]]
    hints = [h for h in hints if "did you mean" in h]
    return ("Near misses: " + "; ".join(hints) + ". ") if hints else ""


# --------------------------------------------------------------------------------------------
# the public functions
# --------------------------------------------------------------------------------------------


def read_police_uk(
    paths,
    *,
    strict: bool = True,
    clock: str = "utc",
    fallback: bool = False,
    max_member_bytes: int | None = None,
) -> pd.DataFrame:
    """Read data.police.uk stop-and-search files into ``stop_search`` records.

    Parameters
    ----------
    paths : str, Path or list of them
        Monthly force files (``YYYY-MM-<force>-stop-and-search.csv``), folders holding them (searched
        recursively) or data.police.uk archive zips. Several forces and months at once.
    strict : bool
        ``True`` (default): unknown labels (ethnicity, outcome, codes), malformed dates, rows with
        fewer fields than the header (cells missing at the end of the line), non-boolean values
        and coordinates that are not numbers or lie outside :data:`LATITUDE` x :data:`LONGITUDE`
        raise a :class:`~dispro.errors.ValidationError` listing every problem with file, column,
        line numbers and values. ``False``: unknown ethnicity or outcome labels and non-boolean
        values become not recorded, coordinates that are not numbers or out of range become
        missing, malformed dates and short rows drop the row, other unknown codes are kept; each
        is warned about and counted in the exclusions ledger.
    clock : {"utc", "uk_local"}
        The assumption about the ``+00:00`` stamps (data.police.uk stamps every time, summer and
        winter, ``+00:00``). ``"utc"`` (default) takes the stamp as a UTC instant. ``"uk_local"``
        takes the clock time as UK local time (Europe/London) mislabelled as UTC; times in the
        repeated hour when the clocks go back are read as the first (summer) occurrence. ``date``
        is a UTC timestamp either way; the assumption is in ``attrs["clock"]``. A clock time in
        the hour skipped when the clocks go forward cannot be UK local time; it is moved on by an
        hour (01:30 becomes 02:30 BST, i.e. 01:30 UTC), so distinct times stay distinct.
    fallback : bool
        ``False`` (default): ``ethnicity`` is the self-defined 5+1 group, as official statistics
        use. ``True``: where self-defined ethnicity was not stated, use the officer-defined group
        (clearly labelled in ``ethnicity_basis``).
    max_member_bytes : int, optional
        The largest uncompressed zip member read, in bytes. Default: the environment variable
        ``DISPRO_MAX_ZIP_MEMBER_BYTES`` (:data:`MAX_MEMBER_ENV`), else :data:`MAX_MEMBER_BYTES`
        (512 MB; a monthly force file is a few MB). A member over it is refused before any member
        is read, and members are read with a bounded read.

    Returns
    -------
    DataFrame
        One row per search, the ``stop_search`` fields of ``data_dictionary/datasets/stop_search.yaml``:
        ``date`` (UTC), ``month`` (the file's month, ``YYYY-MM``), ``force`` (official force
        area name), ``search_type``, ``vehicle_only``, ``part_of_policing_operation``,
        ``policing_operation``, ``latitude``, ``longitude``, ``sex``, ``age_band``,
        ``self_defined_ethnicity``, ``officer_defined_ethnicity`` (as published),
        ``ethnicity`` (5+1 group), ``ethnicity_basis``, ``officer_ethnicity`` (4+1 group),
        ``legislation``, ``object_of_search``, ``outcome`` (harmonised), ``outcome_raw``,
        ``any_further_action``, ``arrest``, ``outcome_linked``, ``removal_outer_clothing``
        (nullable booleans: missing = not recorded). ``attrs["exclusions"]`` holds the ledger
        (the first entry counts the rows read); :func:`coverage` gives the force x month table.

    Raises
    ------
    DisproError
        A path that does not exist, an empty file, bytes that are not UTF-8, a file name that does
        not follow the data.police.uk pattern, a zip with no stop-and-search files, the same file
        given twice (also by two spellings or through a link), the same force and month given
        twice, a force not in the force list, a damaged zip, a zip member over the size limit, a
        file that is not readable CSV (e.g. a row with more fields than the header). Messages
        name files, lines, columns and values, never quote a file's lines.
    ValidationError
        Wrong, missing or repeated columns (with a did-you-mean) and, in strict mode, unknown
        labels, malformed dates or booleans.
    ParameterError
        ``clock`` not one of :data:`CLOCKS`; ``paths`` not a path or a list of paths;
        ``max_member_bytes`` not a whole number of 1 or more.

    Warns
    -----
    DataQualityWarning
        A header-only file (no searches that month), rows dated outside their file's month and,
        in permissive mode, every relabelled or dropped row.

    Notes
    -----
    Vehicle-only searches are kept and flagged (``vehicle_only``); :func:`person_searches`
    excludes them from per-person measures and records how many. A month with no file is missing,
    never zero: :func:`coverage` lists it with ``present = False``.

    Examples
    --------
    A data.police.uk monthly archive, then its force x month coverage::

        searches = dispro.read_police_uk("2024-03.zip")
        dispro.coverage(searches)
    """
    check_choice("clock", clock, CLOCKS)
    mapping = load_mapping("police_uk")
    canonical = {"force", "month"}
    sources = _collect(paths, member_limit(max_member_bytes))
    slugs = {s.slug for s in sources}
    forces = {}
    for slug in sorted(slugs):
        try:
            forces[slug] = normalise_force(slug)
        except ValidationError as exc:
            files = [s.name for s in sources if s.slug == slug][:3]
            raise DisproError(
                f"a file from a force not in the force list ({files}): {exc}"
            ) from exc
    seen: dict[tuple[str, str], str] = {}
    for s in sources:
        key = (forces[s.slug], s.month)
        if key in seen:
            raise DisproError(
                f"the same force and month was given twice: {key[0]} {key[1]} in {seen[key]!r} "
                f"and {s.name!r}. Give each month once (e.g. not both a folder and the zip "
                "that holds the same files)."
            )
        seen[key] = s.name
    pieces = fast.read_pieces(
        sources,
        mapping,
        canonical,
        strict,
        lambda s: fast.from_frame(_read_one(s, mapping, canonical, strict), mapping),
    )
    header_only = [s.name for s, p in zip(sources, pieces, strict=True) if not p.rows]
    text = [c for c in dict.fromkeys(mapping.columns.values()) if c != "date"]
    coded, stamps = fast.combine(pieces, text, "date")
    source_of = np.repeat(np.arange(len(sources), dtype="int32"), [p.rows for p in pieces])
    # where each row came from, for messages; the columns themselves stay coded
    names = [s.name for s in sources]
    frame = pd.DataFrame(
        {"_source": source_of, "_line": np.concatenate([p.lines for p in pieces])},
        index=pd.RangeIndex(len(source_of)),
    )
    short = np.zeros(len(frame), dtype=bool)
    if any(p.short is not None for p in pieces):  # a file read by the original path
        frame["_short"] = pd.Series(
            np.concatenate(
                [np.full(p.rows, None, object) if p.short is None else p.short for p in pieces]
            ),
            dtype=object,
        )
        short = frame["_short"].notna().to_numpy()
    n_read = len(frame)
    frame.attrs["exclusions"] = []
    ledger.record(frame, STEP, f"rows read from {len(sources)} file(s)", n_read, "read")
    for p in pieces:
        for e in p.exclusions:
            frame.attrs["exclusions"].append(e)
    if header_only:
        warnings.warn(
            f"{len(header_only)} file(s) hold a header and no searches (taken as zero searches that "
            f"month, present in the coverage table): {header_only[:5]}",
            DataQualityWarning,
            stacklevel=2,
        )
    problems = _Problems(strict, coded, names)
    # --- rows with fewer fields than the header: their last cells are absent, not blank
    problems.add(
        frame,
        short,
        "_short",
        "have fewer fields than the header (cells missing at the end of the line)",
        "A truncated download or a hand-edited file; re-download the file.",
        record_as="rows with fewer fields than the header (dropped)",
        action="excluded",
        label="row length",
    )
    if short.any() and not strict:
        frame = frame.loc[~short].reset_index(drop=True)
        coded.update({c: v.take(~short) for c, v in coded.items()})
        stamps = stamps.filter(pa.array(~short))
        source_of = source_of[~short]
    out = {}  # the columns of the result, in the order of the rows of `frame`

    # --- dates, with the stated clock assumption (data.police.uk's own stamps parsed at once)
    parsed = fast.police_uk_dates(stamps)
    if parsed is not None:
        parsed, stamp_month = parsed  # and the UK local month of each stamp
    else:
        stamp_month = np.zeros(0)
        frame["date"] = pd.Series(stamps.to_numpy(zero_copy_only=False), dtype=object)
        frame["date"] = frame["date"].where(frame["date"].notna(), np.nan)
        raw_date = frame["date"].astype("string")
        # pandas reads 'now' and 'today' as the current time, and '2019' or '2019-07' as the
        # first day of the year or month: only stamps with at least a whole date are dates here
        whole = (raw_date.str.strip().str.len() >= 10).fillna(False).astype(bool)
        parsed = pd.to_datetime(
            raw_date.where(whole & ~raw_date.isin(["now", "today"])),
            errors="coerce",
            format="ISO8601",
            utc=True,
        )
    bad_date = parsed.isna().to_numpy()
    problems.add(
        frame,
        bad_date,
        "date",
        "have a missing or malformed date",
        "Dates must be ISO 8601 with at least a whole date, e.g. 2024-03-01T14:05:00+00:00.",
        record_as="rows with a missing or malformed date (dropped)",
        action="excluded",
    )
    if clock == "uk_local":
        wall = parsed.dt.tz_localize(None)
        parsed = wall.dt.tz_localize(
            "Europe/London",
            ambiguous=np.ones(len(wall), dtype=bool),
            nonexistent=pd.Timedelta(hours=1),
        ).dt.tz_convert("UTC")
    out["date"] = parsed.set_axis(frame.index)
    out["month"] = fast.strings([s.month for s in sources], source_of, infer=False)
    out["force"] = fast.strings([forces[s.slug] for s in sources], source_of, infer=False)
    if clock != "utc" or len(stamp_month) != len(parsed):  # not the stamps read at once
        local = out["date"].dt.tz_convert("Europe/London")
        stamp_month = (local.dt.year * 100 + local.dt.month).to_numpy("float64", na_value=np.nan)
    file_month = np.array([int(s.month[:4]) * 100 + int(s.month[5:7]) for s in sources])
    outside = ~bad_date & (stamp_month != file_month[source_of])
    if outside.any():
        warnings.warn(
            f"{int(outside.sum())} search(es) are dated outside their file's month (kept; the "
            f"file's month is in `month`): {_where(frame, outside, names)}",
            DataQualityWarning,
            stacklevel=2,
        )
        ledger.record(
            frame, STEP, "rows dated outside their file's month (kept)", int(outside.sum()), "noted"
        )

    # --- search type and vehicle-only searches
    types = codelist("search_type").set_index("code")
    kind = coded["search_type"]
    unknown_type = ~kind.blank & ~kind.isin(types.index)
    problems.add(
        frame,
        unknown_type | kind.blank,
        "search_type",
        "have a missing or unknown search type",
        _suggest(kind.rows(unknown_type), types.index) + f"Allowed: {list(types.index)}.",
        record_as="rows with a missing or unknown search type (kept)",
        action="noted",
    )
    out["search_type"] = kind.rows()
    vehicle = types["vehicle_only"].str.lower().eq("true")
    out["vehicle_only"] = fast.booleans(_distinct(kind).map(vehicle), kind.codes)

    # --- ethnicity: self-defined, officer-defined, the 5+1 group and its basis
    mapped = {}
    vocabulary = list(GROUPS)  # each row's group as a number: its position here
    for scheme, listed, what, extra in (
        (
            "self_defined",
            "ethnicity_police_self_defined",
            "a self-defined ethnicity label",
            "Add genuine labels to data_dictionary/codelists/ethnicity_police_self_defined.csv.",
        ),
        ("officer_defined", "ethnicity_officer_defined", "an officer-defined ethnicity", ""),
    ):
        column = f"{scheme}_ethnicity"
        labels = coded[column]
        group = to_group(_distinct(labels), scheme, unknown="missing").to_numpy(dtype=object)
        unknown = pd.isna(group)[labels.codes]
        problems.add(
            frame,
            unknown,
            column,
            f"have {what} not in the code list",
            _suggest(labels.rows(unknown), codes(listed)) + extra,
            record_as=f"unknown {scheme.replace('_', '-')} ethnicity labels mapped to Not stated",
        )
        out[column] = labels.rows()
        filled = np.where(pd.isna(group), NOT_STATED, group)
        vocabulary.extend(g for g in dict.fromkeys(filled) if g not in vocabulary)
        mapped[scheme] = np.array([vocabulary.index(g) for g in filled], "int32")[labels.codes]
        if scheme == "self_defined":
            unknown_self = unknown
    self_group, officer_group = mapped["self_defined"], mapped["officer_defined"]
    not_stated = self_group == vocabulary.index(NOT_STATED)
    ledger.record(
        frame,
        STEP,
        "self-defined ethnicity 'Other ethnic group - Not stated' or blank: group Not stated (never Other)",
        int((not_stated & ~unknown_self).sum()),
        "relabelled",  # unknown labels have their own entry
    )
    basis = not_stated.astype("int32")  # BASES: self_defined, not_recorded, officer_defined
    ethnicity = self_group
    if fallback:
        use_officer = not_stated & (officer_group != vocabulary.index(NOT_STATED))
        ethnicity = np.where(use_officer, officer_group, self_group)
        basis[use_officer] = 2
        ledger.record(
            frame,
            STEP,
            "fallback: officer-defined group used where self-defined was not stated",
            int(use_officer.sum()),
            "relabelled",
        )
    out["ethnicity"] = fast.strings(vocabulary, ethnicity)
    out["ethnicity_basis"] = fast.strings(
        ("self_defined", "not_recorded", "officer_defined"), basis
    )
    out["officer_ethnicity"] = fast.strings(vocabulary, officer_group)

    # --- outcomes, harmonised through the code list
    outcome_map = codelist("stop_search_outcome_map").set_index("code")
    raw = coded["outcome_raw"]
    blank_outcome = raw.blank
    unknown_outcome = ~blank_outcome & ~raw.isin(outcome_map.index)
    problems.add(
        frame,
        unknown_outcome,
        "outcome_raw",
        "have an outcome label not in the harmonisation map",
        _suggest(raw.rows(unknown_outcome), outcome_map.index)
        + "Add it to data_dictionary/codelists/stop_search_outcome_map.csv with its harmonised outcome.",
        record_as="unknown outcome labels mapped to not_recorded",
    )
    harmonised = _distinct(raw).map(outcome_map["outcome"]).fillna("not_recorded")
    out["outcome"] = fast.strings(harmonised.to_numpy(dtype=object), raw.codes)
    out["outcome_raw"] = raw.rows()
    for col in ("any_further_action", "arrest"):
        flag = outcome_map[col].str.lower().map({"true": True, "false": False})
        out[col] = fast.booleans(_distinct(raw).map(flag), raw.codes)
    ledger.record(
        frame,
        STEP,
        "blank outcome: harmonised outcome not_recorded",
        int(blank_outcome.sum()),
        "noted",
    )

    # --- booleans: True/False, blank = not recorded
    for col in _BOOLEANS:
        given = coded[col]
        text_ = _distinct(given).astype("string").str.strip().str.lower()
        value = text_.map({"true": True, "false": False})
        bad = (text_.notna().to_numpy() & value.isna().to_numpy())[given.codes]
        problems.add(
            frame,
            bad,
            col,
            "are not True/False",
            "Use True, False or blank.",
            record_as=f"{col}: values that are not True/False set to not recorded",
        )
        out[col] = fast.booleans(value, given.codes)

    # --- coordinates: numbers, in the United Kingdom
    for col, (low, high) in (("latitude", LATITUDE), ("longitude", LONGITUDE)):
        given = coded[col]
        # the distinct values (with a blank only where there is one: it decides the dtype)
        values = given.uniques if not given.blank.any() else np.append(given.uniques, np.nan)
        number = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").to_numpy()
        num = pd.Series(number[given.codes], index=frame.index)
        bad = ~given.blank & num.isna().to_numpy()
        problems.add(
            frame,
            bad,
            col,
            "are not numbers",
            "Coordinates are decimal degrees.",
            record_as=f"{col}: non-numeric values set to missing",
        )
        outside = num.notna().to_numpy() & ~num.between(low, high).to_numpy()
        problems.add(
            frame,
            outside,
            col,
            f"are outside {low:g} to {high:g} degrees (not in England and Wales)",
            "Coordinates are decimal degrees (WGS84); a value such as 999 or 0 marks a "
            "location that was not recorded: leave the cell blank.",
            record_as=f"{col}: values outside {low:g} to {high:g} set to missing",
        )
        out[col] = num.where(~outside)

    # --- other coded fields: unknown codes are errors (strict) or kept with a warning
    for col, listname in _CODED.items():
        allowed = set(codes(listname))
        unknown = ~coded[col].blank & ~coded[col].isin(allowed)
        problems.add(
            frame,
            unknown,
            col,
            f"have values not in the code list {listname!r}",
            _suggest(coded[col].rows(unknown), allowed)
            + f"Add genuine labels to data_dictionary/codelists/{listname}.csv.",
            record_as=f"{col}: values not in the code list (kept)",
            action="noted",
        )
    problems.raise_if_any(len(sources))
    for col in ("sex", "age_band", "legislation", "object_of_search", "policing_operation"):
        out[col] = coded[col].rows(missing=None)

    order = [
        "date", "month", "force", "search_type", "vehicle_only", "part_of_policing_operation",
        "policing_operation", "latitude", "longitude", "sex", "age_band", "self_defined_ethnicity",
        "officer_defined_ethnicity", "ethnicity", "ethnicity_basis", "officer_ethnicity",
        "legislation", "object_of_search", "outcome", "outcome_raw", "any_further_action",
        "arrest", "outcome_linked", "removal_outer_clothing",
    ]  # fmt: skip
    result = pd.DataFrame({c: out[c].set_axis(frame.index) for c in order}, copy=False)
    supplied = {
        v: ~coded[v].blank if result[v].dtype == object else result[v].notna().to_numpy()
        for v in SUPPLIED_FIELDS.values()
    }
    if bad_date.any():
        result = result.loc[~bad_date].reset_index(drop=True)
        source_of = source_of[~bad_date]
        supplied = {v: s[~bad_date] for v, s in supplied.items()}
    cov = _coverage_records(supplied, sources, forces, source_of)
    result.attrs = {
        "exclusions": frame.attrs["exclusions"],
        "coverage": cov,
        "clock": clock,
        "fallback": fallback,
        "source": "data.police.uk",
    }
    ledger.record(
        result,
        STEP,
        "vehicle-only searches (kept and flagged; excluded from per-person measures)",
        int(result["vehicle_only"].fillna(False).sum()),
        "noted",
    )
    return result


def _distinct(column: fast.Coded) -> pd.Series:
    """The distinct values of a coded column, and a blank last (codes -1 take it)."""
    return pd.Series(np.append(column.uniques, np.nan), dtype=object)


def _coverage_records(
    supplied: dict, sources: list[_Source], forces: dict, source_of: np.ndarray
) -> list[dict]:
    """Force x month table as a list of dicts (kept in attrs; :func:`coverage` makes the frame).

    Each file is one force and month (a force and month given twice is refused), so the rows
    and supplied fields of a force-month are those of its file. ``supplied``: for each field of
    :data:`SUPPLIED_FIELDS`, whether each row has it; ``source_of``: each row's file.
    """
    n = len(sources)
    table = pd.DataFrame(
        {
            "force": [forces[s.slug] for s in sources],
            "month": [s.month for s in sources],
            "source": [s.name for s in sources],
            "rows": np.bincount(source_of, minlength=n).astype(int),
        }
    )
    for k, v in SUPPLIED_FIELDS.items():
        table[k] = np.bincount(source_of, weights=supplied[v], minlength=n) > 0
    table["present"] = True
    # months between a force's first and last file with no file: missing, never zero
    given: dict[str, set[str]] = {}
    for force, month in zip(table["force"], table["month"], strict=True):
        given.setdefault(force, set()).add(month)
    gaps = [
        {"force": force, "month": m, "present": False, "rows": None, "source": None}
        for force in sorted(given)
        for m in _months_between(min(given[force]), max(given[force]))
        if m not in given[force]
    ]
    if gaps:
        table = pd.concat([table, pd.DataFrame(gaps)], ignore_index=True)
    table = table.sort_values(["force", "month"]).reset_index(drop=True)
    return table[list(COVERAGE_COLUMNS)].to_dict("records")


def _months_between(first: str, last: str) -> list[str]:
    """The months ``YYYY-MM`` from ``first`` to ``last``, both included."""
    year, month = int(first[:4]), int(first[5:7])
    months = []
    while f"{year:04d}-{month:02d}" <= last:
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def person_searches(records: pd.DataFrame) -> pd.DataFrame:
    """Searches of a person (vehicle-only searches excluded and counted in the ledger)."""
    if "vehicle_only" not in records.columns:
        raise ValidationError(
            "the records have no 'vehicle_only' column; read them with read_police_uk"
        )
    mask = records["vehicle_only"].fillna(False).to_numpy(dtype=bool)
    out = records.loc[~mask].copy()
    out.attrs = {**records.attrs, "exclusions": list(records.attrs.get("exclusions", []))}
    ledger.record(
        out,
        "person_searches",
        "vehicle-only searches excluded from per-person measures",
        int(mask.sum()),
    )
    return out
