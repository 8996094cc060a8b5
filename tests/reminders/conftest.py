"""Reminder fixtures: a real SMTP server, a private Redis, Celery workers, and due reminders in bulk.

Worker tests use the test database with committed rows (`transactional_db`): the worker is another
process and sees only what is committed. It reaches that database by name (pytest-django's
`test_<name>`), and the private Redis by port, through its environment.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, time, timedelta
from uuid import UUID

import factory
import pytest
from django.db import connection
from django.utils import timezone

from apps.programs.models import Program, ProgramStatus
from apps.reminders.models import Reminder, ReminderKind, ReminderState
from spinezone.celery import app as celery_app
from tests import factories
from tests.reminders.appointment_support import (  # noqa: F401  (the appointment tests' fixtures)
    clock_fixture,
    machine_fixture,
    patient_fixture,
    program_fixture,
)
from tests.reminders.support import SITE_URL, RedisServer, SmtpSink, WorkerProcess, worker_environment

NO_QUIET_HOURS = {"quiet_hours_start": time(0), "quiet_hours_end": time(0)}


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[SmtpSink]:
    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture
def sink(smtp_server: SmtpSink, settings) -> SmtpSink:
    """The SMTP server, emptied, and this process's mail sent to it over SMTP."""
    smtp_server.reset()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", smtp_server.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    return smtp_server


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


def use_broker(url: str) -> None:
    """Point this process's Celery app (what `delay` publishes with) at another broker.

    kombu keeps its connection pools in a registry keyed by URL: the app's pool attributes are reset
    so they are looked up again for the new URL (closing them would close the registry's pools).
    """
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    celery_app.conf.broker_url = url


@pytest.fixture
def broker(redis_server: RedisServer) -> Iterator[RedisServer]:
    """The private Redis, emptied (a queue left by an earlier test would be replayed), as our broker."""
    redis_server.flush()
    original = celery_app.conf.broker_url
    use_broker(redis_server.url)
    yield redis_server
    use_broker(original)


def worker_database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def make_worker(transactional_db, sink: SmtpSink) -> Iterator:
    """`make_worker(broker_url, name)`: a worker process (not started) on the test database; stopped after."""
    started: list[WorkerProcess] = []

    def make(broker_url: str, name: str = "w1", concurrency: int = 2) -> WorkerProcess:
        environment = worker_environment(database_url=worker_database_url(), broker_url=broker_url, smtp_url=sink.url)
        worker = WorkerProcess(environment, name=name, concurrency=concurrency)
        started.append(worker)
        return worker

    yield make
    for worker in started:
        worker.kill()  # the test is over: no need to wait for a warm shutdown


@pytest.fixture
def fast_requeue(settings):
    """The sweep re-enqueues ids still pending 1 s after their last enqueue (10 min in production)."""
    settings.REMINDER_REQUEUE_AFTER_SECONDS = 1
    return settings


# --- Data -----------------------------------------------------------------------------------------


@pytest.fixture
def open_clinic(organization):
    """A clinic with no quiet hours: worker tests send at the real clock, whatever hour it is there."""
    return factories.ClinicFactory(
        organization=organization,
        name="Clinic Open",
        timezone="America/Los_Angeles",
        phone="+1 619 555 0100",
        reply_to_email="front-desk@clinic-open.example.test",
        **NO_QUIET_HOURS,
    )


def due_programs(clinic, count: int, *, due: datetime | None = None, prefix: str = "p") -> list[Program]:
    """`count` active programs of distinct consenting patients, their next session due at `due`."""
    due = due or timezone.now() - timedelta(minutes=5)
    prescriber = factories.UserFactory()
    patients = factories.PatientFactory.create_batch(
        count, clinic=clinic, email=factory.Iterator([f"{prefix}{i}@example.test" for i in range(count)])
    )
    programs = [
        Program(
            patient=patient,
            clinic=clinic,
            region="lumbar",
            machine_kind="lumbar_extension",
            load_unit="ft_lbf",
            status=ProgramStatus.ACTIVE,
            prescribed_by=prescriber,
            start_load=100,
            current_load=100,
            started_at=due - timedelta(days=14),
            last_completed_at=due - timedelta(days=3, hours=12),
            next_due_at=due,
        )
        for patient in patients
    ]
    return Program.objects.bulk_create(programs)


def due_reminders(clinic, count: int, *, due: datetime | None = None, prefix: str = "p") -> list[UUID]:
    """`count` pending session reminders whose time has come, one per patient (ids, in order)."""
    programs = due_programs(clinic, count, due=due, prefix=prefix)
    rows = [
        Reminder(
            patient_id=program.patient_id,
            program=program,
            clinic=clinic,
            kind=ReminderKind.SESSION_DUE,
            due_at=program.next_due_at,
            scheduled_for=program.next_due_at,
            state=ReminderState.PENDING,
        )
        for program in programs
    ]
    return [row.pk for row in Reminder.objects.bulk_create(rows)]


@pytest.fixture(autouse=True)
def _site_url(settings):
    # The links in emails: a fixed, recognisable origin whatever the environment says (the worker
    # processes get the same through their environment).
    settings.SITE_URL = SITE_URL
