"""The report's data: loaded once per run (the bundled synthetic demo or a YAML data
configuration), filtered to the report's area and period, and kept in the run's private work
folder for the chapter notebooks (:func:`load`)."""

from __future__ import annotations

import hashlib
import pickle
from pathlib import Path

import numpy as np
import pandas as pd

from .. import ledger
from .params import ReportError

__all__ = ["load_data", "filter_data", "load", "sha256"]


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
    config_path = Path(params["data"])
    if not config_path.is_file():
        raise ReportError(f"the data configuration {str(config_path)!r} does not exist")
    import yaml

    config = yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}
    base = config_path.parent
    data = {}
    unknown = [
        k
        for k in config
        if k not in ("stop_search", "disposals", "charging", "sentencing", "mappings")
    ]
    if unknown:
        raise ReportError(
            f"{config_path}: unknown dataset(s) {unknown}; use stop_search, disposals, charging, sentencing"
        )
    mappings = config.get("mappings") or {}
    for dataset, spec in config.items():
        if dataset == "mappings":
            continue
        paths = [spec] if isinstance(spec, str) else list(spec)
        resolved = [(base / p) if not Path(p).is_absolute() else Path(p) for p in paths]
        if dataset == "stop_search":
            data[dataset] = read_police_uk(resolved)
        else:
            data[dataset] = read_records(resolved, dataset=dataset, mapping=mappings.get(dataset))
        for p in resolved:
            files = sorted(p.rglob("*.csv")) if p.is_dir() else [p]
            for f in files:
                inputs.append({"file": str(f), "sha256": sha256(f)})
    if not data:
        raise ReportError(f"{config_path} names no input files")
    return data, inputs


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def filter_data(data: dict[str, pd.DataFrame], params: dict) -> dict[str, pd.DataFrame]:
    """Keep the report's area and period (and count what is left out)."""
    from ..forces import normalise_force, wessex_forces
    from ..readers import record_months

    area = params["area"]
    forces = wessex_forces() if area.lower() == "wessex" else [normalise_force(area)]
    start = pd.Period(params["period_start"], freq="M")
    end = pd.Period(params["period_end"], freq="M")
    out = {}
    for name, frame in data.items():
        keep = np.ones(len(frame), dtype=bool)
        if "force" in frame.columns:
            keep &= frame["force"].isin(forces).to_numpy()
        # the month of a record: police.uk `month`, else the UK local month of `date`
        month = pd.PeriodIndex(pd.to_datetime(record_months(frame), format="%Y-%m"), freq="M")
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
    return out


def load(work_dir: str) -> dict[str, pd.DataFrame]:
    """The report's datasets (for the notebooks): read from the run's private work folder."""
    with open(Path(work_dir) / "data.pkl", "rb") as fh:
        return pickle.load(fh)
