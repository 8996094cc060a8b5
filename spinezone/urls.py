from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path
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


# The admin's own login form would skip the lockout page and the second factor: its login page
# sends staff to the one sign-in (allauth's), which comes back to the admin afterwards.
admin.site.login = secure_admin_login(admin.site.login)

urlpatterns = [
    path("health/", HealthView.as_view(checks=[Database, Cache]), name="health"),
    path("accounts/", include("allauth.urls")),  # sign-in, sign-out, password reset, two-factor
    path("admin/", admin.site.urls),
    path("api/", include("spinezone.api_urls")),
    path("fhir/R4/", include("apps.fhir.urls")),
    path("r/", include("apps.reminders.urls")),  # patients: one-click unsubscribe from reminder emails
    path("", include("apps.web.urls")),  # the staff UI: sign-in, board, patients, charts
]

# No trace or SQL in any error body: JSON in the API's error shape under /api/, an
# OperationOutcome under /fhir/, our pages elsewhere (templates/400.html ... 500.html).
handler400 = "spinezone.errors.bad_request"
handler403 = "spinezone.errors.permission_denied"
handler404 = "spinezone.errors.page_not_found"
handler500 = "spinezone.errors.server_error"
