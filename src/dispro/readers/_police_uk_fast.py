"""The fast path of :func:`dispro.read_police_uk`: plain files parsed by pyarrow, labels coded once.

A data.police.uk file is parsed by pyarrow (every column as text; small files with the same
header together, in one call) when nothing in it could be read differently by pyarrow and by the
pandas + ``csv`` path of :func:`._files.parse_csv`: no quote character, no NUL, no carriage return
outside a CRLF line end, no second byte order mark, no blank line, every line holding as many
fields as the header, UTF-8 throughout. Such a file's records are its lines, so the line each
record starts on is known without the ``csv`` module. Any other file (a quote, a short row, bytes
that are not UTF-8, a header alone...) goes through the original path, which says what is wrong
with it, so that results, messages and warnings are those of the original path in every case.

Every text column is then held as codes into its distinct values (:class:`Coded`), so that code
lists, booleans and coordinates are checked and mapped once per distinct value, not per row, and
data.police.uk's own time stamps are read from their digits at once (:func:`police_uk_dates`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from ..errors import DisproError
from ._files import header_names
from .mapping import Mapping, apply_mapping

__all__ = [
    "Coded",
    "Piece",
    "booleans",
    "combine",
    "from_frame",
    "police_uk_dates",
    "read_pieces",
    "strings",
]

_BOM = b"\xef\xbb\xbf"
_TEXT = pa.dictionary(pa.int32(), pa.string())
#: The stamp data.police.uk writes, ``YYYY-MM-DDTHH:MM:SS+00:00``: where its digits are, and
#: its other characters. Years from 1900 and every field in range are checked after.
_IS_DIGIT = np.array([c == "9" for c in "9999-99-99T99:99:99+00:00"])
_FORM = np.frombuffer(b"0000-00-00T00:00:00+00:00", dtype=np.uint8)
_DIGIT_MAX = np.where(_IS_DIGIT, 9, 255).astype(np.uint8)
_DAYS_IN_MONTH = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
_COLUMNS_CACHE: dict = {}
_JOIN_BYTES = 2**20  # files smaller than this on average are parsed together


@dataclass
class Piece:
    """One file's records: each canonical column as pyarrow chunks, and where each row came from."""

    rows: int
    columns: dict  # canonical field -> list of pyarrow arrays (dictionary or string)
    lines: np.ndarray  # the line each record starts on
    short: np.ndarray | None  # "k of n fields" for a short row, else None (object)
    exclusions: list = field(default_factory=list)


def _positions(names: list[str], mapping: Mapping, source: str, canonical, strict) -> dict:
    """``{canonical field: position in the file}``, through :func:`apply_mapping` itself."""
    known = mapping.source_columns() | set(canonical)
    key = (tuple(names), strict, mapping.name, frozenset(canonical))
    cacheable = set(names) <= known  # nothing to warn about: the same answer for every file
    if cacheable and key in _COLUMNS_CACHE:
        return _COLUMNS_CACHE[key]
    probe = pd.DataFrame([list(range(len(names)))], columns=names)
    out = apply_mapping(probe, mapping, source=source, canonical=canonical, strict=strict)
    positions = {str(c): int(out[c].iloc[0]) for c in out.columns}
    if cacheable:
        _COLUMNS_CACHE[key] = positions
    return positions


@dataclass
class _Plain:
    """A file that passed the byte checks: its header and its records' bytes."""

    header: bytes  # the header line, as in the file (without its line end)
    names: list  # the column names, as the original path reads them
    body: memoryview  # the records
    ended: bool  # the last record has its line end


def _plain(data: bytes, name: str) -> _Plain | None:
    """The file split into header and records, or ``None`` when it is not a plain file.

    Blank lines are looked for after parsing (:func:`_parse`); a line of spaces is a record of
    one field, which does not parse, so that the file goes to the original path.
    """
    raw = memoryview(data)[len(_BOM) :] if data.startswith(_BOM) else memoryview(data)
    carriage = b"\r" in data
    if b'"' in data or b"\x00" in data or (carriage and data.count(b"\r") != data.count(b"\r\n")):
        return None
    if raw[:1] in (b"\n", b"\r") or raw[:3] == _BOM:  # a second mark: pandas drops it
        return None
    end = data.find(b"\n", len(data) - raw.nbytes)
    if end < 0 or end + 1 == len(data):
        return None  # a header alone
    end -= len(data) - raw.nbytes
    try:
        cells = str(raw[:end], "utf-8").removesuffix("\r").split(",")
    except UnicodeDecodeError:
        return None
    if len(cells) < 2:
        return None
    try:
        names = header_names(cells, name)
    except DisproError:
        return None  # the original path raises it, after any error it finds first
    return _Plain(bytes(raw[:end]), names, raw[end + 1 :], data.endswith(b"\n"))


def _parse(body, names: list, mapping: Mapping) -> pa.Table | None:
    """Records parsed by pyarrow, every column as text; ``None`` when they do not parse."""
    dates = {i for i, c in enumerate(names) if mapping.columns.get(c, c) == "date"}
    generated = [f"f{i}" for i in range(len(names))]
    try:
        table = pacsv.read_csv(
            pa.BufferReader(pa.py_buffer(body)),
            read_options=pacsv.ReadOptions(column_names=generated),
            parse_options=pacsv.ParseOptions(newlines_in_values=False, ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(
                column_types={
                    g: pa.string() if i in dates else _TEXT for i, g in enumerate(generated)
                },
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
                null_values=[""],
                check_utf8=True,
            ),
        )
    except pa.ArrowException:
        return None
    # a blank line is a record with every field missing here, and no record for the original
    # path: only when no column is ever given is it looked for
    if all(c.null_count for c in table.columns):
        text = bytes(body)
        if text.startswith((b"\n", b"\r\n")) or b"\n\n" in text or b"\n\r\n" in text:
            return None
    return table


def _parse_group(plain: list[_Plain], mapping: Mapping) -> list:
    """The tables of files with one header: small files are parsed together, in one call."""
    if len(plain) == 1 or sum(p.body.nbytes for p in plain) > _JOIN_BYTES * len(plain):
        return [_parse(p.body, p.names, mapping) for p in plain]
    parts = [part for p in plain for part in ((p.body,) if p.ended else (p.body, b"\n"))]
    joined = b"".join(parts)
    rows, at = [], 0
    for p in plain:
        size = p.body.nbytes + (0 if p.ended else 1)
        rows.append(joined.count(b"\n", at, at + size))
        at += size
    table = _parse(joined, plain[0].names, mapping)
    if table is None or table.num_rows != sum(rows):  # find the files that do not parse
        return [_parse(p.body, p.names, mapping) for p in plain]
    starts = np.concatenate([[0], np.cumsum(rows)])
    return [table.slice(starts[k], rows[k]) for k in range(len(plain))]


def read_pieces(sources: list, mapping: Mapping, canonical, strict: bool, original) -> list:
    """A :class:`Piece` for each source (``.data``, ``.name``), in order.

    Plain files are parsed by pyarrow (small files with the same header together); any file
    that is not plain, or that pyarrow does not parse, is read by ``original`` (a function of
    the source). Headers are checked, and the original path run, file by file in the order
    given, so that warnings and errors come as the original path gives them.
    """
    plain = [None] * len(sources)
    if not (mapping.rows or mapping.wide or mapping.codes or mapping.constants):
        plain = [_plain(s.data, s.name) for s in sources]
    groups: dict = {}
    for i, p in enumerate(plain):
        if p is not None:
            groups.setdefault(p.header, []).append(i)
    tables: dict = {}
    for members in groups.values():
        tables.update(zip(members, _parse_group([plain[i] for i in members], mapping), strict=True))
    pieces = []
    for i, src in enumerate(sources):
        table = tables.get(i)
        if table is None:
            pieces.append(original(src))
            continue
        # the file reads the same either way: its header is checked as the original path does
        positions = _positions(plain[i].names, mapping, src.name, canonical, strict)
        columns = {c: table.column(p).chunks for c, p in positions.items()}
        n = table.num_rows
        for c in mapping.columns.values():
            columns.setdefault(c, [pa.nulls(n, pa.string())])
        pieces.append(Piece(n, columns, np.arange(2, n + 2, dtype="int64"), None))
    return pieces


def from_frame(frame: pd.DataFrame, mapping: Mapping) -> Piece:
    """A :class:`Piece` from a frame read by the original path."""
    columns = {}
    for c in dict.fromkeys(mapping.columns.values()):
        values = frame[c].astype(object).where(frame[c].notna(), None).to_numpy()
        columns[c] = [pa.array(values, type=pa.string())]
    return Piece(
        len(frame),
        columns,
        frame["_line"].to_numpy(dtype="int64"),
        frame["_short"].to_numpy(dtype=object),
        list(frame.attrs.get("exclusions", [])),
    )


@dataclass
class Coded:
    """A text column as codes (``-1`` = blank) into its distinct values."""

    codes: np.ndarray
    uniques: np.ndarray  # object: the distinct values (str)

    @property
    def blank(self) -> np.ndarray:
        return self.codes < 0

    def values(self, missing=np.nan) -> np.ndarray:
        """The row values (object), ``missing`` for a blank."""
        return np.append(self.uniques, np.array([missing], dtype=object))[self.codes]

    def rows(self, mask: np.ndarray | None = None, missing=np.nan) -> pd.Series:
        """The row values (of the rows in ``mask``) as an object Series."""
        codes = self.codes if mask is None else self.codes[mask]
        values = np.append(self.uniques, np.array([missing], object))[codes]
        return pd.Series(values, dtype=object, copy=False)

    def isin(self, allowed) -> np.ndarray:
        extended = pd.Series(np.append(self.uniques, np.nan), dtype=object)
        return extended.isin(list(allowed)).to_numpy()[self.codes]

    def take(self, keep: np.ndarray) -> Coded:
        """The rows in ``keep``, with only the values they hold (a value decides a dtype)."""
        codes = self.codes[keep]
        used = np.unique(codes[codes >= 0])
        renumber = np.full(len(self.uniques) + 1, -1, dtype="int32")
        renumber[used] = np.arange(len(used), dtype="int32")
        return Coded(renumber[codes], self.uniques[used])


def strings(values, codes: np.ndarray, infer: bool = True) -> pd.Series:
    """``values[codes]`` as a ``str`` Series (pyarrow storage, as pandas infers for text).

    A negative code counts from the end, as in numpy (``-1``: a blank's value, kept last). With
    ``infer``, no rows give an empty object Series, as pandas gives for an empty object array.
    """
    if infer and not len(codes):
        return pd.Series(np.array([], dtype=object), dtype=object)
    values = list(values)
    codes = np.where(codes < 0, codes + len(values), codes) if (codes < 0).any() else codes
    taken = pa.array(values, type=pa.large_string()).take(pa.array(codes))  # pandas' storage
    return pd.Series(taken, dtype=pd.StringDtype(na_value=np.nan))


def booleans(values, codes: np.ndarray) -> pd.Series:
    """``values[codes]`` (True, False or missing) as a nullable ``boolean`` Series."""
    values = pd.Series(values, dtype=object).to_numpy()
    missing = pd.isna(values)
    data = np.where(missing, False, values).astype(bool)
    return pd.Series(pd.arrays.BooleanArray(data[codes], missing[codes]))


def _coded(chunks: list) -> Coded:
    encoded = [c if pa.types.is_dictionary(c.type) else c.dictionary_encode() for c in chunks]
    encoded = [c.cast(_TEXT) if c.type != _TEXT else c for c in encoded]
    unified = pa.chunked_array(encoded, type=_TEXT).unify_dictionaries()
    if unified.num_chunks == 0:
        return Coded(np.zeros(0, dtype="int32"), np.array([], dtype=object))
    indices = pa.chunked_array([c.indices for c in unified.chunks], type=pa.int32())
    codes = pc.fill_null(indices, -1).to_numpy()
    uniques = unified.chunk(0).dictionary.to_numpy(zero_copy_only=False).astype(object)
    return Coded(np.asarray(codes, dtype="int32"), uniques)


def combine(pieces: list[Piece], text: list[str], dates: str) -> tuple[dict, pa.ChunkedArray]:
    """Every text column of all pieces as :class:`Coded`, and the date column as text."""
    coded = {c: _coded([a for p in pieces for a in p.columns[c]]) for c in text}
    stamps = [
        a.cast(pa.string()) if pa.types.is_dictionary(a.type) else a
        for p in pieces
        for a in p.columns[dates]
    ]
    return coded, pa.chunked_array(stamps, type=pa.string())


def police_uk_dates(stamps: pa.ChunkedArray) -> tuple[pd.Series, np.ndarray] | None:
    """UTC timestamps when every stamp is data.police.uk's own form and a real date, else None.

    The values and type (``datetime64[us, UTC]``) that ``pd.to_datetime(..., format="ISO8601",
    utc=True)`` gives for such stamps, read from the digits at once; any other stamp (and any
    impossible date, such as 30 February) is left to the original path. Also the UK local
    month of each stamp (``YYYYMM``; see :func:`_local_months`).
    """
    n = len(stamps)
    if stamps.null_count or not n:
        return None
    whole = stamps.combine_chunks()
    offsets = np.frombuffer(whole.buffers()[1], dtype=np.int32)[whole.offset :][: n + 1]
    if (np.diff(offsets) != 25).any():
        return None
    text = np.frombuffer(whole.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
    text = text.reshape(n, 25)
    digit = text - np.uint8(ord("0"))  # a byte below "0" wraps round
    if not (digit <= _DIGIT_MAX).all() or not (text[:, ~_IS_DIGIT] == _FORM[~_IS_DIGIT]).all():
        return None  # not YYYY-MM-DDTHH:MM:SS+00:00

    def number(first: int, width: int) -> np.ndarray:
        value = digit[:, first].astype(np.int32)
        for k in range(first + 1, first + width):
            value = value * 10 + digit[:, k]
        return value

    year, month, day = number(0, 4), number(5, 2), number(8, 2)
    hour, minute, second = number(11, 2), number(14, 2), number(17, 2)
    if ((year < 1900) | (month < 1) | (month > 12) | (day < 1)).any():
        return None
    if ((hour > 23) | (minute > 59) | (second > 59)).any():
        return None
    # each month from the first year's January: its first day and its length
    first = int(year.min())
    month_index = (year - first) * 12 + month - 1
    starts, lengths = _months_from(first, int(month_index.max()) + 1)
    last = lengths[month_index]
    if (day > last).any():
        return None
    seconds = (starts[month_index] + day - 1) * 86400 + (hour * 3600 + minute * 60 + second)
    dates = pd.Series((seconds * 1_000_000).view("datetime64[us]")).dt.tz_localize("UTC")
    return dates, _local_months(dates, year * 100 + month, (hour == 23) & (day == last), year)


def _months_from(year: int, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Days since 1970-01-01 of the first day of ``count`` months from January of ``year``
    (proleptic Gregorian; H. Hinnant's days_from_civil), and the length of each month."""
    k = np.arange(count, dtype=np.int64)
    years, months = year + k // 12, k % 12 + 1
    shifted = years - (months <= 2)
    era = shifted // 400
    of_era = shifted - era * 400
    of_year = (153 * ((months + 9) % 12) + 2) // 5
    starts = era * 146097 + of_era * 365 + of_era // 4 - of_era // 100 + of_year - 719468
    leap = (years % 4 == 0) & ((years % 100 != 0) | (years % 400 == 0))
    return starts, _DAYS_IN_MONTH[months - 1] + (leap & (months == 2))


def _local_months(dates: pd.Series, utc: np.ndarray, edge: np.ndarray, year) -> np.ndarray:
    """The UK local month (``YYYYMM``) of UTC ``dates`` whose UTC month is ``utc``.

    Since 1972 UK local time is UTC or one hour ahead, so only a time in the last hour of a
    month (``edge``) can fall in another local month: those are converted, the rest kept.
    """
    if (year < 1972).any():
        edge = np.ones(len(dates), dtype=bool)
    months = utc.astype("float64")
    if edge.any():
        local = dates[edge].dt.tz_convert("Europe/London")
        months[edge] = (local.dt.year * 100 + local.dt.month).to_numpy(dtype="float64")
    return months
