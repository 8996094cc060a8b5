from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.audit.models import Event
from apps.programs.models import Flag, FlagKind, Program, ProgramStatus, SessionStatus, TrainingSession
from tests import factories
from tests.partners.fixtures import api, issue_token, partner_a, partner_c, reader_a, writer_a, writer_c  # noqa: F401

pytestmark = pytest.mark.django_db
PROGRAMS = "/api/v1/programs/"
SESSIONS = "/api/v1/sessions/"
FLAGS = "/api/v1/flags/"


def iso(moment):
    return moment.isoformat().replace("+00:00", "Z")


@pytest.fixture
def program_a(patient_a):
    now = timezone.now()
    return factories.ProgramFactory(
        patient=patient_a,
        status=ProgramStatus.ACTIVE,
        started_at=now - timedelta(days=7),
        current_load=Decimal(100),
        proposed_load=Decimal(105),
        proposal_action="increase",
        proposal_reason="Reached the top of the rep range at failure.",
        next_due_at=now + timedelta(days=2),
        earliest_next_at=now + timedelta(days=1),
        questionnaire_due_at=now + timedelta(days=21),
    )


def flag(patient, kind=FlagKind.OVERDUE, resolved=False, program=None):
    now = timezone.now()
    return Flag.objects.create(
        patient=patient, program=program, kind=kind, reason="r", opened_at=now, resolved_at=now if resolved else None
    )


def ids(call, token, url):
    response = call("GET", url, token=token)
    assert response.status_code == 200, response.json()
    return [row["id"] for row in response.json()["results"]]


# --- programs -------------------------------------------------------------------------------------


def test_the_program_detail_shows_the_computed_view(api, reader_a, program_a):  # noqa: F811
    response = api("GET", f"{PROGRAMS}{program_a.pk}/", token=reader_a)
    assert response.status_code == 200
    body = response.json()
    assert (body["current_load"], body["proposed_load"], body["proposal_action"]) == ("100.00", "105.00", "increase")
    assert body["proposal_reason"].startswith("Reached")
    assert body["next_due_at"] == iso(program_a.next_due_at)
    assert body["earliest_next_at"] == iso(program_a.earliest_next_at)
    assert body["attendance"] == program_a.attendance
    assert {"questionnaire_due_at", "retest_due_at", "physician_review_due_at"} <= set(body)
    event = Event.objects.get(action="read")
    assert (event.object_id, event.actor_id, event.actor_label) == (str(program_a.pk), None, "partner:EHR A")


def test_the_program_list_filters_by_patient_status_and_updated_since(api, reader_a, program_a, clinic_a):  # noqa: F811
    other = factories.ProgramFactory(patient=factories.PatientFactory(clinic=clinic_a))
    assert ids(api, reader_a, PROGRAMS) == [str(program_a.pk), str(other.pk)]
    assert ids(api, reader_a, f"{PROGRAMS}?patient={program_a.patient_id}") == [str(program_a.pk)]
    assert ids(api, reader_a, f"{PROGRAMS}?status=draft") == [str(other.pk)]
    assert ids(api, reader_a, f"{PROGRAMS}?updated_since={iso(other.updated_at)}") == [str(other.pk)]
    assert api("GET", f"{PROGRAMS}?status=nope", token=reader_a).status_code == 400
    assert Event.objects.filter(action="read", actor_label="partner:EHR A").count() == 5


def test_the_program_list_pages_with_a_cursor(api, reader_a, clinic_a):  # noqa: F811
    made = [factories.ProgramFactory(patient=factories.PatientFactory(clinic=clinic_a)) for _ in range(3)]
    first = api("GET", f"{PROGRAMS}?page_size=2", token=reader_a).json()
    second = api("GET", first["next"], token=reader_a).json()
    seen = [row["id"] for row in first["results"] + second["results"]]
    assert seen == [str(p.pk) for p in sorted(made, key=lambda p: (p.updated_at, p.pk))]


@pytest.mark.parametrize("who", ["other_clinic", "other_organization"])
def test_programs_outside_the_tokens_clinics_are_404_and_unlisted(api, writer_a, writer_c, patient_a, patient_b, who):  # noqa: F811
    patient, token = (patient_b, writer_a) if who == "other_clinic" else (patient_a, writer_c)
    program = factories.ProgramFactory(patient=patient)
    factories.TrainingSessionFactory(program=program)
    flag(patient, program=program)
    assert api("GET", f"{PROGRAMS}{program.pk}/", token=token).status_code == 404
    assert api("GET", f"{PROGRAMS}{program.pk}/sessions/", token=token).status_code == 404
    assert ids(api, token, PROGRAMS) == []
    assert ids(api, token, f"{PROGRAMS}?patient={patient.pk}") == []
    assert ids(api, token, SESSIONS) == []
    assert ids(api, token, FLAGS) == []
    assert not Event.objects.filter(action="read").exists()


def test_an_unknown_program_is_404(api, reader_a):  # noqa: F811
    assert api("GET", f"{PROGRAMS}{uuid.uuid4()}/", token=reader_a).status_code == 404


@pytest.mark.parametrize("url", [PROGRAMS, SESSIONS, FLAGS])
def test_partners_cannot_write_programs_sessions_or_flags(api, writer_a, program_a, url):  # noqa: F811
    # Sessions need a supervising user (TrainingSession.supervisor); a partner token has none.
    assert api("POST", url, token=writer_a, body={"program": str(program_a.pk)}).status_code == 403
    assert api("POST", f"{PROGRAMS}{program_a.pk}/sessions/", token=writer_a, body={}).status_code == 403
    assert (Program.objects.count(), TrainingSession.objects.count(), Flag.objects.count()) == (1, 0, 0)


@pytest.mark.parametrize("path", ["", "{pk}/", "{pk}/sessions/"])
def test_programs_need_authentication(api, program_a, path):  # noqa: F811
    assert api("GET", PROGRAMS + path.format(pk=program_a.pk)).status_code == 401


@pytest.mark.parametrize("url", [SESSIONS, FLAGS])
def test_sessions_and_flags_need_authentication(api, url):  # noqa: F811
    assert api("GET", url).status_code == 401


# --- sessions -------------------------------------------------------------------------------------


def test_a_programs_sessions_are_listed_and_audited(api, reader_a, program_a, clinic_a):  # noqa: F811
    done = factories.TrainingSessionFactory(program=program_a)
    factories.TrainingSessionFactory(
        program=factories.ProgramFactory(patient=factories.PatientFactory(clinic=clinic_a))
    )
    response = api("GET", f"{PROGRAMS}{program_a.pk}/sessions/", token=reader_a)
    assert [row["id"] for row in response.json()["results"]] == [str(done.pk)]
    assert response.json()["results"][0]["load"] == f"{done.load:.2f}"
    event = Event.objects.get(action="read")
    assert (event.object_id, event.actor_label) == (str(done.pk), "partner:EHR A")


def test_the_session_list_filters_by_patient_dates_status_and_updated_since(api, reader_a, program_a, clinic_a):  # noqa: F811
    now = timezone.now()
    old = factories.TrainingSessionFactory(program=program_a, performed_at=now - timedelta(days=10))
    new = factories.TrainingSessionFactory(program=program_a, performed_at=now, status=SessionStatus.values[-1])
    elsewhere = factories.TrainingSessionFactory(
        program=factories.ProgramFactory(patient=factories.PatientFactory(clinic=clinic_a))
    )
    assert ids(api, reader_a, SESSIONS) == [str(old.pk), str(new.pk), str(elsewhere.pk)]
    assert ids(api, reader_a, f"{SESSIONS}?patient={program_a.patient_id}") == [str(old.pk), str(new.pk)]
    assert ids(api, reader_a, f"{SESSIONS}?performed_before={iso(now - timedelta(days=1))}") == [str(old.pk)]
    assert ids(
        api, reader_a, f"{SESSIONS}?performed_after={iso(now - timedelta(days=1))}&patient={program_a.patient_id}"
    ) == [str(new.pk)]
    assert ids(api, reader_a, f"{SESSIONS}?updated_since={iso(elsewhere.updated_at)}") == [str(elsewhere.pk)]
    assert api("GET", f"{SESSIONS}?performed_after=later", token=reader_a).status_code == 400


# --- flags ----------------------------------------------------------------------------------------


def test_the_flag_list_filters_by_patient_kind_and_open(api, reader_a, program_a, patient_a, clinic_a):  # noqa: F811
    overdue = flag(patient_a, program=program_a)
    resolved = flag(patient_a, kind=FlagKind.PAIN_FLARE, resolved=True, program=program_a)
    other = flag(factories.PatientFactory(clinic=clinic_a), kind=FlagKind.RED_FLAG)
    assert ids(api, reader_a, f"{FLAGS}?open=true") == [str(overdue.pk), str(other.pk)]
    assert ids(api, reader_a, f"{FLAGS}?open=false") == [str(resolved.pk)]
    assert ids(api, reader_a, f"{FLAGS}?kind=red_flag") == [str(other.pk)]
    assert ids(api, reader_a, f"{FLAGS}?patient={patient_a.pk}") == [str(overdue.pk), str(resolved.pk)]
    assert api("GET", f"{FLAGS}?kind=nope", token=reader_a).status_code == 400
    assert Event.objects.filter(action="read", object_id=str(other.pk), actor_label="partner:EHR A").count() == 2


# --- query counts ---------------------------------------------------------------------------------


def _programs(clinic, rows):
    return [factories.ProgramFactory(patient=factories.PatientFactory(clinic=clinic)) for _ in range(rows)]


def _sessions(clinic, rows):
    program = factories.ProgramFactory(patient=factories.PatientFactory(clinic=clinic))
    machine = factories.MachineFactory(clinic=clinic, kind=program.machine_kind)
    TrainingSession.objects.bulk_create(
        factories.TrainingSessionFactory.build_batch(
            rows, program=program, machine=machine, supervisor=program.prescribed_by
        )
    )
    return program


def _flags(clinic, rows):
    return [flag(factories.PatientFactory(clinic=clinic)) for _ in range(rows)]


@pytest.mark.parametrize("rows", [5, 50])
@pytest.mark.parametrize(
    ("make", "url", "queries"),
    [
        # token + partner, granted clinics, page, audit INSERT.
        (_programs, lambda made: PROGRAMS, 4),
        (_sessions, lambda made: SESSIONS, 4),
        # ...and the program through the gate, and its patient (not deleted).
        (_sessions, lambda made: f"{PROGRAMS}{made.pk}/sessions/", 6),
        (_flags, lambda made: FLAGS, 4),
    ],
)
def test_list_query_counts_do_not_grow_with_the_page(
    api,  # noqa: F811
    reader_a,  # noqa: F811
    clinic_a,
    rows,
    make,
    url,
    queries,
    django_assert_num_queries,
):
    made = make(clinic_a, rows)
    api("GET", url(made), token=reader_a)  # first use stamps last_used_at
    with django_assert_num_queries(queries):
        response = api("GET", url(made), token=reader_a)
    assert len(response.json()["results"]) == rows
