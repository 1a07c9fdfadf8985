"""Any force renders: the real City of London files with each optional field blanked for the
whole period, alone and all together, render both report kinds, and the output says, for each
measure that needs a blanked field, which field was not supplied (issue 13, item 1)."""

from __future__ import annotations

import csv
import html
import re
from pathlib import Path

import pytest

from dispro.report import render
from dispro.report.params import ReportInputError

CITY = "police_uk_stop_search_city_of_london"

#: Optional data.police.uk columns -> what the output must say when the column is blanked
#: (besides the data-quality table naming it as not supplied at all).
OPTIONAL = {
    "Outcome linked to object of search": [
        "do not supply 'Outcome linked to object of search' in any month, so a hit is any "
        "further action"
    ],
    "Removal of more than just outer clothing": [
        "Strip searches: not supplied by this force. The records leave 'Removal of more than "
        "just outer clothing' blank"
    ],
    "Legislation": [
        "Section 60 searches: not supplied by this force. The records leave 'Legislation' blank"
    ],
    "Officer-defined ethnicity": [
        "Agreement of self-defined and officer-defined ethnicity: not supplied by this force. "
        "The records leave 'Officer-defined ethnicity' blank",
        "Ethnicity not stated, by the officer's view: not supplied by this force.",
    ],
    "Outcome": ["Outcome after a search: no figure."],
    "Latitude": ["no coordinates for"],
    "Longitude": ["no coordinates for"],
    "Gender": [],
    "Age range": [],
    "Object of search": [],
    "Part of a policing operation": [],
    "Policing operation": [],
}
#: Sentences that are only true when the other outcome field is still there.
ALONE_ONLY = {"Outcome linked to object of search"}
#: Fields no measure of the report needs alone: blanked together (the data-quality table
#: must still name each).
QUIET = tuple(c for c, said in OPTIONAL.items() if not said)
#: Each field that changes a measure blanked alone in the scrutiny pack; the quiet ones
#: together, the outcome link alone and every field at once in both kinds (each render costs
#: about 20 s of CI: 12 renders, not one per field and kind).
CASES = (
    [("scrutiny", (c,)) for c, said in OPTIONAL.items() if said]
    + [(kind, QUIET) for kind in ("scrutiny", "wessex")]
    + [("wessex", ("Outcome linked to object of search",))]
    + [(kind, tuple(OPTIONAL)) for kind in ("scrutiny", "wessex")]
)


def _case_id(case) -> str:
    kind, blank = case
    name = "all" if blank == tuple(OPTIONAL) else "quiet" if blank == QUIET else blank[0]
    return f"{kind}-{name}"


def _blanked(realdata: Path, folder: Path, blank: tuple[str, ...]) -> Path:
    """The City files with the columns ``blank`` emptied in every row (as published
    otherwise), written as data.police.uk lays them out, and a data configuration."""
    for source in sorted((realdata / CITY).glob("*/*.csv")):
        with source.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
        header = rows[0]
        cut = [header.index(c) for c in blank]
        target = folder / "files" / source.parent.name / source.name
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(header)
            for row in rows[1:]:
                writer.writerow(["" if i in cut else v for i, v in enumerate(row)])
    config = folder / "data.yaml"
    config.write_text("stop_search: files\n", encoding="utf-8")
    return config


def _text(report: Path) -> str:
    page = next(report.glob("*.html")).read_text(encoding="utf-8")
    page = re.sub(r"<(style|script)\b.*?</\1>", " ", page, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_city_files_with_fields_blanked_render_and_say_what_was_not_supplied(
    realdata, tmp_path, case
):
    kind, blank = case
    config = _blanked(realdata, tmp_path, blank)
    params = {
        "report": kind,
        "area": "City of London",
        "period_start": "2017-12",
        "period_end": "2020-11",
        "data": str(config),
    }
    report = render(params, tmp_path / "out", pdf=False)
    text = _text(report)
    # the data-quality appendix names every blanked field as supplied in no month
    listed = re.search(r"Not supplied at all in this report's data: (.*?)\.", text)
    assert listed, "the fields-supplied sentence is missing"
    for column in blank:
        assert f"'{column}'" in listed.group(1)
    for column in blank:
        if blank == tuple(OPTIONAL) and column in ALONE_ONLY:
            continue
        for sentence in OPTIONAL[column]:
            assert sentence in text, (column, sentence)
    if blank == tuple(OPTIONAL):  # neither outcome field: no hit rate at all, said once per place
        assert "Hit rates: not supplied by this force." in text


def test_files_that_never_fill_self_defined_ethnicity_get_a_clear_error(realdata, tmp_path):
    config = _blanked(realdata, tmp_path, ("Self-defined ethnicity",))
    params = {
        "report": "scrutiny",
        "area": "City of London",
        "period_start": "2017-12",
        "period_end": "2020-11",
        "data": str(config),
    }
    with pytest.raises(
        ReportInputError, match=r"never fill 'Self-defined ethnicity' \(blank in all 6855 records\)"
    ):
        render(params, tmp_path / "out", pdf=False)
    assert not list((tmp_path / "out").glob("**/*.html"))
