"""The engines are extras (issue 14, item 8): without DuckDB or Ibis installed, `aggregate`
reads with pandas where it may choose, and says which extra to install where it may not."""

from __future__ import annotations

import importlib.util
import sys

import pandas as pd
import pytest
from recordfiles import make_records, write

from dispro.counts import aggregate, connect
from dispro.errors import DisproError


@pytest.fixture
def without(monkeypatch):
    """Make ``import <name>`` fail as if the extra were not installed."""
    find_spec = importlib.util.find_spec

    def hide(*names):
        for name in names:
            monkeypatch.setitem(sys.modules, name, None)  # `import name` raises ImportError
        monkeypatch.setattr(
            importlib.util,
            "find_spec",
            lambda name, *a, **k: None if name in names else find_spec(name, *a, **k),
        )

    return hide


def test_auto_reads_with_pandas_without_duckdb(rng, tmp_path, without):
    source = write(make_records(rng), tmp_path / "csv", "csv")
    with_duckdb = aggregate(source, dataset="stop_search", by="sex", threshold_bytes=0)
    assert with_duckdb.attrs["engine"] == "duckdb"  # the test install has it
    without("duckdb")
    out = aggregate(source, dataset="stop_search", by="sex", threshold_bytes=0)
    assert out.attrs["engine"] == "pandas"
    pd.testing.assert_frame_equal(out, with_duckdb)


def test_engine_duckdb_without_duckdb_names_the_extra(rng, tmp_path, without):
    source = write(make_records(rng), tmp_path / "csv", "csv")
    without("duckdb")
    with pytest.raises(DisproError, match=r"dispro-cjs\[duckdb\].*engine='pandas'"):
        aggregate(source, dataset="stop_search", by="sex", engine="duckdb")


def test_ibis_without_ibis_names_the_extra(without):
    without("ibis")
    with pytest.raises(DisproError, match=r"dispro-cjs\[ibis\]"):
        connect("duckdb://")
