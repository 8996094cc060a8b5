"""The scale generator (bench/scale.py) makes a history the platform's own rules would have made.

A small network (200 patients, two clinics) is generated in the test database; its rows must hold
together as the services keep them, or the benchmarks would measure a network no clinic could have.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection

from apps.patients.models import Patient
from apps.programs.models import Program, TrainingSession
from apps.reminders.models import Reminder
from apps.reminders.services import reminders_sweep
from bench import scale
from bench.common import DATASET_TABLE

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def network():
    made = scale.generate(200, seed=7, per_clinic=100, log=lambda line: None)
    yield made
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {DATASET_TABLE}")


def scalar(sql: str) -> object:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchone()[0]


def test_the_network_has_its_clinics_patients_and_programs(network):
    assert len(network.clinic_ids) == 2
    assert network.counts["patients_patient"] == 200
    # One program each, and an earlier completed one for half of those training now.
    assert network.counts["programs_program"] == 250
    board = Program.objects.filter(clinic_id=network.board_clinic_id)
    assert board.filter(status="active").count() == 50  # half of each clinic trains now
    assert set(board.values_list("status", flat=True)) == {"active", "lapsed", "on_hold", "completed"}
    assert network.counts["programs_trainingsession"] > 200 * 15


def test_rows_come_from_the_seed_and_their_number():
    made = scale.generate(20, seed=7, per_clinic=100, log=lambda line: None)
    first = Patient.objects.get(organization_id=made.organization_id, mrn="S00000000")
    assert first.pk == uuid.UUID(hashlib.md5(b"7p0").hexdigest())  # noqa: S324 - an id, not a secret
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {DATASET_TABLE}")


def test_each_program_matches_its_sessions(network):
    mismatched = scalar(
        """SELECT count(*) FROM programs_program p LEFT JOIN (
               SELECT program_id, count(*) AS n, max(performed_at) AS last, max(load) AS top
               FROM programs_trainingsession GROUP BY program_id) s ON s.program_id = p.id
           WHERE s.n IS DISTINCT FROM p.completed_sessions OR s.last IS DISTINCT FROM p.last_completed_at
              OR p.next_due_at <> p.last_completed_at + interval '84 hours'
              OR p.earliest_next_at <> p.last_completed_at + interval '48 hours'"""
    )
    assert mismatched == 0
    # 48 hours of recovery between any two sessions of a program.
    shortest = scalar(
        """SELECT min(gap) FROM (SELECT performed_at - lag(performed_at) OVER (
               PARTITION BY program_id ORDER BY performed_at) AS gap FROM programs_trainingsession) g"""
    )
    assert shortest >= timedelta(hours=48)
    # Every program names a baseline test of its patient, taken before its first session.
    assert (
        scalar(
            """SELECT count(*) FROM programs_program p JOIN assessments_strengthtest t ON t.id = p.baseline_test_id
           WHERE t.patient_id = p.patient_id AND t.performed_at < p.started_at"""
        )
        == network.counts["programs_program"]
    )
    assert TrainingSession.objects.filter(load__lte=0).count() == 0


def test_the_sweep_finds_nothing_left_to_do_at_the_anchor(network):
    before = Reminder.objects.count()

    result = reminders_sweep(now=network.anchor)

    assert Reminder.objects.count() == before
    assert result.enqueued == []


def test_the_audit_trail_is_one_unbroken_chain(network, capsys):
    swept = Reminder.objects.filter(created_at=network.anchor).count()
    assert swept > 0
    assert network.counts["audit_event"] == (
        network.counts["programs_trainingsession"]
        + network.counts["assessments_strengthtest"]
        + network.counts["assessments_questionnaireresponse"]
        + swept
    )
    call_command("audit_verify")
    assert "intact" in capsys.readouterr().out.lower()
