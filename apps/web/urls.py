from django.urls import path
from django.views.generic import RedirectView

from apps.web import appointments, outcome_exports, outcomes, progress, recording, views

app_name = "web"

PATIENT = "patients/<uuid:patient_id>/"
PROGRAM = PATIENT + "programs/<uuid:program_id>/"
CLINIC = "clinics/<int:clinic_id>/"
APPOINTMENT = "appointments/<uuid:appointment_id>/"

urlpatterns = [
    path("", views.home, name="home"),
    # Sign-in and sign-out are allauth's, at /accounts/; /login/ is kept as a short address to it.
    path("login/", RedirectView.as_view(pattern_name="account_login", query_string=True), name="login"),
    path("clinics/", views.clinic_picker, name="clinic_picker"),
    path("board/", views.board, name="board"),
    path("patients/", views.patients, name="patients"),
    path("patients/new/", views.patient_register, name="patient_register"),
    path(PATIENT, views.chart, name="chart"),
    path(PATIENT + "edit/", views.patient_edit, name="patient_edit"),
    path(PATIENT + "sessions/", views.session_log, name="session_log"),
    path(PATIENT + "tests/new/", recording.test_new, name="test_new"),
    path(PATIENT + "questionnaires/new/", recording.questionnaire_new, name="questionnaire_new"),
    path(PATIENT + "screens/new/", recording.screen_new, name="screen_new"),
    path(PATIENT + "screens/<uuid:screen_id>/review/", recording.screen_review, name="screen_review"),
    path(PATIENT + "programs/new/", recording.program_new, name="program_new"),
    path(PROGRAM + "status/", recording.program_move, name="program_move"),
    path(PROGRAM + "sessions/new/", recording.session_new, name="session_new"),
    path(PROGRAM + "proposal/", recording.session_proposal, name="session_proposal"),
    path(PROGRAM + "book-next/", appointments.book_next, name="book-next"),
    # Progress reports for the referring physician: the list, issuing one for a program, a signed one and its PDF.
    path(PATIENT + "reports/", progress.report_list, name="progress_reports"),
    path(PATIENT + "reports/new/<uuid:program_id>/", progress.report_new, name="progress_report_new"),
    path(PATIENT + "reports/<uuid:report_id>/", progress.report_detail, name="progress_report"),
    path(PATIENT + "reports/<uuid:report_id>/pdf/", progress.report_pdf, name="progress_report_pdf"),
    # Appointments: the clinic's days by machine, a free slot booked, and what happens at the desk.
    path(CLINIC + "day/", appointments.clinic_day, name="clinic-day"),
    path(CLINIC + "week/", appointments.clinic_week, name="clinic-week"),
    path(CLINIC + "book/", appointments.slot_book, name="slot-book"),
    path(APPOINTMENT + "check-in/", appointments.appointment_check_in, name="appointment-check-in"),
    path(APPOINTMENT + "no-show/", appointments.appointment_no_show, name="appointment-no-show"),
    path(APPOINTMENT + "cancel/", appointments.appointment_cancel, name="appointment-cancel"),
    path(APPOINTMENT + "session/", appointments.appointment_session, name="appointment-session"),
    # The outcomes report's downloads: its figures, and de-identified rows per program.
    path("outcomes/", outcomes.outcomes_report, name="outcomes"),
    path("outcomes/report.csv", outcome_exports.export_report, name="outcomes-export-report"),
    path("outcomes/programs.csv", outcome_exports.export_rows, name="outcomes-export-rows"),
]
