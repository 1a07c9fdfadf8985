"""The report's YAML files read as untrusted input (dispro.report.config): every way a data
configuration or a report parameter file can be wrong ends in a ReportInputError naming the
file, the place and the key, and never quoting the file; a fuzz of both files and of the report
parameters gives only a result or a DisproError."""

from __future__ import annotations

import string
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from dispro.errors import DisproError, ParameterError
from dispro.report import ReportError, check_parameters
from dispro.report.config import (
    CONFIG_KEYS,
    config_inputs,
    read_config,
    read_parameters,
    read_yaml,
)
from dispro.report.params import PARAMETERS, ReportInputError

SECRET = "s3cret-token-1f9a"
#: A file shaped like /etc/passwd, holding a secret: never to be echoed in a message.
PASSWD = f"root:x:0:0:{SECRET}:/root:/bin/bash\ndaemon:x:1:1::/usr/sbin:/usr/sbin/nologin\n"


@pytest.fixture
def folder(tmp_path):
    """A configuration folder with one stop-and-search file and a folder beside it."""
    (tmp_path / "police").mkdir()
    (tmp_path / "police" / "2023-01-dorset-stop-and-search.csv").write_text("Type\n")
    (tmp_path / "courts.csv").write_text("date\n")
    return tmp_path


def _refused(path, *fragments):
    """read_config(path) raises a ReportInputError whose message holds every fragment, the
    file's name, and not the secret."""
    with pytest.raises(ReportInputError) as caught:
        read_config(path)
    message = str(caught.value)
    assert isinstance(caught.value, ReportError) and isinstance(caught.value, DisproError)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message, message
    assert SECRET not in message
    return message


def _config(folder: Path, text: str | bytes, name: str = "data.yaml") -> Path:
    path = folder / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def test_a_yaml_syntax_error_names_the_line_and_column_and_not_the_text(folder):
    path = _config(folder, f"stop_search: police\ndisposals: [courts.csv, {SECRET}\n")
    _refused(path, "not valid YAML at line 3, column 1", "expected ',' or ']'", "indentation")
    path = _config(folder, f"stop_search: police\n  bad: {SECRET}: [x\n")
    _refused(path, "line 2, column 6", "mapping values are not allowed here")
    path = _config(folder, "stop_search:\n\t- police\n")
    _refused(path, "line 2, column 1", "'\\t' that cannot start any token")


def test_a_config_that_is_not_utf8_names_the_byte(folder):
    path = _config(folder, b"stop_search: police\ndisposals: caf\xe9.csv\n")
    # byte 0..19 is the first line with its newline; 'disposals: caf' is 14 more: byte 34
    _refused(path, "not UTF-8 at byte 34 (line 2)", "0xE9", "Save the file as UTF-8")
    path = _config(folder, b"stop_search: pol\x00ice\n")
    _refused(path, "control character (0x00) at character 16 (line 1)")


def test_a_python_tag_is_refused_and_explained(folder):
    path = _config(folder, f"stop_search: !!python/object/apply:os.system ['echo {SECRET}']\n")
    _refused(path, "line 1, column 14", "would build a Python object", "Remove the tag")
    path = _config(folder, "stop_search: !!python/name:os.system\n")
    _refused(path, "line 1, column 14", "!!python/object")


def test_a_top_level_that_is_not_a_mapping(folder):
    _refused(_config(folder, "- stop_search\n- police\n"), "holds a list at its top level")
    _refused(_config(folder, "12\n"), "holds a number at its top level")
    # data: /etc/passwd, or a file like it: described, never quoted
    message = _refused(_config(folder, PASSWD, "passwd"), "holds text at its top level")
    assert "root:x" not in message and "/bin/bash" not in message
    if Path("/etc/passwd").is_file():
        with pytest.raises(ReportInputError) as caught:
            read_config("/etc/passwd")
        assert "root:" not in str(caught.value) and "/etc/passwd" in str(caught.value)


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("12", "`stop_search` is 12 (a number)"),
        ("", "`stop_search` is None (empty)"),
        ("[]", "`stop_search` is [] (a list)"),
        ("{a: b}", "`stop_search` is {'a': 'b'} (a mapping)"),
        ("[police, 3]", "`stop_search` item 2 is 3 (a number), not a path"),
        ("[police, [x]]", "`stop_search` item 2 is ['x'] (a list), not a path"),
        ("true", "`stop_search` is True (true/false)"),
    ],
)
def test_a_dataset_that_is_not_a_path_or_list_of_paths(folder, value, shown):
    _refused(_config(folder, f"stop_search: {value}\n"), shown, "relative to the folder")


def test_mappings_must_be_a_mapping_of_known_datasets(folder):
    _refused(_config(folder, "disposals: courts.csv\nmappings: [disposals]\n"),
             "`mappings` is ['disposals'] (a list)", "mappings: {disposals:")  # fmt: skip
    _refused(_config(folder, "disposals: courts.csv\nmappings: {dispsals: x}\n"),
             "`mappings.dispsals` is not a dataset; did you mean 'disposals'?")  # fmt: skip
    _refused(_config(folder, "stop_search: police\nmappings: {stop_search: x}\n"),
             "`mappings.stop_search`", "take")  # fmt: skip
    _refused(_config(folder, "stop_search: police\nmappings: {charging: x}\n"),
             "lists no charging files")  # fmt: skip
    _refused(_config(folder, "disposals: courts.csv\nmappings: {disposals: nowhere.yaml}\n"),
             "'nowhere.yaml' is neither a file", str(folder / "nowhere.yaml"))  # fmt: skip
    _refused(_config(folder, "disposals: courts.csv\nmappings: {disposals: 7}\n"),
             "`mappings.disposals` is 7 (a number)")  # fmt: skip
    (folder / "layout.yaml").write_text("name: layout\n")
    got = read_config(_config(folder, "disposals: courts.csv\nmappings: {disposals: layout.yaml}"))
    assert got["mappings"] == {"disposals": folder.resolve() / "layout.yaml"}


def test_an_input_path_that_does_not_exist_names_the_key_and_the_path(folder):
    message = _refused(
        _config(folder, "stop_search: police\ndisposals: [courts.csv, court_2024.csv]\n"),
        "`disposals` item 2 names 'court_2024.csv', which does not exist",
        str(folder.resolve() / "court_2024.csv"),
        "correct the path",
    )
    assert "police" not in message.split("does not exist")[1]
    _refused(_config(folder, "disposals: 'courts_*.csv'\n"), "'courts_*.csv' matches no file")


def test_other_ways_a_config_is_wrong(folder):
    _refused(_config(folder, "stop_serch: police\n"), "unknown key(s) 'stop_serch'",
             "did you mean 'stop_search'?")  # fmt: skip
    _refused(_config(folder, "stop_search: police\nstop_search: police\n"),
             "line 2, column 1", "'stop_search' (text) is given twice")  # fmt: skip
    _refused(_config(folder, ""), "names no input files")
    _refused(_config(folder, "1: police\n"), "the key(s) 1 (a number) are not text")
    deep = max(3000, sys.getrecursionlimit() + 100)  # another test may have raised the limit
    _refused(_config(folder, "stop_search: " + "[" * deep + "]" * deep), "nested too deeply")
    _refused(_config(folder, "a: &a x\nstop_search: *b\n"), "line 2, column 14", "undefined alias")
    with pytest.raises(ReportInputError, match="does not exist"):
        read_config(folder / "nowhere.yaml")
    with pytest.raises(ReportInputError, match="is a folder"):
        read_config(folder / "police")
    big = _config(folder, "stop_search: police\n" + "#" * (1 << 20))
    _refused(big, "over the limit of 1,048,576 bytes")


def test_a_good_config_gives_paths_and_provenance_relative_to_its_folder(folder):
    (folder / "config").mkdir()
    path = _config(folder / "config", "stop_search: ../police\ndisposals: ['../court*.csv']\n")
    got = read_config(path)
    assert got == {
        "stop_search": [folder / "config" / ".." / "police"],
        "disposals": [folder / "config" / ".." / "courts.csv"],
        "mappings": {},
    }
    assert [rel for _, rel in config_inputs(got, path)] == [
        "../police/2023-01-dorset-stop-and-search.csv",
        "../courts.csv",
    ]


def test_the_report_parameter_file_is_read_the_same_way(tmp_path):
    params = tmp_path / "report.yaml"
    params.write_text("area: Dorset\ndata: data/config.yaml\n")
    assert read_parameters(params) == {
        "area": "Dorset",
        "data": str((tmp_path / "data" / "config.yaml").resolve()),
    }
    params.write_text(PASSWD)
    with pytest.raises(ReportInputError, match="report parameter file.*holds text") as caught:
        read_parameters(params)
    assert SECRET not in str(caught.value)
    params.write_text("area: !!python/object:os.system {}\n")
    with pytest.raises(ReportInputError, match="line 1, column 7.*Python object"):
        read_parameters(params)
    assert read_yaml(_config(tmp_path, "# nothing\n"), what="file") == {}


# --------------------------------------------------------------------------------------------
# fuzz
# --------------------------------------------------------------------------------------------

_PATHISH = st.one_of(
    st.sampled_from(["police", "courts.csv", "nowhere.csv", "police/*", "court*.csv", "../x", ""]),
    st.text(alphabet=string.ascii_lowercase + "_-/.*?[]", max_size=20),
)
_SCALAR = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=20),
    _PATHISH,
)  # fmt: skip
_VALUE = st.recursive(
    _SCALAR,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(
            st.one_of(st.sampled_from(CONFIG_KEYS), st.text(max_size=8)), inner, max_size=4
        ),
    ),  # fmt: skip
    max_leaves=12,
)
_KEYS = st.one_of(st.sampled_from(CONFIG_KEYS), st.text(max_size=10), st.integers())
#: Configurations close to valid: the real keys, paths that mostly exist, a mapping.
_NEAR_VALID = st.fixed_dictionaries(
    {},
    optional={
        "stop_search": st.integers(0, 2).flatmap(
            lambda i: [st.just("police"), st.lists(_PATHISH, max_size=3), _SCALAR][i]
        ),
        "disposals": st.integers(0, 2).flatmap(
            lambda i: [st.just("courts.csv"), st.just(["court*.csv"]), _PATHISH][i]
        ),
        "mappings": st.one_of(
            st.none(), st.fixed_dictionaries({"disposals": st.sampled_from(["m.yaml", "x", 1])})
        ),
    },
).map(lambda d: yaml.safe_dump(d).encode())
_DOCUMENT = st.one_of(
    _NEAR_VALID,
    st.dictionaries(_KEYS, _VALUE, max_size=6).map(
        lambda d: yaml.safe_dump(d, allow_unicode=True).encode()
    ),
    st.binary(max_size=200),
    st.text(alphabet="ab:-[]{}!&*#|>'\"\n\t %@`,?\\/.", max_size=120).map(str.encode),
    _VALUE.map(lambda v: yaml.safe_dump(v).encode()),
)


@settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(document=_DOCUMENT)
def test_fuzz_config_files_give_a_result_or_a_dispro_error(folder, document):
    path = _config(folder, document, "fuzz.yaml")
    try:
        config = read_config(path)
    except DisproError as exc:
        event("config refused")
        assert str(path) in str(exc)
    else:
        event("config accepted")
        assert set(config) <= set(CONFIG_KEYS) and "mappings" in config
        for _, rel in config_inputs(config, path):
            assert not Path(rel).is_absolute()
    try:
        params = read_parameters(path)
        check_parameters(params)
    except DisproError:
        pass


_PARAMETER_VALUE = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=15),
    st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=3), st.integers()),
    st.sampled_from(["wessex", "scrutiny", "Dorset", "Wessex", "City of London", "demo",
                     "self_defined", "2021-04", "2024-03", "0000-01", "2024-13", "1899-12"]),
)  # fmt: skip


_MONTHS = st.sampled_from(["", "2021-04", "2022-03", "2023-12", "2024-03", "1899-12"])
#: For each parameter, a value of the right kind (often valid) or anything at all.
_PARAMETER_VALUES = {
    "report": st.sampled_from(["wessex", "scrutiny", "pack"]),
    "area": st.sampled_from(["Dorset", "Wessex", "City of London", "[/]", "", "dorset"]),
    "period_start": _MONTHS, "period_end": _MONTHS,
    "comparison_start": _MONTHS, "comparison_end": _MONTHS,
    "reference": st.text(max_size=8),
    "ethnicity": st.sampled_from(["self_defined", "officer_defined", "fallback", "x"]),
    "alpha": st.floats(), "suppression_threshold": st.integers(-3, 12),
    "data": st.sampled_from(["demo", "config.yaml"]), "seed": st.integers(),
    "scale": st.floats(), "title": st.text(max_size=8),
}  # fmt: skip


def _mostly(valid):
    """``valid`` four times in five, anything at all the fifth."""
    return st.integers(0, 4).flatmap(lambda i: _PARAMETER_VALUE if i == 0 else valid)


@settings(max_examples=300, deadline=None)
@given(
    params=st.fixed_dictionaries(
        {"area": _mostly(_PARAMETER_VALUES["area"])},
        optional={
            **{k: _mostly(v) for k, v in _PARAMETER_VALUES.items() if k != "area"},
            "junk": _PARAMETER_VALUE,
            "work_dir": _PARAMETER_VALUE,
        },
    )
)
def test_fuzz_report_parameters_give_a_dict_or_a_parameter_error(params):
    try:
        checked = check_parameters(params)
    except ParameterError:
        event("parameters refused")
        return
    event("parameters accepted")
    assert set(checked) >= set(PARAMETERS)
    assert checked["period_start"] <= checked["period_end"]
    assert checked["comparison_start"] <= checked["comparison_end"]
