"""The today board: who is due, overdue, lapsed or flagged at the user's clinic, in its local time."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.audit.models import Event
from apps.programs.models import Flag, FlagKind, Phase, ProgramStatus
from apps.web.selectors import local_day
from tests import factories

pytestmark = pytest.mark.django_db
LA = ZoneInfo("America/Los_Angeles")


def active_program(clinic, *, due, overdue=None, lapse=None, **fields):
    """An active program's row with its computed times, as the services would have left them."""
    patient = factories.PatientFactory(clinic=clinic)
    now = timezone.now()
    return factories.ProgramFactory(
        patient=patient,
        status=ProgramStatus.ACTIVE,
        started_at=now - timedelta(days=30),
        last_completed_at=now - timedelta(days=3),
        next_due_at=due,
        overdue_at=overdue or now + timedelta(days=4),
        lapse_at=lapse or now + timedelta(days=11),
        **fields,
    )


def sections(response):
    return {section.key: section for section in response.context["sections"]}


def names(section):
    return [row.patient.family_name for row in section.rows]


def test_local_day_is_the_clinics_calendar_day(clinic_a):
    # 02:00 UTC on 10 March is still 9 March in Los Angeles (UTC-8).
    start, end = local_day(clinic_a, datetime(2026, 3, 10, 2, 0, tzinfo=ZoneInfo("UTC")))
    assert start == datetime(2026, 3, 9, tzinfo=LA)
    assert end == datetime(2026, 3, 10, tzinfo=LA)


def test_the_board_lists_each_kind_of_work_with_counts(signed_in, clinician_a, clinic_a):
    now = timezone.now()
    _, tomorrow = local_day(clinic_a, now)
    due = active_program(clinic_a, due=tomorrow - timedelta(minutes=1))
    later = active_program(clinic_a, due=tomorrow + timedelta(hours=1))
    overdue = active_program(clinic_a, due=now - timedelta(days=5), overdue=now - timedelta(hours=1))
    lapsed = factories.ProgramFactory(patient=factories.PatientFactory(clinic=clinic_a), status=ProgramStatus.LAPSED)
    questionnaire = active_program(clinic_a, due=tomorrow + timedelta(days=2), questionnaire_due_at=now)
    Flag.objects.create(patient=due.patient, program=due, kind=FlagKind.PAIN_FLARE, reason="pain 3 to 6", opened_at=now)

    response = signed_in(clinician_a).get("/board/")

    assert response.status_code == 200
    board = sections(response)
    assert names(board["due"]) == [due.patient.family_name]
    assert later.patient.family_name not in names(board["due"])
    assert names(board["overdue"]) == [overdue.patient.family_name]
    assert names(board["lapsed"]) == [lapsed.patient.family_name]
    assert names(board["questionnaires"]) == [questionnaire.patient.family_name]
    assert names(board["pain_flares"]) == [due.patient.family_name]
    assert [board[key].count for key in ("due", "overdue", "lapsed", "questionnaires", "pain_flares")] == [1] * 5
    assert f'href="/patients/{due.patient.pk}/"'.encode() in response.content


def test_a_program_past_its_lapse_time_is_lapsed_before_the_job_runs(signed_in, clinician_a, clinic_a):
    now = timezone.now()
    late = active_program(clinic_a, due=now - timedelta(days=12), overdue=now - timedelta(days=8), lapse=now)
    board = sections(signed_in(clinician_a).get("/board/"))
    assert names(board["lapsed"]) == [late.patient.family_name]
    assert names(board["overdue"]) == []


def test_a_positive_screen_awaiting_review_is_a_red_flag(signed_in, clinician_a, physician_a, patient_a):
    from apps.patients.screening import LUMBAR_ITEMS
    from apps.patients.services import red_flag_screen_record

    answers = dict.fromkeys(LUMBAR_ITEMS, False) | {"history_of_cancer": True}
    red_flag_screen_record(actor=physician_a, patient=patient_a, region="lumbar", answers=answers)
    board = sections(signed_in(clinician_a).get("/board/"))
    assert names(board["red_flags"]) == ["Alvarez"]
    assert board["red_flags"].count == 1


def test_another_clinics_patients_never_appear(signed_in, clinician_a, clinic_a, clinic_b, clinic_c):
    now = timezone.now()
    for clinic in (clinic_b, clinic_c):
        other = active_program(clinic, due=now, overdue=now - timedelta(hours=1))
        Flag.objects.create(patient=other.patient, program=other, kind=FlagKind.RED_FLAG, reason="x", opened_at=now)
    response = signed_in(clinician_a).get("/board/")
    assert all(section.count == 0 and not section.rows for section in response.context["sections"])


def test_every_patient_named_is_recorded_as_read_once(signed_in, clinician_a, clinic_a):
    now = timezone.now()
    program = active_program(clinic_a, due=now, questionnaire_due_at=now)  # two sections, one patient
    signed_in(clinician_a).get("/board/")
    reads = Event.objects.filter(action="read", actor=clinician_a, channel="ui")
    assert list(reads.values_list("patient_id", flat=True)) == [program.patient.pk]


def board_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/board/").status_code == 200
    return len(queries)


def test_the_board_reads_with_the_same_number_of_queries_at_any_size(signed_in, clinician_a, clinic_a):
    client = signed_in(clinician_a)
    now = timezone.now()

    def add(count):
        for _ in range(count):
            program = active_program(clinic_a, due=now, overdue=now - timedelta(hours=1))
            Flag.objects.create(
                patient=program.patient, program=program, kind=FlagKind.PAIN_FLARE, reason="x", opened_at=now
            )
            in_maintenance = {"phase": Phase.MAINTENANCE, "maintenance_started_at": now - timedelta(days=20)}
            active_program(clinic_a, due=now, **in_maintenance)

    add(2)
    small = board_queries(client)
    add(20)
    # Session, user, roles, savepoints, 15 reads, the audit INSERT. The 15th read is the progress reports
    # section: its rows and its count in one query (the count is a window over the same rows).
    assert board_queries(client) == small <= 27
