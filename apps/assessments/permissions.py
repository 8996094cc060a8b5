from __future__ import annotations

import rules

from apps.clinics.permissions import is_clinician, is_staff_member

rules.add_perm("assessments", is_staff_member)
rules.add_perm("assessments.view_strengthtest", is_staff_member)
rules.add_perm("assessments.add_strengthtest", is_clinician)
rules.add_perm("assessments.view_questionnaireresponse", is_staff_member)
# Front desk hands out and enters questionnaires as well as clinicians.
rules.add_perm("assessments.add_questionnaireresponse", is_staff_member)
