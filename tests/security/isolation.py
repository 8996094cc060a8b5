"""The isolation test's table: every URL pattern of the platform, and how to aim it at another clinic.

`URLS` maps each URL name (namespace:name) to what the isolation test does with it:

- `Target(kind)`: the pattern names one row (its URL arguments); the test fills them with a
  row of another clinic or organization. The answer must reveal nothing: the same status as for
  an id that does not exist, never 2xx, and no marker of the foreign rows in the body.
- `Listing(...)`: the pattern lists or searches rows; the test sends queries that name the
  foreign rows (their ids, MRN, names). The answer may be 200, but holds no foreign marker.
- `Public(reason)`: the pattern shows no clinic's rows to anyone (sign-in pages, the schema,
  static documents) or is reached by a signed link on purpose; the reason says which.

`tests/security/test_isolation.py::test_every_url_pattern_is_covered` fails when a pattern is
added without a line here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Kinds of row a URL can name, each built for every clinic by the test's world fixture.
PATIENT, PROGRAM, TEST, RESPONSE, SESSION, FLAG, SCREEN, REMINDER = (
    "patient",
    "program",
    "test",
    "response",
    "session",
    "flag",
    "screen",
    "reminder",
)
AUTHENTICATOR = "authenticator"
CALENDAR = "calendar"
APPOINTMENT = "appointment"
REPORT = "report"  # a signed progress report
CLINIC, ORGANIZATION, MACHINE, MEMBERSHIP, STAFF, PARTNER, TOKEN, EVENT, ORG_ADMIN = (
    "clinic",
    "organization",
    "machine",
    "membership",
    "staff",
    "partner",
    "token",
    "event",
    "org_admin",
)


@dataclass(frozen=True)
class Target:
    """URL arguments filled from the foreign rows: {argument: kind}; `id_of` picks the FHIR or admin id."""

    kinds: dict[str, str]


@dataclass(frozen=True)
class Listing:
    """Query strings aimed at the foreign rows; `{patient}`, `{mrn}`, `{name}`, `{clinic}`… are filled in."""

    queries: tuple[str, ...] = ("",)
    kwargs: dict[str, str] = field(default_factory=dict)  # own-clinic rows for URL arguments


@dataclass(frozen=True)
class Public:
    reason: str


ADMIN_MODELS = {
    "patients_patient": PATIENT,
    "patients_redflagscreen": SCREEN,
    "assessments_strengthtest": TEST,
    "assessments_questionnaireresponse": RESPONSE,
    "programs_program": PROGRAM,
    "programs_trainingsession": SESSION,
    "programs_flag": FLAG,
    "reminders_reminder": REMINDER,
    "scheduling_cliniccalendar": CALENDAR,
    "scheduling_appointment": APPOINTMENT,
    "clinics_clinic": CLINIC,
    "clinics_organization": ORGANIZATION,
    "clinics_machine": MACHINE,
    "clinics_membership": MEMBERSHIP,
    "clinics_organizationadmin": ORG_ADMIN,
    "partners_partner": PARTNER,
    "partners_partnertoken": TOKEN,
    "audit_event": EVENT,
    "auth_user": STAFF,
    "mfa_authenticator": AUTHENTICATOR,
}
ADMIN_SEARCH = ("?q={mrn}", "?q={name}", "?q={patient}", "?patient__id__exact={patient}", "?clinic__id__exact={clinic}")
LIST_SEARCH = ("?patient={patient}", "?clinic={clinic}", "?search={mrn}", "?search={name}", "?mrn={mrn}")
FHIR_SEARCH = ("?patient={patient}", "?patient=Patient/{patient}", "?subject=Patient/{patient}", "?_id={patient}")
WEB_SEARCH = ("?q={mrn}", "?q={name}", "?q={birth_date}", "?clinic={clinic}")


def _admin_urls() -> dict[str, object]:
    urls: dict[str, object] = {}
    for model, kind in ADMIN_MODELS.items():
        urls[f"admin:{model}_changelist"] = Listing(ADMIN_SEARCH)
        urls[f"admin:{model}_add"] = Listing(("?patient={patient}", "?clinic={clinic}", "?program={program}"))
        for view in ("change", "delete", "history"):
            urls[f"admin:{model}_{view}"] = Target({"object_id": kind})
        # The admin's unnamed `<id>/` pattern: a redirect to the change page (which checks).
        urls["admin/{}/{}/<path:object_id>/".format(*model.split("_", 1))] = Target({"object_id": kind})
    urls["admin:programs_program_status"] = Target({"object_id": PROGRAM})
    return urls


URLS: dict[str, object] = {
    **_admin_urls(),
    "admin:index": Listing(),
    "admin:login": Public("the sign-in form"),
    "admin:logout": Public("signs the caller out"),
    "admin:password_change": Public("the caller's own password"),
    "admin:password_change_done": Public("a confirmation"),
    "admin:jsi18n": Public("translations for the admin's scripts"),
    "admin:view_on_site": Target({"object_id": PATIENT}),  # content type filled by the test
    "admin:autocomplete": Listing(),  # the test aims every autocomplete field at the foreign rows
    "admin:app_list": Listing(),
    "admin:auth_group_changelist": Listing(),
    "admin:auth_group_add": Public("groups hold permissions, no clinic's rows"),
    "admin:auth_group_change": Public("groups hold permissions, no clinic's rows"),
    "admin:auth_group_delete": Public("groups hold permissions, no clinic's rows"),
    "admin:auth_group_history": Public("groups hold permissions, no clinic's rows"),
    "admin/auth/group/<path:object_id>/": Public("groups hold permissions, no clinic's rows"),
    "admin/(?P<url>.*)$": Public("the admin's catch-all: 404, or the sign-in page"),
    "admin:auth_user_password_change": Target({"id": STAFF}),
    # API
    "api:patient-list": Listing((*LIST_SEARCH, "?updated_since=2000-01-01T00:00:00Z")),
    "api:patient-detail": Target({"patient_id": PATIENT}),
    "api:clinic-list": Listing(),
    "api:clinic-detail": Target({"clinic_id": CLINIC}),
    "api:machine-list": Listing(("", "?clinic={clinic}", "?clinic={clinic}&kind=lumbar_extension")),
    "api:machine-detail": Target({"machine_id": MACHINE}),
    "api:strength-test-list": Target({"patient_id": PATIENT}),
    "api:strength-test-detail": Target({"test_id": TEST}),
    "api:questionnaire-list": Target({"patient_id": PATIENT}),
    "api:questionnaire-detail": Target({"response_id": RESPONSE}),
    "api:program-list": Listing(LIST_SEARCH),
    "api:program-detail": Target({"program_id": PROGRAM}),
    **{
        f"api:program-{move}": Target({"program_id": PROGRAM})
        for move in ("start", "hold", "resume", "complete", "discharge", "cancel")
    },
    "api:program-session-list": Target({"program_id": PROGRAM}),
    "api:session-list": Listing(LIST_SEARCH),
    "api:flag-list": Listing(LIST_SEARCH),
    "api:patient-progress": Target({"patient_id": PATIENT}),
    "api:appointment-list": Listing((*LIST_SEARCH, "?program={program}", "?machine={machine}")),
    "api:appointment-detail": Target({"appointment_id": APPOINTMENT}),
    "api:appointment-cancel": Target({"appointment_id": APPOINTMENT}),
    "api:slot-list": Listing(("?program={program}", "?program={program}&count=5")),
    "api:outcome-report": Listing(("", "?clinic={clinic}")),
    "api:schema": Public("the OpenAPI document: operations, no rows"),
    "api:docs": Public("the API's documentation page"),
    "api/^.*$": Public("the JSON 404 for unknown API paths"),
    # FHIR
    "fhir:metadata": Public("the CapabilityStatement"),
    "fhir:Organization-read": Target({"resource_id": ORGANIZATION}),
    "fhir:Location-read": Target({"resource_id": CLINIC}),
    "fhir:Patient-search-type": Listing(FHIR_SEARCH),
    "fhir:Patient-read": Target({"resource_id": PATIENT}),
    "fhir:Observation-search-type": Listing(FHIR_SEARCH),
    "fhir:Observation-read": Target({"resource_id": TEST}),
    "fhir:QuestionnaireResponse-search-type": Listing(FHIR_SEARCH),
    "fhir:QuestionnaireResponse-read": Target({"resource_id": RESPONSE}),
    "fhir:CarePlan-search-type": Listing(FHIR_SEARCH),
    "fhir:CarePlan-read": Target({"resource_id": PROGRAM}),
    "fhir:Encounter-search-type": Listing(FHIR_SEARCH),
    "fhir:Encounter-read": Target({"resource_id": SESSION}),
    "fhir:Appointment-search-type": Listing((*FHIR_SEARCH, "?actor=Location/{clinic}")),
    "fhir:Appointment-read": Target({"resource_id": APPOINTMENT}),
    "fhir:Slot-search-type": Listing(("?schedule={machine}", "?schedule=Schedule/{machine}")),
    "fhir:Slot-read": Target({"resource_id": APPOINTMENT}),
    "fhir:Schedule-search-type": Listing(("?actor=Location/{clinic}", "?_id={machine}")),
    "fhir:Schedule-read": Target({"resource_id": MACHINE}),
    "fhir:Device-search-type": Listing(("?location=Location/{clinic}", "?_id={machine}")),
    "fhir:Device-read": Target({"resource_id": MACHINE}),
    "fhir:DiagnosticReport-search-type": Listing(FHIR_SEARCH),
    "fhir:DiagnosticReport-read": Target({"resource_id": REPORT}),
    "fhir:not-found": Public("the OperationOutcome for unknown FHIR paths"),
    # Reminder emails
    "reminders:unsubscribe": Public("a signed one-click link: holding it is the authorisation, by design"),
    "reminders:book": Public("a signed booking link naming one reminder: holding it is the authorisation"),
    "reminders:cancel": Public("a signed cancel link naming one appointment: holding it is the authorisation"),
    # Staff UI
    "web:home": Listing(),
    "web:login": Public("sends staff to the one sign-in page"),
    "web:clinic_picker": Listing(("?clinic={clinic}",)),
    "web:board": Listing(("?clinic={clinic}",)),
    "web:patients": Listing(WEB_SEARCH),
    "web:patient_register": Listing(("?clinic={clinic}",)),
    "web:chart": Target({"patient_id": PATIENT}),
    "web:patient_edit": Target({"patient_id": PATIENT}),
    "web:session_log": Target({"patient_id": PATIENT}),
    "web:test_new": Target({"patient_id": PATIENT}),
    "web:questionnaire_new": Target({"patient_id": PATIENT}),
    "web:screen_new": Target({"patient_id": PATIENT}),
    "web:screen_review": Target({"patient_id": PATIENT, "screen_id": SCREEN}),
    "web:program_new": Target({"patient_id": PATIENT}),
    "web:program_move": Target({"patient_id": PATIENT, "program_id": PROGRAM}),
    "web:session_new": Target({"patient_id": PATIENT, "program_id": PROGRAM}),
    "web:session_proposal": Target({"patient_id": PATIENT, "program_id": PROGRAM}),
    "web:book-next": Target({"patient_id": PATIENT, "program_id": PROGRAM}),
    "web:progress_reports": Target({"patient_id": PATIENT}),
    "web:progress_report_new": Target({"patient_id": PATIENT, "program_id": PROGRAM}),
    "web:progress_report": Target({"patient_id": PATIENT, "report_id": REPORT}),
    "web:progress_report_pdf": Target({"patient_id": PATIENT, "report_id": REPORT}),
    "web:clinic-day": Target({"clinic_id": CLINIC}),
    "web:clinic-week": Target({"clinic_id": CLINIC}),
    "web:slot-book": Target({"clinic_id": CLINIC}),
    "web:appointment-check-in": Target({"appointment_id": APPOINTMENT}),
    "web:appointment-no-show": Target({"appointment_id": APPOINTMENT}),
    "web:appointment-cancel": Target({"appointment_id": APPOINTMENT}),
    "web:appointment-session": Target({"appointment_id": APPOINTMENT}),
    "web:outcomes": Listing(("?clinic={clinic}", "")),
    "web:outcomes-export-report": Listing(("?clinic={clinic}", "")),
    "web:outcomes-export-rows": Listing(("?clinic={clinic}", "")),
    "admin:audit_event_export": Listing(("?patient={patient}", "?clinic={clinic}", "?actor={name}")),
    # Platform
    "health": Public("liveness: SELECT 1 and a cache round trip, no table read"),
    # Staff accounts (django-allauth): the signed-in person's own sign-in, password and second factor.
    **{
        name: Public("the caller's own account: no clinic's rows")
        for name in (
            "account_login",
            "account_logout",
            "account_inactive",
            "account_signup",
            "account_reauthenticate",
            "account_email",
            "account_email_verification_sent",
            "account_change_password",
            "account_set_password",
            "account_reset_password",
            "account_confirm_login_code",
            "account_confirm_email",
            "account_reset_password_from_key_done",
            "account_reset_password_from_key",
            "account_reset_password_done",
            "mfa_index",
            "mfa_authenticate",
            "mfa_reauthenticate",
            "mfa_activate_totp",
            "mfa_deactivate_totp",
            "mfa_view_recovery_codes",
            "mfa_generate_recovery_codes",
            "mfa_download_recovery_codes",
        )
    },
}
