"""Writing the synthetic files: data.police.uk monthly CSVs, record files, SYNTHETIC.md and
synthetic_metadata.json."""

from __future__ import annotations

import json
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from .._version import __version__
from ..dictionary import codelist
from ..errors import ParameterError, check_choice
from ._common import _STAGES, _groups
from .generate import wessex
from .truth import DATASETS, DEFAULT_END, DEFAULT_SEED, DEFAULT_START, FORCES, TRUTH

#: The 15 data.police.uk columns and the canonical field each one comes from.
POLICE_UK_COLUMNS = {
    "Type": "search_type",
    "Date": "date",
    "Part of a policing operation": "part_of_policing_operation",
    "Policing operation": "policing_operation",
    "Latitude": "latitude",
    "Longitude": "longitude",
    "Gender": "sex",
    "Age range": "age_band",
    "Self-defined ethnicity": "self_defined_ethnicity",
    "Officer-defined ethnicity": "officer_defined_ethnicity",
    "Legislation": "legislation",
    "Object of search": "object_of_search",
    "Outcome": "outcome_raw",
    "Outcome linked to object of search": "outcome_linked",
    "Removal of more than just outer clothing": "removal_outer_clothing",
}
_FORMATS = ("csv", "parquet")


def _bool_text(values: pd.Series) -> pa.Array:
    """``True``/``False`` as police.uk writes them; blank (null) where not recorded."""
    arr = values.astype("boolean")
    index = np.where(arr.isna().to_numpy(), 2, arr.fillna(False).to_numpy(dtype=bool).astype(int))
    return pa.array(np.array(["False", "True", None], dtype=object)[index], type=pa.string())


def _coord_text(values: pd.Series) -> pa.Array:
    """Decimal degrees with six decimals (``-1.087760``), as police.uk writes them."""
    arr = values.to_numpy(dtype=float)
    blank = np.isnan(arr)
    micro = np.rint(np.nan_to_num(arr) * 1e6).astype(np.int64)
    whole = pa.array(np.abs(micro) // 1_000_000).cast(pa.string())
    part = pc.utf8_lpad(pa.array(np.abs(micro) % 1_000_000).cast(pa.string()), 6, "0")
    sign = pa.array(np.where(micro < 0, "-", ""))
    text = pc.binary_join_element_wise(sign, whole, ".", part, "")
    return pc.if_else(pa.array(blank), pa.scalar(None, pa.string()), text)


def _police_uk_text(frame: pd.DataFrame) -> pa.Table:
    """The searches as the 15 police.uk columns, as text (blank where police.uk is blank)."""
    instants = pa.array(frame["date"].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy())
    stamp = pc.binary_join_element_wise(
        pc.strftime(instants.cast(pa.timestamp("s")), format="%Y-%m-%dT%H:%M:%S"), "+00:00", ""
    )
    text = {}
    for column, field in POLICE_UK_COLUMNS.items():
        if field == "date":
            text[column] = stamp
        elif field in ("part_of_policing_operation", "outcome_linked", "removal_outer_clothing"):
            text[column] = _bool_text(frame[field])
        elif field in ("latitude", "longitude"):
            text[column] = _coord_text(frame[field])
        else:
            values = frame[field].astype(object).where(frame[field].notna(), None).to_numpy()
            text[column] = pa.array(values, type=pa.string())
    return pa.table(text)


def _records_table(frame: pd.DataFrame) -> pa.Table:
    """A canonical records frame as an Arrow table: dates ``YYYY-MM-DD``, blanks as nulls."""
    columns = {}
    for name in frame.columns:
        values = frame[name]
        if pd.api.types.is_datetime64_any_dtype(values):
            day = values.to_numpy().astype("datetime64[D]")
            columns[name] = pa.array(np.datetime_as_string(day, unit="D").astype(object))
        elif pd.api.types.is_float_dtype(values):
            columns[name] = pa.array(values.to_numpy(), from_pandas=True)
        else:
            text = values.astype(object).where(values.notna(), None).to_numpy()
            columns[name] = pa.array(text, type=pa.string())
    return pa.table(columns)


def _write_csv(path: Path, table: pa.Table) -> None:
    """Write a CSV file as data.police.uk does: an unquoted header, values quoted only when
    they must be, blanks empty. Arrow writes it (pandas' writer is ~10x slower at millions)."""
    header = ",".join(table.column_names) + "\n"
    with open(path, "wb") as handle:
        handle.write(header.encode("utf-8"))
        if table.num_rows == 0:
            return
        try:  # no value of the synthetic data needs quotes; Arrow refuses any that would
            pacsv.write_csv(
                table, handle, pacsv.WriteOptions(include_header=False, quoting_style="none")
            )
        except pa.ArrowInvalid:  # pragma: no cover - a label with a comma: quote strings
            handle.seek(len(header.encode("utf-8")))
            handle.truncate()
            pacsv.write_csv(table, handle, pacsv.WriteOptions(include_header=False))


def _markdown(meta: dict) -> str:
    """SYNTHETIC.md: what the files are and the truths planted in them."""
    t = TRUTH
    ss = t["stop_search"]
    groups = _groups()
    lines = [
        "# SYNTHETIC DATA: not real records",
        "",
        "Every record in this folder was invented by `dispro.synth` "
        f"(generator {meta['generator_version']}, dispro {meta['dispro_version']}, seed "
        f"{meta['seed']}, scale {meta['scale']:g}, {meta['start']} to {meta['end']}). The records "
        "describe no real person, search, case or sentence. Only the Census 2021 populations "
        "behind them are real. Use them to demonstrate and test dispro, never as evidence.",
        "",
        "The data carry **known, planted disparities** so that every analysis can be checked "
        "against the truth. The full generating model is `dispro.synth.TRUTH` (also in "
        "`synthetic_metadata.json`); `dispro.synth.true_marginal_rr(frame)` and "
        "`dispro.synth.expected_stop_rates()` evaluate it.",
        "",
        "## Files",
        "",
        "| file | dataset | rows |",
        "|---|---|---:|",
    ]
    for f in meta["files"]:
        lines.append(f"| `{f['path']}` | {f['dataset']} | {f['rows']:,} |")
    lines += [
        "",
        "Stop and search is written as data.police.uk monthly files (15 columns, "
        "`stop_search/YYYY-MM/synthetic-YYYY-MM-<force>-stop-and-search.csv`): read them with "
        "`dispro.read_police_uk`. The other datasets are in the canonical schemas of "
        "`data_dictionary/`: read them with `dispro.read_records(path, dataset=...)`.",
        "",
        "## Planted truths",
        "",
        "### Stop and search per 1,000 residents (crude RRI against White, by construction)",
        "",
        "| force | White rate per 1,000 a year | "
        + " | ".join(g for g in groups if g != "White")
        + " |",
        "|---|---:|" + "---:|" * (len(groups) - 1),
    ]
    for force in FORCES:
        ratios = " | ".join(f"{ss['rri'][force][g]:g}" for g in groups if g != "White")
        lines.append(f"| {force} | {ss['rate_per_1000_white'][force]:g} | {ratios} |")
    wessex_rows = [r for r in meta["expected_stop_rates"] if r["area"] == "Wessex"]
    lines += [
        "",
        "Wessex as a whole (population-weighted): "
        + ", ".join(
            f"{r['ethnicity']} {r['rri']:.2f}" for r in wessex_rows if r["ethnicity"] != "White"
        )
        + ". Self-defined ethnicity is not stated for "
        + ", ".join(f"{f} {ss['not_stated_share'][f]:.0%}" for f in FORCES)
        + " of person searches, at random (the same share in every group), with the "
        "officer-defined ethnicity filled in.",
        "",
        "- Hit rate (outcome linked to the object): odds ratio against White, given force, "
        "object of search and section 60: "
        + ", ".join(f"{g} {v:g}" for g, v in ss["hit_rate"]["odds_ratio"].items() if g != "White")
        + " (a lower threshold of suspicion for Black people).",
        "- Strip searches (removal of more than outer clothing): share "
        + ", ".join(f"{f} {v:.1%}" for f, v in ss["strip_search"]["share_white"].items())
        + " for White people, times "
        + ", ".join(
            f"{g} {v:g}" for g, v in ss["strip_search"]["rate_ratio"].items() if g != "White"
        )
        + ".",
        f"- Section 60: only {ss['section60']['force']}, only in {', '.join(meta['section60_months'])}; "
        f"{ss['section60']['share_white']:.0%} of White people's searches there, times "
        + ", ".join(f"{g} {v:g}" for g, v in ss["section60"]["share_ratio"].items() if g != "White")
        + ".",
        "- Veil of darkness: no effect (odds ratio 1): time, date and place do not depend on "
        "ethnicity. Times are true UTC stamped `+00:00` (read with clock='utc').",
        f"- outcome_linked is not supplied by {ss['outcome_linked_not_supplied']['force']} in "
        f"{', '.join(meta['months'][:3])} (blank for the whole force-month: not supplied, not "
        "False). Outcomes mix the current and the older police.uk wording (Dorset "
        f"{meta['months'][0]} to {meta['months'][min(5, len(meta['months']) - 1)]}, 15% of "
        "Wiltshire's searches).",
        "",
        "### Police outcomes, charging and sentencing (adjusted, given the model's controls)",
        "",
        "| stage | controls | " + " | ".join(g for g in groups if g != "White") + " |",
        "|---|---|" + "---:|" * (len(groups) - 1),
    ]
    for stage in ("out_of_court", "charge", "custody", "sentence_length"):
        dataset, path, key = _STAGES[stage]
        model = t[path[0]][path[1]]
        ratios = " | ".join(f"{model[key][g]:g}" for g in groups if g != "White")
        what = {"odds_ratio": "odds ratio", "ratio_of_means": "ratio of means"}[key]
        lines.append(f"| {stage} ({what}) | {', '.join(model['terms'])} | {ratios} |")
    lines += [
        "",
        "True crude and adjusted ratios for Black people in these files "
        "(`true_marginal_rr`, marginal standardisation over all rows):",
        "",
    ]
    lines += [
        "| stage | expected crude RRI | true adjusted RR | planted conditional ratio |",
        "|---|---:|---:|---:|",
    ]
    for stage, table in meta["expected"].items():
        black = next(r for r in table if r["group"] == "Black")
        lines.append(
            f"| {stage} | {black['crude_rri']:.3f} | {black['adjusted_rr']:.3f} | "
            f"{black['conditional_ratio']:g} |"
        )
    lines += [
        "",
        "Confounding is planted: Black (and Mixed) people in these data are younger, have a "
        "heavier offence mix and (in sentencing) more previous convictions, so the unadjusted "
        "custody RRI for Black people exceeds the adjusted ratio. Ethnicity is Not stated at "
        "random for "
        + ", ".join(f"{d} {t[d]['not_stated_share']:.0%}" for d in DATASETS[1:])
        + " of records.",
        "",
    ]
    return "\n".join(lines)


def write(
    out_dir: str | PathLike,
    *,
    data: dict[str, pd.DataFrame] | None = None,
    format: str = "csv",  # noqa: A002 - the CLI's word
    start: str = DEFAULT_START,
    end: str = DEFAULT_END,
    scale: float = 1.0,
    seed: int = DEFAULT_SEED,
) -> list[Path]:
    """Write synthetic Wessex files whose names say they are synthetic.

    Parameters
    ----------
    out_dir : str or Path
        The folder (created if needed). The files of an earlier synthetic set written here
        (``synthetic_<dataset>_wessex_*.csv`` or ``.parquet`` and
        ``stop_search/*/synthetic-*-stop-and-search.csv``) are removed first, so that the folder
        holds one consistent set; no other file is touched.
    data : dict of DataFrame, optional
        Frames from :func:`wessex` (all four datasets); by default they are drawn here with
        ``start``, ``end``, ``scale`` and ``seed``.
    format : {"csv", "parquet"}
        File format of the disposals, charging and sentencing records. Stop and search is
        always written as data.police.uk CSV files.
    start, end, scale, seed
        As in :func:`wessex` (ignored when ``data`` is given).

    Returns
    -------
    list of Path
        The files written: ``synthetic_<dataset>_wessex_<start>_<end>.<csv|parquet>`` for
        disposals, charging and sentencing; one ``stop_search/YYYY-MM/synthetic-YYYY-MM-<slug>-
        stop-and-search.csv`` per force and month (the 15 data.police.uk columns and labels,
        times stamped ``+00:00``, blanks where police.uk has them); ``SYNTHETIC.md`` (what the
        files are and their truths) and ``synthetic_metadata.json`` (seed, sizes, truths,
        generator version).

    Examples
    --------
    >>> import tempfile, dispro
    >>> from dispro import synth
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     paths = synth.write(folder, scale=0.02, start="2023-01", end="2023-03")
    ...     searches = dispro.read_police_uk(f"{folder}/stop_search")
    ...     print(all("synthetic" in p.name.lower() for p in paths), len(searches) > 0)
    True True
    """
    check_choice("format", format, _FORMATS)
    if data is None:
        data = wessex(start=start, end=end, scale=scale, seed=seed)
    missing = [d for d in DATASETS if d not in data]
    if missing:
        raise ParameterError(
            f"`data` must hold all of {DATASETS} (as wessex() returns), but {missing} are missing"
        )
    not_synthetic = [d for d in DATASETS if not data[d].attrs.get("synthetic")]
    if not_synthetic:
        raise ParameterError(
            f"`data` must be synthetic frames from dispro.synth.wessex(); {not_synthetic} do not "
            "say so (attrs['synthetic']); write() only labels synthetic data as synthetic"
        )
    attrs = data["stop_search"].attrs
    first, last = attrs["start"], attrs["end"]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    files = []
    for name in DATASETS[1:]:
        for ext in _FORMATS:  # an earlier synthetic set (another period or format)
            for old in out.glob(f"synthetic_{name}_wessex_*.{ext}"):
                old.unlink()
        frame = data[name]
        path = out / f"synthetic_{name}_wessex_{first}_{last}.{format}"
        if format == "csv":
            _write_csv(path, _records_table(frame))
        else:
            frame.to_parquet(path, index=False)
        written.append(path)
        files.append({"path": path.name, "dataset": name, "rows": len(frame)})
    # stop and search: data.police.uk monthly files
    folder = out / "stop_search"
    if folder.is_dir():
        for old in folder.rglob("synthetic-*-stop-and-search.csv"):
            old.unlink()
    searches = data["stop_search"]
    slugs = codelist("police_force_area").set_index("code")["police_uk_slug"]
    text = _police_uk_text(searches)
    positions = searches.groupby(["force", "month"], sort=False).indices
    months = pd.period_range(first, last, freq="M").strftime("%Y-%m")
    for force in FORCES:
        for month in months:
            rows = positions.get((force, month), np.array([], dtype=np.int64))
            path = folder / month / f"synthetic-{month}-{slugs[force]}-stop-and-search.csv"
            path.parent.mkdir(parents=True, exist_ok=True)
            _write_csv(path, text.take(pa.array(rows, type=pa.int64())))
            written.append(path)
    files.append({"path": "stop_search/", "dataset": "stop_search", "rows": len(searches)})
    # the description and the metadata
    expected = {}
    for name in DATASETS:
        expected.update(
            {k: v for k, v in data[name].attrs["truth"]["expected"].items() if k != "stop_rates"}
        )
    meta = {
        "synthetic": True,
        "description": TRUTH["description"],
        "generator": "dispro.synth.wessex",
        "generator_version": attrs["generator_version"],
        "dispro_version": __version__,
        "seed": attrs["seed"],
        "scale": attrs["scale"],
        "start": first,
        "end": last,
        "forces": list(FORCES),
        "sizes": {d: len(data[d]) for d in DATASETS},
        "files": files,
        "section60_months": attrs["section60_months"],
        "months": [str(p) for p in pd.period_range(first, last, freq="M")],
        "expected_stop_rates": attrs["truth"]["expected"]["stop_rates"],
        "expected": expected,
        "truth": TRUTH,
    }
    md = out / "SYNTHETIC.md"
    md.write_text(_markdown(meta), encoding="utf-8")
    js = out / "synthetic_metadata.json"
    js.write_text(json.dumps(meta, indent=2, default=float) + "\n", encoding="utf-8")
    written += [md, js]
    return written
