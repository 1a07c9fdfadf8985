"""One force-name normaliser: the record readers accept every spelling the population functions
accept (dispro.forces.normalise_force), and count the names they rewrote."""

from __future__ import annotations

import glob

import pandas as pd
import pytest

from dispro import synth
from dispro.errors import ValidationError
from dispro.forces import normalise_force
from dispro.readers import read_records


@pytest.mark.parametrize(
    ("spelling", "official"),
    [("Hampshire Constabulary", "Hampshire"), ("Hants", "Hampshire"), ("Wilts", "Wiltshire"),
     ("Dorset Police", "Dorset"), ("Avon & Somerset", "Avon and Somerset")],
)  # fmt: skip
def test_read_records_takes_every_spelling_normalise_force_takes(tmp_path, spelling, official):
    assert normalise_force(spelling) == official
    synth.write(tmp_path, start="2023-01", end="2023-03", scale=0.05, seed=1)
    path = sorted(glob.glob(str(tmp_path / "synthetic_disposals_*")))[0]
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    changed = table["force"] == "Dorset"
    table.loc[changed, "force"] = spelling
    table.to_csv(path, index=False)
    records = read_records(path, dataset="disposals")
    assert (records.loc[changed.to_numpy(), "force"] == official).all()
    relabelled = [e for e in records.attrs["exclusions"] if e["action"] == "relabelled"
                  and e["rule"].startswith("force names")]  # fmt: skip
    assert [e["rows"] for e in relabelled] == [int(changed.sum())]


def test_an_unknown_force_is_still_an_error_with_a_suggestion(tmp_path):
    synth.write(tmp_path, start="2023-01", end="2023-03", scale=0.05, seed=1)
    path = sorted(glob.glob(str(tmp_path / "synthetic_disposals_*")))[0]
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    table.loc[table["force"] == "Dorset", "force"] = "Dorsett"
    table.to_csv(path, index=False)
    with pytest.raises(ValidationError, match="'Dorsett'.*did you mean 'Dorset'"):
        read_records(path, dataset="disposals")
