"""The report's data: loaded once per run (the bundled synthetic demo or a YAML data
configuration), filtered to the report's area and period, and kept in the run's private work
folder for the chapter notebooks (:func:`load`)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd

from .. import ledger
from ._frames import read_frames, write_frames
from .params import ReportInputError

__all__ = [
    "load_data", "filter_data", "absent_datasets", "stage", "load", "sha256", "official_totals",
]  # fmt: skip


def load_data(params: dict, work: Path) -> tuple[dict[str, pd.DataFrame], list[dict]]:
    """Datasets for the report and the input files with their hashes."""
    from ..readers import read_police_uk, read_records

    inputs: list[dict] = []
    if params["data"] == "demo":
        from .. import synth

        start, end = params["period_start"], params["period_end"]
        folder = work / "demo_inputs"
        paths = synth.write(
            folder, start=start, end=end, scale=params["scale"], seed=params["seed"]
        )
        data = {}
        for dataset in ("disposals", "charging", "sentencing"):
            matches = sorted(folder.glob(f"synthetic_{dataset}_*"))
            if matches:
                data[dataset] = read_records(matches[0], dataset=dataset)
        data["stop_search"] = read_police_uk(folder / "stop_search")
        for p in paths:
            p = Path(p)
            if p.is_file():
                inputs.append(
                    {"file": f"synthetic demo: {p.relative_to(folder)}", "sha256": sha256(p)}
                )
        return data, inputs
    from .config import config_inputs, read_config

    config_path = Path(params["data"])
    config = read_config(config_path)
    data = {}
    for dataset, paths in config.items():
        if dataset in ("mappings", "official_totals"):
            continue
        if dataset == "use_of_force":  # Home Office tables by force and financial year
            from ..useofforce import read_use_of_force

            data[dataset] = read_use_of_force(paths)
        elif dataset == "stop_search":
            data[dataset] = read_police_uk(paths)
        else:
            mapping = config["mappings"].get(dataset)
            data[dataset] = read_records(paths, dataset=dataset, mapping=mapping)
    if "stop_search" in data:  # reconcile (issue 13 item 6)
        _carry_totals(data["stop_search"], config.get("official_totals"), config_path)
    for f, relative in config_inputs(config, config_path):
        inputs.append({"file": relative, "sha256": sha256(f)})
    return data, inputs


# reconcile (issue 13 item 6)
def _carry_totals(records: pd.DataFrame, paths, config_path: Path) -> None:
    """The Home Office published totals of the records' forces (the configuration's
    ``official_totals``, else the bundled table), carried in ``records.attrs`` to the
    data-quality appendix (:func:`official_totals`)."""
    from .._checks import plain_records
    from ..errors import DisproError
    from ..readers.official import read_official_totals

    try:
        totals = read_official_totals(paths or None)
    except DisproError as exc:
        raise ReportInputError(
            f"`official_totals` in the data configuration {str(config_path)!r}: {exc}"
        ) from exc
    forces = set(records["force"].dropna()) | {
        row.get("force") for row in records.attrs.get("coverage", [])
    }
    records.attrs["official_totals"] = plain_records(totals[totals["force"].isin(forces)])


def official_totals(data: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The Home Office published totals staged with the stop-and-search records
    (:func:`dispro.readers.read_official_totals` of the data configuration's
    ``official_totals``, else the bundled table), for the records' forces; empty for the demo
    (its synthetic records have no official totals) or without stop-and-search records."""
    from ..readers.official import OFFICIAL_TOTALS_COLUMNS

    records = data.get("stop_search")
    rows = [] if records is None else records.attrs.get("official_totals", [])
    return pd.DataFrame(rows, columns=list(OFFICIAL_TOTALS_COLUMNS))


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def filter_data(data: dict[str, pd.DataFrame], params: dict) -> dict[str, pd.DataFrame]:
    """Keep the report's area and period (and count what is left out).

    Raises
    ------
    ReportInputError
        No dataset holds a record (nor a month supplied with none) for the area in the period:
        the message gives the months with data and the forces present, so that the period or
        area can be corrected before any chapter runs.
    """
    from ..forces import normalise_force, wessex_forces
    from ..readers import record_months

    area = params["area"]
    forces = wessex_forces() if area.lower() == "wessex" else [normalise_force(area)]
    start = pd.Period(params["period_start"], freq="M")
    end = pd.Period(params["period_end"], freq="M")
    out = {}
    months_of = {}
    for name, frame in data.items():
        if name == "use_of_force":
            # every force is kept (England and Wales is their sum); the financial years that
            # overlap the period are kept, and the chapter names them
            from ..useofforce import financial_years_in

            out[name] = financial_years_in(frame, str(start), str(end))
            if out[name].empty:  # no year overlaps: the chapter is left out (absent_datasets)
                del out[name]
            continue
        keep = np.ones(len(frame), dtype=bool)
        if "force" in frame.columns:
            keep &= frame["force"].isin(forces).to_numpy()
        # the month of a record: police.uk `month`, else the UK local month of `date`
        month = pd.PeriodIndex(pd.to_datetime(record_months(frame), format="%Y-%m"), freq="M")
        months_of[name] = month
        keep &= np.asarray((month >= start) & (month <= end))
        sub = frame.loc[keep].copy()
        sub.attrs = {k: (list(v) if isinstance(v, list) else v) for k, v in frame.attrs.items()}
        ledger.record(
            sub, "report", f"{name}: rows outside {area} {start} to {end}", int((~keep).sum())
        )
        if "coverage" in frame.attrs:
            cov = pd.DataFrame(frame.attrs["coverage"])
            cm = pd.PeriodIndex(cov["month"].astype(str), freq="M")
            cov = cov[
                cov["force"].isin(forces).to_numpy() & np.asarray((cm >= start) & (cm <= end))
            ]
            sub.attrs["coverage"] = cov.to_dict("records")
        out[name] = sub
    records = {k: v for k, v in data.items() if k != "use_of_force"}
    if records and all(out[k].empty and not out[k].attrs.get("coverage") for k in records):
        raise ReportInputError(_no_records(records, months_of, area, forces, start, end))
    _check_self_defined(out.get("stop_search"), area, start, end)
    for name in records:
        _warn_period(name, data[name], months_of[name], forces, area, start, end)
        if out[name].empty and not out[name].attrs.get("coverage"):
            del out[name]  # nothing for the area: its chapter is left out (absent_datasets)
    return out


#: Datasets in words, for the sentences saying why one is left out.
_WORDS = {
    "stop_search": "stop-and-search",
    "disposals": "out-of-court disposals",
    "charging": "charging",
    "sentencing": "sentencing",
    "use_of_force": "use-of-force",
}


def absent_datasets(
    data: dict[str, pd.DataFrame], filtered: dict[str, pd.DataFrame], params: dict
) -> dict[str, str]:
    """The datasets a report has no rows of, each with the reason in words: not in the data
    configuration, or no rows for the area in the period (with the forces and months the files
    hold), e.g. ``"the files hold no stop-and-search rows for Dorset from 2019-04 to 2020-03
    (forces present: City of London; months with data: 2017-12 to 2020-11)"``."""
    from ..forces import normalise_force, wessex_forces
    from ..readers import record_months

    area = params["area"]
    forces = wessex_forces() if area.lower() == "wessex" else [normalise_force(area)]
    out = {}
    for name, words in _WORDS.items():
        if name in filtered:
            continue
        frame = data.get(name)
        if frame is None:
            out[name] = (
                f"the demonstration data have no {words} records"
                if params["data"] == "demo"
                else f"the data configuration lists no {words} files"
            )
            continue
        if name == "use_of_force":
            out[name] = (
                f"the {words} tables supplied hold no financial year overlapping "
                f"{params['period_start']} to {params['period_end']}"
            )
            continue
        present = sorted({str(f) for f in frame["force"].dropna()}) if "force" in frame else []
        month = pd.PeriodIndex(pd.to_datetime(record_months(frame), format="%Y-%m"), freq="M")
        mine = ~month.isna()
        if "force" in frame.columns:
            mine &= frame["force"].isin(forces).to_numpy()
        months = set(month[mine]) or set(month[~month.isna()])
        out[name] = (
            f"the files hold no {words} rows for {area} from {params['period_start']} to "
            f"{params['period_end']} (forces present: {', '.join(present[:10]) or 'none'}"
            + (f"; months with data: {_month_ranges(months)}" if months else "")
            + ")"
        )
    return out


def _warn_period(name, frame, month, forces, area, start, end) -> None:
    """A period that starts before the area's data or runs past them: a warning naming the
    months with data and those used (rates are over the months supplied, never over months
    that are not there)."""
    import warnings

    from ..errors import DataQualityWarning

    mine = ~month.isna()
    if "force" in frame.columns:
        mine &= frame["force"].isin(forces).to_numpy()
    have = set(month[mine])
    if "coverage" in frame.attrs and frame.attrs["coverage"]:
        cov = pd.DataFrame(frame.attrs["coverage"])
        cov = cov[cov["force"].isin(forces).to_numpy()]
        if "present" in cov:
            cov = cov[cov["present"].astype(bool).to_numpy()]
        have |= set(pd.PeriodIndex(cov["month"].astype(str), freq="M"))
    if not have or (min(have) <= start and max(have) >= end):
        return
    used = {m for m in have if start <= m <= end}
    side = (
        "starts before and runs past"
        if min(have) > start and max(have) < end
        else "starts before"
        if min(have) > start
        else "runs past"
    )
    warnings.warn(
        f"the report's period {start} to {end} {side} the {name} data for {area}: months with "
        f"data {_month_ranges(have)}; the figures use {_month_ranges(used) if used else 'none'}"
        " (rates are over the months supplied)",
        DataQualityWarning,
        stacklevel=2,
    )


def _check_self_defined(records, area, start, end) -> None:
    """Every figure of the report groups people by self-defined ethnicity: stop-and-search files
    that never fill it (blank in every record of the period) cannot give a report."""
    field = "self_defined_ethnicity"
    if records is None or records.empty or field not in records.columns:
        return
    values = records[field].astype("string").str.strip()
    if values.fillna("").eq("").all():
        raise ReportInputError(
            f"the stop-and-search files for {area} from {start} to {end} never fill "
            f"'Self-defined ethnicity' (blank in all {len(records)} records), and every figure of "
            "the report groups people by the ethnicity they gave, so no report can be made from "
            "them. Check that the files are complete (a file with the column emptied); officer-"
            "defined rates alone are available from the library: "
            "dispro.stopsearch.search_rates(records, ethnicity='officer_defined')."
        )


def _no_records(data: dict, months_of: dict, area: str, forces: list, start, end) -> str:
    """The message for a period and area without a record: the months and forces present."""
    present = sorted(
        {str(f) for frame in data.values() if "force" in frame for f in frame["force"].dropna()}
    )
    ours, every = set(), set()
    for name, frame in data.items():
        month = months_of[name]
        valid = ~month.isna()
        every |= set(month[valid])
        if "force" in frame.columns:
            mine = valid & frame["force"].isin(forces).to_numpy()
            ours |= set(month[mine])
    months = (
        f"months with data for {area}: {_month_ranges(ours)}"
        if ours
        else f"months with data: {_month_ranges(every)}"
        if every
        else "the files hold no records"
    )
    shown = ", ".join(present[:20]) + (f" (+{len(present) - 20} more)" if len(present) > 20 else "")
    return (
        f"no records for {area} from {start} to {end} in these files ({months}; forces present: "
        f"{shown or 'none'}); the data read: "
        + ", ".join(f"{name} ({len(frame):,} records)" for name, frame in data.items())
        + ". Choose a period and area that the data cover, or add the files that cover them"
    )


def _month_ranges(months: set, limit: int = 6) -> str:
    """Months as runs of consecutive months: '2021-04 to 2022-03, 2022-06'."""
    ordered = sorted(months)
    runs: list[list] = []
    for m in ordered:
        if runs and m == runs[-1][1] + 1:
            runs[-1][1] = m
        else:
            runs.append([m, m])
    text = [str(a) if a == b else f"{a} to {b}" for a, b in runs]
    more = f" (+{len(text) - limit} more runs)" if len(text) > limit else ""
    return ", ".join(text[:limit]) + more


def stage(data: dict[str, pd.DataFrame], work_dir: str | Path) -> None:
    """Write the report's datasets into the run's private work folder for the notebooks
    (``work_dir/data/``: parquet and a manifest, nothing that runs code when read)."""
    write_frames(data, Path(work_dir) / "data")


def load(work_dir: str) -> dict[str, pd.DataFrame]:
    """The report's datasets (for the notebooks): read from the run's private work folder, as
    :func:`stage` wrote them (the same dtypes, values and ``attrs``)."""
    return read_frames(Path(work_dir) / "data")
