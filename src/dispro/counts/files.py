"""Record files scanned into cells, in DuckDB or pandas (the file scanners of ``aggregate``).

Both scanners read CSV or parquet record files (one, a list or a glob) into the cells of
:mod:`dispro.counts._cells`: one row per distinct combination of the raw values of the needed
columns, with its number of records. DuckDB runs one ``GROUP BY`` over ``read_csv`` or
``read_parquet`` of only the needed columns, so the records never enter pandas; pandas reads only
the needed columns, a million rows at a time, and groups each chunk on integer codes.
"""

from __future__ import annotations

import codecs
import csv
import glob
import gzip
import io
import os
import shutil
import tempfile
import uuid
from collections.abc import Sequence

import numpy as np
import pandas as pd

from .._checks import check_distinct
from ..errors import DisproError, ParameterError, ValidationError
from ._cells import BAD_DATE, FILE, WS, YM, File, FrameCells, N, Plan, normalise
from .conditions import FALSE_SPELLINGS, TRUE_SPELLINGS, ident, sql
from .periods import bucket, labels, parse_dates, sql_bucket, sql_label, sql_parse_date

__all__ = [
    "MEMORY_ENV",
    "THREADS_ENV",
    "DuckDBCells",
    "PandasCells",
    "file_format",
    "inspect",
    "resolve_paths",
]

MEMORY_ENV = "DISPRO_DUCKDB_MEMORY_LIMIT"
THREADS_ENV = "DISPRO_DUCKDB_THREADS"

_TS = "__dispro_ts"
_CHUNK_ROWS = 1 << 20


def _literal(text: str) -> str:
    """A SQL string literal, single-quoted with embedded quotes doubled (constants only)."""
    return "'" + str(text).replace("'", "''") + "'"


# --------------------------------------------------------------------------------------------
# files
# --------------------------------------------------------------------------------------------


def file_format(path: str) -> str:
    name = path.lower()
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    if name.endswith((".csv", ".csv.gz")):
        return "csv"
    raise DisproError(
        f"cannot tell the format of {path} from its name; record files must end in .csv, "
        ".csv.gz or .parquet"
    )


def resolve_paths(source) -> tuple[list[str], str]:
    """The files ``source`` names, in order, and a description of it.

    A file reached twice (listed twice, by a relative and an absolute path, through a link, or by
    two globs) raises a :class:`DisproError` naming both spellings: its records would count twice.
    """
    if isinstance(source, str | os.PathLike):
        items = [source]
    elif isinstance(source, Sequence) and not isinstance(source, bytes):
        items = list(source)
    else:
        raise ParameterError(
            "`source` must be a path, a glob such as 'data/*.parquet' or a list of them, but a "
            f"{type(source).__name__} was passed"
        )
    if not items:
        raise DisproError("`source` is an empty list: there are no files to aggregate")
    files: list[str] = []
    for item in items:
        if not isinstance(item, str | os.PathLike):
            raise ParameterError(f"`source` must hold paths, but it holds {item!r}")
        text = os.fspath(item)
        if isinstance(item, str) and any(ch in text for ch in "*?["):
            matched = sorted(p for p in glob.glob(text, recursive=True) if os.path.isfile(p))
            if not matched:
                raise DisproError(f"no files match {text!r} (looked from {os.getcwd()})")
            files.extend(matched)
        elif os.path.isdir(text):
            raise DisproError(
                f"{text} is a folder; pass a glob such as "
                f"{os.path.join(text, '*.parquet')!r} or {os.path.join(text, '*.csv')!r}"
            )
        elif not os.path.exists(text):
            raise DisproError(f"{text}: no such file")
        else:
            files.append(text)
    check_distinct(files, "record file")
    unique = files
    shown = ", ".join(os.fspath(i) for i in items[:3]) + (
        f" (+{len(items) - 3} more)" if len(items) > 3 else ""
    )
    return unique, shown


def _open_binary(path: str):
    return gzip.open(path, "rb") if path.lower().endswith(".gz") else open(path, "rb")


def _not_utf8(path: str) -> DisproError | None:
    """The error naming the first bytes of ``path`` that are not UTF-8 (offset and line), if any.

    The file is read in blocks (uncompressed, for .csv.gz), so memory stays bounded.
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = lines = 0
    try:
        with _open_binary(path) as fh:
            while True:
                block = fh.read(1 << 20)
                pending = decoder.getstate()[0]  # bytes of a character cut by the last block
                try:
                    decoder.decode(block, final=not block)
                except UnicodeDecodeError as exc:
                    at = offset - len(pending) + exc.start
                    line = lines + (pending + block)[: exc.start].count(b"\n") + 1
                    return DisproError(
                        f"{path}: bytes that are not UTF-8 at byte {at} (line {line}) "
                        f"of the {'uncompressed ' if path.lower().endswith('.gz') else ''}file. "
                        "Re-save the file as UTF-8 (Excel: 'CSV UTF-8')."
                    )
                if not block:
                    return None
                offset += len(block)
                lines += block.count(b"\n")
    except (OSError, EOFError) as exc:
        return DisproError(f"cannot read {path}: {exc}")


def _csv_header(path: str) -> list[str]:
    try:
        with _open_binary(path) as fh:
            head = fh.read(1 << 20)
    except (OSError, EOFError) as exc:
        raise DisproError(f"cannot read {path}: {exc}") from exc
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    try:
        text = codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        raise (_not_utf8(path) or DisproError(f"{path}: not UTF-8")) from None
    try:
        header = next(csv.reader(io.StringIO(text, newline="")), None)
    except csv.Error as exc:
        raise DisproError(f"cannot read the header line of {path} as CSV: {exc}") from exc
    if not header:
        raise DisproError(f"{path} is empty: a record file needs a header row and records")
    return header


def inspect(path: str, plan: Plan) -> File:
    fmt = file_format(path)
    if os.path.getsize(path) == 0:
        raise DisproError(f"{path} is empty (0 bytes): a record file needs a header and records")
    if fmt == "csv":
        columns = _csv_header(path)
        date_kind = "text"
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            schema = pq.read_schema(path)
        except (OSError, pa.ArrowException) as exc:
            raise DisproError(f"cannot read {path} as a parquet file: {exc}") from exc
        columns = list(schema.names)
        date_kind = None
        if plan.need_date and "date" in columns:
            date_kind = _arrow_date_kind(schema.field("date").type, path)
    return File(path, fmt, columns, date_kind if plan.need_date else None)


def _arrow_date_kind(kind, path: str) -> str:
    import pyarrow as pa

    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return "text"
    if pa.types.is_timestamp(kind):
        return "timestamptz" if kind.tz else "timestamp"
    if pa.types.is_date(kind):
        return "timestamp"
    raise ValidationError(
        f"column 'date' in {path} has the parquet type {kind}; it must hold ISO 8601 text "
        "(YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS+00:00), a date or a timestamp"
    )


# --------------------------------------------------------------------------------------------
# scanning: files -> cells, in DuckDB or pandas
# --------------------------------------------------------------------------------------------


class DuckDBCells:
    """Cells in a DuckDB temporary table; every query runs in SQL."""

    name = "duckdb"

    def __init__(self, files: list[File], plan: Plan, multi: bool):
        try:
            import duckdb
        except ImportError as exc:  # an extra, not in the core install
            raise DisproError(
                "engine='duckdb' needs DuckDB, which is not installed: pip install "
                "'dispro-cjs[duckdb]', or pass engine='pandas' (or 'auto')"
            ) from exc

        self._duckdb = duckdb
        config = _duckdb_config()
        # where DuckDB spills beyond its memory limit; it creates the folder only if it spills
        self._tmp = config["temp_directory"] = os.path.join(
            tempfile.gettempdir(), f"dispro-duckdb-{os.getpid()}-{uuid.uuid4().hex[:12]}"
        )
        try:
            self.con = duckdb.connect(":memory:", config=config)
        except duckdb.Error as exc:
            shutil.rmtree(self._tmp, ignore_errors=True)
            raise ParameterError(
                f"DuckDB refused its settings (threads {config['threads']}, memory limit "
                f"{config.get('memory_limit', 'default')!r}; see {THREADS_ENV} and {MEMORY_ENV}): "
                f"{exc}"
            ) from exc
        try:
            self.con.execute("SET TimeZone = 'UTC'")
            self.con.execute("SET enable_progress_bar = false")
            try:  # one pass over each file: caching its blocks only costs memory (DuckDB >= 1.3)
                self.con.execute("SET enable_external_file_cache = false")
            except duckdb.Error:  # pragma: no cover - older DuckDB
                pass
            self._scan(files, plan, multi)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        try:
            self.con.close()
        finally:
            shutil.rmtree(self._tmp, ignore_errors=True)

    def _scan(self, files: list[File], plan: Plan, multi: bool) -> None:
        # Stage 1 groups the raw text of each needed column (as __dispro_r<i>) with the period of
        # the date; stage 2 normalises the few distinct values. (Casting coded columns to ENUMs of
        # their code list was measured too: with the raw text kept for the values outside the
        # list, it was no faster on these group-bys, so it is not done.)
        raw_keys = [f"__dispro_r{i}" for i in range(len(plan.columns))]
        stage2 = list(zip(plan.columns, raw_keys, strict=True))
        extra = [*([FILE] if multi else []), *([YM, BAD_DATE] if plan.need_date else [])]
        raw_keys += extra

        groups: dict[tuple, list[str]] = {}
        for f in files:
            groups.setdefault((f.format, tuple(f.columns), f.date_kind), []).append(f.path)
        selects, params = [], []
        for (fmt, _, date_kind), paths in groups.items():
            if fmt == "csv":
                reader = (
                    "read_csv(?, header = true, all_varchar = true, delim = ',', quote = '\"', "
                    "escape = '\"'"
                )
            else:
                reader = "read_parquet(?" + (", union_by_name = true" if len(paths) > 1 else "")
            reader += ", filename = true)" if multi else ")"
            inner = [ident(c) for c in plan.columns]
            outer = [f"CAST({ident(c)} AS VARCHAR) AS {key}" for c, key in stage2]
            if multi:
                inner.append(f"filename AS {FILE}")
                outer.append(FILE)
            if plan.need_date:
                d = ident("date")
                if date_kind == "text":
                    ts = sql_parse_date(d)
                    bad = (
                        f"CASE WHEN {_TS} IS NULL AND trim({d}, {_literal(WS)}) <> '' THEN {d} END"
                    )
                    inner.append(d)
                elif date_kind == "timestamptz":
                    ts, bad = f"make_timestamp(epoch_us({d}))", "CAST(NULL AS VARCHAR)"
                else:
                    ts, bad = d, "CAST(NULL AS VARCHAR)"
                inner.append(f"{ts} AS {_TS}")
                ym = f"(year({_TS}) * 12 + month({_TS}) - 1)"
                outer.append(f"{sql_bucket(ym, plan.bucket)} AS {YM}")
                outer.append(f"{bad} AS {BAD_DATE}")
            selects.append(
                f"SELECT {', '.join(outer) or '1 AS __dispro_one'} FROM "
                f"(SELECT {', '.join(dict.fromkeys(inner)) or '*'} FROM {reader})"
            )
            params.append(paths)
        scan = " UNION ALL ".join(selects)
        keys = ", ".join(raw_keys)
        self._run(
            f"CREATE TEMP TABLE __dispro_raw AS SELECT {keys + ', ' if keys else ''}"
            f"count(*) AS {N} FROM ({scan}) {'GROUP BY ALL' if keys else ''}",
            params,
            files,
        )
        # normalise on the (small) cells: blank text is missing; True/False spellings unified
        norm = []
        ws = _literal(WS)
        for c, raw in stage2:
            blank = f"trim({raw}, {ws}) = ''"
            if c in plan.boolean:
                low = f"lower(trim({raw}, {ws}))"
                expr = (
                    f"CASE WHEN {raw} IS NULL OR {blank} THEN NULL "
                    f"WHEN {low} IN ({', '.join(map(_literal, TRUE_SPELLINGS))}) THEN 'true' "
                    f"WHEN {low} IN ({', '.join(map(_literal, FALSE_SPELLINGS))}) THEN 'false' "
                    f"ELSE {raw} END"
                )
            else:
                expr = f"CASE WHEN {blank} THEN NULL ELSE {raw} END"
            norm.append(f"{expr} AS {ident(c)}")
        labels_ = [f"{sql_label(ident(YM), p)} AS {ident(p)}" for p in plan.periods]
        cols = ", ".join([*norm, *extra, *labels_])
        self.con.execute(
            f"CREATE TEMP TABLE cells AS SELECT {cols + ', ' if cols else ''}"
            f"CAST(sum({N}) AS BIGINT) AS {N} FROM __dispro_raw " + ("GROUP BY ALL" if cols else "")
        )
        self.con.execute("DROP TABLE __dispro_raw")

    def _run(self, sql: str, params: list, files: list[File]) -> None:
        try:
            self.con.execute(sql, params)
        except self._duckdb.Error as exc:
            shown = ", ".join(f.path for f in files[:3]) + (" ..." if len(files) > 3 else "")
            if isinstance(exc, self._duckdb.OutOfMemoryException):
                raise DisproError(
                    f"DuckDB ran out of memory aggregating {shown}; raise its limit with the "
                    f"environment variable {MEMORY_ENV} (e.g. '8GB') or lower {THREADS_ENV}: {exc}"
                ) from exc
            if "unicode" in str(exc).lower() or "utf-8" in str(exc).lower():
                for f in files:
                    if f.format == "csv" and (error := _not_utf8(f.path)) is not None:
                        raise error from None
            raise DisproError(
                f"DuckDB could not read the record files ({shown}): {_duckdb_reason(exc)}"
            ) from None

    def sums(self, exprs: list) -> list[int]:
        if not exprs:
            return []
        params: list = []
        parts = [f"coalesce(sum(CASE WHEN {sql(e, params)} THEN {N} ELSE 0 END), 0)" for e in exprs]
        row = self.con.execute(f"SELECT {', '.join(parts)} FROM cells", params).fetchone()
        return [int(v) for v in row]

    def distinct(self, columns: list[str], where) -> pd.DataFrame:
        params: list = []
        cond = sql(where, params)
        cols = ", ".join(ident(c) for c in columns)
        return self.con.execute(
            f"SELECT {cols}, CAST(sum({N}) AS BIGINT) AS rows FROM cells WHERE {cond} GROUP BY ALL",
            params,
        ).df()

    def counts(self, by: list[str], keep, event) -> pd.DataFrame:
        params: list = []
        ev = f"CASE WHEN {sql(event, params)} THEN {N} ELSE 0 END"
        cond = sql(keep, params)
        cols = "".join(f"{ident(c)}, " for c in by)
        return self.con.execute(
            f"SELECT {cols}CAST(coalesce(sum({ev}), 0) AS BIGINT) AS events, "
            f"CAST(coalesce(sum({N}), 0) AS BIGINT) AS base FROM cells WHERE {cond} "
            + ("GROUP BY ALL" if by else ""),
            params,
        ).df()


def _first_line(exc: Exception) -> str:
    """An exception's first line, cut at 300 characters (pandas quotes no cells in it)."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:300] if text else ''}"


def _duckdb_reason(exc: Exception) -> str:
    """DuckDB's message without the file's line it quotes ('Original Line: ...') or the SQL."""
    kept = []
    for line in str(exc).splitlines():
        if line.startswith("LINE ") or line.lstrip().startswith(("Possible ", "file = ")):
            break  # the SQL and its caret, or DuckDB's own options and settings, follow
        if line.strip().lower().startswith("original line"):
            kept.append("(the line is not shown)")
            continue
        kept.append(line)
    return "\n".join(kept).strip()[:1500]


def _duckdb_config() -> dict:
    threads_env = os.environ.get(THREADS_ENV, "").strip()
    if threads_env:
        if not threads_env.isdigit() or int(threads_env) < 1:
            raise ParameterError(
                f"the environment variable {THREADS_ENV} must be a whole number of 1 or more, "
                f"but {threads_env!r} is set"
            )
        threads = int(threads_env)
    else:
        threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
        threads = threads or os.cpu_count() or 1
    memory = os.environ.get(MEMORY_ENV, "").strip()
    if not memory:
        try:
            ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
            memory = f"{max(ram // 2 // 2**20, 256)}MB"  # half the machine; DuckDB spills beyond
        except (ValueError, OSError, AttributeError):
            memory = ""
    config = {
        "threads": threads,
        "preserve_insertion_order": False,  # lets DuckDB stream without keeping row order
    }
    if memory:
        config["memory_limit"] = memory
    return config


class PandasCells(FrameCells):
    """Cells in a pandas DataFrame, built chunk by chunk so that memory stays bounded."""

    name = "pandas"

    def __init__(self, files: list[File], plan: Plan, multi: bool):
        self.plan = plan
        keys = [
            *plan.columns,
            *([FILE] if multi else []),
            *([YM, BAD_DATE] if plan.need_date else []),
        ]
        pieces = []
        for f in files:
            try:
                for chunk in self._chunks(f, plan):
                    pieces.append(self._chunk_cells(chunk, f, plan, multi))
            except DisproError:
                raise
            except UnicodeDecodeError:
                raise (_not_utf8(f.path) or DisproError(f"{f.path}: not UTF-8")) from None
            except Exception as exc:  # pandas and pyarrow raise many types on bad files
                raise DisproError(f"cannot read {f.path}: {_first_line(exc)}") from exc
        raw = pd.concat(pieces, ignore_index=True) if pieces else pd.DataFrame(columns=[*keys, N])
        for c in plan.columns:
            raw[c] = normalise(raw[c], c in plan.boolean)
        if keys:
            cells = raw.groupby(keys, dropna=False, sort=False)[N].sum().reset_index()
        else:
            cells = pd.DataFrame({N: [int(raw[N].sum())]})
        for p in plan.periods:
            cells[p] = labels(cells[YM], p)
        cells[N] = cells[N].astype("int64")
        self.cells = cells

    @staticmethod
    def _chunks(f: File, plan: Plan):
        columns = [*plan.columns, *(["date"] if plan.need_date else [])]
        if f.format == "csv":
            yield from (
                pd.read_csv(
                    f.path,
                    usecols=columns,
                    dtype=str,
                    keep_default_na=False,
                    na_values=[],
                    encoding="utf-8",
                    chunksize=_CHUNK_ROWS,
                )
                if columns
                else _csv_row_counts(f.path)
            )
            return
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        pf = pq.ParquetFile(f.path)
        if not columns:
            yield pd.DataFrame(index=range(pf.metadata.num_rows))
            return
        for batch in pf.iter_batches(batch_size=_CHUNK_ROWS, columns=columns):
            data = {}
            for name in columns:
                arr = batch.column(name)
                if pa.types.is_dictionary(arr.type):
                    arr = arr.dictionary_decode()
                if name == "date" and f.date_kind != "text":
                    if pa.types.is_timestamp(arr.type) and arr.type.tz:
                        arr = pc.cast(arr, pa.timestamp(arr.type.unit, "UTC"))
                    elif pa.types.is_date(arr.type):
                        arr = pc.cast(arr, pa.timestamp("s"))
                    data[name] = arr.to_pandas()
                else:
                    data[name] = pc.cast(arr, pa.string()).to_pandas()
            yield pd.DataFrame(data)

    @staticmethod
    def _chunk_cells(chunk: pd.DataFrame, f: File, plan: Plan, multi: bool) -> pd.DataFrame:
        """Group a chunk on integer codes, then put the (few) distinct values back."""
        codes, values = {}, {}
        for c in plan.columns:
            codes[c], uniques = pd.factorize(chunk[c], use_na_sentinel=True)
            values[c] = np.append(np.asarray(uniques, dtype=object), None)
        if plan.need_date:
            d = chunk["date"]
            if f.date_kind == "text":
                # parse each distinct text once, then group rows on the period (not the text,
                # which is nearly unique): key = bucket, -1 missing, -2 - k the k-th bad text
                raw, uniques = pd.factorize(d, use_na_sentinel=True)
                ym, bad = parse_dates(pd.Series(np.asarray(uniques, dtype=object)))
                ym = bucket(ym, plan.bucket)
                is_bad = np.array([b is not None for b in bad], dtype=bool)
                key = np.where(np.isnan(ym), -1, np.nan_to_num(ym, nan=-1)).astype("int64")
                key[is_bad] = -2 - np.arange(int(is_bad.sum()))
                codes["date"], kept = pd.factorize(np.append(key, -1)[raw], use_na_sentinel=True)
                kept = np.asarray(kept, dtype="int64")
                values[YM] = np.append(np.where(kept >= 0, kept, np.nan), np.nan)
                bad_text = np.append(bad[is_bad], None)
                values[BAD_DATE] = bad_text[np.where(kept <= -2, -2 - kept, -1)]
                values[BAD_DATE] = np.append(values[BAD_DATE], None)
            else:
                ym = (d.dt.year * 12 + d.dt.month - 1).to_numpy(dtype=float, na_value=np.nan)
                codes["date"], uniques = pd.factorize(bucket(ym, plan.bucket), use_na_sentinel=True)
                values[YM] = np.append(np.asarray(uniques, dtype=float), np.nan)
                values[BAD_DATE] = np.full(len(uniques) + 1, None, dtype=object)
        if not codes:
            return pd.DataFrame({**({FILE: [f.path]} if multi else {}), N: [len(chunk)]})
        frame = pd.DataFrame(codes)
        grouped = frame.groupby(list(codes), sort=False).size().reset_index(name=N)
        out = {}
        for c in plan.columns:
            out[c] = values[c][grouped[c].to_numpy()]  # code -1 picks the appended None
        if multi:
            out[FILE] = f.path
        if plan.need_date:
            idx = grouped["date"].to_numpy()
            out[YM] = pd.array(values[YM][idx], dtype="Int64")
            out[BAD_DATE] = values[BAD_DATE][idx]
        out[N] = grouped[N].to_numpy(dtype="int64")
        return pd.DataFrame(out)


def _csv_row_counts(path: str):
    # no columns needed (no `by`, no conditions): count the records only
    for chunk in pd.read_csv(path, usecols=[0], dtype=str, chunksize=_CHUNK_ROWS):
        yield chunk.iloc[:, :0]
