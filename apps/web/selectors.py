"""Reads of the staff UI's lists: the today board and the patient list.

Both narrow through the gate (`for_user`, `patient_list`) before anything else, read a bounded
number of rows with a fixed number of queries (sections are capped; counts come from aggregates),
and leave the audit of what is shown to the view that shows it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery

from apps.clinics.localtime import localise
from apps.clinics.models import Clinic
from apps.outcomes import progress
from apps.patients.models import Patient, RedFlagScreen
from apps.patients.selectors import patient_list
from apps.programs.models import Flag, FlagKind, Phase, Program, ProgramStatus, SessionStatus, TrainingSession
from apps.scheduling.models import LIVE_STATES, Appointment, AppointmentState
from apps.web.templatetags.web import every_weeks

BOARD_ROWS = 50  # rows listed per board section; the count at the top says how many there are
FLAG_ROWS = 3 * BOARD_ROWS  # one query lists the open flags of the three kinds the board shows
# One query lists the day's appointments by start; the three sections split it. Late arrivals and
# no-shows have started, so they come first: the cap only ever cuts the day's later bookings.
APPOINTMENT_ROWS = 4 * BOARD_ROWS


@dataclass(frozen=True)
class BoardRow:
    patient: Patient
    when: datetime | None
    detail: str
    when_label: str  # what `when` is: "due", "last session", "since"…
    tag: str = ""  # a word shown beside the detail: "maintenance" where a section mixes phases


@dataclass(frozen=True)
class BoardSection:
    key: str
    title: str
    count: int
    rows: list[BoardRow]
    empty: str

    @property
    def more(self) -> int:
        return max(self.count - len(self.rows), 0)


def local_day(clinic: Clinic, now: datetime) -> tuple[datetime, datetime]:
    """Start of today and of tomorrow on the clinic's wall clock, as aware datetimes."""
    today = now.astimezone(clinic.tzinfo).date()
    start = localise(datetime.combine(today, time(0)), clinic.tzinfo)
    return start, localise(datetime.combine(today + timedelta(days=1), time(0)), clinic.tzinfo)


def _program_filters(now: datetime, tomorrow: datetime) -> dict[str, Q]:
    # Thresholds are compared with `now` rather than read from `attendance`, so the board is right
    # even in the minutes before the periodic attendance job catches up. In maintenance the due time
    # is the next maintenance session, and overdue and lapse count from it (DOMAIN.md "Maintenance").
    active = Q(status=ProgramStatus.ACTIVE)
    due = active & Q(next_due_at__lt=tomorrow, overdue_at__gt=now)
    return {
        "due": due & Q(phase=Phase.TRAINING),
        "maintenance_due": due & Q(phase=Phase.MAINTENANCE),
        # Due today or before, with no live appointment still to come (DOMAIN.md "Appointments").
        "unbooked": active
        & Q(next_due_at__lt=tomorrow)
        & ~Exists(Appointment.objects.filter(program=OuterRef("pk"), state__in=LIVE_STATES, ends_at__gt=now)),
        "overdue": active & Q(overdue_at__lte=now, lapse_at__gt=now),
        "lapsed": Q(status=ProgramStatus.LAPSED) | (active & Q(lapse_at__lte=now)),
        "questionnaires": active & Q(questionnaire_due_at__lt=tomorrow),
        "retests": active & Q(retest_due_at__lt=tomorrow),
    }


PROGRAM_SECTIONS = {  # key: (title, order, text when empty)
    "due": ("Sessions due today", "next_due_at", "Nobody is due today."),
    "maintenance_due": ("Maintenance due", "next_due_at", "No maintenance session is due."),
    "unbooked": ("Due, not booked", "next_due_at", "Everyone due has an appointment."),
    # Each threshold is an instant (DOMAIN.md "Scheduling"): overdue from 7 days on the dot.
    "overdue": ("Overdue (7 days or more)", "overdue_at", "Nobody is overdue."),
    "lapsed": ("Lapsed (14 days or more)", "-lapse_at", "No lapsed programs."),
    "questionnaires": ("Questionnaires due", "questionnaire_due_at", "None due."),
    "retests": ("Strength retests due", "retest_due_at", "None due."),
}
FLAG_SECTIONS = {  # key: (flag kind, title, text when empty)
    "pain_flares": (FlagKind.PAIN_FLARE, "Open pain flares", "No open pain flares."),
    "red_flags": (FlagKind.RED_FLAG, "Red flags", "No red flags."),
    "load_reviews": (FlagKind.RAPID_RISE, "Load rises to review", "No load rises to review."),
}


def _clinic_programs(user: Any, clinic: Clinic) -> QuerySet[Program]:
    programs = Program.objects.for_user(user).filter(clinic=clinic, patient__deleted_at__isnull=True)
    return programs.filter(status__in=[ProgramStatus.ACTIVE, ProgramStatus.LAPSED])


def _program_row(key: str, program: Program) -> BoardRow:
    region = program.get_region_display()
    if key == "due":
        session = f"{region}: session {program.completed_sessions + 1}"
        return BoardRow(program.patient, program.next_due_at, session, "due")
    if key == "maintenance_due":
        session = f"{region}: maintenance, one session {every_weeks(program.maintenance_interval_weeks)}"
        return BoardRow(program.patient, program.next_due_at, session, "due")
    tag = "maintenance" if program.phase == Phase.MAINTENANCE else ""
    if key == "unbooked":
        return BoardRow(program.patient, program.next_due_at, f"{region}: no appointment booked", "due")
    if key in ("overdue", "lapsed"):
        if program.last_completed_at is None:
            return BoardRow(program.patient, program.started_at, region, "started, no session since", tag)
        return BoardRow(program.patient, program.last_completed_at, region, "last session", tag)
    due = program.questionnaire_due_at if key == "questionnaires" else program.retest_due_at
    return BoardRow(program.patient, due, region, "due", tag)


def _program_sections(user: Any, clinic: Clinic, now: datetime, tomorrow: datetime) -> list[BoardSection]:
    programs = _clinic_programs(user, clinic).select_related("patient")
    filters = _program_filters(now, tomorrow)
    counts = programs.aggregate(**{key: Count("pk", filter=query) for key, query in filters.items()})
    sections = []
    for key, (title, order, empty) in PROGRAM_SECTIONS.items():
        listed = programs.filter(filters[key]).order_by(order, "pk")[:BOARD_ROWS]
        rows = [_program_row(key, program) for program in listed]
        sections.append(BoardSection(key, title, counts[key], rows, empty))
    return sections


REPORTS_TITLE, REPORTS_EMPTY = "Progress reports due", "No progress report is due."


def _report_row(program: Program, now: datetime, tz: Any) -> BoardRow:
    due = progress.annotated_due(program, now=now, tz=tz)
    reason = progress.due_text(due, first=program.report_at is None) if due is not None else ""
    detail = f"{program.get_region_display()}: {reason}"
    if program.report_at is None:
        return BoardRow(program.patient, program.started_at, detail, "started")
    return BoardRow(program.patient, program.report_at, detail, "last report")


def _report_section(user: Any, clinic: Clinic, now: datetime) -> BoardSection:
    """Programs owing their referring physician a progress report: one query, the count in each row."""
    programs = Program.objects.for_user(user).filter(clinic=clinic, patient__deleted_at__isnull=True)
    due = progress.programs_due_report(programs.select_related("patient"), now=now, tz=clinic.tzinfo)
    listed = list(due.order_by("started_at", "pk")[:BOARD_ROWS])
    rows = [_report_row(program, now, clinic.tzinfo) for program in listed]
    return BoardSection("reports", REPORTS_TITLE, listed[0].due_total if listed else 0, rows, REPORTS_EMPTY)


def _clinic_flags(user: Any, clinic: Clinic) -> QuerySet[Flag]:
    kinds = [kind for kind, _, _ in FLAG_SECTIONS.values()]
    flags = Flag.objects.for_user(user).open().filter(kind__in=kinds, patient__deleted_at__isnull=True)
    # A flag raised in a program belongs to the clinic where the patient trains.
    return flags.filter(Q(program__clinic=clinic) | Q(program__isnull=True, patient__clinic=clinic))


def _screens_awaiting_review(user: Any, clinic: Clinic) -> QuerySet[RedFlagScreen]:
    screens = RedFlagScreen.objects.for_user(user).awaiting_review()
    return screens.filter(patient__clinic=clinic, patient__deleted_at__isnull=True)


SCREEN_WAITING = "Red-flag screen positive: awaiting physician review"


def _flag_rows(flags: list[Flag], kind: str) -> list[BoardRow]:
    return [BoardRow(flag.patient, flag.opened_at, flag.reason, "since") for flag in flags if flag.kind == kind]


def _screen_rows(screens: QuerySet[RedFlagScreen]) -> list[BoardRow]:
    waiting = screens.select_related("patient").order_by("screened_at", "pk")[:BOARD_ROWS]
    return [BoardRow(screen.patient, screen.screened_at, SCREEN_WAITING, "screened") for screen in waiting]


def _flag_sections(user: Any, clinic: Clinic) -> list[BoardSection]:
    flags = _clinic_flags(user, clinic)
    counts = flags.aggregate(**{key: Count("pk", filter=Q(kind=kind)) for key, (kind, _, _) in FLAG_SECTIONS.items()})
    listed = list(flags.select_related("patient").order_by("-opened_at", "pk")[:FLAG_ROWS])
    sections = []
    for key, (kind, title, empty) in FLAG_SECTIONS.items():
        rows, count = _flag_rows(listed, kind), counts[key]
        if kind == FlagKind.RED_FLAG:  # a positive screen blocks training as a reported red flag does
            screens = _screens_awaiting_review(user, clinic)
            rows, count = _screen_rows(screens) + rows, count + screens.count()
        sections.append(BoardSection(key, title, count, rows[:BOARD_ROWS], empty))
    return sections


APPOINTMENT_SECTIONS = {  # key: (title, text when empty)
    "appointments": ("Today's appointments", "Nothing booked today."),
    "late": ("Late arrivals", "Nobody is late."),
    "no_shows": ("No-shows today", "No no-shows today."),
}


def _appointment_filters(now: datetime) -> dict[str, Q]:
    """Which of today's appointments each section counts (`_shown_in` says the same of a row)."""
    return {
        "appointments": ~Q(state=AppointmentState.CANCELLED),
        # Booked, the start passed, not checked in: the no-show job has not marked them yet.
        "late": Q(state=AppointmentState.BOOKED, starts_at__lte=now),
        "no_shows": Q(state=AppointmentState.NO_SHOW),
    }


def _shown_in(key: str, appointment: Appointment, now: datetime) -> bool:
    if key == "late":
        return appointment.state == AppointmentState.BOOKED and appointment.starts_at <= now
    if key == "no_shows":
        return appointment.state == AppointmentState.NO_SHOW
    return appointment.state != AppointmentState.CANCELLED


def _appointment_row(appointment: Appointment) -> BoardRow:
    detail = f"{appointment.machine.name} · {appointment.get_state_display()}"
    return BoardRow(appointment.patient, appointment.starts_at, detail, "at")


def _appointment_sections(user: Any, clinic: Clinic, now: datetime) -> list[BoardSection]:
    start, tomorrow = local_day(clinic, now)
    today = Appointment.objects.for_user(user).filter(
        clinic=clinic, starts_at__gte=start, starts_at__lt=tomorrow, patient__deleted_at__isnull=True
    )
    counts = today.aggregate(**{key: Count("pk", filter=query) for key, query in _appointment_filters(now).items()})
    listed = list(today.select_related("patient", "machine").order_by("starts_at", "pk")[:APPOINTMENT_ROWS])
    sections = []
    for key, (title, empty) in APPOINTMENT_SECTIONS.items():
        rows = [_appointment_row(a) for a in listed if _shown_in(key, a, now)][:BOARD_ROWS]
        sections.append(BoardSection(key, title, counts[key], rows, empty))
    return sections


def board(*, user: Any, clinic: Clinic, now: datetime) -> list[BoardSection]:
    """One clinic's today board: the day's appointments, who is due (either phase) and whether booked,
    overdue, lapsed, due an assessment or a progress report, or flagged."""
    _, tomorrow = local_day(clinic, now)
    return (
        _appointment_sections(user, clinic, now)
        + _program_sections(user, clinic, now, tomorrow)
        + [_report_section(user, clinic, now)]
        + _flag_sections(user, clinic)
    )


def patients_shown(sections: list[BoardSection]) -> list[Patient]:
    """Each patient named on the board once: what the audit records as read."""
    unique = {row.patient.pk: row.patient for section in sections for row in section.rows}
    return list(unique.values())


# --- Patient list --------------------------------------------------------------------------------


def patient_rows(*, user: Any, search: str = "", clinic: Clinic | None = None) -> QuerySet[Patient]:
    """The patient list with status and phase, last completed session and next due; one query per page.

    `clinic` narrows to one home clinic (the board's); without it, every clinic the user sees.
    """
    patients = patient_list(user=user, search=search)
    if clinic is not None:
        patients = patients.filter(clinic=clinic)
    completed = TrainingSession.objects.filter(patient=OuterRef("pk"), status=SessionStatus.COMPLETED)
    # Of two open programs (low back and neck), the one due first speaks for the patient.
    program = Program.objects.filter(patient=OuterRef("pk")).open().order_by("next_due_at", "pk")
    return patients.annotate(
        last_session_at=Subquery(completed.order_by("-performed_at").values("performed_at")[:1]),
        next_due_at=Subquery(program.values("next_due_at")[:1]),
        program_status=Subquery(program.values("status")[:1]),
        program_phase=Subquery(program.values("phase")[:1]),
        program_attendance=Subquery(program.values("attendance")[:1]),
    ).order_by("family_name", "given_name", "pk")
