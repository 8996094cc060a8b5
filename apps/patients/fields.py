"""What of a patient a caller may set, named once for the services, the partner API and the staff forms.

Types, lengths and ranges are the model's (its field options and validators, backed by its
constraints): the API serializer and the forms derive their fields from it, the services run
`full_clean`. This module adds the list of names and the checks the model does not hold.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

# In the order the staff form shows them. `clinic` is not here: it passes the tenancy gate
# (access_clinic), and moving it has its own rule (services.patient_move_problem).
EDITABLE_FIELDS: tuple[str, ...] = (
    "mrn",
    "given_name",
    "family_name",
    "birth_date",
    "sex",
    "height_cm",
    "body_mass_kg",
    "email",
    "phone",
    "preferred_language",
    "email_reminder_consent",
    "deceased_on",
)

NOT_EDITABLE = "This field cannot be set here."
EARLIEST_BIRTH_YEAR = 1900
BIRTH_DATE_OUT_OF_RANGE = "Give a birth date between 1900 and today."


def not_editable_errors(names: Iterable[str]) -> dict[str, str]:
    """A field error for each name a caller may not set (ids, deletion, unsubscribe stamps...)."""
    return {name: NOT_EDITABLE for name in sorted(set(names).difference(EDITABLE_FIELDS))}


def birth_date_problem(born: date, *, today: date) -> str | None:
    """Why a birth date typed at the front desk is implausible (a future year, a slipped century), or None."""
    if born > today or born.year < EARLIEST_BIRTH_YEAR:
        return BIRTH_DATE_OUT_OF_RANGE
    return None
