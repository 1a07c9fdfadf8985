"""What the report's sections share: the words for each stage's outcome, the columns shown of an
RRI table, and the sentences written from one."""

from __future__ import annotations

from ...ethnicity import NOT_STATED
from ..wording import describe_table

__all__ = ["OUTCOME_WORDS", "RRI_SHOW", "first_sentences", "is_pack"]


OUTCOME_WORDS = {
    "stop_search": "stopped and searched",
    "search_outcome": "subject to further action after a search",
    "out_of_court": "given an out-of-court disposal",
    "charge": "charged by the CPS",
    "custody": "sent to immediate custody",
}


RRI_SHOW = ["group", "events", "base", "rate", "rri", "ci_lower", "ci_upper", "q_value", "status"]


def first_sentences(table, params, outcome, by):
    sentences = []
    text = describe_table(
        table, reference=params["reference"], outcome=outcome, alpha=params["alpha"]
    )
    for _, row in text.iterrows():
        if row["kind"] in ("reference",) or row["group"] == NOT_STATED:
            continue
        prefix = f"{row[by]}: " if by else ""
        sentences.append(prefix + row["sentence"])
    return sentences


def is_pack(params) -> bool:
    return params.get("report") == "scrutiny"
