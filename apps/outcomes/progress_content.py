"""The figures of a progress report, read from one program's records: the snapshot a report signs.

`report_content(program=..., now=..., period_start=...)` returns plain JSON values only (text,
whole numbers, booleans, None, lists and dicts): numbers as they are shown ("189.5"), dates as the
clinic's local ISO dates. The same dict renders the live preview and the signed report, so the page,
the PDF and the stored snapshot cannot disagree. Strength, scores, adherence and dropout come from the
outcome rules (`rules.program_outcome` over `facts.program_record`), the clinically important change
from `scoring.improvement`: the report and the outcome facts read the records the same way.

Queries: the program record's three, then sessions, flags and appointments: one each.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Count, Q

from apps.assessments import scoring
from apps.assessments.models import Instrument
from apps.clinics.models import LoadUnit
from apps.outcomes import facts, rules
from apps.outcomes.models import OUTCOME_CHOICES
from apps.patients.models import Patient
from apps.programs.models import Flag, Phase, Program, SessionStatus, TrainingSession
from apps.scheduling.models import Appointment, AppointmentState

CONTENT_VERSION = 1
ONE_DECIMAL = Decimal("0.1")
SCORE_LABELS = {
    scoring.ODI: "Oswestry Disability Index (ODI, %)",
    scoring.NDI: "Neck Disability Index (NDI, 0-50)",
    scoring.PAIN_NRS: "Pain NRS (0-10)",
}


def shown(value: Decimal | int | None, places: Decimal = ONE_DECIMAL) -> str | None:
    """A figure as the report prints it: one decimal by default, None stays None."""
    if value is None:
        return None
    return format(Decimal(value).quantize(places, ROUND_HALF_UP), "f")


def local_day(moment: datetime | None, tz: ZoneInfo) -> str | None:
    return None if moment is None else moment.astimezone(tz).date().isoformat()


# --- Who and what --------------------------------------------------------------------------------


def _patient(patient: Patient, now: datetime, tz: ZoneInfo) -> dict[str, Any]:
    return {
        "name": f"{patient.family_name}, {patient.given_name}",
        "mrn": patient.mrn,
        "birth_date": patient.birth_date.isoformat(),
        "age": patient.age_on(now.astimezone(tz).date()),
        "sex": patient.get_sex_display(),
    }


def _clinic(program: Program) -> dict[str, Any]:
    clinic = program.clinic
    address = ", ".join(part for part in (clinic.address_line, clinic.postal_code, clinic.city) if part)
    return {"name": clinic.name, "address": address, "phone": clinic.phone, "timezone": clinic.timezone}


def _plan(program: Program, tz: ZoneInfo) -> dict[str, Any]:
    running = program.status in ("active", "on_hold", "lapsed")
    return {
        "region": program.get_region_display(),
        "status": program.get_status_display(),
        "phase": program.get_phase_display(),
        "started_on": local_day(program.started_at, tz),
        "ended_on": local_day(program.ended_at, tz),
        "sessions_per_week": program.sessions_per_week,
        "planned_weeks": program.planned_weeks,
        "rep_range": f"{program.rep_min}-{program.rep_max}",
        "tul_window": f"{program.tul_min_s}-{program.tul_max_s} s",
        "maintenance_every_weeks": program.maintenance_interval_weeks if program.phase == Phase.MAINTENANCE else None,
        "load_unit": program.get_load_unit_display(),
        "current_load": shown(program.current_load),
        "proposed_load": shown(program.proposed_load) if running else None,
        "proposal_reason": program.proposal_reason if running else "",
        "next_due_on": local_day(program.next_due_at, tz) if program.status == "active" else None,
        "retest_due_on": local_day(program.retest_due_at, tz) if program.status == "active" else None,
        "status_note": program.status_reason,
    }


# --- Strength ------------------------------------------------------------------------------------


def _in_unit(torque_nm: Decimal, unit: str) -> str | None:
    return shown(scoring.from_newton_metres(torque_nm, unit))


def _angle_rows(baseline: rules.Test, latest: rules.Test | None, unit: str) -> list[dict[str, Any]]:
    if latest is None:
        points = sorted(((Decimal(a), Decimal(nm)) for a, nm in baseline.points), reverse=True)
        return [{"angle": int(a), "before_nm": shown(nm), "before_unit": _in_unit(nm, unit)} for a, nm in points]
    compared = scoring.compare_tests(baseline.points, latest.points)
    return [
        {
            "angle": int(change.angle_deg),
            "before_nm": shown(change.before),
            "before_unit": _in_unit(change.before, unit),
            "after_nm": shown(change.after),
            "after_unit": _in_unit(change.after, unit),
            "change_pct": shown(change.change_pct),
        }
        for change in sorted(compared.angles, key=lambda change: change.angle_deg, reverse=True)
    ]


def _strength(record: rules.ProgramRecord, outcome: rules.Outcome, unit: str, tz: ZoneInfo) -> dict[str, Any] | None:
    if record.baseline is None:
        return None
    latest = record.retests[-1] if record.retests else None
    return {
        "unit": LoadUnit(unit).label,
        "baseline_on": local_day(record.baseline.performed_at, tz),
        "latest_on": None if latest is None else local_day(latest.performed_at, tz),
        "angles": _angle_rows(record.baseline, latest, unit),
        "index_before": shown(outcome.strength_baseline),
        "index_after": shown(outcome.strength_latest),
        "index_change_pct": shown(outcome.strength_change_pct),
    }


# --- Scores --------------------------------------------------------------------------------------


def _threshold(instrument: str) -> str:
    points, percent = scoring.MCID[instrument]
    unit = " raw points" if instrument == scoring.NDI else " points"
    return f"≥ {scoring.fmt(points)}{unit}" + (f" or ≥ {scoring.fmt(percent)} % of baseline" if percent else "")


def _score(instrument: str, responses: Sequence[rules.Response], tz: ZoneInfo) -> dict[str, Any] | None:
    if not responses:
        return None
    first, last = responses[0], responses[-1]
    row = {
        "instrument": instrument,
        "label": SCORE_LABELS[instrument],
        "threshold": _threshold(instrument),
        "baseline": shown(first.score),
        "baseline_on": local_day(first.completed_at, tz),
        "latest": None,
        "latest_on": None,
        "change": None,
        "change_pct": None,
        "important": None,
    }
    if len(responses) > 1:
        found = scoring.improvement(instrument, first.score, last.score)
        row |= {
            "latest": shown(last.score),
            "latest_on": local_day(last.completed_at, tz),
            "change": shown(found.change),
            "change_pct": shown(found.relative_pct),
            "important": found.important,
        }
    return row


# --- Attendance, loads, flags --------------------------------------------------------------------


def _appointments(program: Program) -> dict[str, int]:
    states = (AppointmentState.NO_SHOW, AppointmentState.CANCELLED)
    counted = {state.value: Count("pk", filter=Q(state=state)) for state in states}
    return Appointment.objects.filter(program=program).aggregate(**counted)


def _attendance(program: Program, outcome: rules.Outcome, sessions: list[dict[str, Any]], tz: ZoneInfo) -> dict:
    completed = [row for row in sessions if row["status"] == SessionStatus.COMPLETED]
    booked = _appointments(program)
    return {
        "sessions_completed": outcome.sessions_completed,
        "sessions_stopped_early": sum(row["status"] == SessionStatus.STOPPED_EARLY for row in sessions),
        "sessions_prescribed": outcome.sessions_prescribed,
        "adherence_pct": shown(outcome.adherence_pct),
        "weeks_in_program": shown(outcome.weeks_in_program),
        "sessions_per_week_done": shown(outcome.sessions_per_week_done, Decimal("0.01")),
        "last_session_on": local_day(completed[-1]["performed_at"], tz) if completed else None,
        "no_shows": booked[AppointmentState.NO_SHOW],
        "cancellations": booked[AppointmentState.CANCELLED],
        "outcome": dict(OUTCOME_CHOICES)[outcome.outcome_status],
    }


def _sessions(program: Program) -> list[dict[str, Any]]:
    fields = ("performed_at", "status", "phase", "load", "reps", "time_under_load_s", "pain_before", "pain_after")
    return list(TrainingSession.objects.filter(program=program).order_by("performed_at", "created_at").values(*fields))


def _load_weeks(program: Program, sessions: list[dict[str, Any]], tz: ZoneInfo) -> list[dict[str, Any]]:
    """One line per program week that had a session: its loads and reps in order (compact, yet every set)."""
    weeks: dict[int, list[dict[str, Any]]] = {}
    for row in sessions:
        week = int(rules.weeks_between(program.started_at, row["performed_at"])) + 1
        weeks.setdefault(week, []).append(row)
    return [
        {
            "week": week,
            "from_on": local_day(rows[0]["performed_at"], tz),
            "sessions": len(rows),
            "loads": " · ".join(shown(row["load"]) + ("*" if row["status"] != "completed" else "") for row in rows),
            "reps": " · ".join(str(row["reps"]) for row in rows),
            "pain": " · ".join(f"{row['pain_before']}→{row['pain_after']}" for row in rows),
            "maintenance": any(row["phase"] == Phase.MAINTENANCE for row in rows),
        }
        for week, rows in sorted(weeks.items())
    ]


def _flags(program: Program, tz: ZoneInfo) -> list[dict[str, Any]]:
    during = Q(program=program) | Q(program__isnull=True, opened_at__gte=program.started_at)
    flags = Flag.objects.filter(patient_id=program.patient_id).filter(during).order_by("opened_at", "pk")
    return [
        {
            "kind": flag.get_kind_display(),
            "reason": flag.reason,
            "opened_on": local_day(flag.opened_at, tz),
            "resolved_on": local_day(flag.resolved_at, tz),
            "resolution": flag.resolution,
        }
        for flag in flags
    ]


# --- The report ----------------------------------------------------------------------------------


def report_content(*, program: Program, now: datetime, period_start: datetime) -> dict[str, Any]:
    """Every figure of the program's progress report as of `now` (the program and its patient loaded)."""
    tz, patient = program.clinic.tzinfo, program.patient
    record = facts.program_record(program, patient)
    outcome = rules.program_outcome(record, now)
    sessions = _sessions(program)
    instrument = rules.PRIMARY_PROM[program.region]
    scores = [_score(instrument, record.prom, tz), _score(scoring.PAIN_NRS, record.nrs, tz)]
    return {
        "version": CONTENT_VERSION,
        "as_of": now.astimezone(tz).isoformat(timespec="minutes"),
        "period": {"start": local_day(period_start, tz), "end": local_day(now, tz)},
        "patient": _patient(patient, now, tz),
        "clinic": _clinic(program),
        "plan": _plan(program, tz),
        "strength": _strength(record, outcome, program.load_unit, tz),
        "primary_instrument": Instrument(instrument).label,
        "scores": [score for score in scores if score is not None],
        "attendance": _attendance(program, outcome, sessions, tz),
        "loads": _load_weeks(program, sessions, tz),
        "flags": _flags(program, tz),
    }
