"""The report's YAML files, read as untrusted input: the report parameter file
(``dispro report --config``, :func:`read_parameters`) and the data configuration it names in
``data:`` (:func:`read_config`).

Both are read by :func:`read_yaml`, which turns every way a file can be wrong into a
:class:`~dispro.report.params.ReportInputError` naming the file, the line and column or byte,
the key and what to do:

- not a file (missing, a folder, a device), over :data:`MAX_CONFIG_BYTES`, bytes that are not
  UTF-8 (the byte offset), control characters (the character offset);
- a YAML syntax error (line and column), a tag that would build a Python object
  (``!!python/object``; ``yaml.safe_load`` refuses it, and the refusal is explained), nesting
  too deep to parse, a key given twice in one mapping;
- a top level that is not a mapping of ``key: value`` lines.

Messages never quote the file's contents (a file that is not what was expected, such as
``data: /etc/passwd``, is described by the kind of value it holds, not by its text).
"""

from __future__ import annotations

import glob
import os
import re
from pathlib import Path

import yaml

from ..errors import ParameterError, did_you_mean
from .params import ReportInputError

__all__ = [
    "MAX_CONFIG_BYTES",
    "DATASETS",
    "CONFIG_KEYS",
    "read_yaml",
    "read_parameters",
    "read_config",
    "config_inputs",
]

#: A YAML file the report reads may be at most this large (a configuration is a few lines).
MAX_CONFIG_BYTES = 1 << 20
#: The datasets a data configuration can list, each as a path or a list of paths.
DATASETS = ("stop_search", "disposals", "charging", "sentencing")
#: Every key of a data configuration (``use_of_force``: the Home Office use-of-force tables,
#: read by :func:`dispro.useofforce.read_use_of_force`; issue 13 item 7).
CONFIG_KEYS = (*DATASETS, "use_of_force", "mappings", "official_totals")
#: Files under a listed folder that the readers may read (recorded in the provenance).
_DATA_SUFFIXES = (".csv", ".parquet", ".zip", ".xlsx", ".xlsm")
_GLOB = re.compile(r"[*?\[]")
_SHOWN = 80  # a value quoted in a message is cut at this many characters


def _shown(value) -> str:
    """A value from a configuration for a message: its repr, cut, with its kind."""
    text = repr(value)
    if len(text) > _SHOWN:
        text = text[: _SHOWN - 1] + "…"
    return f"{text} ({_kind(value)})"


def _kind(value) -> str:
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"a {type(value).__name__}"


def _problem(exc: yaml.YAMLError) -> str:
    """What the YAML parser found, without the file's text: quoted fragments longer than an
    escaped character are dropped (token names such as '<scalar>' are kept)."""

    def keep(match: re.Match) -> str:
        inner = match.group(1)
        return match.group(0) if len(inner) <= 4 or re.fullmatch(r"<[\w ]+>", inner) else "'…'"

    parts = [getattr(exc, "context", None), getattr(exc, "problem", None)]
    text = "; ".join(re.sub(r"'([^'\n]*)'", keep, str(p)) for p in parts if p)
    return " ".join(text.split())[:160] or "not valid YAML"


def _where(mark) -> str:
    return f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "somewhere"


def _duplicate_key(node) -> tuple[str, object] | None:
    """The first key given twice in one mapping of a composed YAML document, and its mark.
    Every node is visited once (aliases share nodes, so a document of aliases stays cheap)."""
    seen_nodes: set[int] = set()
    stack = [node]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen_nodes:
            continue
        seen_nodes.add(id(current))
        if isinstance(current, yaml.MappingNode):
            keys: set[str] = set()
            for key, value in current.value:
                if isinstance(key, yaml.ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
                    if key.value in keys:
                        return key.value, key.start_mark
                    keys.add(key.value)
                stack.extend((key, value))
        elif isinstance(current, yaml.SequenceNode):
            stack.extend(current.value)
    return None


def read_yaml(path, *, what: str, named_by: str = "") -> dict:
    """A YAML file whose top level is a mapping, read as untrusted input.

    Parameters
    ----------
    path : str or Path
        The file.
    what : str
        What the file is, for messages (e.g. ``"data configuration"``).
    named_by : str
        Where the path was given, for messages (e.g. ``"`data` in 'report.yaml'"``).

    Returns
    -------
    dict
        The mapping (empty for an empty file).

    Raises
    ------
    ReportInputError
        The file is missing, not a regular file, too large, not UTF-8, not valid YAML, uses a
        tag that would build a Python object, repeats a key, or its top level is not a mapping.
        The message names the file and the line and column (or byte) and never quotes it.
    """
    path = Path(path)
    where = f"the {what} {str(path)!r}" + (f" (given as {named_by})" if named_by else "")
    try:
        exists, is_dir, is_file = path.exists(), path.is_dir(), path.is_file()
    except (OSError, ValueError) as exc:  # a name too long, a NUL character
        raise ReportInputError(f"{where} cannot be used as a path ({exc})") from None
    if not exists:
        raise ReportInputError(
            f"{where} does not exist; give the path of a YAML file (relative paths are taken "
            f"from {'the folder of the file that names it' if named_by else 'the current folder'})"
        )
    if is_dir:
        raise ReportInputError(f"{where} is a folder; give the path of a YAML file in it")
    if not is_file:
        raise ReportInputError(f"{where} is not a regular file (a device or pipe?); give a file")
    try:
        size = path.stat().st_size
        if size > MAX_CONFIG_BYTES:
            raise ReportInputError(
                f"{where} is {size:,} bytes, over the limit of {MAX_CONFIG_BYTES:,} bytes for a "
                f"{what} (a few lines of YAML); check that it is the right file"
            )
        data = path.read_bytes()
    except OSError as exc:
        raise ReportInputError(f"{where} cannot be read ({exc.strerror or exc})") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        offset = exc.start + (3 if data.startswith(b"\xef\xbb\xbf") else 0)
        line = data[:offset].count(b"\n") + 1
        raise ReportInputError(
            f"{where}: bytes that are not UTF-8 at byte {offset} (line {line}): the byte there is "
            f"0x{data[offset]:02X}. Save the file as UTF-8 text (is it a YAML file?)"
        ) from None
    loader = None
    try:
        loader = yaml.SafeLoader(text)  # refuses control characters here
        node = loader.get_single_node()
        duplicate = _duplicate_key(node)
        if duplicate is not None:
            key, mark = duplicate
            raise ReportInputError(
                f"{where}, {_where(mark)}: the key {_shown(key)} is given twice in one mapping "
                "(YAML would keep only the last); give each key once"
            )
        loaded = loader.construct_document(node) if node is not None else None
    except yaml.constructor.ConstructorError as exc:
        if "constructor for the tag" in str(exc.problem):
            raise ReportInputError(
                f"{where}, {_where(exc.problem_mark)}: a YAML tag that would build a Python "
                f"object (such as !!python/object) is not allowed: a {what} holds only text, "
                "numbers, lists and mappings. Remove the tag"
            ) from None
        raise ReportInputError(
            f"{where}, {_where(exc.problem_mark)}: {_problem(exc)}. A {what} holds only text, "
            "numbers, lists and mappings with text keys"
        ) from None
    except yaml.reader.ReaderError as exc:
        line = text[: exc.position].count("\n") + 1
        raise ReportInputError(
            f"{where}: a control character (0x{exc.character:02X}) at character {exc.position} "
            f"(line {line}) is not allowed in YAML; save the file as plain text"
        ) from None
    except yaml.MarkedYAMLError as exc:
        raise ReportInputError(
            f"{where} is not valid YAML at {_where(exc.problem_mark)}: {_problem(exc)}. Check the "
            "indentation, the colons after keys and the quotes on that line"
        ) from None
    except yaml.YAMLError as exc:  # pragma: no cover - every YAML error above is marked
        raise ReportInputError(f"{where} is not valid YAML ({type(exc).__name__})") from None
    except RecursionError:
        raise ReportInputError(
            f"{where} is nested too deeply to read; a {what} is a flat mapping of key: value lines"
        ) from None
    except (ValueError, OverflowError) as exc:  # e.g. a timestamp YAML reads as a date: 0000-0-0
        raise ReportInputError(
            f"{where}: a value YAML reads as a date or time is not a valid one ({exc}); put dates "
            'and months in quotes, e.g. period_start: "2021-04"'
        ) from None
    finally:
        if loader is not None:
            loader.dispose()
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ReportInputError(
            f"{where} holds {_kind(loaded)} at its top level, not a mapping of `key: value` lines "
            f"(its contents are not shown); check that it is a {what}"
        )
    odd = [k for k in loaded if not isinstance(k, str)]
    if odd:
        raise ReportInputError(
            f"{where}: the key(s) {', '.join(_shown(k) for k in odd[:10])} are not text; every "
            "key is a name"
        )
    return loaded


def read_parameters(path) -> dict:
    """The report parameters in a YAML file (``dispro report --config``), with ``data`` (a data
    configuration) taken relative to the file's folder. The parameters themselves are checked
    by :func:`~dispro.report.params.check_parameters` when the report renders."""
    path = Path(path)
    params = read_yaml(path, what="report parameter file")
    data = params.get("data")
    if isinstance(data, str) and data and data != "demo" and "\x00" not in data:
        if not Path(data).is_absolute():
            params["data"] = str((path.parent / data).resolve())
    return params


def _paths(key: str, value, base: Path, where: str) -> list[Path]:
    """The files and folders a dataset key of a data configuration names (relative to ``base``),
    each of which exists; a pattern (``*``, ``?``, ``[``) gives the files it matches."""
    how = (
        f"give a path, or a list of paths, of files or folders, relative to the folder of the "
        f"configuration ({str(base)!r}), e.g. `{key}: data/{key}`"
    )
    if isinstance(value, str):
        values = [value]
    elif isinstance(value, list) and value:
        values = value
    else:
        raise ReportInputError(f"{where}: `{key}` is {_shown(value)}; {how}")
    out: list[Path] = []
    for i, item in enumerate(values):
        at = f"`{key}`" if isinstance(value, str) else f"`{key}` item {i + 1}"
        if not isinstance(item, str) or not item.strip() or "\x00" in item:
            raise ReportInputError(f"{where}: {at} is {_shown(item)}, not a path; {how}")
        path = Path(item) if Path(item).is_absolute() else base / item
        try:
            exists = path.exists()
        except (OSError, ValueError) as exc:
            raise ReportInputError(
                f"{where}: {at} {_shown(item)} is not a usable path ({exc})"
            ) from None
        if exists:
            out.append(path)
            continue
        pattern = bool(_GLOB.search(str(path)))
        matches = sorted(Path(m) for m in glob.glob(str(path))) if pattern else []
        if pattern and not matches:
            raise ReportInputError(
                f"{where}: {at} {item!r} matches no file (the pattern {str(path)!r}); "
                "correct the pattern or the folder"
            )
        if not matches:
            raise ReportInputError(
                f"{where}: {at} names {item!r}, which does not exist (looked for {str(path)!r}); "
                f"paths are taken from the folder of the configuration: correct the path"
            )
        out.extend(matches)
    return out


def _mappings(value, datasets: dict, base: Path, where: str) -> dict:
    from ..readers.mapping import builtin_mappings

    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ReportInputError(
            f"{where}: `mappings` is {_shown(value)}; it must be a mapping of dataset: mapping "
            "file (or the name of a shipped mapping), e.g. `mappings: {disposals: my_layout.yaml}`"
        )
    out = {}
    for dataset, spec in value.items():
        at = f"`mappings.{dataset}`"
        if dataset == "stop_search":
            raise ReportInputError(
                f"{where}: {at}: stop_search files are read in the data.police.uk layout and take "
                "no mapping; remove the entry"
            )
        if dataset not in DATASETS:
            raise ReportInputError(
                f"{where}: {at} is not a dataset{did_you_mean(str(dataset), DATASETS[1:])}; "
                f"`mappings` keys are {DATASETS[1:]}"
            )
        if dataset not in datasets:
            raise ReportInputError(
                f"{where}: {at} gives a mapping, but the configuration lists no {dataset} "
                f"files; add `{dataset}:` with its files, or remove the mapping"
            )
        if isinstance(spec, dict):
            out[dataset] = spec
            continue
        if not isinstance(spec, str) or not spec.strip() or "\x00" in spec:
            raise ReportInputError(
                f"{where}: {at} is {_shown(spec)}; give a YAML mapping file (relative to the "
                f"configuration's folder) or the name of a shipped mapping {builtin_mappings()}"
            )
        path = Path(spec) if Path(spec).is_absolute() else base / spec
        if path.is_file():
            out[dataset] = path
        elif not Path(spec).suffix and "/" not in spec and spec in builtin_mappings():
            out[dataset] = spec
        else:
            raise ReportInputError(
                f"{where}: {at} {spec!r} is neither a file (looked for {str(path)!r}) nor a "
                f"shipped mapping{did_you_mean(spec, builtin_mappings())}; shipped: "
                f"{builtin_mappings()}"
            )
    return out


def _use_of_force(value, base: Path, where: str) -> list[Path] | dict[str, Path]:
    """The Home Office use-of-force tables of a data configuration: ``{financial year: file}``,
    or files (folders and patterns expanded) whose names name their year."""
    from ..useofforce import financial_year_of, financial_year_start

    if isinstance(value, dict):
        out: dict[str, Path] = {}
        for year, item in value.items():
            try:
                first = financial_year_start(year)
            except ParameterError:
                raise ReportInputError(
                    f"{where}: `use_of_force` key {_shown(year)} is not a financial year; write "
                    "it as 2019-20, e.g. `use_of_force: {2019-20: uof_2019_20.csv}`"
                ) from None
            files = _paths(f"use_of_force.{year}", item, base, where)
            if len(files) != 1 or not files[0].is_file():
                raise ReportInputError(
                    f"{where}: `use_of_force.{year}` must name one file (the table of that "
                    f"year), but it names {_shown(item)}"
                )
            out[f"{first}-{(first + 1) % 100:02d}"] = files[0]
        if not out:
            raise ReportInputError(f"{where}: `use_of_force` is an empty mapping")
        return out
    files: list[Path] = []
    for p in _paths("use_of_force", value, base, where):
        files += (
            sorted(f for f in p.rglob("*") if f.suffix.lower() in _DATA_SUFFIXES and f.is_file())
            if p.is_dir()
            else [p]
        )
    unnamed = [f.name for f in files if financial_year_of(f.name) is None]
    if unnamed:
        raise ReportInputError(
            f"{where}: `use_of_force`: the file name(s) {unnamed[:5]} do not name one financial "
            "year (such as april2019-march2020 or 2019-20); give the tables by year instead, "
            f"e.g. `use_of_force: {{2019-20: {unnamed[0]}}}`"
        )
    return files


def _official_totals(value, datasets: dict, base: Path, where: str) -> list[Path]:
    """The files of Home Office published total searches (``official_totals``; the bundled table
    when the key is absent) that the stop-and-search records are reconciled with."""
    files = _paths("official_totals", value, base, where)
    folders = [str(f) for f in files if not f.is_file()]
    if folders:
        raise ReportInputError(
            f"{where}: `official_totals` names {folders[0]!r}, which is not a file; give the CSV "
            "file(s) of published totals (columns force_id, pfa_code, year_end, "
            "published_total...), e.g. `official_totals: ss20_totals_ye_mar2026.csv`"
        )
    if "stop_search" not in datasets:
        raise ReportInputError(
            f"{where}: `official_totals` are set against the stop-and-search records, but the "
            "configuration lists no stop_search files; add `stop_search:` or remove the key"
        )
    return files


def read_config(path) -> dict:
    """A data configuration: the input files of each dataset, checked, and their mappings.

    The file is a YAML mapping of ``stop_search``, ``disposals``, ``charging`` and
    ``sentencing`` (each a path or a list of paths of files, folders or patterns, relative to
    the configuration's folder), an optional ``use_of_force`` (the Home Office use-of-force
    tables by ethnicity and force: files whose names name their financial year, or
    ``{financial year: file}``) and an optional ``mappings`` (``{dataset: mapping file or
    shipped mapping name}``)::

        stop_search: police_uk/          # data.police.uk files, folders or zips
        disposals: [courts_2023.csv, courts_2024.csv]
        use_of_force: {2019-20: uof_tables/april2019-march2020.csv}
        mappings: {disposals: my_court_layout.yaml}
        official_totals: ss20_totals.csv  # optional: Home Office published total searches

    ``official_totals`` (file(s) in the layout of :func:`dispro.readers.read_official_totals`;
    default: the bundled year ending March 2025 table) are set against the stop-and-search
    records in the data-quality appendix.

    Returns
    -------
    dict
        ``{dataset: [Path, ...]}`` for every dataset listed (paths that exist),
        ``"use_of_force"`` (files, or ``{financial year: Path}``) if given, and
        ``"mappings": {dataset: Path, shipped name or dict}``.

    Raises
    ------
    ReportInputError
        The file cannot be read (:func:`read_yaml`), a key is unknown, a value is not a path or
        a list of paths, a path does not exist, or a mapping is malformed. The message names the
        file, the key and the value, and says how to fix it.
    """
    path = Path(path)
    config = read_yaml(path, what="data configuration")
    where = f"the data configuration {str(path)!r}"
    unknown = [k for k in config if k not in CONFIG_KEYS]
    if unknown:
        raise ReportInputError(
            f"{where}: unknown key(s) "
            + ", ".join(f"{_shown(k)}{did_you_mean(k, CONFIG_KEYS)}" for k in unknown[:10])
            + f"; the keys are the datasets {DATASETS} (each a path or a list of paths) and "
            f"{list(CONFIG_KEYS[len(DATASETS) :])}"
        )
    base = path.parent.resolve()
    out: dict = {k: _paths(k, config[k], base, where) for k in DATASETS if k in config}
    if not out:
        raise ReportInputError(
            f"{where} names no input files; list at least one of {DATASETS}, e.g. "
            "`stop_search: data/police_uk`"
        )
    if "use_of_force" in config:
        out["use_of_force"] = _use_of_force(config["use_of_force"], base, where)
    out["mappings"] = _mappings(config.get("mappings"), out, base, where)
    if "official_totals" in config:  # reconcile (issue 13 item 6)
        out["official_totals"] = _official_totals(config["official_totals"], out, base, where)
    return out


def config_inputs(config: dict, path) -> list[tuple[Path, str]]:
    """Every file a checked configuration (:func:`read_config`) reads, each with its path
    relative to the configuration's folder (POSIX form): a folder is listed by the data files
    under it, and mapping files follow the data."""
    base = Path(path).parent.resolve()
    files: list[Path] = []
    for dataset in DATASETS:
        for p in config.get(dataset, []):
            if p.is_dir():
                files += sorted(
                    f for f in p.rglob("*") if f.suffix.lower() in _DATA_SUFFIXES and f.is_file()
                )
            else:
                files.append(p)
    uof = config.get("use_of_force", [])
    files += list(uof.values()) if isinstance(uof, dict) else list(uof)
    files += [m for m in config.get("mappings", {}).values() if isinstance(m, Path)]
    files += config.get("official_totals", [])
    return [(f, Path(os.path.relpath(f.resolve(), base)).as_posix()) for f in files]
