from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
from django.db import connection

from apps.audit.models import Event
from tests.partners.fixtures import issue_token, partner_a, reader_a  # noqa: F401


@contextmanager
def raw_connection(*, behind_the_triggers: bool = False) -> Iterator[psycopg.Connection]:
    """A psycopg connection of its own to the test database, without the test settings' options.

    `behind_the_triggers`: a database superuser tampering behind the application's back, with the
    session's triggers switched off (as a replica applying changes would have them).
    """
    settings = connection.settings_dict
    with psycopg.connect(
        host=settings["HOST"] or None,
        port=settings["PORT"] or None,
        user=settings["USER"] or None,
        password=settings["PASSWORD"] or None,
        dbname=settings["NAME"],
        autocommit=True,
    ) as raw:
        if behind_the_triggers:
            raw.execute("SET session_replication_role = replica")
        yield raw


def make_event(**overrides) -> Event:
    fields = {
        "action": "read",
        "actor_label": "system",
        "object_type": "patients.patient",
        "object_id": "1",
        "channel": "command",
        **overrides,
    }
    return Event.objects.create(**fields)


@pytest.fixture
def chain_of_four(transactional_db) -> list[Event]:
    """Four committed events, in chain order (seq 1 to 4)."""
    made = [make_event(object_id=str(n)) for n in range(4)]
    return list(Event.objects.filter(pk__in=[event.pk for event in made]).order_by("seq"))
