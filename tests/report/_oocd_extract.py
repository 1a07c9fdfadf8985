"""A force's own out-of-court disposals extract, generated for the tests (never shipped): the
layout of the worked example in docs/configuration.md (own column names and codes, dd/mm/yyyy
dates, NFA rows, a TOTAL row), its canonical reading for hand counts, and the workbook's
tables."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

COLUMNS = ["Crime Reference", "Outcome Date", "Offender Ethnicity (SDE)", "Gender", "Age Group",
           "HO Offence Group", "Outcome Type", "Officer Collar No"]  # fmt: skip
#: The force's codes and the dataset's (as the documented mapping recodes them).
ETHNICITY = {"W1": "White", "W2": "White", "A1": "Asian", "A3": "Asian", "B1": "Black",
             "B2": "Black", "M1": "Mixed", "O9": "Other", "NS": "Not stated"}  # fmt: skip
AGES = {"Youth 10-17": "10-17", "Adult 18-20": "18-20", "Adult 25-29": "25-29",
        "Adult 30-39": "30-39", "Adult 40-49": "40-49"}  # fmt: skip
OFFENCES = {"DRUGS": "drug_offences", "THEFT": "theft_offences", "VIOLENCE":
            "violence_against_the_person", "PUBLIC ORDER": "public_order_offences"}  # fmt: skip
ADULT_OOCD = ["CR", "SC", "CC", "PND", "CW"]
YOUTH_OOCD = ["CR", "YC", "YCC"]
DISPOSALS = {"CHARGE": "charge_summons", "SUMMONS": "charge_summons", "CR": "community_resolution",
             "SC": "caution", "CC": "conditional_caution", "PND": "penalty_notice",
             "CW": "cannabis_khat_warning", "YC": "youth_caution",
             "YCC": "youth_conditional_caution"}  # fmt: skip
#: The planted share of detected offenders dealt with out of court, by group.
SHARE = {"White": 0.5, "Asian": 0.45, "Black": 0.3, "Mixed": 0.5, "Other": 0.5, "Not stated": 0.5}


def write_extract(
    path: Path,
    *,
    start: str = "2023-01",
    end: str = "2024-12",
    per_month: int = 160,
    seed: int = 13,
) -> pd.DataFrame:
    """Write the extract to ``path``; return its rows as the dataset reads them (NFA and TOTAL
    rows aside) with ``month``, for hand counts."""
    rng = np.random.default_rng(seed)
    codes = list(ETHNICITY)
    weights = np.array([0.6, 0.1, 0.05, 0.03, 0.06, 0.04, 0.04, 0.03, 0.05])
    rows, canonical = [], []
    n = 0
    for month in pd.period_range(start, end, freq="M"):
        for _ in range(per_month):
            n += 1
            eth = codes[rng.choice(len(codes), p=weights / weights.sum())]
            age = list(AGES)[rng.integers(len(AGES))]
            youth = age.startswith("Youth")
            if rng.random() < 0.08:
                outcome = "NFA"
            elif rng.random() < SHARE[ETHNICITY[eth]]:
                outcome = rng.choice(YOUTH_OOCD if youth else ADULT_OOCD)
            else:
                outcome = rng.choice(["CHARGE", "SUMMONS"], p=[0.8, 0.2])
            day = int(rng.integers(1, month.days_in_month + 1))
            date = f"{day:02d}/{month.month:02d}/{month.year}"
            offence = list(OFFENCES)[rng.integers(len(OFFENCES))]
            sex = "M" if rng.random() < 0.8 else "F"
            rows.append([f"DO/{month.year % 100}/{n:06d}", date, eth, sex, age, offence, outcome,
                         str(int(rng.integers(1000, 9999)))])  # fmt: skip
            if outcome != "NFA":
                canonical.append({"month": str(month), "ethnicity": ETHNICITY[eth],
                                  "sex": {"M": "Male", "F": "Female"}[sex], "age_band": AGES[age],
                                  "offence_group": OFFENCES[offence],
                                  "disposal": DISPOSALS[outcome]})  # fmt: skip
    frame = pd.DataFrame(rows, columns=COLUMNS)
    total = pd.DataFrame([["TOTAL"] + [""] * (len(COLUMNS) - 1)], columns=COLUMNS)
    pd.concat([frame, total]).to_csv(path, index=False)
    return pd.DataFrame(canonical)


def doc_section(root: Path) -> str:
    """The worked example's section of docs/configuration.md."""
    text = (root / "docs" / "configuration.md").read_text(encoding="utf-8")
    head = "## Worked example: a force's out-of-court disposals extract"
    assert head in text, "docs/configuration.md has no OOCD worked example"
    section = text.split(head, 1)[1]
    return section.split("\n## ", 1)[0]


def blocks(section: str, language: str) -> list[str]:
    """The fenced code blocks of ``language`` in ``section``, in order."""
    return re.findall(rf"```{language}\n(.*?)```", section, flags=re.S)


def sheet(workbook: Path, suffix: str) -> pd.DataFrame:
    """A table of the report's workbook (the sheet whose name ends with ``suffix``), as text."""
    import openpyxl

    book = openpyxl.load_workbook(workbook, read_only=True)
    name = next(n for n in book.sheetnames if n.endswith(suffix))
    values = [
        [("" if v is None else str(v)) for v in row]
        for row in book[name].iter_rows(values_only=True)
    ]
    from dispro.report.workbook import field_name

    header = next(i for i, row in enumerate(values) if row and field_name(row[0]) == "area")
    cols = [field_name(c) for c in values[header]]
    body = [r for r in values[header + 1 :] if any(r)]
    return pd.DataFrame(body, columns=cols)
