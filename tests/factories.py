"""factory_boy factories for every model; also used by `seed_demo`'s tests and the scale generator."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone
from factory.django import DjangoModelFactory

from apps.assessments import scoring
from apps.assessments.models import QuestionnaireResponse, StrengthTest, StrengthTestPoint
from apps.clinics.models import (
    MACHINE_DEFAULTS,
    Clinic,
    Machine,
    MachineKind,
    Membership,
    Organization,
    OrganizationAdmin,
)
from apps.patients.models import Patient, Region, Sex
from apps.programs.models import Program, ProgramStatus, SessionStatus, TrainingSession
from apps.reminders.models import Reminder, ReminderKind, ReminderState
from apps.scheduling.models import ClinicCalendar, Closure, OpeningHours

PASSWORD = "correct-horse-battery-staple"


class OrganizationFactory(DjangoModelFactory):
    class Meta:
        model = Organization
        django_get_or_create = ["slug"]

    name = factory.Sequence(lambda n: f"Organization {n}")
    slug = factory.Sequence(lambda n: f"org-{n}")


class ClinicFactory(DjangoModelFactory):
    class Meta:
        model = Clinic

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Clinic {n}")
    timezone = "America/Los_Angeles"
    city = "San Diego"
    country = "US"


class MachineFactory(DjangoModelFactory):
    class Meta:
        model = Machine

    clinic = factory.SubFactory(ClinicFactory)
    kind = MachineKind.LUMBAR_EXTENSION
    name = factory.LazyAttribute(lambda m: f"{m.kind.replace('_', ' ').title()}")
    serial_number = factory.Sequence(lambda n: f"SN-{n:05d}")
    rom_min_deg = factory.LazyAttribute(lambda m: MACHINE_DEFAULTS[m.kind]["rom_min_deg"])
    rom_max_deg = factory.LazyAttribute(lambda m: MACHINE_DEFAULTS[m.kind]["rom_max_deg"])
    load_unit = factory.LazyAttribute(lambda m: MACHINE_DEFAULTS[m.kind]["load_unit"])
    load_increment = factory.LazyAttribute(lambda m: MACHINE_DEFAULTS[m.kind]["load_increment"])
    max_load = factory.LazyAttribute(lambda m: 600 if m.kind == MachineKind.LUMBAR_EXTENSION else 900)
    test_angles = factory.LazyAttribute(lambda m: list(MACHINE_DEFAULTS[m.kind]["test_angles"]))


class UserFactory(DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.test")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    is_staff = True
    password = factory.django.Password(PASSWORD)


class MembershipFactory(DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    clinic = factory.SubFactory(ClinicFactory)
    role = "physical_therapist"


class StaffFactory(UserFactory):
    """A user with one membership: `StaffFactory(clinic=..., role=...)`."""

    class Params:
        clinic = factory.SubFactory(ClinicFactory)
        role = "physical_therapist"

    membership = factory.RelatedFactory(
        MembershipFactory,
        factory_related_name="user",
        clinic=factory.SelfAttribute("..clinic"),
        role=factory.SelfAttribute("..role"),
    )


class OrganizationAdminFactory(DjangoModelFactory):
    class Meta:
        model = OrganizationAdmin

    user = factory.SubFactory(UserFactory)
    organization = factory.SubFactory(OrganizationFactory)


class PatientFactory(DjangoModelFactory):
    class Meta:
        model = Patient

    clinic = factory.SubFactory(ClinicFactory)
    organization = factory.SelfAttribute("clinic.organization")
    mrn = factory.Sequence(lambda n: f"MRN-{n:06d}")
    given_name = factory.Faker("first_name")
    family_name = factory.Faker("last_name")
    birth_date = factory.Faker("date_between", start_date=dt.date(1945, 1, 1), end_date=dt.date(2000, 12, 31))
    sex = factory.Iterator([Sex.FEMALE, Sex.MALE])
    height_cm = 172
    body_mass_kg = 78
    email = factory.LazyAttribute(lambda p: f"{p.given_name.lower()}.{p.family_name.lower()}@example.test")
    email_reminder_consent = True


# A plausible curve in N·m at each machine's standard angles, strongest in mid-range.
DEFAULT_CURVES: dict[str, tuple[tuple[int, int], ...]] = {
    MachineKind.LUMBAR_EXTENSION: ((72, 150), (60, 190), (48, 220), (36, 240), (24, 250), (12, 240), (0, 230)),
    MachineKind.CERVICAL_EXTENSION: (
        (126, 20),
        (108, 26),
        (90, 32),
        (72, 38),
        (54, 42),
        (36, 44),
        (18, 42),
        (0, 40),
    ),
}


class StrengthTestFactory(DjangoModelFactory):
    """A test whose points are `curve` [(angle, N·m)], recorded in N·m; peak and index follow from it."""

    class Meta:
        model = StrengthTest

    patient = factory.SubFactory(PatientFactory)
    clinic = factory.SelfAttribute("patient.clinic")
    machine = factory.SubFactory(MachineFactory, clinic=factory.SelfAttribute("..clinic"))
    recorded_by = factory.SubFactory(UserFactory)
    region = factory.LazyAttribute(
        lambda t: Region.LUMBAR if t.machine.kind == MachineKind.LUMBAR_EXTENSION else Region.CERVICAL
    )
    performed_at = factory.LazyFunction(timezone.now)
    is_familiarization = False
    curve = factory.LazyAttribute(lambda t: DEFAULT_CURVES[t.machine.kind])
    rom_min_deg = factory.LazyAttribute(lambda t: min(angle for angle, _ in t.curve))
    rom_max_deg = factory.LazyAttribute(lambda t: max(angle for angle, _ in t.curve))
    peak_torque_nm = factory.LazyAttribute(lambda t: max(Decimal(torque) for _, torque in t.curve))
    strength_index_nm_deg = factory.LazyAttribute(
        lambda t: scoring.strength_index(t.curve).quantize(scoring.ONE_DECIMAL, ROUND_HALF_UP)
    )

    @classmethod
    def _build(cls, model_class, *args, curve, **kwargs):
        return super()._build(model_class, *args, **kwargs)

    @classmethod
    def _create(cls, model_class, *args, curve, **kwargs):
        test = super()._create(model_class, *args, **kwargs)
        StrengthTestPoint.objects.bulk_create(
            StrengthTestPoint(test=test, angle_deg=angle, torque=torque, unit=scoring.N_M, torque_nm=torque)
            for angle, torque in curve
        )
        return test


def _score(response) -> scoring.Score:
    if response.instrument == scoring.PAIN_NRS:
        return scoring.nrs_score(response.answers[0])
    scorer = scoring.odi_score if response.instrument == scoring.ODI else scoring.ndi_score
    return scorer(response.answers)


class QuestionnaireResponseFactory(DjangoModelFactory):
    """A response whose score, percent, band and count follow from `answers` (ten sections, or [rating])."""

    class Meta:
        model = QuestionnaireResponse

    class Params:
        result = factory.LazyAttribute(_score)

    patient = factory.SubFactory(PatientFactory)
    clinic = factory.SelfAttribute("patient.clinic")
    recorded_by = factory.SubFactory(UserFactory)
    instrument = scoring.ODI
    completed_at = factory.LazyFunction(timezone.now)
    answers = factory.LazyAttribute(lambda r: [4] if r.instrument == scoring.PAIN_NRS else [2] * 10)
    score = factory.LazyAttribute(lambda r: r.result.value)
    percent = factory.LazyAttribute(lambda r: r.result.percent)
    band = factory.LazyAttribute(lambda r: r.result.band or "")
    answered = factory.LazyAttribute(lambda r: r.result.answered)


# Programs and sessions.

MACHINE_KIND_OF_REGION = {Region.LUMBAR: MachineKind.LUMBAR_EXTENSION, Region.CERVICAL: MachineKind.CERVICAL_EXTENSION}


class ProgramFactory(DjangoModelFactory):
    """A draft program with the default prescription and a start load; start it with `program_start`."""

    class Meta:
        model = Program

    patient = factory.SubFactory(PatientFactory)
    clinic = factory.SelfAttribute("patient.clinic")
    region = Region.LUMBAR
    machine_kind = factory.LazyAttribute(lambda p: MACHINE_KIND_OF_REGION[p.region])
    load_unit = factory.LazyAttribute(lambda p: MACHINE_DEFAULTS[p.machine_kind]["load_unit"])
    status = ProgramStatus.DRAFT
    prescribed_by = factory.SubFactory(UserFactory)
    start_load = factory.LazyAttribute(lambda p: Decimal(100) if p.region == Region.LUMBAR else Decimal(300))


class TrainingSessionFactory(DjangoModelFactory):
    """A completed set at the program's current load, reps in range: rows only, no program recompute."""

    class Meta:
        model = TrainingSession

    program = factory.SubFactory(ProgramFactory)
    patient = factory.SelfAttribute("program.patient")
    clinic = factory.SelfAttribute("program.clinic")
    machine = factory.SubFactory(
        MachineFactory, clinic=factory.SelfAttribute("..clinic"), kind=factory.SelfAttribute("..program.machine_kind")
    )
    supervisor = factory.SubFactory(UserFactory)
    performed_at = factory.LazyFunction(timezone.now)
    status = SessionStatus.COMPLETED
    rom_min_deg = factory.SelfAttribute("machine.rom_min_deg")
    rom_max_deg = factory.SelfAttribute("machine.rom_max_deg")
    load = factory.LazyAttribute(lambda s: s.program.current_load or s.program.start_load)
    load_unit = factory.SelfAttribute("program.load_unit")
    reps = 10
    time_under_load_s = 90
    reached_failure = True
    pain_before = 2
    pain_after = 2
    proposed_load = factory.SelfAttribute("load")


# Long histories: the chart page's query-count test and bench/chart_page.py.

TWO_YEARS = dt.timedelta(days=730)


def long_history(*, program, machine, staff, sessions=200, tests=20, questionnaires=50, end=None) -> None:
    """About two years of a program's rows, spread evenly up to `end`, written in bulk.

    Rows only (no services, so no recomputed program): what they cost to read is what matters.
    The first test is familiarisation and each later one a little stronger; questionnaires
    alternate ODI and pain NRS; loads climb one increment every fourth session, as proposed.
    """
    end = end or timezone.now()
    step = TWO_YEARS / max(sessions, 1)
    TrainingSession.objects.bulk_create(
        TrainingSessionFactory.build(
            program=program,
            patient=program.patient,
            clinic=program.clinic,
            machine=machine,
            supervisor=staff,
            performed_at=end - step * (sessions - index),
            load=program.start_load + machine.load_increment * (index // 4),
            proposed_load=program.start_load + machine.load_increment * (index // 4),
            proposal_action="hold",
        )
        for index in range(sessions)
    )
    base = DEFAULT_CURVES[machine.kind]
    for index in range(tests):
        gain = 1 + index / 40
        StrengthTestFactory(
            patient=program.patient,
            machine=machine,
            recorded_by=staff,
            performed_at=end - TWO_YEARS + (TWO_YEARS / max(tests, 1)) * index,
            is_familiarization=index == 0,
            curve=tuple((angle, round(torque * gain)) for angle, torque in base),
        )
    QuestionnaireResponse.objects.bulk_create(
        QuestionnaireResponseFactory.build(
            patient=program.patient,
            recorded_by=staff,
            instrument=scoring.ODI if index % 2 == 0 else scoring.PAIN_NRS,
            answers=[max(0, 4 - index // 10)] * 10 if index % 2 == 0 else [max(0, 7 - index // 8)],
            completed_at=end - TWO_YEARS + (TWO_YEARS / max(questionnaires, 1)) * index,
        )
        for index in range(questionnaires)
    )


# Reminders.


class ReminderFactory(DjangoModelFactory):
    """A pending next-session reminder, due an hour ago, of an active program (rows only, no sweep)."""

    class Meta:
        model = Reminder

    program = factory.SubFactory(
        ProgramFactory,
        status=ProgramStatus.ACTIVE,
        next_due_at=factory.LazyFunction(lambda: timezone.now() - dt.timedelta(hours=1)),
    )
    patient = factory.SelfAttribute("program.patient")
    clinic = factory.SelfAttribute("program.clinic")
    kind = ReminderKind.SESSION_DUE
    due_at = factory.LazyAttribute(lambda r: r.program.next_due_at or timezone.now() - dt.timedelta(hours=1))
    scheduled_for = factory.SelfAttribute("due_at")
    state = ReminderState.PENDING


# Scheduling: clinic calendar settings.


class ClinicCalendarFactory(DjangoModelFactory):
    """A clinic's calendar with the default numbers and no opening hours (add them with OpeningHoursFactory)."""

    class Meta:
        model = ClinicCalendar

    clinic = factory.SubFactory(ClinicFactory)


class OpeningHoursFactory(DjangoModelFactory):
    class Meta:
        model = OpeningHours

    calendar = factory.SubFactory(ClinicCalendarFactory)
    weekday = 0
    opens_at = dt.time(8)
    closes_at = dt.time(18)


class ClosureFactory(DjangoModelFactory):
    class Meta:
        model = Closure

    calendar = factory.SubFactory(ClinicCalendarFactory)
    date = factory.Sequence(lambda n: dt.date(2030, 1, 1) + dt.timedelta(days=n))
    reason = "Holiday"
