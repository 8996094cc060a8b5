"""Appointments in the admin: listed and shown as audited reads, moved only through the services."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.audit.models import Event
from apps.programs import services
from apps.programs.models import Program
from apps.scheduling import booking
from apps.scheduling.models import Appointment
from tests import factories

pytestmark = pytest.mark.django_db
CHANGELIST = reverse("admin:scheduling_appointment_changelist")


def next_weekday_at(hour: int, clinic) -> timezone.datetime:
    local = timezone.localtime(timezone.now(), clinic.tzinfo) + timedelta(days=3)
    while local.weekday() >= 5:
        local += timedelta(days=1)
    return local.replace(hour=hour, minute=0, second=0, microsecond=0)


@pytest.fixture
def appointment(clinician_a, patient_a, clinic_a):
    draft = factories.ProgramFactory(patient=patient_a, prescribed_by=clinician_a)
    program = services.program_start(actor=clinician_a, program=draft)
    Program.objects.filter(pk=program.pk).update(earliest_next_at=timezone.now())
    program.refresh_from_db()
    machine = factories.MachineFactory(clinic=clinic_a)
    start = next_weekday_at(10, clinic_a)
    return booking.appointment_book(actor=clinician_a, program=program, machine=machine, starts_at=start)


def test_staff_list_and_open_appointments_each_an_audited_read(client, clinician_a, appointment):
    client.force_login(clinician_a)
    assert client.get(CHANGELIST).status_code == 200
    page = client.get(reverse("admin:scheduling_appointment_change", args=[appointment.pk]))
    assert page.status_code == 200
    assert "Booking" in page.content.decode()
    reads = Event.objects.filter(action="read", object_type="scheduling.appointment", object_id=str(appointment.pk))
    assert reads.count() == 2


def test_another_clinics_appointment_is_404(client, clinician_b, appointment):
    client.force_login(clinician_b)
    assert client.get(reverse("admin:scheduling_appointment_change", args=[appointment.pk])).status_code == 404
    assert str(appointment.pk) not in client.get(CHANGELIST).content.decode()


def test_there_is_no_add_or_delete_in_the_admin(client, clinician_a, appointment):
    client.force_login(clinician_a)
    assert client.get(reverse("admin:scheduling_appointment_add")).status_code == 403
    assert client.get(reverse("admin:scheduling_appointment_delete", args=[appointment.pk])).status_code == 403


def test_cancel_action_needs_a_reason_and_goes_through_the_service(client, clinician_a, appointment):
    client.force_login(clinician_a)
    post = {"action": "cancel_selected", "_selected_action": [appointment.pk], "cancel_reason": ""}
    page = client.post(CHANGELIST, post, follow=True)
    assert "Say why" in page.content.decode()
    assert Appointment.objects.get().state == "booked"
    client.post(CHANGELIST, {**post, "cancel_reason": "Patient called"}, follow=True)
    cancelled = Appointment.objects.get()
    assert (cancelled.state, cancelled.cancel_reason, cancelled.sequence) == ("cancelled", "Patient called", 1)
    assert Event.objects.filter(action="update", object_type="scheduling.appointment").count() == 1
