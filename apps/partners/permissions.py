from __future__ import annotations

import rules

from apps.clinics.permissions import is_organization_admin

# Partner systems and their tokens are the organization's business: its admins manage them.
rules.add_perm("partners", is_organization_admin)
for _model in ("partner", "partnertoken"):
    for _action in ("view", "add", "change"):
        rules.add_perm(f"partners.{_action}_{_model}", is_organization_admin)
