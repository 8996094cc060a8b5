"""Flags the care team must see: opened and resolved by the rules, and one clinical review service.

Every function here runs inside the transaction of the service that calls it, after that service
has locked the program row: so "insert if absent" cannot race with another writer of the same
program's flags, and the partial unique index `flag_one_open_per_kind` is only the backstop.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from apps.assessments.scoring import fmt
from apps.audit import events
from apps.patients.selectors import access_patient
from apps.programs import progression
from apps.programs.models import (
    AttendanceState,
    Flag,
    FlagKind,
    Phase,
    Program,
    ProposalAction,
    SessionStatus,
    TrainingSession,
)

# Clearing a red flag is a physician's decision (DOMAIN.md "Stop"): the physician-only permission.
RED_FLAG_PERM = "programs.clear_red_flag"
REVIEW_PERM = "programs.resolve_flag"
REVIEWABLE = frozenset({FlagKind.PAIN_FLARE, FlagKind.RAPID_RISE})
ATTENDANCE_KINDS = (FlagKind.OVERDUE, FlagKind.LAPSED, FlagKind.DETRAINED)
ATTENDANCE_FLAGS: dict[str, tuple[str, ...]] = {
    AttendanceState.ON_TRACK: (),
    AttendanceState.OVERDUE: ATTENDANCE_KINDS[:1],
    AttendanceState.LAPSED: ATTENDANCE_KINDS[:2],
    AttendanceState.DETRAINED: ATTENDANCE_KINDS,
    AttendanceState.NEW_EPISODE: ATTENDANCE_KINDS,
}
ATTENDANCE_REASONS = {
    FlagKind.OVERDUE: "{days} days without a completed {what}: remind the patient.",
    FlagKind.LAPSED: "{days} days without a completed {what}: the program has lapsed.",
    FlagKind.DETRAINED: "{days} days without a completed {what}: retest before training.",
}
ATTENDANCE_DAYS = {FlagKind.OVERDUE: 7, FlagKind.LAPSED: 14, FlagKind.DETRAINED: 28}


def attendance_reason(program: Program, kind: str) -> str:
    """In maintenance the days count from when the session fell due (DOMAIN.md "Maintenance")."""
    if program.phase == Phase.MAINTENANCE:
        return ATTENDANCE_REASONS[kind].format(days=ATTENDANCE_DAYS[kind], what="maintenance session since it fell due")
    return ATTENDANCE_REASONS[kind].format(days=ATTENDANCE_DAYS[kind], what="session")


PAIN_KINDS = (ProposalAction.PAIN_HOLD, ProposalAction.PAIN_REDUCE)


def _open_flag(program: Program, kind: str) -> Flag | None:
    return Flag.objects.filter(program=program, kind=kind, resolved_at__isnull=True).first()


def flag_open(*, program: Program, kind: str, reason: str, at: datetime, actor: Any) -> Flag:
    """Open a flag unless one of this kind is already open; a new reason replaces the old one."""
    flag = _open_flag(program, kind)
    if flag is None:
        flag = Flag.objects.create(
            patient=program.patient, program=program, kind=kind, reason=reason[:300], opened_at=at
        )
        events.record(action=events.Action.CREATE, obj=flag, actor=actor)
    elif flag.reason != reason[:300]:
        flag.reason = reason[:300]
        flag.save(update_fields=["reason", "updated_at"])
        events.record(action=events.Action.UPDATE, obj=flag, actor=actor)
    return flag


def _resolve(flag: Flag, at: datetime, resolution: str, actor: Any) -> Flag:
    flag.resolved_at = at
    flag.resolution = resolution[:300]
    flag.save(update_fields=["resolved_at", "resolution", "updated_at"])
    events.record(action=events.Action.UPDATE, obj=flag, actor=actor)
    return flag


def flags_resolve(*, program: Program, kinds: Iterable[str], at: datetime, resolution: str, actor: Any) -> list[Flag]:
    open_ones = Flag.objects.filter(program=program, kind__in=list(kinds), resolved_at__isnull=True)
    return [_resolve(flag, at, resolution, actor) for flag in open_ones]


def attendance_flags(*, program: Program, state: str, at: datetime, actor: Any) -> None:
    """Open every attendance flag up to `state`; lower ones stay open until a session is completed."""
    for kind in ATTENDANCE_FLAGS[state]:
        flag_open(program=program, kind=kind, reason=attendance_reason(program, kind), at=at, actor=actor)


def _is_clean(session: TrainingSession) -> bool:
    worst = max(session.pain_before, session.pain_after)
    return (
        session.status == SessionStatus.COMPLETED
        and not session.was_pain_hold
        and not session.red_flag_reported
        and worst < progression.PAIN_RED_ZONE
    )


def _pain_flare(program: Program, session: TrainingSession, proposal: progression.Proposal, actor: Any) -> None:
    at = session.performed_at
    if session.was_pain_hold or proposal.action in PAIN_KINDS:
        # The pain-reduce reason ends "clinician review": the rule's own words reach the flag.
        flag_open(program=program, kind=FlagKind.PAIN_FLARE, reason=proposal.reason, at=at, actor=actor)
        return
    flag = _open_flag(program, FlagKind.PAIN_FLARE)
    if flag is None:
        return
    # DOMAIN.md: two clean sessions resolve the flag; the two latest since it opened, both clean.
    latest = list(TrainingSession.objects.filter(program=program, performed_at__gt=flag.opened_at)[:2])
    if len(latest) == 2 and all(_is_clean(s) for s in latest):
        _resolve(flag, at, "Two consecutive clean sessions.", actor)


def _load_history(program: Program, until: datetime) -> list[tuple[datetime, Any]]:
    """Completed loads in the 7 days before `until`, the load in effect when they began, and the start."""
    start = until - progression.RAPID_RISE_WINDOW
    completed = TrainingSession.objects.filter(program=program, status=SessionStatus.COMPLETED)
    history = list(
        completed.filter(performed_at__gt=start, performed_at__lte=until).values_list("performed_at", "load")
    )
    history += (
        completed.filter(performed_at__lte=start).order_by("-performed_at").values_list("performed_at", "load")[:1]
    )
    if program.started_at and program.start_load is not None:
        history.append((program.started_at, program.start_load))
    return history


def _rapid_rise(program: Program, session: TrainingSession, actor: Any) -> None:
    rise = progression.rapid_rise(_load_history(program, session.performed_at), session.performed_at)
    if rise is None:
        return
    unit = program.get_load_unit_display()
    reason = (
        f"Load rose {fmt(rise.rise_pct)} % within 7 days ({fmt(rise.from_load)} → {fmt(rise.to_load)} {unit}): review."
    )
    flag_open(program=program, kind=FlagKind.RAPID_RISE, reason=reason, at=session.performed_at, actor=actor)


def flags_after_session(
    *, program: Program, session: TrainingSession, proposal: progression.Proposal, actor: Any
) -> None:
    """DOMAIN.md "After each completed session", the flag half: stop, pain, attendance, rapid rise."""
    if session.red_flag_reported:
        reason = "Red flag reported during a session: no training until a physician clears it."
        flag_open(program=program, kind=FlagKind.RED_FLAG, reason=reason, at=session.performed_at, actor=actor)
    _pain_flare(program, session, proposal, actor)
    if session.status == SessionStatus.COMPLETED:
        flags_resolve(
            program=program,
            kinds=ATTENDANCE_KINDS,
            at=session.performed_at,
            resolution="A session was completed.",
            actor=actor,
        )
        _rapid_rise(program, session, actor)


def _check_may_resolve(actor: Any, flag: Flag) -> None:
    if flag.kind == FlagKind.RED_FLAG:
        if not actor.has_perm(RED_FLAG_PERM, flag):
            raise PermissionDenied("Only a physician of the patient's clinic can clear a red flag.")
    elif flag.kind in REVIEWABLE:
        if not actor.has_perm(REVIEW_PERM, flag):
            raise PermissionDenied("Only a clinician of the patient's clinic can close this review.")
    else:
        raise ValidationError({"kind": "An attendance flag closes when a session is completed or a retest recorded."})


@transaction.atomic
def flag_resolve(*, actor: Any, flag: Flag, resolution: str, now: datetime | None = None) -> Flag:
    """A clinical review closes a flag: a physician clears a red flag, a clinician a pain or load review."""
    access_patient(user=actor, patient_id=flag.patient_id)  # 404 outside the actor's clinics
    _check_may_resolve(actor, flag)
    flag = Flag.objects.select_for_update().get(pk=flag.pk)
    if flag.resolved_at is not None:
        raise ValidationError({"resolution": "This flag is already resolved."})
    if not resolution.strip():
        raise ValidationError({"resolution": "Say what was decided."})
    return _resolve(flag, now or timezone.now(), resolution.strip(), actor)
