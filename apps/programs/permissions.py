from __future__ import annotations

import rules

from apps.clinics.permissions import is_clinician, is_physician, is_staff_member

rules.add_perm("programs", is_staff_member)
rules.add_perm("programs.view_program", is_staff_member)
rules.add_perm("programs.add_program", is_clinician)
rules.add_perm("programs.change_program", is_clinician)
rules.add_perm("programs.discharge_program", is_physician)
rules.add_perm("programs.view_trainingsession", is_staff_member)
rules.add_perm("programs.add_trainingsession", is_clinician)
rules.add_perm("programs.view_flag", is_staff_member)
# Clearing a red flag is a physician's decision (DOMAIN.md: "until physician review");
# closing a pain-flare or rapid-rise review is any clinician's.
rules.add_perm("programs.clear_red_flag", is_physician)
rules.add_perm("programs.resolve_flag", is_clinician)
