"""Admin of the clinical engine: scoped like the foundation, saves through the services, refusals are form errors."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from apps.assessments.models import QuestionnaireResponse, StrengthTest
from apps.audit.models import Action, Event
from apps.patients import services as patient_services
from apps.programs import schedule, services, sessions
from apps.programs.admin import TrainingSessionAdmin
from apps.programs.models import Flag, FlagKind, Program, ProgramStatus, TrainingSession
from tests import factories

LA = ZoneInfo("America/Los_Angeles")
ADMIN_NAMES = {
    "program": "programs_program",
    "session": "programs_trainingsession",
    "flag": "programs_flag",
    "test": "assessments_strengthtest",
    "response": "assessments_questionnaireresponse",
}


@pytest.fixture
def now():
    return timezone.now().replace(second=0, microsecond=0)


@pytest.fixture
def yesterday_noon():
    """A wall time that exists once in Los Angeles (never in a DST gap or fold): typed times read back exactly."""
    day = timezone.localdate(timezone=LA) - timedelta(days=1)
    return datetime.combine(day, time(12), tzinfo=LA)


@pytest.fixture
def machine_a(clinic_a):
    return factories.MachineFactory(clinic=clinic_a, serial_number="LX-A")


@pytest.fixture
def baseline(patient_a, machine_a, now):
    return factories.StrengthTestFactory(patient=patient_a, machine=machine_a, performed_at=now - timedelta(days=7))


@pytest.fixture
def program(clinician_a, patient_a, baseline, now):
    """Active since 6 days ago at 100 ft·lbf (54 % of the baseline peak): the proposal is the start load."""
    draft = services.program_create(
        actor=clinician_a, patient=patient_a, region="lumbar", baseline_test=baseline, start_load=100
    )
    return services.program_start(actor=clinician_a, program=draft, now=now - timedelta(days=6))


def wall(moment: datetime) -> dict[str, str]:
    local = moment.astimezone(LA)
    return {"_0": local.date().isoformat(), "_1": local.strftime("%H:%M:%S")}


def when(field: str, moment: datetime) -> dict[str, str]:
    return {f"{field}{suffix}": value for suffix, value in wall(moment).items()}


def session_form(program, machine, at, **changes) -> dict:
    form = {"program": program.pk, "machine": machine.pk, "status": "completed", "load": "100", "reps": "10"}
    form |= {"time_under_load_s": "90", "reached_failure": "on", "pain_before": "2", "pain_after": "2"}
    form |= {"rom_min_deg": "", "rom_max_deg": "", "override_reason": "", "early_reason": "", "adverse_event_note": ""}
    return {**form, **when("performed_at", at), **changes}


def written(program: Program) -> tuple:
    """What a refused post must leave as it was: the rows and events written, and the program row."""
    counts = (TrainingSession.objects.count(), StrengthTest.objects.count(), QuestionnaireResponse.objects.count())
    events = Event.objects.exclude(action=Action.READ).count()
    return counts, events, Program.objects.filter(pk=program.pk).values().get()


def form_errors(response) -> dict:
    return response.context["adminform"].form.errors


def shown(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


# --- Scoping: every changelist and change view ------------------------------------------------------


def rows_of(patient) -> dict:
    program = factories.ProgramFactory(patient=patient)
    return {
        "program": program,
        "session": factories.TrainingSessionFactory(program=program),
        "flag": Flag.objects.create(
            patient=patient, program=program, kind=FlagKind.PAIN_FLARE, reason="pain rose", opened_at=timezone.now()
        ),
        "test": factories.StrengthTestFactory(patient=patient),
        "response": factories.QuestionnaireResponseFactory(patient=patient),
    }


@pytest.fixture
def rows(patient_a, patient_b):
    return {"a": rows_of(patient_a), "b": rows_of(patient_b)}


@pytest.mark.parametrize("kind", ADMIN_NAMES)
@pytest.mark.parametrize(
    ("member", "sees"), [("clinician_a", {"a"}), ("clinician_b", {"b"}), ("superuser", {"a", "b"})]
)
def test_each_changelist_shows_only_the_rows_of_the_members_clinics(request, signed_in, rows, kind, member, sees):
    response = signed_in(request.getfixturevalue(member)).get(reverse(f"admin:{ADMIN_NAMES[kind]}_changelist"))

    assert response.status_code == 200
    assert set(response.context["cl"].result_list) == {rows[clinic][kind] for clinic in sees}


@pytest.mark.parametrize("kind", ADMIN_NAMES)
def test_each_change_view_of_a_clinic_a_row_is_404_for_clinician_b(signed_in, clinician_a, clinician_b, rows, kind):
    url = reverse(f"admin:{ADMIN_NAMES[kind]}_change", args=[rows["a"][kind].pk])

    assert signed_in(clinician_b).get(url).status_code == 404
    assert signed_in(clinician_a).get(url).status_code == 200


@pytest.mark.parametrize(("kind", "status"), [*((kind, 200) for kind in ADMIN_NAMES if kind != "flag"), ("flag", 403)])
def test_each_add_page_renders_for_a_clinician_and_flags_have_none(signed_in, clinician_a, kind, status):
    response = signed_in(clinician_a).get(reverse(f"admin:{ADMIN_NAMES[kind]}_add"))

    assert response.status_code == status


@pytest.mark.parametrize("kind", ["session", "test", "response", "flag"])
def test_a_recorded_row_is_read_only_and_cannot_be_deleted(signed_in, superuser, rows, kind):
    client, row = signed_in(superuser), rows["a"][kind]

    page = client.get(reverse(f"admin:{ADMIN_NAMES[kind]}_change", args=[row.pk]))
    deleting = client.post(reverse(f"admin:{ADMIN_NAMES[kind]}_delete", args=[row.pk]), {"post": "yes"})

    assert not page.context["has_change_permission"]
    assert deleting.status_code == 403
    assert type(row).objects.filter(pk=row.pk).exists()


@pytest.mark.parametrize("kind", ADMIN_NAMES)
def test_the_rows_of_a_deleted_patient_leave_every_list_and_page(signed_in, clinic_admin_a, rows, patient_a, kind):
    patient_services.patient_delete(actor=clinic_admin_a, patient=patient_a)
    client = signed_in(clinic_admin_a)

    listing = client.get(reverse(f"admin:{ADMIN_NAMES[kind]}_changelist"))
    page = client.get(reverse(f"admin:{ADMIN_NAMES[kind]}_change", args=[rows["a"][kind].pk]))

    assert list(listing.context["cl"].result_list) == []
    assert page.status_code == 404


def test_the_changelist_records_a_read_of_each_row_shown(signed_in, clinician_a, rows):
    signed_in(clinician_a).get(reverse("admin:programs_trainingsession_changelist"))

    reads = Event.objects.filter(action=Action.READ, object_type="programs.trainingsession")
    assert list(reads.values_list("object_id", flat=True)) == [str(rows["a"]["session"].pk)]


def build(kind: str, clinic) -> None:
    """One more row of `kind` at `clinic`, for a new patient (one open program per patient and region)."""
    patient = factories.PatientFactory(clinic=clinic)
    if kind in ("program", "session", "flag"):
        program = factories.ProgramFactory(patient=patient)
        if kind == "session":
            factories.TrainingSessionFactory(program=program)
        if kind == "flag":
            Flag.objects.create(
                patient=patient, program=program, kind=FlagKind.OVERDUE, reason="r", opened_at=timezone.now()
            )
    elif kind == "test":
        factories.StrengthTestFactory(patient=patient)
    else:
        factories.QuestionnaireResponseFactory(patient=patient)


@pytest.mark.parametrize("kind", ADMIN_NAMES)
def test_changelist_queries_do_not_grow_with_the_rows(
    signed_in, clinician_a, clinic_a, kind, django_assert_max_num_queries
):
    client, url = signed_in(clinician_a), reverse(f"admin:{ADMIN_NAMES[kind]}_changelist")
    counts = []
    for total in (2, 20):
        while len(client.get(url).context["cl"].result_list) < total:
            build(kind, clinic_a)
        with CaptureQueriesContext(connection) as queries:
            assert len(client.get(url).context["cl"].result_list) == total
        counts.append(len(queries))

    assert counts[0] == counts[1]
    # About half is the foundation's per-request cost: session, user, roles, the index's permission checks.
    with django_assert_max_num_queries(20):
        client.get(url)


# --- Training sessions --------------------------------------------------------------------------------


def test_the_session_add_form_shows_the_proposed_load_and_its_reason(signed_in, clinician_a, program, machine_a, now):
    sessions.session_record(
        actor=clinician_a, program=program, machine=machine_a, performed_at=now - timedelta(days=3), load=100,
        reps=14, time_under_load_s=90, reached_failure=True, pain_before=2, pain_after=2, now=now,
    )  # fmt: skip

    response = signed_in(clinician_a).get(reverse("admin:programs_trainingsession_add"), {"program": program.pk})

    form = response.context["adminform"].form
    assert form.fields["load"].help_text == "Proposed: 105 ft·lbf — reps 14 &gt; 12 at failure: +5 %"
    assert (form.initial["program"], form.initial["load"], form.initial["machine"]) == (
        str(program.pk),
        Decimal(105),
        machine_a.pk,
    )
    assert "Proposed: 105 ft·lbf — reps 14 &gt; 12 at failure: +5 %" in response.content.decode()
    local_now = timezone.localtime(timezone.now(), LA).replace(tzinfo=None)
    assert abs(form.initial["performed_at"] - local_now) < timedelta(minutes=1)  # the clinic's wall clock


def test_the_session_form_offers_open_programs_and_machines_of_the_users_clinics_and_the_programs_kind(
    signed_in, clinician_a, program, machine_a, clinic_a, clinic_b, patient_a
):
    factories.MachineFactory(clinic=clinic_a, kind="cervical_extension")
    factories.MachineFactory(clinic=clinic_b)
    ended = factories.ProgramFactory(patient=patient_a, region="cervical", status=ProgramStatus.CANCELLED)
    factories.ProgramFactory(patient=factories.PatientFactory(clinic=clinic_b))

    response = signed_in(clinician_a).get(reverse("admin:programs_trainingsession_add"), {"program": program.pk})

    form = response.context["adminform"].form
    assert list(form.fields["program"].queryset) == [program]
    assert ended not in form.fields["program"].queryset
    assert list(form.fields["machine"].queryset) == [machine_a]


def test_posting_a_session_at_the_proposed_load_records_it_with_the_proposal_in_force_and_an_audit_event(
    signed_in, clinician_a, program, machine_a, yesterday_noon
):
    performed_at = yesterday_noon

    response = signed_in(clinician_a).post(
        reverse("admin:programs_trainingsession_add"), session_form(program, machine_a, performed_at)
    )

    assert response.status_code == 302
    session = TrainingSession.objects.get()
    assert session.performed_at == performed_at  # typed on the clinic's wall clock, stored as the instant
    assert (session.load, session.proposed_load, session.proposal_action) == (100, 100, "start")
    assert (session.supervisor, session.override_reason, session.overridden) == (clinician_a, "", False)
    event = Event.objects.get(action=Action.CREATE, object_type="programs.trainingsession")
    assert (event.object_id, event.actor, event.channel) == (str(session.pk), clinician_a, "admin")
    program.refresh_from_db()
    assert (program.completed_sessions, program.current_load) == (1, 100)


def test_a_load_other_than_the_proposal_without_a_reason_is_a_form_error_and_writes_nothing(
    signed_in, clinician_a, program, machine_a, now
):
    before = written(program)

    response = signed_in(clinician_a).post(
        reverse("admin:programs_trainingsession_add"), session_form(program, machine_a, now, load="110")
    )

    assert response.status_code == 200
    assert form_errors(response)["override_reason"] == [
        "The proposed load is 100 ft·lbf: say why the patient trains at 110."
    ]
    assert written(program) == before


def test_a_load_other_than_the_proposal_with_a_reason_is_stored_with_the_user_as_supervisor(
    signed_in, clinician_a, program, machine_a, now
):
    form = session_form(program, machine_a, now, load="110", override_reason="felt strong on the warm-up")

    response = signed_in(clinician_a).post(reverse("admin:programs_trainingsession_add"), form)

    assert response.status_code == 302
    session = TrainingSession.objects.get()
    assert (session.load, session.proposed_load, session.overridden) == (110, 100, True)
    assert (session.supervisor, session.override_reason) == (clinician_a, "felt strong on the warm-up")


def test_it_rejects_a_load_off_the_increment_with_a_form_error_naming_it_and_writes_nothing(
    signed_in, clinician_a, program, machine_a, now
):
    before = written(program)
    form = session_form(program, machine_a, now, load="100.5", override_reason="half a step")

    response = signed_in(clinician_a).post(reverse("admin:programs_trainingsession_add"), form)

    assert response.status_code == 200
    assert form_errors(response)["load"] == ["Load 100.5 is not a multiple of the machine's increment 1 ft·lbf."]
    assert written(program) == before


def test_a_refusal_about_the_program_itself_is_a_form_error_not_a_500(signed_in, clinician_a, program, machine_a, now):
    services.program_transition(actor=clinician_a, program=program, status=ProgramStatus.ON_HOLD)

    response = signed_in(clinician_a).post(
        reverse("admin:programs_trainingsession_add"), session_form(program, machine_a, now)
    )

    assert response.status_code == 200
    assert form_errors(response)["program"] == ["A program that is on hold takes no sessions."]
    assert not TrainingSession.objects.exists()


def test_another_clinics_program_cannot_be_posted(signed_in, clinician_b, program, machine_a, now):
    before = written(program)

    response = signed_in(clinician_b).post(
        reverse("admin:programs_trainingsession_add"), session_form(program, machine_a, now)
    )

    assert response.status_code == 200
    assert set(form_errors(response)) == {"program", "machine"}
    assert written(program) == before


def test_the_front_desk_cannot_record_a_session(signed_in, clinic_a):
    front_desk = factories.StaffFactory(clinic=clinic_a, role="front_desk")

    assert signed_in(front_desk).get(reverse("admin:programs_trainingsession_add")).status_code == 403


def test_the_session_page_shows_who_supervised_the_proposal_in_force_and_the_override(
    signed_in, clinician_a, program, machine_a, now
):
    session = sessions.session_record(
        actor=clinician_a, program=program, machine=machine_a, performed_at=now - timedelta(hours=2), load=110,
        override_reason="felt strong", reps=10, time_under_load_s=90, reached_failure=True, pain_before=2,
        pain_after=2, now=now,
    )  # fmt: skip

    page = signed_in(clinician_a).get(reverse("admin:programs_trainingsession_change", args=[session.pk]))

    content = page.content.decode()
    assert "100 ft·lbf (Start load): start load 100 ft·lbf: 50 % of the baseline peak torque" in content
    supervisor = escape(clinician_a.get_full_name())  # Faker names can hold an apostrophe
    assert f"{supervisor} (clinician_a) chose 110 ft·lbf instead of 100 ft·lbf: felt strong" in content


# --- Programs ---------------------------------------------------------------------------------------


def program_form(patient, **changes) -> dict:
    form = {"patient": patient.pk, "region": "lumbar", "sessions_per_week": 2, "planned_weeks": 10, "rep_min": 8}
    form |= {"rep_max": 12, "tul_min_s": 45, "tul_max_s": 150, "progression_step_pct": 5, "min_rest_hours": 48}
    return {**form, "start_load": "", "start_load_override_reason": "", **changes}


def test_a_program_is_created_through_program_create(signed_in, clinician_a, patient_a, baseline):
    response = signed_in(clinician_a).post(reverse("admin:programs_program_add"), program_form(patient_a))

    assert response.status_code == 302
    program = Program.objects.get()
    assert (program.status, program.baseline_test, program.start_load) == ("draft", baseline, 92)
    assert (program.prescribed_by, program.clinic) == (clinician_a, patient_a.clinic)
    assert Event.objects.filter(action=Action.CREATE, object_type="programs.program").count() == 1


def test_a_start_load_outside_40_to_80_percent_without_a_reason_is_a_form_error(
    signed_in, clinician_a, patient_a, baseline
):
    response = signed_in(clinician_a).post(
        reverse("admin:programs_program_add"), program_form(patient_a, start_load="150")
    )

    assert response.status_code == 200
    assert "start_load_override_reason" in form_errors(response)
    assert not Program.objects.exists()


def test_a_second_open_program_for_the_region_is_a_form_error(signed_in, clinician_a, program, patient_a):
    response = signed_in(clinician_a).post(reverse("admin:programs_program_add"), program_form(patient_a))

    assert response.status_code == 200
    assert "already has an open program" in str(form_errors(response)["region"])
    assert Program.objects.count() == 1


def act(client, action: str, *programs, **extra):
    data = {"action": action, "_selected_action": [p.pk for p in programs], "status_reason": "", **extra}
    return client.post(reverse("admin:programs_program_changelist"), data, follow=True)


def test_an_illegal_transition_by_action_is_a_message_and_the_status_stays(signed_in, clinician_a, program):
    services.program_transition(actor=clinician_a, program=program, status=ProgramStatus.COMPLETED)

    response = act(signed_in(clinician_a), "on_hold_selected", program)

    assert response.status_code == 200
    assert shown(response) == [
        f"{program.patient}: A completed program cannot become on_hold; allowed: none: it has ended."
    ]
    assert Program.objects.get(pk=program.pk).status == ProgramStatus.COMPLETED


def test_the_hold_action_holds_the_program_with_its_reason(signed_in, clinician_a, program):
    response = act(signed_in(clinician_a), "on_hold_selected", program, status_reason="travelling")

    assert shown(response) == ["Hold: 1 program(s)."]
    program.refresh_from_db()
    assert (program.status, program.status_reason) == ("on_hold", "travelling")


def test_only_a_physician_discharges_and_a_refusal_is_a_message(signed_in, clinician_a, physician_a, program):
    refused = act(signed_in(clinician_a), "discharged_selected", program)
    assert shown(refused) == [f"{program.patient}: Your role at the patient's clinic does not allow this."]
    assert Program.objects.get(pk=program.pk).status == ProgramStatus.ACTIVE

    act(signed_in(physician_a), "discharged_selected", program)
    assert Program.objects.get(pk=program.pk).status == ProgramStatus.DISCHARGED


def test_the_start_action_starts_a_draft_at_its_start_load(signed_in, clinician_a, patient_a, baseline):
    draft = services.program_create(actor=clinician_a, patient=patient_a, region="lumbar", baseline_test=baseline)

    act(signed_in(clinician_a), "start_selected", draft)

    draft.refresh_from_db()
    assert (draft.status, draft.current_load, draft.proposal_action) == ("active", 92, "start")


def test_a_status_button_moves_the_program_and_an_illegal_one_is_a_message(signed_in, clinician_a, program):
    client, url = signed_in(clinician_a), reverse("admin:programs_program_status", args=[program.pk])

    held = client.post(url, {"status": "on_hold", "status_reason": "flu"}, follow=True)
    refused = client.post(url, {"status": "lapsed"}, follow=True)

    assert shown(held) == ["The program is now on hold."]
    assert "lapses by itself" in shown(refused)[0]
    program.refresh_from_db()
    assert (program.status, program.status_reason) == ("on_hold", "flu")
    assert client.get(url).status_code == 405


def test_another_clinics_status_button_is_404(signed_in, clinician_b, program):
    url = reverse("admin:programs_program_status", args=[program.pk])

    response = signed_in(clinician_b).post(url, {"status": "cancelled"})

    assert response.status_code == 404
    assert Program.objects.get(pk=program.pk).status == ProgramStatus.ACTIVE


@pytest.fixture
def trained(program, clinician_a, machine_a, now):
    values = {"load": 100, "reps": 10, "time_under_load_s": 90, "reached_failure": True, "pain_before": 2}
    performed_at = now - timedelta(days=2)
    sessions.session_record(
        actor=clinician_a, program=program, machine=machine_a, performed_at=performed_at, pain_after=2, **values
    )
    program.refresh_from_db()
    return program


def test_the_maintenance_button_completes_into_the_interval_chosen_beside_it(signed_in, clinician_a, trained):
    client, change = signed_in(clinician_a), reverse("admin:programs_program_change", args=[trained.pk])
    assert 'name="maintenance_interval_weeks"' in client.get(change).content.decode()
    url = reverse("admin:programs_program_status", args=[trained.pk])

    moved = client.post(url, {"status": "maintain", "maintenance_interval_weeks": "3"}, follow=True)

    assert shown(moved) == ["The program is now in maintenance, one session every 3 weeks."]
    trained.refresh_from_db()
    assert (trained.phase, trained.maintenance_interval_weeks, trained.status) == ("maintenance", 3, "active")
    assert trained.next_due_at == schedule.maintenance_due(trained.last_completed_at, 3, LA)
    assert 'name="maintenance_interval_weeks"' not in client.get(change).content.decode()  # no second move


@pytest.mark.parametrize("weeks", ["0", "9", "x"])
def test_an_interval_outside_1_to_4_weeks_is_a_message_and_nothing_moves(signed_in, clinician_a, trained, weeks):
    url = reverse("admin:programs_program_status", args=[trained.pk])

    refused = signed_in(clinician_a).post(url, {"status": "maintain", "maintenance_interval_weeks": weeks}, follow=True)

    assert shown(refused) == [f"{trained.patient}: Choose one session every 1-4 weeks."]
    assert Program.objects.get(pk=trained.pk).phase == "training"


def test_the_maintenance_action_moves_the_selected_programs(signed_in, clinician_a, trained, program):
    response = act(signed_in(clinician_a), "maintain_selected", trained, maintenance_interval_weeks="1")

    assert shown(response) == ["Complete into maintenance: 1 program(s)."]
    assert Program.objects.filter(pk=trained.pk).values_list("phase", "maintenance_interval_weeks").get() == (
        "maintenance",
        1,
    )


def test_the_program_page_shows_computed_fields_in_clinic_time_and_the_session_log(
    signed_in, clinician_a, program, machine_a
):
    factories.TrainingSessionFactory(program=program, machine=machine_a, supervisor=clinician_a, load=100)

    page = signed_in(clinician_a).get(reverse("admin:programs_program_change", args=[program.pk]))

    content = page.content.decode()
    due = program.next_due_at.astimezone(LA)
    assert f"{due:%Y-%m-%d %H:%M} {due.tzname()}" in content
    assert "start load 100 ft·lbf: 50 % of the baseline peak torque" in content
    assert "Session log" in content
    assert f"<p>{escape(clinician_a.get_full_name())} (clinician_a)</p>" in content  # the log's supervisor column
    assert f'href="/admin/programs/trainingsession/add/?program={program.pk}"' in content
    assert 'value="on_hold">Hold</button>' in content
    assert not page.context["has_change_permission"]


def test_the_program_page_queries_do_not_grow_with_its_sessions(signed_in, clinician_a, program, machine_a):
    client, url = signed_in(clinician_a), reverse("admin:programs_program_change", args=[program.pk])
    counts = []
    for total in (2, 20):
        while TrainingSession.objects.filter(program=program).count() < total:
            factories.TrainingSessionFactory(program=program, machine=machine_a, supervisor=clinician_a)
        with CaptureQueriesContext(connection) as queries:
            client.get(url)
        counts.append(len(queries))

    assert counts[0] == counts[1]


# --- Flags ------------------------------------------------------------------------------------------


def resolve(client, *flags_, resolution="reviewed: load kept"):
    data = {"action": "resolve", "_selected_action": [f.pk for f in flags_], "resolution": resolution}
    return client.post(reverse("admin:programs_flag_changelist"), data, follow=True)


def open_flag(program, kind) -> Flag:
    return Flag.objects.create(
        patient=program.patient, program=program, kind=kind, reason="why", opened_at=timezone.now()
    )


def test_the_resolve_action_closes_a_pain_flare_with_the_resolution(signed_in, clinician_a, program):
    flag = open_flag(program, FlagKind.PAIN_FLARE)

    response = resolve(signed_in(clinician_a), flag)

    assert shown(response) == ["Resolved 1 flag(s)."]
    flag.refresh_from_db()
    assert flag.resolved_at is not None
    assert flag.resolution == "reviewed: load kept"


@pytest.mark.parametrize(
    ("kind", "resolution", "refusal"),
    [
        (FlagKind.RED_FLAG, "fine", "Only a physician of the patient's clinic can clear a red flag."),
        (FlagKind.OVERDUE, "fine", "An attendance flag closes when a session is completed or a retest recorded."),
        (FlagKind.PAIN_FLARE, " ", "Say what was decided."),
    ],
)
def test_a_refused_resolution_is_a_message_and_the_flag_stays_open(
    signed_in, clinician_a, program, kind, resolution, refusal
):
    flag = open_flag(program, kind)

    response = resolve(signed_in(clinician_a), flag, resolution=resolution)

    assert shown(response) == [f"{flag.get_kind_display()}, {program.patient}: {refusal}"]
    assert Flag.objects.get(pk=flag.pk).resolved_at is None


# --- The form saves in the admin's transaction, and shows clinicians' words as text ----------------


def test_a_failure_after_the_service_call_leaves_nothing_written(
    signed_in, clinician_a, program, machine_a, now, monkeypatch
):
    before = written(program)

    def broken(*args, **kwargs):
        raise RuntimeError("admin log down")

    monkeypatch.setattr(TrainingSessionAdmin, "log_addition", broken)
    with pytest.raises(RuntimeError):
        signed_in(clinician_a).post(
            reverse("admin:programs_trainingsession_add"), session_form(program, machine_a, now)
        )

    assert written(program) == before


def test_a_clinicians_words_in_a_proposal_reason_are_shown_as_text(signed_in, clinician_a, patient_a, baseline, now):
    draft = services.program_create(
        actor=clinician_a, patient=patient_a, region="lumbar", baseline_test=baseline, start_load=150,
        start_load_override_reason="<b>trained athlete</b>",
    )  # fmt: skip
    program = services.program_start(actor=clinician_a, program=draft, now=now - timedelta(days=1))
    client = signed_in(clinician_a)

    form_page = client.get(reverse("admin:programs_trainingsession_add"), {"program": program.pk}).content.decode()
    program_page = client.get(reverse("admin:programs_program_change", args=[program.pk])).content.decode()

    for page in (form_page, program_page):
        assert "&lt;b&gt;trained athlete&lt;/b&gt;" in page
        assert "<b>trained athlete</b>" not in page


def test_after_a_three_week_gap_the_session_form_proposes_resuming_at_ninety_percent(
    signed_in, clinician_a, patient_a, machine_a, now
):
    baseline = factories.StrengthTestFactory(
        patient=patient_a, machine=machine_a, performed_at=now - timedelta(days=30)
    )
    draft = services.program_create(
        actor=clinician_a, patient=patient_a, region="lumbar", baseline_test=baseline, start_load=100
    )
    program = services.program_start(actor=clinician_a, program=draft, now=now - timedelta(days=25))
    last = now - timedelta(days=20)
    sessions.session_record(
        actor=clinician_a, program=program, machine=machine_a, performed_at=last, load=100, reps=10,
        time_under_load_s=90, reached_failure=True, pain_before=2, pain_after=2, now=last + timedelta(hours=1),
    )  # fmt: skip

    response = signed_in(clinician_a).get(reverse("admin:programs_trainingsession_add"), {"program": program.pk})

    form = response.context["adminform"].form
    # 20 days without training: resume at 90 % of 100, rounded down to the 1 ft·lbf increment.
    assert form.initial["load"] == Decimal(90)
    assert form.fields["load"].help_text.startswith("Proposed: 90 ft·lbf — 20 days without training")
