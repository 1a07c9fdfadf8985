"""Files without rows for the report's area: the chapter of that dataset is left out and the
summary says why, in words naming the forces and months the files hold; a scrutiny pack without
its dataset is refused before any chapter runs (issue 13, item 4)."""

from __future__ import annotations

import warnings

import pytest

import dispro
from dispro import synth
from dispro.errors import DataQualityWarning
from dispro.report import check_parameters, render
from dispro.report.inputs import absent_datasets, filter_data
from dispro.report.params import ReportInputError

CITY = "police_uk_stop_search_city_of_london"


@pytest.fixture(scope="module")
def files(realdata, tmp_path_factory):
    """The real City of London searches and synthetic Wessex disposals in one configuration."""
    folder = tmp_path_factory.mktemp("absent")
    synth.write(folder / "syn", start="2019-04", end="2020-03", scale=0.3, seed=7)
    config = folder / "data.yaml"
    config.write_text(
        f"stop_search: {realdata / CITY}\ndisposals: syn/synthetic_disposals_*.csv\n",
        encoding="utf-8",
    )
    return config


def _params(config, report="wessex"):
    return check_parameters(
        {
            "report": report,
            "area": "Dorset",
            "period_start": "2019-04",
            "period_end": "2020-03",
            "data": str(config),
        }
    )


def test_absent_datasets_name_the_forces_and_months_present(realdata):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        city = dispro.read_police_uk(realdata / CITY)
    data = {"stop_search": city}
    params = _params("x.yaml")
    with pytest.raises(ReportInputError, match="forces present: City of London"):
        filter_data(data, params)  # nothing at all for Dorset: refused
    absent = absent_datasets(data, {}, params)
    assert absent["stop_search"] == (
        "the files hold no stop-and-search rows for Dorset from 2019-04 to 2020-03 (forces "
        "present: City of London; months with data: 2017-12 to 2020-11)"
    )
    assert absent["charging"] == "the data configuration lists no charging files"


@pytest.mark.slow
def test_full_report_leaves_the_chapter_out_and_says_why(files, tmp_path):
    report = render(_params(files), tmp_path, pdf=False)
    page = next(report.glob("*.html")).read_text(encoding="utf-8")
    assert (
        "there is no stop-and-search chapter: the files hold no stop-and-search rows for "
        "Dorset from 2019-04 to 2020-03 (forces present: City of London" in page
    )
    assert 'id="stop-search"' not in page and 'id="out-of-court' in page


@pytest.mark.slow
def test_a_pack_without_its_dataset_is_refused_up_front(files, tmp_path):
    with pytest.raises(
        ReportInputError,
        match=r"no stop-and-search rows for Dorset .*forces present: City of London",
    ):
        render(_params(files, "scrutiny"), tmp_path, pdf=False)
    assert not list(tmp_path.glob("**/*.html"))
