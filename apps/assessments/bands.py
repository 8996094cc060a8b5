"""The words a person reads for an ODI or NDI band: the one place a band code becomes text.

The codes are `apps.assessments.scoring`'s (ODI_BANDS, NDI_BANDS and their top bands); screens,
messages, the live score and FHIR displays show these labels, never a code (DOMAIN.md, "Scores":
bed-bound is written with a hyphen). The API keeps the codes.
"""

from __future__ import annotations

BAND_LABELS = {
    # ODI %
    "minimal": "minimal",
    "moderate": "moderate",
    "severe": "severe",
    "crippled": "crippled",
    "bed_bound": "bed-bound",
    # NDI raw (moderate and severe are shared with the ODI)
    "none": "none",
    "mild": "mild",
    "complete": "complete",
}


def band_label(code: str | None) -> str:
    """The label of a band code; "" for none. An unknown code still never shows an underscore."""
    if not code:
        return ""
    return BAND_LABELS.get(code, code.replace("_", " "))
