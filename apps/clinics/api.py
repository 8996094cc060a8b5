"""Clinics on the partner API: read only, and only the clinics the principal is granted."""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from apps.api.etags import IF_NONE_MATCH, NOT_MODIFIED, detail_response
from apps.api.filters import InstantFilter
from apps.api.permissions import ActionPermission
from apps.clinics.access import access_clinic, clinics_for_user
from apps.clinics.api_base import ScopedGenericAPIView
from apps.clinics.models import Clinic


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

    @extend_schema(operation_id="clinics_list", responses=ClinicOutput(many=True))
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(ClinicOutput(page, many=True).data)


class ClinicDetailView(ScopedGenericAPIView):
    permission_classes = [ActionPermission]
    required_perms = {"GET": "clinics.view_clinic"}
    serializer_class = ClinicOutput

    @extend_schema(
        operation_id="clinics_retrieve", parameters=[IF_NONE_MATCH], responses={200: ClinicOutput, **NOT_MODIFIED}
    )
    def get(self, request: Request, clinic_id: int) -> Response:
        return detail_response(request, access_clinic(request.user, clinic_id), ClinicOutput)
