from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle


class PrincipalRateThrottle(SimpleRateThrottle):
    """One budget per token (by its prefix), per staff user, or per client address when anonymous.

    The rate is read from `settings.API_THROTTLE_RATE` on each request (DRF's own rates are read
    once at import), so a deployment sets it from the environment and a test can lower it.
    """

    scope = "api"

    def get_rate(self) -> str:
        return settings.API_THROTTLE_RATE

    def get_cache_key(self, request: Any, view: Any) -> str:
        user = request.user
        if getattr(user, "is_partner", False):
            ident = f"token:{user.token.prefix}"
        elif user is not None and user.is_authenticated:
            ident = f"user:{user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
