"""The one way to write an audit event.

Call it inside the transaction of the change it records (services are atomic): if the change
rolls back, so does its event, and a change can never commit without one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from django.db import connection, models
from django.utils import timezone

from apps.audit.context import current_origin
from apps.audit.models import Action, Event
from apps.audit.subjects import Subject


class Audited(Protocol):
    pk: Any

    def audit_subject(self) -> Subject: ...


class AuditOutsideTransaction(RuntimeError):
    pass


class SystemActor:
    """The platform itself, acting from a management command or a periodic task.

    It passes the tenancy gate like a superuser and is recorded as "system" in the audit trail.
    """

    pk = None
    is_authenticated = True
    is_active = True
    is_superuser = True
    is_staff = False

    def get_username(self) -> str:
        return "system"

    def has_perm(self, perm: str, obj: Any = None) -> bool:
        return True


SYSTEM = SystemActor()


def _actor_fields(actor: Any) -> dict[str, Any]:
    if actor is None or not getattr(actor, "is_authenticated", False):
        return {"actor": None, "actor_label": "anonymous"}
    return {"actor": actor if actor.pk is not None else None, "actor_label": actor.get_username()[:150]}


def _event(action: str, obj: Audited, actor: Any) -> Event:
    subject = obj.audit_subject()
    origin = current_origin()
    meta = obj._meta  # type: ignore[attr-defined]
    return Event(
        action=action,
        organization_id=subject.organization_id,
        clinic_id=subject.clinic_id,
        patient_id=subject.patient_id,
        object_type=meta.label_lower,
        object_id=str(obj.pk),
        channel=origin.channel,
        request_id=origin.request_id,
        ip_address=origin.ip_address,
        **_actor_fields(actor),
    )


def record(*, action: Action | str, obj: Audited, actor: Any) -> Event:
    if action != Action.READ and not connection.in_atomic_block:
        raise AuditOutsideTransaction("A write must be audited inside the transaction that makes it.")
    event = _event(action, obj, actor)
    event.save()
    return event


def record_reads(*, objs: Iterable[Audited], actor: Any) -> int:
    """One read event per row shown (a list page, a search, an autocomplete), in one INSERT.

    Through the row path rather than Event objects and bulk_create: on the today board's 288 rows the
    objects and Django's INSERT compiler cost 30 ms more than the INSERT (bench/board_page.py).
    """
    shown = list(objs)
    rows = [(obj.pk, obj.audit_subject()) for obj in shown]
    kinds = [obj._meta.label_lower for obj in shown]  # type: ignore[attr-defined]
    return record_row_reads(object_type=kinds, rows=rows, actor=actor)


_ROW_READ_COLUMNS = (
    "occurred_at",
    "action",
    "actor",
    "actor_label",
    "channel",
    "request_id",
    "ip_address",
    "object_type",  # from here on, one value per row
    "organization",
    "clinic",
    "patient",
    "object_id",
)


ObjectTypes = str | Sequence[str]


def record_row_reads(*, object_type: ObjectTypes, rows: Sequence[tuple[Any, Subject]], actor: Any) -> int:
    """Read events for rows a hot list page read as values, not model instances: one INSERT.

    The same events `record_reads` writes, without building an Event per row: on a 100-row API
    page that construction and Django's bulk INSERT compiler cost more than the page's own query.
    `rows` holds (object id, subject) pairs; `object_type` is the rows' `app_label.model`, or one
    per row for a page that shows several kinds (a FHIR Observation search: tests and scores).
    """
    return record_row_events(action=Action.READ, object_type=object_type, rows=rows, actor=actor)


def record_row_events(
    *, action: Action, object_type: ObjectTypes, rows: Sequence[tuple[Any, Subject]], actor: Any
) -> int:
    """One event per row for rows a bulk statement wrote or read (INSERT ... SELECT, UPDATE ... WHERE).

    Code that changes many rows in one statement audits them here, in the same transaction.
    """
    if action != Action.READ and not connection.in_atomic_block:
        raise AuditOutsideTransaction("A write must be audited inside the transaction that makes it.")
    if not rows:
        return 0
    origin = current_origin()
    who = _actor_fields(actor)
    shared = (
        timezone.now(),
        Action(action).value,
        None if who["actor"] is None else who["actor"].pk,
        who["actor_label"],
        origin.channel,
        origin.request_id,
        origin.ip_address,
    )
    fields = [Event._meta.get_field(name) for name in _ROW_READ_COLUMNS]
    constant = [field.get_db_prep_value(value, connection) for field, value in zip(fields, shared, strict=False)]
    quote = connection.ops.quote_name
    table, columns = quote(Event._meta.db_table), ", ".join(quote(field.column) for field in fields)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Five arrays rather than 1,200 placeholders: Django's psycopg cursor binds parameters
            # client-side, and splitting and quoting a 100-row VALUES list costs more than the INSERT.
            # psycopg adapts the ids (ints, UUIDs, text) itself.
            arrays = ", ".join(f"%s::{field.db_type(connection)}[]" for field in fields[len(shared) :])
            select = ", ".join(["%s"] * len(constant) + ["v.*"])
            sql = f"INSERT INTO {table} ({columns}) SELECT {select} FROM unnest({arrays}) AS v"  # noqa: S608
            cursor.execute(sql, [*constant, *_row_columns(rows, object_type)])
        else:
            varying = [
                [field.get_db_prep_value(value, connection) for value in values]
                for field, values in zip(fields[len(shared) :], _row_columns(rows, object_type), strict=True)
            ]
            row = "(" + ", ".join(["%s"] * len(fields)) + ")"
            params = [value for values in zip(*varying, strict=True) for value in (*constant, *values)]
            cursor.execute(f"INSERT INTO {table} ({columns}) VALUES {', '.join([row] * len(rows))}", params)  # noqa: S608
    return len(rows)


def _row_columns(rows: Sequence[tuple[Any, Subject]], object_type: ObjectTypes) -> tuple[list[Any], ...]:
    """(object types, organization ids, clinic ids, patient ids, object ids) of the rows, column by column."""
    kinds = [object_type] * len(rows) if isinstance(object_type, str) else list(object_type)
    if len(kinds) != len(rows):
        raise ValueError(f"{len(kinds)} object types for {len(rows)} rows")
    return (
        kinds,
        [subject.organization_id for _, subject in rows],
        [subject.clinic_id for _, subject in rows],
        [subject.patient_id for _, subject in rows],
        [str(object_id) for object_id, _ in rows],
    )


# --- Refused attempts and exports -----------------------------------------------------------------

URL = "url"  # object_type of an event whose object is a request path


def _request_event(action: str, path: str, actor_fields: dict[str, Any]) -> Event:
    """An event about a request rather than a row: it names no organization, clinic or patient."""
    origin = current_origin()
    return Event(
        action=action,
        object_type=URL,
        object_id=path[: Event._meta.get_field("object_id").max_length],
        channel=origin.channel,
        request_id=origin.request_id,
        ip_address=origin.ip_address,
        **actor_fields,
    )


def denial(*, path: str, actor: Any) -> Event:
    """A 401/403/404 answered on a patient-data URL (unsaved; see `apps.audit.denials`).

    No patient, clinic or organization: resolving the path to a row would cost a query and could
    record, for someone who may not know it, that the patient exists. Only the path, never its query
    string, which may carry search terms or misplaced credentials.
    """
    return _request_event(Action.DENIED, path, _actor_fields(actor))


def login_failure(*, username: str, path: str) -> Event:
    """A failed sign-in (unsaved): the name tried, as typed, is the actor; no user is looked up."""
    label = username[: Event._meta.get_field("actor_label").max_length]
    return _request_event(Action.LOGIN_FAILED, path, {"actor": None, "actor_label": label})


def record_export(*, actor: Any, path: str) -> Event:
    """The audit report left the system as a file: who, when, with which filters (in `path`)."""
    event = _request_event(Action.EXPORT, path, _actor_fields(actor))
    event.save()
    return event


def events_for(obj: models.Model) -> models.QuerySet[Event]:
    return Event.objects.filter(object_type=obj._meta.label_lower, object_id=str(obj.pk))
