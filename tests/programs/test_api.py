from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.audit.models import Event
from apps.partners.models import Partner
from apps.programs import services
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


@pytest.fixture
def writer_b(organization, clinic_b, issue_token):  # noqa: F811
    partner = Partner.objects.create(organization=organization, name="EHR B", contact_email="it@ehr-b.test")
    partner.clinics.set([clinic_b])
    return issue_token(partner, "read_write")


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


@pytest.mark.parametrize("url", [PROGRAMS, SESSIONS, FLAGS, "{PROGRAMS}{pk}/"])
@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_read_only_endpoints_answer_405_to_writes(api, writer_a, program_a, url, method):  # noqa: F811
    if (url, method) == (PROGRAMS, "POST"):
        pytest.skip("programs are created by POST (tests/programs/test_api_writes.py)")
    url = url.format(PROGRAMS=PROGRAMS, pk=program_a.pk)
    response = api(method, url, token=writer_a, body={"program": str(program_a.pk)})
    assert response.status_code == 405
    assert response.json()["errors"][0]["code"] == "method_not_allowed"
    assert (Program.objects.count(), TrainingSession.objects.count(), Flag.objects.count()) == (1, 0, 0)


# --- recording a session ----------------------------------------------------------------------------


@pytest.fixture
def machine_a(clinic_a):
    return factories.MachineFactory(clinic=clinic_a)


@pytest.fixture
def started(clinician_a, patient_a, machine_a):
    """A lumbar program started three days ago through the services, at 100 lb."""
    start = timezone.now() - timedelta(days=3)
    test = factories.StrengthTestFactory(patient=patient_a, machine=machine_a, performed_at=start - timedelta(days=3))
    program = services.program_create(
        actor=clinician_a, patient=patient_a, region="lumbar", baseline_test=test, start_load=100
    )
    return services.program_start(actor=clinician_a, program=program, now=start)


@pytest.fixture
def a_set(machine_a):
    return {
        "machine": machine_a.pk,
        "performed_at": iso(timezone.now() - timedelta(hours=1)),
        "load": "100",
        "reps": 10,
        "time_under_load_s": 90,
        "reached_failure": True,
        "pain_before": 2,
        "pain_after": 2,
    }


def sessions_of(program):
    return f"{PROGRAMS}{program.pk}/sessions/"


def test_a_partner_records_a_session_for_the_supervisor_it_names(api, writer_a, started, a_set, clinician_a):  # noqa: F811
    key = {"Idempotency-Key": "ehr-s-1"}
    body = {**a_set, "supervisor": "clinician_a"}
    first = api("POST", sessions_of(started), token=writer_a, body=body, **key)
    again = api("POST", sessions_of(started), token=writer_a, body=body, **key)
    assert (first.status_code, again.status_code) == (201, 201), first.json()
    assert again.json() == first.json()
    session = TrainingSession.objects.get()
    assert (session.supervisor, session.load, session.status) == (clinician_a, Decimal(100), SessionStatus.COMPLETED)
    assert first.json()["proposal_action"] == "start"
    started.refresh_from_db()
    assert (started.completed_sessions, started.last_completed_at) == (1, session.performed_at)
    assert Event.objects.get(action="create", object_id=str(session.pk)).actor_label == "partner:EHR A"


def test_staff_record_a_session_as_themselves(client, clinician_a, started, a_set):
    client.force_login(clinician_a)
    response = client.post(sessions_of(started), data=a_set, content_type="application/json")
    assert response.status_code == 201, response.json()
    assert TrainingSession.objects.get().supervisor == clinician_a


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"supervisor": None}, "supervisor"),
        ({"supervisor": "front_desk_a"}, "supervisor"),
        ({"supervisor": "clinician_b"}, "supervisor"),
        ({"machine": 999999}, "machine"),
        ({"reps": 51}, "reps"),
        ({"pain_after": 11}, "pain_after"),
        ({"performed_at": "tuesday"}, "performed_at"),
        ({"load": "97.3"}, "load"),  # off the machine's increment
        ({"load": "140"}, "override_reason"),  # not the proposed load, and no reason given
    ],
)
def test_an_invalid_session_is_400_on_the_field_and_writes_nothing(
    api,  # noqa: F811
    writer_a,  # noqa: F811
    started,
    a_set,
    clinician_a,
    clinician_b,
    clinic_a,
    change,
    field,
):
    factories.StaffFactory(username="front_desk_a", clinic=clinic_a, role="front_desk")
    body = {k: v for k, v in {**a_set, "supervisor": "clinician_a", **change}.items() if v is not None}
    response = api("POST", sessions_of(started), token=writer_a, body=body)
    assert response.status_code == 400, response.json()
    assert field in {error["attr"] for error in response.json()["errors"]}, response.json()
    assert not TrainingSession.objects.exists()


def test_a_read_only_token_cannot_record_a_session(api, reader_a, started, a_set, clinician_a):  # noqa: F811
    response = api("POST", sessions_of(started), token=reader_a, body={**a_set, "supervisor": "clinician_a"})
    assert response.status_code == 403
    assert not TrainingSession.objects.exists()


def test_recording_a_session_needs_authentication(api, started, a_set):  # noqa: F811
    assert api("POST", sessions_of(started), body=a_set).status_code == 401
    assert not TrainingSession.objects.exists()


@pytest.mark.parametrize("who", ["other_clinic", "other_organization"])
def test_a_session_for_a_program_outside_the_tokens_clinics_is_404(api, writer_b, writer_c, started, a_set, who):  # noqa: F811
    token = writer_b if who == "other_clinic" else writer_c
    response = api("POST", sessions_of(started), token=token, body={**a_set, "supervisor": "clinician_a"})
    assert response.status_code == 404
    assert not TrainingSession.objects.exists()


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
        # token + partner + granted clinics (one query), page, audit INSERT.
        (_programs, lambda made: PROGRAMS, 3),
        (_sessions, lambda made: SESSIONS, 3),
        # ...and the program through the gate, and its patient (not deleted).
        (_sessions, lambda made: f"{PROGRAMS}{made.pk}/sessions/", 5),
        (_flags, lambda made: FLAGS, 3),
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
