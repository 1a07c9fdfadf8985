"""The run's datasets on disk: parquet (one file per dataset) and a JSON manifest, read back
exactly as written, with nothing that runs code when it is read (no pickle).

Parquet (pyarrow) keeps numbers, timestamps with their time zone, categoricals and the nullable
dtypes. Two things it cannot keep are carried by the manifest (``manifest.json``):

- ``DataFrame.attrs`` (the exclusions ledger, the coverage of each force and month, the source
  files...), as tagged JSON (:func:`encode`): tuples, non-string keys, timestamps and
  non-finite floats come back as they went in;
- object columns: a column of strings and one kind of missing value (``None`` or ``NaN``) is
  stored as a string column and the kind of missing value is noted; any other object column
  (mixed types, ``None`` beside ``NaN``...) is stored one tagged JSON value per row.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from .params import ReportError

__all__ = ["write_frames", "read_frames", "encode", "decode", "MANIFEST"]

MANIFEST = "manifest.json"
FORMAT = 1
_TAG = "$dispro"


def encode(value, where: str = "value"):
    """``value`` as plain JSON (lists, string-keyed dicts, str, int, float, bool, None), the other
    Python and pandas scalars and containers tagged so that :func:`decode` gives them back."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, np.generic) and not isinstance(value, np.datetime64 | np.timedelta64):
        return encode(value.item(), where)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {_TAG: "float", "v": repr(value)}
    if isinstance(value, list):
        return [encode(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, tuple):
        return {_TAG: "tuple", "v": [encode(v, f"{where}[{i}]") for i, v in enumerate(value)]}
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value) and _TAG not in value:
            return {k: encode(v, f"{where}[{k!r}]") for k, v in value.items()}
        return {_TAG: "dict", "v": [[encode(k, where), encode(v, f"{where}[{k!r}]")]
                                    for k, v in value.items()]}  # fmt: skip
    if value is pd.NA:
        return {_TAG: "NA"}
    if value is pd.NaT:
        return {_TAG: "NaT"}
    if isinstance(value, pd.Timestamp):
        return {_TAG: "Timestamp", "v": value.isoformat(), "unit": value.unit,
                "tz": None if value.tz is None else str(value.tz)}  # fmt: skip
    if isinstance(value, pd.Period):
        return {_TAG: "Period", "v": str(value), "freq": value.freqstr}
    if isinstance(value, _dt.datetime):
        return {_TAG: "datetime", "v": value.isoformat()}
    if isinstance(value, _dt.date):
        return {_TAG: "date", "v": value.isoformat()}
    raise ReportError(
        f"{where} cannot be staged for the chapters: a {type(value).__name__} "
        "(allowed: str, numbers, booleans, None, lists, tuples, dicts, dates and timestamps)"
    )


def decode(value):
    """The inverse of :func:`encode`."""
    if isinstance(value, list):
        return [decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    tag = value.get(_TAG)
    if tag is None:
        return {k: decode(v) for k, v in value.items()}
    if tag == "float":
        return float(value["v"])
    if tag == "tuple":
        return tuple(decode(v) for v in value["v"])
    if tag == "dict":
        return {_key(decode(k)): decode(v) for k, v in value["v"]}
    if tag == "NA":
        return pd.NA
    if tag == "NaT":
        return pd.NaT
    if tag == "Timestamp":
        ts = pd.Timestamp(value["v"]).as_unit(value["unit"])
        return ts.tz_convert(value["tz"]) if value["tz"] else ts
    if tag == "Period":
        return pd.Period(value["v"], freq=value["freq"])
    if tag == "datetime":
        return _dt.datetime.fromisoformat(value["v"])
    if tag == "date":
        return _dt.date.fromisoformat(value["v"])
    raise ReportError(f"the staged data hold an unknown value tag {tag!r}")


def _key(k):
    return tuple(k) if isinstance(k, list) else k


def _nan(v) -> bool:
    return isinstance(v, float) and math.isnan(v)


def _object_column(values: pd.Series, where: str) -> tuple[pd.Series, dict]:
    """An object column as a string column for parquet, and how to turn it back."""
    missing = values.isna().to_numpy()
    kinds = {"None" if v is None else "NaN" if _nan(v) else type(v).__name__
             for v in values[missing]}  # fmt: skip
    present = values[~missing]
    if (
        len(kinds) <= 1
        and kinds <= {"None", "NaN", "NAType"}
        and all(isinstance(v, str) for v in present)
    ):
        spec = {"encoding": "str", "missing": next(iter(kinds), "None")}
        return values.astype("string[pyarrow]"), spec
    text = [
        json.dumps(encode(v, f"{where} row {i}")) for i, v in zip(values.index, values, strict=True)
    ]
    return pd.Series(text, index=values.index, dtype="string[pyarrow]"), {"encoding": "json"}


def write_frames(data: dict[str, pd.DataFrame], folder: Path) -> None:
    """Write ``data`` (name -> frame) into ``folder`` (created): ``<i>.parquet`` and the manifest."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    entries = []
    for i, (name, frame) in enumerate(data.items()):
        where = f"the {name!r} dataset"
        out = frame.copy(deep=False)
        out.attrs = {}
        objects, categories = {}, {}
        for j, column in enumerate(frame.columns):
            dtype = frame.dtypes.iloc[j]
            if isinstance(dtype, pd.CategoricalDtype):  # kept even where no row uses them
                categories[column] = {
                    "categories": encode(list(dtype.categories), f"{where}, column {column!r}"),
                    "dtype": str(dtype.categories.dtype),
                    "ordered": bool(dtype.ordered),
                }
            elif pd.api.types.is_object_dtype(dtype):
                stored, objects[column] = _object_column(
                    frame.iloc[:, j], f"{where}, column {column!r},"
                )
                out.isetitem(j, stored)
        try:
            out.to_parquet(folder / f"{i}.parquet", engine="pyarrow")
        except (TypeError, ValueError, ImportError) as exc:
            raise ReportError(f"{where} cannot be staged as parquet: {exc}") from exc
        entries.append({"name": name, "file": f"{i}.parquet", "objects": objects,
                        "categories": categories,
                        "attrs": encode(frame.attrs, f"{where}: attrs")})  # fmt: skip
    (folder / MANIFEST).write_text(
        json.dumps({"format": FORMAT, "datasets": entries}), encoding="utf-8"
    )


def read_frames(folder: Path) -> dict[str, pd.DataFrame]:
    """The datasets :func:`write_frames` wrote into ``folder``, as they were."""
    folder = Path(folder)
    path = folder / MANIFEST
    if not path.is_file():
        raise ReportError(
            f"{folder} holds no staged report data ({MANIFEST} is missing): the chapters are "
            "run by `dispro report` (or dispro.report.render), which stages the data first"
        )
    manifest = json.loads(path.read_text(encoding="utf-8"))
    if manifest.get("format") != FORMAT:
        raise ReportError(f"{path}: staged data of format {manifest.get('format')!r}, not {FORMAT}")
    data = {}
    for entry in manifest["datasets"]:
        frame = pd.read_parquet(folder / Path(entry["file"]).name, engine="pyarrow")
        for column, spec in entry["objects"].items():
            j = frame.columns.get_loc(column)
            stored = frame.iloc[:, j]
            present = stored.notna().to_numpy()
            values = np.empty(len(stored), dtype=object)
            if spec["encoding"] == "str":
                values[:] = {"None": None, "NaN": np.nan, "NAType": pd.NA}.get(spec["missing"])
                values[present] = stored[present].to_numpy(dtype=object)
            else:
                values[:] = [decode(json.loads(v)) for v in stored]
            frame.isetitem(j, pd.Series(values, index=frame.index, dtype=object))
        for column, spec in entry["categories"].items():
            j = frame.columns.get_loc(column)
            cats = pd.Index(decode(spec["categories"]), dtype=spec["dtype"])
            dtype = pd.CategoricalDtype(cats, ordered=spec["ordered"])
            frame.isetitem(j, frame.iloc[:, j].astype(dtype))
        frame.attrs = decode(entry["attrs"])
        data[entry["name"]] = frame
    return data
