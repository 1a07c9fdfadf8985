#!/usr/bin/env python
"""Build dispro's bundled Census 2021 population table from the public source files.

Reads, from ``<shared>/realdata/`` (``<shared>`` defaults to ``../shared`` beside the project root):

* ``ons_census2021_ethnic_group_la/EthnicGroup.csv``: ONS Census 2021 custom dataset, usual
  residents by local authority x sex x 19 ethnic groups (UTF-8 BOM, CRLF, counts rounded to 5,
  ``c`` = suppressed);
* ``blackthrive_la_lookups/la_to_force_2020.csv``: ONS LAD20 -> CSP20 -> PFA20 lookup;
* ``ons_census2021_ethnic_group_la/geocode.csv``: police force area code -> region.

Writes, into ``src/dispro/_data/``:

* ``census2021_la.csv.gz``: one row per local authority x sex x ethnic group, columns
  ``la_code, la_name, pfa_code, pfa_name, region, sex, ethnicity, population`` (``population``
  empty where the source cell is ``c``);
* ``census2021_la.meta.json``: source hashes, row counts, geography adjustments, force-name
  aliases, licence;
* ``SOURCES.md``: the same for a human reader.

Usage::

    python scripts/build_census2021.py [--shared PATH] [--out-dir PATH]

The build stops with a message (it never guesses) if the sources do not look as expected: an
unknown geography code, an ethnic-group header that is not in the code list, a cell that is
neither ``c`` nor a whole number, or a local authority without a police force area.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import re
import sys
from pathlib import Path

import pandas as pd

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SHARED = PROJECT_ROOT.parent / "shared"
DEFAULT_OUT = PROJECT_ROOT / "src" / "dispro" / "_data"
CODELIST = PROJECT_ROOT / "data_dictionary" / "codelists" / "ethnicity_census2021.csv"

CENSUS = "ons_census2021_ethnic_group_la/EthnicGroup.csv"
LOOKUP = "blackthrive_la_lookups/la_to_force_2020.csv"
GEOCODE = "ons_census2021_ethnic_group_la/geocode.csv"

OUT_TABLE = "census2021_la.csv.gz"
OUT_META = "census2021_la.meta.json"
OUT_SOURCES = "SOURCES.md"
COLUMNS = ["la_code", "la_name", "pfa_code", "pfa_name", "region", "sex", "ethnicity", "population"]

LA_CODE = re.compile(r"^(E06|E07|E08|E09|W06)\d{6}$")
AGGREGATE_CODE = re.compile(r"^(K04|E92|W92|E12)\d{6}$")
SUPPRESSED = "c"
ROUNDING = 5

LICENCE = "Open Government Licence v3.0"
COPYRIGHT = "Crown copyright, Office for National Statistics (ONS), Census 2021"

MET, CITY, NORTHANTS = "E23000001", "E23000034", "E23000022"

# Census 2021 geography vs the 2020 lookup. Each entry is recorded in the metadata and SOURCES.md.
SUPPLEMENT = {  # unitary authorities created on 1 April 2021, absent from the LAD20 lookup
    "E06000061": ("North Northamptonshire", NORTHANTS),
    "E06000062": ("West Northamptonshire", NORTHANTS),
}
ABOLISHED = {  # LAD20 districts abolished on 1 April 2021 -> their successor unitary authority
    "E07000150": "E06000061",  # Corby
    "E07000151": "E06000062",  # Daventry
    "E07000152": "E06000061",  # East Northamptonshire
    "E07000153": "E06000061",  # Kettering
    "E07000154": "E06000062",  # Northampton
    "E07000155": "E06000062",  # South Northamptonshire
    "E07000156": "E06000061",  # Wellingborough
}
MERGED = {  # LAD20 codes the ONS export merges into another row (small-population disclosure)
    "E09000033": "E09000001",  # Westminster -> "City of London and Westminster"
    "E06000053": "E06000052",  # Isles of Scilly -> "Cornwall and Isles of Scilly"
}
REASSIGN = {  # merged row -> force area that holds the bulk of its residents
    "E09000001": MET,
}
FORCE_NAMES = {"London, City of": "City of London"}
REGION_NAMES = {"Eastern": "East of England"}


class BuildError(RuntimeError):
    """The sources are not as expected; the message says what and where."""


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def home_office_name(name: pd.Series) -> pd.Series:
    """Force names as the Home Office writes them ('Avon and Somerset', 'City of London')."""
    name = name.str.strip().replace(FORCE_NAMES)
    return name.str.replace(r"\s*&\s*", " and ", regex=True)


def verify_checksums(realdata: Path, files: list[str]) -> dict[str, bool]:
    """Compare each file with realdata/SHA256SUMS (``False`` if it is not listed)."""
    sums_file = realdata / "SHA256SUMS"
    listed = {}
    if sums_file.is_file():
        for line in sums_file.read_text(encoding="utf-8").splitlines():
            digest, _, name = line.partition("  ")
            listed[name.removeprefix("./")] = digest
    verified = {}
    for rel in files:
        actual = sha256(realdata / rel)
        if rel in listed and listed[rel] != actual:
            raise BuildError(f"{rel}: SHA-256 {actual} differs from SHA256SUMS ({listed[rel]})")
        verified[rel] = rel in listed
    return verified


def read_census(path: Path, codes: list[str]) -> tuple[pd.DataFrame, dict]:
    """The ONS export as a long table of local authority cells, and what was dropped."""
    raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    id_cols = ["Geography Code", "Region", "Sex"]
    if list(raw.columns[:3]) != id_cols:
        raise BuildError(
            f"{path}: expected the first columns {id_cols}, found {list(raw.columns[:3])}"
        )
    groups = list(raw.columns[3:])
    if sorted(groups) != sorted(codes):
        raise BuildError(
            f"{path}: ethnic-group columns differ from {CODELIST.name}: "
            f"not in the code list {sorted(set(groups) - set(codes))}, "
            f"missing {sorted(set(codes) - set(groups))}"
        )
    geo = raw["Geography Code"].str.strip()
    is_la = geo.str.match(LA_CODE)
    is_agg = geo.str.match(AGGREGATE_CODE)
    if unknown := sorted(set(geo[~is_la & ~is_agg])):
        raise BuildError(f"{path}: geography codes neither LA nor known aggregate: {unknown}")
    if bad_sex := sorted(set(raw["Sex"]) - {"Female", "Male"}):
        raise BuildError(f"{path}: unexpected Sex values {bad_sex}")

    la = raw[is_la].rename(columns={"Geography Code": "la_code", "Region": "la_name", "Sex": "sex"})
    if la.duplicated(["la_code", "sex"]).any():
        raise BuildError(f"{path}: duplicated local authority x sex rows")
    long = la.melt(id_vars=["la_code", "la_name", "sex"], var_name="ethnicity", value_name="cell")
    cell = long["cell"].str.strip()
    number = pd.to_numeric(cell.where(cell != SUPPRESSED), errors="coerce")
    if (bad := cell[(cell != SUPPRESSED) & (number.isna() | (number % 1 != 0))]).size:
        raise BuildError(
            f"{path}: cells neither '{SUPPRESSED}' nor whole numbers: {bad.unique()[:10]}"
        )
    long["population"] = number.astype("Int64")
    dropped = raw.loc[is_agg, ["Geography Code", "Region"]].drop_duplicates()
    info = {
        "source_rows": int(len(raw)),
        "aggregate_rows_dropped": int(is_agg.sum()),
        "aggregate_areas_dropped": dict(
            zip(dropped["Geography Code"], dropped["Region"], strict=True)
        ),
        "local_authority_rows": int(is_la.sum()),
        "local_authorities": int(la["la_code"].nunique()),
        "cells": int(len(long)),
        "suppressed_cells": int((cell == SUPPRESSED).sum()),
        "cells_not_multiple_of_5": int((number.dropna() % ROUNDING != 0).sum()),
    }
    return long.drop(columns="cell"), info


def read_lookup(path: Path) -> pd.DataFrame:
    """LAD20 -> PFA20, one row per local authority (BCP and others repeat once per CSP)."""
    lookup = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    lookup = lookup[["LAD20CD", "LAD20NM", "PFA20CD", "PFA20NM"]].apply(lambda s: s.str.strip())
    per_la = lookup.groupby("LAD20CD")["PFA20CD"].nunique()
    if (split := per_la[per_la > 1]).size:
        raise BuildError(
            f"{path}: local authorities in more than one force area: {list(split.index)}"
        )
    return lookup.drop_duplicates("LAD20CD").reset_index(drop=True)


def read_regions(path: Path, census_regions: set[str]) -> pd.Series:
    """Police force area code -> ONS region name, as the Census export writes region names."""
    geocode = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    region = geocode.set_index("Geocode")["Region"].str.strip().replace(REGION_NAMES)
    canonical = {r.lower(): r for r in census_regions | {"Wales"}}
    mapped = region.str.lower().map(canonical)
    if (bad := region[mapped.isna()]).size:
        raise BuildError(f"{path}: regions not among the Census export's regions: {set(bad)}")
    return mapped


def build(shared: Path, out_dir: Path) -> dict:
    realdata = shared / "realdata"
    files = [CENSUS, LOOKUP, GEOCODE]
    if missing := [f for f in files if not (realdata / f).is_file()]:
        raise BuildError(f"source files not found under {realdata}: {missing}")
    verified = verify_checksums(realdata, files)
    codelist = pd.read_csv(CODELIST, dtype=str, keep_default_na=False)
    codes = codelist.sort_values("order", key=lambda s: s.astype(int))["code"].tolist()

    cells, census_info = read_census(realdata / CENSUS, codes)
    lookup = read_lookup(realdata / LOOKUP)
    aggregates = census_info["aggregate_areas_dropped"]
    regions = read_regions(
        realdata / GEOCODE, {n for c, n in aggregates.items() if c.startswith("E12")}
    )
    geocode_raw = pd.read_csv(
        realdata / GEOCODE, dtype=str, keep_default_na=False, encoding="utf-8-sig"
    )

    # Force area per local authority: the lookup, plus the 2021 unitaries, minus reassignments.
    pfa_names = (
        lookup.drop_duplicates("PFA20CD").set_index("PFA20CD")["PFA20NM"].pipe(home_office_name)
    )
    la_pfa = pd.concat(
        [
            lookup.set_index("LAD20CD")["PFA20CD"],
            pd.Series({code: pfa for code, (_, pfa) in SUPPLEMENT.items()}, dtype=str),
        ]
    )
    la_pfa.update(pd.Series(REASSIGN))
    census_las = pd.Index(cells["la_code"].unique())
    if (no_pfa := census_las.difference(la_pfa.index)).size:
        raise BuildError(f"local authorities with no force area: {list(no_pfa)}")
    lookup_only = set(lookup["LAD20CD"]) - set(census_las)
    if unexplained := sorted(lookup_only - set(ABOLISHED) - set(MERGED)):
        raise BuildError(f"lookup local authorities absent from the Census export: {unexplained}")

    table = cells.assign(
        pfa_code=cells["la_code"].map(la_pfa),
        pfa_name=lambda d: d["pfa_code"].map(pfa_names),
        region=lambda d: d["pfa_code"].map(regions),
    )
    if table[["pfa_name", "region"]].isna().any().any():
        raise BuildError("a force area has no name or no region")
    order = {code: i for i, code in enumerate(codes)}
    table = (
        table.sort_values(
            ["la_code", "sex", "ethnicity"],
            key=lambda s: s.map(order) if s.name == "ethnicity" else s,
        )
        .loc[:, COLUMNS]
        .reset_index(drop=True)
    )

    out_dir.mkdir(parents=True, exist_ok=True)
    table.to_csv(
        out_dir / OUT_TABLE,
        index=False,
        lineterminator="\n",
        compression={"method": "gzip", "mtime": 0},
    )

    la_names = table.drop_duplicates("la_code").set_index("la_code")["la_name"]
    lad20_names = lookup.set_index("LAD20CD")["LAD20NM"]
    raw_force_names = pd.concat(
        [lookup.set_index("PFA20CD")["PFA20NM"], geocode_raw.set_index("Geocode")["Area"]]
    ).str.strip()
    aliases = (
        raw_force_names[raw_force_names != raw_force_names.index.map(pfa_names)]
        .groupby(level=0)
        .agg(lambda s: sorted(set(s)))
        .to_dict()
    )
    forces_out = table.drop_duplicates("pfa_code")
    meta = {
        "dataset": "Census 2021 usual residents by local authority, sex and ethnic group "
        "(19 categories), with police force area and region",
        "licence": LICENCE,
        "copyright": COPYRIGHT,
        "attribution": "Source: Office for National Statistics licensed under the Open "
        "Government Licence v3.0. Contains public sector information.",
        "build_date": dt.date.today().isoformat(),
        "build_script": "scripts/build_census2021.py",
        "sources": [
            {"file": f, "sha256": sha256(realdata / f), "listed_in_SHA256SUMS": verified[f]}
            for f in files
        ],
        "counts": {
            **census_info,
            "output_rows": int(len(table)),
            "police_force_areas": int(forces_out["pfa_code"].nunique()),
            "rounded_total_non_suppressed": int(table["population"].sum()),
        },
        "suppression_marker": SUPPRESSED,
        "rounding": ROUNDING,
        "columns": COLUMNS,
        "sexes": sorted(table["sex"].unique()),
        "geography": {
            "supplemented": [
                {
                    "la_code": c,
                    "la_name": n,
                    "pfa_code": p,
                    "pfa_name": pfa_names[p],
                    "reason": "created 1 April 2021; not in the LAD20 lookup",
                }
                for c, (n, p) in SUPPLEMENT.items()
            ],
            "abolished": [
                {
                    "la_code": c,
                    "la_name": lad20_names[c],
                    "successor_code": s,
                    "successor_name": la_names[s],
                }
                for c, s in ABOLISHED.items()
            ],
            "merged": [
                {
                    "la_code": c,
                    "la_name": lad20_names[c],
                    "merged_into_code": m,
                    "merged_into_name": la_names[m],
                    "merged_into_lookup_name": lad20_names[m],
                }
                for c, m in MERGED.items()
            ],
            "reassigned": [
                {
                    "la_code": c,
                    "la_name": la_names[c],
                    "lookup_pfa_code": lookup.set_index("LAD20CD").at[c, "PFA20CD"],
                    "pfa_code": p,
                    "pfa_name": pfa_names[p],
                }
                for c, p in REASSIGN.items()
            ],
        },
        "unavailable_police_force_areas": [
            {
                "pfa_code": CITY,
                "pfa_name": pfa_names[CITY],
                "region": regions[CITY],
                "reason": "the Census export merges the City of London with Westminster "
                "(E09000001 'City of London and Westminster'); the merged row is counted in the "
                "Metropolitan Police force area",
            }
        ],
        "pfa_names": pfa_names.sort_index().to_dict(),
        "pfa_aliases": dict(sorted(aliases.items())),
    }
    (out_dir / OUT_META).write_text(
        json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    (out_dir / OUT_SOURCES).write_text(sources_md(meta), encoding="utf-8")
    return meta


def sources_md(meta: dict) -> str:
    """SOURCES.md: what the bundled files are, where they came from, and what was done to them."""
    c = meta["counts"]
    g = meta["geography"]
    src = "\n".join(
        f"| `{s['file']}` | `{s['sha256']}` | {'yes' if s['listed_in_SHA256SUMS'] else 'no'} |"
        for s in meta["sources"]
    )
    supplemented = "\n".join(
        f"  * {x['la_name']} ({x['la_code']}) -> {x['pfa_name']} ({x['pfa_code']})"
        for x in g["supplemented"]
    )
    abolished = "\n".join(
        f"  * {a['la_name']} ({a['la_code']}) -> {a['successor_name']} ({a['successor_code']})"
        for a in g["abolished"]
    )
    merged = "\n".join(
        f"  * {m['la_name']} ({m['la_code']}) is inside {m['merged_into_code']} "
        f'"{m["merged_into_name"]}"'
        for m in g["merged"]
    )
    aliases = "\n".join(f"  * {code}: {', '.join(v)}" for code, v in meta["pfa_aliases"].items())
    total = c["rounded_total_non_suppressed"]
    return f"""# Bundled data: sources and licence

Generated by `{meta["build_script"]}` on {meta["build_date"]}; do not edit by hand. Rebuild with
`make population` (or `python scripts/build_census2021.py --shared PATH`).

## `census2021_la.csv.gz`

{meta["dataset"]}. One row per local authority x sex x ethnic group;
columns `{", ".join(meta["columns"])}`. {c["output_rows"]:,} rows: {c["local_authorities"]}
local authorities x 2 sexes x 19 ethnic groups, in {c["police_force_areas"]} police force areas.
`population` is empty where the ONS marked the cell `c` (suppressed): {c["suppressed_cells"]} cells.
Metadata (hashes, counts, geography adjustments, force-name aliases): `census2021_la.meta.json`.

**Licence.** {meta["copyright"]}. {meta["licence"]}
(https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/).
{meta["attribution"]}

**Sources** (under `../shared/realdata/`; see its README for provenance):

| file | SHA-256 | listed in SHA256SUMS |
|---|---|---|
{src}

* `EthnicGroup.csv`: an ONS "create a custom dataset" export, Census 2021 usual residents by
  local authority, sex and ethnic group (19 categories), republished in GitHub
  `WildPigen/MY472finalproject` (commit `b86cd927`).
* `la_to_force_2020.csv`: the ONS Local Authority District to Community Safety Partnership to Police
  Force Area (December 2020) lookup, republished in GitHub `BlackThrive/national_stop_search`.
* `geocode.csv`: police force area code -> force name -> region (used for `region` only).

## Quirks handled

* The export is UTF-8 with a BOM and CRLF line endings; the LA-name column is headed `Region`.
* Counts are rounded to {meta["rounding"]} (cells that are not: {c["cells_not_multiple_of_5"]}).
  `c` marks a suppressed cell and is kept as missing, never 0. Sums of rounded cells do not equal
  published totals (the rounded, non-suppressed total here is {total:,}).
* {c["aggregate_rows_dropped"]} aggregate rows (England and Wales K04, England E92, Wales W92 and
  the 9 English regions E12) sit among the local authority rows; they are dropped, so every total
  is a sum over local authorities and nothing is counted twice.
* The lookup repeats a local authority once per community safety partnership (Bournemouth,
  Christchurch and Poole 3 times; also E07000244 and E06000060): de-duplicated on `LAD20CD`.
* Geography: the lookup is LAD20, the export uses Census 2021 local authorities.
  Created on 1 April 2021 and absent from the lookup, assigned to the force area of the districts
  they replaced:
{supplemented}

  Districts abolished on 1 April 2021 (in the lookup, not in the export):
{abolished}

  Authorities the export merges into another row (both halves are in the same force area, except
  for the City of London, below):
{merged}
* **City of London.** E09000001 is "City of London and Westminster" combined, so the export has no
  City of London denominator and the City of London police force area (E23000034) has none. The
  merged row is assigned to the Metropolitan Police (E23000001): the Metropolitan Police figure
  therefore includes the City of London's residents (about 8,600 at Census 2021, against
  about 8.8 million in the Metropolitan Police area).
* Force names are written as the Home Office writes them (`Avon and Somerset`, `Devon and
  Cornwall`, `City of London`, `Dyfed-Powys`); the sources' own spellings are kept as
  aliases that dispro.population resolves (as well as the names and aliases in
  `data_dictionary/codelists/police_force_area.csv`):
{aliases}
* Region is the force area's region from `geocode.csv`, with `Eastern` written as the ONS's
  `East of England` and capitals as in the export's region rows.
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--shared",
        type=Path,
        default=DEFAULT_SHARED,
        help=f"the shared folder holding realdata/ (default {DEFAULT_SHARED})",
    )
    parser.add_argument(
        "--out-dir",
        type=Path,
        default=DEFAULT_OUT,
        help=f"where to write the bundled files (default {DEFAULT_OUT})",
    )
    args = parser.parse_args(argv)
    try:
        meta = build(args.shared, args.out_dir)
    except BuildError as exc:
        print(f"build_census2021: {exc}", file=sys.stderr)
        return 1
    c = meta["counts"]
    print(
        f"wrote {args.out_dir / OUT_TABLE}: {c['output_rows']} rows, {c['local_authorities']} "
        f"local authorities, {c['police_force_areas']} force areas, "
        f"{c['suppressed_cells']} suppressed cells"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
