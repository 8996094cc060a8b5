"""Role predicates for the calendar settings: every member of staff reads them, admins change them.

A clinic's calendar (opening hours, closures, the booking numbers) is a setting like the clinic's own
(`clinics.change_clinic`): its clinic admins and its organization's admins change it.
"""

from __future__ import annotations

import rules

from apps.clinics.permissions import is_clinic_admin, is_clinician, is_staff_member

rules.add_perm("scheduling", is_staff_member)
for model in ("cliniccalendar", "openinghours", "closure"):
    rules.add_perm(f"scheduling.view_{model}", is_staff_member)
    for action in ("add", "change", "delete"):
        rules.add_perm(f"scheduling.{action}_{model}", is_clinic_admin)

# Appointments: every member of staff (the front desk above all) books, checks in and cancels; only a
# clinician may book inside the rest window, as only a clinician records a session there.
rules.add_perm("scheduling.view_appointment", is_staff_member)
rules.add_perm("scheduling.add_appointment", is_staff_member)
rules.add_perm("scheduling.change_appointment", is_staff_member)
rules.add_perm("scheduling.book_early", is_clinician)
