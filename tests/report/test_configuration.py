"""docs/configuration.md is followed literally: every report parameter and data-configuration key
is documented, and every example it shows renders with the commands it gives (issue 13, item 4).
The worked example of a force's OOCD extract is tested in test_oocd_config.py."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dispro.report import CHAPTERS, PARAMETERS
from dispro.report.config import CONFIG_KEYS

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "configuration.md"
DISPRO = Path(sys.executable).with_name("dispro")
UOF = "resistancelab_census2011_pfa_use_of_force/cleaned_data/use-of-force/by-ethnicity-force"
BANNER = "SYNTHETIC DEMONSTRATION DATA"


def _examples() -> dict[str, str]:
    """Each ``## Example: ...`` section of the page, by title."""
    text = DOC.read_text(encoding="utf-8")
    parts = re.split(r"^## ", text, flags=re.M)
    return {p.splitlines()[0]: p for p in parts if p.startswith("Example: ")}


def _blocks(section: str) -> tuple[dict[str, str], list[str]]:
    """The YAML files (``# file: name`` first line) and the shell commands of a section."""
    files, commands = {}, []
    for lang, body in re.findall(r"```(\w+)\n(.*?)```", section, flags=re.S):
        if lang == "yaml":
            first, _, rest = body.partition("\n")
            name = re.fullmatch(r"# file: (\S+)", first.strip())
            assert name, f"a YAML example must start with '# file: <name>': {first!r}"
            files[name.group(1)] = rest
        elif lang == "sh":
            commands += [c.split("  #")[0].strip() for c in body.splitlines() if c.strip()]
    return files, commands


def test_every_parameter_and_key_is_documented():
    text = DOC.read_text(encoding="utf-8")
    for name in [*PARAMETERS, *CONFIG_KEYS, *CHAPTERS]:
        assert f"`{name}`" in text, name
    assert "## Worked example: a force's out-of-court disposals extract" in text


def test_report_help_points_to_the_configuration_page():
    out = subprocess.run(
        [str(DISPRO), "report", "--help"], capture_output=True, text=True, check=True
    )
    assert "docs/configuration.md" in out.stdout


@pytest.mark.slow
@pytest.mark.parametrize("title", sorted(_examples()))
def test_every_example_renders_as_written(title, realdata, tmp_path):
    files, commands = _blocks(_examples()[title])
    assert files and commands
    for name, body in files.items():
        (tmp_path / name).write_text(body, encoding="utf-8")
    # the user's own files, in the folders the example names
    (tmp_path / "police_uk").symlink_to(realdata / "police_uk_stop_search_city_of_london")
    (tmp_path / "use_of_force").symlink_to(realdata / UOF)
    shutil.copy(
        realdata / "home_office_ss20_totals" / "ss20_total_searches_ye_mar2025.csv",
        tmp_path / "ss20_totals.csv",
    )
    for command in commands:
        words = command.split()
        assert words[0] == "dispro", command
        done = subprocess.run(
            [str(DISPRO), *words[1:]], cwd=tmp_path, capture_output=True, text=True
        )
        assert done.returncode == 0, (command, done.stdout[-3000:], done.stderr[-3000:])
    pages = list((tmp_path / "reports").glob("*/*.html"))
    assert len(pages) == 1, pages
    page = pages[0].read_text(encoding="utf-8")
    chapters = page.count("<h2 id=")
    if "synth" in title:
        # every chapter of a report from `dispro synth` files carries the banner
        assert page.count(BANNER) == chapters > 0
        provenance = (pages[0].parent / "provenance.json").read_text(encoding="utf-8")
        assert '"synthetic": true' in provenance
    else:
        assert BANNER not in page
