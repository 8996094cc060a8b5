from __future__ import annotations

import rules

from apps.clinics.permissions import is_staff_member

# Reminder rows are written by the sweep and the send task only: staff read them, nobody edits them.
rules.add_perm("reminders", is_staff_member)
rules.add_perm("reminders.view_reminder", is_staff_member)
