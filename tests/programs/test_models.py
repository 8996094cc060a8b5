"""Program status transitions: the model's table, and the service that audits each move."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from apps.audit.models import Action, Event
from apps.programs import services
from apps.programs.models import ALLOWED_TRANSITIONS, IllegalTransition, Program, ProgramStatus
from tests import factories

STATUSES = ProgramStatus.values
LEGAL = [(current, target) for current in STATUSES for target in sorted(ALLOWED_TRANSITIONS[current])]
ILLEGAL = [(current, target) for current in STATUSES for target in STATUSES if (current, target) not in LEGAL]
# Legal for the model, but not a manual move: a draft starts through program_start (it needs its start
# load), and a program lapses only when the attendance job says so.
NOT_MANUAL = [(ProgramStatus.DRAFT, ProgramStatus.ACTIVE)] + [(c, t) for c, t in LEGAL if t == ProgramStatus.LAPSED]
MANUAL = [move for move in LEGAL if move not in NOT_MANUAL]
ENDED = {ProgramStatus.COMPLETED, ProgramStatus.DISCHARGED, ProgramStatus.CANCELLED}
NOW = datetime(2026, 3, 2, 18, tzinfo=UTC)


def test_the_table_covers_every_status_and_ended_statuses_go_nowhere():
    assert set(ALLOWED_TRANSITIONS) == set(STATUSES)
    assert all(not ALLOWED_TRANSITIONS[status] for status in ENDED)
    assert len(LEGAL) + len(ILLEGAL) == len(STATUSES) ** 2


@pytest.mark.parametrize(("current", "target"), ILLEGAL)
def test_transition_to_refuses_every_move_outside_the_table(current, target):
    program = Program(status=current)

    with pytest.raises(IllegalTransition) as refused:
        program.transition_to(target)

    assert program.status == current
    assert set(refused.value.message_dict) == {"status"}


@pytest.mark.parametrize(("current", "target"), LEGAL)
def test_transition_to_makes_every_move_in_the_table(current, target):
    program = Program(status=current)

    program.transition_to(target)

    assert program.status == target


@pytest.fixture
def program_in(patient_a, physician_a):
    def make(status):
        return factories.ProgramFactory(patient=patient_a, prescribed_by=physician_a, status=status)

    return make


@pytest.mark.parametrize(("current", "target"), ILLEGAL + NOT_MANUAL)
def test_program_transition_refuses_illegal_moves_and_writes_nothing(program_in, physician_a, current, target):
    program = program_in(current)

    with pytest.raises(IllegalTransition):
        services.program_transition(actor=physician_a, program=program, status=target, now=NOW)

    assert Program.objects.get(pk=program.pk).status == current
    assert not Event.objects.exists()


@pytest.mark.parametrize(("current", "target"), MANUAL)
def test_program_transition_makes_legal_moves_with_one_event(program_in, physician_a, current, target):
    program = program_in(current)

    services.program_transition(actor=physician_a, program=program, status=target, reason="patient moved", now=NOW)

    program = Program.objects.get(pk=program.pk)
    assert (program.status, program.status_reason) == (target, "patient moved")
    assert program.ended_at == (NOW if target in ENDED else None)
    (event,) = Event.objects.all()
    assert (event.action, event.actor, event.object_id) == (Action.UPDATE, physician_a, str(program.pk))


def test_only_a_physician_discharges(program_in, clinician_a):
    program = program_in(ProgramStatus.ACTIVE)

    with pytest.raises(PermissionDenied):
        services.program_transition(actor=clinician_a, program=program, status=ProgramStatus.DISCHARGED)

    assert Program.objects.get(pk=program.pk).status == ProgramStatus.ACTIVE
    assert not Event.objects.exists()


def test_a_clinician_can_put_a_program_on_hold(program_in, clinician_a):
    program = program_in(ProgramStatus.ACTIVE)

    services.program_transition(actor=clinician_a, program=program, status=ProgramStatus.ON_HOLD, reason="flu")

    assert Program.objects.get(pk=program.pk).status == ProgramStatus.ON_HOLD


def test_another_clinic_cannot_move_the_program(program_in, clinician_b):
    program = program_in(ProgramStatus.ACTIVE)

    with pytest.raises(Http404):
        services.program_transition(actor=clinician_b, program=program, status=ProgramStatus.ON_HOLD)

    assert not Event.objects.exists()
