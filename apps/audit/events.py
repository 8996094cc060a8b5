"""The one way to write an audit event.

Call it inside the transaction of the change it records (services are atomic): if the change
rolls back, so does its event, and a change can never commit without one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from django.db import connection, models

from apps.audit.context import current_origin
from apps.audit.models import Action, Event


@dataclass(frozen=True)
class Subject:
    """The tenancy coordinates of an audited row."""

    organization_id: int | None
    clinic_id: int | None
    patient_id: Any | None


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


def record_reads(*, objs: Iterable[Audited], actor: Any) -> list[Event]:
    """One read event per row shown (a list page, a search, an autocomplete), in one INSERT."""
    events = [_event(Action.READ, obj, actor) for obj in objs]
    return Event.objects.bulk_create(events) if events else []


def events_for(obj: models.Model) -> models.QuerySet[Event]:
    return Event.objects.filter(object_type=obj._meta.label_lower, object_id=str(obj.pk))
