from __future__ import annotations

from collections import Counter
from datetime import time, timedelta
from io import StringIO
from itertools import pairwise

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.utils import timezone

from apps.assessments.models import QuestionnaireResponse, StrengthTest, StrengthTestPoint
from apps.audit.models import Event
from apps.clinics.access import visible_clinic_ids
from apps.clinics.models import Clinic, Machine, Membership, Organization, OrganizationAdmin, Role
from apps.demo.seeding import CLINICS, REFER_PATIENT, patient_specs
from apps.outcomes.models import OutcomeFact
from apps.outcomes.report import Filters, outcome_report
from apps.partners.models import Partner
from apps.patients.models import Patient, RedFlagScreen
from apps.programs import progression
from apps.programs.models import Flag, FlagKind, Program, ProgramStatus, ProposalAction, TrainingSession
from apps.programs.services import check_not_blocked
from apps.scheduling.models import Appointment, ClinicCalendar

User = get_user_model()
DEMO = "demo"
DEMO_USERNAMES = {
    "lj.physician",
    "lj.pa",
    "lj.therapist",
    "lj.physiologist",
    "lj.frontdesk",
    "lj.admin",
    "chi.physician",
    "chi.therapist",
    "org.admin",
}


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def demo_staff_usernames() -> set[str]:
    members = Membership.objects.filter(clinic__organization__slug=DEMO).values_list("user__username", flat=True)
    admins = OrganizationAdmin.objects.filter(organization__slug=DEMO).values_list("user__username", flat=True)
    return {*members, *admins}


def snapshot() -> dict[str, list[tuple]]:
    """Key fields of every demo row, ids and update times included: a rewrite would show."""
    in_demo = {"organization__slug": DEMO}
    return {
        "organizations": sorted(Organization.objects.filter(slug=DEMO).values_list("id", "slug", "name")),
        "clinics": sorted(
            Clinic.objects.filter(**in_demo).values_list(
                "id", "name", "timezone", "address_line", "phone", "reply_to_email", "quiet_hours_start", "updated_at"
            )
        ),
        "machines": sorted(
            Machine.objects.filter(clinic__organization__slug=DEMO).values_list(
                "id", "clinic__name", "kind", "serial_number", "max_load", "test_angles"
            )
        ),
        "users": sorted(
            User.objects.filter(username__in=DEMO_USERNAMES).values_list(
                "id", "username", "password", "email", "is_staff", "is_superuser"
            )
        ),
        "memberships": sorted(
            Membership.objects.filter(clinic__organization__slug=DEMO).values_list(
                "id", "user__username", "clinic__name", "role"
            )
        ),
        "organization_admins": sorted(
            OrganizationAdmin.objects.filter(**in_demo).values_list("id", "user__username", "organization__slug")
        ),
        "patients": sorted(
            Patient.objects.filter(**in_demo).values_list(
                "id", "mrn", "clinic__name", "given_name", "family_name", "birth_date", "email", "updated_at"
            )
        ),
        "screens": sorted(
            RedFlagScreen.objects.filter(patient__organization__slug=DEMO).values_list(
                "id", "patient__mrn", "region", "result", "screened_by__username", "screened_at"
            )
        ),
        "events": sorted(
            Event.objects.filter(organization__slug=DEMO).values_list("id", "action", "object_type", "object_id")
        ),
        "appointments": sorted(
            Appointment.objects.filter(clinic__organization__slug=DEMO).values_list(
                "id", "machine_id", "starts_at", "state", "updated_at"
            )
        ),
        **history_snapshot(),
    }


def history_snapshot() -> dict[str, list[tuple]]:
    of_demo = {"patient__organization__slug": DEMO}
    return {
        "tests": sorted(
            StrengthTest.objects.filter(**of_demo).values_list(
                "id", "patient__mrn", "performed_at", "is_familiarization", "peak_torque_nm", "updated_at"
            )
        ),
        "points": sorted(
            StrengthTestPoint.objects.filter(test__patient__organization__slug=DEMO).values_list(
                "id", "test_id", "angle_deg", "torque", "unit"
            )
        ),
        "questionnaires": sorted(
            QuestionnaireResponse.objects.filter(**of_demo).values_list(
                "id", "patient__mrn", "instrument", "completed_at", "score", "updated_at"
            )
        ),
        "programs": sorted(
            Program.objects.filter(**of_demo).values_list(
                *("id", "patient__mrn", "status", "attendance", "current_load", "proposed_load"),
                *("next_due_at", "updated_at"),
            )
        ),
        "sessions": sorted(
            TrainingSession.objects.filter(**of_demo).values_list(
                "id", "program_id", "performed_at", "load", "reps", "pain_after", "updated_at"
            )
        ),
        "flags": sorted(
            Flag.objects.filter(**of_demo).values_list("id", "kind", "opened_at", "resolved_at", "reason", "updated_at")
        ),
    }


@pytest.mark.parametrize("clinic", CLINICS, ids=lambda clinic: clinic.code)
def test_its_patients_depend_on_the_fixed_seed_only(clinic):
    first, again = patient_specs(clinic), patient_specs(clinic)

    assert again == first
    assert len({(spec.fields["given_name"], spec.fields["family_name"]) for spec in first}) > len(first) // 2


@pytest.fixture
def without_history(monkeypatch):
    """For tests about the organization and its users only: a history costs seconds."""
    monkeypatch.setattr("apps.demo.history.seed_history", lambda *args, **kwargs: 0)


@pytest.mark.usefixtures("without_history")
def test_it_sets_the_given_password_on_new_users_only(db):
    seed("--password", "another-demo-password")
    users = User.objects.filter(username__in=DEMO_USERNAMES)
    assert all(user.check_password("another-demo-password") for user in users)
    user = users.get(username="lj.therapist")
    user.set_password("my-own-password-123")
    user.save()

    seed("--password", "yet-another-demo-password")

    user.refresh_from_db()
    assert user.check_password("my-own-password-123")


@pytest.mark.parametrize("password", ["short-pass", "123456789012345"])
def test_a_refused_password_exits_with_an_error_and_creates_nothing(db, password):
    with pytest.raises(CommandError, match="--password"):
        seed("--password", password)

    assert not Organization.objects.filter(slug=DEMO).exists()
    assert not User.objects.filter(username__in=DEMO_USERNAMES).exists()


@pytest.fixture(scope="class")
def seeded_output(django_db_setup, django_db_blocker):
    """One run shared by the tests of its data (a run with the history takes ~15-25 s), rolled back after."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield seed()
        transaction.set_rollback(True)


@pytest.mark.usefixtures("seeded_output", "db")
class TestOneRun:
    def test_running_it_twice_gives_the_same_data(self):
        first = snapshot()

        output = seed()

        assert snapshot() == first
        assert len(first["patients"]) == len(first["screens"]) == 48
        assert len(first["programs"]) == 47
        created = "0 red-flag screens, 0 partner systems, 0 strength tests, 0 questionnaires, 0 programs, "
        created += "0 training sessions, 0 appointments."
        assert f"Created this run: 0 clinics, 0 machines, 0 staff users, 0 patients, {created}" in output
        assert "spinezone-demo-2026" not in output

    def test_it_creates_a_demo_partner_granted_one_clinic_and_no_token(self):
        partner = Partner.objects.get(organization__slug=DEMO)
        assert (partner.name, [clinic.city for clinic in partner.clinics.all()]) == ("Demo EHR", ["La Jolla"])
        assert not partner.tokens.exists()  # a token is shown once: the command prints how to issue one

    def test_it_creates_the_organization_clinics_machines_staff_and_patients(self):
        organization = Organization.objects.get(slug=DEMO)
        clinics = list(organization.clinics.all())

        assert organization.name == "SpineZone Demo"
        assert len({clinic.timezone for clinic in clinics}) == len(clinics) == 2
        assert Machine.objects.filter(clinic__organization=organization).count() == 4
        assert demo_staff_usernames() == DEMO_USERNAMES
        assert Patient.objects.filter(organization=organization).count() >= 40

    def test_it_gives_the_first_clinic_one_user_per_role(self):
        roles = Membership.objects.filter(clinic__name="SpineZone La Jolla").values_list("role", flat=True)

        assert sorted(roles) == sorted(Role.values)

    def test_its_staff_are_staff_users_but_not_superusers(self):
        users = User.objects.filter(username__in=DEMO_USERNAMES)

        assert {(user.is_staff, user.is_superuser) for user in users} == {(True, False)}

    def test_it_prints_the_logins(self, seeded_output):
        lines = seeded_output.splitlines()

        assert "lj.frontdesk     Front desk             SpineZone La Jolla             spinezone-demo-2026" in lines
        assert {line.split()[0] for line in lines if "spinezone-demo-2026" in line} == DEMO_USERNAMES

    def test_every_started_program_has_its_outcome_facts_and_the_report_has_figures(self):
        started = Program.objects.filter(patient__organization__slug=DEMO).exclude(status=ProgramStatus.DRAFT)
        assert OutcomeFact.objects.filter(program__in=started).count() == started.count() >= 20
        admin = OrganizationAdmin.objects.get(organization__slug=DEMO).user
        report = outcome_report(admin, Filters(), tz=timezone.get_current_timezone())
        assert report.headline.n == started.count()
        assert report.headline.strength.median is not None  # enough retests for a figure: not "too few"
        assert report.curve

    def test_its_machines_follow_the_machine_defaults(self):
        for machine in Machine.objects.filter(clinic__organization__slug=DEMO):
            machine.full_clean()
            assert machine.max_load % machine.load_increment == 0

    def test_every_patient_has_a_screen_and_one_awaits_physician_review(self):
        screens = RedFlagScreen.objects.filter(patient__organization__slug=DEMO)

        assert screens.count() == Patient.objects.filter(organization__slug=DEMO).count()
        assert list(screens.awaiting_review().values_list("patient__mrn", flat=True)) == ["LJ-000005"]
        assert set(screens.values_list("result", flat=True)) == {"clear", "refer"}

    def test_the_demo_staff_of_clinic_1_are_members_of_clinic_1_only(self):
        la_jolla = Clinic.objects.get(organization__slug=DEMO, name="SpineZone La Jolla")

        for user in User.objects.filter(username__startswith="lj."):
            assert set(user.memberships.values_list("clinic", flat=True)) == {la_jolla.pk}
            assert visible_clinic_ids(user) == {la_jolla.pk}

    def test_the_organization_admin_sees_both_clinics(self):
        admin = User.objects.get(username="org.admin")

        assert visible_clinic_ids(admin) == set(
            Clinic.objects.filter(organization__slug=DEMO).values_list("pk", flat=True)
        )
        assert not admin.memberships.exists()

    def test_every_created_patient_has_a_create_audit_event(self):
        patient_ids = sorted(
            str(pk) for pk in Patient.objects.filter(organization__slug=DEMO).values_list("pk", flat=True)
        )
        events = Event.objects.filter(object_type="patients.patient", action="create", object_id__in=patient_ids)

        assert sorted(events.values_list("object_id", flat=True)) == patient_ids
        assert set(events.values_list("actor_label", "channel")) == {("system", "command")}

    # The history

    def test_it_prints_the_history_summary(self, seeded_output):
        summary = next(line for line in seeded_output.splitlines() if line.startswith("History: "))

        assert "programs " in summary
        assert "attendance of open programs " in summary
        assert "1 red flag" in summary

    def test_every_patient_but_the_blocked_one_has_tests_questionnaires_a_program_and_sessions(self):
        blocked_mrn = REFER_PATIENT[0]
        for patient in Patient.objects.filter(organization__slug=DEMO).exclude(mrn=blocked_mrn):
            tests = StrengthTest.objects.filter(patient=patient)
            program = Program.objects.get(patient=patient)
            assert tests.filter(is_familiarization=True).count() == 1, patient.mrn
            assert program.baseline_test in tests.filter(is_familiarization=False), patient.mrn
            assert QuestionnaireResponse.objects.filter(patient=patient, instrument="pain_nrs").exists()
            assert QuestionnaireResponse.objects.filter(patient=patient, instrument__in=["odi", "ndi"]).exists()
            assert TrainingSession.objects.filter(program=program).exists(), patient.mrn

    def test_the_blocked_patient_keeps_the_screen_only(self):
        patient = Patient.objects.get(organization__slug=DEMO, mrn=REFER_PATIENT[0])

        assert not StrengthTest.objects.filter(patient=patient).exists()
        assert not QuestionnaireResponse.objects.filter(patient=patient).exists()
        assert not Program.objects.filter(patient=patient).exists()
        with pytest.raises(ValidationError, match="physician"):
            check_not_blocked(patient)

    def test_programs_are_on_track_due_overdue_lapsed_detrained_and_ended(self):
        programs = Program.objects.filter(patient__organization__slug=DEMO)
        open_programs = programs.filter(status__in=[ProgramStatus.ACTIVE, ProgramStatus.LAPSED])

        assert set(programs.values_list("status", flat=True)) == {"active", "lapsed", "completed", "discharged"}
        assert set(open_programs.values_list("attendance", flat=True)) == {
            "on_track",
            "overdue",
            "lapsed",
            "detrained",
        }
        on_track = open_programs.filter(attendance="on_track")
        assert on_track.filter(next_due_at__lte=timezone.now()).exists()  # due now
        assert on_track.filter(next_due_at__gt=timezone.now()).exists()  # trained in the last days

    def test_two_patients_are_in_maintenance_with_a_session_due_this_week(self):
        maintained = Program.objects.filter(patient__organization__slug=DEMO, phase="maintenance")

        assert maintained.count() == 2
        for program in maintained:
            assert (program.status, program.attendance, program.maintenance_interval_weeks) == ("active", "on_track", 2)
            assert program.next_due_at <= timezone.now() + timedelta(days=1)
            kept = TrainingSession.objects.filter(program=program, phase="maintenance")
            assert kept.exists()
            assert not kept.filter(performed_at__lt=program.maintenance_started_at).exists()

    def test_each_clinic_has_its_calendar_and_most_open_programs_a_booking_inside_the_rules(self):
        for clinic in Clinic.objects.filter(organization__slug=DEMO):
            calendar = ClinicCalendar.objects.get(clinic=clinic)
            assert calendar.opening_hours.filter(weekday=5).exists()  # Saturday mornings
            assert calendar.closures.filter(date__month=12, date__day=25).exists()
            open_programs = Program.objects.filter(clinic=clinic, status="active")
            booked = Appointment.objects.filter(clinic=clinic, state__in=("booked", "checked_in"))
            assert open_programs.count() * 0.5 <= booked.count() < open_programs.count()  # some due, none booked
            for appointment in booked.select_related("program", "machine"):
                assert appointment.machine.kind == appointment.program.machine_kind
                assert appointment.starts_at >= appointment.program.earliest_next_at
                assert appointment.early_reason == ""

    def test_the_attendance_job_has_flagged_overdue_and_lapsed_programs(self):
        for program in Program.objects.filter(patient__organization__slug=DEMO).exclude(attendance="on_track"):
            open_kinds = set(Flag.objects.filter(program=program).open().values_list("kind", flat=True))
            assert FlagKind.OVERDUE in open_kinds
            assert (FlagKind.LAPSED in open_kinds) == (program.status == ProgramStatus.LAPSED)
            assert (FlagKind.DETRAINED in open_kinds) == (program.attendance == "detrained")

    def test_pain_flares_open_and_resolve_after_two_clean_sessions(self):
        flares = Flag.objects.filter(patient__organization__slug=DEMO, kind=FlagKind.PAIN_FLARE)

        assert flares.open().count() >= 2
        resolved = flares.filter(resolved_at__isnull=False)
        assert resolved.exists()
        assert set(resolved.values_list("resolution", flat=True)) == {"Two consecutive clean sessions."}

    def test_one_red_flag_reported_in_a_session_stops_training(self):
        red_flags = Flag.objects.filter(patient__organization__slug=DEMO, kind=FlagKind.RED_FLAG).open()

        assert red_flags.count() == 1
        program = red_flags.get().program
        assert program.proposal_action == ProposalAction.RED_FLAG_STOP
        assert program.sessions.filter(red_flag_reported=True).count() == 1
        with pytest.raises(ValidationError, match="red flag"):
            check_not_blocked(program.patient)

    def test_loads_progress_from_the_start_load_through_the_proposals(self):
        programs = Program.objects.filter(patient__organization__slug=DEMO)
        progressed = [program for program in programs if program.current_load > program.start_load]
        actions = Counter(
            TrainingSession.objects.filter(patient__organization__slug=DEMO).values_list("proposal_action", flat=True)
        )

        assert len(progressed) >= programs.count() * 3 // 4
        assert actions[ProposalAction.INCREASE] > 50
        assert actions[ProposalAction.HOLD] > 50
        assert actions[ProposalAction.PAIN_HOLD] >= 2

    def test_every_load_is_on_the_increment_and_the_proposal_unless_a_reason_is_given(self):
        sessions = TrainingSession.objects.filter(patient__organization__slug=DEMO).select_related("machine")

        for session in sessions:
            assert session.load % session.machine.load_increment == 0
            assert session.load == session.proposed_load or session.override_reason
        assert 0 < sessions.exclude(override_reason="").count() < sessions.count() // 10

    def test_start_loads_are_half_the_baseline_peak(self):
        for program in Program.objects.filter(patient__organization__slug=DEMO).select_related("baseline_test"):
            peak = program.baseline_test.peak_torque_nm
            assert not progression.start_load_needs_override(program.start_load, peak, program.load_unit)
            assert program.start_load_override_reason == ""

    def test_sessions_fall_on_weekdays_in_opening_hours_and_48_h_apart(self):
        programs = Program.objects.filter(patient__organization__slug=DEMO).select_related("clinic")

        for program in programs:
            times = list(program.sessions.order_by("performed_at").values_list("performed_at", flat=True))
            local = [moment.astimezone(program.clinic.tzinfo) for moment in times]
            assert all(moment.weekday() < 5 and time(8) <= moment.time() <= time(18) for moment in local)
            assert all(b - a >= timedelta(hours=48) for a, b in pairwise(times))
        assert not TrainingSession.objects.exclude(early_reason="").exists()

    def test_questionnaires_every_two_weeks_show_improvement(self):
        falls = []
        for program in Program.objects.filter(patient__organization__slug=DEMO, region="lumbar"):
            scores = QuestionnaireResponse.objects.filter(patient=program.patient, instrument="odi")
            ordered = list(scores.order_by("completed_at").values_list("completed_at", "score"))
            if len(ordered) >= 3:
                (first_at, first), (last_at, last) = ordered[0], ordered[-1]
                falls.append(float(first - last) / ((last_at - first_at).days / 7))

        assert len(falls) >= 15
        assert 0.8 <= sum(falls) / len(falls) <= 2.2  # ODI falling ~1-2 points a week

    def test_those_trained_six_weeks_were_retested(self):
        for program in Program.objects.filter(patient__organization__slug=DEMO, status="active"):
            sessions = program.sessions.order_by("performed_at")
            if (sessions.last().performed_at - program.started_at).days >= 45:
                tests = StrengthTest.objects.filter(patient=program.patient, performed_at__gt=program.started_at)
                assert tests.exists(), program.patient.mrn
