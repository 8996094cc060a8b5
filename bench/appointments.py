"""The bookings the scheduling benchmarks read, made in a scale dataset for one run and removed after it.

Every clinic of the network (`bench.scale` made one per 10,000 patients, with a lumbar and a cervical
machine) gets 8 more machines (10 in all: 7 lumbar, 3 cervical), a calendar (Monday to Friday
07:00-12:00 and 13:00-20:00, Saturday 08:00-12:00, closed on 25 December and 1 January: 128 slots a
machine a week) and four weeks of bookings from the anchor's day, written with the real model
(`Appointment`, `bulk_create`), which the exclusion constraint checks as it would any booking:

- ahead of the anchor, 85 % of the slots are booked (a supervising clinician on the first four
  machines, two each: the capacity), a third of the rest hold a cancelled appointment (freed);
- the two weeks before it are history: completed, or now and then a no-show.

The patients are the clinic's active programs of the machine's kind, in turn (5,000 active in a
10,000-patient clinic). The active lumbar program falling due closest to 36 hours after the anchor is left
unbooked: the finder offers it slots (`Seeded.program_id`). The scale dataset holds no appointments,
machines beyond its two, or calendars of its own: `clear` removes what `seed` made, so the other
benchmarks read the dataset as `bench.scale` made it.
"""

from __future__ import annotations

import time
import zlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as wall_time
from typing import Any

from apps.scheduling.slots import Calendar, OpeningRange, wall_slots

SERIAL = "bench-appointments"  # the machines seed() adds are known by this prefix of their serial number
EXTRA = {"lumbar_extension": 6, "cervical_extension": 2}  # beside the scale dataset's one of each kind
WEEKDAY_RANGES = ((wall_time(7), wall_time(12)), (wall_time(13), wall_time(20)))
SATURDAY = (wall_time(8), wall_time(12))
HISTORY_DAYS = 14
AHEAD_DAYS = 28  # the default booking horizon: the finder reads all of it
BOOKED_PERCENT = 85
BATCH = 5_000
SUBJECT_DUE = timedelta(hours=36)  # the finder's program falls due about this long after the anchor


@dataclass(frozen=True)
class Seeded:
    clinic_id: int  # the board clinic: the one measured
    program_id: Any  # an active lumbar program of it, due soon and unbooked: the finder's subject
    rows: int  # appointments made in the network
    live_in_clinic: int  # live appointments of the measured clinic ahead of the anchor
    machines: int  # active machines of the measured clinic
    seconds: float


def opening() -> tuple[OpeningRange, ...]:
    weekdays = [OpeningRange(day, opens, closes) for day in range(5) for opens, closes in WEEKDAY_RANGES]
    return (*weekdays, OpeningRange(5, *SATURDAY))


def closures(anchor: datetime) -> list[date]:
    year = anchor.year + (anchor.month == 12 and anchor.day >= 26)
    return [date(year, 12, 25), date(year + 1, 1, 1)]


def drawn(*parts: Any) -> int:
    """A number in [0, 100) from the parts: the same slot gets the same fate at every size and run."""
    return zlib.crc32(":".join(str(part) for part in parts).encode()) % 100


def _calendar(clinic: Any, anchor: datetime) -> Calendar:
    from apps.scheduling.models import ClinicCalendar, Closure, OpeningHours

    settings = ClinicCalendar.objects.create(clinic=clinic)
    OpeningHours.objects.bulk_create(
        OpeningHours(calendar=settings, weekday=r.weekday, opens_at=r.opens, closes_at=r.closes) for r in opening()
    )
    Closure.objects.bulk_create(Closure(calendar=settings, date=day, reason="Holiday") for day in closures(anchor))
    return Calendar(tz=clinic.tzinfo, opening=opening(), closures=frozenset(closures(anchor)))


def _machines(clinic: Any) -> list[Any]:
    from apps.clinics.models import MACHINE_DEFAULTS, Machine

    extra = [
        Machine(
            clinic=clinic,
            kind=kind,
            name=f"{kind.split('_')[0].title()} {number:02d}",
            serial_number=f"{SERIAL}-{clinic.pk}-{kind}-{number}",
            min_load=0,
            max_load=1000,
            **MACHINE_DEFAULTS[kind],
        )
        for kind, count in EXTRA.items()
        for number in range(2, count + 2)
    ]
    Machine.objects.bulk_create(extra)
    return list(Machine.objects.filter(clinic=clinic, is_active=True).order_by("kind", "name", "pk"))


def _programs(clinic: Any, anchor: datetime) -> tuple[dict[str, list[tuple[Any, Any]]], Any]:
    """The clinic's active programs by machine kind, as (program, patient); and the finder's subject, left out."""
    from apps.programs.models import Program

    rows = (
        Program.objects.filter(clinic=clinic, status="active", patient__deleted_at__isnull=True)
        .order_by("id")
        .values_list("id", "patient_id", "machine_kind", "next_due_at")
    )
    rows = list(rows)
    soon = anchor + SUBJECT_DUE
    lumbar = [(abs(due - soon), program_id) for program_id, _, kind, due in rows if due and kind == "lumbar_extension"]
    subject = min(lumbar)[1] if lumbar else None
    by_kind: dict[str, list[tuple[Any, Any]]] = {}
    for program_id, patient_id, kind, _ in rows:
        if program_id != subject:
            by_kind.setdefault(kind, []).append((program_id, patient_id))
    return by_kind, subject


def _staff(clinic: Any) -> dict[str, int]:
    from apps.clinics.models import Membership

    return dict(Membership.objects.filter(clinic=clinic).values_list("role", "user_id"))


def _rows(clinic: Any, anchor: datetime) -> tuple[list[Any], Any]:
    from apps.scheduling.models import Appointment

    calendar = _calendar(clinic, anchor)
    machines = _machines(clinic)
    programs, subject = _programs(clinic, anchor)
    staff = _staff(clinic)
    supervisors = [staff.get("physical_therapist")] * 2 + [staff.get("exercise_physiologist")] * 2
    first = anchor.astimezone(calendar.tz).date()
    turn: dict[str, int] = {}
    rows = []
    for start, end in wall_slots(calendar, first - timedelta(days=HISTORY_DAYS), first + timedelta(days=AHEAD_DAYS)):
        for order, machine in enumerate(machines):
            pool = programs.get(machine.kind) or []
            fate = drawn(clinic.name, order, start.isoformat())  # not the pk: the same fates at every size
            if not pool or (fate >= BOOKED_PERCENT and not (start > anchor and fate % 3 == 0)):
                continue
            program_id, patient_id = pool[turn.get(machine.kind, 0) % len(pool)]
            turn[machine.kind] = turn.get(machine.kind, 0) + 1
            if start <= anchor:
                state = "no_show" if fate % 12 == 0 else "completed"
            else:
                state = "cancelled" if fate >= BOOKED_PERCENT else "booked"
            rows.append(
                Appointment(
                    patient_id=patient_id,
                    program_id=program_id,
                    clinic=clinic,
                    machine=machine,
                    supervisor_id=supervisors[order] if order < len(supervisors) else None,
                    starts_at=start,
                    ends_at=end,
                    state=state,
                    booked_via="staff",
                    booked_by_id=staff.get("clinic_admin"),
                    checked_in_at=start if state == "completed" else None,
                    cancelled_at=start - timedelta(days=2) if state == "cancelled" else None,
                    cancel_reason="Called to cancel" if state == "cancelled" else "",
                )
            )
    return rows, subject


def seed(clinic_ids: list[int], anchor: datetime, *, log: Any = print) -> Seeded:
    """Machines, calendars and appointments in every clinic of the network (the first is measured)."""
    from django.db import connection, transaction
    from django_scopes import scopes_disabled

    from apps.clinics.models import Clinic
    from apps.scheduling.models import Appointment

    started = time.perf_counter()
    clear(clinic_ids)
    made, subject = 0, None
    with scopes_disabled(), transaction.atomic():
        for clinic in Clinic.objects.filter(pk__in=clinic_ids).order_by("pk"):
            rows, program_id = _rows(clinic, anchor)
            Appointment.objects.bulk_create(rows, batch_size=BATCH)
            made += len(rows)
            subject = program_id if clinic.pk == clinic_ids[0] else subject
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE) scheduling_appointment, clinics_machine")
        cursor.execute(
            "SELECT count(*) FROM scheduling_appointment WHERE clinic_id = %s AND starts_at > %s"
            " AND state IN ('booked', 'checked_in')",
            [clinic_ids[0], anchor],
        )
        live = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM clinics_machine WHERE clinic_id = %s AND is_active", [clinic_ids[0]])
        machines = cursor.fetchone()[0]
    if subject is None:
        raise SystemExit("the measured clinic has no active lumbar program: nothing for the finder to offer slots to")
    seeded = Seeded(clinic_ids[0], subject, made, live, machines, round(time.perf_counter() - started, 1))
    log(f"seeded {made:,} appointments in {len(clinic_ids)} clinics ({live:,} live ahead in the measured one)")
    return seeded


def clear(clinic_ids: list[int]) -> None:
    """Remove what `seed` made (raw SQL: nothing to audit, no signals; the scale dataset made none of it)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM scheduling_appointment WHERE clinic_id = ANY(%s)", [clinic_ids])
        cursor.execute(
            "DELETE FROM clinics_machine WHERE clinic_id = ANY(%s) AND serial_number LIKE %s",
            [clinic_ids, f"{SERIAL}%"],
        )
        for table in ("scheduling_openinghours", "scheduling_closure"):
            cursor.execute(
                f"DELETE FROM {table} WHERE calendar_id IN"  # noqa: S608 - the table names above
                " (SELECT id FROM scheduling_cliniccalendar WHERE clinic_id = ANY(%s))",
                [clinic_ids],
            )
        cursor.execute("DELETE FROM scheduling_cliniccalendar WHERE clinic_id = ANY(%s)", [clinic_ids])
