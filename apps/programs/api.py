"""Programs, their sessions and flags on the partner API.

Programs and flags are read here; sessions are read and recorded. A read-write partner token
records a session on behalf of the clinician who supervised the set, named in `supervisor`;
staff signed in record as themselves.
"""

from __future__ import annotations

import uuid
from typing import Any

import django_filters
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from apps.api import idempotency
from apps.api.bodies import StrictFields
from apps.api.etags import IF_NONE_MATCH, NOT_MODIFIED, detail_response
from apps.api.filters import InstantFilter
from apps.api.permissions import ActionPermission
from apps.audit import events
from apps.clinics.access import machines_for_user
from apps.clinics.api_base import ClinicianField, ScopedGenericAPIView
from apps.clinics.models import Machine
from apps.patients.api import IDEMPOTENCY_HEADER
from apps.patients.selectors import record_get
from apps.programs import api_docs as docs
from apps.programs.models import (
    Flag,
    FlagKind,
    Phase,
    Program,
    ProgramStatus,
    ProposalAction,
    SessionStatus,
    TrainingSession,
)
from apps.programs.sessions import session_record

UPDATED_SINCE_HELP = "Changed at or after this ISO 8601 time."


def proposal_action_field() -> serializers.ChoiceField:
    # Declared, not generated: a read-only model field loses `blank=True`, and the schema would then
    # leave "" (no proposal yet) out of the enum.
    return serializers.ChoiceField(choices=ProposalAction.choices, allow_blank=True, read_only=True)


class ProgramOutput(serializers.ModelSerializer):
    proposal_action = proposal_action_field()

    class Meta:
        model = Program
        fields = [
            "id",
            "patient",
            "clinic",
            "region",
            "machine_kind",
            "load_unit",
            "status",
            "status_reason",
            "sessions_per_week",
            "planned_weeks",
            "rep_min",
            "rep_max",
            "tul_min_s",
            "tul_max_s",
            "progression_step_pct",
            "min_rest_hours",
            "phase",
            "maintenance_interval_weeks",
            "maintenance_started_at",
            "start_load",
            "started_at",
            "ended_at",
            "current_load",
            "proposed_load",
            "proposal_action",
            "proposal_reason",
            "completed_sessions",
            "last_completed_at",
            "earliest_next_at",
            "next_due_at",
            "overdue_at",
            "lapse_at",
            "detrained_at",
            "attendance",
            "questionnaire_due_at",
            "retest_due_at",
            "physician_review_due_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class SessionOutput(serializers.ModelSerializer):
    proposal_action = proposal_action_field()

    class Meta:
        model = TrainingSession
        fields = [
            "id",
            "program",
            "patient",
            "clinic",
            "machine",
            "performed_at",
            "status",
            "phase",
            "rom_min_deg",
            "rom_max_deg",
            "load",
            "load_unit",
            "reps",
            "time_under_load_s",
            "reached_failure",
            "pain_before",
            "pain_after",
            "adverse_event",
            "red_flag_reported",
            "proposed_load",
            "proposal_action",
            "proposal_reason",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class FlagOutput(serializers.ModelSerializer):
    class Meta:
        model = Flag
        fields = [
            "id",
            "patient",
            "program",
            "kind",
            "reason",
            "opened_at",
            "resolved_at",
            "resolution",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class ProgramFilter(django_filters.FilterSet):
    updated_since = InstantFilter(field_name="updated_at", lookup_expr="gte", help_text=UPDATED_SINCE_HELP)
    patient = django_filters.UUIDFilter(field_name="patient_id", help_text="Patient id.")
    status = django_filters.ChoiceFilter(choices=ProgramStatus.choices)
    phase = django_filters.ChoiceFilter(choices=Phase.choices)

    class Meta:
        model = Program
        fields = ["updated_since", "patient", "status", "phase"]


class SessionFilter(django_filters.FilterSet):
    updated_since = InstantFilter(field_name="updated_at", lookup_expr="gte", help_text=UPDATED_SINCE_HELP)
    patient = django_filters.UUIDFilter(field_name="patient_id", help_text="Patient id.")
    status = django_filters.ChoiceFilter(choices=SessionStatus.choices)
    phase = django_filters.ChoiceFilter(choices=Phase.choices)
    performed_after = InstantFilter(field_name="performed_at", lookup_expr="gte")
    performed_before = InstantFilter(field_name="performed_at", lookup_expr="lt")

    class Meta:
        model = TrainingSession
        fields = ["updated_since", "patient", "status", "phase", "performed_after", "performed_before"]


class FlagFilter(django_filters.FilterSet):
    updated_since = InstantFilter(field_name="updated_at", lookup_expr="gte", help_text=UPDATED_SINCE_HELP)
    patient = django_filters.UUIDFilter(field_name="patient_id", help_text="Patient id.")
    kind = django_filters.ChoiceFilter(choices=FlagKind.choices)
    open = django_filters.BooleanFilter(field_name="resolved_at", lookup_expr="isnull", help_text="Unresolved (true).")

    class Meta:
        model = Flag
        fields = ["updated_since", "patient", "kind", "open"]


class SessionInput(StrictFields, serializers.Serializer):
    """A set on a machine: what the recording form asks. The proposal in force comes from the program."""

    machine = serializers.PrimaryKeyRelatedField(queryset=Machine.objects.none())
    performed_at = serializers.DateTimeField()
    status = serializers.ChoiceField(choices=SessionStatus.choices, required=False)
    load = serializers.DecimalField(max_digits=7, decimal_places=2, min_value=0, help_text="In the machine's unit.")
    reps = serializers.IntegerField(min_value=0, max_value=50)
    time_under_load_s = serializers.IntegerField(min_value=0, max_value=300)
    reached_failure = serializers.BooleanField()
    pain_before = serializers.IntegerField(min_value=0, max_value=10)
    pain_after = serializers.IntegerField(min_value=0, max_value=10)
    rom_min_deg = serializers.IntegerField(min_value=0, max_value=180, required=False, allow_null=True)
    rom_max_deg = serializers.IntegerField(min_value=0, max_value=180, required=False, allow_null=True)
    adverse_event = serializers.BooleanField(required=False)
    adverse_event_note = serializers.CharField(max_length=500, required=False, allow_blank=True)
    red_flag_reported = serializers.BooleanField(required=False)
    override_reason = serializers.CharField(
        max_length=300, required=False, allow_blank=True, help_text="Why the load differs from the proposal."
    )
    early_reason = serializers.CharField(
        max_length=300, required=False, allow_blank=True, help_text="Why the set comes before the recovery window."
    )
    supervisor = ClinicianField(
        help_text="Username of the clinician who supervised the set. Required from partner tokens; staff leave it out."
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            self.fields["machine"].queryset = machines_for_user(request.user)


class _ListView(ScopedGenericAPIView):
    """A list of clinic-scoped rows: gate, filter, cursor page, one audited read per row shown."""

    permission_classes = [ActionPermission]

    def rows(self) -> QuerySet[Any]:
        raise NotImplementedError

    def get_queryset(self) -> QuerySet[Any]:
        if getattr(self, "swagger_fake_view", False):  # schema generation: no request, no scope
            return self.serializer_class.Meta.model._base_manager.none()
        return self.rows().select_related("patient")

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        events.record_reads(objs=page, actor=request.user)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


class ProgramListView(_ListView):
    required_perms = {"GET": "programs.view_program"}
    serializer_class = ProgramOutput
    filterset_class = ProgramFilter

    def rows(self) -> QuerySet[Program]:
        return Program.objects.for_user(self.request.user).filter(patient__deleted_at__isnull=True)

    @extend_schema(operation_id="programs_list", responses=ProgramOutput(many=True), **docs.PROGRAMS_LIST)
    def get(self, request: Request) -> Response:
        return self.list(request)


class ProgramDetailView(ScopedGenericAPIView):
    permission_classes = [ActionPermission]
    required_perms = {"GET": "programs.view_program"}
    serializer_class = ProgramOutput

    @extend_schema(
        operation_id="programs_retrieve",
        parameters=[IF_NONE_MATCH],
        responses={200: ProgramOutput, **NOT_MODIFIED},
        **docs.PROGRAM_READ,
    )
    def get(self, request: Request, program_id: uuid.UUID) -> Response:
        return detail_response(request, record_get(Program, request.user, program_id), ProgramOutput)


@idempotency.documents_key_errors
class ProgramSessionListView(_ListView):
    required_perms = {"GET": "programs.view_trainingsession", "POST": "programs.add_trainingsession"}
    serializer_class = SessionOutput
    filterset_class = SessionFilter

    def rows(self) -> QuerySet[TrainingSession]:
        program = record_get(Program, self.request.user, self.kwargs["program_id"], audit=False)
        return TrainingSession.objects.for_user(self.request.user).filter(program=program)

    @extend_schema(
        operation_id="programs_sessions_list", responses=SessionOutput(many=True), **docs.SESSIONS_OF_PROGRAM
    )
    def get(self, request: Request, program_id: uuid.UUID) -> Response:
        return self.list(request)

    @extend_schema(
        operation_id="programs_sessions_create",
        **docs.SESSION_CREATE,
        request=SessionInput,
        responses={201: SessionOutput, **idempotency.KEY_RESPONSES},
        parameters=[IDEMPOTENCY_HEADER],
    )
    def post(self, request: Request, program_id: uuid.UUID) -> Response:
        idempotency.request_key(request)  # a malformed key is refused before any work
        program = record_get(Program, request.user, program_id, audit=False)
        given = SessionInput(data=request.data, context={"request": request})
        given.is_valid(raise_exception=True)

        def create() -> tuple[int, Any, str]:
            session = session_record(actor=request.user, program=program, **given.validated_data)
            return status.HTTP_201_CREATED, SessionOutput(session).data, str(session.pk)

        return idempotency.create_response(
            request, create, lambda object_id: record_get(TrainingSession, request.user, object_id)
        )


class SessionListView(_ListView):
    required_perms = {"GET": "programs.view_trainingsession"}
    serializer_class = SessionOutput
    filterset_class = SessionFilter

    def rows(self) -> QuerySet[TrainingSession]:
        return TrainingSession.objects.for_user(self.request.user).filter(patient__deleted_at__isnull=True)

    @extend_schema(operation_id="sessions_list", responses=SessionOutput(many=True), **docs.SESSIONS_LIST)
    def get(self, request: Request) -> Response:
        return self.list(request)


class FlagListView(_ListView):
    required_perms = {"GET": "programs.view_flag"}
    serializer_class = FlagOutput
    filterset_class = FlagFilter

    def rows(self) -> QuerySet[Flag]:
        return Flag.objects.for_user(self.request.user).filter(patient__deleted_at__isnull=True)

    @extend_schema(operation_id="flags_list", responses=FlagOutput(many=True), **docs.FLAGS_LIST)
    def get(self, request: Request) -> Response:
        return self.list(request)
