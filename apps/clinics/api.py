"""Clinics and their machines on the partner API: read only, and only those of the clinics the principal
is granted. A partner reads machine ids here to name them on tests, sessions and appointments."""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from apps.api.etags import IF_NONE_MATCH, NOT_MODIFIED, detail_response
from apps.api.filters import InstantFilter
from apps.api.pagination import SyncCursorPagination
from apps.api.permissions import ActionPermission
from apps.clinics.access import access_clinic, access_machine, clinics_for_user, machines_for_user
from apps.clinics.api_base import ScopedGenericAPIView
from apps.clinics.models import Clinic, Machine, MachineKind


class ClinicOutput(serializers.ModelSerializer):
    class Meta:
        model = Clinic
        fields = [
            "id",
            "organization",
            "name",
            "timezone",
            "address_line",
            "city",
            "postal_code",
            "country",
            "phone",
            "is_active",
            "updated_at",
        ]
        read_only_fields = fields


class ClinicFilter(django_filters.FilterSet):
    updated_since = InstantFilter(
        field_name="updated_at", lookup_expr="gte", help_text="Changed at or after this ISO 8601 time."
    )
    is_active = django_filters.BooleanFilter(field_name="is_active", help_text="Open (true) or closed (false) sites.")

    class Meta:
        model = Clinic
        fields = ["updated_since", "is_active"]


class ClinicListView(ScopedGenericAPIView):
    permission_classes = [ActionPermission]
    required_perms = {"GET": "clinics.view_clinic"}
    serializer_class = ClinicOutput
    filterset_class = ClinicFilter

    def get_queryset(self) -> QuerySet[Clinic]:
        if getattr(self, "swagger_fake_view", False):  # schema generation: no request, no scope
            return Clinic.objects.none()
        return clinics_for_user(self.request.user)

    @extend_schema(
        operation_id="clinics_list",
        summary="List your clinics",
        description=(
            "The clinics your token is granted (sites of your organization), with their time zone: due "
            "times, quiet hours and the outcome report's dates are computed on each clinic's clock. Oldest "
            "change first, cursor-paginated; `updated_since` for incremental sync, `is_active` for open or "
            "closed sites. Use a clinic's `id` as `clinic` when registering a patient."
        ),
        responses=ClinicOutput(many=True),
    )
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(ClinicOutput(page, many=True).data)


class ClinicDetailView(ScopedGenericAPIView):
    permission_classes = [ActionPermission]
    required_perms = {"GET": "clinics.view_clinic"}
    serializer_class = ClinicOutput

    @extend_schema(
        operation_id="clinics_retrieve",
        summary="Read a clinic",
        description=(
            "One of your clinics: its address, phone, time zone and whether it is open, with an `ETag` for "
            "`If-None-Match` (304 while unchanged). A clinic your token is not granted, or none, is 404 alike."
        ),
        parameters=[IF_NONE_MATCH],
        responses={200: ClinicOutput, **NOT_MODIFIED},
    )
    def get(self, request: Request, clinic_id: int) -> Response:
        return detail_response(request, access_clinic(request.user, clinic_id), ClinicOutput)


class MachineOutput(serializers.ModelSerializer):
    class Meta:
        model = Machine
        fields = [
            "id",
            "clinic",
            "kind",
            "name",
            "serial_number",
            "load_unit",
            "load_increment",
            "min_load",
            "max_load",
            "rom_min_deg",
            "rom_max_deg",
            "test_angles",
            "is_active",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "load_increment": {"help_text": "Loads on this machine are multiples of this, in `load_unit`."},
            "min_load": {"help_text": "In `load_unit`."},
            "max_load": {"help_text": "In `load_unit`."},
            "rom_min_deg": {"help_text": "Range of motion, flexed end (degrees)."},
            "rom_max_deg": {"help_text": "Range of motion, extended end (degrees)."},
        }


class MachineFilter(django_filters.FilterSet):
    clinic = django_filters.NumberFilter(field_name="clinic_id", help_text="Clinic id.")
    kind = django_filters.ChoiceFilter(choices=MachineKind.choices)
    is_active = django_filters.BooleanFilter(field_name="is_active", help_text="In service (true) or retired.")

    class Meta:
        model = Machine
        fields = ["clinic", "kind", "is_active"]


class MachinePagination(SyncCursorPagination):
    # A machine row has no `updated_at` (its settings change rarely, by an admin): pages in id order.
    ordering = ("id",)


MACHINE_EXAMPLE = {
    "id": 12,
    "clinic": 3,
    "kind": "lumbar_extension",
    "name": "Lumbar extension 1",
    "serial_number": "LX-20931",
    "load_unit": "ft_lbf",
    "load_increment": "1.00",
    "min_load": "0.00",
    "max_load": "600.00",
    "rom_min_deg": 0,
    "rom_max_deg": 72,
    "test_angles": [72, 60, 48, 36, 24, 12, 0],
    "is_active": True,
}
MACHINE_RULES = (
    "A session's load must be a multiple of `load_increment` within `min_load`-`max_load`, its range of "
    "motion within `rom_min_deg`-`rom_max_deg`; a strength test measures at `test_angles`."
)


class MachineListView(ScopedGenericAPIView):
    permission_classes = [ActionPermission]
    required_perms = {"GET": "clinics.view_machine"}
    serializer_class = MachineOutput
    filterset_class = MachineFilter
    pagination_class = MachinePagination

    def get_queryset(self) -> QuerySet[Machine]:
        if getattr(self, "swagger_fake_view", False):  # schema generation: no request, no scope
            return Machine.objects.none()
        return machines_for_user(self.request.user)

    @extend_schema(
        operation_id="machines_list",
        summary="List the machines of your clinics",
        description="The extension machines of your clinics, retired ones included (`is_active=false`), in "
        "id order. Their ids are what strength tests, sessions and appointments name in `machine`. "
        f"{MACHINE_RULES} Filter by clinic, kind or `is_active`; a clinic outside yours lists nothing.",
        responses=MachineOutput(many=True),
        examples=[
            OpenApiExample(
                "A page of machines",
                value=MACHINE_EXAMPLE,  # drf-spectacular wraps it in a page
                response_only=True,
            )
        ],
    )
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(MachineOutput(page, many=True).data)


class MachineDetailView(ScopedGenericAPIView):
    permission_classes = [ActionPermission]
    required_perms = {"GET": "clinics.view_machine"}
    serializer_class = MachineOutput

    @extend_schema(
        operation_id="machines_retrieve",
        summary="Read a machine",
        description=f"One machine of your clinics. {MACHINE_RULES} A machine of another clinic is 404.",
        responses={200: MachineOutput},
        examples=[OpenApiExample("A lumbar machine", value=MACHINE_EXAMPLE, response_only=True)],
    )
    def get(self, request: Request, machine_id: int) -> Response:
        return Response(MachineOutput(access_machine(request.user, machine_id)).data)
