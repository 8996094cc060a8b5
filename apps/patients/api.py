"""Patients on the partner API: list (incremental sync), create, read, update."""

from __future__ import annotations

import uuid
from typing import Any

import django_filters
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from apps.api import idempotency
from apps.api.bodies import StrictFields
from apps.api.etags import IF_NONE_MATCH, NOT_MODIFIED, detail_response, etag_of
from apps.api.filters import InstantFilter
from apps.api.permissions import ActionPermission
from apps.audit import events
from apps.audit.subjects import Subject
from apps.clinics.access import clinics_for_user
from apps.clinics.api_base import ScopedGenericAPIView
from apps.clinics.models import Clinic
from apps.patients.fields import EDITABLE_FIELDS
from apps.patients.models import Patient
from apps.patients.selectors import access_patient, patient_get, patient_list
from apps.patients.services import patient_create, patient_update


class PatientOutput(serializers.ModelSerializer):
    # Not `format: email`: a patient without an address has "" here, which no email format allows.
    email = serializers.CharField(read_only=True, help_text="The patient's email address; empty when none.")

    class Meta:
        model = Patient
        fields = [
            "id",
            "organization",
            "clinic",
            *EDITABLE_FIELDS,
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


LISTED_FIELDS = tuple(PatientOutput.Meta.fields)


def listed(row: dict[str, Any]) -> dict[str, Any]:
    """A `.values()` row of LISTED_FIELDS as PatientOutput represents it, once rendered to JSON.

    UUIDs, dates and datetimes are left to the renderer, which writes them as DRF does; a
    decimal is a string in DRF's output, not the float the JSON encoder would make of it.
    """
    mass = row["body_mass_kg"]
    if mass is not None:
        row["body_mass_kg"] = str(mass)
    return row


class PatientInput(StrictFields, serializers.ModelSerializer):
    """What a partner may set. `clinic` is checked against the caller's clinics like any other lookup."""

    clinic = serializers.PrimaryKeyRelatedField(queryset=Clinic.objects.none(), help_text="Home clinic id.")

    class Meta:
        model = Patient
        fields = ["clinic", *EDITABLE_FIELDS]  # types and ranges from the model; only validated, never saved
        # The partner schema as published before the fields came from the model: without its help
        # texts (partners' generated clients would change) and with no length on email, whose
        # over-long values have always been the service's error (full_clean), not the serializer's.
        extra_kwargs = {
            "mrn": {"help_text": None},
            "sex": {"help_text": None},
            "email_reminder_consent": {"help_text": None},
            "email": {"max_length": None},
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            # A clinic outside the caller's clinics reads as "does not exist", like a wrong id.
            self.fields["clinic"].queryset = clinics_for_user(request.user)


class PatientFilter(django_filters.FilterSet):
    updated_since = InstantFilter(
        field_name="updated_at", lookup_expr="gte", help_text="Changed at or after this ISO 8601 time."
    )
    clinic = django_filters.NumberFilter(field_name="clinic_id", help_text="Home clinic id.")
    mrn = django_filters.CharFilter(field_name="mrn", lookup_expr="iexact", help_text="Exact MRN, any case.")
    search = django_filters.CharFilter(method="filter_search", help_text="Name, MRN or birth date (YYYY-MM-DD).")

    class Meta:
        model = Patient
        fields = ["updated_since", "clinic", "mrn", "search"]

    def filter_search(self, queryset: QuerySet[Patient], name: str, value: str) -> QuerySet[Patient]:
        return queryset.search(value)


IDEMPOTENCY_HEADER = OpenApiParameter(
    idempotency.HEADER,
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="Repeat a POST with the same key and body to get its first response (kept 24 hours).",
)


@idempotency.documents_key_errors
class PatientListView(ScopedGenericAPIView):
    permission_classes = [ActionPermission]
    required_perms = {"GET": "patients.view_patient", "POST": "patients.add_patient"}
    serializer_class = PatientOutput
    filterset_class = PatientFilter

    def get_queryset(self) -> QuerySet[Patient]:
        if getattr(self, "swagger_fake_view", False):  # schema generation: no request, no scope
            return Patient._base_manager.none()
        # The output names the clinic by id: no join, no Clinic object per row.
        return patient_list(user=self.request.user).select_related(None)

    @extend_schema(
        operation_id="patients_list",
        summary="List the patients of your clinics",
        description=(
            "Patients whose home clinic is one of your token's clinics, oldest change first (`updated_at`, then "
            "`id`), cursor-paginated: follow `next` until it is null. Sync incrementally with `updated_since` "
            "(the `updated_at` of the last row you stored); narrow with `clinic`, an exact `mrn` (any case) or "
            "`search` (name, MRN or a birth date as YYYY-MM-DD). Every patient listed is an audited read. "
            "Errors: 400 on a filter that is not valid (named in `attr`), 401 without a valid token."
        ),
        responses=PatientOutput(many=True),
    )
    def get(self, request: Request) -> Response:
        # The sync hot path: rows as values, one audit INSERT, no model or serializer per row.
        # `listed` writes what PatientOutput writes (a test holds the two to the same JSON).
        rows = self.paginate_queryset(self.filter_queryset(self.get_queryset()).values(*LISTED_FIELDS))
        events.record_row_reads(
            object_type=Patient._meta.label_lower,
            rows=[(row["id"], Subject(row["organization"], row["clinic"], row["id"])) for row in rows],
            actor=request.user,
        )
        return self.get_paginated_response([listed(row) for row in rows])

    @extend_schema(
        operation_id="patients_create",
        summary="Register a patient",
        description=(
            "Registers a patient at one of your clinics (`clinic`, required; read-write token). The MRN must be "
            "unused in your organization. Dates must be possible: a birth date from 1900-01-01 to today, a "
            "`deceased_on` not before the birth nor after today. Email reminders go only to a patient with "
            "`email_reminder_consent` and an email. A key the body does not take is refused (`unknown_field`). "
            "Send `Idempotency-Key` to retry safely: the same key and body return the first answer, another body "
            "with that key is 422. Errors: 400 with the field in `attr` and nothing written (a `clinic` that is not "
            "yours reads as not existing: `does_not_exist`); 403 for a read token."
        ),
        examples=[
            OpenApiExample(
                "A new patient",
                request_only=True,
                value={
                    "clinic": 1,
                    "mrn": "A-10442",
                    "given_name": "Ada",
                    "family_name": "Lind",
                    "birth_date": "1971-04-02",
                    "sex": "female",
                    "email": "ada.lind@example.org",
                    "email_reminder_consent": True,
                    "preferred_language": "en",
                },
            )
        ],
        request=PatientInput,
        responses={201: PatientOutput, **idempotency.KEY_RESPONSES},
        parameters=[IDEMPOTENCY_HEADER],
    )
    def post(self, request: Request) -> Response:
        idempotency.request_key(request)  # a malformed key is refused before any work
        given = PatientInput(data=request.data, context={"request": request})
        given.is_valid(raise_exception=True)

        def create() -> tuple[int, Any, str]:
            patient = patient_create(actor=request.user, **given.validated_data)
            return status.HTTP_201_CREATED, PatientOutput(patient).data, str(patient.pk)

        return idempotency.create_response(
            request, create, lambda object_id: patient_get(user=request.user, patient_id=object_id)
        )


class PatientDetailView(ScopedGenericAPIView):
    permission_classes = [ActionPermission]
    required_perms = {"GET": "patients.view_patient", "PATCH": "patients.change_patient"}
    serializer_class = PatientOutput

    @extend_schema(
        operation_id="patients_retrieve",
        summary="Read a patient",
        description=(
            "One patient of your clinics, with an `ETag`: send it back as `If-None-Match` to get 304 and no body "
            "while the patient is unchanged. A patient of another clinic, or none, is 404 alike. Audited."
        ),
        parameters=[IF_NONE_MATCH],
        responses={200: PatientOutput, **NOT_MODIFIED},
    )
    def get(self, request: Request, patient_id: uuid.UUID) -> Response:
        return detail_response(request, patient_get(user=request.user, patient_id=patient_id), PatientOutput)

    @extend_schema(
        operation_id="patients_partial_update",
        summary="Change some of a patient's details",
        description=(
            "Changes only the fields sent (read-write token), under the same rules as registering: a unique MRN, "
            "possible dates, a `clinic` among yours (moving the patient's home clinic). A key the body does not "
            "take is refused (`unknown_field`). Answers the patient as it now is, with its new `ETag`. Errors: "
            "400 with the field in `attr` and nothing changed; 404 for a patient that is not yours; 403 for a "
            "read token."
        ),
        examples=[OpenApiExample("A new phone number", request_only=True, value={"phone": "+41 44 555 01 23"})],
        request=PatientInput,
        responses={200: PatientOutput},
    )
    def patch(self, request: Request, patient_id: uuid.UUID) -> Response:
        patient = access_patient(user=request.user, patient_id=patient_id)
        given = PatientInput(data=request.data, partial=True, context={"request": request})
        given.is_valid(raise_exception=True)
        patient = patient_update(actor=request.user, patient=patient, **given.validated_data)
        return Response(PatientOutput(patient).data, headers={"ETag": etag_of(patient)})
