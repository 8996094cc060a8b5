"""Strength tests, questionnaires and progress on the API.

Recording goes through the assessments services, which announce the new row
(apps.assessments.signals) so that the apps above, which this one cannot import, bring the
patient's program up to date in the same transaction.

A read-write partner token records tests and questionnaires on behalf of a clinician it names in
`recorded_by` (a token is not a person; the record names who did it, the audit trail names the
partner). Staff signed in record as themselves and leave `recorded_by` out.
"""

from __future__ import annotations

import uuid
from typing import Any

import django_filters
from django.db.models import Model, QuerySet
from drf_spectacular.utils import extend_schema
from drf_standardized_errors.openapi_validation_errors import extend_validation_errors
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from apps.api import idempotency
from apps.api.bodies import StrictFields
from apps.api.etags import IF_NONE_MATCH, NOT_MODIFIED, detail_response
from apps.api.filters import InstantFilter
from apps.api.permissions import ActionPermission
from apps.assessments import api_docs as docs
from apps.assessments import selectors, services
from apps.assessments.models import (
    Instrument,
    QuestionnaireResponse,
    StrengthTest,
    StrengthTestPoint,
    TorqueUnit,
)
from apps.audit import events
from apps.clinics.access import machines_for_user
from apps.clinics.api_base import ClinicianField, ScopedGenericAPIView
from apps.clinics.models import Machine
from apps.patients.api import IDEMPOTENCY_HEADER
from apps.patients.models import Region
from apps.patients.selectors import access_patient, patient_get, record_get


class StrengthTestPointOutput(serializers.ModelSerializer):
    class Meta:
        model = StrengthTestPoint
        fields = ["angle_deg", "torque", "unit", "torque_nm"]
        read_only_fields = fields


class StrengthTestOutput(serializers.ModelSerializer):
    points = StrengthTestPointOutput(many=True, read_only=True, help_text="As captured (torque, unit) and in N·m.")

    class Meta:
        model = StrengthTest
        fields = [
            "id",
            "patient",
            "clinic",
            "machine",
            "region",
            "performed_at",
            "is_familiarization",
            "rom_min_deg",
            "rom_max_deg",
            "pain_before",
            "pain_after",
            "peak_torque_nm",
            "strength_index_nm_deg",
            "points",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class QuestionnaireOutput(serializers.ModelSerializer):
    class Meta:
        model = QuestionnaireResponse
        fields = [
            "id",
            "patient",
            "clinic",
            "instrument",
            "completed_at",
            "answers",
            "score",
            "percent",
            "band",
            "answered",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


RECORDED_BY_HELP = "Username of the clinician who did it. Required from partner tokens; staff leave it out."


class QuestionnaireInput(StrictFields, serializers.Serializer):
    instrument = serializers.ChoiceField(choices=Instrument.choices)
    completed_at = serializers.DateTimeField()
    answers = serializers.JSONField(help_text="ODI/NDI: ten section scores 0-5 or null; pain NRS: [rating].")
    recorded_by = ClinicianField(help_text=RECORDED_BY_HELP)


class PointInput(StrictFields, serializers.Serializer):
    angle_deg = serializers.IntegerField(min_value=0, max_value=180)
    torque = serializers.DecimalField(max_digits=8, decimal_places=2, min_value=0)


class StrengthTestInput(StrictFields, serializers.Serializer):
    """`machine` is looked up among the caller's clinics' machines like any other id."""

    machine = serializers.PrimaryKeyRelatedField(queryset=Machine.objects.none())
    performed_at = serializers.DateTimeField()
    rom_min_deg = serializers.IntegerField(min_value=0, max_value=180)
    rom_max_deg = serializers.IntegerField(min_value=0, max_value=180)
    points = PointInput(many=True, help_text="Torque at each standard angle, in `unit`.")
    unit = serializers.ChoiceField(
        choices=TorqueUnit.choices, required=False, help_text="The machine's unit if omitted."
    )
    pain_before = serializers.IntegerField(min_value=0, max_value=10, required=False, allow_null=True)
    pain_after = serializers.IntegerField(min_value=0, max_value=10, required=False, allow_null=True)
    recorded_by = ClinicianField(help_text=RECORDED_BY_HELP)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            self.fields["machine"].queryset = machines_for_user(request.user)

    def to_service(self) -> dict[str, Any]:
        data = dict(self.validated_data)
        data["points"] = [(point["angle_deg"], point["torque"]) for point in data["points"]]
        return data


class StrengthTestFilter(django_filters.FilterSet):
    updated_since = InstantFilter(
        field_name="updated_at", lookup_expr="gte", help_text="Changed at or after this ISO 8601 time."
    )
    region = django_filters.ChoiceFilter(choices=Region.choices)
    performed_after = InstantFilter(field_name="performed_at", lookup_expr="gte")
    performed_before = InstantFilter(field_name="performed_at", lookup_expr="lt")

    class Meta:
        model = StrengthTest
        fields = ["updated_since", "region", "performed_after", "performed_before"]


class QuestionnaireFilter(django_filters.FilterSet):
    updated_since = InstantFilter(
        field_name="updated_at", lookup_expr="gte", help_text="Changed at or after this ISO 8601 time."
    )
    instrument = django_filters.ChoiceFilter(choices=Instrument.choices)
    completed_after = InstantFilter(field_name="completed_at", lookup_expr="gte")
    completed_before = InstantFilter(field_name="completed_at", lookup_expr="lt")

    class Meta:
        model = QuestionnaireResponse
        fields = ["updated_since", "instrument", "completed_after", "completed_before"]


class _PatientRecordListView(ScopedGenericAPIView):
    permission_classes = [ActionPermission]
    model: type[Model]
    related: tuple[str, ...] = ()

    def get_queryset(self) -> QuerySet[Any]:
        if getattr(self, "swagger_fake_view", False):  # schema generation: no request, no scope
            return self.model._base_manager.none()
        patient = access_patient(user=self.request.user, patient_id=self.kwargs["patient_id"])
        rows = self.model.objects.for_user(self.request.user).of_patient(patient)
        return rows.select_related("patient").prefetch_related(*self.related)

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        events.record_reads(objs=page, actor=request.user)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


@idempotency.documents_key_errors
@extend_validation_errors(["invalid"], field_name="points", methods=["post"])  # the machine's angles (service)
class StrengthTestListView(_PatientRecordListView):
    permission_classes = [ActionPermission]
    required_perms = {"GET": "assessments.view_strengthtest", "POST": "assessments.add_strengthtest"}
    serializer_class = StrengthTestOutput
    filterset_class = StrengthTestFilter
    model = StrengthTest
    related = ("points",)

    @extend_schema(
        operation_id="patients_strength_tests_list", responses=StrengthTestOutput(many=True), **docs.TESTS_LIST
    )
    def get(self, request: Request, patient_id: uuid.UUID) -> Response:
        return self.list(request)

    @extend_schema(
        operation_id="patients_strength_tests_create",
        **docs.TEST_CREATE,
        request=StrengthTestInput,
        responses={201: StrengthTestOutput, **idempotency.KEY_RESPONSES},
        parameters=[IDEMPOTENCY_HEADER],
    )
    def post(self, request: Request, patient_id: uuid.UUID) -> Response:
        idempotency.request_key(request)  # a malformed key is refused before any work
        patient = access_patient(user=request.user, patient_id=patient_id)
        given = StrengthTestInput(data=request.data, context={"request": request})
        given.is_valid(raise_exception=True)

        def create() -> tuple[int, Any, str]:
            test = services.strength_test_record(actor=request.user, patient=patient, **given.to_service())
            return status.HTTP_201_CREATED, StrengthTestOutput(test).data, str(test.pk)

        return idempotency.create_response(
            request, create, lambda object_id: record_get(StrengthTest, request.user, object_id)
        )


class StrengthTestDetailView(ScopedGenericAPIView):
    permission_classes = [ActionPermission]
    required_perms = {"GET": "assessments.view_strengthtest"}
    serializer_class = StrengthTestOutput

    @extend_schema(
        operation_id="strength_tests_retrieve",
        **docs.TEST_READ,
        parameters=[IF_NONE_MATCH],
        responses={200: StrengthTestOutput, **NOT_MODIFIED},
    )
    def get(self, request: Request, test_id: uuid.UUID) -> Response:
        return detail_response(request, record_get(StrengthTest, request.user, test_id, "points"), StrengthTestOutput)


@idempotency.documents_key_errors
class QuestionnaireListView(_PatientRecordListView):
    permission_classes = [ActionPermission]
    required_perms = {"GET": "assessments.view_questionnaireresponse", "POST": "assessments.add_questionnaireresponse"}
    serializer_class = QuestionnaireOutput
    filterset_class = QuestionnaireFilter
    model = QuestionnaireResponse

    @extend_schema(
        operation_id="patients_questionnaires_list",
        responses=QuestionnaireOutput(many=True),
        **docs.QUESTIONNAIRES_LIST,
    )
    def get(self, request: Request, patient_id: uuid.UUID) -> Response:
        return self.list(request)

    @extend_schema(
        operation_id="patients_questionnaires_create",
        **docs.QUESTIONNAIRE_CREATE,
        request=QuestionnaireInput,
        responses={201: QuestionnaireOutput, **idempotency.KEY_RESPONSES},
        parameters=[IDEMPOTENCY_HEADER],
    )
    def post(self, request: Request, patient_id: uuid.UUID) -> Response:
        idempotency.request_key(request)  # a malformed key is refused before any work
        patient = access_patient(user=request.user, patient_id=patient_id)
        given = QuestionnaireInput(data=request.data, context={"request": request})
        given.is_valid(raise_exception=True)

        def create() -> tuple[int, Any, str]:
            answered = services.questionnaire_record(actor=request.user, patient=patient, **given.validated_data)
            return status.HTTP_201_CREATED, QuestionnaireOutput(answered).data, str(answered.pk)

        return idempotency.create_response(
            request, create, lambda object_id: record_get(QuestionnaireResponse, request.user, object_id)
        )


class QuestionnaireDetailView(ScopedGenericAPIView):
    permission_classes = [ActionPermission]
    required_perms = {"GET": "assessments.view_questionnaireresponse"}
    serializer_class = QuestionnaireOutput

    @extend_schema(
        operation_id="questionnaires_retrieve",
        **docs.QUESTIONNAIRE_READ,
        parameters=[IF_NONE_MATCH],
        responses={200: QuestionnaireOutput, **NOT_MODIFIED},
    )
    def get(self, request: Request, response_id: uuid.UUID) -> Response:
        answered = record_get(QuestionnaireResponse, request.user, response_id)
        return detail_response(request, answered, QuestionnaireOutput)


class AngleChangeOutput(serializers.Serializer):
    angle_deg = serializers.DecimalField(max_digits=5, decimal_places=1)
    before = serializers.DecimalField(max_digits=8, decimal_places=2, help_text="Baseline torque, N·m.")
    after = serializers.DecimalField(max_digits=8, decimal_places=2, help_text="Latest torque, N·m.")
    change_pct = serializers.DecimalField(max_digits=8, decimal_places=1, allow_null=True)


class StrengthProgressOutput(serializers.Serializer):
    region = serializers.ChoiceField(choices=Region.choices)
    angles = AngleChangeOutput(many=True, help_text="The angles the baseline and latest test share, ascending.")
    index_before = serializers.DecimalField(max_digits=10, decimal_places=1, help_text="N·m·deg.")
    index_after = serializers.DecimalField(max_digits=10, decimal_places=1, help_text="N·m·deg.")
    index_change_pct = serializers.DecimalField(max_digits=8, decimal_places=1, allow_null=True)


class ScoreProgressOutput(serializers.Serializer):
    instrument = serializers.ChoiceField(choices=Instrument.choices)
    change = serializers.DecimalField(
        max_digits=5, decimal_places=1, help_text="Baseline minus latest; positive is better."
    )
    relative_pct = serializers.DecimalField(max_digits=8, decimal_places=1, allow_null=True)
    important = serializers.BooleanField(help_text="A clinically important improvement.")
    criteria = serializers.ListField(child=serializers.CharField(), help_text="Thresholds met: points, percent.")


class ProgressOutput(serializers.Serializer):
    patient = serializers.UUIDField()
    strength = StrengthProgressOutput(many=True, help_text="Latest test vs baseline, per region with a retest.")
    scores = ScoreProgressOutput(many=True, help_text="Latest vs first response, per instrument with two.")


class ProgressView(ScopedGenericAPIView):
    permission_classes = [ActionPermission]
    required_perms = {"GET": "assessments.view_strengthtest"}
    serializer_class = ProgressOutput

    @extend_schema(operation_id="patients_progress_retrieve", responses={200: ProgressOutput}, **docs.PROGRESS)
    def get(self, request: Request, patient_id: uuid.UUID) -> Response:
        patient = patient_get(user=request.user, patient_id=patient_id)
        strength = [
            {"region": region, **vars(comparison)}
            for region in Region.values
            if (comparison := selectors.strength_progress(patient=patient, region=region)) is not None
        ]
        scores = [
            {"instrument": instrument, **vars(change)}
            for instrument in Instrument.values
            if (change := selectors.score_progress(patient=patient, instrument=instrument)) is not None
        ]
        return Response(ProgressOutput({"patient": patient.pk, "strength": strength, "scores": scores}).data)
