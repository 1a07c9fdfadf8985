"""What every reader does to a file before reading it, once: decode, parse, bound, tell apart.

- :func:`decode_utf8`: bytes to text; bytes that are not UTF-8 raise with the file's byte offset
  and line (never the bytes around them: an error message never quotes a file's contents).
- :func:`parse_csv`: CSV text to a frame of text cells indexed by the line on which each record
  starts, with the number of fields each record had (a row with fewer fields than the header is
  told apart from a row with blank cells at the end), and repeated header names refused.
- :func:`read_member`: a zip member is refused before it is read when it declares more bytes than
  the limit (:data:`MAX_MEMBER_BYTES`, the environment variable :data:`MAX_MEMBER_ENV` or a
  reader's ``max_member_bytes``), and read with a bounded read so that a header that lies cannot
  take more.
"""

from __future__ import annotations

import csv
import io
import os
import zipfile
import zlib
from collections import Counter

import numpy as np
import pandas as pd

from ..errors import DisproError, ParameterError, ValidationError

__all__ = [
    "MAX_MEMBER_BYTES",
    "MAX_MEMBER_ENV",
    "decode_utf8",
    "header_names",
    "member_limit",
    "parse_csv",
    "read_member",
    "shown_names",
]

#: Default limit on the uncompressed size of one zip member (a monthly force file is a few MB).
MAX_MEMBER_BYTES = 512 * 2**20
#: Environment variable that overrides :data:`MAX_MEMBER_BYTES` (a whole number of bytes).
MAX_MEMBER_ENV = "DISPRO_MAX_ZIP_MEMBER_BYTES"

_BOM = b"\xef\xbb\xbf"
_NAME_CHARS = 60  # a column name longer than this is cut in messages
_NAMES_SHOWN = 30  # at most this many column names in a message


def shown_names(names, limit: int = _NAMES_SHOWN) -> str:
    """Column names for a message: each cut at 60 characters, at most ``limit`` of them."""
    names = [str(n) for n in names]
    cut = [n if len(n) <= _NAME_CHARS else n[: _NAME_CHARS - 1] + "…" for n in names[:limit]]
    more = f" (+{len(names) - limit} more)" if len(names) > limit else ""
    return f"{cut}{more}"


# --------------------------------------------------------------------------------------------
# decoding and parsing
# --------------------------------------------------------------------------------------------


def decode_utf8(data: bytes, name: str, hint: str) -> str:
    """``data`` as text (a UTF-8 byte order mark is dropped), or a :class:`DisproError`."""
    skip = len(_BOM) if data.startswith(_BOM) else 0
    try:
        return data[skip:].decode("utf-8")
    except UnicodeDecodeError as exc:
        offset = skip + exc.start
        line = data[:offset].count(b"\n") + 1
        raise DisproError(
            f"{name}: bytes that are not UTF-8 at byte {offset} (line {line}): the byte there "
            f"is 0x{data[offset]:02X}. {hint}"
        ) from None


def _layout(text: str, n_records: int) -> tuple[np.ndarray, np.ndarray] | None:
    """The line on which each record starts and its number of fields, from the csv module.

    Blank lines (which the pandas parser skips) are skipped the same way. ``None`` when the two
    parsers do not find the same number of records (a malformed file).
    """
    starts, fields, end = [], [], 0
    try:
        reader = csv.reader(io.StringIO(text, newline=""))
        for record in reader:
            blank = not record or (len(record) == 1 and record[0] != "" and not record[0].strip())
            if not blank:
                starts.append(end + 1)
                fields.append(len(record))
            end = reader.line_num
    except csv.Error:
        return None
    if len(starts) != n_records:
        return None
    return np.asarray(starts, dtype="int64"), np.asarray(fields, dtype="int64")


def header_names(cells, name: str) -> list[str]:
    """The column names of a header row's cells (blank: ``Unnamed: <position>``), each once.

    Raises
    ------
    ValidationError
        The header names a column more than once.
    """
    header = [
        f"Unnamed: {i}" if pd.isna(c) or not str(c).strip() else str(c).strip()
        for i, c in enumerate(cells)
    ]
    repeated = [c for c, n in Counter(header).items() if n > 1]
    if repeated:
        raise ValidationError(
            f"{name}: the header names the column(s) {shown_names(repeated)} more than once "
            f"({len(header)} columns); remove or rename the repeated column(s), so that each "
            "column is read once"
        )
    return header


def parse_csv(text: str, name: str, hint: str) -> tuple[pd.DataFrame, np.ndarray]:
    """CSV text as text cells (blank = missing), indexed by the line each record starts on.

    Returns the frame, whose columns are the header's names (a blank name becomes
    ``Unnamed: <position>``), and the number of fields of each row (fewer than the header's when
    cells are missing at the end of the line). The header is read as a row (``header=None``), so
    that a row with more fields than the header is an error naming its line: with ``header=0``
    pandas silently takes the first column as the index when the first data row has one field
    more, shifting every column of the file.

    Raises
    ------
    DisproError
        The text is not readable CSV (``hint`` says how to fix it), or its rows cannot be told
        apart reliably.
    ValidationError
        The header names a column more than once.
    """
    try:
        cells = pd.read_csv(
            io.StringIO(text), header=None, dtype=object, keep_default_na=False, na_values=[""],
            skipinitialspace=False,
        )  # fmt: skip
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        reason = " ".join(str(exc).split())[:200]
        raise DisproError(f"{name}: not a readable CSV file ({reason}). {hint}") from None
    header = header_names(cells.iloc[0], name)
    layout = _layout(text, len(cells))
    if layout is None:
        raise DisproError(
            f"{name}: the rows of the file cannot be told apart reliably (two CSV parsers find "
            "different rows: usually an unclosed quote, or a stray carriage return or NUL "
            "character); re-download the file, or re-save it as CSV UTF-8"
        )
    starts, fields = layout
    frame = cells.iloc[1:].reset_index(drop=True)
    frame.columns = header
    frame.index = pd.Index(starts[1:])
    return frame, fields[1:]


# --------------------------------------------------------------------------------------------
# zip members, bounded
# --------------------------------------------------------------------------------------------


def member_limit(value=None) -> int:
    """The zip member limit: ``value`` if given, else :data:`MAX_MEMBER_ENV`, else the default."""
    if value is None:
        env = os.environ.get(MAX_MEMBER_ENV, "").strip()
        if not env:
            return MAX_MEMBER_BYTES
        if not env.isdigit() or int(env) < 1:
            raise ParameterError(
                f"the environment variable {MAX_MEMBER_ENV} must be a whole number of bytes of 1 "
                f"or more (e.g. {MAX_MEMBER_BYTES}), but {env[:40]!r} is set"
            )
        return int(env)
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ParameterError(
            f"`max_member_bytes` must be a whole number of bytes of 1 or more (e.g. "
            f"{MAX_MEMBER_BYTES}), but {value!r} was passed"
        )
    return int(value)


def read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int, where: str) -> bytes:
    """The bytes of one zip member, refused before reading if it declares more than ``limit``."""
    fix = (
        f"If the file is genuine, raise the limit with `max_member_bytes` or the environment "
        f"variable {MAX_MEMBER_ENV}."
    )
    if info.file_size > limit:
        raise DisproError(
            f"{where}: the zip member declares {info.file_size:,} bytes uncompressed "
            f"({info.compress_size:,} compressed), over the limit of {limit:,} bytes; it was not "
            f"read (a data.police.uk monthly force file is a few MB). {fix}"
        )
    try:
        with archive.open(info) as fh:
            data = fh.read(limit + 1)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError,
            NotImplementedError) as exc:  # fmt: skip
        raise DisproError(
            f"{where}: the zip member cannot be read ({type(exc).__name__}: {exc}); the "
            "archive is damaged or incomplete: download it again"
        ) from exc
    if len(data) > limit:  # pragma: no cover - zipfile stops at the declared size
        raise DisproError(
            f"{where}: the zip member holds more than the limit of {limit:,} bytes although it "
            f"declares {info.file_size:,}; the archive is damaged or crafted. {fix}"
        )
    return data
