"""Forms of the appointment pages: book a slot, cancel, record the session of a checked-in appointment.

Each saves through one service call (`ServiceForm`); the services hold every rule. A slot another
booking took first (`SlotTaken`) is a form error like any other refusal, and nothing is written.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils import timezone

from apps.clinics.models import Machine
from apps.programs import sessions
from apps.programs.models import Program, TrainingSession
from apps.scheduling import booking, visits
from apps.scheduling.booking import SlotTaken
from apps.scheduling.models import Appointment
from apps.web.forms import ServiceForm
from apps.web.recording_forms import SessionForm


class BookForm(ServiceForm):
    """Book `program` into one slot of `machine`; before the rest window ends only with a clinician's reason."""

    early_reason = forms.CharField(
        max_length=300,
        required=False,
        label="Why before the rest window ends (clinicians only)",
        widget=forms.Textarea({"rows": 2}),
    )

    def __init__(self, *args: Any, program: Program, machine: Machine, starts_at: datetime, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.program, self.machine, self.starts_at = program, machine, starts_at

    def submit(self, actor: Any) -> Appointment | None:
        try:
            return super().submit(actor)
        except SlotTaken as taken:  # the savepoint is rolled back: nothing of this booking remains
            self.add_error(None, taken.message)
            return None

    def perform(self, actor: Any) -> Appointment:
        return booking.appointment_book(
            actor=actor,
            program=self.program,
            machine=self.machine,
            starts_at=self.starts_at,
            early_reason=self.cleaned_data["early_reason"],
            now=timezone.now(),
        )


class CancelForm(ServiceForm):
    cancel_reason = forms.CharField(max_length=300, label="Reason for cancelling")

    def __init__(self, *args: Any, appointment: Appointment, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.appointment = appointment

    def perform(self, actor: Any) -> Appointment:
        return visits.appointment_cancel(
            actor=actor, appointment=self.appointment, reason=self.cleaned_data["cancel_reason"], now=timezone.now()
        )


def session_moment(appointment: Appointment, now: datetime) -> datetime:
    """When the session of an appointment began: its start, or the check-in if later; never in the future."""
    began = max(appointment.starts_at, appointment.checked_in_at or appointment.starts_at)
    return min(began, now)


class AppointmentSessionForm(SessionForm):
    """The session form, with the appointment's program, machine and time filled in; saving records the
    session and completes the appointment in one transaction (`visits.session_record_from`)."""

    def __init__(self, *args: Any, appointment: Appointment, machines: QuerySet[Machine], **kwargs: Any) -> None:
        super().__init__(*args, program=appointment.program, machines=machines, **kwargs)
        self.appointment = appointment
        self.moment = session_moment(appointment, timezone.now())
        self.fields["performed_at"].initial = self.moment
        if any(machine.pk == appointment.machine_id for machine in machines):
            self.default_machine = appointment.machine
            self.fields["machine"].initial = appointment.machine_id
            self._fit_to(appointment.machine)

    def proposal_inputs(self) -> tuple[Machine | None, datetime]:
        machine, _ = super().proposal_inputs()
        posted = self.cleaned_data.get("performed_at") if hasattr(self, "cleaned_data") else None
        return machine, posted or self.moment

    def perform(self, actor: Any) -> TrainingSession:
        given = {name: self.cleaned_data[name] for name in sessions.SESSION_INPUTS}
        return visits.session_record_from(actor=actor, appointment=self.appointment, now=timezone.now(), **given)
