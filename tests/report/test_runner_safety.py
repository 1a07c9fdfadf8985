"""Nothing record-level under the output folder, ever; the earlier report kept whole until the
new one replaces it; output-folder errors as a ReportError (issue 12, items 3 and 4)."""

from __future__ import annotations

import datetime as dt
import errno
import json
import os
import pickle
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dispro import read_police_uk
from dispro.report import ReportError, _kernels, check_parameters, inputs, report_name, runner
from dispro.report import _staging as staging
from dispro.report._frames import write_frames

ROOT = Path(__file__).resolve().parents[2]
CITY = "police_uk_stop_search_city_of_london"
#: A small scrutiny pack: about 8 seconds to render.
SMALL = {
    "report": "scrutiny",
    "area": "Dorset",
    "scale": 0.05,
    "period_start": "2023-04",
    "period_end": "2024-03",
}
#: Smaller still, for the renders the kill test runs (and kills) one after another.
TINY = {**SMALL, "scale": 0.02, "period_start": "2023-10"}
#: Files that hold records (or could): never under the output folder.
RECORD_SUFFIXES = {".pkl", ".pickle", ".parquet", ".csv", ".zip", ".feather", ".arrow", ".npy"}


def _round_trip(data: dict[str, pd.DataFrame], folder: Path) -> dict[str, pd.DataFrame]:
    inputs.stage(data, folder)
    return inputs.load(str(folder))


def _assert_same(data: dict[str, pd.DataFrame], back: dict[str, pd.DataFrame]) -> None:
    assert list(back) == list(data)
    for name, frame in data.items():
        pd.testing.assert_frame_equal(back[name], frame, check_exact=True)
        assert back[name].attrs == frame.attrs, name
        assert type(back[name].index) is type(frame.index), name


# ---- the staged data: parquet, exact, no code run on reading ------------------------------


def test_real_city_of_london_records_round_trip_exactly(realdata, tmp_path):
    """The 6,855 real records as read_police_uk gives them (tz-aware timestamps, nullable
    booleans, object columns with None and with NaN, the ledger and coverage in attrs), and as
    the report filters them, and a subset (a non-range index)."""
    city = read_police_uk(realdata / CITY)
    assert len(city) == 6855 and str(city["date"].dtype) == "datetime64[us, UTC]"
    assert {"exclusions", "coverage"} <= set(city.attrs)
    params = check_parameters(
        {"report": "scrutiny", "area": "City of London", "period_start": "2018-06",
         "period_end": "2019-05", "data": "demo"}
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        filtered = inputs.filter_data({"stop_search": city}, params)
    subset = city[(city["ethnicity"] != "White").to_numpy()]
    assert not isinstance(subset.index, pd.RangeIndex)
    data = {"stop_search": city, "filtered": filtered["stop_search"], "subset": subset}
    _assert_same(data, _round_trip(data, tmp_path))
    files = sorted(p.name for p in (tmp_path / "data").iterdir())
    assert files == ["0.parquet", "1.parquet", "2.parquet", "manifest.json"]


def test_demo_datasets_round_trip_exactly(tmp_path):
    params = check_parameters(SMALL)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data, _ = inputs.load_data(params, tmp_path / "load")
        data = inputs.filter_data(data, params)
    assert set(data) == {"disposals", "charging", "sentencing", "stop_search"}
    _assert_same(data, _round_trip(data, tmp_path / "work"))


def test_awkward_columns_and_attrs_round_trip_exactly(tmp_path):
    idx = pd.Index([5, 7, 9], name="line")
    london = pd.Timestamp("2021-07-01 12:00", tz="Europe/London")
    frame = pd.DataFrame(
        {
            "mixed": pd.Series([1, "a", london], dtype=object, index=idx),
            "none_and_nan": pd.Series(["x", None, np.nan], dtype=object, index=idx),
            "nat": pd.Series([None, pd.NaT, 2.5], dtype=object, index=idx),
            "nan_only": pd.Series(["x", np.nan, "y"], dtype=object, index=idx),
            "text": pd.Series(["x", None, "y"], dtype="str", index=idx),
            "cat": pd.Categorical(["a", "b", None], categories=["b", "a", "z"], ordered=True),
            "local": pd.to_datetime(["2020-01-01", None, "2021-07-01"]).tz_localize(
                "Europe/London"
            ),
            "Int": pd.array([1, None, 3], dtype="Int64"),
            "bool": pd.array([True, None, False], dtype="boolean"),
            "string": pd.array(["q", None, "r"], dtype="string"),
            "month": pd.period_range("2020-01", periods=3, freq="M"),
        },
        index=idx,
    )
    frame.attrs = {
        "exclusions": [{"step": "read", "rule": "rows read", "rows": 3, "action": "read"}],
        "pair": ("a", 1),
        7: {"$dispro": "not a tag"},
        "values": [float("inf"), dt.date(2020, 1, 2), london, None, True],
    }
    data = {"awkward": frame, "empty": frame.iloc[:0]}
    _assert_same(data, _round_trip(data, tmp_path))


def test_an_attr_that_cannot_be_staged_is_a_report_error(tmp_path):
    frame = pd.DataFrame({"a": [1]})
    frame.attrs["model"] = object()
    with pytest.raises(ReportError, match=r"(?s)'x' dataset: attrs\['model'\].*a object"):
        write_frames({"x": frame}, tmp_path)


def test_loading_runs_no_pickle(tmp_path, monkeypatch):
    """A data.pkl planted beside the staged data (as an older version wrote) is never read, and
    loading calls no unpickler."""
    data = {"d": pd.DataFrame({"a": [1, 2], "b": ["x", None]})}
    inputs.stage(data, tmp_path)
    planted = tmp_path / "planted"

    class Payload:
        def __reduce__(self):
            return (Path.touch, (planted,))

    (tmp_path / "data.pkl").write_bytes(pickle.dumps(Payload()))
    (tmp_path / "data" / "data.pkl").write_bytes(pickle.dumps(Payload()))

    def refuse(*args, **kwargs):
        raise AssertionError("unpickling")

    for name in ("load", "loads", "Unpickler"):
        monkeypatch.setattr(pickle, name, refuse)
    monkeypatch.setattr(pd, "read_pickle", refuse)
    _assert_same(data, inputs.load(str(tmp_path)))
    assert not planted.exists()


def test_load_without_staged_data_says_what_to_do(tmp_path):
    with pytest.raises(ReportError, match="manifest.json is missing.*dispro report"):
        inputs.load(str(tmp_path))


# ---- the staging helpers ------------------------------------------------------------------


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    assert not staging.pid_alive(proc.pid)
    return proc.pid


def test_private_folder_is_private_outside_out_and_marked(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    folder = staging.private_folder()
    try:
        assert folder.parent == tmp_path / "tmp" and folder.name.startswith(
            f"dispro-{os.getpid()}-"
        )
        assert folder.stat().st_mode & 0o777 == 0o700
        assert json.loads((folder / staging.MARKER).read_text())["pid"] == os.getpid()
        staging.check_outside(folder, tmp_path / "out")
        with pytest.raises(ReportError, match="inside the output folder.*TMPDIR"):
            staging.check_outside(folder, tmp_path)
    finally:
        staging.remove(folder)


def test_stale_work_of_dead_runs_is_cleaned_and_live_work_kept(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    tmp, out = tmp_path / "tmp", tmp_path / "out"
    dead, live = _dead_pid(), os.getppid()
    for path in (
        tmp / f"dispro-{dead}-abc",  # marker missing: the pid in the name
        tmp / f"dispro-{live}-abc",
        tmp / "dispro-1-marked",  # the marker names the owner
        tmp / "someone-else",
        out / f".report.partial-{dead}-0123456789ab" / "report",
        out / f".report.partial-{live}-0123456789ab" / "report",
        out / f".batch-{dead}-0123456789ab",
        out / f".gone.old-{dead}-0123456789ab",  # an earlier report moved aside, never put back
        out / f".report.old-{dead}-0123456789ab",
        out / "report",
        out / "gone",  # ... the same name: restored below, after the folder is removed
    ):
        path.mkdir(parents=True)
    (tmp / "dispro-1-marked" / staging.MARKER).write_text(json.dumps({"pid": dead}))
    (out / f".gone.old-{dead}-0123456789ab" / "gone.html").write_text("earlier report")
    (out / "gone").rmdir()
    removed = staging.clean_stale(out)
    assert sorted(p.name for p in tmp.iterdir()) == [f"dispro-{live}-abc", "someone-else"]
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [f".report.partial-{live}-0123456789ab", "gone", "report"]
    )
    assert (out / "gone" / "gone.html").read_text() == "earlier report"
    assert len(removed) == 6


def _report(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True)
    (folder / "r.html").write_text(text)
    return folder


@pytest.mark.parametrize("exchange", [True, False])
def test_swap_keeps_a_whole_report_in_place(tmp_path, monkeypatch, exchange):
    if not exchange:
        monkeypatch.setattr(staging, "_exchange", lambda a, b: False)
    dest = _report(tmp_path / "r", "old")
    staged = _report(tmp_path / ".r.partial-1-0123456789ab" / "r", "new")
    aside = tmp_path / ".r.old-1-0123456789ab"
    staging.swap_into_place(staged, dest, aside)
    assert (dest / "r.html").read_text() == "new"
    old = staged if exchange else aside
    assert (old / "r.html").read_text() == "old"
    # no earlier report: a plain rename
    staging.swap_into_place(_report(tmp_path / "s.new", "first"), tmp_path / "s", aside)
    assert (tmp_path / "s" / "r.html").read_text() == "first"


def test_a_swap_killed_between_the_two_renames_is_undone_by_the_next_run(tmp_path, monkeypatch):
    """Where the atomic exchange is not available: the process dies with the earlier report
    moved aside and the new one not yet in; the next run puts the earlier one back."""
    monkeypatch.setattr(staging, "_exchange", lambda a, b: False)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    out = tmp_path / "out"
    dest = _report(out / "r", "old")
    dead = _dead_pid()
    staged = _report(out / f".r.partial-{dead}-0123456789ab" / "r", "new")
    real_rename, calls = os.rename, []

    def dies_on_second(a, b):
        calls.append(a)
        if len(calls) == 2:
            raise KeyboardInterrupt  # stands for the process dying here
        real_rename(a, b)

    monkeypatch.setattr(os, "rename", dies_on_second)
    with pytest.raises(KeyboardInterrupt):
        staging.swap_into_place(staged, dest, out / f".r.old-{dead}-0123456789ab")
    monkeypatch.setattr(os, "rename", real_rename)
    assert not dest.exists()
    staging.clean_stale(out)
    assert (dest / "r.html").read_text() == "old"
    assert sorted(p.name for p in out.iterdir()) == ["r"]


def test_sigterm_raises_system_exit_in_the_block_and_the_handler_is_restored():
    before = signal.getsignal(signal.SIGTERM)
    ran = []
    with pytest.raises(SystemExit) as caught:
        with staging.terminating():
            try:
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(5)
            finally:
                ran.append("finally")
    assert caught.value.code == 128 + signal.SIGTERM and ran == ["finally"]
    assert signal.getsignal(signal.SIGTERM) is before
    # outside the main thread: nothing is installed (signal.signal would refuse)
    errors = []

    def in_a_thread():
        try:
            with staging.terminating():
                pass
        except Exception as exc:  # noqa: BLE001 - checked below
            errors.append(exc)

    thread = threading.Thread(target=in_a_thread)
    thread.start()
    thread.join()
    assert not errors and signal.getsignal(signal.SIGTERM) is before


def test_failed_notebook_keeps_only_the_error():
    nb = {
        "cells": [
            {"cell_type": "markdown", "source": "x"},
            {"cell_type": "code", "outputs": [
                {"output_type": "execute_result", "data": {"text/plain": "secret table"}},
                {"output_type": "stream", "text": "printed rows"},
                {"output_type": "display_data", "data": {"image/png": "..."}},
            ]},
            {"cell_type": "code", "outputs": [
                {"output_type": "stream", "text": "more"},
                {"output_type": "error", "ename": "KeyError", "evalue": "'x'", "traceback": ["t"]},
            ]},
        ]
    }  # fmt: skip
    out = staging.strip_outputs(nb)
    assert out["cells"][1]["outputs"] == []
    assert [o["output_type"] for o in out["cells"][2]["outputs"]] == ["error"]
    assert out["cells"][2]["outputs"][0]["traceback"] == ["t"]


# ---- output-folder errors: a ReportError naming the folder and the fix ---------------------


def test_out_naming_a_file(tmp_path):
    afile = tmp_path / "report.html"
    afile.write_text("x")
    with pytest.raises(ReportError, match=rf"{re.escape(str(afile))} is a file.*-o/--out"):
        runner.render(SMALL, afile)
    with pytest.raises(ReportError, match=rf"{re.escape(str(afile))} is a file"):
        runner.render(SMALL, afile / "below")
    with pytest.raises(ReportError, match="is a file"):
        runner.render_batch(SMALL, afile)


def test_missing_parents_of_out_are_created(tmp_path):
    made = staging.prepare_out_dir(tmp_path / "a" / "b" / "c")
    assert made.is_dir() and made == (tmp_path / "a" / "b" / "c").resolve()


def _failing_mkdir(monkeypatch, under: Path, code: int) -> None:
    real = Path.mkdir

    def mkdir(self, *args, **kwargs):
        if str(self).startswith(str(under)) and self != under:
            raise OSError(code, os.strerror(code), str(self))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", mkdir)


def test_read_only_out(tmp_path, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    out.chmod(0o555)
    try:
        if os.access(out, os.W_OK):  # root writes anyway: the operating system refuses instead
            _failing_mkdir(monkeypatch, out, errno.EACCES)
        with pytest.raises(ReportError, match=rf"{re.escape(str(out))}.*cannot be written to") as e:
            runner.render(SMALL, out, pdf=False)
        assert "Traceback" not in str(e.value)
    finally:
        out.chmod(0o755)
    assert not [p for p in out.iterdir()]


def test_full_disk_in_out_and_in_the_private_folder(tmp_path, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    with monkeypatch.context() as m:
        _failing_mkdir(m, out, errno.ENOSPC)
        with pytest.raises(ReportError, match=rf"no space left.*{re.escape(str(out))}"):
            runner.render(SMALL, out, pdf=False)

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(tmp_path / "tmp" / "x"))

    monkeypatch.setattr(inputs, "write_frames", full)
    with pytest.raises(ReportError, match=r"private work \(set TMPDIR.*no space left"):
        runner.render(SMALL, out, pdf=False)
    assert not [p for p in out.iterdir()] and not [p for p in (tmp_path / "tmp").iterdir()]


def test_full_disk_while_writing_the_report_keeps_the_earlier_one(tmp_path, monkeypatch):
    """ENOSPC while the workbook is written: a ReportError naming the folder; the earlier report
    untouched, nothing staged left, the private work removed. (Stand-in chapters.)"""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    notebooks = _stand_ins(tmp_path / "nb")
    monkeypatch.setattr(runner, "notebooks_dir", lambda: notebooks)
    monkeypatch.setattr(_kernels, "WARM_UP", "pass")
    out = tmp_path / "out"
    name = report_name(check_parameters(TINY))
    earlier = _report(out / name, "earlier")

    def full(path, *args, **kwargs):
        Path(path).write_bytes(b"PK")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(runner, "write_xlsx", full)
    with pytest.raises(ReportError, match=rf"no space left.*{re.escape(str(out))}.*free some"):
        runner.render(TINY, out, pdf=False)
    assert sorted(p.name for p in out.iterdir()) == [name]
    assert (earlier / "r.html").read_text() == "earlier"
    assert not list((tmp_path / "tmp").iterdir())


def test_failed_chapter_keeps_only_the_error_output(tmp_path, monkeypatch):
    """A chapter that shows the staged records, then fails: the kept notebook has the error's
    traceback and no other output. (The chapters are stand-ins: their parameters cell only.)"""
    broken = tmp_path / "nb"
    broken.mkdir()
    for chapter in runner.CHAPTERS["scrutiny"]:
        nb = json.loads((runner.notebooks_dir() / f"{chapter}.ipynb").read_text())
        nb["cells"] = [c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", [])]
        if chapter == "scrutiny":
            cell = {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None}
            nb["cells"] += [
                {**cell, "id": "show", "source": "from dispro.report import load\n"
                 "data = load(work_dir)\nprint('UNPUBLISHED' + ' ROWS')\ndata['stop_search']"},
                {**cell, "id": "boom", "source": "raise RuntimeError('planted failure')"},
            ]  # fmt: skip
        (broken / f"{chapter}.ipynb").write_text(json.dumps(nb))
    monkeypatch.setattr(runner, "notebooks_dir", lambda: broken)
    out = tmp_path / "out"
    with pytest.raises(ReportError, match="(?s)planted failure.*every cell output removed but"):
        runner.render(SMALL, out, pdf=False)
    kept = out / f"{report_name(check_parameters(SMALL))}.failed" / "scrutiny.ipynb"
    text = kept.read_text()
    assert "planted failure" in text and "UNPUBLISHED ROWS" not in text
    outputs = [o for c in json.loads(text)["cells"] for o in c.get("outputs", [])]
    assert outputs and {o["output_type"] for o in outputs} == {"error"}


# ---- renders killed with SIGKILL and SIGTERM -------------------------------------------------


def _record_values() -> tuple[re.Pattern, set[str]]:
    """What would show that records reached a file: the demo's record ids and search times (a
    pattern), and its coordinates to 4 decimals."""
    params = check_parameters(TINY)
    with tempfile.TemporaryDirectory() as work, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data, _ = inputs.load_data(params, Path(work))
    ids = pd.concat([data[d]["record_id"] for d in ("disposals", "charging", "sentencing")])
    assert ids.str.fullmatch(r"SYN-[A-Z]{3}-\d{7}").all()
    searches = data["stop_search"]
    times = searches["date"].dt.strftime("%Y-%m-%d[ T]%H:%M:%S").unique()
    pattern = re.compile("|".join([r"SYN-[A-Z]{3}-\d{7}", *times]))
    coords = pd.concat([searches["latitude"], searches["longitude"]]).dropna()
    assert len(coords) > 20
    return pattern, {f"{x:.4f}" for x in coords}


def _record_level_files(out: Path, pattern: re.Pattern, coords: set[str]) -> list[str]:
    found = []
    for path in out.rglob("*"):
        if path.is_dir():
            if path.name in ("data", "demo_inputs", "content", "work"):
                found.append(f"{path}: a work folder")
            continue
        if path.suffix.lower() in RECORD_SUFFIXES:
            found.append(f"{path}: a data file")
            continue
        if path.suffix == ".xlsx":
            with zipfile.ZipFile(path) as z:
                texts = [z.read(n).decode("utf-8", "replace") for n in z.namelist()]
        else:
            texts = [path.read_bytes().decode("utf-8", "replace")]
        for text in texts:
            if m := pattern.search(text):
                found.append(f"{path}: {m.group(0)}")
            numbers = {f"{float(x):.4f}" for x in re.findall(r"(?<![\d:.])-?\d{1,2}\.\d{4,}", text)}
            if hit := numbers & coords:
                found.append(f"{path}: coordinates {sorted(hit)[:3]}")
    return found


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


#: A chapter standing in for the real ones (which other tests render): it reads the staged
#: records, as every chapter does, and records a heading and a sentence. The kill test is about
#: the renderer, and needs a render of a few seconds.
STAND_IN = """from dispro.report import chapter, load
data = load(work_dir)
ch = chapter({name!r}, title={name!r}, work_dir=work_dir, suppression_threshold=suppression_threshold)
ch.heading("Stop and search " + {name!r})
ch.text("The chapter read " + str(len(data)) + " datasets.")
"""

#: ``python -c DRIVER <notebooks> report ...``: the ``dispro`` command with the chapters taken
#: from ``<notebooks>`` (and the kernels not importing what the real chapters use).
DRIVER = (
    "import sys; from pathlib import Path; from dispro.report import runner, _kernels; "
    "_kernels.WARM_UP = 'pass'; d = Path(sys.argv.pop(1)); runner.notebooks_dir = lambda: d; "
    "from dispro.cli import app; app()"
)


def _stand_ins(folder: Path) -> Path:
    """``folder`` with a :data:`STAND_IN` notebook for each chapter of the scrutiny pack."""
    folder.mkdir()
    for name in runner.CHAPTERS["scrutiny"]:
        nb = json.loads((runner.notebooks_dir() / f"{name}.ipynb").read_text())
        nb["cells"] = [c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", [])]
        nb["cells"].append({"cell_type": "code", "metadata": {}, "outputs": [], "id": "stand-in",
                            "execution_count": None, "source": STAND_IN.format(name=name)})  # fmt: skip
        (folder / f"{name}.ipynb").write_text(json.dumps(nb))
    return folder


class _Renders:
    """The ``dispro report`` command of :data:`TINY` into ``out``, in a subprocess with
    ``$TMPDIR`` = ``tmp``, its chapters stand-ins (:data:`STAND_IN`)."""

    def __init__(self, tmp_path: Path):
        self.out = tmp_path / "reports" / "nested"  # missing parents: created
        self.tmp = tmp_path / "tmp"
        self.tmp.mkdir()
        self.config = tmp_path / "small.yaml"
        self.config.write_text(json.dumps(TINY))  # JSON is YAML
        self.log = tmp_path / "stderr.txt"
        self.notebooks = _stand_ins(tmp_path / "notebooks")

    def start(self, pause_at: str | None = None) -> subprocess.Popen:
        env = {**os.environ, "TMPDIR": str(self.tmp), "OPENBLAS_NUM_THREADS": "1",
               "DISPRO_REPORT_WORKERS": "1"}  # fmt: skip
        env.pop("DISPRO_TEST_PAUSE_AT", None)
        if pause_at:
            env["DISPRO_TEST_PAUSE_AT"] = pause_at
        cmd = [sys.executable, "-c", DRIVER, str(self.notebooks), "report", "--config",
               str(self.config), "--no-pdf", "-o", str(self.out)]  # fmt: skip
        self.stderr = open(self.log, "wb")  # noqa: SIM115 - closed in wait()
        return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                stderr=self.stderr)  # fmt: skip

    def wait(self, proc: subprocess.Popen, timeout: float = 120) -> int:
        try:
            return proc.wait(timeout)
        finally:
            self.stderr.close()

    def wait_for(self, proc: subprocess.Popen, ready, what: str, timeout: float = 120) -> None:
        end = time.monotonic() + timeout
        while not ready():
            if proc.poll() is not None:
                raise AssertionError(f"the render ended before {what}: {self.log.read_text()}")
            if time.monotonic() > end:
                proc.kill()
                raise AssertionError(f"no {what} after {timeout} s: {self.log.read_text()}")
            time.sleep(0.02)


def _kernels_of(pid: int) -> list[int]:
    import psutil

    try:
        return [c.pid for c in psutil.Process(pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _end_orphans(pids: list[int]) -> None:
    """End the kernels of a SIGKILLed render, by their ids (they would end by themselves a
    second later: ipykernel polls for its parent)."""
    import psutil

    for pid in pids:
        try:
            p = psutil.Process(pid)
            p.kill()
            p.wait(10)
        except psutil.NoSuchProcess:
            pass


#: (point, signal): where the render is stopped, from the staging folder to the swap: 8 points,
#: SIGKILL at 5 and SIGTERM at 5. Each run also checks, when it reaches its point, that the work
#: left by the run killed before it is gone.
KILLS = [
    ("staging", signal.SIGKILL),  # private work and staging folder made
    ("data-staged", signal.SIGTERM),  # records staged in the private work
    ("data-staged", signal.SIGKILL),
    ("content", signal.SIGKILL),  # polled: a chapter has recorded its content, mid-run
    ("chapter-done", signal.SIGTERM),  # a chapter's notebook executed
    ("html-written", signal.SIGTERM),  # the HTML written in the staging folder
    ("staged", signal.SIGKILL),  # the complete report staged beside the earlier one
    ("swap", signal.SIGTERM),  # about to swap
    ("swapped", signal.SIGKILL),  # swapped, the earlier report not yet deleted
    ("staging", signal.SIGTERM),  # and the leftovers of that SIGKILL cleaned by the next run
]


@pytest.mark.slow
def test_killed_renders_leave_no_records_and_keep_the_earlier_report(tmp_path):
    t0 = time.monotonic()
    renders = _Renders(tmp_path)
    pattern, coords = _record_values()
    probe = tmp_path / "probe"  # the search finds a record's value in a file
    probe.mkdir()
    (probe / "a.html").write_text(f"<td>{sorted(coords)[0]}0</td>")
    (probe / "b.json").write_text('{"id": "SYN-CHG-0000001"}')
    assert len(_record_level_files(probe, pattern, coords)) == 2
    proc = renders.start()
    assert renders.wait(proc) == 0, renders.log.read_text()
    name = report_name(check_parameters(TINY))
    dest = renders.out / name
    assert sorted(p.name for p in renders.out.iterdir()) == [name]
    assert not _record_level_files(renders.out, pattern, coords)
    assert not list(renders.tmp.iterdir())  # the private work removed
    expected_files = set(_files(dest))

    for point, sig in KILLS:
        earlier = _files(dest)
        proc = renders.start(None if point == "content" else point)
        if point == "content":
            renders.wait_for(
                proc, lambda: any(renders.tmp.glob("dispro-*/*/content/*.json")), "content"
            )
        else:
            renders.wait_for(proc, lambda p=point: f"paused at {p}" in renders.log.read_text(),
                             f"the pause at {point}")  # fmt: skip
        kernels = _kernels_of(proc.pid)
        # the work of the run killed before this one is gone: only this run's is left
        mine = [p.name for p in renders.tmp.iterdir()]
        assert all(m.startswith(f"dispro-{proc.pid}-") for m in mine), (point, mine)
        assert len(mine) == 1, (point, mine)
        hidden = [p.name for p in renders.out.iterdir() if p.name.startswith(".")]
        assert all(f"-{proc.pid}-" in h for h in hidden), (point, hidden)
        print(point, sig.name, round(time.monotonic() - t0, 1), file=sys.stderr)
        proc.send_signal(sig)
        code = renders.wait(proc, timeout=60)
        if sig == signal.SIGKILL:
            _end_orphans(kernels)
        what = f"{sig.name} at {point}"
        assert code == (-signal.SIGKILL if sig == signal.SIGKILL else 128 + signal.SIGTERM), (
            what, renders.log.read_text())  # fmt: skip
        # no record-level file under the output folder
        assert not _record_level_files(renders.out, pattern, coords), what
        # the earlier report whole (or, once swapped, the new one whole)
        now = _files(dest)
        if point == "swapped":
            assert set(now) == expected_files, what
            prov = json.loads(now["provenance.json"])
            assert prov["run_id"] != json.loads(earlier["provenance.json"])["run_id"], what
        else:
            assert now == earlier, what
        html = now[f"{name}.html"].decode("utf-8")
        assert html.rstrip().endswith("</html>") and "Stop and search" in html
        if sig == signal.SIGTERM:  # the clean-up ran: nothing left anywhere
            assert sorted(p.name for p in renders.out.iterdir()) == [name], what
            assert not list(renders.tmp.iterdir()), what
            assert not any(psutil_alive(k) for k in kernels), what

    print("kill test:", round(time.monotonic() - t0, 1), "s", file=sys.stderr)


def psutil_alive(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
