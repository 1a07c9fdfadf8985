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

__all__ = ["load_data", "filter_data", "stage", "load", "sha256"]


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
        if dataset == "mappings":
            continue
        if dataset == "stop_search":
            data[dataset] = read_police_uk(paths)
        else:
            mapping = config["mappings"].get(dataset)
            data[dataset] = read_records(paths, dataset=dataset, mapping=mapping)
    for f, relative in config_inputs(config, config_path):
        inputs.append({"file": relative, "sha256": sha256(f)})
    return data, inputs


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
    if data and all(f.empty and not f.attrs.get("coverage") for f in out.values()):
        raise ReportInputError(_no_records(data, months_of, area, forces, start, end))
    return out


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
