"""Input fields shared by the API's write endpoints."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from rest_framework import serializers

from apps.clinics.access import visible_clinic_ids


class ClinicianField(serializers.SlugRelatedField):
    """A staff member named by username, among the active staff of the caller's clinics.

    A partner system records on behalf of a clinician: the service then checks that this
    clinician may record it at the patient's clinic. Staff of other clinics read as unknown, so
    the field reveals no usernames outside the caller's clinics.
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(slug_field="username", queryset=get_user_model().objects.none(), **kwargs)

    def get_queryset(self) -> QuerySet[Any]:
        request = self.context.get("request")
        users = get_user_model().objects.filter(is_active=True)
        if request is None:
            return users.none()
        clinic_ids = visible_clinic_ids(request.user)
        return users if clinic_ids is None else users.filter(memberships__clinic_id__in=clinic_ids).distinct()
