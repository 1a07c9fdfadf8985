"""Tests of dispro.synth.writer: the files, and reading them back with the real readers."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import dispro
from dispro import synth
from dispro.errors import ParameterError


def test_bad_parameters_raise():
    with pytest.raises(ParameterError):
        synth.write("unused", data={"stop_search": pd.DataFrame()})


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    folder = tmp_path_factory.mktemp("synthetic")
    frames = synth.wessex(scale=0.1, seed=17)
    return folder, frames, synth.write(folder, data=frames)


def test_written_file_names_say_synthetic(written):
    folder, frames, paths = written
    assert all(p.exists() for p in paths)
    for p in paths:
        assert "synthetic" in p.name.lower(), p
    names = {p.name for p in paths}
    for name in ("disposals", "charging", "sentencing"):
        assert f"synthetic_{name}_wessex_2021-04_2024-03.csv" in names
    assert "synthetic-2022-09-hampshire-stop-and-search.csv" in names
    assert {"SYNTHETIC.md", "synthetic_metadata.json"} <= names
    assert sum(p.name.endswith("-stop-and-search.csv") for p in paths) == 3 * 36
    text = (folder / "SYNTHETIC.md").read_text()
    assert "SYNTHETIC" in text and "not real" in text.lower() and "1.25" in text
    meta = json.loads((folder / "synthetic_metadata.json").read_text())
    assert meta["synthetic"] is True and meta["seed"] == 17
    assert meta["generator_version"] == synth.GENERATOR_VERSION
    assert meta["sizes"] == {k: len(v) for k, v in frames.items()}
    assert meta["truth"]["sentencing"]["custody"]["odds_ratio"]["Black"] == 1.25


def test_police_uk_files_read_back_as_the_frame(written):
    folder, frames, _ = written
    searches = dispro.read_police_uk(folder / "stop_search")
    frame = frames["stop_search"]
    assert len(searches) == len(frame)
    coverage = dispro.coverage(searches)
    assert coverage["present"].all()
    assert set(zip(coverage["force"], coverage["month"], strict=True)) == {
        (f, m) for f in synth.FORCES
        for m in pd.period_range("2021-04", "2024-03", freq="M").strftime("%Y-%m")
    }  # fmt: skip
    for column in searches.columns:
        mine, read = frame[column], searches[column]
        if column == "date":
            assert (mine.dt.floor("s") == read).all()
        elif column in ("latitude", "longitude"):
            np.testing.assert_allclose(mine.to_numpy(float), read.to_numpy(float), atol=1e-6)
        else:
            left = mine.astype(object).where(mine.notna(), None).tolist()
            right = read.astype(object).where(read.notna(), None).tolist()
            assert left == right, column
    ours = pd.DataFrame(frame.attrs["coverage"]).drop(columns="source")
    theirs = coverage.drop(columns="source").astype({"rows": int})
    pd.testing.assert_frame_equal(ours, theirs, check_dtype=False)


def test_police_uk_file_layout(written):
    folder, _, _ = written
    path = folder / "stop_search" / "2021-04" / "synthetic-2021-04-dorset-stop-and-search.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == ",".join(synth.POLICE_UK_COLUMNS)
    assert all(",20" in line and "+00:00," in line for line in lines[1:])
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert set(raw["Outcome linked to object of search"]) <= {"True", "False", ""}
    assert raw["Part of a policing operation"].eq("").all()  # Dorset never fills it


@pytest.mark.parametrize("dataset", ["sentencing", "disposals", "charging"])
def test_record_files_read_back_as_the_frame(written, dataset):
    folder, frames, _ = written
    path = folder / f"synthetic_{dataset}_wessex_2021-04_2024-03.csv"
    read = dispro.read_records(path, dataset=dataset)
    frame = frames[dataset]
    assert len(read) == len(frame)
    pd.testing.assert_frame_equal(
        read.astype(object).where(read.notna(), None),
        frame.astype(object).where(frame.notna(), None),
        check_dtype=False,
    )


def test_parquet_option(tmp_path):
    frames = synth.wessex(scale=0.05, seed=2, start="2023-01", end="2023-03")
    paths = synth.write(tmp_path, data=frames, format="parquet")
    parquet = [p for p in paths if p.suffix == ".parquet"]
    assert len(parquet) == 3 and all(p.name.startswith("synthetic_") for p in parquet)
    read = dispro.read_records(tmp_path / "synthetic_sentencing_wessex_2023-01_2023-03.parquet",
                               dataset="sentencing")  # fmt: skip
    assert len(read) == len(frames["sentencing"])
    # a second write of another period leaves one consistent set of monthly files
    synth.write(tmp_path, scale=0.05, seed=2, start="2023-02", end="2023-02")
    records = sorted(p.name for p in tmp_path.glob("synthetic_sentencing_*"))
    assert records == ["synthetic_sentencing_wessex_2023-02_2023-02.csv"]
    monthly = sorted(p.name for p in (tmp_path / "stop_search").rglob("*.csv"))
    assert monthly == [
        f"synthetic-2023-02-{s}-stop-and-search.csv" for s in ("dorset", "hampshire", "wiltshire")
    ]
