from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from health_check.checks import Cache, Database
from health_check.views import HealthCheckView


class HealthView(HealthCheckView):
    """Liveness and readiness for load balancers and the container HEALTHCHECK.

    Open to anyone and about the platform only: it runs `SELECT 1` on the database and a
    set/get of a random key on the cache, and names those two checks and their status. It
    reads no table, so it cannot reveal anything about patients. The broker is not checked:
    the embedded default has no broker server, and the worker's own health check covers it.

    Answers JSON (or text/plain when asked for): django-health-check's HTML page needs the
    `health_check` app's template, which a probe does not need.
    """

    def render_to_response(self, context, **response_kwargs):
        return self.render_to_response_json(response_kwargs.get("status", 200))


urlpatterns = [
    path("health/", HealthView.as_view(checks=[Database, Cache]), name="health"),
    path("admin/", admin.site.urls),
    path("api/", include("apps.api.urls")),
    path("fhir/R4/", include("apps.fhir.urls")),
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
]

# JSON in the API's error shape under /api/, Django's page elsewhere.
handler404 = "apps.api.errors.not_found"
