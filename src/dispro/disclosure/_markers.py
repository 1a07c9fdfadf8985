"""The markers of the Government Analysis Function's guidance on symbols in tables."""

#: Marker for a value withheld to protect confidentiality (primary or secondary suppression).
CONFIDENTIAL = "[c]"
#: Marker for a value that is not available (missing from the input).
NOT_AVAILABLE = "[x]"
#: Marker for a cell that is not applicable (structurally empty).
NOT_APPLICABLE = "[z]"
#: Marker for a value that rounds to zero but is not zero.
LOW = "[low]"
#: Every marker, by meaning.
MARKERS = {
    "confidential": CONFIDENTIAL,
    "not_available": NOT_AVAILABLE,
    "not_applicable": NOT_APPLICABLE,
    "low": LOW,
}
#: Label of the margins row and column added when ``margins=True``.
TOTAL = "Total"
#: The values of the status frame in ``out.attrs["suppression"]``; ``""`` means published.
STATUSES = ("", "primary", "secondary", "not_available", "not_applicable")
