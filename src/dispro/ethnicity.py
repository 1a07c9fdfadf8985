"""Ethnicity classification schemes and the mappings between them.

Every mapping is read from the code lists in ``data_dictionary/codelists/``:

- ``census2021``: the 19 Census 2021 categories (``ethnicity_census2021.csv``), rolled up to 5 groups;
- ``self_defined``: the police self-defined labels as data.police.uk writes them, in both the
  2011-style (18+1) and 2001-style (16+1) wordings (``ethnicity_police_self_defined.csv``);
- ``officer_defined``: officer-defined ethnicity, ``White``/``Black``/``Asian``/``Other`` and the
  PNC IC codes (``ethnicity_officer_defined.csv``), a 4+1 scheme with no Mixed group.

``Other ethnic group - Not stated`` and blanks mean NOT RECORDED and become ``Not stated``, never
``Other``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .dictionary import codelist, codes
from .errors import ValidationError, check_choice, did_you_mean

__all__ = ["SCHEMES", "NOT_STATED", "GROUPS", "to_group", "group_order", "mapping"]

NOT_STATED = "Not stated"

_FILES = {
    "census2021": "ethnicity_census2021",
    "self_defined": "ethnicity_police_self_defined",
    "officer_defined": "ethnicity_officer_defined",
    "group": "ethnicity_groups",
}
SCHEMES = tuple(_FILES)


def group_order(scheme: str = "5+1") -> list[str]:
    """The 5+1 (or 4+1) group codes in display order, from ``ethnicity_groups.csv``."""
    check_choice("scheme", scheme, ("5+1", "4+1"))
    groups = codelist("ethnicity_groups")
    column = "scheme_5plus1" if scheme == "5+1" else "scheme_4plus1"
    groups = groups[groups[column].str.lower() == "true"]
    return groups.sort_values("order", key=lambda s: s.astype(int))["code"].tolist()


GROUPS = tuple(codes("ethnicity_groups"))


def mapping(scheme: str) -> pd.Series:
    """The label-to-group mapping of a scheme, as a Series indexed by label."""
    check_choice("scheme", scheme, SCHEMES)
    table = codelist(_FILES[scheme])
    column = "code" if scheme == "group" else "group"
    return pd.Series(table[column].to_numpy(), index=table["code"].to_numpy(), name="group")


def to_group(
    values: pd.Series, scheme: str, *, unknown: str = "raise", column: str | None = None
) -> pd.Series:
    """Map labels of a scheme to the 5+1 groups (``Asian``, ``Black``, ``Mixed``, ``White``,
    ``Other``, ``Not stated``).

    Parameters
    ----------
    values : Series
        Labels exactly as the source writes them (surrounding whitespace is ignored).
    scheme : {"census2021", "self_defined", "officer_defined", "group"}
        Which code list the labels come from.
    unknown : {"raise", "missing"}
        A label not in the code list raises :class:`ValidationError` listing every such label with
        its count and a did-you-mean (default), or becomes missing (``"missing"``), for the caller
        to count.
    column : str, optional
        Column name used in messages.

    Returns
    -------
    Series
        The group of each value, same index. Blank or missing values become ``Not stated``.

    Examples
    --------
    >>> import pandas as pd
    >>> from dispro.ethnicity import to_group
    >>> to_group(pd.Series(["Other ethnic group - Not stated", None,
    ...                     "Asian/Asian British - Chinese"]), "self_defined").tolist()
    ['Not stated', 'Not stated', 'Asian']
    """
    check_choice("unknown", unknown, ("raise", "missing"))
    lookup = mapping(scheme)
    # work on the distinct labels only: a million rows hold a few dozen labels
    codes_, uniques = pd.factorize(pd.Series(values, copy=False).astype("string").str.strip())
    uniques = pd.Series(uniques, dtype="string")
    blank_u = (uniques == "").fillna(True).to_numpy(dtype=bool)
    mapped_u = uniques.map(lookup.to_dict()).astype(object).to_numpy()
    bad_u = ~blank_u & pd.isna(mapped_u)
    if bad_u.any() and unknown == "raise":
        counts = pd.Series(codes_).value_counts()
        listed = "; ".join(
            f"{uniques[i]!r} ×{counts.get(i, 0)}{did_you_mean(uniques[i], lookup.index)}"
            for i in np.flatnonzero(bad_u)[:20]
        )
        where = f"column {column!r}" if column else "the values"
        raise ValidationError(
            f"{int(counts[np.flatnonzero(bad_u)].sum())} value(s) in {where} are not in the "
            f"{scheme} code list (data_dictionary/codelists/{_FILES[scheme]}.csv): {listed}. Add "
            "them to the code list if they are genuine labels, or correct the data."
        )
    mapped_u = np.where(blank_u, NOT_STATED, mapped_u)
    mapped_u = np.where(bad_u, None, mapped_u)
    out = np.append(mapped_u, NOT_STATED)[codes_]  # code -1 (missing) -> Not stated
    return pd.Series(out, index=values.index, name=values.name, dtype=object)
