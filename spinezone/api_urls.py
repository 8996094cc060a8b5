"""The API's URL map: composes the apps' API views under /api/ (namespace `api`). Each app's views live in
its own `api.py`; this map and `spinezone/urls.py` are the only modules that import them all."""

from __future__ import annotations

from django.urls import path, re_path
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from apps.api.errors import not_found
from apps.assessments.api import (
    ProgressView,
    QuestionnaireDetailView,
    QuestionnaireListView,
    StrengthTestDetailView,
    StrengthTestListView,
)
from apps.clinics.api import ClinicDetailView, ClinicListView, MachineDetailView, MachineListView
from apps.outcomes.api import OutcomeReportView
from apps.patients.api import PatientDetailView, PatientListView
from apps.programs.api import FlagListView, ProgramDetailView, ProgramSessionListView, SessionListView
from apps.programs.api_writes import (
    ProgramCancelView,
    ProgramCompleteView,
    ProgramDischargeView,
    ProgramHoldView,
    ProgramListCreateView,
    ProgramResumeView,
    ProgramStartView,
)
from apps.scheduling.api import AppointmentCancelView, AppointmentDetailView, AppointmentListView, SlotListView

app_name = "api"

urlpatterns = [
    path("v1/patients/", PatientListView.as_view(), name="patient-list"),
    path("v1/patients/<uuid:patient_id>/", PatientDetailView.as_view(), name="patient-detail"),
    path("v1/clinics/", ClinicListView.as_view(), name="clinic-list"),
    path("v1/clinics/<int:clinic_id>/", ClinicDetailView.as_view(), name="clinic-detail"),
    path("v1/machines/", MachineListView.as_view(), name="machine-list"),
    path("v1/machines/<int:machine_id>/", MachineDetailView.as_view(), name="machine-detail"),
    path("v1/patients/<uuid:patient_id>/strength-tests/", StrengthTestListView.as_view(), name="strength-test-list"),
    path("v1/strength-tests/<uuid:test_id>/", StrengthTestDetailView.as_view(), name="strength-test-detail"),
    path("v1/patients/<uuid:patient_id>/questionnaires/", QuestionnaireListView.as_view(), name="questionnaire-list"),
    path("v1/questionnaires/<uuid:response_id>/", QuestionnaireDetailView.as_view(), name="questionnaire-detail"),
    path("v1/programs/", ProgramListCreateView.as_view(), name="program-list"),
    path("v1/programs/<uuid:program_id>/", ProgramDetailView.as_view(), name="program-detail"),
    path("v1/programs/<uuid:program_id>/start/", ProgramStartView.as_view(), name="program-start"),
    path("v1/programs/<uuid:program_id>/hold/", ProgramHoldView.as_view(), name="program-hold"),
    path("v1/programs/<uuid:program_id>/resume/", ProgramResumeView.as_view(), name="program-resume"),
    path("v1/programs/<uuid:program_id>/complete/", ProgramCompleteView.as_view(), name="program-complete"),
    path("v1/programs/<uuid:program_id>/discharge/", ProgramDischargeView.as_view(), name="program-discharge"),
    path("v1/programs/<uuid:program_id>/cancel/", ProgramCancelView.as_view(), name="program-cancel"),
    path("v1/programs/<uuid:program_id>/sessions/", ProgramSessionListView.as_view(), name="program-session-list"),
    path("v1/sessions/", SessionListView.as_view(), name="session-list"),
    path("v1/flags/", FlagListView.as_view(), name="flag-list"),
    path("v1/patients/<uuid:patient_id>/progress/", ProgressView.as_view(), name="patient-progress"),
    path("v1/appointments/", AppointmentListView.as_view(), name="appointment-list"),
    path("v1/appointments/<uuid:appointment_id>/", AppointmentDetailView.as_view(), name="appointment-detail"),
    path("v1/appointments/<uuid:appointment_id>/cancel/", AppointmentCancelView.as_view(), name="appointment-cancel"),
    path("v1/slots/", SlotListView.as_view(), name="slot-list"),
    path("v1/outcomes/", OutcomeReportView.as_view(), name="outcome-report"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    # Anything else under /api/ answers in the API's error shape, with DEBUG on too. CSRF-exempt like
    # the API views: otherwise a POST/PATCH to an unknown path got the HTML "CSRF failed" 403.
    re_path(r"^.*$", csrf_exempt(not_found)),
]
