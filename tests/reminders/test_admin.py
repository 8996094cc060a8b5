"""Reminders in the admin (read-only, scoped, 404 outside the user's clinics, counts by state per
clinic, history on the patient page), the staff selectors, and the dry-run command."""

from __future__ import annotations

import uuid
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from apps.audit.models import Event
from apps.reminders import selectors
from apps.reminders.models import Reminder, ReminderKind, ReminderState
from tests import factories
from tests.reminders.conftest import due_programs

CHANGELIST = "admin:reminders_reminder_changelist"
CHANGE = "admin:reminders_reminder_change"


@pytest.fixture
def reminder_a(patient_a):
    return factories.ReminderFactory(program__patient=patient_a, state=ReminderState.SENT, **sent())


@pytest.fixture
def reminder_b(patient_b):
    return factories.ReminderFactory(program__patient=patient_b)


def sent() -> dict:
    return {"sent_at": timezone.now(), "message_id": "<reminder.x@localhost>", "attempts": 1}


def test_a_clinician_lists_the_reminders_of_their_clinics_only_and_the_reads_are_audited(
    signed_in, clinician_a, reminder_a, reminder_b
):
    response = signed_in(clinician_a).get(reverse(CHANGELIST))

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [reminder_a]
    assert Event.objects.filter(action="read", object_type="reminders.reminder").count() == 1


def test_another_clinics_reminder_is_404_and_its_own_is_shown_read_only(signed_in, clinician_a, reminder_a, reminder_b):
    client = signed_in(clinician_a)

    assert client.get(reverse(CHANGE, args=[reminder_b.pk])).status_code == 404
    own = client.get(reverse(CHANGE, args=[reminder_a.pk]))
    assert own.status_code == 200
    assert b'name="_save"' not in own.content
    assert client.post(reverse(CHANGE, args=[reminder_a.pk]), {"state": "pending"}).status_code == 403
    assert client.get(reverse("admin:reminders_reminder_add")).status_code == 403
    assert client.post(reverse("admin:reminders_reminder_delete", args=[reminder_a.pk])).status_code == 403
    assert Reminder.objects.get(pk=reminder_a.pk).state == ReminderState.SENT


def test_the_list_shows_counts_by_state_for_each_clinic_the_user_sees(
    signed_in, clinician_a, org_admin, clinic_a, clinic_b, reminder_a, reminder_b
):
    factories.ReminderFactory(program__patient__clinic=clinic_a, state=ReminderState.FAILED, last_error="SMTP 550")

    mine = signed_in(clinician_a).get(reverse(CHANGELIST))
    rows = {clinic.name: counts for clinic, counts, _total in mine.context["reminder_count_rows"]}
    everyone = signed_in(org_admin).get(reverse(CHANGELIST))

    states = [state for state, _label in mine.context["reminder_count_states"]]
    assert list(rows) == ["Clinic A"]
    assert dict(zip(states, rows["Clinic A"], strict=True)) == {
        "pending": 0,
        "sending": 0,
        "sent": 1,
        "failed": 1,
        "cancelled": 0,
    }
    assert b'id="reminder-counts"' in mine.content
    assert [clinic.name for clinic, _c, _t in everyone.context["reminder_count_rows"]] == ["Clinic A", "Clinic B"]


def test_the_patient_page_shows_the_reminder_history(signed_in, clinician_a, patient_a, reminder_a):
    response = signed_in(clinician_a).get(reverse("admin:patients_patient_change", args=[patient_a.pk]))

    assert response.status_code == 200
    assert b"Reminder history" in response.content
    assert b"Next session due" in response.content


def test_reminder_history_lists_the_patients_reminders_newest_due_first(patient_a, patient_b, reminder_b):
    older = factories.ReminderFactory(program__patient=patient_a, due_at=timezone.now() - timedelta(days=4))
    newer = factories.ReminderFactory(
        program=older.program, kind=ReminderKind.OVERDUE, due_at=timezone.now() - timedelta(hours=2)
    )

    assert list(selectors.reminder_history(patient=patient_a)) == [newer, older]


def test_counts_by_clinic_cover_a_recent_window(superuser, clinic_a, patient_a):
    recent = factories.ReminderFactory(program__patient=patient_a)
    factories.ReminderFactory(program=recent.program, due_at=timezone.now() - timedelta(days=40))

    counts = {
        row.clinic.name: row.counts for row in selectors.reminder_counts_by_clinic(user=superuser, now=timezone.now())
    }

    assert counts["Clinic A"]["pending"] == 1


# --- manage.py reminders_due --------------------------------------------------------------------


def test_the_dry_run_prints_what_would_be_sent_now_and_changes_nothing(open_clinic):
    programs = due_programs(open_clinic, 2)
    stuck = factories.ReminderFactory(
        program=programs[0],
        state=ReminderState.SENDING,
        claim=uuid.uuid4(),
        lease_until=timezone.now() - timedelta(minutes=1),
        attempts=1,
    )
    before = (list(Reminder.objects.order_by("pk").values()), Event.objects.count())
    out = StringIO()

    call_command("reminders_due", "--dry-run", stdout=out)

    lines = out.getvalue().splitlines()
    assert (list(Reminder.objects.order_by("pk").values()), Event.objects.count()) == before
    assert len([line for line in lines if "session_due" in line]) == 2
    assert any(str(stuck.pk) in line for line in lines)  # a claim lost with its worker would go again
    assert lines[-1] == "Dry run, nothing changed: 2 to send, 1 new due, 0 cancelled, 1 recovered from lost workers."
    assert all(str(program.patient_id) in out.getvalue() for program in programs)
    assert all(f"{program.patient.family_name}\n" not in out.getvalue() for program in programs)


def test_without_dry_run_the_command_sweeps_once(open_clinic, django_capture_on_commit_callbacks):
    due_programs(open_clinic, 2)
    out = StringIO()

    with django_capture_on_commit_callbacks() as enqueued:
        call_command("reminders_due", stdout=out)

    assert Reminder.objects.filter(state=ReminderState.PENDING, enqueued_at__isnull=False).count() == 2
    assert len(enqueued) == 1
    assert out.getvalue().startswith("Swept 2 to send")
