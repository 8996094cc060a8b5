"""Programs written over the partner API: prescribe a draft, then start, hold, resume, complete,
discharge or cancel it, through the programs services and their rules."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.audit.models import Event
from apps.partners.models import Partner
from apps.programs import services
from apps.programs.models import Flag, FlagKind, Program
from tests import factories
from tests.partners.fixtures import api, issue_token, partner_a, partner_c, reader_a, writer_a, writer_c  # noqa: F401

pytestmark = pytest.mark.django_db
PROGRAMS = "/api/v1/programs/"
WRITES = ("create", "update", "delete")
MOVES = ("start", "hold", "resume", "complete", "discharge", "cancel")


def move_url(program, move):
    return f"{PROGRAMS}{program.pk}/{move}/"


@pytest.fixture
def machine_a(clinic_a):
    return factories.MachineFactory(clinic=clinic_a)


@pytest.fixture
def baseline(patient_a, machine_a):
    return factories.StrengthTestFactory(
        patient=patient_a, machine=machine_a, performed_at=timezone.now() - timedelta(days=2)
    )


@pytest.fixture
def draft(clinician_a, patient_a, baseline):
    return services.program_create(actor=clinician_a, patient=patient_a, region="lumbar", baseline_test=baseline)


@pytest.fixture
def active(clinician_a, draft):
    return services.program_start(actor=clinician_a, program=draft)


@pytest.fixture
def staff(client):
    """`staff(user)`: `call(method, url, body)` through the test client signed in as that user."""

    def as_user(user):
        client.force_login(user)

        def call(method, url, body=None, **headers):
            return getattr(client, method.lower())(url, data=body or {}, content_type="application/json", **headers)

        return call

    return as_user


@pytest.fixture
def writer_b(organization, clinic_b, issue_token):  # noqa: F811
    partner = Partner.objects.create(organization=organization, name="EHR B", contact_email="it@ehr-b.test")
    partner.clinics.set([clinic_b])
    return issue_token(partner, "read_write")


def writes(program=None):
    """The audit events of writes, and the program's status: what a refused request must leave alone."""
    events = list(Event.objects.filter(action__in=WRITES).values_list("action", "object_id"))
    return events, (Program.objects.get(pk=program.pk).status if program else Program.objects.count())


def error_attrs(response):
    assert response.status_code == 400, response.json()
    return {error["attr"] for error in response.json()["errors"]}


# --- the whole course -----------------------------------------------------------------------------


def test_staff_prescribe_start_hold_resume_and_complete_as_themselves(staff, clinician_a, patient_a, baseline):
    call = staff(clinician_a)
    body = {"patient": str(patient_a.pk), "region": "lumbar", "baseline_test": str(baseline.pk)}
    created = call("POST", PROGRAMS, body)
    assert created.status_code == 201, created.json()
    program = Program.objects.get(pk=created.json()["id"])
    assert (created.json()["status"], program.prescribed_by, program.baseline_test) == ("draft", clinician_a, baseline)
    # The start load the service proposes: 50 % of the test's peak, in the machine's unit, on its increment.
    proposed = services.start_load_from(baseline, "ft_lbf", "lumbar_extension", baseline.machine)
    assert Decimal(created.json()["start_load"]) == proposed > 0

    steps = [("start", {}, "active"), ("hold", {"reason": "Flu"}, "on_hold"), ("resume", {}, "active")]
    for move, body, status in [*steps, ("complete", {"reason": "Done"}, "completed")]:
        response = call("POST", move_url(program, move), body)
        assert (response.status_code, response.json()["status"]) == (200, status), response.json()
    program.refresh_from_db()
    assert (program.status, program.status_reason, program.current_load) == ("completed", "Done", proposed)
    assert program.ended_at is not None
    written = Event.objects.filter(object_id=str(program.pk), action__in=WRITES)
    assert [(e.action, e.actor_id) for e in written.order_by("pk")] == [("create", clinician_a.pk)] + [
        ("update", clinician_a.pk)
    ] * 4


def test_a_partner_starts_holds_resumes_and_completes_for_the_clinician_it_names(api, writer_a, draft):  # noqa: F811
    for move, status in [("start", "active"), ("hold", "on_hold"), ("resume", "active"), ("complete", "completed")]:
        body = {"clinician": "clinician_a"} | ({} if move == "start" else {"reason": f"{move} reason"})
        response = api("POST", move_url(draft, move), token=writer_a, body=body)
        assert (response.status_code, response.json()["status"]) == (200, status), response.json()
    draft.refresh_from_db()
    assert (draft.status, draft.status_reason, draft.started_at is not None) == ("completed", "complete reason", True)
    updates = Event.objects.filter(action="update", object_id=str(draft.pk))
    assert {(e.actor_id, e.actor_label, e.channel) for e in updates} == {(None, "partner:EHR A", "api")}
    assert updates.count() == 4


@pytest.mark.parametrize("fixture", ["draft", "active"])
def test_a_partner_cancels_a_draft_or_an_active_program(api, writer_a, request, fixture):  # noqa: F811
    program = request.getfixturevalue(fixture)
    body = {"reason": "Moved away.", "clinician": "clinician_a"}
    response = api("POST", move_url(program, "cancel"), token=writer_a, body=body)
    assert (response.status_code, response.json()["status"]) == (200, "cancelled"), response.json()
    program.refresh_from_db()
    assert (program.status, program.status_reason) == ("cancelled", "Moved away.")


def test_a_physician_discharges_and_a_therapist_may_not(staff, physician_a, clinician_a, active):
    refused = staff(clinician_a)("POST", move_url(active, "discharge"), {"reason": "Goals met."})
    assert refused.status_code == 403
    assert Program.objects.get(pk=active.pk).status == "active"
    response = staff(physician_a)("POST", move_url(active, "discharge"), {"reason": "Goals met."})
    assert (response.status_code, response.json()["status"]) == (200, "discharged"), response.json()
    assert response.json()["physician_review_due_at"] is not None


def test_a_partner_may_not_discharge_for_a_therapist(api, writer_a, clinician_a, active):  # noqa: F811
    response = api("POST", move_url(active, "discharge"), token=writer_a, body={"clinician": "clinician_a"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "clinician"
    assert Program.objects.get(pk=active.pk).status == "active"


def test_a_partner_discharges_for_the_physician_it_names(api, writer_a, physician_a, active):  # noqa: F811
    response = api("POST", move_url(active, "discharge"), token=writer_a, body={"clinician": "physician_a"})
    assert (response.status_code, response.json()["status"]) == (200, "discharged")


def test_a_partner_prescribes_for_the_clinician_it_names(api, writer_a, clinician_a, patient_a, baseline):  # noqa: F811
    body = {"patient": str(patient_a.pk), "region": "lumbar", "baseline_test": str(baseline.pk)}
    response = api("POST", PROGRAMS, token=writer_a, body={**body, "prescribed_by": "clinician_a"})
    assert response.status_code == 201, response.json()
    assert Program.objects.get().prescribed_by == clinician_a


# --- the start load -------------------------------------------------------------------------------


def test_a_start_load_outside_the_range_needs_a_reason(staff, clinician_a, patient_a, baseline):
    call = staff(clinician_a)
    body = {"patient": str(patient_a.pk), "region": "lumbar", "baseline_test": str(baseline.pk), "start_load": "5"}
    assert error_attrs(call("POST", PROGRAMS, body)) == {"start_load_override_reason"}
    assert not Program.objects.exists()
    response = call("POST", PROGRAMS, {**body, "start_load_override_reason": "Post-surgical."})
    assert (response.status_code, response.json()["start_load"]) == (201, "5.00"), response.json()
    assert Program.objects.get().start_load_override_reason == "Post-surgical."


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"start_load": "97.5"}, "start_load"),  # off the lumbar machine's 1 ft·lbf increment
        ({"start_load": "-4"}, "start_load"),
        ({"rep_min": 14}, "rep_max"),  # above the default maximum of 12
        ({"sessions_per_week": 4}, "sessions_per_week"),
        ({"planned_weeks": 5}, "planned_weeks"),
        ({"region": "thoracic"}, "region"),
        ({"baseline_test": "familiarisation"}, "baseline_test"),
        ({"baseline_test": "of clinic B"}, "baseline_test"),
        ({"clinic": "of the other organization"}, "clinic"),
        ({"prescribed_by": "clinician_b"}, "prescribed_by"),  # staff prescribe as themselves
        ({"patient": "not-a-uuid"}, "patient"),
    ],
)
def test_an_invalid_prescription_is_400_on_its_field_and_writes_nothing(
    staff, clinician_a, clinician_b, patient_a, patient_b, clinic_c, baseline, change, field
):
    tests = {
        "familiarisation": lambda: factories.StrengthTestFactory(patient=patient_a, is_familiarization=True),
        "of clinic B": lambda: factories.StrengthTestFactory(patient=patient_b),
    }
    change = {k: str(tests[v]().pk) if v in tests else v for k, v in change.items()}
    change = {k: clinic_c.pk if v == "of the other organization" else v for k, v in change.items()}
    body = {"patient": str(patient_a.pk), "region": "lumbar", "baseline_test": str(baseline.pk), **change}
    assert field in error_attrs(staff(clinician_a)("POST", PROGRAMS, body))
    assert not Program.objects.exists()


def test_a_second_open_program_for_the_region_is_refused(staff, clinician_a, patient_a, draft):
    response = staff(clinician_a)("POST", PROGRAMS, {"patient": str(patient_a.pk), "region": "lumbar"})
    assert error_attrs(response) == {"region"}
    assert Program.objects.count() == 1


# --- refusals -------------------------------------------------------------------------------------


def _program_in(status, patient):
    return factories.ProgramFactory(patient=patient, status=status)


@pytest.mark.parametrize(
    ("status", "move"),
    [
        ("draft", "hold"),
        ("draft", "resume"),  # a draft is started, not resumed
        ("draft", "complete"),
        ("active", "start"),
        ("on_hold", "complete"),
        ("completed", "cancel"),
        ("cancelled", "resume"),
    ],
)
def test_an_illegal_move_is_400_on_status_and_writes_nothing(api, writer_a, clinician_a, patient_a, status, move):  # noqa: F811
    program = _program_in(status, patient_a)
    before = writes(program)
    response = api("POST", move_url(program, move), token=writer_a, body={"clinician": "clinician_a"})
    assert error_attrs(response) == {"status"}
    assert writes(program) == before


def test_an_illegal_discharge_is_400_on_status(staff, physician_a, draft):
    before = writes(draft)
    assert error_attrs(staff(physician_a)("POST", move_url(draft, "discharge"))) == {"status"}
    assert writes(draft) == before


def test_a_patient_with_an_open_red_flag_is_not_started(api, writer_a, draft):  # noqa: F811
    Flag.objects.create(patient=draft.patient, kind=FlagKind.RED_FLAG, reason="r", opened_at=timezone.now())
    response = api("POST", move_url(draft, "start"), token=writer_a, body={"clinician": "clinician_a"})
    assert error_attrs(response) == {"program"}
    assert Program.objects.get(pk=draft.pk).status == "draft"


@pytest.mark.parametrize("named", [None, "front_desk_a", "clinician_b", "nobody"])
def test_a_partner_names_a_clinician_who_may_make_the_move(api, writer_a, clinic_a, clinician_b, draft, named):  # noqa: F811
    factories.StaffFactory(username="front_desk_a", clinic=clinic_a, role="front_desk")
    body = {} if named is None else {"clinician": named}
    assert error_attrs(api("POST", move_url(draft, "start"), token=writer_a, body=body)) == {"clinician"}
    assert Program.objects.get(pk=draft.pk).status == "draft"


def test_staff_move_as_themselves(staff, clinician_a, physician_a, draft):
    response = staff(clinician_a)("POST", move_url(draft, "start"), {"clinician": "physician_a"})
    assert error_attrs(response) == {"clinician"}
    assert staff(clinician_a)("POST", move_url(draft, "start"), {"clinician": "clinician_a"}).status_code == 200


@pytest.mark.parametrize("move", MOVES)
def test_a_read_only_token_may_not_move_a_program(api, reader_a, draft, move):  # noqa: F811
    before = writes(draft)
    assert api("POST", move_url(draft, move), token=reader_a, body={"clinician": "clinician_a"}).status_code == 403
    assert writes(draft) == before


def test_a_read_only_token_may_not_prescribe(api, reader_a, patient_a):  # noqa: F811
    response = api("POST", PROGRAMS, token=reader_a, body={"patient": str(patient_a.pk), "region": "lumbar"})
    assert response.status_code == 403
    assert not Program.objects.exists()


@pytest.mark.parametrize("move", MOVES)
@pytest.mark.parametrize("who", ["other_clinic", "other_organization", "unknown"])
def test_a_program_outside_the_tokens_clinics_is_404(api, writer_a, writer_b, writer_c, draft, move, who):  # noqa: F811
    token, url = {
        "other_clinic": (writer_b, move_url(draft, move)),
        "other_organization": (writer_c, move_url(draft, move)),
        "unknown": (writer_a, f"{PROGRAMS}{uuid.uuid4()}/{move}/"),
    }[who]
    before = writes(draft)
    response = api("POST", url, token=token, body={"clinician": "clinician_a"})
    assert response.status_code == 404
    assert writes(draft) == before


@pytest.mark.parametrize("who", ["other_clinic", "other_organization", "unknown"])
def test_a_patient_outside_the_staff_members_clinics_is_404(staff, clinician_a, patient_b, patient_c, who):
    patient = {"other_clinic": patient_b.pk, "other_organization": patient_c.pk, "unknown": uuid.uuid4()}[who]
    response = staff(clinician_a)("POST", PROGRAMS, {"patient": str(patient), "region": "lumbar"})
    assert response.status_code == 404
    assert not Program.objects.exists()


@pytest.mark.parametrize("url", [PROGRAMS, "start"])
def test_writes_need_authentication(api, draft, url):  # noqa: F811
    url = move_url(draft, url) if url == "start" else url
    assert api("POST", url, body={"patient": str(draft.patient_id), "region": "lumbar"}).status_code == 401
    assert Program.objects.get(pk=draft.pk).status == "draft"


# --- request conventions --------------------------------------------------------------------------


def test_a_prescription_retried_with_its_key_is_written_once(staff, clinician_a, patient_a, baseline):
    call = staff(clinician_a)
    body = {"patient": str(patient_a.pk), "region": "lumbar", "baseline_test": str(baseline.pk)}
    first = call("POST", PROGRAMS, body, HTTP_IDEMPOTENCY_KEY="rx-1")
    again = call("POST", PROGRAMS, body, HTTP_IDEMPOTENCY_KEY="rx-1")
    assert (first.status_code, again.status_code, again["Idempotent-Replayed"]) == (201, 201, "True")
    assert again.json() == first.json()
    assert Program.objects.count() == Event.objects.filter(action="create").count() == 1
    other = call("POST", PROGRAMS, {**body, "rep_min": 9}, HTTP_IDEMPOTENCY_KEY="rx-1")
    assert other.status_code == 422


def test_a_move_retried_with_its_key_is_made_once(api, writer_a, active):  # noqa: F811
    key = {"Idempotency-Key": "hold-1"}
    body = {"reason": "Flu", "clinician": "clinician_a"}
    first = api("POST", move_url(active, "hold"), token=writer_a, body=body, **key)
    again = api("POST", move_url(active, "hold"), token=writer_a, body=body, **key)
    assert (first.status_code, again.status_code) == (200, 200), again.json()
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "True"
    assert Event.objects.filter(action="update", object_id=str(active.pk), actor_label="partner:EHR A").count() == 1
    # Without the key the same request is a second hold, which the status no longer allows.
    assert error_attrs(api("POST", move_url(active, "hold"), token=writer_a, body=body)) == {"status"}


@pytest.mark.parametrize("url", [PROGRAMS, "hold"])
def test_an_unknown_field_is_refused_by_name(staff, clinician_a, patient_a, active, url):
    before = writes()
    body = {"patient": str(patient_a.pk), "region": "lumbar", "reasn": "typo"}
    if url == "hold":
        url, body = move_url(active, "hold"), {"reason": "x", "reasn": "typo"}
    response = staff(clinician_a)("POST", url, body)
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert (error["code"], error["attr"]) == ("unknown_field", "non_field_errors")
    assert "'reasn'" in error["detail"]
    assert writes() == before
