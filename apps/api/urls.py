from __future__ import annotations

from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from apps.api.errors import not_found
from apps.patients.api import PatientDetailView, PatientListView

app_name = "api"

urlpatterns = [
    path("v1/patients/", PatientListView.as_view(), name="patient-list"),
    path("v1/patients/<uuid:patient_id>/", PatientDetailView.as_view(), name="patient-detail"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    # Anything else under /api/ answers in the API's error shape, with DEBUG on too.
    re_path(r"^.*$", not_found),
]
