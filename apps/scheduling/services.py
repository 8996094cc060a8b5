"""Writes of clinic calendar settings. Each is atomic, checks the actor's role, and audits every row."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404

from apps.audit import events
from apps.clinics.access import access_clinic, visible_clinic_ids
from apps.clinics.models import Clinic
from apps.scheduling.models import ClinicCalendar, Closure, OpeningHours, overlap_problems
from apps.scheduling.selectors import DEFAULT_OPENING

SettingRow = OpeningHours | Closure
REFUSAL = "Only a clinic admin can change the clinic's calendar."


def _check_may(actor: Any, perm: str, calendar: ClinicCalendar) -> None:
    """404 outside the actor's clinics (the gate), then 403 for a role that may not do this."""
    clinic_ids = visible_clinic_ids(actor)
    if clinic_ids is not None and calendar.clinic_id not in clinic_ids:
        raise Http404("No such calendar.")
    if not actor.has_perm(perm, calendar):
        raise PermissionDenied(REFUSAL)


@transaction.atomic
def calendar_create(*, actor: Any, clinic: Clinic, **settings: Any) -> ClinicCalendar:
    """The clinic's calendar, open on the default hours until its admin changes them."""
    clinic = access_clinic(actor, clinic.pk)
    calendar = ClinicCalendar(clinic=clinic, **settings)
    if not actor.has_perm("scheduling.add_cliniccalendar", calendar):
        raise PermissionDenied(REFUSAL)
    calendar.full_clean()
    calendar.save()
    events.record(action=events.Action.CREATE, obj=calendar, actor=actor)
    hours = OpeningHours.objects.bulk_create(
        OpeningHours(calendar=calendar, weekday=r.weekday, opens_at=r.opens, closes_at=r.closes)
        for r in DEFAULT_OPENING
    )
    for row in hours:
        events.record(action=events.Action.CREATE, obj=row, actor=actor)
    return calendar


@transaction.atomic
def calendar_update(*, actor: Any, calendar: ClinicCalendar, **changes: Any) -> ClinicCalendar:
    _check_may(actor, "scheduling.change_cliniccalendar", calendar)
    if "clinic" in changes:
        raise ValidationError({"clinic": "A calendar stays with its clinic."})
    for name, value in changes.items():
        setattr(calendar, name, value)
    calendar.full_clean()
    calendar.save()
    events.record(action=events.Action.UPDATE, obj=calendar, actor=actor)
    return calendar


@transaction.atomic
def calendar_rows_save(
    *, actor: Any, calendar: ClinicCalendar, saved: Sequence[SettingRow] = (), deleted: Sequence[SettingRow] = ()
) -> None:
    """Add, change and delete opening hours and closures of one calendar, then check the week.

    The overlap check runs once over the stored result, not row by row: two ranges swapped in
    one edit overlap each other half-way through. The calendar row is locked first so that two
    editors of the same week cannot each add a range that overlaps the other's.
    """
    _check_may(actor, "scheduling.change_cliniccalendar", calendar)
    ClinicCalendar.objects.select_for_update().filter(pk=calendar.pk).exists()
    for row in [*deleted, *saved]:
        if row.calendar_id not in (None, calendar.pk):
            raise ValidationError("A row of another calendar cannot be changed here.")
    for row in deleted:
        events.record(action=events.Action.DELETE, obj=row, actor=actor)
        row.delete()
    for row in saved:
        row.calendar = calendar
        action = events.Action.CREATE if row._state.adding else events.Action.UPDATE
        row.full_clean()
        row.save()
        events.record(action=action, obj=row, actor=actor)
    problems = overlap_problems(calendar.opening_hours.values_list("weekday", "opens_at", "closes_at"))
    if problems:
        raise ValidationError(problems)


@transaction.atomic
def calendar_delete(*, actor: Any, calendar: ClinicCalendar) -> None:
    """Back to the defaults: the clinic books on DOMAIN.md's hours and numbers again."""
    _check_may(actor, "scheduling.delete_cliniccalendar", calendar)
    for row in [*calendar.opening_hours.all(), *calendar.closures.all()]:
        row.calendar = calendar
        events.record(action=events.Action.DELETE, obj=row, actor=actor)
    events.record(action=events.Action.DELETE, obj=calendar, actor=actor)
    calendar.delete()
