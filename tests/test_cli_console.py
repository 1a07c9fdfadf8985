"""What `dispro report` prints (issue 14, item 7): no kernel transport warning, one progress
line per chapter, the output path whole on stdout. One render, through the command itself."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from dispro.report import check_parameters
from dispro.report.params import report_name

LINE = re.compile(r"^rendering (\d+)/(\d+) (\w+) \.\.\. \d+\.\d s$")


@pytest.fixture(scope="module")
def console(tmp_path_factory):
    # a long output folder: the path printed must not be wrapped or cut
    out = tmp_path_factory.mktemp("console") / ("a-long-folder-name-" * 5) / "reports"
    done = subprocess.run(
        [
            str(Path(sys.executable).with_name("dispro")),
            "report",
            "--demo",
            "--no-pdf",
            "-o",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "COLUMNS": "40"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return out, done


def test_no_kernel_transport_warning(console):
    _, done = console
    assert "without encryption" not in done.stderr
    assert "IPKernelApp" not in done.stderr


def test_one_progress_line_per_chapter(console):
    out, done = console
    folder = out / report_name(check_parameters({"area": "Wessex"}))
    chapters = [p.stem for p in sorted((folder / "notebooks").glob("*.ipynb"))]
    assert chapters
    lines = [m.groups() for m in map(LINE.match, done.stderr.splitlines()) if m]
    assert sorted(name for _, _, name in lines) == sorted(chapters)
    assert [int(i) for i, _, _ in lines] == list(range(1, len(chapters) + 1))
    assert {int(n) for _, n, _ in lines} == {len(chapters)}
    assert json.loads((folder / "provenance.json").read_text())  # the report was written


def test_the_output_path_is_printed_whole_on_stdout(console):
    out, done = console
    folder = (out / report_name(check_parameters({"area": "Wessex"}))).resolve()
    assert done.stdout.splitlines() == [str(folder)]
    assert Path(done.stdout.strip()).is_dir()
