"""What of a patient a caller may set, named once for the services, the partner API and the staff forms.

Types, lengths and ranges are the model's (its field options and validators, backed by its
constraints): the API serializer and the forms derive their fields from it, the services run
`full_clean`, whose `Patient.clean` holds the dates to what can be true (apps.patients.chronology).
This module adds the list of names, and the refusal of any other.
"""

from __future__ import annotations

from collections.abc import Iterable

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


def not_editable_errors(names: Iterable[str]) -> dict[str, str]:
    """A field error for each name a caller may not set (ids, deletion, unsubscribe stamps...)."""
    return {name: NOT_EDITABLE for name in sorted(set(names).difference(EDITABLE_FIELDS))}
