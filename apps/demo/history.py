"""Each demo patient's clinical history, recorded through the clinical services.

Familiarisation and baseline tests, questionnaires, a program started from the baseline and weeks of
sessions, back-dated from the time of seeding so that today's board shows patients on track, due,
overdue and lapsed. Nothing bypasses a service: loads, proposals, flags and due dates are what the
real rules produce. A patient who already has a program or a test is left alone (so a re-run adds
and changes nothing), and so is a patient whose red-flag screen blocks testing.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model

from apps.assessments import services as assessment_services
from apps.assessments.models import Instrument, QuestionnaireResponse, StrengthTest
from apps.clinics.models import Clinic, Machine, Role
from apps.demo import measures
from apps.demo.seeding import ORGANIZATION_SLUG, STAFF, PatientSpec
from apps.demo.timeline import SCENARIOS, Plan, make_plan, scenario_name
from apps.patients.models import Patient
from apps.patients.selectors import training_blocked
from apps.programs import flags, maintenance, services
from apps.programs.models import Flag, FlagKind, Phase, Program, ProgramStatus, SessionStatus, TrainingSession
from apps.programs.sessions import session_record

HISTORY_SEED = 2026
# Sessions are entered at the machine, right after the set; a test or questionnaire before it.
ENTERED_AFTER = timedelta(minutes=20)
QUESTIONNAIRES_BEFORE = timedelta(minutes=15)
RETEST_BEFORE = timedelta(minutes=40)
REVIEWED_BEFORE = timedelta(minutes=5)
RAPID_RISE_REVIEW = "Reviewed: sets to failure in range, no pain rise; the progression stands."
OVERRIDE_REASONS = (
    "Long shift at work yesterday: patient asked to stay a step lower.",
    "Stiff after a long drive: one step lower today.",
    "Form broke down last set: consolidate before adding load.",
)
DISCHARGE_REASONS = {
    ProgramStatus.COMPLETED: "Completed the planned weeks; home exercise program given.",
    ProgramStatus.DISCHARGED: "Goals met: discharged to a home exercise program.",
}
MAINTENANCE_REASON = "Completed the planned weeks: one session every 2 weeks keeps the strength."
RED_FLAG_NOTE = "New numbness in the left leg and saddle area during the set: stopped, sent for physician review."


@dataclass(frozen=True)
class Cast:
    """Who acts at one clinic, and its machine of each kind."""

    physician: Any
    therapist: Any
    supervisors: tuple[Any, ...]  # clinicians who supervise sessions
    desk: Any  # enters questionnaires
    machines: dict[str, Machine]


def clinic_casts(clinics: dict[str, Clinic]) -> dict[str, Cast]:
    # One user object per person for the whole run: the gate remembers its roles on it.
    users = get_user_model()._default_manager.in_bulk([spec.username for spec in STAFF], field_name="username")
    by_role = {(spec.clinic_code, spec.role): users[spec.username] for spec in STAFF if spec.clinic_code}
    return {code: _cast(code, clinic, by_role) for code, clinic in clinics.items()}


def _cast(code: str, clinic: Clinic, by_role: dict[tuple[str, str], Any]) -> Cast:
    therapist = by_role[(code, Role.PHYSICAL_THERAPIST)]
    physiologist = by_role.get((code, Role.EXERCISE_PHYSIOLOGIST))
    kinds = services.REGION_MACHINE_KIND.values()
    return Cast(
        physician=by_role[(code, Role.PHYSICIAN)],
        therapist=therapist,
        supervisors=(therapist, physiologist) if physiologist else (therapist,),
        desk=by_role.get((code, Role.FRONT_DESK), therapist),
        machines={kind: services.reference_machine(clinic, kind) for kind in kinds},
    )


def seed_history(patients: Iterable[tuple[PatientSpec, Patient]], clinics: dict[str, Clinic], now: datetime) -> int:
    """Histories for the patients who have none; returns how many were made."""
    patients = list(patients)
    casts = clinic_casts(clinics)
    done = _patients_with_history([patient for _, patient in patients])
    programs = [
        PatientHistory(spec, patient, casts[spec.clinic_code], now).record()
        for spec, patient in patients
        if patient.pk not in done and not training_blocked(patient=patient)
    ]
    # The attendance job, as it would have run by now: overdue and lapsed flags, lapsed status.
    for program in programs:
        services.program_refresh(program=program, now=now)
    return len(programs)


def _patients_with_history(patients: list[Patient]) -> set[Any]:
    with_program = Program.objects.filter(patient__in=patients).values_list("patient_id", flat=True)
    with_test = StrengthTest.objects.filter(patient__in=patients).values_list("patient_id", flat=True)
    return {*with_program, *with_test}


class PatientHistory:
    """One patient's replay: a plan of visits, and a body that answers them plausibly."""

    program: Program  # from `start_program` on

    def __init__(self, spec: PatientSpec, patient: Patient, cast: Cast, now: datetime) -> None:
        self.rng = random.Random(f"{HISTORY_SEED}:{spec.mrn}")  # noqa: S311 -- demo data, not a secret
        self.patient, self.region, self.cast, self.now = patient, spec.region, cast, now
        self.scenario = SCENARIOS[scenario_name(spec.clinic_code, spec.mrn)]
        self.plan: Plan = make_plan(self.rng, self.scenario, patient.clinic.tzinfo, now)
        self.machine = cast.machines[services.REGION_MACHINE_KIND[spec.region]]
        self.rom = measures.partial_rom(self.rng, spec.region)
        self.curve = measures.strength_curve(self.rng, spec.region, patient.sex)
        self.disability = measures.disability(self.rng, spec.region)
        self.pain = measures.pain_course(self.rng)
        self.weekly_gain = self.rng.uniform(0.015, 0.03)
        self.capacity = 0.0  # the load at which the patient reaches failure at 12 reps, at baseline
        self.last_pain_before: int | None = None

    def record(self) -> Program:
        plan = self.plan
        self.test(plan.familiarisation_at, self.rng.uniform(0.82, 0.92))
        self.start_program()
        retest_at, questionnaires_at = plan.retest_index(), plan.questionnaire_indexes()
        for index, at in enumerate(plan.sessions):
            if index == plan.maintenance_from:
                self.maintain(plan.maintained_at)
            if index in questionnaires_at:
                self.questionnaires(at - QUESTIONNAIRES_BEFORE)
            if index == retest_at:
                self.test(at - RETEST_BEFORE, self.strength_factor(at))
            self.train(index, at)
        if plan.discharge_at:
            self.discharge(plan.discharge_at)
        return self.program

    # Assessments

    def strength_factor(self, at: datetime) -> float:
        """Strength against baseline: the weekly gain of training, and a little day-to-day spread."""
        return (1 + self.weekly_gain) ** self.plan.week_of(at) * self.rng.uniform(0.98, 1.06)

    def test(self, at: datetime, factor: float) -> StrengthTest:
        before = round(self.pain.level(self.plan.week_of(at)))
        return assessment_services.strength_test_record(
            actor=self.cast.therapist,
            patient=self.patient,
            machine=self.machine,
            performed_at=at,
            rom_min_deg=self.rom[0],
            rom_max_deg=self.rom[1],
            points=measures.test_points(self.rng, self.curve, self.machine.test_angles, self.rom, factor),
            pain_before=before,
            pain_after=before + self.rng.choice((0, 0, 1)),
        )

    def questionnaires(self, at: datetime) -> None:
        week = self.plan.week_of(at)
        instrument = self.disability.instrument
        answers = measures.section_answers(self.rng, instrument, self.disability.at_week(self.rng, week))
        self._questionnaire(instrument, answers, at)
        self._questionnaire(Instrument.PAIN_NRS, round(self.pain.level(week)), at + timedelta(minutes=2))

    def _questionnaire(self, instrument: str, answers: Any, at: datetime) -> None:
        assessment_services.questionnaire_record(
            actor=self.cast.desk, patient=self.patient, instrument=instrument, answers=answers, completed_at=at
        )

    # The program

    def start_program(self) -> None:
        at, plan = self.plan.baseline_at, self.plan
        self.questionnaires(at - QUESTIONNAIRES_BEFORE)
        baseline = self.test(at, 1.0)
        prescriber = self.rng.choice((self.cast.physician, self.cast.therapist))
        planned = plan.weeks if self.scenario.ending else max(self.rng.choice((8, 10, 10, 12)), plan.weeks + 1)
        self.program = services.program_create(
            actor=prescriber,
            patient=self.patient,
            region=self.region,
            baseline_test=baseline,
            sessions_per_week=plan.frequency,
            planned_weeks=min(planned, 12),
        )
        services.program_start(actor=prescriber, program=self.program, now=at + timedelta(minutes=30))
        # Starting at 50 % of the isometric peak is conservative: the first sets go past 12 reps.
        self.capacity = float(self.program.start_load) * self.rng.uniform(1.03, 1.10)

    def train(self, index: int, at: datetime) -> TrainingSession:
        week, flare = self.plan.week_of(at), index == self.plan.flare_at
        load, override_reason = self.load(index, flare)
        capacity = self.capacity * (1 + self.weekly_gain) ** week
        reps = measures.reps_to_failure(self.rng, capacity, float(load))
        # Now and then a set is ended before failure, at the top of the rep range: the rules hold.
        failure = self.rng.random() < 0.95
        reps = reps if failure else min(reps, self.program.rep_max)
        before = measures.pain_before(self.rng, self.pain, week, self.last_pain_before)
        before = min(before, 4) if flare else before
        self.last_pain_before = before
        outcome = {
            "reps": reps,
            "time_under_load_s": measures.time_under_load(self.rng, reps),
            "reached_failure": failure,
            "pain_before": before,
            "pain_after": measures.pain_after(self.rng, before, flare),
        }
        if index == self.plan.red_flag_at:
            outcome |= self.red_flag_outcome(before)
        supervisor = self.rng.choice(self.cast.supervisors)
        self.review_rapid_rise(supervisor, at - REVIEWED_BEFORE)
        return session_record(
            actor=supervisor,
            program=self.program,
            machine=self.machine,
            performed_at=at,
            load=load,
            rom_min_deg=self.rom[0],
            rom_max_deg=self.rom[1],
            override_reason=override_reason,
            now=min(at + ENTERED_AFTER, self.now),
            **outcome,
        )

    def load(self, index: int, flare: bool) -> tuple[Decimal, str]:
        """The proposal, as a clinician mostly accepts it; now and then a step or two lower, with a reason."""
        proposed = self.program.proposed_load
        if index < 2 or flare or self.rng.random() >= 0.05:
            return proposed, ""
        lower = proposed - self.rng.randint(1, 2) * self.machine.load_increment
        return max(lower, self.machine.load_increment), self.rng.choice(OVERRIDE_REASONS)

    def review_rapid_rise(self, clinician: Any, at: datetime) -> None:
        """A rapid-rise flag is reviewed at the next visit; one raised by the latest session stays open."""
        flag = Flag.objects.filter(program=self.program, kind=FlagKind.RAPID_RISE).open().first()
        if flag is not None:
            flags.flag_resolve(actor=clinician, flag=flag, resolution=RAPID_RISE_REVIEW, now=at)

    def red_flag_outcome(self, before: int) -> dict[str, Any]:
        reps = self.rng.randint(3, 5)
        return {
            "status": SessionStatus.STOPPED_EARLY,
            "reps": reps,
            "time_under_load_s": measures.time_under_load(self.rng, reps),
            "reached_failure": False,
            "pain_after": min(before + 1, 6),
            "red_flag_reported": True,
            "adverse_event": True,
            "adverse_event_note": RED_FLAG_NOTE,
        }

    def maintain(self, at: datetime) -> None:
        """The training phase's discharge measures, then maintenance at the default interval."""
        self.questionnaires(at - QUESTIONNAIRES_BEFORE)
        self.test(at, self.strength_factor(at))
        maintenance.program_maintain(
            actor=self.cast.physician, program=self.program, reason=MAINTENANCE_REASON, now=at + timedelta(minutes=30)
        )

    def discharge(self, at: datetime) -> None:
        self.questionnaires(at - QUESTIONNAIRES_BEFORE)
        self.test(at, self.strength_factor(at))
        status = self.scenario.ending
        services.program_transition(
            actor=self.cast.physician,
            program=self.program,
            status=status,
            reason=DISCHARGE_REASONS[status],
            now=at + timedelta(minutes=30),
        )


# Counting


def history_counts() -> dict[str, int]:
    in_demo = {"patient__organization__slug": ORGANIZATION_SLUG}
    return {
        "strength tests": StrengthTest.objects.filter(**in_demo).count(),
        "questionnaires": QuestionnaireResponse.objects.filter(**in_demo).count(),
        "programs": Program.objects.filter(**in_demo).count(),
        "training sessions": TrainingSession.objects.filter(**in_demo).count(),
    }


def history_summary() -> str:
    """Programs by status and attendance, and open flags by kind."""
    in_demo = {"patient__organization__slug": ORGANIZATION_SLUG}
    programs = Program.objects.filter(**in_demo)
    statuses = Counter(programs.values_list("status", flat=True))
    statuses["in maintenance"] = programs.filter(phase=Phase.MAINTENANCE).count()
    attendance = Counter(programs.open().values_list("attendance", flat=True))
    open_flags = Counter(Flag.objects.filter(**in_demo).open().values_list("kind", flat=True))
    return "; ".join(
        [
            f"programs {_counted(statuses)}",
            f"attendance of open programs {_counted(attendance)}",
            f"open flags {_counted(open_flags) or 'none'}",
        ]
    )


def _counted(counts: Counter[str]) -> str:
    return ", ".join(f"{count} {name.replace('_', ' ')}" for name, count in sorted(counts.items()))
