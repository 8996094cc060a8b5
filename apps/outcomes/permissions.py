"""Role predicates of the outcomes report: clinic admins, physicians and organization admins read it.

A partner token's `has_perm` answers from its scope (apps.partners.authentication): any token of a
partner reads the aggregates of its clinics. Which clinics a reader covers is `report.reader_clinic_ids`.
"""

from __future__ import annotations

from typing import Any

import rules

from apps.outcomes.report import may_read_outcomes


@rules.predicate
def reads_outcomes(user: Any, obj: Any = None) -> bool:
    return may_read_outcomes(user)


rules.add_perm("outcomes.view_report", reads_outcomes)
