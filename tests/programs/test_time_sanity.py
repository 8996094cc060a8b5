"""Session and program-start times that cannot be true are refused; whole seconds after a start are not (issue 18).

A session before the patient's birth, ahead of the clock or before its program started is refused through
the partner API, the staff web form and the Django admin, on `performed_at`, writing nothing. A program's
start is stored at whole seconds (apps.patients.chronology), so a session sent as 10:00:00 right after a
start stamped 10:00:00.412 is recorded on every surface.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from apps.audit.models import Action, Event
from apps.patients.chronology import BEFORE_BIRTH, IN_THE_FUTURE
from apps.patients.models import Patient
from apps.programs import services
from apps.programs.models import Program, ProgramStatus, TrainingSession
from tests import factories
from tests.partners.fixtures import api, issue_token, partner_a, writer_a  # noqa: F401

pytestmark = pytest.mark.django_db

LA = ZoneInfo("America/Los_Angeles")  # clinic A's zone
BORN = date(1970, 5, 4)
BEFORE_THE_START = "This is before the program started."


@pytest.fixture
def patient(patient_a):
    Patient.objects.filter(pk=patient_a.pk).update(birth_date=BORN)
    patient_a.refresh_from_db()
    return patient_a


@pytest.fixture
def machine(clinic_a):
    return factories.MachineFactory(clinic=clinic_a)


@pytest.fixture
def start():
    """Three days ago on the minute, plus the server clock's fraction of a second."""
    return (timezone.now() - timedelta(days=3)).replace(second=0, microsecond=412_000)


@pytest.fixture
def draft(clinician_a, patient, machine, start):
    test = factories.StrengthTestFactory(patient=patient, machine=machine, performed_at=start - timedelta(days=1))
    return services.program_create(
        actor=clinician_a, patient=patient, region="lumbar", baseline_test=test, start_load=100
    )


@pytest.fixture
def program(clinician_a, draft, start):
    return services.program_start(actor=clinician_a, program=draft, now=start)


def written(program: Program) -> tuple:
    events = Event.objects.exclude(action=Action.READ).count()
    return TrainingSession.objects.count(), events, Program.objects.filter(pk=program.pk).values().get()


# (when, from the program's start, read when the test runs; the message on performed_at)
REFUSED = [
    pytest.param(lambda start: datetime(1970, 5, 3, 12, tzinfo=LA), BEFORE_BIRTH, id="before-birth"),
    pytest.param(lambda start: timezone.now() + timedelta(minutes=10), IN_THE_FUTURE, id="ten-minutes-ahead"),
    pytest.param(lambda start: start - timedelta(minutes=1), BEFORE_THE_START, id="a-minute-before-the-start"),
]


# --- The three surfaces ------------------------------------------------------------------------------


def api_post(call, token, program, machine, at: datetime):
    body = {"machine": machine.pk, "performed_at": at.astimezone(UTC).isoformat().replace("+00:00", "Z")}
    body |= {"load": "100", "reps": 10, "time_under_load_s": 90, "reached_failure": True}
    body |= {"pain_before": 2, "pain_after": 2, "supervisor": "clinician_a"}
    return call("POST", f"/api/v1/programs/{program.pk}/sessions/", token=token, body=body)


def web_post(client, program, machine, at: datetime):
    data = {"machine": machine.pk, "performed_at": at.astimezone(LA).strftime("%Y-%m-%dT%H:%M"), "load": "100"}
    data |= {"status": "completed", "reps": "10", "time_under_load_s": "90", "reached_failure": "on"}
    data |= {"pain_before": "2", "pain_after": "2"}
    return client.post(f"/patients/{program.patient_id}/programs/{program.pk}/sessions/new/", data)


def admin_post(client, program, machine, at: datetime):
    local = at.astimezone(LA)
    form = {"program": program.pk, "machine": machine.pk, "status": "completed", "load": "100", "reps": "10"}
    form |= {"time_under_load_s": "90", "reached_failure": "on", "pain_before": "2", "pain_after": "2"}
    form |= {"rom_min_deg": "", "rom_max_deg": "", "override_reason": "", "early_reason": "", "adverse_event_note": ""}
    form |= {"performed_at_0": local.date().isoformat(), "performed_at_1": local.strftime("%H:%M:%S")}
    return client.post(reverse("admin:programs_trainingsession_add"), form)


@pytest.mark.parametrize(("when", "message"), REFUSED)
def test_the_api_refuses_an_impossible_session_time(api, writer_a, clinician_a, program, machine, start, when, message):  # noqa: F811
    before = written(program)

    response = api_post(api, writer_a, program, machine, when(start))

    assert response.status_code == 400, response.json()
    assert {error["attr"]: error["detail"] for error in response.json()["errors"]} == {"performed_at": message}
    assert written(program) == before


@pytest.mark.parametrize(("when", "message"), REFUSED)
def test_the_web_form_refuses_an_impossible_session_time(
    signed_in, clinician_a, program, machine, start, when, message
):
    before = written(program)

    response = web_post(signed_in(clinician_a), program, machine, when(start))

    assert response.status_code == 200
    assert response.context["form"].errors == {"performed_at": [message]}
    assert written(program) == before


@pytest.mark.parametrize(("when", "message"), REFUSED)
def test_the_admin_refuses_an_impossible_session_time(signed_in, clinician_a, program, machine, start, when, message):
    before = written(program)

    response = admin_post(signed_in(clinician_a), program, machine, when(start))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"performed_at": [message]}
    assert written(program) == before


# --- Whole seconds ------------------------------------------------------------------------------------


def test_a_program_start_is_stored_at_whole_seconds(program, start):
    program.refresh_from_db()
    assert program.started_at == program.earliest_next_at == program.next_due_at == start.replace(microsecond=0)


def test_a_partner_session_on_the_starts_second_is_recorded(api, writer_a, clinician_a, program, machine, start):  # noqa: F811
    response = api_post(api, writer_a, program, machine, start.replace(microsecond=0))

    assert response.status_code == 201, response.json()
    assert TrainingSession.objects.get().performed_at == start.replace(microsecond=0)


def test_a_session_typed_at_the_minute_of_the_start_is_recorded_in_the_web_form(
    signed_in, clinician_a, program, machine, start
):
    response = web_post(signed_in(clinician_a), program, machine, start)

    assert response.status_code == 302
    assert TrainingSession.objects.get().performed_at == start.replace(microsecond=0)


def test_a_session_typed_at_the_second_of_the_start_is_recorded_in_the_admin(
    signed_in, clinician_a, program, machine, start
):
    response = admin_post(signed_in(clinician_a), program, machine, start)

    assert response.status_code == 302
    assert TrainingSession.objects.get().performed_at == start.replace(microsecond=0)


# --- Program start --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("when", "message"),
    [
        pytest.param(lambda: datetime(1970, 5, 3, 12, tzinfo=LA), BEFORE_BIRTH, id="before-birth"),
        pytest.param(lambda: timezone.now() + timedelta(minutes=10), IN_THE_FUTURE, id="ten-minutes-ahead"),
    ],
)
def test_a_program_cannot_start_before_the_patients_birth_or_ahead_of_the_clock(clinician_a, draft, when, message):
    events = Event.objects.exclude(action=Action.READ).count()

    with pytest.raises(ValidationError) as refused:
        services.program_start(actor=clinician_a, program=draft, now=when())

    assert refused.value.message_dict == {"started_at": [message]}
    draft.refresh_from_db()
    assert (draft.status, draft.started_at) == (ProgramStatus.DRAFT, None)
    assert Event.objects.exclude(action=Action.READ).count() == events
