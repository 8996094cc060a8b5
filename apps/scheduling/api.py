"""Appointments and free slots on the partner API: list, book, read, cancel; the finder's slots of a program.

A read-write partner token books for the programs of its clinics only, through the same service and
rules as the staff UI (`booking.appointment_book`): a time that is not a free slot of the clinic's
calendar, before the program's earliest next session without a clinician's reason, or on a machine of
another kind is a 400 on its field; a slot someone else has just taken is a 409 `conflict`. Programs
and machines named in a body are looked up among the caller's clinics, so one of another clinic reads
as unknown (400 `does_not_exist`), exactly like a wrong id; an appointment or program in the path or
query string outside them is a 404.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import django_filters
from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from drf_standardized_errors.openapi_serializers import ClientErrorEnum, ErrorResponse404Serializer
from drf_standardized_errors.openapi_validation_errors import extend_validation_errors
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from apps.api import errors, idempotency
from apps.api.bodies import StrictFields
from apps.api.etags import IF_NONE_MATCH, NOT_MODIFIED, detail_response
from apps.api.filters import InstantFilter
from apps.api.permissions import ActionPermission
from apps.audit import events
from apps.clinics.access import machines_for_user
from apps.clinics.api_base import ClinicianField, ScopedAPIView, ScopedGenericAPIView
from apps.clinics.models import Machine
from apps.patients.api import IDEMPOTENCY_HEADER
from apps.patients.selectors import record_get
from apps.programs.models import Program
from apps.scheduling import selectors
from apps.scheduling.booking import TAKEN, SlotTaken, appointment_book
from apps.scheduling.models import Appointment, AppointmentState, BookedVia
from apps.scheduling.visits import appointment_cancel

# Here, beside the only views that book: a slot taken by a racing booking is a 409, not a 500.
errors.conflicts_on(SlotTaken)

MAX_SLOTS = 20
DEFAULT_SLOTS = 3


class AppointmentOutput(serializers.ModelSerializer):
    supervisor = serializers.SlugRelatedField(
        slug_field="username",
        read_only=True,
        allow_null=True,
        help_text="Username of the supervising clinician; null when none is named.",
    )

    class Meta:
        model = Appointment
        fields = [
            "id",
            "patient",
            "program",
            "clinic",
            "machine",
            "supervisor",
            "starts_at",
            "ends_at",
            "state",
            "booked_via",
            "early_reason",
            "checked_in_at",
            "cancelled_at",
            "cancel_reason",
            "cancelled_late",
            "session",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class InstantInputField(serializers.DateTimeField):
    """An ISO 8601 time with its UTC offset, as a UTC instant. A time without an offset is refused:
    the clinic's clock and the partner's can differ, and a guess would book the wrong hour."""

    default_error_messages = {
        "naive": "Give the time with its UTC offset, e.g. 2026-12-17T09:00:00-08:00.",
        "overflow": "Give a time between the years 1 and 9999.",
    }

    def enforce_timezone(self, value: datetime) -> datetime:
        if timezone.is_naive(value):
            self.fail("naive")
        try:
            return value.astimezone(UTC)
        except OverflowError:
            self.fail("overflow")


class AppointmentInput(StrictFields, serializers.Serializer):
    """One slot of the finder: the program, the machine and the start it offered (`GET /api/v1/slots/`)."""

    program = serializers.PrimaryKeyRelatedField(
        queryset=Program.objects.none(), pk_field=serializers.UUIDField(), help_text="Program id."
    )
    machine = serializers.PrimaryKeyRelatedField(
        queryset=Machine.objects.none(), help_text="Machine id, as a slot names it."
    )
    starts_at = InstantInputField(help_text="The slot's start, with its UTC offset.")
    supervisor = ClinicianField(help_text="Username of the clinician who will supervise (optional).")
    early_reason = serializers.CharField(
        max_length=300,
        required=False,
        allow_blank=True,
        default="",
        help_text="Why the patient trains before the minimum rest; only a clinician may book early.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            # Of another clinic reads as "does not exist", like a wrong id.
            self.fields["program"].queryset = Program.objects.for_user(request.user).filter(
                patient__deleted_at__isnull=True
            )
            self.fields["machine"].queryset = machines_for_user(request.user)


class CancelInput(StrictFields, serializers.Serializer):
    reason = serializers.CharField(max_length=300, help_text="Why the appointment is cancelled.")


class SlotQuery(serializers.Serializer):
    program = serializers.UUIDField()
    count = serializers.IntegerField(min_value=1, max_value=MAX_SLOTS, default=DEFAULT_SLOTS)


class SlotOutput(serializers.Serializer):
    machine = serializers.IntegerField(help_text="Machine id: book with it.")
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()


class ConflictError(serializers.Serializer):
    code = serializers.ChoiceField(choices=[errors.Conflict.default_code, idempotency.KeyInFlight.default_code])
    detail = serializers.CharField()
    attr = serializers.CharField(allow_null=True)


class ConflictErrorResponse(serializers.Serializer):
    type = serializers.ChoiceField(choices=ClientErrorEnum.choices)
    errors = ConflictError(many=True)


BOOKING_RESPONSES = {
    status.HTTP_409_CONFLICT: OpenApiResponse(
        ConflictErrorResponse,
        description=f"`conflict`: {TAKEN} Or `idempotency_key_in_use`: {idempotency.KeyInFlight.default_detail}",
    ),
    status.HTTP_422_UNPROCESSABLE_ENTITY: idempotency.KEY_RESPONSES[status.HTTP_422_UNPROCESSABLE_ENTITY],
}


class AppointmentFilter(django_filters.FilterSet):
    updated_since = InstantFilter(
        field_name="updated_at", lookup_expr="gte", help_text="Changed at or after this ISO 8601 time."
    )
    patient = django_filters.UUIDFilter(field_name="patient_id", help_text="Patient id.")
    program = django_filters.UUIDFilter(field_name="program_id", help_text="Program id.")
    clinic = django_filters.NumberFilter(field_name="clinic_id", help_text="Clinic id.")
    machine = django_filters.NumberFilter(field_name="machine_id", help_text="Machine id.")
    state = django_filters.ChoiceFilter(choices=AppointmentState.choices)
    booked_via = django_filters.ChoiceFilter(choices=BookedVia.choices)
    starts_after = InstantFilter(field_name="starts_at", lookup_expr="gte", help_text="Starts at or after.")
    starts_before = InstantFilter(field_name="starts_at", lookup_expr="lt", help_text="Starts before.")

    class Meta:
        model = Appointment
        fields = [
            "updated_since",
            "patient",
            "program",
            "clinic",
            "machine",
            "state",
            "booked_via",
            "starts_after",
            "starts_before",
        ]


def _appointments(user: Any) -> QuerySet[Appointment]:
    return (
        Appointment.objects.for_user(user)
        .filter(patient__deleted_at__isnull=True)
        .select_related("patient", "supervisor")
    )


# What the booking and cancelling services may refuse beyond the input's own checks (each "invalid").
_service_errors = [
    extend_validation_errors(["invalid"], field_name=name, methods=["post"])
    for name in ("program", "machine", "starts_at", "supervisor", "early_reason", "non_field_errors")
]


def _documents_service_errors(view: type) -> type:
    for decorate in _service_errors:
        view = decorate(view)
    return view


@_documents_service_errors
@idempotency.documents_key_errors
class AppointmentListView(ScopedGenericAPIView):
    permission_classes = [ActionPermission]
    required_perms = {"GET": "scheduling.view_appointment", "POST": "scheduling.add_appointment"}
    serializer_class = AppointmentOutput
    filterset_class = AppointmentFilter

    def get_queryset(self) -> QuerySet[Appointment]:
        if getattr(self, "swagger_fake_view", False):  # schema generation: no request, no scope
            return Appointment._base_manager.none()
        return _appointments(self.request.user)

    @extend_schema(
        operation_id="appointments_list",
        summary="List appointments",
        description="Appointments of the patients of your clinics, booked, checked in, completed, cancelled "
        "or missed, oldest change first. Filter by patient, program, clinic, machine, state, how it "
        "was booked, or a start range (`starts_after` ≤ start < `starts_before`).",
        responses=AppointmentOutput(many=True),
    )
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        events.record_reads(objs=page, actor=request.user)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        operation_id="appointments_create",
        summary="Book an appointment",
        examples=[
            OpenApiExample(
                "A slot the finder offered",
                request_only=True,
                value={
                    "program": "6f1c2b9e-4d0a-4c52-9a77-2f4d8e1b3c10",
                    "machine": 3,
                    "starts_at": "2026-03-06T08:30:00+01:00",
                    "supervisor": "pt.meyer",
                },
            )
        ],
        description="Book a slot offered by `GET /api/v1/slots/` for a program of your clinics (read-write "
        "tokens). The clinic's rules apply as for staff: a free slot of its calendar, inside the "
        "booking horizon, on an active machine of the program's kind, not before the program's "
        "earliest next session unless a clinician gives `early_reason`. A slot taken meanwhile is "
        "a 409 `conflict`: fetch the slots again and choose another.",
        request=AppointmentInput,
        responses={201: AppointmentOutput, **BOOKING_RESPONSES},
        parameters=[IDEMPOTENCY_HEADER],
    )
    def post(self, request: Request) -> Response:
        idempotency.request_key(request)  # a malformed key is refused before any work
        given = AppointmentInput(data=request.data, context={"request": request})
        given.is_valid(raise_exception=True)

        def create() -> tuple[int, Any, str]:
            appointment = appointment_book(actor=request.user, **given.validated_data)
            return status.HTTP_201_CREATED, AppointmentOutput(appointment).data, str(appointment.pk)

        return idempotency.create_response(
            request, create, lambda object_id: record_get(Appointment, request.user, object_id)
        )


class AppointmentDetailView(ScopedGenericAPIView):
    permission_classes = [ActionPermission]
    required_perms = {"GET": "scheduling.view_appointment"}
    serializer_class = AppointmentOutput

    @extend_schema(
        operation_id="appointments_retrieve",
        summary="Read an appointment",
        description=(
            "One appointment of a patient of your clinics: its program, machine, start and end, state (booked, "
            "checked in, completed, no-show, cancelled) and the session recorded from it, with an `ETag` for "
            "`If-None-Match` (304 while unchanged). Another clinic's, or none, is 404 alike. Audited."
        ),
        parameters=[IF_NONE_MATCH],
        responses={200: AppointmentOutput, **NOT_MODIFIED},
    )
    def get(self, request: Request, appointment_id: uuid.UUID) -> Response:
        return detail_response(request, record_get(Appointment, request.user, appointment_id), AppointmentOutput)


@extend_validation_errors(["invalid"], field_name="state", methods=["post"])
@idempotency.documents_key_errors
class AppointmentCancelView(ScopedGenericAPIView):
    permission_classes = [ActionPermission]
    required_perms = {"POST": "scheduling.change_appointment"}
    serializer_class = AppointmentOutput

    @extend_schema(
        operation_id="appointments_cancel",
        summary="Cancel an appointment",
        examples=[OpenApiExample("The patient is ill", request_only=True, value={"reason": "Patient called in sick."})],
        description="Cancel a booked or checked-in appointment and free its machine (read-write tokens). "
        "Inside the clinic's late-cancellation window it is recorded as late (`cancelled_late`). "
        "An appointment that is already cancelled, completed or missed is a 400 on `state`.",
        request=CancelInput,
        responses={200: AppointmentOutput, **idempotency.KEY_RESPONSES},
        parameters=[IDEMPOTENCY_HEADER],
    )
    def post(self, request: Request, appointment_id: uuid.UUID) -> Response:
        idempotency.request_key(request)
        appointment = record_get(Appointment, request.user, appointment_id, audit=False)
        given = CancelInput(data=request.data)
        given.is_valid(raise_exception=True)

        def cancel() -> tuple[int, Any, str]:
            cancelled = appointment_cancel(actor=request.user, appointment=appointment, **given.validated_data)
            return status.HTTP_200_OK, AppointmentOutput(cancelled).data, str(cancelled.pk)

        return idempotency.create_response(
            request, cancel, lambda object_id: record_get(Appointment, request.user, object_id)
        )


@extend_validation_errors(["invalid", "required", "null"], field_name="program", methods=["get"])
@extend_validation_errors(["invalid", "max_value", "min_value"], field_name="count", methods=["get"])
class SlotListView(ScopedAPIView):
    permission_classes = [ActionPermission]
    required_perms = {"GET": "scheduling.view_appointment"}

    @extend_schema(
        operation_id="slots_list",
        summary="Free slots for a program",
        description="The next free slots a program may be booked into, best first (closest to its due "
        "time, never before its earliest next session), each a machine and a start and end in UTC. "
        f"Not paginated: ask for up to {MAX_SLOTS} with `count`. A program outside your clinics is 404.",
        parameters=[
            OpenApiParameter("program", OpenApiTypes.UUID, required=True, description="Program id."),
            OpenApiParameter(
                "count", OpenApiTypes.INT, description=f"How many slots (1-{MAX_SLOTS}, default {DEFAULT_SLOTS})."
            ),
        ],
        responses={200: SlotOutput(many=True), 404: ErrorResponse404Serializer},
    )
    def get(self, request: Request) -> Response:
        query = SlotQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        # The slots follow from the program's rest window and due time: read as a read of the program.
        program = record_get(Program, request.user, query.validated_data["program"])
        offered = selectors.offer_slots(program, now=timezone.now(), count=query.validated_data["count"])
        return Response(SlotOutput(offered, many=True).data)
