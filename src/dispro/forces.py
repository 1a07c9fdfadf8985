"""Police force names: one normaliser for every spelling a source uses.

``avon-and-somerset`` (the data.police.uk file slug), ``Avon & Somerset``, ``Avon and Somerset``
and ``Avon and Somerset Constabulary`` all become ``Avon and Somerset``, the name the Home Office
writes. Names, slugs, ONS codes and aliases come from
``data_dictionary/codelists/police_force_area.csv``.
"""

from __future__ import annotations

import functools
import re

import pandas as pd

from .dictionary import codelist
from .errors import ValidationError, did_you_mean

__all__ = ["official_names", "normalise_force", "force_table", "wessex_forces"]

_DROP_WORDS = re.compile(r"\b(police|constabulary|service|force|area)\b")


def _key(name: str) -> str:
    text = str(name).lower().replace("&", " and ")
    text = re.sub(r"[^a-z0-9]+", " ", text)
    text = _DROP_WORDS.sub(" ", text)
    return " ".join(text.split())


def force_table() -> pd.DataFrame:
    """The police force areas: official name (``code``), ONS code, police.uk slug, aliases."""
    return codelist("police_force_area")


@functools.cache
def _lookup() -> dict[str, str]:
    table = force_table()
    out: dict[str, str] = {}
    for row in table.itertuples(index=False):
        spellings = [row.code, row.label, row.ons_code, row.police_uk_slug]
        spellings += [a for a in str(row.aliases).split("|") if a]
        for s in spellings:
            if s:
                out[_key(s)] = row.code
                out[str(s).lower()] = row.code
    return out


def official_names(values: pd.Series) -> pd.Series:
    """``values`` with every spelling :func:`normalise_force` knows replaced by the official
    name, and every other value left as it is (for a validator to report)."""
    lookup = _lookup()
    mapping = {}
    for u in pd.unique(values.dropna().astype(str)):
        mapping[u] = lookup.get(u.lower()) or lookup.get(_key(u)) or u
    return values.map(lambda v: mapping.get(str(v), v) if pd.notna(v) else v)


def wessex_forces() -> list[str]:
    """The three Wessex force areas, from the code list's ``wessex`` column."""
    table = force_table()
    return table.loc[table["wessex"].str.lower() == "true", "code"].tolist()


def normalise_force(values, *, source: str | None = None) -> pd.Series:
    """Map force names, slugs, ONS codes or aliases to the official force area name.

    Parameters
    ----------
    values : str or Series
        Force names as a source writes them.
    source : str, optional
        File or table name used in the error message.

    Returns
    -------
    Series (or str for a str input)
        The official names (``code`` column of ``police_force_area.csv``).

    Raises
    ------
    ValidationError
        A name matches no force; the message lists every such name with its count and a
        did-you-mean.

    Examples
    --------
    >>> normalise_force("avon-and-somerset"), normalise_force("Avon & Somerset")
    ('Avon and Somerset', 'Avon and Somerset')
    """
    scalar = isinstance(values, str)
    series = pd.Series([values]) if scalar else pd.Series(values)
    lookup = _lookup()
    uniques = pd.unique(series.dropna().astype(str))
    mapping = {}
    unknown = []
    for u in uniques:
        hit = lookup.get(u.lower()) or lookup.get(_key(u))
        if hit is None:
            unknown.append(u)
        mapping[u] = hit
    if unknown:
        counts = series.astype(str).value_counts()
        names = force_table()["code"].tolist()
        listed = "; ".join(f"{u!r} ×{counts[u]}{did_you_mean(u, names)}" for u in unknown[:20])
        where = f" in {source}" if source else ""
        raise ValidationError(
            f"{len(unknown)} force name(s){where} are not police force areas of England and Wales: "
            f"{listed}. Use the official name, the data.police.uk slug or the ONS code, or add the "
            "spelling to the aliases in data_dictionary/codelists/police_force_area.csv."
        )
    out = series.astype("string").map(mapping)
    return out.iloc[0] if scalar else out.astype(object)
