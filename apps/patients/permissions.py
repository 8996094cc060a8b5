from __future__ import annotations

import rules

from apps.clinics.permissions import is_clinic_admin, is_clinician, is_physician, is_staff_member

rules.add_perm("patients", is_staff_member)
# Front desk registers and updates patients; every role of the clinic may see them.
rules.add_perm("patients.view_patient", is_staff_member)
rules.add_perm("patients.add_patient", is_staff_member)
rules.add_perm("patients.change_patient", is_staff_member)
rules.add_perm("patients.delete_patient", is_clinic_admin)
rules.add_perm("patients.view_redflagscreen", is_staff_member)
rules.add_perm("patients.add_redflagscreen", is_clinician)
rules.add_perm("patients.change_redflagscreen", is_physician)
rules.add_perm("patients.review_redflagscreen", is_physician)
