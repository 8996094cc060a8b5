"""A program row's computed times: attendance thresholds and what falls due, in training and in maintenance.

These set fields on the row and save nothing: the services that call them lock, save and audit.
The arithmetic is in `schedule.py`; this module decides which instants a row's state feeds it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from apps.assessments import selectors as assessment_selectors
from apps.assessments.models import Instrument
from apps.patients.models import Region
from apps.programs import schedule
from apps.programs.models import Phase, Program

REGION_INSTRUMENT = {Region.LUMBAR: Instrument.ODI, Region.CERVICAL: Instrument.NDI}
THRESHOLD_FIELDS = {schedule.OVERDUE: "overdue_at", schedule.LAPSED: "lapse_at", schedule.DETRAINED: "detrained_at"}
QUESTIONNAIRE_EARLY = timedelta(days=7)  # a response up to 7 days before a due date counts for it
RETEST_EARLY = timedelta(days=7)  # likewise a maintenance retest


def in_maintenance(program: Program) -> bool:
    return program.phase == Phase.MAINTENANCE


def attendance_since(program: Program) -> datetime | None:
    """The instant attendance counts from: the last completed session, or in maintenance its due time."""
    last = program.last_completed_at or program.started_at
    if last is None:
        return None
    weeks = program.maintenance_interval_weeks if in_maintenance(program) else None
    return schedule.attendance_anchor(last, program.clinic.tzinfo, weeks)


def set_thresholds(program: Program) -> None:
    """The stored instants the attendance job, the board and the reminders read: 7, 14 and 28 days on."""
    thresholds = schedule.attendance_thresholds(attendance_since(program), program.clinic.tzinfo)
    for state, field in THRESHOLD_FIELDS.items():
        setattr(program, field, thresholds[state])


def set_next_due(program: Program, last_completed_at: datetime) -> None:
    tz, rest = program.clinic.tzinfo, program.min_rest_hours
    program.earliest_next_at = schedule.earliest_next_session(last_completed_at, rest)
    if in_maintenance(program):
        due = schedule.maintenance_due(last_completed_at, program.maintenance_interval_weeks, tz)
        program.next_due_at = max(due, program.earliest_next_at)
    else:
        program.next_due_at = schedule.next_session_due(last_completed_at, program.sessions_per_week, tz, rest)


def _first_not_done(dates: list[datetime], done_at: datetime | None, early: timedelta) -> datetime | None:
    return next((at for at in dates if done_at is None or done_at < at - early), None)


def _questionnaire_due(program: Program, dates: list[datetime]) -> datetime | None:
    instrument = REGION_INSTRUMENT[program.region]
    last = assessment_selectors.last_response_at(patient=program.patient, instrument_in=[instrument])
    return _first_not_done(dates, last, QUESTIONNAIRE_EARLY)


def planned_discharge(program: Program) -> datetime:
    return schedule.planned_discharge_at(program.started_at, program.planned_weeks, program.clinic.tzinfo)


def checkups(program: Program, now: datetime) -> list[datetime]:
    """Maintenance: the retest, questionnaires and physician review at its start (the training phase's
    discharge measures) and every 12 weeks after."""
    start = program.maintenance_started_at
    return [start.astimezone(UTC), *schedule.maintenance_checkups(start, now, program.clinic.tzinfo)]


def retest_due_in_maintenance(program: Program, tested_at: datetime | None) -> datetime | None:
    return _first_not_done(checkups(program, tested_at or program.maintenance_started_at), tested_at, RETEST_EARLY)


def set_due_dates(program: Program, now: datetime) -> None:
    if in_maintenance(program):
        dates = checkups(program, now)
        program.questionnaire_due_at = _questionnaire_due(program, dates)
        program.physician_review_due_at = schedule.next_due(dates, now)
        return
    tz, start, discharge = program.clinic.tzinfo, program.started_at, planned_discharge(program)
    program.questionnaire_due_at = _questionnaire_due(program, schedule.questionnaire_due_dates(start, discharge, tz))
    program.physician_review_due_at = schedule.next_due(schedule.physician_review_due_dates(start, discharge, tz), now)
